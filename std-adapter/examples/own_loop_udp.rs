//! Pyro in your own event loop (Pyro's "Integrating Pyro in your own event loop"): one mio
//! loop, one thread, serving a Pyro daemon (the echo server) beside an unrelated service of
//! its own, a UDP echo. `cargo run -p pyro5-std --example own_loop_udp` prints both
//! addresses; Python calls `Pyro5.api.Proxy(uri).echo("hi")` while, say,
//! `nc -u 127.0.0.1 PORT` gets its datagrams back. Unix only (it watches raw descriptors).
//!
//! The loop owns the sockets and the waiting; the daemon's listening socket is watched
//! through its descriptor (`Daemon: AsRawFd`), clients come from `Daemon::accept`, and each
//! client's `DaemonConnection` says what to write, when it reads, and when it times out.

#[cfg(unix)]
pub use own_loop::serve;

#[cfg(unix)]
mod own_loop {
    use std::collections::HashMap;
    use std::io::{self, Read, Write};
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use mio::net::UdpSocket;
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};
    use pyro5_std::{Daemon, DaemonConnection, Stream};

    const LISTENER: Token = Token(0);
    const UDP: Token = Token(1);

    /// How often the loop looks at `stop` when nothing else happens.
    const STOP_CHECK: Duration = Duration::from_millis(100);

    /// Serve `daemon` and echo every datagram `udp` receives, in one loop, until `stop`.
    ///
    /// # Errors
    /// The poll's or a listening socket's error.
    pub fn serve(daemon: &Daemon, udp: std::net::UdpSocket, stop: &AtomicBool) -> io::Result<()> {
        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(256);
        poll.registry().register(&mut SourceFd(&daemon.as_raw_fd()), LISTENER, Interest::READABLE)?;
        udp.set_nonblocking(true)?;
        let mut udp = UdpSocket::from_std(udp);
        poll.registry().register(&mut udp, UDP, Interest::READABLE)?;
        // Start with whatever waits already (mio's poll is edge-triggered).
        let mut clients: HashMap<Token, (Stream, DaemonConnection)> = HashMap::new();
        let mut next_token = 2;
        accept(daemon, &poll, &mut clients, &mut next_token)?;
        while !stop.load(Ordering::Acquire) {
            // Wait for the sockets, at most until the earliest deadline of the daemon (its
            // item streams) and of its connections (idle and send timeouts, refusals).
            let deadlines = clients.values().filter_map(|(_, c)| c.poll_timeout()).chain(daemon.poll_timeout());
            let wake = deadlines.fold(Instant::now() + STOP_CHECK, Instant::min);
            if let Err(e) = poll.poll(&mut events, Some(wake.saturating_duration_since(Instant::now()))) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in &events {
                match event.token() {
                    LISTENER => accept(daemon, &poll, &mut clients, &mut next_token)?,
                    UDP => echo_datagrams(&udp),
                    token => {
                        if let Some((stream, connection)) = clients.get_mut(&token) {
                            pump(stream, connection);
                        }
                    }
                }
            }
            // Deadlines: each connection acts on its own (closing an idle client, telling a
            // silent one "receiving: timeout"), the daemon drops expired item streams.
            let now = Instant::now();
            for (stream, connection) in clients.values_mut() {
                if connection.poll_timeout().is_some_and(|t| t <= now) {
                    connection.handle_timeout();
                    pump(stream, connection);
                }
            }
            if daemon.poll_timeout().is_some_and(|t| t <= now) {
                daemon.handle_timeout();
            }
            clients.retain(|_, (stream, connection)| {
                if connection.is_closed() {
                    let _ = poll.registry().deregister(&mut SourceFd(&stream.as_raw_fd()));
                }
                !connection.is_closed()
            });
        }
        // Dropping the connections closes them; the daemon drops its item streams.
        clients.clear();
        daemon.close();
        Ok(())
    }

    /// Take every client waiting on the daemon's listening socket.
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

    /// The other service: every datagram back to its sender.
    fn echo_datagrams(udp: &UdpSocket) {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&buf[..n], from);
        }
    }
}

#[cfg(unix)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use pyro5_std::echo::{EchoServer, OBJECT_ID};
    let daemon = pyro5_std::Daemon::bind_default()?;
    let uri = daemon.register_concurrent(EchoServer::new(), Some(OBJECT_ID))?;
    let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
    println!("echo uri: {uri}");
    println!("udp echo: {}", udp.local_addr()?);
    serve(&daemon, udp, &std::sync::atomic::AtomicBool::new(false))?;
    Ok(())
}

#[cfg(not(unix))]
fn main() {
    eprintln!("this example watches raw descriptors: Unix only");
}
