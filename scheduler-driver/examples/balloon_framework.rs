//! The balloon framework, after Mesos's `balloon-framework`: runs one task with
//! `--task_memory` whose command then fills more memory than that, up to
//! `--balloon_limit`. With memory isolation the agent kills it: the framework expects
//! `TASK_FAILED` with `REASON_CONTAINER_LIMITATION_MEMORY` and exits 0; any other end
//! (finishing, say, when nothing limits the task) exits 1.
//!
//! ```text
//! cargo run -p mesos-scheduler-driver --example balloon_framework -- \
//!     --master=127.0.0.1:5050 --task_memory=64MB --balloon_limit=512MB
//! ```

#[path = "support/common.rs"]
mod common;

use std::process::ExitCode;

use clap::Parser;
use mesos_proto::mesos::{
    CommandInfo, Filters, MasterInfo, Offer, StatusReason, TaskInfo, TaskState, TaskStatus,
};
use mesos_proto::{FrameworkId, Resources};
use mesos_scheduler_driver::{MesosSchedulerDriver, Scheduler, SchedulerDriver};

use common::{fits, parse_bytes, ExampleFlags};

/// The task's CPU share: the balloon is about memory.
const TASK_CPUS: f64 = 0.1;

const TASK_ID: &str = "balloon";

#[derive(Debug, Parser)]
#[command(
    rename_all = "snake_case",
    about = "Runs a task that outgrows its memory limit, and expects it killed"
)]
struct Flags {
    #[command(flatten)]
    example: ExampleFlags,
    /// The memory the task asks for (its limit), e.g. `128MB`.
    #[arg(long, env = "MESOS_EXAMPLE_TASK_MEMORY", default_value = "128MB", value_parser = parse_bytes)]
    task_memory: u64,
    /// How much memory the task's command fills, e.g. `1GB`; more than `--task_memory`.
    #[arg(long, env = "MESOS_EXAMPLE_BALLOON_LIMIT", default_value = "1GB", value_parser = parse_bytes)]
    balloon_limit: u64,
}

struct BalloonScheduler {
    resources: Resources,
    balloon_limit: u64,
    launched: bool,
}

impl BalloonScheduler {
    /// `tail` keeps a line whole until it ends, and `/dev/zero` has no newline: the
    /// process's memory grows with every byte read, up to the balloon limit.
    fn command(&self) -> String {
        format!("head -c {} /dev/zero | tail", self.balloon_limit)
    }
}

impl Scheduler for BalloonScheduler {
    fn registered(&mut self, _: &dyn SchedulerDriver, framework_id: FrameworkId, _: MasterInfo) {
        tracing::info!(%framework_id, "Registered");
    }

    fn reregistered(&mut self, _: &dyn SchedulerDriver, _: MasterInfo) {}

    fn disconnected(&mut self, _: &dyn SchedulerDriver) {
        tracing::info!("Disconnected");
    }

    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: Vec<Offer>) {
        for offer in offers {
            if self.launched || !fits(&offer, &self.resources) {
                driver.decline_offer(offer.id, Filters::default());
                continue;
            }
            let task = TaskInfo {
                name: TASK_ID.into(),
                task_id: TASK_ID.into(),
                agent_id: offer.agent_id.clone(),
                resources: self.resources.clone(),
                command: Some(CommandInfo {
                    value: Some(self.command()),
                    ..CommandInfo::default()
                }),
                ..TaskInfo::default()
            };
            tracing::info!(agent_id = %offer.agent_id, command = %self.command(), "Launching the balloon task");
            driver.launch_tasks(vec![offer.id], vec![task], Filters::default());
            self.launched = true;
        }
    }

    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: TaskStatus) {
        tracing::info!(
            task_id = %status.task_id,
            state = %status.state,
            reason = ?status.reason,
            message = status.message.as_deref().unwrap_or(""),
            "Status update"
        );
        if !status.state.is_terminal() {
            return;
        }
        let limited = status.state == TaskState::TASK_FAILED
            && status.reason == Some(StatusReason::REASON_CONTAINER_LIMITATION_MEMORY);
        if limited {
            tracing::info!("The task outgrew its memory and was stopped, as expected");
            driver.stop(false);
        } else {
            tracing::error!("The task was expected to fail for exceeding its memory limit");
            driver.abort();
        }
    }

    fn error(&mut self, _: &dyn SchedulerDriver, message: String) {
        tracing::error!(%message, "Framework error");
    }
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    common::init_logging();
    if flags.balloon_limit <= flags.task_memory {
        eprintln!("--balloon_limit must exceed --task_memory, or nothing limits the task");
        return ExitCode::FAILURE;
    }
    let mem_mb = flags.task_memory as f64 / (1024.0 * 1024.0);
    let resources = format!("cpus:{TASK_CPUS};mem:{mem_mb}");
    let resources = match Resources::parse(&resources, &flags.example.role) {
        Ok(resources) => resources,
        Err(error) => {
            eprintln!("invalid --task_memory: {error}");
            return ExitCode::FAILURE;
        }
    };
    let scheduler = BalloonScheduler {
        resources,
        balloon_limit: flags.balloon_limit,
        launched: false,
    };
    let framework = flags.example.framework("Balloon Framework (Rust)");
    let driver = MesosSchedulerDriver::new(scheduler, framework, flags.example.master);
    common::exit_code(driver.run())
}
