//! The grammar of `parse.rs` as plain recursive functions, one per rule, each returning a
//! whole [`Expr`]: the reference the scanner is tested against (for every input both must
//! give the same result).

use super::*;

/// The plain recursive scanner over a [`Parser`].
pub(super) struct Oracle<'de>(pub(super) Parser<'de>);

impl<'de> core::ops::Deref for Oracle<'de> {
    type Target = Parser<'de>;
    fn deref(&self) -> &Parser<'de> {
        &self.0
    }
}

impl<'de> Oracle<'de> {
    /// One expression: a literal, a container, a signed number or `a ± bj`.
    pub(super) fn expr(&self, pos: usize, nl_ok: bool, depth: usize) -> Result<Expr<'de>, Error> {
        let first = self.token(pos, nl_ok)?;
        self.expr_at(first, nl_ok, depth)
    }

    /// The token after `e` (lexed with `nl_ok`).
    fn after(&self, e: &Expr<'de>, nl_ok: bool) -> Result<Lexed<'de>, Error> {
        match e.follow {
            Some((nl, t)) if nl == nl_ok => Ok(t),
            _ => self.token(e.end, nl_ok),
        }
    }

    /// As [`expr`](Self::expr), given its first token (lexed with `nl_ok`).
    fn expr_at(&self, first: Lexed<'de>, nl_ok: bool, depth: usize) -> Result<Expr<'de>, Error> {
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
}
