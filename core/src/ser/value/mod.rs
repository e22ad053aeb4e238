//! [`Value`]: any value Pyro carries, for code that does not know the types in advance (an
//! echo server, a name server, a generic call tool). Feature `alloc`.
//!
//! A `Value` keeps every Python type Pyro's serializers carry apart — `None`, `bool`, ints of
//! any size, `float` (`-0.0`, NaN and the infinities included), `complex`, `str`, `bytes`,
//! `tuple`, `list`, `dict` (any keys, insertion order), `set`, `frozenset`, and msgpack's
//! `datetime` and `date` — so that what was
//! received is sent back unchanged, in every format. `__class__` dicts (exceptions, URIs,
//! proxies, user classes) are plain [`Value::Dict`]s, as they are on the wire.
//!
//! `Value` implements `Serialize` and `Deserialize` through the contract of
//! [`python`](super::python), so the same calls serve typed and dynamic code; [`to_value`] and
//! [`from_value`] convert between a `Value` and any typed serde value.
//!
//! ```
//! use pyro5_core::ser::value::{Value, from_value, to_value};
//!
//! let v = to_value(&("echo", [1, 2], 2.5))?;
//! assert_eq!(v, Value::Tuple(vec![
//!     Value::from("echo"),
//!     Value::Tuple(vec![Value::Int(1), Value::Int(2)]),
//!     Value::Float(2.5),
//! ]));
//! let back: (String, Vec<i32>, f64) = from_value(v)?;
//! assert_eq!(back.1, [1, 2]);
//! # Ok::<(), pyro5_core::ser::value::Error>(())
//! ```

mod de;
mod error;
mod ser;

use alloc::string::String;
use alloc::vec::Vec;

use super::refused::RefusedClass;
pub use de::from_value;
pub use error::Error;
pub use ser::to_value;

/// A Python value as Pyro carries it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` that fits in 128 bits.
    Int(i128),
    /// An `int` outside `i128`: decimal text, `-`? then digits without leading zeros.
    BigInt(String),
    /// A `float`.
    Float(f64),
    /// A `complex`.
    Complex {
        /// Real part.
        re: f64,
        /// Imaginary part.
        im: f64,
    },
    /// A `str`.
    Str(String),
    /// `bytes` (what serpent and json deliver as a base64 dict stays a [`Value::Dict`]).
    Bytes(Vec<u8>),
    /// A `tuple`.
    Tuple(Vec<Value>),
    /// A `list`.
    List(Vec<Value>),
    /// A `dict`, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A `set` (Python's iteration order is not meaningful).
    Set(Vec<Value>),
    /// A `frozenset`.
    FrozenSet(Vec<Value>),
    /// A naive `datetime` as msgpack carries it (ext 0x32): seconds since the epoch, as the
    /// sender's `datetime.timestamp()` gave them (its local time).
    DateTime(f64),
    /// A `date` as msgpack carries it (ext 0x33): its proleptic Gregorian ordinal
    /// (`date.toordinal()`, 1 for 0001-01-01).
    Date(i64),
}

impl Value {
    /// Python's type name: `NoneType`, `bool`, `int`, `float`, `complex`, `str`, `bytes`,
    /// `tuple`, `list`, `dict`, `set`, `frozenset`, `datetime`, `date`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::None => "NoneType",
            Self::Bool(_) => "bool",
            Self::Int(_) | Self::BigInt(_) => "int",
            Self::Float(_) => "float",
            Self::Complex { .. } => "complex",
            Self::Str(_) => "str",
            Self::Bytes(_) => "bytes",
            Self::Tuple(_) => "tuple",
            Self::List(_) => "list",
            Self::Dict(_) => "dict",
            Self::Set(_) => "set",
            Self::FrozenSet(_) => "frozenset",
            Self::DateTime(_) => "datetime",
            Self::Date(_) => "date",
        }
    }

    /// The text of a [`Value::Str`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value under string key `key` of a [`Value::Dict`] (the last one, as Python keeps).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Self::Dict(entries) => entries.iter().rev().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The `__class__` name of a dict that has one (exceptions, URIs, proxies, user classes).
    pub fn class_name(&self) -> Option<&str> {
        self.get("__class__").and_then(Value::as_str)
    }

    /// The first `__class__` dict (at any depth) a Python Pyro5 peer would refuse to turn
    /// into an object (its `dict_to_class`): `(exception class, message)`, e.g.
    /// `("Pyro5.errors.SerializeError", "unsupported serialized class: foo")`, or a
    /// `SecurityError` for names containing `__`. Dicts of the classes Pyro5 knows (URIs,
    /// proxies, exceptions, the batch exception wrapper) pass. A daemon serving values it
    /// does not know the type of checks them with this, as Pyro5 does on receive (typed
    /// arguments are checked when they do not decode: [`refused`](super::refused)).
    pub fn refused_class(&self) -> Option<(&'static str, String)> {
        match self {
            Self::Tuple(items) | Self::List(items) | Self::Set(items) | Self::FrozenSet(items) => {
                items.iter().find_map(Value::refused_class)
            }
            Self::Dict(entries) => {
                let exception = matches!(self.get("__exception__"), Some(Value::Bool(true)));
                if let Some(refused) = self.class_name().and_then(|class| RefusedClass::check(class, exception)) {
                    return Some((refused.pyro_class(), alloc::format!("{refused}")));
                }
                entries.iter().find_map(|(k, v)| k.refused_class().or_else(|| v.refused_class()))
            }
            _ => None,
        }
    }

    /// Whether two values are the same Python value *and* type, as an echo must return it:
    /// floats compare by bits except that any NaN equals any NaN, sets and frozensets
    /// compare without regard to order, everything else structurally.
    pub fn is_identical(&self, other: &Value) -> bool {
        match (self, other) {
            (Self::Float(a), Self::Float(b)) | (Self::DateTime(a), Self::DateTime(b)) => same_float(*a, *b),
            (Self::Complex { re: a, im: b }, Self::Complex { re: c, im: d }) => {
                same_float(*a, *c) && same_float(*b, *d)
            }
            (Self::Tuple(a), Self::Tuple(b)) | (Self::List(a), Self::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.is_identical(y))
            }
            (Self::Dict(a), Self::Dict(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|((k, v), (l, w))| k.is_identical(l) && v.is_identical(w))
            }
            (Self::Set(a), Self::Set(b)) | (Self::FrozenSet(a), Self::FrozenSet(b)) => same_members(a, b),
            _ => self == other,
        }
    }
}

fn same_float(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Multiset equality without hashing (values may hold floats).
fn same_members(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = alloc::vec![false; b.len()];
    a.iter().all(|x| {
        let found = b.iter().enumerate().find(|(i, y)| !used.get(*i).copied().unwrap_or(true) && x.is_identical(y));
        match found.and_then(|(i, _)| used.get_mut(i)) {
            Some(slot) => {
                *slot = true;
                true
            }
            None => false,
        }
    })
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Self::Int(i128::from(v))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32, u64, i128);

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Str(v.into())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Str(v)
    }
}

impl From<Vec<Value>> for Value {
    /// A `list`.
    fn from(v: Vec<Value>) -> Self {
        Self::List(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::None, Into::into)
    }
}

/// `u128` values above `i128::MAX` become [`Value::BigInt`].
pub(crate) fn from_u128(v: u128) -> Value {
    match i128::try_from(v) {
        Ok(i) => Value::Int(i),
        Err(_) => Value::BigInt(alloc::format!("{v}")),
    }
}

/// A decimal text (as the formats deliver it) as a `Value`: `Int` when it fits in `i128`.
pub(crate) fn from_decimal(text: &str) -> Result<Value, Error> {
    crate::ser::python::BigInt::new(text).map_err(|_| Error::BadInteger)?;
    Ok(match text.parse::<i128>() {
        Ok(i) => Value::Int(i),
        Err(_) => Value::BigInt(text.into()),
    })
}

#[cfg(test)]
mod tests;
