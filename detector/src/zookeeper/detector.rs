//! The ZooKeeper master detector (Mesos's `ZooKeeperMasterDetector`): a background
//! task follows the group and publishes its leader; `detect` waits on what it
//! publishes.

use std::convert::Infallible;
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use libproc::Pid;
use tokio::sync::watch;

use super::group;
use super::session::Connector;
use super::ZooKeeperUrl;
use crate::standalone::detect_change;

/// Learns the leading master from a ZooKeeper group. Clones share one session and
/// one background task, which ends when the last clone is dropped.
///
/// While the connection is down the last known leader is kept; when the session is
/// lost (expired, or disconnected for a whole session timeout) the leader becomes
/// unknown (`None`) until a new session reads the group again.
///
/// ```no_run
/// # async fn example() {
/// use mesos_detector::ZooKeeperMasterDetector;
///
/// let url = "zk://127.0.0.1:2181/mesos".parse().unwrap();
/// let detector = ZooKeeperMasterDetector::new(url, mesos_detector::zookeeper::DEFAULT_SESSION_TIMEOUT);
/// let mut leader = detector.detect(None).await;
/// loop {
///     println!("leading master: {leader:?}");
///     leader = detector.detect(leader.as_ref()).await;
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ZooKeeperMasterDetector {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    leader: watch::Receiver<Option<Pid>>,
    task: tokio::task::AbortHandle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ZooKeeperMasterDetector {
    /// Starts following the group at `url`. Never fails: an unreachable ensemble is
    /// retried with backoff (and logged) until it answers. Runs on the current tokio
    /// runtime, else on libproc's (started from the environment if needed).
    pub fn new(url: ZooKeeperUrl, session_timeout: Duration) -> Self {
        let (sender, leader) = watch::channel(None);
        let path = url.path.clone();
        let connector = Connector::new(url, session_timeout);
        let task = runtime().spawn(follow(connector, path, sender));
        ZooKeeperMasterDetector {
            inner: Arc::new(Inner {
                leader,
                task: task.abort_handle(),
            }),
        }
    }

    /// Resolves with the leading master (`None`: no leader, or not known) as soon as
    /// it differs from `previous`: at once when it already does, else when the group
    /// changes.
    pub fn detect(
        &self,
        previous: Option<&Pid>,
    ) -> impl Future<Output = Option<Pid>> + Send + 'static {
        detect_change(self.inner.leader.clone(), previous)
    }
}

/// The runtime to run the detector's task on.
fn runtime() -> tokio::runtime::Handle {
    tokio::runtime::Handle::try_current()
        .ok()
        .or_else(libproc::Runtime::handle)
        .unwrap_or_else(|| libproc::Runtime::block_on(async { tokio::runtime::Handle::current() }))
}

/// Follows the group forever, one session after another.
async fn follow(connector: Connector, path: String, leader: watch::Sender<Option<Pid>>) {
    loop {
        let mut session = connector.connect().await;
        let followed = group::follow(&mut session, &path, |view| {
            publish(&leader, view.leader.map(|l| l.pid));
            ControlFlow::<Infallible>::Continue(())
        });
        let loss = match followed.await {
            Ok(never) => match never {},
            Err(loss) => loss,
        };
        tracing::warn!(
            zk = %connector.url(),
            ?loss,
            "Leading master unknown until a new ZooKeeper session reads the group"
        );
        publish(&leader, None);
    }
}

fn publish(leader: &watch::Sender<Option<Pid>>, current: Option<Pid>) {
    leader.send_if_modified(|known| {
        if *known == current {
            return false;
        }
        match &current {
            Some(pid) => tracing::info!(leader = %pid, "Detected a new leading master"),
            None => tracing::info!("No leading master"),
        }
        *known = current;
        true
    });
}
