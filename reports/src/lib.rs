//! Colony's run reports: the serialisable model of one run's results, and
//! (as the scenario issue lands) HDR latency histograms, plots, HTML/Markdown
//! rendering and the comparison against `reports/baselines/`.
//!
//! This crate depends on nothing else of Colony's: it defines the report
//! format that the simulator fills in. Nothing is implemented here yet.

#![forbid(unsafe_code)]
