//! A cache prefetch hint for the engine's hot loop.
//!
//! A million agents' state is far larger than any cache, and a chunk visits
//! its agents in id order with gaps: each visit starts with a DRAM miss on
//! the agent's node. Hinting the next agents' nodes a few steps ahead lets
//! those misses overlap with useful work.
//!
//! This is the only `unsafe` in Colony. A prefetch is a hint: it cannot
//! fault, does not read or write memory as far as the program can observe,
//! and has no effect on results — only on timing.

/// Hints the CPU to bring the cache lines of `value` into cache.
#[inline]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        /// Bytes per cache line on every x86_64 this runs on.
        const LINE: usize = 64;
        // Every line the value overlaps: one per 64 bytes from its start,
        // plus the line of its last byte — a value that does not start on a
        // line boundary spans one line more than its size suggests (a
        // 600-byte node at offset 56 of a line ends in its 11th line). A
        // constant count, so the loop unrolls.
        let start = value as *const T as *const u8;
        let size = size_of::<T>().max(1);
        for line in 0..size.div_ceil(LINE) {
            prefetch_line(start.wrapping_add(line * LINE));
        }
        prefetch_line(start.wrapping_add(size - 1));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Hints the CPU to bring the cache line at `address` into cache; a null or
/// dangling address is fine (a prefetch never faults).
#[inline]
pub(crate) fn prefetch_line(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: `_mm_prefetch` only needs SSE, which every x86_64 CPU
        // has, and is defined for any address: it never faults.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(address.cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}
