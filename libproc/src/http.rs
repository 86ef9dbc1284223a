//! HTTP routes of processes: the request a route handler sees, the response it builds,
//! and how a path finds its route. Served on the runtime's one port by `server`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

pub(crate) mod server;

/// An HTTP request routed to a process, with its body already read (and bounded).
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The whole URL path, e.g. `/master/state`.
    pub path: String,
    /// The installed route that matched, e.g. `/state`.
    pub route: String,
    /// The query parameters, percent-decoded; a repeated key keeps its last value.
    pub query: HashMap<String, String>,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The client's address.
    pub client: SocketAddr,
}

/// What a response carries: a whole body, or a stream of chunks (such as RecordIO
/// event streams) written through a `Pipe`.
#[derive(Debug)]
pub enum ResponseBody {
    /// The whole body.
    Full(Bytes),
    /// Chunks, each sent as one HTTP chunk as soon as it is written.
    Stream(mpsc::Receiver<Bytes>),
}

/// An HTTP response built by a route handler.
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: ResponseBody,
}

impl Response {
    /// A response with a status, a content type and a whole body.
    pub fn new(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        Response {
            status,
            headers,
            body: ResponseBody::Full(body.into()),
        }
    }

    /// `200 OK` with a JSON body.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Response::new(StatusCode::OK, "application/json", body),
            Err(error) => HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("could not encode the response: {error}"),
            )
            .into(),
        }
    }

    /// A plain-text response.
    pub fn text(status: StatusCode, text: impl Into<String>) -> Self {
        Response::new(status, "text/plain; charset=utf-8", text.into())
    }

    /// `404 Not Found` saying what was not found.
    pub fn not_found(what: &str) -> Self {
        Response::text(StatusCode::NOT_FOUND, what)
    }

    /// `200 OK` whose body is streamed: each `Pipe::write` becomes one chunk. At most
    /// `capacity` chunks wait for a slow client; past that `write` fails, and the
    /// producer should close the stream rather than buffer without bound.
    pub fn stream(content_type: &'static str, capacity: usize) -> (Response, Pipe) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let mut response = Response::new(StatusCode::OK, content_type, Bytes::new());
        response.body = ResponseBody::Stream(rx);
        (response, Pipe { tx })
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = match &self.body {
            ResponseBody::Full(bytes) => format!("{} bytes", bytes.len()),
            ResponseBody::Stream(_) => "stream".to_owned(),
        };
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body", &body)
            .finish()
    }
}

/// The writing end of a streamed response.
#[derive(Debug, Clone)]
pub struct Pipe {
    tx: mpsc::Sender<Bytes>,
}

/// The client of a streamed response is gone, or too slow to keep up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipeError {
    /// The client disconnected.
    #[error("the client closed the stream")]
    Closed,
    /// The client reads slower than the stream is written.
    #[error("the client is not keeping up with the stream")]
    Full,
}

impl Pipe {
    /// Writes one chunk.
    pub fn write(&self, chunk: impl Into<Bytes>) -> Result<(), PipeError> {
        self.tx.try_send(chunk.into()).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => PipeError::Full,
            mpsc::error::TrySendError::Closed(_) => PipeError::Closed,
        })
    }

    /// Whether the client is gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Resolves when the client is gone (its connection closed and the body was
    /// dropped), so that a producer with nothing to write still learns of it at once.
    pub async fn closed(&self) {
        self.tx.closed().await
    }

    /// A future that resolves once the client is gone or the returned guard is
    /// dropped, whichever comes first. A process keeps the guard beside its end of the
    /// stream and awaits the future off its mailbox: dropping its end then ends the
    /// watch too, whose clone of the pipe would otherwise keep the body open.
    pub fn watch(&self) -> (PipeWatch, impl Future<Output = ()> + Send + 'static) {
        let (release, released) = oneshot::channel::<()>();
        let watched = self.clone();
        let closed = async move {
            tokio::select! {
                () = watched.closed() => {}
                _ = released => {}
            }
        };
        (PipeWatch { _release: release }, closed)
    }
}

/// Keeps a [`Pipe::watch`] going; dropping it ends the watch.
#[derive(Debug)]
pub struct PipeWatch {
    _release: oneshot::Sender<()>,
}

/// A failed request: its status and the message the client sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct HttpError {
    /// The status code.
    pub status: StatusCode,
    /// What went wrong, in words for the client.
    pub message: String,
}

impl HttpError {
    /// An error with a status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError {
            status,
            message: message.into(),
        }
    }
}

impl From<HttpError> for Response {
    fn from(error: HttpError) -> Self {
        Response::text(error.status, error.message)
    }
}

/// What a route handler returns: a response now, or one that a future produces
/// (without blocking the process meanwhile).
pub enum Reply {
    /// The response.
    Ready(Response),
    /// A future of the response, run off the process.
    Deferred(Pin<Box<dyn Future<Output = Response> + Send>>),
}

impl Reply {
    /// A response that a future produces.
    pub fn deferred(future: impl Future<Output = Response> + Send + 'static) -> Self {
        Reply::Deferred(Box::pin(future))
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ready(response) => f.debug_tuple("Ready").field(response).finish(),
            Reply::Deferred(_) => f.write_str("Deferred"),
        }
    }
}

impl From<Response> for Reply {
    fn from(response: Response) -> Self {
        Reply::Ready(response)
    }
}

impl From<HttpError> for Reply {
    fn from(error: HttpError) -> Self {
        Reply::Ready(error.into())
    }
}

impl From<Result<Response, HttpError>> for Reply {
    fn from(result: Result<Response, HttpError>) -> Self {
        Reply::Ready(result.unwrap_or_else(Response::from))
    }
}

/// Finds the route for a path inside a process: the exact path, then the path without
/// a trailing slash, then the longest installed route that is a parent of the path.
pub(crate) fn find_route<'a, R>(
    routes: &'a HashMap<String, R>,
    path: &str,
) -> Option<(String, &'a R)> {
    let path = if path.is_empty() { "/" } else { path };
    if let Some(route) = routes.get(path) {
        return Some((path.to_owned(), route));
    }
    let mut candidate = path.trim_end_matches('/');
    loop {
        if let Some(route) = routes.get(candidate) {
            return Some((candidate.to_owned(), route));
        }
        candidate = &candidate[..candidate.rfind('/')?];
        if candidate.is_empty() {
            return routes.get("/").map(|route| ("/".to_owned(), route));
        }
    }
}

/// Decodes `%XX` escapes (and `+` as a space, when `plus_is_space`); malformed escapes
/// are kept as they are, and invalid UTF-8 is replaced, so any input decodes.
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}

/// Parses a query string into decoded key-value pairs.
pub(crate) fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key, true), percent_decode(value, true))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> HashMap<String, u8> {
        [("/state", 1), ("/files/browse", 2), ("/", 3)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    #[test]
    fn routes_match_exactly_then_with_trailing_slash_then_by_parent() {
        let routes = routes();
        let found = |p: &str| find_route(&routes, p).map(|(path, v)| (path, *v));
        assert_eq!(found("/state"), Some(("/state".into(), 1)));
        assert_eq!(found("/state/"), Some(("/state".into(), 1)));
        assert_eq!(
            found("/files/browse/a/b"),
            Some(("/files/browse".into(), 2))
        );
        assert_eq!(found("/other"), Some(("/".into(), 3)));
        assert_eq!(found(""), Some(("/".into(), 3)));
        let without_root: HashMap<String, u8> = [("/state".to_owned(), 1)].into();
        assert_eq!(find_route(&without_root, "/other").map(|(p, _)| p), None);
        assert_eq!(find_route(&without_root, "/").map(|(p, _)| p), None);
    }

    #[test]
    fn percent_decoding_is_total() {
        assert_eq!(percent_decode("slave%281%29", false), "slave(1)");
        assert_eq!(percent_decode("a+b", true), "a b");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("%", false), "%");
        assert_eq!(percent_decode("%4", false), "%4");
        assert_eq!(percent_decode("%zz", false), "%zz");
        assert_eq!(percent_decode("%ff", false), "\u{fffd}");
    }

    #[test]
    fn queries_parse() {
        let query = parse_query("server=a%40b&requests=10&flag&&x=1=2");
        assert_eq!(query["server"], "a@b");
        assert_eq!(query["requests"], "10");
        assert_eq!(query["flag"], "");
        assert_eq!(query["x"], "1=2");
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(text in ".{0,64}") {
            let _ = percent_decode(&text, true);
            let _ = parse_query(&text);
        }
    }
}
