//! Every random stream of a run, in one place. Each random decision is a
//! pure hash of the seed, one of these stream constants and the identities
//! involved (the "randomness keyed by identity" rule of ARCHITECTURE.md), so
//! two decisions draw independent bits exactly when their streams differ.
//! The values are fixed: changing one changes every trace hash that uses it.
//! The per-datagram link streams (loss, latency, duplication) are
//! [`crate::link_rng::Stream`]; the core's own (signing keys, key secrets)
//! stay in the core.

/// Each agent's node RNG at the start of a run.
pub(crate) const AGENT_RNG: u64 = 0xa9e4_7000;

/// The RNG of an agent restarted with a fresh state (mixed with the
/// restart count, so each life draws its own).
pub(crate) const RESTART_RNG: u64 = 0x0072_6573_7461_7274;

/// The contact each joining agent is given.
pub(crate) const JOIN_CONTACT: u64 = 0x6a6f_696e;

/// A standalone `colony node`'s RNG (mixed with its name).
pub(crate) const NODE_RNG: u64 = 0x6e6f_6465;

/// The steps of the burst-loss (Gilbert–Elliott) chains.
pub(crate) const BURST_LOSS: u64 = 0x6275_7273_7400;

/// The Byzantine wrappers' random choices.
pub(crate) const BYZANTINE: u64 = 0x6279_7a61_6e74;

/// The churn fault's picks of who leaves when.
pub(crate) const CHURN: u64 = 0x6368_7572_6e00;

/// The latency fault's extra jitter.
pub(crate) const JITTER: u64 = 0x6a69_7474_6572;
