//! Tasks and executors: `RunTaskMessage` and `KillTaskMessage` from the master;
//! `RegisterExecutorMessage` and `StatusUpdateMessage` from executors;
//! `StatusUpdateAcknowledgementMessage` from the master. A command task gets a
//! command executor (`mesos-executor`, executor id = task id); an executor is launched
//! in its sandbox, queued tasks go to it once it registers, and its status updates go
//! through the status update manager, which retries them to the master until they are
//! acknowledged. When an executor ends, its unfinished tasks fail.

use std::collections::BTreeMap;

use libproc::{Addr, Context, Pid};
use mesos_proto::mesos::{
    CommandInfo, ExecutorInfo, ExecutorType, FrameworkInfo, StatusReason, StatusSource, Task,
    TaskInfo, TaskState, TaskStatus,
};
use mesos_proto::messages::{
    ExecutorRegisteredMessage, KillTaskMessage, RegisterExecutorMessage, RunTaskMessage,
    StatusUpdate, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos_proto::{ContainerId, ExecutorId, FrameworkId, TaskId};

use super::executor::{Connection, Executor, ExecutorKey, ExecutorState, Termination};
use super::Agent;
use crate::fetcher;
use crate::launcher::LaunchSpec;
use crate::paths;
use crate::status_update_manager::{Accepted, StatusUpdateManager};

/// What a re-registering agent reports: its tasks, custom executors and frameworks.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) tasks: Vec<Task>,
    pub(crate) executors: Vec<ExecutorInfo>,
    pub(crate) frameworks: Vec<FrameworkInfo>,
}

impl Agent {
    /// RunTaskMessage, from the master: the task goes to its executor, launched first
    /// when it does not run yet.
    pub(super) fn run_task(&mut self, from: Pid, message: RunTaskMessage, ctx: &mut Context<Self>) {
        if !self.is_master(&from) {
            return;
        }
        let Some(framework_id) = message.framework.id.clone() else {
            return tracing::warn!("Ignoring a task whose framework has no id");
        };
        let task = message.task;
        let executor = task
            .executor
            .clone()
            .unwrap_or_else(|| self.command_executor(&task, &framework_id));
        let key = (framework_id.clone(), executor.executor_id.clone());
        tracing::info!(framework_id = %framework_id, task_id = %task.task_id, executor_id = %key.1, "Running task");
        if !self.executors.contains_key(&key) {
            if let Err(reason) =
                self.launch_executor(&key, executor, &message.framework, message.pid.clone(), ctx)
            {
                tracing::warn!(task_id = %task.task_id, %reason, "Executor launch failed");
                let status = self.agent_status(
                    &task.task_id,
                    Some(&key.1),
                    TaskState::TASK_FAILED,
                    StatusReason::REASON_CONTAINER_LAUNCH_FAILED,
                    &reason,
                );
                return self.send_update(&framework_id, status, ctx);
            }
        }
        let Some(executor) = self.executors.get(&key) else {
            return;
        };
        if executor.state == ExecutorState::Terminating {
            let status = self.agent_status(
                &task.task_id,
                Some(&key.1),
                TaskState::TASK_LOST,
                StatusReason::REASON_EXECUTOR_TERMINATED,
                "The executor is terminating",
            );
            return self.send_update(&framework_id, status, ctx);
        }
        self.checkpoint_task(&key, executor, &task);
        let Some(executor) = self.executors.get_mut(&key) else {
            return;
        };
        match (executor.state, &executor.connection) {
            (ExecutorState::Running, Some(_)) => executor.deliver(task, ctx),
            _ => executor.queued.push(task),
        }
        self.update_container(&key);
    }

    /// The command executor Mesos synthesizes for a command task: `mesos-executor`
    /// from `--launcher_dir`, with the task's id and resources.
    fn command_executor(&self, task: &TaskInfo, framework_id: &FrameworkId) -> ExecutorInfo {
        let program = self.flags.launcher_dir().join("mesos-executor");
        let command = task
            .command
            .as_ref()
            .and_then(|c| c.value.clone())
            .unwrap_or_default();
        let excerpt: String = command.chars().take(12).collect();
        ExecutorInfo {
            kind: Some(ExecutorType::CUSTOM),
            executor_id: ExecutorId::new(task.task_id.as_str()),
            framework_id: Some(framework_id.clone()),
            command: Some(CommandInfo {
                value: Some(program.display().to_string()),
                shell: Some(false),
                environment: task.command.as_ref().and_then(|c| c.environment.clone()),
                uris: task
                    .command
                    .as_ref()
                    .map(|c| c.uris.clone())
                    .unwrap_or_default(),
                ..Default::default()
            }),
            resources: task.resources.clone(),
            name: Some(format!(
                "Command Executor (Task: {}) (Command: sh -c '{excerpt}...')",
                task.task_id
            )),
            ..Default::default()
        }
    }

    /// Starts an executor in a fresh sandbox, with Mesos's environment, and watches
    /// for its end.
    fn launch_executor(
        &mut self,
        key: &ExecutorKey,
        info: ExecutorInfo,
        framework: &FrameworkInfo,
        framework_pid: Option<String>,
        ctx: &mut Context<Self>,
    ) -> Result<(), String> {
        let agent_id = self.info.id.clone().ok_or("the agent is not registered")?;
        let container_id = uuid::Uuid::new_v4().to_string();
        let sandbox = paths::sandbox(
            &self.flags.work_dir,
            &agent_id,
            &key.0,
            &key.1,
            &container_id.as_str().into(),
        )
        .map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&sandbox)
            .map_err(|e| format!("cannot create the sandbox {}: {e}", sandbox.display()))?;
        let command = info.command.clone().unwrap_or_default();
        let spec = LaunchSpec {
            program: command.value.clone().unwrap_or_default(),
            arguments: command.arguments.clone(),
            shell: command.is_shell(),
            environment: self.executor_environment(key, &info, framework, &sandbox, ctx),
            sandbox: sandbox.clone(),
        };
        let uris = command.uris.clone();
        let executor = Executor {
            info,
            framework: framework.clone(),
            framework_pid,
            container_id: container_id.as_str().into(),
            directory: sandbox.clone(),
            os_pid: 0,
            connection: None,
            state: ExecutorState::Registering,
            queued: Vec::new(),
            launched: BTreeMap::new(),
            termination: None,
        };
        self.checkpoint_executor(key, &executor)
            .map_err(|e| format!("cannot checkpoint the executor: {e}"))?;
        let container_id = executor.container_id.clone();
        self.executors.insert(key.clone(), executor);
        if uris.is_empty() {
            self.start_executor(key, &spec, ctx);
            return Ok(());
        }
        let fetched = tokio::task::spawn_blocking(move || fetcher::fetch(&uris, &sandbox));
        let fetching = key.clone();
        ctx.defer(fetched, move |agent: &mut Agent, result, ctx| {
            let result = match result {
                Ok(fetched) => fetched.map_err(|e| e.to_string()),
                Err(panicked) => Err(panicked.to_string()),
            };
            agent.fetched(&fetching, &container_id, &spec, result, ctx)
        });
        Ok(())
    }

    /// The executor's URIs are in its sandbox (or could not be): it starts now, unless
    /// it was destroyed meanwhile.
    fn fetched(
        &mut self,
        key: &ExecutorKey,
        container_id: &ContainerId,
        spec: &LaunchSpec,
        result: Result<(), String>,
        ctx: &mut Context<Self>,
    ) {
        let current = self.executors.get(key).is_some_and(|e| {
            &e.container_id == container_id && e.state == ExecutorState::Registering
        });
        if !current {
            return;
        }
        match result {
            Ok(()) => self.start_executor(key, spec, ctx),
            Err(reason) => self.launch_failed(key, format!("Failed to fetch: {reason}"), ctx),
        }
    }

    /// Starts the executor's container, watches for its end, and gives it
    /// `--executor_registration_timeout` to register.
    fn start_executor(&mut self, key: &ExecutorKey, spec: &LaunchSpec, ctx: &mut Context<Self>) {
        let mut launched = match self.launch_container(key, spec, ctx) {
            Ok(launched) => launched,
            Err(reason) => return self.launch_failed(key, reason, ctx),
        };
        let Some(executor) = self.executors.get_mut(key) else {
            return;
        };
        executor.os_pid = launched.pid();
        tracing::info!(framework_id = %key.0, executor_id = %key.1, os_pid = executor.os_pid, sandbox = %spec.sandbox.display(), "Executor launched");
        if let Some(executor) = self.executors.get(key) {
            self.checkpoint_forked_pid(key, executor);
        }
        let watched = key.clone();
        ctx.defer(
            async move { launched.wait().await },
            move |agent: &mut Agent, status, ctx| agent.executor_exited(&watched, status.ok(), ctx),
        );
        let timeout_key = key.clone();
        ctx.delay(
            self.flags.executor_registration_timeout,
            move |agent: &mut Agent, ctx| agent.executor_registration_timeout(&timeout_key, ctx),
        );
    }

    /// The executor could not start: its tasks fail with the reason.
    fn launch_failed(&mut self, key: &ExecutorKey, reason: String, ctx: &mut Context<Self>) {
        tracing::warn!(framework_id = %key.0, executor_id = %key.1, %reason, "Executor launch failed");
        if let Some(executor) = self.executors.get_mut(key) {
            executor.termination = Some(Termination {
                state: TaskState::TASK_FAILED,
                reason: StatusReason::REASON_CONTAINER_LAUNCH_FAILED,
                message: reason,
            });
        }
        self.executor_exited(key, None, ctx);
    }

    /// What an executor finds in its environment (and nothing of the agent's but `PATH`).
    fn executor_environment(
        &self,
        key: &ExecutorKey,
        info: &ExecutorInfo,
        framework: &FrameworkInfo,
        sandbox: &std::path::Path,
        ctx: &Context<Self>,
    ) -> BTreeMap<String, String> {
        let checkpoint = framework.checkpoint.unwrap_or(false);
        let agent = ctx.pid();
        let mut environment: BTreeMap<String, String> = [
            ("MESOS_FRAMEWORK_ID", key.0.to_string()),
            ("MESOS_EXECUTOR_ID", key.1.to_string()),
            (
                "MESOS_SLAVE_ID",
                self.info.id.clone().unwrap_or_default().to_string(),
            ),
            ("MESOS_SLAVE_PID", agent.to_string()),
            ("MESOS_AGENT_ENDPOINT", agent.addr.to_string()),
            ("MESOS_DIRECTORY", sandbox.display().to_string()),
            ("MESOS_SANDBOX", sandbox.display().to_string()),
            (
                "MESOS_CHECKPOINT",
                if checkpoint { "1" } else { "0" }.to_owned(),
            ),
            (
                "MESOS_RECOVERY_TIMEOUT",
                mesos_proto::duration::format_duration(self.flags.recovery_timeout),
            ),
            (
                "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
                mesos_proto::duration::format_duration(self.flags.executor_shutdown_grace_period),
            ),
            ("LIBPROCESS_IP", agent.addr.ip().to_string()),
            ("LIBPROCESS_PORT", "0".to_owned()),
            (
                "PATH",
                std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_owned()),
            ),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        let variables = info
            .command
            .as_ref()
            .and_then(|c| c.environment.as_ref())
            .map(|e| e.variables.clone())
            .unwrap_or_default();
        for variable in variables {
            environment.insert(variable.name, variable.value.unwrap_or_default());
        }
        environment
    }

    /// Everything the agent runs, for `ReregisterSlaveMessage`: tasks sent to
    /// executors with their latest state, queued ones as TASK_STAGING.
    pub(super) fn report(&self) -> Report {
        let mut report = Report::default();
        let agent_id = self.info.id.clone().unwrap_or_default();
        for ((framework_id, _), executor) in &self.executors {
            let launched = executor
                .launched
                .values()
                .map(|(task, state)| (task, *state));
            let queued = executor
                .queued
                .iter()
                .map(|task| (task, TaskState::TASK_STAGING));
            for (task, state) in launched.chain(queued) {
                let task = executor.task(task, state, framework_id, &agent_id);
                report.tasks.push(task);
            }
            if !executor.is_command_executor() {
                report.executors.push(executor.info.clone());
            }
            if !report
                .frameworks
                .iter()
                .any(|f| f.id == executor.framework.id)
            {
                report.frameworks.push(executor.framework.clone());
            }
        }
        report
    }

    /// RegisterExecutorMessage: the executor is up; its queued tasks go to it.
    pub(super) fn register_executor(
        &mut self,
        from: Pid,
        message: RegisterExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        let key = (message.framework_id, message.executor_id);
        let registering = self
            .executors
            .get(&key)
            .is_some_and(|e| e.state == ExecutorState::Registering);
        if !registering {
            return tracing::warn!(%from, executor_id = %key.1, "Ignoring registration of an unknown or registered executor");
        }
        ctx.link(&from);
        self.executor_registered(&key, Connection::Pid(from), ctx);
    }

    /// A launched executor registered (driver) or subscribed (HTTP) over
    /// `connection`: it hears that it is registered, then gets its queued tasks. An
    /// executor that was running and reconnects (an HTTP executor whose stream broke)
    /// only hears it again.
    pub(super) fn executor_registered(
        &mut self,
        key: &ExecutorKey,
        connection: Connection,
        ctx: &mut Context<Self>,
    ) {
        let (slave_id, slave_info) = (self.agent_id(), self.info.clone());
        let Some(executor) = self.executors.get_mut(key) else {
            return;
        };
        tracing::info!(framework_id = %key.0, executor_id = %key.1, container_id = %executor.container_id, "Executor registered");
        executor.connection = Some(connection);
        executor.state = ExecutorState::Running;
        let registered = ExecutorRegisteredMessage {
            executor_info: executor.info.clone(),
            framework_id: key.0.clone(),
            framework_info: executor.framework.clone(),
            slave_id,
            slave_info,
        };
        executor.send(registered, ctx);
        for task in std::mem::take(&mut executor.queued) {
            executor.deliver(task, ctx);
        }
        if let Some(executor) = self.executors.get(key) {
            self.checkpoint_connection(key, executor);
        }
    }

    fn executor_registration_timeout(&mut self, key: &ExecutorKey, ctx: &mut Context<Self>) {
        let registering = self
            .executors
            .get(key)
            .is_some_and(|e| e.state == ExecutorState::Registering);
        if registering {
            tracing::warn!(executor_id = %key.1, "Executor did not register in time; destroying it");
            let termination = Termination {
                state: TaskState::TASK_FAILED,
                reason: StatusReason::REASON_EXECUTOR_REGISTRATION_TIMEOUT,
                message: "Executor did not register in time".to_owned(),
            };
            self.destroy_executor(key, termination, ctx);
        }
    }

    /// StatusUpdateMessage, from an executor: checked, handed to the status update
    /// manager, and acknowledged to the executor once the manager has it.
    pub(super) fn status_update(
        &mut self,
        from: Pid,
        message: StatusUpdateMessage,
        ctx: &mut Context<Self>,
    ) {
        let update = message.update;
        let key = (
            update.framework_id.clone(),
            update.executor_id.clone().unwrap_or_default(),
        );
        if !self.executors.get(&key).is_some_and(|e| e.is_pid(&from)) {
            self.metrics.invalid_status_update();
            return tracing::warn!(%from, "Ignoring a status update from a pid that is not the executor's");
        }
        self.executor_status_update(&key, update, ctx);
    }

    /// An update from the executor of `key` (its sender checked), live or replayed at
    /// re-registration.
    pub(super) fn executor_status_update(
        &mut self,
        key: &ExecutorKey,
        mut update: StatusUpdate,
        ctx: &mut Context<Self>,
    ) {
        let Some(container_id) = self.executors.get(key).map(|e| e.container_id.clone()) else {
            return;
        };
        if update.status.uuid.is_none() || update.status.state == TaskState::TASK_STAGING {
            self.metrics.invalid_status_update();
            return tracing::warn!(executor_id = %key.1, "Ignoring a status update without uuid or in TASK_STAGING");
        }
        self.metrics.valid_status_update();
        update.status.source = Some(StatusSource::SOURCE_EXECUTOR);
        let ended = update.status.state.is_terminal();
        if let Some(limitation) = self.container_limitation(&container_id).filter(|_| ended) {
            update.status.state = limitation.state;
            update.status.reason = Some(limitation.reason);
            update.status.message = Some(limitation.message);
        }
        if let Some((_, state)) = self
            .executors
            .get_mut(key)
            .and_then(|e| e.launched.get_mut(&update.status.task_id))
        {
            *state = update.status.state;
        }
        if ended {
            self.update_container(key);
        }
        self.accept_update(update, true, ctx);
    }

    /// Hands an update to the manager (with its checkpoint file, for checkpointing
    /// frameworks); the executor gets the acknowledgement once the manager has it,
    /// if the update is its own (`acknowledge`).
    fn accept_update(&mut self, update: StatusUpdate, acknowledge: bool, ctx: &mut Context<Self>) {
        let key = (
            update.framework_id.clone(),
            update.executor_id.clone().unwrap_or_default(),
        );
        let checkpoint = self
            .executors
            .get(&key)
            .and_then(|e| self.task_updates_path(&key, e, &update.status.task_id));
        let Some(manager) = self.manager.clone() else {
            return;
        };
        let ack = StatusUpdateAcknowledgementMessage {
            slave_id: self.info.id.clone().unwrap_or_default(),
            framework_id: update.framework_id.clone(),
            task_id: update.status.task_id.clone(),
            uuid: update.status.uuid.clone().unwrap_or_default(),
        };
        let update_state = update.status.state;
        let accepted = libproc::dispatch(&manager, move |manager, ctx| {
            manager.update(update, checkpoint, ctx)
        });
        let state = update_state;
        ctx.defer(accepted, move |agent: &mut Agent, result, ctx| {
            if matches!(result, Ok(Ok(Accepted::Queued))) {
                agent.metrics.task_terminal(state);
            }
            match (result, acknowledge) {
                (Ok(Ok(_)), true) => {
                    if let Some(executor) = agent.executors.get(&key) {
                        executor.send(ack, ctx);
                    }
                }
                (Ok(Ok(_)), false) => {}
                (Ok(Err(error)), _) => {
                    tracing::warn!(%error, "The status update manager refused an update")
                }
                (Err(gone), _) => tracing::error!(%gone, "The status update manager is gone"),
            }
        });
    }

    /// Sends an update the agent generates itself (source SOURCE_SLAVE).
    pub(super) fn send_update(
        &mut self,
        framework_id: &FrameworkId,
        status: TaskStatus,
        ctx: &mut Context<Self>,
    ) {
        let update = StatusUpdate {
            framework_id: framework_id.clone(),
            executor_id: status.executor_id.clone(),
            slave_id: self.info.id.clone(),
            timestamp: status.timestamp.unwrap_or_default(),
            uuid: status.uuid.clone(),
            status,
            latest_state: None,
        };
        self.accept_update(update, false, ctx);
    }

    pub(super) fn agent_status(
        &self,
        task_id: &TaskId,
        executor_id: Option<&ExecutorId>,
        state: TaskState,
        reason: StatusReason,
        message: &str,
    ) -> TaskStatus {
        TaskStatus {
            task_id: task_id.clone(),
            state,
            message: Some(message.to_owned()),
            source: Some(StatusSource::SOURCE_SLAVE),
            reason: Some(reason),
            agent_id: self.info.id.clone(),
            executor_id: executor_id.cloned(),
            timestamp: Some(now_secs()),
            uuid: Some(uuid::Uuid::new_v4().as_bytes().to_vec()),
            ..Default::default()
        }
    }

    /// The manager sends an update's head: it goes to the master with this agent as
    /// the acknowledgement's destination.
    pub(crate) fn forward_update(&mut self, update: StatusUpdate, ctx: &mut Context<Self>) {
        if self.state != super::State::Running {
            return;
        }
        let pid = Some(ctx.pid().to_string());
        self.send_to_master(StatusUpdateMessage { update, pid }, ctx);
    }

    /// StatusUpdateAcknowledgementMessage, from the master: the manager sends the next.
    pub(super) fn acknowledgement(
        &mut self,
        from: Pid,
        message: StatusUpdateAcknowledgementMessage,
        _ctx: &mut Context<Self>,
    ) {
        if !self.is_master(&from) {
            return;
        }
        let Some(manager) = self.manager.clone() else {
            return;
        };
        drop(libproc::dispatch(&manager, move |manager, ctx| {
            if let Err(error) =
                manager.acknowledge(&message.framework_id, &message.task_id, &message.uuid, ctx)
            {
                tracing::warn!(%error, "Ignoring an acknowledgement");
            }
        }));
    }

    /// KillTaskMessage, from the master: to the executor, or killed here if queued.
    pub(super) fn kill_task(
        &mut self,
        from: Pid,
        message: KillTaskMessage,
        ctx: &mut Context<Self>,
    ) {
        if !self.is_master(&from) {
            return;
        }
        let found = self.executors.iter_mut().find(|((framework_id, _), e)| {
            framework_id == &message.framework_id && e.has_task(&message.task_id)
        });
        let Some(((_, executor_id), executor)) = found else {
            return tracing::warn!(task_id = %message.task_id, "Ignoring a kill of an unknown task");
        };
        let executor_id = executor_id.clone();
        match &executor.connection {
            Some(_) if executor.launched.contains_key(&message.task_id) => {
                executor.send(message, ctx)
            }
            _ => {
                executor.queued.retain(|t| t.task_id != message.task_id);
                let status = self.agent_status(
                    &message.task_id,
                    Some(&executor_id),
                    TaskState::TASK_KILLED,
                    StatusReason::REASON_TASK_KILLED_DURING_LAUNCH,
                    "Killed before it was launched",
                );
                self.send_update(&message.framework_id, status, ctx);
            }
        }
    }
}

/// Starts the status update manager, whose heads go to the master through the agent.
pub(super) fn start_manager(agent: Addr<Agent>) -> Option<Addr<StatusUpdateManager>> {
    let forward = Box::new(move |update: &StatusUpdate| {
        let update = update.clone();
        drop(libproc::dispatch(&agent, move |agent, ctx| {
            agent.forward_update(update, ctx)
        }));
    });
    libproc::spawn(
        StatusUpdateManager::new(forward),
        libproc::ProcessId::generate("task-status-update-manager"),
    )
    .inspect_err(|error| tracing::error!(%error, "Could not start the status update manager"))
    .ok()
}

pub(super) fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
