//! One client connection of the daemon, for either server type: socket bytes into the
//! core's decoder and connection, replies out.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pyro5_core::server::{Action, ServerConnection};
use pyro5_core::wire::{Decoder, Flags, MessageKind, Progress};

use super::Inner;
use crate::transport::Stream;

/// What a read achieved.
#[derive(Debug, Eq, PartialEq)]
pub(crate) enum ReadOutcome {
    /// Bytes came in (and were handled).
    Progress,
    /// Nothing to read now (timeout or would block).
    Idle,
    /// The connection is over.
    Closed,
}

pub(crate) struct ClientConnection {
    inner: Arc<Inner>,
    pub(crate) stream: Stream,
    connection: ServerConnection,
    decoder: Decoder<Vec<u8>>,
    tx: Vec<u8>,
    peer: Option<SocketAddr>,
    pub(crate) last_activity: Instant,
    /// The socket is non-blocking (multiplex): writes switch it to blocking briefly.
    nonblocking: bool,
}

impl ClientConnection {
    pub(crate) fn new(inner: &Arc<Inner>, stream: Stream, peer: Option<SocketAddr>, nonblocking: bool) -> Self {
        inner.connections.fetch_add(1, Ordering::Relaxed);
        // A client that does not read its replies must not hold a worker (or the whole
        // multiplexed loop) forever: a send that cannot progress closes the connection.
        let _ = stream.set_write_timeout(Some(inner.config.comm_timeout.unwrap_or(super::SEND_TIMEOUT)));
        let id = inner.new_connection_id();
        Self {
            inner: inner.clone(),
            stream,
            connection: ServerConnection::new(id, peer),
            decoder: Decoder::new(Vec::new(), inner.limits()),
            tx: Vec::new(),
            peer,
            last_activity: Instant::now(),
            nonblocking,
        }
    }

    pub(crate) fn daemon_shutting_down(&self) -> bool {
        self.inner.is_shutting_down()
    }

    /// Whether it has been idle longer than the daemon's `comm_timeout`.
    pub(crate) fn idle_too_long(&self) -> bool {
        self.inner.config.comm_timeout.is_some_and(|t| self.last_activity.elapsed() > t)
    }

    /// Idle too long: say so as Pyro does (CONNECTFAIL during the handshake), then close.
    pub(crate) fn time_out(&mut self) {
        log::info!("connection {:?}: idle timeout", self.peer);
        let inner = self.inner.clone();
        let action = inner.with_server(|server| self.connection.timed_out(server, &mut self.tx));
        self.act(action);
    }

    /// Read once from the socket and handle what completed.
    pub(crate) fn read_once(&mut self) -> ReadOutcome {
        let buf = match self.decoder.read_buf() {
            Ok(buf) => buf,
            Err(e) => return self.receive_error(&e),
        };
        match self.stream.read(buf) {
            Ok(0) => ReadOutcome::Closed,
            Ok(n) => {
                self.last_activity = Instant::now();
                match self.decoder.commit(n) {
                    Ok(Progress::Complete { .. }) => self.handle_message(),
                    Ok(Progress::NeedMore) => ReadOutcome::Progress,
                    Err(e) => self.receive_error(&e),
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => ReadOutcome::Idle,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadOutcome::Progress,
            Err(e) => {
                log::debug!("connection {:?}: read failed: {e}", self.peer);
                ReadOutcome::Closed
            }
        }
    }

    fn receive_error(&mut self, error: &pyro5_core::wire::DecodeError) -> ReadOutcome {
        log::info!("connection {:?}: closing: {error}", self.peer);
        let inner = self.inner.clone();
        let action = inner.with_server(|server| self.connection.receive_error(error, server, &mut self.tx));
        self.act(action);
        ReadOutcome::Closed
    }

    fn handle_message(&mut self) -> ReadOutcome {
        let Some(message) = self.decoder.message() else { return ReadOutcome::Progress };
        if self.inner.config.logwire {
            crate::config::log_wire("daemon wiredata received", message.as_bytes());
        }
        let header = *message.header();
        if self.connection.is_ready()
            && header.kind == MessageKind::Invoke
            && header.flags.contains(Flags::ONEWAY)
            && self.spawn_oneway(message.as_bytes())
        {
            return ReadOutcome::Progress;
        }
        let inner = self.inner.clone();
        let env = inner.env();
        let connection = &mut self.connection;
        let tx = &mut self.tx;
        // A panicking object must not take the daemon down: its client is disconnected.
        let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            inner.with_server(|server| connection.handle(&message, server, &env, tx))
        }));
        match handled {
            Ok(action) => self.act(action),
            Err(_) => {
                log::error!("connection {:?}: a Pyro object panicked; closing the connection", self.peer);
                ReadOutcome::Closed
            }
        }
    }

    /// Run a oneway call in its own thread (as Pyro does), so the connection can take the
    /// next request at once; `false` when too many already run.
    fn spawn_oneway(&self, frame: &[u8]) -> bool {
        let running = self.inner.oneway_threads.fetch_add(1, Ordering::AcqRel);
        if running >= self.inner.config.max_oneway_threads {
            self.inner.oneway_threads.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        let frame = frame.to_vec();
        let inner = self.inner.clone();
        let (id, peer) = (self.connection.id(), self.peer);
        let spawned = std::thread::Builder::new().name("pyro5-oneway".into()).spawn(move || {
            let mut decoder = Decoder::new(Vec::new(), inner.limits());
            if let Ok(Progress::Complete { .. }) = decoder.feed(&frame)
                && let Some(message) = decoder.message()
            {
                let mut connection = ServerConnection::after_handshake(id, peer);
                let env = inner.env();
                let mut tx = Vec::new();
                let call = std::panic::AssertUnwindSafe(|| {
                    inner.with_server(|server| connection.handle(&message, server, &env, &mut tx));
                });
                if std::panic::catch_unwind(call).is_err() {
                    log::error!("a Pyro object panicked in a oneway call");
                }
            }
            inner.oneway_threads.fetch_sub(1, Ordering::AcqRel);
        });
        if spawned.is_err() {
            self.inner.oneway_threads.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    fn act(&mut self, action: Action) -> ReadOutcome {
        match action {
            Action::Send { len } => {
                if self.send(len).is_err() {
                    return ReadOutcome::Closed;
                }
                ReadOutcome::Progress
            }
            Action::SendAndClose { len } => {
                let _ = self.send(len);
                ReadOutcome::Closed
            }
            Action::Nothing => ReadOutcome::Progress,
            Action::Close(reason) => {
                log::info!("connection {:?}: closing: {reason}", self.peer);
                ReadOutcome::Closed
            }
        }
    }

    fn send(&mut self, len: usize) -> io::Result<()> {
        if self.inner.config.logwire {
            crate::config::log_wire("daemon wiredata sending", self.tx.get(..len).unwrap_or_default());
        }
        if self.nonblocking {
            self.stream.set_nonblocking(false)?;
        }
        let result = self.stream.write_all(self.tx.get(..len).unwrap_or_default());
        if self.nonblocking {
            self.stream.set_nonblocking(true)?;
        }
        if let Err(e) = &result {
            log::info!("connection {:?}: reply not sent: {e}", self.peer);
        }
        result
    }
}

impl Drop for ClientConnection {
    fn drop(&mut self) {
        self.stream.shutdown();
        let now = self.inner.now_ms();
        let inner = self.inner.clone();
        inner.with_server(|server| self.connection.closed(server, now));
        self.inner.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Refuse a client the daemon has no room for: read its CONNECT (briefly) and answer
/// CONNECTFAIL, as Pyro's thread pool server does.
pub(crate) fn deny(inner: &Arc<Inner>, mut stream: Stream, reason: &'static str) {
    let inner = inner.clone();
    let _ = std::thread::Builder::new().name("pyro5-deny".into()).spawn(move || {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        let mut decoder = Decoder::new(Vec::new(), inner.limits());
        while let Ok(buf) = decoder.read_buf() {
            let n = match stream.read(buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            match decoder.commit(n) {
                Ok(Progress::NeedMore) => continue,
                Ok(Progress::Complete { .. }) => {
                    if let Some(message) = decoder.message() {
                        let mut connection = ServerConnection::new(inner.new_connection_id(), None);
                        let mut tx = Vec::new();
                        let action = inner.with_server(|server| connection.deny(&message, &reason, server, &mut tx));
                        if let Action::SendAndClose { len } | Action::Send { len } = action {
                            let _ = stream.write_all(tx.get(..len).unwrap_or_default());
                        }
                    }
                    break;
                }
                Err(_) => break,
            }
        }
        log::warn!("client connection was denied: {reason}");
        stream.shutdown();
    });
}
