//! The v1 scheduler API's calls (`POST /api/v1/scheduler`) decoded from Mesos JSON:
//! the required fields checked, bytes from base64, and Mesos's stateless checks.

use serde_json::Value;

use super::json::{
    bytes_from_base64, check_shape, from_value, kind_of, known_variant, parse, type_name,
    DecodeError, Shape, EXECUTOR_INFO, OPTIONAL, REQUIRED, TASK_INFO,
};
use crate::mesos::OperationType;
use crate::scheduler::{Call, CallType};

/// Decodes a v1 scheduler `Call` (`POST /api/v1/scheduler`).
pub fn decode_scheduler_call(body: &[u8]) -> Result<Call, DecodeError> {
    let mut json = parse(body)?;
    let kind = type_name(&json)?;
    let call_type = known_variant(&kind, "call type", CallType::UNKNOWN)?;
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

const FRAMEWORK_INFO: Shape = Shape::Object(&[
    ("user", REQUIRED, Shape::Any),
    ("name", REQUIRED, Shape::Any),
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
        known_variant(name, "operation type", OperationType::UNKNOWN)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::json::MAX_BODY_SIZE;

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

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(body: Vec<u8>) {
            let _ = decode_scheduler_call(&body);
        }
    }
}
