//! The async daemon: a `pyro5-std` [`Daemon`](pyro5_std::Daemon) served by tokio tasks.
//!
//! An accept loop and a task per client connection, each driving the daemon's
//! [`DaemonConnection`]: bytes read into its `read_buf`, its `tx_pending` written, a
//! `sleep_until` its `poll_timeout`. Objects, instance modes, limits, timeouts, refusals and
//! every Pyro decision are `pyro5-std`'s and `pyro5-core`'s.

use std::io;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use pyro5_std::{DaemonConfig, DaemonConnection, ListenerSocket};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

/// The longest the accept loop waits before it looks again at the item streams' expiry and
/// at a shutdown asked for through the `pyro5-std` daemon.
const HOUSEKEEPING: Duration = Duration::from_millis(100);

/// Where plain (not oneway) calls run.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum Calls {
    /// In the connection's task (the default): no hand-over, but a slow method holds up a
    /// runtime worker thread while it runs.
    #[default]
    Inline,
    /// On tokio's blocking pool (`spawn_blocking`): methods may block or take long.
    Blocking,
}

/// A Pyro daemon served by tokio: a task per connection.
///
/// Made from a `pyro5-std` [`Daemon`](pyro5_std::Daemon), which it derefs to: objects are
/// registered there (`register`, `register_concurrent`, `register_class` with its instance
/// modes, `register_shared`, `set_handshake_validator`, `set_disconnect_hook`, ...), and its
/// configuration (TCP on IPv4 or IPv6 or a Unix socket, `COMMTIMEOUT` as the idle timeout, the
/// connection limit, item streams, oneway threads) is the one served. The connection limit is
/// the `pyro5-std` daemon's for its server type: `max_connections` (Python's `THREADPOOL_SIZE`,
/// 80 by default) for [`ServerType::Thread`](pyro5_std::ServerType::Thread), the default;
/// `max_connections_multiplex` (10000 by default) for `ServerType::Multiplex`. Clients past it
/// get Pyro's CONNECTFAIL text. Cloning gives another handle to the same daemon (to shut it
/// down from elsewhere).
#[derive(Clone, Debug)]
pub struct Daemon {
    daemon: pyro5_std::Daemon,
    calls: Calls,
    stop: Arc<watch::Sender<bool>>,
}

impl Daemon {
    /// Serve `daemon` (its objects registered before or after).
    pub fn new(daemon: pyro5_std::Daemon) -> Self {
        run_async_methods(&daemon);
        Self { daemon, calls: Calls::Inline, stop: Arc::new(watch::Sender::new(false)) }
    }

    /// Bind as `config` says (the `pyro5-std` daemon's [`Daemon::new`](pyro5_std::Daemon::new)).
    ///
    /// # Errors
    /// Invalid settings, or the socket's error.
    pub fn bind(config: DaemonConfig) -> io::Result<Self> {
        pyro5_std::Daemon::new(config).map(Self::new)
    }

    /// Run plain calls as `calls` says ([`Calls::Inline`] by default). Oneway calls run on
    /// the daemon's oneway threads either way.
    #[must_use]
    pub fn with_calls(mut self, calls: Calls) -> Self {
        self.calls = calls;
        self
    }

    /// The `pyro5-std` daemon served.
    pub fn std(&self) -> &pyro5_std::Daemon {
        &self.daemon
    }

    /// Stop gracefully: [`serve`](Self::serve) serves no further client (one that connects
    /// meanwhile is closed at once), ends every connection waiting for its client, lets the
    /// calls in progress finish and their replies go out, then returns. The listening socket
    /// itself closes when the last handle of the daemon goes.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// Serve until [`shutdown`](Self::shutdown) (or the `pyro5-std` daemon's `shutdown`).
    /// Call it in a tokio runtime; with [`Calls::Inline`] a multi-threaded one keeps other
    /// connections going while a call runs.
    ///
    /// # Errors
    /// The listening socket's error.
    pub async fn serve(&self) -> io::Result<()> {
        run_async_methods(&self.daemon);
        let listener = Listener::new(self.daemon.listener_socket()?)?;
        let mut stop = self.stop.subscribe();
        let mut tasks = JoinSet::new();
        let result = loop {
            if *stop.borrow_and_update() || self.daemon.is_shutting_down() {
                break Ok(());
            }
            let wake = Instant::now() + HOUSEKEEPING;
            let wake = self.daemon.poll_timeout().map_or(wake, |t| wake.min(Instant::from_std(t)));
            tokio::select! {
                accepted = listener.accept(self.daemon.config().sock_nodelay) => match accepted {
                    Ok(client) => self.spawn(&mut tasks, client),
                    Err(e) => {
                        // Out of file descriptors and the like: wait for connections to close.
                        log::warn!("accept failed: {e}");
                        tokio::time::sleep(HOUSEKEEPING).await;
                    }
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = stop.changed() => {}
                () = sleep_until(wake) => self.daemon.handle_timeout(),
            }
        };
        // Every connection task sees the stop and ends once its call in progress is answered;
        // meanwhile a client that connects is closed at once rather than left waiting.
        self.stop.send_replace(true);
        loop {
            tokio::select! {
                joined = tasks.join_next() => if joined.is_none() { break },
                accepted = listener.accept(false) => if accepted.is_err() {
                    tokio::time::sleep(HOUSEKEEPING).await;
                },
            }
        }
        drop(listener);
        self.daemon.close();
        result
    }

    fn spawn(&self, tasks: &mut JoinSet<()>, client: Client) {
        let (calls, stop, tls) = (self.calls, self.stop.subscribe(), self.daemon.tls_config());
        match client {
            Client::Tcp(socket, peer) => {
                let connection = self.daemon.connection(Some(peer));
                tasks.spawn(serve_client(connection, socket, tls, calls, stop));
            }
            #[cfg(unix)]
            Client::Unix(socket) => {
                let connection = self.daemon.connection(None);
                tasks.spawn(serve_client(connection, socket, tls, calls, stop));
            }
        }
    }
}

impl Deref for Daemon {
    type Target = pyro5_std::Daemon;

    fn deref(&self) -> &pyro5_std::Daemon {
        &self.daemon
    }
}

impl From<pyro5_std::Daemon> for Daemon {
    fn from(daemon: pyro5_std::Daemon) -> Self {
        Self::new(daemon)
    }
}

/// Let `daemon` take objects with async methods; the futures of their oneway calls run on
/// the runtime this is called in (the one serving the daemon, once `serve` runs).
fn run_async_methods(daemon: &pyro5_std::Daemon) {
    let handle = tokio::runtime::Handle::try_current().ok();
    daemon.run_async_methods(Arc::new(move |future| match &handle {
        Some(handle) => drop(handle.spawn(future)),
        None => log::error!("a oneway call of an async method was dropped: the daemon is not served"),
    }));
}

/// The daemon's listening socket in tokio.
enum Listener {
    Tcp(tokio::net::TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

/// An accepted client.
enum Client {
    Tcp(tokio::net::TcpStream, std::net::SocketAddr),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl Listener {
    fn new(socket: ListenerSocket) -> io::Result<Self> {
        match socket {
            ListenerSocket::Tcp(l) => {
                l.set_nonblocking(true)?;
                Ok(Self::Tcp(tokio::net::TcpListener::from_std(l)?))
            }
            #[cfg(unix)]
            ListenerSocket::Unix(l) => {
                l.set_nonblocking(true)?;
                Ok(Self::Unix(tokio::net::UnixListener::from_std(l)?))
            }
        }
    }

    async fn accept(&self, nodelay: bool) -> io::Result<Client> {
        match self {
            Self::Tcp(l) => {
                let (socket, peer) = l.accept().await?;
                let _ = socket.set_nodelay(nodelay);
                Ok(Client::Tcp(socket, peer))
            }
            #[cfg(unix)]
            Self::Unix(l) => Ok(Client::Unix(l.accept().await?.0)),
        }
    }
}

/// Serve one client, with TLS first when the daemon has it (`SSL`): a handshake that fails
/// or does not finish in time ends the connection, logged.
async fn serve_client<S>(
    mut connection: DaemonConnection,
    socket: S,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    calls: Calls,
    stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Some(tls) = tls else { return drive(connection, socket, calls, stop).await };
    let accepting = tokio_rustls::TlsAcceptor::from(tls).accept(socket);
    match tokio::time::timeout(pyro5_std::tls::HANDSHAKE_TIMEOUT, accepting).await {
        Ok(Ok(socket)) => {
            if let Some(cert) = socket.get_ref().1.peer_certificates().and_then(|c| c.first()) {
                connection.set_peer_certificate(cert.as_ref().to_vec());
            }
            drive(connection, socket, calls, stop).await;
        }
        Ok(Err(e)) => log::info!("connection {:?}: TLS handshake failed: {e}", connection.peer()),
        Err(_) => log::info!(
            "connection {:?}: TLS handshake not finished within {} s",
            connection.peer(),
            pyro5_std::tls::HANDSHAKE_TIMEOUT.as_secs()
        ),
    }
}

/// What ended a wait for the socket.
enum Woke {
    Io(io::Result<usize>),
    Deadline,
    Stop,
}

/// Serve one client: the loop of `docs/server-connection.md` with `.await`.
async fn drive<S>(mut connection: DaemonConnection, mut socket: S, calls: Calls, stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // One wait for the stop, kept across the reads: a `changed()` per read would add and
    // remove a waiter (under the watch's lock) on every call.
    let mut stopped = std::pin::pin!(stopped(stop.clone()));
    'serving: loop {
        while let Some(call) = connection.poll_call() {
            let later = match calls {
                Calls::Inline => connection.start(call),
                Calls::Blocking => {
                    let ran = tokio::task::spawn_blocking(move || {
                        let later = connection.start(call);
                        (connection, later)
                    })
                    .await;
                    match ran {
                        Ok((back, later)) => {
                            connection = back;
                            later
                        }
                        // The connection went down with the blocking task (cancelled at the
                        // runtime's end): its drop ended it.
                        Err(_) => return,
                    }
                }
            };
            // An async method: its future runs as a task of its own (a panic stays there),
            // the connection holding the call until it ends.
            if let Some((call, future)) = later {
                let answer = tokio::spawn(future).await.ok();
                connection.finish(call, answer);
            }
        }
        while !connection.tx_pending().is_empty() {
            let deadline = connection.poll_timeout().map(Instant::from_std);
            let woke = tokio::select! {
                biased;
                written = socket.write(connection.tx_pending()) => Woke::Io(written),
                () = sleep_or_never(deadline) => Woke::Deadline,
            };
            match woke {
                Woke::Io(Ok(0) | Err(_)) => connection.commit(0),
                Woke::Io(Ok(n)) => connection.tx_advance(n),
                Woke::Deadline | Woke::Stop => connection.handle_timeout(),
            }
        }
        if connection.is_closed() {
            // Reports the end (and logs why).
            connection.serve_ready();
            break;
        }
        if *stop.borrow() {
            // Shutting down, and no call of this client is in progress (`stopped` is done:
            // it is not polled again).
            break;
        }
        let deadline = connection.poll_timeout().map(Instant::from_std);
        let buf = connection.read_buf();
        if buf.is_empty() {
            // A request (or a receive error) waits to be handled: serve it first.
            continue 'serving;
        }
        // The socket first: no random start (the default) and, when it is ready, no poll of
        // the others.
        let woke = tokio::select! {
            biased;
            read = socket.read(buf) => Woke::Io(read),
            () = sleep_or_never(deadline) => Woke::Deadline,
            () = &mut stopped => Woke::Stop,
        };
        match woke {
            Woke::Io(Ok(n)) => connection.commit(n),
            Woke::Io(Err(e)) => {
                log::debug!("connection {:?}: read failed: {e}", connection.peer());
                connection.commit(0);
            }
            Woke::Deadline => connection.handle_timeout(),
            Woke::Stop => {}
        }
    }
    let _ = socket.shutdown().await;
}

/// Wait until the daemon stops (forever when it is gone: its tasks are ended with it).
async fn stopped(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|stopping| *stopping).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Sleep until `deadline`, or forever when there is none.
async fn sleep_or_never(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
