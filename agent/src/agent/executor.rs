//! One executor as the agent sees it (Mesos's `Slave::Executor`): its description,
//! its container, where it stands, the tasks it was given, and how it is reached: a
//! driver's libproc pid or a v1 HTTP event stream. Everything the agent tells an
//! executor goes through [`Executor::send`], so both kinds are one executor inside.

use std::collections::BTreeMap;
use std::path::PathBuf;

use libproc::http::{Pipe, PipeWatch};
use libproc::{Context, Message, Pid};
use mesos_proto::mesos::{ExecutorInfo, FrameworkInfo, StatusReason, Task, TaskInfo, TaskState};
use mesos_proto::messages::{
    ExecutorRegisteredMessage, ExecutorReregisteredMessage, FrameworkToExecutorMessage,
    KillTaskMessage, RunTaskMessage, ShutdownExecutorMessage, StatusUpdateAcknowledgementMessage,
};
use mesos_proto::v1::json::{base64, to_json, typed};
use mesos_proto::v1::recordio::record;
use mesos_proto::{AgentId, ContainerId, ExecutorId, FrameworkId, Resources, TaskId};
use serde_json::{json, Value};

use super::Agent;
use crate::paths::Run;

/// An executor is known by its framework and its id.
pub(crate) type ExecutorKey = (FrameworkId, ExecutorId);

/// Where an executor stands (Mesos's `Executor::State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExecutorState {
    /// Launched, not registered yet.
    Registering,
    /// Recovered after an agent restart, asked to re-register.
    Reconnecting,
    /// Registered: tasks go straight to it.
    Running,
    /// Being shut down or destroyed; it gets no more tasks.
    Terminating,
}

/// Why the agent ended an executor itself: its unfinished tasks carry this reason.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Termination {
    pub(crate) state: TaskState,
    pub(crate) reason: StatusReason,
    pub(crate) message: String,
}

/// An executor and the tasks it was given.
#[derive(Debug)]
pub(crate) struct Executor {
    pub(crate) info: ExecutorInfo,
    pub(crate) framework: FrameworkInfo,
    pub(crate) framework_pid: Option<String>,
    /// The container this run of the executor lives in.
    pub(crate) container_id: ContainerId,
    /// Its sandbox.
    pub(crate) directory: PathBuf,
    /// The executor's OS pid, also its session and process group.
    pub(crate) os_pid: u32,
    /// How it is reached, once it registered (or subscribed) and while connected.
    pub(crate) connection: Option<Connection>,
    pub(crate) state: ExecutorState,
    /// Tasks waiting for it to register.
    pub(crate) queued: Vec<TaskInfo>,
    /// Tasks sent to it, with their latest state.
    pub(crate) launched: BTreeMap<TaskId, (TaskInfo, TaskState)>,
    /// Set when the agent ends the executor, for its tasks' final updates.
    pub(crate) termination: Option<Termination>,
}

/// How the agent reaches an executor.
#[derive(Debug)]
pub(crate) enum Connection {
    /// A driver-based executor: libproc messages to its pid, `exited` when it breaks.
    Pid(Pid),
    /// A v1 HTTP executor: events on its SUBSCRIBE response stream.
    Http(HttpStream),
}

/// The SUBSCRIBE response stream of an HTTP executor. Dropping it ends the stream.
#[derive(Debug)]
pub(crate) struct HttpStream {
    /// Tells this subscription from a later one of the same executor.
    pub(crate) id: uuid::Uuid,
    pipe: Pipe,
    /// Dropped with the stream, which ends the watch of the pipe, so that the body
    /// really ends.
    _watch: PipeWatch,
}

impl HttpStream {
    /// A stream on `pipe`, and a future that resolves once the client closed it or
    /// the agent dropped it.
    pub(crate) fn new(pipe: Pipe) -> (Self, impl std::future::Future<Output = ()> + Send) {
        let (watch, closed) = pipe.watch();
        let stream = HttpStream {
            id: uuid::Uuid::new_v4(),
            pipe,
            _watch: watch,
        };
        (stream, closed)
    }

    /// Writes one record (one HTTP chunk).
    pub(crate) fn write(&self, record: bytes::Bytes) -> Result<(), libproc::http::PipeError> {
        self.pipe.write(record)
    }
}

/// A message of the driver protocol that has a v1 executor event: how the agent tells
/// an HTTP executor what it tells a driver. `executor` fills what the message lacks.
pub(crate) trait ExecutorEvent: Message {
    /// The event, as JSON.
    fn event(&self, executor: &Executor) -> Value;
}

fn subscribed(executor: &Executor, agent_info: &mesos_proto::mesos::AgentInfo) -> Value {
    typed(
        "SUBSCRIBED",
        Some(json!({
            "executor_info": to_json(&executor.info),
            "framework_info": to_json(&executor.framework),
            "agent_info": to_json(agent_info),
            "container_id": to_json(&executor.container_id),
        })),
    )
}

impl ExecutorEvent for ExecutorRegisteredMessage {
    fn event(&self, executor: &Executor) -> Value {
        subscribed(executor, &self.slave_info)
    }
}

impl ExecutorEvent for ExecutorReregisteredMessage {
    fn event(&self, executor: &Executor) -> Value {
        subscribed(executor, &self.slave_info)
    }
}

impl ExecutorEvent for RunTaskMessage {
    fn event(&self, _: &Executor) -> Value {
        typed("LAUNCH", Some(json!({"task": to_json(&self.task)})))
    }
}

impl ExecutorEvent for KillTaskMessage {
    fn event(&self, _: &Executor) -> Value {
        let mut kill = json!({"task_id": to_json(&self.task_id)});
        if let Some(policy) = &self.kill_policy {
            kill["kill_policy"] = to_json(policy);
        }
        typed("KILL", Some(kill))
    }
}

impl ExecutorEvent for StatusUpdateAcknowledgementMessage {
    fn event(&self, _: &Executor) -> Value {
        typed(
            "ACKNOWLEDGED",
            Some(json!({
                "task_id": to_json(&self.task_id),
                "uuid": base64::encode(&self.uuid),
            })),
        )
    }
}

impl ExecutorEvent for FrameworkToExecutorMessage {
    fn event(&self, _: &Executor) -> Value {
        typed("MESSAGE", Some(json!({"data": base64::encode(&self.data)})))
    }
}

impl ExecutorEvent for ShutdownExecutorMessage {
    fn event(&self, _: &Executor) -> Value {
        typed("SHUTDOWN", None)
    }
}

/// The ERROR event, for an HTTP executor whose subscription the agent refuses.
pub(crate) fn error_event(message: &str) -> Value {
    typed("ERROR", Some(json!({"message": message})))
}

impl Executor {
    /// Sends `message` to the executor, as a libproc message or a v1 event, whichever
    /// it speaks. Nothing goes out while it is not connected. A stream that cannot
    /// take the event (the client is gone or too slow) is reported; its watcher
    /// learns of a closed client at once.
    pub(crate) fn send<M: ExecutorEvent>(&self, message: M, ctx: &Context<Agent>) {
        match &self.connection {
            Some(Connection::Pid(pid)) => ctx.send(pid, message),
            Some(Connection::Http(stream)) => {
                if let Err(error) = stream.write(record(&message.event(self))) {
                    tracing::warn!(executor_id = %self.info.executor_id, %error, name = M::NAME, "Could not write to an executor's event stream");
                }
            }
            None => {
                tracing::warn!(executor_id = %self.info.executor_id, name = M::NAME, "Not sending to a disconnected executor")
            }
        }
    }

    /// Its libproc pid, for a registered driver-based executor.
    pub(crate) fn pid(&self) -> Option<&Pid> {
        match &self.connection {
            Some(Connection::Pid(pid)) => Some(pid),
            _ => None,
        }
    }

    /// Whether `from` is this executor's libproc pid.
    pub(crate) fn is_pid(&self, from: &Pid) -> bool {
        self.pid() == Some(from)
    }

    /// Whether it speaks the v1 HTTP API and its stream is open.
    pub(crate) fn is_http_subscribed(&self) -> bool {
        matches!(self.connection, Some(Connection::Http(_)))
    }

    /// Sends a task to the connected executor.
    pub(crate) fn deliver(&mut self, task: TaskInfo, ctx: &mut Context<Agent>) {
        self.launched.insert(
            task.task_id.clone(),
            (task.clone(), TaskState::TASK_STAGING),
        );
        let run = RunTaskMessage {
            framework: self.framework.clone(),
            task,
            pid: self.framework_pid.clone(),
            launch_executor: Some(false),
        };
        self.send(run, ctx);
    }

    /// Whether this is a command executor the agent synthesized (the master does not
    /// know it as an executor).
    pub(crate) fn is_command_executor(&self) -> bool {
        self.info
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("Command Executor"))
    }

    /// What the container holds: the executor's own resources and its unfinished
    /// tasks' (a command executor's own are its task's, counted once).
    pub(crate) fn resources(&self) -> Resources {
        let mut total = if self.is_command_executor() {
            Resources::default()
        } else {
            self.info.resources.clone()
        };
        let launched = self
            .launched
            .values()
            .filter(|(_, state)| !state.is_terminal())
            .map(|(task, _)| task);
        for task in launched.chain(&self.queued) {
            total += &task.resources;
        }
        if total.is_empty() {
            total = self.info.resources.clone();
        }
        total
    }

    /// Whether the framework asked for checkpointing, which recovery needs.
    pub(crate) fn checkpoints(&self) -> bool {
        self.framework.checkpoint.unwrap_or(false)
    }

    /// The key of this run's checkpoints.
    pub(crate) fn run<'a>(&'a self, agent_id: &'a AgentId, key: &'a ExecutorKey) -> Run<'a> {
        Run {
            agent_id,
            framework_id: &key.0,
            executor_id: &key.1,
            container_id: &self.container_id,
        }
    }

    /// Whether the executor has `task_id`, queued or launched.
    pub(crate) fn has_task(&self, task_id: &TaskId) -> bool {
        self.launched.contains_key(task_id) || self.queued.iter().any(|t| &t.task_id == task_id)
    }

    /// Tasks not in a terminal state, launched or queued.
    pub(crate) fn unfinished(&self) -> Vec<TaskId> {
        self.launched
            .iter()
            .filter(|(_, (_, state))| !state.is_terminal())
            .map(|(id, _)| id.clone())
            .chain(self.queued.iter().map(|t| t.task_id.clone()))
            .collect()
    }

    /// The task as the master knows it, for checkpoints and re-registration.
    pub(crate) fn task(
        &self,
        task: &TaskInfo,
        state: TaskState,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
    ) -> Task {
        let executor_id: Option<ExecutorId> =
            (!self.is_command_executor()).then(|| self.info.executor_id.clone());
        Task {
            name: task.name.clone(),
            task_id: task.task_id.clone(),
            framework_id: framework_id.clone(),
            executor_id,
            agent_id: agent_id.clone(),
            state,
            resources: task.resources.clone(),
            labels: task.labels.clone(),
            ..Default::default()
        }
    }
}
