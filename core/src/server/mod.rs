//! The daemon side of Pyro: a per-connection state machine that turns received messages into
//! calls on Pyro objects and writes the replies (`docs/wire-protocol.md`, "Connections";
//! `docs/objects.md`, "The daemon object").
//!
//! Sans-IO: a [`ServerConnection`] per client takes the bytes the adapter reads and the time,
//! and gives back the bytes to send, its next deadline and the calls to run (at once or
//! later); the daemon's shared state ([`Server`]: objects, streams, configuration) is lent
//! to it for each step. The adapter's loop is the same everywhere: serve ready calls, write
//! what is pending, read or wait for the deadline (see [`ServerConnection`]).
//!
//! ```
//! use core::cell::RefCell;
//! use pyro5_core::limits::Limits;
//! use pyro5_core::ser::{envelope::CallEnvelope, serpent};
//! use pyro5_core::server::*;
//! use pyro5_core::wire::{self, MessageKind, OutgoingMessage, SerializerId};
//!
//! struct Echo;
//! impl PyroObject for Echo {
//!     fn metadata(&self) -> Metadata<'static> {
//!         Metadata { class_name: "Echo", methods: &["echo"], ..Metadata::default() }
//!     }
//!     fn invoke(&mut self, inv: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
//!         let f = Qualname { class_name: "Echo", method: inv.method };
//!         match inv.args.check(f, &["message"]).and_then(|()| inv.args.required::<&str>(f, 0, "message")) {
//!             Ok(message) => reply.ok(message),
//!             Err(e) => reply.raise(&e),
//!         }
//!     }
//! }
//!
//! // The daemon: one object, room for 4 item streams, Pyro's default settings.
//! let echo = RefCell::new(Echo);
//! let mut objects = ObjectTable::<2>::new();
//! objects.register("test.echo", &echo).unwrap();
//! let streams = RefCell::new(Streams::<4>::new());
//! let config = ServerConfig::default();
//! let server = Server::new(&objects, &streams, &config);
//!
//! // What a Python proxy sends for `Proxy("PYRO:test.echo@...").echo("hi")`: CONNECT, INVOKE.
//! let mut wire_in = [0u8; 256];
//! let mut len = 0;
//! let mut payload = [0u8; 128];
//! #[derive(serde::Serialize)]
//! struct Connect<'a> { handshake: &'a str, object: &'a str }
//! let connect = serpent::to_slice(&Connect { handshake: "hello", object: "test.echo" }, &mut payload)?;
//! let msg = OutgoingMessage::new(MessageKind::Connect, SerializerId::Serpent, 0);
//! len += wire::encode(&msg, &payload[..connect], &mut wire_in[len..], Limits::default())?;
//! let no_kwargs = std::collections::BTreeMap::<&str, ()>::new();
//! let call = CallEnvelope { format: SerializerId::Serpent, object: "test.echo", method: "echo", args: &("hi",), kwargs: Some(&no_kwargs) };
//! let invoke = serpent::to_slice(&call, &mut payload)?;
//! let msg = OutgoingMessage::new(MessageKind::Invoke, SerializerId::Serpent, 1);
//! len += wire::encode(&msg, &payload[..invoke], &mut wire_in[len..], Limits::default())?;
//!
//! // The connection: bytes in, replies out (the client pipelined both requests).
//! let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
//! let seed = [7; 32]; // real entropy in real use
//! let mut connection = ServerConnection::new(ConnectionId(1), None, &mut rx[..], &mut tx[..], &config, 0, seed);
//! assert_eq!(connection.feed(&wire_in[..len], 0), len); // one read takes both
//! let mut replies = Vec::new();
//! while replies.len() < 2 {
//!     connection.serve_ready(&server); // answers one; the next waits for its turn
//!     replies.push(connection.tx_pending().to_vec());
//!     let sent = connection.tx_pending().len(); // socket.write(..) took it all
//!     connection.tx_advance(sent, 0);
//! }
//! let result = wire::Header::parse_bytes(replies[1][..40].try_into().unwrap())?;
//! assert_eq!((result.kind, result.seq), (MessageKind::Result, 1));
//! assert_eq!(&replies[1][40..], b"# serpent utf-8 python3.2\n'hi'");
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

mod connection;
mod daemon_object;
mod exception;
#[cfg(feature = "alloc")]
mod later;
mod object;
mod registry;
mod reply;
#[cfg(feature = "alloc")]
mod rest;
mod session;
pub mod streams;

pub use connection::{CallHandle, CloseReason, ServerConnection, ServerEvent, StaleCall};
pub use exception::{
    ATTRIBUTE_ERROR, DAEMON_ERROR, INDEX_ERROR, KEY_ERROR, NAMING_ERROR, NOT_IMPLEMENTED_ERROR, PERMISSION_ERROR,
    PROTOCOL_ERROR, PYRO_ERROR, PyException, PythonException, RUNTIME_ERROR, SECURITY_ERROR, SERIALIZE_ERROR,
    STOP_ITERATION, StopIteration, TIMEOUT_ERROR, TYPE_ERROR, VALUE_ERROR, ZERO_DIVISION_ERROR,
};
#[cfg(feature = "alloc")]
pub use later::{AsyncAnswer, AsyncCall, Later};
pub use object::{
    ArgError, Args, ArgumentError, CallContext, ClassInfo, ConnectionId, Invocation, Metadata, PyroObject, Qualname,
    Rest, StreamCursor, is_private_name, unknown_attribute,
};
#[cfg(feature = "alloc")]
pub use registry::Objects;
pub use registry::{DAEMON_OBJECT_ID, ObjectTable, RegisterError, Registry};
pub use reply::{NextItem, Replied, Reply};
#[cfg(feature = "alloc")]
pub use rest::{KwArgs, VarArgs};
pub use streams::{StreamConfig, StreamStore, Streams};

use crate::limits::Limits;
use crate::ser::call::ConnectView;
use crate::wire::Annotation;

/// A daemon's settings (Pyro's config items that concern the daemon).
#[derive(Clone, Copy, Debug)]
pub struct ServerConfig<'a> {
    /// Size limits, both directions (`MAX_MESSAGE_SIZE`), and how deeply what a client
    /// sends may nest ([`Limits::max_nesting`]: call arguments, keyword arguments, handshake
    /// data). A firmware lowers the nesting to bound its stack:
    /// `ServerConfig { limits: Limits { max_nesting: 24, ..Limits::DEFAULT }, ..ServerConfig::default() }`.
    pub limits: Limits,
    /// Compress replies over 100 bytes (`COMPRESSION`; needs feature `alloc`).
    pub compress: bool,
    /// Annotations added to every reply (`Daemon.annotations()`).
    pub annotations: &'a [Annotation<'a>],
    /// Item streaming settings.
    pub streams: StreamConfig,
    /// Where the daemon listens, as `info()` reports it (`localhost:9999`, `./u:/tmp/sock`).
    pub location: &'a str,
    /// The NAT location, if any.
    pub nat_location: Option<&'a str>,
    /// The server type as `info()` reports it.
    pub server_type: &'a str,
    /// Pyro's `COMMTIMEOUT` for the daemon: a connection that sends nothing for this long
    /// is closed (during the handshake with CONNECTFAIL "receiving: timeout", as Pyro's).
    /// `None`: never.
    pub idle_timeout_ms: Option<u64>,
    /// A reply that makes no progress for this long (the client does not read) ends its
    /// connection. `None`: wait forever.
    pub send_timeout_ms: Option<u64>,
}

impl Default for ServerConfig<'_> {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            compress: false,
            annotations: &[],
            streams: StreamConfig::default(),
            location: "",
            nat_location: None,
            server_type: "pyro5-rs",
            idle_timeout_ms: None,
            send_timeout_ms: Some(DEFAULT_SEND_TIMEOUT_MS),
        }
    }
}

/// How long a reply may make no progress by default: 10 s.
pub const DEFAULT_SEND_TIMEOUT_MS: u64 = 10_000;

/// The daemon state a connection works with, shared by all connections.
#[derive(Clone, Copy)]
pub struct Server<'a> {
    /// The objects served.
    pub registry: &'a dyn Registry,
    /// The open item streams.
    pub streams: &'a dyn StreamStore,
    /// Settings.
    pub config: &'a ServerConfig<'a>,
    /// Checks each client's handshake data (Pyro's `Daemon.validateHandshake`); none
    /// accepts everyone and answers `"hello"`, as Pyro does.
    pub handshake: Option<&'a dyn HandshakeValidator>,
    /// Sees every message received and sent (Pyro's `LOGWIRE`).
    pub tap: Option<&'a dyn WireTap>,
}

impl<'a> Server<'a> {
    /// Objects, streams and settings; no handshake check, no wire tap.
    pub fn new(registry: &'a dyn Registry, streams: &'a dyn StreamStore, config: &'a ServerConfig<'a>) -> Self {
        Self { registry, streams, config, handshake: None, tap: None }
    }

    /// When item streams next expire (lifetime or linger), on the daemon's clock: the
    /// adapter calls [`handle_timeout`](Self::handle_timeout) then. `None`: no stream can.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.streams.next_expiry(&self.config.streams)
    }

    /// Drop the item streams expired at `now_ms`.
    pub fn handle_timeout(&self, now_ms: u64) {
        self.streams.expire(now_ms, &self.config.streams);
    }
}

/// Sees whole messages as they are received and sent, for logging (Pyro's `LOGWIRE`).
pub trait WireTap {
    /// Connection `connection` received `frame` (header, annotations, payload).
    fn received(&self, connection: ConnectionId, frame: &[u8]);
    /// Connection `connection` is sending `frame`.
    fn sent(&self, connection: ConnectionId, frame: &[u8]);
}

impl core::fmt::Debug for Server<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Server").field("config", self.config).finish_non_exhaustive()
    }
}

/// Checks a client's handshake (Pyro's `Daemon.validateHandshake`).
pub trait HandshakeValidator {
    /// Accept the client, answering with a value of your choice
    /// ([`HandshakeAnswer::accept`]), or refuse it with a reason the client raises as
    /// `CommunicationError("connection to ... rejected: <reason>")`.
    fn validate(
        &self,
        connection: ConnectionId,
        request: &ConnectView<'_>,
        answer: HandshakeAnswer<'_, '_>,
    ) -> Answered;
}

/// Proof a handshake was answered.
#[derive(Debug)]
#[must_use = "return it from validate"]
pub struct Answered(pub(crate) ());

/// The daemon's answer to a handshake.
pub struct HandshakeAnswer<'r, 's> {
    pub(crate) inner: session::Answer<'r, 's>,
}

impl core::fmt::Debug for HandshakeAnswer<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HandshakeAnswer")
    }
}

impl HandshakeAnswer<'_, '_> {
    /// Accept, sending `value` as the handshake response.
    pub fn accept<T: ?Sized + serde::Serialize>(self, value: &T) -> Answered {
        self.inner.accept(value)
    }

    /// Refuse with `reason`.
    pub fn refuse(self, reason: &dyn core::fmt::Display) -> Answered {
        self.inner.refuse(reason)
    }
}
