//! Pyro5's `servertypes` example: one `Server` for everyone (the `single` instance mode)
//! whose `delay` takes a second and answers the name of the thread that ran it, with a
//! oneway variant and a count of the calls completed. Asks, as Python's `server.py` does,
//! whether to serve on the thread server (`t`: a thread per connection, calls of several
//! connections at once) or the multiplexed one (anything else: every call in the main
//! thread, one after the other). Registered by name (`example.servertypes`) in the name
//! server.
//!
//! The thread names are Python's: `MainThread`, `oneway-call` for a oneway call's thread,
//! and `Pyro-Worker-<n>` for a connection's thread.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use pyro5_examples::{Class, serve};
use pyro5_std::config::ITEMS;
use pyro5_std::{Config, Daemon, InstanceMode, expose};

/// The name Python gives the thread that runs a call.
fn thread_name() -> String {
    let current = thread::current();
    match current.name() {
        Some("main") => "MainThread".to_string(),
        Some("pyro5-oneway") => "oneway-call".to_string(),
        _ => {
            let id = format!("{:?}", current.id());
            format!("Pyro-Worker-{}", id.trim_start_matches("ThreadId(").trim_end_matches(')'))
        }
    }
}

/// One server for everyone (`single` in Python); its calls run at the same time (each on a
/// clone sharing the count), as they do on Python's object under the thread server.
#[derive(Clone)]
struct Server {
    callcount: Arc<AtomicU64>,
    config: Arc<Config>,
}

#[expose]
impl Server {
    fn reset(&self) {
        self.callcount.store(0, Ordering::SeqCst);
    }

    /// The number of completed calls.
    fn getcount(&self) -> u64 {
        self.callcount.load(Ordering::SeqCst)
    }

    /// The server's configuration items (`SERVERTYPE` and the others), as text.
    fn getconfig(&self) -> BTreeMap<&'static str, String> {
        ITEMS.iter().map(|&name| (name, self.config.get(name).unwrap_or_default())).collect()
    }

    fn delay(&self) -> String {
        let name = thread_name();
        println!("delay called in thread {name}");
        thread::sleep(Duration::from_secs(1));
        self.callcount.fetch_add(1, Ordering::SeqCst);
        name
    }

    #[oneway]
    fn onewaydelay(&self) {
        println!("onewaydelay called in thread {}", thread_name());
        thread::sleep(Duration::from_secs(1));
        self.callcount.fetch_add(1, Ordering::SeqCst);
    }
}

fn main() -> pyro5_examples::Result {
    let mut config = Config::from_env()?;
    print!("Servertype threaded or multiplex (t/m)?");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    config.set("SERVERTYPE", if answer.trim_end_matches(['\r', '\n']) == "t" { "thread" } else { "multiplex" })?;
    let daemon = Daemon::with_config(&config)?;
    let server = Server { callcount: Arc::new(AtomicU64::new(0)), config: Arc::new(config) };
    serve(
        vec![Class::new("__main__.Server", InstanceMode::PerCall, move || server.clone(), "example.servertypes")],
        Some(daemon),
        true,
    )
}
