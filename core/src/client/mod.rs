//! The proxy side of Pyro: a per-connection state machine that writes CONNECT, INVOKE and PING
//! messages and checks and reads the daemon's replies (`docs/wire-protocol.md`, "Connections").
//!
//! Sans-IO like the daemon side: the adapter writes each message the connection lays out
//! in transmit storage, feeds received bytes to a [`Decoder`](crate::wire::Decoder), and
//! hands each complete reply to [`ClientSession::read_connect`] or
//! [`ClientSession::read_reply`], which check it as Pyro5's proxy does (message type,
//! sequence number, serializer) and return views borrowing the received payload.
//!
//! ```
//! use pyro5_core::client::{CallSpec, ClientSession, Extras, Reply};
//! use pyro5_core::limits::Limits;
//! use pyro5_core::wire::{Decoder, SerializerId};
//!
//! let mut client = ClientSession::new(SerializerId::Json);
//! let mut tx = [0u8; 256];
//! let len = client.write_connect("test.echoserver", &"hello", &Extras::default(), Limits::default(), &mut &mut tx[..])?;
//! assert_eq!(&tx[4..8], &[0x01, 0xf6, 1, 3]); // version 502, CONNECT, json
//! # let _ = len;
//! // ... send tx[..len], read the CONNECTOK into a Decoder, then `client.read_connect(&message)`.
//! # Ok::<(), pyro5_core::client::ClientError>(())
//! ```

use core::fmt;

mod connection;
mod metadata;
mod stream;

pub use connection::{ClientConnection, ClientEvent};
pub use metadata::{NameStore, ObjectMetadata, PackedNames};
pub use stream::{ItemStream, PIPELINE_BYTES, StreamItem};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::limits::Limits;
#[cfg(feature = "marshal")]
use crate::ser::blob::SerializedBlob;
use crate::ser::call::{CallError, decode_payload_seed_with_limits, decode_payload_with_limits};
use crate::ser::envelope::{BATCH_METHOD, CallEnvelope, RemoteException};
use crate::ser::output::WriteWith;
use crate::ser::{FormatError, marshal_str, to_output};
#[cfg(feature = "marshal")]
use crate::ser::{Output, OutputError};
use crate::wire::frame::Frame;
use crate::wire::{
    Annotation, AnnotationId, AnnotationsView, CorrelationId, EncodeError, Flags, Message, MessageKind,
    OutgoingMessage, PING_SERIALIZER_ID, RxStorage, SerializerId, StreamId,
};

/// Takes bytes and keeps none (to check that a value serializes).
#[cfg(feature = "marshal")]
struct Discard;

#[cfg(feature = "marshal")]
impl Output for Discard {
    fn write_bytes(&mut self, _: &[u8]) -> Result<(), OutputError> {
        Ok(())
    }
}

/// No positional arguments: an empty tuple (the unit `()` would be Python's `None`).
pub const NO_ARGS: &[(); 0] = &[];

/// What goes with every message of a proxy: Pyro's `current_context` of the calling thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct Extras<'a> {
    /// The correlation id to send (sets CORR_ID), if any.
    pub correlation_id: Option<CorrelationId>,
    /// Annotations to send.
    pub annotations: &'a [Annotation<'a>],
    /// Compress payloads over 100 bytes (Pyro's `COMPRESSION`; feature `alloc`).
    pub compress: bool,
}

/// One call to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallSpec<'a> {
    /// The object id.
    pub object: &'a str,
    /// The method (`__getattr__`/`__setattr__` for attributes, `<batch>` for batches).
    pub method: &'a str,
    /// Oneway: no reply will come.
    pub oneway: bool,
    /// A batch: the arguments are `(method, args, kwargs)` triples.
    pub batch: bool,
}

impl<'a> CallSpec<'a> {
    /// A method call (not oneway): the object's metadata decides that
    /// ([`ObjectMetadata::method`]).
    pub fn method(object: &'a str, method: &'a str) -> Self {
        Self { object, method, oneway: false, batch: false }
    }
}

/// Why a proxy call failed on the protocol level.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClientError {
    /// The message could not be written (transmit storage, size limit).
    Encode(EncodeError),
    /// The arguments could not be written in the proxy's serializer.
    Serialize(FormatError),
    /// The reply's payload could not be read as the type asked for.
    Payload(CallError),
    /// The daemon refused the connection (CONNECTFAIL) with this reason.
    Rejected(crate::ser::Message),
    /// A reply of a type that does not belong here (Pyro: "invalid msg type").
    UnexpectedMessage {
        /// The type received.
        kind: u8,
    },
    /// A reply to another request (Pyro: "invoke: reply sequence out of sync").
    SeqMismatch {
        /// The reply's sequence number.
        got: u16,
        /// The request's.
        expected: u16,
    },
    /// A reply in another serializer than the request (Pyro: "invalid serializer in
    /// response").
    SerializerMismatch {
        /// The reply's serializer id.
        got: u8,
    },
    /// Nothing was asked that this reply could answer, or the handshake is not done.
    NotExpected,
    /// [`MAX_IN_FLIGHT`] calls wait for their replies already: read some first.
    Busy,
    /// A stream result without a stream id: the daemon does not allow streaming.
    StreamingDisabled,
    /// The reply's payload could not be taken out of the message (e.g. it came compressed
    /// and this build has no zlib).
    Receive(crate::wire::DecodeError),
    /// No answer before the deadline (Pyro's `TimeoutError`).
    Timeout,
    /// The daemon closed the connection (Pyro's `ConnectionClosedError`).
    ConnectionClosed,
    /// The object's metadata names no such method or attribute (Python's proxy raises
    /// `AttributeError` before sending anything).
    NotExposed,
    /// The object's metadata names nothing at all: its class exposes nothing.
    NothingExposed,
    /// The object's metadata does not fit the storage given for it.
    MetadataTooLarge,
}

impl ClientError {
    /// The Python exception class Pyro5's proxy raises in the same situation.
    pub fn pyro_class(&self) -> &'static str {
        match self {
            Self::Encode(_)
            | Self::UnexpectedMessage { .. }
            | Self::SeqMismatch { .. }
            | Self::NotExpected
            | Self::Busy => "Pyro5.errors.ProtocolError",
            Self::StreamingDisabled => "Pyro5.errors.ProtocolError",
            Self::Receive(e) => e.pyro_class(),
            Self::Serialize(e) => e.pyro_class(),
            Self::Payload(e) => e.pyro_class(),
            Self::SerializerMismatch { .. } => "Pyro5.errors.SerializeError",
            Self::Rejected(_) => "Pyro5.errors.CommunicationError",
            Self::Timeout => "Pyro5.errors.TimeoutError",
            Self::ConnectionClosed => "Pyro5.errors.ConnectionClosedError",
            Self::NotExposed => "builtins.AttributeError",
            Self::NothingExposed | Self::MetadataTooLarge => "Pyro5.errors.PyroError",
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Encode(e) => write!(f, "{e}"),
            Self::Serialize(e) => write!(f, "cannot serialize the call: {e}"),
            Self::Payload(e) => write!(f, "cannot read the reply: {e}"),
            Self::Rejected(reason) => write!(f, "connection rejected: {reason}"),
            Self::UnexpectedMessage { kind } => write!(f, "invalid msg type {kind} received"),
            Self::SeqMismatch { got, expected } => {
                write!(f, "invoke: reply sequence out of sync, got {got} expected {expected}")
            }
            Self::SerializerMismatch { got } => write!(f, "invalid serializer in response: {got}"),
            Self::NotExpected => f.write_str("a reply came that nothing was waiting for"),
            Self::Busy => write!(f, "{MAX_IN_FLIGHT} calls wait for their replies already on this connection"),
            Self::StreamingDisabled => {
                f.write_str("result of call is an iterator, but the server is not configured to allow streaming")
            }
            Self::Receive(e) => write!(f, "{e}"),
            Self::Timeout => f.write_str("receiving: timeout"),
            Self::ConnectionClosed => f.write_str("receiving: not enough data"),
            Self::NotExposed => f.write_str("remote object has no exposed attribute or method of that name"),
            Self::NothingExposed => f.write_str(
                "remote object doesn't expose any methods or attributes. Did you forget setting @expose on them?",
            ),
            Self::MetadataTooLarge => f.write_str("the object's metadata does not fit the proxy's storage for it"),
        }
    }
}

impl core::error::Error for ClientError {}

impl From<EncodeError> for ClientError {
    fn from(e: EncodeError) -> Self {
        Self::Encode(e)
    }
}

impl From<CallError> for ClientError {
    fn from(e: CallError) -> Self {
        Self::Payload(e)
    }
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Waiting {
    Nothing,
    Connect,
}

/// Calls that may wait for their replies on one connection at once.
pub const MAX_IN_FLIGHT: usize = 32;

/// A call sent whose reply has not been read.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
struct InFlight {
    seq: u16,
    serializer: SerializerId,
    /// Given up (its deadline passed): its reply, if it comes, is read and dropped.
    abandoned: bool,
    /// When to give up (the adapter's clock, milliseconds).
    deadline: Option<u64>,
}

/// The proxy side of one connection. Calls may be pipelined: up to [`MAX_IN_FLIGHT`] wait
/// for their replies at once, each reply matched to its call by sequence number.
#[derive(Debug)]
pub struct ClientSession {
    serializer: SerializerId,
    seq: u16,
    ready: bool,
    waiting: Waiting,
    /// PINGs sent whose answers have not been read (several may be queued at once).
    pongs_due: u16,
    in_flight: heapless::Vec<InFlight, MAX_IN_FLIGHT>,
}

/// A request that was laid out: its length in the transmit storage and whether a reply
/// will come.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Sent {
    /// Bytes at the start of the transmit storage.
    pub len: usize,
    /// The sequence number used.
    pub seq: u16,
    /// Whether to wait for a reply (not for oneway calls).
    pub expects_reply: bool,
}

impl ClientSession {
    /// A connection that will speak `serializer`. One this build leaves out
    /// ([`SerializerId::is_enabled`]) is refused when a message is written:
    /// [`ClientError::Serialize`] with [`FormatError::UnknownSerializer`].
    pub fn new(serializer: SerializerId) -> Self {
        Self {
            serializer,
            seq: 0,
            ready: false,
            waiting: Waiting::Nothing,
            pongs_due: 0,
            in_flight: heapless::Vec::new(),
        }
    }

    /// The serializer of the next messages.
    pub fn serializer(&self) -> SerializerId {
        self.serializer
    }

    /// Use another serializer from the next message on (Pyro allows any per message).
    pub fn set_serializer(&mut self, serializer: SerializerId) {
        self.serializer = serializer;
    }

    /// The current sequence number (a reconnecting proxy carries it over).
    pub fn seq(&self) -> u16 {
        self.seq
    }

    /// Continue from sequence number `seq` (after a reconnect, as Pyro's proxy does).
    pub fn set_seq(&mut self, seq: u16) {
        self.seq = seq;
    }

    /// Whether the handshake is done.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Whether a CONNECT was written and its answer not read yet.
    pub fn awaits_connect(&self) -> bool {
        self.waiting == Waiting::Connect
    }

    /// Forget the connection state (the socket was closed): a new handshake is needed.
    pub fn reset(&mut self) {
        self.ready = false;
        self.waiting = Waiting::Nothing;
        self.pongs_due = 0;
        self.in_flight.clear();
    }

    /// How many calls wait for their replies (abandoned ones included until theirs came).
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Give up waiting for call `seq` (its deadline passed): the connection stays usable, and
    /// its reply, if it still comes, is read as [`Reply::Late`] and dropped. `false` when no
    /// such call waits.
    pub fn abandon(&mut self, seq: u16) -> bool {
        match self.in_flight.iter_mut().find(|c| c.seq == seq && !c.abandoned) {
            Some(call) => {
                call.abandoned = true;
                true
            }
            None => false,
        }
    }

    fn frame_message(
        &self,
        kind: MessageKind,
        serializer: SerializerId,
        flags: Flags,
        seq: u16,
        extras: &Extras<'_>,
    ) -> OutgoingMessage<'static> {
        OutgoingMessage {
            kind,
            serializer,
            flags,
            seq,
            correlation_id: extras.correlation_id,
            annotations: &[],
            compress: extras.compress,
        }
    }

    fn write(
        &self,
        message: &OutgoingMessage<'_>,
        extras: &Extras<'_>,
        limits: Limits,
        tx: &mut dyn RxStorage,
        payload: &dyn Fn(&mut Frame<'_>) -> Result<(), FormatError>,
    ) -> Result<usize, ClientError> {
        let mut frame = Frame::new(tx, limits);
        frame.annotate_all(extras.annotations)?;
        frame.start_payload();
        payload(&mut frame).map_err(ClientError::Serialize)?;
        Ok(frame.finish(message, limits)?)
    }

    /// Lay out the CONNECT for `object` with `handshake` data (Pyro's default: `"hello"`),
    /// at the current sequence number.
    ///
    /// # Errors
    /// [`ClientError::Encode`] or [`ClientError::Serialize`].
    pub fn write_connect<H: ?Sized + Serialize>(
        &mut self,
        object: &str,
        handshake: &H,
        extras: &Extras<'_>,
        limits: Limits,
        tx: &mut dyn RxStorage,
    ) -> Result<usize, ClientError> {
        struct Connect<'a, H: ?Sized> {
            handshake: &'a H,
            object: &'a str,
        }
        impl<H: ?Sized + Serialize> Serialize for Connect<'_, H> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("handshake", self.handshake)?;
                m.serialize_entry("object", self.object)?;
                m.end()
            }
        }
        let format = self.serializer;
        let message = self.frame_message(MessageKind::Connect, format, Flags::empty(), self.seq, extras);
        let len = self
            .write(&message, extras, limits, tx, &|frame| to_output(format, &Connect { handshake, object }, frame))?;
        self.ready = false;
        self.waiting = Waiting::Connect;
        Ok(len)
    }

    /// Read the daemon's answer to the CONNECT.
    ///
    /// # Errors
    /// [`ClientError::Rejected`] for CONNECTFAIL (with the daemon's reason),
    /// [`ClientError::UnexpectedMessage`] for anything else, [`ClientError::Payload`] for
    /// a payload that does not read.
    pub fn read_connect<'m>(&mut self, msg: &Message<'m>) -> Result<Connected<'m>, ClientError> {
        if self.waiting != Waiting::Connect {
            return Err(ClientError::NotExpected);
        }
        self.waiting = Waiting::Nothing;
        let header = msg.header();
        // Pyro reads the answer in the serializer the answer names, and does not check seq.
        let payload = msg.payload().map_err(ClientError::Receive)?;
        let limits = msg.limits();
        match header.kind {
            MessageKind::ConnectOk => {
                let connected =
                    Connected { format: header.serializer, payload, annotations: msg.annotations_view(), limits };
                decode_payload_with_limits::<ConnectOkShape>(header.serializer, payload, limits)?;
                self.ready = true;
                Ok(connected)
            }
            MessageKind::ConnectFail => {
                // Daemons refuse in marshal when they cannot answer in the client's
                // serializer; its strings read without the marshal feature.
                if header.serializer == SerializerId::Marshal
                    && let Some(reason) = marshal_str::read(payload)
                {
                    return Err(ClientError::Rejected(crate::ser::Message::new(&reason)));
                }
                let reason = decode_payload_with_limits::<Text<'_>>(header.serializer, payload, limits)?;
                Err(ClientError::Rejected(reason.0))
            }
            other => Err(ClientError::UnexpectedMessage { kind: u8::from(other) }),
        }
    }

    /// Lay out an INVOKE of `call` with positional `args` (a tuple or sequence) and keyword
    /// `kwargs` (a map), at the next sequence number. Without `kwargs` a method call gets an
    /// empty dict and remote attributes (`__getattr__`/`__setattr__`) and batches `None`, as
    /// Pyro's proxy sends them.
    ///
    /// # Errors
    /// [`ClientError::Encode`] or [`ClientError::Serialize`]; [`ClientError::NotExpected`]
    /// before the handshake; [`ClientError::Busy`] when [`MAX_IN_FLIGHT`] calls wait already.
    pub fn write_call<A: ?Sized + Serialize, K: ?Sized + Serialize>(
        &mut self,
        call: &CallSpec<'_>,
        args: &A,
        kwargs: Option<&K>,
        extras: &Extras<'_>,
        limits: Limits,
        tx: &mut dyn RxStorage,
    ) -> Result<Sent, ClientError> {
        let format = self.serializer;
        let method = if call.batch { BATCH_METHOD } else { call.method };
        let kwargs = match kwargs {
            Some(given) => Some(Kwargs::Given(given)),
            // Pyro's proxy sends None only for remote attributes and batches; a method call
            // always gets a dict (Python's daemon cannot call `f(**None)`).
            None if call.batch || matches!(call.method, "__getattr__" | "__setattr__") => None,
            None => Some(Kwargs::Empty),
        };
        let envelope = CallEnvelope { format, object: call.object, method, args, kwargs: kwargs.as_ref() };
        let mut flags = Flags::empty();
        flags.set(Flags::BATCH, call.batch);
        self.write_invoke(call, format, flags, None, extras, limits, tx, &|frame| to_output(format, &envelope, frame))
    }

    /// Lay out an INVOKE of `call` whose only argument is `blob`, passed on as it came (Pyro's
    /// dispatcher calling `listener.method(blob)`): KEEPSERIALIZED, its `BLBI` written for
    /// `call`'s object and method with the same `info`, its payload untouched and sent in its
    /// own serializer.
    ///
    /// # Errors
    /// As [`write_call`](Self::write_call).
    #[cfg(feature = "marshal")]
    pub fn write_blob(
        &mut self,
        call: &CallSpec<'_>,
        blob: &SerializedBlob<'_>,
        extras: &Extras<'_>,
        limits: Limits,
        tx: &mut dyn RxStorage,
    ) -> Result<Sent, ClientError> {
        let blbi = |out: &mut dyn Output| blob.write_blbi(call.object, call.method, out);
        let payload = |frame: &mut Frame<'_>| {
            frame.write_bytes(blob.payload()).map_err(|e| FormatError::Marshal(crate::ser::marshal::Error::from(e)))
        };
        self.write_invoke(call, blob.serializer(), Flags::KEEP_SERIALIZED, Some(&blbi), extras, limits, tx, &payload)
    }

    /// Lay out an INVOKE of `call` whose only argument is a new blob of `info` and `data`
    /// (Python's `proxy.method(SerializedBlob(info, data))`): KEEPSERIALIZED, `BLBI` holding
    /// `(info, object, method)` in marshal, and the call's payload with `data` in the place
    /// of the positional arguments, in the session's serializer.
    ///
    /// # Errors
    /// As [`write_call`](Self::write_call); `info` must be marshal-serializable.
    #[cfg(feature = "marshal")]
    pub fn write_new_blob<I: ?Sized + Serialize, D: ?Sized + Serialize>(
        &mut self,
        call: &CallSpec<'_>,
        info: &I,
        data: &D,
        extras: &Extras<'_>,
        limits: Limits,
        tx: &mut dyn RxStorage,
    ) -> Result<Sent, ClientError> {
        use crate::ser::blob::write_new_blbi;
        use crate::ser::marshal::Error as MarshalError;
        let format = self.serializer;
        // `info` that marshal cannot write is refused before anything is laid out; then only
        // the storage can fail.
        write_new_blbi(info, call.object, call.method, &mut Discard)
            .map_err(|e| ClientError::Serialize(FormatError::Marshal(e)))?;
        let blbi = |out: &mut dyn Output| match write_new_blbi(info, call.object, call.method, out) {
            Err(MarshalError::Output(e)) => Err(e),
            _ => Ok(()),
        };
        let kwargs: Option<&Kwargs<'_, ()>> = Some(&Kwargs::Empty);
        let envelope = CallEnvelope { format, object: call.object, method: call.method, args: data, kwargs };
        self.write_invoke(call, format, Flags::KEEP_SERIALIZED, Some(&blbi), extras, limits, tx, &|frame| {
            to_output(format, &envelope, frame)
        })
    }

    /// Lay out an INVOKE of `call` in `format` with `flags` (oneway added from `call`), the
    /// `BLBI` annotation `blbi` writes if any, and the payload `payload` writes, at the next
    /// sequence number; a call that expects a reply is remembered.
    #[allow(clippy::too_many_arguments)]
    fn write_invoke(
        &mut self,
        call: &CallSpec<'_>,
        format: SerializerId,
        mut flags: Flags,
        blbi: Option<&WriteWith<'_>>,
        extras: &Extras<'_>,
        limits: Limits,
        tx: &mut dyn RxStorage,
        payload: &dyn Fn(&mut Frame<'_>) -> Result<(), FormatError>,
    ) -> Result<Sent, ClientError> {
        if !self.ready {
            return Err(ClientError::NotExpected);
        }
        if !call.oneway && self.in_flight.is_full() {
            return Err(ClientError::Busy);
        }
        let seq = self.seq.wrapping_add(1);
        flags.set(Flags::ONEWAY, call.oneway);
        let message = self.frame_message(MessageKind::Invoke, format, flags, seq, extras);
        let len = {
            let mut frame = Frame::new(tx, limits);
            frame.annotate_all(extras.annotations)?;
            if let Some(blbi) = blbi {
                frame.annotate_with(AnnotationId::BLOB_INFO, blbi)?;
            }
            frame.start_payload();
            payload(&mut frame).map_err(ClientError::Serialize)?;
            frame.finish(&message, limits)?
        };
        self.seq = seq;
        if !call.oneway {
            // Sequence numbers wrap after 65,535 calls: an abandoned call that old is gone.
            self.in_flight.retain(|c| c.seq != seq);
            let _ = self.in_flight.push(InFlight { seq, serializer: format, abandoned: false, deadline: None });
        }
        Ok(Sent { len, seq, expects_reply: !call.oneway })
    }

    /// Lay out a PING (Pyro's `SendingMessage.ping`: serializer 42, seq 0, `b"ping"`).
    ///
    /// # Errors
    /// [`ClientError::Encode`].
    pub fn write_ping(
        &mut self,
        extras: &Extras<'_>,
        limits: Limits,
        tx: &mut dyn RxStorage,
    ) -> Result<usize, ClientError> {
        let message =
            self.frame_message(MessageKind::Ping, SerializerId::Unknown(PING_SERIALIZER_ID), Flags::empty(), 0, extras);
        let mut frame = Frame::new(tx, limits);
        frame.annotate_all(extras.annotations)?;
        crate::ser::Output::write_bytes(&mut frame, b"ping")
            .map_err(|_| ClientError::Encode(EncodeError::BufferTooSmall { required: 84 }))?;
        let len = frame.finish(&message, limits)?;
        self.pongs_due = self.pongs_due.saturating_add(1);
        Ok(len)
    }

    /// Check and read a reply as Pyro5's proxy does: the RESULT of a call waiting for it
    /// (matched by sequence number; replies may come in any order) in the request's
    /// serializer, or the PING answer to a ping. The reply of an
    /// [abandoned](Self::abandon) call is [`Reply::Late`]: drop it and read on.
    ///
    /// # Errors
    /// [`ClientError::UnexpectedMessage`], [`ClientError::SeqMismatch`] (a reply to no call
    /// waiting), [`ClientError::SerializerMismatch`], [`ClientError::NotExpected`],
    /// [`ClientError::StreamingDisabled`]. The connection should be closed after any of
    /// them, as Pyro5 closes its proxy's connection.
    pub fn read_reply<'m>(&mut self, msg: &Message<'m>) -> Result<Reply<'m>, ClientError> {
        let header = msg.header();
        if header.kind == MessageKind::Ping && self.pongs_due > 0 {
            self.pongs_due -= 1;
            return Ok(Reply::Pong);
        }
        if header.kind != MessageKind::Result {
            return match (self.waiting, self.in_flight.is_empty(), self.pongs_due) {
                (Waiting::Nothing, true, 0) => Err(ClientError::NotExpected),
                _ => Err(ClientError::UnexpectedMessage { kind: u8::from(header.kind) }),
            };
        }
        let Some(index) = self.in_flight.iter().position(|c| c.seq == header.seq) else {
            return Err(match self.in_flight.iter().find(|c| !c.abandoned) {
                Some(call) => ClientError::SeqMismatch { got: header.seq, expected: call.seq },
                None if self.pongs_due > 0 => ClientError::UnexpectedMessage { kind: u8::from(header.kind) },
                None => ClientError::NotExpected,
            });
        };
        let InFlight { seq, serializer, abandoned, .. } = self.in_flight.swap_remove(index);
        if abandoned {
            return Ok(Reply::Late { seq });
        }
        if header.serializer != serializer {
            return Err(ClientError::SerializerMismatch { got: u8::from(header.serializer) });
        }
        reply_of(msg)
    }

    /// Give call `seq` a deadline (the adapter's clock, milliseconds): see
    /// [`expire`](Self::expire). `false` when no such call waits.
    pub fn set_deadline(&mut self, seq: u16, deadline_ms: Option<u64>) -> bool {
        match self.in_flight.iter_mut().find(|c| c.seq == seq) {
            Some(call) => {
                call.deadline = deadline_ms;
                true
            }
            None => false,
        }
    }

    /// The earliest deadline of a call still waited for.
    pub fn next_deadline(&self) -> Option<u64> {
        self.in_flight.iter().filter(|c| !c.abandoned).filter_map(|c| c.deadline).min()
    }

    /// Abandon every call whose deadline is `now_ms` or earlier, calling `timed_out` with
    /// each one's sequence number.
    pub fn expire(&mut self, now_ms: u64, timed_out: &mut dyn FnMut(u16)) {
        for call in self.in_flight.iter_mut().filter(|c| !c.abandoned) {
            if call.deadline.is_some_and(|d| d <= now_ms) {
                call.abandoned = true;
                timed_out(call.seq);
            }
        }
    }
}

/// What a RESULT message says, as Pyro5's proxy reads its flags: an item stream (with its
/// id), an exception, a batch's results or a value.
fn reply_of<'m>(msg: &Message<'m>) -> Result<Reply<'m>, ClientError> {
    Reply::from_message(msg)
}

impl<'m> Reply<'m> {
    /// A RESULT message's reply as its flags say, without the connection's checks: for a
    /// message a [`ClientConnection`] reported already (as [`ClientEvent::Reply`]) and
    /// kept, to be read later or elsewhere.
    ///
    /// # Errors
    /// [`ClientError::StreamingDisabled`] for a stream result without a stream id;
    /// [`ClientError::Receive`] for a payload that cannot be taken out.
    pub fn from_message(msg: &Message<'m>) -> Result<Self, ClientError> {
        result_of(msg)
    }
}

fn result_of<'m>(msg: &Message<'m>) -> Result<Reply<'m>, ClientError> {
    let header = msg.header();
    let payload = msg.payload().map_err(ClientError::Receive)?;
    let body = Payload {
        format: header.serializer,
        bytes: payload,
        annotations: msg.annotations_view(),
        limits: msg.limits(),
    };
    let flags = header.flags;
    if flags.contains(Flags::ITEM_STREAM_RESULT) {
        let id = msg
            .annotation(AnnotationId::STREAM)
            .and_then(|text| core::str::from_utf8(text).ok())
            .and_then(StreamId::parse)
            .ok_or(ClientError::StreamingDisabled)?;
        return Ok(Reply::Stream { id, body });
    }
    if flags.contains(Flags::EXCEPTION) {
        return Ok(Reply::Exception(body));
    }
    if flags.contains(Flags::BATCH) {
        return Ok(Reply::Batch(body));
    }
    Ok(Reply::Value(body))
}

/// The keyword arguments of a call: the caller's, or an empty dict.
enum Kwargs<'a, K: ?Sized> {
    Given(&'a K),
    Empty,
}

impl<K: ?Sized + Serialize> Serialize for Kwargs<'_, K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Given(kwargs) => kwargs.serialize(s),
            Self::Empty => serde::ser::SerializeMap::end(s.serialize_map(Some(0))?),
        }
    }
}

/// The view of a CONNECTOK already checked by [`ClientSession::read_connect`].
fn connected_of<'m>(msg: &Message<'m>) -> Option<Connected<'m>> {
    let header = msg.header();
    let payload = msg.payload().ok()?;
    Some(Connected { format: header.serializer, payload, annotations: msg.annotations_view(), limits: msg.limits() })
}

/// A successful handshake: the daemon's answer and the object's metadata, still encoded.
#[derive(Clone, Copy, Debug)]
pub struct Connected<'m> {
    format: SerializerId,
    payload: &'m [u8],
    annotations: AnnotationsView<'m>,
    /// The limits of the decoder that received it.
    limits: Limits,
}

impl<'m> Connected<'m> {
    /// The daemon's handshake answer (Pyro's default: `"hello"`).
    ///
    /// # Errors
    /// When it does not fit `T`.
    pub fn handshake<T: Deserialize<'m>>(&self) -> Result<T, ClientError> {
        Ok(decode_payload_with_limits::<HandshakeField<T>>(self.format, self.payload, self.limits)?.0)
    }

    /// Call `f` with each name in the metadata's `methods`, `oneway` or `attrs` set.
    ///
    /// # Errors
    /// When the payload does not read.
    pub fn for_each_name(&self, set: MetaSet, f: &mut dyn FnMut(&'m str)) -> Result<(), ClientError> {
        let seed = MetaWalk { set, f };
        decode_payload_seed_with_limits(self.format, self.payload, seed, self.limits)?;
        Ok(())
    }

    /// Whether `name` is in one of the metadata's sets (e.g. whether a method is oneway).
    ///
    /// # Errors
    /// When the payload does not read.
    pub fn contains(&self, set: MetaSet, name: &str) -> Result<bool, ClientError> {
        let mut found = false;
        self.for_each_name(set, &mut |n| found |= n == name)?;
        Ok(found)
    }

    /// The annotations that came with the answer.
    pub fn annotations(&self) -> AnnotationsView<'m> {
        self.annotations
    }
}

/// One of the three sets of an object's metadata.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum MetaSet {
    /// Every exposed method.
    Methods,
    /// The oneway methods.
    Oneway,
    /// The exposed properties.
    Attrs,
}

impl MetaSet {
    fn key(self) -> &'static str {
        match self {
            Self::Methods => "methods",
            Self::Oneway => "oneway",
            Self::Attrs => "attrs",
        }
    }
}

/// The daemon's answer to a call.
#[derive(Clone, Copy, Debug)]
pub enum Reply<'m> {
    /// The return value.
    Value(Payload<'m>),
    /// An exception the call raised.
    Exception(Payload<'m>),
    /// The call returned an iterator: its items come one per `get_next_stream_item`.
    Stream {
        /// The stream's id.
        id: StreamId,
        /// The marker exception that came with it.
        body: Payload<'m>,
    },
    /// The results of a batch, in order; a call that raised is an exception wrapper dict
    /// and ends the list.
    Batch(Payload<'m>),
    /// The answer to a ping.
    Pong,
    /// The reply to call `seq`, which was [abandoned](ClientSession::abandon): drop it.
    Late {
        /// The call's sequence number.
        seq: u16,
    },
}

/// A reply payload, still encoded.
#[derive(Clone, Copy, Debug)]
pub struct Payload<'m> {
    /// Its serializer.
    pub format: SerializerId,
    /// Its bytes (inflated if it came compressed).
    pub bytes: &'m [u8],
    /// The annotations that came with it (Pyro's `response_annotations`).
    pub annotations: AnnotationsView<'m>,
    /// The limits it is read within (those of the decoder that received it:
    /// [`Message::limits`]).
    pub limits: Limits,
}

impl<'m> Payload<'m> {
    /// Read it as a `T`.
    ///
    /// # Errors
    /// When it does not fit `T`.
    pub fn decode<T: Deserialize<'m>>(&self) -> Result<T, ClientError> {
        Ok(decode_payload_with_limits(self.format, self.bytes, self.limits)?)
    }

    /// Read it as an exception: class and message, no allocator needed.
    ///
    /// # Errors
    /// When it is no exception dict.
    pub fn exception(&self) -> Result<RemoteException<'m>, ClientError> {
        self.decode()
    }
}

#[cfg(feature = "alloc")]
impl Payload<'_> {
    /// The results of a batch ([`Reply::Batch`]), in order: each call's value, or for the
    /// call that raised (which ends the list: the daemon stops there) the exception inside
    /// Pyro's exception wrapper. A reply that is no list is one value.
    ///
    /// # Errors
    /// When the payload does not read.
    pub fn batch_results(
        &self,
    ) -> Result<alloc::vec::Vec<Result<crate::ser::value::Value, crate::ser::value::Value>>, ClientError> {
        use crate::ser::envelope::EXCEPTION_WRAPPER_CLASS;
        use crate::ser::value::Value;
        let results = self.decode::<Value>()?;
        let (Value::List(items) | Value::Tuple(items)) = results else {
            return Ok(alloc::vec![Ok(results)]);
        };
        Ok(items
            .into_iter()
            .map(|item| match item.class_name() {
                Some(EXCEPTION_WRAPPER_CLASS) => Err(item.get("exception").cloned().unwrap_or(Value::None)),
                _ => Ok(item),
            })
            .collect())
    }
}

/// A CONNECTFAIL's reason, kept short.
struct Text<'a>(crate::ser::Message, core::marker::PhantomData<&'a ()>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a reason string")
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(crate::ser::Message::new(&v), core::marker::PhantomData))
            }
        }
        d.deserialize_str(V)
    }
}

/// Checks that a CONNECTOK payload is a dict (contents are read lazily).
struct ConnectOkShape;

impl<'de> Deserialize<'de> for ConnectOkShape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| ConnectOkShape)
    }
}

/// The `handshake` value of a CONNECTOK dict.
struct HandshakeField<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for HandshakeField<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(core::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = HandshakeField<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a CONNECTOK dict")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut found = None;
                while let Some(key) = map.next_key::<KeyStr<'de>>()? {
                    if key.0 == "handshake" {
                        found = Some(map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                found.map(HandshakeField).ok_or_else(|| de::Error::missing_field("handshake"))
            }
        }
        d.deserialize_map(V(core::marker::PhantomData))
    }
}

/// A dict key compared as text (borrowed when possible).
struct KeyStr<'a>(heapless::String<16>, core::marker::PhantomData<&'a ()>);

impl<'de> Deserialize<'de> for KeyStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a dict key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                let mut s = heapless::String::new();
                let _ = s.push_str(v.get(..16).unwrap_or(v));
                Ok(KeyStr(s, core::marker::PhantomData))
            }
        }
        d.deserialize_str(V)
    }
}

/// Walks `{"meta": {set: [names]}}` calling `f` for each name of one set.
struct MetaWalk<'f, 'm> {
    set: MetaSet,
    f: &'f mut dyn FnMut(&'m str),
}

impl<'de, 'f> DeserializeSeed<'de> for MetaWalk<'f, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        struct Outer<'f, 'm>(MetaWalk<'f, 'm>);
        impl<'de, 'f> Visitor<'de> for Outer<'f, 'de> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a CONNECTOK dict")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
                let mut walk = Some(self.0);
                while let Some(key) = map.next_key::<KeyStr<'de>>()? {
                    match (key.0.as_str(), walk.take()) {
                        ("meta", Some(w)) => map.next_value_seed(Sets(w))?,
                        (_, w) => {
                            walk = w;
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(())
            }
        }
        d.deserialize_map(Outer(self))
    }
}

struct Sets<'f, 'm>(MetaWalk<'f, 'm>);

impl<'de, 'f> DeserializeSeed<'de> for Sets<'f, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        struct V<'f, 'm>(MetaWalk<'f, 'm>);
        impl<'de, 'f> Visitor<'de> for V<'f, 'de> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a metadata dict")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
                let MetaWalk { set, f } = self.0;
                while let Some(key) = map.next_key::<KeyStr<'de>>()? {
                    if key.0 == set.key() {
                        map.next_value_seed(Names(&mut *f))?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(())
            }
        }
        d.deserialize_map(V(self.0))
    }
}

struct Names<'f, 'm>(&'f mut dyn FnMut(&'m str));

impl<'de, 'f> DeserializeSeed<'de> for Names<'f, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        struct V<'f, 'm>(&'f mut dyn FnMut(&'m str));
        impl<'de, 'f> Visitor<'de> for V<'f, 'de> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a set of names")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
                while let Some(name) = seq.next_element::<&'de str>()? {
                    (self.0)(name);
                }
                Ok(())
            }
            // serpent's empty set is `()`, marshal's sets come as sequences too.
            fn visit_unit<E>(self) -> Result<(), E> {
                Ok(())
            }
        }
        d.deserialize_any(V(self.0))
    }
}

#[cfg(all(test, feature = "std"))]
mod tests;

#[cfg(all(test, feature = "std"))]
mod connection_tests;

#[cfg(test)]
mod serializer_tests {
    use super::*;
    use crate::wire::{Decoder, encode};

    const FORMATS: [SerializerId; 4] =
        [SerializerId::Serpent, SerializerId::Marshal, SerializerId::Json, SerializerId::Msgpack];

    #[test]
    fn a_serializer_left_out_is_refused_before_anything_is_sent() {
        for format in FORMATS.into_iter().filter(|f| !f.is_enabled()) {
            let mut client = ClientSession::new(format);
            let mut tx = [0u8; 256];
            let err = client
                .write_connect("obj", &"hello", &Extras::default(), Limits::default(), &mut &mut tx[..])
                .unwrap_err();
            assert_eq!(err, ClientError::Serialize(FormatError::UnknownSerializer(u8::from(format))));
            assert_eq!(err.pyro_class(), "Pyro5.errors.SerializeError");
            assert!(!client.is_ready());
        }
    }

    #[test]
    fn a_connect_fail_in_marshal_reads_in_every_build() {
        let mut client = ClientSession::new(SerializerId::Json);
        let mut tx = [0u8; 256];
        if client.write_connect("obj", &"hello", &Extras::default(), Limits::default(), &mut &mut tx[..]).is_err() {
            // No json in this build: what the daemon answers is read all the same.
            client.waiting = Waiting::Connect;
        }
        let msg = OutgoingMessage::new(MessageKind::ConnectFail, SerializerId::Marshal, 0);
        let mut frame = [0u8; 128];
        let len = encode(&msg, b"\xda\x0bserver busy", &mut frame, Limits::default()).unwrap();
        let mut rx = [0u8; 128];
        let mut decoder = Decoder::new(&mut rx[..], Limits::default());
        decoder.feed(&frame[..len]).unwrap();
        let err = client.read_connect(&decoder.message().unwrap()).unwrap_err();
        assert_eq!(err, ClientError::Rejected(crate::ser::Message::new(&"server busy")));
    }
}

#[cfg(all(test, not(feature = "alloc"), feature = "json"))]
mod no_alloc_tests {
    use super::*;
    use crate::wire::{CompressionError, DecodeError, Decoder, HEADER_LEN, Header};

    /// Without zlib, a compressed reply is reported as such, not as a wrong message type.
    #[test]
    fn a_compressed_reply_without_zlib_says_so() {
        let mut client = ClientSession::new(SerializerId::Json);
        client.ready = true;
        let mut tx = [0u8; 256];
        let spec = CallSpec { object: "o", method: "m", oneway: false, batch: false };
        client
            .write_call(&spec, NO_ARGS, None::<&()>, &Extras::default(), Limits::default(), &mut &mut tx[..])
            .unwrap();
        let mut header = Header::new(MessageKind::Result, SerializerId::Json, 1);
        header.flags = Flags::COMPRESSED;
        header.data_len = 4;
        let mut frame = [0u8; HEADER_LEN + 4];
        header.emit((&mut frame[..HEADER_LEN]).try_into().unwrap());
        frame[HEADER_LEN..].copy_from_slice(b"\x78\x5e\x00\x00");
        let mut rx = [0u8; 64];
        let mut decoder = Decoder::new(&mut rx[..], Limits::default());
        decoder.feed(&frame).unwrap();
        let err = client.read_reply(&decoder.message().unwrap()).unwrap_err();
        assert_eq!(err, ClientError::Receive(DecodeError::Compression(CompressionError::Unsupported)));
    }
}
