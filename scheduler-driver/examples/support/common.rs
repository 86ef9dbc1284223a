//! What the example frameworks share: the flags of Mesos's examples (also read from
//! `MESOS_EXAMPLE_*`, as Mesos's examples read them), logging, and small helpers.

// Each example includes this file and uses a part of it.
#![allow(dead_code)]

use std::process::ExitCode;

use mesos_proto::mesos::{FrameworkInfo, Offer};
use mesos_scheduler_driver::Status;

/// The flags every example takes.
#[derive(Debug, clap::Args)]
#[command(rename_all = "snake_case")]
pub(crate) struct ExampleFlags {
    /// The master: `host:port`, `master@ip:port` or `file:///path`.
    #[arg(long, env = "MESOS_EXAMPLE_MASTER")]
    pub(crate) master: String,
    /// The role the framework subscribes with.
    #[arg(long, env = "MESOS_EXAMPLE_ROLE", default_value = "*")]
    pub(crate) role: String,
    /// The principal the framework identifies as.
    #[arg(long, env = "MESOS_EXAMPLE_PRINCIPAL")]
    pub(crate) principal: Option<String>,
    /// Whether the agents checkpoint the framework's tasks.
    #[arg(long, env = "MESOS_EXAMPLE_CHECKPOINT")]
    pub(crate) checkpoint: bool,
}

impl ExampleFlags {
    /// The framework's description; the driver fills in the user and host.
    pub(crate) fn framework(&self, name: &str) -> FrameworkInfo {
        FrameworkInfo {
            name: name.into(),
            role: Some(self.role.clone()),
            principal: self.principal.clone(),
            checkpoint: Some(self.checkpoint),
            ..FrameworkInfo::default()
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Success when the driver was stopped; the examples abort it on failure.
pub(crate) fn exit_code(status: Status) -> ExitCode {
    if status == Status::DRIVER_STOPPED {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The amount of a scalar resource in an offer (0 when absent).
pub(crate) fn scalar(offer: &Offer, name: &str) -> f64 {
    offer
        .resources
        .scalars()
        .get(name)
        .map_or(0.0, |scalar| scalar.value())
}

/// Whether an offer has at least every scalar of `wanted` (offers carry their
/// allocation role, which `wanted` does not, so `Resources::contains` would refuse).
pub(crate) fn fits(offer: &Offer, wanted: &mesos_proto::Resources) -> bool {
    wanted
        .scalars()
        .iter()
        .all(|(name, amount)| scalar(offer, name) >= amount.value())
}

/// Parses a Mesos byte size: a whole number and `B`, `KB`, `MB`, `GB` or `TB`
/// (`128MB`), as stout's `Bytes`.
pub(crate) fn parse_bytes(text: &str) -> Result<u64, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("'{text}' has no unit (B, KB, MB, GB or TB)"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' does not start with a number"))?;
    let shift = match unit {
        "B" => 0,
        "KB" => 10,
        "MB" => 20,
        "GB" => 30,
        "TB" => 40,
        _ => return Err(format!("'{text}' has an unknown unit '{unit}'")),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("'{text}' is too large"))
}
