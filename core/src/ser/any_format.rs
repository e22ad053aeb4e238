//! Writing a value in whichever of the four formats a message names: what a daemon does to
//! answer each request in the serializer the request came in (`docs/wire-protocol.md`,
//! "Serializer per request").

use core::fmt;

use serde::Serialize;

use super::Output;
#[cfg(feature = "json")]
use super::json;
#[cfg(feature = "marshal")]
use super::marshal;
#[cfg(feature = "msgpack")]
use super::msgpack;
#[cfg(feature = "serpent")]
use super::serpent;
use crate::wire::SerializerId;

/// Why a value could not be written in the format asked for.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FormatError {
    /// serpent refused the value or the output failed.
    #[cfg(feature = "serpent")]
    Serpent(serpent::Error),
    /// marshal refused the value or the output failed.
    #[cfg(feature = "marshal")]
    Marshal(marshal::Error),
    /// json refused the value or the output failed.
    #[cfg(feature = "json")]
    Json(json::Error),
    /// msgpack refused the value or the output failed.
    #[cfg(feature = "msgpack")]
    Msgpack(msgpack::Error),
    /// The serializer id is none of the four, or names one this build leaves out (its
    /// cargo feature is off: [`SerializerId::is_enabled`]).
    UnknownSerializer(u8),
}

impl FormatError {
    /// The Python exception class Pyro5 raises for the same failure.
    pub fn pyro_class(&self) -> &'static str {
        match self {
            #[cfg(feature = "serpent")]
            Self::Serpent(e) => e.pyro_class(),
            #[cfg(feature = "marshal")]
            Self::Marshal(e) => e.pyro_class(),
            #[cfg(feature = "json")]
            Self::Json(e) => e.pyro_class(),
            #[cfg(feature = "msgpack")]
            Self::Msgpack(e) => e.pyro_class(),
            Self::UnknownSerializer(_) => "Pyro5.errors.SerializeError",
        }
    }

    /// Whether the output (a full buffer, a failing writer) rather than the value failed.
    pub fn is_output(&self) -> bool {
        match self {
            #[cfg(feature = "serpent")]
            Self::Serpent(e) => matches!(e, serpent::Error::Output(_)),
            #[cfg(feature = "marshal")]
            Self::Marshal(e) => matches!(e, marshal::Error::Output(_)),
            #[cfg(feature = "json")]
            Self::Json(e) => matches!(e, json::Error::Output(_)),
            #[cfg(feature = "msgpack")]
            Self::Msgpack(e) => matches!(e, msgpack::Error::Output(_)),
            Self::UnknownSerializer(_) => false,
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "serpent")]
            Self::Serpent(e) => write!(f, "{e}"),
            #[cfg(feature = "marshal")]
            Self::Marshal(e) => write!(f, "{e}"),
            #[cfg(feature = "json")]
            Self::Json(e) => write!(f, "{e}"),
            #[cfg(feature = "msgpack")]
            Self::Msgpack(e) => write!(f, "{e}"),
            Self::UnknownSerializer(id) => unsupported(f, *id),
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
    #[cfg(feature = "serpent")]
    if format == SerializerId::Serpent {
        return value.serialize(&mut serpent::Serializer::without_header(out)).map_err(FormatError::Serpent);
    }
    to_output(format, value, out)
}

/// Write `value` in `format` into `out`.
///
/// # Errors
/// The format's error; [`FormatError::UnknownSerializer`] for an id that is none of the four
/// or a serializer this build leaves out.
pub fn to_output<O: Output, T: ?Sized + Serialize>(
    format: SerializerId,
    value: &T,
    out: &mut O,
) -> Result<(), FormatError> {
    match format {
        #[cfg(feature = "serpent")]
        SerializerId::Serpent => serpent::to_output(value, out).map_err(FormatError::Serpent),
        #[cfg(feature = "marshal")]
        SerializerId::Marshal => marshal::to_output(value, out).map_err(FormatError::Marshal),
        #[cfg(feature = "json")]
        SerializerId::Json => json::to_output(value, out).map_err(FormatError::Json),
        #[cfg(feature = "msgpack")]
        SerializerId::Msgpack => msgpack::to_output(value, out).map_err(FormatError::Msgpack),
        other => Err(FormatError::UnknownSerializer(u8::from(other))),
    }
}

/// The `Display` of an unsupported serializer id: unknown, or known and left out of this
/// build (with the feature that brings it in).
pub(crate) fn unsupported(f: &mut fmt::Formatter<'_>, id: u8) -> fmt::Result {
    match SerializerId::from(id).name() {
        Some(name) => {
            write!(f, "serializer {name} (id {id}) is not in this build; enable pyro5-core's `{name}` feature")
        }
        None => write!(f, "unsupported serializer id {id}"),
    }
}
