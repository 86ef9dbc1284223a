//! One persistent outbound connection per peer runtime, shared by every local process,
//! and the links that watch it.
//!
//! Frames to a peer are written in order, so messages from one sender to one receiver
//! keep their order. A sender writes straight to the socket from its own thread when
//! the socket is idle and accepts the bytes at once; otherwise the bytes queue, and the
//! connection's writer task drains the queue. This saves a hand-over between threads
//! on every message, which is most of a round trip's cost.
//!
//! When the connection cannot be opened or breaks (EOF, reset, refused, timeout), every
//! local process linked to a pid at that address gets `exited` for it, the links are
//! dropped, queued bytes are lost (there is no delivery guarantee, as in libprocess) and
//! the next send opens a new connection.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::context::RemoteConnection;
use crate::event::Raw;
use crate::metrics;
use crate::pid::Pid;
use crate::runtime::Node;
use crate::transport::frame;

/// Frames a process sent while handling its current events, by peer, written when the
/// batch ends or grows past `Outbox::FLUSH_BYTES`, so that a burst of sends costs one
/// write per peer instead of one per message.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    frames: Vec<(SocketAddr, Bytes)>,
    bytes: usize,
}

impl Outbox {
    /// Past this many bytes, the outbox is written before the batch ends.
    pub(crate) const FLUSH_BYTES: usize = 64 * 1024;

    pub(crate) fn push(&mut self, addr: SocketAddr, frame: Bytes) {
        self.bytes += frame.len();
        self.frames.push((addr, frame));
    }

    pub(crate) fn is_full(&self) -> bool {
        self.bytes >= Self::FLUSH_BYTES
    }

    /// Writes every frame, grouping consecutive frames to one peer into one write.
    pub(crate) fn flush(&mut self, node: &'static Node) {
        let mut frames = std::mem::take(&mut self.frames).into_iter().peekable();
        self.bytes = 0;
        while let Some((addr, first)) = frames.next() {
            if frames.peek().is_none_or(|(next, _)| *next != addr) {
                node.sockets().send(node, addr, first);
                continue;
            }
            let mut joined = BytesMut::from(&first[..]);
            while let Some((_, frame)) = frames.next_if(|(next, _)| *next == addr) {
                joined.extend_from_slice(&frame);
            }
            node.sockets().send(node, addr, joined.freeze());
        }
    }
}

/// The outbound connections of this runtime.
#[derive(Default)]
pub(crate) struct SocketManager {
    peers: Mutex<HashMap<SocketAddr, Arc<Peer>>>,
    generation: AtomicU64,
}

/// One peer runtime's connection: its outbound bytes and the links that watch it.
struct Peer {
    generation: u64,
    out: Mutex<Outbound>,
    /// Wakes the writer task: bytes queued, or the connection closed.
    wake: Notify,
    links: Mutex<Links>,
}

#[derive(Default)]
struct Outbound {
    /// The socket, once connected and past the handshake.
    socket: Option<Arc<OwnedWriteHalf>>,
    /// Bytes waiting for the writer task, in order.
    pending: BytesMut,
    /// The writer task holds bytes it took from `pending` and has not written yet.
    writing: bool,
    /// The connection was replaced; the writer task ends quietly.
    closed: bool,
}

#[derive(Default)]
struct Links {
    broken: bool,
    /// Each local linker's remote linkees: a master links to every agent, so adding
    /// a link and forgetting a linker must not scan them all.
    linkees: HashMap<Pid, HashSet<Pid>>,
}

impl Peer {
    fn out(&self) -> MutexGuard<'_, Outbound> {
        self.out
            .lock()
            .expect("the outbound lock is never poisoned")
    }

    fn links(&self) -> MutexGuard<'_, Links> {
        self.links.lock().expect("the links lock is never poisoned")
    }

    /// Writes `bytes` now if the socket is idle and takes them all, else queues them.
    fn send(&self, bytes: Bytes) {
        let mut out = self.out();
        let rest = match &out.socket {
            Some(socket) if !out.writing && out.pending.is_empty() => {
                match socket.try_write(&bytes) {
                    Ok(written) if written == bytes.len() => return,
                    Ok(written) => bytes.slice(written..),
                    // Would block, or failed: the writer task waits or sees the error.
                    Err(_) => bytes,
                }
            }
            _ => bytes,
        };
        out.pending.extend_from_slice(&rest);
        drop(out);
        self.wake.notify_one();
    }

    /// Adds a link unless the connection already broke.
    fn add_link(&self, linker: &Pid, linkee: &Pid) -> bool {
        let mut links = self.links();
        if links.broken {
            return false;
        }
        links
            .linkees
            .entry(linker.clone())
            .or_default()
            .insert(linkee.clone());
        true
    }

    fn take_links(&self) -> HashMap<Pid, HashSet<Pid>> {
        let mut links = self.links();
        links.broken = true;
        std::mem::take(&mut links.linkees)
    }
}

impl SocketManager {
    fn peers(&self) -> MutexGuard<'_, HashMap<SocketAddr, Arc<Peer>>> {
        self.peers.lock().expect("the peers lock is never poisoned")
    }

    /// Sends bytes (whole frames) on the connection to `addr`, opening it if needed.
    pub(crate) fn send(&self, node: &'static Node, addr: SocketAddr, bytes: Bytes) {
        self.peer(node, addr, false).send(bytes);
    }

    /// Watches the connection to `to`'s runtime on behalf of `linker`.
    pub(crate) fn link(
        &self,
        node: &'static Node,
        linker: &Pid,
        to: &Pid,
        connection: RemoteConnection,
    ) {
        let mut replace = connection == RemoteConnection::Reconnect;
        // A connection may break between the lookup and adding the link; then the
        // link goes on a fresh connection, so that its break is not missed.
        while !self.peer(node, to.addr, replace).add_link(linker, to) {
            replace = false;
        }
    }

    /// Drops the links of a process that terminated.
    pub(crate) fn forget_linker(&self, linker: &Pid) {
        for peer in self.peers().values() {
            peer.links().linkees.remove(linker);
        }
    }

    /// The connection to `addr`, or a new one (always new when `replace`; the old one
    /// then closes quietly and its links move to the new one).
    fn peer(&self, node: &'static Node, addr: SocketAddr, replace: bool) -> Arc<Peer> {
        let mut peers = self.peers();
        if !replace {
            if let Some(peer) = peers.get(&addr) {
                return peer.clone();
            }
        }
        let peer = Arc::new(Peer {
            generation: self.generation.fetch_add(1, Ordering::Relaxed),
            out: Mutex::new(Outbound::default()),
            wake: Notify::new(),
            links: Mutex::new(Links::default()),
        });
        if let Some(old) = peers.insert(addr, peer.clone()) {
            peer.links().linkees = old.take_links();
            old.out().closed = true;
            old.wake.notify_one();
        }
        node.handle()
            .spawn(run_connection(node, addr, peer.clone()));
        peer
    }

    /// Called when a connection ended: if it is still the current one for `addr`, tell
    /// its linkers. A connection that was replaced ends quietly.
    fn ended(&self, node: &Node, addr: SocketAddr, generation: u64) {
        let peer = {
            let mut peers = self.peers();
            match peers.get(&addr) {
                Some(peer) if peer.generation == generation => peers.remove(&addr),
                _ => None,
            }
        };
        let Some(peer) = peer else {
            return;
        };
        for (linker, linkees) in peer.take_links() {
            for linkee in linkees {
                metrics::link_exited();
                node.deliver(&linker, Raw::Exited(linkee));
            }
        }
    }
}

impl fmt::Debug for SocketManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketManager")
            .field("peers", &self.peers().len())
            .finish()
    }
}

/// The writer task of one connection: connects, then writes what senders queued.
async fn run_connection(node: &'static Node, addr: SocketAddr, peer: Arc<Peer>) {
    match connect_and_write(node, addr, &peer).await {
        Ok(()) => tracing::debug!(%addr, "Connection closed after being replaced"),
        Err(reason) => tracing::info!(%addr, %reason, "Connection to peer ended"),
    }
    // Senders that still hold this peer queue into the void until `ended` removes it.
    peer.out().socket = None;
    node.sockets().ended(node, addr, peer.generation);
}

/// Why an outbound connection ended.
#[derive(Debug, thiserror::Error)]
enum Broken {
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("handshake timed out")]
    HandshakeTimeout,
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Handshake(#[from] frame::HandshakeError),
    #[error("closed by the peer")]
    ClosedByPeer,
    #[error("the peer wrote on a connection that only carries frames to it")]
    UnexpectedBytes,
}

async fn connect_and_write(node: &Node, addr: SocketAddr, peer: &Peer) -> Result<(), Broken> {
    let timeout = node.config().connect_timeout;
    let mut stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| Broken::ConnectTimeout)??;
    stream.set_nodelay(true)?;
    stream.write_all(&frame::handshake()).await?;
    let mut reply = [0u8; frame::HANDSHAKE_LEN];
    tokio::time::timeout(timeout, stream.read_exact(&mut reply))
        .await
        .map_err(|_| Broken::HandshakeTimeout)??;
    frame::check_handshake(&reply)?;
    let (mut reader, writer) = stream.into_split();
    let writer = Arc::new(writer);
    // Bytes queued before the connection was up go first, then senders may write.
    {
        let mut out = peer.out();
        out.writing = true;
        out.socket = Some(writer.clone());
    }
    let mut probe = [0u8; 1];
    loop {
        write_pending(peer, &writer).await?;
        tokio::select! {
            _ = peer.wake.notified() => {
                if peer.out().closed {
                    return Ok(());
                }
            }
            // The peer never writes after the handshake, so a readable socket means it
            // closed (or misbehaves): either way the connection is over.
            read = reader.read(&mut probe) => {
                return Err(match read? {
                    0 => Broken::ClosedByPeer,
                    _ => Broken::UnexpectedBytes,
                });
            }
        }
    }
}

/// Writes queued bytes until the queue is empty, then lets senders write directly.
async fn write_pending(peer: &Peer, writer: &OwnedWriteHalf) -> io::Result<()> {
    loop {
        let batch = {
            let mut out = peer.out();
            if out.pending.is_empty() {
                out.writing = false;
                return Ok(());
            }
            // Until this batch is written, senders queue behind it.
            out.writing = true;
            out.pending.split().freeze()
        };
        write_all(writer, &batch).await?;
    }
}

/// `write_all` on a shared write half: waits for writability, then writes what it can.
async fn write_all(writer: &OwnedWriteHalf, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        writer.writable().await?;
        match writer.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => bytes = &bytes[written..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
