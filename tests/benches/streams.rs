//! The remote iterator benchmark (issue 17): items per second of one stream, side by side in
//! one run — Python's proxy iterating it from Python's daemon (one round trip an item), our
//! proxy from Python's daemon and from ours, one request at a time (Pyro's way) and with 16
//! requests waiting (prefetching).
//!
//! `cargo bench -p pyro5-interop-tests --bench streams` (`STREAMS_BENCH_ITEMS` items a
//! stream, default 20,000; the best of 3 runs each); `cargo test --benches` runs a smoke
//! version.

use std::process::Command;
use std::time::Instant;

use pyro5_interop_tests::bench::full_run;
use pyro5_interop_tests::echo_daemon::start_server_process;
use pyro5_interop_tests::{python, workspace_root};
use pyro5_macros::expose;
use pyro5_std::{Daemon, DaemonConfig, Proxy, ServerType};

/// Counts, as the Python test server's `count(n)` generator does.
#[derive(Clone)]
struct Counter;

#[expose]
impl Counter {
    fn count(&self, n: u32) -> impl Iterator<Item = u32> {
        0..n
    }
}

fn items() -> u32 {
    let default = if full_run() { 20_000 } else { 300 };
    std::env::var("STREAMS_BENCH_ITEMS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Items/s of our proxy iterating `count(n)` with `prefetch` requests waiting.
fn rust_iterate(uri: &str, n: u32, prefetch: usize) -> f64 {
    let proxy = Proxy::new(uri).expect("uri");
    proxy.bind().expect("connect");
    let start = Instant::now();
    let mut seen = 0u32;
    for item in proxy.call_iter("count", (n,)).expect("count").prefetch(prefetch) {
        assert_eq!(item.expect("an item"), pyro5_core::ser::value::Value::from(seen), "in order");
        seen += 1;
    }
    assert_eq!(seen, n, "every item");
    f64::from(n) / start.elapsed().as_secs_f64()
}

/// Items/s of Python's proxy iterating `count(n)` (a `_StreamResultIterator`).
fn python_iterate(uri: &str, n: u32) -> f64 {
    let script = "import sys, time, Pyro5.api\n\
        p = Pyro5.api.Proxy(sys.argv[1]); p._pyroBind(); n = int(sys.argv[2])\n\
        t = time.perf_counter(); seen = 0\n\
        for item in p.count(n):\n    assert item == seen; seen += 1\n\
        assert seen == n\n\
        print(n / (time.perf_counter() - t))\n";
    let out = Command::new(python()).args(["-c", script, uri, &n.to_string()]).output().expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a rate")
}

fn best(runs: u32, mut f: impl FnMut() -> f64) -> f64 {
    (0..runs).map(|_| f()).fold(0.0, f64::max)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = items();
    let runs = if full_run() { 3 } else { 1 };
    let script = workspace_root().join("tests/python/proxy_test_server.py");
    let mut command = Command::new(python());
    command.arg(script).args(["--port", "0"]).stderr(std::process::Stdio::null());
    let (mut python_server, python_uri) = start_server_process(command, "uri:", "the Python test server");
    let daemon =
        Daemon::new(DaemonConfig { server_type: ServerType::Multiplex, ..DaemonConfig::default() }).expect("bind");
    let our_uri = daemon.register_concurrent(Counter, Some("counter")).expect("register");
    let serving = daemon.clone();
    let thread = std::thread::spawn(move || serving.request_loop().expect("loop"));

    println!("items/s of one stream of {n} items (the best of {runs} run(s)), 2 shared cores");
    let baseline = best(runs, || python_iterate(&python_uri, n));
    let rows = [
        ("Python proxy <- Python daemon", baseline),
        ("Python proxy <- our daemon", best(runs, || python_iterate(&our_uri, n))),
        ("our proxy, 1 waiting <- Python daemon", best(runs, || rust_iterate(&python_uri, n, 1))),
        ("our proxy, 16 waiting <- Python daemon", best(runs, || rust_iterate(&python_uri, n, 16))),
        ("our proxy, 1 waiting <- our daemon", best(runs, || rust_iterate(&our_uri, n, 1))),
        ("our proxy, 16 waiting <- our daemon", best(runs, || rust_iterate(&our_uri, n, 16))),
    ];
    for (what, rate) in rows {
        println!("{what:<42}{rate:>12.0}{:>10.2}x", rate / baseline);
    }
    let prefetching = rows[5].1 / baseline;
    let verdict = if prefetching >= 10.0 { "ok" } else { "MISSED" };
    println!("prefetching (ours <- ours) against Python's iteration: target >= 10x: {prefetching:.1}x {verdict}");

    daemon.shutdown();
    let _ = thread.join();
    let _ = python_server.kill();
    let _ = python_server.wait();
}
