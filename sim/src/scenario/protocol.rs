//! The `[protocol]` section resolved into the node configuration every
//! agent shares: strategy, sampling, failure detector and the bounds.

use std::num::{NonZeroU8, NonZeroU16, NonZeroU32};

use colony_core::config::{Config, Detector, LossOfInterest, Sampling, StopRule, Strategy, Swim};
use colony_core::priority::AttentionMode;

use super::file::{AttentionName, DetectorName, RumorLoss, RumorStop, SamplingName, StrategyName};
use super::{Resolver, ScenarioError, locate_key};

impl Resolver<'_> {
    /// The node configuration every agent shares, checked.
    pub(super) fn node_config(&self, count: u32) -> Result<Config, ScenarioError> {
        let p = &self.file.protocol;
        let strategy = self.strategy()?;
        let population = NonZeroU32::new(count).expect("count checked positive");
        let sampling = match p.sampling {
            SamplingName::Uniform => Sampling::Uniform { population },
            SamplingName::Views => Sampling::Views,
        };
        let failure_detection = p.failure_detection.unwrap_or(sampling == Sampling::Views);
        let detector = self.detector(failure_detection)?;
        let config = Config {
            strategy,
            sampling,
            detector,
            gossip_interval: p.gossip_interval.0,
            push_rounds: self.nz8(p.push_rounds, "push_rounds")?,
            hops_initial: p.hops,
            message_ttl: p.message_ttl.0,
            active_view_max: self.nz8(p.active_view, "active_view")?,
            passive_view_max: self.nz8(p.passive_view, "passive_view")?,
            shuffle_interval: p.shuffle_interval.0,
            failure_detection,
            probe_interval: p.probe_interval.0,
            probe_timeout: p.probe_timeout.0,
            suspicion_timeout: p.suspicion_timeout.0,
            rate_per_s: p.rate_per_s,
            inbox_max: p.inbox,
            dedup_capacity: p.dedup,
            store_max: p.store,
            work_per_round_max: self.nz16(p.work_per_round, "work_per_round")?,
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
                let offset = locate_key(self.source, "protocol", key).unwrap_or(0);
                offset..offset
            };
            return Err(ScenarioError::at(self.path, self.source, span, why).key(key));
        }
        Ok(config)
    }

    /// The dissemination strategy.
    fn strategy(&self) -> Result<Strategy, ScenarioError> {
        let p = &self.file.protocol;
        Ok(match p.strategy.get_ref() {
            StrategyName::Push => Strategy::Push {
                fanout: self.nz8(p.fanout, "fanout")?,
            },
            StrategyName::Pull => Strategy::Pull,
            StrategyName::PushPull => Strategy::PushPull {
                fanout: self.nz8(p.fanout, "fanout")?,
            },
            StrategyName::Rumor => Strategy::Rumor {
                fanout: self.nz8(p.fanout, "fanout")?,
                loss: match p.rumor_loss {
                    RumorLoss::Feedback => LossOfInterest::Feedback,
                    RumorLoss::Blind => LossOfInterest::Blind,
                },
                stop: match p.rumor_stop {
                    RumorStop::Counter => StopRule::Counter,
                    RumorStop::Coin => StopRule::Coin,
                },
                k: self.nz8(p.rumor_k, "rumor_k")?,
            },
            StrategyName::Plumtree => Strategy::Plumtree {
                repair_after: p.repair_after.0,
            },
        })
    }

    /// The failure detector (`failure_detection` as resolved).
    fn detector(&self, failure_detection: bool) -> Result<Detector, ScenarioError> {
        let p = &self.file.protocol;
        if p.lifeguard && p.detector != DetectorName::Swim {
            let offset = locate_key(self.source, "protocol", "lifeguard").unwrap_or(0);
            return Err(ScenarioError::at(
                self.path,
                self.source,
                offset..offset,
                "lifeguard refines the full-membership detector: set detector = \"swim\"",
            )
            .key("lifeguard"));
        }
        if p.detector == DetectorName::Swim && !failure_detection {
            let offset = locate_key(self.source, "protocol", "detector").unwrap_or(0);
            return Err(ScenarioError::at(
                self.path,
                self.source,
                offset..offset,
                "detector = \"swim\" needs failure detection (on by default with sampling = \"views\")",
            )
            .key("detector"));
        }
        Ok(match p.detector {
            DetectorName::ActiveView => Detector::ActiveView,
            DetectorName::Swim => Detector::FullMembership(Swim {
                lifeguard: p.lifeguard,
                suspicion_mult: p.suspicion_mult,
                retransmit_mult: p.retransmit_mult,
                sync_interval: p.member_sync_interval.0,
            }),
        })
    }

    /// A `[protocol]` count that must be at least 1.
    fn nz8(&self, value: u8, key: &str) -> Result<NonZeroU8, ScenarioError> {
        NonZeroU8::new(value).ok_or_else(|| {
            self.error_at_key("protocol", key, format!("`{key}` must be at least 1"))
        })
    }

    /// [`Scenario::nz8`] for 16-bit counts.
    fn nz16(&self, value: u16, key: &str) -> Result<NonZeroU16, ScenarioError> {
        NonZeroU16::new(value).ok_or_else(|| {
            self.error_at_key("protocol", key, format!("`{key}` must be at least 1"))
        })
    }
}
