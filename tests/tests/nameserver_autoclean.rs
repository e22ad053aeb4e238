//! Autoclean (`NS_AUTOCLEAN`) of our name server with real Python Pyro5 servers: objects of
//! Python and Rust daemons registered in it, some daemons then stopped; the cleaner removes
//! exactly the stopped ones (after the grace period, never earlier), and keeps the live
//! ones and `Pyro.NameServer`, as the Python client sees. Pyro's 20 s of grace is shortened
//! to 2 s here (the period stays at Pyro's minimum of 3 s).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pyro5_interop_tests::python;
use pyro5_std::echo::EchoServer;
use pyro5_std::naming::{AutoClean, MIN_AUTOCLEAN, NameServer};
use pyro5_std::{Daemon, DaemonConfig};

/// A daemon of ours serving in a thread, until [`stop`](Served::stop)ped.
struct Served {
    daemon: Daemon,
    thread: Option<JoinHandle<()>>,
}

impl Served {
    fn start() -> Self {
        let daemon = Daemon::new(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }).expect("bind");
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || serving.request_loop().expect("request loop"));
        Self { daemon, thread: Some(thread) }
    }

    /// Shut down, and close the listening socket (every handle of the daemon is gone).
    fn stop(mut self) {
        self.daemon.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.daemon.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A Python process serving one object with its own Pyro5 daemon, registered in the name
/// server at `127.0.0.1:ns_port` as `name`; killed when dropped.
struct PythonServer(Child);

const PYTHON_SERVER: &str = "import sys, Pyro5.api, Pyro5.core\n\
    @Pyro5.api.expose\n\
    class Thing:\n    def ping(self):\n        return 'pong'\n\
    daemon = Pyro5.api.Daemon(host='127.0.0.1')\n\
    uri = daemon.register(Thing, 'thing')\n\
    Pyro5.core.locate_ns('127.0.0.1', int(sys.argv[1])).register(sys.argv[2], uri)\n\
    print(uri, flush=True)\n\
    daemon.requestLoop()\n";

impl PythonServer {
    fn start(ns_port: u16, name: &str) -> Self {
        let child = Command::new(python())
            .args(["-c", PYTHON_SERVER, &ns_port.to_string(), name])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a Python server");
        Self(child)
    }

    /// Wait until it registered; its URI.
    fn registered(&mut self) -> String {
        let stdout = self.0.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the Python server");
        assert!(line.starts_with("PYRO:thing@127.0.0.1:"), "the Python server did not register: {line:?}");
        line.trim().to_string()
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The names the Python client lists in the name server at `port`.
fn python_lists(port: u16) -> String {
    let script = format!("import Pyro5.core\nprint(sorted(Pyro5.core.locate_ns('127.0.0.1', {port}).list()))\n");
    let out = Command::new(python()).args(["-c", &script]).output().expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn stopped_python_and_rust_servers_are_cleaned_out_live_ones_and_the_name_server_stay() {
    let ns_daemon = Served::start();
    let ns = NameServer::new();
    ns.serve(&ns_daemon.daemon).expect("serve the name server");
    let ns_port = ns_daemon.daemon.port().expect("tcp port");

    // Two Python servers (registering themselves through Python's locate_ns), and two of ours.
    let mut py_live = PythonServer::start(ns_port, "py.live");
    let mut py_dead = PythonServer::start(ns_port, "py.dead");
    let rust_live = Served::start();
    let rust_dead = Served::start();
    let mut registry = pyro5_std::locate::locate_ns(Some("127.0.0.1"), Some(ns_port)).expect("locate our name server");
    for (name, served) in [("rust.live", &rust_live), ("rust.dead", &rust_dead)] {
        let uri = served.daemon.register_concurrent(EchoServer::new(), Some("test.echoserver")).expect("register");
        registry.register(name, &uri, false).expect("register in the name server");
    }
    py_live.registered();
    py_dead.registered();
    assert_eq!(
        python_lists(ns_port),
        "['Pyro.NameServer', 'py.dead', 'py.live', 'rust.dead', 'rust.live']",
        "all registered"
    );

    // One Python server killed, one daemon of ours shut down.
    drop(py_dead);
    rust_dead.stop();
    let config = AutoClean {
        unreachable_grace: Duration::from_secs(2),
        poll_interval: Duration::from_millis(250),
        connect_timeout: Duration::from_secs(2),
        ..AutoClean::every(MIN_AUTOCLEAN).expect("Pyro's minimum period")
    };
    let started = Instant::now();
    let cleaner = ns.start_autoclean(config).expect("start autoclean");
    let gone = |name: &str| ns.lookup(name).is_err();
    while !(gone("py.dead") && gone("rust.dead")) {
        assert!(started.elapsed() < Duration::from_secs(12), "not cleaned out: {:?}", ns.list(None, None));
        std::thread::sleep(Duration::from_millis(50));
    }
    // Seen unreachable in the round after 3 s, removed in a later one at least 2 s after.
    assert!(started.elapsed() >= Duration::from_secs(5), "removed after {:?}", started.elapsed());
    assert_eq!(python_lists(ns_port), "['Pyro.NameServer', 'py.live', 'rust.live']");

    let stopping = Instant::now();
    cleaner.stop();
    assert!(stopping.elapsed() < Duration::from_secs(3), "the cleaner stops promptly");
    // The live ones still answer through the name server.
    let live = pyro5_std::Proxy::new(&format!("PYRONAME:rust.live@127.0.0.1:{ns_port}")).expect("uri");
    let back: String = live.call("echo", ("still here",)).expect("call the live server");
    assert_eq!(back, "still here");
    let live = pyro5_std::Proxy::new(&format!("PYRONAME:py.live@127.0.0.1:{ns_port}")).expect("uri");
    let pong: String = live.call("ping", ()).expect("call the live Python server");
    assert_eq!(pong, "pong");
}
