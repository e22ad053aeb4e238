//! A quick way over the serpent that Python writes for ordinary values (plain strings, ints,
//! `True`/`False`/`None`, tuples, lists, dicts, spaces): where a value is only made of those,
//! its end is found in one pass over the bytes; anything else (escapes, floats, sets, names,
//! comments, newlines, deep nesting) is left to the full parser, which decides as before.
//! Only inputs the full parser accepts are accepted here, with the same span (checked by the
//! tests against the full parser).

/// The end of the value starting at `at`, or `None` to ask the full parser.
pub(super) fn value_end(bytes: &[u8], at: usize, max_depth: usize) -> Option<usize> {
    let quick = Quick { bytes, max_depth };
    let end = quick.value(at, 0)?;
    // The full parser looks at what follows (an operator, another literal): only the end or
    // punctuation that closes the value is taken as is.
    matches!(quick.at(quick.spaces(end)), None | Some(b',' | b')' | b']' | b'}' | b':')).then_some(end)
}

struct Quick<'a> {
    bytes: &'a [u8],
    max_depth: usize,
}

impl Quick<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    fn spaces(&self, mut i: usize) -> usize {
        while self.at(i) == Some(b' ') {
            i += 1;
        }
        i
    }

    /// What may follow a number or a name: the end, a space or punctuation that ends it.
    fn ends_token(&self, i: usize) -> bool {
        matches!(self.at(i), None | Some(b' ' | b',' | b')' | b']' | b'}' | b':'))
    }

    fn value(&self, i: usize, depth: usize) -> Option<usize> {
        match self.at(i)? {
            quote @ (b'\'' | b'"') => self.string(i, quote),
            b'-' => self.digits(i + 1),
            b'0'..=b'9' => self.digits(i),
            b'(' => self.seq(i, depth, b')', true),
            b'[' => self.seq(i, depth, b']', false),
            b'{' => self.dict(i, depth),
            b'T' => self.word(i, b"True"),
            b'F' => self.word(i, b"False"),
            b'N' => self.word(i, b"None"),
            _ => None,
        }
    }

    fn string(&self, i: usize, quote: u8) -> Option<usize> {
        let mut j = i + 1;
        loop {
            let c = self.at(j)?;
            if c == quote {
                break;
            }
            if c == b'\\' || !(0x20..0x7f).contains(&c) {
                return None;
            }
            j += 1;
        }
        let end = j + 1;
        // 'a' 'b' is one string in Python: the full parser joins them.
        if matches!(self.at(self.spaces(end)), Some(b'\'' | b'"')) {
            return None;
        }
        Some(end)
    }

    fn digits(&self, i: usize) -> Option<usize> {
        let mut j = i;
        match self.at(j)? {
            // Python reads no leading zeros ("01" is a syntax error).
            b'0' => j += 1,
            b'1'..=b'9' => {
                while matches!(self.at(j), Some(b'0'..=b'9')) {
                    j += 1;
                }
            }
            _ => return None,
        }
        self.ends_token(j).then_some(j)
    }

    fn word(&self, i: usize, word: &[u8]) -> Option<usize> {
        let end = i + word.len();
        (self.bytes.get(i..end)? == word && self.ends_token(end)).then_some(end)
    }

    /// A tuple (at least one comma, or empty) or a list.
    fn seq(&self, i: usize, depth: usize, close: u8, tuple: bool) -> Option<usize> {
        if depth + 2 >= self.max_depth {
            return None;
        }
        let mut j = self.spaces(i + 1);
        if self.at(j)? == close {
            return Some(j + 1);
        }
        let mut commas = 0;
        loop {
            j = self.spaces(self.value(j, depth + 1)?);
            match self.at(j)? {
                b',' => {
                    commas += 1;
                    j = self.spaces(j + 1);
                    if self.at(j)? == close {
                        j += 1;
                        break;
                    }
                }
                c if c == close => {
                    j += 1;
                    break;
                }
                _ => return None,
            }
        }
        (!tuple || commas > 0).then_some(j)
    }

    /// A dict (a set, without colons, is left to the full parser).
    fn dict(&self, i: usize, depth: usize) -> Option<usize> {
        if depth + 2 >= self.max_depth {
            return None;
        }
        let mut j = self.spaces(i + 1);
        if self.at(j)? == b'}' {
            return Some(j + 1);
        }
        loop {
            j = self.spaces(self.value(j, depth + 1)?);
            if self.at(j)? != b':' {
                return None;
            }
            j = self.spaces(self.value(self.spaces(j + 1), depth + 1)?);
            match self.at(j)? {
                b',' => {
                    j = self.spaces(j + 1);
                    if self.at(j)? == b'}' {
                        return Some(j + 1);
                    }
                }
                b'}' => return Some(j + 1),
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::String;
    use std::vec;

    use proptest::prelude::*;

    use super::super::{DEFAULT_MAX_DEPTH, parse};

    /// The full parser's span of the value at the start of `text` (after trivia).
    fn full(text: &str, max_depth: usize) -> Option<(usize, usize)> {
        let parser = parse::Parser::new(text, max_depth);
        let start = parser.lx.skip_trivia(0, true).ok()?;
        let expr = parser.expr(start, true, 0).ok()?;
        if expr.deferred.is_some() || text.as_bytes()[expr.start..expr.end].contains(&0) {
            return None;
        }
        Some((expr.start, expr.end))
    }

    fn agrees(text: &str, max_depth: usize) {
        if let Some(end) = super::value_end(text.as_bytes(), 0, max_depth) {
            assert_eq!(full(text, max_depth), Some((0, end)), "{text:?}");
        }
    }

    #[test]
    fn what_python_writes_for_a_call_takes_the_quick_way_to_the_same_end() {
        for text in [
            "('test.echoserver', 'echo', ('hello',), {})",
            "('obj', 'm', (1, -2, True, None, [], [1, [2, 3]], {'a': (1,)}), {'k': 'v', 'n': 0})",
            "'x', rest",
            "{}",
            "()",
            "[1, 2, ]",
        ] {
            let end = super::value_end(text.as_bytes(), 0, DEFAULT_MAX_DEPTH).expect(text);
            assert_eq!(full(text, DEFAULT_MAX_DEPTH), Some((0, end)), "{text}");
        }
        for text in ["(1)", "'a' 'b'", "1.5", "01", "{1, 2}", "'\\n'", "x", "(1,\n2)", "True()", "'\u{e9}'"] {
            assert_eq!(super::value_end(text.as_bytes(), 0, DEFAULT_MAX_DEPTH), None, "{text}");
        }
    }

    /// Every value of every recorded serpent payload: where the quick way is taken, it ends
    /// where the full parser does.
    #[test]
    fn recorded_payloads_end_where_the_full_parser_ends() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/payloads/serpent");
        let mut quick = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let Ok(text) = core::str::from_utf8(&bytes) else { continue };
            // Each position where a value may start.
            for (at, _) in text.char_indices() {
                if let Some(end) = super::value_end(text.as_bytes(), at, DEFAULT_MAX_DEPTH) {
                    quick += 1;
                    let parser = parse::Parser::new(text, DEFAULT_MAX_DEPTH);
                    let expr = parser.expr(at, true, 0).expect(text);
                    assert_eq!((expr.start, expr.end), (at, end), "{text:?} at {at}");
                }
            }
        }
        assert!(quick > 100, "the quick way was taken {quick} times");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5_000, ..ProptestConfig::default() })]
        #[test]
        fn never_disagrees_with_the_full_parser(
            parts in proptest::collection::vec(prop_oneof![
                Just("("), Just(")"), Just("["), Just("]"), Just("{"), Just("}"), Just(","), Just(":"),
                Just(" "), Just("'"), Just("\""), Just("a"), Just("0"), Just("7"), Just("-"), Just("True"),
                Just("None"), Just("False"), Just("\\"), Just("."), Just("e"), Just("\n"), Just("#"),
            ], 0..24),
            max_depth in 1usize..6,
        ) {
            let text: String = parts.concat();
            agrees(&text, max_depth);
            agrees(&text, DEFAULT_MAX_DEPTH);
        }
    }
}
