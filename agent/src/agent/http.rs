//! The agent's own endpoints: `/state` (and `/state.json`), `/flags`, `/health`,
//! `/monitor/statistics` (each executor's container usage), in
//! the JSON shapes of Mesos's `/slave(1)/...`, so that tools and the web UI read them
//! unchanged.

use std::collections::BTreeMap;
use std::time::SystemTime;

use libproc::http::{Reply, Request, Response};
use libproc::Context;
use mesos_proto::mesos::TaskState;
use serde_json::{json, Value};

use super::executor::{Executor, ExecutorKey};
use super::Agent;
use crate::containerizer::monitor_entry;

impl Agent {
    /// Routes the endpoints.
    pub(super) fn route_endpoints(ctx: &mut Context<Self>) {
        ctx.route("/state", Agent::state_endpoint);
        ctx.route("/state.json", Agent::state_endpoint);
        ctx.route("/flags", |agent: &mut Agent, _, _| {
            Response::json(&agent.flags.to_json()).into()
        });
        ctx.route("/health", |_: &mut Agent, _, _| {
            Response::new(http::StatusCode::OK, "text/plain", "").into()
        });
        ctx.route("/monitor/statistics", Agent::statistics_endpoint);
        ctx.route("/monitor/statistics.json", Agent::statistics_endpoint);
        ctx.route("/api/v1/executor", Agent::executor_api);
        ctx.route("/api/v1", Agent::operator_api);
    }

    /// `/monitor/statistics`: per executor, what its container uses now (cgroups or
    /// procfs) against its limits. Containers that cannot be read are left out.
    fn statistics_endpoint(&mut self, _request: Request, _ctx: &mut Context<Self>) -> Reply {
        let entries: Vec<Value> = self
            .executors
            .iter()
            .filter_map(|(key, executor)| {
                let statistics = self
                    .containerizer
                    .usage(&executor.container_id)
                    .inspect_err(|error| tracing::debug!(executor_id = %key.1, %error, "No usage"))
                    .ok()?;
                let source = if executor.is_command_executor() {
                    key.1.as_str()
                } else {
                    ""
                };
                Some(monitor_entry(&key.0, &executor.info, source, &statistics))
            })
            .collect();
        Response::json(&Value::from(entries)).into()
    }

    /// `/state`: the agent, its frameworks, their executors and tasks.
    fn state_endpoint(&mut self, _request: Request, ctx: &mut Context<Self>) -> Reply {
        let attributes: serde_json::Map<String, Value> = self
            .info
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.value.to_json()))
            .collect();
        Response::json(&json!({
            "version": mesos_proto::MESOS_VERSION,
            "start_time": secs(self.start_time),
            "id": self.info.id.as_ref().map(|id| id.as_str()),
            "pid": ctx.pid().to_string(),
            "hostname": self.info.hostname,
            "resources": self.info.resources.to_flat_json(),
            "attributes": attributes,
            "master_hostname": self.master.as_ref().map(|m| m.addr.ip().to_string()),
            "flags": self.flags.to_json()["flags"],
            "frameworks": self.frameworks_json(true),
            "completed_frameworks": self.frameworks_json(false),
        }))
        .into()
    }

    /// The frameworks with executors running here (`active`), or with only completed
    /// ones, each with its executors and completed executors.
    fn frameworks_json(&self, active: bool) -> Vec<Value> {
        type Entry = (Value, Vec<Value>, Vec<Value>);
        let mut frameworks: BTreeMap<&str, Entry> = BTreeMap::new();
        let running = self.executors.iter().map(|(key, e)| (key, e, true));
        let completed = self
            .completed_executors
            .values()
            .flat_map(|executors| executors.iter().map(|(key, e)| (key, e, false)));
        for (key, executor, live) in running.chain(completed) {
            let entry = frameworks
                .entry(key.0.as_str())
                .or_insert_with(|| (framework_json(key, executor), Vec::new(), Vec::new()));
            let model = self.executor_json(key, executor);
            if live {
                entry.1.push(model);
            } else {
                entry.2.push(model);
            }
        }
        frameworks
            .into_values()
            .filter(|(_, executors, _)| executors.is_empty() != active)
            .map(|(mut model, executors, completed)| {
                model["executors"] = executors.into();
                model["completed_executors"] = completed.into();
                model
            })
            .collect()
    }

    fn executor_json(&self, key: &ExecutorKey, executor: &Executor) -> Value {
        let agent_id = self.agent_id();
        let task = |info, state: TaskState| {
            let task = executor.task(info, state, &key.0, &agent_id);
            json!({
                "id": task.task_id.as_str(),
                "name": task.name,
                "framework_id": key.0.as_str(),
                "executor_id": task.executor_id.as_ref().map_or("", |id| id.as_str()),
                "slave_id": agent_id.as_str(),
                "state": format!("{:?}", task.state),
                "resources": task.resources.to_flat_json(),
            })
        };
        let tasks: Vec<Value> = executor
            .launched
            .values()
            .filter(|(_, state)| !state.is_terminal())
            .map(|(info, state)| task(info, *state))
            .collect();
        let completed: Vec<Value> = executor
            .launched
            .values()
            .filter(|(_, state)| state.is_terminal())
            .map(|(info, state)| task(info, *state))
            .collect();
        let queued: Vec<Value> = executor
            .queued
            .iter()
            .map(|info| task(info, TaskState::TASK_STAGING))
            .collect();
        json!({
            "id": key.1.as_str(),
            "name": executor.info.name.clone().unwrap_or_default(),
            "source": "",
            "container": executor.container_id.as_str(),
            "directory": executor.directory.display().to_string(),
            "resources": executor.info.resources.to_flat_json(),
            "framework_id": key.0.as_str(),
            "tasks": tasks,
            "queued_tasks": queued,
            "completed_tasks": completed,
        })
    }
}

fn framework_json(key: &ExecutorKey, executor: &Executor) -> Value {
    let framework = &executor.framework;
    json!({
        "id": key.0.as_str(),
        "name": framework.name,
        "user": framework.user,
        "hostname": framework.hostname,
        "failover_timeout": framework.failover_timeout.unwrap_or(0.0),
        "checkpoint": framework.checkpoint.unwrap_or(false),
        "role": framework.roles.first().cloned().unwrap_or_else(|| "*".to_owned()),
        "roles": framework.roles,
    })
}

fn secs(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
