//! [`Node`]: one agent's protocol state machine, sans-IO.
//!
//! # Driving a node
//!
//! Methods come in four kinds (as in quinn-proto):
//! - **getters** (`id`, `stats`, `active_view` …) read state;
//! - [`Node::handle`] is the **only mutator**: it takes `now` and one
//!   [`Input`] — a datagram received from a peer, a timeout, or an application
//!   [`Command`];
//! - **polls** drain what the node produced: [`Node::poll_transmit`] (datagrams
//!   to send), [`Node::poll_event`] (deliveries, digests, peer changes,
//!   responses), [`Node::poll_timeout`] (when to call `handle` with
//!   [`Input::Timeout`] next; `None` = idle until input arrives).
//!
//! **Drain contract**: after every `handle`, the host drains `poll_transmit`
//! until `None`, then `poll_event` until `None`, then reads `poll_timeout`,
//! before it calls `handle` again. A host that skips a drain lets the outbox
//! and event queue grow with every input. A timeout may be delivered late or
//! early: `handle(now, Input::Timeout)` does what is due at `now` and nothing
//! else.
//!
//! ```
//! use std::sync::Arc;
//! use colony_core::node::{Command, Input, Node};
//! use colony_core::{config::Config, rng::Rng, time::Time, AgentId};
//!
//! let config = Arc::new(Config::default());
//! let mut node = Node::<u32>::new(AgentId::from_index(0), 0, config, Rng::from_seed(1));
//! let now = Time::ZERO;
//! node.handle(now, Input::Command(Command::Join { contacts: vec![1] })).unwrap();
//! let mut buf = Vec::new();
//! while let Some(to) = node.poll_transmit(&mut buf) {
//!     assert_eq!(to, 1); // a JOIN for agent 1: hand `buf` to the network
//! }
//! while let Some(_event) = node.poll_event() {}
//! assert!(node.poll_timeout().is_some());
//! ```
//!
//! Agents exchange only bytes: a [`crate::header::CompactHeader`] and a payload.

mod api;
mod attention;
mod detection;
mod gossip;
mod membership;
mod outbox;
mod receive;
mod reputation;
mod stats;
mod swim;
mod timers;

use std::collections::VecDeque;
use std::sync::Arc;

use core::fmt;

pub use api::{
    Command, CommandError, Delivery, Event, Handled, Input, PeerChange, Received, ReceivedKind,
};
pub use attention::{DIGEST_KEYS_MAX, Digest, DigestCount};
pub use stats::{DROP_REASONS, DropReason, NodeStats};

use crate::address::Address;
use crate::agent_id::AgentId;
use crate::channel::SubscriptionTable;
use crate::config::{Config, Sampling, Strategy};
use crate::control::Control;
use crate::header::{CompactHeader, Flags, HEADER_LEN, HeaderFields, PAYLOAD_LEN_MAX};
use crate::id_set::IdSet;
use crate::message::MessageId;
use crate::msg_type::MsgType;
use crate::payload::{Payload, PayloadError, Response};
use crate::priority::{AttentionMode, Priority};
use crate::rate::RateLimiter;
use crate::rng::{Rng, mix64};
use crate::signing::{KeyDirectory, SigningKey};
use crate::time::Time;

use attention::Attention;
use gossip::Stored;
use membership::Membership;
use outbox::Outbox;
use reputation::Reputation;
use timers::{MemberTimer, MemberTimers, NodeTimers, Timer};

/// One agent.
///
/// Memory: `size_of::<Node<u32>>()` is 360 bytes (x86_64, Rust 1.95). At
/// [`Config::large_scale`], a node that received, delivered (Focused mode:
/// held in the inbox) and forwarded one broadcast holds 272 more heap bytes
/// by [`Node::heap_bytes`]: 632 bytes in all, under the 1 KiB goal (the
/// `memory` test fails above it). Allocator overhead and the datagrams in
/// flight come on top: the fast engine measures about 860 bytes of peak RSS
/// per agent at a million agents. Membership, attention, request, signature,
/// peer-score and rare drop-counter state is allocated only once used.
pub struct Node<A: Address> {
    config: Arc<Config>,
    id: AgentId,
    addr: A,
    rng: Rng,
    /// Keys message ids into the duplicate filter, so that an attacker
    /// cannot aim hash collisions at one node without knowing it.
    key_secret: u64,
    seq: u16,
    started: bool,
    running: bool,
    subscriptions: SubscriptionTable,
    seen: IdSet,
    /// Unix second up to which the duplicate filter no longer vouches:
    /// messages stamped no later are refused as `stale` (see
    /// [`Node::remember`]).
    forgotten_through_s: u32,
    rate: RateLimiter,
    timers: NodeTimers,
    store: Vec<Stored>,
    work_this_round: u16,
    sends_this_round: u16,
    /// Datagrams waiting for the next round's work budget.
    backlog: attention::Backlog<A>,
    membership: Option<Box<Membership<A>>>,
    attention: Option<Box<Attention<A>>>,
    outbox: Outbox<A>,
    events: VecDeque<Event<A>>,
    stats: NodeStats,
    /// Signing and verification keys, when the host enables signatures.
    security: Option<Box<Security>>,
    /// Peer scores, from the first penalty on (with `Config::reputation`).
    reputation: Option<Box<Reputation<A>>>,
}

/// A node's keys: it signs what it originates with `signer` and, with a
/// `directory`, accepts only application messages whose signature verifies.
#[derive(Debug)]
struct Security {
    signer: Option<SigningKey>,
    directory: Option<Arc<dyn KeyDirectory>>,
}

impl<A: Address> fmt::Debug for Node<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Odd 64-bit multipliers (from the golden ratio and from SplitMix64) that
/// fold a message id into its duplicate-filter key.
const KEY_MULTIPLIER_A: u64 = 0x9E37_79B9_7F4A_7C15;
const KEY_MULTIPLIER_B: u64 = 0xBF58_476D_1CE4_E5B9;

/// Low bits of a duplicate-filter key that hold the message's timestamp:
/// 24 bits of Unix seconds tell a forgotten key's age up to 194 days, far
/// beyond any TTL; the 40 hash bits left make a false duplicate among 4,096
/// remembered ids a 1-in-270-million chance per message.
const KEY_STAMP_BITS: u32 = 24;
const KEY_STAMP_MASK: u64 = (1 << KEY_STAMP_BITS) - 1;

/// Stream of the node's RNG used for its private hash key, distinct from the
/// stream used for sampling peers.
const KEY_SECRET_STREAM: u64 = 0x6b65_795f_7365_6372;

impl<A: Address> Node<A> {
    /// A node with identity `id`, reachable at `addr`. Its first round starts
    /// one gossip interval after the first call to `handle`.
    ///
    /// # Panics
    /// When `config` fails [`Config::validate`], or asks for uniform sampling
    /// with an address type that has no dense numbering: both are programming
    /// errors of the host, not input.
    pub fn new(id: AgentId, addr: A, config: Arc<Config>, mut rng: Rng) -> Self {
        if let Err(why) = config.validate() {
            panic!("invalid node config: {why}");
        }
        if matches!(config.sampling, Sampling::Uniform { .. }) {
            assert!(
                A::from_dense_index(0).is_some(),
                "uniform sampling needs dense addresses"
            );
        }
        let key_secret = mix64(rng.next_u64() ^ KEY_SECRET_STREAM);
        Node {
            id,
            addr,
            rng,
            key_secret,
            seq: 0,
            started: false,
            running: true,
            subscriptions: SubscriptionTable::default(),
            seen: IdSet::with_capacity(config.dedup_capacity),
            forgotten_through_s: 0,
            rate: RateLimiter::default(),
            timers: NodeTimers::default(),
            store: Vec::new(),
            work_this_round: 0,
            sends_this_round: 0,
            backlog: attention::Backlog::default(),
            membership: None,
            attention: None,
            outbox: Outbox::default(),
            events: VecDeque::new(),
            stats: NodeStats::default(),
            security: None,
            reputation: None,
            config,
        }
    }

    /// Enables signatures: with `signer`, every message this node
    /// originates is signed (header and payload, see [`crate::signing`]);
    /// with `directory`, every application message it receives must carry a
    /// valid signature from its origin, or it is dropped
    /// ([`DropReason::Unsigned`], [`DropReason::BadSignature`]) before it
    /// enters the duplicate filter — so a forged copy cannot shadow the
    /// real message. Membership control messages are not signed.
    pub fn set_security(
        &mut self,
        signer: Option<SigningKey>,
        directory: Option<Arc<dyn KeyDirectory>>,
    ) {
        self.security = (signer.is_some() || directory.is_some())
            .then(|| Box::new(Security { signer, directory }));
    }

    // ---- getters ----

    /// This agent's id.
    pub fn id(&self) -> AgentId {
        self.id
    }

    /// This agent's address.
    pub fn addr(&self) -> A {
        self.addr
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> &NodeStats {
        &self.stats
    }

    /// Whether the node still runs (has not left).
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Starts this node's sequence numbers after `seq`. A message id is
    /// (origin, timestamp second, seq), and a node starts counting at 0: a
    /// node restarted with a fresh state within the second of one of its
    /// earlier life's messages would reuse that id, and peers that remember
    /// it would drop the new message as a duplicate. Hosts give a restarted
    /// node a start of its own (the simulator derives it from the seed and
    /// the restart count, a real process from its start time), which makes
    /// such a reuse a 1-in-65,536 chance instead of a certainty.
    pub fn start_seq_after(&mut self, seq: u16) {
        self.seq = seq;
    }

    /// The active view (empty under uniform sampling).
    pub fn active_view(&self) -> &[A] {
        self.membership.as_ref().map_or(&[], |m| &m.active)
    }

    /// The passive view.
    pub fn passive_view(&self) -> &[A] {
        self.membership.as_ref().map_or(&[], |m| &m.passive)
    }

    /// The subscriptions.
    pub fn subscriptions(&self) -> &SubscriptionTable {
        &self.subscriptions
    }

    /// The attention mode.
    pub fn attention_mode(&self) -> AttentionMode {
        self.attention
            .as_ref()
            .map_or(self.config.attention, |a| a.mode)
    }

    /// Messages held in the inbox.
    pub fn inbox_len(&self) -> usize {
        self.attention.as_ref().map_or(0, |a| a.inbox.len())
    }

    /// Datagrams waiting for the next round's work budget.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// Messages kept for forwarding.
    pub fn store_len(&self) -> usize {
        self.store.len()
    }

    /// Whether message `id` is in the duplicate filter: this node received
    /// (or originated) it and has not forgotten it since.
    pub fn has_seen(&self, id: &MessageId) -> bool {
        self.seen.contains(self.key_of(id))
    }

    /// Ids remembered for duplicate suppression.
    pub fn seen_len(&self) -> usize {
        self.seen.len()
    }

    /// Outstanding requests.
    pub fn requests_pending(&self) -> usize {
        self.attention.as_ref().map_or(0, |a| a.requests.len())
    }

    /// Address of the heap block the next input will most likely touch
    /// first (the message store), for hosts that prefetch it while other
    /// agents run. Reads only the node itself. A hint only: the core never
    /// reads these pointers, and a host may ignore them.
    pub fn store_hint(&self) -> *const u8 {
        self.store.as_ptr().cast()
    }

    /// Address of the newest stored message's bytes: the next block a round
    /// or a forward touches. Reads the store, so a host should ask for it
    /// only once [`Node::store_hint`]'s block is in cache.
    pub fn newest_message_hint(&self) -> *const u8 {
        self.store
            .last()
            .map_or(core::ptr::null(), |s| s.bytes.as_ptr())
    }

    /// Heap bytes this node holds (excluding the shared config).
    pub fn heap_bytes(&self) -> usize {
        self.subscriptions.heap_bytes()
            + self.seen.heap_bytes()
            + self.rate.heap_bytes()
            + self.store.capacity() * size_of::<Stored>()
            + self.store.iter().map(|s| s.bytes.len()).sum::<usize>()
            + self
                .membership
                .as_ref()
                .map_or(0, |m| size_of::<Membership<A>>() + m.heap_bytes())
            + self
                .attention
                .as_ref()
                .map_or(0, |a| size_of::<Attention<A>>() + a.heap_bytes())
            + self.outbox.heap_bytes()
            + self.backlog.heap_bytes()
            + self.events.capacity() * size_of::<Event<A>>()
            + self
                .reputation
                .as_ref()
                .map_or(0, |r| size_of::<Reputation<A>>() + r.heap_bytes())
            + self.security.as_ref().map_or(0, |_| size_of::<Security>())
            + self.stats.heap_bytes()
    }

    // ---- the mutator ----

    /// Handles a datagram from `source` at `now` like [`Node::handle`], and
    /// reports what the node did with it. It compares the node's counters
    /// before and after, so it costs a little more than `handle`: hosts
    /// that neither charge a CPU model nor account drops per sender call
    /// `handle`.
    pub fn receive(&mut self, now: Time, source: A, bytes: &[u8]) -> Received {
        let (duplicates, delivered, checked) = (
            self.stats.drops_of(DropReason::Duplicate),
            self.stats.delivered,
            self.stats.signatures_checked,
        );
        let drops_before = self.stats.drops();
        let _ = self.handle(now, Input::Datagram { source, bytes });
        let mut drops = self.stats.drops();
        for (after, before) in drops.iter_mut().zip(drops_before) {
            *after -= before;
        }
        let kind = if self.stats.drops_of(DropReason::Duplicate) > duplicates {
            ReceivedKind::Duplicate
        } else if self.stats.delivered > delivered {
            ReceivedKind::Fresh
        } else {
            ReceivedKind::Other
        };
        Received {
            kind,
            signatures_checked: self.stats.signatures_checked - checked,
            drops,
        }
    }

    /// Handles one input at time `now` (never earlier than a previous call's).
    /// Only commands can fail; bad datagrams are dropped and counted in
    /// [`Node::stats`].
    pub fn handle(&mut self, now: Time, input: Input<'_, A>) -> Result<Handled, CommandError> {
        if !self.started && self.running {
            self.started = true;
            self.start_timers(now);
        }
        match input {
            Input::Datagram { source, bytes } => {
                self.stats.datagrams_received += 1;
                if self.running {
                    self.on_datagram(now, source, bytes);
                } else {
                    self.stats.drop(DropReason::NotRunning);
                }
                Ok(Handled::Done)
            }
            Input::Timeout => {
                if self.running {
                    self.on_timeout(now);
                }
                Ok(Handled::Done)
            }
            Input::Command(command) => {
                if !self.running {
                    return Err(CommandError::NotRunning);
                }
                self.on_command(now, command)
            }
        }
    }

    // ---- polls ----

    /// The next datagram to send: its bytes replace `buf`'s contents and its
    /// destination is returned. `None` when nothing is left.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<A> {
        buf.clear();
        self.poll_transmit_append(buf)
    }

    /// Like [`Node::poll_transmit`], but appends the datagram to `out`
    /// (its bytes are `out[len_before..]`) instead of replacing `out`'s
    /// contents: a host that gathers many datagrams in one buffer saves a
    /// copy per datagram.
    #[inline]
    pub fn poll_transmit_append(&mut self, out: &mut Vec<u8>) -> Option<A> {
        let store = &self.store;
        let to = self
            .outbox
            .pop(out, |key| gossip::stored_bytes(store, key))?;
        if self.outbox.len() == 0 && self.timers.get(Timer::Round) == Time::NEVER {
            // Nothing left to push round after round: the arena would sit
            // idle (a million agents that relayed once hold it otherwise).
            self.outbox.release();
        }
        Some(to)
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event<A>> {
        let event = self.events.pop_front();
        if self.events.is_empty() && self.events.capacity() > 0 {
            // Events are rare per node and drained at once: holding the
            // queue's allocation between them would cost every idle node.
            self.events = VecDeque::new();
        }
        event
    }

    /// When `handle(_, Input::Timeout)` is due next; `None` when idle.
    pub fn poll_timeout(&self) -> Option<Time> {
        if !self.running {
            return None;
        }
        let member = self.membership.as_ref().and_then(|m| m.timers.next());
        match (self.timers.next(), member) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Datagrams waiting in the outbox.
    pub fn transmits_pending(&self) -> usize {
        self.outbox.len()
    }

    /// Events waiting for [`Node::poll_event`]: a host may skip polling
    /// when there are none (most inputs of a large run produce none).
    pub fn events_pending(&self) -> usize {
        self.events.len()
    }

    // ---- internals shared by the submodules ----

    fn start_timers(&mut self, now: Time) {
        let c = Arc::clone(&self.config);
        self.arm_round(now);
        self.timers.set(Timer::Digest, now + c.digest_interval);
        if c.sampling == Sampling::Views {
            let timers = &mut self.membership_state().timers;
            timers.set(MemberTimer::Shuffle, now + c.shuffle_interval);
            if c.failure_detection {
                timers.set(MemberTimer::Probe, now + c.probe_interval);
            }
            if let Some(swim) = self.swim_config() {
                let timers = &mut self.membership_state().timers;
                timers.set(MemberTimer::Sync, now + swim.sync_interval);
            }
        }
    }

    /// Whether the next gossip round has anything to do. An idle node
    /// disarms its round timer: in a million-agent push, the agents that
    /// have nothing to push cost no wake-ups at all.
    fn round_needed(&self) -> bool {
        let periodic = matches!(
            self.config.strategy,
            Strategy::Pull | Strategy::PushPull { .. }
        ) || self.config.sampling == Sampling::Views;
        periodic || self.store.iter().any(Stored::is_hot) || self.backlog_len() > 0
    }

    /// Arms the round timer at the next round boundary after `now`, unless
    /// it is armed or nothing needs a round. Rounds fall on multiples of the
    /// gossip interval from the host's time zero, so nodes started together
    /// gossip in step, as in the textbook model.
    fn arm_round(&mut self, now: Time) {
        if self.timers.get(Timer::Round) != Time::NEVER || !self.round_needed() {
            return;
        }
        let interval_ns = crate::time::duration_ns(self.config.gossip_interval);
        let next = (now.as_ns() / interval_ns)
            .saturating_add(1)
            .saturating_mul(interval_ns);
        self.timers.set(Timer::Round, Time::from_ns(next));
    }

    // Timeouts and commands are rare next to datagrams: kept out of line so
    // `handle` stays a small function on the hot path.
    #[inline(never)]
    fn on_timeout(&mut self, now: Time) {
        if !self.any_timer_due(now) {
            return;
        }
        if self.timers.is_due(Timer::Round, now) {
            self.timers.stop(Timer::Round);
            self.on_round(now);
            self.arm_round(now);
            if !self.any_timer_due(now) {
                return; // the common case: a round and nothing else
            }
        }
        // The same order as ever: membership timers, requests, repairs,
        // digests.
        if self.member_timer_due(MemberTimer::Shuffle, now) {
            let next = now + self.config.shuffle_interval;
            self.member_timers().set(MemberTimer::Shuffle, next);
            self.on_shuffle_timer();
        }
        if self.member_timer_due(MemberTimer::Probe, now) {
            let next = now + self.config.probe_interval * self.health_multiplier();
            self.member_timers().set(MemberTimer::Probe, next);
            self.on_probe_timer(now);
        }
        if self.member_timer_due(MemberTimer::ProbeTimeout, now) {
            self.member_timers().stop(MemberTimer::ProbeTimeout);
            self.on_probe_timeout();
        }
        if self.member_timer_due(MemberTimer::Suspicion, now) {
            self.on_suspicion_timer(now);
        }
        if self.timers.is_due(Timer::Request, now) {
            self.on_request_timer(now);
        }
        if self.member_timer_due(MemberTimer::Repair, now) {
            self.on_repair_timer(now);
        }
        if self.member_timer_due(MemberTimer::Sync, now)
            && let Some(swim) = self.swim_config()
        {
            self.member_timers()
                .set(MemberTimer::Sync, now + swim.sync_interval);
            self.swim_sync_timer();
        }
        if self.timers.is_due(Timer::Digest, now) {
            self.timers
                .set(Timer::Digest, now + self.config.digest_interval);
            self.on_digest_timer(now);
        }
    }

    #[inline(never)]
    fn on_command(&mut self, now: Time, command: Command<A>) -> Result<Handled, CommandError> {
        match command {
            Command::Join { contacts } => {
                if contacts.is_empty() {
                    return Err(CommandError::NoContacts);
                }
                self.join(contacts);
                Ok(Handled::Done)
            }
            Command::Broadcast {
                channel_hash,
                priority,
                payload,
            } => self
                .broadcast(now, channel_hash, priority, &payload)
                .map(Handled::Sent),
            Command::SetStatus(status) => {
                let channel = crate::channel::StandardChannel::Status;
                self.broadcast(
                    now,
                    channel.hash(),
                    channel.default_priority(),
                    &Payload::Status(status),
                )
                .map(Handled::Sent)
            }
            Command::SendTo {
                to,
                channel_hash,
                priority,
                payload,
            } => self
                .send_direct(now, to, channel_hash, priority, &payload)
                .map(Handled::Sent),
            Command::Request { to, query, timeout } => self.request(now, to, query, timeout),
            Command::Respond {
                to,
                reply_to_seq,
                answer,
            } => {
                let payload = Payload::Response(Response {
                    reply_to_seq,
                    answer,
                });
                let hash = crate::channel::StandardChannel::Presence.hash();
                self.send_direct(now, to, hash, Priority::Normal, &payload)
                    .map(Handled::Sent)
            }
            Command::Subscribe(channel) => {
                self.subscriptions
                    .subscribe(&channel)
                    .map_err(CommandError::Subscribe)?;
                Ok(Handled::Done)
            }
            Command::Unsubscribe(channel) => {
                self.subscriptions.unsubscribe(&channel);
                Ok(Handled::Done)
            }
            Command::SetAttention(mode) => {
                self.attention_state().mode = mode;
                Ok(Handled::Done)
            }
            Command::ReadInbox { max } => {
                self.read_inbox(max);
                Ok(Handled::Done)
            }
            Command::Leave => {
                self.leave();
                self.running = false;
                Ok(Handled::Done)
            }
        }
    }

    /// Unix second of `now` for headers.
    fn unix_s(&self, now: Time) -> u32 {
        let secs = u64::from(self.config.epoch_unix_s) + now.as_secs();
        u32::try_from(secs).unwrap_or(u32::MAX)
    }

    fn next_seq(&mut self) -> u16 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// The duplicate-filter key of a message id: its bytes folded with two
    /// odd multipliers, keyed by the node's secret, and mixed once, with the
    /// low [`KEY_STAMP_BITS`] replaced by the id's timestamp (so that a key
    /// the filter forgets tells how old it was; see [`Node::remember`]).
    /// Cheap (it runs on every datagram) and well spread for the filter's
    /// table.
    #[inline]
    fn message_key(&self, from: &[u8; 16], timestamp_s: u32, seq: u16) -> u64 {
        let hi = u64::from_le_bytes(from[..8].try_into().expect("8 bytes"));
        let lo = u64::from_le_bytes(from[8..].try_into().expect("8 bytes"));
        let tail = (u64::from(timestamp_s) << 16) | u64::from(seq);
        let folded = (hi ^ self.key_secret).wrapping_mul(KEY_MULTIPLIER_A)
            ^ lo.rotate_left(31).wrapping_mul(KEY_MULTIPLIER_B)
            ^ tail;
        (mix64(folded) & !KEY_STAMP_MASK) | (u64::from(timestamp_s) & KEY_STAMP_MASK)
    }

    /// Marks a message seen. When the filter forgets an older id to make
    /// room, every message stamped no later than that id is refused from
    /// then on (`stale`): it may be a copy of a forgotten message, and a
    /// second delivery is worse than a lost late one. The horizon is the
    /// latest stamp of every id forgotten so far, so each forgotten id is
    /// stamped no later than it.
    fn remember(&mut self, now: Time, key: u64) {
        let (_, forgotten) = self.seen.insert_forgetting(key);
        if let Some(forgotten) = forgotten {
            // The stamp is the low bits of a Unix second: the second it
            // names is the latest one at or before now with those bits.
            let now_s = self.unix_s(now);
            let stamp = (forgotten & KEY_STAMP_MASK) as u32;
            let age_s = now_s.wrapping_sub(stamp) & KEY_STAMP_MASK as u32;
            let forgotten_s = now_s.wrapping_sub(age_s);
            self.forgotten_through_s = self.forgotten_through_s.max(forgotten_s);
        }
    }

    fn key_of(&self, id: &MessageId) -> u64 {
        self.message_key(id.from.as_bytes(), id.timestamp_s, id.seq)
    }

    /// Encodes an application datagram with a fresh id from this node.
    fn encode_own(
        &mut self,
        now: Time,
        header: OwnHeader,
        payload: &[u8],
    ) -> Result<(MessageId, Vec<u8>), CommandError> {
        if payload.len() > PAYLOAD_LEN_MAX {
            return Err(CommandError::Payload(PayloadError::TooLong(payload.len())));
        }
        let seq = self.next_seq();
        let timestamp_s = self.unix_s(now);
        let signer = self.security.as_ref().and_then(|s| s.signer.as_ref());
        let flags = match signer {
            Some(_) => header.flags.union(Flags::SIGNED),
            None => header.flags,
        };
        let header = CompactHeader::new(HeaderFields {
            msg_type: header.msg_type,
            priority: header.priority,
            seq,
            from: self.id,
            channel_hash: header.channel_hash,
            timestamp_s,
            payload_len: payload.len() as u16,
            flags,
            hops_remaining: header.hops,
        });
        let mut bytes = vec![0u8; HEADER_LEN + payload.len()];
        header
            .encode_with_payload(payload, &mut bytes)
            .expect("sized for header and payload");
        if let Some(key) = signer {
            crate::signing::sign(key, &mut bytes);
        }
        Ok((
            MessageId {
                from: self.id,
                timestamp_s,
                seq,
            },
            bytes,
        ))
    }

    /// Encodes a typed payload as an own application message.
    fn encode_payload(
        &mut self,
        now: Time,
        channel_hash: u32,
        priority: Priority,
        flags: Flags,
        hops: u8,
        payload: &Payload,
    ) -> Result<(MessageId, Vec<u8>), CommandError> {
        let mut body = Vec::new();
        payload.encode(&mut body).map_err(CommandError::Payload)?;
        let header = OwnHeader {
            msg_type: payload.msg_type(),
            channel_hash,
            priority,
            flags,
            hops,
        };
        self.encode_own(now, header, &body)
    }

    /// Queues a control message to `to`.
    fn send_control(&mut self, to: A, control: &Control<A>) {
        let seq = self.next_seq();
        self.send_control_with_seq(to, control, seq);
    }

    fn send_control_with_seq(&mut self, to: A, control: &Control<A>, seq: u16) {
        self.send_control_full(to, control, seq, 0);
    }

    /// Queues a control message that may be forwarded `hops` more times.
    fn send_control_hops(&mut self, to: A, control: &Control<A>, hops: u8) {
        let seq = self.next_seq();
        self.send_control_full(to, control, seq, hops);
    }

    fn send_control_full(&mut self, to: A, control: &Control<A>, seq: u16, hops: u8) {
        let from = self.id;
        let len = self
            .outbox
            .push(to, |out| control.encode_datagram(from, seq, hops, out));
        self.count_sent(len);
    }

    /// Turns the outbox's pushes by reference into bytes: called before
    /// the store changes, so a host that polls late still sends what was
    /// pushed.
    fn materialize_outbox(&mut self) {
        if self.outbox.len() > 0 && self.outbox.has_references() {
            let store = &self.store;
            self.outbox
                .materialize(|key| gossip::stored_bytes(store, key));
        }
    }

    /// Queues ready datagram bytes to `to`.
    fn send_bytes(&mut self, to: A, bytes: &[u8]) {
        let len = self.outbox.push(to, |out| out.extend_from_slice(bytes));
        self.count_sent(len);
    }

    fn count_sent(&mut self, len: usize) {
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += len as u64;
    }

    fn attention_state(&mut self) -> &mut Attention<A> {
        let mode = self.config.attention;
        self.attention
            .get_or_insert_with(|| Box::new(Attention::new(mode)))
    }

    fn membership_state(&mut self) -> &mut Membership<A> {
        self.membership.get_or_insert_with(Box::default)
    }

    /// The membership timers (creating the membership state).
    fn member_timers(&mut self) -> &mut MemberTimers {
        &mut self.membership_state().timers
    }

    /// Arms or disarms a membership timer; disarming creates no state.
    fn set_member_timer(&mut self, timer: MemberTimer, at: Option<Time>) {
        match (self.membership.as_mut(), at) {
            (Some(m), _) => m.timers.set_or_stop(timer, at),
            (None, Some(at)) => self.member_timers().set(timer, at),
            (None, None) => {}
        }
    }

    fn member_timer_due(&self, timer: MemberTimer, now: Time) -> bool {
        self.membership
            .as_ref()
            .is_some_and(|m| m.timers.is_due(timer, now))
    }

    fn any_timer_due(&self, now: Time) -> bool {
        self.timers.any_due(now)
            || self
                .membership
                .as_ref()
                .is_some_and(|m| m.timers.any_due(now))
    }

    /// A uniformly random peer other than this node and `exclude`, or
    /// `None` when there is none.
    fn random_peer(&mut self, exclude: Option<A>) -> Option<A> {
        match self.config.sampling {
            Sampling::Uniform { population } => {
                // Draw among the n-1 others: skip over our own index. A draw
                // equal to `exclude` is redrawn a bounded number of times.
                let own = self.addr.dense_index()?;
                let others = population.get().checked_sub(1).filter(|n| *n > 0)?;
                for _ in 0..UNIFORM_DRAWS_MAX {
                    let mut pick = self.rng.below(u64::from(others)) as u32;
                    if pick >= own {
                        pick += 1;
                    }
                    let peer = A::from_dense_index(pick)?;
                    if Some(peer) != exclude {
                        return Some(peer);
                    }
                }
                None
            }
            Sampling::Views => {
                let membership = self.membership.as_ref()?;
                let candidates = membership
                    .active
                    .iter()
                    .filter(|p| Some(**p) != exclude)
                    .count();
                if candidates == 0 {
                    return None;
                }
                let nth = self.rng.index(candidates);
                let membership = self.membership.as_ref()?;
                membership
                    .active
                    .iter()
                    .copied()
                    .filter(|p| Some(*p) != exclude)
                    .nth(nth)
            }
        }
    }
}

/// Draws of a uniform peer before giving up when each draw hits the excluded
/// peer (only likely with two or three agents).
const UNIFORM_DRAWS_MAX: usize = 8;

/// What the application chooses of an own message's header; the node fills
/// in the id, timestamp and length.
#[derive(Clone, Copy, Debug)]
struct OwnHeader {
    msg_type: MsgType,
    channel_hash: u32,
    priority: Priority,
    flags: Flags,
    hops: u8,
}

/// The priority order used for eviction: the least urgent first, then the
/// oldest (lowest index) among equals.
fn least_urgent_index<T>(items: &[T], priority: impl Fn(&T) -> Priority) -> Option<usize> {
    let worst = items.iter().map(&priority).max()?;
    items.iter().position(|item| priority(item) == worst)
}
