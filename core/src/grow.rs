//! Growth policy for the small per-node vectors.
//!
//! `Vec::push` on an empty vector reserves four slots at once. Most of a
//! million-agent run's nodes hold one or two entries per table, so three
//! spare slots per table per node would cost more than the entries. Tables
//! pushed through [`push_tight`] grow one slot at a time while small, then
//! double as usual so a busy node still pushes in amortised O(1).

/// Capacity below which a vector grows one slot at a time.
const TIGHT_CAPACITY_MAX: usize = 8;

/// Pushes `item`, growing the capacity by one while it is below
/// [`TIGHT_CAPACITY_MAX`] and by doubling after.
#[inline]
pub(crate) fn push_tight<T>(items: &mut Vec<T>, item: T) {
    if items.len() == items.capacity() {
        let extra = if items.capacity() < TIGHT_CAPACITY_MAX {
            1
        } else {
            items.capacity()
        };
        items.reserve_exact(extra);
    }
    items.push(item);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_vectors_grow_one_slot_at_a_time_then_double() {
        let mut items = Vec::new();
        for i in 0..TIGHT_CAPACITY_MAX {
            push_tight(&mut items, i);
            assert_eq!(items.capacity(), i + 1);
        }
        push_tight(&mut items, 99);
        assert!(items.capacity() >= 2 * TIGHT_CAPACITY_MAX);
    }
}
