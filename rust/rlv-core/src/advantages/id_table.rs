//! Numbering of sparse 64-bit group ids by first occurrence: an open-addressing hash table
//! (linear probing, load factor at most 1/4, grown by doubling) whose probes are prefetched.
//!
//! Why not `std::collections::HashMap`: with shuffled ids every lookup is a cache miss, and
//! the standard map offers no way to ask for the next lookups' memory early. Here the home
//! slot of the id [`DISTANCE`] places ahead is prefetched while the current one is looked up,
//! so many misses are in flight at once. Measured on the 2-vCPU VM (1M samples, 125k random
//! 64-bit ids, shuffled, median of 15): std map with the same hash 15-17 ms, this table at
//! load 1/2 9.6-10.0 ms, at load 1/4 6.8-7.2 ms.
//!
//! The hash is splitmix64's finaliser, a bijection in which every output bit depends on every
//! input bit, so ids that share low bits (multiples of a power of two, pointers, timestamps)
//! still spread over the table. It is not keyed: ids chosen to collide could make probing
//! quadratic, so this table is for ids a training script makes, not for an adversary's.
//! The numbering itself never depends on the hash, only the speed does.

use super::prefetch::{prefetch, DISTANCE};

/// One table slot: an id and its group number, valid only if `epoch` is the table's current
/// epoch (so emptying the table is one increment, not a write of every slot).
#[derive(Clone, Copy, Debug)]
struct Entry {
    id: i64,
    group: u32,
    epoch: u32,
}

/// An entry of no epoch (the current epoch is never 0).
const STALE: Entry = Entry {
    id: 0,
    group: 0,
    epoch: 0,
};

/// Smallest table (slots).
const MIN_SLOTS: usize = 16;

#[inline(always)]
fn hash(id: i64) -> u64 {
    // Reinterpret the bits; the sign carries no meaning for a hash.
    #[allow(clippy::cast_sign_loss)]
    let mut z = (id as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Home slot of `id` in a table of `mask + 1` slots.
#[inline(always)]
fn home(id: i64, mask: usize) -> usize {
    // Only the low bits are kept (the mask is below the table length, a usize).
    #[allow(clippy::cast_possible_truncation)]
    let h = hash(id) as usize;
    h & mask
}

/// The table. Its memory is kept between calls (see `Workspace` of the estimators).
#[derive(Debug, Default)]
pub(crate) struct IdTable {
    slots: Vec<Entry>,
    /// Entries of this epoch are in use; the others are empty.
    epoch: u32,
}

impl IdTable {
    /// Bytes reserved.
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Entry>()
    }

    /// Empty the table and give it at least `slots` slots (rounded up to a power of two).
    /// A table of the same size is emptied by starting a new epoch; writing every slot costs
    /// more than a tenth of the numbering on a 1M-sample batch.
    fn reset(&mut self, slots: usize) {
        let len = slots.max(MIN_SLOTS).next_power_of_two();
        self.epoch = self.epoch.wrapping_add(1);
        if self.slots.len() != len || self.epoch == 0 {
            self.slots.clear();
            self.slots.resize(len, STALE);
            self.epoch = 1;
        }
    }

    /// Double the table and re-insert every entry (they keep their group numbers).
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let epoch = self.epoch;
        self.reset(old.len() * 2);
        let mask = self.slots.len() - 1;
        for e in old.into_iter().filter(|e| e.epoch == epoch) {
            let mut pos = home(e.id, mask);
            while self.slots[pos].epoch == self.epoch {
                pos = (pos + 1) & mask;
            }
            self.slots[pos] = Entry {
                epoch: self.epoch,
                ..e
            };
        }
    }

    /// Look `id` up (its slot search starting at `pos`), inserting it as group `*next` if
    /// absent (then `*next` is incremented, and the table grows as needed). Returns its group.
    #[inline(always)]
    fn find_or_insert(&mut self, id: i64, mut pos: usize, next: &mut u32) -> u32 {
        let mask = self.slots.len() - 1;
        loop {
            let e = self.slots[pos];
            if e.epoch != self.epoch {
                let g = *next;
                self.slots[pos] = Entry {
                    id,
                    group: g,
                    epoch: self.epoch,
                };
                *next += 1;
                // Keep the load factor at most 1/4: each extra probe is a mispredicted
                // branch, and at 1/2 they cost 40 % more time than at 1/4 (measured).
                if *next as usize * 4 > self.slots.len() {
                    self.grow();
                }
                return g;
            }
            if e.id == id {
                return e.group;
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Number `ids` into `index` (replaced), groups `0, 1, ...` by first occurrence; returns
    /// the number of groups. `ids.len()` must be at most `u32::MAX` (callers check).
    pub(crate) fn number(&mut self, ids: &[i64], index: &mut Vec<u32>) -> usize {
        // Half the samples: groups of 8 or more fit without growing; 8 bytes per sample, as
        // much as the ids themselves.
        self.reset(ids.len() / 2);
        index.clear();
        index.reserve(ids.len());
        let mut next: u32 = 0;
        for (i, &id) in ids.iter().enumerate() {
            // Read each time: the table may have grown.
            let mask = self.slots.len() - 1;
            if let Some(&ahead) = ids.get(i + DISTANCE) {
                prefetch(&self.slots, home(ahead, mask));
            }
            index.push(self.find_or_insert(id, home(id, mask), &mut next));
        }
        next as usize
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::IdTable;

    /// Reference numbering by first occurrence.
    fn reference(ids: &[i64]) -> (Vec<u32>, usize) {
        let mut map = HashMap::new();
        let index = ids
            .iter()
            .map(|id| {
                let next = u32::try_from(map.len()).unwrap();
                *map.entry(*id).or_insert(next)
            })
            .collect();
        (index, map.len())
    }

    fn number(table: &mut IdTable, ids: &[i64]) -> (Vec<u32>, usize) {
        let mut index = Vec::new();
        let n = table.number(ids, &mut index);
        (index, n)
    }

    #[test]
    fn numbers_by_first_occurrence() {
        let ids = [i64::MAX, -5, i64::MIN, -5, 0, i64::MAX, 1 << 40, 0];
        assert_eq!(
            number(&mut IdTable::default(), &ids),
            (vec![0, 1, 2, 1, 3, 0, 4, 3], 5)
        );
        assert_eq!(number(&mut IdTable::default(), &[]), (vec![], 0));
    }

    #[test]
    fn grows_past_the_initial_size() {
        // All distinct: the table starts at 16 slots and must double many times.
        let ids: Vec<i64> = (0..5000).map(|i| i * (1 << 33) - 7).collect();
        let mut table = IdTable::default();
        assert_eq!(number(&mut table, &ids), reference(&ids));
        // Reused after growing: nothing of the previous call leaks into the next.
        let ids2 = [3, 3, -1, 3];
        assert_eq!(number(&mut table, &ids2), (vec![0, 0, 1, 0], 2));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn matches_reference(
            ids in prop::collection::vec(
                prop_oneof![any::<i64>(), -20i64..20, (0i64..50).prop_map(|x| x << 40)],
                0..600,
            ),
        ) {
            let mut table = IdTable::default();
            prop_assert_eq!(number(&mut table, &ids), reference(&ids));
            // Reuse gives the same result, also after other ids of the same count (same
            // table size: emptied by a new epoch, not rewritten).
            prop_assert_eq!(number(&mut table, &ids), reference(&ids));
            let other: Vec<i64> = ids.iter().rev().map(|x| x.wrapping_mul(3) ^ 5).collect();
            prop_assert_eq!(number(&mut table, &other), reference(&other));
            prop_assert_eq!(number(&mut table, &ids), reference(&ids));
        }
    }
}
