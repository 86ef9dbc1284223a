//! `Cluster`: one `mesos-master` and any number of `mesos-agent` OS processes, each on
//! its own loopback address, with a work dir per test.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::cleanup::{checkpointed_executor_pids, kill_session, remove_cgroups, sessions_under};
use crate::http::get_json;
use crate::poll::until;

/// Where the agents' cgroup hierarchies are mounted (the agent's default
/// `--cgroups_hierarchy`).
const CGROUPS_HIERARCHY: &str = "/sys/fs/cgroup";

/// How many lines of each daemon's log a failing test prints.
const LOG_TAIL_LINES: usize = 60;

/// The resources each agent offers unless a test says otherwise: fixed, so that the
/// machine's size does not change what a test sees.
const DEFAULT_AGENT_RESOURCES: &str = "cpus:2;mem:1024;disk:1024;ports:[31000-31099]";

/// The path of a binary cargo built into `target/<profile>` (`examples/<name>` for an
/// example), beside this test binary's `deps` directory.
///
/// # Panics
///
/// When it is not there: the workspace's binaries must be built before the tests.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build them first: cargo build --workspace --all-features --bins --examples",
        path.display()
    );
    path
}

/// What a cluster will start: the master's and each agent's flags. The harness's
/// flags (address, work dir, fast registration retries...) come first; a test's flag
/// of the same name replaces one of them.
#[derive(Debug)]
pub struct ClusterBuilder {
    name: String,
    master_flags: Vec<String>,
    agent_flags: Vec<Vec<String>>,
}

impl ClusterBuilder {
    /// Sets a master flag (`--agent_ping_timeout=200ms`), replacing the harness's.
    pub fn master_flag(mut self, flag: &str) -> Self {
        set_flag(&mut self.master_flags, flag);
        self
    }

    /// Adds one agent, with these flags on top of the harness's
    /// (`--resources=cpus:4;mem:512`).
    pub fn agent(mut self, flags: &[&str]) -> Self {
        let mut agent = Vec::new();
        for flag in flags {
            set_flag(&mut agent, flag);
        }
        self.agent_flags.push(agent);
        self
    }

    /// Adds `count` agents with the same flags.
    pub fn agents(self, count: usize, flags: &[&str]) -> Self {
        (0..count).fold(self, |builder, _| builder.agent(flags))
    }

    /// The cluster with addresses and work dirs chosen, nothing started yet.
    pub fn build(self) -> Cluster {
        let dir = std::env::temp_dir().join(format!(
            "mesos-tests-{}-{}-{:08x}",
            self.name,
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::create_dir_all(&dir).expect("create the test's directory");
        let cgroups_root = format!(
            "mesos-tests-{}-{}-{:08x}",
            self.name,
            std::process::id(),
            fastrand::u32(..)
        );
        let master_addr = free_loopback_addr();
        let master_dir = dir.join("master");
        let mut master_flags = vec![
            format!("--ip={}", master_addr.ip()),
            format!("--port={}", master_addr.port()),
            format!("--hostname={}", master_addr.ip()),
            format!("--work_dir={}", master_dir.display()),
            // Offers come every 100ms rather than every second, so that scenarios
            // move at the cluster's pace.
            "--allocation_interval=100ms".to_owned(),
        ];
        for flag in &self.master_flags {
            set_flag(&mut master_flags, flag);
        }
        let master = Daemon::new("mesos-master", master_addr, master_dir, master_flags);
        let launcher_dir = binary("mesos-executor")
            .parent()
            .expect("target/<profile>")
            .to_path_buf();
        let agents = self
            .agent_flags
            .iter()
            .enumerate()
            .map(|(index, overrides)| {
                let addr = free_loopback_addr();
                let work_dir = dir.join(format!("agent-{index}"));
                let mut flags = vec![
                    format!("--master={master_addr}"),
                    format!("--ip={}", addr.ip()),
                    format!("--port={}", addr.port()),
                    format!("--work_dir={}", work_dir.display()),
                    format!("--launcher_dir={}", launcher_dir.display()),
                    format!("--resources={DEFAULT_AGENT_RESOURCES}"),
                    "--registration_backoff_factor=10ms".to_owned(),
                    format!("--cgroups_root={cgroups_root}"),
                ];
                for flag in overrides {
                    set_flag(&mut flags, flag);
                }
                Daemon::new("mesos-agent", addr, work_dir, flags)
            })
            .collect();
        Cluster {
            dir,
            cgroups_root,
            master,
            agents,
        }
    }

    /// The cluster with the master and every agent started, the agents registered.
    pub fn start(self) -> Cluster {
        let mut cluster = self.build();
        cluster.start_master();
        for index in 0..cluster.agents.len() {
            cluster.start_agent(index);
        }
        for index in 0..cluster.agents.len() {
            cluster.agent_id(index);
        }
        cluster
    }
}

/// A master and its agents as OS processes. Everything started is killed on drop.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    cgroups_root: String,
    master: Daemon,
    agents: Vec<Daemon>,
}

impl Cluster {
    /// A cluster named after its test (the name appears in its directories).
    pub fn builder(name: &str) -> ClusterBuilder {
        ClusterBuilder {
            name: name.to_owned(),
            master_flags: Vec::new(),
            agent_flags: Vec::new(),
        }
    }

    /// The master as `--master` takes it: `ip:port`.
    pub fn master(&self) -> String {
        self.master.addr.to_string()
    }

    /// The test's own directory, removed on drop: for files tasks wait for.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `--cgroups_root` every agent gets: the cgroups of this test's containers,
    /// in each hierarchy, are under it.
    pub fn cgroups_root(&self) -> &str {
        &self.cgroups_root
    }

    /// Starts the master and waits until it serves its state.
    pub fn start_master(&mut self) {
        self.master.spawn();
        until("the master to serve /master/state", || {
            self.master.check_alive();
            self.master_state()
        });
    }

    /// Kills the master with SIGKILL, as a crash would.
    pub fn kill_master(&mut self) {
        self.master.kill();
    }

    /// Kills the master and starts it again with the same flags and work dir.
    pub fn restart_master(&mut self) {
        self.kill_master();
        self.start_master();
    }

    /// Starts agent `index` (it registers on its own; see [`Cluster::agent_id`]).
    pub fn start_agent(&mut self, index: usize) {
        self.agents[index].spawn();
    }

    /// Kills agent `index` with SIGKILL, as a crash would; its executors live on.
    pub fn kill_agent(&mut self, index: usize) {
        self.agents[index].kill();
    }

    /// Kills agent `index` and starts it again on the same address and work dir, so
    /// that it recovers its checkpointed state.
    pub fn restart_agent(&mut self, index: usize) {
        self.kill_agent(index);
        self.start_agent(index);
    }

    /// Agent `index`'s pid: `slave(1)@ip:port`.
    pub fn agent_pid(&self, index: usize) -> String {
        format!("slave(1)@{}", self.agents[index].addr)
    }

    /// Agent `index`'s work dir.
    pub fn agent_work_dir(&self, index: usize) -> &Path {
        &self.agents[index].dir
    }

    /// The OS pids of the executors agent `index` runs now (whether the agent itself
    /// runs or not), sorted. Each leads the session of its tasks.
    pub fn executor_pids(&self, index: usize) -> Vec<i32> {
        sessions_under(&self.agents[index].dir)
    }

    /// Agent `index`'s id, once the master shows it registered and active.
    pub fn agent_id(&self, index: usize) -> String {
        let pid = self.agent_pid(index);
        until(&format!("agent {index} ({pid}) to be active"), || {
            self.agents[index].check_alive();
            let state = self.master_state()?;
            let agent = slaves(&state).find(|agent| agent["pid"] == pid.as_str())?;
            let active = agent["active"] == true;
            active.then(|| agent["id"].as_str().map(str::to_owned))?
        })
    }

    /// `/master/state`, or `None` while the master does not answer.
    pub fn master_state(&self) -> Option<Value> {
        self.master_json("/master/state")
    }

    /// The JSON the master serves at `path` (`/master/roles`), or `None` while it
    /// does not answer.
    pub fn master_json(&self, path: &str) -> Option<Value> {
        get_json(self.master.addr, path)
    }

    /// Agent `index`'s `/state`, or `None` while it does not answer.
    pub fn agent_state(&self, index: usize) -> Option<Value> {
        get_json(self.agents[index].addr, "/slave(1)/state")
    }

    /// Polls `/master/state` until `check` holds; returns that state.
    pub fn until(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        until(what, || self.master_state().filter(|state| check(state)))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.master.print_log_tail();
            self.agents.iter().for_each(Daemon::print_log_tail);
        }
        for agent in &mut self.agents {
            agent.kill();
        }
        self.master.kill();
        for agent in &self.agents {
            checkpointed_executor_pids(&agent.dir)
                .into_iter()
                .chain(sessions_under(&agent.dir))
                .for_each(kill_session);
        }
        remove_cgroups(Path::new(CGROUPS_HIERARCHY), &self.cgroups_root);
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("could not remove {}: {error}", self.dir.display());
        }
    }
}

/// The agents `/master/state` lists.
fn slaves(state: &Value) -> impl Iterator<Item = &Value> {
    state["slaves"].as_array().into_iter().flatten()
}

/// One daemon: how it is started, and its process while it runs.
#[derive(Debug)]
struct Daemon {
    binary: PathBuf,
    addr: SocketAddr,
    dir: PathBuf,
    flags: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    fn new(binary: &str, addr: SocketAddr, dir: PathBuf, flags: Vec<String>) -> Daemon {
        let log = dir.with_extension("log");
        Daemon {
            binary: self::binary(binary),
            addr,
            dir,
            flags,
            log,
            child: None,
        }
    }

    /// Starts the daemon, its output appended to its log (which survives restarts).
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name());
        std::fs::create_dir_all(&self.dir).expect("create the daemon's work dir");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the daemon's log");
        let stderr = log.try_clone().expect("share the log");
        let child = Command::new(&self.binary)
            .args(&self.flags)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", self.name()));
        self.child = Some(child);
    }

    /// SIGKILL, then reap; nothing when it is not running.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Fails the test when the daemon exited on its own. Read from `/proc`, where an
    /// exited child stays a zombie until it is reaped on kill.
    fn check_alive(&self) {
        let Some(child) = &self.child else {
            return;
        };
        let exited = procfs::process::Process::new(child.id() as i32)
            .and_then(|process| process.stat())
            .map_or(true, |stat| stat.state == 'Z');
        assert!(!exited, "{} exited; see its log below", self.name());
    }

    fn name(&self) -> String {
        let binary = self
            .binary
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        format!("{binary} at {}", self.addr)
    }

    fn print_log_tail(&self) {
        let Ok(file) = File::open(&self.log) else {
            return;
        };
        let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
        let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
        eprintln!("----- the last lines of {} -----", self.name());
        tail.iter().for_each(|line| eprintln!("{line}"));
    }
}

/// Sets `--name=value` in `flags`, replacing a flag of the same name: the daemons
/// refuse a flag given twice.
fn set_flag(flags: &mut Vec<String>, flag: &str) {
    let name = flag.split_once('=').map_or(flag, |(name, _)| name);
    flags.retain(|existing| {
        existing
            .split_once('=')
            .map_or(existing.as_str(), |(n, _)| n)
            != name
    });
    flags.push(flag.to_owned());
}

/// A loopback address `127.0.0.x` (x picked at random, so that parallel tests spread
/// out) with a port that was free on it a moment ago.
fn free_loopback_addr() -> SocketAddr {
    until("a free loopback address", || {
        let ip = Ipv4Addr::new(127, 0, 0, fastrand::u8(2..=254));
        let listener = TcpListener::bind((ip, 0)).ok()?;
        listener.local_addr().ok()
    })
}
