//! Point-to-point traffic of the workload, measured alike on every host:
//! each request from the moment its node accepts it to its answer or its
//! timeout, each direct send from the moment it is sent to its delivery.
//! Hosts feed it what their nodes did (the [`Handled`] result of a scripted
//! action, the request events, deliveries); it never looks at the wire.

use std::collections::BTreeMap;

use colony_core::message::MessageId;
use colony_core::node::{CommandError, Handled};
use colony_reports::{DirectReport, Percentiles};

use crate::script::Action;

/// How a pending request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestEnd {
    /// The answer arrived.
    Answered,
    /// The timeout passed first.
    TimedOut,
}

/// Requests and sends in flight, and what became of the others.
#[derive(Debug, Default)]
pub(crate) struct DirectMetrics {
    requests: u64,
    refused: u64,
    timed_out: u64,
    /// Sent and not yet resolved: (asker, request seq) -> time sent.
    pending: BTreeMap<(u32, u16), u64>,
    round_trips_ns: Vec<u64>,
    sends: u64,
    /// Direct sends not delivered yet: id -> time sent.
    sends_pending: BTreeMap<MessageId, u64>,
    send_latencies_ns: Vec<u64>,
}

impl DirectMetrics {
    /// `agent`'s node handled scripted `action` at `at_ns` with `result`.
    pub(crate) fn scripted(
        &mut self,
        agent: u32,
        action: &Action,
        at_ns: u64,
        result: &Result<Handled, CommandError>,
    ) {
        match (action, result) {
            (Action::Request { .. }, Ok(Handled::Requested(seq))) => {
                self.requests += 1;
                self.pending.insert((agent, *seq), at_ns);
            }
            (Action::Request { .. }, _) => {
                self.requests += 1;
                self.refused += 1;
            }
            (Action::SendTo { .. }, Ok(Handled::Sent(id))) => {
                self.sends += 1;
                self.sends_pending.insert(*id, at_ns);
            }
            (Action::SendTo { .. }, _) => self.sends += 1,
            _ => {}
        }
    }

    /// `agent`'s request `seq` ended at `at_ns`.
    pub(crate) fn request_ended(&mut self, agent: u32, seq: u16, at_ns: u64, end: RequestEnd) {
        let Some(sent_ns) = self.pending.remove(&(agent, seq)) else {
            return;
        };
        match end {
            RequestEnd::Answered => self.round_trips_ns.push(at_ns.saturating_sub(sent_ns)),
            RequestEnd::TimedOut => self.timed_out += 1,
        }
    }

    /// A delivery of `id` at `at_ns` (any message: only direct sends count).
    pub(crate) fn delivered(&mut self, id: &MessageId, at_ns: u64) {
        if let Some(sent_ns) = self.sends_pending.remove(id) {
            self.send_latencies_ns.push(at_ns.saturating_sub(sent_ns));
        }
    }

    /// The report section (none when the workload had no direct traffic).
    pub(crate) fn report(&self) -> Option<DirectReport> {
        if self.requests == 0 && self.sends == 0 {
            return None;
        }
        let mut round_trips = self.round_trips_ns.clone();
        let mut latencies = self.send_latencies_ns.clone();
        Some(DirectReport {
            requests: self.requests,
            requests_refused: self.refused,
            requests_answered: round_trips.len() as u64,
            requests_timed_out: self.timed_out,
            requests_unresolved: self.pending.len() as u64,
            round_trip_ms: Percentiles::of_ns(&mut round_trips),
            sends: self.sends,
            sends_delivered: latencies.len() as u64,
            send_latency_ms: Percentiles::of_ns(&mut latencies),
        })
    }
}
