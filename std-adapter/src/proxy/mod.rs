//! Calling Pyro objects: `Proxy`, as Python's `Pyro5.client.Proxy` (`docs/wire-protocol.md`,
//! "Connections").
//!
//! A [`Proxy`] connects on first use, learns the object's metadata from the handshake and
//! refuses names the object does not expose before sending anything. Typed results
//! ([`Proxy::call`], [`Proxy::get_attr`]) are read straight from the reply's payload, so a
//! format's own conveniences apply (serpent's and json's base64 dicts read as bytes, the NaN
//! dict as NaN); [`Proxy::call_value`] gives a dynamic [`Value`]. A call that returns an
//! iterator is read item by item with [`Proxy::call_iter`] (or collected into a list by the
//! other calls, as Python's `list(proxy.method())` would). `PYRONAME:` and `PYROMETA:` URIs are
//! resolved through a name server on connecting ([`crate::locate`], `docs/name-server.md`,
//! "PYRONAME and PYROMETA").
//!
//! Errors follow Pyro5's proxy: a communication fault, a timeout and a reply that does not
//! fit the conversation close the connection (the next call connects again, or the same
//! call is retried up to [`Proxy::set_max_retries`] times after a closed connection or a
//! timeout); an exception raised by the remote method ([`ProxyError::Remote`]) and a result
//! that does not fit the type asked for ([`ProxyError::Decode`]) leave it open.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use pyro5_core::client::{ClientConnection, ClientError, ClientEvent, Extras, ObjectMetadata, Payload, Reply};
use pyro5_core::limits::Limits;
use pyro5_core::ser::blob::SerializedBlob;
use pyro5_core::ser::call::CallError;
use pyro5_core::ser::envelope::TRACEBACK_ATTRIBUTE;
use pyro5_core::ser::serpent;
use pyro5_core::ser::value::{Value, from_value};
use pyro5_core::wire::{AnnotationId, CorrelationId, DecodeError, SerializerId, StreamId};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::calling::{
    Aim, ArgsOf, Body, Kind, KwargsOf, ProxyState, Target, TupleOf, annotations_of, closed_error, collect_annotations,
    decode_as, decode_error, remote_error,
};
use crate::config::{Config, ConfigError, log_wire};
use crate::transport::Stream;

mod calls;
mod shared;

pub use calls::{Batch, DEFAULT_PREFETCH, RemoteIter};
use shared::{Awaited, Holder, Live, Shared};

/// An exception the remote call raised: its Python class, arguments, attributes and the
/// remote traceback.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteError {
    /// Module and class, e.g. `builtins.ValueError`.
    pub class: String,
    /// The exception's `args`.
    pub args: Vec<Value>,
    /// The exception's other attributes (Python's `vars(e)` without `_pyroTraceback`), in
    /// the order they came, e.g. the `code` a custom exception class sets.
    pub attributes: Vec<(String, Value)>,
    /// The remote traceback lines (Pyro's `_pyroTraceback`), each ending in a newline.
    pub traceback: Vec<String>,
}

impl RemoteError {
    /// The class name without its module (`ValueError`).
    pub fn short_class(&self) -> &str {
        self.class.rsplit('.').next().unwrap_or(&self.class)
    }

    /// The message, as Python's `str(e)`: empty without arguments, the text of one string
    /// argument, otherwise the argument (or the tuple of them) as a Python literal.
    pub fn message(&self) -> String {
        match self.args.as_slice() {
            [] => String::new(),
            [Value::Str(s)] => s.clone(),
            [one] => literal(one),
            more => literal(&Value::Tuple(more.to_vec())),
        }
    }

    /// The attribute `name` (from [`attributes`](Self::attributes)).
    pub fn attribute(&self, name: &str) -> Option<&Value> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The remote traceback as one text (Pyro's `get_pyro_traceback`).
    pub fn traceback_text(&self) -> String {
        self.traceback.concat()
    }

    /// Read an exception dict as Pyro sends it (`__class__`, `__exception__`, `args`,
    /// `attributes`): what a reply's exception payload or a batch's failed call holds, for
    /// proxies of other runtimes built on the same core.
    pub fn from_value(value: &Value) -> Self {
        let class = value.class_name().unwrap_or("builtins.Exception").to_string();
        let args = match value.get("args") {
            Some(Value::Tuple(items) | Value::List(items)) => items.clone(),
            _ => Vec::new(),
        };
        let mut attributes = Vec::new();
        let mut traceback = Vec::new();
        if let Some(Value::Dict(entries)) = value.get("attributes") {
            for (name, v) in entries {
                match (name.as_str(), v) {
                    (Some(TRACEBACK_ATTRIBUTE), Value::List(lines) | Value::Tuple(lines)) => {
                        traceback = lines.iter().filter_map(|l| l.as_str().map(str::to_string)).collect();
                    }
                    (Some(TRACEBACK_ATTRIBUTE), _) => {}
                    (Some(name), v) => attributes.push((name.to_string(), v.clone())),
                    (None, _) => {}
                }
            }
        }
        Self { class, args, attributes, traceback }
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.message())
    }
}

impl std::error::Error for RemoteError {}

/// Why a proxy call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxyError {
    /// The remote method raised this exception.
    Remote(RemoteError),
    /// The URI is not one a proxy can connect to.
    Uri(String),
    /// Talking to the daemon failed (Pyro's `CommunicationError`).
    Communication(io::Error),
    /// The connection closed while waiting for a reply (Pyro's `ConnectionClosedError`).
    ConnectionClosed,
    /// No reply within the proxy's timeout (Pyro's `TimeoutError`).
    Timeout,
    /// The daemon refused the connection: "connection to ... rejected: `reason`".
    Rejected {
        /// Where.
        location: String,
        /// The daemon's reason.
        reason: String,
    },
    /// A protocol fault.
    Protocol(ClientError),
    /// The object does not expose this method or attribute (from its metadata).
    NotExposed {
        /// The object's URI.
        uri: String,
        /// The name.
        name: String,
    },
    /// The result did not fit the type asked for.
    Result(pyro5_core::ser::value::Error),
    /// The object exposes nothing at all.
    NothingExposed(String),
    /// The connection could not be made (Pyro's `CommunicationError` "cannot connect").
    Connect {
        /// Where.
        location: String,
        /// The socket's error.
        error: io::Error,
    },
    /// The reply did not read as the type asked for (the connection stays usable).
    Decode(CallError),
    /// [`Proxy::call_iter`] of a method that returned a value, not an iterator.
    NotAnIterator {
        /// The method.
        method: String,
    },
    /// A received message was malformed or too large (the connection is closed).
    Receive(DecodeError),
    /// A name could not be resolved (Pyro's `NamingError` raised on this side): no name
    /// server found ("Failed to locate the nameserver"), or no registration with a
    /// `PYROMETA` URI's tags. Errors the name server raises come as [`ProxyError::Remote`].
    Naming(String),
    /// A configuration item Pyro refuses (from a `PYRO_*` variable; Python's
    /// `ValueError`).
    Config(ConfigError),
    /// The calling thread is not the proxy's owner ([`Proxy::set_single_owner`]).
    NotOwner,
}

impl ProxyError {
    /// The Python exception class Pyro5's proxy raises for this error (`module.Class`): the
    /// remote exception's own class, or Pyro's for what went wrong on the way.
    pub fn python_class(&self) -> &str {
        match self {
            Self::Remote(e) => &e.class,
            Self::Communication(_) | Self::Connect { .. } | Self::Rejected { .. } | Self::Receive(_) => {
                "Pyro5.errors.CommunicationError"
            }
            Self::ConnectionClosed => "Pyro5.errors.ConnectionClosedError",
            Self::Timeout => "Pyro5.errors.TimeoutError",
            Self::Protocol(_) => "Pyro5.errors.ProtocolError",
            Self::NotExposed { .. } => "builtins.AttributeError",
            Self::Result(_) | Self::Decode(_) => "Pyro5.errors.SerializeError",
            Self::NotAnIterator { .. } => "builtins.TypeError",
            Self::Naming(_) => "Pyro5.errors.NamingError",
            Self::Config(_) => "builtins.ValueError",
            Self::Uri(_) | Self::NothingExposed(_) | Self::NotOwner => "Pyro5.errors.PyroError",
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Remote(e) => write!(f, "{e}"),
            Self::Uri(e) => write!(f, "{e}"),
            Self::Communication(e) => write!(f, "cannot talk to the daemon: {e}"),
            Self::ConnectionClosed => f.write_str("the connection was closed"),
            Self::Timeout => f.write_str("receiving: timeout"),
            Self::Rejected { location, reason } => write!(f, "connection to {location} rejected: {reason}"),
            Self::Protocol(e) => write!(f, "{e}"),
            Self::NotExposed { uri, name } => {
                write!(f, "remote object '{uri}' has no exposed attribute or method '{name}'")
            }
            Self::Result(e) => write!(f, "the result does not fit the type asked for: {e}"),
            Self::NothingExposed(uri) => write!(f, "remote object '{uri}' doesn't expose any methods or attributes"),
            Self::Connect { location, error } => write!(f, "cannot connect to {location}: {error}"),
            Self::Decode(e) => write!(f, "the result does not read as the type asked for: {e}"),
            Self::NotAnIterator { method } => {
                write!(f, "{method} returned a value, not an iterator; call it with call or call_value")
            }
            Self::Receive(e) => write!(f, "cannot read the reply: {e}"),
            Self::Naming(e) => f.write_str(e),
            Self::Config(e) => write!(f, "{e}"),
            Self::NotOwner => f.write_str(
                "the calling thread is not the owner of this proxy, create a new proxy in this thread or transfer ownership.",
            ),
        }
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Remote(e) => Some(e),
            Self::Communication(e) | Self::Connect { error: e, .. } => Some(e),
            Self::Protocol(e) => Some(e),
            Self::Decode(e) => Some(e),
            Self::Receive(e) => Some(e),
            Self::Config(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ClientError> for ProxyError {
    fn from(e: ClientError) -> Self {
        Self::Protocol(e)
    }
}

impl From<ConfigError> for ProxyError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

impl From<RemoteError> for ProxyError {
    fn from(e: RemoteError) -> Self {
        Self::Remote(e)
    }
}

/// A [`ProxyError`] raised on to the caller of a served method, as an exception a Python
/// method did not catch reaches its caller: a remote exception (e.g. raised in a callback)
/// with its own class and message, the proxy's own failures as Pyro's errors
/// (`CommunicationError`, `ConnectionClosedError`, `TimeoutError`, `NamingError`, ...).
/// An `#[expose]` method returning `Result<T, Reraise>` calls a proxy with `?`.
#[derive(Debug)]
pub struct Reraise(pub ProxyError);

impl From<ProxyError> for Reraise {
    fn from(e: ProxyError) -> Self {
        Self(e)
    }
}

impl fmt::Display for Reraise {
    /// The message (Python's `str(e)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ProxyError::Remote(e) => f.write_str(&e.message()),
            other => other.fmt(f),
        }
    }
}

impl pyro5_core::server::PythonException for Reraise {
    fn class(&self) -> &str {
        self.0.python_class()
    }
}

/// What the object exposes, as its daemon reported at connect time: `methods`, `oneway`,
/// `attrs`, each a set of names (the core's rules decide what may be called with them).
pub type ProxyMetadata = ObjectMetadata<BTreeSet<String>>;

/// The four serializers, by Pyro's names.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum Serializer {
    /// serpent (Pyro's default).
    #[default]
    Serpent,
    /// marshal.
    Marshal,
    /// json.
    Json,
    /// msgpack.
    Msgpack,
}

impl Serializer {
    /// All four, Pyro's default first.
    pub const ALL: [Serializer; 4] = [Self::Serpent, Self::Marshal, Self::Json, Self::Msgpack];

    /// Pyro's name for it (`serpent`, `marshal`, `json`, `msgpack`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Serpent => "serpent",
            Self::Marshal => "marshal",
            Self::Json => "json",
            Self::Msgpack => "msgpack",
        }
    }

    /// The core's id of it.
    pub fn id(self) -> SerializerId {
        match self {
            Self::Serpent => SerializerId::Serpent,
            Self::Marshal => SerializerId::Marshal,
            Self::Json => SerializerId::Json,
            Self::Msgpack => SerializerId::Msgpack,
        }
    }
}

impl std::str::FromStr for Serializer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "serpent" => Ok(Self::Serpent),
            "marshal" => Ok(Self::Marshal),
            "json" => Ok(Self::Json),
            "msgpack" => Ok(Self::Msgpack),
            other => Err(format!("unknown serializer '{other}' (serpent, marshal, json, msgpack)")),
        }
    }
}

impl fmt::Display for Serializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a proxy's calls share, behind its lock.
struct State {
    /// The URI, where it points and the object.
    aim: Aim,
    live: Option<Live>,
    /// Counts the connections made; a call or a [`RemoteIter`] belongs to one of them.
    generation: u64,
    /// The sequence number a new connection continues from (as Pyro's proxy does).
    seq: u16,
    metadata: Option<Arc<ProxyMetadata>>,
    handshake_response: Option<Value>,
    response_annotations: Vec<(AnnotationId, Vec<u8>)>,
    owner: std::thread::ThreadId,
}

impl Holder for State {
    fn live(&mut self) -> &mut Option<Live> {
        &mut self.live
    }
    fn set_response_annotations(&mut self, annotations: Vec<(AnnotationId, Vec<u8>)>) {
        self.response_annotations = annotations;
    }
    fn lost(&mut self, live: Live) {
        self.seq = live.conn.seq();
    }
}

/// A proxy for one remote object, as Python's `Pyro5.client.Proxy`: connects on first use,
/// learns the object's metadata from the handshake, and calls its methods.
///
/// A proxy is `Send + Sync`: share it (`&Proxy`, `Arc<Proxy>`) and threads call through it at
/// once, their calls pipelined on its one connection (up to
/// [`MAX_IN_FLIGHT`](pyro5_core::client::MAX_IN_FLIGHT) waiting; each reply goes to its
/// caller by sequence number). Python's rule that only the owning thread may use a proxy is
/// there when asked for ([`set_single_owner`](Self::set_single_owner)). Settings take
/// `&mut self`: configure a proxy before sharing it.
///
/// A `PYRONAME:name[@nshost[:port]]` or `PYROMETA:tag,...[@nshost[:port]]` URI is resolved
/// through the name server ([`locate::resolve`](crate::locate::resolve)) each time the proxy
/// connects, as in Pyro, waiting for the name to be registered as long as
/// `PYRO_NS_LOOKUP_DELAY` says; [`bind`](Self::bind) replaces it with the `PYRO:` URI it
/// resolved to.
///
/// ```no_run
/// use pyro5_std::Proxy;
/// let echo = Proxy::new("PYRO:test.echoserver@localhost:9999")?;
/// let back: Vec<i64> = echo.call("echo", (vec![1, 2, 3],))?;
/// assert_eq!(back, [1, 2, 3]);
/// // Threads share it; their calls overlap on its connection.
/// std::thread::scope(|s| {
///     for n in 0..8 {
///         let echo = &echo;
///         s.spawn(move || echo.call::<i64, _>("echo", (n,)));
///     }
/// });
/// # Ok::<(), pyro5_std::ProxyError>(())
/// ```
pub struct Proxy {
    shared: Shared<State>,
    /// Methods called oneway whatever the metadata says (Pyro's `_pyroOneway.add`).
    extra_oneway: BTreeSet<String>,
    handshake: Value,
    serializer: SerializerId,
    /// The serializer named for this proxy ([`set_serializer`](Self::set_serializer) or
    /// the received state; Pyro's `_pyroSerializer`), `None` when the configured one is used.
    named_serializer: Option<Serializer>,
    timeout: Option<Duration>,
    max_retries: u32,
    correlation_id: Option<CorrelationId>,
    annotations: Vec<(AnnotationId, Vec<u8>)>,
    compress: bool,
    limits: Limits,
    single_owner: bool,
    /// A call that times out leaves the connection open (instead of closing it, as Pyro).
    keep_on_timeout: bool,
    /// The configuration it was made with: where to find the name server, IP version,
    /// `SOCK_NODELAY`, `LOGWIRE`.
    config: Arc<Config>,
    /// TLS (`SSL`), or why its settings are unusable (reported when connecting).
    tls: Result<Option<Arc<rustls::ClientConfig>>, Arc<crate::tls::TlsError>>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        write!(f, "<Proxy {}; connected={}>", state.aim.uri, state.live.is_some())
    }
}

/// A proxy arrives as a proxy: the `Pyro5.client.Proxy` dict Pyro writes for one (a
/// callback object a client passes, an autoproxied result) in any format, read as
/// [`Proxy::from_state`] says with the `PYRO_*` configuration of this process. An `#[expose]`
/// method takes one as a parameter and calls it back; its calls go out on its own
/// connection, so the daemon serving the method is not held up.
impl<'de> serde::Deserialize<'de> for Proxy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::calling::deserialize_proxy(deserializer, Self::from_state)
    }
}

/// Written as Python writes a proxy ([`Proxy::to_state`]), so a proxy can be passed on in a
/// call or returned from a method.
impl Serialize for Proxy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_state().serialize(s)
    }
}

impl Proxy {
    /// A proxy for `PYRO:object@host:port` or `PYRO:object@./u:socket`, or for what a
    /// `PYRONAME:name[@nshost[:port]]` or `PYROMETA:tag,...[@nshost[:port]]` URI names
    /// (resolved through the name server on connecting; without a location the name
    /// server is found as [`locate_ns`](crate::locate::locate_ns) finds it, by default at
    /// `localhost:9090`); nothing is connected yet. Configured from the `PYRO_*`
    /// environment variables as Python's proxy is ([`Config::from_env`]; see
    /// [`with_config`](Self::with_config)).
    ///
    /// # Errors
    /// [`ProxyError::Uri`] for a URI that does not parse; [`ProxyError::Config`] for a bad
    /// `PYRO_*` variable.
    pub fn new(uri: &str) -> Result<Self, ProxyError> {
        Self::with_config(uri, &Config::from_env()?)
    }

    /// A proxy as [`new`](Self::new) makes it, configured by `config`: `SERIALIZER`,
    /// `COMMTIMEOUT` (connect, send and receive timeout; 0 = none), `MAX_RETRIES`,
    /// `COMPRESSION`, `MAX_MESSAGE_SIZE`, `PREFER_IP_VERSION`, `LOGWIRE`, and the name server
    /// items for `PYRONAME`/`PYROMETA` URIs. The setters override them one by one.
    ///
    /// # Errors
    /// [`ProxyError::Uri`] for a URI that does not parse.
    pub fn with_config(uri: &str, config: &Config) -> Result<Self, ProxyError> {
        let state = State {
            aim: Aim::parse(uri)?,
            live: None,
            generation: 0,
            seq: 0,
            metadata: None,
            handshake_response: None,
            response_annotations: Vec::new(),
            owner: std::thread::current().id(),
        };
        Ok(Self {
            shared: Shared::new(state),
            extra_oneway: BTreeSet::new(),
            handshake: Value::Str("hello".into()),
            serializer: config.serializer.id(),
            named_serializer: None,
            timeout: config.commtimeout_duration(),
            max_retries: config.max_retries,
            correlation_id: None,
            annotations: Vec::new(),
            compress: config.compression,
            limits: Limits::with_max_message_size(config.max_message_size),
            single_owner: false,
            keep_on_timeout: false,
            tls: crate::tls::client_config(config).map_err(Arc::new),
            config: Arc::new(config.clone()),
        })
    }

    /// The object's URI (after [`bind`](Self::bind) of a `PYRONAME`/`PYROMETA` proxy, the
    /// `PYRO:` URI it resolved to).
    pub fn uri(&self) -> String {
        self.shared.lock().aim.uri.clone()
    }

    /// Speak `serializer` from the next call on (Pyro's `_pyroSerializer`).
    pub fn set_serializer(&mut self, serializer: Serializer) {
        self.serializer = serializer.id();
        self.named_serializer = Some(serializer);
    }

    /// The proxy a serialized one describes (Python's `Proxy.__setstate__`): its URI,
    /// handshake and serializer, and the metadata it carries as known until the handshake
    /// tells it again; timeout, retries and the rest come from `config`, as Python takes
    /// them from its own configuration. This is what deserializing a `Proxy` does, with
    /// [`Config::from_env`].
    ///
    /// # Errors
    /// [`ProxyError::Uri`] for a URI a proxy cannot connect to.
    pub fn from_state(received: ProxyState, config: &Config) -> Result<Self, ProxyError> {
        let mut proxy = Self::with_config(&received.uri, config)?;
        proxy.shared.lock().metadata = received.known_metadata().map(Arc::new);
        proxy.handshake = received.handshake;
        if let Some(serializer) = received.serializer {
            proxy.set_serializer(serializer);
        }
        Ok(proxy)
    }

    /// What the proxy is when serialized (Python's `Proxy.__getstate__`): the URI, the
    /// metadata known (with the methods made oneway by [`set_oneway`](Self::set_oneway)), the
    /// handshake and the serializer named for it. Serializing a `Proxy` writes this.
    pub fn to_state(&self) -> ProxyState {
        let (uri, metadata) = {
            let state = self.shared.lock();
            (state.aim.uri.clone(), state.metadata.clone())
        };
        let (mut oneway, methods, attrs) = match metadata.as_deref() {
            Some(m) => (m.oneway.clone(), m.methods.clone(), m.attrs.clone()),
            None => Default::default(),
        };
        oneway.extend(self.extra_oneway.iter().cloned());
        ProxyState { uri, oneway, methods, attrs, handshake: self.handshake.clone(), serializer: self.named_serializer }
    }

    /// Give up waiting for a connection or a reply after `timeout` (Pyro's `_pyroTimeout`).
    /// As in Pyro, a call that times out closes the connection (the next call connects
    /// again; calls of other threads waiting on it fail with
    /// [`ProxyError::ConnectionClosed`], or are retried); see
    /// [`set_keep_connection_on_timeout`](Self::set_keep_connection_on_timeout).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
        if let Some(live) = &self.shared.lock().live {
            let _ = live.stream.set_write_timeout(timeout);
        }
    }

    /// Keep the connection when a call times out: its reply is dropped when it comes and the
    /// other calls carry on (the daemon still answers in order, so calls sent after a slow
    /// one wait for it). Off by default: a timeout closes the connection, as in Pyro.
    pub fn set_keep_connection_on_timeout(&mut self, keep: bool) {
        self.keep_on_timeout = keep;
    }

    /// Retry a call this many times when the connection was closed or the reply timed out
    /// (Pyro's `_pyroMaxRetries`), connecting again before each retry. As in Pyro, a call
    /// that did reach the object may run more than once.
    pub fn set_max_retries(&mut self, retries: u32) {
        self.max_retries = retries;
    }

    /// The handshake data sent on connect (Pyro's `_pyroHandshake`; default `"hello"`).
    pub fn set_handshake(&mut self, data: Value) {
        self.handshake = data;
    }

    /// The daemon's answer to the last handshake (what its `validateHandshake` returned;
    /// Pyro's default: `"hello"`), once connected.
    pub fn handshake_response(&self) -> Option<Value> {
        self.shared.lock().handshake_response.clone()
    }

    /// Send this correlation id with every message (Pyro's `current_context.correlation_id`).
    pub fn set_correlation_id(&mut self, id: Option<[u8; 16]>) {
        self.correlation_id = id.map(CorrelationId);
    }

    /// Send these annotations with every message (Pyro's `current_context.annotations`).
    pub fn set_annotations(&mut self, annotations: Vec<(AnnotationId, Vec<u8>)>) {
        self.annotations = annotations;
    }

    /// The annotations that came with the last reply read for a call (Pyro's
    /// `response_annotations`; with several threads calling, the last of any of them); empty
    /// after a oneway call.
    pub fn response_annotations(&self) -> Vec<(AnnotationId, Vec<u8>)> {
        self.shared.lock().response_annotations.clone()
    }

    /// Compress payloads over 100 bytes (Pyro's `COMPRESSION`). Compressed replies are read
    /// whether this is on or not.
    pub fn set_compression(&mut self, on: bool) {
        self.compress = on;
    }

    /// Call `method` oneway (no reply awaited) even if the object's metadata does not say
    /// so (Pyro's `proxy._pyroOneway.add(method)`).
    pub fn set_oneway(&mut self, method: &str) {
        self.extra_oneway.insert(method.to_string());
    }

    /// The largest message sent or accepted (Pyro's `MAX_MESSAGE_SIZE`), from the next
    /// connection on.
    pub fn set_max_message_size(&mut self, max: u32) {
        self.limits.max_message_size = max;
    }

    /// Only the owning thread may call (Python's proxy: "the calling thread is not the owner
    /// of this proxy"): the thread that made the proxy, or the last to
    /// [`claim_ownership`](Self::claim_ownership). Off by default: any thread may call.
    pub fn set_single_owner(&mut self, on: bool) {
        self.single_owner = on;
    }

    /// Make the calling thread the proxy's owner (Pyro's `_pyroClaimOwnership`).
    pub fn claim_ownership(&self) {
        self.shared.lock().owner = std::thread::current().id();
    }

    /// Connect now (if not connected) and return the object's metadata (Pyro's
    /// `_pyroBind`). A `PYRONAME`/`PYROMETA` proxy that connects here keeps the `PYRO:` URI
    /// it resolved to from then on (as Pyro's `_pyroBind` does).
    ///
    /// # Errors
    /// Connection errors, [`ProxyError::Rejected`], [`ProxyError::NothingExposed`]; name
    /// resolution errors (see [`locate::resolve`](crate::locate::resolve)).
    pub fn bind(&self) -> Result<ProxyMetadata, ProxyError> {
        let mut state = self.connected()?;
        if let Some((_, Some(resolved))) = state.aim.name.take() {
            state.aim.uri = resolved;
        }
        state.metadata.as_deref().cloned().ok_or(ProxyError::ConnectionClosed)
    }

    /// The `PYRO:` URI a `PYRONAME`/`PYROMETA` proxy resolved to when it last connected
    /// (Pyro's `resolve`); a `PYRO` proxy's own URI.
    pub fn resolved_uri(&self) -> Option<String> {
        let state = self.shared.lock();
        match &state.aim.name {
            Some((_, resolved)) => resolved.clone(),
            None => Some(state.aim.uri.clone()),
        }
    }

    /// The metadata: from the last handshake, or (before the first) what the state the proxy
    /// was received with carried ([`from_state`](Self::from_state)).
    pub fn metadata(&self) -> Option<ProxyMetadata> {
        self.shared.lock().metadata.as_deref().cloned()
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.shared.lock().live.is_some()
    }

    /// The daemon's TLS certificate (DER) on the open connection (`SSL`), to check it
    /// further than the trust the TLS settings give (Pyro's ssl example compares its
    /// subject and serial number).
    pub fn peer_certificate(&self) -> Option<Vec<u8>> {
        self.shared.lock().live.as_ref().and_then(|live| live.stream.peer_certificate())
    }

    /// Close the connection (Pyro's `_pyroRelease`); the next call connects again. Calls
    /// waiting on it fail with [`ProxyError::ConnectionClosed`].
    pub fn release(&self) {
        let mut state = self.shared.lock();
        let generation = state.generation;
        self.shared.drop_connection(&mut state, generation);
    }

    /// Close and connect again, trying up to `tries` times two seconds apart (Pyro's
    /// `_pyroReconnect`).
    ///
    /// # Errors
    /// The last connection error.
    pub fn reconnect(&self, tries: u32) -> Result<(), ProxyError> {
        self.release();
        let mut last = None;
        for attempt in 0..tries.max(1) {
            if attempt > 0 {
                std::thread::sleep(Duration::from_secs(2));
            }
            match self.connected() {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(ProxyError::ConnectionClosed))
    }

    /// Call `method` with positional `args` (a tuple: `()` for none, `(x,)` for one) and
    /// read the result as `R`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] when the method raised, [`ProxyError::NotExposed`], connection
    /// and protocol errors, [`ProxyError::Decode`] when the result does not fit `R`.
    pub fn call<R: DeserializeOwned, A: Serialize>(&self, method: &str, args: A) -> Result<R, ProxyError> {
        self.call_kw(method, args, None::<&()>)
    }

    /// [`call`](Self::call) with keyword arguments (a map or struct).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn call_kw<R: DeserializeOwned, A: Serialize, K: Serialize + ?Sized>(
        &self,
        method: &str,
        args: A,
        kwargs: Option<&K>,
    ) -> Result<R, ProxyError> {
        let outcome = self.invoke(Kind::Method(method), Body::Args(&ArgsOf(&args), kwargs), &decode_as::<R>)?;
        self.finish(outcome)
    }

    /// Call `method` with a serialized blob received by an `#[expose]` method as its only
    /// argument, passed on as it came (Pyro's dispatcher calling `listener.method(blob)`):
    /// the payload is not decoded nor written again, and goes in the blob's own serializer.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn call_blob<R: DeserializeOwned>(&self, method: &str, blob: &SerializedBlob<'_>) -> Result<R, ProxyError> {
        let body: Body<'_, (), ()> = Body::Blob(blob);
        let outcome = self.invoke(Kind::Method(method), body, &decode_as::<R>)?;
        self.finish(outcome)
    }

    /// Call `method` with a new serialized blob of `info` (marshal-serializable, e.g. a
    /// topic name) and `data` as its only argument: Python's
    /// `proxy.method(SerializedBlob(info, data))`. The receiver gets the data still
    /// serialized, to pass on or to read.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn call_new_blob<R: DeserializeOwned, I: Serialize + ?Sized, D: Serialize + ?Sized>(
        &self,
        method: &str,
        info: &I,
        data: &D,
    ) -> Result<R, ProxyError> {
        let outcome = self.invoke(Kind::Method(method), Body::NewBlob(info, data), &decode_as::<R>)?;
        self.finish(outcome)
    }

    /// Call with dynamic values and get a dynamic value back.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn call_value(&self, method: &str, args: &[Value], kwargs: &[(String, Value)]) -> Result<Value, ProxyError> {
        let kwargs = KwargsOf(kwargs);
        let outcome =
            self.invoke(Kind::Method(method), Body::Args(&TupleOf(args), Some(&kwargs)), &decode_as::<Value>)?;
        self.finish(outcome)
    }

    /// Read property `name` (Pyro's `proxy.name`).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn get_attr<R: DeserializeOwned>(&self, name: &str) -> Result<R, ProxyError> {
        let outcome = self.invoke(Kind::GetAttr(name), Body::Args(&(name,), None::<&()>), &decode_as::<R>)?;
        self.finish(outcome)
    }

    /// Write property `name` (Pyro's `proxy.name = value`).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn set_attr<V: Serialize>(&self, name: &str, value: V) -> Result<(), ProxyError> {
        self.invoke(Kind::SetAttr(name), Body::Args(&(name, value), None::<&()>), &decode_as::<serde::de::IgnoredAny>)
            .map(drop)
    }

    /// Ping the daemon (a PING message, not a method call).
    ///
    /// # Errors
    /// Connection errors.
    pub fn ping(&self) -> Result<(), ProxyError> {
        self.check_owner()?;
        let annotations = annotations_of(&self.annotations);
        let extras = Extras { correlation_id: self.correlation_id, annotations: &annotations, compress: false };
        let mut state = self.connected()?;
        let generation = state.generation;
        if let Some(live) = state.live.as_mut() {
            live.conn.ping(&extras)?;
        }
        self.shared.flush(state)?;
        let pong = self.shared.receive(generation, Awaited::Pong, self.deadline(), self.limits, &mut |_| Ok(()));
        if let Err(ProxyError::Timeout) = pong {
            self.timed_out(generation);
        }
        pong
    }

    /// Start a batch: calls collected and sent in one message (Pyro's `BatchProxy`).
    pub fn batch(&self) -> Batch<'_> {
        Batch { proxy: self, calls: Vec::new() }
    }

    /// Call a method that returns an iterator (a generator in Python). Its items are
    /// prefetched: several requests for the next items wait on the connection at once
    /// ([`DEFAULT_PREFETCH`]; [`RemoteIter::prefetch`] changes it, 1 is Pyro's one round trip
    /// per item). Dropping the iterator early closes the stream on the daemon.
    ///
    /// # Errors
    /// As [`call`](Self::call); [`ProxyError::NotAnIterator`] if the method returned a value.
    pub fn call_iter<A: Serialize>(&self, method: &str, args: A) -> Result<RemoteIter<'_>, ProxyError> {
        self.call_iter_kw(method, args, None::<&()>)
    }

    /// [`call_iter`](Self::call_iter) with keyword arguments (a map or struct).
    ///
    /// # Errors
    /// As [`call_iter`](Self::call_iter).
    pub fn call_iter_kw<A: Serialize, K: Serialize + ?Sized>(
        &self,
        method: &str,
        args: A,
        kwargs: Option<&K>,
    ) -> Result<RemoteIter<'_>, ProxyError> {
        match self.invoke(
            Kind::Method(method),
            Body::Args(&ArgsOf(&args), kwargs),
            &decode_as::<serde::de::IgnoredAny>,
        )? {
            Outcome::Stream(id, generation) => Ok(RemoteIter::new(self, id, generation)),
            Outcome::Value(_) | Outcome::Nothing => Err(ProxyError::NotAnIterator { method: method.to_string() }),
        }
    }

    /// [`call_iter`](Self::call_iter) with dynamic values, as [`call_value`](Self::call_value).
    ///
    /// # Errors
    /// As [`call_iter`](Self::call_iter).
    pub fn call_iter_value(
        &self,
        method: &str,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Result<RemoteIter<'_>, ProxyError> {
        self.call_iter_kw(method, TupleOf(args), Some(&KwargsOf(kwargs)))
    }

    /// The value of a finished call: a stream is collected (Python's `list(...)`), a oneway
    /// call gives `None`.
    fn finish<R: DeserializeOwned>(&self, outcome: Outcome<R>) -> Result<R, ProxyError> {
        match outcome {
            Outcome::Value(v) => Ok(v),
            Outcome::Nothing => from_value(Value::None).map_err(ProxyError::Result),
            Outcome::Stream(id, generation) => {
                let mut items = Vec::new();
                for item in RemoteIter::new(self, id, generation) {
                    items.push(item?);
                }
                from_value(Value::List(items)).map_err(ProxyError::Result)
            }
        }
    }

    /// A call on connection `generation` timed out: close it, unless asked not to.
    fn timed_out(&self, generation: u64) {
        if !self.keep_on_timeout {
            let mut state = self.shared.lock();
            self.shared.drop_connection(&mut state, generation);
        }
    }

    fn check_owner(&self) -> Result<(), ProxyError> {
        if self.single_owner && self.shared.lock().owner != std::thread::current().id() {
            return Err(ProxyError::NotOwner);
        }
        Ok(())
    }

    fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|t| Instant::now() + t)
    }

    fn deadline_ms(&self, deadline: Option<Instant>) -> Option<u64> {
        deadline.map(|d| self.shared.millis(d))
    }

    fn connect_stream(&self, aim: &Aim) -> Result<Stream, ProxyError> {
        let stream = match &aim.target {
            // Calls of several threads are pipelined: each request goes at once, not after
            // the acknowledgement of the one before (Nagle's algorithm).
            Target::Tcp { host, port } => {
                Stream::connect_tcp(host, *port, self.timeout, self.config.prefer_ip_version, true)
            }
            Target::Unix(path) => Stream::connect_unix(path),
            Target::Name => Err(io::Error::new(io::ErrorKind::NotConnected, "the name is not resolved")),
        }
        .map_err(|error| ProxyError::Connect { location: aim.location(), error })?;
        let _ = stream.set_write_timeout(self.timeout);
        let tls = self.tls.as_ref().map_err(|e| ProxyError::Connect {
            location: aim.location(),
            error: io::Error::new(io::ErrorKind::InvalidInput, e.to_string()),
        })?;
        if let (Some(_), Target::Tcp { .. }) = (tls, &aim.target) {
            // The handshake runs within the proxy's timeout, as the connect did.
            let _ = stream.set_read_timeout(self.timeout);
        }
        let host = match &aim.target {
            Target::Tcp { host, .. } => host.as_str(),
            _ => "localhost",
        };
        stream.connect_tls(tls.as_ref(), host).map_err(|error| ProxyError::Connect { location: aim.location(), error })
    }

    /// The proxy's state with an open, handshaken connection (made now if there was none).
    fn connected(&self) -> Result<MutexGuard<'_, State>, ProxyError> {
        let mut state = self.shared.lock();
        if state.live.as_ref().is_some_and(|l| l.conn.is_ready()) {
            return Ok(state);
        }
        let generation = state.generation;
        self.shared.drop_connection(&mut state, generation);
        state.generation = state.generation.wrapping_add(1);
        self.resolve_name(&mut state)?;
        let stream = self.connect_stream(&state.aim)?;
        let mut conn = ClientConnection::new(self.serializer, Vec::new(), Vec::new(), self.limits);
        conn.set_seq(state.seq);
        let annotations = annotations_of(&self.annotations);
        let extras = Extras { correlation_id: self.correlation_id, annotations: &annotations, compress: self.compress };
        let deadline = self.deadline();
        conn.connect(
            &state.aim.object,
            &self.handshake,
            &extras,
            self.shared.millis(Instant::now()),
            self.deadline_ms(deadline),
        )?;
        let location = state.aim.location();
        let answer = handshake(&mut conn, &stream, deadline, self.config.logwire, &self.shared);
        let (metadata, handshake_response, response_annotations) = match answer {
            Ok(found) => found,
            Err(ClientError::Rejected(reason)) => {
                return Err(ProxyError::Rejected { location, reason: reason.as_str().to_string() });
            }
            Err(ClientError::NothingExposed) => return Err(ProxyError::NothingExposed(state.aim.uri.clone())),
            Err(e) => return Err(closed_error(e)),
        };
        state.metadata = Some(Arc::new(metadata));
        state.handshake_response = handshake_response;
        state.response_annotations = response_annotations;
        let _ = stream.set_read_timeout(None);
        state.live = Some(Live::new(conn, stream, state.generation, self.config.logwire));
        Ok(state)
    }

    /// Resolve a `PYRONAME`/`PYROMETA` URI through the name server and aim at what it names.
    fn resolve_name(&self, state: &mut State) -> Result<(), ProxyError> {
        let Some((name, _)) = &state.aim.name else { return Ok(()) };
        let text = crate::locate::resolve_with_timeout(&self.config, name, self.timeout)?;
        state.aim.resolved(&text)
    }

    /// Send a call and read its outcome, retrying as [`set_max_retries`](Self::set_max_retries) says.
    fn invoke<A: Serialize + ?Sized, K: Serialize + ?Sized, T>(
        &self,
        kind: Kind<'_>,
        body: Body<'_, A, K>,
        decode: &dyn Fn(Payload<'_>) -> Result<T, ClientError>,
    ) -> Result<Outcome<T>, ProxyError> {
        self.check_owner()?;
        let mut attempt = 0;
        loop {
            let deadline = self.deadline();
            let sent = self.send_call(kind, body, deadline);
            let used = sent.as_ref().ok().map(|(generation, _)| *generation);
            let result = match sent {
                Ok((_, None)) => Ok(Outcome::Nothing),
                Ok((generation, Some(seq))) => {
                    self.shared.receive(generation, Awaited::Call(seq), deadline, self.limits, &mut |reply| {
                        outcome(reply, generation, decode)
                    })
                }
                Err(e) => Err(e),
            };
            if let (Err(ProxyError::Timeout), Some(generation)) = (&result, used) {
                self.timed_out(generation);
            }
            match result {
                // As Pyro's `_RemoteMethod`: only these two are worth another try, on a new
                // connection.
                Err(ProxyError::ConnectionClosed | ProxyError::Timeout) if attempt < self.max_retries => {
                    attempt += 1;
                    if let Some(generation) = used {
                        let mut state = self.shared.lock();
                        self.shared.drop_connection(&mut state, generation);
                    }
                }
                other => return other,
            }
        }
    }

    /// Queue a call on the open connection (made first if needed), waiting for room among
    /// the calls in flight, and write it: its connection and, unless oneway, its sequence
    /// number.
    fn send_call<A: Serialize + ?Sized, K: Serialize + ?Sized>(
        &self,
        kind: Kind<'_>,
        body: Body<'_, A, K>,
        deadline: Option<Instant>,
    ) -> Result<(u64, Option<u16>), ProxyError> {
        let annotations = annotations_of(&self.annotations);
        let extras = Extras { correlation_id: self.correlation_id, annotations: &annotations, compress: self.compress };
        let mut state = self.connected()?;
        loop {
            let State { live, metadata, aim, generation, .. } = &mut *state;
            let (Some(live), Some(meta)) = (live.as_mut(), metadata.as_ref()) else {
                return Err(ProxyError::ConnectionClosed);
            };
            if live.conn.has_room() {
                let spec = kind.spec(meta, &aim.object, &aim.uri, &self.extra_oneway)?;
                live.conn.set_serializer(self.serializer);
                let sent = body.queue(&mut live.conn, &spec, &extras, self.deadline_ms(deadline))?;
                let generation = *generation;
                if !sent.expects_reply {
                    state.response_annotations.clear();
                }
                self.shared.flush(state)?;
                return Ok((generation, sent.expects_reply.then_some(sent.seq)));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(ProxyError::Timeout);
            }
            state = self.shared.wait(state, deadline);
            if state.live.is_none() {
                return Err(ProxyError::ConnectionClosed);
            }
        }
    }

    /// Queue what `queue` writes on connection `generation` (no new connection: the stream
    /// it continues belongs to that one) and write it; with `room`, once a call may be added
    /// (waiting for one until `deadline`).
    fn send_on(
        &self,
        generation: u64,
        room: bool,
        deadline: Option<Instant>,
        queue: &mut dyn FnMut(&mut Connection, &Extras<'_>) -> Result<(), ClientError>,
    ) -> Result<(), ProxyError> {
        let annotations = annotations_of(&self.annotations);
        let extras = Extras { correlation_id: self.correlation_id, annotations: &annotations, compress: self.compress };
        let mut state = self.shared.lock();
        loop {
            let Some(live) = state.live.as_mut().filter(|l| l.generation == generation) else {
                return Err(ProxyError::ConnectionClosed);
            };
            if !room || live.conn.has_room() {
                live.conn.set_serializer(self.serializer);
                queue(&mut live.conn, &extras)?;
                return self.shared.flush(state);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(ProxyError::Timeout);
            }
            state = self.shared.wait(state, deadline);
        }
    }
}

/// The core connection a proxy drives.
type Connection = ClientConnection<Vec<u8>, Vec<u8>>;

type Handshake = (ProxyMetadata, Option<Value>, Vec<(AnnotationId, Vec<u8>)>);

/// Send the queued CONNECT and read the answer: the object's metadata, the daemon's
/// handshake answer and the annotations that came with it.
fn handshake(
    conn: &mut Connection,
    mut stream: &Stream,
    deadline: Option<Instant>,
    logwire: bool,
    shared: &Shared<State>,
) -> Result<Handshake, ClientError> {
    let request = conn.tx_pending().to_vec();
    if logwire {
        log_wire("proxy wiredata sending", &request);
    }
    stream.write_all(&request).map_err(|_| ClientError::ConnectionClosed)?;
    conn.tx_advance(request.len());
    loop {
        while let Some(event) = conn.poll_event() {
            match event {
                ClientEvent::Connected => {
                    let message = conn.message().ok_or(ClientError::NotExpected)?;
                    if logwire {
                        log_wire("proxy wiredata received", message.as_bytes());
                    }
                    let answer = conn.connected().ok_or(ClientError::NotExpected)?;
                    let metadata = ProxyMetadata::read(&answer)?;
                    return Ok((metadata, answer.handshake::<Value>().ok(), collect_annotations(&message)));
                }
                ClientEvent::Closed(e) => return Err(e),
                _ => {}
            }
        }
        let now = Instant::now();
        let _ =
            stream.set_read_timeout(deadline.map(|d| d.saturating_duration_since(now).max(Duration::from_millis(1))));
        let read = stream.read(conn.read_buf());
        let now_ms = shared.millis(Instant::now());
        match read {
            Ok(n) => conn.commit(n, now_ms),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                conn.handle_timeout(now_ms);
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    conn.handle_timeout(u64::MAX);
                }
            }
            Err(_) => conn.commit(0, now_ms),
        }
    }
}

/// The outcome of one request.
enum Outcome<T> {
    /// The reply's value.
    Value(T),
    /// The method returned an iterator: its stream and the connection it lives on.
    Stream(StreamId, u64),
    /// No reply: a oneway call, or the answer to a ping.
    Nothing,
}

/// A reply as a call's outcome: its value read by `decode`, an exception, a stream.
fn outcome<T>(
    reply: Reply<'_>,
    generation: u64,
    decode: &dyn Fn(Payload<'_>) -> Result<T, ClientError>,
) -> Result<Outcome<T>, ProxyError> {
    match reply {
        Reply::Value(body) | Reply::Batch(body) => decode(body).map(Outcome::Value).map_err(decode_error),
        Reply::Exception(body) => Err(remote_error(body)),
        Reply::Stream { id, .. } => Ok(Outcome::Stream(id, generation)),
        Reply::Pong | Reply::Late { .. } => Ok(Outcome::Nothing),
    }
}

/// `value` as a Python literal (serpent's text without its header line).
fn literal(value: &Value) -> String {
    let mut ser = serpent::Serializer::without_header(Vec::new());
    match value.serialize(&mut ser) {
        Ok(()) => String::from_utf8_lossy(&ser.into_inner()).into_owned(),
        Err(_) => format!("{value:?}"),
    }
}

fn io_error(e: io::Error) -> ProxyError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ProxyError::Timeout,
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => ProxyError::ConnectionClosed,
        _ => ProxyError::Communication(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_config_takes_the_proxy_items() {
        let plain = Proxy::with_config("PYRO:x@localhost:1", &Config::default()).unwrap();
        assert_eq!(
            (plain.timeout, plain.max_retries, plain.compress, plain.limits.max_message_size),
            (None, 0, false, 1 << 30)
        );
        assert_eq!(plain.serializer, SerializerId::Serpent);
        let mut config = Config::default();
        for (item, value) in [
            ("SERIALIZER", "msgpack"),
            ("COMMTIMEOUT", "1.5"),
            ("MAX_RETRIES", "3"),
            ("COMPRESSION", "on"),
            ("MAX_MESSAGE_SIZE", "4096"),
            ("LOGWIRE", "yes"),
        ] {
            config.set(item, value).unwrap();
        }
        let proxy = Proxy::with_config("PYRO:x@localhost:1", &config).unwrap();
        assert_eq!(
            (proxy.timeout, proxy.max_retries, proxy.compress, proxy.limits.max_message_size),
            (Some(Duration::from_millis(1500)), 3, true, 4096)
        );
        assert_eq!(proxy.serializer, SerializerId::Msgpack);
        assert!(proxy.config.logwire);
    }

    #[test]
    fn a_received_state_makes_the_proxy_and_comes_back_with_its_own_oneway_methods() {
        let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
        let received = ProxyState {
            uri: "PYRO:cb@localhost:4000".into(),
            oneway: names(&["note"]),
            methods: names(&["note", "double"]),
            attrs: BTreeSet::new(),
            handshake: Value::Str("token".into()),
            serializer: Some(Serializer::Json),
        };
        let mut config = Config::default();
        config.set("COMMTIMEOUT", "2").unwrap();
        let mut proxy = Proxy::from_state(received.clone(), &config).unwrap();
        assert_eq!((proxy.serializer, proxy.timeout), (SerializerId::Json, Some(Duration::from_secs(2))));
        assert_eq!(proxy.metadata().unwrap().methods, received.methods);
        assert!(!proxy.is_connected());
        assert_eq!(proxy.to_state(), received);
        proxy.set_oneway("double");
        let written = pyro5_core::ser::json::to_vec(&proxy).unwrap();
        let back: ProxyState = pyro5_core::ser::json::from_slice(&written).unwrap();
        assert_eq!(back.oneway, names(&["double", "note"]));
        // A proxy made from a URI names no serializer and knows no metadata, as Python's.
        let plain = Proxy::with_config("PYRO:x@localhost:1", &Config::default()).unwrap().to_state();
        assert_eq!((plain.serializer, plain.methods.len(), plain.handshake), (None, 0, Value::Str("hello".into())));
        assert!(Proxy::from_state(ProxyState { uri: "PYRO:x@localhost:99999".into(), ..received }, &config).is_err());
    }
}
