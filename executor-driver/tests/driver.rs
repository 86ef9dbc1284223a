//! The executor driver against a stand-in agent in this test's runtime.

mod support;

use libproc::testing::future_message;
use libproc::ProcessId;
use std::time::Duration;

use mesos_executor_driver::{ExecutorDriver, ExecutorEnv, MesosExecutorDriver, Status};
use mesos_proto::mesos::{StatusSource, TaskInfo, TaskState, TaskStatus};
use mesos_proto::messages::{
    ExecutorToFrameworkMessage, FrameworkToExecutorMessage, ReconnectExecutorMessage,
    ReregisterExecutorMessage, RunTaskMessage, ShutdownExecutorMessage,
};
use mesos_proto::{AgentId, ExecutorId, FrameworkId, TaskId};
use support::{env, next, within, Callback, Recorder, Silent, StandIn, AGENT, FRAMEWORK};
use tokio::sync::mpsc;

/// A started driver, registered with a fresh stand-in agent.
struct Harness {
    agent: StandIn,
    driver: MesosExecutorDriver,
    executor: libproc::Pid,
    seen: mpsc::UnboundedReceiver<Callback>,
}

async fn registered(executor_id: &str) -> Harness {
    registered_with(executor_id, |_| {}).await
}

/// As `registered`, with the environment adjusted by `adjust`.
async fn registered_with(executor_id: &str, adjust: impl FnOnce(&mut ExecutorEnv)) -> Harness {
    let mut agent = StandIn::spawn();
    let (recorder, mut seen) = Recorder::new();
    let mut env = env(agent.pid(), executor_id);
    adjust(&mut env);
    let driver = MesosExecutorDriver::with_env(recorder, env);
    assert_eq!(driver.start(), Status::DRIVER_RUNNING);
    let executor = agent.register(executor_id).await;
    assert_eq!(
        next(&mut seen).await,
        Callback::Registered(ExecutorId::new(executor_id))
    );
    Harness {
        agent,
        driver,
        executor,
        seen,
    }
}

fn run_task(task_id: &str) -> RunTaskMessage {
    RunTaskMessage {
        task: TaskInfo {
            task_id: TaskId::new(task_id),
            ..TaskInfo::default()
        },
        ..RunTaskMessage::default()
    }
}

fn status(task_id: &str, state: TaskState) -> TaskStatus {
    TaskStatus {
        task_id: TaskId::new(task_id),
        state,
        ..TaskStatus::default()
    }
}

/// Makes the stand-in agent ask for re-registration and returns what the driver sends.
async fn reconnect(h: &Harness) -> ReregisterExecutorMessage {
    let reregister = future_message::<ReregisterExecutorMessage>(&h.executor, h.agent.pid());
    let message = ReconnectExecutorMessage {
        slave_id: AgentId::new(AGENT),
    };
    h.agent.send(&h.executor, message).await;
    within("the re-registration", reregister).await
}

#[tokio::test]
async fn the_driver_registers_with_the_agent_named_in_its_environment() {
    let mut agent = StandIn::spawn();
    let (recorder, _seen) = Recorder::new();
    let driver = MesosExecutorDriver::with_env(recorder, env(agent.pid(), "register"));
    assert_eq!(driver.start(), Status::DRIVER_RUNNING);
    assert_eq!(
        driver.start(),
        Status::DRIVER_RUNNING,
        "a second start is moot"
    );
    let (_, message) = agent.registration().await;
    assert_eq!(message.framework_id, FrameworkId::new(FRAMEWORK));
    assert_eq!(message.executor_id, ExecutorId::new("register"));
    assert_eq!(driver.stop(), Status::DRIVER_STOPPED);
}

#[tokio::test]
async fn a_launched_task_gets_a_status_update_with_a_uuid_that_an_ack_clears() {
    let mut h = registered("launch").await;
    h.agent.send(&h.executor, run_task("t1")).await;
    assert_eq!(
        next(&mut h.seen).await,
        Callback::LaunchTask(TaskId::new("t1"))
    );

    assert_eq!(
        h.driver
            .send_status_update(status("t1", TaskState::TASK_RUNNING)),
        Status::DRIVER_RUNNING
    );
    let (from, message) = h.agent.update().await;
    assert_eq!(from, h.executor);
    assert_eq!(message.pid, Some(h.executor.to_string()));
    let update = message.update;
    let uuid = update.uuid.clone().expect("the update has a uuid");
    assert_eq!(uuid.len(), 16);
    assert_eq!(update.status.uuid, Some(uuid));
    assert_eq!(update.status.state, TaskState::TASK_RUNNING);
    assert_eq!(update.status.source, Some(StatusSource::SOURCE_EXECUTOR));
    assert_eq!(update.status.executor_id, Some(ExecutorId::new("launch")));
    assert_eq!(update.slave_id, Some(AgentId::new(AGENT)));
    assert_eq!(update.framework_id, FrameworkId::new(FRAMEWORK));
    assert!(update.timestamp > 0.0);

    h.agent.acknowledge(&h.executor, &update).await;
    let reregister = reconnect(&h).await;
    assert!(reregister.tasks.is_empty(), "the ack acknowledged the task");
    assert!(reregister.updates.is_empty(), "the ack cleared the update");
    h.driver.stop();
}

#[tokio::test]
async fn reregistration_carries_unacknowledged_tasks_and_updates() {
    let mut h = registered("reconnect").await;
    h.agent.send(&h.executor, run_task("t1")).await;
    h.agent.send(&h.executor, run_task("t2")).await;
    assert_eq!(
        next(&mut h.seen).await,
        Callback::LaunchTask(TaskId::new("t1"))
    );
    assert_eq!(
        next(&mut h.seen).await,
        Callback::LaunchTask(TaskId::new("t2"))
    );
    h.driver
        .send_status_update(status("t1", TaskState::TASK_RUNNING));
    h.driver
        .send_status_update(status("t1", TaskState::TASK_FINISHED));
    let (_, first) = h.agent.update().await;
    let (_, second) = h.agent.update().await;

    let reregister = reconnect(&h).await;
    assert_eq!(reregister.executor_id, ExecutorId::new("reconnect"));
    let tasks: Vec<_> = reregister.tasks.iter().map(|t| t.task_id.clone()).collect();
    assert_eq!(tasks, [TaskId::new("t1"), TaskId::new("t2")]);
    assert_eq!(reregister.updates, [first.update, second.update]);

    let message = mesos_proto::messages::ExecutorReregisteredMessage {
        slave_id: AgentId::new(AGENT),
        ..Default::default()
    };
    h.agent.send(&h.executor, message).await;
    assert_eq!(next(&mut h.seen).await, Callback::Reregistered);
    h.driver.stop();
}

#[tokio::test]
async fn messages_from_a_stranger_are_ignored() {
    let mut h = registered("stranger").await;
    let stranger = libproc::spawn(Silent, ProcessId::generate("stranger")).unwrap();
    let to = h.executor.clone();
    libproc::dispatch(&stranger, move |_, ctx| {
        ctx.send(&to, run_task("from-stranger"))
    })
    .await
    .unwrap();
    h.agent.send(&h.executor, run_task("from-agent")).await;
    assert_eq!(
        next(&mut h.seen).await,
        Callback::LaunchTask(TaskId::new("from-agent"))
    );
    h.driver.stop();
}

#[tokio::test]
async fn task_staging_is_refused_and_aborts_the_driver() {
    let mut h = registered("staging").await;
    assert_eq!(
        h.driver
            .send_status_update(status("t1", TaskState::TASK_STAGING)),
        Status::DRIVER_ABORTED
    );
    assert!(matches!(next(&mut h.seen).await, Callback::Error(_)));
    assert_eq!(joined(&h.driver).await, Status::DRIVER_ABORTED);
    assert!(
        h.agent.heard.try_recv().is_err(),
        "no update reached the agent"
    );
}

#[tokio::test]
async fn a_shutdown_request_reaches_the_executor_which_stops_the_driver() {
    let mut h = registered("shutdown").await;
    h.agent
        .send(&h.executor, ShutdownExecutorMessage::default())
        .await;
    assert_eq!(next(&mut h.seen).await, Callback::Shutdown);
    assert_eq!(joined(&h.driver).await, Status::DRIVER_STOPPED);
}

/// Waits, off the async threads, for the driver to end.
async fn joined(driver: &MesosExecutorDriver) -> Status {
    let driver = driver.clone();
    within("join", tokio::task::spawn_blocking(move || driver.join()))
        .await
        .expect("join does not panic")
}

#[tokio::test]
async fn framework_messages_pass_both_ways() {
    let mut h = registered("messages").await;
    let message = FrameworkToExecutorMessage {
        data: b"to executor".to_vec(),
        ..FrameworkToExecutorMessage::default()
    };
    h.agent.send(&h.executor, message).await;
    assert_eq!(
        next(&mut h.seen).await,
        Callback::FrameworkMessage(b"to executor".to_vec())
    );

    let sent = future_message::<ExecutorToFrameworkMessage>(&h.executor, h.agent.pid());
    h.driver.send_framework_message(b"to framework".to_vec());
    let sent = within("the framework message", sent).await;
    assert_eq!(sent.data, b"to framework");
    assert_eq!(sent.executor_id, ExecutorId::new("messages"));
    assert_eq!(sent.framework_id, FrameworkId::new(FRAMEWORK));
    h.driver.stop();
}

#[tokio::test]
async fn without_checkpointing_a_gone_agent_shuts_the_executor_down() {
    let mut h = registered("agent-gone").await;
    libproc::terminate(h.agent.pid());
    assert_eq!(next(&mut h.seen).await, Callback::Shutdown);
    assert_eq!(joined(&h.driver).await, Status::DRIVER_STOPPED);
}

#[tokio::test]
async fn with_checkpointing_a_gone_agent_is_awaited_for_the_recovery_timeout() {
    let mut h = registered_with("recovery", |env| {
        env.checkpoint = true;
        env.recovery_timeout = Some(Duration::from_millis(100));
    })
    .await;
    libproc::terminate(h.agent.pid());
    assert_eq!(next(&mut h.seen).await, Callback::Disconnected);
    assert_eq!(next(&mut h.seen).await, Callback::Shutdown);
    assert_eq!(joined(&h.driver).await, Status::DRIVER_STOPPED);
}
