//! Floats through core's own formatting and parsing (fast, table-driven): Rust's `{:?}`
//! already picks Python's digits and switch points, only the exponent is spelled
//! differently (`1e16` vs Python's `1e+16`, `1e-5` vs `1e-05`) and exact ties go the other
//! way.

use core::fmt::{self, Write};

/// Write `value` (finite) as Python's `repr` does.
pub(crate) fn write_repr<W: Write>(out: &mut W, value: f64) -> fmt::Result {
    let mut buf = Buffer::<32>::default();
    write!(buf, "{value:?}")?;
    let mut text = buf;
    if let Some(even) = even_tie(value) {
        // Same length and position as Rust's text: only the last digit changes.
        text = even;
    }
    let text = text.as_str();
    match text.split_once('e') {
        None => out.write_str(text),
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            out.write_str(mantissa)?;
            out.write_char('e')?;
            out.write_char(sign)?;
            if digits.len() < 2 {
                out.write_char('0')?;
            }
            out.write_str(digits)
        }
    }
}

/// When `value` lies exactly halfway between two shortest decimal texts, Python (David
/// Gay's algorithm) takes the one whose last digit is even, while Rust's formatting takes
/// the upper one. Returns Rust's `{:?}` text with the last digit made even in that case.
fn even_tie(value: f64) -> Option<Buffer<32>> {
    let mut debug = Buffer::<32>::default();
    write!(debug, "{value:?}").ok()?;
    let text = debug.as_str();
    let mantissa_end = text.find('e').unwrap_or(text.len());
    let last_digit = *text.as_bytes().get(mantissa_end.checked_sub(1)?)?;
    if !last_digit.is_ascii_digit() || (last_digit - b'0') % 2 == 0 || last_digit == b'9' {
        return None;
    }
    // The shortest digits, from the scientific form (which has no padding zeros).
    let mut sci = Buffer::<32>::default();
    write!(sci, "{:e}", value.abs()).ok()?;
    let (sci_mantissa, sci_exp) = sci.as_str().split_once('e')?;
    let digits = Digits::from_mantissa(sci_mantissa)?;
    // Candidate: last digit one lower (even). It must read back as the same number...
    let lower = digits.with_last_decremented()?;
    let mut candidate = Buffer::<40>::default();
    write!(candidate, "{}e{sci_exp}", lower.as_scientific()).ok()?;
    if candidate.as_str().parse::<f64>().ok()? != value.abs() {
        return None;
    }
    // ...and `value` must be exactly the midpoint: the lower digits, then 5, then zeros.
    let precision = lower.len; // digits after the point = (len + 1) - 1
    let mut exact = Buffer::<1100>::default();
    write!(exact, "{:.*e}", precision.checked_add(800)?, value.abs()).ok()?;
    let (exact_mantissa, exact_exp) = exact.as_str().split_once('e')?;
    if exact_exp != sci_exp {
        return None;
    }
    let exact_digits = exact_mantissa.bytes().filter(u8::is_ascii_digit);
    let mut expected = lower.bytes().chain(core::iter::once(b'5'));
    let mut is_tie = true;
    for (i, d) in exact_digits.enumerate() {
        let want = if i <= lower.len { expected.next() } else { Some(b'0') };
        if want != Some(d) {
            is_tie = false;
            break;
        }
    }
    if !is_tie {
        return None;
    }
    let mut fixed = Buffer::<32>::default();
    fixed.write_str(text.get(..mantissa_end - 1)?).ok()?;
    fixed.write_char(char::from(last_digit - 1)).ok()?;
    fixed.write_str(text.get(mantissa_end..)?).ok()?;
    Some(fixed)
}

/// Up to 17 significant decimal digits.
#[derive(Clone, Copy)]
struct Digits {
    digits: [u8; 20],
    len: usize,
}

impl Digits {
    /// From `d.ddd` (scientific mantissa without exponent).
    fn from_mantissa(m: &str) -> Option<Self> {
        let mut d = Digits { digits: [0; 20], len: 0 };
        for b in m.bytes().filter(u8::is_ascii_digit) {
            *d.digits.get_mut(d.len)? = b;
            d.len += 1;
        }
        (d.len > 0).then_some(d)
    }
    fn with_last_decremented(mut self) -> Option<Self> {
        let last = self.digits.get_mut(self.len.checked_sub(1)?)?;
        *last = last.checked_sub(1).filter(|d| d.is_ascii_digit())?;
        Some(self)
    }
    fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.digits.iter().copied().take(self.len)
    }
    /// `d.ddd` for parsing.
    fn as_scientific(&self) -> impl fmt::Display + '_ {
        struct S<'a>(&'a Digits);
        impl fmt::Display for S<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for (i, b) in self.0.bytes().enumerate() {
                    if i == 1 {
                        f.write_char('.')?;
                    }
                    f.write_char(char::from(b))?;
                }
                Ok(())
            }
        }
        S(self)
    }
}

/// A small text buffer on the stack.
#[derive(Clone, Copy)]
struct Buffer<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Default for Buffer<N> {
    fn default() -> Self {
        Self { bytes: [0; N], len: 0 }
    }
}

impl<const N: usize> Buffer<N> {
    fn as_str(&self) -> &str {
        self.bytes.get(..self.len).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or("")
    }
}

impl<const N: usize> Write for Buffer<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
