//! A command task through a real master and agent (in this runtime) and a real
//! `mesos-executor` OS process: launched, run, reported, acknowledged.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use libproc::testing::future_message;
use libproc::{Config, Pid, Process, ProcessId, Runtime, StartError};
use mesos_master::flags::{Flags as MasterFlags, RegistryBackend};
use mesos_proto::mesos::{
    CommandInfo, FrameworkInfo, Launch, OfferOperation, OperationType, TaskInfo, TaskState,
};
use mesos_proto::messages::{
    FrameworkRegisteredMessage, ResourceOffersMessage, StatusUpdateMessage,
};
use mesos_proto::scheduler::{Accept, Acknowledge, Call, CallType, Subscribe};

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

#[tokio::test]
async fn a_command_task_runs_on_the_agent_and_finishes() {
    match Runtime::start(Config::default()) {
        Ok(_) | Err(StartError::AlreadyStarted(_)) => {}
        Err(e) => panic!("the runtime did not start: {e}"),
    }
    let master_flags = MasterFlags {
        registry: RegistryBackend::InMemory,
        ..MasterFlags::default()
    };
    let master = mesos_master::start(master_flags).unwrap().pid().clone();
    let scheduler = libproc::spawn(Scheduler, ProcessId::generate("scheduler")).unwrap();
    let work_dir = std::env::temp_dir().join(format!("mesos-agent-tasks-{}", std::process::id()));

    within("the master's recovery", async {
        while !recovered(&master).await {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let info = FrameworkInfo {
        user: "tester".into(),
        name: "tasks".into(),
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

    let task = TaskInfo {
        name: "hello".into(),
        task_id: "hello-1".into(),
        agent_id: offer.agent_id.clone(),
        resources: mesos_proto::Resources::parse("cpus:0.5;mem:64", "*").unwrap(),
        command: Some(CommandInfo {
            value: Some("echo hello from the task".into()),
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
        framework_id: Some(framework_id.clone()),
        kind: CallType::ACCEPT,
        accept: Some(Accept {
            offer_ids: vec![offer.id.clone()],
            operations: vec![launch],
            filters: None,
        }),
        ..Default::default()
    };
    let mut update = future_message::<StatusUpdateMessage>(&master, scheduler.pid());
    call(&scheduler, &master, accept).await;

    let mut states = Vec::new();
    while states.last() != Some(&TaskState::TASK_FINISHED) {
        let received = within("the next status update", update).await.update;
        update = future_message::<StatusUpdateMessage>(&master, scheduler.pid());
        states.push(received.status.state);
        let acknowledge = Acknowledge {
            agent_id: offer.agent_id.clone(),
            task_id: received.status.task_id.clone(),
            uuid: received
                .status
                .uuid
                .clone()
                .expect("executor updates carry a uuid"),
        };
        let ack = Call {
            framework_id: Some(framework_id.clone()),
            kind: CallType::ACKNOWLEDGE,
            acknowledge: Some(acknowledge),
            ..Default::default()
        };
        call(&scheduler, &master, ack).await;
    }
    assert_eq!(
        states,
        [
            TaskState::TASK_STARTING,
            TaskState::TASK_RUNNING,
            TaskState::TASK_FINISHED
        ]
    );

    let sandbox_root = work_dir.join("slaves");
    let stdout = find_file(&sandbox_root, "stdout").expect("a sandbox with stdout");
    let output = std::fs::read_to_string(stdout).unwrap();
    assert!(output.contains("hello from the task"), "{output}");
    let _ = std::fs::remove_dir_all(work_dir);
}

/// Whether the master has read its registry (it serves nothing before).
async fn recovered(master: &Pid) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(master.addr).await else {
        return false;
    };
    let request = "GET /metrics/snapshot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    response.contains("\"registrar/log/recovered\":1.0")
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
