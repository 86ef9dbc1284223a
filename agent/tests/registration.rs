//! The agent registering with a real master: in one runtime (pings on a paused clock),
//! and as its own OS process over TCP.

mod support;

use std::process::Stdio;
use std::time::Duration;

use clap::Parser;
use libproc::{Clock, Pid};
use support::{eventually, get_json as get, start_master, WorkDir};
use tokio::process::Command;

/// Polls `path` on `at` until `done` holds.
async fn until(
    at: &Pid,
    path: &str,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    eventually(what, || async {
        let value = get(at, path).await;
        done(&value).then_some(value)
    })
    .await
}

#[tokio::test]
async fn an_agent_registers_and_answers_the_masters_pings() {
    let master = start_master().await;
    let dir = WorkDir::new("pings");
    let flags = mesos_agent::flags::Flags::try_parse_from([
        "mesos-agent".to_owned(),
        format!("--master={master}"),
        format!("--work_dir={}", dir.0.display()),
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
}

#[tokio::test]
async fn an_agent_process_registers_over_tcp_and_its_death_deactivates_it() {
    let master = start_master().await;
    let dir = WorkDir::new("process");
    let mut agent = Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
        .args([
            format!("--master={}", master.addr),
            format!("--work_dir={}", dir.0.display()),
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
}
