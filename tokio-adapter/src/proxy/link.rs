//! One connection of a proxy, driven by two tasks: a reader that hands what the socket
//! brings to the core's [`ClientConnection`] and each reply to its caller, and a writer that
//! sends what the callers queued.
//!
//! The connection itself sits behind a plain mutex, never held across an `await`: a caller
//! queues its request under it and registers a oneshot channel for its reply; the reader
//! feeds received bytes under it and sends each reply (the whole message) down the channel
//! of its call. A caller that stops waiting (its future dropped, or its deadline passed)
//! gives its call up under the same lock ([`ClientConnection::abandon`]), so the late reply
//! is read and dropped by the core and the connection stays in step.

use std::collections::{HashMap, VecDeque};
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use pyro5_core::client::{ClientConnection, ClientError, ClientEvent};
use pyro5_std::calling::closed_error;
use pyro5_std::config::log_wire;
use pyro5_std::{ProxyError, ProxyMetadata};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

/// The core connection a proxy drives.
pub(super) type Connection = ClientConnection<Vec<u8>, Vec<u8>>;

/// What a caller gets for its call: the reply's whole message, or why none comes.
pub(super) type Answer = Result<Vec<u8>, ProxyError>;

/// The read half of a socket.
pub(super) type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// The write half of a socket.
pub(super) type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// The most the reader takes from the socket at once.
const READ_CHUNK: usize = 64 * 1024;

/// One open connection: the core's state machine, the callers waiting on it, its tasks.
pub(super) struct Link {
    /// What the object exposes, from this connection's handshake.
    pub(super) metadata: Arc<ProxyMetadata>,
    /// The object id calls go to.
    pub(super) object: Arc<str>,
    state: Mutex<LinkState>,
    /// Requests were queued: the writer takes them.
    queued: Notify,
    /// A call left the calls in flight, or the connection closed.
    room: Notify,
    /// The writer wrote bytes to the socket, or the connection closed.
    sent: Notify,
    /// The proxy's clock.
    epoch: Instant,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// What the lock of a [`Link`] guards.
pub(super) struct LinkState {
    pub(super) conn: Connection,
    /// The caller of each call waiting for its reply.
    waiters: HashMap<u16, oneshot::Sender<Answer>>,
    /// Outcomes that came before their caller waited for them (a stream's prefetched items).
    early: HashMap<u16, Answer>,
    /// The callers of pings, in the order the pings went.
    pongs: VecDeque<oneshot::Sender<Answer>>,
    /// The connection is over; nothing more is queued or read.
    closed: bool,
    /// Bytes the writer took from the connection to send, since it opened.
    taken: u64,
    /// Bytes written to the socket, since it opened.
    written: u64,
    /// `LOGWIRE`: every message sent and received is logged.
    logwire: bool,
    /// The daemon closed the connection while no call waited: the next call is told so
    /// (Python's proxy finds out by its next call too), the one after connects again.
    unreported: bool,
}

impl LinkState {
    /// Whether the connection is over.
    pub(super) fn is_closed(&self) -> bool {
        self.closed || self.conn.is_closed()
    }

    /// Where what is queued now ends, counted in bytes from the connection's start: a
    /// request just queued is on the wire once [`Link::written_up_to`] reaches it.
    pub(super) fn queued_end(&self) -> u64 {
        self.taken.saturating_add(u64::try_from(self.conn.tx_pending().len()).unwrap_or(u64::MAX))
    }

    /// A oneshot channel for the reply to call `seq`: already answered if it came early.
    pub(super) fn register(&mut self, seq: u16) -> oneshot::Receiver<Answer> {
        let (tx, rx) = oneshot::channel();
        match self.early.remove(&seq) {
            Some(answer) => {
                let _ = tx.send(answer);
            }
            None => {
                self.waiters.insert(seq, tx);
            }
        }
        rx
    }

    /// Call `seq` is not waited for any more: forget what came for it; a call still in flight
    /// is given up (its reply dropped when it comes).
    pub(super) fn forget(&mut self, seq: u16) {
        self.early.remove(&seq);
        if self.waiters.remove(&seq).is_some() {
            self.conn.abandon(seq);
        }
    }

    /// A oneshot channel for the answer to the ping just queued.
    pub(super) fn register_pong(&mut self) -> oneshot::Receiver<Answer> {
        let (tx, rx) = oneshot::channel();
        self.pongs.push_back(tx);
        rx
    }

    /// Hand every event the connection has to its caller: whether a call left the calls in
    /// flight, and the error that ended the connection, if it ended.
    fn dispatch(&mut self) -> (bool, Option<ClientError>) {
        let mut freed = false;
        while let Some(event) = self.conn.poll_event() {
            if self.logwire
                && let Some(message) = self.conn.message()
            {
                log_wire("proxy wiredata received", message.as_bytes());
            }
            match event {
                ClientEvent::Reply { seq } => {
                    let bytes = self.conn.message().map(|m| m.as_bytes().to_vec());
                    self.deliver(seq, bytes.ok_or(ProxyError::ConnectionClosed));
                    freed = true;
                }
                ClientEvent::TimedOut { seq } => {
                    self.deliver(seq, Err(ProxyError::Timeout));
                    freed = true;
                }
                ClientEvent::Pong => {
                    if let Some(tx) = self.pongs.pop_front() {
                        let _ = tx.send(Ok(Vec::new()));
                    }
                }
                ClientEvent::Connected => {}
                ClientEvent::Closed(e) => return (true, Some(e)),
            }
        }
        (freed, None)
    }

    fn deliver(&mut self, seq: u16, answer: Answer) {
        match self.waiters.remove(&seq) {
            Some(tx) => {
                let _ = tx.send(answer);
            }
            None => {
                self.early.insert(seq, answer);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Link {
    /// Drive `conn` (handshake done) over the socket halves: its reader and writer tasks are
    /// spawned on the current runtime.
    pub(super) fn start(
        conn: Connection,
        read: ReadHalf,
        write: WriteHalf,
        metadata: Arc<ProxyMetadata>,
        object: Arc<str>,
        epoch: Instant,
        logwire: bool,
    ) -> Arc<Self> {
        let link = Arc::new(Self {
            metadata,
            object,
            state: Mutex::new(LinkState {
                conn,
                waiters: HashMap::new(),
                early: HashMap::new(),
                pongs: VecDeque::new(),
                closed: false,
                taken: 0,
                written: 0,
                logwire,
                unreported: false,
            }),
            queued: Notify::new(),
            room: Notify::new(),
            sent: Notify::new(),
            epoch,
            tasks: Mutex::new(Vec::new()),
        });
        let reader = tokio::spawn(read_loop(link.clone(), read));
        let writer = tokio::spawn(write_loop(link.clone(), write));
        lock(&link.tasks).extend([reader, writer]);
        if link.lock().closed {
            // Closed before its tasks were known: stop them now.
            link.stop_tasks();
        }
        link
    }

    /// The connection's state, locked (never across an `await`).
    pub(super) fn lock(&self) -> MutexGuard<'_, LinkState> {
        lock(&self.state)
    }

    /// Milliseconds of the proxy's clock at `at`.
    pub(super) fn millis(&self, at: Instant) -> u64 {
        millis(self.epoch, at)
    }

    /// Requests were queued under the lock: wake the writer.
    pub(super) fn queued(&self) {
        self.queued.notify_one();
    }

    /// Whether the connection is over.
    pub(super) fn is_closed(&self) -> bool {
        self.lock().is_closed()
    }

    /// Calls waiting for their replies.
    pub(super) fn in_flight(&self) -> usize {
        self.lock().conn.in_flight()
    }

    /// Wait until a call may be added to the calls in flight, and run `queue` under the lock
    /// then; [`ProxyError::Timeout`] at `deadline`, [`ProxyError::ConnectionClosed`] once
    /// the connection is over.
    pub(super) async fn with_room<T>(
        &self,
        deadline: Option<Instant>,
        mut queue: impl FnMut(&mut LinkState) -> Result<T, ProxyError>,
    ) -> Result<T, ProxyError> {
        loop {
            let mut notified = pin!(self.room.notified());
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if state.is_closed() {
                    return Err(ProxyError::ConnectionClosed);
                }
                if state.conn.has_room() {
                    let queued = queue(&mut state);
                    drop(state);
                    self.queued();
                    return queued;
                }
            }
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d.into(), notified).await.is_err() {
                        return Err(ProxyError::Timeout);
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Wait until the writer wrote the bytes up to `end` (a [`LinkState::queued_end`]): a
    /// oneway call is done once its request is on the wire, as Python's proxy returns after
    /// sending it (so dropping the proxy right after does not lose it).
    /// [`ProxyError::ConnectionClosed`] when the connection ended before,
    /// [`ProxyError::Timeout`] at `deadline`.
    pub(super) async fn written_up_to(&self, end: u64, deadline: Option<Instant>) -> Result<(), ProxyError> {
        loop {
            let mut notified = pin!(self.sent.notified());
            notified.as_mut().enable();
            {
                let state = self.lock();
                if state.written >= end {
                    return Ok(());
                }
                if state.is_closed() {
                    return Err(ProxyError::ConnectionClosed);
                }
            }
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d.into(), notified).await.is_err() {
                        return Err(ProxyError::Timeout);
                    }
                }
                None => notified.await,
            }
        }
    }

    /// A caller's deadline passed: give up the calls past theirs (the core's deadlines).
    pub(super) fn expire(&self) {
        let now = self.millis(Instant::now());
        let mut state = self.lock();
        state.conn.handle_timeout(now);
        let (freed, lost) = state.dispatch();
        drop(state);
        if freed {
            self.room.notify_waiters();
        }
        if let Some(e) = lost {
            self.close(e);
        }
    }

    /// The daemon ended the connection (or the socket failed): as [`close`](Self::close),
    /// remembering whether any call was told.
    fn peer_closed(&self, error: ClientError) {
        {
            let mut state = self.lock();
            if !state.closed {
                state.unreported = state.waiters.is_empty() && state.pongs.is_empty();
            }
        }
        self.close(error);
    }

    /// Whether the daemon ended the connection without a call to tell (once: the answer is
    /// taken).
    pub(super) fn take_unreported(&self) -> bool {
        std::mem::take(&mut self.lock().unreported)
    }

    /// End the connection: every caller still waiting gets `error` (as the proxy reports
    /// it), the socket is closed. Idempotent.
    pub(super) fn close(&self, error: ClientError) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.closed = true;
        for (_, tx) in state.waiters.drain() {
            let _ = tx.send(Err(closed_error(error.clone())));
        }
        for tx in state.pongs.drain(..) {
            let _ = tx.send(Err(closed_error(error.clone())));
        }
        state.early.clear();
        drop(state);
        self.stop_tasks();
        self.room.notify_waiters();
        self.sent.notify_waiters();
    }

    /// Stop the reader and the writer: their socket halves are dropped, the socket closes.
    fn stop_tasks(&self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }
}

/// Milliseconds from `epoch` to `at`.
pub(super) fn millis(epoch: Instant, at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch).as_millis()).unwrap_or(u64::MAX)
}

/// Read the socket until the connection ends, handing each reply to its caller.
async fn read_loop(link: Arc<Link>, mut socket: ReadHalf) {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        // A read error ends the connection as the daemon closing it does.
        let n = socket.read(&mut buf).await.unwrap_or(0);
        let now = link.millis(Instant::now());
        let mut state = link.lock();
        if state.closed {
            return;
        }
        let mut freed = false;
        let mut lost = None;
        if n == 0 {
            state.conn.commit(0, now);
            (freed, lost) = state.dispatch();
        }
        let mut rest = buf.get(..n).unwrap_or_default();
        let mut stalled = false;
        while !rest.is_empty() {
            // A reply shown by the last event is dropped by the next poll: until then the
            // connection takes no bytes.
            let fed = state.conn.feed(rest, now);
            rest = rest.get(fed..).unwrap_or_default();
            let (f, l) = state.dispatch();
            freed |= f;
            lost = l;
            if lost.is_some() || fed == 0 && stalled {
                break;
            }
            stalled = fed == 0;
        }
        drop(state);
        if freed {
            link.room.notify_waiters();
        }
        if let Some(e) = lost.or((n == 0).then_some(ClientError::ConnectionClosed)) {
            link.peer_closed(e);
            return;
        }
    }
}

/// Send what the callers queue, in order, until the connection ends.
async fn write_loop(link: Arc<Link>, mut socket: WriteHalf) {
    let mut bytes = Vec::new();
    loop {
        let notified = link.queued.notified();
        {
            let mut state = link.lock();
            if state.closed {
                return;
            }
            bytes.clear();
            bytes.extend_from_slice(state.conn.tx_pending());
            state.conn.tx_advance(bytes.len());
            state.taken = state.taken.saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
            if state.logwire && !bytes.is_empty() {
                log_wire("proxy wiredata sending", &bytes);
            }
        }
        if bytes.is_empty() {
            notified.await;
            continue;
        }
        if socket.write_all(&bytes).await.is_err() {
            link.close(ClientError::ConnectionClosed);
            return;
        }
        {
            let mut state = link.lock();
            state.written = state.written.saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        }
        link.sent.notify_waiters();
        if bytes.capacity() > READ_CHUNK {
            // A large request's storage is not kept for the life of the connection.
            bytes = Vec::new();
        }
    }
}

/// A call waiting for its reply. Dropped before the reply came (its future dropped), it
/// gives the call up: the reply is dropped when it comes, the connection goes on.
pub(super) struct Pending {
    link: Arc<Link>,
    seq: u16,
    rx: oneshot::Receiver<Answer>,
    done: bool,
}

impl Pending {
    pub(super) fn new(link: Arc<Link>, seq: u16, rx: oneshot::Receiver<Answer>) -> Self {
        Self { link, seq, rx, done: false }
    }

    /// The reply's message, waiting until `deadline` at most.
    pub(super) async fn wait(mut self, deadline: Option<Instant>) -> Answer {
        let received = match deadline {
            None => (&mut self.rx).await.ok(),
            Some(d) => match tokio::time::timeout_at(d.into(), &mut self.rx).await {
                Ok(received) => received.ok(),
                Err(_) => {
                    // The core gives up the calls past their deadline; this one gets its
                    // `Timeout` (or the reply that came just in time).
                    self.link.expire();
                    match self.rx.try_recv() {
                        Ok(answer) => Some(answer),
                        Err(oneshot::error::TryRecvError::Closed) => None,
                        // Not given up by the core yet (its clock is in whole
                        // milliseconds): dropping `self` does.
                        Err(oneshot::error::TryRecvError::Empty) => return Err(ProxyError::Timeout),
                    }
                }
            },
        };
        self.done = true;
        received.unwrap_or(Err(ProxyError::ConnectionClosed))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            self.link.lock().forget(self.seq);
            self.link.room.notify_waiters();
        }
    }
}
