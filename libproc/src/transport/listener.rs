//! The accept loop: each inbound connection is either a libproc peer (it opens with the
//! handshake) or an HTTP client, told apart by its first four bytes.

use std::borrow::Cow;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::event::{Body, Raw};
use crate::http::server;
use crate::metrics;
use crate::pid::Pid;
use crate::runtime::Node;
use crate::transport::frame::{self, Envelope};

/// How long a new connection may take to say what it is.
const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts connections until the process exits, at most `max_connections` at once.
pub(crate) async fn accept_loop(node: &'static Node, listener: TcpListener) {
    let limit = Arc::new(Semaphore::new(node.config().max_connections));
    let mut backoff = Duration::from_millis(10);
    loop {
        let permit = limit
            .clone()
            .acquire_owned()
            .await
            .expect("the connection semaphore is never closed");
        match listener.accept().await {
            Ok((stream, client)) => {
                backoff = Duration::from_millis(10);
                metrics::connection_accepted();
                node.handle().spawn(async move {
                    serve(node, stream, client).await;
                    drop(permit);
                });
            }
            Err(error) => {
                // Typically out of file descriptors: wait for some to be released.
                tracing::warn!(%error, ?backoff, "Accepting a connection failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

async fn serve(node: &'static Node, mut stream: TcpStream, client: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let mut first = [0u8; 4];
    match tokio::time::timeout(FIRST_BYTES_TIMEOUT, stream.read_exact(&mut first)).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => return tracing::debug!(%client, %error, "Connection closed early"),
        Err(_) => return tracing::debug!(%client, "Connection idle before its first bytes"),
    }
    if &first == frame::MAGIC {
        if let Err(reason) = read_frames(node, stream, client).await {
            tracing::warn!(%client, %reason, "Closing connection from peer");
        }
    } else {
        server::serve(node, Rewind::new(first, stream), client).await;
    }
}

/// Why an inbound frame connection was closed.
#[derive(Debug, thiserror::Error)]
enum Closed {
    #[error("handshake timed out")]
    HandshakeTimeout,
    #[error(transparent)]
    Handshake(#[from] frame::HandshakeError),
    #[error(transparent)]
    Frame(#[from] frame::FrameError),
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("closed inside a frame, {0} bytes into it")]
    Truncated(usize),
}

/// Reads frames from a peer and delivers their messages, until the peer closes.
async fn read_frames(node: &Node, mut stream: TcpStream, client: SocketAddr) -> Result<(), Closed> {
    let mut handshake = [0u8; frame::HANDSHAKE_LEN];
    handshake[..4].copy_from_slice(frame::MAGIC);
    tokio::time::timeout(FIRST_BYTES_TIMEOUT, stream.read_exact(&mut handshake[4..]))
        .await
        .map_err(|_| Closed::HandshakeTimeout)??;
    // Answer with our version even when it differs, so that the peer can say why.
    stream.write_all(&frame::handshake()).await?;
    if let Err(error) = frame::check_handshake(&handshake) {
        metrics::handshake_rejected();
        return Err(error.into());
    }
    let max = node.config().max_frame_size;
    let mut buffer = BytesMut::with_capacity(64 * 1024);
    loop {
        loop {
            match frame::take_payload(&mut buffer, max) {
                Ok(Some(payload)) => deliver(node, payload, client),
                Ok(None) => break,
                Err(error) => {
                    metrics::frame_invalid();
                    return Err(error.into());
                }
            }
        }
        if buffer.capacity() - buffer.len() < 4096 {
            buffer.reserve(64 * 1024);
        }
        if stream.read_buf(&mut buffer).await? == 0 {
            if !buffer.is_empty() {
                metrics::frame_invalid();
                return Err(Closed::Truncated(buffer.len()));
            }
            return Ok(());
        }
    }
}

fn deliver(node: &Node, payload: bytes::Bytes, client: SocketAddr) {
    let envelope = match Envelope::decode(payload) {
        Ok(envelope) => envelope,
        Err(error) => {
            metrics::frame_invalid();
            return tracing::warn!(%client, %error, "Skipping frame with a malformed envelope");
        }
    };
    metrics::message_received();
    let Envelope {
        from,
        to,
        name,
        body,
    } = envelope;
    let to = Pid::new(to, node.address());
    let event = Raw::Message {
        from: from.clone(),
        name: Cow::Owned(name),
        body: Body::Encoded(body),
    };
    if !node.deliver(&to, event) {
        metrics::message_dropped();
        tracing::warn!(%client, %from, %to, "Dropping message for a process that is not running");
    }
}

/// A stream whose first bytes were already read: they are read again first.
pub(crate) struct Rewind<S> {
    prefix: [u8; 4],
    consumed: usize,
    inner: S,
}

impl<S> Rewind<S> {
    fn new(prefix: [u8; 4], inner: S) -> Self {
        Rewind {
            prefix,
            consumed: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.consumed < self.prefix.len() {
            let rest = &self.prefix[self.consumed..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            self.consumed += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
