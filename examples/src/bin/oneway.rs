//! Pyro5's `oneway` example, both of its servers in one daemon:
//! - `example.oneway` (`server.py`): a `Server` per connection whose oneway methods start
//!   work that goes on after the call returned (`ready()` tells when it is done);
//! - `example.oneway2` (`server2.py`): one counter for everyone, incremented slowly by
//!   normal and by oneway calls, which run while other calls are served.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use pyro5_examples::{Class, serve};
use pyro5_std::{InstanceMode, expose};

struct Server {
    busy: Arc<AtomicBool>,
}

#[expose]
impl Server {
    /// Counts `duration` seconds down in the background.
    #[oneway]
    fn oneway_start(&self, duration: u64) {
        println!("start request received. Starting work...");
        self.busy.store(true, Ordering::SeqCst);
        let busy = Arc::clone(&self.busy);
        thread::spawn(move || {
            for i in 0..duration {
                thread::sleep(Duration::from_secs(1));
                println!("{}", duration - i);
            }
            println!("work is done!");
            busy.store(false, Ordering::SeqCst);
        });
    }

    fn ready(&self) -> bool {
        let ready = !self.busy.load(Ordering::SeqCst);
        println!("ready status requested ({})", if ready { "True" } else { "False" });
        ready
    }

    fn result(&self) -> &'static str {
        "The result :)"
    }

    fn nothing(&self) {
        println!("nothing got called, doing nothing");
    }

    /// Ten seconds of work in the background.
    #[oneway]
    fn oneway_work(&self) {
        thread::spawn(|| {
            for i in 0..10 {
                println!("work work.. {}", i + 1);
                thread::sleep(Duration::from_secs(1));
            }
            println!("work's done!");
        });
    }
}

/// One counter shared by every call (`single` in Python); calls run at the same time, each
/// on its own clone.
#[derive(Clone, Default)]
struct Counter {
    counter: Arc<AtomicU64>,
}

#[expose(class = "Server")]
impl Counter {
    #[oneway]
    fn increment_oneway(&self) {
        println!("oneway call executing in thread {:?}", thread::current().id());
        thread::sleep(Duration::from_millis(500));
        self.counter.fetch_add(1, Ordering::SeqCst);
    }

    fn increment(&self) {
        thread::sleep(Duration::from_millis(500));
        self.counter.fetch_add(1, Ordering::SeqCst);
    }

    fn getcount(&self) -> u64 {
        self.counter.load(Ordering::SeqCst)
    }
}

fn main() -> pyro5_examples::Result {
    println!("main thread: {:?}", thread::current().id());
    let counter = Counter::default();
    serve(
        vec![
            Class::new(
                "server.Server",
                InstanceMode::Session,
                || Server { busy: Arc::new(AtomicBool::new(false)) },
                "example.oneway",
            ),
            Class::new("__main__.Server", InstanceMode::PerCall, move || counter.clone(), "example.oneway2"),
        ],
        None,
        true,
    )
}
