//! `mesos-agent`: flags, logging, the runtime, the agent; then wait until it stops or
//! Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use mesos_agent::flags::Flags;

fn main() -> ExitCode {
    let flags = match Flags::try_parse() {
        Ok(flags) => flags,
        Err(error) if !error.use_stderr() => {
            print!("{error}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprint!("{error}");
            return ExitCode::FAILURE;
        }
    };
    if !flags.quiet {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    match run(flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mesos-agent: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: Flags) -> anyhow::Result<()> {
    let ip = flags.ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let config = libproc::Config {
        bind: SocketAddr::new(ip, flags.port),
        advertise_ip: flags.advertise_ip,
        advertise_port: flags.advertise_port,
        delegate: Some(mesos_agent::AGENT_ID.into()),
        ..libproc::Config::default()
    };
    let address = libproc::Runtime::start(config).context("start the runtime")?;
    let agent = mesos_agent::start(flags).context("start the agent")?;
    println!(
        "Agent {} started; state at http://{address}/slave(1)/state",
        agent.pid()
    );
    libproc::run_until_interrupted(agent.pid()).context("wait for the agent")?;
    Ok(())
}
