//! A set of agents as sorted, disjoint half-open id ranges: how faults,
//! Byzantine groups and subscriptions name who they cover, compact for a
//! million agents and cheap to test membership in.

/// A set of agents: sorted, disjoint half-open id ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentSet {
    ranges: Vec<(u32, u32)>,
}

impl AgentSet {
    /// The set of the given ranges (merged and sorted).
    pub fn from_ranges(mut ranges: Vec<(u32, u32)>) -> Self {
        ranges.retain(|(a, b)| a < b);
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (a, b) in ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        AgentSet { ranges: merged }
    }

    /// The set of these agents.
    pub fn from_agents(agents: &[u32]) -> Self {
        AgentSet::from_ranges(agents.iter().map(|a| (*a, a.saturating_add(1))).collect())
    }

    /// Whether `agent` is in the set.
    #[inline]
    pub fn contains(&self, agent: u32) -> bool {
        let i = self.ranges.partition_point(|(a, _)| *a <= agent);
        i > 0 && agent < self.ranges[i - 1].1
    }

    /// Agents in the set.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|(a, b)| u64::from(b - a)).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The agents, in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.ranges.iter().flat_map(|(a, b)| *a..*b)
    }
}
