//! A Pyro server: `cargo run -p pyro5-std --example server [-- PORT] [--ns]` serves a greeter
//! as `PYRO:example.greeter@localhost:9999` (with `--ns`: under a generated id, and by name in
//! the name server). Python calls it as `Pyro5.api.Proxy(uri).greet("Python")`.

use pyro5_std::{ServeError, ServeOptions, expose, serve};

struct Greeter;

#[expose]
impl Greeter {
    fn greet(&self, name: String) -> String {
        format!("Hello, {name}!")
    }
}

fn main() -> Result<(), ServeError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = args.iter().find_map(|a| a.parse().ok()).unwrap_or(9999);
    let use_ns = args.iter().any(|a| a == "--ns");
    serve([(Greeter, "example.greeter")], ServeOptions { port, use_ns, ..ServeOptions::default() })
}
