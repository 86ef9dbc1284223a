//! The registrar process on a real libproc runtime: recovery, ordered and batched
//! operations, durability across a restart, and storage failures.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use mesos_proto::mesos::{AgentInfo, TimeInfo};
use mesos_proto::AgentId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, Semaphore};

use super::storage::tests::TempDir;
use super::storage::StorageFuture;
use super::*;

fn start_runtime() -> std::net::SocketAddr {
    match libproc::Runtime::start(libproc::Config::default()) {
        Ok(address) | Err(libproc::StartError::AlreadyStarted(address)) => address,
        Err(error) => panic!("the libproc runtime did not start: {error}"),
    }
}

/// Awaits `future`, failing the test with `what` after a generous deadline.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn master(id: &str) -> MasterInfo {
    MasterInfo {
        id: id.into(),
        port: 5050,
        ..MasterInfo::default()
    }
}

fn info(id: &str) -> AgentInfo {
    AgentInfo {
        hostname: format!("host-{id}"),
        id: Some(AgentId::new(id)),
        ..AgentInfo::default()
    }
}

fn admit(id: &str) -> Box<dyn RegistryOperation + Send> {
    Box::new(AdmitAgent { info: info(id) })
}

fn admitted(registry: &Registry) -> Vec<&str> {
    registry
        .agents
        .iter()
        .filter_map(|agent| agent.info.id.as_ref().map(AgentId::as_str))
        .collect()
}

async fn recovered(storage: impl Storage, master_id: &str) -> (Registrar, Registry) {
    start_runtime();
    let registrar = Registrar::start(Box::new(storage)).unwrap();
    let registry = within("recovery", registrar.recover(master(master_id)))
        .await
        .unwrap();
    (registrar, registry)
}

#[tokio::test]
async fn operations_before_recovery_are_refused() {
    start_runtime();
    let registrar = Registrar::start(Box::new(InMemory::new())).unwrap();
    let error = within("apply", registrar.apply(admit("a1")))
        .await
        .unwrap_err();
    assert!(matches!(error, RegistrarError::NotRecovered), "{error:?}");
    assert!(error.to_string().contains("recover"), "{error}");
}

#[tokio::test]
async fn recovery_records_the_master_and_happens_once() {
    let storage = InMemory::new();
    let (registrar, registry) = recovered(storage.clone(), "m1").await;
    assert_eq!(registry.master, Some(master("m1")));
    assert!(registry.agents.is_empty());
    let stored = storage.fetch().await.unwrap().unwrap();
    assert_eq!(
        stored.master,
        Some(master("m1")),
        "recovery stores the new leader"
    );
    let again = within("second recovery", registrar.recover(master("m1"))).await;
    assert!(
        matches!(again, Err(RegistrarError::AlreadyRecovered)),
        "{again:?}"
    );
}

#[tokio::test]
async fn operations_apply_in_order_and_survive_a_restart() {
    let dir = TempDir::new("registrar-restart");
    let (registrar, _) = recovered(File::new(dir.path()), "m1").await;
    // Issued together; each depends on the one before it.
    let results = [
        registrar.apply(admit("a1")),
        registrar.apply(admit("a2")),
        registrar.apply(Box::new(MarkAgentUnreachable {
            id: AgentId::new("a1"),
            time: TimeInfo { nanoseconds: 7 },
        })),
        registrar.apply(Box::new(MarkAgentReachable { info: info("a1") })),
        registrar.apply(Box::new(MarkAgentGone {
            id: AgentId::new("a2"),
            time: TimeInfo { nanoseconds: 8 },
        })),
        registrar.apply(admit("a1")),
    ];
    let mut answers = Vec::new();
    for result in results {
        answers.push(within("apply", result).await.unwrap());
    }
    assert_eq!(answers, [true, true, true, true, true, false]);
    within("stop", registrar.stop()).await;

    let (_registrar, registry) = recovered(File::new(dir.path()), "m2").await;
    assert_eq!(admitted(&registry), ["a1"]);
    assert!(registry.unreachable.is_empty());
    assert_eq!(registry.gone[0].id, AgentId::new("a2"));
    assert_eq!(registry.master, Some(master("m2")));
}

#[tokio::test]
async fn a_refused_operation_does_not_stop_its_batch() {
    let (registrar, _) = recovered(InMemory::new(), "m1").await;
    let refused = registrar.apply(Box::new(RemoveAgent {
        id: AgentId::new("nobody"),
    }));
    let accepted = registrar.apply(admit("a1"));
    let error = within("refused", refused).await.unwrap_err();
    assert!(
        matches!(&error, RegistrarError::Operation(RegistryError::AgentNotAdmitted { id }) if id.as_str() == "nobody"),
        "{error:?}"
    );
    assert!(within("accepted", accepted).await.unwrap());
}

/// An in-memory storage whose stores wait for the test's permission, count themselves,
/// say when they start, and fail on demand.
#[derive(Debug, Clone)]
struct Gated {
    inner: InMemory,
    gate: Arc<Semaphore>,
    started: mpsc::UnboundedSender<()>,
    stores: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl Gated {
    fn new() -> (Gated, mpsc::UnboundedReceiver<()>) {
        let (started, starts) = mpsc::unbounded_channel();
        let gated = Gated {
            inner: InMemory::new(),
            gate: Arc::new(Semaphore::new(0)),
            started,
            stores: Arc::new(AtomicUsize::new(0)),
            failing: Arc::new(AtomicBool::new(false)),
        };
        (gated, starts)
    }
}

impl Storage for Gated {
    fn fetch(&self) -> StorageFuture<Option<Registry>> {
        self.inner.fetch()
    }

    fn store(&self, registry: Arc<Registry>) -> StorageFuture<()> {
        let this = self.clone();
        Box::pin(async move {
            let _ = this.started.send(());
            let permit = this.gate.acquire().await.expect("the gate is never closed");
            permit.forget();
            this.stores.fetch_add(1, Ordering::SeqCst);
            if this.failing.load(Ordering::SeqCst) {
                return Err(StorageError::Task("injected failure".into()));
            }
            this.inner.store(registry).await
        })
    }
}

/// Recovers a registrar on a gated storage, letting the recovery's store through.
async fn recovered_gated() -> (Registrar, Gated, mpsc::UnboundedReceiver<()>) {
    start_runtime();
    let (storage, mut starts) = Gated::new();
    let registrar = Registrar::start(Box::new(storage.clone())).unwrap();
    let recovery = registrar.recover(master("m1"));
    within("the recovery store", starts.recv()).await;
    storage.gate.add_permits(1);
    within("recovery", recovery).await.unwrap();
    (registrar, storage, starts)
}

/// Whether `future` is still pending after one poll.
async fn is_pending<F: Future + Unpin>(future: &mut F) -> bool {
    tokio::select! {
        biased;
        _ = future => false,
        () = std::future::ready(()) => true,
    }
}

#[tokio::test]
async fn operations_queued_during_a_store_share_the_next_one() {
    let (registrar, storage, mut starts) = recovered_gated().await;
    let mut first = Box::pin(registrar.apply(admit("a0")));
    within("the first store", starts.recv()).await;
    let rest: Vec<_> = (1..=20)
        .map(|n| registrar.apply(admit(&format!("a{n}"))))
        .collect();
    assert!(
        is_pending(&mut first).await,
        "an operation resolves only once stored"
    );

    storage.gate.add_permits(2);
    assert!(within("first", first).await.unwrap());
    for result in rest {
        assert!(within("rest", result).await.unwrap());
    }
    // One store for the recovery, one for the first operation, one for the other 20.
    assert_eq!(storage.stores.load(Ordering::SeqCst), 3);
    let stored = storage.inner.fetch().await.unwrap().unwrap();
    assert_eq!(stored.agents.len(), 21);
    assert_eq!(admitted(&stored)[..3], ["a0", "a1", "a2"]);
}

#[tokio::test]
async fn a_batch_that_changes_nothing_is_not_stored() {
    let (registrar, storage, _starts) = recovered_gated().await;
    let unchanged = registrar.apply(Box::new(UpdateWeights {
        weights: Default::default(),
    }));
    assert!(!within("unchanged", unchanged).await.unwrap());
    assert_eq!(
        storage.stores.load(Ordering::SeqCst),
        1,
        "only the recovery stored"
    );
}

#[tokio::test]
async fn a_storage_failure_fails_the_batch_the_queue_and_what_follows() {
    let (registrar, storage, mut starts) = recovered_gated().await;
    storage.failing.store(true, Ordering::SeqCst);
    let first = registrar.apply(admit("a1"));
    within("the failing store", starts.recv()).await;
    let queued = registrar.apply(admit("a2"));
    storage.gate.add_permits(1);
    for result in [first, queued] {
        let error = within("failure", result).await.unwrap_err();
        assert!(matches!(error, RegistrarError::Storage(_)), "{error:?}");
        assert!(error.to_string().contains("injected failure"), "{error}");
    }
    let later = within("later", registrar.apply(admit("a3"))).await;
    assert!(
        matches!(later, Err(RegistrarError::Storage(_))),
        "{later:?}"
    );
    let stored = storage.inner.fetch().await.unwrap().unwrap();
    assert!(
        stored.agents.is_empty(),
        "nothing failed is in the registry"
    );
}

#[tokio::test]
async fn a_damaged_registry_fails_recovery_naming_the_file() {
    let dir = TempDir::new("registrar-damaged");
    let file = File::new(dir.path());
    std::fs::write(file.path(), b"{\"version\": 1, \"registry\": ").unwrap();
    start_runtime();
    let registrar = Registrar::start(Box::new(file.clone())).unwrap();
    let error = within("recovery", registrar.recover(master("m1")))
        .await
        .unwrap_err();
    assert!(matches!(error, RegistrarError::Storage(_)), "{error:?}");
    assert!(
        error.to_string().contains(&*file.path().to_string_lossy()),
        "{error}"
    );
    let later = within("apply", registrar.apply(admit("a1"))).await;
    assert!(
        matches!(later, Err(RegistrarError::Storage(_))),
        "{later:?}"
    );
    let bytes = std::fs::read(file.path()).unwrap();
    assert_eq!(
        bytes, b"{\"version\": 1, \"registry\": ",
        "a damaged registry is kept"
    );
}

#[tokio::test]
async fn a_stopped_registrar_answers_gone() {
    let (registrar, _) = recovered(InMemory::new(), "m1").await;
    let pid = registrar.pid().clone();
    libproc::terminate(&pid);
    within("termination", libproc::wait(&pid)).await;
    let error = within("apply", registrar.apply(admit("a1")))
        .await
        .unwrap_err();
    assert!(matches!(error, RegistrarError::Gone), "{error:?}");
}

#[tokio::test]
async fn the_registry_endpoint_shows_the_registry() {
    let address = start_runtime();
    let (registrar, _) = recovered(InMemory::new(), "m1").await;
    within("apply", registrar.apply(admit("a1"))).await.unwrap();
    let path = format!("/{}/registry", registrar.pid().id);
    let body = within("the endpoint", get(address, &path)).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["master"]["info"]["id"], "m1");
    assert_eq!(json["slaves"]["slaves"][0]["info"]["id"]["value"], "a1");
}

/// Sends a GET over a fresh connection and returns the response body.
async fn get(address: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}
