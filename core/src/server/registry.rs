//! Where a daemon finds its objects by id (`docs/objects.md`, "Registries").
//!
//! [`Registry`] is what the connection state machine asks; [`ObjectTable`] is the no-alloc
//! implementation for one thread (a microcontroller's executor, an event loop): at most `N`
//! objects the caller owns, each in a `RefCell`. Adapters that serve from several threads,
//! or create instances per connection or per call, implement the trait over their own
//! storage.

use core::cell::RefCell;

use super::object::{ConnectionId, PyroObject};

pub use crate::ser::envelope::DAEMON_OBJECT_ID;

/// The objects a daemon serves. Every method takes `&self`: implementations hold their own
/// locks, so that several connections can be served at once.
pub trait Registry {
    /// Run `f` with the object registered as `id`, for a call on `connection` (which picks
    /// the instance of a per-connection object). `false` when there is no such object.
    fn with_object(&self, connection: ConnectionId, id: &str, f: &mut dyn FnMut(&mut dyn PyroObject)) -> bool;

    /// Call `f` with every registered id (the daemon's own is added by the daemon).
    fn for_each_id(&self, f: &mut dyn FnMut(&str));

    /// How many objects are registered (the daemon's own not counted).
    fn count(&self) -> usize;

    /// A connection closed: drop what belonged to it (per-connection instances).
    fn connection_closed(&self, connection: ConnectionId) {
        let _ = connection;
    }
}

/// Up to `N` objects, borrowed, on one thread, no allocator.
///
/// ```
/// use core::cell::RefCell;
/// use pyro5_core::server::{ObjectTable, Registry, PyroObject, Metadata, Invocation, Reply, Replied, ConnectionId};
///
/// struct Counter(u32);
/// impl PyroObject for Counter {
///     fn metadata(&self) -> Metadata<'static> {
///         Metadata { class_name: "Counter", methods: &["next"], ..Metadata::default() }
///     }
///     fn invoke(&mut self, _: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
///         self.0 += 1;
///         reply.ok(&self.0)
///     }
/// }
///
/// let counter = RefCell::new(Counter(0));
/// let mut objects = ObjectTable::<4>::new();
/// objects.register("counter", &counter).unwrap();
/// assert_eq!(objects.count(), 1);
/// assert!(objects.with_object(ConnectionId(1), "counter", &mut |_| {}));
/// assert!(!objects.with_object(ConnectionId(1), "other", &mut |_| {}));
/// ```
pub struct ObjectTable<'a, const N: usize> {
    entries: heapless::Vec<(&'a str, &'a RefCell<dyn PyroObject + 'a>), N>,
}

impl<const N: usize> core::fmt::Debug for ObjectTable<'_, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.entries.iter().map(|(id, _)| id)).finish()
    }
}

impl<const N: usize> Default for ObjectTable<'_, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Why an object could not be registered.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RegisterError {
    /// The id is taken (Pyro: "an object or class is already registered with that id").
    IdTaken,
    /// The table is full.
    Full {
        /// Its capacity.
        capacity: usize,
    },
}

impl core::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::IdTaken => f.write_str("an object or class is already registered with that id"),
            Self::Full { capacity } => write!(f, "the object table is full ({capacity} objects); make it larger"),
        }
    }
}

impl core::error::Error for RegisterError {}

impl<'a, const N: usize> ObjectTable<'a, N> {
    /// An empty table.
    pub const fn new() -> Self {
        Self { entries: heapless::Vec::new() }
    }

    /// Serve `object` as `id`.
    ///
    /// # Errors
    /// [`RegisterError::IdTaken`] (also for the daemon's own id), [`RegisterError::Full`].
    pub fn register(&mut self, id: &'a str, object: &'a RefCell<dyn PyroObject + 'a>) -> Result<(), RegisterError> {
        if id == DAEMON_OBJECT_ID || self.entries.iter().any(|(known, _)| *known == id) {
            return Err(RegisterError::IdTaken);
        }
        self.entries.push((id, object)).map_err(|_| RegisterError::Full { capacity: N })
    }

    /// Stop serving `id`; whether it was registered.
    pub fn unregister(&mut self, id: &str) -> bool {
        match self.entries.iter().position(|(known, _)| *known == id) {
            Some(i) => {
                self.entries.swap_remove(i);
                true
            }
            None => false,
        }
    }
}

impl<const N: usize> Registry for ObjectTable<'_, N> {
    fn with_object(&self, _: ConnectionId, id: &str, f: &mut dyn FnMut(&mut dyn PyroObject)) -> bool {
        let Some((_, cell)) = self.entries.iter().find(|(known, _)| *known == id) else { return false };
        // A call re-entering the same object (its method calling the daemon that serves it)
        // finds it busy; that is reported as an unknown object rather than a panic.
        match cell.try_borrow_mut() {
            Ok(mut object) => {
                f(&mut *object);
                true
            }
            Err(_) => false,
        }
    }

    fn for_each_id(&self, f: &mut dyn FnMut(&str)) {
        self.entries.iter().for_each(|(id, _)| f(id));
    }

    fn count(&self) -> usize {
        self.entries.len()
    }
}

/// Objects the registry owns, any number, on one thread (feature `alloc`).
///
/// ```
/// use pyro5_core::server::{ConnectionId, Invocation, Metadata, Objects, PyroObject, Registry, Replied, Reply};
///
/// struct Ping;
/// impl PyroObject for Ping {
///     fn metadata(&self) -> Metadata<'static> {
///         Metadata { class_name: "Ping", methods: &["ping"], ..Metadata::default() }
///     }
///     fn invoke(&mut self, _: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
///         reply.ok(&())
///     }
/// }
///
/// let mut objects = Objects::new();
/// for i in 0..100 {
///     objects.register(format!("ping.{i}"), Ping).unwrap();
/// }
/// assert_eq!(objects.count(), 100);
/// assert!(objects.unregister("ping.7"));
/// assert!(!objects.with_object(ConnectionId(1), "ping.7", &mut |_| {}));
/// ```
#[cfg(feature = "alloc")]
#[derive(Default)]
pub struct Objects {
    entries: alloc::collections::BTreeMap<alloc::string::String, RefCell<alloc::boxed::Box<dyn PyroObject>>>,
}

#[cfg(feature = "alloc")]
impl core::fmt::Debug for Objects {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.entries.keys()).finish()
    }
}

#[cfg(feature = "alloc")]
impl Objects {
    /// An empty registry.
    pub const fn new() -> Self {
        Self { entries: alloc::collections::BTreeMap::new() }
    }

    /// Serve `object` as `id`.
    ///
    /// # Errors
    /// [`RegisterError::IdTaken`] (also for the daemon's own id).
    pub fn register(
        &mut self,
        id: impl Into<alloc::string::String>,
        object: impl PyroObject + 'static,
    ) -> Result<(), RegisterError> {
        let id = id.into();
        if id == DAEMON_OBJECT_ID || self.entries.contains_key(&id) {
            return Err(RegisterError::IdTaken);
        }
        self.entries.insert(id, RefCell::new(alloc::boxed::Box::new(object)));
        Ok(())
    }

    /// Stop serving `id`; whether it was registered.
    pub fn unregister(&mut self, id: &str) -> bool {
        self.entries.remove(id).is_some()
    }
}

#[cfg(feature = "alloc")]
impl Registry for Objects {
    fn with_object(&self, _: ConnectionId, id: &str, f: &mut dyn FnMut(&mut dyn PyroObject)) -> bool {
        let Some(cell) = self.entries.get(id) else { return false };
        match cell.try_borrow_mut() {
            Ok(mut object) => {
                f(&mut **object);
                true
            }
            Err(_) => false,
        }
    }

    fn for_each_id(&self, f: &mut dyn FnMut(&str)) {
        self.entries.keys().for_each(|id| f(id));
    }

    fn count(&self) -> usize {
        self.entries.len()
    }
}
