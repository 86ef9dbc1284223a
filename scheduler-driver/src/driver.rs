//! `trait SchedulerDriver` and `MesosSchedulerDriver`, the facade over
//! `SchedulerProcess`.
//!
//! Facade rule: every method only dispatches to the process and returns at once, so a
//! scheduler may call the driver from inside its callbacks without deadlock. Only
//! `join` (and so `run`) blocks, and it must not be called from a callback.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use libproc::{Addr, Context, ProcessId};
use mesos_detector::MasterDetector;
use mesos_proto::mesos::{
    Filters, FrameworkInfo, Launch, OfferOperation, OperationType, Request, TaskInfo, TaskStatus,
};
use mesos_proto::{AgentId, ExecutorId, OfferId, TaskId};

use crate::flags::DriverFlags;
use crate::process::SchedulerProcess;
use crate::scheduler::Scheduler;

/// The driver's state (Mesos `Status`), shared by both drivers.
pub use mesos_proto::mesos::Status;

/// What a scheduler can ask of its driver. Every method returns the driver's status
/// afterwards; a request to a driver that is not running is dropped, and one made
/// while the driver has no master is dropped too (launches are answered with
/// `TASK_LOST`, or `TASK_DROPPED` for partition-aware frameworks).
pub trait SchedulerDriver: Send + Sync {
    /// Starts the driver: it detects the master and registers. Starts the libproc
    /// runtime from the `LIBPROCESS_*` environment if it is not running yet.
    fn start(&self) -> Status;

    /// Stops the driver. With `failover` false the framework is unregistered: the
    /// master kills its tasks and forgets it. With `failover` true the driver only
    /// disconnects, and the framework and its tasks wait `failover_timeout` for a new
    /// driver started with the same framework id.
    ///
    /// The unregistration is sent, not confirmed: a program that exits right after
    /// `join` may exit before it is written, and then the master only sees the
    /// scheduler disconnect (the framework waits out its failover timeout).
    fn stop(&self, failover: bool) -> Status;

    /// Aborts the driver: the master stops offering to the framework but keeps its
    /// tasks, and no more callbacks come. `stop` may still follow.
    fn abort(&self) -> Status;

    /// Blocks until the driver is stopped or aborted, and returns how it ended.
    fn join(&self) -> Status;

    /// `start`, then `join`.
    fn run(&self) -> Status;

    /// Hints at resources the framework wants (the allocator may ignore it).
    fn request_resources(&self, requests: Vec<Request>) -> Status;

    /// Launches `tasks` on the resources of `offer_ids` (all on one agent); what the
    /// tasks leave is declined with `filters`. An empty task list declines the offers.
    fn launch_tasks(
        &self,
        offer_ids: Vec<OfferId>,
        tasks: Vec<TaskInfo>,
        filters: Filters,
    ) -> Status;

    /// Applies `operations` to the resources of `offer_ids`; what they leave is
    /// declined with `filters`.
    fn accept_offers(
        &self,
        offer_ids: Vec<OfferId>,
        operations: Vec<OfferOperation>,
        filters: Filters,
    ) -> Status;

    /// Gives an offer back; its resources are not offered again for
    /// `filters.refuse_seconds` (5 s by default).
    fn decline_offer(&self, offer_id: OfferId, filters: Filters) -> Status;

    /// Lifts the framework's filters and suppression, and asks for offers now.
    fn revive_offers(&self) -> Status;

    /// Stops offers to the framework until `revive_offers`.
    fn suppress_offers(&self) -> Status;

    /// Kills a task; its terminal update (normally `TASK_KILLED`) follows.
    fn kill_task(&self, task_id: TaskId) -> Status;

    /// Acknowledges a status update, so that its agent sends the task's next one. Only
    /// for a driver built with explicit acknowledgements; with implicit ones this is a
    /// programming error and aborts the driver. Updates without a uuid (from the
    /// master or the driver) need no acknowledgement and are ignored.
    fn acknowledge_status_update(&self, status: TaskStatus) -> Status;

    /// Sends opaque data to an executor, best effort: straight to its agent when the
    /// driver knows the agent's pid, else through the master.
    fn send_framework_message(
        &self,
        executor_id: ExecutorId,
        agent_id: AgentId,
        data: Vec<u8>,
    ) -> Status;

    /// Asks the master for the latest state of these tasks (their `task_id` and,
    /// when known, `agent_id` are used), or of all the framework's tasks when empty.
    /// The answers come as status updates without uuid.
    fn reconcile_tasks(&self, statuses: Vec<TaskStatus>) -> Status;
}

/// The driver a framework runs: it finds the master through the detector, registers
/// the framework (re-registering whenever the master is lost or changes), delivers the
/// master's messages to the [`Scheduler`] and carries its requests to the master.
///
/// Clones share one driver. Dropping the last clone terminates the driver's process,
/// whether or not it was stopped.
///
/// ```no_run
/// # use mesos_scheduler_driver::{MesosSchedulerDriver, Scheduler, SchedulerDriver};
/// # fn framework(scheduler: impl Scheduler + 'static) {
/// use mesos_proto::mesos::FrameworkInfo;
///
/// let info = FrameworkInfo {
///     name: "example".into(),
///     failover_timeout: Some(60.0),
///     ..FrameworkInfo::default()
/// };
/// let driver = MesosSchedulerDriver::new(scheduler, info, "127.0.0.1:5050");
/// let status = driver.run();
/// # }
/// ```
#[derive(Clone)]
pub struct MesosSchedulerDriver {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    master: String,
    framework: FrameworkInfo,
    implicit_acknowledgements: bool,
    scheduler: Mutex<Option<Box<dyn Scheduler>>>,
    /// False once stopped or aborted: the process then drops what arrives (Mesos's
    /// atomic `running`, read without the state lock).
    running: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    status: Status,
    process: Option<Addr<SchedulerProcess>>,
    /// The process has handled `stop` or `abort` (Mesos's latch): `join` may return.
    latched: bool,
}

impl MesosSchedulerDriver {
    /// A driver for `scheduler` and the framework `framework`, with the master given
    /// as a `--master` value (`host:port`, `master@ip:port`, `file:///path`). The
    /// framework's `user` defaults to the current user and its `hostname` to this
    /// host's. A framework id in `framework` makes the driver take that framework over
    /// from its previous scheduler (failover). Status updates are acknowledged
    /// implicitly.
    pub fn new(
        scheduler: impl Scheduler + 'static,
        framework: FrameworkInfo,
        master: impl Into<String>,
    ) -> Self {
        Self::with_acknowledgements(scheduler, framework, master, true)
    }

    /// As `new`, choosing whether the driver acknowledges status updates itself
    /// (`implicit_acknowledgements`) or leaves it to the scheduler through
    /// [`SchedulerDriver::acknowledge_status_update`].
    pub fn with_acknowledgements(
        scheduler: impl Scheduler + 'static,
        mut framework: FrameworkInfo,
        master: impl Into<String>,
        implicit_acknowledgements: bool,
    ) -> Self {
        if framework.user.is_empty() {
            framework.user = current_user();
        }
        if framework.hostname.as_deref().unwrap_or("").is_empty() {
            framework.hostname = host_name();
        }
        MesosSchedulerDriver {
            shared: Arc::new(Shared {
                master: master.into(),
                framework,
                implicit_acknowledgements,
                scheduler: Mutex::new(Some(Box::new(scheduler))),
                running: AtomicBool::new(false),
                state: Mutex::new(State {
                    status: Status::DRIVER_NOT_STARTED,
                    process: None,
                    latched: false,
                }),
                changed: Condvar::new(),
            }),
        }
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        MesosSchedulerDriver { shared }
    }

    pub(crate) fn downgrade(&self) -> std::sync::Weak<Shared> {
        Arc::downgrade(&self.shared)
    }

    /// Whether the driver runs: not stopped nor aborted. The process checks it before
    /// every callback and acknowledgement.
    pub(crate) fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::SeqCst)
    }

    /// Called by the process once it has handled `stop` or `abort`: `join` returns.
    pub(crate) fn latch(&self) {
        self.state().latched = true;
        self.shared.changed.notify_all();
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    /// Marks the driver aborted before it ran, and tells the scheduler why.
    fn fail_to_start(&self, mut state: MutexGuard<'_, State>, message: String) -> Status {
        tracing::error!(%message, "Scheduler driver cannot start");
        state.status = Status::DRIVER_ABORTED;
        drop(state);
        self.shared.changed.notify_all();
        if let Some(scheduler) = lock(&self.shared.scheduler).as_mut() {
            scheduler.error(self, message);
        }
        Status::DRIVER_ABORTED
    }

    /// Queues `f` in the process when the driver runs; returns the status either way.
    fn dispatch<F>(&self, f: F) -> Status
    where
        F: FnOnce(&mut SchedulerProcess, &mut Context<SchedulerProcess>) + Send + 'static,
    {
        let state = self.state();
        if let (Status::DRIVER_RUNNING, Some(addr)) = (state.status, &state.process) {
            // The future only reports the result, which nobody waits for.
            drop(libproc::dispatch(addr, f));
        }
        state.status
    }

    fn refuse_acknowledgement(&self) -> Status {
        let message =
            "Cannot call acknowledge_status_update: implicit acknowledgements are enabled"
                .to_owned();
        tracing::error!("{message}; aborting the driver");
        let status = self.abort();
        let state = self.state();
        if let Some(addr) = &state.process {
            drop(libproc::dispatch(addr, move |process, _| {
                process.report_error(message)
            }));
        }
        status
    }
}

impl SchedulerDriver for MesosSchedulerDriver {
    fn start(&self) -> Status {
        let mut state = self.state();
        if state.status != Status::DRIVER_NOT_STARTED {
            return state.status;
        }
        let master = &self.shared.master;
        let detector = match MasterDetector::create(master) {
            Ok(detector) => detector,
            Err(error) => {
                let message = format!("Failed to create a master detector for '{master}': {error}");
                return self.fail_to_start(state, message);
            }
        };
        let flags = match DriverFlags::from_env() {
            Ok(flags) => flags,
            Err(error) => return self.fail_to_start(state, error.to_string()),
        };
        let scheduler = lock(&self.shared.scheduler)
            .take()
            .expect("the scheduler is taken once, by the first start");
        let process = SchedulerProcess::new(
            self,
            scheduler,
            self.shared.framework.clone(),
            detector,
            flags,
            self.shared.implicit_acknowledgements,
        );
        self.shared.running.store(true, Ordering::SeqCst);
        let id = ProcessId::new(format!("scheduler-{}", uuid::Uuid::new_v4()));
        match libproc::spawn(process, id) {
            Ok(addr) => {
                state.process = Some(addr);
                state.status = Status::DRIVER_RUNNING;
                state.status
            }
            Err(error) => {
                self.shared.running.store(false, Ordering::SeqCst);
                let message = format!("Cannot spawn the scheduler process: {error}");
                tracing::error!(%message, "Scheduler driver cannot start");
                state.status = Status::DRIVER_ABORTED;
                self.shared.changed.notify_all();
                state.status
            }
        }
    }

    fn stop(&self, failover: bool) -> Status {
        let mut state = self.state();
        tracing::info!(failover, "Asked to stop the driver");
        if !matches!(
            state.status,
            Status::DRIVER_RUNNING | Status::DRIVER_ABORTED
        ) {
            return state.status;
        }
        self.shared.running.store(false, Ordering::SeqCst);
        if let Some(addr) = &state.process {
            drop(libproc::dispatch(addr, move |process, ctx| {
                process.stop(failover, ctx)
            }));
        }
        let was_aborted = state.status == Status::DRIVER_ABORTED;
        state.status = Status::DRIVER_STOPPED;
        self.shared.changed.notify_all();
        if was_aborted {
            Status::DRIVER_ABORTED
        } else {
            Status::DRIVER_STOPPED
        }
    }

    fn abort(&self) -> Status {
        let mut state = self.state();
        tracing::info!("Asked to abort the driver");
        if state.status != Status::DRIVER_RUNNING {
            return state.status;
        }
        self.shared.running.store(false, Ordering::SeqCst);
        if let Some(addr) = &state.process {
            // Queued behind the scheduler's earlier requests, which still go out.
            drop(libproc::dispatch(addr, |process, ctx| process.abort(ctx)));
        }
        state.status = Status::DRIVER_ABORTED;
        self.shared.changed.notify_all();
        state.status
    }

    fn join(&self) -> Status {
        let mut state = self.state();
        if state.process.is_none() {
            return state.status;
        }
        while !state.latched {
            state = self
                .shared
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        state.status
    }

    fn run(&self) -> Status {
        match self.start() {
            Status::DRIVER_RUNNING => self.join(),
            other => other,
        }
    }

    fn request_resources(&self, requests: Vec<Request>) -> Status {
        self.dispatch(move |process, ctx| process.request_resources(requests, ctx))
    }

    fn launch_tasks(
        &self,
        offer_ids: Vec<OfferId>,
        tasks: Vec<TaskInfo>,
        filters: Filters,
    ) -> Status {
        let launch = OfferOperation {
            kind: OperationType::LAUNCH,
            launch: Some(Launch { task_infos: tasks }),
            launch_group: None,
        };
        self.accept_offers(offer_ids, vec![launch], filters)
    }

    fn accept_offers(
        &self,
        offer_ids: Vec<OfferId>,
        operations: Vec<OfferOperation>,
        filters: Filters,
    ) -> Status {
        self.dispatch(move |process, ctx| {
            process.accept_offers(offer_ids, operations, filters, ctx)
        })
    }

    fn decline_offer(&self, offer_id: OfferId, filters: Filters) -> Status {
        self.dispatch(move |process, ctx| process.decline_offer(offer_id, filters, ctx))
    }

    fn revive_offers(&self) -> Status {
        self.dispatch(|process, ctx| process.revive_offers(ctx))
    }

    fn suppress_offers(&self) -> Status {
        self.dispatch(|process, ctx| process.suppress_offers(ctx))
    }

    fn kill_task(&self, task_id: TaskId) -> Status {
        self.dispatch(move |process, ctx| process.kill_task(task_id, ctx))
    }

    fn acknowledge_status_update(&self, status: TaskStatus) -> Status {
        if self.shared.implicit_acknowledgements && self.state().status == Status::DRIVER_RUNNING {
            return self.refuse_acknowledgement();
        }
        self.dispatch(move |process, ctx| process.acknowledge_status_update(status, ctx))
    }

    fn send_framework_message(
        &self,
        executor_id: ExecutorId,
        agent_id: AgentId,
        data: Vec<u8>,
    ) -> Status {
        self.dispatch(move |process, ctx| {
            process.send_framework_message(executor_id, agent_id, data, ctx)
        })
    }

    fn reconcile_tasks(&self, statuses: Vec<TaskStatus>) -> Status {
        self.dispatch(move |process, ctx| process.reconcile_tasks(statuses, ctx))
    }
}

/// The process outlives no driver: when the last clone goes, so does the process (as
/// Mesos's driver destructor terminates it).
impl Drop for Shared {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(addr) = &state.process {
            libproc::terminate(addr.pid());
        }
    }
}

impl fmt::Debug for MesosSchedulerDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MesosSchedulerDriver")
            .field("framework", &self.shared.framework.name)
            .field("master", &self.shared.master)
            .field("status", &state.status)
            .field("process", &state.process)
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The name of the user this process runs as, for a framework that names none.
fn current_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|user| user.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default()
}

/// This host's name, for a framework that names none.
fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}
