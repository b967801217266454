//! Property tests of the wire format: every valid message round-trips, and no
//! byte sequence panics a decoder. Each property runs [`CASES`] cases.

use colony_core::channel::{CUSTOM_SUBSCRIPTIONS_MAX, Channel, SubscriptionTable};
use colony_core::extended::ExtendedMessage;
use colony_core::header::{
    CompactHeader, Flags, HEADER_LEN, HOPS_MAX, HeaderFields, SIGNATURE_LEN,
};
use colony_core::message::{Message, MessageId};
use colony_core::payload::{
    BugReport, ErrorReport, LlmEndpoint, LlmUsage, Payload, Query, Response, Status, Suggestion,
};
use colony_core::{AgentId, MsgType, Priority};
use proptest::prelude::*;

/// Cases per property: the wire-format issue asks for at least 10,000.
const CASES: u32 = 10_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        ..ProptestConfig::default()
    }
}

fn priority() -> impl Strategy<Value = Priority> {
    prop::sample::select(Priority::ALL.to_vec())
}

fn flags() -> impl Strategy<Value = Flags> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(e, c, s, d)| {
        let mut flags = if d { Flags::DIRECT } else { Flags::NONE };
        if e {
            flags = flags.union(Flags::ENCRYPTED);
        }
        if c {
            flags = flags.union(Flags::COMPRESSED);
        }
        if s {
            flags = flags.union(Flags::SIGNED);
        }
        flags
    })
}

fn header_fields() -> impl Strategy<Value = HeaderFields> {
    (
        prop::sample::select(MsgType::ALL.to_vec()),
        priority(),
        any::<u16>(),
        any::<[u8; 16]>(),
        any::<u32>(),
        any::<u32>(),
        flags(),
        0..=HOPS_MAX,
    )
        .prop_map(
            |(msg_type, priority, seq, from, channel_hash, timestamp_s, flags, hops)| {
                HeaderFields {
                    msg_type,
                    priority,
                    seq,
                    from: AgentId(from),
                    channel_hash,
                    timestamp_s,
                    payload_len: 0,
                    flags,
                    hops_remaining: hops,
                }
            },
        )
}

fn text() -> impl Strategy<Value = String> {
    ".{0,40}"
}

fn endpoint() -> impl Strategy<Value = LlmEndpoint> {
    (
        text(),
        text(),
        text(),
        text(),
        any::<u32>(),
        any::<u64>(),
        any::<bool>(),
        any::<u32>(),
    )
        .prop_map(
            |(provider, account, region, model, rl, tokens, saturated, latency_ms)| LlmEndpoint {
                provider,
                account,
                region,
                model,
                rate_limit_remaining: rl,
                tokens_remaining: tokens,
                saturated,
                latency_ms,
            },
        )
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        Just(Payload::Heartbeat),
        (text(), 0.0f32..=1.0).prop_map(|(w, p)| Payload::Status(Status {
            working_on: w,
            progress: p
        })),
        (
            text(),
            prop::option::of(text()),
            prop::option::of(any::<u32>())
        )
            .prop_map(|(s, f, l)| {
                Payload::Suggestion(Suggestion {
                    suggestion: s,
                    file: f,
                    line: l,
                })
            }),
        (text(), prop::option::of(text()), text()).prop_map(|(b, f, d)| {
            Payload::BugReport(BugReport {
                bug: b,
                file: f,
                description: d,
            })
        }),
        (text(), prop::option::of(text())).prop_map(|(e, d)| Payload::Error(ErrorReport {
            error: e,
            detail: d
        })),
        (prop::collection::vec(endpoint(), 0..4), any::<u32>()).prop_map(|(endpoints, r)| {
            Payload::LlmUsage(LlmUsage {
                endpoints,
                requests_last_minute: r,
            })
        }),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Payload::App),
        text().prop_map(|q| Payload::Query(Query { question: q })),
        (any::<u16>(), text()).prop_map(|(s, a)| Payload::Response(Response {
            reply_to_seq: s,
            answer: a
        })),
        text().prop_map(Payload::Extended),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (header_fields(), payload()).prop_map(|(h, payload)| Message {
        id: MessageId {
            from: h.from,
            timestamp_s: h.timestamp_s,
            seq: h.seq,
        },
        priority: h.priority,
        channel_hash: h.channel_hash,
        hops_remaining: h.hops_remaining,
        // A signed message needs its signature appended; that is the signer's job.
        flags: Flags::NONE,
        payload,
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_header_round_trips_with_its_payload(
        fields in header_fields(),
        payload in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        let fields = HeaderFields { payload_len: payload.len() as u16, ..fields };
        let mut buf = vec![0u8; HEADER_LEN + payload.len()];
        CompactHeader::new(fields).encode_with_payload(&payload, &mut buf).unwrap();
        if fields.flags.contains(Flags::SIGNED) {
            buf.extend_from_slice(&[0xA5; SIGNATURE_LEN]);
        }
        let (header, parsed_payload) = CompactHeader::parse(&buf).unwrap();
        prop_assert_eq!(header.fields(), Some(fields));
        prop_assert_eq!(parsed_payload, &payload[..]);
    }

    #[test]
    fn arbitrary_bytes_parse_or_give_a_typed_error(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        if let Ok((header, payload)) = CompactHeader::parse(&bytes) {
            // Accepted bytes are canonical: re-encoding gives them back.
            let mut buf = vec![0u8; HEADER_LEN + payload.len()];
            let fields = header.fields().expect("a parsed header has a known type and priority");
            CompactHeader::new(fields).encode_with_payload(payload, &mut buf).unwrap();
            prop_assert_eq!(&buf[..], &bytes[..HEADER_LEN + payload.len()]);
        }
    }

    #[test]
    fn random_payloads_behind_a_valid_header_decode_or_give_a_typed_error(
        fields in header_fields(),
        payload in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        let mut buf = vec![0u8; HEADER_LEN + payload.len()];
        CompactHeader::new(fields).encode_with_payload(&payload, &mut buf).unwrap();
        if fields.flags.contains(Flags::SIGNED) {
            buf.extend_from_slice(&[0; SIGNATURE_LEN]);
        }
        match Message::decode(&buf) {
            Ok(message) => prop_assert_eq!(message.payload.msg_type(), fields.msg_type),
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    #[test]
    fn every_application_message_round_trips(message in message()) {
        let mut bytes = Vec::new();
        message.encode(&mut bytes).unwrap();
        prop_assert_eq!(Message::decode(&bytes), Ok(message));
    }

    #[test]
    fn arbitrary_payload_bytes_decode_or_give_a_typed_error(
        msg_type in prop::sample::select(MsgType::ALL.to_vec()),
        bytes in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        if let Ok(payload) = Payload::decode(msg_type, &bytes) {
            // Whatever decodes re-encodes to bytes that decode to the same value.
            let mut again = Vec::new();
            payload.encode(&mut again).unwrap();
            let back = Payload::decode(msg_type, &again).unwrap();
            let mut third = Vec::new();
            back.encode(&mut third).unwrap();
            prop_assert_eq!(again, third);
        }
    }

    #[test]
    fn arbitrary_json_never_panics_the_extended_bridge(text in ".{0,200}") {
        if let Ok(extended) = serde_json::from_str::<ExtendedMessage>(&text) {
            let _ = extended.to_message(HOPS_MAX);
        }
    }

    #[test]
    fn the_subscription_table_agrees_with_a_model_and_stays_bounded(
        ops in prop::collection::vec((any::<bool>(), 0u8..40), 0..200),
    ) {
        let mut table = SubscriptionTable::empty();
        let mut model = std::collections::BTreeSet::new();
        for (subscribe, n) in ops {
            let channel = Channel::parse(&format!("custom:c{n}")).unwrap();
            if subscribe {
                let result = table.subscribe(&channel);
                if model.len() < CUSTOM_SUBSCRIPTIONS_MAX || model.contains(&n) {
                    prop_assert_eq!(result, Ok(model.insert(n)));
                } else {
                    prop_assert!(result.is_err());
                }
            } else {
                prop_assert_eq!(table.unsubscribe(&channel), model.remove(&n));
            }
            prop_assert!(table.channels().count() <= CUSTOM_SUBSCRIPTIONS_MAX);
            prop_assert_eq!(table.contains_hash(channel.hash()), model.contains(&n));
        }
    }
}
