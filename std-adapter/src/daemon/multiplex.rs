//! Pyro's "multiplex" server type: one thread serving every connection from a readiness
//! loop (mio, on Unix and Windows). Oneway calls still run in their own threads, as in Pyro.
//!
//! Replies are written without blocking: what the socket does not take at once waits for it
//! to become writable, and the connection reads no further request until its reply is out
//! (its requests wait in the kernel's buffer), so a client that does not read its replies
//! holds only its own connection, which is closed when its reply makes no progress for the
//! send timeout.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use mio::event::Source;
use mio::{Events, Interest, Poll, Registry, Token};

use super::connection::{ClientConnection, Flush, ReadOutcome, deny};
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
/// reports a readable socket again at once on every re-registration, and the loop reads
/// nothing while a reply is pending, so it would spin (errors and resets are reported for
/// either interest).
const PENDING: Interest = if cfg!(windows) { Interest::WRITABLE } else { Interest::READABLE.add(Interest::WRITABLE) };

impl Client {
    /// Serve the socket's readiness: write out a pending reply, then read and handle
    /// requests until the socket has nothing more or a reply cannot go out whole; `false`
    /// when the connection is over.
    fn serve(&mut self, registry: &Registry, token: Token) -> bool {
        loop {
            if self.connection.has_unsent() {
                match self.connection.flush() {
                    Flush::Done => {}
                    Flush::Pending => return self.watch_for(registry, token, PENDING).is_ok(),
                    Flush::Closed => return false,
                }
            }
            match self.connection.read_once() {
                ReadOutcome::Progress => {}
                ReadOutcome::Idle => return self.watch_for(registry, token, Interest::READABLE).is_ok(),
                ReadOutcome::Closed => return false,
            }
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

pub(crate) fn serve(inner: &Arc<Inner>, listener: &Arc<Listener>, keep_going: &dyn Fn() -> bool) -> io::Result<()> {
    let mut poll = Poll::new()?;
    listener.set_nonblocking(true)?;
    let mut listener_watch = Watch::listener(listener)?;
    poll.registry().register(&mut listener_watch, LISTENER, Interest::READABLE)?;
    let mut clients: HashMap<Token, Client> = HashMap::new();
    let mut next_token = 1usize;
    let mut events = Events::with_capacity(256);
    let mut last_housekeeping = std::time::Instant::now();
    while keep_going() {
        if let Err(e) = poll.poll(&mut events, Some(TICK)) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in &events {
            if event.token() == LISTENER {
                accept_all(inner, listener, &poll, &mut clients, &mut next_token);
                if let Err(e) = listener_watch.rearm(poll.registry(), LISTENER) {
                    log::warn!("cannot watch the listening socket again: {e}");
                    return Err(e);
                }
                continue;
            }
            let token = event.token();
            let Some(client) = clients.get_mut(&token) else { continue };
            // Edge-triggered: serve until the socket has nothing more or would block.
            if !client.serve(poll.registry(), token) {
                drop_client(&poll, &mut clients, token);
            }
        }
        let stalled: Vec<Token> =
            clients.iter().filter(|(_, c)| c.connection.send_stalled()).map(|(t, _)| *t).collect();
        for token in stalled {
            drop_client(&poll, &mut clients, token);
        }
        let idle: Vec<Token> = clients.iter().filter(|(_, c)| c.connection.idle_too_long()).map(|(t, _)| *t).collect();
        for token in idle {
            if let Some(client) = clients.get_mut(&token) {
                client.connection.time_out();
            }
            drop_client(&poll, &mut clients, token);
        }
        if last_housekeeping.elapsed() >= TICK {
            inner.housekeeping();
            last_housekeeping = std::time::Instant::now();
        }
    }
    inner.shutdown.store(true, Ordering::Release);
    let tokens: Vec<Token> = clients.keys().copied().collect();
    for token in tokens {
        drop_client(&poll, &mut clients, token);
    }
    let _ = poll.registry().deregister(&mut listener_watch);
    Ok(())
}

fn accept_all(
    inner: &Arc<Inner>,
    listener: &Listener,
    poll: &Poll,
    clients: &mut HashMap<Token, Client>,
    next_token: &mut usize,
) {
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
        if clients.len() >= inner.config.max_connections_multiplex {
            deny(inner, stream, "too many connections, increase max_connections_multiplex");
            continue;
        }
        if stream.set_nonblocking(true).is_err() {
            continue;
        }
        let token = Token(*next_token);
        *next_token = next_token.wrapping_add(1).max(1);
        let watched = Watch::stream(&stream)
            .and_then(|mut watch| poll.registry().register(&mut watch, token, Interest::READABLE).map(|()| watch));
        let watch = match watched {
            Ok(watch) => watch,
            Err(e) => {
                log::warn!("cannot watch a new connection: {e}");
                continue;
            }
        };
        let connection = ClientConnection::new(inner, stream, peer, true);
        clients.insert(token, Client { connection, watch, interest: Interest::READABLE });
    }
}

fn drop_client(poll: &Poll, clients: &mut HashMap<Token, Client>, token: Token) {
    if let Some(mut client) = clients.remove(&token) {
        let _ = poll.registry().deregister(&mut client.watch);
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
            let Stream::Tcp(stream) = stream;
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
