//! `http-scheduler`: M v1 HTTP schedulers subscribed to the real master over real HTTP
//! (raw TCP, chunked RecordIO read as it comes). Figures: offers delivered per second
//! on the streams while every scheduler declines every offer at once, and the latency
//! from an agent's `StatusUpdateMessage` leaving the agent to the UPDATE event read
//! from the framework's stream (median, p99), one update in flight at a time.
//!
//! The master and N agents share this process's runtime. The agents are small
//! processes that register, answer pings and send status updates, as a real agent
//! does on the wire: the figures are the master's and the HTTP path's, not an
//! executor's.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use libproc::{Context, Pid, Process, ProcessId};
use mesos_proto::mesos::{AgentInfo, TaskState, TaskStatus};
use mesos_proto::messages::{
    PingSlaveMessage, PongSlaveMessage, RegisterSlaveMessage, SlaveRegisteredMessage, StatusUpdate,
    StatusUpdateMessage,
};
use mesos_proto::{AgentId, Resources};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::report;

/// The workload's knobs.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// HTTP schedulers subscribed.
    #[arg(long, default_value_t = 10)]
    frameworks: usize,
    /// Agents whose resources are offered.
    #[arg(long, default_value_t = 10)]
    agents: usize,
    /// Seconds of offers counted.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Status updates timed, round-robin over the frameworks.
    #[arg(long, default_value_t = 1_000)]
    updates: usize,
    /// The master's batch allocation interval.
    #[arg(long, default_value = "100ms")]
    allocation_interval: String,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.frameworks > 0 && args.agents > 0,
        "--frameworks and --agents must be at least 1"
    );
    crate::start_runtime()?;
    let figures = libproc::Runtime::block_on(measure(&args))?;
    let offers_per_sec = figures.offers as f64 / args.seconds as f64;
    let median = report::median(&figures.latencies_ms);
    let p99 = report::percentile(&figures.latencies_ms, 0.99);
    println!(
        "{} HTTP frameworks, {} agents: {offers_per_sec:.1} offers/s delivered; agent update to UPDATE event median {median:.3} ms, p99 {p99:.3} ms ({} updates)",
        args.frameworks,
        args.agents,
        figures.latencies_ms.len()
    );
    report::finish(
        "http-scheduler",
        json!({
            "frameworks": args.frameworks,
            "agents": args.agents,
            "seconds": args.seconds,
            "offers": figures.offers,
            "offers_per_sec": offers_per_sec,
            "update_to_event_ms_p50": median,
            "update_to_event_ms_p99": p99,
        }),
    );
    Ok(())
}

struct Figures {
    offers: u64,
    latencies_ms: Vec<f64>,
}

async fn measure(args: &Args) -> anyhow::Result<Figures> {
    let flags = mesos_master::flags::Flags {
        registry: mesos_master::flags::RegistryBackend::InMemory,
        allocation_interval: mesos_proto::duration::parse_duration(&args.allocation_interval)
            .context("--allocation_interval")?,
        ..mesos_master::flags::Flags::default()
    };
    let master = mesos_master::start(flags)
        .context("start the master")?
        .pid()
        .clone();
    let offers = Arc::new(AtomicU64::new(0));
    let (updates_tx, mut updates_rx) = mpsc::unbounded_channel::<String>();
    let mut frameworks = Vec::new();
    for index in 0..args.frameworks {
        let client = Client::subscribe(master.addr, index, offers.clone(), updates_tx.clone())
            .await
            .with_context(|| format!("subscribe framework {index}"))?;
        frameworks.push(client);
    }
    let mut agents = Vec::new();
    for _ in 0..args.agents {
        agents.push(register_agent(&master).await?);
    }
    offers.store(0, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let counted = offers.load(Ordering::Relaxed);

    let mut latencies_ms = Vec::with_capacity(args.updates);
    for index in 0..args.updates {
        let framework = &frameworks[index % frameworks.len()];
        let agent = &agents[index % agents.len()];
        let task_id = format!("bench-{index}");
        let sent = Instant::now();
        agent.send_update(&framework.id, &task_id).await?;
        loop {
            let seen = tokio::time::timeout(Duration::from_secs(30), updates_rx.recv())
                .await
                .context("no UPDATE event within 30 s")?
                .context("the streams ended")?;
            if seen == task_id {
                latencies_ms.push(sent.elapsed().as_secs_f64() * 1e3);
                break;
            }
        }
    }
    Ok(Figures {
        offers: counted,
        latencies_ms,
    })
}

/// One HTTP scheduler: its stream is read by a task that counts offers, declines
/// them on a kept-alive connection, and reports UPDATE events' task ids.
struct Client {
    id: String,
}

impl Client {
    async fn subscribe(
        master: SocketAddr,
        index: usize,
        offers: Arc<AtomicU64>,
        updates: mpsc::UnboundedSender<String>,
    ) -> anyhow::Result<Client> {
        let body = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {
            "user": "bench", "name": format!("http-{index}")}}});
        let mut stream = TcpStream::connect(master).await.context("connect")?;
        stream.write_all(&request(&body, None)).await?;
        let mut reader = ChunkReader::new(stream);
        let head = reader.head().await?;
        anyhow::ensure!(
            head.starts_with("HTTP/1.1 200"),
            "SUBSCRIBE answered {head}"
        );
        let stream_id = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("mesos-stream-id: ")
                    .or_else(|| l.strip_prefix("Mesos-Stream-Id: "))
            })
            .context("no Mesos-Stream-Id")?
            .trim()
            .to_owned();
        let subscribed = reader.record().await?.context("the stream ended")?;
        let id = subscribed["subscribed"]["framework_id"]["value"]
            .as_str()
            .context("no framework id in SUBSCRIBED")?
            .to_owned();
        let calls = TcpStream::connect(master)
            .await
            .context("connect for calls")?;
        let framework_id = id.clone();
        tokio::spawn(async move {
            let mut calls = ChunkReader::new(calls);
            while let Ok(Some(event)) = reader.record().await {
                match event["type"].as_str() {
                    Some("OFFERS") => {
                        let ids: Vec<Value> = event["offers"]["offers"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|o| o["id"].clone())
                            .collect();
                        offers.fetch_add(ids.len() as u64, Ordering::Relaxed);
                        let decline = json!({"type": "DECLINE", "framework_id": {"value": framework_id},
                            "decline": {"offer_ids": ids, "filters": {"refuse_seconds": 0.0}}});
                        if calls.call(&decline, &stream_id).await.is_err() {
                            return;
                        }
                    }
                    Some("UPDATE") => {
                        let task = event["update"]["status"]["task_id"]["value"].as_str();
                        let _ = updates.send(task.unwrap_or_default().to_owned());
                    }
                    _ => {}
                }
            }
        });
        Ok(Client { id })
    }
}

fn request(body: &Value, stream_id: Option<&str>) -> Vec<u8> {
    let body = body.to_string();
    let stream_id = stream_id
        .map(|id| format!("Mesos-Stream-Id: {id}\r\n"))
        .unwrap_or_default();
    format!(
        "POST /master/api/v1/scheduler HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nAccept: application/json\r\n{stream_id}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads an HTTP/1.1 connection: a head, chunks of RecordIO, or whole answers.
struct ChunkReader {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl ChunkReader {
    fn new(stream: TcpStream) -> Self {
        ChunkReader {
            stream,
            buffer: Vec::new(),
        }
    }

    async fn fill(&mut self, n: usize) -> anyhow::Result<()> {
        while self.buffer.len() < n {
            let mut chunk = [0u8; 16384];
            let read = self.stream.read(&mut chunk).await?;
            anyhow::ensure!(read > 0, "the connection closed");
            self.buffer.extend_from_slice(&chunk[..read]);
        }
        Ok(())
    }

    /// Everything up to a blank line (the head), or one CRLF-ended line.
    async fn until(&mut self, end: &[u8]) -> anyhow::Result<String> {
        loop {
            if let Some(at) = self.buffer.windows(end.len()).position(|w| w == end) {
                let text = String::from_utf8_lossy(&self.buffer[..at]).into_owned();
                self.buffer.drain(..at + end.len());
                return Ok(text);
            }
            let len = self.buffer.len();
            self.fill(len + 1).await?;
        }
    }

    async fn head(&mut self) -> anyhow::Result<String> {
        self.until(b"\r\n\r\n").await
    }

    /// The next RecordIO record, one per chunk; None when the body ends.
    async fn record(&mut self) -> anyhow::Result<Option<Value>> {
        let size = usize::from_str_radix(self.until(b"\r\n").await?.trim(), 16)?;
        if size == 0 {
            return Ok(None);
        }
        self.fill(size + 2).await?;
        let chunk: Vec<u8> = self.buffer.drain(..size + 2).take(size).collect();
        let newline = chunk
            .iter()
            .position(|&b| b == b'\n')
            .context("no RecordIO length")?;
        Ok(Some(serde_json::from_slice(&chunk[newline + 1..])?))
    }

    /// A call on this kept-alive connection; its answer must be 2xx.
    async fn call(&mut self, body: &Value, stream_id: &str) -> anyhow::Result<()> {
        self.stream
            .write_all(&request(body, Some(stream_id)))
            .await?;
        let head = self.head().await?;
        anyhow::ensure!(head.starts_with("HTTP/1.1 2"), "call answered {head}");
        let length = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        self.fill(length).await?;
        self.buffer.drain(..length);
        Ok(())
    }
}

/// A registered agent: sends status updates when asked.
struct AgentHandle {
    addr: libproc::Addr<BenchAgent>,
    id: AgentId,
}

impl AgentHandle {
    async fn send_update(&self, framework_id: &str, task_id: &str) -> anyhow::Result<()> {
        let message = StatusUpdateMessage {
            update: StatusUpdate {
                framework_id: framework_id.into(),
                slave_id: Some(self.id.clone()),
                status: TaskStatus {
                    task_id: task_id.into(),
                    state: TaskState::TASK_RUNNING,
                    agent_id: Some(self.id.clone()),
                    ..TaskStatus::default()
                },
                timestamp: 0.0,
                ..StatusUpdate::default()
            },
            pid: Some(self.addr.pid().to_string()),
        };
        libproc::dispatch(&self.addr, move |agent: &mut BenchAgent, ctx| {
            ctx.send(&agent.master, message)
        })
        .await
        .context("the agent is gone")
    }
}

/// An agent as the master sees one on the wire: it registers and answers pings.
#[derive(Debug)]
struct BenchAgent {
    master: Pid,
    registered: Option<oneshot::Sender<AgentId>>,
}

impl Process for BenchAgent {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install(
            |_: &mut Self, from: Pid, _: PingSlaveMessage, ctx: &mut Context<Self>| {
                ctx.send(&from, PongSlaveMessage {})
            },
        );
        ctx.install(
            |agent: &mut Self,
             _from: Pid,
             message: SlaveRegisteredMessage,
             _: &mut Context<Self>| {
                if let Some(registered) = agent.registered.take() {
                    let _ = registered.send(message.slave_id);
                }
            },
        );
        let register = RegisterSlaveMessage {
            slave: AgentInfo {
                hostname: "bench-agent".into(),
                port: Some(5051),
                resources: Resources::parse("cpus:4;mem:4096", "*")
                    .expect("the agent's resources parse"),
                ..AgentInfo::default()
            },
            version: mesos_proto::MESOS_VERSION.into(),
            ..RegisterSlaveMessage::default()
        };
        ctx.send(&self.master, register);
    }
}

async fn register_agent(master: &Pid) -> anyhow::Result<AgentHandle> {
    let (registered, id) = oneshot::channel();
    let agent = BenchAgent {
        master: master.clone(),
        registered: Some(registered),
    };
    let addr = libproc::spawn(agent, ProcessId::generate("slave")).context("spawn an agent")?;
    let id = tokio::time::timeout(Duration::from_secs(30), id)
        .await
        .context("the agent did not register within 30 s")?
        .context("the agent stopped")?;
    Ok(AgentHandle { addr, id })
}
