//! What every proxy built on `pyro5-std`'s types does with a call, whatever moves its bytes:
//! the blocking [`Proxy`](crate::Proxy) and `pyro5-tokio`'s async one share these pieces.
//! Pyro's protocol rules themselves are `pyro5-core`'s ([`pyro5_core::client`]); here is
//! what turns them into this crate's types: where a URI points, which call a name makes,
//! the shapes of arguments, and what a reply means as a [`ProxyError`].

use std::collections::BTreeSet;
use std::sync::Arc;

use pyro5_core::client::{CallSpec, ClientConnection, ClientError, Extras, NO_ARGS, Payload, Reply, Sent};
use pyro5_core::limits::Limits;
use pyro5_core::ser::blob::SerializedBlob;
use pyro5_core::ser::envelope::{CLASS_KEY, PROXY_CLASS, ProxyDict};
use pyro5_core::ser::value::Value;
use pyro5_core::uri::{Location, Protocol, Uri};
use pyro5_core::wire::{Annotation, AnnotationId, Decoder, Message, Progress, RxStorage};
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::proxy::{ProxyError, ProxyMetadata, RemoteError, Serializer};

/// What a call sends besides its name: arguments, or a serialized blob as its only argument
/// (Pyro's `SerializedBlob`, [`pyro5_core::ser::blob`]).
pub enum Body<'a, A: ?Sized, K: ?Sized> {
    /// Positional arguments (a tuple or sequence) and keyword arguments (a map).
    Args(&'a A, Option<&'a K>),
    /// A blob received, passed on as it came.
    Blob(&'a SerializedBlob<'a>),
    /// A new blob: its `info` and its data.
    NewBlob(&'a A, &'a K),
}

impl<A: ?Sized, K: ?Sized> Clone for Body<'_, A, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A: ?Sized, K: ?Sized> Copy for Body<'_, A, K> {}

impl<A: ?Sized + Serialize, K: ?Sized + Serialize> Body<'_, A, K> {
    /// Queue `call` with this body on `conn`.
    ///
    /// # Errors
    /// As [`ClientConnection::call`].
    pub fn queue<R: RxStorage, T: RxStorage>(
        self,
        conn: &mut ClientConnection<R, T>,
        call: &CallSpec<'_>,
        extras: &Extras<'_>,
        deadline_ms: Option<u64>,
    ) -> Result<Sent, ClientError> {
        match self {
            Self::Args(args, kwargs) => conn.call(call, args, kwargs, extras, deadline_ms),
            Self::Blob(blob) => conn.call_blob(call, blob, extras, deadline_ms),
            Self::NewBlob(info, data) => conn.call_new_blob(call, info, data, extras, deadline_ms),
        }
    }
}

/// Annotations as they came with a message: id and value.
pub type Annotations = Vec<(AnnotationId, Vec<u8>)>;

/// Where a proxy connects.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Target {
    /// A TCP host and port.
    Tcp {
        /// The host name or address.
        host: String,
        /// The port.
        port: u16,
    },
    /// A Unix domain socket's path.
    Unix(String),
    /// A `PYRONAME:` or `PYROMETA:` URI, resolved through the name server on each connect.
    Name,
}

/// A proxy's URI, read: where to connect and which object to call.
#[derive(Clone, Debug)]
pub struct Aim {
    /// The URI as Pyro writes it.
    pub uri: String,
    /// The object id.
    pub object: Arc<str>,
    /// Where to connect.
    pub target: Target,
    /// For `PYRONAME`/`PYROMETA`: the URI to resolve, and what it last resolved to.
    pub name: Option<(String, Option<String>)>,
}

impl Aim {
    /// Read `uri` (`PYRO:`, `PYRONAME:` or `PYROMETA:`).
    ///
    /// # Errors
    /// [`ProxyError::Uri`]: it does not parse, has no location, or a port out of range.
    pub fn parse(uri: &str) -> Result<Self, ProxyError> {
        let parsed = Uri::parse(uri).map_err(|e| ProxyError::Uri(e.to_string()))?;
        let port_of = |port: i64| u16::try_from(port).map_err(|_| ProxyError::Uri(format!("{uri}: port out of range")));
        let (target, name) = match (parsed.protocol(), parsed.location()) {
            (Protocol::PyroName | Protocol::PyroMeta, _) => {
                if let Some(port) = parsed.port() {
                    port_of(port)?;
                }
                (Target::Name, Some((uri.to_string(), None)))
            }
            (Protocol::Pyro, Some(Location::Tcp { host, port })) => {
                (Target::Tcp { host: host.to_string(), port: port_of(port)? }, None)
            }
            (Protocol::Pyro, Some(Location::Unix { socket })) => (Target::Unix(socket.to_string()), None),
            (Protocol::Pyro, None) => return Err(ProxyError::Uri(format!("{uri}: no location"))),
        };
        Ok(Self { uri: parsed.to_string(), object: parsed.object().into(), target, name })
    }

    /// Aim at what the name server said (`text`, a `PYRO:` URI) for this `PYRONAME`/`PYROMETA`
    /// proxy.
    ///
    /// # Errors
    /// [`ProxyError::Uri`] when `text` is no `PYRO:` URI with a location.
    pub fn resolved(&mut self, text: &str) -> Result<(), ProxyError> {
        let uri = Uri::parse(text).map_err(|e| ProxyError::Uri(format!("{text}: {e}")))?;
        let target = match uri.location() {
            Some(Location::Tcp { host, port }) if uri.protocol() == Protocol::Pyro => Target::Tcp {
                host: host.to_string(),
                port: u16::try_from(port).map_err(|_| ProxyError::Uri(format!("{text}: port out of range")))?,
            },
            Some(Location::Unix { socket }) if uri.protocol() == Protocol::Pyro => Target::Unix(socket.to_string()),
            _ => return Err(ProxyError::Uri(format!("{text}: the name server gave no PYRO URI with a location"))),
        };
        if let Some((_, resolved)) = &mut self.name {
            *resolved = Some(uri.to_string());
        }
        self.object = uri.object().into();
        self.target = target;
        Ok(())
    }

    /// Where it connects, as error texts show it (`host:port`, `[v6]:port`, `./u:path`).
    pub fn location(&self) -> String {
        match &self.target {
            Target::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Target::Tcp { host, port } => format!("{host}:{port}"),
            Target::Unix(path) => format!("./u:{path}"),
            Target::Name => self.uri.clone(),
        }
    }
}

/// What a request calls.
#[derive(Clone, Copy, Debug)]
pub enum Kind<'a> {
    /// A method.
    Method(&'a str),
    /// Reading a property.
    GetAttr(&'a str),
    /// Writing a property.
    SetAttr(&'a str),
    /// A batch of calls.
    Batch {
        /// Sent oneway.
        oneway: bool,
    },
}

impl<'a> Kind<'a> {
    /// The call it makes of `object` (whose URI is `uri`) by the object's metadata, oneway
    /// also for the methods in `extra_oneway` (Pyro's `_pyroOneway.add`).
    ///
    /// # Errors
    /// [`ProxyError::NotExposed`] for a name the object does not expose.
    pub fn spec(
        self,
        meta: &ProxyMetadata,
        object: &'a str,
        uri: &str,
        extra_oneway: &std::collections::BTreeSet<String>,
    ) -> Result<CallSpec<'a>, ProxyError> {
        match self {
            Kind::Method(name) => meta.method(object, name, extra_oneway.contains(name)),
            Kind::GetAttr(name) => meta.get_attr(object, name),
            Kind::SetAttr(name) => meta.set_attr(object, name),
            Kind::Batch { oneway } => Ok(ProxyMetadata::batch(object, oneway)),
        }
        .map_err(|e| match (e, self) {
            (ClientError::NotExposed, Kind::Method(name) | Kind::GetAttr(name) | Kind::SetAttr(name)) => {
                ProxyError::NotExposed { uri: uri.to_string(), name: name.to_string() }
            }
            (e, _) => ProxyError::Protocol(e),
        })
    }
}

/// The exception a reply carries, as a [`ProxyError::Remote`].
pub fn remote_error(body: Payload<'_>) -> ProxyError {
    match body.decode::<Value>() {
        Ok(value) => ProxyError::Remote(RemoteError::from_value(&value)),
        Err(e) => ProxyError::Protocol(e),
    }
}

/// Read a reply payload as a `T`.
///
/// # Errors
/// When it does not fit `T`.
pub fn decode_as<T: DeserializeOwned>(body: Payload<'_>) -> Result<T, ClientError> {
    body.decode::<T>()
}

/// A payload that did not read: the reply was complete, the connection stays in step.
pub fn decode_error(e: ClientError) -> ProxyError {
    match e {
        ClientError::Payload(e) => ProxyError::Decode(e),
        other => ProxyError::Protocol(other),
    }
}

/// The error a connection ended with, as a proxy reports it.
pub fn closed_error(e: ClientError) -> ProxyError {
    match e {
        ClientError::ConnectionClosed => ProxyError::ConnectionClosed,
        ClientError::Timeout => ProxyError::Timeout,
        ClientError::Receive(e) => ProxyError::Receive(e),
        other => ProxyError::Protocol(other),
    }
}

/// A message's annotations, owned.
pub fn collect_annotations(msg: &Message<'_>) -> Annotations {
    msg.annotations().map(|(id, v)| (id, v.to_vec())).collect()
}

/// Owned annotations as the core sends them.
pub fn annotations_of(list: &[(AnnotationId, Vec<u8>)]) -> Vec<Annotation<'_>> {
    list.iter().map(|(id, v)| Annotation::new(*id, v)).collect()
}

/// Read a reply kept as its message's bytes (read by another thread or task than its
/// caller) with `take`: what `take` gives and the reply's annotations.
///
/// # Errors
/// [`ProxyError::Receive`] for bytes that are no whole message.
pub fn read_kept_reply<T>(
    bytes: &[u8],
    limits: Limits,
    take: impl FnOnce(Reply<'_>) -> T,
) -> Result<(T, Annotations), ProxyError> {
    let mut decoder = Decoder::new(Vec::new(), limits);
    match decoder.feed(bytes) {
        Ok(Progress::Complete { .. }) => {}
        Ok(Progress::NeedMore) => return Err(ProxyError::ConnectionClosed),
        Err(e) => return Err(ProxyError::Receive(e)),
    }
    let message = decoder.message().ok_or(ProxyError::ConnectionClosed)?;
    let reply = Reply::from_message(&message)?;
    Ok((take(reply), collect_annotations(&message)))
}

/// Keyword arguments given as name/value pairs: a dict with str keys.
pub struct KwargsOf<'a>(pub &'a [(String, Value)]);

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
pub struct ArgsOf<'a, A>(pub &'a A);

impl<A: Serialize> Serialize for ArgsOf<'_, A> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if std::mem::size_of::<A>() == 0 && std::any::type_name::<A>() == "()" {
            return NO_ARGS.serialize(s);
        }
        self.0.serialize(s)
    }
}

/// A slice written as a tuple.
pub struct TupleOf<'a>(pub &'a [Value]);

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

/// One call of a batch: method, positional and keyword arguments.
pub type BatchCall = (String, Vec<Value>, Vec<(String, Value)>);

/// A batch's calls as its argument list: `(method, args, kwargs)` triples.
pub struct BatchCalls<'a>(pub &'a [BatchCall]);

impl Serialize for BatchCalls<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (method, args, kwargs) in self.0 {
            seq.serialize_element(&(method, TupleOf(args), KwargsOf(kwargs)))?;
        }
        seq.end()
    }
}

/// Read a proxy that arrived serialized (a callback object, an autoproxied result) and make
/// it with `make` (a proxy type's `from_state`) and this process's `PYRO_*` configuration:
/// the `Deserialize` of both proxies.
///
/// # Errors
/// Not Pyro's proxy dict, a configuration that does not parse, or what `make` refuses.
pub fn deserialize_proxy<'de, D: Deserializer<'de>, P>(
    deserializer: D,
    make: impl FnOnce(ProxyState, &crate::config::Config) -> Result<P, ProxyError>,
) -> Result<P, D::Error> {
    let received = ProxyState::deserialize(deserializer)?;
    let config = crate::config::Config::from_env().map_err(de::Error::custom)?;
    make(received, &config).map_err(de::Error::custom)
}

/// A proxy as Pyro serializes it, in every format: `{"__class__": "Pyro5.client.Proxy",
/// "state": (uri, oneway, methods, attrs, handshake, serializer)}` (Python's
/// `Proxy.__getstate__`; the three name collections are tuples, `serializer` a format name or
/// `None`). Both proxies of this crate and `pyro5-tokio`'s are read from it and written as it,
/// so a proxy passed in a call (a callback object, an autoproxied result) arrives as a proxy.
///
/// As in Python's `__setstate__`, the timeout and the retries are not part of it: the
/// receiving side's configuration gives them.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxyState {
    /// The object's URI.
    pub uri: String,
    /// Methods called oneway.
    pub oneway: BTreeSet<String>,
    /// The exposed methods (empty when not known yet).
    pub methods: BTreeSet<String>,
    /// The exposed properties.
    pub attrs: BTreeSet<String>,
    /// The handshake data sent on connect (`"hello"` by default).
    pub handshake: Value,
    /// The serializer the proxy speaks, or `None` for the receiver's configured one.
    pub serializer: Option<Serializer>,
}

impl ProxyState {
    /// The metadata it carries, when it names any method or property (Python's proxy then
    /// knows them before connecting).
    pub fn known_metadata(&self) -> Option<ProxyMetadata> {
        (!self.methods.is_empty() || !self.attrs.is_empty() || !self.oneway.is_empty()).then(|| ProxyMetadata {
            methods: self.methods.clone(),
            oneway: self.oneway.clone(),
            attrs: self.attrs.clone(),
        })
    }
}

impl Serialize for ProxyState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let uri = Uri::parse(&self.uri).map_err(serde::ser::Error::custom)?;
        fn names(set: &BTreeSet<String>) -> Vec<&str> {
            set.iter().map(String::as_str).collect()
        }
        let (oneway, methods, attrs) = (names(&self.oneway), names(&self.methods), names(&self.attrs));
        ProxyDict {
            uri: &uri,
            oneway: &oneway,
            methods: &methods,
            attrs: &attrs,
            handshake: &self.handshake,
            serializer: self.serializer.map(Serializer::name),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ProxyState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ProxyState;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a serialized proxy: a {PROXY_CLASS} dict")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<ProxyState, M::Error> {
                let (mut class_seen, mut state) = (false, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        CLASS_KEY => {
                            let class = map.next_value::<String>()?;
                            if class != PROXY_CLASS {
                                return Err(de::Error::custom(format_args!("expected a {PROXY_CLASS}, got a {class}")));
                            }
                            class_seen = true;
                        }
                        "state" => state = Some(map.next_value::<StateTuple>()?.0),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                if !class_seen {
                    return Err(de::Error::missing_field(CLASS_KEY));
                }
                state.ok_or_else(|| de::Error::missing_field("state"))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// The state sequence `(uri, oneway, methods, attrs, handshake, serializer)`; more elements
/// are ignored, as Python's `__setstate__` reads the first six.
struct StateTuple(ProxyState);

impl<'de> Deserialize<'de> for StateTuple {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StateTuple;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a proxy state: (uri, oneway, methods, attrs, handshake, serializer)")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<StateTuple, S::Error> {
                let missing = |n| de::Error::invalid_length(n, &"6 elements");
                let uri: String = seq.next_element()?.ok_or_else(|| missing(0))?;
                Uri::parse(&uri).map_err(|e| de::Error::custom(format_args!("proxy URI {uri:?}: {e}")))?;
                let oneway: Vec<String> = seq.next_element()?.ok_or_else(|| missing(1))?;
                let methods: Vec<String> = seq.next_element()?.ok_or_else(|| missing(2))?;
                let attrs: Vec<String> = seq.next_element()?.ok_or_else(|| missing(3))?;
                let handshake: Value = seq.next_element()?.ok_or_else(|| missing(4))?;
                let serializer: Option<String> = seq.next_element()?.ok_or_else(|| missing(5))?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                let serializer =
                    serializer.map(|name| name.parse::<Serializer>()).transpose().map_err(de::Error::custom)?;
                Ok(StateTuple(ProxyState {
                    uri,
                    oneway: oneway.into_iter().collect(),
                    methods: methods.into_iter().collect(),
                    attrs: attrs.into_iter().collect(),
                    handshake,
                    serializer,
                }))
            }
        }
        deserializer.deserialize_seq(V)
    }
}

#[cfg(test)]
mod tests {
    use pyro5_core::ser::call::decode_payload;
    use pyro5_core::ser::{json, marshal, msgpack, serpent};
    use pyro5_core::wire::SerializerId;

    use super::*;

    const FORMATS: [(SerializerId, &str); 4] = [
        (SerializerId::Serpent, "serpent"),
        (SerializerId::Marshal, "marshal"),
        (SerializerId::Json, "json"),
        (SerializerId::Msgpack, "msgpack"),
    ];

    fn recorded(format: &str) -> Vec<u8> {
        let path = format!("{}/../testdata/payloads/{format}/proxy.bin", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn encode(format: SerializerId, value: &impl Serialize) -> Vec<u8> {
        match format {
            SerializerId::Serpent => serpent::to_vec(value).unwrap(),
            SerializerId::Marshal => marshal::to_vec(value).unwrap(),
            SerializerId::Json => json::to_vec(value).unwrap(),
            _ => msgpack::to_vec(value).unwrap(),
        }
    }

    fn plain() -> ProxyState {
        ProxyState {
            uri: "PYRO:obj@localhost:9999".into(),
            oneway: BTreeSet::new(),
            methods: BTreeSet::new(),
            attrs: BTreeSet::new(),
            handshake: Value::Str("hello".into()),
            serializer: None,
        }
    }

    #[test]
    fn python_proxies_read_in_every_format_and_write_back_as_recorded() {
        for (format, name) in FORMATS {
            let bytes = recorded(name);
            let state: ProxyState = decode_payload(format, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(state, plain(), "{name}");
            assert_eq!(state.known_metadata(), None);
            // Read through a dynamic value too (a proxy inside arguments read as `Value`).
            let value: Value = decode_payload(format, &bytes).unwrap();
            assert_eq!(pyro5_core::ser::value::from_value::<ProxyState>(value).unwrap(), plain(), "{name}");
            if format != SerializerId::Marshal {
                // marshal's recording refers back to its empty tuple; ours writes it again.
                assert_eq!(encode(format, &state), bytes, "{name}");
            }
        }
    }

    #[test]
    fn metadata_handshake_and_serializer_go_both_ways() {
        let state = ProxyState {
            oneway: ["tick".to_string()].into(),
            methods: ["tick".to_string(), "done".to_string()].into(),
            attrs: ["level".to_string()].into(),
            handshake: Value::Dict(vec![(Value::Str("token".into()), Value::Int(7))]),
            serializer: Some(Serializer::Msgpack),
            ..plain()
        };
        for (format, name) in FORMATS {
            let back: ProxyState = decode_payload(format, &encode(format, &state)).unwrap();
            assert_eq!(back, state, "{name}");
            let meta = back.known_metadata().unwrap();
            assert_eq!((meta.methods.len(), meta.oneway.len(), meta.attrs.len()), (2, 1, 1));
        }
    }

    #[test]
    fn what_is_no_proxy_is_refused() {
        let cases: [&[u8]; 6] = [
            br#"{"__class__": "Pyro5.core.URI", "state": ["PYRO", "obj", null, "localhost", 9999]}"#,
            br#"{"state": ["PYRO:obj@localhost:9999", [], [], [], "hello", null]}"#,
            br#"{"__class__": "Pyro5.client.Proxy"}"#,
            br#"{"__class__": "Pyro5.client.Proxy", "state": ["PYRO:obj@localhost:9999", [], []]}"#,
            br#"{"__class__": "Pyro5.client.Proxy", "state": ["not a uri", [], [], [], "hello", null]}"#,
            br#"{"__class__": "Pyro5.client.Proxy", "state": ["PYRO:o@h:1", [], [], [], "hello", "pickle"]}"#,
        ];
        for case in cases {
            let read = decode_payload::<ProxyState>(SerializerId::Json, case);
            assert!(read.is_err(), "{}", String::from_utf8_lossy(case));
        }
        // More than six state elements: the first six count, as in Python.
        let longer = br#"{"__class__": "Pyro5.client.Proxy", "state": ["PYRO:obj@localhost:9999", [], [], [], "hello", null, 5.0]}"#;
        assert_eq!(decode_payload::<ProxyState>(SerializerId::Json, longer).unwrap(), plain());
    }
}
