//! Dense indices for the allocator's records, and the slab that holds them.
//!
//! The allocation loop touches frameworks, agents and roles millions of times
//! a cycle at scale. Hashing their string ids there would dominate the cost,
//! so each record gets a small integer index when it is added; maps keyed by
//! an index use [`IndexHasher`], which costs one multiplication.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Declares one index newtype, so the three kinds cannot be mixed up.
macro_rules! index_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) struct $name(pub(crate) u32);

        impl From<usize> for $name {
            fn from(slot: usize) -> Self {
                // A slab never holds more than `u32::MAX` records: four
                // billion agents or frameworks would not fit in memory anyway.
                Self(u32::try_from(slot).expect("slab index fits in u32"))
            }
        }

        impl From<$name> for usize {
            fn from(index: $name) -> usize {
                index.0 as usize
            }
        }
    };
}

index_type!(
    /// A framework's slot in the allocator.
    FrameworkIdx
);
index_type!(
    /// An agent's slot in the allocator.
    AgentIdx
);
index_type!(
    /// A role's slot in the role tree.
    RoleIdx
);

/// A hasher for small integer keys: one multiply by an odd constant, which
/// spreads consecutive indices over the table. Not for untrusted keys.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IndexHasher(u64);

impl Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

/// A map keyed by an index.
pub(crate) type IndexMap<K, V> = HashMap<K, V, BuildHasherDefault<IndexHasher>>;

/// A set of indices.
pub(crate) type IndexSet<K> = HashSet<K, BuildHasherDefault<IndexHasher>>;

/// Records in reusable slots. Iteration is in slot order, which depends only
/// on the order of insertions and removals, never on a hash seed: that keeps
/// the allocator deterministic under a fixed seed.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Stores `value` in a free slot and returns the slot.
    pub(crate) fn insert(&mut self, value: T) -> usize {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(value);
                slot
            }
            None => {
                self.slots.push(Some(value));
                self.slots.len() - 1
            }
        }
    }

    /// Takes the value out of `slot`, freeing it for reuse.
    pub(crate) fn remove(&mut self, slot: usize) -> Option<T> {
        let value = self.slots.get_mut(slot)?.take();
        if value.is_some() {
            self.free.push(slot);
        }
        value
    }

    pub(crate) fn get(&self, slot: usize) -> Option<&T> {
        self.slots.get(slot)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, slot: usize) -> Option<&mut T> {
        self.slots.get_mut(slot)?.as_mut()
    }

    /// The occupied slots and their values, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(slot, value)| Some((slot, value.as_ref()?)))
    }

    /// The occupied slots' values, mutably, in slot order.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().filter_map(Option::as_mut)
    }
}

impl<T> std::ops::Index<usize> for Slab<T> {
    type Output = T;

    fn index(&self, slot: usize) -> &T {
        self.get(slot).expect("slab slot is occupied")
    }
}

impl<T> std::ops::IndexMut<usize> for Slab<T> {
    fn index_mut(&mut self, slot: usize) -> &mut T {
        self.get_mut(slot).expect("slab slot is occupied")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused_and_iteration_follows_slot_order() {
        let mut slab = Slab::default();
        let a = slab.insert("a");
        let b = slab.insert("b");
        assert_eq!(slab.remove(a), Some("a"));
        assert_eq!(slab.remove(a), None);
        let c = slab.insert("c");
        assert_eq!(c, a);
        let order: Vec<_> = slab.iter().map(|(_, v)| *v).collect();
        assert_eq!(order, ["c", "b"]);
        assert_eq!(slab[b], "b");
    }

    #[test]
    fn index_maps_hash_consecutive_keys_apart() {
        let mut map: IndexMap<AgentIdx, u32> = IndexMap::default();
        for i in 0..1000 {
            map.insert(AgentIdx(i), i);
        }
        assert_eq!(map.get(&AgentIdx(999)), Some(&999));
        let mut hasher = IndexHasher::default();
        hasher.write_u32(1);
        let one = hasher.finish();
        let mut hasher = IndexHasher::default();
        hasher.write_u32(2);
        assert_ne!(one, hasher.finish());
    }
}
