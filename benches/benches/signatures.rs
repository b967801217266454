//! What signatures cost on the hot path, in nanoseconds and TSC cycles:
//! signing a datagram at its origin, verifying a valid one, and rejecting a
//! forged one (the receiver pays the same verification either way). Every
//! fresh signed message costs one verification; duplicates are filtered
//! before it. Run with `cargo bench -p colony-benches --bench signatures`.

// criterion_group! expands to an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use colony_benches::{FIXTURE_PAYLOAD_LEN, signed_fixture};
use colony_core::header::{CompactHeader, HEADER_LEN};
use colony_core::signing::{SeededKeys, sign, verify};
use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};

/// Agents in the key directory: enough that lookups are not all cached.
const AGENTS: u64 = 1024;

fn signatures<M: Measurement>(c: &mut Criterion<M>, unit: &str) {
    let keys = SeededKeys::new(3, AGENTS);
    let valid = signed_fixture(3, 17, 17);
    let forged = signed_fixture(3, 17, 99); // signed by 99, claims 17
    let mut group = c.benchmark_group(format!("signatures_{unit}"));
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify_valid", |b| {
        b.iter(|| {
            let (header, payload) = CompactHeader::parse(black_box(&valid)).unwrap();
            verify(&keys, header, payload, &valid).is_ok()
        })
    });
    group.bench_function("reject_forged", |b| {
        b.iter(|| {
            let (header, payload) = CompactHeader::parse(black_box(&forged)).unwrap();
            verify(&keys, header, payload, &forged).is_err()
        })
    });
    let signer = SeededKeys::signing_key(3, 17);
    let unsigned = {
        let mut bytes = valid.clone();
        bytes.truncate(HEADER_LEN + FIXTURE_PAYLOAD_LEN);
        bytes
    };
    group.bench_function("sign", |b| {
        b.iter(|| {
            let mut bytes = unsigned.clone();
            sign(black_box(&signer), &mut bytes);
            bytes
        })
    });
    group.finish();
}

colony_benches::time_and_cycles_main!(signatures);
