//! What a framework says about itself (`FrameworkInfo`), and the master's identity
//! (`MasterInfo`).

use serde::{Deserialize, Serialize};

use crate::ids::FrameworkId;
use crate::mesos::Labels;
use crate::roles::DEFAULT_ROLE;

/// A framework's description of itself, sent when it subscribes (Mesos `FrameworkInfo`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FrameworkInfo {
    /// The user its tasks run as (required).
    pub user: String,
    /// Its name (required).
    pub name: String,
    /// Its id, set by the master on first registration.
    pub id: Option<FrameworkId>,
    /// Seconds the master waits for a disconnected framework before removing it and
    /// killing its tasks; 0 (the default) removes it at once.
    pub failover_timeout: Option<f64>,
    /// Whether its tasks survive an agent restart (the agent checkpoints them).
    pub checkpoint: Option<bool>,
    /// The single role of a framework without MULTI_ROLE (deprecated; default `*`).
    pub role: Option<String>,
    /// Its roles, with MULTI_ROLE.
    pub roles: Vec<String>,
    /// The host it runs on.
    pub hostname: Option<String>,
    /// The principal it authenticates as.
    pub principal: Option<String>,
    /// Its web UI.
    pub webui_url: Option<String>,
    /// What it can handle.
    pub capabilities: Vec<FrameworkCapability>,
    /// Free-form labels.
    pub labels: Option<Labels>,
}

/// One thing a framework can handle (Mesos `FrameworkInfo.Capability`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FrameworkCapability {
    /// Which.
    #[serde(rename = "type")]
    pub kind: FrameworkCapabilityType,
}

/// The kinds of framework capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum FrameworkCapabilityType {
    /// Accepts revocable (oversubscribed) resources.
    REVOCABLE_RESOURCES,
    /// Understands TASK_KILLING.
    TASK_KILLING_STATE,
    /// Accepts GPUs.
    GPU_RESOURCES,
    /// Accepts shared resources.
    SHARED_RESOURCES,
    /// Understands TASK_UNREACHABLE, TASK_DROPPED, TASK_GONE and TASK_UNKNOWN.
    PARTITION_AWARE,
    /// Subscribes to several roles (`roles` instead of `role`).
    MULTI_ROLE,
    /// Understands reservation refinement.
    RESERVATION_REFINEMENT,
    /// Accepts offers from other fault domain regions.
    REGION_AWARE,
    /// Not known to this master; ignored.
    #[serde(other)]
    UNKNOWN,
}

impl FrameworkInfo {
    /// Whether the framework declared `capability`.
    pub fn has_capability(&self, capability: FrameworkCapabilityType) -> bool {
        self.capabilities.iter().any(|c| c.kind == capability)
    }

    /// The roles the framework subscribes to: `roles` with MULTI_ROLE, else its single
    /// `role` (default `*`).
    pub fn roles(&self) -> Vec<String> {
        if self.has_capability(FrameworkCapabilityType::MULTI_ROLE) {
            return self.roles.clone();
        }
        vec![self.role.clone().unwrap_or_else(|| DEFAULT_ROLE.to_owned())]
    }

    /// The failover timeout in seconds (0 when unset).
    pub fn failover_timeout_secs(&self) -> f64 {
        self.failover_timeout.unwrap_or(0.0)
    }
}

/// How the master can be reached (Mesos `Address`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    /// Host name.
    pub hostname: Option<String>,
    /// IP address as text.
    pub ip: Option<String>,
    /// Port.
    pub port: u32,
}

/// The master's identity, given to frameworks and agents and written to ZooKeeper
/// (Mesos `MasterInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MasterInfo {
    /// A UUID, new every time a master starts.
    pub id: String,
    /// The IPv4 address as a number in network byte order (legacy).
    pub ip: u32,
    /// The port.
    pub port: u32,
    /// The master's pid, `master@ip:port`.
    pub pid: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// Version, digits and dots (`1.11.0`).
    pub version: Option<String>,
    /// Where it listens.
    pub address: Option<Address>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_multi_role() {
        let mut info = FrameworkInfo {
            role: Some("web".into()),
            roles: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        assert_eq!(info.roles(), ["web"]);
        info.capabilities.push(FrameworkCapability {
            kind: FrameworkCapabilityType::MULTI_ROLE,
        });
        assert_eq!(info.roles(), ["a", "b"]);
        assert_eq!(FrameworkInfo::default().roles(), ["*"]);
    }

    #[test]
    fn capabilities_read_mesos_json() {
        let info: FrameworkInfo = serde_json::from_str(
            r#"{"user":"u","name":"n","capabilities":[{"type":"PARTITION_AWARE"}]}"#,
        )
        .unwrap();
        assert!(info.has_capability(FrameworkCapabilityType::PARTITION_AWARE));
    }
}
