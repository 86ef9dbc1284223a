//! Processes inside one runtime: ordering, dispatch, links, timers on a paused clock,
//! defer, filters and HTTP routes.

mod support;

use std::time::Duration;

use libproc::http::{Reply, Request, Response};
use libproc::testing::{drop_message, drop_messages, future_exited, future_message, Match};
use libproc::{Clock, Context, Pid, Process, ProcessGone, ProcessId, SpawnError};
use support::{http, spawn_linker, start, within, Ping, Pong, Ponger, DELEGATE};
use tokio::sync::mpsc;

/// Pings a ponger and records the sequence of pongs.
struct Recorder {
    pongs: Vec<u64>,
}

impl Process for Recorder {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install(
            |this: &mut Self, _from: Pid, pong: Pong, _ctx: &mut Context<Self>| {
                this.pongs.push(pong.sequence);
            },
        );
    }
}

fn spawn_ponger() -> Pid {
    start();
    libproc::spawn(Ponger, ProcessId::generate("ponger"))
        .unwrap()
        .pid()
        .clone()
}

#[tokio::test]
async fn local_messages_arrive_in_order() {
    let ponger = spawn_ponger();
    let recorder =
        libproc::spawn(Recorder { pongs: vec![] }, ProcessId::generate("recorder")).unwrap();
    let count = 20_000;
    let target = ponger.clone();
    libproc::dispatch(&recorder, move |_, ctx| {
        for sequence in 0..count {
            ctx.send(&target, Ping::new(sequence));
        }
    })
    .await
    .unwrap();
    let pongs = within("all pongs", async {
        loop {
            let pongs = libproc::dispatch(&recorder, |this, _| this.pongs.clone())
                .await
                .unwrap();
            if pongs.len() as u64 == count {
                return pongs;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(pongs.iter().copied().eq(0..count), "pongs out of order");
}

struct Counter {
    value: u64,
    finalized: mpsc::UnboundedSender<u64>,
}

impl Process for Counter {
    fn finalize(&mut self, _ctx: &mut Context<Self>) {
        let _ = self.finalized.send(self.value);
    }
}

#[tokio::test]
async fn dispatch_runs_inside_the_process_and_terminate_runs_finalize() {
    start();
    let (tx, mut finalized) = mpsc::unbounded_channel();
    let counter = libproc::spawn(
        Counter {
            value: 0,
            finalized: tx,
        },
        ProcessId::generate("counter"),
    )
    .unwrap();
    for _ in 0..10 {
        libproc::dispatch(&counter, |this, _| this.value += 1)
            .await
            .unwrap();
    }
    let pid = libproc::dispatch(&counter, |_, ctx| ctx.pid().clone())
        .await
        .unwrap();
    assert_eq!(&pid, counter.pid());
    libproc::terminate(counter.pid());
    within("wait", libproc::wait(counter.pid())).await;
    assert_eq!(finalized.recv().await, Some(10));
    let gone = libproc::dispatch(&counter, |this, _| this.value).await;
    assert_eq!(gone, Err(ProcessGone(counter.pid().clone())));
}

#[tokio::test]
async fn a_taken_id_is_refused() {
    start();
    let id = ProcessId::generate("unique");
    let first = libproc::spawn(Ponger, id.clone()).unwrap();
    assert!(
        matches!(libproc::spawn(Ponger, id), Err(SpawnError::DuplicateId(pid)) if &pid == first.pid())
    );
}

#[tokio::test]
async fn a_linker_hears_when_a_local_process_terminates() {
    let ponger = spawn_ponger();
    let mut exited = spawn_linker(&ponger);
    // The link is in place once the linker has initialized; a dispatch orders after it.
    libproc::terminate(&ponger);
    assert_eq!(within("exited", exited.recv()).await, Some(ponger));
}

#[tokio::test]
async fn linking_to_a_missing_local_process_yields_exited() {
    let addr = start();
    let missing = Pid::new("never-spawned", addr);
    let mut exited = spawn_linker(&missing);
    assert_eq!(within("exited", exited.recv()).await, Some(missing));
}

/// Panics on any ping.
struct Fragile;

impl Process for Fragile {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install(
            |_: &mut Self, _from: Pid, _ping: Ping, _ctx: &mut Context<Self>| {
                panic!("fragile process panics on purpose");
            },
        );
    }
}

#[tokio::test]
async fn a_panicking_handler_ends_only_its_process() {
    let ponger = spawn_ponger();
    let fragile = libproc::spawn(Fragile, ProcessId::generate("fragile")).unwrap();
    let mut exited = spawn_linker(fragile.pid());
    libproc::post(fragile.pid(), Ping::new(0)).unwrap();
    assert_eq!(
        within("exited", exited.recv()).await.as_ref(),
        Some(fragile.pid())
    );
    let recorder =
        libproc::spawn(Recorder { pongs: vec![] }, ProcessId::generate("recorder")).unwrap();
    let pong = future_message::<Pong>(&ponger, recorder.pid());
    libproc::dispatch(&recorder, move |_, ctx| ctx.send(&ponger, Ping::new(7)))
        .await
        .unwrap();
    assert_eq!(within("pong", pong).await, Pong { sequence: 7 });
}

/// Records which delayed callbacks ran.
struct Sleeper {
    fired: Vec<&'static str>,
}

impl Process for Sleeper {}

#[tokio::test]
async fn a_paused_clock_drives_timers() {
    start();
    Clock::pause();
    let sleeper =
        libproc::spawn(Sleeper { fired: vec![] }, ProcessId::generate("sleeper")).unwrap();
    let cancelled = libproc::dispatch(&sleeper, |_, ctx| {
        ctx.delay(Duration::from_secs(3600), |this: &mut Sleeper, _| {
            this.fired.push("hour")
        });
        ctx.delay(Duration::from_secs(60), |this: &mut Sleeper, _| {
            this.fired.push("minute")
        });
        ctx.delay(Duration::from_secs(1), |this: &mut Sleeper, _| {
            this.fired.push("cancelled")
        })
    })
    .await
    .unwrap();
    assert!(cancelled.cancel());
    assert!(!cancelled.cancel());
    let fired = |sleeper: libproc::Addr<Sleeper>| async move {
        libproc::dispatch(&sleeper, |this, _| this.fired.clone())
            .await
            .unwrap()
    };

    Clock::advance(Duration::from_secs(59));
    Clock::settle().await;
    assert!(fired(sleeper.clone()).await.is_empty());
    Clock::advance(Duration::from_secs(1));
    Clock::settle().await;
    assert_eq!(fired(sleeper.clone()).await, ["minute"]);
    Clock::advance(Duration::from_secs(3600));
    Clock::settle().await;
    assert_eq!(fired(sleeper.clone()).await, ["minute", "hour"]);
    Clock::resume();
}

#[tokio::test]
async fn real_time_drives_timers_when_not_paused() {
    start();
    let sleeper =
        libproc::spawn(Sleeper { fired: vec![] }, ProcessId::generate("sleeper")).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    libproc::delay(Duration::from_millis(20), &sleeper, move |this, _| {
        this.fired.push("soon");
        let _ = tx.send(());
    });
    within("the timer", rx).await.unwrap();
}

#[tokio::test]
async fn defer_continues_inside_the_process() {
    start();
    let sleeper =
        libproc::spawn(Sleeper { fired: vec![] }, ProcessId::generate("sleeper")).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<&'static str>();
    libproc::dispatch(&sleeper, move |_, ctx| {
        ctx.defer(
            async move { rx.await.unwrap_or("lost") },
            |this: &mut Sleeper, word, _| this.fired.push(word),
        );
    })
    .await
    .unwrap();
    tx.send("deferred").unwrap();
    within("the continuation", async {
        while libproc::dispatch(&sleeper, |this, _| this.fired.clone())
            .await
            .unwrap()
            .is_empty()
        {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(
        libproc::dispatch(&sleeper, |this, _| this.fired.clone())
            .await
            .unwrap(),
        ["deferred"]
    );
}

#[tokio::test]
async fn filters_capture_and_drop_messages() {
    let ponger = spawn_ponger();
    let recorder =
        libproc::spawn(Recorder { pongs: vec![] }, ProcessId::generate("recorder")).unwrap();
    let dropped = drop_message::<Ping>(recorder.pid(), &ponger);
    let captured = future_message::<Pong>(&ponger, recorder.pid());
    let target = ponger.clone();
    libproc::dispatch(&recorder, move |_, ctx| {
        ctx.send(&target, Ping::new(1));
        ctx.send(&target, Ping::new(2));
    })
    .await
    .unwrap();
    within("the drop", dropped).await;
    assert_eq!(within("the capture", captured).await, Pong { sequence: 2 });

    let guard = drop_messages::<Ping>(Match::Any, &ponger);
    let target = ponger.clone();
    libproc::dispatch(&recorder, move |_, ctx| ctx.send(&target, Ping::new(3)))
        .await
        .unwrap();
    drop(guard);
    let captured = future_message::<Pong>(&ponger, recorder.pid());
    let target = ponger.clone();
    libproc::dispatch(&recorder, move |_, ctx| ctx.send(&target, Ping::new(4)))
        .await
        .unwrap();
    assert_eq!(within("the capture", captured).await, Pong { sequence: 4 });
    // A capture resolves as the message passes the filter, just before it is queued.
    within("the recorder to see both pongs", async {
        while libproc::dispatch(&recorder, |this, _| this.pongs.clone())
            .await
            .unwrap()
            != [2, 4]
        {
            tokio::task::yield_now().await;
        }
    })
    .await;

    let exited = future_exited(&ponger, Match::Any);
    let _linker = spawn_linker(&ponger);
    libproc::terminate(&ponger);
    within("the exited filter", exited).await;
}

/// Serves a few routes over its state.
struct Web {
    hits: u64,
}

impl Web {
    fn state(&mut self, request: Request, _ctx: &mut Context<Self>) -> Reply {
        self.hits += 1;
        Response::json(
            &serde_json::json!({"hits": self.hits, "route": request.route, "path": request.path}),
        )
        .into()
    }

    fn echo(&mut self, request: Request, _ctx: &mut Context<Self>) -> Reply {
        let name = request.query.get("name").cloned().unwrap_or_default();
        let body = String::from_utf8_lossy(&request.body).into_owned();
        Reply::deferred(
            async move { Response::text(http::StatusCode::OK, format!("{name}:{body}")) },
        )
    }

    fn stream(&mut self, _request: Request, _ctx: &mut Context<Self>) -> Reply {
        let (response, pipe) = Response::stream("application/json", 16);
        for record in ["1\na", "1\nb", "1\nc"] {
            pipe.write(record).unwrap();
        }
        response.into()
    }
}

impl Process for Web {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.route("/state", Web::state);
        ctx.route("/echo", Web::echo);
        ctx.route("/stream", Web::stream);
    }
}

#[tokio::test]
async fn processes_serve_http_routes() {
    let addr = start();
    let web = libproc::spawn(Web { hits: 0 }, ProcessId::generate("web")).unwrap();
    let id = web.pid().id.to_string();
    let escaped = id.replace('(', "%28").replace(')', "%29");

    let (status, body) = http(addr, "GET", &format!("/{escaped}/state"), b"").await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["hits"], 1);
    assert_eq!(json["route"], "/state");
    let (status, _) = http(addr, "GET", &format!("/{id}/state/"), b"").await;
    assert_eq!(status, 200);
    let (status, body) = http(addr, "GET", &format!("/{id}/state/deeper/path"), b"").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["hits"],
        3
    );

    let (status, body) = http(addr, "POST", &format!("/{id}/echo?name=a%20b"), b"payload").await;
    assert_eq!((status, body.as_str()), (200, "a b:payload"));

    let (status, body) = http(addr, "GET", &format!("/{id}/stream"), b"").await;
    assert_eq!(status, 200);
    assert_eq!(
        body, "3\r\n1\na\r\n3\r\n1\nb\r\n3\r\n1\nc\r\n0\r\n\r\n",
        "one chunk per record"
    );

    assert_eq!(
        http(addr, "GET", &format!("/{id}/nothing"), b"").await.0,
        404
    );
    // A path naming no process is the delegate's, which this test does not run.
    let (status, body) = http(addr, "GET", "/no-such-process/state", b"").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("is not running"), "{body}");
    assert_eq!(
        http(addr, "GET", &format!("/{id}/../{id}/state"), b"")
            .await
            .0,
        404
    );

    let (status, body) = http(addr, "GET", "/__processes__", b"").await;
    assert_eq!(status, 200);
    let processes: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert!(processes
        .iter()
        .any(|p| p["id"] == id.as_str() && p["queue_length"].is_u64()));
}

#[tokio::test]
async fn the_delegate_serves_paths_that_name_no_process() {
    let addr = start();
    libproc::spawn(Web { hits: 0 }, DELEGATE).unwrap();
    let (status, body) = http(addr, "GET", "/state", b"").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["path"],
        "/state"
    );
}

#[tokio::test]
async fn oversized_http_bodies_are_refused() {
    let addr = start();
    let web = libproc::spawn(Web { hits: 0 }, ProcessId::generate("web")).unwrap();
    let body = vec![b'x'; 17 * 1024 * 1024];
    let (status, _) = http(addr, "POST", &format!("/{}/echo", web.pid().id), &body).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn an_abandoned_filter_does_not_take_later_messages() {
    let ponger = spawn_ponger();
    let recorder =
        libproc::spawn(Recorder { pongs: vec![] }, ProcessId::generate("recorder")).unwrap();
    drop(future_message::<Pong>(&ponger, recorder.pid()));
    drop(drop_message::<Ping>(recorder.pid(), &ponger));
    let captured = future_message::<Pong>(&ponger, recorder.pid());
    let target = ponger.clone();
    libproc::dispatch(&recorder, move |_, ctx| ctx.send(&target, Ping::new(9)))
        .await
        .unwrap();
    assert_eq!(within("the capture", captured).await, Pong { sequence: 9 });
}
