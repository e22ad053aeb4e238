//! The `Pyro.NameServer` object: Pyro5's name server methods, arguments, results and
//! error texts (spec `PROTOCOL.md` §5.2), over any [`NameStorage`].

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use pyro5_core::ser::value::Value;
use pyro5_core::server::{
    Invocation, Metadata, NAMING_ERROR, PyException, PyroObject, PythonException, Qualname, Replied, Reply, TYPE_ERROR,
    VALUE_ERROR,
};
use pyro5_core::uri::{Location, Protocol, Uri};
use pyro5_core::wire::SerializerId;

use super::autoclean::{AutoClean, AutoCleaner};
use super::storage::{Entry, MemoryStorage, NameStorage, StorageError};
use crate::{Daemon, DaemonError};

/// The name the name server registers itself under (Pyro's `NAMESERVER_NAME`).
pub const NAMESERVER_NAME: &str = "Pyro.NameServer";

/// The metadata tag of the name server's own registration.
pub const NAMESERVER_CLASS_TAG: &str = "class:Pyro5.nameserver.NameServer";

const CLASS_NAME: &str = "NameServer";

const METHODS: &[&str] = &["count", "list", "lookup", "ping", "register", "remove", "set_metadata", "yplookup"];

/// Pyro's name server: a flat name space mapping names to URIs, each with a set of
/// metadata tags (the "yellow pages").
///
/// Clones share the same registrations. All access to the storage is serialized by one
/// lock (Python's name server holds its lock around the same operations), so the object
/// is served with [`Daemon::register_concurrent`]: calls from many clients run in
/// parallel up to the storage, and each storage operation is atomic.
///
/// ```
/// use pyro5_std::naming::NameServer;
///
/// let ns = NameServer::new();
/// ns.register("example.echo", "PYRO:test.echoserver@localhost:9999", false, Some(vec!["echo".into()]))?;
/// assert_eq!(ns.lookup("example.echo")?.uri, "PYRO:test.echoserver@localhost:9999");
/// assert_eq!(ns.yplookup(Some(&["echo".to_string()]), None)?.len(), 1);
/// # Ok::<(), pyro5_std::naming::NameServerError>(())
/// ```
#[derive(Clone)]
pub struct NameServer {
    storage: Arc<Mutex<Box<dyn NameStorage>>>,
}

impl fmt::Debug for NameServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameServer").finish_non_exhaustive()
    }
}

impl Default for NameServer {
    fn default() -> Self {
        Self::new()
    }
}

impl NameServer {
    /// A name server with volatile in-memory storage.
    pub fn new() -> Self {
        Self::with_storage(MemoryStorage::new())
    }

    /// A name server over `storage`.
    pub fn with_storage(storage: impl NameStorage + 'static) -> Self {
        Self { storage: Arc::new(Mutex::new(Box::new(storage))) }
    }

    /// Serve this name server in `daemon` as `Pyro.NameServer` and register its own URI
    /// (the daemon's NAT URI when it has one) with tag [`NAMESERVER_CLASS_TAG`], as
    /// Python's `NameServerDaemon` does. Returns that URI.
    ///
    /// # Errors
    /// The id is taken in `daemon`, or the storage failed.
    pub fn serve(&self, daemon: &Daemon) -> Result<String, NameServerError> {
        daemon.register_concurrent(self.clone(), Some(NAMESERVER_NAME)).map_err(NameServerError::from)?;
        let uri = daemon.uri_for(NAMESERVER_NAME);
        self.register(NAMESERVER_NAME, &uri, false, Some(vec![NAMESERVER_CLASS_TAG.to_string()]))?;
        Ok(uri)
    }

    fn storage(&self) -> MutexGuard<'_, Box<dyn NameStorage>> {
        // A panic while holding the lock leaves the storage as consistent as its own
        // operations are: keep serving.
        self.storage.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The number of registrations (the name server's own included).
    ///
    /// # Errors
    /// The storage failed.
    pub fn count(&self) -> Result<usize, NameServerError> {
        Ok(self.storage().len()?)
    }

    /// The registration of `name`.
    ///
    /// # Errors
    /// `NamingError: unknown name: <name>`, or the storage failed.
    pub fn lookup(&self, name: &str) -> Result<Entry, NameServerError> {
        self.storage().get(name)?.ok_or_else(|| NameServerError::naming(format!("unknown name: {name}")))
    }

    /// Register `name` as `uri` (validated as a Pyro URI) with `metadata`; with `safe`, an
    /// existing name is an error instead of being replaced.
    ///
    /// # Errors
    /// The URI's error, `NamingError: name already registered: <name>`, or the storage failed.
    pub fn register(
        &self,
        name: &str,
        uri: &str,
        safe: bool,
        metadata: Option<Vec<String>>,
    ) -> Result<(), NameServerError> {
        Uri::parse(uri).map_err(|e| NameServerError::new(e.pyro_class(), e.to_string()))?;
        let mut storage = self.storage();
        if safe && storage.contains(name)? {
            return Err(NameServerError::naming(format!("name already registered: {name}")));
        }
        storage.set(name, Entry::new(uri, metadata.map(dedup)))?;
        Ok(())
    }

    /// Replace the metadata of the existing registration `name`.
    ///
    /// # Errors
    /// `NamingError: unknown name: <name>`, or the storage failed.
    pub fn set_metadata(&self, name: &str, metadata: Option<Vec<String>>) -> Result<(), NameServerError> {
        let mut storage = self.storage();
        let Some(entry) = storage.get(name)? else {
            return Err(NameServerError::naming(format!("unknown name: {name}")));
        };
        storage.set(name, Entry::new(entry.uri, metadata.map(dedup)))?;
        Ok(())
    }

    /// Remove registration `name`, or every name starting with `prefix`, or every name
    /// `regex` matches at its start; the first non-empty one of the three counts, as in
    /// Python. `Pyro.NameServer` is never removed. Returns how many were removed.
    ///
    /// # Errors
    /// `NamingError: invalid regex: ...`, or the storage failed.
    pub fn remove(
        &self,
        name: Option<&str>,
        prefix: Option<&str>,
        regex: Option<&str>,
    ) -> Result<usize, NameServerError> {
        let mut storage = self.storage();
        if let Some(name) = name.filter(|n| !n.is_empty() && *n != NAMESERVER_NAME) {
            return Ok(storage.remove(&[name.to_string()])?);
        }
        let matched = match (prefix.filter(|p| !p.is_empty()), regex.filter(|r| !r.is_empty())) {
            (Some(prefix), _) => filter_prefix(storage.entries()?, prefix),
            (None, Some(regex)) => filter_regex(storage.entries()?, regex)?,
            (None, None) => return Ok(0),
        };
        let names: Vec<String> = matched.into_iter().map(|(n, _)| n).filter(|n| n != NAMESERVER_NAME).collect();
        storage.remove(&names)?;
        Ok(names.len())
    }

    /// Remove registration `name` if it still maps to `uri` (autoclean: a name registered
    /// again since it was checked stays). Whether it was removed.
    ///
    /// # Errors
    /// The storage failed.
    pub(crate) fn remove_if_uri(&self, name: &str, uri: &str) -> Result<bool, NameServerError> {
        let mut storage = self.storage();
        match storage.get(name)? {
            Some(entry) if entry.uri == uri && name != NAMESERVER_NAME => Ok(storage.remove(&[name.to_string()])? > 0),
            _ => Ok(false),
        }
    }

    /// Start Pyro's autoclean for this name server (`NS_AUTOCLEAN`): a thread that removes
    /// registrations whose server stays unreachable, until the returned [`AutoCleaner`] is
    /// stopped or dropped. Python's name server daemon starts it when `NS_AUTOCLEAN` is set;
    /// `pyro5-ns` does so from `PYRO_NS_AUTOCLEAN` ([`AutoClean::from_env`]).
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn start_autoclean(&self, config: AutoClean) -> std::io::Result<AutoCleaner> {
        AutoCleaner::start(self, config)
    }

    /// The registrations, all or those starting with `prefix` or matched by `regex` at
    /// their start, in registration order.
    ///
    /// # Errors
    /// `ValueError` when both filters are given, `NamingError: invalid regex: ...`, or the
    /// storage failed.
    pub fn list(&self, prefix: Option<&str>, regex: Option<&str>) -> Result<Vec<(String, Entry)>, NameServerError> {
        let prefix = prefix.filter(|p| !p.is_empty());
        let regex = regex.filter(|r| !r.is_empty());
        if prefix.is_some() && regex.is_some() {
            return Err(NameServerError::new(VALUE_ERROR, "you can only filter on one thing at a time"));
        }
        let entries = self.storage().entries()?;
        match (prefix, regex) {
            (Some(prefix), _) => Ok(filter_prefix(entries, prefix)),
            (None, Some(regex)) => filter_regex(entries, regex),
            (None, None) => Ok(entries),
        }
    }

    /// Yellow pages: the registrations having all tags of `meta_all`, or any tag of
    /// `meta_any` (an empty filter counts as not given; neither gives nothing).
    ///
    /// # Errors
    /// `ValueError` when both are given, or the storage failed.
    pub fn yplookup(
        &self,
        meta_all: Option<&[String]>,
        meta_any: Option<&[String]>,
    ) -> Result<Vec<(String, Entry)>, NameServerError> {
        let meta_all = meta_all.filter(|m| !m.is_empty());
        let meta_any = meta_any.filter(|m| !m.is_empty());
        if meta_all.is_some() && meta_any.is_some() {
            return Err(NameServerError::new(VALUE_ERROR, "you can't use meta_all or meta_any at the same time"));
        }
        let keep: Box<dyn Fn(&Entry) -> bool> = match (meta_all, meta_any) {
            (Some(all), _) => Box::new(move |e: &Entry| all.iter().all(|t| e.tags().contains(t))),
            (None, Some(any)) => Box::new(move |e: &Entry| any.iter().any(|t| e.tags().contains(t))),
            (None, None) => return Ok(Vec::new()),
        };
        Ok(self.storage().entries()?.into_iter().filter(|(_, e)| keep(e)).collect())
    }

    /// One remote call, arguments still as Python values.
    fn call(&self, method: &str, args: &[Option<Value>], frozen_ok: bool) -> Result<Value, NameServerError> {
        let arg = |i: usize| args.get(i).and_then(Option::as_ref).filter(|v| !matches!(v, Value::None));
        let flag = |i: usize, default: bool| args.get(i).and_then(Option::as_ref).map_or(default, truthy);
        match method {
            "ping" => Ok(Value::None),
            "count" => Ok(int(self.count()?)),
            "lookup" => {
                let name = lookup_key(arg(0))?;
                let entry = self.lookup(name)?;
                let uri = Uri::parse(&entry.uri).map_err(|e| NameServerError::new(e.pyro_class(), e.to_string()))?;
                let uri = pyro5_core::ser::value::to_value(&uri)
                    .map_err(|e| NameServerError::new(TYPE_ERROR, e.to_string()))?;
                if flag(1, false) {
                    Ok(Value::Tuple(vec![uri, Value::Set(entry.tags().iter().cloned().map(Value::Str).collect())]))
                } else {
                    Ok(uri)
                }
            }
            "register" => {
                let uri = match arg(1) {
                    Some(Value::Str(s)) => s.clone(),
                    Some(v) if v.class_name() == Some("Pyro5.core.URI") => uri_text(v)?,
                    _ => return Err(NameServerError::new(TYPE_ERROR, "only URIs or strings can be registered")),
                };
                let Some(Value::Str(name)) = arg(0) else {
                    return Err(NameServerError::new(TYPE_ERROR, "name must be a str"));
                };
                let metadata = metadata_arg(arg(3), "metadata")?;
                self.register(name, &uri, flag(2, false), metadata)?;
                Ok(Value::None)
            }
            "set_metadata" => {
                let Some(Value::Str(name)) = arg(0) else {
                    return Err(NameServerError::new(TYPE_ERROR, "name must be a str"));
                };
                let metadata = metadata_arg(arg(1), "metadata")?;
                self.set_metadata(name, metadata)?;
                Ok(Value::None)
            }
            "remove" => {
                let name = match arg(0).filter(|v| truthy(v)) {
                    Some(Value::Str(s)) => Some(s.as_str()),
                    Some(v) => {
                        hashable(v)?;
                        // Python: a non-str name is never registered.
                        if arg(1).is_none() && arg(2).is_none() {
                            return Ok(int(0));
                        }
                        None
                    }
                    None => None,
                };
                let prefix = filter_arg(arg(1), Filter::Prefix)?;
                let regex = if prefix.is_none() { filter_arg(arg(2), Filter::Regex)? } else { None };
                Ok(int(self.remove(name, prefix, regex)?))
            }
            "list" => {
                let prefix = filter_arg(arg(0), Filter::Prefix);
                let regex = filter_arg(arg(1), Filter::Regex);
                if arg(0).is_some_and(truthy) && arg(1).is_some_and(truthy) {
                    return Err(NameServerError::new(VALUE_ERROR, "you can only filter on one thing at a time"));
                }
                let found = self.list(prefix?, regex?)?;
                Ok(listing(found, flag(2, false), frozen_ok))
            }
            "yplookup" => {
                let all = arg(0).filter(|v| truthy(v));
                let any = arg(1).filter(|v| truthy(v));
                if all.is_some() && any.is_some() {
                    return Err(NameServerError::new(
                        VALUE_ERROR,
                        "you can't use meta_all or meta_any at the same time",
                    ));
                }
                let all = metadata_arg(all, "metadata_all")?;
                let any = metadata_arg(any, "metadata_any")?;
                let found = self.yplookup(all.as_deref(), any.as_deref())?;
                Ok(listing(found, flag(2, true), frozen_ok))
            }
            _ => Err(NameServerError::new(pyro5_core::server::ATTRIBUTE_ERROR, "unknown method")),
        }
    }
}

impl PyroObject for NameServer {
    fn metadata(&self) -> Metadata<'static> {
        Metadata { class_name: CLASS_NAME, methods: METHODS, oneway: &[], attrs: &[] }
    }

    fn invoke(&mut self, inv: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
        let function = Qualname { class_name: CLASS_NAME, method: inv.method };
        let params: &[&str] = match inv.method {
            "lookup" => &["name", "return_metadata"],
            "register" => &["name", "uri", "safe", "metadata"],
            "set_metadata" => &["name", "metadata"],
            "remove" => &["name", "prefix", "regex"],
            "list" => &["prefix", "regex", "return_metadata"],
            "yplookup" => &["meta_all", "meta_any", "return_metadata"],
            _ => &[],
        };
        let required = match inv.method {
            "lookup" => 1,
            "register" | "set_metadata" => 2,
            _ => 0,
        };
        let given = inv.args.positional_count();
        if given > params.len() && required < params.len() {
            // The core's text has no "from m to n" for parameters with defaults.
            return reply.raise(&NameServerError::new(
                TYPE_ERROR,
                format!(
                    "{function}() takes from {} to {} positional arguments but {} were given",
                    required + 1,
                    params.len() + 1,
                    given + 1
                ),
            ));
        }
        if let Err(e) = inv.args.check(function, params) {
            return reply.raise(&e);
        }
        let mut args = Vec::with_capacity(params.len());
        for (i, name) in params.iter().enumerate() {
            let value = if i < required {
                inv.args.required::<Value>(function, i, name).map(Some)
            } else {
                inv.args.optional::<Value>(i, name)
            };
            match value {
                Ok(v) => {
                    // Python's daemon refuses unknown `__class__` dicts while decoding the call.
                    if let Some((class, text)) = v.as_ref().and_then(Value::refused_class) {
                        return reply.raise(&PyException::new(class, text));
                    }
                    args.push(v);
                }
                Err(e) => return reply.raise(&e),
            }
        }
        // json and msgpack have no frozenset: Python's name server then fails to answer
        // `list(return_metadata=True)`; we answer with an (equally empty) set instead.
        let frozen_ok = !matches!(reply.format(), SerializerId::Json | SerializerId::Msgpack);
        match self.call(inv.method, &args, frozen_ok) {
            Ok(v) => reply.ok(&v),
            Err(e) => reply.raise(&e),
        }
    }
}

/// A Python exception the name server raises: `NamingError` for name problems, or
/// `TypeError` / `ValueError` for bad arguments, with Pyro5's texts.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct NameServerError {
    class: &'static str,
    message: String,
}

impl NameServerError {
    /// An exception of Python class `class` (e.g. [`NAMING_ERROR`]).
    pub fn new(class: &'static str, message: impl Into<String>) -> Self {
        Self { class, message: message.into() }
    }

    fn naming(message: String) -> Self {
        Self::new(NAMING_ERROR, message)
    }

    /// The Python class, e.g. `Pyro5.errors.NamingError`.
    pub fn pyro_class(&self) -> &'static str {
        self.class
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for NameServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NameServerError {}

impl PythonException for NameServerError {
    fn class(&self) -> &str {
        self.class
    }
}

impl From<StorageError> for NameServerError {
    fn from(e: StorageError) -> Self {
        Self::naming(e.to_string())
    }
}

impl From<DaemonError> for NameServerError {
    fn from(e: DaemonError) -> Self {
        Self::new(pyro5_core::server::DAEMON_ERROR, e.to_string())
    }
}

#[derive(Clone, Copy)]
enum Filter {
    Prefix,
    Regex,
}

/// A `prefix` / `regex` argument: falsy is no filter; a non-str fails as Python's
/// `str.startswith` / `re.compile` do.
fn filter_arg(value: Option<&Value>, kind: Filter) -> Result<Option<&str>, NameServerError> {
    match value.filter(|v| truthy(v)) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(v) => Err(NameServerError::new(
            TYPE_ERROR,
            match kind {
                Filter::Prefix => {
                    format!("startswith first arg must be str or a tuple of str, not {}", v.type_name())
                }
                Filter::Regex => "first argument must be string or compiled pattern".to_string(),
            },
        )),
    }
}

fn filter_prefix(entries: Vec<(String, Entry)>, prefix: &str) -> Vec<(String, Entry)> {
    entries.into_iter().filter(|(n, _)| n.starts_with(prefix)).collect()
}

/// Names `regex` matches at their start (Python's `re.match`).
fn filter_regex(entries: Vec<(String, Entry)>, regex: &str) -> Result<Vec<(String, Entry)>, NameServerError> {
    let re =
        regex::Regex::new(regex).map_err(|e| NameServerError::naming(format!("invalid regex: {}", regex_error(&e))))?;
    Ok(entries.into_iter().filter(|(n, _)| re.find(n).is_some_and(|m| m.start() == 0)).collect())
}

/// A regex error on one line (the regex crate's messages span several).
fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    match text.lines().rev().find_map(|l| l.trim().strip_prefix("error: ")) {
        Some(reason) => reason.to_string(),
        None => text.lines().map(str::trim).collect::<Vec<_>>().join(" "),
    }
}

/// A metadata argument: `None`, or any non-str iterable of str (a dict gives its keys).
fn metadata_arg(value: Option<&Value>, what: &str) -> Result<Option<Vec<String>>, NameServerError> {
    let items = match value {
        None | Some(Value::None) => return Ok(None),
        Some(Value::Str(_)) => {
            return Err(NameServerError::new(
                TYPE_ERROR,
                format!("{what} should not be a str, but another iterable (set, list, etc)"),
            ));
        }
        Some(Value::List(v) | Value::Tuple(v) | Value::Set(v) | Value::FrozenSet(v)) => v.iter().collect::<Vec<_>>(),
        Some(Value::Dict(d)) => d.iter().map(|(k, _)| k).collect(),
        Some(v) => return Err(NameServerError::new(TYPE_ERROR, format!("'{}' object is not iterable", v.type_name()))),
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Str(s) => Ok(s.clone()),
            other => {
                hashable(other)?;
                Err(NameServerError::new(
                    TYPE_ERROR,
                    format!("metadata items must be str, not '{}' (pyro5-rs)", other.type_name()),
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The name of a lookup, with Python's errors for names that are not strings.
fn lookup_key(value: Option<&Value>) -> Result<&str, NameServerError> {
    match value {
        Some(Value::Str(s)) => Ok(s),
        other => {
            let v = other.unwrap_or(&Value::None);
            hashable(v)?;
            Err(NameServerError::new(
                TYPE_ERROR,
                format!("can only concatenate str (not \"{}\") to str", v.type_name()),
            ))
        }
    }
}

/// Python's `TypeError` for a dict key or set item that cannot be hashed.
fn hashable(value: &Value) -> Result<(), NameServerError> {
    match value {
        Value::List(_) | Value::Dict(_) | Value::Set(_) => {
            Err(NameServerError::new(TYPE_ERROR, format!("unhashable type: '{}'", value.type_name())))
        }
        _ => Ok(()),
    }
}

/// `str(uri)` of a received `Pyro5.core.URI` object.
fn uri_text(value: &Value) -> Result<String, NameServerError> {
    let bad = || NameServerError::new(TYPE_ERROR, "only URIs or strings can be registered");
    let state = match value.get("state") {
        Some(Value::Tuple(s) | Value::List(s)) if s.len() == 5 => s,
        _ => return Err(bad()),
    };
    let protocol = match state[0].as_str() {
        Some("PYRO") => Protocol::Pyro,
        Some("PYRONAME") => Protocol::PyroName,
        Some("PYROMETA") => Protocol::PyroMeta,
        _ => return Err(bad()),
    };
    let joined;
    let object = match &state[1] {
        Value::Str(s) => s.as_str(),
        Value::List(v) | Value::Tuple(v) | Value::Set(v) | Value::FrozenSet(v) => {
            joined = v.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",");
            &joined
        }
        _ => return Err(bad()),
    };
    let port = match &state[4] {
        Value::Int(p) => i64::try_from(*p).ok(),
        _ => None,
    };
    let location = match (&state[2], &state[3], port) {
        (Value::Str(socket), _, _) => Some(Location::Unix { socket }),
        (_, Value::Str(host), Some(port)) => Some(Location::Tcp { host, port }),
        _ => None,
    };
    Ok(Uri::new(protocol, object, location).to_string())
}

/// A `list` / `yplookup` result: `{name: uri}` or `{name: (uri, metadata)}`; an entry
/// without metadata shows `frozenset()` as Python's memory storage does (when `frozen_ok`).
fn listing(entries: Vec<(String, Entry)>, with_metadata: bool, frozen_ok: bool) -> Value {
    Value::Dict(
        entries
            .into_iter()
            .map(|(name, entry)| {
                let uri = Value::Str(entry.uri);
                let value = if with_metadata {
                    let tags = match entry.metadata {
                        Some(tags) => Value::Set(tags.into_iter().map(Value::Str).collect()),
                        None if frozen_ok => Value::FrozenSet(Vec::new()),
                        None => Value::Set(Vec::new()),
                    };
                    Value::Tuple(vec![uri, tags])
                } else {
                    uri
                };
                (Value::Str(name), value)
            })
            .collect(),
    )
}

fn int(n: usize) -> Value {
    Value::Int(i128::try_from(n).unwrap_or(i128::MAX))
}

fn dedup(tags: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Python's `bool(value)`.
fn truthy(value: &Value) -> bool {
    match value {
        Value::None => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::BigInt(_) => true,
        Value::Float(f) => *f != 0.0,
        Value::Complex { re, im } => *re != 0.0 || *im != 0.0,
        Value::Str(s) => !s.is_empty(),
        Value::Bytes(b) => !b.is_empty(),
        Value::Tuple(v) | Value::List(v) | Value::Set(v) | Value::FrozenSet(v) => !v.is_empty(),
        Value::Dict(d) => !d.is_empty(),
        Value::DateTime(_) | Value::Date(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Option<Vec<String>> {
        Some(t.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn register_lookup_remove_follow_pyro() {
        let ns = NameServer::new();
        ns.register(NAMESERVER_NAME, "PYRO:Pyro.NameServer@localhost:9090", false, tags(&[NAMESERVER_CLASS_TAG]))
            .unwrap();
        ns.register("a.one", "PYRO:o1@h:1", false, None).unwrap();
        ns.register("a.two", "PYRO:o2@h:2", false, tags(&["m1", "m2", "m1"])).unwrap();
        assert_eq!(ns.lookup("a.two").unwrap().tags(), ["m1", "m2"]);
        let dup = ns.register("a.two", "PYRO:x@h:2", true, None).unwrap_err();
        assert_eq!((dup.pyro_class(), dup.message()), (NAMING_ERROR, "name already registered: a.two"));
        assert_eq!(ns.register("b", "PYRO:x", false, None).unwrap_err().message(), "invalid uri");
        assert_eq!(ns.lookup("nope").unwrap_err().message(), "unknown name: nope");
        assert_eq!(ns.list(None, Some("a\\.t")).unwrap().len(), 1);
        assert_eq!(ns.list(None, Some("one")).unwrap().len(), 0, "re.match is anchored at the start");
        assert!(ns.list(None, Some("(")).unwrap_err().message().starts_with("invalid regex: "));
        assert_eq!(ns.yplookup(tags(&["m2"]).as_deref(), None).unwrap().len(), 1);
        assert_eq!(ns.yplookup(None, tags(&["m2", NAMESERVER_CLASS_TAG]).as_deref()).unwrap().len(), 2);
        assert_eq!(ns.remove(Some(NAMESERVER_NAME), None, None).unwrap(), 0);
        assert_eq!(ns.remove(None, Some("Pyro"), None).unwrap(), 0);
        assert_eq!(ns.remove(None, None, Some(".*")).unwrap(), 2);
        assert_eq!(ns.count().unwrap(), 1);
    }

    #[test]
    fn ten_thousand_names_list_regex_and_yplookup_correctly() {
        let ns = NameServer::new();
        for i in 0..10_000 {
            let meta = tags(&[if i % 2 == 0 { "even" } else { "odd" }, if i % 7 == 0 { "seven" } else { "other" }]);
            ns.register(&format!("n{i:05}"), &format!("PYRO:o{i}@h:{i}"), false, meta).unwrap();
        }
        let all = ns.list(None, None).unwrap();
        assert_eq!(all.len(), 10_000);
        assert!(all.iter().enumerate().all(|(i, (n, _))| *n == format!("n{i:05}")), "registration order");
        assert_eq!(ns.list(Some("n001"), None).unwrap().len(), 100);
        assert_eq!(ns.list(None, Some(r"n\d{3}7")).unwrap().len(), 1000);
        assert_eq!(ns.yplookup(tags(&["even", "seven"]).as_deref(), None).unwrap().len(), 715);
        assert_eq!(ns.yplookup(None, tags(&["odd", "seven"]).as_deref()).unwrap().len(), 5000 + 715);
        assert_eq!(ns.remove(None, None, Some(r"n\d{4}[05]")).unwrap(), 2000);
        assert_eq!(ns.count().unwrap(), 8000);
    }
}
