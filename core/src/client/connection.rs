//! The proxy side of one connection, whole: its receive storage, its transmit queue, the
//! deadlines of its calls, and Pyro's checks of every reply.
//!
//! The same shape as the daemon side ([`ServerConnection`](crate::server::ServerConnection)):
//! the adapter queues requests ([`connect`], [`call`], [`ping`]), sends what
//! [`tx_pending`] holds ([`tx_advance`] after each write), hands in received bytes
//! ([`read_buf`] + [`commit`], or [`feed`]) and the time ([`handle_timeout`] at
//! [`poll_timeout`]), and drains [`poll_event`] after every input. Up to
//! [`MAX_IN_FLIGHT`] calls may wait at once (pipelining); each reply is matched to its
//! call by sequence number, and the reply of a call given up (its deadline passed, or
//! [`abandon`]ed) is read and dropped here, so the connection stays usable.
//!
//! [`connect`]: ClientConnection::connect
//! [`call`]: ClientConnection::call
//! [`ping`]: ClientConnection::ping
//! [`tx_pending`]: ClientConnection::tx_pending
//! [`tx_advance`]: ClientConnection::tx_advance
//! [`read_buf`]: ClientConnection::read_buf
//! [`commit`]: ClientConnection::commit
//! [`feed`]: ClientConnection::feed
//! [`handle_timeout`]: ClientConnection::handle_timeout
//! [`poll_timeout`]: ClientConnection::poll_timeout
//! [`poll_event`]: ClientConnection::poll_event
//! [`abandon`]: ClientConnection::abandon

use core::fmt;

use serde::Serialize;

use super::{
    CallSpec, ClientError, ClientSession, Connected, Extras, MAX_IN_FLIGHT, Reply, Sent, connected_of, reply_of,
};
use crate::limits::Limits;
use crate::wire::{Decoder, Message, MessageKind, ReadsInPlace, RxStorage, SerializerId, Tail};

/// Lays out one INVOKE with the session, within the limits, into the storage given.
type WriteCall<'a> = dyn FnMut(&mut ClientSession, Limits, &mut dyn RxStorage) -> Result<Sent, ClientError> + 'a;

/// How far a read may take bytes past the reply being received (the next pipelined
/// replies), within the receive storage.
const READ_AHEAD: usize = 1024;

/// What the connection has for the adapter, from [`ClientConnection::poll_event`].
#[derive(Clone, Debug, PartialEq)]
pub enum ClientEvent {
    /// The daemon accepted the handshake: [`ClientConnection::connected`] shows its answer
    /// and the object's metadata until the next `poll_event`.
    Connected,
    /// The reply to call `seq`: [`ClientConnection::reply`] shows it until the next
    /// `poll_event`.
    Reply {
        /// The call's sequence number.
        seq: u16,
    },
    /// The answer to a ping.
    Pong,
    /// Call `seq` passed its deadline: it is given up (its reply, if it comes, is dropped);
    /// the connection stays usable.
    TimedOut {
        /// The call's sequence number.
        seq: u16,
    },
    /// The connection is over: refused handshake ([`ClientError::Rejected`]), handshake
    /// timeout, closed by the daemon, or a protocol fault (Pyro5's proxy closes its
    /// connection on each). No reply comes for the calls still waiting. Reported once; close
    /// the socket.
    Closed(ClientError),
}

/// What the last event showed: the message it was about stays until the next `poll_event`.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Shown {
    Connected,
    Reply,
}

/// The proxy side of one connection: Pyro's client protocol, its buffers and its deadlines.
///
/// `R` receives replies, `T` queues requests (`Vec<u8>` grows as needed; a slice or array
/// bounds the message size without an allocator). Times are the adapter's monotonic clock in
/// milliseconds.
///
/// ```
/// use pyro5_core::client::{CallSpec, ClientConnection, ClientEvent, Extras, NO_ARGS};
/// use pyro5_core::limits::Limits;
/// use pyro5_core::wire::SerializerId;
///
/// let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
/// let mut conn = ClientConnection::new(SerializerId::Json, &mut rx[..], &mut tx[..], Limits::default());
/// conn.connect("test.echoserver", &"hello", &Extras::default(), 0, Some(5_000))?;
/// assert_eq!(&conn.tx_pending()[4..8], &[0x01, 0xf6, 1, 3]); // version 502, CONNECT, json
/// let n = conn.tx_pending().len(); // socket.write(conn.tx_pending())
/// conn.tx_advance(n);
/// // socket.read(conn.read_buf()) then conn.commit(n, now) until poll_event says Connected;
/// // calls are refused until then:
/// let echo = CallSpec::method("test.echoserver", "echo");
/// assert!(conn.call(&echo, NO_ARGS, None::<&()>, &Extras::default(), None).is_err());
/// // Nothing came within the deadline:
/// conn.handle_timeout(5_000);
/// assert!(matches!(conn.poll_event(), Some(ClientEvent::Closed(_))));
/// # Ok::<(), pyro5_core::client::ClientError>(())
/// ```
pub struct ClientConnection<R: RxStorage, T: RxStorage> {
    session: ClientSession,
    decoder: Decoder<R>,
    tx: T,
    /// The request bytes in `tx` not taken by the adapter yet.
    tx_start: usize,
    tx_end: usize,
    limits: Limits,
    now: u64,
    connect_deadline: Option<u64>,
    shown: Option<Shown>,
    timed_out: heapless::Deque<u16, MAX_IN_FLIGHT>,
    /// Why the connection is over, once it is.
    failure: Option<ClientError>,
    reported: bool,
    /// The daemon closed its side.
    peer_closed: bool,
}

impl<R: RxStorage, T: RxStorage> fmt::Debug for ClientConnection<R, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConnection")
            .field("ready", &self.session.is_ready())
            .field("in_flight", &self.session.in_flight())
            .field("tx_pending", &(self.tx_end - self.tx_start))
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl<R: RxStorage, T: RxStorage> ClientConnection<R, T> {
    /// A connection that will speak `serializer`, receiving into `rx` and queueing requests
    /// in `tx`, within `limits`. Nothing is written until [`connect`](Self::connect).
    pub fn new(serializer: SerializerId, rx: R, tx: T, limits: Limits) -> Self {
        Self {
            session: ClientSession::new(serializer),
            decoder: Decoder::new(rx, limits).with_read_ahead(READ_AHEAD),
            tx,
            tx_start: 0,
            tx_end: 0,
            limits,
            now: 0,
            connect_deadline: None,
            shown: None,
            timed_out: heapless::Deque::new(),
            failure: None,
            reported: false,
            peer_closed: false,
        }
    }

    /// The serializer of the next requests.
    pub fn serializer(&self) -> SerializerId {
        self.session.serializer()
    }

    /// Use another serializer from the next request on (Pyro allows any per message).
    pub fn set_serializer(&mut self, serializer: SerializerId) {
        self.session.set_serializer(serializer);
    }

    /// The sequence number of the last request (a reconnecting proxy carries it over).
    pub fn seq(&self) -> u16 {
        self.session.seq()
    }

    /// Continue from sequence number `seq` (before [`connect`](Self::connect), as Pyro's
    /// proxy does after a reconnect).
    pub fn set_seq(&mut self, seq: u16) {
        self.session.set_seq(seq);
    }

    /// The limits it sends and receives within.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether the handshake is done and the connection is not over.
    pub fn is_ready(&self) -> bool {
        self.session.is_ready() && self.failure.is_none()
    }

    /// Whether the connection is over (see [`ClientEvent::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.failure.is_some()
    }

    /// Why the connection is over, once it is.
    pub fn failure(&self) -> Option<&ClientError> {
        self.failure.as_ref()
    }

    /// How many calls wait for their replies (given-up ones included until theirs came).
    pub fn in_flight(&self) -> usize {
        self.session.in_flight()
    }

    /// Whether another call may be queued now ([`MAX_IN_FLIGHT`] wait at most).
    pub fn has_room(&self) -> bool {
        self.session.in_flight() < MAX_IN_FLIGHT
    }

    // Requests.

    /// Queue the CONNECT for `object` with `handshake` data (Pyro's default: `"hello"`), at
    /// time `now_ms`; the connection ends with [`ClientError::Timeout`] if no answer came by
    /// `deadline_ms`.
    ///
    /// # Errors
    /// [`ClientError::Encode`] or [`ClientError::Serialize`] (nothing was queued).
    pub fn connect<H: ?Sized + Serialize>(
        &mut self,
        object: &str,
        handshake: &H,
        extras: &Extras<'_>,
        now_ms: u64,
        deadline_ms: Option<u64>,
    ) -> Result<(), ClientError> {
        self.now = self.now.max(now_ms);
        let limits = self.limits;
        let offset = self.tx_offset();
        let len = self.session.write_connect(
            object,
            handshake,
            extras,
            limits,
            &mut Tail { storage: &mut self.tx, offset },
        )?;
        self.tx_end += len;
        self.connect_deadline = deadline_ms;
        Ok(())
    }

    /// Queue a call (see [`ClientSession::write_call`] for the arguments); its reply comes
    /// as [`ClientEvent::Reply`] with the returned sequence number, or
    /// [`ClientEvent::TimedOut`] once `deadline_ms` passed. A oneway call gets neither.
    ///
    /// # Errors
    /// [`ClientError::NotExpected`] before the handshake or once the connection is over;
    /// [`ClientError::Busy`] when [`MAX_IN_FLIGHT`] calls wait; [`ClientError::Encode`] or
    /// [`ClientError::Serialize`] for arguments that cannot be written (nothing was queued).
    pub fn call<A: ?Sized + Serialize, K: ?Sized + Serialize>(
        &mut self,
        call: &CallSpec<'_>,
        args: &A,
        kwargs: Option<&K>,
        extras: &Extras<'_>,
        deadline_ms: Option<u64>,
    ) -> Result<Sent, ClientError> {
        self.queue_call(deadline_ms, &mut |session, limits, tx| {
            session.write_call(call, args, kwargs, extras, limits, tx)
        })
    }

    /// Queue a call of `call` passing `blob` on as it came (a dispatcher's
    /// `listener.method(blob)`); see [`ClientSession::write_blob`]. Events as for
    /// [`call`](Self::call).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    #[cfg(feature = "marshal")]
    pub fn call_blob(
        &mut self,
        call: &CallSpec<'_>,
        blob: &crate::ser::blob::SerializedBlob<'_>,
        extras: &Extras<'_>,
        deadline_ms: Option<u64>,
    ) -> Result<Sent, ClientError> {
        self.queue_call(deadline_ms, &mut |session, limits, tx| session.write_blob(call, blob, extras, limits, tx))
    }

    /// Queue a call of `call` whose only argument is a new blob of `info` and `data`
    /// (Python's `proxy.method(SerializedBlob(info, data))`); see
    /// [`ClientSession::write_new_blob`]. Events as for [`call`](Self::call).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    #[cfg(feature = "marshal")]
    pub fn call_new_blob<I: ?Sized + Serialize, D: ?Sized + Serialize>(
        &mut self,
        call: &CallSpec<'_>,
        info: &I,
        data: &D,
        extras: &Extras<'_>,
        deadline_ms: Option<u64>,
    ) -> Result<Sent, ClientError> {
        self.queue_call(deadline_ms, &mut |session, limits, tx| {
            session.write_new_blob(call, info, data, extras, limits, tx)
        })
    }

    /// Queue the INVOKE `write` lays out after what is queued already, with its deadline.
    fn queue_call(&mut self, deadline_ms: Option<u64>, write: &mut WriteCall<'_>) -> Result<Sent, ClientError> {
        if self.failure.is_some() {
            return Err(ClientError::NotExpected);
        }
        let limits = self.limits;
        let offset = self.tx_offset();
        let sent = write(&mut self.session, limits, &mut Tail { storage: &mut self.tx, offset })?;
        self.tx_end += sent.len;
        if sent.expects_reply {
            self.session.set_deadline(sent.seq, deadline_ms);
        }
        Ok(sent)
    }

    /// Queue a PING; its answer comes as [`ClientEvent::Pong`].
    ///
    /// # Errors
    /// [`ClientError::Encode`]; [`ClientError::NotExpected`] once the connection is over.
    pub fn ping(&mut self, extras: &Extras<'_>) -> Result<(), ClientError> {
        if self.failure.is_some() {
            return Err(ClientError::NotExpected);
        }
        let limits = self.limits;
        let offset = self.tx_offset();
        let len = self.session.write_ping(extras, limits, &mut Tail { storage: &mut self.tx, offset })?;
        self.tx_end += len;
        Ok(())
    }

    /// Give up waiting for call `seq`: its reply, if it still comes, is dropped. `false` when
    /// no such call waits.
    pub fn abandon(&mut self, seq: u16) -> bool {
        self.session.abandon(seq)
    }

    /// Where the next request goes in the transmit storage.
    fn tx_offset(&mut self) -> usize {
        if self.tx_start == self.tx_end {
            self.tx_start = 0;
            self.tx_end = 0;
        }
        self.tx_end
    }

    // Bytes out.

    /// Request bytes to send, in order.
    pub fn tx_pending(&self) -> &[u8] {
        self.tx.bytes().get(self.tx_start..self.tx_end).unwrap_or_default()
    }

    /// The socket took `n` bytes of [`tx_pending`](Self::tx_pending).
    pub fn tx_advance(&mut self, n: usize) {
        self.tx_start = self.tx_start.saturating_add(n).min(self.tx_end);
        if self.tx_start == self.tx_end {
            self.tx_start = 0;
            self.tx_end = 0;
            self.tx.release();
        }
    }

    // Bytes in.

    /// Whether the connection takes bytes now: not while a reply waits to be seen by
    /// [`poll_event`](Self::poll_event), and not once it is over.
    pub fn wants_read(&self) -> bool {
        self.failure.is_none() && !self.peer_closed && self.decoder.message().is_none()
    }

    /// Where to read the next bytes (straight from the socket); empty when
    /// [`wants_read`](Self::wants_read) is false. Follow with [`commit`](Self::commit).
    pub fn read_buf(&mut self) -> &mut [u8] {
        if !self.wants_read() {
            return &mut [];
        }
        if let Err(e) = self.decoder.read_buf() {
            self.fail(ClientError::Receive(e));
            return &mut [];
        }
        self.decoder.read_buf().unwrap_or_default()
    }

    /// `n` bytes were read into [`read_buf`](Self::read_buf) at `now_ms`; 0 means the daemon
    /// closed the connection.
    pub fn commit(&mut self, n: usize, now_ms: u64) {
        self.now = self.now.max(now_ms);
        if n == 0 {
            self.peer_closed = true;
            return;
        }
        if let Err(e) = self.decoder.commit(n) {
            self.fail(ClientError::Receive(e));
        }
    }

    /// Copy `bytes` in (for adapters that do not read in place); returns how many were taken
    /// (fewer when a reply waits to be seen: drain [`poll_event`](Self::poll_event) and feed
    /// the rest).
    pub fn feed(&mut self, bytes: &[u8], now_ms: u64) -> usize {
        ReadsInPlace::copy_in(self, bytes, now_ms)
    }

    // Events.

    /// The next thing that happened (after bytes, time or a request went in); `None` when
    /// nothing did. The message an event is about ([`connected`](Self::connected),
    /// [`reply`](Self::reply), [`message`](Self::message)) is dropped at the next call.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        if self.shown.take().is_some()
            && let Err(e) = self.decoder.consume_next()
        {
            self.fail(ClientError::Receive(e));
        }
        if let Some(seq) = self.timed_out.pop_front() {
            return Some(ClientEvent::TimedOut { seq });
        }
        while self.failure.is_none() {
            let Some(msg) = self.decoder.message() else { break };
            if self.session.awaits_connect() {
                match self.session.read_connect(&msg) {
                    Ok(_) => {
                        self.connect_deadline = None;
                        self.shown = Some(Shown::Connected);
                        return Some(ClientEvent::Connected);
                    }
                    Err(e) => self.fail(e),
                }
                break;
            }
            match self.session.read_reply(&msg) {
                Ok(Reply::Late { .. }) => {
                    if let Err(e) = self.decoder.consume_next() {
                        self.fail(ClientError::Receive(e));
                    }
                }
                Ok(Reply::Pong) => {
                    self.shown = Some(Shown::Reply);
                    return Some(ClientEvent::Pong);
                }
                Ok(_) => {
                    self.shown = Some(Shown::Reply);
                    return Some(ClientEvent::Reply { seq: msg.header().seq });
                }
                Err(e) => self.fail(e),
            }
        }
        if self.peer_closed && self.failure.is_none() {
            self.fail(ClientError::ConnectionClosed);
        }
        match &self.failure {
            Some(e) if !self.reported => {
                self.reported = true;
                Some(ClientEvent::Closed(e.clone()))
            }
            _ => None,
        }
    }

    /// The daemon's answer to the handshake, after [`ClientEvent::Connected`].
    pub fn connected(&self) -> Option<Connected<'_>> {
        (self.shown == Some(Shown::Connected)).then(|| self.decoder.message().and_then(|m| connected_of(&m)))?
    }

    /// The reply, after [`ClientEvent::Reply`] or [`ClientEvent::Pong`].
    pub fn reply(&self) -> Option<Reply<'_>> {
        if self.shown != Some(Shown::Reply) {
            return None;
        }
        let msg = self.decoder.message()?;
        if msg.header().kind == MessageKind::Ping {
            return Some(Reply::Pong);
        }
        reply_of(&msg).ok()
    }

    /// The whole message the last event was about (its annotations, or its bytes for
    /// `LOGWIRE`).
    pub fn message(&self) -> Option<Message<'_>> {
        self.shown.and_then(|_| self.decoder.message())
    }

    // Time.

    /// When [`handle_timeout`](Self::handle_timeout) is next due: the handshake's deadline,
    /// or the earliest deadline of a call waited for. `None`: no deadline.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.failure.is_some() {
            return None;
        }
        let connect = self.connect_deadline.filter(|_| self.session.awaits_connect());
        match (connect, self.session.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The time is `now_ms`: calls past their deadline are given up
    /// ([`ClientEvent::TimedOut`]), a handshake past its deadline ends the connection
    /// ([`ClientError::Timeout`]). Idempotent.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.now = self.now.max(now_ms);
        if self.failure.is_some() {
            return;
        }
        if self.session.awaits_connect() && self.connect_deadline.is_some_and(|d| d <= self.now) {
            self.fail(ClientError::Timeout);
            return;
        }
        let timed_out = &mut self.timed_out;
        self.session.expire(self.now, &mut |seq| {
            let _ = timed_out.push_back(seq);
        });
    }

    fn fail(&mut self, error: ClientError) {
        if self.failure.is_none() {
            self.failure = Some(error);
            self.session.reset();
            self.timed_out.clear();
        }
    }
}

impl<R: RxStorage, T: RxStorage> ReadsInPlace for ClientConnection<R, T> {
    fn read_buf(&mut self) -> &mut [u8] {
        ClientConnection::read_buf(self)
    }
    fn commit(&mut self, n: usize, now_ms: u64) {
        ClientConnection::commit(self, n, now_ms);
    }
}
