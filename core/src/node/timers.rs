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
        let before = std::mem::replace(&mut self.at[timer as usize], at);
        if at <= self.earliest {
            self.earliest = at;
        } else if before == self.earliest {
            // The earliest deadline moved later: some other may be first now.
            self.earliest = self.at.iter().copied().min().unwrap_or(Time::NEVER);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    const KINDS: [Timer; TIMER_COUNT] = [
        Timer::Round,
        Timer::Shuffle,
        Timer::Probe,
        Timer::ProbeTimeout,
        Timer::Suspicion,
        Timer::Request,
        Timer::Repair,
        Timer::Digest,
    ];

    #[test]
    fn the_earliest_deadline_follows_every_set_and_stop() {
        let mut rng = Rng::from_seed(7);
        let mut timers = Timers::default();
        for _ in 0..10_000 {
            let timer = KINDS[rng.index(TIMER_COUNT)];
            if rng.chance(1, 4) {
                timers.stop(timer);
            } else {
                timers.set(timer, Time::from_ns(rng.below(50)));
            }
            let expected = timers
                .at
                .iter()
                .copied()
                .filter(|t| *t != Time::NEVER)
                .min();
            assert_eq!(timers.next(), expected);
        }
    }
}
