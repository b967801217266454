//! Datagrams waiting for `poll_transmit`, framed one after another in a
//! single byte arena per node: each is its destination (in the address's
//! wire form), its length (u32, little-endian) and its bytes. Sending
//! allocates nothing per datagram, and a node that sends holds one heap
//! block, not two (a million agents each keep their small arena).

use core::marker::PhantomData;

use crate::address::Address;

/// Arena bytes kept after a full drain; above this the arena is released, so
/// a node that once sent a burst does not hold its peak forever (1M agents).
const ARENA_RETAIN_BYTES: usize = 512;

/// Bytes of a frame's length field.
const LEN_BYTES: usize = size_of::<u32>();

#[derive(Clone, Debug)]
pub(crate) struct Outbox<A> {
    /// Frames, oldest first.
    bytes: Vec<u8>,
    /// Offset of the oldest frame not yet polled.
    head: u32,
    /// Frames not yet polled.
    count: u32,
    _address: PhantomData<A>,
}

impl<A> Default for Outbox<A> {
    fn default() -> Self {
        Outbox {
            bytes: Vec::new(),
            head: 0,
            count: 0,
            _address: PhantomData,
        }
    }
}

impl<A: Address> Outbox<A> {
    /// Appends a datagram to `to` written by `write` (which appends to the
    /// vector it is given); returns its length.
    pub(crate) fn push(&mut self, to: A, write: impl FnOnce(&mut Vec<u8>)) -> usize {
        let frame = self.bytes.len();
        let body = frame + A::WIRE_LEN + LEN_BYTES;
        self.bytes.resize(body, 0);
        to.write_wire(&mut self.bytes[frame..]);
        write(&mut self.bytes);
        let len = self.bytes.len() - body;
        self.bytes[body - LEN_BYTES..body].copy_from_slice(&(len as u32).to_le_bytes());
        self.count += 1;
        len
    }

    /// Appends the oldest datagram to `out`; its destination, or `None`.
    #[inline]
    pub(crate) fn pop(&mut self, out: &mut Vec<u8>) -> Option<A> {
        if self.count == 0 {
            return None;
        }
        let frame = self.head as usize;
        let to = A::read_wire(&self.bytes[frame..]).expect("push wrote the address");
        let body = frame + A::WIRE_LEN + LEN_BYTES;
        let len_field: [u8; LEN_BYTES] = self.bytes[body - LEN_BYTES..body]
            .try_into()
            .expect("a length field");
        let end = body + u32::from_le_bytes(len_field) as usize;
        out.extend_from_slice(&self.bytes[body..end]);
        self.head = end as u32;
        self.count -= 1;
        if self.count == 0 {
            self.head = 0;
            self.bytes.clear();
            if self.bytes.capacity() > ARENA_RETAIN_BYTES {
                self.bytes = Vec::new();
            }
        }
        Some(to)
    }

    /// Frees the arena of an empty outbox.
    pub(crate) fn release(&mut self) {
        debug_assert_eq!(self.count, 0, "only an empty outbox is released");
        self.bytes = Vec::new();
    }

    pub(crate) fn len(&self) -> usize {
        self.count as usize
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
        assert_eq!(outbox.pop(&mut out), Some(a));
        assert_eq!(outbox.pop(&mut out), Some(b));
        assert_eq!(outbox.len(), 1);
        // Pushing between pops keeps the order.
        outbox.push(b, |out| out.extend_from_slice(b"4"));
        assert_eq!(outbox.pop(&mut out), Some(a));
        assert_eq!(outbox.pop(&mut out), Some(b));
        assert_eq!(outbox.pop(&mut out), None);
        assert_eq!(out, b"kept:firstthird4");
    }

    #[test]
    fn a_drained_outbox_keeps_a_small_arena_and_releases_a_large_one() {
        let mut outbox = Outbox::<u32>::default();
        let mut out = Vec::new();
        outbox.push(1, |out| out.extend_from_slice(&[0; 64]));
        outbox.pop(&mut out);
        assert!(outbox.heap_bytes() > 0, "a small arena is kept");
        outbox.push(1, |out| out.extend_from_slice(&[0; ARENA_RETAIN_BYTES]));
        outbox.pop(&mut out);
        assert_eq!(outbox.heap_bytes(), 0, "a large arena is released");
    }
}
