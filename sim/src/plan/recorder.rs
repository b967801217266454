//! What every host records of a node's events: a delivery becomes a
//! [`DeliveryRecord`] and a term of the trace hash, a digest a count, an
//! ended request its outcome, a change in a peer's liveness a detection
//! event; anything else may ask the simulated application to react (it
//! answers every query). The fast engine and the async hosts both record
//! through [`record`], so their reports cannot drift apart.

use colony_core::node::{Command, Event, PeerChange};
use colony_core::rng::mix64;

use crate::direct::RequestEnd;
use crate::metrics::{DeliveryRecord, payload_hash};
use crate::script::reaction;

/// The trace hash's fold: every host folds the terms [`record`] gives (and
/// the engine its own inputs) into its trace with it.
#[inline]
pub(crate) fn fold(hash: u64, value: u64) -> u64 {
    mix64(hash.rotate_left(7) ^ value)
}

/// What one event of agent `agent` at `now` amounts to.
pub(crate) enum Record {
    /// A delivery, and the term it folds into the trace hash.
    Delivery(DeliveryRecord, u64),
    /// A digest was emitted.
    Digest,
    /// One of the agent's requests ended.
    RequestEnded(u16, RequestEnd),
    /// A peer was suspected, cleared or confirmed dead.
    Liveness(u32, PeerChange),
    /// The application's answer (a command back into the node).
    Reaction(Command<u32>),
    /// Nothing to record.
    Nothing,
}

/// The record of `event`.
#[inline]
pub(crate) fn record(agent: u32, now: u64, event: &Event<u32>) -> Record {
    match event {
        Event::Digest(_) => Record::Digest,
        Event::Delivered(d) => {
            let term = fold(now, u64::from(agent)) ^ u64::from(d.id.seq);
            let payload_hash = if d.payload.is_empty() {
                0
            } else {
                payload_hash(&d.payload)
            };
            let delivery = DeliveryRecord {
                id: d.id,
                agent,
                priority: d.priority,
                disposition: d.disposition,
                at: now,
                hops: d.hops,
                payload_hash,
            };
            Record::Delivery(delivery, term)
        }
        Event::Peer { peer, change }
            if matches!(
                change,
                PeerChange::Suspected | PeerChange::Alive | PeerChange::Failed
            ) =>
        {
            Record::Liveness(*peer, *change)
        }
        Event::Response { request, .. } => Record::RequestEnded(*request, RequestEnd::Answered),
        Event::RequestTimedOut { request, .. } => {
            Record::RequestEnded(*request, RequestEnd::TimedOut)
        }
        other => reaction(other).map_or(Record::Nothing, Record::Reaction),
    }
}
