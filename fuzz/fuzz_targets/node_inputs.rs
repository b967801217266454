//! Fuzzes a node with sequences of datagrams, timeouts and commands decoded
//! from the input: no sequence may panic it or grow a structure past its
//! bound, and everything it sends must be a valid datagram.
#![no_main]

use std::num::{NonZeroU8, NonZeroU16};
use std::sync::Arc;
use std::time::Duration;

use colony_core::config::{Config, LossOfInterest, StopRule, Strategy};
use colony_core::header::CompactHeader;
use colony_core::node::{Command, Input, Node};
use colony_core::payload::{Payload, Query};
use colony_core::priority::AttentionMode;
use colony_core::rng::Rng;
use colony_core::time::Time;
use colony_core::{AgentId, Priority, StandardChannel};
use libfuzzer_sys::fuzz_target;

fn config(selector: u8) -> Config {
    let nz = |n| NonZeroU8::new(n).unwrap();
    let strategy = match selector % 5 {
        0 => Strategy::Push { fanout: nz(2) },
        1 => Strategy::PushPull { fanout: nz(1) },
        2 => Strategy::Rumor { fanout: nz(2), loss: LossOfInterest::Feedback, stop: StopRule::Counter, k: nz(2) },
        3 => Strategy::Plumtree { repair_after: Duration::from_millis(100) },
        _ => Strategy::Pull,
    };
    Config {
        strategy,
        failure_detection: selector & 0x80 != 0,
        active_view_max: nz(3),
        passive_view_max: nz(4),
        inbox_max: 3,
        backlog_max: 3,
        work_per_round_max: NonZeroU16::new(2).unwrap(),
        dedup_capacity: 8,
        store_max: 4,
        requests_pending_max: 2,
        ..Config::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, mut rest)) = data.split_first() else { return };
    let config = Arc::new(config(selector));
    let mut node = Node::<u32>::new(AgentId::from_index(0), 0, Arc::clone(&config), Rng::from_seed(1));
    let mut now = Time::ZERO;
    let mut buf = Vec::new();
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        let peer = u32::from(op >> 4) % 8;
        let input = match op & 0x0f {
            0..=7 => {
                let len = usize::from(rest.first().copied().unwrap_or(0)).min(rest.len().saturating_sub(1));
                let bytes = &rest[1.min(rest.len())..1.min(rest.len()) + len];
                rest = &rest[(1 + len).min(rest.len())..];
                Input::Datagram { source: peer, bytes }
            }
            8 | 9 => {
                now = now + Duration::from_millis(u64::from(op) * 37);
                Input::Timeout
            }
            10 => Input::Command(Command::Join { contacts: vec![peer] }),
            11 => Input::Command(Command::Broadcast {
                channel_hash: StandardChannel::Bugs.hash(),
                priority: Priority::Normal,
                payload: Payload::App(vec![op]),
            }),
            12 => Input::Command(Command::Request {
                to: peer,
                query: Query { question: String::new() },
                timeout: Duration::from_millis(500),
            }),
            13 => Input::Command(Command::SetAttention(AttentionMode::Minimal)),
            14 => Input::Command(Command::ReadInbox { max: 2 }),
            _ => Input::Command(Command::Leave),
        };
        let _ = node.handle(now, input);
        while node.poll_transmit(&mut buf).is_some() {
            assert!(CompactHeader::parse(&buf).is_ok());
        }
        while node.poll_event().is_some() {}
        assert!(node.store_len() <= usize::from(config.store_max));
        assert!(node.inbox_len() <= usize::from(config.inbox_max));
        assert!(node.backlog_len() <= usize::from(config.backlog_max));
        assert!(node.active_view().len() <= 3 && node.passive_view().len() <= 4);
    }
});
