//! `libproc-spawn`: spawn many idle processes in one runtime, then terminate them;
//! report the time of each phase and the resident memory each process costs.

use std::time::Instant;

use anyhow::Context as _;
use libproc::{Pid, Process, ProcessId};
use serde_json::json;

use crate::report;

/// The workload's knobs.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Processes to spawn.
    #[arg(long, default_value_t = 100_000)]
    processes: usize,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

/// A process that does nothing.
#[derive(Debug)]
struct Idle;

impl Process for Idle {}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let (mut spawn_secs, mut stop_secs, mut bytes_each) = (vec![], vec![], vec![]);
    for run in 1..=args.runs {
        let figures = run_in_child(args.processes)?;
        let field = |name: &str| {
            figures[name]
                .as_f64()
                .with_context(|| format!("'{name}' from the child"))
        };
        let (spawned, per_process, stopped) = (
            field("spawn_secs")?,
            field("resident_bytes_per_process")?,
            field("terminate_secs")?,
        );
        println!(
            "run {run}: spawned {} in {spawned:.3} s, {per_process:.0} bytes resident each, terminated in {stopped:.3} s",
            args.processes
        );
        spawn_secs.push(spawned);
        stop_secs.push(stopped);
        bytes_each.push(per_process);
    }
    report::finish(
        "libproc-spawn",
        json!({
            "processes": args.processes,
            "runs": args.runs,
            "median_spawn_secs": report::median(&spawn_secs),
            "median_terminate_secs": report::median(&stop_secs),
            "median_resident_bytes_per_process": report::median(&bytes_each).round(),
        }),
    );
    Ok(())
}

/// Each run is a fresh OS process: memory freed by an earlier run would be reused
/// without raising the resident size, and the figure would be meaningless.
fn run_in_child(processes: usize) -> anyhow::Result<serde_json::Value> {
    let exe = std::env::current_exe().context("find this binary")?;
    let output = std::process::Command::new(exe)
        .args(["libproc-spawn-once", "--processes", &processes.to_string()])
        .output()
        .context("run libproc-spawn-once")?;
    anyhow::ensure!(
        output.status.success(),
        "libproc-spawn-once failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).context("the child's figures")
}

/// One run in this OS process; prints its figures as JSON.
pub(crate) fn run_once(processes: usize) -> anyhow::Result<()> {
    crate::start_runtime()?;
    let before = resident_bytes()?;
    let started = Instant::now();
    let mut pids: Vec<Pid> = Vec::with_capacity(processes);
    for _ in 0..processes {
        let addr = libproc::spawn(Idle, ProcessId::generate("idle")).context("spawn")?;
        pids.push(addr.pid().clone());
    }
    let spawned = started.elapsed().as_secs_f64();
    let pids_bytes = pids.capacity() * std::mem::size_of::<Pid>();
    let grown = resident_bytes()?
        .saturating_sub(before)
        .saturating_sub(pids_bytes as u64);
    let stopping = Instant::now();
    crate::throughput::stop(&pids);
    let stopped = stopping.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"spawn_secs": spawned, "terminate_secs": stopped,
               "resident_bytes_per_process": grown as f64 / processes as f64})
    );
    Ok(())
}

/// This OS process's resident set size, from `/proc/self/status`.
fn resident_bytes() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("read /proc/self/status")?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .context("VmRSS in /proc/self/status")?;
    Ok(kib * 1024)
}
