//! The node's API: what a host gives [`Node::handle`](super::Node::handle) ([`Input`],
//! [`Command`]), what it answers ([`Handled`], [`CommandError`]) and what
//! it reports through [`Node::poll_event`](super::Node::poll_event) ([`Event`], [`Delivery`],
//! [`PeerChange`]). Everything else about the node is behind these types.

use core::fmt;
use core::time::Duration;

use super::attention::Digest;
use super::stats::{DROP_REASONS, DropReason};
use crate::channel::{Channel, SubscribeError};
use crate::message::MessageId;
use crate::msg_type::MsgType;
use crate::payload::{Payload, PayloadError, Query};
use crate::priority::{AttentionMode, Disposition, Priority};
use crate::time::Time;

/// One input to [`Node::handle`](super::Node::handle).
#[derive(Clone, Debug)]
pub enum Input<'a, A> {
    /// A datagram from `source` (the transport's sender address).
    Datagram {
        /// Who sent it (the forwarder, not necessarily the origin).
        source: A,
        /// The bytes, exactly as received.
        bytes: &'a [u8],
    },
    /// The time from [`Node::poll_timeout`](super::Node::poll_timeout) (or any later time) was reached.
    Timeout,
    /// An application command.
    Command(Command<A>),
}

/// What the application asks of its node.
#[derive(Clone, Debug)]
pub enum Command<A> {
    /// Join the overlay through these contacts (seed agents).
    Join {
        /// Agents to ask; the first that answers admits us.
        contacts: Vec<A>,
    },
    /// Broadcast to every subscriber of a channel.
    Broadcast {
        /// The channel's id.
        channel_hash: u32,
        /// Priority.
        priority: Priority,
        /// The payload (its type is the message type).
        payload: Payload,
    },
    /// Send to one agent, whatever its subscriptions.
    SendTo {
        /// The receiver.
        to: A,
        /// The channel's id (for the receiver's bookkeeping).
        channel_hash: u32,
        /// Priority.
        priority: Priority,
        /// The payload.
        payload: Payload,
    },
    /// Ask one agent a question; a [`Event::Response`] or
    /// [`Event::RequestTimedOut`] follows.
    Request {
        /// The agent asked.
        to: A,
        /// The question.
        query: Query,
        /// How long to wait for the answer.
        timeout: Duration,
    },
    /// Answer a [`Event::Query`].
    Respond {
        /// The asker.
        to: A,
        /// The query's sequence number.
        reply_to_seq: u16,
        /// The answer.
        answer: String,
    },
    /// Deliver this channel from now on.
    Subscribe(Channel),
    /// Stop delivering this channel (it is still relayed).
    Unsubscribe(Channel),
    /// Change the attention mode.
    SetAttention(AttentionMode),
    /// Broadcast a status update on `_status`.
    SetStatus(crate::payload::Status),
    /// Move up to `max` queued messages from the inbox to events, most urgent first.
    ReadInbox {
        /// Most messages to read.
        max: u16,
    },
    /// Leave gracefully: tell the neighbours, then ignore all input.
    Leave,
}

/// What a successful [`Node::handle`](super::Node::handle) did, for commands that create something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Nothing to report.
    Done,
    /// A message was sent with this id (broadcast, send, response).
    Sent(MessageId),
    /// A request was sent; its answer will name this sequence number.
    Requested(u16),
}

/// What a node did with one datagram, as [`Node::receive`](super::Node::receive)
/// reports it: what a host's CPU model charges for, and the drops a host
/// that accounts them per sender charges to the sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// What the datagram was to the node.
    pub kind: ReceivedKind,
    /// Signatures checked (valid or not) while handling it.
    pub signatures_checked: u64,
    /// Drops counted while handling it, indexed by [`DropReason`] as
    /// `usize`: the datagram's own (a duplicate, an expired message …) and
    /// any it caused (a stored message evicted, an inbox overflowing).
    pub drops: [u64; DROP_REASONS],
}

/// What a datagram was to the node that received it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceivedKind {
    /// A copy of a message it already had.
    Duplicate,
    /// A new application message, delivered.
    Fresh,
    /// Anything else: control, a message it refused or deferred.
    Other,
}

impl Received {
    /// The drops counted, as (reason, count), non-zero only.
    pub fn drops(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|reason| (*reason, self.drops[*reason as usize]))
            .filter(|(_, count)| *count > 0)
    }
}

/// Why a command was refused. The node's state is unchanged in every case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// The payload cannot be encoded or is too long for one datagram.
    Payload(PayloadError),
    /// The subscription table refused the channel.
    Subscribe(SubscribeError),
    /// Already [`Config::requests_pending_max`](crate::config::Config::requests_pending_max) requests outstanding.
    TooManyRequests,
    /// The node has left.
    NotRunning,
    /// `Join` with no contact.
    NoContacts,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Payload(e) => write!(f, "{e}"),
            CommandError::Subscribe(e) => write!(f, "{e}"),
            CommandError::TooManyRequests => write!(f, "too many outstanding requests"),
            CommandError::NotRunning => write!(f, "the node has left"),
            CommandError::NoContacts => write!(f, "join needs at least one contact"),
        }
    }
}

impl std::error::Error for CommandError {}

/// An application message as delivered to the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery<A> {
    /// The message id.
    pub id: MessageId,
    /// The peer it arrived from.
    pub source: A,
    /// Its type.
    pub msg_type: MsgType,
    /// Its channel id.
    pub channel_hash: u32,
    /// Its priority.
    pub priority: Priority,
    /// Hops it travelled (1 = straight from the origin).
    pub hops: u8,
    /// Where the attention mode routed it.
    pub disposition: Disposition,
    /// When it was received.
    pub received_at: Time,
    /// The payload bytes (decode with [`Payload::decode`]); empty in a
    /// [`Disposition::Queued`] or [`Disposition::Digest`] notice.
    pub payload: Vec<u8>,
}

/// Why a peer's state changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerChange {
    /// Added to the active view.
    Up,
    /// Removed from the active view (disconnect or replaced).
    Down,
    /// Suspected of having failed (SWIM).
    Suspected,
    /// Refuted a suspicion.
    Alive,
    /// Confirmed failed.
    Failed,
    /// Left gracefully.
    Left,
}

/// What a node reports to its application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<A> {
    /// A message was received on a subscribed channel or sent to this agent.
    /// Every first receipt produces one, whatever the disposition; only an
    /// immediate delivery (or an inbox read) carries the payload.
    Delivered(Delivery<A>),
    /// A question to answer with [`Command::Respond`].
    Query {
        /// The asker.
        from: A,
        /// The query's sequence number (pass it back as `reply_to_seq`).
        seq: u16,
        /// The question.
        query: Query,
    },
    /// The answer to a [`Command::Request`].
    Response {
        /// The request's sequence number.
        request: u16,
        /// The agent that answered.
        from: A,
        /// The answer.
        answer: String,
    },
    /// No answer to a request before its timeout.
    RequestTimedOut {
        /// The request's sequence number.
        request: u16,
        /// The agent asked.
        to: A,
    },
    /// The periodic digest.
    Digest(Digest<A>),
    /// Half the active view failed or was graylisted since the last join
    /// (or the last such event): this node may be cut off from much of the
    /// swarm, e.g. by a partition.
    PartitionSuspected {
        /// Active neighbours lost.
        peers_lost: u8,
    },
    /// A peer's state changed.
    Peer {
        /// The peer.
        peer: A,
        /// What happened.
        change: PeerChange,
    },
}
