//! The garbage collector (Mesos's `GarbageCollectorProcess`, `src/slave/gc.cpp`):
//! removes the sandboxes and checkpoints of finished executors and frameworks some
//! time after they finish, and sooner when the disk fills up.
//!
//! The agent *schedules* a path with a delay (`--gc_delay`, less the time since the
//! sandbox last changed) and may *unschedule* it to use it again. With a [`DiskWatch`],
//! the process reads the work dir's disk usage every `--disk_watch_interval` and
//! *prunes*: it removes now every path due within `gc_delay - max_allowed_age(usage)`,
//! that is every path older than the age the disk can still afford.
//!
//! Removal runs on a blocking thread, one path at a time (as Mesos's single removal
//! executor), so the process keeps serving while a large sandbox goes. Metrics, under
//! Mesos's keys: `gc/path_removals_succeeded`, `gc/path_removals_failed` and
//! `gc/path_removals_pending` (paths scheduled or being removed).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libproc::{Addr, Clock, Context, Pid, Process, ProcessId, SpawnError, Timer};
use tokio::sync::{oneshot, Semaphore};

use crate::flags::Flags;

/// Why a scheduled path was not removed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GcError {
    /// Removing failed; the path may be partly removed.
    #[error("cannot remove '{path}': {source}")]
    Remove {
        /// The path.
        path: PathBuf,
        /// What the OS said.
        source: Arc<io::Error>,
    },
    /// The path was unscheduled, or scheduled again (which answers the new schedule).
    #[error("'{path}' was unscheduled before its removal")]
    Unscheduled {
        /// The path.
        path: PathBuf,
    },
    /// The garbage collector terminated first.
    #[error("the garbage collector is gone")]
    Gone,
}

/// The disk usage of a path cannot be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot read the disk usage of '{path}': {source}")]
pub struct DiskUsageError {
    /// The path.
    pub path: PathBuf,
    /// What the OS said.
    pub source: nix::Error,
}

/// How the garbage collector watches the disk (Mesos's agent does this in
/// `Slave::checkDiskUsage`; it lives here, beside the paths it prunes).
#[derive(Debug, Clone)]
pub struct DiskWatch {
    /// The directory whose file system is watched (`--work_dir`).
    pub work_dir: PathBuf,
    /// How long paths are kept when the disk is empty (`--gc_delay`).
    pub gc_delay: Duration,
    /// The fraction of the disk to keep free (`--gc_disk_headroom`).
    pub headroom: f64,
    /// How often the usage is read (`--disk_watch_interval`).
    pub interval: Duration,
}

impl DiskWatch {
    /// The watch the agent's flags ask for.
    pub fn from_flags(flags: &Flags) -> Self {
        DiskWatch {
            work_dir: flags.work_dir.clone(),
            gc_delay: flags.gc_delay,
            headroom: flags.gc_disk_headroom,
            interval: flags.disk_watch_interval,
        }
    }
}

/// The age past which a path is removed at this disk usage (Mesos's `Slave::age`):
/// `gc_delay × max(0, 1 − headroom − usage)`. The fuller the disk, the younger; zero
/// once usage reaches `1 − headroom`. Any inputs, even out of range, give a duration
/// between zero and `gc_delay`.
pub fn max_allowed_age(gc_delay: Duration, headroom: f64, usage: f64) -> Duration {
    let fraction = 1.0 - headroom - usage;
    if fraction > 0.0 {
        gc_delay.mul_f64(fraction.min(1.0))
    } else {
        Duration::ZERO
    }
}

/// The used fraction of the file system holding `path` (Mesos's `fs::usage`): used
/// blocks over all blocks. A file system that reports no blocks counts as empty.
pub fn disk_usage(path: &Path) -> Result<f64, DiskUsageError> {
    let stats = nix::sys::statvfs::statvfs(path).map_err(|source| DiskUsageError {
        path: path.to_owned(),
        source,
    })?;
    let total = stats.blocks();
    if total == 0 {
        return Ok(0.0);
    }
    Ok(total.saturating_sub(stats.blocks_free()) as f64 / total as f64)
}

type Waiter = oneshot::Sender<Result<(), GcError>>;

/// Where a scheduled path stands.
#[derive(Debug)]
enum Stage {
    /// Waiting for its timer.
    Waiting(Timer),
    /// On (or queued for) the removal thread; it cannot be stopped any more.
    Removing,
}

/// A scheduled path.
#[derive(Debug)]
struct Scheduled {
    due: Instant,
    /// Tells this schedule's timer from an earlier, cancelled one of the same path.
    generation: u64,
    stage: Stage,
    /// Told when the path is removed, fails to be, or is unscheduled.
    waiters: Vec<Waiter>,
}

impl Scheduled {
    fn answer(self, result: &Result<(), GcError>) {
        if let Stage::Waiting(timer) = &self.stage {
            timer.cancel();
        }
        for waiter in self.waiters {
            let _ = waiter.send(result.clone());
        }
    }
}

/// What `unschedule` found.
#[derive(Debug)]
enum Unscheduling {
    /// Whether the path was scheduled (and now is not).
    Done(bool),
    /// The path is being removed; wait for that, then answer false.
    AfterRemoval(oneshot::Receiver<Result<(), GcError>>),
}

/// The garbage collector's process: the scheduled paths and the disk watch.
#[derive(Debug)]
pub struct GarbageCollectorProcess {
    paths: HashMap<PathBuf, Scheduled>,
    watch: Option<DiskWatch>,
    /// One permit: removals run one at a time.
    removals: Arc<Semaphore>,
    next_generation: u64,
}

impl GarbageCollectorProcess {
    fn new(watch: Option<DiskWatch>) -> Self {
        GarbageCollectorProcess {
            paths: HashMap::new(),
            watch,
            removals: Arc::new(Semaphore::new(1)),
            next_generation: 0,
        }
    }

    /// Schedules `path` for removal after `delay`. A path scheduled already is
    /// scheduled again (its earlier schedule is answered `Unscheduled`), unless it is
    /// being removed, in which case this schedule is answered by that removal.
    fn schedule(
        &mut self,
        delay: Duration,
        path: PathBuf,
        ctx: &mut Context<Self>,
    ) -> oneshot::Receiver<Result<(), GcError>> {
        let (waiter, removed) = oneshot::channel();
        if let Some(scheduled) = self.paths.get_mut(&path) {
            if let Stage::Removing = scheduled.stage {
                scheduled.waiters.push(waiter);
                return removed;
            }
        }
        if let Some(earlier) = self.paths.remove(&path) {
            earlier.answer(&Err(GcError::Unscheduled { path: path.clone() }));
        }
        tracing::info!(path = %path.display(), ?delay, "Scheduling for garbage collection");
        let generation = self.next_generation;
        self.next_generation += 1;
        let timer = {
            let path = path.clone();
            ctx.delay(delay, move |this: &mut Self, ctx| {
                this.due(&path, generation, ctx)
            })
        };
        let scheduled = Scheduled {
            due: Clock::now() + delay,
            generation,
            stage: Stage::Waiting(timer),
            waiters: vec![waiter],
        };
        self.paths.insert(path, scheduled);
        self.pending_changed();
        removed
    }

    /// Unschedules `path`, so that it is kept.
    fn unschedule(&mut self, path: &Path) -> Unscheduling {
        let Some(scheduled) = self.paths.get_mut(path) else {
            return Unscheduling::Done(false);
        };
        if let Stage::Removing = scheduled.stage {
            let (waiter, removed) = oneshot::channel();
            scheduled.waiters.push(waiter);
            return Unscheduling::AfterRemoval(removed);
        }
        tracing::info!(path = %path.display(), "Unscheduling from garbage collection");
        let scheduled = self.paths.remove(path);
        self.pending_changed();
        if let Some(scheduled) = scheduled {
            scheduled.answer(&Err(GcError::Unscheduled {
                path: path.to_owned(),
            }));
        }
        Unscheduling::Done(true)
    }

    /// Removes now every waiting path due within `within`.
    fn prune(&mut self, within: Duration, ctx: &mut Context<Self>) {
        let now = Clock::now();
        let due: Vec<PathBuf> = self
            .paths
            .iter()
            .filter(|(_, s)| matches!(s.stage, Stage::Waiting(_)))
            .filter(|(_, s)| s.due.saturating_duration_since(now) <= within)
            .map(|(path, _)| path.clone())
            .collect();
        if !due.is_empty() {
            tracing::info!(
                count = due.len(),
                ?within,
                "Pruning paths due for garbage collection"
            );
        }
        for path in due {
            self.remove(path, ctx);
        }
    }

    /// A path's timer fired; a stale timer (the path was scheduled again) is ignored.
    fn due(&mut self, path: &Path, generation: u64, ctx: &mut Context<Self>) {
        let current = self
            .paths
            .get(path)
            .is_some_and(|s| s.generation == generation && matches!(s.stage, Stage::Waiting(_)));
        if current {
            self.remove(path.to_owned(), ctx);
        }
    }

    /// Hands a waiting path to the removal thread.
    fn remove(&mut self, path: PathBuf, ctx: &mut Context<Self>) {
        let Some(scheduled) = self.paths.get_mut(&path) else {
            return;
        };
        if let Stage::Waiting(timer) = std::mem::replace(&mut scheduled.stage, Stage::Removing) {
            timer.cancel();
        }
        let removals = self.removals.clone();
        let target = path.clone();
        let removal = async move {
            let _one_at_a_time = removals.acquire_owned().await;
            tracing::info!(path = %target.display(), "Deleting");
            tokio::task::spawn_blocking(move || remove_path(&target))
                .await
                .unwrap_or_else(|error| Err(io::Error::other(error)))
        };
        ctx.defer(removal, move |this: &mut Self, result, _ctx| {
            this.removed(path, result)
        });
    }

    /// The removal thread finished with `path`.
    fn removed(&mut self, path: PathBuf, result: io::Result<()>) {
        let result = match result {
            Ok(()) => {
                tracing::info!(path = %path.display(), "Deleted");
                metrics::counter!("gc/path_removals_succeeded").increment(1);
                Ok(())
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "Failed to delete");
                metrics::counter!("gc/path_removals_failed").increment(1);
                Err(GcError::Remove {
                    path: path.clone(),
                    source: Arc::new(error),
                })
            }
        };
        // The gauge first: whoever hears of the removal sees it counted.
        let scheduled = self.paths.remove(&path);
        self.pending_changed();
        if let Some(scheduled) = scheduled {
            scheduled.answer(&result);
        }
    }

    /// Reads the disk usage off the process; `disk_usage_checked` goes on.
    fn check_disk_usage(&mut self, ctx: &mut Context<Self>) {
        let Some(watch) = &self.watch else { return };
        let work_dir = watch.work_dir.clone();
        let usage = async move {
            tokio::task::spawn_blocking(move || disk_usage(&work_dir))
                .await
                .ok()
        };
        ctx.defer(usage, |this: &mut Self, usage, ctx| {
            this.disk_usage_checked(usage, ctx)
        });
    }

    /// Prunes what the disk can no longer afford, and watches again later.
    fn disk_usage_checked(
        &mut self,
        usage: Option<Result<f64, DiskUsageError>>,
        ctx: &mut Context<Self>,
    ) {
        let Some(watch) = self.watch.clone() else {
            return;
        };
        match usage {
            Some(Ok(usage)) => {
                let age = max_allowed_age(watch.gc_delay, watch.headroom, usage);
                tracing::debug!(usage_percent = 100.0 * usage, max_allowed_age = ?age, "Checked the disk usage");
                self.prune(watch.gc_delay.saturating_sub(age), ctx);
            }
            Some(Err(error)) => tracing::warn!(%error, "Cannot check the disk usage"),
            None => tracing::warn!("The disk usage check did not finish"),
        }
        ctx.delay(watch.interval, GarbageCollectorProcess::check_disk_usage);
    }

    fn pending_changed(&self) {
        metrics::gauge!("gc/path_removals_pending").set(self.paths.len() as f64);
    }
}

impl Process for GarbageCollectorProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.pending_changed();
        if let Some(watch) = &self.watch {
            ctx.delay(watch.interval, GarbageCollectorProcess::check_disk_usage);
        }
    }
}

/// Removes a directory tree, or a file; a path that is already gone is removed.
fn remove_path(path: &Path) -> io::Result<()> {
    let removed = match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(error) => Err(error),
    };
    match removed {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// The owner's handle to the garbage collector; dropping it terminates the process,
/// and pending schedules are then answered `Gone`.
#[derive(Debug)]
pub struct GarbageCollector {
    addr: Addr<GarbageCollectorProcess>,
}

impl GarbageCollector {
    /// Spawns a garbage collector (`agent-garbage-collector(N)`, as Mesos names it),
    /// watching the disk when `watch` is given.
    pub fn spawn(watch: Option<DiskWatch>) -> Result<Self, SpawnError> {
        let process = GarbageCollectorProcess::new(watch);
        let addr = libproc::spawn(process, ProcessId::generate("agent-garbage-collector"))?;
        Ok(GarbageCollector { addr })
    }

    /// The process's pid.
    pub fn pid(&self) -> &Pid {
        self.addr.pid()
    }

    /// Schedules `path` for removal after `delay`. The request is queued at once; the
    /// future resolves when the path is removed, and may be dropped.
    pub fn schedule(
        &self,
        delay: Duration,
        path: impl Into<PathBuf>,
    ) -> impl Future<Output = Result<(), GcError>> + Send + 'static {
        let path = path.into();
        let scheduled = libproc::dispatch(&self.addr, move |gc, ctx| gc.schedule(delay, path, ctx));
        async move {
            match scheduled.await {
                Ok(removed) => removed.await.unwrap_or(Err(GcError::Gone)),
                Err(_) => Err(GcError::Gone),
            }
        }
    }

    /// Unschedules `path`. The future says whether it was scheduled and now is kept;
    /// a path being removed cannot be kept, and answers false once it is gone.
    pub fn unschedule(
        &self,
        path: impl Into<PathBuf>,
    ) -> impl Future<Output = bool> + Send + 'static {
        let path = path.into();
        let unscheduled = libproc::dispatch(&self.addr, move |gc, _| gc.unschedule(&path));
        async move {
            match unscheduled.await {
                Ok(Unscheduling::Done(kept)) => kept,
                Ok(Unscheduling::AfterRemoval(removed)) => {
                    let _ = removed.await;
                    false
                }
                Err(_) => false,
            }
        }
    }

    /// Removes now every scheduled path due within `within`.
    pub fn prune(&self, within: Duration) {
        drop(libproc::dispatch(&self.addr, move |gc, ctx| {
            gc.prune(within, ctx)
        }));
    }
}

impl Drop for GarbageCollector {
    fn drop(&mut self) {
        libproc::terminate(self.addr.pid());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

    #[test]
    fn the_allowed_age_shrinks_as_the_disk_fills() {
        assert_eq!(max_allowed_age(WEEK, 0.1, 0.0), WEEK.mul_f64(0.9));
        assert_eq!(max_allowed_age(WEEK, 0.1, 0.5), WEEK.mul_f64(0.4));
        assert_eq!(max_allowed_age(WEEK, 0.1, 0.9), Duration::ZERO);
        assert_eq!(max_allowed_age(WEEK, 0.1, 0.95), Duration::ZERO);
        assert_eq!(max_allowed_age(WEEK, 0.0, 0.0), WEEK);
        assert_eq!(max_allowed_age(WEEK, 1.0, 0.0), Duration::ZERO);
    }

    proptest::proptest! {
        #[test]
        fn the_allowed_age_never_exceeds_the_delay(
            secs in 0u64..(1 << 40),
            headroom in proptest::num::f64::ANY,
            usage in proptest::num::f64::ANY,
        ) {
            let delay = Duration::from_secs(secs);
            proptest::prop_assert!(max_allowed_age(delay, headroom, usage) <= delay);
        }
    }

    #[test]
    fn disk_usage_is_a_fraction() {
        let usage = disk_usage(&std::env::temp_dir()).unwrap();
        assert!((0.0..=1.0).contains(&usage), "{usage}");
        assert!(disk_usage(Path::new("/no/such/dir")).is_err());
    }

    #[test]
    fn removing_takes_trees_files_and_missing_paths() {
        let dir = std::env::temp_dir().join(format!("mesos-gc-remove-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/b/c"), b"x").unwrap();
        std::fs::write(dir.join("file"), b"x").unwrap();
        remove_path(&dir.join("file")).unwrap();
        remove_path(&dir.join("a")).unwrap();
        remove_path(&dir.join("missing")).unwrap();
        assert!(!dir.join("a").exists() && !dir.join("file").exists());
        std::fs::remove_dir(&dir).unwrap();
    }
}
