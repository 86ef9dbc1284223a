//! What a scheduler asks of the master (`mesos.scheduler.Call`): the driver sends it
//! over libproc, and the v1 HTTP scheduler API carries the same calls as JSON.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use crate::mesos::{Filters, FrameworkInfo, KillPolicy, OfferOperation, Request};

/// One call from a scheduler to the master (Mesos `scheduler.Call`). `kind` says which
/// of the optional parts is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Call {
    /// The caller; absent only in a first SUBSCRIBE.
    pub framework_id: Option<FrameworkId>,
    /// Which call.
    #[serde(rename = "type")]
    pub kind: CallType,
    /// SUBSCRIBE.
    pub subscribe: Option<Subscribe>,
    /// ACCEPT.
    pub accept: Option<Accept>,
    /// DECLINE.
    pub decline: Option<Decline>,
    /// REVIVE.
    pub revive: Option<Revive>,
    /// SUPPRESS.
    pub suppress: Option<Suppress>,
    /// KILL.
    pub kill: Option<Kill>,
    /// SHUTDOWN.
    pub shutdown: Option<Shutdown>,
    /// ACKNOWLEDGE.
    pub acknowledge: Option<Acknowledge>,
    /// RECONCILE.
    pub reconcile: Option<Reconcile>,
    /// MESSAGE.
    pub message: Option<FrameworkMessage>,
    /// REQUEST.
    pub request: Option<Requests>,
    /// UPDATE_FRAMEWORK.
    pub update_framework: Option<UpdateFramework>,
}

/// The kinds of call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms, missing_docs)]
pub enum CallType {
    SUBSCRIBE,
    TEARDOWN,
    ACCEPT,
    DECLINE,
    ACCEPT_INVERSE_OFFERS,
    DECLINE_INVERSE_OFFERS,
    REVIVE,
    KILL,
    SHUTDOWN,
    ACKNOWLEDGE,
    ACKNOWLEDGE_OPERATION_STATUS,
    RECONCILE,
    RECONCILE_OPERATIONS,
    MESSAGE,
    REQUEST,
    SUPPRESS,
    UPDATE_FRAMEWORK,
    #[default]
    #[serde(other)]
    UNKNOWN,
}

/// SUBSCRIBE: register, or re-register with `Call.framework_id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subscribe {
    /// The framework.
    pub framework_info: FrameworkInfo,
    /// Take over from another scheduler instance of the same framework (the driver
    /// sets it on its first re-registration after a scheduler failover).
    pub force: Option<bool>,
    /// Roles not to be offered resources until revived.
    pub suppressed_roles: Vec<String>,
}

/// ACCEPT: use offers for operations; what they leave is declined with `filters`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Accept {
    /// The offers, all on one agent.
    pub offer_ids: Vec<OfferId>,
    /// What to do with them.
    pub operations: Vec<OfferOperation>,
    /// How long the unused resources are kept away.
    pub filters: Option<Filters>,
}

/// DECLINE: give offers back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Decline {
    /// The offers.
    pub offer_ids: Vec<OfferId>,
    /// How long they are kept away.
    pub filters: Option<Filters>,
}

/// REVIVE: lift filters and suppression, and ask for offers now.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Revive {
    /// For these roles; all the framework's when empty.
    pub roles: Vec<String>,
}

/// SUPPRESS: stop offers until REVIVE.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Suppress {
    /// For these roles; all the framework's when empty.
    pub roles: Vec<String>,
}

/// KILL: kill a task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Kill {
    /// The task.
    pub task_id: TaskId,
    /// Its agent, if known.
    #[serde(alias = "slave_id")]
    pub agent_id: Option<AgentId>,
    /// Overrides the task's kill policy.
    pub kill_policy: Option<KillPolicy>,
}

/// SHUTDOWN: stop an executor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shutdown {
    /// The executor.
    pub executor_id: ExecutorId,
    /// Its agent.
    #[serde(alias = "slave_id")]
    pub agent_id: AgentId,
}

/// ACKNOWLEDGE: a status update was handled; the agent may send the next one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Acknowledge {
    /// The task's agent.
    #[serde(alias = "slave_id")]
    pub agent_id: AgentId,
    /// The task.
    pub task_id: TaskId,
    /// The update's uuid.
    pub uuid: Vec<u8>,
}

/// RECONCILE: ask for the latest state of tasks (all the framework's when empty).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reconcile {
    /// The tasks.
    pub tasks: Vec<ReconcileTask>,
}

/// One task to reconcile.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReconcileTask {
    /// The task.
    pub task_id: TaskId,
    /// Its agent, if known.
    #[serde(alias = "slave_id")]
    pub agent_id: Option<AgentId>,
}

/// MESSAGE: opaque data for an executor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FrameworkMessage {
    /// The executor's agent.
    #[serde(alias = "slave_id")]
    pub agent_id: AgentId,
    /// The executor.
    pub executor_id: ExecutorId,
    /// The data.
    pub data: Vec<u8>,
}

/// REQUEST: hints of what the framework wants.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Requests {
    /// The hints.
    pub requests: Vec<Request>,
}

/// UPDATE_FRAMEWORK: change roles, name, capabilities, failover timeout...
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateFramework {
    /// The new description (same id, user, principal and checkpoint).
    pub framework_info: FrameworkInfo,
    /// Roles not to be offered resources until revived.
    pub suppressed_roles: Vec<String>,
}
