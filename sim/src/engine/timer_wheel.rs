//! One chunk's timers: the agents that wake in each future window.
//!
//! Each chunk owns its wheel and files its agents' new timeouts while it
//! runs, so filing is parallel like the agents themselves (a single wheel
//! filled in the serial merge cost a million insertions per round at a
//! million agents). A wheel holds only its own chunk's agents, so its
//! contents — and the order a window's timers come out in — do not depend
//! on threads.

use std::collections::BTreeMap;

/// Agents by the window their next timeout falls in.
#[derive(Debug, Default)]
pub(crate) struct TimerWheel {
    windows: BTreeMap<u64, Vec<u32>>,
}

impl TimerWheel {
    /// The earliest window with a filed agent.
    pub(crate) fn next_window(&self) -> Option<u64> {
        self.windows.keys().next().copied()
    }

    /// Files `(agent, window)` pairs. Consecutive agents mostly wake in the
    /// same window (the next round boundary): one map lookup per run of
    /// equal windows.
    pub(crate) fn file(&mut self, timeouts: impl IntoIterator<Item = (u32, u64)>) {
        let mut run: Option<(u64, &mut Vec<u32>)> = None;
        for (agent, window) in timeouts {
            match &mut run {
                Some((w, agents)) if *w == window => agents.push(agent),
                _ => {
                    let agents = self.windows.entry(window).or_default();
                    agents.push(agent);
                    run = Some((window, agents));
                }
            }
        }
    }

    /// Removes and returns the agents filed for window `k`, some of them
    /// stale (filed before their timeout moved): the caller checks each
    /// against the agent's current timeout.
    pub(crate) fn take(&mut self, k: u64) -> Vec<u32> {
        self.windows.remove(&k).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_come_out_by_window_in_filing_order() {
        let mut wheel = TimerWheel::default();
        wheel.file([(3, 7), (5, 7), (4, 9), (1, 7)]);
        assert_eq!(wheel.next_window(), Some(7));
        assert_eq!(wheel.take(7), [3, 5, 1]);
        assert_eq!(wheel.take(8), Vec::<u32>::new());
        assert_eq!(wheel.next_window(), Some(9));
        assert_eq!(wheel.take(9), [4]);
        assert_eq!(wheel.next_window(), None);
    }
}
