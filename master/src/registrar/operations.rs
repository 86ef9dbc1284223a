//! Registry operations (Mesos `registry_operations.hpp`): each is a pure change to a
//! [`Registry`], applied by the registrar in order and persisted in batches.
//!
//! `perform` answers whether the registry changed. `Ok(false)` means it already was as
//! asked (an agent admitted twice, a readmission after a failover that found the agent
//! still admitted); an error means the operation makes no sense for this registry (an
//! agent marked unreachable that was never admitted) and leaves it untouched. Mesos
//! answers both with `false`; the master here can tell them apart.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use mesos_proto::mesos::{AgentInfo, TimeInfo};
use mesos_proto::AgentId;

use super::registry::{position, AdmittedAgent, Registry, TimestampedAgent};
use crate::constants::{DEFAULT_REGISTRY_MAX_AGENT_AGE, DEFAULT_REGISTRY_MAX_AGENT_COUNT};

/// A change to the registry.
pub trait RegistryOperation: fmt::Debug {
    /// Applies the change. Returns whether the registry changed; on error the registry
    /// must be left as it was, because the other operations of the batch still apply.
    fn perform(&self, registry: &mut Registry) -> Result<bool, RegistryError>;
}

/// Why an operation does not apply to the registry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    /// An `AgentInfo` to admit has no id; the master assigns one before admitting.
    #[error("agent on '{hostname}' has no id")]
    MissingAgentId {
        /// The agent's host name, to say which.
        hostname: String,
    },
    /// The agent is not in the admitted list.
    #[error("agent {id} is not admitted")]
    AgentNotAdmitted {
        /// The agent.
        id: AgentId,
    },
    /// The agent is neither admitted nor unreachable.
    #[error("agent {id} is neither admitted nor unreachable")]
    AgentUnknown {
        /// The agent.
        id: AgentId,
    },
    /// The agent is already marked gone.
    #[error("agent {id} is already marked gone")]
    AgentAlreadyGone {
        /// The agent.
        id: AgentId,
    },
    /// The agent is marked gone, and gone agents are never readmitted.
    #[error("agent {id} is marked gone and cannot be readmitted")]
    AgentGone {
        /// The agent.
        id: AgentId,
    },
    /// A weight that is not a positive number.
    #[error("invalid weight {weight} for role '{role}': weights must be positive")]
    InvalidWeight {
        /// The role.
        role: String,
        /// The weight asked for.
        weight: f64,
    },
}

/// Admits a newly registered agent (Mesos `AdmitSlave`). `Ok(false)` when the id is
/// already admitted.
#[derive(Debug, Clone)]
pub struct AdmitAgent {
    /// The agent, with the id the master assigned.
    pub info: AgentInfo,
}

impl RegistryOperation for AdmitAgent {
    fn perform(&self, registry: &mut Registry) -> Result<bool, RegistryError> {
        let id = agent_id(&self.info)?;
        if registry.is_admitted(id) {
            return Ok(false);
        }
        registry.agents.push(AdmittedAgent {
            info: self.info.clone(),
        });
        Ok(true)
    }
}

/// Moves an admitted agent to the unreachable list, after it failed its health checks
/// or did not reregister in time (Mesos `MarkSlaveUnreachable`).
#[derive(Debug, Clone)]
pub struct MarkAgentUnreachable {
    /// The agent.
    pub id: AgentId,
    /// When it was found unreachable.
    pub time: TimeInfo,
}

impl RegistryOperation for MarkAgentUnreachable {
    fn perform(&self, registry: &mut Registry) -> Result<bool, RegistryError> {
        let index = admitted_index(registry, &self.id)?;
        registry.agents.remove(index);
        registry.unreachable.push(TimestampedAgent {
            id: self.id.clone(),
            timestamp: self.time,
        });
        Ok(true)
    }
}

/// Readmits an agent that reregistered (Mesos `MarkSlaveReachable`): it leaves the
/// unreachable list if it is there, and is admitted even if it is not, because its
/// unreachable entry may have been pruned. `Ok(false)` when it is still admitted, as
/// happens when agents reregister with a new leader before being marked unreachable.
#[derive(Debug, Clone)]
pub struct MarkAgentReachable {
    /// The agent as it reregistered.
    pub info: AgentInfo,
}

impl RegistryOperation for MarkAgentReachable {
    fn perform(&self, registry: &mut Registry) -> Result<bool, RegistryError> {
        let id = agent_id(&self.info)?;
        if registry.is_admitted(id) {
            return Ok(false);
        }
        // The master refuses gone agents before it gets here; the registry holds the
        // line too, because readmitting one would undo an operator's decision.
        if registry.is_gone(id) {
            return Err(RegistryError::AgentGone { id: id.clone() });
        }
        if let Some(index) = position(&registry.unreachable, id) {
            registry.unreachable.remove(index);
        } else {
            tracing::warn!(agent_id = %id, "Readmitting an agent that was not unreachable");
        }
        registry.agents.push(AdmittedAgent {
            info: self.info.clone(),
        });
        Ok(true)
    }
}

/// Removes an admitted agent that unregistered itself (Mesos `RemoveSlave`).
#[derive(Debug, Clone)]
pub struct RemoveAgent {
    /// The agent.
    pub id: AgentId,
}

impl RegistryOperation for RemoveAgent {
    fn perform(&self, registry: &mut Registry) -> Result<bool, RegistryError> {
        let index = admitted_index(registry, &self.id)?;
        registry.agents.remove(index);
        Ok(true)
    }
}

/// Marks an admitted or unreachable agent gone, at an operator's request (Mesos
/// `MarkSlaveGone`). A gone agent is told to shut down if it ever comes back.
#[derive(Debug, Clone)]
pub struct MarkAgentGone {
    /// The agent.
    pub id: AgentId,
    /// When it was marked gone.
    pub time: TimeInfo,
}

impl RegistryOperation for MarkAgentGone {
    fn perform(&self, registry: &mut Registry) -> Result<bool, RegistryError> {
        let id = &self.id;
        if registry.is_gone(id) {
            return Err(RegistryError::AgentAlreadyGone { id: id.clone() });
        }
        if let Some(index) = registry.admitted_index(id) {
            registry.agents.remove(index);
        } else if let Some(index) = position(&registry.unreachable, id) {
            registry.unreachable.remove(index);
        } else {
            return Err(RegistryError::AgentUnknown { id: id.clone() });
        }
        registry.gone.push(TimestampedAgent {
            id: id.clone(),
            timestamp: self.time,
        });
        Ok(true)
    }
}

/// Sets roles' weights (Mesos `UpdateWeights`, from `/weights` or `--weights`). Roles
/// not named keep theirs; `Ok(false)` when every weight already had its value.
#[derive(Debug, Clone)]
pub struct UpdateWeights {
    /// The new weight of each role named.
    pub weights: BTreeMap<String, f64>,
}

impl RegistryOperation for UpdateWeights {
    fn perform(&self, registry: &mut Registry) -> Result<bool, RegistryError> {
        // Check them all first, so that a bad weight changes nothing.
        if let Some((role, weight)) = self
            .weights
            .iter()
            .find(|(_, weight)| !(weight.is_finite() && **weight > 0.0))
        {
            return Err(RegistryError::InvalidWeight {
                role: role.clone(),
                weight: *weight,
            });
        }
        let mut changed = false;
        for (role, weight) in &self.weights {
            changed |= registry.weights.insert(role.clone(), *weight) != Some(*weight);
        }
        Ok(changed)
    }
}

/// Forgets unreachable and gone agents (Mesos `Prune`, run by the registry GC). Ids
/// not in the lists are skipped: another operation may have moved them meanwhile.
#[derive(Debug, Clone, Default)]
pub struct Prune {
    /// Unreachable agents to forget.
    pub unreachable: BTreeSet<AgentId>,
    /// Gone agents to forget.
    pub gone: BTreeSet<AgentId>,
}

impl RegistryOperation for Prune {
    fn perform(&self, registry: &mut Registry) -> Result<bool, RegistryError> {
        let before = registry.unreachable.len() + registry.gone.len();
        registry
            .unreachable
            .retain(|agent| !self.unreachable.contains(&agent.id));
        registry.gone.retain(|agent| !self.gone.contains(&agent.id));
        Ok(registry.unreachable.len() + registry.gone.len() != before)
    }
}

impl Prune {
    /// What the registry GC prunes at `now`: in each of the unreachable and gone lists,
    /// the entries beyond the newest `limits.max_count`, and those older than
    /// `limits.max_age`.
    pub fn select(registry: &Registry, now: TimeInfo, limits: &PruneLimits) -> Prune {
        Prune {
            unreachable: select_for_pruning(&registry.unreachable, now, limits),
            gone: select_for_pruning(&registry.gone, now, limits),
        }
    }
}

/// How many unreachable (and gone) agents the registry keeps, and for how long
/// (`--registry_max_agent_count`, `--registry_max_agent_age`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneLimits {
    /// Entries older than this are pruned.
    pub max_age: Duration,
    /// At most this many entries are kept per list; the oldest go first.
    pub max_count: usize,
}

impl Default for PruneLimits {
    fn default() -> Self {
        PruneLimits {
            max_age: DEFAULT_REGISTRY_MAX_AGENT_AGE,
            max_count: DEFAULT_REGISTRY_MAX_AGENT_COUNT,
        }
    }
}

/// The entries of an oldest-first list that the GC prunes at `now`, as Mesos's
/// `Master::doRegistryGc` picks them: first the oldest ones beyond `max_count`, then
/// any older than `max_age`. The master may call it on its own copy of the lists.
pub fn select_for_pruning(
    entries: &[TimestampedAgent],
    now: TimeInfo,
    limits: &PruneLimits,
) -> BTreeSet<AgentId> {
    let excess = entries.len().saturating_sub(limits.max_count);
    let max_age = i128::try_from(limits.max_age.as_nanos()).unwrap_or(i128::MAX);
    entries
        .iter()
        .enumerate()
        .filter(|(index, entry)| {
            let age = i128::from(now.nanoseconds) - i128::from(entry.timestamp.nanoseconds);
            *index < excess || age > max_age
        })
        .map(|(_, entry)| entry.id.clone())
        .collect()
}

fn agent_id(info: &AgentInfo) -> Result<&AgentId, RegistryError> {
    info.id
        .as_ref()
        .ok_or_else(|| RegistryError::MissingAgentId {
            hostname: info.hostname.clone(),
        })
}

fn admitted_index(registry: &Registry, id: &AgentId) -> Result<usize, RegistryError> {
    registry
        .admitted_index(id)
        .ok_or_else(|| RegistryError::AgentNotAdmitted { id: id.clone() })
}

#[cfg(test)]
mod tests;
