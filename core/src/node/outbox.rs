//! Datagrams waiting for `poll_transmit`, encoded once into one byte arena per
//! node so that sending allocates nothing per datagram.

use std::collections::VecDeque;

/// Arena bytes kept after a full drain; above this the arena is released, so
/// a node that once sent a burst does not hold its peak forever (1M agents).
const ARENA_RETAIN_BYTES: usize = 512;

#[derive(Clone, Debug)]
pub(crate) struct Outbox<A> {
    bytes: Vec<u8>,
    items: VecDeque<(A, u32, u32)>,
}

impl<A> Default for Outbox<A> {
    fn default() -> Self {
        Outbox {
            bytes: Vec::new(),
            items: VecDeque::new(),
        }
    }
}

impl<A: Copy> Outbox<A> {
    /// Appends a datagram written by `write` (which appends to the arena).
    pub(crate) fn push(&mut self, to: A, write: impl FnOnce(&mut Vec<u8>)) -> usize {
        let start = self.bytes.len();
        write(&mut self.bytes);
        let len = self.bytes.len() - start;
        self.items.push_back((to, start as u32, len as u32));
        len
    }

    /// Appends the oldest datagram to `out`; its destination, or `None`.
    pub(crate) fn pop(&mut self, out: &mut Vec<u8>) -> Option<A> {
        let (to, start, len) = self.items.pop_front()?;
        out.extend_from_slice(&self.bytes[start as usize..(start + len) as usize]);
        if self.items.is_empty() {
            self.bytes.clear();
            if self.bytes.capacity() > ARENA_RETAIN_BYTES {
                self.bytes = Vec::new();
                self.items = VecDeque::new();
            }
        }
        Some(to)
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.items.capacity() * size_of::<(A, u32, u32)>()
    }
}
