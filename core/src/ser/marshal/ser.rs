//! Writing serde values as CPython's `marshal.dumps` (version 4) writes the Python value.

use core::fmt;

use serde::ser::{self, Serialize};

use super::Error;
use super::long::{self, Digits};
use crate::ser::marshal_str;
use crate::ser::output::{Output, SliceOutput};
use crate::ser::python::{BIGINT, COMPLEX, FROZENSET, SET};

/// Writes marshal into an [`Output`]: no references (FLAG_REF is never set), and otherwise the
/// type codes CPython picks (`docs/serializers.md`, "marshal"):
///
/// | value | bytes |
/// |---|---|
/// | `()`, `None`, unit structs | `N` |
/// | `bool` | `T` / `F` |
/// | integers (any width, `BIGINT` text) | `i` int32 when it fits, else `l` with 15-bit digits |
/// | `f32`, `f64` | `g` 8-byte double |
/// | `COMPLEX` | `y` two doubles |
/// | `str`, `char`, unit variants | `z` (ASCII, < 256 bytes), `a` (longer ASCII), `u` (UTF-8) |
/// | bytes | `s` |
/// | tuples, tuple structs | `)` (< 256 items) or `(` |
/// | sequences | `[` |
/// | `SET` / `FROZENSET` | `<` / `>` |
/// | maps, structs | `{` key value ... `0` |
/// | newtype, tuple and struct variants | `{` name value `0` |
pub struct Serializer<O: Output> {
    out: O,
    /// Writing a dict key or a set element: lists, dicts and sets are refused, as Python
    /// cannot hash them.
    key: bool,
    /// Set by the `SET`/`FROZENSET` tokens: the type code the next sequence is written with.
    set: Option<u8>,
}

impl<O: Output> Serializer<O> {
    /// A serializer writing into `out`.
    pub fn new(out: O) -> Self {
        Self { out, key: false, set: None }
    }

    /// The output back.
    pub fn into_inner(self) -> O {
        self.out
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.out.write_bytes(bytes).map_err(Error::Output)
    }

    /// A value that is not a sequence: refuse it when a set token is pending.
    fn plain(&mut self) -> Result<(), Error> {
        match self.set.take() {
            Some(code) => Err(Error::BadToken { token: if code == SET_CODE { "set" } else { "frozenset" } }),
            None => Ok(()),
        }
    }

    /// A container Python cannot hash: refuse it as a dict key or set element.
    fn hashable(&self, type_name: &'static str) -> Result<(), Error> {
        if self.key { Err(Error::Unhashable { type_name, offset: 0 }) } else { Ok(()) }
    }

    fn size(len: usize) -> Result<[u8; 4], Error> {
        match i32::try_from(len) {
            Ok(n) => Ok(n.to_le_bytes()),
            Err(_) => Err(Error::TooLong { len }),
        }
    }

    fn header(&mut self, code: u8, len: usize) -> Result<(), Error> {
        let size = Self::size(len)?;
        self.write(&[code])?;
        self.write(&size)
    }

    fn int(&mut self, negative: bool, magnitude: u128) -> Result<(), Error> {
        let fits_i32 = if negative { magnitude <= 1 << 31 } else { magnitude < 1 << 31 };
        if fits_i32 {
            let v = if negative { (magnitude as i64).wrapping_neg() } else { magnitude as i64 };
            let mut bytes = [b'i', 0, 0, 0, 0];
            if let Some(dst) = bytes.get_mut(1..) {
                dst.copy_from_slice(&(v as i32).to_le_bytes());
            }
            return self.write(&bytes);
        }
        self.long(negative, &Digits::from_u128(magnitude))
    }

    fn long(&mut self, negative: bool, digits: &Digits) -> Result<(), Error> {
        let digits = digits.as_slice();
        // At most MAX_LONG_DIGITS digits: the count fits i32.
        let count = i32::try_from(digits.len()).map_err(|_| Error::TooLong { len: digits.len() })?;
        let count = if negative { -count } else { count };
        self.write(b"l")?;
        self.write(&count.to_le_bytes())?;
        for d in digits {
            self.write(&d.to_le_bytes())?;
        }
        Ok(())
    }

    fn text(&mut self, s: &str) -> Result<(), Error> {
        marshal_str::write_str(&mut self.out, s).map_err(Error::from)
    }

    /// `COMPLEX`: the inner value must be a pair of floats.
    #[inline(never)]
    fn complex<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        const BAD: Error = Error::BadToken { token: "complex" };
        let mut buf = [0u8; 24];
        let mut inner = Serializer::new(SliceOutput::new(&mut buf));
        value.serialize(&mut inner).map_err(|_| BAD)?;
        let len = inner.into_inner().len();
        // `)` 2 `g` re `g` im
        let bytes = buf.get(..len).ok_or(BAD)?;
        let Some((&[b')', 2, b'g'], rest)) = bytes.split_at_checked(3) else { return Err(BAD) };
        let Some((re, rest)) = rest.split_at_checked(8) else { return Err(BAD) };
        let Some((&b'g', im)) = rest.split_first() else { return Err(BAD) };
        if im.len() != 8 {
            return Err(BAD);
        }
        self.write(b"y")?;
        self.write(re)?;
        self.write(im)
    }

    /// `BIGINT`: the inner value must be decimal text, written as Python writes that int.
    #[inline(never)]
    fn bigint<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        const BAD: Error = Error::BadToken { token: "bigint" };
        let mut buf = [0u8; long::DECIMAL_BUF + 8];
        let mut inner = Serializer::new(SliceOutput::new(&mut buf));
        match value.serialize(&mut inner) {
            Ok(()) => {}
            Err(Error::Output(_)) => {
                return Err(Error::IntegerTooLarge { digits: buf.len(), max: long::MAX_DECIMAL_DIGITS, offset: 0 });
            }
            Err(_) => return Err(BAD),
        }
        let len = inner.into_inner().len();
        let bytes = buf.get(..len).ok_or(BAD)?;
        let text = match bytes.split_first() {
            Some((b'z', rest)) => rest.get(1..),
            Some((b'a', rest)) => rest.get(4..),
            _ => None,
        }
        .ok_or(BAD)?;
        let text = core::str::from_utf8(text).map_err(|_| BAD)?;
        let text = crate::ser::python::BigInt::new(text).map_err(|_| BAD)?.as_str();
        let (negative, decimal) = match text.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, text),
        };
        if decimal.len() > long::MAX_DECIMAL_DIGITS {
            return Err(Error::IntegerTooLarge { digits: decimal.len(), max: long::MAX_DECIMAL_DIGITS, offset: 0 });
        }
        let digits = Digits::from_decimal(decimal.as_bytes()).ok_or(Error::IntegerTooLarge {
            digits: decimal.len(),
            max: long::MAX_DECIMAL_DIGITS,
            offset: 0,
        })?;
        match digits.to_u128() {
            Some(magnitude) => self.int(negative, magnitude),
            None => self.long(negative, &digits),
        }
    }

    fn compound(&mut self, kind: Kind, announced: usize) -> Compound<'_, O> {
        let saved_key = self.key;
        Compound { ser: self, kind, announced, written: 0, saved_key }
    }
}

const SET_CODE: u8 = b'<';
const FROZENSET_CODE: u8 = b'>';

/// Serializes `value` into `out`.
///
/// # Errors
/// [`Error::Output`] when `out` fails; see [`Error`] for values marshal cannot hold.
pub fn to_output<O: Output, T: ?Sized + Serialize>(value: &T, out: &mut O) -> Result<(), Error> {
    value.serialize(&mut Serializer::new(out))
}

output_functions!("marshal");

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
        self.plain()?;
        self.write(if v { b"T" } else { b"F" })
    }

    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.plain()?;
        self.int(v < 0, v.unsigned_abs().into())
    }

    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.plain()?;
        self.int(v < 0, v.unsigned_abs())
    }

    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.plain()?;
        self.int(false, v.into())
    }

    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.plain()?;
        self.int(false, v)
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(v.into())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.plain()?;
        self.write(b"g")?;
        self.write(&v.to_le_bytes())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        let mut buf = [0u8; 4];
        self.serialize_str(v.encode_utf8(&mut buf))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.plain()?;
        self.text(v)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.plain()?;
        self.header(b's', v.len())?;
        self.write(v)
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.plain()?;
        self.write(b"N")
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, name: &'static str, value: &T) -> Result<(), Error> {
        match name {
            SET | FROZENSET => {
                self.plain()?;
                if name == SET {
                    self.hashable("set")?;
                }
                self.set = Some(if name == SET { SET_CODE } else { FROZENSET_CODE });
                value.serialize(&mut *self)?;
                match self.set.take() {
                    Some(_) => Err(Error::BadToken { token: "set" }),
                    None => Ok(()),
                }
            }
            COMPLEX => {
                self.plain()?;
                self.complex(value)
            }
            BIGINT => {
                self.plain()?;
                self.bigint(value)
            }
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
        self.plain()?;
        self.hashable("dict")?;
        self.write(b"{")?;
        self.text(variant)?;
        value.serialize(&mut *self)?;
        self.write(b"0")
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a, O>, Error> {
        let set = self.set.take();
        let len = len.ok_or(Error::UnknownLength)?;
        let (code, kind) = match set {
            Some(code) => (code, Kind::Set),
            None => {
                self.hashable("list")?;
                (b'[', Kind::List)
            }
        };
        self.header(code, len)?;
        Ok(self.compound(kind, len))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, O>, Error> {
        if self.set.is_some() {
            return self.serialize_seq(Some(len));
        }
        match u8::try_from(len) {
            Ok(n) => self.write(&[b')', n])?,
            Err(_) => self.header(b'(', len)?,
        }
        Ok(self.compound(Kind::Tuple, len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, O>, Error> {
        self.serialize_tuple(len)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, O>, Error> {
        self.plain()?;
        self.hashable("dict")?;
        self.write(b"{")?;
        self.text(variant)?;
        let mut c = self.serialize_tuple(len)?;
        c.kind = Kind::TupleVariant;
        Ok(c)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, O>, Error> {
        self.plain()?;
        self.hashable("dict")?;
        self.write(b"{")?;
        Ok(self.compound(Kind::Dict, 0))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a, O>, Error> {
        self.serialize_map(None)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, O>, Error> {
        self.plain()?;
        self.hashable("dict")?;
        self.write(b"{")?;
        self.text(variant)?;
        self.write(b"{")?;
        Ok(self.compound(Kind::StructVariant, 0))
    }

    fn collect_str<T: ?Sized + fmt::Display>(self, value: &T) -> Result<(), Error> {
        self.plain()?;
        marshal_str::write_display(&mut self.out, &value).map_err(Error::from)
    }
}

/// What a [`Compound`] is writing.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Kind {
    List,
    Set,
    Tuple,
    TupleVariant,
    Dict,
    StructVariant,
}

/// The serializer of a container's items.
pub struct Compound<'a, O: Output> {
    ser: &'a mut Serializer<O>,
    kind: Kind,
    /// Items announced in the header (counted kinds only).
    announced: usize,
    /// Items written so far.
    written: usize,
    /// The serializer's `key` flag when the container started.
    saved_key: bool,
}

impl<O: Output> Compound<'_, O> {
    fn item<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.written = self.written.saturating_add(1);
        // Set elements must be hashable; other items keep the container's context.
        self.ser.key = self.saved_key || self.kind == Kind::Set;
        let r = value.serialize(&mut *self.ser);
        self.ser.key = self.saved_key;
        r
    }

    fn key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.ser.key = true;
        let r = key.serialize(&mut *self.ser);
        self.ser.key = self.saved_key;
        r
    }

    fn value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.ser)
    }

    fn finish(self) -> Result<(), Error> {
        match self.kind {
            Kind::List | Kind::Set | Kind::Tuple | Kind::TupleVariant if self.written != self.announced => {
                Err(Error::LengthMismatch { announced: self.announced, written: self.written })
            }
            Kind::List | Kind::Set | Kind::Tuple => Ok(()),
            Kind::TupleVariant | Kind::Dict => self.ser.write(b"0"),
            Kind::StructVariant => self.ser.write(b"00"),
        }
    }
}

sequence_compounds!(item, finish);

impl<O: Output> ser::SerializeMap for Compound<'_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.key(key)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<O: Output> ser::SerializeStruct for Compound<'_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.ser.text(key)?;
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<O: Output> ser::SerializeStructVariant for Compound<'_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.ser.text(key)?;
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    use super::*;
    use crate::ser::python::{BigInt, Complex, FrozenSet, Set};

    fn dumps<T: ?Sized + Serialize>(value: &T) -> Vec<u8> {
        let mut buf = [0u8; 4096];
        let n = to_slice(value, &mut buf).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn ints_use_int32_when_they_fit_and_15_bit_digits_otherwise() {
        assert_eq!(dumps(&0i64), b"i\x00\x00\x00\x00");
        assert_eq!(dumps(&-1i8), b"i\xff\xff\xff\xff");
        assert_eq!(dumps(&i32::MIN), b"i\x00\x00\x00\x80");
        // marshal.dumps(2**31), marshal.dumps(-2**31-1)
        assert_eq!(dumps(&(1u32 << 31)), b"l\x03\x00\x00\x00\x00\x00\x00\x00\x02\x00");
        assert_eq!(dumps(&(-(1i64 << 31) - 1)), b"l\xfd\xff\xff\xff\x01\x00\x00\x00\x02\x00");
        assert_eq!(dumps(&u64::MAX), b"l\x05\x00\x00\x00\xff\x7f\xff\x7f\xff\x7f\xff\x7f\x0f\x00");
        // marshal.dumps(2**100)
        let mut expected = b"l\x07\x00\x00\x00".to_vec();
        expected.extend_from_slice(&[0; 12]);
        expected.extend_from_slice(&[0, 4]);
        assert_eq!(dumps(&(1u128 << 100)), expected);
    }

    #[test]
    fn bigint_text_becomes_the_same_bytes_as_the_number() {
        assert_eq!(dumps(&BigInt::new("7").unwrap()), dumps(&7i64));
        assert_eq!(dumps(&BigInt::new("-2147483649").unwrap()), dumps(&-2147483649i64));
        assert_eq!(dumps(&BigInt::new("1267650600228229401496703205376").unwrap()), dumps(&(1u128 << 100)));
        // A 4096-bit number fits; text beyond MAX_LONG_DIGITS digits does not.
        let big = "9".repeat(1233);
        assert!(to_slice(&BigInt::new(&big).unwrap(), &mut [0u8; 1024]).is_ok());
        let huge = "9".repeat(long::MAX_DECIMAL_DIGITS + 1);
        assert!(matches!(to_slice(&BigInt::new(&huge).unwrap(), &mut [0u8; 1024]), Err(Error::IntegerTooLarge { .. })));
        // The token's content must be decimal text.
        struct NotText;
        impl Serialize for NotText {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_newtype_struct(BIGINT, &12u8)
            }
        }
        assert_eq!(to_slice(&NotText, &mut [0u8; 16]), Err(Error::BadToken { token: "bigint" }));
    }

    #[test]
    fn strings_pick_z_a_or_u_as_cpython_does_for_non_interned_strings() {
        assert_eq!(dumps("abc"), b"z\x03abc");
        assert_eq!(dumps(&'x'), b"z\x01x");
        let long = "ab".repeat(200);
        assert_eq!(&dumps(long.as_str())[..5], b"a\x90\x01\x00\x00");
        assert_eq!(dumps("\u{e9}c"), b"u\x03\x00\x00\x00\xc3\xa9c");
    }

    #[test]
    fn python_types_from_the_contract() {
        assert_eq!(dumps(&Set(&[1i32][..])), b"<\x01\x00\x00\x00i\x01\x00\x00\x00");
        assert_eq!(dumps(&FrozenSet(&[0u8; 0][..])), b">\x00\x00\x00\x00");
        let mut c = b"y".to_vec();
        c.extend_from_slice(&1.0f64.to_le_bytes());
        c.extend_from_slice(&2.0f64.to_le_bytes());
        assert_eq!(dumps(&Complex { re: 1.0, im: 2.0 }), c);
    }

    #[test]
    fn containers_and_variants() {
        assert_eq!(dumps(&(1u8, ())), b")\x02i\x01\x00\x00\x00N");
        assert_eq!(dumps(&[true, false][..]), b"[\x02\x00\x00\x00TF");
        let mut m = BTreeMap::new();
        m.insert(1u8, "a");
        assert_eq!(dumps(&m), b"{i\x01\x00\x00\x00z\x01a0");
        #[derive(serde::Serialize)]
        enum E {
            Unit,
            New(u8),
            Tup(u8, u8),
            St { a: u8 },
        }
        assert_eq!(dumps(&E::Unit), b"z\x04Unit");
        assert_eq!(dumps(&E::New(1)), b"{z\x03Newi\x01\x00\x00\x000");
        assert_eq!(dumps(&E::Tup(1, 2)), b"{z\x03Tup)\x02i\x01\x00\x00\x00i\x02\x00\x00\x000");
        assert_eq!(dumps(&E::St { a: 1 }), b"{z\x02St{z\x01ai\x01\x00\x00\x0000");
    }

    #[test]
    fn unhashable_keys_and_set_elements_are_refused() {
        let mut m = BTreeMap::new();
        m.insert(Vec::<u8>::new(), 1);
        assert!(matches!(to_slice(&m, &mut [0u8; 64]), Err(Error::Unhashable { type_name: "list", .. })));
        let nested = [Set(&[1u8][..])];
        assert!(matches!(to_slice(&Set(&nested[..]), &mut [0u8; 64]), Err(Error::Unhashable { .. })));
        // Tuples and frozensets are hashable.
        let mut m = BTreeMap::new();
        m.insert((1u8, 2u8), 1);
        assert!(to_slice(&m, &mut [0u8; 64]).is_ok());
    }

    #[test]
    fn a_full_buffer_and_unknown_lengths_are_errors() {
        assert!(matches!(to_slice(&"hello", &mut [0u8; 3]), Err(Error::Output(_))));
        struct NoLen;
        impl Serialize for NoLen {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use ser::SerializeSeq;
                s.serialize_seq(None)?.end()
            }
        }
        assert_eq!(to_slice(&NoLen, &mut [0u8; 8]), Err(Error::UnknownLength));
    }

    #[test]
    fn collect_str_measures_then_writes() {
        struct D;
        impl Serialize for D {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&format_args!("{}-{}", 12, "\u{e9}"))
            }
        }
        assert_eq!(dumps(&D), b"u\x05\x00\x00\x0012-\xc3\xa9");
    }
}
