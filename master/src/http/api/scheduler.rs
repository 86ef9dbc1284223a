//! `POST /api/v1/scheduler`: the v1 scheduler API. SUBSCRIBE answers 200 with a
//! RecordIO event stream named by `Mesos-Stream-Id`; every other call comes on its
//! own request with that header and is answered 202 (UPDATE_FRAMEWORK: 200 once
//! applied). Calls go to the same handlers as the driver's, so HTTP and driver
//! frameworks are the same frameworks inside the master.
//!
//! Events are the driver's messages turned into v1 events ([`SchedulerEvent`]), so
//! that the master sends both kinds through one `send_to_framework`.

use http::header::HeaderValue;
use http::StatusCode;
use libproc::http::{Reply, Request, Response};
use libproc::{Context, Message};
use mesos_proto::messages::{
    ExecutorToFrameworkMessage, ExitedExecutorMessage, FrameworkErrorMessage,
    FrameworkRegisteredMessage, FrameworkReregisteredMessage, LostSlaveMessage,
    RescindResourceOfferMessage, ResourceOffersMessage, StatusUpdateMessage,
};
use mesos_proto::scheduler::CallType;
use mesos_proto::FrameworkId;
use serde_json::{json, Value};

use super::{error, refusal, JSON};
use crate::constants::{DEFAULT_HEARTBEAT_INTERVAL, MAX_PENDING_STREAM_EVENTS};
use crate::framework::{Connection, HttpConnection};
use crate::http::v1_json::{decode_scheduler_call, to_json, typed};
use crate::master::Master;

/// The header naming a subscription stream.
pub(crate) const STREAM_ID_HEADER: &str = "Mesos-Stream-Id";

/// Serves one request of the scheduler API.
pub(crate) fn scheduler(master: &mut Master, request: Request, ctx: &mut Context<Master>) -> Reply {
    if let Some(response) = refusal(master, &request) {
        return response.into();
    }
    let call = match decode_scheduler_call(&request.body) {
        Ok(call) => call,
        Err(decode) => return error(StatusCode::BAD_REQUEST, decode.to_string()).into(),
    };
    master.metrics.call(&call);
    let stream_id = request
        .headers
        .get(STREAM_ID_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if call.kind == CallType::SUBSCRIBE {
        if stream_id.is_some() {
            return error(
                StatusCode::BAD_REQUEST,
                format!("Subscribe calls should not include the '{STREAM_ID_HEADER}' header"),
            )
            .into();
        }
        return subscribe(master, call, ctx);
    }
    let Some(stream_id) = stream_id else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("All non-subscribe calls should include the '{STREAM_ID_HEADER}' header"),
        )
        .into();
    };
    let Some(framework_id) = call.framework_id.clone() else {
        return error(
            StatusCode::BAD_REQUEST,
            "Expecting 'framework_id' to be present",
        )
        .into();
    };
    if let Some(response) = caller_refusal(master, &framework_id, &stream_id) {
        return response.into();
    }
    if call.kind == CallType::UPDATE_FRAMEWORK {
        let update = call.update_framework.unwrap_or_default();
        return match master.update_framework(&framework_id, update, ctx) {
            Ok(()) => Response::new(StatusCode::OK, "text/plain", "").into(),
            Err(message) => error(StatusCode::BAD_REQUEST, message).into(),
        };
    }
    master.handle_call(&framework_id, call, ctx);
    Response::new(StatusCode::ACCEPTED, "text/plain", "").into()
}

/// SUBSCRIBE: opens the stream, then subscribes as a driver's SUBSCRIBE does; the
/// first record is SUBSCRIBED, or ERROR followed by the end of the stream.
fn subscribe(
    master: &mut Master,
    call: mesos_proto::scheduler::Call,
    ctx: &mut Context<Master>,
) -> Reply {
    let (mut response, pipe) = Response::stream(JSON, MAX_PENDING_STREAM_EVENTS);
    let stream_id = uuid::Uuid::new_v4().to_string();
    if let Ok(value) = HeaderValue::from_str(&stream_id) {
        response.headers.insert(STREAM_ID_HEADER, value);
    }
    let (connection, closed) = HttpConnection::new(stream_id.clone(), pipe);
    ctx.defer(closed, move |master: &mut Master, (), ctx| {
        master.http_stream_closed(&stream_id, ctx)
    });
    master.subscribe(Connection::Http(connection), call, ctx);
    response.into()
}

/// Mesos's checks of the caller of a non-SUBSCRIBE call; the answer when one fails.
fn caller_refusal(
    master: &Master,
    framework_id: &FrameworkId,
    stream_id: &str,
) -> Option<Response> {
    let Some(framework) = master.frameworks.get(framework_id) else {
        return Some(error(
            StatusCode::BAD_REQUEST,
            format!("Framework '{framework_id}' cannot be found"),
        ));
    };
    if !framework.is_connected() {
        return Some(error(
            StatusCode::FORBIDDEN,
            format!("Framework '{framework_id}' is not subscribed"),
        ));
    }
    let Some(http) = framework.http() else {
        return Some(error(
            StatusCode::FORBIDDEN,
            format!("Framework '{framework_id}' is not connected via HTTP"),
        ));
    };
    if http.stream_id() != stream_id {
        return Some(error(
            StatusCode::BAD_REQUEST,
            format!(
                "The stream ID '{stream_id}' included in this request didn't match the stream ID currently associated with framework ID '{framework_id}'"
            ),
        ));
    }
    None
}

/// A message of the driver protocol that has a v1 event: how the master tells an
/// HTTP scheduler what it tells a driver.
pub(crate) trait SchedulerEvent: Message {
    /// The event, as JSON.
    fn event(&self) -> Value;
}

fn subscribed(framework_id: &FrameworkId, master_info: &mesos_proto::mesos::MasterInfo) -> Value {
    typed(
        "SUBSCRIBED",
        Some(json!({
            "framework_id": to_json(framework_id),
            "heartbeat_interval_seconds": DEFAULT_HEARTBEAT_INTERVAL.as_secs_f64(),
            "master_info": to_json(master_info),
        })),
    )
}

impl SchedulerEvent for FrameworkRegisteredMessage {
    fn event(&self) -> Value {
        subscribed(&self.framework_id, &self.master_info)
    }
}

impl SchedulerEvent for FrameworkReregisteredMessage {
    fn event(&self) -> Value {
        subscribed(&self.framework_id, &self.master_info)
    }
}

impl SchedulerEvent for ResourceOffersMessage {
    fn event(&self) -> Value {
        typed("OFFERS", Some(json!({"offers": to_json(&self.offers)})))
    }
}

impl SchedulerEvent for RescindResourceOfferMessage {
    fn event(&self) -> Value {
        typed(
            "RESCIND",
            Some(json!({"offer_id": to_json(&self.offer_id)})),
        )
    }
}

impl SchedulerEvent for StatusUpdateMessage {
    /// The status carries the update's uuid when the agent wants an acknowledgement,
    /// and none otherwise (updates the master generates), as schedulers ack exactly
    /// the updates with a uuid.
    fn event(&self) -> Value {
        let update = &self.update;
        let mut status = update.status.clone();
        status.uuid = update.uuid.clone().or(status.uuid);
        if status.agent_id.is_none() {
            status.agent_id = update.slave_id.clone();
        }
        if status.executor_id.is_none() {
            status.executor_id = update.executor_id.clone();
        }
        status.timestamp = status.timestamp.or(Some(update.timestamp));
        typed("UPDATE", Some(json!({"status": to_json(&status)})))
    }
}

impl SchedulerEvent for ExecutorToFrameworkMessage {
    fn event(&self) -> Value {
        typed(
            "MESSAGE",
            Some(json!({
                "agent_id": to_json(&self.slave_id),
                "executor_id": to_json(&self.executor_id),
                "data": crate::http::v1_json::base64::encode(&self.data),
            })),
        )
    }
}

impl SchedulerEvent for LostSlaveMessage {
    fn event(&self) -> Value {
        typed(
            "FAILURE",
            Some(json!({"agent_id": to_json(&self.slave_id)})),
        )
    }
}

impl SchedulerEvent for ExitedExecutorMessage {
    fn event(&self) -> Value {
        typed(
            "FAILURE",
            Some(json!({
                "agent_id": to_json(&self.slave_id),
                "executor_id": to_json(&self.executor_id),
                "status": self.status,
            })),
        )
    }
}

impl SchedulerEvent for FrameworkErrorMessage {
    fn event(&self) -> Value {
        typed("ERROR", Some(json!({"message": self.message})))
    }
}

/// The HEARTBEAT event.
pub(crate) fn heartbeat() -> Value {
    typed("HEARTBEAT", None)
}
