//! Python's `repr()` of a finite float: the shortest text that reads back to the same
//! number, in exponent form when the decimal exponent is below -4 or at least 16.
//!
//! Rust's `{:?}` for `f64` already picks the same digits and the same switch points; only
//! the exponent is spelled differently (`1e16` vs Python's `1e+16`, `1e-5` vs `1e-05`).

use core::fmt::{self, Write};

/// Write `value` as Python's `repr(value)` does. `value` must be finite (each format spells
/// NaN and the infinities its own way).
///
/// # Errors
/// Only those of the writer.
pub fn write_repr<W: Write>(out: &mut W, value: f64) -> fmt::Result {
    let mut buf = Buffer::default();
    write!(buf, "{value:?}")?;
    let text = buf.as_str();
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

/// Enough room for any `f64` in `{:?}` form (at most 24 bytes).
#[derive(Default)]
struct Buffer {
    bytes: [u8; 32],
    len: usize,
}

impl Buffer {
    fn as_str(&self) -> &str {
        self.bytes.get(..self.len).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or("")
    }
}

impl Write for Buffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::String;

    fn repr(v: f64) -> String {
        let mut s = String::new();
        super::write_repr(&mut s, v).unwrap();
        s
    }

    #[test]
    fn matches_python_repr() {
        for (v, text) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (core::f64::consts::PI, "3.141592653589793"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.23e20, "1.23e+20"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-2.5e-7, "-2.5e-07"),
            (123456789012345680.0, "1.2345678901234568e+17"),
        ] {
            assert_eq!(repr(v), text, "{v}");
        }
    }
}
