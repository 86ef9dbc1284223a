//! Leader election (Mesos `Master::contended`, `lostCandidacy`, `detected`). Without
//! `--zk` the master elects itself at once. With `--zk` it contends in ZooKeeper and
//! follows who leads:
//!
//! ```text
//!   contend ──> Contending ──> Elected ──> recover the registry ──> serve
//!      ^            │             │
//!      └── Lost ────┘             └── Lost ──> the master stops for good (Mesos exits)
//! ```
//!
//! A follower serves no framework and no agent (their messages are dropped: they
//! detect the leader themselves) and redirects the endpoints that need the leader to
//! the leader its detector sees. A leader that loses its candidacy cannot know what
//! another master has done since, so it stops at once rather than step down: a
//! supervisor restarts it as a fresh follower.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use libproc::{Addr, Context, Pid};
use mesos_detector::zookeeper::{Leadership, LossReason, MasterContender};
use mesos_detector::MasterDetector;
use tokio::task::JoinHandle;

use super::Master;
use crate::metrics::set;

/// Why the master stopped for good, for the process to say as it exits.
static EXIT_REASON: OnceLock<String> = OnceLock::new();

/// Why this process's master stopped by itself (lost leadership, registry failure),
/// once it has. `mesos-master` prints it and exits non-zero, so that a supervisor
/// restarts it.
pub fn exit_reason() -> Option<&'static str> {
    EXIT_REASON.get().map(String::as_str)
}

/// The master's view of the election.
#[derive(Debug, Default)]
pub(crate) struct Election {
    /// When this master was elected; `None` while it follows.
    pub(crate) elected_time: Option<SystemTime>,
    /// The leader the detector last saw (this master's pid when it leads).
    pub(crate) leader: Option<Pid>,
    /// The contender's and the detector's tasks, stopped with the master.
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Election {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

impl Master {
    /// Whether this master leads (and so recovers the registry and serves).
    pub(crate) fn is_leading(&self) -> bool {
        self.election.elected_time.is_some()
    }

    /// Enters the election: at once elected without `--zk`, else contending.
    pub(super) fn start_election(&mut self, ctx: &mut Context<Self>) {
        set("master/elected", 0.0);
        let Some(zk) = self.flags.zk.clone() else {
            return self.elected(ctx);
        };
        let timeout = self.flags.zk_session_timeout;
        let contender = match MasterContender::new(&zk, &self.info) {
            Ok(contender) => contender.with_session_timeout(timeout),
            Err(error) => return self.abort(format!("Cannot contend at {zk}: {error}"), ctx),
        };
        let detector = match MasterDetector::create_with_session_timeout(&zk, timeout) {
            Ok(detector) => detector,
            Err(error) => return self.abort(format!("Cannot detect at {zk}: {error}"), ctx),
        };
        tracing::info!(%zk, session_timeout = ?timeout, "Contending for leadership");
        self.election.tasks = vec![
            tokio::spawn(contend(contender, ctx.addr())),
            tokio::spawn(detect(detector, ctx.addr())),
        ];
    }

    /// The contender's news. Returns whether to keep contending: a follower that lost
    /// its candidacy contends again; a leader that lost it stops.
    fn leadership_changed(&mut self, leadership: Leadership, ctx: &mut Context<Self>) -> bool {
        match leadership {
            Leadership::Elected if !self.is_leading() => self.elected(ctx),
            Leadership::Elected | Leadership::Contending => {}
            Leadership::Lost(reason) => {
                let Some(elected) = self.election.elected_time else {
                    tracing::warn!(reason = loss(reason), "Lost candidacy; contending again");
                    return true;
                };
                let led = SystemTime::now()
                    .duration_since(elected)
                    .unwrap_or(Duration::ZERO);
                self.abort(
                    format!(
                        "Lost leadership after {:.3}s: {}",
                        led.as_secs_f64(),
                        loss(reason)
                    ),
                    ctx,
                );
                return false;
            }
        }
        true
    }

    /// Leads from now: recovers the registry, then serves.
    fn elected(&mut self, ctx: &mut Context<Self>) {
        tracing::info!(id = %self.info.id, pid = ?self.info.pid, "Elected as the leading master");
        self.election.elected_time = Some(SystemTime::now());
        self.election.leader = Some(ctx.pid().clone());
        set("master/elected", 1.0);
        self.recover(ctx);
    }

    /// The detector's news: whom to redirect to while following.
    fn leader_detected(&mut self, leader: Option<Pid>) {
        match &leader {
            Some(pid) => tracing::info!(leader = %pid, "Detected the leading master"),
            None => tracing::warn!("No leading master is detected"),
        }
        if !self.is_leading() {
            self.election.leader = leader;
        }
    }

    /// Stops the master for good, recording why for the process to report: what Mesos
    /// does with `EXIT(EXIT_FAILURE)` when it must not go on (lost leadership, a
    /// registry that cannot be read or written).
    pub(crate) fn abort(&mut self, reason: String, ctx: &mut Context<Self>) {
        tracing::error!(id = %self.info.id, "{reason}; the master stops");
        set("master/elected", 0.0);
        self.election.elected_time = None;
        let _ = EXIT_REASON.set(reason);
        ctx.terminate();
    }
}

/// Contends until the master is gone or stops.
async fn contend(contender: MasterContender, master: Addr<Master>) {
    loop {
        let mut candidacy = match contender.contend().await {
            Ok(candidacy) => candidacy,
            Err(error) => {
                let reason = format!("Cannot contend for leadership: {error}");
                let _ = libproc::dispatch(&master, move |m: &mut Master, ctx| m.abort(reason, ctx))
                    .await;
                return;
            }
        };
        tracing::info!(node = candidacy.node(), "Candidacy started");
        loop {
            let leadership = candidacy.changed().await;
            let keep = libproc::dispatch(&master, move |m: &mut Master, ctx| {
                m.leadership_changed(leadership, ctx)
            })
            .await;
            match (keep, leadership) {
                (Ok(true), Leadership::Lost(_)) => break,
                (Ok(true), _) => {}
                (Ok(false) | Err(_), _) => return,
            }
        }
    }
}

/// Follows the leader until the master is gone.
async fn detect(detector: MasterDetector, master: Addr<Master>) {
    let mut leader = None;
    loop {
        leader = detector.detect(leader.as_ref()).await;
        let seen = leader.clone();
        if libproc::dispatch(&master, move |m: &mut Master, _| m.leader_detected(seen))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// A loss, in words.
fn loss(reason: LossReason) -> &'static str {
    match reason {
        LossReason::SessionExpired => "the ZooKeeper session expired",
        LossReason::Disconnected => "disconnected from ZooKeeper for a whole session timeout",
        LossReason::SessionClosed => "the ZooKeeper session was closed",
        LossReason::NodeDeleted => "this master's node in ZooKeeper was deleted",
        LossReason::Superseded => "another master now leads",
    }
}
