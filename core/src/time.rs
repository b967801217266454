//! Time as a value: integer nanoseconds since the host's epoch.
//!
//! The core never reads a clock. Hosts pass `now` into every call: the fast
//! engine its virtual time, the async drivers the elapsed time since they
//! started. Unix seconds for the header's `timestamp` come from the node's
//! configured epoch offset plus `now`.

use core::fmt;
use core::ops::{Add, Sub};
use core::time::Duration;

/// An instant, in nanoseconds since the host's epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(u64);

impl Time {
    /// The host's epoch.
    pub const ZERO: Time = Time(0);
    /// Later than any instant a run reaches (584 years).
    pub const NEVER: Time = Time(u64::MAX);

    /// The instant `ns` nanoseconds after the epoch.
    pub const fn from_ns(ns: u64) -> Self {
        Time(ns)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_ns(self) -> u64 {
        self.0
    }

    /// Whole seconds since the epoch.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1_000_000_000
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub const fn since(self, earlier: Time) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// Nanoseconds in a duration, saturating at `u64::MAX` (584 years).
pub const fn duration_ns(duration: Duration) -> u64 {
    let ns = duration.as_nanos();
    if ns > u64::MAX as u128 {
        u64::MAX
    } else {
        ns as u64
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, rhs: Duration) -> Time {
        Time(self.0.saturating_add(duration_ns(rhs)))
    }
}

impl Sub<Duration> for Time {
    type Output = Time;
    fn sub(self, rhs: Duration) -> Time {
        Time(self.0.saturating_sub(duration_ns(rhs)))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}s",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}
