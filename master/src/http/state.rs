//! The JSON models of the state endpoints: `/state`, `/state-summary`, `/frameworks`,
//! `/slaves`, `/tasks`, `/roles`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::SystemTime;

use http::StatusCode;
use libproc::http::{HttpError, Request};
use mesos_proto::mesos::{ExecutorInfo, Offer, Task, TaskState};
use mesos_proto::{AgentId, Resources};
use serde_json::{json, Map, Value};

use crate::agent::Agent;
use crate::allocator::parse_weights;
use crate::constants::MESOS_VERSION;
use crate::framework::{Framework, FrameworkState};
use crate::master::Master;

fn secs(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn resources(resources: &Resources) -> Value {
    resources.to_flat_json()
}

/// `/state`: the whole cluster.
pub(super) fn state(master: &Master) -> Value {
    let agents: Vec<Value> = master.agents.values().map(|a| agent(master, a)).collect();
    let frameworks: Vec<Value> = master
        .frameworks
        .values()
        .map(|f| framework(master, f))
        .collect();
    let completed: Vec<Value> = master
        .completed_frameworks
        .iter()
        .map(|f| framework(master, f))
        .collect();
    let recovered: Vec<Value> = master.recovered_agents.values().map(agent_info).collect();
    let mut state = json!({
        "version": MESOS_VERSION,
        "build_date": "",
        "build_time": 0,
        "build_user": "",
        "start_time": secs(master.start_time),
        "elected_time": master.election.elected_time.map(secs),
        "id": master.info.id,
        "pid": master.info.pid,
        "hostname": master.info.hostname,
        "capabilities": ["AGENT_UPDATE"],
        "activated_slaves": master.agents.values().filter(|a| a.active).count(),
        "deactivated_slaves": master.agents.values().filter(|a| !a.active).count(),
        "unreachable_slaves": master.unreachable_agents.len(),
        "leader": master.info.pid,
        "leader_info": {"id": master.info.id, "pid": master.info.pid, "port": master.info.port, "hostname": master.info.hostname},
        "flags": master.flags.to_json()["flags"],
        "slaves": agents,
        "recovered_slaves": recovered,
        "frameworks": frameworks,
        "completed_frameworks": completed,
        "orphan_tasks": [],
        "unregistered_frameworks": [],
    });
    if let Some(cluster) = &master.flags.cluster {
        state["cluster"] = Value::from(cluster.clone());
    }
    state
}

fn agent_info(info: &mesos_proto::mesos::AgentInfo) -> Value {
    json!({
        "id": info.id.as_ref().map(|id| id.as_str()),
        "hostname": info.hostname,
        "port": info.port.unwrap_or(5051),
        "resources": resources(&info.resources),
        "attributes": attributes(info),
    })
}

fn attributes(info: &mesos_proto::mesos::AgentInfo) -> Value {
    let map: Map<String, Value> = info
        .attributes
        .iter()
        .map(|a| (a.name.clone(), a.value.to_json()))
        .collect();
    Value::Object(map)
}

fn offered<'a>(
    master: &Master,
    offer_ids: impl Iterator<Item = &'a mesos_proto::OfferId>,
) -> Resources {
    let mut total = Resources::default();
    for id in offer_ids {
        if let Some(offer) = master.offers.get(id) {
            total += &offer.resources;
        }
    }
    total
}

fn agent(master: &Master, agent: &Agent) -> Value {
    let used = agent
        .used_resources()
        .values()
        .fold(Resources::default(), |sum, r| sum + r);
    let reserved: Map<String, Value> = agent
        .total()
        .reservations()
        .into_iter()
        .map(|(role, r)| (role, resources(&r)))
        .collect();
    let mut value = agent_info(&agent.info);
    let fields = json!({
        "pid": agent.pid.to_string(),
        "registered_time": secs(agent.registered_time),
        "used_resources": resources(&used),
        "offered_resources": resources(&offered(master, agent.offers.iter())),
        "reserved_resources": reserved,
        "unreserved_resources": resources(&agent.total().unreserved()),
        "active": agent.active,
        "deactivated": !agent.active,
        "version": agent.version,
        "capabilities": agent.capabilities.iter().map(|c| format!("{:?}", c.kind)).collect::<Vec<_>>(),
    });
    merge(&mut value, fields);
    if let Some(time) = agent.reregistered_time {
        value["reregistered_time"] = Value::from(secs(time));
    }
    value
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}

/// A task as the state endpoints show it.
pub(super) fn task(task: &Task) -> Value {
    let statuses: Vec<Value> = task
        .statuses
        .iter()
        .map(|s| json!({"state": s.state.name(), "timestamp": s.timestamp.unwrap_or(0.0)}))
        .collect();
    let mut value = json!({
        "id": task.task_id.as_str(),
        "name": task.name,
        "framework_id": task.framework_id.as_str(),
        "executor_id": task.executor_id.as_ref().map_or("", |e| e.as_str()),
        "slave_id": task.agent_id.as_str(),
        "state": task.state.name(),
        "resources": resources(&task.resources),
        "statuses": statuses,
    });
    if let Some(role) = task
        .resources
        .iter()
        .find_map(|r| r.allocation_info.as_ref().map(|a| a.role.clone()))
    {
        value["role"] = Value::from(role);
    }
    if let Some(user) = &task.user {
        value["user"] = Value::from(user.clone());
    }
    value
}

fn executor(agent_id: &AgentId, executor: &ExecutorInfo) -> Value {
    let mut value = mesos_proto::json::to_value(executor).unwrap_or(Value::Null);
    value["resources"] = resources(&executor.resources);
    value["slave_id"] = Value::from(agent_id.as_str());
    value
}

fn offer(offer: &Offer) -> Value {
    json!({
        "id": offer.id.as_str(),
        "framework_id": offer.framework_id.as_str(),
        "slave_id": offer.agent_id.as_str(),
        "resources": resources(&offer.resources),
        "allocation_info": offer.allocation_info.as_ref().map(|a| json!({"role": a.role})),
    })
}

fn framework(master: &Master, framework: &Framework) -> Value {
    let used = framework
        .used_resources()
        .values()
        .fold(Resources::default(), |sum, r| sum + r);
    let offered = offered(master, framework.offers.iter());
    let (tasks, unreachable): (Vec<&Task>, Vec<&Task>) = framework
        .tasks
        .values()
        .partition(|t| t.state != TaskState::TASK_UNREACHABLE);
    let info = &framework.info;
    let mut value = json!({
        "id": framework.id.as_str(),
        "name": info.name,
        "pid": framework.pid().map(|p| p.to_string()),
        "used_resources": resources(&used),
        "offered_resources": resources(&offered),
        "resources": resources(&(used.clone() + &offered)),
        "capabilities": info.capabilities.iter().map(|c| format!("{:?}", c.kind)).collect::<Vec<_>>(),
        "hostname": info.hostname.clone().unwrap_or_default(),
        "webui_url": info.webui_url.clone().unwrap_or_default(),
        "active": framework.state == FrameworkState::Active,
        "connected": framework.is_connected(),
        "recovered": framework.state == FrameworkState::Recovered,
        "user": info.user,
        "failover_timeout": info.failover_timeout_secs(),
        "checkpoint": info.checkpoint.unwrap_or(false),
        "registered_time": secs(framework.registered_time),
        "unregistered_time": framework.unregistered_time.map_or(0.0, secs),
        "tasks": tasks.into_iter().map(task).collect::<Vec<_>>(),
        "unreachable_tasks": unreachable.into_iter().map(task).collect::<Vec<_>>(),
        "completed_tasks": framework.completed_tasks.iter().map(task).collect::<Vec<_>>(),
        "offers": framework.offers.iter().filter_map(|id| master.offers.get(id)).map(offer).collect::<Vec<_>>(),
        "executors": framework.executors.iter().flat_map(|(agent_id, executors)| executors.values().map(move |e| executor(agent_id, e))).collect::<Vec<_>>(),
    });
    if info.has_capability(mesos_proto::mesos::FrameworkCapabilityType::MULTI_ROLE) {
        value["roles"] = Value::from(info.roles());
    } else {
        value["role"] = Value::from(info.roles().into_iter().next().unwrap_or_default());
    }
    if let Some(principal) = &info.principal {
        value["principal"] = Value::from(principal.clone());
    }
    if let Some(time) = framework.reregistered_time {
        value["reregistered_time"] = Value::from(secs(time));
    }
    value
}

/// `/state-summary`: agents and frameworks with task counts, without the tasks.
pub(super) fn summary(master: &Master) -> Value {
    let states = [
        TaskState::TASK_STAGING,
        TaskState::TASK_STARTING,
        TaskState::TASK_RUNNING,
        TaskState::TASK_KILLING,
        TaskState::TASK_FINISHED,
        TaskState::TASK_KILLED,
        TaskState::TASK_FAILED,
        TaskState::TASK_LOST,
        TaskState::TASK_ERROR,
        TaskState::TASK_UNREACHABLE,
    ];
    let counts = |tasks: &mut dyn Iterator<Item = &Task>| {
        let mut by_state: HashMap<TaskState, usize> = HashMap::new();
        for task in tasks {
            *by_state.entry(task.state).or_default() += 1;
        }
        states
            .iter()
            .map(|s| {
                (
                    s.name().to_owned(),
                    Value::from(by_state.get(s).copied().unwrap_or(0)),
                )
            })
            .collect::<Map<_, _>>()
    };
    let agents: Vec<Value> = master
        .agents
        .values()
        .map(|a| {
            let mut value = agent(master, a);
            merge(
                &mut value,
                Value::Object(counts(&mut a.tasks.values().flat_map(|t| t.values()))),
            );
            value["framework_ids"] = Value::from(
                a.tasks
                    .keys()
                    .map(|f| f.as_str().to_owned())
                    .collect::<Vec<_>>(),
            );
            value
        })
        .collect();
    let frameworks: Vec<Value> = master
        .frameworks
        .values()
        .map(|f| {
            let mut value = framework(master, f);
            for key in [
                "tasks",
                "unreachable_tasks",
                "completed_tasks",
                "offers",
                "executors",
            ] {
                if let Value::Object(map) = &mut value {
                    map.remove(key);
                }
            }
            merge(
                &mut value,
                Value::Object(counts(
                    &mut f.tasks.values().chain(f.completed_tasks.iter()),
                )),
            );
            let agent_ids: BTreeSet<&str> = f.tasks.values().map(|t| t.agent_id.as_str()).collect();
            value["slave_ids"] = Value::from(agent_ids.into_iter().collect::<Vec<_>>());
            value
        })
        .collect();
    json!({"hostname": master.info.hostname, "cluster": master.flags.cluster, "slaves": agents, "frameworks": frameworks})
}

/// `/frameworks`, optionally `?framework_id=`.
pub(super) fn frameworks(master: &Master, request: &Request) -> Value {
    let wanted = request.query.get("framework_id");
    let keep = |f: &&Framework| wanted.is_none_or(|id| f.id.as_str() == id);
    json!({
        "frameworks": master.frameworks.values().filter(keep).map(|f| framework(master, f)).collect::<Vec<_>>(),
        "completed_frameworks": master.completed_frameworks.iter().filter(keep).map(|f| framework(master, f)).collect::<Vec<_>>(),
        "unregistered_frameworks": [],
    })
}

/// `/slaves`, optionally `?slave_id=`.
pub(super) fn agents(master: &Master, request: &Request) -> Value {
    let wanted = request.query.get("slave_id");
    json!({
        "slaves": master.agents.values().filter(|a| wanted.is_none_or(|id| a.id.as_str() == id)).map(|a| agent(master, a)).collect::<Vec<_>>(),
        "recovered_slaves": master.recovered_agents.values().map(agent_info).collect::<Vec<_>>(),
    })
}

/// `/tasks`: `limit` (100), `offset`, `order` (`des` or `asc`), `framework_id`, `task_id`.
pub(super) fn tasks(master: &Master, request: &Request) -> Result<Value, HttpError> {
    let number = |name: &str, default: usize| match request.query.get(name) {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| {
            HttpError::new(
                StatusCode::BAD_REQUEST,
                format!("'{name}' must be a non-negative integer"),
            )
        }),
    };
    let (limit, offset) = (number("limit", 100)?, number("offset", 0)?);
    let ascending = match request.query.get("order").map(String::as_str) {
        None | Some("des") => false,
        Some("asc") => true,
        Some(other) => {
            return Err(HttpError::new(
                StatusCode::BAD_REQUEST,
                format!("'order' must be 'asc' or 'des', not '{other}'"),
            ))
        }
    };
    let framework_id = request.query.get("framework_id");
    let task_id = request.query.get("task_id");
    let mut all: Vec<&Task> = master
        .frameworks
        .values()
        .chain(master.completed_frameworks.iter())
        .filter(|f| framework_id.is_none_or(|id| f.id.as_str() == id))
        .flat_map(|f| f.tasks.values().chain(f.completed_tasks.iter()))
        .filter(|t| task_id.is_none_or(|id| t.task_id.as_str() == id))
        .collect();
    let started = |t: &Task| t.statuses.first().and_then(|s| s.timestamp).unwrap_or(0.0);
    all.sort_by(|a, b| {
        started(a)
            .total_cmp(&started(b))
            .then_with(|| a.task_id.cmp(&b.task_id))
    });
    if !ascending {
        all.reverse();
    }
    let page: Vec<Value> = all.into_iter().skip(offset).take(limit).map(task).collect();
    Ok(json!({"tasks": page}))
}

/// `/roles`: each role with its frameworks and allocated resources.
pub(super) fn roles(master: &Master) -> Value {
    let mut roles: BTreeMap<String, (Vec<String>, Resources)> = BTreeMap::new();
    for framework in master.frameworks.values() {
        let used = framework
            .used_resources()
            .values()
            .fold(Resources::default(), |sum, r| sum + r);
        for role in framework.info.roles() {
            let entry = roles.entry(role).or_default();
            entry.0.push(framework.id.as_str().to_owned());
            entry.1 += &used;
        }
    }
    let weights = master
        .flags
        .weights
        .as_deref()
        .map(parse_weights)
        .and_then(Result::ok)
        .unwrap_or_default();
    let list: Vec<Value> = roles
        .into_iter()
        .map(|(name, (frameworks, allocated))| {
            json!({
                "name": name,
                "weight": weights.get(&name).copied().unwrap_or(1.0),
                "resources": resources(&allocated),
                "allocated": resources(&allocated),
                "frameworks": frameworks,
            })
        })
        .collect();
    json!({"roles": list})
}
