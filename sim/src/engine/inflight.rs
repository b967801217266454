//! Datagrams in flight: fixed-size records in per-window buckets, each bucket
//! split by destination chunk. Windows are aligned on multiples of the
//! smallest link latency, so a datagram sent in window k always lands in
//! window k+1 or later.
//!
//! The bytes are never copied between sender and receiver: each source
//! chunk's send arena is shared (reference-counted) by every bucket that
//! holds one of its datagrams, and a record names its arena. Adding a
//! window's sends is parallel over destination chunks: every source chunk
//! first groups its sends by (window, destination chunk) with a counting
//! sort, then each destination chunk copies its records from every source,
//! in source-chunk order — the same order whatever the thread count.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;

use super::CHUNK_AGENTS;

/// One datagram on its way: 28 bytes (a million agents keep about one each
/// in flight, and the merge copies them twice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct InFlight {
    /// Delivery time, virtual nanoseconds, as two halves: the record keeps
    /// an alignment of 4.
    at_high: u32,
    at_low: u32,
    /// Receiving agent.
    pub(crate) target: u32,
    /// Sending agent.
    pub(crate) source: u32,
    /// Offset of the bytes in the arena that holds them.
    pub(crate) start: u32,
    /// Length of the bytes.
    pub(crate) len: u32,
    /// Index of that arena in the bucket's [`Bucket::arenas`] (zero until
    /// the datagram is filed into a bucket).
    pub(crate) arena: u32,
}

impl InFlight {
    /// A datagram of `len` bytes at `start` in its source chunk's arena.
    pub(crate) fn new(at: u64, target: u32, source: u32, start: u32, len: u32) -> Self {
        InFlight {
            at_high: (at >> 32) as u32,
            at_low: at as u32,
            target,
            source,
            start,
            len,
            arena: 0,
        }
    }

    /// Delivery time, virtual nanoseconds.
    #[inline]
    pub(crate) fn at(&self) -> u64 {
        (u64::from(self.at_high) << 32) | u64::from(self.at_low)
    }
}

/// A source chunk's send bytes, shared by every bucket holding one of them.
pub(crate) type Arena = Arc<Vec<u8>>;

/// The bytes of `record`, in the arenas of its bucket.
pub(crate) fn bytes_of<'a>(arenas: &'a [Arena], record: &InFlight) -> &'a [u8] {
    &arenas[record.arena as usize][record.start as usize..(record.start + record.len) as usize]
}

/// The datagrams due in one window: records per destination chunk, and the
/// arenas their bytes are in.
#[derive(Debug, Default)]
pub(crate) struct Bucket {
    pub(crate) per_chunk: Vec<Vec<InFlight>>,
    pub(crate) arenas: Vec<Arena>,
}

/// The records of one source chunk bound for one (window, destination chunk).
struct Group {
    window: u64,
    chunk: u32,
    records: Range<usize>,
}

/// One source chunk's sends, grouped by (window, destination chunk), in
/// that order; within a group, in the order they were sent.
pub(crate) struct SortedSends {
    records: Vec<InFlight>,
    groups: Vec<Group>,
    bytes: Arena,
}

/// Keys of the counting sort per record: above this many per record (a
/// long-tailed latency spreading sends over many windows), a comparison sort
/// is cheaper than zeroing and scanning the count table.
const COUNTING_KEYS_PER_RECORD_MAX: u64 = 4;

/// Keys a counting sort may always use, however few the records: a
/// window or two of every chunk of a million agents.
const COUNTING_KEYS_MIN: u64 = 1024;

impl SortedSends {
    /// Groups `records` (whose bytes are in `bytes`) by window and
    /// destination chunk, keeping their order within each group (stable).
    pub(crate) fn new(records: Vec<InFlight>, bytes: Vec<u8>, window_ns: u64) -> Self {
        let chunk_of = |r: &InFlight| r.target / CHUNK_AGENTS as u32;
        let (mut first, mut last) = (u64::MAX, 0);
        let mut chunks = 0;
        for r in &records {
            first = first.min(r.at() / window_ns);
            last = last.max(r.at() / window_ns);
            chunks = chunks.max(chunk_of(r) + 1);
        }
        let mut groups = Vec::new();
        if records.is_empty() {
            return SortedSends {
                records,
                groups,
                bytes: Arc::new(bytes),
            };
        }
        let keys = (last - first + 1).saturating_mul(u64::from(chunks));
        let counting =
            keys <= (records.len() as u64 * COUNTING_KEYS_PER_RECORD_MAX).max(COUNTING_KEYS_MIN);
        let records = if counting {
            counting_sort(&records, &mut groups, (first, keys), chunks, window_ns)
        } else {
            comparison_sort(records, &mut groups, window_ns)
        };
        SortedSends {
            records,
            groups,
            bytes: Arc::new(bytes),
        }
    }
}

/// Counting sort of `records` by (window - `first`, chunk) over `keys`
/// keys; each non-empty key becomes a group.
#[inline]
fn counting_sort(
    records: &[InFlight],
    groups: &mut Vec<Group>,
    (first, keys): (u64, u64),
    chunks: u32,
    window_ns: u64,
) -> Vec<InFlight> {
    let chunk_of = |r: &InFlight| r.target / CHUNK_AGENTS as u32;
    let key = |r: &InFlight| {
        ((r.at() / window_ns - first) * u64::from(chunks)) as usize + chunk_of(r) as usize
    };
    let mut starts = vec![0usize; keys as usize + 1];
    for r in records {
        starts[key(r) + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    for (k, bounds) in starts.windows(2).enumerate() {
        if bounds[0] < bounds[1] {
            let k = k as u64;
            groups.push(Group {
                window: first + k / u64::from(chunks),
                chunk: (k % u64::from(chunks)) as u32,
                records: bounds[0]..bounds[1],
            });
        }
    }
    let mut sorted = vec![records[0]; records.len()];
    for r in records {
        let slot = &mut starts[key(r)];
        sorted[*slot] = *r;
        *slot += 1;
    }
    sorted
}

/// Stable comparison sort by (window, chunk), for keys too sparse to count.
#[inline]
fn comparison_sort(
    records: Vec<InFlight>,
    groups: &mut Vec<Group>,
    window_ns: u64,
) -> Vec<InFlight> {
    let chunk_of = |r: &InFlight| r.target / CHUNK_AGENTS as u32;
    let mut records = records;
    records.sort_by_key(|r| (r.at() / window_ns, chunk_of(r)));
    let mut begin = 0;
    for i in 1..=records.len() {
        let same = |a: &InFlight, b: &InFlight| {
            a.at() / window_ns == b.at() / window_ns && chunk_of(a) == chunk_of(b)
        };
        if i == records.len() || !same(&records[begin], &records[i]) {
            groups.push(Group {
                window: records[begin].at() / window_ns,
                chunk: chunk_of(&records[begin]),
                records: begin..i,
            });
            begin = i;
        }
    }
    records
}

/// Where one destination chunk's records of one window come from: a
/// source, its records, and the index its arena has in the bucket.
struct Slice {
    source: usize,
    records: Range<usize>,
    arena: u32,
}

/// Buckets of future windows, keyed by window index.
#[derive(Debug, Default)]
pub(crate) struct InFlightQueue {
    buckets: BTreeMap<u64, Bucket>,
    chunks: usize,
    in_flight: u64,
}

impl InFlightQueue {
    pub(crate) fn new(chunks: usize) -> Self {
        InFlightQueue {
            buckets: BTreeMap::new(),
            chunks,
            in_flight: 0,
        }
    }

    /// The earliest window holding a datagram.
    pub(crate) fn next_window(&self) -> Option<u64> {
        self.buckets.keys().next().copied()
    }

    /// Removes and returns the bucket of window `k`, one inbox per chunk.
    pub(crate) fn take(&mut self, k: u64) -> Bucket {
        let mut bucket = self.buckets.remove(&k).unwrap_or_default();
        self.in_flight -= bucket.per_chunk.iter().map(|c| c.len() as u64).sum::<u64>();
        bucket.per_chunk.resize_with(self.chunks, Vec::new);
        bucket
    }

    /// Datagrams in flight.
    pub(crate) fn len(&self) -> u64 {
        self.in_flight
    }

    /// Adds every source chunk's sends (given in source-chunk order).
    pub(crate) fn add(&mut self, sources: &[SortedSends]) {
        // Per window, per destination chunk: the slices to copy, in source
        // order (sources are visited in order). Linear in the groups.
        let mut plan: BTreeMap<u64, Vec<Vec<Slice>>> = BTreeMap::new();
        for (source, sends) in sources.iter().enumerate() {
            let mut arena_in: Option<(u64, u32)> = None;
            for group in &sends.groups {
                let bucket = self.buckets.entry(group.window).or_default();
                // A source's arena joins a bucket once, at its first group.
                let arena = match arena_in {
                    Some((window, arena)) if window == group.window => arena,
                    _ => {
                        bucket.arenas.push(Arc::clone(&sends.bytes));
                        let arena = u32::try_from(bucket.arenas.len() - 1)
                            .expect("fewer arenas per bucket than steps times chunks");
                        arena_in = Some((group.window, arena));
                        arena
                    }
                };
                let chunks = self.chunks;
                plan.entry(group.window)
                    .or_insert_with(|| (0..chunks).map(|_| Vec::new()).collect())
                    [group.chunk as usize]
                    .push(Slice {
                        source,
                        records: group.records.clone(),
                        arena,
                    });
            }
        }
        for (window, slices) in plan {
            let chunks = self.chunks;
            let bucket = self.buckets.get_mut(&window).expect("filed above");
            bucket.per_chunk.resize_with(chunks, Vec::new);
            let added: u64 = bucket
                .per_chunk
                .par_iter_mut()
                .zip(slices.par_iter())
                .map(|(inbox, slices)| {
                    let count: usize = slices.iter().map(|s| s.records.len()).sum();
                    inbox.reserve(count);
                    for slice in slices {
                        let records = &sources[slice.source].records[slice.records.clone()];
                        inbox.extend(records.iter().map(|r| InFlight {
                            arena: slice.arena,
                            ..*r
                        }));
                    }
                    count as u64
                })
                .sum();
            self.in_flight += added;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(at: u64, target: u32, seq: u32) -> InFlight {
        InFlight::new(at, target, 1, seq, 1)
    }

    /// Records by (window, destination chunk), stable: what both grouping
    /// paths must produce, and each group one contiguous run.
    fn check(records: Vec<InFlight>, window_ns: u64) {
        let mut expected = records.clone();
        expected.sort_by_key(|r| (r.at() / window_ns, r.target / CHUNK_AGENTS as u32));
        let bytes = vec![0; records.len()];
        let sorted = SortedSends::new(records, bytes, window_ns);
        assert_eq!(sorted.records, expected);
        let mut covered = 0;
        for g in &sorted.groups {
            assert_eq!(g.records.start, covered, "groups tile the records in order");
            covered = g.records.end;
            for r in &sorted.records[g.records.clone()] {
                assert_eq!(
                    (r.at() / window_ns, r.target / CHUNK_AGENTS as u32),
                    (g.window, g.chunk)
                );
            }
        }
        assert_eq!(covered, sorted.records.len());
    }

    #[test]
    fn sends_group_by_window_and_chunk_on_both_paths() {
        let chunk = CHUNK_AGENTS as u32;
        // Dense: a few windows, many sends (the counting sort).
        let dense = (0..5_000u32)
            .map(|i| send(u64::from(i % 5) * 10 + 3, (i * 7919) % (4 * chunk), i))
            .collect();
        check(dense, 10);
        // Sparse: sends spread over a million windows (the comparison sort).
        let sparse = (0..50u32)
            .map(|i| {
                send(
                    u64::from(i) * 20_000_000 % 10_000_007,
                    (i * 31) % (3 * chunk),
                    i,
                )
            })
            .collect();
        check(sparse, 10);
        check(Vec::new(), 10);
    }

    #[test]
    fn a_bucket_gets_every_sources_records_in_source_order_and_their_bytes() {
        let chunk = CHUNK_AGENTS as u32;
        let mut queue = InFlightQueue::new(2);
        let a = SortedSends::new(
            vec![send(15, chunk + 1, 0), send(12, 2, 1)],
            vec![10, 11],
            10,
        );
        let b = SortedSends::new(vec![send(11, chunk + 2, 0)], vec![20], 10);
        queue.add(&[a, b]);
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.next_window(), Some(1));
        let bucket = queue.take(1);
        let bytes: Vec<Vec<u8>> = bucket
            .per_chunk
            .iter()
            .map(|inbox| {
                inbox
                    .iter()
                    .map(|r| bytes_of(&bucket.arenas, r)[0])
                    .collect()
            })
            .collect();
        assert_eq!(
            bytes,
            [vec![11], vec![10, 20]],
            "chunk 1 holds source a's record first"
        );
        assert_eq!(queue.len(), 0);
    }
}
