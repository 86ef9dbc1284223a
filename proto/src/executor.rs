//! What an executor asks of its agent over the v1 executor API
//! (`mesos.v1.executor.Call`); driver-based executors send the internal messages
//! instead.

use serde::{Deserialize, Serialize};

use crate::ids::{ExecutorId, FrameworkId};
use crate::mesos::{TaskInfo, TaskStatus};

/// One call from an executor to its agent (Mesos `executor.Call`). `kind` says which
/// of the optional parts is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Call {
    /// The caller.
    pub executor_id: ExecutorId,
    /// The caller's framework.
    pub framework_id: FrameworkId,
    /// Which call.
    #[serde(rename = "type")]
    pub kind: CallType,
    /// SUBSCRIBE.
    pub subscribe: Option<Subscribe>,
    /// UPDATE.
    pub update: Option<Update>,
    /// MESSAGE.
    pub message: Option<Message>,
}

/// The kinds of call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms, missing_docs)]
pub enum CallType {
    #[default]
    UNKNOWN,
    SUBSCRIBE,
    UPDATE,
    MESSAGE,
    HEARTBEAT,
}

/// SUBSCRIBE: opens the event stream; a reconnecting executor lists what the agent
/// has not acknowledged yet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subscribe {
    /// Tasks launched whose updates were not all acknowledged.
    pub unacknowledged_tasks: Vec<TaskInfo>,
    /// Updates sent and not acknowledged.
    pub unacknowledged_updates: Vec<Update>,
}

/// UPDATE: a task's new status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Update {
    /// The status, with the executor's fresh `uuid`.
    pub status: TaskStatus,
}

/// MESSAGE: opaque data for the scheduler.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    /// The data.
    pub data: Vec<u8>,
}
