//! The v1 HTTP API decoders (the master's scheduler and operator calls, the agent's
//! executor calls) on arbitrary bodies: they must refuse with an error, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mesos_master::v1_json::{decode_operator_call, decode_scheduler_call};
use mesos_proto::v1::executor::decode_executor_call;

fuzz_target!(|body: &[u8]| {
    let _ = decode_scheduler_call(body);
    let _ = decode_operator_call(body);
    let _ = decode_executor_call(body);
});
