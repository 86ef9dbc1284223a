//! The Mesos containerizer: launches executors in containers, isolates them
//! (`--isolation`), measures them, notices when they hit a limit, and destroys them
//! with every process they started (Mesos's `MesosContainerizer`).
//!
//! [`Containerizer`] is a plain struct the `Agent` actor owns and calls; what takes
//! time (`destroy`, `watch`, waiting for an exit) is returned as an owned future for
//! the agent to `ctx.defer`.
//!
//! - `launcher.rs`: clone/exec of the executor into its session, cgroups and
//!   namespaces; reaping.
//! - `cgroups.rs`: the `cgroups/cpu` and `cgroups/mem` isolators, v1 and v2.
//! - `posix.rs`: the `posix/cpu` and `posix/mem` isolators (procfs).
//!
//! Asking for `cgroups/*` where cgroups cannot be used (not root, nothing mounted
//! under `--cgroups_hierarchy`, not writable) logs a warning and falls back to the
//! POSIX isolators, so an agent still starts on a laptop or in an unprivileged
//! container.

pub mod launcher;

mod cgroups;
mod posix;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

use mesos_proto::mesos::{ExecutorInfo, ResourceStatistics, StatusReason};
use mesos_proto::{ContainerId, FrameworkId, Resources};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid as OsPid;

use crate::flags::Flags;
use cgroups::{Cgroups, ContainerCgroups};
use launcher::{ExitWatch, Placement};

pub use launcher::{describe_exit, kill_group, stdout_path, LaunchError, LaunchSpec, Launched};

/// How long `destroy` waits for the executor to be reaped once its processes are
/// killed.
const REAP_TIMEOUT: Duration = Duration::from_secs(30);

/// One isolator `--isolation` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isolator {
    /// `posix/cpu`: CPU usage from procfs, no limit.
    PosixCpu,
    /// `posix/mem`: memory usage from procfs, no limit.
    PosixMem,
    /// `cgroups/cpu`: cpu shares (and a CFS quota with `--cgroups_enable_cfs`).
    CgroupsCpu,
    /// `cgroups/mem`: a memory limit, with OOM kills reported as limitations.
    CgroupsMem,
    /// `namespaces/pid`: the executor is pid 1 of its own pid namespace.
    NamespacesPid,
    /// `filesystem/linux`: a private mount namespace.
    FilesystemLinux,
    /// `filesystem/posix`: the host file system, as is.
    FilesystemPosix,
}

impl Isolator {
    const ALL: [Isolator; 7] = [
        Isolator::PosixCpu,
        Isolator::PosixMem,
        Isolator::CgroupsCpu,
        Isolator::CgroupsMem,
        Isolator::NamespacesPid,
        Isolator::FilesystemLinux,
        Isolator::FilesystemPosix,
    ];

    /// The name `--isolation` uses.
    pub fn name(self) -> &'static str {
        match self {
            Isolator::PosixCpu => "posix/cpu",
            Isolator::PosixMem => "posix/mem",
            Isolator::CgroupsCpu => "cgroups/cpu",
            Isolator::CgroupsMem => "cgroups/mem",
            Isolator::NamespacesPid => "namespaces/pid",
            Isolator::FilesystemLinux => "filesystem/linux",
            Isolator::FilesystemPosix => "filesystem/posix",
        }
    }
}

impl fmt::Display for Isolator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Isolator {
    type Err = ContainerizerError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Isolator::ALL
            .into_iter()
            .find(|i| i.name() == name)
            .ok_or_else(|| ContainerizerError::UnknownIsolator(name.to_owned()))
    }
}

/// The isolators of an `--isolation` value (comma-separated, blanks ignored).
pub fn parse_isolation(text: &str) -> Result<BTreeSet<Isolator>, ContainerizerError> {
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(Isolator::from_str)
        .collect()
}

/// What went wrong, always naming the container, file or flag concerned.
#[derive(Debug, thiserror::Error)]
pub enum ContainerizerError {
    /// `--isolation` names an isolator we do not have.
    #[error("unknown isolator '{0}' in --isolation (known: posix/cpu, posix/mem, cgroups/cpu, cgroups/mem, namespaces/pid, filesystem/linux, filesystem/posix)")]
    UnknownIsolator(String),
    /// `--containerizers` names something other than `mesos`.
    #[error("unsupported containerizer '{0}' in --containerizers (only 'mesos' is supported)")]
    UnsupportedContainerizer(String),
    /// An isolator needs privileges the agent lacks.
    #[error("the {0} isolator needs root")]
    NeedsRoot(Isolator),
    /// `--cgroups_root` or a container id cannot be a cgroup name.
    #[error("'{0}' cannot name a cgroup (it must be a non-empty relative name without '..')")]
    BadCgroupName(String),
    /// The container is launched already.
    #[error("container {0} already exists")]
    ContainerExists(ContainerId),
    /// The container is not known.
    #[error("unknown container {0}")]
    UnknownContainer(ContainerId),
    /// The executor could not be started.
    #[error("cannot launch container {container_id}: {source}")]
    Launch {
        /// The container.
        container_id: ContainerId,
        /// Why.
        source: LaunchError,
    },
    /// A cgroup file or directory could not be used.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done (`read`, `write`, `create`, `remove`...).
        action: &'static str,
        /// The file or directory (it names the container).
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// procfs could not be read.
    #[error("cannot read procfs for container {container_id}: {source}")]
    Procfs {
        /// The container.
        container_id: ContainerId,
        /// Why.
        source: procfs::ProcError,
    },
    /// Processes survived every kill until the deadline.
    #[error("container {container_id} still has processes {remaining:?} after being killed")]
    DestroyTimeout {
        /// The container.
        container_id: ContainerId,
        /// The survivors' pids.
        remaining: Vec<u32>,
    },
}

/// A limit a container hit, which ends its tasks (Mesos `ContainerLimitation`).
#[derive(Debug, Clone, PartialEq)]
pub struct Limitation {
    /// Why, for the tasks' TASK_FAILED (`REASON_CONTAINER_LIMITATION_MEMORY`).
    pub reason: StatusReason,
    /// What happened, as Mesos words it.
    pub message: String,
    /// The resources involved (for memory: the peak use).
    pub resources: Resources,
}

/// A container the containerizer runs.
#[derive(Debug)]
struct Container {
    /// The executor's host pid.
    pid: u32,
    /// What it was given (empty for a recovered container until `update`).
    resources: Resources,
    /// The executor's exit, when it is our child.
    exit: Option<ExitWatch>,
    /// Its cgroups, with cgroups isolation.
    cgroups: Option<ContainerCgroups>,
}

/// The Mesos containerizer: see the module docs.
#[derive(Debug)]
pub struct Containerizer {
    isolators: BTreeSet<Isolator>,
    cgroups: Option<Cgroups>,
    containers: BTreeMap<ContainerId, Container>,
}

impl Containerizer {
    /// Builds the containerizer `--containerizers` and `--isolation` ask for; see
    /// the module docs for the fallback when cgroups cannot be used.
    pub fn new(flags: &Flags) -> Result<Self, ContainerizerError> {
        for name in flags.containerizers.split(',').map(str::trim) {
            if name != "mesos" {
                return Err(ContainerizerError::UnsupportedContainerizer(
                    name.to_owned(),
                ));
            }
        }
        let mut isolators = parse_isolation(&flags.isolation)?;
        let root = nix::unistd::geteuid().is_root();
        for namespaced in [Isolator::NamespacesPid, Isolator::FilesystemLinux] {
            if isolators.contains(&namespaced) && !root {
                return Err(ContainerizerError::NeedsRoot(namespaced));
            }
        }
        let cpu = isolators.contains(&Isolator::CgroupsCpu);
        let mem = isolators.contains(&Isolator::CgroupsMem);
        let mut cgroups = None;
        if cpu || mem {
            check_cgroup_name(&flags.cgroups_root)?;
            match Cgroups::new(
                &flags.cgroups_hierarchy,
                &flags.cgroups_root,
                cpu,
                mem,
                flags.cgroups_enable_cfs,
            ) {
                Ok(found) => {
                    tracing::info!(v2 = found.is_v2(), hierarchy = %flags.cgroups_hierarchy.display(), root = %flags.cgroups_root, "Using cgroups isolation");
                    cgroups = Some(found);
                }
                Err(reason) => {
                    tracing::warn!(%reason, "cgroups isolation is unavailable; falling back to POSIX isolation");
                    for (cgroup, posix) in [
                        (Isolator::CgroupsCpu, Isolator::PosixCpu),
                        (Isolator::CgroupsMem, Isolator::PosixMem),
                    ] {
                        if isolators.remove(&cgroup) {
                            isolators.insert(posix);
                        }
                    }
                }
            }
        }
        Ok(Self {
            isolators,
            cgroups,
            containers: BTreeMap::new(),
        })
    }

    /// The isolators in effect (after any fallback).
    pub fn isolators(&self) -> impl Iterator<Item = Isolator> + '_ {
        self.isolators.iter().copied()
    }

    /// The containers running.
    pub fn containers(&self) -> impl Iterator<Item = &ContainerId> + '_ {
        self.containers.keys()
    }

    /// Launches `spec` as container `container_id` with `resources`: its cgroups are
    /// created and limited first, and the executor joins them (and its namespaces)
    /// before it runs. Must be called inside a tokio runtime.
    pub fn launch(
        &mut self,
        container_id: &ContainerId,
        spec: &LaunchSpec,
        resources: &Resources,
    ) -> Result<Launched, ContainerizerError> {
        check_container_id(container_id)?;
        if self.containers.contains_key(container_id) {
            return Err(ContainerizerError::ContainerExists(container_id.clone()));
        }
        let mut placement = Placement {
            pid_namespace: self.isolators.contains(&Isolator::NamespacesPid),
            mount_namespace: self.isolators.contains(&Isolator::FilesystemLinux),
            ..Placement::default()
        };
        let cgroups = match &self.cgroups {
            Some(cgroups) => {
                placement.cgroup_procs = cgroups.prepare(container_id, resources)?;
                Some(cgroups.container(container_id))
            }
            None => None,
        };
        let launched = match launcher::launch_placed(spec, &placement) {
            Ok(launched) => launched,
            Err(source) => {
                if let Some(cgroups) = &cgroups {
                    cgroups.remove_empty();
                }
                return Err(ContainerizerError::Launch {
                    container_id: container_id.clone(),
                    source,
                });
            }
        };
        tracing::info!(container_id = %container_id, os_pid = launched.pid(), isolation = ?self.isolators, "Container launched");
        self.containers.insert(
            container_id.clone(),
            Container {
                pid: launched.pid(),
                resources: resources.clone(),
                exit: Some(launched.exit_watch()),
                cgroups,
            },
        );
        Ok(launched)
    }

    /// Changes the container's limits to `resources` (an executor got or lost a
    /// task).
    pub fn update(
        &mut self,
        container_id: &ContainerId,
        resources: &Resources,
    ) -> Result<(), ContainerizerError> {
        let container = self
            .containers
            .get_mut(container_id)
            .ok_or_else(|| ContainerizerError::UnknownContainer(container_id.clone()))?;
        if let Some(cgroups) = &self.cgroups {
            cgroups.update(container_id, resources, false)?;
        }
        container.resources = resources.clone();
        tracing::info!(container_id = %container_id, resources = %resources, "Container updated");
        Ok(())
    }

    /// What the container uses now, with its allotted `cpus_limit` and
    /// `mem_limit_bytes`.
    pub fn usage(
        &self,
        container_id: &ContainerId,
    ) -> Result<ResourceStatistics, ContainerizerError> {
        let container = self
            .containers
            .get(container_id)
            .ok_or_else(|| ContainerizerError::UnknownContainer(container_id.clone()))?;
        let cgroups_cover_all = self.isolators.contains(&Isolator::CgroupsCpu)
            && self.isolators.contains(&Isolator::CgroupsMem);
        let mut statistics = if cgroups_cover_all {
            ResourceStatistics {
                timestamp: posix::now(),
                ..ResourceStatistics::default()
            }
        } else {
            posix::usage(container_id, container.pid)?
        };
        if let Some(cgroups) = &self.cgroups {
            cgroups.usage(container_id, &mut statistics)?;
        }
        statistics.cpus_limit = container.resources.cpus();
        statistics.mem_limit_bytes = container
            .resources
            .mem()
            .map(|mem| (mem * 1024.0 * 1024.0) as u64);
        Ok(statistics)
    }

    /// The limitation the container has hit, read now (the agent asks when a
    /// terminal update arrives, so an OOM kill is reported even if the executor's
    /// own TASK_FAILED came first). `None` without `cgroups/mem`.
    pub fn limitation(&self, container_id: &ContainerId) -> Option<Limitation> {
        self.containers
            .get(container_id)?
            .cgroups
            .as_ref()?
            .limitation()
    }

    /// Resolves with the limitation when the container hits one, or with `None`
    /// when it is destroyed first or nothing can limit it (no `cgroups/mem`), so a
    /// deferred continuation never lingers.
    pub fn watch(
        &self,
        container_id: &ContainerId,
    ) -> impl Future<Output = Option<Limitation>> + Send + 'static {
        let cgroups = self
            .containers
            .get(container_id)
            .and_then(|c| c.cgroups.clone());
        async move {
            match cgroups {
                Some(cgroups) => cgroups.watch().await,
                None => None,
            }
        }
    }

    /// Kills every process of the container, waits until they are gone and the
    /// executor is reaped, and removes its cgroups. The container is forgotten at
    /// once; the future says whether the cleanup completed.
    pub fn destroy(
        &mut self,
        container_id: &ContainerId,
    ) -> impl Future<Output = Result<(), ContainerizerError>> + Send + 'static {
        let container = self.containers.remove(container_id);
        let pid_namespace = self.isolators.contains(&Isolator::NamespacesPid);
        let container_id = container_id.clone();
        async move {
            let container = container
                .ok_or_else(|| ContainerizerError::UnknownContainer(container_id.clone()))?;
            tracing::info!(container_id = %container_id, os_pid = container.pid, "Destroying container");
            if pid_namespace {
                // The namespace's init dying takes every process of it along.
                if let Ok(pid) = i32::try_from(container.pid) {
                    let _ = kill(OsPid::from_raw(pid), Signal::SIGKILL);
                }
            }
            match &container.cgroups {
                Some(cgroups) => cgroups.destroy().await?,
                None => posix::destroy(container_id.clone(), container.pid).await?,
            }
            if let Some(mut exit) = container.exit {
                if tokio::time::timeout(REAP_TIMEOUT, exit.wait())
                    .await
                    .is_err()
                {
                    tracing::warn!(container_id = %container_id, "The executor was not reaped in time");
                }
            }
            tracing::info!(container_id = %container_id, "Container destroyed");
            Ok(())
        }
    }

    /// Re-adopts the containers an agent restart left running (`alive`: container
    /// and executor pid, from the checkpoints) and finds the orphans: container
    /// cgroups under `--cgroups_root` that are not listed. The returned `cleanup`
    /// destroys the orphans; each recovered process can be waited on.
    pub fn recover(
        &mut self,
        alive: &[(ContainerId, u32)],
    ) -> Result<Recovery, ContainerizerError> {
        let mut processes = Vec::new();
        for (container_id, pid) in alive {
            check_container_id(container_id)?;
            self.containers.insert(
                container_id.clone(),
                Container {
                    pid: *pid,
                    resources: Resources::new(),
                    exit: None,
                    cgroups: self.cgroups.as_ref().map(|c| c.container(container_id)),
                },
            );
            tracing::info!(container_id = %container_id, os_pid = pid, "Recovered container");
            processes.push(RecoveredProcess {
                container_id: container_id.clone(),
                pid: *pid,
            });
        }
        let orphans: Vec<ContainerId> = match &self.cgroups {
            Some(cgroups) => cgroups
                .existing()?
                .into_iter()
                .filter(|id| !self.containers.contains_key(id))
                .collect(),
            None => Vec::new(),
        };
        let doomed: Vec<ContainerCgroups> = orphans
            .iter()
            .filter_map(|id| {
                tracing::warn!(container_id = %id, "Destroying orphan container");
                self.cgroups.as_ref().map(|c| c.container(id))
            })
            .collect();
        let cleanup = Box::pin(async move {
            for cgroups in doomed {
                cgroups.destroy().await?;
            }
            Ok(())
        });
        Ok(Recovery {
            processes,
            orphans,
            cleanup,
        })
    }
}

/// What [`Containerizer::recover`] found.
pub struct Recovery {
    /// The listed containers' executors, adopted again.
    pub processes: Vec<RecoveredProcess>,
    /// The container cgroups nobody listed.
    pub orphans: Vec<ContainerId>,
    /// Destroys the orphans (for `ctx.defer`).
    pub cleanup: Pin<Box<dyn Future<Output = Result<(), ContainerizerError>> + Send>>,
}

impl fmt::Debug for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recovery")
            .field("processes", &self.processes)
            .field("orphans", &self.orphans)
            .finish_non_exhaustive()
    }
}

/// A recovered executor: not our child, so only its end can be observed, not its
/// exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredProcess {
    /// Its container.
    pub container_id: ContainerId,
    /// Its host pid.
    pub pid: u32,
}

impl RecoveredProcess {
    /// Resolves once the process has ended: through a pidfd, or by checking
    /// `kill(pid, 0)` every second on kernels without pidfds.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        launcher::wait_foreign(self.pid)
    }
}

/// A name that can be one path component under the cgroups root: not empty, not
/// `.` or `..`, no `/`.
fn check_cgroup_name(name: &str) -> Result<(), ContainerizerError> {
    let bad = name.is_empty()
        || name == "."
        || name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad || name.starts_with('/') {
        return Err(ContainerizerError::BadCgroupName(name.to_owned()));
    }
    Ok(())
}

/// A container id names one cgroup directory, so it holds no `/`.
fn check_container_id(container_id: &ContainerId) -> Result<(), ContainerizerError> {
    let name = container_id.as_str();
    check_cgroup_name(name)?;
    if name.contains('/') {
        return Err(ContainerizerError::BadCgroupName(name.to_owned()));
    }
    Ok(())
}

/// One entry of `/monitor/statistics`:
/// `{framework_id, executor_id, executor_name, source, statistics}`. `source` is the
/// executor's source (Mesos sets a command task's id there).
pub fn monitor_entry(
    framework_id: &FrameworkId,
    executor: &ExecutorInfo,
    source: &str,
    statistics: &ResourceStatistics,
) -> serde_json::Value {
    serde_json::json!({
        "framework_id": framework_id.as_str(),
        "executor_id": executor.executor_id.as_str(),
        "executor_name": executor.name.clone().unwrap_or_default(),
        "source": source,
        "statistics": mesos_proto::json::to_value(statistics).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolation_lists_parse_and_unknown_names_are_refused() {
        let parsed = parse_isolation("posix/cpu, cgroups/mem,,namespaces/pid").unwrap();
        assert_eq!(
            parsed.into_iter().collect::<Vec<_>>(),
            vec![
                Isolator::PosixCpu,
                Isolator::CgroupsMem,
                Isolator::NamespacesPid
            ]
        );
        let error = parse_isolation("posix/cpu,gpu/nvidia").unwrap_err();
        assert!(error.to_string().contains("'gpu/nvidia'"), "{error}");
        for isolator in Isolator::ALL {
            assert_eq!(isolator.name().parse::<Isolator>().unwrap(), isolator);
        }
    }

    #[test]
    fn cgroup_names_cannot_escape_the_root() {
        for bad in ["", ".", "..", "/abs", "a/../b", "a//b", "a/"] {
            assert!(check_cgroup_name(bad).is_err(), "{bad:?}");
        }
        for good in ["mesos", "mesos/nested", "4f1c-uuid"] {
            assert!(check_cgroup_name(good).is_ok(), "{good:?}");
        }
        assert!(check_container_id(&"a/b".into()).is_err());
        assert!(check_container_id(&"4f1c-uuid".into()).is_ok());
    }

    #[test]
    fn monitor_entries_have_mesos_shape() {
        let executor = ExecutorInfo {
            executor_id: "e1".into(),
            name: Some("Command Executor".into()),
            ..ExecutorInfo::default()
        };
        let statistics = ResourceStatistics {
            timestamp: 2.0,
            mem_rss_bytes: Some(10),
            ..ResourceStatistics::default()
        };
        let entry = monitor_entry(&"f1".into(), &executor, "task-1", &statistics);
        assert_eq!(
            entry,
            serde_json::json!({
                "framework_id": "f1",
                "executor_id": "e1",
                "executor_name": "Command Executor",
                "source": "task-1",
                "statistics": {"timestamp": 2.0, "mem_rss_bytes": 10},
            })
        );
    }
}
