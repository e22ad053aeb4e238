//! The real Python Pyro5 client against our daemon serving the echo server: every method in
//! every serializer (tests/python/echo_suite.py, which passes against Python's own echo
//! server), on both server types, over TCP/IPv4, TCP/IPv6 and a Unix socket, and 32
//! concurrent Python clients. The suite's expectations are checked against Python's own echo
//! server too.

use pyro5_interop_tests::echo_daemon::{EchoDaemon, PythonEchoServer};
use pyro5_interop_tests::run_script;
use pyro5_std::echo::OBJECT_ID;
use pyro5_std::{DaemonConfig, ServerType};

fn config(server_type: ServerType) -> DaemonConfig {
    DaemonConfig { server_type, ..DaemonConfig::default() }
}

#[test]
fn python_client_calls_every_echo_method_in_every_serializer_thread_server() {
    let server = EchoDaemon::start(config(ServerType::Thread), OBJECT_ID, None);
    run_script("echo_suite.py", &[&server.uri]);
}

#[test]
fn python_client_calls_every_echo_method_in_every_serializer_multiplex_server() {
    let server = EchoDaemon::start(config(ServerType::Multiplex), OBJECT_ID, None);
    run_script("echo_suite.py", &[&server.uri]);
}

/// The suite's expected values are what Python's own echo server gives back (type markers
/// in dict keys, datetimes, dates...), so passing it against ours means behaving as Python's.
#[test]
fn the_suite_passes_against_pythons_own_echo_server() {
    let server = PythonEchoServer::start(&[]);
    run_script("echo_suite.py", &[&server.uri]);
}

#[test]
fn echo_shutdown_method_stops_the_daemon() {
    for server_type in [ServerType::Thread, ServerType::Multiplex] {
        let mut server = EchoDaemon::start(config(server_type), OBJECT_ID, None);
        run_script("echo_suite.py", &[&server.uri, "--serializers", "json", "--shutdown"]);
        let thread = server.thread.take().expect("running");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !thread.is_finished() {
            assert!(std::time::Instant::now() < deadline, "{server_type}: still serving after shutdown()");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        thread.join().expect("request loop ended cleanly");
    }
}

#[test]
fn thirty_two_concurrent_python_clients_thread_server() {
    let server = EchoDaemon::start(config(ServerType::Thread), OBJECT_ID, None);
    run_script("concurrent_clients.py", &[&server.uri, "--clients", "32", "--calls", "200"]);
}

#[test]
fn thirty_two_concurrent_python_clients_multiplex_server() {
    let server = EchoDaemon::start(config(ServerType::Multiplex), OBJECT_ID, None);
    run_script("concurrent_clients.py", &[&server.uri, "--clients", "32", "--calls", "200"]);
}

#[test]
fn ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        println!("skipped: this machine has no IPv6 loopback");
        return;
    }
    for server_type in [ServerType::Thread, ServerType::Multiplex] {
        let server = EchoDaemon::start(DaemonConfig { host: "::1".into(), ..config(server_type) }, OBJECT_ID, None);
        assert!(server.uri.contains("@[::1]:"), "{}", server.uri);
        run_script("echo_suite.py", &[&server.uri, "--serializers", "serpent,msgpack"]);
    }
}

#[cfg(unix)]
#[test]
fn unix_domain_socket() {
    for server_type in [ServerType::Thread, ServerType::Multiplex] {
        let path = std::env::temp_dir().join(format!("pyro5-rs-echo-{}-{server_type}.sock", std::process::id()));
        let server =
            EchoDaemon::start(DaemonConfig { unix_socket: Some(path.clone()), ..config(server_type) }, OBJECT_ID, None);
        assert_eq!(server.uri, format!("PYRO:{OBJECT_ID}@./u:{}", path.display()));
        run_script("echo_suite.py", &[&server.uri, "--serializers", "json,marshal"]);
        drop(server);
        assert!(!std::path::Path::new(&path).exists(), "the socket file is removed when the daemon goes");
    }
}
