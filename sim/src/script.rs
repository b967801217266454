//! Host-independent application behaviour: the timed actions a run gives its
//! agents beyond workload broadcasts (direct sends, requests, attention
//! changes, leaves), the simulated application's answer to a query, and
//! what each agent observed, with peers named by agent index.
//!
//! Every host (fast engine, turmoil, UDP) turns the same [`ScriptedAction`]s
//! into the same [`Command`]s and its node's [`Event`]s into the same
//! [`Observation`]s, so one conformance suite can hold all three to the same
//! assertions: a difference is a driver bug.

use std::time::Duration;

use colony_core::AgentId;
use colony_core::message::MessageId;
use colony_core::node::{Command, Event, PeerChange};
use colony_core::payload::Query;

use crate::plan::PayloadKind;
use colony_core::priority::{AttentionMode, Disposition, Priority};

/// What the simulated application answers to every query: hosts answer
/// each [`Event::Query`] with it at once, so request/response works alike
/// on every host.
pub const QUERY_ANSWER: &str = "ack";

/// An application action, with agents named by index.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send application bytes to one agent.
    SendTo {
        /// The receiver.
        to: u32,
        /// Channel id.
        channel_hash: u32,
        /// Priority.
        priority: Priority,
        /// What it carries.
        payload: PayloadKind,
    },
    /// Ask one agent a question.
    Request {
        /// The agent asked.
        to: u32,
        /// How long to wait for the answer.
        timeout: Duration,
    },
    /// Change the attention mode.
    SetAttention(AttentionMode),
    /// Leave gracefully.
    Leave,
}

impl Action {
    /// The node command of scripted action `index` of `agent`, with agent
    /// `i` addressed as `address_of(i)`.
    pub fn command<A>(&self, agent: u32, index: u32, address_of: impl Fn(u32) -> A) -> Command<A> {
        match self {
            Action::SendTo {
                to,
                channel_hash,
                priority,
                payload,
            } => Command::SendTo {
                to: address_of(*to),
                channel_hash: *channel_hash,
                priority: *priority,
                payload: payload.build(agent, index),
            },
            Action::Request { to, timeout } => Command::Request {
                to: address_of(*to),
                query: Query {
                    question: "are you there?".into(),
                },
                timeout: *timeout,
            },
            Action::SetAttention(mode) => Command::SetAttention(*mode),
            Action::Leave => Command::Leave,
        }
    }
}

/// An action due at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptedAction {
    /// When, nanoseconds from the start of the run.
    pub at_ns: u64,
    /// The agent that acts.
    pub agent: u32,
    /// What it does.
    pub action: Action,
}

/// What an agent saw, with peers named by agent index (`u32::MAX` when the
/// host cannot name the peer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// A message was delivered.
    Delivered {
        /// Its id.
        id: MessageId,
        /// Its channel.
        channel_hash: u32,
        /// Its priority.
        priority: Priority,
        /// Where attention routed it.
        disposition: Disposition,
    },
    /// A query arrived (the host answers it with [`QUERY_ANSWER`]).
    Query {
        /// The asker.
        from: u32,
    },
    /// An answer arrived.
    Response {
        /// The agent that answered.
        from: u32,
        /// The answer.
        answer: String,
    },
    /// A request timed out.
    RequestTimedOut {
        /// The agent asked.
        to: u32,
    },
    /// A digest was emitted.
    Digest {
        /// Messages it summarises.
        messages: u32,
    },
    /// The agent lost half its active view: it may be cut off.
    PartitionSuspected,
    /// A peer's state changed.
    Peer {
        /// The peer.
        peer: u32,
        /// What happened.
        change: PeerChange,
    },
}

/// One observation of one agent at one time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// When, nanoseconds from the start of the run.
    pub at_ns: u64,
    /// The agent.
    pub agent: u32,
    /// What it saw.
    pub what: Observation,
}

/// The observation of `event`, with peer `a` named `index_of(a)`.
pub fn observe<A: Copy>(event: &Event<A>, index_of: impl Fn(A) -> Option<u32>) -> Observation {
    let name = |a: A| index_of(a).unwrap_or(u32::MAX);
    match event {
        Event::Delivered(d) => Observation::Delivered {
            id: d.id,
            channel_hash: d.channel_hash,
            priority: d.priority,
            disposition: d.disposition,
        },
        Event::Query { from, .. } => Observation::Query { from: name(*from) },
        Event::Response { from, answer, .. } => Observation::Response {
            from: name(*from),
            answer: answer.clone(),
        },
        Event::RequestTimedOut { to, .. } => Observation::RequestTimedOut { to: name(*to) },
        Event::Digest(d) => Observation::Digest {
            messages: d.counts.iter().map(|c| c.count).sum::<u32>() + d.other,
        },
        Event::PartitionSuspected { .. } => Observation::PartitionSuspected,
        Event::Peer { peer, change } => Observation::Peer {
            peer: name(*peer),
            change: *change,
        },
    }
}

/// The simulated application's reaction to `event`: it answers every query.
pub fn reaction<A: Copy>(event: &Event<A>) -> Option<Command<A>> {
    match event {
        Event::Query { from, seq, .. } => Some(Command::Respond {
            to: *from,
            reply_to_seq: *seq,
            answer: QUERY_ANSWER.into(),
        }),
        _ => None,
    }
}

/// The dense index of an agent id built by [`AgentId::from_index`].
pub fn agent_index(id: &AgentId) -> Option<u32> {
    id.index().and_then(|i| u32::try_from(i).ok())
}
