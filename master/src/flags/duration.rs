//! Durations in flags: Mesos's syntax (`15secs`), from `mesos_proto::duration`, with
//! errors as flag errors.

use std::time::Duration;

pub use mesos_proto::duration::format_duration;

use super::FlagError;

/// Parses a Mesos duration such as `15secs` or `1.5hrs`.
pub fn parse_duration(text: &str) -> Result<Duration, FlagError> {
    mesos_proto::duration::parse_duration(text).map_err(|e| FlagError::InvalidDuration {
        value: e.value,
        reason: e.reason,
    })
}
