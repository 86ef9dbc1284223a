//! The allocator decides which framework is offered which agent's resources
//! (Mesos `mesos::allocator`, the hierarchical DRF allocator).
//!
//! The master tells the allocator everything that changes the pool: agents
//! (added, updated, removed, (de)activated), frameworks (added, updated,
//! removed, (de)activated, suppressing or reviving roles), resources coming
//! back (declined, rescinded, tasks finished), weights and quota. On every
//! cycle the allocator answers with [`Allocation`]s, which the master turns
//! into offers.
//!
//! [`HierarchicalAllocator`] is pure: no actor, no clock, no I/O. Time comes
//! in as `now: Instant` arguments, and agents are shuffled with a generator
//! seeded from [`Options::seed`], so the same calls give the same offers. The
//! actor shell around it (batching requests into one cycle, running a cycle
//! every `--allocation_interval`, calling back into the master) only wires
//! messages to these calls.
//!
//! # The allocation cycle
//!
//! ```text
//!        decline / rescind / task done            SUPPRESS      REVIVE
//!                     |                               |            |
//!                     v                               v            v
//!   +------> recover_resources ----> refusal filter  sorter     clear filters,
//!   |        (back to the agent's    (framework,     deactivates reactivate
//!   |         available pool)         role, agent)   the pair       |
//!   |                                      |             |          |
//!   |   every allocation_interval, or at once for new agents,       |
//!   |   new frameworks and REVIVE                                   |
//!   |                     |                                         |
//!   |                     v                                         |
//!   |   allocate(now) -- shuffle active agents (seeded) <-----------+
//!   |                     |
//!   |                     v
//!   |   sort ---- roles by DRF share (level by level for a/b roles),
//!   |             then the role's active frameworks by DRF share
//!   |                     |
//!   |                     v
//!   |   offer --- stage 1: roles below their quota guarantee, up to it
//!   |             stage 2: everyone, all that is left on the agent for
//!   |                      the role, within quota limits and minus the
//!   |                      headroom other roles' guarantees still need
//!   |                     |
//!   |                     v
//!   |   filter -- skip: not min_allocatable, agent lacks a capability,
//!   |             GPU agent to a non-GPU framework, refusal filter
//!   |             holding everything offered
//!   |                     |
//!   |                     v
//!   |   Vec<Allocation> -> master -> one offer per (framework, role, agent)
//!   |                                            |
//!   +------------------ decline -----------------+
//! ```
//!
//! # Vocabulary
//!
//! - **available**: an agent's total minus what is offered or allocated on
//!   it.
//! - **share**: a client's largest fraction of any scalar kind of the
//!   cluster (dominant resource fairness), divided by its weight.
//! - **sorter**: orders clients by share, then allocation count, then name;
//!   one over roles, one per role over its frameworks.
//! - **refusal filter**: "do not offer me these resources on this agent for
//!   this role until the timeout"; a bigger offer goes through.
//! - **suppressed role**: a role in which a framework wants no offers, until
//!   it revives.
//! - **quota**: a role's guarantee (resources held for it) and limit (the
//!   most it may consume), as scalar quantities. Consumed quota is the
//!   role's reservations plus its unreserved allocation.
//! - **headroom**: unallocated unreserved resources the allocator keeps so
//!   that unsatisfied guarantees can still be met.
//! - **min allocatable**: an offer must hold at least one of these
//!   quantity sets, so that tiny leftovers are not offered.
//!
//! # Layout
//!
//! - `hierarchical.rs`: [`HierarchicalAllocator`]; the cycle, filters and
//!   role tree in its child modules.
//! - `sorter.rs`: the `Sorter` contract; `sorter/drf.rs` the DRF sorter.
//! - `quantities.rs`: [`ResourceQuantities`] and the dense amounts used
//!   inside.
//! - `index.rs`: dense indices and slabs for the hot loop.

mod hierarchical;
mod index;
mod process;
mod quantities;
mod sorter;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mesos_proto::roles::{self, RoleError};
use mesos_proto::{AgentId, FrameworkId, Resources, Scalar};

pub use hierarchical::HierarchicalAllocator;
pub use process::{Allocator, AllocatorProcess, StartAllocatorError};
pub use quantities::{parse_min_allocatable_resources, QuantitiesError, ResourceQuantities};

/// `--allocation_interval`'s default: one cycle a second.
pub const DEFAULT_ALLOCATION_INTERVAL: Duration = Duration::from_secs(1);

/// `Filters.refuse_seconds` when a framework does not say (Mesos's proto
/// default).
pub const DEFAULT_REFUSE_SECONDS: f64 = 5.0;

/// The longest refusal: longer ones are cut to this, as Mesos does.
pub const MAX_REFUSE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The role of frameworks and resources that name none.
pub const DEFAULT_ROLE: &str = roles::DEFAULT_ROLE;

/// Why the allocator refused a call. The master validates first, so these
/// mean the master and allocator disagree; the master logs them.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AllocatorError {
    /// A framework the allocator does not know.
    #[error("unknown framework {0}")]
    UnknownFramework(FrameworkId),
    /// An agent the allocator does not know.
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// A framework added twice.
    #[error("framework {0} is already known")]
    DuplicateFramework(FrameworkId),
    /// An agent added twice.
    #[error("agent {0} is already known")]
    DuplicateAgent(AgentId),
    /// A role the framework is not subscribed to.
    #[error("framework {framework_id} is not subscribed to role '{role}'")]
    NotSubscribed {
        /// The framework.
        framework_id: FrameworkId,
        /// The role it named.
        role: String,
    },
    /// A malformed role name.
    #[error(transparent)]
    InvalidRole(#[from] RoleError),
    /// A weight that is not a positive finite number.
    #[error("invalid weight {weight} for role '{role}': it must be a positive number")]
    InvalidWeight {
        /// The role.
        role: String,
        /// The weight given.
        weight: f64,
    },
}

/// Why `--weights` was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum WeightsError {
    /// A piece that is not `role=weight`.
    #[error("bad weight '{token}': expected 'role=weight'")]
    Syntax {
        /// The offending `,`-separated piece.
        token: String,
    },
    /// A malformed role.
    #[error("bad weight '{token}': {source}")]
    InvalidRole {
        /// The offending piece.
        token: String,
        /// What is wrong with the role.
        source: RoleError,
    },
    /// A weight that is not a positive finite number.
    #[error("bad weight '{token}': the weight must be a positive number")]
    InvalidWeight {
        /// The offending piece.
        token: String,
    },
    /// A role given twice.
    #[error("role '{role}' is given more than once")]
    Duplicate {
        /// The repeated role.
        role: String,
    },
}

/// Parses `--weights`: `role=weight,role=weight`. Each role must be valid and
/// each weight a positive finite number.
pub fn parse_weights(text: &str) -> Result<BTreeMap<String, f64>, WeightsError> {
    let mut weights = BTreeMap::new();
    for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (role, weight) = token.split_once('=').ok_or_else(|| WeightsError::Syntax {
            token: token.to_owned(),
        })?;
        let role = role.trim();
        roles::validate(role).map_err(|source| WeightsError::InvalidRole {
            token: token.to_owned(),
            source,
        })?;
        let weight: f64 = weight
            .trim()
            .parse()
            .ok()
            .filter(|weight: &f64| weight.is_finite() && *weight > 0.0)
            .ok_or_else(|| WeightsError::InvalidWeight {
                token: token.to_owned(),
            })?;
        if weights.insert(role.to_owned(), weight).is_some() {
            return Err(WeightsError::Duplicate {
                role: role.to_owned(),
            });
        }
    }
    Ok(weights)
}

/// How long to refuse resources that come back with `Filters`, from its
/// `refuse_seconds` (`None` when the field is unset): Mesos's rules, for the
/// master's decline and accept handlers. Unset or negative means the default
/// five seconds, more than 365 days is cut to 365 days, and zero means no
/// filter at all (`None`).
pub fn refuse_duration(refuse_seconds: Option<f64>) -> Option<Duration> {
    let seconds = match refuse_seconds {
        Some(seconds) if seconds >= 0.0 => seconds,
        // Negative or NaN.
        _ => DEFAULT_REFUSE_SECONDS,
    };
    if seconds == 0.0 {
        return None;
    }
    if seconds > MAX_REFUSE.as_secs_f64() {
        return Some(MAX_REFUSE);
    }
    Some(Duration::from_secs_f64(seconds))
}

/// How the allocator is configured, from the master's flags.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// `--allocation_interval`. Refusal filters last at least this long, so
    /// that one cycle always passes before they expire.
    pub allocation_interval: Duration,
    /// `--min_allocatable_resources`: an offer must hold one of these in
    /// full; empty means any non-empty offer.
    pub min_allocatable_resources: Vec<ResourceQuantities>,
    /// `--fair_sharing_excluded_resource_names`: kinds left out of shares.
    pub fair_sharing_excluded_resource_names: BTreeSet<String>,
    /// `--filter_gpu_resources`: offer agents with GPUs only to frameworks
    /// that can use them.
    pub filter_gpu_resources: bool,
    /// `--weights`: role weights in force at start.
    pub weights: BTreeMap<String, f64>,
    /// The seed of the generator that shuffles agents each cycle.
    pub seed: u64,
}

impl Options {
    /// Mesos's default `--min_allocatable_resources`: `cpus:0.01|mem:32`.
    pub fn default_min_allocatable_resources() -> Vec<ResourceQuantities> {
        vec![
            [("cpus", Scalar::from_millis(10))].into_iter().collect(),
            [("mem", Scalar::from_units(32))].into_iter().collect(),
        ]
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            allocation_interval: DEFAULT_ALLOCATION_INTERVAL,
            min_allocatable_resources: Self::default_min_allocatable_resources(),
            fair_sharing_excluded_resource_names: BTreeSet::new(),
            filter_gpu_resources: true,
            weights: BTreeMap::new(),
            seed: 0,
        }
    }
}

/// What an agent can take (the allocator's part of Mesos
/// `SlaveInfo.Capability`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentCapabilities {
    /// `MULTI_ROLE`: it understands resources allocated to several roles.
    pub multi_role: bool,
    /// `HIERARCHICAL_ROLE`: it understands roles such as `eng/web`.
    pub hierarchical_role: bool,
}

impl AgentCapabilities {
    /// What every current agent has.
    pub const ALL: Self = Self {
        multi_role: true,
        hierarchical_role: true,
    };
}

impl Default for AgentCapabilities {
    fn default() -> Self {
        Self::ALL
    }
}

/// What a framework can take (the allocator's part of Mesos
/// `FrameworkInfo.Capability`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameworkCapabilities {
    /// `MULTI_ROLE`: it is offered only agents that are too.
    pub multi_role: bool,
    /// `GPU_RESOURCES`: it may be offered agents that have GPUs.
    pub gpu_resources: bool,
    /// `RESERVATION_REFINEMENT`: it may be offered resources whose
    /// reservation is refined (reserved to `a`, then to `a/b`).
    pub reservation_refinement: bool,
}

/// A framework as the allocator sees it, from its `FrameworkInfo` and its
/// SUBSCRIBE or UPDATE_FRAMEWORK call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameworkConfig {
    /// The roles it is subscribed to.
    pub roles: BTreeSet<String>,
    /// The subscribed roles it wants no offers for.
    pub suppressed_roles: BTreeSet<String>,
    /// Its capabilities.
    pub capabilities: FrameworkCapabilities,
    /// Per role, its own minimum offer (`FrameworkInfo.offer_filters`),
    /// replacing `--min_allocatable_resources` for that role.
    pub min_allocatable_resources: BTreeMap<String, Vec<ResourceQuantities>>,
}

impl FrameworkConfig {
    /// A framework in `role` and nothing else.
    pub fn in_role(role: &str) -> Self {
        Self {
            roles: BTreeSet::from([role.to_owned()]),
            ..Self::default()
        }
    }
}

/// A role's quota (Mesos `QuotaConfig`): both empty means no quota.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    /// Held back for the role and offered to it first.
    pub guarantees: ResourceQuantities,
    /// The most the role may consume; a kind absent here is unlimited.
    pub limits: ResourceQuantities,
}

impl Quota {
    /// Whether this is the default: no guarantee, no limit.
    pub fn is_default(&self) -> bool {
        self.guarantees.is_empty() && self.limits.is_empty()
    }
}

/// Resources the allocator sets aside for one framework in one role on one
/// agent: the master makes one offer of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Allocation {
    /// Who is offered.
    pub framework_id: FrameworkId,
    /// For which of its roles.
    pub role: String,
    /// On which agent.
    pub agent_id: AgentId,
    /// What, each resource tagged with `allocation_info.role`.
    pub resources: Resources,
}

/// A role as the `/roles` endpoint shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleSummary {
    /// The role.
    pub role: String,
    /// Its weight (1 unless set).
    pub weight: f64,
    /// The frameworks subscribed to it or holding resources in it.
    pub frameworks: Vec<FrameworkId>,
    /// What it and its subroles are offered or allocated.
    pub allocated: ResourceQuantities,
    /// What is reserved to it and its subroles.
    pub reserved: ResourceQuantities,
    /// Its quota.
    pub quota: Quota,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuse_duration_follows_the_filters_rules() {
        assert_eq!(refuse_duration(None), Some(Duration::from_secs(5)));
        assert_eq!(refuse_duration(Some(-3.0)), Some(Duration::from_secs(5)));
        assert_eq!(
            refuse_duration(Some(f64::NAN)),
            Some(Duration::from_secs(5))
        );
        assert_eq!(refuse_duration(Some(0.0)), None);
        assert_eq!(
            refuse_duration(Some(1.5)),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(refuse_duration(Some(f64::from(i32::MAX))), Some(MAX_REFUSE));
        assert_eq!(refuse_duration(Some(f64::INFINITY)), Some(MAX_REFUSE));
    }

    #[test]
    fn parses_weights() {
        let weights = parse_weights("eng=2.5, ops=1,eng/web=0.5").unwrap();
        assert_eq!(weights.len(), 3);
        assert_eq!(weights["eng"], 2.5);
        assert_eq!(weights["eng/web"], 0.5);
        assert!(parse_weights("").unwrap().is_empty());
    }

    #[test]
    fn refuses_bad_weights_naming_the_piece() {
        let cases = [
            ("eng", "bad weight 'eng': expected 'role=weight'"),
            (
                "eng=x",
                "bad weight 'eng=x': the weight must be a positive number",
            ),
            (
                "eng=0",
                "bad weight 'eng=0': the weight must be a positive number",
            ),
            (
                "eng=-1",
                "bad weight 'eng=-1': the weight must be a positive number",
            ),
            (
                "eng=inf",
                "bad weight 'eng=inf': the weight must be a positive number",
            ),
            ("eng=1,eng=2", "role 'eng' is given more than once"),
        ];
        for (text, message) in cases {
            assert_eq!(
                parse_weights(text).unwrap_err().to_string(),
                message,
                "{text}"
            );
        }
        assert!(matches!(
            parse_weights("a//b=1"),
            Err(WeightsError::InvalidRole { .. })
        ));
    }

    #[test]
    fn default_min_allocatable_resources_match_the_flag_default() {
        assert_eq!(
            Options::default().min_allocatable_resources,
            parse_min_allocatable_resources("cpus:0.01|mem:32").unwrap()
        );
    }
}
