//! Calling Pyro objects: `Proxy`, as Python's `Pyro5.client.Proxy` (spec `PROTOCOL.md` §3).

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Read, Write};
use std::time::Duration;

use pyro5_core::client::{CallSpec, ClientConnection, ClientError, Extras, MetaSet, NO_ARGS, Reply};
use pyro5_core::limits::Limits;
use pyro5_core::ser::value::{Value, from_value};
use pyro5_core::uri::{Location, Protocol, Uri};
use pyro5_core::wire::{Annotation, AnnotationId, CorrelationId, Decoder, Message, Progress, SerializerId};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::transport::Stream;

/// An exception the remote call raised: its Python class, arguments and the remote traceback.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteError {
    /// Module and class, e.g. `builtins.ValueError`.
    pub class: String,
    /// The exception's `args`.
    pub args: Vec<Value>,
    /// The remote traceback lines (Pyro's `_pyroTraceback`), each ending in a newline.
    pub traceback: Vec<String>,
}

impl RemoteError {
    /// The class name without its module (`ValueError`).
    pub fn short_class(&self) -> &str {
        self.class.rsplit('.').next().unwrap_or(&self.class)
    }

    /// The message: the first argument when it is a string (Python's `str(e)` for one arg).
    pub fn message(&self) -> String {
        match self.args.as_slice() {
            [] => String::new(),
            [Value::Str(s)] => s.clone(),
            [one] => format!("{one:?}"),
            more => format!("{more:?}"),
        }
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
        let traceback = match value.get("attributes").and_then(|a| a.get("_pyroTraceback")) {
            Some(Value::List(lines) | Value::Tuple(lines)) => {
                lines.iter().filter_map(|l| l.as_str().map(str::to_string)).collect()
            }
            _ => Vec::new(),
        };
        Self { class, args, traceback }
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
    /// Connecting or talking to the daemon failed (Pyro's `CommunicationError`).
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
        }
    }
}

impl std::error::Error for ProxyError {}

impl From<ClientError> for ProxyError {
    fn from(e: ClientError) -> Self {
        Self::Protocol(e)
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

/// Where the proxy connects.
#[derive(Clone, Debug)]
enum Target {
    Tcp { host: String, port: u16 },
    Unix(String),
}

struct Connection {
    stream: Stream,
    decoder: Decoder<Vec<u8>>,
}

/// A proxy for one remote object, as Python's `Pyro5.client.Proxy`: connects on first use,
/// learns the object's metadata from the handshake, and calls its methods.
///
/// Calls take `&mut self`: a proxy serves one thread at a time (Pyro's rule, enforced by the
/// compiler); give each thread its own proxy, or move it between threads.
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
    object: String,
    target: Target,
    client: ClientConnection,
    connection: Option<Connection>,
    metadata: Option<ProxyMetadata>,
    handshake: Value,
    timeout: Option<Duration>,
    max_retries: u32,
    correlation_id: Option<CorrelationId>,
    annotations: Vec<(AnnotationId, Vec<u8>)>,
    response_annotations: Vec<(AnnotationId, Vec<u8>)>,
    limits: Limits,
    tx: Vec<u8>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Proxy {}; connected={}>", self.uri, self.connection.is_some())
    }
}

impl Proxy {
    /// A proxy for `PYRO:object@host:port` or `PYRO:object@./u:socket`; nothing is
    /// connected yet.
    ///
    /// # Errors
    /// [`ProxyError::Uri`] for a URI that does not parse or that needs a name server.
    pub fn new(uri: &str) -> Result<Self, ProxyError> {
        let parsed = Uri::parse(uri).map_err(|e| ProxyError::Uri(e.to_string()))?;
        if parsed.protocol() != Protocol::Pyro {
            return Err(ProxyError::Uri(format!(
                "{uri}: PYRONAME and PYROMETA URIs are resolved through a name server, which this version cannot do yet"
            )));
        }
        let target = match parsed.location() {
            Some(Location::Tcp { host, port }) => Target::Tcp {
                host: host.to_string(),
                port: u16::try_from(port).map_err(|_| ProxyError::Uri(format!("{uri}: port out of range")))?,
            },
            Some(Location::Unix { socket }) => Target::Unix(socket.to_string()),
            None => return Err(ProxyError::Uri(format!("{uri}: no location"))),
        };
        Ok(Self {
            uri: parsed.to_string(),
            object: parsed.object().to_string(),
            target,
            client: ClientConnection::new(SerializerId::Serpent),
            connection: None,
            metadata: None,
            handshake: Value::Str("hello".into()),
            timeout: None,
            max_retries: 0,
            correlation_id: None,
            annotations: Vec::new(),
            response_annotations: Vec::new(),
            limits: Limits::default(),
            tx: Vec::new(),
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
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
        if let Some(c) = &self.connection {
            let _ = c.stream.set_read_timeout(timeout);
            let _ = c.stream.set_write_timeout(timeout);
        }
    }

    /// Retry a call this many times when the connection was lost (Pyro's `_pyroMaxRetries`).
    pub fn set_max_retries(&mut self, retries: u32) {
        self.max_retries = retries;
    }

    /// The handshake data sent on connect (Pyro's `_pyroHandshake`; default `"hello"`).
    pub fn set_handshake(&mut self, data: Value) {
        self.handshake = data;
    }

    /// Send this correlation id with every message (Pyro's `current_context.correlation_id`).
    pub fn set_correlation_id(&mut self, id: Option<[u8; 16]>) {
        self.correlation_id = id.map(CorrelationId);
    }

    /// Send these annotations with every message (Pyro's `current_context.annotations`).
    pub fn set_annotations(&mut self, annotations: Vec<(AnnotationId, Vec<u8>)>) {
        self.annotations = annotations;
    }

    /// The annotations that came with the last reply (Pyro's `response_annotations`).
    pub fn response_annotations(&self) -> &[(AnnotationId, Vec<u8>)] {
        &self.response_annotations
    }

    /// The largest message sent or accepted (Pyro's `MAX_MESSAGE_SIZE`).
    pub fn set_max_message_size(&mut self, max: u32) {
        self.limits = Limits { max_message_size: max };
    }

    /// Connect now (if not connected) and return the object's metadata (Pyro's
    /// `_pyroBind`).
    ///
    /// # Errors
    /// Connection errors, [`ProxyError::Rejected`], [`ProxyError::NothingExposed`].
    pub fn bind(&mut self) -> Result<&ProxyMetadata, ProxyError> {
        self.ensure_connected()?;
        self.metadata.as_ref().ok_or(ProxyError::ConnectionClosed)
    }

    /// The metadata, if connected once.
    pub fn metadata(&self) -> Option<&ProxyMetadata> {
        self.metadata.as_ref()
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

    fn connect_stream(&self) -> Result<Stream, ProxyError> {
        let stream = match &self.target {
            Target::Tcp { host, port } => Stream::connect_tcp(host, *port, self.timeout),
            #[cfg(unix)]
            Target::Unix(path) => Stream::connect_unix(path),
            #[cfg(not(unix))]
            Target::Unix(_) => Err(io::Error::new(io::ErrorKind::Unsupported, "unix sockets need a unix system")),
        }
        .map_err(ProxyError::Communication)?;
        let _ = stream.set_read_timeout(self.timeout);
        let _ = stream.set_write_timeout(self.timeout);
        Ok(stream)
    }

    fn location(&self) -> String {
        match &self.target {
            Target::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Target::Tcp { host, port } => format!("{host}:{port}"),
            Target::Unix(path) => format!("./u:{path}"),
        }
    }

    fn ensure_connected(&mut self) -> Result<(), ProxyError> {
        if self.connection.is_some() && self.client.is_ready() {
            return Ok(());
        }
        let stream = self.connect_stream()?;
        self.connection = Some(Connection { stream, decoder: Decoder::new(Vec::new(), self.limits) });
        let annotations = annotations_of(&self.annotations);
        let extras = Extras { correlation_id: self.correlation_id, annotations: &annotations, compress: false };
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
        self.response_annotations = collect_annotations(&msg);
        if metadata.methods.is_empty() && metadata.attrs.is_empty() {
            return Err(ProxyError::NothingExposed(self.uri.clone()));
        }
        self.metadata = Some(metadata);
        Ok(())
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), ProxyError> {
        let Some(connection) = self.connection.as_mut() else { return Err(ProxyError::ConnectionClosed) };
        connection.stream.write_all(bytes).map_err(io_error)
    }

    /// Call `method` with positional `args` (a tuple: `()` for none, `(x,)` for one) and
    /// read the result as `R`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] when the method raised, [`ProxyError::NotExposed`], connection
    /// and protocol errors, [`ProxyError::Result`] when the result does not fit `R`.
    pub fn call<R: DeserializeOwned, A: Serialize>(&mut self, method: &str, args: A) -> Result<R, ProxyError> {
        self.call_kw(method, args, None::<&()>)
    }

    /// [`call`](Self::call) with keyword arguments (a map or struct).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn call_kw<R: DeserializeOwned, A: Serialize, K: Serialize>(
        &mut self,
        method: &str,
        args: A,
        kwargs: Option<&K>,
    ) -> Result<R, ProxyError> {
        let value = self.call_value_raw(method, &ArgsOf(&args), kwargs)?;
        decode_result(value)
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
        let kwargs: Vec<(Value, Value)> = kwargs.iter().map(|(k, v)| (Value::Str(k.clone()), v.clone())).collect();
        self.call_value_raw(method, &Value::Tuple(args.to_vec()), Some(&Value::Dict(kwargs)))
    }

    fn check_exposed(&mut self, name: &str, attr: bool) -> Result<bool, ProxyError> {
        self.ensure_connected()?;
        let meta = self.metadata.as_ref().ok_or(ProxyError::ConnectionClosed)?;
        let known = if attr { meta.attrs.contains(name) } else { meta.methods.contains(name) };
        if !known {
            return Err(ProxyError::NotExposed { uri: self.uri.clone(), name: name.to_string() });
        }
        Ok(!attr && meta.oneway.contains(name))
    }

    fn call_value_raw<A: Serialize + ?Sized, K: Serialize + ?Sized>(
        &mut self,
        method: &str,
        args: &A,
        kwargs: Option<&K>,
    ) -> Result<Value, ProxyError> {
        let oneway = self.check_exposed(method, false)?;
        let object = self.object.clone();
        // A method call always carries a dict of keyword arguments (Python's proxy sends
        // `{}`; the daemon calls `method(*args, **kwargs)`).
        match kwargs {
            Some(kwargs) => self.invoke(&object, method, args, Some(kwargs), oneway, false),
            None => self.invoke(&object, method, args, Some(&NoKwargs), oneway, false),
        }
    }

    /// Read property `name` (Pyro's `proxy.name`).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn get_attr<R: DeserializeOwned>(&mut self, name: &str) -> Result<R, ProxyError> {
        self.check_exposed(name, true)?;
        let object = self.object.clone();
        decode_result(self.invoke(&object, "__getattr__", &(name,), None::<&()>, false, false)?)
    }

    /// Write property `name` (Pyro's `proxy.name = value`).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn set_attr<V: Serialize>(&mut self, name: &str, value: V) -> Result<(), ProxyError> {
        self.check_exposed(name, true)?;
        let object = self.object.clone();
        self.invoke(&object, "__setattr__", &(name, value), None::<&()>, false, false).map(drop)
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
            Ok(len) => self.send(&tx[..len]).and_then(|()| self.receive_reply().map(drop)),
            Err(e) => Err(e.into()),
        };
        self.tx = tx;
        result
    }

    /// Start a batch: calls collected and sent in one message (Pyro's `BatchProxy`).
    pub fn batch(&mut self) -> Batch<'_> {
        Batch { proxy: self, calls: Vec::new() }
    }

    /// Call a method that returns an iterator (a generator in Python): its items come one
    /// round trip at a time. Dropping the iterator early closes the stream on the daemon.
    ///
    /// # Errors
    /// As [`call`](Self::call); [`ProxyError::Protocol`] if the method returned no iterator.
    pub fn call_iter<A: Serialize>(&mut self, method: &str, args: A) -> Result<RemoteIter<'_>, ProxyError> {
        self.check_exposed(method, false)?;
        let object = self.object.clone();
        match self.invoke_reply(&object, method, &ArgsOf(&args), Some(&NoKwargs), false, false)? {
            Outcome::Stream(id) => Ok(RemoteIter { proxy: self, id: Some(id) }),
            Outcome::Value(v) => {
                Err(ProxyError::Protocol(ClientError::Payload(pyro5_core::ser::call::CallError::Json(
                    serde::de::Error::custom(format!("{method} returned a value, not an iterator: {v:?}")),
                ))))
            }
        }
    }

    fn invoke<A: Serialize + ?Sized, K: Serialize + ?Sized>(
        &mut self,
        object: &str,
        method: &str,
        args: &A,
        kwargs: Option<&K>,
        oneway: bool,
        batch: bool,
    ) -> Result<Value, ProxyError> {
        match self.invoke_reply(object, method, args, kwargs, oneway, batch)? {
            Outcome::Value(v) => Ok(v),
            // An iterator where a value was expected: collect it, as Python would iterate.
            Outcome::Stream(id) => {
                let mut iter = RemoteIter { proxy: self, id: Some(id) };
                let mut items = Vec::new();
                for item in &mut iter {
                    items.push(item?);
                }
                Ok(Value::List(items))
            }
        }
    }

    fn invoke_reply<A: Serialize + ?Sized, K: Serialize + ?Sized>(
        &mut self,
        object: &str,
        method: &str,
        args: &A,
        kwargs: Option<&K>,
        oneway: bool,
        batch: bool,
    ) -> Result<Outcome, ProxyError> {
        let mut attempt = 0;
        loop {
            match self.invoke_once(object, method, args, kwargs, oneway, batch) {
                Err(ProxyError::ConnectionClosed | ProxyError::Timeout | ProxyError::Communication(_))
                    if attempt < self.max_retries =>
                {
                    attempt += 1;
                    self.release();
                }
                other => return other,
            }
        }
    }

    fn invoke_once<A: Serialize + ?Sized, K: Serialize + ?Sized>(
        &mut self,
        object: &str,
        method: &str,
        args: &A,
        kwargs: Option<&K>,
        oneway: bool,
        batch: bool,
    ) -> Result<Outcome, ProxyError> {
        self.ensure_connected()?;
        let annotations = annotations_of(&self.annotations);
        let extras = Extras { correlation_id: self.correlation_id, annotations: &annotations, compress: false };
        let spec = CallSpec { object, method, oneway, batch };
        let mut tx = std::mem::take(&mut self.tx);
        let written = self.client.write_call(&spec, args, kwargs, &extras, self.limits, &mut tx);
        drop(annotations);
        let result = match written {
            Ok(sent) => self.send(&tx[..sent.len]).map(|()| sent.expects_reply),
            Err(e) => Err(e.into()),
        };
        self.tx = tx;
        if !result? {
            return Ok(Outcome::Value(Value::None));
        }
        self.receive_reply()
    }

    fn receive_reply(&mut self) -> Result<Outcome, ProxyError> {
        let Some(connection) = self.connection.as_mut() else { return Err(ProxyError::ConnectionClosed) };
        let result = read_message(connection).and_then(|msg| {
            let annotations = collect_annotations(&msg);
            let outcome = match self.client.read_reply(&msg)? {
                Reply::Value(body) => Outcome::Value(body.decode::<Value>()?),
                Reply::Exception(body) => {
                    return Err(ProxyError::Remote(RemoteError::from_value(&body.decode::<Value>()?)));
                }
                Reply::Stream { id, .. } => Outcome::Stream(id.to_string()),
                Reply::Batch(body) => Outcome::Value(body.decode::<Value>()?),
                Reply::Pong => Outcome::Value(Value::None),
            };
            Ok((outcome, annotations))
        });
        match result {
            Ok((outcome, annotations)) => {
                self.response_annotations = annotations;
                Ok(outcome)
            }
            Err(e) => {
                // Any communication or protocol fault closes the connection, as in Pyro.
                if !matches!(e, ProxyError::Remote(_)) {
                    self.release();
                }
                Err(e)
            }
        }
    }
}

/// No keyword arguments: an empty dict.
struct NoKwargs;

impl Serialize for NoKwargs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        s.serialize_map(Some(0))?.end()
    }
}

enum Outcome {
    Value(Value),
    Stream(String),
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

fn decode_result<R: DeserializeOwned>(value: Value) -> Result<R, ProxyError> {
    from_value(value).map_err(ProxyError::Result)
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
        let buf = connection.decoder.read_buf().map_err(|e| {
            ProxyError::Protocol(ClientError::Payload(pyro5_core::ser::call::CallError::Json(
                serde::de::Error::custom(e),
            )))
        })?;
        let n = match connection.stream.read(buf) {
            Ok(0) => return Err(ProxyError::ConnectionClosed),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(e)),
        };
        match connection.decoder.commit(n) {
            Ok(Progress::Complete { .. }) => break,
            Ok(Progress::NeedMore) => {}
            Err(e) => {
                return Err(ProxyError::Protocol(ClientError::Payload(pyro5_core::ser::call::CallError::Json(
                    serde::de::Error::custom(e),
                ))));
            }
        }
    }
    connection.decoder.message().ok_or(ProxyError::ConnectionClosed)
}

/// One call of a batch: method, positional and keyword arguments.
type BatchCall = (String, Vec<Value>, Vec<(Value, Value)>);

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
        let kwargs = kwargs.into_iter().map(|(k, v)| (Value::Str(k), v)).collect();
        self.calls.push((method.to_string(), args, kwargs));
        self
    }

    fn payload(&self) -> Value {
        Value::List(
            self.calls
                .iter()
                .map(|(m, a, k)| {
                    Value::Tuple(vec![Value::Str(m.clone()), Value::Tuple(a.clone()), Value::Dict(k.clone())])
                })
                .collect(),
        )
    }

    /// Send the batch and return each call's result in order. A call that raised ends the
    /// list (the daemon stops there), as in Pyro.
    ///
    /// # Errors
    /// Connection and protocol errors; [`ProxyError::Remote`] when the daemon answered the
    /// whole batch with an exception.
    pub fn run(self) -> Result<Vec<Result<Value, RemoteError>>, ProxyError> {
        let payload = self.payload();
        let object = self.proxy.object.clone();
        self.proxy.ensure_connected()?;
        let results = self.proxy.invoke(&object, "<batch>", &payload, None::<&()>, false, true)?;
        let (Value::List(items) | Value::Tuple(items)) = results else {
            return Ok(vec![Ok(results)]);
        };
        Ok(items
            .into_iter()
            .map(|item| match item.class_name() {
                Some("Pyro5.core._ExceptionWrapper") => {
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
        let payload = self.payload();
        let object = self.proxy.object.clone();
        self.proxy.ensure_connected()?;
        self.proxy.invoke(&object, "<batch>", &payload, None::<&()>, true, true).map(drop)
    }
}

/// The items of a remote iterator, fetched one per round trip. Dropping it before the end
/// closes the stream on the daemon (a oneway `close_stream`).
pub struct RemoteIter<'p> {
    proxy: &'p mut Proxy,
    id: Option<String>,
}

impl fmt::Debug for RemoteIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<RemoteIter {:?}>", self.id)
    }
}

impl Iterator for RemoteIter<'_> {
    type Item = Result<Value, ProxyError>;

    fn next(&mut self) -> Option<Self::Item> {
        let id = self.id.clone()?;
        match self.proxy.invoke_reply(
            "Pyro.Daemon",
            "get_next_stream_item",
            &[id.as_str()],
            Some(&NoKwargs),
            false,
            false,
        ) {
            Ok(Outcome::Value(v)) => Some(Ok(v)),
            Ok(Outcome::Stream(_)) => {
                self.id = None;
                Some(Err(ProxyError::Protocol(ClientError::NotExpected)))
            }
            Err(ProxyError::Remote(e)) if e.class == "builtins.StopIteration" => {
                self.id = None;
                None
            }
            Err(e) => {
                self.id = None;
                Some(Err(e))
            }
        }
    }
}

impl Drop for RemoteIter<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = self.proxy.invoke("Pyro.Daemon", "close_stream", &[id.as_str()], Some(&NoKwargs), true, false);
        }
    }
}
