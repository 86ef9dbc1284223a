//! Refusal filters (Mesos `RefusedOfferFilter`): resources a framework
//! declined on an agent for a role, not to be offered again until a timeout.
//!
//! Filters live in each framework, keyed by agent index, so the check in the
//! allocation loop is one hash of a small integer; most candidates have no
//! filter at all. Expiry is lazy: a min-heap of deadlines is drained at the
//! start of each cycle. A filter removed earlier (revive, removal of the
//! framework or agent) leaves a stale heap entry, recognised by its id.
//!
//! A busy cluster holds a filter per framework and agent, nearly all for the
//! same resources (whatever the agent had free), so an agent keeps the last
//! refused resources and equal refusals share them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Instant;

use mesos_proto::Resources;

use crate::allocator::index::{AgentIdx, FrameworkIdx, IndexMap, RoleIdx};

/// One refusal: while it lasts, an offer to the framework in `role` on the
/// agent is suppressed if `resources` hold all of it.
#[derive(Debug)]
pub(super) struct OfferFilter {
    pub(super) id: u64,
    pub(super) role: RoleIdx,
    /// Unallocated: the role is checked separately. Frameworks declining
    /// the same resources on an agent share one copy.
    pub(super) resources: Arc<Resources>,
}

/// A framework's filters by agent.
pub(super) type FrameworkFilters = IndexMap<AgentIdx, Vec<OfferFilter>>;

/// Whether a filter of `filters` in `role` holds all of `offered`
/// (unallocated). Offering more than was refused goes through. `memo`
/// remembers the answer per shared copy of refused resources, and must be
/// cleared whenever `offered` changes.
pub(super) fn is_refused(
    filters: Option<&Vec<OfferFilter>>,
    role: RoleIdx,
    offered: &Resources,
    memo: &mut RefusalMemo,
) -> bool {
    filters.is_some_and(|filters| {
        filters
            .iter()
            .filter(|filter| filter.role == role)
            .any(|filter| memo.contains(&filter.resources, offered))
    })
}

/// Containment answers for one offered set of resources, by refused copy.
/// Frameworks that declined the same resources on an agent share a copy, so
/// a cycle checks it once per agent instead of once per framework.
#[derive(Debug, Default)]
pub(super) struct RefusalMemo {
    answers: Vec<(*const Resources, bool)>,
}

impl RefusalMemo {
    fn contains(&mut self, refused: &Arc<Resources>, offered: &Resources) -> bool {
        let key = Arc::as_ptr(refused);
        if let Some(&(_, answer)) = self.answers.iter().find(|(seen, _)| *seen == key) {
            return answer;
        }
        let answer = refused.contains(offered);
        // A handful of distinct copies per agent at most; past that, do not
        // let the scan grow.
        if self.answers.len() < 16 {
            self.answers.push((key, answer));
        }
        answer
    }

    pub(super) fn clear(&mut self) {
        self.answers.clear();
    }
}

/// When filters expire.
#[derive(Debug, Default)]
pub(super) struct Expiries {
    deadlines: BinaryHeap<Reverse<(Instant, u64, FrameworkIdx, AgentIdx)>>,
    next_id: u64,
}

impl Expiries {
    /// Schedules a new filter's expiry and returns its id.
    pub(super) fn schedule(
        &mut self,
        expires: Instant,
        framework: FrameworkIdx,
        agent: AgentIdx,
    ) -> u64 {
        self.next_id += 1;
        self.deadlines
            .push(Reverse((expires, self.next_id, framework, agent)));
        self.next_id
    }

    /// Takes the filters due by `now`: `(filter id, framework, agent)`.
    pub(super) fn due(&mut self, now: Instant) -> Vec<(u64, FrameworkIdx, AgentIdx)> {
        let mut due = Vec::new();
        while let Some(Reverse((expires, id, framework, agent))) = self.deadlines.peek().copied() {
            if expires > now {
                break;
            }
            self.deadlines.pop();
            due.push((id, framework, agent));
        }
        due
    }

    /// The number of scheduled expiries, stale ones included.
    pub(super) fn len(&self) -> usize {
        self.deadlines.len()
    }

    /// Forgets every stale entry, when they outnumber live filters.
    pub(super) fn retain(&mut self, mut live: impl FnMut(u64, FrameworkIdx, AgentIdx) -> bool) {
        self.deadlines
            .retain(|Reverse((_, id, framework, agent))| live(*id, *framework, *agent));
    }
}

/// Removes the filter `id` from a framework's filters on `agent`, if there.
pub(super) fn remove_filter(filters: &mut FrameworkFilters, agent: AgentIdx, id: u64) {
    if let Some(on_agent) = filters.get_mut(&agent) {
        on_agent.retain(|filter| filter.id != id);
        if on_agent.is_empty() {
            filters.remove(&agent);
        }
    }
}

/// Removes a framework's filters for `role` on every agent.
pub(super) fn remove_role(filters: &mut FrameworkFilters, role: RoleIdx) {
    filters.retain(|_, on_agent| {
        on_agent.retain(|filter| filter.role != role);
        !on_agent.is_empty()
    });
}
