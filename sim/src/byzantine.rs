//! Byzantine behaviours: each wraps an **unmodified** honest [`Node`] and
//! rewrites what goes in or out of it. The core never learns that it is
//! Byzantine; the engine applies the wrapper around it.
//!
//! | behaviour | what the wrapper does |
//! |-----------|------------------------|
//! | silent | drops everything the node receives and sends |
//! | selective | drops a share of the application datagrams it sends (or all of one channel); membership traffic passes, so it stays in its neighbours' views |
//! | flood | makes the node broadcast junk at `rate` messages per second |
//! | forge | rewrites the origin of every application datagram it sends to `victim`'s id |
//! | corrupt | flips one payload byte of a share of the application datagrams it sends |
//! | equivocate | gives each peer a different payload under the same message id, for messages it originates, each signed with its own key (signatures do not stop it; peers that hold one version and receive another see it: `equivocation` drops) |
//! | replay | sends every application datagram again `delay` later |
//! | delay | holds every datagram for `delay` before sending it |
//! | eclipse | colluders keep asking `victim` to make them active neighbours (with the high priority it must accept), fill its passive view with each other through shuffles, and drop every application datagram to it |
//!
//! Every random choice is a pure hash of (seed, agent, target, sequence),
//! like the network's, so Byzantine runs stay deterministic on any number
//! of threads.

use colony_core::AgentId;
use colony_core::control::Control;
use colony_core::header::{CompactHeader, HEADER_LEN};
use colony_core::msg_type::MsgType;
use colony_core::rng::mix64;
use colony_core::signing::{SeededKeys, sign_again};

use crate::agent_set::AgentSet;
use crate::ratio::Ratio;

/// Offset and length of the header's `from` field (see the header's
/// layout table), which forge rewrites.
const FROM_OFFSET: usize = 4;
const FROM_LEN: usize = 16;

/// What a Byzantine agent does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Drops every input and every output.
    Silent,
    /// Drops a share of its outgoing application datagrams, or, with
    /// `channel`, every one of that channel.
    Selective {
        /// Share dropped.
        share: Ratio,
        /// Only this channel (all of it).
        channel: Option<u32>,
    },
    /// Broadcasts junk at this many messages per second.
    Flood {
        /// Messages per second.
        per_s: u32,
    },
    /// Claims `victim` as the origin of everything it sends.
    Forge {
        /// The agent impersonated.
        victim: u32,
    },
    /// Flips one payload byte of a share of its application datagrams.
    Corrupt {
        /// Share corrupted.
        share: Ratio,
    },
    /// Different payloads to different peers under one message id.
    Equivocate,
    /// Sends every application datagram a second time, `delay_ns` later.
    Replay {
        /// Delay of the copy.
        delay_ns: u64,
    },
    /// Holds every datagram for `delay_ns`.
    Delay {
        /// Added latency.
        delay_ns: u64,
    },
    /// Colludes with the other eclipse agents against `victim`.
    Eclipse {
        /// The agent isolated.
        victim: u32,
    },
}

impl Behaviour {
    /// The name used in scenarios and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Behaviour::Silent => "silent",
            Behaviour::Selective { .. } => "selective",
            Behaviour::Flood { .. } => "flood",
            Behaviour::Forge { .. } => "forge",
            Behaviour::Corrupt { .. } => "corrupt",
            Behaviour::Equivocate => "equivocate",
            Behaviour::Replay { .. } => "replay",
            Behaviour::Delay { .. } => "delay",
            Behaviour::Eclipse { .. } => "eclipse",
        }
    }
}

/// Agents that behave one way from a time on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByzantineGroup {
    /// The agents.
    pub agents: AgentSet,
    /// What they do.
    pub behaviour: Behaviour,
    /// From when, virtual ns (honest before).
    pub from_ns: u64,
}

/// Every Byzantine agent of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Adversary {
    groups: Vec<ByzantineGroup>,
    all: AgentSet,
}

impl Adversary {
    /// The adversary of these groups (an agent in several groups behaves as
    /// the first one says).
    pub fn new(groups: Vec<ByzantineGroup>) -> Self {
        let all = AgentSet::from_ranges(
            groups
                .iter()
                .flat_map(|g| g.agents.iter().map(|a| (a, a + 1)))
                .collect(),
        );
        Adversary { groups, all }
    }

    /// Whether the run has no Byzantine agent.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The groups.
    pub fn groups(&self) -> &[ByzantineGroup] {
        &self.groups
    }

    /// Every agent that is Byzantine at some point (excluded from honest
    /// coverage).
    pub fn agents(&self) -> &AgentSet {
        &self.all
    }

    /// What `agent` does at `t_ns`, if it is Byzantine by then.
    #[inline]
    pub fn behaviour(&self, agent: u32, t_ns: u64) -> Option<&Behaviour> {
        if self.groups.is_empty() || !self.all.contains(agent) {
            return None;
        }
        self.groups
            .iter()
            .find(|g| g.from_ns <= t_ns && g.agents.contains(agent))
            .map(|g| &g.behaviour)
    }
}

/// What the wrapper does with one outgoing datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// Send it as (possibly) rewritten.
    Send,
    /// Drop it.
    Drop,
    /// Send it after this much extra delay.
    Delay(u64),
    /// Send it now and a copy this much later.
    Twice(u64),
}

/// Identity of one outgoing datagram, for the wrapper's random choices.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    /// The run's seed.
    pub seed: u64,
    /// The Byzantine agent.
    pub agent: u32,
    /// The receiver.
    pub target: u32,
    /// The agent's datagram counter.
    pub seq: u32,
}

impl Link {
    fn bits(&self) -> u64 {
        mix64(
            self.seed
                ^ mix64(
                    crate::streams::BYZANTINE
                        ^ (u64::from(self.agent) << 32)
                        ^ u64::from(self.target),
                )
                ^ u64::from(self.seq),
        )
    }
}

/// Whether `bytes` is an application datagram (not membership or gossip
/// control), and its header.
fn application(bytes: &[u8]) -> Option<&CompactHeader> {
    let (header, _) = CompactHeader::parse(bytes).ok()?;
    MsgType::is_application_code(header.msg_type_code()).then_some(header)
}

/// Whether the wrapper drops every input of the agent.
pub fn drops_inputs(behaviour: &Behaviour) -> bool {
    matches!(behaviour, Behaviour::Silent)
}

/// Applies `behaviour` to one outgoing datagram, rewriting `bytes` in place.
pub fn outgoing(behaviour: &Behaviour, link: Link, bytes: &mut [u8]) -> Outgoing {
    match behaviour {
        Behaviour::Silent => Outgoing::Drop,
        Behaviour::Selective { share, channel } => match application(bytes) {
            Some(header) => {
                let hit = match channel {
                    Some(c) => header.channel_hash() == *c,
                    None => share.hit(link.bits()),
                };
                if hit { Outgoing::Drop } else { Outgoing::Send }
            }
            None => Outgoing::Send,
        },
        Behaviour::Forge { victim } => {
            if application(bytes).is_some() {
                let id = AgentId::from_index(u64::from(*victim));
                bytes[FROM_OFFSET..FROM_OFFSET + FROM_LEN].copy_from_slice(id.as_bytes());
            }
            Outgoing::Send
        }
        Behaviour::Corrupt { share } => {
            if let Some(header) = application(bytes)
                && header.payload_len() > 0
                && share.hit(link.bits())
            {
                let bits = link.bits();
                let at = HEADER_LEN + (bits >> 8) as usize % usize::from(header.payload_len());
                bytes[at] ^= 1 << (bits % 8);
            }
            Outgoing::Send
        }
        Behaviour::Equivocate => {
            if let Some(header) = application(bytes)
                && header.from() == AgentId::from_index(u64::from(link.agent))
                && header.payload_len() > 0
            {
                // The last payload byte differs per receiver: the same id
                // carries a different message to each peer. The origin holds
                // its key, so a signed message is signed again: every
                // version verifies.
                let last = HEADER_LEN + usize::from(header.payload_len()) - 1;
                bytes[last] ^= (link.target as u8) | 1;
                let key = SeededKeys::signing_key(link.seed, u64::from(link.agent));
                sign_again(&key, bytes);
            }
            Outgoing::Send
        }
        Behaviour::Replay { delay_ns } => match application(bytes) {
            Some(_) => Outgoing::Twice(*delay_ns),
            None => Outgoing::Send,
        },
        Behaviour::Delay { delay_ns } => Outgoing::Delay(*delay_ns),
        Behaviour::Eclipse { victim } => {
            if link.target == *victim && application(bytes).is_some() {
                Outgoing::Drop
            } else {
                Outgoing::Send
            }
        }
        Behaviour::Flood { .. } => Outgoing::Send,
    }
}

/// Colluders an eclipse shuffle names: enough to replace a good part of a
/// passive view (30 by default) within a few shuffles.
pub const ECLIPSE_SHUFFLE_PEERS: usize = 8;

/// The datagram an eclipse colluder sends its victim every shuffle: a
/// high-priority neighbour request, which HyParView must accept (evicting
/// an honest neighbour when its active view is full).
pub fn eclipse_request(agent: u32, seq: u16) -> Vec<u8> {
    control_datagram(
        agent,
        seq,
        &Control::<u32>::Neighbor {
            high_priority: true,
        },
    )
}

/// The second datagram of every eclipse tick: a shuffle that has ended its
/// walk (ttl 0) at the victim, naming only colluders, so that the victim's
/// passive view — where it looks for replacements and, with push-pull,
/// for anti-entropy partners — fills with them too.
pub fn eclipse_shuffle(agent: u32, seq: u16, colluders: &[u32]) -> Vec<u8> {
    let mut peers = vec![agent];
    peers.extend(colluders.iter().filter(|c| **c != agent));
    control_datagram(
        agent,
        seq,
        &Control::Shuffle {
            origin: agent,
            ttl: 0,
            peers,
        },
    )
}

/// The colluders an eclipse shuffle from `agent` names at its `tick`-th
/// shuffle: up to [`ECLIPSE_SHUFFLE_PEERS`] members of its group, starting
/// at a rotating offset so that every member gets named over time.
pub fn eclipse_colluders(adversary: &Adversary, agent: u32, tick: u32) -> Vec<u32> {
    let Some(group) = adversary
        .groups()
        .iter()
        .find(|g| matches!(g.behaviour, Behaviour::Eclipse { .. }) && g.agents.contains(agent))
    else {
        return Vec::new();
    };
    let members: Vec<u32> = group.agents.iter().collect();
    let start = tick as usize * ECLIPSE_SHUFFLE_PEERS;
    (0..ECLIPSE_SHUFFLE_PEERS.min(members.len()))
        .map(|i| members[(start + i) % members.len()])
        .collect()
}

/// A direct, critical control datagram from `agent`.
fn control_datagram(agent: u32, seq: u16, control: &Control<u32>) -> Vec<u8> {
    let mut bytes = Vec::new();
    control.encode_datagram(AgentId::from_index(u64::from(agent)), seq, 0, &mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use colony_core::header::{Flags, HeaderFields};
    use colony_core::priority::Priority;

    fn app_datagram(from: u32) -> Vec<u8> {
        let payload = [7u8; 8];
        let header = CompactHeader::new(HeaderFields {
            msg_type: MsgType::App,
            priority: Priority::Normal,
            seq: 1,
            from: AgentId::from_index(u64::from(from)),
            channel_hash: 9,
            timestamp_s: 1,
            payload_len: 8,
            flags: Flags::NONE,
            hops_remaining: 5,
        });
        let mut bytes = vec![0u8; HEADER_LEN + 8];
        header.encode_with_payload(&payload, &mut bytes).unwrap();
        bytes
    }

    fn link(target: u32) -> Link {
        Link {
            seed: 1,
            agent: 3,
            target,
            seq: 0,
        }
    }

    #[test]
    fn forge_rewrites_the_origin_and_corrupt_flips_one_payload_bit() {
        let mut bytes = app_datagram(3);
        outgoing(&Behaviour::Forge { victim: 8 }, link(1), &mut bytes);
        let (header, _) = CompactHeader::parse(&bytes).unwrap();
        assert_eq!(header.from(), AgentId::from_index(8));

        let original = app_datagram(3);
        let mut bytes = original.clone();
        let all = Ratio::new(1, 1).unwrap();
        outgoing(&Behaviour::Corrupt { share: all }, link(1), &mut bytes);
        let flipped: u32 = bytes
            .iter()
            .zip(&original)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        assert_eq!(flipped, 1);
        assert_eq!(bytes[..HEADER_LEN], original[..HEADER_LEN], "header intact");
    }

    #[test]
    fn equivocation_differs_per_receiver_and_leaves_relayed_messages_alone() {
        let (mut a, mut b) = (app_datagram(3), app_datagram(3));
        outgoing(&Behaviour::Equivocate, link(1), &mut a);
        outgoing(&Behaviour::Equivocate, link(2), &mut b);
        assert_ne!(a, b);
        assert_eq!(a[..HEADER_LEN], b[..HEADER_LEN], "same id");
        let mut relayed = app_datagram(5);
        outgoing(&Behaviour::Equivocate, link(1), &mut relayed);
        assert_eq!(relayed, app_datagram(5));
    }

    #[test]
    fn selective_and_eclipse_drop_data_but_let_membership_through() {
        let neighbor = eclipse_request(3, 1);
        let half = Ratio::new(1, 2).unwrap();
        let selective = Behaviour::Selective {
            share: half,
            channel: None,
        };
        let mut control = neighbor.clone();
        assert_eq!(outgoing(&selective, link(1), &mut control), Outgoing::Send);
        let dropped = (0..1000)
            .filter(|s| {
                let l = Link { seq: *s, ..link(1) };
                outgoing(&selective, l, &mut app_datagram(3)) == Outgoing::Drop
            })
            .count();
        assert!((400..600).contains(&dropped), "{dropped} of 1000");
        let eclipse = Behaviour::Eclipse { victim: 1 };
        assert_eq!(
            outgoing(&eclipse, link(1), &mut app_datagram(3)),
            Outgoing::Drop
        );
        assert_eq!(
            outgoing(&eclipse, link(2), &mut app_datagram(3)),
            Outgoing::Send
        );
        assert_eq!(outgoing(&eclipse, link(1), &mut control), Outgoing::Send);
    }

    #[test]
    fn an_agent_is_byzantine_only_from_its_start_and_only_in_its_group() {
        let adversary = Adversary::new(vec![ByzantineGroup {
            agents: AgentSet::from_ranges(vec![(10, 20)]),
            behaviour: Behaviour::Silent,
            from_ns: 100,
        }]);
        assert_eq!(adversary.behaviour(15, 99), None);
        assert_eq!(adversary.behaviour(15, 100), Some(&Behaviour::Silent));
        assert_eq!(adversary.behaviour(20, 100), None);
        assert_eq!(adversary.agents().len(), 10);
        assert!(Adversary::default().behaviour(15, 100).is_none());
    }
}
