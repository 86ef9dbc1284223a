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
//! - [`mesos`]: shared `mesos.proto` types (`Labels`).
//! - [`roles`]: role names, their validation and hierarchy.
//! - [`values`]: `Scalar`, `Ranges`, `Set` and `Value`, with their
//!   arithmetic and text form.
//! - [`resources`]: `Resource`, `Resources`, reservations, parsing of
//!   `--resources`, the JSON forms.
//! - `encoding` (private): serde helpers for the two encodings.

#![warn(missing_docs)]

mod encoding;
pub mod ids;
pub mod mesos;
pub mod resources;
pub mod roles;
pub mod values;

pub use ids::{AgentId, ContainerId, ExecutorId, FrameworkId, OfferId, TaskId};
pub use resources::{Resource, Resources, ResourcesError};
pub use values::{Range, Ranges, Scalar, Set, Value, ValueType};
