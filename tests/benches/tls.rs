//! The TLS benchmark (issue 19): side by side in one run, our proxy calling `echo("hello")`
//! (calls/s, one call at a time) and connecting anew (connections/s: TCP, TLS and Pyro's
//! handshake, then release) against our thread daemon and Python's echo server, each with
//! and without TLS. Certificates are made at run time (an ECDSA P-256 authority and leaf).
//!
//! `cargo bench -p pyro5-interop-tests --bench tls` (`TLS_BENCH_SECONDS` per row, default 2);
//! `cargo test --benches` runs it briefly.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pyro5_interop_tests::bench;
use pyro5_interop_tests::echo_daemon::{serve_echo, start_echo_process};
use pyro5_interop_tests::python;
use pyro5_interop_tests::tls::TestCertificates;
use pyro5_std::config::Config;
use pyro5_std::{Proxy, ServerType};

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn seconds() -> f64 {
    bench::seconds("TLS_BENCH_SECONDS", 2.0, 0.2)
}

/// Calls per second through one proxy, one call at a time.
fn call_rate(uri: &str, config: &Config, seconds: f64) -> f64 {
    let proxy = Proxy::with_config(uri, config).expect("a valid URI");
    proxy.bind().expect("connect");
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let (start, mut calls) = (Instant::now(), 0u64);
    while Instant::now() < until {
        let back: String = proxy.call("echo", ("hello",)).expect("echo");
        assert_eq!(back, "hello");
        calls += 1;
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

/// New connections per second: connect, TLS, Pyro's handshake, release.
fn connect_rate(uri: &str, config: &Config, seconds: f64) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let (start, mut made) = (Instant::now(), 0u64);
    while Instant::now() < until {
        let proxy = Proxy::with_config(uri, config).expect("a valid URI");
        proxy.bind().expect("connect");
        proxy.release();
        made += 1;
    }
    made as f64 / start.elapsed().as_secs_f64()
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python_echo(env: &[(&str, String)]) -> (Killed, String) {
    let mut command = Command::new(python());
    command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    command.args(["-u", "-m", "Pyro5.utils.echoserver", "-H", "localhost", "-p", "0"]).stderr(Stdio::null());
    let (child, uri) = start_echo_process(command, "Python's echo server");
    (Killed(child), uri)
}

fn main() {
    let seconds = seconds();
    let certs = TestCertificates::new("bench");
    let tls_client = Config { ssl: true, ssl_cacerts: path(&certs.ca()), ..Config::default() };
    let plain_client = Config::default();
    let ours_plain = Config { host: "localhost".into(), servertype: ServerType::Thread, ..Config::default() };
    let ours_tls = Config {
        ssl: true,
        ssl_servercert: path(&certs.server().cert),
        ssl_serverkey: path(&certs.server().key),
        ..ours_plain.clone()
    };
    let python_tls_env = vec![
        ("PYRO_SSL", "1".to_string()),
        ("PYRO_SSL_SERVERCERT", path(&certs.server().cert)),
        ("PYRO_SSL_SERVERKEY", path(&certs.server().key)),
    ];

    // Every server up at once, measured in turn, three rounds: the best of each (the
    // machine's other work shows less in the ratios).
    let mut servers = Vec::new();
    let mut ours = Vec::new();
    for (name, server, client) in [("plain", &ours_plain, &plain_client), ("TLS", &ours_tls, &tls_client)] {
        let (daemon, uri, thread) = serve_echo(server, "test.echoserver");
        servers.push((format!("our thread daemon, {name}"), uri, client));
        ours.push((daemon, thread));
    }
    let mut pythons = Vec::new();
    for (name, env, client) in [("plain", Vec::new(), &plain_client), ("TLS", python_tls_env, &tls_client)] {
        let (server, uri) = python_echo(&env);
        servers.push((format!("Python's echo server, {name}"), uri, client));
        pythons.push(server);
    }
    let mut rows: Vec<(String, f64, f64)> = servers.iter().map(|(name, _, _)| (name.clone(), 0.0, 0.0)).collect();
    for _ in 0..3 {
        for ((_, uri, client), row) in servers.iter().zip(&mut rows) {
            row.1 = row.1.max(call_rate(uri, client, seconds / 3.0));
            row.2 = row.2.max(connect_rate(uri, client, seconds / 3.0));
        }
    }
    for (daemon, thread) in ours {
        daemon.shutdown();
        let _ = thread.join();
    }
    drop(pythons);

    println!("\nTLS: our proxy (one call at a time) -> each daemon, best of 3 rounds of {:.1} s", seconds / 3.0);
    println!("| daemon | calls/s | x its plain | connections/s | x its plain |");
    println!("|---|---|---|---|---|");
    for pair in rows.chunks(2) {
        let (plain_calls, plain_connects) = (pair[0].1, pair[0].2);
        for (name, calls, connects) in pair {
            println!(
                "| {name} | {calls:.0} | {:.2}x | {connects:.0} | {:.2}x |",
                calls / plain_calls,
                connects / plain_connects
            );
        }
    }
    let (ours, python) = (&rows[1], &rows[3]);
    println!("TLS, ours vs Python's daemon: calls {:.2}x, connections {:.2}x", ours.1 / python.1, ours.2 / python.2);
}
