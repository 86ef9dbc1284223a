//! The internal messages that masters, agents, drivers and executors exchange
//! (Mesos `messages.proto`), named on the wire as Mesos names them.
//!
//! Struct and field names are Mesos's, because they are the wire names and what a
//! reviewer compares against the original; "slave" survives here for that reason
//! only. Each message's doc says who sends it, who handles it and when. The wire
//! names come from the one table at the end of this file.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use crate::mesos::{
    AgentCapability, AgentInfo, ExecutorInfo, Filters, FrameworkInfo, KillPolicy, MasterInfo,
    Offer, Request, Task, TaskGroupInfo, TaskInfo, TaskState, TaskStatus,
};
use crate::resources::Resources;
use crate::scheduler::Call;

// Framework <-> master.

/// A scheduler registers a new framework (legacy driver path; the master treats it
/// as SUBSCRIBE without a framework id).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisterFrameworkMessage {
    /// The framework, without id.
    pub framework: FrameworkInfo,
}

/// A scheduler re-registers its framework (legacy driver path; SUBSCRIBE with an id,
/// `failover` meaning `force`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReregisterFrameworkMessage {
    /// The framework, with its id.
    pub framework: FrameworkInfo,
    /// A new scheduler instance takes over.
    pub failover: bool,
}

/// The master tells a scheduler its framework is registered (first registration, or
/// failover to a new scheduler instance).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameworkRegisteredMessage {
    /// The framework's id.
    pub framework_id: FrameworkId,
    /// The master.
    pub master_info: MasterInfo,
}

/// The master tells a scheduler its framework is re-registered (same scheduler
/// instance again).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameworkReregisteredMessage {
    /// The framework's id.
    pub framework_id: FrameworkId,
    /// The master.
    pub master_info: MasterInfo,
}

/// A scheduler ends its framework (legacy; the same as TEARDOWN).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UnregisterFrameworkMessage {
    /// The framework.
    pub framework_id: FrameworkId,
}

/// A scheduler's driver aborted: the master stops offering to the framework and
/// rescinds its offers, but keeps its tasks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeactivateFrameworkMessage {
    /// The framework.
    pub framework_id: FrameworkId,
}

/// A scheduler hints at what it wants (legacy REQUEST); the allocator ignores it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceRequestMessage {
    /// The framework.
    pub framework_id: FrameworkId,
    /// The hints.
    pub requests: Vec<Request>,
}

/// The master offers resources to a scheduler: all of one allocation's offers for it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceOffersMessage {
    /// The offers.
    pub offers: Vec<Offer>,
    /// Each offer's agent pid, in the same order, so that the driver can message
    /// executors directly.
    pub pids: Vec<String>,
}

/// The master withdraws an offer (timeout, agent gone, framework deactivated...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RescindResourceOfferMessage {
    /// The offer.
    pub offer_id: OfferId,
}

/// A scheduler launches tasks on offers (legacy; ACCEPT with one LAUNCH).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LaunchTasksMessage {
    /// The framework.
    pub framework_id: FrameworkId,
    /// The tasks.
    pub tasks: Vec<TaskInfo>,
    /// For the unused resources.
    pub filters: Filters,
    /// The offers used.
    pub offer_ids: Vec<OfferId>,
}

/// A scheduler asks for offers again (legacy REVIVE).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviveOffersMessage {
    /// The framework.
    pub framework_id: FrameworkId,
    /// For these roles; all when empty.
    pub roles: Vec<String>,
}

/// A kill: scheduler → master (legacy KILL), master → agent, agent → executor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KillTaskMessage {
    /// The framework.
    pub framework_id: FrameworkId,
    /// The task.
    pub task_id: TaskId,
    /// Overrides the task's kill policy.
    pub kill_policy: Option<KillPolicy>,
}

/// A task's status update as it travels: executor → agent → master → scheduler.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// The task's framework.
    pub framework_id: FrameworkId,
    /// The task's executor.
    pub executor_id: Option<ExecutorId>,
    /// The task's agent.
    pub slave_id: Option<AgentId>,
    /// The status.
    pub status: TaskStatus,
    /// Seconds since the epoch.
    pub timestamp: f64,
    /// Copy of `status.uuid` (deprecated in Mesos, still sent).
    pub uuid: Option<Vec<u8>>,
    /// The agent's latest view of the task, possibly ahead of `status.state`.
    pub latest_state: Option<TaskState>,
}

/// Carries a status update; `pid` is who gets the acknowledgement (empty for
/// updates the master generates, which need none).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdateMessage {
    /// The update.
    pub update: StatusUpdate,
    /// The acknowledgement's destination.
    pub pid: Option<String>,
}

/// An acknowledgement: scheduler → master (legacy) → agent → executor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdateAcknowledgementMessage {
    /// The task's agent.
    pub slave_id: AgentId,
    /// The task's framework.
    pub framework_id: FrameworkId,
    /// The task.
    pub task_id: TaskId,
    /// The acknowledged update's uuid.
    pub uuid: Vec<u8>,
}

/// The master tells schedulers an agent is gone (removed or unreachable).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LostSlaveMessage {
    /// The agent.
    pub slave_id: AgentId,
}

/// Reconciliation: scheduler → master (legacy RECONCILE), and master → agent inside
/// `SlaveReregisteredMessage`, listing tasks the master believes are there.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReconcileTasksMessage {
    /// The framework.
    pub framework_id: FrameworkId,
    /// The tasks (task id and agent id); all when empty.
    pub statuses: Vec<TaskStatus>,
    /// The framework's description, for the agent.
    pub framework: Option<FrameworkInfo>,
}

/// The master tells a scheduler something is wrong; the driver aborts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameworkErrorMessage {
    /// What.
    pub message: String,
}

/// A custom executor ended: agent → master → scheduler.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExitedExecutorMessage {
    /// The agent.
    pub slave_id: AgentId,
    /// The framework.
    pub framework_id: FrameworkId,
    /// The executor.
    pub executor_id: ExecutorId,
    /// Its wait status; -1 when unknown.
    pub status: i32,
}

/// Opaque data from a scheduler to an executor, through the master or straight to
/// the agent; best effort.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameworkToExecutorMessage {
    /// The executor's agent.
    pub slave_id: AgentId,
    /// The framework.
    pub framework_id: FrameworkId,
    /// The executor.
    pub executor_id: ExecutorId,
    /// The data.
    pub data: Vec<u8>,
}

/// Opaque data from an executor to its scheduler, through the agent; best effort.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutorToFrameworkMessage {
    /// The executor's agent.
    pub slave_id: AgentId,
    /// The framework.
    pub framework_id: FrameworkId,
    /// The executor.
    pub executor_id: ExecutorId,
    /// The data.
    pub data: Vec<u8>,
}

/// The master tells agents a framework's scheduler moved or its description changed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateFrameworkMessage {
    /// The framework.
    pub framework_id: FrameworkId,
    /// The scheduler's new pid (empty for HTTP frameworks).
    pub pid: Option<String>,
    /// The new description.
    pub framework_info: Option<FrameworkInfo>,
}

// Agent <-> master.

/// An agent without an id registers with the master it detected, retried with
/// backoff until `SlaveRegisteredMessage`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisterSlaveMessage {
    /// The agent, without id.
    pub slave: AgentInfo,
    /// Its dynamic reservations and volumes.
    pub checkpointed_resources: Resources,
    /// Its version.
    pub version: String,
    /// What it can handle.
    pub agent_capabilities: Vec<AgentCapability>,
}

/// How the master watches an agent, so that the agent knows when to give up on it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MasterSlaveConnection {
    /// `agent_ping_timeout` × `max_agent_ping_timeouts`, in seconds.
    pub total_ping_timeout_seconds: Option<f64>,
}

/// The master admitted an agent and gives it its id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaveRegisteredMessage {
    /// The id.
    pub slave_id: AgentId,
    /// How the master watches it.
    pub connection: Option<MasterSlaveConnection>,
}

/// An agent with an id re-registers (new master, agent restart, missed pings),
/// with everything it runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReregisterSlaveMessage {
    /// The agent, with its id.
    pub slave: AgentInfo,
    /// Its dynamic reservations and volumes.
    pub checkpointed_resources: Resources,
    /// Its custom executors.
    pub executor_infos: Vec<ExecutorInfo>,
    /// Its tasks (queued ones as TASK_STAGING).
    pub tasks: Vec<Task>,
    /// The frameworks with state on it.
    pub frameworks: Vec<FrameworkInfo>,
    /// Its version.
    pub version: String,
    /// What it can handle.
    pub agent_capabilities: Vec<AgentCapability>,
}

/// The master re-admitted an agent, listing per framework the tasks it believes run
/// there, so that the agent reports those it does not know.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaveReregisteredMessage {
    /// The agent.
    pub slave_id: AgentId,
    /// One per framework.
    pub reconciliations: Vec<ReconcileTasksMessage>,
    /// How the master watches it.
    pub connection: Option<MasterSlaveConnection>,
}

/// An agent shuts down by itself; the master removes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UnregisterSlaveMessage {
    /// The agent.
    pub slave_id: AgentId,
}

/// The master's health check of an agent, every `--agent_ping_timeout`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PingSlaveMessage {
    /// Whether the master counts the agent as connected.
    pub connected: bool,
}

/// An agent's answer to a ping.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PongSlaveMessage {}

/// The master tells an agent to shut down (refused, removed, marked gone).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShutdownMessage {
    /// Why.
    pub message: Option<String>,
}

/// A task to run: master → agent, and agent → executor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunTaskMessage {
    /// The task's framework.
    pub framework: FrameworkInfo,
    /// The task.
    pub task: TaskInfo,
    /// The scheduler's pid (empty for HTTP frameworks).
    pub pid: Option<String>,
    /// Start a new executor (true), or the executor must already run (false).
    pub launch_executor: Option<bool>,
}

/// A task group to run on one executor: master → agent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunTaskGroupMessage {
    /// The tasks' framework.
    pub framework: FrameworkInfo,
    /// The executor.
    pub executor: ExecutorInfo,
    /// The tasks.
    pub task_group: TaskGroupInfo,
    /// Start a new executor (true), or the executor must already run (false).
    pub launch_executor: Option<bool>,
}

/// The master removed a framework: the agent shuts its executors down.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShutdownFrameworkMessage {
    /// The framework.
    pub framework_id: FrameworkId,
}

/// Stop an executor: master → agent, agent → executor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShutdownExecutorMessage {
    /// The executor.
    pub executor_id: Option<ExecutorId>,
    /// Its framework.
    pub framework_id: Option<FrameworkId>,
}

/// The master tells an agent its full set of checkpointed resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckpointResourcesMessage {
    /// The resources.
    pub resources: Resources,
}

/// An agent's update of its oversubscribed resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateSlaveMessage {
    /// The agent.
    pub slave_id: AgentId,
    /// Whether `oversubscribed_resources` is meant.
    pub update_oversubscribed_resources: Option<bool>,
    /// Its revocable resources.
    pub oversubscribed_resources: Resources,
}

// Executor <-> agent.

/// An executor started by the agent registers with it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisterExecutorMessage {
    /// Its framework.
    pub framework_id: FrameworkId,
    /// Itself.
    pub executor_id: ExecutorId,
}

/// The agent accepted an executor's registration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutorRegisteredMessage {
    /// The executor.
    pub executor_info: ExecutorInfo,
    /// Its framework.
    pub framework_id: FrameworkId,
    /// Its framework's description.
    pub framework_info: FrameworkInfo,
    /// The agent.
    pub slave_id: AgentId,
    /// The agent's description.
    pub slave_info: AgentInfo,
}

/// A recovering agent asks its executors to re-register.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReconnectExecutorMessage {
    /// The agent.
    pub slave_id: AgentId,
}

/// An executor re-registers with a recovered agent, with what is unacknowledged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReregisterExecutorMessage {
    /// Itself.
    pub executor_id: ExecutorId,
    /// Its framework.
    pub framework_id: FrameworkId,
    /// Tasks not acknowledged as launched.
    pub tasks: Vec<TaskInfo>,
    /// Updates not acknowledged.
    pub updates: Vec<StatusUpdate>,
}

/// The agent accepted an executor's re-registration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutorReregisteredMessage {
    /// The agent.
    pub slave_id: AgentId,
    /// The agent's description.
    pub slave_info: AgentInfo,
}

/// Implements `libproc::Message` for each message with its Mesos wire name, and lists
/// the names so that a test can check they are unique.
macro_rules! wire_names {
    ($($message:ty => $name:literal,)*) => {
        $(impl libproc::Message for $message {
            const NAME: &'static str = $name;
        })*

        /// Every wire name of this module.
        pub const WIRE_NAMES: &[&str] = &[$($name),*];
    };
}

wire_names! {
    RegisterFrameworkMessage => "mesos.internal.RegisterFrameworkMessage",
    ReregisterFrameworkMessage => "mesos.internal.ReregisterFrameworkMessage",
    FrameworkRegisteredMessage => "mesos.internal.FrameworkRegisteredMessage",
    FrameworkReregisteredMessage => "mesos.internal.FrameworkReregisteredMessage",
    UnregisterFrameworkMessage => "mesos.internal.UnregisterFrameworkMessage",
    DeactivateFrameworkMessage => "mesos.internal.DeactivateFrameworkMessage",
    ResourceRequestMessage => "mesos.internal.ResourceRequestMessage",
    ResourceOffersMessage => "mesos.internal.ResourceOffersMessage",
    RescindResourceOfferMessage => "mesos.internal.RescindResourceOfferMessage",
    LaunchTasksMessage => "mesos.internal.LaunchTasksMessage",
    ReviveOffersMessage => "mesos.internal.ReviveOffersMessage",
    KillTaskMessage => "mesos.internal.KillTaskMessage",
    StatusUpdateMessage => "mesos.internal.StatusUpdateMessage",
    StatusUpdateAcknowledgementMessage => "mesos.internal.StatusUpdateAcknowledgementMessage",
    LostSlaveMessage => "mesos.internal.LostSlaveMessage",
    ReconcileTasksMessage => "mesos.internal.ReconcileTasksMessage",
    FrameworkErrorMessage => "mesos.internal.FrameworkErrorMessage",
    ExitedExecutorMessage => "mesos.internal.ExitedExecutorMessage",
    FrameworkToExecutorMessage => "mesos.internal.FrameworkToExecutorMessage",
    ExecutorToFrameworkMessage => "mesos.internal.ExecutorToFrameworkMessage",
    UpdateFrameworkMessage => "mesos.internal.UpdateFrameworkMessage",
    RegisterSlaveMessage => "mesos.internal.RegisterSlaveMessage",
    SlaveRegisteredMessage => "mesos.internal.SlaveRegisteredMessage",
    ReregisterSlaveMessage => "mesos.internal.ReregisterSlaveMessage",
    SlaveReregisteredMessage => "mesos.internal.SlaveReregisteredMessage",
    UnregisterSlaveMessage => "mesos.internal.UnregisterSlaveMessage",
    PingSlaveMessage => "mesos.internal.PingSlaveMessage",
    PongSlaveMessage => "mesos.internal.PongSlaveMessage",
    ShutdownMessage => "mesos.internal.ShutdownMessage",
    RunTaskMessage => "mesos.internal.RunTaskMessage",
    RunTaskGroupMessage => "mesos.internal.RunTaskGroupMessage",
    ShutdownFrameworkMessage => "mesos.internal.ShutdownFrameworkMessage",
    ShutdownExecutorMessage => "mesos.internal.ShutdownExecutorMessage",
    CheckpointResourcesMessage => "mesos.internal.CheckpointResourcesMessage",
    UpdateSlaveMessage => "mesos.internal.UpdateSlaveMessage",
    RegisterExecutorMessage => "mesos.internal.RegisterExecutorMessage",
    ExecutorRegisteredMessage => "mesos.internal.ExecutorRegisteredMessage",
    ReconnectExecutorMessage => "mesos.internal.ReconnectExecutorMessage",
    ReregisterExecutorMessage => "mesos.internal.ReregisterExecutorMessage",
    ExecutorReregisteredMessage => "mesos.internal.ExecutorReregisteredMessage",
    Call => "mesos.scheduler.Call",
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::TaskState;
    use std::collections::HashSet;

    #[test]
    fn wire_names_are_unique() {
        let unique: HashSet<_> = WIRE_NAMES.iter().collect();
        assert_eq!(unique.len(), WIRE_NAMES.len());
    }

    #[test]
    fn messages_round_trip_through_the_codec() {
        let update = StatusUpdateMessage {
            update: StatusUpdate {
                framework_id: "f".into(),
                slave_id: Some("a".into()),
                status: TaskStatus {
                    task_id: "t".into(),
                    state: TaskState::TASK_RUNNING,
                    uuid: Some(vec![7; 16]),
                    ..Default::default()
                },
                timestamp: 1.5,
                uuid: Some(vec![7; 16]),
                ..Default::default()
            },
            pid: Some("slave(1)@127.0.0.1:5051".into()),
        };
        let bytes = libproc::codec::encode("update", &update).unwrap();
        let back: StatusUpdateMessage = libproc::codec::decode("update", &bytes).unwrap();
        assert_eq!(back, update);
    }

    proptest::proptest! {
        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = libproc::codec::decode::<ReregisterSlaveMessage>("m", &bytes);
            let _ = libproc::codec::decode::<Call>("m", &bytes);
            let _ = libproc::codec::decode::<RunTaskMessage>("m", &bytes);
        }
    }
}
