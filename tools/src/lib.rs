//! `pyro5-tools`: Pyro5's command-line tools in Rust, each with the options and output of
//! the Python tool it stands for.
//!
//! | Program | Python's | What it does |
//! |---|---|---|
//! | `pyro5-echoserver` | `python -m Pyro5.utils.echoserver` | the test echo server (`-n`/`-N`: with a name server) |
//! | `pyro5-ns` | `python -m Pyro5.nameserver` | the name server (memory or `sql:file` storage, broadcast responder, autoclean) |
//! | `pyro5-nsc` | `python -m Pyro5.nsc` | name server commands (`list`, `lookup`, `register`, `remove`, `ping`, ...) |
//! | `pyro5-call` | | call any Pyro object from the shell, Python literals in and out |
//! | `pyro5-decode` | | decode Pyro wire messages given in hex |
//! | `pyro5-check-config` | `python -m Pyro5.configure` | the configuration the `PYRO_*` variables make |
//! | `pyro5-httpgateway` | `python -m Pyro5.utils.httpgateway` | Pyro objects called over HTTP with json answers ([`httpgateway`]) |
//!
//! Every tool reads the `PYRO_*` configuration as Python's do (see
//! [`pyro5_std::config::tool_setup`]). The two servers take `--servertype thread`,
//! `multiplex` (Python's two) or `tokio`: the same objects served by `pyro5-tokio`'s async
//! daemon on a multi-threaded runtime ([`ServerType`], [`serve`]).
//!
//! Running them from a checkout (or `cargo install pyro5-tools` and drop the `cargo run`
//! part):
//!
//! ```text
//! $ cargo run --release -p pyro5-tools --bin pyro5-echoserver -- -N --servertype tokio
//! Starting Pyro's built-in test echo server.
//! object name: test.echoserver
//! echo uri: PYRO:test.echoserver@localhost:36789
//! echoserver running.
//!
//! $ cargo run --release -p pyro5-tools --bin pyro5-call -- PYRONAME:test.echoserver echo --arg "[1, 'two']"
//! [1, 'two']
//! $ cargo run --release -p pyro5-tools --bin pyro5-nsc -- list
//! --------START LIST
//! Pyro.NameServer --> PYRO:Pyro.NameServer@localhost:9090
//!     metadata: {'class:Pyro5.nameserver.NameServer'}
//! test.echoserver --> PYRO:test.echoserver@localhost:36789
//! --------END LIST
//! ```
//!
//! The library part is what the two servers share: the server type option and the loop
//! that serves a daemon with it.
//!
//! ```
//! use pyro5_std::echo::EchoServer;
//! use pyro5_std::{Daemon, DaemonConfig};
//! use pyro5_tools::ServerType;
//!
//! let server_type: ServerType = "tokio".parse()?;
//! let config = server_type.daemon_config(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() });
//! let daemon = Daemon::new(config)?;
//! let echo = EchoServer::new();
//! let stop = echo.shutdown_flag();
//! daemon.register_concurrent(echo, Some("test.echoserver"))?;
//! // A client calling `shutdown()` on the echo object sets the flag; here we do.
//! stop.store(true, std::sync::atomic::Ordering::Release);
//! pyro5_tools::serve(&daemon, server_type, move || !stop.load(std::sync::atomic::Ordering::Acquire))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod httpgateway;

use std::fmt;
use std::io;
use std::time::Duration;

use pyro5_std::{Daemon, DaemonConfig};

/// How often the tokio loop looks at the condition given to [`serve`] (the std loops look
/// several times a second too).
const CONDITION_CHECK: Duration = Duration::from_millis(100);

/// The servers' `--servertype`: Python's two, and `pyro5-tokio`'s async daemon.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ServerType {
    /// A thread per client connection (Python's `thread`).
    Thread,
    /// One thread serving every connection from a readiness loop (Python's `multiplex`).
    Multiplex,
    /// A task per client connection on a multi-threaded tokio runtime
    /// ([`pyro5_tokio::Daemon`]); calls run on tokio's blocking pool, so a slow method (the
    /// echo server's `slow`, a name server's SQLite storage) holds up no other client.
    Tokio,
}

impl ServerType {
    /// `config` with the `pyro5-std` server type this one needs. `Tokio` takes the multiplex
    /// configuration: its connection limit is `max_connections_multiplex`, as for the other
    /// loop that needs no thread per connection.
    pub fn daemon_config(self, config: DaemonConfig) -> DaemonConfig {
        let server_type = match self {
            Self::Thread => pyro5_std::ServerType::Thread,
            Self::Multiplex | Self::Tokio => pyro5_std::ServerType::Multiplex,
        };
        DaemonConfig { server_type, ..config }
    }
}

impl From<pyro5_std::ServerType> for ServerType {
    fn from(server_type: pyro5_std::ServerType) -> Self {
        match server_type {
            pyro5_std::ServerType::Thread => Self::Thread,
            pyro5_std::ServerType::Multiplex => Self::Multiplex,
        }
    }
}

/// Python's two names as `pyro5-std` writes and reads them, and `tokio`.
const TOKIO: &str = "tokio";

impl fmt::Display for ServerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Thread => pyro5_std::ServerType::Thread.fmt(f),
            Self::Multiplex => pyro5_std::ServerType::Multiplex.fmt(f),
            Self::Tokio => f.write_str(TOKIO),
        }
    }
}

impl std::str::FromStr for ServerType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == TOKIO {
            return Ok(Self::Tokio);
        }
        s.parse::<pyro5_std::ServerType>()
            .map(Self::from)
            .map_err(|_| format!("invalid server type '{s}' (thread, multiplex or tokio)"))
    }
}

/// Serve `daemon` as `server_type` says while `condition` holds (checked several times a
/// second, as Pyro's `loopCondition`) and until the daemon is shut down
/// ([`Daemon::shutdown`]). `Thread` and `Multiplex` run the daemon's own request loop (made
/// with [`ServerType::daemon_config`]); `Tokio` serves it with [`pyro5_tokio::Daemon`] on a
/// multi-threaded runtime made here, and stops it gracefully (calls in progress answered)
/// when `condition` turns false.
///
/// # Errors
/// The listening socket's error, or the runtime's that could not be made.
pub fn serve(
    daemon: &Daemon,
    server_type: ServerType,
    condition: impl Fn() -> bool + Send + 'static,
) -> io::Result<()> {
    match server_type {
        ServerType::Thread | ServerType::Multiplex => daemon.request_loop_while(condition),
        ServerType::Tokio => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let served = pyro5_tokio::Daemon::new(daemon.clone()).with_calls(pyro5_tokio::Calls::Blocking);
            let stopper = served.clone();
            runtime.spawn(async move {
                while condition() {
                    tokio::time::sleep(CONDITION_CHECK).await;
                }
                stopper.shutdown();
            });
            runtime.block_on(served.serve())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        for name in ["thread", "multiplex", "tokio"] {
            assert_eq!(name.parse::<ServerType>().unwrap().to_string(), name);
        }
        assert_eq!(
            "async".parse::<ServerType>().unwrap_err(),
            "invalid server type 'async' (thread, multiplex or tokio)"
        );
        assert_eq!(ServerType::from(pyro5_std::ServerType::Thread), ServerType::Thread);
        assert_eq!(ServerType::from(pyro5_std::ServerType::Multiplex), ServerType::Multiplex);
    }

    #[test]
    fn tokio_takes_the_multiplex_configuration() {
        let config = DaemonConfig::default();
        assert_eq!(ServerType::Tokio.daemon_config(config.clone()).server_type, pyro5_std::ServerType::Multiplex);
        assert_eq!(ServerType::Thread.daemon_config(config.clone()).server_type, pyro5_std::ServerType::Thread);
        assert_eq!(ServerType::Multiplex.daemon_config(config).server_type, pyro5_std::ServerType::Multiplex);
    }

    /// Each type serves until the condition turns false, and until the daemon shuts down.
    #[test]
    fn every_type_stops_on_its_condition_and_on_shutdown() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        for server_type in [ServerType::Thread, ServerType::Multiplex, ServerType::Tokio] {
            let local = DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() };
            let daemon = Daemon::new(server_type.daemon_config(local.clone())).unwrap();
            let uri = daemon.register_concurrent(pyro5_std::echo::EchoServer::new(), Some("echo")).unwrap();
            let go = Arc::new(AtomicBool::new(true));
            let serving = daemon.clone();
            let flag = go.clone();
            let server = std::thread::spawn(move || serve(&serving, server_type, move || flag.load(Ordering::Acquire)));
            let echo = pyro5_std::Proxy::new(&uri).unwrap();
            let back: String = echo.call("echo", ("hi",)).unwrap();
            assert_eq!(back, "hi", "{server_type}");
            go.store(false, Ordering::Release);
            server.join().unwrap().unwrap();

            let daemon = Daemon::new(server_type.daemon_config(local)).unwrap();
            let serving = daemon.clone();
            let server = std::thread::spawn(move || serve(&serving, server_type, || true));
            std::thread::sleep(Duration::from_millis(50));
            daemon.shutdown();
            server.join().unwrap().unwrap();
        }
    }
}
