//! Combining daemons in one loop (Pyro's "Combining Daemon request loops" and its
//! `eventloop` example): a name server on one daemon and an application object (the echo
//! server, registered in that name server) on another, both served by one mio loop in one
//! thread. `cargo run -p pyro5-std --example own_loop_nameserver` prints the name server's
//! URI; Python finds the object through it:
//! `Pyro5.api.Proxy(Pyro5.api.Proxy(ns_uri).lookup("example.eventloop.echo")).echo("hi")`.
//! Unix only (it watches raw descriptors).
//!
//! Each daemon's listening socket is watched through its descriptor (`Daemon: AsRawFd`);
//! a client of either is a `DaemonConnection` of its daemon, pumped the same way. The loop
//! is `common/own_loop.rs`, shared with `own_loop_udp`.

/// The name the echo object is registered under.
pub const ECHO_NAME: &str = "example.eventloop.echo";

#[cfg(unix)]
#[path = "common/own_loop.rs"]
mod own_loop;

/// Serve every daemon of `daemons` in one loop until `stop`: their listening sockets are
/// tokens `0..daemons.len()`, their clients the tokens after.
///
/// # Errors
/// The poll's or a listening socket's error.
#[cfg(unix)]
pub fn serve(daemons: &[&pyro5_std::Daemon], stop: &std::sync::atomic::AtomicBool) -> std::io::Result<()> {
    own_loop::serve(daemons, mio::Poll::new()?, daemons.len(), stop, |_| {})
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
