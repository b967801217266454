//! The per-agent memory budget at the large-scale configuration: a node that
//! received and forwarded one broadcast must fit in 1 KiB, everything included.

use std::num::NonZeroU32;
use std::sync::Arc;

use colony_core::channel::StandardChannel;
use colony_core::config::Config;
use colony_core::node::{Command, Input, Node};
use colony_core::payload::Payload;
use colony_core::rng::Rng;
use colony_core::time::Time;
use colony_core::{AgentId, Priority};

/// The goal of ARCHITECTURE.md: at most 1 KiB per agent at a million agents.
const BYTES_PER_AGENT_MAX: usize = 1024;

#[test]
fn a_node_that_relayed_one_broadcast_fits_in_one_kibibyte() {
    let config = Arc::new(Config::large_scale(NonZeroU32::new(1_000_000).unwrap()));
    let mut origin = Node::<u32>::new(
        AgentId::from_index(0),
        0,
        Arc::clone(&config),
        Rng::from_seed(1),
    );
    let mut relay = Node::<u32>::new(AgentId::from_index(1), 1, config.clone(), Rng::from_seed(2));
    origin
        .handle(
            Time::ZERO,
            Input::Command(Command::Broadcast {
                channel_hash: StandardChannel::Suggestions.hash(),
                priority: Priority::Normal,
                payload: Payload::App(vec![0; 24]),
            }),
        )
        .unwrap();
    // First round: the origin pushes; hand the datagram to the relay.
    let round = Time::ZERO + config.gossip_interval;
    origin.handle(round, Input::Timeout).unwrap();
    let mut buf = Vec::new();
    let mut handed = false;
    while let Some(_to) = origin.poll_transmit(&mut buf) {
        relay
            .handle(
                round,
                Input::Datagram {
                    source: 0,
                    bytes: &buf,
                },
            )
            .unwrap();
        handed = true;
    }
    assert!(handed, "the origin pushed in its first round");
    while relay.poll_event().is_some() {}
    // The relay forwards in its own next round.
    relay
        .handle(round + config.gossip_interval, Input::Timeout)
        .unwrap();
    while relay.poll_transmit(&mut buf).is_some() {}
    while relay.poll_event().is_some() {}
    let total = size_of::<Node<u32>>() + relay.heap_bytes();
    println!(
        "size_of::<Node<u32>>() = {} bytes, heap = {} bytes, total = {total} bytes",
        size_of::<Node<u32>>(),
        relay.heap_bytes()
    );
    assert_eq!(relay.store_len(), 1);
    assert!(total <= BYTES_PER_AGENT_MAX, "{total} bytes per agent");
}
