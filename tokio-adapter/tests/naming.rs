//! The async name server client against Python Pyro5 5.17's name server
//! (`python -m Pyro5.nameserver` on loopback) and against ours (`pyro5_std::naming`):
//! `locate_ns` by host and port, by broadcast (each name server's broadcast responder on
//! loopback) and with nothing to find, every method of the name server, `PYRONAME:` and
//! `PYROMETA:` proxies calling an echo object registered there, Pyro's error texts, and
//! fifty tasks resolving names at once on a runtime whose only blocking thread is taken.
//!
//! Every Python process is a child killed when its guard drops; every wait has a deadline.

use std::collections::BTreeSet;
use std::process::{Child, Command};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pyro5_interop_tests::echo_daemon::{EchoDaemon, start_server_process};
use pyro5_interop_tests::python;
use pyro5_std::naming::{BroadcastServer, NameServer};
use pyro5_std::{Config, Daemon, DaemonConfig};
use pyro5_tokio::naming::{NameServerProxy, locate_ns, locate_ns_with, resolve, resolve_with};
use pyro5_tokio::{Proxy, ProxyError};

/// A name server on 127.0.0.1: Python's in a child process or ours in a thread, with a
/// broadcast responder on 127.0.0.1 when asked for.
struct NameServerUnderTest {
    /// Which one, for failure messages.
    name: &'static str,
    /// Its TCP port.
    port: u16,
    /// Its broadcast responder's UDP port, if it has one.
    bc_port: Option<u16>,
    python: Option<Child>,
    ours: Option<(Daemon, Option<BroadcastServer>, JoinHandle<std::io::Result<()>>)>,
}

impl NameServerUnderTest {
    /// Python's name server; with `broadcast`, bound to all interfaces (Python starts no
    /// responder for a loopback name server) with its responder on 127.0.0.1.
    fn python(broadcast: bool) -> Self {
        let mut command = Command::new(python());
        command.args(["-u", "-m", "Pyro5.nameserver", "-p", "0"]);
        let bc_port = broadcast.then(free_udp_port);
        match bc_port {
            Some(bc) => command.args(["-n", "0.0.0.0", "--bchost", "127.0.0.1", "--bcport", &bc.to_string()]),
            None => command.args(["-n", "127.0.0.1", "-x"]),
        };
        let (child, uri) = start_server_process(command, "URI =", "Python's name server");
        Self { name: "Python's", port: port_of(&uri), bc_port, python: Some(child), ours: None }
    }

    /// Ours, served by a `pyro5_std` daemon in a thread; with `broadcast`, its responder on
    /// 127.0.0.1.
    fn ours(broadcast: bool) -> Self {
        let daemon = Daemon::new(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }).expect("bind");
        let ns_uri = NameServer::new().serve(&daemon).expect("serve the name server");
        let port = daemon.port().expect("a TCP port");
        let responder =
            broadcast.then(|| BroadcastServer::start(&ns_uri, Some("127.0.0.1"), 0).expect("the broadcast responder"));
        let bc_port = responder.as_ref().map(|r| r.local_addr().port());
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || serving.request_loop());
        Self { name: "our", port, bc_port, python: None, ours: Some((daemon, responder, thread)) }
    }

    /// Both kinds, without broadcast responders.
    fn both() -> [Self; 2] {
        [Self::python(false), Self::ours(false)]
    }

    fn uri_of(&self, object: &str, scheme: &str) -> String {
        format!("{scheme}:{object}@127.0.0.1:{}", self.port)
    }
}

impl Drop for NameServerUnderTest {
    fn drop(&mut self) {
        if let Some(mut child) = self.python.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some((daemon, responder, thread)) = self.ours.take() {
            drop(responder);
            daemon.shutdown();
            let _ = thread.join();
        }
    }
}

fn port_of(uri: &str) -> u16 {
    uri.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("no port in {uri}"))
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp").local_addr().expect("addr").port()
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind tcp").local_addr().expect("addr").port()
}

fn tags(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A configuration whose calls time out (nothing here waits for ever), with `items` set.
fn config(items: &[(&str, &str)]) -> Config {
    let mut config = Config::default();
    config.set("COMMTIMEOUT", "10").expect("a valid item");
    for (item, value) in items {
        config.set(item, value).expect("a valid item");
    }
    config
}

fn assert_naming_error(result: Result<impl std::fmt::Debug, ProxyError>, text: &str, what: &str) {
    match result {
        Err(ProxyError::Remote(e)) => {
            assert_eq!((e.class.as_str(), e.message()), ("Pyro5.errors.NamingError", text.to_string()), "{what}");
        }
        other => panic!("{what}: expected the name server's NamingError {text:?}, got {other:?}"),
    }
}

fn assert_not_located(result: Result<impl std::fmt::Debug, ProxyError>, what: &str) {
    match result {
        Err(ProxyError::Naming(text)) => assert_eq!(text, "Failed to locate the nameserver", "{what}"),
        other => panic!("{what}: expected Pyro's NamingError, got {other:?}"),
    }
}

/// A proxy for `uri` with [`config`]'s timeout.
fn named(uri: &str) -> Proxy {
    Proxy::with_config(uri, &config(&[])).expect("a valid URI")
}

async fn echo_hello(proxy: &Proxy, what: &str) {
    let back: String = proxy.call("echo", ("hello",)).await.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(back, "hello", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locate_by_host_and_port_and_every_method() {
    for server in NameServerUnderTest::both() {
        let what = server.name;
        let ns = locate_ns(Some("127.0.0.1"), Some(server.port)).await.expect("locate");
        assert_eq!(ns.proxy().uri(), server.uri_of("Pyro.NameServer", "PYRO"), "{what}");
        assert!(ns.proxy().is_connected(), "{what}: a directly located name server is bound");
        ns.ping().await.expect("ping");

        ns.register_with_metadata("app.one", "PYRO:one@localhost:1111", false, &tags(&["m1", "m2"]))
            .await
            .expect("register");
        ns.register("app.two", "PYRO:two@[::1]:2222", true).await.expect("register");
        assert_naming_error(
            ns.register("app.two", "PYRO:x@localhost:1", true).await,
            "name already registered: app.two",
            what,
        );
        assert_eq!(ns.lookup("app.two").await.expect("lookup"), "PYRO:two@[::1]:2222", "{what}");
        assert_naming_error(ns.lookup("app.none").await, "unknown name: app.none", what);
        let (uri, mut meta) = ns.lookup_with_metadata("app.one").await.expect("lookup");
        meta.sort();
        assert_eq!((uri.as_str(), meta), ("PYRO:one@localhost:1111", tags(&["m1", "m2"])), "{what}");

        let listed = ns.list(Some("app.")).await.expect("list");
        assert_eq!(listed.keys().collect::<Vec<_>>(), ["app.one", "app.two"], "{what}");
        assert_eq!(listed["app.two"], ("PYRO:two@[::1]:2222".to_string(), Vec::new()), "{what}");
        assert_eq!(ns.list_matching("app\\.t.*").await.expect("list").len(), 1, "{what}");
        assert!(ns.list(None).await.expect("list").contains_key("Pyro.NameServer"), "{what}");
        assert_eq!(ns.yplookup(Some(&tags(&["m1"])), None).await.expect("yplookup").len(), 1, "{what}");
        assert_eq!(ns.yplookup(None, Some(&tags(&["zz", "m2"]))).await.expect("yplookup").len(), 1, "{what}");
        assert!(ns.yplookup(Some(&tags(&["m1", "zz"])), None).await.expect("yplookup").is_empty(), "{what}");

        ns.set_metadata("app.two", &tags(&["m1"])).await.expect("set_metadata");
        assert_eq!(ns.lookup_with_metadata("app.two").await.expect("lookup").1, tags(&["m1"]), "{what}");
        let all = ns.yplookup_all(&tags(&["m1"])).await.expect("yplookup");
        assert_eq!(all.keys().collect::<Vec<_>>(), ["app.one", "app.two"], "{what}");
        assert!(ns.set_metadata("app.none", &tags(&["m1"])).await.is_err(), "{what}: an unknown name");

        // Shared by tasks: clones of one proxy, their calls on one connection.
        let lookups: Vec<_> = (0..20)
            .map(|n| {
                let ns = ns.clone();
                let name = if n % 2 == 0 { "app.one" } else { "app.two" };
                tokio::spawn(async move { (name, ns.lookup(name).await) })
            })
            .collect();
        for task in lookups {
            let (name, found) = task.await.expect("the task ran");
            assert!(found.expect("lookup").contains(&name.replace("app.", "")), "{what}: {name}");
        }

        assert_eq!(ns.remove("app.one").await.expect("remove"), 1, "{what}");
        assert_eq!(ns.remove("app.one").await.expect("remove"), 0, "{what}");
        assert_eq!(ns.remove_matching("app\\..*").await.expect("remove"), 1, "{what}");
        assert_eq!(ns.list(None).await.expect("list").keys().collect::<Vec<_>>(), ["Pyro.NameServer"], "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locate_by_broadcast_of_both_name_servers() {
    for server in [NameServerUnderTest::python(true), NameServerUnderTest::ours(true)] {
        let what = server.name;
        let bc_port = server.bc_port.expect("a broadcast responder");
        // NS_HOST is this machine but nothing serves TCP at the broadcast port: the
        // broadcast (to loopback) finds it, at NS_BCPORT or at the port given.
        let no_tcp = free_tcp_port().to_string();
        let by_config =
            config(&[("BROADCAST_ADDRS", "127.0.0.1"), ("NS_BCPORT", &bc_port.to_string()), ("NS_PORT", &no_tcp)]);
        let by_port = config(&[("BROADCAST_ADDRS", "127.0.0.1"), ("NS_BCPORT", "9"), ("NS_PORT", &no_tcp)]);
        for (config, port) in [(by_config, None), (by_port, Some(bc_port))] {
            let ns = locate_ns_with(&config, None, port).await.expect("locate by broadcast");
            assert_eq!(ns.proxy().uri(), server.uri_of("Pyro.NameServer", "PYRO"), "{what}");
            assert!(!ns.proxy().is_connected(), "{what}: as Pyro, a broadcast answer is not bound yet");
            ns.ping().await.expect("ping");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_host_localhost_is_tried_first() {
    let server = NameServerUnderTest::ours(false);
    // No broadcast addresses: NS_HOST (localhost) at the port given answers.
    let ns = locate_ns_with(&config(&[("BROADCAST_ADDRS", "")]), None, Some(server.port)).await.expect("locate");
    assert_eq!(ns.proxy().uri(), format!("PYRO:Pyro.NameServer@localhost:{}", server.port));
    // Nothing given: NS_HOST at NS_PORT.
    let at_ns_port =
        config(&[("BROADCAST_ADDRS", ""), ("NS_HOST", "127.0.0.1"), ("NS_PORT", &server.port.to_string())]);
    let ns = locate_ns_with(&at_ns_port, None, None).await.expect("locate");
    assert_eq!(ns.lookup("Pyro.NameServer").await.expect("lookup"), ns.proxy().uri());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_name_server_is_pyros_naming_error() {
    let free = free_tcp_port();
    assert_not_located(locate_ns(Some("127.0.0.1"), Some(free)).await, "a host given");
    let proxy = Proxy::with_config(&format!("PYRONAME:x@127.0.0.1:{free}"), &config(&[])).expect("proxy");
    assert_not_located(proxy.bind().await, "a PYRONAME proxy");
    assert_not_located(resolve(&format!("PYROMETA:a,b@127.0.0.1:{free}")).await, "resolve");
    // Every attempt: localhost, 127.0.1.1, three broadcast rounds nobody answers, NS_HOST.
    let nothing = config(&[
        ("NS_HOST", "127.0.0.1"),
        ("NS_PORT", &free.to_string()),
        ("NS_BCPORT", &free_udp_port().to_string()),
        ("BROADCAST_ADDRS", "127.0.0.1"),
    ]);
    let start = Instant::now();
    assert_not_located(locate_ns_with(&nothing, None, None).await, "every attempt");
    assert!(start.elapsed() >= Duration::from_millis(3 * 700), "three broadcast rounds: {:?}", start.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyroname_and_pyrometa_proxies_call_an_echo_object() {
    let first = EchoDaemon::on_localhost("rust.echo.1", None);
    let second = EchoDaemon::on_localhost("rust.echo.2", None);
    let third = EchoDaemon::on_localhost("rust.echo.3", None);
    for server in NameServerUnderTest::both() {
        let what = server.name;
        let ns = locate_ns(Some("127.0.0.1"), Some(server.port)).await.expect("locate");
        ns.register_with_metadata("e1", &first.uri, false, &tags(&["echo", "rust"])).await.expect("register");
        ns.register_with_metadata("e2", &second.uri, false, &tags(&["echo", "rust", "x"])).await.expect("register");
        ns.register_with_metadata("e3", &third.uri, false, &tags(&["echo"])).await.expect("register");

        let name = server.uri_of("e1", "PYRONAME");
        let proxy = named(&name);
        echo_hello(&proxy, what).await;
        assert_eq!(proxy.uri(), name, "{what}: an implicit connect keeps the PYRONAME uri, as Pyro");
        assert_eq!(resolve(&name).await.expect("resolve"), first.uri, "{what}");
        let bound = named(&name);
        bound.bind().await.expect("bind");
        assert_eq!(bound.uri(), first.uri, "{what}: bind keeps the resolved uri, as Pyro's _pyroBind");

        let mut seen = BTreeSet::new();
        for _ in 0..30 {
            let proxy = named(&server.uri_of("rust,echo", "PYROMETA"));
            proxy.bind().await.expect("bind");
            echo_hello(&proxy, what).await;
            seen.insert(proxy.uri());
        }
        let expected: BTreeSet<String> = [first.uri.clone(), second.uri.clone()].into();
        assert_eq!(seen, expected, "{what}: both matches at random, never the one without 'rust'");

        let none = named(&server.uri_of("nothing,it's", "PYROMETA"));
        match none.bind().await {
            Err(ProxyError::Naming(text)) => assert!(
                [
                    "no registrations available with desired metadata properties {'nothing', \"it's\"}",
                    "no registrations available with desired metadata properties {\"it's\", 'nothing'}"
                ]
                .contains(&text.as_str()),
                "{what}: {text}"
            ),
            other => panic!("{what}: expected a naming error, got {other:?}"),
        }

        let unknown = named(&server.uri_of("no.such.name", "PYRONAME"));
        assert_naming_error(unknown.call::<String, _>("echo", ("x",)).await, "unknown name: no.such.name", what);
        assert!(!unknown.is_connected(), "{what}");
        assert_naming_error(
            resolve(&server.uri_of("no.such.name", "PYRONAME")).await,
            "unknown name: no.such.name",
            what,
        );
        assert_eq!(resolve(&first.uri).await.expect("a PYRO uri"), first.uri, "{what}: PYRO is itself");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_delay_waits_for_the_registration() {
    let server = NameServerUnderTest::ours(false);
    let echo = EchoDaemon::on_localhost("late.echo", None);
    let ns = locate_ns(Some("127.0.0.1"), Some(server.port)).await.expect("locate");
    let delayed = config(&[("NS_LOOKUP_DELAY", "5")]);
    let name = server.uri_of("late.echo", "PYRONAME");
    let waiting = tokio::spawn({
        let name = name.clone();
        async move { resolve_with(&delayed, &name).await }
    });
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!waiting.is_finished(), "still asking");
    ns.register("late.echo", &echo.uri, false).await.expect("register");
    assert_eq!(waiting.await.expect("the task ran").expect("resolved once registered"), echo.uri);
    // Without the delay the name server's error comes at once.
    assert_naming_error(
        resolve_with(&config(&[]), &server.uri_of("later", "PYRONAME")).await,
        "unknown name: later",
        "no delay",
    );
}

/// Fifty tasks on a `current_thread` runtime whose one blocking thread is taken until they
/// are done, each resolving `PYRONAME`/`PYROMETA` URIs (with a lookup delay: the name is
/// registered only after they started asking) and calling the echo object through them. A
/// lookup on the blocking pool would wait for the taken thread and never end.
#[test]
fn many_tasks_resolve_at_once_without_a_blocking_thread() {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().max_blocking_threads(1).build().expect("a runtime");
    let server = NameServerUnderTest::ours(false);
    let echo = EchoDaemon::on_localhost("crowd.echo", None);
    let registry = NameServerProxy::from(
        Proxy::with_config(&server.uri_of("Pyro.NameServer", "PYRO"), &config(&[])).expect("proxy"),
    );
    let (release, taken) = std::sync::mpsc::channel::<()>();
    let (elapsed, outcome) = runtime.block_on(async {
        let occupant = tokio::task::spawn_blocking(move || {
            let _ = taken.recv();
        });
        let start = Instant::now();
        let delayed = config(&[("NS_LOOKUP_DELAY", "10")]);
        let tasks: Vec<_> = (0..50)
            .map(|n| {
                let uri = if n % 2 == 0 {
                    server.uri_of("crowd.echo", "PYRONAME")
                } else {
                    server.uri_of("crowd", "PYROMETA")
                };
                let proxy = Proxy::with_config(&uri, &delayed).expect("proxy");
                tokio::spawn(async move { proxy.call::<i64, _>("echo", (n,)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        registry.register_with_metadata("crowd.echo", &echo.uri, false, &tags(&["crowd"])).await.expect("register");
        let outcome = tokio::time::timeout(Duration::from_secs(30), async {
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.expect("the task ran"));
            }
            answers
        })
        .await;
        let elapsed = start.elapsed();
        drop(release);
        occupant.await.expect("the occupant ended");
        (elapsed, outcome)
    });
    let answers = outcome.expect("the fifty calls did not complete: a lookup waits for a blocking thread");
    for (n, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer.expect("echo through the name"), i64::try_from(n).expect("small"));
    }
    println!("50 tasks resolved and called through names in {elapsed:?}, the blocking thread taken");
}
