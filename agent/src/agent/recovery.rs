//! Recovery after an agent restart (Mesos's `Slave::recover`): the agent takes back
//! its id, rebuilds its executors and their tasks from the checkpoints, replays each
//! task's status update stream into the manager, and asks every live executor to
//! reconnect (`ReconnectExecutorMessage`). It registers with the master only once
//! every executor re-registered or `--executor_reregistration_timeout` passed, so the
//! master hears one consistent report; executors that did not make it are destroyed.
//!
//! `--recover=cleanup` destroys every recovered executor instead, and the agent exits.

use std::collections::BTreeMap;

use libproc::{Context, Pid};
use mesos_proto::mesos::{ExecutorInfo, FrameworkInfo, StatusReason, TaskInfo, TaskState};
use mesos_proto::messages::{
    ExecutorReregisteredMessage, ReconnectExecutorMessage, ReregisterExecutorMessage, StatusUpdate,
};
use mesos_proto::{ContainerId, FrameworkId};

use super::executor::{Connection, Executor, ExecutorKey, ExecutorState, Termination};
use super::{Agent, State};
use crate::flags::Recover;
use crate::state::{AgentState, RunState, StatusUpdateRecord, TaskRecoveryState};
use crate::status_update_manager::UpdateStream;

/// What `start` found in the work dir, handed to the agent.
#[derive(Debug)]
pub struct Recovered {
    /// The checkpoints.
    pub state: AgentState,
    /// Whether the machine rebooted since they were written: no executor survived.
    pub rebooted: bool,
}

impl Agent {
    /// Rebuilds the executors of the checkpoints, then waits for the live ones.
    pub(super) fn recover(&mut self, recovered: Recovered, ctx: &mut Context<Self>) {
        let Recovered { state, rebooted } = recovered;
        tracing::info!(agent_id = %state.id, frameworks = state.frameworks.len(), rebooted, "Recovering");
        self.info.id = Some(state.id);
        let mut found = Vec::new();
        for framework in state.frameworks {
            let Some(info) = framework.info else {
                continue;
            };
            for executor in framework.executors {
                let (Some(executor_info), Some(run)) = (
                    executor.info,
                    executor.runs.into_iter().find(|run| !run.completed),
                ) else {
                    continue;
                };
                let context = (framework.id.clone(), info.clone(), framework.pid.clone());
                found.push(self.recover_executor(context, executor_info, run, rebooted));
            }
        }
        let alive: Vec<&ExecutorKey> = found
            .iter()
            .filter(|(_, next)| !matches!(next, Next::Gone(_)))
            .map(|(key, _)| key)
            .collect();
        self.recover_containers(&alive, ctx);
        for (key, next) in found {
            self.resume(&key, next, ctx);
        }
        if self.flags.recover == Recover::Cleanup {
            return self.cleanup(ctx);
        }
        if self.reconnecting() {
            ctx.delay(
                self.flags.executor_reregistration_timeout,
                Agent::reregistration_timeout,
            );
        } else {
            self.recovered(ctx);
        }
    }

    fn recover_executor(
        &mut self,
        (framework_id, framework, framework_pid): (FrameworkId, FrameworkInfo, Option<String>),
        info: ExecutorInfo,
        run: RunState,
        rebooted: bool,
    ) -> (ExecutorKey, Next) {
        let key = (framework_id, info.executor_id.clone());
        let agent_id = self.agent_id();
        let mut executor = Executor {
            info,
            framework,
            framework_pid: framework_pid.filter(|pid| !pid.is_empty()),
            container_id: run.container_id.clone(),
            directory: Default::default(),
            os_pid: run.forked_pid.unwrap_or(0),
            connection: None,
            state: ExecutorState::Reconnecting,
            queued: Vec::new(),
            launched: BTreeMap::new(),
            termination: None,
        };
        executor.directory = crate::paths::sandbox(
            &self.flags.work_dir,
            &agent_id,
            &key.0,
            &key.1,
            &executor.container_id,
        )
        .unwrap_or_default();
        for task in run.tasks {
            self.recover_task(&key, &mut executor, task);
        }
        let libprocess_pid: Option<Pid> = run.libprocess_pid.and_then(|pid| pid.parse().ok());
        let alive = !rebooted && run.forked_pid.is_some_and(process_alive);
        tracing::info!(framework_id = %key.0, executor_id = %key.1, alive, tasks = executor.launched.len(), "Recovered executor");
        self.executors.insert(key.clone(), executor);
        let next = match (alive, libprocess_pid) {
            (true, Some(pid)) => Next::Reconnect(pid),
            (true, None) if run.http => Next::Resubscribe,
            (true, None) => Next::Destroy(lost(
                StatusReason::REASON_EXECUTOR_REREGISTRATION_TIMEOUT,
                "Executor had not registered when the agent stopped",
            )),
            (false, _) => Next::Gone(lost(
                StatusReason::REASON_SLAVE_RESTARTED,
                "Executor did not survive the agent restart",
            )),
        };
        (key, next)
    }

    /// Acts on what recovery found of an executor, once its container is recovered.
    fn resume(&mut self, key: &ExecutorKey, next: Next, ctx: &mut Context<Self>) {
        match next {
            Next::Reconnect(pid) => {
                let slave_id = self.agent_id();
                ctx.send(&pid, ReconnectExecutorMessage { slave_id });
            }
            Next::Resubscribe => {}
            Next::Destroy(termination) => self.destroy_executor(key, termination, ctx),
            Next::Gone(termination) => {
                if let Some(executor) = self.executors.get_mut(key) {
                    executor.termination = Some(termination);
                }
                self.executor_exited(key, None, ctx);
            }
        }
    }

    /// Rebuilds one task: its checkpointed record, and its update stream for the
    /// manager, which resends what the master has not acknowledged.
    fn recover_task(&self, key: &ExecutorKey, executor: &mut Executor, task: TaskRecoveryState) {
        let Some(record) = task.task else {
            return;
        };
        let latest = task
            .records
            .iter()
            .rev()
            .find_map(|record| match record {
                StatusUpdateRecord::Update(update) => Some(update.status.state),
                StatusUpdateRecord::Ack(_) => None,
            })
            .unwrap_or(record.state);
        let path = self.task_updates_path(key, executor, &record.task_id);
        let mut stream = UpdateStream::new(key.0.clone(), record.task_id.clone(), path);
        if let Err(error) = stream.replay(task.records) {
            tracing::warn!(task_id = %record.task_id, %error, "Could not replay a task's status updates");
        } else if let Some(manager) = &self.manager {
            drop(libproc::dispatch(manager, move |manager, _| {
                manager.recover(stream)
            }));
        }
        let info = TaskInfo {
            name: record.name,
            task_id: record.task_id.clone(),
            agent_id: record.agent_id,
            resources: record.resources,
            labels: record.labels,
            ..Default::default()
        };
        executor.launched.insert(record.task_id, (info, latest));
    }

    /// Hands the live executors' containers back to the containerizer, which destroys
    /// any other container it finds (an orphan of the earlier run), and watches each
    /// executor for its end (it is not the agent's child any more).
    fn recover_containers(&mut self, keys: &[&ExecutorKey], ctx: &mut Context<Self>) {
        let alive: Vec<(ContainerId, u32)> = keys
            .iter()
            .filter_map(|key| self.executors.get(*key))
            .map(|e| (e.container_id.clone(), e.os_pid))
            .collect();
        let recovery = match self.containerizer.recover(&alive) {
            Ok(recovery) => recovery,
            Err(error) => {
                return tracing::error!(%error, "Could not recover the containers");
            }
        };
        ctx.defer(recovery.cleanup, |_agent: &mut Agent, result, _ctx| {
            if let Err(error) = result {
                tracing::warn!(%error, "Could not destroy an orphan container");
            }
        });
        for process in recovery.processes {
            let Some(key) = self
                .executors
                .iter()
                .find(|(_, e)| e.container_id == process.container_id)
                .map(|(key, _)| key.clone())
            else {
                continue;
            };
            ctx.defer(process.wait(), move |agent: &mut Agent, (), ctx| {
                agent.executor_exited(&key, None, ctx)
            });
        }
    }

    fn reconnecting(&self) -> bool {
        self.executors
            .values()
            .any(|e| e.state == ExecutorState::Reconnecting)
    }

    /// ReregisterExecutorMessage: a recovered executor is back, with the tasks and
    /// updates it holds; updates the agent had not checkpointed are accepted now.
    pub(super) fn reregister_executor(
        &mut self,
        from: Pid,
        message: ReregisterExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        let key = (message.framework_id, message.executor_id);
        let reconnecting = self
            .executors
            .get(&key)
            .is_some_and(|e| e.state == ExecutorState::Reconnecting);
        if !reconnecting {
            return tracing::warn!(%from, executor_id = %key.1, "Ignoring re-registration of an executor that is not reconnecting");
        }
        ctx.link(&from);
        let connection = Connection::Pid(from);
        self.executor_reregistered(&key, connection, message.tasks, message.updates, ctx);
    }

    /// A recovered executor is back over `connection` (re-registered, or
    /// re-subscribed over HTTP), with the tasks and updates it holds; updates the
    /// agent had not checkpointed are accepted now. Recovery ends with the last one.
    pub(super) fn executor_reregistered(
        &mut self,
        key: &ExecutorKey,
        connection: Connection,
        tasks: Vec<TaskInfo>,
        updates: Vec<StatusUpdate>,
        ctx: &mut Context<Self>,
    ) {
        let (slave_id, slave_info) = (self.agent_id(), self.info.clone());
        let Some(executor) = self.executors.get_mut(key) else {
            return;
        };
        tracing::info!(framework_id = %key.0, executor_id = %key.1, container_id = %executor.container_id, "Executor re-registered");
        executor.connection = Some(connection);
        executor.state = ExecutorState::Running;
        for task in tasks {
            executor
                .launched
                .entry(task.task_id.clone())
                .or_insert((task, TaskState::TASK_STAGING));
        }
        executor.send(
            ExecutorReregisteredMessage {
                slave_id,
                slave_info,
            },
            ctx,
        );
        for task in std::mem::take(&mut executor.queued) {
            executor.deliver(task, ctx);
        }
        for update in updates {
            self.executor_status_update(key, update, ctx);
        }
        if self.state == State::Recovering && !self.reconnecting() {
            self.recovered(ctx);
        }
    }

    /// Executors that did not re-register in time are destroyed.
    fn reregistration_timeout(&mut self, ctx: &mut Context<Self>) {
        let late: Vec<ExecutorKey> = self
            .executors
            .iter()
            .filter(|(_, e)| e.state == ExecutorState::Reconnecting)
            .map(|(key, _)| key.clone())
            .collect();
        for key in late {
            tracing::warn!(executor_id = %key.1, "Executor did not re-register in time; destroying it");
            let message = "Executor did not re-register after the agent restarted";
            self.destroy_executor(
                &key,
                lost(
                    StatusReason::REASON_EXECUTOR_REREGISTRATION_TIMEOUT,
                    message,
                ),
                ctx,
            );
        }
        if self.state == State::Recovering {
            self.recovered(ctx);
        }
    }

    /// Recovery is over: register with the master (as the same agent).
    pub(super) fn recovered(&mut self, ctx: &mut Context<Self>) {
        tracing::info!(executors = self.executors.len(), "Finished recovery");
        self.state = State::Disconnected;
        self.register_with_master(ctx);
    }

    /// `--recover=cleanup`: every recovered executor is destroyed, then the agent stops.
    fn cleanup(&mut self, ctx: &mut Context<Self>) {
        let keys: Vec<ExecutorKey> = self.executors.keys().cloned().collect();
        tracing::info!(
            executors = keys.len(),
            "Cleaning up recovered executors, then exiting"
        );
        for key in keys {
            let message = "The agent was restarted with --recover=cleanup";
            self.destroy_executor(
                &key,
                lost(StatusReason::REASON_SLAVE_RESTARTED, message),
                ctx,
            );
        }
        self.state = State::Terminating;
        self.terminate_when_idle(ctx);
    }
}

/// Whether `pid` names a live process (a zombie of another parent counts as gone).
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    match procfs::process::Process::new(pid).and_then(|p| p.stat()) {
        Ok(stat) => stat.state != 'Z' && stat.state != 'X',
        Err(_) => false,
    }
}

/// What becomes of a recovered executor.
#[derive(Debug)]
enum Next {
    /// It lives and registered before: it is asked to reconnect.
    Reconnect(Pid),
    /// It lives and subscribed over HTTP before: it re-subscribes by itself.
    Resubscribe,
    /// It lives but cannot reconnect: it is destroyed.
    Destroy(Termination),
    /// It died meanwhile: its tasks are reported.
    Gone(Termination),
}

/// The termination of an executor the agent lost track of: its tasks are lost.
fn lost(reason: StatusReason, message: &str) -> Termination {
    Termination {
        state: TaskState::TASK_LOST,
        reason,
        message: message.to_owned(),
    }
}
