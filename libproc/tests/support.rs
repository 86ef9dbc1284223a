//! Shared pieces of libproc's tests: the runtime, deadlines, raw HTTP, and a ponger.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use libproc::{Config, Context, Message, Pid, Process, ProcessId, Runtime, StartError};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The process that serves HTTP paths naming no process, in these tests.
pub const DELEGATE: &str = "delegate";

/// Starts this test binary's runtime once (tests may share the OS process).
pub fn start() -> SocketAddr {
    let config = Config {
        delegate: Some(DELEGATE.into()),
        max_frame_size: 1024 * 1024,
        ..Config::default()
    };
    match Runtime::start(config) {
        Ok(addr) | Err(StartError::AlreadyStarted(addr)) => addr,
        Err(e) => panic!("the runtime did not start: {e}"),
    }
}

/// Awaits `future`, failing the test with `what` after a generous deadline.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    within_for(Duration::from_secs(20), what, future).await
}

/// Awaits `future`, failing the test with `what` after `deadline`.
pub async fn within_for<T>(deadline: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(deadline, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {deadline:?} waiting for {what}"))
}

/// Sends one raw HTTP/1.1 request and returns the status code and body.
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect for HTTP");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("write request");
    stream.write_all(body).await.expect("write body");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("read response");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `GET /metrics/snapshot` as JSON.
pub async fn metrics(addr: SocketAddr) -> serde_json::Value {
    let (status, body) = http(addr, "GET", "/metrics/snapshot", b"").await;
    assert_eq!(status, 200);
    serde_json::from_str(&body).expect("the snapshot is JSON")
}

/// The same messages as the `libproc-pingpong` peer speaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ping {
    pub sequence: u64,
    pub payload: Vec<u8>,
}

impl Ping {
    pub fn new(sequence: u64) -> Self {
        Ping {
            sequence,
            payload: Vec::new(),
        }
    }
}

impl Message for Ping {
    const NAME: &'static str = "libproc.examples.Ping";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pong {
    pub sequence: u64,
}

impl Message for Pong {
    const NAME: &'static str = "libproc.examples.Pong";
}

/// Answers pings.
pub struct Ponger;

impl Process for Ponger {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install(
            |_: &mut Self, from: Pid, ping: Ping, ctx: &mut Context<Self>| {
                ctx.send(
                    &from,
                    Pong {
                        sequence: ping.sequence,
                    },
                );
            },
        );
    }
}

/// Links to a pid on start and reports every `exited`.
pub struct Linker {
    pub to: Pid,
    pub exited: mpsc::UnboundedSender<Pid>,
}

impl Process for Linker {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.link(&self.to);
    }

    fn exited(&mut self, pid: &Pid, _ctx: &mut Context<Self>) {
        let _ = self.exited.send(pid.clone());
    }
}

pub fn spawn_linker(to: &Pid) -> mpsc::UnboundedReceiver<Pid> {
    let (exited, rx) = mpsc::unbounded_channel();
    let linker = Linker {
        to: to.clone(),
        exited,
    };
    libproc::spawn(linker, ProcessId::generate("linker")).unwrap();
    rx
}
