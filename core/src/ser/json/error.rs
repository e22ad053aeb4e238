//! The one error type of the json format, for both directions.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use core::fmt;

use crate::ser::message::Message;
use crate::ser::output::OutputError;

/// Why a value could not be written as json, or a payload could not be read.
///
/// Input errors carry the byte offset (from the start of the input given to the
/// deserializer) where the input went wrong.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// Writing the payload failed (for instance the caller's buffer is full).
    Output(OutputError),
    /// A value Pyro5's json serializer refuses: `"bytes"`, `"frozenset"` or `"complex"`.
    Unsupported {
        /// The Python type.
        what: &'static str,
    },
    /// A dict key json cannot carry (Python: `TypeError`).
    UnsupportedKey {
        /// The Python type of the key (`"tuple"`, `"list"`, `"dict"`, `"bytes"`, ...).
        found: &'static str,
    },
    /// A [`BIGINT`](crate::ser::python::BIGINT) value whose text is not a normalized decimal
    /// integer.
    InvalidBigInt,
    /// An integer with more decimal digits than Python converts (Python: `ValueError`).
    IntTooLong {
        /// How many digits it has.
        digits: usize,
        /// Where it starts in the input; `None` when serializing.
        offset: Option<usize>,
    },
    /// The input does not continue as json requires at this point; `what` names what was
    /// expected (`"value"`, `"',' delimiter"`, `"':' delimiter"`,
    /// `"property name enclosed in double quotes"`, ...).
    Expected {
        /// What was expected.
        what: &'static str,
        /// Byte offset.
        offset: usize,
    },
    /// Something other than whitespace follows the value.
    ExtraData {
        /// Byte offset of the first such byte.
        offset: usize,
    },
    /// A string has no closing quote.
    UnterminatedString {
        /// Byte offset of its opening quote.
        offset: usize,
    },
    /// A raw control character (below U+0020) inside a string.
    ControlCharacter {
        /// Byte offset of the character.
        offset: usize,
    },
    /// A backslash followed by something that is not a json escape.
    InvalidEscape {
        /// Byte offset of the backslash.
        offset: usize,
    },
    /// A `\u` not followed by four hexadecimal digits.
    InvalidUnicodeEscape {
        /// Byte offset of the backslash.
        offset: usize,
    },
    /// A `\uXXXX` escape of a surrogate that is not part of a pair. Python accepts it into a
    /// `str`; a Rust string cannot hold it.
    LoneSurrogate {
        /// The surrogate code unit.
        code: u16,
        /// Byte offset of the escape's backslash.
        offset: usize,
    },
    /// Bytes that are not UTF-8.
    InvalidUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// Containers nest deeper than the deserializer's limit.
    DepthLimit {
        /// The limit.
        max: usize,
        /// Byte offset of the container that goes one level too deep.
        offset: usize,
    },
    /// An integer outside the `i128`/`u128` range where the target is not
    /// [`python::BigInt`](crate::ser::python::BigInt) (nor exact mode).
    IntegerTooLarge {
        /// Byte offset of the integer.
        offset: usize,
    },
    /// A bytes target: json has no bytes.
    BytesUnsupported {
        /// Byte offset of the value.
        offset: usize,
    },
    /// The array or object holds more items than the target type takes.
    TrailingItems {
        /// Byte offset of the first item left over.
        offset: usize,
    },
    /// A string with escapes needs a scratch buffer to be unescaped into, and none was given
    /// (and there is no allocator).
    ScratchNeeded {
        /// Byte offset of the string.
        offset: usize,
    },
    /// The scratch buffer is too small for an unescaped string (and there is no allocator).
    ScratchTooSmall {
        /// Bytes the unescaped string needs.
        needed: usize,
        /// Size of the scratch buffer.
        capacity: usize,
        /// Byte offset of the string.
        offset: usize,
    },
    /// An error reported by a `Serialize` or `Deserialize` implementation (type mismatches
    /// included), truncated.
    Custom {
        /// The message.
        message: Message,
        /// Byte offset of the value being deserialized; `None` when serializing.
        offset: Option<usize>,
    },
}

impl Error {
    /// The Python exception class Pyro5 (or Python's `json` module) raises in the same
    /// situation: `"Pyro5.errors.SerializeError"` for what Pyro5 reports as such, else the
    /// Python class, e.g. `"json.decoder.JSONDecodeError"`.
    pub fn pyro_class(&self) -> &'static str {
        match self {
            Self::UnsupportedKey { .. } => "builtins.TypeError",
            Self::InvalidBigInt | Self::IntTooLong { .. } => "builtins.ValueError",
            Self::Expected { .. }
            | Self::ExtraData { .. }
            | Self::UnterminatedString { .. }
            | Self::ControlCharacter { .. }
            | Self::InvalidEscape { .. }
            | Self::InvalidUnicodeEscape { .. } => "json.decoder.JSONDecodeError",
            Self::InvalidUtf8 { .. } => "builtins.UnicodeDecodeError",
            Self::DepthLimit { .. } => "builtins.RecursionError",
            Self::Output(_)
            | Self::Unsupported { .. }
            | Self::LoneSurrogate { .. }
            | Self::IntegerTooLarge { .. }
            | Self::BytesUnsupported { .. }
            | Self::TrailingItems { .. }
            | Self::ScratchNeeded { .. }
            | Self::ScratchTooSmall { .. }
            | Self::Custom { .. } => "Pyro5.errors.SerializeError",
        }
    }

    /// Byte offset in the input where decoding failed, if this is an input error.
    pub fn offset(&self) -> Option<usize> {
        match *self {
            Self::Output(_) | Self::Unsupported { .. } | Self::UnsupportedKey { .. } | Self::InvalidBigInt => None,
            Self::IntTooLong { offset, .. } | Self::Custom { offset, .. } => offset,
            Self::Expected { offset, .. }
            | Self::ExtraData { offset }
            | Self::UnterminatedString { offset }
            | Self::ControlCharacter { offset }
            | Self::InvalidEscape { offset }
            | Self::InvalidUnicodeEscape { offset }
            | Self::LoneSurrogate { offset, .. }
            | Self::InvalidUtf8 { offset }
            | Self::DepthLimit { offset, .. }
            | Self::IntegerTooLarge { offset }
            | Self::BytesUnsupported { offset }
            | Self::TrailingItems { offset }
            | Self::ScratchNeeded { offset }
            | Self::ScratchTooSmall { offset, .. } => Some(offset),
        }
    }

    /// Give a custom error without a position the offset of the value it arose in.
    pub(crate) fn at(self, at: usize) -> Self {
        match self {
            Self::Custom { message, offset: None } => Self::Custom { message, offset: Some(at) },
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Output(e) => write!(f, "{e}"),
            Self::Unsupported { what } => {
                write!(f, "don't know how to serialize class <class '{what}'> using serializer JsonSerializer")
            }
            Self::UnsupportedKey { found } => write!(f, "keys must be str, int, float, bool or None, not {found}"),
            Self::InvalidBigInt => f.write_str(
                "big integer text is not a decimal integer (an optional '-' and digits without leading zeros)",
            ),
            Self::IntTooLong { digits, offset: Some(offset) } => write!(
                f,
                "integer of {digits} digits at byte {offset} exceeds Python's limit of {} digits",
                super::MAX_INT_DIGITS
            ),
            Self::IntTooLong { digits, offset: None } => {
                write!(f, "integer of {digits} digits exceeds Python's limit of {} digits", super::MAX_INT_DIGITS)
            }
            Self::Expected { what, offset } => write!(f, "expecting {what} at byte {offset}"),
            Self::ExtraData { offset } => write!(f, "extra data after the value at byte {offset}"),
            Self::UnterminatedString { offset } => write!(f, "unterminated string starting at byte {offset}"),
            Self::ControlCharacter { offset } => write!(f, "invalid control character in a string at byte {offset}"),
            Self::InvalidEscape { offset } => write!(f, "invalid \\escape at byte {offset}"),
            Self::InvalidUnicodeEscape { offset } => write!(f, "invalid \\uXXXX escape at byte {offset}"),
            Self::LoneSurrogate { code, offset } => {
                write!(f, "lone surrogate \\u{code:04x} at byte {offset} cannot be held in a Rust string")
            }
            Self::InvalidUtf8 { offset } => write!(f, "invalid utf-8 at byte {offset}"),
            Self::DepthLimit { max, offset } => write!(
                f,
                "containers nest deeper than {max} levels at byte {offset}; raise Limits::max_nesting \
                 (Deserializer::with_max_depth)"
            ),
            Self::IntegerTooLarge { offset } => {
                write!(f, "integer at byte {offset} does not fit in 128 bits; deserialize it as python::BigInt")
            }
            Self::BytesUnsupported { offset } => write!(f, "json has no bytes type (value at byte {offset})"),
            Self::TrailingItems { offset } => {
                write!(f, "more items than the target type takes, from byte {offset}")
            }
            Self::ScratchNeeded { offset } => write!(
                f,
                "string with escapes at byte {offset} needs unescaping; give a scratch buffer \
                 (from_slice_with_scratch) or enable feature alloc"
            ),
            Self::ScratchTooSmall { needed, capacity, offset } => write!(
                f,
                "string at byte {offset} needs {needed} bytes of scratch, the buffer has {capacity}; \
                 give a larger scratch buffer"
            ),
            Self::Custom { message, offset: Some(offset) } => write!(f, "{message} at byte {offset}"),
            Self::Custom { message, offset: None } => write!(f, "{message}"),
        }
    }
}

impl core::error::Error for Error {}

impl From<OutputError> for Error {
    fn from(e: OutputError) -> Self {
        Self::Output(e)
    }
}

impl serde::ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Custom { message: Message::new(&msg), offset: None }
    }
}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Custom { message: Message::new(&msg), offset: None }
    }

    crate::ser::message::invalid_texts!();
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString as _;

    use super::*;

    #[test]
    fn display_is_lowercase_and_names_the_offset_and_knob() {
        let e = Error::DepthLimit { max: 128, offset: 7 };
        let text = e.to_string();
        assert!(text.starts_with("containers nest deeper than 128 levels at byte 7"));
        assert!(text.contains("Limits::max_nesting (Deserializer::with_max_depth)"));
        assert_eq!(e.offset(), Some(7));
        assert_eq!(e.pyro_class(), "builtins.RecursionError");
    }

    #[test]
    fn unsupported_types_read_like_pyro5() {
        let e = Error::Unsupported { what: "bytes" };
        assert_eq!(e.to_string(), "don't know how to serialize class <class 'bytes'> using serializer JsonSerializer");
        assert_eq!(e.pyro_class(), "Pyro5.errors.SerializeError");
        let e = Error::UnsupportedKey { found: "tuple" };
        assert_eq!(e.to_string(), "keys must be str, int, float, bool or None, not tuple");
        assert_eq!(e.pyro_class(), "builtins.TypeError");
    }

    #[test]
    fn custom_errors_take_the_first_offset_given() {
        let e = <Error as serde::de::Error>::custom("bad").at(3).at(9);
        assert_eq!(e.offset(), Some(3));
        assert_eq!(e.to_string(), "bad at byte 3");
        assert_eq!(Error::ExtraData { offset: 1 }.pyro_class(), "json.decoder.JSONDecodeError");
    }
}
