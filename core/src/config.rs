//! A node's configuration: the dissemination strategy, peer sampling, timers
//! and every bound, each with why it has its default and what happens at it.
//!
//! One `Config` is shared (behind an `Arc`) by every node of a run, so its
//! size does not count against the per-agent memory budget.

use core::num::{NonZeroU8, NonZeroU16, NonZeroU32};
use core::time::Duration;

use crate::header::HOPS_MAX;
use crate::priority::AttentionMode;

/// How a node decides it has pushed a rumour enough (Demers et al. 1987,
/// "Epidemic algorithms for replicated database maintenance", section 1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossOfInterest {
    /// Lose interest only after contacts that already knew the rumour
    /// (the receiver answers with a FEEDBACK message).
    Feedback,
    /// Lose interest after sends, whatever the receiver knew.
    Blind,
}

/// When interest is lost, given the parameter `k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopRule {
    /// After `k` qualifying events.
    Counter,
    /// With probability `1/k` at each qualifying event.
    Coin,
}

/// How application messages spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Every round, each node pushes each live message to `fanout` random
    /// peers, for [`Config::push_rounds`] rounds after receiving it.
    Push {
        /// Peers per round.
        fanout: NonZeroU8,
    },
    /// Every round, each node asks one random peer for what it lacks.
    Pull,
    /// Push and pull together.
    PushPull {
        /// Peers pushed to per round.
        fanout: NonZeroU8,
    },
    /// Rumor mongering: push while interested; lose interest by `loss` and `stop`.
    Rumor {
        /// Peers per round.
        fanout: NonZeroU8,
        /// What counts towards losing interest.
        loss: LossOfInterest,
        /// How those events end interest.
        stop: StopRule,
        /// The parameter `k`.
        k: NonZeroU8,
    },
    /// PlumTree (Leitão, Pereira, Rodrigues 2007): eager push along a tree
    /// grown from the active view, IHAVE lazily to the other neighbours,
    /// GRAFT/IWANT to repair, PRUNE on duplicates. Needs [`Sampling::Views`].
    Plumtree {
        /// How long a node waits after an IHAVE for the message itself before
        /// it asks with GRAFT + IWANT.
        repair_after: Duration,
    },
}

/// Where a node finds peers to gossip with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampling {
    /// The textbook model: agent ids are dense in `0..population` and any may
    /// be picked uniformly. Needs an address type with a dense numbering;
    /// no membership traffic at all.
    Uniform {
        /// Agents in the run.
        population: NonZeroU32,
    },
    /// Partial views (HyParView, Leitão et al. 2007): a small active view
    /// with SWIM-style failure detection, a larger passive view kept fresh by
    /// shuffles. No node ever holds O(n) peers.
    Views,
}

/// Which failure detector runs when [`Config::failure_detection`] is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detector {
    /// SWIM-style probing of the active view only: O(log n) state per
    /// node, suspicion rumours a few hops around the suspect. HyParView's
    /// own failure detector (its TCP connections), and the default.
    ActiveView,
    /// SWIM as its authors and memberlist run it: every node knows every
    /// member, probes them round-robin and piggybacks membership news on
    /// its probes (see the node's `swim` module). O(n) state per node:
    /// for comparisons at thousands of agents, not at a million.
    FullMembership(Swim),
}

/// Parameters of [`Detector::FullMembership`], memberlist's LAN defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Swim {
    /// Lifeguard's refinements (Dadgar et al. 2018): local health
    /// multiplier, suspicion timeouts shortened by independent suspecters,
    /// buddy system.
    pub lifeguard: bool,
    /// Suspicion timeout in protocol periods per decade of group size:
    /// `suspicion_mult · max(1, log10 n) · probe_interval` (memberlist's 4).
    /// Under Lifeguard this is the shortest timeout, reached once
    /// `suspicion_mult - 2` other members also suspect.
    pub suspicion_mult: u8,
    /// Times each piece of news is piggybacked per decade of group size:
    /// `retransmit_mult · ceil(log10(n + 1))` (memberlist's 4).
    pub retransmit_mult: u8,
    /// Period of the full state sync with one random member (memberlist's
    /// push-pull, 30 s on a LAN): what piggybacking misses, joins above all.
    pub sync_interval: Duration,
}

impl Default for Swim {
    fn default() -> Self {
        Swim {
            lifeguard: false,
            suspicion_mult: 4,
            retransmit_mult: 4,
            sync_interval: Duration::from_secs(30),
        }
    }
}

/// Configuration of one node (shared by all nodes of a run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Dissemination strategy.
    pub strategy: Strategy,
    /// Peer sampling.
    pub sampling: Sampling,
    /// Gossip round length. 200 ms: a few one-way latencies of a regional
    /// network, so a round's messages land before the next round starts.
    pub gossip_interval: Duration,
    /// Rounds a node keeps pushing a message under [`Strategy::Push`] and
    /// [`Strategy::PushPull`]. Push with fanout 1 informs everyone in about
    /// log2(n) + ln(n) rounds (Pittel 1987): 34 at a million; 40 leaves slack.
    pub push_rounds: NonZeroU8,
    /// Hop count a broadcast starts with (at most [`HOPS_MAX`]). A message that
    /// has used them all is delivered but not forwarded.
    pub hops_initial: u8,
    /// Seconds a message stays relevant. Older messages are dropped as
    /// expired on receipt and no longer forwarded. The design's 60 s.
    pub message_ttl: Duration,
    /// Unix second of the host's time zero: header timestamps are
    /// `epoch_unix_s + now`. Simulated hosts of one run share a fixed one;
    /// a real process (`colony node`) sets the Unix second it starts at, so
    /// that timestamps are real time on every process.
    pub epoch_unix_s: u32,
    /// Largest active view. HyParView uses log10(n) + 1: 5 covers a
    /// 10^4-agent swarm and stays a small fanout at 10^6.
    pub active_view_max: NonZeroU8,
    /// Largest passive view: HyParView's k · (log10(n) + 1) with k = 6.
    pub passive_view_max: NonZeroU8,
    /// Active random-walk length of a join (HyParView ARWL).
    pub active_walk_len: u8,
    /// Walk step at which a join is also kept in the passive view (PRWL).
    pub passive_walk_len: u8,
    /// Period of passive-view shuffles.
    pub shuffle_interval: Duration,
    /// Peers of each view sent in a shuffle (active, passive).
    pub shuffle_sample: (u8, u8),
    /// Whether peers are probed (SWIM). Off in the uniform model.
    pub failure_detection: bool,
    /// Which failure detector probes them.
    pub detector: Detector,
    /// SWIM protocol period: one probe per period.
    pub probe_interval: Duration,
    /// How long a direct probe waits for its ACK before asking others to probe.
    /// Must be shorter than `probe_interval`.
    pub probe_timeout: Duration,
    /// Agents asked to probe indirectly (SWIM's k).
    pub indirect_probes: u8,
    /// How long a suspected agent has to refute before it is declared dead
    /// ([`Detector::ActiveView`]; full membership scales its own with the
    /// group size, see [`Swim::suspicion_mult`]).
    pub suspicion_timeout: Duration,
    /// Messages accepted per origin per second (the design's 10). 0 disables.
    /// A message over the limit is dropped but not marked seen: a later copy
    /// (another round's push, a pull reply, a PlumTree repair) is accepted
    /// once the origin's bucket has refilled, so an honest origin briefly
    /// above the limit delays its messages instead of losing them.
    pub rate_per_s: u32,
    /// Burst a fresh origin may send at once.
    pub rate_burst: u32,
    /// Origins whose buckets are tracked; at the bound the longest-idle
    /// bucket is reused.
    pub rate_table_max: u16,
    /// Messages held for the application (queued and digest-bound). The
    /// design's 1000; at the bound the lowest priority, then the oldest, is
    /// evicted and counted.
    pub inbox_max: u16,
    /// Received datagrams waiting for the next round's work budget; at the
    /// bound the lowest priority, then the newest, is dropped and counted.
    pub backlog_max: u16,
    /// New messages a node processes per round; the rest wait in the backlog.
    pub work_per_round_max: NonZeroU16,
    /// Datagrams a node sends per round for gossip; the rest waits for the
    /// next round.
    pub sends_per_round_max: NonZeroU16,
    /// Message ids remembered for duplicate suppression; the oldest is
    /// forgotten first. A message stamped no later than a forgotten id is
    /// refused as stale (it may be a copy of it), so nothing is delivered
    /// twice; the filter must hold more ids than a node accepts in a second
    /// and outlast a message's spread, or late honest messages are refused.
    pub dedup_capacity: u32,
    /// Messages kept for forwarding and for answering pulls; the oldest is
    /// dropped first.
    pub store_max: u16,
    /// Period of the digest of background messages (the design's 60 s).
    pub digest_interval: Duration,
    /// Sample messages a digest carries.
    pub digest_samples: u8,
    /// Attention mode at start.
    pub attention: AttentionMode,
    /// Outstanding requests; a request beyond it is refused.
    pub requests_pending_max: u8,
    /// Score peers and graylist those that send invalid messages or flood
    /// (see the node's `reputation` module). On by default: without it a
    /// minority of flooders takes the swarm down (1,000 agents, 300
    /// flooders at 200 msg/s: mean honest coverage 0.24 off, 0.89 on). The
    /// price: an honest origin that keeps broadcasting above the rate limit
    /// is graylisted by its neighbours like a flooder (one origin at twice
    /// the limit for 10 s: mean coverage of its 200 broadcasts 0.99 off,
    /// 0.50 on); a short burst costs nothing (30 at twice the limit: 1.0
    /// either way).
    pub reputation: bool,
}

impl Default for Config {
    /// Defaults for a swarm of up to tens of thousands of agents.
    fn default() -> Self {
        Config {
            strategy: Strategy::PushPull {
                fanout: NonZeroU8::new(3).expect("non-zero"),
            },
            sampling: Sampling::Views,
            gossip_interval: Duration::from_millis(200),
            push_rounds: NonZeroU8::new(40).expect("non-zero"),
            hops_initial: HOPS_MAX,
            message_ttl: Duration::from_secs(60),
            epoch_unix_s: 1_800_000_000,
            active_view_max: NonZeroU8::new(5).expect("non-zero"),
            passive_view_max: NonZeroU8::new(30).expect("non-zero"),
            active_walk_len: 6,
            passive_walk_len: 3,
            shuffle_interval: Duration::from_secs(10),
            shuffle_sample: (3, 4),
            failure_detection: true,
            detector: Detector::ActiveView,
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_millis(300),
            indirect_probes: 3,
            suspicion_timeout: Duration::from_secs(5),
            rate_per_s: 10,
            rate_burst: 10,
            rate_table_max: 64,
            inbox_max: 1000,
            backlog_max: 1000,
            work_per_round_max: NonZeroU16::new(1000).expect("non-zero"),
            sends_per_round_max: NonZeroU16::new(1000).expect("non-zero"),
            dedup_capacity: 4096,
            store_max: 256,
            digest_interval: Duration::from_secs(60),
            digest_samples: 3,
            attention: AttentionMode::Focused,
            requests_pending_max: 32,
            reputation: true,
        }
    }
}

impl Config {
    /// Defaults for a million agents in the uniform model: the same protocol
    /// with smaller tables, so a node fits the 1 KiB budget.
    pub fn large_scale(population: NonZeroU32) -> Self {
        Config {
            strategy: Strategy::Push {
                fanout: NonZeroU8::MIN,
            },
            sampling: Sampling::Uniform { population },
            failure_detection: false,
            rate_table_max: 8,
            inbox_max: 64,
            backlog_max: 64,
            dedup_capacity: 64,
            store_max: 8,
            ..Config::default()
        }
    }

    /// The per-origin rate limit of [`Config::rate_per_s`],
    /// [`Config::rate_burst`] and [`Config::rate_table_max`].
    pub fn rate_limit(&self) -> crate::rate::RateLimit {
        crate::rate::RateLimit {
            per_second: self.rate_per_s,
            burst: self.rate_burst,
            table_max: self.rate_table_max,
        }
    }

    /// Checks how the fields relate; the first broken rule, as text.
    pub fn validate(&self) -> Result<(), String> {
        if self.hops_initial > HOPS_MAX {
            return Err(format!(
                "hops_initial {} exceeds {HOPS_MAX}",
                self.hops_initial
            ));
        }
        if self.gossip_interval.is_zero() {
            return Err("gossip_interval must be positive".into());
        }
        if self.failure_detection && self.probe_timeout >= self.probe_interval {
            return Err("probe_timeout must be shorter than probe_interval".into());
        }
        if matches!(self.strategy, Strategy::Plumtree { .. }) && self.sampling != Sampling::Views {
            return Err("the plumtree strategy needs sampling = views".into());
        }
        if self.failure_detection && self.sampling != Sampling::Views {
            return Err("failure detection probes the active view: needs sampling = views".into());
        }
        if let Detector::FullMembership(swim) = &self.detector {
            if swim.suspicion_mult == 0 || swim.retransmit_mult == 0 {
                return Err("suspicion_mult and retransmit_mult must be positive".into());
            }
            if swim.sync_interval.is_zero() {
                return Err("the member sync interval must be positive".into());
            }
        }
        if self.digest_interval.is_zero() {
            return Err("digest_interval must be positive".into());
        }
        Ok(())
    }
}
