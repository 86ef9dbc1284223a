//! The registry as a new leader reads it back from ZooKeeper or a file: arbitrary
//! bytes are a manifest, a registry, or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesos_master::registrar::registry::decode;
use mesos_master::registrar::storage::check_manifest;

fuzz_target!(|data: &[u8]| {
    let _ = check_manifest("/fuzz/registry", data);
    let _ = decode(data);
});
