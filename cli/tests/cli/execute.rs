//! `mesos-execute` against a real master and agent.

use crate::support::{Cluster, Daemon};

#[test]
fn echo_finishes_and_exits_zero() {
    let cluster = Cluster::start("echo");
    let (status, output) = cluster
        .execute(&[
            "--name=echo",
            "--command=echo hi",
            "--resources=cpus:0.5;mem:64",
        ])
        .finish();
    assert!(status.success(), "{output}");
    assert!(
        output.contains("Received status update TASK_RUNNING for task 'echo'"),
        "{output}"
    );
    assert!(
        output.contains("Received status update TASK_FINISHED for task 'echo'"),
        "{output}"
    );
}

#[test]
fn failing_command_exits_non_zero() {
    let cluster = Cluster::start("fail");
    let (status, output) = cluster
        .execute(&[
            "--name=fail",
            "--command=exit 3",
            "--resources=cpus:0.5;mem:64",
        ])
        .finish();
    assert!(!status.success(), "{output}");
    assert!(
        output.contains("Received status update TASK_FAILED for task 'fail'"),
        "{output}"
    );
}

#[test]
fn resources_that_fit_no_offer_give_up_after_offer_timeout() {
    let cluster = Cluster::start("no-fit");
    let (status, output) = cluster
        .execute(&[
            "--name=big",
            "--command=true",
            "--resources=cpus:64;mem:64",
            "--offer_timeout=1secs",
        ])
        .finish();
    assert!(!status.success(), "{output}");
    assert!(
        output.contains(
            "no offer fitting task 'big' (cpus:64;mem:64) arrived within --offer_timeout=1secs"
        ),
        "{output}"
    );
    assert!(!output.contains("Submitted task"), "{output}");
}

#[test]
fn kill_after_kills_the_running_task() {
    let cluster = Cluster::start("kill");
    let (status, output) = cluster
        .execute(&[
            "--name=sleeper",
            "--command=sleep 1000",
            "--resources=cpus:0.5;mem:64",
            "--kill_after=500ms",
        ])
        .finish();
    assert!(!status.success(), "{output}");
    assert!(output.contains("Asked to kill task 'sleeper'"), "{output}");
    assert!(
        output.contains("Received status update TASK_KILLED for task 'sleeper'"),
        "{output}"
    );
}

#[test]
fn task_groups_are_refused_with_a_clear_error() {
    let (status, output) = crate::support::execute(1, &["--task_group=/nonexistent.json"]).finish();
    assert!(!status.success(), "{output}");
    assert!(
        output.contains("--task_group is not supported yet"),
        "{output}"
    );
}

#[test]
fn help_lists_the_flags() {
    let (status, output) = Daemon::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_mesos-execute")).arg("--help"),
    )
    .finish();
    assert!(status.success(), "{output}");
    for flag in [
        "--master",
        "--name",
        "--command",
        "--shell",
        "--resources",
        "--env",
        "--role",
        "--checkpoint",
        "--task_group",
        "--framework_name",
        "--kill_after",
        "--offer_timeout",
    ] {
        assert!(output.contains(flag), "{flag} missing from {output}");
    }
    assert!(output.contains("[default: cpus:1;mem:128]"), "{output}");
    assert!(output.contains("[env: MESOS_MASTER=]"), "{output}");
}
