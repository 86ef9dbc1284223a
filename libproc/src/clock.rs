//! The runtime's clock and its timers.
//!
//! Every `delay` goes through one timer service that reads `Clock::now()`. Real time
//! drives it normally; a paused clock (tests) only moves when the test advances it, and
//! then the due timers fire at once, so timeouts of minutes are tested in microseconds.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
#[cfg(feature = "testing")]
use std::time::Duration;
use std::time::Instant;

use tokio::sync::Notify;

type Callback = Box<dyn FnOnce() + Send>;

/// The runtime's notion of now.
#[derive(Debug, Clone, Copy)]
pub struct Clock;

static PAUSED_AT: Mutex<Option<Instant>> = Mutex::new(None);

fn paused() -> MutexGuard<'static, Option<Instant>> {
    PAUSED_AT
        .lock()
        .expect("the clock lock is never poisoned: nothing panics while holding it")
}

impl Clock {
    /// The current instant: real time, or the paused clock's time.
    pub fn now() -> Instant {
        paused().unwrap_or_else(Instant::now)
    }

    /// Whether the clock is paused.
    pub fn paused() -> bool {
        paused().is_some()
    }
}

/// Test controls of the clock.
#[cfg(feature = "testing")]
impl Clock {
    /// Stops the clock at the current instant. Timers then fire only through `advance`.
    pub fn pause() {
        let mut at = paused();
        if at.is_none() {
            *at = Some(Instant::now());
        }
    }

    /// Moves a paused clock forward and fires every timer that became due.
    ///
    /// # Panics
    /// When the clock is not paused: advancing real time is a bug in the test.
    pub fn advance(duration: Duration) {
        {
            let mut at = paused();
            let now = at.as_mut().expect("Clock::advance needs a paused clock");
            *now += duration;
        }
        if let Some(timers) = TIMERS.get() {
            timers.fire_due();
        }
    }

    /// Lets the clock follow real time again.
    pub fn resume() {
        *paused() = None;
        if let Some(timers) = TIMERS.get() {
            timers.changed.notify_one();
        }
    }

    /// Waits until every process of this runtime has handled every event queued to it,
    /// including those that fired timers queued.
    pub async fn settle() {
        crate::runtime::settle().await;
    }
}

/// A handle to a scheduled `delay`, which can cancel it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    key: (Instant, u64),
}

impl Timer {
    /// Cancels the timer; true when it had not fired yet.
    pub fn cancel(&self) -> bool {
        TIMERS
            .get()
            .map(|timers| timers.lock().remove(&self.key).is_some())
            .unwrap_or(false)
    }

    /// When the timer is due, on the runtime's clock.
    pub fn deadline(&self) -> Instant {
        self.key.0
    }
}

/// The timer service: pending callbacks ordered by deadline.
pub(crate) struct Timers {
    pending: Mutex<BTreeMap<(Instant, u64), Callback>>,
    next: AtomicU64,
    changed: Notify,
}

/// The one timer service; the clock is process-wide, as in libprocess.
static TIMERS: OnceLock<Timers> = OnceLock::new();

impl Timers {
    /// The timer service, started on the runtime the first time it is asked for.
    pub(crate) fn get_or_start(handle: &tokio::runtime::Handle) -> &'static Timers {
        let mut started = false;
        let timers = TIMERS.get_or_init(|| {
            started = true;
            Timers {
                pending: Mutex::new(BTreeMap::new()),
                next: AtomicU64::new(0),
                changed: Notify::new(),
            }
        });
        if started {
            handle.spawn(timers.run());
        }
        timers
    }

    /// The started timer service; any `Addr` implies the runtime, so the service, runs.
    pub(crate) fn global() -> &'static Timers {
        TIMERS
            .get()
            .expect("the timer service starts with the runtime")
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(Instant, u64), Callback>> {
        self.pending
            .lock()
            .expect("the timer lock is never poisoned: callbacks run outside it")
    }

    pub(crate) fn schedule(&self, deadline: Instant, callback: Callback) -> Timer {
        let key = (deadline, self.next.fetch_add(1, Ordering::Relaxed));
        let earliest = {
            let mut pending = self.lock();
            pending.insert(key, callback);
            pending.keys().next() == Some(&key)
        };
        if earliest {
            self.changed.notify_one();
        }
        if Clock::paused() && deadline <= Clock::now() {
            self.fire_due();
        }
        Timer { key }
    }

    /// Runs the callbacks of every due timer, outside the lock.
    fn fire_due(&self) {
        let now = Clock::now();
        let due = {
            let mut pending = self.lock();
            let later = pending.split_off(&(now, u64::MAX));
            std::mem::replace(&mut *pending, later)
        };
        for (_, callback) in due {
            callback();
        }
    }

    async fn run(&'static self) {
        loop {
            let next = self.lock().keys().next().map(|key| key.0);
            match next {
                Some(deadline) if !Clock::paused() => {
                    let sleep = tokio::time::sleep_until(deadline.into());
                    tokio::select! {
                        _ = sleep => {}
                        _ = self.changed.notified() => {}
                    }
                }
                _ => self.changed.notified().await,
            }
            if !Clock::paused() {
                self.fire_due();
            }
        }
    }
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timers")
            .field("pending", &self.lock().len())
            .finish()
    }
}
