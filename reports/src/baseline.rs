//! Baselines for the CI convergence gate: the figures of every seed's run
//! that must not regress, the comparison of a new run against them with
//! tolerances, and the check that a baseline is not stale (the run changed
//! but no figure did: the committed trace hash no longer describes it).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::model::RunReport;

/// Version of the baseline file format (2: one entry per seed).
pub const BASELINE_SCHEMA_VERSION: u32 = 2;

/// Which way a figure improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Larger is better (coverage).
    Higher,
    /// Smaller is better (times, rounds, traffic).
    Lower,
}

/// How much a figure may worsen before it counts as a regression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// The figure's name in the baseline.
    pub figure: &'static str,
    /// Which way it improves.
    pub better: Better,
    /// Allowed relative worsening (0.10 = 10%).
    pub relative: f64,
    /// Allowed absolute worsening on top (absorbs rounding of small values).
    pub absolute: f64,
}

/// The gate's tolerances. Runs are deterministic, so any difference comes
/// from a code or scenario change; the margins let a change trade a little
/// on one figure without failing CI, and catch anything larger.
pub const TOLERANCES: &[Tolerance] = &[
    // Coverage may not drop at all.
    Tolerance {
        figure: "coverage_min",
        better: Better::Higher,
        relative: 0.0,
        absolute: 1e-9,
    },
    // Time to full coverage may not grow more than 10%.
    Tolerance {
        figure: "time_to_full_coverage_ms_max",
        better: Better::Lower,
        relative: 0.10,
        absolute: 0.0,
    },
    Tolerance {
        figure: "time_to_99pct_ms_max",
        better: Better::Lower,
        relative: 0.10,
        absolute: 0.0,
    },
    // One more round is within noise of a round-based protocol; more is not.
    Tolerance {
        figure: "rounds_to_full_max",
        better: Better::Lower,
        relative: 0.0,
        absolute: 1.0,
    },
    Tolerance {
        figure: "latency_p99_ms",
        better: Better::Lower,
        relative: 0.10,
        absolute: 0.0,
    },
    Tolerance {
        figure: "redundancy",
        better: Better::Lower,
        relative: 0.10,
        absolute: 0.05,
    },
    Tolerance {
        figure: "datagrams_per_agent",
        better: Better::Lower,
        relative: 0.10,
        absolute: 0.0,
    },
];

/// The committed figures of a scenario: one entry per seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineFile {
    /// [`BASELINE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// Agents.
    pub agents: u32,
    /// Every seed's run, in the scenario's seed order.
    pub runs: Vec<Baseline>,
}

impl BaselineFile {
    /// The run of `seed`, if the file has one.
    pub fn run(&self, seed: u64) -> Option<&Baseline> {
        self.runs.iter().find(|r| r.seed == seed)
    }
}

/// The committed figures of one seed's run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Seed.
    pub seed: u64,
    /// Trace hash of the run: equal hashes mean equal runs.
    pub trace_hash: String,
    /// Figures; `null` when never reached (e.g. full coverage).
    pub figures: BTreeMap<String, Option<f64>>,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

impl Baseline {
    /// The figures of a report.
    pub fn from_report(report: &RunReport) -> Baseline {
        let m = &report.messages;
        let worst = |f: &dyn Fn(&crate::MessageReport) -> Option<u64>| -> Option<f64> {
            m.iter()
                .map(f)
                .try_fold(0u64, |acc, v| v.map(|v| acc.max(v)))
                .map(|v| v as f64)
        };
        let mut figures = BTreeMap::new();
        figures.insert(
            "coverage_min".into(),
            Some(m.iter().map(|x| x.coverage).fold(1.0, f64::min)),
        );
        figures.insert(
            "time_to_full_coverage_ms_max".into(),
            worst(&|x| x.time_to_full_coverage_ns).map(|v| v / 1e6),
        );
        figures.insert(
            "time_to_99pct_ms_max".into(),
            worst(&|x| x.time_to_99pct_ns).map(|v| v / 1e6),
        );
        figures.insert("rounds_to_full_max".into(), worst(&|x| x.rounds_to_full));
        figures.insert("latency_p99_ms".into(), Some(ms(report.latency_ns.p99)));
        figures.insert("redundancy".into(), Some(report.totals.redundancy));
        figures.insert(
            "datagrams_per_agent".into(),
            Some(report.totals.datagrams_per_agent),
        );
        Baseline {
            seed: report.seed,
            trace_hash: report.trace_hash.clone(),
            figures,
        }
    }

    /// Whether this baseline is stale against `current`: the run changed
    /// (another trace hash) while every figure stayed exactly the same, so
    /// the committed hash describes a run that no longer happens.
    pub fn is_stale_against(&self, current: &Baseline) -> bool {
        self.trace_hash != current.trace_hash && self.figures == current.figures
    }
}

/// The verdict on one figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Unchanged, or changed within tolerance.
    Ok,
    /// Better than the baseline.
    Improved,
    /// Worse than the tolerance allows.
    Regressed,
}

/// One row of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Figure name.
    pub figure: String,
    /// Baseline value.
    pub baseline: Option<f64>,
    /// Current value.
    pub current: Option<f64>,
    /// Verdict.
    pub verdict: Verdict,
}

/// Compares a run with its baseline, figure by figure.
pub fn compare(baseline: &Baseline, current: &Baseline) -> Vec<Row> {
    TOLERANCES
        .iter()
        .map(|t| {
            let b = baseline.figures.get(t.figure).copied().flatten();
            let c = current.figures.get(t.figure).copied().flatten();
            let verdict = match (b, c) {
                (None, None) => Verdict::Ok,
                (Some(_), None) => Verdict::Regressed, // reached before, never now
                (None, Some(_)) => Verdict::Improved,
                (Some(b), Some(c)) => {
                    let allowed = b.abs() * t.relative + t.absolute;
                    let worse = match t.better {
                        Better::Higher => b - c,
                        Better::Lower => c - b,
                    };
                    if worse > allowed {
                        Verdict::Regressed
                    } else if worse < 0.0 {
                        Verdict::Improved
                    } else {
                        Verdict::Ok
                    }
                }
            };
            Row {
                figure: t.figure.to_string(),
                baseline: b,
                current: c,
                verdict,
            }
        })
        .collect()
}

/// A fixed-width table of comparison rows.
pub fn render_diff(scenario: &str, rows: &[Row]) -> String {
    let value = |v: Option<f64>| v.map_or_else(|| "never".to_string(), |v| format!("{v:.3}"));
    let mut out = String::new();
    let _ = writeln!(out, "{scenario}");
    let _ = writeln!(
        out,
        "  {:<30} {:>14} {:>14} {:>9}  verdict",
        "figure", "baseline", "current", "change"
    );
    for row in rows {
        let change = match (row.baseline, row.current) {
            (Some(b), Some(c)) if b != 0.0 => format!("{:+.1}%", (c - b) / b.abs() * 100.0),
            (Some(b), Some(c)) if b == c => "0".into(),
            _ => "-".into(),
        };
        let verdict = match row.verdict {
            Verdict::Ok => "ok",
            Verdict::Improved => "improved",
            Verdict::Regressed => "REGRESSED",
        };
        let _ = writeln!(
            out,
            "  {:<30} {:>14} {:>14} {:>9}  {verdict}",
            row.figure,
            value(row.baseline),
            value(row.current),
            change
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline(time: Option<f64>, coverage: f64) -> Baseline {
        let mut figures = BTreeMap::new();
        figures.insert("coverage_min".into(), Some(coverage));
        figures.insert("time_to_full_coverage_ms_max".into(), time);
        Baseline {
            seed: 1,
            trace_hash: "0".into(),
            figures,
        }
    }

    fn verdict_of(rows: &[Row], figure: &str) -> Verdict {
        rows.iter().find(|r| r.figure == figure).unwrap().verdict
    }

    #[test]
    fn a_slower_convergence_beyond_ten_percent_regresses() {
        let rows = compare(&baseline(Some(1000.0), 1.0), &baseline(Some(1101.0), 1.0));
        assert_eq!(
            verdict_of(&rows, "time_to_full_coverage_ms_max"),
            Verdict::Regressed
        );
        let rows = compare(&baseline(Some(1000.0), 1.0), &baseline(Some(1099.0), 1.0));
        assert_eq!(
            verdict_of(&rows, "time_to_full_coverage_ms_max"),
            Verdict::Ok
        );
        let rows = compare(&baseline(Some(1000.0), 1.0), &baseline(Some(900.0), 1.0));
        assert_eq!(
            verdict_of(&rows, "time_to_full_coverage_ms_max"),
            Verdict::Improved
        );
    }

    #[test]
    fn a_new_trace_with_the_same_figures_is_stale_and_with_other_figures_is_not() {
        let committed = baseline(Some(1000.0), 1.0);
        let mut rerun = committed.clone();
        assert!(!committed.is_stale_against(&rerun), "the same run");
        rerun.trace_hash = "1".into();
        assert!(committed.is_stale_against(&rerun));
        let moved = Baseline {
            trace_hash: "1".into(),
            ..baseline(Some(1001.0), 1.0)
        };
        assert!(!committed.is_stale_against(&moved));
    }

    #[test]
    fn coverage_may_not_drop_and_never_reaching_is_a_regression() {
        let rows = compare(&baseline(Some(1000.0), 1.0), &baseline(None, 0.99));
        assert_eq!(verdict_of(&rows, "coverage_min"), Verdict::Regressed);
        assert_eq!(
            verdict_of(&rows, "time_to_full_coverage_ms_max"),
            Verdict::Regressed
        );
        assert!(render_diff("s", &rows).contains("REGRESSED"));
    }
}
