//! Paths asked of `/files/*`, as the query decoder hands them over: any text locates
//! to a path under an attachment, made of plain components only, or is refused, and
//! never panics.
#![no_main]

use std::collections::BTreeMap;
use std::path::{Component, PathBuf};

use libfuzzer_sys::fuzz_target;
use mesos_agent::files::resolve::{locate, normalize};

fuzz_target!(|data: &[u8]| {
    let requested = String::from_utf8_lossy(data);
    let attached: BTreeMap<String, PathBuf> = [
        ("/sandbox", "/work/sandbox"),
        ("/sandbox/inner", "/work/other"),
        ("/log", "/var/log/agent.log"),
    ]
    .into_iter()
    .map(|(v, r)| (v.to_owned(), PathBuf::from(r)))
    .collect();
    if let Ok(found) = locate(&attached, &requested) {
        assert!(found
            .relative
            .components()
            .all(|c| matches!(c, Component::Normal(_))));
        assert!(found.root.join(&found.relative).starts_with(&found.root));
        assert!(attached.values().any(|root| *root == found.root));
    }
    if let Ok(key) = normalize(&requested) {
        assert!(key.starts_with('/') && !key.contains("//") && !key.contains('\0'));
    }
});
