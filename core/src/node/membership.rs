//! Membership under [`Sampling::Views`](crate::config::Sampling::Views):
//! HyParView's active and passive views (join walks, neighbour requests,
//! shuffles) and SWIM-style failure detection of the active view (probe,
//! indirect probe, suspicion with incarnations, refutation, confirmation).
//!
//! Neither view ever exceeds its configured bound, so a node's membership
//! state is O(log n) whatever the swarm size.

use super::gossip::Missing;
use super::swim::SwimState;
use super::timers::{MemberTimer, MemberTimers};
use super::{Event, Node, PeerChange};
use crate::address::Address;
use crate::config::Sampling;
use crate::control::{Control, MemberNews, MemberState};
use crate::id_set::IdSet;
use crate::message::MessageId;
use crate::rng::mix64;
use crate::time::Time;

/// Agents suspected at once; a further suspicion waits for a slot (the
/// probe is repeated next period). Suspicions are rare and short-lived;
/// 16 covers a node losing its whole active view with room.
const SUSPECTS_MAX: usize = 16;

/// Incarnation numbers remembered for agents that refuted a suspicion, so
/// a later suspicion names the current incarnation (and can be refuted again).
/// Oldest forgotten first; a forgotten agent is suspected at incarnation 0,
/// which its next refutation corrects.
const INCARNATIONS_MAX: usize = 16;

/// Steps a membership rumour travels from the node that starts it: the
/// suspect's neighbours and their neighbours hear it (an active view is about
/// five), which is who probes it and who must hear its refutation.
const RUMOUR_HOPS: u8 = 3;

/// Membership rumours remembered for duplicate suppression. A rumour is
/// forwarded once per (member, incarnation, state); 512 covers the rumours
/// of a partition that cuts a node off from its whole view, many times over.
const RUMOURS_MAX: u32 = 512;

/// Domain separator for membership-update keys in the duplicate filter.
const MEMBER_UPDATE_DOMAIN: u64 = 0x6d65_6d62_6572_5f75;

/// A probe in flight.
#[derive(Clone, Debug)]
pub(super) struct Probe<A> {
    pub(super) target: A,
    pub(super) seq: u16,
    pub(super) acked: bool,
}

/// A suspected agent.
#[derive(Clone, Debug)]
struct Suspect<A> {
    member: A,
    incarnation: u32,
    deadline: Time,
}

/// A node with a full active view replaces one neighbour with a random
/// passive peer at one shuffle in this many (once a minute on average at
/// 10 s shuffles). HyParView never changes a full view without a failure,
/// so a group of agents whose links all point at each other (left by the
/// evictions of a burst of joins, or by a partition) stays an island for
/// good, full views and all; passive views keep some outsiders, and this
/// slow renewal, like X-BOT's periodic optimisation of the same views,
/// bounds how long such an island lasts. Rarer would heal islands more
/// slowly; more often would churn PlumTree's tree for little gain.
const ACTIVE_RENEWAL_ONE_IN: usize = 6;

/// Agents this node confirmed dead that it remembers, so that shuffles from
/// agents that have not heard yet cannot put them back in its passive view
/// (and have it ask a dead agent to be its neighbour). Oldest forgotten
/// first; a remembered agent that speaks again (a restart) is forgotten at
/// once. 32 covers a node losing its whole active view and a few shuffles'
/// worth of dead passive entries.
const DEAD_REMEMBERED_MAX: usize = 32;

/// Passive peers remembered as having left one neighbour request
/// unanswered; a second silence drops them from the passive view. Oldest
/// forgotten first: a node asks one peer a round, so eight spans more than
/// a second of asking.
const UNANSWERED_MAX: usize = 8;

/// Join contacts a node keeps for rejoining: the first few are enough
/// (any one that answers admits it again).
const JOIN_CONTACTS_KEPT: usize = 4;

/// Membership and PlumTree link state of one node.
#[derive(Clone, Debug)]
pub(super) struct Membership<A> {
    pub(super) active: Vec<A>,
    pub(super) passive: Vec<A>,
    /// Active neighbours PlumTree treats as lazy (IHAVE only).
    pub(super) lazy: Vec<A>,
    /// Ids to announce to lazy neighbours at the next round.
    pub(super) lazy_queue: Vec<MessageId>,
    /// Announced ids not yet received.
    pub(super) missing: Vec<Missing<A>>,
    pub(super) probe: Option<Probe<A>>,
    probe_cursor: usize,
    suspects: Vec<Suspect<A>>,
    /// Membership rumours already seen: kept apart from the message
    /// duplicate filter, so that a burst of suspicions during a partition
    /// cannot evict message ids (which would deliver messages twice).
    pub(super) rumours: IdSet,
    /// Agents confirmed dead, newest last (see [`DEAD_REMEMBERED_MAX`]).
    dead: Vec<A>,
    /// The passive peer asked to be a neighbour at the last round, until
    /// it answers.
    asked: Option<A>,
    /// Passive peers that left one request unanswered (see
    /// [`UNANSWERED_MAX`]).
    unanswered: Vec<A>,
    /// Latest incarnations heard from refutations.
    incarnations: Vec<(A, u32)>,
    pub(super) incarnation: u32,
    /// Full-membership SWIM state, when that detector runs.
    pub(super) swim: Option<Box<SwimState<A>>>,
    /// The contacts this node joined through, kept to rejoin when both
    /// views run empty.
    contacts: Vec<A>,
    /// Active neighbours failed or graylisted since the last (re)join.
    lost_since_join: u8,
    /// Shuffle, probe, suspicion and repair deadlines.
    pub(super) timers: MemberTimers,
}

impl<A> Default for Membership<A> {
    fn default() -> Self {
        Membership {
            active: Vec::new(),
            passive: Vec::new(),
            lazy: Vec::new(),
            lazy_queue: Vec::new(),
            missing: Vec::new(),
            probe: None,
            probe_cursor: 0,
            suspects: Vec::new(),
            rumours: IdSet::with_capacity(RUMOURS_MAX),
            dead: Vec::new(),
            asked: None,
            unanswered: Vec::new(),
            incarnations: Vec::new(),
            incarnation: 0,
            swim: None,
            contacts: Vec::new(),
            lost_since_join: 0,
            timers: MemberTimers::default(),
        }
    }
}

impl<A: Address> Membership<A> {
    pub(super) fn heap_bytes(&self) -> usize {
        (self.active.capacity() + self.passive.capacity() + self.lazy.capacity()) * size_of::<A>()
            + self.lazy_queue.capacity() * size_of::<MessageId>()
            + self.missing.capacity() * size_of::<Missing<A>>()
            + self.suspects.capacity() * size_of::<Suspect<A>>()
            + self.incarnations.capacity() * size_of::<(A, u32)>()
            + (self.dead.capacity() + self.unanswered.capacity()) * size_of::<A>()
            + self.contacts.capacity() * size_of::<A>()
            + self.rumours.heap_bytes()
            + self.swim.as_ref().map_or(0, |s| {
                size_of::<super::swim::SwimState<A>>() + s.heap_bytes()
            })
    }

    fn known_incarnation(&self, member: A) -> u32 {
        self.incarnations
            .iter()
            .find(|(a, _)| *a == member)
            .map_or(0, |(_, i)| *i)
    }

    fn learn_incarnation(&mut self, member: A, incarnation: u32) {
        match self.incarnations.iter_mut().find(|(a, _)| *a == member) {
            Some(entry) => entry.1 = entry.1.max(incarnation),
            None => {
                if self.incarnations.len() >= INCARNATIONS_MAX {
                    self.incarnations.remove(0);
                }
                self.incarnations.push((member, incarnation));
            }
        }
    }

    fn forget(&mut self, peer: A) {
        self.active.retain(|p| *p != peer);
        self.passive.retain(|p| *p != peer);
        self.lazy.retain(|p| *p != peer);
        self.suspects.retain(|s| s.member != peer);
        if self.probe.as_ref().is_some_and(|p| p.target == peer) {
            self.probe = None;
        }
    }
}

impl<A: Address> Node<A> {
    // ---- HyParView ----

    /// Drops `peer` from both views (a graylisted peer): the next round
    /// promotes a passive peer in its place.
    pub(super) fn forget_peer(&mut self, peer: A) {
        let Some(m) = self.membership.as_mut() else {
            return;
        };
        let was_active = m.active.contains(&peer);
        m.forget(peer);
        if was_active {
            self.events.push_back(Event::Peer {
                peer,
                change: PeerChange::Down,
            });
            self.active_peer_lost();
        }
    }

    /// An active neighbour failed or was graylisted. Once half the active
    /// view has gone this way since the last join (or the last report), this
    /// node may be cut off from much of the swarm: it tells its application.
    /// (Rejoining through the contacts at that point was tried: it helps
    /// little against Byzantine islands and slows healing after a real
    /// partition, whose cross-cut links it replaces with same-side ones.)
    fn active_peer_lost(&mut self) {
        let threshold = self.config.active_view_max.get().div_ceil(2);
        let Some(m) = self.membership.as_mut() else {
            return;
        };
        m.lost_since_join = m.lost_since_join.saturating_add(1);
        if m.lost_since_join < threshold {
            return;
        }
        m.lost_since_join = 0;
        self.events.push_back(Event::PartitionSuspected {
            peers_lost: threshold,
        });
    }

    pub(super) fn join(&mut self, contacts: Vec<A>) {
        let first = contacts[0];
        for contact in &contacts {
            self.add_passive(*contact);
        }
        let kept: Vec<A> = contacts.into_iter().take(JOIN_CONTACTS_KEPT).collect();
        let m = self.membership_state();
        m.contacts = kept;
        m.lost_since_join = 0;
        self.send_control(first, &Control::Join);
        if self.swim_config().is_some() {
            let contacts = self.membership_state().contacts.clone();
            self.swim_join(&contacts);
        }
    }

    pub(super) fn on_join(&mut self, joiner: A) {
        if joiner == self.addr {
            return;
        }
        // A contact with no neighbour is not in the overlay (its own join
        // was lost or its links were all evicted): admitting the joiner here
        // would start an island that later joins grow. It passes the join
        // on to a passive peer instead, as a walk of full length.
        if self.active_view().is_empty()
            && let Some(peer) = self.random_passive()
        {
            let ttl = self.config.active_walk_len;
            self.add_passive(joiner);
            self.send_control(peer, &Control::ForwardJoin { joiner, ttl });
            return;
        }
        self.add_active(joiner);
        self.send_control(joiner, &Control::NeighborReply { accepted: true });
        let ttl = self.config.active_walk_len;
        let others: Vec<A> = self
            .active_view()
            .iter()
            .copied()
            .filter(|p| *p != joiner)
            .collect();
        for peer in others {
            self.send_control(peer, &Control::ForwardJoin { joiner, ttl });
        }
    }

    pub(super) fn on_forward_join(&mut self, source: A, joiner: A, ttl: u8) {
        if joiner == self.addr {
            return;
        }
        if ttl == 0 || self.active_view().len() <= 1 {
            self.accept_neighbor(joiner);
            return;
        }
        if ttl == self.config.passive_walk_len {
            self.add_passive(joiner);
        }
        let next = self.random_active_except(&[source, joiner]);
        match next {
            Some(next) => self.send_control(
                next,
                &Control::ForwardJoin {
                    joiner,
                    ttl: ttl - 1,
                },
            ),
            None => self.accept_neighbor(joiner),
        }
    }

    fn accept_neighbor(&mut self, peer: A) {
        if !self.active_view().contains(&peer) {
            self.add_active(peer);
            self.send_control(peer, &Control::NeighborReply { accepted: true });
        }
    }

    pub(super) fn on_neighbor(&mut self, source: A, high_priority: bool) {
        let accepted = self.active_view().contains(&source) || high_priority || !self.active_full();
        if accepted {
            self.add_active(source);
        }
        self.send_control(source, &Control::NeighborReply { accepted });
    }

    pub(super) fn on_neighbor_reply(&mut self, source: A, accepted: bool) {
        let m = self.membership_state();
        if m.asked == Some(source) {
            m.asked = None;
        }
        if accepted {
            self.add_active(source);
        }
    }

    pub(super) fn on_disconnect(&mut self, source: A) {
        if self.remove_active(source) {
            self.add_passive(source);
            self.events.push_back(Event::Peer {
                peer: source,
                change: PeerChange::Down,
            });
        }
    }

    pub(super) fn on_leave(&mut self, source: A) {
        let known = self.active_view().contains(&source);
        self.membership_state().forget(source);
        self.swim_on_leave(source);
        if known {
            self.events.push_back(Event::Peer {
                peer: source,
                change: PeerChange::Left,
            });
        }
    }

    pub(super) fn leave(&mut self) {
        let active = self.active_view().to_vec();
        for peer in active {
            self.send_control(peer, &Control::Leave);
        }
    }

    /// Adds `peer` to the active view, evicting a random member when full.
    fn add_active(&mut self, peer: A) {
        if peer == self.addr || self.active_view().contains(&peer) {
            return;
        }
        if self.active_full() {
            let victim_index = self.rng.index(self.active_view().len());
            let victim = self.active_view()[victim_index];
            self.remove_active(victim);
            self.send_control(victim, &Control::Disconnect);
            self.add_passive(victim);
            self.events.push_back(Event::Peer {
                peer: victim,
                change: PeerChange::Down,
            });
        }
        let m = self.membership_state();
        m.passive.retain(|p| *p != peer);
        m.active.push(peer);
        self.events.push_back(Event::Peer {
            peer,
            change: PeerChange::Up,
        });
        self.announce_stored(peer);
    }

    fn remove_active(&mut self, peer: A) -> bool {
        let Some(m) = self.membership.as_mut() else {
            return false;
        };
        let before = m.active.len();
        m.active.retain(|p| *p != peer);
        m.lazy.retain(|p| *p != peer);
        before != m.active.len()
    }

    fn add_passive(&mut self, peer: A) {
        if peer == self.addr {
            return;
        }
        let max = usize::from(self.config.passive_view_max.get());
        let victim = {
            let m = self.membership.get_or_insert_with(Box::default);
            if m.active.contains(&peer) || m.passive.contains(&peer) || m.dead.contains(&peer) {
                return;
            }
            m.passive.len() >= max
        };
        if victim {
            let i = self.rng.index(self.passive_view().len());
            self.membership_state().passive.swap_remove(i);
        }
        self.membership_state().passive.push(peer);
    }

    pub(super) fn integrate_passive(&mut self, peers: &[A]) {
        for peer in peers {
            self.add_passive(*peer);
        }
    }

    /// `peer` sent this node a control message: it is up, whatever this
    /// node confirmed of it before.
    pub(super) fn heard_from(&mut self, peer: A) {
        if self.swim_config().is_some() {
            self.swim_learn(peer);
        }
        if let Some(m) = self.membership.as_mut() {
            if !m.dead.is_empty() {
                m.dead.retain(|p| *p != peer);
            }
            if !m.unanswered.is_empty() {
                m.unanswered.retain(|p| *p != peer);
            }
        }
    }

    /// Whether the active view is at its bound.
    fn active_full(&self) -> bool {
        self.active_view().len() >= usize::from(self.config.active_view_max.get())
    }

    /// A passive peer picked at random (`None` when the view is empty).
    pub(super) fn random_passive(&mut self) -> Option<A> {
        let passive = self.passive_view();
        if passive.is_empty() {
            return None;
        }
        let i = self.rng.index(passive.len());
        Some(self.passive_view()[i])
    }

    fn random_active_except(&mut self, exclude: &[A]) -> Option<A> {
        let candidates: Vec<A> = self
            .active_view()
            .iter()
            .copied()
            .filter(|p| !exclude.contains(p))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        Some(candidates[self.rng.index(candidates.len())])
    }

    pub(super) fn sample<T: Copy>(&mut self, items: &[T], k: usize) -> Vec<T> {
        let mut pool = items.to_vec();
        let mut out = Vec::with_capacity(k.min(pool.len()));
        while out.len() < k && !pool.is_empty() {
            let i = self.rng.index(pool.len());
            out.push(pool.swap_remove(i));
        }
        out
    }

    /// Tops the active view up from the passive view: one request per round.
    pub(super) fn maintain_active_view(&mut self) {
        if self.active_view().is_empty() && self.passive_view().is_empty() {
            // Isolated: rejoin through one of the original contacts.
            let contacts = self
                .membership
                .as_ref()
                .map_or(&[][..], |m| &m.contacts[..]);
            if !contacts.is_empty() {
                let contact = contacts[self.rng.index(contacts.len())];
                self.send_control(contact, &Control::Join);
            }
            return;
        }
        // A passive peer that left two requests unanswered is gone
        // (HyParView drops a passive peer whose connection fails): asking it
        // again would only feed a dead agent datagrams. One silence is not
        // enough: at 1% loss one exchange in fifty fails, and a node short of
        // neighbours that dropped its live outsiders that way would be left
        // knowing only its island.
        let m = self.membership_state();
        if let Some(silent) = m.asked.take() {
            if m.unanswered.contains(&silent) {
                m.unanswered.retain(|p| *p != silent);
                m.passive.retain(|p| *p != silent);
            } else {
                if m.unanswered.len() >= UNANSWERED_MAX {
                    m.unanswered.remove(0);
                }
                m.unanswered.push(silent);
            }
        }
        if self.active_full() {
            return;
        }
        let Some(candidate) = self.random_passive() else {
            return;
        };
        self.membership_state().asked = Some(candidate);
        let high_priority = self.active_view().is_empty();
        self.send_control(candidate, &Control::Neighbor { high_priority });
    }

    pub(super) fn on_shuffle_timer(&mut self) {
        self.renew_active_view();
        let Some(target) = self.random_active_except(&[]) else {
            return;
        };
        let (ka, kp) = self.config.shuffle_sample;
        let active = self.active_view().to_vec();
        let passive = self.passive_view().to_vec();
        let mut peers = vec![self.addr];
        peers.extend(self.sample(&active, usize::from(ka)));
        peers.extend(self.sample(&passive, usize::from(kp)));
        let ttl = self.config.passive_walk_len;
        self.send_control(
            target,
            &Control::Shuffle {
                origin: self.addr,
                ttl,
                peers,
            },
        );
    }

    /// Once a shuffle period, a node short of neighbours asks a random
    /// passive peer with high priority (which a full peer accepts, moving
    /// one of its neighbours to its passive view): HyParView asks with high
    /// priority only when the active view is empty, so a few agents left
    /// with only each other (a small island, every view short) would ask
    /// full peers with low priority, be refused, and stay cut off for good.
    /// Once a shuffle period keeps the holes this moves around rare. A
    /// full node does the same at one shuffle in [`ACTIVE_RENEWAL_ONE_IN`],
    /// dropping a random neighbour when the reply comes.
    fn renew_active_view(&mut self) {
        if self.active_view().is_empty()
            || self.passive_view().is_empty()
            || (self.active_full() && self.rng.index(ACTIVE_RENEWAL_ONE_IN) != 0)
        {
            return;
        }
        let Some(candidate) = self.random_passive() else {
            return;
        };
        self.membership_state().asked = Some(candidate);
        self.send_control(
            candidate,
            &Control::Neighbor {
                high_priority: true,
            },
        );
    }

    pub(super) fn on_shuffle(&mut self, source: A, origin: A, ttl: u8, peers: Vec<A>) {
        if origin == self.addr {
            return;
        }
        let next = if ttl > 0 && self.active_view().len() > 1 {
            self.random_active_except(&[source, origin])
        } else {
            None
        };
        if let Some(next) = next {
            self.send_control(
                next,
                &Control::Shuffle {
                    origin,
                    ttl: ttl - 1,
                    peers,
                },
            );
            return;
        }
        let passive = self.passive_view().to_vec();
        let reply = self.sample(&passive, peers.len());
        self.send_control(origin, &Control::ShuffleReply { peers: reply });
        self.integrate_passive(&peers);
    }

    // ---- SWIM ----

    pub(super) fn on_probe_timer(&mut self, now: Time) {
        let last = self.membership.as_mut().and_then(|m| m.probe.take());
        if self.swim_config().is_some() {
            self.swim_probe_timer(now, last.map(|p| (p.target, p.acked)));
            return;
        }
        let unanswered = last.filter(|p| !p.acked).map(|p| p.target);
        if let Some(target) = unanswered {
            self.suspect(now, target, None);
        }
        let Some(m) = self.membership.as_mut() else {
            return;
        };
        if m.active.is_empty() {
            return;
        }
        // Suspects are probed too: an ack before the suspicion times out
        // clears it here (a refutation this node missed must not kill a
        // live neighbour).
        let target = m.active[m.probe_cursor % m.active.len()];
        m.probe_cursor = m.probe_cursor.wrapping_add(1);
        let seq = self.next_seq();
        self.membership_state().probe = Some(Probe {
            target,
            seq,
            acked: false,
        });
        self.send_control_with_seq(
            target,
            &Control::Ping {
                relay: None,
                news: Vec::new(),
            },
            seq,
        );
        let deadline = now + self.config.probe_timeout;
        self.member_timers()
            .set(MemberTimer::ProbeTimeout, deadline);
    }

    pub(super) fn on_probe_timeout(&mut self) {
        let Some(probe) = self.membership.as_ref().and_then(|m| m.probe.clone()) else {
            return;
        };
        if probe.acked {
            return;
        }
        if self.swim_config().is_some() {
            self.swim_probe_timeout(probe.target, probe.seq);
            return;
        }
        let k = usize::from(self.config.indirect_probes);
        let others: Vec<A> = self
            .active_view()
            .iter()
            .copied()
            .filter(|p| *p != probe.target)
            .collect();
        let helpers = self.sample(&others, k);
        for helper in helpers {
            self.send_control_with_seq(
                helper,
                &Control::PingReq {
                    target: probe.target,
                    news: Vec::new(),
                },
                probe.seq,
            );
        }
    }

    pub(super) fn on_ping(
        &mut self,
        now: Time,
        source: A,
        seq: u16,
        relay: Option<(A, u16)>,
        news: Vec<MemberNews<A>>,
    ) {
        for item in news {
            self.apply_news(now, item);
        }
        let ack = Control::Ack {
            probe_seq: seq,
            relay,
            member: self.addr,
            news: self.news_for(source),
        };
        self.send_control(source, &ack);
        // A direct probe comes from a node that holds this one in its active
        // view, and HyParView's links are symmetric. When this node does not
        // hold the prober, the link is half-open (a DISCONNECT that overtook
        // the NEIGHBOR reply which opened it, or a death confirmed here that
        // the prober survived): the prober would count on a neighbour that
        // sends it nothing. With a free slot, this node closes the link by
        // taking the prober on; with a full view it tells the prober, which
        // moves this node to its passive view and fills the slot with a real
        // neighbour.
        // (Full-membership SWIM probes every member: its pings say nothing
        // of links.)
        if relay.is_none()
            && self.config.sampling == Sampling::Views
            && self.swim_config().is_none()
            && !self.active_view().contains(&source)
        {
            if self.active_full() {
                self.send_control(source, &Control::Disconnect);
            } else {
                self.add_active(source);
            }
        }
    }

    pub(super) fn on_ping_req(
        &mut self,
        now: Time,
        source: A,
        seq: u16,
        target: A,
        news: Vec<MemberNews<A>>,
    ) {
        for item in news {
            self.apply_news(now, item);
        }
        let news = self.news_for(target);
        self.send_control(
            target,
            &Control::Ping {
                relay: Some((source, seq)),
                news,
            },
        );
    }

    pub(super) fn on_ack(
        &mut self,
        now: Time,
        probe_seq: u16,
        relay: Option<(A, u16)>,
        member: A,
        news: Vec<MemberNews<A>>,
    ) {
        for item in news {
            self.apply_news(now, item);
        }
        if let Some((requester, seq)) = relay {
            let news = self.news_for(requester);
            self.send_control(
                requester,
                &Control::Ack {
                    probe_seq: seq,
                    relay: None,
                    member,
                    news,
                },
            );
            return;
        }
        let Some(m) = self.membership.as_mut() else {
            return;
        };
        if let Some(probe) = m.probe.as_mut()
            && probe.seq == probe_seq
            && probe.target == member
        {
            probe.acked = true;
            let before = m.suspects.len();
            m.suspects.retain(|s| s.member != member);
            if m.suspects.len() != before {
                self.events.push_back(Event::Peer {
                    peer: member,
                    change: PeerChange::Alive,
                });
                self.arm_suspicion_timer();
            }
        }
    }

    /// Starts a suspicion of `member` (at `incarnation` when known) and tells
    /// the active view, including the suspect so that it can refute.
    fn suspect(&mut self, now: Time, member: A, incarnation: Option<u32>) {
        let deadline = now + self.config.suspicion_timeout;
        let m = self.membership_state();
        if m.suspects.iter().any(|s| s.member == member) || m.suspects.len() >= SUSPECTS_MAX {
            return;
        }
        let incarnation = incarnation.unwrap_or_else(|| m.known_incarnation(member));
        m.suspects.push(Suspect {
            member,
            incarnation,
            deadline,
        });
        self.events.push_back(Event::Peer {
            peer: member,
            change: PeerChange::Suspected,
        });
        self.arm_suspicion_timer();
        let update = Control::MemberUpdate {
            member,
            incarnation,
            state: MemberState::Suspect,
        };
        self.remember_rumour(member, incarnation, MemberState::Suspect);
        let mut targets = self.active_view().to_vec();
        if !targets.contains(&member) {
            targets.push(member);
        }
        for peer in targets {
            self.send_control_hops(peer, &update, RUMOUR_HOPS);
        }
    }

    fn arm_suspicion_timer(&mut self) {
        let next = self
            .membership
            .as_ref()
            .and_then(|m| m.suspects.iter().map(|s| s.deadline).min());
        self.set_member_timer(MemberTimer::Suspicion, next);
    }

    /// Confirms every suspect whose deadline passed.
    pub(super) fn on_suspicion_timer(&mut self, now: Time) {
        if self.swim_config().is_some() {
            self.swim_suspicion_timer(now);
            return;
        }
        let due: Vec<Suspect<A>> = match self.membership.as_mut() {
            Some(m) => {
                let (due, waiting) = std::mem::take(&mut m.suspects)
                    .into_iter()
                    .partition(|s| s.deadline <= now);
                m.suspects = waiting;
                due
            }
            None => Vec::new(),
        };
        for suspect in due {
            self.confirm_dead(suspect.member, suspect.incarnation, None, RUMOUR_HOPS);
        }
        self.arm_suspicion_timer();
    }

    /// Drops an agent confirmed dead from both views and remembers it (see
    /// [`DEAD_REMEMBERED_MAX`]); whether a view held it. The view is topped
    /// up by the caller.
    pub(super) fn forget_dead(&mut self, member: A) -> bool {
        let was_active = self.active_view().contains(&member);
        let was_known = was_active || self.passive_view().contains(&member);
        let m = self.membership_state();
        m.forget(member);
        if !m.dead.contains(&member) {
            if m.dead.len() >= DEAD_REMEMBERED_MAX {
                m.dead.remove(0);
            }
            m.dead.push(member);
        }
        if was_active {
            self.active_peer_lost();
        }
        was_known
    }

    fn confirm_dead(&mut self, member: A, incarnation: u32, source: Option<A>, hops: u8) {
        if self.forget_dead(member) {
            self.events.push_back(Event::Peer {
                peer: member,
                change: PeerChange::Failed,
            });
        }
        self.remember_rumour(member, incarnation, MemberState::Dead);
        let update = Control::MemberUpdate {
            member,
            incarnation,
            state: MemberState::Dead,
        };
        if hops > 0 {
            self.spread_update(&update, source, hops - 1);
        }
        self.maintain_active_view();
    }

    /// Sends a rumour to the active view (but `except`), forwardable
    /// `hops` more times. Bounded hops, not flooding: SWIM spreads a rumour
    /// a few steps around the suspect, and an unbounded flood of thousands
    /// of rumours (a partition makes every node suspect its neighbours
    /// across the cut) would outlive any duplicate filter.
    fn spread_update(&mut self, update: &Control<A>, except: Option<A>, hops: u8) {
        let targets: Vec<A> = self
            .active_view()
            .iter()
            .copied()
            .filter(|p| Some(*p) != except)
            .collect();
        for peer in targets {
            self.send_control_hops(peer, update, hops);
        }
    }

    /// Records a rumour as seen; `false` when it already was.
    fn remember_rumour(&mut self, member: A, incarnation: u32, state: MemberState) -> bool {
        let key = self.member_update_key(member, incarnation, state);
        self.membership_state().rumours.insert(key)
    }

    fn member_update_key(&self, member: A, incarnation: u32, state: MemberState) -> u64 {
        let mut wire = [0u8; 16];
        let len = A::WIRE_LEN.min(16);
        let mut full = vec![0u8; A::WIRE_LEN];
        member.write_wire(&mut full);
        wire[..len].copy_from_slice(&full[..len]);
        let a = u64::from_le_bytes(wire[..8].try_into().expect("8 bytes"));
        let b = u64::from_le_bytes(wire[8..].try_into().expect("8 bytes"));
        let tail = (u64::from(incarnation) << 8) | state as u64;
        mix64(mix64(a ^ self.key_secret ^ MEMBER_UPDATE_DOMAIN) ^ b ^ mix64(tail))
    }

    pub(super) fn on_member_update(
        &mut self,
        now: Time,
        source: A,
        hops: u8,
        member: A,
        incarnation: u32,
        state: MemberState,
    ) {
        // Full-membership SWIM spreads its own news, piggybacked: the
        // active-view detector's rumours would start suspicions it never
        // judges (their deadlines would pass unhandled).
        if self.swim_config().is_some() {
            return;
        }
        let key = self.member_update_key(member, incarnation, state);
        if !self.membership_state().rumours.insert(key) {
            return;
        }
        if member == self.addr {
            let m = self.membership_state();
            if state != MemberState::Alive && incarnation >= m.incarnation {
                m.incarnation = incarnation + 1;
                let incarnation = m.incarnation;
                let refute = Control::MemberUpdate {
                    member,
                    incarnation,
                    state: MemberState::Alive,
                };
                self.remember_rumour(member, incarnation, MemberState::Alive);
                self.spread_update(&refute, None, RUMOUR_HOPS);
                if !self.active_view().contains(&source) {
                    self.send_control(source, &refute);
                }
            }
            return;
        }
        let update = Control::MemberUpdate {
            member,
            incarnation,
            state,
        };
        // A rumour about an incarnation older than one this node heard
        // refuted is stale: acting on it would kill a live agent.
        let stale = incarnation < self.membership_state().known_incarnation(member);
        if stale && state != MemberState::Alive {
            return;
        }
        match state {
            MemberState::Suspect => {
                // Only a neighbour probes the suspect, so only a neighbour
                // can see it answer: a node that knows it from its passive
                // view alone would confirm a death it cannot check.
                if self.active_view().contains(&member) {
                    self.suspect(now, member, Some(incarnation));
                }
                if hops > 0 {
                    self.spread_update(&update, Some(source), hops - 1);
                }
            }
            MemberState::Alive => {
                let m = self.membership_state();
                m.learn_incarnation(member, incarnation);
                let before = m.suspects.len();
                m.suspects
                    .retain(|s| !(s.member == member && s.incarnation < incarnation));
                if m.suspects.len() != before {
                    self.events.push_back(Event::Peer {
                        peer: member,
                        change: PeerChange::Alive,
                    });
                    self.arm_suspicion_timer();
                }
                if hops > 0 {
                    self.spread_update(&update, Some(source), hops - 1);
                }
            }
            MemberState::Dead => self.confirm_dead(member, incarnation, Some(source), hops),
        }
    }
}
