//! The process registry and the run loop: spawning, one event at a time, termination,
//! local links and waiting.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use std::collections::VecDeque;

use tokio::sync::{oneshot, watch};
use tracing::Instrument;

use crate::context::Context;
use crate::event::{Event, HttpEvent, Raw};
use crate::http::{self, Response};
use crate::mailbox::Mailbox;
use crate::metrics;
use crate::pid::{Pid, ProcessId};
use crate::process::{Addr, Process};
use crate::runtime::{self, Node, StartError};

/// Why a process could not be spawned.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// A process with this id is already running in this runtime.
    #[error("a process with id '{0}' already exists")]
    DuplicateId(Pid),
    /// The runtime was not started and could not start from the environment.
    #[error(transparent)]
    Start(#[from] StartError),
}

/// The process is gone: it terminated before a dispatch to it ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("process {0} is gone")]
pub struct ProcessGone(pub Pid);

/// Delivers untyped events into a typed mailbox.
trait RawSender: Send + Sync {
    fn send(&self, event: Raw) -> bool;
    fn wake(&self);
}

impl<P: Process> RawSender for Mailbox<Event<P>> {
    fn send(&self, event: Raw) -> bool {
        self.push(Event::Raw(event)).is_ok()
    }

    fn wake(&self) {
        let _ = self.push(Event::Terminate);
    }
}

/// A running process as the registry sees it.
pub(crate) struct Entry {
    pid: Pid,
    sender: Arc<dyn RawSender>,
    /// Events queued and not yet handled; the process's queue length.
    queued: AtomicUsize,
    terminating: AtomicBool,
    linkers: Mutex<Linkers>,
    done: watch::Sender<bool>,
}

#[derive(Default)]
struct Linkers {
    finished: bool,
    pids: Vec<Pid>,
}

impl Entry {
    pub(crate) fn pid(&self) -> &Pid {
        &self.pid
    }

    pub(crate) fn queue_length(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    pub(crate) fn enqueued(&self) {
        self.queued.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn handled(&self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }

    /// Delivers an event unless a test filter takes it; false when the process is gone.
    pub(crate) fn deliver(&self, event: Raw) -> bool {
        #[cfg(feature = "testing")]
        if crate::testing::intercept(&self.pid, &event) {
            return true;
        }
        self.enqueued();
        if self.sender.send(event) {
            true
        } else {
            self.handled();
            false
        }
    }

    fn linkers(&self) -> MutexGuard<'_, Linkers> {
        self.linkers
            .lock()
            .expect("the linkers lock is never poisoned: nothing panics while holding it")
    }

    /// Records a local linker; false when this process already finished.
    pub(crate) fn add_linker(&self, linker: &Pid) -> bool {
        let mut linkers = self.linkers();
        if linkers.finished {
            return false;
        }
        if !linkers.pids.contains(linker) {
            linkers.pids.push(linker.clone());
        }
        true
    }

    pub(crate) fn terminate(&self) {
        self.terminating.store(true, Ordering::Release);
        self.sender.wake();
    }

    pub(crate) async fn wait(&self) {
        let mut done = self.done.subscribe();
        // An error means the entry is gone, which also means the process finished.
        let _ = done.wait_for(|finished| *finished).await;
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("pid", &self.pid)
            .field("queued", &self.queue_length())
            .finish()
    }
}

/// Spawns `process` under `id` and returns its typed address. The process runs
/// `initialize` before its first event, then handles events one at a time until it is
/// terminated. The runtime starts from `LIBPROCESS_*` variables if it was not started.
///
/// ```
/// use libproc::{Context, Process};
///
/// struct Idle;
/// impl Process for Idle {}
///
/// let addr = libproc::spawn(Idle, libproc::ProcessId::generate("idle")).unwrap();
/// libproc::terminate(addr.pid());
/// libproc::Runtime::block_on(libproc::wait(addr.pid()));
/// ```
pub fn spawn<P: Process>(process: P, id: impl Into<ProcessId>) -> Result<Addr<P>, SpawnError> {
    let node = runtime::node_or_start()?;
    let pid = Pid::new(id.into(), node.address());
    let mailbox = Arc::new(Mailbox::<Event<P>>::new());
    let entry = Arc::new(Entry {
        pid: pid.clone(),
        sender: mailbox.clone(),
        queued: AtomicUsize::new(0),
        terminating: AtomicBool::new(false),
        linkers: Mutex::new(Linkers::default()),
        done: watch::channel(false).0,
    });
    if !node.register(entry.clone()) {
        return Err(SpawnError::DuplicateId(pid));
    }
    let addr = Addr {
        pid,
        mailbox: mailbox.clone(),
        entry,
    };
    let ctx = Context::new(node, addr.clone());
    let span = tracing::info_span!("process", pid = %addr.pid);
    node.handle()
        .spawn(run(process, ctx, mailbox).instrument(span));
    Ok(addr)
}

/// Asks a process of this runtime to terminate: it finishes the event it is handling,
/// skips the rest of its queue, runs `finalize` and is gone. Unknown pids are ignored.
pub fn terminate(pid: &Pid) {
    if let Some(entry) = runtime::try_node().and_then(|node| node.entry(pid)) {
        entry.terminate();
    }
}

/// Waits until a process of this runtime has terminated; at once if it is not running.
pub async fn wait(pid: &Pid) {
    if let Some(entry) = runtime::try_node().and_then(|node| node.entry(pid)) {
        entry.wait().await;
    }
}

/// Runs `f` inside the process between its other events, and resolves to its result.
/// This is how code outside a process (a driver facade, a test) calls into it.
pub fn dispatch<P, R, F>(
    addr: &Addr<P>,
    f: F,
) -> impl Future<Output = Result<R, ProcessGone>> + Send + 'static
where
    P: Process,
    R: Send + 'static,
    F: FnOnce(&mut P, &mut Context<P>) -> R + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let sent = addr.enqueue_dispatch(Box::new(move |process, ctx| {
        let _ = tx.send(f(process, ctx));
    }));
    let pid = addr.pid.clone();
    async move {
        if !sent {
            return Err(ProcessGone(pid));
        }
        rx.await.map_err(|_| ProcessGone(pid))
    }
}

/// At most this many events pass before a process's remote sends are written, so that
/// a long batch does not hold back the messages its first events sent.
const EVENTS_PER_FLUSH: usize = 128;

/// How the run loop left.
enum Exit {
    Terminated,
    Panicked,
}

async fn run<P: Process>(mut process: P, mut ctx: Context<P>, mailbox: Arc<Mailbox<Event<P>>>) {
    let exit = run_events(&mut process, &mut ctx, &mailbox).await;
    match exit {
        Exit::Terminated => {
            if catch_unwind(AssertUnwindSafe(|| process.finalize(&mut ctx))).is_err() {
                tracing::error!("Process panicked in finalize");
            }
        }
        Exit::Panicked => tracing::error!("Process panicked; it is terminated"),
    }
    ctx.flush();
    mailbox.close();
    finish(ctx.node, &ctx.addr.entry);
}

async fn run_events<P: Process>(
    process: &mut P,
    ctx: &mut Context<P>,
    mailbox: &Mailbox<Event<P>>,
) -> Exit {
    if catch_unwind(AssertUnwindSafe(|| process.initialize(ctx))).is_err() {
        return Exit::Panicked;
    }
    ctx.flush();
    let entry = ctx.addr.entry.clone();
    let mut batch = VecDeque::new();
    while mailbox.take_all(&mut batch).await {
        let mut since_flush = 0;
        while let Some(event) = batch.pop_front() {
            if ctx.stopping || entry.terminating.load(Ordering::Acquire) {
                return Exit::Terminated;
            }
            let handled = catch_unwind(AssertUnwindSafe(|| handle(process, ctx, event)));
            entry.handled();
            if handled.is_err() {
                return Exit::Panicked;
            }
            since_flush += 1;
            if since_flush == EVENTS_PER_FLUSH || ctx.outbox_full() {
                ctx.flush();
                since_flush = 0;
            }
        }
        ctx.flush();
        if ctx.stopping || entry.terminating.load(Ordering::Acquire) {
            break;
        }
        // Let other processes on this worker run between batches.
        tokio::task::yield_now().await;
    }
    Exit::Terminated
}

fn handle<P: Process>(process: &mut P, ctx: &mut Context<P>, event: Event<P>) {
    match event {
        Event::Raw(Raw::Message { from, name, body }) => {
            let Some(handler) = ctx.handlers.get(name.as_ref()).cloned() else {
                tracing::warn!(%from, name = %name, "Dropping message with no handler");
                metrics::message_dropped();
                return;
            };
            if !process.accepts_message(&from, &name) {
                return;
            }
            if let Err(error) = handler(process, from.clone(), body, ctx) {
                tracing::warn!(%from, %error, "Dropping undecodable message");
                metrics::message_undecodable();
            }
        }
        Event::Raw(Raw::Http(event)) => handle_http(process, ctx, event),
        Event::Raw(Raw::Exited(pid)) => process.exited(&pid, ctx),
        Event::Dispatch(f) => f(process, ctx),
        Event::Terminate => {}
    }
}

fn handle_http<P: Process>(process: &mut P, ctx: &mut Context<P>, event: Box<HttpEvent>) {
    let HttpEvent { mut request, reply } = *event;
    let found =
        http::find_route(&ctx.routes, &request.route).map(|(path, route)| (path, route.clone()));
    let Some((path, route)) = found else {
        metrics::http_not_found();
        let _ = reply.send(Response::not_found(&format!(
            "no route '{}' in process {}",
            request.route,
            ctx.pid().id
        )));
        return;
    };
    request.route = path;
    match route(process, request, ctx) {
        http::Reply::Ready(response) => {
            let _ = reply.send(response);
        }
        http::Reply::Deferred(future) => {
            ctx.node.handle().spawn(async move {
                let _ = reply.send(future.await);
            });
        }
    }
}

/// Removes a finished process and tells its linkers.
fn finish(node: &Node, entry: &Arc<Entry>) {
    node.unregister(entry);
    let linkers = {
        let mut linkers = entry.linkers();
        linkers.finished = true;
        std::mem::take(&mut linkers.pids)
    };
    for linker in linkers {
        node.deliver(&linker, Raw::Exited(entry.pid.clone()));
    }
    node.sockets().forget_linker(&entry.pid);
    entry.queued.store(0, Ordering::Release);
    entry.done.send_replace(true);
}
