//! [`DaemonConnection`]: one client connection of a [`Daemon`](super::Daemon), without its
//! socket. Every loop that serves a daemon (the thread server, the multiplex server, the
//! `pyro5-tokio` daemon, a loop of your own) drives its clients through it: the loop moves
//! bytes and waits; the connection decides everything else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pyro5_core::server::{
    AsyncAnswer, AsyncCall, CallHandle, CloseReason, ConnectionId, Later, ServerConnection, ServerEvent,
};

use super::buffers::Buffer;
use super::{Inner, REFUSAL_TIME, ServerType, millis};

/// The core's connection with the daemon's growable storage.
type Core = ServerConnection<Buffer, Buffer>;

/// Whether and how a connection counts against the daemon's limit.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Standing {
    /// One of the daemon's connections.
    Counted,
    /// Refused (no room): answered with CONNECTFAIL, ended at the given time at the latest.
    Refused { until_ms: u64 },
    /// Too many refused clients already: ended at once, unanswered.
    Dropped,
}

/// One client connection of a [`Daemon`](super::Daemon), whole but for its socket: Pyro's
/// protocol for it (the core's
/// [`ServerConnection`](pyro5_core::server::ServerConnection)), the daemon's objects, item
/// streams, handshake check, oneway pool and clock, and its place in the daemon's count of
/// connections.
///
/// Made by [`Daemon::connection`](super::Daemon::connection) (or
/// [`Daemon::accept`](super::Daemon::accept)) for a socket your loop accepted. The loop then
/// only moves bytes and time (`docs/server-connection.md`, "Your own event loop"):
///
/// - [`serve_ready`](Self::serve_ready) (or [`poll_call`](Self::poll_call) and
///   [`run`](Self::run) where you choose, e.g. on a worker thread) after every input;
/// - write [`tx_pending`](Self::tx_pending), then [`tx_advance`](Self::tx_advance) by what
///   the socket took;
/// - when [`wants_read`](Self::wants_read), read into [`read_buf`](Self::read_buf) and
///   [`commit`](Self::commit) the count (0: the peer closed or the socket failed);
/// - at [`poll_timeout`](Self::poll_timeout), [`handle_timeout`](Self::handle_timeout);
/// - once [`is_closed`](Self::is_closed), close the socket and drop the connection.
///
/// Past the daemon's connection limit (`max_connections` for the thread server type,
/// `max_connections_multiplex` otherwise) the connection is a refused one: the client's
/// CONNECT is answered with Pyro's CONNECTFAIL text and the connection ends, at the latest
/// after 2 seconds. Dropping the connection ends it (its per-connection objects go, its
/// item streams linger as Pyro's do) and, if its handshake was accepted, calls the daemon's
/// [disconnect hook](super::Daemon::set_disconnect_hook).
pub struct DaemonConnection {
    inner: Arc<Inner>,
    core: Core,
    peer: Option<SocketAddr>,
    standing: Standing,
    /// The client's handshake was accepted: the disconnect hook is told of its end.
    connected: bool,
    /// A Pyro object panicked while this connection ran it: the connection is over.
    broken: bool,
}

impl std::fmt::Debug for DaemonConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonConnection")
            .field("id", &self.core.id())
            .field("peer", &self.peer)
            .field("standing", &self.standing)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// The connection limit of the daemon's server type, the CONNECTFAIL text past it, and
    /// how many refused clients are answered at once.
    fn connection_limit(&self) -> (usize, &'static str, usize) {
        match self.config.server_type {
            ServerType::Thread => (self.config.max_connections, "no free workers, increase server threadpool size", 64),
            ServerType::Multiplex => (
                self.config.max_connections_multiplex,
                "too many connections, increase max_connections_multiplex",
                1024,
            ),
        }
    }

    /// A connection for a client at `peer`, counted, refused or dropped as the limit says.
    pub(crate) fn connection(self: &Arc<Self>, peer: Option<SocketAddr>) -> DaemonConnection {
        let (limit, reason, max_refusing) = self.connection_limit();
        let standing = if self.connections.fetch_add(1, Ordering::AcqRel) < limit {
            Standing::Counted
        } else {
            self.connections.fetch_sub(1, Ordering::AcqRel);
            if self.refusing.fetch_add(1, Ordering::AcqRel) < max_refusing {
                Standing::Refused { until_ms: self.now_ms().saturating_add(millis(REFUSAL_TIME)) }
            } else {
                self.refusing.fetch_sub(1, Ordering::AcqRel);
                Standing::Dropped
            }
        };
        let mut core = self.with_server(|server| {
            ServerConnection::new(
                self.new_connection_id(),
                peer,
                Buffer::new(&self.buffers),
                Buffer::new(&self.buffers),
                server.config,
                self.now_ms(),
                self.seed(),
            )
        });
        match standing {
            Standing::Counted => {}
            Standing::Refused { .. } => {
                log::warn!("client connection was denied: {reason}");
                core.refuse(reason);
            }
            Standing::Dropped => {
                log::warn!("client connection was denied: {reason}");
                self.with_server(|server| core.close(server));
            }
        }
        if standing == Standing::Counted {
            self.peers.arrived(core.id(), peer);
        }
        DaemonConnection { inner: self.clone(), core, peer, standing, connected: false, broken: false }
    }

    /// `ms` on the daemon's clock as an instant.
    pub(crate) fn instant(&self, ms: u64) -> Instant {
        self.started
            .checked_add(Duration::from_millis(ms))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400))
    }
}

impl DaemonConnection {
    /// The connection's id (the key of its per-connection objects).
    pub fn id(&self) -> ConnectionId {
        self.core.id()
    }

    /// The client's address (`None` on a Unix socket).
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Whether the daemon had no room for this client (it is told so, then the connection
    /// ends).
    pub fn is_refused(&self) -> bool {
        self.standing != Standing::Counted
    }

    // Bytes in.

    /// Whether the connection takes bytes now (not while a call or a reply is in progress:
    /// further requests wait in the client's socket).
    pub fn wants_read(&self) -> bool {
        !self.is_closed() && self.core.wants_read()
    }

    /// Where to read the next bytes from the socket; empty when
    /// [`wants_read`](Self::wants_read) is false. Follow with [`commit`](Self::commit).
    pub fn read_buf(&mut self) -> &mut [u8] {
        if self.is_closed() {
            return &mut [];
        }
        self.core.read_buf()
    }

    /// `n` bytes were read into [`read_buf`](Self::read_buf); 0 when the peer closed the
    /// connection or the socket failed (nothing more is sent then).
    pub fn commit(&mut self, n: usize) {
        self.core.commit(n, self.inner.now_ms());
    }

    /// Copy `bytes` in (bytes read elsewhere); how many were taken (fewer when the
    /// connection stops reading).
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        self.core.feed(bytes, self.inner.now_ms())
    }

    // Calls.

    /// Handle what was received (the handshake, PING, errors: their replies appear in
    /// [`tx_pending`](Self::tx_pending); oneway calls go to the daemon's oneway pool when it
    /// has room) and hand out the next call for an object, to [`run`](Self::run) here or on
    /// another thread (the connection is `Send`). `None`: nothing to run now.
    pub fn poll_call(&mut self) -> Option<CallHandle> {
        if self.broken {
            return None;
        }
        let inner = self.inner.clone();
        let (core, connected, peer) = (&mut self.core, &mut self.connected, self.peer);
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            inner.with_server(|server| {
                loop {
                    let event = core.poll_event(server);
                    // The handshake is answered in `poll_event` (it ends in `Closed` when the
                    // connection does: an accepted one is seen here first).
                    *connected |= core.is_ready();
                    let event = event?;
                    match event {
                        ServerEvent::Call(call) if call.is_oneway() => {
                            let handed = core
                                .message(&call)
                                .is_some_and(|bytes| inner.oneway.submit(&inner, core.id(), peer, bytes));
                            if !handed {
                                return Some(call);
                            }
                            let _ = core.hand_off(call);
                        }
                        ServerEvent::Call(call) => return Some(call),
                        ServerEvent::Closed(reason) => {
                            match reason {
                                CloseReason::PeerClosed | CloseReason::Closed => {
                                    log::debug!("connection {peer:?}: {reason}")
                                }
                                _ => log::info!("connection {peer:?}: closing: {reason}"),
                            }
                            return None;
                        }
                    }
                }
            })
        }));
        polled.unwrap_or_else(|_| {
            self.panicked();
            None
        })
    }

    /// Run `call` (from [`poll_call`](Self::poll_call)) by its registered object, with Pyro's
    /// whole dispatch; its reply appears in [`tx_pending`](Self::tx_pending). A panicking
    /// object ends this connection, not the daemon.
    pub fn run(&mut self, call: CallHandle) {
        if self.broken {
            return;
        }
        let inner = self.inner.clone();
        let core = &mut self.core;
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            inner.with_server(|server| {
                let _ = core.run(call, server);
            });
        }));
        if ran.is_err() {
            self.panicked();
        }
    }

    /// Run `call` as [`run`](Self::run) does, where the loop runs futures: a call of an
    /// async method (`async fn` in an `#[expose]` impl) comes back with its future. Run the
    /// future, then [`finish`](Self::finish) the call with its answer; the connection holds
    /// the call meanwhile (the client's next request waits). The future owns all it uses
    /// (`Send + 'static`): spawn it. A oneway async call's future goes to the daemon's
    /// [`Spawner`](super::Spawner) here. For daemons that
    /// [`run_async_methods`](super::Daemon::run_async_methods).
    pub fn start(&mut self, call: CallHandle) -> Option<(CallHandle, AsyncCall)> {
        if self.broken {
            return None;
        }
        let inner = self.inner.clone();
        let core = &mut self.core;
        let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            inner.with_server(|server| core.start(call, server).ok().flatten())
        }));
        match started {
            Ok(Some(Later { call: Some(call), future })) => Some((call, future)),
            Ok(Some(Later { call: None, future })) => {
                self.inner.run_detached(future);
                None
            }
            Ok(None) => None,
            Err(_) => {
                self.panicked();
                None
            }
        }
    }

    /// Answer the call [`start`](Self::start) gave back with what its future ended with;
    /// `None` when the future did not end (it panicked, or was dropped): the connection
    /// ends then, as with an object that panics.
    pub fn finish(&mut self, call: CallHandle, answer: Option<AsyncAnswer>) {
        let Some(answer) = answer else {
            log::error!("connection {:?}: an async Pyro method did not finish; closing the connection", self.peer);
            self.broken = true;
            return;
        };
        if self.broken {
            return;
        }
        let inner = self.inner.clone();
        let core = &mut self.core;
        let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            inner.with_server(|server| {
                let _ = core.finish(call, answer, server);
            });
        }));
        if finished.is_err() {
            self.panicked();
        }
    }

    /// [`poll_call`](Self::poll_call) and [`run`](Self::run) every call here, until the
    /// connection waits for its client (to send more or to take the replies) or is over.
    pub fn serve_ready(&mut self) {
        while let Some(call) = self.poll_call() {
            self.run(call);
        }
    }

    /// The client's TLS certificate (DER), told by the loop once the TLS handshake is over:
    /// from then on [`Daemon::peers`](super::Daemon::peers) has it
    /// under this connection's id (for a handshake validator, or a method through its
    /// call's context), until the connection ends.
    pub fn set_peer_certificate(&mut self, der: Vec<u8>) {
        self.inner.peers.certified(self.core.id(), der);
    }

    /// The daemon it belongs to.
    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    fn panicked(&mut self) {
        log::error!("connection {:?}: a Pyro object panicked; closing the connection", self.peer);
        self.broken = true;
    }

    // Bytes out.

    /// Reply bytes to send, in order.
    pub fn tx_pending(&self) -> &[u8] {
        if self.broken { &[] } else { self.core.tx_pending() }
    }

    /// The socket took `n` bytes of [`tx_pending`](Self::tx_pending).
    pub fn tx_advance(&mut self, n: usize) {
        self.core.tx_advance(n, self.inner.now_ms());
    }

    // Time.

    /// When [`handle_timeout`](Self::handle_timeout) is next due: the idle timeout
    /// (`COMMTIMEOUT`) while waiting for the client, the send timeout while a reply waits for
    /// it, a refused client's time to be told. `None`: no deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline_ms().map(|ms| self.inner.instant(ms))
    }

    /// [`poll_timeout`](Self::poll_timeout) on the daemon's clock (milliseconds).
    pub(crate) fn deadline_ms(&self) -> Option<u64> {
        if self.is_closed() {
            return None;
        }
        let core = self.core.poll_timeout();
        match self.standing {
            Standing::Refused { until_ms } => Some(core.map_or(until_ms, |t| t.min(until_ms))),
            _ => core,
        }
    }

    /// End the connection if a deadline passed (an idle client still in its handshake is
    /// told so, as Pyro does). Harmless at any time.
    pub fn handle_timeout(&mut self) {
        let now = self.inner.now_ms();
        let core = &mut self.core;
        let standing = self.standing;
        self.inner.with_server(|server| {
            core.handle_timeout(now, server);
            if matches!(standing, Standing::Refused { until_ms } if now >= until_ms) {
                core.close(server);
            }
        });
    }

    // The end.

    /// Whether the connection is over with nothing more to send: close the socket and drop
    /// the connection.
    pub fn is_closed(&self) -> bool {
        self.broken || self.core.is_closed()
    }

    /// Why the connection ended (or is ending, once its last reply is out).
    pub fn close_reason(&self) -> Option<CloseReason> {
        if self.broken { Some(CloseReason::Closed) } else { self.core.close_reason() }
    }
}

impl Drop for DaemonConnection {
    fn drop(&mut self) {
        let core = &mut self.core;
        self.inner.with_server(|server| core.close(server));
        if self.connected {
            self.inner.client_disconnected(self.core.id());
        }
        // As Python's: the hook may still list them, then they are closed.
        self.inner.resources.close_all(self.core.id());
        self.inner.peers.left(self.core.id());
        match self.standing {
            Standing::Counted => {
                self.inner.connections.fetch_sub(1, Ordering::AcqRel);
            }
            Standing::Refused { .. } => {
                self.inner.refusing.fetch_sub(1, Ordering::AcqRel);
            }
            Standing::Dropped => {}
        }
    }
}
