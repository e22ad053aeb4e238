//! Any Pyro format → `Value` (through exact mode), and `Value` → any `Deserialize`
//! ([`from_value`]).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::de::{
    self, Deserialize, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess,
    SeqAccess, VariantAccess, Visitor,
};

use super::{Error, Value, from_decimal, from_u128};
use crate::ser::python::{BIGINT, COMPLEX, DATE, DATETIME, Exact, FROZENSET, SET, TUPLE, VALUE};

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(VALUE, ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any Python value")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::None)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(from_u128(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_char<E>(self, v: char) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.into()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        Ok(Value::List(collect(&mut seq)?))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(k) = map.next_key::<Value>()? {
            entries.push((k, map.next_value::<Value>()?));
        }
        Ok(Value::Dict(entries))
    }
    /// Exact mode: a Python type serde lacks, its token the variant name (out of band: no
    /// format reports user data as an enum here, so any dict stays a dict).
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (token, content) = data.variant::<Token>()?;
        Ok(match token.0 {
            TUPLE => Value::Tuple(content.newtype_variant_seed(ListSeed)?),
            SET => Value::Set(content.newtype_variant_seed(ListSeed)?),
            FROZENSET => Value::FrozenSet(content.newtype_variant_seed(ListSeed)?),
            COMPLEX => {
                let (re, im) = content.newtype_variant::<(f64, f64)>()?;
                Value::Complex { re, im }
            }
            BIGINT => {
                let text = content.newtype_variant::<String>()?;
                from_decimal(&text).map_err(de::Error::custom)?
            }
            DATETIME => Value::DateTime(content.newtype_variant::<f64>()?),
            DATE => Value::Date(content.newtype_variant::<i64>()?),
            other => return Err(de::Error::unknown_variant(other, TOKENS)),
        })
    }
}

/// The tokens exact mode reports.
const TOKENS: &[&str] = &[TUPLE, SET, FROZENSET, COMPLEX, BIGINT, DATETIME, DATE];

/// The variant name of an exact-mode report, one of [`TOKENS`].
struct Token(&'static str);

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Token;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Python type token")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Token, E> {
                TOKENS.iter().find(|t| **t == v).map(|t| Token(t)).ok_or_else(|| E::unknown_variant(v, TOKENS))
            }
        }
        d.deserialize_identifier(V)
    }
}

fn collect<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<Vec<Value>, A::Error> {
    let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
    while let Some(item) = seq.next_element::<Value>()? {
        items.push(item);
    }
    Ok(items)
}

/// A sequence of values (the content of a tuple or set marker).
struct ListSeed;

impl<'de> DeserializeSeed<'de> for ListSeed {
    type Value = Vec<Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<Value>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of values")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
                collect(&mut seq)
            }
        }
        d.deserialize_seq(V)
    }
}

/// Convert a [`Value`] into any deserializable type, Python's types as serde sees them:
/// tuples, lists, sets and frozensets are sequences, a complex number a 2-tuple, dicts maps
/// (and structs), `None` a unit or `Option::None`, a `str` or one-entry dict an enum.
///
/// # Errors
/// When the value does not have the shape the type wants.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    T::deserialize(ValueDeserializer { value, exact: false })
}

/// Reads a [`Value`] as a serde `Deserializer`.
#[derive(Debug)]
pub struct ValueDeserializer {
    value: Value,
    /// Report Python types serde lacks as exact-mode enums (the target is a `Value`).
    exact: bool,
}

impl ValueDeserializer {
    /// A deserializer over `value`.
    pub fn new(value: Value) -> Self {
        Self { value, exact: false }
    }
}

impl IntoDeserializer<'_, Error> for Value {
    type Deserializer = ValueDeserializer;
    fn into_deserializer(self) -> ValueDeserializer {
        ValueDeserializer::new(self)
    }
}

impl<'de> Deserializer<'de> for ValueDeserializer {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let exact = self.exact;
        match self.value {
            Value::None => visitor.visit_none(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Int(i) => match (i64::try_from(i), u64::try_from(i)) {
                (Ok(v), _) => visitor.visit_i64(v),
                (_, Ok(v)) => visitor.visit_u64(v),
                _ => visitor.visit_i128(i),
            },
            Value::BigInt(text) if exact => visitor.visit_enum(exact_report(BIGINT, Value::Str(text))),
            Value::BigInt(text) => visitor.visit_string(text),
            Value::Float(f) => visitor.visit_f64(f),
            Value::Complex { re, im } if exact => {
                let parts = Value::Tuple(alloc::vec![Value::Float(re), Value::Float(im)]);
                visitor.visit_enum(exact_report(COMPLEX, parts))
            }
            Value::Complex { re, im } => visitor.visit_seq(Seq::new(alloc::vec![Value::Float(re), Value::Float(im)])),
            Value::Str(s) => visitor.visit_string(s),
            Value::Bytes(b) => visitor.visit_byte_buf(b),
            Value::Tuple(items) if exact => visitor.visit_enum(exact_report(TUPLE, Value::List(items))),
            Value::Set(items) if exact => visitor.visit_enum(exact_report(SET, Value::List(items))),
            Value::FrozenSet(items) if exact => visitor.visit_enum(exact_report(FROZENSET, Value::List(items))),
            Value::Tuple(items) | Value::List(items) | Value::Set(items) | Value::FrozenSet(items) => {
                visitor.visit_seq(Seq::new(items))
            }
            Value::DateTime(timestamp) if exact => visitor.visit_enum(exact_report(DATETIME, Value::Float(timestamp))),
            Value::DateTime(timestamp) => visitor.visit_f64(timestamp),
            Value::Date(ordinal) if exact => visitor.visit_enum(exact_report(DATE, Value::Int(ordinal.into()))),
            Value::Date(ordinal) => visitor.visit_i64(ordinal),
            Value::Dict(entries) => visitor.visit_map(Map { entries: entries.into_iter(), value: None }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::None => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Error> {
        if name == VALUE {
            visitor.visit_newtype_struct(ValueDeserializer { value: self.value, exact: true })
        } else {
            visitor.visit_newtype_struct(self)
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Str(variant) => visitor.visit_enum(Enum { variant, content: None }),
            Value::Dict(mut entries) if entries.len() == 1 => match entries.pop() {
                Some((Value::Str(variant), content)) => visitor.visit_enum(Enum { variant, content: Some(content) }),
                _ => Err(de::Error::custom("an enum is a variant name or a one-entry dict keyed by it")),
            },
            other => Err(de::Error::invalid_type(unexpected(&other), &"an enum")),
        }
    }

    /// Python's `None` is also Rust's `()` (a method returning nothing).
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::None => visitor.visit_unit(),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        seq tuple tuple_struct map struct identifier ignored_any
    }
}

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::None => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Float(f) => de::Unexpected::Float(*f),
        Value::Str(s) => de::Unexpected::Str(s),
        Value::Bytes(b) => de::Unexpected::Bytes(b),
        Value::Dict(_) => de::Unexpected::Map,
        Value::Tuple(_) | Value::List(_) | Value::Set(_) | Value::FrozenSet(_) => de::Unexpected::Seq,
        _ => de::Unexpected::Other(v.type_name()),
    }
}

/// The elements of a sequence; each is read as a `Value` again when the target wants one.
struct Seq {
    items: alloc::vec::IntoIter<Value>,
}

impl Seq {
    fn new(items: Vec<Value>) -> Self {
        Self { items: items.into_iter() }
    }
}

impl<'de> SeqAccess<'de> for Seq {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        self.items.next().map(|v| seed.deserialize(ValueDeserializer::new(v))).transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map {
    entries: alloc::vec::IntoIter<(Value, Value)>,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for Map {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(ValueDeserializer::new(k)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let v = self.value.take().ok_or_else(|| de::Error::custom("map value requested before its key"))?;
        seed.deserialize(ValueDeserializer::new(v))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// Exact mode's report of the Python type `token` with `content`.
fn exact_report(token: &'static str, content: Value) -> Exact<ValueDeserializer> {
    Exact::new(token, ValueDeserializer::new(content))
}

struct Enum {
    variant: String,
    content: Option<Value>,
}

impl<'de> EnumAccess<'de> for Enum {
    type Error = Error;
    type Variant = VariantContent;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, VariantContent), Error> {
        let name = seed.deserialize(self.variant.into_deserializer())?;
        Ok((name, VariantContent(self.content)))
    }
}

struct VariantContent(Option<Value>);

impl<'de> VariantAccess<'de> for VariantContent {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            None | Some(Value::None) => Ok(()),
            Some(other) => Err(de::Error::invalid_type(unexpected(&other), &"a unit variant")),
        }
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(ValueDeserializer::new(self.0.unwrap_or(Value::None)))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        ValueDeserializer::new(self.0.unwrap_or(Value::None)).deserialize_any(visitor)
    }
    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        ValueDeserializer::new(self.0.unwrap_or(Value::None)).deserialize_any(visitor)
    }
}
