//! The bare loop: the scale benchmark's rumour spread with no protocol and no
//! engine — what the issue calls the floor ("a bare loop with 32-byte
//! headers"). Every round, every informed agent encodes one compact header
//! for a uniformly random other agent with a latency drawn in 1–5 ms, and
//! the target parses it at once and is informed — as in PeerSim's cycle
//! engine, no event queue is kept (agents informed in a round push from the
//! next one on).
//!
//! Running it next to the engine in one process gives a machine-independent
//! figure: the engine's wall time as a multiple of the bare loop's. The
//! issue's references are in that unit: PeerSim's cycle engine takes about
//! 15 times the bare loop (4.0 s against 0.26 s), the goal beyond is 4 times.

use colony_core::header::{CompactHeader, Flags, HEADER_LEN, HeaderFields};
use colony_core::rng::Rng;
use colony_core::{AgentId, MsgType, Priority, StandardChannel};

use crate::{SCALE_LATENCY_MS_MAX, SCALE_LATENCY_MS_MIN};

/// One-way latency bounds of the scale benchmark, nanoseconds.
const LATENCY_NS_MIN: u64 = SCALE_LATENCY_MS_MIN * NS_PER_MS;
const LATENCY_NS_MAX: u64 = SCALE_LATENCY_MS_MAX * NS_PER_MS;
const NS_PER_MS: u64 = 1_000_000;

/// Rounds after which a spread that has not finished is abandoned: push
/// gossip informs everyone in about log2(n) + ln(n) rounds, under 40 for a
/// million agents, so this only guards against a broken picker.
const ROUNDS_MAX: u32 = 1_000;

/// What one bare-loop spread did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BareSpread {
    /// Rounds until every agent was informed.
    pub rounds: u32,
    /// Datagrams sent.
    pub datagrams: u64,
    /// Sum of the drawn latencies, nanoseconds (kept so the draw is not
    /// optimised away; a cycle engine does not order by it).
    pub latency_ns_sum: u64,
}

/// Spreads one rumour from agent 0 to all `agents` (at least two) by push
/// with fanout 1.
pub fn bare_push(agents: u32, seed: u64) -> BareSpread {
    assert!(agents >= 2, "a spread needs two agents");
    let mut rng = Rng::for_agent(seed, 0, 0);
    let mut informed = vec![false; agents as usize];
    let mut informed_order = Vec::with_capacity(agents as usize);
    informed[0] = true;
    informed_order.push(0u32);
    let mut spread = BareSpread {
        rounds: 0,
        datagrams: 0,
        latency_ns_sum: 0,
    };
    while informed_order.len() < agents as usize && spread.rounds < ROUNDS_MAX {
        spread.rounds += 1;
        // Agents informed in this round push from the next one on.
        let senders = informed_order.len();
        spread.datagrams += senders as u64;
        for i in 0..senders {
            let agent = informed_order[i];
            let pick = rng.below(u64::from(agents - 1)) as u32;
            let target = if pick >= agent { pick + 1 } else { pick };
            spread.latency_ns_sum +=
                LATENCY_NS_MIN + rng.below(LATENCY_NS_MAX - LATENCY_NS_MIN + 1);
            let header = CompactHeader::new(HeaderFields {
                msg_type: MsgType::Status,
                priority: Priority::Normal,
                seq: 1,
                from: AgentId::from_index(u64::from(agent)),
                channel_hash: StandardChannel::Suggestions.hash(),
                timestamp_s: spread.rounds,
                payload_len: 0,
                flags: Flags::NONE,
                hops_remaining: 20,
            });
            let mut wire = [0u8; HEADER_LEN];
            if header.encode_with_payload(&[], &mut wire).is_err() {
                continue;
            }
            // The target reads the datagram at once, as in a cycle engine.
            let Ok((received, _)) = CompactHeader::parse(&wire) else {
                continue;
            };
            let slot = &mut informed[target as usize];
            if !*slot && received.seq() == 1 {
                *slot = true;
                informed_order.push(target);
            }
        }
    }
    spread
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_informs_everyone_in_about_log2_plus_ln_rounds() {
        // Pittel (1987): push with fanout 1 needs log2(n) + ln(n) + O(1)
        // rounds; for n = 100,000 that is 28.1.
        let n = 100_000u32;
        let expected = f64::from(n).log2() + f64::from(n).ln();
        for seed in 1..=3 {
            let spread = bare_push(n, seed);
            assert!(
                (f64::from(spread.rounds) - expected).abs() <= 4.0,
                "seed {seed}: {} rounds, expected about {expected:.1}",
                spread.rounds
            );
            // Every informed agent pushes every round until the end.
            assert!(spread.datagrams > u64::from(n));
            let mean_ns = spread.latency_ns_sum / spread.datagrams;
            assert!((2_900_000..3_100_000).contains(&mean_ns), "{mean_ns}");
        }
    }

    #[test]
    fn two_agents_take_one_round() {
        assert_eq!(bare_push(2, 9).rounds, 1);
    }
}
