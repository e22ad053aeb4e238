//! Errors converting to and from [`Value`](super::Value).

use core::fmt;

use crate::ser::Message;

/// Why a conversion to or from a [`Value`](super::Value) failed.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A message from a `Serialize` or `Deserialize` implementation.
    Custom(Message),
    /// A map key that Python cannot hash (a list, dict or set).
    UnhashableKey(&'static str),
    /// Integer text that is not a decimal integer.
    BadInteger,
    /// A Pyro type marker whose content had the wrong shape.
    BadMarker(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Custom(m) => f.write_str(m.as_str()),
            Self::UnhashableKey(t) => write!(f, "unhashable type: '{t}' cannot be a dict key"),
            Self::BadInteger => f.write_str("integer text is not a decimal integer"),
            Self::BadMarker(what) => write!(f, "malformed {what} marker in a value"),
        }
    }
}

impl core::error::Error for Error {}

impl serde::ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Custom(Message::new(&msg))
    }
}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Custom(Message::new(&msg))
    }

    crate::ser::message::invalid_texts!();
}
