//! One agent's step through a window: its inputs in time order, each
//! through the named stages next input, admit (the link rules' receive
//! side), handle (a datagram, a command of the schedule or a timer),
//! charge (the CPU model) and drain (the node's datagrams through the link
//! rules' send side, its events into the chunk's records).

use colony_core::node::{Handled, Input, Node, ReceivedKind};
use colony_core::time::Time;

use super::chunk::{ChunkOutput, HONEST_SENDER, WindowContext};
use super::cpu::busy_ns;
use super::inflight::{Arena, InFlight, bytes_of};
use super::links::{Refused, emit};
use super::{AgentSlot, CpuSlot, NO_TIMEOUT};
use crate::byzantine::{self, Behaviour};
use crate::plan::recorder::{Record, fold, record};
use crate::plan::{Due, Scheduled};
use crate::script::{Observed, observe};

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

/// One agent's state in its chunk.
pub(super) struct AgentState<'a> {
    pub(super) node: &'a mut Node<u32>,
    pub(super) slot: &'a mut AgentSlot,
    /// Its CPU, when the run has a CPU model.
    pub(super) cpu: Option<&'a mut CpuSlot>,
}

/// One agent's inputs in this window: the datagrams arriving (in time
/// order, their bytes in the senders' arenas) and the commands due.
pub(super) struct AgentInputs<'a> {
    pub(super) arenas: &'a [Arena],
    pub(super) records: &'a [InFlight],
    pub(super) commands: &'a [Scheduled],
}

/// An agent's next input.
enum Next {
    Datagram(InFlight),
    Command(Scheduled),
    Timer,
}

/// How far an agent has got through its inputs.
#[derive(Default)]
struct Cursor {
    record: usize,
    command: usize,
}

/// Runs one agent through the window: each input in time order goes
/// through the stages next input, admit (the link rules' receive side),
/// handle, charge (the CPU model) and drain.
#[inline]
pub(super) fn run_agent(
    ctx: &WindowContext<'_>,
    agent: u32,
    state: AgentState<'_>,
    inputs: &AgentInputs<'_>,
    out: &mut ChunkOutput,
) {
    let AgentState {
        node,
        slot,
        mut cpu,
    } = state;
    let mut cursor = Cursor::default();
    while let Some((arrival, input)) = next_input(ctx, slot, inputs, &mut cursor) {
        // With a finite CPU the agent handles the input once it is free;
        // `now` never goes backwards, since `busy_until` only grows.
        let busy_until = cpu
            .as_ref()
            .filter(|c| c.cycles_per_s > 0)
            .map(|c| c.busy_until);
        let now = busy_until.map_or(arrival, |busy| arrival.max(busy));
        out.inputs += 1;
        let cost = match input {
            Next::Datagram(r) => {
                if !admit(ctx, (r.source, agent), slot.crashed, (arrival, now), out) {
                    continue;
                }
                let arrived = Arrived {
                    source: r.source,
                    arrival,
                    bytes: bytes_of(inputs.arenas, &r),
                };
                receive(ctx, agent, node, arrived, now, busy_until.is_some(), out)
            }
            Next::Command(c) => match run_command(ctx, agent, c.due, now, node, slot, out) {
                Some(cost) => cost,
                None => continue,
            },
            Next::Timer => {
                out.hash = fold(out.hash, fold(now, u64::from(agent)) ^ KIND_TIMER);
                let _ = node.handle(Time::from_ns(now), Input::Timeout);
                ctx.costs.timer
            }
        };
        if let Some(cpu) = cpu.as_deref_mut().filter(|c| c.cycles_per_s > 0) {
            cpu.busy_until = now + busy_ns(cost, cpu.cycles_per_s);
        }
        drain(ctx, agent, now, node, slot, out);
    }
}

/// Stage 1: the earliest of the next datagram, command and timer, with
/// its arrival time (ties: the datagram, then the command, then the timer).
#[inline]
fn next_input(
    ctx: &WindowContext<'_>,
    slot: &AgentSlot,
    inputs: &AgentInputs<'_>,
    cursor: &mut Cursor,
) -> Option<(u64, Next)> {
    let record = inputs.records.get(cursor.record);
    let command = inputs.commands.get(cursor.command);
    let t_record = record.map_or(NO_TIMEOUT, InFlight::at);
    let t_command = command.map_or(NO_TIMEOUT, |c| c.at_ns);
    let t_timer = if slot.timeout < ctx.window_end {
        slot.timeout
    } else {
        NO_TIMEOUT
    };
    let arrival = t_record.min(t_command).min(t_timer);
    if arrival == NO_TIMEOUT {
        return None;
    }
    let next = match (record, command) {
        (Some(r), _) if t_record == arrival => {
            cursor.record += 1;
            Next::Datagram(*r)
        }
        (_, Some(c)) if t_command == arrival => {
            cursor.command += 1;
            Next::Command(*c)
        }
        _ => Next::Timer,
    };
    Some((arrival, next))
}

/// Stage 2: the link rules' receive side. A refused datagram is counted
/// and folded into the trace; `false` when it does not reach the node.
#[inline]
fn admit(
    ctx: &WindowContext<'_>,
    (source, agent): (u32, u32),
    crashed: bool,
    (arrival, now): (u64, u64),
    out: &mut ChunkOutput,
) -> bool {
    let refused = match ctx.links.admit(ctx, crashed, (source, agent), arrival, now) {
        Ok(()) => return true,
        Err(refused) => refused,
    };
    let at = match refused {
        Refused::Crashed => {
            out.crash_drops += 1;
            match out.crash_drop_runs.last_mut() {
                Some((at, count)) if *at == arrival => *count += 1,
                _ => out.crash_drop_runs.push((arrival, 1)),
            }
            arrival
        }
        Refused::Partitioned => {
            out.partition_drops += 1;
            arrival
        }
        Refused::Deaf => arrival,
        Refused::Busy => {
            out.cpu_drops += 1;
            now
        }
    };
    let kind = if refused == Refused::Busy {
        KIND_CPU_DROP
    } else {
        KIND_FAULT_DROP
    };
    out.hash = fold(out.hash, fold(at, u64::from(source)) ^ kind);
    false
}

/// A datagram the link rules let through.
struct Arrived<'a> {
    source: u32,
    arrival: u64,
    bytes: &'a [u8],
}

/// Stage 3 for a datagram: the node handles it; with an adversary, what
/// an honest agent drops is charged to the sender's behaviour; with a CPU
/// model (`limited`) the cycles it cost are returned (0 otherwise). Both
/// read the node's own report of what it did; a run that needs neither
/// takes the plain (cheaper) path.
#[inline]
fn receive(
    ctx: &WindowContext<'_>,
    agent: u32,
    node: &mut Node<u32>,
    arrived: Arrived<'_>,
    now: u64,
    limited: bool,
    out: &mut ChunkOutput,
) -> u64 {
    let Arrived {
        source,
        arrival,
        bytes,
    } = arrived;
    out.hash = fold(
        out.hash,
        fold(now, (u64::from(source) << 32) | u64::from(agent)) ^ KIND_DATAGRAM,
    );
    let account = !ctx.adversary.is_empty() && !ctx.adversary.agents().contains(agent);
    if !limited && !account {
        let _ = node.handle(Time::from_ns(now), Input::Datagram { source, bytes });
        return 0;
    }
    let received = node.receive(Time::from_ns(now), source, bytes);
    if account {
        let sender = ctx
            .adversary
            .behaviour(source, arrival)
            .map_or(HONEST_SENDER, Behaviour::name);
        for (reason, count) in received.drops() {
            out.drops_by_sender.push((sender, reason as usize, count));
        }
    }
    if !limited {
        return 0;
    }
    // Every signature the node checked (a new message or a forged one;
    // duplicates are filtered before) costs on top.
    received.signatures_checked * ctx.costs.signature_check
        + match received.kind {
            ReceivedKind::Duplicate => ctx.costs.duplicate,
            ReceivedKind::Fresh => ctx.costs.fresh,
            ReceivedKind::Other => ctx.costs.control,
        }
}

/// Moves a node's outputs into the chunk's buffers (the drain contract).
pub(super) fn drain(
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
        match record(agent, now, &event) {
            Record::Digest => out.digests += 1,
            Record::Delivery(delivery, term) => {
                out.hash = fold(out.hash, term);
                out.deliveries.push(delivery);
            }
            Record::Liveness(peer, change) if !ctx.adversary.agents().contains(agent) => {
                out.peer_events.push((now, peer, change));
            }
            Record::RequestEnded(request, end) => {
                out.request_ends.push((agent, request, now, end));
            }
            Record::Reaction(command) => reactions.push(command),
            Record::Liveness(..) | Record::Nothing => {}
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
