//! Pyro5 on tokio: the same Pyro as `pyro5-std`, driven by async tasks.
//!
//! Everything Pyro decides lives in `pyro5-core`'s connection state machines
//! ([`ServerConnection`](pyro5_core::server::ServerConnection) for a daemon's clients,
//! [`ClientConnection`](pyro5_core::client::ClientConnection) for a proxy); this crate only
//! moves their bytes over tokio sockets, waits on tokio timers, and runs calls on tokio
//! tasks. Configuration, registered objects and their instance modes are `pyro5-std`'s.
//!
//! [`Daemon`]: a `pyro5-std` daemon served by a task per client connection (TCP on IPv4 or
//! IPv6, or a Unix socket), plain calls run in the connection's task or on tokio's blocking
//! pool ([`Calls`]), the configured connection limit (further clients get Pyro's
//! CONNECTFAIL text) and idle timeout (`COMMTIMEOUT`), and a graceful
//! [`shutdown`](Daemon::shutdown) that lets calls in progress finish.
//!
//! ```
//! use pyro5_std::DaemonConfig;
//! use pyro5_std::echo::EchoServer;
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let daemon = pyro5_tokio::Daemon::bind(DaemonConfig::default())?;
//! let uri = daemon.register_concurrent(EchoServer::new(), Some("test.echoserver")).unwrap();
//! println!("echo uri: {uri}");
//! let serving = daemon.clone();
//! let server = tokio::spawn(async move { serving.serve().await });
//! // ... clients call it; then:
//! daemon.shutdown();
//! server.await.unwrap()?;
//! # Ok(()) }
//! ```

mod daemon;

pub use daemon::{Calls, Daemon};
