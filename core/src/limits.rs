//! Limits every layer enforces on what a peer may send.
//!
//! Limits are configuration, never guesses: going over one is a typed error, checked before
//! any byte the limit concerns is buffered (spec `PROTOCOL.md` §2.4).

/// Pyro5's default `MAX_MESSAGE_SIZE`: 1 GiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = 1 << 30;

/// Size limits for one connection.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Largest `data_size + annotations_size` accepted or sent (the 40-byte header is not
    /// counted; equal is allowed), as Pyro's `MAX_MESSAGE_SIZE`. The receive storage may
    /// lower the effective limit further: a message must fit in it.
    pub max_message_size: u32,
}

impl Limits {
    /// Limits with the given maximum message size.
    pub const fn with_max_message_size(max_message_size: u32) -> Self {
        Self { max_message_size }
    }
}

impl Default for Limits {
    /// Pyro5's defaults (`MAX_MESSAGE_SIZE` = 1 GiB).
    fn default() -> Self {
        Self { max_message_size: DEFAULT_MAX_MESSAGE_SIZE }
    }
}
