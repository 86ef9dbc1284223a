//! The `Agent` actor (Mesos's `slave(1)`): registers with the master and stays
//! registered. This part covers registration and the master connection:
//!
//! - the master is whoever the `--master` detector names (a fixed address, or the
//!   leader ZooKeeper elects); the agent follows every change of leader;
//! - to the master: `RegisterSlaveMessage` (no id yet) or `ReregisterSlaveMessage`,
//!   first after a random wait up to `--registration_backoff_factor` (so that the
//!   agents of a cluster, which all detect a new leader at once, do not all arrive
//!   at once), then retried after random waits up to twice that, doubling to a
//!   minute, until the master answers;
//! - from the master: `SlaveRegisteredMessage`, `SlaveReregisteredMessage`,
//!   `PingSlaveMessage` (answered with `PongSlaveMessage`), `ShutdownMessage`;
//! - the master is lost when its connection breaks (`exited`) or its pings stop for
//!   the total ping timeout it announced; then the agent registers again.
//!
//! Tasks and executors are in `tasks`, `executor` and `termination`; what is
//! checkpointed while running in `checkpoint`; recovery after a restart in `recovery`.

use std::time::{Duration, SystemTime};

use libproc::{Context, Pid, Process, RemoteConnection, Timer};
use mesos_detector::MasterDetector;
use mesos_proto::mesos::{AgentCapability, AgentCapabilityType, AgentInfo};
use mesos_proto::messages::{
    PingSlaveMessage, PongSlaveMessage, RegisterSlaveMessage, ReregisterSlaveMessage,
    ShutdownMessage, SlaveRegisteredMessage, SlaveReregisteredMessage, UpdateFrameworkMessage,
};
use mesos_proto::{AgentId, FrameworkId};

use crate::containerizer::Containerizer;
use crate::files::Files;
use crate::flags::Flags;
use crate::gc::GarbageCollector;
use crate::metrics::{Metrics, Snapshot};
use crate::status_update_manager::StatusUpdateManager;

mod api;
mod api_executor;
mod api_operator;
mod checkpoint;
mod containers;
mod executor;
mod framework_messages;
mod http;
mod recovery;
mod tasks;
mod termination;

pub use recovery::Recovered;

/// How often the gauges are refreshed.
const METRICS_REFRESH_INTERVAL: Duration = Duration::from_secs(1);
/// The longest wait between registration attempts.
const MAX_REGISTRATION_BACKOFF: Duration = Duration::from_secs(60);
/// How long the master may go without pinging before it counts as lost, until it
/// says otherwise at registration (Mesos's 15 s × 5).
const DEFAULT_MASTER_PING_TIMEOUT: Duration = Duration::from_secs(75);

/// Where the agent stands with its master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Rebuilding from checkpoints and waiting for executors to reconnect; the agent
    /// registers once this is over.
    Recovering,
    /// No master connection: waiting to register.
    Disconnected,
    /// Registration sent, no answer yet.
    Registering,
    /// Registered, and the master pings.
    Running,
    /// Shutting down its executors, then stopping.
    Terminating,
}

/// What an agent works with besides its own state.
#[derive(Debug)]
pub struct Services {
    /// Launches, limits and destroys executors' containers.
    pub containerizer: Containerizer,
    /// Serves sandboxes at `/files/...`, shared by the agents of a runtime.
    pub files: std::sync::Arc<Files>,
    /// Removes finished sandboxes after `--gc_delay`.
    pub gc: GarbageCollector,
}

/// The agent.
#[derive(Debug)]
pub struct Agent {
    flags: Flags,
    info: AgentInfo,
    detector: MasterDetector,
    /// The leading master, once detected.
    master: Option<Pid>,
    state: State,
    backoff: Duration,
    /// The next registration attempt, while registering.
    registration_timer: Option<Timer>,
    master_ping_timeout: Duration,
    ping_timer: Option<Timer>,
    start_time: SystemTime,
    executors: std::collections::HashMap<executor::ExecutorKey, executor::Executor>,
    /// Ended executors per framework, newest last, for `/state`.
    completed_executors: std::collections::HashMap<
        FrameworkId,
        std::collections::VecDeque<(executor::ExecutorKey, executor::Executor)>,
    >,
    /// Frameworks being shut down: their executors' final updates are not sent.
    terminating_frameworks: std::collections::HashSet<FrameworkId>,
    manager: Option<libproc::Addr<StatusUpdateManager>>,
    /// What `start` recovered, until `initialize` adopts it.
    recovered: Option<Recovered>,
    recovery_errors: u32,
    metrics: Metrics,
    containerizer: Containerizer,
    /// Containers being destroyed: a stopping agent waits for them.
    destroying: usize,
    files: std::sync::Arc<Files>,
    gc: GarbageCollector,
}

impl Agent {
    /// An agent that will register `info` with `master`, after adopting what was
    /// `recovered` from its work dir.
    pub fn new(
        flags: Flags,
        info: AgentInfo,
        detector: MasterDetector,
        recovered: Option<Recovered>,
        services: Services,
    ) -> Self {
        Agent {
            backoff: flags.registration_backoff_factor * 2,
            flags,
            info,
            detector,
            master: None,
            state: State::Recovering,
            registration_timer: None,
            master_ping_timeout: DEFAULT_MASTER_PING_TIMEOUT,
            ping_timer: None,
            start_time: SystemTime::now(),
            executors: std::collections::HashMap::new(),
            completed_executors: std::collections::HashMap::new(),
            terminating_frameworks: std::collections::HashSet::new(),
            manager: None,
            recovery_errors: recovered.as_ref().map_or(0, |r| r.state.errors),
            recovered,
            metrics: Metrics,
            containerizer: services.containerizer,
            destroying: 0,
            files: services.files,
            gc: services.gc,
        }
    }

    /// The agent's id, empty until it has one.
    fn agent_id(&self) -> AgentId {
        self.info.id.clone().unwrap_or_default()
    }

    /// Asks the detector for the leading master once it differs from the one the
    /// agent knows; the answer comes to `master_detected`.
    fn detect(&mut self, ctx: &mut Context<Self>) {
        let detection = self.detector.detect(self.master.as_ref());
        ctx.defer(detection, |agent: &mut Agent, leader, ctx| {
            agent.master_detected(leader, ctx)
        });
    }

    /// A new leading master (or none): the agent registers with it, unless it is
    /// still recovering or stopping, and keeps following the detector.
    fn master_detected(&mut self, leader: Option<Pid>, ctx: &mut Context<Self>) {
        if leader != self.master {
            match &leader {
                Some(master) => tracing::info!(%master, "New master detected"),
                None => tracing::warn!("No master is elected; waiting for one"),
            }
            self.master = leader;
            self.backoff = self.flags.registration_backoff_factor * 2;
            if matches!(self.state, State::Registering | State::Running) {
                self.disconnect();
                self.state = State::Disconnected;
            }
            if self.state == State::Disconnected {
                self.register_with_master(ctx);
            }
        }
        self.detect(ctx);
    }

    /// Starts registering with the detected master, over a fresh connection.
    fn register_with_master(&mut self, ctx: &mut Context<Self>) {
        if self.state != State::Disconnected {
            return;
        }
        let Some(master) = self.master.clone() else {
            return;
        };
        tracing::info!(%master, "Registering with the master");
        ctx.link_with(&master, RemoteConnection::Reconnect);
        self.state = State::Registering;
        let first = self
            .flags
            .registration_backoff_factor
            .mul_f64(fastrand::f64());
        self.schedule_registration(first, ctx);
    }

    /// The next registration attempt in `wait`, replacing any scheduled one.
    fn schedule_registration(&mut self, wait: Duration, ctx: &mut Context<Self>) {
        if let Some(timer) = self
            .registration_timer
            .replace(ctx.delay(wait, Agent::register))
        {
            timer.cancel();
        }
    }

    /// Sends `message` to the master, if one is known.
    fn send_to_master<M: libproc::Message>(&self, message: M, ctx: &mut Context<Self>) {
        if let Some(master) = &self.master {
            ctx.send(master, message);
        }
    }

    /// The next wait before trying the master again: random up to the backoff, which
    /// doubles up to a minute, and starts again at twice the backoff factor once
    /// registered or when another master is detected.
    fn next_wait(&mut self) -> Duration {
        let wait = self.backoff.mul_f64(fastrand::f64());
        self.backoff = (self.backoff * 2).min(MAX_REGISTRATION_BACKOFF);
        wait
    }

    /// Sends the registration, and schedules the next attempt.
    fn register(&mut self, ctx: &mut Context<Self>) {
        if self.state != State::Registering {
            return;
        }
        let capabilities = all_capabilities();
        match self.info.id {
            None => self.send_to_master(
                RegisterSlaveMessage {
                    slave: self.info.clone(),
                    version: mesos_proto::MESOS_VERSION.to_owned(),
                    agent_capabilities: capabilities,
                    ..Default::default()
                },
                ctx,
            ),
            Some(_) => {
                let report = self.report();
                let reregister = ReregisterSlaveMessage {
                    slave: self.info.clone(),
                    version: mesos_proto::MESOS_VERSION.to_owned(),
                    agent_capabilities: capabilities,
                    tasks: report.tasks,
                    executor_infos: report.executors,
                    frameworks: report.frameworks,
                    ..Default::default()
                };
                self.send_to_master(reregister, ctx)
            }
        }
        let wait = self.next_wait();
        self.schedule_registration(wait, ctx);
    }

    fn is_master(&self, from: &Pid) -> bool {
        if self.master.as_ref().is_some_and(|m| m.addr == from.addr) {
            return true;
        }
        tracing::warn!(%from, master = ?self.master, "Ignoring a message that is not from the master");
        false
    }

    /// SlaveRegisteredMessage: the master admitted the agent and gave it its id.
    fn registered(&mut self, from: Pid, message: SlaveRegisteredMessage, ctx: &mut Context<Self>) {
        if !self.is_master(&from) {
            return;
        }
        if let Some(id) = &self.info.id {
            if id != &message.slave_id {
                return tracing::error!(ours = %id, theirs = %message.slave_id, "The master gave another agent id; ignoring it");
            }
        }
        tracing::info!(agent_id = %message.slave_id, "Registered with the master");
        self.info.id = Some(message.slave_id);
        self.checkpoint_agent();
        self.connected(
            message
                .connection
                .and_then(|c| c.total_ping_timeout_seconds),
            ctx,
        );
    }

    /// SlaveReregisteredMessage: the master re-admitted the agent.
    fn reregistered(
        &mut self,
        from: Pid,
        message: SlaveReregisteredMessage,
        ctx: &mut Context<Self>,
    ) {
        if !self.is_master(&from) {
            return;
        }
        tracing::info!(agent_id = %message.slave_id, "Re-registered with the master");
        self.connected(
            message
                .connection
                .and_then(|c| c.total_ping_timeout_seconds),
            ctx,
        );
    }

    fn connected(&mut self, total_ping_timeout: Option<f64>, ctx: &mut Context<Self>) {
        self.state = State::Running;
        if let Some(manager) = &self.manager {
            drop(libproc::dispatch(manager, |manager, ctx| {
                manager.resume(ctx)
            }));
        }
        self.backoff = self.flags.registration_backoff_factor * 2;
        if let Some(seconds) = total_ping_timeout.filter(|s| s.is_finite() && *s > 0.0) {
            self.master_ping_timeout = Duration::from_secs_f64(seconds.min(1e9));
        }
        self.arm_ping_timer(ctx);
    }

    fn arm_ping_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.ping_timer.take() {
            timer.cancel();
        }
        self.ping_timer = Some(ctx.delay(self.master_ping_timeout, Agent::ping_timeout));
    }

    /// PingSlaveMessage, from the master's health checker: answered at once. A master
    /// that no longer counts the agent as connected gets a re-registration.
    fn ping(&mut self, from: Pid, message: PingSlaveMessage, ctx: &mut Context<Self>) {
        if !self.is_master(&from) {
            return;
        }
        ctx.send(&from, PongSlaveMessage {});
        if self.state == State::Running {
            self.arm_ping_timer(ctx);
            if !message.connected {
                tracing::info!("The master counts this agent as disconnected; registering again");
                self.state = State::Disconnected;
                self.register_with_master(ctx);
            }
        }
    }

    fn ping_timeout(&mut self, ctx: &mut Context<Self>) {
        if self.state == State::Running {
            tracing::warn!(timeout = ?self.master_ping_timeout, "No ping from the master; registering again");
            self.lost_master(ctx);
        }
    }

    /// The master is gone for now: after a backoff, the agent tries it again (the
    /// wait keeps a master that refuses connections from being hammered).
    fn lost_master(&mut self, ctx: &mut Context<Self>) {
        if matches!(
            self.state,
            State::Disconnected | State::Terminating | State::Recovering
        ) {
            return;
        }
        self.disconnect();
        self.state = State::Disconnected;
        let wait = self.next_wait();
        ctx.delay(wait, Agent::register_with_master);
    }

    /// Stops what runs only while registered: the ping watch, status update sending.
    fn disconnect(&mut self) {
        for timer in [self.ping_timer.take(), self.registration_timer.take()]
            .into_iter()
            .flatten()
        {
            timer.cancel();
        }
        if let Some(manager) = &self.manager {
            drop(libproc::dispatch(manager, |manager, _| manager.pause()));
        }
    }

    /// ShutdownMessage: the master refuses or removed this agent; it shuts its
    /// executors down and stops.
    fn shutdown(&mut self, from: Pid, message: ShutdownMessage, ctx: &mut Context<Self>) {
        if !self.is_master(&from) {
            return;
        }
        tracing::warn!(
            reason = message.message.as_deref().unwrap_or(""),
            "The master asked this agent to shut down"
        );
        self.shut_down(ctx);
    }

    /// Shuts every executor down (gracefully, then destroyed after the grace period)
    /// and stops the agent once they and their containers are gone. What the master's
    /// `ShutdownMessage` asks; `mesos-local` asks it of its agents when it stops.
    pub fn shut_down(&mut self, ctx: &mut Context<Self>) {
        self.state = State::Terminating;
        for key in self.executor_keys(|_| true) {
            self.shutdown_executor(&key, ctx);
        }
        self.terminate_when_idle(ctx);
    }

    /// UpdateFrameworkMessage: a framework failed over to a new scheduler, or changed
    /// its description; its executors' records and checkpoints follow.
    fn update_framework(
        &mut self,
        from: Pid,
        message: UpdateFrameworkMessage,
        _ctx: &mut Context<Self>,
    ) {
        if !self.is_master(&from) {
            return;
        }
        let framework_id = message.framework_id;
        tracing::info!(%framework_id, pid = message.pid.as_deref().unwrap_or(""), "Updating framework");
        for key in self.executor_keys(|key| key.0 == framework_id) {
            let Some(executor) = self.executors.get_mut(&key) else {
                continue;
            };
            executor.framework_pid = message.pid.clone().filter(|pid| !pid.is_empty());
            if let Some(info) = &message.framework_info {
                executor.framework = info.clone();
            }
            if let Some(executor) = self.executors.get(&key) {
                if let Err(error) = self.checkpoint_executor(&key, executor) {
                    tracing::error!(%framework_id, %error, "Could not checkpoint the updated framework");
                }
            }
        }
    }

    /// Sets the `slave/*` gauges from the agent's state, and again in a second.
    fn refresh_metrics(&mut self, ctx: &mut Context<Self>) {
        let mut snapshot = Snapshot {
            registered: self.state == State::Running,
            uptime_secs: self.start_time.elapsed().unwrap_or_default().as_secs_f64(),
            total: self.info.resources.clone(),
            recovery_errors: self.recovery_errors,
            ..Snapshot::default()
        };
        let mut frameworks = std::collections::HashSet::new();
        let mut tasks: std::collections::HashMap<mesos_proto::mesos::TaskState, usize> =
            std::collections::HashMap::new();
        for ((framework_id, _), executor) in &self.executors {
            frameworks.insert(framework_id);
            match executor.state {
                executor::ExecutorState::Registering | executor::ExecutorState::Reconnecting => {
                    snapshot.executors_registering += 1
                }
                executor::ExecutorState::Running => snapshot.executors_running += 1,
                executor::ExecutorState::Terminating => snapshot.executors_terminating += 1,
            }
            snapshot.used += &executor.info.resources;
            for (task, state) in executor.launched.values() {
                *tasks.entry(*state).or_default() += 1;
                if !state.is_terminal() {
                    snapshot.used += &task.resources;
                }
            }
            for task in &executor.queued {
                *tasks
                    .entry(mesos_proto::mesos::TaskState::TASK_STAGING)
                    .or_default() += 1;
                snapshot.used += &task.resources;
            }
        }
        snapshot.frameworks_active = frameworks.len();
        snapshot.tasks = tasks.into_iter().collect();
        crate::metrics::publish(&snapshot);
        ctx.delay(METRICS_REFRESH_INTERVAL, Agent::refresh_metrics);
    }

    /// The agent's state with its master, for tests and endpoints.
    pub fn state(&self) -> State {
        self.state
    }
}

/// What this agent can handle: every capability Mesos's agents advertise.
fn all_capabilities() -> Vec<AgentCapability> {
    [
        AgentCapabilityType::MULTI_ROLE,
        AgentCapabilityType::HIERARCHICAL_ROLE,
        AgentCapabilityType::RESERVATION_REFINEMENT,
    ]
    .into_iter()
    .map(|kind| AgentCapability { kind })
    .collect()
}

impl Process for Agent {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // From the master.
        ctx.install(Agent::registered);
        ctx.install(Agent::reregistered);
        ctx.install(Agent::ping);
        ctx.install(Agent::shutdown);
        ctx.install(Agent::run_task);
        ctx.install(Agent::kill_task);
        ctx.install(Agent::acknowledgement);
        ctx.install(Agent::shutdown_framework);
        ctx.install(Agent::shutdown_executor_message);
        ctx.install(Agent::update_framework);
        ctx.install(Agent::framework_to_executor);
        // From executors.
        ctx.install(Agent::register_executor);
        ctx.install(Agent::reregister_executor);
        ctx.install(Agent::status_update);
        ctx.install(Agent::executor_to_framework);
        self.manager = tasks::start_manager(ctx.addr());

        Agent::route_endpoints(ctx);
        self.refresh_metrics(ctx);
        self.detect(ctx);
        match self.recovered.take() {
            Some(recovered) => self.recover(recovered, ctx),
            None => self.recovered(ctx),
        }
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Context<Self>) {
        if self.master.as_ref().is_some_and(|m| m.addr == pid.addr) {
            tracing::warn!(master = %pid, "Lost the connection to the master");
            self.lost_master(ctx);
        }
    }
}
