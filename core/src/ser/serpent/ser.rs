//! The serpent serializer: serde's data model written as serpent 1.43 writes Python values.

use core::fmt::{self, Write as _};

use serde::ser::{self, Serialize};

use super::HEADER;
use super::error::Error;
use super::printable::is_printable;
use crate::ser::float;
use crate::ser::output::{FmtAdapter, Output};
use crate::ser::python::{BIGINT, COMPLEX, FROZENSET, SET};

/// Writes one value as serpent text (header line included) into an [`Output`].
///
/// `&mut Serializer<O>` implements [`serde::Serializer`]. The header line
/// `# serpent utf-8 python3.2` is written before the value, as serpent does.
#[derive(Debug)]
pub struct Serializer<O: Output> {
    out: O,
    /// Whether the header line still has to be written.
    header: bool,
    /// Whether the next value is a dict key or set element, whose type serpent checks.
    key: bool,
    /// What the next value is for, set by the contract's newtype names.
    mode: Mode,
    /// A number caught in [`Mode::Capture`].
    captured: Option<f64>,
}

/// How the next value is treated.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Mode {
    /// Written as itself.
    Normal,
    /// A sequence written as a Python set.
    Set,
    /// A pair `(re, im)` written as a Python complex.
    Complex,
    /// A part of a complex number: caught, not written.
    Capture,
    /// Decimal text written as a Python int.
    BigInt,
}

impl<O: Output> Serializer<O> {
    /// A serializer writing into `out`, starting with the header line.
    pub fn new(out: O) -> Self {
        Self { out, header: true, key: false, mode: Mode::Normal, captured: None }
    }

    /// A serializer writing into `out` without the header line: for a value inside a
    /// payload whose header was written already.
    pub fn without_header(out: O) -> Self {
        Self { header: false, ..Self::new(out) }
    }

    /// The output back.
    pub fn into_inner(self) -> O {
        self.out
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.header {
            self.header = false;
            self.out.write_bytes(HEADER)?;
        }
        self.out.write_bytes(bytes)?;
        Ok(())
    }

    fn fmt(&mut self, args: fmt::Arguments<'_>) -> Result<(), Error> {
        self.raw(b"")?;
        let mut w = FmtAdapter { out: &mut self.out, error: None };
        match w.write_fmt(args) {
            Ok(()) => Ok(()),
            Err(_) => Err(match w.error {
                Some(e) => Error::Output(e),
                None => Error::Custom { offset: None, message: crate::ser::Message::new(&"formatting failed") },
            }),
        }
    }

    /// Checks what the next value may be, and takes the mode it is written in. `unhashable`
    /// names the value when serpent refuses it as a dict key or set element.
    fn begin(&mut self, what: What, unhashable: Option<&'static str>) -> Result<Mode, Error> {
        if self.key {
            self.key = false;
            if let Some(found) = unhashable {
                return Err(Error::UnhashableKey { found });
            }
        }
        let mode = core::mem::replace(&mut self.mode, Mode::Normal);
        match (mode, what) {
            (Mode::Normal, _) | (Mode::Set | Mode::Complex, What::Sequence) | (Mode::Capture, What::Number) => Ok(mode),
            (Mode::BigInt, What::Text) => Ok(mode),
            (Mode::Set, _) => {
                Err(Error::Custom { offset: None, message: crate::ser::Message::new(&"a set must hold a sequence") })
            }
            (Mode::Complex | Mode::Capture, _) => Err(Error::InvalidComplex),
            (Mode::BigInt, _) => Err(Error::InvalidBigInt),
        }
    }

    fn float(&mut self, v: f64) -> Result<(), Error> {
        if v.is_nan() {
            self.raw(b"{'__class__':'float','value':'nan'}")
        } else if v.is_infinite() {
            self.raw(if v > 0.0 { b"1e30000" } else { b"-1e30000" })
        } else {
            self.raw(b"")?;
            let mut w = FmtAdapter { out: &mut self.out, error: None };
            match float::write_repr(&mut w, v) {
                Ok(()) => Ok(()),
                Err(_) => Err(match w.error {
                    Some(e) => Error::Output(e),
                    None => Error::Custom { offset: None, message: crate::ser::Message::new(&"formatting failed") },
                }),
            }
        }
    }

    fn number(&mut self, v: f64) -> Result<bool, Error> {
        if self.begin(What::Number, None)? == Mode::Capture {
            self.captured = Some(v);
            return Ok(true);
        }
        Ok(false)
    }

    fn complex(&mut self, re: f64, im: f64) -> Result<(), Error> {
        if re.is_nan() || im.is_nan() {
            self.raw(b"{'__class__':'complex','real':")?;
            self.float(re)?;
            self.raw(b",'imag':")?;
            self.float(im)?;
            self.raw(b"}")
        } else {
            self.raw(b"(")?;
            self.float(re)?;
            if im >= 0.0 && im.is_sign_positive() {
                self.raw(b"+")?;
            }
            self.float(im)?;
            self.raw(b"j)")
        }
    }

    fn str_repr(&mut self, s: &str) -> Result<(), Error> {
        self.raw(b"")?;
        write_str_repr(&mut self.out, s)
    }

    fn compound(&mut self, kind: Kind, open: &'static [u8]) -> Result<Compound<'_, O>, Error> {
        if !open.is_empty() {
            self.raw(open)?;
        }
        Ok(Compound { ser: self, kind, count: 0, parts: [0.0; 2] })
    }
}

/// What a value is, for the contract's modes.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum What {
    /// A number (caught as a complex part).
    Number,
    /// Text (a big integer's digits).
    Text,
    /// A sequence or tuple (a set's or complex number's inner value).
    Sequence,
    /// Anything else.
    Other,
}

/// Python's `repr()` of a `str`.
pub(crate) fn write_str_repr<O: Output + ?Sized>(out: &mut O, s: &str) -> Result<(), Error> {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let q = [quote as u8];
    out.write_bytes(&q)?;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let plain = if c.is_ascii() { (' '..='~').contains(&c) && c != quote && c != '\\' } else { is_printable(c) };
        if plain {
            continue;
        }
        out.write_bytes(s.get(start..i).unwrap_or_default().as_bytes())?;
        start = i + c.len_utf8();
        let mut buf = [0u8; 10];
        let esc: &[u8] = match c {
            '\t' => b"\\t",
            '\n' => b"\\n",
            '\r' => b"\\r",
            '\\' => b"\\\\",
            '\'' => b"\\'",
            _ => {
                let cp = u32::from(c);
                let (prefix, digits) = if cp < 0x100 {
                    (b'x', 2)
                } else if cp < 0x10000 {
                    (b'u', 4)
                } else {
                    (b'U', 8)
                };
                let nibbles =
                    (0..digits).rev().map(|k| HEX.get(((cp >> (4 * k)) & 0xF) as usize).copied().unwrap_or(b'0'));
                for (slot, b) in buf.iter_mut().zip([b'\\', prefix].into_iter().chain(nibbles)) {
                    *slot = b;
                }
                buf.get(..2 + digits).unwrap_or_default()
            }
        };
        out.write_bytes(esc)?;
    }
    out.write_bytes(s.get(start..).unwrap_or_default().as_bytes())?;
    out.write_bytes(&q)?;
    Ok(())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Python's `repr()` of the bytes dict serpent writes: `{'data': '<base64>', 'encoding': 'base64'}`.
fn write_bytes_dict<O: Output + ?Sized>(out: &mut O, bytes: &[u8]) -> Result<(), Error> {
    use base64::Engine as _;
    out.write_bytes(b"{'data': '")?;
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(48) {
        let n = base64::engine::general_purpose::STANDARD
            .encode_slice(chunk, &mut buf)
            .map_err(|_| Error::Custom { offset: None, message: crate::ser::Message::new(&"base64 buffer") })?;
        out.write_bytes(buf.get(..n).unwrap_or_default())?;
    }
    out.write_bytes(b"', 'encoding': 'base64'}")?;
    Ok(())
}

/// Checks big-integer text: an optional `-` and decimal digits.
fn valid_bigint(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
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
        self.begin(What::Other, None)?;
        self.raw(if v { b"True" } else { b"False" })
    }

    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        // A complex part is a float, as in Python.
        if self.number(v as f64)? {
            return Ok(());
        }
        self.fmt(format_args!("{v}"))
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        if self.number(v as f64)? {
            return Ok(());
        }
        self.fmt(format_args!("{v}"))
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        if self.number(v as f64)? {
            return Ok(());
        }
        self.fmt(format_args!("{v}"))
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        if self.number(v as f64)? {
            return Ok(());
        }
        self.fmt(format_args!("{v}"))
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if self.number(v)? {
            return Ok(());
        }
        self.float(v)
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        let mut buf = [0u8; 4];
        self.serialize_str(v.encode_utf8(&mut buf))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if self.begin(What::Text, None)? == Mode::BigInt {
            if !valid_bigint(v) {
                return Err(Error::InvalidBigInt);
            }
            return self.raw(v.as_bytes());
        }
        self.str_repr(v)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.begin(What::Other, None)?;
        self.raw(b"")?;
        write_bytes_dict(&mut self.out, v)
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.begin(What::Other, Some("None"))?;
        self.raw(b"None")
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
        self.begin(What::Other, None)?;
        self.str_repr(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, name: &'static str, value: &T) -> Result<(), Error> {
        let mode = match name {
            SET | FROZENSET => Mode::Set,
            COMPLEX => Mode::Complex,
            BIGINT => Mode::BigInt,
            _ => return value.serialize(self),
        };
        if mode == Mode::Set {
            // Sets are unhashable as dict keys (serpent's check).
            if self.key {
                self.key = false;
                return Err(Error::UnhashableKey { found: "a set" });
            }
        } else {
            self.begin(What::Other, None)?;
        }
        self.mode = mode;
        value.serialize(&mut *self)?;
        if self.mode != Mode::Normal {
            // The inner value wrote nothing (e.g. serialize_none was never reached).
            self.mode = Mode::Normal;
        }
        Ok(())
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.begin(What::Other, Some("a dict (enum variant)"))?;
        self.raw(b"{")?;
        self.str_repr(variant)?;
        self.raw(b":")?;
        value.serialize(&mut *self)?;
        self.raw(b"}")
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, O>, Error> {
        match self.begin(What::Sequence, Some("a list"))? {
            Mode::Set => self.compound(Kind::Set, b""),
            Mode::Complex => self.compound(Kind::Complex, b""),
            _ => self.compound(Kind::List, b"["),
        }
    }

    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a, O>, Error> {
        match self.begin(What::Sequence, None)? {
            Mode::Set => self.compound(Kind::Set, b""),
            Mode::Complex => self.compound(Kind::Complex, b""),
            _ => self.compound(Kind::Tuple, b"("),
        }
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, O>, Error> {
        self.serialize_tuple(len)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, O>, Error> {
        self.begin(What::Other, Some("a dict (enum variant)"))?;
        self.raw(b"{")?;
        self.str_repr(variant)?;
        self.compound(Kind::TupleVariant, b":(")
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, O>, Error> {
        self.begin(What::Other, Some("a dict"))?;
        self.compound(Kind::Dict, b"{")
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a, O>, Error> {
        self.begin(What::Other, Some("a dict (struct)"))?;
        self.compound(Kind::Dict, b"{")
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, O>, Error> {
        self.begin(What::Other, Some("a dict (enum variant)"))?;
        self.raw(b"{")?;
        self.str_repr(variant)?;
        self.compound(Kind::StructVariant, b":{")
    }

    fn collect_str<T: ?Sized + fmt::Display>(self, value: &T) -> Result<(), Error> {
        // Without an allocator: format into a bounded stack buffer.
        let mut buf = StackText { bytes: [0; 256], len: 0 };
        write!(buf, "{value}").map_err(|_| Error::Custom {
            offset: None,
            message: crate::ser::Message::new(&"collect_str text longer than 256 bytes"),
        })?;
        self.serialize_str(buf.as_str())
    }
}

/// A short text formatted on the stack.
struct StackText {
    bytes: [u8; 256],
    len: usize,
}

impl StackText {
    fn as_str(&self) -> &str {
        self.bytes.get(..self.len).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or_default()
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Which container a [`Compound`] writes.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Kind {
    List,
    Tuple,
    /// Written `{a,b}`, or `()` when empty: the brace is written with the first element.
    Set,
    /// Two numbers caught, then written as a complex.
    Complex,
    Dict,
    /// `{'Name':(` … `)}`
    TupleVariant,
    /// `{'Name':{` … `}}`
    StructVariant,
}

/// A container being written.
#[derive(Debug)]
pub struct Compound<'a, O: Output> {
    ser: &'a mut Serializer<O>,
    kind: Kind,
    /// Elements (or entries) written so far.
    count: usize,
    /// Parts of a complex number caught so far.
    parts: [f64; 2],
}

impl<O: Output> Compound<'_, O> {
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        match self.kind {
            Kind::Complex => {
                self.ser.mode = Mode::Capture;
                self.ser.captured = None;
                value.serialize(&mut *self.ser)?;
                self.ser.mode = Mode::Normal;
                let v = self.ser.captured.take().ok_or(Error::InvalidComplex)?;
                *self.parts.get_mut(self.count).ok_or(Error::InvalidComplex)? = v;
            }
            Kind::Set => {
                self.ser.raw(if self.count == 0 { b"{" } else { b"," })?;
                self.ser.key = true;
                value.serialize(&mut *self.ser)?;
                self.ser.key = false;
            }
            _ => {
                if self.count > 0 {
                    self.ser.raw(b",")?;
                }
                value.serialize(&mut *self.ser)?;
            }
        }
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Result<(), Error> {
        match self.kind {
            Kind::List => self.ser.raw(b"]"),
            Kind::Tuple => self.ser.raw(if self.count == 1 { b",)" } else { b")" }),
            Kind::Set => self.ser.raw(if self.count == 0 { b"()" } else { b"}" }),
            Kind::Complex => {
                if self.count != 2 {
                    return Err(Error::InvalidComplex);
                }
                let [re, im] = self.parts;
                self.ser.complex(re, im)
            }
            Kind::Dict => self.ser.raw(b"}"),
            Kind::TupleVariant => self.ser.raw(if self.count == 1 { b",)}" } else { b")}" }),
            Kind::StructVariant => self.ser.raw(b"}}"),
        }
    }

    fn key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        if self.count > 0 {
            self.ser.raw(b",")?;
        }
        self.ser.key = true;
        key.serialize(&mut *self.ser)?;
        self.ser.key = false;
        self.ser.raw(b":")
    }

    fn value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.ser)?;
        self.count += 1;
        Ok(())
    }

    fn field<T: ?Sized + Serialize>(&mut self, name: &'static str, value: &T) -> Result<(), Error> {
        if self.count > 0 {
            self.ser.raw(b",")?;
        }
        self.ser.str_repr(name)?;
        self.ser.raw(b":")?;
        self.value(value)
    }
}

sequence_compounds!(element, finish);

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
    fn serialize_field<T: ?Sized + Serialize>(&mut self, name: &'static str, value: &T) -> Result<(), Error> {
        self.field(name, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<O: Output> ser::SerializeStructVariant for Compound<'_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, name: &'static str, value: &T) -> Result<(), Error> {
        self.field(name, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::String;
    use std::vec::Vec;

    use super::super::printable::{PYTHON_MAP_CRC32, PYTHON_PRINTABLE_COUNT};
    use super::*;

    fn repr(s: &str) -> String {
        let mut out = Vec::new();
        write_str_repr(&mut SliceSink(&mut out), s).unwrap();
        String::from_utf8(out).unwrap()
    }

    struct SliceSink<'a>(&'a mut Vec<u8>);
    impl Output for SliceSink<'_> {
        fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), crate::ser::OutputError> {
            self.0.extend_from_slice(bytes);
            Ok(())
        }
    }

    /// zlib's CRC-32.
    fn crc32(bytes: impl Iterator<Item = u8>) -> u32 {
        let mut crc = !0u32;
        for b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn printable_table_matches_cpython_for_every_code_point() {
        let map = || (0..0x11_0000u32).map(|cp| u8::from(char::from_u32(cp).is_some_and(is_printable)));
        assert_eq!(map().map(u32::from).sum::<u32>(), PYTHON_PRINTABLE_COUNT);
        assert_eq!(crc32(map()), PYTHON_MAP_CRC32);
    }

    #[test]
    fn printable_spot_checks() {
        for c in ['a', ' ', '~', '\u{e9}', '\u{20ac}', '\u{4e2d}', '\u{1f600}', '\u{1d11e}'] {
            assert!(is_printable(c), "{c:?}");
        }
        for c in
            ['\0', '\n', '\u{7f}', '\u{a0}', '\u{ad}', '\u{2028}', '\u{feff}', '\u{e0001}', '\u{10ffff}', '\u{3000}']
        {
            assert!(!is_printable(c), "{c:?}");
        }
    }

    #[test]
    fn str_repr_quotes_and_escapes_as_python() {
        assert_eq!(repr("hello"), "'hello'");
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("it's \"q\""), "'it\\'s \"q\"'");
        assert_eq!(repr("say \"hi\""), "'say \"hi\"'");
        assert_eq!(repr("tab\tnl\ncr\rbs\\nul\0bel\x07del\x7f"), "'tab\\tnl\\ncr\\rbs\\\\nul\\x00bel\\x07del\\x7f'");
        assert_eq!(repr("\u{e9}\u{a0}\u{2028}\u{1f600}\u{e0001}"), "'\u{e9}\\xa0\\u2028\u{1f600}\\U000e0001'");
    }

    #[test]
    fn bigint_text_is_checked() {
        assert!(valid_bigint("-123") && valid_bigint("0"));
        assert!(!valid_bigint("") && !valid_bigint("-") && !valid_bigint("1)") && !valid_bigint("+1"));
    }
}
