//! The application side of a node: attention modes, the bounded inbox, the
//! periodic digest, the work backlog and outstanding requests.
//!
//! This state is allocated on first use, so a node that only relays (most of
//! a million-agent run) does not pay for it.

use core::time::Duration;

use super::{CommandError, Delivery, DropReason, Event, Handled, Node, least_urgent_index};
use crate::address::Address;
use crate::header::{CompactHeader, Flags};
use crate::message::MessageId;
use crate::msg_type::MsgType;
use crate::payload::{Payload, Query};
use crate::priority::{AttentionMode, Disposition, Priority};
use crate::time::Time;

/// Distinct (channel, type) pairs one digest counts; more are folded into the
/// last entry's `other` count so a digest stays small whatever arrives.
pub const DIGEST_KEYS_MAX: usize = 16;

/// A message held for the application.
#[derive(Clone, Debug)]
pub(super) struct Held<A> {
    delivery: Delivery<A>,
}

/// Datagrams waiting for the next round's work budget, behind a pointer
/// allocated by the first and freed with the last: most nodes never defer,
/// and a million of them need not carry an empty vector inline.
#[derive(Clone, Debug)]
#[allow(clippy::box_collection)] // the point: 8 bytes inline instead of 24
pub(crate) struct Backlog<A>(Option<Box<Vec<Deferred<A>>>>);

impl<A> Default for Backlog<A> {
    fn default() -> Self {
        Backlog(None)
    }
}

impl<A> Backlog<A> {
    pub(crate) fn len(&self) -> usize {
        self.items().len()
    }

    fn items(&self) -> &[Deferred<A>] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    fn push(&mut self, deferred: Deferred<A>) {
        self.0.get_or_insert_with(Box::default).push(deferred);
    }

    fn remove(&mut self, i: usize) -> Deferred<A> {
        let items = self.0.as_mut().expect("removing from a non-empty backlog");
        let deferred = items.remove(i);
        if items.is_empty() {
            self.0 = None;
        }
        deferred
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |items| {
            size_of::<Vec<Deferred<A>>>()
                + items.capacity() * size_of::<Deferred<A>>()
                + items.iter().map(|d| d.bytes.len()).sum::<usize>()
        })
    }
}

/// A datagram waiting for the next round's work budget.
#[derive(Clone, Debug)]
pub(crate) struct Deferred<A> {
    source: A,
    priority: Priority,
    pub(super) bytes: Box<[u8]>,
}

/// An outstanding request.
#[derive(Clone, Debug)]
pub(super) struct PendingRequest<A> {
    pub(super) seq: u16,
    pub(super) to: A,
    deadline: Time,
}

/// Count of one (channel, type) in a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestCount {
    /// Channel id.
    pub channel_hash: u32,
    /// Message type.
    pub msg_type: MsgType,
    /// Messages in the period.
    pub count: u32,
}

/// The periodic summary of what was not delivered immediately.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest<A> {
    /// End of the period.
    pub at: Time,
    /// Counts per (channel, type), in order of first arrival.
    pub counts: Vec<DigestCount>,
    /// Messages of further (channel, type) pairs beyond [`DIGEST_KEYS_MAX`].
    pub other: u32,
    /// The first few messages of the period, with payloads.
    pub samples: Vec<Delivery<A>>,
}

/// Application-facing state of one node.
#[derive(Clone, Debug)]
pub(super) struct Attention<A> {
    pub(super) mode: AttentionMode,
    pub(super) inbox: Vec<Held<A>>,
    pub(super) requests: Vec<PendingRequest<A>>,
}

impl<A: Address> Attention<A> {
    pub(super) fn new(mode: AttentionMode) -> Self {
        Attention {
            mode,
            inbox: Vec::new(),
            requests: Vec::new(),
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.inbox.capacity() * size_of::<Held<A>>()
            + self
                .inbox
                .iter()
                .map(|h| h.delivery.payload.capacity())
                .sum::<usize>()
            + self.requests.capacity() * size_of::<PendingRequest<A>>()
    }
}

impl<A: Address> Node<A> {
    /// Routes a received message by the attention mode.
    #[allow(clippy::too_many_arguments)] // the parsed views of one datagram
    pub(super) fn deliver(
        &mut self,
        now: Time,
        source: A,
        id: MessageId,
        header: &CompactHeader,
        msg_type: MsgType,
        payload: &[u8],
        direct: bool,
    ) {
        let priority = header.priority().expect("parse validated the priority");
        let hops = if direct {
            1
        } else {
            self.config
                .hops_initial
                .saturating_sub(header.hops_remaining())
                .saturating_add(1)
        };
        let disposition = self.attention_mode().disposition(priority);
        let delivery = Delivery {
            id,
            source,
            msg_type,
            channel_hash: header.channel_hash(),
            priority,
            hops,
            disposition,
            received_at: now,
            payload: Vec::new(),
        };
        self.stats.delivered += 1;
        if disposition == Disposition::Immediate {
            self.events.push_back(Event::Delivered(Delivery {
                payload: payload.to_vec(),
                ..delivery
            }));
            return;
        }
        self.events.push_back(Event::Delivered(delivery.clone()));
        let inbox_max = usize::from(self.config.inbox_max);
        let held = Held {
            delivery: Delivery {
                payload: payload.to_vec(),
                ..delivery
            },
        };
        let attention = self.attention_state();
        crate::grow::push_tight(&mut attention.inbox, held);
        if attention.inbox.len() > inbox_max {
            let victim = least_urgent_index(&attention.inbox, |h| h.delivery.priority)
                .expect("the inbox is not empty");
            attention.inbox.remove(victim);
            self.stats.drop(DropReason::InboxOverflow);
        }
    }

    /// Keeps a datagram for the next round; at the bound the least urgent
    /// (the newest among equals) is dropped.
    pub(super) fn defer(&mut self, now: Time, source: A, priority: Priority, bytes: &[u8]) {
        if self.backlog.len() >= usize::from(self.config.backlog_max) {
            let worst = self.backlog.items().iter().map(|d| d.priority).max();
            match worst {
                Some(worst) if worst > priority => {
                    let victim = self
                        .backlog
                        .items()
                        .iter()
                        .rposition(|d| d.priority == worst);
                    self.backlog.remove(victim.expect("worst is present"));
                }
                _ => {
                    self.stats.drop(DropReason::BacklogOverflow);
                    return;
                }
            }
            self.stats.drop(DropReason::BacklogOverflow);
        }
        self.backlog.push(Deferred {
            source,
            priority,
            bytes: bytes.into(),
        });
        self.arm_round(now);
    }

    /// Processes waiting datagrams, most urgent (then oldest) first, within
    /// this round's budget.
    pub(super) fn drain_backlog(&mut self, now: Time) {
        let budget = self.config.work_per_round_max.get();
        while self.work_this_round < budget {
            let Some(best) = self.backlog.items().iter().map(|d| d.priority).min() else {
                return;
            };
            let i = self
                .backlog
                .items()
                .iter()
                .position(|d| d.priority == best)
                .expect("present");
            let deferred = self.backlog.remove(i);
            self.on_datagram(now, deferred.source, &deferred.bytes);
        }
    }

    /// Moves up to `max` queued messages to events, most urgent then oldest first.
    pub(super) fn read_inbox(&mut self, max: u16) {
        for _ in 0..max {
            let Some(attention) = self.attention.as_mut() else {
                return;
            };
            let next = attention
                .inbox
                .iter()
                .enumerate()
                .filter(|(_, h)| h.delivery.disposition == Disposition::Queued)
                .min_by_key(|(i, h)| (h.delivery.priority, *i))
                .map(|(i, _)| i);
            let Some(i) = next else { return };
            let held = attention.inbox.remove(i);
            self.events.push_back(Event::Delivered(held.delivery));
        }
    }

    /// Summarises and releases the digest-bound messages.
    pub(super) fn on_digest_timer(&mut self, now: Time) {
        let samples_max = usize::from(self.config.digest_samples);
        let Some(attention) = self.attention.as_mut() else {
            return;
        };
        let mut digest = Digest {
            at: now,
            counts: Vec::new(),
            other: 0,
            samples: Vec::new(),
        };
        let mut kept = Vec::with_capacity(attention.inbox.len());
        for held in attention.inbox.drain(..) {
            if held.delivery.disposition != Disposition::Digest {
                kept.push(held);
                continue;
            }
            let d = &held.delivery;
            let existing = digest
                .counts
                .iter()
                .position(|c| c.channel_hash == d.channel_hash && c.msg_type == d.msg_type);
            match existing {
                Some(i) => digest.counts[i].count += 1,
                None if digest.counts.len() < DIGEST_KEYS_MAX => digest.counts.push(DigestCount {
                    channel_hash: d.channel_hash,
                    msg_type: d.msg_type,
                    count: 1,
                }),
                None => digest.other += 1,
            }
            if digest.samples.len() < samples_max {
                digest.samples.push(held.delivery);
            }
        }
        attention.inbox = kept;
        if !digest.counts.is_empty() {
            self.events.push_back(Event::Digest(digest));
        }
    }

    /// Sends a request and remembers it until its answer or timeout.
    pub(super) fn request(
        &mut self,
        now: Time,
        to: A,
        query: Query,
        timeout: Duration,
    ) -> Result<Handled, CommandError> {
        if self.requests_pending() >= usize::from(self.config.requests_pending_max) {
            return Err(CommandError::TooManyRequests);
        }
        let hash = crate::channel::StandardChannel::Presence.hash();
        let id = self.send_direct(now, to, hash, Priority::Normal, &Payload::Query(query))?;
        let deadline = now + timeout;
        self.attention_state().requests.push(PendingRequest {
            seq: id.seq,
            to,
            deadline,
        });
        self.arm_request_timer();
        Ok(Handled::Requested(id.seq))
    }

    fn arm_request_timer(&mut self) {
        let next = self
            .attention
            .as_ref()
            .and_then(|a| a.requests.iter().map(|r| r.deadline).min());
        self.timers.set_or_stop(super::Timer::Request, next);
    }

    /// Times out every due request.
    pub(super) fn on_request_timer(&mut self, now: Time) {
        if let Some(attention) = self.attention.as_mut() {
            let mut i = 0;
            while i < attention.requests.len() {
                if attention.requests[i].deadline <= now {
                    let r = attention.requests.remove(i);
                    self.events.push_back(Event::RequestTimedOut {
                        request: r.seq,
                        to: r.to,
                    });
                } else {
                    i += 1;
                }
            }
        }
        self.arm_request_timer();
    }

    /// Sends one application message straight to `to`.
    pub(super) fn send_direct(
        &mut self,
        now: Time,
        to: A,
        channel_hash: u32,
        priority: Priority,
        payload: &Payload,
    ) -> Result<MessageId, CommandError> {
        let (id, bytes) =
            self.encode_payload(now, channel_hash, priority, Flags::DIRECT, 0, payload)?;
        self.send_bytes(to, &bytes);
        Ok(id)
    }
}
