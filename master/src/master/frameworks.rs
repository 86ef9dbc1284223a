//! Frameworks: subscribe (`Call` SUBSCRIBE, legacy `RegisterFrameworkMessage` and
//! `ReregisterFrameworkMessage`) from schedulers; TEARDOWN and
//! `UnregisterFrameworkMessage`; `DeactivateFrameworkMessage` (driver abort);
//! UPDATE_FRAMEWORK; disconnection (`exited`, or a v1 HTTP scheduler's event stream
//! closing) and the failover timeout; heartbeats on HTTP schedulers' streams.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use libproc::{Context, Pid};
use mesos_proto::mesos::{FrameworkInfo, StatusReason, TaskState};
use mesos_proto::messages::{
    DeactivateFrameworkMessage, FrameworkErrorMessage, FrameworkRegisteredMessage,
    FrameworkReregisteredMessage, RegisterFrameworkMessage, ReregisterFrameworkMessage,
    ShutdownFrameworkMessage, UnregisterFrameworkMessage, UpdateFrameworkMessage,
};
use mesos_proto::scheduler::{Call, CallType, Subscribe, UpdateFramework};
use mesos_proto::FrameworkId;

use super::{legacy, send_to_connection, Master};
use crate::constants::DEFAULT_HEARTBEAT_INTERVAL;
use crate::framework::{Connection, Framework, FrameworkState};
use crate::http::api::scheduler::heartbeat;
use crate::validation;
use mesos_proto::v1::recordio::record;

/// How a subscription relates to what the master knows of the framework.
enum Subscription {
    /// No id: a new framework.
    New,
    /// No id, from the scheduler of a framework already registered: its driver
    /// retried before hearing the answer. It is told its framework again.
    Repeated(FrameworkId),
    /// An id the master does not know (it failed over, or the framework's tasks were
    /// only reported by agents): the framework is re-created with that id.
    Unknown,
    /// The framework was removed; it cannot come back.
    Removed(FrameworkId),
    /// The same scheduler subscribes again.
    Again(FrameworkId),
    /// Another scheduler takes over: asked to (`force`), or the old one is gone.
    Failover(FrameworkId),
    /// Another scheduler, while the current one is connected, without `force`.
    Refused(FrameworkId),
}

impl Master {
    /// SUBSCRIBE, from a scheduler driver or on a new v1 HTTP event stream: registers a
    /// new framework or re-registers one. Refusals go to `from` itself (an HTTP
    /// stream gets ERROR and ends).
    pub(crate) fn subscribe(&mut self, from: Connection, call: Call, ctx: &mut Context<Self>) {
        let subscribe = call.subscribe.unwrap_or_default();
        let mut info = subscribe.framework_info.clone();
        if info.id.is_none() {
            info.id = call.framework_id.clone();
        }
        let whitelist = self.flags.role_whitelist();
        let refuse = |message: &str| FrameworkErrorMessage {
            message: message.to_owned(),
        };
        if let Err(error) = validation::validate_framework(&info, whitelist.as_ref()) {
            tracing::warn!(from = ?from, %error, "Refusing subscription");
            return send_to_connection(&from, refuse(&error.to_string()), ctx);
        }
        match self.classify(&from, &info, subscribe.force.unwrap_or(false)) {
            Subscription::New => self.add_framework(from, info, &subscribe, false, ctx),
            Subscription::Repeated(id) => {
                tracing::info!(framework_id = %id, from = ?from, "Framework already registered; answering again");
                let registered = FrameworkRegisteredMessage {
                    framework_id: id,
                    master_info: self.info.clone(),
                };
                send_to_connection(&from, registered, ctx);
            }
            Subscription::Unknown => self.add_framework(from, info, &subscribe, true, ctx),
            Subscription::Removed(id) => {
                tracing::warn!(from = ?from, framework_id = %id, "Refusing subscription of a removed framework");
                send_to_connection(&from, refuse("Framework has been removed"), ctx);
            }
            Subscription::Again(id) => self.resubscribe(&id, info, &subscribe, ctx),
            Subscription::Failover(id) => self.failover_framework(&id, from, info, &subscribe, ctx),
            Subscription::Refused(id) => {
                tracing::warn!(from = ?from, framework_id = %id, "Refusing a second scheduler without failover");
                send_to_connection(&from, refuse("Framework failed over"), ctx);
            }
        }
    }

    fn classify(&self, from: &Connection, info: &FrameworkInfo, force: bool) -> Subscription {
        let from = match from {
            Connection::Pid(pid) => Some(pid),
            // Every HTTP SUBSCRIBE opens a new stream: with an id, it takes over from
            // whatever connection the framework had (Mesos's HTTP failover).
            Connection::Http(_) => None,
        };
        let Some(id) = info.id.clone() else {
            return match from.and_then(|pid| self.framework_by_pid(pid)) {
                Some(id) => Subscription::Repeated(id),
                None => Subscription::New,
            };
        };
        if self.completed_frameworks.iter().any(|f| f.id == id) {
            return Subscription::Removed(id);
        }
        let Some(framework) = self.frameworks.get(&id) else {
            return Subscription::Unknown;
        };
        // Another scheduler takes over only when it says so (`force`, which drivers
        // set when they start with an id), as in Mesos; a framework known only from
        // agents' reports has no scheduler to take over from.
        let Some(from) = from else {
            return Subscription::Failover(id);
        };
        let same_pid = framework.pid() == Some(from);
        let recovered = framework.state == FrameworkState::Recovered;
        match (same_pid, framework.is_connected(), force || recovered) {
            (true, true, _) => Subscription::Again(id),
            (false, _, false) => Subscription::Refused(id),
            _ => Subscription::Failover(id),
        }
    }

    /// Adds a framework: new (an id is assigned), or re-created with its old id.
    fn add_framework(
        &mut self,
        from: Connection,
        mut info: FrameworkInfo,
        subscribe: &Subscribe,
        known_id: bool,
        ctx: &mut Context<Self>,
    ) {
        if !known_id {
            info.id = Some(self.new_framework_id());
        }
        if let Connection::Pid(pid) = &from {
            ctx.link(pid);
        }
        let mut framework = Framework::new(info, Some(from), SystemTime::now());
        framework.suppressed_roles = subscribe.suppressed_roles.iter().cloned().collect();
        let id = framework.id.clone();
        tracing::info!(framework_id = %id, name = %framework.info.name, connection = ?framework.connection, "Framework registered");
        self.allocator.add_framework(
            id.clone(),
            framework.info.clone(),
            framework.used_resources(),
            true,
            framework.suppressed_roles.clone(),
        );
        self.frameworks.insert(id.clone(), framework);
        // A driver that re-subscribes to a master that does not know it hears
        // `FrameworkRegisteredMessage`, as with Mesos (MESOS-786).
        let registered = FrameworkRegisteredMessage {
            framework_id: id.clone(),
            master_info: self.info.clone(),
        };
        self.send_to_framework(&id, registered, ctx);
        self.start_heartbeat(&id, ctx);
        self.broadcast_framework_update(&id, ctx);
        self.framework_event("FRAMEWORK_ADDED", &id);
    }

    /// The same scheduler subscribes again: its offers are rescinded and it is told it
    /// is re-registered.
    fn resubscribe(
        &mut self,
        id: &FrameworkId,
        info: FrameworkInfo,
        subscribe: &Subscribe,
        ctx: &mut Context<Self>,
    ) {
        tracing::info!(framework_id = %id, "Framework re-registered");
        self.rescind_framework_offers(id, ctx);
        self.update_framework_info(
            id,
            info,
            subscribe.suppressed_roles.iter().cloned().collect(),
        );
        let Some(framework) = self.frameworks.get_mut(id) else {
            return;
        };
        framework.reregistered_time = Some(SystemTime::now());
        self.activate(id);
        let reregistered = FrameworkReregisteredMessage {
            framework_id: id.clone(),
            master_info: self.info.clone(),
        };
        self.send_to_framework(id, reregistered, ctx);
        self.framework_event("FRAMEWORK_UPDATED", id);
    }

    /// A new scheduler takes over: the old one is told, offers are rescinded, and the
    /// failover timer is cancelled.
    fn failover_framework(
        &mut self,
        id: &FrameworkId,
        from: Connection,
        info: FrameworkInfo,
        subscribe: &Subscribe,
        ctx: &mut Context<Self>,
    ) {
        tracing::info!(framework_id = %id, from = ?from, "Framework failed over to a new scheduler");
        self.rescind_framework_offers(id, ctx);
        self.update_framework_info(
            id,
            info,
            subscribe.suppressed_roles.iter().cloned().collect(),
        );
        let Some(framework) = self.frameworks.get_mut(id) else {
            return;
        };
        if let Connection::Pid(pid) = &from {
            ctx.link(pid);
        }
        let new_pid = match &from {
            Connection::Pid(pid) => Some(pid.clone()),
            Connection::Http(_) => None,
        };
        // The old scheduler hears it lost, unless it is the new one's pid; an old
        // HTTP stream then ends, as the connection is dropped.
        if let Some(old) = framework.connection.replace(from) {
            let same = new_pid.is_some() && old_pid(&old) == new_pid.as_ref();
            if !same && framework.is_connected() {
                let failed_over = FrameworkErrorMessage {
                    message: "Framework failed over".into(),
                };
                send_to_connection(&old, failed_over, ctx);
            }
        }
        if let Some(timer) = framework.failover_timer.take() {
            timer.cancel();
        }
        framework.reregistered_time = Some(SystemTime::now());
        framework.unregistered_time = None;
        framework.state = FrameworkState::Active;
        let registered = FrameworkRegisteredMessage {
            framework_id: id.clone(),
            master_info: self.info.clone(),
        };
        self.send_to_framework(id, registered, ctx);
        self.start_heartbeat(id, ctx);
        self.allocator.activate_framework(id.clone());
        self.broadcast_framework_update(id, ctx);
        self.framework_event("FRAMEWORK_UPDATED", id);
    }

    fn update_framework_info(
        &mut self,
        id: &FrameworkId,
        mut info: FrameworkInfo,
        suppressed: HashSet<String>,
    ) {
        let Some(framework) = self.frameworks.get_mut(id) else {
            return;
        };
        info.id = Some(id.clone());
        framework.info = info;
        framework.suppressed_roles = suppressed;
        self.allocator.update_framework(
            id.clone(),
            framework.info.clone(),
            framework.suppressed_roles.clone(),
        );
    }

    fn activate(&mut self, id: &FrameworkId) {
        if let Some(framework) = self.frameworks.get_mut(id) {
            if framework.state != FrameworkState::Active {
                framework.state = FrameworkState::Active;
                self.allocator.activate_framework(id.clone());
            }
        }
    }

    /// Tells every agent the framework's current scheduler pid and description.
    pub(super) fn broadcast_framework_update(&self, id: &FrameworkId, ctx: &Context<Self>) {
        let Some(framework) = self.frameworks.get(id) else {
            return;
        };
        for agent in self.agents.values().filter(|a| a.connected) {
            let update = UpdateFrameworkMessage {
                framework_id: id.clone(),
                pid: framework.pid().map(Pid::to_string),
                framework_info: Some(framework.info.clone()),
            };
            ctx.send(&agent.pid, update);
        }
    }

    /// UPDATE_FRAMEWORK: new roles, name, capabilities or suppressed roles. A refusal
    /// says why: a driver hears it as an error, an HTTP scheduler as the answer.
    pub(crate) fn update_framework(
        &mut self,
        id: &FrameworkId,
        update: UpdateFramework,
        ctx: &mut Context<Self>,
    ) -> Result<(), String> {
        let mut info = update.framework_info;
        info.id = Some(id.clone());
        let whitelist = self.flags.role_whitelist();
        let unchanged = self.frameworks.get(id).is_some_and(|f| {
            f.info.user == info.user
                && f.info.principal == info.principal
                && f.info.checkpoint == info.checkpoint
        });
        let checked =
            validation::validate_framework(&info, whitelist.as_ref()).map_err(|e| e.to_string());
        let checked = checked.and_then(|()| {
            unchanged
                .then_some(())
                .ok_or_else(|| "'user', 'principal' and 'checkpoint' cannot change".to_owned())
        });
        if let Err(message) = checked {
            tracing::warn!(framework_id = %id, %message, "Refusing framework update");
            return Err(message);
        }
        let roles: HashSet<String> = info.roles().into_iter().collect();
        let removed_role_offers: Vec<_> = self
            .offers
            .values()
            .filter(|o| &o.framework_id == id)
            .filter(|o| {
                o.allocation_info
                    .as_ref()
                    .is_some_and(|a| !roles.contains(&a.role))
            })
            .map(|o| o.id.clone())
            .collect();
        for offer_id in removed_role_offers {
            self.rescind_offer(&offer_id, ctx);
        }
        self.update_framework_info(id, info, update.suppressed_roles.into_iter().collect());
        self.broadcast_framework_update(id, ctx);
        self.framework_event("FRAMEWORK_UPDATED", id);
        Ok(())
    }

    /// Legacy registration: the same as SUBSCRIBE without an id.
    pub(super) fn register_framework(
        &mut self,
        from: Pid,
        message: RegisterFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        let call = Call {
            kind: CallType::SUBSCRIBE,
            subscribe: Some(Subscribe {
                framework_info: message.framework,
                ..Default::default()
            }),
            ..Default::default()
        };
        self.subscribe(Connection::Pid(from), call, ctx);
    }

    /// Legacy re-registration: SUBSCRIBE with the id, `failover` as `force`.
    pub(super) fn reregister_framework(
        &mut self,
        from: Pid,
        message: ReregisterFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        let call = Call {
            framework_id: message.framework.id.clone(),
            kind: CallType::SUBSCRIBE,
            subscribe: Some(Subscribe {
                framework_info: message.framework,
                force: Some(message.failover),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.subscribe(Connection::Pid(from), call, ctx);
    }

    /// Legacy unregistration: TEARDOWN.
    pub(super) fn unregister_framework(
        &mut self,
        from: Pid,
        message: UnregisterFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        self.receive_call(from, legacy(message.framework_id, CallType::TEARDOWN), ctx);
    }

    /// A driver aborted: no more offers, its offers rescinded, tasks kept.
    pub(super) fn deactivate_framework(
        &mut self,
        from: Pid,
        message: DeactivateFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        let id = message.framework_id;
        if self.framework_by_pid(&from).as_ref() != Some(&id) {
            return tracing::warn!(%from, framework_id = %id, "Ignoring deactivation from a pid that is not the framework's");
        }
        // Only an active framework is deactivated, as in Mesos. A disconnected one
        // stays so: the message can arrive after the link broke (it comes on another
        // connection), and its failover timeout only removes a disconnected framework.
        match self.frameworks.get_mut(&id) {
            Some(framework) if framework.state == FrameworkState::Active => {
                framework.state = FrameworkState::Inactive;
            }
            _ => {
                return tracing::info!(framework_id = %id, "Ignoring deactivation of a framework that is not active")
            }
        }
        tracing::info!(framework_id = %id, "Framework deactivated");
        self.allocator.deactivate_framework(id.clone());
        self.rescind_framework_offers(&id, ctx);
        self.framework_event("FRAMEWORK_UPDATED", &id);
    }

    /// TEARDOWN: the framework ends; its tasks are killed.
    pub(super) fn teardown(&mut self, id: &FrameworkId, ctx: &mut Context<Self>) {
        tracing::info!(framework_id = %id, "Framework torn down by its scheduler");
        self.remove_framework(id, ctx);
    }

    /// The scheduler's connection broke: offers stop and the failover timeout starts.
    pub(super) fn framework_disconnected(&mut self, id: &FrameworkId, ctx: &mut Context<Self>) {
        let Some(framework) = self.frameworks.get_mut(id) else {
            return;
        };
        if framework.state == FrameworkState::Disconnected {
            return;
        }
        let timeout = Duration::from_secs_f64(framework.info.failover_timeout_secs().min(1e9));
        tracing::info!(framework_id = %id, ?timeout, "Framework disconnected; waiting for it to fail over");
        framework.state = FrameworkState::Disconnected;
        framework.unregistered_time = Some(SystemTime::now());
        if framework.http().is_some() {
            // Ends the stream, if the client has not closed it already.
            framework.connection = None;
        }
        let expected = framework.unregistered_time;
        let framework_id = id.clone();
        framework.failover_timer = Some(ctx.delay(timeout, move |master: &mut Master, ctx| {
            master.failover_timeout(&framework_id, expected, ctx)
        }));
        self.allocator.deactivate_framework(id.clone());
        self.rescind_framework_offers(id, ctx);
        self.framework_event("FRAMEWORK_UPDATED", id);
    }

    /// A v1 HTTP scheduler's event stream closed (the client went away, or could not
    /// keep up): its framework is disconnected, as a driver whose link broke. A
    /// stream the framework no longer uses (it failed over) changes nothing.
    pub(crate) fn http_stream_closed(&mut self, stream_id: &str, ctx: &mut Context<Self>) {
        let framework_id = self
            .frameworks
            .values()
            .find(|f| f.http().is_some_and(|h| h.stream_id() == stream_id))
            .map(|f| f.id.clone());
        if let Some(id) = framework_id {
            tracing::info!(framework_id = %id, stream_id, "Scheduler's event stream closed");
            self.framework_disconnected(&id, ctx);
        }
    }

    /// Starts the heartbeats of an HTTP scheduler's stream: one now, right after
    /// SUBSCRIBED, then every interval while that stream is the framework's.
    fn start_heartbeat(&self, id: &FrameworkId, ctx: &Context<Self>) {
        if let Some(http) = self.frameworks.get(id).and_then(Framework::http) {
            let stream_id = http.stream_id().to_owned();
            self.heartbeat(id, &stream_id, ctx);
        }
    }

    fn heartbeat(&self, id: &FrameworkId, stream_id: &str, ctx: &Context<Self>) {
        let Some(http) = self.frameworks.get(id).and_then(Framework::http) else {
            return;
        };
        if http.stream_id() != stream_id {
            return;
        }
        if let Err(error) = http.write(record(&heartbeat())) {
            tracing::warn!(framework_id = %id, %error, "Closing a scheduler's event stream");
            let stream_id = stream_id.to_owned();
            ctx.defer(
                std::future::ready(()),
                move |master: &mut Master, (), ctx| master.http_stream_closed(&stream_id, ctx),
            );
            return;
        }
        let (id, stream_id) = (id.clone(), stream_id.to_owned());
        ctx.delay(
            DEFAULT_HEARTBEAT_INTERVAL,
            move |master: &mut Master, ctx| master.heartbeat(&id, &stream_id, ctx),
        );
    }

    /// The failover timeout fired: the framework is removed unless it came back since.
    fn failover_timeout(
        &mut self,
        id: &FrameworkId,
        expected: Option<SystemTime>,
        ctx: &mut Context<Self>,
    ) {
        let still_gone = self.frameworks.get(id).is_some_and(|f| {
            f.state == FrameworkState::Disconnected && f.unregistered_time == expected
        });
        if still_gone {
            tracing::info!(framework_id = %id, "Framework failover timeout; removing it");
            self.remove_framework(id, ctx);
        }
    }

    /// Removes a framework: agents shut its executors down, its tasks are marked
    /// killed, its resources return to the pool, and it joins the completed list.
    pub(crate) fn remove_framework(&mut self, id: &FrameworkId, ctx: &mut Context<Self>) {
        self.rescind_framework_offers(id, ctx);
        let Some(mut framework) = self.frameworks.remove(id) else {
            return;
        };
        for agent in self.agents.values_mut() {
            if agent.connected {
                ctx.send(
                    &agent.pid,
                    ShutdownFrameworkMessage {
                        framework_id: id.clone(),
                    },
                );
            }
            agent.tasks.remove(id);
            agent.executors.remove(id);
        }
        let task_ids: Vec<_> = framework.tasks.keys().cloned().collect();
        let mut killed = Vec::new();
        for task_id in task_ids {
            if let Some(task) = framework.tasks.get_mut(&task_id) {
                if !task.state.is_terminal() {
                    task.state = TaskState::TASK_KILLED;
                    task.statuses.push(crate::master::tasks::master_status(
                        task,
                        TaskState::TASK_KILLED,
                        StatusReason::REASON_FRAMEWORK_REMOVED,
                        "Framework removed",
                    ));
                    killed.push(task.clone());
                }
            }
            framework.complete_task(&task_id, self.flags.max_completed_tasks_per_framework);
        }
        framework.executors.clear();
        if let Some(timer) = framework.failover_timer.take() {
            timer.cancel();
        }
        if framework.http().is_some() {
            // Ends the stream: a removed framework hears nothing more.
            framework.connection = None;
        }
        framework.state = FrameworkState::Disconnected;
        framework.unregistered_time = Some(SystemTime::now());
        self.allocator.remove_framework(id.clone());
        self.metrics.framework_removed();
        for task in &killed {
            self.task_updated_event(task);
        }
        self.operator_event(crate::http::api::operator::framework_removed(&framework));
        self.completed_frameworks.push_back(framework);
        while self.completed_frameworks.len() > self.flags.max_completed_frameworks {
            self.completed_frameworks.pop_front();
        }
    }
}

/// The pid of a driver's connection.
fn old_pid(connection: &Connection) -> Option<&Pid> {
    match connection {
        Connection::Pid(pid) => Some(pid),
        Connection::Http(_) => None,
    }
}
