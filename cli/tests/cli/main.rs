//! The command-line tools as OS processes: `mesos-execute` against real
//! `mesos-master` and `mesos-agent` processes, and `mesos-local` on its own.

mod execute;
mod local;
mod support;
