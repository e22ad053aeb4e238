//! The msgpack format (serializer id 4, `docs/serializers.md`, "msgpack"): what Pyro5 writes
//! with `msgpack.packb(x, use_bin_type=True, default=...)` and reads with
//! `msgpack.unpackb(raw=False, ext_hook=...)`.
//!
//! # Writing
//! Byte for byte as Python: integers in the smallest form (non-negative ones in the
//! unsigned forms), floats (`f32` too) always as float64, `str`/`bin`/array/map forms chosen
//! by length, Rust tuples, sequences and [`python::Set`](crate::ser::python::Set) as arrays,
//! structs and maps as maps, unit and `None` as nil, a unit variant as its name and other
//! variants as a one-entry map `{name: value}`. Python types msgpack lacks use Pyro5's ext
//! types: an integer outside `i64..=u64` (an `i128`/`u128`, or a
//! [`python::BigInt`](crate::ser::python::BigInt)) is ext 0x31 with its decimal text, a
//! [`python::Complex`](crate::ser::python::Complex) ext 0x30 with two little-endian `f64`.
//! A [`python::FrozenSet`](crate::ser::python::FrozenSet) is refused ([`Error::FrozenSet`]),
//! as Pyro5 refuses it. Nothing is allocated; sequences and maps must say their length
//! up front ([`Error::UnknownLength`] otherwise).
//!
//! # Reading
//! All msgpack forms. `str` (which must be UTF-8) and `bin` are borrowed from the input, so
//! msgpack needs no scratch buffer. Arrays come as sequences (Python would give lists; a
//! target may take them as tuples), maps as maps with keys of any type: Pyro5's Python side
//! refuses keys that are not `str`/`bytes` (`strict_map_key`), this deserializer hands them
//! over. Pyro5's ext types:
//! - 0x30 complex: a 2-tuple `(re, im)` (a [`python::Complex`](crate::ser::python::Complex));
//! - 0x31 int: an integer in whatever integer type fits (`i64`, `u64`, `i128`, `u128`);
//!   otherwise its decimal text, borrowed by [`python::BigInt`](crate::ser::python::BigInt)
//!   (which can borrow the text of any ext 0x31 value, but not of a plain msgpack int);
//! - 0x32 datetime: for now the raw `f64` timestamp (`datetime.timestamp()` in the sender's
//!   local time);
//! - 0x33 date: for now the raw `i64` ordinal (`date.toordinal()`, 8 bytes as Linux Python
//!   writes it);
//! - anything else (msgpack's own timestamp ext -1 included): [`Error::UnknownExtCode`],
//!   "invalid ext code for msgpack: N" as Pyro5 says.
//!
//! Exact mode (see [`python`](crate::ser::python)) reports complex numbers and integers
//! beyond 128 bits as the contract's token maps; msgpack has no tuples or sets, so arrays
//! are always lists there. Arrays and maps that announce more items than bytes remain are
//! refused before anything is reserved; nesting is limited (by default to
//! [`DEFAULT_MAX_DEPTH`](crate::ser::DEFAULT_MAX_DEPTH)).
//!
//! `is_human_readable()` is `true` both ways, so types with a text form (addresses, UUIDs)
//! use it, as they do in the text formats and as Python sends a UUID.
//!
//! # Example
//! ```
//! use pyro5_core::ser::msgpack;
//!
//! // What Python's Pyro5 sends for `proxy.method(1, "two", kw=3.5)` on object "obj_id".
//! let payload = include_bytes!("../../../../testdata/payloads/msgpack/call_simple.bin");
//!
//! #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
//! struct Kwargs { kw: f64 }
//! let call: (&str, &str, (i64, &str), Kwargs) = msgpack::from_slice(payload)?;
//! assert_eq!(call, ("obj_id", "method", (1, "two"), Kwargs { kw: 3.5 }));
//!
//! let mut buf = [0u8; 64];
//! let len = msgpack::to_slice(&call, &mut buf)?;
//! assert_eq!(&buf[..len], payload);
//! # Ok::<(), msgpack::Error>(())
//! ```

#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

mod de;
mod error;
mod ser;

use serde::{Deserialize, Serialize};

pub use de::Deserializer;
pub use error::Error;
pub use ser::{Compound, Serializer};

use crate::ser::output::Output;

/// Write `value` as msgpack into `out`.
///
/// # Errors
/// When `out` fails or `value` cannot be written (see [`Error`]).
pub fn to_output<O: Output, T: ?Sized + Serialize>(value: &T, out: &mut O) -> Result<(), Error> {
    value.serialize(&mut Serializer::new(out))
}

output_functions!("msgpack");

/// Read a `T` from `input`, which must hold exactly one msgpack value.
///
/// # Errors
/// When the input is malformed, does not fit `T`, or has bytes after the value.
pub fn from_slice<'de, T: Deserialize<'de>>(input: &'de [u8]) -> Result<T, Error> {
    let mut de = Deserializer::new(input);
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// As [`from_slice`], refusing map keys other than `str` and `bytes` as Pyro5 does on
/// receive ([`Deserializer::with_strict_map_keys`]).
///
/// # Errors
/// As [`from_slice`], and [`Error::MapKeyNotAllowed`].
pub fn from_slice_strict_keys<'de, T: Deserialize<'de>>(input: &'de [u8]) -> Result<T, Error> {
    let mut de = Deserializer::new(input).with_strict_map_keys();
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// As [`from_slice_strict_keys`], with arrays and maps nested at most `max_depth` levels.
pub(crate) fn from_slice_strict_keys_within<'de, T: Deserialize<'de>>(
    input: &'de [u8],
    max_depth: usize,
) -> Result<T, Error> {
    let mut de = Deserializer::new(input).with_strict_map_keys().with_max_depth(max_depth);
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Split `input` after its first msgpack value: `(value, rest)`. The value is checked as
/// deserializing checks it (UTF-8, Pyro5's ext types, the default depth limit); nothing is
/// allocated.
///
/// # Errors
/// When the first value is malformed or incomplete.
pub fn skip_value(input: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    skip_value_within(input, crate::ser::DEFAULT_MAX_DEPTH)
}

/// As [`skip_value`], with arrays and maps nested at most `max_depth` levels.
pub(crate) fn skip_value_within(input: &[u8], max_depth: usize) -> Result<(&[u8], &[u8]), Error> {
    let mut de = Deserializer::new(input).with_max_depth(max_depth);
    de.skip_value()?;
    input.split_at_checked(de.offset()).ok_or(Error::Truncated { offset: 0 })
}
