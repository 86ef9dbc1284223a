//! Agent recovery: a real `mesos-agent` OS process is killed with SIGKILL and started
//! again on the same work dir; it comes back as the same agent, reconnects to its
//! executors, and their tasks keep running and reporting.

mod support;

use mesos_proto::mesos::{StatusReason, TaskState};
use support::{eventually, find_files, get_json, process_running, AgentKind, Cluster};

/// A task that runs until `go` exists, then finishes.
fn waiting_command(go: &std::path::Path, marker: &str) -> String {
    format!(
        "while [ ! -e {} ]; do {marker} 0.05; done; echo released",
        go.display()
    )
}

#[tokio::test]
async fn a_task_survives_an_agent_crash_and_its_later_updates_arrive() {
    let mut cluster = Cluster::start("crash", AgentKind::Binary, true, &[]).await;
    let go = cluster.work_dir.0.with_extension("go");
    let updates = cluster.next_update();
    cluster
        .launch("survivor", &waiting_command(&go, "sleep"))
        .await;
    cluster
        .updates_until(updates, TaskState::TASK_RUNNING)
        .await;
    let forked = find_files(&cluster.work_dir.0.join("meta"), "forked.pid");
    assert_eq!(forked.len(), 1, "the executor's pid is checkpointed");
    let executor_pid = std::fs::read_to_string(&forked[0]).unwrap();

    cluster.agent.as_mut().unwrap().crash();
    cluster.restart_agent();
    eventually("the restarted agent to re-register", || async {
        let state = get_json(&cluster.master, "/master/state").await;
        let agent = &state["slaves"][0];
        let back = agent["active"] == true
            && agent["id"] == cluster.offer.agent_id.as_str()
            && state["slaves"].as_array().map(Vec::len) == Some(1);
        back.then_some(())
    })
    .await;
    let pid_now = std::fs::read_to_string(&forked[0]).unwrap();
    assert_eq!(pid_now, executor_pid, "the same executor still runs");

    let updates = cluster.next_update();
    std::fs::write(&go, b"").unwrap();
    let updates = cluster
        .updates_until(updates, TaskState::TASK_FINISHED)
        .await;
    let finished = &updates.last().unwrap();
    assert_eq!(finished.status.task_id.as_str(), "survivor");
    assert_eq!(
        finished.slave_id.as_ref().map(|id| id.as_str()),
        Some(cluster.offer.agent_id.as_str())
    );
    let _ = std::fs::remove_file(&go);
}

#[tokio::test]
async fn an_executor_that_died_while_the_agent_was_down_is_reported() {
    let mut cluster = Cluster::start("died", AgentKind::Binary, true, &[]).await;
    let go = cluster.work_dir.0.with_extension("never");
    let marker = format!("sleep 0.0{}", fastrand::u32(100_000..999_999));
    let updates = cluster.next_update();
    cluster
        .launch("orphan", &waiting_command(&go, &marker))
        .await;
    cluster
        .updates_until(updates, TaskState::TASK_RUNNING)
        .await;

    cluster.agent.as_mut().unwrap().crash();
    let forked = find_files(&cluster.work_dir.0.join("meta"), "forked.pid");
    let pid: i32 = std::fs::read_to_string(&forked[0])
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    support::kill_session(pid);
    eventually("the executor to die", || async {
        (!process_running(&marker)).then_some(())
    })
    .await;

    let updates = cluster.next_update();
    cluster.restart_agent();
    let updates = cluster.updates_until(updates, TaskState::TASK_LOST).await;
    let lost = &updates.last().unwrap().status;
    assert_eq!(lost.task_id.as_str(), "orphan");
    assert_eq!(lost.reason, Some(StatusReason::REASON_SLAVE_RESTARTED));
}

#[tokio::test]
async fn a_damaged_checkpoint_stops_a_strict_agent_with_a_clear_error() {
    let mut cluster = Cluster::start("damaged", AgentKind::Binary, true, &[]).await;
    let updates = cluster.next_update();
    cluster.launch("sleeper", "sleep 1000").await;
    cluster
        .updates_until(updates, TaskState::TASK_RUNNING)
        .await;
    cluster.agent.as_mut().unwrap().crash();
    let info = find_files(&cluster.work_dir.0.join("meta"), "executor.info");
    std::fs::write(&info[0], b"\x00garbage").unwrap();

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
        .args(&cluster.agent_flags)
        .arg("--ip=127.0.0.1")
        .arg(format!("--port={}", support::free_port()))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("damaged checkpoint") && stderr.contains("executor.info"),
        "{stderr}"
    );
}
