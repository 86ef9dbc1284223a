//! How executors end: shut down gracefully at the master's word
//! (`ShutdownFrameworkMessage`, `ShutdownExecutorMessage`) or the agent's, destroyed
//! when they overstay (`--executor_shutdown_grace_period`) or break a rule (registration
//! timeouts), and reported once their process is gone: unfinished tasks get a final
//! update with the reason, the master hears of a custom executor's end, the run is
//! marked complete in the checkpoints.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use libproc::{Context, Pid};
use mesos_proto::mesos::{StatusReason, TaskState};
use mesos_proto::messages::{
    ExitedExecutorMessage, ShutdownExecutorMessage, ShutdownFrameworkMessage,
};
use mesos_proto::FrameworkId;

use super::executor::{ExecutorKey, ExecutorState, Termination};
use super::{Agent, State};

/// Completed executors kept per framework (Mesos's
/// `--max_completed_executors_per_framework` default).
const MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK: usize = 150;
use crate::launcher;

impl Agent {
    /// ShutdownFrameworkMessage, from the master: the framework is gone; its executors
    /// are shut down and its pending updates dropped (nobody would acknowledge them).
    pub(super) fn shutdown_framework(
        &mut self,
        from: Pid,
        message: ShutdownFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        if !self.is_master(&from) {
            return;
        }
        let framework_id = message.framework_id;
        tracing::info!(%framework_id, "Shutting down framework");
        self.terminating_frameworks.insert(framework_id.clone());
        if let Some(manager) = &self.manager {
            let cleaned = framework_id.clone();
            drop(libproc::dispatch(manager, move |manager, _| {
                manager.cleanup(&cleaned)
            }));
        }
        let keys = self.executor_keys(|key| key.0 == framework_id);
        if keys.is_empty() {
            self.terminating_frameworks.remove(&framework_id);
        }
        for key in keys {
            self.shutdown_executor(&key, ctx);
        }
    }

    /// ShutdownExecutorMessage, from the master (a scheduler's SHUTDOWN call).
    pub(super) fn shutdown_executor_message(
        &mut self,
        from: Pid,
        message: ShutdownExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        if !self.is_master(&from) {
            return;
        }
        let (Some(framework_id), Some(executor_id)) = (message.framework_id, message.executor_id)
        else {
            return tracing::warn!("Ignoring a shutdown without framework or executor id");
        };
        let key = (framework_id, executor_id);
        if !self.executors.contains_key(&key) {
            return tracing::warn!(executor_id = %key.1, "Ignoring a shutdown of an unknown executor");
        }
        self.shutdown_executor(&key, ctx);
    }

    /// Asks the executor to shut down, and destroys it if it is still there after the
    /// grace period; an executor that never registered is destroyed at once.
    pub(super) fn shutdown_executor(&mut self, key: &ExecutorKey, ctx: &mut Context<Self>) {
        let Some(executor) = self.executors.get_mut(key) else {
            return;
        };
        if executor.state == ExecutorState::Terminating {
            return;
        }
        tracing::info!(framework_id = %key.0, executor_id = %key.1, "Shutting down executor");
        let termination = Termination {
            state: TaskState::TASK_KILLED,
            reason: StatusReason::REASON_EXECUTOR_TERMINATED,
            message: "Executor shut down".to_owned(),
        };
        match (executor.state, &executor.connection) {
            (ExecutorState::Running, Some(_)) => {
                executor.state = ExecutorState::Terminating;
                executor.termination = Some(termination);
                let shutdown = ShutdownExecutorMessage {
                    executor_id: Some(key.1.clone()),
                    framework_id: Some(key.0.clone()),
                };
                executor.send(shutdown, ctx);
                let (grace, container_id) = (
                    self.flags.executor_shutdown_grace_period,
                    executor.container_id.clone(),
                );
                let overstayed = key.clone();
                ctx.delay(grace, move |agent: &mut Agent, ctx| {
                    agent.shutdown_timeout(&overstayed, &container_id, ctx)
                });
            }
            _ => self.destroy_executor(key, termination, ctx),
        }
    }

    /// The grace period is over: an executor of the same run still there is destroyed.
    fn shutdown_timeout(
        &mut self,
        key: &ExecutorKey,
        container_id: &mesos_proto::ContainerId,
        ctx: &mut Context<Self>,
    ) {
        let Some(executor) = self
            .executors
            .get(key)
            .filter(|e| &e.container_id == container_id)
        else {
            return;
        };
        tracing::warn!(executor_id = %key.1, "Executor did not shut down within the grace period; destroying it");
        let termination = executor.termination.clone().unwrap_or(Termination {
            state: TaskState::TASK_KILLED,
            reason: StatusReason::REASON_EXECUTOR_TERMINATED,
            message: "Executor did not shut down in time".to_owned(),
        });
        self.destroy_executor(key, termination, ctx);
    }

    /// Kills the executor's whole container now; its end is reported when its process
    /// is reaped, with `termination` for its unfinished tasks.
    pub(super) fn destroy_executor(
        &mut self,
        key: &ExecutorKey,
        termination: Termination,
        ctx: &mut Context<Self>,
    ) {
        let Some(executor) = self.executors.get_mut(key) else {
            return;
        };
        tracing::info!(framework_id = %key.0, executor_id = %key.1, container_id = %executor.container_id, reason = ?termination.reason, "Destroying executor");
        executor.state = ExecutorState::Terminating;
        executor.termination = Some(termination);
        if executor.os_pid == 0 {
            // Still fetching: nothing runs yet, the executor ends here.
            return self.executor_exited(key, None, ctx);
        }
        let container_id = executor.container_id.clone();
        self.destroy_container(&container_id, ctx);
    }

    /// The executor's process ended: its unfinished tasks get their final update (not
    /// for a framework being shut down), the master hears of a custom executor's end,
    /// and the run is complete.
    pub(super) fn executor_exited(
        &mut self,
        key: &ExecutorKey,
        status: Option<ExitStatus>,
        ctx: &mut Context<Self>,
    ) {
        let Some(executor) = self.executors.get(key) else {
            return;
        };
        let described = status.map_or_else(|| "unknown".to_owned(), launcher::describe_exit);
        tracing::info!(framework_id = %key.0, executor_id = %key.1, status = %described, "Executor exited");
        self.metrics.executor_terminated();
        let termination = executor
            .termination
            .clone()
            .or_else(|| self.container_limitation(&executor.container_id))
            .unwrap_or_else(|| Termination {
                state: TaskState::TASK_FAILED,
                reason: StatusReason::REASON_EXECUTOR_TERMINATED,
                message: format!("Executor terminated: {described}"),
            });
        let unfinished = executor.unfinished();
        if !self.terminating_frameworks.contains(&key.0) {
            for task_id in &unfinished {
                let status = self.agent_status(
                    task_id,
                    Some(&key.1),
                    termination.state,
                    termination.reason,
                    &termination.message,
                );
                self.send_update(&key.0, status, ctx);
            }
        }
        let Some(executor) = self.executors.get(key) else {
            return;
        };
        self.checkpoint_sentinel(key, executor);
        if !executor.is_command_executor() && self.state == State::Running {
            let exited = ExitedExecutorMessage {
                slave_id: self.agent_id(),
                framework_id: key.0.clone(),
                executor_id: key.1.clone(),
                status: status.map_or(-1, |s| s.into_raw()),
            };
            self.send_to_master(exited, ctx);
        }
        if let Some(mut executor) = self.executors.remove(key) {
            self.container_ended(key, &executor, ctx);
            for task_id in unfinished {
                if let Some((_, state)) = executor.launched.get_mut(&task_id) {
                    *state = termination.state;
                }
            }
            self.remember_completed(key.clone(), executor);
        }
        self.framework_done(&key.0);
        self.terminate_when_idle(ctx);
    }

    /// Keeps an ended executor for `/state` (its sandbox stays browsable until
    /// collected), at most `MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK` per framework.
    fn remember_completed(&mut self, key: ExecutorKey, executor: super::executor::Executor) {
        let completed = self.completed_executors.entry(key.0.clone()).or_default();
        completed.push_back((key, executor));
        while completed.len() > MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK {
            completed.pop_front();
        }
    }

    /// Forgets a terminating framework once its last executor is gone.
    fn framework_done(&mut self, framework_id: &FrameworkId) {
        if self.executors.keys().all(|key| &key.0 != framework_id) {
            self.terminating_frameworks.remove(framework_id);
        }
    }

    /// A terminating agent stops once its executors and their containers are gone.
    pub(super) fn terminate_when_idle(&mut self, ctx: &mut Context<Self>) {
        if self.state == State::Terminating && self.executors.is_empty() && self.destroying == 0 {
            tracing::info!("Every executor is gone; the agent stops");
            ctx.terminate();
        }
    }

    /// The keys of the executors that `matches` picks.
    pub(super) fn executor_keys(&self, matches: impl Fn(&ExecutorKey) -> bool) -> Vec<ExecutorKey> {
        self.executors
            .keys()
            .filter(|k| matches(k))
            .cloned()
            .collect()
    }
}
