//! The vocabulary every Mesos component speaks: the ids and public types of
//! `mesos.proto`, and the resource arithmetic that masters, agents and
//! allocators share. Pure data and pure functions: no I/O, no actors.
//!
//! Each type has two encodings. As JSON it follows Mesos's mapping of the
//! proto (field names, enum names, `{"value": ...}` wrappers), for HTTP
//! endpoints and the v1 APIs. Through the binary wire codec it uses serde's
//! plain struct encoding. `Serializer::is_human_readable` picks one.
//!
//! # Layout
//!
//! - [`ids`]: `FrameworkId`, `AgentId`, `TaskId`, `OfferId`, `ExecutorId`,
//!   `ContainerId`.
//! - [`mesos`]: the public `mesos.proto` types: frameworks, agents, tasks, offers.
//! - [`duration`]: Mesos's duration syntax (`15secs`), parsed and written.
//! - [`json`]: Mesos's JSON form of any of them.
//! - [`messages`]: the internal messages of `messages.proto`, with their wire names.
//! - [`scheduler`]: `mesos.scheduler.Call`, the scheduler's calls to the master.
//! - [`v1`]: the v1 HTTP APIs' JSON mapping and RecordIO framing.
//! - [`executor`]: `mesos.v1.executor.Call`, an HTTP executor's calls to its agent.
//! - [`roles`]: role names, their validation and hierarchy.
//! - [`values`]: `Scalar`, `Ranges`, `Set` and `Value`, with their
//!   arithmetic and text form.
//! - [`resources`]: `Resource`, `Resources`, reservations, parsing of
//!   `--resources`, the JSON forms.
//! - `encoding` (private): serde helpers for the two encodings.

//! # How to evolve the wire
//!
//! The binary codec (postcard, through libproc) has no field tags: a message is its
//! fields in order. So a shipped message is frozen. Changing a field's type, order or
//! presence, or an enum's variants' order, means a new message with a new wire name
//! (`mesos.internal.FooMessageV2`), handled beside the old one until no peer sends it.
//! Fields use explicit widths (`u32`, `i64`, `f64`), never `usize`. JSON (endpoints,
//! v1 APIs) is unaffected: it has names, and unknown keys are ignored.

#![warn(missing_docs)]

pub mod duration;
mod encoding;
pub mod executor;
pub mod ids;
pub mod json;
pub mod mesos;
pub mod messages;
pub mod resources;
pub mod roles;
pub mod scheduler;
pub mod v1;
pub mod values;

pub use ids::{AgentId, ContainerId, ExecutorId, FrameworkId, OfferId, TaskId};
pub use resources::{Resource, Resources, ResourcesError};
pub use values::{Range, Ranges, Scalar, Set, Value, ValueType};

/// The Mesos version this implementation speaks and reports (`/version`, MasterInfo,
/// registration messages): digits and dots only, because clients parse it as numbers.
pub const MESOS_VERSION: &str = "1.11.0";
