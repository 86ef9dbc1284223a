//! One allocation cycle (Mesos `__generateOffers`).
//!
//! Agents are shuffled, then visited twice. Stage 1 serves only roles whose
//! quota guarantee is not met yet, up to the guarantee. Stage 2, over the
//! agents shuffled again, offers each role in DRF order everything left on
//! the agent that the role may use, cut only by the role's quota limit and
//! by the headroom other roles' guarantees still need. Within a role,
//! frameworks are visited in DRF order, and normally the first one that
//! passes the checks gets the whole agent in one offer.
//!
//! The hot path is stage 2 without quota: what an agent offers a role is
//! computed once and reused for every framework of that role until an offer
//! is made, and a framework with no filter on the agent costs one hash.

use std::collections::hash_map::Entry;
use std::time::Instant;

use mesos_proto::{AgentId, Resources};

use super::filters::{is_refused, RefusalMemo};
use super::roles::RoleTree;
use super::{is_scalar, HierarchicalAllocator, Split};
use crate::allocator::index::{AgentIdx, FrameworkIdx, IndexMap, RoleIdx};
use crate::allocator::quantities::{shrink, Quantities};
use crate::allocator::sorter::drf::Walk;
use crate::allocator::sorter::Sorter;
use crate::allocator::Allocation;

/// What an agent has for one role: its available resources that are
/// unreserved or reserved to the role or an ancestor.
#[derive(Debug)]
struct Offerable {
    /// `None` when that is all of the agent's available resources, which is
    /// the common case: they are then moved into the offer, not copied.
    resources: Option<Resources>,
    /// Every scalar.
    quantities: Quantities,
    /// The unreserved scalars: what an offer of all of it adds to the role's
    /// consumed quota.
    unreserved: Quantities,
    /// Whether some reservation is refined, which not every framework can
    /// be offered.
    refined: bool,
}

/// An offer about to be made.
#[derive(Debug)]
struct Candidate {
    /// `None`: all of the agent's available resources.
    resources: Option<Resources>,
    quantities: Quantities,
    /// Its unreserved scalars, which count against quota.
    unreserved: Quantities,
}

impl From<Offerable> for Candidate {
    fn from(offerable: Offerable) -> Self {
        Self {
            resources: offerable.resources,
            quantities: offerable.quantities,
            unreserved: offerable.unreserved,
        }
    }
}

/// Quota bookkeeping for one cycle: what roles with quota consume, the
/// headroom guarantees still need, and the headroom there is.
#[derive(Debug)]
struct QuotaCycle {
    consumed: IndexMap<RoleIdx, Quantities>,
    required_headroom: Quantities,
    available_headroom: Quantities,
    has_guarantees: bool,
}

impl QuotaCycle {
    fn start(allocator: &HierarchicalAllocator) -> Self {
        let mut consumed = IndexMap::default();
        let mut required_headroom = Quantities::default();
        let mut has_guarantees = false;
        for (index, role) in allocator.roles.iter() {
            if role.quota.is_default() {
                continue;
            }
            let role_consumed = role.accounts.consumed_quota();
            required_headroom += &role.guarantees.saturating_sub(&role_consumed);
            has_guarantees |= !role.guarantees.is_empty();
            consumed.insert(index, role_consumed);
        }
        // Unallocated, unreserved: the total less what is allocated and
        // less the reservations nobody is using.
        let root = &allocator.roles.root;
        let mut available_headroom = allocator.total.saturating_sub(&root.allocated());
        available_headroom -= &root.reservations.saturating_sub(&root.allocated_reserved);
        Self {
            consumed,
            required_headroom,
            available_headroom,
            has_guarantees,
        }
    }

    fn consumed(&self, role: RoleIdx) -> Quantities {
        self.consumed.get(&role).cloned().unwrap_or_default()
    }

    /// What may still be offered beyond guarantees without eating the
    /// headroom they need.
    fn surplus(&self) -> Quantities {
        self.available_headroom
            .saturating_sub(&self.required_headroom)
    }

    /// Charges an offer's unreserved scalars to the role, its ancestors that
    /// have quota, and the headroom.
    fn consume(&mut self, roles: &RoleTree, role: RoleIdx, unreserved: &Quantities) {
        for index in roles.lineage(role) {
            if let Some(consumed) = self.consumed.get_mut(&index) {
                *consumed += unreserved;
            }
        }
        self.available_headroom -= unreserved;
    }
}

/// The offers of a cycle, one per (framework, role, agent), in the order
/// they were made.
#[derive(Debug, Default)]
struct Offers {
    list: Vec<(FrameworkIdx, RoleIdx, AgentIdx, Resources)>,
    /// Where stage 1's offers are, so that stage 2 can add to them. Each
    /// stage alone offers a triple at most once.
    index: IndexMap<(FrameworkIdx, RoleIdx, AgentIdx), usize>,
    stage: Stage,
}

/// Which stage of the cycle is running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Stage {
    #[default]
    Guarantees,
    Remaining,
}

impl Offers {
    fn add(
        &mut self,
        framework: FrameworkIdx,
        role: RoleIdx,
        agent: AgentIdx,
        resources: Resources,
    ) {
        let key = (framework, role, agent);
        match self.stage {
            Stage::Guarantees => match self.index.entry(key) {
                Entry::Occupied(entry) => self.list[*entry.get()].3 += &resources,
                Entry::Vacant(entry) => {
                    entry.insert(self.list.len());
                    self.list.push((framework, role, agent, resources));
                }
            },
            Stage::Remaining => match self.index.get(&key) {
                Some(&at) => self.list[at].3 += &resources,
                None => self.list.push((framework, role, agent, resources)),
            },
        }
    }
}

impl HierarchicalAllocator {
    /// Runs one allocation cycle at `now` over `candidates` (every agent when
    /// `None`), and returns what to offer. Inactive or unknown agents,
    /// inactive frameworks and suppressed roles get nothing. The same state,
    /// seed and calls give the same result.
    pub fn allocate(&mut self, now: Instant, candidates: Option<&[AgentId]>) -> Vec<Allocation> {
        self.expire_filters(now);
        let mut agents = self.candidate_agents(candidates);
        self.rng.shuffle(&mut agents);
        let mut quota = QuotaCycle::start(self);
        let mut offers = Offers::default();
        if quota.has_guarantees {
            for &agent in &agents {
                self.offer_guarantees(agent, &mut quota, &mut offers);
            }
        }
        // Stage 1 favours the agents it met first; a new order spreads that.
        self.rng.shuffle(&mut agents);
        offers.stage = Stage::Remaining;
        for &agent in &agents {
            self.offer_remaining(agent, &mut quota, &mut offers);
        }
        offers
            .list
            .into_iter()
            .map(|(framework, role, agent, resources)| Allocation {
                framework_id: self.frameworks[framework.into()].id.clone(),
                role: self.roles[role].name.clone(),
                agent_id: self.agents[agent.into()].id.clone(),
                resources,
            })
            .collect()
    }

    /// The active agents among `candidates`, in slot order, so that only the
    /// seeded shuffle decides their order.
    fn candidate_agents(&self, candidates: Option<&[AgentId]>) -> Vec<AgentIdx> {
        let mut agents: Vec<AgentIdx> = match candidates {
            None => self
                .agents
                .iter()
                .filter(|(_, agent)| agent.active)
                .map(|(slot, _)| AgentIdx::from(slot))
                .collect(),
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.agent_index.get(id).copied())
                .filter(|&agent| self.agents[agent.into()].active)
                .collect(),
        };
        agents.sort_unstable();
        agents.dedup();
        agents
    }

    // ----- Stage 1: quota guarantees --------------------------------------

    fn offer_guarantees(&mut self, agent: AgentIdx, quota: &mut QuotaCycle, offers: &mut Offers) {
        let mut roles = self.role_sorter.walk(&self.fair_totals);
        while let Some(role) = self.role_sorter.next(&mut roles) {
            let entry = &self.roles[role];
            if entry.guarantees.is_empty() || entry.frameworks.is_empty() {
                continue;
            }
            if self.agents[agent.into()].available.is_empty() {
                break;
            }
            let mut unsatisfied = entry.guarantees.saturating_sub(&quota.consumed(role));
            if !unsatisfied.is_empty() {
                self.offer_guarantees_to_role(agent, role, &mut unsatisfied, quota, offers);
            }
        }
    }

    fn offer_guarantees_to_role(
        &mut self,
        agent: AgentIdx,
        role: RoleIdx,
        unsatisfied: &mut Quantities,
        quota: &mut QuotaCycle,
        offers: &mut Offers,
    ) {
        let Some(mut frameworks) = self.walk_frameworks(role) else {
            return;
        };
        while let Some(framework) = self.next_framework(role, &mut frameworks) {
            if unsatisfied.is_empty() {
                break;
            }
            let offerable = self.offerable(agent, role);
            if self.resources_of(agent, &offerable.resources).is_empty() {
                break;
            }
            if !self.may_offer(framework, role, agent, &offerable) {
                continue;
            }
            let Some((candidate, guaranteed)) =
                self.guarantee_offer(framework, role, agent, &offerable, unsatisfied, quota)
            else {
                continue;
            };
            let resources = self.resources_of(agent, &candidate.resources);
            let mut memo = RefusalMemo::default();
            if !self.is_allocatable(framework, role, resources, &candidate.quantities)
                || self.is_filtered(framework, role, agent, resources, &mut memo)
            {
                continue;
            }
            *unsatisfied -= &candidate.unreserved;
            quota.required_headroom -= &guaranteed;
            quota.consume(&self.roles, role, &candidate.unreserved);
            self.commit(framework, role, agent, candidate, offers);
        }
    }

    /// Stage 1's offer: unreserved scalars up to the unsatisfied guarantee,
    /// the role's own reservations and the non-scalars, plus more unreserved
    /// scalars within the role's limit and the surplus headroom. `None` when
    /// nothing here helps the guarantee. Also returns the guaranteed part.
    fn guarantee_offer(
        &self,
        framework: FrameworkIdx,
        role: RoleIdx,
        agent: AgentIdx,
        offerable: &Offerable,
        unsatisfied: &Quantities,
        quota: &QuotaCycle,
    ) -> Option<(Candidate, Quantities)> {
        let available = self.strip_incapable(framework, agent, offerable);
        let name = self.roles[role].name.as_str();
        let quota_resources = available.filter(|r| is_scalar(r) && r.is_unreserved());
        let guaranteed = shrink(&quota_resources, unsatisfied, &self.kinds);
        if guaranteed.is_empty() {
            return None;
        }
        let guaranteed_quantities = Quantities::of(&guaranteed, &self.kinds);
        let mut additional = &quota_resources - &guaranteed;
        let limits = &self.roles[role].limits;
        if !limits.is_empty() {
            let mut consumed = quota.consumed(role);
            consumed += &guaranteed_quantities;
            additional = shrink(&additional, &limits.headroom(&consumed), &self.kinds);
        }
        if !quota.required_headroom.is_empty() && !additional.is_empty() {
            additional = shrink(&additional, &quota.surplus(), &self.kinds);
        }
        let mut resources = available.filter(|r| r.is_reserved(Some(name)) || !is_scalar(r));
        resources += &guaranteed;
        resources += &additional;
        let candidate = Candidate {
            quantities: Quantities::of(&resources, &self.kinds),
            unreserved: Quantities::of(&(guaranteed + additional), &self.kinds),
            resources: Some(resources),
        };
        Some((candidate, guaranteed_quantities))
    }

    // ----- Stage 2: everyone ----------------------------------------------

    fn offer_remaining(&mut self, agent: AgentIdx, quota: &mut QuotaCycle, offers: &mut Offers) {
        let mut roles = self.role_sorter.walk(&self.fair_totals);
        while let Some(role) = self.role_sorter.next(&mut roles) {
            if self.agents[agent.into()].available.is_empty() {
                break;
            }
            self.offer_remaining_to_role(agent, role, quota, offers);
        }
    }

    fn offer_remaining_to_role(
        &mut self,
        agent: AgentIdx,
        role: RoleIdx,
        quota: &mut QuotaCycle,
        offers: &mut Offers,
    ) {
        let Some(mut frameworks) = self.walk_frameworks(role) else {
            return;
        };
        // Computed once, and again only after an offer changed the agent;
        // the memo holds filter answers for it.
        let mut offerable: Option<Offerable> = None;
        let mut memo = RefusalMemo::default();
        while let Some(framework) = self.next_framework(role, &mut frameworks) {
            if offerable.is_none() {
                memo.clear();
            }
            let current = offerable.get_or_insert_with(|| self.offerable(agent, role));
            if self.resources_of(agent, &current.resources).is_empty() {
                break;
            }
            if !self.may_offer(framework, role, agent, current) {
                continue;
            }
            let shaped = self.shape_remaining(framework, role, agent, current, quota);
            let mut own_memo = RefusalMemo::default();
            let (resources, quantities, memo) = match &shaped {
                Some(candidate) => (&candidate.resources, &candidate.quantities, &mut own_memo),
                None => (&current.resources, &current.quantities, &mut memo),
            };
            let resources = self.resources_of(agent, resources);
            if !self.is_allocatable(framework, role, resources, quantities)
                || self.is_filtered(framework, role, agent, resources, memo)
            {
                continue;
            }
            let candidate = match shaped {
                Some(candidate) => candidate,
                None => Candidate::from(offerable.take().expect("offerable was just computed")),
            };
            offerable = None;
            quota.consume(&self.roles, role, &candidate.unreserved);
            self.commit(framework, role, agent, candidate, offers);
        }
    }

    /// Stage 2's offer when it is not simply everything offerable: the
    /// framework cannot take refined reservations, or the role's limit or
    /// the guarantees' headroom cut the unreserved scalars. `None` means
    /// offer everything.
    fn shape_remaining(
        &self,
        framework: FrameworkIdx,
        role: RoleIdx,
        agent: AgentIdx,
        offerable: &Offerable,
        quota: &QuotaCycle,
    ) -> Option<Candidate> {
        let limits = &self.roles[role].limits;
        let strip = offerable.refined
            && !self.frameworks[framework.into()]
                .capabilities
                .reservation_refinement;
        if !strip && limits.is_empty() && quota.required_headroom.is_empty() {
            return None;
        }
        let available = self.strip_incapable(framework, agent, offerable);
        let mut additional = available.filter(|r| is_scalar(r) && r.is_unreserved());
        if !limits.is_empty() {
            let headroom = limits.headroom(&quota.consumed(role));
            additional = shrink(&additional, &headroom, &self.kinds);
        }
        if !quota.required_headroom.is_empty() && !additional.is_empty() {
            additional = shrink(&additional, &quota.surplus(), &self.kinds);
        }
        let mut resources = available.filter(|r| !r.is_unreserved() || !is_scalar(r));
        resources += &additional;
        Some(Candidate {
            quantities: Quantities::of(&resources, &self.kinds),
            unreserved: Quantities::of(&additional, &self.kinds),
            resources: Some(resources),
        })
    }

    // ----- Shared checks and the commit -----------------------------------

    fn walk_frameworks(&mut self, role: RoleIdx) -> Option<Walk> {
        let totals = &self.fair_totals;
        Some(self.roles[role].sorter.as_mut()?.walk(totals))
    }

    fn next_framework(&mut self, role: RoleIdx, walk: &mut Walk) -> Option<FrameworkIdx> {
        self.roles[role].sorter.as_mut()?.next(walk)
    }

    fn offerable(&self, agent: AgentIdx, role: RoleIdx) -> Offerable {
        let available = &self.agents[agent.into()].available;
        let name = self.roles[role].name.as_str();
        let resources = if available.iter().all(|r| r.is_allocatable_to(name)) {
            None
        } else {
            Some(available.allocatable_to(name))
        };
        let mut quantities = Quantities::default();
        let mut unreserved = Quantities::default();
        let mut refined = false;
        for resource in resources.as_ref().unwrap_or(available) {
            quantities.add_resource(resource, &self.kinds);
            if resource.is_unreserved() {
                unreserved.add_resource(resource, &self.kinds);
            }
            refined |= resource.reservations.len() > 1;
        }
        Offerable {
            resources,
            quantities,
            unreserved,
            refined,
        }
    }

    /// The resources an offerable or candidate stands for.
    fn resources_of<'a>(
        &'a self,
        agent: AgentIdx,
        resources: &'a Option<Resources>,
    ) -> &'a Resources {
        resources
            .as_ref()
            .unwrap_or(&self.agents[agent.into()].available)
    }

    /// The early checks, before an offer is shaped: could anything here be
    /// offered to this framework at all?
    fn may_offer(
        &self,
        framework: FrameworkIdx,
        role: RoleIdx,
        agent: AgentIdx,
        offerable: &Offerable,
    ) -> bool {
        let resources = self.resources_of(agent, &offerable.resources);
        self.is_allocatable(framework, role, resources, &offerable.quantities)
            && self.is_capable(framework, agent)
    }

    /// Whether an offer is worth making (Mesos `allocatable`): not empty,
    /// and holding one of the minimum offers, the framework's own for the
    /// role if it set one.
    fn is_allocatable(
        &self,
        framework: FrameworkIdx,
        role: RoleIdx,
        resources: &Resources,
        quantities: &Quantities,
    ) -> bool {
        if resources.is_empty() {
            return false;
        }
        let own = &self.frameworks[framework.into()].min_allocatable;
        let minimums = if own.is_empty() {
            &self.min_allocatable
        } else {
            own.get(&role).unwrap_or(&self.min_allocatable)
        };
        minimums.is_empty() || minimums.iter().any(|minimum| quantities.contains(minimum))
    }

    /// Whether the framework may be offered this agent at all (Mesos
    /// `isCapableOfReceivingAgent`): GPU agents only to GPU frameworks.
    fn is_capable(&self, framework: FrameworkIdx, agent: AgentIdx) -> bool {
        let gpu_capable = self.frameworks[framework.into()].capabilities.gpu_resources;
        !(self.options.filter_gpu_resources && self.agents[agent.into()].has_gpu && !gpu_capable)
    }

    /// What is offerable without what the framework cannot understand:
    /// refined reservations unless it has `RESERVATION_REFINEMENT`.
    fn strip_incapable(
        &self,
        framework: FrameworkIdx,
        agent: AgentIdx,
        offerable: &Offerable,
    ) -> Resources {
        let resources = self.resources_of(agent, &offerable.resources);
        if offerable.refined
            && !self.frameworks[framework.into()]
                .capabilities
                .reservation_refinement
        {
            resources.filter(|r| r.reservations.len() <= 1)
        } else {
            resources.clone()
        }
    }

    /// Whether the offer must not be made (Mesos `isFiltered`): a MULTI_ROLE
    /// framework on an agent that is not, a hierarchical role on an agent
    /// that cannot take one, or a refusal filter holding all of it.
    fn is_filtered(
        &self,
        framework: FrameworkIdx,
        role: RoleIdx,
        agent: AgentIdx,
        resources: &Resources,
        memo: &mut RefusalMemo,
    ) -> bool {
        let framework = &self.frameworks[framework.into()];
        let capabilities = self.agents[agent.into()].capabilities;
        if framework.capabilities.multi_role && !capabilities.multi_role {
            return true;
        }
        if !capabilities.hierarchical_role && self.roles[role].name.contains('/') {
            return true;
        }
        is_refused(framework.filters.get(&agent), role, resources, memo)
    }

    /// Makes the offer: the agent's pool shrinks, the ledger and the
    /// accounts grow, and the offer joins the cycle's result.
    fn commit(
        &mut self,
        framework: FrameworkIdx,
        role: RoleIdx,
        agent: AgentIdx,
        candidate: Candidate,
        offers: &mut Offers,
    ) {
        let Candidate {
            resources,
            quantities,
            unreserved,
        } = candidate;
        let entry = &mut self.agents[agent.into()];
        let mut offered = match resources {
            Some(resources) => {
                entry.available -= &resources;
                resources
            }
            None => std::mem::take(&mut entry.available),
        };
        offered.allocate(&self.roles[role].name);
        let framework_id = &self.frameworks[framework.into()].id;
        match entry.allocated.get_mut(framework_id) {
            Some(held) => *held += &offered,
            None => {
                entry
                    .allocated
                    .insert(framework_id.clone(), offered.clone());
            }
        }
        self.frameworks[framework.into()].agents.insert(agent);
        let split = Split {
            reserved: quantities.saturating_sub(&unreserved),
            all: quantities,
            unreserved,
        };
        self.track_split(framework, role, &split);
        offers.add(framework, role, agent, offered);
    }
}
