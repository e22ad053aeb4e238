//! Serving Pyro objects: N connections, each an accept loop on the same port, driving the
//! core's [`ServerConnection`] with bytes from an embassy-net [`TcpSocket`].

use core::cell::Cell;
use core::convert::Infallible;
use core::future::poll_fn;
use core::task::{Poll, Waker};

use embassy_futures::join::{join, join_array};
use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Duration, Instant, Timer, with_timeout};
use pyro5_core::server::{Action, ConnectionId, Env, Server, ServerConnection, StreamConfig};
use pyro5_core::wire::{DecodeError, Decoder, Progress};

use crate::entropy::Entropy;
use crate::storage::ConnectionStorage;

/// How [`serve`] runs its connections.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServeConfig {
    /// The TCP port to listen on.
    pub port: u16,
    /// Pyro's `COMMTIMEOUT`: a client that sends nothing for this long is disconnected
    /// (during the handshake with CONNECTFAIL "receiving: timeout", as Pyro5 does).
    /// `None` waits forever.
    pub idle_timeout: Option<Duration>,
    /// A reply that cannot be handed to the network within this is given up and the
    /// connection closed (a client that does not read must not hold a connection forever).
    pub send_timeout: Duration,
}

impl ServeConfig {
    /// Listen on `port`, no idle timeout, 10 s to send a reply.
    pub const fn new(port: u16) -> Self {
        Self { port, idle_timeout: None, send_timeout: Duration::from_secs(10) }
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
/// another connection is served.
///
/// Item streams expire as in a Python daemon, by `server.config.streams`: a closed
/// connection's streams linger for `linger_ms` (Pyro's default 30 s) and are then dropped, and
/// with a `lifetime_ms` every stream is dropped that long after its creation. Expired streams
/// are dropped before each request is handled and, while any stream is open, by a timer
/// (at least once a second); with no stream open the timer does not run.
pub async fn serve<const N: usize, const SOCKET: usize, const MESSAGE: usize>(
    stack: Stack<'_>,
    server: &Server<'_>,
    config: &ServeConfig,
    entropy: &dyn Entropy,
    connections: &mut [ConnectionStorage<SOCKET, MESSAGE>; N],
) -> ! {
    let next_id = Cell::new(1);
    let streams_changed = Notify::default();
    let shared = Shared { server, config, entropy, next_id: &next_id, streams_changed: &streams_changed };
    let slots = connections.each_mut().map(|storage| accept_loop(stack, &shared, storage));
    // The stream timer never returns (nor do the connections).
    let (_, never) = join(join_array(slots), expire_streams(server, &streams_changed)).await;
    match never {}
}

/// What every connection of [`serve`] shares.
struct Shared<'a, 's> {
    server: &'a Server<'s>,
    config: &'a ServeConfig,
    entropy: &'a dyn Entropy,
    next_id: &'a Cell<u64>,
    /// Told when a connection handled a request or closed: streams may have opened or
    /// started to linger.
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

/// The longest the stream timer sleeps while streams are open.
const EXPIRY_TICK_MS: u64 = 1_000;

/// How often open streams are checked for expiry: often enough that one goes at most about
/// its linger time or lifetime late (but at least every second, and at most every 10 ms);
/// `None` when no stream can ever expire (no lifetime, no linger).
fn expiry_period(config: &StreamConfig) -> Option<Duration> {
    if config.lifetime_ms == 0 && config.linger_ms == 0 {
        return None;
    }
    let ms =
        [config.lifetime_ms, config.linger_ms].into_iter().filter(|&ms| ms > 0).fold(EXPIRY_TICK_MS, u64::min).max(10);
    Some(Duration::from_millis(ms))
}

/// Drop expired streams (the core decides which) while any are open; sleep while none are.
async fn expire_streams(server: &Server<'_>, streams_changed: &Notify) -> Infallible {
    loop {
        server.streams.expire(now_ms(), &server.config.streams);
        match expiry_period(&server.config.streams) {
            Some(period) if server.streams.count() > 0 => Timer::after(period).await,
            _ => streams_changed.wait().await,
        }
    }
}

async fn accept_loop<const SOCKET: usize, const MESSAGE: usize>(
    stack: Stack<'_>,
    shared: &Shared<'_, '_>,
    storage: &mut ConnectionStorage<SOCKET, MESSAGE>,
) -> Infallible {
    let Shared { server, config, entropy, next_id, streams_changed } = *shared;
    loop {
        let ConnectionStorage { socket_rx, socket_tx, request, reply } = &mut *storage;
        let mut socket = TcpSocket::new(stack, socket_rx, socket_tx);
        // Also bounds how long an unacknowledged send may hang on a vanished peer.
        socket.set_timeout(Some(config.send_timeout));
        if let Err(e) = socket.accept(config.port).await {
            event!(warn, "pyro5: accept on port {} failed: {:?}", config.port, e);
            embassy_time::Timer::after_millis(100).await;
            continue;
        }
        let id = ConnectionId(next_id.get());
        next_id.set(next_id.get().wrapping_add(1));
        let peer = socket.remote_endpoint();
        if let Some(peer) = peer {
            event!(info, "pyro5: connection {} from {}", id.0, peer);
        }
        let mut connection = Connection {
            socket: &mut socket,
            state: ServerConnection::new(id, peer.map(core::net::SocketAddr::from)),
            decoder: Decoder::new(&mut request[..], server.config.limits),
            reply: &mut reply[..],
            server,
            config,
            entropy,
            streams_changed,
        };
        connection.run().await;
        // Its streams linger (the stream timer drops them later) or go now.
        connection.state.closed(server, now_ms());
        streams_changed.notify();
        socket.close();
        // Let the FIN (and any last reply) go out before the socket is dropped.
        let _ = with_timeout(config.send_timeout, socket.flush()).await;
        event!(info, "pyro5: connection {} closed", id.0);
    }
}

fn now_ms() -> u64 {
    Instant::now().as_millis()
}

/// One accepted connection.
struct Connection<'c, 's, 'm> {
    socket: &'c mut TcpSocket<'s>,
    state: ServerConnection,
    decoder: Decoder<&'m mut [u8]>,
    reply: &'m mut [u8],
    server: &'c Server<'c>,
    config: &'c ServeConfig,
    entropy: &'c dyn Entropy,
    streams_changed: &'c Notify,
}

/// Whether the connection goes on after an action.
#[derive(Clone, Copy, Eq, PartialEq)]
enum Flow {
    Continue,
    Stop,
}

impl Connection<'_, '_, '_> {
    async fn run(&mut self) {
        while self.step().await == Flow::Continue {}
    }

    /// Read once and handle what completed.
    async fn step(&mut self) -> Flow {
        let buf = match self.decoder.read_buf() {
            Ok(buf) => buf,
            Err(e) => return self.receive_error(&e).await,
        };
        let read = match self.config.idle_timeout {
            Some(limit) => match with_timeout(limit, self.socket.read(buf)).await {
                Ok(read) => read,
                Err(_) => {
                    event!(info, "pyro5: connection {}: idle timeout", self.state.id().0);
                    let action = self.state.timed_out(self.server, &mut self.reply);
                    return self.act(action).await;
                }
            },
            None => self.socket.read(buf).await,
        };
        let n = match read {
            Ok(0) | Err(_) => return Flow::Stop,
            Ok(n) => n,
        };
        match self.decoder.commit(n) {
            Ok(Progress::NeedMore) => Flow::Continue,
            Ok(Progress::Complete { .. }) => {
                let Some(message) = self.decoder.message() else { return Flow::Stop };
                let env = Env { now_ms: now_ms(), random: self.entropy.random() };
                // A request must not continue a stream that has expired since the last tick.
                self.server.streams.expire(env.now_ms, &self.server.config.streams);
                let action = self.state.handle(&message, self.server, &env, &mut self.reply);
                if self.server.streams.count() > 0 {
                    self.streams_changed.notify();
                }
                self.act(action).await
            }
            Err(e) => self.receive_error(&e).await,
        }
    }

    async fn receive_error(&mut self, error: &DecodeError) -> Flow {
        event!(info, "pyro5: connection {}: closing: {}", self.state.id().0, error);
        let action = self.state.receive_error(error, self.server, &mut self.reply);
        self.act(action).await;
        Flow::Stop
    }

    async fn act(&mut self, action: Action) -> Flow {
        match action {
            Action::Send { len } => self.send(len).await,
            Action::SendAndClose { len } => {
                self.send(len).await;
                Flow::Stop
            }
            Action::Nothing => Flow::Continue,
            Action::Close(reason) => {
                event!(info, "pyro5: connection {}: closing: {}", self.state.id().0, reason);
                Flow::Stop
            }
        }
    }

    async fn send(&mut self, len: usize) -> Flow {
        let mut out = self.reply.get(..len).unwrap_or_default();
        let sent = with_timeout(self.config.send_timeout, async {
            while !out.is_empty() {
                match self.socket.write(out).await {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => out = out.get(n..).unwrap_or_default(),
                }
            }
            true
        })
        .await;
        if sent == Ok(true) {
            Flow::Continue
        } else {
            event!(info, "pyro5: connection {}: reply not sent; closing", self.state.id().0);
            Flow::Stop
        }
    }
}
