//! The launcher: starts an executor as a real OS process with nix's `clone`, and
//! watches it until it ends.
//!
//! Why `clone` rather than `tokio::process::Command`: with `namespaces/pid` the
//! executor must be pid 1 of a new pid namespace *and* its host pid must be the one
//! the agent watches and kills. `unshare(CLONE_NEWPID)` only moves the caller's
//! future children, so it needs a second fork and leaves an intermediate process
//! between the agent and the executor; `clone(CLONE_NEWPID | CLONE_NEWNS)` creates
//! the executor directly in its namespaces. One code path serves every case: without
//! namespace flags `clone` is a plain fork.
//!
//! Between `clone` and `execve` the child runs in a copy of a multi-threaded process,
//! so it only makes async-signal-safe system calls on data prepared before the
//! clone: it resets its signal state, starts a session of its own (executors such as
//! pymesos kill their own process group on shutdown, which must not include the
//! agent), joins the container's cgroups (so no descendant can ever run outside them),
//! remounts `/proc` in its private mount namespace when it has a pid namespace (so it
//! sees only its own processes), points stdin at `/dev/null` and stdout/stderr at the
//! sandbox files, enters the sandbox and executes the program with exactly the given
//! environment. A failing step is reported to the parent through a close-on-exec
//! pipe, so `launch` fails with the step and the OS error instead of a mystery exit.
//!
//! Exits are observed through a pidfd (no thread held, no polling); a task reaps the
//! process as soon as it ends, whether or not anyone still holds the [`Launched`].

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::libc;
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid as OsPid;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::watch;

/// The `PATH` searched when the environment has none, as Mesos's `os::execvpe` does.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How often the liveness of a process that is not our child is checked when the
/// kernel has no pidfds (before Linux 5.3).
const LIVENESS_INTERVAL: Duration = Duration::from_secs(1);

/// The child's stack until it executes the program.
const CHILD_STACK_BYTES: usize = 256 * 1024;

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

/// Where the launched process goes besides its own session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Placement {
    /// `cgroup.procs` files the process joins before it executes the program.
    pub(crate) cgroup_procs: Vec<PathBuf>,
    /// A new pid namespace, the process being its pid 1 (`namespaces/pid`).
    pub(crate) pid_namespace: bool,
    /// A private mount namespace (`filesystem/linux`; implied by a pid namespace).
    pub(crate) mount_namespace: bool,
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
    /// The child failed to set itself up before executing the program.
    #[error("cannot start '{program}': {step} failed: {source}")]
    Setup {
        /// The program.
        program: String,
        /// The step that failed (`joining cgroup /sys/fs/cgroup/...`, `mounting /proc`...).
        step: String,
        /// What the OS said.
        source: io::Error,
    },
}

/// A launched process: its host pid, which is also its session and process group id
/// (in its own pid namespace, if it has one).
#[derive(Debug)]
pub struct Launched {
    pid: u32,
    exit: ExitWatch,
}

/// The exit status of a process the launcher started, once a reaper task has it.
/// Cloning it lets both the agent and the containerizer await the same exit.
#[derive(Debug, Clone)]
pub(crate) struct ExitWatch(watch::Receiver<Option<ExitStatus>>);

impl ExitWatch {
    /// Waits until the process has been reaped.
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        let status = self
            .0
            .wait_for(Option::is_some)
            .await
            .map_err(|_| io::Error::other("the reaper ended without an exit status"))?;
        status.ok_or_else(|| io::Error::other("no exit status"))
    }
}

/// Starts `spec` in a new session, without isolation (the plain POSIX launcher).
pub fn launch(spec: &LaunchSpec) -> Result<Launched, LaunchError> {
    launch_placed(spec, &Placement::default())
}

/// Starts `spec` in a new session, placed as `placement` says. Must run inside a
/// tokio runtime (the reaper is a task).
pub(crate) fn launch_placed(
    spec: &LaunchSpec,
    placement: &Placement,
) -> Result<Launched, LaunchError> {
    let prepared = Prepared::new(spec, placement)?;
    let (report_read, report_write) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| spawn_error(spec, e.into()))?;
    let mut flags = CloneFlags::empty();
    if placement.pid_namespace {
        flags |= CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNS;
    }
    if placement.mount_namespace {
        flags |= CloneFlags::CLONE_NEWNS;
    }
    let mut stack = vec![0u8; CHILD_STACK_BYTES];
    let report_fd = report_write.as_raw_fd();
    // SAFETY: the child runs `Prepared::exec_child`, which only makes async-signal-safe
    // system calls on memory prepared before the clone, then executes or `_exit`s; it
    // never returns into Rust code of the parent's copy.
    let child = unsafe {
        nix::sched::clone(
            Box::new(|| prepared.exec_child(report_fd)),
            &mut stack,
            flags,
            Some(libc::SIGCHLD),
        )
    }
    .map_err(|e| spawn_error(spec, e.into()))?;
    drop(report_write);
    let pid = u32::try_from(child.as_raw()).unwrap_or_default();
    let mut report = Vec::new();
    let read = File::from(report_read).read_to_end(&mut report);
    if let Some(failure) = decode_report(&report) {
        // The child `_exit`s right after reporting: reap it so it leaves no zombie.
        let _ = nix::sys::wait::waitpid(child, None);
        let (step, errno) = failure;
        return Err(LaunchError::Setup {
            program: spec.program.clone(),
            step: prepared.describe_step(step),
            source: io::Error::from_raw_os_error(errno),
        });
    }
    read.map_err(|e| spawn_error(spec, e))?;
    Ok(Launched {
        pid,
        exit: reap(pid),
    })
}

fn spawn_error(spec: &LaunchSpec, source: io::Error) -> LaunchError {
    LaunchError::Spawn {
        program: spec.program.clone(),
        source,
    }
}

/// The steps of the child's setup, as reported through the pipe.
const STEP_SIGNALS: u8 = 0;
const STEP_SETSID: u8 = 1;
const STEP_MOUNT_PRIVATE: u8 = 2;
const STEP_MOUNT_PROC: u8 = 3;
const STEP_STDIO: u8 = 4;
const STEP_CHDIR: u8 = 5;
const STEP_EXEC: u8 = 6;
/// Joining the n-th cgroup is step `STEP_CGROUP + n`.
const STEP_CGROUP: u8 = 16;

/// A step number and an errno, or nothing when the child executed the program.
fn decode_report(report: &[u8]) -> Option<(u8, i32)> {
    let (&step, errno) = report.split_first()?;
    let errno = i32::from_ne_bytes(errno.get(..4)?.try_into().ok()?);
    Some((step, errno))
}

/// Everything the child needs, allocated before the clone.
struct Prepared {
    program: CString,
    /// Owns the strings `argv_pointers` points into.
    _argv: Vec<CString>,
    argv_pointers: Vec<*const libc::c_char>,
    /// Owns the strings `envp_pointers` points into.
    _envp: Vec<CString>,
    envp_pointers: Vec<*const libc::c_char>,
    sandbox: CString,
    stdin: File,
    stdout: File,
    stderr: File,
    cgroup_procs: Vec<CString>,
    cgroup_paths: Vec<PathBuf>,
    pid_namespace: bool,
    mount_namespace: bool,
}

impl Prepared {
    fn new(spec: &LaunchSpec, placement: &Placement) -> Result<Self, LaunchError> {
        let output = |name: &str| -> Result<File, LaunchError> {
            let path = spec.sandbox.join(name);
            File::create(&path).map_err(|source| LaunchError::Sandbox { path, source })
        };
        let (stdout, stderr) = (output("stdout")?, output("stderr")?);
        let stdin = File::open("/dev/null").map_err(|e| spawn_error(spec, e))?;
        let text = |value: &[u8]| {
            CString::new(value).map_err(|_| {
                spawn_error(
                    spec,
                    io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the command"),
                )
            })
        };
        let (program, argv) = if spec.shell {
            let argv = vec![text(b"sh")?, text(b"-c")?, text(spec.program.as_bytes())?];
            (text(b"/bin/sh")?, argv)
        } else {
            let path =
                resolve_program(&spec.program, spec.environment.get("PATH")).ok_or_else(|| {
                    spawn_error(
                        spec,
                        io::Error::new(io::ErrorKind::NotFound, "no such executable"),
                    )
                })?;
            let mut argv = vec![text(spec.program.as_bytes())?];
            for argument in &spec.arguments {
                argv.push(text(argument.as_bytes())?);
            }
            (text(path.as_os_str().as_bytes())?, argv)
        };
        let envp = spec
            .environment
            .iter()
            .map(|(name, value)| text(format!("{name}={value}").as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        let cgroup_procs = placement
            .cgroup_procs
            .iter()
            .map(|path| text(path.as_os_str().as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            program,
            argv_pointers: pointers(&argv),
            _argv: argv,
            envp_pointers: pointers(&envp),
            _envp: envp,
            sandbox: text(spec.sandbox.as_os_str().as_bytes())?,
            stdin,
            stdout,
            stderr,
            cgroup_procs,
            cgroup_paths: placement.cgroup_procs.clone(),
            pid_namespace: placement.pid_namespace,
            mount_namespace: placement.mount_namespace || placement.pid_namespace,
        })
    }

    fn describe_step(&self, step: u8) -> String {
        match step {
            STEP_SIGNALS => "resetting signals".to_owned(),
            STEP_SETSID => "starting a session".to_owned(),
            STEP_MOUNT_PRIVATE => "making the mount namespace private".to_owned(),
            STEP_MOUNT_PROC => "mounting /proc".to_owned(),
            STEP_STDIO => "redirecting stdio".to_owned(),
            STEP_CHDIR => "entering the sandbox".to_owned(),
            STEP_EXEC => format!("executing {}", self.program.to_string_lossy()),
            n => match self
                .cgroup_paths
                .get(usize::from(n.saturating_sub(STEP_CGROUP)))
            {
                Some(path) => format!("joining cgroup {}", path.display()),
                None => format!("step {n}"),
            },
        }
    }

    /// The child's side: set up, then execute. Async-signal-safe calls only.
    fn exec_child(&self, report: RawFd) -> isize {
        let fail = |step: u8| -> isize {
            let errno = nix::errno::Errno::last_raw();
            let mut message = [0u8; 5];
            message[0] = step;
            message[1..].copy_from_slice(&errno.to_ne_bytes());
            // SAFETY: write(2) and _exit(2) are async-signal-safe; `message` lives on
            // this stack.
            unsafe {
                libc::write(report, message.as_ptr().cast(), message.len());
                libc::_exit(127)
            }
        };
        // SAFETY: every call below is an async-signal-safe system call on memory
        // prepared before the clone; pointers come from live `CString`s.
        unsafe {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            if libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) != 0
                || libc::signal(libc::SIGPIPE, libc::SIG_DFL) == libc::SIG_ERR
            {
                return fail(STEP_SIGNALS);
            }
            if libc::setsid() < 0 {
                return fail(STEP_SETSID);
            }
            for (n, procs) in self.cgroup_procs.iter().enumerate() {
                let step = STEP_CGROUP.saturating_add(u8::try_from(n).unwrap_or(u8::MAX));
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    return fail(step);
                }
                libc::close(fd);
            }
            if self.mount_namespace {
                let flags = (MsFlags::MS_REC | MsFlags::MS_SLAVE).bits();
                let root = c"/";
                if libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    flags,
                    std::ptr::null(),
                ) != 0
                {
                    return fail(STEP_MOUNT_PRIVATE);
                }
            }
            if self.pid_namespace {
                let flags = (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC).bits();
                let proc = c"proc";
                if libc::mount(
                    proc.as_ptr(),
                    c"/proc".as_ptr(),
                    proc.as_ptr(),
                    flags,
                    std::ptr::null(),
                ) != 0
                {
                    return fail(STEP_MOUNT_PROC);
                }
            }
            if libc::dup2(self.stdin.as_raw_fd(), 0) < 0
                || libc::dup2(self.stdout.as_raw_fd(), 1) < 0
                || libc::dup2(self.stderr.as_raw_fd(), 2) < 0
            {
                return fail(STEP_STDIO);
            }
            if libc::chdir(self.sandbox.as_ptr()) != 0 {
                return fail(STEP_CHDIR);
            }
            libc::execve(
                self.program.as_ptr(),
                self.argv_pointers.as_ptr(),
                self.envp_pointers.as_ptr(),
            );
            fail(STEP_EXEC)
        }
    }
}

/// The NULL-terminated pointer array `execve` takes, over `strings` (which must
/// outlive it; a `CString`'s bytes do not move when the `CString` does).
fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The executable `program` names: itself when it holds a `/`, else the first match
/// on `path` (or [`DEFAULT_PATH`]), as `execvpe` looks it up in the new environment.
fn resolve_program(program: &str, path: Option<&String>) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = path.map_or(DEFAULT_PATH, String::as_str);
    std::env::split_paths(OsStr::new(path))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Opens a pidfd on `pid`: readable once the process has ended.
fn pidfd_open(pid: u32) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::other("pidfd out of range"))?;
    // SAFETY: the kernel just returned this descriptor, owned by nobody else; the
    // `AsyncFd` then owns it, so it stays open and the same while registered.
    unsafe {
        let fd = OwnedFd::from_raw_fd(fd);
        AsyncFd::register_with_interest(fd, Interest::READABLE).map_err(io::Error::from)
    }
}

/// Starts the task that reaps our child `pid` as soon as it ends.
fn reap(pid: u32) -> ExitWatch {
    let (sender, receiver) = watch::channel(None);
    let pidfd = pidfd_open(pid);
    tokio::spawn(async move {
        if let Ok(pidfd) = &pidfd {
            // Readable means ended; an error means the descriptor is unusable, and
            // the blocking wait below copes either way.
            let _ = pidfd.readable().await;
        }
        let status = tokio::task::spawn_blocking(move || wait_blocking(pid)).await;
        if let Ok(Ok(status)) = status {
            let _ = sender.send(Some(status));
        }
    });
    ExitWatch(receiver)
}

/// `waitpid` on our child, retrying interruptions.
fn wait_blocking(pid: u32) -> io::Result<ExitStatus> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes the status into `status`, a live integer.
        let reaped = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        if reaped >= 0 {
            return Ok(ExitStatus::from_raw(status));
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Resolves when `pid`, a process that is *not* our child (an executor found again
/// after an agent restart), has ended: through a pidfd, or where the kernel has none
/// by checking `kill(pid, 0)` every [`LIVENESS_INTERVAL`]. Its exit status cannot be
/// known: only its parent could reap it.
pub(crate) async fn wait_foreign(pid: u32) {
    match pidfd_open(pid) {
        Ok(pidfd) => {
            let _ = pidfd.readable().await;
        }
        Err(error) if error.raw_os_error() == Some(libc::ESRCH) => {}
        Err(_) => {
            let pid = OsPid::from_raw(pid as libc::pid_t);
            while kill(pid, None).is_ok() {
                tokio::time::sleep(LIVENESS_INTERVAL).await;
            }
        }
    }
}

impl Launched {
    /// The host pid (and session id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends `signal` to every process of the session's process group.
    pub fn signal(&self, signal: Signal) -> nix::Result<()> {
        signal_group(self.pid, signal)
    }

    /// Waits until the launched process exits.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.exit.wait().await
    }

    /// Kills the whole process group and waits for the process.
    pub async fn destroy(&mut self) -> io::Result<ExitStatus> {
        self.signal(Signal::SIGKILL).map_err(io::Error::from)?;
        self.exit.wait().await
    }

    pub(crate) fn exit_watch(&self) -> ExitWatch {
        self.exit.clone()
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
    async fn arguments_and_path_lookup_use_the_given_environment() {
        let dir = sandbox("args");
        let spec = LaunchSpec {
            program: "echo".into(),
            arguments: vec!["one".into(), "two words".into()],
            shell: false,
            environment: [("PATH".to_owned(), "/bin:/usr/bin".to_owned())].into(),
            sandbox: dir.clone(),
        };
        assert!(launch(&spec).unwrap().wait().await.unwrap().success());
        let output = std::fs::read_to_string(stdout_path(&dir)).unwrap();
        assert_eq!(output, "one two words\n");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_missing_program_is_an_error() {
        let dir = sandbox("missing");
        let spec = LaunchSpec {
            shell: false,
            ..shell("/nonexistent/program", &dir)
        };
        let error = launch(&spec).unwrap_err();
        assert!(
            matches!(&error, LaunchError::Setup { step, .. } if step.starts_with("executing")),
            "{error}"
        );
        let spec = LaunchSpec {
            shell: false,
            ..shell("no-such-program-anywhere", &dir)
        };
        assert!(matches!(launch(&spec), Err(LaunchError::Spawn { .. })));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_cgroup_that_cannot_be_joined_fails_the_launch_with_its_path() {
        let dir = sandbox("cgroup");
        let placement = Placement {
            cgroup_procs: vec![dir.join("no-such-cgroup/cgroup.procs")],
            ..Placement::default()
        };
        let error = launch_placed(&shell("true", &dir), &placement).unwrap_err();
        assert!(
            error.to_string().contains("no-such-cgroup/cgroup.procs"),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn odd_reports_decode_without_panicking() {
        assert_eq!(decode_report(&[]), None);
        assert_eq!(decode_report(&[3, 1, 0]), None);
        let mut report = vec![STEP_CHDIR];
        report.extend_from_slice(&2i32.to_ne_bytes());
        assert_eq!(decode_report(&report), Some((STEP_CHDIR, 2)));
    }
}
