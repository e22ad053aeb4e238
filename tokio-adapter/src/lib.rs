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
//!
//! # Async methods
//!
//! The tokio daemon runs `async fn` methods of an `#[expose]` impl: each call's future is a
//! task, and while it awaits, the daemon serves other clients (pyro5-std's daemons refuse
//! such objects). Plain methods of the same object run as [`Calls`] says.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::time::Duration;
//! use pyro5_std::{DaemonConfig, expose};
//!
//! /// Calls run on clones: the total is shared.
//! #[derive(Clone, Default)]
//! struct Counter {
//!     total: Arc<AtomicU64>,
//! }
//!
//! #[expose]
//! impl Counter {
//!     /// `counter.add_later(5, 100)` in Python: 100 ms later, the new total.
//!     async fn add_later(&self, n: u64, millis: u64) -> u64 {
//!         tokio::time::sleep(Duration::from_millis(millis)).await;
//!         self.total.fetch_add(n, Ordering::SeqCst) + n
//!     }
//!
//!     /// A plain method beside it.
//!     fn total(&self) -> u64 {
//!         self.total.load(Ordering::SeqCst)
//!     }
//! }
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let daemon = pyro5_tokio::Daemon::bind(DaemonConfig::default())?;
//! let uri = daemon.register(Counter::default(), Some("counter")).unwrap();
//! println!("counter uri: {uri}");
//! # Ok(()) }
//! ```
//!
//! # The async proxy
//!
//! [`Proxy`] is `Clone + Send + Sync`: tasks call through its clones at once and their
//! calls are pipelined on one connection, each reply going to its caller. Its errors are
//! pyro5-std's ([`ProxyError`], [`RemoteError`]). Dropping a call's future gives the call up
//! and leaves the proxy usable; remote iterators are [`futures_core::Stream`]s.
//!
//! ```no_run
//! # async fn run() -> Result<(), pyro5_tokio::ProxyError> {
//! use pyro5_tokio::Proxy;
//! let echo = Proxy::new("PYRO:test.echoserver@localhost:9999")?;
//! let back: Vec<i64> = echo.call("echo", (vec![1, 2, 3],)).await?;
//! assert_eq!(back, [1, 2, 3]);
//! // Tasks share it; their calls overlap on its connection.
//! let tasks: Vec<_> = (0..100)
//!     .map(|n| {
//!         let echo = echo.clone();
//!         tokio::spawn(async move { echo.call::<i64, _>("echo", (n,)).await })
//!     })
//!     .collect();
//! for (n, task) in tasks.into_iter().enumerate() {
//!     assert_eq!(task.await.expect("the task ran")?, n as i64);
//! }
//! # Ok(()) }
//! ```
//!
//! # The name server
//!
//! [`locate_ns`] finds a name server as Python's `Pyro5.core.locate_ns` does (the given host,
//! else this machine, a UDP broadcast, then `NS_HOST`) and gives an async
//! [`NameServerProxy`] (`Clone`, `&self` methods, shared by tasks); [`resolve`] turns a
//! `PYRONAME:`/`PYROMETA:` URI into the `PYRO:` one, as a [`Proxy`] made from such a URI does
//! on connecting. All of it awaits tokio sockets and timers: no thread waits on a lookup or
//! a broadcast ([`naming`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), pyro5_tokio::ProxyError> {
//! let ns = pyro5_tokio::locate_ns(Some("localhost"), None).await?;
//! println!("echo server at {}", ns.lookup("test.echoserver").await?);
//! let echo = pyro5_tokio::Proxy::new("PYRONAME:test.echoserver@localhost:9090")?;
//! let back: String = echo.call("echo", ("hello",)).await?;
//! assert_eq!(back, "hello");
//! # Ok(()) }
//! ```

//!
//! # Typed async proxies
//!
//! `#[proxy]` on a trait of `async fn` methods writes a client struct on this crate's
//! [`Proxy`]:
//!
//! ```no_run
//! use pyro5_tokio::{ProxyError, RemoteStream, proxy};
//!
//! /// What this program calls of Python's `Pyro5.utils.echoserver`.
//! #[proxy]
//! trait Echo {
//!     async fn echo(&self, message: &str) -> Result<String, ProxyError>;
//!     async fn generator(&self) -> Result<RemoteStream, ProxyError>;
//! }
//!
//! # async fn run() -> Result<(), ProxyError> {
//! let echo = EchoProxy::new("PYRO:test.echoserver@localhost:9999")?;
//! assert_eq!(echo.echo("hi").await?, "hi");
//! # Ok(()) }
//! ```

mod daemon;
pub mod naming;
mod proxy;

pub use daemon::{Calls, Daemon};
pub use naming::{NameServerProxy, locate_ns, locate_ns_with, resolve, resolve_with};
pub use proxy::{Batch, DEFAULT_PREFETCH, Proxy, RawReply, RemoteStream};
pub use pyro5_std::{ProxyError, ProxyMetadata, RemoteError, Serializer, core, proxy};
