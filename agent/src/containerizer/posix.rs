//! POSIX isolation (`posix/cpu`, `posix/mem`): no limits, only usage measured and
//! processes killed, both by walking procfs for the container's processes.
//!
//! A container's processes are those of the executor's session (the launcher makes
//! the executor a session leader) and every descendant of the executor still
//! attached to it. A daemon that starts a session of its own *and* detaches from the
//! tree escapes this, as it escapes Mesos's posix launcher: only cgroups (or a pid
//! namespace) hold such a process, which is why they are preferred when available.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mesos_proto::mesos::ResourceStatistics;
use mesos_proto::ContainerId;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid as OsPid;
use procfs::process::Stat;

use super::ContainerizerError;

/// How long destroy keeps killing before it gives up.
const DESTROY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often destroy looks again for survivors.
const DESTROY_POLL: Duration = Duration::from_millis(10);

/// Every live (not zombie) process with its `stat`, or an error naming procfs.
fn processes(container_id: &ContainerId) -> Result<Vec<Stat>, ContainerizerError> {
    let all = procfs::process::all_processes().map_err(|source| ContainerizerError::Procfs {
        container_id: container_id.clone(),
        source,
    })?;
    Ok(all
        .flatten()
        .filter_map(|process| process.stat().ok())
        .filter(|stat| stat.state != 'Z')
        .collect())
}

/// The container's processes among `stats`: the session `leader` leads, and every
/// descendant of `leader`.
pub(crate) fn members(stats: &[Stat], leader: u32) -> Vec<&Stat> {
    let Ok(leader) = i32::try_from(leader) else {
        return Vec::new();
    };
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for stat in stats {
        children.entry(stat.ppid).or_default().push(stat.pid);
    }
    let mut wanted: BTreeSet<i32> = stats
        .iter()
        .filter(|s| s.session == leader)
        .map(|s| s.pid)
        .collect();
    let mut visited = BTreeSet::new();
    let mut queue = vec![leader];
    while let Some(pid) = queue.pop() {
        if visited.insert(pid) {
            wanted.insert(pid);
            queue.extend(children.get(&pid).into_iter().flatten().copied());
        }
    }
    stats.iter().filter(|s| wanted.contains(&s.pid)).collect()
}

/// The seconds since the epoch, for `ResourceStatistics.timestamp`.
pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Sums CPU times, resident memory, processes and threads over the container's
/// processes (Mesos's posix isolators do the same over the process tree).
pub(crate) fn usage(
    container_id: &ContainerId,
    leader: u32,
) -> Result<ResourceStatistics, ContainerizerError> {
    let stats = processes(container_id)?;
    let members = members(&stats, leader);
    let ticks = procfs::ticks_per_second() as f64;
    let page = procfs::page_size();
    let threads: i64 = members.iter().map(|s| s.num_threads.max(0)).sum();
    Ok(ResourceStatistics {
        timestamp: now(),
        processes: Some(u32::try_from(members.len()).unwrap_or(u32::MAX)),
        threads: Some(u32::try_from(threads).unwrap_or(u32::MAX)),
        cpus_user_time_secs: Some(members.iter().map(|s| s.utime as f64 / ticks).sum()),
        cpus_system_time_secs: Some(members.iter().map(|s| s.stime as f64 / ticks).sum()),
        mem_rss_bytes: Some(members.iter().map(|s| s.rss.saturating_mul(page)).sum()),
        ..ResourceStatistics::default()
    })
}

/// Kills the session `leader` leads and every process of the container, until none
/// is left (bounded by [`DESTROY_TIMEOUT`]).
pub(crate) async fn destroy(
    container_id: ContainerId,
    leader: u32,
) -> Result<(), ContainerizerError> {
    let deadline = Instant::now() + DESTROY_TIMEOUT;
    if let Ok(group) = i32::try_from(leader) {
        let _ = killpg(OsPid::from_raw(group), Signal::SIGKILL);
    }
    loop {
        let stats = processes(&container_id)?;
        let left: Vec<u32> = members(&stats, leader)
            .iter()
            .filter_map(|s| u32::try_from(s.pid).ok())
            .collect();
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(ContainerizerError::DestroyTimeout {
                container_id,
                remaining: left,
            });
        }
        for pid in &left {
            if let Ok(pid) = i32::try_from(*pid) {
                let _ = kill(OsPid::from_raw(pid), Signal::SIGKILL);
            }
        }
        tokio::time::sleep(DESTROY_POLL).await;
    }
}
