//! A probability as an integer ratio ("1/100"): every random decision of
//! a run compares integers, never floats, so it is the same on every
//! machine.

use std::fmt;

use crate::link_rng;

/// A probability as an integer ratio, e.g. "1/100". Decisions compare
/// integers, never floats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    /// Numerator.
    pub numerator: u32,
    /// Denominator (non-zero).
    pub denominator: u32,
}

impl Ratio {
    /// Never.
    pub const ZERO: Ratio = Ratio {
        numerator: 0,
        denominator: 1,
    };

    /// `numerator / denominator`; `None` when the denominator is zero or the
    /// ratio exceeds one.
    pub fn new(numerator: u32, denominator: u32) -> Option<Ratio> {
        (denominator > 0 && numerator <= denominator).then_some(Ratio {
            numerator,
            denominator,
        })
    }

    /// Whether `bits` (uniform random) falls in the ratio.
    #[inline]
    pub fn hit(self, bits: u64) -> bool {
        self.numerator > 0
            && link_rng::below(bits, u64::from(self.denominator)) < u64::from(self.numerator)
    }

    /// As a float, for reports only.
    pub fn as_f64(self) -> f64 {
        f64::from(self.numerator) / f64::from(self.denominator)
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}
