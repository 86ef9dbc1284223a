//! What the tests share: the binaries, free loopback ports, daemons killed on drop,
//! bounded waits, HTTP polling and process lookups.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any one wait may take before the test fails.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// How often a condition is checked again.
const POLL: Duration = Duration::from_millis(50);

/// `target/<profile>`, where cargo put the workspace's binaries.
pub(crate) fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_path_buf();
    for binary in ["mesos-master", "mesos-agent", "mesos-executor"] {
        assert!(
            dir.join(binary).is_file(),
            "{} has no {binary}: build them first: cargo build --workspace --bins",
            dir.display()
        );
    }
    dir
}

/// A port nobody listens on right now, on loopback.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Polls `check` until it gives something, or fails the test after `DEADLINE`.
pub(crate) fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

/// The JSON body of `GET http://127.0.0.1:<port><path>`; `Null` when nothing answers.
pub(crate) fn get_json(port: u16, path: &str) -> serde_json::Value {
    let fetch = || -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    };
    let response = fetch().unwrap_or_default();
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// How many agents the master on `port` counts as active.
pub(crate) fn active_agents(port: u16) -> u64 {
    get_json(port, "/master/state")["activated_slaves"]
        .as_f64()
        .map_or(0, |n| n as u64)
}

/// A child process killed (SIGKILL) and reaped on drop, whose output lines are
/// collected as they come.
#[derive(Debug)]
pub(crate) struct Daemon {
    pub(crate) child: Child,
    lines: mpsc::Receiver<String>,
    pub(crate) seen: Vec<String>,
}

impl Daemon {
    /// Spawns `command`, reading its stdout and stderr lines as one stream.
    pub(crate) fn spawn(command: &mut Command) -> Daemon {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?} starts: {e}"));
        let (send, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        forward(stdout, send.clone());
        forward(stderr, send);
        Daemon {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for an output line containing `needle`; returns it.
    pub(crate) fn line_with(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with '{needle}'; saw {:#?}", self.seen),
            }
        }
    }

    /// Waits for the process to exit; returns its status and whole output.
    pub(crate) fn finish(mut self) -> (ExitStatus, String) {
        let status = eventually("the process to exit", || self.child.try_wait().unwrap());
        // The reader threads end with the pipes, which the exit closed (unless a
        // child of the process still holds them, hence the bound).
        while let Ok(line) = self.lines.recv_timeout(DEADLINE) {
            self.seen.push(line);
        }
        (status, self.seen.join("\n"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends each line `pipe` gives to `lines`, until it closes.
fn forward(pipe: impl Read + Send + 'static, lines: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
}

/// A directory removed on drop, after killing the sessions of the executors whose
/// `forked.pid` it holds (what an agent killed with SIGKILL leaves behind).
#[derive(Debug)]
pub(crate) struct WorkDir(pub PathBuf);

impl WorkDir {
    pub(crate) fn new(name: &str) -> WorkDir {
        WorkDir(std::env::temp_dir().join(format!(
            "mesos-cli-{name}-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        )))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        for pid in executor_pids(&self.0) {
            kill_session(pid);
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The pids of the executors checkpointed under `dir` (their `forked.pid` files).
pub(crate) fn executor_pids(dir: &Path) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            pids.extend(executor_pids(&path));
        } else if path.file_name().is_some_and(|n| n == "forked.pid") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            pids.extend(text.trim().parse::<i32>().ok());
        }
    }
    pids
}

/// Kills every process of session `sid` (an executor and its tasks).
pub(crate) fn kill_session(sid: i32) {
    for process in procfs::process::all_processes()
        .into_iter()
        .flatten()
        .flatten()
    {
        if process.stat().is_ok_and(|s| s.session == sid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(process.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Whether process `pid` is alive (a zombie is not).
pub(crate) fn alive(pid: i32) -> bool {
    procfs::process::Process::new(pid)
        .and_then(|p| p.stat())
        .is_ok_and(|stat| stat.state != 'Z' && stat.state != 'X')
}

/// Whether a live process runs `command` (itself or through `sh -c`); other
/// command lines that merely mention it, such as `mesos-execute --command=...`, do not
/// count.
pub(crate) fn task_running(command: &str) -> bool {
    procfs::process::all_processes()
        .into_iter()
        .flatten()
        .flatten()
        .filter(|p| p.stat().is_ok_and(|s| s.state != 'Z'))
        .filter_map(|p| p.cmdline().ok())
        .any(|cmdline| {
            let joined = cmdline.join(" ");
            joined == command || joined.ends_with(&format!("sh -c {command}"))
        })
}

/// A `mesos-master` and one `mesos-agent`, as OS processes on loopback.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) master_port: u16,
    _master: Daemon,
    _agent: Daemon,
    _work_dir: WorkDir,
}

impl Cluster {
    /// Starts both and waits until the agent is active.
    pub(crate) fn start(name: &str) -> Cluster {
        let bin = bin_dir();
        let master_port = free_port();
        let master = Daemon::spawn(
            Command::new(bin.join("mesos-master"))
                .arg("--ip=127.0.0.1")
                .arg(format!("--port={master_port}"))
                .arg("--registry=in_memory")
                .arg("--quiet"),
        );
        let work_dir = WorkDir::new(name);
        let agent = Daemon::spawn(
            Command::new(bin.join("mesos-agent"))
                .arg(format!("--master=127.0.0.1:{master_port}"))
                .arg("--ip=127.0.0.1")
                .arg(format!("--port={}", free_port()))
                .arg(format!("--work_dir={}", work_dir.0.display()))
                .arg(format!("--launcher_dir={}", bin.display()))
                .arg("--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31009]")
                .arg("--registration_backoff_factor=10ms")
                .arg("--quiet"),
        );
        eventually("the agent to be active", || {
            (active_agents(master_port) == 1).then_some(())
        });
        Cluster {
            master_port,
            _master: master,
            _agent: agent,
            _work_dir: work_dir,
        }
    }

    /// `mesos-execute` against this cluster with `args`.
    pub(crate) fn execute(&self, args: &[&str]) -> Daemon {
        execute(self.master_port, args)
    }
}

/// `mesos-execute --master=127.0.0.1:<port>` with `args`.
pub(crate) fn execute(port: u16, args: &[&str]) -> Daemon {
    Daemon::spawn(
        Command::new(env!("CARGO_BIN_EXE_mesos-execute"))
            .arg(format!("--master=127.0.0.1:{port}"))
            .args(args),
    )
}
