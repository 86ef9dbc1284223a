//! The master's v1 HTTP APIs: the scheduler API (`/api/v1/scheduler`) and the
//! operator API (`/api/v1`, `/api/v1/operator`). Calls are JSON; event streams are
//! RecordIO of JSON, one record per chunk. Here: the checks every call passes
//! before its body is read.

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, StatusCode};
use libproc::http::{HttpError, Request, Response};

use crate::master::Master;
use mesos_proto::v1::json::{accepts_json, media_type, MAX_BODY_SIZE};

pub(crate) mod operator;
pub(crate) mod scheduler;

pub(crate) use mesos_proto::v1::json::JSON;

/// A master that does not lead answers what needs the leader with 307 to the leader
/// it detects (`Location: //<leader ip:port><path>`), or 503 when none is known. The
/// leader answers itself (`None`).
pub(crate) fn leader_redirect(master: &Master, request: &Request) -> Option<Response> {
    if master.is_leading() {
        return None;
    }
    let Some(leader) = &master.election.leader else {
        return Some(error(StatusCode::SERVICE_UNAVAILABLE, "No leader elected"));
    };
    Some(redirect_to(&format!("//{}{}", leader.addr, request.path)))
}

/// A 307 to `location`.
pub(crate) fn redirect_to(location: &str) -> Response {
    let mut response = Response::new(StatusCode::TEMPORARY_REDIRECT, "text/plain", "");
    if let Ok(location) = location.parse() {
        response.headers.insert(http::header::LOCATION, location);
    }
    response
}

/// The checks of Mesos's `Master::Http::scheduler` and `api` before decoding: the
/// leader, recovery, method, encodings and size. The answer when one fails, as Mesos
/// answers it.
pub(crate) fn refusal(master: &Master, request: &Request) -> Option<Response> {
    // Routes match by prefix; the APIs have no sub-paths.
    if !request.path.trim_end_matches('/').ends_with(&request.route) {
        return Some(error(
            StatusCode::NOT_FOUND,
            format!("No such endpoint '{}'", request.path),
        ));
    }
    if let Some(redirect) = leader_redirect(master, request) {
        return Some(redirect);
    }
    if !master.recovered {
        return Some(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Master has not finished recovery",
        ));
    }
    if request.method != Method::POST {
        return Some(error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Expecting a 'POST' request, received '{}'", request.method),
        ));
    }
    let Some(content_type) = request.headers.get(CONTENT_TYPE) else {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "Expecting 'Content-Type' to be present",
        ));
    };
    if !media_type(content_type.to_str().unwrap_or("")).eq_ignore_ascii_case(JSON) {
        return Some(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Expecting 'Content-Type' of {JSON} (protobuf is not supported), received '{}'",
                String::from_utf8_lossy(content_type.as_bytes())
            ),
        ));
    }
    if let Some(accept) = request.headers.get(ACCEPT) {
        if !accepts_json(accept.to_str().unwrap_or("")) {
            return Some(error(
                StatusCode::NOT_ACCEPTABLE,
                format!(
                    "Expecting 'Accept' to allow {JSON}, received '{}'",
                    String::from_utf8_lossy(accept.as_bytes())
                ),
            ));
        }
    }
    if request.body.len() > MAX_BODY_SIZE {
        return Some(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Request body of {} bytes is over the limit of {MAX_BODY_SIZE} bytes",
                request.body.len()
            ),
        ));
    }
    None
}

/// A plain-text error answer.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    HttpError::new(status, message).into()
}
