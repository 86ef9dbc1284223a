//! The only place that builds paths under the agent's `--work_dir` (Mesos
//! `src/slave/paths.cpp`).
//!
//! Two trees live there: the sandboxes under `slaves/`, which executors write
//! to, and the checkpoints under `meta/`, which recovery reads back after a
//! restart. Keeping every path in this one module means the layout in
//! `mesos-operations.md` §9.1 is written down exactly once.
//!
//! Ids come from frameworks and the master, so they are checked before they
//! become path components: an empty id, `.`, `..`, or one holding `/` or NUL is
//! refused, and no hostile id can name a path outside the work dir.

use std::path::{Path, PathBuf};

use mesos_proto::{AgentId, ContainerId, ExecutorId, FrameworkId, TaskId};

/// The name of the symlink that points at the current agent's (or run's)
/// directory, as in Mesos.
pub const LATEST: &str = "latest";

/// Why an id cannot be used as a path component.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} id '{id}' cannot be used in a path: {reason}")]
pub struct PathError {
    /// Which kind of id: `agent`, `framework`, `executor`, `container` or `task`.
    pub kind: &'static str,
    /// The refused id, with NUL bytes escaped for printing.
    pub id: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Checks that `id` is one harmless path component, and returns it.
///
/// `latest` is refused too, because it names the symlinks beside the id
/// directories.
pub fn component<'a>(kind: &'static str, id: &'a str) -> Result<&'a str, PathError> {
    let reason = if id.is_empty() {
        Some("it is empty")
    } else if id == "." || id == ".." {
        Some("it names a relative directory")
    } else if id == LATEST {
        Some("it is reserved for the 'latest' symlink")
    } else if id.contains('/') {
        Some("it contains '/'")
    } else if id.contains('\0') {
        Some("it contains a NUL byte")
    } else {
        None
    };
    match reason {
        None => Ok(id),
        Some(reason) => Err(PathError {
            kind,
            id: id.escape_debug().to_string(),
            reason,
        }),
    }
}

fn agent(id: &AgentId) -> Result<&str, PathError> {
    component("agent", id.as_str())
}

fn framework(id: &FrameworkId) -> Result<&str, PathError> {
    component("framework", id.as_str())
}

fn executor(id: &ExecutorId) -> Result<&str, PathError> {
    component("executor", id.as_str())
}

fn container(id: &ContainerId) -> Result<&str, PathError> {
    component("container", id.as_str())
}

fn task(id: &TaskId) -> Result<&str, PathError> {
    component("task", id.as_str())
}

/// `<work_dir>/slaves/<agent_id>`: the root of one agent's sandboxes.
pub fn agent_dir(work_dir: &Path, agent_id: &AgentId) -> Result<PathBuf, PathError> {
    Ok(work_dir.join("slaves").join(agent(agent_id)?))
}

/// `<work_dir>/slaves/<aid>/frameworks/<fid>/executors/<eid>`: where the
/// runs of one executor keep their sandboxes.
pub fn executor_dir(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
) -> Result<PathBuf, PathError> {
    Ok(agent_dir(work_dir, agent_id)?
        .join("frameworks")
        .join(framework(framework_id)?)
        .join("executors")
        .join(executor(executor_id)?))
}

/// `<work_dir>/slaves/<aid>/frameworks/<fid>/executors/<eid>/runs/<cid>`: the
/// executor's sandbox, its working directory (Mesos `getExecutorRunPath`).
pub fn sandbox(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
) -> Result<PathBuf, PathError> {
    Ok(executor_dir(work_dir, agent_id, framework_id, executor_id)?
        .join("runs")
        .join(container(container_id)?))
}

/// `<work_dir>/meta`: the root of everything the agent checkpoints.
pub fn meta_dir(work_dir: &Path) -> PathBuf {
    work_dir.join("meta")
}

/// `<work_dir>/meta/boot_id`: the host boot id, text, for reboot detection.
pub fn boot_id(work_dir: &Path) -> PathBuf {
    meta_dir(work_dir).join("boot_id")
}

/// `<work_dir>/meta/slaves`: the parent of every agent's checkpoints.
pub fn agents_meta_dir(work_dir: &Path) -> PathBuf {
    meta_dir(work_dir).join("slaves")
}

/// `<work_dir>/meta/slaves/latest`: the symlink to the last agent's checkpoints.
pub fn latest_agent(work_dir: &Path) -> PathBuf {
    agents_meta_dir(work_dir).join(LATEST)
}

/// `<work_dir>/meta/slaves/<aid>`: one agent's checkpoints.
pub fn agent_meta_dir(work_dir: &Path, agent_id: &AgentId) -> Result<PathBuf, PathError> {
    Ok(agents_meta_dir(work_dir).join(agent(agent_id)?))
}

/// `.../meta/slaves/<aid>/slave.info`: the checkpointed `AgentInfo`.
pub fn agent_info(work_dir: &Path, agent_id: &AgentId) -> Result<PathBuf, PathError> {
    Ok(agent_meta_dir(work_dir, agent_id)?.join("slave.info"))
}

/// `.../meta/slaves/<aid>/frameworks`: the parent of the framework checkpoints.
pub fn frameworks_meta_dir(work_dir: &Path, agent_id: &AgentId) -> Result<PathBuf, PathError> {
    Ok(agent_meta_dir(work_dir, agent_id)?.join("frameworks"))
}

/// `.../frameworks/<fid>`: one framework's checkpoints.
pub fn framework_meta_dir(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
) -> Result<PathBuf, PathError> {
    Ok(frameworks_meta_dir(work_dir, agent_id)?.join(framework(framework_id)?))
}

/// `.../frameworks/<fid>/framework.info`: the checkpointed `FrameworkInfo`.
pub fn framework_info(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
) -> Result<PathBuf, PathError> {
    Ok(framework_meta_dir(work_dir, agent_id, framework_id)?.join("framework.info"))
}

/// `.../frameworks/<fid>/framework.pid`: the scheduler's pid, text.
pub fn framework_pid(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
) -> Result<PathBuf, PathError> {
    Ok(framework_meta_dir(work_dir, agent_id, framework_id)?.join("framework.pid"))
}

/// `.../frameworks/<fid>/executors`: the parent of the executor checkpoints.
pub fn executors_meta_dir(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
) -> Result<PathBuf, PathError> {
    Ok(framework_meta_dir(work_dir, agent_id, framework_id)?.join("executors"))
}

/// `.../executors/<eid>`: one executor's checkpoints.
pub fn executor_meta_dir(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
) -> Result<PathBuf, PathError> {
    Ok(executors_meta_dir(work_dir, agent_id, framework_id)?.join(executor(executor_id)?))
}

/// `.../executors/<eid>/executor.info`: the checkpointed `ExecutorInfo`.
pub fn executor_info(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
) -> Result<PathBuf, PathError> {
    Ok(executor_meta_dir(work_dir, agent_id, framework_id, executor_id)?.join("executor.info"))
}

/// `.../executors/<eid>/runs`: the parent of the run checkpoints.
pub fn runs_meta_dir(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
) -> Result<PathBuf, PathError> {
    Ok(executor_meta_dir(work_dir, agent_id, framework_id, executor_id)?.join("runs"))
}

/// `.../runs/<cid>`: one executor run's checkpoints.
pub fn run_meta_dir(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
) -> Result<PathBuf, PathError> {
    Ok(
        runs_meta_dir(work_dir, agent_id, framework_id, executor_id)?
            .join(container(container_id)?),
    )
}

/// Identifies one executor run, the key of every path below `runs/<cid>`.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// The agent.
    pub agent_id: &'a AgentId,
    /// The executor's framework.
    pub framework_id: &'a FrameworkId,
    /// The executor.
    pub executor_id: &'a ExecutorId,
    /// The run's container.
    pub container_id: &'a ContainerId,
}

impl Run<'_> {
    /// `.../runs/<cid>` below `work_dir`.
    pub fn meta_dir(&self, work_dir: &Path) -> Result<PathBuf, PathError> {
        run_meta_dir(
            work_dir,
            self.agent_id,
            self.framework_id,
            self.executor_id,
            self.container_id,
        )
    }

    /// `.../runs/<cid>/pids/forked.pid`: the executor's OS pid, text.
    pub fn forked_pid(&self, work_dir: &Path) -> Result<PathBuf, PathError> {
        Ok(self.meta_dir(work_dir)?.join("pids").join("forked.pid"))
    }

    /// `.../runs/<cid>/pids/libprocess.pid`: the executor's libprocess pid, text.
    pub fn libprocess_pid(&self, work_dir: &Path) -> Result<PathBuf, PathError> {
        Ok(self.meta_dir(work_dir)?.join("pids").join("libprocess.pid"))
    }

    /// `.../runs/<cid>/pids/http.marker`: present once an HTTP executor subscribed.
    pub fn http_marker(&self, work_dir: &Path) -> Result<PathBuf, PathError> {
        Ok(self.meta_dir(work_dir)?.join("pids").join("http.marker"))
    }

    /// `.../runs/<cid>/executor.sentinel`: present once the run has completed.
    pub fn executor_sentinel(&self, work_dir: &Path) -> Result<PathBuf, PathError> {
        Ok(self.meta_dir(work_dir)?.join("executor.sentinel"))
    }

    /// `.../runs/<cid>/tasks`: the parent of the task checkpoints.
    pub fn tasks_meta_dir(&self, work_dir: &Path) -> Result<PathBuf, PathError> {
        Ok(self.meta_dir(work_dir)?.join("tasks"))
    }

    /// `.../runs/<cid>/tasks/<tid>`: one task's checkpoints.
    pub fn task_meta_dir(&self, work_dir: &Path, task_id: &TaskId) -> Result<PathBuf, PathError> {
        Ok(self.tasks_meta_dir(work_dir)?.join(task(task_id)?))
    }

    /// `.../tasks/<tid>/task.info`: the checkpointed `Task`.
    pub fn task_info(&self, work_dir: &Path, task_id: &TaskId) -> Result<PathBuf, PathError> {
        Ok(self.task_meta_dir(work_dir, task_id)?.join("task.info"))
    }

    /// `.../tasks/<tid>/task.updates`: the task's status update records.
    pub fn task_updates(&self, work_dir: &Path, task_id: &TaskId) -> Result<PathBuf, PathError> {
        Ok(self.task_meta_dir(work_dir, task_id)?.join("task.updates"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (AgentId, FrameworkId, ExecutorId, ContainerId) {
        ("a1".into(), "f1".into(), "e1".into(), "c1".into())
    }

    #[test]
    fn sandbox_is_mesos_layout() {
        let (a, f, e, c) = ids();
        let path = sandbox(Path::new("/w"), &a, &f, &e, &c).unwrap();
        assert_eq!(
            path,
            Path::new("/w/slaves/a1/frameworks/f1/executors/e1/runs/c1")
        );
    }

    #[test]
    fn meta_paths_are_mesos_layout() {
        let w = Path::new("/w");
        let (a, f, e, c) = ids();
        assert_eq!(boot_id(w), Path::new("/w/meta/boot_id"));
        assert_eq!(latest_agent(w), Path::new("/w/meta/slaves/latest"));
        assert_eq!(
            agent_info(w, &a).unwrap(),
            Path::new("/w/meta/slaves/a1/slave.info")
        );
        let fw = "/w/meta/slaves/a1/frameworks/f1";
        assert_eq!(
            framework_info(w, &a, &f).unwrap(),
            Path::new(fw).join("framework.info")
        );
        assert_eq!(
            framework_pid(w, &a, &f).unwrap(),
            Path::new(fw).join("framework.pid")
        );
        let ex = format!("{fw}/executors/e1");
        assert_eq!(
            executor_info(w, &a, &f, &e).unwrap(),
            Path::new(&ex).join("executor.info")
        );
        let run = Run {
            agent_id: &a,
            framework_id: &f,
            executor_id: &e,
            container_id: &c,
        };
        let rd = format!("{ex}/runs/c1");
        assert_eq!(
            run.forked_pid(w).unwrap(),
            Path::new(&rd).join("pids/forked.pid")
        );
        assert_eq!(
            run.libprocess_pid(w).unwrap(),
            Path::new(&rd).join("pids/libprocess.pid")
        );
        assert_eq!(
            run.executor_sentinel(w).unwrap(),
            Path::new(&rd).join("executor.sentinel")
        );
        let t: TaskId = "t1".into();
        assert_eq!(
            run.task_info(w, &t).unwrap(),
            Path::new(&rd).join("tasks/t1/task.info")
        );
        assert_eq!(
            run.task_updates(w, &t).unwrap(),
            Path::new(&rd).join("tasks/t1/task.updates")
        );
    }

    #[test]
    fn hostile_ids_are_refused() {
        let (a, f, e, _) = ids();
        for bad in [
            "",
            ".",
            "..",
            "latest",
            "../../etc",
            "a/b",
            "/abs",
            "nul\0byte",
        ] {
            let err = sandbox(Path::new("/w"), &a, &f, &e, &bad.into()).unwrap_err();
            assert_eq!(err.kind, "container", "{bad:?}");
        }
    }

    #[test]
    fn refusal_names_the_kind_of_id() {
        let (a, _, e, c) = ids();
        let err = sandbox(Path::new("/w"), &a, &"..".into(), &e, &c).unwrap_err();
        assert_eq!(err.kind, "framework");
        assert!(err.to_string().contains("framework id '..'"), "{err}");
    }

    #[test]
    fn ordinary_ids_with_dots_are_accepted() {
        for good in ["...", ".hidden", "task.1", "20260101-000000-1-S0", "a b"] {
            assert_eq!(component("task", good), Ok(good));
        }
    }
}
