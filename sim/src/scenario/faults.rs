//! The `[[faults]]` list resolved into the fault timeline, each error
//! located at its fault's `kind`.

use super::file::{FaultName, FaultSection};
use super::select::ShareFrom;
use super::units::DurationText;
use super::{CHURN_DEPARTURES_MAX, CHURN_RATE_MAX, Resolver, ScenarioError};
use crate::agent_set::AgentSet;
use crate::faults::{Fault, FaultKind, FaultTimeline, GilbertElliott};
use crate::ratio::Ratio;

impl Resolver<'_> {
    fn fault_error(&self, fault: &FaultSection, message: impl Into<String>) -> ScenarioError {
        ScenarioError::at(self.path, self.source, fault.kind.span(), message).key("faults")
    }

    /// The agents a fault names.
    fn fault_agents(&self, fault: &FaultSection, count: u32) -> Result<AgentSet, ScenarioError> {
        let selector = fault.selector();
        if selector.forms() + usize::from(fault.regions.is_some()) != 1 {
            return Err(self.fault_error(
                fault,
                "name the agents with exactly one of `regions`, `share`, `agents` or `first`",
            ));
        }
        if let Some(names) = &fault.regions {
            let Some(split) = self.regions(count)? else {
                return Err(self.fault_error(fault, "`regions` needs `agents.regions`"));
            };
            let mut ranges = Vec::new();
            for name in names {
                let Some(i) = split.names.iter().position(|n| n == name) else {
                    return Err(self.fault_error(fault, format!("no region named {name:?}")));
                };
                let end = split.starts.get(i + 1).copied().unwrap_or(count);
                ranges.push((split.starts[i], end));
            }
            return Ok(AgentSet::from_ranges(ranges));
        }
        selector
            .select(count, ShareFrom::Start)
            .map_err(|why| self.fault_error(fault, why))
    }

    /// The fault timeline.
    pub(super) fn faults(&self, count: u32) -> Result<FaultTimeline, ScenarioError> {
        let mut faults = Vec::new();
        for fault in &self.file.faults {
            if let Some(until) = fault.until
                && until <= fault.at
            {
                return Err(self.fault_error(fault, "`until` must come after `at`"));
            }
            let kind = self.fault_kind(fault, count)?;
            faults.push(Fault {
                at_ns: fault.at.as_ns(),
                until_ns: fault.until.map(DurationText::as_ns),
                kind,
            });
        }
        Ok(FaultTimeline::new(faults))
    }

    /// What one fault does, with the keys its kind needs.
    fn fault_kind(&self, fault: &FaultSection, count: u32) -> Result<FaultKind, ScenarioError> {
        Ok(match fault.kind.get_ref() {
            FaultName::Partition => FaultKind::Partition {
                side: self.fault_agents(fault, count)?,
                one_way: fault.one_way,
            },
            FaultName::Crash => FaultKind::Crash {
                agents: self.fault_agents(fault, count)?,
                lose_state: fault.lose_state,
            },
            FaultName::Loss => {
                let Some(loss) = fault.loss else {
                    return Err(self.fault_error(fault, "a loss fault needs `loss`, e.g. \"1/10\""));
                };
                FaultKind::Loss { loss: loss.0 }
            }
            FaultName::BurstLoss => {
                let (Some(enter), Some(exit)) = (fault.enter, fault.exit) else {
                    return Err(self.fault_error(
                        fault,
                        "burst loss needs `enter` and `exit`, e.g. \"1/100\" and \"1/5\"",
                    ));
                };
                FaultKind::BurstLoss {
                    agents: self.fault_agents(fault, count)?,
                    chain: GilbertElliott {
                        enter: enter.0,
                        exit: exit.0,
                        loss: fault.loss.map_or(Ratio::new(1, 1).expect("1/1"), |l| l.0),
                    },
                }
            }
            FaultName::Latency => {
                if fault.extra.is_none() && fault.jitter.is_none() {
                    return Err(self.fault_error(
                        fault,
                        "a latency fault needs `extra` or `jitter` (or both), e.g. \"200ms\"",
                    ));
                };
                FaultKind::Latency {
                    agents: self.fault_agents(fault, count)?,
                    extra_ns: fault.extra.map_or(0, DurationText::as_ns),
                    jitter_ns: fault.jitter.map_or(0, DurationText::as_ns),
                }
            }
            FaultName::Churn => self.churn(fault, count)?,
            FaultName::Clog => {
                if fault.until.is_none() {
                    return Err(self.fault_error(
                        fault,
                        "a clog needs `until`: held datagrams are released then",
                    ));
                }
                FaultKind::Clog {
                    agents: self.fault_agents(fault, count)?,
                }
            }
        })
    }

    /// A churn fault: departures at `rate` a second, each down for
    /// `downtime`, bounded so its expansion fits in memory.
    fn churn(&self, fault: &FaultSection, count: u32) -> Result<FaultKind, ScenarioError> {
        let (Some(rate), Some(downtime)) = (fault.rate, fault.downtime) else {
            return Err(self.fault_error(
                fault,
                "churn needs `rate` (departures per second) and `downtime`, \
                 e.g. 20 and \"5s\"",
            ));
        };
        if rate == 0 || rate > CHURN_RATE_MAX {
            return Err(self.fault_error(
                fault,
                format!("churn `rate` must be 1 to {CHURN_RATE_MAX} per second"),
            ));
        }
        if downtime.as_ns() == 0 {
            return Err(self.fault_error(fault, "churn `downtime` must be positive"));
        }
        let end_ns = fault
            .until
            .map_or(self.file.stop.duration.as_ns(), DurationText::as_ns)
            .min(self.file.stop.duration.as_ns());
        let departures =
            u128::from(end_ns.saturating_sub(fault.at.as_ns())) * u128::from(rate) / 1_000_000_000;
        if departures > u128::from(CHURN_DEPARTURES_MAX) {
            return Err(self.fault_error(
                fault,
                format!(
                    "churn asks for {departures} departures; at most \
                     {CHURN_DEPARTURES_MAX} (lower `rate` or shorten it with `until`)"
                ),
            ));
        }
        Ok(FaultKind::Churn {
            agents: self.fault_agents(fault, count)?,
            per_s: rate,
            downtime_ns: downtime.as_ns(),
        })
    }
}
