//! Starting an agent in a running libproc runtime: its description (resources measured
//! and given, attributes, host name) and the `Agent` process. `mesos-agent` and
//! `mesos-local` both start one this way.

use std::sync::Arc;

use libproc::Addr;
use mesos_proto::mesos::AgentInfo;

use crate::agent::{Agent, Recovered, Services};
use crate::attributes::{parse_attributes, AttributeError};
use crate::containerizer::{Containerizer, ContainerizerError};
use crate::files::Files;
use crate::flags::Flags;
use crate::flags::Recover;
use crate::gc::{DiskWatch, GarbageCollector};
use crate::paths;
use crate::resources::{agent_resources, Machine};
use crate::state::{self, StateError};

/// The agent's process id, as in Mesos: its endpoints are `/slave(1)/...`.
pub const AGENT_ID: &str = "slave(1)";

/// Why an agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `--master` names no master this agent can find.
    #[error("invalid --master: {0}")]
    Master(#[from] mesos_detector::DetectorError),
    /// `--containerizers` or `--isolation` cannot be honoured.
    #[error(transparent)]
    Containerizer(#[from] ContainerizerError),
    /// `--resources` does not parse.
    #[error("invalid --resources: {0}")]
    Resources(#[from] mesos_proto::ResourcesError),
    /// `--attributes` does not parse.
    #[error("invalid --attributes: {0}")]
    Attributes(#[from] AttributeError),
    /// The work dir cannot be created.
    #[error("cannot create --work_dir {path}: {source}")]
    WorkDir {
        /// The directory.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The runtime is not started, or `slave(1)` is taken.
    #[error(transparent)]
    Spawn(#[from] libproc::SpawnError),
    /// The runtime is not started.
    #[error("the libproc runtime must be started before the agent")]
    NoRuntime,
    /// The checkpoints in the work dir could not be read (with `--strict`).
    #[error("recovery failed: {0}")]
    Recovery(#[from] StateError),
    /// The checkpointed agent differs from this one: it cannot take its place.
    #[error("incompatible agent info detected: {0}; to start anew, remove {1} (its executors will be lost) and restart")]
    Incompatible(String, String),
}

/// Starts the agent in this runtime, with the runtime's `files` process.
pub fn start(flags: Flags) -> Result<Addr<Agent>, StartError> {
    let files = Arc::new(Files::spawn()?);
    start_with_files(flags, files)
}

/// Starts the agent with a `files` process shared with other agents of this runtime
/// (there is one per runtime, as in Mesos; `mesos-local` runs several agents).
pub fn start_with_files(flags: Flags, files: Arc<Files>) -> Result<Addr<Agent>, StartError> {
    start_named(flags, files, AGENT_ID)
}

/// Starts the agent as process `id` instead of `slave(1)`: agents of one runtime share
/// its address, so `mesos-local` gives each its own id (`slave(1)`, `slave(2)`...), as
/// Mesos's local mode does.
pub fn start_named(flags: Flags, files: Arc<Files>, id: &str) -> Result<Addr<Agent>, StartError> {
    let address = libproc::Runtime::address().ok_or(StartError::NoRuntime)?;
    std::fs::create_dir_all(&flags.work_dir).map_err(|source| StartError::WorkDir {
        path: flags.work_dir.display().to_string(),
        source,
    })?;
    let detector = mesos_detector::MasterDetector::create(&flags.master)?;
    let machine = Machine::detect(&flags.work_dir);
    let info = AgentInfo {
        hostname: flags
            .hostname
            .clone()
            .unwrap_or_else(|| address.ip().to_string()),
        port: Some(u32::from(address.port())),
        resources: agent_resources(flags.resources.as_deref(), &flags.default_role, machine)?,
        attributes: parse_attributes(flags.attributes.as_deref().unwrap_or(""))?,
        checkpoint: Some(true),
        id: None,
    };
    tracing::info!(master = %flags.master, resources = %info.resources, "Agent starting");
    let recovered = recover(&flags, &info)?;
    let services = Services {
        containerizer: Containerizer::new(&flags)?,
        files,
        gc: GarbageCollector::spawn(Some(DiskWatch::from_flags(&flags)))?,
    };
    Ok(libproc::spawn(
        Agent::new(flags, info, detector, recovered, services),
        id,
    )?)
}

/// Reads the checkpoints of an earlier run on this work dir, and checks that this
/// agent can take its place (same resources, attributes and host name, as Mesos).
fn recover(flags: &Flags, info: &AgentInfo) -> Result<Option<Recovered>, StartError> {
    let boot_id = current_boot_id();
    let boot_id_path = paths::boot_id(&flags.work_dir);
    let previous_boot_id = state::read_text(&boot_id_path)?;
    state::write_text(&boot_id_path, &boot_id)?;
    let Some(state) = state::recover_agent(&flags.work_dir, flags.strict)? else {
        return Ok(None);
    };
    if let Some(checkpointed) = &state.info {
        if let Some(difference) = incompatibility(checkpointed, info) {
            let latest = paths::latest_agent(&flags.work_dir).display().to_string();
            return Err(StartError::Incompatible(difference, latest));
        }
    }
    let rebooted = previous_boot_id.is_some_and(|previous| previous != boot_id);
    if flags.recover == Recover::Reconnect && rebooted {
        tracing::warn!("The machine rebooted since the last run: no executor survived");
    }
    Ok(Some(Recovered { state, rebooted }))
}

/// What makes a checkpointed agent another agent than `info`, if anything.
fn incompatibility(checkpointed: &AgentInfo, info: &AgentInfo) -> Option<String> {
    if checkpointed.hostname != info.hostname {
        return Some(format!(
            "hostname was '{}', is '{}'",
            checkpointed.hostname, info.hostname
        ));
    }
    if checkpointed.resources != info.resources {
        return Some(format!(
            "resources were '{}', are '{}'",
            checkpointed.resources, info.resources
        ));
    }
    (checkpointed.attributes != info.attributes).then(|| "the attributes changed".to_owned())
}

/// The kernel's id of this boot: a different one means the machine rebooted.
fn current_boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|id| id.trim().to_owned())
        .unwrap_or_default()
}
