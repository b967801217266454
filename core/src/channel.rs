//! Channels: names, their FNV-1a 32 ids, and an agent's subscription table.
//!
//! A channel travels on the wire only as `channel_hash`, the FNV-1a 32 hash of
//! its name, computed at compile time for the standard channels. Two names can
//! share a hash; the [`SubscriptionTable`] refuses the second one rather than
//! silently mixing two channels' traffic.

use core::fmt;

use crate::priority::Priority;

/// FNV-1a 32-bit offset basis (FNV specification, draft-eastlake-fnv).
const FNV_OFFSET_BASIS_32: u32 = 0x811C_9DC5;
/// FNV 32-bit prime.
const FNV_PRIME_32: u32 = 0x0100_0193;

/// FNV-1a, 32 bit: xor each byte in, then multiply by the FNV prime.
pub const fn fnv1a_32(bytes: &[u8]) -> u32 {
    let mut hash = FNV_OFFSET_BASIS_32;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u32;
        hash = hash.wrapping_mul(FNV_PRIME_32);
        i += 1;
    }
    hash
}

/// Prefix of user-defined channels.
pub const CUSTOM_PREFIX: &str = "custom:";

/// Longest custom channel name after the prefix. Channel names travel only as
/// hashes, but they appear in JSON messages, reports and error messages; 64
/// bytes is ample for a team or topic name and bounds what a table can hold.
pub const CUSTOM_NAME_LEN_MAX: usize = 64;

/// Most custom channels one agent may subscribe to. Each costs a table entry
/// per agent; at a million agents the table must stay small. Subscribing past
/// this bound fails with [`SubscribeError::TableFull`].
pub const CUSTOM_SUBSCRIPTIONS_MAX: usize = 16;

macro_rules! standard_channels {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $priority:ident, $subscribed:literal; )*) => {
        /// The channels every agent knows (ARCHITECTURE.md, "Channels").
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum StandardChannel {
            $( $(#[$doc])* $variant, )*
        }

        impl StandardChannel {
            /// Every standard channel.
            pub const ALL: [StandardChannel; 7] = [$(StandardChannel::$variant),*];

            /// The channel's name.
            pub const fn name(self) -> &'static str {
                match self { $( StandardChannel::$variant => $name, )* }
            }

            /// The priority messages on this channel get unless the sender says otherwise.
            pub const fn default_priority(self) -> Priority {
                match self { $( StandardChannel::$variant => Priority::$priority, )* }
            }

            /// Whether a new agent subscribes to it.
            pub const fn subscribed_by_default(self) -> bool {
                match self { $( StandardChannel::$variant => $subscribed, )* }
            }

            /// The channel's id on the wire, computed at compile time.
            pub const fn hash(self) -> u32 {
                match self { $( StandardChannel::$variant => const { fnv1a_32($name.as_bytes()) }, )* }
            }
        }
    };
}

standard_channels! {
    /// Join/leave announcements.
    Presence = "_presence", Normal, true;
    /// Status updates ("working on X").
    Status = "_status", Background, true;
    /// Suggestions from other agents.
    Suggestions = "_suggestions", Normal, true;
    /// Bug reports from other agents.
    Bugs = "_bugs", Normal, true;
    /// Error broadcasts.
    Errors = "_errors", Critical, true;
    /// LLM rate limits and usage statistics.
    LlmUsage = "_llm_usage", Background, true;
    /// Debug and verbose logging.
    Debug = "_debug", Background, false;
}

impl StandardChannel {
    /// The standard channel with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        StandardChannel::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The standard channel with this wire id.
    pub fn from_hash(hash: u32) -> Option<Self> {
        StandardChannel::ALL.into_iter().find(|c| c.hash() == hash)
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A channel: standard, or `custom:NAME`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// One of the seven standard channels.
    Standard(StandardChannel),
    /// A user channel; holds the NAME after `custom:`.
    Custom(Box<str>),
}

/// Why a channel name is not valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelNameError {
    /// Neither a standard name nor `custom:NAME`.
    UnknownChannel(String),
    /// `custom:` with nothing after it.
    EmptyCustomName,
    /// The custom name is longer than [`CUSTOM_NAME_LEN_MAX`].
    CustomNameTooLong(usize),
    /// The custom name has a character other than ASCII letters, digits, `-`, `_`, `.`.
    InvalidCharacter(char),
}

impl fmt::Display for ChannelNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelNameError::UnknownChannel(name) => write!(
                f,
                "unknown channel {name:?}: use a standard channel (_presence, _status, _suggestions, \
                 _bugs, _errors, _llm_usage, _debug) or custom:NAME"
            ),
            ChannelNameError::EmptyCustomName => write!(f, "custom channel name is empty"),
            ChannelNameError::CustomNameTooLong(len) => {
                write!(
                    f,
                    "custom channel name of {len} bytes exceeds {CUSTOM_NAME_LEN_MAX}"
                )
            }
            ChannelNameError::InvalidCharacter(c) => write!(
                f,
                "custom channel names use ASCII letters, digits, '-', '_' and '.', not {c:?}"
            ),
        }
    }
}

impl std::error::Error for ChannelNameError {}

impl Channel {
    /// Parses `_presence` … `_debug` or `custom:NAME`.
    pub fn parse(name: &str) -> Result<Self, ChannelNameError> {
        if let Some(standard) = StandardChannel::from_name(name) {
            return Ok(Channel::Standard(standard));
        }
        let Some(custom) = name.strip_prefix(CUSTOM_PREFIX) else {
            return Err(ChannelNameError::UnknownChannel(name.to_owned()));
        };
        if custom.is_empty() {
            return Err(ChannelNameError::EmptyCustomName);
        }
        if custom.len() > CUSTOM_NAME_LEN_MAX {
            return Err(ChannelNameError::CustomNameTooLong(custom.len()));
        }
        if let Some(bad) = custom
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(ChannelNameError::InvalidCharacter(bad));
        }
        Ok(Channel::Custom(custom.into()))
    }

    /// The channel's id on the wire.
    pub fn hash(&self) -> u32 {
        match self {
            Channel::Standard(standard) => standard.hash(),
            Channel::Custom(_) => fnv1a_32(self.to_string().as_bytes()),
        }
    }

    /// Default priority: the standard channel's, Normal for custom channels.
    pub fn default_priority(&self) -> Priority {
        match self {
            Channel::Standard(standard) => standard.default_priority(),
            Channel::Custom(_) => Priority::Normal,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::Standard(standard) => f.write_str(standard.name()),
            Channel::Custom(name) => write!(f, "{CUSTOM_PREFIX}{name}"),
        }
    }
}

/// Why a subscription was refused. The table is unchanged in every case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscribeError {
    /// Another subscribed channel already has this hash; traffic of the two
    /// could not be told apart.
    HashCollision {
        /// The channel already subscribed.
        existing: Channel,
        /// The channel refused.
        refused: Channel,
        /// Their common hash.
        hash: u32,
    },
    /// Already [`CUSTOM_SUBSCRIPTIONS_MAX`] custom channels.
    TableFull,
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscribeError::HashCollision {
                existing,
                refused,
                hash,
            } => write!(
                f,
                "channel {refused} has the same FNV-1a hash {hash:#010x} as subscribed channel \
                 {existing}; rename it"
            ),
            SubscribeError::TableFull => write!(
                f,
                "already subscribed to {CUSTOM_SUBSCRIPTIONS_MAX} custom channels"
            ),
        }
    }
}

impl std::error::Error for SubscribeError {}

/// The channels one agent delivers. Standard channels are one bit each;
/// custom channels sit in a small vector sorted by hash, behind a pointer
/// allocated at the first one (most agents of a large run subscribe to none:
/// the table is 16 bytes). Lookup by hash is the hot path's channel filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionTable {
    standard_bits: u8,
    /// Never `Some` of an empty vector, so that equal tables compare equal.
    custom: Option<Box<CustomChannels>>,
}

/// Custom subscriptions as (hash, name), sorted by hash.
type CustomChannels = Vec<(u32, Box<str>)>;

impl Default for SubscriptionTable {
    /// The default subscriptions: every standard channel but `_debug`.
    fn default() -> Self {
        let standard_bits = StandardChannel::ALL
            .into_iter()
            .filter(|c| c.subscribed_by_default())
            .fold(0, |bits, c| bits | c.bit());
        SubscriptionTable {
            standard_bits,
            custom: None,
        }
    }
}

impl SubscriptionTable {
    /// A table with no subscription at all.
    pub fn empty() -> Self {
        SubscriptionTable {
            standard_bits: 0,
            custom: None,
        }
    }

    /// The custom subscriptions, sorted by hash.
    fn custom(&self) -> &[(u32, Box<str>)] {
        self.custom.as_deref().map_or(&[], Vec::as_slice)
    }

    /// Whether messages with this wire id are delivered.
    #[inline]
    pub fn contains_hash(&self, hash: u32) -> bool {
        if let Some(standard) = StandardChannel::from_hash(hash) {
            return self.standard_bits & standard.bit() != 0;
        }
        self.custom()
            .binary_search_by_key(&hash, |(h, _)| *h)
            .is_ok()
    }

    /// Whether this channel is subscribed.
    pub fn contains(&self, channel: &Channel) -> bool {
        match channel {
            Channel::Standard(standard) => self.standard_bits & standard.bit() != 0,
            Channel::Custom(name) => self
                .custom()
                .binary_search_by_key(&channel.hash(), |(h, _)| *h)
                .is_ok_and(|i| self.custom()[i].1 == *name),
        }
    }

    /// Subscribes; `Ok(false)` when already subscribed.
    pub fn subscribe(&mut self, channel: &Channel) -> Result<bool, SubscribeError> {
        let hash = channel.hash();
        let name = match channel {
            Channel::Standard(standard) => {
                let was = self.standard_bits & standard.bit() != 0;
                self.standard_bits |= standard.bit();
                return Ok(!was);
            }
            Channel::Custom(name) => name,
        };
        if let Some(standard) = StandardChannel::from_hash(hash) {
            return Err(SubscribeError::HashCollision {
                existing: Channel::Standard(standard),
                refused: channel.clone(),
                hash,
            });
        }
        match self.custom().binary_search_by_key(&hash, |(h, _)| *h) {
            Ok(i) if self.custom()[i].1 == *name => Ok(false),
            Ok(i) => Err(SubscribeError::HashCollision {
                existing: Channel::Custom(self.custom()[i].1.clone()),
                refused: channel.clone(),
                hash,
            }),
            Err(_) if self.custom().len() >= CUSTOM_SUBSCRIPTIONS_MAX => {
                Err(SubscribeError::TableFull)
            }
            Err(i) => {
                self.custom
                    .get_or_insert_with(Box::default)
                    .insert(i, (hash, name.clone()));
                Ok(true)
            }
        }
    }

    /// Unsubscribes; returns whether it was subscribed.
    pub fn unsubscribe(&mut self, channel: &Channel) -> bool {
        match channel {
            Channel::Standard(standard) => {
                let was = self.standard_bits & standard.bit() != 0;
                self.standard_bits &= !standard.bit();
                was
            }
            Channel::Custom(name) => {
                let hash = channel.hash();
                match self.custom().binary_search_by_key(&hash, |(h, _)| *h) {
                    Ok(i) if self.custom()[i].1 == *name => {
                        if let Some(custom) = self.custom.as_mut() {
                            custom.remove(i);
                            if custom.is_empty() {
                                self.custom = None;
                            }
                        }
                        true
                    }
                    _ => false,
                }
            }
        }
    }

    /// The subscribed channels: standard ones in declaration order, then custom
    /// ones by hash.
    pub fn channels(&self) -> impl Iterator<Item = Channel> + '_ {
        let standard = StandardChannel::ALL
            .into_iter()
            .filter(|c| self.standard_bits & c.bit() != 0)
            .map(Channel::Standard);
        standard.chain(
            self.custom()
                .iter()
                .map(|(_, name)| Channel::Custom(name.clone())),
        )
    }

    /// Heap bytes held (for the per-agent memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.custom.as_ref().map_or(0, |custom| {
            size_of::<CustomChannels>()
                + custom.capacity() * core::mem::size_of::<(u32, Box<str>)>()
        }) + self
            .custom()
            .iter()
            .map(|(_, name)| name.len())
            .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_32_matches_the_published_test_vectors() {
        // From the FNV test suite (Landon Curt Noll, test_fnv.c, FNV-1a 32).
        assert_eq!(fnv1a_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a_32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a_32(b"b"), 0xe70c_2de5);
        assert_eq!(fnv1a_32(b"foobar"), 0xbf9c_f968);
        assert_eq!(fnv1a_32(b"chongo was here!\n"), 0xd49930d5);
    }

    #[test]
    fn standard_channels_have_the_designed_priorities_and_defaults() {
        use StandardChannel::*;
        assert_eq!(Errors.default_priority(), Priority::Critical);
        assert_eq!(Status.default_priority(), Priority::Background);
        assert_eq!(LlmUsage.default_priority(), Priority::Background);
        assert_eq!(Presence.default_priority(), Priority::Normal);
        assert!(!Debug.subscribed_by_default());
        let table = SubscriptionTable::default();
        for channel in StandardChannel::ALL {
            assert_eq!(table.contains_hash(channel.hash()), channel != Debug);
            assert_eq!(channel.hash(), fnv1a_32(channel.name().as_bytes()));
        }
    }

    #[test]
    fn standard_channel_hashes_are_distinct() {
        for a in StandardChannel::ALL {
            for b in StandardChannel::ALL {
                assert_eq!(a == b, a.hash() == b.hash());
            }
        }
    }

    #[test]
    fn channel_names_parse_or_say_why_not() {
        assert_eq!(
            Channel::parse("_errors"),
            Ok(Channel::Standard(StandardChannel::Errors))
        );
        assert_eq!(
            Channel::parse("custom:my-team"),
            Ok(Channel::Custom("my-team".into()))
        );
        assert_eq!(
            Channel::parse("custom:"),
            Err(ChannelNameError::EmptyCustomName)
        );
        assert_eq!(
            Channel::parse("custom:a b"),
            Err(ChannelNameError::InvalidCharacter(' '))
        );
        assert!(matches!(
            Channel::parse("errors"),
            Err(ChannelNameError::UnknownChannel(_))
        ));
        let long = format!("custom:{}", "x".repeat(CUSTOM_NAME_LEN_MAX + 1));
        assert_eq!(
            Channel::parse(&long),
            Err(ChannelNameError::CustomNameTooLong(65))
        );
        assert_eq!(
            Channel::parse("custom:my-team").unwrap().to_string(),
            "custom:my-team"
        );
    }

    #[test]
    fn a_second_name_with_the_same_hash_is_refused() {
        // Found by search: both hash to 0x503ed3d8 under FNV-1a 32.
        let first = Channel::parse("custom:agent-229708").unwrap();
        let second = Channel::parse("custom:agent-1034842").unwrap();
        assert_eq!(first.hash(), second.hash());
        let mut table = SubscriptionTable::default();
        assert_eq!(table.subscribe(&first), Ok(true));
        assert_eq!(table.subscribe(&first), Ok(false));
        assert_eq!(
            table.subscribe(&second),
            Err(SubscribeError::HashCollision {
                existing: first.clone(),
                refused: second.clone(),
                hash: 0x503e_d3d8
            })
        );
        assert!(table.contains(&first));
        assert!(!table.contains(&second));
    }

    #[test]
    fn the_custom_table_is_bounded_and_unsubscribe_frees_a_slot() {
        let mut table = SubscriptionTable::empty();
        for i in 0..CUSTOM_SUBSCRIPTIONS_MAX {
            table
                .subscribe(&Channel::parse(&format!("custom:c{i}")).unwrap())
                .unwrap();
        }
        let extra = Channel::parse("custom:extra").unwrap();
        assert_eq!(table.subscribe(&extra), Err(SubscribeError::TableFull));
        assert!(table.unsubscribe(&Channel::parse("custom:c0").unwrap()));
        assert_eq!(table.subscribe(&extra), Ok(true));
        assert!(table.contains_hash(extra.hash()));
        assert_eq!(table.channels().count(), CUSTOM_SUBSCRIPTIONS_MAX);
    }

    #[test]
    fn unsubscribing_the_last_custom_channel_gives_back_an_equal_table() {
        let mut table = SubscriptionTable::default();
        let channel = Channel::parse("custom:ops").unwrap();
        assert_eq!(table.subscribe(&channel), Ok(true));
        assert!(table.contains(&channel) && table.heap_bytes() > 0);
        assert!(table.unsubscribe(&channel));
        assert_eq!(table, SubscriptionTable::default());
        assert_eq!(table.heap_bytes(), 0);
    }
}
