//! The parallel phase: one chunk of agents handles its inputs of one window
//! in time order and writes everything it produces into its own buffers.
//! Nothing here reads another chunk's state, so chunks may run on any thread
//! in any order without changing the result.

use colony_core::message::MessageId;
use colony_core::node::{CommandError, Handled, Node, PeerChange};

use super::cpu::CostTable;
use super::inflight::{Arena, InFlight, bytes_of};
use super::links::LinkRules;
use super::sort::{sort_records, sort_unique_agents};
use super::step::{AgentInputs, AgentState, run_agent};
use super::timer_wheel::TimerWheel;
use super::{AgentSlot, CHUNK_AGENTS, CpuSlot, NO_TIMEOUT};
use crate::byzantine::Adversary;
use crate::direct::RequestEnd;
use crate::faults::FaultTimeline;
use crate::link_rng::StreamKeys;
use crate::metrics::DeliveryRecord;
use crate::network::NetworkModel;
use crate::plan::bootstrap::Bootstrap;
use crate::plan::{Broadcast, Scheduled};
use crate::script::{Observed, ScriptedAction};

/// What one chunk has to do in one window.
#[derive(Debug, Default)]
pub(crate) struct ChunkWork {
    pub(crate) records: Vec<InFlight>,
    pub(crate) timers: Vec<u32>,
    pub(crate) commands: Vec<Scheduled>,
}

impl ChunkWork {
    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty() && self.timers.is_empty() && self.commands.is_empty()
    }
}

/// Everything one chunk produced in one window.
#[derive(Debug, Default)]
pub(crate) struct ChunkOutput {
    /// Index of the chunk that produced it.
    pub(crate) chunk: u32,
    pub(crate) sent: Vec<InFlight>,
    pub(crate) bytes: Vec<u8>,
    pub(crate) deliveries: Vec<DeliveryRecord>,
    pub(crate) broadcasts: Vec<(u32, MessageId)>,
    pub(crate) hash: u64,
    pub(crate) inputs: u64,
    pub(crate) lost: u64,
    /// Datagrams dropped because a busy agent's queue was too long.
    pub(crate) cpu_drops: u64,
    /// Datagrams dropped at a partition.
    pub(crate) partition_drops: u64,
    /// Inputs lost by crashed agents.
    pub(crate) crash_drops: u64,
    /// Digests the agents emitted.
    pub(crate) digests: u64,
    /// Datagrams sent, as (round index, count) runs.
    pub(crate) sends: Vec<(u64, u32)>,
    /// What the agents observed, when the run records it.
    pub(crate) observed: Vec<Observed>,
    /// What the agents' nodes did with scripted actions: (action index,
    /// agent, time, result).
    pub(crate) scripted: Vec<(u32, u32, u64, Result<Handled, CommandError>)>,
    /// Requests that ended: (asker, request seq, time, how).
    pub(crate) request_ends: Vec<(u32, u16, u64, RequestEnd)>,
    /// Drops at honest agents as (sender's behaviour, reason index, count),
    /// recorded only in runs with an adversary.
    pub(crate) drops_by_sender: Vec<(&'static str, usize, u64)>,
    /// Crashes and restarts: (agent, time, down).
    pub(crate) lifecycle: Vec<(u32, u64, bool)>,
    /// Suspicions, refutations and confirmations honest agents reported:
    /// (time, peer, change).
    pub(crate) peer_events: Vec<(u64, u32, PeerChange)>,
    /// Datagrams that reached crashed agents, as (time, count) runs.
    pub(crate) crash_drop_runs: Vec<(u64, u64)>,
}

/// The sender name of drops charged to honest agents' traffic.
pub(crate) const HONEST_SENDER: &str = "honest";

/// Read-only context shared by all chunks of a window.
pub(crate) struct WindowContext<'a> {
    pub(crate) seed: u64,
    /// The network's decision streams, keyed by the seed.
    pub(crate) streams: StreamKeys,
    pub(crate) network: &'a NetworkModel,
    pub(crate) workload: &'a [Broadcast],
    /// Scripted application actions.
    pub(crate) script: &'a [ScriptedAction],
    /// Record observations.
    pub(crate) observe: bool,
    /// Byzantine agents.
    pub(crate) adversary: &'a Adversary,
    /// The window's length and its end (virtual ns).
    pub(crate) window_ns: u64,
    pub(crate) window_end: u64,
    /// Length of the rounds datagrams are counted in, nanoseconds.
    pub(crate) round_ns: u64,
    /// The link rules: faults, adversary and network between agents.
    pub(crate) links: &'a LinkRules,
    /// Cycle costs for agents with a finite CPU.
    pub(crate) costs: &'a CostTable,
    /// The fault timeline.
    pub(crate) faults: &'a FaultTimeline,
    /// How nodes restart with a fresh state.
    pub(crate) bootstrap: &'a Bootstrap,
}

/// One chunk's agents: `nodes[i]` and `slots[i]` are agent `base + i`, and
/// so is `cpu[i]` when the run has a CPU model (empty otherwise).
pub(crate) struct ChunkAgents<'a> {
    pub(crate) base: u32,
    pub(crate) nodes: &'a mut [Node<u32>],
    pub(crate) slots: &'a mut [AgentSlot],
    pub(crate) cpu: &'a mut [CpuSlot],
}

/// Runs one chunk. Never inlined: the tick guard counts the engine's
/// instructions by this symbol (and once per chunk and window, a call
/// costs nothing).
#[inline(never)]
pub(crate) fn run_chunk(
    ctx: &WindowContext<'_>,
    agents: ChunkAgents<'_>,
    wheel: &mut TimerWheel,
    arenas: &[Arena],
    mut work: ChunkWork,
) -> ChunkOutput {
    let ChunkAgents {
        base,
        nodes,
        slots,
        cpu,
    } = agents;
    sort_records(&mut work.records, base);
    sort_unique_agents(&mut work.timers, base);
    work.commands.sort_unstable();
    let plan = plan_agents(&work);
    // A timer (a gossip round) or a command sends about one datagram; a
    // received datagram mostly none. Reserving that much up front saves
    // regrowing — and copying — the send buffers while the window fills them.
    let sends_expected = work.timers.len() + work.commands.len() + work.records.len() / 8;
    let mut out = ChunkOutput {
        chunk: base / CHUNK_AGENTS as u32,
        sent: Vec::with_capacity(sends_expected),
        bytes: Vec::with_capacity(sends_expected * DATAGRAM_BYTES_TYPICAL),
        ..ChunkOutput::default()
    };
    let mut moved = Vec::with_capacity(plan.len());
    for (i, step) in plan.iter().enumerate() {
        prefetch_ahead(&plan[i..], base, nodes, slots, &work.records, arenas);
        let local = (step.agent - base) as usize;
        let timeout_before = slots[local].timeout;
        let state = AgentState {
            node: &mut nodes[local],
            slot: &mut slots[local],
            cpu: cpu.get_mut(local),
        };
        let inputs = AgentInputs {
            arenas,
            records: &work.records[step.records.clone()],
            commands: &work.commands[step.commands.clone()],
        };
        run_agent(ctx, step.agent, state, &inputs, &mut out);
        // The loop ran every timer of this window, so a new timeout is in a
        // later one.
        let timeout = slots[local].timeout;
        if timeout != timeout_before && timeout != NO_TIMEOUT {
            moved.push((step.agent, timeout / ctx.window_ns));
        }
    }
    wheel.file(moved);
    out
}

/// Brings the agents a few steps ahead of `ahead[0]` into cache, in three
/// stages, each reading only what the previous one brought in: the node
/// far ahead, then the store it points to, then the newest message the
/// store points to. (Reading a pointer out of a block not yet in cache
/// would stall on the very miss the prefetch is meant to hide.)
#[inline]
fn prefetch_ahead(
    ahead: &[AgentStep],
    base: u32,
    nodes: &[Node<u32>],
    slots: &[AgentSlot],
    records: &[InFlight],
    arenas: &[Arena],
) {
    let local = |step: &AgentStep| (step.agent - base) as usize;
    if let Some(far) = ahead.get(3 * PREFETCH_AHEAD) {
        crate::prefetch::prefetch(&nodes[local(far)]);
        crate::prefetch::prefetch(&slots[local(far)]);
    }
    // Only a round or a command reads the store: a received duplicate
    // (most datagrams) never does, and a pointer chase into a block it will
    // not touch costs a miss of its own.
    if let Some(mid) = ahead.get(2 * PREFETCH_AHEAD)
        && mid.reads_store
    {
        crate::prefetch::prefetch_line(nodes[local(mid)].store_hint());
    }
    if let Some(near) = ahead.get(PREFETCH_AHEAD) {
        if near.reads_store {
            crate::prefetch::prefetch_line(nodes[local(near)].newest_message_hint());
        }
        // The datagrams it receives, in their senders' arenas.
        for record in &records[near.records.clone()] {
            crate::prefetch::prefetch_line(bytes_of(arenas, record).as_ptr());
        }
    }
}

/// Bytes of a typical datagram: a 32-byte header and a short payload.
const DATAGRAM_BYTES_TYPICAL: usize = 64;

/// Agents whose node memory is prefetched ahead of the one being run: far
/// enough that a DRAM miss (~100 ns) completes before its turn, near enough
/// that the lines are still in cache.
const PREFETCH_AHEAD: usize = 4;

/// One agent's inputs within the chunk's sorted lists.
struct AgentStep {
    agent: u32,
    records: std::ops::Range<usize>,
    commands: std::ops::Range<usize>,
    /// A timer or a command is due: the agent will read its store.
    reads_store: bool,
}

/// The agents with work, in id order, with their input ranges.
fn plan_agents(work: &ChunkWork) -> Vec<AgentStep> {
    let mut plan = Vec::with_capacity(work.timers.len() + work.records.len().min(CHUNK_AGENTS));
    let (records, timers, commands) = (&work.records, &work.timers, &work.commands);
    let (mut ri, mut ti, mut ci) = (0, 0, 0);
    while ri < records.len() || ti < timers.len() || ci < commands.len() {
        // The next agent with work: the smallest of the three cursors (an
        // exhausted list offers no agent).
        let agent = records
            .get(ri)
            .map_or(u32::MAX, |r| r.target)
            .min(timers.get(ti).copied().unwrap_or(u32::MAX))
            .min(commands.get(ci).map_or(u32::MAX, |c| c.agent));
        let (r_start, c_start) = (ri, ci);
        while ri < records.len() && records[ri].target == agent {
            ri += 1;
        }
        while ci < commands.len() && commands[ci].agent == agent {
            ci += 1;
        }
        let timer = timers.get(ti) == Some(&agent);
        ti += usize::from(timer);
        plan.push(AgentStep {
            agent,
            records: r_start..ri,
            commands: c_start..ci,
            reads_store: timer || ci > c_start,
        });
    }
    plan
}
