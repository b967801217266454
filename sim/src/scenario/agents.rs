//! The `[agents]` section resolved: the region split, the CPU groups and
//! the channel subscriptions; and the check that every broadcast has a
//! receiver.

use colony_core::channel::{Channel, SubscriptionTable};

use super::file::WorkloadKind;
use super::select::ShareFrom;
use super::{Resolver, ScenarioError};
use crate::plan::CpuGroup;
use crate::plan::Subscription;

/// Agents split into contiguous regions.
pub(super) struct RegionSplit {
    pub(super) starts: Vec<u32>,
    pub(super) names: Vec<String>,
}

impl Resolver<'_> {
    /// The CPU groups, checked against the agents.
    pub(super) fn cpu_groups(&self, count: u32) -> Result<Vec<CpuGroup>, ScenarioError> {
        let mut groups = Vec::new();
        for group in &self.file.agents.cpu {
            if group.count == 0
                || u64::from(group.first) + u64::from(group.count) > u64::from(count)
            {
                return Err(self.error_at_key(
                    "agents",
                    "cpu",
                    format!(
                        "cpu group {}..{} is outside the agents 0..{count}",
                        group.first,
                        u64::from(group.first) + u64::from(group.count)
                    ),
                ));
            }
            if group.cycles_per_second == 0 {
                return Err(self.error_at_key(
                    "agents",
                    "cpu",
                    "cycles_per_second must be positive",
                ));
            }
            groups.push(CpuGroup {
                first: group.first,
                end: group.first + group.count,
                cycles_per_s: group.cycles_per_second,
            });
        }
        Ok(groups)
    }

    pub(super) fn regions(&self, count: u32) -> Result<Option<RegionSplit>, ScenarioError> {
        let regions = &self.file.agents.regions;
        if regions.is_empty() {
            return Ok(None);
        }
        let mut starts = Vec::with_capacity(regions.len());
        let mut next = 0u32;
        for (i, region) in regions.iter().enumerate() {
            let size = match (region.count, region.share) {
                (Some(n), None) => n,
                // The last region takes the rest, so shares need not add up exactly.
                (None, Some(_)) if i + 1 == regions.len() => count.saturating_sub(next),
                (None, Some(share)) => {
                    (u64::from(count) * u64::from(share.0.numerator)
                        / u64::from(share.0.denominator)) as u32
                }
                _ => {
                    return Err(self.error_at_key(
                        "agents",
                        "regions",
                        format!(
                            "region `{}` needs exactly one of `count` and `share`",
                            region.name
                        ),
                    ));
                }
            };
            starts.push(next);
            next = next
                .checked_add(size)
                .filter(|n| *n <= count)
                .ok_or_else(|| {
                    self.error_at_key(
                        "agents",
                        "regions",
                        format!("regions hold more than the {count} agents"),
                    )
                })?;
        }
        if next != count {
            return Err(self.error_at_key(
                "agents",
                "regions",
                format!("regions hold {next} of the {count} agents"),
            ));
        }
        Ok(Some(RegionSplit {
            starts,
            names: regions.iter().map(|r| r.name.clone()).collect(),
        }))
    }

    /// The channel subscriptions of `[[agents.subscribe]]`, each group's
    /// errors located at its channel.
    pub(super) fn subscriptions(&self, count: u32) -> Result<Vec<Subscription>, ScenarioError> {
        let mut table = SubscriptionTable::default();
        let mut subscriptions = Vec::new();
        for group in &self.file.agents.subscribe {
            let error = |why: String| {
                ScenarioError::at(self.path, self.source, group.channel.span(), why)
                    .key("subscribe")
            };
            let channel =
                Channel::parse(group.channel.get_ref()).map_err(|e| error(e.to_string()))?;
            // One table for every group's channel: a hash collision or more
            // custom channels than an agent may hold fails here, not as a
            // silently refused command in the run.
            table
                .subscribe(&channel)
                .map_err(|e| error(format!("{e}")))?;
            let agents = group
                .selector()
                .select(count, ShareFrom::Start)
                .map_err(error)?;
            subscriptions.push(Subscription { channel, agents });
        }
        Ok(subscriptions)
    }

    /// A broadcast on a channel nobody but its origin receives measures
    /// nothing (coverage of zero agents): refused at the workload line.
    pub(super) fn check_receivers(
        &self,
        subscriptions: &[Subscription],
    ) -> Result<(), ScenarioError> {
        let broadcasts = self.file.workload.iter();
        for item in broadcasts.filter(|w| *w.kind.get_ref() == WorkloadKind::Broadcast) {
            let channel = Channel::parse(item.channel.get_ref()).expect("checked by the workload");
            if matches!(&channel, Channel::Standard(c) if c.subscribed_by_default()) {
                continue;
            }
            let origin = *item.from.get_ref();
            let receives =
                |s: &Subscription| s.channel == channel && s.agents.iter().any(|a| a != origin);
            if !subscriptions.iter().any(receives) {
                return Err(ScenarioError::at(
                    self.path,
                    self.source,
                    item.channel.span(),
                    format!(
                        "no agent but the origin receives {}: subscribe agents with \
                         [[agents.subscribe]] channel = \"{}\" and `share`, `agents` or `first`",
                        item.channel.get_ref(),
                        item.channel.get_ref()
                    ),
                )
                .key("channel"));
            }
        }
        Ok(())
    }
}
