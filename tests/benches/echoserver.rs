//! The echo server benchmark: the same Python Pyro5 client script against `pyro5-echoserver`'s
//! daemon (both server types) and against Python's own echo server, measured side by side in
//! one run, with raw TCP ping-pong as the floor.
//!
//! `cargo bench -p pyro5-interop-tests --bench echoserver` (`ECHO_BENCH_SECONDS` per
//! measurement, default 2). Prints a table and the ratios.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pyro5_interop_tests::bench::{self, bench_client, full_run};
use pyro5_interop_tests::echo_daemon::PythonEchoServer;
use pyro5_interop_tests::{python, workspace_root};
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::{Daemon, DaemonConfig, ServerType};

const PROCS: [usize; 4] = [1, 4, 16, 64];
/// Bytes of a serpent `echo("hello")` INVOKE, and of its RESULT: the ping-pong sizes.
const REQUEST_SIZE: usize = 127;

fn seconds() -> f64 {
    bench::seconds("ECHO_BENCH_SECONDS", 2.0, 0.2)
}

fn procs() -> &'static [usize] {
    if full_run() { &PROCS } else { &PROCS[..2] }
}

fn client(uri: &str, args: &[&str]) -> f64 {
    let args = [&["--serializer", "serpent"], args].concat();
    bench_client(uri, seconds(), &args).rate
}

struct RustDaemon {
    daemon: Daemon,
    uri: String,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RustDaemon {
    fn start(server_type: ServerType) -> Self {
        let config = DaemonConfig { server_type, max_connections: 200, ..DaemonConfig::default() };
        let daemon = Daemon::new(config).expect("bind");
        let uri = daemon.register_concurrent(EchoServer::new(), Some(OBJECT_ID)).expect("register");
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || serving.request_loop().expect("loop"));
        Self { daemon, uri, thread: Some(thread) }
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

/// A Rust TCP server echoing fixed-size messages; returns its port.
fn raw_echo_server(stop: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stop.load(Ordering::Acquire) {
                break;
            }
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut buf = [0u8; REQUEST_SIZE];
                while stream.read_exact(&mut buf).is_ok() {
                    if stream.write_all(&buf).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

fn rust_pingpong(port: u16) -> f64 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (message, mut buf) = ([b'x'; REQUEST_SIZE], [0u8; REQUEST_SIZE]);
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < Duration::from_secs_f64(seconds()) {
        stream.write_all(&message).expect("write");
        stream.read_exact(&mut buf).expect("read");
        calls += 1;
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

fn rate(json: &[u8]) -> f64 {
    let v: serde_json::Value = serde_json::from_slice(json).expect("json line");
    v["rate"].as_f64().expect("rate")
}

fn python_pingpong(port: u16) -> f64 {
    let script = workspace_root().join("tests/python/raw_pingpong.py");
    let out = Command::new(python())
        .arg(script)
        .args(["127.0.0.1", &port.to_string(), "--size", &REQUEST_SIZE.to_string()])
        .args(["--seconds", &seconds().to_string()])
        .output()
        .expect("run raw_pingpong.py");
    assert!(out.status.success(), "raw_pingpong: {}", String::from_utf8_lossy(&out.stderr));
    rate(&out.stdout)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !full_run() {
        println!("smoke run (cargo bench -p pyro5-interop-tests --bench echoserver measures for real)");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let raw_port = raw_echo_server(stop.clone());
    println!("floor: raw TCP ping-pong of {REQUEST_SIZE}-byte messages, one connection");
    println!("  Rust client   {:>9.0} round trips/s", rust_pingpong(raw_port));
    println!("  Python client {:>9.0} round trips/s", python_pingpong(raw_port));
    stop.store(true, Ordering::Release);

    let python_daemon = PythonEchoServer::start(&[("PYRO_THREADPOOL_SIZE", "200")]);
    let rust_multiplex = RustDaemon::start(ServerType::Multiplex);
    let rust_thread = RustDaemon::start(ServerType::Thread);
    let targets: [(&str, &str); 3] = [
        ("Python echoserver (multiplex)", &python_daemon.uri),
        ("pyro5-echoserver (multiplex)", &rust_multiplex.uri),
        ("pyro5-echoserver (thread)", &rust_thread.uri),
    ];
    println!("\nPython Pyro5 client (serpent) echo(\"hello\"), calls/s:");
    print!("{:<32}{:>10}", "server", "seq");
    for p in procs() {
        print!("{:>10}", format!("{p} procs"));
    }
    println!();
    let mut rows = Vec::new();
    for (name, uri) in targets {
        let mut row = vec![client(uri, &["--mode", "seq"])];
        for p in procs() {
            row.push(client(uri, &["--mode", "par", "--procs", &p.to_string()]));
        }
        print!("{name:<32}");
        row.iter().for_each(|r| print!("{r:>10.0}"));
        println!();
        rows.push(row);
    }
    println!("\nratios against Python's echo server (higher is better):");
    for (i, name) in ["pyro5-echoserver (multiplex)", "pyro5-echoserver (thread)"].iter().enumerate() {
        print!("{name:<32}");
        for (ours, theirs) in rows[i + 1].iter().zip(&rows[0]) {
            print!("{:>10}", format!("{:.2}x", ours / theirs));
        }
        println!();
    }
}
