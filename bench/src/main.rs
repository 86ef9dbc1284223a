//! `mesos-bench`: the macro benchmarks, one subcommand per workload. Each prints its
//! figures and ends with one line of JSON. Build with `--release`.

/// The same allocator as `mesos-master`, so that simulated agents cost the machine
/// what the bench needs and no more.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod agent_launch;
mod allocator;
mod codec;
mod failover;
mod http_scheduler;
mod pingpong;
mod registry;
mod report;
mod rpc;
mod spawn;
mod throughput;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mesos-bench",
    about = "Benchmarks of the Rust Mesos, one workload per subcommand"
)]
struct Cli {
    #[command(subcommand)]
    workload: Workload,
}

#[derive(Debug, Subcommand)]
enum Workload {
    /// Local message throughput: N ping/pong pairs in one runtime.
    LibprocThroughput(throughput::Args),
    /// Requests across two OS processes over TCP loopback, against raw TCP.
    LibprocRpc(rpc::Args),
    /// The server side of libproc-rpc, run as a child process.
    #[command(hide = true)]
    LibprocRpcServer {
        /// Payload bytes per request.
        #[arg(long)]
        payload: usize,
    },
    /// Spawn and terminate many idle processes; time and memory per process.
    LibprocSpawn(spawn::Args),
    /// One run of libproc-spawn in a fresh OS process.
    #[command(hide = true)]
    LibprocSpawnOnce {
        /// Processes to spawn.
        #[arg(long)]
        processes: usize,
    },
    /// Encode/decode time and size of Mesos messages with the codec candidates.
    Codec(codec::Args),
    /// The master's allocator: Mesos's DeclineOffers workload.
    Allocator(allocator::Args),
    /// Launch and finish many `true` tasks on one agent through the real master.
    AgentLaunch(agent_launch::Args),
    /// M v1 HTTP schedulers on the real master: offers/s, agent update to UPDATE event.
    HttpScheduler(http_scheduler::Args),
    /// Kill the leading master of three under ZooKeeper: time to a new leader, and
    /// until N simulated agents have re-registered with their tasks.
    Failover(failover::Args),
    /// The registry of N agents: encode and decode times of its stored forms.
    Registry(registry::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().workload {
        Workload::LibprocThroughput(args) => throughput::run(args),
        Workload::LibprocRpc(args) => rpc::run(args),
        Workload::LibprocRpcServer { payload } => rpc::serve(payload),
        Workload::LibprocSpawn(args) => spawn::run(args),
        Workload::LibprocSpawnOnce { processes } => spawn::run_once(processes),
        Workload::Codec(args) => codec::run(args),
        Workload::Allocator(args) => allocator::run(args),
        Workload::AgentLaunch(args) => agent_launch::run(args),
        Workload::HttpScheduler(args) => http_scheduler::run(args),
        Workload::Failover(args) => failover::run(args),
        Workload::Registry(args) => registry::run(args),
    }
}

/// Starts this process's runtime from the `LIBPROCESS_*` environment.
fn start_runtime() -> anyhow::Result<()> {
    let config = libproc::Config::from_env().context("read the LIBPROCESS_* environment")?;
    libproc::Runtime::start(config).context("start the runtime")?;
    Ok(())
}

/// The runtime's worker threads, for the record.
fn worker_threads() -> usize {
    std::env::var("LIBPROCESS_NUM_WORKER_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
