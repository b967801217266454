//! Membership under [`Sampling::Views`](crate::config::Sampling::Views):
//! the node's membership state, and HyParView's active and passive views
//! (join walks, neighbour requests, shuffles, renewal). Failure detection
//! of the active view is [`super::detection`]; full-membership SWIM is
//! [`super::swim`]; PlumTree's links over the active view are
//! [`super::gossip::TreeLinks`].
//!
//! Neither view ever exceeds its configured bound, so a node's membership
//! state is O(log n) whatever the swarm size.

use super::detection::{INCARNATIONS_MAX, Probe, RUMOURS_MAX, Suspect};
use super::gossip::TreeLinks;
use super::swim::SwimState;
use super::timers::MemberTimers;
use super::{Event, Node, PeerChange};
use crate::address::Address;
use crate::control::Control;
use crate::id_set::IdSet;

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
pub(super) const DEAD_REMEMBERED_MAX: usize = 32;

/// Passive peers remembered as having left one neighbour request
/// unanswered; a second silence drops them from the passive view. Oldest
/// forgotten first: a node asks one peer a round, so eight spans more than
/// a second of asking.
const UNANSWERED_MAX: usize = 8;

/// Join contacts a node keeps for rejoining: the first few are enough
/// (any one that answers admits it again).
const JOIN_CONTACTS_KEPT: usize = 4;

/// Membership state of one node (with PlumTree's links over its active
/// view).
#[derive(Clone, Debug)]
pub(super) struct Membership<A> {
    pub(super) active: Vec<A>,
    pub(super) passive: Vec<A>,
    /// PlumTree's links over the active view.
    pub(super) tree: TreeLinks<A>,
    pub(super) probe: Option<Probe<A>>,
    pub(super) probe_cursor: usize,
    pub(super) suspects: Vec<Suspect<A>>,
    /// Membership rumours already seen: kept apart from the message
    /// duplicate filter, so that a burst of suspicions during a partition
    /// cannot evict message ids (which would deliver messages twice).
    pub(super) rumours: IdSet,
    /// Agents confirmed dead, newest last (see [`DEAD_REMEMBERED_MAX`]).
    pub(super) dead: Vec<A>,
    /// The passive peer asked to be a neighbour at the last round, until
    /// it answers.
    pub(super) asked: Option<A>,
    /// Passive peers that left one request unanswered (see
    /// [`UNANSWERED_MAX`]).
    pub(super) unanswered: Vec<A>,
    /// Latest incarnations heard from refutations.
    pub(super) incarnations: Vec<(A, u32)>,
    pub(super) incarnation: u32,
    /// Full-membership SWIM state, when that detector runs.
    pub(super) swim: Option<Box<SwimState<A>>>,
    /// The contacts this node joined through, kept to rejoin when both
    /// views run empty.
    pub(super) contacts: Vec<A>,
    /// Active neighbours failed or graylisted since the last (re)join.
    pub(super) lost_since_join: u8,
    /// Shuffle, probe, suspicion and repair deadlines.
    pub(super) timers: MemberTimers,
}

impl<A> Default for Membership<A> {
    fn default() -> Self {
        Membership {
            active: Vec::new(),
            passive: Vec::new(),
            tree: TreeLinks::default(),
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
        (self.active.capacity() + self.passive.capacity()) * size_of::<A>()
            + self.tree.heap_bytes()
            + self.suspects.capacity() * size_of::<Suspect<A>>()
            + self.incarnations.capacity() * size_of::<(A, u32)>()
            + (self.dead.capacity() + self.unanswered.capacity()) * size_of::<A>()
            + self.contacts.capacity() * size_of::<A>()
            + self.rumours.heap_bytes()
            + self.swim.as_ref().map_or(0, |s| {
                size_of::<super::swim::SwimState<A>>() + s.heap_bytes()
            })
    }

    pub(super) fn known_incarnation(&self, member: A) -> u32 {
        self.incarnations
            .iter()
            .find(|(a, _)| *a == member)
            .map_or(0, |(_, i)| *i)
    }

    pub(super) fn learn_incarnation(&mut self, member: A, incarnation: u32) {
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

    pub(super) fn forget(&mut self, peer: A) {
        self.active.retain(|p| *p != peer);
        self.passive.retain(|p| *p != peer);
        self.tree.lazy.retain(|p| *p != peer);
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
    pub(super) fn active_peer_lost(&mut self) {
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
    pub(super) fn add_active(&mut self, peer: A) {
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
        m.tree.lazy.retain(|p| *p != peer);
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
    pub(super) fn active_full(&self) -> bool {
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
}
