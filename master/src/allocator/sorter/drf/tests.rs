use mesos_proto::Resources;

use super::*;
use crate::allocator::quantities::Kinds;

/// A cluster of `cpus:100;mem:1000`, and a way to write allocations.
struct Fixture {
    kinds: Kinds,
    totals: Totals,
}

impl Fixture {
    fn new() -> Self {
        let mut kinds = Kinds::default();
        let total = Resources::parse("cpus:100;mem:1000", "*").unwrap();
        kinds.register_all(&total);
        let totals = Totals {
            quantities: Quantities::of(&total, &kinds),
            generation: 1,
        };
        Self { kinds, totals }
    }

    fn quantities(&self, text: &str) -> Quantities {
        Quantities::of(&Resources::parse(text, "*").unwrap(), &self.kinds)
    }

    fn order<K: Copy + Eq + Hash>(&self, sorter: &mut DrfSorter<K>) -> Vec<K> {
        let mut walk = sorter.walk(&self.totals);
        std::iter::from_fn(|| sorter.next(&mut walk)).collect()
    }
}

fn flat_with(fixture: &Fixture, clients: &[(u32, &str)]) -> DrfSorter<u32> {
    let mut sorter = DrfSorter::flat();
    for &(client, name) in clients {
        sorter.add(client, name);
        sorter.activate(client, &fixture.totals);
    }
    sorter
}

#[test]
fn lower_dominant_share_comes_first() {
    let fixture = Fixture::new();
    let mut sorter = flat_with(&fixture, &[(1, "a"), (2, "b"), (3, "c")]);
    // a: max(10/100, 100/1000) = 0.1; b: max(5/100, 500/1000) = 0.5; c: 0.2.
    sorter.allocated(1, &fixture.quantities("cpus:10;mem:100"), &fixture.totals);
    sorter.allocated(2, &fixture.quantities("cpus:5;mem:500"), &fixture.totals);
    sorter.allocated(3, &fixture.quantities("cpus:20"), &fixture.totals);
    assert_eq!(fixture.order(&mut sorter), [1, 3, 2]);
    assert_eq!(sorter.share(2, &fixture.totals), Some(0.5));
}

#[test]
fn equal_shares_go_to_fewer_allocations_then_by_name() {
    let fixture = Fixture::new();
    let mut sorter = flat_with(&fixture, &[(1, "b"), (2, "a"), (3, "c")]);
    assert_eq!(fixture.order(&mut sorter), [2, 1, 3]);
    // Same share for all, but `a` has had two allocations and `c` one.
    let some = fixture.quantities("cpus:10");
    sorter.allocated(2, &some, &fixture.totals);
    sorter.unallocated(2, &some, &fixture.totals);
    sorter.allocated(2, &some, &fixture.totals);
    sorter.unallocated(2, &some, &fixture.totals);
    sorter.allocated(3, &some, &fixture.totals);
    sorter.unallocated(3, &some, &fixture.totals);
    assert_eq!(fixture.order(&mut sorter), [1, 3, 2]);
}

#[test]
fn weights_divide_shares() {
    let fixture = Fixture::new();
    let mut sorter = DrfSorter::hierarchical();
    for (client, role) in [(1, "light"), (2, "heavy")] {
        sorter.add(client, role);
        sorter.activate(client, &fixture.totals);
    }
    sorter.update_weight("heavy", 4.0, &fixture.totals);
    sorter.allocated(1, &fixture.quantities("cpus:10"), &fixture.totals);
    sorter.allocated(2, &fixture.quantities("cpus:30"), &fixture.totals);
    // heavy: 0.3 / 4 = 0.075 < light: 0.1.
    assert_eq!(fixture.order(&mut sorter), [2, 1]);
    assert_eq!(sorter.share(2, &fixture.totals), Some(0.075));
}

#[test]
fn weight_set_before_the_client_exists_applies_when_it_arrives() {
    let fixture = Fixture::new();
    let mut sorter = DrfSorter::hierarchical();
    sorter.update_weight("later", 10.0, &fixture.totals);
    sorter.add(1, "later");
    sorter.add(2, "other");
    sorter.activate(1, &fixture.totals);
    sorter.activate(2, &fixture.totals);
    sorter.allocated(1, &fixture.quantities("cpus:50"), &fixture.totals);
    sorter.allocated(2, &fixture.quantities("cpus:10"), &fixture.totals);
    assert_eq!(fixture.order(&mut sorter), [1, 2]);
}

#[test]
fn hierarchical_roles_are_sorted_level_by_level() {
    let fixture = Fixture::new();
    let mut sorter = DrfSorter::hierarchical();
    for (client, role) in [(1, "a"), (2, "a/b"), (3, "c"), (4, "a/d")] {
        sorter.add(client, role);
        sorter.activate(client, &fixture.totals);
    }
    // Subtree `a` holds 0.4 in all, more than `c` (0.3): all of `c` comes
    // first although `a/b` alone (0.1) is below `c`.
    sorter.allocated(1, &fixture.quantities("cpus:20"), &fixture.totals);
    sorter.allocated(2, &fixture.quantities("cpus:10"), &fixture.totals);
    sorter.allocated(4, &fixture.quantities("cpus:10"), &fixture.totals);
    sorter.allocated(3, &fixture.quantities("cpus:30"), &fixture.totals);
    // Within `a`: `a/b` (0.1) and `a/d` (0.1) tie on share and count, then
    // by name; `a`'s own leaf (0.2) comes last.
    assert_eq!(fixture.order(&mut sorter), [3, 2, 4, 1]);
}

#[test]
fn inactive_clients_are_skipped_but_keep_their_allocation() {
    let fixture = Fixture::new();
    let mut sorter = flat_with(&fixture, &[(1, "a"), (2, "b")]);
    sorter.deactivate(1);
    assert_eq!(fixture.order(&mut sorter), [2]);
    sorter.allocated(1, &fixture.quantities("cpus:50"), &fixture.totals);
    sorter.activate(1, &fixture.totals);
    assert_eq!(fixture.order(&mut sorter), [2, 1]);
    assert_eq!(sorter.share(1, &fixture.totals), Some(0.5));
}

#[test]
fn a_walk_is_not_reordered_by_allocations_made_during_it() {
    let fixture = Fixture::new();
    let mut sorter = flat_with(&fixture, &[(1, "a"), (2, "b"), (3, "c")]);
    let mut walk = sorter.walk(&fixture.totals);
    assert_eq!(sorter.next(&mut walk), Some(1));
    // `a` now has the largest share and sorts last, but is not yielded
    // again; `b` and `c` keep their turn.
    sorter.allocated(1, &fixture.quantities("cpus:90"), &fixture.totals);
    assert_eq!(sorter.next(&mut walk), Some(2));
    sorter.allocated(2, &fixture.quantities("cpus:1"), &fixture.totals);
    assert_eq!(sorter.next(&mut walk), Some(3));
    assert_eq!(sorter.next(&mut walk), None);
    assert_eq!(fixture.order(&mut sorter), [3, 2, 1]);
}

#[test]
fn new_totals_resort_every_client() {
    let mut fixture = Fixture::new();
    let mut sorter = flat_with(&fixture, &[(1, "a"), (2, "b")]);
    sorter.allocated(1, &fixture.quantities("cpus:10"), &fixture.totals);
    sorter.allocated(2, &fixture.quantities("mem:200"), &fixture.totals);
    assert_eq!(fixture.order(&mut sorter), [1, 2]);
    // With ten times the memory, `b` holds only 0.02 of it.
    fixture.totals = Totals {
        quantities: fixture.quantities("cpus:100;mem:10000"),
        generation: 2,
    };
    assert_eq!(fixture.order(&mut sorter), [2, 1]);
}

#[test]
fn removing_clients_prunes_the_tree() {
    let fixture = Fixture::new();
    let mut sorter = DrfSorter::hierarchical();
    for (client, role) in [(1, "a/b/c"), (2, "x")] {
        sorter.add(client, role);
        sorter.activate(client, &fixture.totals);
    }
    sorter.allocated(1, &fixture.quantities("cpus:90"), &fixture.totals);
    sorter.remove(1, &fixture.totals);
    assert_eq!(sorter.share(1, &fixture.totals), None);
    assert_eq!(fixture.order(&mut sorter), [2]);
    // The path can be reused from scratch.
    sorter.add(3, "a");
    sorter.activate(3, &fixture.totals);
    assert_eq!(fixture.order(&mut sorter), [3, 2]);
}
