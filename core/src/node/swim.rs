//! SWIM as its authors (Das, Gupta, Motivala 2002) and memberlist run it:
//! the full-membership failure detector, an option beside the active-view
//! one ([`Detector::FullMembership`]). Every node knows every member. It
//! probes one member per protocol period, round-robin over a shuffled list
//! (a new member is slotted in at a random place still ahead); a probe
//! answered neither directly nor through `indirect_probes` others starts a
//! suspicion, whose timeout grows with log10 of the group; membership news
//! rides piggybacked on pings, acks and ping-reqs, each piece sent
//! `retransmit_mult · ceil(log10(n + 1))` times, fewest-sent first; and a
//! periodic state sync with one random member (memberlist's push-pull) fills
//! in what piggybacking misses, joins above all.
//!
//! Lifeguard (Dadgar, Phillips, Currey 2018), when on:
//! - **local health multiplier**: a node that misses acks or has to refute a
//!   suspicion of itself is more likely slow than its peers dead, so it
//!   stretches its own probe period and probe timeout by `1 + awareness`
//!   (awareness 0 to [`AWARENESS_MAX`], down one per answered probe);
//! - **dogpile**: a suspicion starts at [`SUSPICION_MAX_MULT`] times the
//!   shortest timeout and shrinks with each independent suspecter, down to
//!   the shortest once `suspicion_mult - 2` others agree;
//! - **buddy system**: a ping to a suspect carries the suspicion first, so
//!   the suspect hears it at once and refutes.
//!
//! Not modelled: Lifeguard's NACKs from indirect-probe helpers, the third
//! input of the health multiplier. The member table is O(n) per node, the
//! nature of this mode: use it to compare detectors at thousands of agents.
//!
//! Confirmed deaths reach HyParView's views as they do under the active-view
//! detector (forgotten, remembered as dead, the view topped up).

use super::timers::MemberTimer;
use super::{Event, Node, PeerChange};
use crate::address::Address;
use crate::config::{Detector, Swim};
use crate::control::{Control, MemberNews, MemberState, NEWS_PIGGYBACK_MAX, SYNC_CHUNK_MAX};
use crate::time::Time;

/// Highest local health score (memberlist's `AwarenessMaxMultiplier`):
/// probe period and timeout stretch at most ninefold.
pub(super) const AWARENESS_MAX: u8 = 8;

/// A Lifeguard suspicion starts at this multiple of the shortest timeout
/// (memberlist's `SuspicionMaxTimeoutMult`).
const SUSPICION_MAX_MULT: u32 = 6;

/// One member as this node knows it.
#[derive(Clone, Copy, Debug)]
struct Member<A> {
    addr: A,
    incarnation: u32,
    state: MemberState,
}

/// A member under suspicion.
#[derive(Clone, Debug)]
struct Suspicion<A> {
    member: A,
    incarnation: u32,
    started: Time,
    deadline: Time,
    /// Distinct members known to suspect it, the first one included.
    suspecters: Vec<A>,
}

/// News waiting to be piggybacked, with how often it was.
#[derive(Clone, Copy, Debug)]
struct Queued<A> {
    news: MemberNews<A>,
    transmits: u32,
}

/// Full-membership SWIM state of one node.
#[derive(Clone, Debug)]
pub(super) struct SwimState<A> {
    /// Every member but this node, by address.
    members: Vec<Member<A>>,
    /// Probe order: a shuffled copy of the members, walked by `cursor`.
    order: Vec<A>,
    cursor: usize,
    suspicions: Vec<Suspicion<A>>,
    /// At most one piece of news per member (newer news replaces older).
    queue: Vec<Queued<A>>,
    /// Lifeguard's local health score.
    pub(super) awareness: u8,
}

impl<A> Default for SwimState<A> {
    fn default() -> Self {
        SwimState {
            members: Vec::new(),
            order: Vec::new(),
            cursor: 0,
            suspicions: Vec::new(),
            queue: Vec::new(),
            awareness: 0,
        }
    }
}

impl<A: Address> SwimState<A> {
    pub(super) fn heap_bytes(&self) -> usize {
        self.members.capacity() * size_of::<Member<A>>()
            + self.order.capacity() * size_of::<A>()
            + self
                .suspicions
                .iter()
                .map(|s| size_of::<Suspicion<A>>() + s.suspecters.capacity() * size_of::<A>())
                .sum::<usize>()
            + self.queue.capacity() * size_of::<Queued<A>>()
    }

    fn find(&self, addr: A) -> Result<usize, usize> {
        self.members.binary_search_by(|m| m.addr.cmp(&addr))
    }

    fn get(&self, addr: A) -> Option<&Member<A>> {
        self.find(addr).ok().map(|i| &self.members[i])
    }

    /// Members not confirmed dead, this node included: the `n` of SWIM's
    /// formulas.
    fn group_size(&self) -> usize {
        1 + self
            .members
            .iter()
            .filter(|m| m.state != MemberState::Dead)
            .count()
    }

    fn queue_news(&mut self, news: MemberNews<A>) {
        self.queue.retain(|q| q.news.member != news.member);
        self.queue.push(Queued { news, transmits: 0 });
    }
}

/// Independent suspecters beyond the first after which a Lifeguard
/// suspicion reaches its shortest timeout (memberlist: `suspicion_mult - 2`,
/// none in a group too small to supply them).
fn suspecters_expected(swim: Swim, n: usize) -> usize {
    let expected = usize::from(swim.suspicion_mult.saturating_sub(2));
    if n.saturating_sub(2) < expected {
        0
    } else {
        expected
    }
}

/// `max(1, log10 n)`: SWIM's timeouts grow with the decades of the group.
fn decades(n: usize) -> f64 {
    (n.max(1) as f64).log10().max(1.0)
}

impl<A: Address> Node<A> {
    /// The full-membership parameters, when that detector runs.
    pub(super) fn swim_config(&self) -> Option<Swim> {
        match self.config.detector {
            Detector::FullMembership(swim) if self.config.failure_detection => Some(swim),
            _ => None,
        }
    }

    fn swim(&mut self) -> &mut SwimState<A> {
        self.membership_state()
            .swim
            .get_or_insert_with(Box::default)
    }

    /// Lifeguard's multiplier of the probe period and timeout (1 without).
    pub(super) fn health_multiplier(&self) -> u32 {
        let lifeguard = self.swim_config().is_some_and(|s| s.lifeguard);
        let awareness = self
            .membership
            .as_ref()
            .and_then(|m| m.swim.as_ref())
            .map_or(0, |s| s.awareness);
        if lifeguard {
            1 + u32::from(awareness)
        } else {
            1
        }
    }

    fn adjust_awareness(&mut self, up: bool) {
        if !self.swim_config().is_some_and(|s| s.lifeguard) {
            return;
        }
        let s = self.swim();
        s.awareness = if up {
            (s.awareness + 1).min(AWARENESS_MAX)
        } else {
            s.awareness.saturating_sub(1)
        };
    }

    /// Joining: the contacts are members; this node announces itself and
    /// asks the first contact for its member list.
    pub(super) fn swim_join(&mut self, contacts: &[A]) {
        for contact in contacts {
            self.swim_learn(*contact);
        }
        let me = self.own_news();
        self.swim().queue_news(me);
        self.send_control(
            contacts[0],
            &Control::MemberSync {
                reply: true,
                members: vec![me],
            },
        );
    }

    fn own_news(&self) -> MemberNews<A> {
        MemberNews {
            member: self.addr,
            incarnation: self.membership.as_ref().map_or(0, |m| m.incarnation),
            state: MemberState::Alive,
            from: self.addr,
        }
    }

    /// `peer` spoke to this node: a member, alive. Unknown, it is added; a
    /// member confirmed dead that speaks again (a restart) is taken back.
    pub(super) fn swim_learn(&mut self, peer: A) {
        if peer == self.addr {
            return;
        }
        let s = self.swim();
        match s.find(peer) {
            Ok(i) => {
                if s.members[i].state == MemberState::Dead {
                    s.members[i].state = MemberState::Alive;
                    self.slot_into_order(peer);
                }
            }
            Err(i) => {
                s.members.insert(
                    i,
                    Member {
                        addr: peer,
                        incarnation: 0,
                        state: MemberState::Alive,
                    },
                );
                self.slot_into_order(peer);
            }
        }
    }

    /// Puts a new member at a random place of the probe order still ahead
    /// of the cursor (SWIM: probed within this cycle).
    fn slot_into_order(&mut self, peer: A) {
        let ahead = {
            let s = self.swim();
            s.order.len() - s.cursor.min(s.order.len())
        };
        let offset = self.rng.index(ahead + 1);
        let s = self.swim();
        let at = s.cursor.min(s.order.len()) + offset;
        s.order.insert(at, peer);
    }

    /// News to piggyback on a probe message to `to` (none under the
    /// active-view detector): under Lifeguard the suspicion of `to` first
    /// (buddy system), then the news sent least often. News sent its full
    /// count is dropped.
    pub(super) fn news_for(&mut self, to: A) -> Vec<MemberNews<A>> {
        let Some(swim) = self.swim_config() else {
            return Vec::new();
        };
        let addr = self.addr;
        let s = self.swim();
        let limit = u32::from(swim.retransmit_mult)
            * ((s.group_size() + 1) as f64).log10().ceil().max(1.0) as u32;
        let mut out = Vec::with_capacity(NEWS_PIGGYBACK_MAX);
        if swim.lifeguard
            && let Some(suspicion) = s.suspicions.iter().find(|x| x.member == to)
        {
            out.push(MemberNews {
                member: to,
                incarnation: suspicion.incarnation,
                state: MemberState::Suspect,
                from: addr,
            });
        }
        let mut picks: Vec<usize> = (0..s.queue.len()).collect();
        // Fewest sends first; among equals the newest (latest queued).
        picks.sort_by_key(|&i| (s.queue[i].transmits, core::cmp::Reverse(i)));
        for &i in picks.iter().take(NEWS_PIGGYBACK_MAX - out.len()) {
            if out.iter().any(|n| n.member == s.queue[i].news.member) {
                continue;
            }
            out.push(s.queue[i].news);
            s.queue[i].transmits += 1;
        }
        s.queue.retain(|q| q.transmits < limit);
        out
    }

    /// The probe timer: judges the last probe (unanswered: suspect its
    /// target), then pings the next member in the order.
    pub(super) fn swim_probe_timer(&mut self, now: Time, last: Option<(A, bool)>) {
        if let Some((target, acked)) = last {
            self.adjust_awareness(!acked);
            if !acked {
                let incarnation = self.swim().get(target).map_or(0, |m| m.incarnation);
                let me = self.addr;
                self.swim_suspect(now, target, incarnation, me);
            }
        }
        let Some(target) = self.next_probe_target() else {
            return;
        };
        let seq = self.next_seq();
        self.membership_state().probe = Some(super::detection::Probe {
            target,
            seq,
            acked: false,
        });
        let news = self.news_for(target);
        self.send_control_with_seq(target, &Control::Ping { relay: None, news }, seq);
        let deadline = now + self.config.probe_timeout * self.health_multiplier();
        self.member_timers()
            .set(MemberTimer::ProbeTimeout, deadline);
    }

    /// The next live member of the probe order; a finished order is
    /// reshuffled (SWIM's round-robin over a random permutation).
    fn next_probe_target(&mut self) -> Option<A> {
        for _ in 0..2 {
            loop {
                let s = self.swim();
                let Some(&candidate) = s.order.get(s.cursor) else {
                    break;
                };
                s.cursor += 1;
                if s.get(candidate)
                    .is_some_and(|m| m.state != MemberState::Dead)
                {
                    return Some(candidate);
                }
            }
            let s = self.swim();
            let mut order: Vec<A> = s
                .members
                .iter()
                .filter(|m| m.state != MemberState::Dead)
                .map(|m| m.addr)
                .collect();
            for i in (1..order.len()).rev() {
                let j = self.rng.index(i + 1);
                order.swap(i, j);
            }
            let s = self.swim();
            s.order = order;
            s.cursor = 0;
        }
        None
    }

    /// The direct probe went unanswered: ask `indirect_probes` random live
    /// members to probe the target.
    pub(super) fn swim_probe_timeout(&mut self, target: A, seq: u16) {
        let others: Vec<A> = self
            .swim()
            .members
            .iter()
            .filter(|m| m.state != MemberState::Dead && m.addr != target)
            .map(|m| m.addr)
            .collect();
        let helpers = self.sample(&others, usize::from(self.config.indirect_probes));
        for helper in helpers {
            let news = self.news_for(helper);
            self.send_control_with_seq(helper, &Control::PingReq { target, news }, seq);
        }
    }

    /// Suspicion timeout with `others` independent suspecters beyond the
    /// first: SWIM's fixed `suspicion_mult · max(1, log10 n) · period`, or
    /// under Lifeguard from six times that down to it as others agree.
    fn suspicion_timeout_ns(&mut self, swim: Swim, others: usize) -> u64 {
        let n = self.swim().group_size();
        let period_ns = crate::time::duration_ns(self.config.probe_interval) as f64;
        let min = f64::from(swim.suspicion_mult) * decades(n) * period_ns;
        if !swim.lifeguard {
            return min as u64;
        }
        let max = min * f64::from(SUSPICION_MAX_MULT);
        let expected = suspecters_expected(swim, n);
        if expected == 0 {
            return min as u64;
        }
        let fraction = ((others + 1) as f64).ln() / ((expected + 1) as f64).ln();
        (max - (max - min) * fraction).max(min) as u64
    }

    /// `from` suspects `member` at `incarnation`: start a suspicion, or
    /// count an independent suspecter of one under way.
    fn swim_suspect(&mut self, now: Time, member: A, incarnation: u32, from: A) {
        let Some(swim) = self.swim_config() else {
            return;
        };
        let news = MemberNews {
            member,
            incarnation,
            state: MemberState::Suspect,
            from,
        };
        let s = self.swim();
        let Some(known) = s.get(member).copied() else {
            return;
        };
        if known.state == MemberState::Dead || incarnation < known.incarnation {
            return;
        }
        if let Some(i) = s.suspicions.iter().position(|x| x.member == member) {
            let expected = suspecters_expected(swim, s.group_size());
            let x = &s.suspicions[i];
            if x.suspecters.contains(&from) || x.suspecters.len() > expected {
                return;
            }
            s.suspicions[i].suspecters.push(from);
            let others = s.suspicions[i].suspecters.len() - 1;
            let started = s.suspicions[i].started;
            let timeout = self.suspicion_timeout_ns(swim, others);
            let s = self.swim();
            // A shorter timeout may already have passed: due now, not in
            // the past.
            let deadline = started + core::time::Duration::from_nanos(timeout);
            s.suspicions[i].deadline = deadline.max(now);
            s.queue_news(news);
            self.arm_swim_suspicion_timer();
            return;
        }
        let timeout = self.suspicion_timeout_ns(swim, 0);
        let s = self.swim();
        if let Ok(i) = s.find(member) {
            s.members[i].state = MemberState::Suspect;
            s.members[i].incarnation = incarnation;
        }
        s.suspicions.push(Suspicion {
            member,
            incarnation,
            started: now,
            deadline: now + core::time::Duration::from_nanos(timeout),
            suspecters: vec![from],
        });
        s.queue_news(news);
        self.events.push_back(Event::Peer {
            peer: member,
            change: PeerChange::Suspected,
        });
        self.arm_swim_suspicion_timer();
    }

    fn arm_swim_suspicion_timer(&mut self) {
        let next = self
            .membership
            .as_ref()
            .and_then(|m| m.swim.as_ref())
            .and_then(|s| s.suspicions.iter().map(|x| x.deadline).min());
        self.set_member_timer(MemberTimer::Suspicion, next);
    }

    /// Confirms every suspect whose deadline passed.
    pub(super) fn swim_suspicion_timer(&mut self, now: Time) {
        let s = self.swim();
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut s.suspicions)
            .into_iter()
            .partition(|x| x.deadline <= now);
        s.suspicions = waiting;
        for suspicion in due {
            let me = self.addr;
            self.swim_confirm_dead(suspicion.member, suspicion.incarnation, me, true);
        }
        self.arm_swim_suspicion_timer();
    }

    /// Marks `member` dead at `incarnation` and spreads it; `failed` says
    /// whether it failed (an event for the host) rather than left.
    fn swim_confirm_dead(&mut self, member: A, incarnation: u32, from: A, failed: bool) {
        let s = self.swim();
        let Ok(i) = s.find(member) else {
            return;
        };
        if s.members[i].state == MemberState::Dead || incarnation < s.members[i].incarnation {
            return;
        }
        s.members[i].state = MemberState::Dead;
        s.members[i].incarnation = incarnation;
        s.suspicions.retain(|x| x.member != member);
        s.queue_news(MemberNews {
            member,
            incarnation,
            state: MemberState::Dead,
            from,
        });
        self.forget_dead(member);
        if failed {
            self.events.push_back(Event::Peer {
                peer: member,
                change: PeerChange::Failed,
            });
        }
        self.arm_swim_suspicion_timer();
        self.maintain_active_view();
    }

    /// A suspicion or death notice of this node: refute it with a higher
    /// incarnation (and, under Lifeguard, take it as a sign of ill health).
    fn swim_refute(&mut self, incarnation: u32) {
        let m = self.membership_state();
        if incarnation < m.incarnation {
            return;
        }
        m.incarnation = incarnation + 1;
        let me = self.own_news();
        self.swim().queue_news(me);
        self.adjust_awareness(true);
    }

    /// Applies one piece of news by SWIM's rules: a higher incarnation
    /// overrides; at one incarnation, dead overrides suspect overrides alive.
    pub(super) fn apply_news(&mut self, now: Time, news: MemberNews<A>) {
        if self.swim_config().is_none() {
            return;
        }
        if news.member == self.addr {
            if news.state != MemberState::Alive {
                self.swim_refute(news.incarnation);
            }
            return;
        }
        match news.state {
            MemberState::Alive => self.swim_alive(news),
            MemberState::Suspect => {
                self.swim_suspect(now, news.member, news.incarnation, news.from)
            }
            MemberState::Dead => {
                self.swim_confirm_dead(news.member, news.incarnation, news.from, true)
            }
        }
    }

    fn swim_alive(&mut self, news: MemberNews<A>) {
        let s = self.swim();
        match s.find(news.member) {
            Err(_) => {
                self.swim_learn(news.member);
                let s = self.swim();
                if let Ok(i) = s.find(news.member) {
                    s.members[i].incarnation = news.incarnation;
                }
                s.queue_news(news);
            }
            Ok(i) => {
                if news.incarnation <= s.members[i].incarnation {
                    return;
                }
                let was = s.members[i].state;
                s.members[i].incarnation = news.incarnation;
                s.members[i].state = MemberState::Alive;
                s.suspicions.retain(|x| x.member != news.member);
                s.queue_news(news);
                match was {
                    MemberState::Suspect => {
                        self.events.push_back(Event::Peer {
                            peer: news.member,
                            change: PeerChange::Alive,
                        });
                        self.arm_swim_suspicion_timer();
                    }
                    MemberState::Dead => self.slot_into_order(news.member),
                    MemberState::Alive => {}
                }
            }
        }
    }

    /// The sync timer: send the whole member list to one random live
    /// member, which answers with its own.
    pub(super) fn swim_sync_timer(&mut self) {
        let live: Vec<A> = self
            .swim()
            .members
            .iter()
            .filter(|m| m.state != MemberState::Dead)
            .map(|m| m.addr)
            .collect();
        if live.is_empty() {
            return;
        }
        let peer = live[self.rng.index(live.len())];
        self.send_member_list(peer, true);
    }

    /// Sends this node's member list (itself included) in chunks; `reply`
    /// rides on the first chunk only.
    fn send_member_list(&mut self, to: A, reply: bool) {
        let me = self.own_news();
        let mut list = vec![me];
        list.extend(self.swim().members.iter().map(|m| MemberNews {
            member: m.addr,
            incarnation: m.incarnation,
            state: m.state,
            from: me.member,
        }));
        for (n, chunk) in list.chunks(SYNC_CHUNK_MAX).enumerate() {
            let sync = Control::MemberSync {
                reply: reply && n == 0,
                members: chunk.to_vec(),
            };
            self.send_control(to, &sync);
        }
    }

    /// A chunk of a peer's member list: merged as news; answered with this
    /// node's list when asked.
    pub(super) fn on_member_sync(
        &mut self,
        now: Time,
        source: A,
        reply: bool,
        members: Vec<MemberNews<A>>,
    ) {
        if self.swim_config().is_none() {
            return;
        }
        for news in members {
            self.apply_news(now, news);
        }
        if reply {
            self.send_member_list(source, false);
        }
    }

    /// A member left gracefully: dead at once, no suspicion.
    pub(super) fn swim_on_leave(&mut self, source: A) {
        if self.swim_config().is_none() {
            return;
        }
        let incarnation = self.swim().get(source).map_or(0, |m| m.incarnation);
        self.swim_confirm_dead(source, incarnation, source, false);
    }
}
