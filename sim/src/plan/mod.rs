//! The run plan: what a run is ([`SimSpec`], its [`Broadcast`]s), built once
//! and read by every host. Next to the spec: the [`Schedule`] of every
//! command (workload, actions, adversary, joins, crashes), how every node
//! starts and restarts ([`bootstrap`]), and the [`recorder`] that turns
//! what nodes report into delivery records and the trace hash's terms.
//!
//! Hosts differ in how they move datagrams and keep time; nothing here
//! knows which host runs the plan.

pub(crate) mod bootstrap;
pub(crate) mod recorder;
pub(crate) mod schedule;
mod spec;
mod workload;

pub use schedule::JOIN_WAVE_NS;
pub(crate) use schedule::{Due, Schedule, Scheduled};
pub use spec::{CpuGroup, SimSpec, SpecError, StopCondition, Subscription};
pub use workload::{Broadcast, PayloadKind};
