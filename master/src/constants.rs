//! The master's defaults and fixed limits, with Mesos's values (`src/master/constants.hpp`,
//! `src/master/flags.cpp`). Flags take their defaults from here, so a default is written
//! once; limits that no flag changes are used directly by the master.

use std::time::Duration;

/// The version the master reports in `MasterInfo` and `/version`: digits and dots only,
/// because drivers and agents parse it.
pub const MESOS_VERSION: &str = mesos_proto::MESOS_VERSION;

/// The port the master listens on (`--port`).
pub const DEFAULT_PORT: u16 = 5050;

/// How often the master pings each agent, and how long each ping may go unanswered
/// (`--agent_ping_timeout`).
pub const DEFAULT_AGENT_PING_TIMEOUT: Duration = Duration::from_secs(15);

/// Consecutive unanswered pings after which an agent is marked unreachable
/// (`--max_agent_ping_timeouts`).
pub const DEFAULT_MAX_AGENT_PING_TIMEOUTS: u32 = 5;

/// How long agents have to reregister after a master failover or a broken socket
/// (`--agent_reregister_timeout`).
pub const DEFAULT_AGENT_REREGISTER_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The shortest `--agent_reregister_timeout` accepted: agents bound their own
/// registration retries by it.
pub const MIN_AGENT_REREGISTER_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The period of the allocator's batch allocation (`--allocation_interval`).
pub const DEFAULT_ALLOCATION_INTERVAL: Duration = Duration::from_secs(1);

/// Completed frameworks kept in memory for the endpoints (`--max_completed_frameworks`).
pub const DEFAULT_MAX_COMPLETED_FRAMEWORKS: usize = 50;

/// Completed tasks kept in memory per framework (`--max_completed_tasks_per_framework`).
pub const DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK: usize = 1000;

/// Unreachable tasks kept in memory per framework
/// (`--max_unreachable_tasks_per_framework`).
pub const DEFAULT_MAX_UNREACHABLE_TASKS_PER_FRAMEWORK: usize = 1000;

/// How often the master sends `HEARTBEAT` events to v1 HTTP schedulers.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

/// How many events may wait for a slow v1 stream client before the master gives
/// up on it and closes the stream (Mesos buffers without bound).
pub const MAX_PENDING_STREAM_EVENTS: usize = 4096;

/// The ZooKeeper session timeout (`--zk_session_timeout`).
pub const DEFAULT_ZK_SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the master prunes unreachable and gone agents from the registry
/// (`--registry_gc_interval`).
pub const DEFAULT_REGISTRY_GC_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// Unreachable or gone agents older than this are pruned from the registry
/// (`--registry_max_agent_age`, two weeks).
pub const DEFAULT_REGISTRY_MAX_AGENT_AGE: Duration = Duration::from_secs(2 * 7 * 24 * 60 * 60);

/// At most this many unreachable, and as many gone, agents stay in the registry; the
/// oldest go first (`--registry_max_agent_count`).
pub const DEFAULT_REGISTRY_MAX_AGENT_COUNT: usize = 100 * 1024;

/// The smallest number of CPUs worth offering.
pub const MIN_CPUS: f64 = 0.01;

/// The smallest memory worth offering, in megabytes.
pub const MIN_MEM_MB: f64 = 32.0;

/// Offers are made only of resources holding at least one of these `|`-separated
/// quantity sets (`--min_allocatable_resources`); built from `MIN_CPUS` and `MIN_MEM_MB`.
pub const DEFAULT_MIN_ALLOCATABLE_RESOURCES: &str = "cpus:0.01|mem:32";

/// Removed agent ids remembered, so that a removed agent that comes back is told to
/// shut down; the oldest are forgotten first.
pub const MAX_REMOVED_AGENTS: usize = 100_000;

/// The share of recovered agents that may be marked unreachable when they fail to
/// reregister after a failover, before the master aborts instead (1.0 is 100%).
pub const RECOVERY_AGENT_REMOVAL_PERCENT_LIMIT: f64 = 1.0;

/// The default page size of `/master/tasks`.
pub const TASK_LIMIT: usize = 100;

/// The oldest agent version the master accepts.
pub const MINIMUM_AGENT_VERSION: &str = "1.0.0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_digits_and_dots() {
        assert!(MESOS_VERSION
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit())));
    }

    #[test]
    fn min_allocatable_resources_agree_with_min_cpus_and_mem() {
        assert_eq!(
            DEFAULT_MIN_ALLOCATABLE_RESOURCES,
            format!("cpus:{MIN_CPUS}|mem:{MIN_MEM_MB}")
        );
    }

    #[test]
    fn the_default_reregister_timeout_is_the_minimum() {
        assert_eq!(
            DEFAULT_AGENT_REREGISTER_TIMEOUT,
            MIN_AGENT_REREGISTER_TIMEOUT
        );
    }
}
