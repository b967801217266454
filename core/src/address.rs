//! Peer addresses: how the core names a peer it sends to.
//!
//! The core is generic over the address type so the same state machine runs
//! with dense `u32` agent indices in the fast engine (4 bytes per view entry at
//! a million agents) and with socket addresses over UDP. Membership messages
//! carry addresses, so each type has a fixed-length wire form.

use std::net::{Ipv4Addr, SocketAddrV4};

/// A peer address usable by the core.
pub trait Address:
    Copy + Ord + core::hash::Hash + core::fmt::Debug + Send + Sync + 'static
{
    /// Bytes of the wire form.
    const WIRE_LEN: usize;

    /// Writes the wire form into `out[..WIRE_LEN]` (`out` is at least that long).
    fn write_wire(&self, out: &mut [u8]);

    /// Reads the wire form from `bytes[..WIRE_LEN]`; `None` when too short or
    /// not a valid address.
    fn read_wire(bytes: &[u8]) -> Option<Self>;

    /// The address of agent `index` when agents are numbered densely (the
    /// `uniform` peer-sampling mode); `None` for address types without such a
    /// numbering.
    fn from_dense_index(index: u32) -> Option<Self> {
        let _ = index;
        None
    }

    /// The inverse of [`Address::from_dense_index`].
    fn dense_index(&self) -> Option<u32> {
        None
    }
}

impl Address for u32 {
    const WIRE_LEN: usize = 4;

    fn write_wire(&self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.to_be_bytes());
    }

    fn read_wire(bytes: &[u8]) -> Option<Self> {
        Some(u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?))
    }

    fn from_dense_index(index: u32) -> Option<Self> {
        Some(index)
    }

    fn dense_index(&self) -> Option<u32> {
        Some(*self)
    }
}

impl Address for SocketAddrV4 {
    const WIRE_LEN: usize = 6;

    fn write_wire(&self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.ip().octets());
        out[4..6].copy_from_slice(&self.port().to_be_bytes());
    }

    fn read_wire(bytes: &[u8]) -> Option<Self> {
        let b = bytes.get(..6)?;
        let ip = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
        Some(SocketAddrV4::new(ip, u16::from_be_bytes([b[4], b[5]])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<A: Address + PartialEq>(a: A) {
        let mut buf = vec![0u8; A::WIRE_LEN];
        a.write_wire(&mut buf);
        assert_eq!(A::read_wire(&buf), Some(a));
        assert_eq!(A::read_wire(&buf[..A::WIRE_LEN - 1]), None);
    }

    #[test]
    fn addresses_round_trip_through_their_wire_form() {
        round_trip(7u32);
        round_trip(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4000));
        assert_eq!(<SocketAddrV4 as Address>::from_dense_index(1), None);
    }
}
