//! The id wrappers of `mesos.proto` (`FrameworkID`, `SlaveID`, `TaskID`, ...).
//!
//! Each is a string newtype. In JSON it takes Mesos's mapping of the proto
//! message, `{"value": "..."}`; in the binary wire codec it is just the string.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares one id newtype with its conversions, so the six ids cannot drift
/// apart.
macro_rules! mesos_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name {
            value: String,
        }

        impl $name {
            /// Wraps an id string.
            pub fn new(value: impl Into<String>) -> Self {
                Self { value: value.into() }
            }

            /// The id string.
            pub fn as_str(&self) -> &str {
                &self.value
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }
    };
}

mesos_id!(
    /// Names a framework; the master assigns it at first registration
    /// (Mesos `FrameworkID`).
    FrameworkId
);
mesos_id!(
    /// Names an agent; the master assigns it at registration (Mesos `SlaveID`,
    /// v1 `AgentID`).
    AgentId
);
mesos_id!(
    /// Names a task, unique within its framework; the framework chooses it
    /// (Mesos `TaskID`).
    TaskId
);
mesos_id!(
    /// Names an offer; the master assigns it (Mesos `OfferID`).
    OfferId
);
mesos_id!(
    /// Names an executor, unique within its framework (Mesos `ExecutorID`).
    ExecutorId
);
mesos_id!(
    /// Names a container on an agent; the agent assigns it (Mesos
    /// `ContainerID`, without its `parent` field for nested containers).
    ContainerId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_mesos_value_object() {
        let id = FrameworkId::from("20240101-000000-1-5050-0000");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, r#"{"value":"20240101-000000-1-5050-0000"}"#);
        assert_eq!(serde_json::from_str::<FrameworkId>(&json).unwrap(), id);
    }

    #[test]
    fn json_without_value_is_refused() {
        assert!(serde_json::from_str::<AgentId>("{}").is_err());
        assert!(serde_json::from_str::<AgentId>(r#""bare""#).is_err());
    }

    #[test]
    fn binary_is_just_the_string() {
        let id = TaskId::from("task-1");
        let bytes = postcard::to_allocvec(&id).unwrap();
        assert_eq!(bytes, postcard::to_allocvec("task-1").unwrap());
        assert_eq!(postcard::from_bytes::<TaskId>(&bytes).unwrap(), id);
    }

    #[test]
    fn display_and_accessors_show_the_string() {
        let id = ExecutorId::new(String::from("exec"));
        assert_eq!(id.to_string(), "exec");
        assert_eq!(id.as_str(), "exec");
        assert_eq!(OfferId::from("o"), OfferId::new("o"));
        assert_eq!(ContainerId::from("c").as_str(), "c");
        assert_eq!(AgentId::default().as_str(), "");
    }
}
