//! Offers: the allocator's decisions become `ResourceOffersMessage`s; schedulers
//! ACCEPT (launching tasks), DECLINE, REVIVE and SUPPRESS (also the legacy
//! `LaunchTasksMessage` and `ReviveOffersMessage`); offers are rescinded when their
//! agent or framework goes away, and after `--offer_timeout`.

use std::collections::{HashMap, HashSet};

use libproc::{Context, Pid};
use mesos_proto::mesos::{
    Address, ExecutorInfo, Offer, OfferOperation, OperationType, StatusReason, Task, TaskInfo,
    TaskState, Url,
};
use mesos_proto::messages::{
    LaunchTasksMessage, RescindResourceOfferMessage, ResourceOffersMessage, ReviveOffersMessage,
    RunTaskGroupMessage, RunTaskMessage,
};
use mesos_proto::resources::AllocationInfo;
use mesos_proto::scheduler::{Accept, Call, CallType, Decline, Revive};
use mesos_proto::{AgentId, ExecutorId, FrameworkId, OfferId, Resources, TaskId};

use super::{legacy, Master};
use crate::allocator::Allocation;
use crate::framework::FrameworkState;
use crate::validation::{self, TaskContext, ValidationError};

impl Master {
    /// The allocator's decisions: one offer per (framework, role, agent), sent to each
    /// framework in one message. Resources for a framework or agent that went away in
    /// the meantime go straight back.
    pub(crate) fn offer(&mut self, allocations: Vec<Allocation>, ctx: &mut Context<Self>) {
        let mut by_framework: HashMap<FrameworkId, (Vec<Offer>, Vec<String>)> = HashMap::new();
        for allocation in allocations {
            let Some(offer) = self.make_offer(&allocation, ctx) else {
                self.allocator.recover_resources(
                    allocation.framework_id,
                    allocation.agent_id,
                    allocation.resources,
                    None,
                );
                continue;
            };
            let agent_pid = self
                .agents
                .get(&offer.agent_id)
                .map(|a| a.pid.to_string())
                .unwrap_or_default();
            let entry = by_framework.entry(offer.framework_id.clone()).or_default();
            entry.0.push(offer);
            entry.1.push(agent_pid);
        }
        for (framework_id, (offers, pids)) in by_framework {
            tracing::info!(framework_id = %framework_id, offers = offers.len(), "Sending offers");
            self.metrics.offers_sent(offers.len());
            self.send_to_framework(&framework_id, ResourceOffersMessage { offers, pids }, ctx);
        }
    }

    /// Records an offer of an allocation, if its framework and agent can take it.
    fn make_offer(&mut self, allocation: &Allocation, ctx: &mut Context<Self>) -> Option<Offer> {
        let framework_ok = self
            .frameworks
            .get(&allocation.framework_id)
            .is_some_and(|f| f.state == FrameworkState::Active && f.connection.is_some());
        let agent = self
            .agents
            .get(&allocation.agent_id)
            .filter(|a| a.connected && a.active)?;
        if !framework_ok {
            return None;
        }
        let offer = Offer {
            id: OfferId::default(),
            framework_id: allocation.framework_id.clone(),
            agent_id: allocation.agent_id.clone(),
            hostname: agent.info.hostname.clone(),
            url: Some(agent_url(&agent.pid, &agent.info.hostname)),
            resources: allocation.resources.clone(),
            attributes: agent.info.attributes.clone(),
            executor_ids: agent.executor_ids(&allocation.framework_id),
            allocation_info: Some(AllocationInfo {
                role: allocation.role.clone(),
            }),
        };
        let offer = Offer {
            id: self.new_offer_id(),
            ..offer
        };
        self.track_offer(&offer, ctx);
        Some(offer)
    }

    fn track_offer(&mut self, offer: &Offer, ctx: &mut Context<Self>) {
        if let Some(framework) = self.frameworks.get_mut(&offer.framework_id) {
            framework.offers.insert(offer.id.clone());
        }
        if let Some(agent) = self.agents.get_mut(&offer.agent_id) {
            agent.offers.insert(offer.id.clone());
        }
        if let Some(timeout) = self.flags.offer_timeout {
            let offer_id = offer.id.clone();
            let timer = ctx.delay(timeout, move |master: &mut Master, ctx| {
                master.offer_timeout(&offer_id, ctx)
            });
            self.offer_timers.insert(offer.id.clone(), timer);
        }
        self.offers.insert(offer.id.clone(), offer.clone());
    }

    fn offer_timeout(&mut self, offer_id: &OfferId, ctx: &mut Context<Self>) {
        if self.offers.contains_key(offer_id) {
            tracing::info!(offer_id = %offer_id, "Offer timed out; rescinding it");
            self.rescind_offer(offer_id, ctx);
        }
    }

    /// Forgets an offer; its resources are the caller's to return or use.
    fn take_offer(&mut self, offer_id: &OfferId) -> Option<Offer> {
        let offer = self.offers.remove(offer_id)?;
        if let Some(timer) = self.offer_timers.remove(offer_id) {
            timer.cancel();
        }
        if let Some(framework) = self.frameworks.get_mut(&offer.framework_id) {
            framework.offers.remove(offer_id);
        }
        if let Some(agent) = self.agents.get_mut(&offer.agent_id) {
            agent.offers.remove(offer_id);
        }
        Some(offer)
    }

    /// Withdraws an offer: the framework is told, the resources return to the pool.
    pub(crate) fn rescind_offer(&mut self, offer_id: &OfferId, ctx: &mut Context<Self>) {
        let Some(offer) = self.take_offer(offer_id) else {
            return;
        };
        self.send_to_framework(
            &offer.framework_id,
            RescindResourceOfferMessage {
                offer_id: offer_id.clone(),
            },
            ctx,
        );
        self.allocator
            .recover_resources(offer.framework_id, offer.agent_id, offer.resources, None);
    }

    pub(crate) fn rescind_framework_offers(
        &mut self,
        framework_id: &FrameworkId,
        ctx: &mut Context<Self>,
    ) {
        let offer_ids: Vec<_> = self
            .frameworks
            .get(framework_id)
            .map(|f| f.offers.iter().cloned().collect())
            .unwrap_or_default();
        for offer_id in offer_ids {
            self.rescind_offer(&offer_id, ctx);
        }
    }

    pub(crate) fn rescind_agent_offers(&mut self, agent_id: &AgentId, ctx: &mut Context<Self>) {
        let offer_ids: Vec<_> = self
            .agents
            .get(agent_id)
            .map(|a| a.offers.iter().cloned().collect())
            .unwrap_or_default();
        for offer_id in offer_ids {
            self.rescind_offer(&offer_id, ctx);
        }
    }

    /// DECLINE: the offers' resources return, kept from the framework by the filter.
    pub(super) fn decline(
        &mut self,
        framework_id: &FrameworkId,
        decline: Decline,
        _ctx: &mut Context<Self>,
    ) {
        for offer_id in &decline.offer_ids {
            match self.offers.get(offer_id) {
                Some(offer) if &offer.framework_id == framework_id => {}
                _ => {
                    tracing::warn!(framework_id = %framework_id, offer_id = %offer_id, "Ignoring decline of an unknown offer");
                    continue;
                }
            }
            if let Some(offer) = self.take_offer(offer_id) {
                self.allocator.recover_resources(
                    offer.framework_id,
                    offer.agent_id,
                    offer.resources,
                    Some(decline.filters.unwrap_or_default()),
                );
            }
        }
    }

    /// ACCEPT: validates the offers, then carries out each operation on what they hold;
    /// what is left returns to the pool with the call's filter.
    pub(super) fn accept(
        &mut self,
        framework_id: &FrameworkId,
        accept: Accept,
        ctx: &mut Context<Self>,
    ) {
        let owner = |id: &OfferId| {
            self.offers
                .get(id)
                .map(|o| (o.framework_id.clone(), o.agent_id.clone()))
        };
        let agent_id = match validation::validate_offers(&accept.offer_ids, framework_id, owner) {
            Ok(agent_id) => agent_id,
            Err(error) => return self.refuse_accept(framework_id, &accept, &error, ctx),
        };
        let role = self
            .offers
            .get(&accept.offer_ids[0])
            .and_then(|o| o.allocation_info.as_ref())
            .map_or_else(
                || mesos_proto::roles::DEFAULT_ROLE.to_owned(),
                |a| a.role.clone(),
            );
        let Some(mut launch) = Launch::new(self, framework_id, &agent_id, role) else {
            return;
        };
        let mut available = Resources::default();
        for offer_id in &accept.offer_ids {
            if let Some(offer) = self.take_offer(offer_id) {
                available += &offer.resources;
            }
        }
        for operation in &accept.operations {
            self.apply_operation(&mut launch, operation, &mut available, ctx);
        }
        if !available.is_empty() {
            self.allocator.recover_resources(
                framework_id.clone(),
                agent_id,
                available,
                Some(accept.filters.unwrap_or_default()),
            );
        }
    }

    /// Offers that are not valid: every task of the call is lost (dropped for
    /// partition-aware frameworks); the caller's own valid offers return to the pool.
    fn refuse_accept(
        &mut self,
        framework_id: &FrameworkId,
        accept: &Accept,
        error: &ValidationError,
        ctx: &mut Context<Self>,
    ) {
        tracing::warn!(framework_id = %framework_id, %error, "Refusing ACCEPT");
        let state = match self.frameworks.get(framework_id) {
            Some(f) if f.is_partition_aware() => TaskState::TASK_DROPPED,
            _ => TaskState::TASK_LOST,
        };
        for task in launched_tasks(&accept.operations) {
            let status = crate::master::tasks::status_for(
                task,
                state,
                StatusReason::REASON_INVALID_OFFERS,
                &error.to_string(),
            );
            self.send_master_update(framework_id, status, ctx);
        }
        for offer_id in &accept.offer_ids {
            if self
                .offers
                .get(offer_id)
                .is_some_and(|o| &o.framework_id == framework_id)
            {
                if let Some(offer) = self.take_offer(offer_id) {
                    self.allocator.recover_resources(
                        offer.framework_id,
                        offer.agent_id,
                        offer.resources,
                        Some(accept.filters.unwrap_or_default()),
                    );
                }
            }
        }
    }

    fn apply_operation(
        &mut self,
        launch: &mut Launch,
        operation: &OfferOperation,
        available: &mut Resources,
        ctx: &mut Context<Self>,
    ) {
        match (operation.kind, &operation.launch, &operation.launch_group) {
            (OperationType::LAUNCH, Some(tasks), _) => {
                for task in &tasks.task_infos {
                    self.launch_task(launch, task, available, ctx);
                }
            }
            (OperationType::LAUNCH_GROUP, _, Some(group)) => self.launch_group(
                launch,
                &group.executor,
                &group.task_group.tasks,
                available,
                ctx,
            ),
            (kind, _, _) => {
                tracing::warn!(framework_id = %launch.framework_id, ?kind, "Ignoring an operation this master does not carry out");
            }
        }
    }

    /// Validates and launches one task; an invalid one gets TASK_ERROR.
    fn launch_task(
        &mut self,
        launch: &mut Launch,
        task: &TaskInfo,
        available: &mut Resources,
        ctx: &mut Context<Self>,
    ) {
        let context = TaskContext {
            agent_id: &launch.agent_id,
            available,
            task_ids: &launch.task_ids,
            executors: &launch.executors,
        };
        // Like Mesos, the task's resources are allocated to the offers' role before
        // they are compared with what the offers hold.
        let mut checked = task.clone();
        checked.resources.allocate(&launch.role);
        if let Some(executor) = checked.executor.as_mut() {
            executor.resources.allocate(&launch.role);
        }
        let needed = match validation::validate_task(&checked, &context) {
            Ok(needed) => needed,
            Err(error) => {
                tracing::warn!(framework_id = %launch.framework_id, %error, "Refusing task");
                let status = crate::master::tasks::status_for(
                    task,
                    TaskState::TASK_ERROR,
                    StatusReason::REASON_TASK_INVALID,
                    &error.to_string(),
                );
                return self.send_master_update(&launch.framework_id, status, ctx);
            }
        };
        *available -= &needed;
        let new_executor = checked
            .executor
            .as_ref()
            .filter(|e| !launch.executors.contains_key(&e.executor_id))
            .cloned();
        launch.task_ids.insert(task.task_id.clone());
        self.record_task(launch, &checked, new_executor.clone());
        let launch_executor = new_executor.is_some() || checked.command.is_some();
        let run = RunTaskMessage {
            framework: launch.framework_info.clone(),
            task: checked,
            pid: launch.framework_pid.as_ref().map(Pid::to_string),
            launch_executor: Some(launch_executor),
        };
        ctx.send(&launch.agent_pid, run);
    }

    /// LAUNCH_GROUP: the tasks run together on one executor. As in Mesos, each task
    /// carries the group's executor, and the group is checked as a whole: one invalid
    /// task gets every task of the group TASK_ERROR, and none is launched.
    fn launch_group(
        &mut self,
        launch: &mut Launch,
        executor: &ExecutorInfo,
        tasks: &[TaskInfo],
        available: &mut Resources,
        ctx: &mut Context<Self>,
    ) {
        let mut executor = executor.clone();
        executor.resources.allocate(&launch.role);
        let checked: Vec<TaskInfo> = tasks
            .iter()
            .map(|task| {
                let mut task = task.clone();
                task.resources.allocate(&launch.role);
                match task.executor.as_mut() {
                    Some(own) => own.resources.allocate(&launch.role),
                    None => task.executor = Some(executor.clone()),
                }
                task
            })
            .collect();
        let context = TaskContext {
            agent_id: &launch.agent_id,
            available,
            task_ids: &launch.task_ids,
            executors: &launch.executors,
        };
        let needed = match validation::validate_task_group(&executor, &checked, &context) {
            Ok(needed) => needed,
            Err(error) => {
                tracing::warn!(framework_id = %launch.framework_id, %error, "Refusing task group");
                for task in tasks {
                    let status = crate::master::tasks::status_for(
                        task,
                        TaskState::TASK_ERROR,
                        StatusReason::REASON_TASK_GROUP_INVALID,
                        &error.to_string(),
                    );
                    self.send_master_update(&launch.framework_id, status, ctx);
                }
                return;
            }
        };
        *available -= &needed;
        let launch_executor = !launch.executors.contains_key(&executor.executor_id);
        let mut new_executor = launch_executor.then(|| executor.clone());
        for task in &checked {
            launch.task_ids.insert(task.task_id.clone());
            self.record_task(launch, task, new_executor.take());
        }
        let run = RunTaskGroupMessage {
            framework: launch.framework_info.clone(),
            executor,
            task_group: mesos_proto::mesos::TaskGroupInfo { tasks: checked },
            launch_executor: Some(launch_executor),
        };
        ctx.send(&launch.agent_pid, run);
    }

    /// Adds a launched task (TASK_STAGING) and its new executor to the records.
    fn record_task(
        &mut self,
        launch: &mut Launch,
        task: &TaskInfo,
        new_executor: Option<ExecutorInfo>,
    ) {
        let record = Task {
            name: task.name.clone(),
            task_id: task.task_id.clone(),
            framework_id: launch.framework_id.clone(),
            executor_id: task.executor.as_ref().map(|e| e.executor_id.clone()),
            agent_id: launch.agent_id.clone(),
            state: TaskState::TASK_STAGING,
            resources: task.resources.clone(),
            labels: task.labels.clone(),
            user: Some(launch.framework_info.user.clone()),
            ..Default::default()
        };
        tracing::info!(framework_id = %launch.framework_id, task_id = %task.task_id, agent_id = %launch.agent_id, "Launching task");
        self.metrics.task_launched();
        if let Some(executor) = new_executor {
            launch
                .executors
                .insert(executor.executor_id.clone(), executor.clone());
            if let Some(agent) = self.agents.get_mut(&launch.agent_id) {
                agent
                    .executors
                    .entry(launch.framework_id.clone())
                    .or_default()
                    .insert(executor.executor_id.clone(), executor.clone());
            }
            if let Some(framework) = self.frameworks.get_mut(&launch.framework_id) {
                framework
                    .executors
                    .entry(launch.agent_id.clone())
                    .or_default()
                    .insert(executor.executor_id.clone(), executor);
            }
        }
        if let Some(agent) = self.agents.get_mut(&launch.agent_id) {
            agent.add_task(record.clone());
        }
        self.task_added_event(&record);
        if let Some(framework) = self.frameworks.get_mut(&launch.framework_id) {
            framework.tasks.insert(record.task_id.clone(), record);
        }
    }

    /// REVIVE: filters lifted, suppression ended, offers now.
    pub(super) fn revive(
        &mut self,
        framework_id: &FrameworkId,
        roles: Vec<String>,
        _ctx: &mut Context<Self>,
    ) {
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            let revived: HashSet<String> = if roles.is_empty() {
                framework.info.roles().into_iter().collect()
            } else {
                roles.iter().cloned().collect()
            };
            framework.suppressed_roles.retain(|r| !revived.contains(r));
        }
        self.allocator.revive(framework_id.clone(), roles);
    }

    /// SUPPRESS: no offers for these roles until REVIVE.
    pub(super) fn suppress(&mut self, framework_id: &FrameworkId, roles: Vec<String>) {
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            let suppressed = if roles.is_empty() {
                framework.info.roles()
            } else {
                roles.clone()
            };
            framework.suppressed_roles.extend(suppressed);
        }
        self.allocator.suppress(framework_id.clone(), roles);
    }

    /// Legacy launch: ACCEPT with one LAUNCH.
    pub(super) fn launch_tasks(
        &mut self,
        from: Pid,
        message: LaunchTasksMessage,
        ctx: &mut Context<Self>,
    ) {
        let accept = Accept {
            offer_ids: message.offer_ids,
            operations: vec![OfferOperation {
                kind: OperationType::LAUNCH,
                launch: Some(mesos_proto::mesos::Launch {
                    task_infos: message.tasks,
                }),
                launch_group: None,
            }],
            filters: Some(message.filters),
        };
        let call = Call {
            accept: Some(accept),
            ..legacy(message.framework_id, CallType::ACCEPT)
        };
        self.receive_call(from, call, ctx);
    }

    /// Legacy revive: REVIVE.
    pub(super) fn revive_offers(
        &mut self,
        from: Pid,
        message: ReviveOffersMessage,
        ctx: &mut Context<Self>,
    ) {
        let revive = Revive {
            roles: message.roles,
        };
        let call = Call {
            revive: Some(revive),
            ..legacy(message.framework_id, CallType::REVIVE)
        };
        self.receive_call(from, call, ctx);
    }
}

/// What the tasks of one ACCEPT are checked against, updated as they launch.
struct Launch {
    framework_id: FrameworkId,
    framework_info: mesos_proto::mesos::FrameworkInfo,
    framework_pid: Option<Pid>,
    agent_id: AgentId,
    agent_pid: Pid,
    /// The role the offers were allocated to; the tasks' resources are allocated to it.
    role: String,
    task_ids: HashSet<TaskId>,
    executors: HashMap<ExecutorId, ExecutorInfo>,
}

impl Launch {
    /// `None` when the framework or the agent is gone (offers of a removed agent are
    /// rescinded, so this does not happen after offer validation).
    fn new(
        master: &Master,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        role: String,
    ) -> Option<Self> {
        let framework = master.frameworks.get(framework_id)?;
        let agent = master.agents.get(agent_id)?;
        Some(Launch {
            framework_id: framework_id.clone(),
            framework_info: framework.info.clone(),
            framework_pid: framework.pid().cloned(),
            agent_id: agent_id.clone(),
            agent_pid: agent.pid.clone(),
            role,
            task_ids: framework.tasks.keys().cloned().collect(),
            executors: agent
                .executors
                .get(framework_id)
                .cloned()
                .unwrap_or_default(),
        })
    }
}

/// Every task an ACCEPT would launch.
fn launched_tasks(operations: &[OfferOperation]) -> impl Iterator<Item = &TaskInfo> {
    operations.iter().flat_map(|operation| {
        let launched = operation.launch.iter().flat_map(|l| l.task_infos.iter());
        let grouped = operation
            .launch_group
            .iter()
            .flat_map(|g| g.task_group.tasks.iter());
        launched.chain(grouped)
    })
}

/// The agent's HTTP address, as offers carry it.
fn agent_url(pid: &Pid, hostname: &str) -> Url {
    Url {
        scheme: "http".into(),
        address: Address {
            hostname: Some(hostname.to_owned()),
            ip: Some(pid.addr.ip().to_string()),
            port: u32::from(pid.addr.port()),
        },
        path: Some(format!("/{}", pid.id)),
    }
}
