//! libproc: an actor runtime in the image of Mesos's libprocess.
//!
//! A *process* is state plus handlers, run one event at a time. Processes are named by
//! a [`Pid`] (`id@ip:port`), exchange typed [`Message`]s locally or across the network,
//! [`Context::link`] to each other to hear when a peer is gone, schedule
//! [`Context::delay`]ed work on a clock that tests can pause, and serve HTTP routes on
//! the runtime's one port.
//!
//! ```
//! use libproc::{Context, Message, Pid, Process, ProcessId};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Ping(u32);
//! impl Message for Ping {
//!     const NAME: &'static str = "example.Ping";
//! }
//!
//! #[derive(Serialize, Deserialize)]
//! struct Pong(u32);
//! impl Message for Pong {
//!     const NAME: &'static str = "example.Pong";
//! }
//!
//! /// Answers every ping with a pong.
//! struct Ponger;
//! impl Process for Ponger {
//!     fn initialize(&mut self, ctx: &mut Context<Self>) {
//!         ctx.install(|_: &mut Self, from: Pid, Ping(n), ctx: &mut Context<Self>| {
//!             ctx.send(&from, Pong(n));
//!         });
//!     }
//! }
//!
//! /// Pings until it has three pongs, then terminates.
//! struct Pinger {
//!     ponger: Pid,
//!     pongs: u32,
//! }
//! impl Process for Pinger {
//!     fn initialize(&mut self, ctx: &mut Context<Self>) {
//!         ctx.install(|this: &mut Self, from: Pid, Pong(_): Pong, ctx: &mut Context<Self>| {
//!             this.pongs += 1;
//!             if this.pongs == 3 {
//!                 ctx.terminate();
//!             } else {
//!                 ctx.send(&from, Ping(this.pongs));
//!             }
//!         });
//!         ctx.send(&self.ponger, Ping(0));
//!     }
//! }
//!
//! let ponger = libproc::spawn(Ponger, ProcessId::generate("ponger")).unwrap();
//! let pinger = Pinger { ponger: ponger.pid().clone(), pongs: 0 };
//! let pinger = libproc::spawn(pinger, ProcessId::generate("pinger")).unwrap();
//! libproc::Runtime::block_on(libproc::wait(pinger.pid()));
//! libproc::terminate(ponger.pid());
//! ```
//!
//! Layout: [`pid`] (identity), [`message`] and [`codec`] (what travels), `process`,
//! `context` and `manager` (processes and their run loop), [`clock`] (time and timers),
//! [`http`] (routes), [`frame`] (the wire format between runtimes), and
//! [`testing`] (filters, with feature `testing`).

#![warn(missing_docs)]

pub mod clock;
pub mod codec;
mod context;
mod event;
pub mod http;
mod mailbox;
mod manager;
pub mod message;
mod metrics;
pub mod pid;
mod process;
mod runtime;
#[cfg(feature = "testing")]
pub mod testing;
mod transport;

use std::time::Duration;

pub use clock::{Clock, Timer};
pub use context::{Context, RemoteConnection};
pub use manager::{dispatch, spawn, terminate, wait, ProcessGone, SpawnError};
pub use message::Message;
pub use metrics::snapshot as metrics_snapshot;
pub use pid::{ParsePidError, Pid, ProcessId};
pub use process::{Addr, Process};
pub use runtime::{Config, ConfigError, Runtime, StartError};
pub use transport::frame;

/// Sends a message from outside any process. The receiver sees the sender
/// `anonymous@<this runtime>`, which answers nothing.
pub fn post<M: Message>(to: &Pid, message: M) -> Result<(), StartError> {
    let node = runtime::node_or_start()?;
    let from = Pid::new("anonymous", node.address());
    node.send(&from, to, message, None);
    Ok(())
}

/// How a daemon's main process ended, as `run_until_interrupted` saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The process terminated by itself.
    ByItself,
    /// Ctrl-C or SIGTERM arrived; the process was terminated and has finished.
    Interrupted,
}

/// Blocks until the process terminates, or until Ctrl-C or SIGTERM, which terminate it
/// first and wait for it to finish. This is a daemon's `main` loop.
pub fn run_until_interrupted(pid: &Pid) -> std::io::Result<Stopped> {
    Runtime::block_on(async {
        let mut sigterm =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = wait(pid) => Ok(Stopped::ByItself),
            signal = tokio::signal::ctrl_c() => signal.map(|()| Stopped::Interrupted),
            _ = sigterm.recv() => Ok(Stopped::Interrupted),
        }
    })
    .inspect(|stopped| {
        if *stopped == Stopped::Interrupted {
            terminate(pid);
            Runtime::block_on(wait(pid));
        }
    })
}

/// Runs `f` inside the process behind `addr` after `duration`, as `Context::delay`.
pub fn delay<P, F>(duration: Duration, addr: &Addr<P>, f: F) -> Timer
where
    P: Process,
    F: FnOnce(&mut P, &mut Context<P>) + Send + 'static,
{
    context::delay_on(duration, addr, f)
}
