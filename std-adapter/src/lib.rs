//! `pyro5-std`: Pyro5 over std sockets — serve Rust objects to Python (and Rust) clients,
//! and call Python (and Rust) Pyro objects.
//!
//! - [`Daemon`]: binds TCP (IPv4/IPv6) or a Unix socket and serves objects, with Pyro's two
//!   server types (a thread per connection, or one multiplexed thread), instance modes,
//!   limits and timeouts. Protocol decisions are `pyro5-core`'s; this crate moves bytes.
//! - [`Proxy`]: calls a remote object as Python's `Pyro5.client.Proxy` does.
//! - [`serve`]: Python's `Pyro5.server.serve`, a daemon serving objects in one call.
//! - [`expose`] and [`proxy`]: the attributes of `pyro5-macros`, usable from a crate that
//!   depends on `pyro5-std` alone.
//! - [`Config`]: Pyro's configuration items, read from `PYRO_*` variables as Python reads
//!   them ([`config`]; `docs/configuration.md` lists every item).
//! - [`echo::EchoServer`]: Python's test echo server object; [`describe`]: a decoded wire
//!   message as text. The command-line tools (`pyro5-echoserver`, `pyro5-ns`, `pyro5-nsc`,
//!   `pyro5-call`, `pyro5-decode`, `pyro5-check-config`) are the `pyro5-tools` crate's, built
//!   on this one ([`config::tool_setup`] is what each does first).
//!
//! Feature `sqlite` adds the name server's persistent `naming::SqlStorage` (a bundled SQLite
//! C build). It is off by default, so the library alone pulls no C code.
//!
//! Serving an object and calling it, both from Rust:
//! ```
//! use pyro5_std::{Daemon, Proxy};
//! use pyro5_std::echo::EchoServer;
//!
//! let daemon = Daemon::bind_default()?;
//! let uri = daemon.register_concurrent(EchoServer::new(), Some("test.echoserver"))?;
//! let serving = daemon.clone();
//! let server = std::thread::spawn(move || serving.request_loop());
//!
//! let echo = Proxy::new(&uri)?;
//! let back: (String, i64) = echo.call("echo", (("hello", 42),))?;
//! assert_eq!(back, ("hello".to_string(), 42));
//!
//! daemon.shutdown();
//! server.join().unwrap()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt::Write as _;

/// The protocol core this crate drives.
pub use pyro5_core as core;

/// `#[expose]` from `pyro5-macros`: an `impl` block's methods as a Pyro object. The generated
/// code reaches the core through this crate (`::pyro5_std::core`), so a crate depending on
/// `pyro5-std` alone can use it.
#[doc(inline)]
pub use pyro5_macros::expose_through_std as expose;
/// `#[proxy]` from `pyro5-macros`: a typed client struct from a trait (its code names
/// `::pyro5_std`).
pub use pyro5_macros::proxy;

pub mod calling;
pub mod civil;
pub mod config;
mod daemon;
pub mod echo;
pub mod locate;
pub mod locating;
pub mod naming;
mod object_proxy;
mod proxy;
mod serve;
pub mod tls;
mod transport;

pub use config::{Config, ConfigError};
pub use daemon::{
    Creator, Daemon, DaemonConfig, DaemonConnection, DaemonError, DisconnectHook, InstanceMode, Peer, Peers, Resource,
    Resources, ServerType, SharedObject, Spawner,
};
pub use object_proxy::ObjectProxy;
pub use proxy::{
    Batch, DEFAULT_PREFETCH, Proxy, ProxyError, ProxyMetadata, RemoteError, RemoteIter, Reraise, Serializer,
};
/// A call's argument still serialized (Pyro's `SerializedBlob`): an `#[expose]` method takes
/// it as a parameter, [`Proxy::call_blob`] passes it on.
pub use pyro5_core::ser::blob::SerializedBlob;
/// An item of an `#[expose]` method's `impl Iterator` stream with annotations for its reply.
pub use pyro5_core::server::streams::Annotated;
/// `#[expose]` parameters taking Python's `*args` and `**kwargs`.
pub use pyro5_core::server::{KwArgs, VarArgs};
/// A response annotation's 4-character id.
pub use pyro5_core::wire::AnnotationId;
use pyro5_core::wire::{Message, MessageKind};
pub use serve::{ServeError, ServeOptions, Served, serve};
pub use transport::{ListenerSocket, Stream};

/// A multi-line, human-readable account of a decoded message: the header's fields, the
/// annotations, and the payload as text when it is UTF-8 (hex otherwise).
pub fn describe(message: &Message<'_>) -> String {
    let h = message.header();
    let kind = match h.kind {
        MessageKind::Connect => "CONNECT".to_string(),
        MessageKind::ConnectOk => "CONNECTOK".to_string(),
        MessageKind::ConnectFail => "CONNECTFAIL".to_string(),
        MessageKind::Invoke => "INVOKE".to_string(),
        MessageKind::Result => "RESULT".to_string(),
        MessageKind::Ping => "PING".to_string(),
        MessageKind::Unknown(n) => format!("unknown message type {n}"),
    };
    let serializer = match h.serializer.name() {
        Some(name) => name.to_string(),
        None => u8::from(h.serializer).to_string(),
    };
    let mut out = format!(
        "{kind} serializer={serializer} flags={:?} seq={} data_size={} annotations_size={} correlation_id={}\n",
        h.flags, h.seq, h.data_len, h.annotations_len, h.correlation_id
    );
    for (id, value) in message.annotations() {
        let _ = writeln!(out, "annotation {id}: {}", printable(value));
    }
    match message.payload() {
        Ok(payload) => {
            let _ = writeln!(out, "payload ({} bytes): {}", payload.len(), printable(payload));
        }
        Err(e) => {
            let _ = writeln!(out, "payload: {e}");
        }
    }
    out
}

/// UTF-8 text as a quoted string, anything else as hex.
fn printable(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => format!("{text:?}"),
        Err(_) => {
            let mut hex = String::with_capacity(bytes.len() * 2 + 4);
            hex.push_str("hex ");
            for b in bytes {
                let _ = write!(hex, "{b:02x}");
            }
            hex
        }
    }
}
