//! `mesos-local`: a master and `--num_slaves` agents in this process; runs until
//! Ctrl-C or SIGTERM, then stops them, destroys their executors and removes the
//! temporary work dir.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use mesos_cli::local::{Cluster, Flags};

fn main() -> ExitCode {
    let flags = match Flags::try_parse() {
        Ok(flags) => flags,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    mesos_cli::init_logging(flags.quiet);
    match run(&flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mesos-local: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: &Flags) -> anyhow::Result<()> {
    let address = libproc::Runtime::start(flags.runtime_config()).context("start the runtime")?;
    let cluster = Cluster::start(flags)?;
    println!("Master {} started", cluster.master());
    for agent in cluster.agents() {
        println!("Agent {agent} started");
    }
    println!("State at http://{address}/master/state");
    println!("Work dir {}", cluster.work_dir().display());
    let stopped = libproc::run_until_interrupted(cluster.master());
    println!("Stopping");
    let stopped_cleanly = cluster.stop();
    match stopped.context("wait for the master")? {
        libproc::Stopped::ByItself => anyhow::bail!("the master stopped (see the log for why)"),
        libproc::Stopped::Interrupted => stopped_cleanly,
    }
}
