//! The one way a scenario names a group of agents (fault targets, Byzantine
//! groups, channel subscribers): exactly one of `share` (a share of the
//! agents), `agents` (a list) or `first` (with `count`, default 1).

use super::units::RatioText;
use crate::agent_set::AgentSet;

/// Where a `share` of the agents is taken from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ShareFrom {
    /// The first agents (faults, subscribers).
    Start,
    /// The last agents (Byzantine groups, so that agent 0, the usual origin
    /// of broadcasts, stays honest).
    End,
}

/// A group's selector keys, as the file gives them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Selector<'a> {
    pub(super) share: Option<RatioText>,
    pub(super) agents: Option<&'a [u32]>,
    pub(super) first: Option<u32>,
    pub(super) count: Option<u32>,
}

/// The error when not exactly one form is given.
pub(super) const EXACTLY_ONE: &str =
    "name the agents with exactly one of `share`, `agents` or `first` (with `count`)";

impl Selector<'_> {
    /// How many of the three forms are given.
    pub(super) fn forms(&self) -> usize {
        [
            self.share.is_some(),
            self.agents.is_some(),
            self.first.is_some(),
        ]
        .into_iter()
        .filter(|given| *given)
        .count()
    }

    /// The agents named, out of `total`.
    pub(super) fn select(&self, total: u32, share_from: ShareFrom) -> Result<AgentSet, String> {
        if self.forms() != 1 {
            return Err(EXACTLY_ONE.into());
        }
        if let Some(share) = self.share {
            let n = (u64::from(total) * u64::from(share.0.numerator)
                / u64::from(share.0.denominator)) as u32;
            return Ok(match share_from {
                ShareFrom::Start => AgentSet::from_ranges(vec![(0, n)]),
                ShareFrom::End => AgentSet::from_ranges(vec![(total - n, total)]),
            });
        }
        if let Some(agents) = self.agents {
            if let Some(bad) = agents.iter().find(|a| **a >= total) {
                return Err(format!("agent {bad} does not exist (0..{total})"));
            }
            return Ok(AgentSet::from_agents(agents));
        }
        let first = self.first.unwrap_or(0);
        let end = u64::from(first) + u64::from(self.count.unwrap_or(1));
        if end > u64::from(total) {
            return Err(format!("agents {first}..{end} exceed the {total} agents"));
        }
        Ok(AgentSet::from_ranges(vec![(first, end as u32)]))
    }
}

macro_rules! selector_of {
    ($($section:ty),*) => {$(
        impl $section {
            /// Its selector keys.
            pub(super) fn selector(&self) -> Selector<'_> {
                Selector {
                    share: self.share,
                    agents: self.agents.as_deref(),
                    first: self.first,
                    count: self.count,
                }
            }
        }
    )*};
}

selector_of!(
    super::file::FaultSection,
    super::file::ByzantineSection,
    super::file::SubscribeSection
);
