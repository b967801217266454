//! The node's timers: a fixed table indexed by kind (as in quinn-proto); the
//! next wake-up is the earliest armed entry.

use crate::time::Time;

/// What a timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// Gossip round: push, pull, lazy IHAVE flush, backlog.
    Round = 0,
    /// Passive-view shuffle.
    Shuffle = 1,
    /// SWIM protocol period: next probe, judge the previous one.
    Probe = 2,
    /// SWIM direct-probe timeout: switch to indirect probes.
    ProbeTimeout = 3,
    /// Earliest suspicion deadline.
    Suspicion = 4,
    /// Earliest request deadline.
    Request = 5,
    /// Earliest PlumTree repair deadline.
    Repair = 6,
    /// Next digest.
    Digest = 7,
}

const TIMER_COUNT: usize = 8;

/// Armed deadlines; `Time::NEVER` when disarmed.
#[derive(Clone, Debug)]
pub(crate) struct Timers([Time; TIMER_COUNT]);

impl Default for Timers {
    fn default() -> Self {
        Timers([Time::NEVER; TIMER_COUNT])
    }
}

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Time) {
        self.0[timer as usize] = at;
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = Time::NEVER;
    }

    pub(crate) fn get(&self, timer: Timer) -> Time {
        self.0[timer as usize]
    }

    /// Whether `timer` is armed and due at `now`.
    pub(crate) fn is_due(&self, timer: Timer, now: Time) -> bool {
        let at = self.0[timer as usize];
        at != Time::NEVER && at <= now
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Time> {
        self.0.iter().copied().filter(|t| *t != Time::NEVER).min()
    }
}
