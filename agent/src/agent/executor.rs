//! One executor as the agent sees it (Mesos's `Slave::Executor`): its description,
//! its container, where it stands, and the tasks it was given.

use std::collections::BTreeMap;
use std::path::PathBuf;

use libproc::{Context, Pid};
use mesos_proto::mesos::{ExecutorInfo, FrameworkInfo, StatusReason, Task, TaskInfo, TaskState};
use mesos_proto::messages::RunTaskMessage;
use mesos_proto::{AgentId, ContainerId, ExecutorId, FrameworkId, Resources, TaskId};

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
    /// Its libproc pid, once it registered.
    pub(crate) pid: Option<Pid>,
    pub(crate) state: ExecutorState,
    /// Tasks waiting for it to register.
    pub(crate) queued: Vec<TaskInfo>,
    /// Tasks sent to it, with their latest state.
    pub(crate) launched: BTreeMap<TaskId, (TaskInfo, TaskState)>,
    /// Set when the agent ends the executor, for its tasks' final updates.
    pub(crate) termination: Option<Termination>,
}

impl Executor {
    /// Sends a task to the registered executor.
    pub(crate) fn deliver(&mut self, task: TaskInfo, pid: &Pid, ctx: &mut Context<Agent>) {
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
        ctx.send(pid, run);
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
