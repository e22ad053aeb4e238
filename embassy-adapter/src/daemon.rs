//! Serving Pyro objects: N connections, each an accept loop on the same port, driving the
//! core's [`ServerConnection`] with bytes from an embassy-net [`TcpSocket`] and with time
//! from embassy-time. Everything Pyro decides (replies, errors, timeouts, when a connection
//! ends, when item streams expire) is decided by the core; this loop moves bytes and waits.

use core::cell::Cell;
use core::convert::Infallible;
use core::future::{pending, poll_fn};
use core::task::{Poll, Waker};

use embassy_futures::join::{join, join_array};
use embassy_futures::select::{Either, select};
use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Duration, Instant, Timer, with_timeout};
use pyro5_core::server::{CloseReason, ConnectionId, DEFAULT_SEND_TIMEOUT_MS, Server, ServerConnection};

use crate::entropy::Entropy;
use crate::storage::ConnectionStorage;

/// Where [`serve`] listens. Everything else a daemon is configured with is in the core's
/// `ServerConfig`, among it Pyro's `COMMTIMEOUT` (`idle_timeout_ms`: a client that sends
/// nothing for this long is disconnected, during the handshake with CONNECTFAIL "receiving:
/// timeout") and `send_timeout_ms` (a reply that makes no progress for this long closes its
/// connection, so a client that does not read cannot hold one).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServeConfig {
    /// The TCP port to listen on.
    pub port: u16,
}

impl ServeConfig {
    /// Listen on `port`.
    pub const fn new(port: u16) -> Self {
        Self { port }
    }
}

/// Serve `server`'s objects on `config.port`, one connection per element of `connections`,
/// forever.
///
/// smoltcp has no listen backlog: each connection is a socket listening on the port, so a
/// client is refused while all are busy. Give room for at least twice the proxies that
/// connect at once, or a proxy reconnecting right away may find none free.
///
/// Connections are cooperative tasks of one executor: a method runs to completion before
/// another connection is served. A connection waiting for its client (to send a request or
/// to take a reply) holds up no other.
///
/// Timeouts come from `server.config`: `idle_timeout_ms` (Pyro's `COMMTIMEOUT`) and
/// `send_timeout_ms`. Item streams expire as in a Python daemon, by
/// `server.config.streams`: a closed connection's streams linger for `linger_ms` (Pyro's
/// default 30 s) and are then dropped, and with a `lifetime_ms` every stream is dropped that
/// long after its creation. A timer wakes when the core says the next stream expires
/// ([`Server::poll_timeout`]); with no stream that can expire it sets none.
pub async fn serve<const N: usize, const SOCKET: usize, const MESSAGE: usize>(
    stack: Stack<'_>,
    server: &Server<'_>,
    config: &ServeConfig,
    entropy: &dyn Entropy,
    connections: &mut [ConnectionStorage<SOCKET, MESSAGE>; N],
) -> ! {
    let next_id = Cell::new(1);
    let streams_changed = Notify::default();
    let shared = Shared { server, port: config.port, entropy, next_id: &next_id, streams_changed: &streams_changed };
    let slots = connections.each_mut().map(|storage| accept_loop(stack, &shared, storage));
    // The stream timer never returns (nor do the connections).
    let (_, never) = join(join_array(slots), expire_streams(server, &streams_changed)).await;
    match never {}
}

/// What every connection of [`serve`] shares.
struct Shared<'a, 's> {
    server: &'a Server<'s>,
    port: u16,
    entropy: &'a dyn Entropy,
    next_id: &'a Cell<u64>,
    /// Told when a connection handled requests or closed: streams may have opened or
    /// started to linger, so the next expiry may be sooner.
    streams_changed: &'a Notify,
}

/// Wakes one waiting task of the same executor; a notification given while nobody waits
/// is kept for the next wait.
#[derive(Default)]
struct Notify {
    pending: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Notify {
    fn notify(&self) {
        self.pending.set(true);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    async fn wait(&self) {
        poll_fn(|cx| {
            if self.pending.replace(false) {
                Poll::Ready(())
            } else {
                self.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await;
    }
}

/// Drop the streams the core says have expired, then sleep until it says the next one
/// does, or until streams change.
async fn expire_streams(server: &Server<'_>, streams_changed: &Notify) -> Infallible {
    loop {
        server.handle_timeout(now_ms());
        let _ = select(sleep_until(server.poll_timeout()), streams_changed.wait()).await;
    }
}

/// The adapter's monotonic clock, in the core's unit.
fn now_ms() -> u64 {
    Instant::now().as_millis()
}

/// `ms` milliseconds, at most about 49 days (so that adding it to now cannot overflow).
fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms.min(u64::from(u32::MAX)))
}

/// Sleep until `deadline` (milliseconds on [`now_ms`]'s clock); forever if there is none.
async fn sleep_until(deadline: Option<u64>) {
    match deadline {
        Some(ms) => Timer::at(Instant::try_from_millis(ms).unwrap_or(Instant::MAX)).await,
        None => pending().await,
    }
}

async fn accept_loop<const SOCKET: usize, const MESSAGE: usize>(
    stack: Stack<'_>,
    shared: &Shared<'_, '_>,
    storage: &mut ConnectionStorage<SOCKET, MESSAGE>,
) -> Infallible {
    let Shared { server, port, entropy, next_id, streams_changed } = *shared;
    // How long a closing socket may take to get its FIN out.
    let flush_limit = millis(server.config.send_timeout_ms.unwrap_or(DEFAULT_SEND_TIMEOUT_MS));
    loop {
        let ConnectionStorage { socket_rx, socket_tx, request, reply } = &mut *storage;
        let mut socket = TcpSocket::new(stack, socket_rx, socket_tx);
        // Bounds how long sent data may stay unacknowledged by a vanished peer.
        socket.set_timeout(server.config.send_timeout_ms.map(millis));
        if let Err(e) = socket.accept(port).await {
            event!(warn, "pyro5: accept on port {} failed: {:?}", port, e);
            Timer::after_millis(100).await;
            continue;
        }
        let id = ConnectionId(next_id.get());
        next_id.set(next_id.get().wrapping_add(1));
        let peer = socket.remote_endpoint();
        if let Some(peer) = peer {
            event!(info, "pyro5: connection {} from {}", id.0, peer);
        }
        let mut connection = ServerConnection::new(
            id,
            peer.map(core::net::SocketAddr::from),
            &mut request[..],
            &mut reply[..],
            server.config,
            now_ms(),
            entropy.random(),
        );
        run(&mut socket, &mut connection, server, streams_changed).await;
        let reason = connection.close_reason();
        if let Some(reason) = reason {
            event!(info, "pyro5: connection {} ends: {}", id.0, reason);
        }
        // Its streams linger (the stream timer drops them later) or go now.
        connection.close(server);
        streams_changed.notify();
        if reason == Some(CloseReason::SendTimeout) {
            // A client that takes no bytes would not take the rest of a reply or a FIN
            // either: reset, and free the slot now.
            socket.abort();
        } else {
            socket.close();
        }
        // Let the FIN (or RST) go out before the socket is dropped.
        let _ = with_timeout(flush_limit, socket.flush()).await;
        event!(info, "pyro5: connection {} closed", id.0);
    }
}

/// One connection, until it is over: serve what is ready, send what is pending, read or
/// wait for the connection's deadline.
async fn run(
    socket: &mut TcpSocket<'_>,
    connection: &mut ServerConnection<&mut [u8], &mut [u8]>,
    server: &Server<'_>,
    streams_changed: &Notify,
) {
    // Whether the last round read nothing because the connection took no bytes.
    let mut stalled = false;
    loop {
        connection.serve_ready(server);
        if server.streams.count() > 0 {
            // A call may have opened a stream that expires before the timer wakes.
            streams_changed.notify();
        }
        while !connection.tx_pending().is_empty() {
            let deadline = connection.poll_timeout();
            match select(socket.write(connection.tx_pending()), sleep_until(deadline)).await {
                Either::First(Ok(n)) if n > 0 => {
                    connection.tx_advance(n, now_ms());
                    // A reply went out: requests read ahead may follow without a read.
                    stalled = false;
                }
                // The connection broke: nothing more can be sent or read.
                Either::First(_) => return,
                Either::Second(()) => connection.handle_timeout(now_ms(), server),
            }
        }
        if connection.is_closed() {
            return;
        }
        let deadline = connection.poll_timeout();
        let buf = connection.read_buf();
        if buf.is_empty() {
            // The connection has something to answer first (a message that cannot fit):
            // the next round does. Twice in a row would be a loop without progress.
            if stalled {
                return;
            }
            stalled = true;
            continue;
        }
        stalled = false;
        match select(socket.read(buf), sleep_until(deadline)).await {
            Either::First(Ok(n)) => connection.commit(n, now_ms()),
            // A read error is the end of the peer's side, as a clean close is.
            Either::First(Err(_)) => connection.commit(0, now_ms()),
            Either::Second(()) => connection.handle_timeout(now_ms(), server),
        }
    }
}
