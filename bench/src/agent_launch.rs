//! `agent-launch`: launch and finish N `true` command tasks on one agent, through the
//! real master, the real agent and the real `mesos-executor` (one OS process per task,
//! as Mesos's command executor), driven by a small framework that accepts every offer
//! with as many tasks as fit. Figures: launches per second over the whole run, and
//! per task the time from the framework's ACCEPT to its TASK_RUNNING (which covers the
//! master's hop, the agent's `RunTaskMessage` handling, the executor's start and
//! registration, and the first updates), median and p99.
//!
//! The master, the agent and the framework share this process's runtime, as in
//! `mesos-local`; executors are separate processes. `mesos-executor` must sit beside
//! this binary (`cargo build --release -p mesos-bench -p mesos-executor-driver`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser as _;
use libproc::{Context, Pid, Process, ProcessId};
use mesos_proto::mesos::{
    CommandInfo, Filters, FrameworkInfo, Launch, Offer, OfferOperation, OperationType, TaskInfo,
    TaskState,
};
use mesos_proto::messages::{
    FrameworkRegisteredMessage, ResourceOffersMessage, StatusUpdateMessage,
};
use mesos_proto::scheduler::{Accept, Acknowledge, Call, CallType, Decline, Subscribe};
use mesos_proto::{FrameworkId, Resources, TaskId};
use serde_json::json;
use tokio::sync::oneshot;

use crate::report;

/// The workload's knobs.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Tasks to launch and finish.
    #[arg(long, default_value_t = 1_000)]
    tasks: usize,
    /// The agent's CPUs; each task (with its executor) takes 0.01.
    #[arg(long, default_value_t = 2.0)]
    cpus: f64,
    /// The master's batch allocation interval (Mesos's default is 1secs); short, so
    /// that the agent, not the wait for the next offer, bounds the rate.
    #[arg(long, default_value = "100ms")]
    allocation_interval: String,
    /// The agent's `--isolation` (`cgroups/cpu,cgroups/mem` needs root and cgroups).
    #[arg(long, default_value = "posix/cpu,posix/mem")]
    isolation: String,
}

const TASK_CPUS: f64 = 0.01;
const TASK_MEM: f64 = 4.0;

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.tasks > 0, "--tasks must be at least 1");
    let launcher_dir = launcher_dir()?;
    crate::start_runtime()?;
    let work_dir = std::env::temp_dir().join(format!("mesos-bench-agent-{}", std::process::id()));
    let cgroups_root = format!("mesos-bench-{}", std::process::id());
    let outcome = libproc::Runtime::block_on(async {
        let master = start_master(&args.allocation_interval).await?;
        start_agent(&master, &work_dir, &launcher_dir, &cgroups_root, &args)?;
        let (done, finished) = oneshot::channel();
        let framework = Framework::new(master, args.tasks, done);
        libproc::spawn(framework, ProcessId::generate("bench-framework"))
            .context("spawn the framework")?;
        tokio::time::timeout(Duration::from_secs(600), finished)
            .await
            .context("the tasks did not finish within 10 minutes")?
            .context("the framework stopped")
    });
    let _ = std::fs::remove_dir_all(&work_dir);
    remove_cgroups_root(&cgroups_root);
    let outcome = outcome?;
    let seconds = outcome.elapsed.as_secs_f64();
    let rate = outcome.finished as f64 / seconds;
    let median = report::median(&outcome.latencies_ms);
    let p99 = report::percentile(&outcome.latencies_ms, 0.99);
    println!(
        "{} tasks finished ({} failed) in {seconds:.2} s: {rate:.1} launches/s; ACCEPT to TASK_RUNNING median {median:.1} ms, p99 {p99:.1} ms",
        outcome.finished, outcome.failed
    );
    report::finish(
        "agent-launch",
        json!({
            "tasks": args.tasks,
            "isolation": args.isolation,
            "finished": outcome.finished,
            "failed": outcome.failed,
            "seconds": seconds,
            "launches_per_sec": rate,
            "accept_to_running_ms_p50": median,
            "accept_to_running_ms_p99": p99,
        }),
    );
    anyhow::ensure!(outcome.failed == 0, "{} tasks failed", outcome.failed);
    Ok(())
}

/// The directory of this binary, which must hold `mesos-executor`.
fn launcher_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("find this binary")?;
    let dir = exe
        .parent()
        .context("this binary's directory")?
        .to_path_buf();
    anyhow::ensure!(
        dir.join("mesos-executor").exists(),
        "{} has no mesos-executor: cargo build --release -p mesos-bench -p mesos-executor-driver",
        dir.display()
    );
    Ok(dir)
}

async fn start_master(allocation_interval: &str) -> anyhow::Result<Pid> {
    let flags = mesos_master::flags::Flags {
        registry: mesos_master::flags::RegistryBackend::InMemory,
        allocation_interval: mesos_proto::duration::parse_duration(allocation_interval)
            .context("--allocation_interval")?,
        ..mesos_master::flags::Flags::default()
    };
    Ok(mesos_master::start(flags)
        .context("start the master")?
        .pid()
        .clone())
}

fn start_agent(
    master: &Pid,
    work_dir: &std::path::Path,
    launcher_dir: &std::path::Path,
    cgroups_root: &str,
    args: &Args,
) -> anyhow::Result<()> {
    let flags = mesos_agent::flags::Flags::try_parse_from([
        "mesos-agent".to_owned(),
        format!("--master={master}"),
        format!("--work_dir={}", work_dir.display()),
        format!("--launcher_dir={}", launcher_dir.display()),
        format!("--resources=cpus:{};mem:4096;disk:4096", args.cpus),
        format!("--isolation={}", args.isolation),
        format!("--cgroups_root={cgroups_root}"),
        "--registration_backoff_factor=10ms".to_owned(),
    ])
    .context("agent flags")?;
    mesos_agent::start(flags).context("start the agent")?;
    Ok(())
}

/// Removes the cgroups the agent's containers lived under: the figures are taken
/// when the last task finished, while the agent may still be destroying the last
/// containers, which this process's exit would cut short. Their processes are gone,
/// so the directories go with `rmdir`, retried for a few seconds.
fn remove_cgroups_root(root: &str) {
    let base = std::path::Path::new("/sys/fs/cgroup");
    let mut roots = vec![base.join(root)];
    if let Ok(hierarchies) = std::fs::read_dir(base) {
        roots.extend(hierarchies.flatten().map(|h| h.path().join(root)));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for root in roots.iter().filter(|root| root.is_dir()) {
        while root.exists() && Instant::now() < deadline {
            let containers = std::fs::read_dir(root).into_iter().flatten().flatten();
            for container in containers.filter(|c| c.path().is_dir()) {
                let _ = std::fs::remove_dir(container.path());
            }
            if std::fs::remove_dir(root).is_err() {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// What the framework saw.
#[derive(Debug)]
struct Outcome {
    finished: usize,
    failed: usize,
    elapsed: Duration,
    latencies_ms: Vec<f64>,
}

/// The benchmark's framework: subscribes, fills every offer with `true` tasks until
/// `total` are launched, acknowledges every update, and reports when all ended.
#[derive(Debug)]
struct Framework {
    master: Pid,
    framework_id: Option<FrameworkId>,
    total: usize,
    launched: usize,
    ended: usize,
    failed: usize,
    accepted_at: HashMap<TaskId, Instant>,
    latencies_ms: Vec<f64>,
    start: Option<Instant>,
    done: Option<oneshot::Sender<Outcome>>,
}

impl Framework {
    fn new(master: Pid, total: usize, done: oneshot::Sender<Outcome>) -> Self {
        Framework {
            master,
            framework_id: None,
            total,
            launched: 0,
            ended: 0,
            failed: 0,
            accepted_at: HashMap::new(),
            latencies_ms: Vec::new(),
            start: None,
            done: Some(done),
        }
    }

    fn call(&self, kind: CallType) -> Call {
        Call {
            framework_id: self.framework_id.clone(),
            kind,
            ..Call::default()
        }
    }

    fn registered(
        &mut self,
        _from: Pid,
        message: FrameworkRegisteredMessage,
        _ctx: &mut Context<Self>,
    ) {
        self.framework_id = Some(message.framework_id);
    }

    fn offers(&mut self, _from: Pid, message: ResourceOffersMessage, ctx: &mut Context<Self>) {
        for offer in message.offers {
            let tasks = self.tasks_for(&offer);
            if tasks.is_empty() {
                let decline = Call {
                    decline: Some(Decline {
                        offer_ids: vec![offer.id],
                        filters: Some(Filters {
                            refuse_seconds: Some(0.0),
                        }),
                    }),
                    ..self.call(CallType::DECLINE)
                };
                ctx.send(&self.master, decline);
                continue;
            }
            let now = Instant::now();
            self.start.get_or_insert(now);
            for task in &tasks {
                self.accepted_at.insert(task.task_id.clone(), now);
            }
            let accept = Call {
                accept: Some(Accept {
                    offer_ids: vec![offer.id],
                    operations: vec![OfferOperation {
                        kind: OperationType::LAUNCH,
                        launch: Some(Launch { task_infos: tasks }),
                        launch_group: None,
                    }],
                    filters: Some(Filters {
                        refuse_seconds: Some(0.0),
                    }),
                }),
                ..self.call(CallType::ACCEPT)
            };
            ctx.send(&self.master, accept);
        }
    }

    /// As many tasks as `offer` holds, up to what is left to launch.
    fn tasks_for(&mut self, offer: &Offer) -> Vec<TaskInfo> {
        let cpus = offer.resources.cpus().unwrap_or(0.0);
        let mem = offer.resources.mem().unwrap_or(0.0);
        let fit = ((cpus / TASK_CPUS + 1e-6).floor()).min((mem / TASK_MEM).floor()) as usize;
        let count = fit.min(self.total - self.launched);
        let resources = Resources::parse(&format!("cpus:{TASK_CPUS};mem:{TASK_MEM}"), "*")
            .expect("the task's resources parse");
        (0..count)
            .map(|_| {
                self.launched += 1;
                let id = format!("task-{}", self.launched);
                TaskInfo {
                    name: id.clone(),
                    task_id: id.as_str().into(),
                    agent_id: offer.agent_id.clone(),
                    resources: resources.clone(),
                    command: Some(CommandInfo {
                        value: Some("true".into()),
                        ..CommandInfo::default()
                    }),
                    ..TaskInfo::default()
                }
            })
            .collect()
    }

    fn update(&mut self, _from: Pid, message: StatusUpdateMessage, ctx: &mut Context<Self>) {
        let status = message.update.status;
        if let Some(uuid) = status.uuid.clone() {
            let acknowledge = Call {
                acknowledge: Some(Acknowledge {
                    agent_id: status.agent_id.clone().unwrap_or_default(),
                    task_id: status.task_id.clone(),
                    uuid,
                }),
                ..self.call(CallType::ACKNOWLEDGE)
            };
            ctx.send(&self.master, acknowledge);
        }
        if status.state == TaskState::TASK_RUNNING {
            if let Some(accepted) = self.accepted_at.get(&status.task_id) {
                self.latencies_ms
                    .push(accepted.elapsed().as_secs_f64() * 1e3);
            }
        }
        if status.state.is_terminal() {
            self.ended += 1;
            if status.state != TaskState::TASK_FINISHED {
                self.failed += 1;
                eprintln!(
                    "{} ended {:?}: {:?}",
                    status.task_id, status.state, status.message
                );
            }
        }
        if self.ended == self.total {
            self.report();
        }
    }

    fn report(&mut self) {
        let Some(done) = self.done.take() else {
            return;
        };
        let outcome = Outcome {
            finished: self.ended - self.failed,
            failed: self.failed,
            elapsed: self.start.map_or(Duration::ZERO, |start| start.elapsed()),
            latencies_ms: std::mem::take(&mut self.latencies_ms),
        };
        let _ = done.send(outcome);
    }
}

impl Process for Framework {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install(Framework::registered);
        ctx.install(Framework::offers);
        ctx.install(Framework::update);
        let subscribe = Call {
            subscribe: Some(Subscribe {
                framework_info: FrameworkInfo {
                    user: "bench".into(),
                    name: "agent-launch".into(),
                    ..FrameworkInfo::default()
                },
                ..Subscribe::default()
            }),
            ..self.call(CallType::SUBSCRIBE)
        };
        ctx.send(&self.master, subscribe);
    }
}
