//! Ed25519 signatures over header and payload, the defence against forged
//! origins and corrupted bytes.
//!
//! A signed datagram sets [`Flags::SIGNED`] and carries a
//! [`SIGNATURE_LEN`]-byte signature after its payload. The signature covers
//! the 32-byte header with its hop count cleared — forwarders decrement it,
//! so it cannot be covered — and the payload. Everything else a forwarder
//! could change (origin, id, channel, priority, type, payload) is covered,
//! so a forged origin or a flipped byte fails verification.
//!
//! The node signs with its own [`SigningKey`] and verifies with a
//! [`KeyDirectory`] that maps an origin's id to its public key. How keys
//! are distributed is the host's business; simulations use [`SeededKeys`],
//! where agent `i`'s key derives from the run's seed.

use core::fmt;

use ed25519_dalek::Verifier;
pub use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::agent_id::AgentId;
use crate::header::{CompactHeader, Flags, HEADER_LEN, SIGNATURE_LEN};
use crate::rng::mix64;

/// Byte offset of `flags` in the header (the last two bytes), whose hop bits
/// are cleared before signing.
const FLAGS_OFFSET: usize = HEADER_LEN - 2;
/// The hop-count bits of `flags` (bits 8–13), in the big-endian high byte.
const HOPS_BITS_HIGH_BYTE: u8 = 0b0011_1111;

/// Looks up the public key of a message's origin.
pub trait KeyDirectory: fmt::Debug + Send + Sync {
    /// The key of `origin`, or `None` when the origin is unknown (its
    /// messages cannot be verified and are dropped).
    fn verifying_key(&self, origin: &AgentId) -> Option<&VerifyingKey>;

    /// Whether `signature` over `message` verifies with `key`. The answer
    /// is a pure function of its inputs, so a host may remember it (a
    /// simulator where thousands of agents check the very same bytes);
    /// the default runs Ed25519 every time.
    fn check(&self, key: &VerifyingKey, message: &[u8], signature: &Signature) -> bool {
        key.verify(message, signature).is_ok()
    }
}

/// Why a datagram's signature was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// The datagram is not signed.
    Unsigned,
    /// The origin has no known key.
    UnknownOrigin,
    /// The signature does not match the header and payload.
    Invalid,
}

/// The bytes a signature covers: the header with its hop count cleared,
/// then the payload.
fn signed_bytes(header_bytes: &[u8], payload: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&header_bytes[..HEADER_LEN]);
    out[FLAGS_OFFSET] &= !HOPS_BITS_HIGH_BYTE;
    out.extend_from_slice(payload);
}

/// Signs a datagram in place: `datagram` holds a header (with
/// [`Flags::SIGNED`] set) and its payload; the signature is appended.
pub fn sign(key: &SigningKey, datagram: &mut Vec<u8>) {
    let mut message = Vec::with_capacity(datagram.len());
    signed_bytes(datagram, &datagram[HEADER_LEN..], &mut message);
    let signature = key.sign(&message);
    datagram.extend_from_slice(&signature.to_bytes());
}

/// Signs a signed datagram again, in place, over its header and payload as
/// they are now: what an origin that holds its key does to put a second
/// message under an id it already used (equivocation), which no signature
/// check can tell from the first. `false` when `datagram` is not a signed
/// datagram.
pub fn sign_again(key: &SigningKey, datagram: &mut [u8]) -> bool {
    let Ok((header, payload)) = CompactHeader::parse(datagram) else {
        return false;
    };
    if !header.flags().contains(Flags::SIGNED) {
        return false;
    }
    let end = HEADER_LEN + payload.len();
    let mut message = Vec::with_capacity(end);
    signed_bytes(datagram, &datagram[HEADER_LEN..end], &mut message);
    let signature = key.sign(&message).to_bytes();
    datagram[end..end + SIGNATURE_LEN].copy_from_slice(&signature);
    true
}

/// Verifies a parsed datagram: `header` and `payload` as
/// [`CompactHeader::parse`] returned them from `datagram`.
pub fn verify(
    directory: &dyn KeyDirectory,
    header: &CompactHeader,
    payload: &[u8],
    datagram: &[u8],
) -> Result<(), SignatureError> {
    if !header.flags().contains(Flags::SIGNED) {
        return Err(SignatureError::Unsigned);
    }
    let signature = header
        .signature(datagram)
        .and_then(|s| <[u8; SIGNATURE_LEN]>::try_from(s).ok())
        .ok_or(SignatureError::Invalid)?;
    let key = directory
        .verifying_key(&header.from())
        .ok_or(SignatureError::UnknownOrigin)?;
    let mut message = Vec::with_capacity(HEADER_LEN + payload.len());
    signed_bytes(datagram, payload, &mut message);
    if directory.check(key, &message, &Signature::from_bytes(&signature)) {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

/// Keys for a simulation: agent `i` (with id [`AgentId::from_index`]) signs
/// with a key derived from the run's seed and `i`, and every agent knows
/// every public key.
#[derive(Clone)]
pub struct SeededKeys {
    public: Vec<VerifyingKey>,
}

impl fmt::Debug for SeededKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeededKeys({} agents)", self.public.len())
    }
}

/// Stream of the key derivation (distinct from every RNG stream).
const KEY_STREAM: u64 = 0x0065_6432_3535_3139;

impl SeededKeys {
    /// The signing key of agent `index` in a run seeded with `seed`.
    pub fn signing_key(seed: u64, index: u64) -> SigningKey {
        let mut secret = [0u8; 32];
        let mut state = mix64(seed ^ KEY_STREAM) ^ index;
        for chunk in secret.chunks_mut(8) {
            state = mix64(state.wrapping_add(index));
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        SigningKey::from_bytes(&secret)
    }

    /// The public keys of agents `0..agents` (one scalar multiplication
    /// each: about 20 µs per agent here).
    pub fn new(seed: u64, agents: u64) -> Self {
        let public = (0..agents)
            .map(|i| Self::signing_key(seed, i).verifying_key())
            .collect();
        SeededKeys { public }
    }
}

impl KeyDirectory for SeededKeys {
    fn verifying_key(&self, origin: &AgentId) -> Option<&VerifyingKey> {
        let index = usize::try_from(origin.index()?).ok()?;
        self.public.get(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::HeaderFields;
    use crate::msg_type::MsgType;
    use crate::priority::Priority;
    use zerocopy::FromBytes;

    fn signed_datagram(from: u64, key: &SigningKey) -> Vec<u8> {
        let payload = b"hello";
        let header = CompactHeader::new(HeaderFields {
            msg_type: MsgType::App,
            priority: Priority::Normal,
            seq: 7,
            from: AgentId::from_index(from),
            channel_hash: 42,
            timestamp_s: 1,
            payload_len: payload.len() as u16,
            flags: Flags::SIGNED,
            hops_remaining: 9,
        });
        let mut bytes = vec![0u8; HEADER_LEN + payload.len()];
        header.encode_with_payload(payload, &mut bytes).unwrap();
        sign(key, &mut bytes);
        bytes
    }

    fn check(keys: &SeededKeys, bytes: &[u8]) -> Result<(), SignatureError> {
        let (header, payload) = CompactHeader::parse(bytes).expect("well formed");
        verify(keys, header, payload, bytes)
    }

    #[test]
    fn a_signature_verifies_after_forwarding_and_fails_after_any_other_change() {
        let keys = SeededKeys::new(5, 4);
        let mut bytes = signed_datagram(2, &SeededKeys::signing_key(5, 2));
        assert_eq!(check(&keys, &bytes), Ok(()));
        // A forwarder decrements the hop count: still valid.
        let (header, _) = CompactHeader::mut_from_prefix(&mut bytes[..]).unwrap();
        header.set_hops_remaining(3);
        assert_eq!(check(&keys, &bytes), Ok(()));
        // Any other byte of header or payload, flipped: invalid.
        for i in (0..HEADER_LEN + 5).filter(|i| *i != FLAGS_OFFSET) {
            let mut tampered = bytes.clone();
            tampered[i] ^= 0x01;
            if CompactHeader::parse(&tampered).is_ok() {
                assert_ne!(check(&keys, &tampered), Ok(()), "byte {i} flipped");
            }
        }
    }

    #[test]
    fn a_forged_origin_fails_and_an_unknown_origin_is_named() {
        let keys = SeededKeys::new(5, 4);
        // Agent 3 signs a message that claims agent 1 as its origin.
        let forged = signed_datagram(1, &SeededKeys::signing_key(5, 3));
        assert_eq!(check(&keys, &forged), Err(SignatureError::Invalid));
        let unknown = signed_datagram(99, &SeededKeys::signing_key(5, 99));
        assert_eq!(check(&keys, &unknown), Err(SignatureError::UnknownOrigin));
    }
}
