//! Measures the cycle cost of a node's inputs with the TSC and prints the
//! engine's cost table (`sim/cost_table.toml`): median of nine runs of many
//! iterations each, per path.

use std::hint::black_box;

use colony_benches::cycles::read_tsc;
use colony_benches::hot_path::WarmNode;
use colony_benches::signed_fixture;
use colony_core::header::CompactHeader;
use colony_core::signing::{SeededKeys, verify};

/// Seed and size of the key directory the signature check runs against.
const SIGNATURE_KEYS_SEED: u64 = 3;
const SIGNATURE_AGENTS: u64 = 1024;

/// Runs per path; the median is kept.
const RUNS: usize = 9;
/// Iterations per run.
const ITERATIONS: u64 = 20_000;

fn median_cycles(mut step: impl FnMut()) -> u64 {
    let mut samples: Vec<u64> = (0..RUNS)
        .map(|_| {
            let start = read_tsc();
            for _ in 0..ITERATIONS {
                step();
            }
            (read_tsc() - start) / ITERATIONS
        })
        .collect();
    samples.sort_unstable();
    samples[RUNS / 2]
}

fn main() {
    let mut warm = WarmNode::new();
    let duplicate = median_cycles(|| warm.duplicate());
    let mut warm = WarmNode::new();
    let fresh = median_cycles(|| warm.fresh());
    let mut warm = WarmNode::new();
    let control = median_cycles(|| warm.ping());
    let mut warm = WarmNode::new();
    let timer = median_cycles(|| warm.round());
    let keys = SeededKeys::new(SIGNATURE_KEYS_SEED, SIGNATURE_AGENTS);
    let signed = signed_fixture(SIGNATURE_KEYS_SEED, 17, 17);
    let signature_check = median_cycles(|| {
        let (header, payload) = CompactHeader::parse(black_box(&signed)).expect("a valid fixture");
        assert!(verify(&keys, header, payload, &signed).is_ok());
    });
    print!(
        "{}",
        include_str!("../../../sim/cost_table.toml")
            .lines()
            .take_while(|l| l.starts_with('#'))
            .fold(String::new(), |s, l| s + l + "\n")
    );
    println!("duplicate = {duplicate}");
    println!("fresh = {fresh}");
    println!("control = {control}");
    println!("timer = {timer}");
    println!("signature_check = {signature_check}");
}
