//! One client connection of the daemon, for either server type: a socket and the core's
//! [`ServerConnection`]. The socket moves bytes; every decision (replies, timeouts, when to
//! stop reading, when to close) is the core's.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use pyro5_core::server::{CloseReason, Server, ServerConnection, ServerEvent};

use super::Inner;
use super::buffers::Buffer;
use crate::transport::Stream;

/// Whether a read that returns less than asked leaves a socket whose next bytes its
/// edge-triggered poll reports (Linux's epoll wakes for every arrival).
const SHORT_READ_DRAINS: bool = cfg!(target_os = "linux");

/// The core's connection with growable storage.
pub(crate) type Core = ServerConnection<Buffer, Buffer>;

/// What the connection waits for after [`ClientConnection::pump`].
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Wait {
    /// The peer to send more (or a timeout).
    Readable,
    /// The socket to take the reply.
    Writable,
    /// Nothing: the connection is over.
    Closed,
}

pub(crate) struct ClientConnection {
    inner: Arc<Inner>,
    pub(crate) stream: Stream,
    core: Core,
    peer: Option<SocketAddr>,
    /// Counted in the daemon's connections (refused ones are not).
    counted: bool,
    /// The socket is non-blocking (multiplex).
    nonblocking: bool,
    /// A read of this pump left the socket empty: on Linux its poll reports the next bytes
    /// (edge-triggered epoll wakes for every arrival), so the read that would only say
    /// "would block" is skipped (see [`pump`](Self::pump)).
    drained: bool,
}

impl ClientConnection {
    pub(crate) fn new(inner: &Arc<Inner>, stream: Stream, peer: Option<SocketAddr>, nonblocking: bool) -> Self {
        inner.connections.fetch_add(1, Ordering::Relaxed);
        let core = inner.with_server(|server| {
            ServerConnection::new(
                inner.new_connection_id(),
                peer,
                Buffer::new(&inner.buffers),
                Buffer::new(&inner.buffers),
                server.config,
                inner.now_ms(),
                inner.seed(),
            )
        });
        Self { inner: inner.clone(), stream, core, peer, counted: true, nonblocking, drained: false }
    }

    /// A client the daemon has no room for: its CONNECT is answered with CONNECTFAIL
    /// `reason`, then it is closed. Not counted in the daemon's connections.
    pub(crate) fn refused(inner: &Arc<Inner>, stream: Stream, reason: &'static str, nonblocking: bool) -> Self {
        log::warn!("client connection was denied: {reason}");
        let mut connection = Self::new(inner, stream, None, nonblocking);
        inner.connections.fetch_sub(1, Ordering::Relaxed);
        connection.counted = false;
        connection.core.refuse(reason);
        connection
    }

    pub(crate) fn daemon_shutting_down(&self) -> bool {
        self.inner.is_shutting_down()
    }

    /// When the core wants [`on_timeout`](Self::on_timeout), on the daemon's clock.
    pub(crate) fn deadline(&self) -> Option<u64> {
        self.core.poll_timeout()
    }

    /// The time passed: let the core end the connection if a deadline passed.
    pub(crate) fn on_timeout(&mut self) {
        let now = self.inner.now_ms();
        let core = &mut self.core;
        self.inner.with_server(|server| core.handle_timeout(now, server));
    }

    /// Serve ready calls, write what is pending and read what the peer sent until the socket
    /// would block (non-blocking) or a read timed out (blocking, with a read timeout); what
    /// the connection waits for then.
    ///
    /// `open` says the readiness that woke the connection reported no end of the peer's
    /// stream and no error (multiplex): only then may a read that leaves the socket empty be
    /// the last one (the poll reports new bytes, an end or an error that come later, but
    /// not one that came before).
    pub(crate) fn pump(&mut self, open: bool) -> Wait {
        self.drained = false;
        loop {
            if !self.serve() {
                return Wait::Closed;
            }
            while !self.core.tx_pending().is_empty() {
                match self.stream.write(self.core.tx_pending()) {
                    Ok(0) => self.core.commit(0, self.inner.now_ms()),
                    Ok(n) => self.core.tx_advance(n, self.inner.now_ms()),
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                        self.on_timeout();
                        if self.core.is_closed() {
                            break;
                        }
                        return Wait::Writable;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        log::info!("connection {:?}: reply not sent: {e}", self.peer);
                        self.core.commit(0, self.inner.now_ms());
                    }
                }
            }
            if self.core.is_closed() {
                self.serve();
                return Wait::Closed;
            }
            if std::mem::take(&mut self.drained) && self.core.wants_read() {
                return Wait::Readable;
            }
            let buf = self.core.read_buf();
            if buf.is_empty() {
                // A request (or a receive error) waits to be handled: serve it first.
                continue;
            }
            let asked = buf.len();
            match self.stream.read(buf) {
                Ok(n) => {
                    self.drained = SHORT_READ_DRAINS && open && self.nonblocking && n > 0 && n < asked;
                    self.core.commit(n, self.inner.now_ms());
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    self.on_timeout();
                    if !self.core.is_closed() && self.core.tx_pending().is_empty() {
                        return Wait::Readable;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("connection {:?}: read failed: {e}", self.peer);
                    self.core.commit(0, self.inner.now_ms());
                }
            }
        }
    }

    /// Handle what was received: calls run inline, oneway calls on the daemon's pool;
    /// `false` once the connection is over.
    fn serve(&mut self) -> bool {
        let inner = self.inner.clone();
        let core = &mut self.core;
        let peer = self.peer;
        // A panicking object must not take the daemon down: its client is disconnected.
        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            inner.with_server(|server| serve_events(&inner, core, server, peer))
        }));
        match served {
            Ok(open) => open,
            Err(_) => {
                log::error!("connection {peer:?}: a Pyro object panicked; closing the connection");
                false
            }
        }
    }
}

/// Run every ready event of `core`; `false` once it reported its end.
fn serve_events(inner: &Arc<Inner>, core: &mut Core, server: &Server<'_>, peer: Option<SocketAddr>) -> bool {
    while let Some(event) = core.poll_event(server) {
        match event {
            ServerEvent::Call(call) if call.is_oneway() => {
                let handed =
                    core.message(&call).is_some_and(|bytes| inner.oneway.submit(inner, core.id(), peer, bytes));
                if handed {
                    let _ = core.hand_off(call);
                } else {
                    let _ = core.run(call, server);
                }
            }
            ServerEvent::Call(call) => {
                let _ = core.run(call, server);
            }
            ServerEvent::Closed(reason) => {
                match reason {
                    CloseReason::PeerClosed | CloseReason::Closed => {
                        log::debug!("connection {peer:?}: {reason}")
                    }
                    _ => log::info!("connection {peer:?}: closing: {reason}"),
                }
                return false;
            }
        }
    }
    true
}

impl Drop for ClientConnection {
    fn drop(&mut self) {
        self.stream.shutdown();
        let core = &mut self.core;
        self.inner.with_server(|server| core.close(server));
        if self.counted {
            self.inner.connections.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
