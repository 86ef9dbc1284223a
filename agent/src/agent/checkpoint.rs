//! What the agent checkpoints while it runs, in Mesos's `meta/` layout (see `paths`),
//! so that an agent restarted on the same work dir finds its id, its checkpointing
//! frameworks' executors and their tasks. Frameworks that do not ask for
//! checkpointing get none: their executors end with the agent.
//!
//! A checkpoint written before an executor starts must succeed (a run recovery
//! cannot find is refused); a later one that fails is logged, and only that run's
//! recovery is at risk.

use std::path::{Path, PathBuf};

use mesos_proto::mesos::{TaskInfo, TaskState};
use mesos_proto::TaskId;

use super::executor::{Executor, ExecutorKey};
use super::Agent;
use crate::paths;
use crate::state::{self, StateError};

impl Agent {
    /// The agent's own description and `meta/slaves/latest`, once it has an id.
    pub(super) fn checkpoint_agent(&self) {
        let Some(id) = &self.info.id else {
            return;
        };
        let work_dir = &self.flags.work_dir;
        let written = paths::agent_info(work_dir, id)
            .map_err(StateError::from)
            .and_then(|path| state::checkpoint(&path, &self.info))
            .and_then(|()| state::mark_latest_agent(work_dir, id));
        if let Err(error) = written {
            tracing::error!(agent_id = %id, %error, "Could not checkpoint the agent's info");
        }
    }

    /// Before an executor starts: its framework's info and pid, and its own info,
    /// so that recovery can find the run.
    pub(super) fn checkpoint_executor(
        &self,
        key: &ExecutorKey,
        executor: &Executor,
    ) -> Result<(), StateError> {
        if !executor.checkpoints() {
            return Ok(());
        }
        let (work_dir, agent_id) = (&self.flags.work_dir, self.agent_id());
        state::checkpoint(
            &paths::framework_info(work_dir, &agent_id, &key.0)?,
            &executor.framework,
        )?;
        let framework_pid = executor.framework_pid.as_deref().unwrap_or("");
        state::write_text(
            &paths::framework_pid(work_dir, &agent_id, &key.0)?,
            framework_pid,
        )?;
        state::checkpoint(
            &paths::executor_info(work_dir, &agent_id, &key.0, &key.1)?,
            &executor.info,
        )?;
        let run_dir = executor.run(&agent_id, key).meta_dir(work_dir)?;
        std::fs::create_dir_all(&run_dir).map_err(|source| StateError::Io {
            action: "create directory",
            path: run_dir,
            source,
        })
    }

    /// Once forked: the executor's OS pid, which a restarted agent checks for life.
    pub(super) fn checkpoint_forked_pid(&self, key: &ExecutorKey, executor: &Executor) {
        let pid = executor.os_pid.to_string();
        self.checkpoint_run_text(key, executor, |run, w| run.forked_pid(w), &pid);
    }

    /// Once registered: how recovery reaches the executor again, its libproc pid
    /// (reconnected to) or the HTTP marker (it re-subscribes by itself).
    pub(super) fn checkpoint_connection(&self, key: &ExecutorKey, executor: &Executor) {
        match executor.pid() {
            Some(pid) => {
                let pid = pid.to_string();
                self.checkpoint_run_text(key, executor, |run, w| run.libprocess_pid(w), &pid);
            }
            None => self.checkpoint_run_text(key, executor, |run, w| run.http_marker(w), ""),
        }
    }

    /// Once the run is over: its sentinel, so recovery does not wait for it.
    pub(super) fn checkpoint_sentinel(&self, key: &ExecutorKey, executor: &Executor) {
        self.checkpoint_run_text(key, executor, |run, w| run.executor_sentinel(w), "");
    }

    /// A task given to the executor, as the master knows it.
    pub(super) fn checkpoint_task(&self, key: &ExecutorKey, executor: &Executor, task: &TaskInfo) {
        if !executor.checkpoints() {
            return;
        }
        let agent_id = self.agent_id();
        let record = executor.task(task, TaskState::TASK_STAGING, &key.0, &agent_id);
        let written = executor
            .run(&agent_id, key)
            .task_info(&self.flags.work_dir, &task.task_id)
            .map_err(StateError::from)
            .and_then(|path| state::checkpoint(&path, &record));
        if let Err(error) = written {
            tracing::error!(task_id = %task.task_id, %error, "Could not checkpoint a task");
        }
    }

    /// Where a checkpointing framework's task keeps its status update records.
    pub(super) fn task_updates_path(
        &self,
        key: &ExecutorKey,
        executor: &Executor,
        task_id: &TaskId,
    ) -> Option<PathBuf> {
        if !executor.checkpoints() {
            return None;
        }
        let agent_id = self.agent_id();
        executor
            .run(&agent_id, key)
            .task_updates(&self.flags.work_dir, task_id)
            .inspect_err(|error| tracing::error!(%task_id, %error, "No checkpoint path for a task"))
            .ok()
    }

    fn checkpoint_run_text(
        &self,
        key: &ExecutorKey,
        executor: &Executor,
        path: impl FnOnce(&paths::Run<'_>, &Path) -> Result<PathBuf, paths::PathError>,
        text: &str,
    ) {
        if !executor.checkpoints() {
            return;
        }
        let agent_id = self.agent_id();
        let written = path(&executor.run(&agent_id, key), &self.flags.work_dir)
            .map_err(StateError::from)
            .and_then(|path| state::write_text(&path, text));
        if let Err(error) = written {
            tracing::error!(executor_id = %key.1, %error, "Could not checkpoint an executor run");
        }
    }
}
