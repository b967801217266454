//! The parallel phase: one chunk of agents handles its inputs of one window
//! in time order and writes everything it produces into its own buffers.
//! Nothing here reads another chunk's state, so chunks may run on any thread
//! in any order without changing the result.

use colony_core::message::MessageId;

use colony_core::node::{CommandError, DropReason, Event, Handled, Input, Node, PeerChange};

use crate::direct::RequestEnd;
use colony_core::rng::mix64;
use colony_core::time::Time;

use super::cpu::{CostTable, QUEUE_DELAY_MAX_NS, busy_ns};
use super::inflight::{Arena, InFlight, bytes_of};
use super::timer_wheel::TimerWheel;
use super::{AgentSlot, CHUNK_AGENTS, CpuSlot, NO_TIMEOUT};
use crate::byzantine::{self, Adversary, Behaviour, Link, Outgoing};
use crate::faults::FaultTimeline;
use crate::link_rng::StreamKeys;
use crate::metrics::{DeliveryRecord, payload_hash};
use crate::network::{Fate, NetworkModel};
use crate::plan::bootstrap::Bootstrap;
use crate::plan::{Broadcast, Due, Scheduled};
use crate::script::{Observed, ScriptedAction, observe, reaction};
use crate::streams;

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
    /// Cycle costs for agents with a finite CPU.
    pub(crate) costs: &'a CostTable,
    /// The fault timeline.
    pub(crate) faults: &'a FaultTimeline,
    /// How nodes restart with a fresh state.
    pub(crate) bootstrap: &'a Bootstrap,
}

#[inline]
fn fold(hash: u64, value: u64) -> u64 {
    mix64(hash.rotate_left(7) ^ value)
}

/// Kinds of input, in the order an agent handles inputs that share a time.
const KIND_DATAGRAM: u64 = 0;
const KIND_COMMAND: u64 = 1;
const KIND_TIMER: u64 = 2;
const KIND_CPU_DROP: u64 = 3;
const KIND_FAULT_DROP: u64 = 4;

/// Crash and restart commands; `true` when `due` was one of them.
fn lifecycle(
    ctx: &WindowContext<'_>,
    agent: u32,
    due: Due,
    time: Time,
    node: &mut Node<u32>,
    slot: &mut AgentSlot,
) -> bool {
    match due {
        Due::Crash => {
            slot.crashed = true;
            slot.timeout = NO_TIMEOUT;
        }
        Due::Restart { lose_state } => {
            slot.crashed = false;
            if lose_state {
                slot.restarts += 1;
                *node = ctx.bootstrap.restarted(agent, slot.restarts, time);
            } else {
                let _ = node.handle(time, Input::Timeout);
            }
        }
        _ => return false,
    }
    true
}

/// Runs a command due for `agent` at `now`: its cycle cost when the node
/// handled it (to charge, then drain), `None` when nothing more is to be
/// done (a crash or restart, drained here; an input a crashed agent lost;
/// an eclipse request, sent on the node's behalf).
fn run_command(
    ctx: &WindowContext<'_>,
    agent: u32,
    due: Due,
    now: u64,
    node: &mut Node<u32>,
    slot: &mut AgentSlot,
    out: &mut ChunkOutput,
) -> Option<u64> {
    let time = Time::from_ns(now);
    let handled = fold(now, due.tag()) ^ KIND_COMMAND;
    if lifecycle(ctx, agent, due, time, node, slot) {
        out.hash = fold(out.hash, handled);
        out.lifecycle.push((agent, now, slot.crashed));
        // A crashed agent sends nothing and arms no timer: draining it
        // would re-arm the timers the crash stopped, and the agent would
        // probe, gossip and ask for neighbours while deaf to every answer.
        if !slot.crashed {
            drain(ctx, agent, now, node, slot, out);
        }
        return None;
    }
    if slot.crashed {
        out.crash_drops += 1;
        return None;
    }
    out.hash = fold(out.hash, handled);
    if let Due::Eclipse(victim) = due {
        send_eclipse(ctx, agent, now, victim, slot, out);
        return None;
    }
    let command = due.command(agent, ctx.workload, ctx.script)?;
    match (node.handle(time, Input::Command(command)), due) {
        (Ok(Handled::Sent(id)), Due::Broadcast(index)) => out.broadcasts.push((index, id)),
        (result, Due::Action(index)) => out.scripted.push((index, agent, now, result)),
        _ => {}
    }
    Some(ctx.costs.fresh)
}

/// An eclipse colluder's neighbour request and shuffle to its victim,
/// written as the node would (the colluder's node never sees them).
fn send_eclipse(
    ctx: &WindowContext<'_>,
    agent: u32,
    now: u64,
    victim: u32,
    slot: &mut AgentSlot,
    out: &mut ChunkOutput,
) {
    let start = out.bytes.len();
    out.bytes
        .extend(byzantine::eclipse_request(agent, slot.sent as u16));
    emit(ctx, agent, now, slot, victim, start, out);
    let colluders = byzantine::eclipse_colluders(ctx.adversary, agent, slot.sent);
    let start = out.bytes.len();
    out.bytes.extend(byzantine::eclipse_shuffle(
        agent,
        slot.sent as u16,
        &colluders,
    ));
    emit(ctx, agent, now, slot, victim, start, out);
}

/// One chunk's agents: `nodes[i]` and `slots[i]` are agent `base + i`, and
/// so is `cpu[i]` when the run has a CPU model (empty otherwise).
pub(crate) struct ChunkAgents<'a> {
    pub(crate) base: u32,
    pub(crate) nodes: &'a mut [Node<u32>],
    pub(crate) slots: &'a mut [AgentSlot],
    pub(crate) cpu: &'a mut [CpuSlot],
}

/// Runs one chunk.
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
        // Three stages, each reading only what the previous one brought
        // into cache: the node far ahead, then the store it points to, then
        // the newest message the store points to. (Reading a pointer out of
        // a block not yet in cache would stall on the very miss the
        // prefetch is meant to hide.)
        if let Some(ahead) = plan.get(i + 3 * PREFETCH_AHEAD) {
            crate::prefetch::prefetch(&nodes[(ahead.agent - base) as usize]);
            crate::prefetch::prefetch(&slots[(ahead.agent - base) as usize]);
        }
        // Only a round or a command reads the store: a received duplicate
        // (most datagrams) never does, and a pointer chase into a block it
        // will not touch costs a miss of its own.
        if let Some(ahead) = plan.get(i + 2 * PREFETCH_AHEAD)
            && ahead.reads_store
        {
            crate::prefetch::prefetch_line(nodes[(ahead.agent - base) as usize].store_hint());
        }
        if let Some(ahead) = plan.get(i + PREFETCH_AHEAD) {
            if ahead.reads_store {
                crate::prefetch::prefetch_line(
                    nodes[(ahead.agent - base) as usize].newest_message_hint(),
                );
            }
            // The datagrams it receives, in their senders' arenas.
            for record in &work.records[ahead.records.clone()] {
                crate::prefetch::prefetch_line(bytes_of(arenas, record).as_ptr());
            }
        }
        let local = (step.agent - base) as usize;
        let timeout_before = slots[local].timeout;
        run_agent(
            ctx,
            step.agent,
            &mut nodes[local],
            &mut slots[local],
            cpu.get_mut(local),
            arenas,
            &work.records[step.records.clone()],
            &work.commands[step.commands.clone()],
            &mut out,
        );
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

/// Bytes of a typical datagram: a 32-byte header and a short payload.
const DATAGRAM_BYTES_TYPICAL: usize = 64;

/// Records below which an insertion sort beats the radix passes.
const RADIX_SORT_RECORDS_MIN: usize = 32;

/// Bits of a chunk-local agent index sorted per radix pass: two passes of
/// 64 buckets cover a chunk, and a 64-entry count table costs nothing next
/// to the records (a single 4,096-entry table cost more than the records of
/// a typical window).
const RADIX_BITS: u32 = 6;
const RADIX_BUCKETS: usize = 1 << RADIX_BITS;
const _: () = assert!(CHUNK_AGENTS <= RADIX_BUCKETS * RADIX_BUCKETS);

/// A target's records beyond which its time order is restored by a merge
/// sort instead of insertion (a flood aimed at one agent must not go
/// quadratic).
const INSERTION_GROUP_MAX: usize = 16;

/// Sorts agent ids of one chunk (starting at `base`) and removes repeats,
/// through a bitmap of the chunk: linear, and the timer lists it is used on
/// are long.
fn sort_unique_agents(agents: &mut Vec<u32>, base: u32) {
    const WORD_BITS: usize = 64;
    let mut bits = [0u64; CHUNK_AGENTS / WORD_BITS];
    for agent in agents.iter() {
        let i = (agent - base) as usize;
        bits[i / WORD_BITS] |= 1 << (i % WORD_BITS);
    }
    agents.clear();
    for (w, word) in bits.iter().enumerate() {
        let mut rest = *word;
        while rest != 0 {
            agents.push(base + (w * WORD_BITS) as u32 + rest.trailing_zeros());
            rest &= rest - 1;
        }
    }
}

/// Orders a chunk's records by (target, time), ties in arrival order — the
/// order the merge appended them in, which is itself deterministic. Two
/// stable radix passes over the chunk-local target (linear), then each
/// target's few records into time order.
fn sort_records(records: &mut Vec<InFlight>, base: u32) {
    if records.len() < RADIX_SORT_RECORDS_MIN {
        insertion_sort_by(records, |r| (r.target, r.at()));
        return;
    }
    let mut scratch = Vec::with_capacity(records.len());
    radix_pass(records, &mut scratch, |r| {
        (r.target - base) as usize % RADIX_BUCKETS
    });
    records.clear();
    radix_pass(&scratch, records, |r| {
        (r.target - base) as usize / RADIX_BUCKETS
    });
    let mut group_start = 0;
    for i in 1..=records.len() {
        if i == records.len() || records[i].target != records[group_start].target {
            let group = &mut records[group_start..i];
            if group.len() > INSERTION_GROUP_MAX {
                group.sort_by_key(|r| r.at());
            } else {
                insertion_sort_by(group, |r| r.at());
            }
            group_start = i;
        }
    }
}

/// One stable counting-sort pass: appends `from` to `to` ordered by
/// `bucket` (below [`RADIX_BUCKETS`]).
fn radix_pass(from: &[InFlight], to: &mut Vec<InFlight>, bucket: impl Fn(&InFlight) -> usize) {
    let mut next = [0usize; RADIX_BUCKETS];
    for r in from {
        next[bucket(r)] += 1;
    }
    let mut total = 0;
    for slot in next.iter_mut() {
        (*slot, total) = (total, total + *slot);
    }
    let base = to.len();
    to.resize(base + from.len(), InFlight::default());
    for r in from {
        let slot = &mut next[bucket(r)];
        to[base + *slot] = *r;
        *slot += 1;
    }
}

/// A stable insertion sort: linear on the nearly sorted short runs it is
/// used on.
fn insertion_sort_by<K: PartialOrd>(items: &mut [InFlight], key: impl Fn(&InFlight) -> K) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && key(&items[j - 1]) > key(&items[j]) {
            items.swap(j - 1, j);
            j -= 1;
        }
    }
}

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

#[allow(clippy::too_many_arguments)] // one agent's slice of the chunk's state
fn run_agent(
    ctx: &WindowContext<'_>,
    agent: u32,
    node: &mut Node<u32>,
    slot: &mut AgentSlot,
    mut cpu: Option<&mut CpuSlot>,
    arenas: &[Arena],
    records: &[InFlight],
    commands: &[Scheduled],
    out: &mut ChunkOutput,
) {
    let (mut ri, mut ci) = (0, 0);
    loop {
        let t_record = records.get(ri).map_or(NO_TIMEOUT, |r| r.at());
        let t_command = commands.get(ci).map_or(NO_TIMEOUT, |c| c.at_ns);
        let t_timer = if slot.timeout < ctx.window_end {
            slot.timeout
        } else {
            NO_TIMEOUT
        };
        let arrival = t_record.min(t_command).min(t_timer);
        if arrival == NO_TIMEOUT {
            break;
        }
        // With a finite CPU the agent handles the input once it is free;
        // `now` never goes backwards, since `busy_until` only grows.
        let busy_until = cpu
            .as_ref()
            .filter(|c| c.cycles_per_s > 0)
            .map(|c| c.busy_until);
        let limited = busy_until.is_some();
        let now = busy_until.map_or(arrival, |busy| arrival.max(busy));
        let time = Time::from_ns(now);
        out.inputs += 1;
        let before = limited.then(|| {
            (
                node.stats().drops_of(DropReason::Duplicate),
                node.stats().delivered,
                node.stats().signatures_checked,
            )
        });
        let cost;
        if t_record == arrival {
            let r = records[ri];
            ri += 1;
            if !ctx.faults.is_empty() && (slot.crashed || ctx.faults.cut(r.source, agent, arrival))
            {
                if slot.crashed {
                    out.crash_drops += 1;
                    match out.crash_drop_runs.last_mut() {
                        Some((at, count)) if *at == arrival => *count += 1,
                        _ => out.crash_drop_runs.push((arrival, 1)),
                    }
                } else {
                    out.partition_drops += 1;
                }
                out.hash = fold(
                    out.hash,
                    fold(arrival, u64::from(r.source)) ^ KIND_FAULT_DROP,
                );
                continue;
            }
            if ctx
                .adversary
                .behaviour(agent, arrival)
                .is_some_and(byzantine::drops_inputs)
            {
                out.hash = fold(
                    out.hash,
                    fold(arrival, u64::from(r.source)) ^ KIND_FAULT_DROP,
                );
                continue;
            }
            if now - arrival > QUEUE_DELAY_MAX_NS {
                out.cpu_drops += 1;
                out.hash = fold(out.hash, fold(now, u64::from(r.source)) ^ KIND_CPU_DROP);
                continue;
            }
            out.hash = fold(
                out.hash,
                fold(now, (u64::from(r.source) << 32) | u64::from(agent)) ^ KIND_DATAGRAM,
            );
            let bytes = bytes_of(arenas, &r);
            // With an adversary, what an honest agent drops is charged to
            // the behaviour of the sender (one copy of the counters).
            let drops_before = (!ctx.adversary.is_empty()
                && !ctx.adversary.agents().contains(agent))
            .then(|| node.stats().drops());
            let _ = node.handle(
                time,
                Input::Datagram {
                    source: r.source,
                    bytes,
                },
            );
            if let Some(before) = drops_before {
                let sender = ctx
                    .adversary
                    .behaviour(r.source, arrival)
                    .map_or(HONEST_SENDER, Behaviour::name);
                for (reason, (after, before)) in node.stats().drops().iter().zip(before).enumerate()
                {
                    if *after > before {
                        out.drops_by_sender.push((sender, reason, after - before));
                    }
                }
            }
            // Every signature the node checked (a new message or a forged
            // one; duplicates are filtered before) costs on top.
            let checks = before.map_or(0, |(_, _, checked)| {
                node.stats().signatures_checked - checked
            });
            cost = checks * ctx.costs.signature_check
                + match before {
                    Some((duplicates, _, _))
                        if node.stats().drops_of(DropReason::Duplicate) > duplicates =>
                    {
                        ctx.costs.duplicate
                    }
                    Some((_, delivered, _)) if node.stats().delivered > delivered => {
                        ctx.costs.fresh
                    }
                    _ => ctx.costs.control,
                };
        } else if t_command == arrival {
            let c = commands[ci];
            ci += 1;
            match run_command(ctx, agent, c.due, now, node, slot, out) {
                Some(command_cost) => cost = command_cost,
                None => continue,
            }
        } else {
            out.hash = fold(out.hash, fold(now, u64::from(agent)) ^ KIND_TIMER);
            let _ = node.handle(time, Input::Timeout);
            cost = ctx.costs.timer;
        }
        if let Some(cpu) = cpu.as_deref_mut().filter(|c| c.cycles_per_s > 0) {
            cpu.busy_until = now + busy_ns(cost, cpu.cycles_per_s);
        }
        drain(ctx, agent, now, node, slot, out);
    }
}

/// Sends one datagram from `agent` to `target` — the bytes from `start` to
/// the end of the chunk's send arena — through the Byzantine wrapper (if
/// the agent is Byzantine now) and the network model.
fn emit(
    ctx: &WindowContext<'_>,
    agent: u32,
    now: u64,
    slot: &mut AgentSlot,
    target: u32,
    start: usize,
    out: &mut ChunkOutput,
) {
    let len = out.bytes.len() - start;
    let round = now / ctx.round_ns;
    match out.sends.last_mut() {
        Some((r, count)) if *r == round => *count += 1,
        _ => out.sends.push((round, 1)),
    }
    let seq = slot.sent;
    slot.sent = slot.sent.wrapping_add(1);
    let (mut extra_ns, mut copy_after_ns) = (0, None);
    if !ctx.faults.is_empty() {
        if let Some(release) = ctx.faults.clog_release(agent, target, now) {
            extra_ns = release.saturating_sub(now);
        }
        extra_ns += ctx.faults.extra_latency_ns(ctx.seed, agent, seq, now);
    }
    if let Some(behaviour) = ctx.adversary.behaviour(agent, now) {
        let link = Link {
            seed: ctx.seed,
            agent,
            target,
            seq,
        };
        match byzantine::outgoing(behaviour, link, &mut out.bytes[start..]) {
            Outgoing::Send => {}
            Outgoing::Drop => {
                out.bytes.truncate(start);
                return;
            }
            Outgoing::Delay(ns) => extra_ns += ns,
            Outgoing::Twice(ns) => copy_after_ns = Some(ns),
        }
    }
    let loss = if ctx.faults.is_empty() {
        None
    } else {
        ctx.faults.loss_at(now)
    };
    let mut fate = match loss {
        Some(loss) => ctx
            .network
            .fate_with_loss(&ctx.streams, agent, target, seq, loss),
        None => ctx.network.fate(&ctx.streams, agent, target, seq),
    };
    if !ctx.faults.is_empty()
        && let Some(chain) = ctx.faults.burst_loss(agent, now)
    {
        let bits = mix64(
            ctx.seed ^ mix64(streams::BURST_LOSS ^ (u64::from(agent) << 32) ^ u64::from(seq)),
        );
        let (bad, lost) = chain.step(slot.bursting, bits);
        slot.bursting = bad;
        if lost {
            fate = Fate::Lost;
        }
    }
    let mut send = |latency_ns: u64| {
        out.sent.push(InFlight::new(
            now + extra_ns + latency_ns,
            target,
            agent,
            start as u32,
            len as u32,
        ));
    };
    match fate {
        Fate::Lost => {}
        Fate::Delivered(latency) => {
            send(latency);
            if let Some(after) = copy_after_ns {
                send(latency + after);
            }
        }
        Fate::Duplicated(first, second) => {
            send(first);
            send(second);
        }
    }
    if fate == Fate::Lost {
        out.bytes.truncate(start);
        out.lost += 1;
    }
}

/// Moves a node's outputs into the chunk's buffers (the drain contract).
fn drain(
    ctx: &WindowContext<'_>,
    agent: u32,
    now: u64,
    node: &mut Node<u32>,
    slot: &mut AgentSlot,
    out: &mut ChunkOutput,
) {
    loop {
        let start = out.bytes.len();
        let Some(target) = node.poll_transmit_append(&mut out.bytes) else {
            break;
        };
        emit(ctx, agent, now, slot, target, start, out);
    }
    if node.events_pending() > 0 {
        drain_events(ctx, agent, now, node, slot, out);
    } else {
        slot.timeout = node.poll_timeout().map_or(NO_TIMEOUT, Time::as_ns);
    }
}

/// The events part of [`drain`]: rare next to datagrams (a delivery per
/// agent and message), so kept out of the hot loop.
#[inline(never)]
fn drain_events(
    ctx: &WindowContext<'_>,
    agent: u32,
    now: u64,
    node: &mut Node<u32>,
    slot: &mut AgentSlot,
    out: &mut ChunkOutput,
) {
    let mut reactions = Vec::new();
    while let Some(event) = node.poll_event() {
        if ctx.observe {
            out.observed.push(Observed {
                at_ns: now,
                agent,
                what: observe(&event, Some),
            });
        }
        if let Event::Digest(_) = event {
            out.digests += 1;
        } else if let Event::Delivered(d) = event {
            out.hash = fold(out.hash, fold(now, u64::from(agent)) ^ u64::from(d.id.seq));
            out.deliveries.push(DeliveryRecord {
                id: d.id,
                agent,
                priority: d.priority,
                disposition: d.disposition,
                at: now,
                hops: d.hops,
                payload_hash: if d.payload.is_empty() {
                    0
                } else {
                    payload_hash(&d.payload)
                },
            });
        } else if let Event::Peer { peer, change } = event
            && matches!(
                change,
                PeerChange::Suspected | PeerChange::Alive | PeerChange::Failed
            )
            && !ctx.adversary.agents().contains(agent)
        {
            out.peer_events.push((now, peer, change));
        } else if let Event::Response { request, .. } = event {
            out.request_ends
                .push((agent, request, now, RequestEnd::Answered));
        } else if let Event::RequestTimedOut { request, .. } = event {
            out.request_ends
                .push((agent, request, now, RequestEnd::TimedOut));
        } else if let Some(command) = reaction(&event) {
            reactions.push(command);
        }
    }
    if !reactions.is_empty() {
        for command in reactions {
            let _ = node.handle(Time::from_ns(now), Input::Command(command));
        }
        return drain(ctx, agent, now, node, slot, out);
    }
    slot.timeout = node.poll_timeout().map_or(NO_TIMEOUT, Time::as_ns);
}

#[cfg(test)]
mod tests {
    use super::*;
    use colony_core::rng::Rng;

    fn records(n: usize, base: u32, seed: u64) -> Vec<InFlight> {
        let mut rng = Rng::for_agent(seed, 1, 2);
        (0..n)
            .map(|i| {
                // Few distinct times and targets: many ties to keep in order.
                let at = rng.next_u64() % 8;
                let target = base + (rng.next_u64() % CHUNK_AGENTS as u64) as u32;
                InFlight::new(at, target, i as u32, 0, 0)
            })
            .collect()
    }

    #[test]
    fn records_come_out_in_stable_target_then_time_order() {
        let base = 3 * CHUNK_AGENTS as u32;
        for (n, seed) in [
            (10, 1),
            (RADIX_SORT_RECORDS_MIN, 4),
            (3_000, 2),
            (20_000, 3),
        ] {
            let mut sorted = records(n, base, seed);
            let mut expected = sorted.clone();
            expected.sort_by_key(|r| (r.target, r.at()));
            sort_records(&mut sorted, base);
            assert_eq!(sorted, expected, "{n} records");
        }
    }

    #[test]
    fn records_of_a_flooded_target_keep_their_time_order() {
        let base = CHUNK_AGENTS as u32;
        let mut sorted = records(5_000, base, 7);
        for (i, r) in sorted.iter_mut().enumerate() {
            r.target = base + (i % 3) as u32 * 1000;
        }
        let mut expected = sorted.clone();
        expected.sort_by_key(|r| (r.target, r.at()));
        sort_records(&mut sorted, base);
        assert_eq!(sorted, expected);
    }

    #[test]
    fn timers_come_out_sorted_and_once() {
        let base = CHUNK_AGENTS as u32;
        let mut agents = vec![base + 9, base + 3, base + 9, base + 4095, base, base + 3];
        sort_unique_agents(&mut agents, base);
        assert_eq!(agents, [base, base + 3, base + 9, base + 4095]);
    }
}
