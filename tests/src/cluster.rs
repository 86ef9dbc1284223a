//! `Cluster`: one `mesos-master` (or several, elected through a real ZooKeeper) and
//! any number of `mesos-agent` OS processes, each on its own loopback address, with a
//! work dir per test.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use mesos_detector::zookeeper::testing::ZooKeeper;
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
    masters: usize,
    zookeeper_servers: usize,
    master_flags: Vec<String>,
    agent_flags: Vec<Vec<String>>,
}

impl ClusterBuilder {
    /// `count` masters elected through a real ZooKeeper of `servers` servers (1: a
    /// standalone server, more: an ensemble) started by the harness: the masters get
    /// `--zk`, the agents and [`Cluster::master`] the `zk://` URL.
    pub fn high_availability(mut self, count: usize, servers: usize) -> Self {
        self.masters = count;
        self.zookeeper_servers = servers;
        self
    }

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
        let zookeeper =
            (self.zookeeper_servers > 0).then(|| TestZooKeeper::start(self.zookeeper_servers));
        let zk_url = zookeeper.as_ref().map(|zk| zk.url());
        let masters: Vec<Daemon> = (0..self.masters.max(1))
            .map(|index| {
                let addr = free_loopback_addr();
                let work_dir = match index {
                    0 => dir.join("master"),
                    _ => dir.join(format!("master-{index}")),
                };
                let mut flags = vec![
                    format!("--ip={}", addr.ip()),
                    format!("--port={}", addr.port()),
                    format!("--hostname={}", addr.ip()),
                    format!("--work_dir={}", work_dir.display()),
                    // Offers come every 100ms rather than every second, so that
                    // scenarios move at the cluster's pace.
                    "--allocation_interval=100ms".to_owned(),
                ];
                if let Some(url) = &zk_url {
                    flags.push(format!("--zk={url}"));
                    flags.push(format!("--quorum={}", self.masters / 2 + 1));
                    // A killed leader's node goes with its session: a short session
                    // makes failovers quick.
                    flags.push("--zk_session_timeout=3secs".to_owned());
                }
                for flag in &self.master_flags {
                    set_flag(&mut flags, flag);
                }
                Daemon::new("mesos-master", addr, work_dir, flags)
            })
            .collect();
        let master_value = zk_url.unwrap_or_else(|| masters[0].addr.to_string());
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
                    format!("--master={master_value}"),
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
            zookeeper,
            masters,
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

/// The masters and their agents as OS processes, and the ZooKeeper that elects the
/// leader. Everything started is killed on drop.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    cgroups_root: String,
    zookeeper: Option<TestZooKeeper>,
    masters: Vec<Daemon>,
    agents: Vec<Daemon>,
}

impl Cluster {
    /// A cluster named after its test (the name appears in its directories).
    pub fn builder(name: &str) -> ClusterBuilder {
        ClusterBuilder {
            name: name.to_owned(),
            masters: 1,
            zookeeper_servers: 0,
            master_flags: Vec::new(),
            agent_flags: Vec::new(),
        }
    }

    /// The master as `--master` takes it: `ip:port`, or the `zk://` URL of a cluster
    /// with high availability.
    pub fn master(&self) -> String {
        match &self.zookeeper {
            Some(zookeeper) => zookeeper.url(),
            None => self.masters[0].addr.to_string(),
        }
    }

    /// Master `index`'s address.
    pub fn master_addr(&self, index: usize) -> SocketAddr {
        self.masters[index].addr
    }

    /// How many masters the cluster has.
    pub fn master_count(&self) -> usize {
        self.masters.len()
    }

    /// The ZooKeeper that elects the masters (kill and restart its servers).
    ///
    /// # Panics
    ///
    /// When the cluster was built without high availability.
    pub fn zookeeper(&mut self) -> &mut TestZooKeeper {
        self.zookeeper
            .as_mut()
            .expect("a cluster with high availability")
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

    /// Starts every master that is not running and waits until one leads (serves its
    /// state).
    pub fn start_master(&mut self) {
        for master in &mut self.masters {
            if master.child.is_none() {
                master.spawn();
            }
        }
        until("a master to lead and serve /master/state", || {
            self.masters.iter().for_each(Daemon::check_alive);
            self.master_state()
        });
    }

    /// Starts master `index` again (after a kill), without waiting.
    pub fn start_master_at(&mut self, index: usize) {
        self.masters[index].spawn();
    }

    /// The index of the master that leads now: the one that serves its state.
    pub fn leader(&self) -> usize {
        until("a master to lead", || {
            (0..self.masters.len())
                .find(|&index| self.master_json_at(index, "/master/state").is_some())
        })
    }

    /// Kills the leading master with SIGKILL, as a crash would; returns its index.
    pub fn kill_master(&mut self) -> usize {
        let leader = self.leader();
        self.masters[leader].kill();
        leader
    }

    /// Kills master `index` with SIGKILL.
    pub fn kill_master_at(&mut self, index: usize) {
        self.masters[index].kill();
    }

    /// How master `index` exited, once it has (`None` while it runs).
    pub fn master_exit(&mut self, index: usize) -> Option<std::process::ExitStatus> {
        let child = self.masters[index].child.as_mut()?;
        child.try_wait().ok().flatten()
    }

    /// Kills the leading master and starts every master again with the same flags
    /// and work dirs.
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

    /// The JSON the leading master serves at `path` (`/master/roles`), or `None` while
    /// none answers.
    pub fn master_json(&self, path: &str) -> Option<Value> {
        (0..self.masters.len()).find_map(|index| self.master_json_at(index, path))
    }

    /// The JSON master `index` serves at `path`, `None` while it does not answer with
    /// a 200 (a follower redirects).
    pub fn master_json_at(&self, index: usize, path: &str) -> Option<Value> {
        let master = &self.masters[index];
        master.child.as_ref()?;
        get_json(master.addr, path)
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
            self.masters.iter().for_each(Daemon::print_log_tail);
            self.agents.iter().for_each(Daemon::print_log_tail);
        }
        for agent in &mut self.agents {
            agent.kill();
        }
        self.masters.iter_mut().for_each(Daemon::kill);
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

/// A real ZooKeeper for a cluster, with the runtime its async API needs.
#[derive(Debug)]
pub struct TestZooKeeper {
    zookeeper: ZooKeeper,
    runtime: tokio::runtime::Runtime,
}

impl TestZooKeeper {
    fn start(servers: usize) -> TestZooKeeper {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for ZooKeeper");
        let started = runtime.block_on(async {
            match servers {
                1 => ZooKeeper::start().await,
                n => ZooKeeper::ensemble(n).await,
            }
        });
        let zookeeper = started.unwrap_or_else(|error| panic!("cannot start ZooKeeper: {error}"));
        TestZooKeeper { zookeeper, runtime }
    }

    /// `zk://<servers>/mesos`, the masters' group.
    pub fn url(&self) -> String {
        self.zookeeper.url("/mesos")
    }

    /// Kills server `index` with SIGKILL, keeping its data.
    pub fn kill(&mut self, index: usize) {
        self.zookeeper.kill(index);
    }

    /// Starts server `index` again and waits until it serves.
    pub fn restart(&mut self, index: usize) {
        let restarted = self.runtime.block_on(self.zookeeper.restart(index));
        restarted
            .unwrap_or_else(|error| panic!("cannot restart ZooKeeper server {index}: {error}"));
    }
}
