//! The checks every v1 API call passes before its body is decoded, on the master and
//! the agent alike (Mesos's `Http::scheduler`, `executor` and `api`): the path, the
//! method, the encodings and the size, each refused with Mesos's status and a message
//! saying what was expected.

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, StatusCode};
use libproc::http::{HttpError, Request, Response};

use super::json::{accepts_json, media_type, JSON, MAX_BODY_SIZE};

/// A 404 for a sub-path of an API: routes match by prefix, the APIs have no sub-paths.
pub fn unknown_path(request: &Request) -> Option<Response> {
    (!request.path.trim_end_matches('/').ends_with(&request.route)).then(|| {
        error(
            StatusCode::NOT_FOUND,
            format!("No such endpoint '{}'", request.path),
        )
    })
}

/// The refusal of a call that is not a `POST` of at most `MAX_BODY_SIZE` bytes of JSON
/// from a client that accepts JSON.
pub fn bad_call(request: &Request) -> Option<Response> {
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
    (request.body.len() > MAX_BODY_SIZE).then(|| {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Request body of {} bytes is over the limit of {MAX_BODY_SIZE} bytes",
                request.body.len()
            ),
        )
    })
}

/// A plain-text error answer.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    HttpError::new(status, message).into()
}
