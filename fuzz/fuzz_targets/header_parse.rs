//! Fuzzes `CompactHeader::parse` and whole-message decoding: any bytes give a
//! header or a typed error, and accepted bytes re-encode to themselves.
#![no_main]

use colony_core::header::{CompactHeader, HEADER_LEN};
use colony_core::message::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, payload)) = CompactHeader::parse(data) {
        let fields = header.fields().expect("parse validated type and priority");
        let mut buf = vec![0u8; HEADER_LEN + payload.len()];
        CompactHeader::new(fields).encode_with_payload(payload, &mut buf).unwrap();
        assert_eq!(buf[..], data[..HEADER_LEN + payload.len()]);
    }
    let _ = Message::decode(data);
});
