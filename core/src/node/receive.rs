//! The receive path: validate, filter duplicates, budget, rate-limit, deliver,
//! relay. The first four steps are the hot path the tick budget is about;
//! they read the header in place and allocate nothing.

use super::reputation::{PENALTY_GRAYLISTED, PENALTY_INVALID, PENALTY_RATE, Reputation};
use super::{DropReason, Event, Node, gossip};
use crate::address::Address;
use crate::control::Control;
use crate::header::{CompactHeader, Flags};
use crate::message::MessageId;
use crate::msg_type::MsgType;
use crate::payload::{Payload, Query, Response};
use crate::rng::mix64;
use crate::signing::SignatureError;
use crate::time::Time;

/// Mixing constant that separates origin keys (rate limiting) from message
/// keys (duplicate filter) drawn from the same secret.
const ORIGIN_KEY_DOMAIN: u64 = 0x6f72_6967_696e_5f6b;

impl<A: Address> Node<A> {
    /// One datagram from `source`.
    pub(super) fn on_datagram(&mut self, now: Time, source: A, bytes: &[u8]) {
        if let Some(reputation) = self.reputation.as_mut()
            && reputation.graylisted(source, now)
        {
            // A graylisted peer that keeps sending stays graylisted.
            reputation.penalize(source, PENALTY_GRAYLISTED, now);
            self.stats.drop(DropReason::Graylisted);
            return;
        }
        let (header, payload) = match CompactHeader::parse(bytes) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.stats.drop(DropReason::of_header_error(&error));
                self.penalize(now, source, PENALTY_INVALID);
                return;
            }
        };
        // The first byte decides between the application fast path and
        // protocol control (a raw-code test: the type itself is decoded only
        // where it is needed).
        if !MsgType::is_application_code(header.msg_type_code()) {
            let msg_type = header.msg_type().expect("parse validated the type");
            match Control::<A>::decode(msg_type, payload) {
                Some(control) => {
                    self.on_control(now, source, header.seq(), header.hops_remaining(), control)
                }
                None => {
                    self.stats.drop(DropReason::BadControl);
                    self.penalize(now, source, PENALTY_INVALID);
                }
            }
            return;
        }
        let key = self.message_key(&header.from().0, header.timestamp_s(), header.seq());
        if self.seen.contains(key) {
            let reason = if self.security.is_some() && self.equivocates(key, header, payload, bytes)
            {
                DropReason::Equivocation
            } else {
                DropReason::Duplicate
            };
            self.stats.drop(reason);
            self.on_duplicate(source, header);
            return;
        }
        if header.timestamp_s() <= self.forgotten_through_s {
            self.stats.drop(DropReason::Stale);
            return;
        }
        if self.work_this_round >= self.config.work_per_round_max.get() {
            let priority = header.priority().expect("parse validated the priority");
            self.defer(now, source, priority, bytes);
            return;
        }
        self.work_this_round += 1;
        let msg_type = header.msg_type().expect("parse validated the type");
        self.accept(now, source, key, header, msg_type, payload, bytes);
    }

    /// Whether a duplicate of a stored message carries another payload
    /// that its origin signed: proof that the origin sent two messages under
    /// one id. Only with signatures (without them anyone can make such a
    /// copy) and only while the first copy is stored; a copy whose signature
    /// fails is a relay's corruption, not the origin's.
    #[inline(never)]
    fn equivocates(&self, key: u64, header: &CompactHeader, payload: &[u8], bytes: &[u8]) -> bool {
        let Some(stored) = gossip::stored_bytes(&self.store, key) else {
            return false;
        };
        let stored_payload = CompactHeader::parse(stored).map(|(_, p)| p).unwrap_or(&[]);
        if stored_payload == payload {
            return false;
        }
        let Some(directory) = self.security.as_ref().and_then(|s| s.directory.as_deref()) else {
            return false;
        };
        crate::signing::verify(directory, header, payload, bytes).is_ok()
    }

    /// A new application message within the work budget.
    #[allow(clippy::too_many_arguments)] // the parsed views of one datagram
    fn accept(
        &mut self,
        now: Time,
        source: A,
        key: u64,
        header: &CompactHeader,
        msg_type: MsgType,
        payload: &[u8],
        bytes: &[u8],
    ) {
        if let Some(directory) = self.security.as_ref().and_then(|s| s.directory.as_deref()) {
            let verdict = crate::signing::verify(directory, header, payload, bytes);
            if matches!(verdict, Ok(()) | Err(SignatureError::Invalid)) {
                self.stats.signatures_checked += 1;
            }
            match verdict {
                Ok(()) => {}
                Err(SignatureError::Unsigned) => {
                    self.stats.drop(DropReason::Unsigned);
                    self.penalize(now, source, PENALTY_INVALID);
                    return;
                }
                Err(SignatureError::Invalid | SignatureError::UnknownOrigin) => {
                    self.stats.drop(DropReason::BadSignature);
                    self.penalize(now, source, PENALTY_INVALID);
                    return;
                }
            }
        }
        let age_s = self.unix_s(now).saturating_sub(header.timestamp_s());
        if u64::from(age_s) > self.config.message_ttl.as_secs() {
            self.remember(now, key);
            self.stats.drop(DropReason::Expired);
            return;
        }
        let origin_key =
            mix64(key_of_origin(&header.from().0) ^ self.key_secret ^ ORIGIN_KEY_DOMAIN);
        if !self.rate.allow(self.config.rate_limit(), origin_key, now) {
            // Not marked seen: an honest origin briefly above the limit must
            // not lose the message for good. A later copy (a push in a later
            // round, a pull reply, a PlumTree repair) is accepted once the
            // origin's bucket has refilled.
            self.stats.drop(DropReason::RateLimited);
            // Straight from its origin (no hop spent): the source itself floods.
            if header.hops_remaining() == self.config.hops_initial {
                self.penalize(now, source, PENALTY_RATE);
            }
            return;
        }
        self.remember(now, key);
        let direct = header.flags().contains(Flags::DIRECT);
        let id = MessageId::of(header);
        match msg_type {
            MsgType::Query if direct => match Payload::decode(msg_type, payload) {
                Ok(Payload::Query(query)) => self.on_query(source, header.seq(), query),
                _ => self.stats.drop(DropReason::BadControl),
            },
            MsgType::Response if direct => match Payload::decode(msg_type, payload) {
                Ok(Payload::Response(response)) => self.on_response(source, response),
                _ => self.stats.drop(DropReason::BadControl),
            },
            _ => {
                if direct || self.subscriptions.contains_hash(header.channel_hash()) {
                    self.deliver(now, source, id, header, msg_type, payload, direct);
                } else {
                    self.stats.drop(DropReason::Unsubscribed);
                }
            }
        }
        if !direct && header.hops_remaining() > 0 {
            self.relay(now, source, key, id, bytes);
        }
    }

    /// Takes points from `source` (with `Config::reputation`); a peer this
    /// graylists leaves both views at once.
    fn penalize(&mut self, now: Time, source: A, points: i32) {
        if !self.config.reputation {
            return;
        }
        let graylisted = self
            .reputation
            .get_or_insert_with(|| Box::new(Reputation::new()))
            .penalize(source, points, now);
        if graylisted {
            self.forget_peer(source);
        }
    }

    fn on_query(&mut self, source: A, seq: u16, query: Query) {
        self.stats.delivered += 1;
        self.events.push_back(Event::Query {
            from: source,
            seq,
            query,
        });
    }

    fn on_response(&mut self, source: A, response: Response) {
        let matched = self.attention.as_mut().and_then(|a| {
            let i = a
                .requests
                .iter()
                .position(|r| r.seq == response.reply_to_seq && r.to == source)?;
            Some(a.requests.remove(i))
        });
        match matched {
            Some(request) => {
                self.stats.delivered += 1;
                self.events.push_back(Event::Response {
                    request: request.seq,
                    from: source,
                    answer: response.answer,
                });
            }
            None => self.stats.drop(DropReason::UnmatchedResponse),
        }
    }

    /// Dispatches a control message to membership or gossip.
    fn on_control(&mut self, now: Time, source: A, seq: u16, hops: u8, control: Control<A>) {
        self.heard_from(source);
        match control {
            Control::Join => self.on_join(source),
            Control::ForwardJoin { joiner, ttl } => self.on_forward_join(source, joiner, ttl),
            Control::Neighbor { high_priority } => self.on_neighbor(source, high_priority),
            Control::NeighborReply { accepted } => self.on_neighbor_reply(source, accepted),
            Control::Disconnect => self.on_disconnect(source),
            Control::Shuffle { origin, ttl, peers } => self.on_shuffle(source, origin, ttl, peers),
            Control::ShuffleReply { peers } => self.integrate_passive(&peers),
            Control::Ping { relay, news } => self.on_ping(now, source, seq, relay, news),
            Control::Ack {
                probe_seq,
                relay,
                member,
                news,
            } => self.on_ack(now, probe_seq, relay, member, news),
            Control::PingReq { target, news } => self.on_ping_req(now, source, seq, target, news),
            Control::MemberUpdate {
                member,
                incarnation,
                state,
            } => self.on_member_update(now, source, hops, member, incarnation, state),
            Control::Leave => self.on_leave(source),
            Control::MemberSync { reply, members } => {
                self.on_member_sync(now, source, reply, members)
            }
            Control::IHave { ids } => self.on_ihave(now, source, &ids),
            Control::IWant { ids } => self.on_iwant(source, &ids),
            Control::Graft => self.make_eager(source),
            Control::Prune => self.make_lazy(source),
            Control::PullRequest { known } => self.on_pull_request(source, &known),
            Control::Feedback { id } => self.on_feedback(&id),
        }
    }
}

/// A stable 64-bit digest of an origin id (before keying).
fn key_of_origin(from: &[u8; 16]) -> u64 {
    let hi = u64::from_le_bytes(from[..8].try_into().expect("8 bytes"));
    let lo = u64::from_le_bytes(from[8..].try_into().expect("8 bytes"));
    mix64(hi) ^ lo
}
