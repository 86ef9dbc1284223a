//! The master as frameworks and agents see it: registration, offers, launches, status
//! updates and acknowledgements, health checks, timeouts, reconciliation, failover,
//! restart with the file registry, endpoints, and what it does with bad input.

mod support;

use std::time::Duration;

use libproc::testing::{future_message, Match};
use libproc::{Clock, ProcessId};
use mesos_proto::mesos::{
    Filters, FrameworkCapability, FrameworkCapabilityType, StatusReason, TaskState,
};
use mesos_proto::messages::*;
use mesos_proto::scheduler::{Acknowledge, Call, CallType, Decline, Kill, ReconcileTask};
use mesos_proto::TaskId;
use support::*;

#[tokio::test]
async fn a_framework_is_offered_an_agents_resources() {
    let master = start_master(flags()).await;
    let (_, agent, offer) =
        framework_with_offer(master.pid(), "cpus:4;mem:1024;ports:[31000-32000]").await;
    assert_eq!(offer.agent_id, agent.id);
    assert_eq!(offer.resources.cpus(), Some(4.0));
    assert_eq!(offer.resources.mem(), Some(1024.0));
    assert_eq!(offer.hostname, "agent.test");
    assert_eq!(offer.allocation_info.map(|a| a.role), Some("*".to_owned()));
}

#[tokio::test]
async fn a_launched_task_runs_and_its_updates_are_acknowledged() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:4;mem:1024").await;
    let run = launch_one(master, &scheduler, &agent, &offer, "t1").await;
    assert_eq!(run.task.task_id, TaskId::from("t1"));
    assert_eq!(
        run.pid.as_deref(),
        Some(scheduler.pid().to_string().as_str())
    );
    assert_eq!(run.launch_executor, Some(true));

    for (state, uuid) in [(TaskState::TASK_RUNNING, 1), (TaskState::TASK_FINISHED, 2)] {
        let forwarded = future_message::<StatusUpdateMessage>(master, scheduler.pid());
        send(
            &agent.addr,
            master,
            update(&agent, &scheduler, "t1", state, uuid),
        )
        .await;
        let forwarded = within("the update at the scheduler", forwarded).await;
        assert_eq!(forwarded.update.status.state, state);
        assert_eq!(
            forwarded.pid,
            Some(agent.pid().to_string()),
            "the agent gets the ack"
        );

        let acked = future_message::<StatusUpdateAcknowledgementMessage>(master, agent.pid());
        let acknowledge = Acknowledge {
            agent_id: agent.id.clone(),
            task_id: "t1".into(),
            uuid: vec![uuid; 16],
        };
        scheduler.acknowledge(master, acknowledge).await;
        assert_eq!(
            within("the ack at the agent", acked).await.uuid,
            vec![uuid; 16]
        );
    }
    let (status, state) = get(master, "/master/state").await;
    assert_eq!(status, 200);
    let framework = &state["frameworks"][0];
    assert_eq!(framework["tasks"].as_array().map(Vec::len), Some(0));
    assert_eq!(framework["completed_tasks"][0]["state"], "TASK_FINISHED");
    assert_eq!(
        framework["completed_tasks"][0]["slave_id"],
        agent.id.as_str()
    );
}

#[tokio::test]
async fn invalid_tasks_get_task_error_and_the_rest_launch() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    let run = future_message::<RunTaskMessage>(master, agent.pid());
    let error = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    let tasks = vec![
        command_task("too-big", &offer, "cpus:8;mem:128"),
        command_task("ok", &offer, "cpus:1;mem:128"),
    ];
    scheduler.accept(master, &offer, tasks).await;
    let error = within("TASK_ERROR", error).await.update.status;
    assert_eq!(error.task_id, TaskId::from("too-big"));
    assert_eq!(error.state, TaskState::TASK_ERROR);
    assert_eq!(error.reason, Some(StatusReason::REASON_TASK_INVALID));
    assert_eq!(
        within("the valid task", run).await.task.task_id,
        TaskId::from("ok")
    );

    // The same id again, on the next offer, is refused.
    let offers = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    scheduler.revive(master).await;
    let offer = within("the next offer", offers).await.offers.remove(0);
    let duplicate = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    scheduler
        .accept(
            master,
            &offer,
            vec![command_task("ok", &offer, "cpus:0.5;mem:32")],
        )
        .await;
    let duplicate = within("TASK_ERROR for a duplicate id", duplicate)
        .await
        .update
        .status;
    assert_eq!(duplicate.state, TaskState::TASK_ERROR);
    assert!(duplicate
        .message
        .unwrap_or_default()
        .contains("already in use"));
}

#[tokio::test]
async fn an_offer_that_is_not_the_frameworks_loses_its_tasks() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (owner, _agent, offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    let thief = subscribe(master, framework_info("thief")).await;
    let lost = future_message::<StatusUpdateMessage>(master, thief.pid());
    thief
        .accept(
            master,
            &offer,
            vec![command_task("stolen", &offer, "cpus:1;mem:32")],
        )
        .await;
    let lost = within("TASK_LOST", lost).await.update;
    assert_eq!(lost.status.state, TaskState::TASK_LOST);
    assert_eq!(
        lost.status.reason,
        Some(StatusReason::REASON_INVALID_OFFERS)
    );
    assert_eq!(
        lost.uuid, None,
        "master-generated updates need no acknowledgement"
    );

    // The owner's offer is still good.
    let run = future_message::<RunTaskMessage>(master, Match::Any);
    owner
        .accept(
            master,
            &offer,
            vec![command_task("mine", &offer, "cpus:1;mem:32")],
        )
        .await;
    assert_eq!(
        within("the owner's task", run).await.task.task_id,
        TaskId::from("mine")
    );
}

#[tokio::test]
async fn declined_resources_come_back_after_revive() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, _agent, offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    let decline = Decline {
        offer_ids: vec![offer.id.clone()],
        filters: Some(Filters {
            refuse_seconds: Some(3600.0),
        }),
    };
    scheduler.decline(master, decline).await;
    let offers = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    scheduler.revive(master).await;
    let again = within("offers after revive", offers).await;
    assert_eq!(again.offers[0].resources.cpus(), Some(2.0));
    assert_ne!(again.offers[0].id, offer.id);
}

#[tokio::test]
async fn an_agent_that_misses_its_pings_is_unreachable_and_its_tasks_lost() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    launch_one(master, &scheduler, &agent, &offer, "t1").await;
    libproc::dispatch(&agent.addr, |agent, _| agent.answer_pings = false)
        .await
        .unwrap();
    let lost_task = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    let lost_agent = future_message::<LostSlaveMessage>(master, scheduler.pid());
    Clock::pause();
    for _ in 0..6 {
        Clock::advance(Duration::from_secs(15));
        Clock::settle().await;
    }
    let update = within("TASK_LOST", lost_task).await.update;
    assert_eq!(update.status.state, TaskState::TASK_LOST);
    assert_eq!(
        update.status.reason,
        Some(StatusReason::REASON_SLAVE_REMOVED)
    );
    assert!(update.status.unreachable_time.is_some());
    assert_eq!(
        within("LostSlaveMessage", lost_agent).await.slave_id,
        agent.id
    );
    Clock::resume();
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(state["unreachable_slaves"], 1);
    assert_eq!(state["slaves"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn partition_aware_frameworks_see_unreachable_and_the_agent_comes_back() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let mut info = framework_info("aware");
    info.capabilities.push(FrameworkCapability {
        kind: FrameworkCapabilityType::PARTITION_AWARE,
    });
    let scheduler = subscribe(master, info).await;
    let offers = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    let agent = register_agent(master, "cpus:2;mem:256").await;
    let offer = within("offers", offers).await.offers.remove(0);
    let run = launch_one(master, &scheduler, &agent, &offer, "t1").await;
    libproc::dispatch(&agent.addr, |agent, _| agent.answer_pings = false)
        .await
        .unwrap();
    let unreachable = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    Clock::pause();
    for _ in 0..6 {
        Clock::advance(Duration::from_secs(15));
        Clock::settle().await;
    }
    Clock::resume();
    assert_eq!(
        within("TASK_UNREACHABLE", unreachable)
            .await
            .update
            .status
            .state,
        TaskState::TASK_UNREACHABLE
    );

    // The agent re-registers with its running task: it is re-admitted with it.
    let mut info = agent_info("cpus:2;mem:256");
    info.id = Some(agent.id.clone());
    let task = mesos_proto::mesos::Task {
        name: "t1".into(),
        task_id: "t1".into(),
        framework_id: scheduler.id.clone(),
        agent_id: agent.id.clone(),
        state: TaskState::TASK_RUNNING,
        resources: run.task.resources.clone(),
        ..Default::default()
    };
    let reregistered = future_message::<SlaveReregisteredMessage>(master, agent.pid());
    let message = ReregisterSlaveMessage {
        slave: info,
        tasks: vec![task],
        version: "1.11.0".into(),
        ..Default::default()
    };
    send(&agent.addr, master, message).await;
    within("re-registration", reregistered).await;
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(state["unreachable_slaves"], 0);
    assert_eq!(state["frameworks"][0]["tasks"][0]["state"], "TASK_RUNNING");
}

#[tokio::test]
async fn offers_are_rescinded_after_the_offer_timeout() {
    let master = start_master(mesos_master::flags::Flags {
        offer_timeout: Some(Duration::from_secs(30)),
        ..flags()
    })
    .await;
    let master = master.pid();
    Clock::pause();
    let (scheduler, _agent, offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    let rescinded = future_message::<RescindResourceOfferMessage>(master, scheduler.pid());
    Clock::advance(Duration::from_secs(31));
    Clock::settle().await;
    assert_eq!(within("the rescind", rescinded).await.offer_id, offer.id);
    Clock::resume();
}

#[tokio::test]
async fn a_framework_whose_failover_timeout_expires_is_removed_with_its_tasks() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let mut info = framework_info("short-lived");
    info.failover_timeout = Some(60.0);
    let scheduler = subscribe(master, info).await;
    let offers = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    let agent = register_agent(master, "cpus:2;mem:256").await;
    let offer = within("offers", offers).await.offers.remove(0);
    launch_one(master, &scheduler, &agent, &offer, "t1").await;

    Clock::pause();
    let shutdown = future_message::<ShutdownFrameworkMessage>(master, agent.pid());
    libproc::terminate(scheduler.pid());
    libproc::wait(scheduler.pid()).await;
    Clock::settle().await;
    Clock::advance(Duration::from_secs(59));
    Clock::settle().await;
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(
        state["frameworks"][0]["connected"], false,
        "still waiting for a failover"
    );
    Clock::advance(Duration::from_secs(2));
    Clock::settle().await;
    assert_eq!(
        within("ShutdownFrameworkMessage", shutdown)
            .await
            .framework_id,
        scheduler.id
    );
    Clock::resume();
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(
        state["completed_frameworks"][0]["completed_tasks"][0]["state"],
        "TASK_KILLED"
    );
}

#[tokio::test]
async fn a_new_scheduler_takes_over_the_framework() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let mut info = framework_info("failing-over");
    info.failover_timeout = Some(3600.0);
    let old = subscribe(master, info.clone()).await;
    let told = future_message::<FrameworkErrorMessage>(master, old.pid());
    let new = libproc::spawn(Peer, ProcessId::generate("scheduler")).unwrap();
    let registered = future_message::<FrameworkRegisteredMessage>(master, new.pid());
    info.id = Some(old.id.clone());
    let mut call = subscribe_call(info);
    call.subscribe.as_mut().unwrap().force = Some(true);
    send(&new, master, call).await;
    assert_eq!(
        within("the new registration", registered)
            .await
            .framework_id,
        old.id
    );
    assert_eq!(
        within("the old scheduler's error", told).await.message,
        "Framework failed over"
    );
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(state["frameworks"][0]["pid"], new.pid().to_string());
}

#[tokio::test]
async fn reconciliation_answers_known_and_unknown_tasks_without_uuid() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    launch_one(master, &scheduler, &agent, &offer, "known").await;

    let implicit = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    scheduler.reconcile(master, vec![]).await;
    let implicit = within("implicit reconciliation", implicit).await.update;
    assert_eq!(implicit.status.task_id, TaskId::from("known"));
    assert_eq!(implicit.status.state, TaskState::TASK_STAGING);
    assert_eq!(
        implicit.status.reason,
        Some(StatusReason::REASON_RECONCILIATION)
    );
    assert_eq!(implicit.uuid, None);

    let explicit = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    let unknown = ReconcileTask {
        task_id: "never-launched".into(),
        agent_id: Some(agent.id.clone()),
    };
    scheduler.reconcile(master, vec![unknown]).await;
    let explicit = within("explicit reconciliation", explicit)
        .await
        .update
        .status;
    assert_eq!(explicit.state, TaskState::TASK_LOST, "not partition-aware");

    // A kill of an unknown task is answered by reconciliation too.
    let answer = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    let kill = Kill {
        task_id: "nobody".into(),
        agent_id: None,
        kill_policy: None,
    };
    scheduler.kill(master, kill).await;
    assert_eq!(
        within("the kill's answer", answer)
            .await
            .update
            .status
            .task_id,
        TaskId::from("nobody")
    );

    // A kill of a known task goes to its agent.
    let killed = future_message::<KillTaskMessage>(master, agent.pid());
    let kill = Kill {
        task_id: "known".into(),
        agent_id: None,
        kill_policy: None,
    };
    scheduler.kill(master, kill).await;
    assert_eq!(
        within("the kill at the agent", killed).await.task_id,
        TaskId::from("known")
    );
}

#[tokio::test]
async fn calls_from_strangers_and_unknown_frameworks_are_dropped() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    let stranger = libproc::spawn(Peer, ProcessId::generate("stranger")).unwrap();
    // A stranger uses the framework's id: ignored.
    let mut call = Call {
        kind: CallType::ACCEPT,
        ..Default::default()
    };
    call.framework_id = Some(scheduler.id.clone());
    call.accept = Some(mesos_proto::scheduler::Accept {
        offer_ids: vec![offer.id.clone()],
        operations: vec![launch(vec![command_task(
            "hijack",
            &offer,
            "cpus:1;mem:32",
        )])],
        filters: None,
    });
    send(&stranger, master, call).await;
    // An unknown framework id, a subscription without user, an oversized task id.
    let unknown = Call {
        framework_id: Some("no-such-framework".into()),
        kind: CallType::TEARDOWN,
        ..Default::default()
    };
    send(&stranger, master, unknown).await;
    let refused = future_message::<FrameworkErrorMessage>(master, stranger.pid());
    send(
        &stranger,
        master,
        subscribe_call(mesos_proto::mesos::FrameworkInfo {
            name: "no user".into(),
            ..Default::default()
        }),
    )
    .await;
    assert!(within("the refusal", refused)
        .await
        .message
        .contains("'user' must be set"));

    // The offer was not used by the stranger: the real framework still launches on it.
    let too_long = "x".repeat(10_000);
    let error = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    let run = future_message::<RunTaskMessage>(master, agent.pid());
    scheduler
        .accept(
            master,
            &offer,
            vec![
                command_task(&too_long, &offer, "cpus:1;mem:32"),
                command_task("fine", &offer, "cpus:1;mem:32"),
            ],
        )
        .await;
    assert_eq!(
        within("TASK_ERROR for the long id", error)
            .await
            .update
            .status
            .state,
        TaskState::TASK_ERROR
    );
    assert_eq!(
        within("the valid task", run).await.task.task_id,
        TaskId::from("fine")
    );
}

#[tokio::test]
async fn endpoints_serve_mesos_shapes() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) =
        framework_with_offer(master, "cpus:4;mem:1024;ports:[31000-32000]").await;
    launch_one(master, &scheduler, &agent, &offer, "t1").await;
    let (status, version) = get(master, "/version").await;
    assert_eq!((status, version["version"].as_str()), (200, Some("1.11.0")));
    for path in ["/master/state", "/state", "/state.json", "/master/state/"] {
        let (status, state) = get(master, path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(state["slaves"][0]["resources"]["cpus"], 4.0, "{path}");
        assert_eq!(
            state["slaves"][0]["resources"]["ports"], "[31000-32000]",
            "{path}"
        );
    }
    let (_, slaves) = get(master, "/master/slaves").await;
    assert_eq!(slaves["slaves"][0]["id"], agent.id.as_str());
    let (_, frameworks) = get(master, "/master/frameworks").await;
    assert_eq!(frameworks["frameworks"][0]["tasks"][0]["id"], "t1");
    let (_, tasks) = get(master, "/master/tasks?limit=10&order=asc").await;
    assert_eq!(tasks["tasks"][0]["slave_id"], agent.id.as_str());
    assert_eq!(get(master, "/master/tasks?limit=-1").await.0, 400);
    let (_, summary) = get(master, "/master/state-summary").await;
    assert_eq!(summary["slaves"][0]["TASK_STAGING"], 1);
    let (_, roles) = get(master, "/master/roles").await;
    assert_eq!(roles["roles"][0]["name"], "*");
    let (_, flags) = get(master, "/master/flags").await;
    assert_eq!(flags["flags"]["registry"], "in_memory");
    assert_eq!(get(master, "/master/health").await.0, 200);
    assert_eq!(get(master, "/master/redirect").await.0, 307);
    let (_, metrics) = get(master, "/metrics/snapshot").await;
    assert!(metrics["master/messages_register_slave"].as_u64() >= Some(1));
    assert!(metrics["master/messages_scheduler_call"].as_u64() >= Some(1));
}

#[tokio::test]
async fn after_a_restart_with_the_file_registry_agents_come_back_with_their_tasks() {
    let work_dir =
        std::env::temp_dir().join(format!("mesos-master-restart-{}", std::process::id()));
    let file_flags = || mesos_master::flags::Flags {
        registry: mesos_master::flags::RegistryBackend::ReplicatedLog,
        work_dir: Some(work_dir.clone()),
        ..flags()
    };
    let first = start_master(file_flags()).await;
    let master = first.pid().clone();
    let mut info = framework_info("survivor");
    info.failover_timeout = Some(3600.0);
    info.checkpoint = Some(true);
    let scheduler = subscribe(&master, info.clone()).await;
    let offers = future_message::<ResourceOffersMessage>(&master, scheduler.pid());
    let agent = register_agent(&master, "cpus:2;mem:256").await;
    let offer = within("offers", offers).await.offers.remove(0);
    let run = launch_one(&master, &scheduler, &agent, &offer, "t1").await;

    libproc::terminate(&master);
    libproc::wait(&master).await;
    let second = start_master(file_flags()).await;
    assert_eq!(second.pid(), &master, "the same address and id");
    let (_, state) = get(&master, "/master/state").await;
    assert_eq!(
        state["recovered_slaves"][0]["id"],
        agent.id.as_str(),
        "the registry remembers the agent"
    );

    let mut agent_info = agent_info("cpus:2;mem:256");
    agent_info.id = Some(agent.id.clone());
    info.id = Some(scheduler.id.clone());
    let task = mesos_proto::mesos::Task {
        name: "t1".into(),
        task_id: "t1".into(),
        framework_id: scheduler.id.clone(),
        agent_id: agent.id.clone(),
        state: TaskState::TASK_RUNNING,
        resources: run.task.resources.clone(),
        ..Default::default()
    };
    let reregistered = future_message::<SlaveReregisteredMessage>(&master, agent.pid());
    let message = ReregisterSlaveMessage {
        slave: agent_info,
        tasks: vec![task],
        frameworks: vec![info.clone()],
        version: "1.11.0".into(),
        ..Default::default()
    };
    send(&agent.addr, &master, message).await;
    within("re-registration", reregistered).await;

    // The scheduler re-subscribes: a master that did not know it says "registered".
    let registered = future_message::<FrameworkRegisteredMessage>(&master, scheduler.pid());
    let mut call = subscribe_call(info);
    call.subscribe.as_mut().unwrap().force = Some(true);
    send(&scheduler.addr, &master, call).await;
    assert_eq!(
        within("re-subscription", registered).await.framework_id,
        scheduler.id
    );
    let (_, state) = get(&master, "/master/state").await;
    assert_eq!(state["slaves"][0]["id"], agent.id.as_str());
    assert_eq!(state["recovered_slaves"].as_array().map(Vec::len), Some(0));
    let framework = &state["frameworks"][0];
    assert_eq!(framework["active"], true);
    assert_eq!(framework["tasks"][0]["id"], "t1");
    assert_eq!(framework["tasks"][0]["state"], "TASK_RUNNING");
    std::fs::remove_dir_all(&work_dir).ok();
}
