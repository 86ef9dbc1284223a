//! `--master` and `--zk` values: any input is an error or a value, never a panic; a
//! ZooKeeper URL without credentials prints back to text that parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesos_detector::ZooKeeperUrl;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(url) = ZooKeeperUrl::parse(&text) {
        if url.credentials.is_none() {
            let printed = url.to_string();
            assert_eq!(ZooKeeperUrl::parse(&printed).as_ref(), Ok(&url), "{printed}");
        }
    }
    // `file://` and host names touch the file system and DNS: only pids and `zk://`.
    if !text.contains("file://") && text.parse::<std::net::SocketAddr>().is_ok() {
        let _ = mesos_detector::master_pid(&text);
    }
});
