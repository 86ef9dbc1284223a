//! `trait Executor`: the callbacks an executor implements, as Mesos's `executor.hpp`.

use mesos_proto::mesos::{AgentInfo, ExecutorInfo, FrameworkInfo, TaskInfo};
use mesos_proto::TaskId;

use crate::driver::ExecutorDriver;

/// An executor: what runs a framework's tasks on an agent.
///
/// The driver calls these one at a time, from its own process, never concurrently.
/// A callback must return promptly: long work belongs on another thread or task,
/// which reports back with [`ExecutorDriver::send_status_update`]. Calling the
/// driver from inside a callback is safe: its methods only queue the request.
pub trait Executor: Send {
    /// The agent accepted the executor's registration. Called once, before any task
    /// arrives, with the executor's and framework's descriptions and the agent's.
    fn registered(
        &mut self,
        driver: &dyn ExecutorDriver,
        executor_info: ExecutorInfo,
        framework_info: FrameworkInfo,
        agent_info: AgentInfo,
    );

    /// A restarted agent recovered the executor, which re-registered with it. Updates
    /// that were never acknowledged have been handed to the agent again.
    fn reregistered(&mut self, driver: &dyn ExecutorDriver, agent_info: AgentInfo);

    /// The connection to the agent broke, and the framework checkpoints, so the
    /// executor waits for the agent to come back. Either `reregistered` or `shutdown`
    /// follows.
    fn disconnected(&mut self, driver: &dyn ExecutorDriver);

    /// The agent hands the executor a task to run. The executor reports its progress
    /// with status updates: `TASK_STARTING`, then `TASK_RUNNING`, then a terminal state.
    fn launch_task(&mut self, driver: &dyn ExecutorDriver, task: TaskInfo);

    /// The framework asked to kill a task. The executor owes a terminal status update
    /// (normally `TASK_KILLED`) once the task is gone; nothing is retried for it.
    fn kill_task(&mut self, driver: &dyn ExecutorDriver, task_id: TaskId);

    /// The framework's scheduler sent the executor opaque data. Best effort: such
    /// messages may be lost.
    fn framework_message(&mut self, driver: &dyn ExecutorDriver, data: Vec<u8>);

    /// The executor must stop: the agent asked, or the agent is gone and cannot come
    /// back. The executor kills its tasks, reports them terminal and stops the driver;
    /// if it takes longer than the shutdown grace period, the driver aborts.
    fn shutdown(&mut self, driver: &dyn ExecutorDriver);

    /// The driver hit an unrecoverable error (for example the executor sent
    /// `TASK_STAGING`) and aborted: no more callbacks follow.
    fn error(&mut self, driver: &dyn ExecutorDriver, message: String);
}
