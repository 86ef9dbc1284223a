//! The Mesos agent: the `Agent` actor, resource detection, the containerizer, the status update manager and recovery.
//!
//! - `agent`: the `Agent` actor: registration, tasks and executors, status updates,
//!   shutdown, checkpoints while running and recovery after a restart, endpoints;
//! - `containerizer`: launching executors (nix fork/exec, pid and mount namespaces),
//!   cgroups v1/v2 and posix isolation, usage, OOM limitations, destroying containers;
//! - `fetcher`: command URIs copied into sandboxes; `files`: sandboxes over HTTP;
//!   `gc`: removing finished sandboxes;
//! - `status_update_manager`: reliable status updates; `state` and `paths`: the
//!   checkpoints and their layout; `resources`, `attributes`, `flags`, `metrics`.

pub mod agent;
pub mod attributes;
pub mod containerizer;
pub mod fetcher;
pub mod files;
pub mod flags;
pub mod gc;
pub mod metrics;
pub mod paths;
pub mod resources;
mod start;
pub mod state;
pub mod status_update_manager;

pub use agent::{Agent, Recovered};
pub use containerizer::launcher;
pub use start::{start, start_named, start_with_files, StartError, AGENT_ID};
