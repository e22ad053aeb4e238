//! Our echo server (`pyro5_std::echo::EchoServer`) served by a daemon in a thread, for the
//! tests that need a Rust Pyro server to call: stopped when dropped.

use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use pyro5_std::echo::EchoServer;
use pyro5_std::{Daemon, DaemonConfig};

/// An echo server daemon running in a thread until dropped (or until a client calls its
/// `shutdown()`).
#[derive(Debug)]
pub struct EchoDaemon {
    /// The daemon.
    pub daemon: Daemon,
    /// The echo object's URI.
    pub uri: String,
    /// The thread running the request loop; it ends after the object's `shutdown()`.
    pub thread: Option<JoinHandle<()>>,
}

impl EchoDaemon {
    /// Serve the echo object as `object_id` (its `slow()` taking `slow`) on a daemon made
    /// from `config`.
    ///
    /// # Panics
    /// When the daemon cannot bind or register.
    pub fn start(config: DaemonConfig, object_id: &str, slow: Option<Duration>) -> Self {
        let daemon = Daemon::new(config).expect("bind");
        let mut echo = EchoServer::new();
        if let Some(slow) = slow {
            echo = echo.with_slow_delay(slow);
        }
        let stop = echo.shutdown_flag();
        let uri = daemon.register_concurrent(echo, Some(object_id)).expect("register");
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || {
            serving.request_loop_while(|| !stop.load(Ordering::Acquire)).expect("request loop");
        });
        Self { daemon, uri, thread: Some(thread) }
    }

    /// [`start`](Self::start) on 127.0.0.1, any port.
    pub fn on_localhost(object_id: &str, slow: Option<Duration>) -> Self {
        Self::start(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }, object_id, slow)
    }
}

impl Drop for EchoDaemon {
    fn drop(&mut self) {
        self.daemon.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
