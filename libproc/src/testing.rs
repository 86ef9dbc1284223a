//! Tools for tests (feature `testing`): message and `exited` filters, to await or drop
//! a given message between given pids, as libprocess's `filter.hpp` and `gmock.hpp`
//! do. The clock's controls (`Clock::pause`, `advance`, `resume`, `settle`) come with
//! the same feature.
//!
//! Filters see every message this runtime delivers to its processes, and every message
//! its processes send to other runtimes. A filter is installed when the function is
//! called, not when its future is first polled, so install it before causing the
//! message.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::codec;
use crate::event::Raw;
use crate::message::Message;
use crate::pid::Pid;
use crate::transport::frame::Envelope;

/// Which pid a filter accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// Any pid.
    Any,
    /// Exactly this pid.
    Pid(Pid),
}

impl Match {
    fn accepts(&self, pid: &Pid) -> bool {
        match self {
            Match::Any => true,
            Match::Pid(expected) => expected == pid,
        }
    }
}

impl From<&Pid> for Match {
    fn from(pid: &Pid) -> Self {
        Match::Pid(pid.clone())
    }
}

impl From<Pid> for Match {
    fn from(pid: Pid) -> Self {
        Match::Pid(pid)
    }
}

enum Action {
    /// Hand a copy of the message to the test and let it pass.
    Capture(oneshot::Sender<Bytes>),
    /// Drop the message, once.
    DropOnce(oneshot::Sender<()>),
    /// Drop every such message until the guard is dropped.
    DropAll,
}

struct MessageFilter {
    id: u64,
    name: &'static str,
    from: Match,
    to: Match,
    action: Action,
}

struct ExitedFilter {
    id: u64,
    from: Match,
    to: Match,
    seen: oneshot::Sender<()>,
}

#[derive(Default)]
struct Filters {
    messages: Vec<MessageFilter>,
    exited: Vec<ExitedFilter>,
}

/// What a filter resolves to. It borrows nothing, so the pids may go out of scope; and
/// dropping it removes its filter, so that an abandoned filter cannot take a later
/// message.
pub struct Filtered<T> {
    future: Pin<Box<dyn Future<Output = T> + Send + 'static>>,
    _filter: DropGuard,
}

impl<T> Future for Filtered<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<T> {
        self.future.as_mut().poll(cx)
    }
}

impl<T> std::fmt::Debug for Filtered<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filtered")
            .field("filter", &self._filter.id)
            .finish()
    }
}

fn filtered<T>(id: u64, future: impl Future<Output = T> + Send + 'static) -> Filtered<T> {
    Filtered {
        future: Box::pin(future),
        _filter: DropGuard { id },
    }
}

static ACTIVE: AtomicBool = AtomicBool::new(false);
static FILTERS: Mutex<Filters> = Mutex::new(Filters {
    messages: Vec::new(),
    exited: Vec::new(),
});
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn filters() -> MutexGuard<'static, Filters> {
    FILTERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn update_active(filters: &Filters) {
    let active = !filters.messages.is_empty() || !filters.exited.is_empty();
    ACTIVE.store(active, Ordering::Release);
}

fn add_message_filter(name: &'static str, from: Match, to: Match, action: Action) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut filters = filters();
    filters.messages.push(MessageFilter {
        id,
        name,
        from,
        to,
        action,
    });
    update_active(&filters);
    id
}

/// Resolves with the next message `M` from `from` to `to` when it passes; the message
/// is still delivered.
///
/// # Panics
/// The future panics if the filter is torn down or the body does not decode as `M`.
pub fn future_message<M: Message>(from: impl Into<Match>, to: impl Into<Match>) -> Filtered<M> {
    let (tx, rx) = oneshot::channel();
    let id = add_message_filter(M::NAME, from.into(), to.into(), Action::Capture(tx));
    filtered(id, async move {
        let bytes = rx.await.expect("message filter torn down");
        codec::decode(M::NAME, &bytes).expect("captured message decodes")
    })
}

/// Drops the next message `M` from `from` to `to`, and resolves when it did.
pub fn drop_message<M: Message>(from: impl Into<Match>, to: impl Into<Match>) -> Filtered<()> {
    let (tx, rx) = oneshot::channel();
    let id = add_message_filter(M::NAME, from.into(), to.into(), Action::DropOnce(tx));
    filtered(id, async move {
        rx.await.expect("message filter torn down");
    })
}

/// Drops every message `M` from `from` to `to` until the guard is dropped.
#[must_use = "the filter is removed when the guard is dropped"]
pub fn drop_messages<M: Message>(from: impl Into<Match>, to: impl Into<Match>) -> DropGuard {
    DropGuard {
        id: add_message_filter(M::NAME, from.into(), to.into(), Action::DropAll),
    }
}

/// Removes a filter when dropped.
#[derive(Debug)]
pub struct DropGuard {
    id: u64,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        let mut filters = filters();
        filters.messages.retain(|filter| filter.id != self.id);
        filters.exited.retain(|filter| filter.id != self.id);
        update_active(&filters);
    }
}

/// Resolves when `to` is told that `from` exited.
pub fn future_exited(from: impl Into<Match>, to: impl Into<Match>) -> Filtered<()> {
    let (seen, rx) = oneshot::channel();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    {
        let mut filters = filters();
        filters.exited.push(ExitedFilter {
            id,
            from: from.into(),
            to: to.into(),
            seen,
        });
        update_active(&filters);
    }
    filtered(id, async move {
        rx.await.expect("exited filter torn down");
    })
}

/// Applies the filters to an event about to be delivered to `to`; true drops it.
pub(crate) fn intercept(to: &Pid, event: &Raw) -> bool {
    if !ACTIVE.load(Ordering::Acquire) {
        return false;
    }
    match event {
        Raw::Message { from, name, body } => apply(from, to, name, || body.to_bytes()),
        Raw::Exited(from) => {
            let mut filters = filters();
            let matching = filters
                .exited
                .iter()
                .position(|f| f.from.accepts(from) && f.to.accepts(to));
            if let Some(index) = matching {
                let _ = filters.exited.remove(index).seen.send(());
                update_active(&filters);
            }
            false
        }
        Raw::Http(_) => false,
    }
}

/// Applies the filters to a frame about to leave for another runtime; true drops it.
pub(crate) fn intercept_outgoing(from: &Pid, to: &Pid, name: &str, frame: &Bytes) -> bool {
    if !ACTIVE.load(Ordering::Acquire) {
        return false;
    }
    apply(from, to, name, || {
        Envelope::decode(frame.slice(4..))
            .ok()
            .map(|envelope| envelope.body)
    })
}

fn apply(from: &Pid, to: &Pid, name: &str, body: impl FnOnce() -> Option<Bytes>) -> bool {
    let mut filters = filters();
    let Some(index) = filters
        .messages
        .iter()
        .position(|f| f.name == name && f.from.accepts(from) && f.to.accepts(to))
    else {
        return false;
    };
    let dropped = match &filters.messages[index].action {
        Action::DropAll => return true,
        Action::Capture(_) => false,
        Action::DropOnce(_) => true,
    };
    match filters.messages.remove(index).action {
        Action::Capture(tx) => {
            if let Some(bytes) = body() {
                let _ = tx.send(bytes);
            }
        }
        Action::DropOnce(tx) => {
            let _ = tx.send(());
        }
        Action::DropAll => {}
    }
    update_active(&filters);
    dropped
}
