//! Pyro5's `unixdomainsock` example, `server.py`: a `Thingy` per connection served on a
//! Unix domain socket, `example_unix.sock` in the current directory (removed first if it
//! is there), as `example.unixsock`. The client asks for the URI printed,
//! `PYRO:example.unixsock@./u:example_unix.sock`.

use std::path::PathBuf;

use pyro5_std::{Config, Daemon, DaemonConfig, InstanceMode, expose};

/// The socket's path, relative to the current directory.
const SOCKET: &str = "example_unix.sock";

struct Thingy;

#[expose]
impl Thingy {
    fn message(&self, arg: &str) -> &'static str {
        println!("Message received: {arg}");
        "Roger!"
    }
}

fn main() -> pyro5_examples::Result {
    if std::fs::exists(SOCKET)? {
        std::fs::remove_file(SOCKET)?;
    }
    let mut config = DaemonConfig::from(&Config::from_env()?);
    config.unix_socket = Some(PathBuf::from(SOCKET));
    let daemon = Daemon::new(config)?;
    let uri = daemon.register_class(InstanceMode::Session, || Thingy, Some("example.unixsock"))?;
    println!("Server running, uri= {uri}");
    daemon.request_loop()?;
    Ok(())
}
