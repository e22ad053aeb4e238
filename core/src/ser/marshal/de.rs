//! Reading marshal (as CPython's `marshal.loads` reads it) into serde values, borrowing
//! strings and bytes from the input.

use core::str;

use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, Visitor};

use super::Error;
use super::long::{self, Digits};
use crate::ser::DEFAULT_MAX_DEPTH;
use crate::ser::python::{BIGINT, COMPLEX, Exact, FROZENSET, SET, TUPLE, VALUE};

/// How many bytes re-reading referenced objects may cost, by default, before a payload is
/// refused ([`Deserializer::with_max_ref_expansion`]).
pub const DEFAULT_MAX_REF_EXPANSION: usize = 1 << 20;

/// Referenced objects whose position is remembered without allocating; with feature `alloc`
/// later ones are kept in a `Vec`, without it a reference to one is found by walking the
/// payload again (counted against the expansion budget).
const REF_SLOTS: usize = 64;

const FLAG_REF: u8 = 0x80;

/// Reads one marshal value from a byte slice (`docs/serializers.md`, "marshal").
///
/// Strings and bytes are borrowed from the input (`visit_borrowed_str`/`_bytes`). Text that
/// must be converted — `a`/`z` strings holding Latin-1 bytes above 0x7f, which CPython reads
/// but never writes, and the decimal text of integers beyond 128 bits — goes into the scratch
/// buffer given with [`with_scratch`](Self::with_scratch) and is borrowed from there
/// (consuming that part of the buffer). Without room there, integer text is lent for the call
/// (`visit_str`, which e.g. `String` accepts and [`BigInt`](crate::ser::python::BigInt) does
/// not), and Latin-1 text becomes an owned `String` with feature `alloc` or is an
/// [`Error::NeedScratch`] without it.
///
/// Back-references (`r`, written by CPython for objects it met before) are followed by
/// re-reading the referenced object's bytes; re-reading is bounded by
/// [`with_max_ref_expansion`](Self::with_max_ref_expansion), and a reference to an enclosing
/// object (a cycle) is an error.
pub struct Deserializer<'de> {
    input: &'de [u8],
    /// Next byte to read: `pos <= input.len()`.
    pos: usize,
    /// Containers open around `pos`.
    depth: usize,
    max_depth: usize,
    /// The value about to be read was asked for in exact mode (newtype `VALUE`).
    exact: bool,
    /// Reading a dict key or set element: lists, dicts and sets are refused (unhashable).
    key: bool,
    refs: Refs,
    /// > 0 while re-reading a referenced object: flagged objects are not registered again.
    replaying: usize,
    /// Whether `r` codes are followed (false in `skip_value`, whose input may be a sub-slice).
    resolve_refs: bool,
    walk: Walk,
    /// A walk reached its target: unwind without reading further.
    stop: bool,
    /// Bytes references may still re-read.
    expansion_left: usize,
    max_expansion: usize,
    scratch: Option<&'de mut [u8]>,
    /// `new_at`: the offset to walk to before reading, still to do.
    seek_to: Option<usize>,
    /// Skipping: `a`/`z` text (Latin-1, always valid) is passed over unread.
    skimming: bool,
}

/// The references of the objects flagged so far, in the order they started.
struct Refs {
    /// Objects flagged so far (the next reference index).
    count: usize,
    /// The first flagged objects, without allocating.
    slots: heapless::Vec<Slot, REF_SLOTS>,
    /// The later ones (feature `alloc`; without it they are found by walking).
    #[cfg(feature = "alloc")]
    more: alloc::vec::Vec<Slot>,
}

/// Where a flagged object lies: `input[start..end]`; `end == 0` while it is being read.
#[derive(Clone, Copy, Debug)]
struct Slot {
    start: usize,
    end: usize,
}

/// A walk over the payload that stops somewhere.
#[derive(Clone, Copy, Debug)]
enum Walk {
    /// Ordinary reading.
    None,
    /// Find the flagged object with index `target`, registering nothing, and stop when it
    /// is complete or when `limit` (the reference's position) is reached.
    Locate { target: usize, limit: usize, start: Option<usize>, end: Option<usize> },
    /// Register references up to the value starting at `offset`, and stop there.
    Seek { offset: usize },
}

/// How many levels of nesting one call of `skip` keeps track of.
const SKIP_LEVELS: usize = 16;

/// A container [`Deserializer::skip`] is in.
#[derive(Clone, Copy, Debug)]
struct Level {
    /// Items still to read (a tuple, list, set or frozenset).
    left: usize,
    /// The reference the container registered, finished when it ends.
    slot: Option<usize>,
    /// A dict: items until the TYPE_NULL code, keys and values in turn.
    dict: bool,
    /// Its items must be hashable (set elements).
    set: bool,
    /// A dict's key was read: its value comes next.
    value_next: bool,
    /// Whether the container itself was read as a dict key or set element.
    key: bool,
}

/// A type byte and what follows it, checked.
enum Head<'de> {
    None,
    Bool(bool),
    Int(i32),
    /// `l`: sign and digit bytes (u16 LE pairs, each below 2^15, the last non-zero).
    Long(bool, &'de [u8]),
    Float(f64),
    Complex(f64, f64),
    Bytes(&'de [u8]),
    Str(&'de str),
    /// An `a`/`z`/`A`/`Z` string with bytes above 0x7f: Latin-1.
    Latin1(&'de [u8]),
    /// A `u`/`t` string with lone surrogates.
    Surrogates,
    Tuple(usize),
    List(usize),
    Dict,
    Set(usize),
    FrozenSet(usize),
    Ref(u32),
}

impl<'de> Deserializer<'de> {
    /// A deserializer reading the value at the start of `input`.
    pub fn new(input: &'de [u8]) -> Self {
        Self {
            input,
            pos: 0,
            depth: 0,
            max_depth: DEFAULT_MAX_DEPTH,
            exact: false,
            key: false,
            refs: Refs::new(),
            replaying: 0,
            resolve_refs: true,
            walk: Walk::None,
            stop: false,
            expansion_left: DEFAULT_MAX_REF_EXPANSION,
            max_expansion: DEFAULT_MAX_REF_EXPANSION,
            scratch: None,
            seek_to: None,
            skimming: false,
        }
    }

    /// A deserializer reading the value at `offset` of `payload` (e.g. one argument of a call,
    /// found with [`skip_value`](super::skip_value)), resolving its back-references against
    /// the objects `payload` flagged before it.
    pub fn new_at(payload: &'de [u8], offset: usize) -> Self {
        let mut de = Self::new(payload);
        if offset > 0 {
            de.seek_to = Some(offset);
        }
        de
    }

    /// Refuse containers nested deeper than `max` (default
    /// [`DEFAULT_MAX_DEPTH`](crate::ser::DEFAULT_MAX_DEPTH)).
    #[must_use]
    pub fn with_max_depth(mut self, max: usize) -> Self {
        self.max_depth = max;
        self
    }

    /// Where converted text goes (see the type's docs).
    #[must_use]
    pub fn with_scratch(mut self, scratch: &'de mut [u8]) -> Self {
        self.scratch = Some(scratch);
        self
    }

    /// Bytes that following back-references may re-read in total (default
    /// [`DEFAULT_MAX_REF_EXPANSION`]).
    #[must_use]
    pub fn with_max_ref_expansion(mut self, bytes: usize) -> Self {
        self.max_expansion = bytes;
        self.expansion_left = bytes;
        self
    }

    /// The offset of the next byte to read.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Check that the whole input was read.
    ///
    /// # Errors
    /// [`Error::TrailingBytes`] otherwise.
    pub fn end(&self) -> Result<(), Error> {
        if self.pos == self.input.len() { Ok(()) } else { Err(Error::TrailingBytes { offset: self.pos }) }
    }

    /// Skip one value, checking it as [`skip_value`](super::skip_value) does but following
    /// references (it registers what the value flags, so later references resolve).
    ///
    /// Iterative: the containers open around the current position are kept in an array,
    /// [`SKIP_LEVELS`] levels to a call; a value deeper than that is skipped by a nested
    /// call, so a level of nesting costs a few bytes of stack.
    fn skip(&mut self) -> Result<(), Error> {
        // Wherever it stops, the flag is as it was (each level puts back what it changed).
        let key = self.key;
        let skipped = self.skip_levels();
        self.key = key;
        skipped
    }

    /// The loop of [`skip`](Self::skip).
    fn skip_levels(&mut self) -> Result<(), Error> {
        let none = Level { left: 0, slot: None, dict: false, set: false, value_next: false, key: false };
        let mut levels = [none; SKIP_LEVELS];
        let mut open = 0usize;
        loop {
            // A value starts at `pos`, to be read with `self.key` as it is.
            match levels.get_mut(open) {
                None => self.skip()?,
                Some(slot) => {
                    if let Some(level) = self.skip_head()? {
                        *slot = level;
                        open += 1;
                    }
                }
            }
            if self.stop {
                return Ok(());
            }
            // Then the next item of the innermost open container, or its end (a value ending
            // in the container around it).
            loop {
                let Some(top) = open.checked_sub(1) else { return Ok(()) };
                let Some(level) = levels.get_mut(top) else { return Ok(()) };
                if level.dict {
                    if level.value_next {
                        level.value_next = false;
                        self.key = level.key;
                        break;
                    }
                    if !self.dict_end()? {
                        level.value_next = true;
                        self.key = true;
                        break;
                    }
                } else if level.left > 0 {
                    level.left -= 1;
                    self.key = level.key || level.set;
                    break;
                }
                self.depth -= 1;
                self.key = level.key;
                open = top;
                self.finish(level.slot);
                if self.stop {
                    return Ok(());
                }
            }
        }
    }

    /// The start of a value for [`skip`](Self::skip): the container it opens (entered), or
    /// `None` when it was read whole (or a walk stopped at it).
    fn skip_head(&mut self) -> Result<Option<Level>, Error> {
        match self.walk {
            Walk::Seek { offset } if self.pos == offset => {
                self.stop = true;
                return Ok(None);
            }
            Walk::Locate { limit, .. } if self.pos >= limit => {
                self.stop = true;
                return Ok(None);
            }
            _ => {}
        }
        self.skimming = true;
        let read = self.head();
        self.skimming = false;
        let (head, slot, start) = read?;
        let level = |left, dict, set| Level { left, slot, dict, set, value_next: false, key: self.key };
        match head {
            Head::Tuple(n) | Head::List(n) => return Ok(Some(level(n, false, false))),
            Head::Set(n) | Head::FrozenSet(n) => return Ok(Some(level(n, false, true))),
            Head::Dict => return Ok(Some(level(0, true, false))),
            Head::Ref(index) if self.resolve_refs && !matches!(self.walk, Walk::Locate { .. }) => {
                let (s, e) = self.resolve(index, start)?;
                if self.key {
                    // Python would hash it: the referenced object must be hashable too.
                    self.replay(s, e, start, Self::skip)?;
                }
            }
            _ => {}
        }
        if !self.stop {
            self.finish(slot);
        }
        Ok(None)
    }

    /// Read a type byte and its fixed part; register flagged objects; enter containers.
    fn head(&mut self) -> Result<(Head<'de>, Option<usize>, usize), Error> {
        if let Some(offset) = self.seek_to.take() {
            self.seek(offset)?;
        }
        let start = self.pos;
        let byte = self.byte()?;
        let code = byte & !FLAG_REF;
        let head = match code {
            b'N' => return Ok((Head::None, None, start)),
            b'T' => return Ok((Head::Bool(true), None, start)),
            b'F' => return Ok((Head::Bool(false), None, start)),
            b'0' => return Err(Error::NullObject { offset: start }),
            b'r' => return Ok((Head::Ref(self.u32()?), None, start)),
            b'.' | b'S' | b'c' | b'I' | b'f' | b'x' => return Err(Error::Unsupported { code: byte, offset: start }),
            b'i' | b'l' | b'g' | b'y' | b's' | b'a' | b'A' | b'z' | b'Z' | b'u' | b't' | b')' | b'(' | b'[' | b'{'
            | b'<' | b'>' => code,
            _ => return Err(Error::UnknownType { code: byte, offset: start }),
        };
        // Containers are registered before their items, as CPython numbers them.
        let slot = if byte & FLAG_REF != 0 { self.register(start) } else { None };
        let head = match head {
            b'i' => Head::Int(self.i32()?),
            b'l' => self.long(start)?,
            b'g' => Head::Float(self.f64()?),
            b'y' => Head::Complex(self.f64()?, self.f64()?),
            b's' => {
                let n = self.size("bytes")?;
                Head::Bytes(self.take(n)?)
            }
            b'a' | b'A' => {
                let n = self.size("string")?;
                self.text(n)?
            }
            b'z' | b'Z' => {
                let n = usize::from(self.byte()?);
                self.text(n)?
            }
            b'u' | b't' => {
                let n = self.size("string")?;
                let bytes = self.take(n)?;
                match str::from_utf8(bytes) {
                    Ok(s) => Head::Str(s),
                    Err(_) if surrogatepass(bytes) => Head::Surrogates,
                    Err(_) => return Err(Error::InvalidUtf8 { offset: start }),
                }
            }
            b')' => {
                let n = usize::from(self.byte()?);
                Head::Tuple(self.count(n)?)
            }
            b'(' => {
                let n = self.size("tuple")?;
                Head::Tuple(self.count(n)?)
            }
            b'[' => {
                self.hashable("list", start)?;
                let n = self.size("list")?;
                Head::List(self.count(n)?)
            }
            b'{' => {
                self.hashable("dict", start)?;
                Head::Dict
            }
            b'<' => {
                self.hashable("set", start)?;
                let n = self.size("set")?;
                Head::Set(self.count(n)?)
            }
            _ => {
                let n = self.size("set")?;
                Head::FrozenSet(self.count(n)?)
            }
        };
        if matches!(head, Head::Tuple(_) | Head::List(_) | Head::Dict | Head::Set(_) | Head::FrozenSet(_)) {
            if self.depth >= self.max_depth {
                return Err(Error::DepthLimit { max: self.max_depth, offset: start });
            }
            self.depth += 1;
        }
        Ok((head, slot, start))
    }

    fn long(&mut self, start: usize) -> Result<Head<'de>, Error> {
        let size_at = self.pos;
        let n = self.i32()?;
        if n == i32::MIN {
            return Err(Error::SizeOutOfRange { what: "long", size: n, offset: size_at });
        }
        let count = n.unsigned_abs() as usize;
        let bytes = self.take(count.checked_mul(2).ok_or(Error::Eof { offset: self.pos })?)?;
        let mut top = 1u16;
        for pair in bytes.chunks_exact(2) {
            let d = u16::from_le_bytes([pair.first().copied().unwrap_or(0), pair.get(1).copied().unwrap_or(0)]);
            if d > 0x7fff {
                return Err(Error::BadLong { reason: "digit out of range", offset: start });
            }
            top = d;
        }
        if top == 0 {
            return Err(Error::BadLong { reason: "unnormalized data", offset: start });
        }
        Ok(Head::Long(n < 0, bytes))
    }

    fn hashable(&self, type_name: &'static str, offset: usize) -> Result<(), Error> {
        if self.key { Err(Error::Unhashable { type_name, offset }) } else { Ok(()) }
    }

    /// A container count: every item takes at least one byte, so a count larger than the
    /// rest of the input cannot be right.
    fn count(&self, n: usize) -> Result<usize, Error> {
        if n > self.input.len().saturating_sub(self.pos) {
            return Err(Error::Eof { offset: self.input.len() });
        }
        Ok(n)
    }

    fn register(&mut self, start: usize) -> Option<usize> {
        if self.replaying > 0 {
            return None;
        }
        let index = self.refs.count;
        self.refs.count = index.saturating_add(1);
        match &mut self.walk {
            Walk::Locate { target, start: found, .. } => {
                if *target == index {
                    *found = Some(start);
                }
            }
            _ => self.refs.push(Slot { start, end: 0 }, index),
        }
        Some(index)
    }

    fn finish(&mut self, slot: Option<usize>) {
        let Some(index) = slot else { return };
        match &mut self.walk {
            Walk::Locate { target, end, limit, .. } => {
                if *target == index {
                    // Complete only if it ended before the reference.
                    if self.pos <= *limit {
                        *end = Some(self.pos);
                    }
                    self.stop = true;
                }
            }
            _ => {
                if let Some(s) = self.refs.get_mut(index) {
                    s.end = self.pos;
                }
            }
        }
    }

    /// Where the object with reference `index` lies, checking it is complete.
    fn resolve(&mut self, index: u32, at: usize) -> Result<(usize, usize), Error> {
        let i = usize::try_from(index).unwrap_or(usize::MAX);
        if i >= self.refs.count {
            return Err(Error::InvalidReference { index, offset: at });
        }
        match self.refs.get(i) {
            Some(&Slot { end: 0, .. }) => Err(Error::RecursiveReference { index, offset: at }),
            Some(&Slot { start, end }) => Ok((start, end)),
            None => self.locate(i, index, at),
        }
    }

    /// Find a flagged object the slot table had no room for, by walking the payload again.
    #[inline(never)]
    fn locate(&mut self, target: usize, index: u32, at: usize) -> Result<(usize, usize), Error> {
        let mut walker = Deserializer::new(self.input).with_max_depth(self.max_depth);
        walker.walk = Walk::Locate { target, limit: at, start: None, end: None };
        walker.resolve_refs = false;
        let walked = walker.skip();
        self.charge(walker.pos, at)?;
        walked?;
        match walker.walk {
            Walk::Locate { start: Some(start), end: Some(end), .. } => Ok((start, end)),
            Walk::Locate { start: Some(_), .. } => Err(Error::RecursiveReference { index, offset: at }),
            _ => Err(Error::InvalidReference { index, offset: at }),
        }
    }

    /// Walk from the start of the payload to the value at `offset`, registering references.
    #[inline(never)]
    fn seek(&mut self, offset: usize) -> Result<(), Error> {
        self.pos = 0;
        self.walk = Walk::Seek { offset };
        let walked = self.skip();
        self.walk = Walk::None;
        walked?;
        if !self.stop || self.pos != offset {
            return Err(Error::NotAValue { offset });
        }
        self.stop = false;
        self.depth = 0;
        self.key = false;
        Ok(())
    }

    fn charge(&mut self, bytes: usize, at: usize) -> Result<(), Error> {
        self.expansion_left = self
            .expansion_left
            .checked_sub(bytes)
            .ok_or(Error::RefExpansionLimit { max: self.max_expansion, offset: at })?;
        Ok(())
    }

    /// Read the referenced object at `input[start..end]` again with `f`, then come back.
    fn replay<T>(
        &mut self,
        start: usize,
        end: usize,
        at: usize,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.charge(end.saturating_sub(start), at)?;
        let saved = self.pos;
        self.pos = start;
        self.replaying += 1;
        let r = f(self);
        self.replaying -= 1;
        self.pos = saved;
        r
    }

    /// Whether the next byte ends a dict (consuming it if so).
    fn dict_end(&mut self) -> Result<bool, Error> {
        let b = self.peek()?;
        if b & !FLAG_REF == b'0' {
            self.pos += 1;
            return Ok(true);
        }
        Ok(false)
    }

    fn peek(&self) -> Result<u8, Error> {
        self.input.get(self.pos).copied().ok_or(Error::Eof { offset: self.pos })
    }

    fn byte(&mut self) -> Result<u8, Error> {
        let b = self.peek()?;
        self.pos += 1;
        Ok(b)
    }

    /// `n` bytes of `a`/`z` text: Latin-1, read as text only when not skipping.
    fn text(&mut self, n: usize) -> Result<Head<'de>, Error> {
        let bytes = self.take(n)?;
        Ok(if self.skimming { Head::Latin1(bytes) } else { latin1(bytes) })
    }

    fn take(&mut self, n: usize) -> Result<&'de [u8], Error> {
        let eof = Error::Eof { offset: self.input.len() };
        let end = self.pos.checked_add(n).ok_or(eof.clone())?;
        let bytes = self.input.get(self.pos..end).ok_or(eof)?;
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn i32(&mut self) -> Result<i32, Error> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn f64(&mut self) -> Result<f64, Error> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// A 32-bit size, which CPython reads signed and refuses when negative.
    fn size(&mut self, what: &'static str) -> Result<usize, Error> {
        let offset = self.pos;
        let n = self.i32()?;
        usize::try_from(n).map_err(|_| Error::SizeOutOfRange { what, size: n, offset })
    }

    /// Read any value and report it to `visitor`.
    fn any<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        let exact = core::mem::take(&mut self.exact);
        let (head, slot, start) = self.head()?;
        let value = self.visit(head, start, exact, visitor).map_err(|e| e.at(start))?;
        self.finish(slot);
        Ok(value)
    }

    fn visit<V: Visitor<'de>>(
        &mut self,
        head: Head<'de>,
        start: usize,
        exact: bool,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match head {
            Head::None => visitor.visit_unit(),
            Head::Bool(b) => visitor.visit_bool(b),
            Head::Int(i) => visitor.visit_i64(i.into()),
            Head::Long(negative, digits) => self.visit_long(negative, digits, start, exact, visitor),
            Head::Float(f) => visitor.visit_f64(f),
            Head::Complex(re, im) => {
                let pair = SeqDeserializer::<_, Error>::new([re, im].into_iter());
                if exact { visitor.visit_enum(Exact::new(COMPLEX, pair)) } else { visitor.visit_seq(pair) }
            }
            Head::Bytes(b) => visitor.visit_borrowed_bytes(b),
            Head::Str(s) => visitor.visit_borrowed_str(s),
            Head::Latin1(bytes) => self.visit_latin1(bytes, start, visitor),
            Head::Surrogates => Err(Error::LoneSurrogate { offset: start }),
            Head::Tuple(n) if exact => self.visit_token(TUPLE, n, false, visitor),
            Head::Set(n) if exact => self.visit_token(SET, n, true, visitor),
            Head::FrozenSet(n) if exact => self.visit_token(FROZENSET, n, true, visitor),
            Head::Tuple(n) | Head::List(n) => self.visit_items(n, false, visitor),
            Head::Set(n) | Head::FrozenSet(n) => self.visit_items(n, true, visitor),
            Head::Dict => {
                let mut map = Dict { de: self, done: false };
                let value = visitor.visit_map(&mut map)?;
                if !map.done {
                    return Err(Error::UnconsumedItems { offset: self.pos });
                }
                self.depth -= 1;
                Ok(value)
            }
            Head::Ref(index) => {
                let (s, e) = self.resolve(index, start)?;
                self.replay(s, e, start, |de| {
                    de.exact = exact;
                    de.any(visitor)
                })
            }
        }
    }

    fn visit_items<V: Visitor<'de>>(&mut self, n: usize, key: bool, visitor: V) -> Result<V::Value, Error> {
        let mut items = Items { de: self, left: n, key };
        let value = visitor.visit_seq(&mut items)?;
        if items.left > 0 {
            return Err(Error::UnconsumedItems { offset: self.pos });
        }
        self.depth -= 1;
        Ok(value)
    }

    fn visit_token<V: Visitor<'de>>(
        &mut self,
        token: &'static str,
        n: usize,
        key: bool,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let mut read = false;
        let value = visitor.visit_enum(Exact::new(token, ItemsDe { de: &mut *self, left: n, key, read: &mut read }))?;
        if !read {
            return Err(Error::UnconsumedItems { offset: self.pos });
        }
        self.depth -= 1;
        Ok(value)
    }

    #[inline(never)]
    fn visit_long<V: Visitor<'de>>(
        &mut self,
        negative: bool,
        digits: &'de [u8],
        start: usize,
        exact: bool,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let msf = digits
            .chunks_exact(2)
            .rev()
            .map(|p| u16::from_le_bytes([p.first().copied().unwrap_or(0), p.get(1).copied().unwrap_or(0)]));
        if let Some(magnitude) = long::to_u128(msf) {
            if negative {
                return match u64::try_from(magnitude) {
                    Ok(m) if m <= i64::MIN.unsigned_abs() => visitor.visit_i64((m as i64).wrapping_neg()),
                    _ if magnitude <= i128::MIN.unsigned_abs() => {
                        visitor.visit_i128((magnitude as i128).wrapping_neg())
                    }
                    _ => self.visit_big(negative, digits, start, exact, visitor),
                };
            }
            return match u64::try_from(magnitude) {
                Ok(m) => match i64::try_from(m) {
                    Ok(i) => visitor.visit_i64(i),
                    Err(_) => visitor.visit_u64(m),
                },
                Err(_) => visitor.visit_u128(magnitude),
            };
        }
        self.visit_big(negative, digits, start, exact, visitor)
    }

    /// An integer beyond 128 bits: its decimal text.
    fn visit_big<V: Visitor<'de>>(
        &mut self,
        negative: bool,
        digits: &'de [u8],
        start: usize,
        exact: bool,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let count = digits.len() / 2;
        let too_large = Error::IntegerTooLarge { digits: count, max: long::MAX_LONG_DIGITS, offset: start };
        let d = Digits::from_wire(digits).ok_or(too_large.clone())?;
        let mut buf = [0u8; long::DECIMAL_BUF];
        let text = d.write_decimal(negative, &mut buf).ok_or(too_large)?;
        // Borrowed from the scratch buffer when there is room, else lent for the call.
        match self.scratch.take() {
            Some(scratch) if scratch.len() >= text.len() => {
                if let Some((dst, rest)) = scratch.split_at_mut_checked(text.len()) {
                    dst.copy_from_slice(text.as_bytes());
                    self.scratch = Some(rest);
                    let borrowed: &'de [u8] = dst;
                    let text = str::from_utf8(borrowed).map_err(|_| Error::InvalidUtf8 { offset: start })?;
                    return if exact {
                        visitor.visit_enum(Exact::new(BIGINT, BorrowedStrDeserializer::new(text)))
                    } else {
                        visitor.visit_borrowed_str(text)
                    };
                }
            }
            other => self.scratch = other,
        }
        if exact { visitor.visit_enum(Exact::new(BIGINT, StrDeserializer::new(text))) } else { visitor.visit_str(text) }
    }

    #[inline(never)]
    fn visit_latin1<V: Visitor<'de>>(&mut self, bytes: &'de [u8], start: usize, visitor: V) -> Result<V::Value, Error> {
        let needed = bytes.iter().map(|&b| if b < 0x80 { 1usize } else { 2 }).sum::<usize>();
        match self.scratch.take() {
            Some(scratch) if scratch.len() >= needed => {
                let Some((dst, rest)) = scratch.split_at_mut_checked(needed) else {
                    return Err(Error::NeedScratch { needed, capacity: 0, offset: start });
                };
                let mut chars = dst.iter_mut();
                let mut buf = [0u8; 2];
                for &b in bytes {
                    for &u in char::from(b).encode_utf8(&mut buf).as_bytes() {
                        if let Some(slot) = chars.next() {
                            *slot = u;
                        }
                    }
                }
                self.scratch = Some(rest);
                let borrowed: &'de [u8] = dst;
                let text = str::from_utf8(borrowed).map_err(|_| Error::InvalidUtf8 { offset: start })?;
                return visitor.visit_borrowed_str(text);
            }
            Some(scratch) => {
                let capacity = scratch.len();
                self.scratch = Some(scratch);
                return Err(Error::NeedScratch { needed, capacity, offset: start });
            }
            None => {}
        }
        #[cfg(feature = "alloc")]
        {
            let text: alloc::string::String = bytes.iter().map(|&b| char::from(b)).collect();
            visitor.visit_string(text)
        }
        #[cfg(not(feature = "alloc"))]
        {
            let _ = visitor;
            Err(Error::NeedScratch { needed, capacity: 0, offset: start })
        }
    }

    /// The next value's type code (after any seek), without reading it.
    fn peek_code(&mut self) -> Result<u8, Error> {
        if let Some(offset) = self.seek_to.take() {
            self.seek(offset)?;
        }
        Ok(self.peek()? & !FLAG_REF)
    }
}

impl Refs {
    fn new() -> Self {
        Self {
            count: 0,
            slots: heapless::Vec::new(),
            #[cfg(feature = "alloc")]
            more: alloc::vec::Vec::new(),
        }
    }

    fn len(&self) -> usize {
        #[cfg(feature = "alloc")]
        return self.slots.len() + self.more.len();
        #[cfg(not(feature = "alloc"))]
        return self.slots.len();
    }

    /// Remember the slot of reference `index` if all earlier ones are remembered.
    fn push(&mut self, slot: Slot, index: usize) {
        if self.len() != index {
            return;
        }
        if let Err(slot) = self.slots.push(slot) {
            #[cfg(feature = "alloc")]
            self.more.push(slot);
            #[cfg(not(feature = "alloc"))]
            let _ = slot;
        }
    }

    fn get(&self, index: usize) -> Option<&Slot> {
        match index.checked_sub(REF_SLOTS) {
            None => self.slots.get(index),
            #[cfg(feature = "alloc")]
            Some(i) => self.more.get(i),
            #[cfg(not(feature = "alloc"))]
            Some(_) => None,
        }
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut Slot> {
        match index.checked_sub(REF_SLOTS) {
            None => self.slots.get_mut(index),
            #[cfg(feature = "alloc")]
            Some(i) => self.more.get_mut(i),
            #[cfg(not(feature = "alloc"))]
            Some(_) => None,
        }
    }
}

/// `a`/`z` text: ASCII borrows as it is; other bytes are Latin-1 (as CPython reads them).
fn latin1(bytes: &[u8]) -> Head<'_> {
    match bytes.is_ascii().then(|| str::from_utf8(bytes)) {
        Some(Ok(s)) => Head::Str(s),
        _ => Head::Latin1(bytes),
    }
}

/// Whether `bytes` is UTF-8 once encoded surrogates (`ED A0..BF xx`, Python's
/// `surrogatepass`) are allowed.
fn surrogatepass(mut bytes: &[u8]) -> bool {
    loop {
        match str::from_utf8(bytes) {
            Ok(_) => return true,
            Err(e) => {
                let Some(rest) = bytes.get(e.valid_up_to()..) else { return false };
                match rest {
                    [0xed, 0xa0..=0xbf, 0x80..=0xbf, tail @ ..] => bytes = tail,
                    _ => return false,
                }
            }
        }
    }
}

/// Reads one value from `input`, which must hold nothing else.
///
/// # Errors
/// [`Error`] with the offset where the input is malformed, holds more than one value, or
/// does not fit `T`.
pub fn from_slice<'de, T: de::Deserialize<'de>>(input: &'de [u8]) -> Result<T, Error> {
    let mut de = Deserializer::new(input);
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// [`from_slice`] with a scratch buffer for text that must be converted (see
/// [`Deserializer`]); what it borrows from `scratch` lives as long as the value.
///
/// # Errors
/// As [`from_slice`].
pub fn from_slice_with_scratch<'de, T: de::Deserialize<'de>>(
    input: &'de [u8],
    scratch: &'de mut [u8],
) -> Result<T, Error> {
    let mut de = Deserializer::new(input).with_scratch(scratch);
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Reads the value `span` of `payload`, where `span` is a sub-slice of `payload` holding one
/// value (as [`skip_value`] returns them, e.g. one argument of a call), resolving
/// back-references against the objects `payload` flagged before it.
///
/// A span that holds back-references must be read this way: [`from_slice`] on the span
/// alone would number the flagged objects from the span's start.
///
/// # Errors
/// [`Error::NotAValue`] when `span` is not inside `payload` at a value boundary, or holds
/// more or less than one value; otherwise as [`from_slice`].
pub fn from_span<'de, T: de::Deserialize<'de>>(payload: &'de [u8], span: &'de [u8]) -> Result<T, Error> {
    from_span_within(payload, span, DEFAULT_MAX_DEPTH)
}

/// As [`from_span`], with containers nested at most `max_depth` levels.
pub(crate) fn from_span_within<'de, T: de::Deserialize<'de>>(
    payload: &'de [u8],
    span: &'de [u8],
    max_depth: usize,
) -> Result<T, Error> {
    let range = payload.as_ptr_range();
    let inner = span.as_ptr_range();
    let offset = (inner.start as usize).wrapping_sub(range.start as usize);
    if inner.start < range.start || inner.end > range.end {
        return Err(Error::NotAValue { offset: 0 });
    }
    let mut de = Deserializer::new_at(payload, offset).with_max_depth(max_depth);
    let value = T::deserialize(&mut de)?;
    if de.pos != offset.saturating_add(span.len()) {
        return Err(Error::NotAValue { offset });
    }
    Ok(value)
}

/// Splits `input` into its first value and the rest, checking the value (type codes,
/// sizes, digits, UTF-8, hashability, nesting up to
/// [`DEFAULT_MAX_DEPTH`](crate::ser::DEFAULT_MAX_DEPTH)) without allocating.
///
/// Back-references are not followed: their targets may lie before `input`. Read a span that
/// may hold them with [`from_span`].
///
/// # Errors
/// [`Error`] with the offset where the value is malformed.
pub fn skip_value(input: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    skip_value_within(input, DEFAULT_MAX_DEPTH)
}

/// As [`skip_value`], with containers nested at most `max_depth` levels.
pub(crate) fn skip_value_within(input: &[u8], max_depth: usize) -> Result<(&[u8], &[u8]), Error> {
    let mut de = Deserializer::new(input).with_max_depth(max_depth);
    de.resolve_refs = false;
    de.skip()?;
    input.split_at_checked(de.pos).ok_or(Error::Eof { offset: input.len() })
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.peek_code()? == b'N' {
            self.pos += 1;
            self.exact = false;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Error> {
        match name {
            // Exact mode: the value itself is reported, Python types as token maps.
            VALUE => {
                self.exact = true;
                self.any(visitor)
            }
            // `COMPLEX` reads a `y` as a pair, `BIGINT` an integer as its decimal text.
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.exact = false;
        match self.peek_code()? {
            b'r' => {
                let (head, _, start) = self.head()?;
                let Head::Ref(index) = head else { return Err(Error::InvalidReference { index: 0, offset: start }) };
                let (s, e) = self.resolve(index, start)?;
                self.replay(s, e, start, |de| de::Deserializer::deserialize_enum(de, name, variants, visitor))
            }
            b'{' => {
                let (_, slot, start) = self.head()?;
                if self.dict_end()? {
                    return Err(<Error as de::Error>::invalid_length(0, &"a dict with one entry").at(start));
                }
                let value = visitor.visit_enum(VariantDict { de: &mut *self }).map_err(|e| e.at(start))?;
                if !self.dict_end()? {
                    return Err(Error::UnconsumedItems { offset: self.pos });
                }
                self.depth -= 1;
                self.finish(slot);
                Ok(value)
            }
            _ => {
                let start = self.pos;
                visitor.visit_enum(UnitVariant { de: self }).map_err(|e| e.at(start))
            }
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.exact = false;
        self.skip()?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// The items of a tuple, list, set or frozenset.
struct Items<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    left: usize,
    /// Items must be hashable (set elements).
    key: bool,
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let saved = self.de.key;
        self.de.key = saved || self.key;
        let r = seed.deserialize(&mut *self.de);
        self.de.key = saved;
        r.map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The items of a tuple or set as the content of an exact-mode report.
struct ItemsDe<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    left: usize,
    key: bool,
    /// Set once every item was read.
    read: &'a mut bool,
}

impl<'de> de::Deserializer<'de> for ItemsDe<'_, 'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let mut items = Items { de: self.de, left: self.left, key: self.key };
        let value = visitor.visit_seq(&mut items)?;
        if items.left > 0 {
            return Err(Error::UnconsumedItems { offset: items.de.pos });
        }
        *self.read = true;
        Ok(value)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// The entries of a dict.
struct Dict<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    /// The terminating `0` was read.
    done: bool,
}

impl<'de> de::MapAccess<'de> for Dict<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        if self.done || self.de.dict_end()? {
            self.done = true;
            return Ok(None);
        }
        let saved = self.de.key;
        self.de.key = true;
        let r = seed.deserialize(&mut *self.de);
        self.de.key = saved;
        r.map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(&mut *self.de)
    }
}

/// An enum given as its variant name (a unit variant).
struct UnitVariant<'a, 'de> {
    de: &'a mut Deserializer<'de>,
}

impl<'de> de::EnumAccess<'de> for UnitVariant<'_, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let v = seed.deserialize(&mut *self.de)?;
        Ok((v, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariant<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, _seed: S) -> Result<S::Value, Error> {
        Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"a dict {variant: value}"))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"a dict {variant: tuple}"))
    }

    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"a dict {variant: dict}"))
    }
}

/// An enum given as a dict with one entry `{variant: value}`.
struct VariantDict<'a, 'de> {
    de: &'a mut Deserializer<'de>,
}

impl<'de> de::EnumAccess<'de> for VariantDict<'_, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let saved = self.de.key;
        self.de.key = true;
        let v = seed.deserialize(&mut *self.de);
        self.de.key = saved;
        Ok((v?, self))
    }
}

impl<'de> de::VariantAccess<'de> for VariantDict<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(&mut *self.de)
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
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
    extern crate std;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    use super::*;

    #[test]
    fn flagged_objects_are_numbered_in_the_order_they_start() {
        // (1, r1): index 0 is the tuple, index 1 the int.
        let v: (i32, i32) = from_slice(b"\xa9\x02\xe9\x01\x00\x00\x00r\x01\x00\x00\x00").unwrap();
        assert_eq!(v, (1, 1));
        // A flagged None registers nothing: r0 is the enclosing tuple, a cycle.
        let e = from_slice::<(Option<u8>, Option<u8>)>(b"\xa9\x02\xcer\x00\x00\x00\x00").unwrap_err();
        assert_eq!(e, Error::RecursiveReference { index: 0, offset: 3 });
        let e = from_slice::<(u8, u8)>(b"\xa9\x02\xe9\x01\x00\x00\x00r\x05\x00\x00\x00").unwrap_err();
        assert_eq!(e, Error::InvalidReference { index: 5, offset: 7 });
    }

    #[test]
    fn references_beyond_the_slot_table_still_resolve() {
        // A list of REF_SLOTS + 10 flagged distinct ints, then a reference to the last one.
        let n = REF_SLOTS + 10;
        let mut bytes = Vec::from(*b"[");
        bytes.extend_from_slice(&((n + 1) as u32).to_le_bytes());
        for i in 0..n {
            bytes.push(0xe9);
            bytes.extend_from_slice(&(i as i32).to_le_bytes());
        }
        bytes.push(b'r');
        bytes.extend_from_slice(&((n - 1) as u32).to_le_bytes());
        let v: Vec<i32> = from_slice(&bytes).unwrap();
        assert_eq!(v.len(), n + 1);
        assert_eq!(v[n], (n - 1) as i32);
    }

    #[test]
    fn walking_locates_a_flagged_object_and_refuses_enclosing_ones() {
        // [a, (b, c)] with everything flagged: 0 list, 1 'a', 2 tuple, 3 'b', 4 'c'.
        let input = b"\xdb\x02\x00\x00\x00\xfa\x01a\xa9\x02\xfa\x01b\xfa\x01cN";
        let mut de = Deserializer::new(input);
        assert_eq!(de.locate(3, 3, 16).unwrap(), (10, 13));
        assert_eq!(de.locate(2, 2, 16).unwrap(), (8, 16));
        assert_eq!(de.locate(0, 0, 15), Err(Error::RecursiveReference { index: 0, offset: 15 }));
        assert_eq!(de.locate(2, 2, 13), Err(Error::RecursiveReference { index: 2, offset: 13 }));
        assert_eq!(de.locate(0, 0, 16).unwrap(), (0, 16));
        assert_eq!(de.locate(9, 9, 15), Err(Error::InvalidReference { index: 9, offset: 15 }));
    }

    #[test]
    fn exponential_references_hit_the_expansion_budget() {
        // t0 = (1,), t_{k+1} = (t_k, r(t_k)): each level doubles the values read.
        let mut bytes = Vec::new();
        let levels = 40u32;
        for _ in 0..levels {
            bytes.extend_from_slice(b"\xa9\x02");
        }
        bytes.extend_from_slice(b"\xa9\x01i\x01\x00\x00\x00");
        for k in (0..levels).rev() {
            bytes.push(b'r');
            bytes.extend_from_slice(&(k + 1).to_le_bytes());
        }
        let mut de = Deserializer::new(&bytes).with_max_ref_expansion(1 << 16);
        let e = <de::IgnoredAny as de::Deserialize>::deserialize(&mut de);
        // Skipping follows no references outside keys; reading them does.
        assert!(e.is_ok());
        struct Count;
        impl<'de> de::Deserialize<'de> for Count {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Count;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        f.write_str("anything")
                    }
                    fn visit_i64<E>(self, _: i64) -> Result<Count, E> {
                        Ok(Count)
                    }
                    fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<Count, A::Error> {
                        while s.next_element::<Count>()?.is_some() {}
                        Ok(Count)
                    }
                }
                d.deserialize_any(V)
            }
        }
        let e = from_slice::<Count>(&bytes).err().unwrap();
        assert!(matches!(e, Error::RefExpansionLimit { .. }), "{e:?}");
    }

    #[test]
    fn latin1_ascii_strings_need_scratch_without_alloc() {
        let input = b"z\x02\xe9a";
        let mut scratch = [0u8; 8];
        let s: &str = from_slice_with_scratch(input, &mut scratch).unwrap();
        assert_eq!(s, "\u{e9}a");
        let mut small = [0u8; 2];
        let e = from_slice_with_scratch::<&str>(input, &mut small).unwrap_err();
        assert_eq!(e, Error::NeedScratch { needed: 3, capacity: 2, offset: 0 });
        #[cfg(not(feature = "alloc"))]
        assert!(matches!(from_slice::<&str>(input), Err(Error::NeedScratch { .. })));
    }

    #[test]
    fn unhashable_dict_keys_are_refused_like_python() {
        let e = from_slice::<BTreeMap<Vec<u8>, ()>>(b"{[\x00\x00\x00\x00N0").unwrap_err();
        assert_eq!(e, Error::Unhashable { type_name: "list", offset: 1 });
        assert_eq!(
            skip_value(b"<\x01\x00\x00\x00)\x01[\x00\x00\x00\x00").unwrap_err().pyro_class(),
            "builtins.TypeError"
        );
    }

    #[test]
    fn lone_surrogates_are_named() {
        assert_eq!(from_slice::<&str>(b"u\x03\x00\x00\x00\xed\xa0\x80"), Err(Error::LoneSurrogate { offset: 0 }));
        assert_eq!(from_slice::<&str>(b"u\x01\x00\x00\x00\xff"), Err(Error::InvalidUtf8 { offset: 0 }));
        assert!(skip_value(b"u\x03\x00\x00\x00\xed\xa0\x80").is_ok());
    }

    #[test]
    fn spans_resolve_references_against_the_whole_payload() {
        // ('b' flagged, ['c' flagged, r0]): the list alone would resolve r0 to 'c'.
        let payload = b")\x02\xfa\x01b[\x02\x00\x00\x00\xfa\x01cr\x00\x00\x00\x00";
        let (_, rest) = payload.split_at(2);
        let (_, rest) = skip_value(rest).unwrap();
        let (list, _) = skip_value(rest).unwrap();
        let v: Vec<&str> = from_span(payload, list).unwrap();
        assert_eq!(v, ["c", "b"]);
        assert!(matches!(from_span::<Vec<&str>>(payload, &payload[3..]), Err(Error::NotAValue { .. })));
    }

    /// Skipping one value the plain recursive way: the reference `skip` is tested against.
    fn skip_recursively(de: &mut Deserializer<'_>) -> Result<(), Error> {
        match de.walk {
            Walk::Seek { offset } if de.pos == offset => {
                de.stop = true;
                return Ok(());
            }
            Walk::Locate { limit, .. } if de.pos >= limit => {
                de.stop = true;
                return Ok(());
            }
            _ => {}
        }
        let (head, slot, start) = de.head()?;
        match head {
            Head::Tuple(n) | Head::List(n) | Head::Set(n) | Head::FrozenSet(n) => {
                let set = matches!(head, Head::Set(_) | Head::FrozenSet(_));
                let saved = de.key;
                for _ in 0..n {
                    de.key = saved || set;
                    let r = skip_recursively(de);
                    de.key = saved;
                    r?;
                    if de.stop {
                        return Ok(());
                    }
                }
                de.depth -= 1;
            }
            Head::Dict => loop {
                if de.dict_end()? {
                    de.depth -= 1;
                    break;
                }
                let saved = de.key;
                de.key = true;
                let r = skip_recursively(de);
                de.key = saved;
                r?;
                if de.stop {
                    return Ok(());
                }
                skip_recursively(de)?;
                if de.stop {
                    return Ok(());
                }
            },
            Head::Ref(index) if de.resolve_refs && !matches!(de.walk, Walk::Locate { .. }) => {
                let (s, e) = de.resolve(index, start)?;
                if de.key {
                    de.replay(s, e, start, skip_recursively)?;
                }
            }
            _ => {}
        }
        if de.stop {
            return Ok(());
        }
        de.finish(slot);
        Ok(())
    }

    /// What a skip leaves behind, to compare.
    fn state(de: &Deserializer<'_>, result: Result<(), Error>) -> std::string::String {
        let refs: Vec<_> = (0..de.refs.count).map(|i| de.refs.get(i).map(|s| (s.start, s.end))).collect();
        std::format!(
            "{result:?} pos {} depth {} key {} stop {} walk {:?} expansion {} refs {refs:?}",
            de.pos,
            de.depth,
            de.key,
            de.stop,
            de.walk,
            de.expansion_left
        )
    }

    /// The same outcome as the recursive way (error, position, references registered,
    /// where a walk stops), for marshal values with a few bytes replaced or added, nested
    /// across the levels one call of `skip` keeps, with and without following references,
    /// and walking to an offset or locating a reference.
    #[test]
    fn skipping_agrees_with_the_recursive_way() {
        use proptest::prelude::*;
        const LEAVES: &[&[u8]] = &[
            b"N",
            b"T",
            b"i\x01\x00\x00\x00",
            b"\xe9\x02\x00\x00\x00",
            b"z\x01a",
            b"\xfa\x01b",
            b"r\x00\x00\x00\x00",
            b"r\x01\x00\x00\x00",
            b"r\x03\x00\x00\x00",
            b"r\x41\x00\x00\x00",
            b"0",
            b"[\x00\x00\x00\x00",
        ];
        let leaf = proptest::sample::select(LEAVES).prop_map(<[u8]>::to_vec);
        let value = leaf.prop_recursive(24, 96, 3, |inner| {
            (proptest::collection::vec(inner, 0..3), 0u8..6, any::<bool>()).prop_map(|(items, kind, flag)| {
                let n = items.len() as u8;
                let flag = if flag { 0x80 } else { 0 };
                let mut out = match kind {
                    0 => std::vec![b')' | flag, n],
                    1 => std::vec![b'(' | flag, n, 0, 0, 0],
                    2 => std::vec![b'[' | flag, n, 0, 0, 0],
                    3 => std::vec![b'<' | flag, n, 0, 0, 0],
                    4 => std::vec![b'>' | flag, n, 0, 0, 0],
                    _ => std::vec![b'{' | flag],
                };
                for item in &items {
                    if kind == 5 {
                        out.extend(b"z\x01k");
                    }
                    out.extend(item);
                }
                if kind == 5 {
                    out.push(b'0');
                }
                out
            })
        });
        let deep = (14usize..40, value.clone()).prop_map(|(n, inner)| {
            let mut out = b"[\x02\x00\x00\x00".repeat(n);
            out.extend(&inner);
            for _ in 0..n {
                out.extend(&inner);
            }
            out
        });
        // 66 flagged ints first: references past the 64 slots are located by walking.
        let prefix = any::<bool>().prop_map(|many| {
            if many {
                let mut out = std::vec![b'(', 67, 0, 0, 0];
                out.extend(b"\xe9\x05\x00\x00\x00".repeat(66));
                out
            } else {
                std::vec![b')', 1]
            }
        });
        let edits = proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>(), any::<u8>()), 0..3);
        let input = (prefix, prop_oneof![value, deep], edits).prop_map(|(mut bytes, value, edits)| {
            bytes.extend(value);
            for (at, insert, byte) in edits {
                let i = at.index(bytes.len() + 1);
                match bytes.get_mut(i) {
                    Some(b) if !insert => *b = byte,
                    _ => bytes.insert(i, byte),
                }
            }
            bytes
        });
        let config = ProptestConfig { cases: 3000, ..ProptestConfig::default() };
        proptest!(config, |(bytes in input, max_depth in 14usize..40, mode in 0u8..4, at in any::<prop::sample::Index>(), target in 0usize..70)| {
            let make = || {
                let mut de = Deserializer::new(&bytes).with_max_depth(max_depth).with_max_ref_expansion(64);
                match mode {
                    1 => de.resolve_refs = false,
                    2 => de.walk = Walk::Seek { offset: at.index(bytes.len() + 1) },
                    3 => {
                        de.resolve_refs = false;
                        de.walk = Walk::Locate { target, limit: at.index(bytes.len() + 1), start: None, end: None };
                    }
                    _ => {}
                }
                de
            };
            let (mut ours, mut reference) = (make(), make());
            let got = ours.skip();
            let expected = skip_recursively(&mut reference);
            prop_assert_eq!(state(&ours, got), state(&reference, expected), "{:02x?}", bytes);
        });
    }
}
