//! The design's extended JSON message, and its conversion to and from the
//! compact form where the compact form can express it.
//!
//! ```json
//! {"id": "…", "from": "…", "to": "broadcast | group:CHANNEL | AGENT",
//!  "type": "status", "topic": null, "payload": {…}, "priority": "normal",
//!  "timestamp": "2026-11-29T17:31:26Z", "ttl": 60, "reply_to": null}
//! ```
//!
//! The compact form has no topic, carries the message TTL only as the protocol
//! default, and identifies messages by `FROM/TIMESTAMP/SEQ`; an extended message
//! that needs more than that stays extended (sent with type `EXTENDED`), and
//! [`ExtendedMessage::to_message`] says which field prevents the conversion.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::agent_id::AgentId;
use crate::channel::{Channel, StandardChannel};
use crate::header::Flags;
use crate::message::{Message, MessageId};
use crate::msg_type::MsgType;
use crate::payload::Payload;
use crate::priority::Priority;

/// Message TTL the compact form implies, seconds (the design's
/// `DEFAULT_TTL_SECONDS`).
pub const MESSAGE_TTL_S_DEFAULT: u32 = 60;

/// Who an extended message is for. In JSON: `broadcast`, `group:CHANNEL` or
/// an agent UUID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Destination {
    /// Everyone, on the type's standard channel.
    Broadcast,
    /// Subscribers of a channel.
    Group(Channel),
    /// One agent.
    Agent(AgentId),
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Broadcast => f.write_str("broadcast"),
            Destination::Group(channel) => write!(f, "group:{channel}"),
            Destination::Agent(id) => write!(f, "{id}"),
        }
    }
}

impl TryFrom<String> for Destination {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if text == "broadcast" {
            return Ok(Destination::Broadcast);
        }
        if let Some(channel) = text.strip_prefix("group:") {
            return Channel::parse(channel)
                .map(Destination::Group)
                .map_err(|e| e.to_string());
        }
        AgentId::parse_uuid(&text)
            .map(Destination::Agent)
            .ok_or_else(|| {
                format!("`to` must be broadcast, group:CHANNEL or an agent UUID, not {text:?}")
            })
    }
}

impl From<Destination> for String {
    fn from(destination: Destination) -> String {
        destination.to_string()
    }
}

/// The extended JSON message of the design.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendedMessage {
    /// Message id (Colony writes `FROM/TIMESTAMP/SEQ`).
    pub id: String,
    /// Origin agent UUID.
    pub from: String,
    /// Destination.
    pub to: Destination,
    /// Type name (`status`, `suggestion`, `bug`, `query`, `response` …).
    #[serde(rename = "type")]
    pub kind: String,
    /// User-defined topic.
    #[serde(default)]
    pub topic: Option<String>,
    /// Type-specific JSON payload.
    pub payload: serde_json::Value,
    /// Priority.
    pub priority: Priority,
    /// ISO-8601 UTC, whole seconds (`2026-11-29T17:31:26Z`).
    pub timestamp: String,
    /// Seconds the message stays relevant.
    pub ttl: u32,
    /// Id of the message this answers.
    #[serde(default)]
    pub reply_to: Option<String>,
}

/// Why a conversion between the forms is not possible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConvertError {
    /// The compact form cannot express this field's value.
    NotExpressible {
        /// The field.
        field: &'static str,
        /// Why.
        why: String,
    },
    /// The channel given does not hash to the message's channel.
    ChannelMismatch,
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvertError::NotExpressible { field, why } => {
                write!(
                    f,
                    "`{field}` cannot be expressed in the compact form: {why}"
                )
            }
            ConvertError::ChannelMismatch => {
                write!(
                    f,
                    "the channel given does not hash to the message's channel"
                )
            }
        }
    }
}

impl std::error::Error for ConvertError {}

fn not_expressible(field: &'static str, why: impl Into<String>) -> ConvertError {
    ConvertError::NotExpressible {
        field,
        why: why.into(),
    }
}

/// The standard channel a type is broadcast on when `to` names none.
fn home_channel(msg_type: MsgType) -> StandardChannel {
    match msg_type {
        MsgType::Status => StandardChannel::Status,
        MsgType::Suggestion => StandardChannel::Suggestions,
        MsgType::BugReport => StandardChannel::Bugs,
        MsgType::Error => StandardChannel::Errors,
        MsgType::LlmUsage => StandardChannel::LlmUsage,
        _ => StandardChannel::Presence,
    }
}

impl ExtendedMessage {
    /// The channel it travels on: the group it names, or else its type's
    /// standard channel (`_presence` for a type the compact form lacks).
    pub fn channel(&self) -> Channel {
        match &self.to {
            Destination::Group(channel) => channel.clone(),
            Destination::Broadcast | Destination::Agent(_) => {
                let msg_type =
                    MsgType::compact_application_named(&self.kind).unwrap_or(MsgType::Extended);
                Channel::Standard(home_channel(msg_type))
            }
        }
    }

    /// The extended form of a compact message sent on `channel` to `to`.
    pub fn from_message(
        message: &Message,
        channel: &Channel,
        to: Destination,
    ) -> Result<Self, ConvertError> {
        if channel.hash() != message.channel_hash {
            return Err(ConvertError::ChannelMismatch);
        }
        let payload = match &message.payload {
            Payload::Extended(_) => {
                return Err(not_expressible("payload", "already an extended message"));
            }
            typed => typed
                .to_json()
                .map_err(|e| not_expressible("payload", e.to_string()))?,
        };
        let reply_to = match &message.payload {
            Payload::Response(r) => Some(r.reply_to_seq.to_string()),
            _ => None,
        };
        Ok(ExtendedMessage {
            id: message.id.to_string(),
            from: message.id.from.to_string(),
            to,
            kind: message.payload.msg_type().name().to_owned(),
            topic: None,
            payload,
            priority: message.priority,
            timestamp: format_iso8601(message.id.timestamp_s),
            ttl: MESSAGE_TTL_S_DEFAULT,
            reply_to,
        })
    }

    /// The compact message this extended one describes, with `hops_remaining`
    /// hops, or the first field that prevents it.
    pub fn to_message(&self, hops_remaining: u8) -> Result<Message, ConvertError> {
        let id = MessageId::parse(&self.id)
            .ok_or_else(|| not_expressible("id", "compact ids are FROM/TIMESTAMP/SEQ"))?;
        if AgentId::parse_uuid(&self.from) != Some(id.from) {
            return Err(not_expressible("from", "must be the origin named in `id`"));
        }
        let msg_type = MsgType::compact_application_named(&self.kind)
            .ok_or_else(|| not_expressible("type", format!("no compact type {:?}", self.kind)))?;
        if self.topic.is_some() {
            return Err(not_expressible("topic", "the compact header has no topic"));
        }
        if parse_iso8601(&self.timestamp) != Some(id.timestamp_s) {
            return Err(not_expressible(
                "timestamp",
                "must be the second named in `id`",
            ));
        }
        if self.ttl != MESSAGE_TTL_S_DEFAULT {
            return Err(not_expressible(
                "ttl",
                format!("only {MESSAGE_TTL_S_DEFAULT} s"),
            ));
        }
        let payload = Payload::from_json(msg_type, self.payload.clone())
            .map_err(|e| not_expressible("payload", e.to_string()))?;
        let expected_reply_to = match &payload {
            Payload::Response(r) => Some(r.reply_to_seq.to_string()),
            _ => None,
        };
        if self.reply_to.is_some() && self.reply_to != expected_reply_to {
            return Err(not_expressible(
                "reply_to",
                "must be the query's seq, on responses only",
            ));
        }
        let channel_hash = match &self.to {
            Destination::Group(channel) => channel.hash(),
            Destination::Broadcast | Destination::Agent(_) => home_channel(msg_type).hash(),
        };
        Ok(Message {
            id,
            priority: self.priority,
            channel_hash,
            hops_remaining,
            flags: Flags::NONE,
            payload,
        })
    }
}

const SECONDS_PER_DAY: u32 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2026-11-29T17:31:26Z` for a Unix second.
pub fn format_iso8601(unix_s: u32) -> String {
    let (year, month, day) = civil_from_days(i64::from(unix_s / SECONDS_PER_DAY));
    let rem = unix_s % SECONDS_PER_DAY;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The Unix second of `YYYY-MM-DDTHH:MM:SSZ`, or `None` when the text is not
/// that form or is outside what a `u32` second can hold.
pub fn parse_iso8601(text: &str) -> Option<u32> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let num = |range: core::ops::Range<usize>| -> Option<u32> {
        let s = text.get(range)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    if day == 0 || civil_from_days(days) != (i64::from(year), month, day) {
        return None; // e.g. February 30th
    }
    let seconds = days * i64::from(SECONDS_PER_DAY) + i64::from(hour * 3600 + minute * 60 + second);
    u32::try_from(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Query, Response, Status};

    fn status_message() -> Message {
        Message {
            id: MessageId {
                from: AgentId::from_index(1),
                timestamp_s: 1_764_437_486,
                seq: 4,
            },
            priority: Priority::Background,
            channel_hash: StandardChannel::Status.hash(),
            hops_remaining: 10,
            flags: Flags::NONE,
            payload: Payload::Status(Status {
                working_on: "dashflow.network".into(),
                progress: 0.5,
            }),
        }
    }

    #[test]
    fn iso8601_matches_known_instants_and_refuses_impossible_dates() {
        assert_eq!(format_iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_iso8601(u32::MAX), "2106-02-07T06:28:15Z");
        assert_eq!(parse_iso8601("2106-02-07T06:28:15Z"), Some(u32::MAX));
        assert_eq!(parse_iso8601("2106-02-07T06:28:16Z"), None);
        assert_eq!(parse_iso8601("2025-02-29T00:00:00Z"), None);
        assert_eq!(parse_iso8601("2025-02-28 00:00:00Z"), None);
        assert_eq!(parse_iso8601("+025-02-28T00:00:00Z"), None);
    }

    #[test]
    fn a_compact_status_converts_to_json_and_back() {
        let message = status_message();
        let channel = Channel::Standard(StandardChannel::Status);
        let extended =
            ExtendedMessage::from_message(&message, &channel, Destination::Broadcast).unwrap();
        let text = serde_json::to_string(&extended).unwrap();
        assert!(text.contains(r#""to":"broadcast""#), "{text}");
        assert!(text.contains(r#""type":"status""#), "{text}");
        let back: ExtendedMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(back.to_message(10), Ok(message));
    }

    #[test]
    fn a_topic_or_a_custom_ttl_keeps_a_message_extended() {
        let channel = Channel::Standard(StandardChannel::Status);
        let mut extended =
            ExtendedMessage::from_message(&status_message(), &channel, Destination::Broadcast)
                .unwrap();
        extended.topic = Some("release".into());
        assert!(matches!(
            extended.to_message(1),
            Err(ConvertError::NotExpressible { field: "topic", .. })
        ));
        extended.topic = None;
        extended.ttl = 5;
        assert!(matches!(
            extended.to_message(1),
            Err(ConvertError::NotExpressible { field: "ttl", .. })
        ));
    }

    #[test]
    fn a_response_carries_reply_to_and_a_group_destination_sets_the_channel() {
        let message = Message {
            payload: Payload::Response(Response {
                reply_to_seq: 9,
                answer: "3 failing".into(),
            }),
            channel_hash: Channel::parse("custom:qa").unwrap().hash(),
            ..status_message()
        };
        let channel = Channel::parse("custom:qa").unwrap();
        let extended =
            ExtendedMessage::from_message(&message, &channel, Destination::Group(channel.clone()))
                .unwrap();
        assert_eq!(extended.reply_to.as_deref(), Some("9"));
        assert_eq!(String::from(extended.to.clone()), "group:custom:qa");
        assert_eq!(extended.to_message(10), Ok(message));
    }

    #[test]
    fn malformed_json_messages_are_refused_with_a_reason() {
        let bad_to = r#"{"id":"x","from":"y","to":"nowhere","type":"query","payload":{},
            "priority":"normal","timestamp":"2026-01-01T00:00:00Z","ttl":60}"#;
        let err = serde_json::from_str::<ExtendedMessage>(bad_to)
            .unwrap_err()
            .to_string();
        assert!(err.contains("broadcast, group:CHANNEL"), "{err}");
        let unknown = r#"{"id":"x","from":"y","to":"broadcast","type":"query","payload":{},
            "priority":"normal","timestamp":"2026-01-01T00:00:00Z","ttl":60,"extra":1}"#;
        assert!(serde_json::from_str::<ExtendedMessage>(unknown).is_err());
        let query = Payload::Query(Query {
            question: "q".into(),
        });
        assert_eq!(query.msg_type().name(), "query");
    }

    #[test]
    fn every_typed_payload_round_trips_through_json_and_wrong_json_names_its_type() {
        let payloads = [
            Payload::Heartbeat,
            status_message().payload,
            Payload::App(vec![1, 2, 255]),
            Payload::Query(Query {
                question: "q".into(),
            }),
        ];
        for payload in payloads {
            let json = payload.to_json().expect("a typed payload");
            assert_eq!(Payload::from_json(payload.msg_type(), json), Ok(payload));
        }
        let wrong = Payload::from_json(MsgType::Status, serde_json::json!({"progress": "x"}));
        assert!(
            wrong
                .unwrap_err()
                .to_string()
                .starts_with("status payload in JSON"),
            "the error names the type"
        );
        assert!(Payload::from_json(MsgType::Heartbeat, serde_json::json!(1)).is_err());
        assert!(Payload::Extended("{}".into()).to_json().is_err());
    }

    #[test]
    fn an_extended_message_travels_on_its_group_or_its_types_channel() {
        let text = |to: &str, kind: &str| {
            format!(
                r#"{{"id":"x","from":"y","to":"{to}","type":"{kind}","payload":null,
                "priority":"normal","timestamp":"2026-01-01T00:00:00Z","ttl":60}}"#
            )
        };
        let channel = |to: &str, kind: &str| {
            serde_json::from_str::<ExtendedMessage>(&text(to, kind))
                .unwrap()
                .channel()
        };
        assert_eq!(
            channel("group:custom:ops", "plan"),
            Channel::parse("custom:ops").unwrap()
        );
        assert_eq!(
            channel("broadcast", "bug"),
            Channel::Standard(StandardChannel::Bugs)
        );
        assert_eq!(
            channel("broadcast", "plan"),
            Channel::Standard(StandardChannel::Presence)
        );
    }
}
