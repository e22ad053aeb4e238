//! The real Python Pyro5 client against our daemon serving the echo server: every method in
//! every serializer (tests/python/echo_suite.py, which passes against Python's own echo
//! server), on both server types, over TCP/IPv4, TCP/IPv6 and a Unix socket, and 32
//! concurrent Python clients. The suite's expectations are checked against Python's own echo
//! server too.

use std::path::Path;
use std::process::Command;

use pyro5_interop_tests::echo_daemon::EchoDaemon;
use pyro5_interop_tests::{python, workspace_root};
use pyro5_std::echo::OBJECT_ID;
use pyro5_std::{DaemonConfig, ServerType};

fn run_script(script: &str, args: &[&str]) {
    let path = workspace_root().join("tests/python").join(script);
    let out = Command::new(python()).arg(&path).args(args).output().expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} {args:?} failed:\n{stdout}\n{stderr}");
    print!("{stdout}");
}

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
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(python())
        .args(["-u", "-m", "Pyro5.utils.echoserver", "-H", "127.0.0.1", "-p", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Python's echo server");
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let uri = lines.find_map(|line| line.strip_prefix("echo uri: ").map(str::to_string));
    // Keep reading, so that the server never dies of a broken pipe while it is used.
    let drain = std::thread::spawn(move || lines.for_each(drop));
    let result = std::panic::catch_unwind(|| run_script("echo_suite.py", &[uri.as_deref().expect("echo uri printed")]));
    let _ = child.kill();
    let _ = child.wait();
    let _ = drain.join();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
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
        assert!(!Path::new(&path).exists(), "the socket file is removed when the daemon goes");
    }
}
