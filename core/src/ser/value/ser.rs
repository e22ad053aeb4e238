//! `Value` → any serde format, and any `Serialize` → `Value` ([`to_value`]).

use alloc::borrow::ToOwned;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, SerializeTuple, Serializer};

use super::{Error, Value, from_decimal, from_u128};
use crate::ser::python::{BIGINT, COMPLEX, DATE, DATETIME, FROZENSET, SET};

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::None => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    s.serialize_i64(v)
                } else if let Ok(v) = u64::try_from(*i) {
                    s.serialize_u64(v)
                } else {
                    s.serialize_i128(*i)
                }
            }
            Value::BigInt(text) => s.serialize_newtype_struct(BIGINT, text.as_str()),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Complex { re, im } => s.serialize_newtype_struct(COMPLEX, &(*re, *im)),
            Value::Str(text) => s.serialize_str(text),
            Value::Bytes(b) => s.serialize_bytes(b),
            Value::Tuple(items) => {
                let mut t = s.serialize_tuple(items.len())?;
                for item in items {
                    t.serialize_element(item)?;
                }
                t.end()
            }
            Value::List(items) => items_seq(s, items),
            Value::Dict(entries) => {
                let mut m = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Value::Set(items) => s.serialize_newtype_struct(SET, &Items(items)),
            Value::FrozenSet(items) => s.serialize_newtype_struct(FROZENSET, &Items(items)),
            Value::DateTime(timestamp) => s.serialize_newtype_struct(DATETIME, timestamp),
            Value::Date(ordinal) => s.serialize_newtype_struct(DATE, ordinal),
        }
    }
}

struct Items<'a>(&'a [Value]);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        items_seq(s, self.0)
    }
}

fn items_seq<S: Serializer>(s: S, items: &[Value]) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(items.len()))?;
    for item in items {
        seq.serialize_element(item)?;
    }
    seq.end()
}

/// Convert any `Serialize` value into a [`Value`], with Python's types as serde maps them:
/// tuples become tuples, sequences lists, maps and structs dicts, `None`/unit `None`, unit
/// variants their name, other variants a one-entry dict; the [`python`](crate::ser::python)
/// wrappers their Python types.
///
/// # Errors
/// What the value's `Serialize` implementation reports, or a malformed Python type marker.
pub fn to_value<T: ?Sized + Serialize>(value: &T) -> Result<Value, Error> {
    value.serialize(ValueSerializer)
}

/// Builds a [`Value`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ValueSerializer;

impl Serializer for ValueSerializer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantBuilder<SeqBuilder>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = VariantBuilder<MapBuilder>;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_i128(self, v: i128) -> Result<Value, Error> {
        Ok(Value::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_u128(self, v: u128) -> Result<Value, Error> {
        Ok(from_u128(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        Ok(Value::Float(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(Value::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(Value::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::None)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::None)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, Error> {
        Ok(Value::None)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Value, Error> {
        Ok(Value::Str(variant.into()))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, name: &'static str, value: &T) -> Result<Value, Error> {
        let inner = value.serialize(self)?;
        match (name, inner) {
            (SET, Value::List(items)) => Ok(Value::Set(items)),
            (FROZENSET, Value::List(items)) => Ok(Value::FrozenSet(items)),
            (COMPLEX, Value::Tuple(parts)) => match parts.as_slice() {
                [Value::Float(re), Value::Float(im)] => Ok(Value::Complex { re: *re, im: *im }),
                _ => Err(Error::BadMarker("complex")),
            },
            (BIGINT, Value::Str(text)) => from_decimal(&text),
            (DATETIME, Value::Float(timestamp)) => Ok(Value::DateTime(timestamp)),
            (DATE, Value::Int(ordinal)) => {
                i64::try_from(ordinal).map(Value::Date).map_err(|_| Error::BadMarker("date"))
            }
            (DATETIME, _) => Err(Error::BadMarker("datetime")),
            (DATE, _) => Err(Error::BadMarker("date")),
            (SET | FROZENSET, _) => Err(Error::BadMarker("set")),
            (COMPLEX, _) => Err(Error::BadMarker("complex")),
            (BIGINT, _) => Err(Error::BadMarker("big integer")),
            (_, inner) => Ok(inner),
        }
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        Ok(Value::Dict(alloc::vec![(Value::Str(variant.into()), value.serialize(self)?)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder { items: Vec::with_capacity(len.unwrap_or(0).min(4096)), tuple: false })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder { items: Vec::with_capacity(len.min(4096)), tuple: true })
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_tuple(len)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<SeqBuilder>, Error> {
        Ok(VariantBuilder { variant, inner: self.serialize_tuple(len)? })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, Error> {
        Ok(MapBuilder { entries: Vec::with_capacity(len.unwrap_or(0).min(4096)), key: None })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapBuilder, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<MapBuilder>, Error> {
        Ok(VariantBuilder { variant, inner: self.serialize_map(Some(len))? })
    }
}

/// Collects a tuple or list.
#[derive(Debug)]
pub struct SeqBuilder {
    items: Vec<Value>,
    tuple: bool,
}

impl SeqBuilder {
    fn finish(self) -> Value {
        if self.tuple { Value::Tuple(self.items) } else { Value::List(self.items) }
    }
}

impl SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

/// Collects a dict.
#[derive(Debug)]
pub struct MapBuilder {
    entries: Vec<(Value, Value)>,
    key: Option<Value>,
}

impl SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        let key = to_value(key)?;
        if let Value::List(_) | Value::Dict(_) | Value::Set(_) = key {
            return Err(Error::UnhashableKey(key.type_name()));
        }
        self.key = Some(key);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        let key = self.key.take().ok_or(Error::BadMarker("map entry"))?;
        self.entries.push((key, to_value(value)?));
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Dict(self.entries))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.entries.push((Value::Str(String::from(key)), to_value(value)?));
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Dict(self.entries))
    }
}

/// Wraps a variant's content in a one-entry dict `{variant: content}`.
#[derive(Debug)]
pub struct VariantBuilder<B> {
    variant: &'static str,
    inner: B,
}

impl ser::SerializeTupleVariant for VariantBuilder<SeqBuilder> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        SerializeSeq::serialize_element(&mut self.inner, value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Dict(alloc::vec![(Value::Str(self.variant.into()), self.inner.finish())]))
    }
}

impl ser::SerializeStructVariant for VariantBuilder<MapBuilder> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Dict(alloc::vec![(Value::Str(self.variant.into()), Value::Dict(self.inner.entries))]))
    }
}
