//! Wire-format benches, in nanoseconds and TSC cycles per operation: header
//! parse + validate, encode, FNV-1a of the standard channel names. Run with
//! `cargo bench -p colony-benches --bench wire`.

// criterion_group! expands to an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use colony_benches::{FIXTURE_PAYLOAD_LEN, fixture_datagram, fixture_fields};
use colony_core::header::{CompactHeader, HEADER_LEN};
use colony_core::{StandardChannel, fnv1a_32};
use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};

fn wire<M: Measurement>(c: &mut Criterion<M>, unit: &str) {
    let datagram = fixture_datagram(1);
    let mut group = c.benchmark_group(format!("header_{unit}"));
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_validate", |b| {
        b.iter(|| {
            let (header, payload) = CompactHeader::parse(black_box(&datagram)).unwrap();
            black_box((header.channel_hash(), payload.len()))
        })
    });
    let header = CompactHeader::new(fixture_fields(1));
    let payload = [0u8; FIXTURE_PAYLOAD_LEN];
    let mut buf = [0u8; HEADER_LEN + FIXTURE_PAYLOAD_LEN];
    group.bench_function("encode", |b| {
        b.iter(|| {
            black_box(&header)
                .encode_with_payload(black_box(&payload), &mut buf)
                .unwrap()
        })
    });
    group.finish();

    let names: Vec<&str> = StandardChannel::ALL.iter().map(|ch| ch.name()).collect();
    let mut group = c.benchmark_group(format!("fnv1a_32_{unit}"));
    group.throughput(Throughput::Elements(names.len() as u64));
    group.bench_function("standard_names", |b| {
        b.iter(|| {
            names
                .iter()
                .fold(0u32, |acc, n| acc ^ fnv1a_32(black_box(n.as_bytes())))
        })
    });
    group.finish();
}

colony_benches::time_and_cycles_main!(wire);
