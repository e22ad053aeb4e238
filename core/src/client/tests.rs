//! A proxy and a daemon connection talking in memory: every call kind of
//! `docs/wire-protocol.md`.

extern crate std;

use core::cell::RefCell;
use std::string::{String, ToString};
use std::vec::Vec;

use super::*;
use crate::ser::value::Value;
use crate::server::{
    ConnectionId, Invocation, Metadata, ObjectTable, PyException, PyroObject, Qualname, Replied, Reply as ServerReply,
    Server, ServerConfig, ServerConnection, StreamCursor, Streams,
};
use crate::wire::{Decoder, Progress};

struct Echo {
    last_oneway: Option<String>,
}

impl PyroObject for Echo {
    fn metadata(&self) -> Metadata<'static> {
        Metadata {
            class_name: "Echo",
            methods: &["echo", "fail", "count", "note"],
            oneway: &["note"],
            attrs: &["size"],
        }
    }
    fn invoke(&mut self, inv: &Invocation<'_>, reply: ServerReply<'_, '_>) -> Replied {
        let f = Qualname { class_name: "Echo", method: inv.method };
        match inv.method {
            "echo" => match inv.args.required::<Value>(f, 0, "message") {
                Ok(v) => reply.ok(&v),
                Err(e) => reply.raise(&e),
            },
            "note" => {
                self.last_oneway = inv.args.required::<String>(f, 0, "text").ok();
                reply.ok(&())
            }
            "fail" => reply.raise(&PyException::value_error("no good")),
            _ => reply.stream(0),
        }
    }
    fn get_attr(&mut self, _: &str, _: &Invocation<'_>, reply: ServerReply<'_, '_>) -> Replied {
        reply.ok(&42)
    }
    fn next_item(&mut self, _: &str, cursor: &mut StreamCursor, reply: ServerReply<'_, '_>) -> Replied {
        *cursor += 1;
        if *cursor > 2 { reply.stop() } else { reply.ok(cursor) }
    }
}

type Daemon = ServerConnection<Vec<u8>, Vec<u8>>;

fn daemon(id: u64, config: &ServerConfig<'_>) -> Daemon {
    ServerConnection::new(ConnectionId(id), None, Vec::new(), Vec::new(), config, 0, [3; 32])
}

/// Give the daemon one whole message; what it sent back (if anything) and whether it closes.
fn exchange(connection: &mut Daemon, server: &Server<'_>, frame: &[u8]) -> (Option<Vec<u8>>, bool) {
    assert_eq!(connection.feed(frame, 0), frame.len());
    connection.serve_ready(server);
    let out = connection.tx_pending().to_vec();
    connection.tx_advance(out.len(), 0);
    ((!out.is_empty()).then_some(out), connection.close_reason().is_some())
}

/// Bytes from the client through the daemon and back into the client's decoder.
struct Pair<'s> {
    server: Server<'s>,
    connection: Daemon,
    client: ClientSession,
    tx: Vec<u8>,
    rx: Decoder<Vec<u8>>,
}

impl<'s> Pair<'s> {
    /// A new client session in `format` before a new connection of `server`.
    fn new(server: Server<'s>, config: &ServerConfig<'_>, format: SerializerId) -> Self {
        Pair {
            server,
            connection: daemon(1, config),
            client: ClientSession::new(format),
            tx: Vec::new(),
            rx: Decoder::new(Vec::new(), Limits::default()),
        }
    }

    /// Deliver the client's message; returns whether the daemon answered.
    fn deliver(&mut self, len: usize) -> bool {
        match exchange(&mut self.connection, &self.server, &self.tx[..len]) {
            (Some(reply), false) => {
                assert!(matches!(self.rx.feed(&reply).unwrap(), Progress::Complete { .. }));
                true
            }
            (None, false) => false,
            other => panic!("{other:?}"),
        }
    }

    fn call<A: Serialize>(&mut self, object: &str, method: &str, args: &A, oneway: bool) -> Option<Vec<u8>> {
        let spec = CallSpec { object, method, oneway, batch: false };
        let sent = self
            .client
            .write_call(&spec, args, None::<&()>, &Extras::default(), Limits::default(), &mut self.tx)
            .unwrap();
        self.deliver(sent.len).then(|| self.rx.message().unwrap().as_bytes().to_vec())
    }
}

#[test]
fn every_call_kind_in_every_format() {
    for format in [SerializerId::Serpent, SerializerId::Json, SerializerId::Marshal, SerializerId::Msgpack] {
        let echo = RefCell::new(Echo { last_oneway: None });
        let mut objects = ObjectTable::<2>::new();
        objects.register("echo", &echo).unwrap();
        let streams = RefCell::new(Streams::<2>::new());
        let config = ServerConfig::default();
        let server = Server { registry: &objects, streams: &streams, config: &config, handshake: None, tap: None };
        let mut pair = Pair::new(server, &config, format);
        // Handshake: metadata comes with it.
        let len =
            pair.client.write_connect("echo", "hello", &Extras::default(), Limits::default(), &mut pair.tx).unwrap();
        assert!(pair.deliver(len));
        let msg = pair.rx.message().unwrap();
        let connected = pair.client.read_connect(&msg).unwrap();
        assert_eq!(connected.handshake::<&str>().unwrap(), "hello", "{format:?}");
        assert!(connected.contains(MetaSet::Oneway, "note").unwrap());
        assert!(!connected.contains(MetaSet::Oneway, "echo").unwrap());
        let mut methods = Vec::new();
        connected.for_each_name(MetaSet::Methods, &mut |m| methods.push(String::from(m))).unwrap();
        methods.sort();
        assert_eq!(methods, ["count", "echo", "fail", "note"], "{format:?}");
        // A value.
        let raw = pair.call("echo", "echo", &(Value::List(std::vec![Value::Int(1), Value::Str("two".into())]),), false);
        let raw = raw.unwrap();
        let mut d = Decoder::new(Vec::new(), Limits::default());
        d.feed(&raw).unwrap();
        let msg = d.message().unwrap();
        match pair.client.read_reply(&msg).unwrap() {
            Reply::Value(body) => {
                assert_eq!(body.decode::<(i64, &str)>().unwrap(), (1, "two"), "{format:?}");
            }
            other => panic!("{other:?}"),
        }
        // An exception.
        let raw = pair.call("echo", "fail", NO_ARGS, false).unwrap();
        let mut d = Decoder::new(Vec::new(), Limits::default());
        d.feed(&raw).unwrap();
        let msg = d.message().unwrap();
        match pair.client.read_reply(&msg).unwrap() {
            Reply::Exception(body) => {
                let e = body.exception().unwrap();
                assert_eq!((e.class, e.message), ("builtins.ValueError", Some("no good")));
                assert_eq!(e.traceback_lines, 3);
            }
            other => panic!("{other:?}"),
        }
        // Oneway: nothing comes back, the call ran.
        assert!(pair.call("echo", "note", &("hi",), true).is_none());
        assert_eq!(echo.borrow().last_oneway.as_deref(), Some("hi"));
        // A stream, its items, its end.
        let raw = pair.call("echo", "count", NO_ARGS, false).unwrap();
        let mut d = Decoder::new(Vec::new(), Limits::default());
        d.feed(&raw).unwrap();
        let msg = d.message().unwrap();
        let Reply::Stream { id, .. } = pair.client.read_reply(&msg).unwrap() else { panic!() };
        let text = id.to_text();
        let id_text = core::str::from_utf8(&text).unwrap();
        for expected in [Some(1u64), Some(2), None] {
            let raw = pair.call("Pyro.Daemon", "get_next_stream_item", &[id_text], false).unwrap();
            let mut d = Decoder::new(Vec::new(), Limits::default());
            d.feed(&raw).unwrap();
            let msg = d.message().unwrap();
            match (pair.client.read_reply(&msg).unwrap(), expected) {
                (Reply::Value(body), Some(n)) => assert_eq!(body.decode::<u64>().unwrap(), n),
                (Reply::Exception(body), None) => assert_eq!(body.exception().unwrap().class, "builtins.StopIteration"),
                (other, _) => panic!("{other:?}"),
            }
        }
        // An attribute.
        let raw = pair.call("echo", "__getattr__", &("size",), false).unwrap();
        let mut d = Decoder::new(Vec::new(), Limits::default());
        d.feed(&raw).unwrap();
        let msg = d.message().unwrap();
        let Reply::Value(body) = pair.client.read_reply(&msg).unwrap() else { panic!() };
        assert_eq!(body.decode::<i32>().unwrap(), 42);
        // A batch: results in order, the exception wrapper ends it.
        let calls = (("echo", (5,), Value::Dict(Vec::new())), ("fail", NO_ARGS, Value::Dict(Vec::new())));
        let spec = CallSpec { object: "echo", method: "", oneway: false, batch: true };
        let sent = pair
            .client
            .write_call(&spec, &calls, None::<&()>, &Extras::default(), Limits::default(), &mut pair.tx)
            .unwrap();
        assert!(pair.deliver(sent.len));
        let msg = pair.rx.message().unwrap();
        match pair.client.read_reply(&msg).unwrap() {
            Reply::Batch(body) => {
                let results = body.decode::<Vec<Value>>().unwrap();
                assert_eq!(results[0], Value::Int(5));
                if format != SerializerId::Marshal {
                    assert_eq!(results[1].class_name(), Some("Pyro5.core._ExceptionWrapper"));
                }
            }
            // marshal: Pyro5 answers a failing batch with ValueError('unmarshallable object').
            Reply::Exception(body) if format == SerializerId::Marshal => {
                assert_eq!(body.exception().unwrap().message, Some("unmarshallable object"));
            }
            other => panic!("{other:?}"),
        }
        // A ping.
        let len = pair.client.write_ping(&Extras::default(), Limits::default(), &mut pair.tx).unwrap();
        assert!(pair.deliver(len));
        let msg = pair.rx.message().unwrap();
        assert!(matches!(pair.client.read_reply(&msg).unwrap(), Reply::Pong));
        // Checks as Pyro's proxy: a reply to another seq is refused.
        pair.client.set_seq(100);
        let spec = CallSpec { object: "echo", method: "echo", oneway: false, batch: false };
        pair.client.write_call(&spec, &(1,), None::<&()>, &Extras::default(), Limits::default(), &mut pair.tx).unwrap();
        let raw_other = {
            let mut c = ClientSession::new(format);
            c.ready = true;
            c.set_seq(7);
            let sent =
                c.write_call(&spec, &(1,), None::<&()>, &Extras::default(), Limits::default(), &mut pair.tx).unwrap();
            assert!(pair.deliver(sent.len));
            pair.rx.message().unwrap().as_bytes().to_vec()
        };
        let mut d = Decoder::new(Vec::new(), Limits::default());
        d.feed(&raw_other).unwrap();
        let msg = d.message().unwrap();
        assert_eq!(pair.client.read_reply(&msg).unwrap_err(), ClientError::SeqMismatch { got: 8, expected: 101 });
    }
}

#[test]
fn connectfail_is_an_error_with_the_daemons_reason() {
    let objects = ObjectTable::<1>::new();
    let streams = RefCell::new(Streams::<1>::new());
    let config = ServerConfig::default();
    let server = Server { registry: &objects, streams: &streams, config: &config, handshake: None, tap: None };
    let mut connection = daemon(1, &config);
    let mut client = ClientSession::new(SerializerId::Serpent);
    let mut tx = Vec::new();
    let len = client.write_connect("nobody", "hello", &Extras::default(), Limits::default(), &mut tx).unwrap();
    let (Some(out), true) = exchange(&mut connection, &server, &tx[..len]) else { panic!() };
    let mut d = Decoder::new(Vec::new(), Limits::default());
    d.feed(&out).unwrap();
    let err = client.read_connect(&d.message().unwrap()).unwrap_err();
    assert_eq!(err.to_string(), "connection rejected: unknown object");
    assert!(!client.is_ready());
}

/// A list nested `n` levels deep (`[[]]` for 2).
fn nested(n: usize) -> Value {
    (1..n).fold(Value::List(Vec::new()), |inner, _| Value::List(std::vec![inner]))
}

/// `Limits::max_nesting` holds for what a daemon reads (call arguments, handshake data) and
/// for what a proxy reads (replies), in every format: one level more is refused with the
/// error Python raises for a payload nested too deeply.
#[test]
fn nesting_beyond_the_configured_limit_is_refused_with_pythons_error() {
    let limits = Limits { max_nesting: 6, ..Limits::DEFAULT };
    let formats = [
        (SerializerId::Serpent, "builtins.SyntaxError"),
        (SerializerId::Json, "builtins.RecursionError"),
        (SerializerId::Marshal, "builtins.ValueError"),
        (SerializerId::Msgpack, "msgpack.exceptions.StackError"),
    ];
    for (format, class) in formats {
        let echo = RefCell::new(Echo { last_oneway: None });
        let mut objects = ObjectTable::<1>::new();
        objects.register("echo", &echo).unwrap();
        let streams = RefCell::new(Streams::<1>::new());
        let config = ServerConfig { limits, ..ServerConfig::default() };
        let server = Server { registry: &objects, streams: &streams, config: &config, handshake: None, tap: None };
        let mut pair = Pair {
            server,
            connection: daemon(1, &config),
            client: ClientSession::new(format),
            tx: Vec::new(),
            rx: Decoder::new(Vec::new(), limits),
        };
        let len = pair.client.write_connect("echo", "hello", &Extras::default(), limits, &mut pair.tx).unwrap();
        assert!(pair.deliver(len));
        pair.client.read_connect(&pair.rx.message().unwrap()).unwrap();

        // The call and its arguments take 2 levels: 4 more fit, 5 do not.
        let raw = pair.call("echo", "echo", &(nested(4),), false).unwrap();
        let mut d = Decoder::new(Vec::new(), limits);
        d.feed(&raw).unwrap();
        let Reply::Value(body) = pair.client.read_reply(&d.message().unwrap()).unwrap() else { panic!("{format:?}") };
        assert_eq!(body.decode::<Value>().unwrap(), nested(4), "{format:?}");
        // The proxy reads the reply within its own decoder's limits.
        let mut strict = Decoder::new(Vec::new(), Limits { max_nesting: 3, ..limits });
        strict.feed(&raw).unwrap();
        pair.client
            .in_flight
            .push(InFlight { seq: pair.client.seq, serializer: format, abandoned: false, deadline: None })
            .unwrap();
        let Reply::Value(body) = pair.client.read_reply(&strict.message().unwrap()).unwrap() else { panic!() };
        let err = body.decode::<Value>().unwrap_err();
        assert_eq!(err.pyro_class(), class, "{format:?}: {err}");
        assert!(err.to_string().contains("Limits::max_nesting"), "{format:?}: {err}");

        let raw = pair.call("echo", "echo", &(nested(5),), false).unwrap();
        let mut d = Decoder::new(Vec::new(), limits);
        d.feed(&raw).unwrap();
        let Reply::Exception(body) = pair.client.read_reply(&d.message().unwrap()).unwrap() else {
            panic!("{format:?}")
        };
        let exception = body.exception().unwrap();
        assert_eq!(exception.class, class, "{format:?}: {:?}", exception.message);
        assert!(exception.message.unwrap().contains("deeper than 6 levels"), "{format:?}: {:?}", exception.message);

        // Handshake data: the CONNECT's dict and 5 levels fit, 6 do not.
        for (depth, accepted) in [(5, true), (6, false)] {
            let mut connection = daemon(2, &config);
            let mut client = ClientSession::new(format);
            let mut tx = Vec::new();
            let len = client.write_connect("echo", &nested(depth), &Extras::default(), limits, &mut tx).unwrap();
            let (reply, closes) = exchange(&mut connection, &pair.server, &tx[..len]);
            assert_eq!(reply.is_some() && !closes, accepted, "{format:?} {depth}: {reply:?}");
        }
    }
}

/// Calls pipelined on one connection: replies are matched to their calls by sequence number
/// in any order; an abandoned call's late reply is dropped and the connection goes on; a
/// reply to no call is Pyro's sequence error; the in-flight table is bounded.
#[test]
fn pipelined_calls_are_matched_by_sequence_number() {
    let echo = RefCell::new(Echo { last_oneway: None });
    let mut objects = ObjectTable::<1>::new();
    objects.register("echo", &echo).unwrap();
    let streams = RefCell::new(Streams::<1>::new());
    let config = ServerConfig::default();
    let server = Server::new(&objects, &streams, &config);
    let mut daemon_side = daemon(1, &config);
    let mut client = ClientSession::new(SerializerId::Serpent);
    let mut tx = Vec::new();
    let len = client.write_connect("echo", "hello", &Extras::default(), Limits::default(), &mut tx).unwrap();
    let (Some(ok), false) = exchange(&mut daemon_side, &server, &tx[..len]) else { panic!() };
    let mut d = Decoder::new(Vec::new(), Limits::default());
    d.feed(&ok).unwrap();
    client.read_connect(&d.message().unwrap()).unwrap();

    // Four calls written back to back, then sent at once.
    let mut wire = Vec::new();
    for n in 0..4 {
        let spec = CallSpec { object: "echo", method: "echo", oneway: false, batch: false };
        let mut out = Vec::new();
        let sent =
            client.write_call(&spec, &(n,), None::<&()>, &Extras::default(), Limits::default(), &mut out).unwrap();
        wire.extend_from_slice(&out[..sent.len]);
    }
    assert_eq!(client.in_flight(), 4);
    assert_eq!(daemon_side.feed(&wire, 0), wire.len(), "one read takes all four");
    // The daemon answers all four before its socket is written to: one write.
    daemon_side.serve_ready(&server);
    let out = daemon_side.tx_pending().to_vec();
    daemon_side.tx_advance(out.len(), 0);
    let mut replies = Vec::new();
    let mut rest = &out[..];
    while !rest.is_empty() {
        let mut d = Decoder::new(Vec::new(), Limits::default());
        let Ok(Progress::Complete { consumed }) = d.feed(rest) else { panic!("whole replies") };
        replies.push(rest[..consumed].to_vec());
        rest = &rest[consumed..];
    }
    assert_eq!(replies.len(), 4);
    // Call 2 (seq 2) is given up; the replies are read in another order than sent.
    assert!(client.abandon(2));
    assert!(!client.abandon(2), "once");
    let mut got = Vec::new();
    for reply in replies.iter().rev() {
        let mut d = Decoder::new(Vec::new(), Limits::default());
        d.feed(reply).unwrap();
        match client.read_reply(&d.message().unwrap()).unwrap() {
            Reply::Value(body) => got.push(body.decode::<i64>().unwrap()),
            Reply::Late { seq } => got.push(-i64::from(seq)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, [3, 2, -2, 0], "values by seq 4, 3, 2 (abandoned), 1");
    assert_eq!(client.in_flight(), 0);
    // A reply nobody waits for is Pyro's sequence error.
    let mut d = Decoder::new(Vec::new(), Limits::default());
    d.feed(&replies[0]).unwrap();
    assert_eq!(client.read_reply(&d.message().unwrap()).unwrap_err(), ClientError::NotExpected);
    let spec = CallSpec { object: "echo", method: "echo", oneway: false, batch: false };
    client.write_call(&spec, &(9,), None::<&()>, &Extras::default(), Limits::default(), &mut Vec::new()).unwrap();
    assert_eq!(client.read_reply(&d.message().unwrap()).unwrap_err(), ClientError::SeqMismatch { got: 1, expected: 5 });
    // The table is bounded; oneway calls wait for nothing and always go.
    while client.in_flight() < MAX_IN_FLIGHT {
        client.write_call(&spec, &(0,), None::<&()>, &Extras::default(), Limits::default(), &mut Vec::new()).unwrap();
    }
    let busy = client.write_call(&spec, &(0,), None::<&()>, &Extras::default(), Limits::default(), &mut Vec::new());
    assert_eq!(busy.unwrap_err(), ClientError::Busy);
    let oneway = CallSpec { oneway: true, ..spec };
    client.write_call(&oneway, &(0,), None::<&()>, &Extras::default(), Limits::default(), &mut Vec::new()).unwrap();
}

/// Takes serialized blobs and says what it got: their info, the object and method they were
/// sent to, their data.
struct BlobListener;

impl PyroObject for BlobListener {
    fn metadata(&self) -> Metadata<'static> {
        Metadata { class_name: "BlobListener", methods: &["take", "again", "blob", "plain"], oneway: &[], attrs: &[] }
    }
    fn invoke(&mut self, inv: &Invocation<'_>, reply: ServerReply<'_, '_>) -> Replied {
        use crate::ser::blob::SerializedBlob;
        let f = Qualname { class_name: "BlobListener", method: inv.method };
        if inv.method == "plain" {
            return match inv.args.required::<&str>(f, 0, "text") {
                Ok(text) => reply.ok(text),
                Err(e) => reply.raise(&e),
            };
        }
        match inv.args.required::<SerializedBlob<'_>>(f, 0, "blob") {
            Ok(blob) => match (blob.info::<Value>(), blob.deserialized::<Value>()) {
                (Ok(info), Ok(data)) => reply.ok(&(info, blob.object(), blob.method(), data)),
                _ => reply.raise(&PyException::value_error("unreadable blob")),
            },
            Err(e) => reply.raise(&e),
        }
    }
}

/// The message the client laid out in `tx`, decoded.
fn sent(tx: &[u8]) -> Decoder<Vec<u8>> {
    let mut decoder = Decoder::new(Vec::new(), Limits::default());
    assert!(matches!(decoder.feed(tx).unwrap(), Progress::Complete { .. }));
    decoder
}

#[test]
fn blobs_reach_an_object_unread_and_pass_on_unchanged_in_every_format() {
    use crate::ser::blob::SerializedBlob;
    let data = Value::Dict(std::vec![(Value::Str("payload".into()), Value::List(std::vec![Value::Int(1)]))]);
    for format in [SerializerId::Serpent, SerializerId::Json, SerializerId::Marshal, SerializerId::Msgpack] {
        let listener = RefCell::new(BlobListener);
        let mut objects = ObjectTable::<2>::new();
        objects.register("listener", &listener).unwrap();
        let streams = RefCell::new(Streams::<2>::new());
        let config = ServerConfig::default();
        let server = Server { registry: &objects, streams: &streams, config: &config, handshake: None, tap: None };
        let mut pair = Pair::new(server, &config, format);
        let len = pair
            .client
            .write_connect("listener", "hello", &Extras::default(), Limits::default(), &mut pair.tx)
            .unwrap();
        assert!(pair.deliver(len));
        pair.client.read_connect(&pair.rx.message().unwrap()).unwrap();
        let answer = |pair: &mut Pair<'_>, len: usize| {
            assert!(pair.deliver(len));
            let msg = pair.rx.message().unwrap();
            match pair.client.read_reply(&msg).unwrap() {
                Reply::Value(body) => Ok(body.decode::<(Value, String, String, Value)>().unwrap()),
                Reply::Exception(body) => {
                    let e = body.exception().unwrap();
                    Err((String::from(e.class), String::from(e.message.unwrap_or(""))))
                }
                other => panic!("{other:?}"),
            }
        };
        // A new blob: KEEPSERIALIZED, BLBI, the data where the arguments go.
        let take = CallSpec::method("listener", "take");
        let new =
            pair.client.write_new_blob(&take, "topic", &data, &Extras::default(), Limits::default(), &mut pair.tx);
        let len = new.unwrap().len;
        let request = sent(&pair.tx[..len]);
        let message = request.message().unwrap();
        assert!(message.header().flags.contains(crate::wire::Flags::KEEP_SERIALIZED), "{format:?}");
        let got = answer(&mut pair, len).unwrap();
        assert_eq!(got, (Value::Str("topic".into()), "listener".into(), "take".into(), data.clone()), "{format:?}");
        // Passed on to another method: the same payload, bytes for bytes, and info.
        let blbi = message.annotations_view().get(AnnotationId::BLOB_INFO).unwrap();
        let blob = SerializedBlob::parse(blbi, message.header().serializer, message.payload().unwrap()).unwrap();
        let again = CallSpec::method("listener", "again");
        pair.client.set_serializer(SerializerId::Serpent);
        let len =
            pair.client.write_blob(&again, &blob, &Extras::default(), Limits::default(), &mut pair.tx).unwrap().len;
        let forwarded = sent(&pair.tx[..len]);
        let forwarded = forwarded.message().unwrap();
        assert_eq!(forwarded.header().serializer, format, "the blob's own serializer");
        assert_eq!(forwarded.payload().unwrap(), blob.payload());
        let got = answer(&mut pair, len).unwrap();
        assert_eq!(got, (Value::Str("topic".into()), "listener".into(), "again".into(), data.clone()), "{format:?}");
        pair.client.set_serializer(format);
        // A blob for a parameter of another type is a TypeError; the connection goes on.
        let plain = CallSpec::method("listener", "plain");
        let len = pair
            .client
            .write_new_blob(&plain, "t", &data, &Extras::default(), Limits::default(), &mut pair.tx)
            .unwrap()
            .len;
        let (class, _) = answer(&mut pair, len).unwrap_err();
        assert_eq!(class, "builtins.TypeError", "{format:?}");
        // KEEPSERIALIZED without BLBI: Python's KeyError, and the connection goes on.
        let message = crate::wire::OutgoingMessage {
            flags: crate::wire::Flags::KEEP_SERIALIZED,
            ..crate::wire::OutgoingMessage::new(MessageKind::Invoke, format, 99)
        };
        let mut bare = std::vec![0u8; blob.payload().len() + 64];
        let n = crate::wire::encode(&message, blob.payload(), &mut bare, Limits::default()).unwrap();
        let (reply, closed) = exchange(&mut pair.connection, &pair.server, &bare[..n]);
        let mut decoder = Decoder::new(Vec::new(), Limits::default());
        decoder.feed(&reply.unwrap()).unwrap();
        let msg = decoder.message().unwrap();
        let e: RemoteException<'_> = crate::ser::call::decode_payload(format, msg.payload().unwrap()).unwrap();
        assert_eq!((e.class, e.message, closed), ("builtins.KeyError", Some("BLBI"), false), "{format:?}");
    }
}

#[test]
fn a_recorded_python_blob_call_is_served() {
    // serpent_serialized_blob: Python's `proxy.blob(SerializedBlob("blob-info", {"payload": [1, 2, 3]}))`.
    let listener = RefCell::new(BlobListener);
    let mut objects = ObjectTable::<1>::new();
    objects.register("vectortest", &listener).unwrap();
    let streams = RefCell::new(Streams::<1>::new());
    let config = ServerConfig::default();
    let server = Server { registry: &objects, streams: &streams, config: &config, handshake: None, tap: None };
    let mut connection = daemon(1, &config);
    let events = recorded_events("serpent_serialized_blob");
    let (connect, invoke) = (&events[0], &events[2]);
    assert!(exchange(&mut connection, &server, connect).0.is_some());
    let (reply, closed) = exchange(&mut connection, &server, invoke);
    assert!(!closed);
    let mut decoder = Decoder::new(Vec::new(), Limits::default());
    decoder.feed(&reply.unwrap()).unwrap();
    let msg = decoder.message().unwrap();
    let body =
        crate::ser::call::decode_payload::<(&str, &str, &str, Value)>(SerializerId::Serpent, msg.payload().unwrap());
    let (info, object, method, data) = body.unwrap();
    assert_eq!((info, object, method), ("blob-info", "vectortest", "blob"));
    let payload = Value::List(std::vec![Value::Int(1), Value::Int(2), Value::Int(3)]);
    assert_eq!(data, Value::Dict(std::vec![(Value::Str("payload".into()), payload)]));
}

/// The frames of a recorded conversation, in order.
fn recorded_events(name: &str) -> Vec<Vec<u8>> {
    let path = std::format!("{}/../testdata/conversations/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hex = |h: &str| (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect();
    json["events"].as_array().unwrap().iter().filter_map(|e| e["hex"].as_str().map(hex)).collect()
}
