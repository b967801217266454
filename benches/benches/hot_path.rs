//! The hot path of one received gossip datagram on a warm node, in
//! nanoseconds and in TSC cycles per datagram, one at a time and in batches
//! of 64 (how a host drains a socket). Run with
//! `cargo bench -p colony-benches --bench hot_path`.

// criterion_group! expands to an undocumented public function.
#![allow(missing_docs)]

use colony_benches::hot_path::WarmNode;
use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};

/// Datagrams per batch in the batched variants.
const BATCH: u64 = 64;

fn hot_path<M: Measurement>(c: &mut Criterion<M>, unit: &str) {
    let mut group = c.benchmark_group(format!("hot_path_{unit}"));
    group.throughput(Throughput::Elements(1));
    // A fresh fixture per bench: the fresh path fills the duplicate filter
    // and store, which would change what the duplicate path finds.
    let mut warm = WarmNode::new();
    group.bench_function("duplicate", |b| b.iter(|| warm.duplicate()));
    let mut warm = WarmNode::new();
    group.bench_function("fresh", |b| b.iter(|| warm.fresh()));
    group.throughput(Throughput::Elements(BATCH));
    let mut warm = WarmNode::new();
    group.bench_function("duplicate_batch64", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                warm.duplicate();
            }
        })
    });
    let mut warm = WarmNode::new();
    group.bench_function("fresh_batch64", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                warm.fresh();
            }
        })
    });
    group.finish();
}

colony_benches::time_and_cycles_main!(hot_path);
