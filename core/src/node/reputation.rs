//! Per-peer reputation, in the style of gossipsub v1.1's peer scoring: a
//! peer that sends invalid messages (bad header, bad control payload, bad
//! or missing signature) or originates more than the rate limit allows
//! loses points; below [`GRAYLIST_BELOW`] it is graylisted — everything it
//! sends is dropped unread and it leaves the views — until its score
//! decays back. Scores decay toward zero by 1/32 per second (a half-life of
//! about 22 s), so a peer that stops misbehaving recovers.
//!
//! The table is bounded ([`REPUTATION_PEERS_MAX`]); when full, the entry
//! closest to neutral makes room, so the worst offenders are remembered.
//! It is allocated at the first penalty: honest runs never pay for it.

use crate::time::Time;

/// Points lost per invalid message. Five invalid messages graylist a peer.
pub(super) const PENALTY_INVALID: i32 = 20;
/// Points lost per message an origin sends straight to us beyond the rate
/// limit: twenty excess messages graylist a flooder. (Copies relayed by
/// others cost their relays nothing: they only forwarded.)
pub(super) const PENALTY_RATE: i32 = 5;
/// Points lost per datagram a graylisted peer still sends: as long as it
/// keeps flooding, decay cannot bring it back.
pub(super) const PENALTY_GRAYLISTED: i32 = 1;
/// A peer at or below this score is graylisted.
pub(super) const GRAYLIST_BELOW: i32 = -100;
/// Peers scored at once: a node's active and passive views (at most a few
/// dozen) plus room for offenders met through them.
const REPUTATION_PEERS_MAX: usize = 64;
/// Decay per second: the score loses 1/2^DECAY_SHIFT of itself.
const DECAY_SHIFT: u32 = 5;
/// Seconds of decay after which any score is back to zero (at most
/// i32::MAX points, each step removing at least one).
const DECAY_STEPS_MAX: u64 = 1024;

#[derive(Clone, Debug)]
struct Score<A> {
    peer: A,
    points: i32,
    /// Whole seconds of `Time` at the last decay.
    decayed_s: u64,
}

impl<A> Score<A> {
    fn decay_to(&mut self, now_s: u64) {
        let steps = now_s.saturating_sub(self.decayed_s).min(DECAY_STEPS_MAX);
        for _ in 0..steps {
            if self.points == 0 {
                break;
            }
            // Toward zero by at least one point per step.
            let step = (self.points >> DECAY_SHIFT).abs().max(1);
            self.points += if self.points < 0 { step } else { -step };
        }
        self.decayed_s = now_s;
    }
}

/// The scores a node keeps of its peers.
#[derive(Clone, Debug)]
pub(super) struct Reputation<A> {
    scores: Vec<Score<A>>,
}

impl<A: Copy + PartialEq> Reputation<A> {
    pub(super) fn new() -> Self {
        Reputation { scores: Vec::new() }
    }

    /// Takes `points` from `peer`; true when this graylists it.
    pub(super) fn penalize(&mut self, peer: A, points: i32, now: Time) -> bool {
        let now_s = now.as_secs();
        let i = match self.scores.iter().position(|s| s.peer == peer) {
            Some(i) => i,
            None => {
                if self.scores.len() >= REPUTATION_PEERS_MAX {
                    let mildest = (0..self.scores.len())
                        .min_by_key(|i| self.scores[*i].points.unsigned_abs())
                        .expect("full table");
                    self.scores.swap_remove(mildest);
                }
                self.scores.push(Score {
                    peer,
                    points: 0,
                    decayed_s: now_s,
                });
                self.scores.len() - 1
            }
        };
        let score = &mut self.scores[i];
        score.decay_to(now_s);
        let was = score.points <= GRAYLIST_BELOW;
        score.points = score.points.saturating_sub(points);
        !was && score.points <= GRAYLIST_BELOW
    }

    /// Whether `peer` is graylisted now.
    pub(super) fn graylisted(&mut self, peer: A, now: Time) -> bool {
        match self.scores.iter_mut().find(|s| s.peer == peer) {
            Some(score) => {
                score.decay_to(now.as_secs());
                score.points <= GRAYLIST_BELOW
            }
            None => false,
        }
    }

    /// Heap bytes held.
    pub(super) fn heap_bytes(&self) -> usize {
        self.scores.capacity() * core::mem::size_of::<Score<A>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_invalid_messages_graylist_a_peer_and_time_forgives_it() {
        let mut r = Reputation::new();
        let t0 = Time::from_ns(0);
        for i in 0..4 {
            assert!(!r.penalize(7u32, PENALTY_INVALID, t0), "penalty {i}");
        }
        assert!(!r.graylisted(7, t0));
        assert!(r.penalize(7, PENALTY_INVALID, t0), "the fifth graylists");
        assert!(r.graylisted(7, t0));
        assert!(!r.graylisted(8, t0), "others are untouched");
        // -100 decays by 1/32 a second: back above the threshold at once,
        // back to zero within a few minutes.
        assert!(!r.graylisted(7, Time::from_ns(1_000_000_000)));
        r.penalize(7, 0, Time::from_ns(600_000_000_000));
        assert_eq!(r.scores[0].points, 0);
    }

    #[test]
    fn the_table_is_bounded_and_keeps_the_worst_offenders() {
        let mut r = Reputation::new();
        let t0 = Time::from_ns(0);
        for _ in 0..10 {
            r.penalize(u32::MAX, PENALTY_INVALID, t0);
        }
        for peer in 0..(REPUTATION_PEERS_MAX as u32 * 2) {
            r.penalize(peer, PENALTY_RATE, t0);
        }
        assert_eq!(r.scores.len(), REPUTATION_PEERS_MAX);
        assert!(r.graylisted(u32::MAX, t0));
    }
}
