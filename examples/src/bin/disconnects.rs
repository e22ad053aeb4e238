//! Pyro5's `disconnects` example: a `TestDisconnect` per connection echoing its argument,
//! in a daemon that closes a connection idle for 5 seconds (`COMMTIMEOUT` 5.0). The
//! client's proxy pings before each call and reconnects when the ping finds the connection
//! closed. Served as `example.disconnect` in the daemon, without a name server; the client
//! asks for the URI.

use pyro5_examples::{Class, serve};
use pyro5_std::core::ser::value::Value;
use pyro5_std::{Config, Daemon, InstanceMode, expose};

struct TestDisconnect;

#[expose]
impl TestDisconnect {
    fn echo(&self, arg: Value) -> Value {
        match &arg {
            Value::Str(text) => println!("echo:  {text}"),
            other => println!("echo:  {other:?}"),
        }
        arg
    }
}

fn main() -> pyro5_examples::Result {
    let mut config = Config::from_env()?;
    config.set("COMMTIMEOUT", "5.0")?;
    // Only used by the multiplexed server.
    config.set("POLLTIMEOUT", "5.0")?;
    let daemon = Daemon::with_config(&config)?;
    serve(
        vec![Class::new("__main__.TestDisconnect", InstanceMode::Session, || TestDisconnect, "example.disconnect")],
        Some(daemon),
        false,
    )
}
