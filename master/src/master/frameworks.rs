//! Frameworks: subscribe (`Call` SUBSCRIBE, legacy `RegisterFrameworkMessage` and
//! `ReregisterFrameworkMessage`) from schedulers; TEARDOWN and
//! `UnregisterFrameworkMessage`; `DeactivateFrameworkMessage` (driver abort);
//! UPDATE_FRAMEWORK; disconnection (`exited`) and the failover timeout.

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

use super::{legacy, Master};
use crate::framework::{Framework, FrameworkState};
use crate::validation;

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
    /// SUBSCRIBE, from a scheduler: registers a new framework or re-registers one.
    pub(super) fn subscribe(&mut self, from: Pid, call: Call, ctx: &mut Context<Self>) {
        let subscribe = call.subscribe.unwrap_or_default();
        let mut info = subscribe.framework_info.clone();
        if info.id.is_none() {
            info.id = call.framework_id.clone();
        }
        let whitelist = self.flags.role_whitelist();
        if let Err(error) = validation::validate_framework(&info, whitelist.as_ref()) {
            tracing::warn!(%from, %error, "Refusing subscription");
            return ctx.send(
                &from,
                FrameworkErrorMessage {
                    message: error.to_string(),
                },
            );
        }
        match self.classify(&from, &info, subscribe.force.unwrap_or(false)) {
            Subscription::New => self.add_framework(from, info, &subscribe, false, ctx),
            Subscription::Repeated(id) => {
                tracing::info!(framework_id = %id, %from, "Framework already registered; answering again");
                ctx.send(
                    &from,
                    FrameworkRegisteredMessage {
                        framework_id: id,
                        master_info: self.info.clone(),
                    },
                );
            }
            Subscription::Unknown => self.add_framework(from, info, &subscribe, true, ctx),
            Subscription::Removed(id) => {
                tracing::warn!(%from, framework_id = %id, "Refusing subscription of a removed framework");
                ctx.send(
                    &from,
                    FrameworkErrorMessage {
                        message: "Framework has been removed".into(),
                    },
                );
            }
            Subscription::Again(id) => self.resubscribe(&id, info, &subscribe, ctx),
            Subscription::Failover(id) => self.failover_framework(&id, from, info, &subscribe, ctx),
            Subscription::Refused(id) => {
                tracing::warn!(%from, framework_id = %id, "Refusing a second scheduler without failover");
                ctx.send(
                    &from,
                    FrameworkErrorMessage {
                        message: "Framework failed over".into(),
                    },
                );
            }
        }
    }

    fn classify(&self, from: &Pid, info: &FrameworkInfo, force: bool) -> Subscription {
        let Some(id) = info.id.clone() else {
            return match self.framework_by_pid(from) {
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
        let same_pid = framework.pid.as_ref() == Some(from);
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
        from: Pid,
        mut info: FrameworkInfo,
        subscribe: &Subscribe,
        known_id: bool,
        ctx: &mut Context<Self>,
    ) {
        if !known_id {
            info.id = Some(self.new_framework_id());
        }
        let mut framework = Framework::new(info, Some(from.clone()), SystemTime::now());
        framework.suppressed_roles = subscribe.suppressed_roles.iter().cloned().collect();
        let id = framework.id.clone();
        tracing::info!(framework_id = %id, name = %framework.info.name, %from, "Framework registered");
        ctx.link(&from);
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
        ctx.send(
            &from,
            FrameworkRegisteredMessage {
                framework_id: id.clone(),
                master_info: self.info.clone(),
            },
        );
        self.broadcast_framework_update(&id, ctx);
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
        if let Some(pid) = framework.pid.clone() {
            ctx.send(
                &pid,
                FrameworkReregisteredMessage {
                    framework_id: id.clone(),
                    master_info: self.info.clone(),
                },
            );
        }
        self.activate(id);
    }

    /// A new scheduler takes over: the old one is told, offers are rescinded, and the
    /// failover timer is cancelled.
    fn failover_framework(
        &mut self,
        id: &FrameworkId,
        from: Pid,
        info: FrameworkInfo,
        subscribe: &Subscribe,
        ctx: &mut Context<Self>,
    ) {
        tracing::info!(framework_id = %id, %from, "Framework failed over to a new scheduler");
        self.rescind_framework_offers(id, ctx);
        self.update_framework_info(
            id,
            info,
            subscribe.suppressed_roles.iter().cloned().collect(),
        );
        let Some(framework) = self.frameworks.get_mut(id) else {
            return;
        };
        if let Some(old) = framework.pid.replace(from.clone()) {
            if old != from && framework.is_connected() {
                ctx.send(
                    &old,
                    FrameworkErrorMessage {
                        message: "Framework failed over".into(),
                    },
                );
            }
        }
        if let Some(timer) = framework.failover_timer.take() {
            timer.cancel();
        }
        framework.reregistered_time = Some(SystemTime::now());
        framework.unregistered_time = None;
        framework.state = FrameworkState::Active;
        ctx.link(&from);
        ctx.send(
            &from,
            FrameworkRegisteredMessage {
                framework_id: id.clone(),
                master_info: self.info.clone(),
            },
        );
        self.allocator.activate_framework(id.clone());
        self.broadcast_framework_update(id, ctx);
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
                pid: framework.pid.as_ref().map(Pid::to_string),
                framework_info: Some(framework.info.clone()),
            };
            ctx.send(&agent.pid, update);
        }
    }

    /// UPDATE_FRAMEWORK: new roles, name, capabilities or suppressed roles.
    pub(super) fn update_framework(
        &mut self,
        id: &FrameworkId,
        update: UpdateFramework,
        ctx: &mut Context<Self>,
    ) {
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
            return self.send_to_framework(id, FrameworkErrorMessage { message }, ctx);
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
        self.subscribe(from, call, ctx);
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
        self.subscribe(from, call, ctx);
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
        let expected = framework.unregistered_time;
        let framework_id = id.clone();
        framework.failover_timer = Some(ctx.delay(timeout, move |master: &mut Master, ctx| {
            master.failover_timeout(&framework_id, expected, ctx)
        }));
        self.allocator.deactivate_framework(id.clone());
        self.rescind_framework_offers(id, ctx);
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
                }
            }
            framework.complete_task(&task_id, self.flags.max_completed_tasks_per_framework);
        }
        framework.executors.clear();
        if let Some(timer) = framework.failover_timer.take() {
            timer.cancel();
        }
        framework.state = FrameworkState::Disconnected;
        framework.unregistered_time = Some(SystemTime::now());
        self.allocator.remove_framework(id.clone());
        self.metrics.framework_removed();
        self.completed_frameworks.push_back(framework);
        while self.completed_frameworks.len() > self.flags.max_completed_frameworks {
            self.completed_frameworks.pop_front();
        }
    }
}
