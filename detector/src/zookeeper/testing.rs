//! Real ZooKeeper servers for tests (feature `testing`): one standalone server or a
//! quorum ensemble on loopback, each on free ports in a temp dir of its own, so tests
//! can run in parallel. Servers can be killed and restarted on the same ports and
//! data; everything is killed and removed on drop.
//!
//! The servers are the Debian `zookeeper` package's, run as `java ...Main zoo.cfg`
//! (its `zkServer.sh` wants fixed paths under `/var`). They die with the thread that
//! started them (`PR_SET_PDEATHSIG`), so a killed test leaves none behind: start them
//! from the test's thread or a runtime worker, not a short-lived thread.
//!
//! ```no_run
//! # async fn example() {
//! use mesos_detector::zookeeper::testing::ZooKeeper;
//!
//! let zk = ZooKeeper::start().await.unwrap();
//! let master = zk.url("/mesos"); // zk://127.0.0.1:<port>/mesos
//! # }
//! ```

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// The server's jar, from the Debian package `zookeeper`. Its manifest names its
/// dependencies, so only a logging binding needs adding to the class path.
pub const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";

/// The slf4j binding that writes the server's log to its stderr.
const SLF4J_JAR: &str = "/usr/share/java/slf4j-simple.jar";

/// How long a server may take to answer: JVM start is well under a second on an idle
/// machine, but tests share two cores with compilers.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// How often readiness is probed.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);

/// Why a test ZooKeeper could not be had.
#[derive(Debug, thiserror::Error)]
pub enum TestZooKeeperError {
    /// The server is not installed.
    #[error("{ZOOKEEPER_JAR} is missing: install the Debian package zookeeper (apt-get install -y zookeeper)")]
    NotInstalled,
    /// A file or directory of the server could not be written.
    #[error("cannot prepare '{path}': {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// No free loopback port could be found.
    #[error("no free loopback port: {0}")]
    Port(std::io::Error),
    /// `java` could not be started.
    #[error("cannot start java: {0}")]
    Spawn(std::io::Error),
    /// The server did not become ready in time.
    #[error("ZooKeeper server {id} (port {port}) not ready within {READY_DEADLINE:?}; its log ends with:\n{log}")]
    NotReady {
        /// The server's number in the ensemble (1 for a standalone server).
        id: usize,
        /// Its client port.
        port: u16,
        /// The end of its log.
        log: String,
    },
}

/// One server: its ports, its directory and, while it runs, its process.
#[derive(Debug)]
struct Server {
    id: usize,
    client_port: u16,
    dir: PathBuf,
    process: Option<Child>,
}

/// A running standalone server or ensemble.
#[derive(Debug)]
pub struct ZooKeeper {
    dir: PathBuf,
    servers: Vec<Server>,
}

impl ZooKeeper {
    /// Starts one standalone server and waits until it answers.
    pub async fn start() -> Result<ZooKeeper, TestZooKeeperError> {
        ZooKeeper::launch(1).await
    }

    /// Starts an ensemble of `size` servers (`QuorumPeerMain`, quorum and election
    /// on loopback) and waits until each serves clients, i.e. a quorum has formed.
    pub async fn ensemble(size: usize) -> Result<ZooKeeper, TestZooKeeperError> {
        assert!(size >= 2, "an ensemble has at least two servers");
        ZooKeeper::launch(size).await
    }

    async fn launch(size: usize) -> Result<ZooKeeper, TestZooKeeperError> {
        if !Path::new(ZOOKEEPER_JAR).exists() {
            return Err(TestZooKeeperError::NotInstalled);
        }
        let dir = unique_dir();
        // Client, quorum and election ports for every server, held together so that
        // none is handed out twice.
        let ports = free_ports(size * 3)?;
        let peers: String = (0..size).fold(String::new(), |mut lines, i| {
            let (quorum, election) = (ports[size + i], ports[2 * size + i]);
            let _ = writeln!(lines, "server.{}=127.0.0.1:{quorum}:{election}", i + 1);
            lines
        });
        let mut zk = ZooKeeper {
            dir: dir.clone(),
            servers: Vec::new(),
        };
        for (i, &client_port) in ports.iter().take(size).enumerate() {
            let id = i + 1;
            let server_dir = dir.join(format!("server{id}"));
            let data = server_dir.join("data");
            create_dir(&data)?;
            let mut config = format!(
                "tickTime=500\n\
                 dataDir={}\n\
                 clientPort={client_port}\n\
                 clientPortAddress=127.0.0.1\n\
                 maxClientCnxns=0\n\
                 admin.enableServer=false\n\
                 4lw.commands.whitelist=ruok,srvr,stat,mntr,conf\n\
                 minSessionTimeout=1000\n\
                 maxSessionTimeout=60000\n",
                data.display()
            );
            if size > 1 {
                config.push_str("initLimit=10\nsyncLimit=5\n");
                config.push_str(&peers);
                write_file(&data.join("myid"), &format!("{id}\n"))?;
            }
            write_file(&server_dir.join("zoo.cfg"), &config)?;
            zk.servers.push(Server {
                id,
                client_port,
                dir: server_dir,
                process: None,
            });
        }
        for index in 0..size {
            zk.spawn(index)?;
        }
        for index in 0..size {
            zk.wait_ready(index).await?;
        }
        Ok(zk)
    }

    /// `zk://127.0.0.1:<port>[,...]<path>`, the `--master`/`--zk` value for the group
    /// at `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        let servers: Vec<String> = self
            .servers
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.client_port))
            .collect();
        format!("zk://{}{path}", servers.join(","))
    }

    /// The client port of each server, in order.
    pub fn client_ports(&self) -> Vec<u16> {
        self.servers.iter().map(|s| s.client_port).collect()
    }

    /// The index of the ensemble's current leader, once a running server says it
    /// leads (polls until then).
    pub async fn quorum_leader(&self) -> usize {
        loop {
            for (index, server) in self.servers.iter().enumerate() {
                let status = four_letter_word(server.client_port, "srvr").await;
                if status.is_some_and(|s| s.contains("Mode: leader")) {
                    return index;
                }
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    }

    /// Kills server `index` (0-based) with SIGKILL, keeping its data for a restart.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut process) = self.servers[index].process.take() {
            // It may have died already; either way it is reaped.
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Starts server `index` again on the same ports and data, and waits until it
    /// answers (for an ensemble member: until it has rejoined a quorum).
    pub async fn restart(&mut self, index: usize) -> Result<(), TestZooKeeperError> {
        self.kill(index);
        self.spawn(index)?;
        self.wait_ready(index).await
    }

    fn spawn(&mut self, index: usize) -> Result<(), TestZooKeeperError> {
        let ensemble = self.servers.len() > 1;
        let server = &mut self.servers[index];
        let log_path = server.dir.join("server.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|source| TestZooKeeperError::Io {
                path: log_path.clone(),
                source,
            })?;
        let stderr = log.try_clone().map_err(|source| TestZooKeeperError::Io {
            path: log_path,
            source,
        })?;
        let main = if ensemble {
            "org.apache.zookeeper.server.quorum.QuorumPeerMain"
        } else {
            "org.apache.zookeeper.server.ZooKeeperServerMain"
        };
        let mut command = Command::new("java");
        // SAFETY: the closure runs between fork and exec and only makes one
        // async-signal-safe system call.
        unsafe {
            command.pre_exec(|| {
                // A test killed before its drop runs must not leave servers behind.
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)
            });
        }
        let process = command
            .args([
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp",
                &format!("{ZOOKEEPER_JAR}:{SLF4J_JAR}"),
                main,
            ])
            .arg(server.dir.join("zoo.cfg"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(TestZooKeeperError::Spawn)?;
        server.process = Some(process);
        Ok(())
    }

    /// Waits until the server answers `ruok` with `imok` and, in an ensemble, `srvr`
    /// reports it a leader or follower (a member without quorum refuses clients).
    async fn wait_ready(&mut self, index: usize) -> Result<(), TestZooKeeperError> {
        let ensemble = self.servers.len() > 1;
        let server = &mut self.servers[index];
        let deadline = Instant::now() + READY_DEADLINE;
        while Instant::now() < deadline {
            let exited = server
                .process
                .as_mut()
                .is_none_or(|p| p.try_wait().ok().flatten().is_some());
            if exited {
                break;
            }
            if four_letter_word(server.client_port, "ruok")
                .await
                .as_deref()
                == Some("imok")
            {
                if !ensemble {
                    return Ok(());
                }
                let status = four_letter_word(server.client_port, "srvr")
                    .await
                    .unwrap_or_default();
                if status.contains("Mode: leader") || status.contains("Mode: follower") {
                    return Ok(());
                }
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
        Err(TestZooKeeperError::NotReady {
            id: server.id,
            port: server.client_port,
            log: log_tail(&server.dir.join("server.log")),
        })
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        for index in 0..self.servers.len() {
            self.kill(index);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends a four-letter word and reads the answer (the server closes after it);
/// `None` when the server does not answer within a second.
async fn four_letter_word(port: u16, word: &str) -> Option<String> {
    let exchange = async {
        let mut stream =
            tokio::net::TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        stream.write_all(word.as_bytes()).await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    tokio::time::timeout(Duration::from_secs(1), exchange)
        .await
        .ok()?
        .ok()
}

/// A directory no other test (or test process) uses.
fn unique_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "mesos-test-zk-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// `count` distinct loopback ports free right now.
fn free_ports(count: usize) -> Result<Vec<u16>, TestZooKeeperError> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(TestZooKeeperError::Port)?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(TestZooKeeperError::Port)
}

fn create_dir(path: &Path) -> Result<(), TestZooKeeperError> {
    std::fs::create_dir_all(path).map_err(|source| TestZooKeeperError::Io {
        path: path.to_owned(),
        source,
    })
}

fn write_file(path: &Path, content: &str) -> Result<(), TestZooKeeperError> {
    std::fs::write(path, content).map_err(|source| TestZooKeeperError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The last lines of a server's log, for error messages.
fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
