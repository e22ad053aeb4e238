//! One client connection: handshake, then requests, each answered in its own serializer
//! (`docs/wire-protocol.md`, "Connections" and "When the daemon closes a connection").

use core::fmt;

use serde::Serialize;

use super::daemon_object::DaemonObject;
use super::exception::{ATTRIBUTE_ERROR, DAEMON_ERROR, ExceptionOut, PROTOCOL_ERROR, PYRO_ERROR, PyException, Raised};
use super::object::{Args, CallContext, ConnectionId, Invocation, PyroObject, Qualname, is_private_name};
use super::registry::DAEMON_OBJECT_ID;
use super::reply::{Mode, Outcome, Reply};
use super::streams::{STREAM_NAME_CAPACITY, StreamEntry, StreamId, StreamSource};
use super::{Answered, HandshakeAnswer, Server};
#[cfg(feature = "marshal")]
use crate::ser::blob::{BlobError, SerializedBlob};
use crate::ser::call::{CallView, ConnectView};
use crate::ser::envelope::BATCH_METHOD;
use crate::ser::{Output, OutputError, marshal_str, to_output};
use crate::wire::frame::Frame;
use crate::wire::{
    AnnotationId, CorrelationId, DecodeError, Flags, Message, MessageKind, OutgoingMessage, RxStorage, SerializerId,
};

/// What the daemon needs from the outside world for one message: the time (for stream
/// lifetimes) and fresh randomness (correlation ids and stream ids are random UUIDs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Env {
    /// Now, in milliseconds on a monotonic clock.
    pub now_ms: u64,
    /// 32 fresh random bytes.
    pub random: [u8; 32],
}

/// How an INVOKE is answered: by the registered object (Pyro's checks, batches, attributes,
/// the daemon object), or by code that computed the answer itself (a deferred call).
pub(crate) enum Serve<'f> {
    Registry,
    /// The registry, and an async method's future goes to the slot.
    #[cfg(feature = "alloc")]
    Start(&'f mut Option<super::AsyncCall>),
    With(&'f mut dyn FnMut(&Invocation<'_>, Reply<'_, '_>) -> super::Replied),
}

/// What the adapter does after a message was handled.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) enum Action {
    /// Send the first `len` bytes of the transmit storage.
    Send {
        /// Length of the reply.
        len: usize,
    },
    /// Send the first `len` bytes of the transmit storage, then close the connection.
    SendAndClose {
        /// Length of the reply.
        len: usize,
    },
    /// Nothing to send (a oneway call).
    Nothing,
    /// The call goes on in a future; its answer comes later.
    #[cfg(feature = "alloc")]
    Later,
    /// Close the connection without a reply (Pyro5 does so for a broken byte stream).
    Close(CloseReason),
}

/// Why a connection is closed without a reply.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CloseReason {
    /// The byte stream is broken (bad header, annotations, compression).
    BadMessage,
    /// A message type not allowed here.
    UnexpectedMessage(u8),
    /// A serializer id none of the four, or one this build leaves out
    /// ([`SerializerId::is_enabled`]).
    UnknownSerializer(u8),
    /// The reply could not be written (too large, storage full).
    ReplyTooLarge,
    /// The handshake was refused.
    HandshakeFailed,
    /// The client was idle too long.
    IdleTimeout,
    /// A reply made no progress for the send timeout: the client does not read its replies.
    SendTimeout,
    /// The client closed the connection (or it broke).
    PeerClosed,
    /// The daemon had no room for another client ([`ServerConnection::refuse`](super::ServerConnection::refuse)).
    Refused,
    /// The daemon stopped serving it ([`ServerConnection::close`](super::ServerConnection::close)).
    Closed,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMessage => f.write_str("malformed message"),
            Self::UnexpectedMessage(t) => write!(f, "unexpected message type {t}"),
            Self::UnknownSerializer(id) => crate::ser::unsupported(f, *id),
            Self::ReplyTooLarge => f.write_str("the reply does not fit the size limit or the transmit storage"),
            Self::HandshakeFailed => f.write_str("handshake refused"),
            Self::IdleTimeout => f.write_str("idle timeout"),
            Self::SendTimeout => f.write_str("reply not sent: the client does not read (send timeout)"),
            Self::PeerClosed => f.write_str("closed by the client"),
            Self::Refused => f.write_str("refused: the daemon has no room for another connection"),
            Self::Closed => f.write_str("closed by the daemon"),
        }
    }
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum State {
    AwaitingConnect,
    Ready,
    Closed,
}

/// The daemon side of one client connection.
#[derive(Debug)]
pub(crate) struct Session {
    id: ConnectionId,
    client: Option<core::net::SocketAddr>,
    state: State,
}

impl Session {
    /// A new connection, expecting the client's CONNECT.
    pub(crate) fn new(id: ConnectionId, client: Option<core::net::SocketAddr>) -> Self {
        Self { id, client, state: State::AwaitingConnect }
    }

    /// A connection past its handshake: for running a oneway call elsewhere (another
    /// thread) with the same identity.
    pub(crate) fn after_handshake(id: ConnectionId, client: Option<core::net::SocketAddr>) -> Self {
        Self { id, client, state: State::Ready }
    }

    /// Its id.
    pub(crate) fn id(&self) -> ConnectionId {
        self.id
    }

    /// The client's address.
    pub(crate) fn client(&self) -> Option<core::net::SocketAddr> {
        self.client
    }

    /// Whether the handshake is done.
    pub(crate) fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// Handle one complete message; the reply (if any) is written at the start of `tx`.
    pub(crate) fn handle(
        &mut self,
        msg: &Message<'_>,
        server: &Server<'_>,
        env: &Env,
        tx: &mut dyn RxStorage,
        serve: Serve<'_>,
    ) -> Action {
        let action = match self.state {
            State::AwaitingConnect => self.handshake(msg, server, env, tx),
            State::Ready => match msg.header().kind {
                MessageKind::Ping => self.ping(msg, server, env, tx),
                MessageKind::Invoke => self.invoke(msg, server, env, tx, serve),
                other => Action::Close(CloseReason::UnexpectedMessage(u8::from(other))),
            },
            State::Closed => Action::Close(CloseReason::BadMessage),
        };
        if matches!(action, Action::Close(_) | Action::SendAndClose { .. }) {
            self.state = State::Closed;
        }
        action
    }

    /// The decoder failed: during the handshake Pyro answers with CONNECTFAIL (in marshal,
    /// sequence 0) before closing; afterwards it just closes.
    pub(crate) fn receive_error(&mut self, error: &DecodeError, server: &Server<'_>, tx: &mut dyn RxStorage) -> Action {
        let action = if self.state == State::AwaitingConnect {
            connect_fail(server, SerializerId::Marshal, 0, None, &error.pyro_message(), tx)
        } else {
            Action::Close(CloseReason::BadMessage)
        };
        self.state = State::Closed;
        action
    }

    /// The client sent nothing for the adapter's idle timeout: during the handshake Pyro
    /// answers CONNECTFAIL "receiving: timeout" (marshal, sequence 0); afterwards it just
    /// closes.
    pub(crate) fn timed_out(&mut self, server: &Server<'_>, tx: &mut dyn RxStorage) -> Action {
        let action = if self.state == State::AwaitingConnect {
            connect_fail(server, SerializerId::Marshal, 0, None, &"receiving: timeout", tx)
        } else {
            Action::Close(CloseReason::IdleTimeout)
        };
        self.state = State::Closed;
        action
    }

    /// Refuse this client (e.g. no free worker): the CONNECT in `msg` is answered with
    /// CONNECTFAIL carrying `reason`, as Pyro's thread pool server does; then close.
    pub(crate) fn deny(
        &mut self,
        msg: &Message<'_>,
        reason: &dyn fmt::Display,
        server: &Server<'_>,
        tx: &mut dyn RxStorage,
    ) -> Action {
        self.state = State::Closed;
        connect_fail(server, SerializerId::Marshal, msg.header().seq, None, reason, tx)
    }

    /// The connection is gone: its streams linger, its per-connection objects go.
    pub(crate) fn closed(&mut self, server: &Server<'_>, now_ms: u64) {
        self.state = State::Closed;
        server.streams.disconnected(self.id, now_ms, &server.config.streams);
        server.registry.connection_closed(self.id);
    }

    pub(crate) fn correlation_id(msg: &Message<'_>, env: &Env) -> CorrelationId {
        let header = msg.header();
        if header.flags.contains(Flags::CORR_ID) {
            return header.correlation_id;
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&env.random[..16]);
        CorrelationId(StreamId::from_random(id).0)
    }

    fn handshake(&mut self, msg: &Message<'_>, server: &Server<'_>, env: &Env, tx: &mut dyn RxStorage) -> Action {
        let header = *msg.header();
        if header.kind != MessageKind::Connect {
            let text = Raised {
                class: "",
                message: format_args!("invalid msg type {} received (expected: 1)", u8::from(header.kind)),
            };
            return connect_fail(server, SerializerId::Marshal, 0, None, &text, tx);
        }
        if let SerializerId::Unknown(id) = header.serializer {
            return Action::Close(CloseReason::UnknownSerializer(id));
        }
        let corr = Self::correlation_id(msg, env);
        if !header.serializer.is_enabled() {
            // A serializer Pyro knows but this build leaves out: say so, in marshal.
            let reason = Unsupported(header.serializer);
            return connect_fail(server, SerializerId::Marshal, header.seq, Some(corr), &reason, tx);
        }
        let payload = match msg.payload() {
            Ok(p) => p,
            Err(e) => return connect_fail(server, SerializerId::Marshal, 0, None, &e.pyro_message(), tx),
        };
        let request = match ConnectView::parse_with_limits(header.serializer, payload, server.config.limits) {
            Ok(r) => r,
            Err(e) => return connect_fail(server, header.serializer, header.seq, Some(corr), &e, tx),
        };
        let mut frame = Frame::new(tx, server.config.limits);
        let mut result = AnswerResult::Pending;
        let object = request.object();
        let mut answer_with = |meta: Option<super::Metadata<'_>>, frame: &mut Frame<'_>| {
            let answer = Answer {
                frame,
                format: header.serializer,
                meta,
                result: &mut result,
                annotations: server.config.annotations,
            };
            let answer = HandshakeAnswer { inner: answer };
            let _: Answered = match server.handshake {
                Some(validator) => validator.validate(self.id, &request, answer),
                None => answer.accept("hello"),
            };
        };
        if object == DAEMON_OBJECT_ID {
            answer_with(Some(DaemonObject::METADATA), &mut frame);
        } else if !server.registry.with_object(self.id, object, &mut |o| answer_with(Some(o.metadata()), &mut frame)) {
            answer_with(None, &mut frame);
        }
        let kind = match result {
            AnswerResult::Accepted => MessageKind::ConnectOk,
            AnswerResult::Refused => MessageKind::ConnectFail,
            AnswerResult::UnknownObject => {
                return connect_fail(server, header.serializer, header.seq, Some(corr), &"unknown object", tx);
            }
            AnswerResult::Pending => return Action::Close(CloseReason::ReplyTooLarge),
        };
        let len = finish(&mut frame, server, kind, header.serializer, Flags::empty(), header.seq, Some(corr));
        match (kind, len) {
            (MessageKind::ConnectOk, Some(len)) => {
                self.state = State::Ready;
                Action::Send { len }
            }
            (_, Some(len)) => Action::SendAndClose { len },
            (_, None) => Action::Close(CloseReason::ReplyTooLarge),
        }
    }

    fn ping(&mut self, msg: &Message<'_>, server: &Server<'_>, env: &Env, tx: &mut dyn RxStorage) -> Action {
        let header = msg.header();
        let mut frame = Frame::new(tx, server.config.limits);
        if frame.annotate_all(server.config.annotations).is_err() || frame.write_bytes(b"pong").is_err() {
            return Action::Close(CloseReason::ReplyTooLarge);
        }
        let corr = Self::correlation_id(msg, env);
        match finish(&mut frame, server, MessageKind::Ping, header.serializer, Flags::empty(), header.seq, Some(corr)) {
            Some(len) => Action::Send { len },
            None => Action::Close(CloseReason::ReplyTooLarge),
        }
    }

    fn invoke(
        &mut self,
        msg: &Message<'_>,
        server: &Server<'_>,
        env: &Env,
        tx: &mut dyn RxStorage,
        serve: Serve<'_>,
    ) -> Action {
        let header = *msg.header();
        let format = header.serializer;
        if !format.is_enabled() {
            return Action::Close(CloseReason::UnknownSerializer(u8::from(format)));
        }
        let Ok(payload) = msg.payload() else { return Action::Close(CloseReason::BadMessage) };
        let oneway = header.flags.contains(Flags::ONEWAY);
        let context = CallContext {
            connection: self.id,
            client: self.client,
            correlation_id: Self::correlation_id(msg, env),
            annotations: msg.annotations_view(),
            seq: header.seq,
            object_id: "",
        };
        let mut frame = Frame::new(tx, server.config.limits);
        let mut outcome = Outcome::Pending;
        let mut batched = false;
        let mut request = Request {
            server,
            env,
            frame: &mut frame,
            outcome: &mut outcome,
            format,
            mode: if oneway { Mode::Discard } else { Mode::Result },
            later: false,
        };
        let parsed;
        #[cfg(feature = "marshal")]
        let blob;
        let called = if header.flags.contains(Flags::KEEP_SERIALIZED) {
            #[cfg(feature = "marshal")]
            {
                // Object and method come from BLBI; the payload stays as it is.
                let blbi = msg.annotations_view().get(AnnotationId::BLOB_INFO).ok_or(BlobError::Missing);
                blob = blbi.and_then(|blbi| SerializedBlob::parse(blbi, format, payload));
                match &blob {
                    Ok(blob) => Ok(Called::Blob(blob)),
                    Err(e) => {
                        request.raise(&Raised { class: e.pyro_class(), message: format_args!("{e}") }, "", "");
                        Err(())
                    }
                }
            }
            #[cfg(not(feature = "marshal"))]
            {
                let e = PyException::new(
                    "Pyro5.errors.SerializeError",
                    "SerializedBlob calls (KEEPSERIALIZED) need the marshal serializer, which this daemon leaves out",
                );
                request.raise(&e, "", "");
                Err(())
            }
        } else {
            parsed = CallView::parse_with_limits(format, payload, server.config.limits);
            match &parsed {
                Ok(call) => Ok(Called::View(call)),
                Err(e) => {
                    request.raise(&Raised { class: e.pyro_class(), message: format_args!("{e}") }, "", "");
                    Err(())
                }
            }
        };
        if let Ok(call) = called {
            let context = CallContext { object_id: call.object(), ..context };
            batched = header.flags.contains(Flags::BATCH) && matches!(call, Called::View(_));
            match serve {
                Serve::Registry => request.call(&context, call, batched),
                #[cfg(feature = "alloc")]
                Serve::Start(slot) => {
                    request.later = true;
                    request.call(&context, call, batched);
                    if matches!(request.outcome, Outcome::Later(_)) {
                        if let Outcome::Later(work) = core::mem::replace(&mut *request.outcome, Outcome::Pending) {
                            *slot = Some(work);
                        }
                        return Action::Later;
                    }
                }
                Serve::With(answer) => {
                    batched = false;
                    let method = call.method();
                    let inv = Invocation { context: &context, method, args: call.args() };
                    let _ = answer(&inv, request.reply(call.object(), method));
                    request.after_call(&context, method);
                }
            }
        }
        if oneway {
            return Action::Nothing;
        }
        let mut flags = Flags::empty();
        match core::mem::replace(&mut outcome, Outcome::Pending) {
            Outcome::Value if batched => flags |= Flags::BATCH,
            Outcome::Value => {}
            Outcome::Exception | Outcome::Stop => flags |= Flags::EXCEPTION,
            Outcome::Pending => return Action::Close(CloseReason::ReplyTooLarge),
            // Taken above where the adapter runs futures; refused by `Reply::later` elsewhere.
            #[cfg(feature = "alloc")]
            Outcome::Later(_) => return Action::Close(CloseReason::ReplyTooLarge),
            // Streams are registered where the call returned them.
            Outcome::Stream(_) => flags |= Flags::EXCEPTION | Flags::ITEM_STREAM_RESULT,
            #[cfg(feature = "alloc")]
            Outcome::Iter(_) => flags |= Flags::EXCEPTION | Flags::ITEM_STREAM_RESULT,
        }
        match finish(&mut frame, server, MessageKind::Result, format, flags, header.seq, Some(context.correlation_id)) {
            Some(len) => Action::Send { len },
            None => Action::Close(CloseReason::ReplyTooLarge),
        }
    }
}

/// A call as the daemon serves it: an ordinary one, or one whose argument is a serialized
/// blob (KEEPSERIALIZED).
#[derive(Clone, Copy)]
enum Called<'a> {
    View(&'a CallView<'a>),
    #[cfg(feature = "marshal")]
    Blob(&'a SerializedBlob<'a>),
}

impl<'a> Called<'a> {
    fn object(self) -> &'a str {
        match self {
            Self::View(call) => call.object(),
            #[cfg(feature = "marshal")]
            Self::Blob(blob) => blob.object(),
        }
    }

    fn method(self) -> &'a str {
        match self {
            Self::View(call) => call.method(),
            #[cfg(feature = "marshal")]
            Self::Blob(blob) => blob.method(),
        }
    }

    fn args(self) -> Args<'a> {
        match self {
            Self::View(call) => Args::Call(call),
            #[cfg(feature = "marshal")]
            Self::Blob(blob) => Args::Blob(blob),
        }
    }

    /// Whether the keyword arguments came as `None` (a blob call has none: Python passes
    /// the blob alone).
    fn kwargs_is_none(self) -> bool {
        match self {
            Self::View(call) => call.kwargs_is_none(),
            #[cfg(feature = "marshal")]
            Self::Blob(_) => false,
        }
    }
}

/// Write the header of the message in `frame`; its length, or `None` when it cannot be sent.
fn finish(
    frame: &mut Frame<'_>,
    server: &Server<'_>,
    kind: MessageKind,
    serializer: SerializerId,
    flags: Flags,
    seq: u16,
    correlation_id: Option<CorrelationId>,
) -> Option<usize> {
    let message = OutgoingMessage {
        kind,
        serializer,
        flags,
        seq,
        correlation_id,
        annotations: &[],
        compress: server.config.compress,
    };
    match frame.finish(&message, server.config.limits) {
        Ok(len) => Some(len),
        Err(e) => {
            warn!("reply not sent: {}", e);
            None
        }
    }
}

/// CONNECTFAIL with `reason` as the serialized string, then close. In marshal the string
/// is written without the marshal serializer, so that builds without it answer too.
fn connect_fail(
    server: &Server<'_>,
    format: SerializerId,
    seq: u16,
    corr: Option<CorrelationId>,
    reason: &dyn fmt::Display,
    tx: &mut dyn RxStorage,
) -> Action {
    let mut frame = Frame::new(tx, server.config.limits);
    let _ = frame.annotate_all(server.config.annotations);
    frame.start_payload();
    let written = if format == SerializerId::Marshal {
        marshal_str::write_display(&mut frame, reason).is_ok()
    } else {
        to_output(format, &Text(reason), &mut frame).is_ok()
    };
    if !written {
        return Action::Close(CloseReason::HandshakeFailed);
    }
    match finish(&mut frame, server, MessageKind::ConnectFail, format, Flags::empty(), seq, corr) {
        Some(len) => Action::SendAndClose { len },
        None => Action::Close(CloseReason::HandshakeFailed),
    }
}

/// The CONNECTFAIL reason for a serializer this build leaves out: the Python client raises
/// `CommunicationError("connection to ... rejected: <this>")`.
struct Unsupported(SerializerId);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.0.name().unwrap_or("?");
        write!(f, "serializer {name} is not supported by this daemon; use one of:")?;
        let all = [SerializerId::Serpent, SerializerId::Marshal, SerializerId::Json, SerializerId::Msgpack];
        for (i, id) in all.into_iter().filter(|id| id.is_enabled()).enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{}", id.name().unwrap_or("?"))?;
        }
        Ok(())
    }
}

/// A `Display` serialized as a string.
pub(crate) struct Text<'a>(pub &'a dyn fmt::Display);

impl Serialize for Text<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

enum AnswerResult {
    Pending,
    Accepted,
    Refused,
    UnknownObject,
}

/// The handshake answer being written.
pub(crate) struct Answer<'r, 's> {
    frame: &'r mut Frame<'s>,
    /// The daemon's annotations, on every reply.
    annotations: &'r [crate::wire::Annotation<'r>],
    format: SerializerId,
    meta: Option<super::Metadata<'r>>,
    result: &'r mut AnswerResult,
}

impl Answer<'_, '_> {
    pub(crate) fn accept<T: ?Sized + Serialize>(self, value: &T) -> Answered {
        let Some(meta) = self.meta else {
            *self.result = AnswerResult::UnknownObject;
            return Answered(());
        };
        struct ConnectOk<'a, T: ?Sized> {
            handshake: &'a T,
            meta: super::Metadata<'a>,
        }
        impl<T: ?Sized + Serialize> Serialize for ConnectOk<'_, T> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("handshake", self.handshake)?;
                m.serialize_entry("meta", &self.meta)?;
                m.end()
            }
        }
        let _ = self.frame.annotate_all(self.annotations);
        self.frame.start_payload();
        let mark = self.frame.mark();
        match to_output(self.format, &ConnectOk { handshake: value, meta }, self.frame) {
            Ok(()) => *self.result = AnswerResult::Accepted,
            Err(e) => {
                self.frame.truncate(mark);
                return Self { meta: None, ..self }.refuse(&e);
            }
        }
        Answered(())
    }

    pub(crate) fn refuse(self, reason: &dyn fmt::Display) -> Answered {
        self.frame.reset();
        let _ = self.frame.annotate_all(self.annotations);
        self.frame.start_payload();
        if to_output(self.format, &Text(reason), self.frame).is_ok() {
            *self.result = AnswerResult::Refused;
        }
        Answered(())
    }
}

/// One INVOKE being served.
pub(crate) struct Request<'r, 's, 'v> {
    pub(crate) server: &'r Server<'v>,
    pub(crate) env: &'r Env,
    pub(crate) frame: &'r mut Frame<'s>,
    pub(crate) outcome: &'r mut Outcome,
    pub(crate) format: SerializerId,
    pub(crate) mode: Mode,
    /// Whether an object may answer with a future.
    pub(crate) later: bool,
}

impl<'s> Request<'_, 's, '_> {
    fn reply<'q>(&'q mut self, class_name: &'q str, method: &'q str) -> Reply<'q, 's> {
        Reply {
            frame: self.frame,
            outcome: self.outcome,
            mode: self.mode,
            format: self.format,
            class_name,
            method,
            daemon_annotations: self.server.config.annotations,
            later_allowed: self.later,
        }
    }

    pub(crate) fn raise(&mut self, e: &dyn super::PythonException, class_name: &str, method: &str) {
        let _ = self.reply(class_name, method).raise(e);
    }

    /// Serve `call` on its object.
    fn call(&mut self, context: &CallContext<'_>, call: Called<'_>, batched: bool) {
        let object_id = call.object();
        if object_id == DAEMON_OBJECT_ID && !batched && call.method() == "get_next_stream_item" {
            return self.next_item(context, call);
        }
        if object_id == DAEMON_OBJECT_ID {
            let mut daemon = DaemonObject { server: self.server, connection: context.connection };
            self.dispatch(&mut daemon, context, call, batched);
            return;
        }
        let mut pending = Some(());
        let found = self.server.registry.with_object(context.connection, object_id, &mut |object| {
            if pending.take().is_some() {
                self.dispatch(object, context, call, batched);
            }
        });
        if !found {
            self.raise(&PyException::new(DAEMON_ERROR, "unknown object"), "", "");
        }
    }

    /// `Pyro.Daemon.get_next_stream_item(streamId)`: the stream's next item, or
    /// StopIteration at its end; the stream is dropped at its end and on any error.
    fn next_item(&mut self, context: &CallContext<'_>, call: Called<'_>) {
        const CLASS: &str = "DaemonObject";
        const METHOD: &str = "get_next_stream_item";
        let function = Qualname { class_name: CLASS, method: METHOD };
        if call.kwargs_is_none() {
            return self.kwargs_not_a_mapping(context, CLASS, METHOD);
        }
        let args = call.args();
        let id = match args.check(function, &["streamId"]).and_then(|()| args.required::<&str>(function, 0, "streamId"))
        {
            Ok(id) => id,
            Err(e) => return self.raise(&e, CLASS, METHOD),
        };
        // A stream past its lifetime is gone even if the daemon's timer has not run yet.
        self.server.streams.expire(self.env.now_ms, &self.server.config.streams);
        let Some(mut entry) = StreamId::parse(id).and_then(|id| self.server.streams.take(&id)) else {
            return self.raise(&stream_terminated(), CLASS, METHOD);
        };
        // A lingering stream belongs to whoever continues it.
        entry.owner = Some(context.connection);
        entry.lingering_since = None;
        let found = match &mut entry.source {
            StreamSource::Cursor { object, method, cursor } => {
                let mut pending = Some(());
                self.server.registry.with_object(context.connection, object, &mut |o| {
                    if pending.take().is_some() {
                        let class_name = o.metadata().class_name;
                        let _ = o.next_item(method, cursor, self.reply(class_name, method));
                    }
                })
            }
            #[cfg(feature = "alloc")]
            StreamSource::Iter(iter) => {
                let mut reply = self.reply(CLASS, METHOD);
                let _ = match iter.next() {
                    Some(item) => match item.annotations.iter().try_for_each(|(id, data)| reply.annotate(*id, data)) {
                        Ok(()) => reply.ok(&item.value),
                        Err(e) => reply.raise(&PyException::new(PYRO_ERROR, e)),
                    },
                    None => reply.stop(),
                };
                true
            }
        };
        if !found {
            return self.raise(&stream_terminated(), CLASS, METHOD);
        }
        if matches!(self.outcome, Outcome::Value) {
            let _ = self.server.streams.insert(entry);
        }
    }

    fn dispatch(&mut self, object: &mut dyn PyroObject, context: &CallContext<'_>, call: Called<'_>, batched: bool) {
        if let (true, Called::View(view)) = (batched, call) {
            return self.batch(object, context, view);
        }
        let method = call.method();
        let inv = Invocation { context, method, args: call.args() };
        let meta = object.metadata();
        let class_name = meta.class_name;
        match method {
            "__getattr__" | "__setattr__" => {
                let name = match call.args().get::<&str>(0, "name") {
                    Ok(Some(name)) => name,
                    _ => {
                        let e = PyException::new(super::TYPE_ERROR, "attribute name must be string");
                        return self.raise(&e, class_name, method);
                    }
                };
                if !meta.has_attr(name) {
                    // Python looks the name up on the class first.
                    if meta.has_method(name) || is_private_name(name) {
                        let e = Raised {
                            class: ATTRIBUTE_ERROR,
                            message: format_args!("attempt to access unexposed or unknown remote attribute '{name}'"),
                        };
                        return self.raise(&e, class_name, method);
                    }
                    let e = Raised {
                        class: ATTRIBUTE_ERROR,
                        message: format_args!("type object '{class_name}' has no attribute '{name}'"),
                    };
                    return self.raise(&e, class_name, method);
                }
                let reply = self.reply(class_name, method);
                let _ = if method == "__getattr__" {
                    object.get_attr(name, &inv, reply)
                } else {
                    object.set_attr(name, &inv, reply)
                };
            }
            _ => {
                if let Err(e) = check_method(&meta, method) {
                    return self.raise(&e, class_name, method);
                }
                if call.kwargs_is_none() {
                    return self.kwargs_not_a_mapping(context, class_name, method);
                }
                let reply = self.reply(class_name, method);
                let _ = object.invoke(&inv, reply);
            }
        }
        self.after_call(context, method);
    }

    /// A method call whose keyword arguments came as `None`: Python's daemon fails on
    /// `method(*args, **None)` with this TypeError (its proxy sends `None` only for remote
    /// attributes and batches).
    fn kwargs_not_a_mapping(&mut self, context: &CallContext<'_>, class_name: &str, method: &str) {
        let shown = if context.object_id == DAEMON_OBJECT_ID { "Pyro5.server.DaemonObject" } else { class_name };
        let e = Raised {
            class: super::TYPE_ERROR,
            message: format_args!(
                "{}() argument after ** must be a mapping, not NoneType",
                Qualname { class_name: shown, method }
            ),
        };
        self.raise(&e, class_name, method);
    }

    /// A call returned a stream: register it and write the marker exception.
    fn after_call(&mut self, context: &CallContext<'_>, method: &str) {
        let source = match core::mem::replace(self.outcome, Outcome::Pending) {
            Outcome::Stream(cursor) => {
                let (Ok(object), Ok(method)) = (
                    heapless::String::<STREAM_NAME_CAPACITY>::try_from(context.object_id),
                    heapless::String::<STREAM_NAME_CAPACITY>::try_from(method),
                ) else {
                    let e = PyException::pyro_error("object id or method name too long for an item stream");
                    return self.raise(&e, "", method);
                };
                StreamSource::Cursor { object, method, cursor }
            }
            #[cfg(feature = "alloc")]
            Outcome::Iter(iter) => StreamSource::Iter(iter),
            other => {
                *self.outcome = other;
                return;
            }
        };
        if self.mode == Mode::Discard {
            *self.outcome = Outcome::Value;
            return;
        }
        let config = &self.server.config.streams;
        let marker = PyException::new(PROTOCOL_ERROR, "result of call is an iterator");
        if config.enabled {
            let mut random = [0u8; 16];
            random.copy_from_slice(&self.env.random[16..]);
            let id = StreamId::from_random(random);
            let entry = StreamEntry {
                id,
                owner: Some(context.connection),
                created: self.env.now_ms,
                lingering_since: None,
                source,
            };
            if self.server.streams.insert(entry).is_err() {
                let e = PyException::pyro_error("too many open item streams; close some or raise the daemon's limit");
                return self.raise(&e, "", method);
            }
            if self.frame.annotate(AnnotationId::STREAM, &id.to_text()).is_err() {
                self.server.streams.remove(&id);
                *self.outcome = Outcome::Pending;
                return;
            }
        }
        let _ = self.frame.annotate_all(self.server.config.annotations);
        self.frame.start_payload();
        if to_output(self.format, &ExceptionOut { exception: &marker, origin: None }, self.frame).is_err() {
            *self.outcome = Outcome::Pending;
            return;
        }
        *self.outcome = Outcome::Stream(0);
    }

    fn batch(&mut self, object: &mut dyn PyroObject, context: &CallContext<'_>, call: &CallView<'_>) {
        let meta = object.metadata();
        let class_name = meta.class_name;
        let mut list = match self.mode {
            Mode::Discard => None,
            _ => {
                let _ = self.frame.annotate_all(self.server.config.annotations);
                self.frame.start_payload();
                match ListWriter::begin(self.format, self.frame) {
                    Ok(list) => Some(list),
                    Err(_) => return,
                }
            }
        };
        let item_mode = if self.mode == Mode::Discard { Mode::Discard } else { Mode::BatchItem };
        let saved_mode = core::mem::replace(&mut self.mode, item_mode);
        for item in call.batch_items() {
            if let Some(list) = &mut list
                && list.separator(self.frame).is_err()
            {
                break;
            }
            let mut failed = true;
            match item {
                Err(e) => self.raise(&Raised { class: e.pyro_class(), message: format_args!("{e}") }, class_name, ""),
                Ok(item) => {
                    let method = item.method();
                    if let Err(e) = check_method(&meta, method) {
                        // Python resolves each method outside the batch's error handling: the
                        // whole batch fails with a plain exception.
                        self.mode = saved_mode;
                        if let Some(list) = &list {
                            self.frame.truncate(list.start);
                        }
                        return self.raise(&e, class_name, method);
                    } else {
                        let inv = Invocation { context, method, args: Args::Batch(&item) };
                        let reply = self.reply(class_name, method);
                        let _ = object.invoke(&inv, reply);
                        match core::mem::replace(self.outcome, Outcome::Pending) {
                            Outcome::Value => failed = false,
                            Outcome::Exception | Outcome::Stop => {}
                            Outcome::Pending => break,
                            _ => {
                                let e = PyException::pyro_error("item streams are not supported in batch calls");
                                self.raise(&e, class_name, method);
                            }
                        }
                    }
                }
            }
            if let Some(list) = &mut list {
                list.count += 1;
            }
            if failed {
                self.mode = saved_mode;
                if self.format == SerializerId::Marshal
                    && let Some(list) = &list
                {
                    // Pyro5 cannot marshal its `_ExceptionWrapper`: the whole batch answers
                    // with the ValueError marshal raises. Python clients see exactly that.
                    self.frame.truncate(list.start);
                    let e = PyException::value_error("unmarshallable object");
                    return self.raise(&e, class_name, "");
                }
                break;
            }
        }
        self.mode = saved_mode;
        *self.outcome = match list.map(|list| list.end(self.frame)) {
            Some(Err(_)) => Outcome::Pending,
            _ => Outcome::Value,
        };
        let _ = BATCH_METHOD;
    }
}

/// Pyro's checks before a method runs: private names, then exposure.
fn check_method<'a>(meta: &super::Metadata<'_>, method: &'a str) -> Result<(), MethodError<'a>> {
    if is_private_name(method) {
        return Err(MethodError::Private(method));
    }
    if meta.has_attr(method) {
        return Err(MethodError::Unexposed(method));
    }
    if !meta.has_method(method) {
        return Err(MethodError::Unknown(meta.class_name_static(), method));
    }
    Ok(())
}

/// Why a method cannot be called.
enum MethodError<'a> {
    Private(&'a str),
    Unexposed(&'a str),
    Unknown(ClassName, &'a str),
}

type ClassName = heapless::String<64>;

impl fmt::Display for MethodError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Private(name) => write!(f, "attempt to access private attribute '{name}'"),
            Self::Unexposed(name) => write!(f, "attempt to access unexposed attribute '{name}'"),
            Self::Unknown(class, name) => write!(f, "'{class}' object has no attribute '{name}'"),
        }
    }
}

impl super::PythonException for MethodError<'_> {
    fn class(&self) -> &str {
        ATTRIBUTE_ERROR
    }
}

impl super::Metadata<'_> {
    fn class_name_static(&self) -> ClassName {
        let mut name = ClassName::new();
        for c in self.class_name.chars() {
            if name.push(c).is_err() {
                break;
            }
        }
        name
    }
}

/// A list written element by element, its length unknown until the end: serpent and json
/// close it with a bracket; marshal and msgpack have the count in front, written as a
/// placeholder and patched.
struct ListWriter {
    format: SerializerId,
    /// Where the payload started (before serpent's header line).
    start: usize,
    /// Where the list starts in the frame.
    at: usize,
    count: u32,
}

impl ListWriter {
    fn begin(format: SerializerId, frame: &mut Frame<'_>) -> Result<Self, OutputError> {
        let start = frame.mark();
        let head: &[u8] = match format {
            #[cfg(feature = "serpent")]
            SerializerId::Serpent => {
                frame.write_bytes(crate::ser::serpent::HEADER)?;
                b"["
            }
            SerializerId::Json => b"[",
            SerializerId::Marshal => b"[\0\0\0\0",
            _ => b"\xdd\0\0\0\0",
        };
        let at = frame.mark();
        frame.write_bytes(head)?;
        Ok(Self { format, start, at, count: 0 })
    }

    fn separator(&mut self, frame: &mut Frame<'_>) -> Result<(), OutputError> {
        if self.count == 0 {
            return Ok(());
        }
        match self.format {
            SerializerId::Serpent => frame.write_bytes(b","),
            SerializerId::Json => frame.write_bytes(b", "),
            _ => Ok(()),
        }
    }

    fn end(self, frame: &mut Frame<'_>) -> Result<(), OutputError> {
        match self.format {
            SerializerId::Serpent | SerializerId::Json => frame.write_bytes(b"]")?,
            SerializerId::Marshal => frame.patch(self.at + 1, &self.count.to_le_bytes()),
            _ => match (u8::try_from(self.count), u16::try_from(self.count)) {
                // The smallest header, as Python's msgpack writes it.
                (Ok(n), _) if n < 16 => {
                    frame.patch(self.at, &[0x90 | n]);
                    frame.remove(self.at + 1, 4);
                }
                (_, Ok(n)) => {
                    let [a, b] = n.to_be_bytes();
                    frame.patch(self.at, &[0xdc, a, b]);
                    frame.remove(self.at + 3, 2);
                }
                _ => frame.patch(self.at + 1, &self.count.to_be_bytes()),
            },
        }
        Ok(())
    }
}

/// The error an item stream request gets for an id it does not know.
pub(crate) fn stream_terminated() -> PyException<&'static str> {
    PyException::new(PYRO_ERROR, "item stream terminated")
}

#[cfg(test)]
mod tests {
    extern crate std;

    use core::cell::RefCell;
    use std::vec::Vec;

    use super::*;
    use crate::limits::Limits;
    use crate::ser::SliceOutput;
    use crate::server::{ObjectTable, ServerConfig, Streams};
    use crate::wire::{self, Decoder, HEADER_LEN, Header};

    const FORMATS: [SerializerId; 4] =
        [SerializerId::Serpent, SerializerId::Marshal, SerializerId::Json, SerializerId::Msgpack];

    /// Hand `frame` to `connection`; the action and what it wrote.
    fn handle(connection: &mut Session, server: &Server<'_>, frame: &[u8]) -> (Action, Vec<u8>) {
        let mut rx = [0u8; 512];
        let mut tx = [0u8; 512];
        let mut decoder = Decoder::new(&mut rx[..], Limits::default());
        decoder.feed(frame).unwrap();
        let env = Env { now_ms: 0, random: [7; 32] };
        let action = connection.handle(&decoder.message().unwrap(), server, &env, &mut &mut tx[..], Serve::Registry);
        (action, written(action, &tx))
    }

    fn written(action: Action, tx: &[u8]) -> Vec<u8> {
        match action {
            Action::Send { len } | Action::SendAndClose { len } => tx[..len].to_vec(),
            _ => Vec::new(),
        }
    }

    fn frame(kind: MessageKind, format: SerializerId, seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = [0u8; 512];
        let len = wire::encode(&OutgoingMessage::new(kind, format, seq), payload, &mut out, Limits::default()).unwrap();
        out[..len].to_vec()
    }

    fn with_server(f: impl FnOnce(&Server<'_>)) {
        let objects = ObjectTable::<1>::new();
        let streams = RefCell::new(Streams::<1>::new());
        let config = ServerConfig::default();
        f(&Server { registry: &objects, streams: &streams, config: &config, handshake: None, tap: None });
    }

    #[test]
    fn connect_fail_is_marshal_text_in_every_build() {
        with_server(|server| {
            let mut tx = [0u8; 128];
            let action = Session::new(ConnectionId(1), None).timed_out(server, &mut &mut tx[..]);
            let reply = written(action, &tx);
            assert!(matches!(action, Action::SendAndClose { .. }));
            let header = Header::parse_bytes(reply[..HEADER_LEN].try_into().unwrap()).unwrap();
            assert_eq!((header.kind, header.serializer), (MessageKind::ConnectFail, SerializerId::Marshal));
            assert_eq!(&reply[HEADER_LEN..], b"z\x12receiving: timeout");
        });
    }

    #[test]
    fn a_connect_in_a_serializer_left_out_is_refused_in_marshal() {
        let speaks: Vec<&str> = FORMATS.into_iter().filter(|f| f.is_enabled()).filter_map(SerializerId::name).collect();
        for format in FORMATS.into_iter().filter(|f| !f.is_enabled()) {
            with_server(|server| {
                let mut connection = Session::new(ConnectionId(1), None);
                let (action, reply) = handle(&mut connection, server, &frame(MessageKind::Connect, format, 5, b"?"));
                assert!(matches!(action, Action::SendAndClose { .. }), "{format:?}: {action:?}");
                let header = Header::parse_bytes(reply[..HEADER_LEN].try_into().unwrap()).unwrap();
                assert_eq!(
                    (header.kind, header.serializer, header.seq),
                    (MessageKind::ConnectFail, SerializerId::Marshal, 5)
                );
                let name = format.name().unwrap();
                let list: Vec<_> = speaks.iter().map(|s| std::format!(" {s}")).collect();
                let expected =
                    std::format!("serializer {name} is not supported by this daemon; use one of:{}", list.join(","));
                assert_eq!(marshal_str::read(&reply[HEADER_LEN..]), Some(expected.as_str()));
            });
        }
    }

    #[test]
    fn an_invoke_in_a_serializer_left_out_closes_the_connection() {
        let Some(enabled) = FORMATS.into_iter().find(|f| f.is_enabled()) else { return };
        #[derive(serde::Serialize)]
        struct Connect<'a> {
            handshake: &'a str,
            object: &'a str,
        }
        for format in FORMATS.into_iter().filter(|f| !f.is_enabled()) {
            with_server(|server| {
                let mut payload = [0u8; 128];
                let mut out = SliceOutput::new(&mut payload);
                to_output(enabled, &Connect { handshake: "hello", object: DAEMON_OBJECT_ID }, &mut out).unwrap();
                let len = out.len();
                let mut connection = Session::new(ConnectionId(1), None);
                let connect = frame(MessageKind::Connect, enabled, 0, &payload[..len]);
                let (action, _) = handle(&mut connection, server, &connect);
                assert!(matches!(action, Action::Send { .. }), "{action:?}");
                let (action, _) = handle(&mut connection, server, &frame(MessageKind::Invoke, format, 1, b"?"));
                let close = CloseReason::UnknownSerializer(u8::from(format));
                assert_eq!(action, Action::Close(close));
                let name = format.name().unwrap_or_default();
                assert!(std::format!("{close}").contains(name));
            });
        }
    }
}
