//! Waiting for something observable, bounded by a deadline: the only way tests wait.

use std::time::{Duration, Instant};

/// How long any single expected thing may take before the test fails. Generous,
/// because the daemons share a small machine with builds and other tests.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// How often a condition is checked again: short, so a test moves on as soon as the
/// cluster does.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Polls `check` until it gives a value, failing the test with `what` after
/// [`DEADLINE`].
pub fn until<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    until_deadline(what, DEADLINE, check)
}

/// As [`until`], with its own deadline (for scenarios that do much more than one
/// step, such as hundreds of tasks).
pub fn until_deadline<T>(
    what: &str,
    deadline: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(POLL_INTERVAL);
    }
}
