//! Floats as Python writes and reads them: `repr()` of a finite float is the shortest text
//! that reads back to the same number (the nearest such, the even digit on a tie), in
//! exponent form when the decimal exponent is below -4 or at least 16; reading is correctly
//! rounded.
//!
//! Two implementations give the same results: core's table-driven formatting and parsing
//! (fast; the default) and, with the `small` feature, big-integer algorithms (Burger and
//! Dybvig's shortest digits, and an exact quotient for reading): about 4.5 KB of flash on a
//! Cortex-M where core's take about 34 KB, at a few microseconds per number (`cargo bench
//! -p pyro5-core --features small --bench float` compares the two).

#[cfg(any(feature = "small", test, fuzzing))]
mod big;
#[cfg(any(not(feature = "small"), test, fuzzing))]
mod core_fmt;
#[cfg(any(fuzzing, all(test, feature = "std")))]
pub(crate) use core_fmt::write_repr as write_repr_core;
#[cfg(any(feature = "small", test, fuzzing))]
pub(crate) mod exact;

use core::fmt::{self, Write};

/// Write `value` as Python's `repr(value)` does. `value` must be finite (each format spells
/// NaN and the infinities its own way).
///
/// # Errors
/// Only those of the writer.
pub fn write_repr<W: Write>(out: &mut W, value: f64) -> fmt::Result {
    #[cfg(feature = "small")]
    return exact::write_repr(out, value);
    #[cfg(not(feature = "small"))]
    return core_fmt::write_repr(out, value);
}

/// `text` as an `f64`, correctly rounded, in the grammar of core's `f64::from_str`: an
/// optional sign, then `inf`, `infinity` or `nan` (any case), or decimal digits with an
/// optional point and an optional exponent. `None` for anything else.
#[cfg(any(feature = "json", feature = "serpent"))]
pub(crate) fn parse(text: &str) -> Option<f64> {
    #[cfg(feature = "small")]
    return exact::parse(text);
    #[cfg(not(feature = "small"))]
    return text.parse().ok();
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::format;
    use std::string::String;

    fn repr_both(v: f64) -> (String, String) {
        let (mut a, mut b) = (String::new(), String::new());
        super::core_fmt::write_repr(&mut a, v).unwrap();
        super::exact::write_repr(&mut b, v).unwrap();
        (a, b)
    }

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
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
            (0.001_234, "0.001234"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (-2.5e-7, "-2.5e-07"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (9007199254740993.0, "9007199254740992.0"),
            // Exactly halfway between two shortest texts: Python takes the even digit.
            ("-625672384024554.25".parse().unwrap(), "-625672384024554.2"),
            ("2223007634874.78125".parse().unwrap(), "2223007634874.7812"),
            (0.125, "0.125"),
            (2.5, "2.5"),
            (1e100, "1e+100"),
            (1e23, "1e+23"),
        ] {
            let (a, b) = repr_both(v);
            assert_eq!(a, text, "core's formatting of {v:e}");
            assert_eq!(b, text, "exact formatting of {v:e}");
        }
    }

    #[test]
    fn both_writers_agree() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for i in 0..40_000u64 {
            let bits = match i % 4 {
                // Any finite pattern, subnormals included.
                0 | 1 => rng.next(),
                // Powers of two and their neighbours (the uneven gaps).
                2 => ((rng.next() % 2046 + 1) << 52) | (rng.next() % 3),
                // Small integers and short decimals.
                _ => f64::to_bits((rng.next() % 100_000) as f64 / [1.0, 10.0, 100.0, 8.0][(i / 4 % 4) as usize]),
            };
            let v = f64::from_bits(bits);
            if !v.is_finite() {
                continue;
            }
            let (a, b) = repr_both(v);
            assert_eq!(a, b, "bits {bits:#x}");
        }
    }

    #[test]
    fn exact_ties_go_to_the_even_digit() {
        // Numbers with few fraction bits often sit exactly between two shortest texts.
        let mut rng = Rng(7);
        let mut ties = 0;
        for _ in 0..20_000 {
            let v = (rng.next() >> 11) as f64 / f64::from(1u32 << (rng.next() % 12));
            let (a, b) = repr_both(v);
            assert_eq!(a, b, "{v:e}");
            ties += usize::from(format!("{v:?}") != a);
        }
        assert!(ties > 0, "no ties were generated");
    }

    fn check_parse(text: &str) {
        let want = text.parse::<f64>().ok();
        let got = super::exact::parse(text);
        match (want, got) {
            (Some(w), Some(g)) if w.is_nan() && g.is_nan() => {}
            (Some(w), Some(g)) => assert_eq!(w.to_bits(), g.to_bits(), "{text}"),
            (w, g) => assert_eq!(w, g, "{text}"),
        }
    }

    #[test]
    fn exact_reading_matches_core() {
        for text in [
            "0",
            "-0",
            "+0.0",
            "1",
            "1.",
            ".5",
            "1.e5",
            ".",
            "",
            "-",
            "+",
            "e5",
            "1e",
            "1e+",
            "1e-",
            "1E5",
            "1e+05",
            "inf",
            "-Infinity",
            "NaN",
            "-nan",
            "infinit",
            "nan1",
            "1_0",
            " 1",
            "1 ",
            "0x10",
            "1.5.2",
            "1e5.5",
            "5e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "1e-400",
            "1e400",
            "1e99999999999999999999",
            "0e99999999999999999999",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "2.2250738585072011e-308",
            "2.2250738585072012e-308",
            "9007199254740993",
            "123456789012345678901234567890",
            "0.000000000000000000000000000000000001",
            "3.141592653589793",
            "00000.00001e00005",
        ] {
            check_parse(text);
        }
        let mut rng = Rng(42);
        for i in 0..30_000u64 {
            let v = f64::from_bits(rng.next());
            if !v.is_finite() {
                continue;
            }
            // Shortest texts, and texts cut to a few digits or carrying many.
            let precision = (rng.next() % 25) as usize;
            check_parse(&format!("{v:e}"));
            check_parse(&format!("{v:.precision$e}"));
            if i % 16 == 0 {
                check_parse(&format!("{:.*}", (rng.next() % 40) as usize, v * 1e-300));
            }
        }
    }

    #[test]
    fn exact_reading_of_midpoints_needs_every_digit() {
        // The exact midpoint between a float and the next one up, written out in full (up to
        // 767 significant digits), reads as the even one of the two; a digit more or less
        // at the very end moves it.
        let mut rng = Rng(3);
        for i in 0..400 {
            let bits = if i % 2 == 0 { rng.next() % (1 << 53) } else { rng.next() >> 2 };
            let v = f64::from_bits(bits);
            let next = f64::from_bits(bits + 1);
            if !next.is_finite() {
                continue;
            }
            let mid = midpoint_text(v, next);
            check_parse(&mid);
            let trimmed = mid.trim_end_matches('0');
            check_parse(trimmed);
            let mantissa_end = trimmed.find('e').unwrap_or(trimmed.len());
            let mut above = String::from(trimmed.get(..mantissa_end).unwrap());
            above.push_str("000001");
            above.push_str(trimmed.get(mantissa_end..).unwrap());
            check_parse(&above);
        }
    }

    /// The exact decimal text of (a + b) / 2 for adjacent positive floats a < b.
    fn midpoint_text(a: f64, b: f64) -> String {
        // Exact decimal expansions: every f64 has a finite one (at most 1074 fraction digits).
        let da = format!("{a:.1080}");
        let db = format!("{b:.1080}");
        // Add digit strings and halve.
        let (ia, fa) = da.split_once('.').unwrap();
        let (ib, fb) = db.split_once('.').unwrap();
        let width = ia.len().max(ib.len());
        let x: std::vec::Vec<u8> = format!("{ia:0>width$}{fa}").bytes().map(|c| c - b'0').collect();
        let y: std::vec::Vec<u8> = format!("{ib:0>width$}{fb}").bytes().map(|c| c - b'0').collect();
        let mut sum = std::vec![0u8; x.len() + 1];
        let mut carry = 0;
        for i in (0..x.len()).rev() {
            let s = x[i] + y[i] + carry;
            sum[i + 1] = s % 10;
            carry = s / 10;
        }
        sum[0] = carry;
        // Halve, with one more fraction digit for the final 5.
        sum.push(0);
        let mut rem = 0;
        for d in sum.iter_mut() {
            let v = rem * 10 + *d;
            *d = v / 2;
            rem = v % 2;
        }
        let int_len = width + 1;
        let digits: String = sum.iter().map(|d| char::from(b'0' + d)).collect();
        format!("{}.{}", &digits[..int_len], &digits[int_len..])
    }
}
