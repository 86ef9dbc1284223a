//! The `MESOS_*` environment the agent gives an executor, parsed in one place.
//!
//! Every variable is read through a `var` closure, so tests (and embedders) can supply
//! the values without touching the process environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use libproc::Pid;
use mesos_proto::duration::parse_duration;
use mesos_proto::{AgentId, ExecutorId, FrameworkId};

/// How long the executor waits between the agent's shutdown request and its own
/// termination when `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD` is unset (Mesos's default).
pub const DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// A `MESOS_*` variable that is missing or does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// A required variable is not set.
    #[error("expecting '{variable}' to be set in the environment")]
    Missing {
        /// The variable.
        variable: &'static str,
    },
    /// A variable's value does not parse.
    #[error("cannot parse '{variable}={value}': {reason}")]
    Invalid {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Everything the agent told the executor through its environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorEnv {
    /// `MESOS_FRAMEWORK_ID`: the executor's framework.
    pub framework_id: FrameworkId,
    /// `MESOS_EXECUTOR_ID`: the executor itself.
    pub executor_id: ExecutorId,
    /// `MESOS_SLAVE_ID`: the agent that launched it.
    pub agent_id: AgentId,
    /// `MESOS_SLAVE_PID`: the agent's pid, where registration goes.
    pub agent_pid: Pid,
    /// `MESOS_DIRECTORY`: the sandbox as the agent sees it.
    pub directory: PathBuf,
    /// `MESOS_SANDBOX`: the sandbox as the executor sees it (the directory when unset).
    pub sandbox: PathBuf,
    /// `MESOS_CHECKPOINT`: whether the framework checkpoints, so the executor survives an
    /// agent restart.
    pub checkpoint: bool,
    /// `MESOS_RECOVERY_TIMEOUT`: how long to wait for a restarted agent; required when
    /// checkpointing.
    pub recovery_timeout: Option<Duration>,
    /// `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`: time between the shutdown request and
    /// the executor's forced termination.
    pub shutdown_grace_period: Duration,
    /// `MESOS_AGENT_ENDPOINT`: the agent's `ip:port`, for HTTP executors.
    pub agent_endpoint: Option<SocketAddr>,
    /// `MESOS_SUBSCRIPTION_BACKOFF_MAX`: the cap on re-subscription backoff.
    pub subscription_backoff_max: Option<Duration>,
}

impl ExecutorEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `var`, which returns a variable's value if it is set.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let vars = Vars(&var);
        let directory = PathBuf::from(vars.required("MESOS_DIRECTORY")?);
        let checkpoint = vars
            .optional("MESOS_CHECKPOINT", parse_flag)?
            .unwrap_or(false);
        let recovery_timeout = vars.optional("MESOS_RECOVERY_TIMEOUT", parse_mesos_duration)?;
        if checkpoint && recovery_timeout.is_none() {
            return Err(EnvError::Missing {
                variable: "MESOS_RECOVERY_TIMEOUT",
            });
        }
        Ok(ExecutorEnv {
            framework_id: FrameworkId::new(vars.required("MESOS_FRAMEWORK_ID")?),
            executor_id: ExecutorId::new(vars.required("MESOS_EXECUTOR_ID")?),
            agent_id: AgentId::new(vars.required("MESOS_SLAVE_ID")?),
            agent_pid: vars.parsed("MESOS_SLAVE_PID", parse_display)?,
            sandbox: vars
                .optional("MESOS_SANDBOX", |v| Ok(PathBuf::from(v)))?
                .unwrap_or_else(|| directory.clone()),
            directory,
            checkpoint,
            recovery_timeout,
            shutdown_grace_period: vars
                .optional("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", parse_mesos_duration)?
                .unwrap_or(DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD),
            agent_endpoint: vars.optional("MESOS_AGENT_ENDPOINT", parse_display)?,
            subscription_backoff_max: vars
                .optional("MESOS_SUBSCRIPTION_BACKOFF_MAX", parse_mesos_duration)?,
        })
    }
}

/// The lookup, with the error handling every variable shares.
struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    fn required(&self, variable: &'static str) -> Result<String, EnvError> {
        (self.0)(variable).ok_or(EnvError::Missing { variable })
    }

    fn parsed<T>(
        &self,
        variable: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, EnvError> {
        let value = self.required(variable)?;
        parse(&value).map_err(|reason| EnvError::Invalid {
            variable,
            value,
            reason,
        })
    }

    fn optional<T>(
        &self,
        variable: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, EnvError> {
        match (self.0)(variable) {
            None => Ok(None),
            Some(_) => self.parsed(variable, parse).map(Some),
        }
    }
}

fn parse_flag(value: &str) -> Result<bool, String> {
    match value {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err("expected \"1\" or \"0\"".to_owned()),
    }
}

fn parse_mesos_duration(value: &str) -> Result<Duration, String> {
    parse_duration(value).map_err(|e| e.reason)
}

fn parse_display<T>(value: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e: T::Err| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn minimal() -> HashMap<&'static str, String> {
        [
            ("MESOS_FRAMEWORK_ID", "framework-1"),
            ("MESOS_EXECUTOR_ID", "executor-1"),
            ("MESOS_SLAVE_ID", "agent-1"),
            ("MESOS_SLAVE_PID", "slave(1)@127.0.0.1:5051"),
            ("MESOS_DIRECTORY", "/var/sandbox"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect()
    }

    fn parse(vars: &HashMap<&'static str, String>) -> Result<ExecutorEnv, EnvError> {
        ExecutorEnv::from_vars(|name| vars.get(name).cloned())
    }

    fn with(name: &'static str, value: &str) -> Result<ExecutorEnv, EnvError> {
        let mut vars = minimal();
        vars.insert(name, value.to_owned());
        parse(&vars)
    }

    #[test]
    fn the_minimal_environment_takes_mesos_defaults() {
        let env = parse(&minimal()).expect("parses");
        assert_eq!(env.framework_id, FrameworkId::new("framework-1"));
        assert_eq!(env.executor_id, ExecutorId::new("executor-1"));
        assert_eq!(env.agent_id, AgentId::new("agent-1"));
        assert_eq!(env.agent_pid.to_string(), "slave(1)@127.0.0.1:5051");
        assert_eq!(env.sandbox, PathBuf::from("/var/sandbox"));
        assert!(!env.checkpoint);
        assert_eq!(env.recovery_timeout, None);
        assert_eq!(env.shutdown_grace_period, Duration::from_secs(5));
        assert_eq!(env.agent_endpoint, None);
        assert_eq!(env.subscription_backoff_max, None);
    }

    #[test]
    fn every_optional_variable_is_read() {
        let mut vars = minimal();
        for (name, value) in [
            ("MESOS_SANDBOX", "/mnt/mesos/sandbox"),
            ("MESOS_CHECKPOINT", "1"),
            ("MESOS_RECOVERY_TIMEOUT", "15mins"),
            ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "500ms"),
            ("MESOS_AGENT_ENDPOINT", "10.0.0.1:5051"),
            ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs"),
        ] {
            vars.insert(name, value.to_owned());
        }
        let env = parse(&vars).expect("parses");
        assert_eq!(env.sandbox, PathBuf::from("/mnt/mesos/sandbox"));
        assert!(env.checkpoint);
        assert_eq!(env.recovery_timeout, Some(Duration::from_secs(900)));
        assert_eq!(env.shutdown_grace_period, Duration::from_millis(500));
        assert_eq!(
            env.agent_endpoint,
            Some(SocketAddr::from(([10, 0, 0, 1], 5051)))
        );
        assert_eq!(env.subscription_backoff_max, Some(Duration::from_secs(2)));
    }

    #[test]
    fn a_missing_required_variable_is_named() {
        for variable in [
            "MESOS_FRAMEWORK_ID",
            "MESOS_EXECUTOR_ID",
            "MESOS_SLAVE_ID",
            "MESOS_SLAVE_PID",
            "MESOS_DIRECTORY",
        ] {
            let mut vars = minimal();
            vars.remove(variable);
            assert_eq!(parse(&vars), Err(EnvError::Missing { variable }));
        }
    }

    #[test]
    fn checkpointing_requires_a_recovery_timeout() {
        assert_eq!(
            with("MESOS_CHECKPOINT", "1"),
            Err(EnvError::Missing {
                variable: "MESOS_RECOVERY_TIMEOUT"
            })
        );
        assert!(!with("MESOS_CHECKPOINT", "0").expect("parses").checkpoint);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (variable, value) in [
            ("MESOS_SLAVE_PID", "not-a-pid"),
            ("MESOS_CHECKPOINT", "yes"),
            ("MESOS_RECOVERY_TIMEOUT", "soon"),
            ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5"),
            ("MESOS_AGENT_ENDPOINT", "http://agent:5051"),
            ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "-1secs"),
        ] {
            match with(variable, value) {
                Err(EnvError::Invalid {
                    variable: named,
                    value: given,
                    ..
                }) => {
                    assert_eq!((named, given.as_str()), (variable, value));
                }
                other => panic!("{variable}={value} gave {other:?}"),
            }
        }
    }
}
