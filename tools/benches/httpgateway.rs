//! Requests per second through Python's HTTP gateway and `pyro5-httpgateway`, side by side:
//! `GET /pyro/test.echoserver/echo?message=hello` from one client, then from 8 at once,
//! each request on a new connection (Python's gateway speaks HTTP/1.0 and closes every
//! connection). Both gateways run in front of the same Python name server and the same echo
//! server (`pyro5-echoserver --servertype thread`, so that the echo calls themselves run side
//! by side).
//!
//! `cargo bench -p pyro5-tools --bench httpgateway` measures 3 s per figure
//! (`PYRO5_BENCH_SECONDS` to change it); `cargo test --benches` only runs it briefly.

#[path = "../tests/gateway_support/mod.rs"]
mod gateway_support;

use std::time::{Duration, Instant};

use gateway_support::{Gateway, PyroSide, Which, free_port, get};
use pyro5_interop_tests::bench::seconds;

const PATH: &str = "/pyro/test.echoserver/echo?message=hello";

/// Requests per second from `clients` threads, each sending requests one after the other
/// for `time`.
fn rate(port: u16, clients: usize, time: Duration) -> f64 {
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            std::thread::spawn(move || {
                let mut done = 0u64;
                while started.elapsed() < time {
                    let answer = get(port, PATH, &[]);
                    assert_eq!((answer.status, answer.body.as_slice()), (200, b"\"hello\"".as_slice()));
                    done += 1;
                }
                done
            })
        })
        .collect();
    let done: u64 = threads.into_iter().map(|t| t.join().expect("a client")).sum();
    done as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let time = Duration::from_secs_f64(seconds("PYRO5_BENCH_SECONDS", 3.0, 0.3));
    let side = PyroSide::start_with_our_echo_server();
    let python = Gateway::start(Which::Python, side.ns_port, free_port(), &["-e", "test."]);
    let ours = Gateway::start(Which::Ours, side.ns_port, free_port(), &["-e", "test."]);
    println!("HTTP gateway: GET {PATH}, a new connection per request, {:.1} s per figure", time.as_secs_f64());
    println!("{:<22} {:>16} {:>20}", "clients", "Python (req/s)", "pyro5-httpgateway");
    for clients in [1, 8] {
        // A warm-up request each: the name server found, a first connection made.
        let _ = get(python.port, PATH, &[]);
        let _ = get(ours.port, PATH, &[]);
        let theirs = rate(python.port, clients, time);
        let mine = rate(ours.port, clients, time);
        let label = if clients == 1 { "1 (sequential)".to_string() } else { format!("{clients} concurrent") };
        println!("{label:<22} {theirs:>16.0} {mine:>20.0}");
    }
}
