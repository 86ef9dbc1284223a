//! The command executor: runs a task's `CommandInfo` as a child process group, as
//! Mesos's `mesos-executor` does. It is an ordinary [`Executor`], written against the
//! public API only.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mesos_proto::mesos::{
    AgentInfo, CommandInfo, ExecutorInfo, FrameworkInfo, TaskInfo, TaskState, TaskStatus,
};
use mesos_proto::TaskId;
use tokio::process::{Child, Command};

use crate::driver::{DriverError, ExecutorDriver, MesosExecutorDriver, Status};
use crate::executor::Executor;

/// Time between SIGTERM and SIGKILL when the task names no kill policy.
pub const DEFAULT_KILL_GRACE_PERIOD: Duration = Duration::from_secs(3);

/// How long the executor waits after its task's terminal update before it stops, so
/// the update can reach the agent (Mesos's driver-mode fail-safe).
pub const TERMINAL_UPDATE_DELAY: Duration = Duration::from_secs(1);

/// Runs the command executor with the `MESOS_*` environment until it stops.
pub fn run() -> Result<Status, DriverError> {
    let slot = Arc::new(OnceLock::new());
    let driver = MesosExecutorDriver::new(CommandExecutor::new(slot.clone()))?;
    // The slot was just made, so it is empty.
    let _ = slot.set(driver.clone());
    Ok(driver.run())
}

/// Runs one task's command and reports it: `TASK_STARTING`, `TASK_RUNNING`, then
/// `TASK_FINISHED`, `TASK_FAILED` or `TASK_KILLED`.
#[derive(Debug)]
pub struct CommandExecutor {
    /// The driver, for reports from outside callbacks (the task's exit).
    driver: Arc<OnceLock<MesosExecutorDriver>>,
    task: Option<Launched>,
}

/// The running task.
#[derive(Debug)]
struct Launched {
    task_id: TaskId,
    /// The child's pid, which is also its process group's id.
    group: u32,
    grace_period: Duration,
    flags: Arc<TaskFlags>,
}

/// What the reaper and the killer share about the task.
#[derive(Debug, Default)]
struct TaskFlags {
    /// A kill was requested: the exit is reported as `TASK_KILLED`.
    killed: AtomicBool,
    /// The command was reaped: its process group id may be reused, so no more signals.
    exited: AtomicBool,
}

impl CommandExecutor {
    /// A command executor that reports its tasks' exits through the driver put in
    /// `driver` once it exists.
    pub fn new(driver: Arc<OnceLock<MesosExecutorDriver>>) -> Self {
        CommandExecutor { driver, task: None }
    }

    fn launch(&mut self, driver: &dyn ExecutorDriver, task: TaskInfo) -> Result<(), String> {
        let command = task
            .command
            .as_ref()
            .ok_or("The task has no command to run")?;
        let child = spawn(command).map_err(|e| format!("Failed to launch the command: {e}"))?;
        let group = child
            .id()
            .ok_or("The command exited before it was watched")?;
        let flags = Arc::new(TaskFlags::default());
        self.task = Some(Launched {
            task_id: task.task_id.clone(),
            group,
            grace_period: grace_period(&task),
            flags: flags.clone(),
        });
        report(driver, &task.task_id, TaskState::TASK_RUNNING, None);
        tokio::spawn(reap(child, task.task_id, flags, self.driver.clone()));
        Ok(())
    }

    /// Sends SIGTERM to the task's process group and SIGKILL after its grace period.
    /// Returns false when there is no running task to kill.
    fn kill(&mut self) -> bool {
        let Some(task) = &self.task else {
            return false;
        };
        if task.flags.exited.load(Ordering::SeqCst) {
            return false;
        }
        if !task.flags.killed.swap(true, Ordering::SeqCst) {
            tracing::info!(task_id = %task.task_id.as_str(), "Sending SIGTERM to the task");
            signal_group("TERM", task.group);
            let (group, grace, flags) = (task.group, task.grace_period, task.flags.clone());
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                if !flags.exited.load(Ordering::SeqCst) {
                    signal_group("KILL", group);
                }
            });
        }
        true
    }
}

impl Executor for CommandExecutor {
    fn registered(
        &mut self,
        _driver: &dyn ExecutorDriver,
        executor_info: ExecutorInfo,
        _framework_info: FrameworkInfo,
        _agent_info: AgentInfo,
    ) {
        tracing::info!(executor_id = %executor_info.executor_id.as_str(), "Registered");
    }

    fn reregistered(&mut self, _driver: &dyn ExecutorDriver, _agent_info: AgentInfo) {
        tracing::info!("Re-registered");
    }

    fn disconnected(&mut self, _driver: &dyn ExecutorDriver) {
        tracing::info!("Disconnected from the agent");
    }

    fn launch_task(&mut self, driver: &dyn ExecutorDriver, task: TaskInfo) {
        if self.task.is_some() {
            let message = "Attempted to run multiple tasks using a command executor";
            report(
                driver,
                &task.task_id,
                TaskState::TASK_FAILED,
                Some(message.to_owned()),
            );
            return;
        }
        report(driver, &task.task_id, TaskState::TASK_STARTING, None);
        let task_id = task.task_id.clone();
        if let Err(message) = self.launch(driver, task) {
            report(driver, &task_id, TaskState::TASK_FAILED, Some(message));
            stop_after_terminal_update(driver_handle(&self.driver));
        }
    }

    fn kill_task(&mut self, _driver: &dyn ExecutorDriver, task_id: TaskId) {
        match &self.task {
            Some(task) if task.task_id == task_id => {
                self.kill();
            }
            _ => tracing::warn!(task_id = %task_id.as_str(), "Ignoring a kill of an unknown task"),
        }
    }

    fn framework_message(&mut self, _driver: &dyn ExecutorDriver, _data: Vec<u8>) {}

    fn shutdown(&mut self, driver: &dyn ExecutorDriver) {
        if !self.kill() {
            driver.stop();
        }
    }

    fn error(&mut self, _driver: &dyn ExecutorDriver, message: String) {
        tracing::error!(%message, "Executor driver error");
    }
}

/// Starts the command in its own process group, so the whole tree can be signalled.
fn spawn(command: &CommandInfo) -> std::io::Result<Child> {
    let value = command.value.clone().unwrap_or_default();
    let mut child = if command.is_shell() {
        let mut shell = Command::new("/bin/sh");
        shell.arg("-c").arg(value);
        shell
    } else {
        let mut program = Command::new(value);
        // `arguments` is the whole argv, its first entry the program's name.
        program.args(command.arguments.iter().skip(1));
        program
    };
    let variables = command.environment.iter().flat_map(|env| &env.variables);
    for variable in variables {
        child.env(
            &variable.name,
            variable.value.as_deref().unwrap_or_default(),
        );
    }
    child.process_group(0).spawn()
}

/// Waits for the task's exit, reports it and stops the driver.
async fn reap(
    mut child: Child,
    task_id: TaskId,
    flags: Arc<TaskFlags>,
    driver: Arc<OnceLock<MesosExecutorDriver>>,
) {
    let exit = child.wait().await;
    flags.exited.store(true, Ordering::SeqCst);
    let (state, message) = match exit {
        Ok(status) => outcome(status, flags.killed.load(Ordering::SeqCst)),
        Err(e) => (
            TaskState::TASK_FAILED,
            format!("Failed to wait for the command: {e}"),
        ),
    };
    tracing::info!(task_id = %task_id.as_str(), ?state, %message, "Command exited");
    let driver = driver_handle(&driver);
    if let Some(driver) = &driver {
        report(driver, &task_id, state, Some(message));
    }
    stop_after_terminal_update(driver);
}

/// The terminal state and message for a command's exit.
fn outcome(status: ExitStatus, killed: bool) -> (TaskState, String) {
    let message = match (status.code(), status.signal()) {
        (Some(code), _) => format!("Command exited with status {code}"),
        (None, Some(signal)) => format!("Command terminated by signal {signal}"),
        (None, None) => "Command exited".to_owned(),
    };
    let state = if killed {
        TaskState::TASK_KILLED
    } else if status.success() {
        TaskState::TASK_FINISHED
    } else {
        TaskState::TASK_FAILED
    };
    (state, message)
}

fn grace_period(task: &TaskInfo) -> Duration {
    task.kill_policy
        .and_then(|policy| policy.grace_period)
        .and_then(|grace| u64::try_from(grace.nanoseconds).ok())
        .map_or(DEFAULT_KILL_GRACE_PERIOD, Duration::from_nanos)
}

fn signal_group(signal: &str, group: u32) {
    let sent = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{group}"))
        .status();
    if !matches!(sent, Ok(status) if status.success()) {
        tracing::warn!(signal, group, "Could not signal the task's process group");
    }
}

fn driver_handle(slot: &OnceLock<MesosExecutorDriver>) -> Option<MesosExecutorDriver> {
    let driver = slot.get().cloned();
    if driver.is_none() {
        tracing::error!("The command executor has no driver to report to");
    }
    driver
}

fn stop_after_terminal_update(driver: Option<MesosExecutorDriver>) {
    tokio::spawn(async move {
        tokio::time::sleep(TERMINAL_UPDATE_DELAY).await;
        if let Some(driver) = driver {
            driver.stop();
        }
    });
}

fn report(
    driver: &dyn ExecutorDriver,
    task_id: &TaskId,
    state: TaskState,
    message: Option<String>,
) {
    driver.send_status_update(TaskStatus {
        task_id: task_id.clone(),
        state,
        message,
        ..TaskStatus::default()
    });
}
