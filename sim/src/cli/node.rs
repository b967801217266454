//! `colony node`: one agent as a real process over UDP. It joins through
//! `--peer` agents, prints what it delivers (plain lines, or JSON lines
//! with `--json`), takes commands on stdin, and leaves gracefully on
//! `leave`, at the end of stdin, after `--for`, or on Ctrl-C.
//!
//! Commands on stdin, one per line (each answered on stdout by a `sent`
//! or `refused` line naming its line number):
//!
//! ```text
//! broadcast TEXT...                     on _suggestions, normal priority
//! broadcast-on CHANNEL PRIORITY TEXT... on any channel (custom:NAME, or 0xHASH)
//! join ADDR                             join through another agent
//! leave                                 leave and exit
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use colony_core::AgentId;
use colony_core::channel::{Channel, fnv1a_32};
use colony_core::config::{Config, Sampling};
use colony_core::message::MessageId;
use colony_core::msg_type::MsgType;
use colony_core::node::{
    Command, CommandError, DropReason, Event, Handled, Input, Node, NodeStats,
};
use colony_core::payload::Payload;
use colony_core::priority::Disposition;
use colony_core::rng::{Rng, mix64};
use colony_core::signing::{KeyDirectory, SeededKeys, SigningKey};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::{EXIT_BAD_INPUT, EXIT_OK, stdin};
use crate::driver::{self, Clock, Report, SocketAddresses, Timed, Until};
use crate::memo_keys::MemoKeys;
use crate::scenario::{DurationText, Scenario};
use crate::script::reaction;

/// Tag of commands that did not come from a stdin line.
const TAG_NONE: u64 = 0;

/// Arguments of `colony node`.
#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// Address to listen on (IPv4; port 0 picks a free port, printed first).
    #[arg(long)]
    bind: SocketAddrV4,
    /// An agent to join through (repeat for more; any one that answers is enough).
    #[arg(long = "peer")]
    peers: Vec<SocketAddrV4>,
    /// The agent's name; its id derives from it (default: the bound address).
    #[arg(long)]
    name: Option<String>,
    /// Dense agent index (`colony cluster` numbers its agents); overrides --name.
    #[arg(long, hide = true)]
    index: Option<u64>,
    /// Take the protocol settings from this scenario's [protocol] section.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Seed of the node's random choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Broadcast this text on _suggestions once, `--after` the start.
    #[arg(long)]
    broadcast: Option<String>,
    /// When to send `--broadcast` (lets the join settle first).
    #[arg(long, default_value = "1s", value_parser = DurationText::parse)]
    after: DurationText,
    /// Leave after this long (default: at the end of stdin or on Ctrl-C).
    #[arg(long = "for", value_parser = DurationText::parse)]
    run_for: Option<DurationText>,
    /// Print events as JSON lines (for programs; `colony cluster` reads them).
    #[arg(long)]
    json: bool,
}

/// One line of `colony node --json` output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum NodeLine {
    /// The node is bound and running.
    Listening {
        /// The bound address.
        addr: String,
        /// The agent id.
        agent: String,
    },
    /// A stdin command was accepted; `id` is the message id it sent, if any.
    Sent { line: u64, id: Option<String> },
    /// A stdin `request` was sent; its answer or timeout names `request`.
    Requested { line: u64, request: u16 },
    /// A stdin command was refused.
    Refused { line: u64, error: String },
    /// A message was delivered. In Focused mode a normal-priority message
    /// is only announced here (`disposition` "queued", `text` empty): its
    /// text comes in a [`NodeLine::Read`] once read with `read`.
    Delivered {
        id: String,
        source: String,
        channel_hash: u32,
        priority: String,
        disposition: String,
        hops: u8,
        unix_ns: u64,
        text: String,
    },
    /// A queued message read from the inbox (`read [N]`).
    Read {
        id: String,
        source: String,
        channel_hash: u32,
        priority: String,
        text: String,
    },
    /// A peer's state changed.
    Peer { peer: String, change: String },
    /// An answer or a query or a digest or a timeout, summarised.
    Other { what: String },
    /// The node's counters when it stopped.
    Stats {
        datagrams_received: u64,
        datagrams_sent: u64,
        bytes_sent: u64,
        delivered: u64,
        /// Drops by reason name (`duplicate`, `expired`, …), the non-zero
        /// ones.
        drops: BTreeMap<String, u64>,
    },
}

impl NodeLine {
    fn human(&self) -> String {
        match self {
            NodeLine::Listening { addr, agent } => format!("listening on {addr} as {agent}"),
            NodeLine::Sent { line, id } => match id {
                Some(id) => format!("line {line}: sent {id}"),
                None => format!("line {line}: done"),
            },
            NodeLine::Requested { line, request } => {
                format!("line {line}: request {request} sent")
            }
            NodeLine::Refused { line, error } => format!("line {line}: refused: {error}"),
            NodeLine::Delivered {
                id,
                source,
                priority,
                hops,
                text,
                disposition,
                ..
            } if disposition == "queued" => {
                format!("queued {id} via {source} ({priority}, {hops} hops): `read` shows its text")
            }
            NodeLine::Delivered {
                id,
                source,
                priority,
                hops,
                text,
                disposition,
                ..
            } => format!(
                "delivered {id} via {source} ({priority}, {hops} hops, {disposition}): {text}"
            ),
            NodeLine::Read {
                id,
                source,
                priority,
                text,
                ..
            } => format!("read {id} via {source} ({priority}): {text}"),
            NodeLine::Peer { peer, change } => format!("peer {peer}: {change}"),
            NodeLine::Other { what } => what.clone(),
            NodeLine::Stats {
                datagrams_received,
                datagrams_sent,
                delivered,
                ..
            } => format!(
                "stopped: {datagrams_received} datagrams in, {datagrams_sent} out, \
                 {delivered} delivered"
            ),
        }
    }
}

/// The node's clock and the Unix second its zero falls on: the clock
/// starts at the last whole Unix second, so header timestamps
/// (`epoch_unix_s` + the node's time) are real Unix time. Processes started
/// at different times then agree on every message's age; a fixed epoch made
/// each count from its own start, and a node started more than a TTL after
/// another dropped that one's messages as expired.
fn unix_clock() -> (u32, Clock) {
    let since_epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let second = u32::try_from(since_epoch.as_secs()).unwrap_or(u32::MAX);
    let into_second = std::time::Duration::from_nanos(u64::from(since_epoch.subsec_nanos()));
    (
        second,
        Clock::with_epoch(tokio::time::Instant::now() - into_second),
    )
}

/// Wall-clock nanoseconds since the Unix epoch: real processes on one
/// machine share this clock, so `colony cluster` can compare their times.
pub(super) fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn print_line(json: bool, line: &NodeLine) {
    let text = if json {
        serde_json::to_string(line).unwrap_or_default()
    } else {
        line.human()
    };
    let mut out = std::io::stdout().lock();
    // A closed stdout (the reader went away) must not stop the agent.
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Turns events into output lines, telling a queued message's notice from
/// its reading (both are [`Event::Delivered`]; the second carries the text).
#[derive(Default)]
struct EventLines {
    /// Announced as queued, not read yet.
    queued: BTreeSet<MessageId>,
}

impl EventLines {
    fn line(&mut self, event: &Event<SocketAddrV4>) -> NodeLine {
        match event {
            Event::Delivered(d) if self.queued.remove(&d.id) => NodeLine::Read {
                id: d.id.to_string(),
                source: d.source.to_string(),
                channel_hash: d.channel_hash,
                priority: d.priority.name().into(),
                text: payload_text(d.msg_type, &d.payload),
            },
            Event::Delivered(d) => {
                if d.disposition == Disposition::Queued {
                    self.queued.insert(d.id);
                }
                NodeLine::Delivered {
                    id: d.id.to_string(),
                    source: d.source.to_string(),
                    channel_hash: d.channel_hash,
                    priority: d.priority.name().into(),
                    disposition: format!("{:?}", d.disposition).to_lowercase(),
                    hops: d.hops,
                    unix_ns: unix_ns(),
                    text: payload_text(d.msg_type, &d.payload),
                }
            }
            Event::Peer { peer, change } => NodeLine::Peer {
                peer: peer.to_string(),
                change: format!("{change:?}").to_lowercase(),
            },
            Event::Query { from, query, .. } => NodeLine::Other {
                what: format!("query from {from}: {} (answered)", query.question),
            },
            Event::Response {
                request,
                from,
                answer,
            } => NodeLine::Other {
                what: format!("request {request}: answer from {from}: {answer}"),
            },
            Event::RequestTimedOut { request, to } => NodeLine::Other {
                what: format!("request {request} to {to} timed out"),
            },
            Event::PartitionSuspected { peers_lost } => NodeLine::Other {
                what: format!("lost {peers_lost} neighbours: partition suspected"),
            },
            Event::Digest(d) => NodeLine::Other {
                what: format!("digest: {} kinds of message", d.counts.len()),
            },
        }
    }
}

/// A payload as text: an app payload's bytes, an extended message's JSON,
/// a typed payload's fields as JSON.
fn payload_text(msg_type: MsgType, payload: &[u8]) -> String {
    if payload.is_empty() {
        return String::new();
    }
    match Payload::decode(msg_type, payload) {
        Ok(Payload::App(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Ok(Payload::Extended(text)) => text,
        Ok(typed) => typed.to_json().map(|v| v.to_string()).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

fn agent_id(args: &NodeArgs, bound: SocketAddrV4) -> (AgentId, u64) {
    if let Some(index) = args.index {
        return (AgentId::from_index(index), index);
    }
    let name = args.name.clone().unwrap_or_else(|| bound.to_string());
    let high = mix64(u64::from(fnv1a_32(name.as_bytes())) ^ crate::streams::NODE_RNG);
    let low = mix64(high ^ name.len() as u64);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    (AgentId(bytes), high)
}

/// What one process takes from `--scenario`: the protocol of its
/// `[protocol]` section, the channels its `[[agents.subscribe]]` groups give
/// this agent's `--index`, and with `signatures = true` its signing key and
/// every agent's public key (derived from `--seed` and the agent indices, as
/// in the simulator).
struct Setup {
    config: Config,
    channels: Vec<Channel>,
    security: Option<(SigningKey, Arc<dyn KeyDirectory>)>,
}

fn setup(args: &NodeArgs) -> Result<Setup, String> {
    let Some(path) = &args.scenario else {
        return Ok(Setup {
            config: Config::default(),
            channels: Vec::new(),
            security: None,
        });
    };
    let scenario = Scenario::load(&path.to_string_lossy()).map_err(|e| e.to_string())?;
    let spec = scenario.spec(args.seed);
    let index = args.index.and_then(|i| u32::try_from(i).ok());
    if let Sampling::Uniform { .. } = spec.node.sampling {
        return Err(
            "sampling = \"uniform\" needs agents numbered 0..n; a process on a real \
             network samples its peers from its views: use sampling = \"views\""
                .into(),
        );
    }
    spec.node.validate()?;
    let security = if spec.signatures {
        let Some(index) = index.filter(|i| *i < spec.agents) else {
            return Err(format!(
                "signatures = true: keys derive from the seed and the agent's index, so \
                 give --index 0..{} (colony cluster does)",
                spec.agents
            ));
        };
        let directory: Arc<dyn KeyDirectory> =
            Arc::new(MemoKeys::new(args.seed, u64::from(spec.agents)));
        Some((
            SeededKeys::signing_key(args.seed, u64::from(index)),
            directory,
        ))
    } else {
        None
    };
    Ok(Setup {
        config: spec.node,
        channels: spec
            .subscriptions
            .into_iter()
            .filter(|s| index.is_some_and(|i| s.agents.contains(i)))
            .map(|s| s.channel)
            .collect(),
        security,
    })
}

pub(crate) fn node(args: &NodeArgs) -> u8 {
    let setup = match setup(args) {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("colony node: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("colony node: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let result = runtime.block_on(run_node(args, setup));
    // The stdin reader is a blocking read that ends only with its input:
    // waiting for it kept a `--for` node alive until stdin closed.
    runtime.shutdown_background();
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("colony node: {e}");
            EXIT_BAD_INPUT
        }
    }
}

/// Feeds stdin lines to the node until `leave` or the end of input.
async fn read_stdin(
    json: bool,
    commands: UnboundedSender<(u64, Command<SocketAddrV4>)>,
    leave_at_end: bool,
) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut number = 0u64;
    while let Ok(Some(line)) = lines.next_line().await {
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        match stdin::parse_command(&line) {
            Ok(command) => {
                let leaving = matches!(command, Command::Leave);
                if commands.send((number, command)).is_err() || leaving {
                    return;
                }
            }
            Err(error) => print_line(
                json,
                &NodeLine::Refused {
                    line: number,
                    error,
                },
            ),
        }
    }
    if leave_at_end {
        let _ = commands.send((TAG_NONE, Command::Leave));
    } else {
        // Keep the channel open: `--for` ends the run.
        std::future::pending::<()>().await;
    }
}

/// Binds the node's socket; its IPv4 address.
async fn bind(args: &NodeArgs) -> Result<(tokio::net::UdpSocket, SocketAddrV4), String> {
    let socket = tokio::net::UdpSocket::bind(args.bind)
        .await
        .map_err(|e| format!("cannot bind {}: {e}", args.bind))?;
    match socket.local_addr() {
        Ok(SocketAddr::V4(v4)) => Ok((socket, v4)),
        Ok(other) => Err(format!("bound to {other}, not an IPv4 address")),
        Err(e) => Err(format!("cannot read the bound address: {e}")),
    }
}

/// The node at `bound`, on real Unix time, secured and subscribed, its
/// first timeout handled; with its clock and agent id.
fn start_node(
    args: &NodeArgs,
    setup: Setup,
    bound: SocketAddrV4,
) -> (Node<SocketAddrV4>, Clock, AgentId) {
    let Setup {
        config,
        channels,
        security,
    } = setup;
    let (id, stream) = agent_id(args, bound);
    let rng = Rng::for_agent(args.seed, crate::streams::NODE_RNG, stream);
    let (epoch_unix_s, clock) = unix_clock();
    let config = Config {
        epoch_unix_s,
        ..config
    };
    let mut node = Node::new(id, bound, Arc::new(config), rng);
    // A restarted process must not reuse its earlier life's message ids
    // (see `Node::start_seq_after`): its start time gives it a start of its
    // own.
    node.start_seq_after(mix64(unix_ns() ^ stream) as u16);
    if let Some((signer, directory)) = security {
        node.set_security(Some(signer), Some(directory));
    }
    let started = clock.now();
    for channel in channels {
        // Checked against the table's bounds when the scenario loaded.
        let _ = node.handle(started, Input::Command(Command::Subscribe(channel)));
    }
    let _ = node.handle(started, Input::Timeout);
    (node, clock, id)
}

/// Feeds the node's commands: the joins of `--peer`, the lines of stdin,
/// and a leave when `--for` runs out or on Ctrl-C.
fn spawn_inputs(args: &NodeArgs, tx: UnboundedSender<(u64, Command<SocketAddrV4>)>) {
    if !args.peers.is_empty() {
        let join = Command::Join {
            contacts: args.peers.clone(),
        };
        let _ = tx.send((TAG_NONE, join));
    }
    tokio::spawn(read_stdin(args.json, tx.clone(), args.run_for.is_none()));
    let run_for = args.run_for;
    tokio::spawn(async move {
        let time_up = async {
            match run_for {
                Some(d) => tokio::time::sleep(d.0).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = time_up => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        let _ = tx.send((TAG_NONE, Command::Leave));
    });
}

/// The line answering stdin line `line`, from what the node did with it.
fn handled_line(line: u64, result: &Result<Handled, CommandError>) -> NodeLine {
    match result {
        Ok(Handled::Sent(id)) => NodeLine::Sent {
            line,
            id: Some(id.to_string()),
        },
        Ok(Handled::Requested(request)) => NodeLine::Requested {
            line,
            request: *request,
        },
        Ok(Handled::Done) => NodeLine::Sent { line, id: None },
        Err(e) => NodeLine::Refused {
            line,
            error: e.to_string(),
        },
    }
}

async fn run_node(args: &NodeArgs, setup: Setup) -> Result<(), String> {
    let (socket, bound) = bind(args).await?;
    let (mut node, clock, id) = start_node(args, setup, bound);
    let json = args.json;
    print_line(
        json,
        &NodeLine::Listening {
            addr: bound.to_string(),
            agent: id.to_string(),
        },
    );
    let mut schedule = Vec::new();
    if let Some(text) = &args.broadcast {
        schedule.push(Timed {
            at: clock.now() + std::time::Duration::from_nanos(args.after.as_ns()),
            command: stdin::parse_command(&format!("broadcast {text}"))?,
            tag: TAG_NONE,
        });
    }
    let (tx, mut rx) = unbounded_channel();
    spawn_inputs(args, tx);
    let mut lines = EventLines::default();
    let mut sink = |report: Report<'_, SocketAddrV4>| match report {
        Report::Event(_, event) => {
            print_line(json, &lines.line(event));
            reaction(event)
        }
        Report::Handled(_, tag, result) if tag != TAG_NONE => {
            print_line(json, &handled_line(tag, result));
            None
        }
        _ => None,
    };
    // Until the node has left: its leave notices go out before the driver
    // returns.
    let stats = driver::run(
        &mut node,
        &socket,
        &SocketAddresses,
        clock,
        schedule,
        Some(&mut rx),
        Until::Left,
        &mut sink,
    )
    .await;
    if stats.socket_errors > 0 {
        eprintln!(
            "colony node: {} datagrams refused by the socket",
            stats.socket_errors
        );
    }
    print_line(json, &stats_line(node.stats()));
    Ok(())
}

fn stats_line(stats: &NodeStats) -> NodeLine {
    NodeLine::Stats {
        datagrams_received: stats.datagrams_received,
        datagrams_sent: stats.datagrams_sent,
        bytes_sent: stats.bytes_sent,
        delivered: stats.delivered,
        drops: DropReason::ALL
            .iter()
            .zip(stats.drops())
            .filter(|(_, n)| *n > 0)
            .map(|(reason, n)| (reason.name().to_string(), n))
            .collect(),
    }
}
