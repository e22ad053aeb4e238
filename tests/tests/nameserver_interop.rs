//! The real Python Pyro5 client against our name server (`pyro5_std::naming::NameServer`
//! served by our `Daemon`): every remote method in every serializer gives what Python's own
//! name server gives (tests/python/ns_client.py run against both), `PYRONAME:` and
//! `PYROMETA:` proxies resolve through ours to our echo server, and Python's `nsc` tool
//! prints the same against both, `locate_ns()` finds ours by broadcast, and the sqlite
//! store keeps every acknowledged registration when the name server is killed; 32 Python
//! clients register and look up at once. With a lookup delay (`NS_LOOKUP_DELAY`) our
//! `resolve` and `PYRONAME` proxies wait for names registered late, and without one fail at
//! once with the `NamingError` Python's `resolve` gives.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pyro5_interop_tests::{python, workspace_root};
use pyro5_std::echo::EchoServer;
use pyro5_std::naming::{BroadcastServer, NameServer, NameStorage, SqlStorage};
use pyro5_std::{Daemon, DaemonConfig};

/// Our name server in a thread of this process, until dropped.
struct OurNs {
    daemon: Daemon,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

impl OurNs {
    fn start() -> Self {
        let daemon = Daemon::new(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }).expect("bind");
        let uri = NameServer::new().serve(&daemon).expect("serve the name server");
        let port = daemon.port().expect("tcp port");
        assert_eq!(uri, format!("PYRO:Pyro.NameServer@127.0.0.1:{port}"));
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || serving.request_loop().expect("request loop"));
        Self { daemon, port, thread: Some(thread) }
    }
}

impl Drop for OurNs {
    fn drop(&mut self) {
        self.daemon.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A name server process (Python's `python -m Pyro5.nameserver`, or a child of this test
/// binary), killed when dropped.
struct NsProcess {
    child: Child,
    port: u16,
}

impl NsProcess {
    fn start() -> Self {
        let mut child = Command::new(python())
            .args(["-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", "0", "-x"])
            .stdout(Stdio::piped())
            // It warns about each reply it cannot serialize (see `python_cannot_answer`).
            .stderr(Stdio::null())
            .spawn()
            .expect("start Python's name server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut port = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read the name server's output");
            if let Some(uri) = line.strip_prefix("URI = ") {
                port = uri.rsplit(':').next().and_then(|p| p.parse().ok());
                break;
            }
        }
        let port = port.unwrap_or_else(|| {
            let _ = child.kill();
            panic!("Python's name server printed no URI")
        });
        Self { child, port }
    }
}

impl Drop for NsProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run a Python command; its stdout, with `port` shown as `NSPORT`.
fn run_python(args: &[&str], port: u16) -> String {
    use std::io::Write;
    let mut child = Command::new(python())
        .args(args)
        .env("PYTHONHASHSEED", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    // nsc's `removematching` asks for confirmation.
    let _ = child.stdin.take().expect("piped stdin").write_all(b"y\n");
    let out = child.wait_with_output().expect("wait for python");
    let stdout = String::from_utf8_lossy(&out.stdout).replace(&format!(":{port}"), ":NSPORT");
    assert!(out.status.success(), "{args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn client_script(name: &str) -> String {
    workspace_root().join("tests/python").join(name).display().to_string()
}

/// Where Python's name server fails to answer (its own serialization limits) ours answers:
/// marshal cannot carry the URI inside `lookup(..., return_metadata=True)`'s tuple, and
/// json/msgpack cannot carry the `frozenset()` of an entry registered without metadata.
fn python_cannot_answer(line: &str) -> bool {
    line.contains(r#""error": "ValueError", "text": "unmarshallable object""#)
        || line.contains(r#""error": "SerializeError", "text": "don't know how to serialize class <class 'frozenset'>"#)
}

#[test]
fn python_client_gets_the_same_results_from_our_name_server_as_from_pythons() {
    let script = client_script("ns_client.py");
    for serializer in ["serpent", "json", "marshal", "msgpack"] {
        let (ours, theirs) = (OurNs::start(), NsProcess::start());
        let expected = run_python(&[&script, "127.0.0.1", &theirs.port.to_string(), serializer], theirs.port);
        let got = run_python(&[&script, "127.0.0.1", &ours.port.to_string(), serializer], ours.port);
        let (expected, got): (Vec<_>, Vec<_>) = (expected.lines().collect(), got.lines().collect());
        assert_eq!(expected.len(), got.len(), "{serializer}: step count");
        assert!(expected.len() > 50, "{serializer}: every step ran");
        for (want, have) in expected.iter().zip(&got) {
            if want != have && python_cannot_answer(want) {
                assert!(have.contains(r#"{"ok": "#), "{serializer}: expected an answer, got {have}");
                continue;
            }
            assert_eq!(want, have, "{serializer}");
        }
    }
}

#[test]
fn pyroname_and_pyrometa_proxies_resolve_through_our_name_server_to_our_echo_server() {
    let ns = OurNs::start();
    let echo = Daemon::new(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }).expect("bind");
    let echo_uri = echo.register_concurrent(EchoServer::new(), Some("test.echoserver")).expect("register");
    let serving = echo.clone();
    let echo_thread = std::thread::spawn(move || serving.request_loop().expect("echo request loop"));
    let script = client_script("ns_resolve.py");
    for serializer in ["serpent", "json", "marshal", "msgpack"] {
        let out = run_python(&[&script, "127.0.0.1", &ns.port.to_string(), &echo_uri, serializer], ns.port);
        assert_eq!(out.trim(), format!("resolved through the name server with {serializer}"));
    }
    echo.shutdown();
    echo_thread.join().expect("echo thread");
}

/// The Rust side too: our `locate_ns` registers, our proxies resolve `PYRONAME:` and
/// `PYROMETA:` through our name server.
#[test]
fn rust_proxies_resolve_names_through_our_name_server() {
    let ns = OurNs::start();
    let echo = Daemon::new(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }).expect("bind");
    let echo_uri = echo.register_concurrent(EchoServer::new(), Some("test.echoserver")).expect("register");
    let serving = echo.clone();
    let echo_thread = std::thread::spawn(move || serving.request_loop().expect("echo request loop"));
    let mut registry = pyro5_std::locate::locate_ns(Some("127.0.0.1"), Some(ns.port)).expect("locate our name server");
    registry
        .register_with_metadata("test.echoserver", &echo_uri, false, &["echo.tag".to_string()])
        .expect("register through our locate_ns");
    for uri in
        [format!("PYRONAME:test.echoserver@127.0.0.1:{}", ns.port), format!("PYROMETA:echo.tag@127.0.0.1:{}", ns.port)]
    {
        let proxy = pyro5_std::Proxy::new(&uri).expect("a name URI");
        let back: String = proxy.call("echo", ("by name",)).expect("call through the name server");
        assert_eq!(back, "by name", "{uri}");
        assert_eq!(proxy.resolved_uri(), Some(echo_uri.clone()), "{uri}");
    }
    let missing = pyro5_std::Proxy::new(&format!("PYRONAME:nobody@127.0.0.1:{}", ns.port))
        .expect("a name URI")
        .call::<String, _>("echo", ("x",))
        .expect_err("unknown name");
    assert!(missing.to_string().contains("unknown name: nobody"), "{missing}");
    echo.shutdown();
    echo_thread.join().expect("echo thread");
}

#[test]
fn python_nsc_prints_the_same_against_our_name_server() {
    let nsc = |port: u16, args: &[&str]| {
        let port_text = port.to_string();
        let mut all = vec!["-m", "Pyro5.nsc", "-n", "127.0.0.1", "-p", &port_text, "-v"];
        all.extend_from_slice(args);
        run_python(&all, port)
    };
    let session = |port: u16| {
        let commands: &[&[&str]] = &[
            &["ping"],
            &["register", "example.one", "PYRO:obj1@127.0.0.1:5001"],
            &["register", "example.two", "PYRO:obj2@127.0.0.1:5002"],
            &["register", "other.three", "PYRO:obj3@127.0.0.1:5003"],
            &["lookup", "example.one"],
            &["setmeta", "example.one", "tag1"],
            &["setmeta", "example.two", "tag2"],
            &["setmeta", "other.three", "tag1"],
            &["lookup", "example.one"],
            &["list"],
            &["list", "example"],
            &["listmatching", r".*\.t"],
            &["yplookup_all", "tag1"],
            &["yplookup_any", "tag2"],
            &["setmeta", "other.three"],
            &["remove", "example.one"],
            &["remove", "nothing.here"],
            &["removematching", "oth.*"],
            &["list"],
        ];
        commands.iter().map(|c| nsc(port, c)).collect::<Vec<_>>()
    };
    let theirs = NsProcess::start();
    let expected = session(theirs.port);
    drop(theirs);
    let ours = OurNs::start();
    let got = session(ours.port);
    for (want, have) in expected.iter().zip(&got) {
        assert_eq!(want, have);
    }
    assert!(got[9].contains("example.one --> PYRO:obj1@127.0.0.1:5001\n    metadata: {'tag1'}"), "{}", got[9]);
}

/// Set in the environment of a child copy of this test binary that serves a name server
/// over the sqlite file named by its value (so that the test can kill it).
const SQL_CHILD_ENV: &str = "PYRO5_TEST_NS_SQL_CHILD";

/// Not a test: the name server process of
/// `sqlite_name_server_keeps_every_acknowledged_registration_when_killed`.
#[test]
#[ignore = "runs only as the child process of another test"]
fn sql_name_server_child() {
    let Some(path) = std::env::var_os(SQL_CHILD_ENV) else { return };
    let storage = SqlStorage::open(&path).expect("open the sqlite storage");
    let daemon = Daemon::new(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }).expect("bind");
    let uri = NameServer::with_storage(storage).serve(&daemon).expect("serve");
    println!("URI = {uri}");
    daemon.request_loop().expect("request loop");
}

/// A name server process over sqlite file `path`, killed (SIGKILL) when dropped.
fn start_sql_child(path: &std::path::Path) -> NsProcess {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args(["sql_name_server_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(SQL_CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the name server child");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = lines
        .by_ref()
        .map_while(Result::ok)
        // libtest's "test sql_name_server_child ... " has no newline before the child's output.
        .find_map(|line| line.split_once("URI = ").and_then(|(_, u)| u.rsplit(':').next()?.parse().ok()));
    let Some(port) = port else {
        let _ = child.kill();
        panic!("the name server child printed no URI");
    };
    // Keep draining its output so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    NsProcess { child, port }
}

#[test]
fn sqlite_name_server_keeps_every_acknowledged_registration_when_killed() {
    let dir = std::env::temp_dir().join(format!("pyro5-ns-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("names.sqlite");
    let _ = std::fs::remove_file(&path);

    let ns = start_sql_child(&path);
    let mut load = Command::new(python())
        .arg(client_script("ns_load.py"))
        .args(["127.0.0.1", &ns.port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the Python load client");
    let mut acknowledged = Vec::new();
    let mut stopped = None;
    let mut ns = Some(ns);
    for line in BufReader::new(load.stdout.take().expect("piped stdout")).lines() {
        let line = line.expect("read the load client");
        if let Some(why) = line.strip_prefix("stopped: ") {
            stopped = Some(why.to_string());
            break;
        }
        acknowledged.push(line);
        if acknowledged.len() == 300 {
            drop(ns.take()); // SIGKILL, mid-load
        }
    }
    let _ = load.wait();
    assert!(stopped.is_some(), "the load client saw the name server go away");
    assert!(acknowledged.len() >= 300, "{} registrations", acknowledged.len());

    // Everything acknowledged is in the file, and a restarted name server serves it.
    let storage = SqlStorage::open(&path).expect("reopen");
    for (i, name) in acknowledged.iter().enumerate() {
        let entry = storage.get(name).expect("read").unwrap_or_else(|| panic!("{name} was lost"));
        assert_eq!(entry.uri, format!("PYRO:obj{i}@127.0.0.1:{}", 1000 + i));
        assert_eq!(entry.tags(), [format!("tag{}", i % 3)]);
    }
    drop(storage);
    let restarted = start_sql_child(&path);
    let check = format!(
        "import Pyro5.core\nns = Pyro5.core.locate_ns('127.0.0.1', {})\nnames = ns.list(prefix='load.')\n\
         assert all('load.%d' % i in names for i in range({})), len(names)\n\
         assert ns.lookup('load.0', True)[1] == {{'tag0'}}\nprint('ok')\n",
        restarted.port,
        acknowledged.len()
    );
    assert_eq!(run_python(&["-c", &check], restarted.port).trim(), "ok");
    drop(restarted);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn python_locate_ns_finds_our_name_server_by_broadcast() {
    let ns = OurNs::start();
    let ns_uri = format!("PYRO:Pyro.NameServer@127.0.0.1:{}", ns.port);
    let bc = BroadcastServer::start(&ns_uri, None, 0).expect("start the broadcast responder");
    // Nothing listens on NS_PORT, so locate_ns() must fall back to broadcast.
    let closed_port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let out = Command::new(python())
        .args(["-c", "import Pyro5.core\nns = Pyro5.core.locate_ns()\nns.ping()\nprint(ns._pyroUri)\n"])
        .env("PYRO_NS_PORT", closed_port.to_string())
        .env("PYRO_NS_BCPORT", bc.local_addr().port().to_string())
        .output()
        .expect("run python");
    assert!(out.status.success(), "locate_ns failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), ns_uri);
}

#[test]
fn thirty_two_concurrent_python_clients_register_and_look_up() {
    let ns = OurNs::start();
    let out = run_python(&[&client_script("ns_concurrent.py"), "127.0.0.1", &ns.port.to_string()], ns.port);
    assert_eq!(out.trim(), "ok");
}

/// Register `name` (with `tags`) as `uri` in the name server at `port` after `after`, from
/// another thread.
fn register_later(port: u16, name: &str, uri: &str, tags: &[&str], after: Duration) -> JoinHandle<()> {
    let (name, uri) = (name.to_string(), uri.to_string());
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    std::thread::spawn(move || {
        std::thread::sleep(after);
        pyro5_std::locate::locate_ns(Some("127.0.0.1"), Some(port))
            .expect("locate our name server")
            .register_with_metadata(&name, &uri, false, &tags)
            .expect("register late");
    })
}

/// What Python's `resolve(uri)` raises: `NamingError: text`.
fn python_resolve_error(uri: &str) -> String {
    let script = format!(
        "import Pyro5.core, Pyro5.errors\ntry:\n    Pyro5.core.resolve({uri:?})\n    print('resolved')\n\
         except Pyro5.errors.NamingError as e:\n    print(type(e).__name__ + ': ' + str(e))\n"
    );
    let out = Command::new(python()).args(["-c", &script]).output().expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Our resolve error as Python shows it: `NamingError: text`.
fn shown(e: &pyro5_std::ProxyError) -> String {
    match e {
        pyro5_std::ProxyError::Remote(remote) => format!("{}: {}", remote.short_class(), remote.message()),
        pyro5_std::ProxyError::Naming(text) => format!("NamingError: {text}"),
        other => panic!("not a NamingError: {other}"),
    }
}

#[test]
fn names_registered_late_resolve_within_the_lookup_delay_and_fail_at_once_without_one() {
    use pyro5_std::locate::{resolve, resolve_with_delay};
    let ns = OurNs::start();
    let port = ns.port;
    let echo_uri = "PYRO:test.echoserver@127.0.0.1:50001";

    // Registered after 0.5 s, looked for with a delay of 2 s: found, once it is there.
    let late = register_later(port, "late.name", echo_uri, &["late.tag"], Duration::from_millis(500));
    let start = Instant::now();
    let found = resolve_with_delay(&format!("PYRONAME:late.name@127.0.0.1:{port}"), Duration::from_secs(2));
    let took = start.elapsed();
    late.join().expect("registering thread");
    assert_eq!(found.expect("resolved within the delay"), echo_uri);
    assert!(took >= Duration::from_millis(400) && took < Duration::from_secs(2), "took {took:?}");

    // PYROMETA waits the same way for a registration with the tags.
    let late = register_later(port, "late.meta", echo_uri, &["meta.tag"], Duration::from_millis(500));
    let found = resolve_with_delay(&format!("PYROMETA:meta.tag@127.0.0.1:{port}"), Duration::from_secs(2));
    late.join().expect("registering thread");
    assert_eq!(found.expect("resolved within the delay"), echo_uri);

    // Without a delay: one lookup, failing at once as Python's resolve fails.
    for uri in [format!("PYRONAME:nobody@127.0.0.1:{port}"), format!("PYROMETA:no.such.tag@127.0.0.1:{port}")] {
        let start = Instant::now();
        let err = resolve(&uri).expect_err("not registered");
        assert!(start.elapsed() < Duration::from_secs(1), "{uri}: took {:?}", start.elapsed());
        assert_eq!(shown(&err), python_resolve_error(&uri), "{uri}");
    }
    assert_eq!(python_resolve_error(&format!("PYRONAME:nobody@127.0.0.1:{port}")), "NamingError: unknown name: nobody");

    // With a delay for a name that never comes: the same error, after the delay.
    let uri = format!("PYRONAME:nobody@127.0.0.1:{port}");
    let start = Instant::now();
    let err = resolve_with_delay(&uri, Duration::from_secs(1)).expect_err("never registered");
    let took = start.elapsed();
    assert_eq!(shown(&err), "NamingError: unknown name: nobody");
    assert!(took >= Duration::from_secs(1) && took < Duration::from_millis(2500), "took {took:?}");
}

/// Set in the environment of a child copy of this test binary (with
/// `PYRO_NS_LOOKUP_DELAY`): the port of the name server its `PYRONAME` proxy asks.
const LOOKUP_DELAY_CHILD_ENV: &str = "PYRO5_TEST_LOOKUP_DELAY_NS_PORT";

/// Not a test: the client of `pyroname_proxies_wait_as_long_as_pyro_ns_lookup_delay_says`.
#[test]
#[ignore = "runs only as the child process of another test"]
fn lookup_delay_proxy_child() {
    let Some(port) = std::env::var_os(LOOKUP_DELAY_CHILD_ENV) else { return };
    let uri = format!("PYRONAME:late.echo@127.0.0.1:{}", port.to_string_lossy());
    let start = Instant::now();
    let outcome = pyro5_std::Proxy::new(&uri).expect("a name URI").call::<String, _>("echo", ("late",));
    match outcome {
        Ok(back) => println!("CHILD: ok {back} {}", start.elapsed().as_millis()),
        Err(e) => println!("CHILD: error {e} {}", start.elapsed().as_millis()),
    }
}

/// Run the child client with `PYRO_NS_LOOKUP_DELAY=delay`: its line.
fn proxy_child(port: u16, delay: &str) -> String {
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args(["lookup_delay_proxy_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(LOOKUP_DELAY_CHILD_ENV, port.to_string())
        .env("PYRO_NS_LOOKUP_DELAY", delay)
        .output()
        .expect("run the child client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .split("CHILD: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("the child printed no result: {stdout}"))
        .to_string()
}

#[test]
fn pyroname_proxies_wait_as_long_as_pyro_ns_lookup_delay_says() {
    let ns = OurNs::start();
    let echo = Daemon::new(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }).expect("bind");
    let echo_uri = echo.register_concurrent(EchoServer::new(), Some("test.echoserver")).expect("register");
    let serving = echo.clone();
    let echo_thread = std::thread::spawn(move || serving.request_loop().expect("echo request loop"));

    // No delay (the default): unknown at once.
    let line = proxy_child(ns.port, "0");
    assert!(line.starts_with("error Pyro5.errors.NamingError: unknown name: late.echo "), "{line}");

    // A delay of 2 s, the name registered after 0.5 s: the call goes through.
    let late = register_later(ns.port, "late.echo", &echo_uri, &[], Duration::from_millis(500));
    let line = proxy_child(ns.port, "2");
    late.join().expect("registering thread");
    let waited: u64 = line.strip_prefix("ok late ").and_then(|ms| ms.parse().ok()).unwrap_or_else(|| panic!("{line}"));
    assert!(waited < 2000, "waited {waited} ms");
    echo.shutdown();
    echo_thread.join().expect("echo thread");
}
