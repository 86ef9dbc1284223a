//! pymesos 0.3.15, the real third-party v1 client, unmodified, against a real master
//! and agent (in this runtime): a pymesos scheduler launches a task whose custom
//! executor is a pymesos executor (`tests/pymesos/http_executor.py`), which subscribes
//! over `/api/v1/executor`, gets LAUNCH, sends UPDATEs and receives ACKNOWLEDGED.
//!
//! The venv comes from `scripts/setup` (`target/pymesos-venv`, or `$PYMESOS_VENV`).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use libproc::{Config, Runtime};
use support::{free_port, launcher_dir, start_master, AgentProcess, WorkDir};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// The venv's python, or a failure that says how to make it.
fn python() -> PathBuf {
    let venv = std::env::var_os("PYMESOS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/pymesos-venv"));
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import pymesos"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ready,
        "no pymesos venv at {}: run scripts/setup (or set PYMESOS_VENV to a venv with pymesos 0.3.15)",
        venv.display()
    );
    python
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pymesos_executor_gets_launch_sends_updates_and_is_acknowledged() {
    let python = python();
    // pymesos calls `/api/v1/scheduler` on the master's port: the master is the
    // delegate of this runtime, as in the `mesos-master` binary.
    Runtime::start(Config {
        delegate: Some(mesos_master::MASTER_ID.into()),
        ..Config::default()
    })
    .expect("the runtime starts");
    let master = start_master().await;
    let work_dir = WorkDir::new("pymesos-executor");
    let flags = [
        format!("--master={master}"),
        format!("--work_dir={}", work_dir.0.display()),
        format!("--launcher_dir={}", launcher_dir().display()),
        "--resources=cpus:2;mem:1024;disk:1024".to_owned(),
        "--registration_backoff_factor=10ms".to_owned(),
    ];
    // A binary agent, whose delegate serves pymesos's `/api/v1/executor`.
    let _agent = AgentProcess::start(free_port(), &flags);
    let scripts = workspace().join("tests/pymesos");
    let scheduler = tokio::process::Command::new(&python)
        .arg(scripts.join("executor_scheduler.py"))
        .arg(master.addr.to_string())
        .arg(&python)
        .arg(scripts.join("http_executor.py"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the pymesos scheduler starts");
    let deadline = Instant::now() + Duration::from_secs(150);
    let output = tokio::time::timeout_at(deadline.into(), scheduler.wait_with_output())
        .await
        .expect("the pymesos scheduler ends in time")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(output.status.success(), "the scheduler failed: {stdout}");
    assert!(stdout.contains("TASK_FINISHED acknowledged"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pymesos_executor_resubscribes_to_a_restarted_agent_and_finishes_its_task() {
    let python = python();
    Runtime::start(Config {
        delegate: Some(mesos_master::MASTER_ID.into()),
        ..Config::default()
    })
    .expect("the runtime starts");
    let master = start_master().await;
    let work_dir = WorkDir::new("pymesos-resubscribe");
    let go = work_dir.0.with_extension("go");
    let flags = [
        format!("--master={master}"),
        format!("--work_dir={}", work_dir.0.display()),
        format!("--launcher_dir={}", launcher_dir().display()),
        "--resources=cpus:2;mem:1024;disk:1024".to_owned(),
        "--registration_backoff_factor=10ms".to_owned(),
        "--executor_reregistration_timeout=20secs".to_owned(),
    ];
    let port = free_port();
    let mut agent = AgentProcess::start(port, &flags);
    let scripts = workspace().join("tests/pymesos");
    let scheduler = tokio::process::Command::new(&python)
        .arg(scripts.join("executor_scheduler.py"))
        .arg(master.addr.to_string())
        .arg(&python)
        .arg(scripts.join("http_executor.py"))
        .arg(&go)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the pymesos scheduler starts");
    let running = |metrics: serde_json::Value| {
        metrics["slave/registered"] == 1.0 && metrics["slave/executors_running"] == 1.0
    };
    let agent_pid = agent.pid.clone();
    support::eventually("the pymesos executor running", || async {
        running(support::get_json(&agent_pid, "/metrics/snapshot").await).then_some(())
    })
    .await;

    agent.crash();
    let _agent = AgentProcess::start(port, &flags);
    support::eventually(
        "the executor re-subscribed to the restarted agent",
        || async {
            running(support::get_json(&agent_pid, "/metrics/snapshot").await).then_some(())
        },
    )
    .await;
    std::fs::write(&go, b"").unwrap();

    let deadline = Instant::now() + Duration::from_secs(150);
    let output = tokio::time::timeout_at(deadline.into(), scheduler.wait_with_output())
        .await
        .expect("the pymesos scheduler ends in time")
        .unwrap();
    let _ = std::fs::remove_file(&go);
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(output.status.success(), "the scheduler failed: {stdout}");
    assert!(stdout.contains("TASK_FINISHED acknowledged"), "{stdout}");
}
