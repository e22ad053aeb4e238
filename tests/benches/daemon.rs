//! The daemon benchmark: our echo daemon (pyro5-std's multiplexed and thread servers,
//! pyro5-tokio's on tokio's multi-threaded and on its current-thread runtime) and Python's
//! (`Pyro5.utils.echoserver`, which runs the multiplexed server) each in a process of its own,
//! under the same load of the same Python Pyro5 client script, measured side by side in one
//! run:
//!
//! - the daemon's CPU time per small call (`echo("hello")`, 4 client processes), from
//!   `/proc/<pid>/stat`;
//! - calls/s of 1 client (sequential calls), 4, 16 and 64 client processes;
//! - MB/s echoing a 1 MiB str with marshal (1 client).
//!
//! `cargo bench -p pyro5-interop-tests --bench daemon` (`DAEMON_BENCH_SECONDS` per
//! measurement, default 3; `DAEMON_BENCH_ROUNDS` of them, default 3, the best counting).
//! Prints a table and each ratio next to its target.

use pyro5_interop_tests::bench::{
    self, ClientRun, CpuTicks, DaemonProcess, bench_client, clock_ticks_per_second, cpu_ticks, full_run,
    serve_if_daemon_child,
};
use pyro5_interop_tests::echo_daemon::PythonEchoServer;
use pyro5_std::ServerType;

/// The client processes of the CPU measurement.
const CPU_PROCS: usize = 4;
/// The connection limit of every daemon, well above the 64 client processes of the largest
/// run: `PYRO_THREADPOOL_SIZE` of Python's (its multiplexed server has no limit of its own),
/// `max_connections` of our thread server, `max_connections_multiplex` of our multiplexed
/// server and of pyro5-tokio's.
const MAX_CONNECTIONS: usize = 200;
/// The payload of the large echo: 1 MiB.
const LARGE: usize = 1 << 20;

fn seconds() -> f64 {
    bench::seconds("DAEMON_BENCH_SECONDS", 3.0, 0.3)
}

/// Rounds of measurements (`DAEMON_BENCH_ROUNDS`, default 3; 1 in a short run).
fn rounds() -> usize {
    let default = if full_run() { 3 } else { 1 };
    std::env::var("DAEMON_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default).max(1)
}

/// One daemon under test.
struct Server {
    name: &'static str,
    uri: String,
    pid: u32,
}

/// What was measured of one daemon.
#[derive(Default)]
struct Row {
    /// The daemon's CPU time in clock ticks, and the calls made meanwhile.
    cpu_ticks: CpuTicks,
    cpu_calls: u64,
    seq: f64,
    procs_4: f64,
    procs_16: f64,
    procs_64: f64,
    /// MB/s (10^6 bytes of echoed str a second) of the 1 MiB marshal echo.
    large: f64,
}

impl Row {
    /// Microseconds of daemon CPU per call.
    fn cpu_per_call(&self, ticks_per_second: u64) -> f64 {
        self.per_call(self.cpu_ticks.total(), ticks_per_second)
    }

    /// Microseconds a call of `ticks` over the calls measured.
    fn per_call(&self, ticks: u64, ticks_per_second: u64) -> f64 {
        if self.cpu_calls == 0 {
            return f64::INFINITY;
        }
        ticks as f64 * 1e6 / ticks_per_second as f64 / self.cpu_calls as f64
    }

    /// Keep the better of each figure of `self` and `other`.
    fn keep_best(&mut self, other: Row, ticks_per_second: u64) {
        if other.cpu_per_call(ticks_per_second) < self.cpu_per_call(ticks_per_second) {
            (self.cpu_ticks, self.cpu_calls) = (other.cpu_ticks, other.cpu_calls);
        }
        self.seq = self.seq.max(other.seq);
        self.procs_4 = self.procs_4.max(other.procs_4);
        self.procs_16 = self.procs_16.max(other.procs_16);
        self.procs_64 = self.procs_64.max(other.procs_64);
        self.large = self.large.max(other.large);
    }
}

/// One round of every measurement, over every daemon in turn.
fn round(servers: &[Server]) -> Vec<Row> {
    let mut rows: Vec<Row> = servers.iter().map(|_| Row::default()).collect();
    for (server, row) in servers.iter().zip(&mut rows) {
        let (ticks, run) = cpu_run(server);
        (row.cpu_ticks, row.cpu_calls, row.procs_4) = (ticks, run.calls, run.rate);
    }
    for (server, row) in servers.iter().zip(&mut rows) {
        row.seq = small(&server.uri, &["--mode", "seq"]).rate;
    }
    if full_run() {
        for (server, row) in servers.iter().zip(&mut rows) {
            row.procs_16 = small(&server.uri, &["--mode", "par", "--procs", "16"]).rate;
        }
        for (server, row) in servers.iter().zip(&mut rows) {
            row.procs_64 = small(&server.uri, &["--mode", "par", "--procs", "64"]).rate;
        }
    }
    let large = LARGE.to_string();
    for (server, row) in servers.iter().zip(&mut rows) {
        let args = ["--mode", "seq", "--serializer", "marshal", "--payload-bytes", &large];
        row.large = bench_client(&server.uri, seconds(), &args).rate * LARGE as f64 / 1e6;
    }
    rows
}

fn small(uri: &str, args: &[&str]) -> ClientRun {
    bench_client(uri, seconds(), &[&["--serializer", "serpent"], args].concat())
}

/// The daemon's CPU time while 4 client processes call it: (ticks, calls); the calls/s of
/// the run are the 4-process figure.
fn cpu_run(server: &Server) -> (CpuTicks, ClientRun) {
    let before = cpu_ticks(server.pid).expect("read the daemon's /proc/<pid>/stat");
    let run = small(&server.uri, &["--mode", "par", "--procs", &CPU_PROCS.to_string()]);
    let after = cpu_ticks(server.pid).expect("read the daemon's /proc/<pid>/stat");
    (after.since(before), run)
}

/// `target` met by `ratio`: at least it, or at most it when `lower_is_better`.
fn verdict(ratio: f64, target: f64, lower_is_better: bool) -> &'static str {
    let ok = if lower_is_better { ratio <= target } else { ratio >= target };
    if ok { "ok" } else { "MISSED" }
}

fn main() {
    if serve_if_daemon_child() || std::env::args().any(|a| a == "--list") {
        return;
    }
    if !full_run() {
        println!("smoke run (cargo bench -p pyro5-interop-tests --bench daemon measures for real)");
    }
    let python = PythonEchoServer::start(&[("PYRO_THREADPOOL_SIZE", &MAX_CONNECTIONS.to_string())]);
    let multiplex = DaemonProcess::start(ServerType::Multiplex, MAX_CONNECTIONS);
    let thread = DaemonProcess::start(ServerType::Thread, MAX_CONNECTIONS);
    let tokio = DaemonProcess::start_tokio(MAX_CONNECTIONS);
    let tokio_current = DaemonProcess::start_tokio_current_thread(MAX_CONNECTIONS);
    let servers = [
        Server { name: "Python echoserver (multiplex)", uri: python.uri.clone(), pid: python.pid() },
        Server { name: "pyro5 daemon (multiplex)", uri: multiplex.uri.clone(), pid: multiplex.pid() },
        Server { name: "pyro5 daemon (thread)", uri: thread.uri.clone(), pid: thread.pid() },
        Server { name: "pyro5-tokio (multi-thread)", uri: tokio.uri.clone(), pid: tokio.pid() },
        Server { name: "pyro5-tokio (current-thread)", uri: tokio_current.uri.clone(), pid: tokio_current.pid() },
    ];
    let secs = seconds();
    let hz = clock_ticks_per_second();
    println!(
        "each daemon in its own process; Python Pyro5 clients (bench_client.py), {secs} s a measurement, \
         the best of {} round(s); CPU = utime+stime of /proc/<pid>/stat at {hz} ticks/s; every daemon takes \
         {MAX_CONNECTIONS} connections (PYRO_THREADPOOL_SIZE of Python's)",
        rounds()
    );

    // Each measurement runs over the daemons in turn, so that all see the same
    // machine state; of several rounds, the best figure of each daemon counts (other work on
    // the machine only ever makes a figure worse).
    let rounds = rounds();
    let mut rows: Vec<Row> = servers.iter().map(|_| Row::default()).collect();
    for _ in 0..rounds {
        for (row, measured) in rows.iter_mut().zip(round(&servers)) {
            row.keep_best(measured, hz);
        }
    }

    println!(
        "\n{:<32}{:>14}{:>10}{:>10}{:>8}{:>12}{:>12}{:>12}{:>12}{:>14}",
        "daemon",
        "CPU µs/call",
        "user",
        "system",
        "ticks",
        "seq/s",
        "4 procs/s",
        "16 procs/s",
        "64 procs/s",
        "1 MiB MB/s"
    );
    for (server, row) in servers.iter().zip(&rows) {
        let many = |rate: f64| if full_run() { format!("{rate:.0}") } else { "-".into() };
        println!(
            "{:<32}{:>14.1}{:>10.1}{:>10.1}{:>8}{:>12.0}{:>12.0}{:>12}{:>12}{:>14.0}",
            server.name,
            row.cpu_per_call(hz),
            row.per_call(row.cpu_ticks.user, hz),
            row.per_call(row.cpu_ticks.system, hz),
            row.cpu_ticks.total(),
            row.seq,
            row.procs_4,
            many(row.procs_16),
            many(row.procs_64),
            row.large
        );
    }
    println!(
        "(CPU: {CPU_PROCS} client processes calling echo(\"hello\") in serpent; 1 MiB: echo of a 1 MiB str in marshal, 1 client)"
    );

    let theirs = &rows[0];
    for (server, ours) in servers.iter().zip(&rows).skip(1) {
        println!("\n{} against Python's:", server.name);
        let cpu = ours.cpu_per_call(hz) / theirs.cpu_per_call(hz);
        println!("  daemon CPU per call   target <= 1/15: 1/{:.1} {}", 1.0 / cpu, verdict(cpu, 1.0 / 15.0, true));
        // The kernel's share (the socket calls, the loopback network stack, waking the
        // clients) is about the same for any daemon; the daemon's own code is the user time.
        let user = ours.per_call(ours.cpu_ticks.user, hz) / theirs.per_call(theirs.cpu_ticks.user, hz);
        println!(
            "  of it in user space   1/{:.1} (the kernel's part: {:.1} µs ours, {:.1} µs Python's)",
            1.0 / user,
            ours.per_call(ours.cpu_ticks.system, hz),
            theirs.per_call(theirs.cpu_ticks.system, hz)
        );
        let mut ratios =
            vec![("seq calls/s", ours.seq / theirs.seq, 1.5), ("4 procs calls/s", ours.procs_4 / theirs.procs_4, 2.0)];
        if full_run() {
            ratios.push(("16 procs calls/s", ours.procs_16 / theirs.procs_16, 2.0));
            ratios.push(("64 procs calls/s", ours.procs_64 / theirs.procs_64, 2.0));
        }
        ratios.push(("1 MiB marshal MB/s", ours.large / theirs.large, 1.3));
        for (what, ratio, target) in ratios {
            println!("  {what:<21} target >= {target}x: {ratio:.2}x {}", verdict(ratio, target, false));
        }
    }
}
