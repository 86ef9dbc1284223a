//! `POST /api/v1` and `/api/v1/operator`: the v1 operator API of the master. The
//! GET_* calls answer one JSON response; SUBSCRIBE answers a RecordIO stream that
//! starts with SUBSCRIBED (the whole state) and HEARTBEAT, then carries TASK_ADDED,
//! TASK_UPDATED, AGENT_ADDED, AGENT_REMOVED, FRAMEWORK_ADDED, FRAMEWORK_UPDATED and
//! FRAMEWORK_REMOVED as they happen (Mesos `v1/master/master.proto`).

use std::collections::BTreeMap;
use std::time::SystemTime;

use http::StatusCode;
use libproc::http::{Reply, Request, Response};
use libproc::Context;
use mesos_proto::mesos::Task;
use mesos_proto::v1::json::flag_list;
use mesos_proto::{AgentId, FrameworkId, Resources};
use serde_json::{json, Value};

use super::{error, refusal, JSON};
use crate::agent::Agent;
use crate::constants::{DEFAULT_HEARTBEAT_INTERVAL, MAX_PENDING_STREAM_EVENTS, MESOS_VERSION};
use crate::framework::{Framework, FrameworkState, HttpConnection};
use crate::http::v1_json::{decode_operator_call, to_json, typed, OperatorCall, OperatorCallType};
use crate::master::Master;
use mesos_proto::v1::recordio::record;

/// Serves one request of the operator API.
pub(crate) fn operator(master: &mut Master, request: Request, ctx: &mut Context<Master>) -> Reply {
    if let Some(response) = refusal(master, &request) {
        return response.into();
    }
    let kind = match decode_operator_call(&request.body) {
        Ok(OperatorCall::Served(kind)) => kind,
        Ok(OperatorCall::Unserved(name)) => {
            return error(
                StatusCode::NOT_IMPLEMENTED,
                format!("Operator call '{name}' is not supported by this master"),
            )
            .into()
        }
        Err(decode) => return error(StatusCode::BAD_REQUEST, decode.to_string()).into(),
    };
    use OperatorCallType::*;
    let (name, body) = match kind {
        SUBSCRIBE => return subscribe(master, ctx),
        GET_HEALTH => ("GET_HEALTH", json!({"healthy": true})),
        GET_FLAGS => ("GET_FLAGS", flag_list(&master.flags.to_json())),
        GET_VERSION => ("GET_VERSION", get_version()),
        GET_METRICS => ("GET_METRICS", get_metrics()),
        // This master has no verbosity levels to toggle: it logs at glog's level 0.
        GET_LOGGING_LEVEL => ("GET_LOGGING_LEVEL", json!({"level": 0})),
        GET_STATE => ("GET_STATE", get_state(master)),
        GET_AGENTS => ("GET_AGENTS", get_agents(master)),
        GET_FRAMEWORKS => ("GET_FRAMEWORKS", get_frameworks(master)),
        GET_EXECUTORS => ("GET_EXECUTORS", get_executors(master)),
        GET_TASKS => ("GET_TASKS", get_tasks(master)),
        GET_ROLES => ("GET_ROLES", get_roles(master)),
        GET_MASTER => ("GET_MASTER", get_master(master)),
    };
    Response::json(&typed(name, Some(body))).into()
}

/// SUBSCRIBE: a stream of the cluster's changes, from the current state on.
fn subscribe(master: &mut Master, ctx: &mut Context<Master>) -> Reply {
    let (response, pipe) = Response::stream(JSON, MAX_PENDING_STREAM_EVENTS);
    let stream_id = uuid::Uuid::new_v4().to_string();
    let (connection, closed) = HttpConnection::new(stream_id.clone(), pipe);
    let subscribed = typed(
        "SUBSCRIBED",
        Some(json!({
            "get_state": get_state(master),
            "heartbeat_interval_seconds": DEFAULT_HEARTBEAT_INTERVAL.as_secs_f64(),
        })),
    );
    let written = connection
        .write(record(&subscribed))
        .and_then(|()| connection.write(record(&typed("HEARTBEAT", None))));
    if written.is_ok() {
        tracing::info!(stream_id, "Operator subscribed to events");
        master
            .operator_streams
            .insert(stream_id.clone(), connection);
        crate::metrics::set(
            "master/operator_event_stream_subscribers",
            master.operator_streams.len() as f64,
        );
        let id = stream_id.clone();
        ctx.defer(closed, move |master: &mut Master, (), _| {
            master.operator_stream_closed(&id)
        });
        ctx.delay(
            DEFAULT_HEARTBEAT_INTERVAL,
            move |master: &mut Master, ctx| master.operator_heartbeat(&stream_id, ctx),
        );
    }
    response.into()
}

impl Master {
    /// Writes an event to every operator stream; a stream that cannot take it is
    /// dropped, which ends it.
    pub(crate) fn operator_event(&mut self, event: Value) {
        if self.operator_streams.is_empty() {
            return;
        }
        let record = record(&event);
        self.operator_streams.retain(|stream_id, connection| {
            let written = connection.write(record.clone());
            if let Err(error) = &written {
                tracing::warn!(%error, stream_id, "Closing an operator event stream");
            }
            written.is_ok()
        });
        crate::metrics::set(
            "master/operator_event_stream_subscribers",
            self.operator_streams.len() as f64,
        );
    }

    /// FRAMEWORK_ADDED or FRAMEWORK_UPDATED, for a framework of the master.
    pub(crate) fn framework_event(&mut self, kind: &'static str, id: &FrameworkId) {
        if self.operator_streams.is_empty() {
            return;
        }
        if let Some(framework) = self.frameworks.get(id) {
            let event = typed(
                kind,
                Some(json!({"framework": framework_json(self, framework)})),
            );
            self.operator_event(event);
        }
    }

    /// TASK_ADDED, for a task just launched.
    pub(crate) fn task_added_event(&mut self, task: &Task) {
        self.operator_event(typed("TASK_ADDED", Some(json!({"task": to_json(task)}))));
    }

    /// TASK_UPDATED: the task's latest status and state.
    pub(crate) fn task_updated_event(&mut self, task: &Task) {
        let mut body = json!({
            "framework_id": to_json(&task.framework_id),
            "state": to_json(&task.state),
        });
        if let Some(status) = task.statuses.last() {
            body["status"] = to_json(status);
        }
        self.operator_event(typed("TASK_UPDATED", Some(body)));
    }

    /// AGENT_ADDED, for an agent registered or re-registered.
    pub(crate) fn agent_added_event(&mut self, id: &AgentId) {
        if self.operator_streams.is_empty() {
            return;
        }
        if let Some(agent) = self.agents.get(id) {
            let event = typed(
                "AGENT_ADDED",
                Some(json!({"agent": agent_json(self, agent)})),
            );
            self.operator_event(event);
        }
    }

    /// AGENT_REMOVED.
    pub(crate) fn agent_removed_event(&mut self, id: &AgentId) {
        self.operator_event(typed(
            "AGENT_REMOVED",
            Some(json!({"agent_id": to_json(id)})),
        ));
    }

    fn operator_stream_closed(&mut self, stream_id: &str) {
        if self.operator_streams.remove(stream_id).is_some() {
            tracing::info!(stream_id, "Operator event stream closed");
            crate::metrics::set(
                "master/operator_event_stream_subscribers",
                self.operator_streams.len() as f64,
            );
        }
    }

    fn operator_heartbeat(&mut self, stream_id: &str, ctx: &mut Context<Self>) {
        let Some(connection) = self.operator_streams.get(stream_id) else {
            return;
        };
        if let Err(error) = connection.write(record(&typed("HEARTBEAT", None))) {
            tracing::warn!(%error, stream_id, "Closing an operator event stream");
            return self.operator_stream_closed(stream_id);
        }
        let stream_id = stream_id.to_owned();
        ctx.delay(
            DEFAULT_HEARTBEAT_INTERVAL,
            move |master: &mut Master, ctx| master.operator_heartbeat(&stream_id, ctx),
        );
    }
}

/// FRAMEWORK_REMOVED, for a framework just removed.
pub(crate) fn framework_removed(framework: &Framework) -> Value {
    typed(
        "FRAMEWORK_REMOVED",
        Some(json!({"framework_info": to_json(&framework.info)})),
    )
}

/// A `TimeInfo`: nanoseconds since the epoch.
fn nanos(time: SystemTime) -> Value {
    let nanos = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    json!({"nanoseconds": i64::try_from(nanos).unwrap_or(i64::MAX)})
}

fn sum<'a>(resources: impl Iterator<Item = &'a Resources>) -> Resources {
    resources.fold(Resources::default(), |total, r| total + r)
}

fn get_version() -> Value {
    let version = crate::http::version();
    json!({"version_info": {
        "version": MESOS_VERSION,
        "build_date": version["build_date"],
        "build_time": version["build_time"],
        "build_user": version["build_user"],
    }})
}

fn get_metrics() -> Value {
    let metrics: Vec<Value> = libproc::metrics_snapshot()
        .into_iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    json!({ "metrics": metrics })
}

fn get_master(master: &Master) -> Value {
    let start = master
        .start_time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    json!({
        "master_info": to_json(&master.info),
        "start_time": start,
        // This master leads from its start until leader election lands.
        "elected_time": start,
    })
}

/// GET_STATE: what GET_TASKS, GET_EXECUTORS, GET_FRAMEWORKS and GET_AGENTS say.
fn get_state(master: &Master) -> Value {
    json!({
        "get_tasks": get_tasks(master),
        "get_executors": get_executors(master),
        "get_frameworks": get_frameworks(master),
        "get_agents": get_agents(master),
    })
}

fn agent_json(master: &Master, agent: &Agent) -> Value {
    let offered = sum(agent
        .offers
        .iter()
        .filter_map(|id| master.offers.get(id))
        .map(|offer| &offer.resources));
    let used = agent.used_resources();
    let mut json = json!({
        "agent_info": to_json(&agent.info),
        "active": agent.active,
        "deactivated": !agent.active,
        "version": agent.version,
        "pid": agent.pid.to_string(),
        "registered_time": nanos(agent.registered_time),
        "total_resources": to_json(agent.total()),
        "allocated_resources": to_json(&sum(used.values())),
        "offered_resources": to_json(&offered),
        "capabilities": to_json(&agent.capabilities),
    });
    if let Some(time) = agent.reregistered_time {
        json["reregistered_time"] = nanos(time);
    }
    json
}

fn get_agents(master: &Master) -> Value {
    let mut agents: Vec<&Agent> = master.agents.values().collect();
    agents.sort_by(|a, b| a.id.cmp(&b.id));
    let recovered: Vec<Value> = master.recovered_agents.values().map(to_json).collect();
    json!({
        "agents": agents.into_iter().map(|a| agent_json(master, a)).collect::<Vec<_>>(),
        "recovered_agents": recovered,
    })
}

fn framework_json(master: &Master, framework: &Framework) -> Value {
    let offers: Vec<_> = framework
        .offers
        .iter()
        .filter_map(|id| master.offers.get(id))
        .collect();
    let offered = sum(offers.iter().map(|offer| &offer.resources));
    let used = framework.used_resources();
    let mut json = json!({
        "framework_info": to_json(&framework.info),
        "active": framework.state == FrameworkState::Active,
        "connected": framework.is_connected(),
        "recovered": framework.state == FrameworkState::Recovered,
        "registered_time": nanos(framework.registered_time),
        "offers": offers.iter().map(|o| to_json(*o)).collect::<Vec<_>>(),
        "allocated_resources": to_json(&sum(used.values())),
        "offered_resources": to_json(&offered),
    });
    if let Some(time) = framework.reregistered_time {
        json["reregistered_time"] = nanos(time);
    }
    if let Some(time) = framework.unregistered_time {
        json["unregistered_time"] = nanos(time);
    }
    json
}

fn get_frameworks(master: &Master) -> Value {
    let mut frameworks: Vec<&Framework> = master.frameworks.values().collect();
    frameworks.sort_by(|a, b| a.id.cmp(&b.id));
    json!({
        "frameworks": frameworks.iter().map(|f| framework_json(master, f)).collect::<Vec<_>>(),
        "completed_frameworks": master
            .completed_frameworks
            .iter()
            .map(|f| framework_json(master, f))
            .collect::<Vec<_>>(),
    })
}

fn get_executors(master: &Master) -> Value {
    let executors: Vec<Value> = master
        .frameworks
        .values()
        .flat_map(|f| f.executors.iter())
        .flat_map(|(agent_id, executors)| {
            executors.values().map(move |executor| {
                json!({"executor_info": to_json(executor), "agent_id": to_json(agent_id)})
            })
        })
        .collect();
    json!({ "executors": executors })
}

fn get_tasks(master: &Master) -> Value {
    let mut tasks = Vec::new();
    let mut unreachable = Vec::new();
    let mut completed = Vec::new();
    for framework in master
        .frameworks
        .values()
        .chain(&master.completed_frameworks)
    {
        for task in framework.tasks.values() {
            if task.state == mesos_proto::mesos::TaskState::TASK_UNREACHABLE {
                unreachable.push(to_json(task));
            } else {
                tasks.push(to_json(task));
            }
        }
        completed.extend(framework.completed_tasks.iter().map(to_json));
    }
    json!({
        "tasks": tasks,
        "unreachable_tasks": unreachable,
        "completed_tasks": completed,
    })
}

fn get_roles(master: &Master) -> Value {
    let mut roles: BTreeMap<String, (Vec<Value>, Resources)> = BTreeMap::new();
    for framework in master.frameworks.values() {
        let used = sum(framework.used_resources().values());
        for role in framework.info.roles() {
            let entry = roles.entry(role).or_default();
            entry.0.push(to_json(&framework.id));
            entry.1 += &used;
        }
    }
    let weights = master
        .flags
        .weights
        .as_deref()
        .map(crate::allocator::parse_weights)
        .and_then(Result::ok)
        .unwrap_or_default();
    let list: Vec<Value> = roles
        .into_iter()
        .map(|(name, (frameworks, allocated))| {
            json!({
                "weight": weights.get(&name).copied().unwrap_or(1.0),
                "name": name,
                "frameworks": frameworks,
                "resources": to_json(&allocated),
            })
        })
        .collect();
    json!({ "roles": list })
}
