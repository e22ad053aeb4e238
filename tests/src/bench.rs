//! What the benchmarks in `tests/benches/` share: the short-run switch, the Python load
//! client (`tests/python/bench_client.py`), our echo daemon in a process of its own, and the
//! CPU time and memory of a process as Linux's `/proc` counts them.
//!
//! A benchmark that starts [`DaemonProcess`]es calls [`serve_if_daemon_child`] first thing in
//! its `main`: the daemon process is the benchmark's own executable started again, so it runs
//! the code of this build with the library's public API only (the daemon, the echo object) and
//! needs no other binary to be built or found.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;

use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::{Config, Daemon, DaemonConfig, ServerType};

use crate::{python, workspace_root};

/// The environment variable that turns a benchmark executable into a daemon process: its
/// value is `<server type>:<connection limit>`, e.g. `multiplex:10100`.
const DAEMON_CHILD_ENV: &str = "PYRO5_BENCH_DAEMON";

/// Whether this is a measuring run: `cargo bench` passes `--bench`; without it
/// (`cargo test --benches`) a benchmark only proves that it runs, briefly.
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Seconds per measurement: the environment variable `var` if set, else `full` in a
/// measuring run and `short` otherwise.
pub fn seconds(var: &str, full: f64, short: f64) -> f64 {
    let default = if full_run() { full } else { short };
    std::env::var(var).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// What one run of the Python load client measured.
#[derive(Clone, Copy, Debug)]
pub struct ClientRun {
    /// Calls made (by all its processes).
    pub calls: u64,
    /// Its run time (the longest of its processes).
    pub seconds: f64,
    /// Calls per second.
    pub rate: f64,
}

/// Run `tests/python/bench_client.py` against `uri` for `seconds` with the further `args`
/// (`--mode`, `--procs`, `--serializer`, `--payload-bytes`).
///
/// # Panics
/// When the client fails (a wrong reply, an error): the measurement would mean nothing.
pub fn bench_client(uri: &str, seconds: f64, args: &[&str]) -> ClientRun {
    let script = workspace_root().join("tests/python/bench_client.py");
    let out = Command::new(python())
        .arg(script)
        .arg(uri)
        .args(["--seconds", &seconds.to_string()])
        .args(args)
        .output()
        .expect("run bench_client.py");
    assert!(out.status.success(), "bench_client {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bench_client prints a json line");
    ClientRun {
        calls: v["calls"].as_u64().expect("calls"),
        seconds: v["seconds"].as_f64().expect("seconds"),
        rate: v["rate"].as_f64().expect("rate"),
    }
}

/// Our echo server in a process of its own (the benchmark's executable started again, see
/// [`serve_if_daemon_child`]), so that its CPU time and memory are its own; killed when
/// dropped, and it exits by itself when the benchmark does.
pub struct DaemonProcess {
    child: Child,
    /// The echo object's URI.
    pub uri: String,
}

impl DaemonProcess {
    /// Start it on a free port of 127.0.0.1 with `server_type` and at most `max_connections`
    /// connections (`max_connections` of the thread server, `max_connections_multiplex` of the
    /// multiplexed one); the other settings are Pyro's defaults and `PYRO_*` variables, as
    /// `pyro5-echoserver` takes them. The process inherits this one's resource limits.
    ///
    /// # Panics
    /// When it cannot start or prints no URI.
    pub fn start(server_type: ServerType, max_connections: usize) -> Self {
        Self::start_spec(&format!("{server_type}:{max_connections}"))
    }

    /// [`start`](Self::start) with `pyro5-tokio`'s daemon (a task per connection on tokio's
    /// multi-threaded runtime, calls inline), at most `max_connections` connections.
    pub fn start_tokio(max_connections: usize) -> Self {
        Self::start_spec(&format!("{TOKIO}:{max_connections}"))
    }

    /// [`start_tokio`](Self::start_tokio) on tokio's current-thread runtime: every
    /// connection's task (and so every call) on the one thread.
    pub fn start_tokio_current_thread(max_connections: usize) -> Self {
        Self::start_spec(&format!("{TOKIO_CURRENT_THREAD}:{max_connections}"))
    }

    fn start_spec(spec: &str) -> Self {
        let exe = std::env::current_exe().expect("the benchmark's own path");
        let mut command = Command::new(exe);
        command.env(DAEMON_CHILD_ENV, spec).stdin(Stdio::piped()).stderr(Stdio::inherit());
        let (child, uri) = crate::echo_daemon::start_echo_process(command, "the daemon process");
        Self { child, uri }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In the process a [`DaemonProcess`] started: serve the echo object until stdin closes (the
/// benchmark ended or dropped it) and return `true`; elsewhere return `false` at once.
///
/// # Panics
/// When the daemon cannot be set up (a bad `PYRO_*` variable, no port to bind).
pub fn serve_if_daemon_child() -> bool {
    let Ok(spec) = std::env::var(DAEMON_CHILD_ENV) else { return false };
    let (server_type, max) = spec.split_once(':').expect("<server type>:<connections>");
    let tokio = match server_type {
        TOKIO => Some(tokio::runtime::Builder::new_multi_thread()),
        TOKIO_CURRENT_THREAD => Some(tokio::runtime::Builder::new_current_thread()),
        _ => None,
    };
    // pyro5-tokio takes its connection limit from a multiplex configuration.
    let server_type: ServerType =
        if tokio.is_some() { ServerType::Multiplex } else { server_type.parse().expect("a server type") };
    let max: usize = max.parse().expect("a connection count");
    let config = Config::from_env().expect("the PYRO_* variables");
    let mut daemon_config =
        DaemonConfig { host: "127.0.0.1".into(), port: 0, server_type, ..DaemonConfig::from(&config) };
    match server_type {
        ServerType::Thread => daemon_config.max_connections = max,
        ServerType::Multiplex => daemon_config.max_connections_multiplex = max,
    }
    let daemon = Daemon::new(daemon_config).expect("bind");
    let echo = EchoServer::new();
    let stop = echo.shutdown_flag();
    let uri = daemon.register_concurrent(echo, Some(OBJECT_ID)).expect("register");
    println!("echo uri: {uri}");
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    if let Some(mut builder) = tokio {
        let runtime = builder.enable_all().build().expect("a tokio runtime");
        runtime.block_on(pyro5_tokio::Daemon::new(daemon).serve()).expect("serve");
    } else {
        daemon.request_loop_while(|| !stop.load(Ordering::Acquire)).expect("request loop");
    }
    true
}

/// The server type name of [`DaemonProcess::start_tokio`]'s daemon.
const TOKIO: &str = "tokio";
/// The server type name of [`DaemonProcess::start_tokio_current_thread`]'s daemon.
const TOKIO_CURRENT_THREAD: &str = "tokio-current-thread";

/// CPU time in clock ticks: in the process's own code and in the kernel for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTicks {
    /// Time in user space (`utime`).
    pub user: u64,
    /// Time in the kernel: system calls, the network stack, scheduling (`stime`).
    pub system: u64,
}

impl CpuTicks {
    /// User + system.
    pub fn total(&self) -> u64 {
        self.user + self.system
    }

    /// The time from `earlier` to this reading.
    pub fn since(&self, earlier: CpuTicks) -> CpuTicks {
        CpuTicks { user: self.user - earlier.user, system: self.system - earlier.system }
    }
}

/// The CPU time process `pid` used so far, with its threads, ended ones included: fields 14
/// and 15 of `/proc/<pid>/stat`.
///
/// # Errors
/// When the file cannot be read (no such process, not Linux) or does not parse.
pub fn cpu_ticks(pid: u32) -> std::io::Result<CpuTicks> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "unexpected /proc/<pid>/stat");
    let after_name = stat.rsplit_once(')').ok_or_else(bad)?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts with field 3 (state): utime is field 14, stime field 15.
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).ok_or_else(bad);
    Ok(CpuTicks { user: field(14)?, system: field(15)? })
}

/// Clock ticks per second of [`cpu_ticks`] (`getconf CLK_TCK`; 100, Linux's `USER_HZ`, if
/// that fails).
pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

/// The resident memory of process `pid` in KiB (`VmRSS` of `/proc/<pid>/status`).
///
/// # Errors
/// When the file cannot be read or has no `VmRSS` line.
pub fn rss_kib(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no VmRSS in /proc/<pid>/status"))
}

/// A TCP relay on 127.0.0.1 that holds every chunk for `delay` before passing it on, each
/// way: a network path with that one-way latency and no bandwidth limit, for measuring what
/// keeping several calls in flight buys where a round trip costs more than loopback's few
/// microseconds. It serves until the benchmark ends.
pub struct LatencyRelay {
    /// The port to connect to instead of the target's.
    pub port: u16,
}

impl LatencyRelay {
    /// Relay connections to `target` with `delay` each way.
    ///
    /// # Panics
    /// When no port can be bound.
    pub fn start(target: std::net::SocketAddr, delay: std::time::Duration) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let port = listener.local_addr().expect("its address").port();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = std::net::TcpStream::connect(target) else { continue };
                for stream in [&client, &server] {
                    let _ = stream.set_nodelay(true);
                }
                let (client2, server2) = match (client.try_clone(), server.try_clone()) {
                    (Ok(c), Ok(s)) => (c, s),
                    _ => continue,
                };
                std::thread::spawn(move || relay_delayed(client, server, delay));
                std::thread::spawn(move || relay_delayed(server2, client2, delay));
            }
        });
        Self { port }
    }
}

/// Pass what `from` sends to `to`, each chunk `delay` after it arrived.
fn relay_delayed(mut from: std::net::TcpStream, mut to: std::net::TcpStream, delay: std::time::Duration) {
    use std::io::{Read, Write};
    let (queue, due) = std::sync::mpsc::channel::<(std::time::Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        for (at, chunk) in due {
            std::thread::sleep(at.saturating_duration_since(std::time::Instant::now()));
            if chunk.is_empty() || to.write_all(&chunk).is_err() {
                let _ = to.shutdown(std::net::Shutdown::Write);
                return;
            }
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf).unwrap_or(0);
        if queue.send((std::time::Instant::now() + delay, buf[..n].to_vec())).is_err() || n == 0 {
            return;
        }
    }
}
