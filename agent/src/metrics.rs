//! The agent's metrics under Mesos's `slave/*` keys, served by the runtime at
//! `/metrics/snapshot`. Counters count events as they happen; gauges are set from the
//! agent's state every second by [`publish`].

use mesos_proto::mesos::TaskState;
use mesos_proto::Resources;
use metrics::{counter, gauge};

/// What the gauges show, read off the agent.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Whether the agent is registered with a master.
    pub registered: bool,
    /// Seconds since the agent started.
    pub uptime_secs: f64,
    /// Frameworks with executors here.
    pub frameworks_active: usize,
    /// Executors launched and not registered yet.
    pub executors_registering: usize,
    /// Executors registered.
    pub executors_running: usize,
    /// Executors being shut down or destroyed.
    pub executors_terminating: usize,
    /// Tasks per non-terminal state.
    pub tasks: Vec<(TaskState, usize)>,
    /// What the agent offers.
    pub total: Resources,
    /// What its executors and tasks use.
    pub used: Resources,
    /// Damaged checkpoints skipped at recovery.
    pub recovery_errors: u32,
}

/// Sets every gauge from `snapshot`.
pub fn publish(snapshot: &Snapshot) {
    let set = |key: &'static str, value: f64| gauge!(key).set(value);
    set("slave/registered", f64::from(u8::from(snapshot.registered)));
    set("slave/uptime_secs", snapshot.uptime_secs);
    set("slave/frameworks_active", snapshot.frameworks_active as f64);
    set(
        "slave/executors_registering",
        snapshot.executors_registering as f64,
    );
    set("slave/executors_running", snapshot.executors_running as f64);
    set(
        "slave/executors_terminating",
        snapshot.executors_terminating as f64,
    );
    for (key, state) in [
        ("slave/tasks_staging", TaskState::TASK_STAGING),
        ("slave/tasks_starting", TaskState::TASK_STARTING),
        ("slave/tasks_running", TaskState::TASK_RUNNING),
        ("slave/tasks_killing", TaskState::TASK_KILLING),
    ] {
        let count = snapshot
            .tasks
            .iter()
            .filter(|(s, _)| *s == state)
            .map(|(_, n)| n)
            .sum::<usize>();
        set(key, count as f64);
    }
    set("slave/recovery_errors", f64::from(snapshot.recovery_errors));
    for (name, total, used, percent) in [
        (
            "cpus",
            "slave/cpus_total",
            "slave/cpus_used",
            "slave/cpus_percent",
        ),
        (
            "mem",
            "slave/mem_total",
            "slave/mem_used",
            "slave/mem_percent",
        ),
        (
            "disk",
            "slave/disk_total",
            "slave/disk_used",
            "slave/disk_percent",
        ),
        (
            "gpus",
            "slave/gpus_total",
            "slave/gpus_used",
            "slave/gpus_percent",
        ),
    ] {
        let scalar = |resources: &Resources| {
            resources
                .get_scalar(name)
                .map_or(0.0, mesos_proto::Scalar::value)
        };
        let (all, in_use) = (scalar(&snapshot.total), scalar(&snapshot.used));
        set(total, all);
        set(used, in_use);
        set(percent, if all > 0.0 { in_use / all } else { 0.0 });
    }
}

/// The counters the agent increments.
#[derive(Debug, Default)]
pub struct Metrics;

impl Metrics {
    /// A task reached a terminal state (`slave/tasks_finished`, `..._failed`, ...).
    pub fn task_terminal(&self, state: TaskState) {
        let key = match state {
            TaskState::TASK_FINISHED => "slave/tasks_finished",
            TaskState::TASK_FAILED => "slave/tasks_failed",
            TaskState::TASK_KILLED => "slave/tasks_killed",
            TaskState::TASK_LOST => "slave/tasks_lost",
            TaskState::TASK_ERROR => "slave/tasks_error",
            TaskState::TASK_DROPPED => "slave/tasks_dropped",
            TaskState::TASK_GONE => "slave/tasks_gone",
            _ => return,
        };
        counter!(key).increment(1);
    }

    /// An executor's update was accepted.
    pub fn valid_status_update(&self) {
        counter!("slave/valid_status_updates").increment(1);
    }

    /// An executor's update was refused.
    pub fn invalid_status_update(&self) {
        counter!("slave/invalid_status_updates").increment(1);
    }

    /// A framework message reached its executor.
    pub fn valid_framework_message(&self) {
        counter!("slave/valid_framework_messages").increment(1);
    }

    /// A framework message had nowhere to go.
    pub fn invalid_framework_message(&self) {
        counter!("slave/invalid_framework_messages").increment(1);
    }

    /// An executor's process ended.
    pub fn executor_terminated(&self) {
        counter!("slave/executors_terminated").increment(1);
    }
}
