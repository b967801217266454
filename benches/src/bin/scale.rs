//! The engine's scale benchmark: `uniform` sampling, push with fanout 1,
//! latency uniform in 1–5 ms, one broadcast, run to full coverage.
//!
//! ```sh
//! cargo run --release -p colony-benches --bin scale -- --agents 1000000 --threads 2 --runs 5
//! ```
//!
//! Prints one line per run (wall time, events/s, trace hash, and the wall
//! time of each engine phase) and the median. Each run is followed by the
//! same spread in the bare loop ([`colony_benches::bare_loop`]), and the
//! medians' ratio is printed: the engine's time in a unit that does not
//! depend on how fast (or how loaded) the machine is that day.
//! Peak RSS is the process's, so compare sizes in separate invocations.

use std::io::Write;
use std::process::ExitCode;

use std::time::Instant;

use colony_benches::bare_loop::bare_push;
use colony_benches::scale_spec;
use colony_sim::engine::Engine;

const USAGE: &str = "usage: scale [--agents N] [--threads N] [--runs N] [--seed N]";

fn parse_args() -> Result<(u32, usize, usize, u64), String> {
    let (mut agents, mut threads, mut runs, mut seed) = (1_000_000u32, 2usize, 3usize, 1u64);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: std::num::ParseIntError| format!("{flag} {value}: {e}\n{USAGE}");
        match flag.as_str() {
            "--agents" => agents = value.parse().map_err(bad)?,
            "--threads" => threads = value.parse().map_err(bad)?,
            "--runs" => runs = value.parse().map_err(bad)?,
            "--seed" => seed = value.parse().map_err(bad)?,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if agents < 2 || threads == 0 || runs == 0 {
        return Err(format!("agents >= 2, threads >= 1, runs >= 1\n{USAGE}"));
    }
    Ok((agents, threads, runs, seed))
}

fn main() -> ExitCode {
    let (agents, threads, runs, seed) = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mut walls = Vec::with_capacity(runs);
    let mut bare_walls = Vec::with_capacity(runs);
    for run in 0..runs {
        let mut engine = match Engine::new(scale_spec(agents, seed)) {
            Ok(engine) => engine,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let report = engine.run(threads, &mut |_| {});
        let m = &report.messages[0];
        // A closed stdout (e.g. piped into `head`) ends the benchmark quietly.
        let _ = writeln!(
            std::io::stdout(),
            "run {run}: agents {agents} threads {threads} wall {:.3} s events {} ({:.1} M/s) coverage {:.4} rounds {:?} datagrams {} trace {}",
            report.wall_seconds,
            report.events,
            report.events_per_second / 1e6,
            m.coverage,
            m.rounds_to_full,
            report.totals.datagrams_sent,
            report.trace_hash
        );
        let phases = engine.phase_seconds();
        let _ = writeln!(
            std::io::stdout(),
            "  phases: take inputs {:.3} s, run agents {:.3} s, merge {:.3} s",
            phases.take_inputs,
            phases.run_agents,
            phases.merge
        );
        walls.push(report.wall_seconds);
        let started = Instant::now();
        let bare = bare_push(agents, seed);
        bare_walls.push(started.elapsed().as_secs_f64());
        let _ = writeln!(
            std::io::stdout(),
            "  bare loop: {:.3} s, {} rounds, {} datagrams",
            bare_walls[run],
            bare.rounds,
            bare.datagrams
        );
    }
    let median = |walls: &mut Vec<f64>| {
        walls.sort_by(f64::total_cmp);
        walls[walls.len() / 2]
    };
    let (engine_wall, bare_wall) = (median(&mut walls), median(&mut bare_walls));
    let _ = writeln!(
        std::io::stdout(),
        "median wall {engine_wall:.3} s over {runs} runs ({:.1}x the bare loop's {bare_wall:.3} s); peak RSS {:.1} MiB ({:.0} bytes per agent)",
        engine_wall / bare_wall,
        colony_sim::peak_rss_bytes() as f64 / 1048576.0,
        colony_sim::peak_rss_bytes() as f64 / f64::from(agents)
    );
    ExitCode::SUCCESS
}
