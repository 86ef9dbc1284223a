//! `libproc-throughput`: libprocess's ThroughputPerformance workload. N client/server
//! pairs in one runtime; each client keeps 1,000 empty pings in flight to its server,
//! which answers each with a pong, until all pings are answered.

use std::time::Instant;

use anyhow::Context as _;
use libproc::{Pid, ProcessId};
use serde_json::json;

use crate::pingpong::{Client, Server};
use crate::report;

/// The workload's knobs.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Client/server pairs (libprocess uses one per worker thread; 8 in its figure).
    #[arg(long, default_value_t = 8)]
    pairs: u64,
    /// Pings in total, split evenly among the clients.
    #[arg(long, default_value_t = 15_000_000)]
    pings: u64,
    /// Pings in flight per client.
    #[arg(long, default_value_t = 1000)]
    window: u64,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    crate::start_runtime()?;
    let mut rates = Vec::new();
    for run in 1..=args.runs {
        let (pings, seconds) = one_run(&args)?;
        let rate = pings as f64 / seconds;
        println!(
            "run {run}: {pings} pings in {seconds:.3} s = {:.2} M pings/s",
            rate / 1e6
        );
        rates.push(rate);
    }
    let median = report::median(&rates);
    println!(
        "median: {:.2} M pings/s over {} pairs",
        median / 1e6,
        args.pairs
    );
    report::finish(
        "libproc-throughput",
        json!({
            "pairs": args.pairs,
            "pings": args.pings,
            "window": args.window,
            "runs": args.runs,
            "worker_threads": crate::worker_threads(),
            "median_pings_per_sec": median.round(),
            "pings_per_sec": rates.iter().map(|r| r.round()).collect::<Vec<_>>(),
        }),
    );
    Ok(())
}

fn one_run(args: &Args) -> anyhow::Result<(u64, f64)> {
    let per_client = args.pings / args.pairs.max(1);
    let mut servers = Vec::new();
    let mut clients = Vec::new();
    let mut finished = Vec::new();
    for _ in 0..args.pairs {
        let server =
            libproc::spawn(Server, ProcessId::generate("server")).context("spawn a server")?;
        let (client, done) = Client::new(server.pid().clone(), per_client, args.window, Vec::new());
        clients
            .push(libproc::spawn(client, ProcessId::generate("client")).context("spawn a client")?);
        servers.push(server.pid().clone());
        finished.push(done);
    }
    let started = Instant::now();
    for client in &clients {
        drop(libproc::dispatch(client, |client, ctx| client.start(ctx)));
    }
    libproc::Runtime::block_on(async {
        for done in finished {
            done.await.context("a client vanished")?;
        }
        anyhow::Ok(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let pids: Vec<Pid> = clients
        .iter()
        .map(|c| c.pid().clone())
        .chain(servers)
        .collect();
    stop(&pids);
    Ok((per_client * args.pairs, seconds))
}

/// Terminates processes and waits for them.
pub(crate) fn stop(pids: &[Pid]) {
    for pid in pids {
        libproc::terminate(pid);
    }
    libproc::Runtime::block_on(async {
        for pid in pids {
            libproc::wait(pid).await;
        }
    });
}
