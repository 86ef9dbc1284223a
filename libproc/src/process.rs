//! The `Process` trait and `Addr`, the typed local handle to a running process.

use std::fmt;
use std::sync::Arc;

use crate::context::Context;
use crate::event::{DispatchFn, Event};
use crate::mailbox::Mailbox;
use crate::manager::Entry;
use crate::pid::Pid;

/// An actor: state plus handlers, run one event at a time.
///
/// A process's handlers are installed in `initialize`, which is where a reader finds
/// the whole protocol a process speaks. All hooks default to doing nothing.
pub trait Process: Send + Sized + 'static {
    /// Called once, before the process handles its first event. Install message
    /// handlers and HTTP routes here, link to peers, and start timers.
    fn initialize(&mut self, _ctx: &mut Context<Self>) {}

    /// Called once, after the process handled its last event, when it terminates.
    /// Not called when a handler panicked, because the state may be inconsistent.
    fn finalize(&mut self, _ctx: &mut Context<Self>) {}

    /// Called when a linked process is gone. For a process in this runtime it means
    /// the process terminated. For a remote one it means the connection to its
    /// runtime broke (peer killed, refused, reset): the peer itself may still be
    /// alive, and the link is dropped, so link again to hear of the next break.
    fn exited(&mut self, _pid: &Pid, _ctx: &mut Context<Self>) {}

    /// Called for each message from another process that has a handler, before the
    /// message is decoded: false drops it there, undecoded. As libprocess's
    /// `visit(MessageEvent)`, where Mesos's master drops every message while it does
    /// not lead or has not recovered, before parsing it: a new leader that thousands
    /// of agents rush to must not spend its time decoding what it drops.
    fn accepts_message(&mut self, _from: &Pid, _name: &str) -> bool {
        true
    }
}

/// A typed handle to a process of this runtime, as libprocess's `PID<T>`: only an
/// `Addr` can be dispatched to. It goes straight to the mailbox, without a lookup.
pub struct Addr<P: Process> {
    pub(crate) pid: Pid,
    pub(crate) mailbox: Arc<Mailbox<Event<P>>>,
    pub(crate) entry: Arc<Entry>,
}

impl<P: Process> Addr<P> {
    /// The process's untyped address, for sending messages and linking.
    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    /// Queues an event; false when the process is gone.
    pub(crate) fn enqueue(&self, event: Event<P>) -> bool {
        self.entry.enqueued();
        if self.mailbox.push(event).is_ok() {
            true
        } else {
            self.entry.handled();
            false
        }
    }

    pub(crate) fn enqueue_dispatch(&self, f: DispatchFn<P>) -> bool {
        self.enqueue(Event::Dispatch(f))
    }
}

impl<P: Process> Clone for Addr<P> {
    fn clone(&self) -> Self {
        Addr {
            pid: self.pid.clone(),
            mailbox: self.mailbox.clone(),
            entry: self.entry.clone(),
        }
    }
}

impl<P: Process> fmt::Debug for Addr<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Addr({})", self.pid)
    }
}

impl<P: Process> From<Addr<P>> for Pid {
    fn from(addr: Addr<P>) -> Pid {
        addr.pid
    }
}
