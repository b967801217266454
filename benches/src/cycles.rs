//! A criterion measurement in CPU cycles, read from the time-stamp counter.
//!
//! On x86_64 the TSC of every CPU this project targets is invariant: it
//! ticks at a constant rate (the nominal frequency) whatever the power state,
//! and is synchronised across cores. Its counts are therefore *reference*
//! cycles — on a core running at its nominal clock, exactly core cycles; on
//! a boosted or throttled core, time expressed in nominal cycles. That is the
//! unit of the design's "8 ticks" budget as measured by `rdtsc`, the same
//! counter other tick-budget harnesses read. On other architectures the
//! measurement falls back to nanoseconds and says so in its unit.

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};

/// Reads the time-stamp counter.
#[inline]
pub fn read_tsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` exists on every x86_64 CPU, reads a counter and
        // touches no memory.
        #[allow(unsafe_code)]
        unsafe {
            core::arch::x86_64::_rdtsc()
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_nanos() as u64
    }
}

/// The unit this measurement reports in.
#[cfg(target_arch = "x86_64")]
const UNIT: &str = "cycles";
#[cfg(not(target_arch = "x86_64"))]
const UNIT: &str = "ns (no TSC)";

/// Criterion measurement in TSC cycles.
#[derive(Clone, Copy, Debug, Default)]
pub struct TscCycles;

struct CyclesFormatter;

impl ValueFormatter for CyclesFormatter {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        UNIT
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per = match throughput {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => {
                *n as f64
            }
        };
        for v in values.iter_mut() {
            *v /= per.max(1.0);
        }
        match throughput {
            Throughput::Elements(_) => "cycles/element",
            _ => "cycles/byte",
        }
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        UNIT
    }
}

impl Measurement for TscCycles {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        read_tsc()
    }

    fn end(&self, start: u64) -> u64 {
        read_tsc().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &CyclesFormatter
    }
}
