//! Scenario files: loading (TOML, every error with file, line and column),
//! resolution into a [`SimSpec`] per seed, and the verdicts of `expect`.
//! The format is documented in `scenarios/README.md`.

mod error;
mod file;
mod units;
mod workload;

use std::num::{NonZeroU8, NonZeroU16, NonZeroU32};

use colony_core::channel::{Channel, SubscriptionTable};
use colony_core::config::{Config, Detector, LossOfInterest, Sampling, StopRule, Strategy, Swim};
use colony_core::priority::AttentionMode;
use colony_reports::{Expectation, RunReport};

use crate::byzantine::{Adversary, Behaviour, ByzantineGroup};
use crate::engine::cpu::CpuGroup;
use crate::faults::{AgentSet, Fault, FaultKind, FaultTimeline, GilbertElliott};
use crate::network::{Latency, NetworkModel, Ratio, Regions};
use crate::plan::{SimSpec, StopCondition, Subscription};

pub use error::ScenarioError;
pub use file::ScenarioFile;
pub use units::{DurationText, RatioText};

use file::{
    AttentionName, BehaviourName, DetectorName, FaultName, LatencySection, RumorLoss, RumorStop,
    SamplingName, StrategyName, WorkloadKind,
};

/// The agents a fault or Byzantine group names by `agents` (a list) or by
/// `first` and `count` (a range; the caller checked one of them is given).
fn listed_agents(
    list: Option<&[u32]>,
    first: Option<u32>,
    range_count: Option<u32>,
    count: u32,
) -> Result<AgentSet, String> {
    if let Some(agents) = list {
        if let Some(bad) = agents.iter().find(|a| **a >= count) {
            return Err(format!("agent {bad} does not exist (0..{count})"));
        }
        return Ok(AgentSet::from_agents(agents));
    }
    let first = first.unwrap_or(0);
    let end = u64::from(first) + u64::from(range_count.unwrap_or(1));
    if end > u64::from(count) {
        return Err(format!("agents {first}..{end} exceed the {count} agents"));
    }
    Ok(AgentSet::from_ranges(vec![(first, end as u32)]))
}

/// Most agents a scenario may ask for: ten million, ten times the largest
/// run the engine is built for, so a typo (an extra zero) fails fast instead
/// of exhausting memory.
pub const AGENTS_MAX: u32 = 10_000_000;

/// Most broadcasts a scenario may schedule: metrics keep per-broadcast
/// delivery times, so this bounds their memory.
pub const BROADCASTS_MAX: usize = 100_000;

/// Most churn departures per second a fault may ask for: the departures are
/// expanded into commands up front, so this (times the fault's length)
/// bounds their memory; 100,000/s is a tenth of a million agents a second.
pub const CHURN_RATE_MAX: u32 = 100_000;

/// Most departures one churn fault may expand to (each is two commands).
pub const CHURN_DEPARTURES_MAX: u32 = 10_000_000;

/// Agents split into contiguous regions.
struct RegionSplit {
    starts: Vec<u32>,
    names: Vec<String>,
}

/// A loaded, checked scenario.
#[derive(Debug)]
pub struct Scenario {
    /// The file as given on the command line.
    pub path: String,
    /// Its exact text (copied next to reports).
    pub source: String,
    /// The parsed file.
    pub file: ScenarioFile,
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &str) -> Result<Scenario, ScenarioError> {
        let source = std::fs::read_to_string(path).map_err(|e| {
            ScenarioError::file(path, format!("cannot read the scenario file: {e}"))
        })?;
        Scenario::parse(path, source)
    }

    /// Checks scenario text; `path` labels errors.
    pub fn parse(path: &str, source: String) -> Result<Scenario, ScenarioError> {
        let file: ScenarioFile =
            toml::from_str(&source).map_err(|e| ScenarioError::from_toml(path, &source, &e))?;
        let scenario = Scenario {
            path: path.to_string(),
            source,
            file,
        };
        scenario.check()?;
        Ok(scenario)
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.file.name
    }

    fn error_at_key(&self, section: &str, key: &str, message: impl Into<String>) -> ScenarioError {
        let offset = locate_key(&self.source, section, key).unwrap_or(0);
        ScenarioError::at(&self.path, &self.source, offset..offset, message).key(key)
    }

    fn check(&self) -> Result<(), ScenarioError> {
        let f = &self.file;
        if f.seeds.is_empty() {
            return Err(self.error_at_key("", "seeds", "`seeds` needs at least one seed"));
        }
        let count = *f.agents.count.get_ref();
        if count == 0 || count > AGENTS_MAX {
            return Err(ScenarioError::at(
                &self.path,
                &self.source,
                f.agents.count.span(),
                format!("agent count {count} is outside 1..={AGENTS_MAX}"),
            )
            .key("count"));
        }
        for (key, share) in [
            ("coverage", f.expect.coverage),
            ("requests_answered", f.expect.requests_answered),
        ] {
            if share.is_some_and(|s| !(0.0..=1.0).contains(&s)) {
                return Err(self.error_at_key(
                    "expect",
                    key,
                    format!("{key} is a share between 0 and 1"),
                ));
            }
        }
        self.workload(count)?;
        self.check_receivers(count)?;
        for group in &f.agents.cpu {
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
        }
        self.regions(count)?;
        self.faults(count)?;
        self.adversary(count)?;
        self.network()?;
        self.node_config(count)?;
        Ok(())
    }

    fn regions(&self, count: u32) -> Result<Option<RegionSplit>, ScenarioError> {
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

    fn fault_error(&self, fault: &file::FaultSection, message: impl Into<String>) -> ScenarioError {
        ScenarioError::at(&self.path, &self.source, fault.kind.span(), message).key("faults")
    }

    /// The agents a fault names.
    fn fault_agents(
        &self,
        fault: &file::FaultSection,
        count: u32,
    ) -> Result<AgentSet, ScenarioError> {
        let given = [
            fault.regions.is_some(),
            fault.share.is_some(),
            fault.agents.is_some(),
            fault.first.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
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
        if let Some(share) = fault.share {
            let end = (u64::from(count) * u64::from(share.0.numerator)
                / u64::from(share.0.denominator)) as u32;
            return Ok(AgentSet::from_ranges(vec![(0, end)]));
        }
        listed_agents(fault.agents.as_deref(), fault.first, fault.count, count)
            .map_err(|why| self.fault_error(fault, why))
    }

    /// The channel subscriptions of `[[agents.subscribe]]`, each group's
    /// errors located at its channel.
    fn subscriptions(&self, count: u32) -> Result<Vec<Subscription>, ScenarioError> {
        let mut table = SubscriptionTable::default();
        let mut subscriptions = Vec::new();
        for group in &self.file.agents.subscribe {
            let error = |why: String| {
                ScenarioError::at(&self.path, &self.source, group.channel.span(), why)
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
            let given = [
                group.share.is_some(),
                group.agents.is_some(),
                group.first.is_some(),
            ];
            if given.iter().filter(|g| **g).count() != 1 {
                return Err(error(
                    "name the subscribers with exactly one of `share`, `agents` or `first`".into(),
                ));
            }
            let agents = match group.share {
                Some(share) => {
                    let end = (u64::from(count) * u64::from(share.0.numerator)
                        / u64::from(share.0.denominator)) as u32;
                    AgentSet::from_ranges(vec![(0, end)])
                }
                None => listed_agents(group.agents.as_deref(), group.first, group.count, count)
                    .map_err(error)?,
            };
            subscriptions.push(Subscription { channel, agents });
        }
        Ok(subscriptions)
    }

    /// A broadcast on a channel nobody but its origin receives measures
    /// nothing (coverage of zero agents): refused at the workload line.
    fn check_receivers(&self, count: u32) -> Result<(), ScenarioError> {
        let subscriptions = self.subscriptions(count)?;
        let broadcasts = self.file.workload.iter();
        for item in broadcasts.filter(|w| *w.kind.get_ref() == WorkloadKind::Broadcast) {
            let channel = Channel::parse(item.channel.get_ref()).expect("checked above");
            if matches!(&channel, Channel::Standard(c) if c.subscribed_by_default()) {
                continue;
            }
            let origin = *item.from.get_ref();
            let receives =
                |s: &Subscription| s.channel == channel && s.agents.iter().any(|a| a != origin);
            if !subscriptions.iter().any(receives) {
                return Err(ScenarioError::at(
                    &self.path,
                    &self.source,
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

    fn byzantine_error(
        &self,
        group: &file::ByzantineSection,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::at(&self.path, &self.source, group.behaviour.span(), message)
            .key("byzantine")
    }

    fn adversary(&self, count: u32) -> Result<Adversary, ScenarioError> {
        let mut groups = Vec::new();
        for group in &self.file.byzantine {
            let given = [
                group.share.is_some(),
                group.agents.is_some(),
                group.first.is_some(),
            ];
            if given.iter().filter(|g| **g).count() != 1 {
                return Err(self.byzantine_error(
                    group,
                    "name the agents with exactly one of `share`, `agents` or `first`",
                ));
            }
            let agents = match group.share {
                Some(share) => {
                    let n = (u64::from(count) * u64::from(share.0.numerator)
                        / u64::from(share.0.denominator)) as u32;
                    AgentSet::from_ranges(vec![(count - n, count)])
                }
                None => listed_agents(group.agents.as_deref(), group.first, group.count, count)
                    .map_err(|why| self.byzantine_error(group, why))?,
            };
            let all = Ratio::new(1, 1).expect("1/1");
            let ratio = group.ratio.map_or(all, |r| r.0);
            let victim = |what: &str| -> Result<u32, ScenarioError> {
                match group.victim {
                    Some(v) if v < count => Ok(v),
                    Some(v) => Err(self
                        .byzantine_error(group, format!("victim {v} does not exist (0..{count})"))),
                    None => Err(self.byzantine_error(group, format!("{what} needs `victim`"))),
                }
            };
            let delay = |what: &str| -> Result<u64, ScenarioError> {
                group
                    .delay
                    .map(DurationText::as_ns)
                    .ok_or_else(|| self.byzantine_error(group, format!("{what} needs `delay`")))
            };
            let behaviour = match group.behaviour.get_ref() {
                BehaviourName::Silent => Behaviour::Silent,
                BehaviourName::Selective => Behaviour::Selective {
                    share: ratio,
                    channel: match &group.channel {
                        Some(name) => Some(
                            Channel::parse(name)
                                .map_err(|e| self.byzantine_error(group, e.to_string()))?
                                .hash(),
                        ),
                        None => None,
                    },
                },
                BehaviourName::Flood => match group.rate {
                    Some(per_s) if per_s > 0 => Behaviour::Flood { per_s },
                    _ => {
                        return Err(self.byzantine_error(
                            group,
                            "flood needs `rate`, messages per second (at least 1)",
                        ));
                    }
                },
                BehaviourName::Forge => Behaviour::Forge {
                    victim: victim("forge")?,
                },
                BehaviourName::Corrupt => Behaviour::Corrupt { share: ratio },
                BehaviourName::Equivocate => Behaviour::Equivocate,
                BehaviourName::Replay => Behaviour::Replay {
                    delay_ns: delay("replay")?,
                },
                BehaviourName::Delay => Behaviour::Delay {
                    delay_ns: delay("delay")?,
                },
                BehaviourName::Eclipse => Behaviour::Eclipse {
                    victim: victim("eclipse")?,
                },
            };
            groups.push(ByzantineGroup {
                agents,
                behaviour,
                from_ns: group.from.map_or(0, DurationText::as_ns),
            });
        }
        Ok(Adversary::new(groups))
    }

    fn faults(&self, count: u32) -> Result<FaultTimeline, ScenarioError> {
        let mut faults = Vec::new();
        for fault in &self.file.faults {
            if let Some(until) = fault.until
                && until <= fault.at
            {
                return Err(self.fault_error(fault, "`until` must come after `at`"));
            }
            let kind = match fault.kind.get_ref() {
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
                        return Err(
                            self.fault_error(fault, "a loss fault needs `loss`, e.g. \"1/10\"")
                        );
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
                FaultName::Churn => {
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
                    let departures = u128::from(end_ns.saturating_sub(fault.at.as_ns()))
                        * u128::from(rate)
                        / 1_000_000_000;
                    if departures > u128::from(CHURN_DEPARTURES_MAX) {
                        return Err(self.fault_error(
                            fault,
                            format!(
                                "churn asks for {departures} departures; at most \
                                 {CHURN_DEPARTURES_MAX} (lower `rate` or shorten it with `until`)"
                            ),
                        ));
                    }
                    FaultKind::Churn {
                        agents: self.fault_agents(fault, count)?,
                        per_s: rate,
                        downtime_ns: downtime.as_ns(),
                    }
                }
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
            };
            faults.push(Fault {
                at_ns: fault.at.as_ns(),
                until_ns: fault.until.map(DurationText::as_ns),
                kind,
            });
        }
        Ok(FaultTimeline::new(faults))
    }

    fn latency(&self, section: &LatencySection) -> Result<Latency, ScenarioError> {
        let latency = match section {
            LatencySection::Constant { value } => Latency::Constant(value.0),
            LatencySection::Uniform { min, max } => {
                if min > max {
                    return Err(self.error_at_key(
                        "network",
                        "latency",
                        "uniform latency needs min <= max",
                    ));
                }
                Latency::Uniform {
                    min: min.0,
                    max: max.0,
                }
            }
            LatencySection::Normal {
                mean,
                std_dev,
                floor,
            } => Latency::Normal {
                mean: mean.0,
                std_dev: std_dev.0,
                floor: floor.0,
            },
            LatencySection::Lognormal {
                median,
                sigma,
                floor,
            } => {
                if !(0.0..=10.0).contains(sigma) {
                    return Err(self.error_at_key(
                        "network",
                        "latency",
                        "lognormal sigma must be between 0 and 10",
                    ));
                }
                Latency::LogNormal {
                    median: median.0,
                    sigma_milli: (sigma * 1000.0).round() as u32,
                    floor: floor.0,
                }
            }
        };
        if latency.min().is_zero() {
            return Err(self
                .error_at_key("network", "latency", "the smallest latency must be positive")
                .hint("the engine's parallel window is the smallest link latency; use at least \"1us\""));
        }
        Ok(latency)
    }

    fn network(&self) -> Result<NetworkModel, ScenarioError> {
        let n = &self.file.network;
        let latency = self.latency(&n.latency)?;
        let count = *self.file.agents.count.get_ref();
        let regions = match (self.regions(count)?, &n.region_latency) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(self.error_at_key(
                    "network",
                    "region_latency",
                    "regions need a `region_latency` matrix",
                ));
            }
            (None, Some(_)) => {
                return Err(self.error_at_key(
                    "network",
                    "region_latency",
                    "`region_latency` needs `agents.regions`",
                ));
            }
            (Some(RegionSplit { starts, names }), Some(matrix)) => {
                if matrix.len() != names.len() || matrix.iter().any(|row| row.len() != names.len())
                {
                    return Err(self.error_at_key(
                        "network",
                        "region_latency",
                        format!(
                            "`region_latency` must be {0} rows of {0} latencies",
                            names.len()
                        ),
                    ));
                }
                let latency = matrix
                    .iter()
                    .map(|row| {
                        row.iter()
                            .map(|l| self.latency(l))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Some(Regions {
                    starts,
                    names,
                    latency,
                })
            }
        };
        Ok(NetworkModel {
            latency,
            loss: n.loss.0,
            duplicate: n.duplicate.0,
            regions,
        })
    }

    fn node_config(&self, count: u32) -> Result<Config, ScenarioError> {
        let p = &self.file.protocol;
        let nz8 = |value: u8, key: &str| {
            NonZeroU8::new(value).ok_or_else(|| {
                self.error_at_key("protocol", key, format!("`{key}` must be at least 1"))
            })
        };
        let nz16 = |value: u16, key: &str| {
            NonZeroU16::new(value).ok_or_else(|| {
                self.error_at_key("protocol", key, format!("`{key}` must be at least 1"))
            })
        };
        let strategy = match p.strategy.get_ref() {
            StrategyName::Push => Strategy::Push {
                fanout: nz8(p.fanout, "fanout")?,
            },
            StrategyName::Pull => Strategy::Pull,
            StrategyName::PushPull => Strategy::PushPull {
                fanout: nz8(p.fanout, "fanout")?,
            },
            StrategyName::Rumor => Strategy::Rumor {
                fanout: nz8(p.fanout, "fanout")?,
                loss: match p.rumor_loss {
                    RumorLoss::Feedback => LossOfInterest::Feedback,
                    RumorLoss::Blind => LossOfInterest::Blind,
                },
                stop: match p.rumor_stop {
                    RumorStop::Counter => StopRule::Counter,
                    RumorStop::Coin => StopRule::Coin,
                },
                k: nz8(p.rumor_k, "rumor_k")?,
            },
            StrategyName::Plumtree => Strategy::Plumtree {
                repair_after: p.repair_after.0,
            },
        };
        let population = NonZeroU32::new(count).expect("count checked positive");
        let sampling = match p.sampling {
            SamplingName::Uniform => Sampling::Uniform { population },
            SamplingName::Views => Sampling::Views,
        };
        if p.lifeguard && p.detector != DetectorName::Swim {
            let offset = locate_key(&self.source, "protocol", "lifeguard").unwrap_or(0);
            return Err(ScenarioError::at(
                &self.path,
                &self.source,
                offset..offset,
                "lifeguard refines the full-membership detector: set detector = \"swim\"",
            )
            .key("lifeguard"));
        }
        let failure_detection = p.failure_detection.unwrap_or(sampling == Sampling::Views);
        if p.detector == DetectorName::Swim && !failure_detection {
            let offset = locate_key(&self.source, "protocol", "detector").unwrap_or(0);
            return Err(ScenarioError::at(
                &self.path,
                &self.source,
                offset..offset,
                "detector = \"swim\" needs failure detection (on by default with sampling = \"views\")",
            )
            .key("detector"));
        }
        let detector = match p.detector {
            DetectorName::ActiveView => Detector::ActiveView,
            DetectorName::Swim => Detector::FullMembership(Swim {
                lifeguard: p.lifeguard,
                suspicion_mult: p.suspicion_mult,
                retransmit_mult: p.retransmit_mult,
                sync_interval: p.member_sync_interval.0,
            }),
        };
        let config = Config {
            strategy,
            sampling,
            detector,
            gossip_interval: p.gossip_interval.0,
            push_rounds: nz8(p.push_rounds, "push_rounds")?,
            hops_initial: p.hops,
            message_ttl: p.message_ttl.0,
            active_view_max: nz8(p.active_view, "active_view")?,
            passive_view_max: nz8(p.passive_view, "passive_view")?,
            shuffle_interval: p.shuffle_interval.0,
            failure_detection,
            probe_interval: p.probe_interval.0,
            probe_timeout: p.probe_timeout.0,
            suspicion_timeout: p.suspicion_timeout.0,
            rate_per_s: p.rate_per_s,
            inbox_max: p.inbox,
            dedup_capacity: p.dedup,
            store_max: p.store,
            work_per_round_max: nz16(p.work_per_round, "work_per_round")?,
            attention: match p.attention {
                AttentionName::Realtime => AttentionMode::Realtime,
                AttentionName::Focused => AttentionMode::Focused,
                AttentionName::Minimal => AttentionMode::Minimal,
            },
            digest_interval: p.digest_interval.0,
            reputation: p.reputation,
            ..Config::default()
        };
        if let Err(why) = config.validate() {
            let key = if why.contains("plumtree") || why.contains("failure detection") {
                "strategy"
            } else {
                "protocol"
            };
            let span = if key == "strategy" && p.strategy.span() != (0..0) {
                p.strategy.span()
            } else {
                let offset = locate_key(&self.source, "protocol", key).unwrap_or(0);
                offset..offset
            };
            return Err(ScenarioError::at(&self.path, &self.source, span, why).key(key));
        }
        Ok(config)
    }

    /// The simulation of one seed.
    pub fn spec(&self, seed: u64) -> Result<SimSpec, ScenarioError> {
        let f = &self.file;
        let count = *f.agents.count.get_ref();
        let workload = self.workload(count)?;
        Ok(SimSpec {
            name: f.name.clone(),
            agents: count,
            seed,
            node: self.node_config(count)?,
            network: self.network()?,
            workload: workload.broadcasts,
            faults: self.faults(count)?,
            script: workload.direct,
            observe: false,
            adversary: self.adversary(count)?,
            signatures: f.protocol.signatures,
            subscriptions: self.subscriptions(count)?,
            cpu: f
                .agents
                .cpu
                .iter()
                .map(|g| CpuGroup {
                    first: g.first,
                    end: g.first + g.count,
                    cycles_per_s: g.cycles_per_second,
                })
                .collect(),
            stop: StopCondition {
                duration_ns: f.stop.duration.as_ns(),
                at_full_coverage: f.stop.at_full_coverage,
            },
        })
    }

    /// The parameters a run resolves to, for printing before it starts.
    pub fn resolved_parameters(&self) -> Vec<(String, String)> {
        let f = &self.file;
        let p = &f.protocol;
        let n = &f.network;
        let latency = match &n.latency {
            LatencySection::Constant { value } => format!("constant {value}"),
            LatencySection::Uniform { min, max } => format!("uniform {min}..{max}"),
            LatencySection::Normal {
                mean,
                std_dev,
                floor,
            } => format!("normal mean {mean} sd {std_dev} floor {floor}"),
            LatencySection::Lognormal {
                median,
                sigma,
                floor,
            } => format!("lognormal median {median} sigma {sigma} floor {floor}"),
        };
        let strategy = match p.strategy.get_ref() {
            StrategyName::Push => format!("push, fanout {}", p.fanout),
            StrategyName::Pull => "pull".to_string(),
            StrategyName::PushPull => format!("push-pull, fanout {}", p.fanout),
            StrategyName::Rumor => format!(
                "rumor ({:?}, {:?}, k = {}), fanout {}",
                p.rumor_loss, p.rumor_stop, p.rumor_k, p.fanout
            )
            .to_lowercase(),
            StrategyName::Plumtree => format!("plumtree, repair after {}", p.repair_after),
        };
        let messages = |kind: WorkloadKind| -> u64 {
            f.workload
                .iter()
                .filter(|w| *w.kind.get_ref() == kind)
                .map(|w| u64::from(w.count))
                .sum()
        };
        vec![
            ("agents".into(), f.agents.count.get_ref().to_string()),
            ("strategy".into(), strategy),
            (
                "sampling".into(),
                format!("{:?}", p.sampling).to_lowercase(),
            ),
            ("gossip interval".into(), p.gossip_interval.to_string()),
            ("latency".into(), latency),
            (
                "loss / duplication".into(),
                format!("{} / {}", n.loss.0, n.duplicate.0),
            ),
            (
                "attention".into(),
                format!("{:?}", p.attention).to_lowercase(),
            ),
            (
                "broadcasts / sends / requests".into(),
                format!(
                    "{} / {} / {}",
                    messages(WorkloadKind::Broadcast),
                    messages(WorkloadKind::Send),
                    messages(WorkloadKind::Request)
                ),
            ),
            (
                "stop".into(),
                format!(
                    "{} or full coverage: {}",
                    f.stop.duration, f.stop.at_full_coverage
                ),
            ),
        ]
    }

    /// The verdict of every `expect` against one run's report.
    pub fn expectations(&self, report: &RunReport) -> Vec<Expectation> {
        let e = &self.file.expect;
        let mut out = Vec::new();
        let messages = &report.messages;
        let worst =
            |f: &dyn Fn(&colony_reports::MessageReport) -> Option<u64>| -> Option<Option<u64>> {
                if messages.is_empty() {
                    return None;
                }
                Some(
                    messages
                        .iter()
                        .map(f)
                        .try_fold(0u64, |acc, v| v.map(|v| acc.max(v))),
                )
            };
        let ms = |ns: u64| format!("{:.1} ms", ns as f64 / 1e6);
        if let Some(min) = e.coverage {
            let actual = messages.iter().map(|m| m.coverage).fold(1.0f64, f64::min);
            out.push(expectation(
                "coverage",
                actual >= min,
                format!(">= {min}"),
                format!("{actual:.4}"),
            ));
        }
        if let Some(max) = e.time_to_full_coverage {
            let (passed, actual) = match worst(&|m| m.time_to_full_coverage_ns) {
                Some(Some(t)) => (t <= max.as_ns(), ms(t)),
                Some(None) => (false, "never reached".into()),
                None => (false, "no broadcast".into()),
            };
            out.push(expectation(
                "time_to_full_coverage",
                passed,
                format!("<= {max}"),
                actual,
            ));
        }
        if let Some(max) = e.time_to_99pct {
            let (passed, actual) = match worst(&|m| m.time_to_99pct_ns) {
                Some(Some(t)) => (t <= max.as_ns(), ms(t)),
                Some(None) => (false, "never reached".into()),
                None => (false, "no broadcast".into()),
            };
            out.push(expectation(
                "time_to_99pct",
                passed,
                format!("<= {max}"),
                actual,
            ));
        }
        if let Some(max) = e.rounds_to_full {
            let (passed, actual) = match worst(&|m| m.rounds_to_full) {
                Some(Some(r)) => (r <= max, r.to_string()),
                Some(None) => (false, "never reached".into()),
                None => (false, "no broadcast".into()),
            };
            out.push(expectation(
                "rounds_to_full",
                passed,
                format!("<= {max}"),
                actual,
            ));
        }
        if let Some(max) = e.latency_p99 {
            let p99 = report.latency_ns.p99;
            out.push(expectation(
                "latency_p99",
                p99 <= max.as_ns(),
                format!("<= {max}"),
                ms(p99),
            ));
        }
        if let Some(max) = e.redundancy {
            let r = report.totals.redundancy;
            out.push(expectation(
                "redundancy",
                r <= max,
                format!("<= {max}"),
                format!("{r:.2}"),
            ));
        }
        if let Some(max) = e.datagrams_per_agent {
            let d = report.totals.datagrams_per_agent;
            out.push(expectation(
                "datagrams_per_agent",
                d <= max,
                format!("<= {max}"),
                format!("{d:.2}"),
            ));
        }
        if e.critical_immediate == Some(true) {
            let late = report.totals.critical_not_immediate;
            out.push(expectation(
                "critical_immediate",
                late == 0,
                "0 deferred".into(),
                format!("{late} deferred"),
            ));
        }
        if let Some(min) = e.digests_min {
            let n = report.totals.digests;
            out.push(expectation(
                "digests_min",
                n >= min,
                format!(">= {min}"),
                n.to_string(),
            ));
        }
        if let Some(max) = e.deliveries_across_cut {
            let n = report.totals.deliveries_across_cut;
            out.push(expectation(
                "deliveries_across_cut",
                n <= max,
                format!("<= {max}"),
                n.to_string(),
            ));
        }
        if e.no_forgery == Some(true) {
            let t = &report.totals;
            let bad = t.forged_deliveries + t.tampered_deliveries;
            out.push(expectation(
                "no_forgery",
                bad == 0,
                "0 forged or tampered".into(),
                format!(
                    "{} forged, {} tampered",
                    t.forged_deliveries, t.tampered_deliveries
                ),
            ));
        }
        if let Some(max) = e.recovery_within {
            let ended: Vec<_> = report
                .faults
                .iter()
                .filter(|f| f.until_ns.is_some())
                .collect();
            let slowest = ended
                .iter()
                .map(|f| f.recovered_after_ns)
                .try_fold(0u64, |a, r| r.map(|r| a.max(r)));
            let (passed, actual) = match slowest {
                _ if ended.is_empty() => (false, "no fault ended".into()),
                Some(ns) => (ns <= max.as_ns(), ms(ns)),
                None => (false, "a fault was never recovered from".into()),
            };
            out.push(expectation(
                "recovery_within",
                passed,
                format!("<= {max}"),
                actual,
            ));
        }
        if let Some(max) = e.false_positives {
            let (passed, actual) = match &report.detection {
                Some(d) => (d.false_positives <= max, d.false_positives.to_string()),
                None => (true, "0 (nothing suspected)".into()),
            };
            out.push(expectation(
                "false_positives",
                passed,
                format!("<= {max}"),
                actual,
            ));
        }
        if let Some(max) = e.detection_p99 {
            let confirmed = report
                .detection
                .as_ref()
                .map(|d| d.first_confirmation_ms)
                .filter(|p| p.count > 0);
            let (passed, actual) = match confirmed {
                Some(p) => (
                    p.p99 * 1e6 <= max.as_ns() as f64,
                    format!("{:.1} ms", p.p99),
                ),
                None => (false, "no crash was confirmed".into()),
            };
            out.push(expectation(
                "detection_p99",
                passed,
                format!("<= {max}"),
                actual,
            ));
        }
        if let Some(min) = e.requests_answered {
            let share = report.direct.as_ref().map_or(1.0, |d| d.answered_share());
            out.push(expectation(
                "requests_answered",
                share >= min,
                format!(">= {min}"),
                format!("{share:.4}"),
            ));
        }
        if e.no_honest_loss == Some(true) {
            let missing: u64 = messages
                .iter()
                .map(|m| m.eligible.saturating_sub(m.delivered))
                .sum();
            out.push(expectation(
                "no_honest_loss",
                missing == 0,
                "0 missed deliveries".into(),
                format!("{missing} missed"),
            ));
        }
        out
    }
}

fn expectation(name: &str, passed: bool, expected: String, actual: String) -> Expectation {
    Expectation {
        name: name.to_string(),
        passed,
        expected,
        actual,
    }
}

/// Byte offset of `key = …` in `[section]` (top level when `section` is
/// empty), or of the section's header when the key is not written, by a
/// plain text search: enough to point the user at the right line.
fn locate_key(source: &str, section: &str, key: &str) -> Option<usize> {
    let mut in_section = section.is_empty();
    let mut header_offset = None;
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with('[') {
            let header = trimmed
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            in_section = !section.is_empty() && header == section;
            if in_section && header_offset.is_none() {
                header_offset = Some(offset + indent);
            }
        } else if in_section
            && trimmed
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return Some(offset + indent);
        }
        offset += line.len();
    }
    header_offset
}

#[cfg(test)]
mod tests;
