//! The master's v1 HTTP API decoders (scheduler and operator calls) on arbitrary
//! bodies: they must refuse with an error, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mesos_master::v1_json::{decode_operator_call, decode_scheduler_call};

fuzz_target!(|body: &[u8]| {
    let _ = decode_scheduler_call(body);
    let _ = decode_operator_call(body);
});
