//! The disconnect hook seen by the real Python Pyro5 client, the same on every daemon (the
//! std thread and multiplex servers, the tokio daemon): a client that binds, calls and
//! releases its proxy, a validator noting whom it accepted, a hook noting whom it was told
//! of, and the scenarios both adapters' tests run.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyro5_std::core::ser::call::ConnectView;
use pyro5_std::core::server::{Answered, ConnectionId, HandshakeAnswer, HandshakeValidator};
use pyro5_std::{Daemon, Peers};

use crate::python;

/// Binds a proxy with the handshake data given (printing `refused ...` when refused), calls
/// `echo`, prints `bound <its address>`, and at each line on stdin: releases the proxy
/// (printing `released`), then exits.
pub const CLIENT: &str = r#"
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
pub type Seen = Arc<Mutex<Vec<(ConnectionId, Option<SocketAddr>)>>>;

/// Accepts the handshake data "ok" (noting the connection), refuses anything else.
pub struct Validator {
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
pub struct Watched {
    accepted: Seen,
    disconnected: Seen,
    panic: Arc<AtomicBool>,
}

impl Watched {
    /// Set `daemon`'s validator and disconnect hook to note what they see.
    pub fn install(daemon: &Daemon) -> Self {
        let watched = Self::default();
        daemon.set_handshake_validator(Validator { peers: daemon.peers(), accepted: watched.accepted.clone() });
        let (peers, disconnected, panic) = (daemon.peers(), watched.disconnected.clone(), watched.panic.clone());
        daemon.set_disconnect_hook(move |connection| {
            disconnected.lock().unwrap().push((connection, peers.address(connection)));
            assert!(!panic.load(Ordering::Relaxed), "a hook that panics");
        });
        watched
    }

    /// The connections the validator accepted, in order.
    pub fn accepted(&self) -> Vec<(ConnectionId, Option<SocketAddr>)> {
        self.accepted.lock().unwrap().clone()
    }

    /// The connections the hook was told of, in order.
    pub fn disconnected(&self) -> Vec<(ConnectionId, Option<SocketAddr>)> {
        self.disconnected.lock().unwrap().clone()
    }

    /// Wait until the hook was told of `n` connections.
    pub fn wait_for(&self, n: usize, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.disconnected().len() < n {
            assert!(Instant::now() < deadline, "{what}: the hook was told of {:?}", self.disconnected());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A running [`CLIENT`].
pub struct Client {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Client {
    /// Start it against `uri` with `handshake` as its handshake data.
    pub fn start(uri: &str, handshake: &str) -> Self {
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

    /// Its next line of output.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.out.read_line(&mut line).expect("read");
        assert!(!line.is_empty(), "the client ended early");
        line.trim().to_string()
    }

    /// The client's address once it bound and called.
    pub fn bound(&mut self) -> SocketAddr {
        let line = self.line();
        line.strip_prefix("bound ").and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("{line}"))
    }

    /// Tell it to release its proxy, and wait until it did.
    pub fn release(&mut self) {
        self.child.stdin.as_mut().expect("piped").write_all(b"\n").expect("write");
        assert_eq!(self.line(), "released");
    }

    /// Tell it to exit, and wait for it.
    pub fn end(mut self) {
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

/// Wait until `daemon` counts `n` connections.
pub fn wait_for_connections(daemon: &Daemon, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while daemon.connection_count() != n {
        assert!(Instant::now() < deadline, "{} connections, not {n}", daemon.connection_count());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every case but the shutdown, on a served daemon whose echo object is at `uri`.
pub fn released_killed_refused_and_panicking(daemon: &Daemon, uri: &str, watched: &Watched, what: &str) {
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
