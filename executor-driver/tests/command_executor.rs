//! The real `mesos-executor` binary as an OS process, against a stand-in agent in this
//! test's runtime.

mod support;

use std::process::Stdio;

use libproc::Pid;
use mesos_proto::mesos::{CommandInfo, TaskInfo, TaskState};
use mesos_proto::messages::{KillTaskMessage, RunTaskMessage, StatusUpdate};
use mesos_proto::TaskId;
use support::{sandbox, within, StandIn, AGENT, FRAMEWORK};
use tokio::process::{Child, Command};

const EXECUTOR: &str = env!("CARGO_BIN_EXE_mesos-executor");

/// Starts `mesos-executor` as executor `executor_id` of the stand-in agent.
fn start_executor(agent: &StandIn, executor_id: &str) -> Child {
    Command::new(EXECUTOR)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LIBPROCESS_IP", "127.0.0.1")
        .env("MESOS_FRAMEWORK_ID", FRAMEWORK)
        .env("MESOS_EXECUTOR_ID", executor_id)
        .env("MESOS_SLAVE_ID", AGENT)
        .env("MESOS_SLAVE_PID", agent.pid().to_string())
        .env("MESOS_DIRECTORY", sandbox())
        .env("MESOS_CHECKPOINT", "0")
        .env("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start mesos-executor")
}

fn shell_task(task_id: &str, command: &str) -> RunTaskMessage {
    let task = TaskInfo {
        task_id: TaskId::new(task_id),
        command: Some(CommandInfo {
            value: Some(command.to_owned()),
            ..CommandInfo::default()
        }),
        ..TaskInfo::default()
    };
    RunTaskMessage {
        task,
        ..RunTaskMessage::default()
    }
}

/// Awaits the next update, checks its task and state, acknowledges it and returns it.
async fn expect_update(
    agent: &mut StandIn,
    executor: &Pid,
    task_id: &str,
    state: TaskState,
) -> StatusUpdate {
    let (_, message) = agent.update().await;
    let update = message.update;
    assert_eq!(update.status.task_id, TaskId::new(task_id));
    assert_eq!(update.status.state, state, "{:?}", update.status.message);
    agent.acknowledge(executor, &update).await;
    update
}

async fn expect_clean_exit(child: &mut Child) {
    let exit = within("the executor's exit", child.wait())
        .await
        .expect("reap mesos-executor");
    assert!(exit.success(), "mesos-executor exited with {exit}");
}

#[tokio::test]
async fn the_command_executor_runs_echo_and_reports_it_finished() {
    let mut agent = StandIn::spawn();
    let mut child = start_executor(&agent, "echo");
    let executor = agent.register("echo").await;
    agent
        .send(&executor, shell_task("echo-task", "echo hello"))
        .await;

    for state in [
        TaskState::TASK_STARTING,
        TaskState::TASK_RUNNING,
        TaskState::TASK_FINISHED,
    ] {
        expect_update(&mut agent, &executor, "echo-task", state).await;
    }
    expect_clean_exit(&mut child).await;
}

#[tokio::test]
async fn a_killed_command_is_reported_killed_by_its_signal() {
    let mut agent = StandIn::spawn();
    let mut child = start_executor(&agent, "sleep");
    let executor = agent.register("sleep").await;
    agent
        .send(&executor, shell_task("sleep-task", "sleep 1000"))
        .await;
    expect_update(
        &mut agent,
        &executor,
        "sleep-task",
        TaskState::TASK_STARTING,
    )
    .await;
    expect_update(&mut agent, &executor, "sleep-task", TaskState::TASK_RUNNING).await;

    let kill = KillTaskMessage {
        task_id: TaskId::new("sleep-task"),
        ..KillTaskMessage::default()
    };
    agent.send(&executor, kill).await;
    let killed = expect_update(&mut agent, &executor, "sleep-task", TaskState::TASK_KILLED).await;
    assert_eq!(
        killed.status.message.as_deref(),
        Some("Command terminated by signal 15")
    );
    expect_clean_exit(&mut child).await;
}
