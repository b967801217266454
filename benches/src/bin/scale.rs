//! The engine's scale benchmark: `uniform` sampling, push with fanout 1,
//! latency uniform in 1–5 ms, one broadcast, run to full coverage.
//!
//! ```sh
//! cargo run --release -p colony-benches --bin scale -- --agents 1000000 --threads 1,2 --runs 3
//! ```
//!
//! Prints one line per run (wall time, events/s, trace hash, and the wall
//! time of each engine phase) and the medians. With several thread counts,
//! each run goes through all of them in turn (a machine whose speed drifts
//! then drifts for all alike) and the speed-up over the first is printed.
//! Each run ends with the same spread in the bare loop
//! ([`colony_benches::bare_loop`]), and every median is also given as a
//! multiple of the bare loop's: the engine's time in a unit that does not
//! depend on how fast (or how loaded) the machine is that day.
//! Peak RSS is the process's, so compare sizes in separate invocations
//! (`--runs 1` with one thread count).

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use colony_benches::bare_loop::bare_push;
use colony_benches::scale_spec;
use colony_sim::engine::Engine;

const USAGE: &str = "usage: scale [--agents N] [--threads N[,N...]] [--runs N] [--seed N]";

/// What to run.
struct Args {
    agents: u32,
    threads: Vec<usize>,
    runs: usize,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        agents: 1_000_000,
        threads: vec![2],
        runs: 3,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: std::num::ParseIntError| format!("{flag} {value}: {e}\n{USAGE}");
        match flag.as_str() {
            "--agents" => parsed.agents = value.parse().map_err(bad)?,
            "--threads" => {
                parsed.threads = value
                    .split(',')
                    .map(|t| t.trim().parse())
                    .collect::<Result<_, _>>()
                    .map_err(bad)?
            }
            "--runs" => parsed.runs = value.parse().map_err(bad)?,
            "--seed" => parsed.seed = value.parse().map_err(bad)?,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if parsed.agents < 2 || parsed.threads.contains(&0) || parsed.runs == 0 {
        return Err(format!(
            "agents >= 2, every thread count >= 1, runs >= 1\n{USAGE}"
        ));
    }
    Ok(parsed)
}

/// The median of `walls` (sorts them).
fn median(walls: &mut [f64]) -> f64 {
    walls.sort_by(f64::total_cmp);
    walls[walls.len() / 2]
}

fn main() -> ExitCode {
    let Args {
        agents,
        threads,
        runs,
        seed,
    } = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    // A closed stdout (e.g. piped into `head`) ends the benchmark quietly.
    let mut out = std::io::stdout();
    let mut walls: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); threads.len()];
    let mut bare_walls = Vec::with_capacity(runs);
    for run in 0..runs {
        for (t, &threads) in threads.iter().enumerate() {
            let mut engine = match Engine::new(scale_spec(agents, seed)) {
                Ok(engine) => engine,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            let report = engine.run(threads, &mut |_| {});
            let m = &report.messages[0];
            let phases = engine.phase_seconds();
            let _ = writeln!(
                out,
                "run {run}: agents {agents} threads {threads} wall {:.3} s events {} ({:.1} M/s) coverage {:.4} rounds {:?} datagrams {} trace {}\n  phases: take inputs {:.3} s, run agents {:.3} s, merge {:.3} s",
                report.wall_seconds,
                report.events,
                report.events_per_second / 1e6,
                m.coverage,
                m.rounds_to_full,
                report.totals.datagrams_sent,
                report.trace_hash,
                phases.take_inputs,
                phases.run_agents,
                phases.merge
            );
            walls[t].push(report.wall_seconds);
        }
        let started = Instant::now();
        let bare = bare_push(agents, seed);
        bare_walls.push(started.elapsed().as_secs_f64());
        let _ = writeln!(
            out,
            "  bare loop: {:.3} s, {} rounds, {} datagrams",
            bare_walls[run], bare.rounds, bare.datagrams
        );
    }
    let bare_wall = median(&mut bare_walls);
    let first_wall = median(&mut walls[0]);
    for (t, count) in threads.iter().enumerate() {
        let wall = median(&mut walls[t]);
        let speedup = if t == 0 {
            String::new()
        } else {
            format!(
                ", {:.2}x as fast as with {} thread(s)",
                first_wall / wall,
                threads[0]
            )
        };
        let _ = writeln!(
            out,
            "threads {count}: median wall {wall:.3} s over {runs} runs ({:.1}x the bare loop's {bare_wall:.3} s){speedup}",
            wall / bare_wall
        );
    }
    let _ = writeln!(
        out,
        "peak RSS {:.1} MiB ({:.0} bytes per agent)",
        colony_sim::peak_rss_bytes() as f64 / 1048576.0,
        colony_sim::peak_rss_bytes() as f64 / f64::from(agents)
    );
    ExitCode::SUCCESS
}
