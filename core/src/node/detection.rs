//! SWIM-style failure detection of the active view (the default
//! detector): a probe a period to one neighbour, indirect probes through
//! others, suspicion with incarnations, refutation, confirmation, and the
//! membership rumours that spread suspicions and deaths a few hops. The
//! full-membership detector is [`super::swim`].

use super::membership::DEAD_REMEMBERED_MAX;
use super::timers::MemberTimer;
use super::{Event, Node, PeerChange};
use crate::address::Address;
use crate::config::Sampling;
use crate::control::{Control, MemberNews, MemberState};
use crate::rng::mix64;
use crate::time::Time;

/// Agents suspected at once; a further suspicion waits for a slot (the
/// probe is repeated next period). Suspicions are rare and short-lived;
/// 16 covers a node losing its whole active view with room.
pub(super) const SUSPECTS_MAX: usize = 16;

/// Incarnation numbers remembered for agents that refuted a suspicion, so
/// a later suspicion names the current incarnation (and can be refuted again).
/// Oldest forgotten first; a forgotten agent is suspected at incarnation 0,
/// which its next refutation corrects.
pub(super) const INCARNATIONS_MAX: usize = 16;

/// Steps a membership rumour travels from the node that starts it: the
/// suspect's neighbours and their neighbours hear it (an active view is about
/// five), which is who probes it and who must hear its refutation.
pub(super) const RUMOUR_HOPS: u8 = 3;

/// Membership rumours remembered for duplicate suppression. A rumour is
/// forwarded once per (member, incarnation, state); 512 covers the rumours
/// of a partition that cuts a node off from its whole view, many times over.
pub(super) const RUMOURS_MAX: u32 = 512;

/// Domain separator for membership-update keys in the duplicate filter.
pub(super) const MEMBER_UPDATE_DOMAIN: u64 = 0x6d65_6d62_6572_5f75;

/// A probe in flight.
#[derive(Clone, Debug)]
pub(super) struct Probe<A> {
    pub(super) target: A,
    pub(super) seq: u16,
    pub(super) acked: bool,
}

/// A suspected agent.
#[derive(Clone, Debug)]
pub(super) struct Suspect<A> {
    pub(super) member: A,
    pub(super) incarnation: u32,
    pub(super) deadline: Time,
}

impl<A: Address> Node<A> {
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
