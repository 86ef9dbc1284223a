//! The master's v1 HTTP APIs: the scheduler API (`/api/v1/scheduler`) and the
//! operator API (`/api/v1`, `/api/v1/operator`). Calls are JSON; event streams are
//! RecordIO of JSON, one record per chunk. Here: the checks every call passes
//! before its body is read.

use http::StatusCode;
use libproc::http::{Request, Response};
use mesos_proto::v1::http::{bad_call, unknown_path};

use crate::master::Master;

pub(crate) use mesos_proto::v1::http::error;

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
    unknown_path(request)
        .or_else(|| leader_redirect(master, request))
        .or_else(|| {
            (!master.recovered).then(|| {
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Master has not finished recovery",
                )
            })
        })
        .or_else(|| bad_call(request))
}
