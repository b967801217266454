//! Colony's hosts for the protocol core: the deterministic parallel fast
//! engine ([`engine`]) with its network model ([`network`]) and fault
//! timeline ([`faults`]); the async driver ([`driver`]) that runs the same
//! core under turmoil and over real UDP ([`hosts`]); scenario loading
//! ([`scenario`]), host-independent application actions ([`script`]) and
//! the `colony` command ([`cli`]).

#![deny(unsafe_code)] // one exception: the prefetch hint in `prefetch.rs`

pub mod agent_set;
pub mod byzantine;
pub mod cli;
mod detection;
mod direct;
pub mod driver;
pub mod engine;
pub mod faults;
pub mod hosts;
pub mod link_rng;
pub mod memo_keys;
mod metrics;
pub mod network;
mod overlay;
pub mod plan;
mod prefetch;
pub mod ratio;
pub mod scenario;
pub mod script;
mod streams;

/// Peak resident set size of this process in bytes (Linux `VmHWM`), or 0
/// where the platform does not report it.
pub fn peak_rss_bytes() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}
