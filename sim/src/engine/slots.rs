//! What the engine keeps per agent beside its node: the slot (next
//! timeout, send count, crash and restart state, burst-loss state) and,
//! in runs with a CPU model, the agent's CPU.

use super::CHUNK_AGENTS;
use crate::plan::SimSpec;

/// The engine's per-agent bookkeeping next to the node.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AgentSlot {
    /// The node's next timeout, or [`NO_TIMEOUT`].
    pub(crate) timeout: u64,
    /// Datagrams this agent sent: the `seq` of its link decisions.
    pub(crate) sent: u32,
    /// Crashed: inputs are lost until it restarts.
    pub(crate) crashed: bool,
    /// Restarts so far (seeds the fresh state of a restart).
    pub(crate) restarts: u32,
    /// The uplink's Gilbert–Elliott state during a burst-loss fault.
    pub(crate) bursting: bool,
}

/// The CPU of an agent with a finite one (kept apart from [`AgentSlot`]:
/// runs without a CPU model hold none, a million agents 16 bytes less each).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CpuSlot {
    /// CPU speed in cycles per second; 0 = infinitely fast.
    pub(crate) cycles_per_s: u64,
    /// Until when the agent's CPU is busy, virtual ns.
    pub(crate) busy_until: u64,
}

/// Per chunk, every agent's CPU (the last group naming an agent wins), or
/// nothing without a CPU model.
pub(super) fn cpu_slots(spec: &SimSpec) -> Vec<Vec<CpuSlot>> {
    let chunks = (spec.agents as usize).div_ceil(CHUNK_AGENTS);
    let mut cpu: Vec<Vec<CpuSlot>> = (0..chunks).map(|_| Vec::new()).collect();
    if spec.cpu.is_empty() {
        return cpu;
    }
    for agent in 0..spec.agents {
        let cycles_per_s = spec
            .cpu
            .iter()
            .rev()
            .find(|g| (g.first..g.end).contains(&agent))
            .map_or(0, |g| g.cycles_per_s);
        cpu[agent as usize / CHUNK_AGENTS].push(CpuSlot {
            cycles_per_s,
            busy_until: 0,
        });
    }
    cpu
}
