//! What an agent offers: `--resources` as given, completed with what the machine has
//! (Mesos's `Containerizer::resources`): CPUs, memory less a reserve for the system,
//! the disk of `--work_dir` less a reserve, and the default ports.

use std::path::Path;

use mesos_proto::{Resources, ResourcesError};

/// Memory kept for the system: 1 GiB when the machine has at least 2 GiB, else half.
const MEMORY_RESERVE_MB: f64 = 1024.0;
/// Disk kept for the system: 5 GiB when the disk has at least 10 GiB, else half.
const DISK_RESERVE_MB: f64 = 5.0 * 1024.0;
/// The ports offered when `--resources` names none.
pub const DEFAULT_PORTS: &str = "[31000-32000]";

/// What the machine has, as measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Machine {
    /// Online CPUs.
    pub cpus: f64,
    /// Total memory, MB.
    pub mem_mb: f64,
    /// Size of the filesystem holding the work dir, MB.
    pub disk_mb: f64,
}

impl Machine {
    /// Measures this machine; each figure falls back to Mesos's default when it cannot
    /// be read (1 CPU, 1 GiB, 10 GiB), with a warning.
    pub fn detect(work_dir: &Path) -> Machine {
        let cpus = std::thread::available_parallelism().map_or_else(
            |error| {
                tracing::warn!(%error, "Could not count CPUs; assuming 1");
                1.0
            },
            |n| n.get() as f64,
        );
        let mem_mb = procfs::Meminfo::current_with_default().map_or_else(
            |error| {
                tracing::warn!(%error, "Could not read /proc/meminfo; assuming 1 GiB");
                1024.0
            },
            |info| (info.mem_total / (1024 * 1024)) as f64,
        );
        let disk_mb = nix::sys::statvfs::statvfs(work_dir).map_or_else(
            |error| {
                tracing::warn!(%error, path = %work_dir.display(), "Could not measure the work dir's disk; assuming 10 GiB");
                10.0 * 1024.0
            },
            |stat| (stat.blocks() as f64 * stat.fragment_size() as f64) / (1024.0 * 1024.0),
        );
        Machine {
            cpus,
            mem_mb,
            disk_mb,
        }
    }
}

trait CurrentWithDefault: Sized {
    fn current_with_default() -> Result<Self, procfs::ProcError>;
}

impl CurrentWithDefault for procfs::Meminfo {
    fn current_with_default() -> Result<Self, procfs::ProcError> {
        use procfs::Current;
        procfs::Meminfo::current()
    }
}

/// The agent's resources: `--resources` (text or JSON; unnamed roles are
/// `default_role`), completed with `cpus`, `mem`, `disk` and `ports` from the machine
/// where it names none.
pub fn agent_resources(
    given: Option<&str>,
    default_role: &str,
    machine: Machine,
) -> Result<Resources, ResourcesError> {
    let mut resources = match given {
        Some(text) if !text.trim().is_empty() => Resources::parse(text, default_role)?,
        _ => Resources::new(),
    };
    let missing = |name: &str, resources: &Resources| resources.iter().all(|r| r.name != name);
    let usable = |total: f64, reserve: f64| {
        if total >= 2.0 * reserve {
            total - reserve
        } else {
            total / 2.0
        }
    };
    let detected = [
        ("cpus", format!("{}", machine.cpus)),
        (
            "mem",
            format!("{:.0}", usable(machine.mem_mb, MEMORY_RESERVE_MB).floor()),
        ),
        (
            "disk",
            format!("{:.0}", usable(machine.disk_mb, DISK_RESERVE_MB).floor()),
        ),
        ("ports", DEFAULT_PORTS.to_owned()),
    ];
    for (name, value) in detected {
        if missing(name, &resources) {
            resources += Resources::parse(&format!("{name}:{value}"), default_role)?;
        }
    }
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MACHINE: Machine = Machine {
        cpus: 8.0,
        mem_mb: 16384.0,
        disk_mb: 102_400.0,
    };

    #[test]
    fn detected_resources_fill_in_what_is_not_given() {
        let resources = agent_resources(None, "*", MACHINE).unwrap();
        assert_eq!(resources.cpus(), Some(8.0));
        assert_eq!(resources.mem(), Some(16384.0 - 1024.0));
        assert_eq!(resources.disk(), Some(102_400.0 - 5120.0));
        assert_eq!(
            resources.ports().map(|p| p.to_string()),
            Some("[31000-32000]".to_owned())
        );
    }

    #[test]
    fn given_resources_win_and_small_machines_keep_half() {
        let small = Machine {
            cpus: 1.0,
            mem_mb: 1000.0,
            disk_mb: 4000.0,
        };
        let resources = agent_resources(Some("cpus:2;ports:[5000-5001]"), "*", small).unwrap();
        assert_eq!(resources.cpus(), Some(2.0));
        assert_eq!(resources.mem(), Some(500.0));
        assert_eq!(resources.disk(), Some(2000.0));
        assert_eq!(
            resources.ports().map(|p| p.to_string()),
            Some("[5000-5001]".to_owned())
        );
    }

    #[test]
    fn the_default_role_applies_and_bad_text_is_an_error() {
        let resources = agent_resources(Some("cpus:1"), "ops", MACHINE).unwrap();
        assert!(resources
            .iter()
            .all(|r| r.reservation_role() == Some("ops")));
        assert!(agent_resources(Some("cpus:-1"), "*", MACHINE).is_err());
        assert!(agent_resources(Some("cpus:[1-"), "*", MACHINE).is_err());
    }

    #[test]
    fn this_machine_measures() {
        let machine = Machine::detect(&std::env::temp_dir());
        assert!(machine.cpus >= 1.0 && machine.mem_mb > 0.0 && machine.disk_mb > 0.0);
    }
}
