//! `colony cluster`: N real agent processes (`colony node --json`) on
//! 127.0.0.1, driven through a scenario's joins and workload in real time,
//! their deliveries collected into the same report as every other host.
//!
//! Every process it starts it also stops: each child's stdin is a pipe
//! from this process, and a node leaves and exits when its stdin closes —
//! which happens at the end of the run, on failure, on Ctrl-C, and even if
//! this process is killed outright (the kernel closes the pipes). Children
//! still running after a grace period are killed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::Args;
use colony_core::config::Sampling;
use colony_core::message::MessageId;
use colony_core::node::{DropReason, NodeStats};
use colony_core::priority::{Disposition, Priority};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

use super::node::{NodeLine, unix_ns};
use super::run::publish;
use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK};
use crate::metrics::{DeliveryRecord, Metrics, RunFacts, eligible_receivers};
use crate::plan::{Broadcast, Due, Schedule, SimSpec};
use crate::scenario::Scenario;
use colony_core::payload::Payload;

/// Most agent processes: each is a process with its own runtime on this
/// machine; a hundred already outnumber the cores many times over.
pub(crate) const CLUSTER_AGENTS_MAX: u32 = 100;

/// How long a started agent may take to report its address.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How long agents get to leave and report their counters at the end.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Arguments of `colony cluster`.
#[derive(Debug, Args)]
pub(crate) struct ClusterArgs {
    /// The scenario: protocol, workload and stop condition (run in real time).
    #[arg(long)]
    scenario: PathBuf,
    /// Agent processes to start (default: the scenario's count).
    #[arg(long)]
    agents: Option<u32>,
    /// Seed (default: the scenario's first).
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory (default: reports/runs/NAME-cluster-SEED).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print only the verdicts.
    #[arg(long)]
    quiet: bool,
}

/// What the cluster cannot run, named; the spec with `agents` applied.
fn cluster_spec(scenario: &Scenario, args: &ClusterArgs) -> Result<SimSpec, String> {
    let seed = args
        .seed
        .or_else(|| scenario.file.seeds.first().copied())
        .unwrap_or(1);
    let mut spec = scenario.spec(seed);
    if let Some(n) = args.agents {
        spec.agents = n;
    }
    if spec.agents == 0 || spec.agents > CLUSTER_AGENTS_MAX {
        return Err(format!(
            "{} agents: a cluster runs 1 to {CLUSTER_AGENTS_MAX} processes on this machine",
            spec.agents
        ));
    }
    if let Sampling::Uniform { .. } = spec.node.sampling {
        return Err(
            "the scenario samples peers uniformly by agent number; real processes sample \
             from their views: use sampling = \"views\""
                .into(),
        );
    }
    if !spec.script.is_empty() {
        return Err(
            "the workload has sends or requests, which colony cluster does not schedule: \
             run them on the fast engine or turmoil (`colony run`), or by hand with \
             `colony node` (its stdin takes `send` and `request`)"
                .into(),
        );
    }
    if !spec.faults.is_empty() || !spec.cpu.is_empty() || !spec.adversary.is_empty() {
        return Err(
            "the scenario has faults, Byzantine agents or a CPU model, which real \
             processes on loopback cannot reproduce (use the fast engine)"
                .into(),
        );
    }
    if let Some((index, b)) = spec
        .workload
        .iter()
        .enumerate()
        .find(|(_, b)| b.origin >= spec.agents)
    {
        return Err(format!(
            "broadcast {index} comes from agent {}, but the cluster has {} agents",
            b.origin, spec.agents
        ));
    }
    Ok(spec)
}

pub(crate) fn cluster(args: &ClusterArgs) -> u8 {
    let path = args.scenario.to_string_lossy().to_string();
    let scenario = match Scenario::load(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let spec = match cluster_spec(&scenario, args) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("colony cluster: {path}: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("colony cluster: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let report = match runtime.block_on(run_cluster(&scenario, &spec, args.quiet)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("colony cluster: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let dir = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports/runs").join(format!("{}-cluster-{}", scenario.name(), spec.seed))
    });
    match publish(&scenario, report, &dir, args.quiet) {
        Ok(true) => EXIT_OK,
        Ok(false) => EXIT_FAILED,
        Err(e) => {
            eprintln!("colony cluster: {e}");
            EXIT_BAD_INPUT
        }
    }
}

/// One started agent process.
struct Agent {
    child: Child,
    stdin: Option<ChildStdin>,
    addr: String,
    /// Lines written to its stdin so far (the node numbers them too).
    lines: u64,
}

impl Agent {
    async fn send(&mut self, line: &str) -> Result<u64, String> {
        let stdin = self.stdin.as_mut().ok_or("the agent's input is closed")?;
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| format!("agent at {} stopped: {e}", self.addr))?;
        self.lines += 1;
        Ok(self.lines)
    }
}

/// Starts agent `index` and waits for its address; its later output lines
/// go to `lines`.
async fn start_agent(
    index: u32,
    scenario: &Scenario,
    seed: u64,
    lines: mpsc::UnboundedSender<(u32, NodeLine)>,
) -> Result<Agent, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find colony itself: {e}"))?;
    let mut child = tokio::process::Command::new(exe)
        .args(["node", "--bind", "127.0.0.1:0", "--json"])
        .args(["--index", &index.to_string(), "--seed", &seed.to_string()])
        .arg("--scenario")
        .arg(&scenario.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start agent {index}: {e}"))?;
    let stdout = child.stdout.take().ok_or("no agent output pipe")?;
    let mut reader = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(START_TIMEOUT, reader.next_line())
        .await
        .map_err(|_| format!("agent {index} did not start within {START_TIMEOUT:?}"))?
        .map_err(|e| format!("agent {index}: {e}"))?
        .ok_or_else(|| format!("agent {index} exited at start"))?;
    let addr = match serde_json::from_str(&first) {
        Ok(NodeLine::Listening { addr, .. }) => addr,
        _ => {
            return Err(format!(
                "agent {index} said `{first}` instead of its address"
            ));
        }
    };
    tokio::spawn(async move {
        while let Ok(Some(line)) = reader.next_line().await {
            if let Ok(parsed) = serde_json::from_str::<NodeLine>(&line)
                && lines.send((index, parsed)).is_err()
            {
                return;
            }
        }
    });
    Ok(Agent {
        stdin: child.stdin.take(),
        child,
        addr,
        lines: 0,
    })
}

/// A line to write to an agent at a time.
struct Line {
    at_ns: u64,
    agent: u32,
    line: String,
    /// The workload broadcast it sends.
    broadcast: Option<usize>,
}

/// The schedule's joins and broadcasts as stdin lines (the cluster refused
/// every other kind of entry before starting).
fn plan(spec: &SimSpec, agents: &[Agent]) -> Vec<Line> {
    let schedule = Schedule::new(spec);
    let mut plan: Vec<Line> = schedule
        .entries()
        .iter()
        .filter_map(|entry| {
            let (line, broadcast) = match entry.due {
                Due::Join(contact) => (format!("join {}", agents[contact as usize].addr), None),
                Due::Broadcast(index) => {
                    let index = index as usize;
                    (broadcast_line(&spec.workload[index], index), Some(index))
                }
                _ => return None,
            };
            Some(Line {
                at_ns: entry.at_ns,
                agent: entry.agent,
                line,
                broadcast,
            })
        })
        .collect();
    // Joins before broadcasts at the same time, as on every host.
    plan.sort_by_key(|d| (d.at_ns, d.broadcast.is_some()));
    plan
}

/// The stdin line that makes a node send workload broadcast `index`: the
/// same payload the simulator sends (opaque bytes as text of that length).
fn broadcast_line(b: &Broadcast, index: usize) -> String {
    let payload = b.payload.build(b.origin, index as u32);
    let (channel, priority) = (b.channel_hash, b.priority.name());
    match &payload {
        Payload::App(bytes) => format!(
            "broadcast-on 0x{channel:08x} {priority} {}",
            "x".repeat(bytes.len().max(1))
        ),
        Payload::Extended(text) => {
            format!("typed 0x{channel:08x} {priority} extended {text}")
        }
        typed => format!(
            "typed 0x{channel:08x} {priority} {} {}",
            typed.msg_type().name(),
            typed
                .to_json()
                .map_or_else(|_| "null".into(), |v| v.to_string())
        ),
    }
}

/// What the agents reported.
#[derive(Default)]
struct Collected {
    ids: Vec<Option<MessageId>>,
    deliveries: Vec<DeliveryRecord>,
    stats: BTreeMap<u32, NodeStats>,
    /// Distinct deliverers per broadcast, for stopping at full coverage.
    reached: BTreeMap<MessageId, u64>,
    /// Agents that can receive each broadcast.
    eligible: Vec<u64>,
}

impl Collected {
    fn take(&mut self, agent: u32, line: NodeLine, sent: &BTreeMap<(u32, u64), usize>, t0: u64) {
        match line {
            NodeLine::Sent { line, id: Some(id) } => {
                if let (Some(index), Some(id)) = (sent.get(&(agent, line)), MessageId::parse(&id)) {
                    self.ids[*index] = Some(id);
                }
            }
            NodeLine::Delivered {
                id,
                priority,
                disposition,
                hops,
                unix_ns,
                ..
            } => {
                let Some(id) = MessageId::parse(&id) else {
                    return;
                };
                *self.reached.entry(id).or_default() += 1;
                self.deliveries.push(DeliveryRecord {
                    id,
                    agent,
                    priority: Priority::from_name(&priority).unwrap_or(Priority::Normal),
                    disposition: match disposition.as_str() {
                        "queued" => Disposition::Queued,
                        "digest" => Disposition::Digest,
                        _ => Disposition::Immediate,
                    },
                    at: unix_ns.saturating_sub(t0),
                    hops,
                    // The node prints text, not the payload bytes.
                    payload_hash: 0,
                });
            }
            NodeLine::Stats {
                datagrams_received,
                datagrams_sent,
                bytes_sent,
                delivered,
                drops,
            } => {
                let mut stats = NodeStats::default();
                stats.datagrams_received = datagrams_received;
                stats.datagrams_sent = datagrams_sent;
                stats.bytes_sent = bytes_sent;
                stats.delivered = delivered;
                for (name, n) in drops {
                    if let Some(reason) = DropReason::ALL.iter().find(|r| r.name() == name) {
                        stats.add_drops(*reason, n);
                    }
                }
                self.stats.insert(agent, stats);
            }
            _ => {}
        }
    }

    fn complete(&self) -> bool {
        self.ids.iter().zip(&self.eligible).all(|(id, eligible)| {
            id.is_some_and(|id| self.reached.get(&id).copied().unwrap_or(0) >= *eligible)
        })
    }
}

async fn run_cluster(
    scenario: &Scenario,
    spec: &SimSpec,
    quiet: bool,
) -> Result<colony_reports::RunReport, String> {
    let started = Instant::now();
    if !quiet {
        println!(
            "colony cluster — scenario `{}`, seed {}, {} agent processes on 127.0.0.1 \
             (real time; the scenario's network model does not apply)",
            scenario.name(),
            spec.seed,
            spec.agents
        );
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut agents = Vec::with_capacity(spec.agents as usize);
    for index in 0..spec.agents {
        agents.push(start_agent(index, scenario, spec.seed, tx.clone()).await?);
    }
    drop(tx);
    let t0 = tokio::time::Instant::now();
    let mut run = ClusterRun {
        t0,
        t0_unix: unix_ns(),
        collected: Collected {
            ids: vec![None; spec.workload.len()],
            eligible: eligible_receivers(spec),
            ..Collected::default()
        },
        sent: BTreeMap::new(),
    };
    let interrupted = run.drive(spec, &mut agents, &mut rx).await?;
    let elapsed = t0.elapsed();
    run.stop(&mut agents, &mut rx, interrupted).await;
    if interrupted {
        eprintln!("colony cluster: interrupted; reporting what was collected");
    }
    let facts = RunFacts {
        engine: "udp-processes",
        threads: agents.len(),
        trace: 0,
        virtual_time_ns: elapsed.as_nanos() as u64,
        wall_seconds: started.elapsed().as_secs_f64(),
        events: 0,
        crashed_at_end: 0,
    };
    Ok(run.collected.report(spec, facts, agents.len()))
}

/// A cluster run in progress: its start, what the agents reported, and
/// which stdin line of which agent sent which broadcast.
struct ClusterRun {
    t0: tokio::time::Instant,
    t0_unix: u64,
    collected: Collected,
    sent: BTreeMap<(u32, u64), usize>,
}

impl ClusterRun {
    /// Writes the plan's lines at their times and collects what the agents
    /// print, until the stop condition or Ctrl-C (`true`: interrupted).
    async fn drive(
        &mut self,
        spec: &SimSpec,
        agents: &mut [Agent],
        rx: &mut mpsc::UnboundedReceiver<(u32, NodeLine)>,
    ) -> Result<bool, String> {
        let at = |ns: u64| self.t0 + Duration::from_nanos(ns);
        let deadline = at(spec.stop.duration_ns);
        let mut plan = plan(spec, agents).into_iter().peekable();
        loop {
            let next = plan.peek().map_or(deadline, |d| at(d.at_ns)).min(deadline);
            tokio::select! {
                () = tokio::time::sleep_until(next) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Ok(false);
                    }
                    while let Some(due) = plan.next_if(|d| at(d.at_ns) <= next) {
                        let line = agents[due.agent as usize].send(&due.line).await?;
                        if let Some(index) = due.broadcast {
                            self.sent.insert((due.agent, line), index);
                        }
                    }
                }
                line = rx.recv() => match line {
                    Some((agent, line)) => self.collected.take(agent, line, &self.sent, self.t0_unix),
                    None => return Err("every agent process exited".into()),
                },
                _ = tokio::signal::ctrl_c() => return Ok(true),
            }
            if spec.stop.at_full_coverage && plan.peek().is_none() && self.collected.complete() {
                return Ok(false);
            }
        }
    }

    /// Closes every agent's stdin (it leaves, prints its counters and
    /// exits), collects the counters for a grace period, then makes sure
    /// every process is gone.
    async fn stop(
        &mut self,
        agents: &mut [Agent],
        rx: &mut mpsc::UnboundedReceiver<(u32, NodeLine)>,
        interrupted: bool,
    ) {
        for agent in agents.iter_mut() {
            agent.stdin = None;
        }
        let grace = tokio::time::Instant::now() + STOP_GRACE;
        while self.collected.stats.len() < agents.len() && !interrupted {
            match tokio::time::timeout_at(grace, rx.recv()).await {
                Ok(Some((agent, line))) => {
                    self.collected.take(agent, line, &self.sent, self.t0_unix);
                }
                _ => break,
            }
        }
        for agent in agents.iter_mut() {
            let _ = agent.child.start_kill();
            let _ = agent.child.wait().await;
        }
    }
}

impl Collected {
    /// The report of what `agents` processes reported.
    fn report(
        mut self,
        spec: &SimSpec,
        mut facts: RunFacts,
        agents: usize,
    ) -> colony_reports::RunReport {
        let mut metrics = Metrics::new(spec);
        for (index, id) in self.ids.iter().enumerate() {
            if let Some(id) = id {
                metrics.broadcast_sent(index, *id);
            }
        }
        self.deliveries.sort_by_key(|d| (d.at, d.agent));
        for d in &self.deliveries {
            metrics.delivered(d);
        }
        facts.events = self.stats.values().map(|s| s.datagrams_received).sum();
        let missing = agents - self.stats.len();
        let host_drops = [("agent_stats_missing", missing as u64)];
        metrics.full_report(
            spec,
            &facts,
            self.stats.iter().map(|(a, s)| (*a, s)),
            0,
            &host_drops,
        )
    }
}
