//! One client connection of the daemon, for either server type: socket bytes into the
//! core's decoder and connection, replies out.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pyro5_core::server::{Action, ServerConnection};
use pyro5_core::wire::{Decoder, Flags, MessageKind, Progress};

use super::Inner;
use crate::transport::Stream;

/// What writing out an unsent reply achieved (multiplex).
#[derive(Debug, Eq, PartialEq)]
pub(crate) enum Flush {
    /// The reply is out: the connection takes requests again.
    Done,
    /// The socket would block: wait until it is writable.
    Pending,
    /// The connection is over (a send failed, or it was to close once the reply was out).
    Closed,
}

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
    /// The socket is non-blocking (multiplex): a reply the socket does not take at once
    /// waits in `tx` for the socket to become writable, and no request is read meanwhile.
    nonblocking: bool,
    /// The part of the reply in `tx` not sent yet (empty when all is out). The core writes
    /// the next reply into `tx` only after the next request is read, which waits for this.
    unsent: Range<usize>,
    /// When the unsent reply was queued or last made progress.
    last_sent: Instant,
    /// How long a reply may make no progress before the connection is closed.
    send_timeout: Duration,
    /// Close the connection once the unsent reply is out.
    closing: bool,
}

impl ClientConnection {
    pub(crate) fn new(inner: &Arc<Inner>, stream: Stream, peer: Option<SocketAddr>, nonblocking: bool) -> Self {
        inner.connections.fetch_add(1, Ordering::Relaxed);
        // A client that does not read its replies must not hold a worker (or the whole
        // multiplexed loop) forever: a send that cannot progress closes the connection.
        let send_timeout = inner.config.comm_timeout.unwrap_or(super::SEND_TIMEOUT);
        let _ = stream.set_write_timeout(Some(send_timeout));
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
            unsent: 0..0,
            last_sent: Instant::now(),
            send_timeout,
            closing: false,
        }
    }

    pub(crate) fn daemon_shutting_down(&self) -> bool {
        self.inner.is_shutting_down()
    }

    /// Whether it has been idle longer than the daemon's `comm_timeout` (not while a reply
    /// waits to be sent: [`send_stalled`](Self::send_stalled) covers that).
    pub(crate) fn idle_too_long(&self) -> bool {
        !self.has_unsent() && self.inner.config.comm_timeout.is_some_and(|t| self.last_activity.elapsed() > t)
    }

    /// Whether part of a reply waits for the socket to take it (multiplex).
    pub(crate) fn has_unsent(&self) -> bool {
        !self.unsent.is_empty()
    }

    /// Whether the unsent reply made no progress for the send timeout (the client does not
    /// read its replies); logs why the connection is to be closed.
    pub(crate) fn send_stalled(&self) -> bool {
        let stalled = self.has_unsent() && self.last_sent.elapsed() > self.send_timeout;
        if stalled {
            log::info!(
                "connection {:?}: reply not sent: no progress for {:?}, {} bytes left; closing",
                self.peer,
                self.send_timeout,
                self.unsent.len()
            );
        }
        stalled
    }

    /// Write as much of the unsent reply as the socket takes now (multiplex).
    pub(crate) fn flush(&mut self) -> Flush {
        match self.write_unsent() {
            Ok(true) => {
                // The idle clock runs from when the reply is out.
                self.last_activity = Instant::now();
                if self.closing { Flush::Closed } else { Flush::Done }
            }
            Ok(false) => Flush::Pending,
            Err(e) => {
                log::info!("connection {:?}: reply not sent: {e}", self.peer);
                Flush::Closed
            }
        }
    }

    /// Non-blocking writes of `tx[unsent]` until done (`true`) or the socket would block.
    fn write_unsent(&mut self) -> io::Result<bool> {
        while !self.unsent.is_empty() {
            let bytes = self.tx.get(self.unsent.clone()).unwrap_or_default();
            match self.stream.write(bytes) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.unsent.start = self.unsent.start.saturating_add(n).min(self.unsent.end);
                    self.last_sent = Instant::now();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.unsent = 0..0;
                    return Err(e);
                }
            }
        }
        Ok(true)
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
        if self.closing {
            return ReadOutcome::Closed;
        }
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
        // The byte stream is out of step: nothing more is read; an error reply still
        // waiting for the socket goes out first.
        self.closing = true;
        if self.has_unsent() { ReadOutcome::Progress } else { ReadOutcome::Closed }
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
                self.closing = true;
                match self.send(len) {
                    Ok(()) if self.has_unsent() => ReadOutcome::Progress,
                    _ => ReadOutcome::Closed,
                }
            }
            Action::Nothing => ReadOutcome::Progress,
            Action::Close(reason) => {
                log::info!("connection {:?}: closing: {reason}", self.peer);
                ReadOutcome::Closed
            }
        }
    }

    /// Send the reply in `tx[..len]`: whole (thread server, blocking with the send
    /// timeout), or as much as the socket takes now, the rest left for [`flush`](Self::flush)
    /// (multiplex).
    fn send(&mut self, len: usize) -> io::Result<()> {
        let len = len.min(self.tx.len());
        if self.inner.config.logwire {
            crate::config::log_wire("daemon wiredata sending", self.tx.get(..len).unwrap_or_default());
        }
        let result = if self.nonblocking {
            self.unsent = 0..len;
            self.last_sent = Instant::now();
            self.write_unsent().map(|_| ())
        } else {
            self.stream.write_all(self.tx.get(..len).unwrap_or_default())
        };
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
