//! Counter-based randomness for network decisions: every decision is a pure
//! hash of (seed, stream, source, target, sequence), so it does not depend on
//! which thread asks first or in what order (the "randomness keyed by
//! identity" rule of ARCHITECTURE.md).

use colony_core::rng::mix64;

/// Independent decision streams of one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Whether the datagram is lost.
    Loss = 1,
    /// Its latency.
    Latency = 2,
    /// Whether it is duplicated.
    Duplicate = 3,
    /// The duplicate's latency.
    DuplicateLatency = 4,
}

/// 64 random bits for one decision about one datagram.
#[inline]
pub fn draw(seed: u64, stream: Stream, source: u32, target: u32, seq: u32) -> u64 {
    StreamKeys::new(seed).draw(stream, source, target, seq)
}

/// A run's key for each stream: the part of [`draw`] that depends only on
/// the seed, mixed once per run instead of once per datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamKeys([u64; 4]);

impl StreamKeys {
    /// The keys of the run with this seed.
    pub fn new(seed: u64) -> Self {
        let key = |stream: Stream| mix64(seed ^ mix64(stream as u64));
        StreamKeys([
            key(Stream::Loss),
            key(Stream::Latency),
            key(Stream::Duplicate),
            key(Stream::DuplicateLatency),
        ])
    }

    /// [`draw`] with this run's seed.
    #[inline]
    pub fn draw(&self, stream: Stream, source: u32, target: u32, seq: u32) -> u64 {
        let link = (u64::from(source) << 32) | u64::from(target);
        mix64(self.0[stream as usize - 1] ^ mix64(link) ^ u64::from(seq))
    }
}

/// A uniform integer in `0..bound` from 64 random bits (`bound > 0`).
#[inline]
pub fn below(bits: u64, bound: u64) -> u64 {
    ((u128::from(bits) * u128::from(bound)) >> 64) as u64
}

/// A further 64 bits derived from `bits` (for samples that need several).
#[inline]
pub fn next(bits: u64, i: u64) -> u64 {
    mix64(bits ^ mix64(i.wrapping_add(0x9E37_79B9_7F4A_7C15)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_depend_on_every_input_and_nothing_else() {
        let base = draw(1, Stream::Loss, 2, 3, 4);
        assert_eq!(base, draw(1, Stream::Loss, 2, 3, 4));
        assert_ne!(base, draw(2, Stream::Loss, 2, 3, 4));
        assert_ne!(base, draw(1, Stream::Latency, 2, 3, 4));
        assert_ne!(base, draw(1, Stream::Loss, 3, 2, 4));
        assert_ne!(base, draw(1, Stream::Loss, 2, 3, 5));
    }
}
