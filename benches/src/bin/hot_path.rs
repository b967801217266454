//! Runs the hot path N times and exits: the program the tick guard counts
//! instructions of under valgrind. `hot_path duplicate 10000`.

use std::hint::black_box;
use std::process::ExitCode;

use colony_benches::hot_path::WarmNode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(count)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: hot_path duplicate|fresh COUNT");
        return ExitCode::from(2);
    };
    let mut warm = WarmNode::new();
    match mode.as_str() {
        "duplicate" => (0..count).for_each(|_| black_box(&mut warm).duplicate()),
        "fresh" => (0..count).for_each(|_| black_box(&mut warm).fresh()),
        other => {
            eprintln!("unknown mode {other:?}: duplicate or fresh");
            return ExitCode::from(2);
        }
    }
    println!(
        "{mode} x{count}: {} duplicates, {} delivered",
        warm.duplicates(),
        warm.delivered()
    );
    ExitCode::SUCCESS
}
