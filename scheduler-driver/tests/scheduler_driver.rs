//! `MesosSchedulerDriver` against a real master and agent: registration, offers,
//! launches, kills, reconciliation, acknowledgements, failover, stop and abort.

mod support;

use libproc::testing::{future_message, Match};
use mesos_proto::mesos::{Filters, StatusReason, TaskState, TaskStatus};
use mesos_proto::scheduler::{Call, CallType};
use mesos_scheduler_driver::{SchedulerDriver, Status};

use support::*;

#[tokio::test]
async fn a_framework_registers_and_gets_offers() {
    let cluster = Cluster::start("offers").await;
    let (driver, mut events) = started(framework("offers"), &cluster.master);
    let framework_id = events.registered().await;
    let offer = events.offer().await;
    assert_eq!(offer.framework_id, framework_id);
    let cpus = offer
        .resources
        .scalars()
        .get("cpus")
        .map(|cpus| cpus.value());
    assert_eq!(cpus, Some(2.0), "{}", offer.resources);
    assert_eq!(driver.stop(false), Status::DRIVER_STOPPED);
    assert_eq!(join(&driver).await, Status::DRIVER_STOPPED);
}

#[tokio::test]
async fn a_command_task_runs_and_finishes() {
    let cluster = Cluster::start("finish").await;
    let (driver, mut events) = started(framework("finish"), &cluster.master);
    let offer = events.offer().await;
    let task = command_task("hello", &offer, "echo hi");
    assert_eq!(
        driver.launch_tasks(vec![offer.id.clone()], vec![task], Filters::default()),
        Status::DRIVER_RUNNING
    );
    let states = events.states_until("hello", TaskState::TASK_FINISHED).await;
    let running = states.iter().position(|s| *s == TaskState::TASK_RUNNING);
    assert!(
        running.is_some(),
        "TASK_RUNNING comes before the end: {states:?}"
    );
    driver.stop(false);
}

#[tokio::test]
async fn a_declined_offer_comes_back_after_revive() {
    let cluster = Cluster::start("revive").await;
    let (driver, mut events) = started(framework("revive"), &cluster.master);
    let offer = events.offer().await;
    let an_hour = Filters {
        refuse_seconds: Some(3600.0),
    };
    driver.decline_offer(offer.id.clone(), an_hour);
    // The decline and the revive travel in order on one connection: the offer that
    // follows can only come from the revive, since the filter holds for an hour.
    driver.revive_offers();
    let again = events.offer().await;
    assert_eq!(again.agent_id, offer.agent_id);
    assert_ne!(again.id, offer.id);
    driver.stop(false);
}

#[tokio::test]
async fn a_killed_task_ends_killed() {
    let cluster = Cluster::start("kill").await;
    let (driver, mut events) = started(framework("kill"), &cluster.master);
    let offer = events.offer().await;
    let task = command_task("sleeper", &offer, "sleep 1000");
    driver.launch_tasks(vec![offer.id], vec![task], Filters::default());
    events
        .states_until("sleeper", TaskState::TASK_RUNNING)
        .await;
    assert_eq!(driver.kill_task("sleeper".into()), Status::DRIVER_RUNNING);
    let states = events.states_until("sleeper", TaskState::TASK_KILLED).await;
    assert!(
        states
            .iter()
            .all(|s| !s.is_terminal() || *s == TaskState::TASK_KILLED),
        "{states:?}"
    );
    driver.stop(false);
}

#[tokio::test]
async fn reconciliation_reports_the_task_state() {
    let cluster = Cluster::start("reconcile").await;
    let (driver, mut events) = started(framework("reconcile"), &cluster.master);
    let offer = events.offer().await;
    let agent_id = offer.agent_id.clone();
    let task = command_task("sleeper", &offer, "sleep 1000");
    driver.launch_tasks(vec![offer.id], vec![task], Filters::default());
    events
        .states_until("sleeper", TaskState::TASK_RUNNING)
        .await;

    let explicit = TaskStatus {
        task_id: "sleeper".into(),
        agent_id: Some(agent_id),
        ..TaskStatus::default()
    };
    driver.reconcile_tasks(vec![explicit]);
    let answer = events.update("sleeper").await;
    assert_eq!(answer.state, TaskState::TASK_RUNNING);
    assert_eq!(answer.reason, Some(StatusReason::REASON_RECONCILIATION));
    assert_eq!(
        answer.uuid, None,
        "reconciliation answers need no acknowledgement"
    );

    driver.reconcile_tasks(Vec::new());
    let implicit = events.update("sleeper").await;
    assert_eq!(implicit.state, TaskState::TASK_RUNNING);
    assert_eq!(implicit.reason, Some(StatusReason::REASON_RECONCILIATION));
    driver.stop(false);
}

#[tokio::test]
async fn explicit_acknowledgements_release_the_next_update() {
    let cluster = Cluster::start("explicit").await;
    let (driver, mut events) = driver(
        framework("explicit"),
        &cluster.master.to_string(),
        false,
        None,
    );
    driver.start();
    let offer = events.offer().await;
    let task = command_task("hello", &offer, "echo hi");
    driver.launch_tasks(vec![offer.id], vec![task], Filters::default());
    // The agent sends a task's next update only once the previous one is
    // acknowledged, so reaching TASK_FINISHED proves every acknowledgement went out.
    loop {
        let status = events.update("hello").await;
        assert!(status.uuid.is_some(), "agent updates carry their uuid");
        let state = status.state;
        assert_eq!(
            driver.acknowledge_status_update(status),
            Status::DRIVER_RUNNING
        );
        if state == TaskState::TASK_FINISHED {
            break;
        }
    }
    driver.stop(false);
}

#[tokio::test]
async fn acknowledging_with_implicit_acknowledgements_aborts() {
    runtime();
    let (driver, mut events) = started(framework("implicit"), &nowhere());
    let status = TaskStatus {
        task_id: "t".into(),
        ..TaskStatus::default()
    };
    assert_eq!(
        driver.acknowledge_status_update(status),
        Status::DRIVER_ABORTED
    );
    assert!(events.error().await.contains("implicit acknowledgements"));
    assert_eq!(join(&driver).await, Status::DRIVER_ABORTED);
}

#[tokio::test]
async fn a_launch_without_master_is_reported_lost() {
    runtime();
    let (driver, mut events) = started(framework("lost"), &nowhere());
    let offer = mesos_proto::mesos::Offer {
        id: "unknown-offer".into(),
        agent_id: "unknown-agent".into(),
        ..Default::default()
    };
    let task = command_task("orphan", &offer, "true");
    driver.launch_tasks(vec![offer.id], vec![task], Filters::default());
    let status = events.update("orphan").await;
    assert_eq!(status.state, TaskState::TASK_LOST);
    assert_eq!(
        status.reason,
        Some(StatusReason::REASON_MASTER_DISCONNECTED)
    );
    assert_eq!(status.uuid, None);
    driver.abort();
}

#[tokio::test]
async fn a_new_driver_with_the_framework_id_takes_over() {
    let cluster = Cluster::start("failover").await;
    let (first, mut first_events) = started(framework("failover"), &cluster.master);
    let framework_id = first_events.registered().await;

    let info = mesos_proto::mesos::FrameworkInfo {
        id: Some(framework_id.clone()),
        ..framework("failover")
    };
    let (second, mut second_events) = started(info, &cluster.master);
    assert_eq!(second_events.registered().await, framework_id);
    assert_eq!(first_events.error().await, "Framework failed over");
    assert_eq!(join(&first).await, Status::DRIVER_ABORTED);
    second_events.offer().await;
    second.stop(false);
}

#[tokio::test]
async fn callbacks_may_call_the_driver_and_stop_it() {
    let cluster = Cluster::start("reentrant").await;
    let reaction = Box::new(|driver: &dyn SchedulerDriver, event: &Event| match event {
        Event::Registered(..) => {
            assert_eq!(driver.reconcile_tasks(Vec::new()), Status::DRIVER_RUNNING);
            assert_eq!(driver.request_resources(Vec::new()), Status::DRIVER_RUNNING);
        }
        Event::Offers(offers) => {
            let offer = &offers[0];
            let task = command_task("hello", offer, "echo hi");
            let status =
                driver.launch_tasks(vec![offer.id.clone()], vec![task], Filters::default());
            assert_eq!(status, Status::DRIVER_RUNNING);
        }
        Event::Update(status) if status.state == TaskState::TASK_FINISHED => {
            assert_eq!(driver.stop(false), Status::DRIVER_STOPPED);
        }
        _ => {}
    });
    let (driver, mut events) = support::driver(
        framework("reentrant"),
        &cluster.master.to_string(),
        true,
        Some(reaction),
    );
    driver.start();
    events.states_until("hello", TaskState::TASK_FINISHED).await;
    assert_eq!(join(&driver).await, Status::DRIVER_STOPPED);
}

#[tokio::test]
async fn a_driver_without_master_keeps_retrying_and_aborts_promptly() {
    runtime();
    let master = nowhere();
    let first = future_message::<Call>(Match::Any, &master);
    let (driver, _events) = started(framework("absent"), &master);
    assert_eq!(within("a SUBSCRIBE", first).await.kind, CallType::SUBSCRIBE);
    let retry = future_message::<Call>(Match::Any, &master);
    assert_eq!(
        within("a second SUBSCRIBE", retry).await.kind,
        CallType::SUBSCRIBE
    );
    assert_eq!(driver.abort(), Status::DRIVER_ABORTED);
    assert_eq!(join(&driver).await, Status::DRIVER_ABORTED);
}

#[tokio::test]
async fn stopping_without_failover_removes_the_framework() {
    let cluster = Cluster::start("teardown").await;
    let (driver, mut events) = started(framework("teardown"), &cluster.master);
    let id = events.registered().await;
    driver.stop(false);
    until_state(&cluster.master, "the framework's removal", |state| {
        state["completed_frameworks"]
            .as_array()
            .is_some_and(|done| done.iter().any(|f| f["id"] == id.as_str()))
    })
    .await;
}

#[tokio::test]
async fn stopping_with_failover_keeps_the_framework() {
    let cluster = Cluster::start("keep").await;
    let (driver, mut events) = started(framework("keep"), &cluster.master);
    let id = events.registered().await;
    assert_eq!(driver.stop(true), Status::DRIVER_STOPPED);
    until_state(&cluster.master, "the framework's disconnection", |state| {
        state["frameworks"].as_array().is_some_and(|live| {
            live.iter()
                .any(|f| f["id"] == id.as_str() && f["connected"] == false)
        })
    })
    .await;
}

#[tokio::test]
async fn the_driver_registers_again_with_a_restarted_master() {
    let master = start_master().await;
    let (driver, mut events) = started(framework("restart"), &master);
    let id = events.registered().await;

    libproc::terminate(&master);
    libproc::wait(&master).await;
    events
        .until("the disconnection", |event| {
            matches!(event, Event::Disconnected).then_some(())
        })
        .await;
    let restarted = start_master().await;
    assert_eq!(restarted, master, "the same pid");
    // The new master does not know the framework: it registers it again under its id.
    assert_eq!(events.registered().await, id);
    driver.stop(false);
}
