//! Run metrics shared by every host: per broadcast, who delivered it when
//! and after how many hops; delivery latency in an HDR histogram. The fast
//! engine feeds them at merge time in chunk order (so they cannot depend on
//! thread scheduling); the turmoil and UDP hosts as deliveries happen.

use std::collections::{BTreeMap, BTreeSet};

use colony_core::Priority;
use colony_core::channel::StandardChannel;
use colony_core::message::MessageId;
use colony_core::priority::Disposition;
use colony_reports::{
    ByzantineTraffic, CoveragePoint, FaultReport, LatencyHistogram, MessageReport,
    REPORT_SCHEMA_VERSION, RunReport, Totals,
};

use colony_core::node::{CommandError, DROP_REASONS, DropReason, Handled, NodeStats};

use crate::agent_set::AgentSet;
use crate::direct::{DirectMetrics, RequestEnd};
use crate::faults::FaultTimeline;
use crate::plan::SimSpec;
use crate::script::Action;
use colony_core::rng::mix64;

/// A delivery of an application message, for the metrics.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeliveryRecord {
    pub(crate) id: MessageId,
    pub(crate) agent: u32,
    pub(crate) priority: Priority,
    pub(crate) disposition: Disposition,
    pub(crate) at: u64,
    pub(crate) hops: u8,
    /// [`payload_hash`] of the delivered payload; 0 when the delivery
    /// carried none (queued or digested).
    pub(crate) payload_hash: u64,
}

/// A digest of payload bytes, to tell a tampered delivery from the
/// original (never 0, which means "no payload").
pub(crate) fn payload_hash(bytes: &[u8]) -> u64 {
    let mut hash = mix64(bytes.len() as u64);
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash = mix64(hash ^ u64::from_le_bytes(word));
    }
    hash | 1
}

/// What a host knows of its run beyond the metrics, for the report.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunFacts {
    /// The host's name in reports: "fast", "turmoil", "udp".
    pub(crate) engine: &'static str,
    pub(crate) threads: usize,
    pub(crate) trace: u64,
    pub(crate) virtual_time_ns: u64,
    pub(crate) wall_seconds: f64,
    /// Inputs handled.
    pub(crate) events: u64,
    /// Agents down when the run ended (not eligible for coverage).
    pub(crate) crashed_at_end: u64,
}

/// Points kept per coverage curve in the report: enough for a smooth plot,
/// small enough that a report with many messages stays readable.
const CURVE_POINTS_MAX: usize = 64;

#[derive(Debug)]
struct MessageMetrics {
    /// Agents that delivered it, one bit each (empty when over budget).
    delivered_by: Vec<u64>,
    origin: u32,
    scheduled_ns: u64,
    id: Option<MessageId>,
    eligible: u64,
    times: Vec<u64>,
    last_hop: u8,
    payload_hash: u64,
}

impl MessageMetrics {
    fn complete(&self) -> bool {
        self.id.is_some() && self.times.len() as u64 >= self.eligible
    }
}

#[derive(Debug)]
pub(crate) struct Metrics {
    messages: Vec<MessageMetrics>,
    by_id: BTreeMap<MessageId, usize>,
    deliveries: u64,
    complete: usize,
    latency: LatencyHistogram,
    sent_per_round: Vec<u64>,
    /// Deliveries by disposition: immediate, queued, digest.
    by_disposition: [u64; 3],
    critical_not_immediate: u64,
    digests: u64,
    across_cut: u64,
    redeliveries: u64,
    byzantine: AgentSet,
    /// Ids honest agents sent outside the workload (scripted sends).
    originated: BTreeSet<MessageId>,
    forged: u64,
    tampered: u64,
    /// Honest agents' drops by the sender's behaviour, then reason index.
    drops_by_sender: BTreeMap<&'static str, [u64; DROP_REASONS]>,
    direct: DirectMetrics,
    /// The fault timeline, to count deliveries across an open cut.
    faults: FaultTimeline,
}

/// Bits of per-message delivery sets the metrics may hold (128 MiB): one
/// bit per agent per broadcast tells a second delivery to the same agent (a
/// protocol flaw, reported as `redeliveries`) from coverage. Beyond it,
/// deliveries are counted without that check.
const DELIVERY_BITS_MAX: u64 = 1 << 30;

/// Rounds whose datagram counts are kept; later rounds are added to the
/// last one. 100,000 rounds is over five hours of 200 ms rounds.
const ROUNDS_TRACKED_MAX: u64 = 100_000;

/// Points of the latency CDF in the report.
const CDF_POINTS: usize = 100;

/// The honest subscribers of each channel the spec subscribes agents to,
/// sorted, by channel hash.
fn honest_subscribers(spec: &SimSpec, byzantine: &AgentSet) -> BTreeMap<u32, Vec<u32>> {
    let mut by_channel: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for s in &spec.subscriptions {
        by_channel.entry(s.channel.hash()).or_default().extend(
            s.agents
                .iter()
                .filter(|a| *a < spec.agents && !byzantine.contains(*a)),
        );
    }
    for agents in by_channel.values_mut() {
        agents.sort_unstable();
        agents.dedup();
    }
    by_channel
}

/// How many agents can receive each broadcast of the workload, in order:
/// the honest agents but the origin on the default channels, the honest
/// subscribers but the origin on the others. Every host measures coverage
/// over these.
pub(crate) fn eligible_receivers(spec: &SimSpec) -> Vec<u64> {
    let byzantine = spec.adversary.agents();
    let byzantine_count = byzantine.iter().filter(|a| *a < spec.agents).count() as u64;
    let honest = u64::from(spec.agents) - byzantine_count;
    let subscribers = honest_subscribers(spec, byzantine);
    spec.workload
        .iter()
        .map(|b| {
            let default = StandardChannel::from_hash(b.channel_hash)
                .is_some_and(|c| c.subscribed_by_default());
            if default {
                honest - u64::from(!byzantine.contains(b.origin))
            } else {
                // The lists hold honest agents only.
                subscribers.get(&b.channel_hash).map_or(0, |agents| {
                    let origin = agents.binary_search(&b.origin).is_ok();
                    agents.len() as u64 - u64::from(origin)
                })
            }
        })
        .collect()
}

impl Metrics {
    pub(crate) fn new(spec: &SimSpec) -> Self {
        let track = (spec.workload.len() as u64).saturating_mul(u64::from(spec.agents))
            <= DELIVERY_BITS_MAX;
        let byzantine = spec.adversary.agents().clone();
        let messages = spec
            .workload
            .iter()
            .zip(eligible_receivers(spec))
            .enumerate()
            .map(|(index, (b, eligible))| MessageMetrics {
                delivered_by: if track {
                    vec![0; spec.agents.div_ceil(64) as usize]
                } else {
                    Vec::new()
                },
                origin: b.origin,
                scheduled_ns: b.at_ns,
                id: None,
                eligible,
                times: Vec::new(),
                last_hop: 0,
                payload_hash: {
                    let mut bytes = Vec::new();
                    let _ = b.payload.build(b.origin, index as u32).encode(&mut bytes);
                    payload_hash(&bytes)
                },
            })
            .collect();
        Metrics {
            messages,
            by_id: BTreeMap::new(),
            deliveries: 0,
            complete: 0,
            latency: LatencyHistogram::default(),
            sent_per_round: Vec::new(),
            by_disposition: [0; 3],
            critical_not_immediate: 0,
            digests: 0,
            across_cut: 0,
            redeliveries: 0,
            byzantine,
            originated: BTreeSet::new(),
            forged: 0,
            tampered: 0,
            drops_by_sender: BTreeMap::new(),
            direct: DirectMetrics::default(),
            faults: spec.faults.clone(),
        }
    }

    pub(crate) fn broadcast_sent(&mut self, index: usize, id: MessageId) {
        self.by_id.insert(id, index);
        let m = &mut self.messages[index];
        m.id = Some(id);
        if m.complete() {
            self.complete += 1;
        }
    }

    pub(crate) fn id_of(&self, index: usize) -> Option<MessageId> {
        self.messages.get(index).and_then(|m| m.id)
    }

    pub(crate) fn digests_emitted(&mut self, n: u64) {
        self.digests += n;
    }

    /// `agent`'s node handled scripted `action` at `at_ns` with `result`:
    /// what it sent is not a forgery, and sends and requests are measured.
    pub(crate) fn scripted(
        &mut self,
        agent: u32,
        action: &Action,
        at_ns: u64,
        result: &Result<Handled, CommandError>,
    ) {
        if let Ok(Handled::Sent(id)) = result {
            self.originated.insert(*id);
        }
        self.direct.scripted(agent, action, at_ns, result);
    }

    /// `agent`'s request `seq` ended at `at_ns`.
    pub(crate) fn request_ended(&mut self, agent: u32, seq: u16, at_ns: u64, end: RequestEnd) {
        self.direct.request_ended(agent, seq, at_ns, end);
    }

    pub(crate) fn delivered(&mut self, d: &DeliveryRecord) {
        self.direct.delivered(&d.id, d.at);
        if !self.faults.is_empty()
            && let Some(origin) = crate::script::agent_index(&d.id.from)
            && self.faults.cut(origin, d.agent, d.at)
        {
            self.across_cut += 1;
        }
        if !self.byzantine.is_empty() && self.byzantine.contains(d.agent) {
            return;
        }
        self.deliveries += 1;
        let slot = match d.disposition {
            Disposition::Immediate => 0,
            Disposition::Queued => 1,
            Disposition::Digest => 2,
        };
        self.by_disposition[slot] += 1;
        if d.priority == Priority::Critical && d.disposition != Disposition::Immediate {
            self.critical_not_immediate += 1;
        }
        let Some(&index) = self.by_id.get(&d.id) else {
            let honest_origin =
                crate::script::agent_index(&d.id.from).is_some_and(|o| !self.byzantine.contains(o));
            if honest_origin && !self.originated.contains(&d.id) {
                self.forged += 1;
            }
            return;
        };
        let m = &mut self.messages[index];
        if d.payload_hash != 0 && d.payload_hash != m.payload_hash {
            self.tampered += 1;
        }
        if let Some(word) = m.delivered_by.get_mut(d.agent as usize / 64) {
            let bit = 1u64 << (d.agent % 64);
            if *word & bit != 0 {
                self.redeliveries += 1;
                return;
            }
            *word |= bit;
        }
        let was_complete = m.complete();
        m.times.push(d.at);
        m.last_hop = m.last_hop.max(d.hops);
        self.latency.record(d.at.saturating_sub(m.scheduled_ns));
        if !was_complete && m.complete() {
            self.complete += 1;
        }
    }

    /// The whole report of a run: metrics, the agents' summed statistics,
    /// and the drops the host itself made (each named; zero counts omitted).
    /// `count` datagrams from an agent behaving as `sender` dropped by an
    /// honest agent for reason `reason` (an index of [`DropReason::ALL`]).
    pub(crate) fn dropped_from(&mut self, sender: &'static str, reason: usize, count: u64) {
        self.drops_by_sender
            .entry(sender)
            .or_insert([0; DROP_REASONS])[reason] += count;
    }

    pub(crate) fn full_report<'a>(
        &self,
        spec: &SimSpec,
        run: &RunFacts,
        stats: impl Iterator<Item = (u32, &'a NodeStats)>,
        lost: u64,
        host_drops: &[(&str, u64)],
    ) -> RunReport {
        let (sum, byzantine) = self.sum_stats(stats);
        let round_ns = spec.reported_round_ns();
        let drops: BTreeMap<String, u64> = DropReason::ALL
            .iter()
            .map(|r| (r.name().to_string(), sum.drops_of(*r)))
            .chain(host_drops.iter().map(|(name, n)| (name.to_string(), *n)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let mut report = self.report(round_ns, run.crashed_at_end);
        report.fault_windows_ns = spec.faults.windows(run.virtual_time_ns);
        report.faults = spec
            .faults
            .faults()
            .iter()
            .map(|f| {
                // A fault still on when the run stopped did not end.
                let until_ns = f.until_ns.filter(|u| *u <= run.virtual_time_ns);
                FaultReport::recovery(f.kind.name(), f.at_ns, until_ns, &report.messages)
            })
            .collect();
        report.scenario = spec.name.clone();
        report.seed = spec.seed;
        report.agents = spec.agents;
        report.threads = run.threads;
        report.engine = run.engine.into();
        report.trace_hash = format!("{:016x}", run.trace);
        report.virtual_time_ns = run.virtual_time_ns;
        report.wall_seconds = run.wall_seconds;
        report.peak_rss_bytes = crate::peak_rss_bytes();
        report.events = run.events;
        report.events_per_second = if run.wall_seconds > 0.0 {
            run.events as f64 / run.wall_seconds
        } else {
            0.0
        };
        fill_totals(
            &mut report.totals,
            spec.agents,
            &sum,
            &byzantine,
            lost,
            drops,
        );
        report
    }

    /// Every agent's counters summed, honest and Byzantine agents apart:
    /// deliveries and coverage are over honest agents, so traffic and
    /// duplicates must be too (a flooder's junk would otherwise inflate the
    /// honest redundancy).
    fn sum_stats<'a>(
        &self,
        stats: impl Iterator<Item = (u32, &'a NodeStats)>,
    ) -> (NodeStats, NodeStats) {
        let (mut sum, mut byzantine) = (NodeStats::default(), NodeStats::default());
        for (agent, s) in stats {
            let into = if self.byzantine.contains(agent) {
                &mut byzantine
            } else {
                &mut sum
            };
            into.datagrams_received += s.datagrams_received;
            into.datagrams_sent += s.datagrams_sent;
            into.bytes_sent += s.bytes_sent;
            into.delivered += s.delivered;
            for reason in DropReason::ALL {
                into.add_drops(*reason, s.drops_of(*reason));
            }
        }
        (sum, byzantine)
    }

    pub(crate) fn sent_in_round(&mut self, round: u64, count: u32) {
        let index = round.min(ROUNDS_TRACKED_MAX - 1) as usize;
        if self.sent_per_round.len() <= index {
            self.sent_per_round.resize(index + 1, 0);
        }
        self.sent_per_round[index] += u64::from(count);
    }

    pub(crate) fn deliveries(&self) -> u64 {
        self.deliveries
    }

    pub(crate) fn all_complete(&self) -> bool {
        self.complete == self.messages.len()
    }

    /// The report's message, totals and latency sections.
    /// `crashed_at_end` agents (still down when the run ended) are not
    /// counted as eligible: coverage is over honest live agents.
    /// Whether `agent` delivered broadcast `index`; `None` when deliveries
    /// are not tracked per agent (over [`DELIVERY_BITS_MAX`]).
    pub(crate) fn has_delivered(&self, index: usize, agent: u32) -> Option<bool> {
        let m = self.messages.get(index)?;
        let word = m.delivered_by.get(agent as usize / 64)?;
        Some(word & (1 << (agent % 64)) != 0)
    }

    /// The origin of broadcast `index`.
    pub(crate) fn origin_of(&self, index: usize) -> Option<u32> {
        self.messages.get(index).map(|m| m.origin)
    }

    pub(crate) fn report(&self, round_ns: Option<u64>, crashed_at_end: u64) -> RunReport {
        let messages = self
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| message_report(i, m, round_ns, crashed_at_end))
            .collect();
        RunReport {
            schema_version: REPORT_SCHEMA_VERSION,
            scenario: String::new(),
            seed: 0,
            agents: 0,
            threads: 0,
            engine: String::new(),
            trace_hash: String::new(),
            virtual_time_ns: 0,
            wall_seconds: 0.0,
            peak_rss_bytes: 0,
            events: 0,
            events_per_second: 0.0,
            messages,
            overlay: None,
            overlay_over_time: Vec::new(),
            detection: None,
            direct: self.direct.report(),
            totals: Totals {
                deliveries: self.deliveries,
                deliveries_by_disposition: ["immediate", "queued", "digest"]
                    .into_iter()
                    .zip(self.by_disposition)
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                critical_not_immediate: self.critical_not_immediate,
                digests: self.digests,
                deliveries_across_cut: self.across_cut,
                redeliveries: self.redeliveries,
                byzantine_agents: self.byzantine.len(),
                forged_deliveries: self.forged,
                tampered_deliveries: self.tampered,
                drops_by_sender: self
                    .drops_by_sender
                    .iter()
                    .map(|(sender, counts)| {
                        let by_reason = DropReason::ALL
                            .iter()
                            .zip(counts)
                            .filter(|(_, n)| **n > 0)
                            .map(|(r, n)| (r.name().to_string(), *n))
                            .collect();
                        (sender.to_string(), by_reason)
                    })
                    .collect(),
                ..Totals::default()
            },
            latency_ns: self.latency.summary(),
            latency_cdf: self.latency.cdf(CDF_POINTS),
            round_ns,
            datagrams_per_round: self.sent_per_round.clone(),
            fault_windows_ns: Vec::new(),
            faults: Vec::new(),
            expectations: Vec::new(),
        }
    }
}

/// The traffic totals of honest agents (`sum`) among `agents`, with the
/// Byzantine agents' own apart when there are any.
fn fill_totals(
    totals: &mut Totals,
    agents: u32,
    sum: &NodeStats,
    byzantine: &NodeStats,
    lost: u64,
    drops: BTreeMap<String, u64>,
) {
    totals.datagrams_sent = sum.datagrams_sent;
    totals.datagrams_delivered = sum.datagrams_received;
    totals.datagrams_lost = lost;
    totals.bytes_sent = sum.bytes_sent;
    totals.duplicates = sum.drops_of(DropReason::Duplicate);
    totals.redundancy = if totals.deliveries > 0 {
        totals.duplicates as f64 / totals.deliveries as f64
    } else {
        0.0
    };
    let honest = f64::from(agents) - totals.byzantine_agents as f64;
    totals.datagrams_per_agent = totals.datagrams_sent as f64 / honest.max(1.0);
    totals.bytes_per_agent = totals.bytes_sent as f64 / honest.max(1.0);
    totals.drops = drops;
    if totals.byzantine_agents > 0 {
        totals.byzantine_traffic = Some(ByzantineTraffic {
            datagrams_sent: byzantine.datagrams_sent,
            datagrams_received: byzantine.datagrams_received,
            bytes_sent: byzantine.bytes_sent,
            duplicates: byzantine.drops_of(DropReason::Duplicate),
        });
    }
}

fn message_report(
    index: usize,
    m: &MessageMetrics,
    round_ns: Option<u64>,
    crashed: u64,
) -> MessageReport {
    // Agents still down at the end are not eligible.
    let eligible = m.eligible.saturating_sub(crashed);
    let mut times = m.times.clone();
    times.sort_unstable();
    let delivered = times.len() as u64;
    let time_to = |share_num: u64, share_den: u64| -> Option<u64> {
        if eligible == 0 {
            return None;
        }
        let needed = (eligible * share_num).div_ceil(share_den).max(1);
        times
            .get(needed as usize - 1)
            .map(|t| t.saturating_sub(m.scheduled_ns))
    };
    let full = time_to(1, 1);
    let step = times.len().div_ceil(CURVE_POINTS_MAX).max(1);
    let mut curve: Vec<CoveragePoint> = times
        .iter()
        .enumerate()
        .filter(|(i, _)| (i + 1) % step == 0 || i + 1 == times.len())
        .map(|(i, t)| CoveragePoint {
            t_ns: t.saturating_sub(m.scheduled_ns),
            coverage: (i + 1) as f64 / eligible.max(1) as f64,
        })
        .collect();
    curve.insert(
        0,
        CoveragePoint {
            t_ns: 0,
            coverage: 0.0,
        },
    );
    MessageReport {
        index,
        origin: m.origin,
        sent_at_ns: m.scheduled_ns,
        eligible,
        delivered,
        coverage: if eligible == 0 {
            1.0
        } else {
            delivered.min(eligible) as f64 / eligible as f64
        },
        time_to_50pct_ns: time_to(1, 2),
        time_to_90pct_ns: time_to(9, 10),
        time_to_99pct_ns: time_to(99, 100),
        time_to_full_coverage_ns: full,
        // Round boundaries crossed between the broadcast and the last
        // delivery: rounds fall on multiples of the gossip interval.
        rounds_to_full: full
            .zip(round_ns)
            .map(|(t, r)| (m.scheduled_ns + t) / r - m.scheduled_ns / r),
        last_delivery_hop: m.last_hop,
        curve,
        missed: None,
    }
}
