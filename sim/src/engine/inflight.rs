//! Datagrams in flight: fixed-size records in per-window buckets, each bucket
//! split by destination chunk, each part with its own byte arena. Windows are
//! aligned on multiples of the smallest link latency, so a datagram sent in
//! window k always lands in window k+1 or later.
//!
//! Adding a window's sends is parallel over destination chunks: every source
//! chunk first orders its sends by (window, destination chunk), then each
//! destination chunk copies its share from every source, in source-chunk
//! order — the same order whatever the thread count.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::CHUNK_AGENTS;

/// One datagram on its way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InFlight {
    /// Delivery time, virtual nanoseconds.
    pub(crate) at: u64,
    /// Receiving agent.
    pub(crate) target: u32,
    /// Sending agent.
    pub(crate) source: u32,
    /// The sender's datagram counter: with `source`, unique per datagram
    /// (a network duplicate repeats it, with identical bytes).
    pub(crate) seq: u32,
    /// Offset of the bytes in the arena that holds them.
    pub(crate) start: u32,
    /// Length of the bytes.
    pub(crate) len: u32,
}

/// The datagrams of one window for one destination chunk.
#[derive(Debug, Default)]
pub(crate) struct ChunkInbox {
    pub(crate) bytes: Vec<u8>,
    pub(crate) records: Vec<InFlight>,
}

/// The datagrams due in one window, per destination chunk.
#[derive(Debug, Default)]
pub(crate) struct Bucket {
    pub(crate) per_chunk: Vec<ChunkInbox>,
}

/// One source chunk's sends, ordered by (window, destination chunk).
pub(crate) struct SortedSends<'a> {
    keys: Vec<(u64, u32)>,
    records: Vec<InFlight>,
    bytes: &'a [u8],
}

impl<'a> SortedSends<'a> {
    /// Orders `records` (whose bytes are in `bytes`) by window and
    /// destination chunk, keeping their order within each (stable).
    pub(crate) fn new(mut records: Vec<InFlight>, bytes: &'a [u8], window_ns: u64) -> Self {
        let key = |r: &InFlight| (r.at / window_ns, r.target / CHUNK_AGENTS as u32);
        records.sort_by_key(key);
        let keys = records.iter().map(key).collect();
        SortedSends {
            keys,
            records,
            bytes,
        }
    }

    fn range(&self, window: u64, chunk: u32) -> std::ops::Range<usize> {
        let start = self.keys.partition_point(|k| *k < (window, chunk));
        let end = self.keys.partition_point(|k| *k <= (window, chunk));
        start..end
    }

    fn windows(&self) -> impl Iterator<Item = u64> + '_ {
        self.keys.iter().map(|(w, _)| *w)
    }
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
        self.in_flight -= bucket
            .per_chunk
            .iter()
            .map(|c| c.records.len() as u64)
            .sum::<u64>();
        bucket
            .per_chunk
            .resize_with(self.chunks, ChunkInbox::default);
        bucket
    }

    /// Datagrams in flight.
    pub(crate) fn len(&self) -> u64 {
        self.in_flight
    }

    /// Adds every source chunk's sends (given in source-chunk order).
    pub(crate) fn add(&mut self, sources: &[SortedSends<'_>]) {
        let mut windows: Vec<u64> = sources.iter().flat_map(SortedSends::windows).collect();
        windows.sort_unstable();
        windows.dedup();
        for window in windows {
            let chunks = self.chunks;
            let bucket = self.buckets.entry(window).or_default();
            bucket.per_chunk.resize_with(chunks, ChunkInbox::default);
            let added: u64 = bucket
                .per_chunk
                .par_iter_mut()
                .enumerate()
                .map(|(chunk, inbox)| {
                    // Size the arena once: growing it datagram by datagram
                    // would copy it a dozen times per window.
                    let ranges: Vec<_> = sources
                        .iter()
                        .map(|s| s.range(window, chunk as u32))
                        .collect();
                    let records: usize = ranges.iter().map(|r| r.len()).sum();
                    let bytes: usize = sources
                        .iter()
                        .zip(&ranges)
                        .map(|(s, r)| {
                            s.records[r.clone()]
                                .iter()
                                .map(|x| x.len as usize)
                                .sum::<usize>()
                        })
                        .sum();
                    inbox.records.reserve(records);
                    inbox.bytes.reserve(bytes);
                    let mut added = 0;
                    for source in sources {
                        for record in &source.records[source.range(window, chunk as u32)] {
                            let bytes = &source.bytes
                                [record.start as usize..(record.start + record.len) as usize];
                            let start = u32::try_from(inbox.bytes.len())
                                .expect("a chunk's arena stays under 4 GiB");
                            inbox.bytes.extend_from_slice(bytes);
                            inbox.records.push(InFlight { start, ..*record });
                            added += 1;
                        }
                    }
                    added
                })
                .sum();
            self.in_flight += added;
        }
    }
}
