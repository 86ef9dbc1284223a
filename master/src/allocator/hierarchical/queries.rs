//! What the master's endpoints and metrics read from the allocator: the
//! cluster total, the roles for `/roles`, each framework's allocation and
//! DRF share, an agent's free resources, the active filters per role.

use std::collections::BTreeMap;

use mesos_proto::{AgentId, FrameworkId, Resources};

use super::HierarchicalAllocator;
use crate::allocator::sorter::Sorter;
use crate::allocator::{ResourceQuantities, RoleSummary};

impl HierarchicalAllocator {
    /// The cluster's total scalar resources.
    pub fn total_resources(&self) -> ResourceQuantities {
        self.total.to_named(&self.kinds)
    }

    /// The roles worth showing in `/roles`: those with frameworks,
    /// reservations, allocations, a weight or a quota.
    pub fn roles(&self) -> Vec<RoleSummary> {
        let mut summaries: Vec<RoleSummary> = self
            .roles
            .iter()
            .filter(|(_, role)| !role.is_idle())
            .map(|(_, role)| RoleSummary {
                role: role.name.clone(),
                weight: role.weight,
                frameworks: role
                    .frameworks
                    .iter()
                    .map(|&f| self.frameworks[f.into()].id.clone())
                    .collect(),
                allocated: role.accounts.allocated().to_named(&self.kinds),
                reserved: role.accounts.reservations.to_named(&self.kinds),
                quota: role.quota.clone(),
            })
            .collect();
        summaries.sort_by(|a, b| a.role.cmp(&b.role));
        summaries
    }

    /// What a framework is offered or allocated, by agent, tagged with
    /// roles; `None` for an unknown framework.
    pub fn framework_allocation(
        &self,
        framework_id: &FrameworkId,
    ) -> Option<BTreeMap<AgentId, Resources>> {
        let index = self.framework_index.get(framework_id)?;
        let framework = &self.frameworks[usize::from(*index)];
        let allocation = framework.agents.iter().filter_map(|&agent| {
            let agent = &self.agents[agent.into()];
            let resources = agent.allocated.get(framework_id)?;
            Some((agent.id.clone(), resources.clone()))
        });
        Some(allocation.collect())
    }

    /// A framework's DRF share among the frameworks of `role`: its largest
    /// fraction of any scalar kind of the cluster.
    pub fn framework_share(&self, framework_id: &FrameworkId, role: &str) -> Option<f64> {
        let framework = *self.framework_index.get(framework_id)?;
        let role = self.roles.find(role)?;
        self.roles[role]
            .sorter
            .as_ref()?
            .share(framework, &self.fair_totals)
    }

    /// A role's DRF share among roles, divided by its weight.
    pub fn role_share(&self, role: &str) -> Option<f64> {
        let role = self.roles.find(role)?;
        self.role_sorter.share(role, &self.fair_totals)
    }

    /// What is neither offered nor allocated on an agent.
    pub fn agent_available(&self, agent_id: &AgentId) -> Option<&Resources> {
        let index = self.agent_index.get(agent_id)?;
        Some(&self.agents[usize::from(*index)].available)
    }

    /// The refusal filters in force for `role` (the
    /// `allocator/mesos/offer_filters/roles/<role>/active` gauge).
    pub fn offer_filters(&self, role: &str) -> usize {
        let Some(role) = self.roles.find(role) else {
            return 0;
        };
        self.frameworks
            .iter()
            .flat_map(|(_, framework)| framework.filters.values())
            .flatten()
            .filter(|filter| filter.role == role)
            .count()
    }
}
