//! Pyro's "thread" server type: a thread per connection, at most `max_connections` at once;
//! further clients are refused with Pyro's CONNECTFAIL text.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::connection::{ClientConnection, ReadOutcome, deny};
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
        inner.housekeeping();
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
        workers.retain(|w| !w.is_finished());
        if inner.connections.load(Ordering::Relaxed) >= inner.config.max_connections {
            deny(inner, stream, "no free workers, increase server threadpool size");
            continue;
        }
        let _ = stream.set_read_timeout(Some(TICK));
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
        match connection.read_once() {
            ReadOutcome::Progress => {}
            ReadOutcome::Closed => break,
            ReadOutcome::Idle => {
                if connection.idle_too_long() {
                    connection.time_out();
                    break;
                }
            }
        }
    }
}
