//! `pyro5-embassy`: Pyro5 objects served and called over embassy-net, with no allocator.
//!
//! The adapter moves bytes and waits; everything Pyro means is done by `pyro5-core`'s state
//! machines, the same ones the std adapter drives:
//!
//! - [`serve`] runs N connections on one TCP port, each with its socket and message buffers
//!   in a [`ConnectionStorage`] (const-generic sizes, fit for a `static`), answering Python
//!   Pyro5 proxies exactly as a Python daemon does: handshake, calls in any of the four
//!   serializers, oneway calls, attributes, item streams, `Pyro.Daemon`, errors.
//! - [`Proxy`] calls objects of other Pyro daemons (Python or Rust) from the device.
//!
//! Time comes from `embassy-time` (idle and send timeouts, stream lifetimes: all set in the
//! core's `ServerConfig`), randomness for correlation and stream ids from an [`Entropy`] (a
//! hardware RNG, or [`SeededEntropy`]; 32 bytes seed each connection). Logging goes to
//! `defmt` or `log` (features, exclusive).
//!
//! The features `serpent`, `json`, `marshal` and `msgpack` (all on by default) choose
//! pyro5-core's serializers: a firmware that keeps only those its clients use
//! (`default-features = false, features = ["json", "serpent"]`) saves flash, and its daemon
//! rejects a CONNECT in another with a CONNECTFAIL naming the ones it has.
//!
//! # Serving an object
//! ```no_run
//! use core::cell::RefCell;
//! use pyro5_core::server::{ObjectTable, PyException, Server, ServerConfig, Streams};
//! use pyro5_embassy::{ConnectionStorage, SeededEntropy, ServeConfig, serve};
//! use pyro5_macros::expose;
//!
//! struct Thermostat {
//!     target: f32,
//! }
//!
//! #[expose]
//! impl Thermostat {
//!     fn target(&self) -> f32 {
//!         self.target
//!     }
//!     fn set_target(&mut self, celsius: f32) -> Result<f32, PyException<&'static str>> {
//!         if !(5.0..=30.0).contains(&celsius) {
//!             return Err(PyException::value_error("target out of range 5..30"));
//!         }
//!         self.target = celsius;
//!         Ok(celsius)
//!     }
//! }
//!
//! async fn run(stack: embassy_net::Stack<'_>) -> ! {
//!     let thermostat = RefCell::new(Thermostat { target: 20.0 });
//!     let mut objects = ObjectTable::<2>::new();
//!     objects.register("thermostat", &thermostat).unwrap();
//!     let streams = RefCell::new(Streams::<2>::new());
//!     // Pyro's COMMTIMEOUT of 60 s; a reply the client does not take in 10 s (the default)
//!     // closes its connection.
//!     let config = ServerConfig {
//!         location: "192.168.1.50:9999",
//!         idle_timeout_ms: Some(60_000),
//!         ..ServerConfig::default()
//!     };
//!     let server = Server::new(&objects, &streams, &config);
//!     // Two connections with 1 KiB socket buffers and 1 KiB messages: 8 KiB of RAM.
//!     let mut connections = [const { ConnectionStorage::<1024, 1024>::new() }; 2];
//!     let entropy = SeededEntropy::new(0x5eed);
//!     serve(stack, &server, &ServeConfig::new(9999), &entropy, &mut connections).await
//! }
//! ```
//! A Python client then calls it as any Pyro object:
//! `Pyro5.api.Proxy("PYRO:thermostat@192.168.1.50:9999").set_target(21.5)`.
//!
//! # Calling an object
//! The [`Proxy`] follows the object's metadata (names it does not expose are refused before
//! sending, its oneway methods are not waited for) and reads item streams a few requests
//! ahead; a call that times out leaves the connection usable.
//! ```no_run
//! use embassy_time::Duration;
//! use pyro5_core::client::{NO_ARGS, NameStore};
//! use pyro5_core::wire::SerializerId;
//! use pyro5_embassy::{ConnectionStorage, Proxy, ProxyError};
//!
//! async fn report(stack: embassy_net::Stack<'_>, storage: &mut ConnectionStorage<1024, 1024>) -> Result<(), ()> {
//!     let daemon = (core::net::Ipv4Addr::new(192, 168, 1, 10), 9999);
//!     let timeout = Duration::from_secs(5);
//!     let mut logger = Proxy::connect(stack, daemon, "logger", SerializerId::Json, timeout, storage)
//!         .await
//!         .map_err(|_| ())?;
//!     if logger.metadata().oneway.contains("note") {
//!         // Oneway by the metadata: sent, not waited for.
//!         let () = logger.call("note", &("booted",)).await.map_err(|_| ())?;
//!     }
//!     let stored: u32 = logger.call("store", &("temperature", 21.5)).await.map_err(|e: ProxyError<'_>| ())?;
//!     let mut recent = logger.call_stream("recent", NO_ARGS).await.map_err(|_| ())?;
//!     while let Some(value) = logger.next_item::<f32>(&mut recent).await.map_err(|_| ())? {
//!         let _ = value;
//!     }
//!     let _ = stored;
//!     logger.close().await;
//!     Ok(())
//! }
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[macro_use]
mod fmt;
mod daemon;
mod entropy;
mod proxy;
mod storage;

pub use daemon::{ServeConfig, serve};
pub use entropy::{Entropy, SeededEntropy};
pub use proxy::{DEFAULT_PREFETCH, METADATA_BYTES, Proxy, ProxyError};
pub use storage::ConnectionStorage;

/// The protocol core this adapter drives.
pub use pyro5_core as core;
