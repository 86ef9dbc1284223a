//! `mesos-execute`: runs one command as a framework of its own, as Mesos's. It
//! registers through `MesosSchedulerDriver`, launches the task on the first offer it
//! fits in, prints every status update with its time, and ends with the task: success
//! only for `TASK_FINISHED`.
//!
//! The driver's callbacks only decide about offers and report to the main thread,
//! which owns the deadlines (`--offer_timeout`, `--kill_after`) and the driver's end.

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context as _};
use clap::Parser;
use mesos_proto::mesos::{
    CommandInfo, Environment, Filters, FrameworkInfo, MasterInfo, Offer, TaskInfo, TaskState,
    TaskStatus, Variable,
};
use mesos_proto::{AgentId, FrameworkId, Resources};
use mesos_scheduler_driver::{MesosSchedulerDriver, Scheduler, SchedulerDriver, Status};

fn duration(text: &str) -> Result<Duration, String> {
    mesos_proto::duration::parse_duration(text).map_err(|e| e.to_string())
}

/// `mesos-execute`'s flags, each also read from `MESOS_<NAME>`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "mesos-execute",
    version = mesos_proto::MESOS_VERSION,
    about = "Runs one command on a Mesos cluster, as a framework of its own",
    rename_all = "snake_case"
)]
pub struct Flags {
    /// The master: `host:port`, `master@host:port` or `file:///path`.
    #[arg(long, env = "MESOS_MASTER")]
    pub master: String,
    /// The task's name, which is also its id.
    #[arg(long, env = "MESOS_NAME", required_unless_present = "task_group")]
    pub name: Option<String>,
    /// The command to run.
    #[arg(long, env = "MESOS_COMMAND", required_unless_present = "task_group")]
    pub command: Option<String>,
    /// Run the command through `sh -c`; otherwise it is split on whitespace into a
    /// program and its arguments.
    #[arg(long, env = "MESOS_SHELL", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub shell: bool,
    /// The task's resources.
    #[arg(long, env = "MESOS_RESOURCES", default_value = "cpus:1;mem:128")]
    pub resources: String,
    /// The command's environment variables: a JSON object (`{"NAME": "value"}`), or
    /// `file:///path` to a file holding one.
    #[arg(long, env = "MESOS_ENV")]
    pub env: Option<String>,
    /// The role the framework registers with.
    #[arg(long, env = "MESOS_ROLE", default_value = "*")]
    pub role: String,
    /// Whether the agent checkpoints the task, so that it survives an agent restart.
    #[arg(long, env = "MESOS_CHECKPOINT", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub checkpoint: bool,
    /// A JSON file holding a `TaskGroupInfo` to run instead of `--command`.
    #[arg(long, env = "MESOS_TASK_GROUP")]
    pub task_group: Option<PathBuf>,
    /// The framework's name.
    #[arg(
        long,
        env = "MESOS_FRAMEWORK_NAME",
        default_value = "mesos-execute instance"
    )]
    pub framework_name: String,
    /// Kill the task this long after it started running (`10secs`, `2mins`).
    #[arg(long, env = "MESOS_KILL_AFTER", value_parser = duration)]
    pub kill_after: Option<Duration>,
    /// How long to wait for an offer the task fits in before giving up.
    #[arg(long, env = "MESOS_OFFER_TIMEOUT", default_value = "1mins", value_parser = duration)]
    pub offer_timeout: Duration,
}

/// Where the launch stands, shared by the offer callback and the main thread so that
/// a task is never launched after the main thread gave up waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Launch {
    Waiting,
    Launched,
    GaveUp,
}

/// What the callbacks tell the main thread.
#[derive(Debug)]
enum Event {
    Subscribed(FrameworkId),
    Submitted(AgentId),
    Update(TaskStatus),
    Disconnected,
    Error(String),
}

/// The framework's scheduler: launches the task on the first offer it fits in and
/// declines every other offer.
struct CommandScheduler {
    task: TaskInfo,
    wanted: Resources,
    launch: Arc<Mutex<Launch>>,
    events: mpsc::Sender<Event>,
}

impl CommandScheduler {
    fn report(&self, event: Event) {
        // The main thread is gone only once it has decided the outcome.
        let _ = self.events.send(event);
    }

    /// Launches the task on `offer` when it fits and nothing was launched yet.
    fn try_launch(&mut self, driver: &dyn SchedulerDriver, offer: &Offer) -> bool {
        let mut launch = self.launch.lock().unwrap_or_else(|p| p.into_inner());
        if *launch != Launch::Waiting {
            return false;
        }
        let Some(resources) = take(&offer.resources, &self.wanted) else {
            return false;
        };
        let task = TaskInfo {
            agent_id: offer.agent_id.clone(),
            resources,
            ..self.task.clone()
        };
        tracing::info!(task_id = %task.task_id, agent_id = %offer.agent_id, "Launching task");
        driver.launch_tasks(vec![offer.id.clone()], vec![task], Filters::default());
        *launch = Launch::Launched;
        self.report(Event::Submitted(offer.agent_id.clone()));
        true
    }
}

impl Scheduler for CommandScheduler {
    fn registered(&mut self, _: &dyn SchedulerDriver, framework_id: FrameworkId, _: MasterInfo) {
        self.report(Event::Subscribed(framework_id));
    }

    fn reregistered(&mut self, _: &dyn SchedulerDriver, _: MasterInfo) {}

    fn disconnected(&mut self, _: &dyn SchedulerDriver) {
        self.report(Event::Disconnected);
    }

    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: Vec<Offer>) {
        for offer in offers {
            if !self.try_launch(driver, &offer) {
                driver.decline_offer(offer.id, Filters::default());
            }
        }
    }

    fn status_update(&mut self, _: &dyn SchedulerDriver, status: TaskStatus) {
        self.report(Event::Update(status));
    }

    fn error(&mut self, _: &dyn SchedulerDriver, message: String) {
        self.report(Event::Error(message));
    }
}

/// The part of `offered` a task wanting `wanted` is given, as Mesos's `mesos-execute`
/// takes it: each wanted resource comes whole from one offered entry, reserved to the
/// framework's role when one fits, else unreserved, and keeps that entry's
/// reservations. `None` when something does not fit.
pub fn take(offered: &Resources, wanted: &Resources) -> Option<Resources> {
    let mut available = offered.clone();
    available.unallocate();
    let mut taken = Resources::new();
    for want in wanted.iter() {
        let source = available
            .iter()
            .filter(|have| have.name == want.name && have.value.contains(&want.value))
            .max_by_key(|have| !have.reservations.is_empty())?;
        let mut piece = want.clone();
        piece.reservations = source.reservations.clone();
        available -= &piece;
        taken += piece;
    }
    Some(taken)
}

/// The task `flags` describe, without an agent or resources (the offer gives them).
pub fn task(flags: &Flags) -> anyhow::Result<TaskInfo> {
    if flags.task_group.is_some() {
        bail!(
            "--task_group is not supported yet: the agents cannot run task groups (there is no default executor), so nothing would run"
        );
    }
    let name = flags.name.clone().context("--name is required")?;
    let command = flags.command.clone().context("--command is required")?;
    let mut info = CommandInfo {
        shell: Some(flags.shell),
        environment: flags.env.as_deref().map(environment).transpose()?,
        ..CommandInfo::default()
    };
    if flags.shell {
        info.value = Some(command);
    } else {
        info.arguments = command.split_whitespace().map(str::to_owned).collect();
        info.value = Some(
            info.arguments
                .first()
                .cloned()
                .context("--command is empty")?,
        );
    }
    Ok(TaskInfo {
        name: name.clone(),
        task_id: name.into(),
        command: Some(info),
        ..TaskInfo::default()
    })
}

/// `--env`: a JSON object of strings, inline or in a `file://` file.
fn environment(text: &str) -> anyhow::Result<Environment> {
    let json = match text.strip_prefix("file://") {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("read --env file {path}"))?
        }
        None => text.to_owned(),
    };
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&json).context("--env must be a JSON object")?;
    let variables = object
        .into_iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(value) => Ok(Variable {
                name,
                value: Some(value),
            }),
            other => bail!("--env: the value of {name} must be a string, not {other}"),
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Environment { variables })
}

/// Runs the task: `Ok(true)` when it finished, `Ok(false)` when it ended otherwise.
pub fn run(flags: &Flags) -> anyhow::Result<bool> {
    let task = task(flags)?;
    let wanted = Resources::parse(&flags.resources, "*")
        .with_context(|| format!("invalid --resources '{}'", flags.resources))?;
    let framework = FrameworkInfo {
        name: flags.framework_name.clone(),
        role: Some(flags.role.clone()),
        checkpoint: Some(flags.checkpoint),
        ..FrameworkInfo::default()
    };
    let (events, received) = mpsc::channel();
    let launch = Arc::new(Mutex::new(Launch::Waiting));
    let scheduler = CommandScheduler {
        task: task.clone(),
        wanted,
        launch: launch.clone(),
        events,
    };
    let driver = MesosSchedulerDriver::new(scheduler, framework, flags.master.clone());
    if driver.start() != Status::DRIVER_RUNNING {
        bail!(
            "the scheduler driver did not start for master '{}'",
            flags.master
        );
    }
    let mut watch = Watch {
        flags,
        task,
        driver: &driver,
        launch,
        offer_deadline: Instant::now() + flags.offer_timeout,
        kill_at: None,
        agent_id: None,
        subscribed: false,
    };
    let outcome = watch.until_done(&received);
    driver.stop(false);
    driver.join();
    outcome
}

/// The main thread's view of the run, with its deadlines.
struct Watch<'a> {
    flags: &'a Flags,
    task: TaskInfo,
    driver: &'a MesosSchedulerDriver,
    launch: Arc<Mutex<Launch>>,
    offer_deadline: Instant,
    kill_at: Option<Instant>,
    agent_id: Option<AgentId>,
    subscribed: bool,
}

impl Watch<'_> {
    fn until_done(&mut self, events: &mpsc::Receiver<Event>) -> anyhow::Result<bool> {
        loop {
            let waiting = self.waiting_for_offer();
            let deadline = if waiting {
                Some(self.offer_deadline)
            } else {
                self.kill_at
            };
            let event = match deadline {
                Some(deadline) => {
                    events.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                }
                None => events.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match event {
                Ok(Event::Subscribed(id)) => {
                    self.subscribed = true;
                    println!("Subscribed with ID {id}");
                }
                Ok(Event::Submitted(agent_id)) => {
                    println!("Submitted task '{}' to agent '{agent_id}'", self.task.name);
                    self.agent_id = Some(agent_id);
                }
                Ok(Event::Update(status)) => {
                    if let Some(finished) = self.update(&status) {
                        return Ok(finished);
                    }
                }
                Ok(Event::Disconnected) => println!("Disconnected from the master; reconnecting"),
                Ok(Event::Error(message)) => bail!("Received an error from the master: {message}"),
                Err(RecvTimeoutError::Timeout) if waiting => self.give_up()?,
                Err(RecvTimeoutError::Timeout) => self.kill(),
                Err(RecvTimeoutError::Disconnected) => bail!("the scheduler driver stopped"),
            }
        }
    }

    /// Prints `status`; the outcome once it is terminal.
    fn update(&mut self, status: &TaskStatus) -> Option<bool> {
        println!("{}", describe(status));
        if status.state == TaskState::TASK_RUNNING && self.kill_at.is_none() {
            self.kill_at = self.flags.kill_after.map(|after| Instant::now() + after);
        }
        status
            .state
            .is_terminal()
            .then_some(status.state == TaskState::TASK_FINISHED)
    }

    fn waiting_for_offer(&self) -> bool {
        *self.launch.lock().unwrap_or_else(|p| p.into_inner()) == Launch::Waiting
    }

    /// `--offer_timeout` passed: fails unless the offer callback launched meanwhile.
    fn give_up(&mut self) -> anyhow::Result<()> {
        let mut launch = self.launch.lock().unwrap_or_else(|p| p.into_inner());
        if *launch != Launch::Waiting {
            return Ok(());
        }
        *launch = Launch::GaveUp;
        let waited = mesos_proto::duration::format_duration(self.flags.offer_timeout);
        if !self.subscribed {
            bail!(
                "could not subscribe with the master at '{}' within --offer_timeout={waited}",
                self.flags.master
            );
        }
        bail!(
            "no offer fitting task '{}' ({}) arrived within --offer_timeout={waited}",
            self.task.name,
            self.flags.resources
        )
    }

    /// `--kill_after` passed since the task started running.
    fn kill(&mut self) {
        self.kill_at = None;
        let agent = self
            .agent_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        println!("Asked to kill task '{}' on agent '{agent}'", self.task.name);
        self.driver.kill_task(self.task.task_id.clone());
    }
}

/// A status update as Mesos's `mesos-execute` prints it, with the time it happened.
pub fn describe(status: &TaskStatus) -> String {
    let seconds = status.timestamp.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    });
    let mut text = format!(
        "{} Received status update {} for task '{}'",
        format_time(seconds),
        status.state,
        status.task_id
    );
    if let Some(message) = &status.message {
        text.push_str(&format!("\n  message: '{message}'"));
    }
    if let Some(source) = status.source {
        text.push_str(&format!("\n  source: {source:?}"));
    }
    if let Some(reason) = status.reason {
        text.push_str(&format!("\n  reason: {reason:?}"));
    }
    if let Some(healthy) = status.healthy {
        text.push_str(&format!("\n  healthy?: {healthy}"));
    }
    text
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS.mmm UTC`.
pub fn format_time(seconds: f64) -> String {
    let millis = (seconds.max(0.0) * 1000.0).round() as u64;
    let (days, in_day) = (millis / 86_400_000, millis % 86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (hours, minutes) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (secs, ms) = (in_day / 1000 % 60, in_day % 1000);
    format!("{year:04}-{month:02}-{day:02} {hours:02}:{minutes:02}:{secs:02}.{ms:03} UTC")
}

/// The Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        let mut all = vec!["mesos-execute", "--master=127.0.0.1:5050"];
        all.extend_from_slice(args);
        Flags::try_parse_from(all).unwrap()
    }

    fn offered(text: &str) -> Resources {
        let mut resources = Resources::parse(text, "*").unwrap();
        resources.allocate("*");
        resources
    }

    #[test]
    fn defaults_are_mesos_ones() {
        let flags = flags(&["--name=t", "--command=true"]);
        assert!(flags.shell);
        assert!(!flags.checkpoint);
        assert_eq!(flags.resources, "cpus:1;mem:128");
        assert_eq!(flags.role, "*");
        assert_eq!(flags.framework_name, "mesos-execute instance");
        assert_eq!(flags.kill_after, None);
    }

    #[test]
    fn name_and_command_are_required_without_a_task_group() {
        let base = ["mesos-execute", "--master=m:1"];
        assert!(Flags::try_parse_from(base).is_err());
        assert!(Flags::try_parse_from([&base[..], &["--name=t"]].concat()).is_err());
        assert!(Flags::try_parse_from([&base[..], &["--task_group=g.json"]].concat()).is_ok());
    }

    #[test]
    fn task_groups_are_refused_clearly() {
        let error = task(&flags(&["--task_group=g.json"])).unwrap_err();
        assert!(error.to_string().contains("not supported"), "{error}");
    }

    #[test]
    fn a_shell_command_is_one_string_and_the_name_is_the_id() {
        let task = task(&flags(&["--name=hi", "--command=echo hi"])).unwrap();
        assert_eq!(task.task_id.to_string(), "hi");
        let command = task.command.unwrap();
        assert_eq!(command.value.as_deref(), Some("echo hi"));
        assert_eq!(command.shell, Some(true));
    }

    #[test]
    fn a_plain_command_is_split_into_argv() {
        let task = task(&flags(&[
            "--name=t",
            "--command=/bin/echo a b",
            "--shell=false",
        ]))
        .unwrap();
        let command = task.command.unwrap();
        assert_eq!(command.value.as_deref(), Some("/bin/echo"));
        assert_eq!(command.arguments, ["/bin/echo", "a", "b"]);
    }

    #[test]
    fn env_is_a_json_object_of_strings() {
        let task = task(&flags(&[
            "--name=t",
            "--command=env",
            r#"--env={"A":"1","B":"two"}"#,
        ]))
        .unwrap();
        let variables = task.command.unwrap().environment.unwrap().variables;
        assert_eq!(variables.len(), 2);
        assert_eq!(variables[1].name, "B");
        assert_eq!(variables[1].value.as_deref(), Some("two"));
        assert!(super::task(&flags(&["--name=t", "--command=env", r#"--env={"A":1}"#])).is_err());
        assert!(super::task(&flags(&["--name=t", "--command=env", "--env=[1]"])).is_err());
    }

    #[test]
    fn a_task_takes_what_it_wants_from_an_offer_that_fits() {
        let wanted = Resources::parse("cpus:1;mem:128", "*").unwrap();
        let taken = take(&offered("cpus:2;mem:1024;disk:10"), &wanted).unwrap();
        assert_eq!(taken, wanted);
        assert_eq!(take(&offered("cpus:0.5;mem:1024"), &wanted), None);
        assert_eq!(take(&offered("mem:1024"), &wanted), None);
    }

    #[test]
    fn reserved_resources_are_taken_first() {
        let wanted = Resources::parse("cpus:1", "*").unwrap();
        let mut offer = Resources::parse("cpus:4;cpus(dev):2", "*").unwrap();
        offer.allocate("dev");
        let taken = take(&offer, &wanted).unwrap();
        assert_eq!(taken, Resources::parse("cpus(dev):1", "*").unwrap());
    }

    #[test]
    fn updates_print_as_mesos_prints_them() {
        let status = TaskStatus {
            task_id: "t".into(),
            state: TaskState::TASK_FAILED,
            message: Some("Command exited with status 3".into()),
            timestamp: Some(1_700_000_000.25),
            ..TaskStatus::default()
        };
        assert_eq!(
            describe(&status),
            "2023-11-14 22:13:20.250 UTC Received status update TASK_FAILED for task 't'\n  message: 'Command exited with status 3'"
        );
    }

    #[test]
    fn dates_follow_the_calendar() {
        assert_eq!(format_time(0.0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(format_time(951_782_400.0), "2000-02-29 00:00:00.000 UTC");
        assert_eq!(
            format_time(4_107_542_399.999),
            "2100-02-28 23:59:59.999 UTC"
        );
    }
}
