//! Who leads: how agents and scheduler drivers learn the leading master from a
//! `--master` value.
//!
//! [`MasterUrl::parse`] reads the forms Mesos accepts: `host:port` (resolved, IPv4
//! preferred), `master@ip:port`, `zk://[user:pass@]host:port[,host:port...]/path`, and
//! `file:///path` (a file holding one of the others). [`MasterDetector::create`] turns
//! it into a detector; [`MasterDetector::detect`] is Mesos's `detect(previous)`: it
//! resolves when the leader differs from what the caller last saw.
//!
//! ```
//! use mesos_detector::MasterDetector;
//!
//! let detector = MasterDetector::create("master@127.0.0.1:5050").unwrap();
//! let leader = libproc::Runtime::block_on(detector.detect(None));
//! assert_eq!(leader.unwrap().to_string(), "master@127.0.0.1:5050");
//! ```
//!
//! A `zk://` value gives a [`ZooKeeperMasterDetector`], which follows the masters'
//! election in ZooKeeper; masters take part in it through
//! [`zookeeper::MasterContender`].
//!
//! Layout: [`zookeeper`] (the `zk://` parser, detection and contention through
//! ZooKeeper, and, with the `testing` feature, real ZooKeeper servers for tests),
//! `standalone` (the hand-set detector).

#![warn(missing_docs)]

mod standalone;
pub mod zookeeper;

use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use libproc::Pid;

pub use standalone::StandaloneMasterDetector;
pub use zookeeper::{
    ZooKeeperCredentials, ZooKeeperMasterDetector, ZooKeeperServer, ZooKeeperUrl, ZooKeeperUrlError,
};

/// The process id of a master, in every master pid.
pub const MASTER_ID: &str = "master";

/// How many `file://` indirections a value may go through; a file naming itself
/// would otherwise be read forever.
const MAX_FILE_INDIRECTIONS: usize = 8;

/// Why a `--master` value gives no detector.
#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    /// The value is none of the accepted forms, or its host does not resolve.
    #[error("failed to parse '{text}': {reason}")]
    Master {
        /// The value (at most its first 256 characters).
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `file://` value names a file that cannot be read.
    #[error("failed to read from file at '{path}': {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// `file://` values lead to further `file://` values too many times.
    #[error("too many nested 'file://' values (more than {MAX_FILE_INDIRECTIONS})")]
    FileLoop,
    /// A `zk://` value does not parse.
    #[error(transparent)]
    ZooKeeperUrl(#[from] ZooKeeperUrlError),
    /// A `zk://` value where one master's pid is needed: the leader of a group can
    /// only be detected ([`MasterDetector::create`]).
    #[error("'{0}' names a ZooKeeper group, not one master: its leader must be detected")]
    NotOneMaster(ZooKeeperUrl),
}

/// A parsed `--master` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterUrl {
    /// One master at a known pid.
    Pid(Pid),
    /// A group of masters electing their leader in ZooKeeper.
    ZooKeeper(ZooKeeperUrl),
}

impl MasterUrl {
    /// Parses a `--master` value (surrounding whitespace ignored). `host:port` is
    /// resolved now, preferring an IPv4 address, and names the process `master`;
    /// `master@host:port` is the same with the id spelled out. `file:///path` is
    /// replaced by the trimmed content of the file.
    pub fn parse(text: &str) -> Result<MasterUrl, DetectorError> {
        let mut text = text.trim().to_owned();
        for _ in 0..=MAX_FILE_INDIRECTIONS {
            let Some(path) = text.strip_prefix("file://") else {
                return parse_direct(&text);
            };
            let path = PathBuf::from(path);
            text = std::fs::read_to_string(&path)
                .map_err(|source| DetectorError::File { path, source })?
                .trim()
                .to_owned();
        }
        Err(DetectorError::FileLoop)
    }
}

fn parse_direct(text: &str) -> Result<MasterUrl, DetectorError> {
    if text.starts_with(zookeeper::SCHEME) {
        return Ok(MasterUrl::ZooKeeper(ZooKeeperUrl::parse(text)?));
    }
    let bad = |reason: &str| DetectorError::Master {
        text: text.chars().take(256).collect(),
        reason: reason.to_owned(),
    };
    // As Mesos, only the `master@` prefix is understood; any other id is an error.
    let address = text.strip_prefix("master@").unwrap_or(text);
    if address.contains('@') {
        return Err(bad("expecting 'host:port' or 'master@host:port'"));
    }
    let addr = resolve(address).map_err(|reason| bad(&reason))?;
    Ok(MasterUrl::Pid(Pid::new(MASTER_ID, addr)))
}

/// Resolves `host:port`, preferring an IPv4 address as libprocess does.
fn resolve(address: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = address.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port) = address
        .rsplit_once(':')
        .ok_or("expecting 'host:port', 'master@host:port', 'zk://...' or 'file:///path'")?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err("expecting 'host:port' with a port from 0 to 65535".into());
    }
    let addrs: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve '{host}': {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("'{host}' resolves to no address"))
}

/// The leading master's pid for a `--master` value that names one master (what agents
/// start with): `host:port`, `master@host:port`, or a `file://` holding either. A
/// `zk://` value is refused: its leader changes, so it needs a [`MasterDetector`].
pub fn master_pid(text: &str) -> Result<Pid, DetectorError> {
    match MasterUrl::parse(text)? {
        MasterUrl::Pid(pid) => Ok(pid),
        MasterUrl::ZooKeeper(url) => Err(DetectorError::NotOneMaster(url)),
    }
}

/// Learns the leading master (Mesos `MasterDetector`). Clones share one detector.
#[derive(Debug, Clone)]
pub enum MasterDetector {
    /// The leader is given, not elected.
    Standalone(StandaloneMasterDetector),
    /// The leader is elected in ZooKeeper.
    ZooKeeper(ZooKeeperMasterDetector),
}

impl MasterDetector {
    /// The detector for a `--master` value (see [`MasterUrl::parse`]). A `zk://` value
    /// starts following the group at once, with Mesos's default session timeout
    /// (10 s); an unreachable ensemble is not an error, it is retried.
    pub fn create(master: &str) -> Result<MasterDetector, DetectorError> {
        MasterDetector::create_with_session_timeout(master, zookeeper::DEFAULT_SESSION_TIMEOUT)
    }

    /// [`create`](MasterDetector::create) with another ZooKeeper session timeout
    /// (Mesos `--zk_session_timeout`); ignored for values that name one master.
    pub fn create_with_session_timeout(
        master: &str,
        session_timeout: Duration,
    ) -> Result<MasterDetector, DetectorError> {
        Ok(match MasterUrl::parse(master)? {
            MasterUrl::Pid(pid) => {
                MasterDetector::Standalone(StandaloneMasterDetector::new(Some(pid)))
            }
            MasterUrl::ZooKeeper(url) => {
                MasterDetector::ZooKeeper(ZooKeeperMasterDetector::new(url, session_timeout))
            }
        })
    }

    /// Resolves with the leading master (or `None` when there is none) as soon as it
    /// differs from `previous`, the leader the caller last saw. Callers detect again
    /// with the answer to follow every change.
    pub fn detect(
        &self,
        previous: Option<&Pid>,
    ) -> impl Future<Output = Option<Pid>> + Send + 'static {
        let detection: Pin<Box<dyn Future<Output = Option<Pid>> + Send>> = match self {
            MasterDetector::Standalone(detector) => Box::pin(detector.detect(previous)),
            MasterDetector::ZooKeeper(detector) => Box::pin(detector.detect(previous)),
        };
        detection
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(text: &str) -> Pid {
        text.parse().unwrap()
    }

    #[test]
    fn addresses_and_master_pids_name_the_master_process() {
        for text in [
            "127.0.0.1:5050",
            "master@127.0.0.1:5050",
            " 127.0.0.1:5050\n",
        ] {
            assert_eq!(
                master_pid(text).unwrap(),
                pid("master@127.0.0.1:5050"),
                "{text:?}"
            );
        }
        assert_eq!(master_pid("[::1]:5050").unwrap(), pid("master@[::1]:5050"));
    }

    #[test]
    fn host_names_resolve_to_ipv4_first() {
        let master = master_pid("localhost:5050").unwrap();
        assert_eq!(master.id.as_str(), MASTER_ID);
        assert!(master.addr.is_ipv4(), "{master}");
        assert_eq!(master.addr.port(), 5050);
    }

    #[test]
    fn refuses_what_is_not_a_master() {
        for text in [
            "",
            "nowhere",
            "master@nowhere",
            "127.0.0.1",
            "127.0.0.1:99999",
            ":5050",
            "slave(1)@127.0.0.1:5051",
            "master@master@127.0.0.1:5050",
            "no-such-host.invalid:5050",
        ] {
            assert!(
                matches!(master_pid(text), Err(DetectorError::Master { .. })),
                "{text:?}: {:?}",
                master_pid(text)
            );
        }
    }

    #[test]
    fn zookeeper_urls_give_a_group_not_a_pid() {
        let parsed = MasterUrl::parse("zk://jane:pw@zk1:2181,zk2:2181/mesos").unwrap();
        let MasterUrl::ZooKeeper(url) = parsed else {
            panic!("not a ZooKeeper URL");
        };
        assert_eq!(url.path, "/mesos");
        let error = master_pid("zk://zk1:2181/mesos").unwrap_err();
        assert!(matches!(error, DetectorError::NotOneMaster(_)));
        assert_eq!(
            error.to_string(),
            "'zk://zk1:2181/mesos' names a ZooKeeper group, not one master: its leader must be detected"
        );
        assert!(matches!(
            MasterDetector::create("zk://zk1:2181/"),
            Err(DetectorError::ZooKeeperUrl(ZooKeeperUrlError::MissingPath))
        ));
        assert!(matches!(
            master_pid("zk://zk1:2181/"),
            Err(DetectorError::ZooKeeperUrl(ZooKeeperUrlError::MissingPath))
        ));
    }

    #[test]
    fn file_values_are_read_and_parsed() {
        let dir = std::env::temp_dir().join(format!("mesos-detector-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let inner = dir.join("master");
        std::fs::write(&inner, "  master@127.0.0.1:5050\n").unwrap();
        let outer = dir.join("indirect");
        std::fs::write(&outer, format!("file://{}", inner.display())).unwrap();
        assert_eq!(
            master_pid(&format!("file://{}", outer.display())).unwrap(),
            pid("master@127.0.0.1:5050")
        );

        let looping = dir.join("loop");
        std::fs::write(&looping, format!("file://{}", looping.display())).unwrap();
        assert!(matches!(
            master_pid(&format!("file://{}", looping.display())),
            Err(DetectorError::FileLoop)
        ));
        assert!(matches!(
            master_pid(&format!("file://{}", dir.join("missing").display())),
            Err(DetectorError::File { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_standalone_detector_follows_appointments() {
        let detector = MasterDetector::create("127.0.0.1:5050").unwrap();
        let MasterDetector::Standalone(standalone) = &detector else {
            panic!("not a standalone detector");
        };
        let first = pid("master@127.0.0.1:5050");
        let next = detector.detect(Some(&first));
        let second = pid("master@127.0.0.1:5051");
        standalone.appoint(Some(second.clone()));
        assert_eq!(libproc::Runtime::block_on(next), Some(second));
    }
}
