//! The verdicts of `[expect]`: one table whose rows each name an
//! expectation, the bound the file sets on it and the measure of a report
//! it bounds. A new expectation is a new row (and its key in
//! `ExpectSection`), judged like every other.

use colony_reports::{Expectation, MessageReport, RunReport};

use super::file::ExpectSection;
use super::units::DurationText;

/// A bound the file sets: the measure must be at most (or at least) the
/// limit. `text` is how the summary shows it.
struct Bound {
    limit: f64,
    at_most: bool,
    text: String,
}

/// A report's value of a measure and how it reads, or why the report has
/// none (which fails the expectation).
enum Measure {
    Value(f64, String),
    Missing(String),
}

/// One expectation.
struct Row {
    name: &'static str,
    bound: fn(&ExpectSection) -> Option<Bound>,
    measure: fn(&RunReport) -> Measure,
}

fn at_most_duration(limit: Option<DurationText>) -> Option<Bound> {
    limit.map(|d| Bound {
        limit: d.as_ns() as f64,
        at_most: true,
        text: format!("<= {d}"),
    })
}

fn at_most(limit: Option<f64>) -> Option<Bound> {
    limit.map(|limit| Bound {
        limit,
        at_most: true,
        text: format!("<= {limit}"),
    })
}

fn at_least(limit: Option<f64>) -> Option<Bound> {
    limit.map(|limit| Bound {
        limit,
        at_most: false,
        text: format!(">= {limit}"),
    })
}

/// A `key = true` expectation: the count it names must be zero.
fn none_when(flag: Option<bool>, text: &str) -> Option<Bound> {
    (flag == Some(true)).then(|| Bound {
        limit: 0.0,
        at_most: true,
        text: text.into(),
    })
}

fn ms(ns: u64) -> String {
    format!("{:.1} ms", ns as f64 / 1e6)
}

/// The largest of a per-broadcast duration: missing when there is no
/// broadcast or one never got there.
fn slowest(report: &RunReport, of: fn(&MessageReport) -> Option<u64>) -> Measure {
    if report.messages.is_empty() {
        return Measure::Missing("no broadcast".into());
    }
    match report
        .messages
        .iter()
        .map(of)
        .try_fold(0u64, |worst, t| t.map(|t| worst.max(t)))
    {
        Some(ns) => Measure::Value(ns as f64, ms(ns)),
        None => Measure::Missing("never reached".into()),
    }
}

fn count(n: u64, what: &str) -> Measure {
    Measure::Value(n as f64, format!("{n}{what}"))
}

/// The slowest recovery from a fault that ended.
fn recovery(report: &RunReport) -> Measure {
    let ended: Vec<_> = report
        .faults
        .iter()
        .filter(|f| f.until_ns.is_some())
        .collect();
    if ended.is_empty() {
        return Measure::Missing("no fault ended".into());
    }
    match ended
        .iter()
        .map(|f| f.recovered_after_ns)
        .try_fold(0u64, |a, r| r.map(|r| a.max(r)))
    {
        Some(ns) => Measure::Value(ns as f64, ms(ns)),
        None => Measure::Missing("a fault was never recovered from".into()),
    }
}

/// Every expectation, in the order the summary lists them.
const ROWS: &[Row] = &[
    Row {
        name: "coverage",
        bound: |e| at_least(e.coverage),
        measure: |r| {
            let worst = r.messages.iter().map(|m| m.coverage).fold(1.0f64, f64::min);
            Measure::Value(worst, format!("{worst:.4}"))
        },
    },
    Row {
        name: "time_to_full_coverage",
        bound: |e| at_most_duration(e.time_to_full_coverage),
        measure: |r| slowest(r, |m| m.time_to_full_coverage_ns),
    },
    Row {
        name: "time_to_99pct",
        bound: |e| at_most_duration(e.time_to_99pct),
        measure: |r| slowest(r, |m| m.time_to_99pct_ns),
    },
    Row {
        name: "rounds_to_full",
        bound: |e| at_most(e.rounds_to_full.map(|n| n as f64)),
        measure: |r| match slowest(r, |m| m.rounds_to_full) {
            Measure::Value(n, _) => count(n as u64, ""),
            missing => missing,
        },
    },
    Row {
        name: "latency_p99",
        bound: |e| at_most_duration(e.latency_p99),
        measure: |r| Measure::Value(r.latency_ns.p99 as f64, ms(r.latency_ns.p99)),
    },
    Row {
        name: "redundancy",
        bound: |e| at_most(e.redundancy),
        measure: |r| {
            let x = r.totals.redundancy;
            Measure::Value(x, format!("{x:.2}"))
        },
    },
    Row {
        name: "datagrams_per_agent",
        bound: |e| at_most(e.datagrams_per_agent),
        measure: |r| {
            let x = r.totals.datagrams_per_agent;
            Measure::Value(x, format!("{x:.2}"))
        },
    },
    Row {
        name: "critical_immediate",
        bound: |e| none_when(e.critical_immediate, "0 deferred"),
        measure: |r| count(r.totals.critical_not_immediate, " deferred"),
    },
    Row {
        name: "digests_min",
        bound: |e| at_least(e.digests_min.map(|n| n as f64)),
        measure: |r| count(r.totals.digests, ""),
    },
    Row {
        name: "deliveries_across_cut",
        bound: |e| at_most(e.deliveries_across_cut.map(|n| n as f64)),
        measure: |r| count(r.totals.deliveries_across_cut, ""),
    },
    Row {
        name: "no_forgery",
        bound: |e| none_when(e.no_forgery, "0 forged or tampered"),
        measure: |r| {
            let (forged, tampered) = (r.totals.forged_deliveries, r.totals.tampered_deliveries);
            Measure::Value(
                (forged + tampered) as f64,
                format!("{forged} forged, {tampered} tampered"),
            )
        },
    },
    Row {
        name: "recovery_within",
        bound: |e| at_most_duration(e.recovery_within),
        measure: recovery,
    },
    Row {
        name: "false_positives",
        bound: |e| at_most(e.false_positives.map(|n| n as f64)),
        measure: |r| match &r.detection {
            Some(d) => count(d.false_positives, ""),
            None => Measure::Value(0.0, "0 (nothing suspected)".into()),
        },
    },
    Row {
        name: "detection_p99",
        bound: |e| at_most_duration(e.detection_p99),
        measure: |r| {
            let confirmed = r.detection.as_ref().map(|d| d.first_confirmation_ms);
            match confirmed.filter(|p| p.count > 0) {
                Some(p) => Measure::Value(p.p99 * 1e6, format!("{:.1} ms", p.p99)),
                None => Measure::Missing("no crash was confirmed".into()),
            }
        },
    },
    Row {
        name: "requests_answered",
        bound: |e| at_least(e.requests_answered),
        measure: |r| {
            let share = r.direct.as_ref().map_or(1.0, |d| d.answered_share());
            Measure::Value(share, format!("{share:.4}"))
        },
    },
    Row {
        name: "no_honest_loss",
        bound: |e| none_when(e.no_honest_loss, "0 missed deliveries"),
        measure: |r| {
            let missing: u64 = r
                .messages
                .iter()
                .map(|m| m.eligible.saturating_sub(m.delivered))
                .sum();
            count(missing, " missed")
        },
    },
];

/// The verdict of every expectation `expect` sets, against one report.
pub(super) fn judge(expect: &ExpectSection, report: &RunReport) -> Vec<Expectation> {
    ROWS.iter()
        .filter_map(|row| {
            let bound = (row.bound)(expect)?;
            let (passed, actual) = match (row.measure)(report) {
                Measure::Value(value, text) if bound.at_most => (value <= bound.limit, text),
                Measure::Value(value, text) => (value >= bound.limit, text),
                Measure::Missing(why) => (false, why),
            };
            Some(Expectation {
                name: row.name.into(),
                passed,
                expected: bound.text,
                actual,
            })
        })
        .collect()
}
