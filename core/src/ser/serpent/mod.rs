//! The serpent format (serializer id 1, Pyro's default; `docs/serializers.md`, "serpent"):
//! Python literal text.
//!
//! Writing is byte for byte what serpent 1.43's `serpent.dumps(obj, indent=False,
//! module_in_classname=True, bytes_repr=False)` writes for the same Python value: the header
//! line `# serpent utf-8 python3.2`, then one literal without whitespace. Floats are Python's
//! `repr` (infinities `1e30000`, NaN `{'__class__':'float','value':'nan'}`), strings Python's
//! `repr` (escaping exactly what CPython 3.11 calls non-printable), bytes serpent's base64
//! dict `{'data': '...', 'encoding': 'base64'}`. Python's tuples, sets, complex numbers and
//! big integers come from the contract in [`python`](crate::ser::python).
//!
//! Reading accepts what Python's `ast.literal_eval` accepts: comments, whitespace and line
//! continuations between tokens, every int, float, imaginary and string literal form
//! (prefixes, triple quotes, escapes, adjacent literals concatenated), `a+bj` complex
//! numbers (computed as Python does), tuples with or without parentheses, lists, dicts, sets
//! and `set()`; it refuses what Python refuses (unhashable dict keys, decimal int literals of
//! more than 4300 digits, NUL bytes...) with Python's exception class in
//! [`Error::pyro_class`]. Besides, as Pyro does, a float target (and `deserialize_any`) reads
//! the NaN dict `{'__class__':'float','value':...}` (with `'__class__'` as its first key) as
//! NaN, and a bytes target reads serpent's base64 dict as well as a `b'...'` literal. The
//! whole payload is checked before the first value is handed out. Typed targets see sets and
//! tuples as sequences, complex numbers as `(re, im)` and ints wider than 128 bits as decimal
//! text; exact mode ([`python::VALUE`](crate::ser::python::VALUE)) reports Python's types.
//!
//! Not supported: `\N{...}` escapes, strings holding lone surrogates (Rust strings cannot),
//! `Ellipsis` (all typed errors). More lenient than Python: an indented line after a leading
//! line continuation, a last line of only whitespace without a newline. Where text is both
//! invalid syntax and not a literal, the error class may be `ValueError` where Python says
//! `SyntaxError` (Python parses everything before evaluating).
//!
//! Nothing allocates: strings and bytes without escapes are borrowed from the payload;
//! others are unescaped into a caller's scratch buffer ([`from_slice_with_scratch`]) or,
//! with the `alloc` feature, into a `String`/`Vec`.
//!
//! # Example
//! ```
//! use pyro5_core::ser::serpent;
//!
//! // What Pyro5's `dumpsCall("obj_id", "method", (1, "two"), {"kw": 3.5})` sends.
//! let payload = include_bytes!("../../../../testdata/payloads/serpent/call_simple.bin");
//! assert_eq!(&payload[..], b"# serpent utf-8 python3.2\n('obj_id','method',(1,'two'),{'kw':3.5})");
//!
//! #[derive(serde::Deserialize, serde::Serialize)]
//! struct Kwargs {
//!     kw: f64,
//! }
//! let (object, method, args, kwargs): (&str, &str, (i64, &str), Kwargs) = serpent::from_slice(payload)?;
//! assert_eq!((object, method, args, kwargs.kw), ("obj_id", "method", (1, "two"), 3.5));
//!
//! let mut buf = [0u8; 128];
//! let len = serpent::to_slice(&(object, method, args, kwargs), &mut buf)?;
//! assert_eq!(&buf[..len], &payload[..]);
//!
//! // One value's span, e.g. to pick arguments out of a call lazily.
//! let (span, rest) = serpent::skip_value(b"(1,'two'),{'kw':3.5})")?;
//! assert_eq!((span, rest), (&b"(1,'two')"[..], &b",{'kw':3.5})"[..]));
//! # Ok::<(), serpent::Error>(())
//! ```
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

mod de;
mod error;
mod lex;
mod parse;
mod printable;
mod quick;
mod ser;

use serde::{Deserialize, Serialize};

pub use self::de::Deserializer;
pub use self::error::Error;
pub use self::ser::{Compound, Serializer};
use crate::ser::DEFAULT_MAX_DEPTH;
use crate::ser::output::Output;

/// The line serpent writes before every value.
pub const HEADER: &[u8] = b"# serpent utf-8 python3.2\n";

/// Write `value` as a serpent payload (header line included) into `out`.
///
/// # Errors
/// [`Error::Output`] when `out` fails or is full; [`Error::UnhashableKey`] for a dict key or
/// set element serpent refuses; [`Error::InvalidBigInt`] / [`Error::InvalidComplex`] for a
/// malformed contract newtype; errors of the value's `Serialize`.
pub fn to_output<O: Output, T: ?Sized + Serialize>(value: &T, out: &mut O) -> Result<(), Error> {
    let mut ser = Serializer::new(out);
    value.serialize(&mut ser)
}

output_functions!("a serpent payload");

/// Read a whole serpent payload as a `T`; only whitespace and comments may follow the value.
///
/// Strings with escapes need the `alloc` feature here; without it use
/// [`from_slice_with_scratch`].
///
/// # Errors
/// Input errors with their byte offset ([`Error::Syntax`], [`Error::Malformed`],
/// [`Error::InvalidUtf8`], [`Error::DepthLimit`]...), [`Error::InvalidType`] and serde's
/// errors when the value does not fit `T`.
pub fn from_slice<'de, T: Deserialize<'de>>(input: &'de [u8]) -> Result<T, Error> {
    let mut de = Deserializer::new(input);
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// As [`from_slice`], with containers nested at most `max_depth` levels.
pub(crate) fn from_slice_within<'de, T: Deserialize<'de>>(input: &'de [u8], max_depth: usize) -> Result<T, Error> {
    let mut de = Deserializer::new(input).with_max_depth(max_depth);
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// As [`from_slice`], unescaping strings and decoding bytes into `scratch` (the text handed
/// to the visitor lives there only during the visit: `&str` targets need text without
/// escapes, `String`, `char` and the like are fine).
///
/// # Errors
/// As [`from_slice`], and [`Error::ScratchTooSmall`] (without `alloc`).
pub fn from_slice_with_scratch<'de, T: Deserialize<'de>>(input: &'de [u8], scratch: &mut [u8]) -> Result<T, Error> {
    let mut de = Deserializer::new(input).with_scratch(scratch);
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The span of the first value in `input` (after whitespace and comments, such as the header
/// line) and the rest of `input` after it. The value is one expression: a top-level tuple
/// needs its parentheses, and newlines count as whitespace (as inside brackets). Checks that
/// all of `input` is UTF-8 (as Python decodes the whole payload first), and the value's
/// syntax, escapes and nesting ([`DEFAULT_MAX_DEPTH`]); allocates nothing.
///
/// # Errors
/// [`Error::InvalidUtf8`] anywhere in `input`; the other input errors of [`from_slice`]
/// that lie within the value.
pub fn skip_value(input: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    skip_value_within(input, DEFAULT_MAX_DEPTH)
}

/// As [`skip_value`], with containers nested at most `max_depth` levels.
pub(crate) fn skip_value_within(input: &[u8], max_depth: usize) -> Result<(&[u8], &[u8]), Error> {
    let text = core::str::from_utf8(input).map_err(|e| Error::InvalidUtf8 { offset: e.valid_up_to() })?;
    let parser = parse::Parser::new(text, max_depth);
    let start = parser.lx.skip_trivia(0, true)?;
    if let Some(end) = quick::value_end(input, start, max_depth) {
        return Ok((input.get(start..end).unwrap_or_default(), input.get(end..).unwrap_or_default()));
    }
    let expr = parser.expr(start, true, 0)?;
    if let Some(d) = expr.deferred {
        return Err(d.error());
    }
    let span = input.get(expr.start..expr.end).unwrap_or_default();
    if let Some(nul) = span.iter().position(|&b| b == 0) {
        return Err(Error::NulByte { offset: expr.start + nul });
    }
    Ok((span, input.get(expr.end..).unwrap_or_default()))
}
