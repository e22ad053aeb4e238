//! Where the name server keeps its registrations: the [`NameStorage`] trait and the
//! volatile [`MemoryStorage`] (Pyro's default, `-s memory`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// One registration: the URI text as registered, and its metadata tags.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Entry {
    /// The URI, as the text it was registered with (or `str()` of a URI object).
    pub uri: String,
    /// The metadata tags, without duplicates, in the order first given; `None` when
    /// registered without metadata (Python's memory store then reports a `frozenset()`).
    pub metadata: Option<Vec<String>>,
}

impl Entry {
    /// An entry for `uri` with `metadata`.
    pub fn new(uri: impl Into<String>, metadata: Option<Vec<String>>) -> Self {
        Self { uri: uri.into(), metadata }
    }

    /// The tags (empty when there are none).
    pub fn tags(&self) -> &[String] {
        self.metadata.as_deref().unwrap_or(&[])
    }
}

/// A storage failure; the name server reports it as `NamingError`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct StorageError {
    /// The storage operation (`getitem`, `setitem`, ...), as Pyro names it in the message.
    pub operation: &'static str,
    /// The underlying error's text.
    pub message: String,
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sqlite error in {}: {}", self.operation, self.message)
    }
}

impl std::error::Error for StorageError {}

/// The registrations of a name server: a map from name to [`Entry`] that remembers the
/// order names were first registered in (Python dict order: re-registering a name keeps
/// its place, removing and registering again moves it to the end).
///
/// The name server serializes every call on its storage with one lock, so an
/// implementation needs no locking of its own; each mutating method must be atomic (all
/// or nothing) and durable once it returns `Ok` if the storage is persistent.
pub trait NameStorage: Send {
    /// The entry registered as `name`.
    ///
    /// # Errors
    /// The storage's failure.
    fn get(&self, name: &str) -> Result<Option<Entry>, StorageError>;

    /// Register (or replace) `name`.
    ///
    /// # Errors
    /// The storage's failure; nothing is changed then.
    fn set(&mut self, name: &str, entry: Entry) -> Result<(), StorageError>;

    /// Remove every name of `names` that is registered; returns how many were.
    ///
    /// # Errors
    /// The storage's failure; nothing is removed then.
    fn remove(&mut self, names: &[String]) -> Result<usize, StorageError>;

    /// How many names are registered.
    ///
    /// # Errors
    /// The storage's failure.
    fn len(&self) -> Result<usize, StorageError>;

    /// Every registration, in registration order.
    ///
    /// # Errors
    /// The storage's failure.
    fn entries(&self) -> Result<Vec<(String, Entry)>, StorageError>;

    /// Whether nothing is registered.
    ///
    /// # Errors
    /// The storage's failure.
    fn is_empty(&self) -> Result<bool, StorageError> {
        Ok(self.len()? == 0)
    }

    /// Whether `name` is registered.
    ///
    /// # Errors
    /// The storage's failure.
    fn contains(&self, name: &str) -> Result<bool, StorageError> {
        Ok(self.get(name)?.is_some())
    }
}

/// Volatile storage in memory: forgotten when the name server stops.
#[derive(Clone, Debug, Default)]
pub struct MemoryStorage {
    /// name → (insertion number, entry); every number is a key of `order`.
    names: HashMap<String, (u64, Entry)>,
    /// insertion number → name.
    order: BTreeMap<u64, String>,
    next: u64,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl NameStorage for MemoryStorage {
    fn get(&self, name: &str) -> Result<Option<Entry>, StorageError> {
        Ok(self.names.get(name).map(|(_, e)| e.clone()))
    }

    fn set(&mut self, name: &str, entry: Entry) -> Result<(), StorageError> {
        if let Some((_, old)) = self.names.get_mut(name) {
            *old = entry;
        } else {
            let n = self.next;
            self.next += 1;
            self.order.insert(n, name.to_string());
            self.names.insert(name.to_string(), (n, entry));
        }
        Ok(())
    }

    fn remove(&mut self, names: &[String]) -> Result<usize, StorageError> {
        let mut removed = 0;
        for name in names {
            if let Some((n, _)) = self.names.remove(name) {
                self.order.remove(&n);
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn len(&self) -> Result<usize, StorageError> {
        Ok(self.names.len())
    }

    fn entries(&self) -> Result<Vec<(String, Entry)>, StorageError> {
        Ok(self
            .order
            .values()
            .filter_map(|name| self.names.get(name).map(|(_, e)| (name.clone(), e.clone())))
            .collect())
    }

    fn contains(&self, name: &str) -> Result<bool, StorageError> {
        Ok(self.names.contains_key(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_storage_keeps_first_registration_order() {
        let mut s = MemoryStorage::new();
        s.set("b", Entry::new("PYRO:b@h:1", None)).unwrap();
        s.set("a", Entry::new("PYRO:a@h:1", None)).unwrap();
        s.set("b", Entry::new("PYRO:b2@h:1", Some(vec!["x".into()]))).unwrap();
        let names: Vec<_> = s.entries().unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(s.get("b").unwrap().unwrap().uri, "PYRO:b2@h:1");
        assert_eq!(s.remove(&["b".into(), "zz".into()]).unwrap(), 1);
        s.set("b", Entry::new("PYRO:b@h:1", None)).unwrap();
        let names: Vec<_> = s.entries().unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(s.len().unwrap(), 2);
    }
}
