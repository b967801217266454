//! The turmoil host: every agent is a turmoil host running the async driver
//! over `turmoil::net::UdpSocket`, in turmoil's deterministic simulated
//! network and time.
//!
//! The scenario maps onto turmoil's own knobs: a constant or uniform
//! latency becomes turmoil's `[min, max]` message latency (turmoil draws
//! within it on an exponential curve, in whole milliseconds); constant
//! region-to-region latencies become per-link latencies; loss and
//! duplication are drawn per datagram at the sending socket
//! ([`LossySocket`]) by the fast engine's network rule and keyed draws, and
//! losses counted as `datagrams_lost` (turmoil's own link failures drop
//! datagrams without counting them, so its fail rate stays 0), and so are
//! burst-loss faults (the same Gilbert–Elliott chain and draws);
//! partitions become turmoil partitions (one-way ones too); clogs hold the
//! clogged agents' links (turmoil also holds what is already in flight on
//! them, the fast engine only what is sent during the clog); crashes crash
//! the host and restarts bounce it. turmoil's RNG is seeded with the
//! scenario seed, so the same seed gives the same run.
//!
//! turmoil ticks every host every step (1 ms of simulated time) and, for
//! each host, scans every link that ever carried a datagram: a run costs
//! about agents³ per simulated second. This host is for small,
//! high-fidelity runs and refuses more than [`TURMOIL_AGENTS_MAX`] agents.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use colony_core::node::Node;
use colony_core::time::Time;

use super::{Outcome, Recording, RecordingSink, drive_agent, schedule_for, start_nodes};
use crate::agent_set::AgentSet;
use crate::driver::{Clock, DatagramSocket, DenseAddresses, Timed, Until};
use crate::engine::Progress;
use crate::faults::{FaultKind, FaultTimeline};
use crate::link_rng::StreamKeys;
use crate::metrics::RunFacts;
use crate::network::{Fate, Latency, NetworkModel};
use crate::plan::bootstrap::Bootstrap;
use crate::plan::{Due, Schedule, SimSpec};
use crate::ratio::Ratio;

/// Most agents a turmoil run takes. Measured here (2-core VM) on the
/// quickstart scenario (4 s simulated): 50 agents 1.9 s wall, 100 agents
/// 17 s, 200 agents 134 s — cubic, as turmoil scans every link for every
/// host each millisecond. Beyond 200 use the fast engine, built for it.
pub const TURMOIL_AGENTS_MAX: u32 = 200;

/// The UDP port every agent listens on (each agent has its own address).
pub const AGENT_PORT: u16 = 7070;

/// Datagrams a host's socket queues before turmoil drops more: far above
/// what a gossip round brings (a real socket buffer holds ~200 KiB).
const UDP_QUEUE_DATAGRAMS: usize = 4096;

/// Simulated time turmoil may run past the scenario's end before it calls
/// the run stuck; the loop below stops at the scenario's end first.
const DURATION_MARGIN: Duration = Duration::from_secs(1);

/// turmoil's step, and the finest latency it can tell apart.
const TICK: Duration = Duration::from_millis(1);

/// Steps between progress reports.
const PROGRESS_STEPS: u64 = 100;

/// Why a scenario cannot run under turmoil.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TurmoilError {
    /// More agents than [`TURMOIL_AGENTS_MAX`].
    TooManyAgents {
        /// Agents asked for.
        agents: u32,
    },
    /// The scenario uses something turmoil cannot model.
    Unsupported(String),
    /// The spec is inconsistent.
    Spec(String),
    /// turmoil stopped the run (a host failed).
    Sim(String),
}

impl std::fmt::Display for TurmoilError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TurmoilError::TooManyAgents { agents } => write!(
                f,
                "{agents} agents is too many for turmoil (at most {TURMOIL_AGENTS_MAX}): \
                 turmoil scans every link for every host each simulated millisecond, so \
                 its cost grows with the cube of the agents (200 agents already take \
                 minutes); run it on the fast engine (--engine fast)"
            ),
            TurmoilError::Unsupported(what) => write!(f, "turmoil cannot model {what}"),
            TurmoilError::Spec(why) => write!(f, "{why}"),
            TurmoilError::Sim(why) => write!(f, "turmoil stopped the run: {why}"),
        }
    }
}

impl std::error::Error for TurmoilError {}

/// turmoil's `[min, max]` message latency for a scenario latency.
fn latency_range(latency: &Latency) -> Result<(Duration, Duration), TurmoilError> {
    match latency {
        Latency::Constant(d) => Ok((*d, *d)),
        Latency::Uniform { min, max } => Ok((*min, *max)),
        other => Err(TurmoilError::Unsupported(format!(
            "the latency {other:?}: turmoil draws latency within [min, max] on its own \
             curve; use a constant or uniform latency"
        ))),
    }
}

/// What turmoil cannot run, named.
fn check(spec: &SimSpec) -> Result<(), TurmoilError> {
    if spec.agents > TURMOIL_AGENTS_MAX {
        return Err(TurmoilError::TooManyAgents {
            agents: spec.agents,
        });
    }
    spec.check()
        .map_err(|e| TurmoilError::Spec(e.to_string()))?;
    if !spec.adversary.is_empty() {
        return Err(TurmoilError::Unsupported(
            "Byzantine agents: their wrappers run on the fast engine".into(),
        ));
    }
    for fault in spec.faults.faults() {
        let refused = match fault.kind {
            FaultKind::Latency { .. } => {
                Some("a latency fault: turmoil sets one latency per link, not per datagram sent")
            }
            _ => None,
        };
        if let Some(why) = refused {
            return Err(TurmoilError::Unsupported(why.into()));
        }
    }
    if !spec.cpu.is_empty() {
        return Err(TurmoilError::Unsupported(
            "a CPU model (agents.cpu): turmoil hosts have no simulated CPU".into(),
        ));
    }
    latency_range(&spec.network.latency)?;
    if let Some(regions) = &spec.network.regions {
        for (from, row) in regions.latency.iter().enumerate() {
            for (to, latency) in row.iter().enumerate() {
                let Latency::Constant(d) = latency else {
                    return Err(TurmoilError::Unsupported(
                        "a non-constant region latency: turmoil sets one latency per link".into(),
                    ));
                };
                if regions.latency[to][from] != Latency::Constant(*d) {
                    return Err(TurmoilError::Unsupported(format!(
                        "asymmetric latency between regions {} and {}: turmoil links \
                         are symmetric",
                        regions.names[from], regions.names[to]
                    )));
                }
            }
        }
    }
    Ok(())
}

/// What every agent's sending socket shares: the run's network model and
/// fault timeline with their keyed draws (the fast engine's), the loss
/// ratio now (a loss fault changes it), and the datagrams lost so far.
struct Links {
    network: NetworkModel,
    faults: FaultTimeline,
    keys: StreamKeys,
    seed: u64,
    loss: Cell<Ratio>,
    lost: Cell<u64>,
}

/// A host's turmoil socket behind the scenario's network model: each
/// datagram meets the fate the fast engine's network link rule gives it
/// (lost, delivered, or duplicated, by draws keyed on seed, agent, target
/// and the agent's send count; turmoil supplies the latency), then a
/// burst-loss fault's chain. A lost datagram is "sent" (the driver cannot
/// tell, as with a real network) and counted.
struct LossySocket {
    inner: turmoil::net::UdpSocket,
    agent: u32,
    links: Rc<Links>,
    sent: Cell<u32>,
    /// The uplink's Gilbert–Elliott state during a burst-loss fault.
    bursting: Cell<bool>,
}

impl DatagramSocket for LossySocket {
    async fn send_to(&self, bytes: &[u8], to: SocketAddr) -> io::Result<usize> {
        let seq = self.sent.get();
        self.sent.set(seq.wrapping_add(1));
        let target = match to.ip() {
            IpAddr::V4(ip) => u32::from(ip),
            IpAddr::V6(ip) => u128::from(ip) as u32,
        };
        let links = &self.links;
        let fate =
            links
                .network
                .fate_with_loss(&links.keys, self.agent, target, seq, links.loss.get());
        let mut bursting = self.bursting.get();
        let now_ns = turmoil::sim_elapsed().unwrap_or_default().as_nanos() as u64;
        let burst_lost =
            links
                .faults
                .burst_lost(links.seed, self.agent, seq, now_ns, &mut bursting);
        self.bursting.set(bursting);
        match fate {
            Fate::Lost => {}
            _ if burst_lost => {}
            Fate::Delivered(_) => return self.inner.send_to(bytes, to).await,
            Fate::Duplicated(..) => {
                self.inner.send_to(bytes, to).await?;
                return self.inner.send_to(bytes, to).await;
            }
        }
        links.lost.set(links.lost.get() + 1);
        Ok(bytes.len())
    }

    fn recv_from(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<(usize, SocketAddr)>> {
        self.inner.recv_from(buf)
    }
}

/// A change to turmoil's network or hosts at a time.
#[derive(Clone, Debug)]
enum Change {
    Cut { side: AgentSet, one_way: bool },
    Heal { side: AgentSet, one_way: bool },
    Crash(AgentSet),
    Restart { agents: AgentSet, lose_state: bool },
    Loss(Ratio),
    Hold { side: AgentSet, release: bool },
}

/// The network's and the hosts' changes over the run: the fault timeline's
/// partitions, clogs and loss, and the schedule's crashes and restarts.
fn timeline(spec: &SimSpec, schedule: &Schedule) -> Vec<(u64, Change)> {
    let mut changes = Vec::new();
    for fault in spec.faults.faults() {
        let (start, end) = match &fault.kind {
            FaultKind::Partition { side, one_way } => (
                Change::Cut {
                    side: side.clone(),
                    one_way: *one_way,
                },
                Change::Heal {
                    side: side.clone(),
                    one_way: *one_way,
                },
            ),
            FaultKind::Latency { .. } => unreachable!("refused by check"),
            // Crashes and churn's departures come from the schedule; burst
            // loss acts at the sending socket.
            FaultKind::Crash { .. } | FaultKind::Churn { .. } | FaultKind::BurstLoss { .. } => {
                continue;
            }
            FaultKind::Clog { agents } => (
                Change::Hold {
                    side: agents.clone(),
                    release: false,
                },
                Change::Hold {
                    side: agents.clone(),
                    release: true,
                },
            ),
            FaultKind::Loss { loss } => (Change::Loss(*loss), Change::Loss(spec.network.loss)),
        };
        changes.push((fault.at_ns, start));
        if let Some(until) = fault.until_ns {
            changes.push((until, end));
        }
    }
    for entry in schedule.entries() {
        let agents = AgentSet::from_agents(&[entry.agent]);
        match entry.due {
            Due::Crash => changes.push((entry.at_ns, Change::Crash(agents))),
            Due::Restart { lose_state } => {
                changes.push((entry.at_ns, Change::Restart { agents, lose_state }));
            }
            _ => {}
        }
    }
    changes.sort_by_key(|(at, _)| *at);
    changes
}

/// Cuts (or heals) every link between `side` and the other agents; one-way
/// cuts only the direction from `side`.
fn set_cut(sim: &turmoil::Sim<'_>, ips: &[IpAddr], side: &AgentSet, one_way: bool, cut: bool) {
    for a in side.iter().filter(|a| (*a as usize) < ips.len()) {
        for b in (0..ips.len() as u32).filter(|b| !side.contains(*b)) {
            let (a, b) = (ips[a as usize], ips[b as usize]);
            match (one_way, cut) {
                (false, true) => sim.partition(a, b),
                (false, false) => sim.repair(a, b),
                (true, true) => sim.partition_oneway(a, b),
                (true, false) => sim.repair_oneway(a, b),
            }
        }
    }
}

fn agent_name(agent: u32) -> String {
    format!("agent-{agent}")
}

/// What the hosts of a turmoil run share with the loop that drives them.
struct World {
    nodes: Vec<Rc<RefCell<Node<u32>>>>,
    recording: Rc<RefCell<Recording>>,
    book: Rc<DenseAddresses>,
    ips: Vec<IpAddr>,
    links: Rc<Links>,
    bootstrap: Bootstrap,
    schedule: Schedule,
    crashed: Vec<bool>,
    restarts: Vec<u32>,
}

/// turmoil's simulation of `spec`'s network: seed, step, latency range
/// and each region pair's latency.
fn build_sim(spec: &SimSpec) -> Result<turmoil::Sim<'static>, TurmoilError> {
    let (latency_min, latency_max) = latency_range(&spec.network.latency)?;
    let end = Duration::from_nanos(spec.stop.duration_ns);
    let sim = turmoil::Builder::new()
        .rng_seed(spec.seed)
        .tick_duration(TICK)
        .simulation_duration(end + DURATION_MARGIN)
        .udp_capacity(UDP_QUEUE_DATAGRAMS)
        .min_message_latency(latency_min)
        .max_message_latency(latency_max)
        .fail_rate(0.0)
        .build();
    if let Some(regions) = &spec.network.regions {
        let ips: Vec<IpAddr> = (0..spec.agents)
            .map(|a| sim.lookup(agent_name(a)))
            .collect();
        for a in 0..spec.agents {
            for b in a + 1..spec.agents {
                let Latency::Constant(d) = regions.latency[regions.of(a)][regions.of(b)] else {
                    unreachable!("checked: region latencies are constant");
                };
                sim.set_link_latency(ips[a as usize], ips[b as usize], d);
            }
        }
    }
    Ok(sim)
}

impl World {
    fn new(spec: &SimSpec, sim: &turmoil::Sim<'_>) -> Self {
        let ips: Vec<IpAddr> = (0..spec.agents)
            .map(|a| sim.lookup(agent_name(a)))
            .collect();
        let addrs = ips
            .iter()
            .map(|ip| SocketAddr::new(*ip, AGENT_PORT))
            .collect();
        let bootstrap = Bootstrap::new(spec);
        let nodes = start_nodes(spec, &bootstrap)
            .into_iter()
            .map(|n| Rc::new(RefCell::new(n)))
            .collect();
        World {
            nodes,
            recording: Rc::new(RefCell::new(Recording::new(spec))),
            book: Rc::new(DenseAddresses::new(addrs)),
            ips,
            links: Rc::new(Links {
                network: spec.network.clone(),
                faults: spec.faults.clone(),
                keys: StreamKeys::new(spec.seed),
                seed: spec.seed,
                loss: Cell::new(spec.network.loss),
                lost: Cell::new(0),
            }),
            bootstrap,
            schedule: Schedule::new(spec),
            crashed: vec![false; spec.agents as usize],
            restarts: vec![0; spec.agents as usize],
        }
    }

    /// Makes every agent a turmoil host running its driver (again after a
    /// bounce, without replaying what was due while it was down).
    fn spawn_hosts(&self, sim: &mut turmoil::Sim<'_>, spec: &SimSpec) {
        for agent in 0..spec.agents {
            let node = Rc::clone(&self.nodes[agent as usize]);
            let book = Rc::clone(&self.book);
            let recording = Rc::clone(&self.recording);
            let schedule = schedule_for(spec, &self.schedule, agent);
            let links = Rc::clone(&self.links);
            sim.host(agent_name(agent), move || {
                let host = Host {
                    agent,
                    node: Rc::clone(&node),
                    book: Rc::clone(&book),
                    recording: Rc::clone(&recording),
                    schedule: schedule.clone(),
                    links: Rc::clone(&links),
                };
                host.run()
            });
        }
    }

    /// Applies one change of the timeline at `now_ns`.
    fn apply(&mut self, sim: &mut turmoil::Sim<'_>, spec: &SimSpec, change: Change, now_ns: u64) {
        let agents = |set: &AgentSet| set.iter().filter(|a| *a < spec.agents).collect::<Vec<_>>();
        match change {
            Change::Cut { side, one_way } => set_cut(sim, &self.ips, &side, one_way, true),
            Change::Heal { side, one_way } => set_cut(sim, &self.ips, &side, one_way, false),
            Change::Crash(set) => {
                for a in agents(&set) {
                    sim.crash(agent_name(a));
                    self.crashed[a as usize] = true;
                }
            }
            Change::Restart {
                agents: set,
                lose_state,
            } => {
                for a in agents(&set) {
                    if lose_state {
                        self.restarts[a as usize] += 1;
                        let time = Time::from_ns(now_ns);
                        *self.nodes[a as usize].borrow_mut() =
                            self.bootstrap.restarted(a, self.restarts[a as usize], time);
                    }
                    sim.bounce(agent_name(a));
                    self.crashed[a as usize] = false;
                }
            }
            Change::Loss(ratio) => self.links.loss.set(ratio),
            Change::Hold { side, release } => {
                for a in agents(&side) {
                    for b in (0..spec.agents).filter(|b| *b != a) {
                        let (x, y) = (self.ips[a as usize], self.ips[b as usize]);
                        if release {
                            sim.release(x, y);
                        } else {
                            sim.hold(x, y);
                        }
                    }
                }
            }
        }
    }
}

/// One agent's turmoil host: its driver on its node, behind a lossy socket.
struct Host {
    agent: u32,
    node: Rc<RefCell<Node<u32>>>,
    book: Rc<DenseAddresses>,
    recording: Rc<RefCell<Recording>>,
    schedule: Vec<Timed<u32>>,
    links: Rc<Links>,
}

impl Host {
    async fn run(self) -> turmoil::Result {
        let socket = LossySocket {
            inner: turmoil::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, AGENT_PORT)).await?,
            agent: self.agent,
            links: self.links,
            sent: Cell::new(0),
            bursting: Cell::new(false),
        };
        // Every host's tokio clock starts when the host does; the core's
        // zero is the simulation's start.
        let elapsed = turmoil::sim_elapsed().unwrap_or_default();
        let clock = Clock::with_epoch(tokio::time::Instant::now() - elapsed);
        // After a restart, what was due while down is not replayed.
        let now = clock.now();
        let schedule = self.schedule.into_iter().filter(|t| t.at >= now).collect();
        let sink = RecordingSink {
            agent: self.agent,
            recording: self.recording,
        };
        drive_agent(
            &self.node,
            &socket,
            &self.book,
            clock,
            schedule,
            Until::Dropped,
            sink,
        )
        .await;
        Ok(())
    }
}

/// Runs `spec` under turmoil, calling `progress` now and then.
pub fn run(spec: &SimSpec, progress: &mut dyn FnMut(Progress)) -> Result<Outcome, TurmoilError> {
    check(spec)?;
    let started = Instant::now();
    let mut sim = build_sim(spec)?;
    let mut world = World::new(spec, &sim);
    world.spawn_hosts(&mut sim, spec);
    let end = Duration::from_nanos(spec.stop.duration_ns);
    let mut changes = timeline(spec, &world.schedule).into_iter().peekable();
    let mut steps = 0u64;
    loop {
        let now_ns = sim.elapsed().as_nanos() as u64;
        while let Some((_, change)) = changes.next_if(|(at, _)| *at <= now_ns) {
            world.apply(&mut sim, spec, change, now_ns);
        }
        let complete = spec.stop.at_full_coverage && world.recording.borrow().complete();
        if sim.elapsed() >= end || complete {
            break;
        }
        sim.step().map_err(|e| TurmoilError::Sim(e.to_string()))?;
        steps += 1;
        if steps.is_multiple_of(PROGRESS_STEPS) {
            progress(Progress {
                now_ns,
                until_ns: spec.stop.duration_ns,
                deliveries: world.recording.borrow().deliveries(),
                in_flight: 0,
            });
        }
    }
    let virtual_time_ns = (sim.elapsed().as_nanos() as u64).min(spec.stop.duration_ns);
    drop(sim); // ends every host's future, and with it its borrow of its node
    finish(spec, world, virtual_time_ns, started)
}

/// The outcome, once every host has ended.
fn finish(
    spec: &SimSpec,
    world: World,
    virtual_time_ns: u64,
    started: Instant,
) -> Result<Outcome, TurmoilError> {
    let outlived = || TurmoilError::Sim("a host outlived the simulation".into());
    let recording = Rc::try_unwrap(world.recording)
        .map_err(|_| outlived())?
        .into_inner();
    let nodes: Vec<Node<u32>> = world
        .nodes
        .into_iter()
        .map(|n| Rc::try_unwrap(n).map(RefCell::into_inner))
        .collect::<Result<_, _>>()
        .map_err(|_| outlived())?;
    let run = RunFacts {
        engine: "turmoil",
        threads: 1,
        trace: 0,
        virtual_time_ns,
        wall_seconds: started.elapsed().as_secs_f64(),
        events: 0,
        crashed_at_end: world.crashed.iter().filter(|c| **c).count() as u64,
    };
    let nodes: Vec<&Node<u32>> = nodes.iter().collect();
    Ok(recording.finish(spec, run, &nodes, world.links.lost.get(), &[]))
}
