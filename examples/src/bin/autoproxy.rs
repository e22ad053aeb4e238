//! Pyro5's `autoproxy` example: a `Factory` per client connection whose `createSomething`
//! makes a `Thingy`, registers it in the daemon and returns it, so that it reaches the
//! client as a proxy to the object in the server (Pyro's autoproxy). Served as
//! `example.autoproxy` in the daemon, without a name server; the client asks for the URI.

use pyro5_examples::{Class, daemon, object_id, register_proxy, serve};
use pyro5_std::core::server::PyException;
use pyro5_std::{Daemon, InstanceMode, ObjectProxy, expose};

struct Thingy {
    number: i64,
}

#[expose(class = "thingy.Thingy")]
impl Thingy {
    fn speak(&self, message: &str) {
        println!("Thingy {} says: {message}", self.number);
    }
}

struct Factory {
    daemon: Daemon,
}

#[expose]
impl Factory {
    /// A new `Thingy`, registered in the daemon: the caller gets a proxy to it.
    #[pyro5(name = "createSomething")]
    fn create_something(&self, number: i64) -> Result<ObjectProxy, PyException<String>> {
        register_proxy(&self.daemon, Thingy { number }, &object_id())
    }
}

fn main() -> pyro5_examples::Result {
    let daemon = daemon()?;
    let handle = daemon.clone();
    let factory = move || Factory { daemon: handle.clone() };
    serve(
        vec![Class::new("__main__.Factory", InstanceMode::Session, factory, "example.autoproxy")],
        Some(daemon),
        false,
    )
}
