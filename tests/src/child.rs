//! Other programs a test runs beside the cluster (an example framework, a framework
//! that is to crash), killed when the test ends however it ends.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::poll::until_deadline;

/// A running program, with its output in a log file; SIGKILLed on drop.
#[derive(Debug)]
pub struct Spawned {
    child: Child,
}

impl Spawned {
    /// Starts `program` with `args`, its stdout and stderr written to `log`.
    pub fn start(program: &Path, args: &[String], log: &Path) -> Spawned {
        let stdout = File::create(log).expect("create the program's log");
        let stderr = stdout.try_clone().expect("share the log");
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()));
        Spawned { child }
    }

    /// How the program exited, waiting up to `deadline` for it.
    pub fn exit_status(&mut self, deadline: Duration) -> ExitStatus {
        until_deadline("the program to exit", deadline, || {
            self.child.try_wait().expect("wait for the program")
        })
    }

    /// Kills the program with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}
