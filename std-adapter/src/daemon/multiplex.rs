//! Pyro's "multiplex" server type: one thread serving every connection from a readiness
//! loop (mio). Oneway calls still run in their own threads, as in Pyro.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::connection::{ClientConnection, ReadOutcome, deny};
use super::{Inner, TICK};
use crate::transport::Listener;

const LISTENER: Token = Token(0);

pub(crate) fn serve(inner: &Arc<Inner>, listener: &Arc<Listener>, keep_going: &dyn Fn() -> bool) -> io::Result<()> {
    let mut poll = Poll::new()?;
    listener.set_nonblocking(true)?;
    let listener_fd = listener.raw_fd().as_raw_fd();
    poll.registry().register(&mut SourceFd(&listener_fd), LISTENER, Interest::READABLE)?;
    let mut clients: HashMap<Token, ClientConnection> = HashMap::new();
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
                continue;
            }
            let token = event.token();
            let Some(client) = clients.get_mut(&token) else { continue };
            // Edge-triggered: read until the socket has nothing more.
            let closed = loop {
                match client.read_once() {
                    ReadOutcome::Progress => {}
                    ReadOutcome::Idle => break false,
                    ReadOutcome::Closed => break true,
                }
            };
            if closed {
                drop_client(&poll, &mut clients, token);
            }
        }
        let idle: Vec<Token> = clients.iter().filter(|(_, c)| c.idle_too_long()).map(|(t, _)| *t).collect();
        for token in idle {
            if let Some(client) = clients.get_mut(&token) {
                client.time_out();
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
    let _ = poll.registry().deregister(&mut SourceFd(&listener_fd));
    Ok(())
}

fn accept_all(
    inner: &Arc<Inner>,
    listener: &Listener,
    poll: &Poll,
    clients: &mut HashMap<Token, ClientConnection>,
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
        let fd = stream.raw_fd().as_raw_fd();
        if let Err(e) = poll.registry().register(&mut SourceFd(&fd), token, Interest::READABLE) {
            log::warn!("cannot watch a new connection: {e}");
            continue;
        }
        let client = ClientConnection::new(inner, stream, peer, true);
        clients.insert(token, client);
    }
}

fn drop_client(poll: &Poll, clients: &mut HashMap<Token, ClientConnection>, token: Token) {
    if let Some(client) = clients.remove(&token) {
        let fd = client.stream.raw_fd().as_raw_fd();
        let _ = poll.registry().deregister(&mut SourceFd(&fd));
    }
}
