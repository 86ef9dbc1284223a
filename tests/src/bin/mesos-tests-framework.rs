//! A framework in its own OS process, for scenarios where the scheduler must really
//! go away: the master only learns a scheduler is gone when its socket breaks, and a
//! driver stopped inside a live test process keeps that socket open. It registers,
//! launches one command task on its first offer that fits, and runs until killed.

use clap::Parser;
use mesos_proto::mesos::{Filters, FrameworkInfo};
use mesos_scheduler_driver::SchedulerDriver;
use mesos_tests::{command_task, framework_info, Event, Framework, TASK_RESOURCES};

#[derive(Debug, Parser)]
#[command(rename_all = "snake_case")]
struct Flags {
    /// The master, `ip:port`.
    #[arg(long)]
    master: String,
    /// The framework's name, by which the test finds it in `/master/state`.
    #[arg(long)]
    name: String,
    /// Seconds the master waits for the framework to fail over.
    #[arg(long)]
    failover_timeout: f64,
    /// Whether the agents checkpoint the framework's tasks.
    #[arg(long)]
    checkpoint: bool,
    /// The task's id.
    #[arg(long)]
    task_id: String,
    /// The task's command.
    #[arg(long)]
    command: String,
}

fn main() {
    let flags = Flags::parse();
    let info = FrameworkInfo {
        failover_timeout: Some(flags.failover_timeout),
        checkpoint: Some(flags.checkpoint),
        ..framework_info(&flags.name)
    };
    let master = flags.master.clone();
    let mut launched = false;
    let reaction = Box::new(move |driver: &dyn SchedulerDriver, event: &Event| {
        let Event::Offers(offers) = event else {
            return;
        };
        for offer in offers {
            let tasks = if launched {
                Vec::new()
            } else {
                launched = true;
                vec![command_task(
                    &flags.task_id,
                    offer,
                    TASK_RESOURCES,
                    &flags.command,
                )]
            };
            driver.launch_tasks(vec![offer.id.clone()], tasks, Filters::default());
        }
    });
    let framework = Framework::start_reacting(info, &master, Some(reaction));
    // The test kills this process; until then the driver runs.
    framework.driver.join();
}
