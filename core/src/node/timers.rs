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

/// Armed deadlines; `Time::NEVER` when disarmed. The earliest is kept up
/// to date on every change, so `next` (called after every input) is a load.
#[derive(Clone, Debug)]
pub(crate) struct Timers {
    at: [Time; TIMER_COUNT],
    earliest: Time,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            at: [Time::NEVER; TIMER_COUNT],
            earliest: Time::NEVER,
        }
    }
}

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Time) {
        self.at[timer as usize] = at;
        self.earliest = self.at.iter().copied().min().unwrap_or(Time::NEVER);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.set(timer, Time::NEVER);
    }

    /// Arms `timer` at `at`, or disarms it when there is nothing to wait for.
    pub(crate) fn set_or_stop(&mut self, timer: Timer, at: Option<Time>) {
        self.set(timer, at.unwrap_or(Time::NEVER));
    }

    pub(crate) fn get(&self, timer: Timer) -> Time {
        self.at[timer as usize]
    }

    /// Whether `timer` is armed and due at `now`.
    pub(crate) fn is_due(&self, timer: Timer, now: Time) -> bool {
        let at = self.at[timer as usize];
        at != Time::NEVER && at <= now
    }

    /// Whether any timer is due at `now`.
    pub(crate) fn any_due(&self, now: Time) -> bool {
        self.earliest != Time::NEVER && self.earliest <= now
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Time> {
        (self.earliest != Time::NEVER).then_some(self.earliest)
    }
}
