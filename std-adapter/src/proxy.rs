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
use std::sync::Arc;
use std::time::Duration;

use pyro5_core::client::{CallSpec, ClientError, ClientSession, Extras, MetaSet, NO_ARGS, Payload, Reply};
use pyro5_core::limits::Limits;
use pyro5_core::ser::call::CallError;
use pyro5_core::ser::envelope::{EXCEPTION_WRAPPER_CLASS, TRACEBACK_ATTRIBUTE};
use pyro5_core::ser::serpent;
use pyro5_core::ser::value::{Value, from_value};
use pyro5_core::uri::{Location, Protocol, Uri};
use pyro5_core::wire::{
    Annotation, AnnotationId, CorrelationId, DecodeError, Decoder, Message, Progress, SerializerId,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{Config, ConfigError, log_wire};
use crate::transport::Stream;

/// The object id of the daemon's own object (streams are read through it).
const DAEMON_OBJECT: &str = "Pyro.Daemon";

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

    /// Read an exception dict as Pyro sends it.
    fn from_value(value: &Value) -> Self {
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

/// What the object exposes, as its daemon reported at connect time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyMetadata {
    /// Every exposed method.
    pub methods: BTreeSet<String>,
    /// The oneway methods.
    pub oneway: BTreeSet<String>,
    /// Exposed properties.
    pub attrs: BTreeSet<String>,
}

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

    fn id(self) -> SerializerId {
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

/// Where the proxy connects.
#[derive(Clone, Debug)]
enum Target {
    Tcp {
        host: String,
        port: u16,
    },
    Unix(String),
    /// A `PYRONAME:` or `PYROMETA:` URI not resolved yet: resolved on each connect.
    Name,
}

struct Connection {
    stream: Stream,
    decoder: Decoder<Vec<u8>>,
    /// `LOGWIRE`: log every message.
    logwire: bool,
}

/// A proxy for one remote object, as Python's `Pyro5.client.Proxy`: connects on first use,
/// learns the object's metadata from the handshake, and calls its methods.
///
/// Calls take `&mut self`: a proxy serves one thread at a time (Pyro's rule, enforced by the
/// compiler); give each thread its own proxy, or move it between threads.
///
/// A `PYRONAME:name[@nshost[:port]]` or `PYROMETA:tag,...[@nshost[:port]]` URI is resolved
/// through the name server ([`locate::resolve`](crate::locate::resolve)) each time the proxy
/// connects, as in Pyro, waiting for the name to be registered as long as
/// `PYRO_NS_LOOKUP_DELAY` says; [`bind`](Self::bind) replaces it with the `PYRO:` URI it
/// resolved to.
///
/// ```no_run
/// use pyro5_std::Proxy;
/// let mut echo = Proxy::new("PYRO:test.echoserver@localhost:9999")?;
/// let back: Vec<i64> = echo.call("echo", (vec![1, 2, 3],))?;
/// assert_eq!(back, [1, 2, 3]);
/// # Ok::<(), pyro5_std::ProxyError>(())
/// ```
pub struct Proxy {
    uri: String,
    object: Arc<str>,
    target: Target,
    /// The `PYRONAME`/`PYROMETA` URI to resolve on connecting, and what it last resolved to.
    name: Option<(String, Option<String>)>,
    client: ClientSession,
    connection: Option<Connection>,
    /// Counts the connections made; a [`RemoteIter`] belongs to one of them.
    generation: u64,
    metadata: Option<ProxyMetadata>,
    /// Methods called oneway whatever the metadata says (Pyro's `_pyroOneway.add`).
    extra_oneway: BTreeSet<String>,
    handshake: Value,
    handshake_response: Option<Value>,
    timeout: Option<Duration>,
    max_retries: u32,
    correlation_id: Option<CorrelationId>,
    annotations: Vec<(AnnotationId, Vec<u8>)>,
    response_annotations: Vec<(AnnotationId, Vec<u8>)>,
    compress: bool,
    limits: Limits,
    tx: Vec<u8>,
    /// The configuration it was made with: where to find the name server, IP version,
    /// `SOCK_NODELAY`, `LOGWIRE`.
    config: Arc<Config>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Proxy {}; connected={}>", self.uri, self.connection.is_some())
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
    /// `COMPRESSION`, `MAX_MESSAGE_SIZE`, `PREFER_IP_VERSION`, `SOCK_NODELAY`, `LOGWIRE`,
    /// and the name server items for `PYRONAME`/`PYROMETA` URIs. The setters override
    /// them one by one.
    ///
    /// # Errors
    /// [`ProxyError::Uri`] for a URI that does not parse.
    pub fn with_config(uri: &str, config: &Config) -> Result<Self, ProxyError> {
        let parsed = Uri::parse(uri).map_err(|e| ProxyError::Uri(e.to_string()))?;
        let (target, name) = match (parsed.protocol(), parsed.location()) {
            (Protocol::PyroName | Protocol::PyroMeta, _) => {
                if let Some(port) = parsed.port() {
                    u16::try_from(port).map_err(|_| ProxyError::Uri(format!("{uri}: port out of range")))?;
                }
                (Target::Name, Some((uri.to_string(), None)))
            }
            (Protocol::Pyro, Some(Location::Tcp { host, port })) => {
                let port = u16::try_from(port).map_err(|_| ProxyError::Uri(format!("{uri}: port out of range")))?;
                (Target::Tcp { host: host.to_string(), port }, None)
            }
            (Protocol::Pyro, Some(Location::Unix { socket })) => (Target::Unix(socket.to_string()), None),
            (Protocol::Pyro, None) => return Err(ProxyError::Uri(format!("{uri}: no location"))),
        };
        Ok(Self {
            uri: parsed.to_string(),
            object: parsed.object().into(),
            target,
            name,
            client: ClientSession::new(config.serializer.id()),
            connection: None,
            generation: 0,
            metadata: None,
            extra_oneway: BTreeSet::new(),
            handshake: Value::Str("hello".into()),
            handshake_response: None,
            timeout: config.commtimeout_duration(),
            max_retries: config.max_retries,
            correlation_id: None,
            annotations: Vec::new(),
            response_annotations: Vec::new(),
            compress: config.compression,
            limits: Limits::with_max_message_size(config.max_message_size),
            tx: Vec::new(),
            config: Arc::new(config.clone()),
        })
    }

    /// The object's URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Speak `serializer` from the next call on (Pyro's `_pyroSerializer`).
    pub fn set_serializer(&mut self, serializer: Serializer) {
        self.client.set_serializer(serializer.id());
    }

    /// Give up waiting for a connection or a reply after `timeout` (Pyro's `_pyroTimeout`).
    /// A call that times out closes the connection; the next call connects again.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
        if let Some(c) = &self.connection {
            let _ = c.stream.set_read_timeout(timeout);
            let _ = c.stream.set_write_timeout(timeout);
        }
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
    pub fn handshake_response(&self) -> Option<&Value> {
        self.handshake_response.as_ref()
    }

    /// Send this correlation id with every message (Pyro's `current_context.correlation_id`).
    pub fn set_correlation_id(&mut self, id: Option<[u8; 16]>) {
        self.correlation_id = id.map(CorrelationId);
    }

    /// Send these annotations with every message (Pyro's `current_context.annotations`).
    pub fn set_annotations(&mut self, annotations: Vec<(AnnotationId, Vec<u8>)>) {
        self.annotations = annotations;
    }

    /// The annotations that came with the last reply (Pyro's `response_annotations`);
    /// empty after a oneway call.
    pub fn response_annotations(&self) -> &[(AnnotationId, Vec<u8>)] {
        &self.response_annotations
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

    /// The largest message sent or accepted (Pyro's `MAX_MESSAGE_SIZE`).
    pub fn set_max_message_size(&mut self, max: u32) {
        self.limits.max_message_size = max;
    }

    /// Connect now (if not connected) and return the object's metadata (Pyro's
    /// `_pyroBind`). A `PYRONAME`/`PYROMETA` proxy that connects here keeps the `PYRO:` URI
    /// it resolved to from then on (as Pyro's `_pyroBind` does).
    ///
    /// # Errors
    /// Connection errors, [`ProxyError::Rejected`], [`ProxyError::NothingExposed`]; name
    /// resolution errors (see [`locate::resolve`](crate::locate::resolve)).
    pub fn bind(&mut self) -> Result<&ProxyMetadata, ProxyError> {
        let connects = !(self.connection.is_some() && self.client.is_ready());
        self.ensure_connected()?;
        if connects {
            if let Some((_, Some(resolved))) = self.name.take() {
                self.uri = resolved;
            }
        }
        self.metadata.as_ref().ok_or(ProxyError::ConnectionClosed)
    }

    /// The `PYRO:` URI a `PYRONAME`/`PYROMETA` proxy resolved to when it last connected
    /// (Pyro's `resolve`); a `PYRO` proxy's own URI.
    pub fn resolved_uri(&self) -> Option<&str> {
        match &self.name {
            Some((_, resolved)) => resolved.as_deref(),
            None => Some(&self.uri),
        }
    }

    /// The metadata, if connected once.
    pub fn metadata(&self) -> Option<&ProxyMetadata> {
        self.metadata.as_ref()
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.connection.is_some()
    }

    /// Close the connection (Pyro's `_pyroRelease`); the next call connects again.
    pub fn release(&mut self) {
        self.connection = None;
        self.client.reset();
    }

    /// Close and connect again, trying up to `tries` times two seconds apart (Pyro's
    /// `_pyroReconnect`).
    ///
    /// # Errors
    /// The last connection error.
    pub fn reconnect(&mut self, tries: u32) -> Result<(), ProxyError> {
        self.release();
        let mut last = None;
        for attempt in 0..tries.max(1) {
            if attempt > 0 {
                std::thread::sleep(Duration::from_secs(2));
            }
            match self.ensure_connected() {
                Ok(()) => return Ok(()),
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
    pub fn call<R: DeserializeOwned, A: Serialize>(&mut self, method: &str, args: A) -> Result<R, ProxyError> {
        self.call_kw(method, args, None::<&()>)
    }

    /// [`call`](Self::call) with keyword arguments (a map or struct).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn call_kw<R: DeserializeOwned, A: Serialize, K: Serialize + ?Sized>(
        &mut self,
        method: &str,
        args: A,
        kwargs: Option<&K>,
    ) -> Result<R, ProxyError> {
        let outcome = self.call_method(method, &ArgsOf(&args), kwargs, &decode_as::<R>)?;
        self.finish(outcome)
    }

    /// Call with dynamic values and get a dynamic value back.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn call_value(
        &mut self,
        method: &str,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Result<Value, ProxyError> {
        let kwargs = KwargsOf(kwargs);
        let outcome = self.call_method(method, &TupleOf(args), Some(&kwargs), &decode_as::<Value>)?;
        self.finish(outcome)
    }

    /// Read property `name` (Pyro's `proxy.name`).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn get_attr<R: DeserializeOwned>(&mut self, name: &str) -> Result<R, ProxyError> {
        self.check_exposed(name, true)?;
        let object = self.object.clone();
        let call = CallSpec { object: &object, method: "__getattr__", oneway: false, batch: false };
        let outcome = self.invoke(&call, &(name,), None::<&()>, &decode_as::<R>)?;
        self.finish(outcome)
    }

    /// Write property `name` (Pyro's `proxy.name = value`).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn set_attr<V: Serialize>(&mut self, name: &str, value: V) -> Result<(), ProxyError> {
        self.check_exposed(name, true)?;
        let object = self.object.clone();
        let call = CallSpec { object: &object, method: "__setattr__", oneway: false, batch: false };
        self.invoke(&call, &(name, value), None::<&()>, &decode_as::<serde::de::IgnoredAny>).map(drop)
    }

    /// Ping the daemon (a PING message, not a method call).
    ///
    /// # Errors
    /// Connection errors.
    pub fn ping(&mut self) -> Result<(), ProxyError> {
        self.ensure_connected()?;
        let annotations = annotations_of(&self.annotations);
        let extras = Extras { correlation_id: self.correlation_id, annotations: &annotations, compress: false };
        let mut tx = std::mem::take(&mut self.tx);
        let written = self.client.write_ping(&extras, self.limits, &mut tx);
        drop(annotations);
        let result = match written {
            Ok(len) => self.send(&tx[..len]).and_then(|()| self.receive_reply(&decode_as::<Value>).map(drop)),
            Err(e) => Err(e.into()),
        };
        self.tx = tx;
        result
    }

    /// Start a batch: calls collected and sent in one message (Pyro's `BatchProxy`).
    pub fn batch(&mut self) -> Batch<'_> {
        Batch { proxy: self, calls: Vec::new() }
    }

    /// Call a method that returns an iterator (a generator in Python). Its items are
    /// prefetched: several requests for the next items wait on the connection at once
    /// ([`DEFAULT_PREFETCH`]; [`RemoteIter::prefetch`] changes it, 1 is Pyro's one round trip
    /// per item). Dropping the iterator early closes the stream on the daemon.
    ///
    /// # Errors
    /// As [`call`](Self::call); [`ProxyError::NotAnIterator`] if the method returned a value.
    pub fn call_iter<A: Serialize>(&mut self, method: &str, args: A) -> Result<RemoteIter<'_>, ProxyError> {
        self.call_iter_kw(method, args, None::<&()>)
    }

    /// [`call_iter`](Self::call_iter) with keyword arguments (a map or struct).
    ///
    /// # Errors
    /// As [`call_iter`](Self::call_iter).
    pub fn call_iter_kw<A: Serialize, K: Serialize + ?Sized>(
        &mut self,
        method: &str,
        args: A,
        kwargs: Option<&K>,
    ) -> Result<RemoteIter<'_>, ProxyError> {
        match self.call_method(method, &ArgsOf(&args), kwargs, &decode_as::<serde::de::IgnoredAny>)? {
            Outcome::Stream(id) => {
                let generation = self.generation;
                Ok(RemoteIter::new(self, id, generation))
            }
            Outcome::Value(_) | Outcome::Nothing => Err(ProxyError::NotAnIterator { method: method.to_string() }),
        }
    }

    /// [`call_iter`](Self::call_iter) with dynamic values, as [`call_value`](Self::call_value).
    ///
    /// # Errors
    /// As [`call_iter`](Self::call_iter).
    pub fn call_iter_value(
        &mut self,
        method: &str,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Result<RemoteIter<'_>, ProxyError> {
        self.call_iter_kw(method, TupleOf(args), Some(&KwargsOf(kwargs)))
    }

    /// A method call: the name checked against the metadata, oneway as it says, and a dict
    /// of keyword arguments always (Python's proxy sends `{}`; the daemon calls
    /// `method(*args, **kwargs)`).
    fn call_method<A: Serialize + ?Sized, K: Serialize + ?Sized, T>(
        &mut self,
        method: &str,
        args: &A,
        kwargs: Option<&K>,
        decode: &dyn Fn(Payload<'_>) -> Result<T, ClientError>,
    ) -> Result<Outcome<T>, ProxyError> {
        let oneway = self.check_exposed(method, false)?;
        let object = self.object.clone();
        let call = CallSpec { object: &object, method, oneway, batch: false };
        // No kwargs: the core sends an empty dict, as Pyro's proxy does.
        self.invoke(&call, args, kwargs, decode)
    }

    /// The value of a finished call: a stream is collected (Python's `list(...)`), a oneway
    /// call gives `None`.
    fn finish<R: DeserializeOwned>(&mut self, outcome: Outcome<R>) -> Result<R, ProxyError> {
        match outcome {
            Outcome::Value(v) => Ok(v),
            Outcome::Nothing => from_value(Value::None).map_err(ProxyError::Result),
            Outcome::Stream(id) => {
                let generation = self.generation;
                let mut iter = RemoteIter::new(self, id, generation);
                let mut items = Vec::new();
                for item in &mut iter {
                    items.push(item?);
                }
                from_value(Value::List(items)).map_err(ProxyError::Result)
            }
        }
    }

    fn check_exposed(&mut self, name: &str, attr: bool) -> Result<bool, ProxyError> {
        self.ensure_connected()?;
        let meta = self.metadata.as_ref().ok_or(ProxyError::ConnectionClosed)?;
        let known = if attr { meta.attrs.contains(name) } else { meta.methods.contains(name) };
        if !known {
            return Err(ProxyError::NotExposed { uri: self.uri.clone(), name: name.to_string() });
        }
        Ok(!attr && (meta.oneway.contains(name) || self.extra_oneway.contains(name)))
    }

    fn connect_stream(&self) -> Result<Stream, ProxyError> {
        let stream = match &self.target {
            Target::Tcp { host, port } => {
                Stream::connect_tcp(host, *port, self.timeout, self.config.prefer_ip_version, self.config.sock_nodelay)
            }
            Target::Unix(path) => Stream::connect_unix(path),
            Target::Name => Err(io::Error::new(io::ErrorKind::NotConnected, "the name is not resolved")),
        }
        .map_err(|error| ProxyError::Connect { location: self.location(), error })?;
        let _ = stream.set_read_timeout(self.timeout);
        let _ = stream.set_write_timeout(self.timeout);
        Ok(stream)
    }

    fn location(&self) -> String {
        match &self.target {
            Target::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Target::Tcp { host, port } => format!("{host}:{port}"),
            Target::Unix(path) => format!("./u:{path}"),
            Target::Name => self.uri.clone(),
        }
    }

    fn extras<'a>(&self, annotations: &'a [Annotation<'a>]) -> Extras<'a> {
        Extras { correlation_id: self.correlation_id, annotations, compress: self.compress }
    }

    fn ensure_connected(&mut self) -> Result<(), ProxyError> {
        if self.connection.is_some() && self.client.is_ready() {
            return Ok(());
        }
        self.release();
        self.resolve_name()?;
        let stream = self.connect_stream()?;
        self.connection =
            Some(Connection { stream, decoder: Decoder::new(Vec::new(), self.limits), logwire: self.config.logwire });
        self.generation = self.generation.wrapping_add(1);
        let annotations = annotations_of(&self.annotations);
        let extras = self.extras(&annotations);
        let mut tx = std::mem::take(&mut self.tx);
        let written = self.client.write_connect(&self.object, &self.handshake, &extras, self.limits, &mut tx);
        drop(annotations);
        let len = match written {
            Ok(len) => len,
            Err(e) => {
                self.tx = tx;
                self.release();
                return Err(e.into());
            }
        };
        let result = self.send(&tx[..len]).and_then(|()| self.receive_connect());
        self.tx = tx;
        if result.is_err() {
            self.release();
        }
        result
    }

    /// Resolve a `PYRONAME`/`PYROMETA` URI through the name server and aim at what it names.
    fn resolve_name(&mut self) -> Result<(), ProxyError> {
        let Some((name, resolved)) = &mut self.name else { return Ok(()) };
        let text = crate::locate::resolve_with_timeout(&self.config, name, self.timeout)?;
        let uri = Uri::parse(&text).map_err(|e| ProxyError::Uri(format!("{text}: {e}")))?;
        let target = match uri.location() {
            Some(Location::Tcp { host, port }) if uri.protocol() == Protocol::Pyro => Target::Tcp {
                host: host.to_string(),
                port: u16::try_from(port).map_err(|_| ProxyError::Uri(format!("{text}: port out of range")))?,
            },
            Some(Location::Unix { socket }) if uri.protocol() == Protocol::Pyro => Target::Unix(socket.to_string()),
            _ => return Err(ProxyError::Uri(format!("{text}: the name server gave no PYRO URI with a location"))),
        };
        self.object = uri.object().into();
        self.target = target;
        *resolved = Some(uri.to_string());
        Ok(())
    }

    fn receive_connect(&mut self) -> Result<(), ProxyError> {
        let location = self.location();
        let Some(connection) = self.connection.as_mut() else { return Err(ProxyError::ConnectionClosed) };
        let msg = read_message(connection)?;
        let connected = match self.client.read_connect(&msg) {
            Ok(c) => c,
            Err(ClientError::Rejected(reason)) => {
                return Err(ProxyError::Rejected { location, reason: reason.as_str().to_string() });
            }
            Err(e) => return Err(e.into()),
        };
        let mut metadata = ProxyMetadata::default();
        for (set, names) in [
            (MetaSet::Methods, &mut metadata.methods),
            (MetaSet::Oneway, &mut metadata.oneway),
            (MetaSet::Attrs, &mut metadata.attrs),
        ] {
            connected.for_each_name(set, &mut |name| {
                names.insert(name.to_string());
            })?;
        }
        self.handshake_response = connected.handshake::<Value>().ok();
        self.response_annotations = collect_annotations(&msg);
        if metadata.methods.is_empty() && metadata.attrs.is_empty() {
            return Err(ProxyError::NothingExposed(self.uri.clone()));
        }
        self.metadata = Some(metadata);
        Ok(())
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), ProxyError> {
        let Some(connection) = self.connection.as_mut() else { return Err(ProxyError::ConnectionClosed) };
        if connection.logwire {
            log_wire("proxy wiredata sending", bytes);
        }
        connection.stream.write_all(bytes).map_err(io_error)
    }

    /// Send a call and read its outcome, retrying as [`set_max_retries`](Self::set_max_retries) says.
    fn invoke<A: Serialize + ?Sized, K: Serialize + ?Sized, T>(
        &mut self,
        call: &CallSpec<'_>,
        args: &A,
        kwargs: Option<&K>,
        decode: &dyn Fn(Payload<'_>) -> Result<T, ClientError>,
    ) -> Result<Outcome<T>, ProxyError> {
        let mut attempt = 0;
        loop {
            match self.invoke_once(call, args, kwargs, decode) {
                // As Pyro's `_RemoteMethod`: only these two are worth another try.
                Err(ProxyError::ConnectionClosed | ProxyError::Timeout) if attempt < self.max_retries => {
                    attempt += 1;
                    self.release();
                }
                other => return other,
            }
        }
    }

    fn invoke_once<A: Serialize + ?Sized, K: Serialize + ?Sized, T>(
        &mut self,
        call: &CallSpec<'_>,
        args: &A,
        kwargs: Option<&K>,
        decode: &dyn Fn(Payload<'_>) -> Result<T, ClientError>,
    ) -> Result<Outcome<T>, ProxyError> {
        if self.send_calls(call, args, kwargs, 1)?.0 { self.receive_reply(decode) } else { Ok(Outcome::Nothing) }
    }

    /// Write up to `count` of the same call in one send without reading their replies (they
    /// come in their turn: calls may be pipelined), at most [`PIPELINE_BYTES`] of them past
    /// the first; whether replies will come and how many calls were sent.
    fn send_calls<A: Serialize + ?Sized, K: Serialize + ?Sized>(
        &mut self,
        call: &CallSpec<'_>,
        args: &A,
        kwargs: Option<&K>,
        count: usize,
    ) -> Result<(bool, usize), ProxyError> {
        self.ensure_connected()?;
        self.response_annotations.clear();
        let annotations = annotations_of(&self.annotations);
        let extras = self.extras(&annotations);
        let mut tx = std::mem::take(&mut self.tx);
        let mut more = Vec::new();
        let mut calls = 1;
        let mut written = self.client.write_call(call, args, kwargs, &extras, self.limits, &mut tx);
        while calls < count {
            let Ok(sent) = written else { break };
            if more.len() + 2 * sent.len > PIPELINE_BYTES {
                break;
            }
            // Each call is laid out at the start of the storage: the earlier ones move on.
            more.extend_from_slice(&tx[..sent.len]);
            written = self.client.write_call(call, args, kwargs, &extras, self.limits, &mut tx);
            calls += 1;
        }
        drop(annotations);
        let result = match written {
            Ok(sent) if more.is_empty() => self.send(&tx[..sent.len]).map(|()| (sent.expects_reply, calls)),
            Ok(sent) => {
                more.extend_from_slice(&tx[..sent.len]);
                self.send(&more).map(|()| (sent.expects_reply, calls))
            }
            Err(e) => Err(e.into()),
        };
        self.tx = tx;
        result.inspect_err(|e| {
            // Whatever was written may be half a message: start afresh next time.
            if !matches!(e, ProxyError::Protocol(ClientError::Serialize(_) | ClientError::Encode(_))) {
                self.release();
            }
        })
    }

    fn receive_reply<T>(
        &mut self,
        decode: &dyn Fn(Payload<'_>) -> Result<T, ClientError>,
    ) -> Result<Outcome<T>, ProxyError> {
        let Some(connection) = self.connection.as_mut() else { return Err(ProxyError::ConnectionClosed) };
        let result = read_message(connection).and_then(|msg| {
            let reply = self.client.read_reply(&msg)?;
            let annotations = collect_annotations(&msg);
            let outcome = match reply {
                Reply::Value(body) | Reply::Batch(body) => decode(body).map(Outcome::Value).map_err(decode_error),
                Reply::Exception(body) => match body.decode::<Value>() {
                    Ok(value) => Err(ProxyError::Remote(RemoteError::from_value(&value))),
                    Err(e) => Err(ProxyError::Protocol(e)),
                },
                Reply::Stream { id, .. } => Ok(Outcome::Stream(id.to_string())),
                Reply::Pong => Ok(Outcome::Nothing),
                // This proxy abandons no call (a timeout closes its connection).
                Reply::Late { .. } => Err(ProxyError::Protocol(ClientError::NotExpected)),
            };
            Ok((outcome, annotations))
        });
        match result {
            Ok((outcome, annotations)) => {
                // A complete reply was read: the conversation is in step whatever it held.
                self.response_annotations = annotations;
                outcome
            }
            Err(e) => {
                // Any communication or protocol fault closes the connection, as in Pyro.
                self.release();
                Err(e)
            }
        }
    }
}

/// The outcome of one request.
enum Outcome<T> {
    /// The reply's value.
    Value(T),
    /// The method returned an iterator: its stream id.
    Stream(String),
    /// No reply: a oneway call, or the answer to a ping.
    Nothing,
}

/// Read a reply payload as a `T`.
fn decode_as<T: DeserializeOwned>(body: Payload<'_>) -> Result<T, ClientError> {
    body.decode::<T>()
}

/// A payload that did not read: the reply was complete, the connection stays in step.
fn decode_error(e: ClientError) -> ProxyError {
    match e {
        ClientError::Payload(e) => ProxyError::Decode(e),
        other => ProxyError::Protocol(other),
    }
}

/// Keyword arguments given as name/value pairs: a dict with str keys.
struct KwargsOf<'a>(&'a [(String, Value)]);

impl Serialize for KwargsOf<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Positional arguments: `()` is no arguments (an empty tuple, not Python's None).
struct ArgsOf<'a, A>(&'a A);

impl<A: Serialize> Serialize for ArgsOf<'_, A> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if std::mem::size_of::<A>() == 0 && std::any::type_name::<A>() == "()" {
            return NO_ARGS.serialize(s);
        }
        self.0.serialize(s)
    }
}

fn annotations_of(list: &[(AnnotationId, Vec<u8>)]) -> Vec<Annotation<'_>> {
    list.iter().map(|(id, v)| Annotation::new(*id, v)).collect()
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

fn collect_annotations(msg: &Message<'_>) -> Vec<(AnnotationId, Vec<u8>)> {
    msg.annotations().map(|(id, v)| (id, v.to_vec())).collect()
}

/// Read one whole message from the connection.
fn read_message(connection: &mut Connection) -> Result<Message<'_>, ProxyError> {
    loop {
        let buf = connection.decoder.read_buf().map_err(ProxyError::Receive)?;
        let n = match connection.stream.read(buf) {
            Ok(0) => return Err(ProxyError::ConnectionClosed),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(e)),
        };
        match connection.decoder.commit(n) {
            Ok(Progress::Complete { .. }) => break,
            Ok(Progress::NeedMore) => {}
            Err(e) => return Err(ProxyError::Receive(e)),
        }
    }
    let message = connection.decoder.message().ok_or(ProxyError::ConnectionClosed)?;
    if connection.logwire {
        log_wire("proxy wiredata received", message.as_bytes());
    }
    Ok(message)
}

/// One call of a batch: method, positional and keyword arguments.
type BatchCall = (String, Vec<Value>, Vec<(String, Value)>);

/// Calls collected for one batch message (Pyro's `BatchProxy`).
pub struct Batch<'p> {
    proxy: &'p mut Proxy,
    calls: Vec<BatchCall>,
}

impl fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Batch of {} calls>", self.calls.len())
    }
}

impl Batch<'_> {
    /// Add a call of `method` with positional `args` and keyword `kwargs`.
    pub fn call(&mut self, method: &str, args: Vec<Value>, kwargs: Vec<(String, Value)>) -> &mut Self {
        self.calls.push((method.to_string(), args, kwargs));
        self
    }

    /// How many calls were added.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call was added.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    fn send<T>(
        self,
        oneway: bool,
        decode: &dyn Fn(Payload<'_>) -> Result<T, ClientError>,
    ) -> Result<Outcome<T>, ProxyError> {
        let object = self.proxy.object.clone();
        let calls: Vec<BatchEntry<'_>> = self.calls.iter().map(|(m, a, k)| BatchEntry(m, a, KwargsOf(k))).collect();
        let call = CallSpec { object: &object, method: "<batch>", oneway, batch: true };
        self.proxy.invoke(&call, &calls, None::<&()>, decode)
    }

    /// Send the batch and return each call's result in order. A call that raised ends the
    /// list (the daemon stops there), as in Pyro.
    ///
    /// # Errors
    /// Connection and protocol errors; [`ProxyError::Remote`] when the daemon answered the
    /// whole batch with an exception (Python's daemon does so in marshal when a call
    /// raised: marshal cannot carry the exception wrapper, `ValueError: unmarshallable
    /// object`).
    pub fn run(self) -> Result<Vec<Result<Value, RemoteError>>, ProxyError> {
        let results = match self.send(false, &decode_as::<Value>)? {
            Outcome::Value(v) => v,
            Outcome::Nothing | Outcome::Stream(_) => return Err(ProxyError::Protocol(ClientError::NotExpected)),
        };
        let (Value::List(items) | Value::Tuple(items)) = results else {
            return Ok(vec![Ok(results)]);
        };
        Ok(items
            .into_iter()
            .map(|item| match item.class_name() {
                Some(EXCEPTION_WRAPPER_CLASS) => {
                    Err(RemoteError::from_value(item.get("exception").unwrap_or(&Value::None)))
                }
                _ => Ok(item),
            })
            .collect())
    }

    /// Send the batch oneway: nothing comes back.
    ///
    /// # Errors
    /// Connection errors.
    pub fn run_oneway(self) -> Result<(), ProxyError> {
        self.send(true, &decode_as::<serde::de::IgnoredAny>).map(drop)
    }
}

/// One call in a batch's argument list: `(method, args, kwargs)`.
struct BatchEntry<'a>(&'a str, &'a [Value], KwargsOf<'a>);

impl Serialize for BatchEntry<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.0, TupleOf(self.1), &self.2).serialize(s)
    }
}

/// A slice written as a tuple.
struct TupleOf<'a>(&'a [Value]);

impl Serialize for TupleOf<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(self.0.len())?;
        for v in self.0 {
            t.serialize_element(v)?;
        }
        t.end()
    }
}

/// The most bytes of requests a proxy sends in one go without reading replies: a peer with
/// small socket buffers (a microcontroller) could otherwise fill them with replies while
/// the proxy still writes, and both would wait for the other.
const PIPELINE_BYTES: usize = 1024;

/// How many item requests a [`RemoteIter`] keeps waiting on the connection by default.
/// Their replies wait in the daemon's socket buffers while the proxy reads the first: a
/// daemon on a microcontroller has room for a few (an item stream's end answers each
/// request after it with an exception of a few hundred bytes). Against daemons on a full
/// OS, [`RemoteIter::prefetch`] of 16 or more pays off.
pub const DEFAULT_PREFETCH: usize = 4;

/// The items of a remote iterator. Requests for the next items are pipelined (up to
/// [`prefetch`](Self::prefetch) wait at once) and the items come back in order, so a stream
/// costs about one round trip per `prefetch` items instead of one per item; the daemon
/// produces up to that many items ahead of what was taken. Dropping it before the end closes
/// the stream on the daemon (a oneway `close_stream`, after the replies still on their way).
///
/// A stream belongs to its connection: once the proxy's connection is lost (or released)
/// the iterator yields [`ProxyError::ConnectionClosed`] and ends, as Pyro's
/// `_StreamResultIterator` does.
pub struct RemoteIter<'p> {
    proxy: &'p mut Proxy,
    id: Option<String>,
    generation: u64,
    prefetch: usize,
    /// Item requests sent whose replies were not read yet.
    requested: usize,
    /// `TCP_NODELAY` was turned on for the pipelined requests (and is put back at the end).
    nodelay: bool,
}

impl fmt::Debug for RemoteIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<RemoteIter {:?}>", self.id)
    }
}

impl<'p> RemoteIter<'p> {
    fn new(proxy: &'p mut Proxy, id: String, generation: u64) -> Self {
        Self { proxy, id: Some(id), generation, prefetch: DEFAULT_PREFETCH, requested: 0, nodelay: false }
    }

    /// Keep up to `requests` item requests waiting at once (at least 1; 1 fetches an item a
    /// round trip, as Pyro's proxy does).
    #[must_use]
    pub fn prefetch(mut self, requests: usize) -> Self {
        self.prefetch = requests.clamp(1, pyro5_core::client::MAX_IN_FLIGHT);
        self
    }

    /// The daemon's id of the stream, while it is open.
    pub fn stream_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    fn same_connection(&self) -> bool {
        self.proxy.connection.is_some() && self.proxy.generation == self.generation
    }

    /// Send item requests until `prefetch` wait (the first ones in one send). While requests
    /// are pipelined the socket sends at once (`TCP_NODELAY`): with Nagle's algorithm a
    /// request would wait for the acknowledgement of the one before, which a daemon that
    /// answers each request in its own send delays.
    fn request_more(&mut self, id: &str) -> Result<(), ProxyError> {
        if self.requested >= self.prefetch {
            return Ok(());
        }
        if self.prefetch > 1 && !self.nodelay {
            if let Some(connection) = &self.proxy.connection {
                let _ = connection.stream.set_nodelay(true);
            }
            self.nodelay = true;
        }
        let call = CallSpec { object: DAEMON_OBJECT, method: "get_next_stream_item", oneway: false, batch: false };
        // No retries: a new connection would not know the stream.
        let (_, sent) = self.proxy.send_calls(&call, &[id], None::<&()>, self.prefetch - self.requested)?;
        self.requested += sent;
        Ok(())
    }

    /// Read the replies still on their way and drop them (the stream is over or closed).
    fn drain(&mut self) {
        while self.requested > 0 && self.same_connection() {
            self.requested -= 1;
            match self.proxy.receive_reply(&decode_as::<serde::de::IgnoredAny>) {
                Ok(_) | Err(ProxyError::Remote(_)) => {}
                Err(_) => break,
            }
        }
        self.requested = 0;
    }
}

impl Iterator for RemoteIter<'_> {
    type Item = Result<Value, ProxyError>;

    fn next(&mut self) -> Option<Self::Item> {
        let id = self.id.take()?;
        if !self.same_connection() {
            return Some(Err(ProxyError::ConnectionClosed));
        }
        if let Err(e) = self.request_more(&id) {
            return Some(Err(e));
        }
        self.requested -= 1;
        let item = match self.proxy.receive_reply(&decode_as::<Value>) {
            Ok(Outcome::Value(v)) => {
                self.id = Some(id);
                return Some(Ok(v));
            }
            Ok(Outcome::Stream(_) | Outcome::Nothing) => Some(Err(ProxyError::Protocol(ClientError::NotExpected))),
            // The daemon ended the stream itself (the requests after the end get errors).
            Err(ProxyError::Remote(e)) if e.class == "builtins.StopIteration" => None,
            Err(e) => Some(Err(e)),
        };
        self.drain();
        item
    }
}

impl Drop for RemoteIter<'_> {
    fn drop(&mut self) {
        self.drain();
        if self.nodelay
            && self.same_connection()
            && let Some(connection) = &self.proxy.connection
        {
            let _ = connection.stream.set_nodelay(self.proxy.config.sock_nodelay);
        }
        if let Some(id) = self.id.take()
            && self.same_connection()
        {
            let call = CallSpec { object: DAEMON_OBJECT, method: "close_stream", oneway: true, batch: false };
            let _ = self.proxy.invoke_once(&call, &[id.as_str()], None::<&()>, &decode_as::<serde::de::IgnoredAny>);
        }
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
        assert_eq!(plain.client.serializer(), SerializerId::Serpent);
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
        assert_eq!(proxy.client.serializer(), SerializerId::Msgpack);
        assert!(proxy.config.logwire);
    }
}
