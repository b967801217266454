//! The report of one run, as written to `report.json`. The format is
//! versioned: [`REPORT_SCHEMA_VERSION`] changes whenever a field changes
//! meaning or disappears.

use serde::{Deserialize, Serialize};

/// Version of the `report.json` format.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Delivery-latency percentiles, nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

/// One point of a coverage curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoveragePoint {
    /// Virtual time since the broadcast, nanoseconds.
    pub t_ns: u64,
    /// Share of the eligible agents that delivered it by then (0..=1).
    pub coverage: f64,
}

/// One point of a cumulative distribution.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CdfPoint {
    /// Value, nanoseconds.
    pub value_ns: u64,
    /// Share of samples at or below it (0..=1).
    pub share: f64,
}

/// What happened to one broadcast.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageReport {
    /// Index in the workload.
    pub index: usize,
    /// Origin agent.
    pub origin: u32,
    /// Virtual time of the broadcast, nanoseconds.
    pub sent_at_ns: u64,
    /// Agents that should deliver it (live, honest, subscribed; origin excluded).
    pub eligible: u64,
    /// Agents that delivered it.
    pub delivered: u64,
    /// `delivered / eligible`.
    pub coverage: f64,
    /// Time from broadcast to 50% coverage, or null if never reached.
    pub time_to_50pct_ns: Option<u64>,
    /// Time to 90% coverage.
    pub time_to_90pct_ns: Option<u64>,
    /// Time to 99% coverage.
    pub time_to_99pct_ns: Option<u64>,
    /// Time to full coverage.
    pub time_to_full_coverage_ns: Option<u64>,
    /// Gossip rounds from broadcast to full coverage (where the strategy has rounds).
    pub rounds_to_full: Option<u64>,
    /// Largest hop count of any delivery.
    pub last_delivery_hop: u8,
    /// Coverage over time (a bounded number of points).
    pub curve: Vec<CoveragePoint>,
    /// Who did not deliver it, and what the run knows of why (null at full
    /// coverage, or where the host does not track deliveries per agent).
    #[serde(default)]
    pub missed: Option<MissedDeliveries>,
}

/// Agents listed per missed broadcast: enough to find a pattern, small
/// enough that a report with a broken overlay stays readable.
pub const MISSED_LISTED_MAX: usize = 100;

/// The eligible agents that never delivered a broadcast.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MissedDeliveries {
    /// How many missed it.
    pub count: u64,
    /// The first [`MISSED_LISTED_MAX`] of them, by agent id.
    pub agents: Vec<MissedAgent>,
}

/// One agent that missed a broadcast, as the run left it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MissedAgent {
    /// The agent.
    pub agent: u32,
    /// Its active view's size at the end (partial views only).
    pub active_view: u32,
    /// It was told of the message (IHAVE) and was still asking for it.
    pub awaiting_repair: bool,
    /// Active neighbours crashed at the end.
    pub crashed_neighbours: u32,
    /// Active neighbours that are Byzantine.
    pub byzantine_neighbours: u32,
    /// Active neighbours across a partition still open at the end.
    #[serde(default)]
    pub partitioned_neighbours: u32,
    /// PlumTree repairs this agent gave up over the run (announced
    /// messages that never came after every attempt).
    #[serde(default)]
    pub repairs_abandoned: u64,
    /// Agents holding it in their active view (0: no one sends to it).
    pub held_by: u32,
}

/// Failure detection over a run: what the agents suspected, refuted and
/// confirmed, how fast crashes were noticed, and how long survivors kept
/// sending to crashed agents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DetectionReport {
    /// Suspicions started (one per agent that suspected a peer).
    pub suspicions: u64,
    /// Suspicions cleared (a refutation or an answered probe).
    pub refutations: u64,
    /// Deaths confirmed (one per agent that confirmed a peer dead).
    pub confirmations: u64,
    /// Confirmations of honest agents that were up at the time.
    pub false_positives: u64,
    /// Distinct honest agents confirmed dead while up.
    pub false_positive_agents: u64,
    /// Crashes in the run (an agent crashing twice counts twice).
    pub crashes: u64,
    /// Crashes that no agent confirmed while the agent was down.
    pub crashes_unconfirmed: u64,
    /// Per crash, from the crash to the first suspicion by anyone.
    pub first_suspicion_ms: Percentiles,
    /// Per crash, from the crash to the first confirmation by anyone.
    pub first_confirmation_ms: Percentiles,
    /// Per crash, from the crash to the last agent confirming it (the last
    /// neighbour learning it).
    pub last_confirmation_ms: Percentiles,
    /// Datagrams sent to crashed agents, per live agent, in each second of
    /// virtual time from zero.
    pub sends_to_crashed_per_agent_s: Vec<f64>,
    /// The same, averaged over the seconds after every crash was confirmed
    /// by everyone who confirmed it (null when no such second exists).
    pub sends_to_crashed_after_detection_per_agent_s: Option<f64>,
}

/// Point-to-point traffic of a run's workload: requests (`kind =
/// "request"`) and direct sends (`kind = "send"`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DirectReport {
    /// Requests the workload scheduled.
    pub requests: u64,
    /// Requests the asking node refused to send (too many outstanding, or
    /// the asker had crashed or left).
    pub requests_refused: u64,
    /// Requests answered before their timeout.
    pub requests_answered: u64,
    /// Requests whose timeout passed first.
    pub requests_timed_out: u64,
    /// Requests sent but neither answered nor timed out when the run ended.
    pub requests_unresolved: u64,
    /// Request to answer, over answered requests.
    pub round_trip_ms: Percentiles,
    /// Direct sends the workload scheduled.
    pub sends: u64,
    /// Direct sends the receiver delivered.
    pub sends_delivered: u64,
    /// Send to delivery, over delivered sends.
    pub send_latency_ms: Percentiles,
}

impl DirectReport {
    /// Share of the requests answered (1 with no request).
    pub fn answered_share(&self) -> f64 {
        if self.requests == 0 {
            1.0
        } else {
            self.requests_answered as f64 / self.requests as f64
        }
    }
}

/// Percentiles of a set of durations, milliseconds (all zero when empty).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Values measured.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// The percentiles of `values_ns` (any order), in milliseconds.
    pub fn of_ns(values_ns: &mut [u64]) -> Percentiles {
        values_ns.sort_unstable();
        let at = |per_mille: usize| {
            values_ns
                .get((values_ns.len() * per_mille / 1000).min(values_ns.len().saturating_sub(1)))
                .map_or(0.0, |ns| *ns as f64 / 1e6)
        };
        Percentiles {
            count: values_ns.len() as u64,
            p50: at(500),
            p90: at(900),
            p99: at(990),
            max: values_ns.last().map_or(0.0, |ns| *ns as f64 / 1e6),
        }
    }
}

/// The overlay at one moment of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverlaySample {
    /// Virtual time of the sample, nanoseconds.
    pub t_ns: u64,
    /// The active-view graph then.
    pub overlay: OverlayReport,
}

/// The active-view graph at the end of a run (partial views only):
/// computed over live honest agents and the links between them, with a
/// union-find over the active links.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverlayReport {
    /// Live honest agents counted.
    pub agents: u64,
    /// Smallest active view.
    pub degree_min: u32,
    /// Median active view.
    pub degree_p50: u32,
    /// Largest active view.
    pub degree_max: u32,
    /// Share of live agents with an empty active view.
    pub isolated_share: f64,
    /// Share of active links whose other end does not hold the link back.
    pub asymmetric_link_share: f64,
    /// Connected components of the active graph (links taken both ways).
    pub components: u64,
    /// Agents in the largest component.
    pub largest_component: u64,
    /// Mean passive-view size over the configured maximum.
    pub passive_fill: f64,
}

/// What the Byzantine agents of a run sent and received (kept apart from
/// the honest totals).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByzantineTraffic {
    /// Datagrams they sent.
    pub datagrams_sent: u64,
    /// Datagrams they received.
    pub datagrams_received: u64,
    /// Bytes they sent.
    pub bytes_sent: u64,
    /// Duplicates their (unmodified) nodes suppressed.
    pub duplicates: u64,
}

/// Run-wide counters. In runs with Byzantine agents, every counter here is
/// over honest agents (traffic, duplicates, drops and deliveries alike);
/// what the Byzantine agents sent is in `byzantine_traffic`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Datagrams the (honest) agents sent.
    pub datagrams_sent: u64,
    /// Datagrams the network delivered to (honest) agents, duplicates included.
    pub datagrams_delivered: u64,
    /// Datagrams the network lost.
    pub datagrams_lost: u64,
    /// Bytes the (honest) agents sent.
    pub bytes_sent: u64,
    /// Deliveries of application messages.
    pub deliveries: u64,
    /// Deliveries by where the attention mode routed them (immediate, queued, digest).
    pub deliveries_by_disposition: std::collections::BTreeMap<String, u64>,
    /// Deliveries of Critical messages that were not immediate (must be 0).
    pub critical_not_immediate: u64,
    /// Digests the agents emitted.
    pub digests: u64,
    /// Deliveries made across an active partition (must be 0: a cut is a cut).
    pub deliveries_across_cut: u64,
    /// Second deliveries of a message to the same agent (must be 0: the
    /// duplicate filter forgot an id too early). Not counted as coverage.
    pub redeliveries: u64,
    /// Byzantine agents in the run (excluded from coverage and deliveries:
    /// every figure is over honest agents).
    #[serde(default)]
    pub byzantine_agents: u64,
    /// Deliveries, at honest agents, of messages that claim an honest
    /// origin which never sent them (forgeries that got through).
    #[serde(default)]
    pub forged_deliveries: u64,
    /// Deliveries, at honest agents, of a broadcast whose payload differs
    /// from what its origin sent (corruption or equivocation that got
    /// through; checked where the payload is delivered).
    #[serde(default)]
    pub tampered_deliveries: u64,
    /// Duplicates suppressed (by honest agents).
    pub duplicates: u64,
    /// Duplicates per delivery (honest agents).
    pub redundancy: f64,
    /// Datagrams sent per honest agent.
    pub datagrams_per_agent: f64,
    /// Bytes sent per honest agent.
    pub bytes_per_agent: f64,
    /// What the Byzantine agents sent and received (null without them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byzantine_traffic: Option<ByzantineTraffic>,
    /// Drops by reason (reason name → count), sorted by name.
    pub drops: std::collections::BTreeMap<String, u64>,
    /// In runs with Byzantine agents: what honest agents dropped, by the
    /// behaviour of the agent that sent it (`"honest"` for honest senders),
    /// then by reason — what each attack cost the swarm, and which defence
    /// stopped it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub drops_by_sender:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>>,
}

/// One fault of the run and the recovery after it ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultReport {
    /// Its kind, as written in scenarios (`"partition"`, `"churn"`, …).
    pub kind: String,
    /// Start, ns.
    pub at_ns: u64,
    /// End (heal, restart, release), ns; `None` when it lasts to the end.
    pub until_ns: Option<u64>,
    /// Broadcasts sent before the end: the ones it could hold up.
    pub broadcasts_before_end: u64,
    /// Time from the end until every one of those broadcasts reached its
    /// full coverage (0 when they all had before it ended); `None` when the
    /// fault never ended, or one of them never completed (not recovered).
    pub recovered_after_ns: Option<u64>,
}

impl FaultReport {
    /// Fills in the recovery of a fault from the report's messages.
    pub fn recovery(
        kind: &str,
        at_ns: u64,
        until_ns: Option<u64>,
        messages: &[MessageReport],
    ) -> Self {
        let before: Vec<&MessageReport> = match until_ns {
            Some(end) => messages.iter().filter(|m| m.sent_at_ns < end).collect(),
            None => Vec::new(),
        };
        let recovered_after_ns = until_ns.and_then(|end| {
            before.iter().try_fold(0u64, |latest, m| {
                let done = m.sent_at_ns + m.time_to_full_coverage_ns?;
                Some(latest.max(done.saturating_sub(end)))
            })
        });
        FaultReport {
            kind: kind.to_string(),
            at_ns,
            until_ns,
            broadcasts_before_end: before.len() as u64,
            recovered_after_ns,
        }
    }
}

/// The verdict of one `expect` of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    /// What was expected, e.g. `coverage >= 1.0`.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// The expected value, as text.
    pub expected: String,
    /// The measured value, as text.
    pub actual: String,
}

/// Everything one run produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// [`REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Agents simulated.
    pub agents: u32,
    /// Worker threads.
    pub threads: usize,
    /// Host: `fast`, `turmoil` or `udp`.
    pub engine: String,
    /// Hash of the run's schedule (hex); equal for equal scenario and seed.
    pub trace_hash: String,
    /// Virtual time simulated, nanoseconds.
    pub virtual_time_ns: u64,
    /// Wall-clock seconds the run took.
    pub wall_seconds: f64,
    /// Peak resident memory of the process, bytes (0 where unknown).
    pub peak_rss_bytes: u64,
    /// Inputs processed (datagrams, timeouts, commands).
    pub events: u64,
    /// `events / wall_seconds`.
    pub events_per_second: f64,
    /// One entry per broadcast.
    pub messages: Vec<MessageReport>,
    /// Counters.
    pub totals: Totals,
    /// Delivery latency over all broadcasts.
    pub latency_ns: LatencySummary,
    /// Its cumulative distribution (a bounded number of points).
    pub latency_cdf: Vec<CdfPoint>,
    /// Gossip round length, nanoseconds (null for strategies without rounds).
    pub round_ns: Option<u64>,
    /// Datagrams sent in each round (or each 100 ms without rounds), from time zero.
    pub datagrams_per_round: Vec<u64>,
    /// Fault windows (start, end) in nanoseconds, for shading plots.
    pub fault_windows_ns: Vec<(u64, u64)>,
    /// Every fault of the timeline and how long the swarm took to recover
    /// from it.
    #[serde(default)]
    pub faults: Vec<FaultReport>,
    /// The overlay at the end of the run (null without partial views).
    #[serde(default)]
    pub overlay: Option<OverlayReport>,
    /// The overlay sampled over the run (empty without partial views).
    #[serde(default)]
    pub overlay_over_time: Vec<OverlaySample>,
    /// Failure detection (null in runs where no agent crashed and nobody
    /// suspected anyone).
    #[serde(default)]
    pub detection: Option<DetectionReport>,
    /// Requests and direct sends (null when the workload has none).
    #[serde(default)]
    pub direct: Option<DirectReport>,
    /// Verdicts of the scenario's expectations.
    pub expectations: Vec<Expectation>,
}
