//! The v1 HTTP APIs' encoding, shared by the master's and the agent's endpoints:
//! Mesos's JSON mapping of calls and events, and RecordIO, the framing of their event
//! streams.
//!
//! - [`json`]: the mapping, its bounds and errors, base64, typed events.
//! - [`recordio`]: records of the event streams.
//! - [`scheduler`]: the scheduler API's calls.
//! - [`executor`]: the executor API's calls.

pub mod executor;
pub mod http;
pub mod json;
pub mod recordio;
pub mod scheduler;
