//! The v1 executor API's calls (`POST /api/v1/executor` on the agent) decoded from
//! Mesos JSON: the required fields checked, bytes from base64, and Mesos's stateless
//! checks (`validation::executor::call`).

use super::json::{
    bytes_from_base64, check_shape, from_value, known_variant, parse, type_name, DecodeError,
    Shape, OPTIONAL, REQUIRED, TASK_INFO,
};
use crate::executor::{Call, CallType};

/// A `TaskStatus`'s required fields.
const TASK_STATUS: Shape = Shape::Object(&[
    ("task_id", REQUIRED, Shape::Any),
    ("state", REQUIRED, Shape::Any),
]);
const UPDATE: Shape = Shape::Object(&[("status", REQUIRED, TASK_STATUS)]);

/// Decodes a v1 executor `Call`.
pub fn decode_executor_call(body: &[u8]) -> Result<Call, DecodeError> {
    let mut json = parse(body)?;
    let kind = type_name(&json)?;
    let call_type = known_variant(&kind, "call type", CallType::UNKNOWN)?;
    check_shape(&json, &call_shape(call_type), "")?;
    bytes_from_base64(&mut json, "")?;
    let call: Call = from_value(json)?;
    validate(&call)?;
    Ok(call)
}

/// The required parts of an executor call of `kind`.
fn call_shape(kind: CallType) -> Shape {
    const CALLER: [(&str, bool, Shape); 2] = [
        ("executor_id", REQUIRED, Shape::Any),
        ("framework_id", REQUIRED, Shape::Any),
    ];
    const SUBSCRIBE: Shape = Shape::Object(&[
        CALLER[0],
        CALLER[1],
        (
            "subscribe",
            REQUIRED,
            Shape::Object(&[
                ("unacknowledged_tasks", OPTIONAL, Shape::List(&TASK_INFO)),
                ("unacknowledged_updates", OPTIONAL, Shape::List(&UPDATE)),
            ]),
        ),
    ]);
    const UPDATE_CALL: Shape = Shape::Object(&[CALLER[0], CALLER[1], ("update", REQUIRED, UPDATE)]);
    const MESSAGE: Shape = Shape::Object(&[
        CALLER[0],
        CALLER[1],
        (
            "message",
            REQUIRED,
            Shape::Object(&[("data", REQUIRED, Shape::Any)]),
        ),
    ]);
    match kind {
        CallType::SUBSCRIBE => SUBSCRIBE,
        CallType::UPDATE => UPDATE_CALL,
        CallType::MESSAGE => MESSAGE,
        _ => Shape::Object(&CALLER),
    }
}

/// Mesos's checks that need no state: an update names this executor, carries a
/// 16-byte uuid and is not TASK_STAGING.
fn validate(call: &Call) -> Result<(), DecodeError> {
    let invalid = |text: &str| Err(DecodeError::Invalid(text.to_owned()));
    let updates = call.update.iter().chain(
        call.subscribe
            .iter()
            .flat_map(|s| &s.unacknowledged_updates),
    );
    for update in updates {
        let status = &update.status;
        if status.uuid.as_ref().map(Vec::len) != Some(16) {
            return invalid("'status.uuid' must be a 16-byte UUID");
        }
        if status.state == crate::mesos::TaskState::TASK_STAGING {
            return invalid("'status.state' must not be TASK_STAGING");
        }
        if status
            .executor_id
            .as_ref()
            .is_some_and(|id| id != &call.executor_id)
        {
            return invalid("'status.executor_id' differs from 'executor_id'");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "q83vEjRWeJCrze8SNFZ4kA==";

    #[test]
    fn update_is_read_with_its_uuid() {
        let body = format!(
            r#"{{"type":"UPDATE","executor_id":{{"value":"e"}},"framework_id":{{"value":"f"}},"update":{{"status":{{"task_id":{{"value":"t"}},"state":"TASK_RUNNING","uuid":"{UUID}","timestamp":12,"source":"SOURCE_EXECUTOR","extra":1}}}}}}"#
        );
        let call = decode_executor_call(body.as_bytes()).unwrap();
        assert_eq!(call.kind, CallType::UPDATE);
        let status = call.update.unwrap().status;
        assert_eq!(status.uuid.unwrap().len(), 16);
        assert_eq!(status.task_id.as_str(), "t");
    }

    #[test]
    fn bad_calls_say_what_is_wrong() {
        let caller = r#""executor_id":{"value":"e"},"framework_id":{"value":"f"}"#;
        let cases: Vec<(String, &str)> = vec![
            (r#"{"type":"SUBSCRIBE"}"#.into(), "Expecting 'executor_id'"),
            (
                format!(r#"{{"type":"SUBSCRIBE",{caller}}}"#),
                "Expecting 'subscribe'",
            ),
            (
                format!(r#"{{"type":"NOPE",{caller}}}"#),
                "Unknown call type 'NOPE'",
            ),
            (
                format!(r#"{{"type":"UPDATE",{caller},"update":{{}}}}"#),
                "Expecting 'update.status'",
            ),
            (
                format!(
                    r#"{{"type":"UPDATE",{caller},"update":{{"status":{{"task_id":{{"value":"t"}},"state":"TASK_RUNNING"}}}}}}"#
                ),
                "16-byte UUID",
            ),
            (
                format!(
                    r#"{{"type":"UPDATE",{caller},"update":{{"status":{{"task_id":{{"value":"t"}},"state":"TASK_STAGING","uuid":"{UUID}"}}}}}}"#
                ),
                "TASK_STAGING",
            ),
            (
                format!(r#"{{"type":"MESSAGE",{caller},"message":{{"data":"%%"}}}}"#),
                "not valid base64",
            ),
        ];
        for (body, expected) in cases {
            let error = decode_executor_call(body.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{body}: {error}");
        }
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(body: Vec<u8>) {
            let _ = decode_executor_call(&body);
        }
    }
}
