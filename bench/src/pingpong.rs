//! The ping-pong processes shared by the libproc workloads: a server that answers each
//! ping with a pong carrying the same payload, and a client that keeps a window of
//! pings in flight until it has its pongs (libprocess's benchmark clients).

use std::time::Instant;

use libproc::{Context, Message, Pid, Process};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// A request; the payload is empty in the throughput workload.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Ping {
    pub(crate) payload: Vec<u8>,
}

impl Message for Ping {
    const NAME: &'static str = "mesos.bench.Ping";
}

/// The answer to a ping.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Pong {
    pub(crate) payload: Vec<u8>,
}

impl Message for Pong {
    const NAME: &'static str = "mesos.bench.Pong";
}

/// Answers pings.
#[derive(Debug)]
pub(crate) struct Server;

impl Process for Server {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // From clients.
        ctx.install(
            |_: &mut Self, from: Pid, ping: Ping, ctx: &mut Context<Self>| {
                ctx.send(
                    &from,
                    Pong {
                        payload: ping.payload,
                    },
                );
            },
        );
    }
}

/// What a client reports when it has all its pongs.
#[derive(Debug)]
pub(crate) struct Finished {
    /// Round trips, when the client ran with one ping in flight.
    pub(crate) round_trips: Vec<f64>,
}

/// Sends `total` pings to `server`, at most `window` in flight.
#[derive(Debug)]
pub(crate) struct Client {
    server: Pid,
    total: u64,
    window: u64,
    payload: Vec<u8>,
    sent: u64,
    received: u64,
    last_sent: Instant,
    round_trips: Vec<f64>,
    done: Option<oneshot::Sender<Finished>>,
}

impl Client {
    pub(crate) fn new(
        server: Pid,
        total: u64,
        window: u64,
        payload: Vec<u8>,
    ) -> (Self, oneshot::Receiver<Finished>) {
        let (done, finished) = oneshot::channel();
        let client = Client {
            server,
            total,
            window: window.max(1),
            payload,
            sent: 0,
            received: 0,
            last_sent: Instant::now(),
            round_trips: Vec::new(),
            done: Some(done),
        };
        (client, finished)
    }

    /// Starts the run: fills the window.
    pub(crate) fn start(&mut self, ctx: &mut Context<Self>) {
        while self.sent < self.total.min(self.window) {
            self.send(ctx);
        }
    }

    fn send(&mut self, ctx: &mut Context<Self>) {
        self.last_sent = Instant::now();
        ctx.send(
            &self.server,
            Ping {
                payload: self.payload.clone(),
            },
        );
        self.sent += 1;
    }

    fn pong(&mut self, _from: Pid, _pong: Pong, ctx: &mut Context<Self>) {
        self.received += 1;
        if self.window == 1 {
            self.round_trips
                .push(self.last_sent.elapsed().as_secs_f64());
        }
        if self.sent < self.total {
            self.send(ctx);
        } else if self.received >= self.total {
            if let Some(done) = self.done.take() {
                let round_trips = std::mem::take(&mut self.round_trips);
                let _ = done.send(Finished { round_trips });
            }
        }
    }
}

impl Process for Client {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // From the server.
        ctx.install(Client::pong);
    }
}
