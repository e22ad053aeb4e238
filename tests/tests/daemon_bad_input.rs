//! Bad network input never kills or hangs the daemon: each case below sends something
//! malformed, hostile or rude over a real socket, checks the daemon's answer (in
//! `docs/wire-protocol.md`: "Message size limit", "Checking a received header", "Handshake",
//! "When the daemon closes a connection"), and then a normal client must still be served
//! (CONNECT + INVOKE `echo("ok")`) and every connection must be freed. Every case runs on both
//! server types; every read has a deadline; dropping the daemon checks that it shuts down in
//! time.

use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use pyro5_core::ser::value::Value;
use pyro5_core::wire::compression::deflate;
use pyro5_core::wire::{Flags, MessageKind, OutgoingMessage, SerializerId};
use pyro5_interop_tests::daemon_harness::{
    Frame, RawClient, ReadError, TestDaemon, connect_frame, encode_frame, frame, frame_with, invoke_frame,
    proc_status_kb,
};
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::{DaemonConfig, ServerType};

/// The memory test measures the whole process: it runs alone, the others share.
static PROCESS: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    PROCESS.read().unwrap_or_else(PoisonError::into_inner)
}

/// How long a connection is watched to see that it stays open.
const QUIET: Duration = Duration::from_millis(200);

/// A valid serpent CONNECT for the echo server, sequence 0.
fn connect() -> Vec<u8> {
    connect_frame(SerializerId::Serpent, OBJECT_ID, 0)
}

/// A client past its handshake.
fn ready_client(daemon: &TestDaemon) -> RawClient {
    let mut client = daemon.client();
    client.handshake(OBJECT_ID);
    client
}

/// After a case: a normal client is served, and every connection is freed (`open` of them
/// may stay, held by the test).
fn still_serves(daemon: &TestDaemon, open: usize) {
    daemon.assert_serves_echo();
    daemon.wait_for_connections(open, Duration::from_secs(3));
}

/// A small deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0.to_le_bytes()[3]
            })
            .collect()
    }
}

/// The header of `frame` with its `data_size` and `annotations_size` replaced.
fn header_announcing(kind: MessageKind, data_size: u32, annotations_size: u32) -> Vec<u8> {
    let mut header = frame(kind, SerializerId::Serpent, 0, b"");
    header[12..16].copy_from_slice(&data_size.to_be_bytes());
    header[16..20].copy_from_slice(&annotations_size.to_be_bytes());
    header
}

/// The CONNECT with byte `at` of its header replaced by `value`.
fn connect_patched(at: usize, value: &[u8]) -> Vec<u8> {
    let mut bytes = connect();
    bytes[at..at + value.len()].copy_from_slice(value);
    bytes
}

/// A frame whose single annotation chunk announces `announced` bytes but carries 4.
fn overrunning_annotation(kind: MessageKind, payload: &[u8]) -> Vec<u8> {
    let mut bytes = frame_with(kind, SerializerId::Serpent, 3, Flags::empty(), &[("ABCD", b"1234")], payload);
    bytes[44..48].copy_from_slice(&999u32.to_be_bytes());
    bytes
}

// ---------------------------------------------------------------------------------------

/// 1 KiB of random bytes as the first message: CONNECTFAIL "invalid data" (marshal, seq 0),
/// then close (`docs/wire-protocol.md`, "Checking a received header" step 1, "Handshake").
fn garbage_as_first_message_is_refused_with_connectfail(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo(server_type);
    let garbage = XorShift(0x5eed_1234_abcd_0001).bytes(1024);
    assert_ne!(&garbage[..4], b"PYRO");
    let mut client = daemon.client();
    client.send(&garbage);
    client.read_frame().assert_connect_fail(0, "invalid data");
    client.expect_closed();
    still_serves(&daemon, 0);
}

/// 1 KiB of random bytes after a good handshake: closed without a reply
/// (`docs/wire-protocol.md`, "When the daemon closes a connection").
fn garbage_after_handshake_closes_silently(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo(server_type);
    let mut client = ready_client(&daemon);
    // Sent in pieces with a pause: the daemon may close before all of it was sent.
    for chunk in XorShift(0x5eed_1234_abcd_0002).bytes(1024).chunks(256) {
        if client.try_send(chunk).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    client.expect_closed();
    still_serves(&daemon, 0);
}

/// Wrong tag, version or magic on the first message: CONNECTFAIL in marshal, sequence 0, with
/// Pyro's texts (`docs/wire-protocol.md`, "Checking a received header"), then close.
fn bad_tag_version_or_magic_is_refused_with_pyro_texts(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo(server_type);
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("tag", connect_patched(0, b"PYRX"), "invalid data"),
        ("version 501", connect_patched(4, &501u16.to_be_bytes()), "invalid protocol version: 501"),
        ("version 0", connect_patched(4, &0u16.to_be_bytes()), "invalid protocol version: 0"),
        ("magic", connect_patched(38, &0x4dc6u16.to_be_bytes()), "invalid message or protocol version"),
    ];
    for (what, bytes, text) in cases {
        let mut client = daemon.client();
        client.send(&bytes);
        let reply = client.read_frame();
        assert_eq!(reply.header.kind, MessageKind::ConnectFail, "bad {what}: {}", reply.describe());
        reply.assert_connect_fail(0, text);
        client.expect_closed();
    }
    // After the handshake the same frames close the connection without a reply.
    for bytes in [connect_patched(0, b"PYRX"), connect_patched(4, &501u16.to_be_bytes()), connect_patched(38, b"\0\0")]
    {
        let mut client = ready_client(&daemon);
        let _ = client.try_send(&bytes);
        client.expect_closed();
    }
    still_serves(&daemon, 0);
}

/// A header announcing a 2 GiB body: refused from the header alone, CONNECTFAIL "message too
/// large (2147483648, max=1073741824)" then close, and the daemon's memory does not grow
/// (`docs/wire-protocol.md`, "Message size limit"). After the handshake: closed without a
/// reply. Sizes whose sum overflows 32 bits are refused with the true sum.
fn huge_announced_body_is_refused_before_allocating(server_type: ServerType) {
    // Alone in the process, so its memory is the daemon's.
    let _process = PROCESS.write().unwrap_or_else(PoisonError::into_inner);
    let daemon = TestDaemon::echo(server_type);
    // Warm up: the worker threads and their allocator arenas exist before measuring.
    still_serves(&daemon, 0);
    let rss_before = proc_status_kb("VmRSS");
    let size_before = proc_status_kb("VmSize");
    let peak_before = proc_status_kb("VmPeak");

    let mut client = daemon.client();
    client.send(&header_announcing(MessageKind::Connect, 1 << 31, 0));
    client.read_frame().assert_connect_fail(0, "message too large (2147483648, max=1073741824)");
    client.expect_closed();

    let mut client = daemon.client();
    client.send(&header_announcing(MessageKind::Connect, u32::MAX, u32::MAX));
    client.read_frame().assert_connect_fail(0, "message too large (8589934590, max=1073741824)");
    client.expect_closed();

    let mut client = ready_client(&daemon);
    client.send(&header_announcing(MessageKind::Invoke, 1 << 31, 0));
    client.expect_closed();
    daemon.wait_for_connections(0, Duration::from_secs(3));

    let rss_after = proc_status_kb("VmRSS");
    let peak_after = proc_status_kb("VmPeak");
    eprintln!("{server_type}: VmRSS {rss_before} -> {rss_after} kB, VmPeak {peak_before} -> {peak_after} kB");
    assert!(
        rss_after < rss_before + 8 * 1024,
        "resident memory grew from {rss_before} kB to {rss_after} kB after refusing 2 GiB messages"
    );
    // A reservation of the announced size (even untouched) would show in the peak.
    assert!(
        peak_after < peak_before.max(size_before) + 1024 * 1024,
        "virtual memory peaked at {peak_after} kB (was {peak_before} kB, size {size_before} kB)"
    );
    still_serves(&daemon, 0);
}

/// An annotation chunk whose length runs past the annotations: during the handshake CONNECTFAIL
/// "annotation chunk length exceeds remaining data" (marshal, seq 0) then close; after it,
/// close without a reply (`docs/wire-protocol.md`, "Annotations").
fn annotation_chunk_overrunning_is_refused(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo(server_type);
    let payload = pyro5_interop_tests::daemon_harness::connect_payload(SerializerId::Serpent, OBJECT_ID);
    let mut client = daemon.client();
    client.send(&overrunning_annotation(MessageKind::Connect, &payload));
    client.read_frame().assert_connect_fail(0, "annotation chunk length exceeds remaining data");
    client.expect_closed();

    let mut client = ready_client(&daemon);
    let call = pyro5_interop_tests::daemon_harness::call_payload(
        SerializerId::Serpent,
        OBJECT_ID,
        "echo",
        &[Value::from("x")],
    );
    client.send(&overrunning_annotation(MessageKind::Invoke, &call));
    client.expect_closed();
    still_serves(&daemon, 0);
}

/// INVOKE (or PING, or a type that does not exist) before CONNECT: CONNECTFAIL "invalid msg
/// type T received (expected: 1)" in marshal, sequence 0, then close (`docs/wire-protocol.md`,
/// "Handshake"). After the handshake, a message type the daemon does not take closes the
/// connection (`docs/wire-protocol.md`, "When the daemon closes a connection").
fn message_types_out_of_place_are_refused(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo(server_type);
    let invoke = invoke_frame(SerializerId::Serpent, 1, OBJECT_ID, "echo", &[Value::from("hi")]);
    let ping = frame(MessageKind::Ping, SerializerId::Unknown(42), 0, b"ping");
    let unknown = frame(MessageKind::Unknown(7), SerializerId::Serpent, 0, b"");
    for (bytes, text) in [
        (&invoke, "invalid msg type 4 received (expected: 1)"),
        (&ping, "invalid msg type 6 received (expected: 1)"),
        (&unknown, "invalid msg type 7 received (expected: 1)"),
    ] {
        let mut client = daemon.client();
        client.send(bytes);
        client.read_frame().assert_connect_fail(0, text);
        client.expect_closed();
    }
    for kind in [MessageKind::Connect, MessageKind::ConnectOk, MessageKind::Result, MessageKind::Unknown(255)] {
        let mut client = ready_client(&daemon);
        client.send(&frame(kind, SerializerId::Serpent, 1, b"# serpent utf-8 python3.2\n1"));
        client.expect_closed();
    }
    still_serves(&daemon, 0);
}

/// A message cut short, then the client closes: the daemon closes too, sends nothing.
fn truncated_message_then_close_is_closed_silently(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo(server_type);
    let connect = connect();
    for cut in [3, 20, 39, 40, connect.len() - 1] {
        let mut client = daemon.client();
        client.send(&connect[..cut]);
        std::thread::sleep(Duration::from_millis(20));
        client.shutdown_write();
        client.expect_closed();
    }
    let invoke = invoke_frame(SerializerId::Serpent, 1, OBJECT_ID, "echo", &[Value::from("hi")]);
    for cut in [1, 40, invoke.len() - 1] {
        let mut client = ready_client(&daemon);
        client.send(&invoke[..cut]);
        std::thread::sleep(Duration::from_millis(20));
        client.shutdown_write();
        client.expect_closed();
    }
    // And a client that just disappears mid-message, without a word.
    let mut client = daemon.client();
    client.send(&connect[..50]);
    drop(client);
    still_serves(&daemon, 0);
}

/// 50 idle connections held open (half of them silent, half stuck mid-header) do not keep
/// a normal client from being served.
fn fifty_idle_connections_do_not_block_a_client(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo(server_type);
    let connect = connect();
    let mut idle = Vec::new();
    for i in 0..50 {
        let mut client = daemon.client();
        if i % 2 == 1 {
            client.send(&connect[..10]);
        }
        idle.push(client);
    }
    daemon.wait_for_connections(50, Duration::from_secs(3));
    daemon.assert_serves_echo();
    let mut ready = ready_client(&daemon);
    ready.assert_echo(7, "still here");
    for client in &mut idle[..4] {
        client.expect_open(Duration::from_millis(20));
    }
    drop(ready);
    drop(idle);
    still_serves(&daemon, 0);
}

/// A client that drops its socket while its call (`slow()`, 300 ms) runs: the reply goes
/// nowhere, the daemon carries on and frees the connection.
fn client_vanishing_mid_call_is_cleaned_up(server_type: ServerType) {
    let _process = shared();
    let config = DaemonConfig { server_type, ..DaemonConfig::default() };
    let daemon = TestDaemon::echo_object(config, EchoServer::new().with_slow_delay(Duration::from_millis(300)));
    for _ in 0..2 {
        let mut client = ready_client(&daemon);
        client.send(&invoke_frame(SerializerId::Serpent, 1, OBJECT_ID, "slow", &[]));
        std::thread::sleep(Duration::from_millis(50));
        drop(client);
    }
    still_serves(&daemon, 0);
    // The call itself still works for a client that waits.
    let mut client = ready_client(&daemon);
    let reply = client.call(2, OBJECT_ID, "slow", &[]);
    assert_eq!(reply.value(), Value::from("Finally, an answer!"), "{}", reply.describe());
}

/// Undecodable payloads after the handshake: an exception RESULT with the Python class, the
/// connection stays open, and a valid call on it works (`docs/wire-protocol.md`, "Exception
/// replies" and "When the daemon closes a connection").
fn malformed_payload_gets_exception_and_connection_stays(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo(server_type);
    let mut client = ready_client(&daemon);
    client.send(&frame(MessageKind::Invoke, SerializerId::Serpent, 5, b"# serpent utf-8 python3.2\n(1,2"));
    let reply = client.read_frame();
    assert_eq!(reply.assert_exception(5), "builtins.SyntaxError", "{}", reply.describe());
    client.expect_open(QUIET);
    client.assert_echo(6, "ok");

    let garbage: [(SerializerId, &[u8]); 5] = [
        (SerializerId::Serpent, b"\xff\xfe not utf-8"),
        (SerializerId::Json, b"{not json"),
        (SerializerId::Marshal, b"\xff\xfe\xfd"),
        (SerializerId::Msgpack, b"\xc1"),
        (SerializerId::Msgpack, b"\x94\xa4test"),
    ];
    for (seq, (format, payload)) in (10..).zip(garbage) {
        client.send(&frame(MessageKind::Invoke, format, seq, payload));
        let reply = client.read_frame();
        let class = reply.assert_exception(seq);
        assert_eq!(reply.header.serializer, format, "{}", reply.describe());
        assert!(class.contains('.') && !class.contains("__"), "{format:?}: exception class {class:?}");
        client.assert_echo(seq + 100, "ok");
    }
    client.expect_open(QUIET);
    drop(client);
    still_serves(&daemon, 0);
}

/// Payloads nested 100 000 levels deep, in every format, in a call and in a CONNECT: an
/// exception or CONNECTFAIL, never a stack overflow.
fn deeply_nested_payloads_do_not_overflow_the_stack(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo(server_type);
    let depth = 100_000;
    let mut serpent = b"# serpent utf-8 python3.2\n".to_vec();
    serpent.extend(std::iter::repeat_n(b'(', depth));
    let nested: [(SerializerId, Vec<u8>); 4] = [
        (SerializerId::Serpent, serpent),
        (SerializerId::Json, vec![b'['; depth]),
        (SerializerId::Marshal, [b'[', 1, 0, 0, 0].repeat(depth)),
        (SerializerId::Msgpack, vec![0x91; depth]),
    ];
    let mut client = ready_client(&daemon);
    for (seq, (format, payload)) in (1..).zip(&nested) {
        client.send(&frame(MessageKind::Invoke, *format, seq, payload));
        let reply = client.read_frame();
        reply.assert_exception(seq);
        client.assert_echo(seq + 100, "ok");
    }
    for (format, payload) in &nested {
        let mut client = daemon.client();
        client.send(&frame(MessageKind::Connect, *format, 3, payload));
        let reply = client.read_frame();
        assert_eq!(reply.header.kind, MessageKind::ConnectFail, "{format:?}: {}", reply.describe());
        assert_eq!((reply.header.serializer, reply.header.seq), (*format, 3), "{}", reply.describe());
        client.expect_closed();
    }
    drop(client);
    still_serves(&daemon, 0);
}

/// A cap of 2 (`max_connections`, Python's `THREADPOOL_SIZE`, for the thread server;
/// `max_connections_multiplex` for the multiplexed one): a third client gets CONNECTFAIL
/// (the thread server's text is Python's "no free workers, increase server threadpool
/// size"; marshal, its own sequence number) and is closed; the two are still served; once
/// one of them leaves, a new client is served.
fn connection_cap_refuses_extra_clients_until_one_leaves(server_type: ServerType) {
    let _process = shared();
    let (config, refusal) = match server_type {
        ServerType::Thread => (
            DaemonConfig { server_type, max_connections: 2, ..DaemonConfig::default() },
            "no free workers, increase server threadpool size",
        ),
        ServerType::Multiplex => (
            DaemonConfig { server_type, max_connections_multiplex: 2, ..DaemonConfig::default() },
            "too many connections, increase max_connections_multiplex",
        ),
    };
    let daemon = TestDaemon::echo_with(config);
    let first = ready_client(&daemon);
    let mut second = ready_client(&daemon);
    daemon.wait_for_connections(2, Duration::from_secs(3));
    for _ in 0..2 {
        let mut third = daemon.client();
        third.send(&connect_frame(SerializerId::Serpent, OBJECT_ID, 7));
        third.read_frame().assert_connect_fail(7, refusal);
        third.expect_closed();
    }
    // Refused without a CONNECT at all: closed too.
    let mut silent = daemon.client();
    silent.shutdown_write();
    silent.expect_closed();
    second.assert_echo(1, "the second is still served");
    drop(first);
    daemon.wait_for_connections(1, Duration::from_secs(3));
    let mut fourth = ready_client(&daemon);
    fourth.assert_echo(1, "ok");
    drop(fourth);
    drop(second);
    // The daemon notices closes asynchronously: wait for both before the next client.
    daemon.wait_for_connections(0, Duration::from_secs(3));
    still_serves(&daemon, 0);
}

/// `comm_timeout: 300 ms`: an idle connection is closed by the daemon within about a
/// second, before and after its handshake, while an active one is served throughout.
fn idle_connections_are_closed_after_comm_timeout(server_type: ServerType) {
    let _process = shared();
    let timeout = Duration::from_millis(300);
    let daemon =
        TestDaemon::echo_with(DaemonConfig { server_type, comm_timeout: Some(timeout), ..DaemonConfig::default() });
    let idle = ready_client(&daemon);
    let silent = daemon.client();
    let mut active = ready_client(&daemon);
    let started = Instant::now();
    let watchers: Vec<_> = [(idle, false), (silent, true)]
        .into_iter()
        .map(|(mut client, before_handshake)| {
            std::thread::spawn(move || {
                // As Python's daemon: a connection silent from the start gets CONNECTFAIL
                // "receiving: timeout" (marshal, seq 0) before it is closed.
                let first = client.read_frame_within(Duration::from_secs(3));
                let closed = match first {
                    Ok(fail) => {
                        fail.assert_connect_fail(0, "receiving: timeout");
                        client.read_frame_within(Duration::from_secs(3))
                    }
                    Err(e) => {
                        assert!(!before_handshake, "no CONNECTFAIL before closing a silent connection: {e:?}");
                        Err(e)
                    }
                };
                (closed, started.elapsed())
            })
        })
        .collect();
    for seq in 1..=12 {
        active.assert_echo(seq, "busy");
        std::thread::sleep(Duration::from_millis(100));
    }
    for (which, watcher) in ["idle after its handshake", "silent from the start"].into_iter().zip(watchers) {
        let (outcome, elapsed) = watcher.join().expect("watcher thread");
        assert!(
            matches!(outcome, Err(ReadError::Closed { partial: 0 })),
            "{which}: expected the daemon to close the connection, got {outcome:?}"
        );
        assert!(
            elapsed >= timeout - Duration::from_millis(50) && elapsed <= Duration::from_millis(1500),
            "{which}: closed after {elapsed:?} with comm_timeout {timeout:?}"
        );
    }
    active.assert_echo(100, "still served");
    drop(active);
    still_serves(&daemon, 0);
}

// --- beyond the brief ------------------------------------------------------------------

/// A reply larger than `max_message_size`: the daemon cannot send it and closes the connection
/// without a reply (`docs/wire-protocol.md`, "Message size limit"), then serves others.
fn reply_over_the_size_limit_closes_the_connection(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo_with(DaemonConfig { server_type, max_message_size: 300, ..DaemonConfig::default() });
    let mut client = ready_client(&daemon);
    // error()'s exception with its traceback is about 350 bytes.
    client.send(&invoke_frame(SerializerId::Serpent, 1, OBJECT_ID, "error", &[]));
    client.expect_closed();
    still_serves(&daemon, 0);
}

/// A compressed payload that inflates far beyond `max_message_size` (4 MiB of zeros in
/// 4 KiB): refused, the connection closed without a reply.
fn compressed_payload_inflating_past_the_limit_is_refused(server_type: ServerType) {
    let _process = shared();
    let max = 64 * 1024;
    let daemon = TestDaemon::echo_with(DaemonConfig { server_type, max_message_size: max, ..DaemonConfig::default() });
    let bomb = deflate(&vec![0u8; 4 << 20]);
    assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
    let mut client = ready_client(&daemon);
    client.send(&compressed(frame(MessageKind::Invoke, SerializerId::Serpent, 1, &bomb)));
    client.expect_closed();
    // During the handshake: CONNECTFAIL, as for any bad first frame.
    let mut client = daemon.client();
    client.send(&compressed(frame(MessageKind::Connect, SerializerId::Serpent, 0, &bomb)));
    let reply = client.read_frame();
    assert_eq!(reply.header.kind, MessageKind::ConnectFail, "{}", reply.describe());
    client.expect_closed();
    still_serves(&daemon, 0);
}

/// `frame` with the COMPRESSED flag set on its payload as it is (the encoder manages the
/// flag itself).
fn compressed(mut frame: Vec<u8>) -> Vec<u8> {
    frame[9] |= Flags::COMPRESSED.bits().to_be_bytes()[1];
    frame
}

/// A CONNECT flagged COMPRESSED whose payload is not zlib: CONNECTFAIL in marshal, seq 0, with
/// the text Python's zlib gives ("Error -3 while decompressing data: incorrect header check"),
/// then close; after the handshake the same INVOKE closes the connection without a reply
/// (`docs/wire-protocol.md`, "Compression"; `raw_invoke_compressed_flag_plain_data`).
fn corrupt_compressed_connect_gets_pythons_zlib_text(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo(server_type);
    let mut client = ready_client(&daemon);
    client.send(&compressed(invoke_frame(SerializerId::Serpent, 1, OBJECT_ID, "echo", &[Value::from("x")])));
    client.expect_closed();
    let mut client = daemon.client();
    client.send(&compressed(connect()));
    let reply = client.read_frame();
    client.expect_closed();
    still_serves(&daemon, 0);
    reply.assert_connect_fail(0, "Error -3 while decompressing data: incorrect header check");
}

/// A client that sends calls but never reads the replies, until its socket is full: with
/// `comm_timeout` set, the daemon gives up on it (Python's sockets time out sending as
/// well as receiving: Python's daemon, both server types, resets it after COMMTIMEOUT and
/// serves others at once), keeps serving others, and shuts down in time while the hog is
/// still connected.
fn client_that_never_reads_does_not_stall_the_daemon(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo_with(DaemonConfig {
        server_type,
        comm_timeout: Some(Duration::from_millis(500)),
        ..DaemonConfig::default()
    });
    let mut hog = ready_client(&daemon);
    // The daemon reads without pause until it blocks writing to the hog: a send that makes
    // no progress for this long means it does.
    hog.stream().set_write_timeout(Some(Duration::from_millis(500))).expect("write timeout");
    let big = Value::Str("x".repeat(256 * 1024));
    // msgpack: cheap to decode and encode, so the sockets fill fast.
    let call = invoke_frame(SerializerId::Msgpack, 1, OBJECT_ID, "echo", &[big]);
    let started = Instant::now();
    let mut sent = 0usize;
    while started.elapsed() < Duration::from_secs(10) && hog.try_send(&call).is_ok() {
        sent += call.len();
    }
    eprintln!("{server_type}: the hog sent {} MiB in {:?} before its socket filled", sent >> 20, started.elapsed());
    let mut client = daemon.client();
    client.send(&connect());
    let reply = client.read_frame_within(Duration::from_secs(3));
    assert!(
        matches!(&reply, Ok(f) if f.header.kind == MessageKind::ConnectOk),
        "a client was not served while another one does not read its replies: {:?}",
        reply.map(|f| f.describe())
    );
    client.assert_echo(1, "ok");
    drop(client);
    // Shutting down with the hog still connected: the request loop must return in time
    // (checked by the drop).
    drop(daemon);
    drop(hog);
}

/// CONNECT, three INVOKEs (one oneway) and a PING in one write: every reply, in order.
fn pipelined_frames_are_all_answered_in_order(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo(server_type);
    let oneway = encode_frame(
        &OutgoingMessage {
            flags: Flags::ONEWAY,
            ..OutgoingMessage::new(MessageKind::Invoke, SerializerId::Serpent, 2)
        },
        &pyro5_interop_tests::daemon_harness::call_payload(
            SerializerId::Serpent,
            OBJECT_ID,
            "oneway_echo",
            &[Value::from("x")],
        ),
    );
    let mut bytes = connect();
    bytes.extend(invoke_frame(SerializerId::Serpent, 1, OBJECT_ID, "echo", &[Value::from("a")]));
    bytes.extend(oneway);
    bytes.extend(invoke_frame(SerializerId::Json, 3, OBJECT_ID, "echo", &[Value::from("b")]));
    bytes.extend(frame(MessageKind::Ping, SerializerId::Unknown(42), 4, b"ping"));
    let mut client = daemon.client();
    client.send(&bytes);
    let replies: Vec<Frame> = (0..4).map(|_| client.read_frame()).collect();
    let seen: Vec<(MessageKind, u16)> = replies.iter().map(|r| (r.header.kind, r.header.seq)).collect();
    assert_eq!(
        seen,
        [(MessageKind::ConnectOk, 0), (MessageKind::Result, 1), (MessageKind::Result, 3), (MessageKind::Ping, 4)]
    );
    assert_eq!(replies[1].value(), Value::from("a"));
    assert_eq!(replies[2].value(), Value::from("b"));
    assert_eq!(replies[3].payload, b"pong");
    client.expect_open(QUIET);
    drop(client);
    still_serves(&daemon, 0);
}

/// CONNECT and INVOKE sent a byte at a time: answered as if sent whole.
fn frames_sent_a_byte_at_a_time_are_answered(server_type: ServerType) {
    let _process = shared();
    let daemon = TestDaemon::echo(server_type);
    let mut bytes = connect();
    bytes.extend(invoke_frame(SerializerId::Serpent, 1, OBJECT_ID, "echo", &[Value::from("slowly")]));
    let mut client = daemon.client();
    for byte in &bytes {
        client.send(std::slice::from_ref(byte));
        std::thread::sleep(Duration::from_micros(500));
    }
    let connect_ok = client.read_frame();
    assert_eq!(connect_ok.header.kind, MessageKind::ConnectOk, "{}", connect_ok.describe());
    let result = client.read_frame();
    assert_eq!(result.value(), Value::from("slowly"), "{}", result.describe());
    drop(client);
    still_serves(&daemon, 0);
}

/// One test per case and server type.
macro_rules! on_both_server_types {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                #[test]
                fn thread() {
                    super::$case(pyro5_std::ServerType::Thread);
                }
                #[test]
                fn multiplex() {
                    super::$case(pyro5_std::ServerType::Multiplex);
                }
            }
        )*
    };
}

on_both_server_types!(
    garbage_as_first_message_is_refused_with_connectfail,
    garbage_after_handshake_closes_silently,
    bad_tag_version_or_magic_is_refused_with_pyro_texts,
    huge_announced_body_is_refused_before_allocating,
    annotation_chunk_overrunning_is_refused,
    message_types_out_of_place_are_refused,
    truncated_message_then_close_is_closed_silently,
    fifty_idle_connections_do_not_block_a_client,
    client_vanishing_mid_call_is_cleaned_up,
    malformed_payload_gets_exception_and_connection_stays,
    deeply_nested_payloads_do_not_overflow_the_stack,
    connection_cap_refuses_extra_clients_until_one_leaves,
    idle_connections_are_closed_after_comm_timeout,
    reply_over_the_size_limit_closes_the_connection,
    compressed_payload_inflating_past_the_limit_is_refused,
    corrupt_compressed_connect_gets_pythons_zlib_text,
    client_that_never_reads_does_not_stall_the_daemon,
    pipelined_frames_are_all_answered_in_order,
    frames_sent_a_byte_at_a_time_are_answered,
);
