//! The master's actor tests: a real master in this OS process's runtime, and small
//! scheduler and agent processes written for the tests that send the real messages.
//! Each test runs in its own OS process (nextest), so each has its own master.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::time::Duration;

use libproc::testing::{future_message, Filtered};
use libproc::{Addr, Config, Context, Message, Pid, Process, ProcessId, Runtime, StartError};
use mesos_master::flags::{Flags, RegistryBackend};
use mesos_master::master::Master;
use mesos_proto::mesos::{AgentInfo, FrameworkInfo, Offer, TaskInfo, TaskState, TaskStatus};
use mesos_proto::messages::*;
use mesos_proto::scheduler::{
    Accept, Acknowledge, Call, CallType, Decline, Kill, Reconcile, ReconcileTask, Subscribe,
};
use mesos_proto::{AgentId, FrameworkId, Resources};

/// Awaits `future`, failing the test with `what` after a generous deadline.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Flags for tests: the registry in memory.
pub fn flags() -> Flags {
    Flags {
        registry: RegistryBackend::InMemory,
        ..Flags::default()
    }
}

/// Starts this test's runtime and master, and waits until it has recovered its
/// registry (before that it drops every message, as Mesos's master does).
pub async fn start_master(flags: Flags) -> Addr<Master> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let config = Config {
        delegate: Some("master".into()),
        ..Config::default()
    };
    match Runtime::start(config) {
        Ok(_) | Err(StartError::AlreadyStarted(_)) => {}
        Err(e) => panic!("the runtime did not start: {e}"),
    }
    let master = mesos_master::start(flags).expect("the master starts");
    within("the registry's recovery", async {
        loop {
            let (_, metrics) = get(master.pid(), "/metrics/snapshot").await;
            if metrics["registrar/log/recovered"] == 1.0 {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    master
}

/// A scheduler or agent stand-in: a process that handles nothing itself; tests see
/// what it receives through message filters and make it send through `send`.
#[derive(Debug)]
pub struct Peer;

impl Process for Peer {}

/// A stand-in agent that answers the master's pings, as agents do.
#[derive(Debug)]
pub struct PingingAgent {
    pub answer_pings: bool,
}

impl Process for PingingAgent {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install(
            |this: &mut Self, from: Pid, _: PingSlaveMessage, ctx: &mut Context<Self>| {
                if this.answer_pings {
                    ctx.send(&from, PongSlaveMessage {});
                }
            },
        );
    }
}

/// Makes a process send `message` to `to`.
pub async fn send<P: Process, M: Message>(from: &Addr<P>, to: &Pid, message: M) {
    let to = to.clone();
    libproc::dispatch(from, move |_, ctx| ctx.send(&to, message))
        .await
        .expect("the sender runs");
}

/// A call of `kind` with nothing else set.
pub fn call(kind: CallType) -> Call {
    Call {
        kind,
        ..Default::default()
    }
}

/// REVIVE of all the framework's roles.
pub fn revive() -> Call {
    Call {
        revive: Some(Default::default()),
        ..call(CallType::REVIVE)
    }
}

pub fn framework_info(name: &str) -> FrameworkInfo {
    FrameworkInfo {
        user: "tester".into(),
        name: name.into(),
        ..Default::default()
    }
}

pub fn subscribe_call(info: FrameworkInfo) -> Call {
    Call {
        framework_id: info.id.clone(),
        kind: CallType::SUBSCRIBE,
        subscribe: Some(Subscribe {
            framework_info: info,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A subscribed framework: its scheduler process and id.
#[derive(Debug)]
pub struct Scheduler {
    pub addr: Addr<Peer>,
    pub id: FrameworkId,
}

impl Scheduler {
    pub fn pid(&self) -> &Pid {
        self.addr.pid()
    }

    /// Sends a call of this framework.
    pub async fn call(&self, master: &Pid, mut call: Call) {
        call.framework_id = Some(self.id.clone());
        send(&self.addr, master, call).await;
    }

    pub async fn revive(&self, master: &Pid) {
        self.call(master, revive()).await;
    }

    pub async fn decline(&self, master: &Pid, decline: Decline) {
        self.call(
            master,
            Call {
                decline: Some(decline),
                ..call(CallType::DECLINE)
            },
        )
        .await;
    }

    pub async fn kill(&self, master: &Pid, kill: Kill) {
        self.call(
            master,
            Call {
                kill: Some(kill),
                ..call(CallType::KILL)
            },
        )
        .await;
    }

    pub async fn reconcile(&self, master: &Pid, tasks: Vec<ReconcileTask>) {
        let reconcile = Reconcile { tasks };
        self.call(
            master,
            Call {
                reconcile: Some(reconcile),
                ..call(CallType::RECONCILE)
            },
        )
        .await;
    }

    pub async fn acknowledge(&self, master: &Pid, acknowledge: Acknowledge) {
        self.call(
            master,
            Call {
                acknowledge: Some(acknowledge),
                ..call(CallType::ACKNOWLEDGE)
            },
        )
        .await;
    }

    pub async fn accept(&self, master: &Pid, offer: &Offer, tasks: Vec<TaskInfo>) {
        let call = Call {
            kind: CallType::ACCEPT,
            accept: Some(Accept {
                offer_ids: vec![offer.id.clone()],
                operations: vec![launch(tasks)],
                filters: None,
            }),
            ..Default::default()
        };
        self.call(master, call).await;
    }
}

pub fn launch(tasks: Vec<TaskInfo>) -> mesos_proto::mesos::OfferOperation {
    mesos_proto::mesos::OfferOperation {
        kind: mesos_proto::mesos::OperationType::LAUNCH,
        launch: Some(mesos_proto::mesos::Launch { task_infos: tasks }),
        launch_group: None,
    }
}

/// A stand-in scheduler that has not subscribed yet, so that a test can install
/// filters on its pid first.
pub fn spawn_scheduler() -> Addr<Peer> {
    libproc::spawn(Peer, ProcessId::generate("scheduler")).unwrap()
}

/// Subscribes a new framework and waits for its registration.
pub async fn subscribe(master: &Pid, info: FrameworkInfo) -> Scheduler {
    subscribe_from(spawn_scheduler(), master, info).await
}

/// Subscribes a new framework from `addr` and waits for its registration.
pub async fn subscribe_from(addr: Addr<Peer>, master: &Pid, info: FrameworkInfo) -> Scheduler {
    let registered = future_message::<FrameworkRegisteredMessage>(master, addr.pid());
    send(&addr, master, subscribe_call(info)).await;
    let registered = within("framework registration", registered).await;
    Scheduler {
        addr,
        id: registered.framework_id,
    }
}

/// A registered agent: its process and id.
#[derive(Debug)]
pub struct TestAgent {
    pub addr: Addr<PingingAgent>,
    pub id: AgentId,
}

impl TestAgent {
    pub fn pid(&self) -> &Pid {
        self.addr.pid()
    }
}

pub fn agent_info(resources: &str) -> AgentInfo {
    AgentInfo {
        hostname: "agent.test".into(),
        port: Some(5051),
        resources: Resources::parse(resources, "*").unwrap(),
        ..Default::default()
    }
}

/// Registers an agent with `resources` and waits for its id.
pub async fn register_agent(master: &Pid, resources: &str) -> TestAgent {
    let addr = libproc::spawn(
        PingingAgent { answer_pings: true },
        ProcessId::generate("slave"),
    )
    .unwrap();
    let registered = future_message::<SlaveRegisteredMessage>(master, addr.pid());
    let message = RegisterSlaveMessage {
        slave: agent_info(resources),
        version: "1.11.0".into(),
        ..Default::default()
    };
    send(&addr, master, message).await;
    let registered = within("agent registration", registered).await;
    TestAgent {
        addr,
        id: registered.slave_id,
    }
}

/// A framework subscribed before an agent registers gets that agent's resources.
pub async fn framework_with_offer(master: &Pid, resources: &str) -> (Scheduler, TestAgent, Offer) {
    let scheduler = subscribe(master, framework_info("test")).await;
    let offers = future_message::<ResourceOffersMessage>(master, scheduler.pid());
    let agent = register_agent(master, resources).await;
    let mut offers = within("offers", offers).await;
    assert_eq!(offers.pids, [agent.pid().to_string()]);
    (scheduler, agent, offers.offers.remove(0))
}

/// A status update from `agent` for a task of `framework`, with `uuid` repeated.
pub fn update(
    agent: &TestAgent,
    framework: &Scheduler,
    task: &str,
    state: TaskState,
    uuid: u8,
) -> StatusUpdateMessage {
    let status = TaskStatus {
        task_id: task.into(),
        state,
        agent_id: Some(agent.id.clone()),
        uuid: Some(vec![uuid; 16]),
        ..Default::default()
    };
    StatusUpdateMessage {
        update: StatusUpdate {
            framework_id: framework.id.clone(),
            slave_id: Some(agent.id.clone()),
            status,
            timestamp: 1.0,
            uuid: Some(vec![uuid; 16]),
            ..Default::default()
        },
        pid: Some(agent.pid().to_string()),
    }
}

/// Launches a command task of `cpus:1;mem:128` on `offer` and waits for it at the agent.
pub async fn launch_one(
    master: &Pid,
    scheduler: &Scheduler,
    agent: &TestAgent,
    offer: &Offer,
    id: &str,
) -> RunTaskMessage {
    let run = future_message::<RunTaskMessage>(master, agent.pid());
    scheduler
        .accept(
            master,
            offer,
            vec![command_task(id, offer, "cpus:1;mem:128")],
        )
        .await;
    within("the task at the agent", run).await
}

pub fn command_task(id: &str, offer: &Offer, resources: &str) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: id.into(),
        agent_id: offer.agent_id.clone(),
        resources: Resources::parse(resources, "*").unwrap(),
        command: Some(mesos_proto::mesos::CommandInfo {
            value: Some("sleep 1000".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `GET` on the master's port; returns the status and the body as JSON (or Null).
pub async fn get(master: &Pid, path: &str) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(master.addr)
        .await
        .expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        master.addr
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

/// A value of `/metrics/snapshot`; 0 for a counter not incremented yet (it appears
/// when first incremented).
pub async fn metric(master: &Pid, key: &str) -> f64 {
    let (_, metrics) = get(master, "/metrics/snapshot").await;
    metrics[key].as_f64().unwrap_or(0.0)
}

/// Whether a filter has not seen its message yet. Call it after `Clock::settle`, so
/// that whatever the message would have followed from has been handled: then it
/// proves the message was not sent.
pub fn still_pending<T>(future: &mut Filtered<T>) -> bool {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    std::pin::Pin::new(future).poll(&mut cx).is_pending()
}
