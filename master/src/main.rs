//! `mesos-master`: flags, logging, the runtime, the master; then wait until it stops
//! or Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use anyhow::Context as _;
use mesos_master::flags::Flags;

/// A master allocates and frees many small objects per message (tasks, labels,
/// resources); mimalloc does that several times cheaper than glibc's malloc under
/// the failover load (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let flags = match Flags::parse_from_env_and_args(std::env::args_os()) {
        Ok(flags) => flags,
        Err(error) if error.exit_code() == 0 => {
            println!("{error}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("mesos-master: {error}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(&flags);
    match run(flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mesos-master: {error:#}");
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
        delegate: Some(mesos_master::MASTER_ID.into()),
        ..libproc::Config::default()
    };
    let address = libproc::Runtime::start(config).context("start the runtime")?;
    let master = mesos_master::start(flags).context("start the master")?;
    println!(
        "Master {} started; state at http://{address}/master/state",
        master.pid()
    );
    match libproc::run_until_interrupted(master.pid()).context("wait for the master")? {
        libproc::Stopped::ByItself => match mesos_master::exit_reason() {
            Some(reason) => anyhow::bail!("{reason}"),
            None => anyhow::bail!("the master stopped (see the log for why)"),
        },
        libproc::Stopped::Interrupted => Ok(()),
    }
}

fn init_logging(flags: &Flags) {
    if flags.quiet {
        return;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        let level = tracing::Level::from(flags.logging_level);
        tracing_subscriber::EnvFilter::new(level.as_str().to_ascii_lowercase())
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
