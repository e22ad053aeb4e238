//! The deserializer: Python's `json.loads` (strict) as a borrowing serde `Deserializer`
//! (spec `SERIALIZERS.md` §2).
//!
//! Strings without escapes are handed out as `&'de str` borrowed from the input. A string
//! with escapes is unescaped into the caller's scratch buffer (then visited as a transient
//! `&str`), or with feature `alloc` and no scratch buffer into a `String`.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

#[cfg(feature = "alloc")]
use alloc::string::String;

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, Unexpected, Visitor};

use super::{Error, MAX_INT_DIGITS};
use crate::ser::DEFAULT_MAX_DEPTH;
use crate::ser::python;

/// Reads one json value from a payload, as Python's `json.loads` does.
///
/// `'de` is the input's lifetime (borrowed strings live that long); `S` is the scratch
/// buffer for unescaping strings (see [`with_scratch`](Self::with_scratch)), which values
/// never borrow from.
///
/// Nesting is limited to [`DEFAULT_MAX_DEPTH`] levels unless changed with
/// [`with_max_depth`](Self::with_max_depth); nothing else in the input can make the
/// deserializer recurse, panic or allocate (except unescaping into a `String` with feature
/// `alloc` and no scratch buffer, or one too small).
#[derive(Debug)]
pub struct Deserializer<'de, S = [u8; 0]> {
    input: &'de [u8],
    /// Next byte to read: `0 <= pos <= input.len()`.
    pos: usize,
    /// Containers open around `pos`: `0 <= depth <= max_depth`.
    depth: usize,
    max_depth: usize,
    /// The next `deserialize_any` reports Python types by the exact-mode contract.
    exact: bool,
    /// Where strings with escapes are unescaped (empty: nowhere).
    scratch: S,
}

impl<'de> Deserializer<'de> {
    /// A deserializer reading `input` from its start.
    pub fn new(input: &'de [u8]) -> Self {
        Self { input, pos: 0, depth: 0, max_depth: DEFAULT_MAX_DEPTH, exact: false, scratch: [] }
    }
}

impl<'de, S: AsMut<[u8]>> Deserializer<'de, S> {
    /// Refuse containers nested deeper than `max_depth` levels (the default is
    /// [`DEFAULT_MAX_DEPTH`]). Deserializing recurses once per level, so a large limit needs
    /// a large stack.
    #[must_use]
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Unescape strings that contain escapes into `scratch`; such strings are then visited as
    /// transient `&str` (fine for `String` and for enum and field names, not for `&str`
    /// targets). A string needs at most as many bytes as it takes in the input. With feature
    /// `alloc`, a string that does not fit is unescaped into a `String` instead.
    #[must_use]
    pub fn with_scratch(self, scratch: &mut [u8]) -> Deserializer<'de, &mut [u8]> {
        let Self { input, pos, depth, max_depth, exact, scratch: _ } = self;
        Deserializer { input, pos, depth, max_depth, exact, scratch }
    }

    /// Byte offset of the next byte to read.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Check that only whitespace (space, tab, newline, carriage return) is left.
    ///
    /// # Errors
    /// [`Error::ExtraData`] at the first other byte.
    pub fn end(&mut self) -> Result<(), Error> {
        self.skip_ws();
        if self.pos < self.input.len() { Err(Error::ExtraData { offset: self.pos }) } else { Ok(()) }
    }

    /// Skip one value, checking it as Python's `json.loads` would (a lone surrogate escape
    /// is accepted here, as Python does).
    ///
    /// Iterative: the containers open around the current position are a stack of bits (set
    /// for an object), 64 levels to a call; only a 65th level recurses (for the whole value
    /// it opens), so a level of nesting costs a few bytes of stack.
    pub(crate) fn skip_any(&mut self) -> Result<(), Error> {
        // Bit i: whether container i (0 outermost) of this call is an object.
        let mut objects = 0u64;
        let mut open = 0u32;
        loop {
            // A value starts here.
            self.skip_ws();
            let start = self.pos;
            match self.peek() {
                Some(b'[' | b'{') if open == u64::BITS => self.skip_any()?,
                Some(c @ (b'[' | b'{')) => {
                    self.enter()?;
                    let object = c == b'{';
                    if self.peek_ws() == Some(if object { b'}' } else { b']' }) {
                        self.bump();
                        self.leave();
                    } else {
                        objects = (objects & !(1 << open)) | (u64::from(object) << open);
                        open += 1;
                        if object {
                            self.key()?;
                        }
                        continue;
                    }
                }
                Some(b'"') => {
                    self.scan_str()?;
                }
                _ => {
                    self.scalar().map_err(|e: Error| e.at(start))?;
                }
            }
            // After a value: close what ends here, up to a `,` before the next value.
            loop {
                let Some(top) = open.checked_sub(1) else { return Ok(()) };
                let object = objects & (1 << top) != 0;
                match self.peek_ws() {
                    Some(b',') => {
                        self.bump();
                        if object {
                            self.key()?;
                        }
                        break;
                    }
                    Some(b']') if !object => {}
                    Some(b'}') if object => {}
                    _ => return Err(self.expected("',' delimiter")),
                }
                self.bump();
                self.leave();
                open = top;
            }
        }
    }

    /// An object's key and the colon after it.
    fn key(&mut self) -> Result<(), Error> {
        if self.peek_ws() != Some(b'"') {
            return Err(self.expected(PROPERTY_NAME));
        }
        self.scan_str()?;
        self.colon()
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn rest(&self) -> &'de [u8] {
        self.input.get(self.pos..).unwrap_or_default()
    }

    /// Step over the byte just peeked.
    fn bump(&mut self) {
        self.pos = self.pos.saturating_add(1).min(self.input.len());
    }

    fn skip_ws(&mut self) {
        let n = self.rest().iter().take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')).count();
        self.pos = self.pos.saturating_add(n);
    }

    fn peek_ws(&mut self) -> Option<u8> {
        self.skip_ws();
        self.peek()
    }

    fn expected(&self, what: &'static str) -> Error {
        Error::Expected { what, offset: self.pos }
    }

    fn eat(&mut self, literal: &[u8]) -> bool {
        let found = self.rest().starts_with(literal);
        if found {
            self.pos = self.pos.saturating_add(literal.len());
        }
        found
    }

    fn colon(&mut self) -> Result<(), Error> {
        if self.peek_ws() == Some(b':') {
            self.bump();
            Ok(())
        } else {
            Err(self.expected("':' delimiter"))
        }
    }

    /// Step into a container at `pos`, within the depth limit.
    fn enter(&mut self) -> Result<(), Error> {
        if self.depth >= self.max_depth {
            return Err(Error::DepthLimit { max: self.max_depth, offset: self.pos });
        }
        self.depth = self.depth.saturating_add(1);
        self.bump();
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// After a visitor is done with a container: its closing bracket must come next.
    fn close(&mut self, bracket: u8) -> Result<(), Error> {
        if self.peek_ws() == Some(bracket) {
            self.bump();
            self.leave();
            Ok(())
        } else {
            Err(Error::TrailingItems { offset: self.pos })
        }
    }

    /// A string at `pos` (its opening quote): the text between the quotes (valid UTF-8,
    /// escapes checked) and whether it holds escapes. Leaves `pos` after the closing quote.
    fn scan_str(&mut self) -> Result<(&'de str, bool), Error> {
        let start = self.pos;
        let body = start.saturating_add(1);
        let bytes = self.input.get(body..).unwrap_or_default();
        let mut i = 0usize;
        let mut escaped = false;
        loop {
            let Some(skip) = bytes.get(i..).and_then(|r| r.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20))
            else {
                return Err(Error::UnterminatedString { offset: start });
            };
            i = i.saturating_add(skip);
            match bytes.get(i) {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    let at = body.saturating_add(i);
                    match bytes.get(i.saturating_add(1)) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i = i.saturating_add(2),
                        Some(b'u') => {
                            if hex4(bytes, i.saturating_add(2)).is_none() {
                                return Err(Error::InvalidUnicodeEscape { offset: at });
                            }
                            i = i.saturating_add(6);
                        }
                        None => return Err(Error::UnterminatedString { offset: start }),
                        Some(_) => return Err(Error::InvalidEscape { offset: at }),
                    }
                }
                _ => return Err(Error::ControlCharacter { offset: body.saturating_add(i) }),
            }
        }
        let raw = bytes.get(..i).unwrap_or_default();
        let text = core::str::from_utf8(raw)
            .map_err(|e| Error::InvalidUtf8 { offset: body.saturating_add(e.valid_up_to()) })?;
        self.pos = body.saturating_add(i).saturating_add(1);
        Ok((text, escaped))
    }

    /// A string at `pos`, unescaped.
    fn parse_str(&mut self) -> Result<Text<'de, '_>, Error> {
        let start = self.pos;
        if self.peek() != Some(b'"') {
            return Err(self.expected(PROPERTY_NAME));
        }
        let (content, escaped) = self.scan_str()?;
        if !escaped {
            return Ok(Text::Borrowed(content));
        }
        let body = start.saturating_add(1);
        let buf = self.scratch.as_mut();
        let capacity = buf.len();
        if capacity > 0 {
            let mut len = 0usize;
            let mut full = false;
            unescape(content, body, |piece| {
                let end = len.saturating_add(piece.len());
                match buf.get_mut(len..end) {
                    Some(dst) if !full => {
                        dst.copy_from_slice(piece.as_bytes());
                        len = end;
                    }
                    _ => full = true,
                }
            })?;
            if !full {
                let text = buf.get(..len).and_then(|b| core::str::from_utf8(b).ok());
                return text.map(Text::Transient).ok_or(Error::InvalidUtf8 { offset: body });
            }
        }
        #[cfg(feature = "alloc")]
        {
            let mut s = String::with_capacity(content.len());
            unescape(content, body, |piece| s.push_str(piece))?;
            Ok(Text::Owned(s))
        }
        #[cfg(not(feature = "alloc"))]
        if capacity > 0 {
            let mut needed = 0usize;
            unescape(content, body, |piece| needed = needed.saturating_add(piece.len()))?;
            Err(Error::ScratchTooSmall { needed, capacity, offset: start })
        } else {
            Err(Error::ScratchNeeded { offset: start })
        }
    }

    /// A number token at `pos`: its text and whether it is an integer (no fraction, no
    /// exponent). Integers longer than Python converts are refused.
    fn number_token(&mut self) -> Result<(&'de str, bool), Error> {
        let start = self.pos;
        let rest = self.rest();
        let (len, is_int) = scan_number(rest).ok_or(Error::Expected { what: "value", offset: start })?;
        let text = rest.get(..len).and_then(|t| core::str::from_utf8(t).ok());
        let text = text.ok_or(Error::Expected { what: "value", offset: start })?;
        if is_int {
            let digits = text.len().saturating_sub(usize::from(text.starts_with('-')));
            if digits > MAX_INT_DIGITS {
                return Err(Error::IntTooLong { digits, offset: Some(start) });
            }
        }
        self.pos = start.saturating_add(len);
        Ok((text, is_int))
    }

    /// A value other than a string or a container at `pos`.
    fn scalar(&mut self) -> Result<Scalar<'de>, Error> {
        let found = match self.peek() {
            Some(b'n') if self.eat(b"null") => Scalar::Null,
            Some(b't') if self.eat(b"true") => Scalar::Bool(true),
            Some(b'f') if self.eat(b"false") => Scalar::Bool(false),
            Some(b'N') if self.eat(b"NaN") => Scalar::Number(Number::F64(f64::NAN)),
            Some(b'I') if self.eat(b"Infinity") => Scalar::Number(Number::F64(f64::INFINITY)),
            Some(b'-') if self.eat(b"-Infinity") => Scalar::Number(Number::F64(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                let (text, is_int) = self.number_token()?;
                Scalar::Number(number(text, is_int).ok_or(Error::Expected { what: "value", offset: start })?)
            }
            _ => return Err(self.expected("value")),
        };
        Ok(found)
    }

    fn visit_array<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        self.enter()?;
        let value = visitor.visit_seq(Seq { de: self, first: true })?;
        self.close(b']')?;
        Ok(value)
    }

    fn visit_object<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        self.enter()?;
        let value = visitor.visit_map(Map { de: self, first: true })?;
        self.close(b'}')?;
        Ok(value)
    }
}

/// A string's text, wherever it had to be put.
enum Text<'de, 'a> {
    /// Straight from the input.
    Borrowed(&'de str),
    /// Unescaped into the scratch buffer.
    Transient(&'a str),
    /// Unescaped into a new `String`.
    #[cfg(feature = "alloc")]
    Owned(String),
}

impl Text<'_, '_> {
    fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(s) => s,
            Self::Transient(s) => s,
            #[cfg(feature = "alloc")]
            Self::Owned(s) => s,
        }
    }
}

impl<'de> Text<'de, '_> {
    fn visit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Self::Borrowed(s) => visitor.visit_borrowed_str(s),
            Self::Transient(s) => visitor.visit_str(s),
            #[cfg(feature = "alloc")]
            Self::Owned(s) => visitor.visit_string(s),
        }
    }
}

/// A json value that is neither a string nor a container.
enum Scalar<'de> {
    Null,
    Bool(bool),
    Number(Number<'de>),
}

/// A json number as Python reads it.
#[derive(Clone, Copy)]
enum Number<'a> {
    U64(u64),
    I64(i64),
    U128(u128),
    I128(i128),
    /// An integer beyond 128 bits, as its (normalized) decimal text.
    Big(&'a str),
    F64(f64),
}

impl Number<'_> {
    /// Visit a number that fits serde's data model; a [`Number::Big`] is an error.
    fn visit<'de, V: Visitor<'de>>(self, visitor: V, offset: usize) -> Result<V::Value, Error> {
        match self {
            Self::U64(v) => visitor.visit_u64(v),
            Self::I64(v) => visitor.visit_i64(v),
            Self::U128(v) => visitor.visit_u128(v),
            Self::I128(v) => visitor.visit_i128(v),
            Self::F64(v) => visitor.visit_f64(v),
            Self::Big(_) => Err(Error::IntegerTooLarge { offset }),
        }
    }
}

impl<'de> Scalar<'de> {
    fn visit<V: Visitor<'de>>(self, visitor: V, exact: bool, offset: usize) -> Result<V::Value, Error> {
        match self {
            Self::Null => visitor.visit_unit(),
            Self::Bool(b) => visitor.visit_bool(b),
            Self::Number(Number::Big(text)) if exact => {
                visitor.visit_enum(python::Exact::new(python::BIGINT, BorrowedStrDeserializer::<Error>::new(text)))
            }
            Self::Number(n) => n.visit(visitor, offset),
        }
    }
}

impl<'de, S: AsMut<[u8]>> de::Deserializer<'de> for &mut Deserializer<'de, S> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let exact = core::mem::take(&mut self.exact);
        self.skip_ws();
        let start = self.pos;
        let result = match self.peek() {
            Some(b'"') => self.parse_str().and_then(|text| text.visit(visitor)),
            Some(b'[') => self.visit_array(visitor),
            Some(b'{') => self.visit_object(visitor),
            _ => self.scalar().and_then(|s| s.visit(visitor, exact, start)),
        };
        result.map_err(|e: Error| e.at(start))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.exact = false;
        self.skip_ws();
        let start = self.pos;
        match self.scalar() {
            // An integer too large for 128 bits still makes a float, as Python's float(int).
            Ok(Scalar::Number(Number::Big(text))) => {
                let v = crate::ser::float::parse(text).ok_or(Error::IntegerTooLarge { offset: start })?;
                visitor.visit_f64(v).map_err(|e: Error| e.at(start))
            }
            Ok(s) => s.visit(visitor, false, start).map_err(|e: Error| e.at(start)),
            Err(_) => {
                self.pos = start;
                self.deserialize_any(visitor)
            }
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        self.skip_ws();
        Err(Error::BytesUnsupported { offset: self.pos })
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.exact = false;
        self.skip_ws();
        let start = self.pos;
        if self.eat(b"null") { visitor.visit_none() } else { visitor.visit_some(self) }.map_err(|e: Error| e.at(start))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.skip_ws();
        let start = self.pos;
        let result = match name {
            python::VALUE => {
                self.exact = true;
                visitor.visit_newtype_struct(self)
            }
            python::BIGINT => {
                self.exact = false;
                match self.peek() {
                    Some(b'-' | b'0'..=b'9') if !self.rest().starts_with(b"-I") => {
                        let (text, is_int) = self.number_token()?;
                        if !is_int {
                            return Err(de::Error::invalid_type(Unexpected::Other("float"), &"an integer"))
                                .map_err(|e: Error| e.at(start));
                        }
                        let text = if text == "-0" { "0" } else { text };
                        visitor.visit_newtype_struct(BorrowedStrDeserializer::new(text))
                    }
                    _ => Err(de::Error::invalid_type(Unexpected::Other("non-integer value"), &"an integer")),
                }
            }
            _ => {
                self.exact = false;
                visitor.visit_newtype_struct(self)
            }
        };
        result.map_err(|e: Error| e.at(start))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.exact = false;
        self.skip_ws();
        let start = self.pos;
        let result = match self.peek() {
            Some(b'"') => visitor.visit_enum(UnitVariant { de: self }),
            Some(b'{') => self.enter().and_then(|()| {
                let value = visitor.visit_enum(VariantEntry { de: self })?;
                self.close(b'}')?;
                Ok(value)
            }),
            _ => Err(de::Error::invalid_type(Unexpected::Other("json value"), &"a string or a single-entry object")),
        };
        result.map_err(|e: Error| e.at(start))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.exact = false;
        self.skip_any()?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char str string
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// The items of an array.
struct Seq<'a, 'de, S> {
    de: &'a mut Deserializer<'de, S>,
    first: bool,
}

impl<'de, S: AsMut<[u8]>> de::SeqAccess<'de> for Seq<'_, 'de, S> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        self.de.exact = false;
        match self.de.peek_ws() {
            Some(b']') => return Ok(None),
            Some(b',') if !self.first => self.de.bump(),
            Some(_) if self.first => {}
            _ if self.first => return Err(self.de.expected("value")),
            _ => return Err(self.de.expected("',' delimiter")),
        }
        self.first = false;
        seed.deserialize(&mut *self.de).map(Some)
    }
}

/// The entries of an object.
struct Map<'a, 'de, S> {
    de: &'a mut Deserializer<'de, S>,
    first: bool,
}

impl<'de, S: AsMut<[u8]>> de::MapAccess<'de> for Map<'_, 'de, S> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        self.de.exact = false;
        match self.de.peek_ws() {
            Some(b'}') => return Ok(None),
            Some(b',') if !self.first => {
                self.de.bump();
                if self.de.peek_ws() != Some(b'"') {
                    return Err(self.de.expected(PROPERTY_NAME));
                }
            }
            Some(b'"') if self.first => {}
            _ if self.first => return Err(self.de.expected(PROPERTY_NAME)),
            _ => return Err(self.de.expected("',' delimiter")),
        }
        self.first = false;
        seed.deserialize(Key { de: &mut *self.de }).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        self.de.colon()?;
        self.de.exact = false;
        seed.deserialize(&mut *self.de)
    }
}

/// An object key: always a string on the wire, read back as the key type Python wrote it
/// from (an int, float, bool or None key is its json text).
struct Key<'a, 'de, S> {
    de: &'a mut Deserializer<'de, S>,
}

impl<'de, S: AsMut<[u8]>> Key<'_, 'de, S> {
    /// The key's text as a number (the json number grammar, plus `NaN`/`Infinity` when
    /// `floats` is set), visited.
    fn visit_number<V: Visitor<'de>>(self, visitor: V, floats: bool) -> Result<V::Value, Error> {
        let start = self.de.pos;
        let text = self.de.parse_str()?;
        let s = text.as_str();
        let n = match (s, floats) {
            ("NaN", true) => Some(Number::F64(f64::NAN)),
            ("Infinity", true) => Some(Number::F64(f64::INFINITY)),
            ("-Infinity", true) => Some(Number::F64(f64::NEG_INFINITY)),
            _ => match scan_number(s.as_bytes()) {
                Some((len, is_int)) if len == s.len() && (is_int || floats) => number(s, is_int),
                _ => None,
            },
        };
        let result = match n {
            Some(Number::Big(digits)) if floats => match crate::ser::float::parse(digits) {
                Some(v) => visitor.visit_f64(v),
                None => Err(Error::IntegerTooLarge { offset: start }),
            },
            Some(n) => n.visit(visitor, start),
            None => Err(de::Error::invalid_value(Unexpected::Str(s), &visitor)),
        };
        result.map_err(|e: Error| e.at(start))
    }
}

impl<'de, S: AsMut<[u8]>> de::Deserializer<'de> for Key<'_, 'de, S> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let start = self.de.pos;
        self.de.parse_str().and_then(|text| text.visit(visitor)).map_err(|e: Error| e.at(start))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let start = self.de.pos;
        let text = self.de.parse_str()?;
        let result = match text.as_str() {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            other => Err(de::Error::invalid_value(Unexpected::Str(other), &visitor)),
        };
        result.map_err(|e: Error| e.at(start))
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_number(visitor, false)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_number(visitor, false)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_number(visitor, false)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_number(visitor, false)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_number(visitor, false)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_number(visitor, false)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_number(visitor, false)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_number(visitor, false)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_number(visitor, false)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_number(visitor, false)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_number(visitor, true)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_number(visitor, true)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let start = self.de.pos;
        let text = self.de.parse_str()?;
        let result = match text.as_str() {
            "null" => visitor.visit_unit(),
            other => Err(de::Error::invalid_value(Unexpected::Str(other), &visitor)),
        };
        result.map_err(|e: Error| e.at(start))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Error> {
        if name != python::BIGINT {
            return visitor.visit_newtype_struct(self);
        }
        let start = self.de.pos;
        let result = match self.de.parse_str()? {
            Text::Borrowed(s) if python::BigInt::new(s).is_ok() => {
                visitor.visit_newtype_struct(BorrowedStrDeserializer::new(s))
            }
            other => Err(de::Error::invalid_value(Unexpected::Str(other.as_str()), &"an integer as decimal text")),
        };
        result.map_err(|e: Error| e.at(start))
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(Error::BytesUnsupported { offset: self.de.pos })
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let start = self.de.pos;
        let result = match self.de.parse_str()? {
            Text::Borrowed(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s)),
            Text::Transient(s) => visitor.visit_enum(StrDeserializer::new(s)),
            #[cfg(feature = "alloc")]
            Text::Owned(s) => visitor.visit_enum(StrDeserializer::new(&s)),
        };
        result.map_err(|e: Error| e.at(start))
    }

    serde::forward_to_deserialize_any! {
        char str string seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// An enum written as its variant's name.
struct UnitVariant<'a, 'de, S> {
    de: &'a mut Deserializer<'de, S>,
}

impl<'de, S: AsMut<[u8]>> de::EnumAccess<'de> for UnitVariant<'_, 'de, S> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let variant = seed.deserialize(&mut *self.de)?;
        Ok((variant, self))
    }
}

impl<'de, S: AsMut<[u8]>> de::VariantAccess<'de> for UnitVariant<'_, 'de, S> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, Error> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"newtype variant"))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"tuple variant"))
    }
    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"struct variant"))
    }
}

/// An enum written as `{"variant": value}` (the opening brace already read).
struct VariantEntry<'a, 'de, S> {
    de: &'a mut Deserializer<'de, S>,
}

impl<'de, S: AsMut<[u8]>> de::EnumAccess<'de> for VariantEntry<'_, 'de, S> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        if self.de.peek_ws() != Some(b'"') {
            return Err(self.de.expected(PROPERTY_NAME));
        }
        let variant = seed.deserialize(Key { de: &mut *self.de })?;
        self.de.colon()?;
        Ok((variant, self))
    }
}

impl<'de, S: AsMut<[u8]>> de::VariantAccess<'de> for VariantEntry<'_, 'de, S> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(&mut *self.de)
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(&mut *self.de)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(&mut *self.de, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_map(&mut *self.de, visitor)
    }
}

/// Length and integer-ness of the json number at the start of `bytes`, matched as Python
/// does (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`, a fraction or exponent without
/// digits is left out of the match).
fn scan_number(bytes: &[u8]) -> Option<(usize, bool)> {
    let digits_from = |i: usize| bytes.get(i..).map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count());
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    match bytes.get(i) {
        Some(b'0') => i = i.saturating_add(1),
        Some(b'1'..=b'9') => i = i.saturating_add(digits_from(i)),
        _ => return None,
    }
    let mut is_int = true;
    if bytes.get(i) == Some(&b'.') {
        let n = digits_from(i.saturating_add(1));
        if n > 0 {
            i = i.saturating_add(1).saturating_add(n);
            is_int = false;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i.saturating_add(1);
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j = j.saturating_add(1);
        }
        let n = digits_from(j);
        if n > 0 {
            i = j.saturating_add(n);
            is_int = false;
        }
    }
    Some((i, is_int))
}

/// The value of a number token `scan_number` matched.
fn number(text: &str, is_int: bool) -> Option<Number<'_>> {
    if !is_int {
        return crate::ser::float::parse(text).map(Number::F64);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let mut magnitude: Option<u128> = Some(0);
    for b in digits.bytes() {
        let d = u128::from(b.checked_sub(b'0')?);
        magnitude = magnitude.and_then(|m| m.checked_mul(10)).and_then(|m| m.checked_add(d));
    }
    let Some(m) = magnitude else { return Some(Number::Big(text)) };
    Some(if negative {
        match i128::try_from(m) {
            Ok(m) => {
                let v = -m;
                i64::try_from(v).map_or(Number::I128(v), Number::I64)
            }
            Err(_) if m == i128::MIN.unsigned_abs() => Number::I128(i128::MIN),
            Err(_) => Number::Big(text),
        }
    } else {
        u64::try_from(m).map_or(Number::U128(m), Number::U64)
    })
}

/// The value of four hexadecimal digits at `bytes[at..]`.
fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = bytes.get(at..at.checked_add(4)?)?;
    digits.iter().try_fold(0u16, |acc, &b| {
        let d = char::from(b).to_digit(16)?;
        acc.checked_mul(16)?.checked_add(u16::try_from(d).ok()?)
    })
}

/// Pass the unescaped pieces of a string's text (checked by `scan_str`) to `emit`; `body` is
/// the byte offset of the text in the input, for errors.
fn unescape(content: &str, body: usize, mut emit: impl FnMut(&str)) -> Result<(), Error> {
    let bytes = content.as_bytes();
    let mut from = 0usize;
    while let Some(skip) = bytes.get(from..).and_then(|r| r.iter().position(|&b| b == b'\\')) {
        let at = from.saturating_add(skip);
        emit(content.get(from..at).unwrap_or_default());
        let offset = body.saturating_add(at);
        let mut used = 2usize;
        let simple = match bytes.get(at.saturating_add(1)) {
            Some(b'"') => "\"",
            Some(b'\\') => "\\",
            Some(b'/') => "/",
            Some(b'b') => "\u{8}",
            Some(b'f') => "\u{c}",
            Some(b'n') => "\n",
            Some(b'r') => "\r",
            Some(b't') => "\t",
            Some(b'u') => "",
            _ => return Err(Error::InvalidEscape { offset }),
        };
        if simple.is_empty() {
            let unit = hex4(bytes, at.saturating_add(2)).ok_or(Error::InvalidUnicodeEscape { offset })?;
            used = 6;
            let code = match unit {
                0xd800..=0xdbff => {
                    let next = at.saturating_add(6);
                    let low = match (bytes.get(next..next.saturating_add(2)), hex4(bytes, next.saturating_add(2))) {
                        (Some(b"\\u"), Some(low @ 0xdc00..=0xdfff)) => low,
                        _ => return Err(Error::LoneSurrogate { code: unit, offset }),
                    };
                    used = 12;
                    0x10000 + ((u32::from(unit) - 0xd800) << 10) + (u32::from(low) - 0xdc00)
                }
                0xdc00..=0xdfff => return Err(Error::LoneSurrogate { code: unit, offset }),
                _ => u32::from(unit),
            };
            let c = char::from_u32(code).ok_or(Error::LoneSurrogate { code: unit, offset })?;
            emit(c.encode_utf8(&mut [0; 4]));
        } else {
            emit(simple);
        }
        from = at.saturating_add(used);
    }
    emit(content.get(from..).unwrap_or_default());
    Ok(())
}

/// What Python's json expects where an object key must come.
const PROPERTY_NAME: &str = "property name enclosed in double quotes";

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::String;
    use std::vec::Vec;

    use serde::Deserialize;

    use super::*;

    fn read<'de, T: Deserialize<'de>>(input: &'de str) -> Result<T, Error> {
        let mut de = Deserializer::new(input.as_bytes());
        let v = T::deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }

    fn read_scratch<T: for<'de> Deserialize<'de>>(input: &str) -> Result<T, Error> {
        let mut scratch = [0u8; 64];
        let mut de = Deserializer::new(input.as_bytes()).with_scratch(&mut scratch);
        let v = T::deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }

    #[test]
    fn numbers_are_matched_as_python_matches_them() {
        assert_eq!(scan_number(b"-0.5e+3x"), Some((7, false)));
        assert_eq!(scan_number(b"01"), Some((1, true)));
        assert_eq!(scan_number(b"1."), Some((1, true)));
        assert_eq!(scan_number(b"1e"), Some((1, true)));
        assert_eq!(scan_number(b"1E-2"), Some((4, false)));
        assert_eq!(scan_number(b"-"), None);
        assert_eq!(scan_number(b".5"), None);
        assert_eq!(read::<i64>(" -0 ").unwrap(), 0);
        assert_eq!(read::<f64>("1e400").unwrap(), f64::INFINITY);
        assert_eq!(read::<f64>("-Infinity").unwrap(), f64::NEG_INFINITY);
        assert!(read::<f64>("NaN").unwrap().is_nan());
        assert_eq!(read::<f64>("12").unwrap(), 12.0);
        assert_eq!(read::<f64>("1000000000000000000000000000000000000000000").unwrap(), 1e42);
        assert_eq!(read::<u64>("18446744073709551615").unwrap(), u64::MAX);
        assert_eq!(read::<i128>("-170141183460469231731687303715884105728").unwrap(), i128::MIN);
        assert_eq!(read::<u128>("340282366920938463463374607431768211455").unwrap(), u128::MAX);
        assert_eq!(read::<u128>("340282366920938463463374607431768211456"), Err(Error::IntegerTooLarge { offset: 0 }));
    }

    #[test]
    fn syntax_errors_name_what_python_expects_and_where() {
        assert_eq!(read::<i64>("01"), Err(Error::ExtraData { offset: 1 }));
        assert_eq!(read::<Vec<i64>>("[1,]"), Err(Error::Expected { what: "value", offset: 3 }));
        assert_eq!(read::<Vec<i64>>("[1 2]"), Err(Error::Expected { what: "',' delimiter", offset: 3 }));
        assert_eq!(read::<Vec<i64>>("["), Err(Error::Expected { what: "value", offset: 1 }));
        assert_eq!(read::<(i64, i64)>("[1, 2, 3]"), Err(Error::TrailingItems { offset: 5 }));
        let e = read::<std::collections::BTreeMap<String, i64>>(r#"{"a":1,}"#);
        assert_eq!(e, Err(Error::Expected { what: PROPERTY_NAME, offset: 7 }));
        let e = read::<std::collections::BTreeMap<String, i64>>(r#"{"a"}"#);
        assert_eq!(e, Err(Error::Expected { what: "':' delimiter", offset: 4 }));
        assert_eq!(read::<bool>("truex"), Err(Error::ExtraData { offset: 4 }));
        assert_eq!(read::<f64>("nan"), Err(Error::Expected { what: "value", offset: 0 }));
        assert_eq!(read::<f64>("-NaN"), Err(Error::Expected { what: "value", offset: 0 }));
        assert_eq!(read::<()>("\u{c}null"), Err(Error::Expected { what: "value", offset: 0 }));
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        assert_eq!(read::<&str>(r#""café""#).unwrap(), "café");
        assert_eq!(read::<&str>(r#""a\nb""#).unwrap_err().pyro_class(), "Pyro5.errors.SerializeError");
        assert_eq!(read_scratch::<String>(r#""a\nb\u00e9\/\uD83D\uDE00""#).unwrap(), "a\nbé/😀");
        assert_eq!(read_scratch::<char>(r#""\t""#).unwrap(), '\t');
        assert_eq!(read_scratch::<String>(r#""\ud800""#), Err(Error::LoneSurrogate { code: 0xd800, offset: 1 }));
        assert_eq!(read_scratch::<String>(r#""\ud83d\u0041""#), Err(Error::LoneSurrogate { code: 0xd83d, offset: 1 }));
        assert_eq!(read_scratch::<String>(r#""x\uDE00""#), Err(Error::LoneSurrogate { code: 0xde00, offset: 2 }));
        assert_eq!(read::<String>("\"a\x1fb\""), Err(Error::ControlCharacter { offset: 2 }));
        assert_eq!(read::<String>(r#""\x""#), Err(Error::InvalidEscape { offset: 1 }));
        assert_eq!(read::<String>(r#""\u12G4""#), Err(Error::InvalidUnicodeEscape { offset: 1 }));
        assert_eq!(read::<String>(r#""abc"#), Err(Error::UnterminatedString { offset: 0 }));
        assert_eq!(read::<&str>("\"\x7f\"").unwrap(), "\x7f");
    }

    #[test]
    fn a_small_scratch_buffer_reports_the_size_needed_or_falls_back_to_alloc() {
        let mut scratch = [0u8; 2];
        let mut de = Deserializer::new(br#" "abc\n""#).with_scratch(&mut scratch);
        let result = String::deserialize(&mut de);
        #[cfg(not(feature = "alloc"))]
        assert_eq!(result, Err(Error::ScratchTooSmall { needed: 4, capacity: 2, offset: 1 }));
        #[cfg(feature = "alloc")]
        assert_eq!(result.unwrap(), "abc\n");
    }

    #[cfg(not(feature = "alloc"))]
    #[test]
    fn escapes_without_scratch_or_alloc_ask_for_a_scratch_buffer() {
        assert_eq!(read::<String>(r#"  "a\n""#), Err(Error::ScratchNeeded { offset: 2 }));
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn escapes_without_scratch_allocate_with_alloc() {
        assert_eq!(read::<String>(r#""a\n""#).unwrap(), "a\n");
    }

    #[test]
    fn keys_read_back_as_the_types_python_wrote_them_from() {
        use std::collections::BTreeMap;
        let m: BTreeMap<i64, &str> = read(r#"{"1": "one", "-2": "two"}"#).unwrap();
        assert_eq!(m.into_iter().collect::<Vec<_>>(), [(-2, "two"), (1, "one")]);
        let m: BTreeMap<bool, u8> = read(r#"{"true": 1}"#).unwrap();
        assert_eq!(m[&true], 1);
        let m: Vec<(f64, u8)> = read::<Pairs<f64>>(r#"{"2.5": 1, "NaN": 2, "-Infinity": 3, "1e+16": 4}"#).unwrap().0;
        assert_eq!(m[0], (2.5, 1));
        assert!(m[1].0.is_nan());
        assert_eq!(m[2], (f64::NEG_INFINITY, 3));
        assert_eq!(m[3], (1e16, 4));
        let m: Vec<((), u8)> = read::<Pairs<()>>(r#"{"null": 1}"#).unwrap().0;
        assert_eq!(m, [((), 1)]);
        assert!(read::<BTreeMap<i64, u8>>(r#"{"x": 1}"#).unwrap_err().offset() == Some(1));
        assert!(read::<BTreeMap<i64, u8>>(r#"{"1.5": 1}"#).is_err());
    }

    /// The entries of an object, in order, with keys of type `K`.
    struct Pairs<K>(Vec<(K, u8)>);

    impl<'de, K: Deserialize<'de>> Deserialize<'de> for Pairs<K> {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<K>(core::marker::PhantomData<K>);
            impl<'de, K: Deserialize<'de>> Visitor<'de> for V<K> {
                type Value = Pairs<K>;
                fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: de::MapAccess<'de>>(self, mut a: A) -> Result<Pairs<K>, A::Error> {
                    let mut v = Vec::new();
                    while let Some(entry) = a.next_entry()? {
                        v.push(entry);
                    }
                    Ok(Pairs(v))
                }
            }
            d.deserialize_map(V(core::marker::PhantomData))
        }
    }

    #[test]
    fn enums_read_names_and_single_entry_objects() {
        #[derive(Debug, Deserialize, PartialEq)]
        enum E {
            Unit,
            New(u8),
            Tup(u8, u8),
            Rec { a: u8 },
        }
        assert_eq!(read::<E>(r#""Unit""#).unwrap(), E::Unit);
        assert_eq!(read::<E>(r#"{"New": 1}"#).unwrap(), E::New(1));
        assert_eq!(read::<E>(r#"{"Tup": [1, 2]}"#).unwrap(), E::Tup(1, 2));
        assert_eq!(read::<E>(r#"{ "Rec" : {"a": 3} }"#).unwrap(), E::Rec { a: 3 });
        assert_eq!(read::<E>(r#"{"Unit": null}"#).unwrap(), E::Unit);
        assert_eq!(read::<E>(r#"{"New": 1, "x": 2}"#), Err(Error::TrailingItems { offset: 9 }));
        assert!(read::<E>(r#"{"Nope": 1}"#).unwrap_err().offset().is_some());
    }

    #[test]
    fn bytes_targets_are_refused() {
        struct B;
        impl<'de> Deserialize<'de> for B {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = B;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        f.write_str("bytes")
                    }
                }
                d.deserialize_bytes(V)
            }
        }
        assert_eq!(read::<B>(r#" "abc""#).err(), Some(Error::BytesUnsupported { offset: 1 }));
    }

    #[test]
    fn skipping_checks_like_parsing() {
        let mut de = Deserializer::new(br#"[1, {"a": [null, NaN, -Infinity, "\ud800"]}, 2.5e3] x"#);
        de.skip_any().unwrap();
        assert_eq!(de.offset(), 51);
        assert_eq!(de.end(), Err(Error::ExtraData { offset: 52 }));
        for bad in [&b"[1,]"[..], b"{\"a\" 1}", b"{\"a\": 1,}", b"[1 2]", b"\"\\q\"", b"tru", b"{1: 2}"] {
            assert!(Deserializer::new(bad).skip_any().is_err(), "{bad:?}");
        }
        let deep = "[".repeat(200);
        let e = Deserializer::new(deep.as_bytes()).skip_any().unwrap_err();
        assert_eq!(e, Error::DepthLimit { max: DEFAULT_MAX_DEPTH, offset: DEFAULT_MAX_DEPTH });
    }

    /// Skipping one value the plain recursive way: the reference `skip_any` is tested
    /// against.
    fn skip_recursively<S: AsMut<[u8]>>(de: &mut Deserializer<'_, S>) -> Result<(), Error> {
        de.skip_ws();
        let start = de.pos;
        match de.peek() {
            Some(open @ (b'[' | b'{')) => {
                let close = if open == b'[' { b']' } else { b'}' };
                de.enter()?;
                if de.peek_ws() == Some(close) {
                    de.bump();
                } else {
                    loop {
                        if open == b'{' {
                            de.key()?;
                        }
                        skip_recursively(de)?;
                        match de.peek_ws() {
                            Some(b',') => de.bump(),
                            Some(c) if c == close => {
                                de.bump();
                                break;
                            }
                            _ => return Err(de.expected("',' delimiter")),
                        }
                    }
                }
                de.leave();
                Ok(())
            }
            Some(b'"') => de.scan_str().map(|_| ()),
            _ => de.scalar().map(|_| ()).map_err(|e: Error| e.at(start)),
        }
    }

    /// The same error (or end) as the recursive way, for json documents with a few tokens
    /// replaced, removed or added, nested across the 64 levels one call of `skip_any` keeps.
    #[test]
    fn skipping_agrees_with_the_recursive_way() {
        use proptest::prelude::*;
        use proptest::sample::select;
        const LEAVES: &[&str] = &["1", "-2.5e3", "null", "true", "NaN", "\"s\"", "\"\\ud800\"", "[]", "{}"];
        const PIECES: &[&str] = &["[", "]", "{", "}", ",", ":", " ", "\"k\"", "1", "\"\\q\"", "tru"];
        let leaf = select(LEAVES).prop_map(String::from);
        let doc = leaf.prop_recursive(8, 64, 4, |inner| {
            (proptest::collection::vec(inner, 0..4), any::<bool>()).prop_map(|(items, object)| {
                let items: Vec<String> =
                    if object { items.iter().map(|v| std::format!("\"k\":{v}")).collect() } else { items };
                let (open, close) = if object { ("{", "}") } else { ("[", "]") };
                std::format!("{open}{}{close}", items.join(","))
            })
        });
        // Nested past 64 levels, with documents inside and a few brackets missing.
        let deep = (60usize..70, 0usize..3, any::<bool>(), doc.clone()).prop_map(|(n, cut, object, inner)| {
            let (open, close) = if object { ("{\"k\":", "}") } else { ("[", "]") };
            std::format!("{}{inner}{}", open.repeat(n), std::format!(",{inner}{close}").repeat(n.saturating_sub(cut)))
        });
        let edits = proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>(), select(PIECES)), 0..3);
        let text = (prop_oneof![doc, deep], edits).prop_map(|(mut text, edits)| {
            for (at, insert, piece) in edits {
                let i = at.index(text.len() + 1);
                if insert || i == text.len() {
                    text.insert_str(i, piece);
                } else {
                    text.replace_range(i..i + 1, piece);
                }
            }
            text
        });
        let config = ProptestConfig { cases: 5000, ..ProptestConfig::default() };
        proptest!(config, |(text in text, max_depth in 60usize..70)| {
            let mut ours = Deserializer::new(text.as_bytes()).with_max_depth(max_depth);
            let mut reference = Deserializer::new(text.as_bytes()).with_max_depth(max_depth);
            let got = ours.skip_any();
            prop_assert_eq!(&got, &skip_recursively(&mut reference), "{:?}", text);
            if got.is_ok() {
                prop_assert_eq!((ours.pos, ours.depth), (reference.pos, reference.depth));
            }
        });
    }

    #[test]
    fn unescape_joins_surrogate_pairs() {
        let mut out = String::new();
        unescape(r"\uD834\uDD1E-\u20ac", 0, |p| out.push_str(p)).unwrap();
        assert_eq!(out, "𝄞-€");
    }
}
