//! The public types of `mesos.proto`: labels here, and by concern in the child
//! modules: frameworks and the master (`framework`), agents (`agent`), tasks and
//! their states (`task`), offers and operations (`offer`), what a container uses
//! (`statistics`). All are re-exported here.
//!
//! Each type serializes every field in the binary wire codec (it has no field tags);
//! for Mesos's JSON, `crate::json::to_value` drops unset fields and empty lists.

use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use crate::encoding::{optional_field, repeated_field};

mod agent;
mod driver;
mod framework;
mod offer;
mod statistics;
mod task;

pub use agent::{AgentCapability, AgentCapabilityType, AgentInfo, Attribute, AttributeValue};
pub use driver::Status;
pub use framework::{
    Address, FrameworkCapability, FrameworkCapabilityType, FrameworkInfo, MasterInfo,
};
pub use offer::{Filters, Launch, LaunchGroup, Offer, OfferOperation, OperationType, Request, Url};
pub use statistics::ResourceStatistics;
pub use task::{
    CommandInfo, CommandUri, DurationInfo, Environment, ExecutorInfo, ExecutorType, KillPolicy,
    StatusReason, StatusSource, Task, TaskGroupInfo, TaskInfo, TaskState, TaskStatus, TimeInfo,
    Variable,
};

/// One free-form key/value pair that frameworks and operators attach to
/// tasks, reservations and more (Mesos `Label`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub struct Label {
    /// The key.
    pub key: String,
    /// The value; a label may be a bare key.
    #[serde(default)]
    pub value: Option<String>,
}

impl Label {
    /// A label with a key and a value.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: Some(value.into()),
        }
    }
}

impl Serialize for Label {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let human_readable = serializer.is_human_readable();
        let mut state = serializer.serialize_struct("Label", 2)?;
        state.serialize_field("key", &self.key)?;
        optional_field(&mut state, human_readable, "value", &self.value)?;
        state.end()
    }
}

/// A list of labels (Mesos `Labels`). Two lists are equal when they hold the
/// same labels in any order, as in Mesos.
#[derive(Clone, Debug, Default, Eq, Deserialize)]
pub struct Labels {
    /// The labels, in the order they were given.
    #[serde(default)]
    pub labels: Vec<Label>,
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        self.labels.len() == other.labels.len() && self.sorted() == other.sorted()
    }
}

impl Labels {
    /// The labels sorted, so that order does not matter when comparing.
    fn sorted(&self) -> Vec<&Label> {
        let mut labels: Vec<&Label> = self.labels.iter().collect();
        labels.sort();
        labels
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let human_readable = serializer.is_human_readable();
        let mut state = serializer.serialize_struct("Labels", 1)?;
        repeated_field(&mut state, human_readable, "labels", &self.labels)?;
        state.end()
    }
}

impl std::fmt::Display for Labels {
    /// Mesos's text form: `{k1: v1, k2}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (index, label) in self.labels.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&label.key)?;
            if let Some(value) = &label.value {
                write!(f, ": {value}")?;
            }
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels {
            labels: vec![
                Label::new("k", "v"),
                Label {
                    key: "bare".into(),
                    value: None,
                },
            ],
        }
    }

    #[test]
    fn json_omits_unset_value_and_empty_list() {
        let json = serde_json::to_string(&labels()).unwrap();
        assert_eq!(
            json,
            r#"{"labels":[{"key":"k","value":"v"},{"key":"bare"}]}"#
        );
        assert_eq!(serde_json::to_string(&Labels::default()).unwrap(), "{}");
        assert_eq!(serde_json::from_str::<Labels>(&json).unwrap(), labels());
        assert_eq!(
            serde_json::from_str::<Labels>("{}").unwrap(),
            Labels::default()
        );
    }

    #[test]
    fn binary_round_trips_with_unset_fields() {
        let bytes = postcard::to_allocvec(&labels()).unwrap();
        assert_eq!(postcard::from_bytes::<Labels>(&bytes).unwrap(), labels());
    }

    #[test]
    fn equality_ignores_order() {
        let mut reversed = labels();
        reversed.labels.reverse();
        assert_eq!(reversed, labels());
        reversed.labels.pop();
        assert_ne!(reversed, labels());
    }

    #[test]
    fn display_is_mesos_text_form() {
        assert_eq!(labels().to_string(), "{k: v, bare}");
    }
}
