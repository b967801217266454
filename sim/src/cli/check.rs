//! `colony check`: the CI convergence gate. Runs every scenario of the CI set
//! (first seed) and compares its figures with the committed baseline under
//! the tolerances of `colony_reports::baseline`; `--update` rewrites the
//! baselines on purpose.

use std::path::{Path, PathBuf};

use clap::Args;
use colony_reports::baseline::{Baseline, Verdict, compare, render_diff};

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
        let path = file.to_string_lossy().to_string();
        let scenario = match Scenario::load(&path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return EXIT_BAD_INPUT;
            }
        };
        let seed = scenario.file.seeds[0];
        let spec = match scenario.spec(seed) {
            Ok(spec) => spec,
            Err(e) => {
                eprintln!("{e}");
                return EXIT_BAD_INPUT;
            }
        };
        let mut engine = match Engine::new(spec) {
            Ok(engine) => engine,
            Err(e) => {
                eprintln!("{path}: {e}");
                return EXIT_BAD_INPUT;
            }
        };
        let mut report = engine.run(threads, &mut |_| {});
        report.expectations = scenario.expectations(&report);
        let current = Baseline::from_report(&report);
        let baseline_path = args.baseline.join(format!("{}.json", scenario.name()));
        for e in report.expectations.iter().filter(|e| !e.passed) {
            println!(
                "{}: expectation {} failed: expected {}, actual {}",
                scenario.name(),
                e.name,
                e.expected,
                e.actual
            );
            println!("reproduce: colony run {path} --seed {seed}");
            code = code.max(EXIT_FAILED);
        }
        if args.update {
            if let Err(e) = write_baseline(&baseline_path, &current) {
                eprintln!("colony check: {e}");
                return EXIT_BAD_INPUT;
            }
            println!(
                "updated {} ({:.2} s wall)",
                baseline_path.display(),
                report.wall_seconds
            );
            continue;
        }
        let baseline: Baseline = match std::fs::read_to_string(&baseline_path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(b) => b,
            Err(e) => {
                eprintln!(
                    "colony check: no usable baseline {} ({e}); create it with `colony check --update`",
                    baseline_path.display()
                );
                return EXIT_BAD_INPUT;
            }
        };
        let rows = compare(&baseline, &current);
        print!(
            "{}",
            render_diff(
                &format!("{} ({:.2} s wall)", scenario.name(), report.wall_seconds),
                &rows
            )
        );
        if rows.iter().any(|r| r.verdict == Verdict::Regressed) {
            println!("  regression: reproduce with `colony run {path} --seed {seed}`");
            code = code.max(EXIT_FAILED);
        }
    }
    if code == EXIT_OK && !args.update {
        println!("colony check: no regression");
    }
    code
}

fn write_baseline(path: &Path, baseline: &Baseline) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(baseline).map_err(|e| e.to_string())? + "\n";
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
