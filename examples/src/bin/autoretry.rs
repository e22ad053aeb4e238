//! Pyro5's `autoretry` example: a `CalcServer` per connection whose daemon closes a
//! connection idle for half a second (`COMMTIMEOUT` 0.5), so that the client's call after a
//! pause finds its connection gone: an error without retries, a transparent reconnect with
//! `_pyroMaxRetries`. Registered by name (`example.autoretry`) in the name server.

use pyro5_examples::{Class, serve};
use pyro5_std::{Config, Daemon, InstanceMode, expose};

struct CalcServer;

#[expose]
impl CalcServer {
    fn add(&self, num1: i64, num2: i64) -> i64 {
        println!("calling add: {num1}, {num2}");
        num1 + num2
    }
}

fn main() -> pyro5_examples::Result {
    let mut config = Config::from_env()?;
    // The server should time out easily now.
    config.set("COMMTIMEOUT", "0.5")?;
    let daemon = Daemon::with_config(&config)?;
    serve(
        vec![Class::new("__main__.CalcServer", InstanceMode::Session, || CalcServer, "example.autoretry")],
        Some(daemon),
        true,
    )
}
