//! Why a value could not be written as marshal, or marshal bytes could not be read.

use core::fmt;

use crate::ser::message::Message;
use crate::ser::output::OutputError;

/// Why marshal (de)serialization failed. Input errors carry the byte offset where the input
/// went wrong.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The input ended inside a value (Python: `EOFError`).
    Eof {
        /// Where the missing bytes should have been.
        offset: usize,
    },
    /// A type code marshal does not define (Python: `bad marshal data (unknown type code)`).
    UnknownType {
        /// The type byte.
        code: u8,
        /// Its position.
        offset: usize,
    },
    /// A type code CPython reads but Pyro payloads never hold: code objects, `Ellipsis`,
    /// `StopIteration`, and the legacy `I`/`f`/`x` number forms.
    Unsupported {
        /// The type byte.
        code: u8,
        /// Its position.
        offset: usize,
    },
    /// A `0` (marshal's NULL) where a value was expected (Python: `TypeError`).
    NullObject {
        /// Its position.
        offset: usize,
    },
    /// A size outside `0..=i32::MAX` (Python: `bad marshal data (... size out of range)`).
    SizeOutOfRange {
        /// What the size was for (`"string"`, `"list"`...).
        what: &'static str,
        /// The announced size, as the signed 32-bit number on the wire.
        size: i32,
        /// Where the size starts.
        offset: usize,
    },
    /// A malformed `l` integer: a digit above `0x7fff`, or a most significant digit of zero.
    BadLong {
        /// What is wrong with it.
        reason: &'static str,
        /// Where the integer starts.
        offset: usize,
    },
    /// An integer with more base-2¹⁵ digits than this crate converts (see
    /// [`MAX_LONG_DIGITS`](super::MAX_LONG_DIGITS)); Python has no such limit.
    IntegerTooLarge {
        /// Its number of 15-bit digits (or of decimal digits when serializing `BIGINT` text).
        digits: usize,
        /// The limit.
        max: usize,
        /// Where the integer starts (0 when serializing).
        offset: usize,
    },
    /// A `u` string that is not UTF-8 (Python: `UnicodeDecodeError`).
    InvalidUtf8 {
        /// Where the string starts.
        offset: usize,
    },
    /// A `u` string holding a lone surrogate, which Python allows and Rust's `str` cannot hold.
    LoneSurrogate {
        /// Where the string starts.
        offset: usize,
    },
    /// Text that must be converted (a Latin-1 `a`/`z` string with bytes above 0x7f, or an
    /// integer's decimal text that must be borrowed) and nowhere to put it.
    NeedScratch {
        /// Bytes needed.
        needed: usize,
        /// Bytes left in the scratch buffer (0 when none was given).
        capacity: usize,
        /// Where the value starts.
        offset: usize,
    },
    /// A back-reference to an object that was never flagged for reference (Python: `bad
    /// marshal data (invalid reference)`).
    InvalidReference {
        /// The reference's index.
        index: u32,
        /// Where the reference is.
        offset: usize,
    },
    /// A back-reference to an object that encloses it: a cycle, which Python builds and a
    /// Rust value cannot hold.
    RecursiveReference {
        /// The reference's index.
        index: u32,
        /// Where the reference is.
        offset: usize,
    },
    /// Re-reading referenced objects went over the expansion budget (protection against
    /// exponentially nested references).
    RefExpansionLimit {
        /// The budget in bytes.
        max: usize,
        /// Where the reference is.
        offset: usize,
    },
    /// A list, dict or set as a dict key or set element (Python: `TypeError: unhashable type`).
    Unhashable {
        /// The Python type name.
        type_name: &'static str,
        /// Where the value starts (0 when serializing).
        offset: usize,
    },
    /// Containers nested deeper than the limit.
    DepthLimit {
        /// The limit.
        max: usize,
        /// Where the container that went over it starts.
        offset: usize,
    },
    /// Bytes after the value (Python's `marshal.loads` ignores them; Pyro payloads have none).
    TrailingBytes {
        /// Where they start.
        offset: usize,
    },
    /// The target type took fewer items than the tuple, list, set or dict holds.
    UnconsumedItems {
        /// Where the first item left over is.
        offset: usize,
    },
    /// The span given to [`from_span`](super::from_span) is not one value of the payload.
    NotAValue {
        /// The span's offset in the payload.
        offset: usize,
    },
    /// The output could not be written.
    Output(OutputError),
    /// A sequence without a known length (marshal writes the count first).
    UnknownLength,
    /// A sequence wrote another number of items than it announced.
    LengthMismatch {
        /// Items announced.
        announced: usize,
        /// Items written.
        written: usize,
    },
    /// A string, bytes or container longer than marshal's `i32::MAX` sizes.
    TooLong {
        /// Its length.
        len: usize,
    },
    /// The content of a `python` contract token (`SET`, `COMPLEX`, `BIGINT`) had the wrong
    /// shape, e.g. `BIGINT` text that is not a decimal integer.
    BadToken {
        /// Which token.
        token: &'static str,
    },
    /// A message from a `Serialize`/`Deserialize` implementation (for example a type
    /// mismatch), truncated.
    Custom {
        /// The message.
        message: Message,
        /// Where the value it is about starts, when known.
        offset: Option<usize>,
    },
}

impl Error {
    /// The Python exception class Python raises for the same fault (marshal's own
    /// `ValueError`, `EOFError`, `TypeError`, `UnicodeDecodeError`), or
    /// `Pyro5.errors.SerializeError` for what Python accepts but this crate refuses.
    pub fn pyro_class(&self) -> &'static str {
        match self {
            Self::Eof { .. } => "builtins.EOFError",
            Self::UnknownType { .. }
            | Self::SizeOutOfRange { .. }
            | Self::BadLong { .. }
            | Self::InvalidReference { .. }
            | Self::DepthLimit { .. }
            | Self::TooLong { .. } => "builtins.ValueError",
            Self::NullObject { .. } | Self::Unhashable { .. } => "builtins.TypeError",
            Self::InvalidUtf8 { .. } => "builtins.UnicodeDecodeError",
            _ => "Pyro5.errors.SerializeError",
        }
    }

    /// The byte offset in the input where decoding failed, if this is an input error.
    pub fn offset(&self) -> Option<usize> {
        match *self {
            Self::Eof { offset }
            | Self::UnknownType { offset, .. }
            | Self::Unsupported { offset, .. }
            | Self::NullObject { offset }
            | Self::SizeOutOfRange { offset, .. }
            | Self::BadLong { offset, .. }
            | Self::InvalidUtf8 { offset }
            | Self::LoneSurrogate { offset }
            | Self::NeedScratch { offset, .. }
            | Self::InvalidReference { offset, .. }
            | Self::RecursiveReference { offset, .. }
            | Self::RefExpansionLimit { offset, .. }
            | Self::DepthLimit { offset, .. }
            | Self::TrailingBytes { offset }
            | Self::UnconsumedItems { offset }
            | Self::NotAValue { offset } => Some(offset),
            Self::IntegerTooLarge { offset, .. } | Self::Unhashable { offset, .. } => Some(offset),
            Self::Custom { offset, .. } => offset,
            Self::Output(_)
            | Self::UnknownLength
            | Self::LengthMismatch { .. }
            | Self::TooLong { .. }
            | Self::BadToken { .. } => None,
        }
    }

    /// Give a custom error without a position the offset of the value it is about.
    pub(super) fn at(self, at: usize) -> Self {
        match self {
            Self::Custom { message, offset: None } => Self::Custom { message, offset: Some(at) },
            other => other,
        }
    }
}

impl From<crate::ser::marshal_str::StrError> for Error {
    fn from(e: crate::ser::marshal_str::StrError) -> Self {
        use crate::ser::marshal_str::StrError;
        match e {
            StrError::Output(e) => Self::Output(e),
            StrError::Fmt => Self::BadToken { token: "str" },
            StrError::TooLong { len } => Self::TooLong { len },
            StrError::LengthMismatch { announced, written } => Self::LengthMismatch { announced, written },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Eof { offset } => write!(f, "marshal data too short: input ends at byte {offset} inside a value"),
            Self::UnknownType { code, offset } => {
                write!(f, "bad marshal data: unknown type code {code:#04x} at byte {offset}")
            }
            Self::Unsupported { code, offset } => {
                write!(f, "unsupported marshal type code {code:#04x} ({}) at byte {offset}", unsupported_name(*code))
            }
            Self::NullObject { offset } => write!(f, "marshal NULL object where a value was expected at byte {offset}"),
            Self::SizeOutOfRange { what, size, offset } => {
                write!(f, "bad marshal data: {what} size {size} out of range at byte {offset}")
            }
            Self::BadLong { reason, offset } => write!(f, "bad marshal data: {reason} in long at byte {offset}"),
            Self::IntegerTooLarge { digits, max, offset } => write!(
                f,
                "integer at byte {offset} has {digits} digits, more than the {max} this marshal implementation converts"
            ),
            Self::InvalidUtf8 { offset } => write!(f, "string at byte {offset} is not valid utf-8"),
            Self::LoneSurrogate { offset } => {
                write!(f, "string at byte {offset} holds a lone surrogate, which a rust str cannot hold")
            }
            Self::NeedScratch { needed, capacity, offset } => write!(
                f,
                "text at byte {offset} must be converted and needs {needed} bytes of scratch, {capacity} are left; give the deserializer a (larger) scratch buffer"
            ),
            Self::InvalidReference { index, offset } => {
                write!(f, "bad marshal data: invalid reference {index} at byte {offset}")
            }
            Self::RecursiveReference { index, offset } => write!(
                f,
                "reference {index} at byte {offset} points to an enclosing object (a cycle), which cannot be deserialized"
            ),
            Self::RefExpansionLimit { max, offset } => write!(
                f,
                "references re-read more than {max} bytes at byte {offset}; raise Deserializer::with_max_ref_expansion"
            ),
            Self::Unhashable { type_name, offset } => {
                write!(f, "unhashable type '{type_name}' as a dict key or set element at byte {offset}")
            }
            Self::DepthLimit { max, offset } => write!(
                f,
                "containers nested deeper than {max} levels at byte {offset}; raise Limits::max_nesting \
                 (Deserializer::with_max_depth)"
            ),
            Self::TrailingBytes { offset } => write!(f, "trailing bytes after the marshal value at byte {offset}"),
            Self::UnconsumedItems { offset } => {
                write!(f, "container has more items than the target type takes, at byte {offset}")
            }
            Self::NotAValue { offset } => write!(f, "span at byte {offset} is not one value of the marshal payload"),
            Self::Output(e) => fmt::Display::fmt(e, f),
            Self::UnknownLength => f.write_str("marshal needs the length of a sequence before its items"),
            Self::LengthMismatch { announced, written } => {
                write!(f, "sequence announced {announced} items and wrote {written}")
            }
            Self::TooLong { len } => write!(f, "length {len} does not fit marshal's 32-bit sizes"),
            Self::BadToken { token } => write!(f, "the content of the python {token} token has the wrong shape"),
            Self::Custom { message, offset: Some(offset) } => write!(f, "{message} at byte {offset}"),
            Self::Custom { message, offset: None } => fmt::Display::fmt(message, f),
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

fn unsupported_name(code: u8) -> &'static str {
    match code {
        b'c' => "code object",
        b'.' => "Ellipsis",
        b'S' => "StopIteration",
        b'I' => "legacy int64",
        b'f' => "legacy text float",
        b'x' => "legacy text complex",
        _ => "not a Pyro value",
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn display_names_the_fault_and_the_offset() {
        let e = Error::UnknownType { code: 0x3f, offset: 7 };
        assert_eq!(e.to_string(), "bad marshal data: unknown type code 0x3f at byte 7");
        assert_eq!(e.pyro_class(), "builtins.ValueError");
        assert_eq!(e.offset(), Some(7));
    }

    #[test]
    fn python_classes_follow_what_marshal_raises() {
        assert_eq!(Error::Eof { offset: 0 }.pyro_class(), "builtins.EOFError");
        assert_eq!(Error::NullObject { offset: 0 }.pyro_class(), "builtins.TypeError");
        assert_eq!(Error::InvalidUtf8 { offset: 0 }.pyro_class(), "builtins.UnicodeDecodeError");
        assert_eq!(Error::LoneSurrogate { offset: 0 }.pyro_class(), "Pyro5.errors.SerializeError");
    }

    #[test]
    fn custom_errors_take_the_offset_of_their_value() {
        let e = <Error as serde::de::Error>::custom("invalid type").at(3);
        assert_eq!(e.to_string(), "invalid type at byte 3");
        assert_eq!(e.at(9).offset(), Some(3));
    }
}
