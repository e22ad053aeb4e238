//! The Rust `Proxy` calling real Python Pyro5 5.17 daemons, and our own, in every serializer:
//!
//! * Python's own echo server (`python -m Pyro5.utils.echoserver`) and our `Daemon` serving
//!   [`EchoServer`] in-process go through the same checks ([`echo_checks`]): metadata,
//!   positional and keyword calls, typed and [`Value`] results, the remote exception with
//!   its Python class, args and traceback, the generator (all items; dropped early, after
//!   which the proxy still works and, on our daemon, the stream is gone), batches (in
//!   order, an error ends them, oneway batches), oneway calls that return at once even when
//!   slow, the `verbose` property read and written (marshal included: Python's own client
//!   cannot, ours can), the handshake answer, ping, and names refused before sending.
//! * `tests/python/proxy_test_server.py` (a Python object with `instance_mode` single) for
//!   what the echo server lacks: defaults, `*args`/`**kwargs`, a custom exception with
//!   attributes, oneway calls whose effect is observed later, read-only properties, stream
//!   closing seen from the server, return types per serializer, restarts (reconnect and
//!   max-retries), timeouts (of a call and inside a stream), 16 threads, handshake data and
//!   rejection, correlation id and annotations both ways, compressed messages, the message
//!   size limit both ways.
//! * Our daemon also over IPv6 and a Unix socket, under 16 threads, and with a timeout.
//!
//! Every Python server is a child process killed when its guard drops; every wait has a
//! deadline, so a hang fails a test instead of stalling it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pyro5_interop_tests::echo_daemon::{EchoDaemon, other_transports};
use pyro5_interop_tests::values::{dict, kw, remote, s};
use pyro5_interop_tests::{hex, python, workspace_root};
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::wire::AnnotationId;
use pyro5_std::echo::OBJECT_ID;
use pyro5_std::{Daemon, DaemonConfig, Proxy, ProxyError, Serializer, ServerType};

/// How long a Python server may take to print its URI.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A Python Pyro5 daemon in a child process, killed on drop.
struct PyServer {
    child: Child,
    uri: String,
}

impl PyServer {
    /// Start `args` with the pinned Python and wait for the line starting with `prefix`,
    /// whose rest is the URI. The process's stdout is drained in a thread afterwards.
    fn start(args: &[&str], env: &[(&str, &str)], prefix: &'static str) -> Self {
        let mut command = Command::new(python());
        command.args(args).env("PYTHONUNBUFFERED", "1").stdin(Stdio::null()).stdout(Stdio::piped());
        command.stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start python {args:?}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(uri) = line.strip_prefix(prefix) {
                    let _ = tx.send(uri.trim().to_string());
                }
            }
        });
        let mut server = Self { child, uri: String::new() };
        server.uri = rx.recv_timeout(START_TIMEOUT).unwrap_or_else(|_| panic!("{args:?} printed no '{prefix}' line"));
        server
    }

    /// Python's own echo server on a free port.
    fn echo() -> Self {
        Self::start(&["-m", "Pyro5.utils.echoserver", "-p", "0"], &[], "echo uri:")
    }

    /// `tests/python/proxy_test_server.py` on `port` (0: a free one).
    fn test_server(port: u16, env: &[(&str, &str)]) -> Self {
        let script = workspace_root().join("tests/python/proxy_test_server.py");
        let script = script.to_str().expect("a UTF-8 path");
        Self::start(&[script, "--port", &port.to_string()], env, "uri:")
    }

    fn port(&self) -> u16 {
        self.uri.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a TCP URI")
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn proxy(uri: &str, serializer: Serializer) -> Proxy {
    let mut p = Proxy::new(uri).expect("a valid URI");
    p.set_serializer(serializer);
    // A hang fails the test instead of stalling it.
    p.set_timeout(Some(Duration::from_secs(10)));
    p
}

/// Poll `f` until it holds, for at most `limit`.
#[track_caller]
fn eventually(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A sequence as Python's tuple where the serializer keeps tuples (serpent, marshal) and as
/// a list where it cannot (json, msgpack).
fn tuple_as(serializer: Serializer, items: Vec<Value>) -> Value {
    match serializer {
        Serializer::Serpent | Serializer::Marshal => Value::Tuple(items),
        Serializer::Json | Serializer::Msgpack => Value::List(items),
    }
}

const ERROR_TEXT: &str = "this is the generated error from echoserver echo() method";

/// Everything a proxy does against an echo server (Python's, or ours when `ours` is given),
/// in one serializer.
fn echo_checks(uri: &str, serializer: Serializer, ours: Option<&Daemon>) {
    let ctx = format!("{serializer} against {}", if ours.is_some() { "our daemon" } else { "Python" });
    let echo = proxy(uri, serializer);

    // Metadata and the handshake answer.
    let meta = echo.bind().unwrap_or_else(|e| panic!("{ctx}: bind: {e}")).clone();
    for m in ["echo", "error", "error_with_text", "generator", "slow", "oneway_echo", "oneway_slow", "__dunder__"] {
        assert!(meta.methods.contains(m), "{ctx}: {m} missing from {meta:?}");
    }
    assert_eq!(meta.oneway.iter().map(String::as_str).collect::<Vec<_>>(), ["oneway_echo", "oneway_slow"], "{ctx}");
    assert_eq!(meta.attrs.iter().map(String::as_str).collect::<Vec<_>>(), ["verbose"], "{ctx}");
    assert_eq!(echo.handshake_response(), Some(s("hello")), "{ctx}");

    // Positional, typed.
    let back: (i64, String, Vec<f64>) = echo.call("echo", ((7, "seven", vec![1.5, -2.25]),)).expect("echo typed");
    assert_eq!(back, (7, "seven".to_string(), vec![1.5, -2.25]), "{ctx}");
    let text: String = echo.call("echo", ("héllo\n\u{1F600}",)).expect("echo str");
    assert_eq!(text, "héllo\n\u{1F600}", "{ctx}");

    // Keyword argument, typed.
    let mut kwargs = BTreeMap::new();
    kwargs.insert("message", vec![1u8, 2, 3]);
    let back: Vec<u8> = echo.call_kw("echo", (), Some(&kwargs)).expect("echo kwargs");
    assert_eq!(back, [1, 2, 3], "{ctx}");

    // Dynamic values come back as they went, up to what the format can carry.
    let value = dict(&[
        ("list", Value::List(vec![Value::Int(1), Value::Float(2.5), s("three"), Value::None, Value::Bool(true)])),
        ("nested", dict(&[("x", Value::List(vec![Value::Int(-1), Value::Int(1 << 40)]))])),
        ("zero", Value::Float(-0.0)),
    ]);
    let back = echo.call_value("echo", std::slice::from_ref(&value), &[]).expect("echo value");
    assert!(back.is_identical(&value), "{ctx}: {back:?}");
    let back = echo.call_value("echo", &[], &kw(&[("message", value.clone())])).expect("echo value kwargs");
    assert!(back.is_identical(&value), "{ctx}: {back:?}");
    let tuple = vec![Value::Int(1), s("two")];
    let back = echo.call_value("echo", &[Value::Tuple(tuple.clone())], &[]).expect("echo tuple");
    assert_eq!(back, tuple_as(serializer, tuple), "{ctx}");
    let dunder: String = echo.call("__dunder__", ()).expect("dunder");
    assert_eq!(dunder, "should be allowed (dunder)", "{ctx}");

    // The remote exception: Python's class, args and traceback.
    let e = remote(echo.call::<Value, _>("error", ()));
    assert_eq!((e.class.as_str(), e.args.as_slice()), ("builtins.ValueError", &[s(ERROR_TEXT)][..]), "{ctx}");
    assert_eq!(e.message(), ERROR_TEXT);
    assert_eq!(e.traceback.first().map(String::as_str), Some("Traceback (most recent call last):\n"), "{ctx}");
    assert_eq!(e.traceback.last().map(String::as_str), Some(&*format!("ValueError: {ERROR_TEXT}\n")), "{ctx}");
    let e = remote(echo.call::<Value, _>("error_with_text", ()));
    assert_eq!(e.to_string(), "builtins.ValueError: the message of the error", "{ctx}");

    // The property, in every serializer (before the oneway calls, which print when
    // verbose).
    assert!(!echo.get_attr::<bool>("verbose").expect("get verbose"), "{ctx}");
    echo.set_attr("verbose", true).expect("set verbose");
    assert!(echo.get_attr::<bool>("verbose").expect("get verbose"), "{ctx}");
    echo.set_attr("verbose", false).expect("set verbose back");

    // The generator: every item, then one dropped early.
    let items: Vec<Value> =
        echo.call_iter("generator", ()).expect("generator").collect::<Result<_, _>>().expect("items");
    assert_eq!(items, [s("one"), s("two"), s("three")], "{ctx}");
    let all: Vec<String> = echo.call("generator", ()).expect("a generator collected by call");
    assert_eq!(all, ["one", "two", "three"], "{ctx}");
    {
        // One request at a time, as Pyro's proxy: the stream is still open after one item
        // (prefetching would have taken all three already).
        let mut iter = echo.call_iter("generator", ()).expect("generator").prefetch(1);
        assert_eq!(iter.next().map(|r| r.expect("first item")), Some(s("one")), "{ctx}");
        if let Some(daemon) = ours {
            assert_eq!(daemon.stream_count(), 1, "{ctx}: the open stream");
        }
    }
    if let Some(daemon) = ours {
        eventually(Duration::from_secs(5), "the dropped stream is closed", || daemon.stream_count() == 0);
    }
    let back: i64 = echo.call("echo", (5,)).expect("the proxy still works after an early drop");
    assert_eq!(back, 5, "{ctx}");

    // Batches: results in order; an error ends them.
    let mut batch = echo.batch();
    batch.call("echo", vec![Value::Int(1)], vec![]).call("echo", vec![], kw(&[("message", s("two"))]));
    batch.call("__dunder__", vec![], vec![]);
    let results = batch.run().expect("batch");
    let results: Vec<Value> = results.into_iter().map(|r| r.expect("no error")).collect();
    assert_eq!(results, [Value::Int(1), s("two"), s("should be allowed (dunder)")], "{ctx}");
    let mut batch = echo.batch();
    batch.call("echo", vec![Value::Int(1)], vec![]).call("error", vec![], vec![]).call(
        "echo",
        vec![Value::Int(2)],
        vec![],
    );
    match (serializer, batch.run()) {
        // Marshal cannot carry the exception wrapper: Python's daemon fails the whole batch.
        (Serializer::Marshal, Err(ProxyError::Remote(e))) => {
            assert_eq!(
                (e.class.as_str(), e.message().as_str()),
                ("builtins.ValueError", "unmarshallable object"),
                "{ctx}"
            );
        }
        (_, Ok(results)) => {
            assert_eq!(results.len(), 2, "{ctx}: the error ends the batch: {results:?}");
            assert_eq!(results[0], Ok(Value::Int(1)), "{ctx}");
            let e = results[1].as_ref().expect_err("the second call raised");
            assert_eq!((e.class.as_str(), e.message().as_str()), ("builtins.ValueError", ERROR_TEXT), "{ctx}");
            assert!(!e.traceback.is_empty(), "{ctx}");
        }
        (_, other) => panic!("{ctx}: batch with an error: {other:?}"),
    }
    let mut batch = echo.batch();
    batch.call("oneway_echo", vec![s("x")], vec![]).call("echo", vec![s("y")], vec![]);
    batch.run_oneway().expect("oneway batch");

    // Oneway: no waiting, not even for a slow one, and the connection is free at once.
    let start = Instant::now();
    let none: Value = echo.call("oneway_echo", ("fire and forget",)).expect("oneway");
    assert_eq!(none, Value::None, "{ctx}");
    let none: Value = echo.call("oneway_slow", ()).expect("oneway slow");
    assert_eq!(none, Value::None, "{ctx}");
    let back: i64 = echo.call("echo", (6,)).expect("a call after a slow oneway");
    assert_eq!(back, 6);
    assert!(start.elapsed() < Duration::from_secs(2), "{ctx}: oneway calls waited: {:?}", start.elapsed());

    // Names the object does not expose are refused before anything is sent.
    assert!(matches!(echo.call::<Value, _>("nope", ()), Err(ProxyError::NotExposed { .. })), "{ctx}");
    assert!(matches!(echo.call::<Value, _>("_private", ()), Err(ProxyError::NotExposed { .. })), "{ctx}");
    assert!(matches!(echo.get_attr::<Value>("nope"), Err(ProxyError::NotExposed { .. })), "{ctx}");
    assert!(matches!(echo.set_attr("echo", 1), Err(ProxyError::NotExposed { .. })), "{ctx}");

    // A result that does not fit the type asked for leaves the connection usable.
    assert!(matches!(echo.call::<i64, _>("echo", ("text",)), Err(ProxyError::Decode(_))), "{ctx}");
    echo.ping().expect("ping");
    assert!(echo.is_connected(), "{ctx}");
    let nan: f64 = echo.call("nan", ()).expect("nan");
    assert!(nan.is_nan(), "{ctx}");
    let inf: f64 = echo.call("inf", ()).expect("inf");
    assert_eq!(inf, f64::INFINITY, "{ctx}");
    echo.release();
    let back: i64 = echo.call("echo", (8,)).expect("a call after release connects again");
    assert_eq!(back, 8, "{ctx}");
}

#[test]
fn python_echo_server_answers_every_kind_of_call_in_every_serializer() {
    let server = PyServer::echo();
    for serializer in Serializer::ALL {
        echo_checks(&server.uri, serializer, None);
    }
}

#[test]
fn our_echo_server_answers_every_kind_of_call_in_every_serializer() {
    for server_type in [ServerType::Thread, ServerType::Multiplex] {
        let server = our_echo(server_type, Duration::from_secs(3));
        for serializer in Serializer::ALL {
            echo_checks(&server.uri, serializer, Some(&server.daemon));
        }
    }
}

#[test]
fn our_daemon_times_out_a_slow_call_and_the_proxy_recovers() {
    let server = our_echo(ServerType::Thread, Duration::from_secs(1));
    for serializer in Serializer::ALL {
        let mut echo = proxy(&server.uri, serializer);
        timeout_then_recover(&mut echo, |p| p.call::<Value, _>("slow", ()), serializer);
    }
}

/// Python's daemon on a Unix socket in Linux's abstract namespace
/// (`Daemon(unixsocket="\0name")`): the URI's location holds the NUL byte.
#[cfg(target_os = "linux")]
#[test]
fn proxies_reach_pythons_daemon_in_the_abstract_namespace() {
    let code = format!(
        "import Pyro5.api\n\
         from Pyro5.utils.echoserver import EchoServer\n\
         d = Pyro5.api.Daemon(unixsocket='\\0pyro5-rs-python-{}')\n\
         uri = d.register(EchoServer, 'test.echoserver')\n\
         print('uri:', str(uri).replace('\\0', '<NUL>'))\n\
         d.requestLoop()\n",
        std::process::id()
    );
    let server = PyServer::start(&["-c", &code], &[], "uri:");
    let uri = server.uri.replace("<NUL>", "\0");
    assert_eq!(uri, format!("PYRO:test.echoserver@./u:\0pyro5-rs-python-{}", std::process::id()));
    for serializer in Serializer::ALL {
        let p = proxy(&uri, serializer);
        let back: String = p.call("echo", ("in the abstract namespace",)).expect("echo");
        assert_eq!(back, "in the abstract namespace", "{serializer}");
    }
}

#[test]
fn sixteen_threads_each_with_its_own_proxy_against_our_daemon() {
    let server = our_echo(ServerType::Thread, Duration::from_secs(1));
    sixteen_threads(&server.uri, |p, t, i| {
        let back: (i64, i64) = p.call("echo", ((t, i),))?;
        Ok(back == (t, i))
    });
}

#[test]
fn proxies_reach_our_daemon_over_ipv6_and_unix_sockets() {
    for config in other_transports("proxy") {
        let server = EchoDaemon::start(config, OBJECT_ID, Some(Duration::from_secs(1)));
        for serializer in Serializer::ALL {
            let p = proxy(&server.uri, serializer);
            let back: String = p.call("echo", ("over there",)).unwrap_or_else(|e| panic!("{}: {e}", server.uri));
            assert_eq!(back, "over there", "{serializer}");
            let items: Vec<String> = p.call("generator", ()).expect("generator");
            assert_eq!(items.len(), 3);
        }
    }
}

/// `call` times out after 300 ms, closing the connection; the next call connects again.
fn timeout_then_recover(p: &mut Proxy, call: impl Fn(&mut Proxy) -> Result<Value, ProxyError>, serializer: Serializer) {
    p.bind().expect("bind");
    p.set_timeout(Some(Duration::from_millis(300)));
    let start = Instant::now();
    let result = call(p);
    let took = start.elapsed();
    assert!(matches!(result, Err(ProxyError::Timeout)), "{serializer}: {result:?}");
    assert!(took >= Duration::from_millis(290) && took < Duration::from_millis(900), "{serializer}: {took:?}");
    assert!(!p.is_connected(), "{serializer}: a timeout closes the connection");
    let back: String = p.call("echo", ("after the timeout",)).expect("the next call works");
    assert_eq!(back, "after the timeout", "{serializer}");
}

/// 16 threads, each with its own proxy (serializers taking turns), 100 calls each (Pyro's
/// way; `shared_proxy.rs` shares one).
fn sixteen_threads(uri: &str, call: impl Fn(&mut Proxy, i64, i64) -> Result<bool, ProxyError> + Sync) {
    fn send<T: Send>() {}
    send::<Proxy>();
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let call = &call;
                scope.spawn(move || {
                    let mut p = proxy(uri, Serializer::ALL[t % 4]);
                    let t = i64::try_from(t).expect("small");
                    for i in 0..100 {
                        assert!(call(&mut p, t, i).expect("call"), "thread {t} call {i}: wrong answer");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("a thread failed");
        }
    });
}

#[test]
fn positional_keyword_and_default_arguments() {
    let server = PyServer::test_server(0, &[]);
    for serializer in Serializer::ALL {
        let p = proxy(&server.uri, serializer);
        let i = Value::Int;
        // add(a, b=10, *rest, **kw)
        assert_eq!(p.call::<i64, _>("add", (1,)).expect("default b"), 11, "{serializer}");
        assert_eq!(p.call::<i64, _>("add", (1, 2)).expect("positional"), 3, "{serializer}");
        assert_eq!(p.call::<i64, _>("add", (1, 2, 3, 4)).expect("*rest"), 10, "{serializer}");
        let mut kwargs = BTreeMap::new();
        kwargs.insert("b", 5);
        assert_eq!(p.call_kw::<i64, _, _>("add", (1,), Some(&kwargs)).expect("keyword"), 6, "{serializer}");
        kwargs.insert("a", 1);
        kwargs.insert("z", 100);
        assert_eq!(p.call_kw::<i64, _, _>("add", (), Some(&kwargs)).expect("keywords only"), 106, "{serializer}");
        assert_eq!(p.call_value("add", &[], &kw(&[("a", i(1)), ("b", i(2))])).expect("dynamic"), i(3));
        // describe(a, b=2, *rest, c=3, **kw): what arrived where.
        let described = p.call_value("describe", &[i(1)], &[]).expect("defaults");
        let expected = dict(&[("a", i(1)), ("b", i(2)), ("rest", Value::List(vec![])), ("c", i(3)), ("kw", dict(&[]))]);
        assert_eq!(described, expected, "{serializer}");
        let described =
            p.call_value("describe", &[i(1), i(4), i(5), i(6)], &kw(&[("c", i(7)), ("extra", s("x"))])).expect("all");
        let expected = dict(&[
            ("a", i(1)),
            ("b", i(4)),
            ("rest", Value::List(vec![i(5), i(6)])),
            ("c", i(7)),
            ("kw", dict(&[("extra", s("x"))])),
        ]);
        assert_eq!(described, expected, "{serializer}");
        // The same, typed.
        let typed: BTreeMap<String, Value> = p.call("describe", (1, 4, 5)).expect("typed map");
        assert_eq!(typed.get("rest"), Some(&Value::List(vec![i(5)])), "{serializer}");
        // Python's TypeError for a missing argument comes back as such.
        let e = remote(p.call::<Value, _>("add", ()));
        assert_eq!(e.class, "builtins.TypeError", "{serializer}");
        assert!(e.message().contains("missing 1 required positional argument: 'a'"), "{serializer}: {e}");
    }
}

#[test]
fn return_types_per_serializer_as_values_and_typed() {
    let server = PyServer::test_server(0, &[]);
    for serializer in Serializer::ALL {
        let mut p = proxy(&server.uri, serializer);
        // Python's daemon closes the connection after a result it cannot serialize (a
        // SerializeError is a CommunicationError): let the next call connect again.
        p.set_max_retries(1);
        let ctx = serializer;
        let get = |p: &mut Proxy, m: &str| p.call_value(m, &[], &[]);

        let big = Value::Int(1 << 100);
        assert_eq!(get(&mut p, "get_bigint").expect("bigint"), big, "{ctx}");
        assert_eq!(p.call::<i128, _>("get_bigint", ()).expect("bigint typed"), 1 << 100, "{ctx}");
        let zero = get(&mut p, "get_float").expect("float");
        assert!(matches!(zero, Value::Float(f) if f == 0.0 && f.is_sign_negative()), "{ctx}: {zero:?}");
        let tuple = vec![Value::Int(1), s("two"), Value::Float(3.5)];
        assert_eq!(get(&mut p, "get_tuple").expect("tuple"), tuple_as(serializer, tuple), "{ctx}");
        let typed: (i64, String, f64) = p.call("get_tuple", ()).expect("tuple typed");
        assert_eq!(typed, (1, "two".into(), 3.5), "{ctx}");
        let set = get(&mut p, "get_set").expect("set");
        let members = vec![Value::Int(1), Value::Int(2), Value::Int(3)];
        match serializer {
            Serializer::Serpent | Serializer::Marshal => assert!(set.is_identical(&Value::Set(members)), "{ctx}"),
            Serializer::Json | Serializer::Msgpack => assert_eq!(set, Value::List(members), "{ctx}"),
        }
        let mut typed: Vec<i64> = p.call("get_set", ()).expect("set typed");
        typed.sort_unstable();
        assert_eq!(typed, [1, 2, 3], "{ctx}");

        let bytes = b"\x00\x01\xffbytes".to_vec();
        match (serializer, get(&mut p, "get_bytes")) {
            // serpent's bytes are a base64 dict, as Python's proxy receives them too.
            (Serializer::Serpent, Ok(v)) => {
                assert_eq!(v, dict(&[("data", s("AAH/Ynl0ZXM=")), ("encoding", s("base64"))]), "{ctx}")
            }
            (Serializer::Json, Err(ProxyError::Remote(e))) => {
                assert_eq!(e.class, "Pyro5.errors.SerializeError", "{ctx}");
            }
            (Serializer::Marshal | Serializer::Msgpack, Ok(v)) => assert_eq!(v, Value::Bytes(bytes), "{ctx}"),
            (_, other) => panic!("{ctx}: get_bytes: {other:?}"),
        }

        match (serializer, get(&mut p, "get_complex")) {
            (Serializer::Json, Err(ProxyError::Remote(e))) => {
                assert_eq!(e.class, "Pyro5.errors.SerializeError", "{ctx}");
            }
            (_, Ok(v)) => assert_eq!(v, Value::Complex { re: 1.5, im: -2.0 }, "{ctx}"),
            (_, other) => panic!("{ctx}: get_complex: {other:?}"),
        }
        if serializer != Serializer::Json {
            let (re, im): (f64, f64) = p.call("get_complex", ()).expect("complex typed");
            assert_eq!((re, im), (1.5, -2.0), "{ctx}");
        }

        match (serializer, get(&mut p, "get_frozenset")) {
            // serpent has no frozenset literal: Python writes a set.
            (Serializer::Serpent, Ok(v)) => assert_eq!(v, Value::Set(vec![s("a")]), "{ctx}"),
            (Serializer::Marshal, Ok(v)) => assert_eq!(v, Value::FrozenSet(vec![s("a")]), "{ctx}"),
            (Serializer::Json | Serializer::Msgpack, Err(ProxyError::Remote(e))) => {
                assert_eq!(e.class, "Pyro5.errors.SerializeError", "{ctx}");
            }
            (_, other) => panic!("{ctx}: get_frozenset: {other:?}"),
        }

        let expected = Value::Dict(vec![
            (s("one"), Value::Int(1)),
            (Value::Int(2), s("two")),
            (Value::Tuple(vec![Value::Int(3), Value::Int(4)]), Value::List(vec![Value::Int(5)])),
        ]);
        match (serializer, get(&mut p, "get_dict")) {
            (Serializer::Serpent | Serializer::Marshal, Ok(v)) => assert_eq!(v, expected, "{ctx}"),
            // json refuses the tuple key on the server.
            (Serializer::Json, Err(ProxyError::Remote(e))) => assert_eq!(e.class, "builtins.TypeError", "{ctx}"),
            // msgpack 1.x refuses non-str map keys on reading, as Python's proxy does.
            (Serializer::Msgpack, Err(ProxyError::Decode(_))) => {}
            (_, other) => panic!("{ctx}: get_dict: {other:?}"),
        }
        // Neither refusal left the proxy unusable.
        assert_eq!(p.call::<String, _>("echo", ("still here",)).expect("echo"), "still here", "{ctx}");
    }
}

#[test]
fn custom_exception_carries_class_args_attributes_and_traceback() {
    let server = PyServer::test_server(0, &[]);
    for serializer in Serializer::ALL {
        let p = proxy(&server.uri, serializer);
        let e = remote(p.call::<Value, _>("fail", ("it broke", 42)));
        assert_eq!(e.class, "__main__.CustomError", "{serializer}");
        assert_eq!(e.short_class(), "CustomError");
        assert_eq!(e.args, [s("it broke"), Value::Int(42)], "{serializer}");
        assert_eq!(e.message(), "('it broke',42)", "{serializer}");
        assert_eq!(e.attribute("code"), Some(&Value::Int(42)), "{serializer}");
        assert_eq!(e.attribute("extra"), Some(&s("custom attribute")), "{serializer}");
        assert!(e.attribute("_pyroTraceback").is_none(), "{serializer}: the traceback is kept apart");
        let tb = e.traceback_text();
        assert!(tb.starts_with("Traceback (most recent call last):\n"), "{serializer}: {tb}");
        assert!(tb.contains("in fail\n    raise CustomError(message, code)"), "{serializer}: {tb}");
        assert!(tb.ends_with("CustomError: ('it broke', 42)\n"), "{serializer}: {tb}");
        // The exception leaves the connection open.
        assert!(p.is_connected(), "{serializer}");
    }
}

#[test]
fn oneway_calls_return_at_once_and_run_on_the_server() {
    let server = PyServer::test_server(0, &[]);
    let first = proxy(&server.uri, Serializer::Serpent);
    first.call::<Value, _>("clear", ()).expect("clear");
    for serializer in Serializer::ALL {
        let p = proxy(&server.uri, serializer);
        p.bind().expect("bind");
        let start = Instant::now();
        let none: Value = p.call("slow_record", (0.5, format!("slow {serializer}"))).expect("slow oneway");
        assert_eq!(none, Value::None);
        let none = p.call_value("record", &[s(&format!("fast {serializer}"))], &[]).expect("oneway");
        assert_eq!(none, Value::None);
        assert!(start.elapsed() < Duration::from_millis(300), "{serializer}: oneway waited {:?}", start.elapsed());
        assert!(p.response_annotations().is_empty(), "nothing came back");
    }
    // instance_mode single: another proxy sees what the oneway calls recorded.
    eventually(Duration::from_secs(5), "every oneway call ran", || {
        let log: Vec<String> = first.call("recorded", ()).expect("recorded");
        log.len() == 8
    });
    let mut log: Vec<String> = first.call("recorded", ()).expect("recorded");
    log.sort();
    let mut expected: Vec<String> =
        Serializer::ALL.iter().flat_map(|s| [format!("fast {s}"), format!("slow {s}")]).collect();
    expected.sort();
    assert_eq!(log, expected);
    // Oneway batches too.
    first.call::<Value, _>("clear", ()).expect("clear");
    for serializer in Serializer::ALL {
        let p = proxy(&server.uri, serializer);
        let mut batch = p.batch();
        batch.call("record", vec![s(&format!("batch {serializer}"))], vec![]);
        batch.call("record", vec![], kw(&[("value", s(&format!("batch kw {serializer}")))]));
        batch.run_oneway().expect("oneway batch");
    }
    eventually(Duration::from_secs(5), "every oneway batch ran", || {
        first.call::<Vec<String>, _>("recorded", ()).expect("recorded").len() == 8
    });
}

#[test]
fn properties_are_read_and_written_in_every_serializer() {
    let server = PyServer::test_server(0, &[]);
    for (n, serializer) in Serializer::ALL.into_iter().enumerate() {
        let p = proxy(&server.uri, serializer);
        let before: i64 = p.get_attr("value").expect("get");
        let n = i64::try_from(n).expect("small");
        assert_eq!(before, if n == 0 { 42 } else { 100 + n - 1 }, "{serializer}: the last write is seen");
        p.set_attr("value", 100 + n).expect("set");
        assert_eq!(p.get_attr::<i64>("value").expect("get"), 100 + n, "{serializer}");
        assert_eq!(p.get_attr::<String>("readonly").expect("get read-only"), "fixed", "{serializer}");
        let e = remote(p.set_attr("readonly", "changed"));
        assert_eq!(e.class, "builtins.AttributeError", "{serializer}");
        assert!(matches!(p.get_attr::<Value>("add"), Err(ProxyError::NotExposed { .. })), "{serializer}");
    }
}

/// How many generators the Python test server has seen closed.
fn closed(watcher: &mut Proxy) -> i64 {
    watcher.call("generators_closed", ()).expect("generators_closed")
}

/// How many item streams the Python test server's daemon holds open.
fn open(watcher: &mut Proxy) -> i64 {
    watcher.call("stream_count", ()).expect("stream_count")
}

#[test]
fn generator_streams_every_item_and_an_early_drop_closes_it() {
    let server = PyServer::test_server(0, &[]);
    let mut watcher = proxy(&server.uri, Serializer::Serpent);
    for serializer in Serializer::ALL {
        let mut p = proxy(&server.uri, serializer);
        // Streams of a lost connection linger on Python's daemon (ITER_STREAM_LINGER): count
        // from here.
        let base = open(&mut watcher);
        let items: Vec<i64> = p
            .call_iter("count", (25,))
            .expect("count")
            .map(|v| match v.expect("item") {
                Value::Int(i) => i64::try_from(i).expect("small"),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(items, (0..25).collect::<Vec<_>>(), "{serializer}");
        let collected: Vec<i64> = p.call("count", (3,)).expect("collected");
        assert_eq!(collected, [0, 1, 2], "{serializer}");
        let mut kwargs = BTreeMap::new();
        kwargs.insert("n", 2);
        assert_eq!(p.call_iter_kw("count", (), Some(&kwargs)).expect("count(n=2)").count(), 2, "{serializer}");
        assert_eq!(open(&mut watcher), base, "{serializer}: finished streams are gone");

        let closed_before = closed(&mut watcher);
        {
            let mut iter = p.call_iter("count", (1000,)).expect("count");
            assert_eq!(iter.next().map(|r| r.expect("item")), Some(Value::Int(0)));
            assert_eq!(iter.next().map(|r| r.expect("item")), Some(Value::Int(1)));
            assert!(iter.stream_id().is_some());
            assert_eq!(open(&mut watcher), base + 1, "{serializer}: one stream open");
        }
        eventually(Duration::from_secs(5), "the dropped stream is closed on the server", || {
            open(&mut watcher) == base && closed(&mut watcher) == closed_before + 1
        });
        assert_eq!(p.call::<i64, _>("add", (1, 1)).expect("the proxy still works"), 2, "{serializer}");
        assert!(matches!(p.call_iter("add", (1,)), Err(ProxyError::NotAnIterator { .. })), "{serializer}");

        // A stream belongs to its connection: a timeout closes both, and no retry moves the
        // stream to a new connection (which would not know it).
        p.set_max_retries(1);
        p.set_timeout(Some(Duration::from_millis(300)));
        let mut iter = p.call_iter("slow_count", (3, 0.0)).expect("slow_count");
        assert_eq!(iter.next().map(|r| r.expect("item")), Some(Value::Int(0)));
        drop(iter);
        let mut iter = p.call_iter("slow_count", (3, 1.0)).expect("slow_count");
        let start = Instant::now();
        assert!(matches!(iter.next(), Some(Err(ProxyError::Timeout))), "{serializer}");
        assert!(start.elapsed() < Duration::from_millis(550), "{serializer}: retried: {:?}", start.elapsed());
        assert!(iter.next().is_none(), "{serializer}: the stream ended with its connection");
        drop(iter);
        p.set_timeout(Some(Duration::from_secs(10)));
        assert_eq!(p.call::<i64, _>("add", (2, 2)).expect("a new connection"), 4, "{serializer}");
    }
}

/// Prefetching against Python's daemon: many item requests wait on the connection at once,
/// the items come in order whatever the prefetch, a stream shorter than the requests
/// waiting ends cleanly (the extra requests' errors are read and dropped) and the
/// connection goes on, and an early drop closes the stream after the replies on their way.
#[test]
fn prefetched_streams_come_in_order_and_close_as_pyros() {
    let server = PyServer::test_server(0, &[]);
    let mut watcher = proxy(&server.uri, Serializer::Serpent);
    for serializer in Serializer::ALL {
        let p = proxy(&server.uri, serializer);
        let base = open(&mut watcher);
        for (n, prefetch) in [(0, 16), (1, 16), (5, 32), (100, 1), (100, 7), (1000, 32)] {
            let items: Vec<Value> =
                p.call_iter("count", (n,)).expect("count").prefetch(prefetch).collect::<Result<_, _>>().expect("items");
            let expected: Vec<Value> = (0..n).map(Value::from).collect();
            assert_eq!(items, expected, "{serializer}: count({n}) with {prefetch} requests waiting");
            assert_eq!(p.call::<i64, _>("add", (n, 1)).expect("the connection goes on"), n + 1, "{serializer}");
        }
        assert_eq!(open(&mut watcher), base, "{serializer}: finished streams are gone");
        let closed_before = closed(&mut watcher);
        {
            let mut iter = p.call_iter("count", (100_000,)).expect("count").prefetch(16);
            for i in 0..40 {
                assert_eq!(iter.next().map(|r| r.expect("item")), Some(Value::from(i)), "{serializer}");
            }
        }
        eventually(Duration::from_secs(5), "the dropped stream is closed on the server", || {
            open(&mut watcher) == base && closed(&mut watcher) == closed_before + 1
        });
        assert_eq!(p.call::<i64, _>("add", (1, 1)).expect("the proxy still works"), 2, "{serializer}");
    }
}

#[test]
fn batch_results_come_in_order_and_an_error_ends_the_batch() {
    let server = PyServer::test_server(0, &[]);
    for serializer in Serializer::ALL {
        let p = proxy(&server.uri, serializer);
        let i = Value::Int;
        let mut batch = p.batch();
        batch.call("add", vec![i(1)], vec![]).call("add", vec![i(1), i(2)], vec![]);
        batch.call("describe", vec![i(0)], kw(&[("c", i(9))])).call("get_float", vec![], vec![]);
        assert_eq!(batch.len(), 4);
        let results = batch.run().expect("batch");
        assert_eq!(results.len(), 4, "{serializer}");
        assert_eq!(results[0], Ok(i(11)), "{serializer}");
        assert_eq!(results[1], Ok(i(3)), "{serializer}");
        assert_eq!(results[2].as_ref().ok().and_then(|d| d.get("c")), Some(&i(9)), "{serializer}");
        assert!(matches!(results[3], Ok(Value::Float(f)) if f.is_sign_negative()), "{serializer}");

        let mut batch = p.batch();
        batch.call("add", vec![i(1)], vec![]).call("fail", vec![s("in a batch"), i(3)], vec![]);
        batch.call("add", vec![i(2)], vec![]);
        match (serializer, batch.run()) {
            (Serializer::Marshal, Err(ProxyError::Remote(e))) => {
                assert_eq!(e.to_string(), "builtins.ValueError: unmarshallable object");
            }
            (_, Ok(results)) => {
                assert_eq!(results.len(), 2, "{serializer}: {results:?}");
                assert_eq!(results[0], Ok(i(11)), "{serializer}");
                let e = results[1].as_ref().expect_err("fail raised");
                assert_eq!(e.class, "__main__.CustomError", "{serializer}");
                assert_eq!(e.attribute("code"), Some(&i(3)), "{serializer}");
            }
            (_, other) => panic!("{serializer}: {other:?}"),
        }
        assert_eq!(p.call::<i64, _>("add", (2, 2)).expect("after the batch"), 4, "{serializer}");
    }
}

#[test]
fn a_restarted_server_is_reached_again_by_retry_and_by_reconnect() {
    let mut server = PyServer::test_server(0, &[]);
    let port = server.port();
    let mut retrying: Vec<Proxy> = Serializer::ALL.iter().map(|s| proxy(&server.uri, *s)).collect();
    let mut reconnecting: Vec<Proxy> = Serializer::ALL.iter().map(|s| proxy(&server.uri, *s)).collect();
    let mut plain = proxy(&server.uri, Serializer::Serpent);
    for p in retrying.iter_mut().chain(&mut reconnecting).chain([&mut plain]) {
        assert_eq!(p.call::<i64, _>("add", (1, 2)).expect("before the restart"), 3);
    }
    server.stop();
    let server = PyServer::test_server(port, &[]);
    assert_eq!(server.port(), port);
    for p in &mut retrying {
        p.set_max_retries(1);
        assert_eq!(p.call::<i64, _>("add", (2, 3)).expect("a retry reaches the new server"), 5);
    }
    for p in &mut reconnecting {
        p.reconnect(1).expect("reconnect");
        assert_eq!(p.call::<i64, _>("add", (3, 4)).expect("after reconnect"), 7);
    }
    // Without retries the first call fails as Pyro's does, and the next one connects again.
    let result = plain.call::<i64, _>("add", (1, 1));
    assert!(matches!(result, Err(ProxyError::ConnectionClosed)), "{result:?}");
    assert_eq!(plain.call::<i64, _>("add", (1, 1)).expect("the call after"), 2);
    // A server that is gone: a connect error naming the place, not retried.
    drop(server);
    let mut gone = proxy(&format!("PYRO:proxy.test@127.0.0.1:{port}"), Serializer::Json);
    gone.set_max_retries(3);
    match gone.call::<i64, _>("add", (1, 1)) {
        Err(ProxyError::Connect { location, .. }) => assert_eq!(location, format!("127.0.0.1:{port}")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_slow_call_times_out_and_the_proxy_recovers() {
    let server = PyServer::test_server(0, &[]);
    for serializer in Serializer::ALL {
        let mut p = proxy(&server.uri, serializer);
        timeout_then_recover(&mut p, |p| p.call::<Value, _>("slow", (1.0,)), serializer);
        p.set_timeout(Some(Duration::from_secs(5)));
        assert_eq!(p.call::<f64, _>("slow", (0.05,)).expect("a slow call within the timeout"), 0.05);
    }
}

#[test]
fn sixteen_threads_each_with_its_own_proxy_against_python() {
    let server = PyServer::test_server(0, &[]);
    sixteen_threads(&server.uri, |p, t, i| Ok(p.call::<i64, _>("add", (t, i))? == t + i));
}

#[test]
fn handshake_data_reaches_the_daemon_and_its_answer_comes_back() {
    let server = PyServer::test_server(0, &[]);
    for serializer in Serializer::ALL {
        let mut p = proxy(&server.uri, serializer);
        let data = dict(&[("token", s(&format!("secret {serializer}"))), ("n", Value::Int(3))]);
        p.set_handshake(data.clone());
        p.bind().expect("bind");
        assert_eq!(p.handshake_response(), Some(dict(&[("welcome", data.clone())])), "{serializer}");
        assert_eq!(p.call_value("last_handshake", &[], &[]).expect("last_handshake"), data, "{serializer}");

        let mut refused = proxy(&server.uri, serializer);
        refused.set_handshake(s("reject me"));
        match refused.bind() {
            Err(ProxyError::Rejected { location, reason }) => {
                assert_eq!(location, server.uri.split('@').nth(1).expect("a location"), "{serializer}");
                assert!(reason.contains("handshake refused: reject me"), "{serializer}: {reason}");
            }
            other => panic!("{serializer}: {other:?}"),
        }
        assert!(!refused.is_connected());
    }
    // An object the daemon does not know is refused at connect time as well.
    let unknown = server.uri.replace("proxy.test", "no.such.object");
    match proxy(&unknown, Serializer::Serpent).bind() {
        Err(ProxyError::Rejected { reason, .. }) => assert_eq!(reason, "unknown object"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn correlation_id_and_annotations_travel_both_ways() {
    let server = PyServer::test_server(0, &[]);
    let request = AnnotationId::new(*b"XREQ").expect("4 letters");
    let response = AnnotationId::new(*b"XRSP").expect("4 letters");
    for (n, serializer) in Serializer::ALL.into_iter().enumerate() {
        let mut p = proxy(&server.uri, serializer);
        let id: [u8; 16] = std::array::from_fn(|i| u8::try_from((i * 17 + n) % 256).expect("a byte"));
        p.set_correlation_id(Some(id));
        assert_eq!(p.call_value("correlation", &[], &[]).expect("correlation"), s(&hex(&id)), "{serializer}");
        p.set_annotations(vec![(request, b"ping".to_vec())]);
        let received = p.call_value("annotations", &[], &[]).expect("annotations");
        assert_eq!(received.get("XREQ"), Some(&s(&hex(b"ping"))), "{serializer}: {received:?}");
        assert!(
            p.response_annotations().contains(&(response, b"pongping".to_vec())),
            "{serializer}: {:?}",
            p.response_annotations()
        );
        // Another call without them: the daemon's answer carries none of ours.
        p.set_annotations(Vec::new());
        let received = p.call_value("annotations", &[], &[]).expect("annotations");
        assert_eq!(received.get("XREQ"), None, "{serializer}");
        assert!(p.response_annotations().contains(&(response, b"pong".to_vec())), "{serializer}");
        p.set_correlation_id(None);
        let random = p.call_value("correlation", &[], &[]).expect("correlation");
        assert_ne!(random, s(&hex(&id)), "{serializer}: the daemon makes up its own");
    }
}

#[test]
fn messages_over_the_size_limit_are_refused_both_ways() {
    let server = PyServer::test_server(0, &[]);
    for serializer in Serializer::ALL {
        let mut p = proxy(&server.uri, serializer);
        p.set_max_message_size(1000);
        assert_eq!(p.call::<String, _>("big", (10,)).expect("a small reply"), "x".repeat(10), "{serializer}");
        // Too large to send: refused before anything is written, the connection stays.
        let result = p.call::<String, _>("echo", ("y".repeat(5000),));
        assert!(matches!(result, Err(ProxyError::Protocol(_))), "{serializer}: {result:?}");
        assert!(p.is_connected(), "{serializer}");
        // Too large to receive: refused from its header, the connection is closed.
        let result = p.call::<String, _>("big", (5000,));
        match result {
            Err(ProxyError::Receive(e)) => assert!(e.to_string().contains("max_message_size"), "{serializer}: {e}"),
            other => panic!("{serializer}: {other:?}"),
        }
        assert!(!p.is_connected(), "{serializer}");
        assert_eq!(p.call::<String, _>("big", (3,)).expect("connects again"), "xxx", "{serializer}");
    }
}

#[test]
fn compressed_messages_both_ways() {
    // Pyro reads PYRO_COMPRESSION from the environment: the daemon compresses its replies.
    let server = PyServer::test_server(0, &[("PYRO_COMPRESSION", "true")]);
    for serializer in Serializer::ALL {
        let mut p = proxy(&server.uri, serializer);
        p.set_compression(true);
        let text = "compress me ".repeat(2000);
        let back: String = p.call("echo", (&text,)).expect("echo");
        assert_eq!(back, text, "{serializer}");
        let items: Vec<i64> = p.call("count", (500,)).expect("count");
        assert_eq!(items.len(), 500, "{serializer}");
    }
}

/// Our echo server on 127.0.0.1 with the server type given, `slow()` taking `slow`.
fn our_echo(server_type: ServerType, slow: Duration) -> EchoDaemon {
    let config = DaemonConfig { host: "127.0.0.1".into(), server_type, ..DaemonConfig::default() };
    EchoDaemon::start(config, OBJECT_ID, Some(slow))
}
