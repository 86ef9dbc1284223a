//! `trait ExecutorDriver` and `MesosExecutorDriver`, the facade over `ExecutorProcess`.
//!
//! Facade rule: every method only dispatches to the process and returns at once, so an
//! executor may call the driver from inside its callbacks without deadlock. Only
//! `join` (and so `run`) blocks, and it must not be called from a callback.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use libproc::{Addr, Context, ProcessId, SpawnError};
use mesos_proto::mesos::{TaskState, TaskStatus};

use crate::env::{EnvError, ExecutorEnv};
use crate::executor::Executor;
use crate::process::ExecutorProcess;

/// The driver's state (Mesos `Status`), shared by both drivers.
pub use mesos_proto::mesos::Status;

/// Why a driver could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The `MESOS_*` environment is incomplete or malformed.
    #[error("the executor environment is not usable: {0}")]
    Env(#[from] EnvError),
}

/// What an executor can ask of its driver. Every method returns the driver's status
/// afterwards; a request to a driver that is not running is dropped.
pub trait ExecutorDriver: Send + Sync {
    /// Sends a task's status update to the agent, which forwards it reliably to the
    /// scheduler. The driver fills in the update's uuid, timestamp, source and ids,
    /// and keeps it until the agent acknowledges it. `TASK_STAGING` is not an
    /// executor's to send: the driver aborts and reports an `error` instead.
    fn send_status_update(&self, status: TaskStatus) -> Status;

    /// Sends opaque data to the framework's scheduler, best effort.
    fn send_framework_message(&self, data: Vec<u8>) -> Status;

    /// Stops the driver: no more callbacks, and `join` returns.
    fn stop(&self) -> Status;

    /// Aborts the driver: incoming messages are dropped from now on, and `join`
    /// returns `DRIVER_ABORTED`.
    fn abort(&self) -> Status;
}

/// The driver an executor runs: it registers with the agent named in the environment,
/// delivers the agent's requests to the [`Executor`] and carries its updates back.
///
/// Clones share one driver; an executor may keep a clone to report from its own
/// threads.
#[derive(Clone)]
pub struct MesosExecutorDriver {
    shared: Arc<Shared>,
}

struct Shared {
    env: ExecutorEnv,
    executor: Mutex<Option<Box<dyn Executor>>>,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    status: Status,
    process: Option<Addr<ExecutorProcess>>,
}

impl MesosExecutorDriver {
    /// A driver for `executor`, configured from the `MESOS_*` environment.
    pub fn new(executor: impl Executor + 'static) -> Result<Self, DriverError> {
        Ok(Self::with_env(executor, ExecutorEnv::from_env()?))
    }

    /// A driver for `executor`, configured by `env` rather than the process
    /// environment.
    pub fn with_env(executor: impl Executor + 'static, env: ExecutorEnv) -> Self {
        MesosExecutorDriver {
            shared: Arc::new(Shared {
                env,
                executor: Mutex::new(Some(Box::new(executor))),
                state: Mutex::new(State {
                    status: Status::DRIVER_NOT_STARTED,
                    process: None,
                }),
                changed: Condvar::new(),
            }),
        }
    }

    /// Spawns the executor process, which registers with the agent. Starts the libproc
    /// runtime from the `LIBPROCESS_*` environment if it is not running yet.
    pub fn start(&self) -> Status {
        let mut state = self.state();
        if state.status != Status::DRIVER_NOT_STARTED {
            return state.status;
        }
        let executor = lock(&self.shared.executor)
            .take()
            .expect("the executor is taken once, by the first start");
        let process = ExecutorProcess::new(self.shared.env.clone(), executor, self.clone());
        match libproc::spawn(process, ProcessId::generate("executor")) {
            Ok(addr) => {
                state.process = Some(addr);
                state.status = Status::DRIVER_RUNNING;
            }
            Err(error) => self.spawn_failed(&mut state, &error),
        }
        state.status
    }

    /// Blocks until the driver is stopped or aborted, and returns how it ended. Must
    /// not be called from a callback or from the libproc runtime's threads.
    pub fn join(&self) -> Status {
        let mut state = self.state();
        while state.status == Status::DRIVER_RUNNING {
            state = self
                .shared
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        state.status
    }

    /// `start`, then `join`.
    pub fn run(&self) -> Status {
        match self.start() {
            Status::DRIVER_RUNNING => self.join(),
            other => other,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    fn spawn_failed(&self, state: &mut State, error: &SpawnError) {
        tracing::error!(%error, "Cannot spawn the executor process");
        state.status = Status::DRIVER_ABORTED;
        self.shared.changed.notify_all();
    }

    /// Queues `f` in the process when the driver runs; returns the status either way.
    fn dispatch<F>(&self, f: F) -> Status
    where
        F: FnOnce(&mut ExecutorProcess, &mut Context<ExecutorProcess>) + Send + 'static,
    {
        let state = self.state();
        Self::dispatch_locked(&state, f)
    }

    fn dispatch_locked<F>(state: &State, f: F) -> Status
    where
        F: FnOnce(&mut ExecutorProcess, &mut Context<ExecutorProcess>) + Send + 'static,
    {
        if let (Status::DRIVER_RUNNING, Some(addr)) = (state.status, &state.process) {
            // The future only reports the result, which nobody waits for.
            drop(libproc::dispatch(addr, f));
        }
        state.status
    }

    /// Moves a running driver to `to` and terminates the process; a driver that is not
    /// running keeps its status.
    fn finish(&self, to: Status) -> Status {
        let mut state = self.state();
        if state.status != Status::DRIVER_RUNNING {
            return state.status;
        }
        Self::dispatch_locked(&state, |process, ctx| process.terminate(ctx));
        state.status = to;
        self.shared.changed.notify_all();
        to
    }

    fn refuse_staging(&self) -> Status {
        let message = "Attempted to send TASK_STAGING status update".to_owned();
        tracing::error!("Executor is not allowed to send TASK_STAGING status update. Aborting!");
        self.dispatch(move |process, _| process.error(message));
        self.abort()
    }
}

impl ExecutorDriver for MesosExecutorDriver {
    fn send_status_update(&self, status: TaskStatus) -> Status {
        if status.state == TaskState::TASK_STAGING && self.state().status == Status::DRIVER_RUNNING
        {
            return self.refuse_staging();
        }
        self.dispatch(move |process, ctx| process.send_status_update(status, ctx))
    }

    fn send_framework_message(&self, data: Vec<u8>) -> Status {
        self.dispatch(move |process, ctx| process.send_framework_message(data, ctx))
    }

    fn stop(&self) -> Status {
        self.finish(Status::DRIVER_STOPPED)
    }

    fn abort(&self) -> Status {
        self.finish(Status::DRIVER_ABORTED)
    }
}

impl fmt::Debug for MesosExecutorDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MesosExecutorDriver")
            .field("executor_id", &self.shared.env.executor_id)
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
