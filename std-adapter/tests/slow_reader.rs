//! A client that sends calls and never reads the replies must not hold up the other clients,
//! on either server type; and calls sent back to back on one connection are answered in
//! request order.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pyro5_std::core::client::{CallSpec, ClientSession, Extras};
use pyro5_std::core::limits::Limits;
use pyro5_std::core::wire::{Decoder, MessageKind, Progress, SerializerId};
use pyro5_std::echo::EchoServer;
use pyro5_std::{Config, Daemon, Proxy, ServerType};

const OBJECT: &str = "test.echoserver";

fn serve(servertype: ServerType) -> (Daemon, std::thread::JoinHandle<std::io::Result<()>>) {
    serve_with(&Config { servertype, ..Config::default() })
}

fn serve_with(config: &Config) -> (Daemon, std::thread::JoinHandle<std::io::Result<()>>) {
    let daemon = Daemon::with_config(config).expect("bind");
    daemon.register_concurrent(EchoServer::new(), Some(OBJECT)).expect("register");
    let serving = daemon.clone();
    let thread = std::thread::spawn(move || serving.request_loop());
    (daemon, thread)
}

/// Read one whole message from `stream`.
fn receive(stream: &mut TcpStream, decoder: &mut Decoder<Vec<u8>>) {
    loop {
        let buf = decoder.read_buf().expect("room for the message");
        let n = stream.read(buf).expect("read a reply");
        assert!(n > 0, "the daemon closed the connection");
        if let Progress::Complete { .. } = decoder.commit(n).expect("a well-formed reply") {
            return;
        }
    }
}

/// A raw socket that did the handshake, and the client state to write calls with.
fn connect_raw(daemon: &Daemon) -> (TcpStream, ClientSession) {
    let mut stream = TcpStream::connect(daemon.location()).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut client = ClientSession::new(SerializerId::Serpent);
    let mut tx = Vec::new();
    let len = client.write_connect(OBJECT, "hello", &Extras::default(), Limits::default(), &mut tx).expect("connect");
    stream.write_all(&tx[..len]).expect("send CONNECT");
    let mut decoder = Decoder::new(Vec::new(), Limits::default());
    receive(&mut stream, &mut decoder);
    client.read_connect(&decoder.message().expect("complete")).expect("CONNECTOK");
    (stream, client)
}

/// Lay out `echo(argument)` at the client's next sequence number.
fn echo_call(client: &mut ClientSession, argument: &str) -> Vec<u8> {
    let call = CallSpec { object: OBJECT, method: "echo", oneway: false, batch: false };
    let mut tx = Vec::new();
    let sent = client
        .write_call(&call, &(argument,), None::<&()>, &Extras::default(), Limits::default(), &mut tx)
        .expect("lay out the call");
    tx.truncate(sent.len);
    tx
}

/// Send `echo` calls with a 64 KiB argument over `raw` without reading a reply, until the
/// socket takes no more for half a second (or `most` were sent); how many were sent.
fn flood(raw: &mut TcpStream, client: &mut ClientSession, most: usize) -> usize {
    // (The daemon does not check sequence numbers: one call, sent over and over.)
    let frame = echo_call(client, &"x".repeat(64 * 1024));
    raw.set_write_timeout(Some(Duration::from_millis(500))).expect("timeout");
    (0..most).take_while(|_| raw.write_all(&frame).is_ok()).count()
}

#[test]
fn a_reply_that_makes_no_progress_for_the_send_timeout_closes_its_connection() {
    for servertype in [ServerType::Multiplex, ServerType::Thread] {
        // COMMTIMEOUT is also the send timeout.
        let (daemon, thread) = serve_with(&Config { servertype, commtimeout: 1.0, ..Config::default() });
        let (mut raw, mut client) = connect_raw(&daemon);
        let sent = flood(&mut raw, &mut client, 2000);
        assert!(sent < 2000, "{servertype}: the daemon took all {sent} calls without their replies being read");
        let stalled = Instant::now();
        while daemon.connection_count() != 0 {
            assert!(stalled.elapsed() < Duration::from_secs(5), "{servertype}: the stalled connection is still open");
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{servertype}: closed {:?} after the flood ended", stalled.elapsed());
        drop(raw);
        daemon.shutdown();
        thread.join().expect("serving thread").expect("request loop");
    }
}

#[test]
fn a_client_that_stops_reading_does_not_stall_the_others() {
    for servertype in [ServerType::Multiplex, ServerType::Thread] {
        let (daemon, thread) = serve(servertype);
        let (mut raw, mut client) = connect_raw(&daemon);
        // Calls of an echo with a 64 KiB argument, never reading a reply: the replies fill
        // the socket buffers both ways, then the daemon cannot send and this cannot write.
        let (stalled_tx, stalled_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let writer = std::thread::spawn(move || {
            stalled_tx.send(flood(&mut raw, &mut client, 2000)).expect("report");
            // Hold the connection, still not reading, until the other client is done.
            let _ = release_rx.recv();
            drop(raw);
        });
        let sent = stalled_rx.recv_timeout(Duration::from_secs(30)).expect("the writer stalls");
        eprintln!("{servertype}: {sent} calls of 64 KiB sent before the socket stopped taking more");
        assert!(sent < 2000, "{servertype}: the daemon took all {sent} calls without their replies being read");

        // The proxy gives up after 3 s, so a stalled daemon fails the test in bounded time.
        let patient = Config { commtimeout: 3.0, ..Config::default() };
        let proxy = Proxy::with_config(&daemon.uri_for(OBJECT), &patient).expect("uri");
        let start = Instant::now();
        let mut worst = Duration::ZERO;
        for i in 0..50 {
            let call = Instant::now();
            assert_eq!(proxy.call::<usize, _>("echo", (i,)).expect("a prompt answer"), i, "{servertype}");
            worst = worst.max(call.elapsed());
        }
        let total = start.elapsed();
        eprintln!("{servertype}: slowest of 50 calls {worst:?}, all {total:?}");
        assert!(worst < Duration::from_secs(1), "{servertype}: a call took {worst:?}");
        assert!(total < Duration::from_secs(5), "{servertype}: 50 calls took {total:?}");

        release_tx.send(()).expect("release");
        writer.join().expect("writer");
        drop(proxy);
        daemon.shutdown();
        thread.join().expect("serving thread").expect("request loop");
    }
}

#[test]
fn calls_sent_back_to_back_are_answered_in_order() {
    for servertype in [ServerType::Multiplex, ServerType::Thread] {
        let (daemon, thread) = serve(servertype);
        let (mut raw, mut client) = connect_raw(&daemon);
        let first_seq = client.seq().wrapping_add(1);
        // Small calls and big ones (whose replies need more than one write), in one go.
        let arguments: Vec<String> =
            (0..8).map(|i| format!("call-{i}-{}", "y".repeat(if i % 2 == 0 { 10 } else { 300_000 }))).collect();
        let burst: Vec<u8> = arguments.iter().flat_map(|a| echo_call(&mut client, a)).collect();
        raw.write_all(&burst).expect("send the calls");
        let mut decoder = Decoder::new(Vec::new(), Limits::default());
        for (i, argument) in arguments.iter().enumerate() {
            receive(&mut raw, &mut decoder);
            let message = decoder.message().expect("complete");
            let header = *message.header();
            assert_eq!(header.kind, MessageKind::Result, "{servertype}: reply {i}");
            assert_eq!(header.seq, first_seq.wrapping_add(i as u16), "{servertype}: reply {i}");
            let payload = message.payload().expect("payload");
            assert!(
                payload.windows(argument.len()).any(|w| w == argument.as_bytes()),
                "{servertype}: reply {i} does not carry its argument"
            );
        }
        drop(raw);
        daemon.shutdown();
        thread.join().expect("serving thread").expect("request loop");
    }
}
