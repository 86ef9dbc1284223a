//! Mesos's JSON mapping of the v1 HTTP APIs' calls and events, shared by the master
//! and the agent, on top of the serde forms of this crate: bytes fields (`uuid`,
//! `data`) are standard base64 strings, `type` must name a known call, and the fields
//! proto2 marks `required` must be present (serde's defaults would otherwise let them
//! through as empty values). Also the content negotiation every v1 endpoint does.
//!
//! Decoders take bytes from the network: they never panic; every failure is a
//! [`DecodeError`] whose text is what the client sees in the 400 answer.

use serde::de::DeserializeOwned;
use serde::Serialize;
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

/// Mesos JSON of a value, with bytes fields as base64, for events and responses.
pub fn to_json<T: Serialize>(value: &T) -> Value {
    // Only maps with non-string keys fail, and no proto type has one.
    let mut json = crate::json::to_value(value).unwrap_or(Value::Null);
    bytes_to_base64(&mut json);
    json
}

/// The keys of bytes fields in the types the v1 APIs carry (`TaskInfo.data`,
/// `TaskStatus.uuid`, `Call.Message.data`, `Task.status_update_uuid`...). No other
/// field of those types has these names.
const BYTES_KEYS: &[&str] = &["data", "uuid", "status_update_uuid"];

/// The body as a JSON object, within the size and depth bounds.
pub fn parse(body: &[u8]) -> Result<Value, DecodeError> {
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

/// The call's `type`, which must be a string.
pub fn type_name(json: &Value) -> Result<String, DecodeError> {
    match json.get("type") {
        None => Err(DecodeError::Missing("type".into())),
        Some(Value::String(name)) => Ok(name.clone()),
        Some(other) => Err(DecodeError::Shape(format!(
            "'type' must be a string, not {other}"
        ))),
    }
}

/// `name` as a variant of `T`, or the error naming `what`.
pub fn known_enum<T: DeserializeOwned>(name: &str, what: &'static str) -> Result<T, DecodeError> {
    serde_json::from_value(Value::String(name.to_owned())).map_err(|_| DecodeError::UnknownType {
        what,
        name: name.to_owned(),
    })
}

/// `name` as a variant of `T` other than `unknown` (the protobuf default, which no
/// client may send), or the error naming `what`.
pub fn known_variant<T: DeserializeOwned + PartialEq>(
    name: &str,
    what: &'static str,
    unknown: T,
) -> Result<T, DecodeError> {
    let variant: T = known_enum(name, what)?;
    if variant == unknown {
        return Err(DecodeError::UnknownType {
            what,
            name: name.to_owned(),
        });
    }
    Ok(variant)
}

/// The v1 operator API's `GET_FLAGS` answer, `{"flags": [{"name", "value"}]}`, from a
/// `/flags` document, `{"flags": {name: value}}`.
pub fn flag_list(flags: &Value) -> Value {
    let list: Vec<Value> = flags["flags"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
        .collect();
    serde_json::json!({ "flags": list })
}

/// `json` as `T`, or the error saying why not.
pub fn from_value<T: DeserializeOwned>(json: Value) -> Result<T, DecodeError> {
    serde_json::from_value(json).map_err(|e| DecodeError::Shape(e.to_string()))
}

/// Which fields a call or part of one must have, for the checks serde's defaults
/// would skip.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Anything; serde checks its type.
    Any,
    /// An object, with these fields (`true`: required).
    Object(&'static [(&'static str, bool, Shape)]),
    /// A list of these.
    List(&'static Shape),
}

/// A field that must be present.
pub const REQUIRED: bool = true;
/// A field that may be absent.
pub const OPTIONAL: bool = false;

/// An `ExecutorInfo`'s required fields.
pub const EXECUTOR_INFO: Shape = Shape::Object(&[("executor_id", REQUIRED, Shape::Any)]);
/// A `TaskInfo`'s required fields.
pub const TASK_INFO: Shape = Shape::Object(&[
    ("name", REQUIRED, Shape::Any),
    ("task_id", REQUIRED, Shape::Any),
    ("agent_id", REQUIRED, Shape::Any),
    ("executor", OPTIONAL, EXECUTOR_INFO),
]);
/// Checks that `value` has the fields `shape` requires; `path` names `value` in errors.
pub fn check_shape(value: &Value, shape: &Shape, path: &str) -> Result<(), DecodeError> {
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

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// How JSON names the kind of `value`, for errors.
pub fn kind_of(value: &Value) -> &'static str {
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
pub fn bytes_from_base64(value: &mut Value, path: &str) -> Result<(), DecodeError> {
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

/// The only encoding the v1 APIs serve here; protobuf may follow.
pub const JSON: &str = "application/json";

/// `application/json; charset=utf-8` → `application/json`.
pub fn media_type(value: &str) -> &str {
    value.split(';').next().unwrap_or("").trim()
}

/// Whether an `Accept` header allows JSON (`*/*`, `application/*` or JSON itself,
/// unless with `q=0`).
pub fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f64>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused
            && (media == "*/*"
                || media.eq_ignore_ascii_case("application/*")
                || media.eq_ignore_ascii_case(JSON))
    })
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
    fn bytes_fields_are_written_as_base64() {
        let status = crate::mesos::TaskStatus {
            task_id: "t".into(),
            uuid: Some(vec![0xab, 0xcd, 0xef]),
            data: Some(b"hi".to_vec()),
            ..Default::default()
        };
        let json = to_json(&status);
        assert_eq!(json["uuid"], "q83v");
        assert_eq!(json["data"], "aGk=");
    }

    #[test]
    fn bodies_over_the_bounds_are_refused() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(parse(deep.as_bytes()), Err(DecodeError::TooDeep));
        let huge = vec![b' '; MAX_BODY_SIZE + 1];
        assert!(matches!(parse(&huge), Err(DecodeError::TooLarge { .. })));
        assert!(matches!(parse(b"[1]"), Err(DecodeError::Syntax(_))));
    }

    #[test]
    fn accept_headers() {
        assert!(accepts_json("application/json"));
        assert!(accepts_json("text/html, */*;q=0.1"));
        assert!(accepts_json("application/*"));
        assert!(!accepts_json("application/x-protobuf"));
        assert!(!accepts_json("application/json;q=0"));
        assert_eq!(media_type("application/json; charset=utf-8"), JSON);
    }

    proptest::proptest! {
        #[test]
        fn base64_round_trips(bytes: Vec<u8>) {
            proptest::prop_assert_eq!(base64::decode(&base64::encode(&bytes)), Some(bytes));
        }
    }
}
