//! The Mesos agent: the `Agent` actor, resource detection, the containerizer, the status update manager and recovery.
//!
//! Built so far: registration with the master and staying registered (`agent`), what
//! the agent offers (`resources`, `attributes`), flags, and starting it (`start`).

pub mod agent;
pub mod attributes;
pub mod containerizer;
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
