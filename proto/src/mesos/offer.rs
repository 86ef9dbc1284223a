//! Offers and what frameworks do with them: `Offer`, `Offer.Operation`, `Filters`.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ExecutorId, FrameworkId, OfferId};
use crate::mesos::{Attribute, ExecutorInfo, TaskGroupInfo, TaskInfo};
use crate::resources::{AllocationInfo, Resources};

/// Resources of one agent offered to one framework for one role (Mesos `Offer`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Offer {
    /// Its id, `<master-id>-O<n>`.
    pub id: OfferId,
    /// The framework it is for.
    pub framework_id: FrameworkId,
    /// The agent it is on.
    #[serde(alias = "slave_id")]
    pub agent_id: AgentId,
    /// The agent's host name.
    pub hostname: String,
    /// The agent's address.
    pub url: Option<Url>,
    /// What is offered.
    pub resources: Resources,
    /// The agent's attributes.
    pub attributes: Vec<Attribute>,
    /// The framework's executors already running on the agent.
    pub executor_ids: Vec<ExecutorId>,
    /// The role the resources are allocated to.
    pub allocation_info: Option<AllocationInfo>,
}

/// Where an agent serves HTTP (Mesos `URL`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Url {
    /// `http`.
    pub scheme: String,
    /// Host and port.
    pub address: crate::mesos::Address,
    /// `/slave(1)`.
    pub path: Option<String>,
}

/// What a framework does with accepted offers (Mesos `Offer.Operation`). This master
/// carries out LAUNCH and LAUNCH_GROUP; other types are refused with a clear error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OfferOperation {
    /// Which operation.
    #[serde(rename = "type")]
    pub kind: OperationType,
    /// LAUNCH's tasks.
    pub launch: Option<Launch>,
    /// LAUNCH_GROUP's executor and tasks.
    pub launch_group: Option<LaunchGroup>,
}

/// The kinds of offer operation, as Mesos numbers them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms, missing_docs)]
pub enum OperationType {
    LAUNCH,
    LAUNCH_GROUP,
    RESERVE,
    UNRESERVE,
    CREATE,
    DESTROY,
    GROW_VOLUME,
    SHRINK_VOLUME,
    CREATE_DISK,
    DESTROY_DISK,
    #[default]
    #[serde(other)]
    UNKNOWN,
}

/// LAUNCH: tasks to run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Launch {
    /// The tasks.
    pub task_infos: Vec<TaskInfo>,
}

/// LAUNCH_GROUP: tasks run together by one executor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LaunchGroup {
    /// The executor.
    pub executor: ExecutorInfo,
    /// The tasks.
    pub task_group: TaskGroupInfo,
}

/// How long declined or unused resources are kept from the framework (Mesos `Filters`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filters {
    /// Seconds (default 5; negative means the default; capped at 365 days).
    pub refuse_seconds: Option<f64>,
}

/// A framework's hint of what it wants (Mesos `Request`); the allocator ignores it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Request {
    /// On this agent.
    #[serde(alias = "slave_id")]
    pub agent_id: Option<AgentId>,
    /// These resources.
    pub resources: Resources,
}
