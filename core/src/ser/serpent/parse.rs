//! The grammar of `ast.literal_eval` over the tokens of [`lex`](super::lex): expressions are
//! scanned (validated and measured) without building anything, numbers are evaluated as
//! Python evaluates them. Recursion is bounded by the depth limit.

use core::fmt::Write as _;

use super::error::Error;
use super::lex::{Lexer, NumKind, NumTok, StrTok, Tok, Unescape};
use crate::ser::float;

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

    /// As [`expr`](Self::expr), given its first token (lexed with `nl_ok`). Not inlined:
    /// callers on the deserializer's recursive path must not carry the scan's state in
    /// their frames.
    #[inline(never)]
    pub(crate) fn expr_at(&self, first: Lexed<'de>, nl_ok: bool, depth: usize) -> Result<Expr<'de>, Error> {
        let mut scan = Scan::new(self, first, nl_ok);
        match scan.expr(first.0, nl_ok, depth) {
            Ok(()) => Ok(scan.expr_of(nl_ok)),
            Err(Stop) => Err(scan.into_error()),
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

/// The state of one scan (an [`Expr`] and everything in it).
///
/// Scanning recurses once per bracket, and the peer chooses how deep (up to the limit), so
/// each level must cost little stack. The one recursive function, `expr` (the grammar of
/// signs, atoms and containers inlined into it), keeps nothing in its frame but a few
/// positions and flags (64 bytes a level on a Cortex-M4): results, tokens and errors go
/// through the one `Scan`, and what does not recurse (literals, signs, `a + bj`, errors)
/// runs in functions of its own (`#[inline(never)]`), so that its locals never sit in a
/// recursive frame.
struct Scan<'p, 'de> {
    p: &'p Parser<'de>,
    /// The expression scanned last.
    sum: Sum,
    /// The value of the number expression scanned last (what a [`Sum`] of [`Kind::Num`]
    /// stands for, until the next number).
    num: Num<'de>,
    /// `a ±` of the `a ± bj` being scanned: `a` as a float, whether the operator is `-`,
    /// where it is and where `a` starts. A `bj` that holds another `a ± bj` is refused, so
    /// one slot is enough: it is read only when `bj` turned out to be an imaginary number.
    left: (f64, bool, usize, usize),
    /// Where the token [`tok`](Self::tok) returned last starts and ends.
    tok_start: usize,
    tok_end: usize,
    /// The first deferred error met, in scanning order (the order Python meets them).
    deferred: Option<Deferred>,
    /// Why the scan stopped, once a function returned [`Stop`].
    error: Option<Error>,
    /// The token lexed last: where it was looked for, with which `nl_ok`, and the token.
    last: Option<(usize, bool, Lexed<'de>)>,
}

/// The scan stopped: the error is in [`Scan::error`].
struct Stop;

/// A scanned expression, as [`Scan`] hands it from one level to the next.
#[derive(Clone, Copy)]
struct Sum {
    start: usize,
    end: usize,
    node: Kind,
    shape: Shape,
    /// The outermost syntax is a pair of parentheses around one expression.
    grouped: bool,
    /// Whether Python can hash the value.
    hashable: bool,
}

/// A [`Node`] without its number.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Kind {
    Num,
    Str,
    Bytes,
    None,
    False,
    True,
    Ellipsis,
    Tuple,
    List,
    Dict,
    Set,
}

/// A token as far as the grammar of containers and signs looks at it.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Punct {
    Open(u8),
    Close(u8),
    Comma,
    Colon,
    Plus,
    Minus,
    /// A literal, a name, a newline, the end...
    Other,
}

const SIGN_ONLY: &str = "a sign applies to a number literal only";
const COMPLEX_ONLY: &str = "only 'number + imaginary number' is a literal";

impl<'p, 'de> Scan<'p, 'de> {
    fn new(p: &'p Parser<'de>, first: Lexed<'de>, nl_ok: bool) -> Self {
        let sum = Sum { start: 0, end: 0, node: Kind::None, shape: Shape::Const, grouped: false, hashable: true };
        Self {
            p,
            sum,
            num: Num::Float(0.0),
            left: (0.0, false, 0, 0),
            tok_start: 0,
            tok_end: 0,
            deferred: None,
            error: None,
            last: Some((first.0, nl_ok, first)),
        }
    }

    /// The [`Expr`] of the expression scanned last.
    fn expr_of(&self, nl_ok: bool) -> Expr<'de> {
        let e = self.sum;
        let node = match e.node {
            Kind::Num => Node::Num(self.num),
            Kind::Str => Node::Str,
            Kind::Bytes => Node::Bytes,
            Kind::None => Node::None,
            Kind::False => Node::Bool(false),
            Kind::True => Node::Bool(true),
            Kind::Ellipsis => Node::Ellipsis,
            Kind::Tuple => Node::Tuple,
            Kind::List => Node::List,
            Kind::Dict => Node::Dict,
            Kind::Set => Node::Set,
        };
        let follow = match self.last {
            Some((at, nl, t)) if at == e.end && nl == nl_ok => Some((nl_ok, t)),
            _ => None,
        };
        Expr {
            start: e.start,
            end: e.end,
            node,
            shape: e.shape,
            grouped: e.grouped,
            hashable: e.hashable,
            deferred: self.deferred,
            follow,
        }
    }

    fn into_error(self) -> Error {
        self.error.unwrap_or(Error::Syntax { offset: 0, what: "invalid syntax" })
    }

    #[cold]
    #[inline(never)]
    fn fail(&mut self, e: Error) -> Stop {
        self.error = Some(e);
        Stop
    }

    /// [`fail`](Self::fail) with a syntax error (built here, not in a recursive frame).
    #[cold]
    #[inline(never)]
    fn fail_syntax(&mut self, at: usize, what: &'static str) -> Stop {
        self.fail(syntax(at, what))
    }

    /// [`fail`](Self::fail) with a malformed-node error.
    #[cold]
    #[inline(never)]
    fn fail_malformed(&mut self, at: usize, what: &'static str) -> Stop {
        self.fail(malformed(at, what))
    }

    /// [`fail`](Self::fail): the bracket at `tok_start` goes one level too deep.
    #[cold]
    #[inline(never)]
    fn fail_depth(&mut self) -> Stop {
        self.fail(Error::DepthLimit { offset: self.tok_start, max: self.p.max_depth })
    }

    fn defer(&mut self, d: Deferred) {
        if self.deferred.is_none() {
            self.deferred = Some(d);
        }
    }

    /// Ends the current expression: `start..end`, a container (or `set()`) of kind `node`.
    fn other(&mut self, start: usize, end: usize, node: Kind, hashable: bool) -> Result<(), Stop> {
        self.sum = Sum { start, end, node, shape: Shape::Other, grouped: false, hashable };
        Ok(())
    }

    /// The token at `pos`.
    #[inline(never)]
    fn lexed(&mut self, pos: usize, nl_ok: bool) -> Result<Lexed<'de>, Stop> {
        if let Some((at, nl, t)) = self.last {
            if at == pos && nl == nl_ok {
                return Ok(t);
            }
        }
        match self.p.lx.token(pos, nl_ok) {
            Ok(t) => {
                self.last = Some((pos, nl_ok, t));
                Ok(t)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The token at `pos`, as punctuation; where it starts and ends is in `tok_start` and
    /// `tok_end`.
    #[inline(never)]
    fn tok(&mut self, pos: usize, nl_ok: bool) -> Result<Punct, Stop> {
        let (start, t, end) = self.lexed(pos, nl_ok)?;
        (self.tok_start, self.tok_end) = (start, end);
        Ok(match t {
            Tok::Open(c) => Punct::Open(c),
            Tok::Close(c) => Punct::Close(c),
            Tok::Comma => Punct::Comma,
            Tok::Colon => Punct::Colon,
            Tok::Plus => Punct::Plus,
            Tok::Minus => Punct::Minus,
            _ => Punct::Other,
        })
    }

    /// One expression at `pos`: a literal, a container, a signed number or `a ± bj`.
    fn expr(&mut self, pos: usize, nl_ok: bool, depth: usize) -> Result<(), Stop> {
        let mut pos = pos;
        let mut right = false;
        loop {
            self.unary(pos, nl_ok, depth)?;
            if right {
                return self.complex(nl_ok);
            }
            let sub = match self.tok(self.sum.end, nl_ok)? {
                Punct::Plus => false,
                Punct::Minus => true,
                _ => return Ok(()),
            };
            self.real(sub)?;
            pos = self.tok_end;
            right = true;
        }
    }

    /// `+x`, `-x` or an atom, at `pos`.
    #[inline(always)]
    fn unary(&mut self, pos: usize, nl_ok: bool, depth: usize) -> Result<(), Stop> {
        let neg = match self.tok(pos, nl_ok)? {
            Punct::Plus => false,
            Punct::Minus => true,
            _ => return self.atom(pos, nl_ok, depth),
        };
        let (start, after) = (self.tok_start, self.tok_end);
        if matches!(self.tok(after, nl_ok)?, Punct::Plus | Punct::Minus) {
            return Err(self.fail_malformed(start, SIGN_ONLY));
        }
        self.atom(after, nl_ok, depth)?;
        self.signed(start, neg)
    }

    /// A container, or any other atom (a literal, `set()`) at `pos`.
    #[inline(always)]
    fn atom(&mut self, pos: usize, nl_ok: bool, depth: usize) -> Result<(), Stop> {
        let Punct::Open(open) = self.tok(pos, nl_ok)? else { return self.leaf(pos, nl_ok) };
        if depth >= self.p.max_depth {
            return Err(self.fail_depth());
        }
        self.container(open, self.tok_start, self.tok_end, depth.saturating_add(1))
    }

    /// The container opened by `open` at `start`, its content starting at `pos`: a tuple, a
    /// list, a dict, a set, or an expression in parentheses.
    #[inline(always)]
    fn container(&mut self, open: u8, start: usize, pos: usize, depth: usize) -> Result<(), Stop> {
        let close = match open {
            b'(' => b')',
            b'[' => b']',
            _ => b'}',
        };
        if self.tok(pos, true)? == Punct::Close(close) {
            return match open {
                b'(' => self.other(start, self.tok_end, Kind::Tuple, true),
                b'[' => self.other(start, self.tok_end, Kind::List, false),
                _ => self.other(start, self.tok_end, Kind::Dict, false),
            };
        }
        self.expr(pos, true, depth)?;
        let mut hashable = self.sum.hashable;
        let mut t = self.tok(self.sum.end, true)?;
        let (node, set) = match (open, t) {
            (b'[', _) => (Kind::List, false),
            (b'(', Punct::Close(b')')) => {
                self.sum = Sum { start, end: self.tok_end, grouped: true, ..self.sum };
                return Ok(());
            }
            (b'(', Punct::Comma) => (Kind::Tuple, false),
            (b'(', _) => return Err(self.fail_syntax(self.tok_start, "expected ',' or ')'")),
            _ => {
                if !hashable {
                    self.defer(Deferred::Unhashable(self.sum.start));
                }
                match t {
                    Punct::Colon => (Kind::Dict, false),
                    Punct::Comma => (Kind::Set, true),
                    Punct::Close(b'}') => return self.other(start, self.tok_end, Kind::Set, false),
                    _ => return Err(self.fail_syntax(self.tok_start, "expected ',', ':' or '}'")),
                }
            }
        };
        if node == Kind::Dict {
            // After a key's colon: its value, then `,` and the next key, or the end.
            loop {
                self.expr(self.tok_end, true, depth)?;
                match self.tok(self.sum.end, true)? {
                    Punct::Close(b'}') => return self.other(start, self.tok_end, Kind::Dict, false),
                    Punct::Comma => {}
                    _ => return Err(self.fail_syntax(self.tok_start, "expected ',' or '}'")),
                }
                let key = self.tok_end;
                if self.tok(key, true)? == Punct::Close(b'}') {
                    return self.other(start, self.tok_end, Kind::Dict, false);
                }
                self.expr(key, true, depth)?;
                if !self.sum.hashable {
                    self.defer(Deferred::Unhashable(self.sum.start));
                }
                if self.tok(self.sum.end, true)? != Punct::Colon {
                    return Err(self.fail_syntax(self.tok_start, "expected ':'"));
                }
            }
        }
        // The items after the first, up to the closing bracket (a trailing comma allowed);
        // `t` is the token after the item read last.
        hashable &= node == Kind::Tuple;
        loop {
            match t {
                Punct::Comma => {}
                Punct::Close(c) if c == close => return self.other(start, self.tok_end, node, hashable),
                _ => return Err(self.fail_syntax(self.tok_start, "expected ',' or a closing bracket")),
            }
            let item = self.tok_end;
            if self.tok(item, true)? == Punct::Close(close) {
                return self.other(start, self.tok_end, node, hashable);
            }
            self.expr(item, true, depth)?;
            if set && !self.sum.hashable {
                self.defer(Deferred::Unhashable(self.sum.start));
            }
            hashable &= self.sum.hashable;
            t = self.tok(self.sum.end, true)?;
        }
    }

    /// An atom that is not a container, at `pos`.
    #[inline(never)]
    fn leaf(&mut self, pos: usize, nl_ok: bool) -> Result<(), Stop> {
        let (start, t, end) = self.lexed(pos, nl_ok)?;
        let constant = |node| Sum { start, end, node, shape: Shape::Const, grouped: false, hashable: true };
        let leaf = match t {
            Tok::Number(n) => literal(n, start).map(|n| {
                self.num = n;
                constant(Kind::Num)
            }),
            Tok::Str(first) => self.p.checked_str_group(start, first, end, nl_ok).map(|(g, deferred)| {
                if let Some(d) = deferred {
                    self.defer(d);
                }
                Sum { end: g.end, ..constant(if g.bytes { Kind::Bytes } else { Kind::Str }) }
            }),
            Tok::Name("None") => Ok(constant(Kind::None)),
            Tok::Name("True") => Ok(constant(Kind::True)),
            Tok::Name("False") => Ok(constant(Kind::False)),
            Tok::Name("set") => self.p.empty_call(end, nl_ok, start).map(|end| Sum {
                start,
                end,
                node: Kind::Set,
                shape: Shape::Other,
                grouped: false,
                hashable: false,
            }),
            Tok::Name(_) => Err(malformed(start, "a name is not a literal")),
            Tok::Ellipsis => Ok(constant(Kind::Ellipsis)),
            Tok::Eof => Err(syntax(start, "unexpected end of input, expected a value")),
            _ => Err(syntax(start, "expected a value")),
        };
        match leaf {
            Ok(sum) => {
                self.sum = sum;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The sign at `start` (`-` when `neg`) applied to the atom scanned last, which must be a
    /// number constant.
    #[inline(never)]
    fn signed(&mut self, start: usize, neg: bool) -> Result<(), Stop> {
        let operand = self.sum;
        if operand.node != Kind::Num || operand.shape != Shape::Const {
            return Err(self.fail_malformed(start, SIGN_ONLY));
        }
        if neg {
            let adjacent = !operand.grouped && start.saturating_add(1) == operand.start;
            self.num = negate(self.num, adjacent, start, self.p.lx.text);
        }
        self.sum =
            Sum { start, end: operand.end, node: Kind::Num, shape: Shape::Signed, grouped: false, hashable: true };
        Ok(())
    }

    /// `a ±` of `a ± bj` (`-` when `sub`, the operator being the token read last): `a`, the
    /// expression scanned last, must be a real number.
    #[inline(never)]
    fn real(&mut self, sub: bool) -> Result<(), Stop> {
        let (left, at) = (self.sum, self.tok_start);
        let real = match (left.node, self.num) {
            (Kind::Num, Num::Int(i)) if left.shape != Shape::BinOp => int_to_f64(i, left.start),
            (Kind::Num, Num::Float(f)) if left.shape != Shape::BinOp => Ok(f),
            _ => Err(malformed(at, COMPLEX_ONLY)),
        };
        match real {
            Ok(real) => {
                self.left = (real, sub, at, left.start);
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// `a ± bj`, [`left`](Self::left) being `a ±` and the expression scanned last `bj`,
    /// which must be an imaginary number (nothing but a constant, so no other `a ± bj` was
    /// scanned since `left` was set).
    #[inline(never)]
    fn complex(&mut self, nl_ok: bool) -> Result<(), Stop> {
        let right = self.sum;
        let (rr, ri) = match (right.node, right.shape, self.num) {
            (Kind::Num, Shape::Const, Num::Complex(rr, ri)) => (rr, ri),
            _ => return Err(self.fail_malformed(right.start, COMPLEX_ONLY)),
        };
        let (real, sub, at, start) = self.left;
        if matches!(self.tok(right.end, nl_ok)?, Punct::Plus | Punct::Minus) {
            return Err(self.fail_malformed(at, COMPLEX_ONLY));
        }
        let (re, im) = if sub { (real - rr, 0.0 - ri) } else { (real + rr, 0.0 + ri) };
        self.num = Num::Complex(re, im);
        self.sum = Sum { start, end: right.end, node: Kind::Num, shape: Shape::BinOp, grouped: false, hashable: true };
        Ok(())
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
        return float::parse(text).ok_or_else(|| syntax(at, "invalid float literal"));
    }
    let mut buf = Digits::default();
    for c in text.chars().filter(|&c| c != '_') {
        buf.write_char(c).map_err(|_| Error::NumberTooLarge { offset: at })?;
    }
    float::parse(buf.as_str()).ok_or_else(|| syntax(at, "invalid float literal"))
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
                float::parse(buf.as_str()).ok_or(Error::NumberTooLarge { offset: at })?
            } else {
                float::parse(digits).ok_or(Error::NumberTooLarge { offset: at })?
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
mod oracle;

#[cfg(test)]
mod tests {
    extern crate std;

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

    /// The scanner gives what the plain recursive grammar gives, error or value: for
    /// expressions built from every kind of literal and container, with a few tokens
    /// replaced, removed or added, with small depth limits.
    #[test]
    fn scanner_agrees_with_the_recursive_grammar() {
        use proptest::prelude::*;
        use proptest::sample::select;
        use std::vec::Vec;
        const LEAVES: &[&str] = &[
            "1",
            "0",
            "2j",
            "1.5",
            "1e400",
            "0x_1f",
            "1_0",
            "0b1_0",
            "0o7",
            "12345678901234567890123456789012345678901",
            "'a'",
            "\"b\"",
            "'\\N{BULLET}'",
            "'\\x41'",
            "b'x'",
            "r'\\q'",
            "'''t'''",
            "'a' 'b'",
            "None",
            "True",
            "False",
            "set()",
            "...",
            "()",
            "[]",
            "{}",
        ];
        const PIECES: &[&str] = &[
            "(", ")", "[", "]", "{", "}", ",", ":", "+", "-", " ", "\n", "#c\n", "\\\n", "1", "2j", "'a'", "f'x'",
            "'u", "set", "x", "...",
        ];
        let leaf = select(LEAVES).prop_map(|s| std::vec![s]);
        let tree = leaf.prop_recursive(6, 64, 4, |inner| {
            let items = proptest::collection::vec(inner.clone(), 0..4);
            (0u8..8, items, any::<bool>()).prop_map(|(kind, items, flag)| {
                let mut out: Vec<&'static str> = Vec::new();
                let list = |out: &mut Vec<&'static str>, open, close, items: &[Vec<&'static str>], trailing: bool| {
                    out.push(open);
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(",");
                        }
                        out.extend(item);
                    }
                    if trailing || items.len() == 1 && open == "(" {
                        out.push(",");
                    }
                    out.push(close);
                };
                let first = items.first().cloned().unwrap_or_else(|| std::vec!["1"]);
                match kind {
                    0 => list(&mut out, "[", "]", &items, flag),
                    1 => list(&mut out, "(", ")", &items, flag),
                    2 if !items.is_empty() => list(&mut out, "{", "}", &items, flag),
                    3 => {
                        out.push("{");
                        for (i, pair) in items.chunks(2).enumerate() {
                            if i > 0 {
                                out.push(",");
                            }
                            out.extend(&pair[0]);
                            out.push(":");
                            out.extend(pair.get(1).unwrap_or(&pair[0]));
                        }
                        if flag {
                            out.push(",");
                        }
                        out.push("}");
                    }
                    4 => {
                        out.push("(");
                        out.extend(first);
                        out.push(")");
                    }
                    5 => {
                        out.push(if flag { "-" } else { "+" });
                        out.extend(first);
                    }
                    _ => {
                        out.extend(first);
                        out.push(if flag { "-" } else { "+" });
                        out.extend(items.get(1).cloned().unwrap_or_else(|| std::vec!["(3j)"]));
                    }
                }
                out
            })
        });
        let edits = proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, select(PIECES)), 0..3);
        let text = (tree, edits, any::<bool>()).prop_map(|(mut tokens, edits, spaced)| {
            for (at, how, piece) in edits {
                let i = at.index(tokens.len() + 1);
                match how {
                    0 if i < tokens.len() => tokens[i] = piece,
                    1 if i < tokens.len() => {
                        tokens.remove(i);
                    }
                    _ => tokens.insert(i, piece),
                }
            }
            tokens.join(if spaced { " " } else { "" })
        });
        let config = ProptestConfig { cases: 20_000, ..ProptestConfig::default() };
        proptest!(config, |(text in text, nl_ok in any::<bool>(), max_depth in 1usize..8)| {
            let p = Parser::new(&text, max_depth);
            let strip = |r: Result<Expr<'_>, Error>| std::format!("{:?}", r.map(|e| Expr { follow: None, ..e }));
            let ours = strip(p.expr(0, nl_ok, 0));
            let reference = strip(oracle::Oracle(p).expr(0, nl_ok, 0));
            prop_assert_eq!(ours, reference, "{:?}", text);
        });
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
