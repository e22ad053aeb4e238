//! Combining daemons in one loop (Pyro's "Combining Daemon request loops" and its
//! `eventloop` example): a name server on one daemon and an application object (the echo
//! server, registered in that name server) on another, both served by one mio loop in one
//! thread. `cargo run -p pyro5-std --example own_loop_nameserver` prints the name server's
//! URI; Python finds the object through it:
//! `Pyro5.api.Proxy(Pyro5.api.Proxy(ns_uri).lookup("example.eventloop.echo")).echo("hi")`.
//! Unix only (it watches raw descriptors).
//!
//! Each daemon's listening socket is watched through its descriptor (`Daemon: AsRawFd`);
//! a client of either is a `DaemonConnection` of its daemon, pumped the same way.

#[cfg(unix)]
pub use own_loop::serve;

/// The name the echo object is registered under.
pub const ECHO_NAME: &str = "example.eventloop.echo";

#[cfg(unix)]
mod own_loop {
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

    /// Serve every daemon of `daemons` in one loop until `stop`: their listening sockets are
    /// tokens `0..daemons.len()`, their clients the tokens after.
    ///
    /// # Errors
    /// The poll's or a listening socket's error.
    pub fn serve(daemons: &[&Daemon], stop: &AtomicBool) -> io::Result<()> {
        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(256);
        for (i, daemon) in daemons.iter().enumerate() {
            poll.registry().register(&mut SourceFd(&daemon.as_raw_fd()), Token(i), Interest::READABLE)?;
        }
        let mut clients: HashMap<Token, (Stream, DaemonConnection)> = HashMap::new();
        let mut next_token = daemons.len();
        for daemon in daemons {
            accept(daemon, &poll, &mut clients, &mut next_token)?;
        }
        while !stop.load(Ordering::Acquire) {
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
                }
            }
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
                continue;
            }
            let token = Token(*next_token);
            *next_token += 1;
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
}

#[cfg(unix)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use pyro5_std::echo::EchoServer;
    use pyro5_std::naming::NameServer;
    let ns_daemon = pyro5_std::Daemon::bind_default()?;
    let nameserver = NameServer::new();
    let ns_uri = nameserver.serve(&ns_daemon)?;
    let daemon = pyro5_std::Daemon::bind_default()?;
    let uri = daemon.register_concurrent(EchoServer::new(), None)?;
    nameserver.register(ECHO_NAME, &uri, false, None)?;
    println!("name server uri: {ns_uri}");
    println!("{ECHO_NAME}: {uri}");
    serve(&[&ns_daemon, &daemon], &std::sync::atomic::AtomicBool::new(false))?;
    Ok(())
}

#[cfg(not(unix))]
fn main() {
    eprintln!("this example watches raw descriptors: Unix only");
}
