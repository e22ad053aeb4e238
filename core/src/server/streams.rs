//! Item streams: what a call that returned an iterator leaves behind in the daemon, until the
//! client has taken every item, closes it, or it expires (`docs/wire-protocol.md`, "Item
//! streams"; `docs/objects.md`, "Streams").
//!
//! Streams belong to the daemon, not to a connection: a client that reconnects continues a
//! stream that lingered after its connection was lost. Every time is the caller's `now` in
//! milliseconds on any monotonic clock.

use core::fmt;

use super::object::{ConnectionId, StreamCursor};

/// The longest object id and method name a cursor stream can remember.
pub const STREAM_NAME_CAPACITY: usize = 64;

pub use crate::wire::StreamId;

/// An iterator the daemon drives, its items as dynamic values with their replies'
/// annotations.
#[cfg(feature = "alloc")]
pub type BoxedIter = alloc::boxed::Box<dyn Iterator<Item = StreamItem> + Send>;

/// One item of an iterator stream as the daemon sends it: the value, and the annotations
/// that go with its reply.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq)]
pub struct StreamItem {
    /// The item.
    pub value: crate::ser::value::Value,
    /// Annotations of the reply that carries it (id and bytes, in order).
    pub annotations: alloc::vec::Vec<(crate::wire::AnnotationId, alloc::vec::Vec<u8>)>,
}

/// An item of an `impl Iterator` stream of an `#[expose]` method, with annotations for the
/// reply that carries it: what Python's generator does when it sets
/// `current_context.response_annotations` before each `yield` (Pyro5's filetransfer
/// example sends a file's chunks so, beside small items).
///
/// ```
/// # use pyro5_core::server::streams::Annotated;
/// # use pyro5_core::wire::AnnotationId;
/// const FDAT: AnnotationId = match AnnotationId::new(*b"FDAT") {
///     Ok(id) => id,
///     Err(_) => panic!("annotation ids are ASCII"),
/// };
/// let chunks = [&b"first"[..], b"second"];
/// let items = chunks.into_iter().enumerate().map(|(i, chunk)| Annotated::new(i).annotate(FDAT, chunk));
/// # assert_eq!(items.count(), 2);
/// ```
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq)]
pub struct Annotated<T> {
    /// The item.
    pub item: T,
    /// The reply's annotations (id and bytes, in order).
    pub annotations: alloc::vec::Vec<(crate::wire::AnnotationId, alloc::vec::Vec<u8>)>,
}

#[cfg(feature = "alloc")]
impl<T> Annotated<T> {
    /// `item`, with no annotation yet.
    pub fn new(item: T) -> Self {
        Self { item, annotations: alloc::vec::Vec::new() }
    }

    /// Add annotation `id` with `data` to the item's reply.
    #[must_use]
    pub fn annotate(mut self, id: crate::wire::AnnotationId, data: impl Into<alloc::vec::Vec<u8>>) -> Self {
        self.annotations.push((id, data.into()));
        self
    }
}

/// What an iterator stream's items may be: any serializable value, or one [`Annotated`].
/// `#[expose]` converts the items of an `impl Iterator` method with it; an item that does
/// not convert to a [`Value`](crate::ser::value::Value) (`None`) ends the stream.
#[cfg(feature = "alloc")]
pub trait IntoStreamItem {
    /// The item as the daemon sends it.
    fn into_stream_item(self) -> Option<StreamItem>;
}

#[cfg(feature = "alloc")]
impl<T: serde::Serialize> IntoStreamItem for T {
    fn into_stream_item(self) -> Option<StreamItem> {
        let value = crate::ser::value::to_value(&self).ok()?;
        Some(StreamItem { value, annotations: alloc::vec::Vec::new() })
    }
}

#[cfg(feature = "alloc")]
impl<T: serde::Serialize> IntoStreamItem for Annotated<T> {
    fn into_stream_item(self) -> Option<StreamItem> {
        let value = crate::ser::value::to_value(&self.item).ok()?;
        Some(StreamItem { value, annotations: self.annotations })
    }
}

/// Where a stream's items come from.
pub enum StreamSource {
    /// The object's `next_item(method, cursor)`.
    Cursor {
        /// The object id.
        object: heapless::String<STREAM_NAME_CAPACITY>,
        /// The method that started the stream.
        method: heapless::String<STREAM_NAME_CAPACITY>,
        /// The object's cursor.
        cursor: StreamCursor,
    },
    /// An iterator the object handed over.
    #[cfg(feature = "alloc")]
    Iter(BoxedIter),
}

impl fmt::Debug for StreamSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cursor { object, method, cursor } => f
                .debug_struct("Cursor")
                .field("object", object)
                .field("method", method)
                .field("cursor", cursor)
                .finish(),
            #[cfg(feature = "alloc")]
            Self::Iter(_) => f.write_str("Iter(..)"),
        }
    }
}

/// One open stream.
#[derive(Debug)]
pub struct StreamEntry {
    /// Its id.
    pub id: StreamId,
    /// The connection iterating it; `None` while it lingers after a disconnect.
    pub owner: Option<ConnectionId>,
    /// When it was created (ms).
    pub created: u64,
    /// Since when it lingers (ms), after its connection closed.
    pub lingering_since: Option<u64>,
    /// Where the items come from.
    pub source: StreamSource,
}

/// Pyro's `ITER_STREAMING`, `ITER_STREAM_LIFETIME` and `ITER_STREAM_LINGER`, in ms.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StreamConfig {
    /// Whether calls may return item streams at all (Pyro's default: yes).
    pub enabled: bool,
    /// The longest a stream lives after its creation; 0 = no limit (Pyro's default).
    pub lifetime_ms: u64,
    /// How long a stream is kept after its client disconnected, so a reconnecting proxy
    /// can go on; 0 = closed at disconnect. Pyro's default: 30 s.
    pub linger_ms: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self { enabled: true, lifetime_ms: 0, linger_ms: 30_000 }
    }
}

/// Every stream slot is taken.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct StreamsFull;

impl fmt::Display for StreamsFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("too many open item streams; close some or raise the daemon's limit")
    }
}

impl core::error::Error for StreamsFull {}

/// The daemon's open streams, behind whatever lock the adapter uses (every method takes
/// `&self`): a `RefCell` on one thread, a `Mutex` across threads.
pub trait StreamStore {
    /// Add a stream.
    ///
    /// # Errors
    /// [`StreamsFull`] when no slot is free (the entry is dropped).
    fn insert(&self, entry: StreamEntry) -> Result<(), StreamsFull>;
    /// Take a stream out to produce its next item (put it back with `insert`).
    fn take(&self, id: &StreamId) -> Option<StreamEntry>;
    /// Drop a stream; whether it existed.
    fn remove(&self, id: &StreamId) -> bool;
    /// A connection closed: its streams linger (or go, when `linger_ms` is 0).
    fn disconnected(&self, connection: ConnectionId, now: u64, config: &StreamConfig);
    /// Drop streams past their lifetime or linger time.
    fn expire(&self, now: u64, config: &StreamConfig);
    /// When [`expire`](Self::expire) next has something to drop (milliseconds on the
    /// daemon's clock), or `None` when no open stream can expire.
    fn next_expiry(&self, config: &StreamConfig) -> Option<u64>;
    /// How many streams are open.
    fn count(&self) -> usize;
    /// Drop every stream (daemon shutdown).
    fn clear(&self);
}

/// A stream table over some storage; [`Streams`] (fixed capacity) and, with `alloc`,
/// `StreamsVec` (a runtime limit).
pub trait StreamTable {
    /// The open streams.
    fn entries(&self) -> &[StreamEntry];
    /// Add one.
    ///
    /// # Errors
    /// [`StreamsFull`].
    fn push(&mut self, entry: StreamEntry) -> Result<(), StreamsFull>;
    /// Remove the one at `index` (order is not kept).
    fn swap_remove(&mut self, index: usize) -> StreamEntry;
    /// Mutable access to the open streams.
    fn entries_mut(&mut self) -> &mut [StreamEntry];

    /// Take the stream `id` out.
    fn take_id(&mut self, id: &StreamId) -> Option<StreamEntry> {
        let index = self.entries().iter().position(|e| e.id == *id)?;
        Some(self.swap_remove(index))
    }

    /// Mark the streams of `connection` as lingering, or drop them.
    fn mark_disconnected(&mut self, connection: ConnectionId, now: u64, config: &StreamConfig)
    where
        Self: Sized,
    {
        if config.linger_ms == 0 {
            self.retain(|e| e.owner != Some(connection));
            return;
        }
        for e in self.entries_mut() {
            if e.owner == Some(connection) {
                e.owner = None;
                e.lingering_since = Some(now);
            }
        }
    }

    /// Drop the streams past their lifetime or linger time.
    fn expire_at(&mut self, now: u64, config: &StreamConfig)
    where
        Self: Sized,
    {
        self.retain(|e| {
            let too_old = config.lifetime_ms > 0 && now.saturating_sub(e.created) > config.lifetime_ms;
            let lingered = e.lingering_since.is_some_and(|t| now.saturating_sub(t) > config.linger_ms);
            !too_old && !lingered
        });
    }

    /// When the first open stream passes its lifetime or linger time.
    fn next_expiry_at(&self, config: &StreamConfig) -> Option<u64> {
        self.entries()
            .iter()
            .filter_map(|e| {
                let lifetime = (config.lifetime_ms > 0).then(|| e.created.saturating_add(config.lifetime_ms + 1));
                let linger = e.lingering_since.map(|t| t.saturating_add(config.linger_ms.saturating_add(1)));
                match (lifetime, linger) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            })
            .min()
    }

    /// Keep only the streams `keep` says yes to.
    fn retain(&mut self, mut keep: impl FnMut(&StreamEntry) -> bool)
    where
        Self: Sized,
    {
        let mut i = 0;
        while i < self.entries().len() {
            if self.entries().get(i).is_some_and(&mut keep) {
                i += 1;
            } else {
                drop(self.swap_remove(i));
            }
        }
    }
}

/// At most `N` open streams, no allocator.
#[derive(Debug, Default)]
pub struct Streams<const N: usize> {
    entries: heapless::Vec<StreamEntry, N>,
}

impl<const N: usize> Streams<N> {
    /// An empty table.
    pub const fn new() -> Self {
        Self { entries: heapless::Vec::new() }
    }
}

impl<const N: usize> StreamTable for Streams<N> {
    fn entries(&self) -> &[StreamEntry] {
        &self.entries
    }
    fn entries_mut(&mut self) -> &mut [StreamEntry] {
        &mut self.entries
    }
    fn push(&mut self, entry: StreamEntry) -> Result<(), StreamsFull> {
        self.entries.push(entry).map_err(|_| StreamsFull)
    }
    fn swap_remove(&mut self, index: usize) -> StreamEntry {
        self.entries.swap_remove(index)
    }
}

/// At most `max` open streams, in a `Vec`.
#[cfg(feature = "alloc")]
#[derive(Debug, Default)]
pub struct StreamsVec {
    entries: alloc::vec::Vec<StreamEntry>,
    /// The most streams open at once.
    pub max: usize,
}

#[cfg(feature = "alloc")]
impl StreamsVec {
    /// An empty table for at most `max` streams.
    pub const fn new(max: usize) -> Self {
        Self { entries: alloc::vec::Vec::new(), max }
    }
}

#[cfg(feature = "alloc")]
impl StreamTable for StreamsVec {
    fn entries(&self) -> &[StreamEntry] {
        &self.entries
    }
    fn entries_mut(&mut self) -> &mut [StreamEntry] {
        &mut self.entries
    }
    fn push(&mut self, entry: StreamEntry) -> Result<(), StreamsFull> {
        if self.entries.len() >= self.max {
            return Err(StreamsFull);
        }
        self.entries.push(entry);
        Ok(())
    }
    fn swap_remove(&mut self, index: usize) -> StreamEntry {
        self.entries.swap_remove(index)
    }
}

macro_rules! store_impl {
    ($lock:ty, $borrow:ident) => {
        impl<T: StreamTable> StreamStore for $lock {
            fn insert(&self, entry: StreamEntry) -> Result<(), StreamsFull> {
                $borrow!(self).push(entry)
            }
            fn take(&self, id: &StreamId) -> Option<StreamEntry> {
                $borrow!(self).take_id(id)
            }
            fn remove(&self, id: &StreamId) -> bool {
                $borrow!(self).take_id(id).is_some()
            }
            fn disconnected(&self, connection: ConnectionId, now: u64, config: &StreamConfig) {
                $borrow!(self).mark_disconnected(connection, now, config);
            }
            fn expire(&self, now: u64, config: &StreamConfig) {
                $borrow!(self).expire_at(now, config);
            }
            fn next_expiry(&self, config: &StreamConfig) -> Option<u64> {
                $borrow!(self).next_expiry_at(config)
            }
            fn count(&self) -> usize {
                $borrow!(self).entries().len()
            }
            fn clear(&self) {
                $borrow!(self).retain(|_| false);
            }
        }
    };
}

macro_rules! refcell_borrow {
    ($s:expr) => {
        $s.borrow_mut()
    };
}

store_impl!(core::cell::RefCell<T>, refcell_borrow);

#[cfg(feature = "std")]
macro_rules! mutex_borrow {
    ($s:expr) => {
        $s.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    };
}

#[cfg(feature = "std")]
store_impl!(std::sync::Mutex<T>, mutex_borrow);

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn stream_id_text_round_trips_as_uuid4() {
        let id = StreamId::from_random([0xab; 16]);
        let text = id.to_string();
        assert_eq!(text, "abababab-abab-4bab-abab-abababababab");
        assert_eq!(StreamId::parse(&text), Some(id));
        assert_eq!(StreamId::parse(&text.to_uppercase()), Some(id));
        assert_eq!(StreamId::parse("abababab-abab-4bab-abab-ababababab"), None);
        assert_eq!(StreamId::parse("abababab_abab-4bab-abab-abababababab"), None);
        assert_eq!(StreamId::parse("zbababab-abab-4bab-abab-abababababab"), None);
    }

    fn entry(n: u8, owner: u64, created: u64) -> StreamEntry {
        StreamEntry {
            id: StreamId([n; 16]),
            owner: Some(ConnectionId(owner)),
            created,
            lingering_since: None,
            source: StreamSource::Cursor {
                object: "o".try_into().unwrap(),
                method: "m".try_into().unwrap(),
                cursor: 0,
            },
        }
    }

    #[test]
    fn linger_lifetime_and_capacity() {
        let table = core::cell::RefCell::new(Streams::<2>::new());
        let config = StreamConfig { enabled: true, lifetime_ms: 10_000, linger_ms: 1_000 };
        table.insert(entry(1, 7, 0)).unwrap();
        table.insert(entry(2, 8, 0)).unwrap();
        assert!(table.insert(entry(3, 8, 0)).is_err(), "full at 2");
        table.disconnected(ConnectionId(7), 500, &config);
        table.expire(1_400, &config);
        assert_eq!(table.count(), 2, "still lingering");
        table.expire(1_501, &config);
        assert_eq!(table.count(), 1, "lingered out");
        table.expire(10_001, &config);
        assert_eq!(table.count(), 0, "lifetime over");
        table.insert(entry(4, 9, 0)).unwrap();
        table.disconnected(ConnectionId(9), 0, &StreamConfig { linger_ms: 0, ..config });
        assert_eq!(table.count(), 0, "no linger: closed at disconnect");
    }
}
