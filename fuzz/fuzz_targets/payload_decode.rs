//! Fuzzes every payload decoder and the extended JSON bridge. The first byte
//! picks the message type; the rest is the payload.
#![no_main]

use colony_core::extended::ExtendedMessage;
use colony_core::header::HOPS_MAX;
use colony_core::msg_type::MsgType;
use colony_core::payload::Payload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let msg_type = MsgType::ALL[usize::from(selector) % MsgType::ALL.len()];
    if let Ok(payload) = Payload::decode(msg_type, bytes) {
        let mut again = Vec::new();
        payload.encode(&mut again).unwrap();
        assert!(Payload::decode(msg_type, &again).is_ok());
    }
    if let Ok(extended) = serde_json::from_slice::<ExtendedMessage>(bytes) {
        let _ = extended.to_message(HOPS_MAX);
    }
});
