//! Colony's protocol core: the wire format, channels and (in later modules)
//! the agent state machine, written once and run unmodified by every host.
//!
//! The core is **sans-IO**: it contains no networking code, never reads a
//! clock (time is a value passed in), never spawns or sleeps, and draws
//! randomness only from an RNG handed to it. Agents exchange bytes — a
//! 32-byte [`header::CompactHeader`] followed by a payload — on every host, so
//! the wire format is exercised in every run. `core/clippy.toml` enforces the
//! rules that keep it deterministic.
//!
//! Modules:
//! - [`header`]: the compact header, read in place with `zerocopy`;
//! - [`msg_type`], [`priority`], [`agent_id`]: the values it carries;
//! - [`channel`]: FNV-1a channel ids and the subscription table;
//! - [`payload`], [`message`]: typed MessagePack payloads and owned messages;
//! - [`extended`]: the design's JSON message and its bridge to the compact form;
//! - [`node`]: the agent state machine ([`node::Node`]): gossip, membership,
//!   attention, flooding prevention; with [`config`], [`control`] (protocol
//!   messages), [`id_set`] (duplicate filter), [`rate`], [`rng`], [`time`],
//!   [`address`].

#![forbid(unsafe_code)]

pub mod address;
pub mod agent_id;
pub mod channel;
pub mod config;
pub mod control;
pub mod extended;
mod grow;
pub mod header;
pub mod id_set;
pub mod message;
pub mod msg_type;
pub mod node;
pub mod payload;
pub mod priority;
pub mod rate;
pub mod rng;
pub mod signing;
pub mod time;

pub use agent_id::AgentId;
pub use channel::{Channel, StandardChannel, SubscriptionTable, fnv1a_32};
pub use header::{CompactHeader, HEADER_LEN, HeaderError};
pub use message::{Message, MessageId};
pub use msg_type::MsgType;
pub use node::{Command, Event, Input, Node};
pub use payload::Payload;
pub use priority::{AttentionMode, Priority};
