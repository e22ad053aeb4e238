//! Where a [`Decoder`](super::Decoder) keeps the bytes of the message being received.
//!
//! The caller chooses: a borrowed slice or a fixed array (no allocator; the array's size is
//! then also the largest message that fits) or, with the `alloc` feature, a `Vec` that grows
//! to the size each header announces (after the size limit was checked) and no further.

/// Receive storage for one connection.
pub trait RxStorage {
    /// Make at least `len` bytes available and return the whole storage, or `None` if it
    /// cannot hold `len` bytes.
    fn reserve(&mut self, len: usize) -> Option<&mut [u8]>;
    /// The storage as it is now.
    fn bytes(&self) -> &[u8];
    /// The largest message (header included) this storage can ever hold.
    fn max_len(&self) -> usize;
    /// Called after a message was consumed; growable storage may give memory back.
    fn release(&mut self) {}
}

impl RxStorage for &mut [u8] {
    fn reserve(&mut self, len: usize) -> Option<&mut [u8]> {
        (len <= self.len()).then_some(&mut **self)
    }
    fn bytes(&self) -> &[u8] {
        self
    }
    fn max_len(&self) -> usize {
        self.len()
    }
}

impl<const N: usize> RxStorage for [u8; N] {
    fn reserve(&mut self, len: usize) -> Option<&mut [u8]> {
        (len <= N).then_some(&mut self[..])
    }
    fn bytes(&self) -> &[u8] {
        self
    }
    fn max_len(&self) -> usize {
        N
    }
}

/// Storage above this size is given back after the message that needed it.
#[cfg(feature = "alloc")]
pub const RETAINED_CAPACITY: usize = 64 * 1024;

#[cfg(feature = "alloc")]
impl RxStorage for alloc::vec::Vec<u8> {
    fn reserve(&mut self, len: usize) -> Option<&mut [u8]> {
        if self.len() < len {
            self.try_reserve(len - self.len()).ok()?;
            self.resize(len, 0);
        }
        Some(&mut self[..])
    }
    fn bytes(&self) -> &[u8] {
        self
    }
    fn max_len(&self) -> usize {
        usize::MAX
    }
    fn release(&mut self) {
        if self.len() > RETAINED_CAPACITY {
            self.truncate(RETAINED_CAPACITY);
            self.shrink_to(RETAINED_CAPACITY);
        }
    }
}

/// Transmit storage from `offset` on: a message written after those still waiting to be
/// sent.
pub(crate) struct Tail<'a, T> {
    pub(crate) storage: &'a mut T,
    pub(crate) offset: usize,
}

impl<T: RxStorage> RxStorage for Tail<'_, T> {
    fn reserve(&mut self, len: usize) -> Option<&mut [u8]> {
        let offset = self.offset;
        self.storage.reserve(offset.checked_add(len)?)?.get_mut(offset..)
    }
    fn bytes(&self) -> &[u8] {
        self.storage.bytes().get(self.offset..).unwrap_or_default()
    }
    fn max_len(&self) -> usize {
        self.storage.max_len().saturating_sub(self.offset)
    }
}

/// A connection that reads in place (`read_buf`, then `commit` of what was read): copying
/// bytes read elsewhere in is the same loop for both roles.
pub(crate) trait ReadsInPlace {
    /// Where the next bytes go; empty when none are taken now.
    fn read_buf(&mut self) -> &mut [u8];
    /// `n` bytes were put into [`read_buf`](Self::read_buf) at `now_ms`.
    fn commit(&mut self, n: usize, now_ms: u64);

    /// Copy `bytes` in, as long as they are taken; how many were.
    fn copy_in(&mut self, mut bytes: &[u8], now_ms: u64) -> usize {
        let mut taken = 0;
        while !bytes.is_empty() {
            let buf = self.read_buf();
            let n = buf.len().min(bytes.len());
            if n == 0 {
                break;
            }
            let (head, rest) = bytes.split_at(n);
            if let Some(dst) = buf.get_mut(..n) {
                dst.copy_from_slice(head);
            }
            self.commit(n, now_ms);
            bytes = rest;
            taken += n;
        }
        taken
    }
}
