//! The `mesos-master` binary as an operator runs it.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MASTER: &str = env!("CARGO_BIN_EXE_mesos-master");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `GET` with a raw HTTP/1.1 request; `None` while nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    Some((status, response.split_once("\r\n\r\n")?.1.to_owned()))
}

/// Kills the child when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `mesos-master` on a free loopback port and waits until it serves.
fn start_master() -> (Running, u16) {
    let port = free_port();
    let child = Command::new(MASTER)
        .args([
            "--ip=127.0.0.1",
            &format!("--port={port}"),
            "--registry=in_memory",
            "--quiet",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("start mesos-master");
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(port, "/master/health").map(|(status, _)| status) != Some(200) {
        assert!(
            Instant::now() < deadline,
            "mesos-master did not start serving"
        );
        std::thread::yield_now();
    }
    (running, port)
}

#[test]
fn the_master_starts_and_serves_its_endpoints() {
    let (_running, port) = start_master();
    let (status, state) = get(port, "/master/state").expect("/master/state answers");
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_str(&state).expect("the state is JSON");
    assert_eq!(state["pid"], format!("master@127.0.0.1:{port}"));
    assert_eq!(state["flags"]["registry"], "in_memory");
    let (status, version) = get(port, "/version").expect("/version answers");
    assert_eq!(status, 200);
    assert!(version.contains("\"version\":\"1.11.0\""), "{version}");
}

#[test]
fn sigterm_stops_the_master_cleanly() {
    let (mut running, _port) = start_master();
    let pid = running.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let status = running.0.wait().expect("wait for mesos-master");
    assert_eq!(status.code(), Some(0), "a clean stop on SIGTERM");
}

#[test]
fn a_bad_flag_exits_with_status_one_and_says_which() {
    let output = Command::new(MASTER)
        .args(["--agent_ping_timeout=fast", "--registry=in_memory"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fast"), "{stderr}");
}

#[test]
fn the_file_registry_needs_a_work_dir() {
    let output = Command::new(MASTER)
        .env_remove("MESOS_WORK_DIR")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("work_dir"));
}

#[test]
fn help_lists_the_flags_and_exits_zero() {
    let output = Command::new(MASTER).arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--work_dir",
        "--allocation_interval",
        "--agent_ping_timeout",
        "--registry",
    ] {
        assert!(help.contains(flag), "--help does not list {flag}");
    }
}
