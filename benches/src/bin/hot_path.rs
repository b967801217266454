//! Runs the hot path N times and exits: the program the tick guard counts
//! instructions of under valgrind. `hot_path duplicate 10000` feeds a warm
//! node N datagrams; `hot_path engine 10000` runs the scale benchmark's push
//! with N agents on one thread and prints the events it handled.

use std::hint::black_box;
use std::process::ExitCode;

use colony_benches::hot_path::WarmNode;
use colony_benches::scale_spec;
use colony_sim::engine::Engine;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(count)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: hot_path duplicate|fresh|engine COUNT");
        return ExitCode::from(2);
    };
    if mode == "engine" {
        let agents = u32::try_from(count).unwrap_or(u32::MAX);
        let report = match Engine::new(scale_spec(agents, 1)) {
            Ok(mut engine) => engine.run(1, &mut |_| {}),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        // The tick guard reads the event count from this line.
        println!("engine x{agents}: {} events", report.events);
        return ExitCode::SUCCESS;
    }
    let mut warm = WarmNode::new();
    match mode.as_str() {
        "duplicate" => (0..count).for_each(|_| black_box(&mut warm).duplicate()),
        "fresh" => (0..count).for_each(|_| black_box(&mut warm).fresh()),
        other => {
            eprintln!("unknown mode {other:?}: duplicate, fresh or engine");
            return ExitCode::from(2);
        }
    }
    println!(
        "{mode} x{count}: {} duplicates, {} delivered",
        warm.duplicates(),
        warm.delivered()
    );
    // A fixture that stops delivering measures some other path (the
    // backlog's overflow, once): refuse to be counted.
    if mode == "fresh" && warm.delivered() < count {
        eprintln!("the fresh path delivered {} of {count}", warm.delivered());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
