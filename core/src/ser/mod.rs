//! The four Pyro serializers as serde formats (spec `SERIALIZERS.md`).
//!
//! Each of [`serpent`] (id 1), [`marshal`] (2), [`json`] (3) and [`msgpack`] (4) has a
//! serde `Serializer` writing into an [`Output`] (a caller buffer, an
//! `embedded_io::Write`, or a `Vec` with `alloc`) and a `Deserializer` borrowing from the
//! received payload. Python's types that serde lacks travel by the contract in [`python`].
//! Numbers and text follow Python exactly: floats as Python's `repr` ([`float`]).
//!
//! Every deserializer takes input from the network: nesting is limited (by default to
//! [`DEFAULT_MAX_DEPTH`] levels), nothing recurses without that bound, nothing panics, and
//! errors carry the byte offset where the input went wrong.

pub mod envelope;
pub mod float;
pub mod json;
pub mod marshal;
pub mod message;
pub mod msgpack;
pub mod output;
pub mod python;
pub mod serpent;
#[cfg(feature = "alloc")]
pub mod value;

pub use message::Message;
pub use output::{IoOutput, Output, OutputError, SliceOutput};

/// How deeply containers may nest in a payload before a deserializer refuses it.
pub const DEFAULT_MAX_DEPTH: usize = 128;
