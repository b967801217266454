//! The scenario file format, as serde types: every key, its unit and its
//! default. `scenarios/README.md` documents the same keys for people;
//! `colony schema` exports them as a JSON Schema for editors.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::units::{DurationText, RatioText};

/// A scenario file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Short name; reports and baselines are named after it.
    pub name: String,
    /// What the scenario shows.
    #[serde(default)]
    pub description: String,
    /// Seeds to run (each run is independent). Default `[1]`.
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// When a run ends.
    pub stop: StopSection,
    /// The swarm.
    pub agents: AgentsSection,
    /// Protocol parameters.
    #[serde(default)]
    pub protocol: ProtocolSection,
    /// The network model.
    #[serde(default)]
    pub network: NetworkSection,
    /// Broadcasts to make.
    #[serde(default)]
    pub workload: Vec<WorkloadItem>,
    /// What must hold at the end; a failed expectation fails the run.
    #[serde(default)]
    pub expect: ExpectSection,
    /// Fault timeline: partitions, crashes and restarts, loss changes.
    #[serde(default)]
    pub faults: Vec<FaultSection>,
    /// Byzantine agents: who, doing what, from when.
    #[serde(default)]
    pub byzantine: Vec<ByzantineSection>,
}

/// Byzantine behaviours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BehaviourName {
    /// Drops everything in and out.
    Silent,
    /// Drops a share (`ratio`) of its application datagrams, or one `channel`.
    Selective,
    /// Broadcasts junk at `rate` messages per second.
    Flood,
    /// Claims `victim` as the origin of what it sends.
    Forge,
    /// Flips a payload byte of a share (`ratio`) of its datagrams.
    Corrupt,
    /// Different payloads to different peers under one id.
    Equivocate,
    /// Sends every application datagram again, `delay` later.
    Replay,
    /// Holds every datagram for `delay`.
    Delay,
    /// Fills `victim`'s active view with colluders and starves it.
    Eclipse,
}

/// One group of Byzantine agents.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ByzantineSection {
    /// What they do.
    #[schemars(with = "BehaviourName")]
    pub behaviour: Spanned<BehaviourName>,
    /// The agents: the *last* share of the agents (`"33/100"`; the first
    /// agents, the usual broadcast origins, stay honest)…
    #[serde(default)]
    pub share: Option<RatioText>,
    /// …or a list of agents…
    #[serde(default)]
    pub agents: Option<Vec<u32>>,
    /// …or a range: `first` and `count`.
    #[serde(default)]
    pub first: Option<u32>,
    /// Agents in the range. Default 1.
    #[serde(default)]
    pub count: Option<u32>,
    /// From when they misbehave. Default `"0s"`.
    #[serde(default)]
    pub from: Option<DurationText>,
    /// Selective, corrupt: share of the datagrams concerned. Default all.
    #[serde(default)]
    pub ratio: Option<RatioText>,
    /// Selective: drop only (and all of) this channel.
    #[serde(default)]
    pub channel: Option<String>,
    /// Flood: messages per second.
    #[serde(default)]
    pub rate: Option<u32>,
    /// Forge, eclipse: the agent impersonated or isolated.
    #[serde(default)]
    pub victim: Option<u32>,
    /// Delay, replay: how long.
    #[serde(default)]
    pub delay: Option<DurationText>,
}

fn default_seeds() -> Vec<u64> {
    vec![1]
}

/// When a run ends.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopSection {
    /// Virtual time limit, e.g. `"60s"`.
    pub duration: DurationText,
    /// Stop as soon as every broadcast reached every eligible agent. Default true.
    #[serde(default = "yes")]
    pub at_full_coverage: bool,
}

fn yes() -> bool {
    true
}

/// The swarm.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentsSection {
    /// Number of agents (1 to 10,000,000).
    #[schemars(with = "u32")]
    pub count: Spanned<u32>,
    /// Regions, in order; agents are assigned to them in contiguous id
    /// ranges by `count` or `share`. Empty: one region.
    #[serde(default)]
    pub regions: Vec<RegionSection>,
    /// Agents with a finite CPU (the CPU model); others are infinitely fast.
    #[serde(default)]
    pub cpu: Vec<CpuSection>,
    /// Channels beyond the default ones that groups of agents subscribe to
    /// from the start (`_debug`, `custom:NAME`).
    #[serde(default)]
    pub subscribe: Vec<SubscribeSection>,
}

/// A group of agents subscribed to a channel from the start.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeSection {
    /// The channel (`_debug`, `custom:NAME`).
    #[schemars(with = "String")]
    pub channel: Spanned<String>,
    /// The subscribers: the first share of the agents (`"1/3"`)…
    #[serde(default)]
    pub share: Option<RatioText>,
    /// …or a list of agents…
    #[serde(default)]
    pub agents: Option<Vec<u32>>,
    /// …or a range: `first` and `count`.
    #[serde(default)]
    pub first: Option<u32>,
    /// Agents in the range. Default 1.
    #[serde(default)]
    pub count: Option<u32>,
}

/// A group of agents with a finite CPU.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CpuSection {
    /// First agent of the group.
    pub first: u32,
    /// Agents in the group. Default 1.
    #[serde(default = "one")]
    pub count: u32,
    /// CPU speed, cycles per second (e.g. 2000000000 for 2 GHz).
    pub cycles_per_second: u64,
}

/// One region.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionSection {
    /// Name, for reports.
    pub name: String,
    /// Agents in the region (give `count` or `share`).
    #[serde(default)]
    pub count: Option<u32>,
    /// Share of the agents, e.g. `"1/3"` (the last region takes the rest).
    #[serde(default)]
    pub share: Option<RatioText>,
}

/// Dissemination strategies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyName {
    /// Push to `fanout` random peers every round.
    Push,
    /// Pull from one random peer every round.
    Pull,
    /// Both.
    PushPull,
    /// Rumor mongering (`rumor_loss`, `rumor_stop`, `rumor_k`).
    Rumor,
    /// Eager/lazy tree (needs `sampling = "views"`).
    Plumtree,
}

/// Rumor mongering: what makes a node lose interest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RumorLoss {
    /// Contacts that already knew.
    Feedback,
    /// Any send.
    Blind,
}

/// Rumor mongering: how those events end interest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RumorStop {
    /// After `k` of them.
    Counter,
    /// With probability 1/k each.
    Coin,
}

/// Peer sampling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SamplingName {
    /// Any agent uniformly (the textbook model).
    Uniform,
    /// HyParView partial views with SWIM failure detection.
    Views,
}

/// Failure detectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DetectorName {
    /// SWIM-style probing of the active view (O(log n) state).
    ActiveView,
    /// SWIM over the full member list, as its authors and memberlist run it.
    Swim,
}

/// Attention modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AttentionName {
    /// Everything immediately.
    Realtime,
    /// Critical immediately, normal queued, background digested.
    Focused,
    /// Critical immediately, the rest digested.
    Minimal,
}

/// Protocol parameters; every key is optional and defaults as documented.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProtocolSection {
    /// Default `"push-pull"`.
    #[schemars(with = "StrategyName")]
    pub strategy: Spanned<StrategyName>,
    /// Peers per push (push, push-pull, rumor). Default 2.
    pub fanout: u8,
    /// Rumor: `"feedback"` or `"blind"`. Default feedback.
    pub rumor_loss: RumorLoss,
    /// Rumor: `"counter"` or `"coin"`. Default counter.
    pub rumor_stop: RumorStop,
    /// Rumor: parameter k. Default 4.
    pub rumor_k: u8,
    /// PlumTree: wait after an IHAVE before GRAFT. Default `"300ms"`.
    pub repair_after: DurationText,
    /// `"uniform"` or `"views"`. Default views.
    pub sampling: SamplingName,
    /// Round length. Default `"200ms"`.
    pub gossip_interval: DurationText,
    /// Rounds a node keeps pushing a message. Default 40.
    pub push_rounds: u8,
    /// Hop limit of a broadcast (at most 63). Default 63.
    pub hops: u8,
    /// Message TTL. Default `"60s"`.
    pub message_ttl: DurationText,
    /// Active view size. Default 5.
    pub active_view: u8,
    /// Passive view size. Default 30.
    pub passive_view: u8,
    /// Shuffle period. Default `"10s"`.
    pub shuffle_interval: DurationText,
    /// SWIM failure detection. Default: on with views, off with uniform.
    pub failure_detection: Option<bool>,
    /// SWIM period. Default `"1s"`.
    pub probe_interval: DurationText,
    /// SWIM direct-probe timeout. Default `"300ms"`.
    pub probe_timeout: DurationText,
    /// SWIM suspicion timeout of the active-view detector. Default `"5s"`.
    pub suspicion_timeout: DurationText,
    /// `"active-view"` (probe the active view) or `"swim"` (full
    /// membership, round-robin probes, piggybacked news). Default
    /// active-view.
    pub detector: DetectorName,
    /// Swim: Lifeguard's local health multiplier, dogpile suspicion
    /// timeouts and buddy system. Default false.
    pub lifeguard: bool,
    /// Swim: suspicion timeout in periods per decade of agents
    /// (`mult · max(1, log10 n) · probe_interval`). Default 4.
    pub suspicion_mult: u8,
    /// Swim: sends of each piece of news per decade of agents. Default 4.
    pub retransmit_mult: u8,
    /// Swim: period of the full member-list sync with a random member.
    /// Default `"30s"`.
    pub member_sync_interval: DurationText,
    /// Messages per origin per second (0 = unlimited). Default 10.
    pub rate_per_s: u32,
    /// Inbox bound. Default 1000.
    pub inbox: u16,
    /// Ids remembered for duplicate suppression. Default 4096.
    pub dedup: u32,
    /// Messages kept for forwarding. Default 256.
    pub store: u16,
    /// New messages handled per round. Default 1000.
    pub work_per_round: u16,
    /// Attention mode of every agent. Default `"focused"`.
    pub attention: AttentionName,
    /// Digest period. Default `"60s"`.
    pub digest_interval: DurationText,
    /// Ed25519 signatures: every agent signs what it originates and drops
    /// what does not verify. Default false.
    pub signatures: bool,
    /// Peer scoring: graylist peers that send invalid messages or flood.
    /// Default true (see `scenarios/README.md` for the trade-off).
    pub reputation: bool,
}

impl Default for ProtocolSection {
    fn default() -> Self {
        let parse = |s: &str| DurationText::parse(s).expect("valid default");
        ProtocolSection {
            strategy: Spanned::new(0..0, StrategyName::PushPull),
            fanout: 2,
            rumor_loss: RumorLoss::Feedback,
            rumor_stop: RumorStop::Counter,
            rumor_k: 4,
            repair_after: parse("300ms"),
            sampling: SamplingName::Views,
            gossip_interval: parse("200ms"),
            push_rounds: 40,
            hops: 63,
            message_ttl: parse("60s"),
            active_view: 5,
            passive_view: 30,
            shuffle_interval: parse("10s"),
            failure_detection: None,
            probe_interval: parse("1s"),
            probe_timeout: parse("300ms"),
            suspicion_timeout: parse("5s"),
            detector: DetectorName::ActiveView,
            lifeguard: false,
            suspicion_mult: 4,
            retransmit_mult: 4,
            member_sync_interval: parse("30s"),
            rate_per_s: 10,
            inbox: 1000,
            dedup: 4096,
            store: 256,
            work_per_round: 1000,
            attention: AttentionName::Focused,
            digest_interval: parse("60s"),
            signatures: false,
            reputation: true,
        }
    }
}

/// A latency distribution.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "distribution", rename_all = "lowercase", deny_unknown_fields)]
pub enum LatencySection {
    /// Always `value`.
    Constant {
        /// The latency.
        value: DurationText,
    },
    /// Uniform in `[min, max]`.
    Uniform {
        /// Smallest.
        min: DurationText,
        /// Largest.
        max: DurationText,
    },
    /// Normal, clamped at `floor`.
    Normal {
        /// Mean.
        mean: DurationText,
        /// Standard deviation.
        std_dev: DurationText,
        /// Smallest value.
        floor: DurationText,
    },
    /// Log-normal, clamped at `floor`.
    Lognormal {
        /// Median.
        median: DurationText,
        /// Shape of the underlying normal, e.g. 0.5.
        sigma: f64,
        /// Smallest value.
        floor: DurationText,
    },
}

/// The network model.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// Latency of every link. Default constant `"10ms"`.
    #[serde(default = "default_latency")]
    pub latency: LatencySection,
    /// Share of datagrams lost. Default `"0"`.
    #[serde(default)]
    pub loss: RatioText,
    /// Share of datagrams duplicated. Default `"0"`.
    #[serde(default)]
    pub duplicate: RatioText,
    /// With regions: `region_latency[from][to]`, one row per region.
    #[serde(default)]
    pub region_latency: Option<Vec<Vec<LatencySection>>>,
}

fn default_latency() -> LatencySection {
    LatencySection::Constant {
        value: DurationText::parse("10ms").expect("valid default"),
    }
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            latency: default_latency(),
            loss: RatioText::default(),
            duplicate: RatioText::default(),
            region_latency: None,
        }
    }
}

/// Kinds of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FaultName {
    /// Cut the agents of the side off from the rest (or only one way).
    Partition,
    /// Crash the agents; restart them at `until`.
    Crash,
    /// Change the network's loss.
    Loss,
    /// Hold what the agents send and are sent; release it at `until`.
    Clog,
    /// Bursty (Gilbert–Elliott) loss on the agents' uplinks.
    BurstLoss,
    /// Slower uplinks: `extra` (and up to `jitter` more) per datagram.
    Latency,
    /// Agents leave at `rate` per second and rejoin fresh after `downtime`.
    Churn,
}

/// One fault of the timeline, active from `at` to `until`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSection {
    /// `"partition"`, `"crash"`, `"loss"`, `"clog"`, `"burst-loss"`,
    /// `"latency"` or `"churn"`.
    #[schemars(with = "FaultName")]
    pub kind: Spanned<FaultName>,
    /// Start.
    pub at: DurationText,
    /// End (heal, restart); absent: until the run ends.
    #[serde(default)]
    pub until: Option<DurationText>,
    /// The agents concerned, by region names…
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// …or the first share of the agents (`"1/3"`)…
    #[serde(default)]
    pub share: Option<RatioText>,
    /// …or a list of agents…
    #[serde(default)]
    pub agents: Option<Vec<u32>>,
    /// …or a range: `first` and `count`.
    #[serde(default)]
    pub first: Option<u32>,
    /// Agents in the range. Default 1.
    #[serde(default)]
    pub count: Option<u32>,
    /// Partition: cut only the direction from the agents to the rest.
    #[serde(default)]
    pub one_way: bool,
    /// Crash: restart with a fresh state (and a new join) rather than resume.
    #[serde(default)]
    pub lose_state: bool,
    /// Loss: the share of datagrams lost meanwhile. Burst loss: the share
    /// lost in the bad state (default all).
    #[serde(default)]
    pub loss: Option<RatioText>,
    /// Burst loss: chance per datagram to go from good to bad.
    #[serde(default)]
    pub enter: Option<RatioText>,
    /// Burst loss: chance per datagram to go from bad to good.
    #[serde(default)]
    pub exit: Option<RatioText>,
    /// Latency: added to every datagram the agents send.
    #[serde(default)]
    pub extra: Option<DurationText>,
    /// Latency: up to this much more, drawn per datagram.
    #[serde(default)]
    pub jitter: Option<DurationText>,
    /// Churn: departures per second.
    #[serde(default)]
    pub rate: Option<u32>,
    /// Churn: how long each departed agent stays away.
    #[serde(default)]
    pub downtime: Option<DurationText>,
}

/// Priorities, as written in scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PriorityName {
    /// Critical.
    Critical,
    /// Normal.
    Normal,
    /// Background.
    Background,
}

/// What a workload message carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadName {
    /// Opaque bytes.
    #[default]
    App,
    /// An LLM usage report.
    LlmUsage,
    /// A status update.
    Status,
    /// A suggestion naming a file and line.
    Suggestion,
    /// A bug report.
    BugReport,
    /// An error report.
    Error,
    /// The extended JSON message given in `json`, sent as type `extended`.
    Json,
}

/// What a workload line makes its agent do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// Broadcast to every subscriber of the channel.
    #[default]
    Broadcast,
    /// Send to one agent (`to`), whatever its subscriptions.
    Send,
    /// Ask one agent (`to`) a question and wait `timeout` for the answer.
    Request,
}

/// One line of the workload: `count` messages, `every` apart, from `from`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadItem {
    /// What each message is: a broadcast, a direct send or a request.
    /// Default broadcast.
    #[serde(default = "broadcast_kind")]
    #[schemars(with = "WorkloadKind")]
    pub kind: Spanned<WorkloadKind>,
    /// Time of the first message. Default `"0s"`.
    #[serde(default = "zero")]
    pub at: DurationText,
    /// The sending agent's index. Default 0.
    #[serde(default = "agent_zero")]
    #[schemars(with = "u32")]
    pub from: Spanned<u32>,
    /// The receiver of a send or a request (an agent index).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub to: Option<Spanned<u32>>,
    /// How long a request waits for its answer. Default `"5s"`.
    #[serde(default)]
    pub timeout: Option<DurationText>,
    /// Channel name (`_suggestions`, `custom:NAME` …). Default `_suggestions`.
    #[serde(default = "default_channel")]
    #[schemars(with = "String")]
    pub channel: Spanned<String>,
    /// Priority. Default: the channel's.
    #[serde(default)]
    pub priority: Option<PriorityName>,
    /// What a broadcast or send carries: `"app"` (opaque bytes of
    /// `payload_bytes`), a typed payload (`"llm-usage"`, `"status"`,
    /// `"suggestion"`, `"bug-report"`, `"error"`) or `"json"` (the extended
    /// message in `json`). Default app.
    #[serde(default)]
    #[schemars(with = "Option<PayloadName>")]
    pub payload: Option<Spanned<PayloadName>>,
    /// Payload size in bytes for `"app"`. Default 24.
    #[serde(default = "default_payload")]
    pub payload_bytes: u16,
    /// The extended JSON message of `payload = "json"` (the design's form:
    /// `id`, `from`, `to`, `type`, `topic`, `payload`, `priority`,
    /// `timestamp`, `ttl`, `reply_to`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub json: Option<Spanned<String>>,
    /// Messages in this line. Default 1.
    #[serde(default = "one")]
    pub count: u32,
    /// Time between them. Default `"1s"`.
    #[serde(default = "one_second")]
    pub every: DurationText,
}

fn broadcast_kind() -> Spanned<WorkloadKind> {
    Spanned::new(0..0, WorkloadKind::Broadcast)
}
fn agent_zero() -> Spanned<u32> {
    Spanned::new(0..0, 0)
}
fn zero() -> DurationText {
    DurationText::parse("0s").expect("valid default")
}
fn one_second() -> DurationText {
    DurationText::parse("1s").expect("valid default")
}
fn default_channel() -> Spanned<String> {
    Spanned::new(0..0, "_suggestions".to_string())
}
fn default_payload() -> u16 {
    24
}
fn one() -> u32 {
    1
}

/// Expectations, checked against the report of each seed.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectSection {
    /// Smallest acceptable coverage of every broadcast (0..=1).
    pub coverage: Option<f64>,
    /// Longest acceptable time to full coverage of every broadcast.
    pub time_to_full_coverage: Option<DurationText>,
    /// Longest acceptable time to 99% coverage.
    pub time_to_99pct: Option<DurationText>,
    /// Most gossip rounds to full coverage.
    pub rounds_to_full: Option<u64>,
    /// Largest acceptable delivery-latency p99.
    pub latency_p99: Option<DurationText>,
    /// Most duplicates per delivery.
    pub redundancy: Option<f64>,
    /// Every eligible agent delivered every broadcast.
    pub no_honest_loss: Option<bool>,
    /// Every delivery of a Critical message was immediate, whatever the attention mode.
    pub critical_immediate: Option<bool>,
    /// At least this many digests were emitted.
    pub digests_min: Option<u64>,
    /// Most deliveries across an active partition (0: the cut holds).
    pub deliveries_across_cut: Option<u64>,
    /// Most datagrams sent per agent.
    pub datagrams_per_agent: Option<f64>,
    /// No honest agent delivered a forged or tampered message.
    pub no_forgery: Option<bool>,
    /// Every fault that ended was recovered from within this long: every
    /// broadcast sent before its end reached full coverage by then.
    pub recovery_within: Option<DurationText>,
    /// Most honest agents' deaths confirmed while they were up.
    pub false_positives: Option<u64>,
    /// Longest acceptable p99, over crashes, of the time from a crash to
    /// its first confirmation.
    pub detection_p99: Option<DurationText>,
    /// Smallest acceptable share of the workload's requests answered
    /// before their timeout (0..=1).
    pub requests_answered: Option<f64>,
}
