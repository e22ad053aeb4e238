//! The serpent deserializer: Python literal text (what `ast.literal_eval` accepts) read into
//! serde's data model, borrowing from the payload.

#[cfg(feature = "alloc")]
use alloc::{string::String, vec::Vec};
use core::cell::Cell;
use core::fmt::Write as _;

use serde::de::value::SeqDeserializer;
use serde::de::{self, DeserializeSeed, Visitor};

use super::error::Error;
use super::lex::Tok;
use super::parse::{Digits, Int, Lexed, Node, Num, Parser, StrGroup, malformed, syntax};
use crate::ser::DEFAULT_MAX_DEPTH;
use crate::ser::python::{BIGINT, COMPLEX, Exact, SET, TUPLE, VALUE};

/// Reads one serpent value from a payload.
///
/// `&mut Deserializer` implements [`serde::Deserializer`]. Strings and bytes without escapes
/// are borrowed from the payload; others are unescaped into the scratch buffer given with
/// [`with_scratch`](Self::with_scratch) (and handed to the visitor as a transient `&str`), or,
/// with the `alloc` feature and no scratch buffer (or one too small), into a `String`.
///
/// The first read checks the whole payload (UTF-8, no NUL, Python syntax, nesting depth), as
/// Python parses all of it before evaluating anything.
#[derive(Debug)]
pub struct Deserializer<'de, S = [u8; 0]> {
    parser: Parser<'de>,
    /// Why the payload cannot be read at all (not UTF-8, a NUL).
    bad: Option<Error>,
    /// Where the next token is looked for.
    pos: usize,
    /// Containers entered: `0 <= depth <= max_depth`.
    depth: usize,
    /// Brackets open: newlines are whitespace when `parens > 0`.
    parens: usize,
    scratch: S,
    /// The next `deserialize_any` reports Python types exactly (contract of `python::VALUE`).
    exact: bool,
    /// The next `deserialize_str` reads an int as its decimal text (`python::BIGINT`).
    bigint: bool,
    /// Whether the payload was checked and its leading comments skipped.
    started: bool,
    /// The top-level value is a tuple without parentheses (`1, 2`).
    bare: bool,
    /// The last token lexed by [`tok`](Self::tok): its position, `nl_ok` and the token.
    peek: Cell<Option<(usize, bool, Lexed<'de>)>>,
}

impl<'de> Deserializer<'de> {
    /// A deserializer over a whole payload (the header line is optional: it is a comment).
    pub fn new(input: &'de [u8]) -> Self {
        let (text, bad) = match core::str::from_utf8(input) {
            Ok(text) => (text, text.bytes().position(|b| b == 0).map(|offset| Error::NulByte { offset })),
            Err(e) => ("", Some(Error::InvalidUtf8 { offset: e.valid_up_to() })),
        };
        Self {
            parser: Parser::new(text, DEFAULT_MAX_DEPTH),
            bad,
            pos: 0,
            depth: 0,
            parens: 0,
            scratch: [],
            exact: false,
            bigint: false,
            started: false,
            bare: false,
            peek: Cell::new(None),
        }
    }
}

impl<'de, S: AsMut<[u8]>> Deserializer<'de, S> {
    /// Allow `max` levels of nesting instead of [`DEFAULT_MAX_DEPTH`].
    #[must_use]
    pub fn with_max_depth(mut self, max: usize) -> Self {
        self.parser.max_depth = max;
        self
    }

    /// Unescape strings and decode bytes into `scratch` (no allocation).
    pub fn with_scratch<'s>(self, scratch: &'s mut [u8]) -> Deserializer<'de, &'s mut [u8]> {
        Deserializer {
            parser: self.parser,
            bad: self.bad,
            pos: self.pos,
            depth: self.depth,
            parens: self.parens,
            scratch,
            exact: self.exact,
            bigint: self.bigint,
            started: self.started,
            bare: self.bare,
            peek: self.peek,
        }
    }

    /// Checks that nothing but whitespace, newlines and comments follows the value.
    ///
    /// # Errors
    /// [`Error::TrailingCharacters`] otherwise.
    pub fn end(&mut self) -> Result<(), Error> {
        self.start()?;
        let at = self.parser.lx.skip_trivia(self.pos, true)?;
        if at < self.parser.lx.text.len() {
            return Err(Error::TrailingCharacters { offset: at });
        }
        Ok(())
    }

    fn nl_ok(&self) -> bool {
        self.parens > 0
    }

    /// The token at `pos` (remembering the last one: the same token is often looked at
    /// several times in a row).
    fn tok(&self, pos: usize, nl_ok: bool) -> Result<Lexed<'de>, Error> {
        if let Some((at, nl, t)) = self.peek.get() {
            if at == pos && nl == nl_ok {
                return Ok(t);
            }
        }
        let t = self.parser.token(pos, nl_ok)?;
        self.peek.set(Some((pos, nl_ok, t)));
        Ok(t)
    }

    /// Checks the whole payload once, before the first value is read.
    #[inline(never)]
    fn start(&mut self) -> Result<(), Error> {
        if let Some(e) = &self.bad {
            return Err(e.clone());
        }
        if self.started {
            return Ok(());
        }
        self.started = true;
        let p = self.parser;
        let pos = p.lx.skip_leading(0)?;
        self.pos = pos;
        let first = p.expr(pos, false, self.depth)?;
        let mut deferred = first.deferred;
        let (at, t, after) = p.after(&first, false)?;
        let end = match t {
            Tok::Comma => {
                self.bare = true;
                let depth = p.enter(self.depth, pos)?;
                let mut next = after;
                loop {
                    let tk = p.token(next, false)?;
                    let (at, t, _) = tk;
                    if matches!(t, Tok::Newline | Tok::Eof) {
                        break at;
                    }
                    let e = p.expr_at(tk, false, depth)?;
                    deferred = deferred.or(e.deferred);
                    let (at, t, after) = p.after(&e, false)?;
                    match t {
                        Tok::Comma => next = after,
                        Tok::Newline | Tok::Eof => break at,
                        _ => return Err(syntax(at, "invalid syntax")),
                    }
                }
            }
            Tok::Newline | Tok::Eof => at,
            _ => return Err(syntax(at, "invalid syntax")),
        };
        let rest = p.lx.skip_trivia(end, true)?;
        if rest < p.lx.text.len() {
            return Err(Error::TrailingCharacters { offset: rest });
        }
        match deferred {
            Some(d) => Err(d.error()),
            None => Ok(()),
        }
    }

    /// What the value at the current position is, without consuming it.
    #[inline(never)]
    fn head(&mut self) -> Result<Head<'de>, Error> {
        self.start()?;
        if self.bare {
            return Ok(Head::Bare(self.pos));
        }
        let p = self.parser;
        let nl = self.nl_ok();
        let (start, t, end) = self.tok(self.pos, nl)?;
        Ok(match t {
            Tok::Number(_) | Tok::Plus | Tok::Minus => {
                let e = p.expr_at((start, t, end), nl, self.depth)?;
                match e.node {
                    Node::Num(n) => Head::Num(n, start, e.end),
                    _ => return Err(malformed(start, "a sign applies to a number literal only")),
                }
            }
            Tok::Str(first) => Head::Str(p.str_group_from(start, first, end, nl)?),
            Tok::Name("None") => Head::None(start, end),
            Tok::Name("True") => Head::Bool(true, start, end),
            Tok::Name("False") => Head::Bool(false, start, end),
            Tok::Name("set") => Head::EmptySet(start, p.empty_call(end, nl, start)?),
            Tok::Name(_) => return Err(malformed(start, "a name is not a literal")),
            Tok::Ellipsis => Head::Ellipsis(start),
            Tok::Open(b'[') => Head::Open(Container::List, start, end),
            Tok::Open(b'{') => {
                let inner = p.token(end, true)?;
                if inner.1 == Tok::Close(b'}') {
                    Head::Open(Container::Dict, start, end)
                } else {
                    let depth = p.enter(self.depth, start)?;
                    let first = p.expr_at(inner, true, depth)?;
                    let (_, t, _) = p.after(&first, true)?;
                    let kind = if t == Tok::Colon { Container::Dict } else { Container::Set };
                    Head::Open(kind, start, end)
                }
            }
            Tok::Open(_) => {
                let inner = p.token(end, true)?;
                if inner.1 == Tok::Close(b')') {
                    return Ok(Head::Open(Container::Tuple, start, end));
                }
                let depth = p.enter(self.depth, start)?;
                let first = p.expr_at(inner, true, depth)?;
                let (_, t, close_end) = p.after(&first, true)?;
                match t {
                    Tok::Comma => Head::Open(Container::Tuple, start, end),
                    Tok::Close(b')') => {
                        let (_, t, _) = p.token(close_end, nl)?;
                        if matches!(t, Tok::Plus | Tok::Minus) {
                            let e = p.expr(self.pos, nl, self.depth)?;
                            match e.node {
                                Node::Num(n) => Head::Num(n, start, e.end),
                                _ => return Err(malformed(start, "only 'number + imaginary number' is a literal")),
                            }
                        } else if let Node::Num(n) = first.node {
                            Head::Num(n, start, close_end)
                        } else {
                            Head::Group(start, end)
                        }
                    }
                    _ => return Err(syntax(first.end, "expected ',' or ')'")),
                }
            }
            Tok::Eof => return Err(syntax(start, "unexpected end of input, expected a value")),
            _ => return Err(syntax(start, "expected a value")),
        })
    }

    /// Enters the container whose opening bracket is at `start`.
    fn open(&mut self, start: usize, after: usize) -> Result<(), Error> {
        self.depth = self.parser.enter(self.depth, start)?;
        self.parens += 1;
        self.pos = after;
        Ok(())
    }

    /// Leaves a container at its closing bracket `close`, after an optional trailing comma;
    /// anything else left means the target took fewer elements than the payload holds.
    #[inline(never)]
    fn close(&mut self, close: u8) -> Result<(), Error> {
        let (at, t, after) = self.tok(self.pos, true)?;
        let after = match t {
            Tok::Close(c) if c == close => after,
            Tok::Comma => match self.tok(after, true)? {
                (_, Tok::Close(c), after) if c == close => after,
                (at, ..) => return Err(too_many(at)),
            },
            _ => return Err(too_many(at)),
        };
        self.pos = after;
        self.parens = self.parens.saturating_sub(1);
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }

    /// The end of a bare top-level tuple.
    #[inline(never)]
    fn close_bare(&mut self) -> Result<(), Error> {
        let (at, t, after) = self.tok(self.pos, false)?;
        match t {
            Tok::Newline | Tok::Eof => Ok(()),
            Tok::Comma => match self.tok(after, false)? {
                (_, Tok::Newline | Tok::Eof, _) => {
                    self.pos = after;
                    Ok(())
                }
                (at, ..) => Err(too_many(at)),
            },
            _ => Err(too_many(at)),
        }
    }

    /// Deserializes the value at the current position as `want` asks.
    ///
    /// This is the recursive path (a container's elements are read from inside the
    /// visitor's `visit_seq`/`visit_map`), so its frame is kept small: it classifies the
    /// value and hands it on, every visit in a function of its own (`#[inline(never)]`,
    /// called last, so it returns straight into this function's caller). A visitor's error
    /// without an offset gets the value's.
    fn value<V: Visitor<'de>>(&mut self, want: Want, visitor: V) -> Result<V::Value, Error> {
        let exact = core::mem::take(&mut self.exact);
        let bigint = core::mem::take(&mut self.bigint);
        let head = self.head()?;
        match (head, want) {
            (Head::Group(start, after), _) => self.group(start, after, want, exact, bigint, visitor),
            (_, Want::Option) => self.option(head, visitor),
            (Head::Bare(at), _) => {
                self.bare = false;
                self.seq(at, None, false, exact && want == Want::Any, visitor)
            }
            (Head::Open(Container::Dict, start, after), want) => self.dict(start, after, want, visitor),
            (Head::Open(kind, start, after), want) => {
                self.open(start, after)?;
                let (close, set) = match kind {
                    Container::Tuple => (b')', false),
                    Container::Set => (b'}', true),
                    _ => (b']', false),
                };
                let exact = exact && want == Want::Any && kind != Container::List;
                self.seq(start, Some(close), set, exact, visitor)
            }
            (head, want) => self.scalar(head, want, exact, bigint, visitor),
        }
    }

    /// An expression in parentheses at `start` (its content from `after`).
    #[inline(never)]
    fn group<V: Visitor<'de>>(
        &mut self,
        start: usize,
        after: usize,
        want: Want,
        exact: bool,
        bigint: bool,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.open(start, after)?;
        self.exact = exact;
        self.bigint = bigint;
        let v = self.value(want, visitor)?;
        self.close(b')')?;
        Ok(v)
    }

    /// An option: `None`, or some value.
    #[inline(never)]
    fn option<V: Visitor<'de>>(&mut self, head: Head<'de>, visitor: V) -> Result<V::Value, Error> {
        let at = head.start();
        match head {
            Head::None(_, end) => {
                self.pos = end;
                visitor.visit_none()
            }
            _ => visitor.visit_some(&mut *self),
        }
        .map_err(|e| e.at(at))
    }

    /// The elements of a tuple, list or set at `at` (entered), up to `close` (a bare tuple
    /// when `None`), hashable ones only when `set`; in exact mode a tuple or set is reported
    /// by its token.
    #[inline(never)]
    fn seq<V: Visitor<'de>>(
        &mut self,
        at: usize,
        close: Option<u8>,
        set: bool,
        exact: bool,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if exact {
            return self.token_seq(at, close, set, visitor);
        }
        let mut v = visitor.visit_seq(Seq { de: &mut *self, close, set, first: true });
        self.finish(at, close, &mut v);
        v
    }

    /// After a visitor read the container at `at`: its closing bracket `close` (the end of
    /// a bare tuple when `None`) must come next; an error from the visitor gets the
    /// container's offset. Not inlined, and writing into `result`, so that no error is
    /// kept in the recursive frames.
    #[inline(never)]
    fn finish<T>(&mut self, at: usize, close: Option<u8>, result: &mut Result<T, Error>) {
        let closed = match result {
            Err(e) => {
                if let Error::Custom { offset: offset @ None, .. } = e {
                    *offset = Some(at);
                }
                return;
            }
            Ok(_) => match close {
                Some(close) => self.close(close),
                None => self.close_bare(),
            },
        };
        if let Err(e) = closed {
            *result = Err(e);
        }
    }

    /// As [`seq`](Self::seq), in exact mode: a tuple or set reported by its token.
    #[inline(never)]
    fn token_seq<V: Visitor<'de>>(
        &mut self,
        at: usize,
        close: Option<u8>,
        set: bool,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let token = if set { SET } else { TUPLE };
        let value = TokenValue::Seq(SeqDe { de: &mut *self, close, set });
        visitor.visit_enum(Exact::new(token, value)).map_err(|e| e.at(at))
    }

    /// A dict at `start` (its content from `after`): a map, an enum variant, or for a float
    /// or bytes target Pyro's NaN dict or serpent's bytes dict.
    #[inline(never)]
    fn dict<V: Visitor<'de>>(&mut self, start: usize, after: usize, want: Want, visitor: V) -> Result<V::Value, Error> {
        let kind = self.dict_kind(want, after)?;
        if !matches!(kind, DictKind::Plain) {
            return self.special_dict(kind, start, visitor);
        }
        self.open(start, after)?;
        let mut v = if want == Want::Enum {
            visitor.visit_enum(DictVariant { de: &mut *self })
        } else {
            visitor.visit_map(Map { de: &mut *self, first: true })
        };
        self.finish(start, Some(b'}'), &mut v);
        v
    }

    /// Pyro's NaN dict or serpent's bytes dict at `at`.
    #[inline(never)]
    fn special_dict<V: Visitor<'de>>(&mut self, kind: DictKind, at: usize, visitor: V) -> Result<V::Value, Error> {
        match kind {
            DictKind::Float(f, end) => {
                self.pos = end;
                visitor.visit_f64(f)
            }
            DictKind::Bytes(data, end) => self.base64(data, end, visitor),
            DictKind::Plain => Err(malformed(at, "a dict")),
        }
        .map_err(|e| e.at(at))
    }

    /// Which dict the one opening at `after` is, for a target that wants `want`: Pyro's NaN
    /// dict (for a float), serpent's bytes dict (for bytes), or a plain one.
    #[inline(never)]
    fn dict_kind(&mut self, want: Want, after: usize) -> Result<DictKind, Error> {
        if matches!(want, Want::Any | Want::F64) {
            if let Some((f, end)) = self.float_dict(after)? {
                return Ok(DictKind::Float(f, end));
            }
        }
        if want == Want::Bytes {
            if let Some((data, end)) = self.bytes_dict(after)? {
                return Ok(DictKind::Bytes(data, end));
            }
        }
        Ok(DictKind::Plain)
    }

    /// Deserializes a value that is not a container (nor an option), as `want` asks.
    #[inline(never)]
    fn scalar<V: Visitor<'de>>(
        &mut self,
        head: Head<'de>,
        want: Want,
        exact: bool,
        bigint: bool,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let at = head.start();
        self.scalar_at(head, want, exact, bigint, visitor).map_err(|e| e.at(at))
    }

    fn scalar_at<V: Visitor<'de>>(
        &mut self,
        head: Head<'de>,
        want: Want,
        exact: bool,
        bigint: bool,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match head {
            Head::Bool(b, _, end) => {
                self.pos = end;
                visitor.visit_bool(b)
            }
            Head::None(_, end) => {
                self.pos = end;
                visitor.visit_unit()
            }
            Head::Num(Num::Int(i), start, end) => {
                self.pos = end;
                if bigint && want == Want::Str {
                    self.int_text(i, start, visitor)
                } else {
                    self.int(i, start, exact, visitor)
                }
            }
            Head::Num(Num::Float(f), _, end) => {
                self.pos = end;
                visitor.visit_f64(f)
            }
            Head::Num(Num::Complex(re, im), _, end) => {
                self.pos = end;
                if exact && want == Want::Any {
                    visitor.visit_enum(Exact::new(COMPLEX, TokenValue::<'_, 'de, S>::Complex(re, im)))
                } else {
                    visitor.visit_seq(SeqDeserializer::new([re, im].into_iter()))
                }
            }
            Head::Str(g) if want == Want::Bytes && !g.bytes => self.str_bytes(g, visitor),
            Head::Str(g) if g.bytes => self.bytes(g, visitor),
            Head::Str(g) if want == Want::Enum => visitor.visit_enum(UnitVariant { de: self, group: g }),
            Head::Str(g) => self.string(g, visitor),
            Head::EmptySet(_, end) => {
                self.pos = end;
                if exact && want == Want::Any {
                    visitor.visit_enum(Exact::new(SET, TokenValue::<'_, 'de, S>::Empty))
                } else {
                    visitor.visit_seq(SeqDeserializer::new(core::iter::empty::<()>()))
                }
            }
            Head::Ellipsis(at) => {
                Err(Error::InvalidType { offset: at, expected: "a value serde can represent", found: "Ellipsis" })
            }
            Head::Group(at, _) | Head::Bare(at) | Head::Open(_, at, _) => {
                Err(Error::InvalidType { offset: at, expected: "a value serde can represent", found: "a container" })
            }
        }
    }

    /// An int, as the smallest serde integer that holds it; wider than 128 bits as its text
    /// (a `BIGINT` entry in exact mode).
    fn int<V: Visitor<'de>>(&mut self, i: Int<'de>, at: usize, exact: bool, visitor: V) -> Result<V::Value, Error> {
        match i {
            Int::Small { neg: false, mag } => match u64::try_from(mag) {
                Ok(v) => match i64::try_from(v) {
                    Ok(v) => visitor.visit_i64(v),
                    Err(_) => visitor.visit_u64(v),
                },
                Err(_) => visitor.visit_u128(mag),
            },
            Int::Small { neg: true, mag } if mag <= 1u128 << 127 => {
                let v = 0i128.checked_sub_unsigned(mag).ok_or(Error::IntegerOutOfRange { offset: at })?;
                match i64::try_from(v) {
                    Ok(v) => visitor.visit_i64(v),
                    Err(_) => visitor.visit_i128(v),
                }
            }
            _ if exact => self.with_int_text(i, at, |text| match text {
                Text::Borrowed(s) => visitor.visit_enum(Exact::new(BIGINT, TokenValue::<'_, 'de, S>::Borrowed(s))),
                Text::Transient(s) => visitor.visit_enum(Exact::new(BIGINT, TokenValue::<'_, 'de, S>::Text(s))),
            }),
            _ => self.int_text(i, at, visitor),
        }
    }

    /// An int as its decimal text (borrowed when the payload spells it so).
    fn int_text<V: Visitor<'de>>(&mut self, i: Int<'de>, at: usize, visitor: V) -> Result<V::Value, Error> {
        self.with_int_text(i, at, |text| match text {
            Text::Borrowed(s) => visitor.visit_borrowed_str(s),
            Text::Transient(s) => visitor.visit_str(s),
        })
    }

    fn with_int_text<R>(
        &mut self,
        i: Int<'de>,
        at: usize,
        f: impl FnOnce(Text<'de, '_>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        match i {
            Int::Small { neg, mag } => {
                let mut buf = Digits::default();
                let sign = if neg { "-" } else { "" };
                write!(buf, "{sign}{mag}").map_err(|_| Error::NumberTooLarge { offset: at })?;
                f(Text::Transient(buf.as_str()))
            }
            Int::Big { text: Some(text), .. } => f(Text::Borrowed(text)),
            Int::Big { neg, tok, text: None } => {
                let super::lex::NumKind::Int { radix, digits } = tok.kind else {
                    return Err(Error::NumberTooLarge { offset: at });
                };
                if radix != 10 {
                    return self.with_converted(digits, radix, neg, at, |t| f(Text::Transient(t)));
                }
                let sign = neg.then_some('-');
                let chars = sign.into_iter().chain(digits.chars().filter(|&c| c != '_')).map(|c| Ok(u32::from(c)));
                self.with_text(chars, at, |t| f(Text::Transient(t)))
            }
        }
    }

    /// The decimal text of a wide hex, octal or binary int, converted in the scratch buffer or
    /// a `Vec`.
    fn with_converted<R>(
        &mut self,
        digits: &str,
        radix: u32,
        neg: bool,
        at: usize,
        f: impl FnOnce(&str) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let too_large = Error::NumberTooLarge { offset: at };
        let scratch = self.scratch.as_mut();
        let capacity = scratch.len();
        if capacity > 0 {
            if let Some(n) = super::parse::to_decimal(digits, radix, neg, scratch) {
                return f(core::str::from_utf8(scratch.get(..n).unwrap_or_default()).map_err(|_| too_large)?);
            }
            #[cfg(not(feature = "alloc"))]
            return Err(if capacity > super::parse::MAX_INT_DIGITS {
                too_large
            } else {
                Error::ScratchTooSmall { offset: at, capacity }
            });
        }
        #[cfg(feature = "alloc")]
        {
            let mut buf = alloc::vec![0u8; super::parse::MAX_INT_DIGITS + 1];
            let n = super::parse::to_decimal(digits, radix, neg, &mut buf).ok_or(too_large.clone())?;
            f(core::str::from_utf8(buf.get(..n).unwrap_or_default()).map_err(|_| too_large)?)
        }
        #[cfg(not(feature = "alloc"))]
        {
            let _ = (digits, radix, neg, f);
            Err(Error::ScratchNeeded { offset: at })
        }
    }

    /// Unescapes `units` (code points) into the scratch buffer or a `String` and gives `f`
    /// the text.
    fn with_text<R>(
        &mut self,
        units: impl Iterator<Item = Result<u32, Error>> + Clone,
        at: usize,
        f: impl FnOnce(&str) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let scratch = self.scratch.as_mut();
        let capacity = scratch.len();
        if capacity > 0 {
            match fill(units.clone(), scratch, at, Encode::Utf8) {
                Ok(n) => {
                    let bytes = scratch.get(..n).unwrap_or_default();
                    let text = core::str::from_utf8(bytes).map_err(|_| Error::LoneSurrogate { offset: at })?;
                    return f(text);
                }
                Err(Fill::Error(e)) => return Err(e),
                Err(Fill::Full) => {
                    #[cfg(not(feature = "alloc"))]
                    return Err(Error::ScratchTooSmall { offset: at, capacity });
                }
            }
        }
        #[cfg(feature = "alloc")]
        {
            let mut s = String::new();
            for u in units {
                s.push(char::from_u32(u?).ok_or(Error::LoneSurrogate { offset: at })?);
            }
            f(&s)
        }
        #[cfg(not(feature = "alloc"))]
        {
            let _ = units;
            Err(Error::ScratchNeeded { offset: at })
        }
    }

    /// A `str` value.
    fn string<V: Visitor<'de>>(&mut self, g: StrGroup, visitor: V) -> Result<V::Value, Error> {
        self.pos = g.end;
        if g.borrowable() {
            return visitor.visit_borrowed_str(self.parser.lx.body(&g.first));
        }
        let units = self.parser.units(&g);
        #[cfg(feature = "alloc")]
        if self.scratch.as_mut().is_empty() {
            let mut s = String::new();
            for u in units {
                s.push(char::from_u32(u?).ok_or(Error::LoneSurrogate { offset: g.start })?);
            }
            return visitor.visit_string(s);
        }
        self.with_text(units, g.start, |s| visitor.visit_str(s))
    }

    /// A `bytes` value (a `b'...'` literal).
    fn bytes<V: Visitor<'de>>(&mut self, g: StrGroup, visitor: V) -> Result<V::Value, Error> {
        self.pos = g.end;
        if g.borrowable() {
            return visitor.visit_borrowed_bytes(self.parser.lx.body(&g.first).as_bytes());
        }
        let units = self.parser.units(&g);
        self.with_bytes(units, g.start, Encode::Byte, visitor)
    }

    /// A `str` read by a bytes target: its UTF-8.
    fn str_bytes<V: Visitor<'de>>(&mut self, g: StrGroup, visitor: V) -> Result<V::Value, Error> {
        self.pos = g.end;
        if g.borrowable() {
            return visitor.visit_borrowed_bytes(self.parser.lx.body(&g.first).as_bytes());
        }
        let units = self.parser.units(&g);
        self.with_bytes(units, g.start, Encode::Utf8, visitor)
    }

    fn with_bytes<V: Visitor<'de>>(
        &mut self,
        units: impl Iterator<Item = Result<u32, Error>> + Clone,
        at: usize,
        encode: Encode,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let scratch = self.scratch.as_mut();
        let capacity = scratch.len();
        if capacity > 0 {
            match fill(units.clone(), scratch, at, encode) {
                Ok(n) => return visitor.visit_bytes(scratch.get(..n).unwrap_or_default()),
                Err(Fill::Error(e)) => return Err(e),
                Err(Fill::Full) => {
                    #[cfg(not(feature = "alloc"))]
                    return Err(Error::ScratchTooSmall { offset: at, capacity });
                }
            }
        }
        #[cfg(feature = "alloc")]
        {
            let mut v = Vec::new();
            for u in units {
                push_unit(&mut v, u?, at, encode)?;
            }
            visitor.visit_byte_buf(v)
        }
        #[cfg(not(feature = "alloc"))]
        {
            let _ = (units, encode, visitor);
            Err(Error::ScratchNeeded { offset: at })
        }
    }

    /// Decodes the base64 `data` of a serpent bytes dict ending at `end`.
    #[inline(never)]
    fn base64<V: Visitor<'de>>(&mut self, data: StrGroup, end: usize, visitor: V) -> Result<V::Value, Error> {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        if !data.borrowable() {
            return Err(Error::Base64 { offset: data.start });
        }
        let text = self.parser.lx.body(&data.first);
        self.pos = end;
        let scratch = self.scratch.as_mut();
        let capacity = scratch.len();
        if capacity > 0 {
            match engine.decode_slice(text, scratch) {
                Ok(n) => return visitor.visit_bytes(scratch.get(..n).unwrap_or_default()),
                Err(base64::DecodeSliceError::DecodeError(_)) => return Err(Error::Base64 { offset: data.start }),
                Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
                    #[cfg(not(feature = "alloc"))]
                    return Err(Error::ScratchTooSmall { offset: data.start, capacity });
                }
            }
        }
        #[cfg(feature = "alloc")]
        {
            let v = engine.decode(text).map_err(|_| Error::Base64 { offset: data.start })?;
            visitor.visit_byte_buf(v)
        }
        #[cfg(not(feature = "alloc"))]
        {
            let _ = (text, visitor);
            Err(Error::ScratchNeeded { offset: data.start })
        }
    }

    /// After `{` at `pos`: Pyro's NaN dict `{'__class__':'float','value':'nan'}` (recognized
    /// when `'__class__'` is its first key, as serpent writes it): its value and end.
    fn float_dict(&self, pos: usize) -> Result<Option<(f64, usize)>, Error> {
        let p = self.parser;
        let (start, t, _) = p.token(pos, true)?;
        if !matches!(t, Tok::Str(_)) {
            return Ok(None);
        }
        let key = p.str_group(start, true)?;
        if !p.group_eq(&key, "__class__") {
            return Ok(None);
        }
        let (_, t, after) = p.token(key.end, true)?;
        if t != Tok::Colon {
            return Ok(None);
        }
        let (vstart, t, _) = p.token(after, true)?;
        if !matches!(t, Tok::Str(_)) {
            return Ok(None);
        }
        let class = p.str_group(vstart, true)?;
        if !p.group_eq(&class, "float") {
            return Ok(None);
        }
        let mut value = None;
        let end = self.entries(class.end, |key, value_start| {
            if p.group_eq(key, "value") {
                value = Some(value_start);
            }
            Ok(())
        })?;
        let Some(vpos) = value else {
            return Err(malformed(pos, "float dict without a 'value'"));
        };
        let (vat, t, _) = p.token(vpos, true)?;
        let f = match t {
            Tok::Str(_) => {
                let g = p.str_group(vat, true)?;
                let mut buf = Digits::default();
                for u in p.units(&g) {
                    let c = char::from_u32(u?).ok_or(Error::LoneSurrogate { offset: vat })?;
                    if c != '_' {
                        buf.write_char(c).map_err(|_| malformed(vat, "float dict 'value' is not a float"))?;
                    }
                }
                crate::ser::float::parse(buf.as_str().trim())
                    .ok_or_else(|| malformed(vat, "float dict 'value' is not a float"))?
            }
            _ => match p.expr(vpos, true, self.depth)?.node {
                Node::Num(Num::Float(f)) => f,
                Node::Num(Num::Int(i)) => super::parse::int_to_f64(i, vat)?,
                _ => return Err(malformed(vat, "float dict 'value' is not a float")),
            },
        };
        Ok(Some((f, end)))
    }

    /// After `{` at `pos`: serpent's bytes dict `{'data': '<base64>', 'encoding': 'base64'}`
    /// (any key order, other keys ignored, as `serpent.tobytes`): the data and the dict's end.
    fn bytes_dict(&self, pos: usize) -> Result<Option<(StrGroup, usize)>, Error> {
        let p = self.parser;
        let mut data = None;
        let mut base64 = false;
        let end = self.entries(pos, |key, value_start| {
            let (vat, t, _) = p.token(value_start, true)?;
            if p.group_eq(key, "data") {
                data = if matches!(t, Tok::Str(_)) { Some(p.str_group(vat, true)?) } else { None };
            } else if p.group_eq(key, "encoding") {
                base64 = matches!(t, Tok::Str(_)) && p.group_eq(&p.str_group(vat, true)?, "base64");
            }
            Ok(())
        })?;
        Ok(match data {
            Some(d) if base64 && !d.bytes => Some((d, end)),
            _ => None,
        })
    }

    /// Walks dict entries from `pos` (inside the braces, or after a first entry), calling
    /// `f(key, value_start)` for string keys. Returns the end of the dict.
    fn entries(&self, pos: usize, mut f: impl FnMut(&StrGroup, usize) -> Result<(), Error>) -> Result<usize, Error> {
        let p = self.parser;
        let depth = p.enter(self.depth, pos)?;
        let mut pos = pos;
        loop {
            let (at, t, after) = p.token(pos, true)?;
            match t {
                Tok::Close(b'}') => return Ok(after),
                Tok::Comma => {
                    pos = after;
                    continue;
                }
                _ => {}
            }
            let key = p.expr(at, true, depth)?;
            let (cat, t, value_start) = p.token(key.end, true)?;
            if t != Tok::Colon {
                // Our caller just read the value: this is where the first entry ended.
                return Err(syntax(cat, "expected ':'"));
            }
            if key.node == Node::Str {
                let g = p.str_group(key.start, true)?;
                f(&g, value_start)?;
            }
            pos = p.expr(value_start, true, depth)?.end;
        }
    }
}

/// Text produced for an int.
enum Text<'de, 'a> {
    Borrowed(&'de str),
    Transient(&'a str),
}

/// How units become bytes.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Encode {
    /// Code points as UTF-8 (lone surrogates refused).
    Utf8,
    /// Byte values.
    Byte,
}

/// Why [`fill`] stopped.
enum Fill {
    Full,
    Error(Error),
}

/// Writes `units` into `buf`; returns the length written.
fn fill(
    units: impl Iterator<Item = Result<u32, Error>>,
    buf: &mut [u8],
    at: usize,
    encode: Encode,
) -> Result<usize, Fill> {
    let mut n = 0usize;
    for u in units {
        let u = u.map_err(Fill::Error)?;
        let mut tmp = [0u8; 4];
        let bytes: &[u8] = match encode {
            Encode::Utf8 => char::from_u32(u)
                .ok_or(Fill::Error(Error::LoneSurrogate { offset: at }))?
                .encode_utf8(&mut tmp)
                .as_bytes(),
            Encode::Byte => {
                tmp[0] = u8::try_from(u).map_err(|_| Fill::Error(syntax(at, "byte value out of range")))?;
                tmp.get(..1).unwrap_or_default()
            }
        };
        let end = n.checked_add(bytes.len()).ok_or(Fill::Full)?;
        buf.get_mut(n..end).ok_or(Fill::Full)?.copy_from_slice(bytes);
        n = end;
    }
    Ok(n)
}

#[cfg(feature = "alloc")]
fn push_unit(v: &mut Vec<u8>, u: u32, at: usize, encode: Encode) -> Result<(), Error> {
    match encode {
        Encode::Utf8 => {
            let c = char::from_u32(u).ok_or(Error::LoneSurrogate { offset: at })?;
            v.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
        Encode::Byte => v.push(u8::try_from(u).map_err(|_| syntax(at, "byte value out of range"))?),
    }
    Ok(())
}

fn too_many(at: usize) -> Error {
    Error::InvalidType {
        offset: at,
        expected: "the end of the container",
        found: "more elements than the target takes",
    }
}

/// What a `deserialize_*` call asks for.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Want {
    /// Whatever the value is (`deserialize_any`, numbers, bools, seqs, maps...).
    Any,
    /// A float: also Pyro's NaN dict.
    F64,
    /// A string (or, after `BIGINT`, an int's text).
    Str,
    /// Bytes: a bytes literal, a str's UTF-8 or serpent's base64 dict.
    Bytes,
    /// An option: `None` or the value.
    Option,
    /// An enum: a str (unit variant) or a single-entry dict.
    Enum,
    /// A map or struct: never the NaN dict.
    Map,
}

/// The kind of container a value opens.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Container {
    Tuple,
    List,
    Dict,
    Set,
}

/// A dict, as a target asking for a float or for bytes sees it.
enum DictKind {
    /// Pyro's NaN dict: the float and where the dict ends.
    Float(f64, usize),
    /// serpent's bytes dict: its base64 data and where the dict ends.
    Bytes(StrGroup, usize),
    /// Any other dict.
    Plain,
}

/// The value at the current position, classified by looking ahead.
#[derive(Clone, Copy, Debug)]
enum Head<'de> {
    /// A number expression (fully evaluated), its start and end.
    Num(Num<'de>, usize, usize),
    Str(StrGroup),
    None(usize, usize),
    Bool(bool, usize, usize),
    Ellipsis(usize),
    /// `set()`: start and end.
    EmptySet(usize, usize),
    /// A container: its kind, the opening bracket and what follows it.
    Open(Container, usize, usize),
    /// Parentheses around one expression: the `(` and what follows it.
    Group(usize, usize),
    /// A tuple without parentheses (the whole payload).
    Bare(usize),
}

impl Head<'_> {
    fn start(&self) -> usize {
        match *self {
            Self::Num(_, s, _)
            | Self::None(s, _)
            | Self::Bool(_, s, _)
            | Self::Ellipsis(s)
            | Self::EmptySet(s, _)
            | Self::Open(_, s, _)
            | Self::Group(s, _)
            | Self::Bare(s) => s,
            Self::Str(g) => g.start,
        }
    }
}

/// Elements of a tuple, list or set (or of a bare tuple when `close` is `None`).
struct Seq<'a, 'de, S> {
    de: &'a mut Deserializer<'de, S>,
    close: Option<u8>,
    /// Elements must be hashable.
    set: bool,
    first: bool,
}

impl<'de, S: AsMut<[u8]>> de::SeqAccess<'de> for Seq<'_, 'de, S> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        if !self.de.next_element(self.close, self.set, self.first)? {
            return Ok(None);
        }
        self.first = false;
        seed.deserialize(&mut *self.de).map(Some)
    }
}

impl<S: AsMut<[u8]>> Deserializer<'_, S> {
    /// Moves to the next element of a tuple, list or set closed by `close` (a bare tuple
    /// when `None`), checking it is hashable in a set; `false` after the last. Not inlined
    /// (nor generic over the element), so that its locals stay out of the recursive frames.
    #[inline(never)]
    fn next_element(&mut self, close: Option<u8>, set: bool, first: bool) -> Result<bool, Error> {
        let nl = self.nl_ok();
        let is_close = |t: Tok<'_>| match (t, close) {
            (Tok::Close(c), Some(close)) => c == close,
            (Tok::Newline | Tok::Eof, None) => true,
            _ => false,
        };
        if !first {
            let (at, t, after) = self.tok(self.pos, nl)?;
            if is_close(t) {
                return Ok(false);
            }
            if t != Tok::Comma {
                return Err(syntax(at, "expected ','"));
            }
            let (_, t, _) = self.tok(after, nl)?;
            if is_close(t) {
                return Ok(false);
            }
            self.pos = after;
        } else {
            let (_, t, _) = self.tok(self.pos, nl)?;
            if is_close(t) {
                return Ok(false);
            }
        }
        if set {
            check_hashable(self)?;
        }
        Ok(true)
    }

    /// Moves to the next key of a dict, checking it is hashable; `false` after the last.
    #[inline(never)]
    fn next_key(&mut self, first: bool) -> Result<bool, Error> {
        if !first {
            let (at, t, after) = self.tok(self.pos, true)?;
            match t {
                Tok::Close(b'}') => return Ok(false),
                Tok::Comma => {}
                _ => return Err(syntax(at, "expected ',' or '}'")),
            }
            if self.tok(after, true)?.1 == Tok::Close(b'}') {
                return Ok(false);
            }
            self.pos = after;
        } else if self.tok(self.pos, true)?.1 == Tok::Close(b'}') {
            return Ok(false);
        }
        check_hashable(self)?;
        Ok(true)
    }

    /// Steps over the `:` after a dict key.
    #[inline(never)]
    fn colon(&mut self) -> Result<(), Error> {
        let (at, t, after) = self.tok(self.pos, true)?;
        if t != Tok::Colon {
            return Err(syntax(at, "expected ':'"));
        }
        self.pos = after;
        Ok(())
    }
}

/// Checks that the dict key or set element at the current position is hashable.
#[inline(never)]
fn check_hashable<S: AsMut<[u8]>>(de: &Deserializer<'_, S>) -> Result<(), Error> {
    let p = de.parser;
    let nl = de.nl_ok();
    let first = de.tok(de.pos, nl)?;
    let (at, t, _) = first;
    if matches!(t, Tok::Open(_) | Tok::Name("set")) && !p.expr_at(first, nl, de.depth)?.hashable {
        return Err(Error::Unhashable { offset: at });
    }
    Ok(())
}

/// Entries of a dict.
struct Map<'a, 'de, S> {
    de: &'a mut Deserializer<'de, S>,
    first: bool,
}

impl<'de, S: AsMut<[u8]>> de::MapAccess<'de> for Map<'_, 'de, S> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        if !self.de.next_key(self.first)? {
            return Ok(None);
        }
        self.first = false;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        self.de.colon()?;
        seed.deserialize(&mut *self.de)
    }
}

/// A unit variant given as its name.
struct UnitVariant<'a, 'de, S> {
    de: &'a mut Deserializer<'de, S>,
    group: StrGroup,
}

impl<'a, 'de, S: AsMut<[u8]>> de::EnumAccess<'de> for UnitVariant<'a, 'de, S> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let v = seed.deserialize(&mut *self.de)?;
        Ok((v, self))
    }
}

impl<'de, S: AsMut<[u8]>> de::VariantAccess<'de> for UnitVariant<'_, 'de, S> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, Error> {
        Err(self.wrong("a dict {name: value} (newtype variant)"))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(self.wrong("a dict {name: (...)} (tuple variant)"))
    }
    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], _visitor: V) -> Result<V::Value, Error> {
        Err(self.wrong("a dict {name: {...}} (struct variant)"))
    }
}

impl<S> UnitVariant<'_, '_, S> {
    fn wrong(&self, expected: &'static str) -> Error {
        Error::InvalidType { offset: self.group.start, expected, found: "a str (unit variant)" }
    }
}

/// A variant given as a single-entry dict `{name: value}` (the `{` consumed).
struct DictVariant<'a, 'de, S> {
    de: &'a mut Deserializer<'de, S>,
}

impl<'a, 'de, S: AsMut<[u8]>> de::EnumAccess<'de> for DictVariant<'a, 'de, S> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let v = seed.deserialize(&mut *self.de)?;
        let (at, t, after) = self.de.tok(self.de.pos, true)?;
        if t != Tok::Colon {
            return Err(syntax(at, "expected ':'"));
        }
        self.de.pos = after;
        Ok((v, self))
    }
}

impl<'de, S: AsMut<[u8]>> de::VariantAccess<'de> for DictVariant<'_, 'de, S> {
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

/// The content of an exact-mode report.
enum TokenValue<'a, 'de, S> {
    /// Elements still in the payload (the bracket consumed).
    Seq(SeqDe<'a, 'de, S>),
    /// No elements (`set()`).
    Empty,
    Complex(f64, f64),
    Borrowed(&'de str),
    Text(&'a str),
}

impl<'de, S: AsMut<[u8]>> de::Deserializer<'de> for TokenValue<'_, 'de, S> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            TokenValue::Seq(s) => s.deserialize_any(visitor),
            TokenValue::Empty => visitor.visit_seq(SeqDeserializer::<_, Error>::new(core::iter::empty::<()>())),
            TokenValue::Complex(re, im) => visitor.visit_seq(SeqDeserializer::<_, Error>::new([re, im].into_iter())),
            TokenValue::Borrowed(s) => visitor.visit_borrowed_str(s),
            TokenValue::Text(s) => visitor.visit_str(s),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// Hands a container's elements to whatever visitor asks (exact mode's report content).
struct SeqDe<'a, 'de, S> {
    de: &'a mut Deserializer<'de, S>,
    close: Option<u8>,
    set: bool,
}

impl<'de, S: AsMut<[u8]>> de::Deserializer<'de> for SeqDe<'_, 'de, S> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let v = visitor.visit_seq(Seq { de: &mut *self.de, close: self.close, set: self.set, first: true })?;
        match self.close {
            Some(c) => self.de.close(c)?,
            None => self.de.close_bare()?,
        }
        Ok(v)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, S: AsMut<[u8]>> de::Deserializer<'de> for &mut Deserializer<'de, S> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::F64, visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::F64, visitor)
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Str, visitor)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Str, visitor)
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Str, visitor)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Bytes, visitor)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Bytes, visitor)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Option, visitor)
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Error> {
        match name {
            VALUE => self.exact = true,
            BIGINT => self.bigint = true,
            _ => {}
        }
        let at = self.pos;
        visitor.visit_newtype_struct(&mut *self).map_err(|e| e.at(at))
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.value(Want::Any, visitor)
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Map, visitor)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.value(Want::Map, visitor)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.value(Want::Enum, visitor)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.value(Want::Str, visitor)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.exact = false;
        self.bigint = false;
        let head = self.head()?;
        if let Head::Bare(_) = head {
            self.bare = false;
            de::Deserializer::deserialize_any(SeqDe { de: &mut *self, close: None, set: false }, de::IgnoredAny)?;
            return visitor.visit_unit();
        }
        let e = self.parser.expr(self.pos, self.nl_ok(), self.depth)?;
        self.pos = e.end;
        visitor.visit_unit()
    }
    fn is_human_readable(&self) -> bool {
        true
    }
}
