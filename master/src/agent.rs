//! The master's record of an agent: its description, pid, the tasks and executors it
//! runs, its offers (Mesos's `struct Slave`).

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use libproc::{Pid, Timer};
use mesos_proto::mesos::{AgentCapability, AgentInfo, ExecutorInfo, Task};
use mesos_proto::{AgentId, ExecutorId, FrameworkId, OfferId, Resources, TaskId};

/// An agent admitted by the master.
#[derive(Debug)]
pub struct Agent {
    /// Its id.
    pub id: AgentId,
    /// Its description, with `id` set.
    pub info: AgentInfo,
    /// Its pid.
    pub pid: Pid,
    /// Its version.
    pub version: String,
    /// What it can handle.
    pub capabilities: Vec<AgentCapability>,
    /// When it registered.
    pub registered_time: SystemTime,
    /// When it last re-registered.
    pub reregistered_time: Option<SystemTime>,
    /// Whether its connection is up.
    pub connected: bool,
    /// Whether its resources are offered.
    pub active: bool,
    /// Its tasks, per framework.
    pub tasks: HashMap<FrameworkId, HashMap<TaskId, Task>>,
    /// Its custom executors, per framework.
    pub executors: HashMap<FrameworkId, HashMap<ExecutorId, ExecutorInfo>>,
    /// Offers of its resources.
    pub offers: HashSet<OfferId>,
    /// The health checker.
    pub observer: Option<libproc::Addr<crate::agent_observer::AgentObserver>>,
    /// Runs while it is disconnected; marks it unreachable when it fires.
    pub reregister_timer: Option<Timer>,
}

impl Agent {
    /// A newly admitted agent.
    pub fn new(
        info: AgentInfo,
        pid: Pid,
        version: String,
        capabilities: Vec<AgentCapability>,
        now: SystemTime,
    ) -> Self {
        Agent {
            id: info.id.clone().unwrap_or_default(),
            info,
            pid,
            version,
            capabilities,
            registered_time: now,
            reregistered_time: None,
            connected: true,
            active: true,
            tasks: HashMap::new(),
            executors: HashMap::new(),
            offers: HashSet::new(),
            observer: None,
            reregister_timer: None,
        }
    }

    /// Its total resources.
    pub fn total(&self) -> &Resources {
        &self.info.resources
    }

    /// Resources used by its live tasks and executors, per framework.
    pub fn used_resources(&self) -> HashMap<FrameworkId, Resources> {
        let mut used: HashMap<FrameworkId, Resources> = HashMap::new();
        for (framework_id, tasks) in &self.tasks {
            for task in tasks
                .values()
                .filter(|t| !crate::framework::is_released(t.state))
            {
                *used.entry(framework_id.clone()).or_default() += &task.resources;
            }
        }
        for (framework_id, executors) in &self.executors {
            for executor in executors.values() {
                *used.entry(framework_id.clone()).or_default() += &executor.resources;
            }
        }
        used
    }

    /// Adds or replaces a task.
    pub fn add_task(&mut self, task: Task) {
        self.tasks
            .entry(task.framework_id.clone())
            .or_default()
            .insert(task.task_id.clone(), task);
    }

    /// Removes a task.
    pub fn remove_task(&mut self, framework_id: &FrameworkId, task_id: &TaskId) -> Option<Task> {
        let tasks = self.tasks.get_mut(framework_id)?;
        let task = tasks.remove(task_id);
        if tasks.is_empty() {
            self.tasks.remove(framework_id);
        }
        task
    }

    /// The framework's executors on this agent.
    pub fn executor_ids(&self, framework_id: &FrameworkId) -> Vec<ExecutorId> {
        self.executors
            .get(framework_id)
            .map(|executors| executors.keys().cloned().collect())
            .unwrap_or_default()
    }
}
