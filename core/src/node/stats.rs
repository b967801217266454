//! What a node counts: datagrams and bytes in and out, deliveries, and every
//! drop by its reason. Hosts read these to build reports.

use crate::header::HeaderError;

macro_rules! drop_reasons {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// Why a node dropped a datagram, a message or a queued item.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum DropReason {
            $( $(#[$doc])* $variant, )*
        }

        impl DropReason {
            /// Every reason, in counter order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant),*];

            /// The snake-case name used in reports.
            pub const fn name(self) -> &'static str {
                match self { $( DropReason::$variant => $name, )* }
            }
        }
    };
}

drop_reasons! {
    /// Shorter than a header.
    TooShort => "too_short",
    /// A header rule other than length failed (version, reserved bits, type,
    /// priority, payload length).
    BadHeader => "bad_header",
    /// A control payload could not be decoded.
    BadControl => "bad_control",
    /// Signatures are required and the message carried none.
    Unsigned => "unsigned",
    /// The signature did not verify (forged origin, altered bytes) or the
    /// origin's key is unknown.
    BadSignature => "bad_signature",
    /// The sending peer is graylisted (its reputation fell too low).
    Graylisted => "graylisted",
    /// Already seen: duplicate suppression.
    Duplicate => "duplicate",
    /// Already seen, with a different payload that its origin signed too
    /// (signatures on): the origin equivocates. Dropped as a duplicate
    /// would be, and counted apart so that the equivocation shows.
    Equivocation => "equivocation",
    /// Stamped no later than an id the duplicate filter has forgotten: it
    /// may be a copy of a forgotten message (a replay, or a flood's
    /// turnover), so it is refused rather than risk a second delivery. A
    /// honest late message meets this only when the filter turns over
    /// faster than messages spread: raise `dedup_capacity`.
    Stale => "stale",
    /// The origin exceeded its rate.
    RateLimited => "rate_limited",
    /// Older than the message TTL.
    Expired => "expired",
    /// The inbox was full: the lowest-priority held message was evicted.
    InboxOverflow => "inbox_overflow",
    /// The backlog was full: a datagram waiting for work budget was dropped.
    BacklogOverflow => "backlog_overflow",
    /// The node has left; input ignored.
    NotRunning => "not_running",
    /// A response matched no pending request.
    UnmatchedResponse => "unmatched_response",
    /// A message for a channel the node does not subscribe to (not delivered;
    /// still relayed).
    Unsubscribed => "unsubscribed",
    /// The gossip store was full and its oldest message was dropped.
    StoreEvicted => "store_evicted",
    /// PlumTree: an announced message never came after every GRAFT/IWANT
    /// attempt; the node stopped asking for it.
    RepairAbandoned => "repair_abandoned",
}

/// Number of drop reasons.
pub const DROP_REASONS: usize = DropReason::ALL.len();

impl DropReason {
    /// The reason a header error is counted under.
    pub fn of_header_error(error: &HeaderError) -> Self {
        match error {
            HeaderError::TooShort { .. } => DropReason::TooShort,
            _ => DropReason::BadHeader,
        }
    }
}

/// Counters of one node. All are cumulative since the node started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Datagrams handed to the node.
    pub datagrams_received: u64,
    /// Datagrams the node emitted.
    pub datagrams_sent: u64,
    /// Bytes of the datagrams emitted.
    pub bytes_sent: u64,
    /// Application messages delivered (immediately, queued or digested).
    pub delivered: u64,
    /// Ed25519 signatures checked (valid or not): the crypto work a host's
    /// CPU model charges for.
    pub signatures_checked: u64,
    /// Drops for [`DropReason::Duplicate`], the one reason every gossiping
    /// node counts.
    duplicates: u64,
    /// Drops for every other reason, indexed by [`DropReason`] as `usize`
    /// (the duplicate slot stays zero), allocated at the first such drop:
    /// most nodes never have one, and a million agents keep 112 bytes each
    /// less. Only ever allocated for a positive count, so equal counters
    /// compare equal.
    other_drops: Option<Box<[u64; DROP_REASONS]>>,
}

impl NodeStats {
    /// Counts a drop.
    #[inline]
    pub fn drop(&mut self, reason: DropReason) {
        self.add_drops(reason, 1);
    }

    /// Counts `count` drops for one reason (hosts summing counters).
    #[inline]
    pub fn add_drops(&mut self, reason: DropReason, count: u64) {
        if reason == DropReason::Duplicate {
            self.duplicates += count;
        } else if count > 0 {
            self.other_drops.get_or_insert_default()[reason as usize] += count;
        }
    }

    /// Drops counted for one reason.
    #[inline]
    pub fn drops_of(&self, reason: DropReason) -> u64 {
        if reason == DropReason::Duplicate {
            self.duplicates
        } else {
            self.other_drops.as_ref().map_or(0, |d| d[reason as usize])
        }
    }

    /// Drops for every reason, indexed by [`DropReason`] as `usize`.
    pub fn drops(&self) -> [u64; DROP_REASONS] {
        let mut drops = self.other_drops.as_deref().copied().unwrap_or_default();
        drops[DropReason::Duplicate as usize] = self.duplicates;
        drops
    }

    /// Bytes the counters hold on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.other_drops
            .as_ref()
            .map_or(0, |_| size_of::<[u64; DROP_REASONS]>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_counts_apart_and_duplicates_stay_inline() {
        let mut stats = NodeStats::default();
        stats.drop(DropReason::Duplicate);
        stats.add_drops(DropReason::Duplicate, 2);
        assert_eq!(stats.heap_bytes(), 0, "duplicates need no table");
        for (i, reason) in DropReason::ALL.iter().enumerate() {
            stats.add_drops(*reason, i as u64 + 10);
        }
        let drops = stats.drops();
        for (i, reason) in DropReason::ALL.iter().enumerate() {
            let earlier = 3 * u64::from(*reason == DropReason::Duplicate);
            let expected = i as u64 + 10 + earlier;
            assert_eq!(stats.drops_of(*reason), expected, "{reason:?}");
            assert_eq!(drops[i], expected, "{reason:?}");
        }
    }

    #[test]
    fn zero_drops_allocate_nothing_and_compare_equal() {
        let mut stats = NodeStats::default();
        stats.add_drops(DropReason::Expired, 0);
        assert_eq!(stats, NodeStats::default());
        assert_eq!(stats.drops(), [0; DROP_REASONS]);
    }
}
