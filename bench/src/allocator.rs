//! `allocator`: Mesos's DeclineOffers allocator benchmark. Agents of
//! `cpus:24;mem:4096;disk:4096;ports:[31000-32000]` each already run
//! `cpus:16;mem:2014;disk:1024` and 16 port fragments for framework `i % F`.
//! Every round, each framework declines all of its offers with the longest
//! refusal filter, then one allocation cycle runs over every agent. The
//! figure is the cycle's time, as in Mesos's `allocate() took ...` lines.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mesos_master::allocator::{
    refuse_duration, AgentCapabilities, Allocation, FrameworkConfig, HierarchicalAllocator,
    Options, DEFAULT_ROLE,
};
use mesos_proto::{AgentId, FrameworkId, Range, Ranges, Resource, Resources, Value};
use serde_json::json;

use crate::report;

/// The workload's knobs.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Agents in the cluster.
    #[arg(long, default_value_t = 10_000)]
    agents: usize,
    /// Frameworks, all in role `*`.
    #[arg(long, default_value_t = 1_000)]
    frameworks: usize,
    /// Decline-then-allocate rounds; the median cycle is reported.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Seed of the allocator's agent shuffle.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.frameworks > 0, "--frameworks must be at least 1");
    let options = Options {
        seed: args.seed,
        ..Options::default()
    };
    let interval = options.allocation_interval;
    let mut allocator = HierarchicalAllocator::new(options).context("create the allocator")?;
    let setup = Instant::now();
    let frameworks = add_frameworks(&mut allocator, args.frameworks)?;
    add_agents(&mut allocator, &frameworks, args.agents)?;
    let setup_ms = millis(setup.elapsed());
    println!(
        "added {} agents and {} frameworks in {setup_ms:.0} ms",
        args.agents, args.frameworks
    );

    // Mesos declines with `refuse_seconds = INT_MAX`, which it cuts to 365 days.
    let refuse = refuse_duration(Some(f64::from(i32::MAX)));
    let mut now = Instant::now();
    let mut offers: Vec<Allocation> = Vec::new();
    let mut cycles = Vec::new();
    let mut offer_counts = Vec::new();
    for round in 0..args.rounds {
        let declines = Instant::now();
        for offer in offers.drain(..) {
            allocator.recover_resources(
                &offer.framework_id,
                &offer.agent_id,
                &offer.resources,
                refuse,
                now,
            );
        }
        let declines_ms = millis(declines.elapsed());
        now += interval;
        let cycle = Instant::now();
        offers = allocator.allocate(now, None);
        let cycle_ms = millis(cycle.elapsed());
        println!(
            "round {round}: allocate took {cycle_ms:.1} ms to make {} offers \
             (declining the previous ones took {declines_ms:.1} ms)",
            offers.len()
        );
        cycles.push(cycle_ms);
        offer_counts.push(offers.len() as f64);
    }

    let median = report::median(&cycles);
    let rss_mb = resident_mb();
    println!(
        "median cycle: {median:.1} ms for {} agents x {} frameworks; {:.0} offers per cycle; \
         resident memory {rss_mb:.0} MB",
        args.agents,
        args.frameworks,
        report::median(&offer_counts)
    );
    report::finish(
        "allocator",
        json!({
            "agents": args.agents,
            "frameworks": args.frameworks,
            "rounds": args.rounds,
            "seed": args.seed,
            "setup_ms": setup_ms.round(),
            "median_cycle_ms": (median * 10.0).round() / 10.0,
            "cycle_ms": cycles.iter().map(|ms| (ms * 10.0).round() / 10.0).collect::<Vec<_>>(),
            "median_offers_per_cycle": report::median(&offer_counts),
            "offers_per_cycle": offer_counts,
            "rss_mb": rss_mb.round(),
        }),
    );
    Ok(())
}

fn add_frameworks(
    allocator: &mut HierarchicalAllocator,
    count: usize,
) -> anyhow::Result<Vec<FrameworkId>> {
    let mut frameworks = Vec::with_capacity(count);
    for i in 0..count {
        let id = FrameworkId::new(format!("framework-{i}"));
        allocator
            .add_framework(
                id.clone(),
                FrameworkConfig::in_role(DEFAULT_ROLE),
                &HashMap::new(),
                true,
            )
            .context("add a framework")?;
        frameworks.push(id);
    }
    Ok(frameworks)
}

fn add_agents(
    allocator: &mut HierarchicalAllocator,
    frameworks: &[FrameworkId],
    count: usize,
) -> anyhow::Result<()> {
    let total = Resources::parse(
        "cpus:24;mem:4096;disk:4096;ports:[31000-32000]",
        DEFAULT_ROLE,
    )
    .context("parse the agent resources")?;
    let used = used_resources()?;
    for i in 0..count {
        let framework = frameworks[i % frameworks.len()].clone();
        allocator
            .add_agent(
                AgentId::new(format!("agent-{i}")),
                AgentCapabilities::ALL,
                total.clone(),
                &HashMap::from([(framework, used.clone())]),
            )
            .context("add an agent")?;
    }
    Ok(())
}

/// What each agent already runs: 16 tasks of one cpu (and some memory and
/// disk), each with two ports spread over the agent's range, as Mesos's
/// `makePortRanges(31000-32000, 16)` lays them out.
fn used_resources() -> anyhow::Result<Resources> {
    let mut used = Resources::parse("cpus:16;mem:2014;disk:1024", DEFAULT_ROLE)
        .context("parse the used resources")?;
    let step = (32_000 - 31_000) / 16;
    let ranges = (0..16).map(|i| {
        let begin = 31_000 + i * step;
        Range::new(begin, begin + 1)
    });
    used += Resource::new("ports", Value::Ranges(Ranges::new(ranges)?));
    used.allocate(DEFAULT_ROLE);
    Ok(used)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// This process's resident memory (`VmRSS`), in megabytes; 0 off Linux.
fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
