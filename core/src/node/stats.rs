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
    /// Drops, indexed by [`DropReason`] as `usize`.
    pub drops: [u64; DROP_REASONS],
}

impl NodeStats {
    /// Counts a drop.
    #[inline]
    pub fn drop(&mut self, reason: DropReason) {
        self.drops[reason as usize] += 1;
    }

    /// Drops counted for one reason.
    pub fn drops_of(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }
}
