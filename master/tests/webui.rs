//! The web UI in a real headless Chromium, driven over WebDriver (`chromedriver`),
//! against a real master and agent in this test's runtime and a stand-in framework
//! that subscribes, launches and acknowledges with the real messages.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`, and `mesos-executor`
//! beside the test binary (`cargo build -p mesos-executor-driver`). Each test runs in
//! its own OS process (nextest), so each has its own master. Screenshots of every page
//! land in `target/webui-screenshots/`.

use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::Parser;
use fantoccini::{Client, ClientBuilder, Locator};
use libproc::{Addr, Config, Context, Pid, Process, ProcessId, Runtime, StartError};
use mesos_master::flags::{Flags, RegistryBackend};
use mesos_proto::mesos::{
    CommandInfo, FrameworkInfo, Launch, Offer, OfferOperation, OperationType, TaskInfo,
};
use mesos_proto::messages::{
    FrameworkRegisteredMessage, ResourceOffersMessage, StatusUpdateMessage,
};
use mesos_proto::scheduler::{Accept, Acknowledge, Call, CallType, Subscribe};
use mesos_proto::FrameworkId;
use serde_json::Value;

/// How long any one wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A framework stand-in: it keeps its id and offers, and acknowledges every update.
#[derive(Debug)]
struct Framework {
    master: Pid,
    id: Option<FrameworkId>,
    offers: Vec<Offer>,
}

impl Process for Framework {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // From the master.
        ctx.install(
            |f: &mut Framework, _from, message: FrameworkRegisteredMessage, _| {
                f.id = Some(message.framework_id);
            },
        );
        ctx.install(
            |f: &mut Framework, _from, message: ResourceOffersMessage, _| {
                f.offers.extend(message.offers);
            },
        );
        ctx.install(
            |f: &mut Framework, _from, message: StatusUpdateMessage, ctx| {
                let update = message.update;
                let (Some(uuid), Some(agent_id)) = (update.status.uuid.clone(), update.slave_id)
                else {
                    return;
                };
                let ack = Call {
                    framework_id: f.id.clone(),
                    kind: CallType::ACKNOWLEDGE,
                    acknowledge: Some(Acknowledge {
                        agent_id,
                        task_id: update.status.task_id,
                        uuid,
                    }),
                    ..Default::default()
                };
                ctx.send(&f.master, ack);
            },
        );
    }
}

/// A master, an agent and a subscribed framework in this test's runtime.
struct Cluster {
    master: Pid,
    agent: Addr<mesos_agent::Agent>,
    framework: Addr<Framework>,
    _work_dir: WorkDir,
}

impl Cluster {
    async fn start(name: &str, master_flags: Flags) -> Cluster {
        let config = Config {
            delegate: Some(mesos_master::MASTER_ID.into()),
            ..Config::default()
        };
        match Runtime::start(config) {
            Ok(_) | Err(StartError::AlreadyStarted(_)) => {}
            Err(e) => panic!("the runtime did not start: {e}"),
        }
        let master = mesos_master::start(master_flags).expect("the master starts");
        let master = master.pid().clone();
        within("the master's recovery", async {
            while get_json(&master, "/metrics/snapshot").await["registrar/log/recovered"] != 1.0 {
                tokio::time::sleep(POLL).await;
            }
        })
        .await;

        let work_dir = WorkDir::new(name);
        let args = [
            "mesos-agent".to_owned(),
            format!("--master={master}"),
            format!("--work_dir={}", work_dir.0.display()),
            format!("--launcher_dir={}", launcher_dir().display()),
            "--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31009]".to_owned(),
            "--registration_backoff_factor=10ms".to_owned(),
        ];
        let flags = mesos_agent::flags::Flags::try_parse_from(args).expect("agent flags");
        let agent = mesos_agent::start(flags).expect("the agent starts");

        let framework = Framework {
            master: master.clone(),
            id: None,
            offers: Vec::new(),
        };
        let framework = libproc::spawn(framework, ProcessId::generate("scheduler")).unwrap();
        let subscribe = Call {
            kind: CallType::SUBSCRIBE,
            subscribe: Some(Subscribe {
                framework_info: FrameworkInfo {
                    user: "tester".into(),
                    name: name.into(),
                    failover_timeout: Some(3600.0),
                    ..Default::default()
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        send(&framework, &master, subscribe).await;
        let cluster = Cluster {
            master,
            agent,
            framework,
            _work_dir: work_dir,
        };
        cluster.offer().await;
        cluster
    }

    /// The framework's newest offer, once it has one.
    async fn offer(&self) -> Offer {
        self.offer_then(|_| ()).await
    }

    /// The framework's newest offer, taken (an offer is used once).
    async fn take_offer(&self) -> Offer {
        self.offer_then(|offers| {
            offers.pop();
        })
        .await
    }

    async fn offer_then(&self, then: fn(&mut Vec<Offer>)) -> Offer {
        within("an offer", async {
            loop {
                let offer = libproc::dispatch(&self.framework, move |f, _| {
                    let offer = f.id.as_ref().and(f.offers.last().cloned());
                    then(&mut f.offers);
                    offer
                })
                .await
                .unwrap();
                if let Some(offer) = offer {
                    return offer;
                }
                tokio::time::sleep(POLL).await;
            }
        })
        .await
    }

    /// Launches a shell command task on the framework's offer.
    async fn launch(&self, id: &str, command: &str) {
        let offer = self.take_offer().await;
        let task = TaskInfo {
            name: id.into(),
            task_id: id.into(),
            agent_id: offer.agent_id.clone(),
            resources: mesos_proto::Resources::parse("cpus:0.5;mem:64", "*").unwrap(),
            command: Some(CommandInfo {
                value: Some(command.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let framework_id = libproc::dispatch(&self.framework, |f, _| f.id.clone())
            .await
            .unwrap();
        let accept = Call {
            framework_id,
            kind: CallType::ACCEPT,
            accept: Some(Accept {
                offer_ids: vec![offer.id.clone()],
                operations: vec![OfferOperation {
                    kind: OperationType::LAUNCH,
                    launch: Some(Launch {
                        task_infos: vec![task],
                    }),
                    launch_group: None,
                }],
                filters: None,
            }),
            ..Default::default()
        };
        send(&self.framework, &self.master, accept).await;
    }

    fn url(&self, page: &str) -> String {
        format!("http://{}/{page}", self.master.addr)
    }
}

async fn send(framework: &Addr<Framework>, master: &Pid, call: Call) {
    let master = master.clone();
    libproc::dispatch(framework, move |_, ctx| ctx.send(&master, call))
        .await
        .unwrap();
}

/// A raw HTTP `GET` with extra header lines; the whole response, empty when nothing
/// answers.
async fn get(at: &Pid, path: &str, headers: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(at.addr).await else {
        return String::new();
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

/// A raw HTTP `GET` of JSON; `null` when nothing (or no JSON) answers.
async fn get_json(at: &Pid, path: &str) -> Value {
    let response = get(at, path, "").await;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// Where cargo put the binaries: `target/<profile>`, above the test's `deps`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .to_path_buf()
}

fn launcher_dir() -> PathBuf {
    let dir = profile_dir();
    assert!(
        dir.join("mesos-executor").exists(),
        "{} has no mesos-executor: build it first (cargo build -p mesos-executor-driver)",
        dir.display()
    );
    dir
}

/// A work dir removed on drop.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "mesos-webui-{name}-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        WorkDir(path)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `chromedriver` on a free port, and a headless Chromium session through it; both
/// end on drop.
struct Browser {
    client: Client,
    driver: Child,
}

impl Browser {
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // Its own process group, so that drop ends the browsers it starts too.
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("chromedriver did not start ({e}): install chromium and chromium-driver")
            });
        within("chromedriver to listen", async {
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                tokio::time::sleep(POLL).await;
            }
        })
        .await;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1400,1000"],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session (install chromium and chromium-driver)");
        Browser { client, driver }
    }

    /// Polls `condition` (a JavaScript expression) in the page until it is true.
    async fn wait_until(&self, what: &str, condition: &str) {
        let script = format!("return !!({condition});");
        let polled = tokio::time::timeout(DEADLINE, async {
            while self.client.execute(&script, vec![]).await.ok() != Some(Value::Bool(true)) {
                tokio::time::sleep(POLL).await;
            }
        })
        .await;
        if polled.is_err() {
            let page = self
                .client
                .execute(
                    "return location.hash + '\\n' + document.body.innerText;",
                    vec![],
                )
                .await;
            panic!("timed out waiting for {what}; the page shows: {page:?}");
        }
    }

    /// The text of the first element matching `selector`, or `""`.
    async fn text(&self, selector: &str) -> String {
        let script =
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';";
        let value = self.client.execute(script, vec![selector.into()]).await;
        value
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Waits until `selector`'s text contains `needle`.
    async fn wait_for_text(&self, selector: &str, needle: &str) {
        let condition = format!(
            "(document.querySelector({selector:?})?.textContent || '').includes({needle:?})"
        );
        self.wait_until(&format!("'{needle}' in {selector}"), &condition)
            .await;
    }

    /// Saves the page as `target/webui-screenshots/<name>.png`.
    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = profile_dir()
            .parent()
            .expect("target/")
            .join("webui-screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("the screenshot is saved");
    }

    /// Fails the test on any error the page logged (a broken module, a failed request).
    async fn assert_no_page_errors(&self) {
        let errors = self
            .client
            .execute("return window.__errors || [];", vec![])
            .await
            .expect("the page answers");
        assert_eq!(errors, Value::Array(vec![]), "errors in the page");
    }

    /// Opens `url` and records the page's uncaught errors for `assert_no_page_errors`.
    async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("the page opens");
        self.client
            .execute(
                "window.__errors = []; window.addEventListener('error', (e) => window.__errors.push(String(e.message)));",
                vec![],
            )
            .await
            .expect("the page runs scripts");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.driver.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.driver.wait();
    }
}

fn master_flags() -> Flags {
    Flags {
        registry: RegistryBackend::InMemory,
        ..Flags::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_the_cluster_and_every_page_renders() {
    let cluster = Cluster::start("dashboard", master_flags()).await;
    let browser = Browser::start().await;
    browser.open(&cluster.url("")).await;
    browser.wait_for_text("#agents-active", "1").await;
    browser.wait_for_text("#frameworks-active", "1").await;
    assert_eq!(browser.text("#agents-unreachable").await, "0");
    assert_eq!(
        browser.text("[data-task-count=\"TASK_RUNNING\"]").await,
        "0"
    );
    browser.wait_for_text("[data-resource=\"cpus\"]", "2").await;
    browser
        .wait_until(
            "the allocation chart",
            "document.querySelector('svg.chart')",
        )
        .await;
    browser.screenshot("dashboard").await;

    // Each page, once it shows its table (or says it is empty).
    for page in ["frameworks", "agents", "offers", "roles"] {
        browser.open(&cluster.url(&format!("#/{page}"))).await;
        browser
            .wait_until(
                &format!("the {page} page"),
                "document.querySelector('main table, main .empty') && !document.querySelector('main .loading')",
            )
            .await;
        browser.screenshot(page).await;
        browser.assert_no_page_errors().await;
    }

    // A framework's page lists the offer it holds.
    let framework_id = libproc::dispatch(&cluster.framework, |f, _| f.id.clone())
        .await
        .unwrap()
        .expect("registered");
    browser
        .open(&cluster.url(&format!("#/frameworks/{}", framework_id.as_str())))
        .await;
    browser
        .wait_for_text("[data-part=\"info\"]", "dashboard")
        .await;
    browser
        .wait_until(
            "the offer",
            "document.querySelector('[data-part=\"offers\"] tbody tr')",
        )
        .await;
    browser.screenshot("framework").await;
    browser.assert_no_page_errors().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launched_task_finishes_live_and_its_sandbox_shows_its_output() {
    let cluster = Cluster::start("tasks", master_flags()).await;
    let browser = Browser::start().await;
    browser.open(&cluster.url("#/tasks")).await;
    browser
        .wait_for_text("[data-part=\"table\"]", "No task has been launched yet")
        .await;
    // A marker that a reload would wipe: the page must update in place.
    browser
        .client
        .execute("window.__sameDocument = true;", vec![])
        .await
        .unwrap();

    cluster
        .launch("webui-task", "echo hello-from-the-web-ui")
        .await;
    browser
        .wait_for_text("tr[data-key=\"webui-task\"]", "FINISHED")
        .await;
    browser
        .wait_until("the same document", "window.__sameDocument === true")
        .await;
    browser.screenshot("tasks").await;

    browser
        .client
        .find(Locator::Css(
            "tr[data-key=\"webui-task\"] a[aria-label^=\"Sandbox\"]",
        ))
        .await
        .expect("a sandbox link")
        .click()
        .await
        .unwrap();
    browser
        .wait_for_text("[data-part=\"listing\"]", "stdout")
        .await;
    browser.screenshot("sandbox").await;
    browser
        .client
        .find(Locator::Css("tr[data-key=\"stdout\"] a"))
        .await
        .expect("a link to stdout")
        .click()
        .await
        .unwrap();
    browser
        .wait_for_text("#file-content", "hello-from-the-web-ui")
        .await;
    browser.screenshot("stdout").await;
    browser.assert_no_page_errors().await;

    // A task that runs until the test's work dir goes: the agent page shows its
    // executor and live usage.
    let work_dir = cluster._work_dir.0.display();
    cluster
        .launch(
            "webui-running",
            &format!("while test -d {work_dir}; do sleep 1; done"),
        )
        .await;
    let agent_id = cluster.offer().await.agent_id;
    browser
        .open(&cluster.url(&format!("#/agents/{}", agent_id.as_str())))
        .await;
    browser
        .wait_for_text("[data-part=\"info\"]", "slave(1)")
        .await;
    browser
        .wait_for_text("[data-part=\"tasks\"]", "webui-task")
        .await;
    browser
        .wait_for_text("[data-part=\"executors\"]", "webui-running")
        .await;
    browser
        .wait_until(
            "a usage sample with a cpu rate",
            "/^[0-9.]+ \\//.test(document.querySelector('[data-part=\"usage\"] tr[data-key=\"webui-running\"] td:nth-child(3)')?.textContent || '')",
        )
        .await;
    browser.screenshot("agent").await;
    browser.assert_no_page_errors().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_agent_turns_unreachable_on_the_agents_page() {
    let flags = Flags {
        agent_ping_timeout: Duration::from_millis(200),
        max_agent_ping_timeouts: 2,
        ..master_flags()
    };
    let cluster = Cluster::start("unreachable", flags).await;
    let agent_id = cluster.offer().await.agent_id;
    let browser = Browser::start().await;
    browser.open(&cluster.url("#/agents")).await;
    let row = format!("tr[data-key=\"{}\"] .agent-state", agent_id.as_str());
    browser.wait_for_text(&row, "Active").await;

    libproc::terminate(cluster.agent.pid());
    libproc::wait(cluster.agent.pid()).await;

    browser.wait_for_text(&row, "Unreachable").await;
    browser.screenshot("agents-unreachable").await;
    browser.open(&cluster.url("")).await;
    browser.wait_for_text("#agents-unreachable", "1").await;
    browser.assert_no_page_errors().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_served_typed_and_revalidated_and_agents_are_forwarded() {
    let cluster = Cluster::start("assets", master_flags()).await;
    let index = get(&cluster.master, "/", "").await;
    assert!(index.starts_with("HTTP/1.1 200"), "{index}");
    assert!(index.contains("content-type: text/html"), "{index}");
    assert!(index.contains("content-security-policy: default-src 'self'"));

    let module = get(&cluster.master, "/master/webui/app.js", "").await;
    assert!(module.contains("content-type: text/javascript"), "{module}");
    let etag = module
        .lines()
        .find_map(|line| line.strip_prefix("etag: "))
        .expect("an ETag")
        .to_owned();
    let again = get(
        &cluster.master,
        "/master/webui/app.js",
        &format!("If-None-Match: {etag}\r\n"),
    )
    .await;
    assert!(again.starts_with("HTTP/1.1 304"), "{again}");

    for missing in [
        "/master/webui/nothing.js",
        "/no/such/page",
        "/master/webui/agents/none/state",
    ] {
        let response = get(&cluster.master, missing, "").await;
        assert!(
            response.starts_with("HTTP/1.1 404"),
            "{missing}: {response}"
        );
    }

    let agent_id = cluster.offer().await.agent_id;
    let state = get_json(
        &cluster.master,
        &format!("/master/webui/agents/{}/state", agent_id.as_str()),
    )
    .await;
    assert_eq!(state["id"], agent_id.as_str());
    let flags = get(
        &cluster.master,
        &format!("/master/webui/agents/{}/flags", agent_id.as_str()),
        "",
    )
    .await;
    assert!(
        flags.starts_with("HTTP/1.1 404"),
        "only the UI's endpoints: {flags}"
    );
}
