//! Message type codes: the first byte of every datagram.
//!
//! Code ranges (one byte; every code not listed is refused by header
//! validation as [`crate::header::HeaderError::UnknownType`]):
//!
//! | range       | owner                                                     |
//! |-------------|-----------------------------------------------------------|
//! | `0x01–0x0F` | application messages of the design (heartbeat … error), plus Colony's `LLM_USAGE` and opaque `APP` |
//! | `0x10–0x1F` | request/response                                          |
//! | `0x20–0x2F` | membership: views (HyParView-style) and failure detection (SWIM-style) |
//! | `0x30–0x3F` | gossip control: lazy push, tree repair, pull, feedback   |
//! | `0xFF`      | EXTENDED: a JSON message follows the header               |
//!
//! The design's codes (HEARTBEAT 0x01 … EXTENDED 0xFF) are kept as they are.

use serde::{Deserialize, Serialize};

macro_rules! msg_types {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $name:literal; )*) => {
        /// A message type. The discriminant is the wire code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[repr(u8)]
        pub enum MsgType {
            $( $(#[$doc])* $variant = $code, )*
        }

        impl MsgType {
            /// Every type, in code order.
            pub const ALL: &'static [MsgType] = &[$(MsgType::$variant),*];

            /// Whether a wire code is assigned: one table load, for the
            /// header validation on the hot path.
            #[inline]
            pub const fn is_known_code(code: u8) -> bool {
                const KNOWN: [bool; 256] = {
                    let mut table = [false; 256];
                    $( table[$code] = true; )*
                    table
                };
                KNOWN[code as usize]
            }

            /// The type of a wire code, `None` for a code no range assigns.
            pub const fn from_code(code: u8) -> Option<Self> {
                match code {
                    $( $code => Some(MsgType::$variant), )*
                    _ => None,
                }
            }

            /// The lower-case name used in JSON messages and reports.
            pub const fn name(self) -> &'static str {
                match self {
                    $( MsgType::$variant => $name, )*
                }
            }
        }
    };
}

msg_types! {
    /// Liveness beacon on `_presence`; no payload.
    Heartbeat = 0x01, "heartbeat";
    /// What an agent is working on, and how far along it is.
    Status = 0x02, "status";
    /// "You might want to look at X".
    Suggestion = 0x03, "suggestion";
    /// "I noticed issue Y in your output".
    BugReport = 0x04, "bug";
    /// An error broadcast.
    Error = 0x05, "error";
    /// LLM rate-limit and usage report on `_llm_usage`.
    LlmUsage = 0x06, "llm_usage";
    /// Opaque application bytes (workloads that only measure dissemination).
    App = 0x07, "app";
    /// A request; the matching [`MsgType::Response`] carries the same seq.
    Query = 0x10, "query";
    /// The answer to a [`MsgType::Query`].
    Response = 0x11, "response";
    /// Ask a contact to admit the sender to the overlay.
    Join = 0x20, "join";
    /// A join request travelling a random walk through the active views.
    ForwardJoin = 0x21, "forward_join";
    /// Ask a peer to become an active neighbour (payload says how urgently).
    Neighbor = 0x22, "neighbor";
    /// Accept or refuse a [`MsgType::Neighbor`] request.
    NeighborReply = 0x23, "neighbor_reply";
    /// Tell a neighbour it is dropped from the active view.
    Disconnect = 0x24, "disconnect";
    /// Periodic passive-view exchange (Cyclon/HyParView shuffle).
    Shuffle = 0x25, "shuffle";
    /// The answer to a [`MsgType::Shuffle`].
    ShuffleReply = 0x26, "shuffle_reply";
    /// SWIM direct probe.
    Ping = 0x27, "ping";
    /// SWIM probe answer (also carries piggy-backed membership updates).
    Ack = 0x28, "ack";
    /// SWIM indirect probe: "please ping X for me".
    PingReq = 0x29, "ping_req";
    /// Membership rumour: suspected, alive (refutation) or confirmed dead.
    MemberUpdate = 0x2A, "member_update";
    /// Graceful leave.
    Leave = 0x2B, "leave";
    /// Full-membership SWIM state sync: a chunk of the sender's member list.
    MemberSync = 0x2C, "member_sync";
    /// PlumTree lazy push: "I have these message ids".
    IHave = 0x30, "ihave";
    /// PlumTree repair: "send me this message".
    IWant = 0x31, "iwant";
    /// PlumTree: make this link eager again.
    Graft = 0x32, "graft";
    /// PlumTree: make this link lazy.
    Prune = 0x33, "prune";
    /// Pull / push-pull: "here are the ids I know, send me what I miss".
    PullRequest = 0x34, "pull_request";
    /// Rumor mongering with feedback: "I already knew that one".
    Feedback = 0x35, "feedback";
    /// A JSON message follows the header (the design's extended form).
    Extended = 0xFF, "extended";
}

impl MsgType {
    /// The wire code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// Application messages are what users broadcast and what gossip
    /// disseminates; the other ranges are protocol control.
    pub const fn is_application(self) -> bool {
        MsgType::is_application_code(self.code())
    }

    /// [`MsgType::is_application`] on a raw (validated) code.
    #[inline]
    pub const fn is_application_code(code: u8) -> bool {
        matches!(code, 0x01..=0x1F | 0xFF)
    }

    /// The application type with a compact payload named `name` (`status`,
    /// `bug`, `app` …): every application type but `extended`.
    pub fn compact_application_named(name: &str) -> Option<MsgType> {
        MsgType::ALL
            .iter()
            .copied()
            .find(|t| t.name() == name && t.is_application() && *t != MsgType::Extended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_design_codes_are_kept() {
        assert_eq!(MsgType::Heartbeat.code(), 0x01);
        assert_eq!(MsgType::Status.code(), 0x02);
        assert_eq!(MsgType::Suggestion.code(), 0x03);
        assert_eq!(MsgType::BugReport.code(), 0x04);
        assert_eq!(MsgType::Error.code(), 0x05);
        assert_eq!(MsgType::Query.code(), 0x10);
        assert_eq!(MsgType::Response.code(), 0x11);
        assert_eq!(MsgType::Extended.code(), 0xFF);
    }

    #[test]
    fn every_code_round_trips_and_the_rest_are_unknown() {
        let mut known = 0;
        for code in 0..=u8::MAX {
            assert_eq!(
                MsgType::is_known_code(code),
                MsgType::from_code(code).is_some()
            );
            if let Some(t) = MsgType::from_code(code) {
                assert_eq!(t.code(), code);
                known += 1;
            }
        }
        assert_eq!(known, MsgType::ALL.len());
        assert_eq!(MsgType::from_code(0x00), None);
        assert_eq!(MsgType::from_code(0x40), None);
    }
}
