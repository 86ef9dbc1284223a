//! `failover`: the time a high-availability cluster takes to recover from the loss of
//! its leading master. One real ZooKeeper and three `mesos-master` OS processes
//! (elected through it, registry in ZooKeeper); N simulated agents in this process,
//! each its own libproc process speaking the real agent messages: they follow the
//! leader through a `MasterDetector`, register, answer pings, and re-register with a
//! new leader carrying their running tasks (10 tasks of 10 labels each by default,
//! as Mesos's `AgentReregistrationDelay` benchmark).
//!
//! A round SIGKILLs the leading master and measures, from the kill: the moment a
//! surviving master reports `master/elected` (polled on `/metrics/snapshot`), and the
//! moment the last agent receives `SlaveReregisteredMessage` from the new leader.
//! Between rounds the killed master is started again, as a follower.
//!
//! With `--real-agents` the agents are real `mesos-agent` OS processes instead (no
//! tasks: they would need executors), and "re-registered" is read from the new
//! leader's `/master/slaves`: every agent active, with a `reregistered_time` after the
//! kill; the last of those times ends the round.
//!
//! `mesos-master` (and `mesos-agent` for `--real-agents`) must sit beside this binary
//! (`cargo build --release -p mesos-bench -p mesos-master -p mesos-agent`).

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use libproc::{Context, Pid, Process, ProcessId, RemoteConnection, Timer};
use mesos_detector::zookeeper::testing::ZooKeeper;
use mesos_detector::MasterDetector;
use mesos_proto::mesos::{AgentInfo, FrameworkInfo, Label, Labels, Task, TaskState};
use mesos_proto::messages::{
    PingSlaveMessage, PongSlaveMessage, RegisterSlaveMessage, ReregisterSlaveMessage,
    SlaveRegisteredMessage, SlaveReregisteredMessage,
};
use mesos_proto::{AgentId, FrameworkId, Resources};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;

use crate::report;

/// The workload's knobs.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Simulated agents.
    #[arg(long, default_value_t = 1_000)]
    agents: usize,
    /// Masters (OS processes); the quorum is a majority of them.
    #[arg(long, default_value_t = 3)]
    masters: usize,
    /// Running tasks each agent reports when it re-registers.
    #[arg(long, default_value_t = 10)]
    tasks_per_agent: usize,
    /// Labels on each task.
    #[arg(long, default_value_t = 10)]
    labels_per_task: usize,
    /// The masters' ZooKeeper session timeout: a killed leader's znode lives this
    /// long, so it bounds the election.
    #[arg(long, default_value = "2secs")]
    zk_session_timeout: String,
    /// Failovers: each kills the leader of the moment.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The agents' first registration retry interval (the real agent's
    /// `--registration_backoff_factor`): a new leader drops messages until it has
    /// recovered the registry, so the retries bound how soon agents get through.
    #[arg(long, default_value = "100ms")]
    registration_backoff_factor: String,
    /// How long each phase (registration, one failover) may take.
    #[arg(long, default_value = "10mins")]
    timeout: String,
    /// Real `mesos-agent` processes, without tasks, instead of simulated agents.
    #[arg(long)]
    real_agents: bool,
}

/// What each task uses; the agents are big enough for all of theirs.
const TASK_RESOURCES: &str = "cpus:0.1;mem:32";

/// How often the masters' metrics are polled for the new leader.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// How often `/master/slaves` is read for real agents: the times it lists, not the
/// poll, give the figure, so the poll need not load the master.
const REAL_AGENTS_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The real agent's cap on its registration backoff.
const MAX_REGISTRATION_BACKOFF: Duration = Duration::from_secs(60);

/// How many lines of each master's log are printed when the run fails.
const LOG_TAIL_LINES: usize = 20;

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.agents > 0, "--agents must be at least 1");
    anyhow::ensure!(
        args.masters >= 2,
        "--masters must be at least 2 to fail over"
    );
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    let parse = |flag: &str, value: &str| {
        mesos_proto::duration::parse_duration(value).with_context(|| format!("--{flag}"))
    };
    let session_timeout = parse("zk_session_timeout", &args.zk_session_timeout)?;
    let backoff = parse(
        "registration_backoff_factor",
        &args.registration_backoff_factor,
    )?;
    let timeout = parse("timeout", &args.timeout)?;
    let master_binary = binary("mesos-master")?;
    let agent_binary = args
        .real_agents
        .then(|| binary("mesos-agent"))
        .transpose()?;
    crate::start_runtime()?;
    let rounds = libproc::Runtime::block_on(async {
        // Started from this (the main) thread: the servers die with it.
        let zookeeper = ZooKeeper::start().await.context("start ZooKeeper")?;
        let url = zookeeper.url("/mesos");
        let mut masters = start_masters(&master_binary, &url, &args)?;
        let mut agents = match &agent_binary {
            Some(binary) => Agents::Real(start_agents(binary, &url, &args)?),
            None => Agents::simulated(&url, session_timeout, backoff, &args)?,
        };
        let outcome = measure(&mut masters, &mut agents, timeout, &args).await;
        if outcome.is_err() {
            masters.print_log_tails();
            if let Agents::Real(daemons) = &agents {
                daemons.print_log_tails();
            }
        }
        outcome
    })?;
    let election: Vec<f64> = rounds.iter().map(|r| r.election_ms).collect();
    let reregistered: Vec<f64> = rounds.iter().map(|r| r.reregistered_ms).collect();
    let after_election: Vec<f64> = rounds
        .iter()
        .map(|r| r.reregistered_ms - r.election_ms)
        .collect();
    for (index, round) in rounds.iter().enumerate() {
        println!(
            "round {}: kill to elected {:.0} ms, kill to all {} agents re-registered {:.0} ms ({:.0} ms after election)",
            index + 1,
            round.election_ms,
            args.agents,
            round.reregistered_ms,
            round.reregistered_ms - round.election_ms
        );
    }
    let (election, reregistered, after_election) = (
        report::median(&election),
        report::median(&reregistered),
        report::median(&after_election),
    );
    let agents = if args.real_agents {
        format!("{} real agents without tasks", args.agents)
    } else {
        format!(
            "{} agents x {} tasks x {} labels",
            args.agents, args.tasks_per_agent, args.labels_per_task
        )
    };
    println!(
        "{agents}, {} masters, zk_session_timeout {}: median kill to elected {election:.0} ms, to all re-registered {reregistered:.0} ms ({after_election:.0} ms after election)",
        args.masters, args.zk_session_timeout
    );
    report::finish(
        "failover",
        json!({
            "agents": args.agents,
            "masters": args.masters,
            "tasks_per_agent": args.tasks_per_agent,
            "labels_per_task": args.labels_per_task,
            "zk_session_timeout_ms": session_timeout.as_secs_f64() * 1e3,
            "registration_backoff_factor_ms": backoff.as_secs_f64() * 1e3,
            "real_agents": args.real_agents,
            "rounds": rounds.len(),
            "kill_to_elected_ms_p50": election,
            "kill_to_reregistered_ms_p50": reregistered,
            "elected_to_reregistered_ms_p50": after_election,
        }),
    );
    Ok(())
}

/// The binary `name` beside this one.
fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("find this binary")?;
    let path = exe.with_file_name(name);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: cargo build --release -p mesos-bench -p mesos-master -p mesos-agent",
        path.display()
    );
    Ok(path)
}

/// One failover's figures, in milliseconds from the kill.
#[derive(Debug)]
struct Round {
    election_ms: f64,
    reregistered_ms: f64,
}

/// The agents under test.
enum Agents {
    /// Simulated agents in this process, reporting each confirmation.
    Simulated(mpsc::UnboundedReceiver<Event>),
    /// `mesos-agent` processes.
    Real(Daemons),
}

impl Agents {
    /// Spawns the simulated agents, which start registering at once.
    fn simulated(
        url: &str,
        session_timeout: Duration,
        backoff: Duration,
        args: &Args,
    ) -> anyhow::Result<Agents> {
        let detector = MasterDetector::create_with_session_timeout(url, session_timeout)
            .context("the agents' master detector")?;
        let framework = FrameworkInfo {
            user: "bench".into(),
            name: "failover".into(),
            id: Some(FrameworkId::from(format!(
                "bench-failover-{}",
                std::process::id()
            ))),
            checkpoint: Some(true),
            ..FrameworkInfo::default()
        };
        let task_resources = Resources::parse(TASK_RESOURCES, "*").context("task resources")?;
        let agent_resources =
            Resources::parse(&agent_resources(args), "*").context("agent resources")?;
        let (events, received) = mpsc::unbounded_channel();
        for index in 0..args.agents {
            let agent = SimAgent {
                index,
                info: AgentInfo {
                    hostname: format!("bench-agent-{index}"),
                    resources: agent_resources.clone(),
                    checkpoint: Some(true),
                    ..AgentInfo::default()
                },
                framework: framework.clone(),
                task_resources: task_resources.clone(),
                tasks_per_agent: args.tasks_per_agent,
                labels_per_task: args.labels_per_task,
                tasks: Vec::new(),
                detector: detector.clone(),
                master: None,
                registering: false,
                backoff_factor: backoff,
                backoff,
                retry: None,
                events: events.clone(),
            };
            libproc::spawn(agent, ProcessId::generate("slave")).context("spawn an agent")?;
        }
        Ok(Agents::Simulated(received))
    }

    /// Waits until every agent is registered; returns the master they registered with.
    async fn registered(
        &mut self,
        masters: &Daemons,
        agents: usize,
        timeout: Duration,
    ) -> anyhow::Result<SocketAddr> {
        match self {
            Agents::Simulated(received) => {
                confirmations(received, agents, timeout, |event| {
                    event.kind == EventKind::Registered
                })
                .await
            }
            Agents::Real(_) => {
                let masters: Vec<SocketAddr> = masters.running().collect();
                let (leader, _) = active_agents(&masters, agents, None, timeout).await?;
                Ok(leader)
            }
        }
    }

    /// Waits until every agent re-registered with a master other than the one killed
    /// at `killed_at`; returns that master and when the last agent did.
    async fn reregistered(
        &mut self,
        survivors: &[SocketAddr],
        agents: usize,
        killed_at: (Instant, SystemTime),
        timeout: Duration,
    ) -> anyhow::Result<(SocketAddr, Instant)> {
        match self {
            Agents::Simulated(received) => {
                let leader = confirmations(received, agents, timeout, |event| {
                    event.kind == EventKind::Reregistered
                        && event.at >= killed_at.0
                        && survivors.contains(&event.master)
                })
                .await?;
                Ok((leader, Instant::now()))
            }
            Agents::Real(_) => {
                let (leader, last) =
                    active_agents(survivors, agents, Some(killed_at.1), timeout).await?;
                let after_kill = last
                    .duration_since(killed_at.1)
                    .context("a re-registration before the kill")?;
                Ok((leader, killed_at.0 + after_kill))
            }
        }
    }
}

/// What each agent offers: enough for all of its tasks.
fn agent_resources(args: &Args) -> String {
    format!(
        "cpus:{};mem:{};disk:4096;ports:[31000-32000]",
        0.1 * args.tasks_per_agent as f64 + 1.0,
        32 * args.tasks_per_agent + 1024
    )
}

/// Registers the agents with the first leader, then runs the rounds.
async fn measure(
    masters: &mut Daemons,
    agents: &mut Agents,
    timeout: Duration,
    args: &Args,
) -> anyhow::Result<Vec<Round>> {
    let started = Instant::now();
    let leader = agents
        .registered(masters, args.agents, timeout)
        .await
        .context("registering the agents")?;
    println!(
        "{} agents registered with {leader} in {:.2} s",
        args.agents,
        started.elapsed().as_secs_f64()
    );
    let mut leader = masters.index_of(leader)?;
    let mut rounds = Vec::new();
    for _ in 0..args.rounds {
        let killed_addr = masters.addr(leader);
        let survivors: Vec<SocketAddr> = masters
            .running()
            .filter(|&addr| addr != killed_addr)
            .collect();
        let killed_at = (Instant::now(), SystemTime::now());
        masters.kill(leader);
        let election = tokio::spawn(elected(survivors.clone()));
        let (new_leader, reregistered_at) = agents
            .reregistered(&survivors, args.agents, killed_at, timeout)
            .await
            .context("re-registering the agents")?;
        let elected_at = tokio::time::timeout(timeout, election)
            .await
            .context("no master reported its election")?
            .context("the election poller")?;
        rounds.push(Round {
            election_ms: elected_at.duration_since(killed_at.0).as_secs_f64() * 1e3,
            reregistered_ms: reregistered_at.duration_since(killed_at.0).as_secs_f64() * 1e3,
        });
        masters.restart(leader)?;
        wait_serving(masters.addr(leader), timeout).await?;
        leader = masters.index_of(new_leader)?;
    }
    Ok(rounds)
}

/// Polls the masters' `/master/slaves` until one of them (the leader: followers
/// redirect) lists `agents` active agents, each re-registered after `since` when given.
/// Returns that master and the latest (re-)registration time it lists.
async fn active_agents(
    masters: &[SocketAddr],
    agents: usize,
    since: Option<SystemTime>,
    timeout: Duration,
) -> anyhow::Result<(SocketAddr, SystemTime)> {
    let deadline = tokio::time::Instant::now() + timeout;
    let since = since.map(unix_seconds);
    loop {
        for &master in masters {
            let Some(listed) = get_json(master, "/master/slaves").await else {
                continue;
            };
            let times: Vec<f64> = listed["slaves"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|agent| agent["active"].as_bool() == Some(true))
                .filter_map(|agent| match since {
                    Some(since) => agent["reregistered_time"].as_f64().filter(|t| *t >= since),
                    None => agent["registered_time"].as_f64(),
                })
                .collect();
            if times.len() >= agents {
                let last = times.iter().copied().fold(f64::MIN, f64::max);
                return Ok((master, UNIX_EPOCH + Duration::from_secs_f64(last.max(0.0))));
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "not all {agents} agents active on one master within {timeout:?}"
        );
        tokio::time::sleep(REAL_AGENTS_POLL_INTERVAL).await;
    }
}

fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Waits until every agent has confirmed once through an event that `counts`;
/// returns the master that confirmed them, which must be one and the same.
async fn confirmations(
    received: &mut mpsc::UnboundedReceiver<Event>,
    agents: usize,
    timeout: Duration,
    counts: impl Fn(&Event) -> bool,
) -> anyhow::Result<SocketAddr> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut confirmed = vec![false; agents];
    let mut count = 0;
    let mut master = None;
    while count < agents {
        let event = tokio::time::timeout_at(deadline, received.recv())
            .await
            .with_context(|| format!("only {count} of {agents} agents within {timeout:?}"))?
            .context("the agents stopped")?;
        if !counts(&event) || std::mem::replace(&mut confirmed[event.agent], true) {
            continue;
        }
        count += 1;
        let first = *master.get_or_insert(event.master);
        anyhow::ensure!(
            first == event.master,
            "agents confirmed by two masters: {first} and {}",
            event.master
        );
    }
    master.context("no agent")
}

/// When one of `masters` first reports `master/elected`.
async fn elected(masters: Vec<SocketAddr>) -> Instant {
    loop {
        for &master in &masters {
            let snapshot = get_json(master, "/metrics/snapshot").await;
            if snapshot.is_some_and(|s| s["master/elected"].as_f64() == Some(1.0)) {
                return Instant::now();
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Waits until `master` serves its metrics, so that it contends again.
async fn wait_serving(master: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    while get_json(master, "/metrics/snapshot").await.is_none() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the restarted master at {master} did not serve within {timeout:?}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    Ok(())
}

/// `GET path` from `addr`, the body as JSON when the answer is a 200; `None` when
/// nothing answers (a killed master) or anything else comes back.
async fn get_json(addr: SocketAddr, path: &str) -> Option<serde_json::Value> {
    let request = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        let response = String::from_utf8_lossy(&response);
        let (head, body) = response.split_once("\r\n\r\n")?;
        (head.split(' ').nth(1)? == "200")
            .then(|| serde_json::from_str(body).ok())
            .flatten()
    };
    tokio::time::timeout(Duration::from_secs(5), request)
        .await
        .ok()
        .flatten()
}

/// What a simulated agent reports: the master confirmed it.
#[derive(Debug)]
struct Event {
    agent: usize,
    kind: EventKind,
    master: SocketAddr,
    at: Instant,
}

#[derive(Debug, PartialEq, Eq)]
enum EventKind {
    Registered,
    Reregistered,
}

/// A simulated agent: the real agent's registration protocol (detect, register with
/// backoff, answer pings, re-register with its tasks on a leader change) without
/// containers; its tasks are made up once it has an id.
#[derive(Debug)]
struct SimAgent {
    index: usize,
    info: AgentInfo,
    framework: FrameworkInfo,
    task_resources: Resources,
    tasks_per_agent: usize,
    labels_per_task: usize,
    tasks: Vec<Task>,
    detector: MasterDetector,
    master: Option<Pid>,
    /// Whether a (re-)registration awaits the master's answer.
    registering: bool,
    backoff_factor: Duration,
    backoff: Duration,
    retry: Option<Timer>,
    events: mpsc::UnboundedSender<Event>,
}

impl SimAgent {
    fn detect(&mut self, ctx: &mut Context<Self>) {
        let detection = self.detector.detect(self.master.as_ref());
        ctx.defer(detection, SimAgent::detected);
    }

    fn detected(&mut self, leader: Option<Pid>, ctx: &mut Context<Self>) {
        if leader != self.master {
            self.master = leader;
            if let Some(master) = &self.master {
                // One connection for all the simulated agents: `Reconnect`, as a real
                // agent links, would have each of them replace the one before.
                ctx.link_with(master, RemoteConnection::Reuse);
                self.start_registering(ctx);
            }
        }
        self.detect(ctx);
    }

    /// As the real agent: a first random wait up to the backoff factor, so that the
    /// agents that all detected the new leader at once spread out.
    fn start_registering(&mut self, ctx: &mut Context<Self>) {
        self.registering = true;
        self.backoff = self.backoff_factor * 2;
        let wait = self.backoff_factor.mul_f64(fastrand::f64());
        self.schedule(wait, ctx);
    }

    fn schedule(&mut self, wait: Duration, ctx: &mut Context<Self>) {
        if let Some(retry) = self.retry.replace(ctx.delay(wait, SimAgent::register)) {
            retry.cancel();
        }
    }

    /// Sends the (re-)registration and, as the real agent, tries again after a
    /// random wait up to a backoff that doubles.
    fn register(&mut self, ctx: &mut Context<Self>) {
        let Some(master) = self.master.clone().filter(|_| self.registering) else {
            return;
        };
        let version = mesos_proto::MESOS_VERSION.to_owned();
        match self.info.id {
            None => ctx.send(
                &master,
                RegisterSlaveMessage {
                    slave: self.info.clone(),
                    version,
                    ..RegisterSlaveMessage::default()
                },
            ),
            Some(_) => ctx.send(
                &master,
                ReregisterSlaveMessage {
                    slave: self.info.clone(),
                    tasks: self.tasks.clone(),
                    frameworks: vec![self.framework.clone()],
                    version,
                    ..ReregisterSlaveMessage::default()
                },
            ),
        }
        let wait = self.backoff.mul_f64(fastrand::f64());
        self.backoff = (self.backoff * 2).min(MAX_REGISTRATION_BACKOFF);
        self.schedule(wait, ctx);
    }

    fn is_master(&self, from: &Pid) -> bool {
        self.master.as_ref().is_some_and(|m| m.addr == from.addr)
    }

    fn confirmed(&mut self, kind: EventKind, from: &Pid) {
        self.registering = false;
        if let Some(retry) = self.retry.take() {
            retry.cancel();
        }
        let _ = self.events.send(Event {
            agent: self.index,
            kind,
            master: from.addr,
            at: Instant::now(),
        });
    }

    fn registered(&mut self, from: Pid, message: SlaveRegisteredMessage, _: &mut Context<Self>) {
        if !self.registering || !self.is_master(&from) {
            return;
        }
        self.tasks = self.make_tasks(&message.slave_id);
        self.info.id = Some(message.slave_id);
        self.confirmed(EventKind::Registered, &from);
    }

    fn reregistered(
        &mut self,
        from: Pid,
        _message: SlaveReregisteredMessage,
        _: &mut Context<Self>,
    ) {
        if self.registering && self.is_master(&from) {
            self.confirmed(EventKind::Reregistered, &from);
        }
    }

    /// PingSlaveMessage: answered at once; a master that counts the agent as
    /// disconnected gets a re-registration, as from the real agent.
    fn ping(&mut self, from: Pid, message: PingSlaveMessage, ctx: &mut Context<Self>) {
        if !self.is_master(&from) {
            return;
        }
        ctx.send(&from, PongSlaveMessage {});
        if !message.connected && !self.registering {
            self.start_registering(ctx);
        }
    }

    /// The agent's running tasks, each with its labels.
    fn make_tasks(&self, agent_id: &AgentId) -> Vec<Task> {
        let labels = Labels {
            labels: (0..self.labels_per_task)
                .map(|label| Label {
                    key: format!("key-{label}"),
                    value: Some(format!("value-{label}")),
                })
                .collect(),
        };
        (0..self.tasks_per_agent)
            .map(|task| Task {
                name: format!("task-{task}"),
                task_id: format!("{agent_id}-task-{task}").into(),
                framework_id: self.framework.id.clone().unwrap_or_default(),
                agent_id: agent_id.clone(),
                state: TaskState::TASK_RUNNING,
                resources: self.task_resources.clone(),
                labels: Some(labels.clone()),
                ..Task::default()
            })
            .collect()
    }
}

impl Process for SimAgent {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install(SimAgent::registered);
        ctx.install(SimAgent::reregistered);
        ctx.install(SimAgent::ping);
        self.detect(ctx);
    }
}

/// Daemons (masters or agents) as OS processes, with their work dirs and logs in one
/// temp dir; all killed and removed on drop.
#[derive(Debug)]
struct Daemons {
    dir: PathBuf,
    daemons: Vec<Daemon>,
}

#[derive(Debug)]
struct Daemon {
    addr: SocketAddr,
    command: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
}

/// Three (`--masters`) masters contending through ZooKeeper, registry in it.
fn start_masters(binary: &Path, url: &str, args: &Args) -> anyhow::Result<Daemons> {
    let mut masters = Daemons::new("masters")?;
    for index in 0..args.masters {
        masters.start(
            binary,
            &format!("master-{index}"),
            vec![
                "--hostname=127.0.0.1".to_owned(),
                format!("--zk={url}"),
                format!("--quorum={}", args.masters / 2 + 1),
                format!("--zk_session_timeout={}", args.zk_session_timeout),
            ],
        )?;
    }
    Ok(masters)
}

/// `--agents` real agents following the leader through ZooKeeper.
fn start_agents(binary: &Path, url: &str, args: &Args) -> anyhow::Result<Daemons> {
    let mut agents = Daemons::new("agents")?;
    for index in 0..args.agents {
        agents.start(
            binary,
            &format!("agent-{index}"),
            vec![
                format!("--master={url}"),
                format!("--hostname=bench-agent-{index}"),
                format!("--resources={}", agent_resources(args)),
                format!(
                    "--registration_backoff_factor={}",
                    args.registration_backoff_factor
                ),
            ],
        )?;
    }
    Ok(agents)
}

impl Daemons {
    fn new(kind: &str) -> anyhow::Result<Daemons> {
        let dir = std::env::temp_dir().join(format!(
            "mesos-bench-failover-{}-{kind}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        Ok(Daemons {
            dir,
            daemons: Vec::new(),
        })
    }

    /// Starts `binary` as `name`: on a free loopback port, with a work dir and a log
    /// (`<name>.log`) of its own, and `flags` besides.
    fn start(&mut self, binary: &Path, name: &str, flags: Vec<String>) -> anyhow::Result<()> {
        let addr = free_port()?;
        let mut command = vec![
            binary.display().to_string(),
            format!("--ip={}", addr.ip()),
            format!("--port={}", addr.port()),
            format!("--work_dir={}", self.dir.join(name).display()),
        ];
        command.extend(flags);
        self.daemons.push(Daemon {
            addr,
            command,
            log: self.dir.join(format!("{name}.log")),
            child: None,
        });
        self.restart(self.daemons.len() - 1)
    }

    /// Starts daemon `index` (again), its output appended to its log.
    fn restart(&mut self, index: usize) -> anyhow::Result<()> {
        let master = &mut self.daemons[index];
        let log = File::options()
            .create(true)
            .append(true)
            .open(&master.log)
            .with_context(|| format!("open {}", master.log.display()))?;
        let stderr = log.try_clone().context("share the log")?;
        let mut command = Command::new(&master.command[0]);
        command
            .args(&master.command[1..])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr);
        // SAFETY: the closure runs between fork and exec and makes one
        // async-signal-safe system call.
        unsafe {
            command.pre_exec(|| {
                // A bench killed before its cleanup runs leaves no master behind.
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)
            });
        }
        let child = command
            .spawn()
            .with_context(|| format!("start {}", master.command[0]))?;
        master.child = Some(child);
        Ok(())
    }

    /// SIGKILL, as a crash would, then reap.
    fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.daemons[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn addr(&self, index: usize) -> SocketAddr {
        self.daemons[index].addr
    }

    /// The addresses of the masters that run.
    fn running(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.daemons
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| m.addr)
    }

    fn index_of(&self, addr: SocketAddr) -> anyhow::Result<usize> {
        self.daemons
            .iter()
            .position(|m| m.addr == addr)
            .with_context(|| format!("{addr} is none of the masters"))
    }

    fn print_log_tails(&self) {
        for master in &self.daemons {
            let Ok(file) = File::open(&master.log) else {
                continue;
            };
            let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
            eprintln!(
                "----- the last lines of {} ({}) -----",
                master.log.display(),
                master.addr
            );
            for line in &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..] {
                eprintln!("{line}");
            }
        }
    }
}

impl Drop for Daemons {
    fn drop(&mut self) {
        (0..self.daemons.len()).for_each(|index| self.kill(index));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("find a free port")?;
    listener.local_addr().context("find a free port")
}
