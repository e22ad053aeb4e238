//! Our name server client against Python Pyro5 5.17's name server
//! (`python -m Pyro5.nameserver`): `locate_ns` directly, by the local-host attempt and by
//! broadcast (against Python's broadcast responder and a tiny UDP responder), the typed
//! `NameServerProxy` calls, and `Proxy` with `PYRONAME:` and `PYROMETA:` URIs resolving to our
//! echo server and to Python's (registered by Python itself), with Pyro's error texts.
//!
//! Every Python process is a child killed when its guard drops; every wait has a deadline.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pyro5_interop_tests::echo_daemon::EchoDaemon;
use pyro5_interop_tests::python;
use pyro5_std::locate::{GET_NSURI, locate_ns};
use pyro5_std::{Proxy, ProxyError};

/// How long a Python process may take to print what we wait for.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A Python process, killed on drop, whose stdout is drained by a thread.
struct PyProcess {
    child: Child,
    /// The text after the awaited prefix.
    found: String,
}

impl PyProcess {
    fn start(args: &[&str], env: &[(&str, String)], prefix: &'static str) -> Self {
        let mut command = Command::new(python());
        command.args(args).env("PYTHONUNBUFFERED", "1").stdin(Stdio::null()).stdout(Stdio::piped());
        command.stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start python");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix(prefix) {
                    let _ = tx.send(rest.trim().to_string());
                }
            }
        });
        let mut process = Self { child, found: String::new() };
        process.found =
            rx.recv_timeout(START_TIMEOUT).unwrap_or_else(|_| panic!("python {args:?} printed no {prefix:?}"));
        process
    }

    /// Python's name server on 127.0.0.1, a free port, no broadcast responder.
    fn name_server() -> (Self, u16) {
        let ns = Self::start(&["-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", "0", "-x"], &[], "URI =");
        let port = port_of(&ns.found);
        (ns, port)
    }
}

impl Drop for PyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port_of(uri: &str) -> u16 {
    uri.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("no port in {uri}"))
}

fn tags(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn echo_hello(proxy: &mut Proxy) {
    let back: String = proxy.call("echo", ("hello",)).expect("echo");
    assert_eq!(back, "hello");
}

#[test]
fn locate_ns_connects_directly_to_a_given_host() {
    let (_ns, port) = PyProcess::name_server();
    let mut ns = locate_ns(Some("127.0.0.1"), Some(port)).expect("locate");
    let proxy = ns.proxy();
    assert_eq!(proxy.uri(), format!("PYRO:Pyro.NameServer@127.0.0.1:{port}"));
    assert!(proxy.is_connected(), "a directly located name server is bound");
    let count: i64 = proxy.call("count", ()).expect("count");
    assert_eq!(count, 1, "only the name server itself");
    ns.ping().expect("ping");
}

#[test]
fn locate_ns_without_host_finds_the_name_server_on_localhost() {
    let (_ns, port) = PyProcess::name_server();
    let proxy = locate_ns(None, Some(port)).expect("locate").into_proxy();
    assert_eq!(proxy.uri(), format!("PYRO:Pyro.NameServer@localhost:{port}"));
}

#[test]
fn locate_ns_fails_with_pyros_text_when_nothing_answers() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    match locate_ns(Some("127.0.0.1"), Some(free)) {
        Err(ProxyError::Naming(text)) => assert_eq!(text, "Failed to locate the nameserver"),
        other => panic!("expected a naming error, got {other:?}"),
    }
}

#[test]
fn name_server_calls_register_lookup_list_and_remove() {
    let (_ns, port) = PyProcess::name_server();
    let mut ns = locate_ns(Some("127.0.0.1"), Some(port)).expect("locate");
    ns.register_with_metadata("app.one", "PYRO:one@localhost:1111", false, &tags(&["m1", "m2"])).expect("register");
    ns.register("app.two", "PYRO:two@[::1]:2222", true).expect("register");
    match ns.register("app.two", "PYRO:x@localhost:1", true) {
        Err(ProxyError::Remote(e)) => {
            assert_eq!(
                (e.class.as_str(), e.message()),
                ("Pyro5.errors.NamingError", "name already registered: app.two".into())
            );
        }
        other => panic!("expected NamingError, got {other:?}"),
    }
    assert_eq!(ns.lookup("app.two").expect("lookup"), "PYRO:two@[::1]:2222");
    let (uri, mut meta) = ns.lookup_with_metadata("app.one").expect("lookup");
    meta.sort();
    assert_eq!((uri.as_str(), meta), ("PYRO:one@localhost:1111", tags(&["m1", "m2"])));
    let listed = ns.list(Some("app.")).expect("list");
    assert_eq!(listed.keys().collect::<Vec<_>>(), ["app.one", "app.two"]);
    assert_eq!(ns.list_matching("app\\.t.*").expect("list").len(), 1);
    assert_eq!(ns.yplookup(Some(&tags(&["m1"])), None).expect("yplookup").len(), 1);
    assert_eq!(ns.yplookup(None, Some(&tags(&["zz", "m2"]))).expect("yplookup").len(), 1);
    ns.set_metadata("app.two", &tags(&["m1"])).expect("set_metadata");
    assert_eq!(ns.yplookup_all(&tags(&["m1"])).expect("yplookup").len(), 2);
    assert_eq!(ns.remove("app.one").expect("remove"), 1);
    assert_eq!(ns.remove("app.one").expect("remove"), 0);
    assert_eq!(ns.remove_matching("app\\..*").expect("remove"), 1);
    assert_eq!(ns.list(None).expect("list").keys().collect::<Vec<_>>(), ["Pyro.NameServer"]);
}

#[test]
fn pyroname_proxy_resolves_through_python_name_server() {
    let (_ns, port) = PyProcess::name_server();
    let echo = EchoDaemon::on_localhost("rust.echo", None);
    let mut ns = locate_ns(Some("127.0.0.1"), Some(port)).expect("locate");
    ns.register("test.rust.echo", &echo.uri, false).expect("register");

    let name = format!("PYRONAME:test.rust.echo@127.0.0.1:{port}");
    let mut proxy = Proxy::new(&name).expect("proxy");
    assert!(!proxy.is_connected());
    echo_hello(&mut proxy);
    assert_eq!(proxy.uri(), name, "an implicit connect keeps the PYRONAME uri, as Pyro");
    assert_eq!(proxy.resolved_uri().as_deref(), Some(echo.uri.as_str()));

    // An empty host keeps its port (Python passes `uri.host`, `uri.port` to locate_ns).
    let mut portonly = Proxy::new(&format!("PYRONAME:test.rust.echo@:{port}")).expect("proxy");
    echo_hello(&mut portonly);

    let mut bound = Proxy::new(&name).expect("proxy");
    bound.bind().expect("bind");
    assert_eq!(bound.uri(), echo.uri, "bind replaces the uri with the resolved one, as Pyro's _pyroBind");
    echo_hello(&mut bound);

    // Re-registered elsewhere: a new connection resolves again.
    let other = EchoDaemon::on_localhost("rust.echo.other", None);
    ns.register("test.rust.echo", &other.uri, false).expect("register");
    proxy.release();
    echo_hello(&mut proxy);
    assert_eq!(proxy.resolved_uri().as_deref(), Some(other.uri.as_str()));
}

#[test]
fn pyroname_with_a_host_and_no_port_asks_port_9090() {
    let proxy = Proxy::new("PYRONAME:x@127.0.0.1").expect("proxy");
    match proxy.bind() {
        Err(ProxyError::Naming(text)) => assert_eq!(text, "Failed to locate the nameserver"),
        // Something serves 127.0.0.1:9090 on this machine: it was asked, which is the point.
        Ok(_) | Err(ProxyError::Remote(_)) => eprintln!("a name server runs at 127.0.0.1:9090"),
        Err(e) => panic!("unexpected {e:?}"),
    }
}

#[test]
fn pyroname_unknown_name_is_the_name_servers_naming_error() {
    let (_ns, port) = PyProcess::name_server();
    let proxy = Proxy::new(&format!("PYRONAME:no.such.name@127.0.0.1:{port}")).expect("proxy");
    match proxy.call::<String, _>("echo", ("x",)) {
        Err(ProxyError::Remote(e)) => {
            assert_eq!(e.class, "Pyro5.errors.NamingError");
            assert_eq!(e.message(), "unknown name: no.such.name");
        }
        other => panic!("expected NamingError, got {other:?}"),
    }
    assert!(!proxy.is_connected());
}

#[test]
fn pyrometa_proxy_picks_a_registration_with_all_tags() {
    let (_ns, port) = PyProcess::name_server();
    let first = EchoDaemon::on_localhost("rust.echo.1", None);
    let second = EchoDaemon::on_localhost("rust.echo.2", None);
    let third = EchoDaemon::on_localhost("rust.echo.3", None);
    let mut ns = locate_ns(Some("127.0.0.1"), Some(port)).expect("locate");
    ns.register_with_metadata("e1", &first.uri, false, &tags(&["echo", "rust"])).expect("register");
    ns.register_with_metadata("e2", &second.uri, false, &tags(&["echo", "rust", "extra"])).expect("register");
    ns.register_with_metadata("e3", &third.uri, false, &tags(&["echo"])).expect("register");

    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let mut proxy = Proxy::new(&format!("PYROMETA:rust,echo@127.0.0.1:{port}")).expect("proxy");
        echo_hello(&mut proxy);
        seen.insert(proxy.resolved_uri().expect("resolved"));
    }
    let expected: std::collections::BTreeSet<String> = [first.uri.clone(), second.uri.clone()].into();
    assert_eq!(seen, expected, "both matches are picked at random, never the one without 'rust'");

    let none = Proxy::new(&format!("PYROMETA:nothing@127.0.0.1:{port}")).expect("proxy");
    match none.bind() {
        Err(ProxyError::Naming(text)) => {
            assert_eq!(text, "no registrations available with desired metadata properties {'nothing'}");
        }
        other => panic!("expected a naming error, got {other:?}"),
    }
}

#[test]
fn pyroname_reaches_python_echo_server_registered_by_python() {
    let (_ns, port) = PyProcess::name_server();
    let env = [("PYRO_NS_HOST", "127.0.0.1".to_string()), ("PYRO_NS_PORT", port.to_string())];
    let _echo =
        PyProcess::start(&["-m", "Pyro5.utils.echoserver", "-H", "127.0.0.1", "-p", "0", "-n"], &env, "echo uri:");
    let mut proxy = Proxy::new(&format!("PYRONAME:test.echoserver@127.0.0.1:{port}")).expect("proxy");
    echo_hello(&mut proxy);
    assert!(proxy.resolved_uri().expect("resolved").starts_with("PYRO:test.echoserver@127.0.0.1:"));
}

#[test]
fn locate_ns_broadcasts_get_nsuri_and_uses_the_answer() {
    let (_ns, port) = PyProcess::name_server();
    let ns_uri = format!("PYRO:Pyro.NameServer@127.0.0.1:{port}");
    let responder = UdpSocket::bind("0.0.0.0:0").expect("bind udp");
    let bc_port = responder.local_addr().expect("addr").port();
    responder.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let answer = ns_uri.clone();
    let thread = std::thread::spawn(move || {
        let mut buf = [0u8; 100];
        let (n, from) = responder.recv_from(&mut buf).expect("a discovery request");
        let request = buf[..n].to_vec();
        responder.send_to(answer.as_bytes(), from).expect("answer");
        request
    });
    // No host: localhost:<bc_port> over TCP refuses, then the broadcast goes to bc_port.
    let proxy = locate_ns(None, Some(bc_port)).expect("locate by broadcast").into_proxy();
    assert_eq!(thread.join().expect("responder"), GET_NSURI);
    assert_eq!(proxy.uri(), ns_uri);
    assert!(!proxy.is_connected(), "as Pyro, a broadcast answer is not bound yet");
    let count: i64 = proxy.call("count", ()).expect("count");
    assert_eq!(count, 1);
}

#[test]
fn locate_ns_finds_python_name_server_by_broadcast() {
    let bc_port = {
        let probe = UdpSocket::bind("0.0.0.0:0").expect("bind udp");
        probe.local_addr().expect("addr").port()
    };
    let bc = bc_port.to_string();
    // Bound to 0.0.0.0, Python's name server starts its broadcast responder.
    let ns = PyProcess::start(
        &["-m", "Pyro5.nameserver", "-n", "0.0.0.0", "-p", "0", "--bchost", "0.0.0.0", "--bcport", &bc],
        &[],
        "URI =",
    );
    let port = port_of(&ns.found);
    let mut located = locate_ns(None, Some(bc_port)).expect("locate by broadcast");
    let proxy = located.proxy();
    assert!(proxy.uri().starts_with("PYRO:Pyro.NameServer@"), "{}", proxy.uri());
    assert!(proxy.uri().ends_with(&format!(":{port}")), "{}", proxy.uri());
    located.ping().expect("ping");
    drop(ns);
}
