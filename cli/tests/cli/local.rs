//! `mesos-local` as an OS process.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{self, active_agents, alive, eventually, free_port, task_running, Daemon};

#[test]
fn two_agents_run_tasks_and_sigterm_leaves_nothing_behind() {
    support::bin_dir();
    let port = free_port();
    let mut local = Daemon::spawn(
        Command::new(env!("CARGO_BIN_EXE_mesos-local"))
            .arg(format!("--port={port}"))
            .arg("--num_slaves=2")
            .arg("--quiet"),
    );
    let state = local.line_with("State at ");
    assert!(
        state.ends_with(&format!("http://127.0.0.1:{port}/master/state")),
        "{state}"
    );
    let work_dir = PathBuf::from(local.line_with("Work dir ").trim_start_matches("Work dir "));
    eventually("two active agents", || {
        (active_agents(port) == 2).then_some(())
    });

    let (status, output) = support::execute(
        port,
        &[
            "--name=echo",
            "--command=echo hi",
            "--resources=cpus:0.5;mem:64",
        ],
    )
    .finish();
    assert!(status.success(), "{output}");
    assert!(output.contains("TASK_FINISHED"), "{output}");

    let sleep = format!("sleep {}", 100_000 + fastrand::u32(..100_000));
    let command = format!("--command={sleep}");
    let mut running = support::execute(
        port,
        &[
            "--name=sleeper",
            &command,
            "--resources=cpus:0.5;mem:64",
            "--checkpoint",
        ],
    );
    running.line_with("Received status update TASK_RUNNING for task 'sleeper'");
    // The running executor checkpointed its pid before it registered.
    let executors: Vec<i32> = support::executor_pids(&work_dir)
        .into_iter()
        .filter(|pid| alive(*pid))
        .collect();
    assert!(
        !executors.is_empty(),
        "no live executor under {}",
        work_dir.display()
    );
    assert!(task_running(&sleep));

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(local.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let (status, output) = local.finish();
    assert!(status.success(), "{output}");
    assert!(!task_running(&sleep), "the task outlived mesos-local");
    for pid in executors {
        assert!(!alive(pid), "executor {pid} outlived mesos-local");
    }
    assert!(!work_dir.exists(), "{} was not removed", work_dir.display());
}

#[test]
fn help_lists_the_flags_with_defaults() {
    let (status, output) =
        Daemon::spawn(Command::new(env!("CARGO_BIN_EXE_mesos-local")).arg("--help")).finish();
    assert!(status.success(), "{output}");
    for flag in [
        "--ip",
        "--port",
        "--num_slaves",
        "--work_dir",
        "--resources",
        "--isolation",
        "--launcher_dir",
        "--quiet",
    ] {
        assert!(output.contains(flag), "{flag} missing from {output}");
    }
    assert!(output.contains("[default: 5050]"), "{output}");
    assert!(output.contains("[env: MESOS_NUM_SLAVES=]"), "{output}");
}

#[test]
fn a_missing_executor_is_reported_before_anything_starts() {
    let empty = support::WorkDir::new("no-launcher");
    std::fs::create_dir_all(&empty.0).unwrap();
    let (status, output) = Daemon::spawn(
        Command::new(env!("CARGO_BIN_EXE_mesos-local"))
            .arg(format!("--port={}", free_port()))
            .arg(format!("--launcher_dir={}", empty.0.display()))
            .arg("--quiet"),
    )
    .finish();
    assert!(!status.success(), "{output}");
    assert!(output.contains("has no mesos-executor"), "{output}");
}
