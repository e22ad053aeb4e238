//! Entry points for the fuzz targets in `fuzz/`, compiled under `cfg(fuzzing)` and for the
//! unit tests (which replay `fuzz/regressions/<target>/` through them). Each one asserts the
//! invariants that must hold for every input. The serializer targets need the `alloc` feature
//! (the fuzz crate turns it on) and their serializer's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use crate::limits::Limits;
use crate::uri::Uri;
use crate::wire::{
    Annotation, AnnotationsView, Decoder, HEADER_LEN, Header, OutgoingMessage, Progress, annotations, encode,
};

/// Feed `data` to a decoder in chunks whose sizes come from the input itself; every message
/// decoded must stay within the limits and re-encode to the bytes it came from.
pub fn decoder_chunked(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else { return };
    let max = 64 + u32::from(control) * 8;
    let limits = Limits::with_max_message_size(max);
    let mut storage = [0u8; 4096];
    let mut decoder = Decoder::new(&mut storage[..], limits);
    let mut input = rest;
    let mut step = 0usize;
    while !input.is_empty() {
        // Chunk sizes cycle through values derived from the control byte.
        step = step.wrapping_mul(31).wrapping_add(usize::from(control) + 1);
        let take = (step % 61 + 1).min(input.len());
        let (mut piece, tail) = input.split_at(take);
        input = tail;
        while !piece.is_empty() {
            match decoder.feed(piece) {
                Ok(Progress::NeedMore) => break,
                Ok(Progress::Complete { consumed }) => {
                    assert!(consumed <= piece.len());
                    check_message(&decoder.message().expect("complete"), limits);
                    piece = &piece[consumed..];
                }
                Err(_) => return,
            }
        }
    }
}

fn check_message(m: &crate::wire::Message<'_>, limits: Limits) {
    // The header as sent (an inflated message reports the inflated length).
    let h = Header::parse_bytes(m.as_bytes().first_chunk::<HEADER_LEN>().unwrap()).unwrap();
    assert!(h.body_len() <= u64::from(limits.max_message_size));
    if let Ok(payload) = m.payload() {
        assert!(payload.len() as u64 <= u64::from(limits.max_message_size));
    }
    assert_eq!(m.as_bytes().len() as u64, HEADER_LEN as u64 + h.body_len());
    let list: heapless::Vec<Annotation<'_>, 64> =
        m.annotations().take(64).map(|(id, v)| Annotation::new(id, v)).collect();
    if list.len() == 64 || h.flags.contains(crate::wire::Flags::COMPRESSED) || h.reserved != 0 {
        return;
    }
    let mut out = [0u8; 4096];
    let msg = OutgoingMessage::from_header(&h, &list);
    let n = encode(&msg, m.raw_payload(), &mut out, limits).expect("a decoded message re-encodes");
    // The encoder only differs in CORR_ID handling for a flag without an id: compare fields.
    let again = Header::parse_bytes(out.first_chunk::<HEADER_LEN>().unwrap()).unwrap();
    assert_eq!((again.kind, again.serializer, again.seq, again.data_len), (h.kind, h.serializer, h.seq, h.data_len));
    assert_eq!(&out[HEADER_LEN..n], &m.as_bytes()[HEADER_LEN..]);
}

/// Parse a header; a valid one must emit the same 40 bytes.
pub fn header(data: &[u8]) {
    let Some(bytes) = data.first_chunk::<HEADER_LEN>() else { return };
    if let Ok(h) = Header::parse_bytes(bytes) {
        let mut out = [0u8; HEADER_LEN];
        h.emit(&mut out);
        assert_eq!(&out, bytes);
    }
}

/// Validate annotation chunks; valid ones must write back to the same bytes.
pub fn annotations(data: &[u8]) {
    if let Ok(view) = AnnotationsView::new_checked(data) {
        let list: heapless::Vec<Annotation<'_>, 512> =
            view.iter().take(512).map(|(id, v)| Annotation::new(id, v)).collect();
        let mut out = [0u8; 8192];
        if list.len() < 512 && data.len() <= out.len() {
            let n = annotations::write(&list, &mut out).expect("fits");
            assert_eq!(&out[..n], data);
        }
    }
}

/// Parse arbitrary text as a URI; an accepted one prints as text that parses back to it
/// (unless Python's own printing loses it, see [`Uri::round_trips`]).
pub fn uri(data: &[u8]) {
    use core::fmt::Write;
    let Ok(text) = core::str::from_utf8(data) else { return };
    let Ok(uri) = Uri::parse(text) else { return };
    let mut printed = heapless::String::<8192>::new();
    if text.len() > 4096 || write!(printed, "{uri}").is_err() {
        return;
    }
    let back = Uri::parse(&printed);
    if uri.round_trips() {
        assert_eq!(back, Ok(uri), "{text:?} printed as {printed:?}");
    }
}

/// Invariants every format's deserializer keeps on arbitrary input: no panic; a value that
/// decodes re-encodes to bytes that decode to the same value (for serpent: a value that
/// settles after a few rounds, since a `b'..'` literal reads as bytes that serpent writes as
/// a base64 dict, and Python's complex syntax loses some signed zeros); `skip_value`'s span decodes to what
/// decoding in place gives; a typed target never panics either.
macro_rules! format_target {
    ($name:ident, $fmt:ident, $lossless:expr) => {
        pub fn $name(data: &[u8]) {
            use crate::ser::$fmt;
            type Typed<'a> = crate::ser::envelope::Call<'a, (i64, &'a str, Option<f64>), serde::de::IgnoredAny>;
            let _ = $fmt::from_slice::<Typed<'_>>(data);
            let _ = $fmt::from_slice::<(bool, crate::ser::python::Complex, crate::ser::python::BigInt<'_>)>(data);
            let value = $fmt::from_slice::<crate::ser::value::Value>(data);
            // A whole payload that is one value (serpent's bare top-level `1, 2` is a tuple
            // whose first element is what skip_value finds).
            if let Ok((span, rest)) = $fmt::skip_value(data) {
                if rest.iter().all(u8::is_ascii_whitespace) {
                    let from_span = $fmt::from_slice::<crate::ser::value::Value>(span);
                    if let (Ok(a), Ok(b)) = (&value, &from_span) {
                        assert!(a.is_identical(b), "skip_value span decodes differently");
                    }
                }
            }
            if let Ok(v) = value {
                // serpent writes bytes as a dict, as serpent.dumps does, which is unhashable
                // where the bytes were a set element or dict key: Python cannot read those
                // back either. The lossless formats must always read their own bytes.
                let round = |v: &crate::ser::value::Value| {
                    let bytes = $fmt::to_vec(v).ok()?;
                    let back = $fmt::from_slice::<crate::ser::value::Value>(&bytes);
                    assert!(back.is_ok() || !$lossless, "our own bytes for {v:?} do not decode: {back:?}");
                    back.ok()
                };
                if $lossless {
                    if let Some(again) = round(&v) {
                        assert!(again.is_identical(&v), "{v:?} came back as {again:?}");
                    }
                } else {
                    // Settles within a few rounds (each round can drop one more signed zero).
                    let mut current = v;
                    for _ in 0..4 {
                        match round(&current) {
                            Some(next) if next.is_identical(&current) => return,
                            Some(next) => current = next,
                            None => return,
                        }
                    }
                    panic!("{current:?} keeps changing when written and read again");
                }
            }
        }
    };
}

#[cfg(all(feature = "alloc", feature = "serpent"))]
format_target!(serpent_de, serpent, false);
#[cfg(all(feature = "alloc", feature = "json"))]
format_target!(json_de, json, true);
#[cfg(all(feature = "alloc", feature = "marshal"))]
format_target!(marshal_de, marshal, true);
#[cfg(all(feature = "alloc", feature = "msgpack"))]
format_target!(msgpack_de, msgpack, true);

/// Drive a daemon connection with an arbitrary byte stream in arbitrary chunks (sizes from
/// the first byte), interleaved with time jumps past its idle and send timeouts, partial
/// writes, and calls answered at once, later, with a value computed elsewhere, or handed off:
/// nothing panics, every reply is one well-formed message within the limits, nothing is read
/// while a call or a reply is pending, and a closed connection stays closed.
pub fn server_connection(data: &[u8]) {
    use crate::server::{
        CallHandle, ConnectionId, Invocation, Metadata, ObjectTable, PyroObject, Qualname, Replied, Reply, Server,
        ServerConfig, ServerConnection, ServerEvent, StreamConfig, StreamCursor, Streams,
    };
    use core::cell::RefCell;

    struct Echo;
    impl PyroObject for Echo {
        fn metadata(&self) -> Metadata<'static> {
            Metadata { class_name: "Echo", methods: &["echo", "value", "count"], oneway: &[], attrs: &["x"] }
        }
        fn invoke(&mut self, inv: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
            let f = Qualname { class_name: "Echo", method: inv.method };
            match inv.method {
                "echo" => match inv.args.check(f, &["m"]).and_then(|()| inv.args.required::<&str>(f, 0, "m")) {
                    Ok(m) => reply.ok(m),
                    Err(e) => reply.raise(&e),
                },
                "value" => match inv.args.required::<crate::ser::value::Value>(f, 0, "v") {
                    Ok(v) => reply.ok(&v),
                    Err(e) => reply.raise(&e),
                },
                _ => reply.stream(0),
            }
        }
        fn get_attr(&mut self, _: &str, _: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
            reply.ok(&1)
        }
        fn next_item(&mut self, _: &str, cursor: &mut StreamCursor, reply: Reply<'_, '_>) -> Replied {
            *cursor += 1;
            if *cursor > 3 { reply.stop() } else { reply.ok(cursor) }
        }
    }

    /// Whatever the connection queued: one whole message within the limits.
    fn check_reply(bytes: &[u8], limits: Limits) {
        assert!(bytes.len() >= HEADER_LEN, "a reply shorter than a header");
        let h = Header::parse_bytes(bytes[..HEADER_LEN].try_into().unwrap()).unwrap();
        assert_eq!(HEADER_LEN as u64 + h.body_len(), bytes.len() as u64);
        assert!(h.body_len() <= u64::from(limits.max_message_size));
    }

    let Some((&control, rest)) = data.split_first() else { return };
    let limits = Limits::with_max_message_size(256 + u32::from(control) * 16);
    let echo = RefCell::new(Echo);
    let mut objects = ObjectTable::<2>::new();
    objects.register("test.echoserver", &echo).unwrap();
    let streams = RefCell::new(Streams::<2>::new());
    let config = ServerConfig {
        limits,
        idle_timeout_ms: Some(30_000),
        send_timeout_ms: Some(10_000),
        streams: StreamConfig { enabled: true, lifetime_ms: 20_000, linger_ms: 5_000 },
        ..ServerConfig::default()
    };
    let server = Server::new(&objects, &streams, &config);
    let (mut rx, mut tx) = ([0u8; 4096], [0u8; 2048]);
    let mut conn = ServerConnection::new(ConnectionId(1), None, &mut rx[..], &mut tx[..], &config, 0, [control; 32]);
    let mut input = rest;
    let mut step = usize::from(control);
    let mut now = 0u64;
    let mut held: Option<CallHandle> = None;
    let mut ended = false;
    // Every round makes progress on the input, the time or the replies: bounded.
    for _ in 0..rest.len().saturating_mul(4).saturating_add(64) {
        step = step.wrapping_mul(31).wrapping_add(usize::from(control) + 1);
        let was_empty = conn.tx_pending().is_empty();
        while held.is_none() {
            match conn.poll_event(&server) {
                None => break,
                Some(ServerEvent::Closed(_)) => {
                    assert!(!ended, "Closed is reported once");
                    ended = true;
                }
                Some(ServerEvent::Call(call)) => match (step >> 3) % 4 {
                    0 => conn.run(call, &server).unwrap(),
                    1 => conn.reply(call, &server, |inv, reply| reply.ok(inv.method)).unwrap(),
                    2 if call.is_oneway() => {
                        let mut copy = [0u8; 4096];
                        let bytes = conn.message(&call).expect("the call's message");
                        copy[..bytes.len()].copy_from_slice(bytes);
                        let len = bytes.len();
                        conn.hand_off(call).unwrap();
                        let (mut rx2, mut tx2) = ([0u8; 4096], [0u8; 64]);
                        let mut elsewhere = ServerConnection::after_handshake(
                            ConnectionId(1),
                            None,
                            &mut rx2[..],
                            &mut tx2[..],
                            &config,
                            now,
                            [1; 32],
                        );
                        assert_eq!(elsewhere.feed(&copy[..len], now), len);
                        elsewhere.serve_ready(&server);
                        assert!(elsewhere.tx_pending().is_empty(), "a oneway call answers nothing");
                    }
                    _ => held = Some(call),
                },
            }
        }
        if was_empty && !conn.tx_pending().is_empty() {
            check_reply(conn.tx_pending(), limits);
        }
        if !conn.tx_pending().is_empty() || held.is_some() || conn.is_closed() {
            assert!(conn.read_buf().is_empty(), "nothing is read while a reply or call is pending");
        }
        let pending = conn.tx_pending().len();
        if step % 5 != 0 {
            conn.tx_advance((step % 61).min(pending), now);
        }
        now += match step % 11 {
            0 => 45_000,
            1 => 9_000,
            _ => (step % 100) as u64,
        };
        conn.handle_timeout(now, &server);
        server.handle_timeout(now);
        if let Some(call) = held.take_if(|_| step % 3 == 0) {
            let answered = match step % 2 {
                0 => conn.run(call, &server),
                _ => conn.reply(call, &server, |_, reply| reply.ok(&now)),
            };
            // A time jump may have ended the connection (and dropped the call) meanwhile.
            assert!(answered.is_ok() || conn.close_reason().is_some());
        }
        if conn.is_closed() {
            assert!(conn.read_buf().is_empty(), "a closed connection reads nothing");
            if ended {
                break;
            }
            continue;
        }
        if input.is_empty() {
            if conn.wants_read() {
                conn.commit(0, now);
            }
            continue;
        }
        let take = (step % 97 + 1).min(input.len());
        let taken = conn.feed(&input[..take], now);
        input = &input[taken..];
    }
    conn.close(&server);
    assert!(conn.is_closed());
}

/// Drive a proxy's owning [`ClientConnection`](crate::client::ClientConnection) (fixed
/// storage slices, no allocator) after a real handshake with a daemon connection, with
/// arbitrary daemon bytes in arbitrary chunks or (a bit of the first byte) with the real
/// daemon's answers, the data choosing the steps: pipelined calls (oneway from the object's
/// metadata or forced, with and without deadlines), pings, abandoned calls, time jumps
/// through `handle_timeout`, partial writes, and item streams' requests, takes and closes.
/// Nothing panics, at most `MAX_IN_FLIGHT` calls wait, a reply is only ever one of a call
/// still waited for and is shown by `reply()`, `TimedOut` only comes for a call with a
/// deadline that passed, after `Closed` (reported once) no event comes and no request is
/// taken, and with the real daemon the connection never ends before the daemon closes it.
pub fn client_connection(data: &[u8]) {
    use crate::client::{
        ClientConnection, ClientError, ClientEvent, Extras, ItemStream, MAX_IN_FLIGHT, ObjectMetadata, PackedNames,
        Reply, StreamItem,
    };
    use crate::server::{
        ConnectionId, Invocation, Metadata, ObjectTable, PyroObject, Replied, Reply as ServerReply, Server,
        ServerConfig, ServerConnection, StreamConfig, StreamCursor, Streams,
    };
    use crate::wire::{SerializerId, StreamId};
    use core::cell::RefCell;

    /// What the daemon serves: a value, an item stream of 1, 2, 3, a oneway method, a property.
    struct Counter;
    impl PyroObject for Counter {
        fn metadata(&self) -> Metadata<'static> {
            Metadata { class_name: "Counter", methods: &["echo", "count", "note"], oneway: &["note"], attrs: &["size"] }
        }
        fn invoke(&mut self, inv: &Invocation<'_>, reply: ServerReply<'_, '_>) -> Replied {
            match inv.method {
                "count" => reply.stream(0),
                _ => reply.ok(inv.method),
            }
        }
        fn get_attr(&mut self, _: &str, _: &Invocation<'_>, reply: ServerReply<'_, '_>) -> Replied {
            reply.ok(&1)
        }
        fn next_item(&mut self, _: &str, cursor: &mut StreamCursor, reply: ServerReply<'_, '_>) -> Replied {
            *cursor += 1;
            if *cursor > 3 { reply.stop() } else { reply.ok(cursor) }
        }
    }

    let Some((&control, mut rest)) = data.split_first() else { return };
    // The real daemon answers the requests, the data only chooses the steps.
    let real = control & 0x10 != 0;
    let limits = Limits::with_max_message_size(4096);
    const OBJECT: &str = "fuzz.counter";
    let counter = RefCell::new(Counter);
    let mut objects = ObjectTable::<1>::new();
    objects.register(OBJECT, &counter).unwrap();
    let streams = RefCell::new(Streams::<2>::new());
    let config = ServerConfig {
        limits,
        streams: StreamConfig { enabled: true, lifetime_ms: 0, linger_ms: 0 },
        ..ServerConfig::default()
    };
    let server = Server::new(&objects, &streams, &config);
    let (mut daemon_rx, mut daemon_tx) = ([0u8; 4096], [0u8; 4096]);
    let mut daemon =
        ServerConnection::new(ConnectionId(1), None, &mut daemon_rx[..], &mut daemon_tx[..], &config, 0, [control; 32]);
    let format = [SerializerId::Serpent, SerializerId::Json, SerializerId::Marshal, SerializerId::Msgpack]
        [usize::from(control % 4)];
    let (mut rx, mut tx) = ([0u8; 4096], [0u8; 2048]);
    let mut conn = ClientConnection::new(format, &mut rx[..], &mut tx[..], limits);
    let extras = Extras::default();
    let mut now = 0u64;
    if conn.connect(OBJECT, &"hello", &extras, now, Some(5_000)).is_err() {
        return;
    }
    let request_len = conn.tx_pending().len();
    assert!(request_len >= HEADER_LEN);
    daemon.feed(conn.tx_pending(), 0);
    conn.tx_advance(request_len);
    daemon.serve_ready(&server);
    let answer = daemon.tx_pending();
    let answer_len = answer.len();
    assert_eq!(conn.feed(answer, 0), answer_len, "the handshake answer fits");
    daemon.tx_advance(answer_len, 0);
    assert_eq!(conn.poll_event(), Some(ClientEvent::Connected), "a real handshake succeeds");
    let connected = conn.connected().expect("the answer is shown after Connected");
    let metadata = ObjectMetadata::<PackedNames<256>>::read(&connected).expect("the object's metadata");
    assert_eq!(metadata.get_attr(OBJECT, "echo"), Err(ClientError::NotExposed));
    assert_eq!(metadata.method(OBJECT, "size", false), Err(ClientError::NotExposed));
    assert!(conn.is_ready() && conn.poll_event().is_none());

    /// One bit per sequence number.
    struct Seqs([u8; 65536 / 8]);
    impl Seqs {
        fn set(&mut self, seq: u16, on: bool) {
            let (byte, bit) = (usize::from(seq / 8), 1u8 << (seq % 8));
            if on { self.0[byte] |= bit } else { self.0[byte] &= !bit }
        }
        fn has(&self, seq: u16) -> bool {
            self.0[usize::from(seq / 8)] & (1 << (seq % 8)) != 0
        }
        fn clear(&mut self) {
            self.0 = [0; 65536 / 8];
        }
    }
    // Calls whose reply is still waited for (not given up), and the deadlines of those that
    // have one.
    let mut waited = Seqs([0; 65536 / 8]);
    let mut deadlines: heapless::LinearMap<u16, u64, { 2 * MAX_IN_FLIGHT }> = heapless::LinearMap::new();
    let mut pongs_due = 0u32;
    let mut closed = false;
    let mut stream: Option<ItemStream> = None;
    // The requests of `stream` still waited for.
    let mut stream_seqs: heapless::Vec<u16, MAX_IN_FLIGHT> = heapless::Vec::new();
    let mut step = usize::from(control);
    let methods = ["echo", "count", "note", "size"];

    for round in 0..rest.len().saturating_add(64) {
        step = step.wrapping_mul(31).wrapping_add(usize::from(control) + 7);
        if real {
            let Some((&choice, tail)) = rest.split_first() else { break };
            step ^= usize::from(choice) * 11;
            rest = tail;
        }
        let deadline = (step % 3 != 0).then(|| now + (step % 2000) as u64);
        match step % 11 {
            0 | 1 => {
                let call = match methods[step / 11 % methods.len()] {
                    "size" => metadata.get_attr(OBJECT, "size"),
                    method => metadata.method(OBJECT, method, step % 5 == 0),
                };
                let call = call.expect("an exposed name");
                let before = conn.in_flight();
                match conn.call(&call, &(step as u32,), None::<&()>, &extras, deadline) {
                    Ok(sent) => {
                        assert!(!closed, "a call queued after Closed");
                        assert_eq!(sent.expects_reply, !call.oneway);
                        if sent.expects_reply {
                            assert_eq!(conn.in_flight(), before + 1);
                            waited.set(sent.seq, true);
                            deadlines.remove(&sent.seq);
                            if let Some(d) = deadline {
                                deadlines.insert(sent.seq, d).expect("room for every waiting call's deadline");
                            }
                        }
                    }
                    Err(ClientError::Busy) => assert_eq!(conn.in_flight(), MAX_IN_FLIGHT),
                    Err(ClientError::NotExpected) => assert!(closed),
                    // The transmit storage is full of requests not written yet.
                    Err(ClientError::Encode(_) | ClientError::Serialize(_)) => assert!(!conn.tx_pending().is_empty()),
                    Err(e) => panic!("a small call refused: {e:?}"),
                }
            }
            2 => {
                let seq = conn.seq().wrapping_sub((step % 5) as u16);
                if conn.abandon(seq) {
                    assert!(waited.has(seq), "abandoned a call not waited for");
                    waited.set(seq, false);
                    deadlines.remove(&seq);
                }
            }
            3 => match conn.ping(&extras) {
                Ok(()) => pongs_due += 1,
                Err(ClientError::Encode(_) | ClientError::Serialize(_)) => assert!(!conn.tx_pending().is_empty()),
                Err(_) => assert!(closed),
            },
            4 => {
                now += (step % 1500) as u64;
                conn.handle_timeout(now);
            }
            5 => {
                let n = step % 97;
                let pending = conn.tx_pending().len();
                let n = if real { daemon.feed(&conn.tx_pending()[..n.min(pending)], now) } else { n };
                conn.tx_advance(n);
                assert_eq!(conn.tx_pending().len(), pending.saturating_sub(n));
            }
            6 => {
                let s = stream.get_or_insert_with(|| ItemStream::new(StreamId([control; 16]), step % 5));
                let first = conn.seq();
                match s.request(&mut conn, &extras, deadline) {
                    Ok(queued) => {
                        assert!((queued == 0 || !closed) && s.waiting() <= MAX_IN_FLIGHT);
                        for n in 1..=queued {
                            let seq = first.wrapping_add(n as u16);
                            let _ = stream_seqs.push(seq);
                            waited.set(seq, true);
                            deadlines.remove(&seq);
                            if let Some(d) = deadline {
                                deadlines.insert(seq, d).expect("room for every waiting call's deadline");
                            }
                        }
                    }
                    Err(ClientError::Busy) => assert_eq!(conn.in_flight(), MAX_IN_FLIGHT),
                    Err(ClientError::Encode(_) | ClientError::Serialize(_)) => assert!(!conn.tx_pending().is_empty()),
                    Err(_) => assert!(closed),
                }
            }
            7 if step % 3 == 0 => {
                if let Some(mut s) = stream.take() {
                    let _ = s.close(&mut conn, &extras);
                    assert_eq!(s.waiting(), 0);
                    // Its requests are given up: their replies, if they come, are dropped.
                    for seq in stream_seqs.drain(..) {
                        assert!(!conn.abandon(seq), "close gave up request {seq}");
                        waited.set(seq, false);
                        deadlines.remove(&seq);
                    }
                }
            }
            _ if real || step % 11 == 8 => {
                // A round trip to the real daemon: what it takes of the requests, its answers.
                let taken = daemon.feed(conn.tx_pending(), now);
                conn.tx_advance(taken);
                daemon.serve_ready(&server);
                let answered = conn.feed(daemon.tx_pending(), now);
                daemon.tx_advance(answered, now);
            }
            _ => {
                if rest.is_empty() {
                    if round % 2 == 0 && !closed {
                        // The daemon closes the connection.
                        conn.commit(0, now);
                    }
                } else {
                    let piece = &rest[..(step % 61 + 1).min(rest.len())];
                    if step % 2 == 0 {
                        let taken = conn.feed(piece, now);
                        rest = &rest[taken..];
                    } else {
                        let buf = conn.read_buf();
                        let n = buf.len().min(piece.len());
                        buf[..n].copy_from_slice(&piece[..n]);
                        if n > 0 {
                            conn.commit(n, now);
                        }
                        rest = &rest[n..];
                    }
                }
            }
        }
        // Everything that happened.
        while let Some(event) = conn.poll_event() {
            assert!(!closed, "an event after Closed: {event:?}");
            match event {
                ClientEvent::Connected => panic!("a second handshake answer"),
                ClientEvent::Reply { seq } => {
                    assert!(waited.has(seq), "a reply to call {seq}, which nothing waits for");
                    waited.set(seq, false);
                    deadlines.remove(&seq);
                    stream_seqs.retain(|s| *s != seq);
                    let reply = conn.reply().expect("the reply is shown after Reply");
                    assert!(conn.message().is_some());
                    match reply {
                        Reply::Value(body) | Reply::Exception(body) | Reply::Batch(body) => {
                            #[cfg(feature = "alloc")]
                            let _ = body.decode::<crate::ser::value::Value>();
                            let _ = body.exception();
                        }
                        Reply::Stream { id, .. } => {
                            if stream.is_none() {
                                stream = Some(ItemStream::new(id, step % 4 + 1));
                            }
                        }
                        Reply::Pong | Reply::Late { .. } => panic!("{reply:?} as a call's reply"),
                    }
                    if let Some(s) = stream.as_mut().filter(|s| s.next_seq() == Some(seq)) {
                        match s.take(reply) {
                            Ok(StreamItem::End) => assert!(s.is_over()),
                            Ok(StreamItem::Item(_) | StreamItem::Raised(_)) | Err(_) => {}
                        }
                    }
                }
                ClientEvent::Pong => {
                    assert!(pongs_due > 0, "a pong with no ping");
                    pongs_due -= 1;
                    assert!(matches!(conn.reply(), Some(Reply::Pong)));
                }
                ClientEvent::TimedOut { seq } => {
                    let due = deadlines.remove(&seq);
                    assert!(due.is_some_and(|d| d <= now), "call {seq} timed out with deadline {due:?} at {now}");
                    assert!(waited.has(seq));
                    waited.set(seq, false);
                    stream_seqs.retain(|s| *s != seq);
                    if let Some(s) = stream.as_mut().filter(|s| s.next_seq() == Some(seq)) {
                        s.forget_next();
                    }
                }
                ClientEvent::Closed(e) => {
                    // A real daemon answering well-formed requests never ends the connection.
                    assert!(!real, "the real daemon's answers ended the connection: {e:?}");
                    closed = true;
                    assert!(conn.is_closed() && !conn.is_ready());
                    assert_eq!(conn.in_flight(), 0);
                    assert_eq!(conn.poll_timeout(), None);
                    waited.clear();
                    deadlines.clear();
                    stream_seqs.clear();
                    pongs_due = 0;
                }
            }
        }
        assert!(conn.in_flight() <= MAX_IN_FLIGHT);
        if closed {
            assert!(conn.read_buf().is_empty(), "bytes taken after Closed");
        }
    }
    if !closed {
        conn.commit(0, now);
        assert!(matches!(conn.poll_event(), Some(ClientEvent::Closed(_))), "the end of the stream closes");
    }
    assert_eq!(conn.poll_event(), None);
}

/// The exact float algorithms (feature `small`) against core's: `data` as text reads to the
/// same `f64` (or is refused by both); any 8 bytes as an `f64` are written as the same text,
/// and that text reads back to the number.
pub fn float_text(data: &[u8]) {
    use crate::ser::float::exact;
    if let Ok(text) = core::str::from_utf8(data) {
        let ours = exact::parse(text);
        let core_value = text.parse::<f64>().ok();
        match (ours, core_value) {
            (Some(a), Some(b)) => {
                assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{text:?}: {a:e} vs {b:e}")
            }
            (a, b) => assert_eq!(a.is_some(), b.is_some(), "{text:?}"),
        }
    }
    if let Some(bytes) = data.get(..8) {
        let value = f64::from_bits(u64::from_le_bytes(bytes.try_into().unwrap()));
        if value.is_finite() {
            let (mut ours, mut theirs) = (alloc::string::String::new(), alloc::string::String::new());
            exact::write_repr(&mut ours, value).unwrap();
            crate::ser::float::write_repr_core(&mut theirs, value).unwrap();
            assert_eq!(ours, theirs, "{value:e}");
            assert_eq!(exact::parse(&ours).map(f64::to_bits), Some(value.to_bits()), "{ours}");
        }
    }
}

/// Every input in `fuzz/regressions/<target>/` once made its fuzz target fail: each goes
/// through that target's check again.
#[cfg(all(test, feature = "serpent", feature = "json", feature = "marshal", feature = "msgpack"))]
mod regressions {
    use std::path::{Path, PathBuf};
    use std::string::{String, ToString};
    use std::vec::Vec;
    use std::{fs, panic};

    fn check_of(target: &str) -> Option<fn(&[u8])> {
        Some(match target {
            "decoder_chunked" => super::decoder_chunked,
            "header" => super::header,
            "annotations" => super::annotations,
            "uri" => super::uri,
            "server_connection" => super::server_connection,
            "client_connection" => super::client_connection,
            "float_text" => super::float_text,
            "serpent_de" => super::serpent_de,
            "json_de" => super::json_de,
            "marshal_de" => super::marshal_de,
            "msgpack_de" => super::msgpack_de,
            _ => return None,
        })
    }

    fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        entries
    }

    #[test]
    fn every_fuzz_target_can_be_replayed() {
        let targets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
        let names: Vec<String> =
            sorted_entries(&targets).iter().map(|p| p.file_stem().unwrap().to_string_lossy().to_string()).collect();
        assert!(!names.is_empty());
        for name in names {
            assert!(check_of(&name).is_some(), "fuzz target {name} has no replay check here");
        }
    }

    #[test]
    fn every_regression_input_passes_its_fuzz_target_check() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
        let mut failed: Vec<String> = Vec::new();
        let mut replayed = 0;
        for dir in sorted_entries(&root) {
            let target = dir.file_name().unwrap().to_string_lossy().to_string();
            let check = check_of(&target).unwrap_or_else(|| panic!("fuzz/regressions/{target}: no such fuzz target"));
            for file in sorted_entries(&dir) {
                let data = fs::read(&file).unwrap();
                replayed += 1;
                if panic::catch_unwind(|| check(&data)).is_err() {
                    failed.push(std::format!("{target}/{}", file.file_name().unwrap().to_string_lossy()));
                }
            }
        }
        assert!(replayed > 0, "no regression inputs in {}", root.display());
        assert!(failed.is_empty(), "regression inputs that fail their fuzz target's check again: {failed:?}");
    }
}
