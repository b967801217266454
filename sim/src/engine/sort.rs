//! Ordering a chunk's inputs for one window: its received datagrams by
//! (target, time) with a stable radix sort (ties keep their merge order,
//! which the trace hash depends on), and its due timers by agent, once each.

use super::CHUNK_AGENTS;
use super::inflight::InFlight;

/// Records below which an insertion sort beats the radix passes.
const RADIX_SORT_RECORDS_MIN: usize = 32;

/// Bits of a chunk-local agent index sorted per radix pass: two passes of
/// 64 buckets cover a chunk, and a 64-entry count table costs nothing next
/// to the records (a single 4,096-entry table cost more than the records of
/// a typical window).
const RADIX_BITS: u32 = 6;
const RADIX_BUCKETS: usize = 1 << RADIX_BITS;
const _: () = assert!(CHUNK_AGENTS <= RADIX_BUCKETS * RADIX_BUCKETS);

/// A target's records beyond which its time order is restored by a merge
/// sort instead of insertion (a flood aimed at one agent must not go
/// quadratic).
const INSERTION_GROUP_MAX: usize = 16;

/// Sorts agent ids of one chunk (starting at `base`) and removes repeats,
/// through a bitmap of the chunk: linear, and the timer lists it is used on
/// are long.
pub(super) fn sort_unique_agents(agents: &mut Vec<u32>, base: u32) {
    const WORD_BITS: usize = 64;
    let mut bits = [0u64; CHUNK_AGENTS / WORD_BITS];
    for agent in agents.iter() {
        let i = (agent - base) as usize;
        bits[i / WORD_BITS] |= 1 << (i % WORD_BITS);
    }
    agents.clear();
    for (w, word) in bits.iter().enumerate() {
        let mut rest = *word;
        while rest != 0 {
            agents.push(base + (w * WORD_BITS) as u32 + rest.trailing_zeros());
            rest &= rest - 1;
        }
    }
}

/// Orders a chunk's records by (target, time), ties in arrival order — the
/// order the merge appended them in, which is itself deterministic. Two
/// stable radix passes over the chunk-local target (linear), then each
/// target's few records into time order.
pub(super) fn sort_records(records: &mut Vec<InFlight>, base: u32) {
    if records.len() < RADIX_SORT_RECORDS_MIN {
        insertion_sort_by(records, |r| (r.target, r.at()));
        return;
    }
    let mut scratch = Vec::with_capacity(records.len());
    radix_pass(records, &mut scratch, |r| {
        (r.target - base) as usize % RADIX_BUCKETS
    });
    records.clear();
    radix_pass(&scratch, records, |r| {
        (r.target - base) as usize / RADIX_BUCKETS
    });
    let mut group_start = 0;
    for i in 1..=records.len() {
        if i == records.len() || records[i].target != records[group_start].target {
            let group = &mut records[group_start..i];
            if group.len() > INSERTION_GROUP_MAX {
                group.sort_by_key(|r| r.at());
            } else {
                insertion_sort_by(group, |r| r.at());
            }
            group_start = i;
        }
    }
}

/// One stable counting-sort pass: appends `from` to `to` ordered by
/// `bucket` (below [`RADIX_BUCKETS`]).
fn radix_pass(from: &[InFlight], to: &mut Vec<InFlight>, bucket: impl Fn(&InFlight) -> usize) {
    let mut next = [0usize; RADIX_BUCKETS];
    for r in from {
        next[bucket(r)] += 1;
    }
    let mut total = 0;
    for slot in next.iter_mut() {
        (*slot, total) = (total, total + *slot);
    }
    let base = to.len();
    to.resize(base + from.len(), InFlight::default());
    for r in from {
        let slot = &mut next[bucket(r)];
        to[base + *slot] = *r;
        *slot += 1;
    }
}

/// A stable insertion sort: linear on the nearly sorted short runs it is
/// used on.
fn insertion_sort_by<K: PartialOrd>(items: &mut [InFlight], key: impl Fn(&InFlight) -> K) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && key(&items[j - 1]) > key(&items[j]) {
            items.swap(j - 1, j);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use colony_core::rng::Rng;

    fn records(n: usize, base: u32, seed: u64) -> Vec<InFlight> {
        let mut rng = Rng::for_agent(seed, 1, 2);
        (0..n)
            .map(|i| {
                // Few distinct times and targets: many ties to keep in order.
                let at = rng.next_u64() % 8;
                let target = base + (rng.next_u64() % CHUNK_AGENTS as u64) as u32;
                InFlight::new(at, target, i as u32, 0, 0)
            })
            .collect()
    }

    #[test]
    fn records_come_out_in_stable_target_then_time_order() {
        let base = 3 * CHUNK_AGENTS as u32;
        for (n, seed) in [
            (10, 1),
            (RADIX_SORT_RECORDS_MIN, 4),
            (3_000, 2),
            (20_000, 3),
        ] {
            let mut sorted = records(n, base, seed);
            let mut expected = sorted.clone();
            expected.sort_by_key(|r| (r.target, r.at()));
            sort_records(&mut sorted, base);
            assert_eq!(sorted, expected, "{n} records");
        }
    }

    #[test]
    fn records_of_a_flooded_target_keep_their_time_order() {
        let base = CHUNK_AGENTS as u32;
        let mut sorted = records(5_000, base, 7);
        for (i, r) in sorted.iter_mut().enumerate() {
            r.target = base + (i % 3) as u32 * 1000;
        }
        let mut expected = sorted.clone();
        expected.sort_by_key(|r| (r.target, r.at()));
        sort_records(&mut sorted, base);
        assert_eq!(sorted, expected);
    }

    #[test]
    fn timers_come_out_sorted_and_once() {
        let base = CHUNK_AGENTS as u32;
        let mut agents = vec![base + 9, base + 3, base + 9, base + 4095, base, base + 3];
        sort_unique_agents(&mut agents, base);
        assert_eq!(agents, [base, base + 3, base + 9, base + 4095]);
    }
}
