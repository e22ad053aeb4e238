//! `pyro5-core`: the protocol of [Pyro5](https://pyro5.readthedocs.io) (Python Remote
//! Objects, wire protocol 502) as a sans-IO state machine for Rust.
//!
//! The core never touches a socket, a clock or a thread. Bytes go in as they arrive, in any
//! chunking; complete messages come out as views borrowing storage the caller owns; outgoing
//! messages are written into buffers the caller owns. The same code runs with static buffers
//! on a microcontroller and with `Vec`s on a server.
//!
//! # What is here today
//! - [`wire`]: the 40-byte header, annotation chunks, an incremental [`wire::Decoder`], the
//!   encoder ([`wire::MessageWriter`], [`wire::encode`]) and zlib compression (feature `alloc`).
//! - [`uri`]: `PYRO:`, `PYRONAME:` and `PYROMETA:` URIs, parsed and printed exactly as Pyro5's
//!   `Pyro5.core.URI` does, borrowed from the input.
//! - [`ser`]: the four Pyro serializers (serpent, json, marshal, msgpack) as serde formats,
//!   Python's types serde lacks ([`ser::python`]), Pyro's conventions ([`ser::envelope`]:
//!   call envelope, exceptions, `__class__` dicts) and, with `alloc`, the dynamic `Value`.
//! - [`server`]: the daemon side of a connection — handshake, calls, oneway, batches,
//!   attributes, item streams, `Pyro.Daemon` — over objects implementing
//!   [`server::PyroObject`] (written by `#[expose]` from `pyro5-macros`), with no allocator.
//! - [`client`]: the proxy side of a connection — CONNECT, INVOKE, PING, and replies checked
//!   as Pyro5's proxy checks them.
//! - [`limits`]: the size limits every layer enforces.
//!
//! # Example
//! Decode a message as Python Pyro5 sends it, fed one byte at a time into a buffer on the
//! stack:
//! ```
//! use pyro5_core::limits::Limits;
//! use pyro5_core::wire::{Decoder, Flags, MessageKind, SerializerId};
//!
//! // What `Pyro5.protocol.SendingMessage` writes for an INVOKE with two annotations.
//! let frame = include_bytes!("../../testdata/messages/annotations_custom.bin");
//!
//! let mut storage = [0u8; 256];
//! let mut decoder = Decoder::new(&mut storage[..], Limits::default());
//! for byte in frame.chunks(1) {
//!     decoder.feed(byte)?;
//! }
//! let message = decoder.message().expect("one whole message was fed");
//! assert_eq!(message.header().kind, MessageKind::Invoke);
//! assert_eq!(message.header().serializer, SerializerId::Serpent);
//! assert_eq!(message.header().flags, Flags::empty());
//! let ids: Vec<_> = message.annotations().map(|(id, _)| id).collect();
//! assert_eq!(ids, ["XYZZ", "ABCD"]);
//! assert_eq!(message.payload()?, b"{}");
//! # Ok::<(), pyro5_core::wire::DecodeError>(())
//! ```
//!
//! # Features
//! - *(the default)*: `no_std`, no allocator. Everything above works.
//! - `serpent`, `json`, `marshal`, `msgpack` (all on by default): one per serializer. A
//!   firmware can keep only those its clients use (`default-features = false, features =
//!   ["json", "serpent"]`) to save flash. A daemon refuses a CONNECT in a serializer left out
//!   with CONNECTFAIL (in marshal, which it can always write) naming the ones it has, and
//!   closes a connection that sends other messages in one; a client refuses to write one
//!   ([`ser::FormatError::UnknownSerializer`]). See [`wire::SerializerId::is_enabled`].
//! - `alloc`: growable `Vec` receive storage, zlib compression of payloads (Pyro's
//!   `COMPRESSION`, through `miniz_oxide`), `ser::value::Value`, `to_vec` in every format.
//! - `std`: implies `alloc`.
//! - `defmt` / `log`: logging through one of them (mutually exclusive).
//!
//! # What it does not do
//! Move bytes. Reading sockets, timers and threads belong to the adapters (`pyro5-std`,
//! `pyro5-embassy`) or to your own event loop.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// With no serializer at all, each dispatch over the formats keeps only its fallback (refuse
// the id): its parameters go unused, what follows it is unreachable, and what only the
// formats build is never constructed.
#![cfg_attr(
    not(any(feature = "serpent", feature = "json", feature = "marshal", feature = "msgpack")),
    allow(unused_variables, unreachable_code, dead_code)
)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[macro_use]
mod fmt;

pub mod client;
pub mod limits;
pub mod rng;
pub mod ser;
pub mod server;
pub mod uri;
pub mod wire;

// The fuzz targets' checks; the unit tests replay the inputs in fuzz/regressions/ through them.
#[cfg(any(fuzzing, all(test, feature = "std")))]
#[doc(hidden)]
pub mod fuzzing;
