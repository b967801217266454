//! The 32-byte compact header that starts every Colony datagram, read in place.
//!
//! The design lists seven fields that add up to 30 bytes. Colony spends the two
//! spare bytes on a per-origin message sequence number (gossip needs an id that
//! is unique per origin; `timestamp` alone is not), and packs the protocol
//! version and the remaining-hop count into the unused bits of `flags`. All
//! multi-byte fields are big-endian (network byte order).
//!
//! | offset | size | field          | meaning                                                   |
//! |-------:|-----:|----------------|-----------------------------------------------------------|
//! |      0 |    1 | `msg_type`     | [`MsgType`] code                                          |
//! |      1 |    1 | `priority`     | [`Priority`] code (0 critical, 1 normal, 2 background)    |
//! |      2 |    2 | `seq`          | message sequence number of the origin (wraps)            |
//! |      4 |   16 | `from`         | [`AgentId`] of the origin (not of the forwarder)          |
//! |     20 |    4 | `channel_hash` | FNV-1a 32 of the channel name ([`crate::channel`])        |
//! |     24 |    4 | `timestamp`    | origin's send time, Unix seconds                          |
//! |     28 |    2 | `payload_len`  | payload bytes after the header (signature excluded)       |
//! |     30 |    2 | `flags`        | see below                                                 |
//!
//! `flags` (bit 0 = least significant):
//!
//! | bits   | meaning                                                                 |
//! |--------|-------------------------------------------------------------------------|
//! | 0      | [`Flags::ENCRYPTED`]: payload is encrypted                              |
//! | 1      | [`Flags::COMPRESSED`]: payload is compressed                            |
//! | 2      | [`Flags::SIGNED`]: a [`SIGNATURE_LEN`]-byte Ed25519 signature follows the payload |
//! | 3      | [`Flags::DIRECT`]: addressed to the receiver only, never forwarded      |
//! | 4–7    | reserved, must be zero                                                  |
//! | 8–13   | hops remaining (0..=[`HOPS_MAX`]); a forwarder decrements, 0 is not forwarded |
//! | 14–15  | protocol version, currently [`PROTOCOL_VERSION`]                        |
//!
//! `(from, timestamp, seq)` identifies a message: an origin may send 65,536
//! messages per second before an id repeats.
//!
//! [`CompactHeader::parse`] validates in a fixed order and names the first rule
//! that fails; it never panics and never copies.

use core::fmt;

use zerocopy::byteorder::network_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::agent_id::AgentId;
use crate::msg_type::MsgType;
use crate::priority::Priority;

/// Size of the compact header in bytes.
pub const HEADER_LEN: usize = 32;

/// The protocol version this core speaks. Two bits on the wire, so versions
/// 1..=3 are possible; 0 is never valid (an all-zero datagram is not a header).
pub const PROTOCOL_VERSION: u8 = 1;

/// Largest hop count. Six bits on the wire. Push gossip with fanout 1 needs
/// about log2(n) + ln(n) ≈ 34 rounds at n = 10^6 (Pittel 1987), so 63 leaves
/// room for the slowest chains at a million agents; a message whose count
/// reaches 0 is delivered but not forwarded.
pub const HOPS_MAX: u8 = 63;

/// Length of the Ed25519 signature that follows the payload when
/// [`Flags::SIGNED`] is set.
pub const SIGNATURE_LEN: usize = 64;

/// Largest payload a header can describe (the `payload_len` field is a `u16`).
pub const PAYLOAD_LEN_MAX: usize = u16::MAX as usize;

const FLAG_BITS_LOW: u16 = 0b0000_1111;
const FLAG_BITS_RESERVED: u16 = 0b1111_0000;
const HOPS_SHIFT: u32 = 8;
const HOPS_MASK: u16 = 0b0011_1111;
const VERSION_SHIFT: u32 = 14;
const VERSION_MASK: u16 = 0b11;

/// The low, boolean bits of `flags`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(u16);

impl Flags {
    /// No flag set.
    pub const NONE: Flags = Flags(0);
    /// The payload is encrypted.
    pub const ENCRYPTED: Flags = Flags(1 << 0);
    /// The payload is compressed.
    pub const COMPRESSED: Flags = Flags(1 << 1);
    /// A [`SIGNATURE_LEN`]-byte signature follows the payload.
    pub const SIGNED: Flags = Flags(1 << 2);
    /// Sent to one agent (direct send, request, response): delivered by the
    /// receiver whatever its subscriptions, and never forwarded.
    pub const DIRECT: Flags = Flags(1 << 3);

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of both sets.
    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// The raw bits (only bits 0–3 can be set).
    pub const fn bits(self) -> u16 {
        self.0
    }
}

/// The first rule a datagram breaks, in the order [`CompactHeader::parse`]
/// checks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than [`HEADER_LEN`] bytes.
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// The version bits hold a version this core does not speak.
    UnsupportedVersion {
        /// Version on the wire.
        version: u8,
    },
    /// A reserved bit of `flags` is set.
    ReservedBitsSet {
        /// The reserved bits that were set.
        bits: u16,
    },
    /// `msg_type` is not a known code.
    UnknownType {
        /// The code on the wire.
        code: u8,
    },
    /// `priority` is not 0, 1 or 2.
    InvalidPriority {
        /// The code on the wire.
        code: u8,
    },
    /// The bytes after the header are not `payload_len` (+ the signature when
    /// [`Flags::SIGNED`] is set).
    PayloadLengthMismatch {
        /// Bytes the header announces after itself.
        expected: usize,
        /// Bytes actually present after the header.
        actual: usize,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HeaderError::TooShort { len } => {
                write!(
                    f,
                    "datagram of {len} bytes is shorter than the {HEADER_LEN}-byte header"
                )
            }
            HeaderError::UnsupportedVersion { version } => write!(
                f,
                "protocol version {version} is not supported (this core speaks {PROTOCOL_VERSION})"
            ),
            HeaderError::ReservedBitsSet { bits } => {
                write!(f, "reserved flag bits {bits:#06x} are set")
            }
            HeaderError::UnknownType { code } => write!(f, "unknown message type {code:#04x}"),
            HeaderError::InvalidPriority { code } => write!(f, "invalid priority {code}"),
            HeaderError::PayloadLengthMismatch { expected, actual } => write!(
                f,
                "header announces {expected} bytes after it but {actual} are present"
            ),
        }
    }
}

impl std::error::Error for HeaderError {}

/// Why a header could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The caller's buffer cannot hold the datagram.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The payload is longer than [`PAYLOAD_LEN_MAX`].
    PayloadTooLong {
        /// Payload length given.
        len: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::BufferTooSmall { needed, available } => {
                write!(f, "buffer of {available} bytes cannot hold {needed}")
            }
            EncodeError::PayloadTooLong { len } => {
                write!(f, "payload of {len} bytes exceeds {PAYLOAD_LEN_MAX}")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// The compact header, exactly as it sits on the wire (see the module docs for
/// the layout). Obtain a validated reference with [`CompactHeader::parse`];
/// build one with [`CompactHeader::new`].
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct CompactHeader {
    msg_type: u8,
    priority: u8,
    seq: U16,
    from: [u8; 16],
    channel_hash: U32,
    timestamp: U32,
    payload_len: U16,
    flags: U16,
}

const _: () = assert!(core::mem::size_of::<CompactHeader>() == HEADER_LEN);
const _: () = assert!(core::mem::align_of::<CompactHeader>() == 1);
const _: () = assert!(HOPS_MAX as u16 == HOPS_MASK);
const _: () = assert!(FLAG_BITS_LOW & FLAG_BITS_RESERVED == 0);

/// The decoded fields of a header, for building one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderFields {
    /// Message type.
    pub msg_type: MsgType,
    /// Priority.
    pub priority: Priority,
    /// Origin's sequence number.
    pub seq: u16,
    /// Origin.
    pub from: AgentId,
    /// FNV-1a 32 of the channel name.
    pub channel_hash: u32,
    /// Origin's send time, Unix seconds.
    pub timestamp_s: u32,
    /// Payload length in bytes (signature excluded).
    pub payload_len: u16,
    /// Boolean flags.
    pub flags: Flags,
    /// Hops remaining; values above [`HOPS_MAX`] are clamped to it.
    pub hops_remaining: u8,
}

impl CompactHeader {
    /// Builds a header; always valid (reserved bits zero, current version).
    pub fn new(fields: HeaderFields) -> Self {
        let hops = u16::from(fields.hops_remaining.min(HOPS_MAX));
        let flags = (fields.flags.0 & FLAG_BITS_LOW)
            | (hops << HOPS_SHIFT)
            | (u16::from(PROTOCOL_VERSION) << VERSION_SHIFT);
        CompactHeader {
            msg_type: fields.msg_type.code(),
            priority: fields.priority.code(),
            seq: U16::new(fields.seq),
            from: fields.from.0,
            channel_hash: U32::new(fields.channel_hash),
            timestamp: U32::new(fields.timestamp_s),
            payload_len: U16::new(fields.payload_len),
            flags: U16::new(flags),
        }
    }

    /// Validates `bytes` as one datagram and returns the header and the payload
    /// (the signature, if any, is neither; see [`CompactHeader::signature`]),
    /// without copying. Rules, checked in this order: length, version, reserved
    /// bits, type, priority, payload length.
    #[inline]
    pub fn parse(bytes: &[u8]) -> Result<(&CompactHeader, &[u8]), HeaderError> {
        let Ok((header, rest)) = CompactHeader::ref_from_prefix(bytes) else {
            return Err(HeaderError::TooShort { len: bytes.len() });
        };
        header.validate(rest.len())?;
        Ok((header, &rest[..usize::from(header.payload_len.get())]))
    }

    /// Checks every rule but the length, given the number of bytes that follow
    /// the header.
    #[inline]
    pub fn validate(&self, bytes_after_header: usize) -> Result<(), HeaderError> {
        let flags = self.flags.get();
        let version = ((flags >> VERSION_SHIFT) & VERSION_MASK) as u8;
        if version != PROTOCOL_VERSION {
            return Err(HeaderError::UnsupportedVersion { version });
        }
        if flags & FLAG_BITS_RESERVED != 0 {
            return Err(HeaderError::ReservedBitsSet {
                bits: flags & FLAG_BITS_RESERVED,
            });
        }
        if !MsgType::is_known_code(self.msg_type) {
            return Err(HeaderError::UnknownType {
                code: self.msg_type,
            });
        }
        if self.priority > Priority::Background.code() {
            return Err(HeaderError::InvalidPriority {
                code: self.priority,
            });
        }
        let expected = self.trailing_len();
        if bytes_after_header != expected {
            return Err(HeaderError::PayloadLengthMismatch {
                expected,
                actual: bytes_after_header,
            });
        }
        Ok(())
    }

    /// The signature of a signed datagram that [`CompactHeader::parse`]
    /// accepted, or `None` when [`Flags::SIGNED`] is not set.
    pub fn signature<'a>(&self, datagram: &'a [u8]) -> Option<&'a [u8]> {
        if !self.flags().contains(Flags::SIGNED) {
            return None;
        }
        let start = HEADER_LEN + usize::from(self.payload_len.get());
        datagram.get(start..start + SIGNATURE_LEN)
    }

    /// Bytes this header announces after itself: payload plus signature.
    pub fn trailing_len(&self) -> usize {
        let signature = if self.flags().contains(Flags::SIGNED) {
            SIGNATURE_LEN
        } else {
            0
        };
        usize::from(self.payload_len.get()) + signature
    }

    /// Writes the header then `payload` into `buf`; returns the bytes written.
    /// `payload_len` is taken from `payload`, whatever the header said.
    pub fn encode_with_payload(
        &self,
        payload: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let payload_len = u16::try_from(payload.len())
            .map_err(|_| EncodeError::PayloadTooLong { len: payload.len() })?;
        let needed = HEADER_LEN + payload.len();
        let Some(out) = buf.get_mut(..needed) else {
            return Err(EncodeError::BufferTooSmall {
                needed,
                available: buf.len(),
            });
        };
        let mut header = *self;
        header.payload_len = U16::new(payload_len);
        out[..HEADER_LEN].copy_from_slice(header.as_bytes());
        out[HEADER_LEN..].copy_from_slice(payload);
        Ok(needed)
    }

    /// Raw type code; a known [`MsgType`] on any header that passed validation.
    pub fn msg_type_code(&self) -> u8 {
        self.msg_type
    }

    /// The message type (`None` only on an unvalidated header).
    pub fn msg_type(&self) -> Option<MsgType> {
        MsgType::from_code(self.msg_type)
    }

    /// The priority (`None` only on an unvalidated header).
    pub fn priority(&self) -> Option<Priority> {
        Priority::from_code(self.priority)
    }

    /// The origin's sequence number.
    pub fn seq(&self) -> u16 {
        self.seq.get()
    }

    /// The origin.
    pub fn from(&self) -> AgentId {
        AgentId(self.from)
    }

    /// FNV-1a 32 of the channel name.
    pub fn channel_hash(&self) -> u32 {
        self.channel_hash.get()
    }

    /// The origin's send time, Unix seconds.
    pub fn timestamp_s(&self) -> u32 {
        self.timestamp.get()
    }

    /// Payload bytes after the header (signature excluded).
    pub fn payload_len(&self) -> u16 {
        self.payload_len.get()
    }

    /// The boolean flags.
    pub fn flags(&self) -> Flags {
        Flags(self.flags.get() & FLAG_BITS_LOW)
    }

    /// The protocol version bits.
    pub fn version(&self) -> u8 {
        ((self.flags.get() >> VERSION_SHIFT) & VERSION_MASK) as u8
    }

    /// Hops this message may still travel.
    pub fn hops_remaining(&self) -> u8 {
        ((self.flags.get() >> HOPS_SHIFT) & HOPS_MASK) as u8
    }

    /// Sets the hop count (clamped to [`HOPS_MAX`]), leaving every other bit.
    pub fn set_hops_remaining(&mut self, hops: u8) {
        let flags = self.flags.get() & !(HOPS_MASK << HOPS_SHIFT);
        self.flags = U16::new(flags | (u16::from(hops.min(HOPS_MAX)) << HOPS_SHIFT));
    }

    /// Sets the origin's send time (Unix seconds): for fixtures that reuse
    /// a datagram as a new message (with signatures the signature no longer
    /// verifies).
    pub fn set_timestamp_s(&mut self, timestamp_s: u32) {
        self.timestamp = U32::new(timestamp_s);
    }

    /// Sets `payload_len` (for encoders that write the payload in place
    /// after the header).
    pub fn set_payload_len(&mut self, payload_len: u16) {
        self.payload_len = U16::new(payload_len);
    }

    /// The decoded fields (`None` only on an unvalidated header).
    pub fn fields(&self) -> Option<HeaderFields> {
        Some(HeaderFields {
            msg_type: self.msg_type()?,
            priority: self.priority()?,
            seq: self.seq(),
            from: self.from(),
            channel_hash: self.channel_hash(),
            timestamp_s: self.timestamp_s(),
            payload_len: self.payload_len(),
            flags: self.flags(),
            hops_remaining: self.hops_remaining(),
        })
    }
}

impl fmt::Debug for CompactHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactHeader")
            .field("msg_type", &self.msg_type())
            .field("priority", &self.priority())
            .field("seq", &self.seq())
            .field("from", &self.from())
            .field(
                "channel_hash",
                &format_args!("{:#010x}", self.channel_hash()),
            )
            .field("timestamp_s", &self.timestamp_s())
            .field("payload_len", &self.payload_len())
            .field("flags", &self.flags())
            .field("version", &self.version())
            .field("hops_remaining", &self.hops_remaining())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    fn sample() -> HeaderFields {
        HeaderFields {
            msg_type: MsgType::Status,
            priority: Priority::Background,
            seq: 0xBEEF,
            from: AgentId::from_index(42),
            channel_hash: 0xDEAD_BEEF,
            timestamp_s: 1_700_000_000,
            payload_len: 3,
            flags: Flags::COMPRESSED,
            hops_remaining: 20,
        }
    }

    fn datagram(fields: HeaderFields, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; HEADER_LEN + payload.len()];
        let n = CompactHeader::new(fields)
            .encode_with_payload(payload, &mut buf)
            .unwrap();
        assert_eq!(n, buf.len());
        buf
    }

    #[test]
    fn the_layout_table_matches_the_struct() {
        assert_eq!(offset_of!(CompactHeader, msg_type), 0);
        assert_eq!(offset_of!(CompactHeader, priority), 1);
        assert_eq!(offset_of!(CompactHeader, seq), 2);
        assert_eq!(offset_of!(CompactHeader, from), 4);
        assert_eq!(offset_of!(CompactHeader, channel_hash), 20);
        assert_eq!(offset_of!(CompactHeader, timestamp), 24);
        assert_eq!(offset_of!(CompactHeader, payload_len), 28);
        assert_eq!(offset_of!(CompactHeader, flags), 30);
    }

    #[test]
    fn fields_sit_at_their_offsets_in_network_byte_order() {
        let bytes = datagram(sample(), b"abc");
        assert_eq!(bytes[0], 0x02);
        assert_eq!(bytes[1], 2);
        assert_eq!(bytes[2..4], [0xBE, 0xEF]);
        assert_eq!(bytes[4..20], *AgentId::from_index(42).as_bytes());
        assert_eq!(bytes[20..24], [0xDE, 0xAD, 0xBE, 0xEF]);
        assert_eq!(bytes[24..28], 1_700_000_000u32.to_be_bytes());
        assert_eq!(bytes[28..30], [0, 3]);
        // version 1 in bits 14-15, hops 20 in bits 8-13, compressed = bit 1.
        assert_eq!(
            u16::from_be_bytes([bytes[30], bytes[31]]),
            (1 << 14) | (20 << 8) | 0b10
        );
        assert_eq!(&bytes[32..], b"abc");
    }

    #[test]
    fn a_valid_datagram_parses_to_its_fields_and_payload() {
        let bytes = datagram(sample(), b"abc");
        let (header, payload) = CompactHeader::parse(&bytes).unwrap();
        assert_eq!(header.fields(), Some(sample()));
        assert_eq!(payload, b"abc");
        assert_eq!(header.signature(&bytes), None);
    }

    #[test]
    fn a_signed_datagram_carries_its_signature_after_the_payload() {
        let fields = HeaderFields {
            flags: Flags::SIGNED,
            ..sample()
        };
        let mut bytes = datagram(fields, b"abc");
        bytes.extend_from_slice(&[9u8; SIGNATURE_LEN]);
        let (header, payload) = CompactHeader::parse(&bytes).unwrap();
        assert_eq!(payload, b"abc");
        assert_eq!(header.signature(&bytes), Some(&[9u8; SIGNATURE_LEN][..]));
        bytes.pop();
        assert_eq!(
            CompactHeader::parse(&bytes).unwrap_err(),
            HeaderError::PayloadLengthMismatch {
                expected: 3 + SIGNATURE_LEN,
                actual: 66
            }
        );
    }

    #[test]
    fn each_rule_is_reported_first_when_it_is_the_first_broken() {
        let good = datagram(sample(), b"abc");
        assert_eq!(
            CompactHeader::parse(&good[..31]),
            Err(HeaderError::TooShort { len: 31 })
        );

        let mut bad = good.clone();
        bad[30] &= 0b0011_1111; // version 0
        bad[0] = 0x00; // also an unknown type: version must win
        assert_eq!(
            CompactHeader::parse(&bad),
            Err(HeaderError::UnsupportedVersion { version: 0 })
        );

        let mut bad = good.clone();
        bad[31] |= 0b1_0000;
        bad[0] = 0x00;
        assert_eq!(
            CompactHeader::parse(&bad),
            Err(HeaderError::ReservedBitsSet { bits: 0b1_0000 })
        );

        let mut bad = good.clone();
        bad[0] = 0x00;
        bad[1] = 9;
        assert_eq!(
            CompactHeader::parse(&bad),
            Err(HeaderError::UnknownType { code: 0 })
        );

        let mut bad = good.clone();
        bad[1] = 3;
        bad.push(0);
        assert_eq!(
            CompactHeader::parse(&bad),
            Err(HeaderError::InvalidPriority { code: 3 })
        );

        let mut bad = good;
        bad.push(0);
        assert_eq!(
            CompactHeader::parse(&bad),
            Err(HeaderError::PayloadLengthMismatch {
                expected: 3,
                actual: 4
            })
        );
    }

    #[test]
    fn hop_counts_are_clamped_and_can_be_rewritten_in_place() {
        let mut header = CompactHeader::new(HeaderFields {
            hops_remaining: 200,
            ..sample()
        });
        assert_eq!(header.hops_remaining(), HOPS_MAX);
        header.set_hops_remaining(5);
        assert_eq!(header.hops_remaining(), 5);
        assert_eq!(header.version(), PROTOCOL_VERSION);
        assert_eq!(header.flags(), Flags::COMPRESSED);
    }

    #[test]
    fn encoding_refuses_a_small_buffer_without_writing() {
        let mut buf = [0u8; 34];
        let err = CompactHeader::new(sample()).encode_with_payload(b"abc", &mut buf);
        assert_eq!(
            err,
            Err(EncodeError::BufferTooSmall {
                needed: 35,
                available: 34
            })
        );
        assert_eq!(buf, [0u8; 34]);
    }
}
