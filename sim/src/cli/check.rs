//! `colony check`: the CI convergence gate. Runs every seed of every scenario
//! of the CI set and compares each run's figures with the committed baseline
//! under the tolerances of `colony_reports::baseline`; a seed without a
//! baseline, or a baseline whose trace no longer matches while every figure
//! does (stale), fails too. `--update` rewrites the baselines on purpose.

use std::path::{Path, PathBuf};

use clap::Args;
use colony_reports::baseline::{
    BASELINE_SCHEMA_VERSION, Baseline, BaselineFile, Verdict, compare, render_diff,
};

use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK};
use crate::engine::Engine;
use crate::scenario::Scenario;

/// Arguments of `colony check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Directory of baselines.
    #[arg(long, default_value = "reports/baselines")]
    baseline: PathBuf,
    /// Directory of the CI scenario set.
    #[arg(long, default_value = "scenarios/ci")]
    scenarios: PathBuf,
    /// Rewrite the baselines from this run instead of comparing.
    #[arg(long)]
    update: bool,
    /// Worker threads (results do not depend on it).
    #[arg(long)]
    threads: Option<usize>,
}

fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no scenario in {}", dir.display()));
    }
    Ok(files)
}

pub(crate) fn check(args: &CheckArgs) -> u8 {
    let files = match scenario_files(&args.scenarios) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("colony check: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let mut code = EXIT_OK;
    for file in files {
        code = code.max(check_scenario(args, &file, threads));
        if code == EXIT_BAD_INPUT {
            return code;
        }
    }
    if code == EXIT_OK && !args.update {
        println!("colony check: no regression");
    }
    code
}

/// Runs every seed of one CI scenario and compares (or, with `--update`,
/// rewrites) its baseline file.
fn check_scenario(args: &CheckArgs, file: &Path, threads: usize) -> u8 {
    let path = file.to_string_lossy().to_string();
    let scenario = match Scenario::load(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let baseline_path = args.baseline.join(format!("{}.json", scenario.name()));
    let committed = if args.update {
        None
    } else {
        match read_baseline(&baseline_path) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("colony check: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    };
    let mut code = EXIT_OK;
    let mut runs = Vec::new();
    for &seed in &scenario.file.seeds {
        let report = match run_seed(&scenario, &path, seed, threads) {
            Ok(report) => report,
            Err(e) => {
                eprintln!("{e}");
                return EXIT_BAD_INPUT;
            }
        };
        let reproduce = format!("colony run {path} --seed {seed}");
        for e in report.expectations.iter().filter(|e| !e.passed) {
            println!(
                "{} seed {seed}: expectation {} failed: expected {}, actual {}",
                scenario.name(),
                e.name,
                e.expected,
                e.actual
            );
            println!("reproduce: {reproduce}");
            code = code.max(EXIT_FAILED);
        }
        let current = Baseline::from_report(&report);
        if let Some(committed) = &committed {
            let title = format!(
                "{} seed {seed} ({:.2} s wall)",
                scenario.name(),
                report.wall_seconds
            );
            code = code.max(compare_seed(committed, &current, &title, &reproduce));
        }
        runs.push(current);
    }
    if args.update {
        let file = BaselineFile {
            schema_version: BASELINE_SCHEMA_VERSION,
            scenario: scenario.name().to_string(),
            agents: *scenario.file.agents.count.get_ref(),
            runs,
        };
        if let Err(e) = write_baseline(&baseline_path, &file) {
            eprintln!("colony check: {e}");
            return EXIT_BAD_INPUT;
        }
        println!("updated {}", baseline_path.display());
    }
    code
}

fn run_seed(
    scenario: &Scenario,
    path: &str,
    seed: u64,
    threads: usize,
) -> Result<colony_reports::RunReport, String> {
    let spec = scenario.spec(seed);
    let mut engine = Engine::new(spec).map_err(|e| format!("{path}: {e}"))?;
    let mut report = engine.run(threads, &mut |_| {});
    report.expectations = scenario.expectations(&report);
    Ok(report)
}

/// Compares one seed's run with its committed baseline: a regression, a
/// missing seed or a stale baseline fail the gate.
fn compare_seed(committed: &BaselineFile, current: &Baseline, title: &str, reproduce: &str) -> u8 {
    let Some(baseline) = committed.run(current.seed) else {
        println!(
            "{title}: no baseline for this seed; add it with `colony check --update` in a reviewed commit"
        );
        return EXIT_FAILED;
    };
    let rows = compare(baseline, current);
    print!("{}", render_diff(title, &rows));
    if rows.iter().any(|r| r.verdict == Verdict::Regressed) {
        println!("  regression: reproduce with `{reproduce}`");
        return EXIT_FAILED;
    }
    if baseline.is_stale_against(current) {
        println!(
            "  stale baseline: the run changed (trace {} -> {}) but no figure moved; refresh it with `colony check --update` in a reviewed commit",
            baseline.trace_hash, current.trace_hash
        );
        return EXIT_FAILED;
    }
    EXIT_OK
}

fn read_baseline(path: &Path) -> Result<BaselineFile, String> {
    let unusable = |e: String| {
        format!(
            "no usable baseline {} ({e}); create it with `colony check --update`",
            path.display()
        )
    };
    let value: serde_json::Value = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .map_err(unusable)?;
    let schema = value["schema_version"].as_u64();
    if schema != Some(u64::from(BASELINE_SCHEMA_VERSION)) {
        return Err(format!(
            "{} has baseline schema {}, this colony writes {BASELINE_SCHEMA_VERSION}; refresh it with `colony check --update`",
            path.display(),
            schema.map_or("(none)".to_string(), |v| v.to_string()),
        ));
    }
    serde_json::from_value(value).map_err(|e| unusable(e.to_string()))
}

fn write_baseline(path: &Path, baseline: &BaselineFile) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(baseline).map_err(|e| e.to_string())? + "\n";
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
