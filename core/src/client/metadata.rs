//! What an object exposes, as its daemon says in the handshake answer, and Pyro's proxy rules
//! that follow from it: which names may be called, which are properties, which methods are
//! oneway.

use super::{CallSpec, ClientError, Connected, MetaSet};

/// Where a set of names is kept: a `BTreeSet<String>` with an allocator, [`PackedNames`]
/// without.
pub trait NameStore: Default {
    /// Add `name`; `false` when there is no room for it.
    fn insert(&mut self, name: &str) -> bool;
    /// Whether `name` is in the set.
    fn contains(&self, name: &str) -> bool;
    /// Whether the set is empty.
    fn is_empty(&self) -> bool;
}

#[cfg(feature = "alloc")]
impl NameStore for alloc::collections::BTreeSet<alloc::string::String> {
    fn insert(&mut self, name: &str) -> bool {
        alloc::collections::BTreeSet::insert(self, alloc::string::String::from(name));
        true
    }
    fn contains(&self, name: &str) -> bool {
        alloc::collections::BTreeSet::contains(self, name)
    }
    fn is_empty(&self) -> bool {
        alloc::collections::BTreeSet::is_empty(self)
    }
}

/// Names packed in `N` bytes (each name and a separator), for proxies without an allocator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackedNames<const N: usize> {
    text: heapless::String<N>,
}

impl<const N: usize> PackedNames<N> {
    /// The names, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.text.split('\0').filter(|n| !n.is_empty())
    }
}

impl<const N: usize> NameStore for PackedNames<N> {
    fn insert(&mut self, name: &str) -> bool {
        if self.contains(name) {
            return true;
        }
        if self.text.len() + name.len() + 1 > N {
            return false;
        }
        self.text.push_str(name).is_ok() && self.text.push('\0').is_ok()
    }
    fn contains(&self, name: &str) -> bool {
        self.iter().any(|n| n == name)
    }
    fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// An object's metadata: its exposed methods, which of them are oneway, and its exposed
/// properties (Pyro's `_pyroMethods`, `_pyroOneway`, `_pyroAttrs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMetadata<S> {
    /// The exposed methods.
    pub methods: S,
    /// The methods called oneway (no reply awaited).
    pub oneway: S,
    /// The exposed properties.
    pub attrs: S,
}

impl<S: NameStore> ObjectMetadata<S> {
    /// Read it from the daemon's handshake answer.
    ///
    /// # Errors
    /// [`ClientError::NothingExposed`] when it names no method and no property (Pyro's
    /// proxy refuses such an object); [`ClientError::MetadataTooLarge`] when the names do
    /// not fit `S`; [`ClientError::Payload`] when the answer does not read.
    pub fn read(connected: &Connected<'_>) -> Result<Self, ClientError> {
        let mut meta = Self::default();
        let mut fits = true;
        for (set, names) in [
            (MetaSet::Methods, &mut meta.methods),
            (MetaSet::Oneway, &mut meta.oneway),
            (MetaSet::Attrs, &mut meta.attrs),
        ] {
            connected.for_each_name(set, &mut |name| fits &= names.insert(name))?;
        }
        if !fits {
            return Err(ClientError::MetadataTooLarge);
        }
        if meta.methods.is_empty() && meta.attrs.is_empty() {
            return Err(ClientError::NothingExposed);
        }
        Ok(meta)
    }

    /// The call of method `name` of `object`: oneway when the metadata says so or `oneway`
    /// is set (Pyro's `_pyroOneway.add`).
    ///
    /// # Errors
    /// [`ClientError::NotExposed`] when the object exposes no such method.
    pub fn method<'a>(&self, object: &'a str, name: &'a str, oneway: bool) -> Result<CallSpec<'a>, ClientError> {
        if !self.methods.contains(name) {
            return Err(ClientError::NotExposed);
        }
        Ok(CallSpec { object, method: name, oneway: oneway || self.oneway.contains(name), batch: false })
    }

    /// The call that reads property `name` (`__getattr__`, arguments `(name,)`).
    ///
    /// # Errors
    /// [`ClientError::NotExposed`] when the object exposes no such property.
    pub fn get_attr<'a>(&self, object: &'a str, name: &str) -> Result<CallSpec<'a>, ClientError> {
        self.attr(object, name, "__getattr__")
    }

    /// The call that writes property `name` (`__setattr__`, arguments `(name, value)`).
    ///
    /// # Errors
    /// [`ClientError::NotExposed`] when the object exposes no such property.
    pub fn set_attr<'a>(&self, object: &'a str, name: &str) -> Result<CallSpec<'a>, ClientError> {
        self.attr(object, name, "__setattr__")
    }

    fn attr<'a>(&self, object: &'a str, name: &str, method: &'static str) -> Result<CallSpec<'a>, ClientError> {
        if !self.attrs.contains(name) {
            return Err(ClientError::NotExposed);
        }
        Ok(CallSpec { object, method, oneway: false, batch: false })
    }

    /// The call of a batch of calls of `object` (oneway or not): arguments are
    /// `(method, args, kwargs)` triples.
    pub fn batch(object: &str, oneway: bool) -> CallSpec<'_> {
        CallSpec { object, method: crate::ser::envelope::BATCH_METHOD, oneway, batch: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_names_hold_what_fits_and_say_when_not() {
        let mut names = PackedNames::<12>::default();
        assert!(names.is_empty());
        assert!(names.insert("echo") && names.insert("ping") && names.insert("echo"));
        assert!(names.contains("echo") && names.contains("ping") && !names.contains("ech"));
        assert!(!names.insert("shutdown"));
        assert_eq!(names.iter().collect::<heapless::Vec<_, 4>>().as_slice(), ["echo", "ping"]);
    }

    #[test]
    fn calls_follow_the_metadata() {
        let mut meta = ObjectMetadata::<PackedNames<64>>::default();
        meta.methods.insert("echo");
        meta.methods.insert("note");
        meta.oneway.insert("note");
        meta.attrs.insert("size");
        assert!(!meta.method("o", "echo", false).unwrap().oneway);
        assert!(meta.method("o", "echo", true).unwrap().oneway);
        assert!(meta.method("o", "note", false).unwrap().oneway);
        assert_eq!(meta.method("o", "size", false), Err(ClientError::NotExposed));
        assert_eq!(meta.get_attr("o", "size").unwrap().method, "__getattr__");
        assert_eq!(meta.set_attr("o", "size").unwrap().method, "__setattr__");
        assert_eq!(meta.get_attr("o", "echo"), Err(ClientError::NotExposed));
        let batch = ObjectMetadata::<PackedNames<64>>::batch("o", true);
        assert!(batch.batch && batch.oneway);
    }
}
