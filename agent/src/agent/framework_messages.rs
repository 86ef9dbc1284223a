//! Opaque data between schedulers and executors, through the agent:
//! `FrameworkToExecutorMessage` from the master goes to the registered executor;
//! `ExecutorToFrameworkMessage` from an executor goes to its scheduler's pid when the
//! framework has one (a driver-based scheduler), else through the master (HTTP
//! schedulers). Best effort, as in Mesos: nothing is retried.

use libproc::{Context, Pid};
use mesos_proto::messages::{ExecutorToFrameworkMessage, FrameworkToExecutorMessage};

use super::executor::ExecutorState;
use super::Agent;

impl Agent {
    /// FrameworkToExecutorMessage, from the master.
    pub(super) fn framework_to_executor(
        &mut self,
        from: Pid,
        message: FrameworkToExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        if !self.is_master(&from) {
            return;
        }
        let key = (message.framework_id.clone(), message.executor_id.clone());
        let target = self
            .executors
            .get(&key)
            .filter(|e| e.state == ExecutorState::Running)
            .and_then(|e| e.pid.clone());
        match target {
            Some(pid) => {
                self.metrics.valid_framework_message();
                ctx.send(&pid, message);
            }
            None => {
                self.metrics.invalid_framework_message();
                tracing::warn!(framework_id = %key.0, executor_id = %key.1, "Dropping a framework message for an executor that is not running");
            }
        }
    }

    /// ExecutorToFrameworkMessage, from an executor.
    pub(super) fn executor_to_framework(
        &mut self,
        from: Pid,
        message: ExecutorToFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        let key = (message.framework_id.clone(), message.executor_id.clone());
        let Some(executor) = self
            .executors
            .get(&key)
            .filter(|e| e.pid.as_ref() == Some(&from))
        else {
            return tracing::warn!(%from, executor_id = %key.1, "Ignoring a framework message from a pid that is not the executor's");
        };
        let scheduler = executor
            .framework_pid
            .as_deref()
            .and_then(|pid| pid.parse::<Pid>().ok());
        let message = ExecutorToFrameworkMessage {
            slave_id: self.agent_id(),
            ..message
        };
        match scheduler {
            Some(pid) => ctx.send(&pid, message),
            None => self.send_to_master(message, ctx),
        }
    }
}
