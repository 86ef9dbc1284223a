//! The POSIX launcher (Mesos's `posix` launcher): starts an executor as a real OS
//! process in a session of its own, with its environment and its sandbox as working
//! directory, stdout and stderr going to files in the sandbox; and kills the whole
//! session (process group) when the container is destroyed, so no child survives.
//!
//! A session of its own matters beyond cleanliness: executors such as pymesos's kill
//! their own process group on shutdown, which would otherwise include the agent.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid as OsPid;
use tokio::process::{Child, Command};

/// What to launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchSpec {
    /// The program, or the shell command when `shell` is set.
    pub program: String,
    /// Arguments after the program (ignored with `shell`).
    pub arguments: Vec<String>,
    /// Run `program` with `/bin/sh -c`.
    pub shell: bool,
    /// The environment, exactly (nothing is inherited from the agent).
    pub environment: BTreeMap<String, String>,
    /// The sandbox: working directory, and home of `stdout` and `stderr`.
    pub sandbox: PathBuf,
}

/// Why a launch failed.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The sandbox's output files could not be created.
    #[error("cannot create {path}: {source}")]
    Sandbox {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The program could not be started.
    #[error("cannot start '{program}': {source}")]
    Spawn {
        /// The program.
        program: String,
        /// What the OS said.
        source: io::Error,
    },
}

/// A launched process: its OS pid, which is also its session and process group id.
#[derive(Debug)]
pub struct Launched {
    child: Child,
    pid: u32,
}

/// Starts `spec` in a new session.
pub fn launch(spec: &LaunchSpec) -> Result<Launched, LaunchError> {
    let output = |name: &str| -> Result<File, LaunchError> {
        let path = spec.sandbox.join(name);
        File::create(&path).map_err(|source| LaunchError::Sandbox { path, source })
    };
    let (stdout, stderr) = (output("stdout")?, output("stderr")?);
    let mut command = if spec.shell {
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(&spec.program);
        command
    } else {
        let mut command = Command::new(&spec.program);
        command.args(&spec.arguments);
        command
    };
    command
        .env_clear()
        .envs(&spec.environment)
        .current_dir(&spec.sandbox)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    // SAFETY: `setsid` is async-signal-safe, which is all a `pre_exec` hook may call
    // between fork and exec.
    unsafe {
        command.pre_exec(|| nix::unistd::setsid().map(drop).map_err(io::Error::from));
    }
    let child = command.spawn().map_err(|source| LaunchError::Spawn {
        program: spec.program.clone(),
        source,
    })?;
    let pid = child.id().ok_or_else(|| LaunchError::Spawn {
        program: spec.program.clone(),
        source: io::Error::other("the process exited before its pid was read"),
    })?;
    Ok(Launched { child, pid })
}

impl Launched {
    /// The OS pid (and session id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends `signal` to every process of the session's process group.
    pub fn signal(&self, signal: Signal) -> nix::Result<()> {
        signal_group(self.pid, signal)
    }

    /// Waits until the launched process exits.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Kills the whole process group and reaps the process.
    pub async fn destroy(&mut self) -> io::Result<ExitStatus> {
        self.signal(Signal::SIGKILL).map_err(io::Error::from)?;
        self.child.wait().await
    }
}

/// Kills every process of the process group `pid` leads.
pub fn kill_group(pid: u32) -> nix::Result<()> {
    signal_group(pid, Signal::SIGKILL)
}

/// Sends `signal` to the process group `pid` leads; a group already gone is fine.
fn signal_group(pid: u32, signal: Signal) -> nix::Result<()> {
    let group = OsPid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX));
    match killpg(group, signal) {
        Err(nix::errno::Errno::ESRCH) => Ok(()),
        other => other,
    }
}

/// How an exit reads in a TASK_FAILED message, as Mesos words it.
pub fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("Command exited with status {code}"),
        (None, Some(signal)) => format!("Command terminated with signal {signal}"),
        (None, None) => "Command ended for an unknown reason".to_owned(),
    }
}

/// The sandbox path's `stdout` file.
pub fn stdout_path(sandbox: &Path) -> PathBuf {
    sandbox.join("stdout")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mesos-launcher-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn shell(program: &str, sandbox: &Path) -> LaunchSpec {
        LaunchSpec {
            program: program.into(),
            arguments: vec![],
            shell: true,
            environment: [("GREETING".to_owned(), "hello".to_owned())].into(),
            sandbox: sandbox.to_owned(),
        }
    }

    #[tokio::test]
    async fn a_command_runs_in_its_sandbox_with_its_environment_in_a_new_session() {
        let dir = sandbox("env");
        let mut launched = launch(&shell("echo $GREETING; pwd; ps -o sid= -p $$", &dir)).unwrap();
        let status = launched.wait().await.unwrap();
        assert!(status.success());
        let output = std::fs::read_to_string(stdout_path(&dir)).unwrap();
        let lines: Vec<&str> = output.lines().map(str::trim).collect();
        assert_eq!(lines[0], "hello");
        assert_eq!(
            std::fs::canonicalize(lines[1]).unwrap(),
            std::fs::canonicalize(&dir).unwrap()
        );
        assert_eq!(
            lines[2],
            launched.pid().to_string(),
            "the process leads its own session"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn exits_are_described_as_mesos_does() {
        let dir = sandbox("exit");
        let status = launch(&shell("exit 3", &dir))
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(describe_exit(status), "Command exited with status 3");
        let mut sleeping = launch(&shell("sleep 30", &dir)).unwrap();
        sleeping.signal(Signal::SIGTERM).unwrap();
        let status = sleeping.wait().await.unwrap();
        assert_eq!(describe_exit(status), "Command terminated with signal 15");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn destroying_kills_the_whole_process_tree() {
        let dir = sandbox("tree");
        // A child in the background records its pid, then both sleep.
        let mut launched = launch(&shell("sleep 30 & echo $! > child.pid; wait", &dir)).unwrap();
        let pid_file = dir.join("child.pid");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let child: i32 = loop {
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                break pid;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the child never wrote its pid"
            );
            tokio::task::yield_now().await;
        };
        launched.destroy().await.unwrap();
        // The orphaned child is reaped by init; poll until it is gone.
        let alive = |pid: i32| {
            std::path::Path::new(&format!("/proc/{pid}")).exists()
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .contains(") Z ")
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while alive(child) {
            assert!(
                std::time::Instant::now() < deadline,
                "the child {child} survived"
            );
            tokio::task::yield_now().await;
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let dir = sandbox("missing");
        let spec = LaunchSpec {
            shell: false,
            ..shell("/nonexistent/program", &dir)
        };
        assert!(matches!(launch(&spec), Err(LaunchError::Spawn { .. })));
        let _ = std::fs::remove_dir_all(dir);
    }
}
