//! Pyro5's `unixdomainsock` example: a `Thingy` per connection served on a Unix domain
//! socket as `example.unixsock`. The client asks for the URI printed.
//!
//! - `server.py` (no argument): the socket is the file `example_unix.sock` in the current
//!   directory (removed first if it is there), `PYRO:example.unixsock@./u:example_unix.sock`.
//! - `abstract_namespace_server.py` (`--abstract`, Linux only): the socket is
//!   `\0example_unix.sock` in the abstract namespace (no file). The URI holds that NUL
//!   byte; it is printed as Python's `repr` shows it, `\x00`, which the client turns back.

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
    let in_abstract_namespace = std::env::args().nth(1).is_some_and(|a| a == "--abstract");
    let mut config = DaemonConfig::from(&Config::from_env()?);
    if in_abstract_namespace {
        // Notice the NUL byte at the start.
        config.unix_socket = Some(PathBuf::from(format!("\0{SOCKET}")));
    } else {
        if std::fs::exists(SOCKET)? {
            std::fs::remove_file(SOCKET)?;
        }
        config.unix_socket = Some(PathBuf::from(SOCKET));
    }
    let daemon = Daemon::new(config)?;
    let uri = daemon.register_class(InstanceMode::Session, || Thingy, Some("example.unixsock"))?;
    println!("Server running, uri= {uri}");
    if in_abstract_namespace {
        println!("Actually, the uri contains a 0-byte, make sure you copy the part between the quotes to the client:");
        println!("'{}'", uri.to_string().replace('\0', "\\x00"));
    }
    daemon.request_loop()?;
    Ok(())
}
