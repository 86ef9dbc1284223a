//! The agent's flags, spelled as Mesos spells them, each also read from
//! `MESOS_<NAME>`. Durations use Mesos's syntax (`15secs`).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Serialize;

fn duration(text: &str) -> Result<Duration, String> {
    mesos_proto::duration::parse_duration(text).map_err(|e| e.to_string())
}

/// `--gc_disk_headroom`: a fraction of the disk, so it must lie in [0, 1].
fn fraction(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0 and 1"))
    }
}

fn serialize_duration<S: serde::Serializer>(
    value: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&mesos_proto::duration::format_duration(*value))
}

/// How a restarted agent treats the executors it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recover {
    /// Reconnect to live executors.
    Reconnect,
    /// Shut every executor down, then exit.
    Cleanup,
}

/// The agent's configuration.
#[derive(Debug, Clone, Parser, Serialize)]
#[command(name = "mesos-agent", version = mesos_proto::MESOS_VERSION, about = "The Mesos agent", rename_all = "snake_case")]
pub struct Flags {
    /// The master: `host:port`, `master@host:port` (`zk://` comes with high availability).
    #[arg(long, env = "MESOS_MASTER")]
    pub master: String,
    /// Where the agent keeps sandboxes and checkpoints.
    #[arg(long, env = "MESOS_WORK_DIR")]
    pub work_dir: PathBuf,
    /// The IP to listen on.
    #[arg(long, env = "MESOS_IP")]
    pub ip: Option<IpAddr>,
    /// The port to listen on.
    #[arg(long, env = "MESOS_PORT", default_value_t = 5051)]
    pub port: u16,
    /// The IP to advertise, when it differs.
    #[arg(long, env = "MESOS_ADVERTISE_IP")]
    pub advertise_ip: Option<IpAddr>,
    /// The port to advertise, when it differs.
    #[arg(long, env = "MESOS_ADVERTISE_PORT")]
    pub advertise_port: Option<u16>,
    /// The host name to report; the IP when unset.
    #[arg(long, env = "MESOS_HOSTNAME")]
    pub hostname: Option<String>,
    /// The resources to offer (`cpus:4;mem:4096;ports:[31000-32000]` or JSON); what
    /// is not named is measured.
    #[arg(long, env = "MESOS_RESOURCES")]
    pub resources: Option<String>,
    /// Attributes (`rack:r1;zone:west`).
    #[arg(long, env = "MESOS_ATTRIBUTES")]
    pub attributes: Option<String>,
    /// The role of resources that name none.
    #[arg(long, env = "MESOS_DEFAULT_ROLE", default_value = "*")]
    pub default_role: String,
    /// The first registration retry waits a random time up to this, doubling up to a minute.
    #[arg(long, env = "MESOS_REGISTRATION_BACKOFF_FACTOR", default_value = "1secs", value_parser = duration)]
    #[serde(serialize_with = "serialize_duration")]
    pub registration_backoff_factor: Duration,
    /// How long an executor has to register.
    #[arg(long, env = "MESOS_EXECUTOR_REGISTRATION_TIMEOUT", default_value = "1mins", value_parser = duration)]
    #[serde(serialize_with = "serialize_duration")]
    pub executor_registration_timeout: Duration,
    /// How long an executor has to shut down before it is killed.
    #[arg(long, env = "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", default_value = "5secs", value_parser = duration)]
    #[serde(serialize_with = "serialize_duration")]
    pub executor_shutdown_grace_period: Duration,
    /// What a restarted agent does with the executors it finds.
    #[arg(long, env = "MESOS_RECOVER", value_enum, default_value = "reconnect")]
    pub recover: Recover,
    /// Whether any recovery error is fatal.
    #[arg(long, env = "MESOS_STRICT", default_value_t = true, action = clap::ArgAction::Set)]
    pub strict: bool,
    /// How long recovered executors have to re-register before they are destroyed.
    #[arg(long, env = "MESOS_EXECUTOR_REREGISTRATION_TIMEOUT", default_value = "2secs", value_parser = duration)]
    #[serde(serialize_with = "serialize_duration")]
    pub executor_reregistration_timeout: Duration,
    /// How long a checkpointing executor waits for a restarted agent before it exits.
    #[arg(long, env = "MESOS_RECOVERY_TIMEOUT", default_value = "15mins", value_parser = duration)]
    #[serde(serialize_with = "serialize_duration")]
    pub recovery_timeout: Duration,
    /// Where `mesos-executor` is; the directory of this binary when unset.
    #[arg(long, env = "MESOS_LAUNCHER_DIR")]
    pub launcher_dir: Option<PathBuf>,
    /// How long a finished executor's or framework's sandbox is kept before the
    /// garbage collector removes it; less when the disk fills up.
    #[arg(long, env = "MESOS_GC_DELAY", default_value = "1weeks", value_parser = duration)]
    #[serde(serialize_with = "serialize_duration")]
    pub gc_delay: Duration,
    /// The fraction of the disk to keep free: sandboxes are removed earlier the
    /// closer usage gets to `1 - gc_disk_headroom`.
    #[arg(long, env = "MESOS_GC_DISK_HEADROOM", default_value = "0.1", value_parser = fraction)]
    pub gc_disk_headroom: f64,
    /// How often the disk usage of `--work_dir` is checked, to prune sandboxes early.
    #[arg(long, env = "MESOS_DISK_WATCH_INTERVAL", default_value = "1mins", value_parser = duration)]
    #[serde(serialize_with = "serialize_duration")]
    pub disk_watch_interval: Duration,
    /// Which containerizers to use; only `mesos` exists.
    #[arg(long, env = "MESOS_CONTAINERIZERS", default_value = "mesos")]
    pub containerizers: String,
    /// The isolators, comma-separated: `posix/cpu`, `posix/mem`, `cgroups/cpu`,
    /// `cgroups/mem`, `namespaces/pid`, `filesystem/linux`, `filesystem/posix`.
    #[arg(long, env = "MESOS_ISOLATION", default_value = "posix/cpu,posix/mem")]
    pub isolation: String,
    /// Where the cgroup hierarchies are mounted.
    #[arg(
        long,
        env = "MESOS_CGROUPS_HIERARCHY",
        default_value = "/sys/fs/cgroup"
    )]
    pub cgroups_hierarchy: PathBuf,
    /// The cgroup, in each hierarchy, under which containers get theirs.
    #[arg(long, env = "MESOS_CGROUPS_ROOT", default_value = "mesos")]
    pub cgroups_root: String,
    /// Cap each container's CPU time with a CFS quota, not only weigh it with shares.
    #[arg(long, env = "MESOS_CGROUPS_ENABLE_CFS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub cgroups_enable_cfs: bool,
    /// Log nothing to stderr.
    #[arg(long, env = "MESOS_QUIET", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub quiet: bool,
}

impl Flags {
    /// The directory holding `mesos-executor`.
    pub fn launcher_dir(&self) -> PathBuf {
        self.launcher_dir.clone().unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(PathBuf::from))
                .unwrap_or_default()
        })
    }

    /// `/flags`: every flag as a string, `{"flags": {...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut flags = serde_json::Map::new();
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(self) {
            for (name, value) in fields {
                let text = match value {
                    serde_json::Value::Null => continue,
                    serde_json::Value::String(text) => text,
                    other => other.to_string(),
                };
                flags.insert(name, serde_json::Value::from(text));
            }
        }
        serde_json::json!({ "flags": flags })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mesos_spellings_and_durations_parse() {
        let flags = Flags::try_parse_from([
            "mesos-agent",
            "--master=127.0.0.1:5050",
            "--work_dir=/tmp/agent",
            "--registration_backoff_factor=500ms",
            "--strict=false",
        ])
        .unwrap();
        assert_eq!(
            flags.registration_backoff_factor,
            Duration::from_millis(500)
        );
        assert_eq!(flags.port, 5051);
        assert!(!flags.strict);
        assert_eq!(
            flags.to_json()["flags"]["registration_backoff_factor"],
            "500ms"
        );
        assert_eq!(flags.to_json()["flags"]["recover"], "reconnect");
        assert_eq!(flags.to_json()["flags"]["isolation"], "posix/cpu,posix/mem");
        assert_eq!(
            flags.to_json()["flags"]["cgroups_hierarchy"],
            "/sys/fs/cgroup"
        );
        assert_eq!(flags.to_json()["flags"]["cgroups_root"], "mesos");
        assert_eq!(flags.to_json()["flags"]["cgroups_enable_cfs"], "false");
        assert_eq!(flags.to_json()["flags"]["containerizers"], "mesos");
    }

    #[test]
    fn garbage_collection_flags_have_mesos_defaults_and_show_in_json() {
        let flags =
            Flags::try_parse_from(["mesos-agent", "--master=m:1", "--work_dir=/w"]).unwrap();
        assert_eq!(flags.gc_delay, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(flags.gc_disk_headroom, 0.1);
        assert_eq!(flags.disk_watch_interval, Duration::from_secs(60));
        let json = flags.to_json();
        assert_eq!(json["flags"]["gc_delay"], "1weeks");
        assert_eq!(json["flags"]["gc_disk_headroom"], "0.1");
        assert_eq!(json["flags"]["disk_watch_interval"], "1mins");
        let flags = Flags::try_parse_from([
            "mesos-agent",
            "--master=m:1",
            "--work_dir=/w",
            "--gc_delay=2days",
            "--gc_disk_headroom=1",
        ])
        .unwrap();
        assert_eq!(flags.gc_delay, Duration::from_secs(2 * 24 * 3600));
        assert_eq!(flags.gc_disk_headroom, 1.0);
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            "--registration_backoff_factor=15",
            "--port=70000",
            "--recover=maybe",
            "--gc_delay=7",
            "--gc_disk_headroom=1.5",
            "--gc_disk_headroom=-0.1",
            "--gc_disk_headroom=NaN",
            "--disk_watch_interval=often",
        ] {
            let args = ["mesos-agent", "--master=m:1", "--work_dir=/w", bad];
            assert!(Flags::try_parse_from(args).is_err(), "{bad}");
        }
        assert!(
            Flags::try_parse_from(["mesos-agent", "--work_dir=/w"]).is_err(),
            "--master is required"
        );
    }
}
