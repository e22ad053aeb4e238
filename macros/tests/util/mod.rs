//! A daemon in memory for the tests: objects in an `ObjectTable`, a `ServerConnection` fed
//! with messages as a Python proxy writes them (`wire::encode` of a `CallEnvelope`), replies
//! decoded into `Value`s. No sockets, no clock.
#![allow(dead_code)] // each test file uses its own part

use core::cell::RefCell;

use pyro5_core::limits::Limits;
use pyro5_core::ser::envelope::CallEnvelope;
use pyro5_core::ser::value::Value;
use pyro5_core::ser::{json, marshal, msgpack, serpent, to_output};
use pyro5_core::server::{
    CloseReason, ConnectionId, ObjectTable, PyroObject, Server, ServerConfig, ServerConnection, Streams,
};
use pyro5_core::wire::{
    Annotation, AnnotationId, CorrelationId, Decoder, Flags, Header, MessageKind, OutgoingMessage, Progress,
    SerializerId, encode,
};

/// The four formats, for tests that run in each.
pub const FORMATS: [SerializerId; 4] =
    [SerializerId::Serpent, SerializerId::Json, SerializerId::Marshal, SerializerId::Msgpack];

/// One connection to a daemon serving the objects registered.
pub struct Daemon<'o> {
    objects: ObjectTable<'o, 4>,
    streams: RefCell<Streams<4>>,
    config: ServerConfig<'static>,
    /// Receive and transmit storage sized up front: serving allocates nothing.
    connection: ServerConnection<Vec<u8>, Vec<u8>>,
    format: SerializerId,
    seq: u16,
}

/// What the connection did with a message.
#[derive(Debug)]
pub enum Answer {
    /// It answered ([`Daemon::sent`]), and closes afterwards when `closes`.
    Reply {
        /// The connection ends once the reply is out.
        closes: bool,
    },
    /// It answered nothing (a oneway call).
    Nothing,
    /// It closed without an answer.
    Closed(CloseReason),
}

/// A call to make: method, arguments, and what goes into the message header.
pub struct Call<'c> {
    /// The object id.
    pub object: &'c str,
    /// The method name.
    pub method: &'c str,
    /// The positional arguments, already a tuple.
    pub args: Value,
    /// The keyword arguments, or `None` (as Pyro sends for attribute access).
    pub kwargs: Option<Value>,
    /// Message flags (ONEWAY...).
    pub flags: Flags,
    /// A correlation id to send.
    pub correlation_id: Option<CorrelationId>,
    /// Annotations to send.
    pub annotations: &'c [Annotation<'c>],
}

impl<'c> Call<'c> {
    /// `object.method(*args)` with an empty kwargs dict, as a proxy sends a method call.
    pub fn new(object: &'c str, method: &'c str, args: Vec<Value>) -> Self {
        Self {
            object,
            method,
            args: Value::Tuple(args),
            kwargs: Some(Value::Dict(Vec::new())),
            flags: Flags::empty(),
            correlation_id: None,
            annotations: &[],
        }
    }

    /// With keyword arguments.
    pub fn kwargs(mut self, kwargs: &[(&str, Value)]) -> Self {
        self.kwargs = Some(Value::Dict(kwargs.iter().map(|(k, v)| (Value::from(*k), v.clone())).collect()));
        self
    }

    /// With kwargs `None`.
    pub fn no_kwargs(mut self) -> Self {
        self.kwargs = None;
        self
    }
}

impl<'o> Daemon<'o> {
    /// A daemon speaking `format`, with `object` registered as `id`, connected to it.
    pub fn new(format: SerializerId, id: &'o str, object: &'o RefCell<dyn PyroObject + 'o>) -> Self {
        let mut objects = ObjectTable::new();
        objects.register(id, object).expect("register");
        let mut daemon = Self {
            objects,
            streams: RefCell::new(Streams::new()),
            config: ServerConfig::default(),
            connection: ServerConnection::new(
                ConnectionId(1),
                None,
                vec![0u8; 1 << 16],
                vec![0u8; 1 << 16],
                &ServerConfig::default(),
                0,
                [9; 32],
            ),
            format,
            seq: 0,
        };
        daemon.connect(id);
        daemon
    }

    /// The format of every message.
    pub fn format(&self) -> SerializerId {
        self.format
    }

    /// The CONNECT a proxy sends first; asserts it is accepted.
    fn connect(&mut self, id: &str) {
        let payload = self.serialize(&Value::Dict(vec![
            (Value::from("handshake"), Value::from("hello")),
            (Value::from("object"), Value::from(id)),
        ]));
        let msg = OutgoingMessage::new(MessageKind::Connect, self.format, self.next_seq());
        let reply = self.exchange(&wire(&msg, &payload)).expect("a CONNECTOK");
        assert_eq!(reply.header.kind, MessageKind::ConnectOk, "{:?}", reply.value);
    }

    /// `object.method(*args)`.
    pub fn call(&mut self, object: &str, method: &str, args: Vec<Value>) -> Reply {
        self.invoke(Call::new(object, method, args)).expect("a reply")
    }

    /// A call as given; `None` when the daemon sends nothing (oneway).
    pub fn invoke(&mut self, call: Call<'_>) -> Option<Reply> {
        let wire = self.encode(call);
        self.exchange(&wire)
    }

    /// The message a proxy sends for `call`.
    pub fn encode(&mut self, call: Call<'_>) -> Vec<u8> {
        let envelope = CallEnvelope {
            format: self.format,
            object: call.object,
            method: call.method,
            args: &call.args,
            kwargs: call.kwargs.as_ref(),
        };
        let payload = self.serialize(&envelope);
        let msg = OutgoingMessage {
            flags: call.flags,
            correlation_id: call.correlation_id,
            annotations: call.annotations,
            ..OutgoingMessage::new(MessageKind::Invoke, self.format, self.next_seq())
        };
        wire(&msg, &payload)
    }

    /// Hand one message in `wire` to the connection; its reply is then [`sent`](Self::sent).
    /// Allocates nothing.
    pub fn handle(&mut self, wire: &[u8]) -> Answer {
        let out = self.connection.tx_pending().len();
        self.connection.tx_advance(out, 0);
        assert_eq!(self.connection.feed(wire, 0), wire.len(), "the whole message is taken");
        let server = Server::new(&self.objects, &self.streams, &self.config);
        self.connection.serve_ready(&server);
        match (self.connection.tx_pending().is_empty(), self.connection.close_reason()) {
            (false, reason) => Answer::Reply { closes: reason.is_some() },
            (true, None) => Answer::Nothing,
            (true, Some(reason)) => Answer::Closed(reason),
        }
    }

    /// The reply to the last message handled.
    pub fn sent(&self) -> &[u8] {
        self.connection.tx_pending()
    }

    /// `proxy.name` on a proxy with that attribute in its metadata: `__getattr__(name)`.
    pub fn get_attr(&mut self, object: &str, name: &str) -> Reply {
        self.invoke(Call::new(object, "__getattr__", vec![Value::from(name)]).no_kwargs()).expect("a reply")
    }

    /// `proxy.name = value`: `__setattr__(name, value)`.
    pub fn set_attr(&mut self, object: &str, name: &str, value: Value) -> Reply {
        self.invoke(Call::new(object, "__setattr__", vec![Value::from(name), value]).no_kwargs()).expect("a reply")
    }

    /// `Pyro.Daemon.get_metadata(object)`.
    pub fn metadata(&mut self, object: &str) -> Value {
        self.call("Pyro.Daemon", "get_metadata", vec![Value::from(object)]).ok().clone()
    }

    /// `Pyro.Daemon.get_next_stream_item(id)`.
    pub fn next_item(&mut self, stream: &str) -> Reply {
        self.invoke(Call::new("Pyro.Daemon", "get_next_stream_item", vec![Value::from(stream)])).expect("a reply")
    }

    /// Every item of the stream, until StopIteration (at most `max`).
    pub fn drain(&mut self, stream: &str, max: usize) -> Vec<Value> {
        let mut items = Vec::new();
        for _ in 0..max {
            let reply = self.next_item(stream);
            if reply.is_exception() {
                assert_eq!(reply.exception(), ("builtins.StopIteration".to_owned(), None), "the stream's end");
                return items;
            }
            items.push(reply.ok().clone());
        }
        panic!("the stream did not end after {max} items: {items:?}");
    }

    fn serialize<T: serde::Serialize + ?Sized>(&self, value: &T) -> Vec<u8> {
        let mut out = Vec::new();
        to_output(self.format, value, &mut out).expect("serialize");
        out
    }

    fn next_seq(&mut self) -> u16 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Feed one message to the connection; decode what it sends back.
    fn exchange(&mut self, wire: &[u8]) -> Option<Reply> {
        match self.handle(wire) {
            Answer::Reply { .. } => Some(Reply::decode(self.sent())),
            Answer::Nothing => None,
            Answer::Closed(reason) => panic!("the daemon closed the connection: {reason}"),
        }
    }
}

/// A whole message.
fn wire(msg: &OutgoingMessage<'_>, payload: &[u8]) -> Vec<u8> {
    let mut wire = vec![0u8; payload.len() + 1024];
    let len = encode(msg, payload, &mut wire, Limits::default()).expect("encode");
    wire.truncate(len);
    wire
}

/// A message the daemon sent, decoded.
#[derive(Debug)]
pub struct Reply {
    /// Its header.
    pub header: Header,
    /// Its annotations, in order.
    pub annotations: Vec<(String, Vec<u8>)>,
    /// Its payload.
    pub value: Value,
}

impl Reply {
    /// Decode a whole message.
    pub fn decode(bytes: &[u8]) -> Self {
        let mut rx = vec![0u8; bytes.len().max(64)];
        let mut decoder = Decoder::new(&mut rx[..], Limits::default());
        assert!(matches!(decoder.feed(bytes).expect("decode reply"), Progress::Complete { .. }));
        let message = decoder.message().expect("a reply message");
        let header = *message.header();
        let annotations = message.annotations().map(|(id, v)| (id.as_str().to_owned(), v.to_vec())).collect();
        let payload = message.payload().expect("payload");
        let value = decode(header.serializer, payload);
        Self { header, annotations, value }
    }

    /// Whether the EXCEPTION flag is set.
    pub fn is_exception(&self) -> bool {
        self.header.flags.contains(Flags::EXCEPTION)
    }

    /// The returned value; panics on an exception.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert!(!self.is_exception(), "an exception: {:?}", self.exception());
        assert_eq!(self.header.kind, MessageKind::Result);
        &self.value
    }

    /// The exception's class and message (`None` for an exception without arguments).
    #[track_caller]
    pub fn exception(&self) -> (String, Option<String>) {
        assert!(self.is_exception(), "not an exception: {:?}", self.value);
        let class = self.value.get("__class__").and_then(Value::as_str).expect("__class__").to_owned();
        let args = match self.value.get("args") {
            Some(Value::Tuple(items) | Value::List(items)) => items.clone(),
            other => panic!("exception args: {other:?}"),
        };
        let message = args.first().map(|m| m.as_str().expect("a text message").to_owned());
        (class, message)
    }

    /// `(class, message)` of an exception with a message.
    #[track_caller]
    pub fn raised(&self) -> (String, String) {
        let (class, message) = self.exception();
        (class, message.expect("an exception message"))
    }

    /// The `STRM` annotation of a call that returned a stream.
    #[track_caller]
    pub fn stream_id(&self) -> String {
        assert!(self.header.flags.contains(Flags::ITEM_STREAM_RESULT), "not a stream: {:?}", self.value);
        let (_, id) = self.annotations.iter().find(|(id, _)| id == AnnotationId::STREAM.as_str()).expect("STRM");
        String::from_utf8(id.clone()).expect("a text id")
    }
}

/// A payload in `format` as a `Value`.
pub fn decode(format: SerializerId, payload: &[u8]) -> Value {
    match format {
        SerializerId::Serpent => serpent::from_slice(payload).expect("serpent"),
        SerializerId::Json => json::from_slice(payload).expect("json"),
        SerializerId::Marshal => marshal::from_slice(payload).expect("marshal"),
        SerializerId::Msgpack => msgpack::from_slice(payload).expect("msgpack"),
        SerializerId::Unknown(id) => panic!("serializer {id}"),
    }
}

/// The names in a metadata set (a set, a list or a tuple, per format), sorted.
pub fn names(metadata: &Value, key: &str) -> Vec<String> {
    let items = match metadata.get(key) {
        Some(Value::Set(items) | Value::FrozenSet(items) | Value::List(items) | Value::Tuple(items)) => items,
        other => panic!("metadata {key}: {other:?}"),
    };
    let mut names: Vec<String> = items.iter().map(|v| v.as_str().expect("a name").to_owned()).collect();
    names.sort();
    names
}

/// `Value`s from Rust values: `vals![1, "x", 2.5]`.
#[macro_export]
macro_rules! vals {
    ($($v:expr),* $(,)?) => { vec![$(pyro5_core::ser::value::Value::from($v)),*] };
}
