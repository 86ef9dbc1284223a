//! Starting a master in a running libproc runtime: its identity, registry storage,
//! registrar, allocator, and the `Master` process. `mesos-master` and `mesos-local`
//! both start one this way.

use std::net::{IpAddr, SocketAddr};

use libproc::Addr;
use mesos_proto::mesos::{Address, MasterInfo};

use crate::allocator::{parse_weights, Allocator, Options, ResourceQuantities};
use crate::constants::MESOS_VERSION;
use crate::flags::{FlagError, Flags};
use crate::master::Master;
use crate::registrar::Registrar;
use mesos_proto::Scalar;

/// The process id of the master, as in Mesos: its endpoints are `/master/...`.
pub const MASTER_ID: &str = "master";

/// Why a master could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A flag's value is unusable.
    #[error(transparent)]
    Flags(#[from] crate::flags::FlagError),
    /// A process could not be spawned (the runtime did not start, or `master` is taken).
    #[error(transparent)]
    Spawn(#[from] libproc::SpawnError),
    /// The allocator did not start.
    #[error(transparent)]
    Allocator(#[from] crate::allocator::StartAllocatorError),
    /// The runtime is not started.
    #[error("the libproc runtime must be started before the master")]
    NoRuntime,
}

/// Starts the registrar, the allocator and the master in this runtime.
pub fn start(flags: Flags) -> Result<Addr<Master>, StartError> {
    let address = libproc::Runtime::address().ok_or(StartError::NoRuntime)?;
    let info = master_info(address, &flags);
    let storage = crate::registrar::storage::from_flags(&flags)?;
    let registrar = Registrar::start(storage)?;
    let allocator = Allocator::start(allocator_options(&flags)?)?;
    tracing::info!(id = %info.id, %address, "Master starting");
    Ok(libproc::spawn(
        Master::new(flags, info, allocator, registrar),
        MASTER_ID,
    )?)
}

/// The allocator's options from the flags: interval, minimum offers, weights, and a
/// random seed for shuffling agents.
fn allocator_options(flags: &Flags) -> Result<Options, FlagError> {
    let invalid = |flag: &'static str, value: &str, reason: String| FlagError::InvalidValue {
        flag,
        value: value.to_owned(),
        reason,
    };
    let weights = match &flags.weights {
        Some(text) => parse_weights(text).map_err(|e| invalid("weights", text, e.to_string()))?,
        None => Default::default(),
    };
    let mut min_allocatable_resources = Vec::new();
    for set in flags.min_allocatable_quantities()? {
        let mut quantities = ResourceQuantities::new();
        for (name, amount) in set {
            let amount = Scalar::from_f64(amount).map_err(|e| {
                invalid(
                    "min_allocatable_resources",
                    &flags.min_allocatable_resources,
                    e.to_string(),
                )
            })?;
            quantities.set(&name, amount);
        }
        min_allocatable_resources.push(quantities);
    }
    Ok(Options {
        allocation_interval: flags.allocation_interval,
        min_allocatable_resources,
        fair_sharing_excluded_resource_names: flags.fair_sharing_excluded_resources(),
        weights,
        seed: fastrand::u64(..),
        ..Options::default()
    })
}

/// This master's identity: a new UUID, its address and host name, and the version.
pub fn master_info(address: SocketAddr, flags: &Flags) -> MasterInfo {
    let ip = address.ip();
    let hostname = flags.hostname.clone().unwrap_or_else(|| ip.to_string());
    MasterInfo {
        id: uuid::Uuid::new_v4().to_string(),
        ip: legacy_ip(ip),
        port: u32::from(address.port()),
        pid: Some(format!("{MASTER_ID}@{address}")),
        hostname: Some(hostname.clone()),
        version: Some(MESOS_VERSION.to_owned()),
        address: Some(Address {
            hostname: Some(hostname),
            ip: Some(ip.to_string()),
            port: u32::from(address.port()),
        }),
    }
}

/// Mesos's legacy `MasterInfo.ip`: the IPv4 address's bytes in network order, read
/// as a host-order (little-endian) number, as `inet_addr` gives it. 0 for IPv6.
fn legacy_ip(ip: IpAddr) -> u32 {
    match ip {
        IpAddr::V4(v4) => u32::from_le_bytes(v4.octets()),
        IpAddr::V6(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_ip_matches_mesos() {
        assert_eq!(legacy_ip("127.0.0.1".parse().unwrap()), 16_777_343);
    }
}
