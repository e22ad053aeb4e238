//! Pyro's "thread" server type: a thread per connection, at most `max_connections` at once;
//! further clients are refused with Pyro's CONNECTFAIL text.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::connection::{ClientConnection, Wait};
use super::{Inner, REFUSAL_TIME, TICK};
use crate::transport::{Listener, Stream};

/// Refused clients answered at once, at most (each by a short-lived thread); more are
/// disconnected without an answer.
const MAX_REFUSING: usize = 64;

pub(crate) fn serve(inner: &Arc<Inner>, listener: &Arc<Listener>, keep_going: &dyn Fn() -> bool) -> io::Result<()> {
    listener.set_nonblocking(false)?;
    let acceptor = {
        let (inner, listener) = (inner.clone(), listener.clone());
        std::thread::Builder::new().name("pyro5-accept".into()).spawn(move || accept_loop(&inner, &listener))?
    };
    while keep_going() && !acceptor.is_finished() {
        std::thread::sleep(TICK);
        inner.expire_streams();
    }
    inner.shutdown.store(true, Ordering::Release);
    listener.wake();
    acceptor.join().unwrap_or(Ok(()))
}

fn accept_loop(inner: &Arc<Inner>, listener: &Listener) -> io::Result<()> {
    let mut workers: Vec<std::thread::JoinHandle<()>> = Vec::new();
    let refusing = Arc::new(AtomicUsize::new(0));
    while !inner.is_shutting_down() {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted) => continue,
            Err(e) => {
                // Out of file descriptors and the like: wait for connections to close.
                log::warn!("accept failed: {e}");
                std::thread::sleep(TICK);
                continue;
            }
        };
        if inner.is_shutting_down() {
            break;
        }
        workers.retain(|w| !w.is_finished());
        // Reads and writes wake up every tick to check the deadlines and for shutdown.
        let _ = stream.set_read_timeout(Some(TICK));
        let _ = stream.set_write_timeout(Some(TICK));
        if inner.connections.load(Ordering::Relaxed) >= inner.config.max_connections {
            refuse(inner, stream, &refusing);
            continue;
        }
        let connection = ClientConnection::new(inner, stream, peer, false);
        match std::thread::Builder::new().name("pyro5-worker".into()).spawn(move || serve_connection(connection)) {
            Ok(handle) => workers.push(handle),
            Err(e) => log::warn!("no thread for a new connection: {e}"),
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

fn serve_connection(mut connection: ClientConnection) {
    while !connection.daemon_shutting_down() {
        if connection.pump(false) == Wait::Closed {
            break;
        }
    }
}

/// Answer the client's CONNECT with Pyro's "no free workers" CONNECTFAIL, in a thread of its
/// own for at most [`REFUSAL_TIME`].
fn refuse(inner: &Arc<Inner>, stream: Stream, refusing: &Arc<AtomicUsize>) {
    if refusing.fetch_add(1, Ordering::AcqRel) >= MAX_REFUSING {
        refusing.fetch_sub(1, Ordering::AcqRel);
        log::warn!("client connection was denied: no free workers, increase server threadpool size");
        stream.shutdown();
        return;
    }
    let mut connection =
        ClientConnection::refused(inner, stream, "no free workers, increase server threadpool size", false);
    let refusing = refusing.clone();
    let spawned = std::thread::Builder::new().name("pyro5-refuse".into()).spawn(move || {
        let until = Instant::now() + REFUSAL_TIME;
        while Instant::now() < until && connection.pump(false) != Wait::Closed {}
        drop(connection);
        refusing.fetch_sub(1, Ordering::AcqRel);
    });
    if spawned.is_err() {
        // The connection went with the closure: it is closed.
        log::warn!("no thread to refuse a client");
    }
}
