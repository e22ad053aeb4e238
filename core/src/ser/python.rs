//! Python's types that serde's data model lacks — sets, frozensets, complex numbers,
//! integers wider than 128 bits, and msgpack's datetimes and dates — and the contract by
//! which every format carries them.
//!
//! # The contract between values and formats
//! A value asks for a Python type by serializing a *newtype struct* with one of the names
//! below; a format that knows the name writes the Python type, any other serde format just
//! writes the inner value:
//!
//! | name | inner value | serpent | json | marshal | msgpack |
//! |---|---|---|---|---|---|
//! | [`SET`] | a sequence | `{1,2}`, empty `()` | array | `<` set | array |
//! | [`FROZENSET`] | a sequence | as set | error, as Pyro5 | `>` frozenset | error, as Pyro5 |
//! | [`COMPLEX`] | a 2-tuple `(re, im)` of `f64` | `(1.0+2.0j)` | error, as Pyro5 | `y` | ext 0x30 |
//! | [`BIGINT`] | a `str`: `-`? decimal digits, no leading zeros | digits | digits | `l` | ext 0x31 |
//! | [`DATETIME`] | an `f64`: seconds since the epoch | the float | the float | the float | ext 0x32 |
//! | [`DATE`] | an `i64`: the proleptic Gregorian ordinal | the int | the int | the int | ext 0x33 |
//!
//! Integers that fit in `i128`/`u128` need no wrapper: formats write `serialize_i128` and
//! `serialize_u128` as Python ints (msgpack uses ext 0x31 outside the 64-bit range). Names are
//! compile-time strings, so no user data can ask for a Python type: a dict whose key is
//! `"$pyro5::set"` is written as that dict. (Only msgpack carries `datetime` and `date` as
//! such; in the other formats Pyro5 turns them into ordinary values, ISO text in serpent and
//! json, which read back as those values.)
//!
//! Deserializing, typed targets see the natural serde shape (a set is a sequence, a complex
//! number a 2-tuple, a big integer its decimal text, a datetime its timestamp, a date its
//! ordinal). The dynamic `Value` (feature `alloc`) needs the exact Python type back, so it
//! asks for *exact mode* by deserializing a newtype struct named [`VALUE`]. In exact mode,
//! `deserialize_any` reports each Python type that serde cannot express as an **enum**
//! (`visit_enum`) whose variant name is the type's token and whose newtype-variant content
//! is: [`TUPLE`] → a sequence, [`SET`] / [`FROZENSET`] → a sequence, [`COMPLEX`] →
//! `(re, im)`, [`BIGINT`] → the decimal text (only for integers outside `i128`/`u128`),
//! [`DATETIME`] → the `f64` timestamp, [`DATE`] → the `i64` ordinal. Every other value is
//! reported as usual (`visit_i64`, `visit_seq` for lists, `visit_map` for dicts...). No
//! format reports user data through `visit_enum` from `deserialize_any` (enums exist only
//! for targets that call `deserialize_enum`), so this channel is out of band: a dict keyed
//! by a token stays a dict. Elements inside are deserialized by `Value` again, which asks
//! for exact mode again.

use core::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::{Serialize, SerializeSeq, SerializeTuple, Serializer};

/// Newtype name asking for a Python `set`.
pub const SET: &str = "$pyro5::set";
/// Newtype name asking for a Python `frozenset`.
pub const FROZENSET: &str = "$pyro5::frozenset";
/// Newtype name asking for a Python `complex`.
pub const COMPLEX: &str = "$pyro5::complex";
/// Newtype name asking for a Python `int` given as decimal text.
pub const BIGINT: &str = "$pyro5::bigint";
/// Newtype name asking for a Python `datetime` (msgpack ext 0x32) given as its timestamp.
pub const DATETIME: &str = "$pyro5::datetime";
/// Newtype name asking for a Python `date` (msgpack ext 0x33) given as its ordinal.
pub const DATE: &str = "$pyro5::date";
/// Variant name (in exact mode) of a Python `tuple`.
pub const TUPLE: &str = "$pyro5::tuple";
/// Newtype name a deserializing value uses to ask for exact mode.
pub const VALUE: &str = "$pyro5::value";

/// Whether `name` is one of the tokens above.
pub fn is_token(name: &str) -> bool {
    matches!(name, SET | FROZENSET | COMPLEX | BIGINT | DATETIME | DATE | TUPLE | VALUE)
}

/// Exact mode's report of a Python type (see the module docs): an enum whose variant name
/// is `token` and whose newtype-variant content `content` deserializes.
pub(crate) struct Exact<D> {
    token: &'static str,
    content: D,
}

impl<D> Exact<D> {
    /// The report of the Python type `token` (one of the names above) holding `content`.
    pub(crate) fn new(token: &'static str, content: D) -> Self {
        Self { token, content }
    }
}

impl<'de, D: Deserializer<'de>> EnumAccess<'de> for Exact<D> {
    type Error = D::Error;
    type Variant = ExactContent<D>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, ExactContent<D>), D::Error> {
        let token = seed.deserialize(de::value::BorrowedStrDeserializer::<D::Error>::new(self.token))?;
        Ok((token, ExactContent(self.content)))
    }
}

/// The content of an [`Exact`] report: a newtype variant.
pub(crate) struct ExactContent<D>(D);

impl<'de, D: Deserializer<'de>> VariantAccess<'de> for ExactContent<D> {
    type Error = D::Error;

    fn unit_variant(self) -> Result<(), D::Error> {
        Err(de::Error::invalid_type(de::Unexpected::NewtypeVariant, &"a unit variant"))
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, D::Error> {
        seed.deserialize(self.0)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct("", fields, visitor)
    }
}

/// A Python `set` of the items a slice holds.
///
/// ```
/// # use pyro5_core::ser::python::Set;
/// let methods = Set(&["echo", "ping"][..]);
/// # let _ = methods;
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Set<'a, T>(pub &'a [T]);

impl<T: Serialize> Serialize for Set<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(SET, &Items(self.0))
    }
}

/// A Python `set` of the items an iterator yields (it is cloned to be walked).
#[derive(Clone, Debug)]
pub struct SetOf<I>(pub I);

impl<I> Serialize for SetOf<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Seq<I>(I);
        impl<I> Serialize for Seq<I>
        where
            I: Iterator + Clone,
            I::Item: Serialize,
        {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.clone())
            }
        }
        serializer.serialize_newtype_struct(SET, &Seq(self.0.clone()))
    }
}

/// A Python `frozenset` of the items a slice holds.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct FrozenSet<'a, T>(pub &'a [T]);

impl<T: Serialize> Serialize for FrozenSet<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(FROZENSET, &Items(self.0))
    }
}

/// A Python `tuple` of the items a slice holds (Rust tuples are Python tuples already).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Tuple<'a, T>(pub &'a [T]);

impl<T: Serialize> Serialize for Tuple<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut t = serializer.serialize_tuple(self.0.len())?;
        for item in self.0 {
            t.serialize_element(item)?;
        }
        t.end()
    }
}

/// The items of a set, as a sequence.
struct Items<'a, T>(&'a [T]);

impl<T: Serialize> Serialize for Items<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

/// Python `bytes` borrowed from a slice (serde writes a plain `&[u8]` as a list of ints).
/// Received, it borrows from the payload where the format allows (marshal, msgpack, a serpent
/// `b'...'` literal without escapes); serpent's base64 dict needs decoding, so use an owned
/// type (`Vec<u8>` through `serde_bytes`-style `deserialize_bytes`, or `Value`) for those.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct Bytes<'a>(pub &'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Bytes<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bytes<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes borrowed from the payload")
            }
            fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Bytes<'de>, E> {
                Ok(Bytes(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Bytes<'de>, E> {
                Ok(Bytes(v.as_bytes()))
            }
        }
        deserializer.deserialize_bytes(V)
    }
}

/// A Python `complex` number.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Complex {
    /// Real part.
    pub re: f64,
    /// Imaginary part.
    pub im: f64,
}

impl Serialize for Complex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(COMPLEX, &(self.re, self.im))
    }
}

impl<'de> Deserialize<'de> for Complex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Complex;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a complex number")
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Complex, D::Error> {
                let (re, im) = <(f64, f64)>::deserialize(d)?;
                Ok(Complex { re, im })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Complex, A::Error> {
                let re = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let im = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                Ok(Complex { re, im })
            }
        }
        deserializer.deserialize_newtype_struct(COMPLEX, V)
    }
}

/// A Python `int` of any size, as decimal text borrowed from where it lives. (Its ordering
/// is that of the text, for use as a map key; it is not numeric.)
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct BigInt<'a>(&'a str);

impl<'a> BigInt<'a> {
    /// Decimal text: an optional `-` then digits without leading zeros (`0` alone is fine).
    ///
    /// # Errors
    /// [`BigIntError`] for anything else.
    pub fn new(text: &'a str) -> Result<Self, BigIntError> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let ok = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'))
            && !(text.starts_with('-') && digits == "0");
        if ok { Ok(Self(text)) } else { Err(BigIntError) }
    }

    /// The decimal text.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

impl Serialize for BigInt<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(BIGINT, self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for BigInt<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BigInt<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer as decimal text borrowed from the payload")
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<BigInt<'de>, D::Error> {
                d.deserialize_str(self)
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<BigInt<'de>, E> {
                BigInt::new(v).map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_newtype_struct(BIGINT, V)
    }
}

/// Text that is not a normalized decimal integer.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct BigIntError;

impl fmt::Display for BigIntError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a decimal integer: expected an optional '-' and digits without leading zeros")
    }
}

impl core::error::Error for BigIntError {}
