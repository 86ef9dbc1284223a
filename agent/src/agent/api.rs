//! The agent's v1 HTTP APIs: the executor API (`/api/v1/executor`, in
//! `api_executor`) and the operator API (`/api/v1`, in `api_operator`). Calls are
//! JSON (Mesos's mapping, `mesos_proto::v1`); the executor's events are a RecordIO
//! stream, one record per chunk. Here: the checks every call passes before its body is
//! read, as the master does them.

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, StatusCode};
use libproc::http::{HttpError, Request, Response};
use mesos_proto::v1::json::{accepts_json, media_type, JSON, MAX_BODY_SIZE};

use super::{Agent, State};

/// Whether an API can be used while the agent recovers: executors must be able to
/// re-subscribe then (recovery waits for them); operators wait for the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DuringRecovery {
    Served,
    Refused,
}

/// The checks of Mesos's `Slave::Http::executor` and `api` before decoding: the
/// path, recovery, method, encodings and size. The answer when one fails.
pub(super) fn refusal(
    agent: &Agent,
    request: &Request,
    during_recovery: DuringRecovery,
) -> Option<Response> {
    // Routes match by prefix; the APIs have no sub-paths.
    if !request.path.trim_end_matches('/').ends_with(&request.route) {
        return Some(error(
            StatusCode::NOT_FOUND,
            format!("No such endpoint '{}'", request.path),
        ));
    }
    if agent.state == State::Recovering && during_recovery == DuringRecovery::Refused {
        return Some(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Agent has not finished recovery",
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
pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    HttpError::new(status, message).into()
}
