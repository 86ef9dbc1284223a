//! `mesos-execute`: runs one command on a Mesos cluster and exits with its outcome:
//! 0 when the task finished, 1 when it ended otherwise or could not run.

use std::process::ExitCode;

use clap::Parser;
use mesos_cli::execute::{self, Flags};

fn main() -> ExitCode {
    let flags = match Flags::try_parse() {
        Ok(flags) => flags,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // The status lines are the output; the driver's log only when asked for.
    mesos_cli::init_logging(std::env::var_os("RUST_LOG").is_none());
    match execute::run(&flags) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("mesos-execute: {error:#}");
            ExitCode::FAILURE
        }
    }
}
