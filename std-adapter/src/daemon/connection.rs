//! One client connection of the daemon's own loops (either server type): a socket and the
//! daemon's [`DaemonConnection`]. The socket moves bytes; every decision (replies, timeouts,
//! refusals, when to stop reading, when to close) is the connection's.

use std::io::{self, Read, Write};

use super::daemon_connection::DaemonConnection;
use crate::transport::Stream;

/// Whether a read that returns less than asked leaves a socket whose next bytes its
/// edge-triggered poll reports (Linux's epoll wakes for every arrival).
const SHORT_READ_DRAINS: bool = cfg!(target_os = "linux");

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
    pub(crate) stream: Stream,
    pub(crate) connection: DaemonConnection,
    /// The socket is non-blocking (multiplex).
    nonblocking: bool,
    /// A read of this pump left the socket empty: on Linux its poll reports the next bytes
    /// (edge-triggered epoll wakes for every arrival), so the read that would only say
    /// "would block" is skipped (see [`pump`](Self::pump)).
    drained: bool,
    /// The peer's TLS certificate was looked for.
    certified: bool,
}

impl ClientConnection {
    pub(crate) fn new(connection: DaemonConnection, stream: Stream, nonblocking: bool) -> Self {
        Self { stream, connection, nonblocking, drained: false, certified: false }
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
        let conn = &mut self.connection;
        loop {
            conn.serve_ready();
            while !conn.tx_pending().is_empty() {
                match self.stream.write(conn.tx_pending()) {
                    Ok(0) => conn.commit(0),
                    Ok(n) => conn.tx_advance(n),
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                        conn.handle_timeout();
                        if conn.is_closed() {
                            break;
                        }
                        return Wait::Writable;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        log::info!("connection {:?}: reply not sent: {e}", conn.peer());
                        conn.commit(0);
                    }
                }
            }
            // TLS bytes a full socket did not take (the end of a reply, a handshake message).
            if self.stream.wants_write() {
                match self.stream.flush() {
                    Ok(()) => {}
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                        conn.handle_timeout();
                        if !conn.is_closed() {
                            return Wait::Writable;
                        }
                    }
                    Err(e) => {
                        log::info!("connection {:?}: reply not sent: {e}", conn.peer());
                        conn.commit(0);
                    }
                }
            }
            if conn.is_closed() {
                // Reports the end (and logs why).
                conn.serve_ready();
                return Wait::Closed;
            }
            if std::mem::take(&mut self.drained) && conn.wants_read() {
                return Wait::Readable;
            }
            let buf = conn.read_buf();
            if buf.is_empty() {
                // A request (or a receive error) waits to be handled: serve it first.
                continue;
            }
            let asked = buf.len();
            match self.stream.read(buf) {
                Ok(n) => {
                    // (Under TLS a short read says nothing about the socket.)
                    self.drained = SHORT_READ_DRAINS
                        && open
                        && self.nonblocking
                        && n > 0
                        && n < asked
                        && !matches!(self.stream, Stream::Tls(_));
                    conn.commit(n);
                    if n > 0 && !self.certified {
                        // The TLS handshake is over once bytes come through it.
                        self.certified = true;
                        if let Some(cert) = self.stream.peer_certificate() {
                            conn.set_peer_certificate(cert);
                        }
                    }
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    conn.handle_timeout();
                    if !conn.is_closed() && conn.tx_pending().is_empty() {
                        return Wait::Readable;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if matches!(self.stream, Stream::Tls(_)) {
                        // A refused certificate, a plaintext client, a stalled handshake.
                        log::info!("connection {:?}: {e}", conn.peer());
                    } else {
                        log::debug!("connection {:?}: read failed: {e}", conn.peer());
                    }
                    conn.commit(0);
                }
            }
        }
    }
}

impl Drop for ClientConnection {
    fn drop(&mut self) {
        self.stream.shutdown();
    }
}
