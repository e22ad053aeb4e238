//! Python ints as marshal's `l` holds them: base-2¹⁵ digits, least significant first, and
//! their decimal text, converted on the stack without allocation.

/// Most base-2¹⁵ digits converted to or from decimal text: 274 digits hold 4110 bits, enough
/// for a 4096-bit integer.
pub const MAX_LONG_DIGITS: usize = 274;

/// Most decimal digits of an integer of [`MAX_LONG_DIGITS`] digits (⌈4110 · log₁₀ 2⌉).
pub(super) const MAX_DECIMAL_DIGITS: usize = 1238;

/// Room for the decimal text of the largest integer converted, sign included.
pub(super) const DECIMAL_BUF: usize = MAX_DECIMAL_DIGITS + 1;

const BASE_BITS: u32 = 15;
const MASK: u32 = 0x7fff;

/// An integer's magnitude in base-2¹⁵ digits, least significant first, without leading zero
/// digits.
pub(super) struct Digits {
    digits: [u16; MAX_LONG_DIGITS],
    /// `len <= MAX_LONG_DIGITS`; `digits[len - 1] != 0` when `len > 0`.
    len: usize,
}

impl Digits {
    /// Zero.
    pub(super) fn new() -> Self {
        Self { digits: [0; MAX_LONG_DIGITS], len: 0 }
    }

    /// The digits in use.
    pub(super) fn as_slice(&self) -> &[u16] {
        self.digits.get(..self.len).unwrap_or(&[])
    }

    /// Parse decimal digits (ASCII `0-9` only, no sign). `None` when the number has more than
    /// [`MAX_LONG_DIGITS`] digits or `text` holds anything else.
    pub(super) fn from_decimal(text: &[u8]) -> Option<Self> {
        let mut out = Self::new();
        for chunk in text.chunks(4) {
            let mut add = 0u32;
            let mut mul = 1u32;
            for &c in chunk {
                if !c.is_ascii_digit() {
                    return None;
                }
                add = add * 10 + u32::from(c - b'0');
                mul *= 10;
            }
            out.mul_add(mul, add)?;
        }
        Some(out)
    }

    /// Copy marshal's digit bytes (u16 LE pairs, already checked to be below 2¹⁵).
    pub(super) fn from_wire(bytes: &[u8]) -> Option<Self> {
        let mut out = Self::new();
        for (slot, pair) in out.digits.iter_mut().zip(bytes.chunks_exact(2)) {
            let mut le = [0u8; 2];
            le.copy_from_slice(pair);
            *slot = u16::from_le_bytes(le);
        }
        let n = bytes.len() / 2;
        if n > MAX_LONG_DIGITS {
            return None;
        }
        out.len = n;
        out.trim();
        Some(out)
    }

    /// Digits of `value`.
    pub(super) fn from_u128(mut value: u128) -> Self {
        let mut out = Self::new();
        while value != 0 {
            // At most 9 digits for 128 bits, far below MAX_LONG_DIGITS.
            if let Some(slot) = out.digits.get_mut(out.len) {
                *slot = (value & u128::from(MASK)) as u16;
            }
            out.len += 1;
            value >>= BASE_BITS;
        }
        out
    }

    /// The value if it fits a `u128`.
    pub(super) fn to_u128(&self) -> Option<u128> {
        to_u128(self.as_slice().iter().rev().copied())
    }

    /// `self = self * mul + add` with `mul, add <= 10_000`.
    fn mul_add(&mut self, mul: u32, add: u32) -> Option<()> {
        let mut carry = add;
        for d in self.digits.iter_mut().take(self.len) {
            // d < 2^15, mul <= 10^4, carry < 10^4 + 1: fits u32.
            let x = u32::from(*d) * mul + carry;
            *d = (x & MASK) as u16;
            carry = x >> BASE_BITS;
        }
        while carry != 0 {
            *self.digits.get_mut(self.len)? = (carry & MASK) as u16;
            self.len += 1;
            carry >>= BASE_BITS;
        }
        Some(())
    }

    /// Divide by `div` (<= 10_000) in place, returning the remainder.
    fn div_rem(&mut self, div: u32) -> u32 {
        let mut rem = 0u32;
        for d in self.digits.iter_mut().take(self.len).rev() {
            // rem < 10^4: (rem << 15) | d < 2^29.
            let cur = (rem << BASE_BITS) | u32::from(*d);
            *d = (cur / div) as u16;
            rem = cur % div;
        }
        self.trim();
        rem
    }

    fn trim(&mut self) {
        while self.len > 0 && self.digits.get(self.len - 1) == Some(&0) {
            self.len -= 1;
        }
    }

    /// Write the decimal text (with `-` when `negative` and non-zero) at the end of `out`,
    /// returning it. Consumes the digits. `None` when `out` is too small.
    pub(super) fn write_decimal(mut self, negative: bool, out: &mut [u8]) -> Option<&str> {
        let mut end = out.len();
        let mut push = |c: u8| -> Option<()> {
            end = end.checked_sub(1)?;
            *out.get_mut(end)? = c;
            Some(())
        };
        let nonzero = self.len > 0;
        loop {
            let mut rem = self.div_rem(10_000);
            if self.len == 0 {
                // Most significant group: no leading zeros.
                loop {
                    push(b'0' + (rem % 10) as u8)?;
                    rem /= 10;
                    if rem == 0 {
                        break;
                    }
                }
                break;
            }
            for _ in 0..4 {
                push(b'0' + (rem % 10) as u8)?;
                rem /= 10;
            }
        }
        if negative && nonzero {
            push(b'-')?;
        }
        core::str::from_utf8(out.get(end..)?).ok()
    }
}

/// Fold base-2¹⁵ digits given most significant first into a `u128`, if it fits.
pub(super) fn to_u128(most_significant_first: impl Iterator<Item = u16>) -> Option<u128> {
    let mut acc = 0u128;
    for d in most_significant_first {
        acc = acc.checked_mul(1 << BASE_BITS)?.checked_add(u128::from(d))?;
    }
    Some(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal(text: &str) {
        let d = Digits::from_decimal(text.as_bytes()).unwrap();
        let mut buf = [0u8; DECIMAL_BUF];
        assert_eq!(d.write_decimal(false, &mut buf).unwrap(), text);
    }

    #[test]
    fn decimal_text_round_trips_through_digits() {
        for text in ["0", "1", "9999", "10000", "32767", "32768", "12345678901234567890123456789012345678901234567890"]
        {
            decimal(text);
        }
        let big = [b'7'; MAX_DECIMAL_DIGITS - 1];
        decimal(core::str::from_utf8(&big).unwrap());
    }

    #[test]
    fn digits_match_cpython() {
        // marshal.dumps(2**31) == b'l\x03\x00\x00\x00\x00\x00\x00\x00\x02\x00'
        let d = Digits::from_decimal(b"2147483648").unwrap();
        assert_eq!(d.as_slice(), &[0, 0, 2]);
        assert_eq!(Digits::from_u128(1 << 31).as_slice(), &[0, 0, 2]);
        assert_eq!(d.to_u128(), Some(1 << 31));
    }

    #[test]
    fn oversized_numbers_are_refused() {
        let nines = [b'9'; MAX_DECIMAL_DIGITS + 10];
        assert!(Digits::from_decimal(&nines).is_none());
        assert!(Digits::from_decimal(b"12a").is_none());
        let too_many = [1u8; (MAX_LONG_DIGITS + 1) * 2];
        assert!(Digits::from_wire(&too_many).is_none());
    }

    #[test]
    fn negative_and_zero_text() {
        let mut buf = [0u8; 8];
        assert_eq!(Digits::from_u128(0).write_decimal(true, &mut buf), Some("0"));
        assert_eq!(Digits::from_u128(10_001).write_decimal(true, &mut buf), Some("-10001"));
        assert_eq!(Digits::from_u128(123_456_789).write_decimal(false, &mut buf), None);
    }
}
