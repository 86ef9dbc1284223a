//! Cluster scenarios: real `mesos-master` and `mesos-agent` processes, real command
//! executors, frameworks driven by the real scheduler driver. One binary, one module
//! per behaviour; nextest runs each test in its own process.

mod allocation;
mod examples;
mod fault_tolerance;
mod harness;
mod high_availability;
mod partition;
mod reconciliation;
mod tasks;
