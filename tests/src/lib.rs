//! The cluster test harness: real `mesos-master` and `mesos-agent` OS processes on
//! loopback, driven by frameworks that live in the test process.
//!
//! - [`Cluster`] (built with [`Cluster::builder`]) starts, kills and restarts the
//!   daemons, each on its own `127.0.0.x` address and free port, with a per-test work
//!   dir. Dropping it kills everything it started, the executors and tasks the agents
//!   left behind and their cgroups, and removes the work dirs, also when a test fails
//!   (the daemons' log tails are printed then).
//! - [`Framework`] runs the real scheduler driver with a recording scheduler: every
//!   callback becomes an [`Event`] the test waits for.
//! - [`Spawned`] runs another program beside the cluster (an example framework, or
//!   this crate's `mesos-tests-framework`, a scheduler in its own OS process for tests
//!   that must crash one), killed when the test ends.
//! - [`until`] polls anything with a deadline; tests never sleep for a fixed time.
//!
//! The daemons are the binaries cargo put in `target/<profile>`, beside the test
//! binary: build them first with
//! `cargo build --workspace --all-features --bins --examples`.
//!
//! Every test runs in its own OS process under nextest, and shares no port nor
//! directory with another, so tests run in parallel.

mod child;
mod cleanup;
mod cluster;
mod framework;
mod http;
mod poll;

pub use child::Spawned;
pub use cleanup::session_alive;
pub use cluster::{binary, Cluster, ClusterBuilder, TestZooKeeper};
pub use framework::{command_task, framework_info, Event, Framework, Reaction, TASK_RESOURCES};
pub use http::{get_json, get_status_and_location};
pub use poll::{until, until_deadline, DEADLINE};
