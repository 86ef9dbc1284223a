//! The web UI: a single-page app of plain ES modules (`master/webui/`), embedded in the
//! binary so a master serves it with no `--webui_dir` and no build step.
//!
//! - `/` (and `/master/`): `index.html`.
//! - `/master/webui/<file>`: the app's modules and style sheet, with an `ETag` and
//!   `Cache-Control: no-cache`, so a browser revalidates with a cheap `304`.
//! - `/master/webui/agents/<agent id>/<endpoint>`: the agent's `/state`,
//!   `/monitor/statistics` and `/files/{browse,read,download}`, forwarded by the master,
//!   so the page reads a single origin and agents need no CORS headers.
//! - `/master/webui/unreachable`: the ids of unreachable agents and when they became so
//!   (`/master/state` only counts them).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, HOST, IF_NONE_MATCH,
    X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use libproc::http::{HttpError, Reply, Request, Response};
use libproc::Context;
use mesos_proto::AgentId;
use serde_json::json;

use crate::master::Master;

/// How long the master waits for an agent it forwards a request to.
const AGENT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest agent answer the master forwards (a sandbox file downloaded through it).
const MAX_AGENT_RESPONSE: usize = 64 * 1024 * 1024;

/// Only the UI's own modules may run, and nothing is loaded from elsewhere.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'";

/// One embedded file of the app.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    etag: u64,
}

/// FNV-1a, at compile time: an `ETag` that changes whenever the file does.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../../webui/", $name)),
            etag: fnv1a(include_bytes!(concat!("../../webui/", $name))),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("format.js", JS),
    asset!("table.js", JS),
    asset!("views/dashboard.js", JS),
    asset!("views/frameworks.js", JS),
    asset!("views/agents.js", JS),
    asset!("views/tasks.js", JS),
    asset!("views/sandbox.js", JS),
    asset!("views/roles.js", JS),
    asset!("views/offers.js", JS),
];

/// Installs the web UI's routes.
pub(crate) fn routes(ctx: &mut Context<Master>) {
    ctx.route("/", |_: &mut Master, r, _| index(&r));
    ctx.route("/webui", |_: &mut Master, r, _| asset(&r));
    ctx.route("/webui/unreachable", |m: &mut Master, r, _| {
        only_get(&r).map_or_else(Reply::from, |()| super::led(m, &r, |m| unreachable(m)))
    });
    ctx.route("/webui/agents", |m: &mut Master, r, _| {
        only_get(&r).map_or_else(Reply::from, |()| {
            super::led(m, &r, |m| forward_to_agent(m, &r))
        })
    });
}

fn only_get(request: &Request) -> Result<(), HttpError> {
    if request.method == Method::GET || request.method == Method::HEAD {
        Ok(())
    } else {
        Err(HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "the web UI's endpoints answer GET only",
        ))
    }
}

/// `index.html`, for the root only: `/` also catches every path no other route of the
/// master serves, and those stay `404`.
fn index(request: &Request) -> Reply {
    match request.path.as_str() {
        "/" | "/master" | "/master/" => serve(request, &ASSETS[0]),
        path => Response::not_found(&format!("no such path: '{path}'")).into(),
    }
}

fn asset(request: &Request) -> Reply {
    let name = request
        .path
        .split_once("/webui/")
        .map_or("", |(_, name)| name);
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => serve(request, asset),
        None => Response::not_found(&format!("the web UI has no file '{name}'")).into(),
    }
}

fn serve(request: &Request, asset: &Asset) -> Reply {
    if let Err(error) = only_get(request) {
        return error.into();
    }
    let etag = format!("\"{:016x}\"", asset.etag);
    let fresh = request
        .headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*");
    let mut response = if fresh {
        Response::new(StatusCode::NOT_MODIFIED, asset.content_type, Bytes::new())
    } else {
        Response::new(StatusCode::OK, asset.content_type, asset.body)
    };
    let headers = &mut response.headers;
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, etag);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    response.into()
}

/// `/master/webui/unreachable`: `{"unreachable_slaves": [{"id", "time"}]}`, newest first,
/// with `time` in seconds since the epoch.
fn unreachable(master: &Master) -> Reply {
    let mut agents: Vec<_> = master
        .unreachable_agents
        .iter()
        .map(|(id, time)| (time.nanoseconds, id.as_str()))
        .collect();
    agents.sort_unstable_by(|a, b| b.cmp(a));
    let list: Vec<_> = agents
        .into_iter()
        .map(|(nanos, id)| json!({"id": id, "time": nanos as f64 / 1e9}))
        .collect();
    Response::json(&json!({ "unreachable_slaves": list })).into()
}

/// The agent endpoints the UI may read through the master, and whether each is served
/// by the agent's own process (`/slave(1)/state`) or by the node (`/files/read`).
const AGENT_ENDPOINTS: &[(&str, bool)] = &[
    ("state", true),
    ("monitor/statistics", true),
    ("files/browse", false),
    ("files/read", false),
    ("files/download", false),
];

/// The query parameters forwarded to the agent; any other is dropped.
const FORWARDED_PARAMETERS: &[&str] = &["path", "offset", "length"];

/// The agent's URL path and query for a UI request
/// `.../webui/agents/<agent id>/<endpoint>`, or why there is none.
fn agent_target<'a>(
    master: &'a Master,
    request: &Request,
) -> Result<(&'a libproc::Pid, String), HttpError> {
    let rest = request
        .path
        .split_once("/webui/agents/")
        .map_or("", |(_, rest)| rest);
    let (agent_id, endpoint) = rest.split_once('/').unwrap_or((rest, ""));
    let not_found = |what: String| HttpError::new(StatusCode::NOT_FOUND, what);
    let agent = master
        .agents
        .get(&AgentId::from(agent_id))
        .ok_or_else(|| not_found(format!("no registered agent '{agent_id}'")))?;
    let &(_, in_process) = AGENT_ENDPOINTS
        .iter()
        .find(|(name, _)| *name == endpoint)
        .ok_or_else(|| not_found(format!("agents serve no '{endpoint}' to the web UI")))?;
    let mut target = if in_process {
        format!("/{}/{endpoint}", agent.pid.id.as_str())
    } else {
        format!("/{endpoint}")
    };
    let query: Vec<String> = FORWARDED_PARAMETERS
        .iter()
        .filter_map(|&key| {
            let value = request.query.get(key)?;
            Some(format!("{key}={}", percent_encode(value)))
        })
        .collect();
    if !query.is_empty() {
        target.push('?');
        target.push_str(&query.join("&"));
    }
    Ok((&agent.pid, target))
}

fn forward_to_agent(master: &Master, request: &Request) -> Reply {
    let (pid, target) = match agent_target(master, request) {
        Ok(found) => found,
        Err(error) => return error.into(),
    };
    let addr = pid.addr;
    let agent_id = pid.to_string();
    Reply::deferred(async move {
        match tokio::time::timeout(AGENT_TIMEOUT, fetch(addr, &target)).await {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => bad_gateway(&agent_id, &target, &error.to_string()),
            Err(_) => bad_gateway(&agent_id, &target, "no answer in time"),
        }
    })
}

fn bad_gateway(agent: &str, target: &str, error: &str) -> Response {
    tracing::warn!(agent, target, error, "The web UI could not reach an agent");
    Response::text(
        StatusCode::BAD_GATEWAY,
        format!("the agent {agent} did not answer {target}: {error}"),
    )
}

/// Why a request forwarded to an agent failed.
#[derive(Debug, thiserror::Error)]
enum ForwardError {
    #[error("could not connect: {0}")]
    Connect(#[from] std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("bad request: {0}")]
    Request(#[from] http::Error),
    #[error("the answer is larger than {MAX_AGENT_RESPONSE} bytes or broken: {0}")]
    Body(String),
}

/// One `GET` to an agent, its answer turned into the master's response with the
/// headers that matter to a browser (type, download name).
async fn fetch(addr: SocketAddr, target: &str) -> Result<Response, ForwardError> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(ForwardError::Http)?;
    tokio::spawn(connection);
    let request = http::Request::get(target)
        .header(HOST, addr.to_string())
        .body(Empty::<Bytes>::new())?;
    let answer = sender.send_request(request).await?;
    let (parts, body) = answer.into_parts();
    let body = Limited::new(body, MAX_AGENT_RESPONSE)
        .collect()
        .await
        .map_err(|error| ForwardError::Body(error.to_string()))?
        .to_bytes();
    let mut response = Response::new(parts.status, "application/octet-stream", body);
    for header in [CONTENT_TYPE, CONTENT_DISPOSITION] {
        if let Some(value) = parts.headers.get(&header) {
            response.headers.insert(header, value.clone());
        }
    }
    response
        .headers
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Percent-encodes a query value: everything but RFC 3986's unreserved characters
/// and `/`, which sandbox paths are made of.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_name_and_a_body() {
        let mut names: Vec<_> = ASSETS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ASSETS.len());
        assert!(ASSETS.iter().all(|a| !a.body.is_empty()));
        assert_eq!(ASSETS[0].name, "index.html");
    }

    #[test]
    fn every_module_the_app_imports_is_embedded() {
        for asset in ASSETS.iter().filter(|a| a.content_type == JS) {
            let text = std::str::from_utf8(asset.body).unwrap();
            for line in text
                .lines()
                .filter(|l| l.trim_start().starts_with("import "))
            {
                let Some(spec) = line.split(['"', '\'']).nth(1) else {
                    continue;
                };
                let dir = asset.name.rsplit_once('/').map_or("", |(dir, _)| dir);
                let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
                for part in spec.split('/') {
                    match part {
                        "." => {}
                        ".." => {
                            parts.pop();
                        }
                        name => parts.push(name),
                    }
                }
                let resolved = parts.join("/");
                assert!(
                    ASSETS.iter().any(|a| a.name == resolved),
                    "{} imports {spec}, which is not embedded",
                    asset.name
                );
            }
        }
    }

    #[test]
    fn etags_follow_the_content() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(percent_encode("/tmp/a b/std&out"), "/tmp/a%20b/std%26out");
        assert_eq!(percent_encode("-1"), "-1");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }
}
