//! Tasks after launch: `StatusUpdateMessage` from agents, forwarded to schedulers;
//! ACKNOWLEDGE (and legacy `StatusUpdateAcknowledgementMessage`) forwarded to agents;
//! KILL (`KillTaskMessage`); RECONCILE (`ReconcileTasksMessage`); SHUTDOWN of an
//! executor; `ExitedExecutorMessage`; and the messages between schedulers and
//! executors (`FrameworkToExecutorMessage`, `ExecutorToFrameworkMessage`).

use libproc::{Context, Pid};
use mesos_proto::mesos::{
    StatusReason, StatusSource, Task, TaskInfo, TaskState, TaskStatus, TimeInfo,
};
use mesos_proto::messages::{
    ExecutorToFrameworkMessage, ExitedExecutorMessage, FrameworkToExecutorMessage, KillTaskMessage,
    ReconcileTasksMessage, ResourceRequestMessage, ShutdownExecutorMessage, StatusUpdate,
    StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos_proto::scheduler::{
    Acknowledge, Call, CallType, FrameworkMessage, Kill, Reconcile, ReconcileTask, Shutdown,
};
use mesos_proto::{AgentId, FrameworkId, TaskId};

use super::{legacy, Master};
use crate::framework::{is_released, Framework};

/// A status the master generates for a task it knows.
pub(crate) fn master_status(
    task: &Task,
    state: TaskState,
    reason: StatusReason,
    message: &str,
) -> TaskStatus {
    TaskStatus {
        task_id: task.task_id.clone(),
        state,
        message: Some(message.to_owned()),
        source: Some(StatusSource::SOURCE_MASTER),
        reason: Some(reason),
        agent_id: Some(task.agent_id.clone()),
        executor_id: task.executor_id.clone(),
        timestamp: Some(Master::now_secs()),
        ..Default::default()
    }
}

/// A status the master generates for a task that was never launched.
pub(crate) fn status_for(
    task: &TaskInfo,
    state: TaskState,
    reason: StatusReason,
    message: &str,
) -> TaskStatus {
    TaskStatus {
        task_id: task.task_id.clone(),
        state,
        message: Some(message.to_owned()),
        source: Some(StatusSource::SOURCE_MASTER),
        reason: Some(reason),
        agent_id: Some(task.agent_id.clone()),
        timestamp: Some(Master::now_secs()),
        ..Default::default()
    }
}

impl Master {
    /// Sends a status the master generated: no uuid, so no acknowledgement is expected.
    pub(crate) fn send_master_update(
        &self,
        framework_id: &FrameworkId,
        status: TaskStatus,
        ctx: &Context<Self>,
    ) {
        let update = StatusUpdate {
            framework_id: framework_id.clone(),
            executor_id: status.executor_id.clone(),
            slave_id: status.agent_id.clone(),
            timestamp: status.timestamp.unwrap_or_else(Master::now_secs),
            status,
            uuid: None,
            latest_state: None,
        };
        self.send_to_framework(framework_id, StatusUpdateMessage { update, pid: None }, ctx);
    }

    /// Ends a task by the master's decision (agent removed or disconnected): its
    /// record takes the state, the framework hears it, and its resources are released.
    pub(crate) fn fail_task(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        task_id: &TaskId,
        (state, reason, message): (TaskState, StatusReason, &str),
        unreachable_time: Option<TimeInfo>,
        ctx: &mut Context<Self>,
    ) {
        let limit = self.flags.max_completed_tasks_per_framework;
        let Some(framework) = self.frameworks.get_mut(framework_id) else {
            return;
        };
        let Some(task) = framework.tasks.get_mut(task_id) else {
            return;
        };
        let was_released = is_released(task.state);
        let mut status = master_status(task, state, reason, message);
        status.unreachable_time = unreachable_time;
        task.state = state;
        task.statuses.push(status.clone());
        let resources = task.resources.clone();
        let updated = task.clone();
        if state.is_terminal() {
            // No acknowledgement will come for an update without uuid.
            framework.complete_task(task_id, limit);
        }
        if !was_released {
            self.allocator.recover_resources(
                framework_id.clone(),
                agent_id.clone(),
                resources,
                None,
            );
        }
        self.metrics.task_state(state);
        self.task_updated_event(&updated);
        self.send_master_update(framework_id, status, ctx);
    }

    /// StatusUpdateMessage, from an agent: the task's record follows it, and it is
    /// forwarded to the scheduler, who acknowledges it. A framework that is not
    /// connected does not get it; the agent retries until it is acknowledged.
    pub(super) fn status_update(
        &mut self,
        from: Pid,
        message: StatusUpdateMessage,
        ctx: &mut Context<Self>,
    ) {
        let update = &message.update;
        let agent_id = update.slave_id.clone().unwrap_or_default();
        if self.agents.get(&agent_id).is_none_or(|a| a.pid != from) {
            self.metrics.invalid_status_update();
            return tracing::warn!(%from, agent_id = %agent_id, "Ignoring status update from an unknown agent");
        }
        let Some(framework) = self.frameworks.get_mut(&update.framework_id) else {
            self.metrics.invalid_status_update();
            return tracing::warn!(framework_id = %update.framework_id, "Ignoring status update for an unknown framework");
        };
        let released = apply_update(framework, update);
        let framework_id = update.framework_id.clone();
        let updated = framework.tasks.get(&update.status.task_id).cloned();
        let state = updated.as_ref().map(|t| t.state);
        if let (Some(state), Some(agent)) = (state, self.agents.get_mut(&agent_id)) {
            if let Some(task) = agent
                .tasks
                .get_mut(&framework_id)
                .and_then(|t| t.get_mut(&update.status.task_id))
            {
                task.state = state;
            }
        }
        if let Some(resources) = released {
            self.allocator.recover_resources(
                framework_id.clone(),
                agent_id.clone(),
                resources,
                None,
            );
        }
        tracing::info!(framework_id = %framework_id, task_id = %update.status.task_id, state = %update.status.state, "Status update");
        if let Some(task) = &updated {
            self.task_updated_event(task);
        }
        self.metrics.valid_status_update(update.status.state);
        let mut forwarded = message;
        forwarded.pid = Some(from.to_string());
        self.send_to_framework(&framework_id, forwarded, ctx);
    }

    /// ACKNOWLEDGE: forwarded to the agent; an acknowledged terminal update ends the
    /// task's life in the master.
    pub(super) fn acknowledge(
        &mut self,
        framework_id: &FrameworkId,
        acknowledge: Acknowledge,
        ctx: &mut Context<Self>,
    ) {
        let Acknowledge {
            agent_id,
            task_id,
            uuid,
        } = acknowledge;
        let Some(agent) = self.agents.get_mut(&agent_id).filter(|a| a.connected) else {
            return tracing::warn!(framework_id = %framework_id, agent_id = %agent_id, "Ignoring acknowledgement for an agent that is not connected");
        };
        let limit = self.flags.max_completed_tasks_per_framework;
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            let acknowledged_terminal = framework.tasks.get(&task_id).is_some_and(|task| {
                task.status_update_uuid.as_deref() == Some(uuid.as_slice())
                    && task.status_update_state.is_some_and(TaskState::is_terminal)
            });
            if acknowledged_terminal {
                framework.complete_task(&task_id, limit);
                agent.remove_task(framework_id, &task_id);
            }
        }
        let acknowledgement = StatusUpdateAcknowledgementMessage {
            slave_id: agent_id,
            framework_id: framework_id.clone(),
            task_id,
            uuid,
        };
        ctx.send(&agent.pid, acknowledgement);
    }

    /// Legacy acknowledgement: ACKNOWLEDGE.
    pub(super) fn status_update_acknowledgement(
        &mut self,
        from: Pid,
        message: StatusUpdateAcknowledgementMessage,
        ctx: &mut Context<Self>,
    ) {
        let acknowledge = Acknowledge {
            agent_id: message.slave_id,
            task_id: message.task_id,
            uuid: message.uuid,
        };
        let call = Call {
            acknowledge: Some(acknowledge),
            ..legacy(message.framework_id, CallType::ACKNOWLEDGE)
        };
        self.receive_call(from, call, ctx);
    }

    /// KILL: forwarded to the task's agent; an unknown task is reconciled instead.
    pub(super) fn kill(&mut self, framework_id: &FrameworkId, kill: Kill, ctx: &mut Context<Self>) {
        let agent_id = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.tasks.get(&kill.task_id))
            .map(|t| t.agent_id.clone());
        let Some(agent_id) = agent_id else {
            tracing::info!(framework_id = %framework_id, task_id = %kill.task_id, "Kill of an unknown task; reconciling it");
            let task = ReconcileTask {
                task_id: kill.task_id,
                agent_id: kill.agent_id,
            };
            return self.reconcile(framework_id, vec![task], ctx);
        };
        tracing::info!(framework_id = %framework_id, task_id = %kill.task_id, "Killing task");
        if let Some(agent) = self.agents.get(&agent_id).filter(|a| a.connected) {
            let message = KillTaskMessage {
                framework_id: framework_id.clone(),
                task_id: kill.task_id,
                kill_policy: kill.kill_policy,
            };
            ctx.send(&agent.pid, message);
        }
    }

    /// Legacy kill: KILL.
    pub(super) fn kill_task(
        &mut self,
        from: Pid,
        message: KillTaskMessage,
        ctx: &mut Context<Self>,
    ) {
        let kill = Kill {
            task_id: message.task_id,
            agent_id: None,
            kill_policy: message.kill_policy,
        };
        let call = Call {
            kill: Some(kill),
            ..legacy(message.framework_id, CallType::KILL)
        };
        self.receive_call(from, call, ctx);
    }

    /// RECONCILE: the latest state of the framework's tasks (implicit, when empty), or
    /// of the listed ones (explicit), as updates without uuid.
    pub(crate) fn reconcile(
        &mut self,
        framework_id: &FrameworkId,
        tasks: Vec<ReconcileTask>,
        ctx: &mut Context<Self>,
    ) {
        let Some(framework) = self.frameworks.get(framework_id) else {
            return;
        };
        let statuses: Vec<TaskStatus> = if tasks.is_empty() {
            framework
                .tasks
                .values()
                .map(reconciliation_status)
                .collect()
        } else {
            tasks
                .iter()
                .filter_map(|t| self.explicit_reconciliation(framework, t))
                .collect()
        };
        for status in statuses {
            self.send_master_update(framework_id, status, ctx);
        }
    }

    /// The answer for one task of an explicit reconciliation, or none while its agent
    /// may still re-register after a master failover.
    fn explicit_reconciliation(
        &self,
        framework: &Framework,
        task: &ReconcileTask,
    ) -> Option<TaskStatus> {
        if let Some(known) = framework.tasks.get(&task.task_id) {
            return Some(reconciliation_status(known));
        }
        let partition_aware = framework.is_partition_aware();
        let pick = |aware: TaskState| {
            if partition_aware {
                aware
            } else {
                TaskState::TASK_LOST
            }
        };
        let (state, unreachable_time) = match &task.agent_id {
            Some(agent) if self.recovered_agents.contains_key(agent) => return None,
            None if !self.recovered_agents.is_empty() => return None,
            Some(agent) if self.agents.contains_key(agent) => (pick(TaskState::TASK_GONE), None),
            Some(agent) if self.unreachable_agents.contains_key(agent) => {
                let time = self.unreachable_agents.get(agent).copied();
                (pick(TaskState::TASK_UNREACHABLE), time)
            }
            _ => (pick(TaskState::TASK_UNKNOWN), None),
        };
        Some(TaskStatus {
            task_id: task.task_id.clone(),
            state,
            message: Some("Reconciliation: task is unknown".into()),
            source: Some(StatusSource::SOURCE_MASTER),
            reason: Some(StatusReason::REASON_RECONCILIATION),
            agent_id: task.agent_id.clone(),
            timestamp: Some(Master::now_secs()),
            unreachable_time,
            ..Default::default()
        })
    }

    /// Legacy reconciliation: RECONCILE.
    pub(super) fn reconcile_tasks(
        &mut self,
        from: Pid,
        message: ReconcileTasksMessage,
        ctx: &mut Context<Self>,
    ) {
        let tasks = message
            .statuses
            .into_iter()
            .map(|s| ReconcileTask {
                task_id: s.task_id,
                agent_id: s.agent_id,
            })
            .collect();
        let call = Call {
            reconcile: Some(Reconcile { tasks }),
            ..legacy(message.framework_id, CallType::RECONCILE)
        };
        self.receive_call(from, call, ctx);
    }

    /// SHUTDOWN: the agent stops the executor.
    pub(super) fn shutdown_executor(
        &mut self,
        framework_id: &FrameworkId,
        shutdown: Shutdown,
        ctx: &mut Context<Self>,
    ) {
        if let Some(agent) = self.agents.get(&shutdown.agent_id).filter(|a| a.connected) {
            let message = ShutdownExecutorMessage {
                executor_id: Some(shutdown.executor_id),
                framework_id: Some(framework_id.clone()),
            };
            ctx.send(&agent.pid, message);
        }
    }

    /// MESSAGE: opaque data for an executor, through its agent.
    pub(super) fn message(
        &mut self,
        framework_id: &FrameworkId,
        message: FrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        let Some(agent) = self.agents.get(&message.agent_id).filter(|a| a.connected) else {
            return tracing::warn!(framework_id = %framework_id, agent_id = %message.agent_id, "Dropping framework message for an agent that is not connected");
        };
        let forward = FrameworkToExecutorMessage {
            slave_id: message.agent_id,
            framework_id: framework_id.clone(),
            executor_id: message.executor_id,
            data: message.data,
        };
        ctx.send(&agent.pid, forward);
    }

    /// Legacy framework message: MESSAGE.
    pub(super) fn framework_to_executor(
        &mut self,
        from: Pid,
        message: FrameworkToExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        let data = FrameworkMessage {
            agent_id: message.slave_id,
            executor_id: message.executor_id,
            data: message.data,
        };
        let call = Call {
            message: Some(data),
            ..legacy(message.framework_id, CallType::MESSAGE)
        };
        self.receive_call(from, call, ctx);
    }

    /// ResourceRequestMessage: a hint the allocator ignores, as Mesos's does.
    pub(super) fn resource_request(
        &mut self,
        from: Pid,
        message: ResourceRequestMessage,
        _ctx: &mut Context<Self>,
    ) {
        tracing::debug!(%from, framework_id = %message.framework_id, requests = message.requests.len(), "Ignoring resource request");
    }

    /// ExecutorToFrameworkMessage, from an agent that does not know the scheduler's pid.
    pub(super) fn executor_to_framework(
        &mut self,
        from: Pid,
        message: ExecutorToFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        if self
            .agents
            .get(&message.slave_id)
            .is_none_or(|a| a.pid != from)
        {
            return tracing::warn!(%from, "Ignoring executor message from an unknown agent");
        }
        let framework_id = message.framework_id.clone();
        self.send_to_framework(&framework_id, message, ctx);
    }

    /// ExitedExecutorMessage, from an agent: the executor's resources return to the
    /// pool and the scheduler is told.
    pub(super) fn exited_executor(
        &mut self,
        from: Pid,
        message: ExitedExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        let Some(agent) = self
            .agents
            .get_mut(&message.slave_id)
            .filter(|a| a.pid == from)
        else {
            return tracing::warn!(%from, "Ignoring executor exit from an unknown agent");
        };
        let executor = agent
            .executors
            .get_mut(&message.framework_id)
            .and_then(|executors| executors.remove(&message.executor_id));
        if let Some(framework) = self.frameworks.get_mut(&message.framework_id) {
            if let Some(executors) = framework.executors.get_mut(&message.slave_id) {
                executors.remove(&message.executor_id);
            }
        }
        if let Some(executor) = executor {
            tracing::info!(framework_id = %message.framework_id, executor_id = %message.executor_id, status = message.status, "Executor exited");
            self.allocator.recover_resources(
                message.framework_id.clone(),
                message.slave_id.clone(),
                executor.resources,
                None,
            );
        }
        let framework_id = message.framework_id.clone();
        self.send_to_framework(&framework_id, message, ctx);
    }
}

/// Applies an agent's update to the framework's record of the task; returns the
/// resources when the update releases them (it became terminal or unreachable).
fn apply_update(
    framework: &mut Framework,
    update: &StatusUpdate,
) -> Option<mesos_proto::Resources> {
    let task = framework.tasks.get_mut(&update.status.task_id)?;
    let was_released = is_released(task.state);
    let latest = update.latest_state.unwrap_or(update.status.state);
    if !task.state.is_terminal() {
        task.state = latest;
    }
    let mut status = update.status.clone();
    status.data = None;
    match task.statuses.last_mut() {
        Some(last) if last.state == status.state => *last = status,
        _ => task.statuses.push(status),
    }
    task.status_update_state = Some(update.status.state);
    task.status_update_uuid = update.uuid.clone().or_else(|| update.status.uuid.clone());
    (!was_released && is_released(task.state)).then(|| task.resources.clone())
}

/// A reconciliation answer for a known task: its latest state.
fn reconciliation_status(task: &Task) -> TaskStatus {
    let latest = task.statuses.last();
    TaskStatus {
        task_id: task.task_id.clone(),
        state: task.status_update_state.unwrap_or(task.state),
        message: Some("Reconciliation: latest task status".into()),
        source: Some(StatusSource::SOURCE_MASTER),
        reason: Some(StatusReason::REASON_RECONCILIATION),
        agent_id: Some(task.agent_id.clone()),
        executor_id: task.executor_id.clone(),
        timestamp: Some(Master::now_secs()),
        healthy: latest.and_then(|s| s.healthy),
        labels: latest.and_then(|s| s.labels.clone()),
        unreachable_time: latest.and_then(|s| s.unreachable_time),
        ..Default::default()
    }
}
