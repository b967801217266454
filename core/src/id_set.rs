//! A bounded set of 64-bit message keys that forgets its oldest entry first:
//! the duplicate filter of the hot path.
//!
//! Open addressing with linear probing (one multiply and usually one cache
//! line per lookup) and backward-shift deletion, so no tombstones pile up; an
//! insertion-order ring tells which key to forget when the set is full. Memory
//! grows with use up to the bound: a node that saw one message holds a
//! handful of bytes, which is what lets a million nodes fit.

/// Slots per stored key at most: the table stays at most half full, which
/// keeps linear-probe chains short (expected < 1.5 probes on a hit).
const LOAD_INVERSE: usize = 2;

/// Smallest table allocated once the first key arrives.
const SLOTS_MIN: usize = 4;

/// Keys held inline, before any table is allocated: most nodes of a large
/// run see one or two messages, and an inline key costs no allocation and no
/// pointer chase on the hot path.
const INLINE_KEYS: usize = 2;

/// Key stored in place of 0, which marks an empty slot.
const ZERO_KEY_STANDIN: u64 = 0x8000_0000_0000_0001;

/// A bounded FIFO set of non-cryptographic message keys.
///
/// 32 bytes until it holds more than [`INLINE_KEYS`] keys: the table lives
/// behind one pointer, so the million nodes that never need it do not carry
/// its two vectors inline.
#[derive(Clone, Debug)]
pub struct IdSet {
    /// The first keys, oldest first, while there is no table.
    inline: [u64; INLINE_KEYS],
    table: Option<Box<Table>>,
    capacity: u32,
    inline_len: u8,
}

/// The open-addressing table, once the inline keys spilled.
#[derive(Clone, Debug)]
struct Table {
    slots: Vec<u64>,
    /// Keys in insertion order, as a ring once full.
    order: Vec<u64>,
    /// Index in `order` of the oldest key, once the ring is full.
    head: u32,
}

#[inline]
fn normalise(key: u64) -> u64 {
    if key == 0 { ZERO_KEY_STANDIN } else { key }
}

impl IdSet {
    /// An empty set that remembers at most `capacity` keys.
    pub fn with_capacity(capacity: u32) -> Self {
        IdSet {
            inline: [0; INLINE_KEYS],
            table: None,
            capacity,
            inline_len: 0,
        }
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.table
            .as_ref()
            .map_or(usize::from(self.inline_len), |t| t.order.len())
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys it holds before forgetting the oldest.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Whether `key` is held.
    #[inline]
    pub fn contains(&self, key: u64) -> bool {
        let key = normalise(key);
        match &self.table {
            None => self.inline[..usize::from(self.inline_len)].contains(&key),
            Some(table) => table.contains(key),
        }
    }

    /// Adds `key`; returns `false` (and changes nothing) when it was held.
    /// At capacity, the oldest key is forgotten first.
    pub fn insert(&mut self, key: u64) -> bool {
        self.insert_forgetting(key).0
    }

    /// [`IdSet::insert`], also returning the key forgotten to make room,
    /// if any (callers that must know what the set no longer vouches for).
    pub fn insert_forgetting(&mut self, key: u64) -> (bool, Option<u64>) {
        if self.capacity == 0 {
            return (true, None);
        }
        let key = normalise(key);
        if self.contains(key) {
            return (false, None);
        }
        let table = match &mut self.table {
            Some(table) => table,
            None => {
                let len = usize::from(self.inline_len);
                if len < INLINE_KEYS.min(self.capacity as usize) {
                    self.inline[len] = key;
                    self.inline_len += 1;
                    return (true, None);
                }
                if self.capacity as usize <= INLINE_KEYS {
                    // Full at an inline-sized capacity: forget the oldest.
                    let oldest = self.inline[0];
                    self.inline.copy_within(1..len, 0);
                    self.inline[len - 1] = key;
                    return (true, Some(oldest));
                }
                // Spill the inline keys into the table.
                self.inline_len = 0;
                self.table.insert(Box::new(Table {
                    slots: Vec::new(),
                    order: self.inline[..len].to_vec(),
                    head: 0,
                }))
            }
        };
        (true, table.insert(key, self.capacity))
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.table.as_ref().map_or(0, |t| {
            size_of::<Table>() + (t.slots.capacity() + t.order.capacity()) * size_of::<u64>()
        })
    }
}

impl Table {
    #[inline]
    fn home(&self, key: u64) -> usize {
        // Keys are already well-mixed hashes: the top bits index the table.
        let mask = self.slots.len() - 1;
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
    }

    #[inline]
    fn contains(&self, key: u64) -> bool {
        if self.slots.is_empty() {
            return false; // the spilled keys are placed by the first insert
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            match self.slots[i] {
                0 => return false,
                k if k == key => return true,
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Adds a key known to be absent, forgetting the oldest at `capacity`;
    /// returns the key forgotten.
    fn insert(&mut self, key: u64, capacity: u32) -> Option<u64> {
        let mut forgotten = None;
        if self.order.len() == capacity as usize {
            let oldest = self.order[self.head as usize];
            self.remove_slot(oldest);
            self.order[self.head as usize] = key;
            self.head = (self.head + 1) % capacity;
            forgotten = Some(oldest);
        } else {
            crate::grow::push_tight(&mut self.order, key);
            if self.order.len() * LOAD_INVERSE > self.slots.len() {
                self.grow();
            }
        }
        self.place(key);
        forgotten
    }

    fn place(&mut self, key: u64) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = key;
    }

    fn grow(&mut self) {
        let wanted = (self.order.len() * LOAD_INVERSE)
            .next_power_of_two()
            .max(SLOTS_MIN);
        self.slots = vec![0; wanted];
        let keys = std::mem::take(&mut self.order);
        // The newest key is placed by the caller.
        for &key in &keys[..keys.len() - 1] {
            self.place(key);
        }
        self.order = keys;
    }

    fn remove_slot(&mut self, key: u64) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        while self.slots[i] != key {
            debug_assert!(self.slots[i] != 0, "a key in the ring is in the table");
            i = (i + 1) & mask;
        }
        // Backward-shift deletion: pull later members of the probe chain into
        // the hole while that keeps them reachable from their home slot.
        let mut hole = i;
        let mut j = (i + 1) & mask;
        while self.slots[j] != 0 {
            let home = self.home(self.slots[j]);
            let distance_to_home = j.wrapping_sub(home) & mask;
            let distance_to_hole = j.wrapping_sub(hole) & mask;
            if distance_to_home >= distance_to_hole {
                self.slots[hole] = self.slots[j];
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.slots[hole] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[test]
    fn the_oldest_key_is_forgotten_first() {
        let mut set = IdSet::with_capacity(3);
        for key in 1..=3 {
            assert!(set.insert(key));
        }
        assert!(!set.insert(2));
        assert!(set.insert(4));
        assert!(!set.contains(1));
        assert!(set.contains(2) && set.contains(3) && set.contains(4));
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn a_set_without_a_table_is_small_and_holds_no_heap() {
        let mut set = IdSet::with_capacity(64);
        set.insert(1);
        set.insert(2);
        assert!(size_of::<IdSet>() <= 32, "{} bytes", size_of::<IdSet>());
        assert_eq!(set.heap_bytes(), 0);
        set.insert(3);
        assert!(set.heap_bytes() > 0, "the third key spills into a table");
        assert!(set.contains(1) && set.contains(2) && set.contains(3));
    }

    #[test]
    fn the_forgotten_key_is_returned_inline_and_in_the_table() {
        let mut small = IdSet::with_capacity(2);
        assert_eq!(small.insert_forgetting(5), (true, None));
        assert_eq!(small.insert_forgetting(6), (true, None));
        assert_eq!(small.insert_forgetting(6), (false, None));
        assert_eq!(small.insert_forgetting(7), (true, Some(5)));
        let mut large = IdSet::with_capacity(3);
        for key in 1..=3 {
            assert_eq!(large.insert_forgetting(key), (true, None));
        }
        assert_eq!(large.insert_forgetting(4), (true, Some(1)));
        assert_eq!(large.insert_forgetting(5), (true, Some(2)));
    }

    #[test]
    fn zero_is_a_valid_key() {
        let mut set = IdSet::with_capacity(2);
        assert!(set.insert(0));
        assert!(set.contains(0));
        assert!(!set.insert(0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn it_behaves_like_a_bounded_fifo_set(
            capacity in 1u32..40,
            keys in prop::collection::vec(0u64..64, 0..400),
        ) {
            let mut set = IdSet::with_capacity(capacity);
            let mut model: VecDeque<u64> = VecDeque::new();
            for key in keys {
                // Small keys collide in the table: exercise probe chains.
                let key = key.wrapping_mul(0x1_0000_0001) >> (key % 3);
                let fresh = !model.contains(&key);
                prop_assert_eq!(set.insert(key), fresh);
                if fresh {
                    if model.len() == capacity as usize {
                        model.pop_front();
                    }
                    model.push_back(key);
                }
                prop_assert_eq!(set.len(), model.len());
                for k in &model {
                    prop_assert!(set.contains(*k));
                }
            }
        }
    }
}
