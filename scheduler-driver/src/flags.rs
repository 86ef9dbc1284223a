//! The driver's own settings, read from `MESOS_*` variables when it starts, as Mesos's
//! `scheduler::Flags` are.

use std::time::Duration;

use mesos_proto::duration::parse_duration;

/// The registration backoff factor when `MESOS_REGISTRATION_BACKOFF_FACTOR` is unset
/// (Mesos's default).
pub const DEFAULT_REGISTRATION_BACKOFF_FACTOR: Duration = Duration::from_secs(2);

/// The longest wait between two registration attempts (Mesos's
/// `REGISTRATION_RETRY_INTERVAL_MAX`).
pub const REGISTRATION_RETRY_INTERVAL_MAX: Duration = Duration::from_secs(60);

/// A `MESOS_*` variable of the driver that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse '{variable}={value}': {reason}")]
pub struct FlagsError {
    /// The variable.
    pub variable: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

/// What the driver reads from its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DriverFlags {
    /// `MESOS_REGISTRATION_BACKOFF_FACTOR`: the first registration retry comes after a
    /// random wait up to this; the bound doubles with each retry.
    pub(crate) registration_backoff_factor: Duration,
}

impl DriverFlags {
    pub(crate) fn from_env() -> Result<DriverFlags, FlagsError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<DriverFlags, FlagsError> {
        const VARIABLE: &str = "MESOS_REGISTRATION_BACKOFF_FACTOR";
        let registration_backoff_factor = match var(VARIABLE) {
            None => DEFAULT_REGISTRATION_BACKOFF_FACTOR,
            Some(value) => parse_duration(value.trim()).map_err(|e| FlagsError {
                variable: VARIABLE,
                reason: e.reason,
                value,
            })?,
        };
        Ok(DriverFlags {
            registration_backoff_factor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_factor_defaults_to_two_seconds() {
        let flags = DriverFlags::from_vars(|_| None).unwrap();
        assert_eq!(flags.registration_backoff_factor, Duration::from_secs(2));
    }

    #[test]
    fn the_backoff_factor_reads_mesos_durations() {
        let flags = DriverFlags::from_vars(|_| Some("250ms".into())).unwrap();
        assert_eq!(
            flags.registration_backoff_factor,
            Duration::from_millis(250)
        );
        let error = DriverFlags::from_vars(|_| Some("2".into())).unwrap_err();
        assert_eq!(error.variable, "MESOS_REGISTRATION_BACKOFF_FACTOR");
        assert_eq!(error.value, "2");
    }
}
