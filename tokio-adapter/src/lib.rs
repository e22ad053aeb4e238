//! Pyro5 on tokio: the same Pyro as `pyro5-std`, driven by async tasks.
//!
//! Everything Pyro decides lives in `pyro5-core`'s connection state machines
//! ([`ServerConnection`](pyro5_core::server::ServerConnection) for a daemon's clients,
//! [`ClientConnection`](pyro5_core::client::ClientConnection) for a proxy); this crate only
//! moves their bytes over tokio sockets, waits on tokio timers, and runs calls on tokio
//! tasks. Configuration, registered objects and their instance modes are `pyro5-std`'s.
//!
//! ```
//! // The crate's version, as every pyro5 crate has it.
//! assert!(!pyro5_tokio::VERSION.is_empty());
//! ```

/// This crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
