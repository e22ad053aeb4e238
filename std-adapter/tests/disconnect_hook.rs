//! The daemon's disconnect hook (Pyro's `Daemon.clientDisconnect`) seen by the real Python
//! Pyro5 client, on both server types: told once of a client that released its proxy (the
//! connection id its handshake had, and its address, which `Daemon::peers` still tells), of
//! a client killed mid-connection, and of a client still connected when the daemon shuts
//! down (before the request loop returns) or idle past `COMMTIMEOUT`; never of a client
//! whose handshake was refused; and a hook that panics leaves the daemon serving. A loop of one's own: dropping a
//! `DaemonConnection` past its handshake calls it, one before it does not.

use std::net::SocketAddr;

use pyro5_interop_tests::daemon_harness::connect_frame;
use pyro5_interop_tests::disconnect::{
    Client, Seen, Watched, released_killed_refused_and_panicking, wait_for_connections,
};
use pyro5_std::core::wire::SerializerId;
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::{Config, Daemon, DaemonConfig, ServerType};

#[test]
fn python_clients_that_leave_are_told_once_on_both_server_types() {
    for servertype in [ServerType::Thread, ServerType::Multiplex] {
        let what = format!("{servertype}");
        let config = Config { host: "127.0.0.1".into(), servertype, ..Config::default() };
        let (daemon, uri, thread) = pyro5_interop_tests::echo_daemon::serve_echo(&config, "test.echoserver");
        let watched = Watched::install(&daemon);
        released_killed_refused_and_panicking(&daemon, &uri, &watched, &what);

        // Shutdown with a client connected: told before the request loop returns.
        let mut client = Client::start(&uri, "ok");
        let address = client.bound();
        daemon.shutdown();
        thread.join().expect("serving thread").expect("request loop");
        let told = watched.disconnected();
        assert_eq!(told.len(), 5, "{what}: shut down");
        assert_eq!(told[4], (watched.accepted()[4].0, Some(address)), "{what}");
        assert_eq!(daemon.connection_count(), 0, "{what}");
    }
}

#[test]
fn a_python_client_idle_past_commtimeout_is_told_on_both_server_types() {
    for servertype in [ServerType::Thread, ServerType::Multiplex] {
        let what = format!("{servertype} with COMMTIMEOUT");
        let config = Config { host: "127.0.0.1".into(), servertype, commtimeout: 0.3, ..Config::default() };
        let (daemon, uri, thread) = pyro5_interop_tests::echo_daemon::serve_echo(&config, "test.echoserver");
        let watched = Watched::install(&daemon);
        let mut client = Client::start(&uri, "ok");
        let address = client.bound();
        // The client says nothing more: the daemon ends its connection.
        watched.wait_for(1, &what);
        assert_eq!(watched.disconnected(), [(watched.accepted()[0].0, Some(address))], "{what}");
        wait_for_connections(&daemon, 0);
        drop(client);
        daemon.shutdown();
        thread.join().expect("serving thread").expect("request loop");
        assert_eq!(watched.disconnected().len(), 1, "{what}");
    }
}

#[test]
fn a_connection_of_ones_own_loop_tells_when_dropped_after_its_handshake() {
    let daemon = Daemon::new(DaemonConfig::default()).expect("bind");
    daemon.register_concurrent(EchoServer::new(), Some(OBJECT_ID)).expect("register");
    let told: Seen = Seen::default();
    let (peers, seen) = (daemon.peers(), told.clone());
    daemon.set_disconnect_hook(move |connection| seen.lock().unwrap().push((connection, peers.address(connection))));
    let client: SocketAddr = "192.0.2.7:4242".parse().unwrap();

    // Dropped before any handshake: nothing.
    drop(daemon.connection(Some(client)));
    // Closed by its client before the handshake: nothing.
    let mut early = daemon.connection(Some(client));
    early.commit(0);
    early.serve_ready();
    assert!(early.is_closed());
    drop(early);
    assert!(told.lock().unwrap().is_empty());

    // Past the handshake: told when the peer closes and the connection is dropped.
    let mut connection = daemon.connection(Some(client));
    let connect = connect_frame(SerializerId::Serpent, OBJECT_ID, 0);
    assert_eq!(connection.feed(&connect), connect.len());
    connection.serve_ready();
    assert!(!connection.tx_pending().is_empty(), "CONNECTOK");
    let id = connection.id();
    connection.commit(0);
    connection.serve_ready();
    assert!(connection.is_closed());
    assert!(told.lock().unwrap().is_empty(), "told when dropped, not before");
    drop(connection);
    assert_eq!(*told.lock().unwrap(), [(id, Some(client))]);
    assert_eq!(daemon.connection_count(), 0);
}
