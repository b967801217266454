//! The fast engine at 10,000 agents: one whole broadcast (push, fanout 1,
//! uniform sampling) per iteration, reported per event processed, in
//! nanoseconds and TSC cycles. The 1M-agent figure is `--bin scale`.

// criterion_group! expands to an undocumented public function.
#![allow(missing_docs)]

use colony_benches::scale_spec;
use colony_sim::engine::Engine;
use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};

const AGENTS: u32 = 10_000;
/// Whole runs per sample are slow (~0.1 s): ten samples are enough for a median.
const SAMPLES: usize = 10;

fn engine<M: Measurement>(c: &mut Criterion<M>, unit: &str) {
    let events = Engine::new(scale_spec(AGENTS, 1))
        .expect("valid spec")
        .run(1, &mut |_| {})
        .events;
    let mut group = c.benchmark_group(format!("engine_{unit}"));
    group.sample_size(SAMPLES);
    group.throughput(Throughput::Elements(events));
    for threads in [1, 2] {
        group.bench_function(format!("push_10k_{threads}_threads"), |b| {
            b.iter(|| {
                Engine::new(scale_spec(AGENTS, 1))
                    .expect("valid spec")
                    .run(threads, &mut |_| {})
            })
        });
    }
    group.finish();
}

colony_benches::time_and_cycles_main!(engine);
