//! The optional CPU model: agents with a finite CPU speed pay the measured
//! cycle cost of each input they handle, so an agent busy with earlier work
//! handles later inputs late (queueing delay), and drops datagrams that
//! would wait longer than [`QUEUE_DELAY_MAX_NS`].
//!
//! Costs come from `sim/cost_table.toml`, measured on the real hot path with
//! the TSC (`cargo run --release -p colony-benches --bin cost_table`).

use serde::Deserialize;

/// Longest a datagram may wait for a busy agent's CPU before it is dropped
/// (and counted as `cpu_overload`): one second, far beyond any healthy
/// queue, so drops mean real overload rather than a burst.
pub const QUEUE_DELAY_MAX_NS: u64 = 1_000_000_000;

/// Cycles per kind of input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostTable {
    /// A duplicate datagram (parse, validate, duplicate check).
    pub duplicate: u64,
    /// A new message (delivery and store for forwarding).
    pub fresh: u64,
    /// A protocol control message (membership, gossip control).
    pub control: u64,
    /// A timer (a gossip round that pushes).
    pub timer: u64,
    /// One Ed25519 verification, added to a new (or forged) message when
    /// the run signs its messages (duplicates are filtered before it).
    pub signature_check: u64,
}

impl Default for CostTable {
    /// The committed measurements.
    fn default() -> Self {
        toml::from_str(include_str!("../../cost_table.toml"))
            .expect("the committed cost table is valid")
    }
}

/// Nanoseconds an agent at `cycles_per_s` needs for `cycles`.
pub fn busy_ns(cycles: u64, cycles_per_s: u64) -> u64 {
    ((u128::from(cycles) * 1_000_000_000) / u128::from(cycles_per_s.max(1))) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_cost_table_loads_and_orders_its_paths_sensibly() {
        let costs = CostTable::default();
        assert!(costs.duplicate > 0);
        assert!(costs.fresh > costs.duplicate, "{costs:?}");
        assert!(costs.signature_check > costs.fresh, "{costs:?}");
        assert_eq!(busy_ns(1_000, 1_000_000), 1_000_000);
    }
}
