//! Property: any sequence of inputs — random bytes, valid application and
//! control datagrams, timeouts and commands — never panics a node and never
//! grows any of its structures past its bound.

mod driver;

use std::num::{NonZeroU8, NonZeroU16};
use std::sync::Arc;
use std::time::Duration;

use colony_core::channel::{Channel, StandardChannel};
use colony_core::config::{
    Config, Detector, LossOfInterest, StopRule, Strategy as Dissemination, Swim,
};
use colony_core::control::{Control, MemberNews, MemberState};
use colony_core::header::{CompactHeader, Flags, HEADER_LEN, HeaderFields};
use colony_core::message::MessageId;
use colony_core::node::{Command, Input, Node};
use colony_core::payload::{Payload, Query};
use colony_core::priority::AttentionMode;
use colony_core::rng::Rng;
use colony_core::time::Time;
use colony_core::{AgentId, MsgType, Priority};
use proptest::prelude::*;

/// Peers the generated inputs name: few, so that views fill and collide.
const PEERS: u32 = 8;

fn small_config(strategy: Dissemination) -> Config {
    Config {
        strategy,
        active_view_max: NonZeroU8::new(3).unwrap(),
        passive_view_max: NonZeroU8::new(4).unwrap(),
        rate_table_max: 3,
        inbox_max: 3,
        backlog_max: 3,
        work_per_round_max: NonZeroU16::new(2).unwrap(),
        sends_per_round_max: NonZeroU16::new(4).unwrap(),
        dedup_capacity: 8,
        store_max: 4,
        requests_pending_max: 2,
        digest_interval: Duration::from_secs(2),
        ..Config::default()
    }
}

/// Either failure detector; full membership with and without Lifeguard.
fn detector() -> impl Strategy<Value = Detector> {
    prop_oneof![
        Just(Detector::ActiveView),
        any::<bool>().prop_map(|lifeguard| Detector::FullMembership(Swim {
            lifeguard,
            sync_interval: Duration::from_secs(3),
            ..Swim::default()
        })),
    ]
}

fn strategy() -> impl Strategy<Value = Dissemination> {
    let nz = |n| NonZeroU8::new(n).unwrap();
    prop::sample::select(vec![
        Dissemination::Push { fanout: nz(2) },
        Dissemination::Pull,
        Dissemination::PushPull { fanout: nz(1) },
        Dissemination::Rumor {
            fanout: nz(2),
            loss: LossOfInterest::Feedback,
            stop: StopRule::Counter,
            k: nz(2),
        },
        Dissemination::Rumor {
            fanout: nz(1),
            loss: LossOfInterest::Blind,
            stop: StopRule::Coin,
            k: nz(3),
        },
        Dissemination::Plumtree {
            repair_after: Duration::from_millis(100),
        },
    ])
}

fn id() -> impl Strategy<Value = MessageId> {
    (0u64..4, 0u32..3, 0u16..6).prop_map(|(from, t, seq)| MessageId {
        from: AgentId::from_index(from),
        timestamp_s: Config::default().epoch_unix_s + t,
        seq,
    })
}

fn member_state() -> impl Strategy<Value = MemberState> {
    prop::sample::select(vec![
        MemberState::Alive,
        MemberState::Suspect,
        MemberState::Dead,
    ])
}

/// One piece of full-membership SWIM news.
fn news_item() -> impl Strategy<Value = MemberNews<u32>> {
    (0..PEERS, 0u32..3, member_state(), 0..PEERS).prop_map(|(member, incarnation, state, from)| {
        MemberNews {
            member,
            incarnation,
            state,
            from,
        }
    })
}

/// Piggybacked news, as often none as some.
fn news() -> impl Strategy<Value = Vec<MemberNews<u32>>> {
    prop::collection::vec(news_item(), 0..3)
}

fn control() -> impl Strategy<Value = Control<u32>> {
    let peer = || 0..PEERS;
    let peers = || prop::collection::vec(0..PEERS, 0..6);
    let state = member_state();
    prop_oneof![
        Just(Control::Join),
        (peer(), 0u8..8).prop_map(|(joiner, ttl)| Control::ForwardJoin { joiner, ttl }),
        any::<bool>().prop_map(|high_priority| Control::Neighbor { high_priority }),
        any::<bool>().prop_map(|accepted| Control::NeighborReply { accepted }),
        Just(Control::Disconnect),
        (peer(), 0u8..4, peers()).prop_map(|(origin, ttl, peers)| Control::Shuffle {
            origin,
            ttl,
            peers
        }),
        peers().prop_map(|peers| Control::ShuffleReply { peers }),
        (prop::option::of((peer(), any::<u16>())), news())
            .prop_map(|(relay, news)| Control::Ping { relay, news }),
        (0u16..8, prop::option::of((peer(), 0u16..8)), peer(), news()).prop_map(
            |(probe_seq, relay, member, news)| Control::Ack {
                probe_seq,
                relay,
                member,
                news
            }
        ),
        (peer(), news()).prop_map(|(target, news)| Control::PingReq { target, news }),
        (any::<bool>(), prop::collection::vec(news_item(), 0..4))
            .prop_map(|(reply, members)| Control::MemberSync { reply, members }),
        (peer(), 0u32..3, state).prop_map(|(member, incarnation, state)| Control::MemberUpdate {
            member,
            incarnation,
            state
        }),
        Just(Control::Leave),
        prop::collection::vec(id(), 0..4).prop_map(|ids| Control::IHave { ids }),
        prop::collection::vec(id(), 0..4).prop_map(|ids| Control::IWant { ids }),
        Just(Control::Graft),
        Just(Control::Prune),
        prop::collection::vec(id(), 0..4).prop_map(|known| Control::PullRequest { known }),
        id().prop_map(|id| Control::Feedback { id }),
    ]
}

#[derive(Clone, Debug)]
enum Step {
    Bytes {
        from: u32,
        bytes: Vec<u8>,
    },
    Application {
        from: u32,
        id: MessageId,
        priority: Priority,
        channel: StandardChannel,
        direct: bool,
        hops: u8,
    },
    Control {
        from: u32,
        seq: u16,
        control: Control<u32>,
    },
    Advance {
        ms: u16,
    },
    Command(Command<u32>),
}

fn command() -> impl Strategy<Value = Command<u32>> {
    let priority = prop::sample::select(Priority::ALL.to_vec());
    prop_oneof![
        prop::collection::vec(0..PEERS, 0..3).prop_map(|contacts| Command::Join { contacts }),
        (priority.clone(), prop::collection::vec(any::<u8>(), 0..16)).prop_map(
            |(priority, bytes)| {
                Command::Broadcast {
                    channel_hash: StandardChannel::Bugs.hash(),
                    priority,
                    payload: Payload::App(bytes),
                }
            }
        ),
        (0..PEERS, priority).prop_map(|(to, priority)| Command::SendTo {
            to,
            channel_hash: StandardChannel::Suggestions.hash(),
            priority,
            payload: Payload::Heartbeat,
        }),
        (0..PEERS, 1u64..3000).prop_map(|(to, ms)| Command::Request {
            to,
            query: Query {
                question: "?".into()
            },
            timeout: Duration::from_millis(ms),
        }),
        (0..PEERS, any::<u16>()).prop_map(|(to, reply_to_seq)| Command::Respond {
            to,
            reply_to_seq,
            answer: "!".into()
        }),
        (0u8..40)
            .prop_map(|n| Command::Subscribe(Channel::parse(&format!("custom:c{n}")).unwrap())),
        Just(Command::Unsubscribe(Channel::Standard(
            StandardChannel::Status
        ))),
        prop::sample::select(vec![
            AttentionMode::Realtime,
            AttentionMode::Focused,
            AttentionMode::Minimal
        ])
        .prop_map(Command::SetAttention),
        (0u16..4).prop_map(|max| Command::ReadInbox { max }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let channel = prop::sample::select(StandardChannel::ALL.to_vec());
    let priority = prop::sample::select(Priority::ALL.to_vec());
    prop_oneof![
        1 => (0..PEERS, prop::collection::vec(any::<u8>(), 0..80)).prop_map(|(from, bytes)| Step::Bytes { from, bytes }),
        4 => (0..PEERS, id(), priority, channel, any::<bool>(), 0u8..4).prop_map(
            |(from, id, priority, channel, direct, hops)| Step::Application { from, id, priority, channel, direct, hops }
        ),
        4 => (0..PEERS, 0u16..8, control()).prop_map(|(from, seq, control)| Step::Control { from, seq, control }),
        3 => (1u16..1500).prop_map(|ms| Step::Advance { ms }),
        2 => command().prop_map(Step::Command),
    ]
}

fn encode_application(
    id: MessageId,
    priority: Priority,
    channel: StandardChannel,
    direct: bool,
    hops: u8,
) -> Vec<u8> {
    let flags = if direct { Flags::DIRECT } else { Flags::NONE };
    let msg_type = if direct {
        MsgType::Suggestion
    } else {
        MsgType::App
    };
    let payload: &[u8] = if direct {
        &[0x93, 0xa1, b'x', 0xc0, 0xc0]
    } else {
        b"gossip"
    };
    let header = CompactHeader::new(HeaderFields {
        msg_type,
        priority,
        seq: id.seq,
        from: id.from,
        channel_hash: channel.hash(),
        timestamp_s: id.timestamp_s,
        payload_len: payload.len() as u16,
        flags,
        hops_remaining: hops,
    });
    let mut bytes = vec![0; HEADER_LEN + payload.len()];
    header.encode_with_payload(payload, &mut bytes).unwrap();
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn no_input_sequence_panics_a_node_or_grows_a_structure_past_its_bound(
        strategy in strategy(),
        failure_detection in any::<bool>(),
        detector in detector(),
        reputation in any::<bool>(),
        steps in prop::collection::vec(step(), 1..60),
    ) {
        let config = Arc::new(Config { failure_detection, detector, reputation, ..small_config(strategy) });
        let mut node = Node::<u32>::new(AgentId::from_index(0), 0, Arc::clone(&config), Rng::from_seed(3));
        let mut now = Time::ZERO;
        let mut buf = Vec::new();
        for step in steps {
            let input_bytes;
            let input = match step {
                Step::Bytes { from, bytes } => {
                    input_bytes = bytes;
                    Input::Datagram { source: from, bytes: &input_bytes }
                }
                Step::Application { from, id, priority, channel, direct, hops } => {
                    input_bytes = encode_application(id, priority, channel, direct, hops);
                    Input::Datagram { source: from, bytes: &input_bytes }
                }
                Step::Control { from, seq, control } => {
                    input_bytes = driver::encode_control(seq, &control);
                    Input::Datagram { source: from, bytes: &input_bytes }
                }
                Step::Advance { ms } => {
                    now = now + Duration::from_millis(u64::from(ms));
                    Input::Timeout
                }
                Step::Command(command) => Input::Command(command),
            };
            let _ = node.handle(now, input);
            while node.poll_transmit(&mut buf).is_some() {
                prop_assert!(colony_core::CompactHeader::parse(&buf).is_ok(), "the node sent an invalid datagram");
            }
            while node.poll_event().is_some() {}
            if let Some(at) = node.poll_timeout() {
                prop_assert!(at >= now, "a timeout in the past");
            }
            prop_assert!(node.store_len() <= usize::from(config.store_max));
            prop_assert!(node.seen_len() <= config.dedup_capacity as usize);
            prop_assert!(node.inbox_len() <= usize::from(config.inbox_max));
            prop_assert!(node.backlog_len() <= usize::from(config.backlog_max));
            prop_assert!(node.active_view().len() <= usize::from(config.active_view_max.get()));
            prop_assert!(node.passive_view().len() <= usize::from(config.passive_view_max.get()));
            prop_assert!(node.requests_pending() <= usize::from(config.requests_pending_max));
            prop_assert!(!node.active_view().contains(&0) && !node.passive_view().contains(&0));
        }
    }
}
