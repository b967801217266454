//! `colony run`: one scenario, one or more seeds; prints the seed and the
//! resolved parameters first, a progress bar on long runs, then the summary
//! and the verdicts, and writes the report, plots, HTML and scenario copy.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use colony_reports::{RunReport, render_html, render_plots, render_summary};
use indicatif::{ProgressBar, ProgressStyle};

use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK};
use crate::engine::{Engine, Progress};
use crate::scenario::Scenario;

/// Runs shorter than this show no progress bar.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);

/// Arguments of `colony run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The scenario file (scenarios/NAME.toml).
    file: PathBuf,
    /// Run this seed only (default: every seed of the scenario).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: the machine's cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Output directory (default: reports/runs/NAME-SEED).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print only the verdicts.
    #[arg(long)]
    quiet: bool,
    /// Host: `fast` (the parallel engine) or `turmoil` (the async driver on
    /// turmoil's simulated network; up to a few hundred agents).
    #[arg(long, value_enum, default_value_t = Host::Fast)]
    engine: Host,
}

/// Which host runs the scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Host {
    /// The deterministic parallel engine.
    Fast,
    /// The async driver under turmoil.
    Turmoil,
}

pub(crate) fn run(args: &RunArgs) -> u8 {
    if args.threads == Some(0) {
        eprintln!("colony: --threads must be at least 1");
        return EXIT_BAD_INPUT;
    }
    let path = args.file.to_string_lossy().to_string();
    let scenario = match Scenario::load(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let seeds = args
        .seed
        .map_or_else(|| scenario.file.seeds.clone(), |s| vec![s]);
    let mut code = EXIT_OK;
    for &seed in &seeds {
        let dir = match (&args.out, seeds.len()) {
            (Some(out), 1) => out.clone(),
            (Some(out), _) => out.join(format!("{}-{seed}", scenario.name())),
            (None, _) => PathBuf::from("reports/runs").join(format!("{}-{seed}", scenario.name())),
        };
        match run_seed(&scenario, seed, threads, args.engine, &dir, args.quiet) {
            Ok(true) => {}
            Ok(false) => {
                code = code.max(EXIT_FAILED);
                let engine = match args.engine {
                    Host::Fast => "",
                    Host::Turmoil => " --engine turmoil",
                };
                println!(
                    "reproduce: colony run {} --seed {seed}{engine}",
                    args.file.display()
                );
            }
            Err(e) => {
                eprintln!("colony: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    code
}

/// Runs one seed; `Ok(true)` when every expectation holds.
fn run_seed(
    scenario: &Scenario,
    seed: u64,
    threads: usize,
    host: Host,
    dir: &Path,
    quiet: bool,
) -> Result<bool, String> {
    let spec = scenario.spec(seed);
    if !quiet {
        let on = match host {
            Host::Fast => format!("{threads} threads"),
            Host::Turmoil => "turmoil".to_string(),
        };
        println!(
            "colony run {} — scenario `{}`, seed {seed}, {on}",
            scenario.path,
            scenario.name()
        );
        let parameters = scenario.resolved_parameters();
        let width = parameters.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (key, value) in parameters {
            println!("  {key:<width$} {value}");
        }
    }
    let started = Instant::now();
    let mut bar: Option<ProgressBar> = None;
    let mut progress = |p: Progress| {
        if quiet || started.elapsed() < PROGRESS_AFTER {
            return;
        }
        let bar = bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(p.until_ns / 1_000_000);
            bar.set_style(
                ProgressStyle::with_template(
                    "  {bar:40} {pos}/{len} ms virtual, {msg} [{elapsed}]",
                )
                .expect("a valid template"),
            );
            bar
        });
        bar.set_position(p.now_ns / 1_000_000);
        bar.set_message(format!(
            "{} deliveries, {} in flight",
            p.deliveries, p.in_flight
        ));
    };
    let report = match host {
        Host::Fast => {
            let mut engine = Engine::new(spec).map_err(|e| format!("{}: {e}", scenario.path))?;
            engine.run(threads, &mut progress)
        }
        Host::Turmoil => {
            crate::hosts::turmoil::run(&spec, &mut progress)
                .map_err(|e| format!("{}: {e}", scenario.path))?
                .report
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    publish(scenario, report, dir, quiet)
}

/// Judges a finished run against the scenario's expectations, prints the
/// summary and the verdicts, and writes the report, the scenario copy, the
/// plots and the HTML page into `dir`; `Ok(true)` when every expectation
/// holds.
pub(crate) fn publish(
    scenario: &Scenario,
    mut report: RunReport,
    dir: &Path,
    quiet: bool,
) -> Result<bool, String> {
    report.expectations = scenario.expectations(&report);
    let passed = report.expectations.iter().all(|e| e.passed);
    if !quiet {
        println!();
        print!("{}", render_summary(&report));
    }
    for e in &report.expectations {
        let verdict = if e.passed { "pass" } else { "FAIL" };
        println!(
            "  {verdict}  {:<24} expected {:<16} actual {}",
            e.name, e.expected, e.actual
        );
    }
    // The report is written before anything that can fail on rendering, so a
    // plotting problem never loses the run's results.
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("report.json"), json)
        .map_err(|e| format!("cannot write report.json: {e}"))?;
    std::fs::write(dir.join("scenario.toml"), &scenario.source)
        .map_err(|e| format!("cannot copy the scenario: {e}"))?;
    match write_views(&report, dir) {
        Ok(()) => {
            if !quiet {
                println!(
                    "report: {}/report.json, report.html, plots (PNG, SVG)",
                    dir.display()
                );
            }
        }
        Err(e) => eprintln!("colony: plots not written ({e}); report.json is complete"),
    }
    Ok(passed)
}

/// Writes the plots and the HTML page of a report into `dir`.
pub(crate) fn write_views(report: &RunReport, dir: &Path) -> Result<(), String> {
    render_plots(report, dir)?;
    std::fs::write(dir.join("report.html"), render_html(report, dir))
        .map_err(|e| format!("cannot write report.html: {e}"))
}
