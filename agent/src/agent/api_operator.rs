//! `POST /api/v1` on the agent: the v1 operator API (Mesos `v1/agent/agent.proto`):
//! GET_HEALTH, GET_FLAGS, GET_VERSION, GET_METRICS, GET_LOGGING_LEVEL, GET_STATE,
//! GET_FRAMEWORKS, GET_EXECUTORS, GET_TASKS, GET_CONTAINERS, and the file calls
//! LIST_FILES and READ_FILE, which go through the `files` process and so are confined
//! to the sandboxes exactly as `/files/*` is. Other calls of the reference answer 501.

use http::StatusCode;
use libproc::http::{Reply, Request, Response};
use libproc::Context;
use mesos_proto::mesos::TaskState;
use mesos_proto::v1::json::{
    base64, flag_list, known_enum, parse, to_json, type_name, typed, DecodeError,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{error, refusal, DuringRecovery};
use super::executor::{Executor, ExecutorKey};
use super::Agent;
use crate::containerizer::monitor_entry;

/// The calls this agent serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
enum CallType {
    GET_HEALTH,
    GET_FLAGS,
    GET_VERSION,
    GET_METRICS,
    GET_LOGGING_LEVEL,
    GET_STATE,
    GET_FRAMEWORKS,
    GET_EXECUTORS,
    GET_TASKS,
    GET_CONTAINERS,
    LIST_FILES,
    READ_FILE,
}

/// Calls of the reference this agent knows but does not serve (501, not 400).
const UNSERVED: &[&str] = &[
    "SET_LOGGING_LEVEL",
    "GET_OPERATIONS",
    "GET_RESOURCE_PROVIDERS",
    "LAUNCH_NESTED_CONTAINER",
    "WAIT_NESTED_CONTAINER",
    "KILL_NESTED_CONTAINER",
    "REMOVE_NESTED_CONTAINER",
    "LAUNCH_NESTED_CONTAINER_SESSION",
    "ATTACH_CONTAINER_INPUT",
    "ATTACH_CONTAINER_OUTPUT",
    "LAUNCH_CONTAINER",
    "WAIT_CONTAINER",
    "KILL_CONTAINER",
    "REMOVE_CONTAINER",
    "ADD_RESOURCE_PROVIDER_CONFIG",
    "UPDATE_RESOURCE_PROVIDER_CONFIG",
    "REMOVE_RESOURCE_PROVIDER_CONFIG",
    "MARK_RESOURCE_PROVIDER_GONE",
    "PRUNE_IMAGES",
];

/// A decoded call: its type, and the file call's parameters.
#[derive(Debug, PartialEq)]
enum Call {
    Served(CallType, Value),
    Unserved(String),
}

fn decode(body: &[u8]) -> Result<Call, DecodeError> {
    let json = parse(body)?;
    let kind = type_name(&json)?;
    if UNSERVED.contains(&kind.as_str()) {
        return Ok(Call::Unserved(kind));
    }
    Ok(Call::Served(known_enum(&kind, "call type")?, json))
}

impl Agent {
    /// Serves one operator call.
    pub(super) fn operator_api(&mut self, request: Request, _ctx: &mut Context<Self>) -> Reply {
        if let Some(response) = refusal(self, &request, DuringRecovery::Refused) {
            return response.into();
        }
        let (kind, call) = match decode(&request.body) {
            Ok(Call::Served(kind, call)) => (kind, call),
            Ok(Call::Unserved(name)) => {
                let message = format!("Operator call '{name}' is not supported by this agent");
                return error(StatusCode::NOT_IMPLEMENTED, message).into();
            }
            Err(decode) => return error(StatusCode::BAD_REQUEST, decode.to_string()).into(),
        };
        use CallType::*;
        let (name, body) = match kind {
            GET_HEALTH => ("GET_HEALTH", json!({"healthy": true})),
            GET_FLAGS => ("GET_FLAGS", flag_list(&self.flags.to_json())),
            GET_VERSION => ("GET_VERSION", get_version()),
            GET_METRICS => ("GET_METRICS", get_metrics()),
            // The agent has no verbosity levels to toggle: it logs at glog's level 0.
            GET_LOGGING_LEVEL => ("GET_LOGGING_LEVEL", json!({"level": 0})),
            GET_STATE => ("GET_STATE", self.get_state()),
            GET_FRAMEWORKS => ("GET_FRAMEWORKS", self.get_frameworks()),
            GET_EXECUTORS => ("GET_EXECUTORS", self.get_executors()),
            GET_TASKS => ("GET_TASKS", self.get_tasks()),
            GET_CONTAINERS => ("GET_CONTAINERS", self.get_containers()),
            LIST_FILES => return self.list_files(&call),
            READ_FILE => return self.read_file(&call),
        };
        Response::json(&typed(name, Some(body))).into()
    }

    fn get_state(&self) -> Value {
        json!({
            "get_tasks": self.get_tasks(),
            "get_executors": self.get_executors(),
            "get_frameworks": self.get_frameworks(),
        })
    }

    /// Every executor, running then completed, with its key.
    fn all_executors(&self) -> impl Iterator<Item = (&ExecutorKey, &Executor, bool)> {
        let running = self.executors.iter().map(|(key, e)| (key, e, true));
        let completed = self
            .completed_executors
            .values()
            .flat_map(|executors| executors.iter().map(|(key, e)| (key, e, false)));
        running.chain(completed)
    }

    fn get_frameworks(&self) -> Value {
        let mut running = std::collections::BTreeMap::new();
        let mut completed = std::collections::BTreeMap::new();
        for (key, executor, live) in self.all_executors() {
            let framework = json!({"framework_info": to_json(&executor.framework)});
            if live {
                running.insert(key.0.as_str(), framework);
            } else {
                completed.insert(key.0.as_str(), framework);
            }
        }
        completed.retain(|id, _| !running.contains_key(id));
        json!({
            "frameworks": running.into_values().collect::<Vec<_>>(),
            "completed_frameworks": completed.into_values().collect::<Vec<_>>(),
        })
    }

    fn get_executors(&self) -> Value {
        let (mut running, mut completed) = (Vec::new(), Vec::new());
        for (_, executor, live) in self.all_executors() {
            let model = json!({"executor_info": to_json(&executor.info)});
            if live {
                running.push(model);
            } else {
                completed.push(model);
            }
        }
        json!({"executors": running, "completed_executors": completed})
    }

    fn get_tasks(&self) -> Value {
        let agent_id = self.agent_id();
        let (mut queued, mut launched, mut terminated, mut completed) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (key, executor, live) in self.all_executors() {
            for task in &executor.queued {
                let task = executor.task(task, TaskState::TASK_STAGING, &key.0, &agent_id);
                queued.push(to_json(&task));
            }
            for (task, state) in executor.launched.values() {
                let task = to_json(&executor.task(task, *state, &key.0, &agent_id));
                match (live, state.is_terminal()) {
                    (true, false) => launched.push(task),
                    (true, true) => terminated.push(task),
                    (false, _) => completed.push(task),
                }
            }
        }
        json!({
            "pending_tasks": [],
            "queued_tasks": queued,
            "launched_tasks": launched,
            "terminated_tasks": terminated,
            "completed_tasks": completed,
        })
    }

    fn get_containers(&self) -> Value {
        let containers: Vec<Value> = self
            .executors
            .iter()
            .map(|(key, executor)| {
                let mut container = json!({
                    "framework_id": {"value": key.0.as_str()},
                    "executor_id": {"value": key.1.as_str()},
                    "executor_name": executor.info.name.clone().unwrap_or_default(),
                    "container_id": {"value": executor.container_id.as_str()},
                });
                if let Ok(statistics) = self.containerizer.usage(&executor.container_id) {
                    let entry = monitor_entry(&key.0, &executor.info, "", &statistics);
                    container["resource_statistics"] = entry["statistics"].clone();
                }
                container
            })
            .collect();
        json!({ "containers": containers })
    }

    /// LIST_FILES: `list_files.path`, confined to the sandboxes.
    fn list_files(&self, call: &Value) -> Reply {
        let Some(path) = call["list_files"]["path"].as_str().map(str::to_owned) else {
            return error(StatusCode::BAD_REQUEST, "Expecting 'list_files.path'").into();
        };
        let listed = self.files.list(path);
        Reply::deferred(async move {
            match listed.await {
                Ok(infos) => {
                    let infos: Vec<Value> = infos
                        .into_iter()
                        .map(|info| {
                            json!({
                                "path": info.path,
                                "nlink": info.nlink,
                                "size": info.size,
                                "mtime": {"nanoseconds": info.mtime.saturating_mul(1_000_000_000)},
                                "mode": info.mode,
                                "uid": info.uid,
                                "gid": info.gid,
                            })
                        })
                        .collect();
                    let body = json!({ "file_infos": infos });
                    Response::json(&typed("LIST_FILES", Some(body)))
                }
                Err(refused) => refused.into(),
            }
        })
    }

    /// READ_FILE: `read_file.{path, offset, length}`, the bytes in base64.
    fn read_file(&self, call: &Value) -> Reply {
        let read = &call["read_file"];
        let Some(path) = read["path"].as_str().map(str::to_owned) else {
            return error(StatusCode::BAD_REQUEST, "Expecting 'read_file.path'").into();
        };
        let Some(offset) = read["offset"].as_u64() else {
            let message = "Expecting 'read_file.offset' to be a non-negative integer";
            return error(StatusCode::BAD_REQUEST, message).into();
        };
        let length = match &read["length"] {
            Value::Null => None,
            length => match length.as_u64() {
                Some(length) => Some(length),
                None => {
                    let message = "Expecting 'read_file.length' to be a non-negative integer";
                    return error(StatusCode::BAD_REQUEST, message).into();
                }
            },
        };
        let read = self.files.read(path, offset, length);
        Reply::deferred(async move {
            match read.await {
                Ok((bytes, size)) => {
                    let body = json!({"size": size, "data": base64::encode(&bytes)});
                    Response::json(&typed("READ_FILE", Some(body)))
                }
                Err(refused) => refused.into(),
            }
        })
    }
}

fn get_version() -> Value {
    json!({"version_info": {
        "version": mesos_proto::MESOS_VERSION,
        "build_date": "",
        "build_time": 0,
        "build_user": "",
    }})
}

fn get_metrics() -> Value {
    let metrics: Vec<Value> = libproc::metrics_snapshot()
        .into_iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    json!({ "metrics": metrics })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_served_unserved_or_refused() {
        assert!(matches!(
            decode(br#"{"type":"GET_CONTAINERS"}"#),
            Ok(Call::Served(CallType::GET_CONTAINERS, _))
        ));
        assert_eq!(
            decode(br#"{"type":"LAUNCH_NESTED_CONTAINER"}"#),
            Ok(Call::Unserved("LAUNCH_NESTED_CONTAINER".into()))
        );
        assert!(decode(br#"{"type":"GET_NOTHING"}"#).is_err());
        assert!(decode(b"not json").is_err());
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(body: Vec<u8>) {
            let _ = decode(&body);
        }
    }
}
