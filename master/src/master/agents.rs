//! Agents: `RegisterSlaveMessage` and `ReregisterSlaveMessage` (admitted through the
//! registrar), `UnregisterSlaveMessage`, disconnection (`exited`), health checks that
//! mark an agent unreachable, and the master's recovery from the registry.

use std::collections::HashMap;
use std::time::SystemTime;

use libproc::{Context, Pid};
use mesos_proto::mesos::{AgentInfo, FrameworkInfo, StatusReason, Task, TaskState, TimeInfo};
use mesos_proto::messages::{
    LostSlaveMessage, MasterSlaveConnection, ReconcileTasksMessage, RegisterSlaveMessage,
    ReregisterSlaveMessage, SlaveRegisteredMessage, SlaveReregisteredMessage,
    UnregisterSlaveMessage, UpdateFrameworkMessage,
};
use mesos_proto::{AgentId, FrameworkId};

use super::Master;
use crate::agent::Agent;
use crate::agent_observer::AgentObserver;
use crate::framework::{Framework, FrameworkState};
use crate::registrar::operations::{
    AdmitAgent, MarkAgentReachable, MarkAgentUnreachable, RemoveAgent,
};
use crate::registrar::{RegistrarError, Registry};

/// How an agent leaves: its tasks' fate and what the registry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    /// It stopped answering, or did not come back in time: tasks become UNREACHABLE
    /// (partition-aware frameworks) or LOST, and it may come back.
    Unreachable,
    /// It shut down by itself: tasks are LOST, and it is forgotten.
    Unregistered,
}

impl Master {
    /// Reads the registry; until it is read, every message is dropped.
    pub(super) fn recover(&mut self, ctx: &mut Context<Self>) {
        ctx.defer(self.registrar.recover(self.info.clone()), Master::recovered);
    }

    fn recovered(&mut self, result: Result<Registry, RegistrarError>, ctx: &mut Context<Self>) {
        let registry = match result {
            Ok(registry) => registry,
            Err(error) => {
                return self.abort(format!("Could not recover the registry: {error}"), ctx);
            }
        };
        for admitted in registry.agents {
            if let Some(id) = admitted.info.id.clone() {
                self.recovered_agents.insert(id, admitted.info);
            }
        }
        for unreachable in registry.unreachable {
            self.unreachable_agents
                .insert(unreachable.id, unreachable.timestamp);
        }
        self.recovered = true;
        crate::metrics::set("registrar/log/recovered", 1.0);
        tracing::info!(
            agents = self.recovered_agents.len(),
            unreachable = self.unreachable_agents.len(),
            "Registry recovered"
        );
        if !self.recovered_agents.is_empty() {
            ctx.delay(
                self.flags.agent_reregister_timeout,
                Master::recovered_agents_timeout,
            );
        }
    }

    /// Agents from the registry that did not re-register in time are unreachable.
    fn recovered_agents_timeout(&mut self, ctx: &mut Context<Self>) {
        let missing: Vec<AgentId> = self.recovered_agents.keys().cloned().collect();
        for id in missing {
            tracing::warn!(agent_id = %id, "Agent did not re-register after master failover");
            self.recovered_agents.remove(&id);
            let time = unix_time(SystemTime::now());
            let operation = MarkAgentUnreachable {
                id: id.clone(),
                time,
            };
            ctx.defer(
                self.registrar.apply(Box::new(operation)),
                move |master: &mut Master, result, ctx| match result {
                    Ok(true) => {
                        master.unreachable_agents.insert(id, time);
                    }
                    Ok(false) => {}
                    Err(error) => master.registry_failed(error, ctx),
                },
            );
        }
    }

    /// A registry write failed: the stored registry may no longer be what this master
    /// believes (another master may have written it since), so it stops, as Mesos
    /// aborts.
    pub(crate) fn registry_failed(&mut self, error: RegistrarError, ctx: &mut Context<Self>) {
        self.abort(format!("The registry could not be written: {error}"), ctx);
    }

    /// RegisterSlaveMessage, from an agent without an id.
    pub(super) fn register_agent(
        &mut self,
        from: Pid,
        message: RegisterSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        if message.slave.hostname.is_empty() {
            return tracing::warn!(%from, "Ignoring agent registration without a hostname");
        }
        if let Some(id) = self.agent_by_pid(&from) {
            tracing::info!(agent_id = %id, %from, "Agent registered again from the same pid");
            let registered = SlaveRegisteredMessage {
                slave_id: id,
                connection: Some(self.connection()),
            };
            return ctx.send(&from, registered);
        }
        if !self.admitting.insert(from.clone()) {
            return tracing::debug!(%from, "Agent admission already in progress");
        }
        let mut info = message.slave;
        info.id = Some(self.new_agent_id());
        let admit = AdmitAgent { info: info.clone() };
        let capabilities = message.agent_capabilities;
        let version = message.version;
        ctx.defer(
            self.registrar.apply(Box::new(admit)),
            move |master: &mut Master, result, ctx| {
                master.register_agent_admitted(from, info, version, capabilities, result, ctx)
            },
        );
    }

    fn register_agent_admitted(
        &mut self,
        from: Pid,
        info: AgentInfo,
        version: String,
        capabilities: Vec<mesos_proto::mesos::AgentCapability>,
        result: Result<bool, RegistrarError>,
        ctx: &mut Context<Self>,
    ) {
        self.admitting.remove(&from);
        match result {
            Ok(true) => {}
            Ok(false) => {
                return tracing::error!(%from, "Agent id already admitted; refusing the registration")
            }
            Err(error) => return self.registry_failed(error, ctx),
        }
        let agent = Agent::new(info, from.clone(), version, capabilities, SystemTime::now());
        let id = agent.id.clone();
        tracing::info!(agent_id = %id, %from, hostname = %agent.info.hostname, resources = %agent.info.resources, "Agent registered");
        self.add_agent(agent, ctx);
        ctx.send(
            &from,
            SlaveRegisteredMessage {
                slave_id: id,
                connection: Some(self.connection()),
            },
        );
    }

    /// Starts watching an admitted agent and offering its resources.
    fn add_agent(&mut self, mut agent: Agent, ctx: &mut Context<Self>) {
        ctx.link(&agent.pid);
        agent.observer =
            AgentObserver::start(agent.id.clone(), agent.pid.clone(), ctx.addr(), &self.flags);
        self.allocator.add_agent(
            agent.id.clone(),
            agent.info.clone(),
            agent.capabilities.clone(),
            agent.used_resources(),
        );
        self.metrics.agent_registered();
        let id = agent.id.clone();
        self.agent_ids.insert(agent.pid.clone(), id.clone());
        self.agents.insert(id.clone(), agent);
        self.agent_added_event(&id);
    }

    pub(crate) fn connection(&self) -> MasterSlaveConnection {
        let total = self.flags.agent_ping_timeout * self.flags.max_agent_ping_timeouts;
        MasterSlaveConnection {
            total_ping_timeout_seconds: Some(total.as_secs_f64()),
        }
    }

    /// ReregisterSlaveMessage, from an agent with an id and its tasks.
    pub(super) fn reregister_agent(
        &mut self,
        from: Pid,
        message: ReregisterSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        let Some(id) = message.slave.id.clone() else {
            return tracing::warn!(%from, "Ignoring re-registration without an agent id");
        };
        if self.agents.contains_key(&id) {
            return self.reconnect_agent(&id, from, message, ctx);
        }
        if self.recovered_agents.remove(&id).is_some() {
            return self.readmit_agent(from, message, ctx);
        }
        if !self.admitting.insert(from.clone()) {
            return tracing::debug!(%from, "Agent re-admission already in progress");
        }
        // Unreachable, or unknown to this registry: recorded as reachable again first.
        let operation = MarkAgentReachable {
            info: message.slave.clone(),
        };
        ctx.defer(
            self.registrar.apply(Box::new(operation)),
            move |master: &mut Master, result, ctx| {
                master.admitting.remove(&from);
                match result {
                    Ok(_) => {
                        master.unreachable_agents.remove(&id);
                        master.readmit_agent(from, message, ctx);
                    }
                    Err(error) => master.registry_failed(error, ctx),
                }
            },
        );
    }

    /// Re-admits an agent with everything it runs: its tasks, executors and the
    /// frameworks it knows (re-created, as recovered, when the master does not).
    fn readmit_agent(
        &mut self,
        from: Pid,
        message: ReregisterSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        let ReregisterSlaveMessage {
            slave,
            executor_infos,
            tasks,
            frameworks,
            version,
            agent_capabilities,
            ..
        } = message;
        let mut agent = Agent::new(
            slave,
            from.clone(),
            version,
            agent_capabilities,
            SystemTime::now(),
        );
        agent.reregistered_time = Some(SystemTime::now());
        for info in frameworks {
            self.recover_framework(info);
        }
        for executor in executor_infos {
            if let Some(framework_id) = executor.framework_id.clone() {
                self.add_executor(&mut agent, &framework_id, executor);
            }
        }
        for task in tasks {
            self.readmit_task(&mut agent, task);
        }
        let id = agent.id.clone();
        tracing::info!(agent_id = %id, %from, "Agent re-registered");
        self.add_agent(agent, ctx);
        let reregistered = SlaveReregisteredMessage {
            slave_id: id.clone(),
            reconciliations: vec![],
            connection: Some(self.connection()),
        };
        ctx.send(&from, reregistered);
        self.send_framework_updates(&id, ctx);
    }

    /// A known agent re-registers (it restarted, or its connection broke): it is
    /// connected again, and told which tasks the master believes it runs.
    fn reconnect_agent(
        &mut self,
        id: &AgentId,
        from: Pid,
        message: ReregisterSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        let Some(agent) = self.agents.get_mut(id) else {
            return;
        };
        tracing::info!(agent_id = %id, %from, "Known agent re-registered");
        if let Some(timer) = agent.reregister_timer.take() {
            timer.cancel();
        }
        let old = std::mem::replace(&mut agent.pid, from.clone());
        if self.agent_ids.get(&old) == Some(id) {
            self.agent_ids.remove(&old);
        }
        self.agent_ids.insert(from.clone(), id.clone());
        agent.connected = true;
        agent.reregistered_time = Some(SystemTime::now());
        let reconciliations = reconciliations(agent, &message.tasks);
        if !agent.active {
            agent.active = true;
            self.allocator.activate_agent(id.clone());
        }
        ctx.link(&from);
        if let Some(observer) = &agent.observer {
            AgentObserver::reconnected(observer, from.clone());
        }
        let reregistered = SlaveReregisteredMessage {
            slave_id: id.clone(),
            reconciliations,
            connection: Some(self.connection()),
        };
        ctx.send(&from, reregistered);
        self.send_framework_updates(id, ctx);
    }

    fn send_framework_updates(&self, id: &AgentId, ctx: &Context<Self>) {
        let Some(agent) = self.agents.get(id) else {
            return;
        };
        for framework in self
            .frameworks
            .values()
            .filter(|f| agent.tasks.contains_key(&f.id))
        {
            let update = UpdateFrameworkMessage {
                framework_id: framework.id.clone(),
                pid: framework.pid().map(Pid::to_string),
                framework_info: Some(framework.info.clone()),
            };
            ctx.send(&agent.pid, update);
        }
    }

    /// A framework that an agent reports but the master does not know (it failed
    /// over): kept as recovered until its scheduler subscribes.
    fn recover_framework(&mut self, info: FrameworkInfo) {
        let Some(id) = info.id.clone() else {
            return;
        };
        if self.frameworks.contains_key(&id) || self.completed_frameworks.iter().any(|f| f.id == id)
        {
            return;
        }
        tracing::info!(framework_id = %id, "Recovered framework from an agent's report");
        let mut framework = Framework::new(info, None, SystemTime::now());
        framework.state = FrameworkState::Recovered;
        self.allocator.add_framework(
            id.clone(),
            framework.info.clone(),
            Default::default(),
            false,
            Default::default(),
        );
        self.frameworks.insert(id, framework);
    }

    fn add_executor(
        &mut self,
        agent: &mut Agent,
        framework_id: &FrameworkId,
        executor: mesos_proto::mesos::ExecutorInfo,
    ) {
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            framework
                .executors
                .entry(agent.id.clone())
                .or_default()
                .insert(executor.executor_id.clone(), executor.clone());
        }
        agent
            .executors
            .entry(framework_id.clone())
            .or_default()
            .insert(executor.executor_id.clone(), executor);
    }

    /// A task reported by a re-registering agent: it replaces the master's record.
    fn readmit_task(&mut self, agent: &mut Agent, mut task: Task) {
        task.agent_id = agent.id.clone();
        if let Some(framework) = self.frameworks.get_mut(&task.framework_id) {
            framework.tasks.insert(task.task_id.clone(), task.clone());
        }
        agent.add_task(task);
    }

    /// UnregisterSlaveMessage: the agent shuts down by itself.
    pub(super) fn unregister_agent(
        &mut self,
        from: Pid,
        message: UnregisterSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        let id = message.slave_id;
        if self.agents.get(&id).is_none_or(|a| a.pid != from) {
            return tracing::warn!(%from, agent_id = %id, "Ignoring unregistration from a pid that is not the agent's");
        }
        tracing::info!(agent_id = %id, "Agent unregistered");
        ctx.defer(
            self.registrar
                .apply(Box::new(RemoveAgent { id: id.clone() })),
            move |master: &mut Master, _result, ctx| {
                master.remove_agent(&id, Removal::Unregistered, ctx)
            },
        );
    }

    /// The agent's connection broke: no offers of it; tasks of frameworks that do not
    /// checkpoint are lost; it has `--agent_reregister_timeout` to come back.
    pub(super) fn agent_disconnected(&mut self, id: &AgentId, ctx: &mut Context<Self>) {
        let Some(agent) = self.agents.get_mut(id) else {
            return;
        };
        if !agent.connected {
            return;
        }
        tracing::info!(agent_id = %id, "Agent disconnected");
        agent.connected = false;
        agent.active = false;
        let agent_id = id.clone();
        agent.reregister_timer = Some(ctx.delay(
            self.flags.agent_reregister_timeout,
            move |master: &mut Master, ctx| master.agent_reregister_timeout(&agent_id, ctx),
        ));
        self.allocator.deactivate_agent(id.clone());
        self.rescind_agent_offers(id, ctx);
        self.lose_tasks_of_non_checkpointing_frameworks(id, ctx);
    }

    fn lose_tasks_of_non_checkpointing_frameworks(
        &mut self,
        id: &AgentId,
        ctx: &mut Context<Self>,
    ) {
        let Some(agent) = self.agents.get(id) else {
            return;
        };
        let lost: Vec<(FrameworkId, mesos_proto::TaskId)> = agent
            .tasks
            .iter()
            .filter(|(framework_id, _)| {
                self.frameworks
                    .get(*framework_id)
                    .is_some_and(|f| !f.info.checkpoint.unwrap_or(false))
            })
            .flat_map(|(framework_id, tasks)| {
                tasks.keys().map(move |t| (framework_id.clone(), t.clone()))
            })
            .collect();
        let frameworks: std::collections::HashSet<FrameworkId> = lost
            .iter()
            .map(|(framework_id, _)| framework_id.clone())
            .collect();
        for (framework_id, task_id) in lost {
            let update = (
                TaskState::TASK_LOST,
                StatusReason::REASON_SLAVE_DISCONNECTED,
                "Agent disconnected",
            );
            self.fail_task(&framework_id, id, &task_id, update, None, ctx);
            if let Some(agent) = self.agents.get_mut(id) {
                agent.remove_task(&framework_id, &task_id);
            }
        }
        for framework_id in frameworks {
            self.remove_executors(id, &framework_id);
        }
    }

    /// Forgets a framework's executors on an agent and returns their resources.
    fn remove_executors(&mut self, agent_id: &AgentId, framework_id: &FrameworkId) {
        let executors = self
            .agents
            .get_mut(agent_id)
            .and_then(|agent| agent.executors.remove(framework_id))
            .unwrap_or_default();
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            framework.executors.remove(agent_id);
        }
        for executor in executors.into_values() {
            self.allocator.recover_resources(
                framework_id.clone(),
                agent_id.clone(),
                executor.resources,
                None,
            );
        }
    }

    fn agent_reregister_timeout(&mut self, id: &AgentId, ctx: &mut Context<Self>) {
        if self.agents.get(id).is_some_and(|a| !a.connected) {
            tracing::warn!(agent_id = %id, "Agent did not re-register in time");
            self.mark_unreachable(id, ctx);
        }
    }

    /// The agent failed its health checks or did not come back: recorded as
    /// unreachable in the registry, then removed.
    pub(crate) fn mark_unreachable(&mut self, id: &AgentId, ctx: &mut Context<Self>) {
        if !self.agents.contains_key(id) {
            return;
        }
        let time = unix_time(SystemTime::now());
        let operation = MarkAgentUnreachable {
            id: id.clone(),
            time,
        };
        let id = id.clone();
        ctx.defer(
            self.registrar.apply(Box::new(operation)),
            move |master: &mut Master, result, ctx| match result {
                Ok(_) => {
                    master.unreachable_agents.insert(id.clone(), time);
                    master.remove_agent(&id, Removal::Unreachable, ctx);
                }
                Err(error) => master.registry_failed(error, ctx),
            },
        );
    }

    /// Removes an agent: its tasks get their last update, frameworks hear it is lost,
    /// its offers are rescinded and its resources leave the pool.
    pub(crate) fn remove_agent(&mut self, id: &AgentId, removal: Removal, ctx: &mut Context<Self>) {
        self.rescind_agent_offers(id, ctx);
        let Some(agent) = self.agents.remove(id) else {
            return;
        };
        if self.agent_ids.get(&agent.pid) == Some(id) {
            self.agent_ids.remove(&agent.pid);
        }
        let unreachable_time = unix_time(SystemTime::now());
        for (framework_id, tasks) in &agent.tasks {
            for task_id in tasks.keys() {
                let partition_aware = self
                    .frameworks
                    .get(framework_id)
                    .is_some_and(Framework::is_partition_aware);
                let state = match (removal, partition_aware) {
                    (Removal::Unreachable, true) => TaskState::TASK_UNREACHABLE,
                    _ => TaskState::TASK_LOST,
                };
                let update = (state, StatusReason::REASON_SLAVE_REMOVED, "Agent removed");
                self.fail_task(
                    framework_id,
                    id,
                    task_id,
                    update,
                    Some(unreachable_time),
                    ctx,
                );
            }
        }
        for framework in self.frameworks.values_mut() {
            framework.executors.remove(id);
        }
        if let Some(observer) = &agent.observer {
            libproc::terminate(observer.pid());
        }
        if let Some(timer) = &agent.reregister_timer {
            timer.cancel();
        }
        self.allocator.remove_agent(id.clone());
        self.metrics.agent_removed();
        for framework_id in self.frameworks.keys() {
            let lost = LostSlaveMessage {
                slave_id: id.clone(),
            };
            self.send_to_framework(framework_id, lost, ctx);
        }
        self.agent_removed_event(id);
        tracing::info!(agent_id = %id, ?removal, "Agent removed");
    }
}

/// Per framework, the tasks the master believes run on the agent but that the agent
/// did not report, so that it answers for them.
fn reconciliations(agent: &Agent, reported: &[Task]) -> Vec<ReconcileTasksMessage> {
    let reported: HashMap<_, _> = reported.iter().map(|t| (&t.task_id, t)).collect();
    agent
        .tasks
        .iter()
        .filter_map(|(framework_id, tasks)| {
            let statuses: Vec<_> = tasks
                .values()
                .filter(|t| !t.state.is_terminal() && !reported.contains_key(&t.task_id))
                .map(|t| mesos_proto::mesos::TaskStatus {
                    task_id: t.task_id.clone(),
                    state: t.state,
                    agent_id: Some(agent.id.clone()),
                    ..Default::default()
                })
                .collect();
            (!statuses.is_empty()).then(|| ReconcileTasksMessage {
                framework_id: framework_id.clone(),
                statuses,
                framework: None,
            })
        })
        .collect()
}

pub(crate) fn unix_time(time: SystemTime) -> TimeInfo {
    let nanos = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    TimeInfo {
        nanoseconds: i64::try_from(nanos).unwrap_or(i64::MAX),
    }
}
