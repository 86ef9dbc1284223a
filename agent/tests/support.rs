//! What the agent's tests share: a master and a stand-in scheduler in the test's
//! runtime, an agent in the same runtime or as a real `mesos-agent` OS process, task
//! launches, status updates taken and acknowledged, and HTTP polling with deadlines.
//! Work dirs, agent processes and executors are cleaned up on drop, also when a test
//! fails.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use libproc::testing::{future_message, Filtered};
use libproc::{Config, Pid, Process, ProcessId, Runtime, StartError};
use mesos_master::flags::{Flags as MasterFlags, RegistryBackend};
use mesos_proto::mesos::{
    CommandInfo, FrameworkInfo, Launch, Offer, OfferOperation, OperationType, TaskInfo, TaskState,
};
use mesos_proto::messages::{
    FrameworkRegisteredMessage, ResourceOffersMessage, StatusUpdate, StatusUpdateMessage,
};
use mesos_proto::scheduler::{Accept, Acknowledge, Call, CallType, Subscribe};
use mesos_proto::FrameworkId;

/// How long any one wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Polls `check` until it returns something, within the deadline.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    within(what, async {
        loop {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// A stand-in scheduler: it handles nothing; the test watches its messages.
#[derive(Debug)]
pub struct Scheduler;
impl Process for Scheduler {}

/// Where cargo put `mesos-executor`: beside the test binary's `deps` directory.
pub fn launcher_dir() -> PathBuf {
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

pub fn start_runtime() {
    match Runtime::start(Config::default()) {
        Ok(_) | Err(StartError::AlreadyStarted(_)) => {}
        Err(e) => panic!("the runtime did not start: {e}"),
    }
}

pub async fn start_master() -> Pid {
    start_runtime();
    let flags = MasterFlags {
        registry: RegistryBackend::InMemory,
        ..MasterFlags::default()
    };
    let master = mesos_master::start(flags).unwrap().pid().clone();
    eventually("the master's recovery", || async {
        recovered(&master).await.then_some(())
    })
    .await;
    master
}

/// A raw HTTP `GET`; the whole response, empty when nothing answers.
pub async fn get(at: &Pid, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(at.addr).await else {
        return String::new();
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

pub async fn get_json(at: &Pid, path: &str) -> serde_json::Value {
    let body = get(at, path).await;
    let body = body.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// Whether the master has read its registry (it serves nothing before).
pub async fn recovered(master: &Pid) -> bool {
    get(master, "/metrics/snapshot")
        .await
        .contains("\"registrar/log/recovered\":1.0")
}

/// A port nobody listens on right now, on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A work dir removed on drop, after killing every executor still running from it
/// and its tasks (the sessions of the checkpointed `forked.pid`s).
#[derive(Debug)]
pub struct WorkDir(pub PathBuf);

impl WorkDir {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "mesos-agent-{name}-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        WorkDir(path)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        for pid_file in find_files(&self.0.join("meta"), "forked.pid") {
            let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if let Ok(pid) = pid.trim().parse::<i32>() {
                kill_session(pid);
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A real `mesos-agent` OS process, killed on drop.
#[derive(Debug)]
pub struct AgentProcess {
    pub child: std::process::Child,
    pub pid: Pid,
}

impl AgentProcess {
    /// Starts `mesos-agent` with `flags` on 127.0.0.1:`port`.
    pub fn start(port: u16, flags: &[String]) -> Self {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
            .args(flags)
            .arg("--ip=127.0.0.1")
            .arg(format!("--port={port}"))
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("mesos-agent starts");
        let pid = format!("slave(1)@127.0.0.1:{port}").parse().unwrap();
        AgentProcess { child, pid }
    }

    /// Kills the agent with SIGKILL, as a crash would, and reaps it.
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.crash();
    }
}

/// How the test's agent runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentKind {
    /// In the test's runtime.
    InProcess,
    /// As a `mesos-agent` OS process.
    Binary,
}

/// A master, a subscribed stand-in scheduler, and an agent offering its resources.
pub struct Cluster {
    pub master: Pid,
    pub scheduler: libproc::Addr<Scheduler>,
    pub framework_id: FrameworkId,
    pub offer: Offer,
    pub agent_flags: Vec<String>,
    pub agent_port: u16,
    pub agent: Option<AgentProcess>,
    pub work_dir: WorkDir,
}

/// The framework the stand-in scheduler subscribes.
pub fn framework(name: &str, checkpoint: bool) -> FrameworkInfo {
    FrameworkInfo {
        user: "tester".into(),
        name: name.into(),
        failover_timeout: Some(3600.0),
        checkpoint: Some(checkpoint),
        ..Default::default()
    }
}

impl Cluster {
    /// A cluster whose agent also gets `extra` flags.
    pub async fn start(name: &str, kind: AgentKind, checkpoint: bool, extra: &[&str]) -> Cluster {
        let master = start_master().await;
        let scheduler = libproc::spawn(Scheduler, ProcessId::generate("scheduler")).unwrap();
        let work_dir = WorkDir::new(name);
        let subscribe = Call {
            kind: CallType::SUBSCRIBE,
            subscribe: Some(Subscribe {
                framework_info: framework(name, checkpoint),
                ..Default::default()
            }),
            ..Default::default()
        };
        let registered = future_message::<FrameworkRegisteredMessage>(&master, scheduler.pid());
        call(&scheduler, &master, subscribe).await;
        let framework_id = within("registration", registered).await.framework_id;
        let offers = future_message::<ResourceOffersMessage>(&master, scheduler.pid());
        let mut agent_flags = vec![
            format!("--master={master}"),
            format!("--work_dir={}", work_dir.0.display()),
            format!("--launcher_dir={}", launcher_dir().display()),
            "--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31009]".to_owned(),
            "--registration_backoff_factor=10ms".to_owned(),
        ];
        agent_flags.extend(extra.iter().map(|flag| flag.to_string()));
        let agent_port = free_port();
        let agent = match kind {
            AgentKind::InProcess => {
                let args = std::iter::once("mesos-agent".to_owned()).chain(agent_flags.clone());
                let flags = mesos_agent::flags::Flags::try_parse_from(args).unwrap();
                mesos_agent::start(flags).unwrap();
                None
            }
            AgentKind::Binary => Some(AgentProcess::start(agent_port, &agent_flags)),
        };
        let offer = within("an offer", offers).await.offers.remove(0);
        Cluster {
            master,
            scheduler,
            framework_id,
            offer,
            agent_flags,
            agent_port,
            agent,
            work_dir,
        }
    }

    /// Starts the binary agent again on the same port and work dir.
    pub fn restart_agent(&mut self) {
        self.agent = Some(AgentProcess::start(self.agent_port, &self.agent_flags));
    }

    /// A command task using part of the offer.
    pub fn command_task(&self, id: &str, command: &str) -> TaskInfo {
        TaskInfo {
            name: id.into(),
            task_id: id.into(),
            agent_id: self.offer.agent_id.clone(),
            resources: mesos_proto::Resources::parse("cpus:0.5;mem:64", "*").unwrap(),
            command: Some(CommandInfo {
                value: Some(command.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Launches a command task on the offer.
    pub async fn launch(&self, id: &str, command: &str) {
        self.launch_task(self.command_task(id, command)).await;
    }

    /// Launches `task` on the offer.
    pub async fn launch_task(&self, task: TaskInfo) {
        self.launch_task_on(&self.offer, task).await;
    }

    /// Launches `task` on `offer`.
    pub async fn launch_task_on(&self, offer: &Offer, task: TaskInfo) {
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
                offer_ids: vec![offer.id.clone()],
                operations: vec![launch],
                filters: None,
            }),
            ..Default::default()
        };
        call(&self.scheduler, &self.master, accept).await;
    }

    /// The scheduler's next status update, to take with [`Cluster::take`].
    pub fn next_update(&self) -> Filtered<StatusUpdateMessage> {
        future_message::<StatusUpdateMessage>(&self.master, self.scheduler.pid())
    }

    /// Takes status updates, acknowledging each, until one is in `last`; returns them.
    pub async fn updates_until(
        &self,
        mut next: Filtered<StatusUpdateMessage>,
        last: TaskState,
    ) -> Vec<StatusUpdate> {
        let mut updates: Vec<StatusUpdate> = Vec::new();
        while updates.last().map(|u| u.status.state) != Some(last) {
            let received = within("the next status update", next).await.update;
            next = self.next_update();
            self.acknowledge(&received).await;
            updates.push(received);
        }
        updates
    }

    /// Acknowledges `update` to the master, as a scheduler does.
    pub async fn acknowledge(&self, update: &StatusUpdate) {
        let Some(uuid) = update.status.uuid.clone() else {
            return;
        };
        let acknowledge = Acknowledge {
            agent_id: self.offer.agent_id.clone(),
            task_id: update.status.task_id.clone(),
            uuid,
        };
        let ack = Call {
            framework_id: Some(self.framework_id.clone()),
            kind: CallType::ACKNOWLEDGE,
            acknowledge: Some(acknowledge),
            ..Default::default()
        };
        call(&self.scheduler, &self.master, ack).await;
    }

    /// Sends `call` for the framework.
    pub async fn call(&self, mut call_: Call) {
        call_.framework_id = Some(self.framework_id.clone());
        call(&self.scheduler, &self.master, call_).await;
    }
}

pub async fn call(scheduler: &libproc::Addr<Scheduler>, master: &Pid, call: Call) {
    let master = master.clone();
    libproc::dispatch(scheduler, move |_, ctx| ctx.send(&master, call))
        .await
        .unwrap();
}

/// The states of `updates`, in order.
pub fn states(updates: &[StatusUpdate]) -> Vec<TaskState> {
    updates.iter().map(|u| u.status.state).collect()
}

/// Every file called `name` under `dir`.
pub fn find_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            found.extend(find_files(&path, name));
        } else if path.file_name().is_some_and(|n| n == name) {
            found.push(path);
        }
    }
    found
}

/// Whether a process whose command line contains `needle` is alive.
pub fn process_running(needle: &str) -> bool {
    procfs::process::all_processes()
        .into_iter()
        .flatten()
        .flatten()
        .filter(|p| p.stat().is_ok_and(|s| s.state != 'Z'))
        .filter_map(|p| p.cmdline().ok())
        .any(|cmdline| cmdline.join(" ").contains(needle))
}

/// Kills every process of session `sid` (an executor and its tasks' groups).
pub fn kill_session(sid: i32) {
    for process in procfs::process::all_processes()
        .into_iter()
        .flatten()
        .flatten()
    {
        if process.stat().is_ok_and(|s| s.session == sid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(process.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// What a test that needs cgroups says when the machine cannot give them.
pub const NEEDS_CGROUPS: &str =
    "needs root and a writable cgroup hierarchy: run as root on Linux with cgroups v1 or v2";

/// The cgroup v1 controllers the containerizer uses.
pub const V1_CONTROLLERS: [&str; 4] = ["cpu", "cpuacct", "memory", "freezer"];

/// A test's own `--cgroups_root`, whose cgroups (and their processes) are removed
/// on drop, also when the test fails.
#[derive(Debug)]
pub struct CgroupRoot(pub String);

impl CgroupRoot {
    pub fn new(test: &str) -> Self {
        CgroupRoot(format!(
            "mesos-test-{test}-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ))
    }

    /// The flag that puts an agent's containers under this root.
    pub fn flag(&self) -> String {
        format!("--cgroups_root={}", self.0)
    }
}

impl Drop for CgroupRoot {
    fn drop(&mut self) {
        for controller in V1_CONTROLLERS {
            let root = Path::new("/sys/fs/cgroup").join(controller).join(&self.0);
            if let Ok(entries) = std::fs::read_dir(&root) {
                for entry in entries.flatten() {
                    if entry.file_type().is_ok_and(|t| t.is_dir()) {
                        remove_cgroup(&entry.path());
                    }
                }
            }
            remove_cgroup(&root);
        }
    }
}

/// Kills what the cgroup `dir` holds and removes it, trying for a few seconds.
pub fn remove_cgroup(dir: &Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while dir.exists() && std::time::Instant::now() < deadline {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = std::fs::write(dir.join("freezer.state"), "THAWED");
        if std::fs::remove_dir(dir).is_err() {
            std::thread::yield_now();
        }
    }
}

/// A raw HTTP `POST` of a JSON body; the whole response.
pub async fn post_json(at: &Pid, path: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(at.addr).await else {
        return String::new();
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

/// The JSON body of a response from [`post_json`] or [`get`].
pub fn body_json(response: &str) -> serde_json::Value {
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}
