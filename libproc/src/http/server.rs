//! The HTTP side of the runtime's port, on hyper: the runtime's own endpoints, and
//! requests routed to processes by the first path segment.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::StatusCode;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

use crate::event::{HttpEvent, Raw};
use crate::http::{parse_query, percent_decode, Request, Response, ResponseBody};
use crate::metrics;
use crate::runtime::Node;

type Body = BoxBody<Bytes, Infallible>;

/// Serves HTTP/1.1 on one connection until the client closes it.
pub(crate) async fn serve<S>(node: &'static Node, io: S, client: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| async move {
        metrics::http_request();
        Ok::<_, Infallible>(into_hyper(route(node, request, client).await))
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), service);
    if let Err(error) = connection.await {
        metrics::http_invalid();
        tracing::warn!(%client, %error, "HTTP connection ended with an error");
    }
}

async fn route(
    node: &'static Node,
    request: hyper::Request<Incoming>,
    client: SocketAddr,
) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    if path.contains("/..") {
        return not_found(&path, client);
    }
    match path.as_str() {
        "/__processes__" | "/__processes__/" => return processes(node),
        "/metrics/snapshot" | "/metrics/snapshot/" => return Response::json(&metrics::snapshot()),
        _ => {}
    }
    let (entry, route) = match target(node, &path) {
        Target::Process(entry, route) => (entry, route),
        Target::DelegateNotRunning(delegate) => {
            // The runtime listens before its processes run (and after they stop): a
            // client told "not now" tries again, one told "not found" may give up.
            tracing::info!(%client, path, %delegate, "HTTP path for a delegate that is not running");
            return Response::text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("'{delegate}', which serves '{path}', is not running"),
            );
        }
        Target::None => return not_found(&path, client),
    };
    let max = node.config().max_http_body_size;
    let body = match Limited::new(body, max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return Response::text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body not read: {error} (the limit is {max} bytes)"),
            )
        }
    };
    let request = Request {
        method: parts.method,
        query: parse_query(parts.uri.query().unwrap_or("")),
        headers: parts.headers,
        path,
        route,
        body,
        client,
    };
    let (reply, response) = oneshot::channel();
    if !entry.deliver(Raw::Http(Box::new(HttpEvent { request, reply }))) {
        return Response::not_found("the process terminated");
    }
    response.await.unwrap_or_else(|_| {
        Response::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the process terminated before answering",
        )
    })
}

/// Who serves a path.
enum Target {
    /// This process, at this path inside it.
    Process(std::sync::Arc<crate::manager::Entry>, String),
    /// The path names no process, and the delegate that would serve it does not run.
    DelegateNotRunning(String),
    /// Nobody: no such process, and no delegate.
    None,
}

/// The process a path is for, and the path inside it: the first segment names the
/// process; otherwise the delegate gets the whole path.
fn target(node: &Node, path: &str) -> Target {
    let trimmed = path.trim_start_matches('/');
    let (first, rest) = trimmed.split_at(trimmed.find('/').unwrap_or(trimmed.len()));
    if let Some(entry) = node.entry_by_id(&percent_decode(first, false)) {
        return Target::Process(entry, rest.to_owned());
    }
    let Some(delegate) = node.config().delegate.as_ref() else {
        return Target::None;
    };
    match node.entry_by_id(delegate.as_str()) {
        Some(entry) => Target::Process(entry, path.to_owned()),
        None => Target::DelegateNotRunning(delegate.to_string()),
    }
}

fn not_found(path: &str, client: SocketAddr) -> Response {
    metrics::http_not_found();
    tracing::info!(%client, path, "No process for HTTP path");
    Response::not_found(&format!("no process serves '{path}'"))
}

/// `/__processes__`: every process and how many events wait in its queue.
fn processes(node: &Node) -> Response {
    let list: Vec<_> = node
        .processes()
        .into_iter()
        .map(|(pid, queued)| json!({"id": pid.id.as_str(), "pid": pid.to_string(), "queue_length": queued}))
        .collect();
    Response::json(&list)
}

fn into_hyper(response: Response) -> hyper::Response<Body> {
    let body = match response.body {
        ResponseBody::Full(bytes) => Full::new(bytes).boxed(),
        ResponseBody::Stream(chunks) => PipeBody(chunks).boxed(),
    };
    let mut out = hyper::Response::new(body);
    *out.status_mut() = response.status;
    *out.headers_mut() = response.headers;
    out
}

/// A streamed body: every chunk written to the pipe becomes one HTTP chunk.
struct PipeBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for PipeBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}
