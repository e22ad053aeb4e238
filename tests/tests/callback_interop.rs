//! Proxies that travel in calls, with the real Python Pyro5 (tests/python/callback_peer.py):
//! a Python client with its own daemon passes a callback object to a Rust daemon's
//! `#[expose]` methods, which take it as a `Proxy` and call it back from inside the call (a
//! call with a result, a oneway call, a call raising an exception whose class and text the
//! Rust side reads or passes on), in every serializer, on the std daemon with the std proxy
//! and on the tokio daemon with the async proxy; a Python daemon's autoproxied result read by
//! the std and the async proxy as a proxy and called, and our proxy passed to Python and
//! called there.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyro5_interop_tests::{PythonPeer, python, workspace_root};
use pyro5_std::{Daemon, DaemonConfig, Proxy, ProxyError, Reraise, Serializer, ServerType, expose};

const SERIALIZERS: [&str; 4] = ["serpent", "marshal", "json", "msgpack"];

/// What `describe` answers: the URI, the methods and oneway methods known, the serializer
/// named, as the received proxy's state says.
type Described = (String, Vec<String>, Vec<String>, Option<String>);

fn describe(state: pyro5_std::calling::ProxyState) -> Described {
    let names = |set: std::collections::BTreeSet<String>| set.into_iter().collect();
    (state.uri, names(state.methods), names(state.oneway), state.serializer.map(|s| s.name().to_string()))
}

/// The text the Rust side reads from a callback's exception.
fn caught(result: Result<pyro5_std::core::ser::value::Value, ProxyError>) -> String {
    match result {
        Err(ProxyError::Remote(e)) => format!("{}|{}", e.class, e.message()),
        other => format!("not a remote exception: {other:?}"),
    }
}

/// Calls its callers back (std daemon, std proxy).
struct Callbacks;

#[expose(class = "test.Callbacks")]
impl Callbacks {
    fn describe(&self, callback: Proxy) -> Described {
        describe(callback.to_state())
    }

    fn call_back(&self, callback: Proxy, x: i64) -> Result<Vec<i64>, Reraise> {
        Ok(callback.call("double", (x,))?)
    }

    fn notify(&self, callback: Proxy, text: String) -> Result<(), Reraise> {
        Ok(callback.call("note", (text,))?)
    }

    fn fail_caught(&self, callback: Proxy) -> String {
        caught(callback.call("fail", ("caught",)))
    }

    fn fail_passed_on(&self, callback: Proxy) -> Result<(), Reraise> {
        Ok(callback.call("fail", ("passed on",))?)
    }

    fn hand_back(&self, callback: Proxy) -> Proxy {
        callback
    }
}

/// The same with async methods on the tokio daemon, calling back through the async proxy.
#[derive(Clone)]
struct AsyncCallbacks;

#[expose(class = "test.Callbacks")]
impl AsyncCallbacks {
    async fn describe(&self, callback: pyro5_tokio::Proxy) -> Described {
        describe(callback.to_state())
    }

    async fn call_back(&self, callback: pyro5_tokio::Proxy, x: i64) -> Result<Vec<i64>, Reraise> {
        Ok(callback.call("double", (x,)).await?)
    }

    async fn notify(&self, callback: pyro5_tokio::Proxy, text: String) -> Result<(), Reraise> {
        Ok(callback.call("note", (text,)).await?)
    }

    async fn fail_caught(&self, callback: pyro5_tokio::Proxy) -> String {
        caught(callback.call("fail", ("caught",)).await)
    }

    async fn fail_passed_on(&self, callback: pyro5_tokio::Proxy) -> Result<(), Reraise> {
        Ok(callback.call("fail", ("passed on",)).await?)
    }

    async fn hand_back(&self, callback: pyro5_tokio::Proxy) -> pyro5_tokio::Proxy {
        callback
    }
}

/// Run the Python callback client against `uri` in `serializer`; it checks what comes back.
fn python_client(uri: &str, serializer: &str) {
    let script = workspace_root().join("tests/python/callback_peer.py");
    let args = format!(r#"{{"uri": "{uri}", "serializer": "{serializer}"}}"#);
    let out = Command::new(python()).arg(script).arg("client").arg(args).output().expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{serializer}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim(), r#"{"ok": true}"#, "{serializer}");
}

#[test]
fn a_std_daemon_calls_back_a_python_client_in_every_serializer() {
    // The multiplexed server makes the callback from its one thread: it waits, no deadlock.
    for server_type in [ServerType::Thread, ServerType::Multiplex] {
        let config = DaemonConfig { host: "127.0.0.1".into(), server_type, ..DaemonConfig::default() };
        let daemon = Daemon::new(config).expect("bind");
        let uri = daemon.register(Callbacks, Some("callbacks")).expect("register");
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || serving.request_loop());
        for serializer in SERIALIZERS {
            python_client(&uri, serializer);
        }
        daemon.shutdown();
        thread.join().expect("the daemon thread").expect("the request loop");
    }
}

/// Counts oneway notes.
struct Notes(Arc<AtomicUsize>);

#[expose(class = "test.Notes")]
impl Notes {
    #[oneway]
    fn note(&self, _n: u32) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_oneway_call_of_the_async_proxy_is_sent_before_it_returns() {
    // As a callback made just before the method returns and drops its proxy.
    let count = Arc::new(AtomicUsize::new(0));
    let daemon = Daemon::new(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }).expect("bind");
    let uri = daemon.register(Notes(count.clone()), Some("notes")).expect("register");
    let serving = daemon.clone();
    let thread = std::thread::spawn(move || serving.request_loop());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    const NOTES: usize = 50;
    runtime.block_on(async {
        for n in 0..NOTES {
            let proxy = pyro5_tokio::Proxy::new(&uri).unwrap();
            proxy.call::<(), _>("note", (n,)).await.unwrap();
        }
    });
    let start = std::time::Instant::now();
    while count.load(Ordering::SeqCst) < NOTES && start.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(count.load(Ordering::SeqCst), NOTES);
    daemon.shutdown();
    thread.join().expect("the daemon thread").expect("the request loop");
}

#[test]
fn a_tokio_daemon_calls_back_a_python_client_through_the_async_proxy_in_every_serializer() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let config = DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() };
    let daemon = runtime.block_on(async { pyro5_tokio::Daemon::bind(config) }).expect("bind");
    let uri = daemon.register(AsyncCallbacks, Some("callbacks")).expect("an async daemon takes async methods");
    let serving = daemon.clone();
    let served = runtime.spawn(async move { serving.serve().await });
    for serializer in SERIALIZERS {
        python_client(&uri, serializer);
    }
    daemon.shutdown();
    runtime.block_on(served).expect("the serving task").expect("serve");
}

type Relayed = (String, Vec<String>, Option<String>);

#[test]
fn an_autoproxied_result_is_a_std_proxy_and_ours_is_a_proxy_in_python() {
    let server = PythonPeer::start("callback_peer.py", &["server"], "PYRO:factory@");
    for serializer in Serializer::ALL {
        let mut factory = Proxy::new(&server.uri).unwrap();
        factory.set_serializer(serializer);
        let thing: Proxy = factory.call("make", ("pebble",)).unwrap();
        // Known from the state before connecting, as Python's proxy knows it.
        assert!(!thing.is_connected());
        let meta = thing.metadata().expect("the metadata came with it");
        assert!(meta.methods.contains("hello") && meta.oneway.contains("poke"), "{serializer}: {meta:?}");
        assert!(meta.attrs.contains("label"), "{serializer}: {meta:?}");
        assert_eq!(thing.call::<String, _>("hello", ("rust",)).unwrap(), "pebble greets rust", "{serializer}");
        thing.call::<(), _>("poke", ()).unwrap();
        assert_eq!(thing.get_attr::<String>("label").unwrap(), "pebble");
        // Passed back to Python, it is a Python proxy there again.
        let (text, methods, named): Relayed = factory.call("relay", (&thing, "python")).unwrap();
        assert_eq!(text, "pebble greets python");
        assert_eq!(methods, ["hello", "poke"]);
        assert_eq!(named, None);
        let mut named_thing = thing;
        named_thing.set_serializer(serializer);
        let (_, _, named): Relayed = factory.call("relay", (&named_thing, "python")).unwrap();
        assert_eq!(named.as_deref(), Some(serializer.name()));
    }
}

#[test]
fn an_autoproxied_result_is_an_async_proxy() {
    let server = PythonPeer::start("callback_peer.py", &["server"], "PYRO:factory@");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        for serializer in Serializer::ALL {
            let mut factory = pyro5_tokio::Proxy::new(&server.uri).unwrap();
            factory.set_serializer(serializer);
            let thing: pyro5_tokio::Proxy = factory.call("make", ("pebble",)).await.unwrap();
            assert!(!thing.is_connected());
            assert!(thing.metadata().expect("the metadata came with it").oneway.contains("poke"));
            assert_eq!(thing.call::<String, _>("hello", ("tokio",)).await.unwrap(), "pebble greets tokio");
            thing.call::<(), _>("poke", ()).await.unwrap();
            let (text, _, _): Relayed = factory.call("relay", (&thing, "python")).await.unwrap();
            assert_eq!(text, "pebble greets python", "{serializer}");
        }
    });
}
