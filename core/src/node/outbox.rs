//! Datagrams waiting for `poll_transmit`, framed one after another in a
//! single byte arena per node: each is its destination (in the address's
//! wire form), its length (u32, little-endian) and its bytes. Sending
//! allocates nothing per datagram, and a node that sends holds one heap
//! block, not two (a million agents each keep their small arena).
//!
//! A push of a stored message is framed by reference — the message's store
//! key instead of its bytes — and resolved when polled: a gossip round
//! copies nothing. A push by reference into an empty outbox (every round of
//! fanout-1 gossip) is kept inline, outside the arena: such a node holds no
//! arena at all, and its rounds touch no heap block of the outbox. The node
//! turns references into bytes before its store changes (see
//! `Node::materialize_outbox`), so a host that polls late still gets
//! exactly what was sent.

use crate::address::Address;

/// Arena bytes kept after a full drain; above this the arena is released, so
/// a node that once sent a burst does not hold its peak forever (1M agents).
const ARENA_RETAIN_BYTES: usize = 512;

/// Bytes of a frame's length field.
const LEN_BYTES: usize = size_of::<u32>();

/// The length field of a frame by reference, whose body is a store key.
const BY_REFERENCE: u32 = u32::MAX;

/// Bytes of the store key of a frame by reference.
const KEY_BYTES: usize = size_of::<u64>();

/// One queued datagram, as read from the arena.
enum Frame<'a> {
    Bytes(&'a [u8]),
    Stored(u64),
}

#[derive(Clone, Debug)]
pub(crate) struct Outbox<A> {
    /// The destination of the oldest datagram when it is a push by
    /// reference queued into an empty outbox (older than every frame of the
    /// arena), and its store key (kept apart: a tuple in the option would
    /// cost a million agents 8 bytes each of padding).
    first: Option<A>,
    first_key: u64,
    /// Frames, oldest first.
    bytes: Vec<u8>,
    /// Offset of the oldest frame not yet polled.
    head: u32,
    /// Frames of the arena not yet polled.
    count: u32,
}

impl<A> Default for Outbox<A> {
    fn default() -> Self {
        Outbox {
            first: None,
            first_key: 0,
            bytes: Vec::new(),
            head: 0,
            count: 0,
        }
    }
}

impl<A: Address> Outbox<A> {
    /// Appends a datagram to `to` written by `write` (which appends to the
    /// vector it is given); returns its length.
    pub(crate) fn push(&mut self, to: A, write: impl FnOnce(&mut Vec<u8>)) -> usize {
        let body = self.open_frame(to);
        write(&mut self.bytes);
        let len = self.bytes.len() - body;
        debug_assert!(len < BY_REFERENCE as usize, "a datagram is far shorter");
        self.bytes[body - LEN_BYTES..body].copy_from_slice(&(len as u32).to_le_bytes());
        len
    }

    /// Appends a push of the stored message with store key `key`, to be
    /// resolved when polled.
    pub(crate) fn push_stored(&mut self, to: A, key: u64) {
        if self.len() == 0 {
            (self.first, self.first_key) = (Some(to), key);
            return;
        }
        let body = self.open_frame(to);
        self.bytes[body - LEN_BYTES..body].copy_from_slice(&BY_REFERENCE.to_le_bytes());
        self.bytes.extend_from_slice(&key.to_le_bytes());
    }

    /// Appends a frame's destination and room for its length field;
    /// returns where its body starts.
    fn open_frame(&mut self, to: A) -> usize {
        let frame = self.bytes.len();
        let body = frame + A::WIRE_LEN + LEN_BYTES;
        self.bytes.resize(body, 0);
        to.write_wire(&mut self.bytes[frame..]);
        self.count += 1;
        body
    }

    /// The frame at `at`: its destination, contents and end.
    fn frame(&self, at: usize) -> (A, Frame<'_>, usize) {
        let to = A::read_wire(&self.bytes[at..]).expect("push wrote the address");
        let body = at + A::WIRE_LEN + LEN_BYTES;
        let field = |from: usize| -> [u8; LEN_BYTES] {
            self.bytes[from..from + LEN_BYTES]
                .try_into()
                .expect("4 bytes")
        };
        match u32::from_le_bytes(field(body - LEN_BYTES)) {
            BY_REFERENCE => {
                let key: [u8; KEY_BYTES] = self.bytes[body..body + KEY_BYTES]
                    .try_into()
                    .expect("8 bytes");
                (to, Frame::Stored(u64::from_le_bytes(key)), body + KEY_BYTES)
            }
            len => {
                let end = body + len as usize;
                (to, Frame::Bytes(&self.bytes[body..end]), end)
            }
        }
    }

    /// Appends the oldest datagram to `out`, a push by reference as the
    /// bytes `stored` gives for its key; its destination, or `None`.
    #[inline]
    pub(crate) fn pop<'s>(
        &mut self,
        out: &mut Vec<u8>,
        stored: impl Fn(u64) -> Option<&'s [u8]>,
    ) -> Option<A> {
        if let Some(to) = self.first.take()
            && let Some(bytes) = stored(self.first_key)
        {
            out.extend_from_slice(bytes);
            return Some(to);
        }
        loop {
            if self.count == 0 {
                return None;
            }
            let (to, frame, end) = self.frame(self.head as usize);
            let sent = match frame {
                Frame::Bytes(bytes) => {
                    out.extend_from_slice(bytes);
                    true
                }
                // Materialised before the store changes, so always found.
                Frame::Stored(key) => stored(key).map(|b| out.extend_from_slice(b)).is_some(),
            };
            self.head = end as u32;
            self.count -= 1;
            if self.count == 0 {
                self.head = 0;
                self.bytes.clear();
                if self.bytes.capacity() > ARENA_RETAIN_BYTES {
                    self.bytes = Vec::new();
                }
            }
            if sent {
                return Some(to);
            }
        }
    }

    /// Whether a queued push refers to the store.
    pub(crate) fn has_references(&self) -> bool {
        if self.first.is_some() {
            return true;
        }
        let mut at = self.head as usize;
        for _ in 0..self.count {
            let (_, frame, end) = self.frame(at);
            if matches!(frame, Frame::Stored(_)) {
                return true;
            }
            at = end;
        }
        false
    }

    /// Replaces every push by reference with the bytes `stored` gives for
    /// its key (one whose message is gone is dropped).
    pub(crate) fn materialize<'s>(&mut self, stored: impl Fn(u64) -> Option<&'s [u8]>) {
        let mut rebuilt = Outbox::default();
        if let Some(to) = self.first
            && let Some(bytes) = stored(self.first_key)
        {
            rebuilt.push(to, |out| out.extend_from_slice(bytes));
        }
        let mut at = self.head as usize;
        for _ in 0..self.count {
            let (to, frame, end) = self.frame(at);
            match frame {
                Frame::Bytes(bytes) => {
                    rebuilt.push(to, |out| out.extend_from_slice(bytes));
                }
                Frame::Stored(key) => {
                    if let Some(bytes) = stored(key) {
                        rebuilt.push(to, |out| out.extend_from_slice(bytes));
                    }
                }
            }
            at = end;
        }
        *self = rebuilt;
    }

    /// Frees the arena of an empty outbox.
    pub(crate) fn release(&mut self) {
        debug_assert_eq!(self.len(), 0, "only an empty outbox is released");
        self.bytes = Vec::new();
    }

    pub(crate) fn len(&self) -> usize {
        self.count as usize + usize::from(self.first.is_some())
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    #[test]
    fn datagrams_come_out_in_order_with_their_destinations() {
        let mut outbox = Outbox::<SocketAddrV4>::default();
        let a = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 7000);
        let b = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 7001);
        assert_eq!(outbox.push(a, |out| out.extend_from_slice(b"first")), 5);
        assert_eq!(outbox.push(b, |_| {}), 0);
        assert_eq!(outbox.push(a, |out| out.extend_from_slice(b"third")), 5);
        assert_eq!(outbox.len(), 3);
        let mut out = b"kept:".to_vec();
        assert_eq!(outbox.pop(&mut out, |_| None), Some(a));
        assert_eq!(outbox.pop(&mut out, |_| None), Some(b));
        assert_eq!(outbox.len(), 1);
        // Pushing between pops keeps the order.
        outbox.push(b, |out| out.extend_from_slice(b"4"));
        assert_eq!(outbox.pop(&mut out, |_| None), Some(a));
        assert_eq!(outbox.pop(&mut out, |_| None), Some(b));
        assert_eq!(outbox.pop(&mut out, |_| None), None);
        assert_eq!(out, b"kept:firstthird4");
    }

    #[test]
    fn pushes_by_reference_resolve_in_order_and_survive_materialization() {
        let stored = |key: u64| (key == 7).then_some(&b"seven"[..]);
        let mut outbox = Outbox::<u32>::default();
        outbox.push(1, |out| out.extend_from_slice(b"a"));
        outbox.push_stored(2, 7);
        outbox.push_stored(3, 9); // its message is gone: dropped
        outbox.push(4, |out| out.extend_from_slice(b"b"));
        assert!(outbox.has_references());
        let (order, sent) = sent_then_materialized(outbox, stored);
        assert_eq!((order, sent), (vec![1, 2, 4], b"asevenb".to_vec()));
    }

    /// What `outbox` sends (destinations and bytes), checked against what
    /// a copy sends once its references are materialized.
    fn sent_then_materialized<'s>(
        mut outbox: Outbox<u32>,
        stored: impl Fn(u64) -> Option<&'s [u8]> + Copy,
    ) -> (Vec<u32>, Vec<u8>) {
        let mut copy = outbox.clone();
        let (mut order, mut sent) = (Vec::new(), Vec::new());
        while let Some(to) = outbox.pop(&mut sent, stored) {
            order.push(to);
        }
        copy.materialize(stored);
        assert!(!copy.has_references());
        let mut materialized = Vec::new();
        while copy.pop(&mut materialized, |_| None).is_some() {}
        assert_eq!(materialized, sent);
        (order, sent)
    }

    #[test]
    fn a_push_by_reference_into_an_empty_outbox_stays_first_and_needs_no_arena() {
        let stored = |key: u64| match key {
            7 => Some(&b"seven"[..]),
            8 => Some(&b"eight"[..]),
            _ => None,
        };
        let mut outbox = Outbox::<u32>::default();
        outbox.push_stored(2, 7);
        assert_eq!((outbox.len(), outbox.heap_bytes()), (1, 0));
        assert!(outbox.has_references());
        outbox.push(3, |out| out.extend_from_slice(b"c"));
        outbox.push_stored(4, 8);
        let (order, sent) = sent_then_materialized(outbox, stored);
        assert_eq!((order, sent), (vec![2, 3, 4], b"sevenceight".to_vec()));
        // A first push whose message is gone is skipped, not sent.
        let mut gone = Outbox::<u32>::default();
        gone.push_stored(5, 9);
        gone.push(6, |out| out.extend_from_slice(b"f"));
        let mut out = Vec::new();
        assert_eq!(gone.pop(&mut out, stored), Some(6));
        assert_eq!((gone.pop(&mut out, stored), out), (None, b"f".to_vec()));
    }

    #[test]
    fn a_drained_outbox_keeps_a_small_arena_and_releases_a_large_one() {
        let mut outbox = Outbox::<u32>::default();
        let mut out = Vec::new();
        outbox.push(1, |out| out.extend_from_slice(&[0; 64]));
        outbox.pop(&mut out, |_| None);
        assert!(outbox.heap_bytes() > 0, "a small arena is kept");
        outbox.push(1, |out| out.extend_from_slice(&[0; ARENA_RETAIN_BYTES]));
        outbox.pop(&mut out, |_| None);
        assert_eq!(outbox.heap_bytes(), 0, "a large arena is released");
    }
}
