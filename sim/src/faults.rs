//! The fault timeline: partitions (symmetric or one-way) and their heal,
//! crashes with or without state loss and the restart, churn (agents leaving
//! at a rate and rejoining fresh), changes of the network's loss (uniform or
//! bursty, Gilbert–Elliott) and of uplink latency, and clogs (datagrams sent
//! while one lasts are held and released at its end). Each fault is active
//! on `[at, until)`.
//!
//! Partitions are checked when a datagram is *delivered*, so datagrams
//! already in flight across the cut when it opens are dropped too.

use colony_core::rng::mix64;

use crate::agent_set::AgentSet;
use crate::ratio::Ratio;

/// Nanoseconds per second.
const NS_PER_S: u64 = 1_000_000_000;

/// What a fault does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Datagrams between `side` and the rest are dropped; with `one_way`,
    /// only those from `side` to the rest.
    Partition {
        /// One side of the cut.
        side: AgentSet,
        /// Cut only the direction from `side` to the rest.
        one_way: bool,
    },
    /// The agents stop: their inputs are lost. At `until` they restart,
    /// with a fresh state (and a new join) when `lose_state`.
    Crash {
        /// Agents that crash.
        agents: AgentSet,
        /// Restart from scratch instead of resuming.
        lose_state: bool,
    },
    /// The network's loss becomes `loss`.
    Loss {
        /// Share of datagrams lost meanwhile.
        loss: Ratio,
    },
    /// Datagrams the agents send or are sent while the clog lasts are
    /// held, and released at `until` (a clog needs an end).
    Clog {
        /// The clogged agents.
        agents: AgentSet,
    },
    /// Bursty loss on the agents' uplinks (Gilbert–Elliott): each uplink is
    /// good or bad; every datagram it sends first moves the chain, then is
    /// lost with `loss` when bad (never when good).
    BurstLoss {
        /// The agents whose uplinks burst.
        agents: AgentSet,
        /// The chain: good to bad, bad to good, loss when bad.
        chain: GilbertElliott,
    },
    /// The agents' uplinks get slower: every datagram they send takes
    /// `extra_ns` more, plus up to `jitter_ns` drawn per datagram (a
    /// congested or rerouted link). Latency only grows, so the engine's
    /// windows stay valid.
    Latency {
        /// The agents whose uplinks slow down.
        agents: AgentSet,
        /// Added to every datagram's latency, ns.
        extra_ns: u64,
        /// Up to this much more, uniform per datagram, ns.
        jitter_ns: u64,
    },
    /// Churn: `per_s` of the agents leave every second, each coming back
    /// `downtime_ns` later as a new incarnation (fresh state, a new join).
    /// Who leaves when is fixed by the seed: see [`FaultTimeline::churn`].
    Churn {
        /// The agents that may leave.
        agents: AgentSet,
        /// Departures per second.
        per_s: u32,
        /// How long each departed agent stays away, ns.
        downtime_ns: u64,
    },
}

impl FaultKind {
    /// The name used in scenarios and reports.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Partition { .. } => "partition",
            FaultKind::Crash { .. } => "crash",
            FaultKind::Loss { .. } => "loss",
            FaultKind::Clog { .. } => "clog",
            FaultKind::BurstLoss { .. } => "burst-loss",
            FaultKind::Latency { .. } => "latency",
            FaultKind::Churn { .. } => "churn",
        }
    }
}

/// One departure of a churn fault: the agent leaves at `leave_ns` and comes
/// back, with a fresh state, at `rejoin_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Departure {
    /// The agent.
    pub agent: u32,
    /// When it leaves, virtual ns.
    pub leave_ns: u64,
    /// When it rejoins, virtual ns.
    pub rejoin_ns: u64,
}

/// Picks a churn fault may retry when it lands on an agent already away:
/// enough that a set with any agent present finds one, bounded so that a
/// set whose agents are all away skips the departure instead of looping.
const CHURN_PICK_TRIES: u32 = 64;

/// A two-state Gilbert–Elliott loss chain, stepped once per datagram.
/// Stationary share of bad steps: `enter / (enter + exit)`; mean burst
/// length: `1 / exit` datagrams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GilbertElliott {
    /// Chance to go from good to bad, per datagram.
    pub enter: Ratio,
    /// Chance to go from bad to good, per datagram.
    pub exit: Ratio,
    /// Chance that a datagram sent in the bad state is lost.
    pub loss: Ratio,
}

impl GilbertElliott {
    /// One step from `bad` with the random `bits`: the new state, and
    /// whether the datagram is lost.
    pub fn step(&self, bad: bool, bits: u64) -> (bool, bool) {
        let moves = if bad { self.exit } else { self.enter };
        let bad = bad != moves.hit(bits);
        (bad, bad && self.loss.hit(bits.rotate_left(32)))
    }
}

/// One fault of the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Start, virtual ns.
    pub at_ns: u64,
    /// End (heal, restart), virtual ns; `None` = until the run ends.
    pub until_ns: Option<u64>,
    /// What happens.
    pub kind: FaultKind,
}

impl Fault {
    /// Whether the fault is active at `t`.
    #[inline]
    pub fn active(&self, t: u64) -> bool {
        self.at_ns <= t && self.until_ns.is_none_or(|u| t < u)
    }
}

/// The timeline, with the queries the engine makes on every datagram.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultTimeline {
    faults: Vec<Fault>,
}

impl FaultTimeline {
    /// A timeline of these faults.
    pub fn new(faults: Vec<Fault>) -> Self {
        FaultTimeline { faults }
    }

    /// The faults.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Whether there is no fault at all (the fast path skips every check).
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// When a datagram sent from `source` to `target` at `t` is released,
    /// if a clog on either end holds it (the latest release among them).
    pub fn clog_release(&self, source: u32, target: u32, t: u64) -> Option<u64> {
        self.faults
            .iter()
            .filter_map(|f| match &f.kind {
                FaultKind::Clog { agents }
                    if f.active(t) && (agents.contains(source) || agents.contains(target)) =>
                {
                    f.until_ns
                }
                _ => None,
            })
            .max()
    }

    /// The burst-loss chain on `source`'s uplink at `t`, if any.
    pub fn burst_loss(&self, source: u32, t: u64) -> Option<&GilbertElliott> {
        self.faults.iter().find_map(|f| match &f.kind {
            FaultKind::BurstLoss { agents, chain } if f.active(t) && agents.contains(source) => {
                Some(chain)
            }
            _ => None,
        })
    }

    /// Whether a burst-loss fault on `source`'s uplink loses its `seq`-th
    /// datagram, sent at `t`: one step of the fault's Gilbert–Elliott chain
    /// from the uplink's state `bursting` (updated), on a draw keyed by
    /// (seed, source, seq), so every host loses the same datagrams.
    pub fn burst_lost(
        &self,
        seed: u64,
        source: u32,
        seq: u32,
        t: u64,
        bursting: &mut bool,
    ) -> bool {
        let Some(chain) = self.burst_loss(source, t) else {
            return false;
        };
        let bits = mix64(
            seed ^ mix64(crate::streams::BURST_LOSS ^ (u64::from(source) << 32) ^ u64::from(seq)),
        );
        let (bad, lost) = chain.step(*bursting, bits);
        *bursting = bad;
        lost
    }

    /// Whether a datagram from `source` to `target` delivered at `t` crosses
    /// an active partition.
    pub fn cut(&self, source: u32, target: u32, t: u64) -> bool {
        self.faults.iter().any(|f| match &f.kind {
            FaultKind::Partition { side, one_way } if f.active(t) => {
                let (s, d) = (side.contains(source), side.contains(target));
                if *one_way { s && !d } else { s != d }
            }
            _ => false,
        })
    }

    /// The loss in force at `t`, if a fault overrides the network's.
    pub fn loss_at(&self, t: u64) -> Option<Ratio> {
        self.faults.iter().rev().find_map(|f| match f.kind {
            FaultKind::Loss { loss } if f.active(t) => Some(loss),
            _ => None,
        })
    }

    /// Extra latency of a datagram `source` sends at `t` (its `seq`-th),
    /// from every latency fault on its uplink; zero when none.
    pub fn extra_latency_ns(&self, seed: u64, source: u32, seq: u32, t: u64) -> u64 {
        self.faults
            .iter()
            .map(|f| match &f.kind {
                FaultKind::Latency {
                    agents,
                    extra_ns,
                    jitter_ns,
                } if f.active(t) && agents.contains(source) => {
                    let jitter = if *jitter_ns == 0 {
                        0
                    } else {
                        let bits = mix64(
                            seed ^ mix64(
                                crate::streams::JITTER ^ (u64::from(source) << 32) ^ u64::from(seq),
                            ),
                        );
                        bits % (jitter_ns + 1)
                    };
                    extra_ns + jitter
                }
                _ => 0,
            })
            .sum()
    }

    /// Every departure of the churn faults, in time order: departures
    /// `1 / per_s` apart from `at` until `until` (or `end_ns`), each picking
    /// an agent of the set by a pure hash of (seed, fault, departure) among
    /// those not already away. The same on every host and thread count.
    pub fn churn(&self, seed: u64, end_ns: u64) -> Vec<Departure> {
        let mut departures = Vec::new();
        for (index, fault) in self.faults.iter().enumerate() {
            let FaultKind::Churn {
                agents,
                per_s,
                downtime_ns,
            } = &fault.kind
            else {
                continue;
            };
            let members: Vec<u32> = agents.iter().collect();
            if members.is_empty() || *per_s == 0 {
                continue;
            }
            let gap_ns = (NS_PER_S / u64::from(*per_s)).max(1);
            let end = fault.until_ns.unwrap_or(end_ns).min(end_ns);
            // When each member is back (0: present).
            let mut back_at = vec![0u64; members.len()];
            let mut leave_ns = fault.at_ns;
            let mut departure = 0u64;
            while leave_ns < end {
                for attempt in 0..CHURN_PICK_TRIES {
                    let bits = mix64(
                        seed ^ mix64(
                            crate::streams::CHURN
                                ^ ((index as u64) << 48)
                                ^ (departure << 8)
                                ^ u64::from(attempt),
                        ),
                    );
                    let i = (bits % members.len() as u64) as usize;
                    if back_at[i] <= leave_ns {
                        back_at[i] = leave_ns + downtime_ns;
                        departures.push(Departure {
                            agent: members[i],
                            leave_ns,
                            rejoin_ns: leave_ns + downtime_ns,
                        });
                        break;
                    }
                }
                departure += 1;
                leave_ns += gap_ns;
            }
        }
        departures.sort_by_key(|d| (d.leave_ns, d.agent));
        departures
    }

    /// Whether `agent` is crashed at `t`.
    pub fn crashed(&self, agent: u32, t: u64) -> bool {
        self.faults
            .iter()
            .any(|f| matches!(&f.kind, FaultKind::Crash { agents, .. } if f.active(t) && agents.contains(agent)))
    }

    /// The fault windows, for shading plots (`until` defaults to `end_ns`).
    pub fn windows(&self, end_ns: u64) -> Vec<(u64, u64)> {
        self.faults
            .iter()
            .map(|f| (f.at_ns, f.until_ns.unwrap_or(end_ns).min(end_ns)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_sets_merge_ranges_and_answer_membership() {
        let set = AgentSet::from_ranges(vec![(10, 20), (0, 5), (15, 25)]);
        assert!(set.contains(0) && set.contains(4) && !set.contains(5));
        assert!(set.contains(10) && set.contains(24) && !set.contains(25));
        assert_eq!(set.len(), 20);
        assert_eq!(AgentSet::from_agents(&[3, 1, 2]).len(), 3);
    }

    #[test]
    fn a_partition_cuts_across_only_while_active_and_one_way_only_one_way() {
        let side = AgentSet::from_ranges(vec![(0, 10)]);
        let timeline = FaultTimeline::new(vec![
            Fault {
                at_ns: 100,
                until_ns: Some(200),
                kind: FaultKind::Partition {
                    side: side.clone(),
                    one_way: false,
                },
            },
            Fault {
                at_ns: 300,
                until_ns: None,
                kind: FaultKind::Partition {
                    side,
                    one_way: true,
                },
            },
        ]);
        assert!(!timeline.cut(1, 50, 99));
        assert!(timeline.cut(1, 50, 100) && timeline.cut(50, 1, 150));
        assert!(!timeline.cut(1, 2, 150), "same side");
        assert!(!timeline.cut(1, 50, 200), "healed");
        assert!(
            timeline.cut(1, 50, 300) && !timeline.cut(50, 1, 300),
            "one way"
        );
    }

    #[test]
    fn a_gilbert_elliott_chain_loses_its_stationary_share_in_bursts() {
        // Two-state Markov chain: bad a share enter / (enter + exit) of the
        // time, in bursts of 1 / exit steps on average (here 1/11 and 5).
        let chain = GilbertElliott {
            enter: Ratio::new(1, 50).unwrap(),
            exit: Ratio::new(1, 5).unwrap(),
            loss: Ratio::new(1, 1).unwrap(),
        };
        let steps = 200_000u64;
        let (mut bad, mut lost, mut bursts) = (false, 0u64, 0u64);
        for i in 0..steps {
            let was_bad = bad;
            let (now_bad, dropped) = chain.step(bad, colony_core::rng::mix64(i));
            bad = now_bad;
            lost += u64::from(dropped);
            bursts += u64::from(bad && !was_bad);
        }
        let share = lost as f64 / steps as f64;
        assert!((share - 1.0 / 11.0).abs() < 0.01, "loss share {share}");
        let burst_len = lost as f64 / bursts as f64;
        assert!((burst_len - 5.0).abs() < 0.5, "mean burst {burst_len}");
    }

    #[test]
    fn churn_departs_at_its_rate_and_never_takes_an_agent_already_away() {
        let timeline = FaultTimeline::new(vec![Fault {
            at_ns: 1_000_000_000,
            until_ns: Some(11_000_000_000),
            kind: FaultKind::Churn {
                agents: AgentSet::from_ranges(vec![(10, 30)]),
                per_s: 4,
                downtime_ns: 3_000_000_000,
            },
        }]);
        let departures = timeline.churn(7, 60_000_000_000);
        assert_eq!(departures.len(), 40, "4 a second for 10 s");
        assert_eq!(
            departures,
            timeline.churn(7, 60_000_000_000),
            "a pure function of the seed"
        );
        assert_ne!(departures, timeline.churn(8, 60_000_000_000));
        for (i, d) in departures.iter().enumerate() {
            assert!((10..30).contains(&d.agent));
            assert_eq!(d.leave_ns, 1_000_000_000 + i as u64 * 250_000_000);
            let overlapping = departures[..i]
                .iter()
                .any(|e| e.agent == d.agent && e.rejoin_ns > d.leave_ns);
            assert!(!overlapping, "agent {} left twice at once", d.agent);
        }
        // A run that ends early cuts the churn short.
        assert_eq!(timeline.churn(7, 2_000_000_000).len(), 4);
    }

    #[test]
    fn extra_latency_adds_its_floor_and_bounded_jitter_on_named_uplinks_only() {
        let timeline = FaultTimeline::new(vec![Fault {
            at_ns: 0,
            until_ns: Some(1_000),
            kind: FaultKind::Latency {
                agents: AgentSet::from_ranges(vec![(0, 5)]),
                extra_ns: 100,
                jitter_ns: 50,
            },
        }]);
        let extras: Vec<u64> = (0..1000)
            .map(|seq| timeline.extra_latency_ns(1, 3, seq, 10))
            .collect();
        assert!(extras.iter().all(|e| (100..=150).contains(e)));
        assert!(extras.iter().any(|e| *e < 110) && extras.iter().any(|e| *e > 140));
        assert_eq!(
            timeline.extra_latency_ns(1, 7, 0, 10),
            0,
            "not a named uplink"
        );
        assert_eq!(timeline.extra_latency_ns(1, 3, 0, 1_000), 0, "over");
    }
}
