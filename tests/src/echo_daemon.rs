//! Our echo server (`pyro5_std::echo::EchoServer`) served by a daemon in a thread, for the
//! tests that need a Rust Pyro server to call: stopped when dropped.

use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use pyro5_std::echo::EchoServer;
use pyro5_std::{Daemon, DaemonConfig};

/// An echo server daemon running in a thread until dropped (or until a client calls its
/// `shutdown()`).
#[derive(Debug)]
pub struct EchoDaemon {
    /// The daemon.
    pub daemon: Daemon,
    /// The echo object's URI.
    pub uri: String,
    /// The thread running the request loop; it ends after the object's `shutdown()`.
    pub thread: Option<JoinHandle<()>>,
}

impl EchoDaemon {
    /// Serve the echo object as `object_id` (its `slow()` taking `slow`) on a daemon made
    /// from `config`.
    ///
    /// # Panics
    /// When the daemon cannot bind or register.
    pub fn start(config: DaemonConfig, object_id: &str, slow: Option<Duration>) -> Self {
        let daemon = Daemon::new(config).expect("bind");
        let mut echo = EchoServer::new();
        if let Some(slow) = slow {
            echo = echo.with_slow_delay(slow);
        }
        let stop = echo.shutdown_flag();
        let uri = daemon.register_concurrent(echo, Some(object_id)).expect("register");
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || {
            serving.request_loop_while(|| !stop.load(Ordering::Acquire)).expect("request loop");
        });
        Self { daemon, uri, thread: Some(thread) }
    }

    /// [`start`](Self::start) on 127.0.0.1, any port.
    pub fn on_localhost(object_id: &str, slow: Option<Duration>) -> Self {
        Self::start(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }, object_id, slow)
    }
}

/// Daemon configurations beyond IPv4 TCP: the IPv6 loopback (when the machine has one; a
/// line says so when not), on Unix a socket `pyro5-rs-<name>-<pid>.sock` in the temporary
/// directory, and on Linux `\0pyro5-rs-<name>-<pid>` in the abstract namespace.
pub fn other_transports(name: &str) -> Vec<DaemonConfig> {
    let mut configs = Vec::new();
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        configs.push(DaemonConfig { host: "::1".into(), ..DaemonConfig::default() });
    } else {
        println!("no IPv6 loopback on this machine: IPv6 not tested");
    }
    #[cfg(unix)]
    {
        let path = std::env::temp_dir().join(format!("pyro5-rs-{name}-{}.sock", std::process::id()));
        configs.push(DaemonConfig { unix_socket: Some(path), ..DaemonConfig::default() });
    }
    #[cfg(target_os = "linux")]
    {
        let name = format!("\0pyro5-rs-{name}-{}", std::process::id());
        configs.push(DaemonConfig { unix_socket: Some(name.into()), ..DaemonConfig::default() });
    }
    #[cfg(not(unix))]
    println!("no Unix sockets here: {name} not tested over one");
    configs
}

impl Drop for EchoDaemon {
    fn drop(&mut self) {
        self.daemon.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Python's own echo server (`python -m Pyro5.utils.echoserver`) in a child process, killed
/// when dropped: the reference the suites and benchmarks compare ours with.
pub struct PythonEchoServer {
    child: std::process::Child,
    /// Its URI, as it printed it.
    pub uri: String,
}

impl PythonEchoServer {
    /// Start it on a free port of 127.0.0.1 with `env` set (e.g. `PYRO_THREADPOOL_SIZE`).
    ///
    /// # Panics
    /// When it cannot start or prints no URI: the tests cannot compare without it.
    pub fn start(env: &[(&str, &str)]) -> Self {
        use std::process::{Command, Stdio};
        let mut command = Command::new(crate::python());
        command
            .args(["-u", "-m", "Pyro5.utils.echoserver", "-H", "127.0.0.1", "-p", "0"])
            .envs(env.iter().copied())
            .stderr(Stdio::null());
        let (child, uri) = start_echo_process(command, "Python's echo server");
        Self { child, uri }
    }

    /// Start it inside the network namespace `ns`, on a free port of `host` (an address of
    /// the namespace).
    ///
    /// # Panics
    /// As [`start`](Self::start).
    pub fn in_namespace(ns: &crate::netns::Namespace, host: &str) -> Self {
        let mut command = ns.command(crate::python());
        command.args(["-u", "-m", "Pyro5.utils.echoserver", "-H", host, "-p", "0"]).stderr(std::process::Stdio::null());
        let (child, uri) = start_echo_process(command, "Python's echo server");
        Self { child, uri }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PythonEchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `command`, an echo server that prints `echo uri: <uri>` as Python's does: the child
/// and the URI. Its output is read on (with its stdout closed, a server would die of a broken
/// pipe when it prints its next line).
///
/// # Panics
/// When it cannot start or prints no URI.
pub fn start_echo_process(command: std::process::Command, what: &str) -> (std::process::Child, String) {
    start_server_process(command, "echo uri: ", what)
}

/// Start `command`, a server that prints its URI on a line starting with `prefix`: the child
/// and the URI, its further output read on.
///
/// # Panics
/// When it cannot start or prints no URI.
pub fn start_server_process(
    mut command: std::process::Command,
    prefix: &str,
    what: &str,
) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child =
        command.stdout(std::process::Stdio::piped()).spawn().unwrap_or_else(|e| panic!("start {what}: {e}"));
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let uri = lines.find_map(|line| line.strip_prefix(prefix).map(|uri| uri.trim().to_string()));
    std::thread::spawn(move || lines.for_each(drop));
    let Some(uri) = uri else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{what} printed no uri");
    };
    (child, uri)
}

/// Serve the echo object as `object_id` on a daemon made from `config`, its request loop in a
/// thread: the daemon (to shut down), the object's URI and the loop's thread.
///
/// # Panics
/// When the daemon cannot bind or register.
pub fn serve_echo(config: &pyro5_std::Config, object_id: &str) -> (Daemon, String, JoinHandle<std::io::Result<()>>) {
    let daemon = Daemon::with_config(config).expect("bind");
    let uri = daemon.register_concurrent(EchoServer::new(), Some(object_id)).expect("register");
    let serving = daemon.clone();
    let thread = std::thread::spawn(move || serving.request_loop());
    (daemon, uri, thread)
}

/// `tests/python/proxy_test_server.py` (its object `proxy.test` echoes, adds, sleeps,
/// streams, records handshakes) in a child process, killed when dropped.
pub struct PythonTestServer {
    child: std::process::Child,
    /// The object's URI.
    pub uri: String,
}

impl PythonTestServer {
    /// Start it on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// When it does not start or prints no URI.
    pub fn start() -> Self {
        let mut command = std::process::Command::new(crate::python());
        command.arg(crate::workspace_root().join("tests/python/proxy_test_server.py")).args(["--port", "0"]);
        let (child, uri) = start_server_process(command, "uri:", "the Python test server");
        Self { child, uri }
    }
}

impl Drop for PythonTestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
