//! The `Master` actor: the state of the cluster as the master sees it, and the table
//! of every message and route it serves. Handlers live in child modules by protocol
//! area, so that they can see the master's private fields:
//!
//! - `frameworks`: subscribe, re-subscribe, teardown, deactivate, failover timeout.
//! - `agents`: register, re-register, unregister, disconnect, unreachable, recovery.
//! - `offers`: allocations become offers; accept (launch), decline, revive, suppress,
//!   rescind, offer timeout.
//! - `tasks`: status updates and acknowledgements, kill, reconciliation, messages
//!   between frameworks and executors.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, SystemTime};

use libproc::{Context, Message, Pid, Process, Timer};
use mesos_proto::mesos::{MasterInfo, Offer};
use mesos_proto::messages::*;
use mesos_proto::scheduler::Call;
use mesos_proto::{AgentId, FrameworkId, OfferId};

use crate::agent::Agent;
use crate::allocator::Allocator;
use crate::flags::Flags;
use crate::framework::{Connection, Framework, HttpConnection};
use crate::http::api::scheduler::SchedulerEvent;
use crate::metrics::Metrics;
use crate::registrar::Registrar;
pub use election::exit_reason;

mod agents;
mod election;
mod frameworks;
mod offers;
mod tasks;

/// The master. One per cluster leads: without `--zk` this one, from its start; with
/// `--zk` the one elected in ZooKeeper (see `election`).
#[derive(Debug)]
pub struct Master {
    pub(crate) flags: Flags,
    pub(crate) info: MasterInfo,
    pub(crate) allocator: Allocator,
    pub(crate) registrar: Registrar,
    /// Whether this master leads, and whom to redirect to when it does not.
    pub(crate) election: election::Election,
    /// False until the registry is read (which only a leader does): until then
    /// messages are dropped, as Mesos does.
    pub(crate) recovered: bool,
    pub(crate) frameworks: HashMap<FrameworkId, Framework>,
    pub(crate) completed_frameworks: VecDeque<Framework>,
    pub(crate) agents: HashMap<AgentId, Agent>,
    /// Each registered agent's id by its pid, for messages that carry only a pid.
    pub(crate) agent_ids: HashMap<Pid, AgentId>,
    /// Agents in the registry that have not re-registered since this master started.
    pub(crate) recovered_agents: HashMap<AgentId, mesos_proto::mesos::AgentInfo>,
    /// Agents marked unreachable, with when.
    pub(crate) unreachable_agents: HashMap<AgentId, mesos_proto::mesos::TimeInfo>,
    /// Agent pids whose admission is being written to the registry.
    pub(crate) admitting: HashSet<Pid>,
    pub(crate) offers: HashMap<OfferId, Offer>,
    pub(crate) offer_timers: HashMap<OfferId, Timer>,
    pub(crate) next_framework_id: u64,
    pub(crate) next_agent_id: u64,
    pub(crate) next_offer_id: u64,
    pub(crate) start_time: SystemTime,
    pub(crate) metrics: Metrics,
    /// Operator API SUBSCRIBE streams, by stream id.
    pub(crate) operator_streams: HashMap<String, HttpConnection>,
}

impl Master {
    /// A master with its flags, identity, allocator and registrar.
    pub fn new(flags: Flags, info: MasterInfo, allocator: Allocator, registrar: Registrar) -> Self {
        // Set again once the registry is read; until then, nothing is served.
        crate::metrics::set("registrar/log/recovered", 0.0);
        Master {
            flags,
            info,
            allocator,
            registrar,
            election: election::Election::default(),
            recovered: false,
            frameworks: HashMap::new(),
            completed_frameworks: VecDeque::new(),
            agents: HashMap::new(),
            agent_ids: HashMap::new(),
            recovered_agents: HashMap::new(),
            unreachable_agents: HashMap::new(),
            admitting: HashSet::new(),
            offers: HashMap::new(),
            offer_timers: HashMap::new(),
            next_framework_id: 0,
            next_agent_id: 0,
            next_offer_id: 0,
            start_time: SystemTime::now(),
            metrics: Metrics::default(),
            operator_streams: HashMap::new(),
        }
    }

    /// The master's identity.
    pub fn info(&self) -> &MasterInfo {
        &self.info
    }

    /// Installs `handler` for `M`, the message counted under `master/messages_*`. It
    /// only runs for messages `accepts_message` let through.
    fn serve<M, F>(ctx: &mut Context<Self>, handler: F)
    where
        M: Message,
        F: Fn(&mut Master, Pid, M, &mut Context<Master>) + Send + Sync + 'static,
    {
        ctx.install(
            move |master: &mut Master, from: Pid, message: M, ctx: &mut Context<Master>| {
                master.metrics.message(M::NAME);
                handler(master, from, message, ctx);
            },
        );
    }

    pub(crate) fn new_framework_id(&mut self) -> FrameworkId {
        let id = format!("{}-{:04}", self.info.id, self.next_framework_id);
        self.next_framework_id += 1;
        FrameworkId::from(id)
    }

    pub(crate) fn new_agent_id(&mut self) -> AgentId {
        let id = format!("{}-S{}", self.info.id, self.next_agent_id);
        self.next_agent_id += 1;
        AgentId::from(id)
    }

    pub(crate) fn new_offer_id(&mut self) -> OfferId {
        let id = format!("{}-O{}", self.info.id, self.next_offer_id);
        self.next_offer_id += 1;
        OfferId::from(id)
    }

    /// Seconds since the epoch, for status update timestamps.
    pub(crate) fn now_secs() -> f64 {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64()
    }

    /// Sends a message to a framework's scheduler, if it is connected: to a driver as
    /// the message, to an HTTP scheduler as its v1 event.
    pub(crate) fn send_to_framework<M: SchedulerEvent>(
        &self,
        framework_id: &FrameworkId,
        message: M,
        ctx: &Context<Self>,
    ) {
        let Some(framework) = self.frameworks.get(framework_id) else {
            return;
        };
        match (&framework.connection, framework.is_connected()) {
            (Some(connection), true) => send_to_connection(connection, message, ctx),
            _ => {
                tracing::debug!(framework_id = %framework_id, name = M::NAME, "Not sending to a disconnected framework")
            }
        }
    }
}

impl Process for Master {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // From schedulers.
        Self::serve(ctx, Master::scheduler_call);
        Self::serve(ctx, Master::register_framework);
        Self::serve(ctx, Master::reregister_framework);
        Self::serve(ctx, Master::unregister_framework);
        Self::serve(ctx, Master::deactivate_framework);
        Self::serve(ctx, Master::resource_request);
        Self::serve(ctx, Master::launch_tasks);
        Self::serve(ctx, Master::revive_offers);
        Self::serve(ctx, Master::kill_task);
        Self::serve(ctx, Master::status_update_acknowledgement);
        Self::serve(ctx, Master::reconcile_tasks);
        Self::serve(ctx, Master::framework_to_executor);

        // From agents.
        Self::serve(ctx, Master::register_agent);
        Self::serve(ctx, Master::reregister_agent);
        Self::serve(ctx, Master::unregister_agent);
        Self::serve(ctx, Master::status_update);
        Self::serve(ctx, Master::exited_executor);
        Self::serve(ctx, Master::executor_to_framework);

        crate::http::routes(ctx);
        self.allocator.initialize(ctx.addr());
        self.start_election(ctx);
        self.refresh_metrics(ctx);
    }

    fn finalize(&mut self, _ctx: &mut Context<Self>) {
        tracing::info!(id = %self.info.id, "Master stopping");
        self.allocator.stop();
    }

    /// Every message waits for this master to lead and to have recovered the
    /// registry; until then it is dropped before it is decoded, as Mesos drops it.
    fn accepts_message(&mut self, from: &Pid, name: &str) -> bool {
        if !self.is_leading() {
            tracing::debug!(%from, name, "Dropping message: this master does not lead");
        } else if !self.recovered {
            tracing::debug!(%from, name, "Dropping message: the registry is not recovered yet");
        } else {
            return true;
        }
        self.metrics.dropped_message();
        false
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Context<Self>) {
        if let Some(framework_id) = self.framework_by_pid(pid) {
            self.framework_disconnected(&framework_id, ctx);
        }
        if let Some(agent_id) = self.agent_by_pid(pid) {
            self.agent_disconnected(&agent_id, ctx);
        }
    }
}

/// Sends a message to a scheduler through `connection`. An HTTP stream that cannot
/// take the event (the client is gone or too slow) is closed, after this event, as
/// its client closing it would be: the framework is disconnected.
pub(crate) fn send_to_connection<M: SchedulerEvent>(
    connection: &Connection,
    message: M,
    ctx: &Context<Master>,
) {
    match connection {
        Connection::Pid(pid) => ctx.send(pid, message),
        Connection::Http(http) => {
            let record = mesos_proto::v1::recordio::record(&message.event());
            if let Err(error) = http.write(record) {
                let stream_id = http.stream_id().to_owned();
                tracing::warn!(%error, stream_id, name = M::NAME, "Closing a scheduler's event stream");
                ctx.defer(
                    std::future::ready(()),
                    move |master: &mut Master, (), ctx| master.http_stream_closed(&stream_id, ctx),
                );
            }
        }
    }
}

/// A call of `kind` from `framework_id`, for turning a legacy message into a `Call`.
pub(crate) fn legacy(framework_id: FrameworkId, kind: mesos_proto::scheduler::CallType) -> Call {
    Call {
        framework_id: Some(framework_id),
        kind,
        ..Call::default()
    }
}

/// How often the gauges under `/metrics/snapshot` are recomputed from the state.
const METRICS_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

impl Master {
    /// Sets the gauges from the state (Mesos computes them on request; libproc serves
    /// the snapshot without asking the master, so they are kept fresh instead).
    fn refresh_metrics(&mut self, ctx: &mut Context<Self>) {
        use crate::framework::FrameworkState;
        use crate::metrics::set;
        use mesos_proto::mesos::TaskState;
        set("master/elected", if self.is_leading() { 1.0 } else { 0.0 });
        set(
            "master/uptime_secs",
            self.start_time.elapsed().unwrap_or_default().as_secs_f64(),
        );
        let frameworks = || self.frameworks.values();
        set(
            "master/frameworks_active",
            frameworks()
                .filter(|f| f.state == FrameworkState::Active)
                .count() as f64,
        );
        set(
            "master/frameworks_inactive",
            frameworks()
                .filter(|f| f.state == FrameworkState::Inactive)
                .count() as f64,
        );
        set(
            "master/frameworks_connected",
            frameworks().filter(|f| f.is_connected()).count() as f64,
        );
        set(
            "master/frameworks_disconnected",
            frameworks().filter(|f| !f.is_connected()).count() as f64,
        );
        let agents = || self.agents.values();
        set(
            "master/slaves_active",
            agents().filter(|a| a.active).count() as f64,
        );
        set(
            "master/slaves_inactive",
            agents().filter(|a| !a.active).count() as f64,
        );
        set(
            "master/slaves_connected",
            agents().filter(|a| a.connected).count() as f64,
        );
        set(
            "master/slaves_disconnected",
            agents().filter(|a| !a.connected).count() as f64,
        );
        set(
            "master/slaves_unreachable",
            self.unreachable_agents.len() as f64,
        );
        set("master/outstanding_offers", self.offers.len() as f64);
        let mut counts: HashMap<TaskState, usize> = HashMap::new();
        for framework in self.frameworks.values() {
            for (state, count) in framework.task_counts() {
                *counts.entry(state).or_default() += count;
            }
        }
        for (key, state) in [
            ("master/tasks_staging", TaskState::TASK_STAGING),
            ("master/tasks_starting", TaskState::TASK_STARTING),
            ("master/tasks_running", TaskState::TASK_RUNNING),
            ("master/tasks_killing", TaskState::TASK_KILLING),
            ("master/tasks_unreachable", TaskState::TASK_UNREACHABLE),
        ] {
            set(key, counts.get(&state).copied().unwrap_or(0) as f64);
        }
        self.refresh_resource_metrics();
        ctx.delay(METRICS_REFRESH_INTERVAL, Master::refresh_metrics);
    }

    /// `master/<resource>_{total,used,percent}` for cpus, gpus, mem and disk.
    fn refresh_resource_metrics(&self) {
        use crate::metrics::set;
        let mut total = mesos_proto::Resources::default();
        let mut used = mesos_proto::Resources::default();
        for agent in self.agents.values().filter(|a| a.active) {
            total += agent.total();
            for resources in agent.used_resources().values() {
                used += resources;
            }
        }
        let keys = [
            (
                "cpus",
                "master/cpus_total",
                "master/cpus_used",
                "master/cpus_percent",
            ),
            (
                "gpus",
                "master/gpus_total",
                "master/gpus_used",
                "master/gpus_percent",
            ),
            (
                "mem",
                "master/mem_total",
                "master/mem_used",
                "master/mem_percent",
            ),
            (
                "disk",
                "master/disk_total",
                "master/disk_used",
                "master/disk_percent",
            ),
        ];
        let (totals, useds) = (total.scalars(), used.scalars());
        for (name, total_key, used_key, percent_key) in keys {
            let t = totals.get(name).map_or(0.0, |s| s.value());
            let u = useds.get(name).map_or(0.0, |s| s.value());
            set(total_key, t);
            set(used_key, u);
            set(percent_key, if t > 0.0 { u / t } else { 0.0 });
        }
    }

    /// The framework whose scheduler has this pid.
    pub(crate) fn framework_by_pid(&self, pid: &Pid) -> Option<FrameworkId> {
        self.frameworks
            .values()
            .find(|f| f.pid() == Some(pid))
            .map(|f| f.id.clone())
    }

    /// The agent with this pid.
    pub(crate) fn agent_by_pid(&self, pid: &Pid) -> Option<AgentId> {
        self.agent_ids.get(pid).cloned()
    }

    /// A `Call` from a scheduler. Besides `master/messages_scheduler_call`, it is
    /// counted under the key Mesos counts its kind under (`master/messages_revive_offers`
    /// for REVIVE...), as legacy messages are by their names; then it is handled.
    fn scheduler_call(&mut self, from: Pid, call: Call, ctx: &mut Context<Self>) {
        self.metrics.call(&call);
        self.receive_call(from, call, ctx);
    }

    /// Dispatches a scheduler `Call` to its handler; legacy messages come here too,
    /// turned into calls, so that every one passes the same checks.
    pub(crate) fn receive_call(&mut self, from: Pid, call: Call, ctx: &mut Context<Self>) {
        if call.kind == mesos_proto::scheduler::CallType::SUBSCRIBE {
            return self.subscribe(Connection::Pid(from), call, ctx);
        }
        let Some(framework_id) = self.caller(&from, &call, ctx) else {
            return;
        };
        self.handle_call(&framework_id, call, ctx);
    }

    /// Handles a call other than SUBSCRIBE of a framework whose scheduler was checked
    /// to be the caller (by pid for drivers, by stream id for HTTP schedulers).
    pub(crate) fn handle_call(
        &mut self,
        framework_id: &FrameworkId,
        call: Call,
        ctx: &mut Context<Self>,
    ) {
        use mesos_proto::scheduler::CallType::*;
        let framework_id = framework_id.clone();
        match call.kind {
            TEARDOWN => self.teardown(&framework_id, ctx),
            ACCEPT => self.accept(&framework_id, call.accept.unwrap_or_default(), ctx),
            DECLINE => self.decline(&framework_id, call.decline.unwrap_or_default(), ctx),
            REVIVE => self.revive(&framework_id, call.revive.unwrap_or_default().roles, ctx),
            SUPPRESS => self.suppress(&framework_id, call.suppress.unwrap_or_default().roles),
            KILL => self.kill(&framework_id, call.kill.unwrap_or_default(), ctx),
            SHUTDOWN => {
                self.shutdown_executor(&framework_id, call.shutdown.unwrap_or_default(), ctx)
            }
            ACKNOWLEDGE => {
                self.acknowledge(&framework_id, call.acknowledge.unwrap_or_default(), ctx)
            }
            RECONCILE => {
                self.reconcile(&framework_id, call.reconcile.unwrap_or_default().tasks, ctx)
            }
            MESSAGE => self.message(&framework_id, call.message.unwrap_or_default(), ctx),
            REQUEST => tracing::debug!(framework_id = %framework_id, "Ignoring resource request"),
            UPDATE_FRAMEWORK => {
                let update = call.update_framework.unwrap_or_default();
                if let Err(message) = self.update_framework(&framework_id, update, ctx) {
                    self.send_to_framework(&framework_id, FrameworkErrorMessage { message }, ctx);
                }
            }
            other => {
                tracing::warn!(framework_id = %framework_id, call = ?other, "Ignoring unsupported call")
            }
        }
    }

    /// The framework a call is from: it must name a known framework whose scheduler
    /// is the sender. A known but disconnected one is told so; others are dropped.
    fn caller(&mut self, from: &Pid, call: &Call, ctx: &mut Context<Self>) -> Option<FrameworkId> {
        let Some(framework_id) = call.framework_id.clone() else {
            tracing::warn!(%from, kind = ?call.kind, "Dropping call without a framework id");
            return None;
        };
        let Some(framework) = self.frameworks.get(&framework_id) else {
            tracing::warn!(%from, framework_id = %framework_id, "Dropping call from an unknown framework");
            return None;
        };
        if framework.pid() != Some(from) {
            tracing::warn!(%from, framework_id = %framework_id, "Dropping call from a pid that is not the framework's scheduler");
            return None;
        }
        if !framework.is_connected() {
            ctx.send(
                from,
                FrameworkErrorMessage {
                    message: "Framework disconnected".into(),
                },
            );
            return None;
        }
        Some(framework_id)
    }
}
