//! Payloads of the protocol's own messages (membership and gossip control):
//! fixed binary layouts, big-endian, addresses in their [`Address`] wire form.
//!
//! Every list is bounded by [`CONTROL_LIST_MAX`] on decode, so a peer cannot
//! make a node allocate more than a few kilobytes for one datagram. Decoding
//! returns `None` on any malformed input and never panics.

use crate::address::Address;
use crate::agent_id::AgentId;
use crate::message::MessageId;
use crate::msg_type::MsgType;

/// Longest list (of peers or message ids) one control message carries.
/// Shuffles send a few peers and pull digests a few dozen ids; 64 covers both
/// with room, and caps what one datagram can make a node allocate.
pub const CONTROL_LIST_MAX: usize = 64;

/// Bytes of a message id on the wire: from (16) + timestamp (4) + seq (2).
pub const MESSAGE_ID_WIRE_LEN: usize = 22;

/// Liveness state carried by a [`Control::MemberUpdate`] (SWIM).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberState {
    /// Alive at this incarnation (a refutation when it follows a suspicion).
    Alive = 0,
    /// Suspected of having failed.
    Suspect = 1,
    /// Confirmed failed, or left.
    Dead = 2,
}

/// A control message, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control<A> {
    /// Ask to join the overlay through the receiver.
    Join,
    /// A join travelling a random walk.
    ForwardJoin {
        /// The joining agent.
        joiner: A,
        /// Steps left in the walk.
        ttl: u8,
    },
    /// Ask to become an active neighbour.
    Neighbor {
        /// The sender has no active neighbour left: the receiver must accept.
        high_priority: bool,
    },
    /// Answer to [`Control::Neighbor`].
    NeighborReply {
        /// Whether the sender added the requester to its active view.
        accepted: bool,
    },
    /// The sender dropped the receiver from its active view.
    Disconnect,
    /// Passive-view exchange travelling a random walk.
    Shuffle {
        /// Who started the shuffle (replies go there).
        origin: A,
        /// Steps left in the walk.
        ttl: u8,
        /// A sample of the origin's views, the origin first.
        peers: Vec<A>,
    },
    /// Answer to a shuffle.
    ShuffleReply {
        /// A sample of the replier's passive view.
        peers: Vec<A>,
    },
    /// SWIM probe; `relay` is set when probing on behalf of another agent.
    Ping {
        /// `(requester, requester's probe seq)` for indirect probes.
        relay: Option<(A, u16)>,
    },
    /// SWIM probe answer.
    Ack {
        /// Sequence number of the probe answered.
        probe_seq: u16,
        /// Echo of the ping's relay field.
        relay: Option<(A, u16)>,
        /// The agent that answered the probe.
        member: A,
    },
    /// SWIM indirect probe request.
    PingReq {
        /// The agent to probe.
        target: A,
    },
    /// SWIM membership rumour.
    MemberUpdate {
        /// The agent concerned.
        member: A,
        /// Its incarnation number.
        incarnation: u32,
        /// Its state at that incarnation.
        state: MemberState,
    },
    /// Graceful leave.
    Leave,
    /// PlumTree lazy push.
    IHave {
        /// Ids the sender has.
        ids: Vec<MessageId>,
    },
    /// PlumTree repair request.
    IWant {
        /// Ids the sender wants.
        ids: Vec<MessageId>,
    },
    /// PlumTree: make the link eager.
    Graft,
    /// PlumTree: make the link lazy.
    Prune,
    /// Pull digest: ids the sender already has.
    PullRequest {
        /// Recent ids the sender has.
        known: Vec<MessageId>,
    },
    /// Rumor feedback: the receiver already knew this message.
    Feedback {
        /// The message.
        id: MessageId,
    },
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn bool(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn addr<A: Address>(&mut self) -> Option<A> {
        A::read_wire(self.take(A::WIRE_LEN)?)
    }
    fn relay<A: Address>(&mut self) -> Option<Option<(A, u16)>> {
        if self.bool()? {
            Some(Some((self.addr()?, self.u16()?)))
        } else {
            Some(None)
        }
    }
    fn id(&mut self) -> Option<MessageId> {
        let from = AgentId(self.take(16)?.try_into().ok()?);
        Some(MessageId {
            from,
            timestamp_s: self.u32()?,
            seq: self.u16()?,
        })
    }
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let n = usize::from(self.u8()?);
        if n > CONTROL_LIST_MAX {
            return None;
        }
        (0..n).map(|_| item(self)).collect()
    }
    fn end<T>(self, value: T) -> Option<T> {
        self.bytes.is_empty().then_some(value)
    }
}

fn put_addr<A: Address>(out: &mut Vec<u8>, addr: &A) {
    let start = out.len();
    out.resize(start + A::WIRE_LEN, 0);
    addr.write_wire(&mut out[start..]);
}

fn put_relay<A: Address>(out: &mut Vec<u8>, relay: &Option<(A, u16)>) {
    match relay {
        None => out.push(0),
        Some((addr, seq)) => {
            out.push(1);
            put_addr(out, addr);
            out.extend_from_slice(&seq.to_be_bytes());
        }
    }
}

fn put_id(out: &mut Vec<u8>, id: &MessageId) {
    out.extend_from_slice(id.from.as_bytes());
    out.extend_from_slice(&id.timestamp_s.to_be_bytes());
    out.extend_from_slice(&id.seq.to_be_bytes());
}

fn put_list<T>(out: &mut Vec<u8>, items: &[T], mut put: impl FnMut(&mut Vec<u8>, &T)) {
    let items = &items[..items.len().min(CONTROL_LIST_MAX)];
    out.push(items.len() as u8);
    for item in items {
        put(out, item);
    }
}

impl<A: Address> Control<A> {
    /// The message type that carries this control message.
    pub fn msg_type(&self) -> MsgType {
        match self {
            Control::Join => MsgType::Join,
            Control::ForwardJoin { .. } => MsgType::ForwardJoin,
            Control::Neighbor { .. } => MsgType::Neighbor,
            Control::NeighborReply { .. } => MsgType::NeighborReply,
            Control::Disconnect => MsgType::Disconnect,
            Control::Shuffle { .. } => MsgType::Shuffle,
            Control::ShuffleReply { .. } => MsgType::ShuffleReply,
            Control::Ping { .. } => MsgType::Ping,
            Control::Ack { .. } => MsgType::Ack,
            Control::PingReq { .. } => MsgType::PingReq,
            Control::MemberUpdate { .. } => MsgType::MemberUpdate,
            Control::Leave => MsgType::Leave,
            Control::IHave { .. } => MsgType::IHave,
            Control::IWant { .. } => MsgType::IWant,
            Control::Graft => MsgType::Graft,
            Control::Prune => MsgType::Prune,
            Control::PullRequest { .. } => MsgType::PullRequest,
            Control::Feedback { .. } => MsgType::Feedback,
        }
    }

    /// Appends the payload to `out`. Lists longer than [`CONTROL_LIST_MAX`]
    /// are truncated.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Control::Join
            | Control::Disconnect
            | Control::Leave
            | Control::Graft
            | Control::Prune => {}
            Control::ForwardJoin { joiner, ttl } => {
                put_addr(out, joiner);
                out.push(*ttl);
            }
            Control::Neighbor { high_priority } => out.push(u8::from(*high_priority)),
            Control::NeighborReply { accepted } => out.push(u8::from(*accepted)),
            Control::Shuffle { origin, ttl, peers } => {
                put_addr(out, origin);
                out.push(*ttl);
                put_list(out, peers, put_addr);
            }
            Control::ShuffleReply { peers } => put_list(out, peers, put_addr),
            Control::Ping { relay } => put_relay(out, relay),
            Control::Ack {
                probe_seq,
                relay,
                member,
            } => {
                out.extend_from_slice(&probe_seq.to_be_bytes());
                put_relay(out, relay);
                put_addr(out, member);
            }
            Control::PingReq { target } => put_addr(out, target),
            Control::MemberUpdate {
                member,
                incarnation,
                state,
            } => {
                put_addr(out, member);
                out.extend_from_slice(&incarnation.to_be_bytes());
                out.push(*state as u8);
            }
            Control::IHave { ids }
            | Control::IWant { ids }
            | Control::PullRequest { known: ids } => put_list(out, ids, put_id),
            Control::Feedback { id } => put_id(out, id),
        }
    }

    /// Decodes the payload of a control message of type `msg_type`; `None` for
    /// an application type or malformed bytes.
    pub fn decode(msg_type: MsgType, bytes: &[u8]) -> Option<Self> {
        let mut r = Reader { bytes };
        let control = match msg_type {
            MsgType::Join => Control::Join,
            MsgType::Disconnect => Control::Disconnect,
            MsgType::Leave => Control::Leave,
            MsgType::Graft => Control::Graft,
            MsgType::Prune => Control::Prune,
            MsgType::ForwardJoin => Control::ForwardJoin {
                joiner: r.addr()?,
                ttl: r.u8()?,
            },
            MsgType::Neighbor => Control::Neighbor {
                high_priority: r.bool()?,
            },
            MsgType::NeighborReply => Control::NeighborReply {
                accepted: r.bool()?,
            },
            MsgType::Shuffle => Control::Shuffle {
                origin: r.addr()?,
                ttl: r.u8()?,
                peers: r.list(Reader::addr)?,
            },
            MsgType::ShuffleReply => Control::ShuffleReply {
                peers: r.list(Reader::addr)?,
            },
            MsgType::Ping => Control::Ping { relay: r.relay()? },
            MsgType::Ack => Control::Ack {
                probe_seq: r.u16()?,
                relay: r.relay()?,
                member: r.addr()?,
            },
            MsgType::PingReq => Control::PingReq { target: r.addr()? },
            MsgType::MemberUpdate => Control::MemberUpdate {
                member: r.addr()?,
                incarnation: r.u32()?,
                state: match r.u8()? {
                    0 => MemberState::Alive,
                    1 => MemberState::Suspect,
                    2 => MemberState::Dead,
                    _ => return None,
                },
            },
            MsgType::IHave => Control::IHave {
                ids: r.list(Reader::id)?,
            },
            MsgType::IWant => Control::IWant {
                ids: r.list(Reader::id)?,
            },
            MsgType::PullRequest => Control::PullRequest {
                known: r.list(Reader::id)?,
            },
            MsgType::Feedback => Control::Feedback { id: r.id()? },
            _ => return None,
        };
        r.end(control)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u16) -> MessageId {
        MessageId {
            from: AgentId::from_index(u64::from(n)),
            timestamp_s: 100,
            seq: n,
        }
    }

    fn samples() -> Vec<Control<u32>> {
        vec![
            Control::Join,
            Control::ForwardJoin { joiner: 9, ttl: 6 },
            Control::Neighbor {
                high_priority: true,
            },
            Control::NeighborReply { accepted: false },
            Control::Disconnect,
            Control::Shuffle {
                origin: 3,
                ttl: 2,
                peers: vec![1, 2, 3],
            },
            Control::ShuffleReply { peers: vec![] },
            Control::Ping {
                relay: Some((4, 77)),
            },
            Control::Ack {
                probe_seq: 5,
                relay: None,
                member: 8,
            },
            Control::PingReq { target: 12 },
            Control::MemberUpdate {
                member: 1,
                incarnation: 3,
                state: MemberState::Suspect,
            },
            Control::Leave,
            Control::IHave {
                ids: vec![id(1), id(2)],
            },
            Control::IWant { ids: vec![id(3)] },
            Control::Graft,
            Control::Prune,
            Control::PullRequest { known: vec![id(4)] },
            Control::Feedback { id: id(5) },
        ]
    }

    #[test]
    fn every_control_message_round_trips() {
        for control in samples() {
            let mut bytes = Vec::new();
            control.encode(&mut bytes);
            assert_eq!(
                Control::decode(control.msg_type(), &bytes),
                Some(control.clone())
            );
            bytes.push(0);
            assert_eq!(
                Control::<u32>::decode(control.msg_type(), &bytes),
                None,
                "{control:?}"
            );
        }
    }

    #[test]
    fn an_oversized_list_is_refused() {
        let mut bytes = vec![(CONTROL_LIST_MAX + 1) as u8];
        bytes.resize(1 + (CONTROL_LIST_MAX + 1) * 4, 0);
        assert_eq!(Control::<u32>::decode(MsgType::ShuffleReply, &bytes), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn arbitrary_bytes_decode_or_are_refused(
            which in 0usize..MsgType::ALL.len(),
            bytes in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let msg_type = MsgType::ALL[which];
            if let Some(control) = Control::<u32>::decode(msg_type, &bytes) {
                let mut again = Vec::new();
                control.encode(&mut again);
                prop_assert_eq!(again, bytes);
            }
        }
    }
}
