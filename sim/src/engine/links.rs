//! Link rules: everything between one agent's send and another's receive
//! that is not the node — the network model, the fault timeline and the
//! adversary — as rules applied in a fixed order, built once per run. A
//! send-side rule gives each datagram a verdict (pass, delay, copy, lose or
//! drop); a receive-side rule passes an arriving datagram or drops it with
//! its reason. A new fault or misbehaviour is a new rule, not a new branch
//! in the agent step.

use super::AgentSlot;
use super::chunk::{ChunkOutput, WindowContext};
use super::cpu::QUEUE_DELAY_MAX_NS;
use super::inflight::InFlight;
use crate::byzantine::{self, Link, Outgoing};
use crate::network::Fate;
use crate::plan::SimSpec;

/// A send-side rule, in the order they apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SendRule {
    /// A clog holds the sender's links until it ends.
    Clog,
    /// A latency fault adds its extra latency and jitter.
    ExtraLatency,
    /// A Byzantine sender's wrapper rewrites, drops, delays or doubles.
    Byzantine,
    /// The network: loss (a loss fault's ratio while it runs), latency,
    /// duplication.
    Network,
    /// A burst-loss fault's Gilbert–Elliott chain loses what it covers.
    BurstLoss,
}

/// What a send-side rule decides.
enum Verdict {
    Pass,
    Delay(u64),
    /// Deliver a second copy this long after the first.
    CopyAfter(u64),
    /// The network's fate.
    Fate(Fate),
    /// Lost in the network (counted as network loss).
    Lose,
    /// Never sent (a Byzantine sender's choice; not network loss).
    Drop,
}

/// A receive-side rule, in the order they apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReceiveRule {
    /// A crashed agent loses what arrives; a partition cuts its links.
    Faults,
    /// A Byzantine agent that ignores its inputs.
    ByzantineDeaf,
    /// A busy CPU drops what would wait too long in its queue.
    CpuQueue,
}

/// Why an arriving datagram was dropped before its node saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// The receiver was down.
    Crashed,
    /// A partition separates sender and receiver.
    Partitioned,
    /// The receiver ignores its inputs.
    Deaf,
    /// The receiver's CPU queue was too long.
    Busy,
}

/// The rules of one run.
#[derive(Clone, Debug)]
pub(crate) struct LinkRules {
    send: Vec<SendRule>,
    receive: Vec<ReceiveRule>,
    /// The network is the only send rule (most runs): its fate is drawn
    /// without walking the list.
    network_only: bool,
}

impl LinkRules {
    /// The rules `spec` needs: the network always, the others when the run
    /// has what they model.
    pub(crate) fn new(spec: &SimSpec) -> Self {
        let faults = !spec.faults.is_empty();
        let adversary = !spec.adversary.is_empty();
        let send = [
            (SendRule::Clog, faults),
            (SendRule::ExtraLatency, faults),
            (SendRule::Byzantine, adversary),
            (SendRule::Network, true),
            (SendRule::BurstLoss, faults),
        ];
        let receive = [
            (ReceiveRule::Faults, faults),
            (ReceiveRule::ByzantineDeaf, adversary),
            (ReceiveRule::CpuQueue, !spec.cpu.is_empty()),
        ];
        let send: Vec<SendRule> = send.into_iter().filter(|r| r.1).map(|r| r.0).collect();
        LinkRules {
            network_only: send == [SendRule::Network],
            send,
            receive: receive.into_iter().filter(|r| r.1).map(|r| r.0).collect(),
        }
    }

    /// Whether a datagram from `source` arriving at `agent` at `arrival`
    /// reaches its node, handled at `now` (later with a busy CPU).
    pub(super) fn admit(
        &self,
        ctx: &WindowContext<'_>,
        crashed: bool,
        (source, agent): (u32, u32),
        arrival: u64,
        now: u64,
    ) -> Result<(), Refused> {
        for rule in &self.receive {
            match rule {
                ReceiveRule::Faults if crashed => return Err(Refused::Crashed),
                ReceiveRule::Faults if ctx.faults.cut(source, agent, arrival) => {
                    return Err(Refused::Partitioned);
                }
                ReceiveRule::ByzantineDeaf
                    if ctx
                        .adversary
                        .behaviour(agent, arrival)
                        .is_some_and(byzantine::drops_inputs) =>
                {
                    return Err(Refused::Deaf);
                }
                ReceiveRule::CpuQueue if now - arrival > QUEUE_DELAY_MAX_NS => {
                    return Err(Refused::Busy);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// One datagram on one link.
#[derive(Clone, Copy)]
struct Hop {
    agent: u32,
    target: u32,
    seq: u32,
    now: u64,
}

impl SendRule {
    /// Its verdict on the datagram `bytes[start..]` (only a Byzantine
    /// sender's wrapper reads or rewrites the bytes).
    #[inline]
    fn verdict(
        self,
        ctx: &WindowContext<'_>,
        hop: Hop,
        (bytes, start): (&mut [u8], usize),
        slot: &mut AgentSlot,
    ) -> Verdict {
        let Hop {
            agent,
            target,
            seq,
            now,
        } = hop;
        match self {
            SendRule::Clog => match ctx.faults.clog_release(agent, target, now) {
                Some(release) => Verdict::Delay(release.saturating_sub(now)),
                None => Verdict::Pass,
            },
            SendRule::ExtraLatency => {
                Verdict::Delay(ctx.faults.extra_latency_ns(ctx.seed, agent, seq, now))
            }
            SendRule::Byzantine => match ctx.adversary.behaviour(agent, now) {
                None => Verdict::Pass,
                Some(behaviour) => {
                    let link = Link {
                        seed: ctx.seed,
                        agent,
                        target,
                        seq,
                    };
                    match byzantine::outgoing(behaviour, link, &mut bytes[start..]) {
                        Outgoing::Send => Verdict::Pass,
                        Outgoing::Drop => Verdict::Drop,
                        Outgoing::Delay(ns) => Verdict::Delay(ns),
                        Outgoing::Twice(ns) => Verdict::CopyAfter(ns),
                    }
                }
            },
            SendRule::Network => {
                // A loss fault replaces the network's loss while it runs.
                let loss = if ctx.faults.is_empty() {
                    None
                } else {
                    ctx.faults.loss_at(now)
                };
                Verdict::Fate(match loss {
                    Some(loss) => {
                        ctx.network
                            .fate_with_loss(&ctx.streams, agent, target, seq, loss)
                    }
                    None => ctx.network.fate(&ctx.streams, agent, target, seq),
                })
            }
            SendRule::BurstLoss => {
                let lost = ctx
                    .faults
                    .burst_lost(ctx.seed, agent, seq, now, &mut slot.bursting);
                if lost { Verdict::Lose } else { Verdict::Pass }
            }
        }
    }
}

/// Sends one datagram from `agent` to `target` — the bytes from `start` to
/// the end of the chunk's send arena — through the run's send rules.
#[inline]
pub(super) fn emit(
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
    let hop = Hop {
        agent,
        target,
        seq: slot.sent,
        now,
    };
    slot.sent = slot.sent.wrapping_add(1);
    let (mut extra_ns, mut copy_after_ns, mut fate) = (0, None, Fate::Lost);
    let rules: &[SendRule] = if ctx.links.network_only {
        fate = ctx.network.fate(&ctx.streams, agent, target, hop.seq);
        &[]
    } else {
        &ctx.links.send
    };
    for rule in rules {
        match rule.verdict(ctx, hop, (&mut out.bytes, start), slot) {
            Verdict::Pass => {}
            Verdict::Delay(ns) => extra_ns += ns,
            Verdict::CopyAfter(ns) => copy_after_ns = Some(ns),
            Verdict::Fate(network) => fate = network,
            Verdict::Lose => fate = Fate::Lost,
            Verdict::Drop => {
                out.bytes.truncate(start);
                return;
            }
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
        Fate::Lost => {
            out.bytes.truncate(start);
            out.lost += 1;
        }
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
}
