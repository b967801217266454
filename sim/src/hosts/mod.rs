//! The three hosts of one core, behind one entry point each, all returning
//! an [`Outcome`]: [`fast`] (the parallel engine), [`turmoil`] (the async
//! driver on turmoil's simulated network) and [`udp`] (the async driver on
//! real loopback sockets, one task per agent in this process).
//!
//! The async hosts share what this module holds: each agent's schedule
//! (its joins, workload broadcasts and scripted actions, built from the
//! [`SimSpec`] exactly as the fast engine builds them) and the
//! [`Recording`] its driver reports into.

pub mod turmoil;
pub mod udp;

use std::cell::RefCell;
use std::rc::Rc;

use colony_core::message::MessageId;
use colony_core::node::{Command, Event, Handled, Node, NodeStats};
use colony_core::rng::mix64;
use colony_core::time::Time;
use colony_reports::RunReport;

use crate::driver::{
    self, Clock, DatagramSocket, DenseAddresses, DriverStats, Report, Sink, Timed, Until,
};
use crate::engine::Engine;
use crate::metrics::{Metrics, RunFacts};
use crate::plan::bootstrap::Bootstrap;
use crate::plan::recorder::{Record, fold, record};
use crate::plan::{Due, Schedule, SimSpec, SpecError};
use crate::script::{Action, Observed, agent_index, observe};

/// What a run on any host produced.
#[derive(Debug)]
pub struct Outcome {
    /// The report (the same schema on every host).
    pub report: RunReport,
    /// Every agent's observations (empty unless [`SimSpec::observe`]).
    pub observed: Vec<Observed>,
    /// Every agent's node statistics at the end.
    pub stats: Vec<NodeStats>,
    /// Every agent's active-view size at the end.
    pub active_views: Vec<usize>,
    /// The id of each workload broadcast, once sent.
    pub broadcast_ids: Vec<Option<MessageId>>,
}

impl Outcome {
    fn from_nodes(
        report: RunReport,
        observed: Vec<Observed>,
        nodes: &[&Node<u32>],
        broadcast_ids: Vec<Option<MessageId>>,
    ) -> Self {
        Outcome {
            report,
            observed,
            stats: nodes.iter().map(|n| n.stats().clone()).collect(),
            active_views: nodes.iter().map(|n| n.active_view().len()).collect(),
            broadcast_ids,
        }
    }
}

/// Runs `spec` on the fast engine with `threads` threads.
pub fn fast(spec: &SimSpec, threads: usize) -> Result<Outcome, SpecError> {
    let mut engine = Engine::new(spec.clone())?;
    let report = engine.run(threads, &mut |_| {});
    let ids = (0..spec.workload.len())
        .map(|i| engine.broadcast_id(i))
        .collect();
    let nodes: Vec<&Node<u32>> = engine.nodes().iter().collect();
    Ok(Outcome::from_nodes(
        report,
        engine.observed().to_vec(),
        &nodes,
        ids,
    ))
}

/// Agent `agent`'s part of the schedule as its driver's timed commands:
/// the same joins, broadcasts and actions, at the same times and in the
/// same order, as on the fast engine, each under its [`Due::tag`].
pub(crate) fn schedule_for(spec: &SimSpec, schedule: &Schedule, agent: u32) -> Vec<Timed<u32>> {
    schedule
        .of_agent(agent)
        .into_iter()
        .filter_map(|entry| {
            let command = entry.due.command(agent, &spec.workload, &spec.script)?;
            Some(Timed {
                at: Time::from_ns(entry.at_ns),
                command,
                tag: entry.due.tag(),
            })
        })
        .collect()
}

/// The agents' nodes at the start of a run, their first timeout handled.
pub(crate) fn start_nodes(spec: &SimSpec, bootstrap: &Bootstrap) -> Vec<Node<u32>> {
    (0..spec.agents)
        .map(|agent| bootstrap.started(agent))
        .collect()
}

/// What the async hosts' drivers report into, in the order it happens.
#[derive(Debug)]
pub(crate) struct Recording {
    metrics: Metrics,
    observed: Vec<Observed>,
    observe: bool,
    round_ns: u64,
    trace: u64,
    broadcast_ids: Vec<Option<MessageId>>,
    /// The scripted actions, by index (their tags name them).
    script: Vec<Action>,
}

impl Recording {
    pub(crate) fn new(spec: &SimSpec) -> Self {
        Recording {
            metrics: Metrics::new(spec),
            observed: Vec::new(),
            observe: spec.observe,
            round_ns: spec.round_ns(),
            trace: mix64(spec.seed ^ u64::from(spec.agents)),
            broadcast_ids: vec![None; spec.workload.len()],
            script: spec.script.iter().map(|a| a.action.clone()).collect(),
        }
    }

    /// Takes agent `agent`'s driver report; returns the application's
    /// reaction.
    pub(crate) fn take(&mut self, agent: u32, report: Report<'_, u32>) -> Option<Command<u32>> {
        match report {
            Report::Event(now, event) => {
                if self.observe {
                    self.observed.push(Observed {
                        at_ns: now.as_ns(),
                        agent,
                        what: observe(event, Some),
                    });
                }
                self.record(agent, now.as_ns(), event)
            }
            Report::Handled(now, tag, result) => {
                match (Due::from_tag(tag), result) {
                    (Some(Due::Broadcast(index)), Ok(Handled::Sent(id))) => {
                        self.broadcast_ids[index as usize] = Some(*id);
                        self.metrics.broadcast_sent(index as usize, *id);
                    }
                    (Some(Due::Action(index)), result) => {
                        let action = &self.script[index as usize];
                        self.metrics.scripted(agent, action, now.as_ns(), result);
                    }
                    _ => {}
                }
                None
            }
            Report::Sent(now) => {
                self.metrics.sent_in_round(now.as_ns() / self.round_ns, 1);
                None
            }
        }
    }

    /// Records one event of `agent` at `now`; returns the application's
    /// reaction.
    fn record(&mut self, agent: u32, now: u64, event: &Event<u32>) -> Option<Command<u32>> {
        match record(agent, now, event) {
            Record::Delivery(delivery, term) => {
                self.trace = fold(self.trace, term);
                self.metrics.delivered(&delivery);
            }
            Record::Digest => self.metrics.digests_emitted(1),
            Record::RequestEnded(request, end) => {
                self.metrics.request_ended(agent, request, now, end);
            }
            Record::Reaction(command) => return Some(command),
            Record::Liveness(..) | Record::Nothing => {}
        }
        None
    }

    /// Whether every broadcast reached every eligible agent.
    pub(crate) fn complete(&self) -> bool {
        self.metrics.all_complete()
    }

    /// Deliveries so far.
    pub(crate) fn deliveries(&self) -> u64 {
        self.metrics.deliveries()
    }

    /// The outcome of a run on an async host that lost `lost` datagrams
    /// in its network.
    pub(crate) fn finish(
        self,
        spec: &SimSpec,
        mut run: RunFacts,
        nodes: &[&Node<u32>],
        lost: u64,
        host_drops: &[(&str, u64)],
    ) -> Outcome {
        run.trace = self.trace;
        run.events = nodes.iter().map(|n| n.stats().datagrams_received).sum();
        let stats = (0u32..).zip(nodes.iter().map(|n| n.stats()));
        let report = self
            .metrics
            .full_report(spec, &run, stats, lost, host_drops);
        // Observations keep the order the host produced them in; sorted by
        // (time, agent) they compare across hosts.
        let mut observed = self.observed;
        observed.sort_by_key(|o| (o.at_ns, o.agent));
        Outcome::from_nodes(report, observed, nodes, self.broadcast_ids)
    }
}

/// One agent's driver reporting into a shared [`Recording`] (the async
/// hosts run every agent on one thread).
pub(crate) struct RecordingSink {
    pub(crate) agent: u32,
    pub(crate) recording: Rc<RefCell<Recording>>,
}

impl Sink<u32> for RecordingSink {
    fn report(&mut self, report: Report<'_, u32>) -> Option<Command<u32>> {
        self.recording.borrow_mut().take(self.agent, report)
    }
}

/// Runs one agent's driver on its shared node.
// The node stays borrowed for the agent's whole life: only this task
// touches it, and the host reads it once every task has ended or been
// dropped (which releases the borrow).
#[allow(clippy::await_holding_refcell_ref)]
pub(crate) async fn drive_agent<S: DatagramSocket>(
    node: &RefCell<Node<u32>>,
    socket: &S,
    book: &DenseAddresses,
    clock: Clock,
    schedule: Vec<Timed<u32>>,
    until: Until,
    mut sink: RecordingSink,
) -> DriverStats {
    let mut node = node.borrow_mut();
    driver::run(
        &mut node, socket, book, clock, schedule, None, until, &mut sink,
    )
    .await
}

/// The index of the agent that originated `id`, when ids are dense.
pub fn origin_of(id: &MessageId) -> Option<u32> {
    agent_index(&id.from)
}
