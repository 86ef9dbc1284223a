//! `registry`: what the registry of N agents costs to write and read, in the two stored
//! forms: the pruned, pretty JSON of the file registry (Mesos's `/registry` shape) and
//! the compact form the ZooKeeper registry writes at every batch, plus cutting it into
//! content-defined chunks. A new leader reads and writes it once before it serves
//! anyone, so these times are part of every failover.

use std::hint::black_box;
use std::time::Instant;

use mesos_master::registrar::registry::{decode, encode, encode_compact};
use mesos_master::registrar::{AdmittedAgent, Registry};
use mesos_proto::mesos::AgentInfo;
use mesos_proto::Resources;
use serde_json::json;

use crate::report;

/// The workload's knobs.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Admitted agents in the registry.
    #[arg(long, default_value_t = 20_000)]
    agents: usize,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// Agents as the failover bench admits them.
fn registry(agents: usize) -> anyhow::Result<Registry> {
    let resources = Resources::parse("cpus:2;mem:1344;disk:4096;ports:[31000-32000]", "*")?;
    let agents = (0..agents)
        .map(|index| AdmittedAgent {
            info: AgentInfo {
                hostname: format!("bench-agent-{index}"),
                id: Some(format!("f7f06f0a-ccc6-4060-b0ab-994d73fb13a3-S{index}").into()),
                resources: resources.clone(),
                checkpoint: Some(true),
                ..AgentInfo::default()
            },
        })
        .collect();
    Ok(Registry {
        agents,
        ..Registry::default()
    })
}

/// Milliseconds `f` takes, once.
fn time<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(f64, T)> {
    let started = Instant::now();
    let value = black_box(f()?);
    Ok((started.elapsed().as_secs_f64() * 1e3, value))
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    let registry = registry(args.agents)?;
    let mut samples: [Vec<f64>; 5] = Default::default();
    let (mut pretty_bytes, mut compact_bytes, mut chunks) = (0, 0, 0);
    for _ in 0..args.runs {
        let (pretty_ms, pretty) = time(|| Ok(encode(&registry)?))?;
        let (compact_ms, compact) = time(|| Ok(encode_compact(&registry)?))?;
        let (split_ms, ranges) = time(|| Ok(mesos_master::registrar::storage::chunk(&compact)))?;
        let (decode_pretty_ms, _) = time(|| Ok(decode(&pretty)?))?;
        let (decode_compact_ms, _) = time(|| Ok(decode(&compact)?))?;
        for (sample, value) in samples.iter_mut().zip([
            pretty_ms,
            compact_ms,
            split_ms,
            decode_pretty_ms,
            decode_compact_ms,
        ]) {
            sample.push(value);
        }
        (pretty_bytes, compact_bytes, chunks) = (pretty.len(), compact.len(), ranges.len());
    }
    let [pretty, compact, split, decode_pretty, decode_compact] =
        samples.map(|s| report::median(&s));
    println!(
        "{} agents: pretty pruned JSON {pretty_bytes} bytes, encode {pretty:.0} ms, decode {decode_pretty:.0} ms; compact {compact_bytes} bytes, encode {compact:.0} ms, decode {decode_compact:.0} ms; {chunks} chunks cut in {split:.1} ms",
        args.agents
    );
    report::finish(
        "registry",
        json!({
            "agents": args.agents,
            "runs": args.runs,
            "pretty_bytes": pretty_bytes,
            "pretty_encode_ms_p50": pretty,
            "pretty_decode_ms_p50": decode_pretty,
            "compact_bytes": compact_bytes,
            "compact_encode_ms_p50": compact,
            "compact_decode_ms_p50": decode_compact,
            "chunks": chunks,
            "chunking_ms_p50": split,
        }),
    );
    Ok(())
}
