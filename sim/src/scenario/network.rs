//! The `[network]` section resolved: the latency distribution (per region
//! pair with regions), loss and duplication.

use super::agents::RegionSplit;
use super::file::LatencySection;
use super::{Resolver, ScenarioError};
use crate::network::{Latency, NetworkModel, Regions};

impl Resolver<'_> {
    /// A latency distribution, checked.
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

    /// The network model.
    pub(super) fn network(&self) -> Result<NetworkModel, ScenarioError> {
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
}
