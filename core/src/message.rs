//! Application messages as values: a header's fields plus a typed payload, and
//! their conversion to and from datagram bytes.
//!
//! The hot path never builds a [`Message`]: it reads the [`CompactHeader`] in
//! place. Applications, tests and the JSON bridge use this owned form.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::agent_id::AgentId;
use crate::header::{CompactHeader, EncodeError, Flags, HEADER_LEN, HeaderError, HeaderFields};
use crate::payload::{Payload, PayloadError};
use crate::priority::Priority;

/// Identifies a message: its origin, the origin's send second and sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageId {
    /// Origin agent.
    pub from: AgentId,
    /// Origin's send time, Unix seconds.
    pub timestamp_s: u32,
    /// Origin's sequence number.
    pub seq: u16,
}

impl MessageId {
    /// The id of the message a header describes.
    pub fn of(header: &CompactHeader) -> Self {
        MessageId {
            from: header.from(),
            timestamp_s: header.timestamp_s(),
            seq: header.seq(),
        }
    }

    /// Parses the text form `FROM/TIMESTAMP/SEQ` written by `Display`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('/');
        let from = AgentId::parse_uuid(parts.next()?)?;
        let timestamp_s = parts.next()?.parse().ok()?;
        let seq = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(MessageId {
            from,
            timestamp_s,
            seq,
        })
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.from, self.timestamp_s, self.seq)
    }
}

/// An application message with a decoded payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Its id.
    pub id: MessageId,
    /// Its priority.
    pub priority: Priority,
    /// FNV-1a 32 of its channel.
    pub channel_hash: u32,
    /// Hops it may still travel.
    pub hops_remaining: u8,
    /// Encrypted / compressed (the signature flag is set by the signer).
    pub flags: Flags,
    /// The payload; its type is the message type.
    pub payload: Payload,
}

/// Why a datagram is not a valid application message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The header broke a rule.
    Header(HeaderError),
    /// The payload could not be decoded.
    Payload(PayloadError),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Header(e) => write!(f, "bad header: {e}"),
            DecodeError::Payload(e) => write!(f, "bad payload: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a message could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageEncodeError {
    /// The payload could not be encoded.
    Payload(PayloadError),
    /// The datagram could not be written.
    Encode(EncodeError),
}

impl fmt::Display for MessageEncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageEncodeError::Payload(e) => write!(f, "{e}"),
            MessageEncodeError::Encode(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for MessageEncodeError {}

impl Message {
    /// The header describing this message (its `payload_len` is set by the encoder).
    pub fn header(&self) -> CompactHeader {
        CompactHeader::new(HeaderFields {
            msg_type: self.payload.msg_type(),
            priority: self.priority,
            seq: self.id.seq,
            from: self.id.from,
            channel_hash: self.channel_hash,
            timestamp_s: self.id.timestamp_s,
            payload_len: 0,
            flags: self.flags,
            hops_remaining: self.hops_remaining,
        })
    }

    /// Encodes the whole datagram, replacing the contents of `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), MessageEncodeError> {
        out.clear();
        out.resize(HEADER_LEN, 0);
        self.payload
            .encode(out)
            .map_err(MessageEncodeError::Payload)?;
        let payload = out.split_off(HEADER_LEN);
        out.resize(HEADER_LEN + payload.len(), 0);
        self.header()
            .encode_with_payload(&payload, out)
            .map_err(MessageEncodeError::Encode)?;
        Ok(())
    }

    /// Decodes a datagram; the signature, if any, is not checked here.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let (header, payload) = CompactHeader::parse(bytes).map_err(DecodeError::Header)?;
        let fields = header
            .fields()
            .expect("parse validated the type and priority");
        let payload = Payload::decode(fields.msg_type, payload).map_err(DecodeError::Payload)?;
        Ok(Message {
            id: MessageId::of(header),
            priority: fields.priority,
            channel_hash: fields.channel_hash,
            hops_remaining: fields.hops_remaining,
            flags: fields.flags,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::StandardChannel;
    use crate::payload::Suggestion;

    #[test]
    fn a_message_round_trips_through_bytes() {
        let message = Message {
            id: MessageId {
                from: AgentId::from_index(3),
                timestamp_s: 1_800_000_000,
                seq: 7,
            },
            priority: Priority::Normal,
            channel_hash: StandardChannel::Suggestions.hash(),
            hops_remaining: 12,
            flags: Flags::NONE,
            payload: Payload::Suggestion(Suggestion {
                suggestion: "cache the API response".into(),
                file: Some("src/api.rs".into()),
                line: Some(42),
            }),
        };
        let mut bytes = Vec::new();
        message.encode(&mut bytes).unwrap();
        assert_eq!(Message::decode(&bytes), Ok(message));
    }

    #[test]
    fn a_message_id_has_a_text_form() {
        let id = MessageId {
            from: AgentId::from_index(3),
            timestamp_s: 9,
            seq: 65535,
        };
        assert_eq!(MessageId::parse(&id.to_string()), Some(id));
        assert_eq!(MessageId::parse("x/1/2"), None);
        assert_eq!(MessageId::parse(&format!("{id}/extra")), None);
    }
}
