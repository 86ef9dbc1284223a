//! Reading the agent's checkpoints back after a restart (Mesos `SlaveState`,
//! `FrameworkState`, `ExecutorState`, `RunState`, `TaskState` in
//! `src/slave/state.cpp`).
//!
//! The walk follows `meta/slaves/latest` and then the directory tree below
//! it, turning each level into a plain struct; the agent decides later what to
//! do with what was found. `--strict` decides what a damaged file means: with
//! `strict` the first one fails recovery; without, the framework, executor,
//! run or task that owns it is skipped, counted in [`AgentState::errors`]
//! (the `slave/recovery_errors` metric) and logged.

use std::fs;
use std::io;
use std::path::Path;

use mesos_proto::mesos::{AgentInfo, ExecutorInfo, FrameworkInfo, Task};
use mesos_proto::{AgentId, ContainerId, ExecutorId, FrameworkId, TaskId};
use tracing::warn;

use super::{
    corrupt, io_error, read_checkpoint, read_records, read_text, truncate_records, StateError,
    StatusUpdateRecord,
};
use crate::paths::{self, Run};

/// What the agent checkpointed about itself and its frameworks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentState {
    /// The agent id `meta/slaves/latest` points at.
    pub id: AgentId,
    /// `slave.info`; absent if the agent died before writing it.
    pub info: Option<AgentInfo>,
    /// The checkpointing frameworks that had executors here.
    pub frameworks: Vec<FrameworkState>,
    /// How many damaged files were skipped (non-strict recovery only).
    pub errors: u32,
}

/// One framework's checkpoints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameworkState {
    /// The framework id (its directory name).
    pub id: FrameworkId,
    /// `framework.info`, if written.
    pub info: Option<FrameworkInfo>,
    /// `framework.pid`: the scheduler's pid, for driver-based frameworks.
    pub pid: Option<String>,
    /// Its executors.
    pub executors: Vec<ExecutorState>,
}

/// One executor's checkpoints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutorState {
    /// The executor id (its directory name).
    pub id: ExecutorId,
    /// `executor.info`, if written.
    pub info: Option<ExecutorInfo>,
    /// Its runs, one per container it was launched in.
    pub runs: Vec<RunState>,
}

/// One executor run's checkpoints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunState {
    /// The run's container (its directory name).
    pub container_id: ContainerId,
    /// `pids/forked.pid`: the executor's OS pid, once forked.
    pub forked_pid: Option<u32>,
    /// `pids/libprocess.pid`: the executor's pid, once it registered.
    pub libprocess_pid: Option<String>,
    /// Whether `pids/http.marker` exists: the executor subscribed over HTTP.
    pub http: bool,
    /// Whether `executor.sentinel` exists: the run is over.
    pub completed: bool,
    /// The tasks launched in this run.
    pub tasks: Vec<TaskRecoveryState>,
}

/// One task's checkpoints (Mesos's recovery `TaskState`, renamed so it does
/// not clash with `mesos_proto::mesos::TaskState`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskRecoveryState {
    /// The task id (its directory name).
    pub id: TaskId,
    /// `task.info`, if written.
    pub task: Option<Task>,
    /// `task.updates`, complete records only; a torn last one was cut off.
    pub records: Vec<StatusUpdateRecord>,
}

/// Reads back everything the agent checkpointed under `work_dir`;
/// `Ok(None)` when there is no `meta/slaves/latest` (a fresh agent).
///
/// A torn last status update record is cut off the file, so this writes to
/// the work dir: call it once, at startup, before anything else touches it.
pub fn recover_agent(work_dir: &Path, strict: bool) -> Result<Option<AgentState>, StateError> {
    let Some(id) = latest_agent_id(work_dir)? else {
        return Ok(None);
    };
    let mut walk = Walk {
        work_dir,
        strict,
        errors: 0,
    };
    let info = walk
        .tolerate(|_| read_checkpoint(&paths::agent_info(work_dir, &id)?))?
        .flatten();
    let frameworks = match info {
        Some(_) => walk.frameworks(&id)?,
        None => {
            warn!(agent_id = %id, "Found no agent info; not recovering frameworks");
            Vec::new()
        }
    };
    Ok(Some(AgentState {
        id,
        info,
        frameworks,
        errors: walk.errors,
    }))
}

/// The agent id that `meta/slaves/latest` links to.
fn latest_agent_id(work_dir: &Path) -> Result<Option<AgentId>, StateError> {
    let link = paths::latest_agent(work_dir);
    let target = match fs::read_link(&link) {
        Ok(target) => target,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read link", &link)(e)),
    };
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| corrupt(&link, "does not point at an agent directory"))?;
    paths::component("agent", name)?;
    Ok(Some(AgentId::new(name)))
}

/// The state of one recovery walk.
struct Walk<'a> {
    work_dir: &'a Path,
    strict: bool,
    errors: u32,
}

impl Walk<'_> {
    /// Runs one step; a failure is returned when strict, otherwise logged,
    /// counted and turned into `None` so the caller skips what failed.
    fn tolerate<T>(
        &mut self,
        step: impl FnOnce(&mut Self) -> Result<T, StateError>,
    ) -> Result<Option<T>, StateError> {
        match step(self) {
            Ok(value) => Ok(Some(value)),
            Err(e) if self.strict => Err(e),
            Err(e) => {
                warn!(error = %e, "Skipping damaged checkpoint during non-strict recovery");
                self.errors += 1;
                Ok(None)
            }
        }
    }

    /// Recovers each id directory under `dir`, skipping those that fail when
    /// not strict. A missing `dir` holds nothing.
    fn each<T>(
        &mut self,
        dir: &Path,
        kind: &'static str,
        mut recover: impl FnMut(&mut Self, &str) -> Result<T, StateError>,
    ) -> Result<Vec<T>, StateError> {
        let mut recovered = Vec::new();
        for name in child_dirs(dir)? {
            let step = |walk: &mut Self| {
                let id = name
                    .to_str()
                    .ok_or_else(|| corrupt(&dir.join(&name), "name is not UTF-8"))?;
                paths::component(kind, id)?;
                recover(walk, id)
            };
            recovered.extend(self.tolerate(step)?);
        }
        Ok(recovered)
    }

    fn frameworks(&mut self, agent_id: &AgentId) -> Result<Vec<FrameworkState>, StateError> {
        let dir = paths::frameworks_meta_dir(self.work_dir, agent_id)?;
        self.each(&dir, "framework", |walk, id| {
            walk.framework(agent_id, FrameworkId::new(id))
        })
    }

    fn framework(
        &mut self,
        agent_id: &AgentId,
        id: FrameworkId,
    ) -> Result<FrameworkState, StateError> {
        let w = self.work_dir;
        let info = read_checkpoint(&paths::framework_info(w, agent_id, &id)?)?;
        let pid = read_text(&paths::framework_pid(w, agent_id, &id)?)?;
        let dir = paths::executors_meta_dir(w, agent_id, &id)?;
        let executors = self.each(&dir, "executor", |walk, eid| {
            walk.executor(agent_id, &id, ExecutorId::new(eid))
        })?;
        Ok(FrameworkState {
            id,
            info,
            pid,
            executors,
        })
    }

    fn executor(
        &mut self,
        agent_id: &AgentId,
        framework_id: &FrameworkId,
        id: ExecutorId,
    ) -> Result<ExecutorState, StateError> {
        let w = self.work_dir;
        let info = read_checkpoint(&paths::executor_info(w, agent_id, framework_id, &id)?)?;
        let dir = paths::runs_meta_dir(w, agent_id, framework_id, &id)?;
        let runs = self.each(&dir, "container", |walk, cid| {
            let container_id = ContainerId::new(cid);
            let run = Run {
                agent_id,
                framework_id,
                executor_id: &id,
                container_id: &container_id,
            };
            walk.run(run)
        })?;
        Ok(ExecutorState { id, info, runs })
    }

    fn run(&mut self, run: Run<'_>) -> Result<RunState, StateError> {
        let w = self.work_dir;
        let forked_pid = read_forked_pid(&run.forked_pid(w)?)?;
        let libprocess_pid = read_text(&run.libprocess_pid(w)?)?;
        let marker = run.http_marker(w)?;
        let http = marker.try_exists().map_err(io_error("stat", &marker))?;
        let sentinel = run.executor_sentinel(w)?;
        let completed = sentinel.try_exists().map_err(io_error("stat", &sentinel))?;
        let tasks = self.each(&run.tasks_meta_dir(w)?, "task", |walk, tid| {
            walk.task(run, TaskId::new(tid))
        })?;
        Ok(RunState {
            container_id: run.container_id.clone(),
            forked_pid,
            libprocess_pid,
            http,
            completed,
            tasks,
        })
    }

    fn task(&mut self, run: Run<'_>, id: TaskId) -> Result<TaskRecoveryState, StateError> {
        let w = self.work_dir;
        let task = read_checkpoint(&run.task_info(w, &id)?)?;
        let updates = run.task_updates(w, &id)?;
        let read = read_records(&updates)?;
        if let Some(len) = read.torn_at {
            truncate_records(&updates, len)?;
        }
        Ok(TaskRecoveryState {
            id,
            task,
            records: read.records,
        })
    }
}

/// The names of the real directories in `dir`, sorted; symlinks such as
/// `latest` and stray files are not ids and are left out.
fn child_dirs(dir: &Path) -> Result<Vec<std::ffi::OsString>, StateError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("list", dir)(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error("list", dir))?;
        let kind = entry.file_type().map_err(io_error("stat", &entry.path()))?;
        if kind.is_dir() {
            names.push(entry.file_name());
        }
    }
    names.sort();
    Ok(names)
}

fn read_forked_pid(path: &Path) -> Result<Option<u32>, StateError> {
    read_text(path)?
        .map(|text| {
            text.parse()
                .map_err(|_| corrupt(path, format!("'{text}' is not a process id")))
        })
        .transpose()
}
