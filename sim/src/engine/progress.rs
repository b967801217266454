//! What a run tells its caller while it runs: progress for progress bars,
//! and the wall-clock time of each phase for benchmarks.

/// Progress of a run, for progress bars.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Virtual time reached, nanoseconds.
    pub now_ns: u64,
    /// Virtual time limit, nanoseconds.
    pub until_ns: u64,
    /// Deliveries so far.
    pub deliveries: u64,
    /// Datagrams in flight.
    pub in_flight: u64,
}

/// Wall-clock seconds the engine spent in each phase of its steps: what a
/// profile of the engine itself looks like, for benchmarks. Measured with
/// the host's clock, so it varies from run to run; it never reaches a
/// result or the trace hash.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseSeconds {
    /// Taking a window's datagrams, timers and commands (serial).
    pub take_inputs: f64,
    /// Running the agents (parallel over chunks).
    pub run_agents: f64,
    /// Merging the chunks' outputs (grouping sends is parallel; filing
    /// timers and metrics is serial).
    pub merge: f64,
}
