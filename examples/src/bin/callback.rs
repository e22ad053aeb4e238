//! Pyro5's `callback` example, both of its servers in one daemon:
//! - `example.callback` (`server.py`): a `CallbackServer` per connection whose `addworker`
//!   takes the client's callback object (a proxy) and returns a new `Worker`, registered in
//!   the daemon (so the client gets a proxy to it). The worker's oneway `work` sleeps the
//!   seconds asked, unregisters the worker and calls the callback's `done` with its number;
//! - `example.callback2` (`server2.py`): a `CallbackServer` whose oneway `doCallback` calls
//!   the client's callback object twice; both callbacks raise, and the server prints the
//!   remote traceback each time.

use std::thread;
use std::time::Duration;

use pyro5_examples::{Class, daemon, object_id, register_proxy, serve};
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::server::PyException;
use pyro5_std::{Daemon, InstanceMode, ObjectProxy, Proxy, ProxyError, Reraise, expose};

struct Worker {
    number: u64,
    callback: Proxy,
    daemon: Daemon,
    id: String,
}

#[expose(class = "server.Worker")]
impl Worker {
    /// `amount` seconds of work, then the worker is gone and the callback told.
    #[oneway]
    fn work(&self, amount: u64) -> Result<(), Reraise> {
        println!("Worker {} busy...", self.number);
        thread::sleep(Duration::from_secs(amount));
        println!("Worker {} done. Informing callback client.", self.number);
        // Unregistering the object whose call this is: the call goes on, later calls fail.
        let _ = self.daemon.unregister(&self.id);
        self.callback.claim_ownership();
        self.callback.call::<(), _>("done", (self.number,))?;
        Ok(())
    }
}

struct CallbackServer {
    number: u64,
    daemon: Daemon,
}

#[expose]
impl CallbackServer {
    /// A new worker that will call `callback` back; the caller gets a proxy to it.
    fn addworker(&mut self, callback: Proxy) -> Result<ObjectProxy, PyException<String>> {
        self.number += 1;
        println!("server: adding worker {}", self.number);
        let id = object_id();
        let worker = Worker { number: self.number, callback, daemon: self.daemon.clone(), id: id.clone() };
        println!("Worker {} created", self.number);
        register_proxy(&self.daemon, worker, &id)
    }
}

/// What Python's `"".join(Pyro5.errors.get_pyro_traceback())` shows of a failed call: the
/// remote traceback in Pyro's frame (the local part is this Rust program's, not shown).
fn pyro_traceback(error: &ProxyError) -> String {
    let ProxyError::Remote(remote) = error else { return error.to_string() };
    let mut text = String::from(" +--- This exception occurred remotely (Pyro) - Remote traceback:");
    for line in remote.traceback_text().trim_end_matches('\n').split('\n') {
        text.push_str("\n | ");
        text.push_str(line);
    }
    text.push_str("\n +--- End of remote traceback\n");
    text
}

struct CallbackServer2;

#[expose(class = "CallbackServer")]
impl CallbackServer2 {
    /// Calls `callback.call1()` and `callback.call2()`, printing what they raise.
    #[oneway]
    #[pyro5(name = "doCallback")]
    fn do_callback(&self, callback: Proxy) {
        println!("\n\nserver: doing callback 1 to client");
        callback.claim_ownership();
        if let Err(e) = callback.call::<Value, _>("call1", ()) {
            println!("got an exception from the callback:");
            println!("{}", pyro_traceback(&e));
        }
        println!("\n\nserver: doing callback 2 to client");
        if let Err(e) = callback.call::<Value, _>("call2", ()) {
            println!("got an exception from the callback:");
            println!("{}", pyro_traceback(&e));
        }
        println!("server: callbacks done.\n");
    }
}

fn main() -> pyro5_examples::Result {
    let daemon = daemon()?;
    let handle = daemon.clone();
    let server = move || CallbackServer { number: 0, daemon: handle.clone() };
    serve(
        vec![
            Class::new("__main__.CallbackServer", InstanceMode::Session, server, "example.callback"),
            Class::new("__main__.CallbackServer", InstanceMode::Session, || CallbackServer2, "example.callback2"),
        ],
        Some(daemon),
        true,
    )
}
