//! Mesos's JSON form of any proto type: serde's JSON without unset fields (`null`)
//! and empty lists, as protobuf's JSON mapping omits them.

use serde::Serialize;
use serde_json::Value;

/// Serializes `value` as Mesos JSON.
pub fn to_value<T: Serialize>(value: &T) -> Result<Value, serde_json::Error> {
    let mut json = serde_json::to_value(value)?;
    prune(&mut json);
    Ok(json)
}

fn prune(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, field| !matches!(field, Value::Null) && !is_empty_list(field));
            map.values_mut().for_each(prune);
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

fn is_empty_list(value: &Value) -> bool {
    matches!(value, Value::Array(items) if items.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::{FrameworkInfo, TaskState, TaskStatus};

    #[test]
    fn unset_fields_and_empty_lists_are_dropped() {
        let info = FrameworkInfo {
            user: "u".into(),
            name: "n".into(),
            ..Default::default()
        };
        assert_eq!(
            to_value(&info).unwrap().to_string(),
            r#"{"name":"n","user":"u"}"#
        );
        let status = TaskStatus {
            task_id: "t".into(),
            state: TaskState::TASK_RUNNING,
            ..Default::default()
        };
        assert_eq!(
            to_value(&status).unwrap().to_string(),
            r#"{"state":"TASK_RUNNING","task_id":{"value":"t"}}"#
        );
    }
}
