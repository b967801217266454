//! Payloads of the protocol's own messages (membership and gossip control):
//! fixed binary layouts, big-endian, addresses in their [`Address`] wire form.
//!
//! Every list is bounded by [`CONTROL_LIST_MAX`] on decode, so a peer cannot
//! make a node allocate more than a few kilobytes for one datagram. Decoding
//! returns `None` on any malformed input and never panics.

use crate::address::Address;
use crate::agent_id::AgentId;
use crate::header::{CompactHeader, Flags, HEADER_LEN, HeaderFields};
use crate::message::MessageId;
use crate::msg_type::MsgType;
use crate::priority::Priority;

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

/// Most membership news one probe message (ping, ack, ping-req) carries
/// piggybacked. SWIM disseminates by piggybacking alone, so this bounds how
/// fast news travels (memberlist fills a datagram instead); six entries of
/// a 16-byte address are 222 bytes, well inside one datagram.
pub const NEWS_PIGGYBACK_MAX: usize = 16;

/// Membership entries one [`Control::MemberSync`] datagram carries: 32
/// entries of a 16-byte address are 1,184 bytes, under a 1,280-byte path MTU
/// with the header.
pub const SYNC_CHUNK_MAX: usize = 32;

/// One piece of SWIM membership news (full-membership mode): what `from`
/// says of `member`. Piggybacked on probes and carried by state syncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberNews<A> {
    /// The agent concerned.
    pub member: A,
    /// Its incarnation number.
    pub incarnation: u32,
    /// Its state at that incarnation.
    pub state: MemberState,
    /// The agent that started this news (a suspicion's suspecter: Lifeguard
    /// counts independent suspecters).
    pub from: A,
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
        /// Piggybacked membership news (full-membership SWIM; empty, and
        /// absent on the wire, otherwise).
        news: Vec<MemberNews<A>>,
    },
    /// SWIM probe answer.
    Ack {
        /// Sequence number of the probe answered.
        probe_seq: u16,
        /// Echo of the ping's relay field.
        relay: Option<(A, u16)>,
        /// The agent that answered the probe.
        member: A,
        /// Piggybacked membership news, as in [`Control::Ping`].
        news: Vec<MemberNews<A>>,
    },
    /// SWIM indirect probe request.
    PingReq {
        /// The agent to probe.
        target: A,
        /// Piggybacked membership news, as in [`Control::Ping`].
        news: Vec<MemberNews<A>>,
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
    /// Full-membership SWIM state sync (memberlist's push-pull): one chunk
    /// of the sender's member list.
    MemberSync {
        /// The receiver answers with its own list (set on the first chunk
        /// of a sync the sender starts).
        reply: bool,
        /// Up to [`SYNC_CHUNK_MAX`] members.
        members: Vec<MemberNews<A>>,
    },
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
    fn state(&mut self) -> Option<MemberState> {
        match self.u8()? {
            0 => Some(MemberState::Alive),
            1 => Some(MemberState::Suspect),
            2 => Some(MemberState::Dead),
            _ => None,
        }
    }
    fn news<A: Address>(&mut self) -> Option<MemberNews<A>> {
        Some(MemberNews {
            member: self.addr()?,
            incarnation: self.u32()?,
            state: self.state()?,
            from: self.addr()?,
        })
    }
    /// Piggybacked news: absent when empty (so that probes of the
    /// active-view detector keep their layout), never an empty list.
    fn news_tail<A: Address>(&mut self) -> Option<Vec<MemberNews<A>>> {
        if self.bytes.is_empty() {
            return Some(Vec::new());
        }
        let news = self.list(Self::news)?;
        (!news.is_empty() && news.len() <= NEWS_PIGGYBACK_MAX).then_some(news)
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

fn put_news<A: Address>(out: &mut Vec<u8>, news: &MemberNews<A>) {
    put_addr(out, &news.member);
    out.extend_from_slice(&news.incarnation.to_be_bytes());
    out.push(news.state as u8);
    put_addr(out, &news.from);
}

/// Appends piggybacked news: nothing when there is none.
fn put_news_tail<A: Address>(out: &mut Vec<u8>, news: &[MemberNews<A>]) {
    if !news.is_empty() {
        put_list(out, &news[..news.len().min(NEWS_PIGGYBACK_MAX)], put_news);
    }
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
            Control::MemberSync { .. } => MsgType::MemberSync,
            Control::IHave { .. } => MsgType::IHave,
            Control::IWant { .. } => MsgType::IWant,
            Control::Graft => MsgType::Graft,
            Control::Prune => MsgType::Prune,
            Control::PullRequest { .. } => MsgType::PullRequest,
            Control::Feedback { .. } => MsgType::Feedback,
        }
    }

    /// Appends the whole datagram a node sends it in to `out`: a compact
    /// header (critical, direct, no channel, no timestamp) from `from` with
    /// sequence number `seq`, forwardable `hops_remaining` more times,
    /// then the payload. The one encoder of control datagrams: nodes, the
    /// simulator's Byzantine wrappers, benches and tests all use it.
    pub fn encode_datagram(&self, from: AgentId, seq: u16, hops_remaining: u8, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + HEADER_LEN, 0);
        self.encode(out);
        let header = CompactHeader::new(HeaderFields {
            msg_type: self.msg_type(),
            priority: Priority::Critical,
            seq,
            from,
            channel_hash: 0,
            timestamp_s: 0,
            payload_len: (out.len() - start - HEADER_LEN) as u16,
            flags: Flags::DIRECT,
            hops_remaining,
        });
        out[start..start + HEADER_LEN].copy_from_slice(zerocopy::IntoBytes::as_bytes(&header));
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
            Control::Ping { relay, news } => {
                put_relay(out, relay);
                put_news_tail(out, news);
            }
            Control::Ack {
                probe_seq,
                relay,
                member,
                news,
            } => {
                out.extend_from_slice(&probe_seq.to_be_bytes());
                put_relay(out, relay);
                put_addr(out, member);
                put_news_tail(out, news);
            }
            Control::PingReq { target, news } => {
                put_addr(out, target);
                put_news_tail(out, news);
            }
            Control::MemberSync { reply, members } => {
                out.push(u8::from(*reply));
                put_list(out, &members[..members.len().min(SYNC_CHUNK_MAX)], put_news);
            }
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
            MsgType::Ping => Control::Ping {
                relay: r.relay()?,
                news: r.news_tail()?,
            },
            MsgType::Ack => Control::Ack {
                probe_seq: r.u16()?,
                relay: r.relay()?,
                member: r.addr()?,
                news: r.news_tail()?,
            },
            MsgType::PingReq => Control::PingReq {
                target: r.addr()?,
                news: r.news_tail()?,
            },
            MsgType::MemberUpdate => Control::MemberUpdate {
                member: r.addr()?,
                incarnation: r.u32()?,
                state: r.state()?,
            },
            MsgType::MemberSync => {
                let reply = r.bool()?;
                let members = r.list(Reader::news)?;
                if members.len() > SYNC_CHUNK_MAX {
                    return None;
                }
                Control::MemberSync { reply, members }
            }
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

    fn news(member: u32, state: MemberState) -> MemberNews<u32> {
        MemberNews {
            member,
            incarnation: 2,
            state,
            from: 40,
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
                news: vec![],
            },
            Control::Ping {
                relay: None,
                news: vec![news(3, MemberState::Suspect)],
            },
            Control::Ack {
                probe_seq: 5,
                relay: None,
                member: 8,
                news: vec![],
            },
            Control::Ack {
                probe_seq: 5,
                relay: Some((2, 9)),
                member: 8,
                news: vec![news(1, MemberState::Alive), news(2, MemberState::Dead)],
            },
            Control::PingReq {
                target: 12,
                news: vec![],
            },
            Control::PingReq {
                target: 12,
                news: vec![news(12, MemberState::Suspect)],
            },
            Control::MemberSync {
                reply: true,
                members: vec![news(1, MemberState::Alive), news(7, MemberState::Suspect)],
            },
            Control::MemberSync {
                reply: false,
                members: vec![],
            },
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

    #[test]
    fn probes_without_news_keep_their_layout() {
        let mut bytes = Vec::new();
        Control::<u32>::Ping {
            relay: None,
            news: vec![],
        }
        .encode(&mut bytes);
        assert_eq!(bytes, [0], "the relay flag alone, as before piggybacking");
        // An explicit empty list is not canonical: refused.
        assert_eq!(Control::<u32>::decode(MsgType::Ping, &[0, 0]), None);
    }

    #[test]
    fn piggybacked_news_beyond_the_bound_is_refused() {
        let mut bytes = vec![0, (NEWS_PIGGYBACK_MAX + 1) as u8];
        bytes.resize(2 + (NEWS_PIGGYBACK_MAX + 1) * 13, 0);
        assert_eq!(Control::<u32>::decode(MsgType::Ping, &bytes), None);
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
