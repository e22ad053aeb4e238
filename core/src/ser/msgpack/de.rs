//! msgpack bytes → serde values, borrowing strings and byte strings from the input, as
//! Python's `msgpack.unpackb(raw=False)` with Pyro5's `ext_hook` reads them.

use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};

use super::error::Error;
use super::ser::{EXT_COMPLEX, EXT_DATE, EXT_DATETIME, EXT_INT};
use crate::ser::DEFAULT_MAX_DEPTH;
use crate::ser::python::{BIGINT, BigInt, COMPLEX, DATE, DATETIME, Exact, VALUE};

/// How many levels of nesting one call of `skip` keeps track of.
const SKIP_LEVELS: usize = 16;

/// Reads one msgpack value from a byte slice, borrowing `str` and `bin` data from it.
///
/// Nesting of arrays and maps is limited to [`DEFAULT_MAX_DEPTH`] levels unless
/// [`with_max_depth`](Self::with_max_depth) says otherwise; recursion never goes deeper than
/// that limit.
#[derive(Debug)]
pub struct Deserializer<'de> {
    input: &'de [u8],
    /// Bytes consumed: `0 <= pos <= input.len()`.
    pos: usize,
    /// Arrays and maps currently open: `0 <= depth <= max_depth`.
    depth: usize,
    max_depth: usize,
    /// The next `deserialize_any` reports Python types in exact mode (see `python`).
    exact: bool,
    /// Refuse map keys other than `str` and `bytes`, as Python's `strict_map_key=True`.
    strict_keys: bool,
}

impl<'de> Deserializer<'de> {
    /// A deserializer reading `input` from its start.
    pub fn new(input: &'de [u8]) -> Self {
        Self { input, pos: 0, depth: 0, max_depth: DEFAULT_MAX_DEPTH, exact: false, strict_keys: false }
    }

    /// Refuse map keys that are neither `str` nor `bytes`, as Pyro5 does when it receives
    /// msgpack (Python's `strict_map_key=True`): [`Error::MapKeyNotAllowed`].
    #[must_use]
    pub fn with_strict_map_keys(mut self) -> Self {
        self.strict_keys = true;
        self
    }

    /// Refuse arrays and maps nested deeper than `max_depth` levels.
    #[must_use]
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Check that the whole input was consumed.
    ///
    /// # Errors
    /// [`Error::TrailingBytes`] if bytes remain.
    pub fn end(&self) -> Result<(), Error> {
        if self.pos == self.input.len() { Ok(()) } else { Err(Error::TrailingBytes { offset: self.pos }) }
    }

    /// Skip the next value, checking it as deserializing would (UTF-8 of strings, Pyro5's ext
    /// types, the depth limit), and return its bytes.
    ///
    /// # Errors
    /// Any [`Error`] about malformed input.
    pub fn skip_value(&mut self) -> Result<&'de [u8], Error> {
        let start = self.pos;
        self.skip()?;
        self.input.get(start..self.pos).ok_or(Error::Truncated { offset: start })
    }

    /// Skips one value, checking it.
    ///
    /// Iterative: what is left of each array and map open around the current position is
    /// kept in an array, [`SKIP_LEVELS`] levels to a call; only a deeper level recurses (for
    /// the whole value it opens), so a level of nesting costs a few bytes of stack.
    fn skip(&mut self) -> Result<(), Error> {
        // Items still to read in each container open in this call, the innermost last.
        let mut left = [0usize; SKIP_LEVELS];
        let mut open = 0usize;
        loop {
            let (start, head) = self.read_head()?;
            let items = match head {
                Head::Array(n) => Some(n),
                Head::Map(n) => Some(n.saturating_mul(2)),
                Head::Ext(code, data) => {
                    ext_value(code, data, start)?;
                    None
                }
                _ => None,
            };
            // Whether a whole value was read (not just a container opened).
            let mut done = true;
            if let Some(items) = items {
                match left.get_mut(open) {
                    Some(slot) => {
                        self.enter(start)?;
                        *slot = items;
                        open += 1;
                        done = false;
                    }
                    None => {
                        self.pos = start;
                        self.skip()?;
                    }
                }
            }
            // Close the containers this value completes.
            loop {
                let Some(top) = open.checked_sub(1) else { return Ok(()) };
                let Some(slot) = left.get_mut(top) else { return Ok(()) };
                if done {
                    *slot = slot.saturating_sub(1);
                }
                if *slot > 0 {
                    break;
                }
                self.leave();
                open = top;
                done = true;
            }
        }
    }

    fn enter(&mut self, offset: usize) -> Result<(), Error> {
        if self.depth >= self.max_depth {
            return Err(Error::DepthLimit { max_depth: self.max_depth, offset });
        }
        self.depth = self.depth.saturating_add(1);
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// The next `n` bytes of the value starting at `start`.
    fn take(&mut self, n: usize, start: usize) -> Result<&'de [u8], Error> {
        let end = self.pos.checked_add(n).ok_or(Error::Truncated { offset: start })?;
        let bytes = self.input.get(self.pos..end).ok_or(Error::Truncated { offset: start })?;
        self.pos = end;
        Ok(bytes)
    }

    fn take_array<const N: usize>(&mut self, start: usize) -> Result<[u8; N], Error> {
        self.take(N, start)?.try_into().map_err(|_| Error::Truncated { offset: start })
    }

    fn take_len(&mut self, width: u8, start: usize) -> Result<usize, Error> {
        let len = match width {
            1 => u32::from(u8::from_be_bytes(self.take_array(start)?)),
            2 => u32::from(u16::from_be_bytes(self.take_array(start)?)),
            _ => u32::from_be_bytes(self.take_array(start)?),
        };
        usize::try_from(len).map_err(|_| Error::Truncated { offset: start })
    }

    fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    /// Read one value's header; `str`, `bin` and ext data are consumed with it, array and
    /// map items are not. Returns where the value starts.
    fn read_head(&mut self) -> Result<(usize, Head<'de>), Error> {
        let start = self.pos;
        let [marker] = self.take_array::<1>(start)?;
        let head = match marker {
            0x00..=0x7f => Head::Uint(marker.into()),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), start)?,
            0x90..=0x9f => self.array(usize::from(marker & 0x0f), start)?,
            0xa0..=0xbf => self.str(usize::from(marker & 0x1f), start)?,
            0xc0 => Head::Nil,
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4..=0xc6 => {
                let len = self.take_len(1 << (marker - 0xc4), start)?;
                Head::Bin(self.take(len, start)?)
            }
            0xc7..=0xc9 => {
                let len = self.take_len(1 << (marker - 0xc7), start)?;
                let [code] = self.take_array::<1>(start)?;
                Head::Ext(i8::from_be_bytes([code]), self.take(len, start)?)
            }
            0xca => Head::Float(f32::from_be_bytes(self.take_array(start)?).into()),
            0xcb => Head::Float(f64::from_be_bytes(self.take_array(start)?)),
            0xcc => Head::Uint(u8::from_be_bytes(self.take_array(start)?).into()),
            0xcd => Head::Uint(u16::from_be_bytes(self.take_array(start)?).into()),
            0xce => Head::Uint(u32::from_be_bytes(self.take_array(start)?).into()),
            0xcf => Head::Uint(u64::from_be_bytes(self.take_array(start)?)),
            0xd0 => Head::Int(i8::from_be_bytes(self.take_array(start)?).into()),
            0xd1 => Head::Int(i16::from_be_bytes(self.take_array(start)?).into()),
            0xd2 => Head::Int(i32::from_be_bytes(self.take_array(start)?).into()),
            0xd3 => Head::Int(i64::from_be_bytes(self.take_array(start)?)),
            0xd4..=0xd8 => {
                let [code] = self.take_array::<1>(start)?;
                Head::Ext(i8::from_be_bytes([code]), self.take(1 << (marker - 0xd4), start)?)
            }
            0xd9..=0xdb => {
                let len = self.take_len(1 << (marker - 0xd9), start)?;
                self.str(len, start)?
            }
            0xdc | 0xdd => {
                let len = self.take_len(if marker == 0xdc { 2 } else { 4 }, start)?;
                self.array(len, start)?
            }
            0xde | 0xdf => {
                let len = self.take_len(if marker == 0xde { 2 } else { 4 }, start)?;
                self.map(len, start)?
            }
            0xe0..=0xff => Head::Int(i8::from_be_bytes([marker]).into()),
            0xc1 => return Err(Error::InvalidMarker { marker, offset: start }),
        };
        Ok((start, head))
    }

    fn str(&mut self, len: usize, start: usize) -> Result<Head<'de>, Error> {
        let bytes = self.take(len, start)?;
        core::str::from_utf8(bytes).map(Head::Str).map_err(|_| Error::InvalidUtf8 { offset: start })
    }

    fn array(&self, count: usize, offset: usize) -> Result<Head<'de>, Error> {
        let remaining = self.remaining();
        if count > remaining {
            return Err(Error::LengthExceedsInput { kind: "array", count, remaining, offset });
        }
        Ok(Head::Array(count))
    }

    fn map(&self, count: usize, offset: usize) -> Result<Head<'de>, Error> {
        let remaining = self.remaining();
        if count > remaining / 2 {
            return Err(Error::LengthExceedsInput { kind: "map", count, remaining, offset });
        }
        Ok(Head::Map(count))
    }

    /// Read the next value and hand it to `visitor`; `exact` asks for exact mode.
    fn any<V: Visitor<'de>>(&mut self, visitor: V, exact: bool) -> Result<V::Value, Error> {
        let (start, head) = self.read_head()?;
        self.visit(start, head, visitor, exact)
    }

    fn visit<V: Visitor<'de>>(
        &mut self,
        start: usize,
        head: Head<'de>,
        visitor: V,
        exact: bool,
    ) -> Result<V::Value, Error> {
        let result = match head {
            Head::Nil => visitor.visit_unit(),
            Head::Bool(v) => visitor.visit_bool(v),
            Head::Uint(v) => visitor.visit_u64(v),
            Head::Int(v) => visitor.visit_i64(v),
            Head::Float(v) => visitor.visit_f64(v),
            Head::Str(v) => visitor.visit_borrowed_str(v),
            Head::Bin(v) => visitor.visit_borrowed_bytes(v),
            Head::Array(count) => {
                self.enter(start)?;
                let mut seq = Seq { de: self, left: count };
                let value = visitor.visit_seq(&mut seq).map_err(|e: Error| e.at(start))?;
                if seq.left != 0 {
                    let used = count.saturating_sub(seq.left);
                    return Err(Error::ExtraItems { kind: "array", count, used, offset: start });
                }
                self.leave();
                Ok(value)
            }
            Head::Map(count) => {
                self.enter(start)?;
                let mut map = Map { de: self, left: count };
                let value = visitor.visit_map(&mut map).map_err(|e: Error| e.at(start))?;
                if map.left != 0 {
                    let used = count.saturating_sub(map.left);
                    return Err(Error::ExtraItems { kind: "map", count, used, offset: start });
                }
                self.leave();
                Ok(value)
            }
            Head::Ext(code, data) => match ext_value(code, data, start)? {
                ExtValue::Complex(re, im) => {
                    let pair = SeqDeserializer::new([re, im].into_iter());
                    if exact { visitor.visit_enum(Exact::new(COMPLEX, pair)) } else { visitor.visit_seq(pair) }
                }
                ExtValue::Int(Int::I64(v)) => visitor.visit_i64(v),
                ExtValue::Int(Int::U64(v)) => visitor.visit_u64(v),
                ExtValue::Int(Int::I128(v)) => visitor.visit_i128(v),
                ExtValue::Int(Int::U128(v)) => visitor.visit_u128(v),
                ExtValue::Int(Int::Big(text)) => {
                    if exact {
                        visitor.visit_enum(Exact::new(BIGINT, BorrowedStrDeserializer::new(text)))
                    } else {
                        visitor.visit_borrowed_str(text)
                    }
                }
                ExtValue::DateTime(timestamp) if exact => {
                    visitor.visit_enum(Exact::new(DATETIME, timestamp.into_deserializer()))
                }
                ExtValue::DateTime(timestamp) => visitor.visit_f64(timestamp),
                ExtValue::Date(ordinal) if exact => visitor.visit_enum(Exact::new(DATE, ordinal.into_deserializer())),
                ExtValue::Date(ordinal) => visitor.visit_i64(ordinal),
            },
        };
        result.map_err(|e: Error| e.at(start))
    }

    /// Plain deserialization (not exact mode) of the next value.
    fn plain<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        self.exact = false;
        self.any(visitor, false)
    }
}

/// One value's header.
#[derive(Clone, Copy, Debug)]
enum Head<'de> {
    Nil,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Float(f64),
    Str(&'de str),
    Bin(&'de [u8]),
    /// Item count, checked against the remaining input.
    Array(usize),
    /// Entry count, checked against the remaining input.
    Map(usize),
    Ext(i8, &'de [u8]),
}

impl Head<'_> {
    fn unexpected(&self) -> Unexpected<'_> {
        match *self {
            Head::Nil => Unexpected::Unit,
            Head::Bool(v) => Unexpected::Bool(v),
            Head::Uint(v) => Unexpected::Unsigned(v),
            Head::Int(v) => Unexpected::Signed(v),
            Head::Float(v) => Unexpected::Float(v),
            Head::Str(v) => Unexpected::Str(v),
            Head::Bin(v) => Unexpected::Bytes(v),
            Head::Array(_) => Unexpected::Seq,
            Head::Map(_) => Unexpected::Map,
            Head::Ext(..) => Unexpected::Other("msgpack ext value"),
        }
    }
}

/// A Pyro5 ext value, checked.
enum ExtValue<'de> {
    Complex(f64, f64),
    Int(Int<'de>),
    /// Seconds since the epoch (Python's `datetime.timestamp()` in the sender's local time).
    DateTime(f64),
    /// Python's `date.toordinal()`.
    Date(i64),
}

/// A Python int sent as decimal text, in the smallest Rust type that holds it.
enum Int<'de> {
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    /// Outside 128 bits: the normalized decimal text.
    Big(&'de str),
}

fn ext_value(code: i8, data: &[u8], offset: usize) -> Result<ExtValue<'_>, Error> {
    let exactly = |expected: usize| {
        if data.len() == expected {
            Ok(())
        } else {
            Err(Error::InvalidExtLength { code, len: data.len(), expected, offset })
        }
    };
    let short = || Error::InvalidExtLength { code, len: data.len(), expected: 8, offset };
    match code {
        EXT_COMPLEX => {
            exactly(16)?;
            let (re, im) = data.split_first_chunk::<8>().ok_or_else(short)?;
            let im: [u8; 8] = im.try_into().map_err(|_| short())?;
            Ok(ExtValue::Complex(f64::from_le_bytes(*re), f64::from_le_bytes(im)))
        }
        EXT_INT => {
            // Python's `int()` reads a sign and leading zeros too; integers that fit 128 bits
            // take them, wider ones must be normalized to be handed over as text.
            let invalid = || Error::InvalidBigInt { offset };
            let text = core::str::from_utf8(data).map_err(|_| invalid())?;
            let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            let int = if let Ok(v) = text.parse::<i64>() {
                Int::I64(v)
            } else if let Ok(v) = text.parse::<u64>() {
                Int::U64(v)
            } else if let Ok(v) = text.parse::<i128>() {
                Int::I128(v)
            } else if let Ok(v) = text.parse::<u128>() {
                Int::U128(v)
            } else {
                Int::Big(BigInt::new(text).map_err(|_| invalid())?.as_str())
            };
            Ok(ExtValue::Int(int))
        }
        EXT_DATETIME => {
            exactly(8)?;
            Ok(ExtValue::DateTime(f64::from_le_bytes(data.try_into().map_err(|_| short())?)))
        }
        EXT_DATE => {
            exactly(8)?;
            Ok(ExtValue::Date(i64::from_le_bytes(data.try_into().map_err(|_| short())?)))
        }
        _ => Err(Error::UnknownExtCode { code, offset }),
    }
}

macro_rules! plain {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.plain(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let exact = core::mem::take(&mut self.exact);
        self.any(visitor, exact)
    }

    plain! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_bytes deserialize_byte_buf
        deserialize_unit deserialize_seq deserialize_map deserialize_identifier
    }

    /// A `str`, or the decimal text of an ext 0x31 int whatever its size (this is how
    /// `python::BigInt` borrows it).
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.exact = false;
        let (start, head) = self.read_head()?;
        match head {
            Head::Ext(EXT_INT, data) => match ext_value(EXT_INT, data, start)? {
                ExtValue::Int(_) => {
                    let text = core::str::from_utf8(data).map_err(|_| Error::InvalidBigInt { offset: start })?;
                    visitor.visit_borrowed_str(text).map_err(|e: Error| e.at(start))
                }
                _ => Err(Error::InvalidBigInt { offset: start }),
            },
            _ => self.visit(start, head, visitor, false),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.exact = false;
        let start = self.pos;
        if self.input.get(start) == Some(&0xc0) {
            self.pos = start.saturating_add(1);
            visitor.visit_none().map_err(|e: Error| e.at(start))
        } else {
            visitor.visit_some(&mut *self).map_err(|e: Error| e.at(start))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.plain(visitor)
    }

    /// [`VALUE`] asks for exact mode for the value inside; other names are transparent.
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.exact = name == VALUE;
        let start = self.pos;
        visitor.visit_newtype_struct(&mut *self).map_err(|e: Error| e.at(start))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.plain(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.plain(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.plain(visitor)
    }

    /// A unit variant is its name as a `str`; any other variant a one-entry map
    /// `{name: value}`.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.exact = false;
        let (start, head) = self.read_head()?;
        let result = match head {
            Head::Str(name) => visitor.visit_enum(BorrowedStrDeserializer::new(name)),
            Head::Map(1) => {
                self.enter(start)?;
                let value = visitor.visit_enum(Enum { de: &mut *self }).map_err(|e: Error| e.at(start))?;
                self.leave();
                Ok(value)
            }
            other => Err(de::Error::invalid_type(other.unexpected(), &visitor)),
        };
        result.map_err(|e: Error| e.at(start))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.exact = false;
        let start = self.pos;
        self.skip()?;
        visitor.visit_unit().map_err(|e: Error| e.at(start))
    }

    /// Like the serializer: text forms for types that have one.
    fn is_human_readable(&self) -> bool {
        true
    }
}

/// The items of an array.
struct Seq<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    /// Items not yet read.
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Seq<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left = self.left.saturating_sub(1);
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The entries of a map; keys must be `str` or `bytes`, as Python's msgpack with
/// `strict_map_key=True` (Pyro5's setting) demands.
struct Map<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    /// Entries whose key is not yet read.
    left: usize,
}

impl<'de> de::MapAccess<'de> for Map<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left = self.left.saturating_sub(1);
        let offset = self.de.pos;
        let type_name = match self.de.input.get(offset) {
            _ if !self.de.strict_keys => None,
            Some(0xa0..=0xbf | 0xd9..=0xdb | 0xc4..=0xc6) | None => None,
            Some(0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3) => Some("int"),
            Some(0xca | 0xcb) => Some("float"),
            Some(0xc2 | 0xc3) => Some("bool"),
            Some(0xc0) => Some("NoneType"),
            Some(0x90..=0x9f | 0xdc | 0xdd) => Some("list"),
            Some(0x80..=0x8f | 0xde | 0xdf) => Some("dict"),
            Some(_) => Some("ExtType"),
        };
        if let Some(type_name) = type_name {
            return Err(Error::MapKeyNotAllowed { type_name, offset });
        }
        let offset = self.de.pos;
        let type_name = match self.de.input.get(offset) {
            _ if !self.de.strict_keys => None,
            Some(0xa0..=0xbf | 0xd9..=0xdb | 0xc4..=0xc6) | None => None,
            Some(0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3) => Some("int"),
            Some(0xca | 0xcb) => Some("float"),
            Some(0xc2 | 0xc3) => Some("bool"),
            Some(0xc0) => Some("NoneType"),
            Some(0x90..=0x9f | 0xdc | 0xdd) => Some("list"),
            Some(0x80..=0x8f | 0xde | 0xdf) => Some("dict"),
            Some(_) => Some("ExtType"),
        };
        if let Some(type_name) = type_name {
            return Err(Error::MapKeyNotAllowed { type_name, offset });
        }
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(&mut *self.de)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// A variant given as the one-entry map `{name: value}`.
struct Enum<'a, 'de> {
    de: &'a mut Deserializer<'de>,
}

impl<'de> de::EnumAccess<'de> for Enum<'_, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self), Error> {
        let name = seed.deserialize(&mut *self.de)?;
        Ok((name, self))
    }
}

impl<'de> de::VariantAccess<'de> for Enum<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(&mut *self.de)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(&mut *self.de)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_tuple(&mut *self.de, len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_struct(&mut *self.de, "", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[test]
    fn strings_and_bytes_are_borrowed() {
        let input = [0x92, 0xa2, b'h', b'i', 0xc4, 0x02, 1, 2];
        let (s, b): (&str, &[u8]) = crate::ser::msgpack::from_slice(&input).unwrap();
        assert_eq!((s, b), ("hi", &[1u8, 2][..]));
        assert!(core::ptr::eq(s.as_ptr(), input[2..].as_ptr()));
    }

    #[test]
    fn announced_counts_are_checked_before_reading_items() {
        let input = [0xdd, 0xff, 0xff, 0xff, 0xff, 0x00];
        let mut de = Deserializer::new(&input);
        let err = <[u8; 0]>::deserialize(&mut de).unwrap_err();
        assert_eq!(err, Error::LengthExceedsInput { kind: "array", count: 0xffff_ffff, remaining: 1, offset: 0 });
    }

    #[test]
    fn depth_limit_is_configurable() {
        let input = [0x91, 0x91, 0x90];
        let mut de = Deserializer::new(&input).with_max_depth(2);
        assert_eq!(de.skip_value().unwrap_err(), Error::DepthLimit { max_depth: 2, offset: 2 });
        let mut de = Deserializer::new(&input).with_max_depth(3);
        assert_eq!(de.skip_value().unwrap(), &input[..]);
        de.end().unwrap();
    }

    /// Skipping one value the plain recursive way: the reference `skip` is tested against.
    fn skip_recursively(de: &mut Deserializer<'_>) -> Result<(), Error> {
        let (start, head) = de.read_head()?;
        match head {
            Head::Array(n) | Head::Map(n) => {
                let items = if matches!(head, Head::Map(_)) { n * 2 } else { n };
                de.enter(start)?;
                for _ in 0..items {
                    skip_recursively(de)?;
                }
                de.leave();
            }
            Head::Ext(code, data) => {
                ext_value(code, data, start)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The same error (or end) as the recursive way, for msgpack values with a few bytes
    /// replaced, removed or added, nested across the levels one call of `skip` keeps.
    #[test]
    fn skipping_agrees_with_the_recursive_way() {
        extern crate std;
        use proptest::prelude::*;
        use std::vec::Vec;
        const LEAVES: &[&[u8]] = &[&[0x01], &[0xc0], &[0xa1, b'a'], &[0xcc, 7], &[0xd4, 0x01, 0], &[0xc1]];
        let leaf = proptest::sample::select(LEAVES).prop_map(<[u8]>::to_vec);
        let value = leaf.prop_recursive(24, 96, 3, |inner| {
            (proptest::collection::vec(inner, 0..3), any::<bool>()).prop_map(|(items, map)| {
                let mut out = Vec::new();
                if map {
                    out.push(0x80 | (items.len() as u8));
                    for item in &items {
                        out.extend([0xa1, b'k']);
                        out.extend(item);
                    }
                } else {
                    out.push(0x90 | (items.len() as u8));
                    items.iter().for_each(|item| out.extend(item));
                }
                out
            })
        });
        // Nested past the levels of one call, with values inside.
        let deep = (14usize..30, value.clone(), value.clone(), any::<bool>()).prop_map(|(n, first, second, map)| {
            let mut out = Vec::new();
            for _ in 0..n {
                out.extend(if map { &[0x82, 0xa1, b'k'][..] } else { &[0x92][..] });
            }
            out.extend(&first);
            for _ in 0..n {
                if map {
                    out.extend([0xa1, b'v']);
                }
                out.extend(&second);
            }
            out
        });
        let edits = proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>(), any::<u8>()), 0..3);
        let input = (prop_oneof![value, deep], edits).prop_map(|(mut bytes, edits)| {
            for (at, insert, byte) in edits {
                let i = at.index(bytes.len() + 1);
                match bytes.get_mut(i) {
                    Some(b) if !insert => *b = byte,
                    _ => bytes.insert(i, byte),
                }
            }
            bytes
        });
        let config = ProptestConfig { cases: 5000, ..ProptestConfig::default() };
        proptest!(config, |(bytes in input, max_depth in 14usize..30)| {
            let mut ours = Deserializer::new(&bytes).with_max_depth(max_depth);
            let mut reference = Deserializer::new(&bytes).with_max_depth(max_depth);
            let got = ours.skip();
            prop_assert_eq!(&got, &skip_recursively(&mut reference), "{:02x?}", bytes);
            if got.is_ok() {
                prop_assert_eq!((ours.pos, ours.depth), (reference.pos, reference.depth));
            }
        });
    }

    #[test]
    fn extra_items_are_refused() {
        let err = crate::ser::msgpack::from_slice::<(u8, u8)>(&[0x93, 1, 2, 3]).unwrap_err();
        assert_eq!(err, Error::ExtraItems { kind: "array", count: 3, used: 2, offset: 0 });
    }

    #[test]
    fn ext_hooks_follow_pyro5() {
        let err = crate::ser::msgpack::from_slice::<u8>(&[0xd4, 0x05, 0x00]).unwrap_err();
        assert_eq!(err, Error::UnknownExtCode { code: 5, offset: 0 });
        let err = crate::ser::msgpack::from_slice::<(f64, f64)>(&[0xd7, 0x30, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(err, Error::InvalidExtLength { code: 0x30, len: 8, expected: 16, offset: 0 });
        let date = [0xd7, 0x33, 0x47, 0x46, 0x0b, 0, 0, 0, 0, 0];
        assert_eq!(crate::ser::msgpack::from_slice::<i64>(&date).unwrap(), 738_887);
        assert_eq!(crate::ser::msgpack::from_slice::<i64>(b"\xc7\x03\x31-01").unwrap(), -1);
        let err = crate::ser::msgpack::from_slice::<i64>(b"\xc7\x02\x31 1").unwrap_err();
        assert_eq!(err, Error::InvalidBigInt { offset: 0 });
    }
}
