//! Runtimes in separate OS processes: ordered exchange, `exited` on a killed peer or an
//! address where nothing listens, and reconnection to a restarted peer.

mod support;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use libproc::testing::future_message;
use libproc::{Addr, Pid, ProcessId, RemoteConnection};
use support::{spawn_linker, start, within, within_for, Linker, Ping, Pong, Ponger};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

const PINGPONG: &str = env!("CARGO_BIN_EXE_libproc-pingpong");

/// A `libproc-pingpong pong` OS process, killed when dropped.
struct Peer {
    child: Child,
    pid: Pid,
}

async fn start_peer(port: u16) -> Peer {
    let mut child = Command::new(PINGPONG)
        .arg("pong")
        .env("LIBPROCESS_IP", "127.0.0.1")
        .env("LIBPROCESS_PORT", port.to_string())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start libproc-pingpong");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    within(
        "the peer's pid",
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("read the peer's pid");
    let pid = line
        .trim()
        .strip_prefix("PID ")
        .unwrap_or_else(|| panic!("the peer said {line:?}"))
        .parse()
        .expect("the peer's pid parses");
    Peer { child, pid }
}

impl Peer {
    async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL the peer");
        self.child.wait().await.expect("reap the peer");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Runs `libproc-pingpong ping` against `peer` and checks that every pong came back in
/// order.
async fn ping_from_another_os_process(peer: &Peer, count: u64, payload: usize) {
    let output = within(
        "the pinger",
        Command::new(PINGPONG)
            .args([
                "ping",
                &peer.pid.to_string(),
                &count.to_string(),
                &payload.to_string(),
            ])
            .env("LIBPROCESS_IP", "127.0.0.1")
            .output(),
    )
    .await
    .expect("run the pinger");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pinger failed: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("{count} pings answered in order")),
        "{stdout}"
    );
}

#[tokio::test]
async fn two_os_processes_exchange_100_000_messages_in_order() {
    let peer = start_peer(0).await;
    ping_from_another_os_process(&peer, 100_000, 0).await;
    peer.kill().await;
}

#[tokio::test]
async fn large_messages_that_fill_the_socket_keep_their_order() {
    let peer = start_peer(0).await;
    // 1,200 pings of 32 KiB, 1,000 in flight: far more than a socket buffer holds, so
    // senders queue behind the writer and partial writes happen.
    ping_from_another_os_process(&peer, 1200, 32 * 1024).await;
    peer.kill().await;
}

#[tokio::test]
async fn killing_a_peer_gives_exited_to_its_linker_within_one_second() {
    start();
    let peer = start_peer(0).await;
    let peer_pid = peer.pid.clone();
    let mut exited = spawn_linker(&peer_pid);
    // A ping answered proves the link's connection is up before the kill.
    let recorder = libproc::spawn(Ponger, ProcessId::generate("recorder")).unwrap();
    assert_eq!(ping(&recorder, &peer_pid, 1).await, Pong { sequence: 1 });

    peer.kill().await;
    let killed = Instant::now();
    let pid = within_for(
        Duration::from_secs(1),
        "exited after kill -9",
        exited.recv(),
    )
    .await;
    assert_eq!(pid, Some(peer_pid));
    println!(
        "exited arrived {:?} after the peer was reaped",
        killed.elapsed()
    );
}

#[tokio::test]
async fn linking_to_an_address_where_nothing_listens_gives_exited() {
    start();
    let nowhere = Pid::new("pong", SocketAddr::from(([127, 0, 0, 1], free_port())));
    let mut exited = spawn_linker(&nowhere);
    assert_eq!(within("exited", exited.recv()).await, Some(nowhere));
}

/// Pings `peer` from `recorder` and returns the pong.
async fn ping(recorder: &Addr<Ponger>, peer: &Pid, sequence: u64) -> Pong {
    let pong = future_message::<Pong>(peer, recorder.pid());
    let to = peer.clone();
    libproc::dispatch(recorder, move |_, ctx| ctx.send(&to, Ping::new(sequence)))
        .await
        .unwrap();
    within("a pong", pong).await
}

#[tokio::test]
async fn a_restarted_peer_on_the_same_address_is_reachable_again() {
    start();
    let port = free_port();
    let recorder = libproc::spawn(Ponger, ProcessId::generate("recorder")).unwrap();

    let first = start_peer(port).await;
    assert_eq!(ping(&recorder, &first.pid, 1).await, Pong { sequence: 1 });
    let mut exited = spawn_linker(&first.pid);
    let old = first.pid.clone();
    first.kill().await;
    assert_eq!(within("exited", exited.recv()).await, Some(old.clone()));

    let second = start_peer(port).await;
    assert_eq!(second.pid, old, "same address, same pid");
    assert_eq!(ping(&recorder, &second.pid, 2).await, Pong { sequence: 2 });
    second.kill().await;
}

#[tokio::test]
async fn reconnecting_a_link_replaces_its_connection_without_exited() {
    start();
    let peer = start_peer(0).await;
    let peer_pid = peer.pid.clone();
    let recorder = libproc::spawn(Ponger, ProcessId::generate("recorder")).unwrap();
    let (tx, mut exited) = mpsc::unbounded_channel();
    let linker = Linker {
        to: peer_pid.clone(),
        exited: tx,
    };
    let linker = libproc::spawn(linker, ProcessId::generate("linker")).unwrap();
    assert_eq!(ping(&recorder, &peer_pid, 1).await, Pong { sequence: 1 });

    let to = peer_pid.clone();
    libproc::dispatch(&linker, move |_, ctx| {
        ctx.link_with(&to, RemoteConnection::Reconnect)
    })
    .await
    .unwrap();
    // The new connection carries messages; the old one closed without an `exited`.
    assert_eq!(ping(&recorder, &peer_pid, 2).await, Pong { sequence: 2 });
    assert!(
        exited.try_recv().is_err(),
        "the replaced connection reported exited"
    );

    peer.kill().await;
    assert_eq!(within("exited", exited.recv()).await, Some(peer_pid));
    assert!(exited.try_recv().is_err(), "exited reported twice");
}
