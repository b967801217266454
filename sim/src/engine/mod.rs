//! The fast engine: a deterministic, parallel discrete-event simulator that
//! drives unmodified [`colony_core::Node`]s with bytes on the wire.
//!
//! # How it is parallel and deterministic
//!
//! Virtual time is cut into windows of `W` = the smallest link latency,
//! aligned on multiples of `W`. A datagram sent in window `k` arrives in
//! window `k+1` or later, so within a window agents are independent. Each
//! step of [`Engine::run`] is a short list of named phases:
//!
//! 1. **find the next window** holding a datagram, a timer or a workload
//!    command (empty time is skipped);
//! 2. **take its inputs**, split by destination chunk (fixed ranges of
//!    [`CHUNK_AGENTS`] agent ids — never one chunk per thread);
//! 3. **run the agents** of each chunk in parallel (rayon); a chunk sorts its
//!    inputs by (time, target, source, seq) and writes what its agents send,
//!    deliver and schedule into its own buffers;
//! 4. **merge** the chunk buffers in chunk order: datagrams into the windows
//!    where they land (their fate and latency are a pure hash of seed,
//!    endpoints and the sender's counter), timers into the timer wheel,
//!    deliveries into the metrics, chunk hashes into the trace hash;
//! 5. **check the stop condition** and report progress.
//!
//! No phase depends on which thread ran which chunk, so the trace hash is the
//! same on any number of threads.

mod chunk;
pub mod cpu;
mod inflight;
mod links;
mod progress;
mod slots;
mod sort;
mod step;
mod timer_wheel;

use std::collections::BTreeMap;
use std::time::Instant;

use colony_core::config::Sampling;
use colony_core::message::MessageId;
use colony_core::node::{Node, PeerChange};
use colony_core::rng::mix64;
use colony_core::time::Time;
use colony_reports::{OverlayReport, OverlaySample, RunReport};
use rayon::prelude::*;

use crate::detection::Detection;
use crate::link_rng::StreamKeys;
use crate::metrics::{Metrics, RunFacts};
use crate::overlay::OverlayView;
use crate::plan::bootstrap::Bootstrap;
use crate::plan::{Schedule, Scheduled, SimSpec, SpecError};
use crate::script::Observed;
use chunk::{ChunkAgents, ChunkOutput, ChunkWork, WindowContext, run_chunk};
use inflight::{Arena, InFlight, InFlightQueue, SortedSends};
use links::LinkRules;
pub use progress::{PhaseSeconds, Progress};
use slots::cpu_slots;
pub(crate) use slots::{AgentSlot, CpuSlot};
use timer_wheel::TimerWheel;

/// Agents per chunk: the unit of parallel work. Fixed, so that the split —
/// and therefore every merge order — does not depend on the thread count.
/// 4,096 agents keep a chunk's nodes within a few MiB (cache-friendly) while
/// a million agents still give 245 chunks to balance across threads.
pub const CHUNK_AGENTS: usize = 4096;

/// Marks "no timeout" in an agent's slot.
pub(crate) const NO_TIMEOUT: u64 = u64::MAX;

/// Overlay samples a run takes at most (partial views only): enough for a
/// smooth plot of the overlay's health over time; each costs one pass over
/// the agents' active views.
const OVERLAY_SAMPLES_MAX: u64 = 64;

/// A fast-engine run.
pub struct Engine {
    spec: SimSpec,
    nodes: Vec<Node<u32>>,
    slots: Vec<AgentSlot>,
    window_ns: u64,
    in_flight: InFlightQueue,
    /// Each chunk's timers.
    timer_wheels: Vec<TimerWheel>,
    /// Each chunk's agents' CPUs (empty vectors without a CPU model).
    cpu: Vec<Vec<CpuSlot>>,
    /// The schedule's commands, by window.
    commands: BTreeMap<u64, Vec<Scheduled>>,
    metrics: Metrics,
    observed: Vec<Observed>,
    bootstrap: Bootstrap,
    links: LinkRules,
    costs: cpu::CostTable,
    cpu_drops: u64,
    fault_drops: [u64; 2],
    trace: u64,
    now_ns: u64,
    events: u64,
    lost: u64,
    phases: PhaseSeconds,
    /// Crashes, suspicions and confirmations, for the report.
    detection: Detection,
    /// The overlay sampled so far, and when the next sample is due.
    overlay_samples: Vec<OverlaySample>,
    next_overlay_sample_ns: u64,
}

impl Engine {
    /// Builds the agents of `spec`; every node's timers start at time zero.
    pub fn new(spec: SimSpec) -> Result<Engine, SpecError> {
        spec.check()?;
        let window_ns = spec.network.latency_min().as_nanos() as u64;
        if window_ns == 0 {
            return Err(SpecError::ZeroLatency);
        }
        let bootstrap = Bootstrap::new(&spec);
        let chunks = (spec.agents as usize).div_ceil(CHUNK_AGENTS);
        let mut timer_wheels: Vec<TimerWheel> =
            (0..chunks).map(|_| TimerWheel::default()).collect();
        let mut nodes = Vec::with_capacity(spec.agents as usize);
        let mut slots = Vec::with_capacity(spec.agents as usize);
        for agent in 0..spec.agents {
            let node = bootstrap.started(agent);
            let timeout = node.poll_timeout().map_or(NO_TIMEOUT, Time::as_ns);
            if timeout != NO_TIMEOUT {
                timer_wheels[agent as usize / CHUNK_AGENTS].file([(agent, timeout / window_ns)]);
            }
            nodes.push(node);
            slots.push(AgentSlot {
                timeout,
                sent: 0,
                crashed: false,
                restarts: 0,
                bursting: false,
            });
        }
        let mut commands: BTreeMap<u64, Vec<Scheduled>> = BTreeMap::new();
        for entry in Schedule::new(&spec).entries() {
            commands
                .entry(entry.at_ns / window_ns)
                .or_default()
                .push(*entry);
        }
        Ok(Engine {
            nodes,
            slots,
            window_ns,
            in_flight: InFlightQueue::new(chunks),
            timer_wheels,
            cpu: cpu_slots(&spec),
            commands,
            metrics: Metrics::new(&spec),
            observed: Vec::new(),
            bootstrap,
            links: LinkRules::new(&spec),
            costs: cpu::CostTable::default(),
            cpu_drops: 0,
            fault_drops: [0; 2],
            trace: mix64(spec.seed ^ u64::from(spec.agents)),
            now_ns: 0,
            events: 0,
            lost: 0,
            phases: PhaseSeconds::default(),
            detection: Detection::default(),
            overlay_samples: Vec::new(),
            next_overlay_sample_ns: 0,
            spec,
        })
    }

    /// The agents' nodes, indexed by agent.
    pub fn nodes(&self) -> &[Node<u32>] {
        &self.nodes
    }

    /// Wall-clock seconds spent in each phase so far.
    pub fn phase_seconds(&self) -> PhaseSeconds {
        self.phases
    }

    /// The parallel window, nanoseconds.
    pub fn window_ns(&self) -> u64 {
        self.window_ns
    }

    /// Runs to the stop condition on `threads` worker threads, calling
    /// `progress` after every window, and returns the report.
    pub fn run(&mut self, threads: usize, progress: &mut dyn FnMut(Progress)) -> RunReport {
        let started = Instant::now();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .expect("a thread pool of a positive size");
        while let Some(k) = self.next_window() {
            if k.saturating_mul(self.window_ns) > self.spec.stop.duration_ns {
                break;
            }
            self.step(k, &pool);
            self.sample_overlay();
            progress(Progress {
                now_ns: self.now_ns,
                until_ns: self.spec.stop.duration_ns,
                deliveries: self.metrics.deliveries(),
                in_flight: self.in_flight.len(),
            });
            if self.spec.stop.at_full_coverage && self.metrics.all_complete() {
                break;
            }
        }
        let wall = started.elapsed();
        self.report(threads.max(1), wall.as_secs_f64())
    }

    /// Phase 1: the earliest window with a datagram, a timer or a command.
    fn next_window(&self) -> Option<u64> {
        let timers = self.timer_wheels.iter().filter_map(TimerWheel::next_window);
        [
            self.in_flight.next_window(),
            self.commands.keys().next().copied(),
        ]
        .into_iter()
        .flatten()
        .chain(timers)
        .min()
    }

    /// One window: phases 2 to 4.
    fn step(&mut self, k: u64, pool: &rayon::ThreadPool) {
        let window_end = (k + 1) * self.window_ns;
        let started = Instant::now();
        let (works, arenas) = self.take_inputs(k);
        let taken = Instant::now();
        let outputs = pool.install(|| self.run_agents(k, works, &arenas));
        drop(arenas);
        let ran = Instant::now();
        pool.install(|| self.merge(k, outputs));
        self.phases.take_inputs += (taken - started).as_secs_f64();
        self.phases.run_agents += (ran - taken).as_secs_f64();
        self.phases.merge += ran.elapsed().as_secs_f64();
        self.now_ns = window_end.min(self.spec.stop.duration_ns);
    }

    /// Phase 2: the window's datagrams and commands, per chunk (each chunk
    /// takes its own timers from its wheel).
    fn take_inputs(&mut self, k: u64) -> (Vec<ChunkWork>, Vec<Arena>) {
        let bucket = self.in_flight.take(k);
        let mut works: Vec<ChunkWork> = bucket
            .per_chunk
            .into_iter()
            .map(|records| ChunkWork {
                records,
                ..ChunkWork::default()
            })
            .collect();
        for command in self.commands.remove(&k).unwrap_or_default() {
            works[command.agent as usize / CHUNK_AGENTS]
                .commands
                .push(command);
        }
        (works, bucket.arenas)
    }

    /// Phase 3: every chunk with work, in parallel.
    fn run_agents(
        &mut self,
        k: u64,
        works: Vec<ChunkWork>,
        arenas: &[Arena],
    ) -> Vec<Option<ChunkOutput>> {
        let window_end = (k + 1) * self.window_ns;
        let ctx = WindowContext {
            seed: self.spec.seed,
            streams: StreamKeys::new(self.spec.seed),
            network: &self.spec.network,
            workload: &self.spec.workload,
            script: &self.spec.script,
            observe: self.spec.observe,
            adversary: &self.spec.adversary,
            window_ns: self.window_ns,
            window_end,
            round_ns: self.round_ns(),
            links: &self.links,
            costs: &self.costs,
            faults: &self.spec.faults,
            bootstrap: &self.bootstrap,
        };
        self.nodes
            .par_chunks_mut(CHUNK_AGENTS)
            .zip(self.slots.par_chunks_mut(CHUNK_AGENTS))
            .zip(self.timer_wheels.par_iter_mut())
            .zip(self.cpu.par_iter_mut())
            .zip(works.into_par_iter())
            .enumerate()
            .map(|(c, ((((nodes, slots), wheel), cpu), mut work))| {
                let base = (c * CHUNK_AGENTS) as u32;
                if wheel.next_window() == Some(k) {
                    // Entries go stale when a timeout moves; the slot is
                    // the truth.
                    work.timers = wheel.take(k);
                    work.timers.retain(|agent| {
                        slots[(agent - base) as usize].timeout / ctx.window_ns == k
                    });
                }
                if work.is_empty() {
                    return None;
                }
                let agents = ChunkAgents {
                    base,
                    nodes,
                    slots,
                    cpu,
                };
                Some(run_chunk(&ctx, agents, wheel, arenas, work))
            })
            .collect()
    }

    /// Phase 4: chunk outputs in chunk order. Datagrams are routed to their
    /// windows in parallel over destination chunks (see `inflight`); the
    /// rest is small and merged here, in chunk order.
    fn merge(&mut self, k: u64, outputs: Vec<Option<ChunkOutput>>) {
        let window_ns = self.window_ns;
        let mut outputs: Vec<ChunkOutput> = outputs.into_iter().flatten().collect();
        let sends: Vec<(Vec<InFlight>, Vec<u8>)> = outputs
            .iter_mut()
            .map(|o| (std::mem::take(&mut o.sent), std::mem::take(&mut o.bytes)))
            .collect();
        let sorted: Vec<SortedSends> = sends
            .into_par_iter()
            .map(|(records, bytes)| SortedSends::new(records, bytes, window_ns))
            .collect();
        self.in_flight.add(&sorted);
        drop(sorted);
        self.merge_detection(&mut outputs);
        for out in outputs {
            self.trace = mix64(self.trace ^ mix64(k ^ (u64::from(out.chunk) << 40)) ^ out.hash);
            self.events += out.inputs;
            self.lost += out.lost;
            self.cpu_drops += out.cpu_drops;
            self.fault_drops[0] += out.partition_drops;
            self.fault_drops[1] += out.crash_drops;
            for (round, count) in out.sends {
                self.metrics.sent_in_round(round, count);
            }
            for (index, id) in out.broadcasts {
                self.metrics.broadcast_sent(index as usize, id);
            }
            for (index, agent, at, result) in &out.scripted {
                let action = &self.spec.script[*index as usize].action;
                self.metrics.scripted(*agent, action, *at, result);
            }
            for (agent, seq, at, end) in out.request_ends {
                self.metrics.request_ended(agent, seq, at, end);
            }
            for d in &out.deliveries {
                self.metrics.delivered(d);
            }
            for (sender, reason, count) in out.drops_by_sender {
                self.metrics.dropped_from(sender, reason, count);
            }
            self.metrics.digests_emitted(out.digests);
            self.observed.extend(out.observed);
        }
    }

    fn round_ns(&self) -> u64 {
        self.spec.round_ns()
    }

    /// Crashes, restarts and failure-detection events of a window, in time
    /// order (ties in chunk order), so that an event is judged against the
    /// crashes before it whichever chunk saw either.
    fn merge_detection(&mut self, outputs: &mut [ChunkOutput]) {
        enum Item {
            Lifecycle(u32, bool),
            Peer(u32, PeerChange),
            CrashDrops(u64),
        }
        let mut items: Vec<(u64, Item)> = Vec::new();
        for out in outputs.iter_mut() {
            let lifecycle = std::mem::take(&mut out.lifecycle);
            let events = std::mem::take(&mut out.peer_events);
            let drops = std::mem::take(&mut out.crash_drop_runs);
            items.extend(
                lifecycle
                    .into_iter()
                    .map(|(a, t, down)| (t, Item::Lifecycle(a, down))),
            );
            items.extend(events.into_iter().map(|(t, p, c)| (t, Item::Peer(p, c))));
            items.extend(drops.into_iter().map(|(t, n)| (t, Item::CrashDrops(n))));
        }
        items.sort_by_key(|(t, _)| *t);
        let byzantine = self.spec.adversary.agents();
        for (at, item) in items {
            match item {
                Item::Lifecycle(agent, down) => self.detection.lifecycle(agent, at, down),
                Item::Peer(peer, change) => self.detection.peer_event(at, peer, change, byzantine),
                Item::CrashDrops(count) => self.detection.sent_to_crashed(at, count),
            }
        }
    }

    /// The report of the run so far.
    fn report(&self, threads: usize, wall_seconds: f64) -> RunReport {
        let crashed_at_end = self.slots.iter().filter(|s| s.crashed).count() as u64;
        let host_drops = [
            ("network_loss", self.lost),
            ("cpu_overload", self.cpu_drops),
            ("partition", self.fault_drops[0]),
            ("crashed", self.fault_drops[1]),
        ];
        let run = RunFacts {
            engine: "fast",
            threads,
            trace: self.trace,
            virtual_time_ns: self.now_ns,
            wall_seconds,
            events: self.events,
            crashed_at_end,
        };
        let stats = (0u32..).zip(self.nodes.iter().map(Node::stats));
        let mut report = self
            .metrics
            .full_report(&self.spec, &run, stats, self.lost, &host_drops);
        report.detection = self
            .detection
            .report(u64::from(self.spec.agents) - crashed_at_end);
        if self.spec.node.sampling == Sampling::Views {
            self.explain_overlay(&mut report);
        }
        report
    }

    /// The overlay's health once per sample interval of virtual time
    /// (partial views only; at window boundaries, so the same on any
    /// number of threads).
    fn sample_overlay(&mut self) {
        if self.spec.node.sampling != Sampling::Views || self.now_ns < self.next_overlay_sample_ns {
            return;
        }
        let interval_ns = (self.spec.stop.duration_ns / OVERLAY_SAMPLES_MAX).max(self.window_ns);
        self.next_overlay_sample_ns = self.now_ns + interval_ns;
        let overlay = self.overlay_health();
        self.overlay_samples.push(OverlaySample {
            t_ns: self.now_ns,
            overlay,
        });
    }

    fn overlay_health(&self) -> OverlayReport {
        self.overlay_view(&|a| self.crashed(a), &|s, t| self.cut_now(s, t))
            .health(self.spec.node.passive_view_max.get())
    }

    fn overlay_view<'a>(
        &'a self,
        crashed: &'a dyn Fn(u32) -> bool,
        cut: &'a dyn Fn(u32, u32) -> bool,
    ) -> OverlayView<'a> {
        OverlayView {
            nodes: &self.nodes,
            crashed,
            byzantine: self.spec.adversary.agents(),
            cut,
        }
    }

    fn crashed(&self, agent: u32) -> bool {
        self.slots.get(agent as usize).is_some_and(|s| s.crashed)
    }

    fn cut_now(&self, source: u32, target: u32) -> bool {
        self.spec.faults.cut(source, target, self.now_ns)
    }

    /// Overlay health and, for every broadcast below full coverage, the
    /// agents that missed it (partial views only).
    fn explain_overlay(&self, report: &mut RunReport) {
        report.overlay = Some(self.overlay_health());
        let crashed = |a| self.crashed(a);
        let cut = |s, t| self.cut_now(s, t);
        let view = self.overlay_view(&crashed, &cut);
        report.overlay_over_time = self.overlay_samples.clone();
        for (index, message) in report.messages.iter_mut().enumerate() {
            let (Some(id), Some(origin)) =
                (self.metrics.id_of(index), self.metrics.origin_of(index))
            else {
                continue;
            };
            if message.delivered >= message.eligible {
                continue;
            }
            let channel_hash = self.spec.workload[index].channel_hash;
            let delivered = |agent: u32| self.metrics.has_delivered(index, agent);
            message.missed = view.missed(id, channel_hash, origin, &delivered);
        }
    }

    /// What the agents observed, in merge order (empty unless
    /// [`SimSpec::observe`]).
    pub fn observed(&self) -> &[Observed] {
        &self.observed
    }

    /// The id of the `index`-th broadcast, once sent.
    pub fn broadcast_id(&self, index: usize) -> Option<MessageId> {
        self.metrics.id_of(index)
    }
}

#[cfg(test)]
mod tests;
