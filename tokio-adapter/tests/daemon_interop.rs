//! The real Python Pyro5 client against the tokio daemon serving our echo server: the echo
//! suite (tests/python/echo_suite.py) in every serializer with calls inline and on the
//! blocking pool, 16 Python client processes at once, the idle timeout (COMMTIMEOUT), the
//! connection limit's CONNECTFAIL seen by a Python client, a graceful shutdown with a call
//! in progress, IPv6 and a Unix socket.

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pyro5_interop_tests::daemon_harness::{RawClient, ReadError};
use pyro5_interop_tests::{python, run_script};
use pyro5_std::DaemonConfig;
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_tokio::{Calls, Daemon};

/// The echo object on a tokio daemon, served by a runtime of two worker threads in a thread
/// of its own; shut down and joined when dropped.
struct TokioEcho {
    daemon: Daemon,
    uri: String,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl TokioEcho {
    fn start(config: DaemonConfig, calls: Calls, echo: EchoServer) -> Self {
        Self::serving(config, calls, |daemon| daemon.register_concurrent(echo, Some(OBJECT_ID)).expect("register"))
    }

    /// Serve what `register` registers (it returns the URI to call).
    fn serving(config: DaemonConfig, calls: Calls, register: impl FnOnce(&Daemon) -> String) -> Self {
        let daemon = Daemon::bind(config).expect("bind").with_calls(calls);
        let uri = register(&daemon);
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            runtime.block_on(serving.serve())
        });
        Self { daemon, uri, thread: Some(thread) }
    }

    fn localhost(calls: Calls) -> Self {
        Self::start(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }, calls, EchoServer::new())
    }

    fn addr(&self) -> SocketAddr {
        let port = self.daemon.port().expect("tcp");
        ("127.0.0.1", port).to_socket_addrs().expect("address").next().expect("one")
    }

    fn wait_for_connections(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.daemon.connection_count() != n {
            assert!(Instant::now() < deadline, "{} connections, expected {n}", self.daemon.connection_count());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for TokioEcho {
    fn drop(&mut self) {
        self.daemon.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Run Python code with the pinned interpreter and `args`.
fn python_code(code: &str, args: &[&str]) -> Command {
    let mut command = Command::new(python());
    command.arg("-c").arg(code).args(args);
    command
}

fn stdout_of(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "python failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn python_client_calls_every_echo_method_in_every_serializer_calls_inline() {
    let server = TokioEcho::localhost(Calls::Inline);
    run_script("echo_suite.py", &[&server.uri]);
}

#[test]
fn python_client_calls_every_echo_method_in_every_serializer_calls_on_the_blocking_pool() {
    let server = TokioEcho::localhost(Calls::Blocking);
    run_script("echo_suite.py", &[&server.uri]);
}

#[test]
fn sixteen_python_client_processes_at_once() {
    for calls in [Calls::Inline, Calls::Blocking] {
        let server = TokioEcho::localhost(calls);
        let script = pyro5_interop_tests::workspace_root().join("tests/python/concurrent_clients.py");
        let children: Vec<_> = (0..16)
            .map(|_| {
                Command::new(python())
                    .arg(&script)
                    .args([&server.uri, "--clients", "2", "--calls", "100"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("start a Python client")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().expect("wait for a Python client");
            assert!(stdout_of(&out).contains("\"errors\": []"), "{calls:?}");
        }
    }
}

/// `comm_timeout` 300 ms: a Python client idle after binding finds its connection closed; a
/// socket silent from the start gets Pyro's CONNECTFAIL "receiving: timeout", then the close,
/// about when the timeout says; an active client is served throughout.
#[test]
fn idle_connections_end_after_comm_timeout() {
    let timeout = Duration::from_millis(300);
    let config = DaemonConfig { host: "127.0.0.1".into(), comm_timeout: Some(timeout), ..DaemonConfig::default() };
    let server = TokioEcho::start(config, Calls::Inline, EchoServer::new());
    let idle_python = python_code(
        "import sys, time, Pyro5.api, Pyro5.errors\n\
         p = Pyro5.api.Proxy(sys.argv[1])\n\
         p._pyroBind()\n\
         print('first:', p.echo('hi'))\n\
         time.sleep(1.2)\n\
         try:\n    p.echo('again'); print('served after idling')\n\
         except Pyro5.errors.CommunicationError as e:\n    print('closed:', type(e).__name__)\n",
        &[&server.uri],
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("python");
    let mut silent = RawClient::connect(server.addr());
    let started = Instant::now();
    let mut active = RawClient::connect(server.addr());
    active.handshake(OBJECT_ID);
    let watcher = std::thread::spawn(move || {
        let fail = silent.read_frame_within(Duration::from_secs(3)).expect("CONNECTFAIL");
        fail.assert_connect_fail(0, "receiving: timeout");
        let closed = silent.read_frame_within(Duration::from_secs(3));
        assert!(matches!(closed, Err(ReadError::Closed { partial: 0 })), "{closed:?}");
        started.elapsed()
    });
    for seq in 1..=15 {
        active.assert_echo(seq, "busy");
        std::thread::sleep(Duration::from_millis(100));
    }
    let elapsed = watcher.join().expect("watcher");
    assert!(elapsed >= timeout - Duration::from_millis(50) && elapsed < Duration::from_millis(1500), "{elapsed:?}");
    let idle_python = idle_python.wait_with_output().expect("python");
    let out = stdout_of(&idle_python);
    assert!(out.contains("first: hi") && out.contains("closed: ConnectionClosedError"), "{out}");
}

/// `max_connections` 2 (the thread server type's limit, Python's `THREADPOOL_SIZE`): a
/// Python client past it is refused with Pyro's text; once a client leaves it is served.
#[test]
fn a_python_client_past_the_connection_limit_is_refused() {
    let config = DaemonConfig { host: "127.0.0.1".into(), max_connections: 2, ..DaemonConfig::default() };
    let server = TokioEcho::start(config, Calls::Inline, EchoServer::new());
    let code = "import sys, Pyro5.api, Pyro5.errors\n\
                p = Pyro5.api.Proxy(sys.argv[1])\n\
                try:\n    p._pyroBind(); print('served:', p.echo('x'))\n\
                except Pyro5.errors.CommunicationError as e:\n    print('refused:', e)\n";
    let first = RawClient::connect(server.addr());
    let mut second = RawClient::connect(server.addr());
    second.handshake(OBJECT_ID);
    server.wait_for_connections(2);
    let out = stdout_of(&python_code(code, &[&server.uri]).output().expect("python"));
    assert!(out.contains("refused:") && out.contains("no free workers, increase server threadpool size"), "{out}");
    second.assert_echo(1, "still served");
    drop(first);
    server.wait_for_connections(1);
    let out = stdout_of(&python_code(code, &[&server.uri]).output().expect("python"));
    assert_eq!(out.trim(), "served: x");
}

/// An object whose `slow()` says when it started, then takes `delay`.
#[derive(Clone)]
struct Slow {
    entered: Arc<AtomicBool>,
    delay: Duration,
}

#[pyro5_std::expose]
impl Slow {
    fn slow(&self) -> String {
        self.entered.store(true, Ordering::Release);
        std::thread::sleep(self.delay);
        "Finally, an answer!".to_string()
    }
}

/// `shutdown()` while a Python client's `slow()` runs: the call finishes and its answer
/// reaches the client, an idle connection is closed, and `serve` returns after the call.
#[test]
fn graceful_shutdown_lets_a_call_in_progress_finish() {
    for calls in [Calls::Inline, Calls::Blocking] {
        let slow = Slow { entered: Arc::new(AtomicBool::new(false)), delay: Duration::from_millis(1000) };
        let entered = slow.entered.clone();
        let config = DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() };
        let mut server = TokioEcho::serving(config, calls, |daemon| {
            daemon.register_concurrent(slow, Some("slow")).expect("register")
        });
        let mut idle = RawClient::connect(server.addr());
        idle.handshake("slow");
        let client = python_code(
            "import sys, Pyro5.api\n\
             p = Pyro5.api.Proxy(sys.argv[1])\n\
             print('answer:', p.slow())\n",
            &[&server.uri],
        )
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !entered.load(Ordering::Acquire) {
            assert!(Instant::now() < deadline, "slow() was not called");
            std::thread::sleep(Duration::from_millis(2));
        }
        let asked = Instant::now();
        server.daemon.shutdown();
        idle.expect_closed();
        // A client connecting during the shutdown is not served.
        let mut late = RawClient::connect(server.addr());
        late.expect_closed();
        let out = stdout_of(&client.wait_with_output().expect("python"));
        assert!(out.contains("answer: Finally, an answer!"), "{calls:?}: {out}");
        let thread = server.thread.take().expect("serving");
        thread.join().expect("serve thread").expect("serve");
        assert!(asked.elapsed() >= Duration::from_millis(900), "{calls:?}: returned before the call finished");
        assert_eq!(server.daemon.connection_count(), 0);
    }
}

#[test]
fn ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        println!("skipped: this machine has no IPv6 loopback");
        return;
    }
    let config = DaemonConfig { host: "::1".into(), ..DaemonConfig::default() };
    let server = TokioEcho::start(config, Calls::Inline, EchoServer::new());
    assert!(server.uri.contains("@[::1]:"), "{}", server.uri);
    run_script("echo_suite.py", &[&server.uri, "--serializers", "serpent,msgpack"]);
}

#[cfg(unix)]
#[test]
fn unix_domain_socket() {
    let path = std::env::temp_dir().join(format!("pyro5-rs-tokio-echo-{}.sock", std::process::id()));
    let config = DaemonConfig { unix_socket: Some(path.clone()), ..DaemonConfig::default() };
    let server = TokioEcho::start(config, Calls::Blocking, EchoServer::new());
    assert_eq!(server.uri, format!("PYRO:{OBJECT_ID}@./u:{}", path.display()));
    run_script("echo_suite.py", &[&server.uri, "--serializers", "json,marshal"]);
}

/// A name starting with a NUL byte: a socket in Linux's abstract namespace, no file.
#[cfg(target_os = "linux")]
#[test]
fn unix_domain_socket_in_the_abstract_namespace() {
    let name = format!("\0pyro5-rs-tokio-echo-{}", std::process::id());
    let config = DaemonConfig { unix_socket: Some(name.clone().into()), ..DaemonConfig::default() };
    let server = TokioEcho::start(config, Calls::Blocking, EchoServer::new());
    assert_eq!(server.uri, format!("PYRO:{OBJECT_ID}@./u:{name}"));
    assert!(!std::path::Path::new(&name[1..]).exists(), "no file");
    // The URI goes to Python with its NUL byte written out.
    let script = r"import sys
uri = sys.argv[1].replace('<NUL>', '\0')
import Pyro5.api
with Pyro5.api.Proxy(uri) as p:
    print(p.echo('abstract'))
";
    let out = Command::new(python()).args(["-c", script, &server.uri.replace('\0', "<NUL>")]).output().expect("python");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "abstract\n", "{}", String::from_utf8_lossy(&out.stderr));
}

/// `ITER_STREAM_LIFETIME` 0.3 s: a Python client's generator stream expires while the
/// client still holds it (the accept loop drops it), and its next item is Pyro's error.
#[test]
fn item_streams_expire_on_the_tokio_daemon() {
    let mut config = DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() };
    config.streams.lifetime_ms = 300;
    let server = TokioEcho::start(config, Calls::Inline, EchoServer::new());
    let client = python_code(
        "import sys, time, Pyro5.api, Pyro5.errors\n\
         p = Pyro5.api.Proxy(sys.argv[1])\n\
         it = p.generator()\n\
         print('first:', next(it), flush=True)\n\
         time.sleep(1.5)\n\
         try:\n    print('next:', next(it))\n\
         except Pyro5.errors.PyroError as e:\n    print('expired:', e)\n",
        &[&server.uri],
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("python");
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.daemon.stream_count() == 0 {
        assert!(Instant::now() < deadline, "no stream opened");
        std::thread::sleep(Duration::from_millis(5));
    }
    let opened = Instant::now();
    while server.daemon.stream_count() != 0 {
        assert!(opened.elapsed() < Duration::from_secs(1), "the stream outlived its lifetime");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(opened.elapsed() >= Duration::from_millis(200), "expired after {:?}", opened.elapsed());
    let out = stdout_of(&client.wait_with_output().expect("python"));
    assert!(out.contains("expired: item stream terminated"), "{out}");
}
