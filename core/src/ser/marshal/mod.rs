//! The marshal format (serializer id 2): CPython's `marshal` module, version 4, as Pyro5's
//! `MarshalSerializer` uses it (`docs/serializers.md`, "marshal").
//!
//! [`Serializer`] writes what `marshal.dumps` writes, except that it never sets FLAG_REF nor
//! writes back-references (`r`) and never marks strings as interned (`Z`/`A`): CPython's choice
//! of those depends on reference counts, and `marshal.loads` reads either form to the same
//! value. [`Deserializer`] reads everything CPython's `marshal.loads` produces for Pyro values,
//! back-references included, borrowing strings and bytes from the input; it allocates nothing
//! (with feature `alloc`, only for more than 64 flagged objects, and for Latin-1 `a`/`z`
//! text when no scratch buffer is given).
//!
//! Python types serde lacks travel by the contract in [`python`](crate::ser::python): sets
//! are `<`, frozensets `>`, complex numbers `y`, integers beyond 128 bits `l` with their
//! decimal text on the Rust side.
//!
//! # Example
//! ```
//! use pyro5_core::ser::marshal;
//!
//! #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
//! struct Kwargs {
//!     kw: f64,
//! }
//!
//! // What Pyro5's MarshalSerializer.dumpsCall("obj_id", "method", (1, "two"), {"kw": 3.5}) sends.
//! let payload = include_bytes!("../../../../testdata/payloads/marshal/call_simple.bin");
//! let call: (&str, &str, (i64, &str), Kwargs) = marshal::from_slice(payload)?;
//! assert_eq!(call, ("obj_id", "method", (1, "two"), Kwargs { kw: 3.5 }));
//!
//! // Written back into a buffer on the stack (the arguments as a tuple this time).
//! let mut buf = [0u8; 64];
//! let len = marshal::to_slice(&call, &mut buf)?;
//! assert_eq!(&buf[..4], b")\x04z\x06");
//! let again: (&str, &str, (i64, &str), Kwargs) = marshal::from_slice(&buf[..len])?;
//! assert_eq!(again, call);
//! # Ok::<(), marshal::Error>(())
//! ```
//!
//! # Limits
//! - Nesting: [`DEFAULT_MAX_DEPTH`](crate::ser::DEFAULT_MAX_DEPTH) levels
//!   ([`Deserializer::with_max_depth`]); CPython stops at 2000.
//! - Back-references re-read the referenced bytes, at most [`DEFAULT_MAX_REF_EXPANSION`]
//!   bytes in total ([`Deserializer::with_max_ref_expansion`]); a reference to an enclosing
//!   object (a cycle Python can build) is an error.
//! - Integers beyond 128 bits convert to decimal text up to [`MAX_LONG_DIGITS`] base-2¹⁵
//!   digits (4110 bits).
//! - A value read alone must be the whole input ([`from_slice`]); CPython ignores trailing
//!   bytes.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

mod de;
mod error;
mod long;
mod ser;

pub use de::{DEFAULT_MAX_REF_EXPANSION, Deserializer, from_slice, from_slice_with_scratch, from_span, skip_value};
pub(crate) use de::{from_span_within, skip_value_within};
pub use error::Error;
pub use long::MAX_LONG_DIGITS;
#[cfg(feature = "alloc")]
pub use ser::to_vec;
pub use ser::{Compound, Serializer, to_output, to_slice, to_writer};
