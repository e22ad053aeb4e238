//! Our daemon against conversations recorded between real Python Pyro5 5.17 peers
//! (`testdata/conversations/*.json`), over real sockets, on both server types.
//!
//! Each conversation's client frames are sent as recorded; each recorded daemon frame must be
//! matched by ours: message type, serializer id, sequence number, flags (the CORR_ID flag on
//! CONNECTFAIL is stale thread state in Python, see `docs/wire-protocol.md`, "Handshake", so it
//! is not compared; correlation ids are random: only their UUID4 shape is), annotations, and
//! the payload — byte for byte, except where the recorded bytes hold something that is not
//! reproducible: Python set order (sets; metadata lists in json/msgpack), exception tracebacks
//! (compared by `__class__`, `args`, other attributes, and `_pyroTraceback` being a list of
//! strings or None as recorded), `info()` (location and server repr) and `registered()`
//! (order). Where the recording shows the daemon closing a connection, ours must close it too;
//! where it stays open, ours must too.
//!
//! Where a payload is compared by value, it must still be exactly what our serializer
//! writes for that value, so a malformed payload cannot hide behind a lenient comparison.
//! Differences that are deliberate or unavoidable are listed in [`KNOWN_DIFFERENCES`];
//! anything else fails the test. After each conversation a normal client must be served
//! and every connection freed.

use std::collections::BTreeMap;
use std::time::Duration;

use pyro5_core::ser::value::Value;
use pyro5_core::server::{Invocation, Metadata, PyException, PyroObject, Replied, Reply};
use pyro5_core::wire::{Flags, MessageKind, SerializerId};
use pyro5_interop_tests::daemon_harness::{
    Frame, RawClient, ReadError, SERVER_TYPES, TestDaemon, connect_frame, decode, frame, frame_with, serialize,
};
use pyro5_interop_tests::{unhex, vectors_dir};
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::{DaemonConfig, ServerType};
use serde_json::Value as Json;

/// How long "connection still open after 1.0s" is checked (Python waited a second; the
/// daemons here close at once or never, so less is enough).
const STILL_OPEN_FOR: Duration = Duration::from_millis(400);

/// Conversations that are not replayed, and why.
const SKIPPED: &[(&str, &str)] = &[(
    "raw_result_too_large_for_daemon",
    "its only connection calls vectortest.big(450): the recording daemon's VectorTest object, which we do not have",
)];

/// Recorded differences we accept: (conversation, recorded event `n`, a text the difference
/// report contains, why).
const KNOWN_DIFFERENCES: &[(&str, u64, &str, &str)] = &[
    (
        "raw_connect_garbage_payload",
        1,
        "payload is a different value",
        "CONNECTFAIL text for undecodable serpent: Python sends CPython's compiler message \
         (\"'(' was never closed (<unknown>, line 1)\"), we send our parser's",
    ),
    (
        "raw_invoke_garbage_payload",
        3,
        "exception args is",
        "same class (builtins.SyntaxError), but the args are CPython's compiler message and \
         location tuple; ours are our parser's message",
    ),
];

/// A recorded event.
#[derive(Debug)]
enum Event {
    /// The client sends these bytes.
    Send { conn: u64, n: u64, bytes: Vec<u8> },
    /// The daemon sends this frame.
    Reply { conn: u64, n: u64, bytes: Vec<u8> },
    /// The client closes its connection.
    ClientClose { conn: u64 },
    /// The daemon closes the connection.
    ServerClose { conn: u64, n: u64 },
    /// The connection stays open and quiet.
    StillOpen { conn: u64, n: u64 },
}

struct Conversation {
    max_message_size: Option<u32>,
    events: Vec<Event>,
    /// Connections addressed to objects we do not serve; their events are skipped.
    skipped_connections: Vec<(u64, String)>,
}

fn load(name: &str) -> Conversation {
    let path = vectors_dir().join("conversations").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let max_message_size = json["config"]["MAX_MESSAGE_SIZE"].as_u64().map(|m| u32::try_from(m).expect("a u32 limit"));
    let mut events = Vec::new();
    let mut objects: BTreeMap<u64, String> = BTreeMap::new();
    for e in json["events"].as_array().expect("events") {
        let conn = e["conn"].as_u64().expect("conn");
        let n = e["n"].as_u64().expect("n");
        let dir = e["dir"].as_str().expect("dir");
        let hex = e["raw_hex"].as_str().or_else(|| e["hex"].as_str());
        match (dir, e["event"].as_str(), hex) {
            ("c2s", None, Some(hex)) => {
                if e["frame"]["type"].as_u64() == Some(1)
                    && let Some(object) = e["frame"]["payload_decoded"]["object"].as_str()
                {
                    objects.entry(conn).or_insert_with(|| object.to_string());
                }
                events.push(Event::Send { conn, n, bytes: unhex(hex) });
            }
            ("s2c", None, Some(hex)) => events.push(Event::Reply { conn, n, bytes: unhex(hex) }),
            ("c2s", Some("close"), _) => events.push(Event::ClientClose { conn }),
            ("s2c", Some("close"), _) => events.push(Event::ServerClose { conn, n }),
            ("s2c", Some(text), _) if text.starts_with("connection still open") => {
                events.push(Event::StillOpen { conn, n });
            }
            other => panic!("{name}: event {n} not understood: {other:?}"),
        }
    }
    let skipped_connections = objects.into_iter().filter(|(_, object)| object == VECTOR_TEST).collect();
    Conversation { max_message_size, events, skipped_connections }
}

/// The object id of the recording daemon's `VectorTest` object.
const VECTOR_TEST: &str = "vectortest";

/// The recording daemon's second object, registered so that `registered()` and `info()`
/// count the same objects; never called by the conversations replayed.
struct VectorTestStandIn;

impl PyroObject for VectorTestStandIn {
    fn metadata(&self) -> Metadata<'static> {
        Metadata {
            class_name: "VectorTest",
            methods: &[
                "nested_call",
                "blob",
                "echo_annotations",
                "fire",
                "countdown",
                "big",
                "return_uri",
                "fail_custom_attr",
                "add",
                "return_proxy",
                "call",
                "fail",
            ],
            oneway: &["fire"],
            attrs: &["readonly", "value"],
        }
    }

    fn invoke(&mut self, _: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
        reply.raise(&PyException::new("builtins.NotImplementedError", "a stand-in for the recording's VectorTest"))
    }
}

/// What a reply is compared with: the recorded frame and the request it answers.
struct Expectation<'a> {
    conversation: &'a str,
    n: u64,
    recorded: Frame,
    /// The method of the INVOKE this answers, when it decodes.
    method: Option<String>,
    /// The correlation id of the request, when it had one.
    request_corr: Option<[u8; 16]>,
}

fn replay(name: &str, server_type: ServerType) {
    let conversation = load(name);
    assert!(
        conversation.skipped_connections.len() < conversation.events.len(),
        "{name}: nothing left to replay after skipping {:?}",
        conversation.skipped_connections
    );
    for (conn, object) in &conversation.skipped_connections {
        eprintln!("{name}: connection {conn} skipped: it talks to {object:?}, which we do not serve");
    }
    // The recording of daemon_annotations overrode `Daemon.annotations()`.
    let annotations = match name {
        "daemon_annotations" => vec![("DMN1".try_into().expect("an annotation id"), b"daemon-annotation".to_vec())],
        _ => Vec::new(),
    };
    let config = DaemonConfig {
        server_type,
        max_message_size: conversation.max_message_size.unwrap_or(DaemonConfig::default().max_message_size),
        annotations,
        ..DaemonConfig::default()
    };
    let daemon = TestDaemon::start(config, |daemon| {
        daemon.register(EchoServer::new(), Some(OBJECT_ID)).expect("register the echo server");
        daemon.register(VectorTestStandIn, Some(VECTOR_TEST)).expect("register the stand-in");
    });
    let location = format!("127.0.0.1:{}", daemon.addr().port());
    let mut clients: BTreeMap<u64, RawClient> = BTreeMap::new();
    let mut last_request: BTreeMap<u64, Frame> = BTreeMap::new();
    let mut differences: Vec<(u64, String)> = Vec::new();
    // Stream ids: the recorded one, ours (the client sends the id it was given back).
    let mut stream_ids: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut byte_equal = 0;
    let mut value_equal = 0;
    let skipped = |conn: &u64| conversation.skipped_connections.iter().any(|(c, _)| c == conn);
    for event in &conversation.events {
        match event {
            Event::Send { conn, n, bytes } if !skipped(conn) => {
                let client = clients.entry(*conn).or_insert_with(|| daemon.client());
                let mut bytes = bytes.clone();
                for (recorded, ours) in &stream_ids {
                    replace_all(&mut bytes, recorded, ours);
                }
                let bytes = &bytes;
                if let Err(e) = client.try_send(bytes) {
                    differences.push((*n, format!("sending the client frame failed: {e}")));
                }
                if let Ok(frame) = Frame::parse(bytes) {
                    last_request.insert(*conn, frame);
                }
            }
            Event::Reply { conn, n, bytes } if !skipped(conn) => {
                let recorded = Frame::parse(bytes).unwrap_or_else(|e| panic!("{name}: recorded frame {n}: {e}"));
                let request = last_request.get(conn);
                let expectation = Expectation {
                    conversation: name,
                    n: *n,
                    method: request.and_then(call_method),
                    request_corr: request
                        .filter(|r| r.header.flags.contains(Flags::CORR_ID))
                        .map(|r| r.header.correlation_id.0),
                    recorded,
                };
                let client = clients.get_mut(conn).expect("a reply on a connection the client opened");
                match client.read_frame_within(pyro5_interop_tests::daemon_harness::READ_TIMEOUT) {
                    Ok(ours) => {
                        if let (Some(recorded), Some(ours)) = (stream_id(&expectation.recorded), stream_id(&ours)) {
                            stream_ids.push((recorded.to_vec(), ours.to_vec()));
                        }
                        match compare(&expectation, &ours, &location) {
                            Ok(Match::Bytes) => byte_equal += 1,
                            Ok(Match::Value) => value_equal += 1,
                            Err(problems) => differences.extend(problems.into_iter().map(|p| (*n, p))),
                        }
                    }
                    Err(e) => differences
                        .push((*n, format!("expected {}, got no frame: {e:?}", expectation.recorded.describe()))),
                }
            }
            Event::ClientClose { conn } if !skipped(conn) => {
                if let Some(client) = clients.get(conn) {
                    client.shutdown_write();
                }
            }
            Event::ServerClose { conn, n } if !skipped(conn) => {
                let client = clients.get_mut(conn).expect("a close on a connection the client opened");
                if let Err(problem) = catch(|| client.expect_closed()) {
                    differences.push((*n, format!("the daemon should close the connection: {problem}")));
                }
            }
            Event::StillOpen { conn, n } if !skipped(conn) => {
                let client = clients.get_mut(conn).expect("a connection the client opened");
                if let Err(problem) = catch(|| client.expect_open(STILL_OPEN_FOR)) {
                    differences.push((*n, format!("the connection should stay open: {problem}")));
                }
            }
            _ => {}
        }
    }
    drop(clients);
    // Whatever the conversation did, the daemon serves the next client and frees every
    // connection it had.
    daemon.assert_serves_echo();
    daemon.wait_for_connections(0, Duration::from_secs(3));

    let (known, unknown): (Vec<_>, Vec<_>) = differences.into_iter().partition(|(n, text)| {
        KNOWN_DIFFERENCES.iter().any(|(c, kn, part, _)| *c == name && kn == n && text.contains(part))
    });
    for (n, text) in &known {
        eprintln!("{name} ({server_type}): known difference at event {n}: {text}");
    }
    eprintln!("{name} ({server_type}): {byte_equal} replies byte-equal, {value_equal} equal as values");
    assert!(
        unknown.is_empty(),
        "{name} ({server_type}): {} difference(s) from the recording:\n{}",
        unknown.len(),
        unknown.iter().map(|(n, t)| format!("  event {n}: {t}")).collect::<Vec<_>>().join("\n")
    );
}

/// Run a check that panics; its message as an error.
fn catch(f: impl FnOnce()) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

/// The method name of an INVOKE frame.
fn call_method(request: &Frame) -> Option<String> {
    if request.header.kind != MessageKind::Invoke {
        return None;
    }
    let call = decode(request.header.serializer, &request.payload).ok()?;
    let method = match &call {
        Value::Tuple(items) | Value::List(items) => items.get(1).cloned(),
        Value::Dict(_) => call.get("method").cloned(),
        _ => None,
    }?;
    method.as_str().map(str::to_string)
}

enum Match {
    Bytes,
    Value,
}

fn compare(expect: &Expectation<'_>, ours: &Frame, location: &str) -> Result<Match, Vec<String>> {
    let rec = &expect.recorded;
    let mut problems = Vec::new();
    let (h, r) = (&ours.header, &rec.header);
    if h.kind != r.kind || h.serializer != r.serializer || h.seq != r.seq {
        problems.push(format!("expected {}, got {}", rec.describe(), ours.describe()));
        return Err(problems);
    }
    let mask = if r.kind == MessageKind::ConnectFail { Flags::CORR_ID } else { Flags::empty() };
    if h.flags.without(mask) != r.flags.without(mask) {
        problems.push(format!("flags {:#06x}, recorded {:#06x}", h.flags.bits(), r.flags.bits()));
    }
    if h.flags.contains(Flags::CORR_ID) && r.flags.contains(Flags::CORR_ID) {
        let corr = h.correlation_id.0;
        match expect.request_corr {
            Some(sent) if corr != sent => {
                problems.push(format!("correlation id {corr:02x?}, the request's was {sent:02x?}"))
            }
            Some(_) => {}
            None if !is_uuid4(&corr) => problems.push(format!("correlation id {corr:02x?} is not a UUID4")),
            None => {}
        }
    }
    // A stream id is a random UUID4 in text: compare its shape.
    let shape = |annotations: &[(String, Vec<u8>)]| {
        annotations
            .iter()
            .map(|(id, value)| match id.as_str() {
                "STRM" => (id.clone(), if is_uuid4_text(value) { b"<uuid4>".to_vec() } else { value.clone() }),
                _ => (id.clone(), value.clone()),
            })
            .collect::<Vec<_>>()
    };
    if shape(&ours.annotations) != shape(&rec.annotations) {
        problems.push(format!("annotations {:?}, recorded {:?}", ours.annotations, rec.annotations));
    }
    let matched = compare_payload(expect, ours, location).map_err(|p| problems.push(p)).ok();
    match (problems.is_empty(), matched) {
        (true, Some(m)) => Ok(m),
        _ => Err(problems),
    }
}

/// The `STRM` annotation of a frame.
fn stream_id(frame: &Frame) -> Option<&[u8]> {
    frame.annotations.iter().find(|(id, _)| id == "STRM").map(|(_, value)| value.as_slice())
}

/// Whether `text` is a UUID4 as Python's `str(uuid4())` writes it.
fn is_uuid4_text(text: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(text) else { return false };
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let dashes: Vec<usize> = text.char_indices().filter(|(_, c)| *c == '-').map(|(i, _)| i).collect();
    text.len() == 36
        && dashes == [8, 13, 18, 23]
        && hex.len() == 32
        && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        && pyro5_interop_tests::unhex(&hex).try_into().is_ok_and(|id: [u8; 16]| is_uuid4(&id))
}

/// Replace every occurrence of `from` in `bytes` with `to` (of the same length).
fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len(), "stream ids of different lengths");
    let mut i = 0;
    while let Some(at) = bytes.get(i..).and_then(|rest| rest.windows(from.len()).position(|w| w == from)) {
        bytes[i + at..i + at + to.len()].copy_from_slice(to);
        i += at + to.len();
    }
}

fn is_uuid4(id: &[u8; 16]) -> bool {
    id[6] >> 4 == 4 && id[8] >> 6 == 0b10
}

fn compare_payload(expect: &Expectation<'_>, ours: &Frame, location: &str) -> Result<Match, String> {
    let rec = &expect.recorded;
    if ours.payload == rec.payload {
        return Ok(Match::Bytes);
    }
    let show = |f: &Frame| String::from_utf8_lossy(&f.payload).into_owned();
    if let SerializerId::Unknown(_) = rec.header.serializer {
        return Err(format!("payload {:?}, recorded {:?}", show(ours), show(rec)));
    }
    let rec_value = decode(rec.header.serializer, &rec.payload)
        .map_err(|e| format!("{} n={}: the recorded payload does not decode: {e}", expect.conversation, expect.n))?;
    let our_value = decode(ours.header.serializer, &ours.payload)
        .map_err(|e| format!("our payload does not decode: {e}: {}", show(ours)))?;
    let method = expect.method.as_deref();
    let unordered = rec.header.kind == MessageKind::ConnectOk || matches!(method, Some("get_metadata" | "registered"));
    // Whether marshal sets FLAG_REF follows CPython reference counts: it is compared by value
    // (`docs/serializers.md`, "marshal").
    let loose = unordered
        || rec.header.serializer == SerializerId::Marshal
        || method == Some("info")
        || rec.header.flags.contains(Flags::EXCEPTION)
        || has_set_or_exception(&rec_value);
    if !loose {
        let what =
            if our_value.is_identical(&rec_value) { "the same value in other bytes" } else { "a different value" };
        return Err(format!("payload is {what}: ours {:?}, recorded {:?}", show(ours), show(rec)));
    }
    // Compared loosely, the value could hide a malformed payload: it must at least be what
    // our serializer writes for the value it decodes to.
    let canonical = serialize(ours.header.serializer, &our_value);
    if canonical != ours.payload {
        return Err(format!(
            "our payload is not what the serializer writes for its value:\n    sent      {:?}\n    canonical {:?}",
            show(ours),
            String::from_utf8_lossy(&canonical)
        ));
    }
    if method == Some("info") {
        return compare_info(&our_value, &rec_value, location);
    }
    equivalent(&our_value, &rec_value, unordered, "payload").map(|()| Match::Value)
}

/// `info()`: the same text with our location, up to the server type (a Python repr there).
fn compare_info(ours: &Value, recorded: &Value, location: &str) -> Result<Match, String> {
    let (Some(ours), Some(recorded)) = (ours.as_str(), recorded.as_str()) else {
        return Err(format!("info() is not a str: {ours:?}"));
    };
    let rec_location = recorded
        .strip_prefix("Pyro.Daemon bound on ")
        .and_then(|rest| rest.split(',').next())
        .ok_or_else(|| format!("recorded info() not understood: {recorded:?}"))?;
    let expected = recorded.replace(rec_location, location);
    let cut = |s: &str| s.split_once("Servertype: ").map(|(head, tail)| (head.to_string(), tail.to_string()));
    match (cut(ours), cut(&expected)) {
        (Some((head, tail)), Some((want, _))) if head == want && tail.starts_with('<') && tail.contains(location) => {
            Ok(Match::Value)
        }
        _ => Err(format!("info() is {ours:?}, recorded {recorded:?}")),
    }
}

/// Whether `v` holds a set (Python's order) or an exception (a traceback) anywhere.
fn has_set_or_exception(v: &Value) -> bool {
    match v {
        Value::Set(_) | Value::FrozenSet(_) => true,
        Value::Tuple(items) | Value::List(items) => items.iter().any(has_set_or_exception),
        Value::Dict(entries) => {
            v.get("__exception__").is_some()
                || entries.iter().any(|(k, v)| has_set_or_exception(k) || has_set_or_exception(v))
        }
        _ => false,
    }
}

/// Whether `ours` is `recorded` up to set order (list order too when `unordered`) and
/// exception tracebacks.
fn equivalent(ours: &Value, recorded: &Value, unordered: bool, path: &str) -> Result<(), String> {
    if recorded.get("__exception__") == Some(&Value::Bool(true)) {
        return equivalent_exception(ours, recorded, path);
    }
    match (ours, recorded) {
        (Value::Set(a), Value::Set(b)) | (Value::FrozenSet(a), Value::FrozenSet(b)) => same_members(a, b, path),
        (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) if unordered => same_members(a, b, path),
        (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => {
            if a.len() != b.len() {
                return Err(format!("{path}: {} items, recorded {}: {ours:?} vs {recorded:?}", a.len(), b.len()));
            }
            a.iter().zip(b).enumerate().try_for_each(|(i, (x, y))| equivalent(x, y, unordered, &format!("{path}[{i}]")))
        }
        (Value::Dict(a), Value::Dict(b)) => {
            let keys = |d: &Vec<(Value, Value)>| d.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
            if keys(a) != keys(b) {
                return Err(format!("{path}: keys {:?}, recorded {:?}", keys(a), keys(b)));
            }
            a.iter()
                .zip(b)
                .try_for_each(|((k, x), (_, y))| equivalent(x, y, unordered, &format!("{path}[{}]", short(k))))
        }
        _ if ours.is_identical(recorded) => Ok(()),
        _ => Err(format!("{path}: {ours:?}, recorded {recorded:?}")),
    }
}

fn equivalent_exception(ours: &Value, recorded: &Value, path: &str) -> Result<(), String> {
    let field = |v: &Value, key: &str| v.get(key).cloned();
    for key in ["__class__", "__exception__", "args"] {
        let (a, b) = (field(ours, key), field(recorded, key));
        let same = match (&a, &b) {
            (Some(a), Some(b)) => a.is_identical(b),
            _ => false,
        };
        if !same {
            return Err(format!(
                "{path}: exception {key} is {}, recorded {} (class {:?}, recorded {:?})",
                a.map_or("missing".into(), |v| format!("{v:?}")),
                b.map_or("missing".into(), |v| format!("{v:?}")),
                ours.class_name(),
                recorded.class_name()
            ));
        }
    }
    let attributes = |v: &Value| match v.get("attributes") {
        Some(Value::Dict(entries)) => Ok(entries.clone()),
        other => Err(format!("{path}: exception attributes {other:?}")),
    };
    let (ours_attrs, rec_attrs) = (attributes(ours)?, attributes(recorded)?);
    let names = |d: &[(Value, Value)]| {
        let mut n: Vec<String> = d.iter().map(|(k, _)| short(k)).collect();
        n.sort();
        n
    };
    if names(&ours_attrs) != names(&rec_attrs) {
        return Err(format!("{path}: exception attributes {:?}, recorded {:?}", names(&ours_attrs), names(&rec_attrs)));
    }
    for (key, rec_value) in &rec_attrs {
        let our_value = &ours_attrs.iter().find(|(k, _)| k == key).expect("same names").1;
        if key.as_str() == Some("_pyroTraceback") {
            let lines = |v: &Value| match v {
                Value::List(items) | Value::Tuple(items) => items.iter().all(|i| matches!(i, Value::Str(_))),
                _ => false,
            };
            let ok = match rec_value {
                Value::None => *our_value == Value::None,
                _ => lines(rec_value) && lines(our_value),
            };
            if !ok {
                return Err(format!("{path}: _pyroTraceback is {our_value:?}, recorded {rec_value:?}"));
            }
        } else {
            equivalent(our_value, rec_value, false, &format!("{path}.attributes[{}]", short(key)))?;
        }
    }
    Ok(())
}

fn same_members(ours: &[Value], recorded: &[Value], path: &str) -> Result<(), String> {
    let mut left: Vec<&Value> = recorded.iter().collect();
    for item in ours {
        match left.iter().position(|r| item.is_identical(r)) {
            Some(i) => {
                left.swap_remove(i);
            }
            None => return Err(format!("{path}: {item:?} is not in the recorded {recorded:?}")),
        }
    }
    if left.is_empty() { Ok(()) } else { Err(format!("{path}: missing {left:?} (ours: {ours:?})")) }
}

fn short(v: &Value) -> String {
    v.as_str().map_or_else(|| format!("{v:?}"), str::to_string)
}

/// One test per conversation and server type.
macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => {
        /// The conversations replayed here.
        const REPLAYED: &[&str] = &[$(stringify!($name)),*];
        $(
            mod $name {
                #[test]
                fn thread() {
                    super::replay(stringify!($name), pyro5_std::ServerType::Thread);
                }
                #[test]
                fn multiplex() {
                    super::replay(stringify!($name), pyro5_std::ServerType::Multiplex);
                }
            }
        )*
    };
}

replay_tests!(
    raw_connect_bad_magic,
    raw_connect_bad_tag,
    raw_connect_bad_version,
    raw_connect_garbage_payload,
    raw_connect_json_handshake,
    raw_connect_missing_keys,
    raw_connect_too_large,
    raw_connect_unknown_serializer,
    raw_invoke_bad_annotation_length,
    raw_invoke_bad_call_shape,
    raw_invoke_bad_version,
    raw_invoke_before_connect,
    raw_invoke_compressed,
    raw_invoke_compressed_flag_plain_data,
    raw_invoke_daemon_unknown_stream,
    raw_invoke_garbage_payload,
    raw_invoke_keepserialized_no_blbi,
    raw_invoke_msgtype_result,
    raw_invoke_oneway_unknown_method,
    raw_invoke_seq_echo,
    raw_invoke_too_large,
    raw_invoke_unknown_serializer,
    raw_invoke_wrong_msgtype,
    raw_ping_any_payload,
    raw_ping_before_connect,
    serpent_unknown_method,
    serpent_ping,
    serpent_daemonobject,
    json_daemonobject,
    marshal_daemonobject,
    msgpack_daemonobject,
    serpent_invoke,
    json_invoke,
    marshal_invoke,
    msgpack_invoke,
    // Beyond the conversations asked for: every other recording that talks to the echo
    // server only.
    json_ping,
    marshal_ping,
    msgpack_ping,
    serpent_handshake,
    json_handshake,
    marshal_handshake,
    msgpack_handshake,
    serpent_exception,
    json_exception,
    marshal_exception,
    msgpack_exception,
    serpent_oneway,
    json_oneway,
    marshal_oneway,
    msgpack_oneway,
    serpent_batch,
    json_batch,
    marshal_batch,
    msgpack_batch,
    serpent_batch_oneway,
    serpent_stream,
    json_stream,
    marshal_stream,
    msgpack_stream,
    mixed_serializers_one_connection,
    serpent_seq_wraparound,
    serpent_invoke_unknown_object,
    serpent_connect_unknown_object,
    serpent_tricky_echo,
    json_nan_inf,
    daemon_annotations,
);

/// Every recorded conversation in the scope of this file (`raw_*`, `*_daemonobject`,
/// `*_invoke`, `serpent_ping`, `serpent_unknown_method`) is replayed or skipped with a reason.
#[test]
fn every_conversation_in_scope_is_replayed_or_skipped() {
    let dir = vectors_dir().join("conversations");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let name = entry.expect("a directory entry").file_name().to_string_lossy().into_owned();
        let Some(name) = name.strip_suffix(".json") else { continue };
        let in_scope = name.starts_with("raw_")
            || name.ends_with("_daemonobject")
            || name.ends_with("_invoke")
            || name == "serpent_ping"
            || name == "serpent_unknown_method";
        if in_scope && !REPLAYED.contains(&name) && !SKIPPED.iter().any(|(s, _)| *s == name) {
            missing.push(name.to_string());
        }
    }
    assert!(missing.is_empty(), "conversations neither replayed nor skipped: {missing:?}");
    for (name, why) in SKIPPED {
        assert!(dir.join(format!("{name}.json")).exists(), "{name} is skipped but not recorded");
        eprintln!("skipped {name}: {why}");
    }
}

/// `Daemon.annotations()` (`DaemonConfig::annotations`) go on every daemon reply: CONNECTOK,
/// CONNECTFAIL, RESULT, exception RESULT, batch RESULT, PING (`docs/wire-protocol.md`,
/// "Annotations", recorded in `daemon_annotations`).
#[test]
fn daemon_annotations_are_on_every_reply() {
    let dmn1 = ("DMN1".to_string(), b"daemon-annotation".to_vec());
    for server_type in SERVER_TYPES {
        let config = DaemonConfig {
            server_type,
            annotations: vec![("DMN1".try_into().expect("an annotation id"), dmn1.1.clone())],
            ..DaemonConfig::default()
        };
        let daemon = TestDaemon::echo_with(config);
        let mut client = daemon.client();
        client.send(&connect_frame(SerializerId::Serpent, OBJECT_ID, 0));
        let mut replies = vec![("CONNECTOK", client.read_frame())];
        replies.push(("RESULT", client.call(1, OBJECT_ID, "echo", &[Value::from("x")])));
        replies.push(("exception RESULT", client.call(2, OBJECT_ID, "error", &[])));
        client.send(&frame_with(
            MessageKind::Invoke,
            SerializerId::Serpent,
            3,
            Flags::BATCH,
            &[],
            b"# serpent utf-8 python3.2\n('test.echoserver','<batch>',[('echo',(1,),{})],None)",
        ));
        replies.push(("batch RESULT", client.read_frame()));
        client.send(&frame(MessageKind::Ping, SerializerId::Unknown(42), 4, b"ping"));
        replies.push(("PING", client.read_frame()));
        let mut refused = daemon.client();
        refused.send(&connect_frame(SerializerId::Serpent, "no.such.object", 0));
        replies.push(("CONNECTFAIL", refused.read_frame()));
        let missing: Vec<String> = replies
            .iter()
            .filter(|(_, reply)| reply.annotations != [dmn1.clone()])
            .map(|(what, reply)| format!("{what}: {}", reply.describe()))
            .collect();
        assert!(missing.is_empty(), "{server_type}: replies without the daemon's annotation:\n{}", missing.join("\n"));
    }
}

/// `ReadError` is what the harness reports for a close.
#[test]
fn harness_sees_a_close_as_closed() {
    let daemon = TestDaemon::echo(ServerType::Thread);
    let mut client = daemon.client();
    client.send(b"GET / HTTP/1.0\r\n\r\n");
    let fail = client.read_frame();
    fail.assert_connect_fail(0, "invalid data");
    assert!(matches!(client.read_frame_within(Duration::from_secs(3)), Err(ReadError::Closed { partial: 0 })));
}
