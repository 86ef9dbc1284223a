//! What a cluster leaves behind when its daemons die: executors (each the leader of
//! its own session, with its tasks in that session) and cgroups. Found from what the
//! agents checkpoint and from the `--cgroups_root` the harness gave them.

use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use procfs::process::{Process, Stat};

/// The OS pids of the executors an agent checkpointed (for checkpointing frameworks
/// only), read from the `forked.pid` files under `meta/` in its `work_dir`.
pub(crate) fn checkpointed_executor_pids(work_dir: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = files_named(&work_dir.join("meta"), "forked.pid")
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok()?.trim().parse().ok())
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// The sessions of the live processes working under `dir`: the executors an agent
/// started in sandboxes there, each the leader of its session, with their tasks.
pub(crate) fn sessions_under(dir: &Path) -> Vec<i32> {
    let mut sessions: Vec<i32> = live_processes()
        .filter(|(process, _)| process.cwd().is_ok_and(|cwd| cwd.starts_with(dir)))
        .map(|(_, stat)| stat.session)
        .collect();
    sessions.sort_unstable();
    sessions.dedup();
    sessions
}

/// Whether a live (not zombie) process is in session `sid`: the executor the agent
/// forked as that session's leader, or a task it started.
pub fn session_alive(sid: i32) -> bool {
    !session_members(sid).is_empty()
}

/// Kills every process of session `sid`, again until none is left (an executor may
/// fork a task while the first round is sent).
pub(crate) fn kill_session(sid: i32) {
    for _ in 0..10 {
        let members = session_members(sid);
        if members.is_empty() {
            return;
        }
        for pid in members {
            let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

fn session_members(sid: i32) -> Vec<i32> {
    live_processes()
        .filter(|(_, stat)| stat.session == sid)
        .map(|(process, _)| process.pid)
        .collect()
}

/// Every process of the machine that has not exited, with its status.
fn live_processes() -> impl Iterator<Item = (Process, Stat)> {
    procfs::process::all_processes()
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|process| {
            let stat = process.stat().ok()?;
            (stat.state != 'Z').then_some((process, stat))
        })
}

/// Removes the cgroup `root` from every hierarchy under `hierarchy` (each cgroup v1
/// controller's mount, or the v2 unified tree), children first, killing what they
/// still hold.
pub(crate) fn remove_cgroups(hierarchy: &Path, root: &str) {
    let mut candidates = vec![hierarchy.join(root)];
    for controller in std::fs::read_dir(hierarchy).into_iter().flatten().flatten() {
        candidates.push(controller.path().join(root));
    }
    for cgroup in candidates.into_iter().filter(|path| path.is_dir()) {
        remove_cgroup_tree(&cgroup);
    }
}

fn remove_cgroup_tree(cgroup: &Path) {
    for child in std::fs::read_dir(cgroup).into_iter().flatten().flatten() {
        if child.file_type().is_ok_and(|kind| kind.is_dir()) {
            remove_cgroup_tree(&child.path());
        }
    }
    // A cgroup can only be removed once empty, and its killed processes take a moment
    // to leave it; a frozen one must be thawed for them to die.
    for _ in 0..500 {
        let procs = std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|line| line.trim().parse().ok()) {
            let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = std::fs::write(cgroup.join("freezer.state"), "THAWED");
        let _ = std::fs::write(cgroup.join("cgroup.freeze"), "0");
        if std::fs::remove_dir(cgroup).is_ok() || !cgroup.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    eprintln!("could not remove the cgroup {}", cgroup.display());
}

/// Every file called `name` under `dir`, not following symbolic links (the agent's
/// `latest` links would make it visit runs twice).
fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            found.extend(files_named(&path, name));
        } else if kind.is_file() && entry.file_name() == name {
            found.push(path);
        }
    }
    found
}
