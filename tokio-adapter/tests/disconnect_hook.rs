//! The disconnect hook (Pyro's `Daemon.clientDisconnect`, set on the `pyro5-std` daemon
//! served) on the tokio daemon, seen by the real Python Pyro5 client: told once of a client
//! that released its proxy (the connection id its handshake had, and its address, which
//! `peers()` still tells), of a client killed mid-connection, and of a client still
//! connected when the daemon shuts down (before `serve` returns); never of a client whose
//! handshake was refused; and a hook that panics leaves the daemon serving.

use pyro5_interop_tests::disconnect::{Client, Watched, released_killed_refused_and_panicking};
use pyro5_std::DaemonConfig;
use pyro5_std::echo::{EchoServer, OBJECT_ID};

#[test]
fn python_clients_that_leave_are_told_once() {
    let config = DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() };
    let daemon = pyro5_tokio::Daemon::bind(config).expect("bind");
    let uri = daemon.register_concurrent(EchoServer::new(), Some(OBJECT_ID)).expect("register");
    let watched = Watched::install(&daemon);
    let serving = daemon.clone();
    let thread = std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        runtime.block_on(serving.serve())
    });
    released_killed_refused_and_panicking(&daemon, &uri, &watched, "tokio");

    // Shutdown with a client connected: told before `serve` returns.
    let mut client = Client::start(&uri, "ok");
    let address = client.bound();
    daemon.shutdown();
    thread.join().expect("serving thread").expect("serve");
    let told = watched.disconnected();
    assert_eq!(told.len(), 5, "shut down");
    assert_eq!(told[4], (watched.accepted()[4].0, Some(address)));
    assert_eq!(daemon.connection_count(), 0);
}
