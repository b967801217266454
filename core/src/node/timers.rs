//! The node's timers: fixed tables indexed by kind (as in quinn-proto); the
//! next wake-up is the earliest armed entry. The node keeps the timers every
//! node may arm; those of views membership (shuffles, probes, suspicions,
//! PlumTree repairs, member syncs) live in its membership state, so a node
//! with uniform sampling does not carry six idle deadlines (a million agents).

use core::marker::PhantomData;

use crate::time::Time;

/// What a node timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// Gossip round: push, pull, lazy IHAVE flush, backlog.
    Round = 0,
    /// Earliest request deadline.
    Request = 1,
    /// Next digest.
    Digest = 2,
}

/// What a membership timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum MemberTimer {
    /// Passive-view shuffle.
    Shuffle = 0,
    /// SWIM protocol period: next probe, judge the previous one.
    Probe = 1,
    /// SWIM direct-probe timeout: switch to indirect probes.
    ProbeTimeout = 2,
    /// Earliest suspicion deadline.
    Suspicion = 3,
    /// Earliest PlumTree repair deadline.
    Repair = 4,
    /// Full-membership SWIM: next state sync with a random member.
    Sync = 5,
}

impl From<Timer> for usize {
    fn from(timer: Timer) -> usize {
        timer as usize
    }
}

impl From<MemberTimer> for usize {
    fn from(timer: MemberTimer) -> usize {
        timer as usize
    }
}

/// The node's own timers.
pub(crate) type NodeTimers = Timers<Timer, 3>;

/// The membership timers.
pub(crate) type MemberTimers = Timers<MemberTimer, 6>;

/// Armed deadlines of `N` timers of kind `K`; `Time::NEVER` when disarmed.
/// The earliest is kept up to date on every change, so `next` (called after
/// every input) is a load.
#[derive(Clone, Debug)]
pub(crate) struct Timers<K, const N: usize> {
    at: [Time; N],
    earliest: Time,
    _kind: PhantomData<K>,
}

impl<K, const N: usize> Default for Timers<K, N> {
    fn default() -> Self {
        Timers {
            at: [Time::NEVER; N],
            earliest: Time::NEVER,
            _kind: PhantomData,
        }
    }
}

impl<K: Copy + Into<usize>, const N: usize> Timers<K, N> {
    pub(crate) fn set(&mut self, timer: K, at: Time) {
        let before = std::mem::replace(&mut self.at[timer.into()], at);
        if at <= self.earliest {
            self.earliest = at;
        } else if before == self.earliest {
            // The earliest deadline moved later: some other may be first now.
            self.earliest = self.at.iter().copied().min().unwrap_or(Time::NEVER);
        }
    }

    pub(crate) fn stop(&mut self, timer: K) {
        self.set(timer, Time::NEVER);
    }

    /// Arms `timer` at `at`, or disarms it when there is nothing to wait for.
    pub(crate) fn set_or_stop(&mut self, timer: K, at: Option<Time>) {
        self.set(timer, at.unwrap_or(Time::NEVER));
    }

    pub(crate) fn get(&self, timer: K) -> Time {
        self.at[timer.into()]
    }

    /// Whether `timer` is armed and due at `now`.
    pub(crate) fn is_due(&self, timer: K, now: Time) -> bool {
        let at = self.at[timer.into()];
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

    const KINDS: [MemberTimer; 6] = [
        MemberTimer::Shuffle,
        MemberTimer::Probe,
        MemberTimer::ProbeTimeout,
        MemberTimer::Suspicion,
        MemberTimer::Repair,
        MemberTimer::Sync,
    ];

    #[test]
    fn the_earliest_deadline_follows_every_set_and_stop() {
        let mut rng = Rng::from_seed(7);
        let mut timers = MemberTimers::default();
        for _ in 0..10_000 {
            let timer = KINDS[rng.index(KINDS.len())];
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
