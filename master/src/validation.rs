//! Pure checks of what frameworks send, run before a handler changes any state. The
//! error text is what the framework sees (in `FrameworkErrorMessage` or a TASK_ERROR
//! update).

use std::collections::{BTreeSet, HashMap, HashSet};

use mesos_proto::mesos::{
    ExecutorInfo, ExecutorType, FrameworkCapabilityType, FrameworkInfo, TaskInfo,
};
use mesos_proto::{roles, AgentId, ExecutorId, OfferId, Resources, TaskId};

/// The longest id accepted: ids become directory names on agents.
pub const MAX_ID_LENGTH: usize = 255;

/// Why a framework's input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A FrameworkInfo is invalid.
    #[error("Invalid FrameworkInfo: {0}")]
    Framework(String),
    /// Offers in an ACCEPT or DECLINE are invalid.
    #[error("Invalid offers: {0}")]
    Offers(String),
    /// A task is invalid.
    #[error("Task {task_id} is invalid: {reason}")]
    Task {
        /// The task.
        task_id: String,
        /// Why.
        reason: String,
    },
    /// A LAUNCH_GROUP is invalid: one of its tasks, or its executor.
    #[error("Task group is invalid: {0}")]
    TaskGroup(String),
}

/// Checks an id as Mesos's `validateID` does, plus a length bound.
pub fn validate_id(kind: &str, id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err(format!("{kind} must not be empty"));
    }
    if id.len() > MAX_ID_LENGTH {
        return Err(format!(
            "{kind} is {} bytes, over {MAX_ID_LENGTH}",
            id.len()
        ));
    }
    if id == "." || id == ".." {
        return Err(format!("{kind} '{id}' is disallowed"));
    }
    if id.chars().any(|c| c == '/' || c.is_control()) {
        return Err(format!(
            "{kind} '{}' contains '/' or a control character",
            id.escape_debug()
        ));
    }
    Ok(())
}

/// Checks a subscribing framework's description; `whitelist` is `--roles`, if set.
pub fn validate_framework(
    info: &FrameworkInfo,
    whitelist: Option<&BTreeSet<String>>,
) -> Result<(), ValidationError> {
    let fail = |reason: String| Err(ValidationError::Framework(reason));
    if info.user.is_empty() {
        return fail("'user' must be set".into());
    }
    if info.name.is_empty() {
        return fail("'name' must be set".into());
    }
    if let Some(id) = &info.id {
        validate_id("framework id", id.as_str()).or_else(fail)?;
    }
    let timeout = info.failover_timeout_secs();
    if !timeout.is_finite() || timeout < 0.0 {
        return fail(format!(
            "'failover_timeout' {timeout} is not a non-negative number"
        ));
    }
    let multi_role = info.has_capability(FrameworkCapabilityType::MULTI_ROLE);
    if multi_role && info.role.is_some() {
        return fail("'role' must not be set when the framework is MULTI_ROLE capable".into());
    }
    if !multi_role && !info.roles.is_empty() {
        return fail("'roles' must not be set without the MULTI_ROLE capability".into());
    }
    let framework_roles = info.roles();
    if framework_roles.iter().collect::<HashSet<_>>().len() != framework_roles.len() {
        return fail("'roles' contains duplicates".into());
    }
    for role in &framework_roles {
        roles::validate(role).map_err(|e| ValidationError::Framework(e.to_string()))?;
        if let Some(whitelist) = whitelist {
            if role != roles::DEFAULT_ROLE && !whitelist.contains(role) {
                return fail(format!("role '{role}' is not in the master's --roles"));
            }
        }
    }
    Ok(())
}

/// Checks the offers of an ACCEPT or DECLINE: non-empty, no duplicate, each
/// outstanding for this framework, all on one agent. `owner` says which framework and
/// agent an outstanding offer belongs to. Returns the agent.
pub fn validate_offers<F: PartialEq>(
    offer_ids: &[OfferId],
    framework: &F,
    owner: impl Fn(&OfferId) -> Option<(F, AgentId)>,
) -> Result<AgentId, ValidationError> {
    let fail = |reason: String| Err(ValidationError::Offers(reason));
    let mut seen = HashSet::new();
    let mut agent: Option<AgentId> = None;
    if offer_ids.is_empty() {
        return fail("no offer ids".into());
    }
    for offer_id in offer_ids {
        if !seen.insert(offer_id) {
            return fail(format!("offer {offer_id} appears twice"));
        }
        let Some((offer_framework, offer_agent)) = owner(offer_id) else {
            return fail(format!("offer {offer_id} is no longer valid"));
        };
        if &offer_framework != framework {
            return fail(format!("offer {offer_id} belongs to another framework"));
        }
        match &agent {
            Some(first) if *first != offer_agent => {
                return fail(format!(
                    "offers are on different agents ({first} and {offer_agent})"
                ));
            }
            _ => agent = Some(offer_agent),
        }
    }
    agent.map_or_else(|| fail("no offer ids".into()), Ok)
}

/// What a task is checked against: the offered resources not yet used by earlier
/// operations of the same ACCEPT, and the executors and tasks already known.
#[derive(Debug)]
pub struct TaskContext<'a> {
    /// The offers' agent.
    pub agent_id: &'a AgentId,
    /// What is left of the offers.
    pub available: &'a Resources,
    /// The framework's live tasks, and those launched earlier in this ACCEPT.
    pub task_ids: &'a HashSet<TaskId>,
    /// The framework's executors on the agent, and those launched earlier in this ACCEPT.
    pub executors: &'a HashMap<ExecutorId, ExecutorInfo>,
}

/// Checks one task of a LAUNCH; returns the resources it takes (its own, plus its
/// executor's when the executor is new).
pub fn validate_task(
    task: &TaskInfo,
    context: &TaskContext<'_>,
) -> Result<Resources, ValidationError> {
    let fail = |reason: String| ValidationError::Task {
        task_id: task.task_id.as_str().chars().take(MAX_ID_LENGTH).collect(),
        reason,
    };
    validate_id("task id", task.task_id.as_str()).map_err(fail)?;
    if context.task_ids.contains(&task.task_id) {
        return Err(fail("task id is already in use".into()));
    }
    if &task.agent_id != context.agent_id {
        let reason = format!(
            "task uses agent {} but the offers are on {}",
            task.agent_id, context.agent_id
        );
        return Err(fail(reason));
    }
    let mut needed = task.resources.clone();
    match (&task.executor, &task.command) {
        (Some(_), Some(_)) => return Err(fail("both 'executor' and 'command' are set".into())),
        (None, None) => return Err(fail("neither 'executor' nor 'command' is set".into())),
        (None, Some(command)) if command.value.as_deref().unwrap_or("").is_empty() => {
            return Err(fail("the command has no value".into()))
        }
        (Some(executor), None) if executor.kind == Some(ExecutorType::DEFAULT) => {
            return Err(fail(
                "'ExecutorInfo.type' must be 'CUSTOM' for LAUNCH".into(),
            ))
        }
        (Some(executor), None) if executor.command.is_none() => {
            return Err(fail(format!(
                "executor {} has no command",
                executor.executor_id
            )))
        }
        (Some(executor), None) => {
            needed += &new_executor_resources(executor, context).map_err(fail)?
        }
        (None, Some(_)) => {}
    }
    if task.resources.is_empty() {
        return Err(fail("task uses no resources".into()));
    }
    if !context.available.contains(&needed) {
        let reason = format!(
            "task uses more resources ({needed}) than available ({})",
            context.available
        );
        return Err(fail(reason));
    }
    Ok(needed)
}

/// Checks a LAUNCH_GROUP as a whole, as Mesos does: one invalid task, or an invalid
/// executor, refuses every task of the group. Each task is expected to carry the
/// group's executor (the master sets it on those that do not). Returns the resources
/// the group takes: its tasks', plus its executor's when the executor is new.
pub fn validate_task_group(
    executor: &ExecutorInfo,
    tasks: &[TaskInfo],
    context: &TaskContext<'_>,
) -> Result<Resources, ValidationError> {
    let fail = ValidationError::TaskGroup;
    if tasks.is_empty() {
        return Err(fail("it has no tasks".into()));
    }
    let mut group_ids = HashSet::new();
    let mut needed = Resources::default();
    for task in tasks {
        validate_group_task(task, executor, context, &mut group_ids).map_err(|reason| {
            let task_id: String = task.task_id.as_str().chars().take(MAX_ID_LENGTH).collect();
            fail(format!("task {task_id}: {reason}"))
        })?;
        needed += &task.resources;
    }
    match (executor.kind, &executor.command) {
        (None | Some(ExecutorType::UNKNOWN), _) => {
            return Err(fail("the executor's type must be DEFAULT or CUSTOM".into()))
        }
        (Some(ExecutorType::DEFAULT), Some(_)) => {
            return Err(fail("a DEFAULT executor must not have a command".into()))
        }
        (Some(ExecutorType::CUSTOM), None) => {
            return Err(fail("a CUSTOM executor must have a command".into()))
        }
        _ => {}
    }
    needed += &new_executor_resources(executor, context).map_err(fail)?;
    if !context.available.contains(&needed) {
        let reason = format!(
            "the group uses more resources ({needed}) than available ({})",
            context.available
        );
        return Err(fail(reason));
    }
    Ok(needed)
}

/// One task of a group: its id is new (to the framework and within the group), it is
/// on the offers' agent, uses resources, and its executor is the group's.
fn validate_group_task(
    task: &TaskInfo,
    executor: &ExecutorInfo,
    context: &TaskContext<'_>,
    group_ids: &mut HashSet<TaskId>,
) -> Result<(), String> {
    validate_id("task id", task.task_id.as_str())?;
    if context.task_ids.contains(&task.task_id) || !group_ids.insert(task.task_id.clone()) {
        return Err("task id is already in use".into());
    }
    if &task.agent_id != context.agent_id {
        return Err(format!(
            "task uses agent {} but the offers are on {}",
            task.agent_id, context.agent_id
        ));
    }
    if task.executor.as_ref() != Some(executor) {
        return Err(format!(
            "its executor is not the group's executor {}",
            executor.executor_id
        ));
    }
    if task.resources.is_empty() {
        return Err("task uses no resources".into());
    }
    Ok(())
}

/// The resources a task's executor adds: none when it already runs (then its
/// description must be the same), all of its own when it is new.
fn new_executor_resources(
    executor: &ExecutorInfo,
    context: &TaskContext<'_>,
) -> Result<Resources, String> {
    validate_id("executor id", executor.executor_id.as_str())?;
    match context.executors.get(&executor.executor_id) {
        Some(known) if known != executor => Err(format!(
            "executor {} is not the same as the running executor with this id",
            executor.executor_id
        )),
        Some(_) => Ok(Resources::default()),
        None => Ok(executor.resources.clone()),
    }
}

#[cfg(test)]
mod tests;
