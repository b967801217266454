//! The fast engine: a deterministic, parallel discrete-event simulator that
//! drives unmodified [`colony_core::Node`]s with bytes on the wire.
//!
//! # How it is parallel and deterministic
//!
//! Virtual time is cut into windows of `W` = the smallest link latency,
//! aligned on multiples of `W`. A datagram sent in window `k` arrives in
//! window `k+1` or later, so within a window agents are independent. Each
//! step of [`Engine::run`] is a short list of named phases:
//!
//! 1. **find the next window** holding a datagram, a timer or a workload
//!    command (empty time is skipped);
//! 2. **take its inputs**, split by destination chunk (fixed ranges of
//!    [`CHUNK_AGENTS`] agent ids — never one chunk per thread);
//! 3. **run the agents** of each chunk in parallel (rayon); a chunk sorts its
//!    inputs by (time, target, source, seq) and writes what its agents send,
//!    deliver and schedule into its own buffers;
//! 4. **merge** the chunk buffers in chunk order: datagrams into the windows
//!    where they land (their fate and latency are a pure hash of seed,
//!    endpoints and the sender's counter), timers into the timer wheel,
//!    deliveries into the metrics, chunk hashes into the trace hash;
//! 5. **check the stop condition** and report progress.
//!
//! No phase depends on which thread ran which chunk, so the trace hash is the
//! same on any number of threads.

mod chunk;
pub mod cpu;
mod inflight;
mod timer_wheel;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use colony_core::channel::Channel;
use colony_core::config::{Config, Sampling, Strategy};
use colony_core::message::MessageId;
use colony_core::node::{Command, Input, Node, PeerChange};
use colony_core::payload::{
    BugReport, ErrorReport, LlmEndpoint, LlmUsage, Payload, Status, Suggestion,
};
use colony_core::rng::{Rng, mix64};
use colony_core::time::Time;
use colony_core::{AgentId, Priority};
use colony_reports::{OverlayReport, OverlaySample, RunReport};
use rayon::prelude::*;

use crate::byzantine::{Adversary, Behaviour};
use crate::detection::Detection;
use crate::faults::{AgentSet, FaultKind, FaultTimeline};
use crate::link_rng::StreamKeys;
use crate::memo_keys::MemoKeys;
use crate::metrics::{Metrics, RunFacts};
use crate::network::NetworkModel;
use crate::overlay::OverlayView;
use crate::script::{Action, Observed, ScriptedAction};
pub(crate) use chunk::restarted_node;
use chunk::{
    ChunkAgents, ChunkOutput, ChunkWork, CommandKind, DueCommand, WindowContext, run_chunk,
};
use colony_core::signing::{KeyDirectory, SeededKeys};
use inflight::{Arena, InFlight, InFlightQueue, SortedSends};
use timer_wheel::TimerWheel;

/// Agents per chunk: the unit of parallel work. Fixed, so that the split —
/// and therefore every merge order — does not depend on the thread count.
/// 4,096 agents keep a chunk's nodes within a few MiB (cache-friendly) while
/// a million agents still give 245 chunks to balance across threads.
pub const CHUNK_AGENTS: usize = 4096;

/// Marks "no timeout" in an agent's slot.
pub(crate) const NO_TIMEOUT: u64 = u64::MAX;

/// Datagram-count bucket for strategies without rounds (PlumTree): 100 ms.
const UNROUNDED_BUCKET_NS: u64 = 100_000_000;

/// Time between join waves: several round trips of a wide-area network, so
/// each wave's joins have settled before the next wave uses its agents as
/// contacts. A million agents join in 20 waves (5 s).
pub const JOIN_WAVE_NS: u64 = 250_000_000;

/// How often each eclipse colluder asks its victim to make it an active
/// neighbour: faster than honest shuffles and failure detection can give
/// the victim its honest neighbours back.
const ECLIPSE_INTERVAL_NS: u64 = 500_000_000;

/// Overlay samples a run takes at most (partial views only): enough for a
/// smooth plot of the overlay's health over time; each costs one pass over
/// the agents' active views.
const OVERLAY_SAMPLES_MAX: u64 = 64;

/// Stream of the join-contact choices.
const JOIN_STREAM: u64 = 0x6a6f_696e;

/// Stream of the per-agent RNGs (distinct from every link stream).
const AGENT_RNG_STREAM: u64 = 0xa9e4_7000;

/// One broadcast of the workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broadcast {
    /// Virtual time of the broadcast, nanoseconds.
    pub at_ns: u64,
    /// The agent that broadcasts.
    pub origin: u32,
    /// Channel id.
    pub channel_hash: u32,
    /// Priority.
    pub priority: Priority,
    /// What the broadcast carries.
    pub payload: PayloadKind,
}

/// The payload of a workload broadcast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    /// Opaque application bytes of this length (measures dissemination only).
    App {
        /// Bytes.
        len: usize,
    },
    /// An LLM usage report (`_llm_usage`): the origin's endpoint, saturated.
    LlmUsage,
    /// A status update: what the origin works on and how far along it is.
    Status,
    /// A suggestion naming a file and line.
    Suggestion,
    /// A bug report.
    BugReport,
    /// An error report.
    Error,
    /// An extended JSON message, sent as type `extended`.
    Json {
        /// Its text.
        text: String,
    },
}

impl PayloadKind {
    /// The payload of broadcast `index` from `origin`.
    pub fn build(&self, origin: u32, index: u32) -> Payload {
        match self {
            PayloadKind::App { len } => Payload::App(vec![0; *len]),
            PayloadKind::LlmUsage => Payload::LlmUsage(LlmUsage {
                endpoints: vec![LlmEndpoint {
                    provider: "aws_bedrock".into(),
                    account: format!("agent-{origin}"),
                    region: "us-east-1".into(),
                    model: "claude-3-5-sonnet".into(),
                    rate_limit_remaining: 0,
                    tokens_remaining: 0,
                    saturated: true,
                    latency_ms: 420,
                }],
                requests_last_minute: 127,
            }),
            PayloadKind::Status => Payload::Status(Status {
                working_on: format!("task-{index}"),
                progress: 0.5,
            }),
            PayloadKind::Suggestion => Payload::Suggestion(Suggestion {
                suggestion: format!("look at task-{index} before merging"),
                file: Some("src/lib.rs".into()),
                line: Some(index),
            }),
            PayloadKind::BugReport => Payload::BugReport(BugReport {
                bug: format!("task-{index} fails its tests"),
                file: Some("src/lib.rs".into()),
                description: format!("agent-{origin} saw an assertion fail"),
            }),
            PayloadKind::Error => Payload::Error(ErrorReport {
                error: format!("task-{index} timed out"),
                detail: Some(format!("agent-{origin} gave up after 3 retries")),
            }),
            PayloadKind::Json { text } => Payload::Extended(text.clone()),
        }
    }
}

/// When a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopCondition {
    /// Virtual time limit, nanoseconds.
    pub duration_ns: u64,
    /// Stop as soon as every broadcast reached every eligible agent.
    pub at_full_coverage: bool,
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct SimSpec {
    /// Scenario name, for the report.
    pub name: String,
    /// Agents.
    pub agents: u32,
    /// Seed of every random decision.
    pub seed: u64,
    /// The node configuration all agents share.
    pub node: Config,
    /// The network.
    pub network: NetworkModel,
    /// Broadcasts, in any order.
    pub workload: Vec<Broadcast>,
    /// When to stop.
    pub stop: StopCondition,
    /// Agents with a finite CPU (empty: every agent is infinitely fast).
    pub cpu: Vec<cpu::CpuGroup>,
    /// The fault timeline (empty: no fault).
    pub faults: FaultTimeline,
    /// Application actions beyond the workload's broadcasts.
    pub script: Vec<ScriptedAction>,
    /// Record every agent's [`Observed`] events (small runs: conformance
    /// tests, host comparisons); off, the engine keeps only the metrics.
    pub observe: bool,
    /// Byzantine agents (empty: everyone is honest).
    pub adversary: Adversary,
    /// Every agent signs what it originates and accepts only messages with
    /// a valid signature from their origin (keys from the seed).
    pub signatures: bool,
    /// Channels beyond the default ones that agents subscribe to from the
    /// start (and again after a restart with a fresh state).
    pub subscriptions: Vec<Subscription>,
}

/// Agents subscribed to a channel from the start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// The channel (`_debug`, `custom:NAME`).
    pub channel: Channel,
    /// Its subscribers.
    pub agents: AgentSet,
}

impl SimSpec {
    /// A run of `agents` agents under `node` over `network` until `stop`,
    /// with no workload, fault, script, adversary, CPU model, signature or
    /// extra subscription: add what the run needs with struct update syntax.
    pub fn new(
        name: impl Into<String>,
        agents: u32,
        seed: u64,
        node: Config,
        network: NetworkModel,
        stop: StopCondition,
    ) -> Self {
        SimSpec {
            name: name.into(),
            agents,
            seed,
            node,
            network,
            workload: Vec::new(),
            stop,
            cpu: Vec::new(),
            faults: FaultTimeline::default(),
            script: Vec::new(),
            observe: false,
            adversary: Adversary::default(),
            signatures: false,
            subscriptions: Vec::new(),
        }
    }
}

impl SimSpec {
    /// The bucket datagrams are counted in: the gossip round, or 100 ms for
    /// strategies without rounds.
    pub(crate) fn round_ns(&self) -> u64 {
        match self.node.strategy {
            Strategy::Plumtree { .. } => UNROUNDED_BUCKET_NS,
            _ => (self.node.gossip_interval.as_nanos() as u64).max(1),
        }
    }

    /// The round length reported (none for strategies without rounds).
    pub(crate) fn reported_round_ns(&self) -> Option<u64> {
        match self.node.strategy {
            Strategy::Plumtree { .. } => None,
            _ => Some(self.round_ns()),
        }
    }
}

/// Why a spec cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecError {
    /// No agents.
    NoAgents,
    /// The smallest link latency is zero: no parallel window exists.
    ZeroLatency,
    /// The node configuration is inconsistent.
    Node(String),
    /// A scripted action names an agent that does not exist.
    UnknownAgent {
        /// Index of the action.
        index: usize,
        /// The agent named.
        agent: u32,
    },
    /// A broadcast names an agent that does not exist.
    UnknownOrigin {
        /// Index of the broadcast.
        index: usize,
        /// The agent named.
        origin: u32,
    },
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpecError::NoAgents => write!(f, "a run needs at least one agent"),
            SpecError::ZeroLatency => {
                write!(
                    f,
                    "the smallest link latency must be positive (it is the engine's window)"
                )
            }
            SpecError::Node(why) => write!(f, "node configuration: {why}"),
            SpecError::UnknownAgent { index, agent } => {
                write!(
                    f,
                    "action {index} names agent {agent}, which does not exist"
                )
            }
            SpecError::UnknownOrigin { index, origin } => {
                write!(
                    f,
                    "broadcast {index} names agent {origin}, which does not exist"
                )
            }
        }
    }
}

impl std::error::Error for SpecError {}

/// Agent `agent`'s node at the start of a run, subscribed to its channels:
/// the same on every host.
pub(crate) fn new_node(
    seed: u64,
    config: &Arc<Config>,
    subscriptions: &[Subscription],
    agent: u32,
) -> Node<u32> {
    let rng = Rng::for_agent(seed, AGENT_RNG_STREAM, u64::from(agent));
    let mut node = Node::new(
        AgentId::from_index(u64::from(agent)),
        agent,
        Arc::clone(config),
        rng,
    );
    subscribe(&mut node, subscriptions, agent, Time::ZERO);
    node
}

/// Subscribes agent `agent`'s node to the channels the run gives it. The
/// scenario checked the table's bounds and hash collisions at load.
pub(crate) fn subscribe(
    node: &mut Node<u32>,
    subscriptions: &[Subscription],
    agent: u32,
    now: Time,
) {
    for s in subscriptions.iter().filter(|s| s.agents.contains(agent)) {
        let _ = node.handle(now, Input::Command(Command::Subscribe(s.channel.clone())));
    }
}

/// The key directory of a run with signatures: every agent's public key,
/// derived from the seed.
pub(crate) fn key_directory(spec: &SimSpec) -> Option<Arc<dyn KeyDirectory>> {
    spec.signatures.then(|| {
        Arc::new(MemoKeys::new(spec.seed, u64::from(spec.agents))) as Arc<dyn KeyDirectory>
    })
}

/// Gives agent `agent`'s node its signing key and the directory, when the
/// run uses signatures.
pub(crate) fn secure(
    node: &mut Node<u32>,
    seed: u64,
    keys: Option<&Arc<dyn KeyDirectory>>,
    agent: u32,
) {
    if let Some(keys) = keys {
        let signer = SeededKeys::signing_key(seed, u64::from(agent));
        node.set_security(Some(signer), Some(Arc::clone(keys)));
    }
}

/// One agent's join at the start of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Join {
    pub(crate) agent: u32,
    pub(crate) at_ns: u64,
    pub(crate) contact: u32,
}

/// Who joins through whom, when (views sampling only; with uniform
/// sampling every agent knows every id from the start). The same plan on
/// every host.
pub(crate) fn join_plan(spec: &SimSpec) -> Vec<Join> {
    if spec.node.sampling != Sampling::Views {
        return Vec::new();
    }
    // Agents join in waves: agent i (i >= 1) joins in wave floor(log2 i),
    // through an agent of an earlier wave picked by a pure hash of (seed,
    // agent). Every contact is then already in the overlay when asked —
    // joining everyone at once through agents that are themselves still
    // joining leaves islands.
    (1..spec.agents)
        .map(|agent| {
            let wave = u64::from(agent.ilog2());
            let earlier = 1u64 << wave; // agents 0..2^wave joined before
            let contact =
                (mix64(spec.seed ^ mix64(JOIN_STREAM ^ u64::from(agent))) % earlier) as u32;
            Join {
                agent,
                at_ns: wave * JOIN_WAVE_NS,
                contact,
            }
        })
        .collect()
}

/// Junk messages flooders broadcast, one command each, and the eclipse
/// colluders' neighbour requests, one per shuffle interval.
fn adversary_commands(spec: &SimSpec) -> Vec<DueCommand> {
    let mut commands = Vec::new();
    for group in spec.adversary.groups() {
        let (interval_ns, kind) = match group.behaviour {
            Behaviour::Flood { per_s } if per_s > 0 => {
                (1_000_000_000 / u64::from(per_s), CommandKind::Flood)
            }
            Behaviour::Eclipse { victim } if victim < spec.agents => {
                (ECLIPSE_INTERVAL_NS, CommandKind::Eclipse(victim))
            }
            _ => continue,
        };
        let interval_ns = interval_ns.max(1);
        for agent in group.agents.iter().filter(|a| *a < spec.agents) {
            let mut at = group.from_ns;
            while at < spec.stop.duration_ns {
                commands.push(DueCommand { agent, at, kind });
                at += interval_ns;
            }
        }
    }
    commands
}

/// The engine's per-agent bookkeeping next to the node.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AgentSlot {
    /// The node's next timeout, or [`NO_TIMEOUT`].
    pub(crate) timeout: u64,
    /// Datagrams this agent sent: the `seq` of its link decisions.
    pub(crate) sent: u32,
    /// Crashed: inputs are lost until it restarts.
    pub(crate) crashed: bool,
    /// Restarts so far (seeds the fresh state of a restart).
    pub(crate) restarts: u32,
    /// The uplink's Gilbert–Elliott state during a burst-loss fault.
    pub(crate) bursting: bool,
}

/// The CPU of an agent with a finite one (kept apart from [`AgentSlot`]:
/// runs without a CPU model hold none, a million agents 16 bytes less each).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CpuSlot {
    /// CPU speed in cycles per second; 0 = infinitely fast.
    pub(crate) cycles_per_s: u64,
    /// Until when the agent's CPU is busy, virtual ns.
    pub(crate) busy_until: u64,
}

/// Progress of a run, for progress bars.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Virtual time reached, nanoseconds.
    pub now_ns: u64,
    /// Virtual time limit, nanoseconds.
    pub until_ns: u64,
    /// Deliveries so far.
    pub deliveries: u64,
    /// Datagrams in flight.
    pub in_flight: u64,
}

/// Wall-clock seconds the engine spent in each phase of its steps: what a
/// profile of the engine itself looks like, for benchmarks. Measured with
/// the host's clock, so it varies from run to run; it never reaches a
/// result or the trace hash.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseSeconds {
    /// Taking a window's datagrams, timers and commands (serial).
    pub take_inputs: f64,
    /// Running the agents (parallel over chunks).
    pub run_agents: f64,
    /// Merging the chunks' outputs (grouping sends is parallel; filing
    /// timers and metrics is serial).
    pub merge: f64,
}

/// A fast-engine run.
pub struct Engine {
    spec: SimSpec,
    nodes: Vec<Node<u32>>,
    slots: Vec<AgentSlot>,
    window_ns: u64,
    in_flight: InFlightQueue,
    /// Each chunk's timers.
    timer_wheels: Vec<TimerWheel>,
    /// Each chunk's agents' CPUs (empty vectors without a CPU model).
    cpu: Vec<Vec<CpuSlot>>,
    /// Joins and workload broadcasts, by window.
    commands: BTreeMap<u64, Vec<DueCommand>>,
    metrics: Metrics,
    observed: Vec<Observed>,
    keys: Option<Arc<dyn KeyDirectory>>,
    costs: cpu::CostTable,
    cpu_drops: u64,
    fault_drops: [u64; 2],
    config: Arc<Config>,
    trace: u64,
    now_ns: u64,
    events: u64,
    lost: u64,
    phases: PhaseSeconds,
    /// Crashes, suspicions and confirmations, for the report.
    detection: Detection,
    /// The overlay sampled so far, and when the next sample is due.
    overlay_samples: Vec<OverlaySample>,
    next_overlay_sample_ns: u64,
}

impl Engine {
    /// Builds the agents of `spec`; every node's timers start at time zero.
    pub fn new(spec: SimSpec) -> Result<Engine, SpecError> {
        if spec.agents == 0 {
            return Err(SpecError::NoAgents);
        }
        let window_ns = spec.network.latency_min().as_nanos() as u64;
        if window_ns == 0 {
            return Err(SpecError::ZeroLatency);
        }
        spec.node.validate().map_err(SpecError::Node)?;
        for (index, b) in spec.workload.iter().enumerate() {
            if b.origin >= spec.agents {
                return Err(SpecError::UnknownOrigin {
                    index,
                    origin: b.origin,
                });
            }
        }
        for (index, a) in spec.script.iter().enumerate() {
            let target = match a.action {
                Action::SendTo { to, .. } | Action::Request { to, .. } => to,
                _ => a.agent,
            };
            for agent in [a.agent, target] {
                if agent >= spec.agents {
                    return Err(SpecError::UnknownAgent { index, agent });
                }
            }
        }
        let config = Arc::new(spec.node.clone());
        let n = spec.agents as usize;
        let mut nodes = Vec::with_capacity(n);
        let mut slots = Vec::with_capacity(n);
        let mut timer_wheels: Vec<TimerWheel> = (0..n.div_ceil(CHUNK_AGENTS))
            .map(|_| TimerWheel::default())
            .collect();
        // Per chunk: every agent's CPU, or nothing without a CPU model.
        let mut cpu: Vec<Vec<CpuSlot>> =
            (0..n.div_ceil(CHUNK_AGENTS)).map(|_| Vec::new()).collect();
        let keys = key_directory(&spec);
        for agent in 0..spec.agents {
            let mut node = new_node(spec.seed, &config, &spec.subscriptions, agent);
            secure(&mut node, spec.seed, keys.as_ref(), agent);
            let _ = node.handle(Time::ZERO, Input::Timeout);
            let timeout = node.poll_timeout().map_or(NO_TIMEOUT, Time::as_ns);
            if timeout != NO_TIMEOUT {
                timer_wheels[agent as usize / CHUNK_AGENTS].file([(agent, timeout / window_ns)]);
            }
            nodes.push(node);
            if !spec.cpu.is_empty() {
                let cycles_per_s = spec
                    .cpu
                    .iter()
                    .rev()
                    .find(|g| (g.first..g.end).contains(&agent))
                    .map_or(0, |g| g.cycles_per_s);
                cpu[agent as usize / CHUNK_AGENTS].push(CpuSlot {
                    cycles_per_s,
                    busy_until: 0,
                });
            }
            slots.push(AgentSlot {
                timeout,
                sent: 0,
                crashed: false,
                restarts: 0,
                bursting: false,
            });
        }
        // Every command of the run, in the order each window handles ties:
        // workload, script, adversary, joins, crashes and restarts.
        let workload = spec
            .workload
            .iter()
            .enumerate()
            .map(|(index, b)| DueCommand {
                agent: b.origin,
                at: b.at_ns,
                kind: CommandKind::Broadcast(index as u32),
            });
        let script = spec.script.iter().enumerate().map(|(index, a)| DueCommand {
            agent: a.agent,
            at: a.at_ns,
            kind: CommandKind::Script(index as u32),
        });
        let joins = join_plan(&spec).into_iter().map(|join| DueCommand {
            agent: join.agent,
            at: join.at_ns,
            kind: CommandKind::Join(join.contact),
        });
        let mut lifecycle = Vec::new();
        for fault in spec.faults.faults() {
            if let FaultKind::Crash { agents, lose_state } = &fault.kind {
                for agent in agents.iter().filter(|a| *a < spec.agents) {
                    lifecycle.push(DueCommand {
                        agent,
                        at: fault.at_ns,
                        kind: CommandKind::Crash,
                    });
                    if let Some(until) = fault.until_ns {
                        lifecycle.push(DueCommand {
                            agent,
                            at: until,
                            kind: CommandKind::Restart(*lose_state),
                        });
                    }
                }
            }
        }
        for departure in spec.faults.churn(spec.seed, spec.stop.duration_ns) {
            if departure.agent >= spec.agents {
                continue;
            }
            lifecycle.push(DueCommand {
                agent: departure.agent,
                at: departure.leave_ns,
                kind: CommandKind::Crash,
            });
            lifecycle.push(DueCommand {
                agent: departure.agent,
                at: departure.rejoin_ns,
                kind: CommandKind::Restart(true),
            });
        }
        let mut commands: BTreeMap<u64, Vec<DueCommand>> = BTreeMap::new();
        for command in workload
            .chain(script)
            .chain(adversary_commands(&spec))
            .chain(joins)
            .chain(lifecycle)
        {
            commands
                .entry(command.at / window_ns)
                .or_default()
                .push(command);
        }
        let chunks = n.div_ceil(CHUNK_AGENTS);
        let metrics = Metrics::new(&spec);
        Ok(Engine {
            nodes,
            slots,
            window_ns,
            in_flight: InFlightQueue::new(chunks),
            timer_wheels,
            cpu,
            commands,
            metrics,
            observed: Vec::new(),
            keys,
            costs: cpu::CostTable::default(),
            cpu_drops: 0,
            fault_drops: [0; 2],
            config,
            trace: mix64(spec.seed ^ u64::from(spec.agents)),
            now_ns: 0,
            events: 0,
            lost: 0,
            phases: PhaseSeconds::default(),
            detection: Detection::default(),
            overlay_samples: Vec::new(),
            next_overlay_sample_ns: 0,
            spec,
        })
    }

    /// The agents' nodes, indexed by agent.
    pub fn nodes(&self) -> &[Node<u32>] {
        &self.nodes
    }

    /// Wall-clock seconds spent in each phase so far.
    pub fn phase_seconds(&self) -> PhaseSeconds {
        self.phases
    }

    /// The parallel window, nanoseconds.
    pub fn window_ns(&self) -> u64 {
        self.window_ns
    }

    /// Runs to the stop condition on `threads` worker threads, calling
    /// `progress` after every window, and returns the report.
    pub fn run(&mut self, threads: usize, progress: &mut dyn FnMut(Progress)) -> RunReport {
        let started = Instant::now();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .expect("a thread pool of a positive size");
        while let Some(k) = self.next_window() {
            if k.saturating_mul(self.window_ns) > self.spec.stop.duration_ns {
                break;
            }
            self.step(k, &pool);
            self.sample_overlay();
            progress(Progress {
                now_ns: self.now_ns,
                until_ns: self.spec.stop.duration_ns,
                deliveries: self.metrics.deliveries(),
                in_flight: self.in_flight.len(),
            });
            if self.spec.stop.at_full_coverage && self.metrics.all_complete() {
                break;
            }
        }
        let wall = started.elapsed();
        self.report(threads.max(1), wall.as_secs_f64())
    }

    /// Phase 1: the earliest window with a datagram, a timer or a command.
    fn next_window(&self) -> Option<u64> {
        let timers = self.timer_wheels.iter().filter_map(TimerWheel::next_window);
        [
            self.in_flight.next_window(),
            self.commands.keys().next().copied(),
        ]
        .into_iter()
        .flatten()
        .chain(timers)
        .min()
    }

    /// One window: phases 2 to 4.
    fn step(&mut self, k: u64, pool: &rayon::ThreadPool) {
        let window_end = (k + 1) * self.window_ns;
        let started = Instant::now();
        let (works, arenas) = self.take_inputs(k);
        let taken = Instant::now();
        let outputs = pool.install(|| self.run_agents(k, works, &arenas));
        drop(arenas);
        let ran = Instant::now();
        pool.install(|| self.merge(k, outputs));
        self.phases.take_inputs += (taken - started).as_secs_f64();
        self.phases.run_agents += (ran - taken).as_secs_f64();
        self.phases.merge += ran.elapsed().as_secs_f64();
        self.now_ns = window_end.min(self.spec.stop.duration_ns);
    }

    /// Phase 2: the window's datagrams and commands, per chunk (each chunk
    /// takes its own timers from its wheel).
    fn take_inputs(&mut self, k: u64) -> (Vec<ChunkWork>, Vec<Arena>) {
        let bucket = self.in_flight.take(k);
        let mut works: Vec<ChunkWork> = bucket
            .per_chunk
            .into_iter()
            .map(|records| ChunkWork {
                records,
                ..ChunkWork::default()
            })
            .collect();
        for command in self.commands.remove(&k).unwrap_or_default() {
            works[command.agent as usize / CHUNK_AGENTS]
                .commands
                .push(command);
        }
        (works, bucket.arenas)
    }

    /// Phase 3: every chunk with work, in parallel.
    fn run_agents(
        &mut self,
        k: u64,
        works: Vec<ChunkWork>,
        arenas: &[Arena],
    ) -> Vec<Option<ChunkOutput>> {
        let window_end = (k + 1) * self.window_ns;
        let ctx = WindowContext {
            seed: self.spec.seed,
            streams: StreamKeys::new(self.spec.seed),
            network: &self.spec.network,
            workload: &self.spec.workload,
            script: &self.spec.script,
            observe: self.spec.observe,
            adversary: &self.spec.adversary,
            keys: self.keys.as_ref(),
            window_ns: self.window_ns,
            window_end,
            round_ns: self.round_ns(),
            costs: &self.costs,
            faults: &self.spec.faults,
            config: &self.config,
            subscriptions: &self.spec.subscriptions,
            agents: self.spec.agents,
        };
        self.nodes
            .par_chunks_mut(CHUNK_AGENTS)
            .zip(self.slots.par_chunks_mut(CHUNK_AGENTS))
            .zip(self.timer_wheels.par_iter_mut())
            .zip(self.cpu.par_iter_mut())
            .zip(works.into_par_iter())
            .enumerate()
            .map(|(c, ((((nodes, slots), wheel), cpu), mut work))| {
                let base = (c * CHUNK_AGENTS) as u32;
                if wheel.next_window() == Some(k) {
                    // Entries go stale when a timeout moves; the slot is
                    // the truth.
                    work.timers = wheel.take(k);
                    work.timers.retain(|agent| {
                        slots[(agent - base) as usize].timeout / ctx.window_ns == k
                    });
                }
                if work.is_empty() {
                    return None;
                }
                let agents = ChunkAgents {
                    base,
                    nodes,
                    slots,
                    cpu,
                };
                Some(run_chunk(&ctx, agents, wheel, arenas, work))
            })
            .collect()
    }

    /// Phase 4: chunk outputs in chunk order. Datagrams are routed to their
    /// windows in parallel over destination chunks (see `inflight`); the
    /// rest is small and merged here, in chunk order.
    fn merge(&mut self, k: u64, outputs: Vec<Option<ChunkOutput>>) {
        let window_ns = self.window_ns;
        let mut outputs: Vec<ChunkOutput> = outputs.into_iter().flatten().collect();
        let sends: Vec<(Vec<InFlight>, Vec<u8>)> = outputs
            .iter_mut()
            .map(|o| (std::mem::take(&mut o.sent), std::mem::take(&mut o.bytes)))
            .collect();
        let sorted: Vec<SortedSends> = sends
            .into_par_iter()
            .map(|(records, bytes)| SortedSends::new(records, bytes, window_ns))
            .collect();
        self.in_flight.add(&sorted);
        drop(sorted);
        self.merge_detection(&mut outputs);
        for out in outputs {
            self.trace = mix64(self.trace ^ mix64(k ^ (u64::from(out.chunk) << 40)) ^ out.hash);
            self.events += out.inputs;
            self.lost += out.lost;
            self.cpu_drops += out.cpu_drops;
            self.fault_drops[0] += out.partition_drops;
            self.fault_drops[1] += out.crash_drops;
            for (round, count) in out.sends {
                self.metrics.sent_in_round(round, count);
            }
            for (index, id) in out.broadcasts {
                self.metrics.broadcast_sent(index as usize, id);
            }
            for (index, agent, at, result) in &out.scripted {
                let action = &self.spec.script[*index as usize].action;
                self.metrics.scripted(*agent, action, *at, result);
            }
            for (agent, seq, at, end) in out.request_ends {
                self.metrics.request_ended(agent, seq, at, end);
            }
            for d in &out.deliveries {
                self.metrics.delivered(d);
                if !self.spec.faults.is_empty()
                    && let Some(origin) = d.id.from.index().and_then(|i| u32::try_from(i).ok())
                    && self.spec.faults.cut(origin, d.agent, d.at)
                {
                    self.metrics.delivered_across_cut();
                }
            }
            for (sender, reason, count) in out.drops_by_sender {
                self.metrics.dropped_from(sender, reason, count);
            }
            self.metrics.digests_emitted(out.digests);
            self.observed.extend(out.observed);
        }
    }

    fn round_ns(&self) -> u64 {
        self.spec.round_ns()
    }

    /// Crashes, restarts and failure-detection events of a window, in time
    /// order (ties in chunk order), so that an event is judged against the
    /// crashes before it whichever chunk saw either.
    fn merge_detection(&mut self, outputs: &mut [ChunkOutput]) {
        enum Item {
            Lifecycle(u32, bool),
            Peer(u32, PeerChange),
            CrashDrops(u64),
        }
        let mut items: Vec<(u64, Item)> = Vec::new();
        for out in outputs.iter_mut() {
            let lifecycle = std::mem::take(&mut out.lifecycle);
            let events = std::mem::take(&mut out.peer_events);
            let drops = std::mem::take(&mut out.crash_drop_runs);
            items.extend(
                lifecycle
                    .into_iter()
                    .map(|(a, t, down)| (t, Item::Lifecycle(a, down))),
            );
            items.extend(events.into_iter().map(|(t, p, c)| (t, Item::Peer(p, c))));
            items.extend(drops.into_iter().map(|(t, n)| (t, Item::CrashDrops(n))));
        }
        items.sort_by_key(|(t, _)| *t);
        let byzantine = self.spec.adversary.agents();
        for (at, item) in items {
            match item {
                Item::Lifecycle(agent, down) => self.detection.lifecycle(agent, at, down),
                Item::Peer(peer, change) => self.detection.peer_event(at, peer, change, byzantine),
                Item::CrashDrops(count) => self.detection.sent_to_crashed(at, count),
            }
        }
    }

    /// The report of the run so far.
    fn report(&self, threads: usize, wall_seconds: f64) -> RunReport {
        let crashed_at_end = self.slots.iter().filter(|s| s.crashed).count() as u64;
        let host_drops = [
            ("network_loss", self.lost),
            ("cpu_overload", self.cpu_drops),
            ("partition", self.fault_drops[0]),
            ("crashed", self.fault_drops[1]),
        ];
        let run = RunFacts {
            engine: "fast",
            threads,
            trace: self.trace,
            virtual_time_ns: self.now_ns,
            wall_seconds,
            events: self.events,
            crashed_at_end,
        };
        let stats = (0u32..).zip(self.nodes.iter().map(Node::stats));
        let mut report = self
            .metrics
            .full_report(&self.spec, &run, stats, self.lost, &host_drops);
        report.detection = self
            .detection
            .report(u64::from(self.spec.agents) - crashed_at_end);
        if self.spec.node.sampling == Sampling::Views {
            self.explain_overlay(&mut report);
        }
        report
    }

    /// The overlay's health once per sample interval of virtual time
    /// (partial views only; at window boundaries, so the same on any
    /// number of threads).
    fn sample_overlay(&mut self) {
        if self.spec.node.sampling != Sampling::Views || self.now_ns < self.next_overlay_sample_ns {
            return;
        }
        let interval_ns = (self.spec.stop.duration_ns / OVERLAY_SAMPLES_MAX).max(self.window_ns);
        self.next_overlay_sample_ns = self.now_ns + interval_ns;
        let overlay = self.overlay_health();
        self.overlay_samples.push(OverlaySample {
            t_ns: self.now_ns,
            overlay,
        });
    }

    fn overlay_health(&self) -> OverlayReport {
        self.overlay_view(&|a| self.crashed(a), &|s, t| self.cut_now(s, t))
            .health(self.spec.node.passive_view_max.get())
    }

    fn overlay_view<'a>(
        &'a self,
        crashed: &'a dyn Fn(u32) -> bool,
        cut: &'a dyn Fn(u32, u32) -> bool,
    ) -> OverlayView<'a> {
        OverlayView {
            nodes: &self.nodes,
            crashed,
            byzantine: self.spec.adversary.agents(),
            cut,
        }
    }

    fn crashed(&self, agent: u32) -> bool {
        self.slots.get(agent as usize).is_some_and(|s| s.crashed)
    }

    fn cut_now(&self, source: u32, target: u32) -> bool {
        self.spec.faults.cut(source, target, self.now_ns)
    }

    /// Overlay health and, for every broadcast below full coverage, the
    /// agents that missed it (partial views only).
    fn explain_overlay(&self, report: &mut RunReport) {
        report.overlay = Some(self.overlay_health());
        let crashed = |a| self.crashed(a);
        let cut = |s, t| self.cut_now(s, t);
        let view = self.overlay_view(&crashed, &cut);
        report.overlay_over_time = self.overlay_samples.clone();
        for (index, message) in report.messages.iter_mut().enumerate() {
            let (Some(id), Some(origin)) =
                (self.metrics.id_of(index), self.metrics.origin_of(index))
            else {
                continue;
            };
            if message.delivered >= message.eligible {
                continue;
            }
            let channel_hash = self.spec.workload[index].channel_hash;
            let delivered = |agent: u32| self.metrics.has_delivered(index, agent);
            message.missed = view.missed(id, channel_hash, origin, &delivered);
        }
    }

    /// What the agents observed, in merge order (empty unless
    /// [`SimSpec::observe`]).
    pub fn observed(&self) -> &[Observed] {
        &self.observed
    }

    /// The id of the `index`-th broadcast, once sent.
    pub fn broadcast_id(&self, index: usize) -> Option<MessageId> {
        self.metrics.id_of(index)
    }
}

#[cfg(test)]
mod tests;
