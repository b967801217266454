//! Shared fixtures for Colony's criterion benches (see `benches/benches/`).
//! The fixtures are plain functions so the same inputs can be checked by
//! unit tests and measured by the benches.

#![deny(unsafe_code)] // one exception: reading the TSC in `cycles.rs`

pub mod bare_loop;
pub mod cycles;
pub mod hot_path;

/// Defines a criterion `main` that runs `$bench(c, unit)` twice: once in
/// wall-clock nanoseconds, once in TSC cycles ([`cycles::TscCycles`]).
/// `$bench` is generic over `criterion::measurement::Measurement`.
#[macro_export]
macro_rules! time_and_cycles_main {
    ($bench:ident) => {
        fn in_time(c: &mut criterion::Criterion) {
            $bench(c, "ns");
        }

        fn in_cycles(c: &mut criterion::Criterion<$crate::cycles::TscCycles>) {
            $bench(c, "cycles");
        }

        criterion::criterion_group!(time, in_time);
        criterion::criterion_group! {
            name = cycles;
            config = criterion::Criterion::default().with_measurement($crate::cycles::TscCycles);
            targets = in_cycles
        }
        criterion::criterion_main!(time, cycles);
    };
}

use std::num::NonZeroU32;
use std::time::Duration;

use colony_core::config::Config;
use colony_core::header::{CompactHeader, Flags, HEADER_LEN, HeaderFields};
use colony_core::signing::{SeededKeys, sign};
use colony_core::{AgentId, MsgType, Priority, StandardChannel};
use colony_sim::network::{Latency, NetworkModel};
use colony_sim::plan::{Broadcast, PayloadKind, SimSpec, StopCondition};

/// Payload size of the fixture datagrams: a small status update.
pub const FIXTURE_PAYLOAD_LEN: usize = 24;

/// The header of a typical gossip datagram: a status update from agent 7.
pub fn fixture_fields(seq: u16) -> HeaderFields {
    HeaderFields {
        msg_type: MsgType::Status,
        priority: Priority::Background,
        seq,
        from: AgentId::from_index(7),
        channel_hash: StandardChannel::Status.hash(),
        timestamp_s: 1_800_000_000,
        payload_len: FIXTURE_PAYLOAD_LEN as u16,
        flags: Flags::NONE,
        hops_remaining: 20,
    }
}

/// A whole valid datagram with [`fixture_fields`] and a zero payload.
pub fn fixture_datagram(seq: u16) -> Vec<u8> {
    let mut buf = vec![0u8; HEADER_LEN + FIXTURE_PAYLOAD_LEN];
    CompactHeader::new(fixture_fields(seq))
        .encode_with_payload(&[0u8; FIXTURE_PAYLOAD_LEN], &mut buf)
        .expect("the buffer is sized for the fixture");
    buf
}

/// A datagram with [`fixture_fields`] from agent `from`, flagged signed and
/// signed with `signer`'s key from [`SeededKeys`] seeded by `keys_seed`: a
/// valid signature when `signer == from`, a forgery otherwise.
pub fn signed_fixture(keys_seed: u64, from: u64, signer: u64) -> Vec<u8> {
    let mut fields = fixture_fields(1);
    fields.from = AgentId::from_index(from);
    fields.flags = Flags::SIGNED;
    let payload = [7u8; FIXTURE_PAYLOAD_LEN];
    let mut bytes = vec![0u8; HEADER_LEN + FIXTURE_PAYLOAD_LEN];
    CompactHeader::new(fields)
        .encode_with_payload(&payload, &mut bytes)
        .expect("the buffer is sized for the fixture");
    sign(&SeededKeys::signing_key(keys_seed, signer), &mut bytes);
    bytes
}

/// Smallest one-way latency of the scale benchmark (uniform up to
/// [`SCALE_LATENCY_MS_MAX`]), shared with the bare loop it is compared
/// against.
pub const SCALE_LATENCY_MS_MIN: u64 = 1;
/// Largest one-way latency of the scale benchmark.
pub const SCALE_LATENCY_MS_MAX: u64 = 5;

/// The engine issue's benchmark run: `agents` agents, `uniform` sampling,
/// push with fanout 1, one-way latency uniform in 1–5 ms, one broadcast from
/// agent 0 at time zero, stopping at full coverage (or one virtual minute).
pub fn scale_spec(agents: u32, seed: u64) -> SimSpec {
    let population = NonZeroU32::new(agents.max(1)).expect("at least one agent");
    SimSpec {
        workload: vec![Broadcast {
            at_ns: 0,
            origin: 0,
            channel_hash: StandardChannel::Suggestions.hash(),
            priority: Priority::Normal,
            payload: PayloadKind::App {
                len: FIXTURE_PAYLOAD_LEN,
            },
        }],
        ..SimSpec::new(
            format!("scale-{agents}"),
            agents,
            seed,
            Config::large_scale(population),
            NetworkModel {
                latency: Latency::Uniform {
                    min: Duration::from_millis(SCALE_LATENCY_MS_MIN),
                    max: Duration::from_millis(SCALE_LATENCY_MS_MAX),
                },
                ..NetworkModel::constant(Duration::from_millis(SCALE_LATENCY_MS_MIN))
            },
            StopCondition {
                duration_ns: 60_000_000_000,
                at_full_coverage: true,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_datagram_is_valid() {
        let bytes = fixture_datagram(1);
        let (header, payload) = CompactHeader::parse(&bytes).unwrap();
        assert_eq!(header.fields(), Some(fixture_fields(1)));
        assert_eq!(payload.len(), FIXTURE_PAYLOAD_LEN);
    }
}
