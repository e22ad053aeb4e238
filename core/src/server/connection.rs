//! One client connection of a daemon, whole: its receive storage, its transmit queue, its
//! timers and its calls (`docs/wire-protocol.md`, "Connections" and "When the daemon closes
//! a connection").
//!
//! Sans-IO in the manner of quinn-proto: the adapter hands in bytes ([`read_buf`] +
//! [`commit`]) and time ([`handle_timeout`]), and drains what comes out in a fixed order
//! after every input: events ([`poll_event`]: user calls, the end of the connection), bytes
//! to send ([`tx_pending`] + [`tx_advance`]) and the next deadline ([`poll_timeout`]).
//! Everything Pyro decides is decided here: the handshake, PING, the `Pyro.Daemon` object,
//! batches, attributes, item streams, every error text, COMMTIMEOUT, and when a connection
//! ends.
//!
//! Calls come out as [`ServerEvent::Call`] with a [`CallHandle`]: answer it now or later,
//! by the registered object ([`run`], Pyro's full dispatch) or with a value computed
//! elsewhere ([`reply`]). A connection holds one call at a time: while it is unanswered, or
//! while a reply waits for the peer to take it, no further request is read (backpressure;
//! the requests wait in the peer's socket). Requests are answered in the order they came.
//!
//! [`read_buf`]: ServerConnection::read_buf
//! [`commit`]: ServerConnection::commit
//! [`handle_timeout`]: ServerConnection::handle_timeout
//! [`poll_event`]: ServerConnection::poll_event
//! [`tx_pending`]: ServerConnection::tx_pending
//! [`tx_advance`]: ServerConnection::tx_advance
//! [`poll_timeout`]: ServerConnection::poll_timeout
//! [`run`]: ServerConnection::run
//! [`reply`]: ServerConnection::reply

use core::fmt;

use super::object::{Args, CallContext, ConnectionId, Invocation};
use super::reply::{Replied, Reply};
use super::session::{Action, Env, Serve, Session};
use super::{Server, ServerConfig};
use crate::rng::Rng;
use crate::ser::call::CallView;
use crate::wire::{DecodeError, Decoder, Flags, MessageKind, Progress, ReadsInPlace, RxStorage, Tail};

pub use super::session::CloseReason;

/// How far a read may take bytes past the request being received (the next pipelined
/// requests), within the receive storage: a small request arrives in one read.
const READ_AHEAD: usize = 1024;

/// Replies queued for the socket above which no further request is answered (growable
/// transmit storage; fixed storage holds one reply at a time).
const TX_HIGH_WATER: usize = 64 * 1024;

/// What a connection has for the adapter.
#[derive(Debug)]
pub enum ServerEvent {
    /// A call for an object: answer it with [`ServerConnection::run`] or
    /// [`ServerConnection::reply`] (or hand a oneway call elsewhere with
    /// [`ServerConnection::hand_off`]). Nothing more is read until then.
    Call(CallHandle),
    /// The connection is over and everything it had to send was taken; the adapter closes
    /// the socket and calls [`ServerConnection::close`]. Reported once.
    Closed(CloseReason),
}

/// A call the connection handed out, to be answered exactly once. Not `Clone`: answering
/// consumes it.
#[derive(Debug)]
#[must_use = "every call must be answered (run, reply or hand_off)"]
pub struct CallHandle {
    /// Which connection handed it out (a random tag) and which of its calls.
    tag: u32,
    generation: u32,
    oneway: bool,
}

impl CallHandle {
    /// Whether the client waits for no answer (a oneway call): the answer writes nothing,
    /// and the adapter may run it elsewhere (Pyro's `ONEWAY_THREADED`).
    pub fn is_oneway(&self) -> bool {
        self.oneway
    }
}

/// A [`CallHandle`] that does not belong to the call the connection holds now.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct StaleCall;

impl fmt::Display for StaleCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the call handle belongs to a call that was answered already or to another connection")
    }
}

impl core::error::Error for StaleCall {}

/// The call handed out and not answered yet.
#[derive(Clone, Copy, Debug)]
struct Pending {
    generation: u32,
    /// The time and randomness it is answered with (its correlation id is fixed when it is
    /// handed out).
    env: Env,
}

/// The daemon side of one client connection: Pyro's protocol, its buffers and its timers.
///
/// `R` holds the request being received, `T` the reply being sent (`Vec<u8>` grows as
/// needed; a slice or array bounds the message size without an allocator).
///
/// ```
/// use core::cell::RefCell;
/// use pyro5_core::server::*;
/// # use pyro5_core::ser::serpent;
/// # use pyro5_core::wire::{self, MessageKind, OutgoingMessage, SerializerId};
/// # use pyro5_core::limits::Limits;
/// # fn connect_frame() -> Vec<u8> {
/// #     #[derive(serde::Serialize)] struct C<'a> { handshake: &'a str, object: &'a str }
/// #     let mut p = [0u8; 128];
/// #     let n = serpent::to_slice(&C { handshake: "hello", object: "Pyro.Daemon" }, &mut p).unwrap();
/// #     let mut out = [0u8; 256];
/// #     let len = wire::encode(&OutgoingMessage::new(MessageKind::Connect, SerializerId::Serpent, 0), &p[..n], &mut out, Limits::default()).unwrap();
/// #     out[..len].to_vec()
/// # }
/// let objects = ObjectTable::<1>::new();
/// let streams = RefCell::new(Streams::<1>::new());
/// let config = ServerConfig::default();
/// let server = Server::new(&objects, &streams, &config);
/// let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
/// let mut conn = ServerConnection::new(ConnectionId(1), None, &mut rx[..], &mut tx[..], &config, 0, [7; 32]);
///
/// // The adapter's loop, with a byte slice standing in for the socket.
/// let received = connect_frame();
/// let mut input = &received[..];
/// let mut sent = Vec::new();
/// while !conn.is_closed() && (!input.is_empty() || !conn.tx_pending().is_empty()) {
///     conn.serve_ready(&server); // every ready call, run inline
///     sent.extend_from_slice(conn.tx_pending()); // socket.write(..) takes it all here
///     let n = conn.tx_pending().len();
///     conn.tx_advance(n, 0);
///     let buf = conn.read_buf();
///     let n = buf.len().min(input.len());
///     buf[..n].copy_from_slice(&input[..n]); // socket.read(buf)
///     input = &input[n..];
///     conn.commit(n, 0);
/// }
/// conn.serve_ready(&server);
/// sent.extend_from_slice(conn.tx_pending());
/// let header = wire::Header::parse_bytes(sent[..40].try_into().unwrap()).unwrap();
/// assert_eq!(header.kind, MessageKind::ConnectOk);
/// ```
pub struct ServerConnection<R: RxStorage, T: RxStorage> {
    session: Session,
    decoder: Decoder<R>,
    tx: T,
    /// The reply bytes in `tx` not taken by the adapter yet.
    tx_start: usize,
    tx_end: usize,
    rng: Rng,
    /// The latest time the adapter gave.
    now: u64,
    /// When the client last sent something or the last reply went out (COMMTIMEOUT).
    last_activity: u64,
    /// When the pending reply last made progress.
    last_tx_progress: u64,
    idle_timeout: Option<u64>,
    send_timeout: Option<u64>,
    pending: Option<Pending>,
    /// Random, so that a handle of another connection is told apart.
    tag: u32,
    generation: u32,
    decode_error: Option<DecodeError>,
    /// Set once the connection is to end: at once, or (`drain`) once the reply is out.
    ending: Option<CloseReason>,
    reported: bool,
    released: bool,
    refusal: Option<&'static str>,
}

impl<R: RxStorage, T: RxStorage> fmt::Debug for ServerConnection<R, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConnection")
            .field("id", &self.session.id())
            .field("tx_pending", &(self.tx_end - self.tx_start))
            .field("pending_call", &self.pending.is_some())
            .field("ending", &self.ending)
            .finish_non_exhaustive()
    }
}

impl<R: RxStorage, T: RxStorage> ServerConnection<R, T> {
    /// A new connection, expecting the client's CONNECT, at time `now_ms` (the adapter's
    /// monotonic clock, milliseconds). `seed` seeds the generator of its correlation and
    /// stream ids: 32 bytes of real entropy (or [`Rng::fork`] of one).
    pub fn new(
        id: ConnectionId,
        client: Option<core::net::SocketAddr>,
        rx: R,
        tx: T,
        config: &ServerConfig<'_>,
        now_ms: u64,
        seed: [u8; 32],
    ) -> Self {
        let mut rng = Rng::from_seed(seed);
        let tag = u32::from_le_bytes(rng.bytes());
        Self {
            session: Session::new(id, client),
            decoder: Decoder::new(rx, config.limits).with_read_ahead(READ_AHEAD),
            tx,
            tx_start: 0,
            tx_end: 0,
            rng,
            now: now_ms,
            last_activity: now_ms,
            last_tx_progress: now_ms,
            idle_timeout: config.idle_timeout_ms,
            send_timeout: config.send_timeout_ms,
            pending: None,
            tag,
            generation: 0,
            decode_error: None,
            ending: None,
            reported: false,
            released: false,
            refusal: None,
        }
    }

    /// A connection past its handshake, for running a call handed off from connection `id`
    /// elsewhere: [`feed`](Self::feed) it the bytes from [`message`](Self::message), then
    /// [`serve_ready`](Self::serve_ready). Do not [`close`](Self::close) it (that would end
    /// connection `id`'s streams and objects).
    pub fn after_handshake(
        id: ConnectionId,
        client: Option<core::net::SocketAddr>,
        rx: R,
        tx: T,
        config: &ServerConfig<'_>,
        now_ms: u64,
        seed: [u8; 32],
    ) -> Self {
        let mut conn = Self::new(id, client, rx, tx, config, now_ms, seed);
        conn.session = Session::after_handshake(id, client);
        conn
    }

    /// Its id.
    pub fn id(&self) -> ConnectionId {
        self.session.id()
    }

    /// Whether the handshake is done.
    pub fn is_ready(&self) -> bool {
        self.session.is_ready()
    }

    /// Refuse this client (the daemon has no room): its CONNECT is answered with
    /// CONNECTFAIL `reason` (Pyro's thread pool server says "no free workers, increase server
    /// threadpool size"), then the connection ends.
    pub fn refuse(&mut self, reason: &'static str) {
        self.refusal = Some(reason);
    }

    // Bytes in.

    /// Whether the connection takes bytes now: not while a call is unanswered, a reply waits
    /// to be sent, or a complete request waits to be handled, and not once it is ending.
    pub fn wants_read(&self) -> bool {
        self.ending.is_none()
            && self.decode_error.is_none()
            && self.pending.is_none()
            && self.tx_start == self.tx_end
            && self.decoder.message().is_none()
    }

    /// Where to read the next bytes (straight from the socket); empty when
    /// [`wants_read`](Self::wants_read) is false. It reaches up to 1 KiB past the request being
    /// received (within the storage), so that a request arrives in one read; bytes of the
    /// next requests are kept for them. Follow with [`commit`](Self::commit).
    pub fn read_buf(&mut self) -> &mut [u8] {
        if !self.wants_read() {
            return &mut [];
        }
        if let Err(e) = self.decoder.read_buf() {
            self.decode_error = Some(e);
            return &mut [];
        }
        self.decoder.read_buf().unwrap_or_default()
    }

    /// `n` bytes were read into [`read_buf`](Self::read_buf) at `now_ms`; 0 means the peer
    /// closed the connection (or the socket broke): nothing more is sent.
    pub fn commit(&mut self, n: usize, now_ms: u64) {
        self.now = self.now.max(now_ms);
        if n == 0 {
            if self.ending.is_none() && self.decoder.is_mid_message() {
                debug!("connection {}: closed by the client in the middle of a message", self.id().0);
            }
            // Nothing more can be sent either.
            self.end(self.ending.unwrap_or(CloseReason::PeerClosed), false);
            return;
        }
        self.last_activity = self.now;
        match self.decoder.commit(n) {
            Ok(Progress::NeedMore | Progress::Complete { .. }) => {}
            Err(e) => self.decode_error = Some(e),
        }
    }

    /// Copy `bytes` in (for adapters that do not read in place); returns how many were taken
    /// (fewer when the connection stops reading).
    pub fn feed(&mut self, bytes: &[u8], now_ms: u64) -> usize {
        ReadsInPlace::copy_in(self, bytes, now_ms)
    }

    // Events out.

    /// Handle what was received: the handshake, PING and errors are answered here (their
    /// replies appear in [`tx_pending`](Self::tx_pending)); a call for an object comes out
    /// as [`ServerEvent::Call`]; the end of the connection as [`ServerEvent::Closed`].
    pub fn poll_event(&mut self, server: &Server<'_>) -> Option<ServerEvent> {
        loop {
            if self.reported || self.pending.is_some() {
                return None;
            }
            if let Some(reason) = self.ending {
                if self.tx_start != self.tx_end {
                    return None;
                }
                self.reported = true;
                return Some(ServerEvent::Closed(reason));
            }
            if !self.may_queue() {
                return None;
            }
            if let Some(error) = self.decode_error.take() {
                debug!("connection {}: closing: {}", self.id().0, error);
                let action = self.session.receive_error(
                    &error,
                    server,
                    &mut Tail { storage: &mut self.tx, offset: self.tx_end },
                );
                self.act(action, server, CloseReason::BadMessage);
                continue;
            }
            let message = self.decoder.message()?;
            if let Some(tap) = server.tap {
                tap.received(self.session.id(), message.as_bytes());
            }
            let header = *message.header();
            if let Some(reason) = self.refusal {
                let action = self.session.deny(
                    &message,
                    &reason,
                    server,
                    &mut Tail { storage: &mut self.tx, offset: self.tx_end },
                );
                self.act(action, server, CloseReason::Refused);
                continue;
            }
            let env = Env { now_ms: self.now, random: self.rng.bytes() };
            if self.session.is_ready() && header.kind == MessageKind::Invoke {
                self.generation = self.generation.wrapping_add(1);
                self.pending = Some(Pending { generation: self.generation, env });
                let oneway = header.flags.contains(Flags::ONEWAY);
                return Some(ServerEvent::Call(CallHandle { tag: self.tag, generation: self.generation, oneway }));
            }
            let action = self.session.handle(
                &message,
                server,
                &env,
                &mut Tail { storage: &mut self.tx, offset: self.tx_end },
                Serve::Registry,
            );
            self.next_message();
            self.act(action, server, CloseReason::HandshakeFailed);
        }
    }

    /// Run every ready call inline on the registered objects, until the connection waits
    /// for the peer (to send more, or to take the replies) or has ended.
    pub fn serve_ready(&mut self, server: &Server<'_>) {
        while let Some(event) = self.poll_event(server) {
            match event {
                ServerEvent::Call(call) => {
                    let _ = self.run(call, server);
                }
                ServerEvent::Closed(_) => break,
            }
        }
    }

    /// Answer `call` by its registered object, with Pyro's whole dispatch (exposure checks,
    /// batches, attributes, item streams, the daemon object). A oneway call runs and writes
    /// nothing.
    ///
    /// # Errors
    /// [`StaleCall`] when `call` is not the call this connection holds.
    pub fn run(&mut self, call: CallHandle, server: &Server<'_>) -> Result<(), StaleCall> {
        self.answer(call, server, Serve::Registry).map(drop)
    }

    /// Answer `call` with what `answer` writes (a value computed elsewhere: a worker, an
    /// `async fn`); it gets the call as [`with_call`](Self::with_call) shows it. An item
    /// stream answer registers the stream as [`run`](Self::run) does.
    ///
    /// # Errors
    /// [`StaleCall`] when `call` is not the call this connection holds.
    pub fn reply(
        &mut self,
        call: CallHandle,
        server: &Server<'_>,
        answer: impl FnOnce(&Invocation<'_>, Reply<'_, '_>) -> Replied,
    ) -> Result<(), StaleCall> {
        let mut answer = Some(answer);
        let mut once = |inv: &Invocation<'_>, reply: Reply<'_, '_>| match answer.take() {
            Some(f) => f(inv, reply),
            None => reply.raise(&super::PyException::pyro_error("answered twice")),
        };
        self.answer(call, server, Serve::With(&mut once)).map(drop)
    }

    /// Run `call` as [`run`](Self::run) does, where async methods are welcome: an object
    /// that answers with a future ([`Reply::later`](super::Reply::later), an `async fn`
    /// method) gives back a [`Later`](super::Later). Run its future where you run futures
    /// and give its answer to [`finish`](Self::finish) with its call; the connection holds
    /// the call meanwhile (the client's next request waits, as Pyro's do). A oneway call's
    /// `Later` has no call: the connection went on, the answer goes nowhere.
    ///
    /// # Errors
    /// [`StaleCall`] when `call` is not the call this connection holds.
    #[cfg(feature = "alloc")]
    pub fn start(&mut self, call: CallHandle, server: &Server<'_>) -> Result<Option<super::Later>, StaleCall> {
        let mut slot = None;
        let (tag, generation, oneway) = (call.tag, call.generation, call.oneway);
        let held = self.answer(call, server, Serve::Start(&mut slot))?;
        Ok(slot.map(|future| super::Later { call: held.then_some(CallHandle { tag, generation, oneway }), future }))
    }

    /// Answer the call [`start`](Self::start) gave back with what its future ended with.
    ///
    /// # Errors
    /// [`StaleCall`] when `call` is not the call this connection holds.
    #[cfg(feature = "alloc")]
    pub fn finish(
        &mut self,
        call: CallHandle,
        answer: super::AsyncAnswer,
        server: &Server<'_>,
    ) -> Result<(), StaleCall> {
        self.reply(call, server, move |_, reply| answer(reply))
    }

    /// Answer `call` as `serve` says; whether the call is still held (an async method's,
    /// answered later).
    fn answer(&mut self, call: CallHandle, server: &Server<'_>, serve: Serve<'_>) -> Result<bool, StaleCall> {
        let pending = self.pending_for(&call).ok_or(StaleCall)?;
        let Some(message) = self.decoder.message() else { return Err(StaleCall) };
        let env = Env { now_ms: self.now, ..pending.env };
        let action = self.session.handle(
            &message,
            server,
            &env,
            &mut Tail { storage: &mut self.tx, offset: self.tx_end },
            serve,
        );
        #[cfg(feature = "alloc")]
        if action == Action::Later && !call.oneway {
            return Ok(true);
        }
        self.pending = None;
        self.next_message();
        self.last_activity = self.now;
        self.act(action, server, CloseReason::ReplyTooLarge);
        Ok(false)
    }

    /// Show `call` to `f` as an object would see it: the object id, method, arguments
    /// (borrowed from the receive storage) and context. `None` for a stale handle, a batch or
    /// a request that does not parse (answer those with [`run`](Self::run), which raises
    /// Pyro's error).
    pub fn with_call<X>(&self, call: &CallHandle, f: impl FnOnce(&Invocation<'_>) -> X) -> Option<X> {
        let pending = self.pending_for(call)?;
        let message = self.decoder.message()?;
        let header = message.header();
        if header.flags.contains(Flags::BATCH) || header.flags.contains(Flags::KEEP_SERIALIZED) {
            return None;
        }
        let view =
            CallView::parse_with_limits(header.serializer, message.payload().ok()?, self.decoder.limits()).ok()?;
        let context = CallContext {
            connection: self.id(),
            client: self.session.client(),
            correlation_id: Session::correlation_id(&message, &pending.env),
            annotations: message.annotations_view(),
            seq: header.seq,
            object_id: view.object(),
        };
        let inv = Invocation { context: &context, method: view.method(), args: Args::Call(&view) };
        Some(f(&inv))
    }

    /// The whole request `call` came in (header included): copy it to run the call
    /// elsewhere, then [`hand_off`](Self::hand_off).
    pub fn message(&self, call: &CallHandle) -> Option<&[u8]> {
        self.pending_for(call)?;
        self.decoder.message().map(|m| m.as_bytes())
    }

    /// A oneway call runs elsewhere (its bytes copied from [`message`](Self::message), into
    /// a connection made with [`after_handshake`](Self::after_handshake)): this connection
    /// goes on with the next request.
    ///
    /// # Errors
    /// [`StaleCall`] when `call` is not the call this connection holds or is not oneway.
    pub fn hand_off(&mut self, call: CallHandle) -> Result<(), StaleCall> {
        self.pending_for(&call).filter(|_| call.oneway).ok_or(StaleCall)?;
        self.pending = None;
        self.next_message();
        self.last_activity = self.now;
        Ok(())
    }

    // Bytes out.

    /// Reply bytes to send, in order.
    pub fn tx_pending(&self) -> &[u8] {
        self.tx.bytes().get(self.tx_start..self.tx_end).unwrap_or_default()
    }

    /// The socket took `n` bytes of [`tx_pending`](Self::tx_pending) at `now_ms`.
    pub fn tx_advance(&mut self, n: usize, now_ms: u64) {
        self.now = self.now.max(now_ms);
        if n == 0 {
            return;
        }
        self.tx_start = self.tx_start.saturating_add(n).min(self.tx_end);
        self.last_tx_progress = self.now;
        if self.tx_start == self.tx_end {
            self.tx_start = 0;
            self.tx_end = 0;
            self.last_activity = self.now;
            // A large reply's storage is not kept for the life of the connection.
            self.tx.release();
        }
    }

    // Time.

    /// When [`handle_timeout`](Self::handle_timeout) is next due: the idle timeout
    /// (COMMTIMEOUT) while waiting for the client, the send timeout while a reply waits for
    /// it. `None`: no deadline.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.ending.is_some() && self.tx_start == self.tx_end {
            return None;
        }
        if self.tx_start != self.tx_end {
            return self.send_timeout.map(|t| self.last_tx_progress.saturating_add(t));
        }
        if self.pending.is_some() || self.decoder.message().is_some() {
            return None;
        }
        self.idle_timeout.map(|t| self.last_activity.saturating_add(t))
    }

    /// The time is `now_ms`: end the connection if a deadline passed (during the handshake
    /// an idle client gets CONNECTFAIL "receiving: timeout", as from Pyro). Idempotent.
    pub fn handle_timeout(&mut self, now_ms: u64, server: &Server<'_>) {
        self.now = self.now.max(now_ms);
        let Some(deadline) = self.poll_timeout() else { return };
        if self.now < deadline {
            return;
        }
        if self.tx_start != self.tx_end {
            debug!("connection {}: {} bytes of a reply not taken in time", self.id().0, self.tx_end - self.tx_start);
            self.end(CloseReason::SendTimeout, false);
            return;
        }
        debug!("connection {}: idle timeout", self.id().0);
        let action = self.session.timed_out(server, &mut Tail { storage: &mut self.tx, offset: self.tx_end });
        self.act(action, server, CloseReason::IdleTimeout);
    }

    // The end.

    /// Whether the connection is over and has nothing more to send: close the socket and
    /// call [`close`](Self::close).
    pub fn is_closed(&self) -> bool {
        self.ending.is_some() && self.tx_start == self.tx_end
    }

    /// Why the connection ended (or is ending, once its last reply is out).
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.ending
    }

    /// The connection is gone (call it once, when its socket is closed): its item streams
    /// linger as Pyro's do, its per-connection objects go.
    pub fn close(&mut self, server: &Server<'_>) {
        if self.ending.is_none() {
            self.end(CloseReason::Closed, false);
        }
        if !self.released {
            self.released = true;
            self.session.closed(server, self.now);
        }
    }

    /// Drop the request handled; bytes read past it may hold the next.
    fn next_message(&mut self) {
        if let Err(e) = self.decoder.consume_next() {
            self.decode_error = Some(e);
        }
    }

    /// Whether another reply may be queued: when none waits, or (growable transmit storage)
    /// while the replies waiting are under [`TX_HIGH_WATER`]. Requests pipelined in the
    /// receive storage are then answered before the socket is written to, their replies in
    /// one write (one reply a write would meet Nagle's algorithm and delayed ACKs).
    fn may_queue(&self) -> bool {
        self.tx_start == self.tx_end || (self.tx.max_len() == usize::MAX && self.tx_end - self.tx_start < TX_HIGH_WATER)
    }

    /// The pending call, if `call` is its handle.
    fn pending_for(&self, call: &CallHandle) -> Option<Pending> {
        self.pending.filter(|p| call.tag == self.tag && p.generation == call.generation)
    }

    /// End the connection: at once, or once the reply in `tx` is out (`drain`).
    fn end(&mut self, reason: CloseReason, drain: bool) {
        self.ending = Some(reason);
        self.pending = None;
        if !drain {
            self.tx_start = 0;
            self.tx_end = 0;
        }
    }

    fn act(&mut self, action: Action, server: &Server<'_>, closing: CloseReason) {
        match action {
            Action::Send { len } | Action::SendAndClose { len } => {
                let start = self.tx_end;
                if start == self.tx_start {
                    // The send clock starts with the first byte waiting.
                    self.last_tx_progress = self.now;
                }
                self.tx_end = start.saturating_add(len).min(self.tx.bytes().len());
                if let Some(tap) = server.tap {
                    tap.sent(self.session.id(), self.tx.bytes().get(start..self.tx_end).unwrap_or_default());
                }
                if matches!(action, Action::SendAndClose { .. }) {
                    self.end(closing, true);
                }
            }
            Action::Nothing => {}
            #[cfg(feature = "alloc")]
            Action::Later => {}
            Action::Close(reason) => {
                debug!("connection {}: closing: {}", self.id().0, reason);
                self.end(reason, false);
            }
        }
    }
}

#[cfg(all(test, feature = "serpent"))]
#[path = "connection_tests.rs"]
mod tests;

impl<R: RxStorage, T: RxStorage> ReadsInPlace for ServerConnection<R, T> {
    fn read_buf(&mut self) -> &mut [u8] {
        ServerConnection::read_buf(self)
    }
    fn commit(&mut self, n: usize, now_ms: u64) {
        ServerConnection::commit(self, n, now_ms);
    }
}
