//! Receive and transmit storage for the daemon's connections: small buffers of their own,
//! large ones (a message over [`RETAINED_CAPACITY`]) lent by a pool the daemon shares, so
//! that large messages one after another reuse memory instead of growing, zero-filling and
//! faulting in fresh pages each time, while an idle connection keeps no large buffer.
//!
//! The pool holds at most [`POOL_BYTES`]; buffers beyond that are freed.

use std::sync::{Arc, Mutex, PoisonError};

use pyro5_core::wire::{RETAINED_CAPACITY, RxStorage};

/// The most bytes of large buffers the pool keeps for reuse.
pub(crate) const POOL_BYTES: usize = 64 << 20;

/// Large buffers not in use.
#[derive(Default)]
pub(crate) struct Pool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl Pool {
    /// A free buffer of at least `len` bytes (the smallest that fits).
    fn take(&self, len: usize) -> Option<Vec<u8>> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let best = free.iter().enumerate().filter(|(_, b)| b.len() >= len).min_by_key(|(_, b)| b.len())?.0;
        Some(free.swap_remove(best))
    }

    fn put(&self, buffer: Vec<u8>) {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let held: usize = free.iter().map(Vec::len).sum();
        if held + buffer.len() <= POOL_BYTES {
            free.push(buffer);
        }
    }
}

/// One connection's buffer (as growable as a `Vec`), large sizes from the [`Pool`].
pub(crate) struct Buffer {
    bytes: Vec<u8>,
    pool: Arc<Pool>,
}

impl Buffer {
    pub(crate) fn new(pool: &Arc<Pool>) -> Self {
        Self { bytes: Vec::new(), pool: pool.clone() }
    }
}

impl RxStorage for Buffer {
    fn reserve(&mut self, len: usize) -> Option<&mut [u8]> {
        if self.bytes.len() < len && len > RETAINED_CAPACITY {
            if let Some(mut large) = self.pool.take(len) {
                // Bytes already received move along.
                if let Some(head) = large.get_mut(..self.bytes.len()) {
                    head.copy_from_slice(&self.bytes);
                }
                self.bytes = large;
            }
        }
        RxStorage::reserve(&mut self.bytes, len)
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn max_len(&self) -> usize {
        usize::MAX
    }

    fn release(&mut self) {
        if self.bytes.len() > RETAINED_CAPACITY {
            self.pool.put(std::mem::take(&mut self.bytes));
        }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_buffers_go_back_to_the_pool_and_are_lent_again() {
        let pool = Arc::new(Pool::default());
        let mut a = Buffer::new(&pool);
        a.reserve(10).unwrap()[..3].copy_from_slice(b"abc");
        a.release();
        assert_eq!(&a.bytes()[..3], b"abc", "small buffers stay");
        a.reserve(1 << 20).unwrap();
        assert_eq!(&a.bytes()[..3], b"abc", "received bytes move along");
        let address = a.bytes().as_ptr();
        a.release();
        assert!(a.bytes().is_empty());
        let mut b = Buffer::new(&pool);
        b.reserve(200_000).unwrap();
        assert_eq!(b.bytes().as_ptr(), address, "the large buffer is lent again");
        drop(b);
        assert_eq!(pool.take(1).map(|v| v.len()), Some(1 << 20), "and returned when its connection goes");
        for _ in 0..(POOL_BYTES >> 20) + 2 {
            pool.put(vec![0; 1 << 20]);
        }
        assert_eq!(pool.free.lock().unwrap().len(), POOL_BYTES >> 20, "the pool is bounded");
    }
}
