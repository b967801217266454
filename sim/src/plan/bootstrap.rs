//! How every host starts and restarts an agent's node: its id, its RNG
//! stream, its channels, its signing key and, after a restart with a fresh
//! state, its new sequence start and contacts. One place, so the fast
//! engine, turmoil and the UDP host start the same nodes.

use std::sync::Arc;

use colony_core::AgentId;
use colony_core::config::{Config, Sampling};
use colony_core::node::{Command, Input, Node};
use colony_core::rng::{Rng, mix64};
use colony_core::signing::{KeyDirectory, SeededKeys};
use colony_core::time::Time;

use super::spec::{SimSpec, Subscription};
use crate::memo_keys::MemoKeys;
use crate::streams;

/// Contacts a restarted agent is given: with a tenth of the swarm down, all
/// four are down with probability 1/10,000.
const RESTART_CONTACTS: u64 = 4;

/// Agent `agent`'s node at the start of a run, subscribed to its channels:
/// the same on every host.
fn new_node(
    seed: u64,
    config: &Arc<Config>,
    subscriptions: &[Subscription],
    agent: u32,
) -> Node<u32> {
    let rng = Rng::for_agent(seed, streams::AGENT_RNG, u64::from(agent));
    let mut node = Node::new(
        AgentId::from_index(u64::from(agent)),
        agent,
        Arc::clone(config),
        rng,
    );
    subscribe(&mut node, subscriptions, agent, Time::ZERO);
    node
}

/// Subscribes agent `agent`'s node to the channels the run gives it. The
/// scenario checked the table's bounds and hash collisions at load.
fn subscribe(node: &mut Node<u32>, subscriptions: &[Subscription], agent: u32, now: Time) {
    for s in subscriptions.iter().filter(|s| s.agents.contains(agent)) {
        let _ = node.handle(now, Input::Command(Command::Subscribe(s.channel.clone())));
    }
}

/// The key directory of a run with signatures: every agent's public key,
/// derived from the seed.
fn key_directory(spec: &SimSpec) -> Option<Arc<dyn KeyDirectory>> {
    spec.signatures.then(|| {
        Arc::new(MemoKeys::new(spec.seed, u64::from(spec.agents))) as Arc<dyn KeyDirectory>
    })
}

/// Gives agent `agent`'s node its signing key and the directory, when the
/// run uses signatures.
fn secure(node: &mut Node<u32>, seed: u64, keys: Option<&Arc<dyn KeyDirectory>>, agent: u32) {
    if let Some(keys) = keys {
        let signer = SeededKeys::signing_key(seed, u64::from(agent));
        node.set_security(Some(signer), Some(Arc::clone(keys)));
    }
}

/// Agent `agent` after its `restarts`-th restart with a fresh state, at
/// `time`: a new node (its RNG from its own stream) that rejoins through
/// [`RESTART_CONTACTS`] agents picked by a pure hash. The same on every host.
fn restarted_node(
    seed: u64,
    config: &Arc<Config>,
    subscriptions: &[Subscription],
    agents: u32,
    agent: u32,
    restarts: u32,
    time: Time,
) -> Node<u32> {
    let stream = streams::RESTART_RNG ^ u64::from(restarts);
    let rng = Rng::for_agent(seed, stream, u64::from(agent));
    let mut node = Node::new(
        AgentId::from_index(u64::from(agent)),
        agent,
        Arc::clone(config),
        rng,
    );
    // A sequence start of this life's own (see `Node::start_seq_after`).
    node.start_seq_after(mix64(seed ^ mix64(u64::from(agent)) ^ (stream << 16)) as u16);
    let _ = node.handle(time, Input::Timeout);
    subscribe(&mut node, subscriptions, agent, time);
    if config.sampling == Sampling::Views && agents > 1 {
        // Several contacts: any of them may be down too; the node asks the
        // others from its passive view until one answers.
        let contacts: Vec<u32> = (0..RESTART_CONTACTS)
            .map(|i| {
                let pick = mix64(seed ^ mix64(u64::from(agent) ^ (u64::from(restarts) << 32) ^ i));
                let contact = (pick % u64::from(agents - 1)) as u32;
                if contact >= agent {
                    contact + 1
                } else {
                    contact
                }
            })
            .collect();
        let _ = node.handle(time, Input::Command(Command::Join { contacts }));
    }
    node
}

/// What starting any agent's node takes, built once per run.
pub(crate) struct Bootstrap {
    seed: u64,
    agents: u32,
    config: Arc<Config>,
    subscriptions: Vec<Subscription>,
    keys: Option<Arc<dyn KeyDirectory>>,
}

impl Bootstrap {
    /// The bootstrap of `spec`'s agents.
    pub(crate) fn new(spec: &SimSpec) -> Self {
        Bootstrap {
            seed: spec.seed,
            agents: spec.agents,
            config: Arc::new(spec.node.clone()),
            subscriptions: spec.subscriptions.clone(),
            keys: key_directory(spec),
        }
    }

    /// Agent `agent`'s node at the start of the run, secured, its first
    /// timeout handled.
    pub(crate) fn started(&self, agent: u32) -> Node<u32> {
        let mut node = new_node(self.seed, &self.config, &self.subscriptions, agent);
        secure(&mut node, self.seed, self.keys.as_ref(), agent);
        let _ = node.handle(Time::ZERO, Input::Timeout);
        node
    }

    /// Agent `agent`'s node after its `restarts`-th restart with a fresh
    /// state, at `time`.
    pub(crate) fn restarted(&self, agent: u32, restarts: u32, time: Time) -> Node<u32> {
        let mut node = restarted_node(
            self.seed,
            &self.config,
            &self.subscriptions,
            self.agents,
            agent,
            restarts,
            time,
        );
        secure(&mut node, self.seed, self.keys.as_ref(), agent);
        node
    }
}
