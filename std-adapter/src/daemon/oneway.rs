//! Oneway calls on a bounded pool of threads (Pyro's `ONEWAY_THREADED`): the connection
//! hands the request over and takes its next one at once.
//!
//! At most `max_oneway_threads` threads, started as needed and ended after a while without
//! work; at most [`QUEUE`] requests waiting for them. When both are full the call runs in
//! the connection's own thread, as any other call.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use pyro5_core::server::{ConnectionId, ServerConnection, ServerEvent};

use super::Inner;

/// Requests waiting for a pool thread, at most.
pub(crate) const QUEUE: usize = 256;

/// How long a pool thread waits for work before it ends.
const IDLE: Duration = Duration::from_secs(5);

struct Job {
    connection: ConnectionId,
    peer: Option<SocketAddr>,
    request: Vec<u8>,
}

pub(crate) struct OnewayPool {
    sender: SyncSender<Job>,
    receiver: Arc<Mutex<Receiver<Job>>>,
    threads: Arc<AtomicUsize>,
    max_threads: usize,
}

impl OnewayPool {
    pub(crate) fn new(max_threads: usize) -> Self {
        let (sender, receiver) = sync_channel(QUEUE);
        Self { sender, receiver: Arc::new(Mutex::new(receiver)), threads: Arc::new(AtomicUsize::new(0)), max_threads }
    }

    /// Queue the oneway call in `request` (the whole message) of connection `connection`;
    /// `false` when the pool is full (run it in place then).
    pub(crate) fn submit(
        &self,
        inner: &Arc<Inner>,
        connection: ConnectionId,
        peer: Option<SocketAddr>,
        request: &[u8],
    ) -> bool {
        if self.max_threads == 0 {
            return false;
        }
        let job = Job { connection, peer, request: request.to_vec() };
        match self.sender.try_send(job) {
            Ok(()) => {
                self.grow(inner);
                true
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// Start another thread if there is room (each takes jobs until idle for a while).
    fn grow(&self, inner: &Arc<Inner>) {
        let running = self.threads.fetch_add(1, Ordering::AcqRel);
        if running >= self.max_threads {
            self.threads.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        let (receiver, threads, daemon) = (self.receiver.clone(), self.threads.clone(), Arc::downgrade(inner));
        let spawned = std::thread::Builder::new().name("pyro5-oneway".into()).spawn(move || {
            work(&receiver, &daemon);
            threads.fetch_sub(1, Ordering::AcqRel);
        });
        if spawned.is_err() {
            self.threads.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn work(receiver: &Mutex<Receiver<Job>>, daemon: &Weak<Inner>) {
    loop {
        let job = receiver.lock().unwrap_or_else(PoisonError::into_inner).recv_timeout(IDLE);
        let Ok(job) = job else { return };
        let Some(inner) = daemon.upgrade() else { return };
        let run = std::panic::AssertUnwindSafe(|| {
            inner.with_server(|server| {
                let mut call = ServerConnection::after_handshake(
                    job.connection,
                    job.peer,
                    Vec::new(),
                    Vec::new(),
                    server.config,
                    inner.now_ms(),
                    inner.seed(),
                );
                call.feed(&job.request, inner.now_ms());
                while let Some(ServerEvent::Call(handle)) = call.poll_event(server) {
                    // An async method's future goes to the async daemon's runtime.
                    if let Ok(Some(later)) = call.start(handle, server) {
                        inner.run_detached(later.future);
                    }
                }
            });
        });
        if std::panic::catch_unwind(run).is_err() {
            log::error!("a Pyro object panicked in a oneway call");
        }
    }
}
