//! The master's command-line flags, spelled and loaded as Mesos loads them (stout
//! `FlagsBase::load`): `--name=value` on the command line, or `MESOS_<NAME>` in the
//! environment, the command line winning. Booleans also take the bare `--name` and
//! `--no-name` forms; names are lower-cased; everything after a lone `--` is ignored;
//! an unknown flag is an error. Durations use Mesos's syntax (`15secs`, see
//! [`duration`]). Every default comes from [`crate::constants`].
//!
//! `Flags::parse_from_env_and_args` loads and validates; `Flags::to_json` is the body
//! of `/master/flags`.

pub mod duration;
#[cfg(test)]
mod tests;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{ColorChoice, Command, CommandFactory, FromArgMatches, Parser, ValueEnum};
use serde::{Serialize, Serializer};

use crate::constants::{
    DEFAULT_AGENT_PING_TIMEOUT, DEFAULT_AGENT_REREGISTER_TIMEOUT, DEFAULT_ALLOCATION_INTERVAL,
    DEFAULT_MAX_AGENT_PING_TIMEOUTS, DEFAULT_MAX_COMPLETED_FRAMEWORKS,
    DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK, DEFAULT_MAX_UNREACHABLE_TASKS_PER_FRAMEWORK,
    DEFAULT_MIN_ALLOCATABLE_RESOURCES, DEFAULT_PORT, DEFAULT_REGISTRY_GC_INTERVAL,
    DEFAULT_REGISTRY_MAX_AGENT_AGE, DEFAULT_REGISTRY_MAX_AGENT_COUNT, DEFAULT_ZK_SESSION_TIMEOUT,
    MESOS_VERSION, MIN_AGENT_REREGISTER_TIMEOUT,
};
pub use duration::{format_duration, parse_duration};
use values::{parse_bool, parse_resource_quantity_sets, parse_zk, tokenize};

/// Why the flags could not be loaded, or that the caller asked for help or the version
/// instead. A binary prints `Help` and `Version` to stdout and exits 0, and prints any
/// other error to stderr and exits 1, as Mesos does (see [`FlagError::exit_code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// `--help` was given: this is the usage text.
    #[error("{0}")]
    Help(String),
    /// `--version` was given: this is the version line (`mesos 1.11.0`).
    #[error("{0}")]
    Version(String),
    /// A flag is unknown, malformed, given twice, or its value does not parse; the
    /// message names the flag and the value.
    #[error("{0}")]
    Parse(String),
    /// A duration does not follow Mesos's syntax.
    #[error("invalid duration '{value}': {reason}")]
    InvalidDuration {
        /// The text given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A flag parsed but its value is not acceptable.
    #[error("invalid value '{value}' for --{flag}: {reason}")]
    InvalidValue {
        /// The flag's name.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A flag that the other flags make necessary is not set.
    #[error("--{flag} is required {reason}")]
    Missing {
        /// The flag's name.
        flag: &'static str,
        /// When it is required.
        reason: &'static str,
    },
}

impl FlagError {
    /// The process exit code for this outcome: 0 for help and version, 1 otherwise
    /// (Mesos exits 1 on a bad flag, where clap alone would exit 2).
    pub fn exit_code(&self) -> i32 {
        match self {
            FlagError::Help(_) | FlagError::Version(_) => 0,
            _ => 1,
        }
    }

    /// `--work_dir` is unset while the registry is to be kept under it.
    pub(crate) fn missing_work_dir() -> FlagError {
        FlagError::Missing {
            flag: "work_dir",
            reason: "for the replicated_log registry (or use --registry=in_memory)",
        }
    }

    fn from_clap(error: clap::Error) -> FlagError {
        match error.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                FlagError::Help(error.to_string())
            }
            ErrorKind::DisplayVersion => FlagError::Version(format!("mesos {MESOS_VERSION}")),
            _ => FlagError::Parse(error.to_string().trim_end().to_owned()),
        }
    }
}

/// Where the registry is kept (`--registry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum RegistryBackend {
    /// In memory only, lost when the master stops: for tests.
    InMemory,
    /// Durable, under `--work_dir`. Mesos keeps a replicated log there; this master
    /// keeps one atomically written file, and ZooKeeper when `--zk` is set.
    ReplicatedLog,
}

/// The least severe log lines printed (`--logging_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LoggingLevel {
    /// Everything from informational lines up.
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
}

impl From<LoggingLevel> for tracing::Level {
    fn from(level: LoggingLevel) -> tracing::Level {
        match level {
            LoggingLevel::Info => tracing::Level::INFO,
            LoggingLevel::Warning => tracing::Level::WARN,
            LoggingLevel::Error => tracing::Level::ERROR,
        }
    }
}

/// The master's flags. Each field is one flag of the same name (`--work_dir`), also read
/// from `MESOS_<NAME>` (`MESOS_WORK_DIR`).
///
/// `Flags::default()` holds Mesos's defaults; note that it is not valid as it stands,
/// because the default `--registry=replicated_log` needs a `--work_dir`.
#[derive(Debug, Clone, PartialEq, Parser, Serialize)]
#[command(
    name = "mesos-master",
    version = MESOS_VERSION,
    about = "The Mesos master: offers agents' resources to frameworks and tracks their tasks.",
    long_about = None,
    rename_all = "snake_case"
)]
pub struct Flags {
    /// IP address to listen on; the loopback address when unset.
    #[arg(long, env = "MESOS_IP")]
    pub ip: Option<IpAddr>,

    /// Port to listen on.
    #[arg(long, env = "MESOS_PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,

    /// IP address advertised to reach the master, when it differs from `--ip` (NAT).
    #[arg(long, env = "MESOS_ADVERTISE_IP")]
    pub advertise_ip: Option<IpAddr>,

    /// Port advertised to reach the master, when it differs from `--port`.
    #[arg(long, env = "MESOS_ADVERTISE_PORT")]
    pub advertise_port: Option<u16>,

    /// Host name the master advertises; looked up from the IP when unset.
    #[arg(long, env = "MESOS_HOSTNAME")]
    pub hostname: Option<String>,

    /// Whether to look the host name up when `--hostname` is unset; if false, the IP
    /// address is advertised instead.
    #[arg(long, env = "MESOS_HOSTNAME_LOOKUP", default_value = "true", value_parser = parse_bool)]
    pub hostname_lookup: bool,

    /// Directory of the master's persistent state (the registry), e.g.
    /// `/var/lib/mesos/master`. Required with `--registry=replicated_log`.
    #[arg(long, env = "MESOS_WORK_DIR")]
    #[serde(serialize_with = "serialize_optional_path")]
    pub work_dir: Option<PathBuf>,

    /// Where the registry is kept: `replicated_log` (durable, under `--work_dir`) or
    /// `in_memory` (for testing).
    #[arg(long, env = "MESOS_REGISTRY", value_enum, default_value_t = RegistryBackend::ReplicatedLog)]
    pub registry: RegistryBackend,

    /// How often unreachable and gone agents are pruned from the registry.
    #[arg(long, env = "MESOS_REGISTRY_GC_INTERVAL", default_value = "15mins", value_parser = parse_duration)]
    #[serde(serialize_with = "serialize_duration")]
    pub registry_gc_interval: Duration,

    /// Unreachable and gone agents older than this are pruned from the registry.
    #[arg(long, env = "MESOS_REGISTRY_MAX_AGENT_AGE", default_value = "2weeks", value_parser = parse_duration)]
    #[serde(serialize_with = "serialize_duration")]
    pub registry_max_agent_age: Duration,

    /// At most this many unreachable (and as many gone) agents are kept in the
    /// registry; the oldest are pruned first.
    #[arg(long, env = "MESOS_REGISTRY_MAX_AGENT_COUNT", default_value_t = DEFAULT_REGISTRY_MAX_AGENT_COUNT)]
    pub registry_max_agent_count: usize,

    /// ZooKeeper URL for leader election and the registry:
    /// `zk://host1:port1,host2:port2,.../path`, `zk://user:pass@host:port/path`, or
    /// `file:///path/to/file` holding one.
    #[arg(long, env = "MESOS_ZK", value_parser = parse_zk)]
    pub zk: Option<String>,

    /// ZooKeeper session timeout.
    #[arg(long, env = "MESOS_ZK_SESSION_TIMEOUT", default_value = "10secs", value_parser = parse_duration)]
    #[serde(serialize_with = "serialize_duration")]
    pub zk_session_timeout: Duration,

    /// Size of the masters' quorum: a majority of the masters (quorum > masters / 2).
    /// Required with `--zk`.
    #[arg(long, env = "MESOS_QUORUM", value_parser = clap::value_parser!(u32).range(1..))]
    pub quorum: Option<u32>,

    /// How often the master pings each agent, and how long each ping may go unanswered.
    #[arg(
        long,
        env = "MESOS_AGENT_PING_TIMEOUT",
        alias = "slave_ping_timeout",
        default_value = "15secs",
        value_parser = parse_duration
    )]
    #[serde(serialize_with = "serialize_duration")]
    pub agent_ping_timeout: Duration,

    /// Consecutive unanswered pings after which an agent is marked unreachable.
    #[arg(
        long,
        env = "MESOS_MAX_AGENT_PING_TIMEOUTS",
        alias = "max_slave_ping_timeouts",
        default_value_t = DEFAULT_MAX_AGENT_PING_TIMEOUTS,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_agent_ping_timeouts: u32,

    /// How long agents have to reregister after a master failover; those that do not
    /// are marked unreachable. At least 10mins.
    #[arg(
        long,
        env = "MESOS_AGENT_REREGISTER_TIMEOUT",
        alias = "slave_reregister_timeout",
        default_value = "10mins",
        value_parser = parse_duration
    )]
    #[serde(serialize_with = "serialize_duration")]
    pub agent_reregister_timeout: Duration,

    /// Time between two batch allocations (e.g. `500ms`, `1secs`).
    #[arg(long, env = "MESOS_ALLOCATION_INTERVAL", default_value = "1secs", value_parser = parse_duration)]
    #[serde(serialize_with = "serialize_duration")]
    pub allocation_interval: Duration,

    /// How long an offer may stay outstanding before it is rescinded; offers do not
    /// time out when unset.
    #[arg(long, env = "MESOS_OFFER_TIMEOUT", value_parser = parse_duration)]
    #[serde(serialize_with = "serialize_optional_duration")]
    pub offer_timeout: Option<Duration>,

    /// Comma-separated whitelist of the roles frameworks may use (deprecated in Mesos);
    /// any role is allowed when unset. `*` is always allowed.
    #[arg(long, env = "MESOS_ROLES")]
    pub roles: Option<String>,

    /// Comma-separated `role=weight` pairs (deprecated in Mesos in favour of the
    /// `/weights` endpoint).
    #[arg(long, env = "MESOS_WEIGHTS")]
    pub weights: Option<String>,

    /// Comma-separated resource names left out of fair sharing (e.g. `gpus`).
    #[arg(long, env = "MESOS_FAIR_SHARING_EXCLUDED_RESOURCE_NAMES")]
    pub fair_sharing_excluded_resource_names: Option<String>,

    /// Offer only resources holding at least one of these `|`-separated sets of
    /// `name:quantity` pairs joined by `;` (e.g. `cpus:0.01|mem:32`).
    #[arg(long, env = "MESOS_MIN_ALLOCATABLE_RESOURCES", default_value = DEFAULT_MIN_ALLOCATABLE_RESOURCES)]
    pub min_allocatable_resources: String,

    /// Completed frameworks kept in memory for the endpoints.
    #[arg(long, env = "MESOS_MAX_COMPLETED_FRAMEWORKS", default_value_t = DEFAULT_MAX_COMPLETED_FRAMEWORKS)]
    pub max_completed_frameworks: usize,

    /// Completed tasks kept in memory per framework.
    #[arg(
        long,
        env = "MESOS_MAX_COMPLETED_TASKS_PER_FRAMEWORK",
        default_value_t = DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK
    )]
    pub max_completed_tasks_per_framework: usize,

    /// Unreachable tasks kept in memory per framework.
    #[arg(
        long,
        env = "MESOS_MAX_UNREACHABLE_TASKS_PER_FRAMEWORK",
        default_value_t = DEFAULT_MAX_UNREACHABLE_TASKS_PER_FRAMEWORK
    )]
    pub max_unreachable_tasks_per_framework: usize,

    /// Human-readable name of the cluster, shown in the web UI.
    #[arg(long, env = "MESOS_CLUSTER")]
    pub cluster: Option<String>,

    /// Disable logging to stderr.
    #[arg(long, env = "MESOS_QUIET", default_value = "false", value_parser = parse_bool)]
    pub quiet: bool,

    /// Log lines at this level and above: `INFO`, `WARNING` or `ERROR`.
    #[arg(long, env = "MESOS_LOGGING_LEVEL", value_enum, default_value_t = LoggingLevel::Info)]
    pub logging_level: LoggingLevel,
}

impl Default for Flags {
    fn default() -> Self {
        Flags {
            ip: None,
            port: DEFAULT_PORT,
            advertise_ip: None,
            advertise_port: None,
            hostname: None,
            hostname_lookup: true,
            work_dir: None,
            registry: RegistryBackend::ReplicatedLog,
            registry_gc_interval: DEFAULT_REGISTRY_GC_INTERVAL,
            registry_max_agent_age: DEFAULT_REGISTRY_MAX_AGENT_AGE,
            registry_max_agent_count: DEFAULT_REGISTRY_MAX_AGENT_COUNT,
            zk: None,
            zk_session_timeout: DEFAULT_ZK_SESSION_TIMEOUT,
            quorum: None,
            agent_ping_timeout: DEFAULT_AGENT_PING_TIMEOUT,
            max_agent_ping_timeouts: DEFAULT_MAX_AGENT_PING_TIMEOUTS,
            agent_reregister_timeout: DEFAULT_AGENT_REREGISTER_TIMEOUT,
            allocation_interval: DEFAULT_ALLOCATION_INTERVAL,
            offer_timeout: None,
            roles: None,
            weights: None,
            fair_sharing_excluded_resource_names: None,
            min_allocatable_resources: DEFAULT_MIN_ALLOCATABLE_RESOURCES.to_owned(),
            max_completed_frameworks: DEFAULT_MAX_COMPLETED_FRAMEWORKS,
            max_completed_tasks_per_framework: DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK,
            max_unreachable_tasks_per_framework: DEFAULT_MAX_UNREACHABLE_TASKS_PER_FRAMEWORK,
            cluster: None,
            quiet: false,
            logging_level: LoggingLevel::Info,
        }
    }
}

impl Flags {
    /// Loads the flags from `MESOS_*` variables and the command line `args` (program
    /// name first, as `std::env::args_os()` gives it), then validates them. `--help`
    /// and `--version` come back as `FlagError::Help` and `FlagError::Version`; nothing
    /// here prints or exits.
    pub fn parse_from_env_and_args<I, T>(args: I) -> Result<Flags, FlagError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let command = command();
        let args = normalize_args(&command, args.into_iter().map(Into::into))?;
        let matches = command
            .try_get_matches_from(args)
            .map_err(FlagError::from_clap)?;
        let flags = Flags::from_arg_matches(&matches).map_err(FlagError::from_clap)?;
        flags.validate()?;
        Ok(flags)
    }

    /// Checks what a single flag's parser cannot: the rules between flags and the
    /// ranges Mesos enforces when the master starts.
    pub fn validate(&self) -> Result<(), FlagError> {
        self.check_registry()?;
        self.check_durations()?;
        self.check_roles()?;
        self.min_allocatable_quantities()?;
        Ok(())
    }

    /// The roles frameworks may use, `*` included, when `--roles` is set.
    pub fn role_whitelist(&self) -> Option<BTreeSet<String>> {
        let roles = self.roles.as_deref()?;
        let mut whitelist: BTreeSet<String> = tokenize(roles).map(str::to_owned).collect();
        whitelist.insert(mesos_proto::roles::DEFAULT_ROLE.to_owned());
        Some(whitelist)
    }

    /// The resource names left out of fair sharing (`--fair_sharing_excluded_resource_names`).
    pub fn fair_sharing_excluded_resources(&self) -> BTreeSet<String> {
        self.fair_sharing_excluded_resource_names
            .as_deref()
            .map(|names| tokenize(names).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// The quantity sets of `--min_allocatable_resources`, each a map from resource
    /// name to quantity (`[{cpus: 0.01}, {mem: 32}]` by default).
    pub fn min_allocatable_quantities(&self) -> Result<Vec<BTreeMap<String, f64>>, FlagError> {
        parse_resource_quantity_sets(&self.min_allocatable_resources).map_err(|error| {
            FlagError::InvalidValue {
                flag: "min_allocatable_resources",
                value: self.min_allocatable_resources.clone(),
                reason: error.to_string(),
            }
        })
    }

    /// The body of `/master/flags`: `{"flags": {"<name>": "<value>", ...}}`, every
    /// value as a string written as the flag would take it. Unset optional flags are
    /// left out, as Mesos leaves them out.
    pub fn to_json(&self) -> serde_json::Value {
        let fields = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(fields)) => fields,
            // Every field serializes to a string, a number, a boolean or null.
            _ => unreachable!("Flags serialize to a JSON object"),
        };
        let flags: serde_json::Map<String, serde_json::Value> = fields
            .into_iter()
            .filter_map(|(name, value)| Some((name, stringify(value)?.into())))
            .collect();
        serde_json::json!({ "flags": flags })
    }

    /// The registry's needs: a work dir for the replicated log, and a quorum too when
    /// masters elect a leader through ZooKeeper.
    fn check_registry(&self) -> Result<(), FlagError> {
        if let Some(work_dir) = &self.work_dir {
            if work_dir.as_os_str().is_empty() {
                return Err(FlagError::InvalidValue {
                    flag: "work_dir",
                    value: String::new(),
                    reason: "must not be empty".into(),
                });
            }
        }
        if self.registry != RegistryBackend::ReplicatedLog {
            return Ok(());
        }
        if self.work_dir.is_none() {
            return Err(FlagError::missing_work_dir());
        }
        if self.zk.is_some() && self.quorum.is_none() {
            return Err(FlagError::Missing {
                flag: "quorum",
                reason: "for the replicated_log registry when using ZooKeeper (--zk)",
            });
        }
        Ok(())
    }

    fn check_durations(&self) -> Result<(), FlagError> {
        // Agents bound their registration retries by this minimum.
        check_at_least(
            "agent_reregister_timeout",
            self.agent_reregister_timeout,
            MIN_AGENT_REREGISTER_TIMEOUT,
        )?;
        // A zero period would make the ping and allocation timers spin.
        check_positive("agent_ping_timeout", self.agent_ping_timeout)?;
        check_positive("allocation_interval", self.allocation_interval)?;
        match self.offer_timeout {
            Some(offer_timeout) => check_positive("offer_timeout", offer_timeout),
            None => Ok(()),
        }
    }

    fn check_roles(&self) -> Result<(), FlagError> {
        let Some(roles) = self.roles.as_deref() else {
            return Ok(());
        };
        for role in tokenize(roles) {
            mesos_proto::roles::validate(role).map_err(|error| FlagError::InvalidValue {
                flag: "roles",
                value: roles.to_owned(),
                reason: error.to_string(),
            })?;
        }
        Ok(())
    }
}

/// The clap command: every argument takes its value as `--name=value` only, as stout
/// does, and messages carry no terminal colours.
fn command() -> Command {
    <Flags as CommandFactory>::command()
        .color(ColorChoice::Never)
        .mut_args(|arg| {
            let arg = arg.require_equals(true);
            // Only booleans may be given bare: `--quiet` means `--quiet=true`.
            if is_boolean(&arg) {
                arg.num_args(0..=1).default_missing_value("true")
            } else {
                arg
            }
        })
}

fn is_boolean(arg: &clap::Arg) -> bool {
    arg.get_value_parser().type_id() == clap::value_parser!(bool).type_id()
}

/// Rewrites the command line into what clap reads: names lower-cased, `--no-<flag>` of
/// a boolean as `--<flag>=false`, and nothing after a lone `--`.
fn normalize_args(
    command: &Command,
    args: impl Iterator<Item = OsString>,
) -> Result<Vec<OsString>, FlagError> {
    let mut normalized = Vec::new();
    for (index, arg) in args.enumerate() {
        let text = match arg.to_str() {
            // The program name, and anything not UTF-8, which clap reports.
            Some(text) if index > 0 => text,
            _ => {
                normalized.push(arg);
                continue;
            }
        };
        if text == "--" {
            break;
        }
        normalized.push(normalize_flag(command, text)?.into());
    }
    Ok(normalized)
}

fn normalize_flag(command: &Command, text: &str) -> Result<String, FlagError> {
    let Some(flag) = text.strip_prefix("--") else {
        return Ok(text.to_owned());
    };
    let (name, value) = match flag.split_once('=') {
        Some((name, value)) => (name.to_ascii_lowercase(), Some(value)),
        None => (flag.to_ascii_lowercase(), None),
    };
    let negated = name.strip_prefix("no-").filter(|rest| {
        command
            .get_arguments()
            .any(|arg| arg.get_long() == Some(rest) && is_boolean(arg))
    });
    match (negated, value) {
        (Some(flag), None) => Ok(format!("--{flag}=false")),
        (Some(flag), Some(value)) => Err(FlagError::Parse(format!(
            "error: '--no-{flag}={value}': a negated boolean flag takes no value"
        ))),
        (None, Some(value)) => Ok(format!("--{name}={value}")),
        (None, None) => Ok(format!("--{name}")),
    }
}

fn check_at_least(flag: &'static str, value: Duration, minimum: Duration) -> Result<(), FlagError> {
    if value >= minimum {
        return Ok(());
    }
    Err(FlagError::InvalidValue {
        flag,
        value: format_duration(value),
        reason: format!("must be at least {}", format_duration(minimum)),
    })
}

fn check_positive(flag: &'static str, value: Duration) -> Result<(), FlagError> {
    if !value.is_zero() {
        return Ok(());
    }
    Err(FlagError::InvalidValue {
        flag,
        value: format_duration(value),
        reason: "must be greater than zero".into(),
    })
}

/// A flag's JSON value as the string Mesos shows; `None` for an unset flag.
fn stringify(value: serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text),
        other => Some(other.to_string()),
    }
}

fn serialize_duration<S: Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_duration(*duration))
}

fn serialize_optional_duration<S: Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => serialize_duration(duration, serializer),
        None => serializer.serialize_none(),
    }
}

/// Paths need not be UTF-8; `/master/flags` shows them lossily rather than failing.
fn serialize_optional_path<S: Serializer>(
    path: &Option<PathBuf>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match path.as_deref().map(Path::to_string_lossy) {
        Some(path) => serializer.serialize_str(&path),
        None => serializer.serialize_none(),
    }
}
