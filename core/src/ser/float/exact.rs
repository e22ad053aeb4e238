//! Reading and writing floats with big-integer arithmetic alone: about 4.5 KB of code where
//! core's table-driven algorithms take about 34 KB on a Cortex-M, at some cost in speed
//! (microseconds per number). Both are exact: the results equal core's (reading) and
//! Python's `repr` (writing) for every `f64`.

// Reading serves the text formats (json, serpent) only.
#![cfg_attr(not(any(feature = "json", feature = "serpent")), allow(dead_code))]

use super::big::Big;
use core::cmp::Ordering;

/// Storage for one big integer while reading: enough for 768 significant digits scaled by
/// the smallest subnormal's power of ten and shifted by 2^55 (3789 bits).
const READ_LIMBS: usize = 120;
/// Storage for one big integer while writing: `f64::MAX` times ten, or the smallest
/// subnormal scaled to its first digit (about 1140 bits).
const WRITE_LIMBS: usize = 38;
/// Significant digits kept when reading; a midpoint between two floats has at most 767,
/// further digits only tell whether the number lies above the kept ones.
const MAX_DIGITS: u32 = 768;

/// `text` as an `f64`, correctly rounded (ties to even), in the grammar of core's
/// `f64::from_str`: an optional sign, then `inf`, `infinity` or `nan` (any case), or
/// decimal digits with an optional point and an optional exponent (`e`/`E`, sign, digits).
pub(crate) fn parse(text: &str) -> Option<f64> {
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, text.get(1..)?),
        b'+' => (false, text.get(1..)?),
        _ => (false, text),
    };
    let magnitude = if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        f64::INFINITY
    } else if body.eq_ignore_ascii_case("nan") {
        f64::NAN
    } else {
        parse_decimal(body.as_bytes())?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// The decimal part of [`parse`], without sign.
fn parse_decimal(text: &[u8]) -> Option<f64> {
    let mut storage = [0u32; READ_LIMBS];
    let mut num = Big::from_u64(&mut storage, 0)?;
    // Kept significant digits, whether any dropped one was non-zero, and the power of ten
    // of the last kept digit.
    let (mut kept, mut sticky, mut exp10) = (0u32, false, 0i64);
    let (mut chunk, mut chunk_len) = (0u32, 0u32);
    let (mut seen_digit, mut seen_point) = (false, false);
    let mut rest = text;
    while let Some((&c, tail)) = rest.split_first() {
        match c {
            b'0'..=b'9' => {
                seen_digit = true;
                let d = u32::from(c - b'0');
                if kept == 0 && d == 0 {
                    // A leading zero: only moves the point.
                    exp10 -= i64::from(seen_point);
                } else if kept < MAX_DIGITS {
                    chunk = chunk * 10 + d;
                    chunk_len += 1;
                    kept += 1;
                    if chunk_len == 9 {
                        num.mul_add_small(1_000_000_000, chunk)?;
                        (chunk, chunk_len) = (0, 0);
                    }
                    exp10 -= i64::from(seen_point);
                } else {
                    sticky |= d != 0;
                    exp10 += i64::from(!seen_point);
                }
            }
            b'.' if !seen_point => seen_point = true,
            b'e' | b'E' if seen_digit => {
                exp10 = exp10.checked_add(parse_exponent(tail)?)?;
                rest = &[];
                continue;
            }
            _ => return None,
        }
        rest = tail;
    }
    if !seen_digit {
        return None;
    }
    num.mul_add_small(10u32.pow(chunk_len), chunk)?;
    if num.is_zero() {
        return Some(0.0);
    }
    // The number is num * 10^exp10, with `kept` digits in num.
    let magnitude = exp10 + i64::from(kept);
    if magnitude > 310 {
        return Some(f64::INFINITY);
    }
    if magnitude < -324 {
        return Some(0.0);
    }
    let mut den_storage = [0u32; READ_LIMBS];
    let mut den = Big::from_u64(&mut den_storage, 1)?;
    let scale = u32::try_from(exp10.unsigned_abs()).ok()?;
    if exp10 >= 0 {
        num.mul_pow10(scale)?;
    } else {
        den.mul_pow10(scale)?;
    }
    round_quotient(&mut num, &mut den, sticky)
}

/// The exponent digits after `e`: an optional sign and at least one digit. Saturates far
/// beyond any float's range.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first()? {
        b'-' => (true, text.get(1..)?),
        b'+' => (false, text.get(1..)?),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value = 0i64;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        value = (value * 10 + i64::from(c - b'0')).min(1 << 40);
    }
    Some(if negative { -value } else { value })
}

/// The `f64` nearest to `num / den` (ties to even; `sticky`: the true value lies a little
/// above `num / den`). `num` and `den` are used as scratch.
fn round_quotient(num: &mut Big<'_>, den: &mut Big<'_>, sticky: bool) -> Option<f64> {
    // The value lies in [2^(t-1), 2^(t+1)); divided by 2^e it lies in [2^52, 2^54).
    let t = i64::from(num.bit_len()) - i64::from(den.bit_len());
    let mut e = (t - 53).max(-1074);
    let shift = u32::try_from(e.unsigned_abs()).ok()?;
    if e >= 0 {
        den.shl(shift)?;
    } else {
        num.shl(shift)?;
    }
    // q = floor(num / den) < 2^54, one bit at a time against den * 2^54.
    den.shl(54)?;
    let mut q = 0u64;
    for _ in 0..54 {
        num.shl(1)?;
        q <<= 1;
        if num.cmp(den) != Ordering::Less {
            num.sub(den)?;
            q |= 1;
        }
    }
    // The remainder num / den against one half.
    let mut half = if q >= 1 << 53 {
        // One bit too many: the dropped bit joins the remainder.
        e += 1;
        let dropped = q & 1;
        q >>= 1;
        match (dropped, num.is_zero()) {
            (0, _) => Ordering::Less,
            (_, true) => Ordering::Equal,
            _ => Ordering::Greater,
        }
    } else {
        num.shl(1)?;
        num.cmp(den)
    };
    if sticky && half == Ordering::Equal {
        half = Ordering::Greater;
    }
    if half == Ordering::Greater || (half == Ordering::Equal && q & 1 == 1) {
        q += 1;
        if q == 1 << 53 {
            q = 1 << 52;
            e += 1;
        }
    }
    let bits = if q >= 1 << 52 {
        let biased = e + 1075;
        if biased >= 2047 {
            return Some(f64::INFINITY);
        }
        (u64::try_from(biased).ok()? << 52) | (q - (1 << 52))
    } else {
        // Subnormal (e is -1074 here).
        q
    };
    Some(f64::from_bits(bits))
}

/// The shortest decimal digits that read back as `value` (positive and finite), the nearest
/// of them to `value`, the even last digit on a tie (as Python's `repr`, David Gay's mode
/// 0). Returns the digits (ASCII, in `digits`), their count and the decimal exponent `k`:
/// `value` ≈ 0.d1d2... × 10^k.
fn shortest(value: f64, digits: &mut [u8; 17]) -> Option<(usize, i32)> {
    let bits = value.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (f, e) = if biased == 0 { (fraction, -1074) } else { (fraction | (1 << 52), biased - 1075) };
    // Numbers whose mantissa is even read back from the boundaries too.
    let inclusive = f & 1 == 0;
    // The gap below a power of two is half the gap above it.
    let asymmetric = u32::from(fraction == 0 && biased > 1);
    // value = r / s; the numbers reading back as value lie within (r - m_minus) / s and
    // (r + m_minus * 2^asymmetric) / s (Burger and Dybvig).
    let (pos, neg) = (e.max(0).unsigned_abs(), (-e).max(0).unsigned_abs());
    let mut storage = [[0u32; WRITE_LIMBS]; 4];
    let [r_limbs, s_limbs, m_limbs, t_limbs] = &mut storage;
    let mut r = Big::from_u64(r_limbs, f)?;
    r.shl(pos + 1 + asymmetric)?;
    let mut s = Big::from_u64(s_limbs, 1)?;
    s.shl(neg + 1 + asymmetric)?;
    let mut m_minus = Big::from_u64(m_limbs, 1)?;
    m_minus.shl(pos)?;
    let mut high = Big::from_u64(t_limbs, 0)?;
    // k: the smallest with (r + m_plus) / s below 10^k; start at or below it.
    let top_bit = i64::from(e) + i64::from(64 - f.leading_zeros()) - 1;
    let mut k = ((top_bit * 78_913) >> 18) as i32;
    let scale = k.unsigned_abs();
    if k >= 0 {
        s.mul_pow10(scale)?;
    } else {
        r.mul_pow10(scale)?;
        m_minus.mul_pow10(scale)?;
    }
    let above = |r: &Big<'_>, m_minus: &Big<'_>, s: &Big<'_>, high: &mut Big<'_>| -> Option<bool> {
        high.set(m_minus)?;
        high.shl(asymmetric)?;
        high.add(r)?;
        let c = high.cmp(s);
        Some(c == Ordering::Greater || (inclusive && c == Ordering::Equal))
    };
    while above(&r, &m_minus, &s, &mut high)? {
        s.mul_pow10(1)?;
        k += 1;
    }
    let mut len = 0;
    loop {
        r.mul_pow10(1)?;
        m_minus.mul_pow10(1)?;
        let mut d = 0u8;
        while r.cmp(&s) != Ordering::Less {
            r.sub(&s)?;
            d += 1;
        }
        let low = match r.cmp(&m_minus) {
            Ordering::Less => true,
            Ordering::Equal => inclusive,
            Ordering::Greater => false,
        };
        let up = above(&r, &m_minus, &s, &mut high)?;
        let last = match (low, up) {
            (false, false) => {
                *digits.get_mut(len)? = b'0' + d;
                len += 1;
                continue;
            }
            (true, false) => d,
            (false, true) => d + 1,
            (true, true) => {
                r.shl(1)?;
                match r.cmp(&s) {
                    Ordering::Less => d,
                    Ordering::Greater => d + 1,
                    Ordering::Equal => d + (d & 1),
                }
            }
        };
        *digits.get_mut(len)? = b'0' + last;
        len += 1;
        break;
    }
    // A last digit rounded up to ten carries into the digits before it.
    let mut i = len;
    while i > 0 && digits.get(i - 1) == Some(&(b'0' + 10)) {
        *digits.get_mut(i - 1)? = b'0';
        i -= 1;
        match i.checked_sub(1) {
            Some(j) => *digits.get_mut(j)? += 1,
            None => {
                *digits.first_mut()? = b'1';
                len = 1;
                k += 1;
            }
        }
    }
    while len > 1 && digits.get(len - 1) == Some(&b'0') {
        len -= 1;
    }
    Some((len, k))
}

/// Write `value` (finite) as Python's `repr` does.
pub(crate) fn write_repr<W: core::fmt::Write>(out: &mut W, value: f64) -> core::fmt::Result {
    if value.is_sign_negative() {
        out.write_char('-')?;
    }
    let value = value.abs();
    if value == 0.0 {
        return out.write_str("0.0");
    }
    let mut digits = [0u8; 17];
    let (len, k) = shortest(value, &mut digits).ok_or(core::fmt::Error)?;
    let digits = digits.get(..len).and_then(|d| core::str::from_utf8(d).ok()).ok_or(core::fmt::Error)?;
    let exponent = k - 1;
    let zeros = |out: &mut W, n: i32| (0..n).try_for_each(|_| out.write_char('0'));
    if (-4..16).contains(&exponent) {
        if k <= 0 {
            // 0.000ddd
            out.write_str("0.")?;
            zeros(out, -k)?;
            out.write_str(digits)
        } else {
            let point = k.unsigned_abs() as usize;
            match (digits.get(..point), digits.get(point..)) {
                (Some(int), Some(frac)) if !frac.is_empty() => {
                    out.write_str(int)?;
                    out.write_char('.')?;
                    out.write_str(frac)
                }
                _ => {
                    out.write_str(digits)?;
                    zeros(out, k - len as i32)?;
                    out.write_str(".0")
                }
            }
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.write_str(first)?;
        if !rest.is_empty() {
            out.write_char('.')?;
            out.write_str(rest)?;
        }
        out.write_char('e')?;
        out.write_char(if exponent < 0 { '-' } else { '+' })?;
        let exponent = exponent.unsigned_abs();
        if exponent < 10 {
            out.write_char('0')?;
        }
        write_u32(out, exponent)
    }
}

/// `n` in decimal, without core's integer formatting.
fn write_u32<W: core::fmt::Write>(out: &mut W, n: u32) -> core::fmt::Result {
    if n >= 10 {
        write_u32(out, n / 10)?;
    }
    out.write_char(char::from(b'0' + (n % 10) as u8))
}
