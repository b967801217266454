//! Wire-format benches: header parse + validate, encode, FNV-1a of the
//! standard channel names. Run with `cargo bench -p colony-benches --bench wire`.

// criterion_group! expands to an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use colony_benches::{FIXTURE_PAYLOAD_LEN, fixture_datagram, fixture_fields};
use colony_core::header::{CompactHeader, HEADER_LEN};
use colony_core::{StandardChannel, fnv1a_32};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn parse(c: &mut Criterion) {
    let datagram = fixture_datagram(1);
    let mut group = c.benchmark_group("header");
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
}

fn fnv(c: &mut Criterion) {
    let names: Vec<&str> = StandardChannel::ALL.iter().map(|ch| ch.name()).collect();
    let mut group = c.benchmark_group("fnv1a_32");
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

criterion_group!(benches, parse, fnv);
criterion_main!(benches);
