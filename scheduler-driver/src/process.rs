//! `SchedulerProcess`: the driver's libproc process, which speaks the scheduler side
//! of the scheduler <-> master protocol.
//!
//! From the master: `FrameworkRegisteredMessage`, `FrameworkReregisteredMessage`,
//! `ResourceOffersMessage`, `RescindResourceOfferMessage`, `StatusUpdateMessage`,
//! `LostSlaveMessage`, `ExitedExecutorMessage` and `FrameworkErrorMessage`; from the
//! master or an agent: `ExecutorToFrameworkMessage`. To the master: `Call` (SUBSCRIBE,
//! TEARDOWN, ACCEPT, DECLINE, REVIVE, SUPPRESS, KILL, ACKNOWLEDGE, RECONCILE, MESSAGE,
//! REQUEST) and `DeactivateFrameworkMessage`; to an agent: `FrameworkToExecutorMessage`.
//!
//! Registration uses `Call` SUBSCRIBE, as Mesos's driver does since 1.0: it is the one
//! form that carries `force` (take the framework over) and that the master handles
//! first-hand; the legacy `RegisterFrameworkMessage` is only translated into it.

use std::collections::HashMap;
use std::sync::Weak;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libproc::{Context, Message, Pid, Process, Timer};
use mesos_detector::MasterDetector;
use mesos_proto::mesos::{
    Filters, FrameworkCapabilityType, FrameworkInfo, OfferOperation, OperationType, Request,
    StatusReason, StatusSource, TaskState, TaskStatus,
};
use mesos_proto::messages::{
    DeactivateFrameworkMessage, ExecutorToFrameworkMessage, ExitedExecutorMessage,
    FrameworkErrorMessage, FrameworkRegisteredMessage, FrameworkReregisteredMessage,
    FrameworkToExecutorMessage, LostSlaveMessage, RescindResourceOfferMessage,
    ResourceOffersMessage, StatusUpdateMessage,
};
use mesos_proto::scheduler::{
    Accept, Acknowledge, Call, CallType, Decline, FrameworkMessage, Kill, Reconcile, ReconcileTask,
    Requests, Subscribe,
};
use mesos_proto::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};

use crate::driver::{MesosSchedulerDriver, Shared};
use crate::flags::{DriverFlags, REGISTRATION_RETRY_INTERVAL_MAX};
use crate::scheduler::Scheduler;

/// The scheduler's side of its connection to the master (Mesos `SchedulerProcess`).
pub(crate) struct SchedulerProcess {
    /// The facade's state; weak, so that dropping the last driver ends the process.
    driver: Weak<Shared>,
    scheduler: Box<dyn Scheduler>,
    framework: FrameworkInfo,
    detector: MasterDetector,
    flags: DriverFlags,
    implicit_acknowledgements: bool,
    /// The leading master, as last detected.
    master: Option<Pid>,
    /// Linked to the master: cleared when the link breaks, so the next registration
    /// attempt links again.
    linked: bool,
    /// Registered with the current master.
    connected: bool,
    /// The next SUBSCRIBE takes the framework over from another scheduler (set when
    /// the driver starts with a framework id, cleared once registered).
    failover: bool,
    registration_timer: Option<Timer>,
    /// Agent pids by offer, to send framework messages straight to the agents that
    /// run the framework's tasks.
    saved_offers: HashMap<OfferId, HashMap<AgentId, Pid>>,
    saved_agent_pids: HashMap<AgentId, Pid>,
}

impl Process for SchedulerProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // From the master.
        Self::on_master(ctx, Self::registered);
        Self::on_master(ctx, Self::reregistered);
        Self::on_master(ctx, Self::resource_offers);
        Self::on_master(ctx, Self::rescind_offer);
        Self::on_master(ctx, Self::status_update);
        Self::on_master(ctx, Self::lost_agent);
        Self::on_master(ctx, Self::lost_executor);
        // From the master (failover, refusal), not checked: as in Mesos.
        Self::when_running(ctx, Self::error);
        // From an agent directly, or through the master.
        Self::when_running(ctx, Self::framework_message);

        tracing::info!(framework = %self.framework.name, "Detecting the master");
        ctx.defer(self.detector.detect(None), Self::detected);
    }

    /// The link to the master broke: the master (or the connection to it) is gone.
    /// The driver disconnects and tries to register again, with backoff, at the same
    /// master until the detector names another.
    fn exited(&mut self, pid: &Pid, ctx: &mut Context<Self>) {
        if self.master.as_ref() != Some(pid) || !self.is_running() {
            return;
        }
        self.linked = false;
        if !self.connected {
            // A registration attempt failed to connect; the retry timer is running.
            return;
        }
        tracing::warn!(master = %pid, framework_id = %self.framework_id(), "Master exited; re-registering");
        self.connected = false;
        self.callback(ctx, |scheduler, driver| scheduler.disconnected(driver));
        self.do_reliable_registration(self.flags.registration_backoff_factor, ctx);
    }
}

impl SchedulerProcess {
    pub(crate) fn new(
        driver: &MesosSchedulerDriver,
        scheduler: Box<dyn Scheduler>,
        framework: FrameworkInfo,
        detector: MasterDetector,
        flags: DriverFlags,
        implicit_acknowledgements: bool,
    ) -> Self {
        SchedulerProcess {
            driver: driver.downgrade(),
            scheduler,
            failover: framework
                .id
                .as_ref()
                .is_some_and(|id| !id.as_str().is_empty()),
            framework,
            detector,
            flags,
            implicit_acknowledgements,
            master: None,
            linked: false,
            connected: false,
            registration_timer: None,
            saved_offers: HashMap::new(),
            saved_agent_pids: HashMap::new(),
        }
    }

    /// Installs `handler` for `M`, for messages while the driver runs.
    fn when_running<M: Message>(
        ctx: &mut Context<Self>,
        handler: fn(&mut Self, Pid, M, &mut Context<Self>),
    ) {
        ctx.install(move |this: &mut Self, from: Pid, message: M, ctx| {
            if this.is_running() {
                handler(this, from, message, ctx);
            } else {
                tracing::debug!(
                    name = M::NAME,
                    "Ignoring a message: the driver is not running"
                );
            }
        });
    }

    /// Installs `handler` for `M`, for messages from the leading master while the
    /// driver runs and is registered with it.
    fn on_master<M: Message>(
        ctx: &mut Context<Self>,
        handler: fn(&mut Self, M, &mut Context<Self>),
    ) {
        ctx.install(move |this: &mut Self, from: Pid, message: M, ctx| {
            let registration = M::NAME == FrameworkRegisteredMessage::NAME
                || M::NAME == FrameworkReregisteredMessage::NAME;
            if !this.is_running() {
                tracing::debug!(name = M::NAME, "Ignoring a message: the driver is not running");
            } else if this.master.as_ref() != Some(&from) {
                tracing::warn!(%from, name = M::NAME, "Ignoring a message not from the leading master");
            } else if registration && this.connected {
                tracing::debug!(name = M::NAME, "Ignoring a registration: already registered");
            } else if !registration && !this.connected {
                tracing::debug!(name = M::NAME, "Ignoring a message: the driver is disconnected");
            } else {
                handler(this, message, ctx);
            }
        });
    }

    fn is_running(&self) -> bool {
        self.driver
            .upgrade()
            .is_some_and(|shared| MesosSchedulerDriver::from_shared(shared).is_running())
    }

    /// Calls the scheduler with the driver; when every driver handle is gone, there
    /// is nobody to call back, and the process ends.
    fn callback(
        &mut self,
        ctx: &mut Context<Self>,
        f: impl FnOnce(&mut dyn Scheduler, &MesosSchedulerDriver),
    ) {
        match self.driver.upgrade() {
            Some(shared) => f(
                self.scheduler.as_mut(),
                &MesosSchedulerDriver::from_shared(shared),
            ),
            None => ctx.terminate(),
        }
    }

    fn framework_id(&self) -> FrameworkId {
        self.framework.id.clone().unwrap_or_default()
    }

    /// A call of this framework to the current master.
    fn call(&self, call: Call, ctx: &Context<Self>) {
        let Some(master) = &self.master else {
            return;
        };
        let call = Call {
            framework_id: self.framework.id.clone(),
            ..call
        };
        ctx.send(master, call);
    }

    /// The detector answered: a new leader, or none. The registration starts over with
    /// it, and the detector is asked again for the next change.
    fn detected(&mut self, leader: Option<Pid>, ctx: &mut Context<Self>) {
        if !self.is_running() {
            return;
        }
        if self.connected {
            self.callback(ctx, |scheduler, driver| scheduler.disconnected(driver));
        }
        self.connected = false;
        self.linked = false;
        self.master = leader;
        if let Some(timer) = self.registration_timer.take() {
            timer.cancel();
        }
        match &self.master {
            Some(master) => {
                tracing::info!(%master, "New master detected");
                self.do_reliable_registration(self.flags.registration_backoff_factor, ctx);
            }
            None => tracing::info!("No master detected"),
        }
        ctx.defer(self.detector.detect(self.master.as_ref()), Self::detected);
    }

    /// Sends SUBSCRIBE, then again after a random wait up to `max_backoff` (which
    /// doubles, bounded by a minute and a tenth of the failover timeout), until
    /// registered.
    fn do_reliable_registration(&mut self, max_backoff: Duration, ctx: &mut Context<Self>) {
        if !self.is_running() || self.connected {
            return;
        }
        let Some(master) = self.master.clone() else {
            return;
        };
        if !self.linked {
            ctx.link(&master);
            self.linked = true;
        }
        let framework_id = self
            .framework
            .id
            .clone()
            .filter(|id| !id.as_str().is_empty());
        tracing::info!(%master, failover = self.failover, "Sending SUBSCRIBE");
        let subscribe = Call {
            kind: CallType::SUBSCRIBE,
            subscribe: Some(Subscribe {
                framework_info: self.framework.clone(),
                force: framework_id.as_ref().map(|_| self.failover),
                suppressed_roles: Vec::new(),
            }),
            ..Call::default()
        };
        self.call(subscribe, ctx);
        let max_backoff = registration_backoff_bound(max_backoff, &self.framework);
        let delay = max_backoff.mul_f64(fastrand::f64());
        tracing::debug!(?delay, "Will retry registration if necessary");
        self.registration_timer = Some(ctx.delay(delay, move |this: &mut Self, ctx| {
            this.do_reliable_registration(max_backoff * 2, ctx)
        }));
    }

    fn registered(&mut self, message: FrameworkRegisteredMessage, ctx: &mut Context<Self>) {
        let FrameworkRegisteredMessage {
            framework_id,
            master_info,
        } = message;
        tracing::info!(framework_id = %framework_id, "Framework registered");
        self.framework.id = Some(framework_id.clone());
        self.connected = true;
        self.failover = false;
        self.callback(ctx, |scheduler, driver| {
            scheduler.registered(driver, framework_id, master_info)
        });
    }

    fn reregistered(&mut self, message: FrameworkReregisteredMessage, ctx: &mut Context<Self>) {
        if self.framework.id.as_ref() != Some(&message.framework_id) {
            return tracing::warn!(
                framework_id = %message.framework_id,
                "Ignoring a re-registration of another framework"
            );
        }
        tracing::info!(framework_id = %message.framework_id, "Framework re-registered");
        self.connected = true;
        self.failover = false;
        self.callback(ctx, |scheduler, driver| {
            scheduler.reregistered(driver, message.master_info)
        });
    }

    fn resource_offers(&mut self, message: ResourceOffersMessage, ctx: &mut Context<Self>) {
        // An empty message carries only inverse offers, which the driver API lacks.
        if message.offers.is_empty() {
            return;
        }
        tracing::debug!(framework_id = %self.framework_id(), offers = message.offers.len(), "Received offers");
        for (offer, pid) in message.offers.iter().zip(&message.pids) {
            match pid.parse::<Pid>() {
                Ok(pid) => {
                    self.saved_offers
                        .entry(offer.id.clone())
                        .or_default()
                        .insert(offer.agent_id.clone(), pid);
                }
                Err(error) => tracing::debug!(%error, "Cannot parse an agent pid"),
            }
        }
        self.callback(ctx, |scheduler, driver| {
            scheduler.resource_offers(driver, message.offers)
        });
    }

    fn rescind_offer(&mut self, message: RescindResourceOfferMessage, ctx: &mut Context<Self>) {
        tracing::debug!(offer_id = %message.offer_id, "Offer rescinded");
        self.saved_offers.remove(&message.offer_id);
        self.callback(ctx, |scheduler, driver| {
            scheduler.offer_rescinded(driver, message.offer_id)
        });
    }

    /// A status update through the master. Its uuid reaches the scheduler (and an
    /// acknowledgement the master) only when an agent wants one: the update carries a
    /// uuid and the pid to acknowledge to. Master-generated updates need none.
    fn status_update(&mut self, message: StatusUpdateMessage, ctx: &mut Context<Self>) {
        let StatusUpdateMessage { update, pid } = message;
        if self.framework.id.as_ref() != Some(&update.framework_id) {
            return tracing::warn!(
                framework_id = %update.framework_id,
                "Ignoring a status update of another framework"
            );
        }
        let mut status = update.status;
        let from_agent = pid.is_some_and(|pid| !pid.is_empty());
        status.uuid = update.uuid.filter(|uuid| !uuid.is_empty() && from_agent);
        if status.agent_id.is_none() {
            status.agent_id = update.slave_id;
        }
        tracing::info!(
            framework_id = %update.framework_id,
            task_id = %status.task_id,
            state = %status.state,
            "Received status update"
        );
        let acknowledgement =
            status
                .uuid
                .clone()
                .zip(status.agent_id.clone())
                .map(|(uuid, agent_id)| Acknowledge {
                    agent_id,
                    task_id: status.task_id.clone(),
                    uuid,
                });
        self.callback(ctx, |scheduler, driver| {
            scheduler.status_update(driver, status)
        });
        // The scheduler may have stopped or aborted the driver in the callback: then
        // the update stays unacknowledged, for the next scheduler to receive.
        if self.implicit_acknowledgements && self.is_running() {
            if let Some(acknowledge) = acknowledgement {
                self.acknowledge(acknowledge, ctx);
            }
        }
    }

    fn acknowledge(&self, acknowledge: Acknowledge, ctx: &Context<Self>) {
        tracing::debug!(task_id = %acknowledge.task_id, agent_id = %acknowledge.agent_id, "Acknowledging status update");
        let call = Call {
            kind: CallType::ACKNOWLEDGE,
            acknowledge: Some(acknowledge),
            ..Call::default()
        };
        self.call(call, ctx);
    }

    fn lost_agent(&mut self, message: LostSlaveMessage, ctx: &mut Context<Self>) {
        tracing::info!(agent_id = %message.slave_id, "Agent lost");
        self.saved_agent_pids.remove(&message.slave_id);
        self.callback(ctx, |scheduler, driver| {
            scheduler.agent_lost(driver, message.slave_id)
        });
    }

    fn lost_executor(&mut self, message: ExitedExecutorMessage, ctx: &mut Context<Self>) {
        tracing::info!(
            executor_id = %message.executor_id,
            agent_id = %message.slave_id,
            status = message.status,
            "Executor lost"
        );
        self.callback(ctx, |scheduler, driver| {
            scheduler.executor_lost(
                driver,
                message.executor_id,
                message.slave_id,
                message.status,
            )
        });
    }

    fn framework_message(
        &mut self,
        _from: Pid,
        message: ExecutorToFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        self.callback(ctx, |scheduler, driver| {
            scheduler.framework_message(driver, message.executor_id, message.slave_id, message.data)
        });
    }

    /// The master refused the framework or gave it to another scheduler: the driver
    /// aborts, then tells the scheduler.
    fn error(&mut self, from: Pid, message: FrameworkErrorMessage, ctx: &mut Context<Self>) {
        tracing::warn!(%from, framework_id = %self.framework_id(), error = %message.message, "Got error");
        self.callback(ctx, |scheduler, driver| {
            crate::SchedulerDriver::abort(driver);
            scheduler.error(driver, message.message);
        });
    }

    /// Reports an error the driver found itself; it has already aborted.
    pub(crate) fn report_error(&mut self, message: String) {
        if let Some(shared) = self.driver.upgrade() {
            self.scheduler
                .error(&MesosSchedulerDriver::from_shared(shared), message);
        }
    }

    pub(crate) fn stop(&mut self, failover: bool, ctx: &mut Context<Self>) {
        tracing::info!(framework_id = %self.framework_id(), failover, "Stopping framework");
        if self.connected && !failover {
            self.call(
                Call {
                    kind: CallType::TEARDOWN,
                    ..Call::default()
                },
                ctx,
            );
        }
        ctx.terminate();
        self.latch();
    }

    /// Tells the master to stop offering to the framework, which keeps its tasks.
    /// The process stays, so that a later `stop` can still unregister.
    pub(crate) fn abort(&mut self, ctx: &mut Context<Self>) {
        tracing::info!(framework_id = %self.framework_id(), "Aborting framework");
        if let (true, Some(master)) = (self.connected, &self.master) {
            let deactivate = DeactivateFrameworkMessage {
                framework_id: self.framework_id(),
            };
            ctx.send(master, deactivate);
        }
        self.latch();
    }

    fn latch(&self) {
        if let Some(shared) = self.driver.upgrade() {
            MesosSchedulerDriver::from_shared(shared).latch();
        }
    }

    /// Whether a request can go to the master; logs when it cannot.
    fn can_send(&self, what: &str) -> bool {
        if !self.connected {
            tracing::debug!(
                request = what,
                "Ignoring a request: the master is disconnected"
            );
        }
        self.connected
    }

    pub(crate) fn request_resources(&mut self, requests: Vec<Request>, ctx: &mut Context<Self>) {
        if self.can_send("request resources") {
            let call = Call {
                kind: CallType::REQUEST,
                request: Some(Requests { requests }),
                ..Call::default()
            };
            self.call(call, ctx);
        }
    }

    /// ACCEPT. Without a master, every task to launch is answered locally with
    /// `TASK_LOST` (`TASK_DROPPED` for partition-aware frameworks), so the scheduler
    /// does not wait for it forever. Unknown offers are left to the master to refuse.
    pub(crate) fn accept_offers(
        &mut self,
        offer_ids: Vec<OfferId>,
        operations: Vec<OfferOperation>,
        filters: Filters,
        ctx: &mut Context<Self>,
    ) {
        if !self.connected {
            tracing::debug!("Dropping the launches of an accept: the master is disconnected");
            for task_id in launched_task_ids(&operations) {
                self.drop_task(task_id, ctx);
            }
            return;
        }
        for offer_id in &offer_ids {
            let Some(agents) = self.saved_offers.remove(offer_id) else {
                tracing::warn!(offer_id = %offer_id, "Attempting to accept an unknown offer");
                continue;
            };
            for task in launched_tasks(&operations) {
                match agents.get(&task.agent_id) {
                    Some(pid) => {
                        self.saved_agent_pids
                            .insert(task.agent_id.clone(), pid.clone());
                    }
                    None => tracing::warn!(
                        task_id = %task.task_id,
                        agent_id = %task.agent_id,
                        "Attempting to launch a task with the wrong agent id"
                    ),
                }
            }
        }
        let call = Call {
            kind: CallType::ACCEPT,
            accept: Some(Accept {
                offer_ids,
                operations,
                filters: Some(filters),
            }),
            ..Call::default()
        };
        self.call(call, ctx);
    }

    /// Tells the scheduler, from the driver itself, that a task was never sent.
    fn drop_task(&mut self, task_id: TaskId, ctx: &mut Context<Self>) {
        let state = if self
            .framework
            .has_capability(FrameworkCapabilityType::PARTITION_AWARE)
        {
            TaskState::TASK_DROPPED
        } else {
            TaskState::TASK_LOST
        };
        let status = TaskStatus {
            task_id,
            state,
            message: Some("Master disconnected".into()),
            source: Some(StatusSource::SOURCE_MASTER),
            reason: Some(StatusReason::REASON_MASTER_DISCONNECTED),
            timestamp: Some(now()),
            ..TaskStatus::default()
        };
        tracing::info!(task_id = %status.task_id, state = %status.state, "Task not launched: the master is disconnected");
        self.callback(ctx, |scheduler, driver| {
            scheduler.status_update(driver, status)
        });
    }

    pub(crate) fn decline_offer(
        &mut self,
        offer_id: OfferId,
        filters: Filters,
        ctx: &mut Context<Self>,
    ) {
        if !self.can_send("decline offer") {
            return;
        }
        if self.saved_offers.remove(&offer_id).is_none() {
            tracing::warn!(offer_id = %offer_id, "Attempting to decline an unknown offer");
        }
        let call = Call {
            kind: CallType::DECLINE,
            decline: Some(Decline {
                offer_ids: vec![offer_id],
                filters: Some(filters),
            }),
            ..Call::default()
        };
        self.call(call, ctx);
    }

    pub(crate) fn revive_offers(&mut self, ctx: &mut Context<Self>) {
        if self.can_send("revive offers") {
            let call = Call {
                kind: CallType::REVIVE,
                ..Call::default()
            };
            self.call(call, ctx);
        }
    }

    pub(crate) fn suppress_offers(&mut self, ctx: &mut Context<Self>) {
        if self.can_send("suppress offers") {
            let call = Call {
                kind: CallType::SUPPRESS,
                ..Call::default()
            };
            self.call(call, ctx);
        }
    }

    pub(crate) fn kill_task(&mut self, task_id: TaskId, ctx: &mut Context<Self>) {
        if self.can_send("kill task") {
            tracing::info!(task_id = %task_id, "Killing task");
            let call = Call {
                kind: CallType::KILL,
                kill: Some(Kill {
                    task_id,
                    agent_id: None,
                    kill_policy: None,
                }),
                ..Call::default()
            };
            self.call(call, ctx);
        }
    }

    /// An explicit acknowledgement. Not checked against `running`: acknowledgements
    /// asked for before a stop or abort still go out, as in Mesos.
    pub(crate) fn acknowledge_status_update(
        &mut self,
        status: TaskStatus,
        ctx: &mut Context<Self>,
    ) {
        if !self.can_send("acknowledge status update") {
            return;
        }
        match (status.uuid, status.agent_id) {
            (Some(uuid), Some(agent_id)) => self.acknowledge(
                Acknowledge {
                    agent_id,
                    task_id: status.task_id,
                    uuid,
                },
                ctx,
            ),
            _ => {
                tracing::debug!(task_id = %status.task_id, "No acknowledgement needed for an update without uuid or agent")
            }
        }
    }

    pub(crate) fn send_framework_message(
        &mut self,
        executor_id: ExecutorId,
        agent_id: AgentId,
        data: Vec<u8>,
        ctx: &mut Context<Self>,
    ) {
        if !self.can_send("send framework message") {
            return;
        }
        match self.saved_agent_pids.get(&agent_id) {
            Some(agent) => {
                let message = FrameworkToExecutorMessage {
                    slave_id: agent_id,
                    framework_id: self.framework_id(),
                    executor_id,
                    data,
                };
                ctx.send(agent, message);
            }
            None => {
                tracing::debug!(agent_id = %agent_id, "Agent pid unknown; sending the message through the master");
                let call = Call {
                    kind: CallType::MESSAGE,
                    message: Some(FrameworkMessage {
                        agent_id,
                        executor_id,
                        data,
                    }),
                    ..Call::default()
                };
                self.call(call, ctx);
            }
        }
    }

    pub(crate) fn reconcile_tasks(&mut self, statuses: Vec<TaskStatus>, ctx: &mut Context<Self>) {
        if self.can_send("reconcile tasks") {
            let tasks = statuses
                .into_iter()
                .map(|status| ReconcileTask {
                    task_id: status.task_id,
                    agent_id: status.agent_id,
                })
                .collect();
            let call = Call {
                kind: CallType::RECONCILE,
                reconcile: Some(Reconcile { tasks }),
                ..Call::default()
            };
            self.call(call, ctx);
        }
    }
}

/// The bound of the next registration wait: at most a minute, and at most a tenth of
/// a positive failover timeout. (Mesos also applies the tenth to a zero timeout, which
/// makes its driver resend SUBSCRIBE without pause; a zero timeout is left out here.)
fn registration_backoff_bound(max_backoff: Duration, framework: &FrameworkInfo) -> Duration {
    let bound = max_backoff.min(REGISTRATION_RETRY_INTERVAL_MAX);
    match framework
        .failover_timeout
        .filter(|seconds| *seconds > 0.0)
        .and_then(|seconds| Duration::try_from_secs_f64(seconds / 10.0).ok())
    {
        Some(tenth) => bound.min(tenth),
        None => bound,
    }
}

fn launched_tasks(
    operations: &[OfferOperation],
) -> impl Iterator<Item = &mesos_proto::mesos::TaskInfo> {
    operations
        .iter()
        .filter(|operation| operation.kind == OperationType::LAUNCH)
        .filter_map(|operation| operation.launch.as_ref())
        .flat_map(|launch| &launch.task_infos)
}

fn launched_task_ids(operations: &[OfferOperation]) -> Vec<TaskId> {
    launched_tasks(operations)
        .map(|task| task.task_id.clone())
        .collect()
}

/// Seconds since the Unix epoch, as status updates carry them.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs_f64())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registration_backoff_is_bounded_by_a_minute_and_the_failover_timeout() {
        let mut framework = FrameworkInfo::default();
        let bound = |max, framework: &FrameworkInfo| registration_backoff_bound(max, framework);
        assert_eq!(
            bound(Duration::from_secs(2), &framework),
            Duration::from_secs(2)
        );
        assert_eq!(
            bound(Duration::from_secs(128), &framework),
            Duration::from_secs(60)
        );
        framework.failover_timeout = Some(50.0);
        assert_eq!(
            bound(Duration::from_secs(8), &framework),
            Duration::from_secs(5)
        );
        framework.failover_timeout = Some(0.0);
        assert_eq!(
            bound(Duration::from_secs(8), &framework),
            Duration::from_secs(8)
        );
        framework.failover_timeout = Some(f64::NAN);
        assert_eq!(
            bound(Duration::from_secs(8), &framework),
            Duration::from_secs(8)
        );
        framework.failover_timeout = Some(1e300);
        assert_eq!(
            bound(Duration::from_secs(8), &framework),
            Duration::from_secs(8)
        );
    }

    #[test]
    fn only_launch_operations_name_tasks() {
        let task = |id: &str| mesos_proto::mesos::TaskInfo {
            task_id: id.into(),
            ..Default::default()
        };
        let operations = vec![
            OfferOperation {
                kind: OperationType::LAUNCH,
                launch: Some(mesos_proto::mesos::Launch {
                    task_infos: vec![task("a"), task("b")],
                }),
                launch_group: None,
            },
            OfferOperation {
                kind: OperationType::RESERVE,
                launch: Some(mesos_proto::mesos::Launch {
                    task_infos: vec![task("not launched")],
                }),
                launch_group: None,
            },
        ];
        assert_eq!(
            launched_task_ids(&operations),
            [TaskId::from("a"), TaskId::from("b")]
        );
    }
}
