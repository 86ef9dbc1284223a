//! The test framework, as Mesos's `test-framework`: launches `--num_tasks` command
//! tasks (one cpu and 128 MB each, as many per offer as fit) with the command
//! executor, and exits 0 once all have finished, 1 as soon as one ends otherwise.
//!
//! ```text
//! cargo run -p mesos-scheduler-driver --example test_framework -- --master=127.0.0.1:5050
//! ```

#[path = "support/common.rs"]
mod common;

use std::process::ExitCode;

use clap::Parser;
use mesos_proto::mesos::{
    CommandInfo, Filters, MasterInfo, Offer, TaskInfo, TaskState, TaskStatus,
};
use mesos_proto::{FrameworkId, Resources};
use mesos_scheduler_driver::{MesosSchedulerDriver, Scheduler, SchedulerDriver};

use common::{scalar, ExampleFlags};

const CPUS_PER_TASK: f64 = 1.0;
const MEM_PER_TASK: f64 = 128.0;

#[derive(Debug, Parser)]
#[command(
    rename_all = "snake_case",
    about = "Runs a number of command tasks and exits when all have finished"
)]
struct Flags {
    #[command(flatten)]
    example: ExampleFlags,
    /// How many tasks to run.
    #[arg(long, env = "MESOS_EXAMPLE_NUM_TASKS", default_value_t = 5)]
    num_tasks: u32,
    /// The command each task runs.
    #[arg(long, env = "MESOS_EXAMPLE_COMMAND", default_value = "echo hello")]
    command: String,
}

struct TestScheduler {
    role: String,
    command: String,
    total: u32,
    launched: u32,
    finished: u32,
}

impl TestScheduler {
    fn task(&self, offer: &Offer) -> TaskInfo {
        let id = self.launched.to_string();
        let resources = format!("cpus:{CPUS_PER_TASK};mem:{MEM_PER_TASK}");
        TaskInfo {
            name: format!("Task {id}"),
            task_id: id.into(),
            agent_id: offer.agent_id.clone(),
            resources: Resources::parse(&resources, &self.role).expect("valid resources"),
            command: Some(CommandInfo {
                value: Some(self.command.clone()),
                ..CommandInfo::default()
            }),
            ..TaskInfo::default()
        }
    }
}

impl Scheduler for TestScheduler {
    fn registered(&mut self, _: &dyn SchedulerDriver, framework_id: FrameworkId, _: MasterInfo) {
        tracing::info!(%framework_id, "Registered");
    }

    fn reregistered(&mut self, _: &dyn SchedulerDriver, _: MasterInfo) {
        tracing::info!("Re-registered");
    }

    fn disconnected(&mut self, _: &dyn SchedulerDriver) {
        tracing::info!("Disconnected");
    }

    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: Vec<Offer>) {
        for offer in offers {
            let (mut cpus, mut mem) = (scalar(&offer, "cpus"), scalar(&offer, "mem"));
            let mut tasks = Vec::new();
            while self.launched < self.total && cpus >= CPUS_PER_TASK && mem >= MEM_PER_TASK {
                let task = self.task(&offer);
                tracing::info!(task_id = %task.task_id, agent_id = %offer.agent_id, "Launching task");
                tasks.push(task);
                self.launched += 1;
                cpus -= CPUS_PER_TASK;
                mem -= MEM_PER_TASK;
            }
            driver.launch_tasks(vec![offer.id], tasks, Filters::default());
        }
    }

    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: TaskStatus) {
        tracing::info!(task_id = %status.task_id, state = %status.state, "Status update");
        match status.state {
            TaskState::TASK_FINISHED => {
                self.finished += 1;
                if self.finished == self.total {
                    tracing::info!(tasks = self.total, "All tasks finished");
                    driver.stop(false);
                }
            }
            state if state.is_terminal() => {
                tracing::error!(
                    task_id = %status.task_id,
                    %state,
                    reason = ?status.reason,
                    message = status.message.as_deref().unwrap_or(""),
                    "Aborting because a task ended unexpectedly"
                );
                driver.abort();
            }
            _ => {}
        }
    }

    fn error(&mut self, _: &dyn SchedulerDriver, message: String) {
        tracing::error!(%message, "Framework error");
    }
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    common::init_logging();
    let scheduler = TestScheduler {
        role: flags.example.role.clone(),
        command: flags.command,
        total: flags.num_tasks,
        launched: 0,
        finished: 0,
    };
    if scheduler.total == 0 {
        return ExitCode::SUCCESS;
    }
    let framework = flags.example.framework("Test Framework (Rust)");
    let driver = MesosSchedulerDriver::new(scheduler, framework, flags.example.master);
    common::exit_code(driver.run())
}
