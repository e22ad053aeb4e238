//! Serialized blobs (Pyro's `SerializedBlob`, KEEPSERIALIZED) with the real Python Pyro5
//! (tests/python/blob_peer.py), as in Pyro5's blob-dispatch example: a Python client sends
//! blobs through a dispatcher that does not decode them to listeners that do. The same
//! Python client runs against Python's dispatcher and against ours (an `#[expose]` method
//! taking a `SerializedBlob`, passing it on with `Proxy::call_blob`, on the thread and
//! multiplex daemons and through the async proxy) with the same Python and Rust listeners,
//! in every serializer, and must print the same. Rust clients make new blobs
//! (`call_new_blob`, std and async) for Python's dispatcher.

use std::process::Command;

use pyro5_interop_tests::blob::{Dispatcher, PythonPeer};
use pyro5_interop_tests::{python, workspace_root};
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::server::{PyException, VALUE_ERROR};
use pyro5_std::{Daemon, DaemonConfig, Proxy, SerializedBlob, Serializer, ServerType, expose};

const SERIALIZERS: [&str; 4] = ["serpent", "marshal", "json", "msgpack"];

/// Reads the blobs it gets: who it is, the blob's info, its data.
struct Listener;

#[expose(class = "blobtest.Listener")]
impl Listener {
    fn process_blob(&self, blob: SerializedBlob<'_>) -> Result<(&'static str, Value, Value), PyException<String>> {
        let failed = |e: &dyn std::fmt::Display| PyException { class: VALUE_ERROR, message: e.to_string() };
        let info = blob.info::<Value>().map_err(|e| failed(&e))?;
        let data = blob.deserialized::<Value>().map_err(|e| failed(&e))?;
        Ok(("rust", info, data))
    }
}

/// What Python's blob client prints after sending its blobs through `dispatcher`, with
/// `listeners` ("topic=uri") registered there.
fn python_client(dispatcher: &str, serializer: &str, listeners: &[String]) -> String {
    let out = Command::new(python())
        .arg(workspace_root().join("tests/python/blob_peer.py"))
        .args(["client", dispatcher, serializer])
        .args(listeners)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(out.status.success(), "{serializer}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Our dispatcher on a std daemon of `server_type`, and our listener on a daemon of its own
/// (a multiplexed daemon serving the dispatcher's call could not serve the listener's at the
/// same time): their URIs, and the daemons to stop.
fn rust_peer(server_type: ServerType, through_async: bool) -> ([Daemon; 2], String, String) {
    let serve = |server_type| {
        let config = DaemonConfig { host: "127.0.0.1".into(), server_type, ..DaemonConfig::default() };
        let daemon = Daemon::new(config).expect("bind");
        let serving = daemon.clone();
        std::thread::spawn(move || serving.request_loop());
        daemon
    };
    let daemons = [serve(server_type), serve(ServerType::Thread)];
    let dispatcher = Dispatcher::new(through_async);
    let dispatcher = daemons[0].register(dispatcher, Some("blob.dispatcher")).expect("register");
    let listener = daemons[1].register(Listener, Some("blob.listener")).expect("register");
    (daemons, dispatcher, listener)
}

#[test]
fn python_blobs_pass_through_our_dispatcher_as_through_pythons() {
    for (server_type, through_async) in
        [(ServerType::Thread, false), (ServerType::Multiplex, false), (ServerType::Thread, true)]
    {
        for serializer in SERIALIZERS {
            let (daemons, dispatcher, rust_listener) = rust_peer(server_type, through_async);
            let peer = PythonPeer::start(serializer);
            // Python's listener on "py", ours on "rs", both on "both"; "nobody" has none.
            let listeners = [
                format!("py={}", peer.listener),
                format!("rs={rust_listener}"),
                format!("both={}", peer.listener),
                format!("both={rust_listener}"),
            ];
            let theirs = python_client(&peer.dispatcher, serializer, &listeners);
            let ours = python_client(&dispatcher, serializer, &listeners);
            let case = format!("{server_type}, async proxy {through_async}, {serializer}");
            assert_eq!(ours, theirs, "{case}: through our dispatcher, then Python's");
            // Our listener read the data Python sent, whatever the serializer.
            let got: serde_json::Value = serde_json::from_str(&ours).expect("json");
            assert_eq!(got["rs"], serde_json::json!([["rust", "rs", [10, "twenty", {"thirty": 30}]]]), "{case}");
            // (Python's marshal serializer cannot send a user object as a blob's data.)
            if serializer != "marshal" {
                let data = serde_json::json!(["rust", "both", {"Data": [42, "hello world"]}]);
                assert_eq!(got["both"][1], data, "{case}");
            }
            assert_eq!(got["nobody"], serde_json::json!([]), "{case}");
            daemons.iter().for_each(Daemon::shutdown);
        }
    }
}

/// What a new blob of `[1, 2, 3]` on "both" brings back from Python's dispatcher, with
/// Python's listener and ours on it, in `serializer`.
fn expected_for_new_blob(serializer: &str) -> Value {
    // Python's `blob.deserialized()` unpacks a json call dict's keys: it reads "params".
    let python_data = if serializer == "json" { Value::Str("params".into()) } else { numbers() };
    Value::List(vec![
        Value::List(vec![Value::Str("python".into()), Value::Str("both".into()), python_data]),
        Value::List(vec![Value::Str("rust".into()), Value::Str("both".into()), numbers()]),
    ])
}

/// `value` with tuples as lists (which one a format gives back differs).
fn lists(value: &Value) -> Value {
    match value {
        Value::Tuple(items) | Value::List(items) => Value::List(items.iter().map(lists).collect()),
        other => other.clone(),
    }
}

fn numbers() -> Value {
    Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
}

#[test]
fn rust_clients_make_new_blobs_for_pythons_dispatcher() {
    let (daemons, _, rust_listener) = rust_peer(ServerType::Thread, false);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    for serializer in SERIALIZERS {
        let peer = PythonPeer::start(serializer);
        let format: Serializer = serializer.parse().expect("a serializer");
        let mut dispatcher = Proxy::new(&peer.dispatcher).expect("uri");
        dispatcher.set_serializer(format);
        for uri in [&peer.listener, &rust_listener] {
            let listener = Proxy::new(uri).expect("uri");
            dispatcher.call::<(), _>("register", ("both", listener)).expect("register");
        }
        let data = vec![1, 2, 3];
        let got: Value = dispatcher.call_new_blob("process_blob", "both", &data).expect("through Python's dispatcher");
        assert!(lists(&got).is_identical(&expected_for_new_blob(serializer)), "{serializer}: {got:?}");
        let config = pyro5_std::Config { serializer: format, ..pyro5_std::Config::default() };
        let dispatcher = pyro5_tokio::Proxy::with_config(&peer.dispatcher, &config).expect("uri");
        let got: Value = runtime
            .block_on(dispatcher.call_new_blob("process_blob", "both", &data))
            .expect("through Python's dispatcher, async");
        assert!(lists(&got).is_identical(&expected_for_new_blob(serializer)), "{serializer}, async: {got:?}");
    }
    daemons.iter().for_each(Daemon::shutdown);
}

/// Our dispatcher refuses what is not a blob, as a Python dispatcher fails reading `.info`
/// of it: an error the Python client sees, and the daemon goes on.
#[test]
fn an_ordinary_argument_where_a_blob_is_expected_is_an_error() {
    let (daemons, dispatcher, _) = rust_peer(ServerType::Thread, false);
    let proxy = Proxy::new(&dispatcher).expect("uri");
    let refused = proxy.call::<Value, _>("process_blob", ("not a blob",));
    assert!(matches!(refused, Err(pyro5_std::ProxyError::Remote(_))), "{refused:?}");
    let still: Vec<Value> = proxy.call_new_blob("process_blob", "nobody", &"data").expect("the next call");
    assert!(still.is_empty());
    daemons.iter().for_each(Daemon::shutdown);
}
