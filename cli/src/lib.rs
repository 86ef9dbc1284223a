//! Assembly for the command-line tools `mesos-local` and `mesos-execute`.
//!
//! The crate is laid out in `ARCHITECTURE.md`; its behaviour is built by the issue that owns it.
