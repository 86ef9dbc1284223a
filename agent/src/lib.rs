//! The Mesos agent: the `Agent` actor, resource detection, the containerizer, the status update manager and recovery.
//!
//! The crate is laid out in `ARCHITECTURE.md`; its behaviour is built by the issue that owns it.
