//! `trait Scheduler`: the callbacks a framework implements, as Mesos's `scheduler.hpp`.

use mesos_proto::mesos::{MasterInfo, Offer, TaskStatus};
use mesos_proto::{AgentId, ExecutorId, FrameworkId, OfferId};

use crate::driver::SchedulerDriver;

/// A framework's scheduler: what decides which offers to use for which tasks.
///
/// The driver calls these one at a time, from its own process, never concurrently.
/// A callback must return promptly (the next one waits for it); long work belongs on
/// another thread, which calls the driver from there. Calling the driver from inside a
/// callback is safe: its methods only queue the request (except `join` and `run`,
/// which block and must not be called from a callback).
pub trait Scheduler: Send {
    /// The framework registered with a master, which gave it `framework_id`. Called on
    /// the first registration, and when a driver started with an id took the
    /// framework over (failover).
    fn registered(
        &mut self,
        driver: &dyn SchedulerDriver,
        framework_id: FrameworkId,
        master_info: MasterInfo,
    );

    /// The framework re-registered after the driver lost its master and found it (or
    /// a newly elected one) again. Offers made before are void.
    fn reregistered(&mut self, driver: &dyn SchedulerDriver, master_info: MasterInfo);

    /// The driver lost its master. It keeps trying to re-register; `reregistered` (or
    /// `registered`) follows when it succeeds. Requests made meanwhile are dropped,
    /// launches answered with `TASK_LOST`.
    fn disconnected(&mut self, driver: &dyn SchedulerDriver);

    /// New offers. Each stays valid until it is used, declined or rescinded; the same
    /// resources are not offered again meanwhile.
    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: Vec<Offer>);

    /// An offer is no longer valid (its agent left, it timed out, another framework
    /// needs it...). Using it now yields `TASK_LOST` for its tasks.
    /// By default it is logged.
    fn offer_rescinded(&mut self, _driver: &dyn SchedulerDriver, offer_id: OfferId) {
        tracing::debug!(%offer_id, "Offer rescinded");
    }

    /// A task changed state. With implicit acknowledgements (the default) the driver
    /// acknowledges the update once this returns, so the agent sends the task's next
    /// one; with explicit ones the scheduler calls `acknowledge_status_update`.
    /// Updates may repeat (after a failover, say): the scheduler must cope.
    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: TaskStatus);

    /// An executor sent the scheduler opaque data. Best effort: such messages may be
    /// lost.
    /// By default it is logged and dropped.
    fn framework_message(
        &mut self,
        _driver: &dyn SchedulerDriver,
        executor_id: ExecutorId,
        agent_id: AgentId,
        data: Vec<u8>,
    ) {
        tracing::debug!(%executor_id, %agent_id, bytes = data.len(), "Framework message dropped");
    }

    /// An agent is gone (removed or unreachable). Its tasks get their own updates
    /// (`TASK_LOST` or, for partition-aware frameworks, `TASK_UNREACHABLE`).
    /// By default it is logged.
    fn agent_lost(&mut self, _driver: &dyn SchedulerDriver, agent_id: AgentId) {
        tracing::warn!(%agent_id, "Agent lost");
    }

    /// A custom executor ended, with its wait status (-1 when unknown). Its tasks get
    /// their own updates.
    /// By default it is logged.
    fn executor_lost(
        &mut self,
        _driver: &dyn SchedulerDriver,
        executor_id: ExecutorId,
        agent_id: AgentId,
        status: i32,
    ) {
        tracing::warn!(%executor_id, %agent_id, status, "Executor lost");
    }

    /// An unrecoverable error: the master refused the framework (or another scheduler
    /// took it over), or the driver could not start. The driver is aborted before
    /// this is called; no callbacks follow.
    fn error(&mut self, driver: &dyn SchedulerDriver, message: String);
}
