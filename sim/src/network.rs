//! The network model: per-link one-way latency from a distribution, loss and
//! duplication as integer ratios, and regions with a region-to-region latency
//! matrix. No N×N structure: a link's behaviour derives from its endpoints'
//! regions and the counter-based streams of [`crate::link_rng`].

use core::time::Duration;

use crate::link_rng::{self, Stream, StreamKeys};

use crate::ratio::Ratio;

/// A one-way latency distribution. Every variant has a positive minimum,
/// which is the engine's parallel window.
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    /// Always the same.
    Constant(Duration),
    /// Uniform in `[min, max]`.
    Uniform {
        /// Smallest latency.
        min: Duration,
        /// Largest latency.
        max: Duration,
    },
    /// Approximately normal (Irwin–Hall: the sum of twelve uniforms, integer
    /// arithmetic only), clamped below at `floor`.
    Normal {
        /// Mean.
        mean: Duration,
        /// Standard deviation.
        std_dev: Duration,
        /// Smallest latency.
        floor: Duration,
    },
    /// Log-normal with the given median and shape `sigma` (of the underlying
    /// normal), clamped below at `floor`.
    LogNormal {
        /// Median.
        median: Duration,
        /// Shape parameter, in thousandths (sigma = 0.5 is 500).
        sigma_milli: u32,
        /// Smallest latency.
        floor: Duration,
    },
}

/// Irwin–Hall: twelve uniforms of `IH_BITS` bits each; their sum minus six
/// times the range is approximately standard normal times the range.
const IH_TERMS: u64 = 12;
const IH_BITS: u32 = 20;

impl Latency {
    /// The smallest latency this distribution can produce.
    pub fn min(&self) -> Duration {
        match self {
            Latency::Constant(d) => *d,
            Latency::Uniform { min, .. } => *min,
            Latency::Normal { floor, .. } | Latency::LogNormal { floor, .. } => *floor,
        }
    }

    /// An approximate standard-normal sample scaled by 2^IH_BITS, from `bits`.
    fn standard_normal_scaled(bits: u64) -> i64 {
        let mut sum: i64 = 0;
        for i in 0..IH_TERMS {
            sum += (link_rng::next(bits, i) >> (64 - IH_BITS)) as i64;
        }
        sum - (IH_TERMS as i64 / 2) * (1i64 << IH_BITS)
    }

    /// One latency sample, nanoseconds, from 64 random bits.
    pub fn sample_ns(&self, bits: u64) -> u64 {
        match self {
            Latency::Constant(d) => d.as_nanos() as u64,
            Latency::Uniform { min, max } => {
                let (lo, hi) = (min.as_nanos() as u64, max.as_nanos() as u64);
                lo + link_rng::below(bits, hi - lo + 1)
            }
            Latency::Normal {
                mean,
                std_dev,
                floor,
            } => {
                let z = Self::standard_normal_scaled(bits);
                let offset = (i128::from(z) * std_dev.as_nanos() as i128) >> IH_BITS;
                let value = mean.as_nanos() as i128 + offset;
                value.max(floor.as_nanos() as i128) as u64
            }
            Latency::LogNormal {
                median,
                sigma_milli,
                floor,
            } => {
                let z = Self::standard_normal_scaled(bits) as f64 / f64::from(1u32 << IH_BITS);
                let factor = (z * f64::from(*sigma_milli) / 1000.0).exp();
                let value = (median.as_nanos() as f64 * factor) as u64;
                value.max(floor.as_nanos() as u64)
            }
        }
    }
}

/// Regions: agents `0..n` are split into contiguous ranges, and each ordered
/// pair of regions has its own latency (asymmetric links allowed).
#[derive(Clone, Debug, PartialEq)]
pub struct Regions {
    /// First agent of each region, ascending, starting at 0.
    pub starts: Vec<u32>,
    /// Region names, for reports.
    pub names: Vec<String>,
    /// `latency[from][to]`: the one-way latency from region `from` to `to`.
    pub latency: Vec<Vec<Latency>>,
}

impl Regions {
    /// The region of an agent.
    #[inline]
    pub fn of(&self, agent: u32) -> usize {
        self.starts.partition_point(|start| *start <= agent) - 1
    }
}

/// The whole network model of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkModel {
    /// Latency of every link when there are no regions.
    pub latency: Latency,
    /// Share of datagrams lost.
    pub loss: Ratio,
    /// Share of datagrams delivered twice (the copy with its own latency,
    /// which also reorders them).
    pub duplicate: Ratio,
    /// Regions, overriding `latency` per region pair.
    pub regions: Option<Regions>,
}

/// What the network does with one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Lost.
    Lost,
    /// Delivered after this many nanoseconds.
    Delivered(u64),
    /// Delivered twice, after each of these.
    Duplicated(u64, u64),
}

impl NetworkModel {
    /// A lossless network with one latency everywhere.
    pub fn constant(latency: Duration) -> Self {
        NetworkModel {
            latency: Latency::Constant(latency),
            loss: Ratio::ZERO,
            duplicate: Ratio::ZERO,
            regions: None,
        }
    }

    /// The smallest latency of any link: the engine's window.
    pub fn latency_min(&self) -> Duration {
        match &self.regions {
            None => self.latency.min(),
            Some(regions) => regions
                .latency
                .iter()
                .flatten()
                .map(Latency::min)
                .min()
                .unwrap_or(self.latency.min()),
        }
    }

    fn link_latency(&self, source: u32, target: u32) -> &Latency {
        match &self.regions {
            None => &self.latency,
            Some(regions) => &regions.latency[regions.of(source)][regions.of(target)],
        }
    }

    /// The fate of the `seq`-th datagram `source` sends to `target`, in
    /// the run whose seed gave `keys`.
    #[inline]
    pub fn fate(&self, keys: &StreamKeys, source: u32, target: u32, seq: u32) -> Fate {
        self.fate_with_loss(keys, source, target, seq, self.loss)
    }

    /// [`NetworkModel::fate`] with the loss ratio overridden (a loss fault).
    #[inline]
    pub fn fate_with_loss(
        &self,
        keys: &StreamKeys,
        source: u32,
        target: u32,
        seq: u32,
        loss: Ratio,
    ) -> Fate {
        // Each stream is drawn only when its knob is on: most runs are
        // lossless, and the draws are the bulk of a datagram's network cost.
        if loss.numerator > 0 && loss.hit(keys.draw(Stream::Loss, source, target, seq)) {
            return Fate::Lost;
        }
        let latency = self.link_latency(source, target);
        let first = latency.sample_ns(keys.draw(Stream::Latency, source, target, seq));
        if self.duplicate.numerator > 0
            && self
                .duplicate
                .hit(keys.draw(Stream::Duplicate, source, target, seq))
        {
            let bits = keys.draw(Stream::DuplicateLatency, source, target, seq);
            return Fate::Duplicated(first, latency.sample_ns(bits));
        }
        Fate::Delivered(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn samples_respect_their_distribution_bounds() {
        let uniform = Latency::Uniform {
            min: Duration::from_millis(1),
            max: Duration::from_millis(5),
        };
        let normal = Latency::Normal {
            mean: Duration::from_millis(20),
            std_dev: Duration::from_millis(5),
            floor: Duration::from_millis(2),
        };
        let lognormal = Latency::LogNormal {
            median: Duration::from_millis(20),
            sigma_milli: 500,
            floor: Duration::from_millis(2),
        };
        let mut normal_sum = 0u64;
        let mut lognormal_below_median = 0;
        for i in 0..10_000u32 {
            let bits = link_rng::draw(9, Stream::Latency, i, i + 1, i);
            let u = uniform.sample_ns(bits);
            assert!((MS..=5 * MS).contains(&u));
            let n = normal.sample_ns(bits);
            assert!(n >= 2 * MS);
            normal_sum += n;
            let l = lognormal.sample_ns(bits);
            assert!(l >= 2 * MS);
            lognormal_below_median += usize::from(l < 20 * MS);
        }
        let mean_ms = normal_sum as f64 / 10_000.0 / MS as f64;
        assert!((19.5..20.5).contains(&mean_ms), "mean {mean_ms}");
        assert!((4_700..5_300).contains(&lognormal_below_median));
    }

    #[test]
    fn loss_and_duplication_follow_their_ratios() {
        let model = NetworkModel {
            loss: Ratio::new(1, 10).unwrap(),
            duplicate: Ratio::new(1, 20).unwrap(),
            ..NetworkModel::constant(Duration::from_millis(1))
        };
        let (mut lost, mut dup) = (0, 0);
        for seq in 0..100_000 {
            match model.fate(&StreamKeys::new(3), 1, 2, seq) {
                Fate::Lost => lost += 1,
                Fate::Duplicated(..) => dup += 1,
                Fate::Delivered(_) => {}
            }
        }
        assert!((9_500..10_500).contains(&lost), "{lost}");
        assert!((4_000..5_000).contains(&dup), "{dup}");
    }

    #[test]
    fn regions_pick_the_latency_of_their_pair() {
        let regions = Regions {
            starts: vec![0, 10],
            names: vec!["eu".into(), "us".into()],
            latency: vec![
                vec![
                    Latency::Constant(Duration::from_millis(2)),
                    Latency::Constant(Duration::from_millis(40)),
                ],
                vec![
                    Latency::Constant(Duration::from_millis(45)),
                    Latency::Constant(Duration::from_millis(3)),
                ],
            ],
        };
        assert_eq!(regions.of(0), 0);
        assert_eq!(regions.of(9), 0);
        assert_eq!(regions.of(10), 1);
        let model = NetworkModel {
            regions: Some(regions),
            ..NetworkModel::constant(Duration::from_millis(1))
        };
        assert_eq!(
            model.fate(&StreamKeys::new(1), 0, 12, 0),
            Fate::Delivered(40 * MS)
        );
        assert_eq!(
            model.fate(&StreamKeys::new(1), 12, 0, 0),
            Fate::Delivered(45 * MS)
        );
        assert_eq!(model.latency_min(), Duration::from_millis(2));
    }
}
