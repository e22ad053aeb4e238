//! Python's test echo server on the tokio daemon: `cargo run -p pyro5-tokio --example
//! echoserver [-- PORT] [--blocking]` serves `test.echoserver` on localhost (a free port by
//! default) and prints `echo uri: ...` as `python -m Pyro5.utils.echoserver` does; calls run
//! inline, or with `--blocking` on tokio's blocking pool. The echo object's `shutdown()`
//! stops it gracefully. (`pyro5-echoserver --servertype tokio`, in `pyro5-tools`, serves it
//! the same way, calls on the blocking pool, with the rest of the echo server's options.)

use std::sync::atomic::Ordering;
use std::time::Duration;

use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::{Config, DaemonConfig};
use pyro5_tokio::{Calls, Daemon};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = args.iter().find_map(|a| a.parse().ok()).unwrap_or(0);
    let calls = if args.iter().any(|a| a == "--blocking") { Calls::Blocking } else { Calls::Inline };
    let config = DaemonConfig { port, ..DaemonConfig::from(&Config::from_env()?) };
    let daemon = Daemon::bind(config)?.with_calls(calls);
    let echo = EchoServer::new();
    let stop = echo.shutdown_flag();
    let uri = daemon.register_concurrent(echo, Some(OBJECT_ID))?;
    println!("echo uri: {uri}");
    let watcher = daemon.clone();
    tokio::spawn(async move {
        while !stop.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        watcher.shutdown();
    });
    daemon.serve().await?;
    Ok(())
}
