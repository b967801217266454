//! Delivery-latency histogram: HdrHistogram with three significant digits,
//! nanosecond values from 1 ns to one hour (longer values are clamped).

use hdrhistogram::Histogram;

use crate::model::{CdfPoint, LatencySummary};

/// Largest latency recorded exactly: one hour of virtual time. A scenario's
/// messages live for seconds to minutes; longer values are clamped here.
const LATENCY_NS_MAX: u64 = 3_600_000_000_000;

/// Significant decimal digits kept: relative error below 0.1%.
const SIGNIFICANT_DIGITS: u8 = 3;

/// A latency histogram in nanoseconds.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    histogram: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            histogram: Histogram::new_with_bounds(1, LATENCY_NS_MAX, SIGNIFICANT_DIGITS)
                .expect("constant bounds are valid"),
        }
    }
}

impl LatencyHistogram {
    /// Records one latency.
    pub fn record(&mut self, latency_ns: u64) {
        let value = latency_ns.clamp(1, LATENCY_NS_MAX);
        self.histogram
            .record(value)
            .expect("clamped into the histogram's range");
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        self.histogram.add(&other.histogram).expect("same bounds");
    }

    /// Values recorded.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// The value at quantile `q` (0..=1).
    pub fn quantile_ns(&self, q: f64) -> u64 {
        self.histogram.value_at_quantile(q)
    }

    /// p50, p90, p99 and max, or zeros when empty.
    pub fn summary(&self) -> LatencySummary {
        if self.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            p50: self.quantile_ns(0.5),
            p90: self.quantile_ns(0.9),
            p99: self.quantile_ns(0.99),
            max: self.histogram.max(),
        }
    }

    /// The cumulative distribution at `points` evenly spaced quantiles (plus
    /// the maximum), for plotting.
    pub fn cdf(&self, points: usize) -> Vec<CdfPoint> {
        if self.is_empty() || points == 0 {
            return Vec::new();
        }
        let mut cdf: Vec<CdfPoint> = (1..=points)
            .map(|i| {
                let share = i as f64 / points as f64;
                CdfPoint {
                    value_ns: self.quantile_ns(share),
                    share,
                }
            })
            .collect();
        cdf.dedup_by_key(|p| p.value_ns);
        cdf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_uniform_spread_are_where_expected() {
        let mut h = LatencyHistogram::default();
        for ms in 1..=100u64 {
            h.record(ms * 1_000_000);
        }
        let s = h.summary();
        assert!((49_000_000..=51_000_000).contains(&s.p50), "{s:?}");
        assert!((98_000_000..=100_100_000).contains(&s.p99), "{s:?}");
        assert!((99_900_000..=100_100_000).contains(&s.max), "{s:?}");
        assert_eq!(h.cdf(20).last().map(|p| p.share), Some(1.0));
    }
}
