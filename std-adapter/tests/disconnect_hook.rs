//! The daemon's disconnect hook (Pyro's `Daemon.clientDisconnect`) seen by the real Python
//! Pyro5 client, on both server types: told once of a client that released its proxy (the
//! connection id its handshake had, and its address, which `Daemon::peers` still tells), of
//! a client killed mid-connection, and of a client still connected when the daemon shuts
//! down (before the request loop returns) or idle past `COMMTIMEOUT`; never of a client
//! whose handshake was refused; and a hook that panics leaves the daemon serving. A loop of one's own: dropping a
//! `DaemonConnection` past its handshake calls it, one before it does not.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyro5_interop_tests::daemon_harness::connect_frame;
use pyro5_interop_tests::python;
use pyro5_std::core::ser::call::ConnectView;
use pyro5_std::core::server::{Answered, ConnectionId, HandshakeAnswer, HandshakeValidator};
use pyro5_std::core::wire::SerializerId;
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::{Config, Daemon, DaemonConfig, Peers, ServerType};

/// Binds a proxy with the handshake data given (printing `refused ...` when refused), calls
/// `echo`, prints `bound <its address>`, and at each line on stdin: releases the proxy
/// (printing `released`), then exits.
const CLIENT: &str = r#"
import sys, Pyro5.api, Pyro5.errors
proxy = Pyro5.api.Proxy(sys.argv[1])
proxy._pyroHandshake = sys.argv[2]
try:
    proxy._pyroBind()
except Pyro5.errors.CommunicationError as e:
    print("refused", e, flush=True)
    sys.exit(0)
assert proxy.echo("hi") == "hi"
print("bound %s:%d" % proxy._pyroConnection.sock.getsockname()[:2], flush=True)
sys.stdin.readline()
proxy._pyroRelease()
print("released", flush=True)
sys.stdin.readline()
"#;

/// Who was seen: a connection and its client's address.
type Seen = Arc<Mutex<Vec<(ConnectionId, Option<SocketAddr>)>>>;

/// Accepts the handshake data "ok" (noting the connection), refuses anything else.
struct Validator {
    peers: Peers,
    accepted: Seen,
}

impl HandshakeValidator for Validator {
    fn validate(
        &self,
        connection: ConnectionId,
        request: &ConnectView<'_>,
        answer: HandshakeAnswer<'_, '_>,
    ) -> Answered {
        if request.handshake::<String>().is_ok_and(|data| data == "ok") {
            self.accepted.lock().unwrap().push((connection, self.peers.address(connection)));
            answer.accept("hello")
        } else {
            answer.refuse(&"not ok")
        }
    }
}

/// What a daemon's validator accepted and its disconnect hook was told (with the address
/// `peers()` gave while it ran); the hook panics while `panic` is set.
#[derive(Default, Clone)]
struct Watched {
    accepted: Seen,
    disconnected: Seen,
    panic: Arc<AtomicBool>,
}

impl Watched {
    fn install(daemon: &Daemon) -> Self {
        let watched = Self::default();
        daemon.set_handshake_validator(Validator { peers: daemon.peers(), accepted: watched.accepted.clone() });
        let (peers, disconnected, panic) = (daemon.peers(), watched.disconnected.clone(), watched.panic.clone());
        daemon.set_disconnect_hook(move |connection| {
            disconnected.lock().unwrap().push((connection, peers.address(connection)));
            assert!(!panic.load(Ordering::Relaxed), "a hook that panics");
        });
        watched
    }

    fn accepted(&self) -> Vec<(ConnectionId, Option<SocketAddr>)> {
        self.accepted.lock().unwrap().clone()
    }

    fn disconnected(&self) -> Vec<(ConnectionId, Option<SocketAddr>)> {
        self.disconnected.lock().unwrap().clone()
    }

    /// Wait until the hook was told of `n` connections.
    fn wait_for(&self, n: usize, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.disconnected().len() < n {
            assert!(Instant::now() < deadline, "{what}: the hook was told of {:?}", self.disconnected());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A running [`CLIENT`].
struct Client {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Client {
    fn start(uri: &str, handshake: &str) -> Self {
        let mut child = Command::new(python())
            .args(["-W", "ignore", "-c", CLIENT, uri, handshake])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python");
        let out = BufReader::new(child.stdout.take().expect("piped"));
        Self { child, out }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.out.read_line(&mut line).expect("read");
        assert!(!line.is_empty(), "the client ended early");
        line.trim().to_string()
    }

    /// The client's address once it bound and called.
    fn bound(&mut self) -> SocketAddr {
        let line = self.line();
        line.strip_prefix("bound ").and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("{line}"))
    }

    fn release(&mut self) {
        self.child.stdin.as_mut().expect("piped").write_all(b"\n").expect("write");
        assert_eq!(self.line(), "released");
    }

    fn end(mut self) {
        drop(self.child.stdin.take());
        assert!(self.child.wait().expect("wait").success());
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_connections(daemon: &Daemon, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while daemon.connection_count() != n {
        assert!(Instant::now() < deadline, "{} connections, not {n}", daemon.connection_count());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every case but the shutdown, on a served daemon whose echo object is at `uri`.
fn released_killed_refused_and_panicking(daemon: &Daemon, uri: &str, watched: &Watched, what: &str) {
    // Released: told once, with the connection id and address the handshake had.
    let mut client = Client::start(uri, "ok");
    let address = client.bound();
    assert_eq!(watched.accepted(), [(watched.accepted()[0].0, Some(address))], "{what}");
    assert!(watched.disconnected().is_empty(), "{what}: told while the client is connected");
    client.release();
    watched.wait_for(1, what);
    client.end();
    wait_for_connections(daemon, 0);
    assert_eq!(watched.disconnected(), watched.accepted(), "{what}: released, then exited");

    // Killed mid-connection.
    let mut client = Client::start(uri, "ok");
    let address = client.bound();
    drop(client);
    watched.wait_for(2, what);
    wait_for_connections(daemon, 0);
    assert_eq!(watched.disconnected(), watched.accepted(), "{what}: killed");
    assert_eq!(watched.disconnected()[1].1, Some(address), "{what}");

    // Refused by the validator: no disconnect (Python calls `clientDisconnect` only after
    // an accepted handshake).
    let mut client = Client::start(uri, "wrong");
    let line = client.line();
    assert!(line.starts_with("refused") && line.contains("not ok"), "{what}: {line}");
    client.end();
    wait_for_connections(daemon, 0);
    assert_eq!(watched.disconnected().len(), 2, "{what}: refused");

    // A hook that panics: the daemon goes on serving, and telling.
    watched.panic.store(true, Ordering::Relaxed);
    let mut client = Client::start(uri, "ok");
    client.bound();
    client.release();
    watched.wait_for(3, what);
    client.end();
    watched.panic.store(false, Ordering::Relaxed);
    let mut client = Client::start(uri, "ok");
    client.bound();
    client.release();
    watched.wait_for(4, what);
    client.end();
    wait_for_connections(daemon, 0);
    assert_eq!(watched.disconnected(), watched.accepted(), "{what}: after a panic");
}

#[test]
fn python_clients_that_leave_are_told_once_on_both_server_types() {
    for servertype in [ServerType::Thread, ServerType::Multiplex] {
        let what = format!("{servertype}");
        let config = Config { host: "127.0.0.1".into(), servertype, ..Config::default() };
        let (daemon, uri, thread) = pyro5_interop_tests::echo_daemon::serve_echo(&config, "test.echoserver");
        let watched = Watched::install(&daemon);
        released_killed_refused_and_panicking(&daemon, &uri, &watched, &what);

        // Shutdown with a client connected: told before the request loop returns.
        let mut client = Client::start(&uri, "ok");
        let address = client.bound();
        daemon.shutdown();
        thread.join().expect("serving thread").expect("request loop");
        let told = watched.disconnected();
        assert_eq!(told.len(), 5, "{what}: shut down");
        assert_eq!(told[4], (watched.accepted()[4].0, Some(address)), "{what}");
        assert_eq!(daemon.connection_count(), 0, "{what}");
    }
}

#[test]
fn a_python_client_idle_past_commtimeout_is_told_on_both_server_types() {
    for servertype in [ServerType::Thread, ServerType::Multiplex] {
        let what = format!("{servertype} with COMMTIMEOUT");
        let config = Config { host: "127.0.0.1".into(), servertype, commtimeout: 0.3, ..Config::default() };
        let (daemon, uri, thread) = pyro5_interop_tests::echo_daemon::serve_echo(&config, "test.echoserver");
        let watched = Watched::install(&daemon);
        let mut client = Client::start(&uri, "ok");
        let address = client.bound();
        // The client says nothing more: the daemon ends its connection.
        watched.wait_for(1, &what);
        assert_eq!(watched.disconnected(), [(watched.accepted()[0].0, Some(address))], "{what}");
        wait_for_connections(&daemon, 0);
        drop(client);
        daemon.shutdown();
        thread.join().expect("serving thread").expect("request loop");
        assert_eq!(watched.disconnected().len(), 1, "{what}");
    }
}

#[test]
fn a_connection_of_ones_own_loop_tells_when_dropped_after_its_handshake() {
    let daemon = Daemon::new(DaemonConfig::default()).expect("bind");
    daemon.register_concurrent(EchoServer::new(), Some(OBJECT_ID)).expect("register");
    let told: Seen = Seen::default();
    let (peers, seen) = (daemon.peers(), told.clone());
    daemon.set_disconnect_hook(move |connection| seen.lock().unwrap().push((connection, peers.address(connection))));
    let client: SocketAddr = "192.0.2.7:4242".parse().unwrap();

    // Dropped before any handshake: nothing.
    drop(daemon.connection(Some(client)));
    // Closed by its client before the handshake: nothing.
    let mut early = daemon.connection(Some(client));
    early.commit(0);
    early.serve_ready();
    assert!(early.is_closed());
    drop(early);
    assert!(told.lock().unwrap().is_empty());

    // Past the handshake: told when the peer closes and the connection is dropped.
    let mut connection = daemon.connection(Some(client));
    let connect = connect_frame(SerializerId::Serpent, OBJECT_ID, 0);
    assert_eq!(connection.feed(&connect), connect.len());
    connection.serve_ready();
    assert!(!connection.tx_pending().is_empty(), "CONNECTOK");
    let id = connection.id();
    connection.commit(0);
    connection.serve_ready();
    assert!(connection.is_closed());
    assert!(told.lock().unwrap().is_empty(), "told when dropped, not before");
    drop(connection);
    assert_eq!(*told.lock().unwrap(), [(id, Some(client))]);
    assert_eq!(daemon.connection_count(), 0);
}
