//! Dissemination: the message store, gossip rounds and the strategies (push,
//! pull, push-pull, the four rumor-mongering variants, PlumTree).

use super::timers::MemberTimer;
use super::{CommandError, DropReason, Node};
use crate::address::Address;
use crate::agent_id::AgentId;
use crate::config::{LossOfInterest, Sampling, StopRule, Strategy};
use crate::control::{CONTROL_LIST_MAX, Control};
use crate::header::{CompactHeader, Flags};
use crate::message::MessageId;
use crate::payload::Payload;
use crate::priority::Priority;
use crate::time::Time;
use zerocopy::FromBytes;

/// Messages a node sends in answer to one pull request. A puller asks every
/// round, so a few per request keep up with any realistic broadcast rate
/// while one request cannot make a node send its whole store.
const PULL_REPLY_MAX: usize = 8;

/// Messages of one origin a pull reply may carry: a quarter of the reply,
/// so that a reply always spans several origins.
const PULL_REPLY_PER_ORIGIN_MAX: usize = PULL_REPLY_MAX / 4;

/// Ids announced per IHAVE, and queued for the next announcement; beyond it
/// the oldest queued id is not announced (peers repair it by pull or graft).
const LAZY_QUEUE_MAX: usize = CONTROL_LIST_MAX;

/// Ids a PlumTree node waits for after an IHAVE; beyond it new announcements
/// are ignored until one resolves.
const MISSING_MAX: usize = CONTROL_LIST_MAX;

/// A message kept for forwarding and for answering pulls.
#[derive(Clone, Debug)]
pub(super) struct Stored {
    key: u64,
    received_at: Time,
    /// The datagram as forwarded: hop count already decremented.
    pub(super) bytes: Box<[u8]>,
    /// Still being pushed (push rounds left, or rumor still interesting).
    hot: bool,
    /// Rounds pushed (push) or events towards losing interest (rumor).
    count: u8,
}

impl Stored {
    /// Still being pushed.
    pub(super) fn is_hot(&self) -> bool {
        self.hot
    }

    /// The message id, read from the stored header.
    fn id(&self) -> MessageId {
        let (header, _) =
            CompactHeader::ref_from_prefix(&self.bytes[..]).expect("stored datagrams are valid");
        MessageId::of(header)
    }
}

/// The bytes of the stored message with key `key`.
pub(super) fn stored_bytes(store: &[Stored], key: u64) -> Option<&[u8]> {
    store.iter().find(|s| s.key == key).map(|s| &s.bytes[..])
}

/// Announcers remembered per missing message: the first few are enough
/// for a repair to go round several neighbours when one cannot answer (its
/// IWANT or the reply lost, or the neighbour gone).
const ANNOUNCERS_MAX: usize = 4;

/// GRAFT/IWANT attempts per missing message before it is given up. Each
/// waits `repair_after` and goes to the next announcer in turn: at 1% loss
/// an attempt fails about one time in fifty (request or reply lost), so
/// eight attempts fail together about once in 10^13 repairs, and a given-up
/// repair costs at most eight small requests.
const REPAIR_ATTEMPTS_MAX: u8 = 8;

/// PlumTree's state over a node's active view: which neighbours are lazy,
/// what to announce to them, and what was announced but never came.
#[derive(Clone, Debug)]
pub(super) struct TreeLinks<A> {
    /// Active neighbours PlumTree treats as lazy (IHAVE only).
    pub(super) lazy: Vec<A>,
    /// Ids to announce to lazy neighbours at the next round.
    pub(super) lazy_queue: Vec<MessageId>,
    /// Announced ids not yet received.
    pub(super) missing: Vec<Missing<A>>,
}

impl<A> Default for TreeLinks<A> {
    fn default() -> Self {
        TreeLinks {
            lazy: Vec::new(),
            lazy_queue: Vec::new(),
            missing: Vec::new(),
        }
    }
}

impl<A> TreeLinks<A> {
    pub(super) fn heap_bytes(&self) -> usize {
        self.lazy.capacity() * size_of::<A>()
            + self.lazy_queue.capacity() * size_of::<MessageId>()
            + self.missing.capacity() * size_of::<Missing<A>>()
    }
}

/// A message announced by IHAVE and not yet received.
#[derive(Clone, Debug)]
pub(super) struct Missing<A> {
    id: MessageId,
    /// Who announced it, in order of announcement.
    announcers: Vec<A>,
    /// GRAFT/IWANT attempts sent so far.
    attempts: u8,
    deadline: Time,
}

/// One pull in this many goes to a passive-view peer instead of an active
/// neighbour (with partial views): once a second at 200 ms rounds.
const PASSIVE_PULL_ONE_IN: usize = 5;

impl<A: Address> Node<A> {
    /// Originates a broadcast.
    pub(super) fn broadcast(
        &mut self,
        now: Time,
        channel_hash: u32,
        priority: Priority,
        payload: &Payload,
    ) -> Result<MessageId, CommandError> {
        let hops = self.config.hops_initial;
        let (id, bytes) =
            self.encode_payload(now, channel_hash, priority, Flags::NONE, hops, payload)?;
        let key = self.key_of(&id);
        self.remember(now, key);
        if hops > 0 {
            // The origin forwards its own message like any relay, without
            // decrementing: the first receivers see `hops_initial`.
            self.store_message(now, key, bytes.into_boxed_slice());
            if let Strategy::Plumtree { .. } = self.config.strategy {
                self.eager_push(key, None);
            }
        }
        Ok(id)
    }

    /// A new message that may travel further: keep it and (PlumTree) push it
    /// on at once.
    pub(super) fn relay(&mut self, now: Time, source: A, key: u64, id: MessageId, bytes: &[u8]) {
        let mut forwarded: Box<[u8]> = bytes.into();
        let (header, _) = CompactHeader::mut_from_prefix(&mut forwarded[..]).expect("validated");
        header.set_hops_remaining(header.hops_remaining() - 1);
        self.store_message(now, key, forwarded);
        if let Strategy::Plumtree { .. } = self.config.strategy {
            self.make_eager(source);
            self.eager_push(key, Some(source));
            if let Some(m) = self.membership.as_mut() {
                m.tree.missing.retain(|missing| missing.id != id);
            }
        }
    }

    /// Queues a push of stored message `i` to `to`, by reference (see
    /// the outbox).
    fn send_stored(&mut self, to: A, i: usize) {
        self.outbox.push_stored(to, self.store[i].key);
        self.count_sent(self.store[i].bytes.len());
    }

    fn store_message(&mut self, now: Time, key: u64, bytes: Box<[u8]>) {
        self.materialize_outbox();
        if self.store.len() >= usize::from(self.config.store_max) {
            self.store.remove(0);
            self.stats.drop(DropReason::StoreEvicted);
        }
        let stored = Stored {
            key,
            received_at: now,
            bytes,
            hot: true,
            count: 0,
        };
        crate::grow::push_tight(&mut self.store, stored);
        self.arm_round(now);
    }

    /// A duplicate arrived from `source`.
    pub(super) fn on_duplicate(&mut self, source: A, header: &CompactHeader) {
        if header.flags().contains(Flags::DIRECT) {
            return;
        }
        match self.config.strategy {
            Strategy::Rumor {
                loss: LossOfInterest::Feedback,
                ..
            } => {
                let id = MessageId::of(header);
                self.send_control(source, &Control::Feedback { id });
            }
            Strategy::Plumtree { .. } => {
                let eager = self
                    .membership
                    .as_ref()
                    .is_some_and(|m| !m.tree.lazy.contains(&source));
                if eager && self.active_view().contains(&source) {
                    self.make_lazy(source);
                    self.send_control(source, &Control::Prune);
                }
            }
            _ => {}
        }
    }

    /// Rumor feedback: a peer already knew a message we pushed.
    pub(super) fn on_feedback(&mut self, id: &MessageId) {
        let Strategy::Rumor {
            loss: LossOfInterest::Feedback,
            stop,
            k,
            ..
        } = self.config.strategy
        else {
            return;
        };
        let key = self.key_of(id);
        let Some(i) = self.store.iter().position(|s| s.key == key && s.hot) else {
            return;
        };
        self.lose_interest_step(i, stop, k.get());
    }

    fn lose_interest_step(&mut self, i: usize, stop: StopRule, k: u8) {
        let lose = match stop {
            StopRule::Counter => {
                self.store[i].count = self.store[i].count.saturating_add(1);
                self.store[i].count >= k
            }
            StopRule::Coin => self.rng.chance(1, u64::from(k)),
        };
        if lose {
            self.store[i].hot = false;
        }
    }

    /// One gossip round.
    pub(super) fn on_round(&mut self, now: Time) {
        self.work_this_round = 0;
        self.sends_this_round = 0;
        self.drain_backlog(now);
        self.expire_store(now);
        match self.config.strategy {
            Strategy::Push { fanout } => self.push_round(fanout.get()),
            Strategy::Pull => self.pull_round(),
            Strategy::PushPull { fanout } => {
                self.push_round(fanout.get());
                self.pull_round();
            }
            Strategy::Rumor {
                fanout,
                loss,
                stop,
                k,
            } => self.rumor_round(fanout.get(), loss, stop, k.get()),
            Strategy::Plumtree { .. } => self.announce_lazy(),
        }
        if self.config.sampling == Sampling::Views {
            self.maintain_active_view();
        }
    }

    fn expire_store(&mut self, now: Time) {
        let ttl = self.config.message_ttl;
        let live = |s: &Stored| now.since(s.received_at) <= ttl;
        // Most rounds expire nothing: look before paying for `retain`.
        if !self.store.iter().all(live) {
            self.materialize_outbox();
            self.store.retain(live);
        }
    }

    fn send_budget_left(&self) -> bool {
        self.sends_this_round < self.config.sends_per_round_max.get()
    }

    /// Sends stored message `i` to `fanout` random peers; false when the
    /// round's send budget ran out first.
    fn push_stored(&mut self, i: usize, fanout: u8) -> bool {
        for _ in 0..fanout {
            if !self.send_budget_left() {
                return false;
            }
            let Some(peer) = self.random_peer(None) else {
                return true;
            };
            self.send_stored(peer, i);
            self.sends_this_round += 1;
        }
        true
    }

    fn push_round(&mut self, fanout: u8) {
        let rounds = self.config.push_rounds.get();
        for i in 0..self.store.len() {
            if !self.store[i].hot {
                continue;
            }
            if !self.push_stored(i, fanout) {
                return; // budget spent: the rest waits for the next round
            }
            let stored = &mut self.store[i];
            stored.count = stored.count.saturating_add(1);
            stored.hot = stored.count < rounds;
        }
    }

    fn rumor_round(&mut self, fanout: u8, loss: LossOfInterest, stop: StopRule, k: u8) {
        for i in 0..self.store.len() {
            if !self.store[i].hot {
                continue;
            }
            if !self.push_stored(i, fanout) {
                return;
            }
            if loss == LossOfInterest::Blind {
                self.lose_interest_step(i, stop, k);
            }
        }
    }

    fn pull_round(&mut self) {
        if !self.send_budget_left() {
            return;
        }
        // Anti-entropy beyond the active view: now and then pull from a
        // passive peer, so that agents whose active views only reach each
        // other (an island left by failed or graylisted neighbours, or the
        // two sides of a healed partition) still exchange what they missed.
        let passive = self.config.sampling == Sampling::Views
            && !self.passive_view().is_empty()
            && self.rng.index(PASSIVE_PULL_ONE_IN) == 0;
        let peer = if passive {
            self.random_passive()
        } else {
            self.random_peer(None)
        };
        let Some(peer) = peer else {
            return;
        };
        let known = self.newest_stored_ids();
        self.send_control(peer, &Control::PullRequest { known });
        self.sends_this_round += 1;
    }

    /// Answers a pull with what the requester lacks.
    pub(super) fn on_pull_request(&mut self, source: A, known: &[MessageId]) {
        let known_keys: Vec<u64> = known.iter().map(|id| self.key_of(id)).collect();
        // Newest first, but at most a few per origin: a flooding origin
        // (whose junk still passes the rate limit hop by hop) would
        // otherwise fill every reply and starve older honest messages of
        // their only repair.
        let mut origins: Vec<(AgentId, usize)> = Vec::new();
        let mut sent = 0;
        for i in (0..self.store.len()).rev() {
            if sent == PULL_REPLY_MAX {
                break;
            }
            if known_keys.contains(&self.store[i].key) {
                continue;
            }
            let origin = self.store[i].id().from;
            match origins.iter_mut().find(|(o, _)| *o == origin) {
                Some((_, n)) if *n >= PULL_REPLY_PER_ORIGIN_MAX => continue,
                Some((_, n)) => *n += 1,
                None => origins.push((origin, 1)),
            }
            let bytes = std::mem::take(&mut self.store[i].bytes);
            self.send_bytes(source, &bytes);
            self.store[i].bytes = bytes;
            sent += 1;
        }
    }

    // ---- PlumTree ----

    fn eager_push(&mut self, key: u64, except: Option<A>) {
        let Some(i) = self.store.iter().position(|s| s.key == key) else {
            return;
        };
        let Some(m) = self.membership.as_mut() else {
            return;
        };
        let eager: Vec<A> = m
            .active
            .iter()
            .copied()
            .filter(|p| Some(*p) != except && !m.tree.lazy.contains(p))
            .collect();
        let has_lazy = m
            .active
            .iter()
            .any(|p| Some(*p) != except && m.tree.lazy.contains(p));
        if has_lazy && m.tree.lazy_queue.len() < LAZY_QUEUE_MAX {
            m.tree.lazy_queue.push(self.store[i].id());
        }
        let bytes = std::mem::take(&mut self.store[i].bytes);
        for peer in eager {
            self.send_bytes(peer, &bytes);
        }
        self.store[i].bytes = bytes;
        self.store[i].hot = false; // PlumTree pushes once, not per round
    }

    fn announce_lazy(&mut self) {
        let Some(m) = self.membership.as_mut() else {
            return;
        };
        if m.tree.lazy_queue.is_empty() {
            return;
        }
        let ids = std::mem::take(&mut m.tree.lazy_queue);
        let lazy: Vec<A> = m
            .active
            .iter()
            .copied()
            .filter(|p| m.tree.lazy.contains(p))
            .collect();
        for peer in lazy {
            self.send_control(peer, &Control::IHave { ids: ids.clone() });
        }
    }

    /// Announces the stored messages (newest first, one IHAVE) to `peer`,
    /// a neighbour that just joined the active view. The tree only carries
    /// what is broadcast after a link forms; without this, an agent whose
    /// links formed after a message passed (a late join, a replaced
    /// neighbour, a half-open link healed) would never get it. The peer
    /// asks (GRAFT/IWANT) only for what it has not seen.
    pub(super) fn announce_stored(&mut self, peer: A) {
        if !matches!(self.config.strategy, Strategy::Plumtree { .. }) || self.store.is_empty() {
            return;
        }
        let ids = self.newest_stored_ids();
        self.send_control(peer, &Control::IHave { ids });
    }

    /// The ids of the stored messages, newest first, as many as one control
    /// message carries.
    fn newest_stored_ids(&self) -> Vec<MessageId> {
        self.store
            .iter()
            .rev()
            .take(CONTROL_LIST_MAX)
            .map(Stored::id)
            .collect()
    }

    pub(super) fn on_ihave(&mut self, now: Time, source: A, ids: &[MessageId]) {
        let Strategy::Plumtree { repair_after } = self.config.strategy else {
            return;
        };
        for id in ids {
            let key = self.key_of(id);
            if self.seen.contains(key) {
                continue;
            }
            let m = self.membership_state();
            if let Some(missing) = m.tree.missing.iter_mut().find(|x| x.id == *id) {
                if missing.announcers.len() < ANNOUNCERS_MAX
                    && !missing.announcers.contains(&source)
                {
                    missing.announcers.push(source);
                }
            } else if m.tree.missing.len() < MISSING_MAX {
                m.tree.missing.push(Missing {
                    id: *id,
                    announcers: vec![source],
                    attempts: 0,
                    deadline: now + repair_after,
                });
            }
        }
        self.arm_repair_timer();
    }

    /// Whether this node was announced message `id` (IHAVE) and is still
    /// asking for it (PlumTree's repair).
    pub fn awaits_repair(&self, id: &MessageId) -> bool {
        self.membership
            .as_ref()
            .is_some_and(|m| m.tree.missing.iter().any(|x| x.id == *id))
    }

    fn arm_repair_timer(&mut self) {
        let next = self
            .membership
            .as_ref()
            .and_then(|m| m.tree.missing.iter().map(|x| x.deadline).min());
        self.set_member_timer(MemberTimer::Repair, next);
    }

    /// Asks for announced messages that did not arrive in time: GRAFT and
    /// IWANT to the next announcer in turn, again every `repair_after` until
    /// the message arrives or [`REPAIR_ATTEMPTS_MAX`] attempts went
    /// unanswered (PlumTree's repair, retried: a lost IWANT or reply must
    /// not lose the message).
    pub(super) fn on_repair_timer(&mut self, now: Time) {
        let Strategy::Plumtree { repair_after } = self.config.strategy else {
            return;
        };
        let due: Vec<Missing<A>> = match self.membership.as_mut() {
            Some(m) => {
                let (due, waiting) = std::mem::take(&mut m.tree.missing)
                    .into_iter()
                    .partition(|x| x.deadline <= now);
                m.tree.missing = waiting;
                due
            }
            None => Vec::new(),
        };
        for mut missing in due {
            if self.seen.contains(self.key_of(&missing.id)) {
                continue;
            }
            let peer = missing.announcers[usize::from(missing.attempts) % missing.announcers.len()];
            self.make_eager(peer);
            self.send_control(peer, &Control::Graft);
            self.send_control(
                peer,
                &Control::IWant {
                    ids: vec![missing.id],
                },
            );
            missing.attempts += 1;
            if missing.attempts < REPAIR_ATTEMPTS_MAX {
                missing.deadline = now + repair_after;
                self.membership_state().tree.missing.push(missing);
            } else {
                self.stats.drop(DropReason::RepairAbandoned);
            }
        }
        self.arm_repair_timer();
    }

    pub(super) fn on_iwant(&mut self, source: A, ids: &[MessageId]) {
        for id in ids.iter().take(PULL_REPLY_MAX) {
            let key = self.key_of(id);
            if let Some(i) = self.store.iter().position(|s| s.key == key) {
                let bytes = std::mem::take(&mut self.store[i].bytes);
                self.send_bytes(source, &bytes);
                self.store[i].bytes = bytes;
            }
        }
    }

    pub(super) fn make_eager(&mut self, peer: A) {
        if let Some(m) = self.membership.as_mut() {
            m.tree.lazy.retain(|p| *p != peer);
        }
    }

    pub(super) fn make_lazy(&mut self, peer: A) {
        if let Some(m) = self.membership.as_mut()
            && m.active.contains(&peer)
            && !m.tree.lazy.contains(&peer)
        {
            m.tree.lazy.push(peer);
        }
    }
}
