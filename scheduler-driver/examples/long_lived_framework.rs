//! The long-lived framework, after Mesos's `long-lived-framework`: keeps one task
//! running on every agent, and relaunches it on that agent whenever it ends. It runs
//! until interrupted (or until the master refuses it).
//!
//! ```text
//! cargo run -p mesos-scheduler-driver --example long_lived_framework -- --master=127.0.0.1:5050
//! ```

#[path = "support/common.rs"]
mod common;

use std::collections::HashMap;
use std::process::ExitCode;

use clap::Parser;
use mesos_proto::mesos::{CommandInfo, Filters, MasterInfo, Offer, TaskInfo, TaskStatus};
use mesos_proto::{AgentId, FrameworkId, Resources, TaskId};
use mesos_scheduler_driver::{MesosSchedulerDriver, Scheduler, SchedulerDriver};

use common::ExampleFlags;

#[derive(Debug, Parser)]
#[command(
    rename_all = "snake_case",
    about = "Keeps one task running on every agent"
)]
struct Flags {
    #[command(flatten)]
    example: ExampleFlags,
    /// The command of each task; when it ends, the task is relaunched.
    #[arg(
        long,
        env = "MESOS_EXAMPLE_COMMAND",
        default_value = "while true; do echo alive; sleep 5; done"
    )]
    command: String,
    /// What each task uses.
    #[arg(
        long,
        env = "MESOS_EXAMPLE_TASK_RESOURCES",
        default_value = "cpus:0.1;mem:32"
    )]
    task_resources: String,
}

struct LongLivedScheduler {
    command: String,
    resources: Resources,
    /// The task running (or launching) on each agent.
    tasks: HashMap<AgentId, TaskId>,
    launched: u64,
}

impl LongLivedScheduler {
    fn task(&mut self, offer: &Offer) -> TaskInfo {
        self.launched += 1;
        TaskInfo {
            name: format!("long-lived {}", self.launched),
            task_id: format!("long-lived-{}", self.launched).into(),
            agent_id: offer.agent_id.clone(),
            resources: self.resources.clone(),
            command: Some(CommandInfo {
                value: Some(self.command.clone()),
                ..CommandInfo::default()
            }),
            ..TaskInfo::default()
        }
    }
}

impl Scheduler for LongLivedScheduler {
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
            if self.tasks.contains_key(&offer.agent_id) || !common::fits(&offer, &self.resources) {
                driver.decline_offer(offer.id, Filters::default());
                continue;
            }
            let task = self.task(&offer);
            tracing::info!(task_id = %task.task_id, agent_id = %offer.agent_id, "Launching task");
            self.tasks
                .insert(offer.agent_id.clone(), task.task_id.clone());
            driver.launch_tasks(vec![offer.id], vec![task], Filters::default());
        }
    }

    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: TaskStatus) {
        tracing::info!(task_id = %status.task_id, state = %status.state, "Status update");
        if !status.state.is_terminal() {
            return;
        }
        let before = self.tasks.len();
        self.tasks.retain(|_, task_id| *task_id != status.task_id);
        if self.tasks.len() < before {
            tracing::info!(task_id = %status.task_id, "Task ended; relaunching on its agent");
            // Its agent's resources come back at the next allocation, not after the
            // refusal filter of the declines meanwhile.
            driver.revive_offers();
        }
    }

    fn error(&mut self, _: &dyn SchedulerDriver, message: String) {
        tracing::error!(%message, "Framework error");
    }
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    common::init_logging();
    let resources = match Resources::parse(&flags.task_resources, &flags.example.role) {
        Ok(resources) => resources,
        Err(error) => {
            eprintln!("invalid --task_resources: {error}");
            return ExitCode::FAILURE;
        }
    };
    let scheduler = LongLivedScheduler {
        command: flags.command,
        resources,
        tasks: HashMap::new(),
        launched: 0,
    };
    let framework = flags.example.framework("Long Lived Framework (Rust)");
    let driver = MesosSchedulerDriver::new(scheduler, framework, flags.example.master);
    common::exit_code(driver.run())
}
