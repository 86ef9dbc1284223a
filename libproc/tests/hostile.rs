//! Hostile input thrown at a running runtime: each case is counted and dropped, and the
//! process behind it still answers afterwards.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;

use libproc::frame;
use libproc::testing::future_message;
use libproc::{Message, Pid, ProcessId};
use support::{http, metrics, start, within, Ping, Pong, Ponger};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn frame_for(from: &Pid, to: &Pid, name: &str, body: &[u8]) -> Vec<u8> {
    frame::encode::<Infallible>(from, &to.id, name, |out| {
        out.extend_from_slice(body);
        Ok(())
    })
    .unwrap()
    .to_vec()
}

fn ping_body(sequence: u64) -> Vec<u8> {
    libproc::codec::encode("ping", &Ping::new(sequence)).unwrap()
}

/// Opens a frame connection: sends `handshake`, reads the answer.
async fn connect(addr: SocketAddr, handshake: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(handshake).await.unwrap();
    let mut answer = [0u8; frame::HANDSHAKE_LEN];
    stream.read_exact(&mut answer).await.unwrap();
    assert_eq!(answer, frame::handshake());
    stream
}

/// Writes `bytes` on a fresh connection, closes its writing half, and waits until the
/// runtime closes the connection too.
async fn throw(addr: SocketAddr, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    within(
        "the runtime to close the connection",
        stream.read_to_end(&mut rest),
    )
    .await
    .ok();
}

/// Proves the ponger still answers a well-formed frame over a new connection.
async fn still_answers(addr: SocketAddr, ponger: &Pid, sequence: u64) {
    let recorder = libproc::spawn(Ponger, ProcessId::generate("recorder")).unwrap();
    let pong = future_message::<Pong>(ponger, recorder.pid());
    let mut stream = connect(addr, &frame::handshake()).await;
    let frame = frame_for(recorder.pid(), ponger, Ping::NAME, &ping_body(sequence));
    stream.write_all(&frame).await.unwrap();
    assert_eq!(within("a pong", pong).await, Pong { sequence });
    libproc::terminate(recorder.pid());
}

fn spawn_ponger() -> Pid {
    let ponger = libproc::spawn(Ponger, ProcessId::generate("ponger")).unwrap();
    ponger.pid().clone()
}

async fn counter(addr: SocketAddr, key: &str) -> u64 {
    metrics(addr).await[key].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn each_hostile_input_is_counted_and_dropped_and_the_process_still_answers() {
    let addr = start();
    let ponger = spawn_ponger();
    let stranger: Pid = "stranger@127.0.0.1:1".parse().unwrap();
    let handshake = frame::handshake().to_vec();
    let with_handshake = |rest: &[u8]| [handshake.as_slice(), rest].concat();
    let mut wrong_version = frame::handshake();
    wrong_version[7] = 99;

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "garbage bytes",
            b"\x00\x01\x02garbage\r\n\r\n".to_vec(),
            "libproc/http_invalid",
        ),
        (
            "garbage after the handshake",
            with_handshake(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3]),
            "libproc/frames_invalid",
        ),
        (
            "a truncated frame",
            with_handshake(&frame_for(&stranger, &ponger, "x", b"abc")[..9]),
            "libproc/frames_invalid",
        ),
        (
            "a 4 GiB length prefix",
            with_handshake(&[0xff, 0xff, 0xff, 0xff]),
            "libproc/frames_invalid",
        ),
        (
            "a wrong handshake version",
            wrong_version.to_vec(),
            "libproc/handshakes_rejected",
        ),
        (
            "an unknown message name",
            with_handshake(&frame_for(&stranger, &ponger, "no.such.Message", b"")),
            "libproc/messages_dropped",
        ),
        (
            "an undecodable body",
            with_handshake(&frame_for(&stranger, &ponger, Ping::NAME, &[0xff; 12])),
            "libproc/messages_undecodable",
        ),
        (
            "a message to no process",
            with_handshake(&frame_for(
                &stranger,
                &Pid::new("nobody", addr),
                Ping::NAME,
                &ping_body(0),
            )),
            "libproc/messages_dropped",
        ),
        (
            "a malformed envelope",
            with_handshake(&[0, 0, 0, 4, 0, 9, b'x', b'@']),
            "libproc/frames_invalid",
        ),
    ];
    for (sequence, (case, bytes, metric)) in cases.into_iter().enumerate() {
        let before = counter(addr, metric).await;
        throw(addr, &bytes).await;
        within(case, async {
            while counter(addr, metric).await <= before {
                tokio::task::yield_now().await;
            }
        })
        .await;
        still_answers(addr, &ponger, sequence as u64).await;
    }

    let before = counter(addr, "libproc/http_not_found").await;
    assert_eq!(http(addr, "GET", "/nobody/../state", b"").await.0, 404);
    assert!(counter(addr, "libproc/http_not_found").await > before);
    still_answers(addr, &ponger, 100).await;
}

#[tokio::test]
async fn a_bad_envelope_does_not_lose_the_frames_after_it() {
    let addr = start();
    let ponger = spawn_ponger();
    let recorder = libproc::spawn(Ponger, ProcessId::generate("recorder")).unwrap();
    let pong = future_message::<Pong>(&ponger, recorder.pid());
    let mut stream = connect(addr, &frame::handshake()).await;
    stream.write_all(&[0, 0, 0, 3, 0, 200, 1]).await.unwrap();
    let frame = frame_for(recorder.pid(), &ponger, Ping::NAME, &ping_body(5));
    stream.write_all(&frame).await.unwrap();
    assert_eq!(
        within("the pong after a bad frame", pong).await,
        Pong { sequence: 5 }
    );
}

/// Counts its own decodings, to tell whether a message was decoded at all.
#[derive(Debug, serde::Serialize)]
struct Counted(u64);

static DECODED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl<'de> serde::Deserialize<'de> for Counted {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        DECODED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        u64::deserialize(deserializer).map(Counted)
    }
}

impl Message for Counted {
    const NAME: &'static str = "libproc.tests.Counted";
}

/// Lets messages through only while open; reports what it refused and handled.
struct Gate {
    open: bool,
    events: tokio::sync::mpsc::UnboundedSender<String>,
}

impl libproc::Process for Gate {
    fn initialize(&mut self, ctx: &mut libproc::Context<Self>) {
        ctx.install(
            |gate: &mut Gate, _from: Pid, counted: Counted, _ctx: &mut libproc::Context<Gate>| {
                let _ = gate.events.send(format!("handled {}", counted.0));
            },
        );
    }

    fn accepts_message(&mut self, _from: &Pid, name: &str) -> bool {
        if !self.open {
            let _ = self.events.send(format!("refused {name}"));
        }
        self.open
    }
}

#[tokio::test]
async fn a_refused_message_is_dropped_before_it_is_decoded() {
    let addr = start();
    let (events, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let gate = libproc::spawn(
        Gate {
            open: false,
            events,
        },
        ProcessId::generate("gate"),
    )
    .unwrap();
    let stranger = Pid::new("stranger", addr);
    let counted = |n| libproc::codec::encode(Counted::NAME, &Counted(n)).unwrap();
    let mut stream = connect(addr, &frame::handshake()).await;

    stream
        .write_all(&frame_for(
            &stranger,
            gate.pid(),
            Counted::NAME,
            &counted(1),
        ))
        .await
        .unwrap();
    let refused = within("the refusal", seen.recv()).await.unwrap();
    assert_eq!(refused, format!("refused {}", Counted::NAME));
    assert_eq!(DECODED.load(std::sync::atomic::Ordering::SeqCst), 0);

    libproc::dispatch(&gate, |gate, _| gate.open = true)
        .await
        .unwrap();
    stream
        .write_all(&frame_for(
            &stranger,
            gate.pid(),
            Counted::NAME,
            &counted(2),
        ))
        .await
        .unwrap();
    assert_eq!(
        within("the handling", seen.recv()).await.unwrap(),
        "handled 2"
    );
    assert_eq!(DECODED.load(std::sync::atomic::Ordering::SeqCst), 1);
    libproc::terminate(gate.pid());
}
