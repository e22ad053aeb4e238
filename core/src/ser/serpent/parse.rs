//! The grammar of `ast.literal_eval` over the tokens of [`lex`](super::lex): expressions are
//! scanned (validated and measured) without building anything, numbers are evaluated as
//! Python evaluates them. Recursion is bounded by the depth limit.

use core::fmt::Write as _;

use super::error::Error;
use super::lex::{Lexer, NumKind, NumTok, StrTok, Tok, Unescape};

/// A number `literal_eval` evaluates to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num<'de> {
    Int(Int<'de>),
    Float(f64),
    Complex(f64, f64),
}

/// A Python int.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Int<'de> {
    /// Fits 128 bits of magnitude: `-mag` when `neg` (never `-0`).
    Small { neg: bool, mag: u128 },
    /// Wider than 128 bits.
    Big {
        neg: bool,
        tok: NumTok<'de>,
        /// The decimal text (sign included) when the payload spells it contiguously.
        text: Option<&'de str>,
    },
}

/// How an expression is built, as `literal_eval` sees it.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Shape {
    /// A constant (a literal, possibly in parentheses).
    Const,
    /// `+x` / `-x` on a number constant.
    Signed,
    /// `a + bj` / `a - bj`.
    BinOp,
    /// A container or `set()`.
    Other,
}

/// What an expression evaluates to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Node<'de> {
    Num(Num<'de>),
    Str,
    Bytes,
    None,
    Bool(bool),
    Ellipsis,
    Tuple,
    List,
    Dict,
    /// A set display or `set()`.
    Set,
}

/// A scanned expression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Expr<'de> {
    /// Where the expression starts (its first token) and ends.
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) node: Node<'de>,
    pub(crate) shape: Shape,
    /// The outermost syntax is a pair of parentheses around one expression.
    pub(crate) grouped: bool,
    /// Whether Python can hash the value (no list, dict or set inside).
    pub(crate) hashable: bool,
    /// An error Python raises only after parsing all the text (so a syntax error anywhere
    /// takes precedence): the first unhashable key, or a `\N{...}` escape we do not support.
    pub(crate) deferred: Option<Deferred>,
    /// The token at `end` when already lexed, with the `nl_ok` it was lexed with.
    pub(crate) follow: Option<(bool, Lexed<'de>)>,
}

/// A token with where it starts and ends.
pub(crate) type Lexed<'de> = (usize, Tok<'de>, usize);

/// An error found while scanning that counts only if the whole text parses.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Deferred {
    Unhashable(usize),
    NamedEscape(usize),
}

impl Deferred {
    pub(crate) fn error(self) -> Error {
        match self {
            Self::Unhashable(offset) => Error::Unhashable { offset },
            Self::NamedEscape(offset) => Error::NamedEscape { offset },
        }
    }
}

/// Adjacent string literals, concatenated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct StrGroup {
    /// Start of the first token, end of the last.
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) first: StrTok,
    /// More than one token.
    pub(crate) many: bool,
    pub(crate) bytes: bool,
    /// Whether newlines separate tokens (inside brackets).
    pub(crate) nl_ok: bool,
    /// Some token's value differs from its text (see [`StrTok::escaped`]).
    pub(crate) escaped: bool,
}

impl StrGroup {
    /// Whether the value is exactly the first token's body.
    pub(crate) fn borrowable(&self) -> bool {
        !self.many && !self.first.escaped
    }
}

/// The grammar over a payload.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Parser<'de> {
    pub(crate) lx: Lexer<'de>,
    pub(crate) max_depth: usize,
}

pub(crate) fn syntax(offset: usize, what: &'static str) -> Error {
    Error::Syntax { offset, what }
}

pub(crate) fn malformed(offset: usize, what: &'static str) -> Error {
    Error::Malformed { offset, what }
}

impl<'de> Parser<'de> {
    pub(crate) fn new(text: &'de str, max_depth: usize) -> Self {
        Self { lx: Lexer::new(text), max_depth }
    }

    pub(crate) fn token(&self, pos: usize, nl_ok: bool) -> Result<(usize, Tok<'de>, usize), Error> {
        self.lx.token(pos, nl_ok)
    }

    /// One expression: a literal, a container, a signed number or `a ± bj`.
    pub(crate) fn expr(&self, pos: usize, nl_ok: bool, depth: usize) -> Result<Expr<'de>, Error> {
        let first = self.token(pos, nl_ok)?;
        self.expr_at(first, nl_ok, depth)
    }

    /// The token after `e` (lexed with `nl_ok`).
    pub(crate) fn after(&self, e: &Expr<'de>, nl_ok: bool) -> Result<Lexed<'de>, Error> {
        match e.follow {
            Some((nl, t)) if nl == nl_ok => Ok(t),
            _ => self.token(e.end, nl_ok),
        }
    }

    /// As [`expr`](Self::expr), given its first token (lexed with `nl_ok`).
    pub(crate) fn expr_at(&self, first: Lexed<'de>, nl_ok: bool, depth: usize) -> Result<Expr<'de>, Error> {
        let left = self.unary(first, nl_ok, depth)?;
        let next = self.after(&left, nl_ok)?;
        let (at, t, after) = next;
        let sub = match t {
            Tok::Plus => false,
            Tok::Minus => true,
            _ => return Ok(Expr { follow: Some((nl_ok, next)), ..left }),
        };
        let lf = match left.node {
            Node::Num(Num::Int(i)) if left.shape != Shape::BinOp => int_to_f64(i, left.start)?,
            Node::Num(Num::Float(f)) if left.shape != Shape::BinOp => f,
            _ => return Err(malformed(at, "only 'number + imaginary number' is a literal")),
        };
        let right_first = self.token(after, nl_ok)?;
        let right = self.unary(right_first, nl_ok, depth)?;
        let (rr, ri) = match (right.node, right.shape) {
            (Node::Num(Num::Complex(rr, ri)), Shape::Const) => (rr, ri),
            _ => return Err(malformed(right.start, "only 'number + imaginary number' is a literal")),
        };
        let follow = self.after(&right, nl_ok)?;
        if matches!(follow.1, Tok::Plus | Tok::Minus) {
            return Err(malformed(at, "only 'number + imaginary number' is a literal"));
        }
        let value = if sub { (lf - rr, 0.0 - ri) } else { (lf + rr, 0.0 + ri) };
        Ok(Expr {
            start: left.start,
            end: right.end,
            node: Node::Num(Num::Complex(value.0, value.1)),
            shape: Shape::BinOp,
            grouped: false,
            hashable: true,
            deferred: None,
            follow: Some((nl_ok, follow)),
        })
    }

    /// `+x`, `-x` or an atom.
    fn unary(&self, first: Lexed<'de>, nl_ok: bool, depth: usize) -> Result<Expr<'de>, Error> {
        let (start, t, after) = first;
        let neg = match t {
            Tok::Plus => false,
            Tok::Minus => true,
            _ => return self.atom(first, nl_ok, depth),
        };
        let second = self.token(after, nl_ok)?;
        if matches!(second.1, Tok::Plus | Tok::Minus) {
            return Err(malformed(start, "a sign applies to a number literal only"));
        }
        let operand = self.atom(second, nl_ok, depth)?;
        let Node::Num(num) = operand.node else {
            return Err(malformed(start, "a sign applies to a number literal only"));
        };
        if operand.shape != Shape::Const {
            return Err(malformed(start, "a sign applies to a number literal only"));
        }
        let adjacent = !operand.grouped && start + 1 == operand.start;
        let num = if neg { negate(num, adjacent, start, self.lx.text) } else { num };
        Ok(Expr {
            start,
            end: operand.end,
            node: Node::Num(num),
            shape: Shape::Signed,
            grouped: false,
            hashable: true,
            deferred: None,
            follow: None,
        })
    }

    /// A literal, a container, `set()`, or an expression in parentheses.
    fn atom(&self, first: Lexed<'de>, nl_ok: bool, depth: usize) -> Result<Expr<'de>, Error> {
        let (start, t, end) = first;
        let constant = |node| {
            Ok(Expr {
                start,
                end,
                node,
                shape: Shape::Const,
                grouped: false,
                hashable: true,
                deferred: None,
                follow: None,
            })
        };
        match t {
            Tok::Number(n) => constant(Node::Num(literal(n, start)?)),
            Tok::Str(first) => {
                let (g, deferred) = self.checked_str_group(start, first, end, nl_ok)?;
                let node = if g.bytes { Node::Bytes } else { Node::Str };
                Ok(Expr {
                    start,
                    end: g.end,
                    node,
                    shape: Shape::Const,
                    grouped: false,
                    hashable: true,
                    deferred,
                    follow: None,
                })
            }
            Tok::Name("None") => constant(Node::None),
            Tok::Name("True") => constant(Node::Bool(true)),
            Tok::Name("False") => constant(Node::Bool(false)),
            Tok::Name("set") => {
                let end = self.empty_call(end, nl_ok, start)?;
                Ok(Expr {
                    start,
                    end,
                    node: Node::Set,
                    shape: Shape::Other,
                    grouped: false,
                    hashable: false,
                    deferred: None,
                    follow: None,
                })
            }
            Tok::Name(_) => Err(malformed(start, "a name is not a literal")),
            Tok::Ellipsis => constant(Node::Ellipsis),
            Tok::Open(open) => {
                let depth = self.enter(depth, start)?;
                match open {
                    b'(' => self.paren(start, end, depth),
                    b'[' => {
                        let (end, _, deferred) = self.elements(end, b']', depth, false)?;
                        Ok(Expr {
                            start,
                            end,
                            node: Node::List,
                            shape: Shape::Other,
                            grouped: false,
                            hashable: false,
                            deferred,
                            follow: None,
                        })
                    }
                    _ => self.brace(start, end, depth),
                }
            }
            Tok::Eof => Err(syntax(start, "unexpected end of input, expected a value")),
            _ => Err(syntax(start, "expected a value")),
        }
    }

    /// One more level of nesting at `at`.
    pub(crate) fn enter(&self, depth: usize, at: usize) -> Result<usize, Error> {
        let depth = depth.saturating_add(1);
        if depth > self.max_depth {
            return Err(Error::DepthLimit { offset: at, max: self.max_depth });
        }
        Ok(depth)
    }

    /// `()` after `set`: returns where it ends.
    pub(crate) fn empty_call(&self, pos: usize, nl_ok: bool, name_at: usize) -> Result<usize, Error> {
        let (_, t, after) = self.token(pos, nl_ok)?;
        if t != Tok::Open(b'(') {
            return Err(malformed(name_at, "a name is not a literal"));
        }
        let (_, t, end) = self.token(after, true)?;
        if t != Tok::Close(b')') {
            return Err(malformed(name_at, "only set() without arguments is a literal call"));
        }
        Ok(end)
    }

    /// After `(` at `start` (content from `pos`): a tuple or a parenthesized expression.
    fn paren(&self, start: usize, pos: usize, depth: usize) -> Result<Expr<'de>, Error> {
        let inner = self.token(pos, true)?;
        let (_, t, end) = inner;
        if t == Tok::Close(b')') {
            return Ok(Expr {
                start,
                end,
                node: Node::Tuple,
                shape: Shape::Other,
                grouped: false,
                hashable: true,
                deferred: None,
                follow: None,
            });
        }
        let first = self.expr_at(inner, true, depth)?;
        let (at, t, after) = self.after(&first, true)?;
        match t {
            Tok::Close(b')') => Ok(Expr { start, end: after, grouped: true, follow: None, ..first }),
            Tok::Comma => {
                let (end, hashable, deferred) = self.elements(after, b')', depth, false)?;
                Ok(Expr {
                    start,
                    end,
                    node: Node::Tuple,
                    shape: Shape::Other,
                    grouped: false,
                    hashable: hashable && first.hashable,
                    deferred: first.deferred.or(deferred),
                    follow: None,
                })
            }
            _ => Err(syntax(at, "expected ',' or ')'")),
        }
    }

    /// After `{` at `start`: a dict or a set.
    fn brace(&self, start: usize, pos: usize, depth: usize) -> Result<Expr<'de>, Error> {
        let other = |end, node, deferred| Expr {
            start,
            end,
            node,
            shape: Shape::Other,
            grouped: false,
            hashable: false,
            deferred,
            follow: None,
        };
        let inner = self.token(pos, true)?;
        let (_, t, end) = inner;
        if t == Tok::Close(b'}') {
            return Ok(other(end, Node::Dict, None));
        }
        let first = self.expr_at(inner, true, depth)?;
        let mut deferred = first.deferred;
        if !first.hashable {
            deferred = deferred.or(Some(Deferred::Unhashable(first.start)));
        }
        let (at, t, after) = self.after(&first, true)?;
        match t {
            Tok::Colon => {
                let mut value = self.expr(after, true, depth)?;
                deferred = deferred.or(value.deferred);
                loop {
                    let (at, t, after) = self.after(&value, true)?;
                    match t {
                        Tok::Close(b'}') => return Ok(other(after, Node::Dict, deferred)),
                        Tok::Comma => {}
                        _ => return Err(syntax(at, "expected ',' or '}'")),
                    }
                    let key_first = self.token(after, true)?;
                    let (_, t, end) = key_first;
                    if t == Tok::Close(b'}') {
                        return Ok(other(end, Node::Dict, deferred));
                    }
                    let key = self.expr_at(key_first, true, depth)?;
                    deferred = deferred.or(key.deferred);
                    if !key.hashable {
                        deferred = deferred.or(Some(Deferred::Unhashable(key.start)));
                    }
                    let (at, t, after) = self.after(&key, true)?;
                    if t != Tok::Colon {
                        return Err(syntax(at, "expected ':'"));
                    }
                    value = self.expr(after, true, depth)?;
                    deferred = deferred.or(value.deferred);
                }
            }
            Tok::Comma => {
                let (end, _, rest) = self.elements(after, b'}', depth, true)?;
                Ok(other(end, Node::Set, deferred.or(rest)))
            }
            Tok::Close(b'}') => Ok(other(after, Node::Set, deferred)),
            _ => Err(syntax(at, "expected ',', ':' or '}'")),
        }
    }

    /// Elements up to `close` (trailing comma allowed), from `pos` right after `[` or after
    /// a first element's comma. Returns the end, whether all elements are hashable, and the
    /// first deferred error (an unhashable element when `set`).
    fn elements(
        &self,
        pos: usize,
        close: u8,
        depth: usize,
        set: bool,
    ) -> Result<(usize, bool, Option<Deferred>), Error> {
        let mut pos = pos;
        let mut hashable = true;
        let mut deferred = None;
        loop {
            let first = self.token(pos, true)?;
            let (_, t, end) = first;
            if t == Tok::Close(close) {
                return Ok((end, hashable, deferred));
            }
            let e = self.expr_at(first, true, depth)?;
            deferred = deferred.or(e.deferred);
            if set && !e.hashable {
                deferred = deferred.or(Some(Deferred::Unhashable(e.start)));
            }
            hashable &= e.hashable;
            let (at, t, after) = self.after(&e, true)?;
            match t {
                Tok::Comma => pos = after,
                Tok::Close(c) if c == close => return Ok((after, hashable, deferred)),
                _ => return Err(syntax(at, "expected ',' or a closing bracket")),
            }
        }
    }

    /// A string group with every escape checked; a `\N{...}` escape is deferred. `first` is
    /// the string token at `start`, ending at `end`.
    fn checked_str_group(
        &self,
        start: usize,
        first: StrTok,
        end: usize,
        nl_ok: bool,
    ) -> Result<(StrGroup, Option<Deferred>), Error> {
        let g = self.str_group_from(start, first, end, nl_ok)?;
        if !g.escaped {
            // No token holds an escape: unescaping cannot fail.
            return Ok((g, None));
        }
        let mut pos = g.start;
        while pos < g.end {
            let (_, t, end) = self.token(pos, nl_ok)?;
            let Tok::Str(tok) = t else { break };
            if tok.escaped {
                for unit in Unescape::new(&self.lx, &tok) {
                    match unit {
                        Ok(_) => {}
                        Err(Error::NamedEscape { offset }) => return Ok((g, Some(Deferred::NamedEscape(offset)))),
                        Err(e) => return Err(e),
                    }
                }
            }
            pos = end;
        }
        Ok((g, None))
    }

    /// The string literals starting at `start` (a string token), concatenated (escapes are
    /// not checked here: see `checked_str_group`).
    pub(crate) fn str_group(&self, start: usize, nl_ok: bool) -> Result<StrGroup, Error> {
        let (_, t, end) = self.token(start, nl_ok)?;
        let Tok::Str(first) = t else { return Err(syntax(start, "expected a string")) };
        self.str_group_from(start, first, end, nl_ok)
    }

    /// As [`str_group`](Self::str_group), given the first token (at `start`, ending at `end`).
    pub(crate) fn str_group_from(
        &self,
        start: usize,
        first: StrTok,
        end: usize,
        nl_ok: bool,
    ) -> Result<StrGroup, Error> {
        let mut end = end;
        let mut group = StrGroup { start, end, first, many: false, bytes: first.bytes, nl_ok, escaped: first.escaped };
        let mut tok = first;
        loop {
            if tok.fstr {
                return Err(malformed(start, "f-strings are not literals"));
            }
            if tok.bytes != group.bytes {
                return Err(syntax(start, "cannot mix bytes and nonbytes literals"));
            }
            group.end = end;
            group.escaped |= tok.escaped;
            let (_, t, next_end) = self.token(end, nl_ok)?;
            let Tok::Str(next) = t else { return Ok(group) };
            group.many = true;
            tok = next;
            end = next_end;
        }
    }

    /// The code points (or bytes) of a string group, in order.
    pub(crate) fn units(&self, group: &StrGroup) -> GroupUnits<'de> {
        GroupUnits { parser: *self, next: group.start, end: group.end, nl_ok: group.nl_ok, cur: None }
    }

    /// Whether a string group's value is `expected`.
    pub(crate) fn group_eq(&self, group: &StrGroup, expected: &str) -> bool {
        if group.bytes {
            return false;
        }
        if group.borrowable() {
            return self.lx.body(&group.first) == expected;
        }
        let mut want = expected.chars();
        for unit in self.units(group) {
            match (unit, want.next()) {
                (Ok(u), Some(c)) if u == u32::from(c) => {}
                _ => return false,
            }
        }
        want.next().is_none()
    }
}

/// Iterates the units of a [`StrGroup`].
#[derive(Clone, Debug)]
pub(crate) struct GroupUnits<'de> {
    parser: Parser<'de>,
    next: usize,
    end: usize,
    nl_ok: bool,
    cur: Option<Unescape<'de>>,
}

impl Iterator for GroupUnits<'_> {
    type Item = Result<u32, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(u) = self.cur.as_mut().and_then(Iterator::next) {
                return Some(u);
            }
            if self.next >= self.end {
                return None;
            }
            match self.parser.token(self.next, self.nl_ok) {
                Ok((_, Tok::Str(t), end)) => {
                    self.cur = Some(Unescape::new(&self.parser.lx, &t));
                    self.next = end;
                }
                Ok(_) => return None,
                Err(e) => {
                    self.next = self.end;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// CPython's limit on decimal digits in an int literal (`sys.int_info.default_max_str_digits`);
/// also the most digits we convert a non-decimal int into.
pub(crate) const MAX_INT_DIGITS: usize = 4300;

/// Writes the decimal text of the int `digits` (radix 2, 8 or 16, underscores allowed; `-`
/// first when `neg`) into `buf`; returns its length, or `None` when `buf` is too small or the
/// value has more than [`MAX_INT_DIGITS`] digits.
pub(crate) fn to_decimal(digits: &str, radix: u32, neg: bool, buf: &mut [u8]) -> Option<usize> {
    // Decimal digits, least significant first, in buf[..len].
    let mut len = 0usize;
    for d in digits.chars().filter_map(|c| c.to_digit(radix)) {
        let mut carry = d;
        for slot in buf.get_mut(..len)? {
            let v = u32::from(*slot) * radix + carry;
            *slot = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            if len >= MAX_INT_DIGITS {
                return None;
            }
            *buf.get_mut(len)? = (carry % 10) as u8;
            carry /= 10;
            len += 1;
        }
    }
    if len == 0 {
        *buf.get_mut(0)? = 0;
        len = 1;
    }
    let digits = buf.get_mut(..len)?;
    digits.reverse();
    for b in digits.iter_mut() {
        *b += b'0';
    }
    if neg {
        buf.get(len)?;
        buf.copy_within(..len, 1);
        *buf.get_mut(0)? = b'-';
        len += 1;
    }
    Some(len)
}

/// The value of a number literal at `at`.
pub(crate) fn literal(tok: NumTok<'_>, at: usize) -> Result<Num<'_>, Error> {
    match tok.kind {
        NumKind::Int { radix, digits } => {
            let mut mag: Option<u128> = Some(0);
            for c in digits.chars().filter(|&c| c != '_') {
                let d = c.to_digit(radix).ok_or_else(|| syntax(at, "invalid digit"))?;
                mag = mag.and_then(|m| m.checked_mul(u128::from(radix))).and_then(|m| m.checked_add(u128::from(d)));
            }
            if radix == 10 && digits.bytes().filter(|&b| b != b'_').count() > MAX_INT_DIGITS {
                return Err(syntax(at, "exceeds the limit (4300 digits) for integer string conversion"));
            }
            Ok(Num::Int(match mag {
                Some(mag) => Int::Small { neg: false, mag },
                None => {
                    let plain = radix == 10 && !digits.contains('_');
                    Int::Big { neg: false, tok, text: plain.then_some(digits) }
                }
            }))
        }
        NumKind::Float => Ok(Num::Float(parse_float(tok.text, at)?)),
        NumKind::Imag => {
            let text = tok.text.get(..tok.text.len().saturating_sub(1)).unwrap_or_default();
            Ok(Num::Complex(0.0, parse_float(text, at)?))
        }
    }
}

/// A float literal's value (Python and Rust round decimal text the same way).
fn parse_float(text: &str, at: usize) -> Result<f64, Error> {
    if !text.contains('_') {
        return text.parse().map_err(|_| syntax(at, "invalid float literal"));
    }
    let mut buf = Digits::default();
    for c in text.chars().filter(|&c| c != '_') {
        buf.write_char(c).map_err(|_| Error::NumberTooLarge { offset: at })?;
    }
    buf.as_str().parse().map_err(|_| syntax(at, "invalid float literal"))
}

/// `-num`. `adjacent`: the sign at `sign_at` directly precedes the number literal (so big
/// decimal text can be borrowed with its sign).
fn negate<'de>(num: Num<'de>, adjacent: bool, sign_at: usize, text: &'de str) -> Num<'de> {
    match num {
        Num::Int(Int::Small { neg, mag }) => Num::Int(Int::Small { neg: !neg && mag != 0, mag }),
        Num::Int(Int::Big { neg, tok, text: digits }) => {
            let signed = digits
                .filter(|_| adjacent)
                .and_then(|d| text.get(sign_at..sign_at.checked_add(1)?.checked_add(d.len())?));
            Num::Int(Int::Big { neg: !neg, tok, text: signed })
        }
        Num::Float(f) => Num::Float(-f),
        Num::Complex(re, im) => Num::Complex(-re, -im),
    }
}

/// Python's `float(int)`: correctly rounded, `OverflowError` beyond the float range.
pub(crate) fn int_to_f64(i: Int<'_>, at: usize) -> Result<f64, Error> {
    match i {
        // `as` rounds to nearest, as Python does.
        Int::Small { neg, mag } => {
            let f = mag as f64;
            Ok(if neg { -f } else { f })
        }
        Int::Big { neg, tok, .. } => {
            let NumKind::Int { radix: 10, digits } = tok.kind else {
                return Err(Error::NumberTooLarge { offset: at });
            };
            let f: f64 = if digits.contains('_') {
                let mut buf = Digits::default();
                for c in digits.chars().filter(|&c| c != '_') {
                    buf.write_char(c).map_err(|_| Error::NumberTooLarge { offset: at })?;
                }
                buf.as_str().parse().map_err(|_| Error::NumberTooLarge { offset: at })?
            } else {
                digits.parse().map_err(|_| Error::NumberTooLarge { offset: at })?
            };
            if f.is_infinite() {
                return Err(Error::NumberTooLarge { offset: at });
            }
            Ok(if neg { -f } else { f })
        }
    }
}

/// Up to 256 bytes of number text, underscores removed.
pub(crate) struct Digits {
    bytes: [u8; 256],
    len: usize,
}

impl Default for Digits {
    fn default() -> Self {
        Self { bytes: [0; 256], len: 0 }
    }
}

impl Digits {
    pub(crate) fn as_str(&self) -> &str {
        self.bytes.get(..self.len).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or_default()
    }
}

impl core::fmt::Write for Digits {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        self.bytes.get_mut(self.len..end).ok_or(core::fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(s: &str) -> Result<Expr<'_>, Error> {
        let p = Parser::new(s, 128);
        let e = p.expr(0, true, 0)?;
        assert_eq!(p.token(e.end, true)?.1, Tok::Eof, "{s}");
        Ok(e)
    }

    fn num(s: &str) -> Num<'_> {
        match eval(s).unwrap().node {
            Node::Num(n) => n,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn numbers_evaluate_as_python() {
        assert_eq!(num("-(1)"), Num::Int(Int::Small { neg: true, mag: 1 }));
        assert_eq!(num("-0"), Num::Int(Int::Small { neg: false, mag: 0 }));
        assert_eq!(num("0x_1f"), Num::Int(Int::Small { neg: false, mag: 31 }));
        assert_eq!(num("1_0.5"), Num::Float(10.5));
        let Num::Complex(re, im) = num("-(2j)") else { panic!() };
        assert!(re == 0.0 && re.is_sign_negative() && im == -2.0);
        let Num::Complex(re, im) = num("(1.0-0.0j)") else { panic!() };
        assert!(re == 1.0 && im == 0.0 && im.is_sign_positive());
        let Num::Complex(re, im) = num("(-0.0+1.0j)") else { panic!() };
        assert!(re == 0.0 && re.is_sign_positive() && im == 1.0);
        assert_eq!(num("(1)+(2j)"), Num::Complex(1.0, 2.0));
        assert_eq!(num("1e400"), Num::Float(f64::INFINITY));
        let Num::Int(Int::Big { neg: true, text: Some("-123456789012345678901234567890123456789012"), .. }) =
            num("-123456789012345678901234567890123456789012")
        else {
            panic!()
        };
        let Num::Int(Int::Big { neg: true, text: None, .. }) = num("- 123456789012345678901234567890123456789012")
        else {
            panic!()
        };
    }

    #[test]
    fn non_literals_are_malformed() {
        for s in [
            "--1",
            "-True",
            "1+1",
            "2j+1",
            "1+2j+3j",
            "(1+2j)+3j",
            "-(1,)",
            "-'a'",
            "x",
            "frozenset()",
            "set(())",
            "1+-2j",
        ] {
            assert!(matches!(eval(s), Err(Error::Malformed { .. })), "{s}: {:?}", eval(s));
        }
    }

    #[test]
    fn containers_scan_to_their_end() {
        let e = eval("((1, (2,)), ((),), 'x')").unwrap();
        assert_eq!((e.node, e.grouped, e.hashable), (Node::Tuple, false, true));
        let e = eval("([1])").unwrap();
        assert_eq!((e.node, e.grouped, e.hashable), (Node::List, true, false));
        assert_eq!(eval("{1:2,}").unwrap().node, Node::Dict);
        assert_eq!(eval("{1,}").unwrap().node, Node::Set);
        assert_eq!(eval("set ( )").unwrap().node, Node::Set);
        assert_eq!(eval("{[1]:2}").unwrap().deferred, Some(Deferred::Unhashable(1)));
        assert_eq!(eval("[{(1,[2])}]").unwrap().deferred, Some(Deferred::Unhashable(2)));
        assert_eq!(eval("('\\N{BULLET}',)").unwrap().deferred, Some(Deferred::NamedEscape(2)));
        assert!(matches!(eval("({[1]:2}, 1 2)"), Err(Error::Syntax { .. })));
        assert!(matches!(eval("[1,,2]"), Err(Error::Syntax { .. })));
        assert!(matches!(eval("{1:2 3:4}"), Err(Error::Syntax { .. })));
        assert!(matches!(eval("b'a' 'b'"), Err(Error::Syntax { .. })));
        assert!(matches!(eval("'a' f'b'"), Err(Error::Malformed { .. })));
    }

    #[test]
    fn wide_hex_ints_convert_to_decimal() {
        let mut buf = [0u8; 64];
        let n = to_decimal("1_0000_0000_0000_0000_0000_0000_0000_0000", 16, true, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"-340282366920938463463374607431768211456");
        let n = to_decimal("0", 2, false, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"0");
        assert_eq!(to_decimal("ffffffffffffffffffff", 16, false, &mut [0u8; 10]), None);
        assert!(matches!(
            eval(&"1".repeat(4301)),
            Err(Error::Syntax { what: "exceeds the limit (4300 digits) for integer string conversion", .. })
        ));
        assert!(eval(&"1".repeat(4300)).is_ok());
    }

    #[test]
    fn depth_is_limited() {
        let p = Parser::new("[[[1]]]", 2);
        assert!(matches!(p.expr(0, true, 0), Err(Error::DepthLimit { offset: 2, max: 2 })));
    }

    #[test]
    fn string_groups_compare_by_value() {
        let s = "'__cl' \"ass__\" 'x' '\\x61'";
        let p = Parser::new(s, 8);
        let g = p.str_group(0, true).unwrap();
        assert!(g.many && !g.borrowable());
        assert!(p.group_eq(&g, "__class__xa"));
        assert!(!p.group_eq(&g, "__class__x"));
    }
}
