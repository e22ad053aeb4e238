//! The name server benchmark: the same Python client load (tests/python/ns_bench.py) against
//! `pyro5-ns`'s name server (memory and sqlite storage) and Python's own name server,
//! registrations/s and lookups/s from 1 and 4 client processes, side by side in one run.
//!
//! `cargo bench -p pyro5-interop-tests --bench nameserver`; under `cargo test` a short smoke
//! run.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use pyro5_interop_tests::{python, workspace_root};
use pyro5_std::naming::{MemoryStorage, NameServer, SqlStorage};
use pyro5_std::{Daemon, DaemonConfig};

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn seconds() -> f64 {
    if full_run() { 2.0 } else { 0.2 }
}

fn load(uri: &str, mode: &str, procs: usize) -> f64 {
    let script = workspace_root().join("tests/python/ns_bench.py");
    let out = Command::new(python())
        .arg(script)
        .args([uri, "--mode", mode, "--procs", &procs.to_string(), "--seconds", &seconds().to_string()])
        .output()
        .expect("run ns_bench.py");
    assert!(out.status.success(), "ns_bench {mode} {procs}: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["rate"].as_f64().expect("rate")
}

/// Our name server in this process, until dropped.
struct Ours {
    daemon: Daemon,
    uri: String,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ours {
    fn start(ns: NameServer) -> Self {
        let daemon = Daemon::new(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }).expect("bind");
        let uri = ns.serve(&daemon).expect("serve");
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || serving.request_loop().expect("loop"));
        Self { daemon, uri, thread: Some(thread) }
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        self.daemon.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Python's name server, killed when dropped.
struct Theirs {
    child: Child,
    uri: String,
}

impl Theirs {
    fn start(storage: &str) -> Self {
        let mut child = Command::new(python())
            .args(["-u", "-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", "0", "-x", "-s", storage])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Python's name server");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines().map_while(Result::ok);
        let uri = lines
            .find_map(|line| line.strip_prefix("URI = ").map(str::to_string))
            .expect("Python's name server prints its URI");
        // Keep draining: a closed stdout would kill it at its next print.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, uri }
    }
}

impl Drop for Theirs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !full_run() {
        println!("smoke run (cargo bench -p pyro5-interop-tests --bench nameserver measures for real)");
    }
    let db = std::env::temp_dir().join(format!("pyro5-rs-ns-bench-{}.sqlite", std::process::id()));
    let python_db = std::env::temp_dir().join(format!("pyro5-rs-ns-bench-{}-python.sqlite", std::process::id()));
    let _ = (std::fs::remove_file(&db), std::fs::remove_file(&python_db));
    let python_ns = Theirs::start("memory");
    let python_sql = Theirs::start(&format!("sql:{}", python_db.display()));
    let memory = Ours::start(NameServer::with_storage(MemoryStorage::new()));
    let sqlite = Ours::start(NameServer::with_storage(SqlStorage::open(&db).expect("db")));
    let targets = [
        ("Python name server, memory", &python_ns.uri),
        ("Python name server, sql", &python_sql.uri),
        ("pyro5-ns, memory", &memory.uri),
        ("pyro5-ns, sql", &sqlite.uri),
    ];
    let columns = [("register", 1), ("register", 4), ("lookup", 1), ("lookup", 4)];
    println!("Python Pyro5 clients against name servers, calls/s (serpent):");
    print!("{:<30}", "server");
    for (mode, procs) in columns {
        print!("{:>16}", format!("{mode} x{procs}"));
    }
    println!();
    let mut rows = Vec::new();
    for (name, uri) in targets {
        let row: Vec<f64> = columns.iter().map(|(mode, procs)| load(uri, mode, *procs)).collect();
        print!("{name:<30}");
        row.iter().for_each(|r| print!("{r:>16.0}"));
        println!();
        rows.push(row);
    }
    println!("\nratios against Python's name server with the same storage (higher is better):");
    for (i, name) in ["pyro5-ns, memory", "pyro5-ns, sql"].iter().enumerate() {
        print!("{name:<30}");
        for (ours, theirs) in rows[i + 2].iter().zip(&rows[i]) {
            print!("{:>16}", format!("{:.2}x", ours / theirs));
        }
        println!();
    }
    drop((memory, sqlite, python_sql));
    let _ = (std::fs::remove_file(&db), std::fs::remove_file(&python_db));
}
