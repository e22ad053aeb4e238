//! Pyro5's `timeout` example: a `TimeoutServer` whose `delay(n)` sleeps `n` seconds, served
//! by two daemons and registered in the name server by both (`example.timeout` and
//! `example.timeout.frozendaemon`); only the first daemon serves, so connecting to the
//! second one hangs and the client's timeout fires.

use std::thread;
use std::time::Duration;

use pyro5_std::locate::locate_ns;
use pyro5_std::{Config, Daemon, expose};

/// Calls run at the same time, as on Python's object: a call that a client gave up on goes
/// on sleeping without holding up the next one.
#[derive(Clone)]
struct TimeoutServer;

#[expose]
impl TimeoutServer {
    fn delay(&self, amount: u64) -> String {
        println!("sleeping {amount}");
        thread::sleep(Duration::from_secs(amount));
        println!("done.");
        format!("slept {amount} seconds")
    }
}

fn main() -> pyro5_examples::Result {
    let mut config = Config::from_env()?;
    // The server uses no timeouts.
    config.commtimeout = 0.0;
    let mut ns = locate_ns(None, None)?;
    let daemon = Daemon::with_config(&config)?;
    let frozen = Daemon::with_config(&config)?;
    let uri = daemon.register_concurrent(TimeoutServer, None)?;
    let uri2 = frozen.register_concurrent(TimeoutServer, None)?;
    ns.register("example.timeout", &uri, false)?;
    ns.register("example.timeout.frozendaemon", &uri2, false)?;
    println!("Server ready.");
    // Only the first daemon runs its loop; the second one's socket accepts no calls.
    daemon.request_loop()?;
    drop(frozen);
    Ok(())
}
