//! The json format (Pyro serializer id 3, `docs/serializers.md`, "json"): the text Python's
//! `json.dumps(obj, ensure_ascii=False)` writes, read back as Python's `json.loads` reads it.
//!
//! # Writing
//! Byte for byte what Python writes: separators `", "` and `": "`; strings escaped only
//! where Python escapes them (`\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other C0 controls as
//! `\u00xx`), all else raw UTF-8; floats as Python's `repr`, with `NaN`, `Infinity` and
//! `-Infinity`; integers of any width (`i128`, `u128`, [`BigInt`]); tuples, lists and
//! [`Set`] as arrays; dict keys that are ints, floats, bools or None as their json text in
//! quotes. Like Pyro5, it refuses bytes, [`FrozenSet`] and [`Complex`]
//! ([`Error::Unsupported`]), and keys of other types ([`Error::UnsupportedKey`]). Nothing is
//! allocated.
//!
//! # Reading
//! Python's grammar, strict mode: whitespace is ` \t\n\r` only, `NaN`/`Infinity`/`-Infinity`
//! are accepted, `1e400` is infinity, control characters inside strings are refused,
//! surrogate pair escapes are joined. Integers of any size: beyond 128 bits they are read by
//! [`BigInt`] (borrowing the digits) or in exact mode, an error otherwise. Strings without
//! escapes are borrowed from the input; others need a scratch buffer
//! ([`from_slice_with_scratch`]) or feature `alloc`. Duplicate keys are all passed on, in
//! order (Python keeps the last). A lone surrogate escape, which Python accepts into a
//! `str`, is [`Error::LoneSurrogate`].
//!
//! [`skip_value`] finds the span of one value without building it, for decoding call
//! arguments lazily.
//!
//! [`BigInt`]: crate::ser::python::BigInt
//! [`Set`]: crate::ser::python::Set
//! [`FrozenSet`]: crate::ser::python::FrozenSet
//! [`Complex`]: crate::ser::python::Complex
//!
//! # Example
//! A call as Python's Pyro5 writes it (`dumpsCall('obj_id', 'method', (1, 'two'), {'kw': 3.5})`),
//! decoded into borrowed types and written back byte for byte, all without an allocator:
//! ```
//! use pyro5_core::ser::json;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Deserialize, PartialEq, Serialize)]
//! struct Call<'a> {
//!     object: &'a str,
//!     method: &'a str,
//!     params: (i64, &'a str),
//!     kwargs: Kwargs,
//! }
//! #[derive(Debug, Deserialize, PartialEq, Serialize)]
//! struct Kwargs {
//!     kw: f64,
//! }
//!
//! let payload = include_bytes!("../../../../testdata/payloads/json/call_simple.bin");
//! let call: Call = json::from_slice(payload)?;
//! assert_eq!(call, Call { object: "obj_id", method: "method", params: (1, "two"), kwargs: Kwargs { kw: 3.5 } });
//!
//! let mut buf = [0u8; 128];
//! let n = json::to_slice(&call, &mut buf)?;
//! assert_eq!(&buf[..n], &payload[..]);
//!
//! // One value's span, without decoding it: how call arguments are picked out lazily.
//! let (span, rest) = json::skip_value(br#" [1, {"a": null}], "next""#)?;
//! assert_eq!((span, rest), (&br#"[1, {"a": null}]"#[..], &br#", "next""#[..]));
//! # Ok::<(), json::Error>(())
//! ```
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

mod de;
mod error;
mod ser;

use serde::{Deserialize, Serialize};

pub use de::Deserializer;
pub use error::Error;
#[doc(hidden)]
pub use ser::Compound;
pub use ser::Serializer;

use crate::ser::output::Output;

/// The most decimal digits an integer may have: Python refuses to convert longer ones
/// (`sys.get_int_max_str_digits()`, 4300 by default) and raises `ValueError`.
pub const MAX_INT_DIGITS: usize = 4300;

/// Write `value` as json into `out`.
///
/// # Errors
/// [`Error::Output`] when `out` fails or is full; [`Error::Unsupported`],
/// [`Error::UnsupportedKey`] and [`Error::InvalidBigInt`] for values Pyro5's json serializer
/// refuses; errors from `value`'s `Serialize`.
pub fn to_output<O: Output, T: ?Sized + Serialize>(value: &T, out: &mut O) -> Result<(), Error> {
    value.serialize(&mut Serializer::new(out))
}

output_functions!("json");

/// Read a `T` from `input`, which must hold one json value (and whitespace around it).
///
/// Strings with escapes need feature `alloc`, or use [`from_slice_with_scratch`].
///
/// # Errors
/// [`Error::InvalidUtf8`] when `input` is not UTF-8 (checked first, as Python decodes the
/// payload first); a syntax error where the input departs from json; an error from `T`'s
/// `Deserialize` when the value does not fit `T`. Every input error carries its byte offset.
pub fn from_slice<'de, T: Deserialize<'de>>(input: &'de [u8]) -> Result<T, Error> {
    check_utf8(input)?;
    let mut de = Deserializer::new(input);
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// As [`from_slice`], with containers nested at most `max_depth` levels.
pub(crate) fn from_slice_within<'de, T: Deserialize<'de>>(input: &'de [u8], max_depth: usize) -> Result<T, Error> {
    check_utf8(input)?;
    let mut de = Deserializer::new(input).with_max_depth(max_depth);
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Read a `T` from `input` as [`from_slice`] does, unescaping strings with escapes into
/// `scratch` (the length of the longest such string in the input suffices). With feature
/// `alloc`, a string that does not fit is unescaped into a `String` instead.
///
/// # Errors
/// As [`from_slice`]; without feature `alloc`, [`Error::ScratchTooSmall`] when a string
/// does not fit `scratch`.
pub fn from_slice_with_scratch<'de, T: Deserialize<'de>>(input: &'de [u8], scratch: &mut [u8]) -> Result<T, Error> {
    check_utf8(input)?;
    let mut de = Deserializer::new(input).with_scratch(scratch);
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Find the first json value in `input` without building it: returns its span (without the
/// whitespace before it) and the rest of the input after it. Allocates nothing; nesting is
/// limited to [`DEFAULT_MAX_DEPTH`](crate::ser::DEFAULT_MAX_DEPTH) levels.
///
/// # Errors
/// As [`from_slice`] for syntax, UTF-8 inside strings and depth (a lone surrogate escape is
/// accepted here, as Python accepts it).
pub fn skip_value(input: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    skip_value_within(input, crate::ser::DEFAULT_MAX_DEPTH)
}

/// As [`skip_value`], with containers nested at most `max_depth` levels.
pub(crate) fn skip_value_within(input: &[u8], max_depth: usize) -> Result<(&[u8], &[u8]), Error> {
    let start = input.iter().take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')).count();
    let mut de = Deserializer::new(input).with_max_depth(max_depth);
    de.skip_any()?;
    let (head, rest) = input.split_at_checked(de.offset()).unwrap_or((input, &[]));
    Ok((head.get(start..).unwrap_or_default(), rest))
}

fn check_utf8(input: &[u8]) -> Result<(), Error> {
    core::str::from_utf8(input).map(|_| ()).map_err(|e| Error::InvalidUtf8 { offset: e.valid_up_to() })
}
