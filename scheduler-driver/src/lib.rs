//! What a framework writer links: the [`Scheduler`] trait, [`SchedulerDriver`] and
//! [`MesosSchedulerDriver`].
//!
//! # Write your first framework
//!
//! A framework is a scheduler (this crate) plus executors that run its tasks on agents
//! (the built-in command executor is enough for shell commands). The scheduler
//! implements [`Scheduler`]: the driver calls it when the framework registers, when
//! the master offers resources, and when a task changes state. The scheduler answers
//! through the [`SchedulerDriver`] it is handed: launch tasks on an offer, decline
//! it, kill a task, stop.
//!
//! The framework below runs `echo hello` once and stops when the task is done:
//!
//! ```no_run
//! use mesos_proto::mesos::{
//!     CommandInfo, Filters, FrameworkInfo, MasterInfo, Offer, TaskInfo, TaskStatus,
//! };
//! use mesos_proto::{FrameworkId, Resources};
//! use mesos_scheduler_driver::{MesosSchedulerDriver, Scheduler, SchedulerDriver, Status};
//!
//! #[derive(Default)]
//! struct Hello {
//!     launched: bool,
//!     failed: bool,
//! }
//!
//! impl Scheduler for Hello {
//!     fn registered(&mut self, _: &dyn SchedulerDriver, id: FrameworkId, _: MasterInfo) {
//!         println!("registered as {id}");
//!     }
//!     fn reregistered(&mut self, _: &dyn SchedulerDriver, _: MasterInfo) {}
//!     fn disconnected(&mut self, _: &dyn SchedulerDriver) {}
//!
//!     fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: Vec<Offer>) {
//!         let wanted = Resources::parse("cpus:0.1;mem:32", "*").unwrap();
//!         for offer in offers {
//!             let mem = offer.resources.scalars().get("mem").map_or(0.0, |m| m.value());
//!             if self.launched || mem < 32.0 {
//!                 driver.decline_offer(offer.id, Filters::default());
//!                 continue;
//!             }
//!             let task = TaskInfo {
//!                 name: "hello".into(),
//!                 task_id: "hello-1".into(),
//!                 agent_id: offer.agent_id.clone(),
//!                 resources: wanted.clone(),
//!                 command: Some(CommandInfo {
//!                     value: Some("echo hello".into()),
//!                     ..CommandInfo::default()
//!                 }),
//!                 ..TaskInfo::default()
//!             };
//!             driver.launch_tasks(vec![offer.id], vec![task], Filters::default());
//!             self.launched = true;
//!         }
//!     }
//!
//!     fn status_update(&mut self, driver: &dyn SchedulerDriver, status: TaskStatus) {
//!         println!("task {} is {}", status.task_id, status.state);
//!         if status.state.is_terminal() {
//!             self.failed = status.state != mesos_proto::mesos::TaskState::TASK_FINISHED;
//!             driver.stop(false);
//!         }
//!     }
//!
//!     // offer_rescinded, framework_message, agent_lost and executor_lost have
//!     // defaults that log.
//!
//!     fn error(&mut self, _: &dyn SchedulerDriver, message: String) {
//!         eprintln!("framework error: {message}");
//!     }
//! }
//!
//! let framework = FrameworkInfo {
//!     name: "hello".into(),
//!     ..FrameworkInfo::default()
//! };
//! let driver = MesosSchedulerDriver::new(Hello::default(), framework, "127.0.0.1:5050");
//! let status = driver.run();
//! std::process::exit(if status == Status::DRIVER_STOPPED { 0 } else { 1 });
//! ```
//!
//! Things to know:
//!
//! - Callbacks run one at a time on the driver's process. Calling the driver from a
//!   callback is fine (its methods only queue work); blocking in one is not.
//! - An offer is used once: launch on it, or decline it, else its resources stay away
//!   from every framework until the offer times out or is rescinded.
//! - Status updates are acknowledged for you once `status_update` returns, unless the
//!   driver is built with [`MesosSchedulerDriver::with_acknowledgements`] and `false`.
//! - `stop(false)` ends the framework and kills its tasks; `stop(true)` leaves them
//!   running for `FrameworkInfo.failover_timeout` seconds, for a new driver started
//!   with the same framework id to take over.
//! - The driver re-registers by itself when it loses the master. It reads
//!   `MESOS_REGISTRATION_BACKOFF_FACTOR` (default `2secs`) and the `LIBPROCESS_*`
//!   variables (`LIBPROCESS_IP` must be reachable by the master).
//!
//! Layout: `scheduler` (the callbacks), `driver` (the facade), `process` (the
//! protocol with the master), [`flags`] (the driver's `MESOS_*` settings). The
//! runnable examples are `test_framework`, `long_lived_framework` and
//! `balloon_framework`.

#![warn(missing_docs)]

mod driver;
pub mod flags;
mod process;
mod scheduler;

pub use driver::{MesosSchedulerDriver, SchedulerDriver, Status};
pub use flags::FlagsError;
pub use scheduler::Scheduler;
