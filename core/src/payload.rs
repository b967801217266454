//! Typed payloads of the standard application messages, in MessagePack.
//!
//! The compact form is MessagePack with structs as arrays (field order is the
//! wire order, so adding a field is a protocol change). Decoding takes any
//! bytes and returns a value or a [`PayloadError`]; trailing bytes are an
//! error, so every accepted payload has exactly one encoding.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::msg_type::MsgType;

/// What an agent is working on (`_status`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Free text: the task or module.
    pub working_on: String,
    /// Progress from 0.0 to 1.0.
    pub progress: f32,
}

/// A suggestion to another agent (`_suggestions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The suggestion itself.
    pub suggestion: String,
    /// File it is about, if any.
    pub file: Option<String>,
    /// Line in that file, if any.
    pub line: Option<u32>,
}

/// A bug noticed in another agent's output (`_bugs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BugReport {
    /// One-line summary.
    pub bug: String,
    /// File it is about, if any.
    pub file: Option<String>,
    /// Longer description.
    pub description: String,
}

/// An error broadcast (`_errors`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// What failed.
    pub error: String,
    /// Details, if any.
    pub detail: Option<String>,
}

/// A question to one agent; answered by a [`Response`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// The question.
    pub question: String,
}

/// The answer to a [`Query`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Sequence number of the query answered (the query's origin is the
    /// response's destination).
    pub reply_to_seq: u16,
    /// The answer.
    pub answer: String,
}

/// The state of one LLM endpoint as one agent sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmEndpoint {
    /// e.g. `aws_bedrock`.
    pub provider: String,
    /// Account name.
    pub account: String,
    /// e.g. `us-east-1`.
    pub region: String,
    /// Model name.
    pub model: String,
    /// Requests left in the current rate-limit window.
    pub rate_limit_remaining: u32,
    /// Tokens left in the current window.
    pub tokens_remaining: u64,
    /// The endpoint refuses work: others should route around it.
    pub saturated: bool,
    /// Recent latency, milliseconds.
    pub latency_ms: u32,
}

/// LLM usage report (`_llm_usage`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmUsage {
    /// Endpoints the agent uses.
    pub endpoints: Vec<LlmEndpoint>,
    /// Requests the agent made in the last minute.
    pub requests_last_minute: u32,
}

/// The payload of an application message, by type.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// No payload.
    Heartbeat,
    /// See [`Status`].
    Status(Status),
    /// See [`Suggestion`].
    Suggestion(Suggestion),
    /// See [`BugReport`].
    BugReport(BugReport),
    /// See [`ErrorReport`].
    Error(ErrorReport),
    /// See [`LlmUsage`].
    LlmUsage(LlmUsage),
    /// Opaque bytes.
    App(Vec<u8>),
    /// See [`Query`].
    Query(Query),
    /// See [`Response`].
    Response(Response),
    /// UTF-8 JSON text (see [`crate::extended`]).
    Extended(String),
}

/// Why a payload could not be decoded or encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// The type is protocol control, not an application payload.
    NotApplicationType(MsgType),
    /// A heartbeat carried bytes.
    UnexpectedBytes,
    /// MessagePack could not be read as this type.
    Malformed(String),
    /// Bytes were left after the value.
    TrailingBytes(usize),
    /// An extended payload is not UTF-8.
    NotUtf8,
    /// The encoding is longer than a header can describe.
    TooLong(usize),
    /// A JSON value does not describe a payload of this type.
    /// The text names the type and what is wrong (`status payload in
    /// JSON: missing field ...`). One string, so the error stays as small
    /// as the others (it travels in every `Node::handle` result).
    Json(String),
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::NotApplicationType(t) => {
                write!(
                    f,
                    "{} is a protocol message, not an application payload",
                    t.name()
                )
            }
            PayloadError::UnexpectedBytes => write!(f, "a heartbeat has no payload"),
            PayloadError::Malformed(why) => write!(f, "malformed MessagePack payload: {why}"),
            PayloadError::TrailingBytes(n) => write!(f, "{n} bytes after the payload value"),
            PayloadError::NotUtf8 => write!(f, "extended payload is not UTF-8"),
            PayloadError::TooLong(n) => write!(f, "payload of {n} bytes is too long"),
            PayloadError::Json(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for PayloadError {}

impl PayloadError {
    fn json(msg_type: MsgType, why: impl fmt::Display) -> Self {
        PayloadError::Json(format!("{} payload in JSON: {why}", msg_type.name()))
    }
}

fn decode_msgpack<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, PayloadError> {
    let mut rest = bytes;
    let value =
        rmp_serde::from_read(&mut rest).map_err(|e| PayloadError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(PayloadError::TrailingBytes(rest.len()));
    }
    Ok(value)
}

fn encode_msgpack<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<(), PayloadError> {
    rmp_serde::encode::write(out, value).map_err(|e| PayloadError::Malformed(e.to_string()))
}

impl Payload {
    /// The typed payload of `msg_type` that a JSON value describes (the
    /// extended form's `payload` field): `null` for a heartbeat, an array of
    /// byte values for `app`, the type's fields as an object otherwise.
    /// Protocol types and `extended` itself have no JSON form.
    pub fn from_json(msg_type: MsgType, value: serde_json::Value) -> Result<Payload, PayloadError> {
        fn typed<T: for<'de> Deserialize<'de>>(
            msg_type: MsgType,
            value: serde_json::Value,
        ) -> Result<T, PayloadError> {
            serde_json::from_value(value).map_err(|e| PayloadError::json(msg_type, e))
        }
        Ok(match msg_type {
            MsgType::Heartbeat if value.is_null() => Payload::Heartbeat,
            MsgType::Heartbeat => {
                return Err(PayloadError::json(
                    msg_type,
                    "a heartbeat's payload is null",
                ));
            }
            MsgType::Status => Payload::Status(typed(msg_type, value)?),
            MsgType::Suggestion => Payload::Suggestion(typed(msg_type, value)?),
            MsgType::BugReport => Payload::BugReport(typed(msg_type, value)?),
            MsgType::Error => Payload::Error(typed(msg_type, value)?),
            MsgType::LlmUsage => Payload::LlmUsage(typed(msg_type, value)?),
            MsgType::Query => Payload::Query(typed(msg_type, value)?),
            MsgType::Response => Payload::Response(typed(msg_type, value)?),
            MsgType::App => Payload::App(typed(msg_type, value)?),
            other => return Err(PayloadError::NotApplicationType(other)),
        })
    }

    /// The JSON form [`Payload::from_json`] reads back (the extended form's
    /// `payload`); an extended payload is already JSON text and has none.
    pub fn to_json(&self) -> Result<serde_json::Value, PayloadError> {
        let value = match self {
            Payload::Heartbeat => Ok(serde_json::Value::Null),
            Payload::Status(v) => serde_json::to_value(v),
            Payload::Suggestion(v) => serde_json::to_value(v),
            Payload::BugReport(v) => serde_json::to_value(v),
            Payload::Error(v) => serde_json::to_value(v),
            Payload::LlmUsage(v) => serde_json::to_value(v),
            Payload::Query(v) => serde_json::to_value(v),
            Payload::Response(v) => serde_json::to_value(v),
            Payload::App(bytes) => serde_json::to_value(bytes),
            Payload::Extended(_) => {
                return Err(PayloadError::json(
                    MsgType::Extended,
                    "it is JSON text already",
                ));
            }
        };
        value.map_err(|e| PayloadError::json(self.msg_type(), e))
    }

    /// The message type that carries this payload.
    pub fn msg_type(&self) -> MsgType {
        match self {
            Payload::Heartbeat => MsgType::Heartbeat,
            Payload::Status(_) => MsgType::Status,
            Payload::Suggestion(_) => MsgType::Suggestion,
            Payload::BugReport(_) => MsgType::BugReport,
            Payload::Error(_) => MsgType::Error,
            Payload::LlmUsage(_) => MsgType::LlmUsage,
            Payload::App(_) => MsgType::App,
            Payload::Query(_) => MsgType::Query,
            Payload::Response(_) => MsgType::Response,
            Payload::Extended(_) => MsgType::Extended,
        }
    }

    /// Appends the compact encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), PayloadError> {
        match self {
            Payload::Heartbeat => Ok(()),
            Payload::Status(v) => encode_msgpack(v, out),
            Payload::Suggestion(v) => encode_msgpack(v, out),
            Payload::BugReport(v) => encode_msgpack(v, out),
            Payload::Error(v) => encode_msgpack(v, out),
            Payload::LlmUsage(v) => encode_msgpack(v, out),
            Payload::Query(v) => encode_msgpack(v, out),
            Payload::Response(v) => encode_msgpack(v, out),
            Payload::App(bytes) => {
                out.extend_from_slice(bytes);
                Ok(())
            }
            Payload::Extended(json) => {
                out.extend_from_slice(json.as_bytes());
                Ok(())
            }
        }
    }

    /// Decodes the payload of a message of type `msg_type`.
    pub fn decode(msg_type: MsgType, bytes: &[u8]) -> Result<Payload, PayloadError> {
        Ok(match msg_type {
            MsgType::Heartbeat if bytes.is_empty() => Payload::Heartbeat,
            MsgType::Heartbeat => return Err(PayloadError::UnexpectedBytes),
            MsgType::Status => Payload::Status(decode_msgpack(bytes)?),
            MsgType::Suggestion => Payload::Suggestion(decode_msgpack(bytes)?),
            MsgType::BugReport => Payload::BugReport(decode_msgpack(bytes)?),
            MsgType::Error => Payload::Error(decode_msgpack(bytes)?),
            MsgType::LlmUsage => Payload::LlmUsage(decode_msgpack(bytes)?),
            MsgType::Query => Payload::Query(decode_msgpack(bytes)?),
            MsgType::Response => Payload::Response(decode_msgpack(bytes)?),
            MsgType::App => Payload::App(bytes.to_vec()),
            MsgType::Extended => Payload::Extended(
                core::str::from_utf8(bytes)
                    .map_err(|_| PayloadError::NotUtf8)?
                    .to_owned(),
            ),
            control => return Err(PayloadError::NotApplicationType(control)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_a_compact_msgpack_array() {
        let status = Payload::Status(Status {
            working_on: "net".into(),
            progress: 0.5,
        });
        let mut bytes = Vec::new();
        status.encode(&mut bytes).unwrap();
        // fixarray(2), fixstr(3) "net", float32 0.5
        assert_eq!(
            bytes,
            [0x92, 0xa3, b'n', b'e', b't', 0xca, 0x3f, 0x00, 0x00, 0x00]
        );
        assert_eq!(Payload::decode(MsgType::Status, &bytes), Ok(status));
    }

    #[test]
    fn trailing_bytes_and_wrong_shapes_are_errors() {
        let mut bytes = Vec::new();
        Payload::Query(Query {
            question: "q".into(),
        })
        .encode(&mut bytes)
        .unwrap();
        bytes.push(0);
        assert_eq!(
            Payload::decode(MsgType::Query, &bytes),
            Err(PayloadError::TrailingBytes(1))
        );
        assert!(matches!(
            Payload::decode(MsgType::Status, &[0xc1]),
            Err(PayloadError::Malformed(_))
        ));
        assert_eq!(
            Payload::decode(MsgType::Heartbeat, &[1]),
            Err(PayloadError::UnexpectedBytes)
        );
        assert_eq!(
            Payload::decode(MsgType::Ping, &[]),
            Err(PayloadError::NotApplicationType(MsgType::Ping))
        );
    }
}
