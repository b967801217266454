//! A small deterministic driver for core tests: nodes addressed `0..n`, one
//! queue of datagrams ordered by (delivery time, sequence), a virtual clock,
//! and hooks to crash nodes or filter datagrams. Not the simulator.

#![allow(dead_code)] // each test binary uses part of it
#![allow(unreachable_pub)] // a test-only module: `pub` is its API to the test files

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use colony_core::channel::StandardChannel;
use colony_core::config::Config;
use colony_core::control::Control;
use colony_core::header::CompactHeader;
use colony_core::message::MessageId;
use colony_core::node::{Command, CommandError, Event, Handled, Input, Node};
use colony_core::payload::Payload;
use colony_core::rng::Rng;
use colony_core::time::Time;
use colony_core::{AgentId, Priority};
use zerocopy::FromBytes;

/// The control messages every node sent, as (time, from, to, control),
/// recorded by the driver's filter (which passes everything but what `drop`
/// refuses) when each reaches it.
pub type Sent = Rc<RefCell<Vec<(Time, u32, u32, Control<u32>)>>>;

pub fn record(net: &mut Net, drop: impl Fn(u32, u32, &Control<u32>) -> bool + 'static) -> Sent {
    let sent: Sent = Rc::default();
    let log = Rc::clone(&sent);
    net.filter = Some(Box::new(move |from, to, bytes, now| {
        let Some(control) = decode_control(bytes) else {
            return true;
        };
        let pass = !drop(from, to, &control);
        log.borrow_mut().push((now, from, to, control));
        pass
    }));
    sent
}

/// The control message a datagram carries, if any.
fn decode_control(bytes: &[u8]) -> Option<Control<u32>> {
    let (header, rest) = CompactHeader::ref_from_prefix(bytes).ok()?;
    let msg_type = header.msg_type()?;
    let len = usize::from(header.payload_len());
    rest.get(..len)
        .and_then(|payload| Control::<u32>::decode(msg_type, payload))
}

/// A control datagram with sequence number `seq`, as agent 1 sends it.
pub fn encode_control(seq: u16, control: &Control<u32>) -> Vec<u8> {
    let mut bytes = Vec::new();
    control.encode_datagram(AgentId::from_index(1), seq, 0, &mut bytes);
    bytes
}

/// Datagrams handled per `run_until` at most: a bound so a livelock fails the
/// test instead of hanging it.
const STEPS_MAX: usize = 20_000_000;

pub type Filter = Box<dyn Fn(u32, u32, &[u8], Time) -> bool>;

pub struct Net {
    pub nodes: Vec<Node<u32>>,
    pub now: Time,
    pub latency: Duration,
    /// Events per node, in arrival order.
    pub events: Vec<Vec<(Time, Event<u32>)>>,
    pub crashed: BTreeSet<u32>,
    /// Returns false to drop a datagram (from, to, bytes, now).
    pub filter: Option<Filter>,
    queue: BTreeMap<(Time, u64), (u32, u32, Vec<u8>)>,
    seq: u64,
    timeouts: Vec<Option<Time>>,
    buf: Vec<u8>,
}

impl Net {
    pub fn new(n: u32, config: Config, seed: u64) -> Net {
        let config = Arc::new(config);
        let nodes: Vec<Node<u32>> = (0..n)
            .map(|i| {
                let rng = Rng::for_agent(seed, 0, u64::from(i));
                Node::new(
                    AgentId::from_index(u64::from(i)),
                    i,
                    Arc::clone(&config),
                    rng,
                )
            })
            .collect();
        let mut net = Net {
            timeouts: vec![None; nodes.len()],
            events: vec![Vec::new(); nodes.len()],
            nodes,
            now: Time::ZERO,
            latency: Duration::from_millis(10),
            crashed: BTreeSet::new(),
            filter: None,
            queue: BTreeMap::new(),
            seq: 0,
            buf: Vec::new(),
        };
        for i in 0..n {
            // Start every node's timers at time zero.
            net.nodes[i as usize]
                .handle(Time::ZERO, Input::Timeout)
                .unwrap();
            net.drain(i);
        }
        net
    }

    pub fn command(&mut self, node: u32, command: Command<u32>) -> Result<Handled, CommandError> {
        let result = self.nodes[node as usize].handle(self.now, Input::Command(command));
        self.drain(node);
        result
    }

    /// Hands `bytes` to `to` as if sent by `from`, now.
    pub fn inject(&mut self, from: u32, to: u32, bytes: &[u8]) {
        self.nodes[to as usize]
            .handle(
                self.now,
                Input::Datagram {
                    source: from,
                    bytes,
                },
            )
            .unwrap();
        self.drain(to);
    }

    pub fn crash(&mut self, node: u32) {
        self.crashed.insert(node);
    }

    fn drain(&mut self, i: u32) {
        let node = &mut self.nodes[i as usize];
        while let Some(to) = node.poll_transmit(&mut self.buf) {
            self.seq += 1;
            let at = self.now + self.latency;
            self.queue.insert((at, self.seq), (i, to, self.buf.clone()));
        }
        while let Some(event) = node.poll_event() {
            self.events[i as usize].push((self.now, event));
        }
        self.timeouts[i as usize] = node.poll_timeout();
    }

    /// Runs every datagram and timer due up to `deadline`, in time order.
    pub fn run_until(&mut self, deadline: Time) {
        for _ in 0..STEPS_MAX {
            let next_datagram = self.queue.keys().next().map(|(t, _)| *t);
            let next_timer = self
                .timeouts
                .iter()
                .enumerate()
                .filter(|(i, _)| !self.crashed.contains(&(*i as u32)))
                .filter_map(|(i, t)| t.map(|t| (t, i as u32)))
                .min();
            let datagram_first = match (next_datagram, next_timer) {
                (Some(d), Some((t, _))) => d <= t,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let at = if datagram_first {
                next_datagram.unwrap()
            } else {
                next_timer.unwrap().0
            };
            if at > deadline {
                break;
            }
            self.now = at;
            if datagram_first {
                let (_, (from, to, bytes)) = self.queue.pop_first().unwrap();
                let dropped = self.crashed.contains(&to)
                    || self.crashed.contains(&from)
                    || self
                        .filter
                        .as_ref()
                        .is_some_and(|f| !f(from, to, &bytes, at));
                if !dropped {
                    self.inject(from, to, &bytes);
                }
            } else {
                let node = next_timer.unwrap().1;
                self.nodes[node as usize]
                    .handle(at, Input::Timeout)
                    .unwrap();
                self.drain(node);
            }
        }
        self.now = deadline;
    }

    pub fn run_for(&mut self, duration: Duration) {
        let deadline = self.now + duration;
        self.run_until(deadline);
    }

    /// Node indices whose events contain one matching `pred`.
    pub fn nodes_with_event(&self, pred: impl Fn(&Event<u32>) -> bool) -> Vec<u32> {
        (0..self.nodes.len() as u32)
            .filter(|i| self.events[*i as usize].iter().any(|(_, e)| pred(e)))
            .collect()
    }

    /// Every node joins through node 0, one after another.
    pub fn join_all_through_zero(&mut self) {
        self.join_through_zero(1..self.nodes.len() as u32);
    }

    /// Nodes `joiners` join through node 0, one after another.
    pub fn join_through_zero(&mut self, joiners: std::ops::Range<u32>) {
        for i in joiners {
            self.command(i, Command::Join { contacts: vec![0] })
                .unwrap();
            self.run_for(Duration::from_millis(50));
        }
    }

    /// Node `from` broadcasts `payload` on `_suggestions`; its message id.
    pub fn broadcast(&mut self, from: u32, payload: &[u8]) -> MessageId {
        let command = Command::Broadcast {
            channel_hash: StandardChannel::Suggestions.hash(),
            priority: Priority::Normal,
            payload: Payload::App(payload.to_vec()),
        };
        match self.command(from, command).unwrap() {
            Handled::Sent(id) => id,
            other => panic!("unexpected {other:?}"),
        }
    }
}
