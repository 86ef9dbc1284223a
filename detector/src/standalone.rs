//! The standalone detector: the leader is whatever it was given, at creation or later
//! by `appoint` (Mesos's `StandaloneMasterDetector`, used when there is no ZooKeeper).

use std::future::Future;
use std::sync::Arc;

use libproc::Pid;
use tokio::sync::watch;

/// A detector whose leader is set by hand. Clones share the leader, so a test or an
/// embedder can appoint a new master while agents and drivers wait on `detect`.
#[derive(Debug, Clone)]
pub struct StandaloneMasterDetector {
    leader: Arc<watch::Sender<Option<Pid>>>,
}

impl StandaloneMasterDetector {
    /// A detector that names `leader` (or no master yet).
    pub fn new(leader: Option<Pid>) -> Self {
        StandaloneMasterDetector {
            leader: Arc::new(watch::channel(leader).0),
        }
    }

    /// Makes `leader` the leading master (or none); pending `detect` calls whose
    /// `previous` differs from it resolve.
    pub fn appoint(&self, leader: Option<Pid>) {
        tracing::info!(leader = ?leader, "Master appointed");
        self.leader.send_replace(leader);
    }

    /// Resolves with the leader as soon as it differs from `previous`: at once when it
    /// already does, else when `appoint` changes it. Once every clone of the detector
    /// is gone, the leader can no longer change and the future stays pending.
    pub fn detect(
        &self,
        previous: Option<&Pid>,
    ) -> impl Future<Output = Option<Pid>> + Send + 'static {
        detect_change(self.leader.subscribe(), previous)
    }
}

/// Resolves with the leader `leader` holds as soon as it differs from `previous`; stays
/// pending once the sender is gone, since the leader can no longer change. The core of
/// every detector's `detect`.
pub(crate) fn detect_change(
    mut leader: watch::Receiver<Option<Pid>>,
    previous: Option<&Pid>,
) -> impl Future<Output = Option<Pid>> + Send + 'static {
    let previous = previous.cloned();
    async move {
        loop {
            let current = leader.borrow_and_update().clone();
            if current != previous {
                return current;
            }
            if leader.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    fn pid(text: &str) -> Pid {
        text.parse().unwrap()
    }

    fn poll<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn returns_at_once_when_the_leader_differs_from_previous() {
        let master = pid("master@127.0.0.1:5050");
        let detector = StandaloneMasterDetector::new(Some(master.clone()));
        assert_eq!(
            poll(pin!(detector.detect(None))),
            Poll::Ready(Some(master.clone()))
        );
        let other = pid("master@127.0.0.2:5050");
        assert_eq!(
            poll(pin!(detector.detect(Some(&other)))),
            Poll::Ready(Some(master))
        );
    }

    #[test]
    fn pends_until_a_new_master_is_appointed() {
        let first = pid("master@127.0.0.1:5050");
        let detector = StandaloneMasterDetector::new(Some(first.clone()));
        let mut detection = pin!(detector.detect(Some(&first)));
        assert_eq!(poll(detection.as_mut()), Poll::Pending);
        detector.appoint(Some(first.clone()));
        assert_eq!(poll(detection.as_mut()), Poll::Pending, "same leader");
        let second = pid("master@127.0.0.1:5051");
        detector.clone().appoint(Some(second.clone()));
        assert_eq!(poll(detection.as_mut()), Poll::Ready(Some(second)));
    }

    #[test]
    fn losing_the_master_is_detected_as_none() {
        let first = pid("master@127.0.0.1:5050");
        let detector = StandaloneMasterDetector::new(Some(first.clone()));
        let mut detection = pin!(detector.detect(Some(&first)));
        detector.appoint(None);
        assert_eq!(poll(detection.as_mut()), Poll::Ready(None));
        assert_eq!(poll(pin!(detector.detect(None))), Poll::Pending);
    }

    #[test]
    fn stays_pending_once_the_detector_is_gone() {
        let first = pid("master@127.0.0.1:5050");
        let detector = StandaloneMasterDetector::new(Some(first.clone()));
        let mut detection = pin!(detector.detect(Some(&first)));
        drop(detector);
        assert_eq!(poll(detection.as_mut()), Poll::Pending);
    }
}
