//! A task's end as the framework hears it: killed, or failed with its exit status.

use mesos_proto::mesos::TaskState;
use mesos_scheduler_driver::SchedulerDriver;
use mesos_tests::{framework_info, session_alive, until, Cluster, Framework};

#[test]
fn killing_a_running_task_ends_it_killed() {
    let cluster = Cluster::builder("kill-task").agent(&[]).start();
    let framework = Framework::start(framework_info("kill-task"), &cluster.master());
    framework.registered();
    framework.launch("sleeper", "sleep 1000");
    framework.updates_until("sleeper", TaskState::TASK_RUNNING);

    framework.driver.kill_task("sleeper".into());

    framework.updates_until("sleeper", TaskState::TASK_KILLED);
    let executors = cluster.executor_pids(0);
    assert_eq!(executors.len(), 1, "one executor ran the task");
    until("the task's processes to be gone", || {
        (!session_alive(executors[0])).then_some(())
    });
    cluster.until("the task killed in /master/state", |state| {
        state["frameworks"][0]["completed_tasks"][0]["state"] == "TASK_KILLED"
    });
}

#[test]
fn a_task_exiting_with_status_3_fails_and_says_so() {
    let cluster = Cluster::builder("failing-task").agent(&[]).start();
    let framework = Framework::start(framework_info("failing-task"), &cluster.master());
    framework.registered();
    framework.launch("failer", "exit 3");

    let updates = framework.updates_until("failer", TaskState::TASK_FAILED);

    let failed = updates.last().expect("the terminal update");
    let message = failed.message.as_deref().unwrap_or_default();
    assert!(
        message.contains("status 3"),
        "the message gives the exit status: {message:?}"
    );
}
