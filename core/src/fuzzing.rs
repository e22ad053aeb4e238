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

/// Drive a proxy's connection with arbitrary daemon replies after a real handshake,
/// interleaved (by the first byte and the data) with pipelined calls, oneway calls, pings
/// and abandoned calls: nothing panics, at most `MAX_IN_FLIGHT` calls wait, a late reply
/// is only ever one of an abandoned call, and every reply read is matched to a call.
pub fn client_connection(data: &[u8]) {
    use crate::client::{CallSpec, ClientSession, Extras, MAX_IN_FLIGHT, Reply};
    use crate::server::{ConnectionId, ObjectTable, Server, ServerConfig, ServerConnection, Streams};
    use crate::wire::SerializerId;
    use core::cell::RefCell;

    let Some((&control, mut rest)) = data.split_first() else { return };
    let limits = Limits::with_max_message_size(4096);
    // The handshake, answered by a real daemon connection.
    let objects = ObjectTable::<1>::new();
    let streams = RefCell::new(Streams::<1>::new());
    let config = ServerConfig { limits, ..ServerConfig::default() };
    let server = Server::new(&objects, &streams, &config);
    let (mut daemon_rx, mut daemon_tx) = ([0u8; 1024], [0u8; 1024]);
    let mut daemon =
        ServerConnection::new(ConnectionId(1), None, &mut daemon_rx[..], &mut daemon_tx[..], &config, 0, [control; 32]);
    let format = [SerializerId::Serpent, SerializerId::Json, SerializerId::Marshal, SerializerId::Msgpack]
        [usize::from(control % 4)];
    let mut client = ClientSession::new(format);
    let mut tx = [0u8; 1024];
    let Ok(len) = client.write_connect("Pyro.Daemon", &"hello", &Extras::default(), limits, &mut &mut tx[..]) else {
        return;
    };
    daemon.feed(&tx[..len], 0);
    daemon.serve_ready(&server);
    let mut rx = [0u8; 4096];
    let mut decoder = Decoder::new(&mut rx[..], limits);
    if !matches!(decoder.feed(daemon.tx_pending()), Ok(Progress::Complete { .. })) {
        return;
    }
    let connected = decoder.message().is_some_and(|m| client.read_connect(&m).is_ok());
    assert!(connected, "a real handshake succeeds");
    decoder.consume();

    let mut abandoned = [0u8; 65536 / 8];
    let mut step = usize::from(control);
    let spec = CallSpec { object: "Pyro.Daemon", method: "ping", oneway: false, batch: false };
    for _ in 0..rest.len().saturating_add(64) {
        step = step.wrapping_mul(31).wrapping_add(usize::from(control) + 7);
        match step % 7 {
            0 | 1 => {
                let oneway = step % 5 == 0;
                let call = CallSpec { oneway, ..spec };
                match client.write_call(
                    &call,
                    &(step as u32,),
                    None::<&()>,
                    &Extras::default(),
                    limits,
                    &mut &mut tx[..],
                ) {
                    Ok(sent) => assert!(sent.len >= HEADER_LEN && sent.expects_reply != oneway),
                    Err(e) => {
                        assert!(client.in_flight() == MAX_IN_FLIGHT || !matches!(e, crate::client::ClientError::Busy))
                    }
                }
            }
            2 => {
                let seq = client.seq().wrapping_sub((step % 5) as u16);
                if client.abandon(seq) {
                    abandoned[usize::from(seq / 8)] |= 1 << (seq % 8);
                }
            }
            3 => {
                let _ = client.write_ping(&Extras::default(), limits, &mut &mut tx[..]);
            }
            _ => {
                if rest.is_empty() {
                    break;
                }
                let take = (step % 61 + 1).min(rest.len());
                let (piece, tail) = rest.split_at(take);
                rest = tail;
                let mut piece = piece;
                while !piece.is_empty() {
                    match decoder.feed(piece) {
                        Ok(Progress::NeedMore) => break,
                        Ok(Progress::Complete { consumed }) => {
                            piece = &piece[consumed..];
                            let before = client.in_flight();
                            if let Some(message) = decoder.message() {
                                match client.read_reply(&message) {
                                    Ok(Reply::Late { seq }) => {
                                        assert!(abandoned[usize::from(seq / 8)] & (1 << (seq % 8)) != 0);
                                        assert_eq!(client.in_flight(), before - 1);
                                    }
                                    Ok(Reply::Pong) => assert_eq!(client.in_flight(), before),
                                    Ok(Reply::Value(body) | Reply::Exception(body) | Reply::Batch(body)) => {
                                        assert_eq!(client.in_flight(), before - 1);
                                        #[cfg(feature = "alloc")]
                                        let _ = body.decode::<crate::ser::value::Value>();
                                        let _ = body.exception();
                                    }
                                    Ok(Reply::Stream { .. }) => assert_eq!(client.in_flight(), before - 1),
                                    Err(_) => {}
                                }
                            }
                            decoder.consume();
                        }
                        Err(_) => {
                            // The stream is out of step: a proxy closes; start over.
                            client.reset();
                            return;
                        }
                    }
                }
            }
        }
        assert!(client.in_flight() <= MAX_IN_FLIGHT);
    }
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
