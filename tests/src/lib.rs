//! The cluster test harness: real `mesos-master` and `mesos-agent` processes on loopback, ZooKeeper, deadlines.
//!
//! The crate is laid out in `ARCHITECTURE.md`; its behaviour is built by the issue that owns it.
