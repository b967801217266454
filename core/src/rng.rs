//! The node's random-number generator: small, seedable, deterministic.
//!
//! Hosts derive each agent's seed from (scenario seed, agent id) and hand the
//! RNG to [`crate::Node::new`]; the core never touches OS randomness. The
//! generator is SplitMix64 (Steele, Lea, Flood 2014): eight bytes of state,
//! which matters at a million agents, and statistically sound for sampling
//! peers and coin flips.

/// A SplitMix64 generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function: a strong 64-bit mixer, also used to derive
/// independent seeds and keyed hashes.
#[inline]
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator from a seed.
    pub const fn from_seed(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// A generator for one stream of one agent of a seeded run: the same
    /// (seed, stream, agent) always gives the same sequence.
    pub const fn for_agent(seed: u64, stream: u64, agent: u64) -> Self {
        Rng::from_seed(mix64(mix64(seed ^ mix64(stream)) ^ agent))
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// A uniform integer in `0..bound` (Lemire's multiply-shift; the bias is
    /// below 2^-32 for every bound this core uses). `bound` must be non-zero.
    #[inline]
    pub fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0, "below(0) has no value");
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A uniform index into a slice of `len` elements (`len > 0`).
    #[inline]
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// True with probability `numerator / denominator`, decided in integers.
    #[inline]
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        numerator >= denominator || self.below(denominator) < numerator
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // Reference values of SplitMix64 seeded with 1234567 (Vigna's splitmix64.c).
        let mut rng = Rng::from_seed(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Rng::from_seed(7);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            seen[rng.below(10) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
    }

    #[test]
    fn agent_streams_differ() {
        let a = Rng::for_agent(1, 0, 5).next_u64();
        let b = Rng::for_agent(1, 0, 6).next_u64();
        let c = Rng::for_agent(1, 1, 5).next_u64();
        let d = Rng::for_agent(2, 0, 5).next_u64();
        assert!(a != b && a != c && a != d && b != c);
        assert_eq!(a, Rng::for_agent(1, 0, 5).next_u64());
    }
}
