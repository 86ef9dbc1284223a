//! Sorters: the order in which the allocator visits roles, and the
//! frameworks within a role (Mesos `Sorter`).
//!
//! The allocator keeps one sorter over roles and one per role over its
//! frameworks. A sorter only knows each client's name, weight, whether it is
//! active, and how much it has been allocated; it never sees agents or
//! resources beyond their scalar quantities.
//!
//! - `drf.rs`: [`DrfSorter`], dominant resource fairness, the default.

pub(crate) mod drf;

pub(crate) use drf::DrfSorter;

use super::quantities::Quantities;

/// What shares are measured against: the cluster's total of each scalar kind.
/// Kinds excluded from fair sharing (`--fair_sharing_excluded_resource_names`)
/// are held at zero here, so they never dominate. The generation changes with
/// every change of the totals, telling sorters their cached shares are stale.
#[derive(Clone, Debug, Default)]
pub(crate) struct Totals {
    pub(crate) quantities: Quantities,
    pub(crate) generation: u64,
}

impl Totals {
    /// The dominant share of `allocation`: its largest fraction of any kind's
    /// total, ignoring kinds with no total (Mesos `calculateShare` before the
    /// division by weight).
    pub(crate) fn dominant_share(&self, allocation: &Quantities) -> f64 {
        allocation
            .iter()
            .filter_map(|(kind, millis)| {
                let total = self.quantities.get(kind);
                (total > 0).then(|| millis as f64 / total as f64)
            })
            .fold(0.0, f64::max)
    }
}

/// The contract between the allocator and a sorter, client by client.
///
/// Clients are identified by a small copyable key `K` chosen by the caller
/// and carry a name, which orders ties and, for a hierarchical sorter, places
/// the client in the tree (`eng/web` sits below `eng`).
pub(crate) trait Sorter<K> {
    /// A position in an iteration over the active clients.
    type Walk;

    /// Adds an inactive client; a no-op if `client` is already there.
    fn add(&mut self, client: K, name: &str);

    /// Removes a client and its allocation from the sorter's accounts.
    fn remove(&mut self, client: K, totals: &Totals);

    /// Makes `client` eligible for the iteration.
    fn activate(&mut self, client: K, totals: &Totals);

    /// Keeps `client` out of the iteration; its allocation is still counted.
    fn deactivate(&mut self, client: K);

    /// Sets the weight of the node at `path`; shares are divided by it. The
    /// weight is remembered for a path that has no node yet.
    fn update_weight(&mut self, path: &str, weight: f64, totals: &Totals);

    /// Records that `client` was allocated `quantities`, counting one more
    /// allocation for it and its ancestors.
    fn allocated(&mut self, client: K, quantities: &Quantities, totals: &Totals);

    /// Records that `client` gave `quantities` back.
    fn unallocated(&mut self, client: K, quantities: &Quantities, totals: &Totals);

    /// The client's own share divided by its weight.
    fn share(&self, client: K, totals: &Totals) -> Option<f64>;

    /// Starts an iteration over the active clients in order. Allocations made
    /// during the iteration do not reorder what is still to come: the
    /// iteration yields each client once, in the order the sorter had when
    /// the iteration started, as Mesos's `sort()` snapshot does.
    fn walk(&mut self, totals: &Totals) -> Self::Walk;

    /// The next client of an iteration.
    fn next(&mut self, walk: &mut Self::Walk) -> Option<K>;
}
