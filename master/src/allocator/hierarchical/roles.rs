//! The role tree (Mesos `RoleTree`): every role the allocator has heard of,
//! with its weight, quota, frameworks and, summed over its subtree, what is
//! reserved to it and what it is offered or allocated.
//!
//! A parent's figures include its children's, which is what quota needs:
//! `eng`'s consumption counts `eng/web`'s. Roles are interned once and kept:
//! a cluster has few roles, and keeping them spares the bookkeeping of
//! removing a node whose subtree may come back.

use std::collections::{BTreeSet, HashMap};

use mesos_proto::Resources;

use crate::allocator::index::{FrameworkIdx, RoleIdx, Slab};
use crate::allocator::quantities::{Kinds, Limits, Quantities};
use crate::allocator::sorter::DrfSorter;
use crate::allocator::Quota;

/// Amounts kept for a role's whole subtree, or for the cluster.
#[derive(Clone, Debug, Default)]
pub(super) struct Accounts {
    /// Reserved to the role or a subrole, allocated or not.
    pub(super) reservations: Quantities,
    /// Offered or allocated, and reserved.
    pub(super) allocated_reserved: Quantities,
    /// Offered or allocated, and unreserved.
    pub(super) allocated_unreserved: Quantities,
}

impl Accounts {
    /// What counts against quota: reservations plus unreserved allocation.
    pub(super) fn consumed_quota(&self) -> Quantities {
        let mut consumed = self.reservations.clone();
        consumed += &self.allocated_unreserved;
        consumed
    }

    /// Everything offered or allocated.
    pub(super) fn allocated(&self) -> Quantities {
        let mut allocated = self.allocated_reserved.clone();
        allocated += &self.allocated_unreserved;
        allocated
    }
}

#[derive(Debug)]
pub(super) struct Role {
    pub(super) name: String,
    pub(super) parent: Option<RoleIdx>,
    pub(super) weight: f64,
    pub(super) quota: Quota,
    pub(super) guarantees: Quantities,
    pub(super) limits: Limits,
    pub(super) accounts: Accounts,
    /// Frameworks subscribed to the role or holding resources in it.
    pub(super) frameworks: BTreeSet<FrameworkIdx>,
    /// The order of those frameworks; present while there are any.
    pub(super) sorter: Option<DrfSorter<FrameworkIdx>>,
}

impl Role {
    /// Whether the role says nothing worth showing: no frameworks, nothing
    /// reserved or allocated, default weight and quota.
    pub(super) fn is_idle(&self) -> bool {
        self.frameworks.is_empty()
            && self.accounts.reservations.is_empty()
            && self.accounts.allocated().is_empty()
            && self.weight == 1.0
            && self.quota.is_default()
    }
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(super) struct RoleTree {
    roles: Slab<Role>,
    by_name: HashMap<String, RoleIdx>,
    /// The whole cluster's accounts.
    pub(super) root: Accounts,
}

impl RoleTree {
    pub(super) fn find(&self, name: &str) -> Option<RoleIdx> {
        self.by_name.get(name).copied()
    }

    /// The role called `name`, created with its ancestors if new. Callers
    /// validate names first.
    pub(super) fn ensure(&mut self, name: &str) -> RoleIdx {
        if let Some(role) = self.find(name) {
            return role;
        }
        let parent = name.rsplit_once('/').map(|(parent, _)| self.ensure(parent));
        let role = Role {
            name: name.to_owned(),
            parent,
            weight: 1.0,
            quota: Quota::default(),
            guarantees: Quantities::default(),
            limits: Limits::default(),
            accounts: Accounts::default(),
            frameworks: BTreeSet::new(),
            sorter: None,
        };
        let index = RoleIdx::from(self.roles.insert(role));
        self.by_name.insert(name.to_owned(), index);
        index
    }

    /// A role and its ancestors, the role first.
    pub(super) fn lineage(&self, role: RoleIdx) -> impl Iterator<Item = RoleIdx> + '_ {
        std::iter::successors(Some(role), |&role| self[role].parent)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (RoleIdx, &Role)> {
        self.roles
            .iter()
            .map(|(slot, role)| (RoleIdx::from(slot), role))
    }

    /// Adds (`add`) or takes away the scalar reservations of `resources` to
    /// the roles they are reserved to, their ancestors and the cluster.
    pub(super) fn track_reservations(&mut self, resources: &Resources, kinds: &Kinds, add: bool) {
        for resource in resources {
            let Some(reserved_to) = resource.reservation_role() else {
                continue;
            };
            let mut quantities = Quantities::default();
            quantities.add_resource(resource, kinds);
            if quantities.is_empty() {
                continue;
            }
            let role = self.ensure(reserved_to);
            self.apply(
                role,
                add,
                |accounts| &mut accounts.reservations,
                &quantities,
            );
        }
    }

    /// Adds or takes away an allocation to `role`, split into its reserved
    /// and unreserved scalar amounts.
    pub(super) fn track_allocated(
        &mut self,
        role: RoleIdx,
        reserved: &Quantities,
        unreserved: &Quantities,
        add: bool,
    ) {
        self.apply(
            role,
            add,
            |accounts| &mut accounts.allocated_reserved,
            reserved,
        );
        self.apply(
            role,
            add,
            |accounts| &mut accounts.allocated_unreserved,
            unreserved,
        );
    }

    /// Applies a change to one account of a role, its ancestors and the
    /// cluster.
    fn apply(
        &mut self,
        role: RoleIdx,
        add: bool,
        account: impl Fn(&mut Accounts) -> &mut Quantities,
        quantities: &Quantities,
    ) {
        if quantities.is_empty() {
            return;
        }
        let change = |target: &mut Quantities| {
            if add {
                *target += quantities;
            } else {
                *target -= quantities;
            }
        };
        let mut next = Some(role);
        while let Some(current) = next {
            let role = &mut self.roles[usize::from(current)];
            change(account(&mut role.accounts));
            next = role.parent;
        }
        change(account(&mut self.root));
    }
}

impl std::ops::Index<RoleIdx> for RoleTree {
    type Output = Role;

    fn index(&self, role: RoleIdx) -> &Role {
        &self.roles[usize::from(role)]
    }
}

impl std::ops::IndexMut<RoleIdx> for RoleTree {
    fn index_mut(&mut self, role: RoleIdx) -> &mut Role {
        &mut self.roles[usize::from(role)]
    }
}
