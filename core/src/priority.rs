//! Message priorities and agents' attention modes.
//!
//! Priority decides what an agent sees at once, what waits in its queue and
//! what only shows up in the periodic digest; the attention mode is the agent's
//! own choice of how much to be interrupted (ARCHITECTURE.md, "Priorities,
//! attention, flooding prevention").

use serde::{Deserialize, Serialize};

/// How urgent a message is. The wire code is the discriminant; a lower code is
/// more urgent, so sorting by code drains the most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Priority {
    /// Conflicts and errors: always delivered immediately, in every mode.
    Critical = 0,
    /// Regular coordination: queued in Focused mode, digested in Minimal.
    Normal = 1,
    /// For your information: digested unless the agent is in Realtime mode.
    Background = 2,
}

impl Priority {
    /// All priorities, most urgent first.
    pub const ALL: [Priority; 3] = [Priority::Critical, Priority::Normal, Priority::Background];

    /// The wire code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The priority of a wire code, `None` for an unknown code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Priority::Critical),
            1 => Some(Priority::Normal),
            2 => Some(Priority::Background),
            _ => None,
        }
    }

    /// The lower-case name used in JSON and scenario files.
    pub const fn name(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::Normal => "normal",
            Priority::Background => "background",
        }
    }

    /// The priority of a [`Priority::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        [Priority::Critical, Priority::Normal, Priority::Background]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

/// How much an agent wants to be interrupted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttentionMode {
    /// Everything is delivered immediately (noisy).
    Realtime,
    /// Critical immediately, Normal queued, Background into the digest.
    #[default]
    Focused,
    /// Critical immediately, everything else into the digest.
    Minimal,
}

/// Where a received message goes under an attention mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Delivered to the application at once.
    Immediate,
    /// Held in the bounded inbox until the application asks for it.
    Queued,
    /// Counted and sampled into the next periodic digest.
    Digest,
}

impl AttentionMode {
    /// The routing rule of the design's "message flow" diagram.
    pub const fn disposition(self, priority: Priority) -> Disposition {
        match (self, priority) {
            (_, Priority::Critical) | (AttentionMode::Realtime, _) => Disposition::Immediate,
            (AttentionMode::Focused, Priority::Normal) => Disposition::Queued,
            (AttentionMode::Focused, Priority::Background) | (AttentionMode::Minimal, _) => {
                Disposition::Digest
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_is_immediate_in_every_mode() {
        for mode in [
            AttentionMode::Realtime,
            AttentionMode::Focused,
            AttentionMode::Minimal,
        ] {
            assert_eq!(mode.disposition(Priority::Critical), Disposition::Immediate);
        }
    }

    #[test]
    fn focused_queues_normal_and_digests_background() {
        assert_eq!(
            AttentionMode::Focused.disposition(Priority::Normal),
            Disposition::Queued
        );
        assert_eq!(
            AttentionMode::Focused.disposition(Priority::Background),
            Disposition::Digest
        );
        assert_eq!(
            AttentionMode::Minimal.disposition(Priority::Normal),
            Disposition::Digest
        );
        assert_eq!(
            AttentionMode::Realtime.disposition(Priority::Background),
            Disposition::Immediate
        );
    }

    #[test]
    fn priority_codes_round_trip_and_unknown_codes_are_refused() {
        for p in Priority::ALL {
            assert_eq!(Priority::from_code(p.code()), Some(p));
        }
        assert_eq!(Priority::from_code(3), None);
    }
}
