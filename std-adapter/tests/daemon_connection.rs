//! `DaemonConnection`, the public connection every daemon loop drives, without any socket:
//! bytes fed in, replies taken out, the daemon's count of connections, refusals past the
//! connection limit with Python's text and their deadline, and closed connections past too
//! many refusals.

use std::time::{Duration, Instant};

use pyro5_interop_tests::daemon_harness::{Frame, connect_frame};
use pyro5_std::core::wire::{MessageKind, SerializerId};
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::{Daemon, DaemonConfig, DaemonConnection};

/// Feed `connection` a serpent CONNECT, serve it and take its reply.
fn handshake(connection: &mut DaemonConnection) -> Frame {
    let connect = connect_frame(SerializerId::Serpent, OBJECT_ID, 0);
    assert_eq!(connection.feed(&connect), connect.len());
    connection.serve_ready();
    let reply = Frame::parse(connection.tx_pending()).expect("a whole reply");
    let n = connection.tx_pending().len();
    connection.tx_advance(n);
    reply
}

#[test]
fn connections_count_refuse_past_the_limit_and_give_their_place_back_when_dropped() {
    let config = DaemonConfig { max_connections: 1, ..DaemonConfig::default() };
    let daemon = Daemon::new(config).expect("bind");
    daemon.register_concurrent(EchoServer::new(), Some(OBJECT_ID)).expect("register");

    let mut first = daemon.connection(None);
    assert!(!first.is_refused());
    assert_eq!(daemon.connection_count(), 1);
    assert_eq!(handshake(&mut first).header.kind, MessageKind::ConnectOk);
    assert!(first.wants_read() && !first.is_closed());
    assert!(first.poll_timeout().is_none(), "no COMMTIMEOUT configured: no deadline");

    let mut second = daemon.connection(None);
    assert!(second.is_refused());
    assert_eq!(daemon.connection_count(), 1, "a refused client is not counted");
    let deadline = second.poll_timeout().expect("a refused client has a deadline");
    let left = deadline.saturating_duration_since(Instant::now());
    assert!(left > Duration::from_millis(1500) && left <= Duration::from_secs(2), "{left:?}");
    handshake(&mut second).assert_connect_fail(0, "no free workers, increase server threadpool size");
    second.serve_ready();
    assert!(second.is_closed());

    // A refused client that says nothing is ended at its deadline, not before.
    let mut silent = daemon.connection(None);
    silent.handle_timeout();
    assert!(!silent.is_closed());

    // 64 refusals at once at most (the thread server type's): then closed from the start.
    let refusing: Vec<_> = (0..62).map(|_| daemon.connection(None)).collect();
    assert!(refusing.iter().all(|c| c.is_refused() && !c.is_closed()));
    let over = daemon.connection(None);
    assert!(over.is_refused() && over.is_closed() && over.tx_pending().is_empty());
    drop((refusing, over, second));
    let one_more = daemon.connection(None);
    assert!(one_more.is_refused() && !one_more.is_closed(), "room among the refusals again");

    drop(first);
    assert_eq!(daemon.connection_count(), 0);
    let again = daemon.connection(None);
    assert!(!again.is_refused());
    assert_eq!(daemon.connection_count(), 1);
    drop((again, one_more, silent));
    assert_eq!(daemon.connection_count(), 0);
}

#[test]
fn comm_timeout_is_the_connections_deadline_and_ends_it() {
    let config = DaemonConfig { comm_timeout: Some(Duration::from_millis(50)), ..DaemonConfig::default() };
    let daemon = Daemon::new(config).expect("bind");
    let mut connection = daemon.connection(None);
    let deadline = connection.poll_timeout().expect("the idle timeout");
    assert!(deadline <= Instant::now() + Duration::from_millis(50));
    connection.handle_timeout();
    assert!(!connection.is_closed(), "not before its time");
    std::thread::sleep(deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(5));
    connection.handle_timeout();
    // Idle in its handshake: told so as Pyro does, then over once that is taken.
    let fail = Frame::parse(connection.tx_pending()).expect("CONNECTFAIL");
    fail.assert_connect_fail(0, "receiving: timeout");
    let n = connection.tx_pending().len();
    connection.tx_advance(n);
    connection.serve_ready();
    assert!(connection.is_closed());
    assert_eq!(connection.read_buf().len(), 0);
}
