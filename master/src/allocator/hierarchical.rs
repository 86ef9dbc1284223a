//! The hierarchical DRF allocator (Mesos `HierarchicalAllocatorProcess`),
//! as a plain type: the master's calls change its state, and
//! [`HierarchicalAllocator::allocate`] runs one allocation cycle.
//!
//! - this file: the records and the calls that keep them up to date;
//! - `cycle.rs`: the allocation cycle (stage 1 for quota guarantees, stage 2
//!   for everyone);
//! - `filters.rs`: refusal filters and their expiry;
//! - `queries.rs`: what the master's endpoints and metrics read;
//! - `roles.rs`: the role tree with per-role quota accounts.
//!
//! Every framework, agent and role gets a dense index when it arrives; the
//! ledger of what is offered or allocated is kept on each agent, by
//! framework, and mirrored as scalar amounts in the sorters and role tree.

mod cycle;
mod filters;
mod queries;
mod roles;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mesos_proto::roles as role_names;
use mesos_proto::{AgentId, FrameworkId, Resources, Value};

use self::filters::{Expiries, FrameworkFilters, OfferFilter};
use self::roles::RoleTree;
use super::index::{AgentIdx, FrameworkIdx, IndexMap, IndexSet, RoleIdx, Slab};
use super::quantities::{Kinds, Limits, Quantities};
use super::sorter::{DrfSorter, Sorter, Totals};
use super::{
    AgentCapabilities, AllocatorError, FrameworkCapabilities, FrameworkConfig, Options, Quota,
};

/// An agent as the allocator sees it (Mesos `Slave`).
#[derive(Debug)]
struct Agent {
    id: AgentId,
    capabilities: AgentCapabilities,
    active: bool,
    has_gpu: bool,
    total: Resources,
    /// `total` minus everything offered or allocated, unallocated.
    available: Resources,
    /// What each framework is offered or allocated here, tagged with roles.
    /// Frameworks the allocator does not know yet may appear: the agent
    /// reports them before the framework reregisters.
    allocated: HashMap<FrameworkId, Resources>,
    /// The resources last refused here, shared by the filters that refused
    /// the same.
    last_refused: Option<Arc<Resources>>,
}

/// A framework as the allocator sees it.
#[derive(Debug)]
struct Framework {
    id: FrameworkId,
    roles: BTreeSet<String>,
    suppressed_roles: BTreeSet<String>,
    capabilities: FrameworkCapabilities,
    active: bool,
    /// Per role, its own minimum offer instead of the global one.
    min_allocatable: IndexMap<RoleIdx, Vec<Quantities>>,
    /// The roles whose framework sorter holds it: those it is subscribed to
    /// and those it still holds resources in.
    tracked: BTreeSet<RoleIdx>,
    /// The agents where it is offered or allocated something.
    agents: IndexSet<AgentIdx>,
    filters: FrameworkFilters,
}

/// See the module documentation.
#[derive(Debug)]
pub struct HierarchicalAllocator {
    options: Options,
    kinds: Kinds,
    /// The global minimum offers, as dense amounts.
    min_allocatable: Vec<Quantities>,
    agents: Slab<Agent>,
    agent_index: HashMap<AgentId, AgentIdx>,
    frameworks: Slab<Framework>,
    framework_index: HashMap<FrameworkId, FrameworkIdx>,
    roles: RoleTree,
    role_sorter: DrfSorter<RoleIdx>,
    /// The cluster's scalar totals, every kind.
    total: Quantities,
    /// The same without the kinds excluded from fair sharing: what shares
    /// are measured against.
    fair_totals: Totals,
    expiries: Expiries,
    live_filters: usize,
    rng: fastrand::Rng,
}

impl HierarchicalAllocator {
    /// An allocator with no agents and no frameworks. Fails on an invalid
    /// role or weight in `options.weights`.
    pub fn new(options: Options) -> Result<Self, AllocatorError> {
        let mut kinds = Kinds::default();
        let min_allocatable = options
            .min_allocatable_resources
            .iter()
            .map(|quantities| Quantities::of_named(quantities, &mut kinds))
            .collect();
        let mut allocator = Self {
            kinds,
            min_allocatable,
            agents: Slab::default(),
            agent_index: HashMap::new(),
            frameworks: Slab::default(),
            framework_index: HashMap::new(),
            roles: RoleTree::default(),
            role_sorter: DrfSorter::hierarchical(),
            total: Quantities::default(),
            fair_totals: Totals::default(),
            expiries: Expiries::default(),
            live_filters: 0,
            rng: fastrand::Rng::with_seed(options.seed),
            options,
        };
        for (role, weight) in allocator.options.weights.clone() {
            allocator.update_weight(&role, weight)?;
        }
        Ok(allocator)
    }

    /// The options it was built with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    // ----- Agents ---------------------------------------------------------

    /// Adds an agent with its `total` resources, of which `used` are already
    /// offered or allocated (tagged with roles) per framework, as on
    /// registration or reregistration. Call [`allocate`](Self::allocate) for
    /// this agent next, as Mesos does.
    pub fn add_agent(
        &mut self,
        agent_id: AgentId,
        capabilities: AgentCapabilities,
        total: Resources,
        used: &HashMap<FrameworkId, Resources>,
    ) -> Result<(), AllocatorError> {
        if self.agent_index.contains_key(&agent_id) {
            return Err(AllocatorError::DuplicateAgent(agent_id));
        }
        self.kinds.register_all(&total);
        let mut agent = Agent {
            id: agent_id.clone(),
            capabilities,
            active: true,
            has_gpu: has_gpu(&total),
            available: total.clone(),
            total,
            allocated: HashMap::new(),
            last_refused: None,
        };
        for (framework_id, resources) in used {
            agent.available -= &unallocated(resources);
            *agent.allocated.entry(framework_id.clone()).or_default() += resources;
        }
        self.roles
            .track_reservations(&agent.total, &self.kinds, true);
        self.change_totals(&agent.total, true);
        let index = AgentIdx::from(self.agents.insert(agent));
        self.agent_index.insert(agent_id, index);
        for (framework_id, resources) in used {
            if let Some(&framework) = self.framework_index.get(framework_id) {
                self.frameworks[framework.into()].agents.insert(index);
                self.track_allocated(framework, resources);
            }
        }
        Ok(())
    }

    /// Changes an agent's total resources and/or capabilities. What is
    /// offered or allocated stays so; the new total is what remains free.
    pub fn update_agent(
        &mut self,
        agent_id: &AgentId,
        total: Option<Resources>,
        capabilities: Option<AgentCapabilities>,
    ) -> Result<(), AllocatorError> {
        let index = self.agent(agent_id)?;
        if let Some(capabilities) = capabilities {
            self.agents[index.into()].capabilities = capabilities;
        }
        let Some(total) = total else {
            return Ok(());
        };
        if total == self.agents[index.into()].total {
            return Ok(());
        }
        self.kinds.register_all(&total);
        let old = std::mem::replace(&mut self.agents[index.into()].total, total);
        self.roles.track_reservations(&old, &self.kinds, false);
        self.change_totals(&old, false);
        let agent = &mut self.agents[index.into()];
        agent.has_gpu = has_gpu(&agent.total);
        agent.available = agent.total.clone();
        for resources in agent.allocated.values() {
            agent.available -= &unallocated(resources);
        }
        let total = agent.total.clone();
        self.roles.track_reservations(&total, &self.kinds, true);
        self.change_totals(&total, true);
        Ok(())
    }

    /// Removes an agent: what was offered or allocated on it is forgotten,
    /// and so are the filters on it.
    pub fn remove_agent(&mut self, agent_id: &AgentId) -> Result<(), AllocatorError> {
        let index = self.agent(agent_id)?;
        let agent = self.agents.remove(index.into()).expect("agent exists");
        self.agent_index.remove(agent_id);
        for (framework_id, resources) in &agent.allocated {
            if let Some(&framework) = self.framework_index.get(framework_id) {
                self.frameworks[framework.into()].agents.remove(&index);
                self.untrack_allocated(framework, resources);
            }
        }
        self.roles
            .track_reservations(&agent.total, &self.kinds, false);
        self.change_totals(&agent.total, false);
        for framework in self.frameworks.values_mut() {
            if let Some(filters) = framework.filters.remove(&index) {
                self.live_filters -= filters.len();
            }
        }
        Ok(())
    }

    /// Lets the agent's resources be offered again.
    pub fn activate_agent(&mut self, agent_id: &AgentId) -> Result<(), AllocatorError> {
        let index = self.agent(agent_id)?;
        self.agents[index.into()].active = true;
        Ok(())
    }

    /// Stops offering the agent's resources (it is disconnected or draining).
    pub fn deactivate_agent(&mut self, agent_id: &AgentId) -> Result<(), AllocatorError> {
        let index = self.agent(agent_id)?;
        self.agents[index.into()].active = false;
        Ok(())
    }

    // ----- Frameworks -----------------------------------------------------

    /// Adds a framework, which already holds `used` resources (tagged with
    /// roles) per agent, as on failover. An inactive framework is kept
    /// accounted for but offered nothing.
    pub fn add_framework(
        &mut self,
        framework_id: FrameworkId,
        config: FrameworkConfig,
        used: &HashMap<AgentId, Resources>,
        active: bool,
    ) -> Result<(), AllocatorError> {
        if self.framework_index.contains_key(&framework_id) {
            return Err(AllocatorError::DuplicateFramework(framework_id));
        }
        validate_roles(&config)?;
        let framework = Framework {
            id: framework_id.clone(),
            roles: BTreeSet::new(),
            suppressed_roles: BTreeSet::new(),
            capabilities: config.capabilities,
            active,
            min_allocatable: IndexMap::default(),
            tracked: BTreeSet::new(),
            agents: IndexSet::default(),
            filters: FrameworkFilters::default(),
        };
        let index = FrameworkIdx::from(self.frameworks.insert(framework));
        self.framework_index.insert(framework_id, index);
        self.subscribe(index, &config);
        for (agent_id, resources) in used {
            if let Some(&agent) = self.agent_index.get(agent_id) {
                self.frameworks[index.into()].agents.insert(agent);
                self.track_allocated(index, resources);
            }
        }
        Ok(())
    }

    /// Applies a framework's new roles, suppressed roles, capabilities and
    /// minimum offers (UPDATE_FRAMEWORK or reregistration). Roles it leaves
    /// lose their filters; roles it stops suppressing are revived.
    pub fn update_framework(
        &mut self,
        framework_id: &FrameworkId,
        config: FrameworkConfig,
    ) -> Result<(), AllocatorError> {
        let index = self.framework(framework_id)?;
        validate_roles(&config)?;
        let framework = &self.frameworks[index.into()];
        let old_roles = framework.roles.clone();
        let old_suppressed = framework.suppressed_roles.clone();
        for role in old_roles.difference(&config.roles) {
            self.unsubscribe_role(index, role);
        }
        let revived: BTreeSet<String> = old_suppressed
            .difference(&config.suppressed_roles)
            .filter(|role| config.roles.contains(*role))
            .cloned()
            .collect();
        self.subscribe(index, &config);
        self.revive_roles(index, &revived);
        Ok(())
    }

    /// Removes a framework and frees everything offered or allocated to it.
    pub fn remove_framework(&mut self, framework_id: &FrameworkId) -> Result<(), AllocatorError> {
        let index = self.framework(framework_id)?;
        let agents: Vec<AgentIdx> = self.frameworks[index.into()].agents.drain().collect();
        for agent in agents {
            let agent = &mut self.agents[agent.into()];
            if let Some(resources) = agent.allocated.remove(framework_id) {
                agent.available += &unallocated(&resources);
                self.untrack_allocated(index, &resources);
            }
        }
        let tracked = std::mem::take(&mut self.frameworks[index.into()].tracked);
        for role in tracked {
            self.untrack_framework(index, role);
        }
        let framework = self
            .frameworks
            .remove(index.into())
            .expect("framework exists");
        self.live_filters -= framework.filters.values().map(Vec::len).sum::<usize>();
        self.framework_index.remove(framework_id);
        Ok(())
    }

    /// Lets a framework be offered resources again, in every role it does
    /// not suppress.
    pub fn activate_framework(&mut self, framework_id: &FrameworkId) -> Result<(), AllocatorError> {
        let index = self.framework(framework_id)?;
        self.frameworks[index.into()].active = true;
        let roles: Vec<String> = self.unsuppressed_roles(index);
        for role in roles {
            self.set_active_in(index, &role, true);
        }
        Ok(())
    }

    /// Stops offering to a framework (disconnected, failing over), keeping
    /// its allocation accounted for; its filters are dropped.
    pub fn deactivate_framework(
        &mut self,
        framework_id: &FrameworkId,
    ) -> Result<(), AllocatorError> {
        let index = self.framework(framework_id)?;
        let roles: Vec<String> = self.frameworks[index.into()]
            .roles
            .iter()
            .cloned()
            .collect();
        for role in &roles {
            self.set_active_in(index, role, false);
        }
        let framework = &mut self.frameworks[index.into()];
        framework.active = false;
        self.live_filters -= framework.filters.values().map(Vec::len).sum::<usize>();
        framework.filters.clear();
        Ok(())
    }

    // ----- Offers coming back, suppress, revive -------------------------

    /// Returns resources (tagged with roles) that a framework was offered or
    /// used on an agent: declined, rescinded, or freed by a finished task.
    /// With `refuse`, the framework is not offered them again on this agent
    /// in that role for `max(refuse, allocation_interval)` from `now` (see
    /// [`refuse_duration`](super::refuse_duration)). Resources of a framework
    /// or agent already removed are ignored: they were freed then.
    pub fn recover_resources(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        resources: &Resources,
        refuse: Option<Duration>,
        now: Instant,
    ) {
        let (Some(&agent), Some(&framework)) = (
            self.agent_index.get(agent_id),
            self.framework_index.get(framework_id),
        ) else {
            return;
        };
        // Resources come back one offer at a time, so nearly always for one
        // role; grouping them by role would copy them all.
        match single_allocation_role(resources) {
            Some(role) => self.recover_role(framework, agent, role, resources, refuse, now),
            None => {
                for (role, returned) in resources.allocations() {
                    self.recover_role(framework, agent, &role, &returned, refuse, now);
                }
            }
        }
    }

    /// [`recover_resources`](Self::recover_resources) for resources of one
    /// role.
    fn recover_role(
        &mut self,
        framework: FrameworkIdx,
        agent: AgentIdx,
        role: &str,
        returned: &Resources,
        refuse: Option<Duration>,
        now: Instant,
    ) {
        let Some(unallocated) = self.release(framework, agent, role, returned) else {
            tracing::warn!(
                framework_id = %self.frameworks[framework.into()].id,
                agent_id = %self.agents[agent.into()].id,
                resources = %returned,
                "Ignoring recovered resources that were not offered or allocated"
            );
            return;
        };
        if let Some(refuse) = refuse {
            let role = self.roles.ensure(role);
            let expires = now + refuse.max(self.options.allocation_interval);
            self.add_filter(framework, agent, role, unallocated, expires);
        }
    }

    /// SUPPRESS: no more offers to the framework in `roles` (all of its
    /// roles when empty) until it revives them.
    pub fn suppress_offers(
        &mut self,
        framework_id: &FrameworkId,
        roles: &BTreeSet<String>,
    ) -> Result<(), AllocatorError> {
        let index = self.framework(framework_id)?;
        let roles = self.subscribed_roles(index, roles)?;
        for role in roles {
            self.set_active_in(index, &role, false);
            self.frameworks[index.into()].suppressed_roles.insert(role);
        }
        Ok(())
    }

    /// REVIVE: clears the framework's filters in `roles` (all of its roles
    /// when empty) and offers to it there again. Run a cycle next, as Mesos
    /// does.
    pub fn revive_offers(
        &mut self,
        framework_id: &FrameworkId,
        roles: &BTreeSet<String>,
    ) -> Result<(), AllocatorError> {
        let index = self.framework(framework_id)?;
        let roles = self.subscribed_roles(index, roles)?;
        self.revive_roles(index, &roles);
        Ok(())
    }

    // ----- Weights and quota ----------------------------------------------

    /// Sets a role's weight (`--weights`, UPDATE_WEIGHTS): its share is
    /// divided by it. Takes effect from the next cycle.
    pub fn update_weight(&mut self, role: &str, weight: f64) -> Result<(), AllocatorError> {
        role_names::validate(role)?;
        if !(weight.is_finite() && weight > 0.0) {
            return Err(AllocatorError::InvalidWeight {
                role: role.to_owned(),
                weight,
            });
        }
        let index = self.roles.ensure(role);
        self.roles[index].weight = weight;
        self.role_sorter
            .update_weight(role, weight, &self.fair_totals);
        Ok(())
    }

    /// Sets a role's quota; the default [`Quota`] removes it.
    pub fn update_quota(&mut self, role: &str, quota: Quota) -> Result<(), AllocatorError> {
        role_names::validate(role)?;
        let index = self.roles.ensure(role);
        let guarantees = Quantities::of_named(&quota.guarantees, &mut self.kinds);
        let limits = Limits::of_named(&quota.limits, &mut self.kinds);
        let role = &mut self.roles[index];
        role.guarantees = guarantees;
        role.limits = limits;
        role.quota = quota;
        Ok(())
    }

    // ----- Private helpers ------------------------------------------------

    fn agent(&self, agent_id: &AgentId) -> Result<AgentIdx, AllocatorError> {
        self.agent_index
            .get(agent_id)
            .copied()
            .ok_or_else(|| AllocatorError::UnknownAgent(agent_id.clone()))
    }

    fn framework(&self, framework_id: &FrameworkId) -> Result<FrameworkIdx, AllocatorError> {
        self.framework_index
            .get(framework_id)
            .copied()
            .ok_or_else(|| AllocatorError::UnknownFramework(framework_id.clone()))
    }

    /// Adds or takes away an agent's scalars from the cluster totals.
    fn change_totals(&mut self, resources: &Resources, add: bool) {
        let quantities = Quantities::of(resources, &self.kinds);
        if add {
            self.total += &quantities;
        } else {
            self.total -= &quantities;
        }
        let mut fair = self.total.clone();
        for name in &self.options.fair_sharing_excluded_resource_names {
            if let Some(kind) = self.kinds.find(name) {
                fair.clear(kind);
            }
        }
        self.fair_totals = Totals {
            quantities: fair,
            generation: self.fair_totals.generation + 1,
        };
    }

    /// The framework's roles named in `roles`, or all of them when empty;
    /// refuses a role it is not subscribed to.
    fn subscribed_roles(
        &self,
        framework: FrameworkIdx,
        roles: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>, AllocatorError> {
        let framework = &self.frameworks[framework.into()];
        if roles.is_empty() {
            return Ok(framework.roles.clone());
        }
        match roles.iter().find(|role| !framework.roles.contains(*role)) {
            Some(role) => Err(AllocatorError::NotSubscribed {
                framework_id: framework.id.clone(),
                role: role.clone(),
            }),
            None => Ok(roles.clone()),
        }
    }

    fn unsuppressed_roles(&self, framework: FrameworkIdx) -> Vec<String> {
        let framework = &self.frameworks[framework.into()];
        framework
            .roles
            .difference(&framework.suppressed_roles)
            .cloned()
            .collect()
    }

    /// Subscribes a framework to `config`'s roles and takes its settings;
    /// roles newly suppressed are deactivated, others activated if the
    /// framework is active.
    fn subscribe(&mut self, index: FrameworkIdx, config: &FrameworkConfig) {
        let mut min_allocatable = IndexMap::default();
        for (role, alternatives) in &config.min_allocatable_resources {
            let role = self.roles.ensure(role);
            let alternatives = alternatives
                .iter()
                .map(|quantities| Quantities::of_named(quantities, &mut self.kinds))
                .collect();
            min_allocatable.insert(role, alternatives);
        }
        let framework = &mut self.frameworks[index.into()];
        framework.capabilities = config.capabilities;
        framework.min_allocatable = min_allocatable;
        framework.roles = config.roles.clone();
        for role in &config.roles {
            let role_index = self.roles.ensure(role);
            if !self.frameworks[index.into()].tracked.contains(&role_index) {
                self.track_framework(index, role_index);
            }
            let suppressed = config.suppressed_roles.contains(role);
            let active = self.frameworks[index.into()].active;
            self.set_active_in(index, role, active && !suppressed);
        }
        self.frameworks[index.into()].suppressed_roles = config
            .suppressed_roles
            .intersection(&config.roles)
            .cloned()
            .collect();
    }

    /// Unsubscribes a framework from one role: no more offers there, its
    /// filters there dropped, and the role forgotten once nothing is held.
    fn unsubscribe_role(&mut self, index: FrameworkIdx, role: &str) {
        self.set_active_in(index, role, false);
        let Some(role_index) = self.roles.find(role) else {
            return;
        };
        let framework = &mut self.frameworks[index.into()];
        framework.roles.remove(role);
        framework.suppressed_roles.remove(role);
        let before: usize = framework.filters.values().map(Vec::len).sum();
        filters::remove_role(&mut framework.filters, role_index);
        let after: usize = framework.filters.values().map(Vec::len).sum();
        self.live_filters -= before - after;
        self.try_untrack_framework(index, role_index);
    }

    /// Clears filters and activates the framework in each of `roles`.
    fn revive_roles(&mut self, index: FrameworkIdx, roles: &BTreeSet<String>) {
        for role in roles {
            if let Some(role_index) = self.roles.find(role) {
                let framework = &mut self.frameworks[index.into()];
                let before: usize = framework.filters.values().map(Vec::len).sum();
                filters::remove_role(&mut framework.filters, role_index);
                let after: usize = framework.filters.values().map(Vec::len).sum();
                self.live_filters -= before - after;
            }
            let framework = &mut self.frameworks[index.into()];
            framework.suppressed_roles.remove(role);
            let active = framework.active;
            self.set_active_in(index, role, active);
        }
    }

    /// Puts a framework in or out of a role's iteration.
    fn set_active_in(&mut self, index: FrameworkIdx, role: &str, active: bool) {
        let Some(role) = self.roles.find(role) else {
            return;
        };
        if let Some(sorter) = self.roles[role].sorter.as_mut() {
            if active {
                sorter.activate(index, &self.fair_totals);
            } else {
                sorter.deactivate(index);
            }
        }
    }

    /// Starts tracking a framework under a role; the role enters the role
    /// sorter with its first framework.
    fn track_framework(&mut self, index: FrameworkIdx, role: RoleIdx) {
        if self.roles[role].frameworks.is_empty() {
            let name = self.roles[role].name.clone();
            self.role_sorter.add(role, &name);
            self.role_sorter.activate(role, &self.fair_totals);
            self.roles[role].sorter = Some(DrfSorter::flat());
        }
        let framework = &mut self.frameworks[index.into()];
        framework.tracked.insert(role);
        let entry = &mut self.roles[role];
        entry.frameworks.insert(index);
        if let Some(sorter) = entry.sorter.as_mut() {
            sorter.add(index, framework.id.as_str());
        }
    }

    /// Stops tracking a framework under a role it is not subscribed to, once
    /// it holds nothing there.
    fn try_untrack_framework(&mut self, index: FrameworkIdx, role: RoleIdx) {
        let framework = &self.frameworks[index.into()];
        let name = &self.roles[role].name;
        if framework.roles.contains(name) {
            return;
        }
        let holds = framework.agents.iter().any(|&agent| {
            self.agents[agent.into()]
                .allocated
                .get(&framework.id)
                .is_some_and(|resources| {
                    resources
                        .iter()
                        .any(|r| r.allocation_info.as_ref().is_some_and(|a| &a.role == name))
                })
        });
        if holds {
            return;
        }
        self.frameworks[index.into()].tracked.remove(&role);
        self.untrack_framework(index, role);
    }

    /// Drops a framework from a role's sorter; the role leaves the role
    /// sorter with its last framework.
    fn untrack_framework(&mut self, index: FrameworkIdx, role: RoleIdx) {
        let entry = &mut self.roles[role];
        entry.frameworks.remove(&index);
        if let Some(sorter) = entry.sorter.as_mut() {
            sorter.remove(index, &self.fair_totals);
        }
        if entry.frameworks.is_empty() {
            entry.sorter = None;
            self.role_sorter.remove(role, &self.fair_totals);
        }
    }

    /// Accounts for resources (tagged with roles) now offered or allocated to
    /// a framework, in the sorters and role tree. The agent's ledger is the
    /// caller's.
    fn track_allocated(&mut self, framework: FrameworkIdx, resources: &Resources) {
        for (role, resources) in resources.allocations() {
            let role = self.roles.ensure(&role);
            let split = Split::of(&resources, &self.kinds);
            self.track_split(framework, role, &split);
        }
    }

    /// [`track_allocated`](Self::track_allocated) for one role, with the
    /// amounts already split.
    fn track_split(&mut self, framework: FrameworkIdx, role: RoleIdx, split: &Split) {
        if !self.frameworks[framework.into()].tracked.contains(&role) {
            self.track_framework(framework, role);
        }
        self.roles
            .track_allocated(role, &split.reserved, &split.unreserved, true);
        self.role_sorter
            .allocated(role, &split.all, &self.fair_totals);
        if let Some(sorter) = self.roles[role].sorter.as_mut() {
            sorter.allocated(framework, &split.all, &self.fair_totals);
        }
    }

    /// The reverse of [`track_allocated`](Self::track_allocated), called
    /// after the agent's ledger has dropped the resources.
    fn untrack_allocated(&mut self, framework: FrameworkIdx, resources: &Resources) {
        for (role, resources) in resources.allocations() {
            if let Some(role) = self.roles.find(&role) {
                self.untrack_role(framework, role, &resources);
            }
        }
    }

    /// [`untrack_allocated`](Self::untrack_allocated) for resources of one
    /// role.
    fn untrack_role(&mut self, framework: FrameworkIdx, role: RoleIdx, resources: &Resources) {
        if !self.frameworks[framework.into()].tracked.contains(&role) {
            return;
        }
        let split = Split::of(resources, &self.kinds);
        self.roles
            .track_allocated(role, &split.reserved, &split.unreserved, false);
        self.role_sorter
            .unallocated(role, &split.all, &self.fair_totals);
        if let Some(sorter) = self.roles[role].sorter.as_mut() {
            sorter.unallocated(framework, &split.all, &self.fair_totals);
        }
        self.try_untrack_framework(framework, role);
    }

    /// Takes resources of one role back from a framework on an agent into
    /// the agent's available pool, and returns them unallocated. `None`,
    /// changing nothing, when the framework does not hold them there.
    fn release(
        &mut self,
        framework: FrameworkIdx,
        agent: AgentIdx,
        role: &str,
        returned: &Resources,
    ) -> Option<Resources> {
        let framework_id = &self.frameworks[framework.into()].id;
        let entry = &mut self.agents[agent.into()];
        let held = entry.allocated.get_mut(framework_id)?;
        if !held.contains(returned) {
            return None;
        }
        *held -= returned;
        let emptied = held.is_empty();
        if emptied {
            entry.allocated.remove(framework_id);
        }
        let unallocated = unallocated(returned);
        entry.available += &unallocated;
        if emptied {
            self.frameworks[framework.into()].agents.remove(&agent);
        }
        if let Some(role) = self.roles.find(role) {
            self.untrack_role(framework, role, returned);
        }
        Some(unallocated)
    }

    fn add_filter(
        &mut self,
        framework: FrameworkIdx,
        agent: AgentIdx,
        role: RoleIdx,
        resources: Resources,
        expires: Instant,
    ) {
        let id = self.expiries.schedule(expires, framework, agent);
        let entry = &mut self.agents[agent.into()];
        let resources = match &entry.last_refused {
            Some(last) if **last == resources => Arc::clone(last),
            _ => Arc::clone(entry.last_refused.insert(Arc::new(resources))),
        };
        let filter = OfferFilter {
            id,
            role,
            resources,
        };
        let framework = &mut self.frameworks[framework.into()];
        framework.filters.entry(agent).or_default().push(filter);
        self.live_filters += 1;
    }

    /// Drops the filters due by `now`, and compacts the expiry queue when
    /// stale entries (of filters removed early) dominate it.
    fn expire_filters(&mut self, now: Instant) {
        for (id, framework, agent) in self.expiries.due(now) {
            if let Some(framework) = self.frameworks.get_mut(framework.into()) {
                let before = framework.filters.get(&agent).map_or(0, Vec::len);
                filters::remove_filter(&mut framework.filters, agent, id);
                let after = framework.filters.get(&agent).map_or(0, Vec::len);
                self.live_filters -= before - after;
            }
        }
        if self.expiries.len() > 2 * self.live_filters + 1024 {
            let frameworks = &self.frameworks;
            self.expiries.retain(|id, framework, agent| {
                frameworks
                    .get(framework.into())
                    .and_then(|framework| framework.filters.get(&agent))
                    .is_some_and(|filters| filters.iter().any(|filter| filter.id == id))
            });
        }
    }
}

/// The scalar amounts of some resources: all of them, and split by whether
/// they are reserved, as the role tree keeps them.
#[derive(Debug, Default)]
struct Split {
    all: Quantities,
    reserved: Quantities,
    unreserved: Quantities,
}

impl Split {
    fn of(resources: &Resources, kinds: &Kinds) -> Self {
        let mut split = Split::default();
        for resource in resources {
            if resource.is_unreserved() {
                split.unreserved.add_resource(resource, kinds);
            } else {
                split.reserved.add_resource(resource, kinds);
            }
        }
        split.all = split.reserved.clone();
        split.all += &split.unreserved;
        split
    }
}

/// The role all of `resources` are allocated to, if they share one.
fn single_allocation_role(resources: &Resources) -> Option<&str> {
    let mut roles = resources
        .iter()
        .map(|resource| resource.allocation_info.as_ref().map(|a| a.role.as_str()));
    let first = roles.next()??;
    roles.all(|role| role == Some(first)).then_some(first)
}

/// A copy of `resources` with no allocation role.
fn unallocated(resources: &Resources) -> Resources {
    let mut resources = resources.clone();
    resources.unallocate();
    resources
}

fn has_gpu(total: &Resources) -> bool {
    total.gpus().is_some_and(|gpus| gpus > 0.0)
}

/// Whether a resource is a scalar, the only kind quota and shares count.
fn is_scalar(resource: &mesos_proto::Resource) -> bool {
    matches!(resource.value, Value::Scalar(_))
}

fn validate_roles(config: &FrameworkConfig) -> Result<(), AllocatorError> {
    for role in config.roles.iter().chain(&config.suppressed_roles) {
        role_names::validate(role)?;
    }
    Ok(())
}
