//! Call the server example (or any object with a `greet(name)` method):
//! `cargo run -p pyro5-std --example client [-- URI]`, by default
//! `PYRO:example.greeter@localhost:9999` (a `PYRONAME:` URI asks the name server).

use pyro5_std::{ProxyError, proxy};

#[proxy]
trait Greeter {
    fn greet(&mut self, name: &str) -> Result<String, ProxyError>;
}

fn main() -> Result<(), ProxyError> {
    let uri = std::env::args().nth(1).unwrap_or_else(|| "PYRO:example.greeter@localhost:9999".into());
    let mut greeter = GreeterProxy::new(&uri)?;
    println!("{}", greeter.greet("Rust")?);
    Ok(())
}
