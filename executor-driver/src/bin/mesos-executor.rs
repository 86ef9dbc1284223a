//! `mesos-executor`: the built-in command executor. The agent starts it with the
//! `MESOS_*` and `LIBPROCESS_*` environment; it runs one task's command.

use anyhow::Context as _;
use libproc::{Config, Runtime};
use mesos_executor_driver::{command_executor, Status};

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let config = Config::from_env().context("reading the LIBPROCESS_* environment")?;
    Runtime::start(config).context("starting the libproc runtime")?;
    let status = command_executor::run().context("starting the executor driver")?;
    tracing::info!(?status, "Executor driver ended");
    if status != Status::DRIVER_STOPPED {
        std::process::exit(1);
    }
    Ok(())
}
