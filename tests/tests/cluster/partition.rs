//! An agent that stops answering: its tasks are reported unreachable (or lost), and it
//! is admitted again when it comes back.

use mesos_proto::mesos::{
    FrameworkCapability, FrameworkCapabilityType, FrameworkInfo, StatusReason, TaskState,
    TaskStatus,
};
use mesos_tests::{framework_info, Cluster, Event, Framework};

/// Kills the agent of a framework's running task, and returns the update the framework
/// gets for it; then restarts the agent and checks it is active again under its id.
///
/// The framework checkpoints: a non-checkpointing framework's tasks are lost as soon as
/// their agent disconnects, before any ping fails (as in Mesos).
fn update_after_agent_crash(name: &str, info: FrameworkInfo) -> TaskStatus {
    let info = FrameworkInfo {
        checkpoint: Some(true),
        ..info
    };
    let mut cluster = Cluster::builder(name)
        .master_flag("--agent_ping_timeout=300ms")
        .master_flag("--max_agent_ping_timeouts=3")
        .agent(&[])
        .start();
    let agent = cluster.agent_id(0);
    let framework = Framework::start(info, &cluster.master());
    framework.registered();
    framework.launch("sleeper", "sleep 1000");
    framework.updates_until("sleeper", TaskState::TASK_RUNNING);

    cluster.kill_agent(0);

    let update = framework.update("sleeper");
    let lost = framework.until("agent_lost", |event| match event {
        Event::AgentLost(lost) => Some(lost.clone()),
        _ => None,
    });
    assert_eq!(lost.as_str(), agent);
    cluster.until("the agent unreachable in /master/state", |state| {
        state["unreachable_slaves"] == 1
    });

    cluster.start_agent(0);

    assert_eq!(
        cluster.agent_id(0),
        agent,
        "the agent comes back under its id"
    );
    cluster.until("no unreachable agent in /master/state", |state| {
        state["unreachable_slaves"] == 0
    });
    update
}

#[test]
fn a_crashed_agents_tasks_are_unreachable_for_partition_aware_frameworks() {
    let info = FrameworkInfo {
        capabilities: vec![FrameworkCapability {
            kind: FrameworkCapabilityType::PARTITION_AWARE,
        }],
        ..framework_info("partition-aware")
    };
    let update = update_after_agent_crash("partition-aware", info);
    assert_eq!(update.state, TaskState::TASK_UNREACHABLE, "{update:?}");
    assert_eq!(update.reason, Some(StatusReason::REASON_SLAVE_REMOVED));
}

#[test]
fn a_crashed_agents_tasks_are_lost_for_other_frameworks() {
    let update = update_after_agent_crash("partition-unaware", framework_info("unaware"));
    assert_eq!(update.state, TaskState::TASK_LOST, "{update:?}");
    assert_eq!(update.reason, Some(StatusReason::REASON_SLAVE_REMOVED));
}
