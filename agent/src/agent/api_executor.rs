//! `POST /api/v1/executor`: the v1 executor API. SUBSCRIBE answers 200 with a
//! RecordIO event stream; UPDATE, MESSAGE and HEARTBEAT come on their own requests and
//! are answered 202. Calls go to the same handlers as a driver's messages, so an HTTP
//! executor is the same executor inside the agent, only reached through its stream.
//!
//! A closed stream is a disconnected executor. One of a checkpointing framework may
//! subscribe again (also after an agent restart, which waits for it as for a driver's
//! re-registration); any other is destroyed, as Mesos does.

use std::time::Duration;

use http::StatusCode;
use libproc::http::{Reply, Request, Response};
use libproc::Context;
use mesos_proto::executor::{Call, CallType, Subscribe};
use mesos_proto::mesos::{StatusReason, TaskState};
use mesos_proto::messages::StatusUpdate;
use mesos_proto::v1::executor::decode_executor_call;
use mesos_proto::v1::json::{typed, JSON};
use mesos_proto::v1::recordio::record;

use super::api::{error, refusal, DuringRecovery};
use super::executor::{
    error_event, Connection, ExecutorKey, ExecutorState, HttpStream, Termination,
};
use super::Agent;

/// Events waiting for a slow executor before its stream fails.
const MAX_PENDING_STREAM_EVENTS: usize = 1024;
/// How often an HTTP executor gets a HEARTBEAT (Mesos's 30 minutes).
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30 * 60);

impl Agent {
    /// Serves one request of the executor API.
    pub(super) fn executor_api(&mut self, request: Request, ctx: &mut Context<Self>) -> Reply {
        if let Some(response) = refusal(self, &request, DuringRecovery::Served) {
            return response.into();
        }
        let call = match decode_executor_call(&request.body) {
            Ok(call) => call,
            Err(decode) => return error(StatusCode::BAD_REQUEST, decode.to_string()).into(),
        };
        let key = (call.framework_id.clone(), call.executor_id.clone());
        let Some(executor) = self.executors.get(&key) else {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "Executor '{}' of framework '{}' cannot be found",
                    key.1, key.0
                ),
            )
            .into();
        };
        if call.kind == CallType::SUBSCRIBE {
            return self.subscribe_executor(key, call.subscribe.unwrap_or_default(), ctx);
        }
        if !executor.is_http_subscribed() {
            return error(StatusCode::FORBIDDEN, "Executor is not subscribed").into();
        }
        self.executor_call(&key, call, ctx);
        Response::new(StatusCode::ACCEPTED, "text/plain", "").into()
    }

    /// UPDATE, MESSAGE and HEARTBEAT of a subscribed executor.
    fn executor_call(&mut self, key: &ExecutorKey, call: Call, ctx: &mut Context<Self>) {
        match (call.kind, call.update, call.message) {
            (CallType::UPDATE, Some(update), _) => {
                let update = self.update_of(key, update);
                self.executor_status_update(key, update, ctx);
            }
            (CallType::MESSAGE, _, Some(message)) => {
                self.forward_to_framework(key, message.data, ctx)
            }
            _ => {}
        }
    }

    /// A v1 update as the internal `StatusUpdate` the status update manager keeps.
    fn update_of(&self, key: &ExecutorKey, update: mesos_proto::executor::Update) -> StatusUpdate {
        let mut status = update.status;
        status.executor_id = Some(key.1.clone());
        status.agent_id = self.info.id.clone();
        StatusUpdate {
            framework_id: key.0.clone(),
            executor_id: Some(key.1.clone()),
            slave_id: self.info.id.clone(),
            timestamp: status.timestamp.unwrap_or_else(super::tasks::now_secs),
            uuid: status.uuid.clone(),
            status,
            latest_state: None,
        }
    }

    /// SUBSCRIBE: opens the stream and registers the executor over it (or takes it
    /// back after an agent restart, or a broken stream). A terminating executor gets
    /// ERROR and the end of the stream.
    fn subscribe_executor(
        &mut self,
        key: ExecutorKey,
        subscribe: Subscribe,
        ctx: &mut Context<Self>,
    ) -> Reply {
        let (response, pipe) = Response::stream(JSON, MAX_PENDING_STREAM_EVENTS);
        let Some(executor) = self.executors.get(&key) else {
            return error(StatusCode::BAD_REQUEST, "Executor cannot be found").into();
        };
        if executor.state == ExecutorState::Terminating {
            tracing::warn!(framework_id = %key.0, executor_id = %key.1, "Refusing the subscription of a terminating executor");
            // The stream ends once the pipe is dropped here, after the ERROR.
            let _ = pipe.write(record(&error_event("Executor is terminating")));
            return response.into();
        }
        let (stream, closed) = HttpStream::new(pipe);
        let (stream_id, container_id) = (stream.id, executor.container_id.clone());
        let watched = key.clone();
        ctx.defer(closed, move |agent: &mut Agent, (), ctx| {
            agent.executor_stream_closed(&watched, stream_id, ctx)
        });
        let connection = Connection::Http(stream);
        match executor.state {
            ExecutorState::Registering => self.executor_registered(&key, connection, ctx),
            _ => {
                let updates = subscribe
                    .unacknowledged_updates
                    .into_iter()
                    .map(|update| self.update_of(&key, update))
                    .collect();
                let tasks = subscribe.unacknowledged_tasks;
                self.executor_reregistered(&key, connection, tasks, updates, ctx);
            }
        }
        let beating = key.clone();
        ctx.delay(HEARTBEAT_INTERVAL, move |agent: &mut Agent, ctx| {
            agent.executor_heartbeat(&beating, stream_id, &container_id, ctx)
        });
        response.into()
    }

    /// Sends HEARTBEAT on the same stream every interval while it is open.
    fn executor_heartbeat(
        &mut self,
        key: &ExecutorKey,
        stream_id: uuid::Uuid,
        container_id: &mesos_proto::ContainerId,
        ctx: &mut Context<Self>,
    ) {
        let Some(Connection::Http(stream)) = self
            .executors
            .get(key)
            .filter(|e| &e.container_id == container_id)
            .and_then(|e| e.connection.as_ref())
        else {
            return;
        };
        if stream.id != stream_id {
            return;
        }
        if let Err(error) = stream.write(record(&typed("HEARTBEAT", None))) {
            tracing::debug!(executor_id = %key.1, %error, "Could not send a heartbeat");
        }
        let key = key.clone();
        let container_id = container_id.clone();
        ctx.delay(HEARTBEAT_INTERVAL, move |agent: &mut Agent, ctx| {
            agent.executor_heartbeat(&key, stream_id, &container_id, ctx)
        });
    }

    /// The executor's stream `stream_id` ended: if it is still the executor's
    /// connection, the executor is disconnected. One of a checkpointing framework may
    /// come back; any other is destroyed.
    fn executor_stream_closed(
        &mut self,
        key: &ExecutorKey,
        stream_id: uuid::Uuid,
        ctx: &mut Context<Self>,
    ) {
        let Some(executor) = self.executors.get_mut(key) else {
            return;
        };
        if !matches!(&executor.connection, Some(Connection::Http(s)) if s.id == stream_id) {
            return;
        }
        executor.connection = None;
        tracing::info!(framework_id = %key.0, executor_id = %key.1, "Executor's event stream closed");
        if executor.state != ExecutorState::Running || executor.checkpoints() {
            return;
        }
        let termination = Termination {
            state: TaskState::TASK_FAILED,
            reason: StatusReason::REASON_EXECUTOR_TERMINATED,
            message: "Executor disconnected".to_owned(),
        };
        self.destroy_executor(key, termination, ctx);
    }
}
