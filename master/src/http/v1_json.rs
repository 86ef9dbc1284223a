//! Mesos's JSON mapping of the v1 HTTP APIs' calls and events, on top of the serde
//! forms of `mesos_proto`: bytes fields (`uuid`, `data`) are standard base64 strings,
//! `type` must name a known call, and the fields proto2 marks `required` must be
//! present (serde's defaults would otherwise let them through as empty values).
//!
//! Decoders take bytes from the network: they never panic; every failure is a
//! [`DecodeError`] whose text is what the client sees in the 400 answer.

use mesos_proto::mesos::OperationType;
use mesos_proto::scheduler::{Call, CallType};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest call body accepted, well above any real call (Mesos bounds nothing,
/// but a bound keeps one client from filling the master's memory).
pub const MAX_BODY_SIZE: usize = 4 * 1024 * 1024;

/// How many levels of nesting a call may have; real calls have under 15.
const MAX_DEPTH: usize = 64;

/// Why a call body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Over [`MAX_BODY_SIZE`].
    #[error("Request body of {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The body's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JSON, or not a JSON object.
    #[error("Failed to parse body into JSON: {0}")]
    Syntax(String),
    /// Nested deeper than any call.
    #[error("Failed to parse body into JSON: nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// A required field is absent.
    #[error("Expecting '{0}' to be present")]
    Missing(String),
    /// `type` (or an operation's `type`) names nothing known.
    #[error("Unknown {what} '{name}'")]
    UnknownType {
        /// What kind of type.
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// A bytes field is not base64.
    #[error("Field '{0}' is not valid base64")]
    Base64(String),
    /// A field has the wrong type or value.
    #[error("Failed to convert JSON into Call protobuf: {0}")]
    Shape(String),
    /// The call is well formed but contradicts itself.
    #[error("{0}")]
    Invalid(String),
}

/// Decodes a v1 scheduler `Call` (`POST /api/v1/scheduler`).
pub fn decode_scheduler_call(body: &[u8]) -> Result<Call, DecodeError> {
    let mut json = parse(body)?;
    let kind = type_name(&json)?;
    let call_type: CallType = known_enum(&kind, "call type")?;
    if call_type == CallType::UNKNOWN {
        return Err(DecodeError::UnknownType {
            what: "call type",
            name: kind,
        });
    }
    check_shape(&json, &call_shape(call_type), "")?;
    check_operation_types(&json)?;
    bytes_from_base64(&mut json, "")?;
    let call: Call = from_value(json)?;
    validate_scheduler_call(&call)?;
    Ok(call)
}

/// Mesos's checks of a call that need no state (`validation::scheduler::call`).
fn validate_scheduler_call(call: &Call) -> Result<(), DecodeError> {
    let invalid = |text: &str| Err(DecodeError::Invalid(text.to_owned()));
    if call.kind == CallType::SUBSCRIBE {
        let info_id = call
            .subscribe
            .as_ref()
            .and_then(|s| s.framework_info.id.as_ref());
        if let (Some(id), Some(info_id)) = (&call.framework_id, info_id) {
            if id != info_id {
                return invalid("'framework_id' differs from 'subscribe.framework_info.id'");
            }
        }
        return Ok(());
    }
    if call.framework_id.is_none() {
        return invalid("Expecting 'framework_id' to be present");
    }
    if let Some(acknowledge) = &call.acknowledge {
        if acknowledge.uuid.len() != 16 {
            return invalid("'acknowledge.uuid' must be a 16-byte UUID");
        }
    }
    if let Some(update) = &call.update_framework {
        if update.framework_info.id.as_ref() != call.framework_id.as_ref() {
            return invalid("'update_framework.framework_info.id' differs from 'framework_id'");
        }
    }
    Ok(())
}

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

/// Mesos JSON of a value, with bytes fields as base64, for events and responses.
pub fn to_json<T: Serialize>(value: &T) -> Value {
    let mut json = mesos_proto::json::to_value(value).unwrap_or_else(|error| {
        // Only maps with non-string keys fail, and no proto type has one.
        tracing::error!(%error, "Could not encode a value as JSON");
        Value::Null
    });
    bytes_to_base64(&mut json);
    json
}

/// The keys of bytes fields in the types the v1 APIs carry (`TaskInfo.data`,
/// `TaskStatus.uuid`, `Call.Message.data`, `Task.status_update_uuid`...). No other
/// field of those types has these names.
const BYTES_KEYS: &[&str] = &["data", "uuid", "status_update_uuid"];

fn parse(body: &[u8]) -> Result<Value, DecodeError> {
    if body.len() > MAX_BODY_SIZE {
        return Err(DecodeError::TooLarge {
            size: body.len(),
            limit: MAX_BODY_SIZE,
        });
    }
    // serde_json refuses nesting over 128 levels itself, without recursing further.
    let json: Value =
        serde_json::from_slice(body).map_err(|e| DecodeError::Syntax(e.to_string()))?;
    if depth(&json) > MAX_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    if !json.is_object() {
        return Err(DecodeError::Syntax("expecting a JSON object".into()));
    }
    Ok(json)
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn type_name(json: &Value) -> Result<String, DecodeError> {
    match json.get("type") {
        None => Err(DecodeError::Missing("type".into())),
        Some(Value::String(name)) => Ok(name.clone()),
        Some(other) => Err(DecodeError::Shape(format!(
            "'type' must be a string, not {other}"
        ))),
    }
}

/// `name` as a variant of `T`, or the error naming `what`.
fn known_enum<T: DeserializeOwned>(name: &str, what: &'static str) -> Result<T, DecodeError> {
    serde_json::from_value(Value::String(name.to_owned())).map_err(|_| DecodeError::UnknownType {
        what,
        name: name.to_owned(),
    })
}

fn from_value<T: DeserializeOwned>(json: Value) -> Result<T, DecodeError> {
    serde_json::from_value(json).map_err(|e| DecodeError::Shape(e.to_string()))
}

/// Which fields a call or part of one must have, for the checks serde's defaults
/// would skip.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Anything; serde checks its type.
    Any,
    /// An object, with these fields (`true`: required).
    Object(&'static [(&'static str, bool, Shape)]),
    /// A list of these.
    List(&'static Shape),
}

const REQUIRED: bool = true;
const OPTIONAL: bool = false;

const FRAMEWORK_INFO: Shape = Shape::Object(&[
    ("user", REQUIRED, Shape::Any),
    ("name", REQUIRED, Shape::Any),
]);
const EXECUTOR_INFO: Shape = Shape::Object(&[("executor_id", REQUIRED, Shape::Any)]);
const TASK_INFO: Shape = Shape::Object(&[
    ("name", REQUIRED, Shape::Any),
    ("task_id", REQUIRED, Shape::Any),
    ("agent_id", REQUIRED, Shape::Any),
    ("executor", OPTIONAL, EXECUTOR_INFO),
]);
const OPERATION: Shape = Shape::Object(&[
    ("type", REQUIRED, Shape::Any),
    (
        "launch",
        OPTIONAL,
        Shape::Object(&[("task_infos", OPTIONAL, Shape::List(&TASK_INFO))]),
    ),
    (
        "launch_group",
        OPTIONAL,
        Shape::Object(&[
            ("executor", REQUIRED, EXECUTOR_INFO),
            (
                "task_group",
                REQUIRED,
                Shape::Object(&[("tasks", OPTIONAL, Shape::List(&TASK_INFO))]),
            ),
        ]),
    ),
]);

/// The required parts of a scheduler call of `kind`.
fn call_shape(kind: CallType) -> Shape {
    use CallType::*;
    let body: &'static [(&'static str, bool, Shape)] = match kind {
        SUBSCRIBE => &[(
            "subscribe",
            REQUIRED,
            Shape::Object(&[("framework_info", REQUIRED, FRAMEWORK_INFO)]),
        )],
        ACCEPT => &[(
            "accept",
            REQUIRED,
            Shape::Object(&[("operations", OPTIONAL, Shape::List(&OPERATION))]),
        )],
        DECLINE => &[("decline", REQUIRED, Shape::Any)],
        KILL => &[(
            "kill",
            REQUIRED,
            Shape::Object(&[("task_id", REQUIRED, Shape::Any)]),
        )],
        SHUTDOWN => &[(
            "shutdown",
            REQUIRED,
            Shape::Object(&[
                ("executor_id", REQUIRED, Shape::Any),
                ("agent_id", REQUIRED, Shape::Any),
            ]),
        )],
        ACKNOWLEDGE => &[(
            "acknowledge",
            REQUIRED,
            Shape::Object(&[
                ("agent_id", REQUIRED, Shape::Any),
                ("task_id", REQUIRED, Shape::Any),
                ("uuid", REQUIRED, Shape::Any),
            ]),
        )],
        RECONCILE => &[(
            "reconcile",
            REQUIRED,
            Shape::Object(&[(
                "tasks",
                OPTIONAL,
                Shape::List(&Shape::Object(&[("task_id", REQUIRED, Shape::Any)])),
            )]),
        )],
        MESSAGE => &[(
            "message",
            REQUIRED,
            Shape::Object(&[
                ("agent_id", REQUIRED, Shape::Any),
                ("executor_id", REQUIRED, Shape::Any),
                ("data", REQUIRED, Shape::Any),
            ]),
        )],
        REQUEST => &[("request", REQUIRED, Shape::Any)],
        UPDATE_FRAMEWORK => &[(
            "update_framework",
            REQUIRED,
            Shape::Object(&[("framework_info", REQUIRED, FRAMEWORK_INFO)]),
        )],
        _ => &[],
    };
    Shape::Object(body)
}

fn check_shape(value: &Value, shape: &Shape, path: &str) -> Result<(), DecodeError> {
    match (shape, value) {
        (Shape::Any, _) => Ok(()),
        (Shape::Object(fields), Value::Object(map)) => {
            for (key, required, inner) in fields.iter() {
                let field_path = join(path, key);
                match map.get(*key) {
                    None | Some(Value::Null) if *required => {
                        return Err(DecodeError::Missing(field_path))
                    }
                    None | Some(Value::Null) => {}
                    Some(field) => check_shape(field, inner, &field_path)?,
                }
            }
            Ok(())
        }
        (Shape::List(inner), Value::Array(items)) => items
            .iter()
            .enumerate()
            .try_for_each(|(index, item)| check_shape(item, inner, &format!("{path}[{index}]"))),
        (Shape::Object(_), other) => Err(DecodeError::Shape(format!(
            "'{path}' must be an object, not {}",
            kind_of(other)
        ))),
        (Shape::List(_), other) => Err(DecodeError::Shape(format!(
            "'{path}' must be an array, not {}",
            kind_of(other)
        ))),
    }
}

/// Offer operations of a type this build does not know are refused here: serde
/// would read them as UNKNOWN and lose the name.
fn check_operation_types(json: &Value) -> Result<(), DecodeError> {
    let operations = json
        .get("accept")
        .and_then(|a| a.get("operations"))
        .and_then(Value::as_array);
    for operation in operations.into_iter().flatten() {
        let Some(name) = operation.get("type") else {
            continue;
        };
        let Value::String(name) = name else {
            return Err(DecodeError::Shape(format!(
                "operation 'type' must be a string, not {}",
                kind_of(name)
            )));
        };
        let kind: OperationType = known_enum(name, "operation type")?;
        if kind == OperationType::UNKNOWN {
            return Err(DecodeError::UnknownType {
                what: "operation type",
                name: name.clone(),
            });
        }
    }
    Ok(())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Replaces the base64 string of every bytes field with its bytes, as serde reads
/// `Vec<u8>`.
fn bytes_from_base64(value: &mut Value, path: &str) -> Result<(), DecodeError> {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                let field_path = join(path, key);
                if BYTES_KEYS.contains(&key.as_str()) && !field.is_null() {
                    let Value::String(text) = field else {
                        return Err(DecodeError::Shape(format!(
                            "'{field_path}' must be a base64 string, not {}",
                            kind_of(field)
                        )));
                    };
                    let bytes = base64::decode(text).ok_or(DecodeError::Base64(field_path))?;
                    *field = Value::Array(bytes.into_iter().map(Value::from).collect());
                } else {
                    bytes_from_base64(field, &field_path)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .enumerate()
            .try_for_each(|(index, item)| bytes_from_base64(item, &format!("{path}[{index}]"))),
        _ => Ok(()),
    }
}

/// Replaces every bytes field (a list of numbers, as serde writes `Vec<u8>`) with
/// its base64 string.
fn bytes_to_base64(value: &mut Value) {
    match value {
        Value::Object(map) => map.iter_mut().for_each(|(key, field)| {
            match as_bytes(field).filter(|_| BYTES_KEYS.contains(&key.as_str())) {
                Some(bytes) => *field = Value::String(base64::encode(&bytes)),
                None => bytes_to_base64(field),
            }
        }),
        Value::Array(items) => items.iter_mut().for_each(bytes_to_base64),
        _ => {}
    }
}

fn as_bytes(value: &Value) -> Option<Vec<u8>> {
    value
        .as_array()?
        .iter()
        .map(|n| n.as_u64().and_then(|n| u8::try_from(n).ok()))
        .collect()
}

/// One v1 event or response object: `{"type": kind, <lower-cased kind>: body}`, or
/// just the type when there is no body (HEARTBEAT).
pub fn typed(kind: &str, body: Option<Value>) -> Value {
    let mut map = Map::new();
    map.insert("type".into(), Value::String(kind.to_owned()));
    if let Some(body) = body {
        map.insert(kind.to_ascii_lowercase(), body);
    }
    Value::Object(map)
}

/// Standard base64 (RFC 4648, with padding), as Mesos's JSON mapping writes bytes.
pub mod base64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// Encodes bytes.
    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for (index, shift) in [18, 12, 6, 0].into_iter().enumerate() {
                if index <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// Decodes padded standard base64; `None` if `text` is not that.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let text = text.as_bytes();
        if text.len() % 4 != 0 {
            return None;
        }
        let mut out = Vec::with_capacity(text.len() / 4 * 3);
        let quads = text.len() / 4;
        for (index, quad) in text.chunks(4).enumerate() {
            let padding = quad.iter().rev().take_while(|&&c| c == b'=').count();
            if padding > 2 || (padding > 0 && index + 1 != quads) {
                return None;
            }
            let mut n = 0u32;
            for &c in &quad[..4 - padding] {
                n = (n << 6) | u32::from(value(c)?);
            }
            n <<= 6 * padding as u32;
            let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&decoded[..3 - padding]);
        }
        Some(out)
    }

    fn value(c: u8) -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_refuses_garbage() {
        for (bytes, text) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (
                &[
                    0xab, 0xcd, 0xef, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef, 0x12, 0x34,
                    0x56, 0x78, 0x90,
                ],
                "q83vEjRWeJCrze8SNFZ4kA==",
            ),
        ] {
            assert_eq!(base64::encode(bytes), text);
            assert_eq!(base64::decode(text).as_deref(), Some(bytes));
        }
        for bad in ["Zg=", "Z===", "Zg==Zg==", "Zm9v!A==", "===="] {
            assert_eq!(base64::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn acknowledge_uuid_is_base64() {
        let call = decode_scheduler_call(
            br#"{"framework_id":{"value":"f"},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"q83vEjRWeJCrze8SNFZ4kA=="}}"#,
        )
        .unwrap();
        let acknowledge = call.acknowledge.unwrap();
        assert_eq!(acknowledge.uuid.len(), 16);
        assert_eq!(acknowledge.uuid[0], 0xab);
    }

    #[test]
    fn subscribe_with_unknown_keys_is_read() {
        let call = decode_scheduler_call(
            br#"{"type":"SUBSCRIBE","extra":1,"subscribe":{"framework_info":{"user":"u","name":"n","whatever":{}}}}"#,
        )
        .unwrap();
        assert_eq!(call.kind, CallType::SUBSCRIBE);
        assert_eq!(call.subscribe.unwrap().framework_info.name, "n");
    }

    #[test]
    fn bad_calls_say_what_is_wrong() {
        let cases: &[(&[u8], &str)] = &[
            (b"not json", "Failed to parse body into JSON"),
            (b"[1]", "expecting a JSON object"),
            (b"{}", "Expecting 'type' to be present"),
            (br#"{"type":"NOPE"}"#, "Unknown call type 'NOPE'"),
            (br#"{"type":7}"#, "'type' must be a string"),
            (br#"{"type":"SUBSCRIBE"}"#, "Expecting 'subscribe' to be present"),
            (
                br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u"}}}"#,
                "Expecting 'subscribe.framework_info.name' to be present",
            ),
            (
                br#"{"type":"KILL","framework_id":{"value":"f"},"kill":{}}"#,
                "Expecting 'kill.task_id' to be present",
            ),
            (br#"{"type":"TEARDOWN"}"#, "Expecting 'framework_id' to be present"),
            (
                br#"{"type":"MESSAGE","framework_id":{"value":"f"},"message":{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":"%%%%"}}"#,
                "Field 'message.data' is not valid base64",
            ),
            (
                br#"{"type":"ACCEPT","framework_id":{"value":"f"},"accept":{"operations":[{"type":"FLY"}]}}"#,
                "Unknown operation type 'FLY'",
            ),
            (
                br#"{"type":"ACCEPT","framework_id":{"value":"f"},"accept":{"offer_ids":"o"}}"#,
                "Failed to convert JSON into Call protobuf",
            ),
            (
                br#"{"type":"ACKNOWLEDGE","framework_id":{"value":"f"},"acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"Zm9v"}}"#,
                "16-byte UUID",
            ),
            (
                br#"{"type":"SUBSCRIBE","framework_id":{"value":"a"},"subscribe":{"framework_info":{"user":"u","name":"n","id":{"value":"b"}}}}"#,
                "differs",
            ),
        ];
        for (body, expected) in cases {
            let error = decode_scheduler_call(body).unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "{}: {error}",
                String::from_utf8_lossy(body)
            );
        }
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(
            decode_scheduler_call(deep.as_bytes()),
            Err(DecodeError::TooDeep)
        );
        let huge = vec![b' '; MAX_BODY_SIZE + 1];
        assert!(matches!(
            decode_scheduler_call(&huge),
            Err(DecodeError::TooLarge { .. })
        ));
    }

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

    #[test]
    fn bytes_fields_are_written_as_base64() {
        let status = mesos_proto::mesos::TaskStatus {
            task_id: "t".into(),
            uuid: Some(vec![0xab, 0xcd, 0xef]),
            data: Some(b"hi".to_vec()),
            ..Default::default()
        };
        let json = to_json(&status);
        assert_eq!(json["uuid"], "q83v");
        assert_eq!(json["data"], "aGk=");
    }

    proptest::proptest! {
        #[test]
        fn base64_round_trips(bytes: Vec<u8>) {
            proptest::prop_assert_eq!(base64::decode(&base64::encode(&bytes)), Some(bytes));
        }

        #[test]
        fn decoding_never_panics(body: Vec<u8>) {
            let _ = decode_scheduler_call(&body);
            let _ = decode_operator_call(&body);
        }
    }
}
