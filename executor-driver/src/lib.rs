//! What an executor links: the [`Executor`] trait, [`MesosExecutorDriver`], and the
//! built-in command executor.
//!
//! An executor runs a framework's tasks on an agent. The agent starts it with a
//! `MESOS_*` environment ([`ExecutorEnv`]); the driver registers with the agent,
//! calls the executor's callbacks as the agent's requests arrive, and carries the
//! executor's status updates back until the agent acknowledges them.
//!
//! A minimal executor runs each task by declaring it finished at once:
//!
//! ```no_run
//! use mesos_executor_driver::{Executor, ExecutorDriver, MesosExecutorDriver, Status};
//! use mesos_proto::mesos::{AgentInfo, ExecutorInfo, FrameworkInfo, TaskInfo, TaskState, TaskStatus};
//! use mesos_proto::TaskId;
//!
//! struct Instant;
//!
//! impl Executor for Instant {
//!     fn registered(&mut self, _: &dyn ExecutorDriver, _: ExecutorInfo, _: FrameworkInfo, _: AgentInfo) {}
//!     fn reregistered(&mut self, _: &dyn ExecutorDriver, _: AgentInfo) {}
//!     fn disconnected(&mut self, _: &dyn ExecutorDriver) {}
//!     fn launch_task(&mut self, driver: &dyn ExecutorDriver, task: TaskInfo) {
//!         for state in [TaskState::TASK_RUNNING, TaskState::TASK_FINISHED] {
//!             driver.send_status_update(TaskStatus {
//!                 task_id: task.task_id.clone(),
//!                 state,
//!                 ..TaskStatus::default()
//!             });
//!         }
//!     }
//!     fn kill_task(&mut self, driver: &dyn ExecutorDriver, task_id: TaskId) {
//!         driver.send_status_update(TaskStatus {
//!             task_id,
//!             state: TaskState::TASK_KILLED,
//!             ..TaskStatus::default()
//!         });
//!     }
//!     fn framework_message(&mut self, _: &dyn ExecutorDriver, _: Vec<u8>) {}
//!     fn shutdown(&mut self, driver: &dyn ExecutorDriver) {
//!         driver.stop();
//!     }
//!     fn error(&mut self, _: &dyn ExecutorDriver, message: String) {
//!         eprintln!("executor error: {message}");
//!     }
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let driver = MesosExecutorDriver::new(Instant)?;
//!     let status = driver.run();
//!     std::process::exit(if status == Status::DRIVER_STOPPED { 0 } else { 1 });
//! }
//! ```
//!
//! Layout: [`env`](mod@env) (the `MESOS_*` variables), `executor` (the callbacks), `driver`
//! (the facade), `process` (the protocol with the agent), [`command_executor`] (what
//! the `mesos-executor` binary runs).

#![warn(missing_docs)]

pub mod command_executor;
mod driver;
pub mod env;
mod executor;
mod process;

pub use driver::{DriverError, ExecutorDriver, MesosExecutorDriver, Status};
pub use env::{EnvError, ExecutorEnv};
pub use executor::Executor;
