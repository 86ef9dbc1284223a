//! Opaque data between schedulers and executors, through the agent:
//! `FrameworkToExecutorMessage` from the master goes to the registered executor;
//! `ExecutorToFrameworkMessage` from an executor goes to its scheduler's pid when the
//! framework has one (a driver-based scheduler), else through the master (HTTP
//! schedulers). Best effort, as in Mesos: nothing is retried.

use libproc::{Context, Pid};
use mesos_proto::messages::{ExecutorToFrameworkMessage, FrameworkToExecutorMessage};

use super::executor::{ExecutorKey, ExecutorState};
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
            .filter(|e| e.state == ExecutorState::Running && e.connection.is_some());
        match target {
            Some(executor) => {
                self.metrics.valid_framework_message();
                executor.send(message, ctx);
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
        if !self.executors.get(&key).is_some_and(|e| e.is_pid(&from)) {
            return tracing::warn!(%from, executor_id = %key.1, "Ignoring a framework message from a pid that is not the executor's");
        }
        self.forward_to_framework(&key, message.data, ctx);
    }

    /// Sends an executor's data to its scheduler.
    pub(super) fn forward_to_framework(
        &mut self,
        key: &ExecutorKey,
        data: Vec<u8>,
        ctx: &mut Context<Self>,
    ) {
        let Some(executor) = self.executors.get(key) else {
            return;
        };
        let scheduler = executor
            .framework_pid
            .as_deref()
            .and_then(|pid| pid.parse::<Pid>().ok());
        let message = ExecutorToFrameworkMessage {
            slave_id: self.agent_id(),
            framework_id: key.0.clone(),
            executor_id: key.1.clone(),
            data,
        };
        match scheduler {
            Some(pid) => ctx.send(&pid, message),
            None => self.send_to_master(message, ctx),
        }
    }
}
