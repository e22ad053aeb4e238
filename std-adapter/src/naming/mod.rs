//! Pyro's name server: the `Pyro.NameServer` object ([`NameServer`]) with Pyro5's remote
//! methods, errors and results (`docs/name-server.md`, "Remote methods"), over a
//! [`NameStorage`] ([`MemoryStorage`], or the persistent `SqlStorage` with feature `sqlite`),
//! served by a [`Daemon`](crate::Daemon), and the UDP [`BroadcastServer`] that answers
//! discovery requests.
//!
//! Serving a name server and registering an object in it:
//! ```
//! use pyro5_std::Daemon;
//! use pyro5_std::naming::NameServer;
//!
//! let daemon = Daemon::bind_default()?;
//! let ns = NameServer::new();
//! let ns_uri = ns.serve(&daemon)?;
//! assert!(ns_uri.starts_with("PYRO:Pyro.NameServer@localhost:"));
//! ns.register("example.thing", "PYRO:thing@localhost:9999", false, None)?;
//! assert_eq!(ns.count()?, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Autoclean (Pyro's `NS_AUTOCLEAN`): [`NameServer::start_autoclean`] runs an
//! [`AutoCleaner`] thread that removes registrations whose server stays unreachable, with
//! Pyro's timings and checks ([`AutoClean`]; `pyro5-ns` reads `PYRO_NS_AUTOCLEAN`):
//! ```
//! use std::time::Duration;
//! use pyro5_std::Daemon;
//! use pyro5_std::naming::{AutoClean, NameServer};
//!
//! let daemon = Daemon::bind_default()?;
//! let ns = NameServer::new();
//! ns.serve(&daemon)?;
//! let cleaner = ns.start_autoclean(AutoClean::every(Duration::from_secs(60))?)?;
//! // ... daemon.request_loop() ...
//! cleaner.stop();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Differences from Python's name server: metadata tags must be strings (Python accepts
//! any hashable item), regular expressions are the `regex` crate's syntax (no
//! look-around or back-references) and its error texts follow `invalid regex: `, and
//! autoclean keeps a name registered again while it was being checked (see
//! [`AutoCleaner`]).

mod autoclean;
mod broadcast;
mod nameserver;
#[cfg(feature = "sqlite")]
mod sql;
mod storage;

pub use autoclean::{AutoClean, AutoCleanError, AutoCleaner, MIN_AUTOCLEAN, NS_AUTOCLEAN_ENV};
pub use broadcast::{BroadcastServer, GET_NSURI, NS_BCPORT};
pub use nameserver::{NAMESERVER_CLASS_TAG, NAMESERVER_NAME, NameServer, NameServerError};
#[cfg(feature = "sqlite")]
pub use sql::SqlStorage;
pub use storage::{Entry, MemoryStorage, NameStorage, StorageError};
