//! Frameworks and agents through their lives, as Mesos's master treats them: a
//! scheduler subscribing again (or repeating its first subscription), a second
//! scheduler, teardown, deactivation (also when it comes late), suppression; agents
//! that unregister, lose their connection and come back; executors and their
//! messages; task groups; status updates that release resources or come from
//! strangers; and the counters and gauges of `/metrics/snapshot`.

mod support;

use std::time::Duration;

use libproc::testing::{future_exited, future_message};
use libproc::{Clock, Pid, ProcessId};
use mesos_proto::mesos::{
    CommandInfo, ExecutorInfo, ExecutorType, Filters, LaunchGroup, Offer, OfferOperation,
    OperationType, StatusReason, Task, TaskGroupInfo, TaskInfo, TaskState,
};
use mesos_proto::messages::*;
use mesos_proto::scheduler::{Accept, Call, CallType, Decline, FrameworkMessage, Shutdown};
use mesos_proto::{FrameworkId, Resources, TaskId};
use serde_json::Value;
use support::*;

/// ACCEPT of one offer; what is left is refused for `refuse_seconds` (default 5).
fn accept(offer: &Offer, operations: Vec<OfferOperation>, refuse_seconds: Option<f64>) -> Call {
    let accept = Accept {
        offer_ids: vec![offer.id.clone()],
        operations,
        filters: refuse_seconds.map(|seconds| Filters {
            refuse_seconds: Some(seconds),
        }),
    };
    Call {
        accept: Some(accept),
        ..call(CallType::ACCEPT)
    }
}

/// SUBSCRIBE with the framework's id, as a scheduler re-subscribing sends it.
fn resubscribe_call(name: &str, id: &FrameworkId, force: bool) -> Call {
    let mut info = framework_info(name);
    info.id = Some(id.clone());
    let mut call = subscribe_call(info);
    if let Some(subscribe) = call.subscribe.as_mut() {
        subscribe.force = Some(force);
    }
    call
}

/// A framework in `/master/state`'s `list` (`frameworks` or `completed_frameworks`).
fn framework<'a>(state: &'a Value, list: &str, id: &FrameworkId) -> &'a Value {
    state[list]
        .as_array()
        .and_then(|frameworks| frameworks.iter().find(|f| f["id"] == id.as_str()))
        .unwrap_or_else(|| panic!("framework {id} in {list}: {state}"))
}

fn length(list: &Value) -> Option<usize> {
    list.as_array().map(Vec::len)
}

/// A framework's own executor, with a command the agent would run.
fn custom_executor(id: &str) -> ExecutorInfo {
    ExecutorInfo {
        kind: Some(ExecutorType::CUSTOM),
        executor_id: id.into(),
        command: Some(CommandInfo {
            value: Some("./test-executor".into()),
            ..Default::default()
        }),
        resources: Resources::parse("cpus:0.1;mem:32", "*").unwrap(),
        ..Default::default()
    }
}

/// Mesos's default executor, as a task group names it: no command.
fn default_executor(id: &str) -> ExecutorInfo {
    ExecutorInfo {
        kind: Some(ExecutorType::DEFAULT),
        executor_id: id.into(),
        resources: Resources::parse("cpus:0.1;mem:32", "*").unwrap(),
        ..Default::default()
    }
}

fn launch_group(executor: &ExecutorInfo, tasks: Vec<TaskInfo>) -> OfferOperation {
    OfferOperation {
        kind: OperationType::LAUNCH_GROUP,
        launch: None,
        launch_group: Some(LaunchGroup {
            executor: executor.clone(),
            task_group: TaskGroupInfo { tasks },
        }),
    }
}

/// A framework whose task `t1` runs on its own executor `exec` at the agent.
async fn task_on_custom_executor(master: &Pid) -> (Scheduler, TestAgent) {
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    let run = future_message::<RunTaskMessage>(master, agent.pid());
    let task = TaskInfo {
        name: "t1".into(),
        task_id: "t1".into(),
        agent_id: offer.agent_id.clone(),
        resources: Resources::parse("cpus:1;mem:128", "*").unwrap(),
        executor: Some(custom_executor("exec")),
        ..Default::default()
    };
    scheduler.accept(master, &offer, vec![task]).await;
    let run = within("the task at the agent", run).await;
    assert_eq!(
        run.task.executor.map(|e| e.executor_id),
        Some("exec".into())
    );
    assert_eq!(run.launch_executor, Some(true));
    (scheduler, agent)
}

#[tokio::test]
async fn the_same_scheduler_subscribing_again_is_reregistered_and_its_offers_rescinded() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, _agent, offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    let rescinded = future_message::<RescindResourceOfferMessage>(master, scheduler.pid());
    let reregistered = future_message::<FrameworkReregisteredMessage>(master, scheduler.pid());
    let offered_again = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    let again = resubscribe_call("test", &scheduler.id, false);
    send(&scheduler.addr, master, again).await;
    assert_eq!(
        within("the re-registration", reregistered)
            .await
            .framework_id,
        scheduler.id
    );
    assert_eq!(within("the rescind", rescinded).await.offer_id, offer.id);

    // Still active: the rescinded resources come back to it in a new offer.
    let offers = within("the next offer", offered_again).await.offers;
    assert_ne!(offers[0].id, offer.id);
    assert_eq!(offers[0].resources.cpus(), Some(2.0));
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(length(&state["frameworks"]), Some(1));
    assert_eq!(state["frameworks"][0]["pid"], scheduler.pid().to_string());
}

#[tokio::test]
async fn a_second_scheduler_without_force_is_refused_while_the_first_is_connected() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let mut info = framework_info("contested");
    info.failover_timeout = Some(3600.0);
    let first = subscribe(master, info).await;
    let mut first_told = future_message::<FrameworkErrorMessage>(master, first.pid());
    let second = spawn_scheduler();
    let refused = future_message::<FrameworkErrorMessage>(master, second.pid());
    send(
        &second,
        master,
        resubscribe_call("contested", &first.id, false),
    )
    .await;
    assert_eq!(
        within("the refusal", refused).await.message,
        "Framework failed over"
    );

    // The first scheduler keeps the framework: the next agent is offered to it.
    let offers = future_message::<ResourceOffersMessage>(master, first.pid());
    let _agent = register_agent(master, "cpus:2;mem:256").await;
    within("offers to the first scheduler", offers).await;
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(length(&state["frameworks"]), Some(1));
    assert_eq!(state["frameworks"][0]["pid"], first.pid().to_string());
    assert_eq!(state["frameworks"][0]["active"], true);
    Clock::settle().await;
    assert!(
        still_pending(&mut first_told),
        "the first scheduler is not told to go"
    );
}

#[tokio::test]
async fn a_torn_down_framework_is_shut_down_on_its_agents_and_cannot_come_back() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    launch_one(master, &scheduler, &agent, &offer, "t1").await;
    let shutdown = future_message::<ShutdownFrameworkMessage>(master, agent.pid());
    scheduler.call(master, call(CallType::TEARDOWN)).await;
    assert_eq!(
        within("ShutdownFrameworkMessage", shutdown)
            .await
            .framework_id,
        scheduler.id
    );
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(length(&state["frameworks"]), Some(0));
    let removed = framework(&state, "completed_frameworks", &scheduler.id);
    assert_eq!(removed["completed_tasks"][0]["id"], "t1");
    assert_eq!(removed["completed_tasks"][0]["state"], "TASK_KILLED");
    assert_eq!(state["slaves"][0]["used_resources"]["cpus"], 0.0);

    // Not even a scheduler failing over may bring it back.
    let comeback = spawn_scheduler();
    let refused = future_message::<FrameworkErrorMessage>(master, comeback.pid());
    send(
        &comeback,
        master,
        resubscribe_call("test", &scheduler.id, true),
    )
    .await;
    assert_eq!(
        within("the refusal", refused).await.message,
        "Framework has been removed"
    );
}

#[tokio::test]
async fn a_deactivated_framework_keeps_its_tasks_and_gets_no_offers_until_it_subscribes_again() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:4;mem:1024").await;
    launch_one(master, &scheduler, &agent, &offer, "t1").await;
    let offers = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    scheduler.call(master, revive()).await;
    let outstanding = within("the rest of the agent", offers)
        .await
        .offers
        .remove(0);

    let rescinded = future_message::<RescindResourceOfferMessage>(master, scheduler.pid());
    let deactivate = DeactivateFrameworkMessage {
        framework_id: scheduler.id.clone(),
    };
    send(&scheduler.addr, master, deactivate).await;
    assert_eq!(
        within("the rescind", rescinded).await.offer_id,
        outstanding.id
    );
    let (_, state) = get(master, "/master/state").await;
    let deactivated = &state["frameworks"][0];
    assert_eq!(deactivated["active"], false);
    assert_eq!(deactivated["connected"], true);
    assert_eq!(deactivated["tasks"][0]["id"], "t1");

    // A REVIVE does not bring offers back...
    let mut offers = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    scheduler.call(master, revive()).await;
    Clock::settle().await;
    assert!(
        still_pending(&mut offers),
        "no offers to a deactivated framework"
    );
    // ...subscribing again does.
    let reregistered = future_message::<FrameworkReregisteredMessage>(master, scheduler.pid());
    let again = resubscribe_call("test", &scheduler.id, false);
    send(&scheduler.addr, master, again).await;
    within("the re-registration", reregistered).await;
    let offer = within("offers after re-subscribing", offers)
        .await
        .offers
        .remove(0);
    assert_eq!(offer.resources.cpus(), Some(3.0));
}

#[tokio::test]
async fn a_deactivation_arriving_after_the_scheduler_disconnected_is_ignored() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let mut info = framework_info("aborting");
    info.failover_timeout = Some(60.0);
    let scheduler = subscribe(master, info).await;
    let agent = register_agent(master, "cpus:2;mem:256").await;
    Clock::pause();
    let exited = future_exited(scheduler.pid(), master);
    libproc::terminate(scheduler.pid());
    libproc::wait(scheduler.pid()).await;
    within("the master's notice of the broken link", exited).await;
    // The driver's abort sent it before it went; it travels on another connection than
    // the master's link, so it may come in after the link broke.
    let late = libproc::spawn(Peer, scheduler.pid().id.clone()).unwrap();
    let deactivate = DeactivateFrameworkMessage {
        framework_id: scheduler.id.clone(),
    };
    send(&late, master, deactivate).await;
    Clock::settle().await;
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(state["frameworks"][0]["connected"], false);

    // The failover timeout still removes it.
    let shutdown = future_message::<ShutdownFrameworkMessage>(master, agent.pid());
    Clock::advance(Duration::from_secs(61));
    Clock::settle().await;
    assert_eq!(
        within("ShutdownFrameworkMessage", shutdown)
            .await
            .framework_id,
        scheduler.id
    );
    Clock::resume();
}

#[tokio::test]
async fn a_suppressed_framework_gets_no_offers_until_it_revives() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let scheduler = subscribe(master, framework_info("quiet")).await;
    let suppress = Call {
        suppress: Some(Default::default()),
        ..call(CallType::SUPPRESS)
    };
    scheduler.call(master, suppress).await;
    let mut offers = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    let _agent = register_agent(master, "cpus:2;mem:256").await;
    Clock::pause();
    for _ in 0..3 {
        // Allocation cycles run every second.
        Clock::advance(Duration::from_secs(1));
        Clock::settle().await;
    }
    assert!(
        still_pending(&mut offers),
        "no offers to a suppressed framework"
    );
    scheduler.call(master, revive()).await;
    let offer = within("offers after REVIVE", offers).await.offers.remove(0);
    assert_eq!(offer.resources.cpus(), Some(2.0));
    Clock::resume();
}

#[tokio::test]
async fn an_agent_that_unregisters_is_removed_and_its_tasks_are_lost() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    launch_one(master, &scheduler, &agent, &offer, "t1").await;
    let lost_task = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    let lost_agent = future_message::<LostSlaveMessage>(master, scheduler.pid());
    let unregister = UnregisterSlaveMessage {
        slave_id: agent.id.clone(),
    };
    send(&agent.addr, master, unregister).await;
    let status = within("TASK_LOST", lost_task).await.update.status;
    assert_eq!(status.task_id, TaskId::from("t1"));
    assert_eq!(status.state, TaskState::TASK_LOST);
    assert_eq!(status.reason, Some(StatusReason::REASON_SLAVE_REMOVED));
    assert_eq!(
        within("LostSlaveMessage", lost_agent).await.slave_id,
        agent.id
    );
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(length(&state["slaves"]), Some(0));
    assert_eq!(state["unreachable_slaves"], 0, "removed, not unreachable");
    assert_eq!(
        state["frameworks"][0]["completed_tasks"][0]["state"],
        "TASK_LOST"
    );
}

#[tokio::test]
async fn an_unregistration_from_a_pid_that_is_not_the_agents_is_ignored() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, _offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    let other = register_agent(master, "cpus:1;mem:128").await;
    let lost = future_message::<LostSlaveMessage>(master, scheduler.pid());
    let stranger = libproc::spawn(Peer, ProcessId::generate("stranger")).unwrap();
    let forged = UnregisterSlaveMessage {
        slave_id: agent.id.clone(),
    };
    send(&stranger, master, forged).await;
    // The other agent's own unregistration takes the same path, after the forged one:
    // the first agent the framework hears lost is that one.
    let genuine = UnregisterSlaveMessage {
        slave_id: other.id.clone(),
    };
    send(&other.addr, master, genuine).await;
    assert_eq!(within("LostSlaveMessage", lost).await.slave_id, other.id);
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(length(&state["slaves"]), Some(1));
    assert_eq!(state["slaves"][0]["id"], agent.id.as_str());
}

#[tokio::test]
async fn a_disconnected_agent_is_deactivated_and_only_checkpointing_frameworks_keep_its_tasks() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (plain, agent, offer) = framework_with_offer(master, "cpus:4;mem:1024").await;
    // `plain` takes a part and refuses the rest for an hour, which leaves it to
    // `checkpointing`.
    let run = future_message::<RunTaskMessage>(master, agent.pid());
    let task = command_task("plain-task", &offer, "cpus:1;mem:128");
    plain
        .call(
            master,
            accept(&offer, vec![launch(vec![task])], Some(3600.0)),
        )
        .await;
    within("plain's task at the agent", run).await;

    let mut info = framework_info("checkpointing");
    info.checkpoint = Some(true);
    let addr = spawn_scheduler();
    let offers = future_message::<ResourceOffersMessage>(master, addr.pid());
    let checkpointing = subscribe_from(addr, master, info).await;
    let offer = within("checkpointing's offer", offers)
        .await
        .offers
        .remove(0);
    let run = future_message::<RunTaskMessage>(master, agent.pid());
    let task = command_task("kept-task", &offer, "cpus:1;mem:128");
    checkpointing.accept(master, &offer, vec![task]).await;
    within("checkpointing's task at the agent", run).await;
    let offers = future_message::<ResourceOffersMessage>(master, checkpointing.pid());
    checkpointing.call(master, revive()).await;
    let outstanding = within("the rest of the agent", offers)
        .await
        .offers
        .remove(0);

    let rescinded = future_message::<RescindResourceOfferMessage>(master, checkpointing.pid());
    let lost = future_message::<StatusUpdateMessage>(master, plain.pid());
    libproc::terminate(agent.pid());
    libproc::wait(agent.pid()).await;
    assert_eq!(
        within("the rescind", rescinded).await.offer_id,
        outstanding.id
    );
    let status = within("TASK_LOST", lost).await.update.status;
    assert_eq!(status.task_id, TaskId::from("plain-task"));
    assert_eq!(status.state, TaskState::TASK_LOST);
    assert_eq!(status.reason, Some(StatusReason::REASON_SLAVE_DISCONNECTED));

    let (_, state) = get(master, "/master/state").await;
    assert_eq!(state["deactivated_slaves"], 1);
    assert_eq!(state["slaves"][0]["active"], false);
    assert_eq!(state["slaves"][0]["deactivated"], true);
    let gone = framework(&state, "frameworks", &plain.id);
    assert_eq!(length(&gone["tasks"]), Some(0));
    assert_eq!(gone["completed_tasks"][0]["state"], "TASK_LOST");
    let kept = framework(&state, "frameworks", &checkpointing.id);
    assert_eq!(length(&kept["tasks"]), Some(1));
    assert_eq!(kept["tasks"][0]["id"], "kept-task");
    assert_eq!(kept["tasks"][0]["state"], "TASK_STAGING");
}

#[tokio::test]
async fn an_agent_reregistering_after_a_disconnect_is_told_the_tasks_it_did_not_report() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let mut info = framework_info("checkpointing");
    info.checkpoint = Some(true);
    let scheduler = subscribe(master, info.clone()).await;
    let offers = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    let agent = register_agent(master, "cpus:2;mem:256").await;
    let offer = within("offers", offers).await.offers.remove(0);
    let runs = [
        future_message::<RunTaskMessage>(master, agent.pid()),
        future_message::<RunTaskMessage>(master, agent.pid()),
    ];
    let tasks = vec![
        command_task("reported", &offer, "cpus:1;mem:128"),
        command_task("forgotten", &offer, "cpus:1;mem:128"),
    ];
    scheduler.accept(master, &offer, tasks).await;
    for run in runs {
        within("a task at the agent", run).await;
    }

    let exited = future_exited(agent.pid(), master);
    libproc::terminate(agent.pid());
    libproc::wait(agent.pid()).await;
    within("the master's notice of the broken link", exited).await;

    // The agent comes back in a new process and reports one of its two tasks.
    let restarted = libproc::spawn(
        PingingAgent { answer_pings: true },
        ProcessId::generate("slave"),
    )
    .unwrap();
    let reregistered = future_message::<SlaveReregisteredMessage>(master, restarted.pid());
    let mut slave = agent_info("cpus:2;mem:256");
    slave.id = Some(agent.id.clone());
    info.id = Some(scheduler.id.clone());
    let reported = Task {
        name: "reported".into(),
        task_id: "reported".into(),
        framework_id: scheduler.id.clone(),
        agent_id: agent.id.clone(),
        state: TaskState::TASK_RUNNING,
        resources: Resources::parse("cpus:1;mem:128", "*").unwrap(),
        ..Default::default()
    };
    let message = ReregisterSlaveMessage {
        slave,
        tasks: vec![reported],
        frameworks: vec![info],
        version: "1.11.0".into(),
        ..Default::default()
    };
    send(&restarted, master, message).await;
    let reregistered = within("the re-registration", reregistered).await;
    assert_eq!(reregistered.slave_id, agent.id);
    assert_eq!(reregistered.reconciliations.len(), 1);
    let reconciliation = &reregistered.reconciliations[0];
    assert_eq!(reconciliation.framework_id, scheduler.id);
    let unreported: Vec<&str> = reconciliation
        .statuses
        .iter()
        .map(|s| s.task_id.as_str())
        .collect();
    assert_eq!(unreported, ["forgotten"]);
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(state["slaves"][0]["active"], true);
    assert_eq!(state["slaves"][0]["pid"], restarted.pid().to_string());
}

#[tokio::test]
async fn messages_between_a_scheduler_and_its_executor_pass_through_the_master() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent) = task_on_custom_executor(master).await;

    let to_scheduler = future_message::<ExecutorToFrameworkMessage>(master, scheduler.pid());
    let from_executor = ExecutorToFrameworkMessage {
        slave_id: agent.id.clone(),
        framework_id: scheduler.id.clone(),
        executor_id: "exec".into(),
        data: b"from the executor".to_vec(),
    };
    send(&agent.addr, master, from_executor).await;
    let received = within("the executor's message", to_scheduler).await;
    assert_eq!(received.executor_id, "exec".into());
    assert_eq!(received.data, b"from the executor");

    let to_agent = future_message::<FrameworkToExecutorMessage>(master, agent.pid());
    let message = FrameworkMessage {
        agent_id: agent.id.clone(),
        executor_id: "exec".into(),
        data: b"from the scheduler".to_vec(),
    };
    let message = Call {
        message: Some(message),
        ..call(CallType::MESSAGE)
    };
    scheduler.call(master, message).await;
    let received = within("the scheduler's message", to_agent).await;
    assert_eq!(received.framework_id, scheduler.id);
    assert_eq!(received.slave_id, agent.id);
    assert_eq!(received.executor_id, "exec".into());
    assert_eq!(received.data, b"from the scheduler");
}

#[tokio::test]
async fn a_shut_down_executors_exit_reaches_the_scheduler_and_it_leaves_the_state() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent) = task_on_custom_executor(master).await;
    let (_, state) = get(master, "/master/state").await;
    let executors = &state["frameworks"][0]["executors"];
    assert_eq!(length(executors), Some(1));
    assert_eq!(executors[0]["executor_id"]["value"], "exec");

    let shutdown = future_message::<ShutdownExecutorMessage>(master, agent.pid());
    let call = Call {
        shutdown: Some(Shutdown {
            executor_id: "exec".into(),
            agent_id: agent.id.clone(),
        }),
        ..call(CallType::SHUTDOWN)
    };
    scheduler.call(master, call).await;
    let shutdown = within("ShutdownExecutorMessage", shutdown).await;
    assert_eq!(shutdown.executor_id, Some("exec".into()));
    assert_eq!(shutdown.framework_id, Some(scheduler.id.clone()));

    let forwarded = future_message::<ExitedExecutorMessage>(master, scheduler.pid());
    let exited = ExitedExecutorMessage {
        slave_id: agent.id.clone(),
        framework_id: scheduler.id.clone(),
        executor_id: "exec".into(),
        status: 0,
    };
    send(&agent.addr, master, exited).await;
    let forwarded = within("the executor's exit", forwarded).await;
    assert_eq!(forwarded.executor_id, "exec".into());
    assert_eq!(forwarded.slave_id, agent.id);
    assert_eq!(forwarded.status, 0);
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(length(&state["frameworks"][0]["executors"]), Some(0));
}

#[tokio::test]
async fn a_task_group_reaches_the_agent_in_one_message() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:4;mem:1024").await;
    let executor = default_executor("default");
    let group = future_message::<RunTaskGroupMessage>(master, agent.pid());
    let tasks = vec![
        command_task("g1", &offer, "cpus:1;mem:128"),
        command_task("g2", &offer, "cpus:1;mem:128"),
    ];
    let operations = vec![launch_group(&executor, tasks)];
    scheduler
        .call(master, accept(&offer, operations, None))
        .await;
    let group = within("RunTaskGroupMessage", group).await;
    assert_eq!(group.framework.id, Some(scheduler.id.clone()));
    assert_eq!(group.executor.executor_id, "default".into());
    assert_eq!(group.launch_executor, Some(true));
    let ids: Vec<&str> = group
        .task_group
        .tasks
        .iter()
        .map(|t| t.task_id.as_str())
        .collect();
    assert_eq!(ids, ["g1", "g2"]);
    for task in &group.task_group.tasks {
        assert_eq!(
            task.executor.as_ref().map(|e| &e.executor_id),
            Some(&"default".into()),
            "each task names the group's executor, as Mesos sets it"
        );
    }

    let (_, state) = get(master, "/master/state").await;
    let framework = &state["frameworks"][0];
    assert_eq!(length(&framework["tasks"]), Some(2));
    for task in framework["tasks"].as_array().unwrap() {
        assert_eq!(task["state"], "TASK_STAGING");
        assert_eq!(task["executor_id"], "default");
    }
    assert_eq!(framework["executors"][0]["executor_id"]["value"], "default");
}

#[tokio::test]
async fn one_invalid_task_fails_its_whole_group() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:4;mem:1024").await;
    let mut launched = future_message::<RunTaskGroupMessage>(master, agent.pid());
    let errors = [
        future_message::<StatusUpdateMessage>(master, scheduler.pid()),
        future_message::<StatusUpdateMessage>(master, scheduler.pid()),
    ];
    let tasks = vec![
        command_task("fits", &offer, "cpus:1;mem:128"),
        command_task("bad/id", &offer, "cpus:1;mem:128"),
    ];
    let operations = vec![launch_group(&default_executor("default"), tasks)];
    scheduler
        .call(master, accept(&offer, operations, None))
        .await;
    let mut failed = Vec::new();
    for error in errors {
        failed.push(within("TASK_ERROR", error).await.update.status);
    }
    failed.sort_by(|a, b| a.task_id.cmp(&b.task_id));
    let ids: Vec<&str> = failed.iter().map(|s| s.task_id.as_str()).collect();
    assert_eq!(ids, ["bad/id", "fits"]);
    for status in &failed {
        assert_eq!(status.state, TaskState::TASK_ERROR);
        assert_eq!(status.reason, Some(StatusReason::REASON_TASK_GROUP_INVALID));
        assert!(
            status.message.as_deref().unwrap_or("").contains("bad/id"),
            "{status:?}"
        );
    }

    // Nothing was taken: the whole agent is offered again, and nothing launched.
    let offers = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    scheduler.call(master, revive()).await;
    let offer = within("the offer after REVIVE", offers)
        .await
        .offers
        .remove(0);
    assert_eq!(offer.resources.cpus(), Some(4.0));
    Clock::settle().await;
    assert!(still_pending(&mut launched), "no group at the agent");
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(length(&state["frameworks"][0]["tasks"]), Some(0));
    assert_eq!(length(&state["frameworks"][0]["executors"]), Some(0));
}

#[tokio::test]
async fn an_update_whose_latest_state_is_terminal_releases_the_tasks_resources() {
    let master = start_master(flags()).await;
    let master = master.pid();
    // The task takes the whole agent: any later offer holds what it released.
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:1;mem:128").await;
    launch_one(master, &scheduler, &agent, &offer, "t1").await;
    let offers = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    let forwarded = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    let mut running = update(&agent, &scheduler, "t1", TaskState::TASK_RUNNING, 1);
    running.update.latest_state = Some(TaskState::TASK_FINISHED);
    send(&agent.addr, master, running).await;
    let forwarded = within("the update at the scheduler", forwarded)
        .await
        .update;
    assert_eq!(forwarded.status.state, TaskState::TASK_RUNNING);
    assert_eq!(forwarded.latest_state, Some(TaskState::TASK_FINISHED));

    scheduler.call(master, revive()).await;
    let offer = within("the released resources", offers)
        .await
        .offers
        .remove(0);
    assert_eq!(offer.resources.cpus(), Some(1.0));
    assert_eq!(offer.resources.mem(), Some(128.0));
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(state["frameworks"][0]["tasks"][0]["state"], "TASK_FINISHED");
}

#[tokio::test]
async fn a_status_update_from_a_pid_that_is_not_the_agents_is_ignored() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:2;mem:256").await;
    launch_one(master, &scheduler, &agent, &offer, "t1").await;
    let invalid = metric(master, "master/invalid_status_updates").await;
    let valid = metric(master, "master/valid_status_updates").await;

    let forwarded = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    let stranger = libproc::spawn(Peer, ProcessId::generate("stranger")).unwrap();
    let forged = update(&agent, &scheduler, "t1", TaskState::TASK_FAILED, 1);
    send(&stranger, master, forged).await;
    let genuine = update(&agent, &scheduler, "t1", TaskState::TASK_RUNNING, 2);
    send(&agent.addr, master, genuine).await;
    // The first update the scheduler hears is the agent's, sent after the forged one.
    let first = within("the agent's update", forwarded).await.update;
    assert_eq!(first.status.state, TaskState::TASK_RUNNING);
    assert_eq!(
        metric(master, "master/invalid_status_updates").await,
        invalid + 1.0
    );
    assert_eq!(
        metric(master, "master/valid_status_updates").await,
        valid + 1.0
    );
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(state["frameworks"][0]["tasks"][0]["state"], "TASK_RUNNING");
}

#[tokio::test]
async fn message_counters_and_task_gauges_use_mesos_keys() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent, offer) = framework_with_offer(master, "cpus:4;mem:1024").await;
    launch_one(master, &scheduler, &agent, &offer, "t1").await;
    let forwarded = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    let running = update(&agent, &scheduler, "t1", TaskState::TASK_RUNNING, 1);
    send(&agent.addr, master, running).await;
    within("the update at the scheduler", forwarded).await;
    let offers = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    scheduler.call(master, revive()).await;
    let offer = within("offers after REVIVE", offers).await.offers.remove(0);
    let decline = Call {
        decline: Some(Decline {
            offer_ids: vec![offer.id],
            filters: None,
        }),
        ..call(CallType::DECLINE)
    };
    scheduler.call(master, decline).await;
    let suppress = Call {
        suppress: Some(Default::default()),
        ..call(CallType::SUPPRESS)
    };
    scheduler.call(master, suppress).await;
    let deactivate = DeactivateFrameworkMessage {
        framework_id: scheduler.id.clone(),
    };
    send(&scheduler.addr, master, deactivate).await;
    Clock::settle().await;

    let (_, metrics) = get(master, "/metrics/snapshot").await;
    for (key, count) in [
        ("master/messages_register_slave", 1),
        ("master/messages_register_framework", 1),
        ("master/messages_launch_tasks", 1),
        ("master/messages_status_update", 1),
        ("master/messages_revive_offers", 1),
        ("master/messages_decline_offers", 1),
        ("master/messages_suppress_offers", 1),
        ("master/messages_deactivate_framework", 1),
        ("master/valid_status_updates", 1),
        // SUBSCRIBE, ACCEPT, REVIVE, DECLINE and SUPPRESS.
        ("master/messages_scheduler_call", 5),
    ] {
        assert_eq!(metrics[key].as_u64(), Some(count), "{key}");
    }

    // Gauges are refreshed every second.
    Clock::pause();
    Clock::advance(Duration::from_secs(1));
    Clock::settle().await;
    assert_eq!(metric(master, "master/tasks_running").await, 1.0);
    assert_eq!(metric(master, "master/tasks_staging").await, 0.0);
    assert_eq!(metric(master, "master/frameworks_inactive").await, 1.0);
    Clock::resume();
}

#[tokio::test]
async fn a_scheduler_repeating_its_first_subscription_is_given_the_same_framework() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let scheduler = subscribe(master, framework_info("eager")).await;
    // A driver retries SUBSCRIBE until it hears back; a retry can cross the answer.
    let again = future_message::<FrameworkRegisteredMessage>(master, scheduler.pid());
    send(
        &scheduler.addr,
        master,
        subscribe_call(framework_info("eager")),
    )
    .await;
    assert_eq!(
        within("the second answer", again).await.framework_id,
        scheduler.id
    );
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(length(&state["frameworks"]), Some(1));
}

#[tokio::test]
async fn a_new_scheduler_without_force_is_refused_even_while_the_framework_is_disconnected() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let mut info = framework_info("orphaned");
    info.failover_timeout = Some(3600.0);
    let first = subscribe(master, info).await;
    libproc::terminate(first.pid());
    libproc::wait(first.pid()).await;
    let second = spawn_scheduler();
    let refused = future_message::<FrameworkErrorMessage>(master, second.pid());
    send(
        &second,
        master,
        resubscribe_call("orphaned", &first.id, false),
    )
    .await;
    assert_eq!(
        within("the refusal", refused).await.message,
        "Framework failed over"
    );
    let registered = future_message::<FrameworkRegisteredMessage>(master, second.pid());
    send(
        &second,
        master,
        resubscribe_call("orphaned", &first.id, true),
    )
    .await;
    assert_eq!(
        within("the failover", registered).await.framework_id,
        first.id
    );
}

#[tokio::test]
async fn a_disconnected_agent_loses_the_executors_of_frameworks_that_do_not_checkpoint() {
    let master = start_master(flags()).await;
    let master = master.pid();
    let (scheduler, agent) = task_on_custom_executor(master).await;
    let (_, state) = get(master, "/master/state").await;
    assert_eq!(
        length(&framework(&state, "frameworks", &scheduler.id)["executors"]),
        Some(1)
    );
    let lost = future_message::<StatusUpdateMessage>(master, scheduler.pid());
    libproc::terminate(agent.pid());
    libproc::wait(agent.pid()).await;
    assert_eq!(
        within("TASK_LOST", lost).await.update.status.state,
        TaskState::TASK_LOST
    );
    let (_, state) = get(master, "/master/state").await;
    let framework = framework(&state, "frameworks", &scheduler.id);
    assert_eq!(length(&framework["executors"]), Some(0));
    assert_eq!(framework["used_resources"]["cpus"], 0.0);
}
