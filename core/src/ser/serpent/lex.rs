//! Python's tokens, as far as `ast.literal_eval` needs them: whitespace, comments and line
//! continuations between tokens, numbers, string literals (with their escapes), names and
//! punctuation. Positions are byte offsets into the whole payload.

use super::error::Error;

/// A token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Tok<'de> {
    /// `(`, `[` or `{`.
    Open(u8),
    /// `)`, `]` or `}`.
    Close(u8),
    Comma,
    Colon,
    Plus,
    Minus,
    /// `...`
    Ellipsis,
    /// An identifier (`None`, `True`, `set`...).
    Name(&'de str),
    Number(NumTok<'de>),
    Str(StrTok),
    /// The end of a logical line (only where newlines are not whitespace: outside brackets).
    Newline,
    Eof,
}

/// A number literal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct NumTok<'de> {
    /// The whole literal.
    pub(crate) text: &'de str,
    pub(crate) kind: NumKind<'de>,
}

/// What a number literal is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum NumKind<'de> {
    /// An integer: its digits (underscores included) in `radix`.
    Int { radix: u32, digits: &'de str },
    /// A float literal.
    Float,
    /// An imaginary literal; `text` ends in `j`.
    Imag,
}

/// One string literal token (prefix, quotes and body).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct StrTok {
    /// Body: `body_start..body_end`.
    pub(crate) body_start: usize,
    pub(crate) body_end: usize,
    /// `r` prefix.
    pub(crate) raw: bool,
    /// `b` prefix.
    pub(crate) bytes: bool,
    /// `f` prefix (an f-string, which `literal_eval` refuses).
    pub(crate) fstr: bool,
    /// The body holds a backslash or a carriage return: its value differs from its text.
    pub(crate) escaped: bool,
}

/// The text being tokenized.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lexer<'de> {
    pub(crate) text: &'de str,
}

/// Whether `c` may start an identifier (Python's XID_Start, approximated by `is_alphabetic`
/// outside ASCII: a name is never a literal anyway, only the error class differs).
fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (!c.is_ascii() && c.is_alphabetic())
}

/// Whether `c` may continue an identifier.
fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || (!c.is_ascii() && (c.is_alphabetic() || c.is_numeric()))
}

fn syntax(offset: usize, what: &'static str) -> Error {
    Error::Syntax { offset, what }
}

impl<'de> Lexer<'de> {
    pub(crate) fn new(text: &'de str) -> Self {
        Self { text }
    }

    fn rest(&self, pos: usize) -> &'de str {
        self.text.get(pos..).unwrap_or_default()
    }

    fn pos_of(&self, rest: &str) -> usize {
        self.text.len().saturating_sub(rest.len())
    }

    /// Skips spaces, tabs, form feeds, comments and line continuations, and newlines when
    /// `nl_ok` (inside brackets). Returns where the next token starts.
    pub(crate) fn skip_trivia(&self, pos: usize, nl_ok: bool) -> Result<usize, Error> {
        if !self.text.is_char_boundary(pos) {
            return Ok(self.text.len());
        }
        let b = self.text.as_bytes();
        let mut i = pos;
        loop {
            match b.get(i) {
                Some(b' ' | b'\t' | b'\x0c') => i += 1,
                Some(b'#') => {
                    let tail = b.get(i..).unwrap_or_default();
                    i += tail.iter().position(|&c| c == b'\n' || c == b'\r').unwrap_or(tail.len());
                }
                Some(b'\\') => match line_break_len(b.get(i + 1..).unwrap_or_default()) {
                    Some(n) => {
                        let after = i + 1 + n;
                        let tail = b.get(after..).unwrap_or_default();
                        if tail.iter().all(|&c| matches!(c, b' ' | b'\t' | b'\x0c')) {
                            return Err(syntax(i, "unexpected end of input after line continuation"));
                        }
                        i = after;
                    }
                    None => {
                        return Err(if i + 1 >= b.len() {
                            syntax(i, "unexpected end of input after line continuation")
                        } else {
                            syntax(i, "unexpected character after line continuation character")
                        });
                    }
                },
                Some(b'\n' | b'\r') if nl_ok => {
                    i += line_break_len(b.get(i..).unwrap_or_default()).unwrap_or(1);
                }
                _ => return Ok(i),
            }
        }
    }

    /// Skips what may precede the value of a payload: the header comment, blank and comment
    /// lines, leading spaces on the first line (`literal_eval` strips them). The line the value
    /// starts on may not be indented otherwise (Python: "unexpected indent").
    pub(crate) fn skip_leading(&self, pos: usize) -> Result<usize, Error> {
        let mut pos = pos;
        let mut first_line = true;
        loop {
            // Indentation is the spaces and tabs after the last form feed (which resets it);
            // `literal_eval` strips spaces and tabs from the start of the text.
            let mut lead = self.rest(pos);
            if first_line {
                lead = lead.trim_start_matches([' ', '\t']);
            }
            let lead =
                lead.get(..lead.find(|c| !matches!(c, ' ' | '\t' | '\x0c')).unwrap_or(lead.len())).unwrap_or_default();
            let indented = !lead.rsplit('\x0c').next().unwrap_or_default().is_empty();
            pos = self.skip_trivia(pos, false)?;
            match line_break(self.rest(pos)) {
                Some(after) => {
                    pos = self.pos_of(after);
                    first_line = false;
                }
                None => {
                    if indented && pos < self.text.len() {
                        return Err(Error::Indentation { offset: pos });
                    }
                    return Ok(pos);
                }
            }
        }
    }

    /// The next token after trivia: `(start, token, end)`.
    pub(crate) fn token(&self, pos: usize, nl_ok: bool) -> Result<(usize, Tok<'de>, usize), Error> {
        let start = self.skip_trivia(pos, nl_ok)?;
        let rest = self.rest(start);
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { return Ok((start, Tok::Eof, start)) };
        let one = |t: Tok<'de>| Ok((start, t, start + 1));
        match c {
            '(' | '[' | '{' => one(Tok::Open(c as u8)),
            ')' | ']' | '}' => one(Tok::Close(c as u8)),
            ',' => one(Tok::Comma),
            ':' => one(Tok::Colon),
            '+' => one(Tok::Plus),
            '-' => one(Tok::Minus),
            '\n' | '\r' => {
                let end = self.pos_of(line_break(rest).unwrap_or_default());
                Ok((start, Tok::Newline, end))
            }
            '.' if rest.starts_with("...") => Ok((start, Tok::Ellipsis, start + 3)),
            '.' if rest.as_bytes().get(1).is_some_and(u8::is_ascii_digit) => self.number(start),
            '0'..='9' => self.number(start),
            '\'' | '"' => self.string(start, start),
            c if is_ident_start(c) => {
                let name_len = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
                let name = rest.get(..name_len).unwrap_or_default();
                let after = rest.get(name_len..).unwrap_or_default();
                if after.starts_with('\'') || after.starts_with('"') {
                    if is_string_prefix(name) {
                        return self.string(start, start + name_len);
                    }
                    return Err(syntax(start, "invalid string prefix"));
                }
                Ok((start, Tok::Name(name), start + name_len))
            }
            _ => Err(syntax(start, "invalid character")),
        }
    }

    /// A number literal at `start` (Python's integer, float and imaginary literal rules).
    fn number(&self, start: usize) -> Result<(usize, Tok<'de>, usize), Error> {
        let rest = self.rest(start);
        let b = rest.as_bytes();
        let at = |j: usize| b.get(j).copied().unwrap_or(0);
        let prefixed = match (at(0), at(1).to_ascii_lowercase()) {
            (b'0', b'x') => prefixed_digits(b, 16),
            (b'0', b'o') => prefixed_digits(b, 8),
            (b'0', b'b') => prefixed_digits(b, 2),
            _ => None,
        };
        let (after, kind) = if let Some((r, end)) = prefixed {
            (end, NumKind::Int { radix: r, digits: rest.get(2..end).unwrap_or_default() })
        } else {
            let int_end = digit_part(b, 0);
            let mut j = int_end.unwrap_or(0);
            let mut frac = false;
            let mut frac_digits = false;
            if at(j) == b'.' {
                frac = true;
                j += 1;
                if let Some(e) = digit_part(b, j) {
                    frac_digits = true;
                    j = e;
                }
            }
            let mut exp = false;
            if matches!(at(j), b'e' | b'E') {
                let k = if matches!(at(j + 1), b'+' | b'-') { j + 2 } else { j + 1 };
                if let Some(e) = digit_part(b, k) {
                    exp = true;
                    j = e;
                }
            }
            let imag = matches!(at(j), b'j' | b'J');
            if imag {
                j += 1;
            }
            if int_end.is_none() && !frac_digits {
                return Err(syntax(start, "invalid decimal literal"));
            }
            if imag {
                (j, NumKind::Imag)
            } else if frac || exp {
                (j, NumKind::Float)
            } else {
                let digits = int_end.and_then(|e| rest.get(..e)).unwrap_or_default();
                if digits.starts_with('0') && digits.bytes().any(|b| b != b'0' && b != b'_') {
                    return Err(syntax(
                        start,
                        "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
                    ));
                }
                (j, NumKind::Int { radix: 10, digits })
            }
        };
        if rest.get(after..).unwrap_or_default().chars().next().is_some_and(is_ident) {
            return Err(syntax(start, "invalid number literal"));
        }
        let end = start + after;
        let text = self.text.get(start..end).unwrap_or_default();
        Ok((start, Tok::Number(NumTok { text, kind }), end))
    }

    /// A string literal whose prefix starts at `start` and whose quote is at `quote`.
    fn string(&self, start: usize, quote: usize) -> Result<(usize, Tok<'de>, usize), Error> {
        let prefix = self.text.get(start..quote).unwrap_or_default();
        let raw = prefix.contains(['r', 'R']);
        let bytes = prefix.contains(['b', 'B']);
        let fstr = prefix.contains(['f', 'F']);
        let rest = self.rest(quote);
        let qc = match rest.as_bytes().first() {
            Some(&c @ (b'\'' | b'"')) => c,
            _ => return Err(syntax(quote, "expected a quote")),
        };
        let triple = rest.as_bytes().get(..3).is_some_and(|q| q.iter().all(|&c| c == qc));
        let delim_len = if triple { 3 } else { 1 };
        let body = rest.get(delim_len..).unwrap_or_default();
        let body_start = self.pos_of(body);
        let b = body.as_bytes();
        let mut i = 0usize;
        let mut escaped = false;
        loop {
            i += find_special(b.get(i..).unwrap_or_default(), qc, bytes);
            let Some(&c) = b.get(i) else {
                return Err(syntax(start, "unterminated string literal"));
            };
            match c {
                b'\\' => {
                    // The backslash keeps the next character (even a quote or a newline) in the body;
                    // in a raw string both stay, so the value is the text unless a CR is normalized.
                    escaped |= !raw;
                    let next = body.get(i + 1..).and_then(|s| s.chars().next());
                    match next {
                        None => return Err(syntax(start, "unterminated string literal")),
                        Some('\r') => {
                            escaped = true;
                            i += if b.get(i + 2) == Some(&b'\n') { 3 } else { 2 };
                        }
                        Some(n) if bytes && !n.is_ascii() => {
                            return Err(syntax(body_start + i + 1, "bytes can only contain ascii literal characters"));
                        }
                        Some(n) => i += 1 + n.len_utf8(),
                    }
                }
                b'\n' | b'\r' if !triple => return Err(syntax(start, "unterminated string literal")),
                b'\r' => {
                    escaped = true;
                    i += 1;
                }
                _ if c == qc => {
                    if !triple {
                        break;
                    }
                    if b.get(i + 1) == Some(&qc) && b.get(i + 2) == Some(&qc) {
                        break;
                    }
                    i += 1;
                }
                _ if bytes && !c.is_ascii() => {
                    return Err(syntax(body_start + i, "bytes can only contain ascii literal characters"));
                }
                _ => i += 1,
            }
        }
        let body_end = body_start + i;
        let end = body_end + delim_len;
        Ok((start, Tok::Str(StrTok { body_start, body_end, raw, bytes, fstr, escaped }), end))
    }

    /// The body of a string token.
    pub(crate) fn body(&self, tok: &StrTok) -> &'de str {
        self.text.get(tok.body_start..tok.body_end).unwrap_or_default()
    }
}

/// Digits with single underscores between them, from `j` in `b`: where they end.
fn digit_part(b: &[u8], j: usize) -> Option<usize> {
    let run = |k: usize| b.get(k..).unwrap_or_default().iter().take_while(|c| c.is_ascii_digit()).count();
    let n = run(j);
    if n == 0 {
        return None;
    }
    let mut j = j + n;
    loop {
        let k = if b.get(j) == Some(&b'_') { j + 1 } else { j };
        let n = run(k);
        if n == 0 {
            return Some(j);
        }
        j = k + n;
    }
}

/// After a `0x`/`0o`/`0b` prefix at the start of `b`: runs of digits in `radix`, each after an
/// optional underscore (at least one run). Returns the radix and where the digits end.
fn prefixed_digits(b: &[u8], radix: u32) -> Option<(u32, usize)> {
    let run = |k: usize| {
        b.get(k..).unwrap_or_default().iter().take_while(|&&c| c.is_ascii() && char::from(c).is_digit(radix)).count()
    };
    let mut j = 2;
    let mut any = false;
    loop {
        let k = if b.get(j) == Some(&b'_') { j + 1 } else { j };
        let n = run(k);
        if n == 0 {
            return any.then_some((radix, j));
        }
        j = k + n;
        any = true;
    }
}

/// The first index in `b` of a byte a string body scan must look at: the quote `qc`, a
/// backslash, a CR or LF, or (when `nonascii`) a byte outside ASCII; `b.len()` if none.
fn find_special(b: &[u8], qc: u8, nonascii: bool) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let special = |c: u8| c == qc || c == b'\\' || c == b'\n' || c == b'\r' || (nonascii && !c.is_ascii());
    // Nonzero exactly when some byte of `x` is zero (which one is found by the rescan).
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let (q, bs, lf, cr) = (LO * u64::from(qc), LO * u64::from(b'\\'), LO * u64::from(b'\n'), LO * u64::from(b'\r'));
    let high = if nonascii { HI } else { 0 };
    let mut chunks = b.chunks_exact(8);
    let mut i = 0usize;
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        if zero(x ^ q) | zero(x ^ bs) | zero(x ^ lf) | zero(x ^ cr) | (x & high) != 0 {
            return i + chunk.iter().position(|&c| special(c)).unwrap_or(chunk.len());
        }
        i += 8;
    }
    let tail = chunks.remainder();
    i + tail.iter().position(|&c| special(c)).unwrap_or(tail.len())
}

/// The length of the line break (`\n`, `\r\n` or `\r`) at the start of `b`.
fn line_break_len(b: &[u8]) -> Option<usize> {
    match b {
        [b'\r', b'\n', ..] => Some(2),
        [b'\n' | b'\r', ..] => Some(1),
        _ => None,
    }
}

/// What follows a line break (`\n`, `\r\n` or `\r`) at the start of `s`.
fn line_break(s: &str) -> Option<&str> {
    s.strip_prefix("\r\n").or_else(|| s.strip_prefix('\n')).or_else(|| s.strip_prefix('\r'))
}

/// Python's string prefixes, in any case: r u b br rb f fr rf.
fn is_string_prefix(p: &str) -> bool {
    let mut buf = [0u8; 2];
    let Some(lower) = buf.get_mut(..p.len()) else { return false };
    for (slot, b) in lower.iter_mut().zip(p.bytes()) {
        *slot = b.to_ascii_lowercase();
    }
    matches!(&*lower, b"r" | b"u" | b"b" | b"f" | b"br" | b"rb" | b"fr" | b"rf")
}

/// Decodes the body of one string token into code points (for `str`; surrogates included)
/// or byte values (for `bytes`).
#[derive(Clone, Debug)]
pub(crate) struct Unescape<'de> {
    rest: &'de str,
    /// Offset of `rest` in the payload.
    pos: usize,
    raw: bool,
    bytes: bool,
    /// A second unit to yield next (an unknown escape keeps its backslash).
    pending: Option<u32>,
}

impl<'de> Unescape<'de> {
    pub(crate) fn new(lexer: &Lexer<'de>, tok: &StrTok) -> Self {
        Self { rest: lexer.body(tok), pos: tok.body_start, raw: tok.raw, bytes: tok.bytes, pending: None }
    }

    fn advance(&mut self, n: usize) {
        self.rest = self.rest.get(n..).unwrap_or_default();
        self.pos += n;
    }

    /// `n` hex digits as a number.
    fn hex(&mut self, n: usize, at: usize) -> Result<u32, Error> {
        let digits = self.rest.get(..n).filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some(digits) = digits else {
            return Err(syntax(at, "truncated \\xXX, \\uXXXX or \\UXXXXXXXX escape"));
        };
        let v = u32::from_str_radix(digits, 16).map_err(|_| syntax(at, "invalid escape"))?;
        self.advance(n);
        Ok(v)
    }

    fn escape(&mut self, at: usize) -> Result<Option<u32>, Error> {
        let Some(c) = self.rest.chars().next() else { return Err(syntax(at, "unterminated string literal")) };
        self.advance(c.len_utf8());
        let simple = match c {
            '\n' => return Ok(None),
            '\r' => {
                if self.rest.starts_with('\n') {
                    self.advance(1);
                }
                return Ok(None);
            }
            '\\' | '\'' | '"' => u32::from(c),
            'a' => 7,
            'b' => 8,
            'f' => 12,
            'n' => 10,
            'r' => 13,
            't' => 9,
            'v' => 11,
            '0'..='7' => {
                let mut v = u32::from(c) - u32::from('0');
                for _ in 0..2 {
                    match self.rest.as_bytes().first() {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            self.advance(1);
                        }
                        _ => break,
                    }
                }
                if self.bytes { v & 0xFF } else { v }
            }
            'x' => self.hex(2, at)?,
            'u' if !self.bytes => self.hex(4, at)?,
            'U' if !self.bytes => {
                let v = self.hex(8, at)?;
                if v > 0x10FFFF {
                    return Err(syntax(at, "illegal unicode character in \\U escape"));
                }
                v
            }
            'N' if !self.bytes => return Err(Error::NamedEscape { offset: at }),
            _ => {
                // Unknown escapes keep their backslash.
                self.pending = Some(u32::from(c));
                u32::from('\\')
            }
        };
        Ok(Some(simple))
    }
}

impl Iterator for Unescape<'_> {
    type Item = Result<u32, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(p) = self.pending.take() {
            return Some(Ok(p));
        }
        loop {
            let at = self.pos;
            let c = self.rest.chars().next()?;
            self.advance(c.len_utf8());
            match c {
                '\r' => {
                    // Python reads "\r\n" and "\r" in source as "\n".
                    if self.rest.starts_with('\n') {
                        self.advance(1);
                    }
                    return Some(Ok(u32::from('\n')));
                }
                '\\' if self.raw => {
                    // Raw: the backslash stays, and so does what it protects.
                    if let Some(n) = self.rest.chars().next() {
                        if n == '\r' {
                            if self.rest.get(1..).is_some_and(|r| r.starts_with('\n')) {
                                self.advance(2);
                            } else {
                                self.advance(1);
                            }
                            self.pending = Some(u32::from('\n'));
                        } else {
                            self.advance(n.len_utf8());
                            self.pending = Some(u32::from(n));
                        }
                    }
                    return Some(Ok(u32::from('\\')));
                }
                '\\' => match self.escape(at) {
                    Ok(Some(v)) => return Some(Ok(v)),
                    Ok(None) => continue,
                    Err(e) => return Some(Err(e)),
                },
                _ => return Some(Ok(u32::from(c))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    fn toks(s: &str) -> Vec<Tok<'_>> {
        let lx = Lexer::new(s);
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            let (_, t, end) = lx.token(pos, true).unwrap();
            out.push(t);
            if t == Tok::Eof {
                return out;
            }
            pos = end;
        }
    }

    fn num_kind(s: &str) -> Result<NumKind<'_>, Error> {
        match Lexer::new(s).token(0, false)? {
            (_, Tok::Number(n), end) if end == s.len() => Ok(n.kind),
            other => panic!("{s}: {other:?}"),
        }
    }

    fn unescape(s: &str) -> Result<Vec<u32>, Error> {
        let lx = Lexer::new(s);
        let (_, Tok::Str(t), _) = lx.token(0, false)? else { panic!("not a string: {s}") };
        Unescape::new(&lx, &t).collect()
    }

    #[test]
    fn numbers_follow_python_literal_rules() {
        assert_eq!(num_kind("0x_1f").unwrap(), NumKind::Int { radix: 16, digits: "_1f" });
        assert_eq!(num_kind("00").unwrap(), NumKind::Int { radix: 10, digits: "00" });
        assert_eq!(num_kind("1_000").unwrap(), NumKind::Int { radix: 10, digits: "1_000" });
        for f in ["1.", ".5", "1e5", "1_0.5", "1.e5", "09.5", "1e-5_0", "0e0"] {
            assert_eq!(num_kind(f).unwrap(), NumKind::Float, "{f}");
        }
        for j in ["2j", ".5j", "1e5j", "09j", "1.J"] {
            assert_eq!(num_kind(j).unwrap(), NumKind::Imag, "{j}");
        }
        for bad in
            ["01", "0_7", "1__0", "1_", "1._5", "1.5_", "1_.5", "0x", "0x1_", "0b2", "0o8", "0xffj", "1e", "1abc"]
        {
            assert!(matches!(Lexer::new(bad).token(0, false), Err(Error::Syntax { .. })), "{bad}");
        }
    }

    #[test]
    fn trivia_between_tokens() {
        assert_eq!(
            toks("[1, # c\n 2\\\n]"),
            [
                Tok::Open(b'['),
                Tok::Number(NumTok { text: "1", kind: NumKind::Int { radix: 10, digits: "1" } }),
                Tok::Comma,
                Tok::Number(NumTok { text: "2", kind: NumKind::Int { radix: 10, digits: "2" } }),
                Tok::Close(b']'),
                Tok::Eof
            ]
        );
        let lx = Lexer::new("1\n2");
        assert_eq!(lx.token(1, false).unwrap().1, Tok::Newline);
        assert!(lx.skip_trivia(0, false).is_ok());
        assert!(Lexer::new("\\x").skip_trivia(0, false).is_err());
        assert!(Lexer::new("\\").skip_trivia(0, false).is_err());
    }

    #[test]
    fn leading_lines_and_indentation() {
        let lx = Lexer::new("# serpent utf-8 python3.2\n1");
        assert_eq!(lx.skip_leading(0).unwrap(), 26);
        assert_eq!(Lexer::new("  \t1").skip_leading(0).unwrap(), 3);
        assert_eq!(Lexer::new("#h\n  #c\n\n1").skip_leading(0).unwrap(), 9);
        assert!(Lexer::new("#h\n  1").skip_leading(0).is_err());
        assert!(Lexer::new("\x0c  1").skip_leading(0).is_err());
        assert!(Lexer::new(" \x0c1").skip_leading(0).is_ok());
    }

    #[test]
    fn string_tokens_and_prefixes() {
        let t = toks("rb'a\\'' u\"x\" '''a'b''' F'x'");
        assert!(matches!(t[0], Tok::Str(StrTok { raw: true, bytes: true, escaped: false, .. })));
        assert!(matches!(t[1], Tok::Str(StrTok { raw: false, bytes: false, escaped: false, .. })));
        assert!(matches!(t[2], Tok::Str(StrTok { body_start: 16, body_end: 19, .. })));
        assert!(matches!(t[3], Tok::Str(StrTok { fstr: true, .. })));
        assert!(Lexer::new("ur'x'").token(0, false).is_err());
        assert!(Lexer::new("'abc").token(0, false).is_err());
        assert!(Lexer::new("'a\nb'").token(0, false).is_err());
        assert!(Lexer::new("b'\u{e9}'").token(0, false).is_err());
        assert!(Lexer::new("'''a''").token(0, false).is_err());
    }

    #[test]
    fn string_scan_finds_the_first_special_byte() {
        let naive = |b: &[u8], qc: u8, nonascii: bool| {
            b.iter()
                .position(|&c| c == qc || c == b'\\' || c == b'\n' || c == b'\r' || (nonascii && !c.is_ascii()))
                .unwrap_or(b.len())
        };
        let alphabet = [b'a', b'\'', b'"', b'\\', b'\n', b'\r', 0, 0x80, 0xff, 0x01, 0x7f, b'\''.wrapping_add(1)];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..40 {
            for _ in 0..200 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        if seed % 3 == 0 { alphabet[(seed >> 8) as usize % alphabet.len()] } else { b'x' }
                    })
                    .collect();
                for (qc, nonascii) in [(b'\'', false), (b'"', true)] {
                    assert_eq!(find_special(&b, qc, nonascii), naive(&b, qc, nonascii), "{b:?}");
                }
            }
        }
    }

    #[test]
    fn escapes_decode_as_python_does() {
        let cps = |s: &str| unescape(s).unwrap();
        assert_eq!(cps(r"'\a\b\f\v\0\x41\u00e9\U0001F600'"), [7, 8, 12, 11, 0, 0x41, 0xe9, 0x1F600]);
        assert_eq!(
            cps(r"'\777\400\8\q'"),
            [0o777, 0o400, u32::from('\\'), u32::from('8'), u32::from('\\'), u32::from('q')]
        );
        assert_eq!(cps(r"b'\777\u1234'"), [0xFF, u32::from('\\'), u32::from('u'), 0x31, 0x32, 0x33, 0x34]);
        assert_eq!(cps("'a\\\nb'"), [u32::from('a'), u32::from('b')]);
        assert_eq!(cps("'''a\r\nb\rc'''"), [0x61, 10, 0x62, 10, 0x63]);
        assert_eq!(cps("r'\\''"), [u32::from('\\'), u32::from('\'')]);
        assert_eq!(cps("r'a\\\r\nb'"), [0x61, u32::from('\\'), 10, 0x62]);
        assert_eq!(cps(r"'\ud800'"), [0xD800]);
        assert!(matches!(unescape(r"'\x4'"), Err(Error::Syntax { .. })));
        assert!(matches!(unescape(r"'\U00110000'"), Err(Error::Syntax { .. })));
        assert!(matches!(unescape(r"'\N{BULLET}'"), Err(Error::NamedEscape { offset: 1 })));
    }
}
