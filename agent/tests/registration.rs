//! The agent registering with a real master: in one runtime (pings on a paused clock),
//! and as its own OS process over TCP.

use std::process::Stdio;
use std::time::Duration;

use clap::Parser;
use libproc::{Clock, Config, Pid, Runtime, StartError};
use mesos_master::flags::{Flags as MasterFlags, RegistryBackend};
use tokio::process::Command;

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

async fn get(at: &Pid, path: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(at.addr).await else {
        return serde_json::Value::Null;
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return serde_json::Value::Null;
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// Polls `path` on `at` until `done` holds.
async fn until(
    at: &Pid,
    path: &str,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    within(what, async {
        loop {
            let value = get(at, path).await;
            if done(&value) {
                return value;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
}

async fn start_master() -> Pid {
    match Runtime::start(Config::default()) {
        Ok(_) | Err(StartError::AlreadyStarted(_)) => {}
        Err(e) => panic!("the runtime did not start: {e}"),
    }
    let flags = MasterFlags {
        registry: RegistryBackend::InMemory,
        ..MasterFlags::default()
    };
    let master = mesos_master::start(flags)
        .expect("the master starts")
        .pid()
        .clone();
    until(&master, "/metrics/snapshot", "the master's recovery", |m| {
        m["registrar/log/recovered"] == 1.0
    })
    .await;
    master
}

fn work_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mesos-agent-test-{name}-{}", std::process::id()))
}

#[tokio::test]
async fn an_agent_registers_and_answers_the_masters_pings() {
    let master = start_master().await;
    let dir = work_dir("pings");
    let flags = mesos_agent::flags::Flags::try_parse_from([
        "mesos-agent".to_owned(),
        format!("--master={master}"),
        format!("--work_dir={}", dir.display()),
        "--resources=cpus:2;mem:1024;disk:2048;ports:[31000-31009]".to_owned(),
        "--attributes=rack:r1".to_owned(),
        "--registration_backoff_factor=10ms".to_owned(),
    ])
    .unwrap();
    let agent = mesos_agent::start(flags).unwrap();
    let slaves = until(&master, "/master/slaves", "the agent's registration", |s| {
        s["slaves"][0]["id"].is_string()
    })
    .await;
    let slave = &slaves["slaves"][0];
    assert_eq!(slave["resources"]["cpus"], 2.0);
    assert_eq!(slave["resources"]["ports"], "[31000-31009]");
    assert_eq!(slave["attributes"]["rack"], "r1");
    let path = format!("/{}/state", agent.pid().id);
    let state = until(agent.pid(), &path, "the agent's id", |s| {
        s["id"].is_string()
    })
    .await;
    assert_eq!(state["id"], slave["id"]);

    // Six ping intervals pass: the agent answers each, and stays active.
    Clock::pause();
    for _ in 0..6 {
        Clock::advance(Duration::from_secs(15));
        Clock::settle().await;
    }
    Clock::resume();
    let state = get(&master, "/master/state").await;
    assert_eq!(state["slaves"][0]["active"], true);
    assert_eq!(state["unreachable_slaves"], 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_agent_process_registers_over_tcp_and_its_death_deactivates_it() {
    let master = start_master().await;
    let dir = work_dir("process");
    let mut agent = Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
        .args([
            format!("--master={}", master.addr),
            format!("--work_dir={}", dir.display()),
            "--ip=127.0.0.1".to_owned(),
            "--port=0".to_owned(),
            "--resources=cpus:1;mem:512".to_owned(),
            "--registration_backoff_factor=50ms".to_owned(),
            "--quiet".to_owned(),
        ])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start mesos-agent");
    let slaves = until(&master, "/master/slaves", "the agent's registration", |s| {
        s["slaves"][0]["active"] == true
    })
    .await;
    assert_eq!(slaves["slaves"][0]["resources"]["cpus"], 1.0);
    assert!(
        slaves["slaves"][0]["resources"]["disk"].as_f64() > Some(0.0),
        "disk is measured"
    );

    agent.start_kill().unwrap();
    agent.wait().await.unwrap();
    until(&master, "/master/slaves", "the agent's deactivation", |s| {
        s["slaves"][0]["active"] == false
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
}
