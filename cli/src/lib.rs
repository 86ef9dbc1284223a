//! The command-line tools `mesos-local` (a master and agents in one process, the
//! quickest way to try the system) and `mesos-execute` (run one command as a
//! framework). Each binary is thin: flags, logging, then the module of the same name.

pub mod execute;
pub mod local;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), unless `quiet`.
pub fn init_logging(quiet: bool) {
    if quiet {
        return;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
