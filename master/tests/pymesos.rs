//! pymesos 0.3.15, the real third-party v1 client, unmodified, against real
//! `mesos-master` and `mesos-agent` processes: the scripts in `tests/pymesos/` run a
//! command task to TASK_FINISHED, reconnect after the master restarts (file
//! registry), and watch TASK_ADDED and TASK_UPDATED on the operator event stream.
//!
//! The venv comes from `scripts/setup` (`target/pymesos-venv`, or `$PYMESOS_VENV`).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const MASTER: &str = env!("CARGO_BIN_EXE_mesos-master");
const DEADLINE: Duration = Duration::from_secs(120);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// The venv's python, or a failure that says how to make it.
fn python() -> PathBuf {
    let venv = std::env::var_os("PYMESOS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/pymesos-venv"));
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import pymesos"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ready,
        "no pymesos venv at {}: run scripts/setup (or set PYMESOS_VENV to a venv with pymesos 0.3.15)",
        venv.display()
    );
    python
}

/// Where `mesos-agent` and `mesos-executor` are: beside `mesos-master`.
fn bin_dir() -> PathBuf {
    let dir = Path::new(MASTER)
        .parent()
        .expect("the binaries' dir")
        .to_path_buf();
    for bin in ["mesos-agent", "mesos-executor"] {
        assert!(
            dir.join(bin).exists(),
            "{} has no {bin}: build it first (cargo build -p mesos-agent -p mesos-executor-driver)",
            dir.display()
        );
    }
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A temporary directory, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "mesos-pymesos-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&path).expect("a temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child killed when the test ends, however it ends; its stdout lines come
/// through a channel so that they can be awaited with a deadline.
struct Running {
    child: Child,
    lines: Option<mpsc::Receiver<String>>,
}

impl Running {
    fn spawn(command: &mut Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines: Some(rx),
        }
    }

    /// Waits for a stdout line starting with `prefix`; returns it.
    fn line(&mut self, prefix: &str) -> String {
        let lines = self.lines.as_ref().expect("stdout is read");
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(_) => panic!("no line starting with '{prefix}' within {DEADLINE:?}"),
            }
        }
    }

    /// Waits for the child to exit, within the deadline; its exit status.
    fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the child did not exit within {DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the master on `port` answers `/master/health`.
fn healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = "GET /master/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut response = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut response).is_ok()
        && response.starts_with("HTTP/1.1 200")
}

/// A `mesos-master` with the file registry under `work_dir`, serving on `port`.
fn start_master(port: u16, work_dir: &Path) -> Running {
    let master = Running::spawn(
        Command::new(MASTER)
            .arg("--ip=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg("--registry=replicated_log")
            .arg(format!("--work_dir={}", work_dir.display()))
            .arg("--quiet"),
    );
    let deadline = Instant::now() + DEADLINE;
    while !healthy(port) {
        assert!(
            Instant::now() < deadline,
            "mesos-master did not start serving"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    master
}

fn start_agent(master_port: u16, work_dir: &Path) -> Running {
    let bin = bin_dir();
    Running::spawn(
        Command::new(bin.join("mesos-agent"))
            .arg(format!("--master=127.0.0.1:{master_port}"))
            .arg("--ip=127.0.0.1")
            .arg(format!("--port={}", free_port()))
            .arg(format!("--work_dir={}", work_dir.display()))
            .arg(format!("--launcher_dir={}", bin.display()))
            .arg("--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31009]")
            .arg("--registration_backoff_factor=10ms")
            .arg("--quiet"),
    )
}

fn script(python: &Path, name: &str, master_port: u16) -> Command {
    let mut command = Command::new(python);
    command
        .arg(workspace().join("tests/pymesos").join(name))
        .arg(format!("127.0.0.1:{master_port}"));
    command
}

#[test]
fn the_minimal_scheduler_runs_a_command_task_to_finished() {
    let python = python();
    let (master_dir, agent_dir) = (TempDir::new("master"), TempDir::new("agent"));
    let port = free_port();
    let _master = start_master(port, &master_dir.0);
    let _agent = start_agent(port, &agent_dir.0);
    let mut scheduler = Running::spawn(&mut script(&python, "minimal_scheduler.py", port));
    scheduler.line("status");
    assert!(scheduler.wait().success(), "the pymesos scheduler failed");
}

#[test]
fn a_scheduler_reconnects_after_the_master_restarts() {
    let python = python();
    let master_dir = TempDir::new("master");
    let port = free_port();
    let mut master = start_master(port, &master_dir.0);
    let mut scheduler = Running::spawn(&mut script(&python, "reconnecting_scheduler.py", port));
    let registered = scheduler.line("registered ");
    let id = registered.trim_start_matches("registered ").to_owned();
    master.child.kill().expect("kill the master");
    master.child.wait().expect("reap the master");
    let _master = start_master(port, &master_dir.0);
    let reregistered = scheduler.line("reregistered ");
    assert_eq!(reregistered, format!("reregistered {id}"));
    assert!(scheduler.wait().success());
}

#[test]
fn the_operator_driver_sees_task_added_and_task_updated() {
    let python = python();
    let (master_dir, agent_dir) = (TempDir::new("master"), TempDir::new("agent"));
    let port = free_port();
    let _master = start_master(port, &master_dir.0);
    let _agent = start_agent(port, &agent_dir.0);
    let mut watcher = Running::spawn(&mut script(&python, "operator_watcher.py", port));
    watcher.line("subscribed");
    let mut scheduler = Running::spawn(&mut script(&python, "minimal_scheduler.py", port));
    let added = watcher.line("TASK_ADDED ");
    assert!(added.starts_with("TASK_ADDED t-"), "{added}");
    watcher.line("TASK_UPDATED ");
    assert!(
        watcher.wait().success(),
        "the watcher did not see TASK_FINISHED"
    );
    assert!(scheduler.wait().success());
}
