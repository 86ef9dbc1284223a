//! `Context`: how a process talks to the runtime from inside its handlers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, Timer, Timers};
use crate::codec::CodecError;
use crate::event::Body;
use crate::http::{Reply, Request};
use crate::message::Message;
use crate::pid::Pid;
use crate::process::{Addr, Process};
use crate::runtime::Node;
use crate::transport::socket_manager::Outbox;

pub(crate) type Handler<P> =
    Arc<dyn Fn(&mut P, Pid, Body, &mut Context<P>) -> Result<(), CodecError> + Send + Sync>;
pub(crate) type Route<P> = Arc<dyn Fn(&mut P, Request, &mut Context<P>) -> Reply + Send + Sync>;

/// How `link_with` treats an existing connection to the peer's runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteConnection {
    /// Use the connection that exists, if any.
    Reuse,
    /// Open a new connection, replacing the existing one without `exited` for it.
    /// Used after a failure is suspected, when the old socket may be half-dead.
    Reconnect,
}

/// The runtime as one process sees it: handed to every hook and handler.
pub struct Context<P: Process> {
    pub(crate) node: &'static Node,
    pub(crate) addr: Addr<P>,
    pub(crate) handlers: HashMap<&'static str, Handler<P>>,
    pub(crate) routes: HashMap<String, Route<P>>,
    pub(crate) stopping: bool,
    outbox: RefCell<Outbox>,
}

impl<P: Process> Context<P> {
    pub(crate) fn new(node: &'static Node, addr: Addr<P>) -> Self {
        Context {
            node,
            addr,
            handlers: HashMap::new(),
            routes: HashMap::new(),
            stopping: false,
            outbox: RefCell::new(Outbox::default()),
        }
    }

    /// Writes the remote messages sent so far; the run loop calls it after each batch
    /// of events, and sooner when much is waiting.
    pub(crate) fn flush(&mut self) {
        self.outbox.get_mut().flush(self.node);
    }

    pub(crate) fn outbox_full(&mut self) -> bool {
        self.outbox.get_mut().is_full()
    }

    /// This process's address.
    pub fn pid(&self) -> &Pid {
        &self.addr.pid
    }

    /// A typed handle to this process, for dispatching to it later.
    pub fn addr(&self) -> Addr<P> {
        self.addr.clone()
    }

    /// Installs the handler for messages named `M::NAME`. The handler receives the
    /// sender's pid (the return address: there is no `reply`) and the decoded message.
    /// Messages that fail to decode are logged, counted and dropped.
    ///
    /// # Panics
    /// When a handler for the same name is already installed: that is a bug in the
    /// process, not something a peer can cause.
    pub fn install<M, F>(&mut self, handler: F)
    where
        M: Message,
        F: Fn(&mut P, Pid, M, &mut Context<P>) + Send + Sync + 'static,
    {
        let thunk: Handler<P> = Arc::new(move |process, from, body, ctx| {
            handler(process, from, body.into_message::<M>()?, ctx);
            Ok(())
        });
        let previous = self.handlers.insert(M::NAME, thunk);
        assert!(
            previous.is_none(),
            "a handler for message '{}' is already installed in {}",
            M::NAME,
            self.pid()
        );
    }

    /// Serves an HTTP route at `/<process-id><path>`, handled inside the process
    /// between messages. `path` starts with `/`; a request whose path extends an
    /// installed route (`/files/browse/x` for `/files/browse`) goes to that route.
    ///
    /// # Panics
    /// When the path is already routed or does not start with `/`.
    pub fn route<F>(&mut self, path: &str, handler: F)
    where
        F: Fn(&mut P, Request, &mut Context<P>) -> Reply + Send + Sync + 'static,
    {
        assert!(path.starts_with('/'), "route '{path}' must start with '/'");
        let previous = self.routes.insert(path.to_owned(), Arc::new(handler));
        assert!(previous.is_none(), "route '{path}' is already installed");
    }

    /// Sends a message. Local receivers get the value itself; remote ones get it over
    /// the one connection to their runtime, in order after earlier sends to it. There
    /// is no delivery guarantee: a message to a gone process is dropped.
    pub fn send<M: Message>(&self, to: &Pid, message: M) {
        let mut outbox = self.outbox.borrow_mut();
        self.node.send(self.pid(), to, message, Some(&mut outbox));
    }

    /// Links to `to`: when it is gone, `Process::exited` is called with it. A link to
    /// a process of this runtime that does not exist, or to an address where nothing
    /// listens, yields `exited` too.
    pub fn link(&self, to: &Pid) {
        self.link_with(to, RemoteConnection::Reuse);
    }

    /// Links as `link` does, choosing what happens to an existing connection.
    pub fn link_with(&self, to: &Pid, connection: RemoteConnection) {
        self.node.link(self.pid(), to, connection);
    }

    /// Runs `f` inside this process after `duration` on the runtime's clock, unless the
    /// returned timer is cancelled first or the process is gone.
    pub fn delay<F>(&self, duration: Duration, f: F) -> Timer
    where
        F: FnOnce(&mut P, &mut Context<P>) + Send + 'static,
    {
        delay_on(duration, &self.addr, f)
    }

    /// Runs `future` off the process and then `then` inside it with the output, as an
    /// ordinary event. The world may have moved on meanwhile: `then` re-checks the
    /// state it relies on.
    pub fn defer<F, T, C>(&self, future: F, then: C)
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
        C: FnOnce(&mut P, T, &mut Context<P>) + Send + 'static,
    {
        let addr = self.addr.clone();
        self.node.handle().spawn(async move {
            let output = future.await;
            addr.enqueue_dispatch(Box::new(move |process, ctx| then(process, output, ctx)));
        });
    }

    /// Terminates this process after the current event.
    pub fn terminate(&mut self) {
        self.stopping = true;
    }
}

pub(crate) fn delay_on<P, F>(duration: Duration, addr: &Addr<P>, f: F) -> Timer
where
    P: Process,
    F: FnOnce(&mut P, &mut Context<P>) + Send + 'static,
{
    let addr = addr.clone();
    Timers::global().schedule(
        Clock::now() + duration,
        Box::new(move || {
            addr.enqueue_dispatch(Box::new(f));
        }),
    )
}

impl<P: Process> fmt::Debug for Context<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("pid", self.pid())
            .field("handlers", &self.handlers.len())
            .field("routes", &self.routes.len())
            .finish()
    }
}
