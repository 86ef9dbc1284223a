//! `--resources` and `--attributes` text and JSON: any input is an error or a value,
//! never a panic; what parses prints back to text that parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesos_proto::Resources;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(resources) = Resources::parse(&text, "*") {
        let printed = resources.to_string();
        if !resources.is_empty() {
            assert!(Resources::parse(&printed, "*").is_ok(), "{printed}");
        }
    }
    let _ = mesos_agent::attributes::parse_attributes(&text);
});
