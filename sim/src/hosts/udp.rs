//! The in-process UDP host: every agent is a task running the async driver
//! over a real `tokio::net::UdpSocket` bound to 127.0.0.1, all on one
//! current-thread runtime. Time is real (a scenario of 10 s takes 10 s,
//! less when it stops at full coverage) and the network is the machine's
//! loopback: the scenario's latency, loss and faults do not apply, which
//! [`check`] says rather than pretending otherwise.
//!
//! For agents in separate processes, see `colony cluster`.

use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use colony_core::node::Node;
use colony_core::time::Time;
use tokio::net::UdpSocket;

use super::{Outcome, Recording, RecordingSink, drive_agent, schedule_for, start_nodes};
use crate::driver::{Clock, DenseAddresses, Until};
use crate::metrics::RunFacts;
use crate::plan::bootstrap::Bootstrap;
use crate::plan::{Schedule, SimSpec};

/// Most agents of an in-process UDP run: each holds a socket (a file
/// descriptor; the usual soft limit is 1,024) and all share one thread.
pub const UDP_AGENTS_MAX: u32 = 500;

/// How often the host checks whether the run reached full coverage.
const COMPLETION_POLL: Duration = Duration::from_millis(5);

/// Why a spec cannot run on loopback UDP.
#[derive(Debug)]
pub enum UdpError {
    /// More agents than [`UDP_AGENTS_MAX`], or none.
    Agents(u32),
    /// The spec asks for something a real network cannot do on demand.
    Unsupported(String),
    /// The node configuration is inconsistent.
    Spec(String),
    /// A socket or the runtime could not be set up.
    Io(std::io::Error),
}

impl std::fmt::Display for UdpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UdpError::Agents(n) => write!(
                f,
                "{n} agents: a loopback run takes 1 to {UDP_AGENTS_MAX} agents (one socket each)"
            ),
            UdpError::Unsupported(what) => write!(f, "real UDP cannot {what}"),
            UdpError::Spec(why) => write!(f, "{why}"),
            UdpError::Io(e) => write!(f, "cannot set up loopback sockets: {e}"),
        }
    }
}

impl std::error::Error for UdpError {}

/// What a loopback run cannot do, named.
pub fn check(spec: &SimSpec) -> Result<(), UdpError> {
    if spec.agents == 0 || spec.agents > UDP_AGENTS_MAX {
        return Err(UdpError::Agents(spec.agents));
    }
    spec.node.validate().map_err(UdpError::Spec)?;
    if !spec.faults.is_empty() {
        return Err(UdpError::Unsupported(
            "inject the scenario's faults (use the fast engine or turmoil)".into(),
        ));
    }
    if !spec.adversary.is_empty() {
        return Err(UdpError::Unsupported(
            "run Byzantine agents (their wrappers run on the fast engine)".into(),
        ));
    }
    if !spec.cpu.is_empty() {
        return Err(UdpError::Unsupported(
            "slow down an agent's CPU (agents.cpu)".into(),
        ));
    }
    Ok(())
}

/// Runs `spec` on loopback sockets in real time.
pub fn run(spec: &SimSpec) -> Result<Outcome, UdpError> {
    check(spec)?;
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(UdpError::Io)?;
    let local = tokio::task::LocalSet::new();
    let (recording, nodes, elapsed) = local.block_on(&runtime, run_agents(spec))?;
    let recording = Rc::try_unwrap(recording)
        .map_err(|_| UdpError::Spec("an agent task outlived the run".into()))?
        .into_inner();
    let run = RunFacts {
        engine: "udp",
        threads: 1,
        trace: 0,
        virtual_time_ns: elapsed.as_nanos() as u64,
        wall_seconds: started.elapsed().as_secs_f64(),
        events: 0,
        crashed_at_end: 0,
    };
    let nodes: Vec<&Node<u32>> = nodes.iter().collect();
    // Loopback loses nothing the host could count.
    Ok(recording.finish(spec, run, &nodes, 0, &[]))
}

type Finished = (Rc<RefCell<Recording>>, Vec<Node<u32>>, Duration);

async fn run_agents(spec: &SimSpec) -> Result<Finished, UdpError> {
    let mut sockets = Vec::with_capacity(spec.agents as usize);
    for _ in 0..spec.agents {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(UdpError::Io)?;
        sockets.push(socket);
    }
    let addrs: Vec<SocketAddr> = sockets
        .iter()
        .map(UdpSocket::local_addr)
        .collect::<Result<_, _>>()
        .map_err(UdpError::Io)?;
    let book = Rc::new(DenseAddresses::new(addrs));
    let recording = Rc::new(RefCell::new(Recording::new(spec)));
    let schedule = Schedule::new(spec);
    let nodes: Vec<Rc<RefCell<Node<u32>>>> = start_nodes(spec, &Bootstrap::new(spec))
        .into_iter()
        .map(|n| Rc::new(RefCell::new(n)))
        .collect();
    let epoch = tokio::time::Instant::now();
    let clock = Clock::with_epoch(epoch);
    let stop = Until::Time(Time::from_ns(spec.stop.duration_ns));
    let mut tasks = tokio::task::JoinSet::new();
    for (agent, socket) in (0..spec.agents).zip(sockets) {
        let node = Rc::clone(&nodes[agent as usize]);
        let book = Rc::clone(&book);
        let sink = RecordingSink {
            agent,
            recording: Rc::clone(&recording),
        };
        let schedule = schedule_for(spec, &schedule, agent);
        tasks.spawn_local(async move {
            drive_agent(&node, &socket, &book, clock, schedule, stop, sink).await
        });
    }
    while !tasks.is_empty() {
        if spec.stop.at_full_coverage && recording.borrow().complete() {
            tasks.abort_all();
        }
        tokio::select! {
            _ = tasks.join_next() => {}
            () = tokio::time::sleep(COMPLETION_POLL) => {}
        }
    }
    let elapsed = epoch.elapsed();
    let nodes = nodes
        .into_iter()
        .map(|n| Rc::try_unwrap(n).map(RefCell::into_inner))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| UdpError::Spec("an agent task outlived the run".into()))?;
    Ok((recording, nodes, elapsed))
}
