//! Why a value could not be written as msgpack or read from it.

use core::fmt;

use crate::ser::message::Message;
use crate::ser::output::OutputError;

/// Why msgpack serialization or deserialization failed.
///
/// Input errors carry the byte `offset` (from the start of the payload) of the value that
/// went wrong.
#[derive(Clone, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The input ends inside the value that starts at `offset`.
    Truncated {
        /// Where the cut value starts.
        offset: usize,
    },
    /// A byte that starts no msgpack value (`0xc1`, the one unused type byte).
    InvalidMarker {
        /// The byte.
        marker: u8,
        /// Where it is.
        offset: usize,
    },
    /// An array or map announces more items than the rest of the input could hold (every
    /// item takes at least one byte), refused before anything is reserved for them.
    LengthExceedsInput {
        /// `"array"` or `"map"`.
        kind: &'static str,
        /// Items (map entries) announced.
        count: usize,
        /// Bytes left after the header.
        remaining: usize,
        /// Where the array or map starts.
        offset: usize,
    },
    /// A `str` whose bytes are not UTF-8.
    InvalidUtf8 {
        /// Where the `str` starts.
        offset: usize,
    },
    /// Arrays and maps nest deeper than the deserializer's limit.
    DepthLimit {
        /// The limit ([`crate::ser::DEFAULT_MAX_DEPTH`] unless set otherwise).
        max_depth: usize,
        /// Where the container one level too deep starts.
        offset: usize,
    },
    /// A map key that is neither `str` nor `bytes` (Python's msgpack, as Pyro5 uses it, has
    /// `strict_map_key=True`).
    MapKeyNotAllowed {
        /// The key's Python type: `int`, `float`, `bool`, `NoneType`, `list`, `dict`...
        type_name: &'static str,
        /// Where the key is.
        offset: usize,
    },
    /// Bytes follow the one value the input should hold.
    TrailingBytes {
        /// Where they start.
        offset: usize,
    },
    /// An ext type Pyro5 does not define (it knows 0x30 complex, 0x31 int, 0x32 datetime,
    /// 0x33 date).
    UnknownExtCode {
        /// The ext type.
        code: i8,
        /// Where the ext value starts.
        offset: usize,
    },
    /// A Pyro5 ext value whose data has the wrong size (complex 16 bytes, datetime and
    /// date 8).
    InvalidExtLength {
        /// The ext type.
        code: i8,
        /// Its data length.
        len: usize,
        /// The length the type needs.
        expected: usize,
        /// Where the ext value starts.
        offset: usize,
    },
    /// An ext 0x31 (Python int) whose data is not an optional sign and decimal digits
    /// (without leading zeros when the integer is wider than 128 bits).
    InvalidBigInt {
        /// Where the ext value starts.
        offset: usize,
    },
    /// An array or map holds more items than the target type took.
    ExtraItems {
        /// `"array"` or `"map"`.
        kind: &'static str,
        /// Items (map entries) in the input.
        count: usize,
        /// Items the target took.
        used: usize,
        /// Where the array or map starts.
        offset: usize,
    },
    /// The value's type does not fit the target type (serde's `invalid_type`).
    InvalidType {
        /// What serde said, truncated.
        message: Message,
        /// Where the value starts, when known.
        offset: Option<usize>,
    },
    /// The target type refused the value (any other serde deserialization error).
    Custom {
        /// What serde or the type said, truncated.
        message: Message,
        /// Where the value starts, when known.
        offset: Option<usize>,
    },
    /// A `FROZENSET`: Pyro5's msgpack serializer refuses frozensets.
    FrozenSet,
    /// A sequence or map of unknown length: msgpack writes the length first.
    UnknownLength,
    /// A string, byte string, sequence or map longer than msgpack's 32-bit lengths.
    TooLong {
        /// `"str"`, `"bytes"`, `"array"` or `"map"`.
        kind: &'static str,
        /// Its length.
        len: usize,
    },
    /// A sequence or map serialized a different number of items than it announced.
    CountMismatch {
        /// `"array"` or `"map"`.
        kind: &'static str,
        /// The length given to `serialize_seq`/`serialize_map`/...
        announced: usize,
        /// Items actually serialized.
        written: usize,
    },
    /// A `COMPLEX` newtype whose inner value is not a pair of floats.
    InvalidComplex,
    /// A `BIGINT` newtype whose inner value is not normalized decimal text.
    InvalidBigIntText,
    /// A `DATETIME` newtype whose inner value is not a float.
    InvalidDateTime,
    /// A `DATE` newtype whose inner value is not a 64-bit integer.
    InvalidDate,
    /// The output buffer or writer failed.
    Output(OutputError),
    /// A `Serialize` implementation failed (serde's `ser::Error::custom`).
    Serialize(Message),
}

impl Error {
    /// The Python exception class Pyro5 (or the msgpack library under it) raises for the
    /// same problem, e.g. `"Pyro5.errors.SerializeError"` or `"builtins.ValueError"`.
    pub fn pyro_class(&self) -> &'static str {
        match self {
            Self::Truncated { .. }
            | Self::LengthExceedsInput { .. }
            | Self::InvalidBigInt { .. }
            | Self::ExtraItems { .. }
            | Self::MapKeyNotAllowed { .. }
            | Self::Custom { .. } => "builtins.ValueError",
            Self::InvalidMarker { .. } => "msgpack.exceptions.FormatError",
            Self::InvalidUtf8 { .. } => "builtins.UnicodeDecodeError",
            Self::DepthLimit { .. } => "msgpack.exceptions.StackError",
            Self::TrailingBytes { .. } => "msgpack.exceptions.ExtraData",
            Self::InvalidExtLength { .. } => "struct.error",
            Self::InvalidType { .. } => "builtins.TypeError",
            Self::TooLong { .. } => "builtins.ValueError",
            Self::UnknownExtCode { .. }
            | Self::FrozenSet
            | Self::UnknownLength
            | Self::CountMismatch { .. }
            | Self::InvalidComplex
            | Self::InvalidBigIntText
            | Self::InvalidDateTime
            | Self::InvalidDate
            | Self::Output(_)
            | Self::Serialize(_) => "Pyro5.errors.SerializeError",
        }
    }

    /// The input offset the error concerns, if it has one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            Self::Truncated { offset }
            | Self::InvalidMarker { offset, .. }
            | Self::LengthExceedsInput { offset, .. }
            | Self::InvalidUtf8 { offset }
            | Self::DepthLimit { offset, .. }
            | Self::TrailingBytes { offset }
            | Self::MapKeyNotAllowed { offset, .. }
            | Self::UnknownExtCode { offset, .. }
            | Self::InvalidExtLength { offset, .. }
            | Self::InvalidBigInt { offset }
            | Self::ExtraItems { offset, .. } => Some(*offset),
            Self::InvalidType { offset, .. } | Self::Custom { offset, .. } => *offset,
            _ => None,
        }
    }

    /// Fill in the offset of a serde error that has none yet (the innermost value wins).
    pub(crate) fn at(mut self, at: usize) -> Self {
        if let Self::InvalidType { offset, .. } | Self::Custom { offset, .. } = &mut self {
            if offset.is_none() {
                *offset = Some(at);
            }
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { offset } => write!(f, "msgpack input ends inside the value at byte {offset}"),
            Self::InvalidMarker { marker, offset } => {
                write!(f, "invalid msgpack type byte 0x{marker:02x} at byte {offset}")
            }
            Self::LengthExceedsInput { kind, count, remaining, offset } => {
                write!(f, "msgpack {kind} at byte {offset} announces {count} items but only {remaining} bytes follow")
            }
            Self::InvalidUtf8 { offset } => write!(f, "msgpack str at byte {offset} is not valid UTF-8"),
            Self::DepthLimit { max_depth, offset } => write!(
                f,
                "msgpack containers nest deeper than {max_depth} levels at byte {offset}; \
                 raise Limits::max_nesting (Deserializer::with_max_depth)"
            ),
            Self::TrailingBytes { offset } => write!(f, "trailing bytes after the msgpack value at byte {offset}"),
            // Python's text exactly: it reaches Python clients as the exception message.
            Self::MapKeyNotAllowed { type_name, .. } => {
                write!(f, "{type_name} is not allowed for map key when strict_map_key=True")
            }
            Self::UnknownExtCode { code, offset } => {
                write!(f, "invalid ext code for msgpack: {code} (at byte {offset})")
            }
            Self::InvalidExtLength { code, len, expected, offset } => {
                write!(f, "msgpack ext 0x{code:02x} at byte {offset} holds {len} bytes, expected {expected}")
            }
            Self::InvalidBigInt { offset } => {
                write!(f, "msgpack ext 0x31 at byte {offset} is not a decimal integer")
            }
            Self::ExtraItems { kind, count, used, offset } => {
                write!(f, "msgpack {kind} at byte {offset} holds {count} items but the target type takes {used}")
            }
            Self::InvalidType { message, offset } | Self::Custom { message, offset } => match offset {
                Some(offset) => write!(f, "{message} (msgpack value at byte {offset})"),
                None => write!(f, "{message}"),
            },
            Self::FrozenSet => f.write_str("msgpack cannot carry a frozenset (Pyro5 refuses it too); send a set"),
            Self::UnknownLength => {
                f.write_str("msgpack writes the length of a sequence or map first; the serializer was given none")
            }
            Self::TooLong { kind, len } => {
                write!(f, "a {kind} of length {len} is longer than msgpack allows (4294967295)")
            }
            Self::CountMismatch { kind, announced, written } => {
                write!(f, "a msgpack {kind} announced {announced} items but {written} were serialized")
            }
            Self::InvalidComplex => f.write_str("a python::COMPLEX value must serialize as a pair of floats (re, im)"),
            Self::InvalidBigIntText => f.write_str(
                "a python::BIGINT value must serialize as an optional '-' and decimal digits without leading zeros",
            ),
            Self::InvalidDateTime => f.write_str("a python::DATETIME value must serialize as a float (a timestamp)"),
            Self::InvalidDate => f.write_str("a python::DATE value must serialize as a 64-bit integer (an ordinal)"),
            Self::Output(e) => write!(f, "{e}"),
            Self::Serialize(message) => write!(f, "{message}"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Output(e) => Some(e),
            _ => None,
        }
    }
}

impl From<OutputError> for Error {
    fn from(e: OutputError) -> Self {
        Self::Output(e)
    }
}

impl serde::ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Serialize(Message::new(&msg))
    }
}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Custom { message: Message::new(&msg), offset: None }
    }

    fn invalid_type(unexp: serde::de::Unexpected<'_>, exp: &dyn serde::de::Expected) -> Self {
        Self::InvalidType {
            message: Message::new(&crate::ser::message::Invalid { what: "type", unexpected: unexp, expected: exp }),
            offset: None,
        }
    }

    fn invalid_value(unexpected: serde::de::Unexpected<'_>, expected: &dyn serde::de::Expected) -> Self {
        <Self as serde::de::Error>::custom(crate::ser::message::Invalid { what: "value", unexpected, expected })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn display_is_lowercase_and_says_where() {
        let e = Error::Truncated { offset: 3 };
        assert_eq!(e.to_string(), "msgpack input ends inside the value at byte 3");
        assert_eq!(e.offset(), Some(3));
        let e = Error::UnknownExtCode { code: 5, offset: 0 };
        assert!(e.to_string().starts_with("invalid ext code for msgpack: 5"));
        assert_eq!(e.pyro_class(), "Pyro5.errors.SerializeError");
        let e = Error::DepthLimit { max_depth: 128, offset: 128 };
        assert!(e.to_string().contains("Limits::max_nesting (Deserializer::with_max_depth)"));
    }

    #[test]
    fn serde_errors_take_the_innermost_offset() {
        let e = <Error as serde::de::Error>::custom("nope").at(4).at(1);
        assert_eq!(e.offset(), Some(4));
        assert_eq!(e.to_string(), "nope (msgpack value at byte 4)");
        assert_eq!(e.pyro_class(), "builtins.ValueError");
        let e = <Error as serde::de::Error>::invalid_type(serde::de::Unexpected::Bool(true), &"a string");
        assert_eq!(e.pyro_class(), "builtins.TypeError");
        assert_eq!(e.to_string(), "invalid type: boolean `true`, expected a string");
    }

    #[test]
    fn serializer_errors_are_serialize_errors() {
        assert_eq!(<Error as serde::ser::Error>::custom("x").pyro_class(), "Pyro5.errors.SerializeError");
        assert_eq!(Error::FrozenSet.pyro_class(), "Pyro5.errors.SerializeError");
    }
}
