//! What the report says of the overlay at the end of a run: the health of
//! the active-view graph (degrees, half-open links, connected components by
//! a union-find over the active links, never an N x N structure) and, for
//! each broadcast below full coverage, who missed it and what the run knows
//! of why (its active view, whether it was told of the message or gave a
//! repair up, crashed, Byzantine or partitioned neighbours, whether anyone
//! sends to it at all).

use colony_core::message::MessageId;
use colony_core::node::{DropReason, Node};
use colony_reports::{MISSED_LISTED_MAX, MissedAgent, MissedDeliveries, OverlayReport};

use crate::agent_set::AgentSet;

/// The agents of a finished run, as the overlay figures see them.
pub(crate) struct OverlayView<'a> {
    pub(crate) nodes: &'a [Node<u32>],
    /// Whether agent `i` was down when the run ended.
    pub(crate) crashed: &'a dyn Fn(u32) -> bool,
    pub(crate) byzantine: &'a AgentSet,
    /// Whether a partition open at the end cuts the link between two agents.
    pub(crate) cut: &'a dyn Fn(u32, u32) -> bool,
}

impl OverlayView<'_> {
    fn live(&self, agent: u32) -> bool {
        !(self.crashed)(agent)
    }

    /// Counted in the overlay figures: live and honest (a Byzantine agent's
    /// views say nothing of the overlay honest agents rely on).
    fn counted(&self, agent: u32) -> bool {
        self.live(agent) && !self.byzantine.contains(agent)
    }

    /// Agents holding each agent in their active view (live holders only).
    fn held_by(&self) -> Vec<u32> {
        let mut held = vec![0u32; self.nodes.len()];
        for (agent, node) in self.nodes.iter().enumerate() {
            if !self.live(agent as u32) {
                continue;
            }
            for peer in node.active_view() {
                if let Some(h) = held.get_mut(*peer as usize) {
                    *h += 1;
                }
            }
        }
        held
    }

    /// The active-view graph over live honest agents.
    pub(crate) fn health(&self, passive_view_max: u8) -> OverlayReport {
        let n = self.nodes.len();
        let mut components = UnionFind::new(n);
        let mut degrees = Vec::new();
        let (mut links, mut asymmetric, mut passive) = (0u64, 0u64, 0u64);
        for (agent, node) in self.nodes.iter().enumerate() {
            let agent = agent as u32;
            if !self.counted(agent) {
                continue;
            }
            degrees.push(node.active_view().len() as u32);
            passive += node.passive_view().len() as u64;
            for peer in node.active_view().iter().copied() {
                let Some(other) = self.nodes.get(peer as usize) else {
                    continue;
                };
                if !self.counted(peer) {
                    continue;
                }
                links += 1;
                if !other.active_view().contains(&agent) {
                    asymmetric += 1;
                }
                components.union(agent as usize, peer as usize);
            }
        }
        degrees.sort_unstable();
        let live = degrees.len() as u64;
        let mut sizes = vec![0u64; n];
        for agent in (0..n).filter(|a| self.counted(*a as u32)) {
            sizes[components.find(agent)] += 1;
        }
        let share = |part: u64, whole: u64| part as f64 / whole.max(1) as f64;
        OverlayReport {
            agents: live,
            degree_min: degrees.first().copied().unwrap_or(0),
            degree_p50: degrees.get(degrees.len() / 2).copied().unwrap_or(0),
            degree_max: degrees.last().copied().unwrap_or(0),
            isolated_share: share(degrees.iter().filter(|d| **d == 0).count() as u64, live),
            asymmetric_link_share: share(asymmetric, links),
            components: sizes.iter().filter(|s| **s > 0).count() as u64,
            largest_component: sizes.iter().copied().max().unwrap_or(0),
            passive_fill: share(passive, live * u64::from(passive_view_max)),
        }
    }

    /// The live, honest agents other than `origin` that never delivered
    /// message `id`, as `delivered` tells (None: not tracked).
    pub(crate) fn missed(
        &self,
        id: MessageId,
        channel_hash: u32,
        origin: u32,
        delivered: &dyn Fn(u32) -> Option<bool>,
    ) -> Option<MissedDeliveries> {
        let mut missed = MissedDeliveries::default();
        let mut held_by: Option<Vec<u32>> = None;
        for (agent, node) in self.nodes.iter().enumerate() {
            let agent = agent as u32;
            let eligible = agent != origin
                && self.counted(agent)
                && node.subscriptions().contains_hash(channel_hash);
            if !eligible || delivered(agent)? {
                continue;
            }
            missed.count += 1;
            if missed.agents.len() >= MISSED_LISTED_MAX {
                continue;
            }
            let held = held_by.get_or_insert_with(|| self.held_by());
            let neighbours = node.active_view();
            missed.agents.push(MissedAgent {
                agent,
                active_view: neighbours.len() as u32,
                awaiting_repair: node.awaits_repair(&id),
                crashed_neighbours: neighbours.iter().filter(|p| !self.live(**p)).count() as u32,
                byzantine_neighbours: neighbours
                    .iter()
                    .filter(|p| self.byzantine.contains(**p))
                    .count() as u32,
                partitioned_neighbours: neighbours
                    .iter()
                    .filter(|p| (self.cut)(agent, **p) || (self.cut)(**p, agent))
                    .count() as u32,
                repairs_abandoned: node.stats().drops_of(DropReason::RepairAbandoned),
                held_by: held[agent as usize],
            });
        }
        (missed.count > 0).then_some(missed)
    }
}

/// Disjoint sets over agent indices, with path halving.
struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] as usize != x {
            let grandparent = self.parent[self.parent[x] as usize];
            self.parent[x] = grandparent;
            x = grandparent as usize;
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra] = rb as u32;
        }
    }
}
