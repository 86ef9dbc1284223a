//! The master's v1 HTTP APIs over real HTTP (raw TCP, chunked RecordIO read
//! incrementally): every scheduler call and event, the operator calls and event
//! stream, and the bad-input answers. A real master runs in the test's runtime; agents
//! are the stand-ins of `support`, which send the real agent messages.

mod support;

use std::time::Duration;

use libproc::testing::future_message;
use libproc::Pid;
use mesos_proto::mesos::TaskState;
use mesos_proto::messages::*;
use serde_json::{json, Value};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An HTTP response: status, headers (lower-cased names) and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Reads bytes from a connection as they come.
struct Reader {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Reader {
    /// Reads until `buffer` has `n` bytes; false at end of stream.
    async fn fill(&mut self, n: usize) -> bool {
        while self.buffer.len() < n {
            let mut chunk = [0u8; 8192];
            let read = self.stream.read(&mut chunk).await.unwrap_or(0);
            if read == 0 {
                return false;
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
        true
    }

    /// One line without its CRLF; None at end of stream.
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                self.buffer.drain(..end + 2);
                return Some(line);
            }
            let len = self.buffer.len();
            if !self.fill(len + 1).await {
                return None;
            }
        }
    }

    async fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        if !self.fill(n).await {
            return None;
        }
        Some(self.buffer.drain(..n).collect())
    }

    async fn head(&mut self) -> (u16, Vec<(String, String)>) {
        let status_line = self.line().await.expect("a status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status code");
        let mut headers = Vec::new();
        while let Some(line) = self.line().await {
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("a header");
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        (status, headers)
    }

    /// The next HTTP chunk; None when the body ends.
    async fn chunk(&mut self) -> Option<Vec<u8>> {
        let size = usize::from_str_radix(self.line().await?.trim(), 16).ok()?;
        if size == 0 {
            return None;
        }
        let data = self.take(size).await?;
        self.line().await?;
        Some(data)
    }
}

async fn connect(master: &Pid) -> TcpStream {
    TcpStream::connect(master.addr).await.expect("connect")
}

fn request_text(path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut text = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

const JSON_HEADERS: &[(&str, &str)] = &[
    ("Content-Type", "application/json"),
    ("Accept", "application/json"),
];

/// One request with a whole answer.
async fn post_raw(master: &Pid, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut headers = headers.to_vec();
    headers.push(("Connection", "close"));
    let mut stream = connect(master).await;
    stream
        .write_all(&request_text(path, &headers, body))
        .await
        .expect("write");
    let mut reader = Reader {
        stream,
        buffer: Vec::new(),
    };
    let (status, headers) = within("an answer", reader.head()).await;
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        let mut body = Vec::new();
        while let Some(chunk) = reader.chunk().await {
            body.extend(chunk);
        }
        body
    } else {
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        reader.take(length).await.unwrap_or_default()
    };
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A scheduler call on its own request, with the stream id.
async fn call(master: &Pid, stream_id: &str, call: Value) -> Answer {
    let mut headers = JSON_HEADERS.to_vec();
    headers.push(("Mesos-Stream-Id", stream_id));
    post_raw(
        master,
        "/api/v1/scheduler",
        &headers,
        call.to_string().as_bytes(),
    )
    .await
}

/// A subscription stream: events read record by record, one per chunk.
struct Stream {
    reader: Reader,
    status: u16,
    headers: Vec<(String, String)>,
}

impl Stream {
    async fn open(master: &Pid, path: &str, body: Value) -> Stream {
        let mut stream = connect(master).await;
        let text = request_text(path, JSON_HEADERS, body.to_string().as_bytes());
        stream.write_all(&text).await.expect("write");
        let mut reader = Reader {
            stream,
            buffer: Vec::new(),
        };
        let (status, headers) = within("the stream's head", reader.head()).await;
        Stream {
            reader,
            status,
            headers,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn stream_id(&self) -> String {
        self.header("mesos-stream-id")
            .expect("a Mesos-Stream-Id header")
            .to_owned()
    }

    /// The next record; None when the stream ends. Each chunk holds exactly one.
    async fn next(&mut self) -> Option<Value> {
        let chunk = within("the next event", self.reader.chunk()).await?;
        let text = std::str::from_utf8(&chunk).expect("ASCII records");
        assert!(text.is_ascii(), "records are ASCII: {text}");
        let (length, json) = text.split_once('\n').expect("a RecordIO length line");
        assert_eq!(
            length.parse::<usize>().expect("a decimal length"),
            json.len()
        );
        Some(serde_json::from_str(json).expect("a JSON record"))
    }

    /// The next event of `kind`, skipping others.
    async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let event = self
                .next()
                .await
                .unwrap_or_else(|| panic!("the stream ended before {kind}"));
            if event["type"] == kind {
                return event;
            }
        }
    }

    /// Reads until the stream ends; the events seen on the way.
    async fn until_end(&mut self) -> Vec<Value> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }
}

fn subscribe_body(name: &str) -> Value {
    json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "tester", "name": name}}})
}

/// An HTTP framework, subscribed: its stream (SUBSCRIBED and the first HEARTBEAT read)
/// and id.
struct HttpScheduler {
    stream: Stream,
    id: String,
}

impl HttpScheduler {
    async fn subscribe(master: &Pid, name: &str) -> HttpScheduler {
        Self::subscribe_with(master, subscribe_body(name)).await
    }

    async fn subscribe_with(master: &Pid, body: Value) -> HttpScheduler {
        let mut stream = Stream::open(master, "/api/v1/scheduler", body).await;
        assert_eq!(stream.status, 200);
        let subscribed = stream.next().await.expect("SUBSCRIBED");
        assert_eq!(subscribed["type"], "SUBSCRIBED", "{subscribed}");
        let id = subscribed["subscribed"]["framework_id"]["value"]
            .as_str()
            .expect("a framework id")
            .to_owned();
        assert_eq!(stream.next().await.expect("HEARTBEAT")["type"], "HEARTBEAT");
        HttpScheduler { stream, id }
    }

    async fn call(&self, master: &Pid, mut body: Value) -> Answer {
        body["framework_id"] = json!({"value": self.id});
        call(master, &self.stream.stream_id(), body).await
    }
}

async fn master() -> Pid {
    start_master(flags()).await.pid().clone()
}

/// The framework's entry in `/master/state`.
async fn state_framework(master: &Pid, id: &str) -> Value {
    let (_, state) = get(master, "/master/state").await;
    state["frameworks"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            state["completed_frameworks"]
                .as_array()
                .into_iter()
                .flatten(),
        )
        .find(|f| f["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Polls `/master/state` until the framework's entry satisfies `check`.
async fn wait_for_framework(master: &Pid, id: &str, what: &str, check: impl Fn(&Value) -> bool) {
    within(what, async {
        loop {
            if check(&state_framework(master, id).await) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// An HTTP framework subscribed before an agent registers, and its first offer.
async fn http_framework_with_offer(master: &Pid) -> (HttpScheduler, TestAgent, Value) {
    let mut scheduler = HttpScheduler::subscribe(master, "http").await;
    let agent = register_agent(master, "cpus:2;mem:1024").await;
    let offers = scheduler.stream.expect("OFFERS").await;
    let offer = offers["offers"]["offers"][0].clone();
    assert_eq!(offer["agent_id"]["value"], agent.id.as_str());
    assert_eq!(offer["framework_id"]["value"], scheduler.id.as_str());
    (scheduler, agent, offer)
}

fn accept_body(offer: &Value, task: &str) -> Value {
    json!({"type": "ACCEPT", "accept": {
        "offer_ids": [offer["id"]],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
            "name": task, "task_id": {"value": task}, "agent_id": offer["agent_id"],
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": 128}}],
            "command": {"shell": true, "value": "sleep 30"}}]}}],
        "filters": {"refuse_seconds": 5.0}}})
}

/// A status update from the stand-in agent for an HTTP framework's task.
fn agent_update(
    agent: &TestAgent,
    framework_id: &str,
    task: &str,
    state: TaskState,
    uuid: u8,
) -> StatusUpdateMessage {
    let status = mesos_proto::mesos::TaskStatus {
        task_id: task.into(),
        state,
        agent_id: Some(agent.id.clone()),
        uuid: Some(vec![uuid; 16]),
        source: Some(mesos_proto::mesos::StatusSource::SOURCE_EXECUTOR),
        ..Default::default()
    };
    StatusUpdateMessage {
        update: StatusUpdate {
            framework_id: framework_id.into(),
            slave_id: Some(agent.id.clone()),
            status,
            timestamp: 1.0,
            uuid: Some(vec![uuid; 16]),
            ..Default::default()
        },
        pid: Some(agent.pid().to_string()),
    }
}

#[tokio::test]
async fn subscribe_streams_subscribed_then_heartbeat_and_appears_in_state() {
    let master = master().await;
    let mut stream = Stream::open(&master, "/api/v1/scheduler", subscribe_body("http")).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("content-type"), Some("application/json"));
    assert_eq!(stream.header("transfer-encoding"), Some("chunked"));
    assert!(stream.stream_id().len() <= 128);
    let subscribed = stream.next().await.unwrap();
    assert_eq!(subscribed["type"], "SUBSCRIBED");
    assert_eq!(subscribed["subscribed"]["heartbeat_interval_seconds"], 15.0);
    assert_eq!(
        subscribed["subscribed"]["master_info"]["port"],
        master.addr.port()
    );
    assert_eq!(stream.next().await.unwrap(), json!({"type": "HEARTBEAT"}));
    let id = subscribed["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap();
    let framework = state_framework(&master, id).await;
    assert_eq!(framework["name"], "http");
    assert_eq!(framework["active"], true);
    assert!(
        framework.get("pid").is_none_or(Value::is_null),
        "{framework}"
    );
}

#[tokio::test]
async fn accept_launches_and_updates_are_acknowledged() {
    let master = master().await;
    let (mut scheduler, agent, offer) = http_framework_with_offer(&master).await;
    let run = future_message::<RunTaskMessage>(&master, agent.pid());
    let answer = scheduler.call(&master, accept_body(&offer, "t1")).await;
    assert_eq!(answer.status, 202, "{answer:?}");
    assert!(answer.body.is_empty());
    let run = within("the launch at the agent", run).await;
    assert_eq!(run.task.task_id.as_str(), "t1");
    assert_eq!(run.framework.id.unwrap().as_str(), scheduler.id);
    assert_eq!(run.pid, None);

    send(
        &agent.addr,
        &master,
        agent_update(&agent, &scheduler.id, "t1", TaskState::TASK_RUNNING, 7),
    )
    .await;
    let update = scheduler.stream.expect("UPDATE").await;
    let status = &update["update"]["status"];
    assert_eq!(status["state"], "TASK_RUNNING");
    assert_eq!(status["task_id"]["value"], "t1");
    assert_eq!(status["agent_id"]["value"], agent.id.as_str());
    assert_eq!(status["uuid"], "BwcHBwcHBwcHBwcHBwcHBw==");

    let acked = future_message::<StatusUpdateAcknowledgementMessage>(&master, agent.pid());
    let acknowledge = json!({"type": "ACKNOWLEDGE", "acknowledge": {
        "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": status["uuid"]}});
    assert_eq!(scheduler.call(&master, acknowledge).await.status, 202);
    let acked = within("the acknowledgement at the agent", acked).await;
    assert_eq!(acked.uuid, vec![7; 16]);
    assert_eq!(acked.task_id.as_str(), "t1");
}

#[tokio::test]
async fn launch_group_runs_a_task_group() {
    let master = master().await;
    let (scheduler, agent, offer) = http_framework_with_offer(&master).await;
    let run = future_message::<RunTaskGroupMessage>(&master, agent.pid());
    let body = json!({"type": "ACCEPT", "accept": {
        "offer_ids": [offer["id"]],
        "operations": [{"type": "LAUNCH_GROUP", "launch_group": {
            "executor": {"executor_id": {"value": "e1"}, "type": "DEFAULT",
                         "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                                       {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}]},
            "task_group": {"tasks": [{"name": "g1", "task_id": {"value": "g1"}, "agent_id": offer["agent_id"],
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}}],
                "command": {"value": "true"}}]}}}]}});
    assert_eq!(scheduler.call(&master, body).await.status, 202);
    let run = within("the task group at the agent", run).await;
    assert_eq!(run.task_group.tasks[0].task_id.as_str(), "g1");
}

#[tokio::test]
async fn decline_revive_suppress_and_request() {
    let master = master().await;
    let (mut scheduler, _agent, offer) = http_framework_with_offer(&master).await;
    let decline = json!({"type": "DECLINE", "decline": {"offer_ids": [offer["id"]], "filters": {"refuse_seconds": 3600.0}}});
    assert_eq!(scheduler.call(&master, decline).await.status, 202);
    let revive = json!({"type": "REVIVE", "revive": {"roles": []}});
    assert_eq!(scheduler.call(&master, revive).await.status, 202);
    let again = scheduler.stream.expect("OFFERS").await;
    assert_ne!(again["offers"]["offers"][0]["id"], offer["id"]);
    assert_eq!(
        scheduler
            .call(&master, json!({"type": "SUPPRESS", "suppress": {}}))
            .await
            .status,
        202
    );
    let request = json!({"type": "REQUEST", "request": {"requests": [{"resources": []}]}});
    assert_eq!(scheduler.call(&master, request).await.status, 202);
}

#[tokio::test]
async fn kill_shutdown_and_messages_both_ways() {
    let master = master().await;
    let (mut scheduler, agent, offer) = http_framework_with_offer(&master).await;
    let run = future_message::<RunTaskMessage>(&master, agent.pid());
    scheduler.call(&master, accept_body(&offer, "t1")).await;
    within("the launch", run).await;

    let kill = future_message::<KillTaskMessage>(&master, agent.pid());
    let body = json!({"type": "KILL", "kill": {"task_id": {"value": "t1"}, "agent_id": offer["agent_id"]}});
    assert_eq!(scheduler.call(&master, body).await.status, 202);
    assert_eq!(within("the kill", kill).await.task_id.as_str(), "t1");

    let shutdown = future_message::<ShutdownExecutorMessage>(&master, agent.pid());
    let body = json!({"type": "SHUTDOWN", "shutdown": {"executor_id": {"value": "e"}, "agent_id": offer["agent_id"]}});
    assert_eq!(scheduler.call(&master, body).await.status, 202);
    let shutdown = within("the shutdown", shutdown).await;
    assert_eq!(shutdown.executor_id.unwrap().as_str(), "e");

    let forwarded = future_message::<FrameworkToExecutorMessage>(&master, agent.pid());
    let body = json!({"type": "MESSAGE", "message": {"agent_id": offer["agent_id"], "executor_id": {"value": "e"}, "data": "aGVsbG8="}});
    assert_eq!(scheduler.call(&master, body).await.status, 202);
    assert_eq!(
        within("the message at the agent", forwarded).await.data,
        b"hello"
    );

    let back = ExecutorToFrameworkMessage {
        slave_id: agent.id.clone(),
        framework_id: scheduler.id.as_str().into(),
        executor_id: "e".into(),
        data: b"world".to_vec(),
    };
    send(&agent.addr, &master, back).await;
    let message = scheduler.stream.expect("MESSAGE").await;
    assert_eq!(message["message"]["data"], "d29ybGQ=");
    assert_eq!(message["message"]["executor_id"]["value"], "e");

    let exited = ExitedExecutorMessage {
        slave_id: agent.id.clone(),
        framework_id: scheduler.id.as_str().into(),
        executor_id: "e".into(),
        status: 9,
    };
    send(&agent.addr, &master, exited).await;
    let failure = scheduler.stream.expect("FAILURE").await;
    assert_eq!(failure["failure"]["executor_id"]["value"], "e");
    assert_eq!(failure["failure"]["status"], 9);
}

#[tokio::test]
async fn reconcile_answers_without_uuid() {
    let master = master().await;
    let mut scheduler = HttpScheduler::subscribe(&master, "http").await;
    let body =
        json!({"type": "RECONCILE", "reconcile": {"tasks": [{"task_id": {"value": "ghost"}}]}});
    assert_eq!(scheduler.call(&master, body).await.status, 202);
    let update = scheduler.stream.expect("UPDATE").await;
    let status = &update["update"]["status"];
    assert_eq!(status["task_id"]["value"], "ghost");
    assert_eq!(status["state"], "TASK_LOST");
    assert_eq!(status["reason"], "REASON_RECONCILIATION");
    assert!(status.get("uuid").is_none(), "{status}");
}

#[tokio::test]
async fn agent_removal_rescinds_offers_and_reports_failure() {
    let master = master().await;
    let (mut scheduler, agent, offer) = http_framework_with_offer(&master).await;
    send(
        &agent.addr,
        &master,
        UnregisterSlaveMessage {
            slave_id: agent.id.clone(),
        },
    )
    .await;
    let rescind = scheduler.stream.expect("RESCIND").await;
    assert_eq!(rescind["rescind"]["offer_id"], offer["id"]);
    let failure = scheduler.stream.expect("FAILURE").await;
    assert_eq!(failure["failure"]["agent_id"]["value"], agent.id.as_str());
}

#[tokio::test]
async fn teardown_removes_the_framework_and_ends_the_stream() {
    let master = master().await;
    let mut scheduler = HttpScheduler::subscribe(&master, "http").await;
    assert_eq!(
        scheduler
            .call(&master, json!({"type": "TEARDOWN"}))
            .await
            .status,
        202
    );
    scheduler.stream.until_end().await;
    let framework = state_framework(&master, &scheduler.id).await;
    assert_eq!(framework["active"], false, "{framework}");
    let (_, state) = get(&master, "/master/state").await;
    assert!(state["completed_frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == scheduler.id.as_str()));
}

#[tokio::test]
async fn resubscribe_fails_over_and_the_old_stream_gets_error() {
    let master = master().await;
    let mut old = HttpScheduler::subscribe(&master, "http").await;
    let body = json!({"type": "SUBSCRIBE", "framework_id": {"value": old.id},
        "subscribe": {"framework_info": {"user": "tester", "name": "http", "id": {"value": old.id}}}});
    let mut new = Stream::open(&master, "/api/v1/scheduler", body).await;
    assert_eq!(new.status, 200);
    let subscribed = new.next().await.unwrap();
    assert_eq!(
        subscribed["subscribed"]["framework_id"]["value"],
        old.id.as_str()
    );
    assert_ne!(new.stream_id(), old.stream.stream_id());
    let rest = old.stream.until_end().await;
    let error = rest
        .iter()
        .find(|e| e["type"] == "ERROR")
        .expect("ERROR on the old stream");
    assert_eq!(error["error"]["message"], "Framework failed over");
    let stale = old.call(&master, json!({"type": "REVIVE"})).await;
    assert_eq!(stale.status, 400);
    assert!(stale.body.contains("didn't match"), "{}", stale.body);
    let current = call(
        &master,
        &new.stream_id(),
        json!({"type": "REVIVE", "framework_id": {"value": old.id}}),
    )
    .await;
    assert_eq!(current.status, 202);
}

#[tokio::test]
async fn closing_the_stream_disconnects_and_resubscribing_reconnects() {
    let master = master().await;
    let mut body = subscribe_body("http");
    body["subscribe"]["framework_info"]["failover_timeout"] = json!(60.0);
    let scheduler = HttpScheduler::subscribe_with(&master, body).await;
    let id = scheduler.id.clone();
    drop(scheduler);
    wait_for_framework(&master, &id, "the framework to disconnect", |f| {
        f["connected"] == false
    })
    .await;
    let body = json!({"type": "SUBSCRIBE", "framework_id": {"value": id},
        "subscribe": {"framework_info": {"user": "tester", "name": "http", "id": {"value": id},
                                          "failover_timeout": 60.0}}});
    let mut stream = Stream::open(&master, "/api/v1/scheduler", body).await;
    assert_eq!(stream.next().await.unwrap()["type"], "SUBSCRIBED");
    wait_for_framework(&master, &id, "the framework to reconnect", |f| {
        f["connected"] == true && f["active"] == true
    })
    .await;
}

#[tokio::test]
async fn update_framework_applies_or_refuses() {
    let master = master().await;
    let scheduler = HttpScheduler::subscribe(&master, "http").await;
    let info =
        |user: &str, name: &str| json!({"user": user, "name": name, "id": {"value": scheduler.id}});
    let body = json!({"type": "UPDATE_FRAMEWORK", "update_framework": {"framework_info": info("tester", "renamed")}});
    let answer = scheduler.call(&master, body).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        state_framework(&master, &scheduler.id).await["name"],
        "renamed"
    );
    let body = json!({"type": "UPDATE_FRAMEWORK", "update_framework": {"framework_info": info("other", "renamed")}});
    let answer = scheduler.call(&master, body).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("cannot change"), "{}", answer.body);
}

#[tokio::test]
async fn an_invalid_subscription_gets_error_and_the_stream_ends() {
    let master = master().await;
    let body = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "tester", "name": "x", "role": "bad role"}}});
    let mut stream = Stream::open(&master, "/api/v1/scheduler", body).await;
    assert_eq!(stream.status, 200);
    let events = stream.until_end().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "ERROR");
}

/// Headers, body, the status expected and text the answer must contain.
type BadCase<'a> = (Vec<(&'a str, &'a str)>, Vec<u8>, u16, &'a str);

#[tokio::test]
async fn bad_requests_are_refused_with_a_message() {
    let master = master().await;
    let scheduler = HttpScheduler::subscribe(&master, "http").await;
    let stream_id = scheduler.stream.stream_id();
    let path = "/api/v1/scheduler";
    let revive = json!({"type": "REVIVE", "framework_id": {"value": scheduler.id}}).to_string();
    let cases: Vec<BadCase<'_>> = vec![
        (
            vec![("Content-Type", "text/plain")],
            revive.clone().into(),
            415,
            "Content-Type",
        ),
        (vec![], revive.clone().into(), 400, "Content-Type"),
        (
            vec![
                ("Content-Type", "application/json"),
                ("Accept", "application/x-protobuf"),
            ],
            revive.clone().into(),
            406,
            "Accept",
        ),
        (JSON_HEADERS.to_vec(), b"{not json".to_vec(), 400, "parse"),
        (
            JSON_HEADERS.to_vec(),
            br#"{"type":"WARP"}"#.to_vec(),
            400,
            "Unknown call type",
        ),
        (
            JSON_HEADERS.to_vec(),
            br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"n"}}}"#.to_vec(),
            400,
            "subscribe.framework_info.user",
        ),
        (
            JSON_HEADERS.to_vec(),
            br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":1,"name":"n"}}}"#
                .to_vec(),
            400,
            "invalid type",
        ),
        (
            JSON_HEADERS.to_vec(),
            revive.clone().into(),
            400,
            "Mesos-Stream-Id",
        ),
        (
            vec![
                ("Content-Type", "application/json"),
                ("Mesos-Stream-Id", "x"),
            ],
            subscribe_body("s").to_string().into(),
            400,
            "should not include",
        ),
        (
            vec![
                ("Content-Type", "application/json"),
                ("Mesos-Stream-Id", "nope"),
            ],
            revive.clone().into(),
            400,
            "didn't match",
        ),
        (
            vec![
                ("Content-Type", "application/json"),
                ("Mesos-Stream-Id", &stream_id),
            ],
            json!({"type": "REVIVE", "framework_id": {"value": "unknown"}})
                .to_string()
                .into(),
            400,
            "cannot be found",
        ),
        (
            vec![
                ("Content-Type", "application/json"),
                ("Mesos-Stream-Id", &stream_id),
            ],
            vec![b' '; 5 * 1024 * 1024],
            413,
            "limit",
        ),
    ];
    for (headers, body, status, text) in cases {
        let answer = post_raw(&master, path, &headers, &body).await;
        assert_eq!(answer.status, status, "{headers:?}: {answer:?}");
        assert!(answer.body.contains(text), "{headers:?}: {}", answer.body);
    }
    let mut stream = connect(&master).await;
    stream
        .write_all(b"GET /api/v1/scheduler HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 405"), "{text}");
    // The framework is not harmed by any of it.
    assert_eq!(
        scheduler
            .call(&master, json!({"type": "REVIVE"}))
            .await
            .status,
        202
    );
}

#[tokio::test]
async fn a_driver_framework_cannot_call_over_http() {
    let master = master().await;
    let driver = subscribe(&master, framework_info("driver")).await;
    let http = HttpScheduler::subscribe(&master, "http").await;
    let answer = call(
        &master,
        &http.stream.stream_id(),
        json!({"type": "REVIVE", "framework_id": {"value": driver.id.as_str()}}),
    )
    .await;
    assert_eq!(answer.status, 403);
    assert!(
        answer.body.contains("not connected via HTTP"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn http_and_driver_frameworks_share_offers() {
    let master = master().await;
    let driver = subscribe(&master, framework_info("driver")).await;
    let driver_offers = future_message::<ResourceOffersMessage>(&master, driver.pid());
    let mut http = HttpScheduler::subscribe(&master, "http").await;
    register_agent(&master, "cpus:2;mem:1024").await;
    register_agent(&master, "cpus:2;mem:1024").await;
    within("the driver's offers", driver_offers).await;
    http.stream.expect("OFFERS").await;
}

/// One operator call; its answer's JSON.
async fn operator_call(master: &Pid, path: &str, kind: &str) -> Value {
    let answer = post_raw(
        master,
        path,
        JSON_HEADERS,
        json!({"type": kind}).to_string().as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 200, "{kind}: {answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let json = answer.json();
    assert_eq!(json["type"], kind);
    json
}

#[tokio::test]
async fn operator_calls_answer_the_state() {
    let master = master().await;
    let (scheduler, agent, offer) = http_framework_with_offer(&master).await;
    let run = future_message::<RunTaskMessage>(&master, agent.pid());
    scheduler.call(&master, accept_body(&offer, "t1")).await;
    within("the launch", run).await;
    for path in ["/api/v1", "/api/v1/operator", "/master/api/v1"] {
        assert_eq!(
            operator_call(&master, path, "GET_HEALTH").await["get_health"]["healthy"],
            true
        );
    }
    let path = "/api/v1";
    let flags = operator_call(&master, path, "GET_FLAGS").await;
    assert!(flags["get_flags"]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "port"));
    let version = operator_call(&master, path, "GET_VERSION").await;
    assert_eq!(
        version["get_version"]["version_info"]["version"],
        mesos_proto::MESOS_VERSION
    );
    let metrics = operator_call(&master, path, "GET_METRICS").await;
    assert!(metrics["get_metrics"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "master/elected"));
    assert_eq!(
        operator_call(&master, path, "GET_LOGGING_LEVEL").await["get_logging_level"]["level"],
        0
    );
    let agents = operator_call(&master, path, "GET_AGENTS").await;
    let listed = &agents["get_agents"]["agents"][0];
    assert_eq!(listed["agent_info"]["id"]["value"], agent.id.as_str());
    assert_eq!(listed["active"], true);
    let frameworks = operator_call(&master, path, "GET_FRAMEWORKS").await;
    let listed = &frameworks["get_frameworks"]["frameworks"][0];
    assert_eq!(
        listed["framework_info"]["id"]["value"],
        scheduler.id.as_str()
    );
    assert_eq!(listed["connected"], true);
    let tasks = operator_call(&master, path, "GET_TASKS").await;
    let task = &tasks["get_tasks"]["tasks"][0];
    assert_eq!(task["task_id"]["value"], "t1");
    assert_eq!(task["agent_id"]["value"], agent.id.as_str());
    assert_eq!(task["state"], "TASK_STAGING");
    operator_call(&master, path, "GET_EXECUTORS").await;
    let roles = operator_call(&master, path, "GET_ROLES").await;
    assert_eq!(roles["get_roles"]["roles"][0]["name"], "*");
    let master_info = operator_call(&master, path, "GET_MASTER").await;
    assert_eq!(
        master_info["get_master"]["master_info"]["port"],
        master.addr.port()
    );
    let state = operator_call(&master, path, "GET_STATE").await;
    assert_eq!(state["get_state"]["get_tasks"], tasks["get_tasks"]);

    let elsewhere = post_raw(
        &master,
        "/api/v1/nothing",
        JSON_HEADERS,
        br#"{"type":"GET_HEALTH"}"#,
    )
    .await;
    assert_eq!(elsewhere.status, 404);
    let unserved = post_raw(
        &master,
        path,
        JSON_HEADERS,
        br#"{"type":"MARK_AGENT_GONE"}"#,
    )
    .await;
    assert_eq!(unserved.status, 501);
    let unknown = post_raw(&master, path, JSON_HEADERS, br#"{"type":"GET_EVERYTHING"}"#).await;
    assert_eq!(unknown.status, 400);
    let wrong_type = post_raw(
        &master,
        path,
        &[("Content-Type", "text/plain")],
        br#"{"type":"GET_HEALTH"}"#,
    )
    .await;
    assert_eq!(wrong_type.status, 415);
}

#[tokio::test]
async fn operator_subscribe_streams_the_cluster_changes() {
    let master = master().await;
    let mut events = Stream::open(&master, "/api/v1", json!({"type": "SUBSCRIBE"})).await;
    assert_eq!(events.status, 200);
    let subscribed = events.next().await.unwrap();
    assert_eq!(subscribed["type"], "SUBSCRIBED");
    assert!(subscribed["subscribed"]["get_state"]["get_agents"].is_object());
    assert_eq!(events.next().await.unwrap()["type"], "HEARTBEAT");

    let (mut scheduler, agent, offer) = http_framework_with_offer(&master).await;
    let added = events.expect("FRAMEWORK_ADDED").await;
    assert_eq!(
        added["framework_added"]["framework"]["framework_info"]["id"]["value"],
        scheduler.id.as_str()
    );
    let agent_added = events.expect("AGENT_ADDED").await;
    assert_eq!(
        agent_added["agent_added"]["agent"]["agent_info"]["id"]["value"],
        agent.id.as_str()
    );

    scheduler.call(&master, accept_body(&offer, "t1")).await;
    let task_added = events.expect("TASK_ADDED").await;
    assert_eq!(task_added["task_added"]["task"]["task_id"]["value"], "t1");
    send(
        &agent.addr,
        &master,
        agent_update(&agent, &scheduler.id, "t1", TaskState::TASK_RUNNING, 1),
    )
    .await;
    let updated = events.expect("TASK_UPDATED").await;
    assert_eq!(updated["task_updated"]["state"], "TASK_RUNNING");
    assert_eq!(updated["task_updated"]["status"]["task_id"]["value"], "t1");
    scheduler.stream.expect("UPDATE").await;

    send(
        &agent.addr,
        &master,
        UnregisterSlaveMessage {
            slave_id: agent.id.clone(),
        },
    )
    .await;
    let removed = events.expect("AGENT_REMOVED").await;
    assert_eq!(
        removed["agent_removed"]["agent_id"]["value"],
        agent.id.as_str()
    );
    scheduler.call(&master, json!({"type": "TEARDOWN"})).await;
    let removed = events.expect("FRAMEWORK_REMOVED").await;
    assert_eq!(
        removed["framework_removed"]["framework_info"]["id"]["value"],
        scheduler.id.as_str()
    );
}

#[tokio::test]
async fn heartbeats_follow_every_interval_on_both_streams() {
    let master = master().await;
    let mut scheduler = HttpScheduler::subscribe(&master, "http").await;
    let mut operator = Stream::open(&master, "/api/v1", json!({"type": "SUBSCRIBE"})).await;
    operator.expect("HEARTBEAT").await;
    libproc::Clock::pause();
    for _ in 0..2 {
        libproc::Clock::advance(Duration::from_secs(15));
        assert_eq!(
            scheduler.stream.next().await.unwrap(),
            json!({"type": "HEARTBEAT"})
        );
        assert_eq!(operator.next().await.unwrap(), json!({"type": "HEARTBEAT"}));
    }
}
