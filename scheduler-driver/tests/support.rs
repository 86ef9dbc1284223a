//! The driver's cluster tests: a real master and a real agent in this OS process's
//! runtime, real `mesos-executor` processes for command tasks, and the driver under
//! test with a `Recorder` scheduler that sends every callback into a channel. Each
//! test runs in its own OS process (nextest), so each has its own cluster.

// A module of the test binary: `pub` only shares it with the test file.
#![allow(unreachable_pub)]

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use libproc::{Config, Pid, Runtime, StartError};
use mesos_master::flags::{Flags as MasterFlags, RegistryBackend};
use mesos_proto::mesos::{
    CommandInfo, FrameworkInfo, MasterInfo, Offer, TaskInfo, TaskState, TaskStatus,
};
use mesos_proto::{AgentId, ExecutorId, FrameworkId, OfferId, Resources};
use mesos_scheduler_driver::{MesosSchedulerDriver, Scheduler, SchedulerDriver, Status};
use tokio::sync::mpsc;

/// How long any single expected thing may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);

/// Awaits `future`, failing the test with `what` after the deadline.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// One scheduler callback, as recorded. Every argument is kept, so that a failing
/// test shows what it received, even those no test inspects.
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub enum Event {
    Registered(FrameworkId, MasterInfo),
    Reregistered(MasterInfo),
    Disconnected,
    Offers(Vec<Offer>),
    Rescinded(OfferId),
    Update(TaskStatus),
    Message(ExecutorId, AgentId, Vec<u8>),
    AgentLost(AgentId),
    ExecutorLost(ExecutorId, AgentId, i32),
    Error(String),
}

/// What a test's scheduler does with the driver on a callback, before recording it.
pub type Reaction = Box<dyn FnMut(&dyn SchedulerDriver, &Event) + Send>;

/// A scheduler that records every callback, after an optional reaction.
pub struct Recorder {
    events: mpsc::UnboundedSender<Event>,
    reaction: Option<Reaction>,
}

impl Recorder {
    fn record(&mut self, driver: &dyn SchedulerDriver, event: Event) {
        if let Some(reaction) = &mut self.reaction {
            reaction(driver, &event);
        }
        let _ = self.events.send(event);
    }
}

impl Scheduler for Recorder {
    fn registered(&mut self, driver: &dyn SchedulerDriver, id: FrameworkId, info: MasterInfo) {
        self.record(driver, Event::Registered(id, info));
    }
    fn reregistered(&mut self, driver: &dyn SchedulerDriver, info: MasterInfo) {
        self.record(driver, Event::Reregistered(info));
    }
    fn disconnected(&mut self, driver: &dyn SchedulerDriver) {
        self.record(driver, Event::Disconnected);
    }
    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: Vec<Offer>) {
        self.record(driver, Event::Offers(offers));
    }
    fn offer_rescinded(&mut self, driver: &dyn SchedulerDriver, offer_id: OfferId) {
        self.record(driver, Event::Rescinded(offer_id));
    }
    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: TaskStatus) {
        self.record(driver, Event::Update(status));
    }
    fn framework_message(
        &mut self,
        driver: &dyn SchedulerDriver,
        executor_id: ExecutorId,
        agent_id: AgentId,
        data: Vec<u8>,
    ) {
        self.record(driver, Event::Message(executor_id, agent_id, data));
    }
    fn agent_lost(&mut self, driver: &dyn SchedulerDriver, agent_id: AgentId) {
        self.record(driver, Event::AgentLost(agent_id));
    }
    fn executor_lost(
        &mut self,
        driver: &dyn SchedulerDriver,
        executor_id: ExecutorId,
        agent_id: AgentId,
        status: i32,
    ) {
        self.record(driver, Event::ExecutorLost(executor_id, agent_id, status));
    }
    fn error(&mut self, driver: &dyn SchedulerDriver, message: String) {
        self.record(driver, Event::Error(message));
    }
}

/// The test's end of a `Recorder`.
pub struct Events {
    events: mpsc::UnboundedReceiver<Event>,
}

impl Events {
    /// Skips callbacks until `pick` takes one.
    pub async fn until<T>(&mut self, what: &str, mut pick: impl FnMut(Event) -> Option<T>) -> T {
        within(what, async {
            loop {
                let event = self
                    .events
                    .recv()
                    .await
                    .unwrap_or_else(|| panic!("the driver is gone while waiting for {what}"));
                if let Some(picked) = pick(event) {
                    return picked;
                }
            }
        })
        .await
    }

    pub async fn registered(&mut self) -> FrameworkId {
        self.until("registration", |event| match event {
            Event::Registered(id, _) => Some(id),
            _ => None,
        })
        .await
    }

    pub async fn offer(&mut self) -> Offer {
        self.until("an offer", |event| match event {
            Event::Offers(mut offers) => Some(offers.remove(0)),
            _ => None,
        })
        .await
    }

    /// Status updates of `task`, until one in `last`; returns the states seen.
    pub async fn states_until(&mut self, task: &str, last: TaskState) -> Vec<TaskState> {
        let mut states = Vec::new();
        while states.last() != Some(&last) {
            let status = self.update(task).await;
            states.push(status.state);
        }
        states
    }

    /// The next status update of `task`.
    pub async fn update(&mut self, task: &str) -> TaskStatus {
        self.until(&format!("an update of {task}"), |event| match event {
            Event::Update(status) if status.task_id.as_str() == task => Some(status),
            _ => None,
        })
        .await
    }

    pub async fn error(&mut self) -> String {
        self.until("an error", |event| match event {
            Event::Error(message) => Some(message),
            _ => None,
        })
        .await
    }
}

/// A framework that runs its tasks as the current user (the driver fills it in) and
/// may fail over for an hour.
pub fn framework(name: &str) -> FrameworkInfo {
    FrameworkInfo {
        name: name.into(),
        failover_timeout: Some(3600.0),
        ..FrameworkInfo::default()
    }
}

/// A driver with a recording scheduler (and an optional reaction), not started.
pub fn driver(
    info: FrameworkInfo,
    master: &str,
    implicit_acknowledgements: bool,
    reaction: Option<Reaction>,
) -> (MesosSchedulerDriver, Events) {
    let (tx, rx) = mpsc::unbounded_channel();
    let recorder = Recorder {
        events: tx,
        reaction,
    };
    let driver = MesosSchedulerDriver::with_acknowledgements(
        recorder,
        info,
        master,
        implicit_acknowledgements,
    );
    (driver, Events { events: rx })
}

/// A started driver with a recording scheduler.
pub fn started(info: FrameworkInfo, master: &Pid) -> (MesosSchedulerDriver, Events) {
    let (driver, events) = self::driver(info, &master.to_string(), true, None);
    assert_eq!(driver.start(), Status::DRIVER_RUNNING);
    (driver, events)
}

/// `join` on a blocking thread, bounded by the deadline.
pub async fn join(driver: &MesosSchedulerDriver) -> Status {
    let driver = driver.clone();
    within("join", tokio::task::spawn_blocking(move || driver.join()))
        .await
        .expect("join does not panic")
}

/// Starts this test's libproc runtime.
pub fn runtime() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    match Runtime::start(Config::default()) {
        Ok(_) | Err(StartError::AlreadyStarted(_)) => {}
        Err(e) => panic!("the runtime did not start: {e}"),
    }
}

/// Starts a master (registry in memory) and waits until it serves.
pub async fn start_master() -> Pid {
    runtime();
    let flags = MasterFlags {
        registry: RegistryBackend::InMemory,
        ..MasterFlags::default()
    };
    let master = mesos_master::start(flags)
        .expect("the master starts")
        .pid()
        .clone();
    within("the master's recovery", async {
        loop {
            let metrics = get_json(&master, "/metrics/snapshot").await;
            if metrics["registrar/log/recovered"] == 1.0 {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    master
}

/// Where cargo put `mesos-executor`: beside the test binary's `deps` directory.
fn launcher_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .to_path_buf();
    assert!(
        dir.join("mesos-executor").exists(),
        "{} has no mesos-executor: build it first (cargo build -p mesos-executor-driver)",
        dir.display()
    );
    dir
}

/// A master and one agent with `cpus:2;mem:1024`; the agent's work dir is removed on
/// drop.
pub struct Cluster {
    pub master: Pid,
    work_dir: PathBuf,
}

impl Cluster {
    pub async fn start(name: &str) -> Cluster {
        let master = start_master().await;
        let work_dir =
            std::env::temp_dir().join(format!("mesos-sched-{name}-{}", std::process::id()));
        let flags = mesos_agent::flags::Flags::try_parse_from([
            "mesos-agent".to_owned(),
            format!("--master={master}"),
            format!("--work_dir={}", work_dir.display()),
            format!("--launcher_dir={}", launcher_dir().display()),
            "--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31009]".to_owned(),
            "--registration_backoff_factor=10ms".to_owned(),
        ])
        .expect("agent flags");
        mesos_agent::start(flags).expect("the agent starts");
        Cluster { master, work_dir }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

/// A command task of `cpus:0.5;mem:64` on `offer`.
pub fn command_task(id: &str, offer: &Offer, command: &str) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: id.into(),
        agent_id: offer.agent_id.clone(),
        resources: Resources::parse("cpus:0.5;mem:64", "*").unwrap(),
        command: Some(CommandInfo {
            value: Some(command.into()),
            ..CommandInfo::default()
        }),
        ..TaskInfo::default()
    }
}

/// `GET` on a pid's port; the body as JSON (Null when nothing answers).
pub async fn get_json(at: &Pid, path: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(at.addr).await else {
        return serde_json::Value::Null;
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return serde_json::Value::Null;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// Polls the master's `/master/state` until `check` holds.
pub async fn until_state(master: &Pid, what: &str, check: impl Fn(&serde_json::Value) -> bool) {
    within(what, async {
        loop {
            if check(&get_json(master, "/master/state").await) {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
}

/// A loopback address where nothing listens (the port was free a moment ago).
pub fn nowhere() -> Pid {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    Pid::new("master", addr)
}
