//! One connection shared by every thread calling through a proxy.
//!
//! The core's [`ClientConnection`] holds the conversation (requests queued, replies matched
//! by sequence number, deadlines); this module only moves its bytes. A thread queues its
//! request under the proxy's lock and writes it outside the lock (one writer at a time).
//! To get its reply, a thread either finds it already read by another thread, or becomes
//! the reader: it reads the socket outside the lock, hands what came to the connection under
//! the lock, keeps its own reply and leaves the others' (whole messages) for their threads,
//! which it wakes. So sequential calls cost one write and one read, and threads sharing the
//! proxy keep up to [`MAX_IN_FLIGHT`](pyro5_core::client::MAX_IN_FLIGHT) calls on the wire.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use pyro5_core::client::{ClientConnection, ClientEvent, Reply};
use pyro5_core::limits::Limits;
use pyro5_core::wire::AnnotationId;

use super::{ProxyError, io_error};
use crate::calling::{closed_error, collect_annotations, read_kept_reply};
use crate::config::log_wire;
use crate::transport::Stream;

/// The most a reader takes from the socket at once.
const READ_CHUNK: usize = 64 * 1024;

/// One open connection.
pub(super) struct Live {
    pub(super) conn: ClientConnection<Vec<u8>, Vec<u8>>,
    pub(super) stream: Arc<Stream>,
    pub(super) generation: u64,
    /// A thread is reading the socket; the others wait for what it hands them.
    reading: bool,
    /// The read buffer (taken by the reading thread).
    rx: Vec<u8>,
    /// Replies read for calls of other threads, whole, by sequence number.
    replies: HashMap<u16, Vec<u8>>,
    /// Calls given up at their deadline whose threads have not seen it yet.
    timed_out: HashSet<u16>,
    /// Ping answers not taken yet.
    pongs: usize,
    /// The threads waiting for the reply to a call, each woken alone when it comes (or when
    /// it is that thread's turn to read).
    waiters: HashMap<u16, Arc<Condvar>>,
    /// Condition variables of earlier waits, for the next ones.
    spare: Vec<Arc<Condvar>>,
    /// `LOGWIRE`.
    logwire: bool,
}

impl Live {
    pub(super) fn new(
        conn: ClientConnection<Vec<u8>, Vec<u8>>,
        stream: Stream,
        generation: u64,
        logwire: bool,
    ) -> Self {
        Self {
            conn,
            stream: Arc::new(stream),
            generation,
            reading: false,
            rx: Vec::new(),
            replies: HashMap::new(),
            timed_out: HashSet::new(),
            pongs: 0,
            waiters: HashMap::new(),
            spare: Vec::new(),
            logwire,
        }
    }
}

impl Live {
    /// The condition variable the thread waiting for call `seq` waits on.
    fn waiter(&mut self, seq: u16) -> Arc<Condvar> {
        let spare = &mut self.spare;
        self.waiters.entry(seq).or_insert_with(|| spare.pop().unwrap_or_default()).clone()
    }

    /// The thread waiting for call `seq` stopped waiting.
    fn unwait(&mut self, seq: u16) {
        if let Some(cv) = self.waiters.remove(&seq) {
            self.spare.push(cv);
        }
    }

    /// Wake the thread waiting for call `seq`, if one does.
    fn wake(&self, seq: u16) {
        if let Some(cv) = self.waiters.get(&seq) {
            cv.notify_one();
        }
    }

    /// Nobody reads now: wake one thread whose reply has not come, to read for everyone.
    fn hand_over(&self) {
        if let Some(cv) = self
            .waiters
            .iter()
            .find(|(seq, _)| !self.replies.contains_key(seq) && !self.timed_out.contains(seq))
            .map(|(_, cv)| cv)
        {
            cv.notify_one();
        }
    }

    fn wake_all(&self) {
        for cv in self.waiters.values() {
            cv.notify_one();
        }
    }
}

/// What a waiting thread waits for.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(super) enum Awaited {
    /// The reply to the call with this sequence number.
    Call(u16),
    /// A ping's answer.
    Pong,
}

/// The state behind a proxy's lock that the connection sharing needs.
pub(super) trait Holder {
    /// The open connection, if any.
    fn live(&mut self) -> &mut Option<Live>;
    /// Remember the annotations of the reply a call of this thread got.
    fn set_response_annotations(&mut self, annotations: Vec<(AnnotationId, Vec<u8>)>);
    /// The connection ended: keep what must carry over to the next one.
    fn lost(&mut self, live: Live);
}

/// The proxy's lock, the condition its waiting threads wait on, and its write lock.
pub(super) struct Shared<S> {
    pub(super) state: Mutex<S>,
    changed: Condvar,
    /// The write lock, with the bytes being written (kept for the next writes). Taken before
    /// the proxy's lock, never while holding it: a writer blocked by a daemon that waits for
    /// its replies to be read must not keep the reader from the connection.
    writing: Mutex<Vec<u8>>,
    epoch: Instant,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<S: Holder> Shared<S> {
    pub(super) fn new(state: S) -> Self {
        Self {
            state: Mutex::new(state),
            changed: Condvar::new(),
            writing: Mutex::new(Vec::new()),
            epoch: Instant::now(),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, S> {
        lock(&self.state)
    }

    /// Milliseconds of the proxy's clock at `at`.
    pub(super) fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// Wait (releasing the lock) until another thread changes something or `deadline`.
    pub(super) fn wait<'a>(&self, guard: MutexGuard<'a, S>, deadline: Option<Instant>) -> MutexGuard<'a, S> {
        let timeout = deadline.map_or(Duration::from_secs(3600), |d| d.saturating_duration_since(Instant::now()));
        self.changed.wait_timeout(guard, timeout).unwrap_or_else(std::sync::PoisonError::into_inner).0
    }

    /// Close connection `generation` (if it is still the open one), waking every thread.
    pub(super) fn drop_connection(&self, state: &mut S, generation: u64) {
        if state.live().as_ref().is_some_and(|l| l.generation == generation)
            && let Some(live) = state.live().take()
        {
            live.stream.shutdown();
            live.wake_all();
            state.lost(live);
        }
        self.changed.notify_all();
    }

    /// Take what the connection queued and write it, outside the proxy's lock, one writer at
    /// a time (requests other threads queued meanwhile go in the same write). A write that
    /// fails closes the connection.
    pub(super) fn flush(&self, state: MutexGuard<'_, S>) -> Result<(), ProxyError> {
        drop(state);
        let mut bytes = lock(&self.writing);
        let mut state = self.lock();
        let Some(live) = state.live().as_mut() else { return Err(ProxyError::ConnectionClosed) };
        if live.conn.tx_pending().is_empty() {
            // Another writer took these requests along.
            return Ok(());
        }
        bytes.clear();
        bytes.extend_from_slice(live.conn.tx_pending());
        live.conn.tx_advance(bytes.len());
        let (stream, generation, logwire) = (live.stream.clone(), live.generation, live.logwire);
        drop(state);
        if logwire {
            log_wire("proxy wiredata sending", &bytes);
        }
        let written = (&*stream).write_all(&bytes);
        if bytes.capacity() > READ_CHUNK {
            // A large request's storage is not kept for the life of the proxy.
            *bytes = Vec::new();
        }
        drop(bytes);
        written.map_err(|e| {
            let mut state = self.lock();
            self.drop_connection(&mut state, generation);
            io_error(e)
        })
    }

    /// Wait for `awaited` on connection `generation` until `deadline`, and hand the reply to
    /// `take` (still under the lock when this thread read it itself).
    pub(super) fn receive<T>(
        &self,
        generation: u64,
        awaited: Awaited,
        deadline: Option<Instant>,
        limits: Limits,
        take: &mut dyn FnMut(Reply<'_>) -> Result<T, ProxyError>,
    ) -> Result<T, ProxyError> {
        let mut state = self.lock();
        loop {
            let Some(live) = state.live().as_mut().filter(|l| l.generation == generation) else {
                return Err(ProxyError::ConnectionClosed);
            };
            match awaited {
                Awaited::Call(seq) => {
                    if let Some(bytes) = live.replies.remove(&seq) {
                        drop(state);
                        return self.take_kept(&bytes, limits, take);
                    }
                    if live.timed_out.remove(&seq) {
                        return Err(ProxyError::Timeout);
                    }
                }
                Awaited::Pong if live.pongs > 0 => {
                    live.pongs -= 1;
                    return take(Reply::Pong);
                }
                Awaited::Pong => {}
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                live.conn.handle_timeout(self.millis(now));
                let mut mine = None;
                let mut annotations = None;
                let lost = self.dispatch(live, awaited, &mut mine, &mut annotations, take);
                // This thread leaves: if it was the reader, another takes over.
                live.hand_over();
                if let Some(error) = lost {
                    self.drop_connection(&mut state, generation);
                    return Err(error);
                }
                if let Some(annotations) = annotations {
                    state.set_response_annotations(annotations);
                }
                self.changed.notify_all();
                return mine.unwrap_or(Err(ProxyError::Timeout));
            }
            if live.reading {
                state = match awaited {
                    Awaited::Call(seq) => {
                        let cv = live.waiter(seq);
                        let timeout =
                            deadline.map_or(Duration::from_secs(3600), |d| d.saturating_duration_since(Instant::now()));
                        let mut state = cv.wait_timeout(state, timeout).unwrap_or_else(PoisonError::into_inner).0;
                        if let Some(live) = state.live().as_mut().filter(|l| l.generation == generation) {
                            live.unwait(seq);
                        }
                        state
                    }
                    Awaited::Pong => self.wait(state, deadline),
                };
                continue;
            }
            // This thread reads for everyone.
            live.reading = true;
            let mut buf = std::mem::take(&mut live.rx);
            buf.resize(READ_CHUNK, 0);
            let stream = live.stream.clone();
            drop(state);
            let _ = stream
                .set_read_timeout(deadline.map(|d| d.saturating_duration_since(now).max(Duration::from_millis(1))));
            let read = (&*stream).read(&mut buf);
            state = self.lock();
            let Some(live) = state.live().as_mut().filter(|l| l.generation == generation) else {
                self.changed.notify_all();
                return Err(ProxyError::ConnectionClosed);
            };
            live.reading = false;
            let now_ms = self.millis(Instant::now());
            let mut lost = None;
            let mut mine = None;
            let mut annotations = None;
            match read {
                Ok(n) => {
                    if n == 0 {
                        live.conn.commit(0, now_ms);
                    }
                    let mut rest = &buf[..n];
                    let mut stalled = false;
                    loop {
                        // A message shown by the last event is dropped by the next poll: until
                        // then the connection takes no bytes.
                        let fed = live.conn.feed(rest, now_ms);
                        rest = &rest[fed..];
                        lost = self.dispatch(live, awaited, &mut mine, &mut annotations, take);
                        if lost.is_some() || rest.is_empty() || fed == 0 && stalled {
                            break;
                        }
                        stalled = fed == 0;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => lost = Some(io_error(e)),
            }
            live.rx = buf;
            if lost.is_none() && mine.is_some() {
                // This thread leaves with its reply: another reads on.
                live.hand_over();
            }
            if let Some(annotations) = annotations {
                state.set_response_annotations(annotations);
            }
            if let Some(error) = lost {
                self.drop_connection(&mut state, generation);
                return Err(mine.and_then(Result::err).unwrap_or(error));
            }
            // Threads waiting for room among the calls in flight, or for a ping's answer.
            self.changed.notify_all();
            if let Some(result) = mine {
                return result;
            }
        }
    }

    /// Hand out every event the connection has: this thread's reply to `take`, the others'
    /// kept for their threads. The error that ended the connection, if it ended.
    fn dispatch<T>(
        &self,
        live: &mut Live,
        awaited: Awaited,
        mine: &mut Option<Result<T, ProxyError>>,
        annotations: &mut Option<Vec<(AnnotationId, Vec<u8>)>>,
        take: &mut dyn FnMut(Reply<'_>) -> Result<T, ProxyError>,
    ) -> Option<ProxyError> {
        while let Some(event) = live.conn.poll_event() {
            if live.logwire
                && let Some(message) = live.conn.message()
            {
                log_wire("proxy wiredata received", message.as_bytes());
            }
            match event {
                ClientEvent::Reply { seq } if awaited == Awaited::Call(seq) => {
                    let (Some(reply), Some(message)) = (live.conn.reply(), live.conn.message()) else { continue };
                    *annotations = Some(collect_annotations(&message));
                    *mine = Some(take(reply));
                }
                ClientEvent::Reply { seq } => {
                    if let Some(message) = live.conn.message() {
                        live.replies.insert(seq, message.as_bytes().to_vec());
                    }
                    live.wake(seq);
                }
                ClientEvent::Pong if awaited == Awaited::Pong && mine.is_none() => *mine = Some(take(Reply::Pong)),
                ClientEvent::Pong => live.pongs += 1,
                ClientEvent::TimedOut { seq } if awaited == Awaited::Call(seq) => {
                    *mine = Some(Err(ProxyError::Timeout))
                }
                ClientEvent::TimedOut { seq } => {
                    live.timed_out.insert(seq);
                    live.wake(seq);
                }
                ClientEvent::Connected => {}
                ClientEvent::Closed(e) => return Some(closed_error(e)),
            }
        }
        None
    }

    /// A reply another thread read and kept: read it again from its bytes.
    fn take_kept<T>(
        &self,
        bytes: &[u8],
        limits: Limits,
        take: &mut dyn FnMut(Reply<'_>) -> Result<T, ProxyError>,
    ) -> Result<T, ProxyError> {
        let (result, annotations) = read_kept_reply(bytes, limits, take)?;
        self.lock().set_response_annotations(annotations);
        result
    }
}
