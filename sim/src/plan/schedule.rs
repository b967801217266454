//! The schedule: every command of a run, when and for which agent, built
//! once from the spec: workload broadcasts, scripted actions, the
//! adversary's floods and eclipse requests, joins, crashes and restarts
//! (fault crashes and churn). The fast engine files it by window; the async
//! hosts give each agent its own part; `colony cluster` turns it into stdin
//! lines. One [`Due`] names what is due everywhere, and its [`Due::tag`] is
//! what the trace hash folds and what drivers report back.

use colony_core::channel::StandardChannel;
use colony_core::config::Sampling;
use colony_core::node::Command;
use colony_core::payload::Payload;
use colony_core::priority::Priority;
use colony_core::rng::mix64;

use super::spec::SimSpec;
use super::workload::Broadcast;
use crate::byzantine::Behaviour;
use crate::faults::FaultKind;
use crate::script::ScriptedAction;
use crate::streams;

/// Time between join waves: several round trips of a wide-area network, so
/// each wave's joins have settled before the next wave uses its agents as
/// contacts. A million agents join in 20 waves (5 s).
pub const JOIN_WAVE_NS: u64 = 250_000_000;

/// How often each eclipse colluder asks its victim to make it an active
/// neighbour: faster than honest shuffles and failure detection can give
/// the victim its honest neighbours back.
const ECLIPSE_INTERVAL_NS: u64 = 500_000_000;

/// Payload of a flooder's junk broadcast, and its byte: a small message,
/// as a flood of cheap messages is what rate limits exist for.
const FLOOD_PAYLOAD_BYTES: usize = 64;
const FLOOD_BYTE: u8 = 0xF1;

/// What is due. The variant order is the order an agent handles commands
/// due at the same time (and part of every trace hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Due {
    /// Crash: lose every input until the restart.
    Crash,
    /// Restart after a crash, with a fresh state or the old one.
    Restart {
        /// A fresh node (a new life) instead of the old one resumed.
        lose_state: bool,
    },
    /// Join the overlay through this contact (views sampling, at start).
    Join(u32),
    /// The workload broadcast with this index.
    Broadcast(u32),
    /// The scripted action with this index.
    Action(u32),
    /// A flooder's junk broadcast.
    Flood,
    /// An eclipse colluder's neighbour request to this victim.
    Eclipse(u32),
}

/// The kind of a tag, in its high 32 bits (the low 32 bits are the
/// operand: a join's contact, a broadcast's or an action's index).
const TAG_BROADCAST: u64 = 1 << 32;
const TAG_ACTION: u64 = 2 << 32;
const TAG_FLOOD: u64 = 3 << 32;
/// Crash and restart tags count down from the top, clear of every other.
const TAG_CRASH: u64 = u64::MAX - 1;
const TAG_RESTART_KEEP_STATE: u64 = u64::MAX - 2;
const TAG_RESTART_LOSE_STATE: u64 = u64::MAX - 3;

impl Due {
    /// Its tag: what the trace hash folds when it is handled and what an
    /// async driver reports it under. A join's and an eclipse request's tag
    /// is the other agent (kind 0); [`Due::from_tag`] reads a join there,
    /// the only one of the two a driver runs.
    pub(crate) fn tag(self) -> u64 {
        match self {
            Due::Join(contact) | Due::Eclipse(contact) => u64::from(contact),
            Due::Broadcast(index) => TAG_BROADCAST | u64::from(index),
            Due::Action(index) => TAG_ACTION | u64::from(index),
            Due::Flood => TAG_FLOOD,
            Due::Crash => TAG_CRASH,
            Due::Restart { lose_state: false } => TAG_RESTART_KEEP_STATE,
            Due::Restart { lose_state: true } => TAG_RESTART_LOSE_STATE,
        }
    }

    /// The node commands a driver runs, from their tags.
    pub(crate) fn from_tag(tag: u64) -> Option<Due> {
        let operand = tag as u32;
        match tag & !u64::from(u32::MAX) {
            0 => Some(Due::Join(operand)),
            TAG_BROADCAST => Some(Due::Broadcast(operand)),
            TAG_ACTION => Some(Due::Action(operand)),
            _ => None,
        }
    }

    /// The command `agent`'s node is given; `None` for what acts on the
    /// host rather than the node (crash, restart, an eclipse request).
    pub(crate) fn command(
        self,
        agent: u32,
        workload: &[Broadcast],
        script: &[ScriptedAction],
    ) -> Option<Command<u32>> {
        Some(match self {
            Due::Join(contact) => Command::Join {
                contacts: vec![contact],
            },
            Due::Broadcast(index) => {
                let b = &workload[index as usize];
                Command::Broadcast {
                    channel_hash: b.channel_hash,
                    priority: b.priority,
                    payload: b.payload.build(b.origin, index),
                }
            }
            Due::Action(index) => script[index as usize].action.command(agent, index, |i| i),
            Due::Flood => Command::Broadcast {
                channel_hash: StandardChannel::Suggestions.hash(),
                priority: Priority::Normal,
                payload: Payload::App(vec![FLOOD_BYTE; FLOOD_PAYLOAD_BYTES]),
            },
            Due::Crash | Due::Restart { .. } | Due::Eclipse(_) => return None,
        })
    }
}

/// A command due at a time. The field order is the order the engine sorts
/// a window's commands in: by agent, then time, then [`Due`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Scheduled {
    /// The agent it is for.
    pub(crate) agent: u32,
    /// When, nanoseconds from the start of the run.
    pub(crate) at_ns: u64,
    /// What.
    pub(crate) due: Due,
}

/// Every command of a run.
#[derive(Clone, Debug, Default)]
pub(crate) struct Schedule {
    entries: Vec<Scheduled>,
}

impl Schedule {
    /// The schedule of `spec`.
    pub(crate) fn new(spec: &SimSpec) -> Self {
        let workload = (0u32..).zip(&spec.workload).map(|(index, b)| Scheduled {
            agent: b.origin,
            at_ns: b.at_ns,
            due: Due::Broadcast(index),
        });
        let script = (0u32..).zip(&spec.script).map(|(index, a)| Scheduled {
            agent: a.agent,
            at_ns: a.at_ns,
            due: Due::Action(index),
        });
        let joins = join_plan(spec).into_iter().map(|join| Scheduled {
            agent: join.agent,
            at_ns: join.at_ns,
            due: Due::Join(join.contact),
        });
        let entries = workload
            .chain(script)
            .chain(adversary(spec))
            .chain(joins)
            .chain(lifecycle(spec))
            .collect();
        Schedule { entries }
    }

    /// Every entry, workload first, then actions, adversary, joins, crashes
    /// and restarts.
    pub(crate) fn entries(&self) -> &[Scheduled] {
        &self.entries
    }

    /// Agent `agent`'s entries, in the order it handles them.
    pub(crate) fn of_agent(&self, agent: u32) -> Vec<Scheduled> {
        let mut mine: Vec<Scheduled> = self
            .entries
            .iter()
            .filter(|e| e.agent == agent)
            .copied()
            .collect();
        mine.sort_unstable();
        mine
    }
}

/// One agent's join at the start of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Join {
    agent: u32,
    at_ns: u64,
    contact: u32,
}

/// Who joins through whom, when (views sampling only; with uniform
/// sampling every agent knows every id from the start).
fn join_plan(spec: &SimSpec) -> Vec<Join> {
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
            let contact = (mix64(spec.seed ^ mix64(streams::JOIN_CONTACT ^ u64::from(agent)))
                % earlier) as u32;
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
fn adversary(spec: &SimSpec) -> Vec<Scheduled> {
    let mut commands = Vec::new();
    for group in spec.adversary.groups() {
        let (interval_ns, due) = match group.behaviour {
            Behaviour::Flood { per_s } if per_s > 0 => {
                (1_000_000_000 / u64::from(per_s), Due::Flood)
            }
            Behaviour::Eclipse { victim } if victim < spec.agents => {
                (ECLIPSE_INTERVAL_NS, Due::Eclipse(victim))
            }
            _ => continue,
        };
        let interval_ns = interval_ns.max(1);
        for agent in group.agents.iter().filter(|a| *a < spec.agents) {
            let mut at_ns = group.from_ns;
            while at_ns < spec.stop.duration_ns {
                commands.push(Scheduled { agent, at_ns, due });
                at_ns += interval_ns;
            }
        }
    }
    commands
}

/// Crashes and restarts: the crash faults' agents, then churn's departures
/// (each a crash and a restart with a fresh state).
fn lifecycle(spec: &SimSpec) -> Vec<Scheduled> {
    let mut commands = Vec::new();
    let mut down = |agent: u32, at_ns: u64, until_ns: Option<u64>, lose_state: bool| {
        if agent >= spec.agents {
            return;
        }
        commands.push(Scheduled {
            agent,
            at_ns,
            due: Due::Crash,
        });
        if let Some(until_ns) = until_ns {
            commands.push(Scheduled {
                agent,
                at_ns: until_ns,
                due: Due::Restart { lose_state },
            });
        }
    };
    for fault in spec.faults.faults() {
        if let FaultKind::Crash { agents, lose_state } = &fault.kind {
            for agent in agents.iter() {
                down(agent, fault.at_ns, fault.until_ns, *lose_state);
            }
        }
    }
    for departure in spec.faults.churn(spec.seed, spec.stop.duration_ns) {
        down(
            departure.agent,
            departure.leave_ns,
            Some(departure.rejoin_ns),
            true,
        );
    }
    commands
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drivers_tags_read_back_as_what_was_due() {
        for due in [Due::Join(7), Due::Broadcast(0), Due::Action(u32::MAX)] {
            assert_eq!(Due::from_tag(due.tag()), Some(due));
        }
        for due in [Due::Flood, Due::Crash, Due::Restart { lose_state: true }] {
            assert_eq!(Due::from_tag(due.tag()), None);
        }
    }
}
