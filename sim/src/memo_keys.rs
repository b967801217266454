//! The simulation's key directory: [`SeededKeys`] plus a memo of signature
//! checks. Every honest agent checks the same signed bytes (the signature
//! covers the header with its hop count cleared, so every forwarded copy
//! is identical), so a run of n agents would pay n Ed25519 verifications
//! (about 40 µs each) per message; the memo pays one per distinct datagram.
//!
//! A check's answer is a pure function of (key, message, signature), and
//! the memo is keyed by all of them in full, so it cannot change a result:
//! only wall time. Nodes still count every check, and the CPU model still
//! charges each one its measured cycles.

use std::collections::HashMap;
use std::sync::Mutex;

use colony_core::AgentId;
use colony_core::signing::{KeyDirectory, SeededKeys, Signature, VerifyingKey};

/// Checks remembered before the memo starts over: distinct signed datagrams
/// are few (one per message and per forgery), so this is far above a
/// run's needs and bounds the memory at about 16 MiB.
const MEMO_ENTRIES_MAX: usize = 65_536;

/// [`SeededKeys`] that remembers its signature checks.
#[derive(Debug)]
pub struct MemoKeys {
    keys: SeededKeys,
    memo: Mutex<HashMap<Vec<u8>, bool>>,
}

impl MemoKeys {
    /// The seeded keys of a run of `agents` agents seeded with `seed`.
    pub fn new(seed: u64, agents: u64) -> Self {
        MemoKeys {
            keys: SeededKeys::new(seed, agents),
            memo: Mutex::new(HashMap::new()),
        }
    }
}

impl KeyDirectory for MemoKeys {
    fn verifying_key(&self, origin: &AgentId) -> Option<&VerifyingKey> {
        self.keys.verifying_key(origin)
    }

    fn check(&self, key: &VerifyingKey, message: &[u8], signature: &Signature) -> bool {
        let mut entry = Vec::with_capacity(32 + 64 + message.len());
        entry.extend_from_slice(key.as_bytes());
        entry.extend_from_slice(&signature.to_bytes());
        entry.extend_from_slice(message);
        // A poisoned lock only means another thread panicked mid-insert;
        // the map itself is still valid.
        if let Some(known) = self
            .memo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&entry)
        {
            return *known;
        }
        let valid = self.keys.check(key, message, signature);
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() >= MEMO_ENTRIES_MAX {
            memo.clear();
        }
        memo.insert(entry, valid);
        valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use colony_core::signing::Signer;

    #[test]
    fn the_memo_gives_the_answers_ed25519_gives() {
        let memo = MemoKeys::new(5, 4);
        let signer = SeededKeys::signing_key(5, 2);
        let key = *memo.verifying_key(&AgentId::from_index(2)).unwrap();
        let other = *memo.verifying_key(&AgentId::from_index(3)).unwrap();
        let signature = signer.sign(b"hello");
        for _ in 0..2 {
            // Twice: the second answers come from the memo.
            assert!(memo.check(&key, b"hello", &signature));
            assert!(!memo.check(&key, b"hellp", &signature));
            assert!(!memo.check(&other, b"hello", &signature));
        }
    }
}
