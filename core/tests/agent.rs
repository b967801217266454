//! Behaviour of one agent and of small groups, driven by the test driver.

mod driver;

use std::num::{NonZeroU8, NonZeroU32};
use std::time::Duration;

use colony_core::channel::StandardChannel;
use colony_core::config::{Config, LossOfInterest, Sampling, StopRule, Strategy};
use colony_core::header::Flags;
use colony_core::message::{Message, MessageId};
use colony_core::node::{Command, DropReason, Event, PeerChange};
use colony_core::payload::{Payload, Query};
use colony_core::priority::{AttentionMode, Disposition};
use colony_core::time::Time;
use colony_core::{AgentId, Priority};
use driver::Net;

fn nz(n: u8) -> NonZeroU8 {
    NonZeroU8::new(n).unwrap()
}

fn uniform(n: u32, strategy: Strategy) -> Config {
    Config {
        strategy,
        sampling: Sampling::Uniform {
            population: NonZeroU32::new(n).unwrap(),
        },
        failure_detection: false,
        ..Config::default()
    }
}

/// A broadcast datagram from `origin` as it would arrive after one hop.
fn datagram(
    origin: u64,
    seq: u16,
    priority: Priority,
    channel: StandardChannel,
    now: Time,
) -> Vec<u8> {
    let message = Message {
        id: MessageId {
            from: AgentId::from_index(origin),
            timestamp_s: Config::default().epoch_unix_s + now.as_secs() as u32,
            seq,
        },
        priority,
        channel_hash: channel.hash(),
        hops_remaining: 10,
        flags: Flags::NONE,
        payload: Payload::App(vec![seq as u8; 8]),
    };
    let mut bytes = Vec::new();
    message.encode(&mut bytes).unwrap();
    bytes
}

fn broadcast_app(net: &mut Net, from: u32) -> MessageId {
    net.broadcast(from, b"hello swarm")
}

fn delivered_count(net: &Net, id: MessageId) -> usize {
    net.nodes_with_event(|e| matches!(e, Event::Delivered(d) if d.id == id))
        .len()
}

/// Broadcasts from node 0 and runs until every other node delivered or the
/// virtual deadline passed; returns how many delivered.
fn spread(net: &mut Net, deadline: Duration) -> usize {
    let id = broadcast_app(net, 0);
    let end = net.now + deadline;
    while net.now < end && delivered_count(net, id) < net.nodes.len() - 1 {
        net.run_for(Duration::from_millis(200));
    }
    delivered_count(net, id)
}

const GROUP: u32 = 200;
/// Virtual time a 200-agent broadcast may take: 30 rounds of 200 ms, twice
/// what push with fanout 1 needs on average (log2 n + ln n ≈ 13 rounds).
const SPREAD_DEADLINE: Duration = Duration::from_secs(6);

#[test]
fn push_reaches_every_node_of_a_200_node_group() {
    let mut net = Net::new(GROUP, uniform(GROUP, Strategy::Push { fanout: nz(1) }), 1);
    assert_eq!(spread(&mut net, SPREAD_DEADLINE), 199);
}

#[test]
fn pull_reaches_every_node_of_a_200_node_group() {
    let mut net = Net::new(GROUP, uniform(GROUP, Strategy::Pull), 2);
    assert_eq!(spread(&mut net, SPREAD_DEADLINE), 199);
}

#[test]
fn push_pull_reaches_every_node_of_a_200_node_group() {
    let mut net = Net::new(
        GROUP,
        uniform(GROUP, Strategy::PushPull { fanout: nz(1) }),
        3,
    );
    assert_eq!(spread(&mut net, SPREAD_DEADLINE), 199);
}

#[test]
fn every_rumor_mongering_variant_reaches_every_node_of_a_200_node_group() {
    for loss in [LossOfInterest::Feedback, LossOfInterest::Blind] {
        for stop in [StopRule::Counter, StopRule::Coin] {
            let strategy = Strategy::Rumor {
                fanout: nz(2),
                loss,
                stop,
                k: nz(6),
            };
            let mut net = Net::new(GROUP, uniform(GROUP, strategy), 4);
            assert_eq!(spread(&mut net, SPREAD_DEADLINE), 199, "{loss:?} {stop:?}");
        }
    }
}

fn views(strategy: Strategy) -> Config {
    Config {
        strategy,
        ..Config::default()
    }
}

#[test]
fn plumtree_reaches_every_node_of_a_200_node_group_over_partial_views() {
    let strategy = Strategy::Plumtree {
        repair_after: Duration::from_millis(300),
    };
    let mut net = Net::new(GROUP, views(strategy), 5);
    net.join_all_through_zero();
    net.run_for(Duration::from_secs(5));
    assert_eq!(spread(&mut net, SPREAD_DEADLINE), 199);
    // A second broadcast travels the pruned tree: far fewer duplicates.
    let duplicates_before: u64 = net
        .nodes
        .iter()
        .map(|n| n.stats().drops_of(DropReason::Duplicate))
        .sum();
    assert_eq!(spread(&mut net, SPREAD_DEADLINE), 199);
    let duplicates_after: u64 = net
        .nodes
        .iter()
        .map(|n| n.stats().drops_of(DropReason::Duplicate))
        .sum();
    assert!(
        duplicates_after - duplicates_before < duplicates_before,
        "first {duplicates_before}, second {}",
        duplicates_after - duplicates_before
    );
}

#[test]
fn push_pull_reaches_every_node_of_a_200_node_group_over_partial_views() {
    let mut net = Net::new(GROUP, views(Strategy::PushPull { fanout: nz(2) }), 6);
    net.join_all_through_zero();
    net.run_for(Duration::from_secs(5));
    for node in &net.nodes {
        assert!(node.active_view().len() <= 5 && node.passive_view().len() <= 30);
        assert!(
            !node.active_view().is_empty(),
            "{:?} is isolated",
            node.id()
        );
    }
    assert_eq!(spread(&mut net, SPREAD_DEADLINE), 199);
}

/// Agent 0's node alone, driven by hand.
fn lone_node(config: Config) -> colony_core::node::Node<u32> {
    colony_core::node::Node::new(
        AgentId::from_index(0),
        0u32,
        std::sync::Arc::new(config),
        colony_core::rng::Rng::for_agent(1, 2, 0),
    )
}

fn single_node(config: Config) -> Net {
    Net::new(2, config, 7)
}

#[test]
fn a_duplicate_is_suppressed_and_counted() {
    let mut net = single_node(uniform(2, Strategy::Push { fanout: nz(1) }));
    let bytes = datagram(
        9,
        1,
        Priority::Normal,
        StandardChannel::Suggestions,
        net.now,
    );
    net.inject(1, 0, &bytes);
    net.inject(1, 0, &bytes);
    let deliveries = net.events[0]
        .iter()
        .filter(|(_, e)| matches!(e, Event::Delivered(_)))
        .count();
    assert_eq!(deliveries, 1);
    assert_eq!(net.nodes[0].stats().drops_of(DropReason::Duplicate), 1);
}

/// `Node::receive` says what each datagram was: fresh, a duplicate, or
/// refused with its reason; the drops it reports are the counters' changes.
#[test]
fn the_node_reports_what_it_did_with_each_datagram() {
    use colony_core::node::ReceivedKind;

    let mut node = lone_node(uniform(2, Strategy::Push { fanout: nz(1) }));
    let now = Time::from_ns(1_000_000_000);
    let bytes = datagram(9, 1, Priority::Normal, StandardChannel::Suggestions, now);
    let fresh = node.receive(now, 1, &bytes);
    assert_eq!(fresh.kind, ReceivedKind::Fresh);
    assert_eq!(fresh.drops().count(), 0);
    let again = node.receive(now, 1, &bytes);
    assert_eq!(again.kind, ReceivedKind::Duplicate);
    assert_eq!(
        again.drops().collect::<Vec<_>>(),
        [(DropReason::Duplicate, 1)]
    );
    let garbage = node.receive(now, 1, &[0xFF; 3]);
    assert_eq!(garbage.kind, ReceivedKind::Other);
    let reasons: Vec<_> = garbage.drops().collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert_eq!(node.stats().drops_of(reasons[0].0), 1);
    assert_eq!(fresh.signatures_checked + again.signatures_checked, 0);
}

#[test]
fn the_eleventh_message_from_one_peer_within_a_second_is_dropped_and_counted() {
    let mut net = single_node(uniform(2, Strategy::Push { fanout: nz(1) }));
    for seq in 1..=11 {
        let bytes = datagram(
            9,
            seq,
            Priority::Normal,
            StandardChannel::Suggestions,
            net.now,
        );
        net.inject(1, 0, &bytes);
        // Eleven messages within 55 ms: a token bucket of 10 per second with
        // a burst of 10 earns half a token meanwhile, so the 11th has none.
        net.now = net.now + Duration::from_millis(5);
    }
    let deliveries = net.events[0]
        .iter()
        .filter(|(_, e)| matches!(e, Event::Delivered(_)))
        .count();
    assert_eq!(deliveries, 10);
    assert_eq!(net.nodes[0].stats().drops_of(DropReason::RateLimited), 1);
}

/// A message dropped by the rate limit is not lost for good: a later copy,
/// once the origin's bucket has refilled, is delivered (it used to be
/// marked seen before the rate check, so every later copy was a
/// "duplicate" of a message never delivered).
#[test]
fn a_rate_limited_message_is_delivered_from_a_later_copy() {
    let mut net = single_node(uniform(3, Strategy::Push { fanout: nz(1) }));
    let messages: Vec<Vec<u8>> = (1..=11)
        .map(|seq| {
            datagram(
                9,
                seq,
                Priority::Normal,
                StandardChannel::Suggestions,
                net.now,
            )
        })
        .collect();
    for bytes in &messages {
        net.inject(1, 0, bytes);
        net.now = net.now + Duration::from_millis(5);
    }
    assert_eq!(net.nodes[0].stats().drops_of(DropReason::RateLimited), 1);
    // A second later another peer relays the eleventh.
    net.now = net.now + Duration::from_secs(1);
    net.inject(2, 0, &messages[10]);
    let deliveries = net.events[0]
        .iter()
        .filter(|(_, e)| matches!(e, Event::Delivered(_)))
        .count();
    assert_eq!(deliveries, 11, "the eleventh message was delivered late");
    assert_eq!(net.nodes[0].stats().drops_of(DropReason::Duplicate), 0);
}

/// The duplicate filter holds four ids; six messages a second apart go
/// through it, then the first comes back (a replay, or a flood's
/// turnover): it must not be delivered twice. The filter forgot it, so the
/// node refuses it, and anything stamped no later, as `stale` (a new
/// message that old too: the price of the guarantee, paid only when the
/// filter turns over faster than messages spread); a newer message is new.
#[test]
fn a_message_the_filter_forgot_is_refused_not_delivered_twice() {
    let config = Config {
        dedup_capacity: 4,
        rate_per_s: 0,
        ..uniform(3, Strategy::Push { fanout: nz(1) })
    };
    let mut net = single_node(config);
    let first_stamp = net.now;
    let mut messages = Vec::new();
    for seq in 1..=6 {
        let bytes = datagram(
            9,
            seq,
            Priority::Critical,
            StandardChannel::Suggestions,
            net.now,
        );
        net.inject(1, 0, &bytes);
        messages.push(bytes);
        net.now = net.now + Duration::from_secs(1);
    }
    let deliveries = |net: &Net| {
        net.events[0]
            .iter()
            .filter(|(_, e)| matches!(e, Event::Delivered(_)))
            .count()
    };
    assert_eq!(deliveries(&net), 6);
    net.inject(2, 0, &messages[0]);
    assert_eq!(deliveries(&net), 6, "the replay was not delivered again");
    assert_eq!(net.nodes[0].stats().drops_of(DropReason::Stale), 1);
    let as_old = datagram(
        9,
        99,
        Priority::Critical,
        StandardChannel::Suggestions,
        first_stamp,
    );
    net.inject(1, 0, &as_old);
    assert_eq!(net.nodes[0].stats().drops_of(DropReason::Stale), 2);
    let newer = datagram(
        9,
        7,
        Priority::Critical,
        StandardChannel::Suggestions,
        net.now,
    );
    net.inject(1, 0, &newer);
    assert_eq!(deliveries(&net), 7, "a newer message is new");
}

#[test]
fn the_inbox_at_capacity_evicts_the_lowest_priority() {
    let config = Config {
        inbox_max: 3,
        rate_per_s: 0,
        ..uniform(2, Strategy::Pull)
    };
    let mut net = single_node(config);
    for seq in 1..=3 {
        let bytes = datagram(
            9,
            seq,
            Priority::Background,
            StandardChannel::Status,
            net.now,
        );
        net.inject(1, 0, &bytes);
    }
    let normal = datagram(
        9,
        4,
        Priority::Normal,
        StandardChannel::Suggestions,
        net.now,
    );
    net.inject(1, 0, &normal);
    assert_eq!(net.nodes[0].inbox_len(), 3);
    assert_eq!(net.nodes[0].stats().drops_of(DropReason::InboxOverflow), 1);
    net.command(0, Command::ReadInbox { max: 10 }).unwrap();
    let read: Vec<u16> = net.events[0]
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Delivered(d) if !d.payload.is_empty() => Some(d.id.seq),
            _ => None,
        })
        .collect();
    assert_eq!(read, [4], "the queued Normal message is readable");
    net.run_for(Duration::from_secs(61));
    let digest = net.events[0].iter().find_map(|(_, e)| match e {
        Event::Digest(d) => Some(d.clone()),
        _ => None,
    });
    let digest = digest.expect("a digest within its 60 s period");
    assert_eq!(digest.counts.len(), 1);
    assert_eq!(
        digest.counts[0].count, 2,
        "the oldest Background was evicted"
    );
    assert_eq!(digest.samples[0].id.seq, 2);
}

fn disposition_of(net: &Net, seq: u16) -> Disposition {
    net.events[0]
        .iter()
        .find_map(|(_, e)| match e {
            Event::Delivered(d) if d.id.seq == seq => Some(d.disposition),
            _ => None,
        })
        .expect("delivered")
}

#[test]
fn critical_is_delivered_at_once_in_every_mode_and_minimal_digests_normal() {
    for mode in [
        AttentionMode::Realtime,
        AttentionMode::Focused,
        AttentionMode::Minimal,
    ] {
        let mut net = single_node(uniform(2, Strategy::Pull));
        net.command(0, Command::SetAttention(mode)).unwrap();
        let critical = datagram(9, 1, Priority::Critical, StandardChannel::Errors, net.now);
        let normal = datagram(
            9,
            2,
            Priority::Normal,
            StandardChannel::Suggestions,
            net.now,
        );
        net.inject(1, 0, &critical);
        net.inject(1, 0, &normal);
        assert_eq!(disposition_of(&net, 1), Disposition::Immediate, "{mode:?}");
        let expected = match mode {
            AttentionMode::Realtime => Disposition::Immediate,
            AttentionMode::Focused => Disposition::Queued,
            AttentionMode::Minimal => Disposition::Digest,
        };
        assert_eq!(disposition_of(&net, 2), expected, "{mode:?}");
    }
}

#[test]
fn an_unsubscribed_channel_is_relayed_but_not_delivered() {
    let mut net = single_node(uniform(2, Strategy::Push { fanout: nz(1) }));
    let debug = datagram(9, 1, Priority::Background, StandardChannel::Debug, net.now);
    net.inject(1, 0, &debug);
    assert!(
        net.events[0]
            .iter()
            .all(|(_, e)| !matches!(e, Event::Delivered(_)))
    );
    assert_eq!(net.nodes[0].stats().drops_of(DropReason::Unsubscribed), 1);
    assert_eq!(net.nodes[0].store_len(), 1, "kept for forwarding");
}

fn swim_config() -> Config {
    Config {
        strategy: Strategy::PushPull { fanout: nz(2) },
        ..Config::default()
    }
}

#[test]
fn a_crashed_node_is_suspected_and_then_confirmed_dead() {
    let mut net = Net::new(10, swim_config(), 8);
    net.join_all_through_zero();
    net.run_for(Duration::from_secs(5));
    let neighbours: Vec<u32> = (0..10)
        .filter(|i| net.nodes[*i as usize].active_view().contains(&3))
        .collect();
    assert!(!neighbours.is_empty());
    net.crash(3);
    net.run_for(Duration::from_secs(15));
    let suspected = net.nodes_with_event(|e| {
        matches!(
            e,
            Event::Peer {
                peer: 3,
                change: PeerChange::Suspected
            }
        )
    });
    let failed = net.nodes_with_event(|e| {
        matches!(
            e,
            Event::Peer {
                peer: 3,
                change: PeerChange::Failed
            }
        )
    });
    assert!(!suspected.is_empty(), "someone suspected the crashed node");
    assert!(!failed.is_empty(), "and confirmed it dead");
    for i in (0..10).filter(|i| *i != 3) {
        assert!(
            !net.nodes[i as usize].active_view().contains(&3),
            "node {i} still has 3"
        );
    }
}

#[test]
fn a_suspected_live_node_refutes() {
    let mut net = Net::new(10, swim_config(), 9);
    net.join_all_through_zero();
    net.run_for(Duration::from_secs(5));
    // Node 5's acks are lost for two probe periods: it gets suspected, hears
    // the suspicion and refutes with a higher incarnation.
    let start = net.now;
    net.filter = Some(Box::new(move |from, _to, bytes, now| {
        let is_ack = bytes[0] == colony_core::MsgType::Ack.code();
        !(from == 5 && is_ack && now < start + Duration::from_secs(2))
    }));
    net.run_for(Duration::from_secs(20));
    let suspected = net.nodes_with_event(|e| {
        matches!(
            e,
            Event::Peer {
                peer: 5,
                change: PeerChange::Suspected
            }
        )
    });
    let alive = net.nodes_with_event(|e| {
        matches!(
            e,
            Event::Peer {
                peer: 5,
                change: PeerChange::Alive
            }
        )
    });
    let failed = net.nodes_with_event(|e| {
        matches!(
            e,
            Event::Peer {
                peer: 5,
                change: PeerChange::Failed
            }
        )
    });
    assert!(!suspected.is_empty(), "node 5 was suspected");
    assert!(!alive.is_empty(), "node 5 refuted");
    assert!(
        failed.is_empty(),
        "node 5 was never declared dead: {failed:?}"
    );
}

#[test]
fn a_request_gets_its_response_or_a_timeout_when_the_peer_is_gone() {
    let mut net = Net::new(3, uniform(3, Strategy::Pull), 10);
    let query = Query {
        question: "what fails?".into(),
    };
    let timeout = Duration::from_secs(2);
    net.command(
        0,
        Command::Request {
            to: 1,
            query: query.clone(),
            timeout,
        },
    )
    .unwrap();
    net.run_for(Duration::from_millis(20));
    let seq = net.events[1]
        .iter()
        .find_map(|(_, e)| match e {
            Event::Query {
                from: 0,
                seq,
                query: q,
            } if *q == query => Some(*seq),
            _ => None,
        })
        .expect("node 1 got the query");
    net.command(
        1,
        Command::Respond {
            to: 0,
            reply_to_seq: seq,
            answer: "3 tests".into(),
        },
    )
    .unwrap();
    net.run_for(Duration::from_millis(20));
    assert!(
        net.events[0].iter().any(
            |(_, e)| matches!(e, Event::Response { from: 1, answer, .. } if answer == "3 tests")
        )
    );

    net.crash(2);
    net.command(
        0,
        Command::Request {
            to: 2,
            query,
            timeout,
        },
    )
    .unwrap();
    net.run_for(Duration::from_secs(3));
    assert!(
        net.events[0]
            .iter()
            .any(|(_, e)| matches!(e, Event::RequestTimedOut { to: 2, .. }))
    );
    assert_eq!(net.nodes[0].requests_pending(), 0);
}

#[test]
fn a_node_that_left_tells_its_neighbours_and_ignores_input() {
    let mut net = Net::new(5, swim_config(), 11);
    net.join_all_through_zero();
    net.run_for(Duration::from_secs(3));
    net.command(2, Command::Leave).unwrap();
    net.run_for(Duration::from_secs(1));
    assert!(!net.nodes[2].is_running());
    assert!(
        !net.nodes_with_event(|e| matches!(
            e,
            Event::Peer {
                peer: 2,
                change: PeerChange::Left
            }
        ))
        .is_empty()
    );
    for i in [0usize, 1, 3, 4] {
        assert!(!net.nodes[i].active_view().contains(&2));
    }
    assert!(net.command(2, Command::ReadInbox { max: 1 }).is_err());
}

#[test]
fn work_beyond_the_round_budget_waits_in_the_backlog_most_urgent_first() {
    let config = Config {
        work_per_round_max: std::num::NonZeroU16::new(2).unwrap(),
        rate_per_s: 0,
        attention: AttentionMode::Realtime,
        ..uniform(2, Strategy::Pull)
    };
    let mut net = single_node(config);
    let priorities = [
        Priority::Background,
        Priority::Background,
        Priority::Background,
        Priority::Critical,
    ];
    for (i, priority) in priorities.into_iter().enumerate() {
        let bytes = datagram(
            9,
            i as u16 + 1,
            priority,
            StandardChannel::Suggestions,
            net.now,
        );
        net.inject(1, 0, &bytes);
    }
    assert_eq!(net.nodes[0].backlog_len(), 2);
    net.run_for(Duration::from_millis(250));
    let order: Vec<u16> = net.events[0]
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Delivered(d) => Some(d.id.seq),
            _ => None,
        })
        .collect();
    assert_eq!(order, [1, 2, 4, 3], "the Critical one jumps the queue");
}

#[test]
fn a_node_that_loses_half_its_neighbours_suspects_a_partition_and_recovers() {
    let mut net = Net::new(20, swim_config(), 9);
    net.join_all_through_zero();
    net.run_for(Duration::from_secs(5));
    // A node with at least three neighbours besides its contact, node 0.
    let (node, lost) = (1..20u32)
        .find_map(|i| {
            let others: Vec<u32> = net.nodes[i as usize]
                .active_view()
                .iter()
                .copied()
                .filter(|p| *p != 0)
                .collect();
            (others.len() >= 3).then_some((i, others))
        })
        .expect("a node with three neighbours besides node 0");
    for peer in &lost {
        net.crash(*peer);
    }
    net.run_for(Duration::from_secs(20));
    let suspected = net.nodes_with_event(|e| matches!(e, Event::PartitionSuspected { .. }));
    assert!(
        suspected.contains(&node),
        "node {node} lost {lost:?} and said nothing"
    );
    let view = net.nodes[node as usize].active_view();
    assert!(!view.is_empty(), "node {node} found new neighbours");
    assert!(
        view.iter().all(|p| !lost.contains(p)),
        "{view:?} holds a crashed peer"
    );
}

#[test]
fn a_pull_reply_carries_at_most_two_messages_of_one_origin() {
    use colony_core::control::Control;
    use colony_core::header::CompactHeader;
    use colony_core::node::Input;

    let mut node = lone_node(uniform(2, Strategy::PushPull { fanout: nz(1) }));
    let now = Time::from_ns(1_000_000_000);
    let mut buf = Vec::new();
    // An honest message first, then six from a flooding origin.
    for (origin, seq) in [(5, 1), (9, 1), (9, 2), (9, 3), (9, 4), (9, 5), (9, 6)] {
        let bytes = datagram(
            origin,
            seq,
            Priority::Normal,
            StandardChannel::Suggestions,
            now,
        );
        node.handle(
            now,
            Input::Datagram {
                source: 1,
                bytes: &bytes,
            },
        )
        .unwrap();
    }
    while node.poll_transmit(&mut buf).is_some() {}
    // Peer 1 pulls, knowing nothing.
    let request = driver::encode_control(1, &Control::PullRequest { known: Vec::new() });
    node.handle(
        now,
        Input::Datagram {
            source: 1,
            bytes: &request,
        },
    )
    .unwrap();
    let mut origins = Vec::new();
    while let Some(to) = node.poll_transmit(&mut buf) {
        let (header, _) = CompactHeader::parse(&buf).unwrap();
        if to == 1 && header.channel_hash() == StandardChannel::Suggestions.hash() {
            origins.push(header.from());
        }
    }
    let flooder = origins
        .iter()
        .filter(|o| **o == AgentId::from_index(9))
        .count();
    assert_eq!(
        flooder, 2,
        "the newest two of the flooder's six: {origins:?}"
    );
    assert!(
        origins.contains(&AgentId::from_index(5)),
        "the older honest message still goes out: {origins:?}"
    );
}

#[test]
fn a_push_polled_after_its_message_left_the_store_still_sends_that_message() {
    use colony_core::header::CompactHeader;
    use colony_core::node::{Input, Node};
    use colony_core::rng::Rng;
    use std::sync::Arc;

    // One stored message at most: the second broadcast evicts the first.
    let config = Arc::new(Config {
        store_max: 1,
        ..uniform(2, Strategy::Push { fanout: nz(1) })
    });
    let mut node = Node::<u32>::new(AgentId::from_index(0), 0, config.clone(), Rng::from_seed(3));
    let broadcast = |node: &mut Node<u32>, now: Time| {
        let command = Command::Broadcast {
            channel_hash: StandardChannel::Suggestions.hash(),
            priority: Priority::Normal,
            payload: Payload::App(vec![7; 8]),
        };
        node.handle(now, Input::Command(command)).unwrap()
    };
    broadcast(&mut node, Time::ZERO);
    let round = Time::ZERO + config.gossip_interval;
    node.handle(round, Input::Timeout).unwrap();
    assert_eq!(
        node.transmits_pending(),
        1,
        "the round pushed the first message"
    );
    // The host polls late: a second broadcast evicts the first message first.
    broadcast(&mut node, round);
    assert_eq!(node.store_len(), 1);
    let mut buf = Vec::new();
    assert_eq!(node.poll_transmit(&mut buf), Some(1));
    let (header, _) = CompactHeader::parse(&buf).unwrap();
    assert_eq!(header.seq(), 1, "the pushed datagram is the first message");
    assert_eq!(node.poll_transmit(&mut buf), None);
}
