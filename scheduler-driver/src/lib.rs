//! What a framework writer links: the `Scheduler` trait and `MesosSchedulerDriver`.
//!
//! The crate is laid out in `ARCHITECTURE.md`; its behaviour is built by the issue that owns it.
