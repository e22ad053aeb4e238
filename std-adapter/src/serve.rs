//! Serving objects in one call, as Python's `Pyro5.server.serve`: a daemon, the objects
//! registered in it (and by name in the name server), a report of their URIs, and the
//! request loop.
//!
//! ```no_run
//! use pyro5_std::{ServeOptions, expose, serve};
//!
//! struct Greeter;
//!
//! #[expose]
//! impl Greeter {
//!     fn greet(&self, name: String) -> String {
//!         format!("Hello, {name}!")
//!     }
//! }
//!
//! serve([(Greeter, "example.greeter")], ServeOptions { use_ns: false, ..ServeOptions::default() })?;
//! # Ok::<(), pyro5_std::ServeError>(())
//! ```

use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use pyro5_core::server::PyroObject;

use crate::daemon::{Daemon, DaemonConfig, DaemonError, InstanceMode, SharedObject};
use crate::locate::locate_ns;
use crate::proxy::ProxyError;

/// How [`serve`] runs: Python's `serve(objects, host=None, port=0, daemon=None, use_ns=True,
/// verbose=True)`, with the same defaults.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The host the daemon binds; `None` is the daemon's default (`localhost`, Pyro's
    /// `HOST`). Ignored with [`daemon`](Self::daemon).
    pub host: Option<String>,
    /// The port the daemon binds; 0 picks a free one. Ignored with [`daemon`](Self::daemon).
    pub port: u16,
    /// A daemon made beforehand (for a Unix socket, a server type or limits of your own, or
    /// to [`shutdown`](Daemon::shutdown) the loop from another thread); `None` binds one.
    pub daemon: Option<Daemon>,
    /// Register each named object with the name server, found as
    /// [`locate_ns`](crate::locate::locate_ns) finds it (default `true`). The objects then
    /// get generated ids in the daemon; without a name server, the name is the object id.
    pub use_ns: bool,
    /// Print each object's URI and name, and "Pyro daemon running.", as Python does
    /// (default `true`).
    pub verbose: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self { host: None, port: 0, daemon: None, use_ns: true, verbose: true }
    }
}

/// Registers an object in a daemon under an id (or a generated one): gives its URI.
type Register = Box<dyn FnOnce(&Daemon, Option<&str>) -> Result<String, DaemonError> + Send>;

/// One object for [`serve`], with its name (or none: served under a generated id and not
/// registered in the name server, as Python's `None`).
///
/// A pair `(object, "name")` or `(object, Some("name"))` converts into one, so objects of
/// one type are given as an array of pairs; objects of several types as `Served` values.
pub struct Served {
    name: Option<String>,
    repr: String,
    register: Register,
}

impl fmt::Debug for Served {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Served").field("name", &self.name).field("object", &self.repr).finish_non_exhaustive()
    }
}

impl Served {
    /// `object`, shared by every client and called one call at a time (as
    /// [`Daemon::register`]).
    pub fn new<O: PyroObject + Send + 'static>(object: O, name: Option<&str>) -> Self {
        let shared = Arc::new(Mutex::new(object));
        let repr = repr::<O>(Arc::as_ptr(&shared).cast::<u8>());
        Self::shared(shared, name).with_repr(repr)
    }

    /// `object`, called by several clients at once, each call on its own clone (as
    /// [`Daemon::register_concurrent`]).
    pub fn concurrent<O: PyroObject + Clone + Send + Sync + 'static>(object: O, name: Option<&str>) -> Self {
        let template = Arc::new(object);
        let repr = repr::<O>(Arc::as_ptr(&template).cast::<u8>());
        let register: Register = Box::new(move |daemon: &Daemon, id: Option<&str>| {
            daemon.register_class(InstanceMode::PerCall, move || O::clone(&template), id)
        });
        Self { name: name.map(str::to_string), repr, register }
    }

    /// An object shared with other code (as [`Daemon::register_shared`]).
    pub fn shared(object: SharedObject, name: Option<&str>) -> Self {
        let repr = format!("<object at {:p}>", Arc::as_ptr(&object).cast::<u8>());
        let register: Register = Box::new(move |daemon: &Daemon, id: Option<&str>| daemon.register_shared(object, id));
        Self { name: name.map(str::to_string), repr, register }
    }

    fn with_repr(mut self, repr: String) -> Self {
        self.repr = repr;
        self
    }

    /// The name given.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// Python's `repr` of an object without one of its own: `<path::Type object at 0x...>`.
fn repr<O>(address: *const u8) -> String {
    format!("<{} object at {address:p}>", std::any::type_name::<O>())
}

impl<O: PyroObject + Send + 'static> From<(O, &str)> for Served {
    fn from((object, name): (O, &str)) -> Self {
        Self::new(object, Some(name))
    }
}

impl<O: PyroObject + Send + 'static> From<(O, Option<&str>)> for Served {
    fn from((object, name): (O, Option<&str>)) -> Self {
        Self::new(object, name)
    }
}

/// Why [`serve`] stopped.
#[derive(Debug)]
pub enum ServeError {
    /// Binding the daemon's socket, or its request loop, failed.
    Io(io::Error),
    /// The daemon refused an object (its id was taken).
    Register(DaemonError),
    /// Finding the name server, or registering a name in it, failed.
    NameServer(ProxyError),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "daemon: {e}"),
            Self::Register(e) => write!(f, "registering: {e}"),
            Self::NameServer(e) => write!(f, "name server: {e}"),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Register(e) => Some(e),
            Self::NameServer(e) => Some(e),
        }
    }
}

impl From<io::Error> for ServeError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<DaemonError> for ServeError {
    fn from(e: DaemonError) -> Self {
        Self::Register(e)
    }
}

impl From<ProxyError> for ServeError {
    fn from(e: ProxyError) -> Self {
        Self::NameServer(e)
    }
}

/// Serve `objects` until the daemon shuts down, as Python's `Pyro5.server.serve`: binds a
/// daemon (or takes [`ServeOptions::daemon`]), locates the name server when
/// [`use_ns`](ServeOptions::use_ns), registers each object (under a generated id and its
/// name in the name server, or under its name in the daemon without a name server),
/// prints as Python does when [`verbose`](ServeOptions::verbose):
///
/// ```text
/// Object <server::Greeter object at 0x5581f5b0c2a0>:
///     uri = PYRO:obj_6a7f...@localhost:41043
///     name = example.greeter
/// Pyro daemon running.
/// ```
///
/// (the `name` line only for names given to a name server), and runs the request loop.
/// It returns when the loop ends: [`Daemon::shutdown`] on a clone of the daemon given.
///
/// # Errors
/// [`ServeError`]: the socket, an id taken, or the name server not found or failing.
pub fn serve<I>(objects: I, options: ServeOptions) -> Result<(), ServeError>
where
    I: IntoIterator,
    I::Item: Into<Served>,
{
    let daemon = start(objects, &options, &mut io::stdout().lock())?;
    daemon.request_loop()?;
    Ok(())
}

/// Everything [`serve`] does before the request loop, reporting to `out`.
fn start<I>(objects: I, options: &ServeOptions, out: &mut dyn Write) -> Result<Daemon, ServeError>
where
    I: IntoIterator,
    I::Item: Into<Served>,
{
    let daemon = match &options.daemon {
        Some(daemon) => daemon.clone(),
        None => {
            let mut config = DaemonConfig { port: options.port, ..DaemonConfig::default() };
            if let Some(host) = &options.host {
                config.host.clone_from(host);
            }
            Daemon::new(config)?
        }
    };
    let mut ns = if options.use_ns { Some(locate_ns(None, None)?) } else { None };
    for served in objects {
        let Served { name, repr, register } = served.into();
        // With a name server the name is its business; without, it is the object id.
        let id = if ns.is_some() { None } else { name.as_deref() };
        let uri = register(&daemon, id)?;
        if options.verbose {
            writeln!(out, "Object {repr}:\n    uri = {uri}")?;
        }
        if let (Some(name), Some(ns)) = (&name, &mut ns) {
            ns.register(name, &uri, false)?;
            if options.verbose {
                writeln!(out, "    name = {name}")?;
            }
        }
    }
    if options.verbose {
        writeln!(out, "Pyro daemon running.")?;
        out.flush()?;
    }
    Ok(daemon)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::echo::EchoServer;

    fn local() -> Daemon {
        Daemon::new(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }).unwrap()
    }

    #[test]
    fn without_a_name_server_the_name_is_the_object_id() {
        let daemon = local();
        let options = ServeOptions { daemon: Some(daemon.clone()), use_ns: false, ..ServeOptions::default() };
        let mut out = Vec::new();
        let objects = [Served::new(EchoServer::new(), Some("test.one")), Served::concurrent(EchoServer::new(), None)];
        start(objects, &options, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        let repr = "<pyro5_std::echo::EchoServer object at 0x";
        assert!(lines[0].starts_with(&format!("Object {repr}")) && lines[0].ends_with(">:"), "{text}");
        assert_eq!(lines[1], format!("    uri = PYRO:test.one@{}", daemon.location()));
        assert!(lines[2].starts_with(&format!("Object {repr}")), "{text}");
        let generated = lines[3].strip_prefix("    uri = PYRO:").and_then(|r| r.split('@').next()).unwrap();
        assert!(generated.starts_with("obj_") && daemon.is_registered(generated), "{text}");
        assert_eq!(lines[4], "Pyro daemon running.");
        assert!(daemon.is_registered("test.one"));

        // Quiet: nothing printed; an id taken is an error.
        let quiet = ServeOptions { verbose: false, ..options };
        let mut out = Vec::new();
        match start([(EchoServer::new(), "test.one")], &quiet, &mut out) {
            Err(ServeError::Register(DaemonError::IdTaken(id))) => assert_eq!(id, "test.one"),
            other => panic!("expected IdTaken, got {other:?}"),
        }
        start([(EchoServer::new(), "test.two")], &quiet, &mut out).unwrap();
        assert!(out.is_empty() && daemon.is_registered("test.two"));
    }
}
