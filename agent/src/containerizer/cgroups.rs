//! The cgroups isolators (`cgroups/cpu`, `cgroups/mem`): one cgroup per container
//! under `--cgroups_root`, cpu shares (and a CFS quota) and a memory limit set from
//! the container's resources, usage read back from the cgroup files, OOM kills
//! noticed, and the whole cgroup killed and removed on destroy.
//!
//! Both cgroup versions are handled. v1: `<mount of controller>/<root>/<container>`
//! for each controller used (`cpu`, `cpuacct`, `memory`, and `freezer` when mounted,
//! which makes killing race-free). v2: `<cgroup2 mount>/<root>/<container>`, with the
//! controllers enabled in the `cgroup.subtree_control` of the mount and of the root.
//! The machine the tests run on binds `cpu` and `memory` to v1, so the v2 paths are
//! covered by the parser and limit unit tests below, not by the integration tests.
//!
//! Every file read is parsed defensively: odd contents give `None` or are skipped,
//! never a panic.

use std::collections::BTreeMap;
use std::fs;
use std::future::Future;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mesos_proto::mesos::{ResourceStatistics, StatusReason};
use mesos_proto::{ContainerId, Resources};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid as OsPid;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::{ContainerizerError, Limitation};

/// cpu.shares per CPU, and the least a container gets (Mesos `CPU_SHARES_PER_CPU`,
/// `MIN_CPU_SHARES`).
const CPU_SHARES_PER_CPU: f64 = 1024.0;
const MIN_CPU_SHARES: u64 = 2;
/// The CFS period and the least quota (Mesos `CPU_CFS_PERIOD`, `MIN_CPU_CFS_QUOTA`).
const CFS_PERIOD_US: u64 = 100_000;
const MIN_CFS_QUOTA_US: u64 = 1_000;
/// The least memory limit (Mesos `MIN_MEMORY`).
const MIN_MEMORY_BYTES: u64 = 32 * MEGABYTE;
const MEGABYTE: u64 = 1024 * 1024;
/// How long destroy waits for a cgroup to freeze, empty and go.
const DESTROY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often destroy re-checks a cgroup meanwhile.
const DESTROY_POLL: Duration = Duration::from_millis(10);
/// How often the OOM counter is read where no eventfd notification exists (v2).
const OOM_POLL: Duration = Duration::from_millis(100);

/// Which cgroup hierarchy the isolators use, as detected at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hierarchy {
    /// Controllers mounted one (or a few) per mount.
    V1 {
        /// The mount holding `cpu`.
        cpu: Option<PathBuf>,
        /// The mount holding `cpuacct`.
        cpuacct: Option<PathBuf>,
        /// The mount holding `memory`.
        memory: Option<PathBuf>,
        /// The mount holding `freezer`.
        freezer: Option<PathBuf>,
    },
    /// The unified hierarchy.
    V2 {
        /// Its mount point.
        mount: PathBuf,
    },
}

/// One line of `/proc/self/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub(crate) point: PathBuf,
    pub(crate) fstype: String,
    pub(crate) options: Vec<String>,
}

/// The lines of `/proc/self/mounts` that parse; mount points have their octal
/// escapes (`\040` for a space) decoded.
pub(crate) fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_device, point, fstype, options) = (
                fields.next()?,
                fields.next()?,
                fields.next()?,
                fields.next()?,
            );
            Some(Mount {
                point: PathBuf::from(unescape_octal(point)),
                fstype: fstype.to_owned(),
                options: options.split(',').map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// Decodes the kernel's `\ooo` escapes; a malformed escape is kept as it is.
fn unescape_octal(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 4)
            .filter(|digits| bytes[i] == b'\\' && digits.iter().all(|d| (b'0'..=b'7').contains(d)))
            .and_then(|digits| u8::from_str_radix(std::str::from_utf8(digits).ok()?, 8).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Finds the hierarchy under `base` serving the controllers needed: v1 mounts when
/// they hold them all, else a cgroup2 mount whose `cgroup.controllers` lists them.
/// The error says why neither fits.
pub(crate) fn detect(
    mounts: &[Mount],
    base: &Path,
    cpu: bool,
    mem: bool,
) -> Result<Hierarchy, String> {
    let under_base: Vec<&Mount> = mounts
        .iter()
        .filter(|m| m.point.starts_with(base))
        .collect();
    let v1 = |controller: &str| {
        under_base
            .iter()
            .find(|m| m.fstype == "cgroup" && m.options.iter().any(|o| o == controller))
            .map(|m| m.point.clone())
    };
    let hierarchy = Hierarchy::V1 {
        cpu: v1("cpu"),
        cpuacct: v1("cpuacct"),
        memory: v1("memory"),
        freezer: v1("freezer"),
    };
    if let Hierarchy::V1 {
        cpu: c,
        cpuacct,
        memory,
        ..
    } = &hierarchy
    {
        if (!cpu || (c.is_some() && cpuacct.is_some())) && (!mem || memory.is_some()) {
            return Ok(hierarchy);
        }
    }
    let wanted: Vec<&str> = [(cpu, "cpu"), (mem, "memory")]
        .into_iter()
        .filter_map(|(needed, name)| needed.then_some(name))
        .collect();
    for mount in under_base.iter().filter(|m| m.fstype == "cgroup2") {
        let controllers =
            fs::read_to_string(mount.point.join("cgroup.controllers")).unwrap_or_default();
        let available: Vec<&str> = controllers.split_whitespace().collect();
        if wanted.iter().all(|w| available.contains(w)) {
            return Ok(Hierarchy::V2 {
                mount: mount.point.clone(),
            });
        }
    }
    Err(format!(
        "no cgroup hierarchy under {} offers the controllers {wanted:?}",
        base.display()
    ))
}

/// The cgroups the isolators manage: the hierarchy, `--cgroups_root` and what is
/// isolated.
#[derive(Debug, Clone)]
pub(crate) struct Cgroups {
    hierarchy: Hierarchy,
    root: String,
    cpu: bool,
    mem: bool,
    enable_cfs: bool,
}

/// One container's cgroups, owned, so futures can outlive the borrow of the
/// containerizer.
#[derive(Debug, Clone)]
pub(crate) struct ContainerCgroups {
    container_id: ContainerId,
    hierarchy: Hierarchy,
    /// Every distinct cgroup directory of the container.
    dirs: Vec<PathBuf>,
    /// The memory cgroup (v1) or the container's cgroup (v2), with `cgroups/mem`.
    memory: Option<PathBuf>,
    /// The v1 freezer cgroup, when mounted.
    freezer: Option<PathBuf>,
}

impl Cgroups {
    /// Sets up `<root>` in the hierarchy found under `base` for the isolators asked
    /// for. Fails, saying why, when not root, when nothing suitable is mounted or
    /// when it is not writable: the caller falls back to POSIX isolation.
    pub(crate) fn new(
        base: &Path,
        root: &str,
        cpu: bool,
        mem: bool,
        enable_cfs: bool,
    ) -> Result<Self, String> {
        if !nix::unistd::geteuid().is_root() {
            return Err("cgroups isolation needs root".to_owned());
        }
        let mounts = fs::read_to_string("/proc/self/mounts")
            .map_err(|e| format!("cannot read /proc/self/mounts: {e}"))?;
        let hierarchy = detect(&parse_mounts(&mounts), base, cpu, mem)?;
        let cgroups = Self {
            hierarchy,
            root: root.to_owned(),
            cpu,
            mem,
            enable_cfs,
        };
        for dir in cgroups.root_dirs() {
            fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        if let Hierarchy::V2 { mount } = &cgroups.hierarchy {
            let enable: String = [(cpu, "+cpu"), (mem, "+memory")]
                .into_iter()
                .filter_map(|(on, name)| on.then_some(name))
                .collect::<Vec<_>>()
                .join(" ");
            for dir in [mount.clone(), mount.join(root)] {
                let control = dir.join("cgroup.subtree_control");
                fs::write(&control, &enable)
                    .map_err(|e| format!("cannot write {}: {e}", control.display()))?;
            }
        }
        Ok(cgroups)
    }

    /// Whether this is the unified (v2) hierarchy.
    pub(crate) fn is_v2(&self) -> bool {
        matches!(self.hierarchy, Hierarchy::V2 { .. })
    }

    /// The `<mount>/<root>` directories, one per distinct mount used.
    fn root_dirs(&self) -> Vec<PathBuf> {
        let mounts: Vec<&PathBuf> = match &self.hierarchy {
            Hierarchy::V1 {
                cpu,
                cpuacct,
                memory,
                freezer,
            } => [
                (self.cpu, cpu),
                (self.cpu, cpuacct),
                (self.mem, memory),
                (true, freezer),
            ]
            .into_iter()
            .filter_map(|(used, mount)| mount.as_ref().filter(|_| used))
            .collect(),
            Hierarchy::V2 { mount } => vec![mount],
        };
        let mut dirs: Vec<PathBuf> = mounts.into_iter().map(|m| m.join(&self.root)).collect();
        dirs.dedup();
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// The cgroups of `container_id` (which need not exist yet).
    pub(crate) fn container(&self, container_id: &ContainerId) -> ContainerCgroups {
        let id = container_id.as_str();
        let dirs = self.root_dirs().into_iter().map(|d| d.join(id)).collect();
        let in_mount =
            |mount: &Option<PathBuf>| mount.as_ref().map(|m| m.join(&self.root).join(id));
        let (memory, freezer) = match &self.hierarchy {
            Hierarchy::V1 {
                memory, freezer, ..
            } => (in_mount(memory).filter(|_| self.mem), in_mount(freezer)),
            Hierarchy::V2 { mount } => (
                Some(mount.join(&self.root).join(id)).filter(|_| self.mem),
                None,
            ),
        };
        ContainerCgroups {
            container_id: container_id.clone(),
            hierarchy: self.hierarchy.clone(),
            dirs,
            memory,
            freezer,
        }
    }

    /// The names of the container cgroups found under `<root>` (for recovery).
    pub(crate) fn existing(&self) -> Result<Vec<ContainerId>, ContainerizerError> {
        let mut found = Vec::new();
        for dir in self.root_dirs() {
            let entries = fs::read_dir(&dir).map_err(|source| ContainerizerError::Io {
                action: "list",
                path: dir.clone(),
                source,
            })?;
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    let id = ContainerId::from(entry.file_name().to_string_lossy().as_ref());
                    if !found.contains(&id) {
                        found.push(id);
                    }
                }
            }
        }
        Ok(found)
    }

    /// Creates the container's cgroups and sets their first limits; returns the
    /// `cgroup.procs` files the launched process joins.
    pub(crate) fn prepare(
        &self,
        container_id: &ContainerId,
        resources: &Resources,
    ) -> Result<Vec<PathBuf>, ContainerizerError> {
        let cgroups = self.container(container_id);
        for dir in &cgroups.dirs {
            fs::create_dir_all(dir).map_err(|source| ContainerizerError::Io {
                action: "create",
                path: dir.clone(),
                source,
            })?;
        }
        self.update(container_id, resources, true)?;
        Ok(cgroups
            .dirs
            .iter()
            .map(|d| d.join("cgroup.procs"))
            .collect())
    }

    /// Sets the cpu and memory limits from `resources`. A hard memory limit is only
    /// ever raised after the first time: lowering it under the current usage would
    /// OOM-kill the container (Mesos does the same).
    pub(crate) fn update(
        &self,
        container_id: &ContainerId,
        resources: &Resources,
        first: bool,
    ) -> Result<(), ContainerizerError> {
        let id = container_id.as_str();
        let dir = |mount: &Option<PathBuf>| mount.as_ref().map(|m| m.join(&self.root).join(id));
        if let (true, Some(cpus)) = (self.cpu, resources.cpus()) {
            let shares = cpu_shares(cpus);
            let quota = self.enable_cfs.then(|| cfs_quota_us(cpus));
            match &self.hierarchy {
                Hierarchy::V1 { cpu, .. } => {
                    if let Some(dir) = dir(cpu) {
                        write(&dir.join("cpu.shares"), &shares.to_string())?;
                        if let Some(quota) = quota {
                            write(&dir.join("cpu.cfs_period_us"), &CFS_PERIOD_US.to_string())?;
                            write(&dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
                        }
                    }
                }
                Hierarchy::V2 { mount } => {
                    let dir = mount.join(&self.root).join(id);
                    write(&dir.join("cpu.weight"), &cpu_weight(shares).to_string())?;
                    let max = quota.map_or_else(|| "max".to_owned(), |q| q.to_string());
                    write(&dir.join("cpu.max"), &format!("{max} {CFS_PERIOD_US}"))?;
                }
            }
        }
        if let (true, Some(mem)) = (self.mem, resources.mem()) {
            let limit = memory_limit_bytes(mem);
            let (dir, hard, soft) = match &self.hierarchy {
                Hierarchy::V1 { memory, .. } => (
                    dir(memory),
                    "memory.limit_in_bytes",
                    Some("memory.soft_limit_in_bytes"),
                ),
                Hierarchy::V2 { mount } => {
                    (Some(mount.join(&self.root).join(id)), "memory.max", None)
                }
            };
            if let Some(dir) = dir {
                if let Some(soft) = soft {
                    write(&dir.join(soft), &limit.to_string())?;
                }
                let current = read(&dir.join(hard)).ok().and_then(|t| parse_u64(&t));
                if first || current.is_none_or(|current| limit > current) {
                    write(&dir.join(hard), &limit.to_string())?;
                } else if current != Some(limit) {
                    tracing::info!(container_id = %container_id, limit, "Not lowering the hard memory limit of a running container");
                }
            }
        }
        Ok(())
    }

    /// Fills in what the container's cgroups measure (processes, and the cpu and
    /// memory parts of the isolators in use).
    pub(crate) fn usage(
        &self,
        container_id: &ContainerId,
        statistics: &mut ResourceStatistics,
    ) -> Result<(), ContainerizerError> {
        let id = container_id.as_str();
        let dir = |mount: &Option<PathBuf>| mount.as_ref().map(|m| m.join(&self.root).join(id));
        let ticks = procfs::ticks_per_second() as f64;
        match &self.hierarchy {
            Hierarchy::V1 {
                cpu,
                cpuacct,
                memory,
                ..
            } => {
                let procs_dir = if self.mem { dir(memory) } else { dir(cpuacct) };
                if let Some(procs_dir) = procs_dir {
                    statistics.processes =
                        Some(count_lines(&read(&procs_dir.join("cgroup.procs"))?));
                    statistics.threads = Some(count_lines(&read(&procs_dir.join("tasks"))?));
                }
                if let (true, Some(cpuacct)) = (self.cpu, dir(cpuacct)) {
                    let stat = parse_flat_keyed(&read(&cpuacct.join("cpuacct.stat"))?);
                    statistics.cpus_user_time_secs = stat.get("user").map(|t| *t as f64 / ticks);
                    statistics.cpus_system_time_secs =
                        stat.get("system").map(|t| *t as f64 / ticks);
                }
                if let (true, Some(cpu)) = (self.cpu && self.enable_cfs, dir(cpu)) {
                    let stat = parse_flat_keyed(&read(&cpu.join("cpu.stat"))?);
                    throttling(statistics, &stat, 1e9);
                }
                if let (true, Some(memory)) = (self.mem, dir(memory)) {
                    let stat = parse_flat_keyed(&read(&memory.join("memory.stat"))?);
                    statistics.mem_total_bytes =
                        parse_u64(&read(&memory.join("memory.usage_in_bytes"))?);
                    statistics.mem_rss_bytes = stat.get("total_rss").or(stat.get("rss")).copied();
                    statistics.mem_cache_bytes =
                        stat.get("total_cache").or(stat.get("cache")).copied();
                    statistics.mem_swap_bytes =
                        stat.get("total_swap").or(stat.get("swap")).copied();
                    statistics.mem_soft_limit_bytes =
                        parse_u64(&read(&memory.join("memory.soft_limit_in_bytes"))?);
                }
            }
            Hierarchy::V2 { mount } => {
                let dir = mount.join(&self.root).join(id);
                statistics.processes = Some(count_lines(&read(&dir.join("cgroup.procs"))?));
                statistics.threads = Some(count_lines(&read(&dir.join("cgroup.threads"))?));
                let stat = parse_flat_keyed(&read(&dir.join("cpu.stat"))?);
                statistics.cpus_user_time_secs = stat.get("user_usec").map(|t| *t as f64 / 1e6);
                statistics.cpus_system_time_secs = stat.get("system_usec").map(|t| *t as f64 / 1e6);
                if self.cpu && self.enable_cfs {
                    throttling(statistics, &stat, 1e6);
                }
                if self.mem {
                    let stat = parse_flat_keyed(&read(&dir.join("memory.stat"))?);
                    statistics.mem_total_bytes = parse_u64(&read(&dir.join("memory.current"))?);
                    statistics.mem_rss_bytes = stat.get("anon").copied();
                    statistics.mem_cache_bytes = stat.get("file").copied();
                    statistics.mem_swap_bytes = read(&dir.join("memory.swap.current"))
                        .ok()
                        .and_then(|t| parse_u64(&t));
                }
            }
        }
        Ok(())
    }
}

/// `cpu.stat`'s throttling counters; `per_second` converts `throttled_time`
/// (nanoseconds in v1) or `throttled_usec` (v2) to seconds.
fn throttling(statistics: &mut ResourceStatistics, stat: &BTreeMap<String, u64>, per_second: f64) {
    let count = |key: &str| stat.get(key).map(|n| u32::try_from(*n).unwrap_or(u32::MAX));
    statistics.cpus_nr_periods = count("nr_periods");
    statistics.cpus_nr_throttled = count("nr_throttled");
    statistics.cpus_throttled_time_secs = stat
        .get("throttled_time")
        .or(stat.get("throttled_usec"))
        .map(|t| *t as f64 / per_second);
}

impl ContainerCgroups {
    /// How many OOM kills the memory cgroup has seen; `None` without `cgroups/mem`
    /// or when the cgroup is gone.
    fn oom_kills(&self) -> Option<u64> {
        let memory = self.memory.as_ref()?;
        let file = match self.hierarchy {
            Hierarchy::V1 { .. } => "memory.oom_control",
            Hierarchy::V2 { .. } => "memory.events",
        };
        let counters = parse_flat_keyed(&fs::read_to_string(memory.join(file)).ok()?);
        Some(counters.get("oom_kill").copied().unwrap_or(0))
    }

    /// The memory limitation, if the kernel has OOM-killed a process of the
    /// container, worded as Mesos words it.
    pub(crate) fn limitation(&self) -> Option<Limitation> {
        (self.oom_kills()? > 0).then(|| self.memory_limitation())?
    }

    fn memory_limitation(&self) -> Option<Limitation> {
        let memory = self.memory.as_ref()?;
        let (limit, peak) = match self.hierarchy {
            Hierarchy::V1 { .. } => ("memory.limit_in_bytes", vec!["memory.max_usage_in_bytes"]),
            Hierarchy::V2 { .. } => ("memory.max", vec!["memory.peak", "memory.current"]),
        };
        let limit = fs::read_to_string(memory.join(limit))
            .ok()
            .and_then(|t| parse_u64(&t));
        let used = peak.iter().find_map(|file| {
            fs::read_to_string(memory.join(file))
                .ok()
                .and_then(|t| parse_u64(&t))
        });
        let stat = fs::read_to_string(memory.join("memory.stat")).unwrap_or_default();
        Some(memory_limitation(limit, used, &stat))
    }

    /// Resolves when the kernel OOM-kills in the container (`Some`), or when the
    /// container's memory cgroup goes away without that (`None`). v1 is notified
    /// through an eventfd registered on `memory.oom_control`; v2 (which has no
    /// notification but a file-modified event) reads `memory.events` every
    /// [`OOM_POLL`].
    pub(crate) fn watch(&self) -> impl Future<Output = Option<Limitation>> + Send + 'static {
        let cgroups = self.clone();
        async move {
            let memory = cgroups.memory.clone()?;
            if matches!(cgroups.hierarchy, Hierarchy::V1 { .. }) {
                match oom_eventfd(&memory) {
                    Ok(eventfd) => {
                        let _ = eventfd.readable().await;
                        // The cgroup's removal also signals the eventfd.
                        return memory.exists().then(|| cgroups.memory_limitation())?;
                    }
                    Err(error) => {
                        tracing::warn!(container_id = %cgroups.container_id, %error, "No OOM notification; reading the OOM counter instead");
                    }
                }
            }
            loop {
                if cgroups.oom_kills()? > 0 {
                    return cgroups.memory_limitation();
                }
                tokio::time::sleep(OOM_POLL).await;
            }
        }
    }

    /// The pids in the container's cgroups, sub-cgroups included.
    fn pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        for dir in &self.dirs {
            collect_pids(dir, &mut pids);
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Kills every process in the container's cgroups and removes them. v1 with a
    /// freezer: freeze, SIGKILL everyone, thaw, so nothing forks meanwhile. v2:
    /// `cgroup.kill` when the kernel has it. Otherwise, and to finish, SIGKILL
    /// whatever is listed until the cgroups are empty (bounded by
    /// [`DESTROY_TIMEOUT`]).
    pub(crate) fn destroy(
        &self,
    ) -> impl Future<Output = Result<(), ContainerizerError>> + Send + 'static {
        let cgroups = self.clone();
        async move {
            let deadline = Instant::now() + DESTROY_TIMEOUT;
            if let Some(freezer) = cgroups.freezer.as_ref().filter(|f| f.exists()) {
                cgroups.freeze_and_kill(freezer, deadline).await?;
            }
            if let Some(dir) = cgroups.dirs.first().filter(|_| cgroups.is_v2()) {
                let kill_file = dir.join("cgroup.kill");
                if kill_file.exists() {
                    write(&kill_file, "1")?;
                }
            }
            loop {
                let pids = cgroups.pids();
                if pids.is_empty() {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(ContainerizerError::DestroyTimeout {
                        container_id: cgroups.container_id.clone(),
                        remaining: pids,
                    });
                }
                signal_all(&pids);
                tokio::time::sleep(DESTROY_POLL).await;
            }
            for dir in &cgroups.dirs {
                remove_cgroup(dir, deadline).await?;
            }
            Ok(())
        }
    }

    fn is_v2(&self) -> bool {
        matches!(self.hierarchy, Hierarchy::V2 { .. })
    }

    /// Removes the cgroups of a container whose launch failed (they hold no
    /// process); what cannot be removed is logged, and found again as an orphan by
    /// the next recovery.
    pub(crate) fn remove_empty(&self) {
        for dir in &self.dirs {
            if let Err(error) = fs::remove_dir(dir) {
                tracing::warn!(container_id = %self.container_id, path = %dir.display(), %error, "Cannot remove the cgroup of a failed launch");
            }
        }
    }

    async fn freeze_and_kill(
        &self,
        freezer: &Path,
        deadline: Instant,
    ) -> Result<(), ContainerizerError> {
        let state = freezer.join("freezer.state");
        write(&state, "FROZEN")?;
        while read(&state)?.trim() != "FROZEN" {
            if Instant::now() > deadline {
                tracing::warn!(container_id = %self.container_id, "The container did not freeze in time; killing it unfrozen");
                break;
            }
            // A task may freeze only after its current system call; asking again
            // is how the kernel wants it retried.
            write(&state, "FROZEN")?;
            tokio::time::sleep(DESTROY_POLL).await;
        }
        signal_all(&self.pids());
        write(&state, "THAWED")
    }
}

/// Registers an eventfd for the OOM notifications of the v1 memory cgroup `memory`.
fn oom_eventfd(memory: &Path) -> Result<AsyncFd<EventFd>, ContainerizerError> {
    let oom_control_path = memory.join("memory.oom_control");
    let oom_control =
        fs::File::open(&oom_control_path).map_err(|source| ContainerizerError::Io {
            action: "open",
            path: oom_control_path,
            source,
        })?;
    let io_error = |source: io::Error| ContainerizerError::Io {
        action: "create an eventfd for",
        path: memory.to_owned(),
        source,
    };
    let eventfd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
        .map_err(|e| io_error(e.into()))?;
    write(
        &memory.join("cgroup.event_control"),
        &format!("{} {}", eventfd.as_raw_fd(), oom_control.as_raw_fd()),
    )?;
    // SAFETY: the `AsyncFd` owns the eventfd, so its descriptor stays open and the
    // same for as long as the registration lives.
    unsafe { AsyncFd::register_with_interest(eventfd, Interest::READABLE) }
        .map_err(|e| io_error(e.into()))
}

fn signal_all(pids: &[u32]) {
    for pid in pids {
        if let Ok(pid) = i32::try_from(*pid) {
            let _ = kill(OsPid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

fn collect_pids(dir: &Path, pids: &mut Vec<u32>) {
    if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
        pids.extend(parse_pids(&text));
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect_pids(&entry.path(), pids);
            }
        }
    }
}

/// Removes the cgroup `dir` and any cgroups under it, retrying while the kernel
/// still reports it busy (processes that have just died linger briefly).
async fn remove_cgroup(dir: &Path, deadline: Instant) -> Result<(), ContainerizerError> {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                Box::pin(remove_cgroup(&entry.path(), deadline)).await?;
            }
        }
    }
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(nix::libc::EBUSY) && Instant::now() < deadline => {
                tokio::time::sleep(DESTROY_POLL).await;
            }
            Err(source) => {
                return Err(ContainerizerError::Io {
                    action: "remove",
                    path: dir.to_owned(),
                    source,
                })
            }
        }
    }
}

fn read(path: &Path) -> Result<String, ContainerizerError> {
    fs::read_to_string(path).map_err(|source| ContainerizerError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, value: &str) -> Result<(), ContainerizerError> {
    fs::write(path, value).map_err(|source| ContainerizerError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    })
}

/// cpu.shares for `cpus`: 1024 per CPU, at least 2.
pub(crate) fn cpu_shares(cpus: f64) -> u64 {
    ((CPU_SHARES_PER_CPU * cpus) as u64).max(MIN_CPU_SHARES)
}

/// The CFS quota for `cpus` over a [`CFS_PERIOD_US`] period, at least 1 ms.
pub(crate) fn cfs_quota_us(cpus: f64) -> u64 {
    ((CFS_PERIOD_US as f64 * cpus) as u64).max(MIN_CFS_QUOTA_US)
}

/// v2 `cpu.weight` (1..=10000) for v1 shares (2..=262144), mapped linearly as
/// systemd and the OCI runtimes map them.
pub(crate) fn cpu_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// The memory limit for `mem` megabytes, at least [`MIN_MEMORY_BYTES`].
pub(crate) fn memory_limit_bytes(mem: f64) -> u64 {
    ((mem * MEGABYTE as f64) as u64).max(MIN_MEMORY_BYTES)
}

/// `key value` lines (memory.stat, cpu.stat, cpuacct.stat, memory.oom_control,
/// memory.events); lines that do not parse are skipped.
pub(crate) fn parse_flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (key, value) = (fields.next()?, fields.next()?);
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The pids of a `cgroup.procs` file; lines that are not pids are skipped.
pub(crate) fn parse_pids(text: &str) -> impl Iterator<Item = u32> + '_ {
    text.lines().filter_map(|line| line.trim().parse().ok())
}

fn count_lines(text: &str) -> u32 {
    u32::try_from(parse_pids(text).count()).unwrap_or(u32::MAX)
}

/// A single number; v2's `max` (no limit) and odd contents give `None`.
pub(crate) fn parse_u64(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// Bytes as Mesos prints them: in the largest unit that loses nothing.
pub(crate) fn format_bytes(bytes: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes;
    let mut unit = 0;
    while value != 0 && value % 1024 == 0 && unit + 1 < units.len() {
        value /= 1024;
        unit += 1;
    }
    format!("{value}{}", units[unit])
}

/// Mesos's memory limitation: the message names the limit, the peak use and the
/// cgroup's `memory.stat`; the resources are the peak use in megabytes.
pub(crate) fn memory_limitation(limit: Option<u64>, used: Option<u64>, stat: &str) -> Limitation {
    let mut message = "Memory limit exceeded: ".to_owned();
    if let Some(limit) = limit {
        message.push_str(&format!("Requested: {} ", format_bytes(limit)));
    }
    if let Some(used) = used {
        message.push_str(&format!("Maximum Used: {}\n", format_bytes(used)));
    }
    if !stat.is_empty() {
        message.push_str(&format!("\nMEMORY STATISTICS: \n{stat}\n"));
    }
    let megabytes = used.unwrap_or(0) / MEGABYTE;
    let resources = Resources::parse(&format!("mem:{megabytes}"), "*").unwrap_or_default();
    Limitation {
        reason: StatusReason::REASON_CONTAINER_LIMITATION_MEMORY,
        message,
        resources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_parse_with_escapes_and_odd_lines_skipped() {
        let text = "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0\n\
                    garbage\n\
                    \n\
                    cgroup2 /sys/fs/cgroup/my\\040dir cgroup2 rw 0 0\n\
                    x /bad\\09 tmpfs rw 0 0\n";
        let mounts = parse_mounts(text);
        assert_eq!(mounts.len(), 3);
        assert_eq!(mounts[0].point, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert!(mounts[0].options.contains(&"cpuacct".to_owned()));
        assert_eq!(mounts[1].point, PathBuf::from("/sys/fs/cgroup/my dir"));
        assert_eq!(mounts[2].point, PathBuf::from("/bad\\09"));
        assert_eq!(unescape_octal("\\"), "\\");
        assert_eq!(unescape_octal("a\\0"), "a\\0");
    }

    #[test]
    fn v1_is_found_for_co_mounted_controllers_under_the_base_only() {
        let mounts = parse_mounts(
            "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n\
             cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n\
             cgroup /elsewhere/freezer cgroup rw,freezer 0 0\n",
        );
        let found = detect(&mounts, Path::new("/sys/fs/cgroup"), true, true).unwrap();
        assert_eq!(
            found,
            Hierarchy::V1 {
                cpu: Some("/sys/fs/cgroup/cpu,cpuacct".into()),
                cpuacct: Some("/sys/fs/cgroup/cpu,cpuacct".into()),
                memory: Some("/sys/fs/cgroup/memory".into()),
                freezer: None,
            }
        );
        let error = detect(&mounts, Path::new("/nonexistent"), false, true).unwrap_err();
        assert!(error.contains("/nonexistent"), "{error}");
    }

    #[test]
    fn v2_is_found_when_its_controllers_list_what_is_needed() {
        let base = std::env::temp_dir().join(format!("mesos-cgroup2-{}", std::process::id()));
        fs::create_dir_all(&base).unwrap();
        fs::write(
            base.join("cgroup.controllers"),
            "cpuset cpu io memory pids\n",
        )
        .unwrap();
        let mounts = vec![Mount {
            point: base.clone(),
            fstype: "cgroup2".into(),
            options: vec!["rw".into()],
        }];
        assert_eq!(
            detect(&mounts, &base, true, true).unwrap(),
            Hierarchy::V2 {
                mount: base.clone()
            }
        );
        fs::write(base.join("cgroup.controllers"), "hugetlb\n").unwrap();
        assert!(detect(&mounts, &base, false, true).is_err());
        let _ = fs::remove_dir_all(base);
    }

    #[test]
    fn flat_keyed_files_skip_what_does_not_parse() {
        let parsed = parse_flat_keyed(
            "oom_kill_disable 0\nunder_oom 1\noom_kill 3\n\nweird\nnegative -1\nbig 18446744073709551616\nrss 4096 extra\n",
        );
        assert_eq!(parsed.get("oom_kill"), Some(&3));
        assert_eq!(parsed.get("under_oom"), Some(&1));
        assert_eq!(parsed.get("rss"), Some(&4096));
        assert_eq!(parsed.len(), 4);
        let events =
            parse_flat_keyed("low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n");
        assert_eq!(events.get("oom_kill"), Some(&1));
    }

    #[test]
    fn pid_lists_and_limits_parse_defensively() {
        let pids: Vec<u32> = parse_pids("12\n\n  34 \nabc\n-5\n").collect();
        assert_eq!(pids, vec![12, 34]);
        assert_eq!(parse_u64("max\n"), None);
        assert_eq!(parse_u64("33554432\n"), Some(33_554_432));
        assert_eq!(parse_u64(""), None);
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(
            parse_u64("9223372036854771712\n"),
            Some(9_223_372_036_854_771_712)
        );
    }

    #[test]
    fn cpu_and_memory_limits_follow_mesos() {
        assert_eq!(cpu_shares(1.0), 1024);
        assert_eq!(cpu_shares(0.5), 512);
        assert_eq!(cpu_shares(0.001), 2);
        assert_eq!(cfs_quota_us(1.5), 150_000);
        assert_eq!(cfs_quota_us(0.001), 1_000);
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(1024), 39);
        assert_eq!(cpu_weight(262_144), 10_000);
        assert_eq!(cpu_weight(0), 1);
        assert_eq!(cpu_weight(u64::MAX), 10_000);
        assert_eq!(memory_limit_bytes(64.0), 64 * MEGABYTE);
        assert_eq!(memory_limit_bytes(1.0), 32 * MEGABYTE);
    }

    #[test]
    fn bytes_print_in_the_largest_exact_unit() {
        assert_eq!(format_bytes(0), "0B");
        assert_eq!(format_bytes(1023), "1023B");
        assert_eq!(format_bytes(64 * MEGABYTE), "64MB");
        assert_eq!(format_bytes(1536 * 1024), "1536KB");
        assert_eq!(format_bytes(1 << 50), "1024TB");
    }

    #[test]
    fn the_memory_limitation_reads_as_in_mesos() {
        let limitation = memory_limitation(Some(64 * MEGABYTE), Some(64 * MEGABYTE), "rss 1\n");
        assert_eq!(
            limitation.reason,
            StatusReason::REASON_CONTAINER_LIMITATION_MEMORY
        );
        assert!(limitation
            .message
            .starts_with("Memory limit exceeded: Requested: 64MB Maximum Used: 64MB\n\nMEMORY STATISTICS: \nrss 1\n"));
        assert_eq!(limitation.resources.mem(), Some(64.0));
        let unknown = memory_limitation(None, None, "");
        assert_eq!(unknown.message, "Memory limit exceeded: ");
    }
}
