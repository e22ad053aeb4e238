//! Pyro5's `circular` example: a chain of servers, each a `Chain` link registered in the
//! name server as `example.chain.<name>`, that passes a message (a list of names) on to the
//! next link until it comes back to one it already went through. One binary for the three
//! servers of the example, the link named by its argument: `A` (`servA.py`, passing to
//! `B`), `B` (`servB.py`, to `C`) or `C` (`servC.py`, to `A`).
//!
//! A link's `process` calls the next link while its own call is still running, and the
//! circle calls it again before that ends: the link is registered as concurrent clones
//! (sharing the proxy to the next link), so that the second call runs beside the first.

use std::sync::{Arc, OnceLock};

use pyro5_examples::daemon;
use pyro5_std::locate::locate_ns;
use pyro5_std::{Proxy, Reraise, expose};

#[derive(Clone)]
struct Chain {
    name: &'static str,
    next_name: &'static str,
    next: Arc<OnceLock<Proxy>>,
}

#[expose(class = "chain.Chain")]
impl Chain {
    fn process(&self, mut message: Vec<String>) -> Result<Vec<String>, Reraise> {
        let next = match self.next.get() {
            Some(next) => next,
            None => {
                let proxy = Proxy::new(&format!("PYRONAME:example.chain.{}", self.next_name)).map_err(Reraise)?;
                self.next.get_or_init(|| proxy)
            }
        };
        if message.iter().any(|name| name == self.name) {
            println!("Back at {}; we completed the circle!", self.name);
            return Ok(vec![format!("complete at {}", self.name)]);
        }
        println!("I'm {}, passing to {}", self.name, self.next_name);
        message.push(self.name.to_string());
        let mut result: Vec<String> = next.call("process", (message,)).map_err(Reraise)?;
        result.insert(0, format!("passed on from {}", self.name));
        Ok(result)
    }
}

fn main() -> pyro5_examples::Result {
    let (name, next_name) = match std::env::args().nth(1).as_deref() {
        Some("A") => ("A", "B"),
        Some("B") => ("B", "C"),
        Some("C") => ("C", "A"),
        _ => return Err("usage: circular A|B|C (the link this server is)".into()),
    };
    let daemon = daemon()?;
    let link = Chain { name, next_name, next: Arc::default() };
    let uri = daemon.register_concurrent(link, None)?;
    locate_ns(None, None)?.register(&format!("example.chain.{name}"), &uri, false)?;
    println!("Server started {name}");
    daemon.request_loop()?;
    Ok(())
}
