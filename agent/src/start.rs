//! Starting an agent in a running libproc runtime: its description (resources measured
//! and given, attributes, host name) and the `Agent` process. `mesos-agent` and
//! `mesos-local` both start one this way.

use std::net::{SocketAddr, ToSocketAddrs};

use libproc::{Addr, Pid};
use mesos_proto::mesos::AgentInfo;

use crate::agent::{Agent, Recovered};
use crate::attributes::{parse_attributes, AttributeError};
use crate::flags::Flags;
use crate::flags::Recover;
use crate::paths;
use crate::resources::{agent_resources, Machine};
use crate::state::{self, StateError};

/// The agent's process id, as in Mesos: its endpoints are `/slave(1)/...`.
pub const AGENT_ID: &str = "slave(1)";

/// Why an agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `--master` is not an address this agent can reach.
    #[error("invalid --master '{0}': expected host:port or master@ip:port")]
    Master(String),
    /// `--master=zk://...` needs the ZooKeeper detector, not built yet.
    #[error("--master=zk://... is not supported yet; give host:port")]
    ZooKeeper,
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

/// Starts the agent in this runtime.
pub fn start(flags: Flags) -> Result<Addr<Agent>, StartError> {
    let address = libproc::Runtime::address().ok_or(StartError::NoRuntime)?;
    std::fs::create_dir_all(&flags.work_dir).map_err(|source| StartError::WorkDir {
        path: flags.work_dir.display().to_string(),
        source,
    })?;
    let master = master_pid(&flags.master)?;
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
    tracing::info!(%master, resources = %info.resources, "Agent starting");
    let recovered = recover(&flags, &info)?;
    Ok(libproc::spawn(
        Agent::new(flags, info, master, recovered),
        AGENT_ID,
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

/// The master's pid from `--master`: `master@ip:port`, or `host:port` (resolved).
pub fn master_pid(text: &str) -> Result<Pid, StartError> {
    if text.starts_with("zk://") || text.starts_with("file://") {
        return Err(StartError::ZooKeeper);
    }
    if text.contains('@') {
        return text
            .parse()
            .map_err(|_| StartError::Master(text.to_owned()));
    }
    let addr: SocketAddr = text
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.find(SocketAddr::is_ipv4))
        .ok_or_else(|| StartError::Master(text.to_owned()))?;
    Ok(Pid::new("master", addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_is_a_pid_or_an_address() {
        assert_eq!(
            master_pid("master@127.0.0.1:5050").unwrap().to_string(),
            "master@127.0.0.1:5050"
        );
        assert_eq!(
            master_pid("127.0.0.1:5050").unwrap().to_string(),
            "master@127.0.0.1:5050"
        );
        assert!(matches!(
            master_pid("zk://127.0.0.1:2181/mesos"),
            Err(StartError::ZooKeeper)
        ));
        assert!(master_pid("nowhere").is_err());
        assert!(master_pid("master@nowhere").is_err());
    }
}
