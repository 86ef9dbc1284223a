//! The dominant resource fairness sorter (Mesos `DRFSorter`).
//!
//! A client's share is its largest fraction of any scalar kind of the
//! cluster, divided by its weight. Clients are ordered by share, then by how
//! many allocations they have had (so equal shares take turns), then by name.
//!
//! A hierarchical sorter keeps a tree of role paths. Client `eng` becomes the
//! internal node `eng` holding a leaf `eng/.` for the role's own allocation,
//! beside leaves for subroles (`eng/web/.` under `eng/web`). Siblings are
//! ordered by the share of their whole subtree, level by level. A flat
//! sorter (frameworks within a role) puts every client right under the root.
//!
//! Each internal node keeps its active children in a `BTreeSet` ordered by
//! their sort key, and an allocation repositions only the nodes on the path
//! from the client to the root: nothing is re-sorted wholesale unless the
//! cluster totals change. An iteration ([`Walk`]) resumes from the key it
//! last yielded, so a cycle over N agents costs N·log(clients), not N·clients.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::ops::Bound;
use std::sync::Arc;

use super::{Sorter, Totals};
use crate::allocator::index::{IndexMap, Slab};
use crate::allocator::quantities::Quantities;

/// The root's slot: it is inserted first and never removed.
const ROOT: usize = 0;

/// The name of the leaf that holds a role's own allocation below the role's
/// internal node, as in Mesos.
const OWN_LEAF: &str = ".";

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A client that takes part in iterations.
    ActiveLeaf,
    /// A client kept out of iterations.
    InactiveLeaf,
    /// A path element: the root or a role with clients below it.
    Internal,
}

/// A node's place among its siblings.
#[derive(Clone, Debug)]
struct SortKey {
    share: f64,
    count: u64,
    path: Arc<str>,
    node: usize,
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.share
            .total_cmp(&other.share)
            .then(self.count.cmp(&other.count))
            .then_with(|| self.path.cmp(&other.path))
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortKey {}

#[derive(Debug)]
struct Node<K> {
    path: Arc<str>,
    kind: Kind,
    parent: usize,
    client: Option<K>,
    /// Active leaves and internal children, in order.
    children: BTreeSet<SortKey>,
    /// All children, inactive leaves included.
    child_count: usize,
    allocation: Quantities,
    count: u64,
    weight: f64,
    /// The key under which this node sits in its parent's `children`, if it
    /// sits there.
    key: Option<SortKey>,
    /// The last iteration that yielded or entered this node.
    visited: u64,
}

impl<K> Node<K> {
    fn new(path: Arc<str>, kind: Kind, parent: usize, weight: f64) -> Self {
        Self {
            path,
            kind,
            parent,
            client: None,
            children: BTreeSet::new(),
            child_count: 0,
            allocation: Quantities::default(),
            count: 0,
            weight,
            key: None,
            visited: 0,
        }
    }
}

/// A position in an iteration: one frame per internal node being visited,
/// with the key of the child last taken from it.
#[derive(Debug)]
pub(crate) struct Walk {
    epoch: u64,
    stack: Vec<(usize, Option<SortKey>)>,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct DrfSorter<K> {
    hierarchical: bool,
    nodes: Slab<Node<K>>,
    clients: IndexMap<K, usize>,
    paths: HashMap<Arc<str>, usize>,
    weights: HashMap<String, f64>,
    epoch: u64,
    /// The totals generation the keys were computed with; `None` when they
    /// must be recomputed before the next iteration.
    generation: Option<u64>,
}

impl<K: Copy + Eq + Hash> DrfSorter<K> {
    /// A sorter whose client names are `/`-separated role paths.
    pub(crate) fn hierarchical() -> Self {
        Self::new(true)
    }

    /// A sorter whose clients are all siblings, whatever their names.
    pub(crate) fn flat() -> Self {
        Self::new(false)
    }

    fn new(hierarchical: bool) -> Self {
        let mut nodes = Slab::default();
        nodes.insert(Node::new(Arc::from(""), Kind::Internal, ROOT, 1.0));
        Self {
            hierarchical,
            nodes,
            clients: IndexMap::default(),
            paths: HashMap::new(),
            weights: HashMap::new(),
            epoch: 0,
            generation: None,
        }
    }

    fn weight_of(&self, path: &str) -> f64 {
        self.weights.get(path).copied().unwrap_or(1.0)
    }

    /// The internal node for `path`, created with its ancestors if missing.
    fn ensure_internal(&mut self, path: &str) -> usize {
        let mut current = ROOT;
        let mut end = 0;
        for segment in path.split('/') {
            end += segment.len();
            let prefix = &path[..end];
            end += 1;
            current = match self.paths.get(prefix) {
                Some(&node) => node,
                None => self.insert_node(prefix, Kind::Internal, current),
            };
        }
        current
    }

    /// Inserts a node under `parent`. New nodes hold no allocation, so an
    /// internal one can take its place among its siblings at share zero.
    fn insert_node(&mut self, path: &str, kind: Kind, parent: usize) -> usize {
        let path: Arc<str> = Arc::from(path);
        let node = Node::new(path.clone(), kind, parent, self.weight_of(&path));
        let slot = self.nodes.insert(node);
        self.paths.insert(path.clone(), slot);
        self.nodes[parent].child_count += 1;
        if kind == Kind::Internal {
            let key = SortKey {
                share: 0.0,
                count: 0,
                path,
                node: slot,
            };
            self.nodes[parent].children.insert(key.clone());
            self.nodes[slot].key = Some(key);
        }
        slot
    }

    /// Marks the keys stale if the totals moved; returns whether they are
    /// still valid.
    fn sync(&mut self, totals: &Totals) -> bool {
        if self.generation != Some(totals.generation) {
            self.generation = None;
        }
        self.generation.is_some()
    }

    fn sort_key(&self, slot: usize, totals: &Totals) -> SortKey {
        let node = &self.nodes[slot];
        SortKey {
            share: totals.dominant_share(&node.allocation) / node.weight,
            count: node.count,
            path: node.path.clone(),
            node: slot,
        }
    }

    /// Moves a node to its new place among its siblings, if it has one.
    fn reposition(&mut self, slot: usize, totals: &Totals) {
        let Some(old) = self.nodes[slot].key.take() else {
            return;
        };
        let parent = self.nodes[slot].parent;
        self.nodes[parent].children.remove(&old);
        let key = self.sort_key(slot, totals);
        self.nodes[parent].children.insert(key.clone());
        self.nodes[slot].key = Some(key);
    }

    /// Recomputes every key against `totals` and refills every node's
    /// children.
    fn rebuild(&mut self, totals: &Totals) {
        let placed: Vec<usize> = self
            .nodes
            .iter()
            .filter(|(_, node)| node.key.is_some())
            .map(|(slot, _)| slot)
            .collect();
        for node in self.nodes.values_mut() {
            node.children.clear();
        }
        for slot in placed {
            let key = self.sort_key(slot, totals);
            let parent = self.nodes[slot].parent;
            self.nodes[parent].children.insert(key.clone());
            self.nodes[slot].key = Some(key);
        }
        self.generation = Some(totals.generation);
    }

    /// Applies `change` to a leaf and each of its ancestors below the root,
    /// keeping them in order when the keys are valid.
    fn update_path(&mut self, leaf: usize, totals: &Totals, change: impl Fn(&mut Node<K>)) {
        let valid = self.sync(totals);
        let mut slot = leaf;
        while slot != ROOT {
            change(&mut self.nodes[slot]);
            if valid {
                self.reposition(slot, totals);
            }
            slot = self.nodes[slot].parent;
        }
    }

    /// Detaches and frees a node, returning its parent.
    fn remove_node(&mut self, slot: usize) -> usize {
        let node = self.nodes.remove(slot).expect("removed node exists");
        let parent = &mut self.nodes[node.parent];
        if let Some(key) = &node.key {
            parent.children.remove(key);
        }
        parent.child_count -= 1;
        self.paths.remove(&node.path);
        node.parent
    }
}

impl<K: Copy + Eq + Hash> Sorter<K> for DrfSorter<K> {
    type Walk = Walk;

    fn add(&mut self, client: K, name: &str) {
        if self.clients.contains_key(&client) {
            return;
        }
        let slot = if self.hierarchical {
            let parent = self.ensure_internal(name);
            self.insert_node(&format!("{name}/{OWN_LEAF}"), Kind::InactiveLeaf, parent)
        } else {
            self.insert_node(name, Kind::InactiveLeaf, ROOT)
        };
        self.nodes[slot].client = Some(client);
        self.clients.insert(client, slot);
    }

    fn remove(&mut self, client: K, totals: &Totals) {
        let Some(leaf) = self.clients.remove(&client) else {
            return;
        };
        let allocation = self.nodes[leaf].allocation.clone();
        let valid = self.sync(totals);
        let mut slot = self.remove_node(leaf);
        while slot != ROOT {
            let node = &mut self.nodes[slot];
            node.allocation -= &allocation;
            let parent = node.parent;
            if node.child_count == 0 {
                self.remove_node(slot);
            } else if valid {
                self.reposition(slot, totals);
            }
            slot = parent;
        }
    }

    fn activate(&mut self, client: K, totals: &Totals) {
        let Some(&slot) = self.clients.get(&client) else {
            return;
        };
        if self.nodes[slot].kind != Kind::InactiveLeaf {
            return;
        }
        self.nodes[slot].kind = Kind::ActiveLeaf;
        // A stale key is fixed by the rebuild that stale totals trigger.
        let key = self.sort_key(slot, totals);
        let parent = self.nodes[slot].parent;
        self.nodes[parent].children.insert(key.clone());
        self.nodes[slot].key = Some(key);
    }

    fn deactivate(&mut self, client: K) {
        let Some(&slot) = self.clients.get(&client) else {
            return;
        };
        if self.nodes[slot].kind != Kind::ActiveLeaf {
            return;
        }
        self.nodes[slot].kind = Kind::InactiveLeaf;
        if let Some(key) = self.nodes[slot].key.take() {
            let parent = self.nodes[slot].parent;
            self.nodes[parent].children.remove(&key);
        }
    }

    fn update_weight(&mut self, path: &str, weight: f64, totals: &Totals) {
        self.weights.insert(path.to_owned(), weight);
        if let Some(&slot) = self.paths.get(path) {
            self.nodes[slot].weight = weight;
            if self.sync(totals) {
                self.reposition(slot, totals);
            }
        }
    }

    fn allocated(&mut self, client: K, quantities: &Quantities, totals: &Totals) {
        if let Some(&leaf) = self.clients.get(&client) {
            self.update_path(leaf, totals, |node| {
                node.allocation += quantities;
                node.count += 1;
            });
        }
    }

    fn unallocated(&mut self, client: K, quantities: &Quantities, totals: &Totals) {
        if let Some(&leaf) = self.clients.get(&client) {
            self.update_path(leaf, totals, |node| node.allocation -= quantities);
        }
    }

    fn share(&self, client: K, totals: &Totals) -> Option<f64> {
        let &slot = self.clients.get(&client)?;
        let node = &self.nodes[slot];
        // The leaf of a hierarchical client has weight one; the client's
        // weight sits on its internal node.
        let weight = if self.hierarchical {
            self.nodes[node.parent].weight
        } else {
            node.weight
        };
        Some(totals.dominant_share(&node.allocation) / weight)
    }

    fn walk(&mut self, totals: &Totals) -> Walk {
        if !self.sync(totals) {
            self.rebuild(totals);
        }
        self.epoch += 1;
        Walk {
            epoch: self.epoch,
            stack: vec![(ROOT, None)],
        }
    }

    fn next(&mut self, walk: &mut Walk) -> Option<K> {
        loop {
            let (parent, cursor) = walk.stack.last_mut()?;
            let children = &self.nodes[*parent].children;
            let mut after = match cursor {
                Some(key) => children.range((Bound::Excluded(&*key), Bound::Unbounded)),
                None => children.range::<SortKey, _>(..),
            };
            // A node already taken in this walk reappears further on when an
            // allocation raised its share: skip it.
            let found = after
                .find(|key| self.nodes[key.node].visited != walk.epoch)
                .cloned();
            let Some(key) = found else {
                walk.stack.pop();
                continue;
            };
            let slot = key.node;
            *cursor = Some(key);
            let node = &mut self.nodes[slot];
            node.visited = walk.epoch;
            match node.kind {
                Kind::ActiveLeaf => return node.client,
                Kind::Internal => walk.stack.push((slot, None)),
                Kind::InactiveLeaf => {}
            }
        }
    }
}

#[cfg(test)]
mod tests;
