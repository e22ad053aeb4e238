//! Unsigned big integers in caller storage, with the few operations exact float reading and
//! writing need. Each operation reports running out of storage (`None`) instead of
//! panicking; the callers size their storage so that it never happens for any `f64`.

use core::cmp::Ordering;

/// A non-negative integer in little-endian 32-bit limbs borrowed from the caller.
pub(super) struct Big<'a> {
    limbs: &'a mut [u32],
    /// Limbs in use; the top one is non-zero (zero has none).
    len: usize,
}

impl<'a> Big<'a> {
    /// `value`, in `limbs` (at least two).
    pub(super) fn from_u64(limbs: &'a mut [u32], value: u64) -> Option<Self> {
        let mut big = Big { limbs, len: 0 };
        // Low and high halves of the value.
        for (i, part) in [value as u32, (value >> 32) as u32].into_iter().enumerate() {
            *big.limbs.get_mut(i)? = part;
        }
        big.len = 2;
        big.trim();
        Some(big)
    }

    fn used(&self) -> &[u32] {
        self.limbs.get(..self.len).unwrap_or_default()
    }

    fn trim(&mut self) {
        while self.len > 0 && self.limbs.get(self.len - 1) == Some(&0) {
            self.len -= 1;
        }
    }

    pub(super) fn is_zero(&self) -> bool {
        self.len == 0
    }

    /// The number of significant bits.
    pub(super) fn bit_len(&self) -> u32 {
        match self.used().last() {
            Some(top) => (self.len as u32 - 1) * 32 + (32 - top.leading_zeros()),
            None => 0,
        }
    }

    /// `self = self * m + a`.
    pub(super) fn mul_add_small(&mut self, m: u32, a: u32) -> Option<()> {
        let mut carry = u64::from(a);
        for limb in self.limbs.get_mut(..self.len)? {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            *self.limbs.get_mut(self.len)? = carry as u32;
            self.len += 1;
        }
        Some(())
    }

    /// `self *= 10^n`.
    pub(super) fn mul_pow10(&mut self, mut n: u32) -> Option<()> {
        while n > 0 {
            let step = n.min(9);
            self.mul_add_small(10u32.pow(step), 0)?;
            n -= step;
        }
        Some(())
    }

    /// `self <<= bits`.
    pub(super) fn shl(&mut self, bits: u32) -> Option<()> {
        if self.is_zero() {
            return Some(());
        }
        let needed = (self.bit_len().checked_add(bits)?).div_ceil(32) as usize;
        if needed > self.limbs.len() {
            return None;
        }
        let words = (bits / 32) as usize;
        let bits = bits % 32;
        let limb = |b: &Self, j: usize| if j < b.len { b.limbs.get(j).copied().unwrap_or(0) } else { 0 };
        for i in (0..needed).rev() {
            let v = match i.checked_sub(words) {
                None => 0,
                Some(j) if bits == 0 => limb(self, j),
                Some(j) => {
                    let below = j.checked_sub(1).map_or(0, |k| limb(self, k) >> (32 - bits));
                    (limb(self, j) << bits) | below
                }
            };
            *self.limbs.get_mut(i)? = v;
        }
        self.len = needed;
        self.trim();
        Some(())
    }

    /// `self -= other`; `other` must not be larger.
    pub(super) fn sub(&mut self, other: &Big<'_>) -> Option<()> {
        let mut borrow = 0u64;
        for (i, limb) in self.limbs.get_mut(..self.len)?.iter_mut().enumerate() {
            let o = u64::from(other.used().get(i).copied().unwrap_or(0)) + borrow;
            let v = u64::from(*limb);
            borrow = u64::from(v < o);
            *limb = (v + (borrow << 32) - o) as u32;
        }
        if borrow != 0 || other.len > self.len {
            return None;
        }
        self.trim();
        Some(())
    }

    /// `self += other`.
    pub(super) fn add(&mut self, other: &Big<'_>) -> Option<()> {
        let len = self.len.max(other.len);
        let mut carry = 0u64;
        for i in 0..len {
            let v = u64::from(self.used().get(i).copied().unwrap_or(0))
                + u64::from(other.used().get(i).copied().unwrap_or(0))
                + carry;
            *self.limbs.get_mut(i)? = v as u32;
            carry = v >> 32;
        }
        self.len = len;
        if carry != 0 {
            *self.limbs.get_mut(len)? = carry as u32;
            self.len += 1;
        }
        Some(())
    }

    /// `self = other`.
    pub(super) fn set(&mut self, other: &Big<'_>) -> Option<()> {
        self.limbs.get_mut(..other.len)?.copy_from_slice(other.used());
        self.len = other.len;
        Some(())
    }

    pub(super) fn cmp(&self, other: &Big<'_>) -> Ordering {
        self.len.cmp(&other.len).then_with(|| self.used().iter().rev().cmp(other.used().iter().rev()))
    }
}

#[cfg(test)]
mod tests {
    use super::Big;
    use core::cmp::Ordering;

    fn value(b: &Big<'_>) -> u128 {
        b.used().iter().rev().fold(0u128, |acc, &l| (acc << 32) | u128::from(l))
    }

    #[test]
    fn arithmetic_matches_u128() {
        let (mut a, mut b) = ([0u32; 4], [0u32; 4]);
        let mut x = Big::from_u64(&mut a, 0x1234_5678_9abc_def0).unwrap();
        x.mul_add_small(1_000_000_007, 42).unwrap();
        assert_eq!(value(&x), 0x1234_5678_9abc_def0u128 * 1_000_000_007 + 42);
        let y = Big::from_u64(&mut b, 3).unwrap();
        x.shl(37).unwrap();
        let expect = (0x1234_5678_9abc_def0u128 * 1_000_000_007 + 42) << 37;
        assert_eq!(value(&x), expect);
        x.sub(&y).unwrap();
        assert_eq!(value(&x), expect - 3);
        x.add(&y).unwrap();
        assert_eq!(value(&x), expect);
        assert_eq!(x.cmp(&y), Ordering::Greater);
        assert_eq!(x.bit_len(), 128 - expect.leading_zeros());
        let mut ten = [0u32; 4];
        let mut t = Big::from_u64(&mut ten, 7).unwrap();
        t.mul_pow10(30).unwrap();
        assert_eq!(value(&t), 7 * 10u128.pow(30));
    }

    #[test]
    fn running_out_of_room_is_reported() {
        let mut a = [0u32; 2];
        let mut x = Big::from_u64(&mut a, u64::MAX).unwrap();
        assert!(x.shl(1).is_none());
        let mut b = [0u32; 2];
        let mut y = Big::from_u64(&mut b, 1).unwrap();
        assert!(y.shl(63).is_some());
        assert!(y.shl(1).is_none());
        let mut c = [0u32; 2];
        let mut z = Big::from_u64(&mut c, 1).unwrap();
        let mut d = [0u32; 2];
        let w = Big::from_u64(&mut d, 2).unwrap();
        assert!(z.sub(&w).is_none());
    }
}
