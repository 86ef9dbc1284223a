//! The Mesos master: the `Master` actor and what it is made of.
//!
//! Layout:
//! - [`master`]: the `Master` actor; its handlers by protocol area in `master/`.
//! - [`framework`], [`agent`]: the master's records of frameworks and agents.
//! - [`agent_observer`]: the per-agent health checker (`slave-observer(N)`).
//! - [`allocator`]: the hierarchical DRF allocator, pure, and its process.
//! - [`registrar`]: the persisted registry of admitted and unreachable agents.
//! - [`validation`]: pure checks of what frameworks send.
//! - `http`: the operator endpoints (`/master/state`...) and the v1 HTTP APIs
//!   (scheduler and operator); [`v1_json`] is their JSON mapping.
//! - [`metrics`]: Mesos's metric keys.
//! - [`flags`], [`constants`]: configuration, as Mesos spells it.
//! - [`start`](start()): starting a master in a running libproc runtime.

pub mod constants;
pub mod flags;
pub mod registrar;

pub mod agent;
pub mod agent_observer;
pub mod allocator;
pub mod framework;
mod http;
pub mod master;
pub mod metrics;
mod start;
pub mod validation;

pub use http::v1_json;
pub use master::{exit_reason, Master};
pub use start::{master_info, start, StartError, MASTER_ID};
