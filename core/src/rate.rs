//! Per-peer rate limiting: one token bucket per origin agent, in integer
//! milli-tokens, in a table of bounded size.
//!
//! The design's rule is "at most 10 messages per peer per second". Colony
//! counts a message against its **origin** (the header's `from`), whoever
//! forwarded it: gossip makes honest forwarders relay everybody's traffic, so
//! limiting forwarders would throttle dissemination itself, while a flooder
//! is the origin of what it floods. Duplicates are filtered before this check
//! and cost no token.

use core::time::Duration;

use crate::time::{Time, duration_ns};

/// Milli-tokens per message: integer arithmetic, no floats in decisions.
const MILLI: u64 = 1_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    key: u64,
    milli_tokens: u64,
    refilled_at: Time,
}

/// The limit a [`RateLimiter`] enforces: buckets allow `per_second`
/// messages per second with bursts of `burst`; the table tracks at most
/// `table_max` origins. A new origin arriving at a full table takes the slot
/// of the origin refilled longest ago (its bucket is the most likely to be
/// full again, so forgetting it loses little).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Messages per second per origin; 0 disables the limit.
    pub per_second: u32,
    /// Messages an origin may send at once.
    pub burst: u32,
    /// Origins tracked at most.
    pub table_max: u16,
}

/// A bounded table of token buckets keyed by origin. The limit is passed to
/// [`RateLimiter::allow`] rather than kept: a node's limit is its shared
/// configuration's, and a million nodes need not each hold a copy.
#[derive(Clone, Debug, Default)]
pub struct RateLimiter {
    buckets: Vec<Bucket>,
}

impl RateLimiter {
    /// Takes one token from `key`'s bucket under `limit`; `false` when it
    /// is empty.
    pub fn allow(&mut self, limit: RateLimit, key: u64, now: Time) -> bool {
        if limit.per_second == 0 {
            return true; // rate limiting disabled
        }
        let capacity = u64::from(limit.burst.max(1)) * MILLI;
        let index = match self.buckets.iter().position(|b| b.key == key) {
            Some(i) => i,
            None => {
                let fresh = Bucket {
                    key,
                    milli_tokens: capacity,
                    refilled_at: now,
                };
                if self.buckets.len() < usize::from(limit.table_max) {
                    crate::grow::push_tight(&mut self.buckets, fresh);
                    self.buckets.len() - 1
                } else if let Some((i, _)) = self
                    .buckets
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, b)| (b.refilled_at, b.key))
                {
                    self.buckets[i] = fresh;
                    i
                } else {
                    return true; // table_max == 0: nothing is tracked
                }
            }
        };
        let bucket = &mut self.buckets[index];
        let elapsed_ns = now.as_ns().saturating_sub(bucket.refilled_at.as_ns());
        let earned = u128::from(elapsed_ns) * u128::from(limit.per_second) * u128::from(MILLI)
            / u128::from(duration_ns(Duration::from_secs(1)));
        bucket.milli_tokens =
            (u128::from(bucket.milli_tokens) + earned).min(u128::from(capacity)) as u64;
        bucket.refilled_at = now;
        if bucket.milli_tokens >= MILLI {
            bucket.milli_tokens -= MILLI;
            true
        } else {
            false
        }
    }

    /// Origins tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no origin is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * size_of::<Bucket>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(table_max: u16) -> RateLimit {
        RateLimit {
            per_second: 10,
            burst: 10,
            table_max,
        }
    }

    #[test]
    fn the_eleventh_message_within_a_second_is_refused() {
        let mut limiter = RateLimiter::default();
        let limit = limit(4);
        let t = Time::from_ns(5_000_000_000);
        for i in 0..10 {
            assert!(
                limiter.allow(limit, 1, t + Duration::from_millis(i)),
                "message {i}"
            );
        }
        assert!(!limiter.allow(limit, 1, t + Duration::from_millis(50)));
        // Another origin has its own bucket.
        assert!(limiter.allow(limit, 2, t + Duration::from_millis(50)));
        // A tenth of a second later, one token is back.
        assert!(limiter.allow(limit, 1, t + Duration::from_millis(150)));
        assert!(!limiter.allow(limit, 1, t + Duration::from_millis(151)));
    }

    #[test]
    fn the_table_is_bounded() {
        let mut limiter = RateLimiter::default();
        for key in 0..100 {
            limiter.allow(limit(3), key, Time::from_ns(key));
        }
        assert_eq!(limiter.len(), 3);
    }

    #[test]
    fn a_zero_rate_disables_the_limit() {
        let mut limiter = RateLimiter::default();
        let off = RateLimit {
            per_second: 0,
            ..limit(3)
        };
        assert!((0..100).all(|_| limiter.allow(off, 1, Time::ZERO)));
        assert!(limiter.is_empty(), "nothing tracked");
    }
}
