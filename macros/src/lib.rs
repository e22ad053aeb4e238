//! `pyro5-macros`: [`#[expose]`](macro@expose) turns an ordinary `impl` block into a Pyro
//! object: it writes `impl pyro5_core::server::PyroObject` for the type, with Pyro's
//! metadata (methods, oneway methods, attributes) and a dispatcher that reads each call's
//! arguments as the method's parameter types and writes its result in the caller's format.
//! The generated code uses only `core` and `pyro5_core`: it needs no allocator (except for
//! methods returning `impl Iterator`, see below) and runs on a microcontroller as it does on
//! a server.
//!
//! For the other direction, [`#[proxy]`](macro@proxy) turns a trait into a typed client:
//! a struct wrapping a `pyro5_std::Proxy` whose methods call the remote object's.
//!
//! # Example
//! ```
//! use pyro5_core::server::{CallContext, PyException, PyroObject, StreamCursor, VALUE_ERROR};
//! use pyro5_macros::expose;
//!
//! /// What Python sees as class `Thermo`.
//! struct Thermo {
//!     celsius: f64,
//!     verbose: bool,
//! }
//!
//! #[expose]
//! impl Thermo {
//!     /// `thermo.read()` → a float.
//!     fn read(&self) -> f64 {
//!         self.celsius
//!     }
//!
//!     /// `thermo.set(21.5)`, `thermo.set(70, unit="F")`; raises ValueError below absolute zero.
//!     fn set(&mut self, value: f64, unit: Option<&str>) -> Result<f64, PyException<&'static str>> {
//!         let celsius = if unit == Some("F") { (value - 32.0) / 1.8 } else { value };
//!         if celsius < -273.15 {
//!             return Err(PyException::new(VALUE_ERROR, "below absolute zero"));
//!         }
//!         self.celsius = celsius;
//!         Ok(celsius)
//!     }
//!
//!     /// `thermo.beep()` returns at once in Python: the call is oneway.
//!     #[oneway]
//!     fn beep(&mut self) {}
//!
//!     /// The correlation id of the call, from the call's context (not a Python parameter).
//!     fn whoami(&self, ctx: &CallContext<'_>) -> u128 {
//!         u128::from_be_bytes(ctx.correlation_id.0)
//!     }
//!
//!     /// `for r in thermo.readings(): ...`: three items, one per round trip.
//!     #[stream]
//!     fn readings(&mut self, cursor: &mut StreamCursor) -> Option<f64> {
//!         *cursor += 1;
//!         (*cursor <= 3).then_some(self.celsius)
//!     }
//!
//!     /// `thermo.verbose` and `thermo.verbose = True`: a property.
//!     #[getter]
//!     fn verbose(&self) -> bool {
//!         self.verbose
//!     }
//!     #[setter]
//!     fn set_verbose(&mut self, value: bool) {
//!         self.verbose = value;
//!     }
//!
//!     /// Not exposed: private names never are, as in Pyro.
//!     fn _calibrate(&mut self) {}
//!
//!     /// Not exposed: no `self`.
//!     fn new() -> Self {
//!         Self { celsius: 20.0, verbose: false }
//!     }
//! }
//!
//! let meta = Thermo::new().metadata();
//! assert_eq!(meta.class_name, "Thermo");
//! assert_eq!(meta.methods, ["read", "set", "beep", "whoami", "readings"]);
//! assert_eq!(meta.oneway, ["beep"]);
//! assert_eq!(meta.attrs, ["verbose"]);
//! ```
//! Serve it by registering a `RefCell<Thermo>` in an
//! [`ObjectTable`](../pyro5_core/server/struct.ObjectTable.html) (see the example of
//! `pyro5_core::server`); the tests of this crate (`tests/expose.rs`) call objects like this
//! one through the daemon's connection state machine in all four serializers.
//!
//! # What is exposed
//! The `impl` block is the Python class; its name is the type's (the last segment of the
//! self type's path), or `#[expose(class = "Name")]`.
//! - Every method with a `&self` or `&mut self` receiver whose name Pyro does not consider
//!   private ([`is_private_name`]: a leading underscore, except `__dunder__` names that are
//!   not Python's special methods). Associated functions without `self` are left alone.
//! - `#[pyro5(skip)]` leaves a method out. A method taking `self` by value must be skipped.
//! - `#[pyro5(name = "pyName")]` gives a method (or a property) its Python name; this way
//!   a method can also be exposed as a `__dunder__`.
//!
//! # Markers
//! Every marker is written `#[pyro5(...)]`; the four flags also have a short form. All of
//! them are removed from the emitted `impl`.
//!
//! | marker | short form | on | meaning |
//! |---|---|---|---|
//! | `#[pyro5(skip)]` | | method | not exposed |
//! | `#[pyro5(name = "n")]` | | method | the Python name |
//! | `#[pyro5(oneway)]` | `#[oneway]` | method | listed as oneway: Python does not wait for it |
//! | `#[pyro5(getter)]` | `#[getter]`, `#[getter(name = "n")]` | `fn x(&self) -> T` | property `x`, read |
//! | `#[pyro5(setter)]` | `#[setter]`, `#[setter(name = "n")]` | `fn set_x(&mut self, v: T)` | property `x`, written |
//! | `#[pyro5(stream)]` | `#[stream]` | `fn s(&mut self, c: &mut StreamCursor) -> Option<T>` | a cursor stream |
//! | `#[pyro5(result)]`, `#[pyro5(result = false)]` | | method | whether the return value is a `Result` (see below) |
//! | `#[pyro5(name = "n")]` | | parameter | its Python keyword |
//!
//! Flags combine in one marker (`#[pyro5(getter, name = "x")]`); a method is at most one of
//! oneway, getter, setter and stream. Since the short forms are removed, other attribute
//! macros named `oneway`, `getter`, `setter` or `stream` can't be used on methods of an
//! exposed impl. Misused markers are compile errors at the marker.
//!
//! # Parameters
//! Each typed parameter is a Python parameter: its position (counting Python parameters
//! only) is its positional index, its name the keyword (raw identifiers without `r#`). A call
//! is checked as Python checks it, with Python's `TypeError` texts
//! (`Thermo.set() missing 1 required positional argument: 'value'`, `... takes 2 positional
//! arguments but 3 were given`, `... got an unexpected keyword argument 'x'`, `... got
//! multiple values for argument 'x'`), then each argument is deserialized as the parameter's
//! type; borrowed types (`&str`, `&[u8]` where the format allows) borrow from the received
//! message.
//! - `Option<T>`: may be left out (Python's `=None` default): not passed and passed as
//!   `None` both give `None`.
//! - `VarArgs<T>` and `KwArgs<T>` (`pyro5_core::server`, with `alloc`), after the Python
//!   parameters: Python's `*args` (the positional arguments past them, each a `T`) and
//!   `**kwargs` (the keyword arguments naming none of them, in the order sent). A method
//!   with them takes what Python's `def f(self, a, *args, **kwargs)` takes; returned, they
//!   are written as a tuple and a dict.
//! - `SerializedBlob<'_>` (`pyro5_core::ser::blob`): the only argument of a call made with
//!   Python's `SerializedBlob(info, data)`, its data still serialized (to pass on with a
//!   proxy's `call_blob`, or read with `deserialized`); another argument there, or a blob
//!   for another type, is an error the caller sees.
//! - `&CallContext<'_>` (any path ending in `CallContext`): not a Python parameter; receives
//!   the call's context (connection, correlation id, annotations...).
//! - `Reply<'_, '_>` (any path ending in `Reply`): not a Python parameter; the method
//!   answers itself and returns `Replied` (e.g. to add response annotations).
//! - Patterns other than a plain name need `#[pyro5(name = "...")]`; `&mut` and `impl
//!   Trait` parameters and generic methods (over types or constants) are compile errors.
//!
//! # Return values
//! - `()` or nothing: Python's `None`.
//! - Any `T: Serialize`: the result, written in the caller's format.
//! - `Result<T, E>` with `E:` [`PythonException`] (e.g. [`PyException`]): `Ok` as above,
//!   `Err` raised in Python with its class and message. A `Result` is recognized by the last
//!   segment of its path being `Result`, so aliases named `Result` (`io::Result<T>`) are
//!   recognized too (their error type must then implement `PythonException`). For an alias
//!   of another name, mark the method `#[pyro5(result)]`; for a type named `Result` that is
//!   not one, `#[pyro5(result = false)]`.
//! - `impl Iterator<Item = T>` (also `Result<impl Iterator<Item = T>, E>`): an item stream
//!   the daemon drives, one item per `get_next_stream_item`. This needs feature `alloc` of
//!   `pyro5-core` (the iterator is boxed) and is only generated for such methods. The
//!   iterator outlives the call, so it must own what it uses and be `Send`: the macro adds
//!   `+ 'static` to the `impl Iterator` type unless it already names a lifetime or a
//!   `use<..>` bound. Items are converted with `pyro5_core::ser::value::to_value`; an item
//!   that does not convert ends the stream (the client sees `StopIteration`). An item of
//!   type `pyro5_core::server::streams::Annotated<T>` also sends annotations with its reply
//!   (Python's `current_context.response_annotations` set inside a generator).
//!
//! # Cursor streams (no allocator)
//! `#[stream] fn readings(&mut self, cursor: &mut StreamCursor) -> Option<T>` (or
//! `Result<Option<T>, E>`) is a method without Python parameters that answers with an item
//! stream. The daemon keeps the stream's cursor (a `u64`, 0 at the start) and calls the
//! method once per item requested: `Some(item)` is the item, `None` ends the stream, `Err`
//! raises in the client and ends the stream. The first call happens for the first item, not
//! when the stream is opened.
//!
//! A stream whose call takes parameters from Python is started by one method and fed by
//! another: `#[stream(next = next_reading)] fn readings(&mut self, count: u32) ->
//! StreamCursor` (or `Result<StreamCursor, E>`) is exposed as `readings(count)` and returns
//! the stream's first cursor, where it keeps what it needs of its arguments (a count, a
//! position, an index into the object's own state); `fn next_reading(&mut self, cursor:
//! &mut StreamCursor) -> Option<T>` (or `Result<Option<T>, E>`) then makes each item, as
//! above. The `next` method is not exposed itself. Still no allocation.
//!
//! # Properties
//! `#[getter] fn verbose(&self) -> T` makes attribute `verbose`, read by Python's
//! `proxy.verbose` (`__getattr__`); `#[setter] fn set_verbose(&mut self, value: T)` writes it
//! (`__setattr__`, the value is argument 1, `"value"`; a setter of `Option<T>` accepts
//! `None`). Both may return a `Result`, and take a `&CallContext` too. Writing an attribute that has only a getter (or reading one that has
//! only a setter) raises Pyro's `AttributeError`. Attributes are not methods.
//!
//! # Async methods
//! `async fn` methods are served by an async daemon (`pyro5_tokio::Daemon`): while one
//! awaits, the daemon serves other clients. Each call's future owns what it uses, so an
//! async method
//! - takes `&self`, and the type is `Clone + Send + 'static` (the call runs on a clone: keep
//!   shared state behind an `Arc`, with a lock where it changes);
//! - takes only owned parameters from Python (`String`, not `&str`; no `&CallContext`),
//!   `VarArgs<T>` and `KwArgs<T>` of owned `T` too;
//! - returns a value or a `Result` (not an iterator), and may be `#[oneway]`.
//!
//! ```ignore
//! #[derive(Clone)]
//! struct Sensors { last: Arc<Mutex<f64>> }
//!
//! #[expose]
//! impl Sensors {
//!     async fn read_slowly(&self, channel: String) -> f64 {
//!         tokio::time::sleep(Duration::from_millis(200)).await;
//!         *self.last.lock().unwrap()
//!     }
//!     fn last(&self) -> f64 { *self.last.lock().unwrap() }
//! }
//! ```
//! The generated `invoke` reads the arguments, then answers with
//! [`Reply::later`](../pyro5_core/server/struct.Reply.html#method.later) and the future;
//! the core needs feature `alloc`. A daemon that runs no futures (`pyro5-std`'s thread and
//! multiplex servers) refuses such an object when it is registered, with an error that says
//! to serve it with the async daemon; an async method called inside a batch raises Pyro's
//! error naming it.
//!
//! # What is generated
//! `metadata()` returns `Metadata` built from `&'static` slices of the names; `invoke`,
//! `get_attr`, `set_attr` and `next_item` match the name and, for a method, do what a
//! hand-written object would:
//! ```text
//! "set" => {
//!     let function = Qualname { class_name: "Thermo", method: "set" };
//!     if let Err(e) = inv.args.check(function, &["value", "unit"]) { return reply.raise(&e); }
//!     let value = match inv.args.required(function, 0, "value") { Ok(v) => v, Err(e) => return reply.raise(&e) };
//!     let unit = match inv.args.optional(1, "unit") { Ok(v) => v.unwrap_or(None), Err(e) => return reply.raise(&e) };
//!     match self.set(value, unit) { Ok(v) => reply.ok(&v), Err(e) => reply.raise(&e) }
//! }
//! ```
//! (with full paths and `__pyro5_` names). The types come from the method's signature by
//! inference, so errors about a parameter that can't be deserialized, a result that can't be
//! serialized or an error that is not a `PythonException` point at that type.
//!
//! # Generics and paths
//! Generic impls work (`impl<T: Serialize> Store<T> where ...`): generics and where-clauses
//! are carried to the trait impl; the bounds a method's parameters need
//! (`T: Deserialize<'de>`) are the impl's to state. One exposed impl block per type.
//! The generated code names the core as `::pyro5_core`; through a re-export, give its path:
//! `#[expose(crate = "my::pyro5_core")]`. `pyro5-std` re-exports both attributes:
//! `#[pyro5_std::expose]` names the core as `::pyro5_std::core` and `#[pyro5_std::proxy]`
//! names `::pyro5_std`, so a crate that depends on `pyro5-std` alone uses them as they are. `#[cfg]` on an exposed method is refused (skip
//! it, or put it in a separate impl block).
//!
//! [`is_private_name`]: ../pyro5_core/server/fn.is_private_name.html
//! [`PythonException`]: ../pyro5_core/server/trait.PythonException.html
//! [`PyException`]: ../pyro5_core/server/struct.PyException.html
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod args;
mod attrs;
mod emit;
mod method;
mod names;
mod proxy;

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{ImplItem, ItemImpl, LitStr, Type};

use crate::args::ExposeArgs;
use crate::attrs::combine;
use crate::method::{Exposed, Role};

/// Make the methods of an inherent `impl` block a Pyro object: writes
/// `impl pyro5_core::server::PyroObject` for the type. See the [crate] documentation for the
/// rules and markers.
///
/// Arguments: `#[expose]`, `#[expose(class = "PythonClassName")]`,
/// `#[expose(crate = "path::to::pyro5_core")]`.
#[proc_macro_attribute]
pub fn expose(attr: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand(attr.into(), item.into(), syn::parse_quote!(::pyro5_core)).into()
}

/// The rules, markers and arguments are those of `pyro5_macros::expose`; only the default
/// path of the core differs. (This is `pyro5_std::expose`; use that path rather than this
/// one.)
#[doc(hidden)]
#[proc_macro_attribute]
pub fn expose_through_std(attr: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand(attr.into(), item.into(), syn::parse_quote!(::pyro5_std::core)).into()
}

/// A typed client from a trait: `#[proxy] trait Echo { ... }` keeps the trait and writes
/// `struct EchoProxy`, which wraps a [`pyro5_std::Proxy`](../pyro5_std/struct.Proxy.html) and implements the trait by calling
/// the remote object, so remote methods are called as Rust methods.
///
/// Arguments: `#[proxy]`, `#[proxy(name = "EchoClient")]` (the struct's name; default: the
/// trait's followed by `Proxy`), `#[proxy(crate = "path::to::pyro5_std")]` (default
/// `::pyro5_std`, for a re-export of it).
///
/// When the trait's remote methods are `async fn`, the struct wraps a `pyro5_tokio::Proxy`
/// instead (default path `::pyro5_tokio`): every method awaits its call, a generator
/// returns `Result<RemoteStream, E>`, and tasks share the typed proxy (`&self` methods) with
/// their calls pipelined on its connection. A trait's remote methods are all blocking or all
/// async. See `pyro5_tokio`'s documentation for an example.
///
/// # Example
/// Serve Pyro's test echo server in this process and call it through a typed proxy:
/// ```
/// use pyro5_macros::proxy;
/// use pyro5_std::echo::{EchoServer, OBJECT_ID};
/// use pyro5_std::{Daemon, DaemonConfig, ProxyError, RemoteIter};
///
/// /// What this program calls of `Pyro5.utils.echoserver.EchoServer`.
/// #[proxy]
/// trait Echo {
///     /// `echo(message)` gives `message` back (`&self`: threads may share the proxy).
///     fn echo(&self, message: &str) -> Result<String, ProxyError>;
///     /// `error()` raises `ValueError`.
///     fn error(&mut self) -> Result<(), ProxyError>;
///     /// A remote name that is not a Rust name.
///     #[pyro5(name = "__dunder__")]
///     fn dunder(&mut self) -> Result<String, ProxyError>;
///     /// Property `verbose`, read...
///     #[pyro5(getter)]
///     fn verbose(&mut self) -> Result<bool, ProxyError>;
///     /// ...and written.
///     #[pyro5(setter)]
///     fn set_verbose(&mut self, value: bool) -> Result<(), ProxyError>;
///     /// A generator: one item per round trip.
///     fn generator(&mut self) -> Result<RemoteIter<'_>, ProxyError>;
///     /// A method with a body runs here, built on the remote ones.
///     fn shout(&self, message: &str) -> Result<String, ProxyError> {
///         Ok(self.echo(message)?.to_uppercase())
///     }
/// }
///
/// let daemon = Daemon::new(DaemonConfig::default())?; // localhost, a free port
/// let uri = daemon.register_concurrent(EchoServer::new(), Some(OBJECT_ID))?;
/// let serving = daemon.clone();
/// let server = std::thread::spawn(move || serving.request_loop());
///
/// let mut echo = EchoProxy::new(&uri)?;
/// assert_eq!(echo.echo("hello")?, "hello");
/// assert_eq!(echo.shout("hello")?, "HELLO");
/// assert_eq!(echo.dunder()?, "should be allowed (dunder)");
/// match echo.error() {
///     Err(ProxyError::Remote(e)) => assert_eq!(e.class, "builtins.ValueError"),
///     other => panic!("{other:?}"),
/// }
/// echo.set_verbose(false)?;
/// assert!(!echo.verbose()?);
/// assert_eq!(echo.generator()?.count(), 3);
/// // Threads share it.
/// std::thread::scope(|s| {
///     for n in 0..4 {
///         let echo = &echo;
///         s.spawn(move || assert_eq!(echo.echo(&n.to_string()).unwrap(), n.to_string()));
///     }
/// });
///
/// echo.proxy().release();
/// daemon.shutdown();
/// server.join().expect("the request loop ends")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Methods
/// Every method without a body is a remote call and must look like
/// `fn name(&self, a: A, b: B) -> Result<T, E>`:
/// - `&self`: threads may share the typed proxy (it is `Send + Sync`), their calls
///   pipelined on its one connection; `&mut self` works too, for a proxy one thread owns.
/// - The parameters are the positional arguments, in order (`(a, b)` as a tuple, so each
///   must be `Serialize`; references are fine). There are no keyword arguments; call
///   `proxy_mut().call_kw(...)` for those.
/// - `Result<T, E>` with both types written out: `T: DeserializeOwned` is what the result is
///   read as (a `Value` takes anything; `()` ignores whatever the method returns, as a
///   Python caller dropping it), and `E: From<ProxyError>` (`ProxyError` itself, or an error
///   type of yours). A remote exception is `ProxyError::Remote`, with the Python class,
///   arguments and traceback.
/// - Methods may be generic over types (`fn get<T: DeserializeOwned>(&mut self, key: &str)
///   -> Result<T, ProxyError>`): the signature is copied into the implementation.
///
/// Oneway methods need no marker: the proxy knows them from the object's metadata (as
/// Python's proxy does) and returns `Ok` once the call is sent. A method whose `Ok` type is
/// `RemoteIter<'_>` (any path ending in `RemoteIter`) calls a generator with
/// `Proxy::call_iter`; its items are `Value`s fetched one round trip each, and dropping it
/// early closes the stream on the daemon. (With any other `Ok` type, such as `Vec<T>`, the
/// items are all fetched and collected.) A method with a default body is not a remote call:
/// it runs locally, and may take any receiver.
///
/// | marker | on | calls |
/// |---|---|---|
/// | (none) | `fn m(&mut self, ..) -> Result<T, E>` | `Proxy::call(`"m"`, (..))` |
/// | `#[pyro5(name = "remote")]` | a method | the method `remote` (e.g. a `__dunder__`) |
/// | `#[pyro5(getter)]`, `#[pyro5(getter = "x")]` | `fn x(&mut self) -> Result<T, E>` | `Proxy::get_attr("x")` |
/// | `#[pyro5(setter)]`, `#[pyro5(setter = "x")]` | `fn set_x(&mut self, v: T) -> Result<(), E>` | `Proxy::set_attr("x", v)` |
///
/// A getter is named as its method unless given; a setter as its method without `set_`.
/// Names Pyro never exposes (`_private`, `__init__`, ...) are compile errors, as are other
/// receivers, a missing `Result`, `async` methods, generic or `unsafe` traits and traits
/// with associated types or constants, each reported at the offending token.
///
/// # What is generated
/// For the trait above (paths shortened; the real ones start with `::pyro5_std`):
/// ```text
/// #[derive(Debug)]
/// struct EchoProxy(Proxy);                            // with the trait's visibility
/// impl EchoProxy {
///     fn new(uri: &str) -> Result<Self, ProxyError>;  // Proxy::new(uri)
///     fn from_proxy(proxy: Proxy) -> Self;            // a proxy set up beforehand
///     fn proxy(&self) -> &Proxy;
///     fn proxy_mut(&mut self) -> &mut Proxy;          // serializer, timeout, release...
///     fn into_inner(self) -> Proxy;
/// }
/// impl Echo for EchoProxy {
///     fn echo(&mut self, message: &str) -> Result<String, ProxyError> {
///         Result::map_err(Proxy::call::<String, _>(&mut self.0, "echo", (message,)),
///                         <ProxyError as From<ProxyError>>::from)
///     }
///     fn error(&mut self) -> Result<(), ProxyError> {
///         Result::map_err(Result::map(Proxy::call::<Value, _>(&mut self.0, "error", ()), drop),
///                         <ProxyError as From<ProxyError>>::from)
///     }
///     fn verbose(&mut self) -> Result<bool, ProxyError> {
///         Result::map_err(Proxy::get_attr::<bool>(&mut self.0, "verbose"), <ProxyError as From<ProxyError>>::from)
///     }
///     fn set_verbose(&mut self, value: bool) -> Result<(), ProxyError> {
///         Result::map_err(Proxy::set_attr::<_>(&mut self.0, "verbose", value), <ProxyError as From<ProxyError>>::from)
///     }
///     fn generator(&mut self) -> Result<RemoteIter<'_>, ProxyError> {
///         Result::map_err(Proxy::call_iter::<_>(&mut self.0, "generator", ()), <ProxyError as From<ProxyError>>::from)
///     }
///     // `shout` has a body: not implemented here.
/// }
/// ```
/// The types are spanned at the trait's, so that a result type that is not
/// `DeserializeOwned`, an argument that is not `Serialize` or an error type without
/// `From<ProxyError>` is reported at that type in the trait.
/// The inherent methods shadow trait methods of the same names (`new`, `proxy`, ...) in
/// method-call syntax; call those as `Echo::proxy(&mut p)`.
#[proc_macro_attribute]
pub fn proxy(attr: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    proxy::expand(attr.into(), item.into()).into()
}

fn expand(attr: TokenStream, item: TokenStream, default_krate: syn::Path) -> TokenStream {
    let mut item: ItemImpl = match syn::parse2(item) {
        Ok(item) => item,
        Err(e) => {
            let e = syn::Error::new(e.span(), "#[expose] goes on an inherent impl block (`impl T { ... }`)");
            return e.to_compile_error();
        }
    };
    let mut errors: Option<syn::Error> = None;
    let args = ExposeArgs::parse(attr, default_krate).map_err(|e| combine(&mut errors, e)).ok();
    if let Some((_, path, _)) = &item.trait_ {
        let e = syn::Error::new(
            path.span(),
            "#[expose] goes on an inherent impl block (`impl T { ... }`), not on a trait impl",
        );
        combine(&mut errors, e);
    }
    // The item methods of `#[stream(next = f)]` streams are not exposed themselves.
    let nexts: Vec<syn::Ident> = item
        .items
        .iter()
        .filter_map(|i| match i {
            ImplItem::Fn(f) => attrs::stream_next(&f.attrs),
            _ => None,
        })
        .collect();
    let mut exposed = Vec::new();
    for impl_item in &mut item.items {
        let found = match impl_item {
            // Its markers are taken off; what it would be as a method does not matter.
            ImplItem::Fn(f) if nexts.contains(&f.sig.ident) => {
                let _ = method::analyze(f);
                Ok(None)
            }
            ImplItem::Fn(f) => method::analyze(f),
            ImplItem::Const(c) => attrs::refuse_markers(&mut c.attrs, "constants").map(|()| None),
            ImplItem::Type(t) => attrs::refuse_markers(&mut t.attrs, "types").map(|()| None),
            ImplItem::Macro(m) => attrs::refuse_markers(&mut m.attrs, "macro calls").map(|()| None),
            _ => Ok(None),
        };
        match found {
            Ok(Some(e)) => exposed.push(e),
            Ok(None) => {}
            Err(e) => combine(&mut errors, e),
        }
    }
    if let Err(e) = check_names(&exposed) {
        combine(&mut errors, e);
    }
    let class = args.as_ref().and_then(|a| a.class.clone()).map(Ok).unwrap_or_else(|| class_name(&item.self_ty));
    let class = class.map_err(|e| combine(&mut errors, e)).ok();
    match (errors, args, class) {
        (None, Some(args), Some(class)) => {
            let object = emit::Object { item: &item, class, krate: &args.krate, exposed: &exposed };
            let trait_impl = object.emit();
            quote! {
                #item
                #trait_impl
            }
        }
        // Emit the impl without markers, and a trait impl exposing nothing, so that only
        // the real errors show.
        (errors, args, class) => {
            let errors = errors.map(|e| e.to_compile_error());
            let stub = args.filter(|_| item.trait_.is_none()).map(|args| {
                let class = class.unwrap_or_else(|| LitStr::new("", proc_macro2::Span::call_site()));
                emit::Object { item: &item, class, krate: &args.krate, exposed: &[] }.emit()
            });
            quote! {
                #item
                #stub
                #errors
            }
        }
    }
}

/// The class name from the self type: the last segment of its path.
fn class_name(ty: &Type) -> syn::Result<LitStr> {
    match ty {
        Type::Path(p) if p.qself.is_none() => match p.path.segments.last() {
            Some(last) => Ok(LitStr::new(&syn::ext::IdentExt::unraw(&last.ident).to_string(), last.ident.span())),
            None => Err(syn::Error::new(ty.span(), "give the class name: #[expose(class = \"Name\")]")),
        },
        Type::Group(g) => class_name(&g.elem),
        _ => Err(syn::Error::new(ty.span(), "give the class name: #[expose(class = \"Name\")]")),
    }
}

/// Methods and attributes share Python's namespace: each method name once, each attribute
/// with at most one getter and one setter, no name both.
fn check_names(exposed: &[Exposed]) -> syn::Result<()> {
    let mut errors = None;
    for (i, e) in exposed.iter().enumerate() {
        let clash = exposed[..i].iter().find(|earlier| {
            earlier.name == e.name && (is_method(earlier.role) || is_method(e.role) || earlier.role == e.role)
        });
        if let Some(earlier) = clash {
            let what = match (is_method(earlier.role), is_method(e.role)) {
                (true, true) => "a second method",
                (false, false) if e.role == Role::Getter => "a second getter for attribute",
                (false, false) => "a second setter for attribute",
                _ => "both a method and an attribute:",
            };
            combine(&mut errors, syn::Error::new(e.span, format!("{what} `{}`", e.name)));
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn is_method(role: Role) -> bool {
    matches!(role, Role::Method { .. } | Role::Cursor | Role::StreamStart)
}
