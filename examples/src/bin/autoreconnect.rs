//! Pyro5's `autoreconnect` example: a `TestClass` whose `method` takes a second, served so
//! that a client can reconnect after the server was stopped and started again.
//! - `autoreconnect` (`server.py`): port 7777 and the fixed object id
//!   `example.autoreconnect_fixed_objectid`, so the client's `PYRO:` URI stays valid;
//! - `autoreconnect --ns` (`serverNS.py`): registered as `example.autoreconnect` in the name
//!   server; started again, it takes the port and object id of that registration back.

use std::thread;
use std::time::Duration;

use pyro5_std::core::uri::Uri;
use pyro5_std::locate::locate_ns;
use pyro5_std::{Config, Daemon, DaemonConfig, InstanceMode, expose};

struct TestClass;

#[expose]
impl TestClass {
    fn method(&self, arg: i64) {
        println!("Method called with {arg}");
        println!("You can now try to stop this server with ctrl-C/ctrl-Break");
        thread::sleep(Duration::from_secs(1));
    }
}

/// A daemon on `port` (0: a free one), with Pyro's configuration from the environment.
fn daemon_on(port: u16) -> pyro5_examples::Result<Daemon> {
    let config = DaemonConfig { port, ..DaemonConfig::from(&Config::from_env()?) };
    Ok(Daemon::new(config)?)
}

/// `server.py`: a fixed port and object id.
fn fixed() -> pyro5_examples::Result<Daemon> {
    println!("Autoreconnect using PYRO uri.");
    let daemon = daemon_on(7777)?;
    let uri =
        daemon.register_class(InstanceMode::Session, || TestClass, Some("example.autoreconnect_fixed_objectid"))?;
    println!("Server started, uri: {uri}");
    Ok(daemon)
}

/// `serverNS.py`: the port and object id of the name server's registration, or new ones.
fn by_name() -> pyro5_examples::Result<Daemon> {
    println!("Autoreconnect using Name Server.");
    let mut ns = locate_ns(None, None)?;
    let daemon = match ns.lookup("example.autoreconnect") {
        Ok(existing) => {
            let uri = Uri::parse(&existing)?;
            let port = uri.port().and_then(|p| u16::try_from(p).ok()).ok_or("the registration has no TCP port")?;
            println!("Object still exists in Name Server with id: {}", uri.object());
            println!("Previous daemon socket port: {port}");
            let daemon = daemon_on(port)?;
            daemon.register_class(InstanceMode::Session, || TestClass, Some(uri.object()))?;
            daemon
        }
        Err(_) => {
            println!("There was no previous registration in the name server.");
            let daemon = daemon_on(0)?;
            let uri = daemon.register_class(InstanceMode::Session, || TestClass, None)?;
            ns.register("example.autoreconnect", &uri, false)?;
            daemon
        }
    };
    println!("Server started.");
    Ok(daemon)
}

fn main() -> pyro5_examples::Result {
    let daemon = if std::env::args().any(|a| a == "--ns") { by_name()? } else { fixed()? };
    daemon.request_loop()?;
    Ok(())
}
