//! The daemon's objects across threads, with Pyro's instance modes (`@behavior`): one
//! instance for everyone, one per connection, or one per call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use pyro5_core::server::{ConnectionId, Metadata, PyroObject, Registry};

/// A Pyro object the daemon can call from any of its threads.
pub type SharedObject = Arc<Mutex<dyn PyroObject + Send>>;

/// Makes instances for the `session` and `percall` modes (Pyro's `instance_creator`).
pub type Creator = Arc<dyn Fn() -> Box<dyn PyroObject + Send> + Send + Sync>;

/// How instances of a registered class are made (Pyro's `instance_mode`).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum InstanceMode {
    /// One instance for the whole daemon, made at the first call.
    Single,
    /// One instance per client connection (Pyro's default for registered classes).
    Session,
    /// A new instance for every call.
    PerCall,
}

enum Entry {
    /// A registered object (or a `single` class instance once made).
    Object(SharedObject),
    /// A class: instances made by `creator`.
    Class { mode: InstanceMode, creator: Creator, metadata: Metadata<'static>, single: Mutex<Option<SharedObject>> },
}

/// The objects of one daemon.
#[derive(Default)]
pub(crate) struct SharedRegistry {
    objects: RwLock<Table>,
    /// Session instances per connection, per object id.
    sessions: Mutex<HashMap<(ConnectionId, String), SharedObject>>,
}

/// The objects by id, and the ids in registration order (as Python's dict keeps them, and
/// `registered()` reports them).
#[derive(Default)]
struct Table {
    by_id: HashMap<String, Arc<Entry>>,
    order: Vec<String>,
}

impl Table {
    fn get(&self, id: &str) -> Option<&Arc<Entry>> {
        self.by_id.get(id)
    }
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SharedRegistry {
    pub(crate) fn insert_object(&self, id: String, object: SharedObject) -> bool {
        self.insert(id, Entry::Object(object))
    }

    pub(crate) fn insert_class(
        &self,
        id: String,
        mode: InstanceMode,
        creator: Creator,
        metadata: Metadata<'static>,
    ) -> bool {
        self.insert(id, Entry::Class { mode, creator, metadata, single: Mutex::new(None) })
    }

    fn insert(&self, id: String, entry: Entry) -> bool {
        let mut objects = self.objects.write().unwrap_or_else(PoisonError::into_inner);
        if objects.by_id.contains_key(&id) {
            return false;
        }
        objects.order.push(id.clone());
        objects.by_id.insert(id, Arc::new(entry));
        true
    }

    pub(crate) fn remove(&self, id: &str) -> bool {
        let removed = {
            let mut objects = self.objects.write().unwrap_or_else(PoisonError::into_inner);
            objects.order.retain(|known| known != id);
            objects.by_id.remove(id).is_some()
        };
        if removed {
            lock(&self.sessions).retain(|(_, object), _| object != id);
        }
        removed
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.objects.read().unwrap_or_else(PoisonError::into_inner).by_id.contains_key(id)
    }

    pub(crate) fn metadata(&self, id: &str) -> Option<Metadata<'static>> {
        let entry = self.objects.read().unwrap_or_else(PoisonError::into_inner).get(id).cloned()?;
        Some(match &*entry {
            Entry::Object(object) => lock(object).metadata(),
            Entry::Class { metadata, .. } => *metadata,
        })
    }

    fn instance(&self, connection: ConnectionId, id: &str, entry: &Entry) -> Option<SharedObject> {
        match entry {
            Entry::Object(object) => Some(object.clone()),
            Entry::Class { mode: InstanceMode::Single, creator, single, .. } => {
                Some(lock(single).get_or_insert_with(|| Arc::new(Mutex::new(Boxed(creator())))).clone())
            }
            Entry::Class { mode: InstanceMode::Session, creator, .. } => {
                let mut sessions = lock(&self.sessions);
                Some(
                    sessions
                        .entry((connection, id.to_string()))
                        .or_insert_with(|| Arc::new(Mutex::new(Boxed(creator()))))
                        .clone(),
                )
            }
            Entry::Class { mode: InstanceMode::PerCall, creator, .. } => Some(Arc::new(Mutex::new(Boxed(creator())))),
        }
    }
}

/// A boxed object as an object.
struct Boxed(Box<dyn PyroObject + Send>);

impl PyroObject for Boxed {
    fn metadata(&self) -> Metadata<'static> {
        self.0.metadata()
    }
    fn invoke(
        &mut self,
        inv: &pyro5_core::server::Invocation<'_>,
        reply: pyro5_core::server::Reply<'_, '_>,
    ) -> pyro5_core::server::Replied {
        self.0.invoke(inv, reply)
    }
    fn get_attr(
        &mut self,
        name: &str,
        inv: &pyro5_core::server::Invocation<'_>,
        reply: pyro5_core::server::Reply<'_, '_>,
    ) -> pyro5_core::server::Replied {
        self.0.get_attr(name, inv, reply)
    }
    fn set_attr(
        &mut self,
        name: &str,
        inv: &pyro5_core::server::Invocation<'_>,
        reply: pyro5_core::server::Reply<'_, '_>,
    ) -> pyro5_core::server::Replied {
        self.0.set_attr(name, inv, reply)
    }
    fn next_item(
        &mut self,
        method: &str,
        cursor: &mut pyro5_core::server::StreamCursor,
        reply: pyro5_core::server::Reply<'_, '_>,
    ) -> pyro5_core::server::Replied {
        self.0.next_item(method, cursor, reply)
    }
    fn has_async_methods(&self) -> bool {
        self.0.has_async_methods()
    }
}

impl Registry for SharedRegistry {
    fn with_object(&self, connection: ConnectionId, id: &str, f: &mut dyn FnMut(&mut dyn PyroObject)) -> bool {
        let Some(entry) = self.objects.read().unwrap_or_else(PoisonError::into_inner).get(id).cloned() else {
            return false;
        };
        let Some(object) = self.instance(connection, id, &entry) else { return false };
        let mut guard = lock(&object);
        f(&mut *guard);
        true
    }

    fn for_each_id(&self, f: &mut dyn FnMut(&str)) {
        let ids = self.objects.read().unwrap_or_else(PoisonError::into_inner).order.clone();
        ids.iter().for_each(|id| f(id));
    }

    fn count(&self) -> usize {
        self.objects.read().unwrap_or_else(PoisonError::into_inner).by_id.len()
    }

    fn connection_closed(&self, connection: ConnectionId) {
        lock(&self.sessions).retain(|(owner, _), _| *owner != connection);
    }
}
