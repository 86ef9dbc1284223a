//! `ExecutorProcess`: the driver's libproc process, which speaks the executor side of
//! the executor <-> agent protocol.
//!
//! From the agent: `ExecutorRegisteredMessage`, `ReconnectExecutorMessage`,
//! `ExecutorReregisteredMessage`, `RunTaskMessage`, `KillTaskMessage`,
//! `FrameworkToExecutorMessage`, `ShutdownExecutorMessage` and
//! `StatusUpdateAcknowledgementMessage`. To the agent: `RegisterExecutorMessage`,
//! `ReregisterExecutorMessage`, `StatusUpdateMessage` and
//! `ExecutorToFrameworkMessage`.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use libproc::{Context, Message, Pid, Process, RemoteConnection};
use mesos_proto::mesos::{StatusSource, TaskInfo, TaskStatus};
use mesos_proto::messages::{
    ExecutorRegisteredMessage, ExecutorReregisteredMessage, ExecutorToFrameworkMessage,
    FrameworkToExecutorMessage, KillTaskMessage, ReconnectExecutorMessage, RegisterExecutorMessage,
    ReregisterExecutorMessage, RunTaskMessage, ShutdownExecutorMessage, StatusUpdate,
    StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos_proto::{AgentId, TaskId};

use crate::driver::{ExecutorDriver, MesosExecutorDriver};
use crate::env::ExecutorEnv;
use crate::executor::Executor;

/// The executor's side of its connection to the agent (Mesos `ExecutorProcess`).
pub(crate) struct ExecutorProcess {
    env: ExecutorEnv,
    executor: Box<dyn Executor>,
    /// The facade, handed to every callback.
    driver: MesosExecutorDriver,
    agent_id: AgentId,
    /// Registered (or re-registered) and the link to the agent is up.
    connected: bool,
    /// Shutting down or aborted: messages from the agent are dropped.
    aborted: bool,
    /// Counts connections to the agent, so a recovery timeout of an old one is moot.
    connection: u64,
    /// Tasks whose first update the agent has not acknowledged.
    tasks: BTreeMap<TaskId, TaskInfo>,
    /// Updates the agent has not acknowledged, oldest first.
    updates: Vec<StatusUpdate>,
}

impl Process for ExecutorProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        Self::on_agent(ctx, Self::registered);
        Self::on_agent(ctx, Self::reconnect);
        Self::on_agent(ctx, Self::reregistered);
        Self::on_agent(ctx, Self::run_task);
        Self::on_agent(ctx, Self::kill_task);
        Self::on_agent(ctx, Self::framework_message);
        Self::on_agent(ctx, Self::shutdown_executor);
        Self::on_agent(ctx, Self::status_update_acknowledgement);

        ctx.link_with(&self.env.agent_pid, RemoteConnection::Reconnect);
        tracing::info!(agent = %self.env.agent_pid, "Registering with the agent");
        ctx.send(
            &self.env.agent_pid,
            RegisterExecutorMessage {
                framework_id: self.env.framework_id.clone(),
                executor_id: self.env.executor_id.clone(),
            },
        );
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Context<Self>) {
        if *pid != self.env.agent_pid || self.aborted {
            return;
        }
        if self.env.checkpoint && self.connected {
            self.agent_disconnected(ctx);
        } else {
            tracing::info!(agent = %pid, "Agent exited; shutting down");
            self.shutdown(ctx);
        }
    }
}

impl ExecutorProcess {
    pub(crate) fn new(
        env: ExecutorEnv,
        executor: Box<dyn Executor>,
        driver: MesosExecutorDriver,
    ) -> Self {
        ExecutorProcess {
            agent_id: env.agent_id.clone(),
            env,
            executor,
            driver,
            connected: false,
            aborted: false,
            connection: 0,
            tasks: BTreeMap::new(),
            updates: Vec::new(),
        }
    }

    /// Installs `handler` for `M`, for messages from the agent only, and only while
    /// the driver is not shutting down.
    fn on_agent<M: Message>(
        ctx: &mut Context<Self>,
        handler: fn(&mut Self, M, &mut Context<Self>),
    ) {
        ctx.install(move |this: &mut Self, from: Pid, message: M, ctx| {
            if from != this.env.agent_pid {
                tracing::warn!(%from, name = M::NAME, "Ignoring a message not from the agent");
            } else if this.aborted {
                tracing::debug!(name = M::NAME, "Ignoring a message: the driver is aborted");
            } else {
                handler(this, message, ctx);
            }
        });
    }

    fn registered(&mut self, message: ExecutorRegisteredMessage, _ctx: &mut Context<Self>) {
        tracing::info!(agent_id = %message.slave_id.as_str(), "Executor registered");
        self.connected = true;
        self.agent_id = message.slave_id;
        self.executor.registered(
            &self.driver,
            message.executor_info,
            message.framework_info,
            message.slave_info,
        );
    }

    fn reconnect(&mut self, message: ReconnectExecutorMessage, ctx: &mut Context<Self>) {
        tracing::info!(agent_id = %message.slave_id.as_str(), "Re-registering with the agent");
        self.connection += 1;
        self.agent_id = message.slave_id;
        ctx.link_with(&self.env.agent_pid, RemoteConnection::Reconnect);
        ctx.send(
            &self.env.agent_pid,
            ReregisterExecutorMessage {
                executor_id: self.env.executor_id.clone(),
                framework_id: self.env.framework_id.clone(),
                tasks: self.tasks.values().cloned().collect(),
                updates: self.updates.clone(),
            },
        );
    }

    fn reregistered(&mut self, message: ExecutorReregisteredMessage, _ctx: &mut Context<Self>) {
        tracing::info!(agent_id = %message.slave_id.as_str(), "Executor re-registered");
        self.connected = true;
        self.agent_id = message.slave_id;
        self.executor.reregistered(&self.driver, message.slave_info);
    }

    fn run_task(&mut self, message: RunTaskMessage, _ctx: &mut Context<Self>) {
        let task = message.task;
        tracing::info!(task_id = %task.task_id.as_str(), "Launching task");
        self.tasks.insert(task.task_id.clone(), task.clone());
        self.executor.launch_task(&self.driver, task);
    }

    fn kill_task(&mut self, message: KillTaskMessage, _ctx: &mut Context<Self>) {
        tracing::info!(task_id = %message.task_id.as_str(), "Killing task");
        self.executor.kill_task(&self.driver, message.task_id);
    }

    fn framework_message(&mut self, message: FrameworkToExecutorMessage, _ctx: &mut Context<Self>) {
        self.executor.framework_message(&self.driver, message.data);
    }

    fn shutdown_executor(&mut self, _message: ShutdownExecutorMessage, ctx: &mut Context<Self>) {
        tracing::info!("The agent asked the executor to shut down");
        self.shutdown(ctx);
    }

    fn status_update_acknowledgement(
        &mut self,
        message: StatusUpdateAcknowledgementMessage,
        _ctx: &mut Context<Self>,
    ) {
        self.tasks.remove(&message.task_id);
        self.updates
            .retain(|update| update.uuid.as_deref() != Some(message.uuid.as_slice()));
    }

    /// The link to the agent broke while the framework checkpoints: wait for the
    /// agent to recover and reconnect, for at most the recovery timeout.
    fn agent_disconnected(&mut self, ctx: &mut Context<Self>) {
        let timeout = self
            .env
            .recovery_timeout
            .expect("the environment requires a recovery timeout when checkpointing");
        tracing::info!(?timeout, "Agent exited; waiting for it to reconnect");
        self.connected = false;
        self.executor.disconnected(&self.driver);
        let connection = self.connection;
        ctx.delay(timeout, move |this, ctx| {
            this.recovery_timeout(connection, ctx)
        });
    }

    fn recovery_timeout(&mut self, connection: u64, ctx: &mut Context<Self>) {
        if connection == self.connection && !self.connected {
            tracing::info!("Recovery timeout exceeded; shutting down");
            self.shutdown(ctx);
        }
    }

    /// Asks the executor to shut down and drops the agent's messages from now on; the
    /// driver aborts if the executor has not stopped it within the grace period.
    fn shutdown(&mut self, ctx: &mut Context<Self>) {
        self.aborted = true;
        self.executor.shutdown(&self.driver);
        ctx.delay(self.env.shutdown_grace_period, |this, _| {
            tracing::warn!("The executor did not stop within its shutdown grace period");
            this.driver.abort();
        });
    }

    pub(crate) fn send_status_update(&mut self, status: TaskStatus, ctx: &mut Context<Self>) {
        let update = self.status_update(status);
        tracing::info!(
            task_id = %update.status.task_id.as_str(),
            state = ?update.status.state,
            "Sending status update"
        );
        self.updates.push(update.clone());
        ctx.send(
            &self.env.agent_pid,
            StatusUpdateMessage {
                update,
                pid: Some(ctx.pid().to_string()),
            },
        );
    }

    /// Wraps `status` in an update with a fresh uuid, the time and the ids.
    fn status_update(&self, mut status: TaskStatus) -> StatusUpdate {
        let uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
        let timestamp = now();
        status.uuid = Some(uuid.clone());
        status.timestamp = Some(timestamp);
        status.source = Some(StatusSource::SOURCE_EXECUTOR);
        status.executor_id = Some(self.env.executor_id.clone());
        status.agent_id = Some(self.agent_id.clone());
        StatusUpdate {
            framework_id: self.env.framework_id.clone(),
            executor_id: Some(self.env.executor_id.clone()),
            slave_id: Some(self.agent_id.clone()),
            status,
            timestamp,
            uuid: Some(uuid),
            latest_state: None,
        }
    }

    pub(crate) fn send_framework_message(&mut self, data: Vec<u8>, ctx: &mut Context<Self>) {
        ctx.send(
            &self.env.agent_pid,
            ExecutorToFrameworkMessage {
                slave_id: self.agent_id.clone(),
                framework_id: self.env.framework_id.clone(),
                executor_id: self.env.executor_id.clone(),
                data,
            },
        );
    }

    pub(crate) fn error(&mut self, message: String) {
        self.executor.error(&self.driver, message);
    }

    pub(crate) fn terminate(&mut self, ctx: &mut Context<Self>) {
        self.aborted = true;
        ctx.terminate();
    }
}

/// Seconds since the Unix epoch, as status updates carry them.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs_f64())
        .unwrap_or_default()
}
