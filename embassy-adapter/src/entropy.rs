//! The randomness the daemon needs: correlation ids and stream ids are random UUIDs.

use core::cell::Cell;

/// A source of 32 random bytes at a time (a hardware RNG on a device).
pub trait Entropy {
    /// 32 fresh random bytes.
    fn random(&self) -> [u8; 32];
}

impl<F: Fn() -> [u8; 32]> Entropy for F {
    fn random(&self) -> [u8; 32] {
        self()
    }
}

/// A small non-cryptographic generator (SplitMix64) for boards without an RNG: ids only
/// need to be unique, so seed it with something that differs per boot (a serial number, a
/// sampled ADC, the uptime at the first client).
#[derive(Debug)]
pub struct SeededEntropy {
    state: Cell<u64>,
}

impl SeededEntropy {
    /// A generator starting from `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { state: Cell::new(seed) }
    }

    fn next_u64(&self) -> u64 {
        let s = self.state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Entropy for SeededEntropy {
    fn random(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_exact_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_entropy_differs_per_draw_and_per_seed() {
        let a = SeededEntropy::new(1);
        let (x, y) = (a.random(), a.random());
        assert_ne!(x, y);
        assert_ne!(SeededEntropy::new(2).random(), SeededEntropy::new(1).random());
        assert_eq!(SeededEntropy::new(7).random(), SeededEntropy::new(7).random());
    }
}
