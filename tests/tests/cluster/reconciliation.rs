//! Reconciliation: the master's answer for tasks it knows and tasks it does not.

use mesos_proto::mesos::{
    FrameworkCapability, FrameworkCapabilityType, FrameworkInfo, StatusReason, TaskState,
    TaskStatus,
};
use mesos_proto::AgentId;
use mesos_scheduler_driver::SchedulerDriver;
use mesos_tests::{framework_info, Cluster, Framework};

/// The status a framework sends to ask about `task` (on `agent` when given).
fn ask(task: &str, agent: Option<&AgentId>) -> TaskStatus {
    TaskStatus {
        task_id: task.into(),
        agent_id: agent.cloned(),
        ..TaskStatus::default()
    }
}

/// A started cluster and framework with task `sleeper` running; the agent's id.
fn running_sleeper(name: &str, info: FrameworkInfo) -> (Cluster, Framework, AgentId) {
    let cluster = Cluster::builder(name).agent(&[]).start();
    let framework = Framework::start(info, &cluster.master());
    framework.registered();
    let offer = framework.launch("sleeper", "sleep 1000");
    framework.updates_until("sleeper", TaskState::TASK_RUNNING);
    (cluster, framework, offer.agent_id)
}

#[test]
fn reconciliation_gives_a_known_task_its_state_and_an_unknown_one_lost() {
    let (_cluster, framework, agent) = running_sleeper("reconcile", framework_info("reconcile"));

    framework.driver.reconcile_tasks(vec![
        ask("sleeper", Some(&agent)),
        ask("ghost", None),
        ask("ghost-on-agent", Some(&agent)),
    ]);

    let known = framework.update("sleeper");
    assert_eq!(known.state, TaskState::TASK_RUNNING);
    assert_eq!(known.reason, Some(StatusReason::REASON_RECONCILIATION));
    for unknown in ["ghost", "ghost-on-agent"] {
        let status = framework.update(unknown);
        assert_eq!(status.state, TaskState::TASK_LOST, "{unknown}");
        assert_eq!(status.reason, Some(StatusReason::REASON_RECONCILIATION));
    }

    framework.driver.reconcile_tasks(Vec::new());
    let implicit = framework.update("sleeper");
    assert_eq!(implicit.state, TaskState::TASK_RUNNING);
}

#[test]
fn partition_aware_frameworks_hear_unknown_tasks_are_unknown_or_gone() {
    let info = FrameworkInfo {
        capabilities: vec![FrameworkCapability {
            kind: FrameworkCapabilityType::PARTITION_AWARE,
        }],
        ..framework_info("reconcile-partition-aware")
    };
    let (_cluster, framework, agent) = running_sleeper("reconcile-pa", info);

    framework.driver.reconcile_tasks(vec![
        ask("ghost", None),
        ask("ghost-on-agent", Some(&agent)),
    ]);

    assert_eq!(framework.update("ghost").state, TaskState::TASK_UNKNOWN);
    assert_eq!(
        framework.update("ghost-on-agent").state,
        TaskState::TASK_GONE
    );
}
