//! Failures of a scheduler, an agent or the master, and what survives them.

use std::collections::BTreeMap;

use mesos_proto::mesos::{Filters, FrameworkInfo, TaskState};
use mesos_scheduler_driver::{SchedulerDriver, Status};
use mesos_tests::{
    binary, command_task, framework_info, session_alive, until, Cluster, Event, Framework, Spawned,
    TASK_RESOURCES,
};
use serde_json::Value;

/// A framework whose tasks survive agent restarts and which may fail over for `secs`.
pub(crate) fn checkpointing(name: &str, failover_timeout: f64) -> FrameworkInfo {
    FrameworkInfo {
        checkpoint: Some(true),
        failover_timeout: Some(failover_timeout),
        ..framework_info(name)
    }
}

/// `/master/state`'s framework `id` among the current frameworks.
pub(crate) fn framework_in<'a>(state: &'a Value, id: &str) -> Option<&'a Value> {
    state["frameworks"]
        .as_array()?
        .iter()
        .find(|framework| framework["id"] == id)
}

/// The state of task `task` of framework `id`, as `/master/state` shows it.
pub(crate) fn task_state<'a>(state: &'a Value, id: &str, task: &str) -> Option<&'a str> {
    framework_in(state, id)?["tasks"]
        .as_array()?
        .iter()
        .find(|entry| entry["id"] == task)?["state"]
        .as_str()
}

#[test]
fn a_new_scheduler_takes_over_a_stopped_one_with_tasks_still_running() {
    let cluster = Cluster::builder("scheduler-failover").agent(&[]).start();
    let info = checkpointing("scheduler-failover", 60.0);
    let first = Framework::start(info.clone(), &cluster.master());
    let id = first.registered();
    first.launch("sleeper", "sleep 1000");
    first.updates_until("sleeper", TaskState::TASK_RUNNING);
    let executors = cluster.executor_pids(0);

    assert_eq!(first.driver.stop(true), Status::DRIVER_STOPPED);
    drop(first);
    let second = Framework::start(
        FrameworkInfo {
            id: Some(id.clone()),
            ..info
        },
        &cluster.master(),
    );

    assert_eq!(
        second.registered(),
        id,
        "the new scheduler gets the same framework"
    );
    let state = cluster.until("the framework active with its task running", |state| {
        framework_in(state, id.as_str())
            .is_some_and(|f| f["active"] == true && f["connected"] == true)
            && task_state(state, id.as_str(), "sleeper") == Some("TASK_RUNNING")
    });
    assert_eq!(state["frameworks"].as_array().map(Vec::len), Some(1));
    assert_eq!(cluster.executor_pids(0), executors, "the same executor");
    assert!(session_alive(executors[0]), "the executor still runs");
}

#[test]
fn a_framework_not_back_within_its_failover_timeout_is_removed_with_its_tasks() {
    let cluster = Cluster::builder("failover-timeout").agent(&[]).start();
    // The scheduler runs in its own process, so that killing it breaks its socket, the
    // only way the master learns a scheduler is gone.
    let mut scheduler = Spawned::start(
        &binary("mesos-tests-framework"),
        &[
            format!("--master={}", cluster.master()),
            "--name=short-failover".to_owned(),
            "--failover_timeout=1".to_owned(),
            "--checkpoint".to_owned(),
            "--task_id=sleeper".to_owned(),
            "--command=sleep 1000".to_owned(),
        ],
        &cluster.dir().join("framework.log"),
    );
    let state = cluster.until("the framework's task running", |state| {
        state["frameworks"][0]["tasks"][0]["state"] == "TASK_RUNNING"
    });
    let id = state["frameworks"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let executors = cluster.executor_pids(0);
    assert_eq!(executors.len(), 1, "one executor runs the task");

    scheduler.kill();

    cluster.until("the framework removed", |state| {
        framework_in(state, &id).is_none()
            && state["completed_frameworks"]
                .as_array()
                .is_some_and(|done| done.iter().any(|f| f["id"] == id.as_str()))
    });
    until("the task's processes to be gone", || {
        (!session_alive(executors[0])).then_some(())
    });
}

#[test]
fn a_restarted_agent_recovers_its_running_task_which_later_finishes() {
    let mut cluster = Cluster::builder("agent-recovery").agent(&[]).start();
    let agent = cluster.agent_id(0);
    let framework = Framework::start(checkpointing("agent-recovery", 60.0), &cluster.master());
    let id = framework.registered();
    let go = cluster.dir().join("go");
    let command = format!("while [ ! -e {} ]; do sleep 0.05; done", go.display());
    framework.launch("waiter", &command);
    framework.updates_until("waiter", TaskState::TASK_RUNNING);
    let executors = cluster.executor_pids(0);
    assert_eq!(executors.len(), 1, "one executor runs the task");

    cluster.restart_agent(0);

    assert_eq!(cluster.agent_id(0), agent, "the agent recovers its id");
    until("the recovered agent to show the task running", || {
        let state = cluster.agent_state(0)?;
        let running = state["frameworks"]
            .as_array()?
            .iter()
            .filter(|f| f["id"] == id.as_str())
            .flat_map(|f| f["executors"].as_array().into_iter().flatten())
            .flat_map(|e| e["tasks"].as_array().into_iter().flatten())
            .any(|task| task["id"] == "waiter" && task["state"] == "TASK_RUNNING");
        running.then_some(())
    });
    assert_eq!(cluster.executor_pids(0), executors, "the same executor");
    assert!(
        session_alive(executors[0]),
        "the executor survived the agent"
    );

    std::fs::write(&go, b"").expect("let the task finish");

    framework.updates_until("waiter", TaskState::TASK_FINISHED);
}

#[test]
fn a_restarted_master_gets_its_agents_frameworks_and_tasks_back() {
    let mut cluster = Cluster::builder("master-failover").agents(2, &[]).start();
    let agents = [cluster.agent_id(0), cluster.agent_id(1)];
    let framework = Framework::start(checkpointing("master-failover", 60.0), &cluster.master());
    let id = framework.registered();
    // One task on each agent.
    let mut offered = BTreeMap::new();
    while offered.len() < 2 {
        for offer in framework.offers() {
            offered.entry(offer.agent_id.clone()).or_insert(offer);
        }
    }
    for (index, offer) in offered.values().enumerate() {
        let id = format!("sleeper-{}", index + 1);
        let task = command_task(&id, offer, TASK_RESOURCES, "sleep 1000");
        framework
            .driver
            .launch_tasks(vec![offer.id.clone()], vec![task], Filters::default());
    }
    framework.updates_until("sleeper-1", TaskState::TASK_RUNNING);
    framework.updates_until("sleeper-2", TaskState::TASK_RUNNING);

    cluster.restart_master();

    // A driver re-subscribing to a master that failed over hears `registered` (the
    // MESOS-786 quirk) when the master re-creates the framework, else `reregistered`.
    let again = framework.until("the scheduler to subscribe again", |event| match event {
        Event::Registered(again, _) => Some(again.clone()),
        Event::Reregistered(_) => Some(id.clone()),
        _ => None,
    });
    assert_eq!(again, id, "the same framework");
    for (index, agent) in agents.iter().enumerate() {
        assert_eq!(&cluster.agent_id(index), agent, "agent {index} is back");
    }
    cluster.until(
        "the framework and both tasks back in /master/state",
        |state| {
            framework_in(state, id.as_str()).is_some_and(|f| f["active"] == true)
                && ["sleeper-1", "sleeper-2"]
                    .iter()
                    .all(|task| task_state(state, id.as_str(), task) == Some("TASK_RUNNING"))
        },
    );
    for index in 0..2 {
        let executors = cluster.executor_pids(index);
        assert_eq!(executors.len(), 1, "agent {index} ran one executor");
        assert!(
            session_alive(executors[0]),
            "agent {index}'s executor still runs"
        );
    }
}
