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

/// A bounded table of token buckets keyed by origin.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    buckets: Vec<Bucket>,
    per_second: u32,
    burst: u32,
    table_max: u16,
}

impl RateLimiter {
    /// Buckets allow `per_second` messages per second with bursts of `burst`;
    /// the table tracks at most `table_max` origins. A new origin arriving at a
    /// full table takes the slot of the origin refilled longest ago (its bucket
    /// is the most likely to be full again, so forgetting it loses little).
    pub fn new(per_second: u32, burst: u32, table_max: u16) -> Self {
        RateLimiter {
            buckets: Vec::new(),
            per_second,
            burst,
            table_max,
        }
    }

    /// Takes one token from `key`'s bucket; `false` when it is empty.
    pub fn allow(&mut self, key: u64, now: Time) -> bool {
        if self.per_second == 0 {
            return true; // rate limiting disabled
        }
        let capacity = u64::from(self.burst.max(1)) * MILLI;
        let index = match self.buckets.iter().position(|b| b.key == key) {
            Some(i) => i,
            None => {
                let fresh = Bucket {
                    key,
                    milli_tokens: capacity,
                    refilled_at: now,
                };
                if self.buckets.len() < usize::from(self.table_max) {
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
        let earned = u128::from(elapsed_ns) * u128::from(self.per_second) * u128::from(MILLI)
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

    #[test]
    fn the_eleventh_message_within_a_second_is_refused() {
        let mut limiter = RateLimiter::new(10, 10, 4);
        let t = Time::from_ns(5_000_000_000);
        for i in 0..10 {
            assert!(
                limiter.allow(1, t + Duration::from_millis(i)),
                "message {i}"
            );
        }
        assert!(!limiter.allow(1, t + Duration::from_millis(50)));
        // Another origin has its own bucket.
        assert!(limiter.allow(2, t + Duration::from_millis(50)));
        // A tenth of a second later, one token is back.
        assert!(limiter.allow(1, t + Duration::from_millis(150)));
        assert!(!limiter.allow(1, t + Duration::from_millis(151)));
    }

    #[test]
    fn the_table_is_bounded() {
        let mut limiter = RateLimiter::new(10, 10, 3);
        for key in 0..100 {
            limiter.allow(key, Time::from_ns(key));
        }
        assert_eq!(limiter.len(), 3);
    }
}
