//! The async proxy's pipelining: one `pyro5_tokio::Proxy` called by 1, 16 and 256 tasks at
//! once (`echo("hello")`, serpent) against our echo daemon in a process of its own, on
//! loopback and through a relay holding every byte 1 ms each way; calls/s and the factor
//! over one task, side by side. pyro5-std's blocking proxy called by one thread is the
//! sequential reference; 16 Python proxies in 16 processes calling Python's echo daemon
//! (`tests/python/bench_client.py --mode par`, one connection each) are the reference for
//! concurrent calls, and the async proxy called by 16 tasks against Python's daemon stands
//! beside them.
//!
//! `cargo bench -p pyro5-tokio --bench proxy` measures (`PROXY_BENCH_SECONDS` per row,
//! default 2); `cargo test --benches` runs it briefly.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pyro5_interop_tests::bench::{self, DaemonProcess, LatencyRelay, bench_client};
use pyro5_interop_tests::echo_daemon::PythonEchoServer;
use pyro5_std::ServerType;
use pyro5_std::echo::OBJECT_ID;

/// Tasks calling through the one proxy.
const TASKS: [usize; 3] = [1, 16, 256];
/// The relay's delay each way.
const LATENCY: Duration = Duration::from_millis(1);
const MESSAGE: &str = "hello";

fn seconds() -> f64 {
    bench::seconds("PROXY_BENCH_SECONDS", 2.0, 0.2)
}

/// Calls per second of `tasks` tasks calling through one async proxy for `seconds`.
async fn async_rate(uri: &str, tasks: usize, seconds: f64) -> f64 {
    let proxy = pyro5_tokio::Proxy::new(uri).expect("a valid URI");
    proxy.bind().await.expect("connect");
    let calls = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(seconds);
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (proxy, calls) = (proxy.clone(), calls.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let back: String = proxy.call("echo", (MESSAGE,)).await.expect("echo");
                    assert_eq!(back, MESSAGE);
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("a calling task");
    }
    calls.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// Calls per second of one thread calling through pyro5-std's blocking proxy.
fn blocking_rate(uri: &str, seconds: f64) -> f64 {
    let proxy = pyro5_std::Proxy::new(uri).expect("a valid URI");
    proxy.bind().expect("connect");
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(seconds);
    let mut calls = 0u64;
    while Instant::now() < until {
        let back: String = proxy.call("echo", (MESSAGE,)).expect("echo");
        assert_eq!(back, MESSAGE);
        calls += 1;
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

/// Python proxies (processes, one connection each) of the reference row.
const PYTHON_PROXIES: usize = 16;

/// A TCP URI's port.
fn port_of(uri: &str) -> u16 {
    uri.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a TCP URI")
}

fn main() {
    if bench::serve_if_daemon_child() {
        return;
    }
    let seconds = seconds();
    let daemon = DaemonProcess::start(ServerType::Multiplex, 200);
    let python = PythonEchoServer::start(&[]);
    let relay = LatencyRelay::start(([127, 0, 0, 1], port_of(&daemon.uri)).into(), LATENCY);
    let python_relay = LatencyRelay::start(([127, 0, 0, 1], port_of(&python.uri)).into(), LATENCY);
    let relayed = |port: u16| format!("PYRO:{OBJECT_ID}@127.0.0.1:{port}");
    let paths = [
        (String::from("loopback"), daemon.uri.clone(), python.uri.clone()),
        (format!("{} ms each way (relay)", LATENCY.as_millis()), relayed(relay.port), relayed(python_relay.port)),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    println!(
        "one async Proxy called by N tasks at once (calls pipelined on its one connection), echo({MESSAGE:?}), \
         serpent, against our daemon (multiplex) and Python's (Pyro5.utils.echoserver), each in a process of its \
         own; the reference: {PYTHON_PROXIES} Python proxies in {PYTHON_PROXIES} processes \
         (tests/python/bench_client.py --mode par); {seconds} s a row"
    );
    for (path, uri, python_uri) in &paths {
        println!("  {path}:");
        println!("  {:<52} {:>10} {:>10} {:>12}", "client -> server", "calls/s", "x 1 task", "x Python 16");
        let python16 = bench_client(
            python_uri,
            seconds,
            &["--mode", "par", "--procs", &PYTHON_PROXIES.to_string(), "--serializer", "serpent"],
        )
        .rate;
        let sequential = blocking_rate(uri, seconds);
        let label = "pyro5-std Proxy, 1 thread (sequential) -> ours";
        println!("  {label:<52} {sequential:>10.0} {:>10} {:>11.2}x", "", sequential / python16);
        let mut one = 0.0;
        for tasks in TASKS {
            let rate = runtime.block_on(async_rate(uri, tasks, seconds));
            if tasks == 1 {
                one = rate;
            }
            let label = format!("pyro5-tokio Proxy, {tasks} task{} -> ours", if tasks == 1 { "" } else { "s" });
            println!("  {label:<52} {rate:>10.0} {:>9.1}x {:>11.2}x", rate / one, rate / python16);
        }
        let rate = runtime.block_on(async_rate(python_uri, PYTHON_PROXIES, seconds));
        let label = format!("pyro5-tokio Proxy, {PYTHON_PROXIES} tasks -> Python's");
        println!("  {label:<52} {rate:>10.0} {:>10} {:>11.2}x", "", rate / python16);
        let label = format!("{PYTHON_PROXIES} Python proxies -> Python's");
        println!("  {label:<52} {python16:>10.0} {:>10} {:>11.2}x", "", 1.0);
    }
}
