//! Config items through the library API (`Daemon::with_config`, `Proxy::with_config`,
//! `locate_ns_with`): each changes what the daemon, the proxy or the name server lookup
//! does. The tools' view of the same items is `tools/tests/config_env.rs`.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use pyro5_interop_tests::python;
use pyro5_std::locate::{NAMESERVER_NAME, locate_ns_with};
use pyro5_std::naming::BroadcastServer;
use pyro5_std::{Config, Daemon, Proxy, ProxyError, ServerType};

fn serve(config: &Config) -> (Daemon, String, std::thread::JoinHandle<std::io::Result<()>>) {
    pyro5_interop_tests::echo_daemon::serve_echo(config, "test.echoserver")
}

fn stop(daemon: &Daemon, thread: std::thread::JoinHandle<std::io::Result<()>>) {
    daemon.shutdown();
    thread.join().expect("serving thread").expect("request loop");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[test]
fn host_and_servertype_shape_the_daemon() {
    for (servertype, text) in
        [(ServerType::Thread, "thread pool server"), (ServerType::Multiplex, "multiplexed server")]
    {
        let config = Config { host: "127.0.0.1".into(), servertype, ..Config::default() };
        let (daemon, uri, thread) = serve(&config);
        assert!(daemon.location().starts_with("127.0.0.1:"), "{}", daemon.location());
        assert!(uri.starts_with("PYRO:test.echoserver@127.0.0.1:"), "{uri}");
        let daemon_uri = daemon.uri_for("Pyro.Daemon");
        let proxy = Proxy::with_config(&daemon_uri, &config).expect("uri");
        let info: String = proxy.call("info", ()).expect("info");
        assert!(info.contains(text), "{servertype}: {info}");
        drop(proxy);
        stop(&daemon, thread);
    }
    let config = Config { nathost: Some("nat.example.org".into()), natport: 4444, ..Config::default() };
    let daemon = Daemon::with_config(&config).expect("bind");
    assert_eq!(daemon.uri_for("x"), "PYRO:x@nat.example.org:4444");
}

#[test]
fn commtimeout_bounds_the_proxys_wait_for_a_silent_server() {
    // Accepts, never answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let uri = format!("PYRO:obj@127.0.0.1:{}", silent.local_addr().expect("addr").port());
    let config = Config { commtimeout: 0.3, ..Config::default() };
    let proxy = Proxy::with_config(&uri, &config).expect("uri");
    let start = Instant::now();
    let err = proxy.bind().expect_err("no answer");
    let elapsed = start.elapsed();
    assert!(matches!(err, ProxyError::Timeout), "{err:?}");
    assert!(elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn prefer_ip_version_picks_the_address_family_of_proxy_connections() {
    let (daemon, uri, thread) = serve(&Config { host: "127.0.0.1".into(), ..Config::default() });
    for (version, works) in [(0, true), (4, true), (6, false)] {
        let config = Config { prefer_ip_version: version, ..Config::default() };
        let proxy = Proxy::with_config(&uri, &config).expect("uri");
        match proxy.call::<i64, _>("echo", (version,)) {
            Ok(back) => assert!(works && back == version, "{version}"),
            Err(e) => assert!(!works && matches!(e, ProxyError::Connect { .. }), "{version}: {e:?}"),
        }
    }
    stop(&daemon, thread);
}

#[test]
fn broadcast_addrs_and_ns_bcport_find_the_name_server_by_broadcast() {
    let ns_uri = format!("PYRO:{NAMESERVER_NAME}@10.9.8.7:4242");
    let responder = BroadcastServer::start(&ns_uri, Some("127.0.0.1"), 0).expect("responder");
    let bcport = responder.local_addr().port();
    // NS_HOST:NS_PORT answers nothing, so only the broadcast can find it.
    let config = Config {
        ns_host: "127.0.0.1".into(),
        ns_port: free_port(),
        ns_bcport: bcport,
        broadcast_addrs: vec!["127.0.0.1".into()],
        ..Config::default()
    };
    let mut ns = locate_ns_with(&config, None, None).expect("found by broadcast");
    assert_eq!(ns.proxy().uri(), ns_uri);
    // No broadcast addresses: no broadcast, and nothing else answers.
    let quiet = Config { broadcast_addrs: Vec::new(), ..config.clone() };
    match locate_ns_with(&quiet, None, None) {
        Err(ProxyError::Naming(text)) => assert_eq!(text, "Failed to locate the nameserver"),
        other => panic!("{other:?}"),
    }
    // The wrong broadcast port: not found either.
    let elsewhere = Config { ns_bcport: free_port(), ..config };
    assert!(locate_ns_with(&elsewhere, None, None).is_err());
}

/// Python takes one item of the generator and drops its connection without closing the
/// stream: the stream lingers for ITER_STREAM_LINGER.
fn leave_a_stream(uri: &str) {
    let script = format!(
        "import Pyro5.api\np = Pyro5.api.Proxy({uri:?})\nit = p.generator()\nprint(next(it))\np._pyroRelease()"
    );
    let out = Command::new(python()).args(["-W", "ignore", "-c", &script]).output().expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "one");
}

#[test]
fn iter_stream_linger_and_lifetime_end_streams() {
    let wait_for_no_streams = |daemon: &Daemon, within: Duration| {
        let deadline = Instant::now() + within;
        while daemon.stream_count() != 0 {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    };
    // The default linger (30 s): the stream is kept after the client went away.
    let (daemon, uri, thread) = serve(&Config::default());
    leave_a_stream(&uri);
    assert!(!wait_for_no_streams(&daemon, Duration::from_millis(600)), "kept for 30 s");
    stop(&daemon, thread);
    // ITER_STREAM_LINGER 0: closed with its connection.
    let (daemon, uri, thread) = serve(&Config { iter_stream_linger: 0.0, ..Config::default() });
    leave_a_stream(&uri);
    assert!(wait_for_no_streams(&daemon, Duration::from_secs(3)), "closed at disconnect");
    stop(&daemon, thread);
    // ITER_STREAM_LIFETIME 0.3 s: gone after its lifetime, lingering or not.
    let (daemon, uri, thread) = serve(&Config { iter_stream_lifetime: 0.3, ..Config::default() });
    leave_a_stream(&uri);
    assert!(wait_for_no_streams(&daemon, Duration::from_secs(3)), "expired");
    stop(&daemon, thread);
}

#[test]
fn max_retries_lets_a_call_survive_the_daemons_idle_close() {
    // The daemon closes connections idle for COMMTIMEOUT; the proxy's next call finds its
    // connection closed, and goes through only when MAX_RETRIES allows another try.
    let server = Config { commtimeout: 0.2, ..Config::default() };
    let (daemon, uri, thread) = serve(&server);
    for (retries, works) in [(0, false), (1, true)] {
        let config = Config { max_retries: retries, ..Config::default() };
        let proxy = Proxy::with_config(&uri, &config).expect("uri");
        assert_eq!(proxy.call::<i64, _>("echo", (1,)).expect("first call"), 1);
        let deadline = Instant::now() + Duration::from_secs(5);
        while daemon.connection_count() != 0 {
            assert!(Instant::now() < deadline, "the daemon closes the idle connection");
            std::thread::sleep(Duration::from_millis(20));
        }
        match proxy.call::<i64, _>("echo", (2,)) {
            Ok(back) => assert!(works && back == 2, "retries {retries}"),
            Err(e) => assert!(!works && matches!(e, ProxyError::ConnectionClosed), "retries {retries}: {e:?}"),
        }
    }
    stop(&daemon, thread);
}
