//! Colony's run reports: the serialisable model of one run's results
//! ([`RunReport`]) and the latency histogram behind its percentiles. Plots,
//! HTML/Markdown rendering and the comparison against `reports/baselines/`
//! land with the scenario issue.
//!
//! This crate depends on nothing else of Colony's: it defines the report
//! format that the hosts fill in.

#![forbid(unsafe_code)]

mod histogram;
mod model;

pub use histogram::LatencyHistogram;
pub use model::{
    CoveragePoint, Expectation, LatencySummary, MessageReport, REPORT_SCHEMA_VERSION, RunReport,
    Totals,
};
