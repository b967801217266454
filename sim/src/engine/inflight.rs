//! Datagrams in flight: fixed-size records in per-window buckets, each bucket
//! split by destination chunk and backed by one byte arena, reused from
//! window to window. Windows are aligned on multiples of the smallest link
//! latency, so a datagram sent in window k always lands in window k+1 or later.

use std::collections::BTreeMap;

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
    /// Offset of the bytes in the bucket's arena.
    pub(crate) start: u32,
    /// Length of the bytes.
    pub(crate) len: u32,
}

/// The datagrams due in one window.
#[derive(Debug, Default)]
pub(crate) struct Bucket {
    pub(crate) bytes: Vec<u8>,
    /// Records per destination chunk.
    pub(crate) per_chunk: Vec<Vec<InFlight>>,
}

/// Buckets of future windows, keyed by window index.
#[derive(Debug, Default)]
pub(crate) struct InFlightQueue {
    buckets: BTreeMap<u64, Bucket>,
    chunks: usize,
    in_flight: u64,
}

/// Distinct windows a merge keeps open at once before flushing into the map:
/// latencies of a few windows' spread hit these without a map lookup.
const STAGING_WINDOWS_MAX: usize = 16;

/// Records added by one merge, staged per window.
pub(crate) struct Staging<'q> {
    queue: &'q mut InFlightQueue,
    open: Vec<(u64, Bucket)>,
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

    /// Removes and returns the bucket of window `k` (empty when none).
    pub(crate) fn take(&mut self, k: u64) -> Bucket {
        let bucket = self.buckets.remove(&k).unwrap_or_default();
        self.in_flight -= bucket.per_chunk.iter().map(|v| v.len() as u64).sum::<u64>();
        bucket
    }

    /// Datagrams in flight.
    pub(crate) fn len(&self) -> u64 {
        self.in_flight
    }

    pub(crate) fn staging(&mut self) -> Staging<'_> {
        Staging {
            queue: self,
            open: Vec::new(),
        }
    }
}

impl Staging<'_> {
    /// Adds one datagram due in `window`, addressed to `chunk`.
    #[inline]
    pub(crate) fn push(&mut self, window: u64, chunk: usize, mut record: InFlight, bytes: &[u8]) {
        let i = match self.open.iter().position(|(k, _)| *k == window) {
            Some(i) => i,
            None => {
                if self.open.len() == STAGING_WINDOWS_MAX {
                    self.flush();
                }
                let chunks = self.queue.chunks;
                let bucket = self
                    .queue
                    .buckets
                    .remove(&window)
                    .unwrap_or_else(|| Bucket {
                        bytes: Vec::new(),
                        per_chunk: vec![Vec::new(); chunks],
                    });
                self.open.push((window, bucket));
                self.open.len() - 1
            }
        };
        let bucket = &mut self.open[i].1;
        record.start =
            u32::try_from(bucket.bytes.len()).expect("a window's arena stays under 4 GiB");
        bucket.bytes.extend_from_slice(bytes);
        bucket.per_chunk[chunk].push(record);
        self.queue.in_flight += 1;
    }

    fn flush(&mut self) {
        for (k, bucket) in self.open.drain(..) {
            self.queue.buckets.insert(k, bucket);
        }
    }
}

impl Drop for Staging<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}
