//! The master with `--zk`: its URL checked at start, an unreachable ZooKeeper waited
//! for, and the registry kept in ZooKeeper (chunked, compare-and-swap, damage named).

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mesos_detector::zookeeper::testing::ZooKeeper;
use mesos_detector::zookeeper::ZooKeeperUrl;
use mesos_master::registrar::{AdmittedAgent, Registry, Storage, StorageError};
use mesos_proto::mesos::AgentInfo;
use zookeeper_client as zk;

const MASTER: &str = env!("CARGO_BIN_EXE_mesos-master");

/// How long a master may take to do what a test waits for.
const DEADLINE: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs `mesos-master` with `flags` until it exits (bounded by [`DEADLINE`]).
fn run_master(flags: &[&str]) -> Output {
    let mut child = Command::new(MASTER)
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mesos-master");
    let deadline = Instant::now() + DEADLINE;
    while child.try_wait().expect("wait for mesos-master").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mesos-master did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("the master's output")
}

/// `GET` status code; `None` while nothing answers.
fn status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split(' ').nth(1)?.parse().ok()
}

#[test]
fn bad_zookeeper_urls_are_refused_at_start() {
    for (url, says) in [
        ("127.0.0.1:2181/mesos", "zk://"),
        ("zk://127.0.0.1/mesos", "127.0.0.1"),
        ("zk://127.0.0.1:2181/", "path"),
        ("zk://127.0.0.1:2181", "path"),
    ] {
        let output = run_master(&[
            "--ip=127.0.0.1",
            "--registry=in_memory",
            "--quorum=1",
            &format!("--zk={url}"),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{url} is refused");
        assert!(
            stderr.contains("--zk") && stderr.contains(says),
            "{url}: the error says what is wrong: {stderr}"
        );
    }
}

#[test]
fn an_unreachable_zookeeper_is_waited_for_without_leading() {
    let port = free_port();
    let zk_port = free_port();
    let mut child = Command::new(MASTER)
        .args([
            "--ip=127.0.0.1",
            &format!("--port={port}"),
            "--registry=in_memory",
            "--quorum=1",
            &format!("--zk=zk://127.0.0.1:{zk_port}/mesos"),
            "--quiet",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("start mesos-master");
    let deadline = Instant::now() + DEADLINE;
    while status(port, "/master/health") != Some(200) {
        assert!(Instant::now() < deadline, "the master serves /health");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        status(port, "/master/state"),
        Some(503),
        "no leader is known"
    );
    assert!(
        child.try_wait().expect("the master's status").is_none(),
        "the master keeps waiting for ZooKeeper"
    );
    let _ = child.kill();
    let _ = child.wait();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn a_damaged_registry_znode_stops_the_master_with_a_clear_error() {
    let runtime = runtime();
    let zookeeper = runtime.block_on(ZooKeeper::start()).expect("ZooKeeper");
    let url = zookeeper.url("/mesos");
    runtime.block_on(async {
        let parsed = ZooKeeperUrl::parse(&url).unwrap();
        let client = zk::Client::connect(&parsed.connect_string()).await.unwrap();
        let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        client.mkdir("/mesos", &persistent).await.unwrap();
        client
            .create("/mesos/registry", b"not a manifest", &persistent)
            .await
            .unwrap();
    });
    let output = run_master(&[
        "--ip=127.0.0.1",
        &format!("--port={}", free_port()),
        "--quorum=1",
        "--work_dir=/nonexistent-unused",
        &format!("--zk={url}"),
        "--zk_session_timeout=2secs",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("'/mesos/registry' is damaged"),
        "the error names the znode: {stderr}"
    );
}

/// A registry of `agents` agents with long attributes, so that it can outgrow a znode.
fn registry(agents: usize) -> Registry {
    Registry {
        agents: (0..agents)
            .map(|i| AdmittedAgent {
                info: AgentInfo {
                    hostname: format!("agent-{i}-{}", "x".repeat(200)),
                    id: Some(format!("S{i}").into()),
                    ..AgentInfo::default()
                },
            })
            .collect(),
        ..Registry::default()
    }
}

#[test]
fn the_zookeeper_registry_is_chunked_and_refuses_stale_writes() {
    let runtime = runtime();
    let zookeeper = runtime.block_on(ZooKeeper::start()).expect("ZooKeeper");
    let url = ZooKeeperUrl::parse(&zookeeper.url("/mesos")).unwrap();
    let timeout = Duration::from_secs(5);
    let old = mesos_master::registrar::ZooKeeper::new(url.clone(), timeout);
    let new = mesos_master::registrar::ZooKeeper::new(url.clone(), timeout);
    runtime.block_on(async {
        let client = zk::Client::connect(&url.connect_string()).await.unwrap();
        assert_eq!(
            old.fetch().await.unwrap(),
            None,
            "a new cluster has no registry"
        );
        // Several megabytes: more than a znode holds.
        let big = Arc::new(registry(20_000));
        old.store(big.clone()).await.unwrap();
        let first = chunk_names(&client).await;
        assert!(first.len() > 10, "{} chunks", first.len());

        // One more agent: a few chunks are written, the ones replaced are removed.
        let bigger = Arc::new(registry(20_001));
        old.store(bigger.clone()).await.unwrap();
        let second = chunk_names(&client).await;
        let written = second.difference(&first).count();
        assert!((1..=2).contains(&written), "{written} chunks written");
        assert_eq!(first.difference(&second).count(), written);
        assert_eq!(new.fetch().await.unwrap().as_ref(), Some(&*bigger));

        // A chunk left by a master that died mid-store is removed by the next leader.
        let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        client
            .create("/mesos/registry-deadbeef-0", b"orphan", &persistent)
            .await
            .unwrap();

        // The new leader writes; the old one's next write is refused.
        new.store(Arc::new(registry(3))).await.unwrap();
        let stale = old.store(Arc::new(registry(1))).await.unwrap_err();
        assert!(matches!(stale, StorageError::Conflict { .. }), "{stale}");
        assert_eq!(old.fetch().await.unwrap(), Some(registry(3)));
        let left = chunk_names(&client).await;
        assert!(!left.contains("registry-deadbeef-0"), "{left:?}");
    });
}

/// The registry's chunk znodes under `/mesos`.
async fn chunk_names(client: &zk::Client) -> BTreeSet<String> {
    let (children, _) = client.get_children("/mesos").await.unwrap();
    children
        .into_iter()
        .filter(|name| name.starts_with("registry-"))
        .collect()
}
