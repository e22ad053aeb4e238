//! Writing a value in whichever of the four formats a message names: what a daemon does to
//! answer each request in the serializer the request came in (spec `PROTOCOL.md` §3.13).

use core::fmt;

use serde::Serialize;

use super::{Output, json, marshal, msgpack, serpent};
use crate::wire::SerializerId;

/// Why a value could not be written in the format asked for.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FormatError {
    /// serpent refused the value or the output failed.
    Serpent(serpent::Error),
    /// marshal refused the value or the output failed.
    Marshal(marshal::Error),
    /// json refused the value or the output failed.
    Json(json::Error),
    /// msgpack refused the value or the output failed.
    Msgpack(msgpack::Error),
    /// The serializer id is none of the four.
    UnknownSerializer(u8),
}

impl FormatError {
    /// The Python exception class Pyro5 raises for the same failure.
    pub fn pyro_class(&self) -> &'static str {
        match self {
            Self::Serpent(e) => e.pyro_class(),
            Self::Marshal(e) => e.pyro_class(),
            Self::Json(e) => e.pyro_class(),
            Self::Msgpack(e) => e.pyro_class(),
            Self::UnknownSerializer(_) => "Pyro5.errors.SerializeError",
        }
    }

    /// Whether the output (a full buffer, a failing writer) rather than the value failed.
    pub fn is_output(&self) -> bool {
        match self {
            Self::Serpent(e) => matches!(e, serpent::Error::Output(_)),
            Self::Marshal(e) => matches!(e, marshal::Error::Output(_)),
            Self::Json(e) => matches!(e, json::Error::Output(_)),
            Self::Msgpack(e) => matches!(e, msgpack::Error::Output(_)),
            Self::UnknownSerializer(_) => false,
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Serpent(e) => write!(f, "{e}"),
            Self::Marshal(e) => write!(f, "{e}"),
            Self::Json(e) => write!(f, "{e}"),
            Self::Msgpack(e) => write!(f, "{e}"),
            Self::UnknownSerializer(id) => write!(f, "unsupported serializer id {id}"),
        }
    }
}

impl core::error::Error for FormatError {}

/// Write `value` in `format` into `out` as an item inside a payload that was started
/// already: like [`to_output`], but without serpent's header line.
///
/// # Errors
/// As [`to_output`].
pub fn item_to_output<O: Output, T: ?Sized + Serialize>(
    format: SerializerId,
    value: &T,
    out: &mut O,
) -> Result<(), FormatError> {
    match format {
        SerializerId::Serpent => {
            value.serialize(&mut serpent::Serializer::without_header(out)).map_err(FormatError::Serpent)
        }
        _ => to_output(format, value, out),
    }
}

/// Write `value` in `format` into `out`.
///
/// # Errors
/// The format's error; [`FormatError::UnknownSerializer`] for an id that is none of the four.
pub fn to_output<O: Output, T: ?Sized + Serialize>(
    format: SerializerId,
    value: &T,
    out: &mut O,
) -> Result<(), FormatError> {
    match format {
        SerializerId::Serpent => serpent::to_output(value, out).map_err(FormatError::Serpent),
        SerializerId::Marshal => marshal::to_output(value, out).map_err(FormatError::Marshal),
        SerializerId::Json => json::to_output(value, out).map_err(FormatError::Json),
        SerializerId::Msgpack => msgpack::to_output(value, out).map_err(FormatError::Msgpack),
        SerializerId::Unknown(id) => Err(FormatError::UnknownSerializer(id)),
    }
}
