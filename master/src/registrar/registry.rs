//! The registry: the master's persisted state (Mesos `registry.proto`). It holds what a
//! newly elected master cannot learn from agents and frameworks: which agents were
//! admitted, which were unreachable or gone and since when, the roles' weights, and the
//! last leader. Frameworks, tasks and offers are not here; they are rebuilt from agents'
//! reregistrations and frameworks' resubscriptions.
//!
//! It is stored as versioned JSON, `{"version": 1, "registry": {...}}`, whose inner
//! object has the shape of Mesos's `/registrar(1)/registry` (`"slaves": {"slaves":
//! [...]}` and so on), so operators can read it with the same tools.

use std::collections::BTreeMap;

use mesos_proto::mesos::{AgentInfo, MasterInfo, TimeInfo};
use mesos_proto::AgentId;
use serde::{Deserialize, Serialize};

/// The schema version this master writes and the only one it reads. Bump it, and keep
/// reading the old one, when the meaning of a stored field changes.
pub const REGISTRY_VERSION: u64 = 1;

/// The persisted state of the cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Registry {
    /// The latest leading master, written by each master as it recovers.
    #[serde(with = "master_json", skip_serializing_if = "Option::is_none")]
    pub master: Option<MasterInfo>,
    /// Admitted agents, in admission order.
    #[serde(rename = "slaves", with = "agent_list")]
    pub agents: Vec<AdmittedAgent>,
    /// Agents marked unreachable, oldest first, with when they were.
    #[serde(with = "agent_list")]
    pub unreachable: Vec<TimestampedAgent>,
    /// Agents an operator marked gone, oldest first; they are never readmitted.
    #[serde(with = "agent_list")]
    pub gone: Vec<TimestampedAgent>,
    /// Each role's weight, for the roles whose weight was set.
    #[serde(with = "weight_list")]
    pub weights: BTreeMap<String, f64>,
}

/// An admitted agent (Mesos `Registry.Slave`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdmittedAgent {
    /// Its description as it registered, id included.
    pub info: AgentInfo,
}

/// An agent that left the admitted list, and when (Mesos `Registry.UnreachableSlave`
/// and `Registry.GoneSlave`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimestampedAgent {
    /// The agent.
    pub id: AgentId,
    /// When it was marked unreachable or gone.
    pub timestamp: TimeInfo,
}

impl Registry {
    /// Whether the agent is admitted.
    pub fn is_admitted(&self, id: &AgentId) -> bool {
        self.admitted_index(id).is_some()
    }

    /// Whether the agent is marked unreachable.
    pub fn is_unreachable(&self, id: &AgentId) -> bool {
        position(&self.unreachable, id).is_some()
    }

    /// Whether the agent is marked gone.
    pub fn is_gone(&self, id: &AgentId) -> bool {
        position(&self.gone, id).is_some()
    }

    /// The position of an admitted agent in `agents`.
    pub(super) fn admitted_index(&self, id: &AgentId) -> Option<usize> {
        self.agents
            .iter()
            .position(|agent| agent.info.id.as_ref() == Some(id))
    }
}

/// The position of an agent in an unreachable or gone list.
pub(super) fn position(list: &[TimestampedAgent], id: &AgentId) -> Option<usize> {
    list.iter().position(|agent| &agent.id == id)
}

/// Why stored bytes are not a registry this master can use.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or not the registry's shape.
    #[error("not a registry: {0}")]
    Malformed(#[source] serde_json::Error),
    /// A registry of another schema version, perhaps from a newer master.
    #[error(
        "registry version {found} is not supported (this master reads version {REGISTRY_VERSION})"
    )]
    UnknownVersion {
        /// The version found.
        found: u64,
    },
}

/// The stored form: the version first, so that a reader sees it before the rest.
#[derive(Serialize)]
struct Versioned {
    version: u64,
    registry: serde_json::Value,
}

/// Encodes a registry as its stored form: pretty JSON without unset fields and empty
/// lists, as Mesos's JSON leaves them out.
pub fn encode(registry: &Registry) -> Result<Vec<u8>, serde_json::Error> {
    let versioned = Versioned {
        version: REGISTRY_VERSION,
        registry: mesos_proto::json::to_value(registry)?,
    };
    serde_json::to_vec_pretty(&versioned)
}

/// The same stored form, written as serde writes it: no whitespace, and unset fields
/// as `null` rather than left out. For storage that writes the registry often
/// (ZooKeeper, at every batch): without the pruning pass it is seven times faster to
/// write at 20,000 agents, and a third of the size of the pretty form (`mesos-bench
/// registry`, docs/PERFORMANCE.md); a new leader waits for one such write. [`decode`]
/// reads both forms.
pub fn encode_compact(registry: &Registry) -> Result<Vec<u8>, serde_json::Error> {
    #[derive(Serialize)]
    struct Stored<'a> {
        version: u64,
        registry: &'a Registry,
    }
    serde_json::to_vec(&Stored {
        version: REGISTRY_VERSION,
        registry,
    })
}

/// Decodes a stored registry, refusing versions other than `REGISTRY_VERSION`.
pub fn decode(bytes: &[u8]) -> Result<Registry, DecodeError> {
    #[derive(Deserialize)]
    struct Version {
        version: u64,
    }
    #[derive(Deserialize)]
    struct Stored {
        registry: Registry,
    }
    let Version { version } = serde_json::from_slice(bytes).map_err(DecodeError::Malformed)?;
    if version != REGISTRY_VERSION {
        return Err(DecodeError::UnknownVersion { found: version });
    }
    let Stored { registry } = serde_json::from_slice(bytes).map_err(DecodeError::Malformed)?;
    Ok(registry)
}

/// `master` as Mesos nests it: `{"info": MasterInfo}`.
mod master_json {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Master<T> {
        info: T,
    }

    pub(super) fn serialize<S: Serializer>(
        master: &Option<MasterInfo>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        master
            .as_ref()
            .map(|info| Master { info })
            .serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<MasterInfo>, D::Error> {
        let master: Option<Master<MasterInfo>> = Option::deserialize(deserializer)?;
        Ok(master.map(|master| master.info))
    }
}

/// An agent list as Mesos nests it: `{"slaves": [...]}`.
mod agent_list {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize)]
    struct Listed<'a, T> {
        slaves: &'a [T],
    }

    #[derive(Deserialize)]
    struct Owned<T> {
        // Mesos's JSON leaves an empty list out.
        #[serde(default = "Vec::new")]
        slaves: Vec<T>,
    }

    pub(super) fn serialize<S: Serializer, T: Serialize>(
        agents: &[T],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        Listed { slaves: agents }.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        deserializer: D,
    ) -> Result<Vec<T>, D::Error> {
        Ok(Owned::deserialize(deserializer)?.slaves)
    }
}

/// Weights as Mesos lists them: `[{"info": {"role": "r", "weight": 2.0}}]`.
mod weight_list {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Weight {
        info: WeightInfo,
    }

    #[derive(Serialize, Deserialize)]
    struct WeightInfo {
        role: String,
        weight: f64,
    }

    pub(super) fn serialize<S: Serializer>(
        weights: &BTreeMap<String, f64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let listed: Vec<Weight> = weights
            .iter()
            .map(|(role, weight)| Weight {
                info: WeightInfo {
                    role: role.clone(),
                    weight: *weight,
                },
            })
            .collect();
        listed.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, f64>, D::Error> {
        let listed: Vec<Weight> = Vec::deserialize(deserializer)?;
        Ok(listed
            .into_iter()
            .map(|Weight { info }| (info.role, info.weight))
            .collect())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mesos_proto::Resources;

    /// A registry with something in every field.
    pub(crate) fn sample() -> Registry {
        Registry {
            master: Some(MasterInfo {
                id: "master-1".into(),
                ip: 0x7f00_0001,
                port: 5050,
                pid: Some("master@127.0.0.1:5050".into()),
                hostname: Some("localhost".into()),
                version: Some("1.11.0".into()),
                address: None,
            }),
            agents: vec![AdmittedAgent {
                info: AgentInfo {
                    hostname: "agent-1".into(),
                    port: Some(5051),
                    resources: Resources::parse("cpus:4;mem:1024;ports:[31000-32000]", "*")
                        .unwrap(),
                    id: Some(AgentId::new("a1")),
                    ..AgentInfo::default()
                },
            }],
            unreachable: vec![TimestampedAgent {
                id: AgentId::new("a2"),
                timestamp: TimeInfo { nanoseconds: 42 },
            }],
            gone: vec![TimestampedAgent {
                id: AgentId::new("a3"),
                timestamp: TimeInfo { nanoseconds: 43 },
            }],
            weights: BTreeMap::from([("web".to_owned(), 2.5)]),
        }
    }

    #[test]
    fn encoding_round_trips() {
        let registry = sample();
        assert_eq!(decode(&encode(&registry).unwrap()).unwrap(), registry);
        let empty = Registry::default();
        assert_eq!(decode(&encode(&empty).unwrap()).unwrap(), empty);
        assert_eq!(
            decode(&encode_compact(&registry).unwrap()).unwrap(),
            registry
        );
    }

    #[test]
    fn the_stored_form_is_versioned_mesos_json() {
        let json: serde_json::Value = serde_json::from_slice(&encode(&sample()).unwrap()).unwrap();
        assert_eq!(json["version"], 1);
        let registry = &json["registry"];
        assert_eq!(registry["master"]["info"]["id"], "master-1");
        assert_eq!(registry["slaves"]["slaves"][0]["info"]["id"]["value"], "a1");
        assert_eq!(
            registry["unreachable"]["slaves"][0]["timestamp"]["nanoseconds"],
            42
        );
        assert_eq!(registry["gone"]["slaves"][0]["id"]["value"], "a3");
        assert_eq!(registry["weights"][0]["info"]["role"], "web");
    }

    #[test]
    fn other_versions_are_refused() {
        let error = decode(br#"{"version": 2, "registry": {}}"#).unwrap_err();
        assert!(
            matches!(error, DecodeError::UnknownVersion { found: 2 }),
            "{error}"
        );
        assert!(matches!(
            decode(br#"{"registry": {}}"#),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn damaged_bytes_are_refused() {
        let mut bytes = encode(&sample()).unwrap();
        bytes.truncate(bytes.len() / 2);
        assert!(matches!(decode(&bytes), Err(DecodeError::Malformed(_))));
        assert!(matches!(
            decode(br#"{"version": 1, "registry": {"slaves": 3}}"#),
            Err(DecodeError::Malformed(_))
        ));
    }
}
