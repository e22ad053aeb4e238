//! Pyro's "thread" server type: a thread per connection, at most `max_connections` at once;
//! further clients are refused with Pyro's CONNECTFAIL text.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::connection::{ClientConnection, Wait};
use super::{Inner, TICK};
use crate::transport::Listener;

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
        let stream = match stream.accept_tls(inner.tls.as_ref()) {
            Ok(stream) => stream,
            Err(e) => {
                log::warn!("no TLS for a new connection: {e}");
                continue;
            }
        };
        workers.retain(|w| !w.is_finished());
        // Reads and writes wake up every tick to check the deadlines and for shutdown.
        let _ = stream.set_read_timeout(Some(TICK));
        let _ = stream.set_write_timeout(Some(TICK));
        // Past the limit a refused connection (answered in a thread of its own, for at most
        // two seconds), or past the refusals answered at once a closed one.
        let connection = inner.connection(peer);
        if connection.is_closed() {
            stream.shutdown();
            continue;
        }
        let connection = ClientConnection::new(connection, stream, false);
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
    while !connection.connection.inner().is_shutting_down() {
        if connection.pump(false) == Wait::Closed {
            break;
        }
    }
}
