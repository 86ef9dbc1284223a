//! The registrar (Mesos `Registrar`): the only writer of the [`Registry`]. The master
//! recovers it once when it becomes leader, then applies [`RegistryOperation`]s to it
//! and waits for each to be durable before acting on it (an agent is told it is
//! registered only once its admission is stored).
//!
//! [`Registrar`] is the facade the master holds; [`RegistrarProcess`] does the work,
//! one event at a time:
//!
//! ```text
//!   recover(master) ── fetch ──> registry (or empty) ── store with master ──> Recovered
//!   apply(op) ─> queue ─> batch: every queued op on a copy, in order ─> one store
//!                                  └─ ops queued meanwhile wait for the next batch
//! ```
//!
//! Each `apply` resolves once the batch holding its operation is stored: to whether
//! the operation changed the registry, or to its `RegistryError`. A batch that changes
//! nothing is not written. A storage failure fails its batch and every later
//! operation: the stored registry may no longer be what the master believes, and Mesos
//! aborts the master then; the master decides here. Storage I/O runs off the process
//! (`Context::defer`), so the registrar keeps answering, e.g. `/registrar(1)/registry`.

pub mod operations;
pub mod registry;
pub mod storage;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;

use libproc::http::{HttpError, Reply, Request, Response};
use libproc::{Addr, Context, Pid, Process, ProcessId, SpawnError};
use mesos_proto::mesos::MasterInfo;
use tokio::sync::oneshot;

pub use operations::{
    select_for_pruning, AdmitAgent, MarkAgentGone, MarkAgentReachable, MarkAgentUnreachable, Prune,
    PruneLimits, RegistryError, RegistryOperation, RemoveAgent, UpdateWeights,
};
pub use registry::{AdmittedAgent, Registry, TimestampedAgent};
pub use storage::{File, InMemory, Storage, StorageError, ZooKeeper};

/// Why the registrar did not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistrarError {
    /// `apply` came before `recover` completed.
    #[error("the registrar is not recovered: operations are applied once recover() completed")]
    NotRecovered,
    /// `recover` was called a second time.
    #[error("the registrar is already recovered or recovering")]
    AlreadyRecovered,
    /// The operation does not apply to the registry; nothing it asked was changed.
    #[error("registry operation refused: {0}")]
    Operation(#[from] RegistryError),
    /// Reading or writing the registry failed, now or before: the registrar accepts
    /// nothing more.
    #[error("the registry storage failed: {0}")]
    Storage(Arc<StorageError>),
    /// The registrar process is gone.
    #[error("the registrar is gone")]
    Gone,
}

/// The master's handle to its registrar. Its methods only dispatch to the process and
/// never block. Dropping it terminates the process.
#[derive(Debug)]
pub struct Registrar {
    addr: Addr<RegistrarProcess>,
}

impl Registrar {
    /// Spawns a registrar (`registrar(N)`) keeping the registry in `storage`.
    pub fn start(storage: Box<dyn Storage>) -> Result<Registrar, SpawnError> {
        let process = RegistrarProcess::new(storage);
        let addr = libproc::spawn(process, ProcessId::generate("registrar"))?;
        Ok(Registrar { addr })
    }

    /// The process's pid; its `/registry` route shows the registry.
    pub fn pid(&self) -> &Pid {
        self.addr.pid()
    }

    /// Reads the stored registry (empty if none was ever stored), records `master` in it
    /// as the latest leader and stores that, then resolves to it. Call it once, and
    /// before any `apply`.
    pub fn recover(
        &self,
        master: MasterInfo,
    ) -> impl Future<Output = Result<Registry, RegistrarError>> + Send + 'static {
        self.call(move |process, reply, ctx| process.recover(master, reply, ctx))
    }

    /// Queues `operation`, and resolves once it is applied and stored: to whether it
    /// changed the registry, or to why it could not be applied or stored. Operations are
    /// applied in the order of the calls.
    pub fn apply(
        &self,
        operation: Box<dyn RegistryOperation + Send>,
    ) -> impl Future<Output = Result<bool, RegistrarError>> + Send + 'static {
        self.call(move |process, reply, ctx| process.apply(operation, reply, ctx))
    }

    /// Terminates the process and waits until it is gone. Operations not yet stored
    /// resolve to `RegistrarError::Gone`; a write in flight completes or not, whole.
    pub async fn stop(self) {
        libproc::terminate(self.addr.pid());
        libproc::wait(self.addr.pid()).await;
    }

    /// Dispatches `f` with a reply channel and returns the reply.
    fn call<T, F>(&self, f: F) -> impl Future<Output = Result<T, RegistrarError>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&mut RegistrarProcess, Responder<T>, &mut Context<RegistrarProcess>)
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        // The dispatch is queued now, which keeps operations in the order of the calls;
        // its own future only says whether the process was there, which `answer` says too.
        drop(libproc::dispatch(&self.addr, move |process, ctx| {
            f(process, reply, ctx)
        }));
        async move { answer.await.unwrap_or(Err(RegistrarError::Gone)) }
    }
}

impl Drop for Registrar {
    fn drop(&mut self) {
        libproc::terminate(self.addr.pid());
    }
}

/// Where a caller waits for its answer.
type Responder<T> = oneshot::Sender<Result<T, RegistrarError>>;

/// An operation waiting for the next batch.
struct Pending {
    operation: Box<dyn RegistryOperation + Send>,
    reply: Responder<bool>,
}

/// Where the registrar is in its life.
#[derive(Debug)]
enum State {
    /// `recover` was not called.
    Idle,
    /// Fetching the registry, or storing it with the new master.
    Recovering,
    /// The stored registry, which operations apply to.
    Recovered(Arc<Registry>),
    /// Storage failed; everything is refused from now on.
    Failed(Arc<StorageError>),
}

/// The registrar's process: the registry as stored, the operations waiting for the
/// next batch, and whether a batch is being stored.
pub struct RegistrarProcess {
    storage: Box<dyn Storage>,
    state: State,
    queue: Vec<Pending>,
    /// A batch is scheduled or being stored; new operations wait in `queue`.
    busy: bool,
}

impl RegistrarProcess {
    fn new(storage: Box<dyn Storage>) -> RegistrarProcess {
        RegistrarProcess {
            storage,
            state: State::Idle,
            queue: Vec::new(),
            busy: false,
        }
    }

    fn recover(&mut self, master: MasterInfo, reply: Responder<Registry>, ctx: &mut Context<Self>) {
        if !matches!(self.state, State::Idle) {
            let _ = reply.send(Err(RegistrarError::AlreadyRecovered));
            return;
        }
        tracing::info!(storage = ?self.storage, "Recovering the registrar");
        self.state = State::Recovering;
        ctx.defer(
            self.storage.fetch(),
            move |this: &mut Self, fetched, ctx| this.fetched(fetched, master, reply, ctx),
        );
    }

    fn fetched(
        &mut self,
        fetched: Result<Option<Registry>, StorageError>,
        master: MasterInfo,
        reply: Responder<Registry>,
        ctx: &mut Context<Self>,
    ) {
        let mut registry = match fetched {
            Ok(Some(registry)) => registry,
            Ok(None) => {
                tracing::info!("No registry was stored; starting with an empty one");
                Registry::default()
            }
            Err(error) => {
                let _ = reply.send(Err(self.fail(error)));
                return;
            }
        };
        // Storing the new leader at once also proves the registry can be written before
        // the master relies on it (Mesos's `Recover` operation).
        registry.master = Some(master);
        let registry = Arc::new(registry);
        let store = self.storage.store(registry.clone());
        ctx.defer(store, move |this: &mut Self, stored, _ctx| {
            this.recovered(stored, registry, reply)
        });
    }

    fn recovered(
        &mut self,
        stored: Result<(), StorageError>,
        registry: Arc<Registry>,
        reply: Responder<Registry>,
    ) {
        if let Err(error) = stored {
            let _ = reply.send(Err(self.fail(error)));
            return;
        }
        tracing::info!(
            admitted = registry.agents.len(),
            unreachable = registry.unreachable.len(),
            gone = registry.gone.len(),
            "Recovered the registrar"
        );
        self.state = State::Recovered(registry.clone());
        let _ = reply.send(Ok(Registry::clone(&registry)));
    }

    fn apply(
        &mut self,
        operation: Box<dyn RegistryOperation + Send>,
        reply: Responder<bool>,
        ctx: &mut Context<Self>,
    ) {
        let refusal = match &self.state {
            State::Idle | State::Recovering => RegistrarError::NotRecovered,
            State::Failed(error) => RegistrarError::Storage(error.clone()),
            State::Recovered(_) => {
                self.queue.push(Pending { operation, reply });
                if !self.busy {
                    // Start the batch after the events already queued, so that the
                    // operations they carry join it.
                    self.busy = true;
                    ctx.defer(std::future::ready(()), |this: &mut Self, (), ctx| {
                        this.update(ctx)
                    });
                }
                return;
            }
        };
        let _ = reply.send(Err(refusal));
    }

    /// Applies every queued operation to a copy of the registry and stores the copy.
    fn update(&mut self, ctx: &mut Context<Self>) {
        let State::Recovered(current) = &self.state else {
            // Only a storage failure leaves `Recovered`, and it drains the queue.
            self.busy = false;
            return;
        };
        let mut updated = Registry::clone(current);
        let batch: Vec<(Responder<bool>, Result<bool, RegistryError>)> = self
            .queue
            .drain(..)
            .map(|Pending { operation, reply }| {
                let result = operation.perform(&mut updated);
                if let Err(error) = &result {
                    tracing::warn!(?operation, %error, "Registry operation refused");
                }
                (reply, result)
            })
            .collect();
        if !batch.iter().any(|(_, result)| matches!(result, Ok(true))) {
            // The stored registry already is what these operations ask for.
            self.busy = false;
            answer(batch);
            return;
        }
        tracing::debug!(operations = batch.len(), "Storing the registry");
        let updated = Arc::new(updated);
        let store = self.storage.store(updated.clone());
        ctx.defer(store, move |this: &mut Self, stored, ctx| {
            this.updated(stored, updated, batch, ctx)
        });
    }

    fn updated(
        &mut self,
        stored: Result<(), StorageError>,
        registry: Arc<Registry>,
        batch: Vec<(Responder<bool>, Result<bool, RegistryError>)>,
        ctx: &mut Context<Self>,
    ) {
        self.busy = false;
        if let Err(error) = stored {
            let error = self.fail(error);
            for (reply, _) in batch {
                let _ = reply.send(Err(error.clone()));
            }
            return;
        }
        self.state = State::Recovered(registry);
        answer(batch);
        if !self.queue.is_empty() {
            self.busy = true;
            self.update(ctx);
        }
    }

    /// Enters the failed state: refuses every queued operation, and every later one.
    fn fail(&mut self, error: StorageError) -> RegistrarError {
        tracing::error!(%error, "The registry storage failed; refusing every further operation");
        let error = Arc::new(error);
        self.state = State::Failed(error.clone());
        for Pending { reply, .. } in self.queue.drain(..) {
            let _ = reply.send(Err(RegistrarError::Storage(error.clone())));
        }
        RegistrarError::Storage(error)
    }

    /// `/registrar(N)/registry`: the registry as Mesos shows it, `{}` before recovery.
    fn registry_endpoint(&mut self, _request: Request, _ctx: &mut Context<Self>) -> Reply {
        let json = match &self.state {
            State::Recovered(registry) => mesos_proto::json::to_value(&**registry),
            _ => Ok(serde_json::json!({})),
        };
        match json {
            Ok(json) => Response::json(&json).into(),
            Err(error) => HttpError::new(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("could not encode the registry: {error}"),
            )
            .into(),
        }
    }
}

/// Sends each operation its result.
fn answer(batch: Vec<(Responder<bool>, Result<bool, RegistryError>)>) {
    for (reply, result) in batch {
        let _ = reply.send(result.map_err(RegistrarError::from));
    }
}

impl Process for RegistrarProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // Operators and tests read the registry here, as in Mesos.
        ctx.route("/registry", Self::registry_endpoint);
    }
}

impl std::fmt::Debug for RegistrarProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrarProcess")
            .field("storage", &self.storage)
            .field("state", &self.state)
            .field("queued", &self.queue.len())
            .field("busy", &self.busy)
            .finish()
    }
}
