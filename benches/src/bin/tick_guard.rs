//! The deterministic CI guard of the hot path: counts the instructions of one
//! received datagram under valgrind and compares them with
//! `benches/tick_budget.toml`.
//!
//! Wall-clock timing is noise on shared machines; an instruction count is
//! not. Each path runs twice, with `SMALL` and `LARGE` datagrams, and the
//! difference divided by `LARGE - SMALL` is the cost of one datagram, free of
//! setup. `--update` writes the measured counts as the new budget.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use serde::Deserialize;

const SMALL: u64 = 2_000;
const LARGE: u64 = 22_000;
const PATHS: [&str; 2] = ["duplicate", "fresh"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Budget {
    margin: f64,
    #[serde(default)]
    duplicate: Option<f64>,
    #[serde(default)]
    fresh: Option<f64>,
}

fn budget_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tick_budget.toml")
}

/// Instructions valgrind counts for `hot_path MODE COUNT`.
fn instructions(hot_path: &PathBuf, mode: &str, count: u64) -> Result<u64, String> {
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(hot_path)
        .args([mode, &count.to_string()])
        .output()
        .map_err(|e| format!("cannot run valgrind (is it installed?): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "valgrind failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find_map(|line| line.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no instruction count in valgrind's output:\n{stderr}"))
}

fn main() -> ExitCode {
    let update = std::env::args().any(|a| a == "--update");
    let hot_path = std::env::current_exe()
        .expect("own path")
        .with_file_name("hot_path");
    if !hot_path.exists() {
        eprintln!(
            "tick_guard: {} not found; build it with `cargo build --release -p colony-benches --bins`",
            hot_path.display()
        );
        return ExitCode::from(2);
    }
    let text = match std::fs::read_to_string(budget_path()) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("tick_guard: cannot read {}: {e}", budget_path().display());
            return ExitCode::from(2);
        }
    };
    let budget: Budget = match toml::from_str(&text) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("tick_guard: {}: {e}", budget_path().display());
            return ExitCode::from(2);
        }
    };
    let mut measured = Vec::new();
    for path in PATHS {
        let per = instructions(&hot_path, path, SMALL)
            .and_then(|small| instructions(&hot_path, path, LARGE).map(|large| (small, large)))
            .map(|(small, large)| large.saturating_sub(small) as f64 / (LARGE - SMALL) as f64);
        match per {
            Ok(per) => measured.push((path, per)),
            Err(e) => {
                eprintln!("tick_guard: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if update {
        let mut text: String = text
            .lines()
            .take_while(|l| !l.starts_with("duplicate") && !l.starts_with("fresh"))
            .map(|l| format!("{l}\n"))
            .collect();
        for (path, per) in &measured {
            text.push_str(&format!("{path} = {per:.1}\n"));
        }
        if let Err(e) = std::fs::write(budget_path(), text) {
            eprintln!("tick_guard: cannot write {}: {e}", budget_path().display());
            return ExitCode::from(2);
        }
        println!("tick_guard: budget updated");
        return ExitCode::SUCCESS;
    }
    let mut failed = false;
    println!(
        "{:<10} {:>14} {:>14} {:>9}  verdict",
        "path", "budget", "measured", "change"
    );
    for (path, per) in measured {
        let limit = match path {
            "duplicate" => budget.duplicate,
            _ => budget.fresh,
        };
        let Some(limit) = limit else {
            println!(
                "{path:<10} {:>14} {per:>14.1} {:>9}  no budget (run with --update)",
                "-", "-"
            );
            failed = true;
            continue;
        };
        let change = (per - limit) / limit * 100.0;
        let over = per > limit * (1.0 + budget.margin);
        failed |= over;
        let verdict = if over { "OVER BUDGET" } else { "ok" };
        println!("{path:<10} {limit:>14.1} {per:>14.1} {change:>+8.1}%  {verdict}");
    }
    println!(
        "(instructions per received datagram; margin {:.0}%)",
        budget.margin * 100.0
    );
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
