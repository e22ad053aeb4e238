//! One `pyro5_std::Proxy` shared by many threads, against Python's daemon and ours: every
//! result reaches its caller, a call that times out leaves the connection to the others,
//! streams and batches run beside plain calls, and Python's one-owner rule where asked for.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pyro5_interop_tests::echo_daemon::{EchoDaemon, PythonEchoServer, PythonTestServer};
use pyro5_std::core::ser::value::Value;
use pyro5_std::{Proxy, ProxyError, Serializer};

const THREADS: usize = 32;
const CALLS: usize = 25;

fn proxy(uri: &str, serializer: Serializer) -> Proxy {
    let mut proxy = Proxy::new(uri).expect("uri");
    proxy.set_serializer(serializer);
    proxy.set_timeout(Some(Duration::from_secs(20)));
    proxy
}

/// 32 threads call `echo` through one proxy at once; each gets its own values back.
fn threads_share(uri: &str, what: &str) {
    for serializer in Serializer::ALL {
        let echo = proxy(uri, serializer);
        let done = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (echo, done) = (&echo, &done);
                s.spawn(move || {
                    for i in 0..CALLS {
                        let sent = format!("thread {t} call {i}");
                        let back: String =
                            echo.call("echo", (&sent,)).unwrap_or_else(|e| panic!("{what} {serializer}: {e}"));
                        assert_eq!(back, sent, "{what} {serializer}: a reply reached another caller");
                        let list = echo
                            .call_value("echo", &[Value::List(vec![Value::from(t as i64), Value::from(i as i64)])], &[])
                            .unwrap_or_else(|e| panic!("{what} {serializer}: {e}"));
                        assert_eq!(list, Value::List(vec![Value::from(t as i64), Value::from(i as i64)]));
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(done.load(Ordering::Relaxed), THREADS * CALLS, "{what} {serializer}");
        assert!(echo.is_connected(), "{what} {serializer}: still on its connection");
    }
}

#[test]
fn thirty_two_threads_share_one_proxy_with_pythons_daemon() {
    let server = PythonEchoServer::start(&[]);
    threads_share(&server.uri, "Python's echo server");
}

#[test]
fn thirty_two_threads_share_one_proxy_with_our_daemon() {
    let server = EchoDaemon::on_localhost("test.echoserver", None);
    threads_share(&server.uri, "our echo server");
}

#[test]
fn a_call_that_timed_out_leaves_the_connection_to_the_next_calls() {
    let server = PythonTestServer::start();
    let uri = server.uri.clone();
    for serializer in Serializer::ALL {
        let mut p = proxy(&uri, serializer);
        p.set_handshake(Value::from("first"));
        p.set_keep_connection_on_timeout(true);
        p.set_timeout(Some(Duration::from_millis(200)));
        match p.call::<f64, _>("slow", (0.6,)) {
            Err(ProxyError::Timeout) => {}
            other => panic!("{serializer}: {other:?}"),
        }
        assert!(p.is_connected(), "{serializer}: kept open");
        // A new connection would send this handshake: the daemon would record it.
        p.set_handshake(Value::from("second"));
        p.set_timeout(Some(Duration::from_secs(10)));
        // The late reply of slow() comes first and is dropped; this call gets its own.
        let back: String = p.call("echo", ("after",)).expect("echo after the timeout");
        assert_eq!(back, "after", "{serializer}");
        let handshake: Value = p.call("last_handshake", ()).expect("last_handshake");
        assert_eq!(handshake, Value::from("first"), "{serializer}: the same connection all along");
    }
    // Our daemon: slow() takes 600 ms.
    let ours = EchoDaemon::on_localhost("test.echoserver", Some(Duration::from_millis(600)));
    let mut p = proxy(&ours.uri, Serializer::Serpent);
    p.set_keep_connection_on_timeout(true);
    p.set_timeout(Some(Duration::from_millis(200)));
    assert!(matches!(p.call::<String, _>("slow", ()), Err(ProxyError::Timeout)));
    p.set_timeout(Some(Duration::from_secs(10)));
    let back: String = p.call("echo", ("after",)).expect("echo after the timeout");
    assert_eq!(back, "after");
}

#[test]
fn streams_and_batches_run_beside_plain_calls_on_a_shared_proxy() {
    let server = PythonTestServer::start();
    let uri = server.uri.clone();
    for serializer in Serializer::ALL {
        let p = proxy(&uri, serializer);
        std::thread::scope(|s| {
            for t in 0..12 {
                let p = &p;
                s.spawn(move || match t % 3 {
                    0 => {
                        // A whole stream, prefetched, while the others call.
                        let items: Vec<Value> = p
                            .call_iter("count", (40,))
                            .expect("count")
                            .prefetch(8)
                            .collect::<Result<_, _>>()
                            .unwrap_or_else(|e| panic!("{serializer}: {e}"));
                        assert_eq!(items, (0..40).map(Value::from).collect::<Vec<_>>(), "{serializer}");
                        // One stopped early: closed on the daemon.
                        let mut early = p.call_iter("count", (1000,)).expect("count").prefetch(4);
                        assert_eq!(early.next().expect("item").expect("item"), Value::from(0));
                    }
                    1 => {
                        let mut batch = p.batch();
                        for n in 0..10 {
                            batch.call("echo", vec![Value::from(t * 100 + n)], vec![]);
                        }
                        let results = batch.run().unwrap_or_else(|e| panic!("{serializer}: {e}"));
                        let expected: Vec<_> = (0..10).map(|n| Ok(Value::from(t * 100 + n))).collect();
                        assert_eq!(results, expected, "{serializer}");
                    }
                    _ => {
                        for n in 0..30 {
                            let back: i64 = p.call("echo", (n,)).expect("echo");
                            assert_eq!(back, n);
                        }
                    }
                });
            }
        });
        // Every stream ended or was closed: none is left open on the daemon.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let open: i64 = p.call("stream_count", ()).expect("stream_count");
            if open == 0 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{serializer}: {open} streams left open");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn streams_and_batches_run_beside_plain_calls_on_a_shared_proxy_with_our_daemon() {
    let server = EchoDaemon::on_localhost("test.echoserver", None);
    for serializer in Serializer::ALL {
        let p = proxy(&server.uri, serializer);
        std::thread::scope(|s| {
            for t in 0..12i64 {
                let p = &p;
                s.spawn(move || {
                    for round in 0..10 {
                        match (t + round) % 3 {
                            0 => {
                                let items: Vec<Value> = p
                                    .call_iter("generator", ())
                                    .expect("generator")
                                    .prefetch(4)
                                    .collect::<Result<_, _>>()
                                    .unwrap_or_else(|e| panic!("{serializer}: {e}"));
                                assert_eq!(items, ["one", "two", "three"].map(Value::from), "{serializer}");
                                let mut early = p.call_iter("generator", ()).expect("generator");
                                assert_eq!(early.next().expect("item").expect("item"), Value::from("one"));
                            }
                            1 => {
                                let mut batch = p.batch();
                                for n in 0..5 {
                                    batch.call("echo", vec![Value::from(t * 100 + n)], vec![]);
                                }
                                batch.call("error", vec![], vec![]);
                                let results = match batch.run() {
                                    // marshal cannot carry the exception wrapper: Python's
                                    // daemon (and ours) answer the whole batch with the error.
                                    Err(ProxyError::Remote(e)) if serializer == Serializer::Marshal => {
                                        assert_eq!(e.message(), "unmarshallable object");
                                        continue;
                                    }
                                    other => other.unwrap_or_else(|e| panic!("{serializer}: {e}")),
                                };
                                assert_eq!(results.len(), 6, "{serializer}");
                                for (n, result) in results[..5].iter().enumerate() {
                                    assert_eq!(result, &Ok(Value::from(t * 100 + n as i64)), "{serializer}");
                                }
                                let error = results[5].as_ref().expect_err("error() raised");
                                assert_eq!(error.class, "builtins.ValueError", "{serializer}");
                            }
                            _ => {
                                let back: i64 = p.call("echo", (t,)).expect("echo");
                                assert_eq!(back, t);
                            }
                        }
                    }
                });
            }
        });
    }
}

#[test]
fn only_the_owner_calls_when_asked_as_in_python() {
    let server = EchoDaemon::on_localhost("test.echoserver", None);
    let mut p = proxy(&server.uri, Serializer::Json);
    p.set_single_owner(true);
    let _: String = p.call("echo", ("mine",)).expect("the owner calls");
    std::thread::scope(|s| {
        s.spawn(|| {
            let err = p.call::<String, _>("echo", ("not mine",)).expect_err("another thread");
            assert!(matches!(err, ProxyError::NotOwner));
            assert!(err.to_string().starts_with("the calling thread is not the owner of this proxy"), "{err}");
            p.claim_ownership();
            let _: String = p.call("echo", ("now mine",)).expect("after claiming");
        });
    });
    assert!(matches!(p.call::<String, _>("echo", ("x",)), Err(ProxyError::NotOwner)));
}

#[test]
fn a_proxy_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Proxy>();
}
