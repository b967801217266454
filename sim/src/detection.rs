//! Failure detection as the report sees it. The engine hands over, in merge
//! order, every crash and restart and every suspicion, refutation and
//! confirmation an agent reported (its `Peer` events); this module counts
//! them, tells false positives (an honest agent confirmed dead while up)
//! from real detections, times each crash from the crash to its first
//! suspicion, first confirmation and last confirmation, and keeps how many
//! datagrams survivors sent to crashed agents each second.

use std::collections::{BTreeMap, BTreeSet};

use colony_core::node::PeerChange;
use colony_reports::{DetectionReport, Percentiles};

use crate::agent_set::AgentSet;

/// Nanoseconds per bucket of the sends-to-crashed series.
const SECOND_NS: u64 = 1_000_000_000;

/// Seconds the sends-to-crashed series keeps; later seconds are added to
/// the last (over an hour of virtual time).
const SECONDS_TRACKED_MAX: u64 = 4_096;

/// One crash, as detected.
#[derive(Clone, Copy, Debug)]
struct Crash {
    at: u64,
    first_suspicion: Option<u64>,
    first_confirmation: Option<u64>,
    last_confirmation: Option<u64>,
}

impl Crash {
    fn new(at: u64) -> Self {
        Crash {
            at,
            first_suspicion: None,
            first_confirmation: None,
            last_confirmation: None,
        }
    }
}

/// Failure-detection figures of a run, fed in merge order.
#[derive(Debug, Default)]
pub(crate) struct Detection {
    suspicions: u64,
    refutations: u64,
    confirmations: u64,
    false_positives: u64,
    false_positive_agents: BTreeSet<u32>,
    /// Agents down now, by agent.
    down: BTreeMap<u32, Crash>,
    /// Crashes that ended (the agent restarted).
    ended: Vec<Crash>,
    /// Datagrams that reached a crashed agent, per second.
    sends_to_crashed: Vec<u64>,
}

impl Detection {
    /// Agent `agent` crashed (`down`) or restarted at `at`.
    pub(crate) fn lifecycle(&mut self, agent: u32, at: u64, down: bool) {
        if down {
            self.down.entry(agent).or_insert_with(|| Crash::new(at));
        } else if let Some(crash) = self.down.remove(&agent) {
            self.ended.push(crash);
        }
    }

    /// An agent reported a change of `peer` at `at`; only suspicions,
    /// refutations and confirmations count here.
    pub(crate) fn peer_event(
        &mut self,
        at: u64,
        peer: u32,
        change: PeerChange,
        byzantine: &AgentSet,
    ) {
        match change {
            PeerChange::Suspected => {
                self.suspicions += 1;
                if let Some(crash) = self.down.get_mut(&peer) {
                    crash.first_suspicion.get_or_insert(at);
                }
            }
            PeerChange::Alive => self.refutations += 1,
            PeerChange::Failed => {
                self.confirmations += 1;
                match self.down.get_mut(&peer) {
                    Some(crash) => {
                        crash.first_confirmation.get_or_insert(at);
                        crash.last_confirmation = Some(at);
                    }
                    None if !byzantine.contains(peer) => {
                        self.false_positives += 1;
                        self.false_positive_agents.insert(peer);
                    }
                    None => {}
                }
            }
            PeerChange::Up | PeerChange::Down | PeerChange::Left => {}
        }
    }

    /// `count` datagrams reached crashed agents at `at`.
    pub(crate) fn sent_to_crashed(&mut self, at: u64, count: u64) {
        let second = (at / SECOND_NS).min(SECONDS_TRACKED_MAX - 1) as usize;
        if self.sends_to_crashed.len() <= second {
            self.sends_to_crashed.resize(second + 1, 0);
        }
        self.sends_to_crashed[second] += count;
    }

    /// The report section, `None` when nothing crashed and nobody
    /// suspected anyone. `live_agents` divides the send counts.
    pub(crate) fn report(&self, live_agents: u64) -> Option<DetectionReport> {
        let crashes: Vec<Crash> = self
            .ended
            .iter()
            .chain(self.down.values())
            .copied()
            .collect();
        if crashes.is_empty() && self.suspicions == 0 {
            return None;
        }
        let since_crash = |pick: fn(&Crash) -> Option<u64>| {
            let mut ns: Vec<u64> = crashes
                .iter()
                .filter_map(|c| pick(c).map(|t| t.saturating_sub(c.at)))
                .collect();
            Percentiles::of_ns(&mut ns)
        };
        let per_agent = |count: u64| count as f64 / live_agents.max(1) as f64;
        // The first whole second after the last confirmation of any crash.
        let detected_s = crashes
            .iter()
            .filter_map(|c| c.last_confirmation)
            .max()
            .map(|t| (t / SECOND_NS + 1) as usize);
        let after: Option<f64> = detected_s
            .map(|s| self.sends_to_crashed.get(s..).unwrap_or(&[]))
            .filter(|tail| !tail.is_empty())
            .map(|tail| per_agent(tail.iter().sum::<u64>()) / tail.len() as f64);
        Some(DetectionReport {
            suspicions: self.suspicions,
            refutations: self.refutations,
            confirmations: self.confirmations,
            false_positives: self.false_positives,
            false_positive_agents: self.false_positive_agents.len() as u64,
            crashes: crashes.len() as u64,
            crashes_unconfirmed: crashes
                .iter()
                .filter(|c| c.first_confirmation.is_none())
                .count() as u64,
            first_suspicion_ms: since_crash(|c| c.first_suspicion),
            first_confirmation_ms: since_crash(|c| c.first_confirmation),
            last_confirmation_ms: since_crash(|c| c.last_confirmation),
            sends_to_crashed_per_agent_s: self
                .sends_to_crashed
                .iter()
                .map(|n| per_agent(*n))
                .collect(),
            sends_to_crashed_after_detection_per_agent_s: after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = SECOND_NS;

    #[test]
    fn a_crash_is_timed_from_its_first_suspicion_to_its_last_confirmation() {
        let honest = AgentSet::default();
        let mut d = Detection::default();
        d.lifecycle(7, 10 * S, true);
        d.peer_event(11 * S, 7, PeerChange::Suspected, &honest);
        d.peer_event(16 * S, 7, PeerChange::Failed, &honest);
        d.peer_event(17 * S, 7, PeerChange::Failed, &honest);
        // Agent 3 is up: confirming it dead is a false positive.
        d.peer_event(18 * S, 3, PeerChange::Failed, &honest);
        d.sent_to_crashed(12 * S, 40);
        d.sent_to_crashed(19 * S, 4);
        let r = d.report(4).expect("a crash happened");
        assert_eq!((r.suspicions, r.confirmations, r.crashes), (1, 3, 1));
        assert_eq!((r.false_positives, r.false_positive_agents), (1, 1));
        assert_eq!(r.first_suspicion_ms.max, 1_000.0);
        assert_eq!(r.first_confirmation_ms.max, 6_000.0);
        assert_eq!(r.last_confirmation_ms.max, 7_000.0);
        assert_eq!(r.sends_to_crashed_per_agent_s[12], 10.0);
        // After 17 s (the last confirmation): seconds 18 and 19, 4 datagrams
        // over 4 agents and 2 seconds.
        assert_eq!(r.sends_to_crashed_after_detection_per_agent_s, Some(0.5));
    }

    #[test]
    fn a_crash_nobody_confirmed_is_counted_and_a_calm_run_has_no_section() {
        let honest = AgentSet::default();
        assert!(Detection::default().report(10).is_none());
        let mut d = Detection::default();
        d.lifecycle(1, S, true);
        d.lifecycle(1, 2 * S, false);
        d.lifecycle(1, 3 * S, true);
        let r = d.report(10).expect("crashes happened");
        assert_eq!((r.crashes, r.crashes_unconfirmed), (2, 2));
        assert_eq!(r.sends_to_crashed_after_detection_per_agent_s, None);
        // A confirmation after the restart is a false positive.
        d.lifecycle(1, 4 * S, false);
        d.peer_event(5 * S, 1, PeerChange::Failed, &honest);
        assert_eq!(d.report(10).unwrap().false_positives, 1);
    }
}
