//! The `[[byzantine]]` groups resolved into the adversary: who misbehaves,
//! from when, and how.

use colony_core::channel::Channel;

use super::file::{BehaviourName, ByzantineSection};
use super::select::ShareFrom;
use super::units::DurationText;
use super::{Resolver, ScenarioError};
use crate::byzantine::{Adversary, Behaviour, ByzantineGroup};
use crate::ratio::Ratio;

impl Resolver<'_> {
    fn byzantine_error(
        &self,
        group: &ByzantineSection,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::at(self.path, self.source, group.behaviour.span(), message).key("byzantine")
    }

    /// The Byzantine groups, each error located at its `behaviour`.
    pub(super) fn adversary(&self, count: u32) -> Result<Adversary, ScenarioError> {
        let mut groups = Vec::new();
        for group in &self.file.byzantine {
            let agents = group
                .selector()
                .select(count, ShareFrom::End)
                .map_err(|why| self.byzantine_error(group, why))?;
            groups.push(ByzantineGroup {
                agents,
                behaviour: self.behaviour(group, count)?,
                from_ns: group.from.map_or(0, DurationText::as_ns),
            });
        }
        Ok(Adversary::new(groups))
    }

    /// What a group does, with the keys its behaviour needs.
    fn behaviour(&self, group: &ByzantineSection, count: u32) -> Result<Behaviour, ScenarioError> {
        let all = Ratio::new(1, 1).expect("1/1");
        let ratio = group.ratio.map_or(all, |r| r.0);
        let victim =
            |what: &str| -> Result<u32, ScenarioError> {
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
        Ok(match group.behaviour.get_ref() {
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
        })
    }
}
