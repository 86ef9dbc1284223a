//! What a container uses (Mesos `ResourceStatistics`), as the agent measures it for
//! `/monitor/statistics` and the v1 `GET_CONTAINERS` call.

use serde::{Deserialize, Serialize};

/// One measurement of a container (Mesos `ResourceStatistics`). Only the fields our
/// containerizer measures exist here; each keeps its Mesos JSON name, and an unset
/// field is left out of Mesos JSON (`crate::json::to_value`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceStatistics {
    /// When it was measured, in seconds since the epoch.
    pub timestamp: f64,
    /// How many processes the container holds.
    pub processes: Option<u32>,
    /// How many threads the container holds.
    pub threads: Option<u32>,
    /// CPU time spent in user mode, in seconds.
    pub cpus_user_time_secs: Option<f64>,
    /// CPU time spent in kernel mode, in seconds.
    pub cpus_system_time_secs: Option<f64>,
    /// The CPUs allotted to the container.
    pub cpus_limit: Option<f64>,
    /// CFS periods elapsed (with a CFS quota).
    pub cpus_nr_periods: Option<u32>,
    /// CFS periods in which the container was throttled.
    pub cpus_nr_throttled: Option<u32>,
    /// Total time the container was throttled, in seconds.
    pub cpus_throttled_time_secs: Option<f64>,
    /// All memory charged to the container (page cache included), in bytes.
    pub mem_total_bytes: Option<u64>,
    /// Resident anonymous memory, in bytes.
    pub mem_rss_bytes: Option<u64>,
    /// The hard memory limit, in bytes.
    pub mem_limit_bytes: Option<u64>,
    /// The soft memory limit, in bytes.
    pub mem_soft_limit_bytes: Option<u64>,
    /// Page cache charged to the container, in bytes.
    pub mem_cache_bytes: Option<u64>,
    /// Swap used, in bytes.
    pub mem_swap_bytes: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mesos_json_names_and_unset_fields_left_out() {
        let statistics = ResourceStatistics {
            timestamp: 1.5,
            cpus_limit: Some(0.5),
            mem_rss_bytes: Some(4096),
            ..Default::default()
        };
        let json = crate::json::to_value(&statistics).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"timestamp": 1.5, "cpus_limit": 0.5, "mem_rss_bytes": 4096})
        );
        let back: ResourceStatistics = serde_json::from_value(json).unwrap();
        assert_eq!(back, statistics);
    }
}
