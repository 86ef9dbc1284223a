//! High availability: three masters elected through a real ZooKeeper; the leader is
//! killed, ZooKeeper is killed, a server of an ensemble is killed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mesos_proto::mesos::{Filters, TaskState};
use mesos_scheduler_driver::SchedulerDriver;
use mesos_tests::{
    command_task, get_status_and_location, until, Cluster, Event, Framework, TASK_RESOURCES,
};
use serde_json::Value;

use crate::fault_tolerance::{checkpointing, framework_in, task_state};

/// Whether master `index` says it leads, from its metrics (`None` while it does not
/// answer).
fn elected(cluster: &Cluster, index: usize) -> Option<bool> {
    let metrics = cluster.master_json_at(index, "/metrics/snapshot")?;
    Some(metrics["master/elected"] == 1.0)
}

/// The masters that say they lead now; the test fails when two do.
fn leaders(cluster: &Cluster) -> Vec<usize> {
    let leading: Vec<usize> = (0..cluster.master_count())
        .filter(|&index| elected(cluster, index) == Some(true))
        .collect();
    assert!(
        leading.len() <= 1,
        "split brain: masters {leading:?} all lead"
    );
    leading
}

#[test]
fn killing_the_leading_master_fails_over_without_losing_a_task() {
    let mut cluster = Cluster::builder("ha-failover")
        .high_availability(3, 1)
        .agents(2, &[])
        .start();
    let agents = [cluster.agent_id(0), cluster.agent_id(1)];
    let framework = Framework::start(checkpointing("ha-failover", 60.0), &cluster.master());
    let id = framework.registered();
    let go = cluster.dir().join("go");
    let mut offered = BTreeMap::new();
    while offered.len() < 2 {
        for offer in framework.offers() {
            offered.entry(offer.agent_id.clone()).or_insert(offer);
        }
    }
    // A sleeper on each agent, and a task on the first that finishes when told.
    for (index, offer) in offered.values().enumerate() {
        let mut tasks = vec![command_task(
            &format!("sleeper-{}", index + 1),
            offer,
            TASK_RESOURCES,
            "sleep 1000",
        )];
        if index == 0 {
            let wait = format!("while [ ! -e {} ]; do sleep 0.1; done", go.display());
            tasks.push(command_task("finisher", offer, TASK_RESOURCES, &wait));
        }
        framework
            .driver
            .launch_tasks(vec![offer.id.clone()], tasks, Filters::default());
    }
    for task in ["sleeper-1", "sleeper-2", "finisher"] {
        framework.updates_until(task, TaskState::TASK_RUNNING);
    }

    let old = cluster.kill_master();
    // The task finishes while no master (or a new one) leads: its update waits in
    // the agent's status update manager until the new leader acknowledges it.
    std::fs::write(&go, b"").expect("let the finisher finish");
    let new = cluster.leader();
    assert_ne!(new, old, "another master leads");

    let again = framework.until("the scheduler to subscribe again", |event| match event {
        Event::Registered(again, _) => Some(again.clone()),
        Event::Reregistered(_) => Some(id.clone()),
        _ => None,
    });
    assert_eq!(again, id, "the same framework");
    for (index, agent) in agents.iter().enumerate() {
        assert_eq!(
            &cluster.agent_id(index),
            agent,
            "agent {index} re-registered"
        );
    }
    framework.updates_until("finisher", TaskState::TASK_FINISHED);
    cluster.until(
        "the framework and both sleepers running on the new leader",
        |state| {
            framework_in(state, id.as_str()).is_some_and(|f| f["active"] == true)
                && ["sleeper-1", "sleeper-2"]
                    .iter()
                    .all(|task| task_state(state, id.as_str(), task) == Some("TASK_RUNNING"))
        },
    );
    let state = cluster.master_state().expect("the leader's state");
    assert_eq!(
        state["leader"], state["pid"],
        "the leader names itself: {state}"
    );
    assert!(
        state["elected_time"].as_f64().is_some(),
        "elected_time is set"
    );
}

#[test]
fn followers_redirect_to_the_leader_and_answer_503_without_one() {
    let mut cluster = Cluster::builder("ha-redirect")
        .high_availability(3, 1)
        .start();
    let leader = cluster.leader();
    let leader_addr = cluster.master_addr(leader);
    let follower = (leader + 1) % 3;
    let addr = cluster.master_addr(follower);
    let location = until("the follower to redirect to the leader", || {
        let (status, location) = get_status_and_location(addr, "/master/state")?;
        (status == 307).then_some(location)
    });
    assert_eq!(location, Some(format!("//{leader_addr}/master/state")));
    for path in [
        "/master/frameworks",
        "/master/slaves",
        "/master/tasks",
        "/master/roles",
    ] {
        let (status, location) = get_status_and_location(addr, path).expect("an answer");
        assert_eq!(status, 307, "{path}");
        assert_eq!(location, Some(format!("//{leader_addr}{path}")), "{path}");
    }
    let (status, location) = get_status_and_location(addr, "/master/redirect").expect("an answer");
    assert_eq!((status, location), (307, Some(format!("//{leader_addr}"))));
    for path in ["/master/health", "/master/flags", "/master/version", "/"] {
        let (status, _) = get_status_and_location(addr, path).expect("an answer");
        assert_eq!(status, 200, "every master serves {path}");
    }
    assert_eq!(elected(&cluster, follower), Some(false));

    // Without ZooKeeper, nobody leads; the leader stops, the followers do not know
    // whom to redirect to once their sessions are gone.
    cluster.zookeeper().kill(0);
    until("the leader to stop", || cluster.master_exit(leader));
    until("the follower to answer 503", || {
        let (status, _) = get_status_and_location(addr, "/master/state")?;
        (status == 503).then_some(())
    });
}

#[test]
fn zookeeper_killed_and_restarted_never_leaves_two_leaders() {
    let mut cluster = Cluster::builder("ha-zk-restart")
        .high_availability(3, 1)
        .agents(1, &[])
        .start();
    let agent = cluster.agent_id(0);
    let first = cluster.leader();
    assert_eq!(leaders(&cluster), vec![first]);

    cluster.zookeeper().kill(0);
    // The leader's session ends with ZooKeeper: it must stop leading, and exit.
    let status = until("the leader to exit", || {
        leaders(&cluster);
        cluster.master_exit(first)
    });
    assert!(
        !status.success(),
        "a master that lost leadership exits non-zero"
    );

    cluster.zookeeper().restart(0);
    // A supervisor restarts the old leader, as Mesos's docs ask.
    cluster.kill_master_at(first);
    cluster.start_master_at(first);
    let deadline = Instant::now() + Duration::from_secs(60);
    let leader = until("a new leader", || {
        let leading = leaders(&cluster);
        assert!(Instant::now() < deadline);
        leading.first().copied()
    });
    assert_eq!(&cluster.agent_id(0), &agent, "the agent is back");
    // Sampled a while longer: still one leader.
    for _ in 0..50 {
        assert_eq!(leaders(&cluster), vec![leader]);
    }
}

#[test]
fn a_zookeeper_ensemble_with_one_server_down_keeps_working() {
    let mut cluster = Cluster::builder("ha-ensemble")
        .high_availability(3, 3)
        .agents(1, &[])
        .start();
    let agent = cluster.agent_id(0);
    cluster.zookeeper().kill(0);
    let framework = Framework::start(checkpointing("ha-ensemble", 60.0), &cluster.master());
    let id = framework.registered();
    framework.launch("sleeper", "sleep 1000");
    framework.updates_until("sleeper", TaskState::TASK_RUNNING);

    let old = cluster.kill_master();
    let new = cluster.leader();
    assert_ne!(old, new);
    assert_eq!(&cluster.agent_id(0), &agent, "the agent re-registered");
    cluster.until("the task running on the new leader", |state: &Value| {
        task_state(state, id.as_str(), "sleeper") == Some("TASK_RUNNING")
    });
}
