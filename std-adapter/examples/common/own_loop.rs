//! The part of an own mio loop that serves Pyro daemons, shared by the `own_loop_*`
//! examples: each daemon's listening socket is watched through its descriptor
//! (`Daemon: AsRawFd`), clients come from `Daemon::accept`, and each client's
//! `DaemonConnection` says what to write, when it reads, and when it times out. The
//! example keeps the tokens between the daemons' and the clients' for its own sockets.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use pyro5_std::{Daemon, DaemonConnection, Stream};

/// How often the loop looks at `stop` when nothing else happens.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Serve every daemon of `daemons` in one loop on `poll` until `stop`. Their listening
/// sockets are tokens `0..daemons.len()`, their clients tokens from `first_client` on; an
/// event on any other token (one the caller registered on `poll` in between) goes to
/// `other`.
///
/// # Errors
/// The poll's or a listening socket's error.
pub fn serve(
    daemons: &[&Daemon],
    mut poll: Poll,
    first_client: usize,
    stop: &AtomicBool,
    mut other: impl FnMut(Token),
) -> io::Result<()> {
    debug_assert!(first_client >= daemons.len());
    let mut events = Events::with_capacity(256);
    for (i, daemon) in daemons.iter().enumerate() {
        poll.registry().register(&mut SourceFd(&daemon.as_raw_fd()), Token(i), Interest::READABLE)?;
    }
    // Start with whatever waits already (mio's poll is edge-triggered).
    let mut clients: HashMap<Token, (Stream, DaemonConnection)> = HashMap::new();
    let mut next_token = first_client;
    for daemon in daemons {
        accept(daemon, &poll, &mut clients, &mut next_token)?;
    }
    while !stop.load(Ordering::Acquire) {
        // Wait for the sockets, at most until the earliest deadline of the daemons (their
        // item streams) and of their connections (idle and send timeouts, refusals).
        let deadlines = clients
            .values()
            .filter_map(|(_, c)| c.poll_timeout())
            .chain(daemons.iter().filter_map(|d| d.poll_timeout()));
        let wake = deadlines.fold(Instant::now() + STOP_CHECK, Instant::min);
        if let Err(e) = poll.poll(&mut events, Some(wake.saturating_duration_since(Instant::now()))) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in &events {
            let token = event.token();
            if let Some(daemon) = daemons.get(token.0) {
                accept(daemon, &poll, &mut clients, &mut next_token)?;
            } else if let Some((stream, connection)) = clients.get_mut(&token) {
                pump(stream, connection);
            } else if token.0 < first_client {
                other(token);
            }
        }
        // Deadlines: each connection acts on its own (closing an idle client, telling a
        // silent one "receiving: timeout"), the daemons drop expired item streams.
        let now = Instant::now();
        for (stream, connection) in clients.values_mut() {
            if connection.poll_timeout().is_some_and(|t| t <= now) {
                connection.handle_timeout();
                pump(stream, connection);
            }
        }
        for daemon in daemons {
            if daemon.poll_timeout().is_some_and(|t| t <= now) {
                daemon.handle_timeout();
            }
        }
        clients.retain(|_, (stream, connection)| {
            if connection.is_closed() {
                let _ = poll.registry().deregister(&mut SourceFd(&stream.as_raw_fd()));
            }
            !connection.is_closed()
        });
    }
    // Dropping the connections closes them; the daemons drop their item streams.
    clients.clear();
    for daemon in daemons {
        daemon.close();
    }
    Ok(())
}

/// Take every client waiting on `daemon`'s listening socket.
fn accept(
    daemon: &Daemon,
    poll: &Poll,
    clients: &mut HashMap<Token, (Stream, DaemonConnection)>,
    next_token: &mut usize,
) -> io::Result<()> {
    while let Some((stream, mut connection)) = daemon.accept()? {
        if connection.is_closed() {
            // Past the daemon's limits and its refusals: not even told.
            continue;
        }
        let token = Token(*next_token);
        *next_token += 1;
        // Edge-triggered, both directions once: a client is pumped on any readiness.
        let interest = Interest::READABLE.add(Interest::WRITABLE);
        poll.registry().register(&mut SourceFd(&stream.as_raw_fd()), token, interest)?;
        pump(&stream, &mut connection);
        clients.insert(token, (stream, connection));
    }
    Ok(())
}

/// Move a client's bytes until its socket would block (or it is over).
fn pump(stream: &Stream, connection: &mut DaemonConnection) {
    let mut socket = stream;
    loop {
        connection.serve_ready();
        while !connection.tx_pending().is_empty() {
            match socket.write(connection.tx_pending()) {
                Ok(0) => connection.commit(0),
                Ok(n) => connection.tx_advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => connection.commit(0),
            }
        }
        if connection.is_closed() {
            return;
        }
        let buf = connection.read_buf();
        if buf.is_empty() {
            // A request waits to be served first.
            continue;
        }
        match socket.read(buf) {
            Ok(n) => connection.commit(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => connection.commit(0),
        }
    }
}
