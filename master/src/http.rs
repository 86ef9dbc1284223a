//! The master's operator endpoints, on its libproc port: served at `/master/<route>`
//! and, through the delegate, at `/<route>` (`/state`, `/version`...). JSON shapes and
//! key spellings (`slaves`, `slave_id`) are Mesos's.

use http::StatusCode;
use libproc::http::{HttpError, Reply, Request, Response};
use libproc::Context;
use serde_json::json;

use crate::constants::MESOS_VERSION;
use crate::master::Master;

pub(crate) mod api;
mod state;
pub mod v1_json;
mod webui;

/// Installs every route of the master. What shows the cluster needs the leader (see
/// `api::leader_redirect`); `/flags`, `/version`, `/health` and the web UI's assets
/// are every master's own.
pub(crate) fn routes(ctx: &mut Context<Master>) {
    ctx.route("/state", |m: &mut Master, r, _| {
        led(m, &r, |m| json(&r, state::state(m)))
    });
    ctx.route("/state.json", |m: &mut Master, r, _| {
        led(m, &r, |m| json(&r, state::state(m)))
    });
    ctx.route("/state-summary", |m: &mut Master, r, _| {
        led(m, &r, |m| json(&r, state::summary(m)))
    });
    ctx.route("/frameworks", |m: &mut Master, r, _| {
        led(m, &r, |m| json(&r, state::frameworks(m, &r)))
    });
    ctx.route("/slaves", |m: &mut Master, r, _| {
        led(m, &r, |m| json(&r, state::agents(m, &r)))
    });
    ctx.route("/tasks", |m: &mut Master, r, _| {
        led(m, &r, |m| {
            state::tasks(m, &r).map_or_else(Reply::from, |v| json(&r, v))
        })
    });
    ctx.route("/roles", |m: &mut Master, r, _| {
        led(m, &r, |m| json(&r, state::roles(m)))
    });
    ctx.route("/flags", |m: &mut Master, r, _| json(&r, m.flags.to_json()));
    ctx.route("/version", |_: &mut Master, r, _| json(&r, version()));
    ctx.route("/health", |_: &mut Master, _, _| {
        Response::new(StatusCode::OK, "text/plain", "").into()
    });
    ctx.route("/redirect", |m: &mut Master, r, _| redirect(m, &r));
    ctx.route("/api/v1/scheduler", api::scheduler::scheduler);
    ctx.route("/api/v1", api::operator::operator);
    ctx.route("/api/v1/operator", api::operator::operator);
    webui::routes(ctx);
}

/// `serve`'s answer on the leader; elsewhere a redirect to the leader, or 503.
pub(crate) fn led(
    master: &mut Master,
    request: &Request,
    serve: impl FnOnce(&mut Master) -> Reply,
) -> Reply {
    match api::leader_redirect(master, request) {
        Some(redirect) => redirect.into(),
        None => serve(master),
    }
}

/// `/version`: digits and dots only, because clients parse it as numbers.
pub(crate) fn version() -> serde_json::Value {
    json!({"version": MESOS_VERSION, "build_date": "", "build_time": 0, "build_user": ""})
}

/// A JSON answer, wrapped as `fn(<json>)` when the request asks `?jsonp=fn` (the web UI
/// relies on it).
fn json(request: &Request, value: serde_json::Value) -> Reply {
    match request.query.get("jsonp") {
        Some(callback) if is_identifier(callback) => Response::new(
            StatusCode::OK,
            "text/javascript",
            format!("{callback}({value});"),
        )
        .into(),
        Some(_) => HttpError::new(
            StatusCode::BAD_REQUEST,
            "'jsonp' must be a JavaScript identifier",
        )
        .into(),
        None => Response::json(&value).into(),
    }
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.')
}

/// `/master/redirect`: 307 to the leading master (`//<host>:<port>`, its host name on
/// the leader itself, the detected address elsewhere); 503 when none is known.
fn redirect(master: &Master, request: &Request) -> Reply {
    if !request.path.trim_end_matches('/').ends_with("/redirect") {
        return Response::not_found("no such path").into();
    }
    if !master.is_leading() {
        return match &master.election.leader {
            Some(leader) => api::redirect_to(&format!("//{}", leader.addr)).into(),
            None => HttpError::new(StatusCode::SERVICE_UNAVAILABLE, "No leader elected").into(),
        };
    }
    let address = master.info.address.clone().unwrap_or_default();
    let host = address.hostname.or(address.ip).unwrap_or_default();
    api::redirect_to(&format!("//{host}:{}", master.info.port)).into()
}
