//! Pyro's "multiplex" server type: one thread serving every connection from a readiness
//! loop (mio, on Unix and Windows). Oneway calls run on the daemon's bounded pool, as Pyro
//! runs them in threads.
//!
//! Nothing blocks the loop on one socket: reads and writes are non-blocking, a reply the
//! socket does not take at once waits in its connection (watched for writability only
//! then), and a connection whose reply is pending reads no further request (the core's
//! backpressure), so a client that does not read its replies holds only its own
//! connection, which the core ends after the send timeout. Deadlines (COMMTIMEOUT, send
//! timeout, refused clients, item streams) are checked every tick.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use mio::event::Source;
use mio::{Events, Interest, Poll, Registry, Token};

use super::connection::{ClientConnection, Wait};
use super::{Inner, TICK};
use crate::transport::{Listener, Stream};

const LISTENER: Token = Token(0);

/// A connection of the loop and the poll's handle on its socket.
struct Client {
    connection: ClientConnection,
    watch: Watch,
    /// What the poll watches the socket for now.
    interest: Interest,
}

/// The interest while a reply waits for the socket. On Windows only writability: mio there
/// reports a readable socket again at once on every re-registration, and the connection
/// reads nothing while a reply is pending, so it would spin (errors and resets are reported
/// for either interest).
const PENDING: Interest = if cfg!(windows) { Interest::WRITABLE } else { Interest::READABLE.add(Interest::WRITABLE) };

impl Client {
    /// Serve the socket's readiness until it would block; `false` when the connection is
    /// over. `open`: the readiness reported no end of stream or error.
    fn serve(&mut self, registry: &Registry, token: Token, open: bool) -> bool {
        match self.connection.pump(open) {
            Wait::Readable => self.watch_for(registry, token, Interest::READABLE).is_ok(),
            Wait::Writable => self.watch_for(registry, token, PENDING).is_ok(),
            Wait::Closed => false,
        }
    }

    /// Watch the socket for `interest` from now on. Unix's edge-triggered poll needs a
    /// change only when the interest changes; on Windows every event is asked for anew
    /// (see [`Watch`]).
    fn watch_for(&mut self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        if cfg!(unix) && interest == self.interest {
            return Ok(());
        }
        self.watch.reregister(registry, token, interest)?;
        self.interest = interest;
        Ok(())
    }
}

/// The loop's connections.
#[derive(Default)]
struct Clients {
    map: HashMap<Token, Client>,
    next_token: usize,
}

pub(crate) fn serve(inner: &Arc<Inner>, listener: &Arc<Listener>, keep_going: &dyn Fn() -> bool) -> io::Result<()> {
    let mut poll = Poll::new()?;
    listener.set_nonblocking(true)?;
    let mut listener_watch = Watch::listener(listener)?;
    poll.registry().register(&mut listener_watch, LISTENER, Interest::READABLE)?;
    let mut clients = Clients { next_token: 1, ..Clients::default() };
    let mut events = Events::with_capacity(1024);
    let mut last_tick = Instant::now();
    while keep_going() {
        if let Err(e) = poll.poll(&mut events, Some(TICK)) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in &events {
            if event.token() == LISTENER {
                accept_all(inner, listener, &poll, &mut clients);
                if let Err(e) = listener_watch.rearm(poll.registry(), LISTENER) {
                    log::warn!("cannot watch the listening socket again: {e}");
                    return Err(e);
                }
                continue;
            }
            let token = event.token();
            let Some(client) = clients.map.get_mut(&token) else { continue };
            // Edge-triggered: serve until the socket has nothing more or would block.
            let open = !event.is_read_closed() && !event.is_error();
            if !client.serve(poll.registry(), token, open) {
                clients.remove(&poll, token);
            }
        }
        if last_tick.elapsed() >= TICK {
            last_tick = Instant::now();
            clients.check_deadlines(inner, &poll);
            inner.expire_streams();
        }
    }
    inner.shutdown.store(true, Ordering::Release);
    let tokens: Vec<Token> = clients.map.keys().copied().collect();
    for token in tokens {
        clients.remove(&poll, token);
    }
    let _ = poll.registry().deregister(&mut listener_watch);
    Ok(())
}

impl Clients {
    /// Give every connection whose deadline passed to it (which may end it, answer a
    /// client idle in its handshake or end a refused one).
    fn check_deadlines(&mut self, inner: &Inner, poll: &Poll) {
        let now = inner.now_ms();
        let mut over = Vec::new();
        for (token, client) in &mut self.map {
            let stalled = client.connection.stream.handshake_overdue();
            if stalled || client.connection.connection.deadline_ms().is_some_and(|deadline| now >= deadline) {
                // (A stalled TLS handshake ends at the read its pump tries.)
                client.connection.connection.handle_timeout();
                if !client.serve(poll.registry(), *token, false) {
                    over.push(*token);
                }
            }
        }
        for token in over {
            self.remove(poll, token);
        }
    }

    fn insert(&mut self, poll: &Poll, connection: ClientConnection) {
        let token = Token(self.next_token);
        self.next_token = self.next_token.wrapping_add(1).max(1);
        let watched = Watch::stream(&connection.stream)
            .and_then(|mut watch| poll.registry().register(&mut watch, token, Interest::READABLE).map(|()| watch));
        let watch = match watched {
            Ok(watch) => watch,
            Err(e) => {
                log::warn!("cannot watch a new connection: {e}");
                return;
            }
        };
        self.map.insert(token, Client { connection, watch, interest: Interest::READABLE });
    }

    fn remove(&mut self, poll: &Poll, token: Token) {
        if let Some(mut client) = self.map.remove(&token) {
            let _ = poll.registry().deregister(&mut client.watch);
        }
    }
}

fn accept_all(inner: &Arc<Inner>, listener: &Listener, poll: &Poll, clients: &mut Clients) {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted) => continue,
            Err(e) => {
                log::warn!("accept failed: {e}");
                return;
            }
        };
        if stream.set_nonblocking(true).is_err() {
            continue;
        }
        let stream = match stream.accept_tls(inner.tls.as_ref()) {
            Ok(stream) => stream,
            Err(e) => {
                log::warn!("no TLS for a new connection: {e}");
                continue;
            }
        };
        // Past the limit a refused connection, answered from the loop like any other (or,
        // past the refusals answered at once, a closed one).
        let connection = inner.connection(peer);
        if connection.is_closed() {
            stream.shutdown();
            continue;
        }
        clients.insert(poll, ClientConnection::new(connection, stream, true));
    }
}

/// The poll's handle on a socket that the loop reads and writes through its own type.
///
/// On Unix the descriptor itself. On Windows mio can only poll its own socket types, so a
/// duplicate of the socket wrapped in one; mio there reports a socket once and then waits
/// for I/O through that type to hit "would block", which ours does not go through, so
/// [`Watch::rearm`] asks for the next event after each drain.
enum Watch {
    #[cfg(unix)]
    Fd(std::os::fd::RawFd),
    #[cfg(windows)]
    Listener(mio::net::TcpListener),
    #[cfg(windows)]
    Stream(mio::net::TcpStream),
}

impl Watch {
    fn listener(listener: &Listener) -> io::Result<Self> {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            Ok(Self::Fd(listener.raw_fd().as_raw_fd()))
        }
        #[cfg(windows)]
        {
            let Listener::Tcp(listener, _) = listener;
            Ok(Self::Listener(mio::net::TcpListener::from_std(listener.try_clone()?)))
        }
    }

    fn stream(stream: &Stream) -> io::Result<Self> {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            Ok(Self::Fd(stream.raw_fd().as_raw_fd()))
        }
        #[cfg(windows)]
        {
            let stream = stream.tcp_socket().ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))?;
            Ok(Self::Stream(mio::net::TcpStream::from_std(stream.try_clone()?)))
        }
    }

    /// The listening socket was accepted from until it would block: ask for its next
    /// readiness (Unix's edge-triggered poll does that by itself).
    fn rearm(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        #[cfg(windows)]
        return registry.reregister(self, token, Interest::READABLE);
        #[cfg(unix)]
        {
            let _ = (self, registry, token);
            Ok(())
        }
    }
}

impl Source for Watch {
    fn register(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            Self::Fd(fd) => mio::unix::SourceFd(fd).register(registry, token, interests),
            #[cfg(windows)]
            Self::Listener(l) => l.register(registry, token, interests),
            #[cfg(windows)]
            Self::Stream(s) => s.register(registry, token, interests),
        }
    }

    fn reregister(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            Self::Fd(fd) => mio::unix::SourceFd(fd).reregister(registry, token, interests),
            #[cfg(windows)]
            Self::Listener(l) => l.reregister(registry, token, interests),
            #[cfg(windows)]
            Self::Stream(s) => s.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            Self::Fd(fd) => mio::unix::SourceFd(fd).deregister(registry),
            #[cfg(windows)]
            Self::Listener(l) => l.deregister(registry),
            #[cfg(windows)]
            Self::Stream(s) => s.deregister(registry),
        }
    }
}
