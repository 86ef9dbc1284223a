//! Shared pieces of the executor driver's tests: the runtime, deadlines, a stand-in
//! agent and an executor that records its callbacks.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use libproc::{Addr, Config, Context, Message, Pid, Process, ProcessId, Runtime, StartError};
use mesos_executor_driver::{Executor, ExecutorDriver, ExecutorEnv};
use mesos_proto::mesos::{AgentInfo, ExecutorInfo, FrameworkInfo, TaskInfo};
use mesos_proto::messages::{
    ExecutorRegisteredMessage, RegisterExecutorMessage, StatusUpdate,
    StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos_proto::{AgentId, ExecutorId, FrameworkId, TaskId};
use tokio::sync::mpsc;

pub const FRAMEWORK: &str = "framework-1";
pub const AGENT: &str = "agent-1";

/// Starts this test binary's runtime once.
pub fn start() {
    match Runtime::start(Config::default()) {
        Ok(_) | Err(StartError::AlreadyStarted(_)) => {}
        Err(e) => panic!("the runtime did not start: {e}"),
    }
}

/// Awaits `future`, failing the test with `what` after a generous deadline.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// What the stand-in agent heard, with the sender.
#[derive(Debug)]
pub enum Heard {
    Register(Pid, RegisterExecutorMessage),
    Update(Pid, Box<StatusUpdateMessage>),
}

/// Plays the agent: reports registrations and status updates to the test.
pub struct Agent {
    heard: mpsc::UnboundedSender<Heard>,
}

impl Process for Agent {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install(
            |this: &mut Self, from: Pid, m: RegisterExecutorMessage, _| {
                let _ = this.heard.send(Heard::Register(from, m));
            },
        );
        ctx.install(|this: &mut Self, from: Pid, m: StatusUpdateMessage, _| {
            let _ = this.heard.send(Heard::Update(from, Box::new(m)));
        });
    }
}

/// A process that handles nothing: a stranger to the executor.
pub struct Silent;

impl Process for Silent {}

/// A running stand-in agent and what it hears.
pub struct StandIn {
    pub agent: Addr<Agent>,
    pub heard: mpsc::UnboundedReceiver<Heard>,
}

impl StandIn {
    pub fn spawn() -> Self {
        start();
        let (heard, rx) = mpsc::unbounded_channel();
        let agent = libproc::spawn(Agent { heard }, ProcessId::generate("slave")).unwrap();
        StandIn { agent, heard: rx }
    }

    pub fn pid(&self) -> &Pid {
        self.agent.pid()
    }

    /// Sends `message` from the agent to `to`.
    pub async fn send<M: Message>(&self, to: &Pid, message: M) {
        let to = to.clone();
        libproc::dispatch(&self.agent, move |_, ctx| ctx.send(&to, message))
            .await
            .expect("the stand-in agent runs");
    }

    async fn next(&mut self, what: &str) -> Heard {
        within(what, self.heard.recv())
            .await
            .expect("the stand-in agent runs")
    }

    /// Awaits the executor's registration and returns the executor's pid.
    pub async fn registration(&mut self) -> (Pid, RegisterExecutorMessage) {
        match self.next("a registration").await {
            Heard::Register(from, message) => (from, message),
            other => panic!("expected a registration, heard {other:?}"),
        }
    }

    /// Awaits the registration and accepts it.
    pub async fn register(&mut self, executor_id: &str) -> Pid {
        let (executor, _) = self.registration().await;
        let message = ExecutorRegisteredMessage {
            executor_info: ExecutorInfo {
                executor_id: ExecutorId::new(executor_id),
                ..ExecutorInfo::default()
            },
            framework_id: FrameworkId::new(FRAMEWORK),
            slave_id: AgentId::new(AGENT),
            ..ExecutorRegisteredMessage::default()
        };
        self.send(&executor, message).await;
        executor
    }

    /// Awaits a status update.
    pub async fn update(&mut self) -> (Pid, StatusUpdateMessage) {
        match self.next("a status update").await {
            Heard::Update(from, message) => (from, *message),
            other => panic!("expected a status update, heard {other:?}"),
        }
    }

    /// Acknowledges `update` to `executor`.
    pub async fn acknowledge(&self, executor: &Pid, update: &StatusUpdate) {
        let ack = StatusUpdateAcknowledgementMessage {
            slave_id: AgentId::new(AGENT),
            framework_id: update.framework_id.clone(),
            task_id: update.status.task_id.clone(),
            uuid: update.uuid.clone().expect("the update has a uuid"),
        };
        self.send(executor, ack).await;
    }
}

/// The environment an agent at `agent` gives executor `executor_id`.
pub fn env(agent: &Pid, executor_id: &str) -> ExecutorEnv {
    let vars = |name: &str| -> Option<String> {
        let value = match name {
            "MESOS_FRAMEWORK_ID" => FRAMEWORK.to_owned(),
            "MESOS_EXECUTOR_ID" => executor_id.to_owned(),
            "MESOS_SLAVE_ID" => AGENT.to_owned(),
            "MESOS_SLAVE_PID" => agent.to_string(),
            "MESOS_DIRECTORY" => sandbox().display().to_string(),
            _ => return None,
        };
        Some(value)
    };
    ExecutorEnv::from_vars(vars).expect("the test environment parses")
}

pub fn sandbox() -> PathBuf {
    std::env::temp_dir()
}

/// A callback the recorder saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    Registered(ExecutorId),
    Reregistered,
    Disconnected,
    LaunchTask(TaskId),
    KillTask(TaskId),
    FrameworkMessage(Vec<u8>),
    Shutdown,
    Error(String),
}

/// An executor that reports each callback to the test, and stops on shutdown.
pub struct Recorder {
    pub seen: mpsc::UnboundedSender<Callback>,
}

impl Recorder {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Callback>) {
        let (seen, rx) = mpsc::unbounded_channel();
        (Recorder { seen }, rx)
    }

    fn saw(&self, callback: Callback) {
        let _ = self.seen.send(callback);
    }
}

impl Executor for Recorder {
    fn registered(
        &mut self,
        _: &dyn ExecutorDriver,
        info: ExecutorInfo,
        _: FrameworkInfo,
        _: AgentInfo,
    ) {
        self.saw(Callback::Registered(info.executor_id));
    }

    fn reregistered(&mut self, _: &dyn ExecutorDriver, _: AgentInfo) {
        self.saw(Callback::Reregistered);
    }

    fn disconnected(&mut self, _: &dyn ExecutorDriver) {
        self.saw(Callback::Disconnected);
    }

    fn launch_task(&mut self, _: &dyn ExecutorDriver, task: TaskInfo) {
        self.saw(Callback::LaunchTask(task.task_id));
    }

    fn kill_task(&mut self, _: &dyn ExecutorDriver, task_id: TaskId) {
        self.saw(Callback::KillTask(task_id));
    }

    fn framework_message(&mut self, _: &dyn ExecutorDriver, data: Vec<u8>) {
        self.saw(Callback::FrameworkMessage(data));
    }

    fn shutdown(&mut self, driver: &dyn ExecutorDriver) {
        self.saw(Callback::Shutdown);
        driver.stop();
    }

    fn error(&mut self, _: &dyn ExecutorDriver, message: String) {
        self.saw(Callback::Error(message));
    }
}

/// Awaits the next callback.
pub async fn next(seen: &mut mpsc::UnboundedReceiver<Callback>) -> Callback {
    within("a callback", seen.recv())
        .await
        .expect("the recorder is alive")
}
