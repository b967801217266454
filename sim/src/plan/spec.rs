//! What a run is: agents, node configuration, network, workload, faults,
//! adversary and stop condition, host-independent. Tests and benches build
//! it with [`SimSpec::new`] and struct update syntax; scenarios resolve into
//! it; every host checks it with [`SimSpec::check`] and reads nothing else.

use colony_core::channel::Channel;
use colony_core::config::{Config, Strategy};

use super::workload::Broadcast;
use crate::agent_set::AgentSet;
use crate::byzantine::Adversary;
use crate::faults::FaultTimeline;
use crate::network::NetworkModel;
use crate::script::{Action, ScriptedAction};

/// Datagram-count bucket for strategies without rounds (PlumTree): 100 ms.
const UNROUNDED_BUCKET_NS: u64 = 100_000_000;

/// When a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopCondition {
    /// Virtual time limit, nanoseconds.
    pub duration_ns: u64,
    /// Stop as soon as every broadcast reached every eligible agent.
    pub at_full_coverage: bool,
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct SimSpec {
    /// Scenario name, for the report.
    pub name: String,
    /// Agents.
    pub agents: u32,
    /// Seed of every random decision.
    pub seed: u64,
    /// The node configuration all agents share.
    pub node: Config,
    /// The network.
    pub network: NetworkModel,
    /// Broadcasts, in any order.
    pub workload: Vec<Broadcast>,
    /// When to stop.
    pub stop: StopCondition,
    /// Agents with a finite CPU (empty: every agent is infinitely fast).
    pub cpu: Vec<CpuGroup>,
    /// The fault timeline (empty: no fault).
    pub faults: FaultTimeline,
    /// Application actions beyond the workload's broadcasts.
    pub script: Vec<ScriptedAction>,
    /// Record every agent's [`Observed`] events (small runs: conformance
    /// tests, host comparisons); off, the engine keeps only the metrics.
    pub observe: bool,
    /// Byzantine agents (empty: everyone is honest).
    pub adversary: Adversary,
    /// Every agent signs what it originates and accepts only messages with
    /// a valid signature from their origin (keys from the seed).
    pub signatures: bool,
    /// Channels beyond the default ones that agents subscribe to from the
    /// start (and again after a restart with a fresh state).
    pub subscriptions: Vec<Subscription>,
}

/// Agents `first..end` run at `cycles_per_s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuGroup {
    /// First agent.
    pub first: u32,
    /// One past the last agent.
    pub end: u32,
    /// Cycles per second (e.g. 2_000_000_000 for 2 GHz).
    pub cycles_per_s: u64,
}

/// Agents subscribed to a channel from the start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// The channel (`_debug`, `custom:NAME`).
    pub channel: Channel,
    /// Its subscribers.
    pub agents: AgentSet,
}

impl SimSpec {
    /// A run of `agents` agents under `node` over `network` until `stop`,
    /// with no workload, fault, script, adversary, CPU model, signature or
    /// extra subscription: add what the run needs with struct update syntax.
    pub fn new(
        name: impl Into<String>,
        agents: u32,
        seed: u64,
        node: Config,
        network: NetworkModel,
        stop: StopCondition,
    ) -> Self {
        SimSpec {
            name: name.into(),
            agents,
            seed,
            node,
            network,
            workload: Vec::new(),
            stop,
            cpu: Vec::new(),
            faults: FaultTimeline::default(),
            script: Vec::new(),
            observe: false,
            adversary: Adversary::default(),
            signatures: false,
            subscriptions: Vec::new(),
        }
    }
}

impl SimSpec {
    /// The bucket datagrams are counted in: the gossip round, or 100 ms for
    /// strategies without rounds.
    pub(crate) fn round_ns(&self) -> u64 {
        match self.node.strategy {
            Strategy::Plumtree { .. } => UNROUNDED_BUCKET_NS,
            _ => (self.node.gossip_interval.as_nanos() as u64).max(1),
        }
    }

    /// The round length reported (none for strategies without rounds).
    pub(crate) fn reported_round_ns(&self) -> Option<u64> {
        match self.node.strategy {
            Strategy::Plumtree { .. } => None,
            _ => Some(self.round_ns()),
        }
    }
}

/// Why a spec cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecError {
    /// No agents.
    NoAgents,
    /// The smallest link latency is zero: no parallel window exists.
    ZeroLatency,
    /// The node configuration is inconsistent.
    Node(String),
    /// A scripted action names an agent that does not exist.
    UnknownAgent {
        /// Index of the action.
        index: usize,
        /// The agent named.
        agent: u32,
    },
    /// A broadcast names an agent that does not exist.
    UnknownOrigin {
        /// Index of the broadcast.
        index: usize,
        /// The agent named.
        origin: u32,
    },
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpecError::NoAgents => write!(f, "a run needs at least one agent"),
            SpecError::ZeroLatency => {
                write!(
                    f,
                    "the smallest link latency must be positive (it is the engine's window)"
                )
            }
            SpecError::Node(why) => write!(f, "node configuration: {why}"),
            SpecError::UnknownAgent { index, agent } => {
                write!(
                    f,
                    "action {index} names agent {agent}, which does not exist"
                )
            }
            SpecError::UnknownOrigin { index, origin } => {
                write!(
                    f,
                    "broadcast {index} names agent {origin}, which does not exist"
                )
            }
        }
    }
}

impl std::error::Error for SpecError {}

impl SimSpec {
    /// Whether every host can run it: agents, a consistent node
    /// configuration, and every agent it names in range. (The fast engine
    /// also needs a positive smallest latency, its window.)
    pub fn check(&self) -> Result<(), SpecError> {
        if self.agents == 0 {
            return Err(SpecError::NoAgents);
        }
        self.node.validate().map_err(SpecError::Node)?;
        for (index, b) in self.workload.iter().enumerate() {
            if b.origin >= self.agents {
                return Err(SpecError::UnknownOrigin {
                    index,
                    origin: b.origin,
                });
            }
        }
        for (index, a) in self.script.iter().enumerate() {
            let target = match a.action {
                Action::SendTo { to, .. } | Action::Request { to, .. } => to,
                _ => a.agent,
            };
            for agent in [a.agent, target] {
                if agent >= self.agents {
                    return Err(SpecError::UnknownAgent { index, agent });
                }
            }
        }
        Ok(())
    }
}
