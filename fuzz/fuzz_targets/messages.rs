//! Message bodies as they arrive from peers: decoding arbitrary bytes as the messages
//! a master and an agent handle is an error or a value, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use libproc::codec::decode;
use mesos_proto::messages::{
    RegisterSlaveMessage, ReregisterSlaveMessage, RunTaskMessage, StatusUpdateMessage,
};
use mesos_proto::scheduler::Call;

fuzz_target!(|data: &[u8]| {
    let _ = decode::<Call>("call", data);
    let _ = decode::<RegisterSlaveMessage>("register", data);
    let _ = decode::<ReregisterSlaveMessage>("reregister", data);
    let _ = decode::<StatusUpdateMessage>("update", data);
    let _ = decode::<RunTaskMessage>("run", data);
});
