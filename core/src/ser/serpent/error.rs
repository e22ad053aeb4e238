//! What can go wrong writing or reading serpent.

use core::fmt;

use crate::ser::message::Message;
use crate::ser::output::OutputError;

/// Why a value could not be written as serpent, or serpent text could not be read.
///
/// Input errors carry the byte `offset` into the payload (the header line included) where
/// the text went wrong.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The output could not take the serialized bytes.
    Output(OutputError),
    /// A dict key or set element of a type serpent refuses (None, list, dict, set, struct…);
    /// serpent raises `TypeError` for these.
    UnhashableKey {
        /// What the key was.
        found: &'static str,
    },
    /// A [`BIGINT`](crate::ser::python::BIGINT) newtype did not hold decimal text.
    InvalidBigInt,
    /// A [`COMPLEX`](crate::ser::python::COMPLEX) newtype did not hold a pair of numbers.
    InvalidComplex,
    /// The payload is not UTF-8.
    InvalidUtf8 {
        /// Offset of the first byte that is not UTF-8.
        offset: usize,
    },
    /// The payload contains a NUL byte, which `ast.literal_eval` refuses.
    NulByte {
        /// Offset of the NUL.
        offset: usize,
    },
    /// The text is not Python syntax that `ast.literal_eval` parses.
    Syntax {
        /// Offset where parsing failed.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// The line the value starts on is indented (Python's "unexpected indent"; only the
    /// first line of a payload may be).
    Indentation {
        /// Offset of the indented value.
        offset: usize,
    },
    /// Valid Python, but not a literal `ast.literal_eval` evaluates ("malformed node").
    Malformed {
        /// Offset of the expression.
        offset: usize,
        /// What was refused.
        what: &'static str,
    },
    /// A list, dict or set used as a dict key or set element (Python's "unhashable type").
    Unhashable {
        /// Offset of the key or element.
        offset: usize,
    },
    /// Containers nest deeper than the deserializer allows.
    DepthLimit {
        /// Offset of the container that went one level too deep.
        offset: usize,
        /// The limit.
        max: usize,
    },
    /// Text follows the value.
    TrailingCharacters {
        /// Offset of the first extra character.
        offset: usize,
    },
    /// The value does not have the type the target expects.
    InvalidType {
        /// Offset of the value.
        offset: usize,
        /// What the target wanted.
        expected: &'static str,
        /// What the payload holds.
        found: &'static str,
    },
    /// An integer does not fit the target type.
    IntegerOutOfRange {
        /// Offset of the integer.
        offset: usize,
    },
    /// A number that Python would evaluate but that does not fit here: an integer too large
    /// to become a float (in `a+bj`), a hex, octal or binary integer of more than 4300
    /// decimal digits, a float literal of more than 256 characters with underscores.
    NumberTooLarge {
        /// Offset of the number.
        offset: usize,
    },
    /// A string holds a lone surrogate (`'\ud800'`), which a Rust string cannot hold.
    LoneSurrogate {
        /// Offset of the string.
        offset: usize,
    },
    /// A `\N{...}` escape: Unicode character names are not supported.
    NamedEscape {
        /// Offset of the escape.
        offset: usize,
    },
    /// A string or bytes value needs unescaping or decoding, and there is neither a scratch
    /// buffer nor an allocator.
    ScratchNeeded {
        /// Offset of the value.
        offset: usize,
    },
    /// The scratch buffer is too small for an unescaped or decoded value.
    ScratchTooSmall {
        /// Offset of the value.
        offset: usize,
        /// The scratch buffer's size.
        capacity: usize,
    },
    /// The `data` of a serpent bytes dict is not valid base64.
    Base64 {
        /// Offset of the data string.
        offset: usize,
    },
    /// A message from a `Serialize` or `Deserialize` implementation.
    Custom {
        /// Where in the payload, when known.
        offset: Option<usize>,
        /// The message, truncated.
        message: Message,
    },
}

impl Error {
    /// The Python exception class Pyro5 reports for this error, e.g. `"builtins.SyntaxError"`
    /// for text `ast.literal_eval` cannot parse, `"builtins.ValueError"` for a "malformed node",
    /// `"builtins.TypeError"` for an unhashable key, `"Pyro5.errors.SerializeError"` for a value
    /// that does not fit its Rust type or a buffer that is too small.
    pub fn pyro_class(&self) -> &'static str {
        match self {
            Self::UnhashableKey { .. } | Self::Unhashable { .. } => "builtins.TypeError",
            Self::InvalidUtf8 { .. } => "builtins.UnicodeDecodeError",
            Self::NulByte { .. } | Self::Malformed { .. } | Self::InvalidBigInt => "builtins.ValueError",
            Self::Syntax { .. } | Self::DepthLimit { .. } | Self::TrailingCharacters { .. } => "builtins.SyntaxError",
            Self::Indentation { .. } => "builtins.IndentationError",
            Self::Output(_)
            | Self::InvalidComplex
            | Self::InvalidType { .. }
            | Self::IntegerOutOfRange { .. }
            | Self::NumberTooLarge { .. }
            | Self::LoneSurrogate { .. }
            | Self::NamedEscape { .. }
            | Self::ScratchNeeded { .. }
            | Self::ScratchTooSmall { .. }
            | Self::Base64 { .. }
            | Self::Custom { .. } => "Pyro5.errors.SerializeError",
        }
    }

    /// The byte offset in the payload this error points at, for input errors.
    pub fn offset(&self) -> Option<usize> {
        match *self {
            Self::InvalidUtf8 { offset }
            | Self::NulByte { offset }
            | Self::Syntax { offset, .. }
            | Self::Indentation { offset }
            | Self::Malformed { offset, .. }
            | Self::Unhashable { offset }
            | Self::DepthLimit { offset, .. }
            | Self::TrailingCharacters { offset }
            | Self::InvalidType { offset, .. }
            | Self::IntegerOutOfRange { offset }
            | Self::NumberTooLarge { offset }
            | Self::LoneSurrogate { offset }
            | Self::NamedEscape { offset }
            | Self::ScratchNeeded { offset }
            | Self::ScratchTooSmall { offset, .. }
            | Self::Base64 { offset } => Some(offset),
            Self::Custom { offset, .. } => offset,
            Self::Output(_) | Self::UnhashableKey { .. } | Self::InvalidBigInt | Self::InvalidComplex => None,
        }
    }

    /// This error, placed at `offset` if it has no place yet (serde's own errors).
    pub(crate) fn at(self, at: usize) -> Self {
        match self {
            Self::Custom { offset: None, message } => Self::Custom { offset: Some(at), message },
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Output(e) => write!(f, "serpent: {e}"),
            Self::UnhashableKey { found } => {
                write!(
                    f,
                    "serpent: a dict key or set element cannot be {found}; use str, int, float, bool, bytes or tuple"
                )
            }
            Self::InvalidBigInt => f.write_str("serpent: big integer text is not an optional '-' and decimal digits"),
            Self::InvalidComplex => f.write_str("serpent: a complex number must be a pair of floats (re, im)"),
            Self::InvalidUtf8 { offset } => write!(f, "serpent: payload is not utf-8 at byte {offset}"),
            Self::NulByte { offset } => write!(f, "serpent: payload contains a nul byte at byte {offset}"),
            Self::Syntax { offset, what } => write!(f, "serpent: invalid syntax at byte {offset}: {what}"),
            Self::Indentation { offset } => write!(f, "serpent: unexpected indent at byte {offset}"),
            Self::Malformed { offset, what } => write!(f, "serpent: not a python literal at byte {offset}: {what}"),
            Self::Unhashable { offset } => {
                write!(f, "serpent: unhashable dict key or set element (list, dict or set) at byte {offset}")
            }
            Self::DepthLimit { offset, max } => write!(
                f,
                "serpent: nesting deeper than {max} levels at byte {offset}; raise Limits::max_nesting \
                 (Deserializer::with_max_depth)"
            ),
            Self::TrailingCharacters { offset } => {
                write!(f, "serpent: unexpected text after the value at byte {offset}")
            }
            Self::InvalidType { offset, expected, found } => {
                write!(f, "serpent: expected {expected}, found {found} at byte {offset}")
            }
            Self::IntegerOutOfRange { offset } => {
                write!(f, "serpent: integer out of range for the target type at byte {offset}")
            }
            Self::NumberTooLarge { offset } => write!(f, "serpent: number too large to convert at byte {offset}"),
            Self::LoneSurrogate { offset } => {
                write!(f, "serpent: string with a lone surrogate code point at byte {offset}")
            }
            Self::NamedEscape { offset } => write!(f, "serpent: \\N{{...}} escapes are not supported at byte {offset}"),
            Self::ScratchNeeded { offset } => write!(
                f,
                "serpent: text at byte {offset} needs unescaping; give a scratch buffer (from_slice_with_scratch) or enable feature alloc"
            ),
            Self::ScratchTooSmall { offset, capacity } => write!(
                f,
                "serpent: scratch buffer of {capacity} bytes too small for the value at byte {offset}; give a larger one"
            ),
            Self::Base64 { offset } => write!(f, "serpent: invalid base64 in bytes dict at byte {offset}"),
            Self::Custom { offset: Some(offset), message } => write!(f, "serpent: {message} at byte {offset}"),
            Self::Custom { offset: None, message } => write!(f, "serpent: {message}"),
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
        Self::Custom { offset: None, message: Message::new(&msg) }
    }
}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Custom { offset: None, message: Message::new(&msg) }
    }

    crate::ser::message::invalid_texts!();
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn display_is_lowercase_and_names_the_offset() {
        let e = Error::Syntax { offset: 7, what: "expected a value" };
        assert_eq!(e.to_string(), "serpent: invalid syntax at byte 7: expected a value");
        assert_eq!(e.pyro_class(), "builtins.SyntaxError");
        assert_eq!(e.offset(), Some(7));
    }

    #[test]
    fn depth_error_names_the_knob() {
        let e = Error::DepthLimit { offset: 3, max: 128 };
        assert!(e.to_string().contains("Limits::max_nesting (Deserializer::with_max_depth)"));
    }

    #[test]
    fn custom_errors_get_an_offset_once() {
        let e = <Error as serde::de::Error>::custom("boom").at(4).at(9);
        assert_eq!(e.offset(), Some(4));
        assert_eq!(e.pyro_class(), "Pyro5.errors.SerializeError");
    }
}
