//! The hot path as a fixture: one warm node handling received gossip
//! datagrams, the same inputs for the criterion benches and the
//! instruction-count guard.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use colony_core::config::Config;
use colony_core::header::{CompactHeader, Flags, HEADER_LEN, HeaderFields};
use colony_core::node::{Input, Node};
use colony_core::rng::Rng;
use colony_core::time::Time;
use colony_core::{AgentId, MsgType, Priority, StandardChannel};

use zerocopy::FromBytes;

use crate::FIXTURE_PAYLOAD_LEN;

/// Fresh datagrams cycled through. Each is stamped with the current virtual
/// second when fed, so one that comes back (after 4,096 others: 8 s of
/// virtual time at a round per [`FRESH_PER_ROUND`]) is a new message, newer
/// than anything the duplicate filter forgot.
const FRESH_DATAGRAMS: usize = 4096;

/// The fixture's duplicate filter: the default 4,096 ids, not the
/// large-scale 64. A node refuses messages stamped no later than an id its
/// filter forgot; at the 500 new messages a second the fixture feeds, 64 ids
/// turn over within the second and every further one would be refused as
/// stale (the bound a million-agent run pays with its 64).
const FIXTURE_DEDUP: u32 = 4096;

/// Fresh datagrams between two gossip rounds: well under a round's work
/// budget (1,000 new messages at the large-scale configuration), so every
/// one takes the real path (accepted, delivered, stored, pushed at the next
/// round) instead of waiting in the backlog, where the 1,001st of a round
/// goes. The round's cost is shared by these datagrams, as in a real run.
const FRESH_PER_ROUND: usize = 100;

/// The fixture's message TTL: a day of virtual time, far beyond the rounds
/// any run of the fixture takes (one per [`FRESH_PER_ROUND`] datagrams), so
/// that no fresh message is dropped as expired.
const FIXTURE_TTL: Duration = Duration::from_secs(86_400);

/// A node of a million-agent push run, warmed up, and datagrams to feed it.
pub struct WarmNode {
    node: Node<u32>,
    duplicate: Vec<u8>,
    fresh: Vec<Vec<u8>>,
    next_fresh: usize,
    /// Fresh datagrams fed since the last round.
    fresh_this_round: usize,
    now: Time,
    buf: Vec<u8>,
}

fn datagram(origin: u64, seq: u16) -> Vec<u8> {
    let fields = HeaderFields {
        msg_type: MsgType::App,
        priority: Priority::Normal,
        seq,
        from: AgentId::from_index(origin),
        channel_hash: StandardChannel::Suggestions.hash(),
        timestamp_s: Config::default().epoch_unix_s,
        payload_len: FIXTURE_PAYLOAD_LEN as u16,
        flags: Flags::NONE,
        hops_remaining: 20,
    };
    let mut bytes = vec![0u8; HEADER_LEN + FIXTURE_PAYLOAD_LEN];
    CompactHeader::new(fields)
        .encode_with_payload(&[7u8; FIXTURE_PAYLOAD_LEN], &mut bytes)
        .expect("sized for the fixture");
    bytes
}

impl Default for WarmNode {
    fn default() -> Self {
        WarmNode::new()
    }
}

impl WarmNode {
    /// Agent 1 of a million, large-scale config, rate limit off (the bench
    /// feeds thousands of messages per virtual instant), Realtime attention
    /// (deliveries go straight to events, which the fixture drains).
    pub fn new() -> Self {
        let population = NonZeroU32::new(1_000_000).expect("non-zero");
        let config = Config {
            rate_per_s: 0,
            message_ttl: FIXTURE_TTL,
            dedup_capacity: FIXTURE_DEDUP,
            attention: colony_core::AttentionMode::Realtime,
            ..Config::large_scale(population)
        };
        let mut node = Node::new(
            AgentId::from_index(1),
            1,
            Arc::new(config),
            Rng::from_seed(1),
        );
        let duplicate = datagram(7, 1);
        let now = Time::from_ns(1_000_000);
        node.handle(
            now,
            Input::Datagram {
                source: 7,
                bytes: &duplicate,
            },
        )
        .expect("datagrams never fail");
        let fresh = (0..FRESH_DATAGRAMS)
            .map(|i| datagram(1000 + i as u64, i as u16))
            .collect();
        let mut warm = WarmNode {
            node,
            duplicate,
            fresh,
            next_fresh: 0,
            fresh_this_round: 0,
            now,
            buf: Vec::new(),
        };
        warm.drain();
        warm
    }

    fn drain(&mut self) {
        while self.node.poll_transmit(&mut self.buf).is_some() {}
        while self.node.poll_event().is_some() {}
    }

    /// Handles the duplicate of a message the node already has: parse,
    /// validate, duplicate check, forward decision. The common case of
    /// gossip (every delivery brings several duplicates).
    #[inline]
    pub fn duplicate(&mut self) {
        let bytes = &self.duplicate;
        let _ = self
            .node
            .handle(self.now, Input::Datagram { source: 9, bytes });
    }

    /// Handles a message the node has not seen: parse, validate, duplicate
    /// check, rate check, channel filter, delivery, store for forwarding,
    /// and its share of the gossip round that pushes it on (one round per
    /// [`FRESH_PER_ROUND`] datagrams).
    #[inline]
    pub fn fresh(&mut self) {
        let stamp = Config::default().epoch_unix_s + self.now.as_secs() as u32;
        if let Ok((header, _)) = CompactHeader::mut_from_prefix(&mut self.fresh[self.next_fresh]) {
            header.set_timestamp_s(stamp);
        }
        let bytes = &self.fresh[self.next_fresh];
        self.next_fresh = (self.next_fresh + 1) % FRESH_DATAGRAMS;
        let _ = self
            .node
            .handle(self.now, Input::Datagram { source: 9, bytes });
        self.drain();
        self.fresh_this_round += 1;
        if self.fresh_this_round == FRESH_PER_ROUND {
            self.fresh_this_round = 0;
            self.next_round();
        }
    }

    /// Advances to the next gossip round and runs it.
    fn next_round(&mut self) {
        self.now = self.now + self.node.config().gossip_interval;
        let _ = self.node.handle(self.now, Input::Timeout);
        self.drain();
    }

    /// Handles a SWIM ping and answers it (a control message).
    pub fn ping(&mut self) {
        let mut bytes = Vec::new();
        colony_core::control::Control::<u32>::Ping {
            relay: None,
            news: Vec::new(),
        }
        .encode_datagram(AgentId::from_index(9), 1, 0, &mut bytes);
        let _ = self.node.handle(
            self.now,
            Input::Datagram {
                source: 9,
                bytes: &bytes,
            },
        );
        self.drain();
    }

    /// Runs one gossip round that pushes the stored message (a timer).
    pub fn round(&mut self) {
        self.next_round();
        if self.node.poll_timeout().is_none() {
            // The message went cold after its push rounds: store a new one.
            self.fresh();
        }
    }

    /// Duplicates suppressed so far (the fixture checks it really ran the path).
    pub fn duplicates(&self) -> u64 {
        self.node
            .stats()
            .drops_of(colony_core::node::DropReason::Duplicate)
    }

    /// Messages delivered so far.
    pub fn delivered(&self) -> u64 {
        self.node.stats().delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_exercises_the_paths_it_names() {
        let mut warm = WarmNode::new();
        let before = warm.delivered();
        for _ in 0..10 {
            warm.duplicate();
        }
        assert_eq!(warm.duplicates(), 10);
        // Several rounds' work budgets' worth: none may wait in the backlog
        // and be dropped there (the path the bench measured before).
        for _ in 0..5_000 {
            warm.fresh();
        }
        assert_eq!(
            warm.delivered() - before,
            5_000,
            "every fresh datagram is delivered"
        );
        assert_eq!(
            warm.node
                .stats()
                .drops_of(colony_core::node::DropReason::BacklogOverflow),
            0
        );
        assert_eq!(
            warm.node
                .stats()
                .drops_of(colony_core::node::DropReason::Stale),
            0
        );
    }
}
