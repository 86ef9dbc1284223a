//! One persistent outbound connection per peer runtime, shared by every local process,
//! and the links that watch it.
//!
//! Frames to a peer queue on its connection and are written in order, so messages from
//! one sender to one receiver keep their order. When the connection cannot be opened or
//! breaks (EOF, reset, refused, timeout), every local process linked to a pid at that
//! address gets `exited` for it, the links are dropped, queued frames are lost (there is
//! no delivery guarantee, as in libprocess) and the next send opens a new connection.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::context::RemoteConnection;
use crate::event::Raw;
use crate::metrics;
use crate::pid::Pid;
use crate::runtime::Node;
use crate::transport::frame;

/// How many bytes of queued frames are written to the socket in one go.
const WRITE_BATCH: usize = 64 * 1024;

/// The outbound connections of this runtime.
#[derive(Default)]
pub(crate) struct SocketManager {
    peers: Mutex<HashMap<SocketAddr, Arc<Peer>>>,
    generation: AtomicU64,
}

/// One peer runtime's connection: its frame queue and the links that watch it.
struct Peer {
    generation: u64,
    frames: UnboundedSender<Bytes>,
    links: Mutex<Links>,
}

#[derive(Default)]
struct Links {
    broken: bool,
    /// (local linker, remote linkee) pairs.
    pairs: Vec<(Pid, Pid)>,
}

impl Peer {
    fn links(&self) -> MutexGuard<'_, Links> {
        self.links.lock().expect("the links lock is never poisoned")
    }

    /// Adds a link unless the connection already broke.
    fn add_link(&self, linker: &Pid, linkee: &Pid) -> bool {
        let mut links = self.links();
        if links.broken {
            return false;
        }
        if !links.pairs.iter().any(|(l, e)| l == linker && e == linkee) {
            links.pairs.push((linker.clone(), linkee.clone()));
        }
        true
    }

    fn take_links(&self) -> Vec<(Pid, Pid)> {
        let mut links = self.links();
        links.broken = true;
        std::mem::take(&mut links.pairs)
    }
}

impl SocketManager {
    fn peers(&self) -> MutexGuard<'_, HashMap<SocketAddr, Arc<Peer>>> {
        self.peers.lock().expect("the peers lock is never poisoned")
    }

    /// Queues a frame on the connection to `addr`, opening it if needed.
    pub(crate) fn send(&self, node: &'static Node, addr: SocketAddr, frame: Bytes) {
        let peer = self.peer(node, addr, false);
        if peer.frames.send(frame).is_err() {
            tracing::debug!(%addr, "Dropping frame: the connection just closed");
        }
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
            peer.links().pairs.retain(|(l, _)| l != linker);
        }
    }

    /// The live connection to `addr`, or a new one (always new when `replace`; the old
    /// one then closes quietly and its links move to the new one).
    fn peer(&self, node: &'static Node, addr: SocketAddr, replace: bool) -> Arc<Peer> {
        let mut peers = self.peers();
        if !replace {
            if let Some(peer) = peers.get(&addr) {
                if !peer.frames.is_closed() {
                    return peer.clone();
                }
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let peer = Arc::new(Peer {
            generation: self.generation.fetch_add(1, Ordering::Relaxed),
            frames: tx,
            links: Mutex::new(Links::default()),
        });
        if let Some(old) = peers.insert(addr, peer.clone()) {
            peer.links().pairs = old.take_links();
        }
        node.handle()
            .spawn(run_connection(node, addr, peer.generation, rx));
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
        for (linker, linkee) in peer.take_links() {
            metrics::link_exited();
            node.deliver(&linker, Raw::Exited(linkee));
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

async fn run_connection(
    node: &'static Node,
    addr: SocketAddr,
    generation: u64,
    mut frames: UnboundedReceiver<Bytes>,
) {
    // The queue stays open until `ended` has run, so that no sender replaces this
    // connection (and inherits its links) before its linkers hear that it broke.
    match connect_and_write(node, addr, &mut frames).await {
        Ok(()) => tracing::debug!(%addr, "Connection closed after being replaced"),
        Err(reason) => tracing::info!(%addr, %reason, "Connection to peer ended"),
    }
    node.sockets().ended(node, addr, generation);
}

/// Why an outbound connection ended.
#[derive(Debug, thiserror::Error)]
enum Broken {
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("handshake timed out")]
    HandshakeTimeout,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Handshake(#[from] frame::HandshakeError),
    #[error("closed by the peer")]
    ClosedByPeer,
    #[error("the peer wrote on a connection that only carries frames to it")]
    UnexpectedBytes,
}

async fn connect_and_write(
    node: &Node,
    addr: SocketAddr,
    frames: &mut UnboundedReceiver<Bytes>,
) -> Result<(), Broken> {
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
    let (mut reader, mut writer) = stream.into_split();
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    let mut probe = [0u8; 1];
    loop {
        tokio::select! {
            next = frames.recv() => {
                let Some(first) = next else {
                    return Ok(());
                };
                batch.extend_from_slice(&first);
                while batch.len() < WRITE_BATCH {
                    match frames.try_recv() {
                        Ok(more) => batch.extend_from_slice(&more),
                        Err(_) => break,
                    }
                }
                writer.write_all(&batch).await?;
                batch.clear();
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
