//! The agent's checkpoint files as read back after a crash: arbitrary bytes decode to
//! records or an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mesos_agent::state::{parse_checkpoint, parse_records};
use mesos_proto::mesos::AgentInfo;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz");
    let _ = parse_records(path, data);
    let _ = parse_checkpoint::<AgentInfo>(path, data);
});
