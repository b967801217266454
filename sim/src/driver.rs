//! The async driver: one unmodified [`Node`] on a tokio task, fed from a
//! datagram socket, a timer and application commands.
//!
//! The loop is the sans-IO contract made concrete: after every input it
//! drains `poll_transmit` onto the socket and `poll_event` into the host's
//! [`Sink`], then waits for whichever comes first — a datagram, the node's
//! `poll_timeout`, a scheduled command or a live one. Time crosses the
//! boundary only in [`Clock`]: tokio's `Instant` outside, the core's
//! [`Time`] inside.
//!
//! The driver is generic over the socket ([`DatagramSocket`]: tokio's UDP
//! socket and turmoil's simulated one) and over how the node's addresses map
//! to socket addresses ([`AddressBook`]): dense agent indices for hosts that
//! number their agents (turmoil, in-process UDP) or the socket addresses
//! themselves for a standalone process (`colony node`).

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, SocketAddrV4};

use colony_core::address::Address;
use colony_core::node::{Command, CommandError, Event, Handled, Input, Node};
use colony_core::time::Time;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

/// Largest datagram the driver receives: the largest UDP payload, rounded
/// up. A longer one is truncated by the socket and then refused by the core.
pub const DATAGRAM_BYTES_MAX: usize = 65_536;

/// A datagram socket: the two operations the driver needs.
pub trait DatagramSocket {
    /// Sends `bytes` to `to`.
    fn send_to(&self, bytes: &[u8], to: SocketAddr) -> impl Future<Output = io::Result<usize>>;
    /// Waits for a datagram; cancel-safe (the driver races it with timers).
    fn recv_from(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<(usize, SocketAddr)>>;
}

impl DatagramSocket for tokio::net::UdpSocket {
    fn send_to(&self, bytes: &[u8], to: SocketAddr) -> impl Future<Output = io::Result<usize>> {
        tokio::net::UdpSocket::send_to(self, bytes, to)
    }

    fn recv_from(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<(usize, SocketAddr)>> {
        tokio::net::UdpSocket::recv_from(self, buf)
    }
}

impl DatagramSocket for turmoil::net::UdpSocket {
    fn send_to(&self, bytes: &[u8], to: SocketAddr) -> impl Future<Output = io::Result<usize>> {
        turmoil::net::UdpSocket::send_to(self, bytes, to)
    }

    fn recv_from(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<(usize, SocketAddr)>> {
        turmoil::net::UdpSocket::recv_from(self, buf)
    }
}

/// Maps the node's peer addresses to socket addresses and back.
pub trait AddressBook<A> {
    /// Where to send a datagram for `peer`; `None` drops it (counted).
    fn socket_addr(&self, peer: A) -> Option<SocketAddr>;
    /// The node address of a datagram's sender; `None` when the sender is
    /// not an agent of this run (the datagram is dropped, counted).
    fn address(&self, from: SocketAddr) -> Option<A>;
    /// The agent index of `peer`, for observations.
    fn index(&self, peer: A) -> Option<u32>;
}

/// Socket addresses are the node's addresses (a standalone process).
#[derive(Clone, Copy, Debug, Default)]
pub struct SocketAddresses;

impl AddressBook<SocketAddrV4> for SocketAddresses {
    fn socket_addr(&self, peer: SocketAddrV4) -> Option<SocketAddr> {
        Some(SocketAddr::V4(peer))
    }

    fn address(&self, from: SocketAddr) -> Option<SocketAddrV4> {
        match from {
            SocketAddr::V4(v4) => Some(v4),
            SocketAddr::V6(_) => None,
        }
    }

    fn index(&self, _peer: SocketAddrV4) -> Option<u32> {
        None
    }
}

/// Agents numbered densely: agent `i` listens on `addrs[i]`.
#[derive(Clone, Debug)]
pub struct DenseAddresses {
    addrs: Vec<SocketAddr>,
    by_addr: BTreeMap<SocketAddr, u32>,
}

impl DenseAddresses {
    /// The book of these listening addresses, agent `i` at `addrs[i]`.
    pub fn new(addrs: Vec<SocketAddr>) -> Self {
        let by_addr = addrs
            .iter()
            .enumerate()
            .map(|(i, a)| (*a, i as u32))
            .collect();
        DenseAddresses { addrs, by_addr }
    }
}

impl AddressBook<u32> for DenseAddresses {
    fn socket_addr(&self, peer: u32) -> Option<SocketAddr> {
        self.addrs.get(peer as usize).copied()
    }

    fn address(&self, from: SocketAddr) -> Option<u32> {
        self.by_addr.get(&from).copied()
    }

    fn index(&self, peer: u32) -> Option<u32> {
        Some(peer)
    }
}

/// The boundary between tokio time and the core's time: the core's zero is
/// `epoch`.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    /// A clock whose zero is `epoch`.
    pub fn with_epoch(epoch: Instant) -> Self {
        Clock { epoch }
    }

    /// The core's time now.
    pub fn now(&self) -> Time {
        Time::from_ns(self.epoch.elapsed().as_nanos() as u64)
    }

    /// The tokio instant of core time `t`.
    pub fn instant(&self, t: Time) -> Instant {
        self.epoch + std::time::Duration::from_nanos(t.as_ns())
    }
}

/// A command due at a core time; `tag` comes back in [`Report::Handled`].
#[derive(Clone, Debug)]
pub struct Timed<A> {
    /// When.
    pub at: Time,
    /// What.
    pub command: Command<A>,
    /// The host's name for it.
    pub tag: u64,
}

/// What the driver tells its host.
#[derive(Debug)]
pub enum Report<'a, A> {
    /// The node emitted an event.
    Event(Time, &'a Event<A>),
    /// A scheduled or live command was handled (with its tag).
    Handled(Time, u64, &'a Result<Handled, CommandError>),
    /// A datagram was handed to the socket.
    Sent(Time),
}

/// Where the driver's reports go. The return value of an event report is a
/// command the application issues in reaction (e.g. answering a query).
pub trait Sink<A> {
    /// Takes one report; may answer an event with a command.
    fn report(&mut self, report: Report<'_, A>) -> Option<Command<A>>;
}

impl<A, F: FnMut(Report<'_, A>) -> Option<Command<A>>> Sink<A> for F {
    fn report(&mut self, report: Report<'_, A>) -> Option<Command<A>> {
        self(report)
    }
}

/// What the driver itself dropped or failed to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Datagrams from senders outside the address book.
    pub unknown_sources: u64,
    /// Datagrams for peers the address book cannot place.
    pub unknown_targets: u64,
    /// Sends or receives the socket refused (the datagram is lost, as on a
    /// real network; the driver carries on).
    pub socket_errors: u64,
}

/// When [`run`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Never: the host drops the future (turmoil, whose run ends by time).
    Dropped,
    /// At this core time.
    Time(Time),
    /// Once the node has left (its leave notices sent).
    Left,
}

/// Runs `node` until `until`: datagrams from `socket`, commands from
/// `schedule` and from `live` (tagged, in arrival order), reports to
/// `sink`.
#[allow(clippy::too_many_arguments)] // the driver's whole world, each part a different host choice
pub async fn run<A, S, B, K>(
    node: &mut Node<A>,
    socket: &S,
    book: &B,
    clock: Clock,
    mut schedule: Vec<Timed<A>>,
    mut live: Option<&mut UnboundedReceiver<(u64, Command<A>)>>,
    until: Until,
    sink: &mut K,
) -> DriverStats
where
    A: Address,
    S: DatagramSocket,
    B: AddressBook<A>,
    K: Sink<A>,
{
    schedule.sort_by_key(|t| t.at);
    let mut schedule = schedule.into_iter().peekable();
    let mut stats = DriverStats::default();
    let mut buf = vec![0u8; DATAGRAM_BYTES_MAX];
    let mut out = Vec::new();
    let mut live_open = live.is_some();
    loop {
        flush(node, socket, book, &clock, &mut out, &mut stats, sink).await;
        let stop_at = match until {
            Until::Time(t) => Some(t),
            _ => None,
        };
        if stop_at.is_some_and(|t| clock.now() >= t) || (until == Until::Left && !node.is_running())
        {
            return stats;
        }
        let wake = [node.poll_timeout(), schedule.peek().map(|t| t.at), stop_at]
            .into_iter()
            .flatten()
            .min();
        let sleep = async {
            match wake {
                Some(t) => tokio::time::sleep_until(clock.instant(t)).await,
                None => std::future::pending().await,
            }
        };
        let command = async {
            match (&mut live, live_open) {
                (Some(rx), true) => rx.recv().await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok((len, from)) => match book.address(from) {
                    Some(source) => {
                        let bytes = &buf[..len];
                        let _ = node.handle(clock.now(), Input::Datagram { source, bytes });
                    }
                    None => stats.unknown_sources += 1,
                },
                Err(_) => stats.socket_errors += 1,
            },
            () = sleep => wake_up(node, &mut schedule, clock.now(), sink),
            command = command => match command {
                Some((tag, command)) => {
                    let now = clock.now();
                    let result = node.handle(now, Input::Command(command));
                    let _ = sink.report(Report::Handled(now, tag, &result));
                }
                None => live_open = false,
            },
        }
    }
}

/// What is due at `now`: the scheduled commands, then the node's timer.
fn wake_up<A: Address, K: Sink<A>>(
    node: &mut Node<A>,
    schedule: &mut std::iter::Peekable<std::vec::IntoIter<Timed<A>>>,
    now: Time,
    sink: &mut K,
) {
    while let Some(due) = schedule.next_if(|t| t.at <= now) {
        let result = node.handle(now, Input::Command(due.command));
        let _ = sink.report(Report::Handled(now, due.tag, &result));
    }
    if node.poll_timeout().is_some_and(|t| t <= now) {
        let _ = node.handle(now, Input::Timeout);
    }
}

/// The drain contract: every datagram onto the socket, every event to the
/// sink (and the sink's reactions back into the node, drained in turn).
async fn flush<A, S, B, K>(
    node: &mut Node<A>,
    socket: &S,
    book: &B,
    clock: &Clock,
    out: &mut Vec<u8>,
    stats: &mut DriverStats,
    sink: &mut K,
) where
    A: Address,
    S: DatagramSocket,
    B: AddressBook<A>,
    K: Sink<A>,
{
    loop {
        while let Some(peer) = node.poll_transmit(out) {
            match book.socket_addr(peer) {
                Some(to) => {
                    if socket.send_to(out, to).await.is_err() {
                        stats.socket_errors += 1;
                    } else {
                        let _ = sink.report(Report::Sent(clock.now()));
                    }
                }
                None => stats.unknown_targets += 1,
            }
        }
        let now = clock.now();
        let mut reactions = Vec::new();
        while let Some(event) = node.poll_event() {
            if let Some(command) = sink.report(Report::Event(now, &event)) {
                reactions.push(command);
            }
        }
        if reactions.is_empty() {
            return;
        }
        for command in reactions {
            let _ = node.handle(now, Input::Command(command));
        }
    }
}
