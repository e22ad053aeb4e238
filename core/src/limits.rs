//! Limits every layer enforces on what a peer may send.
//!
//! Limits are configuration, never guesses: going over one is a typed error, checked before any
//! byte the limit concerns is buffered (`docs/wire-protocol.md`, "Message size limit").

/// Pyro5's default `MAX_MESSAGE_SIZE`: 1 GiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = 1 << 30;

/// The default [`Limits::max_nesting`]: 128 levels, below what Python itself reads (serpent
/// refuses more than 200 nested brackets, json about 1000, msgpack 1024, marshal 2000).
pub const DEFAULT_MAX_NESTING: usize = 128;

/// Size limits for one connection.
///
/// A firmware builds its limits in a `const` (the defaults are [`Limits::DEFAULT`]):
/// ```
/// use pyro5_core::limits::Limits;
///
/// // 2 KiB messages; lists, tuples, dicts and sets at most 16 levels deep.
/// const LIMITS: Limits = Limits { max_message_size: 2048, max_nesting: 16, ..Limits::DEFAULT };
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Largest `data_size + annotations_size` accepted or sent (the 40-byte header is not
    /// counted; equal is allowed), as Pyro's `MAX_MESSAGE_SIZE`. The receive storage may
    /// lower the effective limit further: a message must fit in it.
    pub max_message_size: u32,
    /// How deeply containers (tuples, lists, dicts, sets) may nest in a payload that is read
    /// — call arguments and keyword arguments, handshake data, replies — in every
    /// serializer; one more level is refused with the error Python gives for a payload
    /// nested too deeply (serpent `SyntaxError`, json `RecursionError`, marshal
    /// `ValueError`, msgpack `StackError`).
    ///
    /// Reading a payload recurses once per level (serpent) or once per few levels (the
    /// others), so this limit bounds the stack a peer can make the daemon use. Serving a
    /// call on a Cortex-M4 (opt-level `"z"`) costs about 64 bytes of stack a level with
    /// serpent, 30 with marshal, 16 with msgpack and next to nothing with json, on top of
    /// the 4 to 6 KiB an ordinary call takes: with the default limit, up to about 14 KiB.
    /// A microcontroller should lower the limit to what its objects take, typically 16 to
    /// 32 (a call takes 2 levels itself: the call and its arguments), and size its stack
    /// for it. Deserializing into a recursive type of your own (a dynamic `Value`, nested
    /// `Vec`s) adds that type's frames to each level.
    pub max_nesting: usize,
}

impl Limits {
    /// Pyro5's defaults: `MAX_MESSAGE_SIZE` of 1 GiB, and [`DEFAULT_MAX_NESTING`] levels.
    pub const DEFAULT: Self = Self { max_message_size: DEFAULT_MAX_MESSAGE_SIZE, max_nesting: DEFAULT_MAX_NESTING };

    /// The default limits with the given maximum message size.
    pub const fn with_max_message_size(max_message_size: u32) -> Self {
        Self { max_message_size, ..Self::DEFAULT }
    }
}

impl Default for Limits {
    /// [`Limits::DEFAULT`].
    fn default() -> Self {
        Self::DEFAULT
    }
}
