//! Arguments holding classes Pyro refuses to deserialize, with the real Python Pyro5
//! (tests/python/refused_classes.py): a Python client passes an object of its own class
//! (`__main__.Secret`), one of a class Pyro does not know (`mymod.Thing`), one by keyword,
//! and their class dicts nested in a list and a dict, to methods taking a `Proxy`, a dict of
//! ints and an `i64`, and beside a bad `i64` to one that takes the object as any `Value`, in
//! every serializer; the exception class and text it sees from a Rust `#[expose]` object on
//! the std daemon are those it sees from a Python daemon, and good arguments still work.

use std::collections::BTreeMap;
use std::process::Command;

use pyro5_interop_tests::{PythonPeer, python, workspace_root};
use pyro5_std::core::ser::value::Value;
use pyro5_std::{Daemon, DaemonConfig, Proxy, expose};

/// The Rust twin of the script's Python object.
struct Refused;

#[expose(class = "test.Refused")]
impl Refused {
    fn take_proxy(&self, callback: Proxy) -> String {
        callback.to_state().uri
    }

    fn take_point(&self, point: BTreeMap<String, i64>) -> String {
        format!("{point:?}")
    }

    fn take_number(&self, n: i64) -> String {
        n.to_string()
    }

    fn take_two(&self, anything: Value, n: i64) -> String {
        format!("{} {n}", anything.type_name())
    }
}

fn script() -> std::path::PathBuf {
    workspace_root().join("tests/python/refused_classes.py")
}

/// What the Python client saw calling `uri`: "serializer method case" → `"ok"` or
/// `[exception class, text]`.
fn python_client(uri: &str) -> serde_json::Map<String, serde_json::Value> {
    let args = format!(r#"{{"uri": "{uri}"}}"#);
    let out = Command::new(python()).arg(script()).arg("client").arg(args).output().expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    match serde_json::from_str(&stdout) {
        Ok(serde_json::Value::Object(map)) => map,
        other => panic!("not a JSON object: {other:?} from {stdout}"),
    }
}

#[test]
fn a_rust_daemon_refuses_classes_as_a_python_daemon_does_in_every_serializer() {
    let python_daemon = PythonPeer::start("refused_classes.py", &["server"], "PYRO:refused@");
    let expected = python_client(&python_daemon.uri);

    let config = DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() };
    let daemon = Daemon::new(config).expect("bind");
    let uri = daemon.register(Refused, Some("refused")).expect("register");
    let serving = daemon.clone();
    let thread = std::thread::spawn(move || serving.request_loop());
    let got = python_client(&uri);
    daemon.shutdown();
    thread.join().expect("the daemon thread").expect("the request loop");

    // What Python's daemon answers, so that the comparison below means something.
    let secret = serde_json::json!([
        "Pyro5.errors.SecurityError",
        "refused to deserialize types with double underscores in their name: __main__.Secret"
    ]);
    let thing = serde_json::json!(["Pyro5.errors.SerializeError", "unsupported serialized class: mymod.Thing"]);
    for serializer in ["serpent", "marshal", "json", "msgpack"] {
        for method in ["take_proxy", "take_point", "take_number"] {
            let case = |name: &str| &expected[&format!("{serializer} {method} {name}")];
            for name in ["secret", "secret_by_keyword", "secret_in_list"] {
                assert_eq!(case(name), &secret, "{serializer} {method} {name}");
            }
            for name in ["thing", "thing_in_dict", "secret_beside_thing"] {
                assert_eq!(case(name), &thing, "{serializer} {method} {name}");
            }
        }
        let case = |name: &str| &expected[&format!("{serializer} take_two {name}")];
        assert_eq!(case("secret_beside_bad_number"), &secret, "{serializer}");
        assert_eq!(case("thing_by_keyword_beside_bad_number"), &thing, "{serializer}");
        for method in ["take_number", "take_point", "take_two"] {
            assert_eq!(expected[&format!("{serializer} {method} good")], "ok", "{serializer} {method}");
        }
    }

    assert_eq!(got.len(), expected.len());
    for (case, python_answer) in &expected {
        assert_eq!(got.get(case), Some(python_answer), "{case}");
    }
}
