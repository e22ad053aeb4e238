//! Pyro in your own event loop (Pyro's "Integrating Pyro in your own event loop"): one mio
//! loop, one thread, serving a Pyro daemon (the echo server) beside an unrelated service of
//! its own, a UDP echo. `cargo run -p pyro5-std --example own_loop_udp` prints both
//! addresses; Python calls `Pyro5.api.Proxy(uri).echo("hi")` while, say,
//! `nc -u 127.0.0.1 PORT` gets its datagrams back. Unix only (it watches raw descriptors).
//!
//! The loop owns the sockets and the waiting; the daemon's listening socket is watched
//! through its descriptor (`Daemon: AsRawFd`), clients come from `Daemon::accept`, and each
//! client's `DaemonConnection` says what to write, when it reads, and when it times out.
//! That part is `common/own_loop.rs` (shared with `own_loop_nameserver`); this file adds
//! the UDP socket to the loop and answers its events.

#[cfg(unix)]
#[path = "common/own_loop.rs"]
mod own_loop;

/// Serve `daemon` and echo every datagram `udp` receives, in one loop, until `stop`.
///
/// # Errors
/// The poll's or a socket's error.
#[cfg(unix)]
pub fn serve(
    daemon: &pyro5_std::Daemon,
    udp: std::net::UdpSocket,
    stop: &std::sync::atomic::AtomicBool,
) -> std::io::Result<()> {
    use mio::{Interest, Poll, Token};
    // The daemon's listening socket is token 0, its clients come after the UDP socket.
    const UDP: Token = Token(1);
    let poll = Poll::new()?;
    udp.set_nonblocking(true)?;
    let mut udp = mio::net::UdpSocket::from_std(udp);
    poll.registry().register(&mut udp, UDP, Interest::READABLE)?;
    own_loop::serve(&[daemon], poll, UDP.0 + 1, stop, |token| {
        if token == UDP {
            echo_datagrams(&udp);
        }
    })
}

/// The other service: every datagram back to its sender.
#[cfg(unix)]
fn echo_datagrams(udp: &mio::net::UdpSocket) {
    let mut buf = [0u8; 2048];
    while let Ok((n, from)) = udp.recv_from(&mut buf) {
        let _ = udp.send_to(&buf[..n], from);
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
