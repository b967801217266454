//! The command language `colony node` reads on stdin, one command a line:
//! broadcasts of text, typed payloads and extended JSON messages, direct
//! sends, requests, joins, inbox reads and leaving. Free text and JSON are
//! the rest of the line, kept byte for byte.

use std::net::SocketAddrV4;
use std::time::Duration;

use colony_core::Priority;
use colony_core::channel::{Channel, StandardChannel};
use colony_core::extended::{Destination, ExtendedMessage};
use colony_core::msg_type::MsgType;
use colony_core::node::Command;
use colony_core::payload::{Payload, Query};

use crate::scenario::DurationText;

/// Every command, for the error on an unknown one.
pub(crate) const USAGE: &str = "broadcast TEXT | broadcast-on CHANNEL PRIORITY TEXT | \
     typed CHANNEL PRIORITY TYPE JSON | json [ADDR] MESSAGE | send ADDR TEXT | \
     request ADDR TIMEOUT QUESTION | join ADDR | read [N] | leave";

/// The first `N` whitespace-separated words of `line` and the rest of it
/// (leading whitespace removed, the rest untouched), or `None` when the
/// line has fewer words.
fn words<const N: usize>(line: &str) -> Option<([&str; N], &str)> {
    let mut rest = line;
    let mut out = [""; N];
    for word in &mut out {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        (*word, rest) = rest.split_at(end);
    }
    Some((out, rest.trim_start()))
}

fn address(text: &str) -> Result<SocketAddrV4, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not an IPv4 address with a port"))
}

fn channel_hash(text: &str) -> Result<u32, String> {
    match text.strip_prefix("0x") {
        Some(hex) => {
            u32::from_str_radix(hex, 16).map_err(|_| format!("`{text}` is not a channel hash"))
        }
        None => Channel::parse(text)
            .map(|c| c.hash())
            .map_err(|e| e.to_string()),
    }
}

fn priority(text: &str) -> Result<Priority, String> {
    Priority::from_name(text)
        .ok_or_else(|| format!("priority `{text}`: expected critical, normal or background"))
}

fn text_payload(text: &str) -> Payload {
    Payload::App(text.as_bytes().to_vec())
}

/// Parses one stdin line.
pub(crate) fn parse_command(line: &str) -> Result<Command<SocketAddrV4>, String> {
    let ([verb], rest) = words::<1>(line).ok_or("empty line")?;
    match verb {
        "broadcast" => Ok(Command::Broadcast {
            channel_hash: StandardChannel::Suggestions.hash(),
            priority: Priority::Normal,
            payload: text_payload(rest),
        }),
        "broadcast-on" => {
            let ([channel, level], text) =
                words(rest).ok_or("usage: broadcast-on CHANNEL PRIORITY TEXT...")?;
            Ok(Command::Broadcast {
                channel_hash: channel_hash(channel)?,
                priority: priority(level)?,
                payload: text_payload(text),
            })
        }
        "typed" => typed(rest),
        "json" => json(rest),
        "send" => {
            let ([to], text) = words(rest).ok_or("usage: send ADDR TEXT...")?;
            Ok(Command::SendTo {
                to: address(to)?,
                channel_hash: StandardChannel::Suggestions.hash(),
                priority: Priority::Normal,
                payload: text_payload(text),
            })
        }
        "request" => {
            let ([to, timeout], question) =
                words(rest).ok_or("usage: request ADDR TIMEOUT QUESTION...")?;
            Ok(Command::Request {
                to: address(to)?,
                query: Query {
                    question: question.to_string(),
                },
                timeout: Duration::from_nanos(DurationText::parse(timeout)?.as_ns()),
            })
        }
        "join" => match words(rest) {
            Some(([addr], "")) => Ok(Command::Join {
                contacts: vec![address(addr)?],
            }),
            _ => Err("usage: join ADDR".into()),
        },
        "read" => {
            let max = match words::<1>(rest) {
                None => u16::MAX,
                Some(([n], "")) => n
                    .parse()
                    .map_err(|_| format!("`{n}` is not a count of messages (1 to 65535)"))?,
                Some(_) => return Err("usage: read [N]".into()),
            };
            Ok(Command::ReadInbox { max })
        }
        "leave" => Ok(Command::Leave),
        other => Err(format!("unknown command `{other}` ({USAGE})")),
    }
}

/// `typed CHANNEL PRIORITY TYPE JSON`: a broadcast of a typed payload given
/// as the JSON of its fields (`null` for a heartbeat), or of an extended
/// message (`extended`) on a channel of the caller's choosing.
fn typed(rest: &str) -> Result<Command<SocketAddrV4>, String> {
    let ([channel, level, kind], json) =
        words(rest).ok_or("usage: typed CHANNEL PRIORITY TYPE JSON")?;
    let payload = if kind == MsgType::Extended.name() {
        serde_json::from_str::<ExtendedMessage>(json)
            .map_err(|e| format!("not an extended message: {e}"))?;
        Payload::Extended(json.to_string())
    } else {
        let msg_type = MsgType::compact_application_named(kind).ok_or_else(|| {
            format!(
                "type `{kind}`: expected heartbeat, status, suggestion, bug, error, llm_usage, \
                 query, response, app or extended"
            )
        })?;
        let value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        Payload::from_json(msg_type, value).map_err(|e| e.to_string())?
    };
    Ok(Command::Broadcast {
        channel_hash: channel_hash(channel)?,
        priority: priority(level)?,
        payload,
    })
}

/// `json [ADDR] MESSAGE`: an extended JSON message, broadcast on its
/// channel, or sent to `ADDR`.
fn json(rest: &str) -> Result<Command<SocketAddrV4>, String> {
    let (to, text) = match words::<1>(rest) {
        Some(([first], text)) if !first.starts_with('{') => (Some(address(first)?), text),
        _ => (None, rest),
    };
    let message: ExtendedMessage =
        serde_json::from_str(text).map_err(|e| format!("not an extended message: {e}"))?;
    let channel_hash = message.channel().hash();
    let payload = Payload::Extended(text.to_string());
    match (to, &message.to) {
        (Some(to), _) => Ok(Command::SendTo {
            to,
            channel_hash,
            priority: message.priority,
            payload,
        }),
        (None, Destination::Agent(agent)) => Err(format!(
            "the message is to agent {agent}: give its address, `json ADDR MESSAGE`"
        )),
        (None, _) => Ok(Command::Broadcast {
            channel_hash,
            priority: message.priority,
            payload,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_is_the_rest_of_the_line_byte_for_byte() {
        let Ok(Command::Broadcast { payload, .. }) =
            parse_command("broadcast-on _bugs critical two  spaces\there")
        else {
            panic!("a broadcast")
        };
        assert_eq!(payload, Payload::App(b"two  spaces\there".to_vec()));
    }

    #[test]
    fn a_request_names_its_receiver_timeout_and_question() {
        let Ok(Command::Request { to, query, timeout }) =
            parse_command("request 127.0.0.1:9000 250ms are you there?")
        else {
            panic!("a request")
        };
        assert_eq!(to, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(query.question, "are you there?");
        assert_eq!(timeout, Duration::from_millis(250));
        assert!(parse_command("request 127.0.0.1:9000 soon hello").is_err());
        assert!(parse_command("request 127.0.0.1:9000").is_err());
    }

    #[test]
    fn a_typed_payload_is_checked_against_its_type() {
        let Ok(Command::Broadcast { payload, .. }) = parse_command(
            r#"typed _status normal status {"working_on": "review", "progress": 0.25}"#,
        ) else {
            panic!("a broadcast")
        };
        assert_eq!(payload.msg_type(), MsgType::Status);
        let wrong = parse_command(r#"typed _status normal status {"progress": "high"}"#);
        assert!(wrong.unwrap_err().contains("status payload in JSON"));
        assert!(parse_command("typed _status normal plan {}").is_err());
    }

    #[test]
    fn an_extended_message_goes_on_its_channel_or_to_an_address() {
        let message = r#"{"id": "x", "from": "y", "to": "group:custom:review", "type": "plan",
            "topic": "rollout", "payload": {"steps": 3}, "priority": "critical",
            "timestamp": "2026-12-06T10:00:00Z", "ttl": 600}"#;
        let Ok(Command::Broadcast {
            channel_hash,
            priority,
            payload,
        }) = parse_command(&format!("json {message}"))
        else {
            panic!("a broadcast")
        };
        assert_eq!(
            channel_hash,
            Channel::parse("custom:review").unwrap().hash()
        );
        assert_eq!(priority, Priority::Critical);
        assert_eq!(payload, Payload::Extended(message.to_string()));
        let sent = parse_command(&format!("json 127.0.0.1:9000 {message}"));
        assert!(matches!(sent, Ok(Command::SendTo { .. })));
        assert!(parse_command("json {\"id\": 1}").is_err());
    }
}
