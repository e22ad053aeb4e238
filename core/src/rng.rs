//! The random numbers the protocol needs (correlation ids, item stream ids: random UUIDs as
//! Python's `uuid4`), from a generator the adapter seeds once with 32 bytes of real entropy,
//! instead of a system call per message.
//!
//! ChaCha with 8 rounds as a stream of bytes: unpredictable without the seed, a few
//! nanoseconds per id.
//!
//! ```
//! use pyro5_core::rng::Rng;
//! let mut rng = Rng::from_seed([7; 32]);
//! let (a, b) = (rng.bytes::<16>(), rng.bytes::<16>());
//! assert_ne!(a, b);
//! assert_eq!(Rng::from_seed([7; 32]).bytes::<16>(), a, "the same seed gives the same stream");
//! ```

/// A seeded generator of random bytes (ChaCha8).
#[derive(Clone)]
pub struct Rng {
    key: [u32; 8],
    counter: u64,
    block: [u8; 64],
    /// Bytes of `block` handed out.
    used: usize,
}

impl core::fmt::Debug for Rng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Rng")
    }
}

const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

impl Rng {
    /// A generator whose output is determined by `seed` (give it real entropy).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let mut key = [0u32; 8];
        for (word, bytes) in key.iter_mut().zip(seed.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        Self { key, counter: 0, block: [0; 64], used: 64 }
    }

    /// Fill `out` with random bytes.
    pub fn fill(&mut self, mut out: &mut [u8]) {
        while !out.is_empty() {
            if self.used == self.block.len() {
                self.refill();
            }
            let available = self.block.get(self.used..).unwrap_or_default();
            let n = available.len().min(out.len());
            let (head, rest) = out.split_at_mut(n);
            head.copy_from_slice(available.get(..n).unwrap_or_default());
            self.used += n;
            out = rest;
        }
    }

    /// `N` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }

    /// 32 random bytes: the seed for another generator (one per connection).
    pub fn fork(&mut self) -> Self {
        Self::from_seed(self.bytes())
    }

    fn refill(&mut self) {
        let mut input = [0u32; 16];
        input[..4].copy_from_slice(&SIGMA);
        input[4..12].copy_from_slice(&self.key);
        input[12] = self.counter as u32;
        input[13] = (self.counter >> 32) as u32;
        self.counter = self.counter.wrapping_add(1);
        let mut x = input;
        for _ in 0..4 {
            quarter(&mut x, 0, 4, 8, 12);
            quarter(&mut x, 1, 5, 9, 13);
            quarter(&mut x, 2, 6, 10, 14);
            quarter(&mut x, 3, 7, 11, 15);
            quarter(&mut x, 0, 5, 10, 15);
            quarter(&mut x, 1, 6, 11, 12);
            quarter(&mut x, 2, 7, 8, 13);
            quarter(&mut x, 3, 4, 9, 14);
        }
        for ((out, a), b) in self.block.chunks_exact_mut(4).zip(x).zip(input) {
            out.copy_from_slice(&a.wrapping_add(b).to_le_bytes());
        }
        self.used = 0;
    }
}

fn quarter(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chacha8_matches_the_reference_keystream() {
        // ChaCha8, all-zero key and nonce, block 0 (the reference implementation's test vector).
        let mut rng = Rng::from_seed([0; 32]);
        let first = rng.bytes::<16>();
        assert_eq!(
            first,
            [0x3e, 0x00, 0xef, 0x2f, 0x89, 0x5f, 0x40, 0xd6, 0x7f, 0x5b, 0xb8, 0xe8, 0x1f, 0x09, 0xa5, 0xa1]
        );
    }

    #[test]
    fn blocks_follow_each_other_without_repeats() {
        let mut rng = Rng::from_seed([1; 32]);
        let mut seen = [[0u8; 16]; 20];
        for id in &mut seen {
            *id = rng.bytes();
        }
        for (i, a) in seen.iter().enumerate() {
            assert!(seen[i + 1..].iter().all(|b| a != b));
        }
        let mut forked = rng.fork();
        assert_ne!(forked.bytes::<16>(), rng.bytes::<16>());
    }
}
