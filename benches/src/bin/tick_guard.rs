//! The deterministic CI guard of the hot path: counts the instructions of one
//! received datagram, and of one event of the engine's push run, under
//! valgrind and compares them with `benches/tick_budget.toml`.
//!
//! Wall-clock timing is noise on shared machines; an instruction count is
//! not. Each path runs twice, small and large, and the difference divided by
//! the difference in work (datagrams fed, or events the engine handled) is
//! the cost of one unit, free of setup. `--update` writes the measured
//! counts as the new budget.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use serde::Deserialize;

/// One guarded path: the `hot_path` mode, the work it is run with twice,
/// and the unit its cost is counted in.
struct Path {
    mode: &'static str,
    small: u64,
    large: u64,
    unit: Unit,
    /// Functions whose instructions (callees included) are counted; empty:
    /// the whole program.
    collect: &'static [&'static str],
}

#[derive(Clone, Copy)]
enum Unit {
    /// One received datagram: the work given is the datagrams fed.
    Datagram,
    /// One event the engine handled, as `hot_path` reports it (the work
    /// given is the agents of the run).
    Event,
}

/// Datagrams per hot-path run: enough that setup is small next to them.
const DATAGRAMS_SMALL: u64 = 2_000;
const DATAGRAMS_LARGE: u64 = 22_000;

/// Agents per engine run: the larger takes a few seconds under valgrind;
/// both are past the start-up rounds, so the difference is the steady
/// per-event cost of a push run (round, receive, routing, merge).
const ENGINE_AGENTS_SMALL: u64 = 2_000;
const ENGINE_AGENTS_LARGE: u64 = 12_000;

/// The engine's phases, counted apart from the thread pool: an idle worker's
/// wake-ups would add a count that varies from run to run.
const ENGINE_PHASES: &[&str] = &[
    "colony_sim::engine::Engine::take_inputs",
    "colony_sim::engine::chunk::run_chunk",
    "colony_sim::engine::Engine::merge",
];

const PATHS: [Path; 3] = [
    Path {
        mode: "duplicate",
        small: DATAGRAMS_SMALL,
        large: DATAGRAMS_LARGE,
        unit: Unit::Datagram,
        collect: &[],
    },
    Path {
        mode: "fresh",
        small: DATAGRAMS_SMALL,
        large: DATAGRAMS_LARGE,
        unit: Unit::Datagram,
        collect: &[],
    },
    Path {
        mode: "engine",
        small: ENGINE_AGENTS_SMALL,
        large: ENGINE_AGENTS_LARGE,
        unit: Unit::Event,
        collect: ENGINE_PHASES,
    },
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Budget {
    margin: f64,
    #[serde(default)]
    duplicate: Option<f64>,
    #[serde(default)]
    fresh: Option<f64>,
    #[serde(default)]
    engine: Option<f64>,
}

impl Budget {
    fn of(&self, mode: &str) -> Option<f64> {
        match mode {
            "duplicate" => self.duplicate,
            "fresh" => self.fresh,
            _ => self.engine,
        }
    }
}

fn budget_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tick_budget.toml")
}

/// Instructions valgrind counts for `hot_path MODE COUNT`, and the units of
/// work the run did.
fn instructions(hot_path: &PathBuf, path: &Path, count: u64) -> Result<(u64, u64), String> {
    let mode = path.mode;
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .args(path.collect.iter().map(|f| format!("--toggle-collect={f}")))
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
    let counted = stderr
        .lines()
        .find_map(|line| line.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no instruction count in valgrind's output:\n{stderr}"))?;
    if counted == 0 {
        // A function to collect was renamed or inlined away.
        return Err(format!(
            "{mode}: valgrind counted nothing in {:?}: is each still a function of that name?",
            path.collect
        ));
    }
    let units = match path.unit {
        Unit::Datagram => count,
        Unit::Event => {
            let stdout = String::from_utf8_lossy(&output.stdout);
            stdout
                .split_whitespace()
                .zip(stdout.split_whitespace().skip(1))
                .find_map(|(n, word)| (word == "events").then(|| n.parse().ok()).flatten())
                .ok_or_else(|| format!("no event count in hot_path's output:\n{stdout}"))?
        }
    };
    Ok((counted, units))
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
    for path in &PATHS {
        let per = instructions(&hot_path, path, path.small)
            .and_then(|small| instructions(&hot_path, path, path.large).map(|large| (small, large)))
            .map(|((small, small_units), (large, large_units))| {
                large.saturating_sub(small) as f64
                    / large_units.saturating_sub(small_units).max(1) as f64
            });
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
            .take_while(|l| !PATHS.iter().any(|p| l.starts_with(p.mode)))
            .map(|l| format!("{l}\n"))
            .collect();
        for (path, per) in &measured {
            text.push_str(&format!("{} = {per:.1}\n", path.mode));
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
        "{:<18} {:>14} {:>14} {:>9}  verdict",
        "path", "budget", "measured", "change"
    );
    for (path, per) in measured {
        let name = match path.unit {
            Unit::Datagram => format!("{} datagram", path.mode),
            Unit::Event => format!("{} event", path.mode),
        };
        let Some(limit) = budget.of(path.mode) else {
            println!(
                "{name:<18} {:>14} {per:>14.1} {:>9}  no budget (run with --update)",
                "-", "-"
            );
            failed = true;
            continue;
        };
        let change = (per - limit) / limit * 100.0;
        let over = per > limit * (1.0 + budget.margin);
        failed |= over;
        let verdict = if over { "OVER BUDGET" } else { "ok" };
        println!("{name:<18} {limit:>14.1} {per:>14.1} {change:>+8.1}%  {verdict}");
    }
    println!(
        "(instructions per received datagram, or per event of the engine's push run; margin {:.0}%)",
        budget.margin * 100.0
    );
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
