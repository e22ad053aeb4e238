//! The serializer: serde values as the text Python's `json.dumps(obj, ensure_ascii=False)`
//! writes (`docs/serializers.md`, "json"), UTF-8 encoded, byte for byte.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use core::fmt::{self, Write as _};

use serde::ser::{self, Impossible, Serialize};

use super::{Error, MAX_INT_DIGITS};
use crate::ser::float::write_repr;
use crate::ser::output::{FmtAdapter, Output};
use crate::ser::python::{self, BigInt};

/// Writes serde values as Pyro5's json into an [`Output`].
///
/// Use it through [`to_output`](super::to_output) and friends, or directly:
/// `value.serialize(&mut Serializer::new(out))`.
#[derive(Debug)]
pub struct Serializer<O: Output> {
    out: O,
}

impl<O: Output> Serializer<O> {
    /// A serializer writing into `out`.
    pub fn new(out: O) -> Self {
        Self { out }
    }

    /// The output, back.
    pub fn into_inner(self) -> O {
        self.out
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        write_raw(&mut self.out, bytes)
    }
}

impl<'a, O: Output> ser::Serializer for &'a mut Serializer<O> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, O>;
    type SerializeTuple = Compound<'a, O>;
    type SerializeTupleStruct = Compound<'a, O>;
    type SerializeTupleVariant = Compound<'a, O>;
    type SerializeMap = Compound<'a, O>;
    type SerializeStruct = Compound<'a, O>;
    type SerializeStructVariant = Compound<'a, O>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.raw(if v { b"true" } else { b"false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        write_display(&mut self.out, v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        write_display(&mut self.out, v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        write_display(&mut self.out, v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        write_display(&mut self.out, v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        write_display(&mut self.out, v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        write_display(&mut self.out, v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        write_display(&mut self.out, v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        write_display(&mut self.out, v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        write_display(&mut self.out, v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        write_display(&mut self.out, v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        write_float(&mut self.out, f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        write_float(&mut self.out, v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(&mut self.out, v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(&mut self.out, v)
    }
    fn collect_str<T: ?Sized + fmt::Display>(self, value: &T) -> Result<(), Error> {
        write_display_str(&mut self.out, value)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(Error::Unsupported { what: "bytes" })
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Error> {
        write_str(&mut self.out, variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, name: &'static str, value: &T) -> Result<(), Error> {
        match name {
            python::FROZENSET => Err(Error::Unsupported { what: "frozenset" }),
            python::COMPLEX => Err(Error::Unsupported { what: "complex" }),
            python::BIGINT => value.serialize(BigIntSerializer { out: &mut self.out, quoted: false }),
            // SET: json writes a set as an array, which the inner sequence already is.
            _ => value.serialize(self),
        }
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.raw(b"{")?;
        write_str(&mut self.out, variant)?;
        self.raw(b": ")?;
        value.serialize(&mut *self)?;
        self.raw(b"}")
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, O>, Error> {
        self.raw(b"[")?;
        Ok(Compound { ser: self, first: true, variant: false })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, O>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, O>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, O>, Error> {
        self.raw(b"{")?;
        write_str(&mut self.out, variant)?;
        self.raw(b": [")?;
        Ok(Compound { ser: self, first: true, variant: true })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, O>, Error> {
        self.raw(b"{")?;
        Ok(Compound { ser: self, first: true, variant: false })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, O>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, O>, Error> {
        self.raw(b"{")?;
        write_str(&mut self.out, variant)?;
        self.raw(b": {")?;
        Ok(Compound { ser: self, first: true, variant: true })
    }
}

/// An array or object being written.
#[doc(hidden)]
#[derive(Debug)]
pub struct Compound<'a, O: Output> {
    ser: &'a mut Serializer<O>,
    /// No item written yet.
    first: bool,
    /// The container sits inside a `{"variant": ...}` object that must be closed too.
    variant: bool,
}

impl<O: Output> Compound<'_, O> {
    fn separator(&mut self) -> Result<(), Error> {
        if core::mem::replace(&mut self.first, false) { Ok(()) } else { self.ser.raw(b", ") }
    }

    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.separator()?;
        value.serialize(&mut *self.ser)
    }

    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.separator()?;
        write_str(&mut self.ser.out, key)?;
        self.ser.raw(b": ")?;
        value.serialize(&mut *self.ser)
    }

    fn close_list(self) -> Result<(), Error> {
        self.close(b"]")
    }

    fn close(self, bracket: &[u8]) -> Result<(), Error> {
        self.ser.raw(bracket)?;
        if self.variant { self.ser.raw(b"}") } else { Ok(()) }
    }
}

sequence_compounds!(element, close_list);

impl<O: Output> ser::SerializeMap for Compound<'_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.separator()?;
        key.serialize(KeySerializer { out: &mut self.ser.out })
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.ser.raw(b": ")?;
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        self.close(b"}")
    }
}

impl<O: Output> ser::SerializeStruct for Compound<'_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close(b"}")
    }
}

impl<O: Output> ser::SerializeStructVariant for Compound<'_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close(b"}")
    }
}

/// Writes a dict key as Python's json does: str as is; int, float, bool and None as their
/// json text inside quotes; anything else refused (Python's `TypeError`).
struct KeySerializer<'a, O: Output> {
    out: &'a mut O,
}

impl<O: Output> KeySerializer<'_, O> {
    fn quoted(self, f: impl FnOnce(&mut O) -> Result<(), Error>) -> Result<(), Error> {
        let out = self.out;
        write_raw(&mut *out, b"\"")?;
        f(&mut *out)?;
        write_raw(out, b"\"")
    }
}

/// A key of a type json refuses.
fn bad_key(found: &'static str) -> Error {
    Error::UnsupportedKey { found }
}

impl<O: Output> ser::Serializer for KeySerializer<'_, O> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        write_raw(self.out, if v { b"\"true\"" } else { b"\"false\"" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.quoted(|o| write_display(o, v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.quoted(|o| write_display(o, v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.quoted(|o| write_display(o, v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.quoted(|o| write_display(o, v))
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.quoted(|o| write_display(o, v))
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.quoted(|o| write_display(o, v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.quoted(|o| write_display(o, v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.quoted(|o| write_display(o, v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.quoted(|o| write_display(o, v))
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.quoted(|o| write_display(o, v))
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.quoted(|o| write_float(o, f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.quoted(|o| write_float(o, v))
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v)
    }
    fn collect_str<T: ?Sized + fmt::Display>(self, value: &T) -> Result<(), Error> {
        write_display_str(self.out, value)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(bad_key("bytes"))
    }
    fn serialize_none(self) -> Result<(), Error> {
        write_raw(self.out, b"\"null\"")
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        write_raw(self.out, b"\"null\"")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        write_raw(self.out, b"\"null\"")
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Error> {
        write_str(self.out, variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, name: &'static str, value: &T) -> Result<(), Error> {
        match name {
            python::SET => Err(bad_key("set")),
            python::FROZENSET => Err(bad_key("frozenset")),
            python::COMPLEX => Err(bad_key("complex")),
            python::BIGINT => value.serialize(BigIntSerializer { out: self.out, quoted: true }),
            _ => value.serialize(self),
        }
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(bad_key("dict"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(bad_key("list"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(bad_key("tuple"))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(bad_key("tuple"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(bad_key("dict"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(bad_key("dict"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Error> {
        Err(bad_key("dict"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(bad_key("dict"))
    }
}

/// Writes the decimal text inside a [`python::BIGINT`] newtype, which must be a `str`.
struct BigIntSerializer<'a, O: Output> {
    out: &'a mut O,
    /// Inside quotes (as a dict key).
    quoted: bool,
}

impl<O: Output> ser::Serializer for BigIntSerializer<'_, O> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        let text = BigInt::new(v).map_err(|_| Error::InvalidBigInt)?.as_str();
        let digits = text.len().saturating_sub(usize::from(text.starts_with('-')));
        if digits > MAX_INT_DIGITS {
            return Err(Error::IntTooLong { digits, offset: None });
        }
        if self.quoted {
            write_raw(self.out, b"\"")?;
            write_raw(self.out, text.as_bytes())?;
            write_raw(self.out, b"\"")
        } else {
            write_raw(self.out, text.as_bytes())
        }
    }
    fn collect_str<T: ?Sized + fmt::Display>(self, _value: &T) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_bool(self, _v: bool) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_i8(self, _v: i8) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_i16(self, _v: i16) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_i32(self, _v: i32) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_i64(self, _v: i64) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_u8(self, _v: u8) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_u16(self, _v: u16) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_u32(self, _v: u32) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_u64(self, _v: u64) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_char(self, _v: char) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, _variant: &'static str) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _name: &'static str, _value: &T) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Error> {
        Err(Error::InvalidBigInt)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error::InvalidBigInt)
    }
}

fn write_raw<O: Output + ?Sized>(out: &mut O, bytes: &[u8]) -> Result<(), Error> {
    out.write_bytes(bytes).map_err(Error::Output)
}

/// Write what `value` displays (integers: their decimal text, as Python writes them).
fn write_display<O: Output>(out: &mut O, value: impl fmt::Display) -> Result<(), Error> {
    let mut w = FmtAdapter { out, error: None };
    match write!(w, "{value}") {
        Ok(()) => Ok(()),
        Err(fmt::Error) => Err(fmt_error(w.error)),
    }
}

/// A float as Python's json writes it: `repr`, and `NaN`, `Infinity`, `-Infinity`.
fn write_float<O: Output>(out: &mut O, v: f64) -> Result<(), Error> {
    if v.is_nan() {
        write_raw(out, b"NaN")
    } else if v.is_infinite() {
        write_raw(out, if v > 0.0 { b"Infinity" } else { b"-Infinity" })
    } else {
        let mut w = FmtAdapter { out, error: None };
        write_repr(&mut w, v).map_err(|fmt::Error| fmt_error(w.error))
    }
}

/// The error behind a `fmt::Error` from a [`FmtAdapter`].
fn fmt_error(error: Option<crate::ser::output::OutputError>) -> Error {
    match error {
        Some(e) => Error::Output(e),
        None => <Error as ser::Error>::custom("formatting a number failed"),
    }
}

/// A json string as Python writes it with `ensure_ascii=False`: `\"`, `\\`, `\n`, `\r`,
/// `\t`, `\b`, `\f`, other C0 controls as `\u00xx` (lowercase hex); everything else raw.
fn write_str<O: Output + ?Sized>(out: &mut O, s: &str) -> Result<(), Error> {
    write_raw(out, b"\"")?;
    write_escaped(out, s)?;
    write_raw(out, b"\"")
}

/// What `value` displays, as a json string (`collect_str`), written as it is formatted.
fn write_display_str<O: Output, T: ?Sized + fmt::Display>(out: &mut O, value: &T) -> Result<(), Error> {
    /// Escapes what is written through it.
    struct Escaping<'o, O: Output> {
        out: &'o mut O,
        error: Option<Error>,
    }
    impl<O: Output> fmt::Write for Escaping<'_, O> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            write_escaped(self.out, s).map_err(|e| {
                self.error = Some(e);
                fmt::Error
            })
        }
    }
    write_raw(out, b"\"")?;
    let mut w = Escaping { out: &mut *out, error: None };
    if write!(w, "{value}").is_err() {
        return Err(w.error.unwrap_or_else(|| <Error as ser::Error>::custom("a Display implementation failed")));
    }
    write_raw(out, b"\"")
}

/// The body of a json string, escaped.
fn write_escaped<O: Output + ?Sized>(out: &mut O, s: &str) -> Result<(), Error> {
    let mut rest = s.as_bytes();
    while let Some(at) = rest.iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\') {
        let (plain, tail) = rest.split_at_checked(at).unwrap_or((rest, &[]));
        write_raw(out, plain)?;
        let Some((&b, tail)) = tail.split_first() else { break };
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            _ => &[],
        };
        if short.is_empty() {
            let hex = |n: u8| HEX.get(usize::from(n & 0xf)).copied().unwrap_or(b'0');
            write_raw(out, &[b'\\', b'u', b'0', b'0', hex(b >> 4), hex(b)])?;
        } else {
            write_raw(out, short)?;
        }
        rest = tail;
    }
    write_raw(out, rest)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    extern crate std;
    use std::collections::BTreeMap;
    use std::string::String;
    use std::vec::Vec;

    use serde::Serialize;

    use super::*;
    use crate::ser::SliceOutput;
    use crate::ser::python::{BigInt, Complex, FrozenSet, Set, Tuple};

    fn text<T: ?Sized + Serialize>(v: &T) -> Result<String, Error> {
        let mut buf = [0u8; 512];
        let mut out = SliceOutput::new(&mut buf);
        v.serialize(&mut Serializer::new(&mut out))?;
        let n = out.len();
        Ok(String::from_utf8(buf[..n].to_vec()).unwrap())
    }

    #[test]
    fn strings_escape_as_python_with_ensure_ascii_false() {
        assert_eq!(text("a\"b\\c").unwrap(), r#""a\"b\\c""#);
        assert_eq!(text("\n\r\t\x08\x0c").unwrap(), r#""\n\r\t\b\f""#);
        assert_eq!(text("\x00\x1b\x1f\x0b").unwrap(), r#""\u0000\u001b\u001f\u000b""#);
        assert_eq!(text("\x7f\u{2028}é😀/").unwrap(), "\"\x7f\u{2028}é😀/\"");
        assert_eq!(text(&'\n').unwrap(), r#""\n""#);
    }

    #[test]
    fn floats_are_python_reprs_and_non_finite_tokens() {
        assert_eq!(text(&1e16).unwrap(), "1e+16");
        assert_eq!(text(&-0.0).unwrap(), "-0.0");
        assert_eq!(text(&f64::NAN).unwrap(), "NaN");
        assert_eq!(text(&f64::INFINITY).unwrap(), "Infinity");
        assert_eq!(text(&f64::NEG_INFINITY).unwrap(), "-Infinity");
        assert_eq!(text(&0.5f32).unwrap(), "0.5");
        assert_eq!(text(&0.1f32).unwrap(), "0.10000000149011612");
    }

    #[test]
    fn separators_have_spaces() {
        let mut m = BTreeMap::new();
        m.insert("a", (1, [2, 3]));
        m.insert("b", (4, [5, 6]));
        assert_eq!(text(&m).unwrap(), r#"{"a": [1, [2, 3]], "b": [4, [5, 6]]}"#);
        assert_eq!(text(&(Vec::<u8>::new(), BTreeMap::<u8, u8>::new())).unwrap(), "[[], {}]");
    }

    #[test]
    fn keys_become_strings_as_python_makes_them() {
        let mut m = BTreeMap::new();
        m.insert(-1i64, ());
        m.insert(7, ());
        assert_eq!(text(&m).unwrap(), r#"{"-1": null, "7": null}"#);
        let mut m = BTreeMap::new();
        m.insert(true, 1);
        assert_eq!(text(&m).unwrap(), r#"{"true": 1}"#);
        let mut m = BTreeMap::new();
        m.insert(Some(()), 1);
        m.insert(None, 2);
        assert_eq!(text(&m).unwrap(), r#"{"null": 2, "null": 1}"#);
        let m = [(BigInt::new("123456789012345678901234567890123456789012").unwrap(), 1)];
        assert_eq!(text(&Pairs(&m)).unwrap(), r#"{"123456789012345678901234567890123456789012": 1}"#);
    }

    /// A dict of the given entries, in order.
    struct Pairs<'a, K, V>(&'a [(K, V)]);

    impl<K: Serialize, V: Serialize> Serialize for Pairs<'_, K, V> {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }

    #[test]
    fn float_keys_use_repr_and_non_finite_tokens() {
        struct M;
        impl Serialize for M {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                m.serialize_entry(&2.5, &0)?;
                m.serialize_entry(&f64::NAN, &0)?;
                m.serialize_entry(&f64::NEG_INFINITY, &0)?;
                m.serialize_entry(&1e16, &0)?;
                m.end()
            }
        }
        assert_eq!(text(&M).unwrap(), r#"{"2.5": 0, "NaN": 0, "-Infinity": 0, "1e+16": 0}"#);
    }

    #[test]
    fn tuple_and_container_keys_are_type_errors() {
        let mut m = BTreeMap::new();
        m.insert((1, 2), "tuple");
        let e = text(&m).unwrap_err();
        assert_eq!(e, Error::UnsupportedKey { found: "tuple" });
        assert_eq!(e.pyro_class(), "builtins.TypeError");
        let mut m = BTreeMap::new();
        m.insert(Vec::<u8>::new(), 1);
        assert_eq!(text(&m).unwrap_err(), Error::UnsupportedKey { found: "list" });
    }

    #[test]
    fn python_types_follow_the_contract() {
        assert_eq!(text(&Set(&[1, 2])).unwrap(), "[1, 2]");
        assert_eq!(text(&Tuple::<u8>(&[])).unwrap(), "[]");
        assert_eq!(text(&FrozenSet(&[1])).unwrap_err(), Error::Unsupported { what: "frozenset" });
        assert_eq!(text(&Complex { re: 1.0, im: 2.0 }).unwrap_err(), Error::Unsupported { what: "complex" });
        assert_eq!(text(serde_bytes_like()).unwrap_err(), Error::Unsupported { what: "bytes" });
        assert_eq!(
            text(&BigInt::new("-98765432109876543210987654321098765432109").unwrap()).unwrap(),
            "-98765432109876543210987654321098765432109"
        );
        assert_eq!(text(&i128::MIN).unwrap(), "-170141183460469231731687303715884105728");
        assert_eq!(text(&u128::MAX).unwrap(), "340282366920938463463374607431768211455");
    }

    fn serde_bytes_like() -> &'static impl Serialize {
        struct B;
        impl Serialize for B {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(b"\x00")
            }
        }
        &B
    }

    #[test]
    fn big_int_text_is_checked() {
        struct Raw(&'static str);
        impl Serialize for Raw {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_newtype_struct(python::BIGINT, self.0)
            }
        }
        assert_eq!(text(&Raw("012")).unwrap_err(), Error::InvalidBigInt);
        assert_eq!(text(&Raw("1x")).unwrap_err(), Error::InvalidBigInt);
        let long: &'static str = std::boxed::Box::leak("9".repeat(MAX_INT_DIGITS + 1).into_boxed_str());
        let e = text(&Raw(long)).unwrap_err();
        assert_eq!(e, Error::IntTooLong { digits: MAX_INT_DIGITS + 1, offset: None });
    }

    #[test]
    fn enums_are_names_or_single_entry_dicts() {
        #[derive(Serialize)]
        enum E {
            Unit,
            New(u8),
            Tup(u8, u8),
            Rec { a: u8 },
        }
        assert_eq!(text(&E::Unit).unwrap(), r#""Unit""#);
        assert_eq!(text(&E::New(1)).unwrap(), r#"{"New": 1}"#);
        assert_eq!(text(&E::Tup(1, 2)).unwrap(), r#"{"Tup": [1, 2]}"#);
        assert_eq!(text(&E::Rec { a: 3 }).unwrap(), r#"{"Rec": {"a": 3}}"#);
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct S<'a> {
            name: &'a str,
            unit: Unit,
            opt: Option<u8>,
        }
        assert_eq!(
            text(&S { name: "x", unit: Unit, opt: None }).unwrap(),
            r#"{"name": "x", "unit": null, "opt": null}"#
        );
    }

    #[test]
    fn a_full_buffer_is_reported() {
        let mut buf = [0u8; 4];
        let mut out = SliceOutput::new(&mut buf);
        let e = "hello".serialize(&mut Serializer::new(&mut out)).unwrap_err();
        assert!(matches!(e, Error::Output(crate::ser::OutputError::BufferFull { capacity: 4 })));
        let mut buf = [0u8; 4];
        let mut out = SliceOutput::new(&mut buf);
        let e = 123456.serialize(&mut Serializer::new(&mut out)).unwrap_err();
        assert!(matches!(e, Error::Output(_)));
    }
}
