//! Reliability of both server types under many connections and misbehaving peers: 2,000
//! connections held at once, each still answered; clients that vanish mid-call (reset, not
//! closed); peers that send half a message and vanish or go silent. Loopback only, each test
//! bounded to seconds.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyro5_std::core::client::{CallSpec, ClientSession, Extras, Reply};
use pyro5_std::core::limits::Limits;
use pyro5_std::core::wire::{Decoder, Progress, SerializerId};
use pyro5_std::{Config, Daemon, Proxy, ServerType};

const OBJECT: &str = "test.echoserver";

fn serve(config: &Config) -> (Daemon, std::thread::JoinHandle<std::io::Result<()>>) {
    let (daemon, _, thread) = pyro5_interop_tests::echo_daemon::serve_echo(config, OBJECT);
    (daemon, thread)
}

fn stop(daemon: &Daemon, thread: std::thread::JoinHandle<std::io::Result<()>>) {
    daemon.shutdown();
    thread.join().expect("serving thread").expect("request loop");
}

/// Wait up to `within` for the daemon to hold `count` connections.
fn wait_for_count(daemon: &Daemon, count: usize, within: Duration, what: &str) -> Duration {
    let start = Instant::now();
    while daemon.connection_count() != count {
        assert!(
            start.elapsed() < within,
            "{what}: {} connections after {within:?}, not {count}",
            daemon.connection_count()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

/// A raw socket that did the Pyro handshake, with the client state to lay out calls and the
/// decoder its replies are read with.
struct RawClient {
    stream: TcpStream,
    client: ClientSession,
    decoder: Decoder<Vec<u8>>,
}

impl RawClient {
    fn connect(daemon: &Daemon) -> Self {
        let stream = TcpStream::connect(daemon.location()).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut raw = RawClient {
            stream,
            client: ClientSession::new(SerializerId::Serpent),
            decoder: Decoder::new(Vec::new(), Limits::default()),
        };
        let mut tx = Vec::new();
        let len =
            raw.client.write_connect(OBJECT, "hello", &Extras::default(), Limits::default(), &mut tx).expect("connect");
        raw.stream.write_all(&tx[..len]).expect("send CONNECT");
        raw.receive();
        raw.client.read_connect(&raw.decoder.message().expect("complete")).expect("CONNECTOK");
        raw
    }

    /// Lay out `echo(argument)` at the next sequence number.
    fn echo_call<A: serde::Serialize>(&mut self, argument: A) -> Vec<u8> {
        let call = CallSpec { object: OBJECT, method: "echo", oneway: false, batch: false };
        let mut tx = Vec::new();
        let sent = self
            .client
            .write_call(&call, &(argument,), None::<&()>, &Extras::default(), Limits::default(), &mut tx)
            .expect("lay out the call");
        tx.truncate(sent.len);
        tx
    }

    fn send_echo(&mut self, argument: u64) {
        let frame = self.echo_call(argument);
        self.stream.write_all(&frame).expect("send the call");
    }

    /// Read one whole message.
    fn receive(&mut self) {
        loop {
            let buf = self.decoder.read_buf().expect("room for the message");
            let n = self.stream.read(buf).expect("read a reply");
            assert!(n > 0, "the daemon closed the connection");
            if let Progress::Complete { .. } = self.decoder.commit(n).expect("a well-formed reply") {
                return;
            }
        }
    }

    /// Read the reply to the last call: the echoed number.
    fn echoed(&mut self) -> u64 {
        self.receive();
        let message = self.decoder.message().expect("complete");
        match self.client.read_reply(&message).expect("the reply to the call") {
            Reply::Value(payload) => payload.decode().expect("a number"),
            _ => panic!("not a plain value"),
        }
    }
}

/// The soft limit on open files, from /proc (Linux); `None` where that cannot be read.
fn open_files_limit() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut numbers = line["Max open files".len()..].split_whitespace().map(|n| n.parse::<u64>().ok());
    Some((numbers.next()??, numbers.next()??))
}

/// Whether this process may open `needed` files; the soft limit is raised to the hard
/// limit with util-linux's `prlimit` when it is too low (no `setrlimit` without `unsafe`).
fn enough_files(needed: u64) -> bool {
    let Some((soft, hard)) = open_files_limit() else {
        eprintln!("skipped: the open files limit is unknown here");
        return false;
    };
    if soft >= needed {
        return true;
    }
    if hard >= needed {
        let raised = std::process::Command::new("prlimit")
            .args(["--pid", &std::process::id().to_string(), &format!("--nofile={hard}:{hard}")])
            .status()
            .is_ok_and(|s| s.success());
        if raised && open_files_limit().is_some_and(|(soft, _)| soft >= needed) {
            return true;
        }
    }
    eprintln!("skipped: {needed} open files needed, the limit is {soft} (hard {hard}) and could not be raised");
    false
}

#[test]
fn two_thousand_connections_are_held_at_once_and_each_answers() {
    const CONNECTIONS: usize = 2000;
    // Both ends of every connection live in this process, plus the daemon's own.
    if !enough_files(2 * CONNECTIONS as u64 + 200) {
        return;
    }
    for servertype in [ServerType::Multiplex, ServerType::Thread] {
        let start = Instant::now();
        let config = Config { servertype, threadpool_size: CONNECTIONS + 10, ..Config::default() };
        let (daemon, thread) = serve(&config);
        let mut clients: Vec<RawClient> = (0..CONNECTIONS).map(|_| RawClient::connect(&daemon)).collect();
        let connected = start.elapsed();
        assert_eq!(daemon.connection_count(), CONNECTIONS, "{servertype}");
        // All calls out first, then all replies: every connection has a call pending at once.
        for (i, client) in clients.iter_mut().enumerate() {
            client.send_echo(i as u64);
        }
        for (i, client) in clients.iter_mut().enumerate() {
            assert_eq!(client.echoed(), i as u64, "{servertype}: connection {i}");
        }
        // And one more round, one call at a time, on connections still held.
        for (i, client) in clients.iter_mut().enumerate().rev() {
            client.send_echo(i as u64 + 1);
            assert_eq!(client.echoed(), i as u64 + 1, "{servertype}: connection {i}");
        }
        assert_eq!(daemon.connection_count(), CONNECTIONS, "{servertype}");
        let answered = start.elapsed();
        drop(clients);
        let closed = wait_for_count(&daemon, 0, Duration::from_secs(10), &servertype.to_string());
        stop(&daemon, thread);
        eprintln!(
            "{servertype}: {CONNECTIONS} handshakes in {connected:?}, 2 calls on each by {answered:?}, \
             all closed {closed:?} later"
        );
    }
}

/// Close `stream` with a reset (SO_LINGER 0), not an orderly FIN.
fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO)).expect("SO_LINGER 0");
    drop(stream);
}

/// A proxy calling `echo` over and over until `done`; how many calls it made.
fn keep_calling(daemon: &Daemon, done: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    let uri = daemon.uri_for(OBJECT);
    std::thread::spawn(move || {
        // A daemon that stops answering fails the call after 3 s, not never.
        let proxy = Proxy::with_config(&uri, &Config { commtimeout: 3.0, ..Config::default() }).expect("uri");
        let mut calls = 0;
        let mut worst = Duration::ZERO;
        while !done.load(Ordering::Acquire) {
            let call = Instant::now();
            assert_eq!(proxy.call::<usize, _>("echo", (calls,)).expect("an answer"), calls);
            worst = worst.max(call.elapsed());
            calls += 1;
        }
        assert!(worst < Duration::from_secs(1), "a call took {worst:?}");
        calls
    })
}

#[test]
fn clients_that_reset_mid_call_leave_the_daemon_answering_and_no_connection_behind() {
    const DROPPERS: usize = 200;
    for servertype in [ServerType::Multiplex, ServerType::Thread] {
        let start = Instant::now();
        let (daemon, thread) = serve(&Config { servertype, ..Config::default() });
        let done = Arc::new(AtomicBool::new(false));
        let caller = keep_calling(&daemon, done.clone());
        // Four threads of 50 droppers each: connect, handshake, call, reset without reading
        // the reply; of each four, one reads the reply first (a reset after a reply), one
        // calls with a 512 KiB argument (the reset meets a reply still being sent), one
        // resets before its handshake is answered.
        let next = Arc::new(AtomicUsize::new(0));
        let droppers: Vec<_> = (0..4)
            .map(|_| {
                let (daemon, next) = (daemon.clone(), next.clone());
                std::thread::spawn(move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= DROPPERS {
                            break;
                        }
                        if i % 4 == 3 {
                            let mut stream = TcpStream::connect(daemon.location()).expect("connect");
                            let mut tx = Vec::new();
                            let len = ClientSession::new(SerializerId::Serpent)
                                .write_connect(OBJECT, "hello", &Extras::default(), Limits::default(), &mut tx)
                                .expect("connect");
                            stream.write_all(&tx[..len]).expect("send CONNECT");
                            reset(stream);
                            continue;
                        }
                        let mut client = RawClient::connect(&daemon);
                        if i % 4 == 2 {
                            let frame = client.echo_call("z".repeat(512 * 1024));
                            client.stream.write_all(&frame).expect("send the call");
                        } else {
                            client.send_echo(i as u64);
                        }
                        if i % 4 == 0 {
                            assert_eq!(client.echoed(), i as u64);
                        }
                        reset(client.stream);
                    }
                })
            })
            .collect();
        for dropper in droppers {
            dropper.join().expect("dropper");
        }
        let dropped = start.elapsed();
        // The caller's own connection is the only one left.
        let drained = wait_for_count(&daemon, 1, Duration::from_secs(5), &servertype.to_string());
        done.store(true, Ordering::Release);
        let calls = caller.join().expect("the caller was answered throughout");
        assert!(calls > 0, "{servertype}: the caller made no call");
        wait_for_count(&daemon, 0, Duration::from_secs(5), &servertype.to_string());
        stop(&daemon, thread);
        eprintln!(
            "{servertype}: {DROPPERS} reset clients in {dropped:?}, left {drained:?} later; \
             {calls} calls answered meanwhile; total {:?}",
            start.elapsed()
        );
    }
}

/// The first half of an `echo` call's frame (the whole header and half the rest), and the
/// client that laid it out.
fn half_a_call(daemon: &Daemon) -> RawClient {
    let mut client = RawClient::connect(daemon);
    let frame = client.echo_call(7);
    let half = 24 + (frame.len() - 24) / 2;
    client.stream.write_all(&frame[..half]).expect("send half a call");
    client
}

#[test]
fn half_a_message_then_gone_or_silent_does_not_hold_up_others_and_silence_times_out() {
    for servertype in [ServerType::Multiplex, ServerType::Thread] {
        let start = Instant::now();
        let (daemon, thread) = serve(&Config { servertype, commtimeout: 0.5, ..Config::default() });
        // Also a peer that stops within the 24-byte header.
        let mut in_header = RawClient::connect(&daemon);
        let header_part = in_header.echo_call(1);
        in_header.stream.write_all(&header_part[..10]).expect("send part of a header");
        let vanished = half_a_call(&daemon);
        let closed = half_a_call(&daemon);
        let silent = half_a_call(&daemon);
        let silent_since = Instant::now();
        reset(vanished.stream);
        drop(closed.stream);
        // Each stuck peer waits for the daemon to close it: an end of stream (or a reset),
        // well before its own 10 s read timeout; how long that took.
        let watchers: Vec<_> = [("silent", silent), ("in-header", in_header)]
            .into_iter()
            .map(|(name, mut stuck)| {
                std::thread::spawn(move || {
                    let mut byte = [0u8; 1];
                    match stuck.stream.read(&mut byte) {
                        Ok(0) => {}
                        Ok(_) => panic!("{servertype}: the {name} peer got a reply to half a call"),
                        Err(e) => {
                            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{servertype}: {name}: {e}");
                        }
                    }
                    (name, silent_since.elapsed())
                })
            })
            .collect();

        // Others are answered meanwhile, each promptly (the proxy gives up after 3 s, so a
        // stalled daemon fails here in bounded time).
        let proxy = Proxy::with_config(&daemon.uri_for(OBJECT), &Config { commtimeout: 3.0, ..Config::default() })
            .expect("uri");
        let mut other = RawClient::connect(&daemon);
        for i in 0..20u64 {
            let call = Instant::now();
            assert_eq!(proxy.call::<u64, _>("echo", (i,)).expect("an answer"), i, "{servertype}");
            other.send_echo(i);
            assert_eq!(other.echoed(), i, "{servertype}");
            assert!(call.elapsed() < Duration::from_secs(1), "{servertype}: call {i} took {:?}", call.elapsed());
            // Keep both busy through the silent peer's timeout (and so never idle for 0.5 s).
            std::thread::sleep(Duration::from_millis(50));
        }

        // The silent peer and the one stuck in its header were closed by COMMTIMEOUT: not
        // before it (half a message is no error yet), and not long after.
        let mut closed_after = Vec::new();
        for watcher in watchers {
            let (name, after) = watcher.join().expect("the stuck peer was closed");
            assert!(
                after >= Duration::from_millis(450),
                "{servertype}: the {name} peer was closed after only {after:?}"
            );
            assert!(after < Duration::from_secs(2), "{servertype}: the {name} peer was closed after {after:?}");
            closed_after.push(format!("{name} {after:?}"));
        }
        // Only the proxy and the other raw client remain.
        wait_for_count(&daemon, 2, Duration::from_secs(2), &servertype.to_string());
        drop((proxy, other));
        wait_for_count(&daemon, 0, Duration::from_secs(5), &servertype.to_string());
        stop(&daemon, thread);
        eprintln!(
            "{servertype}: closed by COMMTIMEOUT 0.5 s: {}; total {:?}",
            closed_after.join(", "),
            start.elapsed()
        );
    }
}
