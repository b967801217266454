//! Values with units, written as strings in scenario files: durations
//! (`"250ms"`, `"2s"`, `"1m"`) and ratios (`"1/100"`, `"0"`, `"1"`).

use core::fmt;
use core::time::Duration;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::ratio::Ratio;

/// Largest duration a scenario may name: one day of virtual time. Longer
/// runs are not what the simulator is for, and the bound keeps nanosecond
/// arithmetic far from overflow.
pub(crate) const DURATION_MAX: Duration = Duration::from_secs(86_400);

/// A duration written with a unit: `ns`, `us`, `ms`, `s`, `m` or `h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[schemars(
    with = "String",
    description = "a duration with a unit, e.g. \"250ms\", \"2s\", \"1m\""
)]
pub struct DurationText(pub Duration);

impl DurationText {
    /// Parses `"250ms"` and friends.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: u64 = number.parse().map_err(|_| {
            format!("expected a duration like \"20ms\", \"2s\" or \"1m\", found {text:?}")
        })?;
        let nanos_per_unit: u64 = match unit.trim() {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" | "min" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => {
                return Err(format!(
                    "duration {text:?} needs a unit: ns, us, ms, s, m or h"
                ));
            }
            other => {
                return Err(format!(
                    "unknown duration unit {other:?} in {text:?}: use ns, us, ms, s, m or h"
                ));
            }
        };
        let nanos = value
            .checked_mul(nanos_per_unit)
            .filter(|n| *n <= DURATION_MAX.as_nanos() as u64)
            .ok_or_else(|| format!("duration {text:?} exceeds the limit of one day"))?;
        Ok(DurationText(Duration::from_nanos(nanos)))
    }

    /// Nanoseconds.
    pub fn as_ns(self) -> u64 {
        self.0.as_nanos() as u64
    }
}

impl fmt::Display for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.as_ns();
        let units = [
            (3_600_000_000_000, "h"),
            (60_000_000_000, "m"),
            (1_000_000_000, "s"),
            (1_000_000, "ms"),
            (1_000, "us"),
        ];
        for (size, unit) in units {
            if ns >= size && ns.is_multiple_of(size) {
                return write!(f, "{}{unit}", ns / size);
            }
        }
        write!(f, "{ns}ns")
    }
}

impl Serialize for DurationText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"20ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationText, E> {
                DurationText::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationText, E> {
                Err(E::custom(format!(
                    "durations are strings with a unit: write \"{v}ms\" or \"{v}s\", not {v}"
                )))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A probability as an integer ratio: `"1/100"`, `"0"` or `"1"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[schemars(
    with = "String",
    description = "a ratio such as \"1/100\", or \"0\" or \"1\""
)]
pub struct RatioText(pub Ratio);

impl RatioText {
    /// Parses `"1/100"`, `"0"`, `"1"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("expected a ratio like \"1/100\" (or \"0\", \"1\"), found {text:?}");
        let (n, d) = match text.trim().split_once('/') {
            Some((n, d)) => (
                n.trim().parse::<u32>().map_err(|_| bad())?,
                d.trim().parse::<u32>().map_err(|_| bad())?,
            ),
            None => (text.trim().parse::<u32>().map_err(|_| bad())?, 1),
        };
        Ratio::new(n, d).map(RatioText).ok_or_else(|| {
            format!("ratio {text:?} must be between 0 and 1 with a non-zero denominator")
        })
    }
}

impl Default for RatioText {
    fn default() -> Self {
        RatioText(Ratio::ZERO)
    }
}

impl Serialize for RatioText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RatioText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RatioText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a ratio string such as \"1/100\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RatioText, E> {
                RatioText::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RatioText, E> {
                RatioText::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RatioText, E> {
                Err(E::custom(format!(
                    "ratios are integer fractions: write \"1/100\", not {v}"
                )))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_units_and_refuse_the_rest() {
        assert_eq!(
            DurationText::parse("250ms").unwrap().0,
            Duration::from_millis(250)
        );
        assert_eq!(DurationText::parse("2s").unwrap().0, Duration::from_secs(2));
        assert_eq!(
            DurationText::parse("1m").unwrap().0,
            Duration::from_secs(60)
        );
        assert_eq!(
            DurationText::parse("5us").unwrap().0,
            Duration::from_micros(5)
        );
        assert!(
            DurationText::parse("20")
                .unwrap_err()
                .contains("needs a unit")
        );
        assert!(
            DurationText::parse("20 parsecs")
                .unwrap_err()
                .contains("unknown duration unit")
        );
        assert!(DurationText::parse("2d").is_err());
        assert!(DurationText::parse("25h").unwrap_err().contains("one day"));
        assert!(DurationText::parse("99999999999999999999s").is_err());
        assert_eq!(DurationText::parse("1500ms").unwrap().to_string(), "1500ms");
        assert_eq!(DurationText::parse("120s").unwrap().to_string(), "2m");
    }

    #[test]
    fn ratios_parse_as_integer_fractions() {
        assert_eq!(
            RatioText::parse("1/100").unwrap().0,
            Ratio::new(1, 100).unwrap()
        );
        assert_eq!(RatioText::parse("0").unwrap().0, Ratio::ZERO);
        assert!(RatioText::parse("3/2").is_err());
        assert!(RatioText::parse("1/0").is_err());
        assert!(RatioText::parse("0.5").is_err());
    }
}
