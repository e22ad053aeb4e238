//! `pyro5-std`: Pyro5 over std sockets.
//!
//! **What exists today** is the command-line tool `pyro5-decode`, which decodes Pyro5 wire
//! messages given in hex with `pyro5-core`'s decoder, and [`describe`], the text it prints.
//! The Daemon, Proxy, name server and the tools `pyro5-echoserver`, `pyro5-ns` and
//! `pyro5-nsc` come with the server and client state machines of `pyro5-core`; nothing here
//! pretends to offer them yet.
//!
//! ```
//! use pyro5_std::core::limits::Limits;
//! use pyro5_std::core::wire::{Decoder, Progress};
//!
//! let frame = include_bytes!("../../../shared/vectors/messages/ping_request.bin");
//! let mut decoder = Decoder::new(Vec::new(), Limits::default());
//! assert!(matches!(decoder.feed(frame)?, Progress::Complete { .. }));
//! let text = pyro5_std::describe(&decoder.message().unwrap());
//! assert!(text.starts_with("PING serializer=42 flags=(empty) seq=0"));
//! # Ok::<(), pyro5_std::core::wire::DecodeError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt::Write as _;

/// The protocol core this crate drives.
pub use pyro5_core as core;

mod daemon;
pub mod echo;
mod object_proxy;
mod proxy;
mod transport;

pub use daemon::{Creator, Daemon, DaemonConfig, DaemonError, InstanceMode, ServerType, SharedObject};
pub use object_proxy::ObjectProxy;
pub use proxy::{Batch, Proxy, ProxyError, ProxyMetadata, RemoteError, RemoteIter, Serializer};
use pyro5_core::wire::{Message, MessageKind};

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
