//! The agent's v1 HTTP APIs: the executor API (`/api/v1/executor`, in
//! `api_executor`) and the operator API (`/api/v1`, in `api_operator`). Calls are
//! JSON (Mesos's mapping, `mesos_proto::v1`); the executor's events are a RecordIO
//! stream, one record per chunk. Here: the checks every call passes before its body is
//! read, as the master does them.

use http::StatusCode;
use libproc::http::{Request, Response};
use mesos_proto::v1::http::{bad_call, unknown_path};

use super::{Agent, State};

pub(super) use mesos_proto::v1::http::error;

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
    let recovering = agent.state == State::Recovering && during_recovery == DuringRecovery::Refused;
    unknown_path(request)
        .or_else(|| {
            recovering.then(|| {
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Agent has not finished recovery",
                )
            })
        })
        .or_else(|| bad_call(request))
}
