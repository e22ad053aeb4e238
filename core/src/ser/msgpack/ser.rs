//! serde values → msgpack bytes, exactly as Python's `msgpack.packb(x, use_bin_type=True)`
//! with Pyro5's `default` hook writes them.

use core::fmt::{self, Write as _};

use serde::ser::{self, Impossible, Serialize};

use super::error::Error;
use crate::ser::output::{FmtAdapter, Output};
use crate::ser::python::{BIGINT, BigInt, COMPLEX, DATE, DATETIME, FROZENSET};

/// Ext type of a Python `complex`: two little-endian `f64`.
pub(crate) const EXT_COMPLEX: i8 = 0x30;
/// Ext type of a Python `int` outside the 64-bit range: its ASCII decimal text.
pub(crate) const EXT_INT: i8 = 0x31;
/// Ext type of a naive Python `datetime`: its timestamp as a little-endian `f64`.
pub(crate) const EXT_DATETIME: i8 = 0x32;
/// Ext type of a Python `date`: its ordinal as a little-endian `i64` (a C `long`).
pub(crate) const EXT_DATE: i8 = 0x33;

/// A small value (at most 9 bytes of msgpack) written and read back as a `T`.
fn read_back<T: for<'de> serde::Deserialize<'de>, V: ?Sized + Serialize>(value: &V) -> Option<T> {
    let mut buf = [0u8; 9];
    let mut out = crate::ser::output::SliceOutput::new(&mut buf);
    value.serialize(&mut Serializer::new(&mut out)).ok()?;
    let len = out.len();
    super::from_slice(buf.get(..len)?).ok()
}

/// Writes serde values as msgpack into an [`Output`].
///
/// Integers take the smallest msgpack form (positive ones an unsigned form), every float is a
/// float64, `&str` a str, bytes a bin, sequences, tuples and sets arrays, maps and structs
/// maps; integers beyond the 64-bit range and `python::BigInt` are ext 0x31 and
/// `python::Complex` is ext 0x30, as Pyro5 writes them.
#[derive(Debug)]
pub struct Serializer<O: Output> {
    out: O,
}

impl<O: Output> Serializer<O> {
    /// A serializer writing into `out`.
    pub fn new(out: O) -> Self {
        Self { out }
    }

    /// The output back.
    pub fn into_inner(self) -> O {
        self.out
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        Ok(self.out.write_bytes(bytes)?)
    }

    fn write_uint(&mut self, v: u64) -> Result<(), Error> {
        if let Ok(b) = u8::try_from(v) {
            if b < 0x80 { self.write(&[b]) } else { self.write(&[0xcc, b]) }
        } else if let Ok(h) = u16::try_from(v) {
            let [a, b] = h.to_be_bytes();
            self.write(&[0xcd, a, b])
        } else if let Ok(w) = u32::try_from(v) {
            let [a, b, c, d] = w.to_be_bytes();
            self.write(&[0xce, a, b, c, d])
        } else {
            self.write(&[0xcf])?;
            self.write(&v.to_be_bytes())
        }
    }

    fn write_int(&mut self, v: i64) -> Result<(), Error> {
        if let Ok(u) = u64::try_from(v) {
            return self.write_uint(u);
        }
        if let Ok(b) = i8::try_from(v) {
            let [byte] = b.to_be_bytes();
            if b >= -32 { self.write(&[byte]) } else { self.write(&[0xd0, byte]) }
        } else if let Ok(h) = i16::try_from(v) {
            let [a, b] = h.to_be_bytes();
            self.write(&[0xd1, a, b])
        } else if let Ok(w) = i32::try_from(v) {
            let [a, b, c, d] = w.to_be_bytes();
            self.write(&[0xd2, a, b, c, d])
        } else {
            self.write(&[0xd3])?;
            self.write(&v.to_be_bytes())
        }
    }

    /// The header of a str/bin/array/map: `fix` is the fixed form's base and its largest
    /// length; then the 8-, 16- and 32-bit forms (`None` when the format has no 8-bit form).
    fn write_len(
        &mut self,
        kind: &'static str,
        len: usize,
        fix: Option<(u8, usize)>,
        forms: [Option<u8>; 3],
    ) -> Result<(), Error> {
        let [f8, f16, f32] = forms;
        if let Some((base, max)) = fix {
            if len <= max {
                let small = u8::try_from(len).map_err(|_| Error::TooLong { kind, len })?;
                return self.write(&[base | small]);
            }
        }
        if let (Some(marker), Ok(small)) = (f8, u8::try_from(len)) {
            return self.write(&[marker, small]);
        }
        if let (Some(marker), Ok(mid)) = (f16, u16::try_from(len)) {
            let [a, b] = mid.to_be_bytes();
            return self.write(&[marker, a, b]);
        }
        match (f32, u32::try_from(len)) {
            (Some(marker), Ok(big)) => {
                let [a, b, c, d] = big.to_be_bytes();
                self.write(&[marker, a, b, c, d])
            }
            _ => Err(Error::TooLong { kind, len }),
        }
    }

    fn write_str_header(&mut self, len: usize) -> Result<(), Error> {
        self.write_len("str", len, Some((0xa0, 31)), [Some(0xd9), Some(0xda), Some(0xdb)])
    }

    fn write_array_header(&mut self, len: usize) -> Result<(), Error> {
        self.write_len("array", len, Some((0x90, 15)), [None, Some(0xdc), Some(0xdd)])
    }

    fn write_map_header(&mut self, len: usize) -> Result<(), Error> {
        self.write_len("map", len, Some((0x80, 15)), [None, Some(0xde), Some(0xdf)])
    }

    fn write_ext(&mut self, code: i8, data: &[u8]) -> Result<(), Error> {
        let fixed = match data.len() {
            1 => Some(0xd4),
            2 => Some(0xd5),
            4 => Some(0xd6),
            8 => Some(0xd7),
            16 => Some(0xd8),
            _ => None,
        };
        match fixed {
            Some(marker) => self.write(&[marker])?,
            None => self.write_len("ext", data.len(), None, [Some(0xc7), Some(0xc8), Some(0xc9)])?,
        }
        self.write(&code.to_be_bytes())?;
        self.write(data)
    }

    /// A Python int given as normalized decimal text: a plain int when it fits 64 bits.
    fn write_decimal(&mut self, text: &str) -> Result<(), Error> {
        if let Ok(v) = text.parse::<i64>() {
            self.write_int(v)
        } else if let Ok(v) = text.parse::<u64>() {
            self.write_uint(v)
        } else {
            self.write_ext(EXT_INT, text.as_bytes())
        }
    }

    fn write_big<T: fmt::Display>(&mut self, v: T) -> Result<(), Error> {
        // i128::MIN, the longest, has 40 characters.
        let mut text = heapless::String::<40>::new();
        write!(text, "{v}").map_err(|_| Error::InvalidBigIntText)?;
        self.write_ext(EXT_INT, text.as_bytes())
    }

    fn compound(&mut self, kind: &'static str, len: Option<usize>) -> Result<Compound<'_, O>, Error> {
        let len = len.ok_or(Error::UnknownLength)?;
        if kind == "map" {
            self.write_map_header(len)?;
        } else {
            self.write_array_header(len)?;
        }
        Ok(Compound { ser: self, kind, announced: len, written: 0 })
    }

    /// `{variant: ...}`: the one-entry map around a non-unit enum variant.
    fn variant_key(&mut self, variant: &str) -> Result<(), Error> {
        self.write(&[0x81])?;
        self.write_str_header(variant.len())?;
        self.write(variant.as_bytes())
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
        self.write(&[if v { 0xc3 } else { 0xc2 }])
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.write_int(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.write_int(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.write_int(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.write_int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(small), _) => self.write_int(small),
            (_, Ok(big)) => self.write_uint(big),
            _ => self.write_big(v),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.write_uint(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.write_uint(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.write_uint(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.write_uint(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        match u64::try_from(v) {
            Ok(small) => self.write_uint(small),
            Err(_) => self.write_big(v),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.write(&[0xcb])?;
        self.write(&v.to_be_bytes())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.write_str_header(v.len())?;
        self.write(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.write_len("bytes", v.len(), None, [Some(0xc4), Some(0xc5), Some(0xc6)])?;
        self.write(v)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.write(&[0xc0])
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.write(&[0xc0])
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.write(&[0xc0])
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, name: &'static str, value: &T) -> Result<(), Error> {
        match name {
            FROZENSET => Err(Error::FrozenSet),
            COMPLEX => {
                // The pair, written as msgpack into a small buffer and read back: two
                // numbers take at most 1 + 2 * 9 bytes; anything longer is no pair.
                let mut buf = [0u8; 19];
                let mut out = crate::ser::output::SliceOutput::new(&mut buf);
                value.serialize(&mut Serializer::new(&mut out)).map_err(|_| Error::InvalidComplex)?;
                let len = out.len();
                let written = buf.get(..len).ok_or(Error::InvalidComplex)?;
                let (re, im): (f64, f64) = super::from_slice(written).map_err(|_| Error::InvalidComplex)?;
                let mut data = [0u8; 16];
                let (first, second) = data.split_at_mut(8);
                first.copy_from_slice(&re.to_le_bytes());
                second.copy_from_slice(&im.to_le_bytes());
                self.write_ext(EXT_COMPLEX, &data)
            }
            BIGINT => value.serialize(DecimalText(self)),
            DATETIME => {
                let timestamp: f64 = read_back(value).ok_or(Error::InvalidDateTime)?;
                self.write_ext(EXT_DATETIME, &timestamp.to_le_bytes())
            }
            DATE => {
                let ordinal: i64 = read_back(value).ok_or(Error::InvalidDate)?;
                self.write_ext(EXT_DATE, &ordinal.to_le_bytes())
            }
            // SET: Pyro5 packs a set as an array, which is what its items serialize to.
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
        self.variant_key(variant)?;
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a, O>, Error> {
        self.compound("array", len)
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, O>, Error> {
        self.compound("array", Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, O>, Error> {
        self.compound("array", Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, O>, Error> {
        self.variant_key(variant)?;
        self.compound("array", Some(len))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a, O>, Error> {
        self.compound("map", len)
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, O>, Error> {
        self.compound("map", Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, O>, Error> {
        self.variant_key(variant)?;
        self.compound("map", Some(len))
    }

    /// Two passes over `value`'s `Display`: one to measure, one to write (msgpack puts the
    /// length first and there is no buffer to collect into).
    fn collect_str<T: ?Sized + fmt::Display>(self, value: &T) -> Result<(), Error> {
        let mut counter = Counter(0);
        write!(counter, "{value}").map_err(|_| <Error as ser::Error>::custom("a Display implementation failed"))?;
        self.write_str_header(counter.0)?;
        let mut adapter = Limited { inner: FmtAdapter { out: &mut self.out, error: None }, left: counter.0 };
        let result = write!(adapter, "{value}");
        if let Some(e) = adapter.inner.error {
            return Err(e.into());
        }
        match (result, adapter.left) {
            (Ok(()), 0) => Ok(()),
            _ => Err(<Error as ser::Error>::custom("a Display implementation wrote different text twice")),
        }
    }

    /// Python-facing text forms (addresses, UUIDs as text), the same as the text formats.
    fn is_human_readable(&self) -> bool {
        true
    }
}

/// Counts the bytes a `Display` writes.
struct Counter(usize);

impl fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 = self.0.checked_add(s.len()).ok_or(fmt::Error)?;
        Ok(())
    }
}

/// Writes at most `left` bytes (what the first pass measured).
struct Limited<'o, O: Output> {
    inner: FmtAdapter<'o, O>,
    left: usize,
}

impl<O: Output> fmt::Write for Limited<'_, O> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.left = self.left.checked_sub(s.len()).ok_or(fmt::Error)?;
        self.inner.write_str(s)
    }
}

/// Serializes the items of an array or the entries of a map, counting them against the
/// announced length.
#[derive(Debug)]
pub struct Compound<'a, O: Output> {
    ser: &'a mut Serializer<O>,
    /// `"array"` or `"map"`.
    kind: &'static str,
    /// The length written in the header.
    announced: usize,
    /// Items (map entries) serialized so far: `0 <= written <= announced`.
    written: usize,
}

impl<O: Output> Compound<'_, O> {
    fn count(&mut self) -> Result<(), Error> {
        if self.written >= self.announced {
            return Err(self.mismatch(self.written.saturating_add(1)));
        }
        self.written = self.written.saturating_add(1);
        Ok(())
    }

    fn mismatch(&self, written: usize) -> Error {
        Error::CountMismatch { kind: self.kind, announced: self.announced, written }
    }

    fn finish(self) -> Result<(), Error> {
        if self.written == self.announced { Ok(()) } else { Err(self.mismatch(self.written)) }
    }

    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.count()?;
        value.serialize(&mut *self.ser)
    }

    fn field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.count()?;
        ser::Serializer::serialize_str(&mut *self.ser, key)?;
        value.serialize(&mut *self.ser)
    }
}

sequence_compounds!(element, finish);

impl<O: Output> ser::SerializeMap for Compound<'_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.element(key)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<O: Output> ser::SerializeStruct for Compound<'_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<O: Output> ser::SerializeStructVariant for Compound<'_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// The inner value of a `BIGINT` newtype: only decimal text is accepted.
struct DecimalText<'a, O: Output>(&'a mut Serializer<O>);

macro_rules! not_decimal_text {
    ($($method:ident($($arg:ty),*);)*) => {$(
        fn $method(self $(, _: $arg)*) -> Result<(), Error> {
            Err(Error::InvalidBigIntText)
        }
    )*};
}

impl<O: Output> ser::Serializer for DecimalText<'_, O> {
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
        let text = BigInt::new(v).map_err(|_| Error::InvalidBigIntText)?;
        self.0.write_decimal(text.as_str())
    }

    not_decimal_text! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64);
        serialize_f32(f32); serialize_f64(f64); serialize_char(char); serialize_bytes(&[u8]);
        serialize_none(); serialize_unit(); serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Error> {
        Err(Error::InvalidBigIntText)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(Error::InvalidBigIntText)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Impossible<(), Error>, Error> {
        Err(Error::InvalidBigIntText)
    }
    fn serialize_tuple(self, _: usize) -> Result<Impossible<(), Error>, Error> {
        Err(Error::InvalidBigIntText)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Impossible<(), Error>, Error> {
        Err(Error::InvalidBigIntText)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(Error::InvalidBigIntText)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Impossible<(), Error>, Error> {
        Err(Error::InvalidBigIntText)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Impossible<(), Error>, Error> {
        Err(Error::InvalidBigIntText)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(Error::InvalidBigIntText)
    }
    fn collect_str<T: ?Sized + fmt::Display>(self, _: &T) -> Result<(), Error> {
        Err(Error::InvalidBigIntText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ser::output::SliceOutput;
    use crate::ser::python::{BigInt, Complex, FrozenSet, Set};

    fn packed<T: ?Sized + Serialize>(value: &T, expected: &[u8]) {
        let mut buf = [0u8; 128];
        let mut out = SliceOutput::new(&mut buf);
        value.serialize(&mut Serializer::new(&mut out)).unwrap();
        let len = out.len();
        assert_eq!(&buf[..len], expected);
    }

    #[test]
    fn ints_take_the_smallest_form_python_picks() {
        packed(&0u8, &[0x00]);
        packed(&127i64, &[0x7f]);
        packed(&128i64, &[0xcc, 0x80]);
        packed(&256i32, &[0xcd, 1, 0]);
        packed(&65536u32, &[0xce, 0, 1, 0, 0]);
        packed(&(1u64 << 32), &[0xcf, 0, 0, 0, 1, 0, 0, 0, 0]);
        packed(&i64::MAX, &[0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        packed(&-1i8, &[0xff]);
        packed(&-32i64, &[0xe0]);
        packed(&-33i64, &[0xd0, 0xdf]);
        packed(&-129i64, &[0xd1, 0xff, 0x7f]);
        packed(&-32769i64, &[0xd2, 0xff, 0xff, 0x7f, 0xff]);
        packed(&-2147483649i64, &[0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]);
        packed(&(u64::MAX as i128), &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        packed(&(1i128 << 64), b"\xc7\x14\x3118446744073709551616");
        packed(&BigInt::new("-5").unwrap(), &[0xfb]);
    }

    #[test]
    fn python_types_follow_pyro5() {
        packed(&Complex { re: 1.0, im: 2.0 }, &[0xd8, 0x30, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40]);
        packed(&Set(&[1, 2][..]), &[0x92, 1, 2]);
        let mut buf = [0u8; 8];
        let err = FrozenSet(&[1][..]).serialize(&mut Serializer::new(SliceOutput::new(&mut buf))).unwrap_err();
        assert_eq!(err, Error::FrozenSet);
    }

    #[test]
    fn announced_lengths_are_checked() {
        struct Liar;
        impl Serialize for Liar {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use ser::SerializeSeq as _;
                let mut seq = s.serialize_seq(Some(2))?;
                seq.serialize_element(&1)?;
                seq.end()
            }
        }
        let mut buf = [0u8; 8];
        let err = Liar.serialize(&mut Serializer::new(SliceOutput::new(&mut buf))).unwrap_err();
        assert_eq!(err, Error::CountMismatch { kind: "array", announced: 2, written: 1 });
    }
}
