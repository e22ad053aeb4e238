//! The async proxy against the real Python Pyro5 (its echo server and
//! `tests/python/proxy_test_server.py`) and against our daemon, in every serializer: every
//! kind of call, a thousand tasks calling through one proxy at once, calls given up by
//! dropping their futures, streams with prefetch and early drop, batches, timeouts, and a
//! daemon restarted under a proxy.

use std::collections::BTreeMap;
use std::future::poll_fn;
use std::pin::Pin;
use std::process::Child;
use std::time::{Duration, Instant};

use futures_core::Stream;
use pyro5_interop_tests::echo_daemon::{
    EchoDaemon, PythonEchoServer, PythonTestServer, other_transports, start_server_process,
};
use pyro5_interop_tests::values::{dict, kw, remote, s};
use pyro5_interop_tests::{python, workspace_root};
use pyro5_std::core::ser::value::Value;
use pyro5_std::echo::OBJECT_ID;
use pyro5_std::{Daemon, DaemonConfig};
use pyro5_tokio::{Proxy, ProxyError, Serializer};

const ERROR_TEXT: &str = "this is the generated error from echoserver echo() method";

fn proxy(uri: &str, serializer: Serializer) -> Proxy {
    let mut p = Proxy::new(uri).expect("a valid URI");
    p.set_serializer(serializer);
    p.set_timeout(Some(Duration::from_secs(20)));
    p
}

/// The next item of a stream.
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

/// Every item of a stream, or its first error.
async fn collect<S: Stream<Item = Result<Value, ProxyError>> + Unpin>(mut stream: S) -> Result<Vec<Value>, ProxyError> {
    let mut items = Vec::new();
    while let Some(item) = next(&mut stream).await {
        items.push(item?);
    }
    Ok(items)
}

/// Wait up to `limit` for `check` to hold.
async fn eventually<F: std::future::Future<Output = bool>>(limit: Duration, what: &str, mut check: impl FnMut() -> F) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn tuple_as(serializer: Serializer, items: Vec<Value>) -> Value {
    match serializer {
        Serializer::Serpent | Serializer::Marshal => Value::Tuple(items),
        Serializer::Json | Serializer::Msgpack => Value::List(items),
    }
}

/// Every kind of call against an echo server (Python's, or ours when `ours` is given).
async fn echo_checks(uri: &str, serializer: Serializer, ours: Option<&Daemon>) {
    let ctx = format!("{serializer} against {}", if ours.is_some() { "our daemon" } else { "Python" });
    let echo = proxy(uri, serializer);

    let meta = echo.bind().await.unwrap_or_else(|e| panic!("{ctx}: bind: {e}"));
    for m in ["echo", "error", "generator", "slow", "oneway_echo", "oneway_slow"] {
        assert!(meta.methods.contains(m), "{ctx}: {m} missing from {meta:?}");
    }
    assert_eq!(meta.oneway.iter().map(String::as_str).collect::<Vec<_>>(), ["oneway_echo", "oneway_slow"], "{ctx}");
    assert_eq!(echo.handshake_response(), Some(s("hello")), "{ctx}");

    // Positional and keyword arguments, typed.
    let back: (i64, String, Vec<f64>) = echo.call("echo", ((7, "seven", vec![1.5, -2.25]),)).await.expect("echo");
    assert_eq!(back, (7, "seven".to_string(), vec![1.5, -2.25]), "{ctx}");
    let mut kwargs = BTreeMap::new();
    kwargs.insert("message", vec![1u8, 2, 3]);
    let back: Vec<u8> = echo.call_kw("echo", (), Some(&kwargs)).await.expect("echo kwargs");
    assert_eq!(back, [1, 2, 3], "{ctx}");

    // Dynamic values.
    let tuple = vec![Value::Int(1), s("two")];
    let back = echo.call_value("echo", &[Value::Tuple(tuple.clone())], &[]).await.expect("echo tuple");
    assert_eq!(back, tuple_as(serializer, tuple), "{ctx}");
    let back = echo.call_value("echo", &[], &kw(&[("message", s("by name"))])).await.expect("echo kwargs");
    assert_eq!(back, s("by name"), "{ctx}");

    // The remote exception.
    let e = remote(echo.call::<Value, _>("error", ()).await);
    assert_eq!((e.class.as_str(), e.args.as_slice()), ("builtins.ValueError", &[s(ERROR_TEXT)][..]), "{ctx}");
    assert_eq!(e.traceback.first().map(String::as_str), Some("Traceback (most recent call last):\n"), "{ctx}");

    // The property.
    assert!(!echo.get_attr::<bool>("verbose").await.expect("get verbose"), "{ctx}");
    echo.set_attr("verbose", true).await.expect("set verbose");
    assert!(echo.get_attr::<bool>("verbose").await.expect("get verbose"), "{ctx}");
    echo.set_attr("verbose", false).await.expect("set verbose back");

    // The generator: as a stream, collected by call, and dropped after one item.
    let items = collect(echo.call_iter("generator", ()).await.expect("generator")).await.expect("items");
    assert_eq!(items, [s("one"), s("two"), s("three")], "{ctx}");
    let all: Vec<String> = echo.call("generator", ()).await.expect("a generator collected by call");
    assert_eq!(all, ["one", "two", "three"], "{ctx}");
    {
        let mut stream = echo.call_iter("generator", ()).await.expect("generator").prefetch(1);
        assert_eq!(next(&mut stream).await.map(|r| r.expect("first item")), Some(s("one")), "{ctx}");
        if let Some(daemon) = ours {
            assert_eq!(daemon.stream_count(), 1, "{ctx}: the open stream");
        }
    }
    if let Some(daemon) = ours {
        eventually(Duration::from_secs(5), "the dropped stream is closed", || async { daemon.stream_count() == 0 })
            .await;
    }
    assert!(matches!(echo.call_iter("echo", (1,)).await, Err(ProxyError::NotAnIterator { .. })), "{ctx}");

    // Batches: results in order; an error ends them.
    let mut batch = echo.batch();
    batch.call("echo", vec![Value::Int(1)], vec![]).call("echo", vec![], kw(&[("message", s("two"))]));
    assert_eq!(batch.len(), 2);
    let results = batch.run().await.expect("batch");
    assert_eq!(results, [Ok(Value::Int(1)), Ok(s("two"))], "{ctx}");
    let mut batch = echo.batch();
    batch.call("echo", vec![Value::Int(1)], vec![]).call("error", vec![], vec![]).call("echo", vec![], vec![]);
    match (serializer, batch.run().await) {
        (Serializer::Marshal, Err(ProxyError::Remote(e))) => {
            assert_eq!(e.to_string(), "builtins.ValueError: unmarshallable object", "{ctx}");
        }
        (_, Ok(results)) => {
            assert_eq!(results.len(), 2, "{ctx}: the error ends the batch: {results:?}");
            assert_eq!(results[0], Ok(Value::Int(1)), "{ctx}");
            let e = results[1].as_ref().expect_err("the second call raised");
            assert_eq!((e.class.as_str(), e.message().as_str()), ("builtins.ValueError", ERROR_TEXT), "{ctx}");
        }
        (_, other) => panic!("{ctx}: batch with an error: {other:?}"),
    }
    let mut batch = echo.batch();
    batch.call("oneway_echo", vec![s("x")], vec![]).call("echo", vec![s("y")], vec![]);
    batch.run_oneway().await.expect("oneway batch");

    // Oneway from the metadata: no waiting, not even for a slow one.
    let start = Instant::now();
    let none: Value = echo.call("oneway_slow", ()).await.expect("oneway slow");
    assert_eq!(none, Value::None, "{ctx}");
    assert_eq!(echo.call::<i64, _>("echo", (6,)).await.expect("a call after a slow oneway"), 6, "{ctx}");
    assert!(start.elapsed() < Duration::from_secs(2), "{ctx}: a oneway call waited: {:?}", start.elapsed());

    // Refused before anything is sent; a result of another type leaves the connection usable.
    assert!(matches!(echo.call::<Value, _>("nope", ()).await, Err(ProxyError::NotExposed { .. })), "{ctx}");
    assert!(matches!(echo.get_attr::<Value>("nope").await, Err(ProxyError::NotExposed { .. })), "{ctx}");
    assert!(matches!(echo.call::<i64, _>("echo", ("text",)).await, Err(ProxyError::Decode(_))), "{ctx}");
    echo.ping().await.expect("ping");
    assert!(echo.is_connected(), "{ctx}");
    echo.release();
    assert!(!echo.is_connected(), "{ctx}");
    assert_eq!(echo.call::<i64, _>("echo", (8,)).await.expect("a call after release connects again"), 8, "{ctx}");
}

/// Our echo server, its `slow()` taking `slow`.
fn our_echo(slow: Duration) -> EchoDaemon {
    EchoDaemon::on_localhost(OBJECT_ID, Some(slow))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_echo_server_answers_every_kind_of_call_in_every_serializer() {
    let server = PythonEchoServer::start(&[]);
    for serializer in Serializer::ALL {
        echo_checks(&server.uri, serializer, None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_echo_server_answers_every_kind_of_call_in_every_serializer() {
    let ours = our_echo(Duration::from_secs(2));
    for serializer in Serializer::ALL {
        echo_checks(&ours.uri, serializer, Some(&ours.daemon)).await;
    }
}

/// `tasks` tasks each calling `echo` through clones of one proxy: every result is the
/// caller's own.
async fn concurrent_calls(uri: &str, serializer: Serializer, tasks: usize) {
    let echo = proxy(uri, serializer);
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|n| {
            let echo = echo.clone();
            tokio::spawn(async move {
                let sent = (n as i64, format!("call {n}"));
                let back: (i64, String) = echo.call("echo", (&sent,)).await.expect("echo");
                assert_eq!(back, sent, "{serializer}: a reply went to another caller");
                assert!(echo.in_flight() <= pyro5_std::core::client::MAX_IN_FLIGHT);
                n
            })
        })
        .collect();
    for (n, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.await.expect("the task ran"), n);
    }
    assert_eq!(echo.in_flight(), 0, "{serializer}");
    assert!(echo.is_connected(), "{serializer}: one connection did it all");
    eprintln!("{serializer}: {tasks} concurrent calls in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tasks_call_through_one_proxy_against_python_and_ours() {
    let python = PythonEchoServer::start(&[]);
    let ours = our_echo(Duration::from_secs(2));
    for serializer in Serializer::ALL {
        concurrent_calls(&python.uri, serializer, 1000).await;
        concurrent_calls(&ours.uri, serializer, 1000).await;
    }
}

/// A call whose future is dropped (a `tokio::time::timeout` around it) is given up: the
/// proxy goes on, the late reply is dropped, and calls of other tasks get their own
/// replies meanwhile.
async fn cancellation(p: &Proxy, slow: &str, slow_args: &[Value], ctx: &str) {
    assert_eq!(p.call::<i64, _>("echo", (1,)).await.expect("before"), 1, "{ctx}");
    let given_up = tokio::time::timeout(Duration::from_millis(80), p.call_value(slow, slow_args, &[])).await;
    assert!(given_up.is_err(), "{ctx}: the slow call did not wait: {given_up:?}");
    assert_eq!(p.in_flight(), 1, "{ctx}: the given-up call waits for its reply to drop it");
    // The daemon answers in order: this one comes after the slow one, and gets its own reply.
    assert_eq!(p.call::<i64, _>("echo", (2,)).await.expect("after a dropped call"), 2, "{ctx}");
    assert_eq!(p.in_flight(), 0, "{ctx}: the late reply was read and dropped");
    assert!(p.is_connected(), "{ctx}: a dropped call keeps the connection");

    // Tasks aborted mid-call among tasks that finish: every finished task has its own answer.
    let mut handles = Vec::new();
    for n in 0..12i64 {
        let p = p.clone();
        let args = slow_args.to_vec();
        let slow = slow.to_string();
        handles.push(tokio::spawn(async move {
            if n % 3 == 0 {
                p.call_value(&slow, &args, &[]).await.map(|_| -1)
            } else {
                p.call::<i64, _>("echo", (n,)).await
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    for (n, handle) in handles.iter().enumerate() {
        if n % 3 == 0 {
            handle.abort();
        }
    }
    for (n, handle) in handles.into_iter().enumerate() {
        match handle.await {
            Ok(result) => assert_eq!(result.expect("a call that was not aborted"), n as i64, "{ctx}"),
            Err(e) => assert!(e.is_cancelled() && n % 3 == 0, "{ctx}: task {n}: {e}"),
        }
    }
    assert_eq!(p.call::<i64, _>("echo", (3,)).await.expect("after aborted tasks"), 3, "{ctx}");
    eventually(Duration::from_secs(20), "every late reply dropped", || async { p.in_flight() == 0 }).await;
    assert!(p.is_connected(), "{ctx}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_call_future_leaves_the_proxy_usable() {
    let python = PythonTestServer::start();
    let ours = our_echo(Duration::from_millis(300));
    for serializer in Serializer::ALL {
        let p = proxy(&python.uri, serializer);
        cancellation(&p, "slow", &[Value::Float(0.3)], &format!("{serializer} against Python")).await;
        let p = proxy(&ours.uri, serializer);
        cancellation(&p, "slow", &[], &format!("{serializer} against ours")).await;
    }
}

/// How many item streams the Python test server's daemon holds open.
async fn open_streams(watcher: &Proxy) -> i64 {
    watcher.call("stream_count", ()).await.expect("stream_count")
}

async fn closed_generators(watcher: &Proxy) -> i64 {
    watcher.call("generators_closed", ()).await.expect("generators_closed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_come_in_order_with_prefetch_and_close_when_dropped() {
    let server = PythonTestServer::start();
    let watcher = proxy(&server.uri, Serializer::Serpent);
    for serializer in Serializer::ALL {
        let p = proxy(&server.uri, serializer);
        let base = open_streams(&watcher).await;
        for (n, prefetch) in [(0, 16), (1, 16), (5, 32), (100, 1), (100, 7), (1000, 32)] {
            let stream = p.call_iter("count", (n,)).await.expect("count").prefetch(prefetch);
            let items = collect(stream).await.expect("items");
            let expected: Vec<Value> = (0..n).map(Value::from).collect();
            assert_eq!(items, expected, "{serializer}: count({n}) with {prefetch} requests waiting");
            assert_eq!(p.call::<i64, _>("add", (n, 1)).await.expect("the connection goes on"), n + 1);
        }
        assert_eq!(p.in_flight(), 0, "{serializer}: the requests past the end were answered and dropped");
        assert_eq!(open_streams(&watcher).await, base, "{serializer}: finished streams are gone");

        // Dropped after 40 items, with 16 requests waiting.
        let closed_before = closed_generators(&watcher).await;
        {
            let mut stream = p.call_iter("count", (100_000,)).await.expect("count").prefetch(16);
            for i in 0..40 {
                assert_eq!(next(&mut stream).await.map(|r| r.expect("item")), Some(Value::from(i)), "{serializer}");
            }
            assert!(stream.stream_id().is_some());
            assert_eq!(open_streams(&watcher).await, base + 1, "{serializer}: one stream open");
        }
        eventually(Duration::from_secs(5), "the dropped stream is closed on the server", || async {
            open_streams(&watcher).await == base && closed_generators(&watcher).await == closed_before + 1
        })
        .await;
        assert_eq!(p.call::<i64, _>("add", (1, 1)).await.expect("the proxy still works"), 2, "{serializer}");
        eventually(Duration::from_secs(5), "the dropped requests' replies", || async { p.in_flight() == 0 }).await;

        // The future of an item dropped while it is waited for: the stream closes, the proxy
        // goes on.
        {
            let mut stream = p.call_iter("slow_count", (5, 0.3)).await.expect("slow_count").prefetch(1);
            let waited = tokio::time::timeout(Duration::from_millis(50), next(&mut stream)).await;
            assert!(waited.is_err(), "{serializer}: the item came too soon");
        }
        assert_eq!(p.call::<i64, _>("add", (2, 2)).await.expect("after a dropped item"), 4, "{serializer}");
        eventually(Duration::from_secs(5), "the half-read stream is closed on the server", || async {
            open_streams(&watcher).await == base
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_oneway_calls_and_attributes_against_the_python_test_server() {
    let server = PythonTestServer::start();
    for serializer in Serializer::ALL {
        let p = proxy(&server.uri, serializer);
        let i = Value::Int;
        let mut batch = p.batch();
        batch.call("add", vec![i(1)], vec![]).call("add", vec![i(1), i(2)], vec![]);
        batch.call("describe", vec![i(0)], kw(&[("c", i(9))]));
        let results = batch.run().await.expect("batch");
        assert_eq!(results.len(), 3, "{serializer}");
        assert_eq!(results[0], Ok(i(11)), "{serializer}");
        assert_eq!(results[1], Ok(i(3)), "{serializer}");
        assert_eq!(results[2].as_ref().ok().and_then(|d| d.get("c")), Some(&i(9)), "{serializer}");

        let mut batch = p.batch();
        batch.call("add", vec![i(1)], vec![]).call("fail", vec![s("in a batch"), i(3)], vec![]);
        match (serializer, batch.run().await) {
            (Serializer::Marshal, Err(ProxyError::Remote(e))) => {
                assert_eq!(e.to_string(), "builtins.ValueError: unmarshallable object");
            }
            (_, Ok(results)) => {
                let e = results[1].as_ref().expect_err("fail raised");
                assert_eq!(e.class, "__main__.CustomError", "{serializer}");
                assert_eq!(e.attribute("code"), Some(&i(3)), "{serializer}");
            }
            (_, other) => panic!("{serializer}: {other:?}"),
        }

        // `slow_record` is oneway by the object's metadata: the call returns before its
        // 0.6 s of sleep ran.
        p.call::<Value, _>("clear", ()).await.expect("clear");
        let start = Instant::now();
        let none: Value = p.call("slow_record", (0.6, serializer.name())).await.expect("slow_record");
        assert_eq!(none, Value::None);
        assert!(start.elapsed() < Duration::from_millis(450), "{serializer}: waited {:?}", start.elapsed());
        eventually(Duration::from_secs(5), "the oneway call ran", || async {
            p.call::<Vec<String>, _>("recorded", ()).await.expect("recorded") == [serializer.name()]
        })
        .await;

        // Properties.
        p.set_attr("value", 7).await.expect("set value");
        assert_eq!(p.get_attr::<i64>("value").await.expect("get value"), 7, "{serializer}");
        assert!(matches!(p.get_attr::<i64>("add").await, Err(ProxyError::NotExposed { .. })), "{serializer}");
        let e = remote(p.call::<Value, _>("fail", ("boom", 5)).await);
        assert_eq!(e.attribute("extra"), Some(&s("custom attribute")), "{serializer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_call_times_out_and_the_proxy_recovers() {
    let server = PythonTestServer::start();
    for serializer in Serializer::ALL {
        let mut p = proxy(&server.uri, serializer);
        p.set_timeout(Some(Duration::from_millis(300)));
        let start = Instant::now();
        assert!(matches!(p.call::<f64, _>("slow", (1.0,)).await, Err(ProxyError::Timeout)), "{serializer}");
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_millis(900),
            "{serializer}: {waited:?}"
        );
        assert!(!p.is_connected(), "{serializer}: a timeout closes the connection, as in Pyro");
        assert_eq!(p.call::<i64, _>("add", (1, 2)).await.expect("a new connection"), 3, "{serializer}");

        // Kept open: the late reply is dropped, the calls after it get theirs.
        p.set_keep_connection_on_timeout(true);
        assert!(matches!(p.call::<f64, _>("slow", (0.5,)).await, Err(ProxyError::Timeout)), "{serializer}");
        assert!(p.is_connected(), "{serializer}");
        assert_eq!(p.call::<i64, _>("add", (2, 2)).await.expect("on the same connection"), 4, "{serializer}");
        assert_eq!(p.in_flight(), 0, "{serializer}");

        // With a retry, a timed-out call is sent again on a new connection.
        let mut retried = proxy(&server.uri, serializer);
        retried.set_timeout(Some(Duration::from_millis(300)));
        retried.set_max_retries(1);
        let start = Instant::now();
        assert!(matches!(retried.call::<f64, _>("slow", (0.5,)).await, Err(ProxyError::Timeout)));
        assert!(start.elapsed() >= Duration::from_millis(600), "{serializer}: not retried: {:?}", start.elapsed());
        retried.set_timeout(None);
        assert_eq!(retried.call::<f64, _>("slow", (0.1,)).await.expect("no timeout"), 0.1, "{serializer}");
        retried.set_timeout(Some(Duration::from_millis(300)));
        retried.ping().await.expect("ping");
    }
}

/// The Python test server on a given port, killed when dropped.
struct TestServerOn(Child);

impl Drop for TestServerOn {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Python test server on `port` (0: a free one), and its URI.
fn test_server_on(port: u16) -> (TestServerOn, String) {
    let mut command = std::process::Command::new(python());
    command.arg(workspace_root().join("tests/python/proxy_test_server.py")).args(["--port", &port.to_string()]);
    let (child, uri) = start_server_process(command, "uri:", "the Python test server");
    (TestServerOn(child), uri)
}

fn port_of(uri: &str) -> u16 {
    uri.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a TCP URI")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_daemon_is_reached_again_by_retry_and_reconnect() {
    let (child, uri) = test_server_on(0);
    let port = port_of(&uri);
    let mut retrying: Vec<Proxy> = Serializer::ALL.iter().map(|s| proxy(&uri, *s)).collect();
    let reconnecting: Vec<Proxy> = Serializer::ALL.iter().map(|s| proxy(&uri, *s)).collect();
    let plain = proxy(&uri, Serializer::Serpent);
    for p in retrying.iter().chain(&reconnecting).chain([&plain]) {
        assert_eq!(p.call::<i64, _>("add", (1, 2)).await.expect("before the restart"), 3);
    }
    // A call waiting when the daemon goes fails as Pyro's does.
    let waiting = {
        let p = plain.clone();
        tokio::spawn(async move { p.call::<f64, _>("slow", (5.0,)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(child);
    let lost = waiting.await.expect("the task ran");
    assert!(matches!(lost, Err(ProxyError::ConnectionClosed)), "{lost:?}");
    let (child, again) = test_server_on(port);
    assert_eq!(again, uri);
    for p in &mut retrying {
        p.set_max_retries(1);
        assert_eq!(p.call::<i64, _>("add", (2, 3)).await.expect("a retry reaches the new server"), 5);
    }
    for p in &reconnecting {
        p.reconnect(1).await.expect("reconnect");
        assert_eq!(p.call::<i64, _>("add", (3, 4)).await.expect("after reconnect"), 7);
    }
    // Without retries: the reader saw the old connection close, the next call connects again.
    eventually(Duration::from_secs(5), "the lost connection is seen", || async { !plain.is_connected() }).await;
    assert_eq!(plain.call::<i64, _>("add", (1, 1)).await.expect("the call after"), 2);
    drop(child);
    // A daemon that is gone: a connect error naming the place.
    let mut gone = proxy(&uri, Serializer::Json);
    gone.set_max_retries(2);
    match gone.call::<i64, _>("add", (1, 1)).await {
        Err(ProxyError::Connect { location, .. }) => assert_eq!(location, format!("127.0.0.1:{port}")),
        other => panic!("{other:?}"),
    }
}

/// `echo(n)` for `n` in `0..64`, each from a task of its own through a clone of `p`, all at
/// once: every task gets its own number back (`what` names the case in a failure).
async fn echo_from_tasks(p: &Proxy, what: &str) {
    let handles: Vec<_> = (0..64i64)
        .map(|n| {
            let p = p.clone();
            tokio::spawn(async move { p.call::<i64, _>("echo", (n,)).await })
        })
        .collect();
    for (n, handle) in handles.into_iter().enumerate() {
        let back = handle.await.expect("the task ran").unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(back, n as i64, "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_restarted_daemon_is_reached_again() {
    let config = |port| DaemonConfig { host: "127.0.0.1".into(), port, ..DaemonConfig::default() };
    let first = EchoDaemon::start(config(0), OBJECT_ID, None);
    let port = port_of(&first.uri);
    let mut p = proxy(&first.uri, Serializer::Msgpack);
    p.set_max_retries(1);
    let sent: Vec<i64> = (0..32).collect();
    assert_eq!(p.call::<Vec<i64>, _>("echo", (&sent,)).await.expect("before"), sent);
    drop(first);
    let _second = EchoDaemon::start(config(port), OBJECT_ID, None);
    // Calls of several tasks that were on the lost connection: each retried on a new one.
    echo_from_tasks(&p, "reached again").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_reach_our_daemon_over_ipv6_and_unix_sockets() {
    for config in other_transports("tokio-proxy") {
        let server = EchoDaemon::start(config, OBJECT_ID, None);
        for serializer in Serializer::ALL {
            let p = proxy(&server.uri, serializer);
            echo_from_tasks(&p, &format!("{} in {serializer}", server.uri)).await;
            let items: Vec<String> = p.call("generator", ()).await.expect("generator");
            assert_eq!(items.len(), 3);
        }
    }
}

/// `PYRONAME:` and `PYROMETA:` URIs resolved through our name server (`pyro5_tokio::naming`;
/// more in `tests/naming.rs`); `bind` keeps the `PYRO:` URI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_resolved_through_the_name_server() {
    let ns = Daemon::new(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }).expect("bind");
    pyro5_std::naming::NameServer::new().serve(&ns).expect("serve the name server");
    let ns_port = ns.port().expect("a TCP port");
    let serving = ns.clone();
    let ns_thread = std::thread::spawn(move || serving.request_loop());
    let echo = our_echo(Duration::from_millis(10));
    let echo_uri = echo.uri.clone();
    tokio::task::spawn_blocking(move || {
        let mut registry = pyro5_std::locate::locate_ns(Some("127.0.0.1"), Some(ns_port)).expect("locate");
        registry.register_with_metadata(OBJECT_ID, &echo_uri, false, &["echo.tag".to_string()]).expect("register");
    })
    .await
    .expect("registered");
    for uri in [format!("PYRONAME:{OBJECT_ID}@127.0.0.1:{ns_port}"), format!("PYROMETA:echo.tag@127.0.0.1:{ns_port}")] {
        let p = proxy(&uri, Serializer::Json);
        assert_eq!(p.call::<String, _>("echo", ("by name",)).await.expect("by name"), "by name", "{uri}");
        p.bind().await.expect("bind");
        assert_eq!(p.uri(), echo.uri, "{uri}: bound to what it resolved to");
    }
    let missing = proxy(&format!("PYRONAME:nobody@127.0.0.1:{ns_port}"), Serializer::Serpent);
    let e = missing.call::<String, _>("echo", ("x",)).await.expect_err("unknown name");
    assert!(e.to_string().contains("unknown name: nobody"), "{e}");
    ns.shutdown();
    ns_thread.join().expect("the name server's thread").expect("its request loop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_data_correlation_id_and_annotations_travel_both_ways() {
    use pyro5_std::core::wire::AnnotationId;
    let server = PythonTestServer::start();
    let request = AnnotationId::new(*b"XREQ").expect("4 letters");
    let response = AnnotationId::new(*b"XRSP").expect("4 letters");
    for (n, serializer) in Serializer::ALL.into_iter().enumerate() {
        let mut p = proxy(&server.uri, serializer);
        let data = dict(&[("token", s(&format!("secret {serializer}"))), ("n", Value::Int(3))]);
        p.set_handshake(data.clone());
        p.bind().await.expect("bind");
        assert_eq!(p.handshake_response(), Some(dict(&[("welcome", data.clone())])), "{serializer}");
        assert_eq!(p.call_value("last_handshake", &[], &[]).await.expect("last_handshake"), data, "{serializer}");

        let mut refused = proxy(&server.uri, serializer);
        refused.set_handshake(s("reject me"));
        match refused.bind().await {
            Err(ProxyError::Rejected { location, reason }) => {
                assert_eq!(location, server.uri.split('@').nth(1).expect("a location"), "{serializer}");
                assert!(reason.contains("handshake refused: reject me"), "{serializer}: {reason}");
            }
            other => panic!("{serializer}: {other:?}"),
        }
        assert!(!refused.is_connected());

        let id: [u8; 16] = std::array::from_fn(|i| u8::try_from((i * 17 + n) % 256).expect("a byte"));
        p.set_correlation_id(Some(id));
        let hex_id = pyro5_interop_tests::hex(&id);
        assert_eq!(p.call_value("correlation", &[], &[]).await.expect("correlation"), s(&hex_id), "{serializer}");
        p.set_annotations(vec![(request, b"ping".to_vec())]);
        let received = p.call_value("annotations", &[], &[]).await.expect("annotations");
        assert_eq!(received.get("XREQ"), Some(&s(&pyro5_interop_tests::hex(b"ping"))), "{serializer}");
        assert!(p.response_annotations().contains(&(response, b"pongping".to_vec())), "{serializer}");
    }
    let unknown = server.uri.replace("proxy.test", "no.such.object");
    match proxy(&unknown, Serializer::Serpent).bind().await {
        Err(ProxyError::Rejected { reason, .. }) => assert_eq!(reason, "unknown object"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_compression_and_oneway_by_choice() {
    let server = PythonTestServer::start();
    for serializer in Serializer::ALL {
        let mut p = proxy(&server.uri, serializer);
        p.set_max_message_size(1000);
        assert_eq!(p.call::<String, _>("big", (10,)).await.expect("a small reply"), "x".repeat(10), "{serializer}");
        // Too large to send: refused before anything is written, the connection stays.
        let result = p.call::<String, _>("echo", ("y".repeat(5000),)).await;
        assert!(matches!(result, Err(ProxyError::Protocol(_))), "{serializer}: {result:?}");
        assert!(p.is_connected(), "{serializer}");
        // Too large to receive: refused from its header, the connection is closed.
        match p.call::<String, _>("big", (5000,)).await {
            Err(ProxyError::Receive(e)) => assert!(e.to_string().contains("max_message_size"), "{serializer}: {e}"),
            other => panic!("{serializer}: {other:?}"),
        }
        assert!(!p.is_connected(), "{serializer}");
        assert_eq!(p.call::<String, _>("big", (3,)).await.expect("connects again"), "xxx", "{serializer}");

        let mut p = proxy(&server.uri, serializer);
        p.set_compression(true);
        let text = "compress me ".repeat(2000);
        assert_eq!(p.call::<String, _>("echo", (&text,)).await.expect("echo"), text, "{serializer}");

        // A method made oneway on this side: no waiting for it.
        p.set_oneway("slow");
        let start = Instant::now();
        assert_eq!(p.call::<Value, _>("slow", (1.0,)).await.expect("oneway slow"), Value::None, "{serializer}");
        assert!(start.elapsed() < Duration::from_millis(500), "{serializer}: waited {:?}", start.elapsed());
        assert_eq!(p.in_flight(), 0, "{serializer}: nothing to wait for");
    }
}

/// A connection the daemon closed while the proxy was idle (`COMMTIMEOUT`): the next call
/// fails with `ConnectionClosed` as Python's proxy's does, the one after connects again; with
/// `MAX_RETRIES` the retry does it at once. Python's proxy, same daemon, same sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_by_the_idle_daemon_fails_the_next_call_as_in_python() {
    let config = DaemonConfig {
        host: "127.0.0.1".into(),
        comm_timeout: Some(Duration::from_millis(300)),
        ..DaemonConfig::default()
    };
    let daemon = Daemon::new(config).expect("bind");
    let uri = daemon.register_concurrent(pyro5_std::echo::EchoServer::new(), Some(OBJECT_ID)).expect("register");
    let serving = daemon.clone();
    let server = std::thread::spawn(move || serving.request_loop());

    let python = std::process::Command::new(python())
        .arg("-c")
        .arg(
            "import sys, time, Pyro5.api, Pyro5.errors\n\
             p = Pyro5.api.Proxy(sys.argv[1])\n\
             print(p.echo(1))\n\
             time.sleep(1.0)\n\
             for _ in range(2):\n\
             \x20   try:\n\
             \x20       print(p.echo(2))\n\
             \x20   except Pyro5.errors.ConnectionClosedError:\n\
             \x20       print('closed')\n",
        )
        .arg(&uri)
        .output()
        .expect("run python");
    assert_eq!(String::from_utf8_lossy(&python.stdout).split_whitespace().collect::<Vec<_>>(), ["1", "closed", "2"]);

    let p = proxy(&uri, Serializer::Serpent);
    assert_eq!(p.call::<i64, _>("echo", (1,)).await.unwrap(), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(matches!(p.call::<i64, _>("echo", (2,)).await, Err(ProxyError::ConnectionClosed)));
    assert_eq!(p.call::<i64, _>("echo", (2,)).await.unwrap(), 2);
    let mut retrying = proxy(&uri, Serializer::Serpent);
    retrying.set_max_retries(1);
    assert_eq!(retrying.call::<i64, _>("echo", (3,)).await.unwrap(), 3);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(retrying.call::<i64, _>("echo", (4,)).await.expect("the retry connects again"), 4);
    daemon.shutdown();
    server.join().expect("the loop ends").expect("served");
}

/// Raw calls: each reply's payload as the daemon sent it (Python's and ours, json and
/// serpent): a value, an exception, a property, a oneway call, a stream (closed on the
/// daemon when dropped) and a name the object does not expose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_calls_give_the_reply_payloads_as_sent() {
    use pyro5_std::core::ser::to_output;
    use pyro5_std::core::wire::SerializerId;
    use pyro5_tokio::RawReply;
    let python = PythonEchoServer::start(&[]);
    let ours = our_echo(Duration::from_secs(2));
    for (uri, who) in [(python.uri.as_str(), "python"), (ours.uri.as_str(), "ours")] {
        for (serializer, format) in
            [(Serializer::Json, SerializerId::Json), (Serializer::Serpent, SerializerId::Serpent)]
        {
            let ctx = format!("{who} {serializer:?}");
            let p = proxy(uri, serializer);
            let decode = |bytes: &[u8]| pyro5_interop_tests::daemon_harness::decode(format, bytes).expect("decodes");
            let text = s("hi ä");
            match p.call_raw("echo", &[], &kw(&[("message", text.clone())])).await {
                Ok(RawReply::Value { format: f, bytes }) => {
                    assert_eq!((f, decode(&bytes)), (format, text.clone()), "{ctx}");
                    if format == SerializerId::Json && who == "python" {
                        assert_eq!(bytes, "\"hi ä\"".as_bytes(), "{ctx}: Python's json bytes as they came");
                    }
                    let mut ours = Vec::new();
                    to_output(format, &text, &mut ours).expect("serialize");
                    assert_eq!(decode(&ours), decode(&bytes), "{ctx}");
                }
                other => panic!("{ctx}: echo gave {other:?}"),
            }
            match p.call_raw("error", &[], &[]).await {
                Ok(RawReply::Exception { format: f, bytes }) => {
                    assert_eq!(f, format, "{ctx}");
                    let Value::Dict(items) = decode(&bytes) else { panic!("{ctx}: no exception dict") };
                    assert!(items.contains(&(s("__class__"), s("builtins.ValueError"))), "{ctx}: {items:?}");
                    assert!(
                        items.contains(&(s("args"), tuple_as(serializer, vec![s(ERROR_TEXT)]))),
                        "{ctx}: {items:?}"
                    );
                }
                other => panic!("{ctx}: error gave {other:?}"),
            }
            match p.get_attr_raw("verbose").await {
                Ok(RawReply::Value { bytes, .. }) => assert_eq!(decode(&bytes), Value::Bool(false), "{ctx}"),
                other => panic!("{ctx}: verbose gave {other:?}"),
            }
            let oneway = p.call_raw("oneway_echo", &[s("x")], &[]).await;
            assert!(matches!(oneway, Ok(RawReply::Oneway)), "{ctx}: {oneway:?}");
            let mut forced = p.clone();
            forced.set_oneway("echo");
            let oneway = forced.call_raw("echo", &[s("x")], &[]).await;
            assert!(matches!(oneway, Ok(RawReply::Oneway)), "{ctx}: {oneway:?}");
            match p.call_raw("generator", &[], &[]).await {
                Ok(RawReply::Stream(stream)) => {
                    assert_eq!(collect(*stream).await.expect("items"), vec![s("one"), s("two"), s("three")], "{ctx}");
                }
                other => panic!("{ctx}: generator gave {other:?}"),
            }
            let missing = p.call_raw("nope", &[], &[]).await;
            assert!(matches!(missing, Err(ProxyError::NotExposed { .. })), "{ctx}: {missing:?}");
            // The proxy goes on as before.
            assert_eq!(p.call::<String, _>("echo", ("after",)).await.expect("echo"), "after", "{ctx}");
        }
    }
}
