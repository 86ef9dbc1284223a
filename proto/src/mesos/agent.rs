//! What an agent says about itself (`SlaveInfo`, v1 `AgentInfo`) and its attributes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::AgentId;
use crate::resources::Resources;
use crate::values::{Ranges, Set};

/// An agent's description: where it runs and what it offers (Mesos `SlaveInfo`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentInfo {
    /// Host name (required).
    pub hostname: String,
    /// The agent's port (default 5051).
    pub port: Option<u32>,
    /// Its total resources.
    pub resources: Resources,
    /// Its attributes (`rack:r1;zone:west`).
    pub attributes: Vec<Attribute>,
    /// Its id, assigned by the master at registration.
    pub id: Option<AgentId>,
    /// Always true since Mesos 1.0: agents checkpoint.
    pub checkpoint: Option<bool>,
}

/// One thing an agent can handle (Mesos `SlaveInfo.Capability`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AgentCapability {
    /// Which.
    #[serde(rename = "type")]
    pub kind: AgentCapabilityType,
}

/// The kinds of agent capability; our agents advertise all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms, missing_docs)]
pub enum AgentCapabilityType {
    MULTI_ROLE,
    HIERARCHICAL_ROLE,
    RESERVATION_REFINEMENT,
    RESOURCE_PROVIDER,
    RESIZE_VOLUME,
    AGENT_OPERATION_FEEDBACK,
    AGENT_DRAINING,
    TASK_RESOURCE_LIMITS,
    /// Not known here.
    #[serde(other)]
    UNKNOWN,
}

/// A property of an agent that frameworks may place tasks by (Mesos `Attribute`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// The name.
    pub name: String,
    /// The value.
    pub value: AttributeValue,
}

/// An attribute's value: agents allow text, scalars and ranges; sets come from
/// frameworks' own descriptions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AttributeValue {
    /// A number.
    Scalar(f64),
    /// Intervals.
    Ranges(Ranges),
    /// Distinct strings.
    Set(Set),
    /// Text.
    Text(String),
}

impl fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeValue::Scalar(value) => write!(f, "{value}"),
            AttributeValue::Ranges(ranges) => write!(f, "{ranges}"),
            AttributeValue::Set(set) => write!(f, "{set}"),
            AttributeValue::Text(text) => f.write_str(text),
        }
    }
}

impl AttributeValue {
    /// The value as Mesos's state endpoints show it: numbers as numbers, the rest as text.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            AttributeValue::Scalar(value) => serde_json::Value::from(*value),
            other => serde_json::Value::from(other.to_string()),
        }
    }
}
