//! Agent identity: the 16-byte id that the compact header carries in `from`.
//!
//! On a real network an agent id is a random UUID. In simulation, agents are
//! numbered densely `0..n` (so the engine can keep them in one `Vec`), and
//! [`AgentId::from_index`] embeds that index in a fixed, recognisable UUID
//! shape so both worlds use the same 16 bytes on the wire.

use core::fmt;

use serde::{Deserialize, Serialize};

/// A 16-byte agent id (a UUID on real networks, a dense index in simulation).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct AgentId(pub [u8; 16]);

/// The first eight bytes of every simulation id: "colony\0\0". Chosen so that a
/// simulated id is visibly not a random UUID when it shows up in a trace.
const SIM_ID_PREFIX: [u8; 8] = *b"colony\0\0";

impl AgentId {
    /// The id of simulated agent `index`: the bytes `colony\0\0` then the index,
    /// big-endian.
    pub const fn from_index(index: u64) -> Self {
        let mut bytes = [0u8; 16];
        let mut i = 0;
        while i < 8 {
            bytes[i] = SIM_ID_PREFIX[i];
            i += 1;
        }
        let idx = index.to_be_bytes();
        let mut j = 0;
        while j < 8 {
            bytes[8 + j] = idx[j];
            j += 1;
        }
        AgentId(bytes)
    }

    /// The dense index of a simulated agent, or `None` for any other id.
    pub fn index(&self) -> Option<u64> {
        if self.0[..8] != SIM_ID_PREFIX {
            return None;
        }
        let mut idx = [0u8; 8];
        idx.copy_from_slice(&self.0[8..]);
        Some(u64::from_be_bytes(idx))
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parses the canonical hyphenated UUID text form (`8-4-4-4-12` hex digits).
    pub fn parse_uuid(text: &str) -> Option<Self> {
        let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
        let groups: Vec<usize> = text.split('-').map(str::len).collect();
        if hex.len() != 32 || groups != [8, 4, 4, 4, 12] {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            bytes[i] = (hi * 16 + lo) as u8;
        }
        Some(AgentId(bytes))
    }
}

impl fmt::Display for AgentId {
    /// The canonical hyphenated UUID form, lower-case.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index() {
            Some(index) => write!(f, "AgentId(#{index})"),
            None => write!(f, "AgentId({self})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simulated_id_gives_back_its_index() {
        for index in [0, 1, 999_999, u64::MAX] {
            assert_eq!(AgentId::from_index(index).index(), Some(index));
        }
        assert_eq!(AgentId([7; 16]).index(), None);
    }

    #[test]
    fn the_uuid_text_form_round_trips() {
        let id = AgentId::from_index(0x0102_0304);
        let text = id.to_string();
        assert_eq!(text, "636f6c6f-6e79-0000-0000-000001020304");
        assert_eq!(AgentId::parse_uuid(&text), Some(id));
        assert_eq!(AgentId::parse_uuid("not-a-uuid"), None);
        assert_eq!(
            AgentId::parse_uuid("636f6c6f6e79-0000-0000-0000-01020304"),
            None
        );
    }
}
