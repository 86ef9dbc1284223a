//! The master's share of the v1 JSON mapping: which operator calls it serves. The
//! mapping itself, shared with the agent, is `mesos_proto::v1`; it is re-exported here.

use serde::{Deserialize, Serialize};

pub use mesos_proto::v1::json::{base64, to_json, typed, DecodeError, MAX_BODY_SIZE};
use mesos_proto::v1::json::{known_enum, parse, type_name};
pub use mesos_proto::v1::scheduler::decode_scheduler_call;

/// The v1 operator calls this master serves (`mesos.v1.master.Call.Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms, missing_docs)]
pub enum OperatorCallType {
    GET_HEALTH,
    GET_FLAGS,
    GET_VERSION,
    GET_METRICS,
    GET_LOGGING_LEVEL,
    GET_STATE,
    GET_AGENTS,
    GET_FRAMEWORKS,
    GET_EXECUTORS,
    GET_TASKS,
    GET_ROLES,
    GET_MASTER,
    SUBSCRIBE,
}

/// The operator calls of Mesos that this master does not carry out (yet): refused
/// with 501, so that a client can tell "not here" from "no such call".
const UNSERVED_OPERATOR_CALLS: &[&str] = &[
    "SET_LOGGING_LEVEL",
    "LIST_FILES",
    "READ_FILE",
    "GET_WEIGHTS",
    "UPDATE_WEIGHTS",
    "GET_OPERATIONS",
    "RESERVE_RESOURCES",
    "UNRESERVE_RESOURCES",
    "CREATE_VOLUMES",
    "DESTROY_VOLUMES",
    "GROW_VOLUME",
    "SHRINK_VOLUME",
    "GET_MAINTENANCE_STATUS",
    "GET_MAINTENANCE_SCHEDULE",
    "UPDATE_MAINTENANCE_SCHEDULE",
    "START_MAINTENANCE",
    "STOP_MAINTENANCE",
    "DRAIN_AGENT",
    "DEACTIVATE_AGENT",
    "REACTIVATE_AGENT",
    "GET_QUOTA",
    "UPDATE_QUOTA",
    "SET_QUOTA",
    "REMOVE_QUOTA",
    "TEARDOWN",
    "MARK_AGENT_GONE",
];

/// A decoded operator call.
#[derive(Clone, Debug, PartialEq)]
pub enum OperatorCall {
    /// A call this master serves.
    Served(OperatorCallType),
    /// A call of Mesos's that this master does not serve.
    Unserved(String),
}

/// Decodes a v1 operator `Call` (`POST /api/v1`). Only `type` matters for the calls
/// served: their bodies (`get_metrics.timeout`) change nothing here.
pub fn decode_operator_call(body: &[u8]) -> Result<OperatorCall, DecodeError> {
    let json = parse(body)?;
    let kind = type_name(&json)?;
    if UNSERVED_OPERATOR_CALLS.contains(&kind.as_str()) {
        return Ok(OperatorCall::Unserved(kind));
    }
    known_enum(&kind, "call type").map(OperatorCall::Served)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_calls_are_served_unserved_or_unknown() {
        assert_eq!(
            decode_operator_call(br#"{"type":"GET_STATE"}"#),
            Ok(OperatorCall::Served(OperatorCallType::GET_STATE))
        );
        assert_eq!(
            decode_operator_call(br#"{"type":"MARK_AGENT_GONE"}"#),
            Ok(OperatorCall::Unserved("MARK_AGENT_GONE".into()))
        );
        assert!(decode_operator_call(br#"{"type":"GET_NOTHING"}"#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(body: Vec<u8>) {
            let _ = decode_operator_call(&body);
        }
    }
}
