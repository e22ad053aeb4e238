//! The client benchmark (issue 6, item 5), measured side by side in one run:
//!
//! 1. A typed `#[proxy]` → our daemon (in process, both server types), `echo("hello")` in
//!    serpent and msgpack, against a raw TCP ping-pong of the same sizes: the request is as
//!    long as the proxy's INVOKE, the reply as its RESULT, both measured on the wire through
//!    a recording relay; and the proxy against a server replaying the recorded RESULT, which
//!    costs the server no more than the ping-pong: the client's own share. Rounds alternate between raw and proxy so that both see the same
//!    machine load. Goal: at most 1.3× the raw round trip.
//! 2. Our proxy → Python's echo server (`python -m Pyro5.utils.echoserver`) against Python's
//!    proxy → the same server (`tests/python/bench_client.py --mode seq`), and Python's proxy
//!    → our daemon for the fourth corner.
//! 3. Allocations per call on the client, in steady state: the typed call, a dynamic
//!    `call_value` and a property read, counted on the calling thread by allocation-counter's
//!    global allocator (which wraps every allocation of this binary, the in-process daemon's
//!    too: a few ns each, on both sides of the comparison in 1).
//!
//! `cargo bench -p pyro5-interop-tests --bench client` measures (`CLIENT_BENCH_SECONDS`:
//! time per contender, default 3, split into 5 interleaved rounds); `cargo test --benches`
//! runs a smoke version of every part in well under a second of measuring.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pyro5_core::ser::value::Value;
use pyro5_core::wire::{HEADER_LEN, Header};
use pyro5_interop_tests::echo_daemon::PythonEchoServer;
use pyro5_interop_tests::{python, workspace_root};
use pyro5_macros::proxy;
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::{Daemon, DaemonConfig, Proxy, ProxyError, Serializer, ServerType};

/// The echo server, as this benchmark calls it.
#[proxy]
trait Echo {
    fn echo(&mut self, message: &str) -> Result<String, ProxyError>;
    #[pyro5(getter)]
    fn verbose(&mut self) -> Result<bool, ProxyError>;
}

const MESSAGE: &str = "hello";
const SERIALIZERS: [(Serializer, &str); 2] = [(Serializer::Serpent, "serpent"), (Serializer::Msgpack, "msgpack")];
const SERVER_TYPES: [ServerType; 2] = [ServerType::Thread, ServerType::Multiplex];

/// `cargo bench` passes `--bench`; without it (`cargo test --benches`) each part runs briefly.
fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Measuring time per contender.
fn seconds() -> f64 {
    let default = if full_run() { 3.0 } else { 0.04 };
    std::env::var("CLIENT_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn rounds() -> u32 {
    if full_run() { 5 } else { 1 }
}

fn main() {
    if pyro5_interop_tests::bench::serve_if_daemon_child() || std::env::args().any(|a| a == "--list") {
        return;
    }
    if !full_run() {
        println!("smoke run (cargo bench -p pyro5-interop-tests --bench client measures for real)");
    }
    let machine = std::thread::available_parallelism().map_or(0, usize::from);
    println!("{machine} CPUs; {:.2} s per contender in {} interleaved rounds\n", seconds(), rounds());
    let daemons: Vec<RustDaemon> = SERVER_TYPES.iter().map(|t| RustDaemon::start(*t)).collect();
    rust_daemon_vs_raw(&daemons);
    let python_daemon = PythonEchoServer::start(&[]);
    python_daemon_rust_vs_python_proxy(&python_daemon, &daemons[0]);
    allocations_per_call(&daemons[0]);
    drop(daemons);
    shared_proxy(&python_daemon);
}

/// Threads sharing one proxy in part 4, and Python proxies (processes) it is compared with.
const SHARED_THREADS: usize = 16;

/// The one-way latency of part 4's second half.
const LATENCY: Duration = Duration::from_millis(1);

/// Part 4: one proxy shared by 16 threads against its own sequential calls, and against 16
/// Python proxies calling Python's daemon; on loopback, then through a relay adding 1 ms
/// each way (a LAN-like round trip of 2 ms).
fn shared_proxy(python_daemon: &PythonEchoServer) {
    use pyro5_interop_tests::bench::{DaemonProcess, LatencyRelay};
    println!(
        "4. one Proxy shared by {SHARED_THREADS} threads (calls pipelined on its one connection) against the same \
         proxy called by one thread, echo({MESSAGE:?}), serpent;"
    );
    println!(
        "   daemons in processes of their own; Python: {SHARED_THREADS} proxies in {SHARED_THREADS} processes \
         (tests/python/bench_client.py --mode par)"
    );
    let daemons: Vec<(String, DaemonProcess)> =
        SERVER_TYPES.iter().map(|t| (format!("our daemon ({t})"), DaemonProcess::start(*t, 200))).collect();
    let mut targets: Vec<(String, String)> = daemons.iter().map(|(name, d)| (name.clone(), d.uri.clone())).collect();
    targets.push((String::from("Python's daemon"), python_daemon.uri.clone()));
    shared_rows("loopback", &targets, &python_daemon.uri);
    // The same, each byte held 1 ms each way.
    let delayed: Vec<(String, String)> = targets
        .iter()
        .map(|(name, uri)| {
            let port: u16 = uri.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a TCP URI");
            let relay = LatencyRelay::start(([127, 0, 0, 1], port).into(), LATENCY);
            (name.clone(), format!("PYRO:{OBJECT_ID}@127.0.0.1:{}", relay.port))
        })
        .collect();
    let python_delayed = delayed.last().expect("Python's").1.clone();
    shared_rows(&format!("{} ms each way (relay)", LATENCY.as_millis()), &delayed, &python_delayed);
    println!();
}

/// Part 4's rows for one network path.
fn shared_rows(path: &str, targets: &[(String, String)], python_uri: &str) {
    use pyro5_interop_tests::bench::bench_client;
    println!("   {path}:");
    println!("   {:<52} {:>10} {:>13} {:>15}", "client -> server", "calls/s", "x sequential", "x Python 16");
    let python16 = bench_client(
        python_uri,
        seconds(),
        &["--mode", "par", "--procs", &SHARED_THREADS.to_string(), "--serializer", "serpent"],
    )
    .rate;
    for (server, uri) in targets {
        let proxy = Proxy::new(uri).expect("uri");
        proxy.bind().expect("connect");
        let (mut seq_calls, mut seq_time, mut shared_calls, mut shared_time) = (0, 0.0, 0, 0.0);
        for _ in 0..rounds() {
            let (calls, time) = calls_for(&proxy, 1);
            (seq_calls, seq_time) = (seq_calls + calls, seq_time + time);
            let (calls, time) = calls_for(&proxy, SHARED_THREADS);
            (shared_calls, shared_time) = (shared_calls + calls, shared_time + time);
        }
        let seq = seq_calls as f64 / seq_time;
        let shared = shared_calls as f64 / shared_time;
        println!(
            "   {:<52} {seq:>10.0} {:>12.2}x {:>14.2}x",
            format!("Proxy, 1 thread -> {server}"),
            1.0,
            seq / python16
        );
        println!(
            "   {:<52} {shared:>10.0} {:>12.2}x {:>14.2}x",
            format!("Proxy shared by {SHARED_THREADS} threads -> {server}"),
            shared / seq,
            shared / python16
        );
    }
    println!(
        "   {:<52} {python16:>10.0} {:>13} {:>14.2}x",
        format!("{SHARED_THREADS} Python proxies -> Python's daemon"),
        "",
        1.0
    );
}

/// Calls of `echo(MESSAGE)` made by `threads` threads through `proxy` in one round's time,
/// and the seconds they took.
fn calls_for(proxy: &Proxy, threads: usize) -> (u64, f64) {
    let budget = Duration::from_secs_f64(seconds() / f64::from(rounds()));
    let total = std::sync::atomic::AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut calls = 0;
                while start.elapsed() < budget {
                    let back: String = proxy.call("echo", (MESSAGE,)).expect("echo");
                    debug_assert_eq!(back, MESSAGE);
                    calls += 1;
                }
                total.fetch_add(calls, std::sync::atomic::Ordering::Relaxed);
            });
        }
    });
    (total.into_inner(), start.elapsed().as_secs_f64())
}

/// Part 1: proxy round trips against raw ping-pong of the same sizes.
fn rust_daemon_vs_raw(daemons: &[RustDaemon]) {
    println!("1. Rust proxy -> Rust daemon (in process), echo({MESSAGE:?}), one connection, 127.0.0.1");
    println!("   against raw TCP ping-pong of the same sizes (Rust client, thread-per-connection Rust server);");
    println!("   \"canned replies\": the proxy against a raw server replaying the recorded RESULT (client cost only)");
    println!(
        "   {:<9} {:<34} {:>7} {:>7} {:>9} {:>9} {:>11} {:>11}",
        "format", "client -> server", "INVOKE", "RESULT", "p50 us", "mean us", "p50/raw", "mean/raw"
    );
    for (serializer, format) in SERIALIZERS {
        let frames: Vec<Frames> = daemons.iter().map(|d| frames(d, serializer)).collect();
        let sizes: Vec<(usize, usize)> = frames.iter().map(|f| (f.invoke_len, f.result.len())).collect();
        assert!(sizes.windows(2).all(|w| w[0] == w[1]), "{format}: both servers answer alike: {sizes:?}");
        let (request, reply) = sizes[0];
        let raw = RawServer::start(request, reply);
        let mut raw_client = raw.client();
        let canned = format!("PYRO:{OBJECT_ID}@127.0.0.1:{}", canned_server(&frames[0]));
        let mut proxies: Vec<EchoProxy> = daemons.iter().map(|d| d.echo_proxy(serializer)).collect();
        proxies.push(echo_proxy(&canned, serializer));
        let mut raw_samples = Vec::new();
        let mut proxy_samples = vec![Vec::new(); proxies.len()];
        for _ in 0..rounds() {
            raw_samples.extend(sample(|| raw_client.round_trip()));
            for (proxy, samples) in proxies.iter_mut().zip(&mut proxy_samples) {
                samples.extend(sample(|| {
                    let back = proxy.echo(MESSAGE).expect("echo");
                    debug_assert_eq!(back, MESSAGE);
                }));
            }
        }
        let raw_stats = Stats::of(raw_samples);
        let row = |client: &str, s: &Stats| {
            println!(
                "   {format:<9} {client:<34} {request:>7} {reply:>7} {:>9.1} {:>9.1} {:>10.2}x {:>10.2}x",
                s.p50,
                s.mean,
                s.p50 / raw_stats.p50,
                s.mean / raw_stats.mean
            );
        };
        row("raw TCP ping-pong", &raw_stats);
        let servers = daemons.iter().map(|d| format!("Daemon ({})", d.server_type));
        for (server, samples) in servers.chain([String::from("canned replies")]).zip(proxy_samples) {
            row(&format!("typed Proxy -> {server}"), &Stats::of(samples));
        }
    }
    println!();
}

/// Part 2: against Python's echo server, our proxy and Python's.
fn python_daemon_rust_vs_python_proxy(python_daemon: &PythonEchoServer, rust_daemon: &RustDaemon) {
    println!("2. against Python's echo server (python -m Pyro5.utils.echoserver), echo({MESSAGE:?}), one proxy");
    println!("   {:<9} {:<40} {:>10} {:>9} {:>14}", "format", "client -> server", "calls/s", "mean us", "Rust/Python");
    // The smoke run starts Python twice, not four times.
    for (serializer, format) in SERIALIZERS.into_iter().take(if full_run() { 2 } else { 1 }) {
        let mut rust_proxy = echo_proxy(&python_daemon.uri, serializer);
        let rust_rate = Stats::of((0..rounds()).flat_map(|_| sample(|| drop(rust_proxy.echo(MESSAGE)))).collect());
        let python_rate = python_client(&python_daemon.uri, format);
        let python_to_rust = python_client(&rust_daemon.uri, format);
        let rate = |r: f64| (r, 1e6 / r);
        for (client, (calls, mean), ratio) in [
            ("Rust proxy -> Python daemon", rate(1e6 / rust_rate.mean), Some(1e6 / rust_rate.mean / python_rate)),
            ("Python proxy -> Python daemon", rate(python_rate), None),
            ("Python proxy -> Rust daemon (thread)", rate(python_to_rust), Some(python_to_rust / python_rate)),
        ] {
            let ratio = ratio.map_or(String::from("1.00x"), |r| format!("{r:.2}x"));
            println!("   {format:<9} {client:<40} {calls:>10.0} {mean:>9.1} {ratio:>14}");
        }
    }
    println!("   (Rust/Python: calls/s of the row over Python proxy -> Python daemon; higher is faster)\n");
}

/// Part 3: allocations per call on the calling thread, after a warm-up.
fn allocations_per_call(daemon: &RustDaemon) {
    let calls: u64 = if full_run() { 2000 } else { 100 };
    println!("3. client allocations per call, steady state ({calls} calls after a warm-up; Rust daemon, thread)");
    println!("   {:<9} {:<46} {:>12} {:>12}", "format", "call", "allocs/call", "bytes/call");
    for (serializer, format) in SERIALIZERS {
        let mut typed = daemon.echo_proxy(serializer);
        let args = [Value::Str(MESSAGE.into())];
        let mut count = |name: &str, call: &mut dyn FnMut(&mut EchoProxy)| {
            for _ in 0..50 {
                call(&mut typed);
            }
            let info = allocation_counter::measure(|| {
                for _ in 0..calls {
                    call(&mut typed);
                }
            });
            println!(
                "   {format:<9} {name:<46} {:>12.1} {:>12.0}",
                info.count_total as f64 / calls as f64,
                info.bytes_total as f64 / calls as f64
            );
        };
        count("typed: EchoProxy::echo(\"hello\") -> String", &mut |p| drop(p.echo(MESSAGE).expect("echo")));
        count("dynamic: Proxy::call_value(\"echo\", [\"hello\"])", &mut |p| {
            drop(p.proxy_mut().call_value("echo", &args, &[]).expect("echo"));
        });
        count("property: EchoProxy::verbose() -> bool", &mut |p| assert!(!p.verbose().expect("verbose")));
    }
}

/// Round trip times in microseconds, one per call, for `seconds() / rounds()` (after a few
/// calls of warm-up).
fn sample(mut call: impl FnMut()) -> Vec<f64> {
    for _ in 0..20 {
        call();
    }
    let budget = Duration::from_secs_f64(seconds() / f64::from(rounds()));
    let mut samples = Vec::with_capacity(100_000);
    let start = Instant::now();
    while start.elapsed() < budget {
        let t = Instant::now();
        call();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    samples
}

struct Stats {
    p50: f64,
    mean: f64,
}

impl Stats {
    fn of(mut samples: Vec<f64>) -> Self {
        assert!(!samples.is_empty(), "no calls measured");
        samples.sort_by(f64::total_cmp);
        Self { p50: samples[samples.len() / 2], mean: samples.iter().sum::<f64>() / samples.len() as f64 }
    }
}

fn echo_proxy(uri: &str, serializer: Serializer) -> EchoProxy {
    let mut proxy = Proxy::new(uri).expect("uri");
    proxy.set_serializer(serializer);
    proxy.bind().expect("connect");
    EchoProxy::from_proxy(proxy)
}

struct RustDaemon {
    daemon: Daemon,
    server_type: ServerType,
    port: u16,
    uri: String,
    thread: Option<JoinHandle<()>>,
}

impl RustDaemon {
    fn start(server_type: ServerType) -> Self {
        let config = DaemonConfig { host: "127.0.0.1".into(), server_type, ..DaemonConfig::default() };
        let daemon = Daemon::new(config).expect("bind");
        let uri = daemon.register_concurrent(EchoServer::new(), Some(OBJECT_ID)).expect("register");
        let port = daemon.port().expect("a TCP daemon");
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || serving.request_loop().expect("request loop"));
        Self { daemon, server_type, port, uri, thread: Some(thread) }
    }

    fn echo_proxy(&self, serializer: Serializer) -> EchoProxy {
        echo_proxy(&self.uri, serializer)
    }
}

impl Drop for RustDaemon {
    fn drop(&mut self) {
        self.daemon.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the proxy and `daemon` put on the wire for the handshake and for one
/// `echo(MESSAGE)`, recorded by a relay between the two.
struct Frames {
    connect_len: usize,
    connect_ok: Vec<u8>,
    invoke_len: usize,
    result: Vec<u8>,
}

fn frames(daemon: &RustDaemon, serializer: Serializer) -> Frames {
    const CALLS: usize = 8;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
    let relay_port = listener.local_addr().expect("relay address").port();
    let (up, down) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    let (recorded_up, recorded_down, daemon_port) = (up.clone(), down.clone(), daemon.port);
    let relay = std::thread::spawn(move || {
        let (client, _) = listener.accept().expect("accept");
        let server = TcpStream::connect(("127.0.0.1", daemon_port)).expect("connect to the daemon");
        let pump = |mut from: TcpStream, mut to: TcpStream, record: Arc<Mutex<Vec<u8>>>| {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = from.read(&mut buf) {
                    // Recorded before forwarding: a reply is recorded once it arrives.
                    record.lock().expect("record").extend_from_slice(&buf[..n]);
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to.shutdown(std::net::Shutdown::Write);
            })
        };
        let a = pump(client.try_clone().expect("clone"), server.try_clone().expect("clone"), recorded_up);
        let b = pump(server, client, recorded_down);
        let _ = (a.join(), b.join());
    });
    let mut proxy = echo_proxy(&format!("PYRO:{OBJECT_ID}@127.0.0.1:{relay_port}"), serializer);
    let connect_len = up.lock().expect("record").len();
    let connect_ok = down.lock().expect("record").clone();
    for _ in 0..CALLS {
        assert_eq!(proxy.echo(MESSAGE).expect("echo through the relay"), MESSAGE);
    }
    drop(proxy);
    relay.join().expect("relay");
    let (sent, received) = (up.lock().expect("record").len() - connect_len, down.lock().expect("record"));
    let received = &received[connect_ok.len()..];
    assert!(sent % CALLS == 0 && received.len() % CALLS == 0, "calls differ in size");
    let result = received[..received.len() / CALLS].to_vec();
    Frames { connect_len, connect_ok, invoke_len: sent / CALLS, result }
}

/// A server answering the proxy's calls with the recorded RESULT, its sequence number and
/// correlation id taken from the request: what the proxy costs on its own, the server
/// doing no more than the raw ping-pong's.
fn canned_server(frames: &Frames) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (connect_len, connect_ok, invoke_len, result) =
        (frames.connect_len, frames.connect_ok.clone(), frames.invoke_len, frames.result.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (connect_ok, mut reply) = (connect_ok.clone(), result.clone());
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut request = vec![0u8; connect_len.max(invoke_len)];
                if stream.read_exact(&mut request[..connect_len]).is_err() || stream.write_all(&connect_ok).is_err() {
                    return;
                }
                while stream.read_exact(&mut request[..invoke_len]).is_ok() {
                    let header = |bytes: &[u8]| {
                        Header::parse_bytes(bytes[..HEADER_LEN].try_into().expect("40 bytes")).expect("a header")
                    };
                    let (asked, mut answer) = (header(&request), header(&reply));
                    (answer.seq, answer.correlation_id) = (asked.seq, asked.correlation_id);
                    answer.emit((&mut reply[..HEADER_LEN]).try_into().expect("40 bytes"));
                    if stream.write_all(&reply).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// A TCP server answering each `request`-byte message with a `reply`-byte one.
struct RawServer {
    port: u16,
    request: usize,
    reply: usize,
}

impl RawServer {
    fn start(request: usize, reply: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                std::thread::spawn(move || {
                    let _ = stream.set_nodelay(true);
                    let (mut input, output) = (vec![0u8; request], vec![b'r'; reply]);
                    while stream.read_exact(&mut input).is_ok() {
                        if stream.write_all(&output).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self { port, request, reply }
    }

    fn client(&self) -> RawClient {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        RawClient { stream, request: vec![b'q'; self.request], reply: vec![0; self.reply] }
    }
}

struct RawClient {
    stream: TcpStream,
    request: Vec<u8>,
    reply: Vec<u8>,
}

impl RawClient {
    fn round_trip(&mut self) {
        self.stream.write_all(&self.request).expect("write");
        self.stream.read_exact(&mut self.reply).expect("read");
    }
}

/// calls/s of Python's proxy calling `echo("hello")` back to back.
fn python_client(uri: &str, serializer: &str) -> f64 {
    let script = workspace_root().join("tests/python/bench_client.py");
    let out = Command::new(python())
        .arg(script)
        .arg(uri)
        .args(["--mode", "seq", "--seconds", &seconds().to_string(), "--serializer", serializer])
        .output()
        .expect("run bench_client.py");
    assert!(out.status.success(), "bench_client.py: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON line");
    v["rate"].as_f64().expect("rate")
}
