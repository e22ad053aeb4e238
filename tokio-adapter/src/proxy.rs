//! The async proxy: Python's `Pyro5.client.Proxy` for tokio tasks, many of them calling
//! through one connection at once.
//!
//! A [`Proxy`] connects on first use, learns the object's metadata from the handshake and
//! refuses names the object does not expose before sending anything, as `pyro5_std::Proxy`
//! does; its errors are pyro5-std's ([`ProxyError`], [`RemoteError`](pyro5_std::RemoteError)). Each connection is
//! driven by a reader task and a writer task; callers queue their requests on the core's
//! [`ClientConnection`](pyro5_core::client::ClientConnection) and wait for their replies on
//! oneshot channels, so up to [`MAX_IN_FLIGHT`](pyro5_core::client::MAX_IN_FLIGHT) calls of
//! any number of tasks are pipelined on it (more wait for room).
//!
//! Dropping a call's future gives the call up: its reply is dropped when it comes and the
//! proxy stays usable. A call past its timeout fails with [`ProxyError::Timeout`] and, as in
//! Pyro, closes the connection (the next call connects again) unless
//! [`set_keep_connection_on_timeout`](Proxy::set_keep_connection_on_timeout) keeps it.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use pyro5_core::client::{ClientError, ClientEvent, Extras, Payload, Reply};
use pyro5_core::limits::Limits;
use pyro5_core::ser::value::{Value, from_value};
use pyro5_core::wire::{Annotation, AnnotationId, CorrelationId, SerializerId, StreamId};
use pyro5_std::calling::{
    Aim, ArgsOf, Body, Kind, KwargsOf, ProxyState, Target, TupleOf, annotations_of, closed_error, collect_annotations,
    decode_as, decode_error, read_kept_reply as read_reply, remote_error,
};
use pyro5_std::{Config, ProxyError, ProxyMetadata, SerializedBlob, Serializer};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod calls;
mod link;

pub use calls::{Batch, DEFAULT_PREFETCH, RemoteStream};
use link::{Connection, Link, Pending, ReadHalf, WriteHalf, millis};

/// What the clones of a proxy share.
struct Inner {
    state: Mutex<State>,
    /// Held while a connection is made: one at a time.
    connecting: tokio::sync::Mutex<()>,
    epoch: Instant,
    config: Config,
    /// TLS (`SSL`), or why its settings are unusable (reported when connecting).
    tls: Result<Option<Arc<tokio_rustls::rustls::ClientConfig>>, Arc<pyro5_std::tls::TlsError>>,
}

struct State {
    /// The URI, where it points and the object.
    aim: Aim,
    /// The connection, open or (once it ended) kept until the next one replaces it.
    link: Option<Arc<Link>>,
    metadata: Option<Arc<ProxyMetadata>>,
    handshake_response: Option<Value>,
    /// The daemon's TLS certificate on the last connection.
    peer_certificate: Option<Arc<[u8]>>,
    response_annotations: Vec<(AnnotationId, Vec<u8>)>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(link) = state.link.take() {
            link.close(ClientError::ConnectionClosed);
        }
    }
}

/// What each clone of a proxy sets for its own calls.
#[derive(Clone, Debug)]
struct Settings {
    serializer: SerializerId,
    /// The serializer named for this proxy (Pyro's `_pyroSerializer`), `None` when the
    /// configured one is used.
    named_serializer: Option<Serializer>,
    timeout: Option<Duration>,
    max_retries: u32,
    keep_on_timeout: bool,
    handshake: Value,
    correlation_id: Option<CorrelationId>,
    annotations: Vec<(AnnotationId, Vec<u8>)>,
    compress: bool,
    limits: Limits,
    /// Methods called oneway whatever the metadata says (Pyro's `_pyroOneway.add`).
    extra_oneway: BTreeSet<String>,
}

/// An async proxy for one remote object, as Python's `Pyro5.client.Proxy`.
///
/// It is `Clone + Send + Sync`: clones share one connection, and tasks calling through them
/// at once have their calls pipelined on it, each reply going to its caller by sequence
/// number. Settings (serializer, timeout, retries, annotations, ...) belong to each clone,
/// taken from the [`Config`] it was made with and changed by the setters (`&mut self`); a
/// connection is made with the settings of the clone whose call makes it.
///
/// A connection the daemon closes is seen by its reader task when it happens: the calls
/// waiting on it fail with [`ProxyError::ConnectionClosed`] (or are retried, see
/// [`set_max_retries`](Self::set_max_retries)), and the next call connects again (where
/// Python's proxy would fail that call first).
///
/// A `PYRONAME:` or `PYROMETA:` URI is resolved through the name server each time the proxy
/// connects, as in Pyro, by [`crate::naming`]'s async client (no thread waits on it).
///
/// LOGWIRE is not supported by this proxy (pyro5-std's proxy logs the wire).
#[derive(Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
    settings: Settings,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        let connected = state.link.as_ref().is_some_and(|l| !l.is_closed());
        write!(f, "<async Proxy {}; connected={connected}>", state.aim.uri)
    }
}

/// The outcome of one request.
enum Outcome<T> {
    /// The reply's value.
    Value(T),
    /// The method returned an iterator: its stream and the connection it lives on.
    Stream(StreamId, Arc<Link>),
    /// No reply: a oneway call.
    Nothing,
}

/// A call's reply as the daemon sent it, not decoded (Pyro's `_pyroRawWireResponse`), from
/// [`Proxy::call_raw`] and [`Proxy::get_attr_raw`]: for a gateway that passes the serialized
/// result on as it is (the HTTP gateway answers with the json payload).
#[derive(Debug)]
pub enum RawReply {
    /// The return value's payload (inflated if it came compressed).
    Value {
        /// Its serializer: the proxy's.
        format: SerializerId,
        /// The serialized value.
        bytes: Vec<u8>,
    },
    /// The payload of the exception the call raised (Pyro's exception dict).
    Exception {
        /// Its serializer: the proxy's.
        format: SerializerId,
        /// The serialized exception.
        bytes: Vec<u8>,
    },
    /// The method returned an iterator: its items, as [`Proxy::call_iter`] gives them
    /// (dropping it closes the stream on the daemon).
    Stream(Box<RemoteStream>),
    /// No reply: the call was oneway.
    Oneway,
}

/// How a call's reply is read: its value and its exception.
trait Take<T> {
    /// The value of a reply.
    fn value(&self, body: Payload<'_>) -> Result<T, ClientError>;
    /// A reply with an exception: the call's error, or (raw) the payload as it is.
    fn exception(&self, body: Payload<'_>) -> Result<T, ProxyError> {
        Err(remote_error(body))
    }
}

impl<T, F: Fn(Payload<'_>) -> Result<T, ClientError>> Take<T> for F {
    fn value(&self, body: Payload<'_>) -> Result<T, ClientError> {
        self(body)
    }
}

/// A reply's payload kept as it came ([`RawReply`]).
struct Raw;

impl Take<RawReply> for Raw {
    fn value(&self, body: Payload<'_>) -> Result<RawReply, ClientError> {
        Ok(RawReply::Value { format: body.format, bytes: body.bytes.to_vec() })
    }
    fn exception(&self, body: Payload<'_>) -> Result<RawReply, ProxyError> {
        Ok(RawReply::Exception { format: body.format, bytes: body.bytes.to_vec() })
    }
}

/// A serialized proxy (a callback object, an autoproxied result) in any format arrives as an
/// async proxy, made by [`Proxy::from_state`] with the `PYRO_*` configuration of this
/// process.
impl<'de> serde::Deserialize<'de> for Proxy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        pyro5_std::calling::deserialize_proxy(deserializer, Self::from_state)
    }
}

/// Written as Python writes a proxy ([`Proxy::to_state`]), to pass it on in a call.
impl Serialize for Proxy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_state().serialize(s)
    }
}

impl Proxy {
    /// A proxy for `PYRO:object@host:port`, `PYRO:object@./u:socket`, or what a
    /// `PYRONAME:`/`PYROMETA:` URI names; nothing is connected yet. Configured from the
    /// `PYRO_*` environment variables as Python's proxy is ([`Config::from_env`]).
    ///
    /// # Errors
    /// [`ProxyError::Uri`] for a URI that does not parse; [`ProxyError::Config`] for a bad
    /// `PYRO_*` variable.
    pub fn new(uri: &str) -> Result<Self, ProxyError> {
        Self::with_config(uri, &Config::from_env()?)
    }

    /// A proxy configured by `config`: `SERIALIZER`, `COMMTIMEOUT` (connect and call
    /// timeout; 0 = none), `MAX_RETRIES`, `COMPRESSION`, `MAX_MESSAGE_SIZE`,
    /// `PREFER_IP_VERSION`, and the name server items for `PYRONAME`/`PYROMETA` URIs.
    ///
    /// # Errors
    /// [`ProxyError::Uri`] for a URI that does not parse.
    pub fn with_config(uri: &str, config: &Config) -> Result<Self, ProxyError> {
        let state = State {
            aim: Aim::parse(uri)?,
            link: None,
            metadata: None,
            handshake_response: None,
            peer_certificate: None,
            response_annotations: Vec::new(),
        };
        let settings = Settings {
            serializer: config.serializer.id(),
            named_serializer: None,
            timeout: config.commtimeout_duration(),
            max_retries: config.max_retries,
            keep_on_timeout: false,
            handshake: Value::Str("hello".into()),
            correlation_id: None,
            annotations: Vec::new(),
            compress: config.compression,
            limits: Limits::with_max_message_size(config.max_message_size),
            extra_oneway: BTreeSet::new(),
        };
        let inner = Inner {
            state: Mutex::new(state),
            connecting: tokio::sync::Mutex::new(()),
            epoch: Instant::now(),
            config: config.clone(),
            tls: pyro5_std::tls::client_config(config).map_err(Arc::new),
        };
        Ok(Self { inner: Arc::new(inner), settings })
    }

    // Settings.

    /// The object's URI (after [`bind`](Self::bind) of a `PYRONAME`/`PYROMETA` proxy, the
    /// `PYRO:` URI it resolved to).
    pub fn uri(&self) -> String {
        self.state().aim.uri.clone()
    }

    /// Speak `serializer` from the next call on (Pyro's `_pyroSerializer`).
    pub fn set_serializer(&mut self, serializer: Serializer) {
        self.settings.serializer = serializer.id();
        self.settings.named_serializer = Some(serializer);
    }

    /// The proxy a serialized one describes (Python's `Proxy.__setstate__`), as
    /// [`pyro5_std::Proxy::from_state`] makes it: URI, handshake, serializer and the metadata
    /// it carries from the state, the rest from `config`. Deserializing a `Proxy` does this
    /// with [`Config::from_env`].
    ///
    /// # Errors
    /// [`ProxyError::Uri`] for a URI a proxy cannot connect to.
    pub fn from_state(received: ProxyState, config: &Config) -> Result<Self, ProxyError> {
        let mut proxy = Self::with_config(&received.uri, config)?;
        proxy.state().metadata = received.known_metadata().map(Arc::new);
        proxy.settings.handshake = received.handshake;
        if let Some(serializer) = received.serializer {
            proxy.set_serializer(serializer);
        }
        Ok(proxy)
    }

    /// What the proxy is when serialized (Python's `Proxy.__getstate__`): the URI, the
    /// metadata known (with the methods made oneway by [`set_oneway`](Self::set_oneway)), the
    /// handshake and the serializer named for it.
    pub fn to_state(&self) -> ProxyState {
        let (uri, metadata) = {
            let state = self.state();
            (state.aim.uri.clone(), state.metadata.clone())
        };
        let (mut oneway, methods, attrs) = match metadata.as_deref() {
            Some(m) => (m.oneway.clone(), m.methods.clone(), m.attrs.clone()),
            None => Default::default(),
        };
        oneway.extend(self.settings.extra_oneway.iter().cloned());
        let handshake = self.settings.handshake.clone();
        ProxyState { uri, oneway, methods, attrs, handshake, serializer: self.settings.named_serializer }
    }

    /// Give up a connection attempt or a call after `timeout` (Pyro's `_pyroTimeout`;
    /// `COMMTIMEOUT` by default). As in Pyro, a call that times out closes the connection
    /// (calls of other tasks waiting on it fail with [`ProxyError::ConnectionClosed`], or are
    /// retried); see [`set_keep_connection_on_timeout`](Self::set_keep_connection_on_timeout).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.settings.timeout = timeout;
    }

    /// Keep the connection when a call times out: its reply is dropped when it comes and the
    /// other calls carry on. Off by default, as in Pyro.
    pub fn set_keep_connection_on_timeout(&mut self, keep: bool) {
        self.settings.keep_on_timeout = keep;
    }

    /// Retry a call this many times when the connection was closed or the reply timed out
    /// (Pyro's `_pyroMaxRetries`), on a new connection. A call that did reach the object may
    /// run more than once, as in Pyro.
    pub fn set_max_retries(&mut self, retries: u32) {
        self.settings.max_retries = retries;
    }

    /// The handshake data sent on connect (Pyro's `_pyroHandshake`; default `"hello"`).
    pub fn set_handshake(&mut self, data: Value) {
        self.settings.handshake = data;
    }

    /// The daemon's answer to the last handshake, once connected.
    pub fn handshake_response(&self) -> Option<Value> {
        self.state().handshake_response.clone()
    }

    /// Send this correlation id with every message (Pyro's `current_context.correlation_id`).
    pub fn set_correlation_id(&mut self, id: Option<[u8; 16]>) {
        self.settings.correlation_id = id.map(CorrelationId);
    }

    /// Send these annotations with every message (Pyro's `current_context.annotations`).
    pub fn set_annotations(&mut self, annotations: Vec<(AnnotationId, Vec<u8>)>) {
        self.settings.annotations = annotations;
    }

    /// The annotations that came with the last reply to a call (with several tasks calling,
    /// the last of any of them).
    pub fn response_annotations(&self) -> Vec<(AnnotationId, Vec<u8>)> {
        self.state().response_annotations.clone()
    }

    /// Compress payloads over 100 bytes (Pyro's `COMPRESSION`).
    pub fn set_compression(&mut self, on: bool) {
        self.settings.compress = on;
    }

    /// Call `method` oneway even if the object's metadata does not say so (Pyro's
    /// `proxy._pyroOneway.add(method)`).
    pub fn set_oneway(&mut self, method: &str) {
        self.settings.extra_oneway.insert(method.to_string());
    }

    /// The largest message sent or accepted (Pyro's `MAX_MESSAGE_SIZE`), from the next
    /// connection on.
    pub fn set_max_message_size(&mut self, max: u32) {
        self.settings.limits.max_message_size = max;
    }

    // The connection.

    /// Connect now (if not connected) and return the object's metadata (Pyro's
    /// `_pyroBind`). A `PYRONAME`/`PYROMETA` proxy keeps the `PYRO:` URI it resolved to.
    ///
    /// # Errors
    /// Connection errors, [`ProxyError::Rejected`], [`ProxyError::NothingExposed`], name
    /// resolution errors.
    pub async fn bind(&self) -> Result<ProxyMetadata, ProxyError> {
        let link = self.link().await?;
        let mut state = self.state();
        if let Some((_, Some(resolved))) = state.aim.name.take() {
            state.aim.uri = resolved;
        }
        Ok((*link.metadata).clone())
    }

    /// The metadata: from the last handshake, or (before the first) what the state the proxy
    /// was received with carried ([`from_state`](Self::from_state)).
    pub fn metadata(&self) -> Option<ProxyMetadata> {
        self.state().metadata.as_deref().cloned()
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.state().link.as_ref().is_some_and(|l| !l.is_closed())
    }

    /// The daemon's TLS certificate (DER) on the last connection made (`SSL`), to check it
    /// further than the trust the TLS settings give.
    pub fn peer_certificate(&self) -> Option<Arc<[u8]>> {
        self.state().peer_certificate.clone()
    }

    /// How many calls wait for their replies on the open connection (given-up calls whose
    /// replies have not come yet included).
    pub fn in_flight(&self) -> usize {
        self.state().link.as_ref().map_or(0, |l| l.in_flight())
    }

    /// Close the connection (Pyro's `_pyroRelease`); the next call connects again. Calls
    /// waiting on it fail with [`ProxyError::ConnectionClosed`].
    pub fn release(&self) {
        let link = self.state().link.clone();
        if let Some(link) = link {
            link.close(ClientError::ConnectionClosed);
        }
    }

    /// Close and connect again, trying up to `tries` times two seconds apart (Pyro's
    /// `_pyroReconnect`).
    ///
    /// # Errors
    /// The last connection error.
    pub async fn reconnect(&self, tries: u32) -> Result<(), ProxyError> {
        self.release();
        let mut last = ProxyError::ConnectionClosed;
        for attempt in 0..tries.max(1) {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            match self.link().await {
                Ok(_) => return Ok(()),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    // Calls.

    /// Call `method` with positional `args` (a tuple: `()` for none, `(x,)` for one) and
    /// read the result as `R`. A method that returns an iterator has its items collected
    /// into a list (Python's `list(...)`); a oneway method gives `None`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] when the method raised, [`ProxyError::NotExposed`],
    /// [`ProxyError::Timeout`], connection and protocol errors, [`ProxyError::Decode`] when
    /// the result does not fit `R`.
    pub async fn call<R: DeserializeOwned, A: Serialize>(&self, method: &str, args: A) -> Result<R, ProxyError> {
        self.call_kw(method, args, None::<&()>).await
    }

    /// [`call`](Self::call) with keyword arguments (a map or struct).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn call_kw<R: DeserializeOwned, A: Serialize, K: Serialize + ?Sized>(
        &self,
        method: &str,
        args: A,
        kwargs: Option<&K>,
    ) -> Result<R, ProxyError> {
        let outcome = self.invoke(Kind::Method(method), Body::Args(&ArgsOf(&args), kwargs), &decode_as::<R>).await?;
        self.finish(outcome).await
    }

    /// Call `method` with a serialized blob received by an `#[expose]` method as its only
    /// argument, passed on as it came (Pyro's dispatcher calling `listener.method(blob)`):
    /// the payload is not decoded nor written again, and goes in the blob's own serializer.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn call_blob<R: DeserializeOwned>(
        &self,
        method: &str,
        blob: &SerializedBlob<'_>,
    ) -> Result<R, ProxyError> {
        let body: Body<'_, (), ()> = Body::Blob(blob);
        let outcome = self.invoke(Kind::Method(method), body, &decode_as::<R>).await?;
        self.finish(outcome).await
    }

    /// Call `method` with a new serialized blob of `info` (marshal-serializable, e.g. a
    /// topic name) and `data` as its only argument: Python's
    /// `proxy.method(SerializedBlob(info, data))`.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn call_new_blob<R: DeserializeOwned, I: Serialize + Sync + ?Sized, D: Serialize + Sync + ?Sized>(
        &self,
        method: &str,
        info: &I,
        data: &D,
    ) -> Result<R, ProxyError> {
        let outcome = self.invoke(Kind::Method(method), Body::NewBlob(info, data), &decode_as::<R>).await?;
        self.finish(outcome).await
    }

    /// Call with dynamic values and get a dynamic value back.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn call_value(
        &self,
        method: &str,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Result<Value, ProxyError> {
        let kwargs = KwargsOf(kwargs);
        let outcome =
            self.invoke(Kind::Method(method), Body::Args(&TupleOf(args), Some(&kwargs)), &decode_as::<Value>).await?;
        self.finish(outcome).await
    }

    /// Read property `name` (Pyro's `proxy.name`).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn get_attr<R: DeserializeOwned>(&self, name: &str) -> Result<R, ProxyError> {
        let outcome = self.invoke(Kind::GetAttr(name), Body::Args(&(name,), None::<&()>), &decode_as::<R>).await?;
        self.finish(outcome).await
    }

    /// Write property `name` (Pyro's `proxy.name = value`).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn set_attr<V: Serialize>(&self, name: &str, value: V) -> Result<(), ProxyError> {
        self.invoke(Kind::SetAttr(name), Body::Args(&(name, value), None::<&()>), &decode_as::<serde::de::IgnoredAny>)
            .await
            .map(drop)
    }

    /// Ping the daemon (a PING message, not a method call).
    ///
    /// # Errors
    /// Connection errors, [`ProxyError::Timeout`].
    pub async fn ping(&self) -> Result<(), ProxyError> {
        let link = self.link().await?;
        let deadline = self.deadline();
        let rx = {
            let annotations = annotations_of(&self.settings.annotations);
            let extras = self.extras(&annotations);
            let mut state = link.lock();
            if state.is_closed() {
                return Err(ProxyError::ConnectionClosed);
            }
            state.conn.ping(&extras)?;
            state.register_pong()
        };
        link.queued();
        let answer = match deadline {
            Some(d) => tokio::time::timeout_at(d.into(), rx).await.map_err(|_| ProxyError::Timeout),
            None => Ok(rx.await),
        };
        match answer {
            Ok(Ok(Ok(_))) => Ok(()),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) => Err(ProxyError::ConnectionClosed),
            Err(e) => {
                self.timed_out(&link);
                Err(e)
            }
        }
    }

    /// Start a batch: calls collected and sent in one message (Pyro's `BatchProxy`).
    pub fn batch(&self) -> Batch {
        Batch::new(self.clone())
    }

    /// Call a method that returns an iterator (a generator in Python): its items as a
    /// [`Stream`](futures_core::Stream), prefetched ([`DEFAULT_PREFETCH`] requests waiting
    /// at once; [`RemoteStream::prefetch`] changes it). Dropping the stream early closes it
    /// on the daemon.
    ///
    /// # Errors
    /// As [`call`](Self::call); [`ProxyError::NotAnIterator`] if the method returned a value.
    pub async fn call_iter<A: Serialize>(&self, method: &str, args: A) -> Result<RemoteStream, ProxyError> {
        self.call_iter_kw(method, args, None::<&()>).await
    }

    /// [`call_iter`](Self::call_iter) with keyword arguments (a map or struct).
    ///
    /// # Errors
    /// As [`call_iter`](Self::call_iter).
    pub async fn call_iter_kw<A: Serialize, K: Serialize + ?Sized>(
        &self,
        method: &str,
        args: A,
        kwargs: Option<&K>,
    ) -> Result<RemoteStream, ProxyError> {
        let outcome = self
            .invoke(Kind::Method(method), Body::Args(&ArgsOf(&args), kwargs), &decode_as::<serde::de::IgnoredAny>)
            .await?;
        match outcome {
            Outcome::Stream(id, link) => Ok(RemoteStream::new(self.clone(), link, id)),
            Outcome::Value(_) | Outcome::Nothing => Err(ProxyError::NotAnIterator { method: method.to_string() }),
        }
    }

    /// [`call_iter`](Self::call_iter) with dynamic values, as [`call_value`](Self::call_value).
    ///
    /// # Errors
    /// As [`call_iter`](Self::call_iter).
    pub async fn call_iter_value(
        &self,
        method: &str,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Result<RemoteStream, ProxyError> {
        self.call_iter_kw(method, TupleOf(args), Some(&KwargsOf(kwargs))).await
    }

    /// Call `method` as [`call_value`](Self::call_value) does, and give its reply as the
    /// daemon sent it: the payload of the value or of the exception, not decoded (Pyro's
    /// `_pyroRawWireResponse`). A oneway call gives [`RawReply::Oneway`].
    ///
    /// # Errors
    /// [`ProxyError::NotExposed`], [`ProxyError::Timeout`], connection and protocol errors
    /// (an exception the method raised is a [`RawReply::Exception`]).
    pub async fn call_raw(
        &self,
        method: &str,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Result<RawReply, ProxyError> {
        let kwargs = KwargsOf(kwargs);
        let outcome = self.invoke(Kind::Method(method), Body::Args(&TupleOf(args), Some(&kwargs)), &Raw).await?;
        Ok(self.raw(outcome))
    }

    /// Read property `name` and give the reply as the daemon sent it, as
    /// [`call_raw`](Self::call_raw) does.
    ///
    /// # Errors
    /// As [`call_raw`](Self::call_raw).
    pub async fn get_attr_raw(&self, name: &str) -> Result<RawReply, ProxyError> {
        let outcome = self.invoke(Kind::GetAttr(name), Body::Args(&(name,), None::<&()>), &Raw).await?;
        Ok(self.raw(outcome))
    }

    // Inside.

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn deadline(&self) -> Option<Instant> {
        self.settings.timeout.map(|t| Instant::now() + t)
    }

    fn deadline_ms(&self, deadline: Option<Instant>) -> Option<u64> {
        deadline.map(|d| millis(self.inner.epoch, d))
    }

    fn extras<'a>(&self, annotations: &'a [Annotation<'a>]) -> Extras<'a> {
        Extras { correlation_id: self.settings.correlation_id, annotations, compress: self.settings.compress }
    }

    /// The value of a finished call: a stream is collected, a oneway call gives `None`.
    async fn finish<R: DeserializeOwned>(&self, outcome: Outcome<R>) -> Result<R, ProxyError> {
        match outcome {
            Outcome::Value(v) => Ok(v),
            Outcome::Nothing => from_value(Value::None).map_err(ProxyError::Result),
            Outcome::Stream(id, link) => {
                let items = RemoteStream::new(self.clone(), link, id).collect_all().await?;
                from_value(Value::List(items)).map_err(ProxyError::Result)
            }
        }
    }

    /// The reply of a raw call.
    fn raw(&self, outcome: Outcome<RawReply>) -> RawReply {
        match outcome {
            Outcome::Value(reply) => reply,
            Outcome::Stream(id, link) => RawReply::Stream(Box::new(RemoteStream::new(self.clone(), link, id))),
            Outcome::Nothing => RawReply::Oneway,
        }
    }

    /// A call on `link` timed out: close it, unless asked not to.
    fn timed_out(&self, link: &Link) {
        if !self.settings.keep_on_timeout {
            link.close(ClientError::Timeout);
        }
    }

    /// Send a call and wait for its outcome, retrying as
    /// [`set_max_retries`](Self::set_max_retries) says.
    async fn invoke<A: Serialize + ?Sized, K: Serialize + ?Sized, T>(
        &self,
        kind: Kind<'_>,
        body: Body<'_, A, K>,
        decode: &(dyn Take<T> + Sync),
    ) -> Result<Outcome<T>, ProxyError> {
        let mut attempt = 0;
        // As Python's proxy: a connection the daemon closed while no call waited (idle
        // timeout, restart) fails the next call, which a retry (`MAX_RETRIES`) or the call
        // after makes anew.
        let mut unreported = self.state().link.clone().is_some_and(|l| l.is_closed() && l.take_unreported());
        loop {
            let deadline = self.deadline();
            let linked =
                if std::mem::take(&mut unreported) { Err(ProxyError::ConnectionClosed) } else { self.link().await };
            let (result, used) = match linked {
                Ok(link) => (self.invoke_on(&link, kind, body, decode, deadline).await, Some(link)),
                Err(e) => (Err(e), None),
            };
            match result {
                // As Pyro's `_RemoteMethod`: only these two are worth another try, on a new
                // connection.
                Err(ProxyError::ConnectionClosed | ProxyError::Timeout) if attempt < self.settings.max_retries => {
                    attempt += 1;
                    if let Some(link) = used {
                        link.close(ClientError::ConnectionClosed);
                    }
                }
                other => return other,
            }
        }
    }

    /// One try of a call on `link`.
    async fn invoke_on<A: Serialize + ?Sized, K: Serialize + ?Sized, T>(
        &self,
        link: &Arc<Link>,
        kind: Kind<'_>,
        body: Body<'_, A, K>,
        decode: &(dyn Take<T> + Sync),
        deadline: Option<Instant>,
    ) -> Result<Outcome<T>, ProxyError> {
        let meta = &link.metadata;
        let object = &*link.object;
        let spec = kind.spec(meta, object, &self.uri(), &self.settings.extra_oneway)?;
        let deadline_ms = self.deadline_ms(deadline);
        let annotations = annotations_of(&self.settings.annotations);
        let extras = self.extras(&annotations);
        let queued = link
            .with_room(deadline, |state| {
                state.conn.set_serializer(self.settings.serializer);
                let sent = body.queue(&mut state.conn, &spec, &extras, deadline_ms)?;
                Ok(if sent.expects_reply { Err((sent.seq, state.register(sent.seq))) } else { Ok(state.queued_end()) })
            })
            .await;
        let (seq, rx) = match queued {
            Ok(Err(waiting)) => waiting,
            Ok(Ok(end)) => {
                // Oneway: done once it is on the wire.
                self.state().response_annotations.clear();
                return match link.written_up_to(end, deadline).await {
                    Ok(()) => Ok(Outcome::Nothing),
                    Err(ProxyError::Timeout) => {
                        self.timed_out(link);
                        Err(ProxyError::Timeout)
                    }
                    Err(e) => Err(e),
                };
            }
            Err(ProxyError::Timeout) => {
                self.timed_out(link);
                return Err(ProxyError::Timeout);
            }
            Err(e) => return Err(e),
        };
        let answer = Pending::new(link.clone(), seq, rx).wait(deadline).await;
        let bytes = match answer {
            Ok(bytes) => bytes,
            Err(ProxyError::Timeout) => {
                self.timed_out(link);
                return Err(ProxyError::Timeout);
            }
            Err(e) => return Err(e),
        };
        let (outcome, annotations) = read_reply(&bytes, self.settings.limits, |reply| match reply {
            Reply::Value(body) | Reply::Batch(body) => decode.value(body).map(Outcome::Value).map_err(decode_error),
            Reply::Exception(body) => decode.exception(body).map(Outcome::Value),
            Reply::Stream { id, .. } => Ok(Outcome::Stream(id, link.clone())),
            Reply::Pong | Reply::Late { .. } => Ok(Outcome::Nothing),
        })?;
        self.state().response_annotations = annotations;
        outcome
    }

    /// The open connection, made now if there is none.
    async fn link(&self) -> Result<Arc<Link>, ProxyError> {
        if let Some(link) = self.open_link() {
            return Ok(link);
        }

        let _connecting = self.inner.connecting.lock().await;
        if let Some(link) = self.open_link() {
            return Ok(link);
        }
        self.connect().await
    }

    fn open_link(&self) -> Option<Arc<Link>> {
        self.state().link.clone().filter(|l| !l.is_closed())
    }

    /// Make a connection: resolve a name, connect the socket, do the handshake, start the
    /// connection's tasks.
    async fn connect(&self) -> Result<Arc<Link>, ProxyError> {
        // A new connection continues the sequence numbers of the last (as Pyro's proxy).
        let seq = self.state().link.take().map_or(0, |l| {
            l.close(ClientError::ConnectionClosed);
            l.lock().conn.seq()
        });
        self.resolve_name().await?;
        let aim = self.state().aim.clone();
        let (target, object, uri, location) = (&aim.target, aim.object.clone(), aim.uri.clone(), aim.location());
        let deadline = self.deadline();
        let (mut read, mut write, certificate) = self.connect_socket(target, deadline).await.map_err(|error| {
            let error = match error.kind() {
                io::ErrorKind::TimedOut => io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
                _ => error,
            };
            ProxyError::Connect { location: location.clone(), error }
        })?;
        let settings = &self.settings;
        let mut conn = Connection::new(settings.serializer, Vec::new(), Vec::new(), settings.limits);
        conn.set_seq(seq);
        {
            let annotations = annotations_of(&settings.annotations);
            let extras = self.extras(&annotations);
            let now = millis(self.inner.epoch, Instant::now());
            conn.connect(&object, &settings.handshake, &extras, now, self.deadline_ms(deadline))?;
        }
        let logwire = self.inner.config.logwire;
        let answer = handshake(&mut conn, &mut read, &mut write, deadline, self.inner.epoch, logwire).await;
        let (metadata, handshake_response, response_annotations) = match answer {
            Ok(found) => found,
            Err(ClientError::Rejected(reason)) => {
                return Err(ProxyError::Rejected { location, reason: reason.as_str().to_string() });
            }
            Err(ClientError::NothingExposed) => return Err(ProxyError::NothingExposed(uri)),
            Err(e) => return Err(closed_error(e)),
        };
        let metadata = Arc::new(metadata);
        let link =
            Link::start(conn, read, write, metadata.clone(), object, self.inner.epoch, self.inner.config.logwire);
        let mut state = self.state();
        state.metadata = Some(metadata);
        state.handshake_response = handshake_response;
        state.peer_certificate = certificate;
        state.response_annotations = response_annotations;
        state.link = Some(link.clone());
        Ok(link)
    }

    /// Resolve a `PYRONAME`/`PYROMETA` URI through the name server and aim at what it
    /// names ([`crate::naming`]'s async lookup, with this clone's timeout).
    async fn resolve_name(&self) -> Result<(), ProxyError> {
        let Some(name) = self.state().aim.name.as_ref().map(|(name, _)| name.clone()) else { return Ok(()) };
        let mut config = self.inner.config.clone();
        config.commtimeout = self.settings.timeout.map_or(0.0, |t| t.as_secs_f64());
        // Boxed: resolving makes a proxy for the name server, whose connect comes here.
        let text = Box::pin(crate::naming::resolve_with(&config, &name)).await?;
        self.state().aim.resolved(&text)
    }

    /// Connect the socket (within `deadline`): its read and write halves, and the daemon's
    /// TLS certificate.
    async fn connect_socket(&self, target: &Target, deadline: Option<Instant>) -> io::Result<Connected> {
        let connecting = async {
            match target {
                Target::Tcp { host, port } => {
                    let wanted = |addr: &std::net::SocketAddr| match self.inner.config.prefer_ip_version {
                        4 => addr.is_ipv4(),
                        6 => addr.is_ipv6(),
                        _ => true,
                    };
                    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}"));
                    let tls = self
                        .inner
                        .tls
                        .as_ref()
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
                    for addr in tokio::net::lookup_host((host.as_str(), *port)).await?.filter(wanted) {
                        match tokio::net::TcpStream::connect(addr).await {
                            Ok(stream) => {
                                // Calls of several tasks are pipelined: each request goes at
                                // once (no Nagle).
                                stream.set_nodelay(true)?;
                                if let Some(tls) = tls {
                                    // The daemon's certificate is checked for the URI's host.
                                    let name = pyro5_std::tls::server_name(host)?;
                                    let stream = tokio_rustls::TlsConnector::from(tls.clone())
                                        .connect(name, stream)
                                        .await
                                        .map_err(|e| io::Error::new(e.kind(), format!("TLS handshake failed: {e}")))?;
                                    let certificate = stream.get_ref().1.peer_certificates().and_then(|c| c.first());
                                    let certificate = certificate.map(|c| Arc::from(c.as_ref()));
                                    let (read, write) = tokio::io::split(stream);
                                    return Ok((Box::new(read) as ReadHalf, Box::new(write) as WriteHalf, certificate));
                                }
                                let (read, write) = stream.into_split();
                                return Ok((Box::new(read) as ReadHalf, Box::new(write) as WriteHalf, None));
                            }
                            Err(e) => last = e,
                        }
                    }
                    Err(last)
                }
                #[cfg(unix)]
                Target::Unix(path) => {
                    let (read, write) = tokio::net::UnixStream::connect(path).await?.into_split();
                    Ok((Box::new(read) as ReadHalf, Box::new(write) as WriteHalf, None))
                }
                #[cfg(not(unix))]
                Target::Unix(_) => Err(io::Error::new(io::ErrorKind::Unsupported, "no Unix sockets here")),
                Target::Name => Err(io::Error::new(io::ErrorKind::NotConnected, "the name is not resolved")),
            }
        };
        match deadline {
            Some(d) => tokio::time::timeout_at(d.into(), connecting)
                .await
                .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))),
            None => connecting.await,
        }
    }
}

type Handshake = (ProxyMetadata, Option<Value>, pyro5_std::calling::Annotations);

/// A connected socket's halves and the daemon's TLS certificate.
type Connected = (ReadHalf, WriteHalf, Option<Arc<[u8]>>);

/// Send the queued CONNECT and read the answer: the object's metadata, the daemon's
/// handshake answer and the annotations that came with it.
async fn handshake(
    conn: &mut Connection,
    read: &mut ReadHalf,
    write: &mut WriteHalf,
    deadline: Option<Instant>,
    epoch: Instant,
    logwire: bool,
) -> Result<Handshake, ClientError> {
    let request = conn.tx_pending().to_vec();
    if logwire {
        pyro5_std::config::log_wire("proxy wiredata sending", &request);
    }
    write.write_all(&request).await.map_err(|_| ClientError::ConnectionClosed)?;
    conn.tx_advance(request.len());
    let mut buf = vec![0u8; 4096];
    loop {
        let reading = read.read(&mut buf);
        let n = match deadline {
            Some(d) => match tokio::time::timeout_at(d.into(), reading).await {
                Ok(read) => read.unwrap_or(0),
                Err(_) => {
                    conn.handle_timeout(u64::MAX);
                    return Err(conn.failure().cloned().unwrap_or(ClientError::Timeout));
                }
            },
            None => reading.await.unwrap_or(0),
        };
        let now = millis(epoch, Instant::now());
        if n == 0 {
            conn.commit(0, now);
        }
        let mut rest = buf.get(..n).unwrap_or_default();
        loop {
            let fed = conn.feed(rest, now);
            rest = rest.get(fed..).unwrap_or_default();
            while let Some(event) = conn.poll_event() {
                if logwire && let Some(message) = conn.message() {
                    pyro5_std::config::log_wire("proxy wiredata received", message.as_bytes());
                }
                match event {
                    ClientEvent::Connected => {
                        let message = conn.message().ok_or(ClientError::NotExpected)?;
                        let annotations = collect_annotations(&message);
                        let answer = conn.connected().ok_or(ClientError::NotExpected)?;
                        let metadata = ProxyMetadata::read(&answer)?;
                        return Ok((metadata, answer.handshake::<Value>().ok(), annotations));
                    }
                    ClientEvent::Closed(e) => return Err(e),
                    _ => {}
                }
            }
            if rest.is_empty() || fed == 0 {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_config_takes_the_proxy_items() {
        let mut config = Config::default();
        for (item, value) in
            [("SERIALIZER", "msgpack"), ("COMMTIMEOUT", "1.5"), ("MAX_RETRIES", "3"), ("MAX_MESSAGE_SIZE", "4096")]
        {
            config.set(item, value).expect("a valid item");
        }
        let proxy = Proxy::with_config("PYRO:x@localhost:1", &config).expect("a valid URI");
        let s = &proxy.settings;
        assert_eq!(
            (s.serializer, s.timeout, s.max_retries, s.limits.max_message_size),
            (SerializerId::Msgpack, Some(Duration::from_millis(1500)), 3, 4096)
        );
        assert!(matches!(Proxy::with_config("PYRO:x", &config), Err(ProxyError::Uri(_))));
        assert!(matches!(Proxy::with_config("PYRO:x@localhost:70000", &config), Err(ProxyError::Uri(_))));
    }

    fn assert_send_sync<T: Send + Sync + Clone>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn a_proxy_is_shared_by_tasks_and_its_streams_move_between_them() {
        assert_send_sync::<Proxy>();
        assert_send::<RemoteStream>();
        assert_send::<Batch>();
    }
}
