//! The agent's side of containers: an executor's container is launched through the
//! containerizer with the executor's resources, resized as tasks come and go, watched
//! for limitations (a memory OOM fails the tasks with
//! `REASON_CONTAINER_LIMITATION_MEMORY`), destroyed whole (no process survives), and
//! once over its sandbox is browsable through `files` until the garbage collector
//! removes it after `--gc_delay`.

use std::time::Duration;

use libproc::Context;
use mesos_proto::mesos::TaskState;
use mesos_proto::ContainerId;

use super::executor::{Executor, ExecutorKey, Termination};
use super::Agent;
use crate::containerizer::Limitation;
use crate::launcher::{LaunchSpec, Launched};

impl Agent {
    /// Launches the executor's container and starts watching it for limitations.
    pub(super) fn launch_container(
        &mut self,
        key: &ExecutorKey,
        spec: &LaunchSpec,
        ctx: &mut Context<Self>,
    ) -> Result<Launched, String> {
        let executor = self.executors.get(key).ok_or("the executor is gone")?;
        let (container_id, resources) = (executor.container_id.clone(), executor.resources());
        let launched = self
            .containerizer
            .launch(&container_id, spec, &resources)
            .map_err(|e| e.to_string())?;
        let container_id = &container_id;
        let watched = (key.clone(), container_id.clone());
        ctx.defer(
            self.containerizer.watch(container_id),
            move |agent: &mut Agent, limitation, ctx| {
                if let Some(limitation) = limitation {
                    agent.limited(&watched.0, &watched.1, limitation, ctx);
                }
            },
        );
        self.attach_sandbox(key, &spec.sandbox, ctx);
        Ok(launched)
    }

    /// The container hit a limit: its executor is destroyed, its tasks fail with the
    /// limitation's reason.
    fn limited(
        &mut self,
        key: &ExecutorKey,
        container_id: &ContainerId,
        limitation: Limitation,
        ctx: &mut Context<Self>,
    ) {
        let same_run = self
            .executors
            .get(key)
            .is_some_and(|e| &e.container_id == container_id);
        if !same_run {
            return;
        }
        tracing::warn!(executor_id = %key.1, %container_id, reason = ?limitation.reason, "Container limitation: {}", limitation.message);
        self.destroy_executor(key, limitation_termination(limitation), ctx);
    }

    /// The termination an executor's container limitation imposes, if it hit one;
    /// asked when a task ends, so an OOM kill is reported as such even when the
    /// executor's own TASK_FAILED arrives first.
    pub(super) fn container_limitation(&self, container_id: &ContainerId) -> Option<Termination> {
        self.containerizer
            .limitation(container_id)
            .map(limitation_termination)
    }

    /// Resizes the executor's container to what it and its tasks now hold.
    pub(super) fn update_container(&mut self, key: &ExecutorKey) {
        let Some(executor) = self.executors.get(key) else {
            return;
        };
        if let Err(error) = self
            .containerizer
            .update(&executor.container_id, &executor.resources())
        {
            tracing::warn!(executor_id = %key.1, %error, "Could not update the container's resources");
        }
    }

    /// Destroys the container: every process in it dies.
    pub(super) fn destroy_container(
        &mut self,
        container_id: &ContainerId,
        ctx: &mut Context<Self>,
    ) {
        let destroyed = self.containerizer.destroy(container_id);
        let container_id = container_id.clone();
        self.destroying += 1;
        ctx.defer(destroyed, move |agent: &mut Agent, result, ctx| {
            agent.destroying -= 1;
            if let Err(error) = result {
                tracing::warn!(%container_id, %error, "Container destruction failed");
            }
            agent.terminate_when_idle(ctx);
        });
    }

    /// The executor is gone: what is left of its container is destroyed, and its run's
    /// sandbox and checkpoints are scheduled for garbage collection.
    pub(super) fn container_ended(
        &mut self,
        key: &ExecutorKey,
        executor: &Executor,
        ctx: &mut Context<Self>,
    ) {
        if self
            .containerizer
            .containers()
            .any(|id| id == &executor.container_id)
        {
            self.destroy_container(&executor.container_id, ctx);
        }
        let delay = self.flags.gc_delay;
        let virtual_path = sandbox_virtual_path(key);
        let real_path = executor.directory.display().to_string();
        self.collect(
            delay,
            executor.directory.clone(),
            vec![real_path, virtual_path],
            ctx,
        );
        let agent_id = self.agent_id();
        if let Ok(meta) = executor.run(&agent_id, key).meta_dir(&self.flags.work_dir) {
            self.collect(delay, meta, Vec::new(), ctx);
        }
    }

    /// Removes `path` after `delay`, then detaches what `files` served from it.
    fn collect(
        &self,
        delay: Duration,
        path: std::path::PathBuf,
        detach: Vec<String>,
        ctx: &mut Context<Self>,
    ) {
        let removed = self.gc.schedule(delay, path.clone());
        ctx.defer(removed, move |agent: &mut Agent, result, _ctx| {
            if let Err(error) = result {
                tracing::warn!(path = %path.display(), %error, "Garbage collection failed");
            }
            for virtual_path in detach {
                drop(agent.files.detach(virtual_path));
            }
        });
    }

    /// Makes the sandbox browsable at its real path and at Mesos's virtual path.
    fn attach_sandbox(
        &self,
        key: &ExecutorKey,
        sandbox: &std::path::Path,
        ctx: &mut Context<Self>,
    ) {
        for virtual_path in [sandbox.display().to_string(), sandbox_virtual_path(key)] {
            let attached = self.files.attach(sandbox.to_owned(), virtual_path);
            ctx.defer(attached, |_agent: &mut Agent, result, _ctx| {
                if let Err(error) = result {
                    tracing::warn!(%error, "Could not attach a sandbox to /files");
                }
            });
        }
    }
}

/// Where `/files` shows the latest run of an executor, as Mesos 1.x names it.
fn sandbox_virtual_path((framework_id, executor_id): &ExecutorKey) -> String {
    format!("/frameworks/{framework_id}/executors/{executor_id}/runs/latest")
}

fn limitation_termination(limitation: Limitation) -> Termination {
    Termination {
        state: TaskState::TASK_FAILED,
        reason: limitation.reason,
        message: limitation.message,
    }
}
