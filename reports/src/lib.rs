//! Colony's run reports: the serialisable model of one run ([`RunReport`]),
//! the latency histogram behind its percentiles, plots (PNG and SVG), the
//! terminal summary and HTML page, and the baseline comparison of the CI
//! convergence gate.
//!
//! This crate depends on nothing else of Colony's: it defines the report
//! format that the hosts fill in.

#![forbid(unsafe_code)]

pub mod baseline;
mod histogram;
mod model;
mod plot;
mod render;

pub use histogram::LatencyHistogram;
pub use model::{
    ByzantineTraffic, CdfPoint, CoveragePoint, DetectionReport, DirectReport, Expectation,
    FaultReport, LatencySummary, MISSED_LISTED_MAX, MessageReport, MissedAgent, MissedDeliveries,
    OverlayReport, OverlaySample, Percentiles, REPORT_SCHEMA_VERSION, RunReport, Totals,
};
pub use plot::render_plots;
pub use render::{render_html, render_summary};
