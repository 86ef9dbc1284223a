//! A command task through a real master and agent (in this runtime) and a real
//! `mesos-executor` OS process: launched, run, reported, acknowledged.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use libproc::testing::future_message;
use libproc::{Config, Pid, Process, ProcessId, Runtime, StartError};
use mesos_master::flags::{Flags as MasterFlags, RegistryBackend};
use mesos_proto::mesos::{
    CommandInfo, FrameworkInfo, Launch, Offer, OfferOperation, OperationType, TaskInfo, TaskState,
};
use mesos_proto::messages::{
    FrameworkRegisteredMessage, ResourceOffersMessage, StatusUpdateMessage,
};
use mesos_proto::scheduler::{Accept, Acknowledge, Call, CallType, Subscribe};
use mesos_proto::FrameworkId;

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A stand-in scheduler: it handles nothing; the test watches its messages.
#[derive(Debug)]
struct Scheduler;
impl Process for Scheduler {}

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

async fn call(scheduler: &libproc::Addr<Scheduler>, master: &Pid, call: Call) {
    let master = master.clone();
    libproc::dispatch(scheduler, move |_, ctx| ctx.send(&master, call))
        .await
        .unwrap();
}

/// A master, a subscribed stand-in scheduler, and an agent offering its resources.
struct Cluster {
    master: Pid,
    scheduler: libproc::Addr<Scheduler>,
    framework_id: FrameworkId,
    offer: Offer,
    work_dir: PathBuf,
}

async fn start_master() -> Pid {
    let flags = MasterFlags {
        registry: RegistryBackend::InMemory,
        ..MasterFlags::default()
    };
    let master = mesos_master::start(flags).unwrap().pid().clone();
    within("the master's recovery", async {
        while !recovered(&master).await {
            tokio::task::yield_now().await;
        }
    })
    .await;
    master
}

async fn cluster(name: &str) -> Cluster {
    match Runtime::start(Config::default()) {
        Ok(_) | Err(StartError::AlreadyStarted(_)) => {}
        Err(e) => panic!("the runtime did not start: {e}"),
    }
    let master = start_master().await;
    let scheduler = libproc::spawn(Scheduler, ProcessId::generate("scheduler")).unwrap();
    let work_dir = std::env::temp_dir().join(format!("mesos-agent-{name}-{}", std::process::id()));
    let info = FrameworkInfo {
        user: "tester".into(),
        name: name.into(),
        failover_timeout: Some(3600.0),
        ..Default::default()
    };
    let subscribe = Call {
        kind: CallType::SUBSCRIBE,
        subscribe: Some(Subscribe {
            framework_info: info,
            ..Default::default()
        }),
        ..Default::default()
    };
    let registered = future_message::<FrameworkRegisteredMessage>(&master, scheduler.pid());
    call(&scheduler, &master, subscribe).await;
    let framework_id = within("registration", registered).await.framework_id;
    let offers = future_message::<ResourceOffersMessage>(&master, scheduler.pid());
    let flags = mesos_agent::flags::Flags::try_parse_from([
        "mesos-agent".to_owned(),
        format!("--master={master}"),
        format!("--work_dir={}", work_dir.display()),
        format!("--launcher_dir={}", launcher_dir().display()),
        "--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31009]".to_owned(),
        "--registration_backoff_factor=10ms".to_owned(),
    ])
    .unwrap();
    mesos_agent::start(flags).unwrap();
    let offer = within("an offer", offers).await.offers.remove(0);
    Cluster {
        master,
        scheduler,
        framework_id,
        offer,
        work_dir,
    }
}

impl Cluster {
    /// Launches a command task on the offer.
    async fn launch(&self, id: &str, command: &str) {
        let task = TaskInfo {
            name: id.into(),
            task_id: id.into(),
            agent_id: self.offer.agent_id.clone(),
            resources: mesos_proto::Resources::parse("cpus:0.5;mem:64", "*").unwrap(),
            command: Some(CommandInfo {
                value: Some(command.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let launch = OfferOperation {
            kind: OperationType::LAUNCH,
            launch: Some(Launch {
                task_infos: vec![task],
            }),
            launch_group: None,
        };
        let accept = Call {
            framework_id: Some(self.framework_id.clone()),
            kind: CallType::ACCEPT,
            accept: Some(Accept {
                offer_ids: vec![self.offer.id.clone()],
                operations: vec![launch],
                filters: None,
            }),
            ..Default::default()
        };
        call(&self.scheduler, &self.master, accept).await;
    }

    /// Takes status updates, acknowledging each, until one is in `last`; returns the states.
    async fn updates_until(
        &self,
        mut next: libproc::testing::Filtered<StatusUpdateMessage>,
        last: TaskState,
    ) -> Vec<TaskState> {
        let mut states = Vec::new();
        while states.last() != Some(&last) {
            let received = within("the next status update", next).await.update;
            next = future_message::<StatusUpdateMessage>(&self.master, self.scheduler.pid());
            states.push(received.status.state);
            let acknowledge = Acknowledge {
                agent_id: self.offer.agent_id.clone(),
                task_id: received.status.task_id.clone(),
                uuid: received
                    .status
                    .uuid
                    .clone()
                    .expect("executor updates carry a uuid"),
            };
            let ack = Call {
                framework_id: Some(self.framework_id.clone()),
                kind: CallType::ACKNOWLEDGE,
                acknowledge: Some(acknowledge),
                ..Default::default()
            };
            call(&self.scheduler, &self.master, ack).await;
        }
        states
    }
}

#[tokio::test]
async fn a_command_task_runs_on_the_agent_and_finishes() {
    let cluster = cluster("finish").await;
    let updates = future_message::<StatusUpdateMessage>(&cluster.master, cluster.scheduler.pid());
    cluster.launch("hello-1", "echo hello from the task").await;
    let states = cluster
        .updates_until(updates, TaskState::TASK_FINISHED)
        .await;
    assert_eq!(
        states,
        [
            TaskState::TASK_STARTING,
            TaskState::TASK_RUNNING,
            TaskState::TASK_FINISHED
        ]
    );
    let stdout =
        find_file(&cluster.work_dir.join("slaves"), "stdout").expect("a sandbox with stdout");
    let output = std::fs::read_to_string(stdout).unwrap();
    assert!(output.contains("hello from the task"), "{output}");
    let _ = std::fs::remove_dir_all(&cluster.work_dir);
}

#[tokio::test]
async fn a_running_task_is_reported_to_a_restarted_master() {
    let cluster = cluster("restart").await;
    let updates = future_message::<StatusUpdateMessage>(&cluster.master, cluster.scheduler.pid());
    cluster.launch("sleeper", "sleep 1000").await;
    cluster
        .updates_until(updates, TaskState::TASK_RUNNING)
        .await;

    libproc::terminate(&cluster.master);
    libproc::wait(&cluster.master).await;
    let master = start_master().await;
    let state = within("the agent's re-registration with its task", async {
        loop {
            let state = get_json(&master, "/master/state").await;
            if state["frameworks"][0]["tasks"][0]["state"] == "TASK_RUNNING" {
                return state;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    let framework = &state["frameworks"][0];
    assert_eq!(framework["id"], cluster.framework_id.as_str());
    assert_eq!(
        framework["recovered"], true,
        "known from the agent's report until it re-subscribes"
    );
    assert_eq!(framework["tasks"][0]["id"], "sleeper");
    assert_eq!(state["slaves"][0]["id"], cluster.offer.agent_id.as_str());
    let _ = std::fs::remove_dir_all(&cluster.work_dir);
}

async fn get_json(at: &Pid, path: &str) -> serde_json::Value {
    let body = get(at, path).await;
    let body = body.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// A raw HTTP `GET`; the whole response, empty when nothing answers.
async fn get(at: &Pid, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(at.addr).await else {
        return String::new();
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    response
}

/// Whether the master has read its registry (it serves nothing before).
async fn recovered(master: &Pid) -> bool {
    get(master, "/metrics/snapshot")
        .await
        .contains("\"registrar/log/recovered\":1.0")
}

/// The first file called `name` under `dir` whose content is not empty.
fn find_file(dir: &std::path::Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name)
            && std::fs::metadata(&path).is_ok_and(|m| m.len() > 0)
        {
            return Some(path);
        }
    }
    None
}
