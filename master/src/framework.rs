//! The master's record of a framework: its description, how to reach its scheduler,
//! its tasks, offers and executors (Mesos's `struct Framework`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::SystemTime;

use bytes::Bytes;
use libproc::http::{Pipe, PipeError, PipeWatch};
use libproc::{Pid, Timer};
use mesos_proto::mesos::{ExecutorInfo, FrameworkInfo, Task, TaskState};
use mesos_proto::{AgentId, ExecutorId, FrameworkId, OfferId, Resources, TaskId};

/// Whether the scheduler is reachable and wants offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameworkState {
    /// Connected and receiving offers.
    Active,
    /// Connected, but deactivated (its driver aborted): no offers, tasks kept.
    Inactive,
    /// The scheduler's connection broke; the failover timeout runs.
    Disconnected,
    /// Known only from agents' reports after a master failover, until it subscribes.
    Recovered,
}

/// A framework known to the master.
#[derive(Debug)]
pub struct Framework {
    /// Its id.
    pub id: FrameworkId,
    /// Its description, with `id` set.
    pub info: FrameworkInfo,
    /// How its scheduler is reached: a driver's pid or a v1 HTTP event stream.
    pub connection: Option<Connection>,
    /// Where it stands.
    pub state: FrameworkState,
    /// When it first registered with this master.
    pub registered_time: SystemTime,
    /// When it last re-registered.
    pub reregistered_time: Option<SystemTime>,
    /// When its scheduler disconnected.
    pub unregistered_time: Option<SystemTime>,
    /// Its tasks that are not terminal, or terminal but not acknowledged.
    pub tasks: HashMap<TaskId, Task>,
    /// Its terminal, acknowledged tasks, the most recent last, bounded.
    pub completed_tasks: VecDeque<Task>,
    /// Its outstanding offers.
    pub offers: HashSet<OfferId>,
    /// Its executors per agent.
    pub executors: HashMap<AgentId, HashMap<ExecutorId, ExecutorInfo>>,
    /// Roles not offered to until revived.
    pub suppressed_roles: HashSet<String>,
    /// Runs while it is disconnected; removes it when it fires.
    pub failover_timer: Option<Timer>,
}

impl Framework {
    /// A framework that just subscribed.
    pub fn new(info: FrameworkInfo, connection: Option<Connection>, now: SystemTime) -> Self {
        let id = info.id.clone().unwrap_or_default();
        Framework {
            id,
            info,
            connection,
            state: FrameworkState::Active,
            registered_time: now,
            reregistered_time: None,
            unregistered_time: None,
            tasks: HashMap::new(),
            completed_tasks: VecDeque::new(),
            offers: HashSet::new(),
            executors: HashMap::new(),
            suppressed_roles: HashSet::new(),
            failover_timer: None,
        }
    }

    /// Its scheduler driver's pid, when it is a driver framework.
    pub fn pid(&self) -> Option<&Pid> {
        match &self.connection {
            Some(Connection::Pid(pid)) => Some(pid),
            _ => None,
        }
    }

    /// Its event stream, when it subscribed through the v1 HTTP API.
    pub fn http(&self) -> Option<&HttpConnection> {
        match &self.connection {
            Some(Connection::Http(http)) => Some(http),
            _ => None,
        }
    }

    /// Whether the framework understands the partition-aware states.
    pub fn is_partition_aware(&self) -> bool {
        self.info
            .has_capability(mesos_proto::mesos::FrameworkCapabilityType::PARTITION_AWARE)
    }

    /// Whether its scheduler is connected.
    pub fn is_connected(&self) -> bool {
        matches!(
            self.state,
            FrameworkState::Active | FrameworkState::Inactive
        )
    }

    /// Resources its non-terminal tasks and executors use, per agent.
    pub fn used_resources(&self) -> HashMap<AgentId, Resources> {
        let mut used: HashMap<AgentId, Resources> = HashMap::new();
        for task in self.tasks.values().filter(|t| !is_released(t.state)) {
            *used.entry(task.agent_id.clone()).or_default() += &task.resources;
        }
        for (agent_id, executors) in &self.executors {
            for executor in executors.values() {
                *used.entry(agent_id.clone()).or_default() += &executor.resources;
            }
        }
        used
    }

    /// Moves an acknowledged terminal task to the completed list, keeping at most
    /// `limit` there.
    pub fn complete_task(&mut self, task_id: &TaskId, limit: usize) {
        let Some(task) = self.tasks.remove(task_id) else {
            return;
        };
        self.completed_tasks.push_back(task);
        while self.completed_tasks.len() > limit {
            self.completed_tasks.pop_front();
        }
    }

    /// Counts its tasks by state, for metrics and endpoints.
    pub fn task_counts(&self) -> HashMap<TaskState, usize> {
        let mut counts = HashMap::new();
        for task in self.tasks.values() {
            *counts.entry(task.state).or_insert(0) += 1;
        }
        counts
    }
}

/// How the master reaches a framework's scheduler. Both kinds are one framework
/// inside the master (offers, DRF, failover); only the delivery differs.
#[derive(Debug)]
pub enum Connection {
    /// A scheduler driver: libproc messages to its pid, `exited` when its link breaks.
    Pid(Pid),
    /// A v1 HTTP scheduler: events on its SUBSCRIBE response stream.
    Http(HttpConnection),
}

/// The SUBSCRIBE response stream of a v1 HTTP scheduler (Mesos `HttpConnection`).
/// Dropping it ends the stream: the client sees the chunked body end.
#[derive(Debug)]
pub struct HttpConnection {
    stream_id: String,
    pipe: Pipe,
    /// Dropped with the connection, which ends the watch of the stream (it holds a
    /// clone of the pipe), so that the body really ends.
    _watch: PipeWatch,
}

impl HttpConnection {
    /// A connection on `pipe`, identified by `stream_id` (the `Mesos-Stream-Id` header
    /// calls must carry); and a future that resolves when the client closes the stream
    /// or the connection is dropped, which the master awaits off its mailbox.
    pub fn new(
        stream_id: String,
        pipe: Pipe,
    ) -> (Self, impl std::future::Future<Output = ()> + Send + 'static) {
        let (watch, closed) = pipe.watch();
        let connection = HttpConnection {
            stream_id,
            pipe,
            _watch: watch,
        };
        (connection, closed)
    }

    /// The stream's id.
    pub fn stream_id(&self) -> &str {
        &self.stream_id
    }

    /// Writes one record (one HTTP chunk). Fails when the client is gone or does not
    /// keep up; the master then ends the stream.
    pub fn write(&self, record: Bytes) -> Result<(), PipeError> {
        self.pipe.write(record)
    }
}

/// Whether a task in this state no longer holds resources: terminal, or unreachable
/// (the master releases an unreachable task's resources, as Mesos does).
pub fn is_released(state: TaskState) -> bool {
    state.is_terminal() || state == TaskState::TASK_UNREACHABLE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, agent: &str, state: TaskState, cpus: f64) -> Task {
        Task {
            task_id: id.into(),
            agent_id: agent.into(),
            state,
            resources: Resources::parse(&format!("cpus:{cpus}"), "*").unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn used_resources_count_live_tasks_per_agent() {
        let mut framework = Framework::new(FrameworkInfo::default(), None, SystemTime::now());
        for t in [
            task("a", "s1", TaskState::TASK_RUNNING, 1.0),
            task("b", "s1", TaskState::TASK_STAGING, 2.0),
            task("c", "s2", TaskState::TASK_FINISHED, 4.0),
            task("d", "s2", TaskState::TASK_UNREACHABLE, 8.0),
        ] {
            framework.tasks.insert(t.task_id.clone(), t);
        }
        let used = framework.used_resources();
        assert_eq!(used[&AgentId::from("s1")].cpus(), Some(3.0));
        assert!(!used.contains_key(&AgentId::from("s2")));
    }

    #[test]
    fn completed_tasks_are_bounded() {
        let mut framework = Framework::new(FrameworkInfo::default(), None, SystemTime::now());
        for i in 0..5 {
            let t = task(&i.to_string(), "s", TaskState::TASK_FINISHED, 1.0);
            framework.tasks.insert(t.task_id.clone(), t);
            framework.complete_task(&TaskId::from(i.to_string().as_str()), 3);
        }
        let kept: Vec<_> = framework
            .completed_tasks
            .iter()
            .map(|t| t.task_id.as_str().to_owned())
            .collect();
        assert_eq!(kept, ["2", "3", "4"]);
        assert!(framework.tasks.is_empty());
    }
}
