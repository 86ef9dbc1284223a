//! The Mesos master: the `Master` actor, the hierarchical DRF allocator, the registrar and the operator endpoints.
//!
//! The crate is laid out in `ARCHITECTURE.md`; its behaviour is built by the issue that owns it.
