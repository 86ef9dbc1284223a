//! Tasks: how a framework describes one (`TaskInfo`, `CommandInfo`, `ExecutorInfo`),
//! the states it goes through (`TaskState`, `TaskStatus`), and the record masters and
//! agents keep of it (`Task`).

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use crate::mesos::Labels;
use crate::resources::Resources;

/// A task to launch (Mesos `TaskInfo`). Exactly one of `command` (run by the built-in
/// command executor) and `executor` (a framework's own executor) is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskInfo {
    /// A name for people.
    pub name: String,
    /// Unique among the framework's tasks.
    pub task_id: TaskId,
    /// The agent of the offer it is launched on.
    #[serde(alias = "slave_id")]
    pub agent_id: AgentId,
    /// What it uses.
    pub resources: Resources,
    /// A custom executor to run it.
    pub executor: Option<ExecutorInfo>,
    /// A command for the command executor.
    pub command: Option<CommandInfo>,
    /// Opaque data for the executor.
    pub data: Option<Vec<u8>>,
    /// Free-form labels.
    pub labels: Option<Labels>,
    /// How a kill proceeds.
    pub kill_policy: Option<KillPolicy>,
}

/// Several tasks launched together on one executor (Mesos `TaskGroupInfo`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskGroupInfo {
    /// The tasks.
    pub tasks: Vec<TaskInfo>,
}

/// A command to run (Mesos `CommandInfo`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommandInfo {
    /// Files fetched into the sandbox first.
    pub uris: Vec<CommandUri>,
    /// Environment variables.
    pub environment: Option<Environment>,
    /// Run `value` with `/bin/sh -c` (the default), or `value` with `arguments` as argv.
    pub shell: Option<bool>,
    /// The shell command, or the executable when `shell` is false.
    pub value: Option<String>,
    /// argv when `shell` is false.
    pub arguments: Vec<String>,
    /// Run as this user instead of the framework's.
    pub user: Option<String>,
}

impl CommandInfo {
    /// Whether the command runs through the shell (true unless said otherwise).
    pub fn is_shell(&self) -> bool {
        self.shell.unwrap_or(true)
    }
}

/// A file to fetch into the sandbox (Mesos `CommandInfo.URI`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommandUri {
    /// Where from.
    pub value: String,
    /// Make it executable.
    pub executable: Option<bool>,
    /// Extract archives (default true).
    pub extract: Option<bool>,
    /// Cache it on the agent.
    pub cache: Option<bool>,
    /// Name in the sandbox.
    pub output_file: Option<String>,
}

/// Environment variables (Mesos `Environment`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Environment {
    /// The variables.
    pub variables: Vec<Variable>,
}

/// One environment variable.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: Option<String>,
}

/// An executor (Mesos `ExecutorInfo`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecutorInfo {
    /// Built-in default executor or a framework's own.
    #[serde(rename = "type")]
    pub kind: Option<ExecutorType>,
    /// Unique among the framework's executors on an agent.
    pub executor_id: ExecutorId,
    /// The framework it belongs to.
    pub framework_id: Option<FrameworkId>,
    /// How to start it.
    pub command: Option<CommandInfo>,
    /// What the executor itself uses, beyond its tasks.
    pub resources: Resources,
    /// A name for people.
    pub name: Option<String>,
    /// Opaque data for the executor.
    pub data: Option<Vec<u8>>,
    /// How long it has to shut down before being killed.
    pub shutdown_grace_period: Option<DurationInfo>,
    /// Free-form labels.
    pub labels: Option<Labels>,
}

/// The kinds of executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum ExecutorType {
    /// Mesos's default executor, for task groups.
    DEFAULT,
    /// A framework's own executor.
    CUSTOM,
    /// Not known here.
    #[serde(other)]
    UNKNOWN,
}

/// A duration in nanoseconds (Mesos `DurationInfo`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationInfo {
    /// Nanoseconds.
    pub nanoseconds: i64,
}

/// How a kill proceeds (Mesos `KillPolicy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KillPolicy {
    /// Time between SIGTERM and SIGKILL.
    pub grace_period: Option<DurationInfo>,
}

/// The states of a task, with Mesos's numbers.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum TaskState {
    /// Being launched by its executor (0).
    TASK_STARTING,
    /// Running (1).
    TASK_RUNNING,
    /// Finished successfully (2, terminal).
    TASK_FINISHED,
    /// Failed (3, terminal).
    TASK_FAILED,
    /// Killed (4, terminal).
    TASK_KILLED,
    /// Lost with its agent (5, terminal, but may come back to RUNNING).
    TASK_LOST,
    /// Accepted, not yet started (6): the state the master and agent assign at launch.
    #[default]
    TASK_STAGING,
    /// Invalid description (7, terminal).
    TASK_ERROR,
    /// Being killed (8).
    TASK_KILLING,
    /// Never started (9, terminal; partition-aware frameworks).
    TASK_DROPPED,
    /// Agent unreachable (10; partition-aware frameworks).
    TASK_UNREACHABLE,
    /// Definitely not running (11, terminal; partition-aware frameworks).
    TASK_GONE,
    /// The operator marked its agent gone (12, terminal; partition-aware frameworks).
    TASK_GONE_BY_OPERATOR,
    /// Unknown to the master (13; a reconciliation answer, never stored).
    TASK_UNKNOWN,
}

impl TaskState {
    /// Whether the task will never run again (Mesos `isTerminalState`).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::TASK_FINISHED
                | TaskState::TASK_FAILED
                | TaskState::TASK_KILLED
                | TaskState::TASK_LOST
                | TaskState::TASK_ERROR
                | TaskState::TASK_DROPPED
                | TaskState::TASK_GONE
                | TaskState::TASK_GONE_BY_OPERATOR
        )
    }

    /// The state's name, as in JSON and logs.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::TASK_STARTING => "TASK_STARTING",
            TaskState::TASK_RUNNING => "TASK_RUNNING",
            TaskState::TASK_FINISHED => "TASK_FINISHED",
            TaskState::TASK_FAILED => "TASK_FAILED",
            TaskState::TASK_KILLED => "TASK_KILLED",
            TaskState::TASK_LOST => "TASK_LOST",
            TaskState::TASK_STAGING => "TASK_STAGING",
            TaskState::TASK_ERROR => "TASK_ERROR",
            TaskState::TASK_KILLING => "TASK_KILLING",
            TaskState::TASK_DROPPED => "TASK_DROPPED",
            TaskState::TASK_UNREACHABLE => "TASK_UNREACHABLE",
            TaskState::TASK_GONE => "TASK_GONE",
            TaskState::TASK_GONE_BY_OPERATOR => "TASK_GONE_BY_OPERATOR",
            TaskState::TASK_UNKNOWN => "TASK_UNKNOWN",
        }
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Who produced a status update.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum StatusSource {
    /// The master.
    #[default]
    SOURCE_MASTER,
    /// The agent (`SOURCE_AGENT` in v1).
    SOURCE_SLAVE,
    /// The executor.
    SOURCE_EXECUTOR,
}

/// Why a task changed state (Mesos `TaskStatus.Reason`, in Mesos's number order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms, missing_docs)]
pub enum StatusReason {
    REASON_COMMAND_EXECUTOR_FAILED,
    REASON_EXECUTOR_TERMINATED,
    REASON_EXECUTOR_UNREGISTERED,
    REASON_FRAMEWORK_REMOVED,
    REASON_GC_ERROR,
    REASON_INVALID_FRAMEWORKID,
    REASON_INVALID_OFFERS,
    REASON_MASTER_DISCONNECTED,
    REASON_CONTAINER_LIMITATION_MEMORY,
    REASON_RECONCILIATION,
    REASON_SLAVE_DISCONNECTED,
    REASON_SLAVE_REMOVED,
    REASON_SLAVE_RESTARTED,
    REASON_SLAVE_UNKNOWN,
    REASON_TASK_INVALID,
    REASON_TASK_UNAUTHORIZED,
    REASON_TASK_UNKNOWN,
    REASON_CONTAINER_PREEMPTED,
    REASON_RESOURCES_UNKNOWN,
    REASON_CONTAINER_LIMITATION,
    REASON_CONTAINER_LIMITATION_DISK,
    REASON_CONTAINER_LAUNCH_FAILED,
    REASON_CONTAINER_UPDATE_FAILED,
    REASON_EXECUTOR_REGISTRATION_TIMEOUT,
    REASON_EXECUTOR_REREGISTRATION_TIMEOUT,
    REASON_TASK_GROUP_INVALID,
    REASON_TASK_GROUP_UNAUTHORIZED,
    REASON_IO_SWITCHBOARD_EXITED,
    REASON_TASK_CHECK_STATUS_UPDATED,
    REASON_TASK_HEALTH_CHECK_STATUS_UPDATED,
    REASON_TASK_KILLED_DURING_LAUNCH,
    REASON_SLAVE_REMOVED_BY_OPERATOR,
    REASON_SLAVE_REREGISTERED,
    REASON_MAX_COMPLETION_TIME_REACHED,
    REASON_SLAVE_DRAINING,
}

/// A point in time, in nanoseconds since the epoch (Mesos `TimeInfo`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeInfo {
    /// Nanoseconds since the Unix epoch.
    pub nanoseconds: i64,
}

/// A task's state at one moment, as reported (Mesos `TaskStatus`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskStatus {
    /// The task.
    pub task_id: TaskId,
    /// Its state.
    pub state: TaskState,
    /// Words for people.
    pub message: Option<String>,
    /// Who produced it.
    pub source: Option<StatusSource>,
    /// Why.
    pub reason: Option<StatusReason>,
    /// Opaque data from the executor.
    pub data: Option<Vec<u8>>,
    /// The task's agent.
    #[serde(alias = "slave_id")]
    pub agent_id: Option<AgentId>,
    /// The task's executor.
    pub executor_id: Option<ExecutorId>,
    /// Seconds since the epoch.
    pub timestamp: Option<f64>,
    /// The 16 bytes that identify the update for its acknowledgement; absent when
    /// the update needs none (master-generated ones).
    pub uuid: Option<Vec<u8>>,
    /// Result of the task's health check.
    pub healthy: Option<bool>,
    /// Free-form labels.
    pub labels: Option<Labels>,
    /// When its agent became unreachable.
    pub unreachable_time: Option<TimeInfo>,
}

/// The master's and agent's record of a task (Mesos `Task`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Task {
    /// Its name.
    pub name: String,
    /// Its id.
    pub task_id: TaskId,
    /// Its framework.
    pub framework_id: FrameworkId,
    /// Its executor, for tasks of custom executors.
    pub executor_id: Option<ExecutorId>,
    /// Its agent.
    #[serde(alias = "slave_id")]
    pub agent_id: AgentId,
    /// Its latest state.
    pub state: TaskState,
    /// What it uses.
    pub resources: Resources,
    /// Its history; consecutive updates with one state collapse to the latest.
    pub statuses: Vec<TaskStatus>,
    /// The state of the latest update sent to the framework and not acknowledged yet.
    pub status_update_state: Option<TaskState>,
    /// That update's uuid.
    pub status_update_uuid: Option<Vec<u8>>,
    /// Free-form labels.
    pub labels: Option<Labels>,
    /// The user it runs as.
    pub user: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_are_mesos_s() {
        let terminal: Vec<_> = [
            TaskState::TASK_STAGING,
            TaskState::TASK_STARTING,
            TaskState::TASK_RUNNING,
            TaskState::TASK_KILLING,
            TaskState::TASK_FINISHED,
            TaskState::TASK_FAILED,
            TaskState::TASK_KILLED,
            TaskState::TASK_ERROR,
            TaskState::TASK_LOST,
            TaskState::TASK_DROPPED,
            TaskState::TASK_UNREACHABLE,
            TaskState::TASK_GONE,
            TaskState::TASK_GONE_BY_OPERATOR,
            TaskState::TASK_UNKNOWN,
        ]
        .into_iter()
        .filter(|s| s.is_terminal())
        .map(TaskState::name)
        .collect();
        assert_eq!(
            terminal,
            [
                "TASK_FINISHED",
                "TASK_FAILED",
                "TASK_KILLED",
                "TASK_ERROR",
                "TASK_LOST",
                "TASK_DROPPED",
                "TASK_GONE",
                "TASK_GONE_BY_OPERATOR"
            ]
        );
    }

    #[test]
    fn json_names_are_mesos_s() {
        assert_eq!(
            serde_json::to_string(&TaskState::TASK_RUNNING).unwrap(),
            "\"TASK_RUNNING\""
        );
        let status: TaskStatus = serde_json::from_str(
            r#"{"task_id":{"value":"t"},"state":"TASK_FAILED","slave_id":{"value":"a"}}"#,
        )
        .unwrap();
        assert_eq!(status.state, TaskState::TASK_FAILED);
        assert_eq!(status.agent_id, Some(AgentId::from("a")));
    }

    #[test]
    fn shell_is_the_default() {
        assert!(CommandInfo::default().is_shell());
    }
}
