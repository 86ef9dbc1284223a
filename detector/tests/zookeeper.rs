//! Detection and contention against real ZooKeeper servers (the Debian `zookeeper`
//! package), each test with its own servers, ports and directories.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libproc::Pid;
use mesos_detector::zookeeper::testing::ZooKeeper;
use mesos_detector::zookeeper::{Candidacy, Leadership, LossReason, MasterContender};
use mesos_detector::MasterDetector;
use mesos_proto::mesos::{Address, MasterInfo};
use zookeeper_client as zk;

/// How long any one awaited event may take (JVMs start slowly on a busy machine).
const DEADLINE: Duration = Duration::from_secs(90);

/// Long enough for a killed standalone server to come back within the session.
const LONG_SESSION: Duration = Duration::from_secs(30);

/// Short enough to expire quickly; the servers allow 1 s and more.
const SHORT_SESSION: Duration = Duration::from_secs(2);

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {DEADLINE:?} waiting for {what}"),
    }
}

async fn zookeeper() -> ZooKeeper {
    init_logs();
    ZooKeeper::start()
        .await
        .unwrap_or_else(|e| panic!("cannot start ZooKeeper: {e}"))
}

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
}

/// A master's identity as a Mesos master writes it, and the pid detectors derive.
fn master(port: u16) -> (MasterInfo, Pid) {
    let pid: Pid = format!("master@127.0.0.1:{port}").parse().unwrap();
    let info = MasterInfo {
        id: format!("master-{port}"),
        ip: u32::from_le_bytes([127, 0, 0, 1]),
        port: u32::from(port),
        pid: Some(pid.to_string()),
        hostname: Some("localhost".into()),
        version: Some("1.11.0".into()),
        address: Some(Address {
            hostname: Some("localhost".into()),
            ip: Some("127.0.0.1".into()),
            port: u32::from(port),
        }),
    };
    (info, pid)
}

async fn contend(url: &str, port: u16, session_timeout: Duration) -> Candidacy {
    let contender = MasterContender::new(url, &master(port).0)
        .unwrap()
        .with_session_timeout(session_timeout);
    within("joining the group", contender.contend())
        .await
        .unwrap()
}

/// Waits until the candidacy reaches `wanted`.
async fn until_leadership(candidacy: &mut Candidacy, wanted: Leadership) {
    within(&format!("{wanted:?}"), async {
        let mut current = candidacy.leadership();
        while current != wanted {
            if let Leadership::Lost(reason) = current {
                panic!("candidacy lost ({reason:?}) while waiting for {wanted:?}");
            }
            current = candidacy.changed().await;
        }
    })
    .await;
}

/// Follows the detector until it names `wanted`.
async fn until_detected(detector: &MasterDetector, wanted: Option<&Pid>) {
    within(&format!("detecting {wanted:?}"), async {
        // A pid no master has, so that the first answer is the current leader.
        let nobody: Pid = "master@127.0.0.1:1".parse().unwrap();
        let mut seen = detector.detect(Some(&nobody)).await;
        while seen.as_ref() != wanted {
            seen = detector.detect(seen.as_ref()).await;
        }
    })
    .await;
}

#[tokio::test]
async fn the_first_contender_leads_and_the_next_takes_over_when_it_leaves() {
    let zk = zookeeper().await;
    let url = zk.url("/mesos");
    let detector = MasterDetector::create(&url).unwrap();
    let other_detector = MasterDetector::create(&url).unwrap();

    let mut first = contend(&url, 5050, LONG_SESSION).await;
    until_leadership(&mut first, Leadership::Elected).await;
    let mut second = contend(&url, 5051, LONG_SESSION).await;
    assert_eq!(second.leadership(), Leadership::Contending);
    let mut third = contend(&url, 5052, LONG_SESSION).await;
    assert!(first.node() < second.node() && second.node() < third.node());
    until_detected(&detector, Some(&master(5050).1)).await;
    until_detected(&other_detector, Some(&master(5050).1)).await;

    // Withdrawing deletes the node: the second is elected and detectors follow.
    let pending = detector.detect(Some(&master(5050).1));
    first.withdraw().await.unwrap();
    until_leadership(&mut second, Leadership::Elected).await;
    assert_eq!(
        within("detection after withdraw", pending).await,
        Some(master(5051).1)
    );
    until_detected(&other_detector, Some(&master(5051).1)).await;

    // Dropping a candidacy closes its session, which removes its node too.
    drop(second);
    until_leadership(&mut third, Leadership::Elected).await;
    until_detected(&detector, Some(&master(5052).1)).await;
    until_detected(&other_detector, Some(&master(5052).1)).await;
}

#[tokio::test]
async fn a_detector_on_an_empty_group_finds_no_leader_until_a_contender_appears() {
    let zk = zookeeper().await;
    let url = zk.url("/not/yet/created");
    let detector = MasterDetector::create(&url).unwrap();
    let nobody: Pid = "master@127.0.0.1:1".parse().unwrap();
    assert_eq!(
        within("detecting no leader", detector.detect(Some(&nobody))).await,
        None
    );

    let detection = detector.detect(None);
    let mut candidacy = contend(&url, 5050, LONG_SESSION).await;
    assert!(candidacy.node().starts_with("/not/yet/created/json.info_"));
    assert_eq!(
        within("detecting the contender", detection).await,
        Some(master(5050).1)
    );
    until_leadership(&mut candidacy, Leadership::Elected).await;
}

#[tokio::test(flavor = "current_thread")]
async fn members_with_corrupt_data_are_skipped_with_a_warning() {
    let zk = zookeeper().await;
    let url = zk.url("/mesos");
    // Everything runs on this thread, so this subscriber sees the detector's logs.
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .finish(),
    );

    // Two members with lower sequences than any master's: garbage, and JSON whose
    // pid is not a pid.
    let client = within(
        "a raw ZooKeeper client",
        zk::Client::connect(&format!("127.0.0.1:{}", zk.client_ports()[0])),
    )
    .await
    .unwrap();
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    client.mkdir("/mesos", &open).await.unwrap();
    let member = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    for data in [&b"\x00garbage{"[..], br#"{"id":"x","pid":"not a pid"}"#] {
        client
            .create("/mesos/json.info_", data, &member)
            .await
            .unwrap();
    }

    let detector = MasterDetector::create(&url).unwrap();
    let mut leader = contend(&url, 5050, LONG_SESSION).await;
    let follower = contend(&url, 5051, LONG_SESSION).await;
    until_leadership(&mut leader, Leadership::Elected).await;
    until_detected(&detector, Some(&master(5050).1)).await;
    assert_eq!(follower.leadership(), Leadership::Contending);
    let logs = logs.text();
    assert!(
        logs.contains("Skipping a group member with corrupt data")
            && logs.contains("json.info_0000000000")
            && logs.contains("json.info_0000000001"),
        "{logs}"
    );
}

#[tokio::test]
async fn a_detector_survives_a_zookeeper_restart_and_follows_the_group_after_it() {
    let mut zk = zookeeper().await;
    let url = zk.url("/mesos");
    let detector = MasterDetector::create_with_session_timeout(&url, LONG_SESSION).unwrap();
    let mut leader = contend(&url, 5050, LONG_SESSION).await;
    until_leadership(&mut leader, Leadership::Elected).await;
    until_detected(&detector, Some(&master(5050).1)).await;

    zk.kill(0);
    let pending = detector.detect(Some(&master(5050).1));
    zk.restart(0).await.unwrap();
    // Same sessions, same node: the leader is still the leader once reconnected, and
    // changes after the restart reach the detector.
    let mut next = contend(&url, 5051, LONG_SESSION).await;
    assert_eq!(leader.leadership(), Leadership::Elected);
    leader.withdraw().await.unwrap();
    until_leadership(&mut next, Leadership::Elected).await;
    assert_eq!(
        within("detection after the restart", pending).await,
        Some(master(5051).1)
    );
}

#[tokio::test]
async fn a_leader_whose_session_is_lost_is_told_it_lost_leadership() {
    let mut zk = zookeeper().await;
    let url = zk.url("/mesos");
    let detector = MasterDetector::create_with_session_timeout(&url, LONG_SESSION).unwrap();
    let mut leader = contend(&url, 5050, SHORT_SESSION).await;
    until_leadership(&mut leader, Leadership::Elected).await;
    until_detected(&detector, Some(&master(5050).1)).await;

    // With ZooKeeper gone for longer than the session timeout, the leader must stop.
    zk.kill(0);
    let lost = within("losing leadership", leader.changed()).await;
    assert!(
        matches!(
            lost,
            Leadership::Lost(LossReason::Disconnected | LossReason::SessionExpired)
        ),
        "{lost:?}"
    );
    assert_eq!(leader.changed().await, lost, "losing is final");

    // Back up, the server expires that session: its node goes, detectors see nobody.
    zk.restart(0).await.unwrap();
    until_detected(&detector, None).await;
}

#[tokio::test]
async fn an_ensemble_keeps_detecting_and_electing_when_a_server_dies() {
    init_logs();
    let mut zk = ZooKeeper::ensemble(3)
        .await
        .unwrap_or_else(|e| panic!("cannot start the ensemble: {e}"));
    let url = zk.url("/mesos");
    let detector = MasterDetector::create(&url).unwrap();
    let mut first = contend(&url, 5050, LONG_SESSION).await;
    until_leadership(&mut first, Leadership::Elected).await;
    until_detected(&detector, Some(&master(5050).1)).await;

    // The quorum's leader dies: the others elect another and clients move over.
    let quorum_leader = within("finding the quorum leader", zk.quorum_leader()).await;
    zk.kill(quorum_leader);
    let mut second = contend(&url, 5051, LONG_SESSION).await;
    assert_eq!(first.leadership(), Leadership::Elected);
    first.withdraw().await.unwrap();
    until_leadership(&mut second, Leadership::Elected).await;
    until_detected(&detector, Some(&master(5051).1)).await;
}

#[tokio::test]
async fn an_unreachable_zookeeper_is_waited_for() {
    let mut zk = zookeeper().await;
    let url = zk.url("/mesos");
    zk.kill(0);

    let detector = MasterDetector::create(&url).expect("creating needs no ZooKeeper");
    let detection = detector.detect(None);
    let contender = MasterContender::new(&url, &master(5050).0).unwrap();
    let joining = tokio::spawn(async move { contender.contend().await });

    zk.restart(0).await.unwrap();
    let mut candidacy = within("joining once ZooKeeper is up", joining)
        .await
        .unwrap()
        .unwrap();
    until_leadership(&mut candidacy, Leadership::Elected).await;
    assert_eq!(
        within("detecting once ZooKeeper is up", detection).await,
        Some(master(5050).1)
    );
}

#[tokio::test]
async fn a_group_made_with_credentials_is_readable_by_all_but_joined_only_by_its_creator() {
    let zk = zookeeper().await;
    let with_credentials = zk.url("/mesos").replace("zk://", "zk://jane:secret@");
    let mut leader = contend(&with_credentials, 5050, LONG_SESSION).await;
    until_leadership(&mut leader, Leadership::Elected).await;
    let detector = MasterDetector::create(&zk.url("/mesos")).unwrap();
    until_detected(&detector, Some(&master(5050).1)).await;

    let stranger = MasterContender::new(&zk.url("/mesos"), &master(5051).0).unwrap();
    let refused = within("being refused", stranger.contend())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("not authorized"), "{refused}");
}

#[tokio::test]
async fn bad_urls_and_master_infos_are_refused() {
    assert!(MasterDetector::create("zk://127.0.0.1:2181/").is_err());
    assert!(MasterDetector::create("zk://127.0.0.1/mesos").is_err());
    assert!(MasterContender::new("127.0.0.1:2181/mesos", &master(5050).0).is_err());
    let nameless = MasterInfo {
        id: "x".into(),
        port: 5050,
        ..MasterInfo::default()
    };
    let error = MasterContender::new("zk://127.0.0.1:2181/mesos", &nameless).unwrap_err();
    assert!(error.to_string().contains("names no master"), "{error}");
}

/// Log output captured for assertions.
#[derive(Debug, Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}
