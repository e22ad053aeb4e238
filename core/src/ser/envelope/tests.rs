//! Shapes of the conventions, checked through `Value` (the formats' own tests check bytes).

extern crate std;
use alloc::vec;
use std::collections::BTreeMap;

use super::*;
use crate::ser::value::{Value, from_value, to_value};

fn s(text: &str) -> Value {
    Value::from(text)
}

#[test]
fn call_envelope_takes_each_formats_shape() {
    let mut kwargs = BTreeMap::new();
    kwargs.insert("kw", 3.5);
    let call =
        |format| CallEnvelope { format, object: "obj_id", method: "method", args: &(1, "two"), kwargs: Some(&kwargs) };
    let args = Value::Tuple(vec![Value::Int(1), s("two")]);
    let kw = Value::Dict(vec![(s("kw"), Value::Float(3.5))]);
    let tuple = Value::Tuple(vec![s("obj_id"), s("method"), args.clone(), kw.clone()]);
    assert_eq!(to_value(&call(SerializerId::Serpent)).unwrap(), tuple);
    assert_eq!(to_value(&call(SerializerId::Msgpack)).unwrap(), tuple);
    let Value::Tuple(parts) = to_value(&call(SerializerId::Marshal)).unwrap() else { panic!() };
    assert_eq!(parts[2], Value::List(vec![Value::Int(1), s("two")]), "marshal sends args as a list");
    assert_eq!(
        to_value(&call(SerializerId::Json)).unwrap(),
        Value::Dict(vec![
            (s("object"), s("obj_id")),
            (s("method"), s("method")),
            (s("params"), args),
            (s("kwargs"), kw)
        ])
    );
    let batch = CallEnvelope::<_, ()> {
        format: SerializerId::Serpent,
        object: "o",
        method: BATCH_METHOD,
        args: &[1],
        kwargs: None,
    };
    let Value::Tuple(parts) = to_value(&batch).unwrap() else { panic!() };
    assert_eq!(parts[3], Value::None);
}

#[test]
fn a_call_reads_back_from_either_shape() {
    let tuple = Value::Tuple(vec![s("o"), s("m"), Value::Tuple(vec![Value::Int(7)]), Value::None]);
    let call: Call<'_, (i32,), BTreeMap<String, i32>> = from_value_borrowed(&tuple);
    assert_eq!((call.object, call.method, call.args, call.kwargs), ("o", "m", (7,), None));
    let _ = call;
}

/// `from_value` owns its input; `Call` borrows `&str`s, so these tests go through json.
fn from_value_borrowed<'a, A, K>(v: &Value) -> Call<'a, A, K>
where
    A: serde::de::DeserializeOwned,
    K: serde::de::DeserializeOwned,
{
    // Owned strings cannot be borrowed out of a Value: leak them for the test's lifetime.
    let Value::Tuple(parts) = v else { panic!() };
    let text = |i: usize| -> &'a str { std::boxed::Box::leak(parts[i].as_str().unwrap().into()) };
    Call {
        object: text(0),
        method: text(1),
        args: from_value(parts[2].clone()).unwrap(),
        kwargs: from_value(parts[3].clone()).unwrap(),
    }
}

#[test]
fn exceptions_are_pyro_exception_dicts() {
    let tb = ["Traceback (most recent call last):\n", "ValueError: bad value\n"];
    let e = ExceptionDict { class: "builtins.ValueError", args: &("bad value", 42), traceback: Some(&tb) };
    let v = to_value(&e).unwrap();
    assert_eq!(v.class_name(), Some("builtins.ValueError"));
    assert_eq!(v.get("__exception__"), Some(&Value::Bool(true)));
    assert_eq!(v.get("args"), Some(&Value::Tuple(vec![s("bad value"), Value::Int(42)])));
    assert_eq!(
        v.get("attributes").and_then(|a| a.get(TRACEBACK_ATTRIBUTE)),
        Some(&Value::List(vec![s(tb[0]), s(tb[1])]))
    );
    let wrapped = to_value(&ExceptionWrapper(e)).unwrap();
    assert_eq!(wrapped.class_name(), Some(EXCEPTION_WRAPPER_CLASS));
    assert!(wrapped.get("exception").unwrap().is_identical(&v));
}

#[test]
fn uris_and_proxies_are_class_dicts() {
    let uri = Uri::parse("PYRO:obj@localhost:9999").unwrap();
    let v = to_value(&uri).unwrap();
    assert_eq!(v.class_name(), Some(URI_CLASS));
    assert_eq!(
        v.get("state"),
        Some(&Value::Tuple(vec![s("PYRO"), s("obj"), Value::None, s("localhost"), Value::Int(9999)]))
    );
    let unix = to_value(&Uri::parse("PYRO:obj@./u:/tmp/s").unwrap()).unwrap();
    assert_eq!(
        unix.get("state"),
        Some(&Value::Tuple(vec![s("PYRO"), s("obj"), s("/tmp/s"), Value::None, Value::None]))
    );
    let name = to_value(&Uri::parse("PYRONAME:some.name").unwrap()).unwrap();
    assert_eq!(
        name.get("state"),
        Some(&Value::Tuple(vec![s("PYRONAME"), s("some.name"), Value::None, Value::None, Value::None]))
    );
    let meta = to_value(&Uri::parse("PYROMETA:a,b").unwrap()).unwrap();
    let Some(Value::Tuple(state)) = meta.get("state") else { panic!() };
    assert!(state[1].is_identical(&Value::Set(vec![s("a"), s("b")])));

    let proxy =
        ProxyDict { uri: &uri, oneway: &[], methods: &["echo"], attrs: &[], handshake: "hello", serializer: None };
    let v = to_value(&proxy).unwrap();
    assert_eq!(v.class_name(), Some(PROXY_CLASS));
    assert_eq!(
        v.get("state"),
        Some(&Value::Tuple(vec![
            s("PYRO:obj@localhost:9999"),
            Value::Tuple(vec![]),
            Value::Tuple(vec![s("echo")]),
            Value::Tuple(vec![]),
            s("hello"),
            Value::None
        ]))
    );
}

#[test]
fn class_dicts_put_the_class_last() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Point {
        x: i32,
        y: i32,
    }
    let v = to_value(&ClassDict { class: "geometry.Point", value: &Point { x: 1, y: 2 } }).unwrap();
    assert_eq!(
        v,
        Value::Dict(vec![(s("x"), Value::Int(1)), (s("y"), Value::Int(2)), (s("__class__"), s("geometry.Point"))])
    );
    assert_eq!(from_value::<Point>(v).unwrap(), Point { x: 1, y: 2 });
    assert!(to_value(&ClassDict { class: "x.Y", value: &5 }).is_err());
}

use alloc::string::String;

#[test]
fn uris_read_back_from_their_class_dicts_and_from_text() {
    use crate::ser::json;
    for text in [
        "PYRO:obj@localhost:9999",
        "PYRO:obj@[::1]:5",
        "PYRO:obj@./u:/tmp/s",
        "PYRONAME:some.name",
        "PYRONAME:x@ns:9090",
    ] {
        let uri = Uri::parse(text).unwrap();
        let bytes = json::to_vec(&uri).unwrap();
        let back: Uri<'_> = json::from_slice(&bytes).unwrap();
        assert_eq!(back, uri, "{text}");
        let quoted = std::format!("\"{text}\"");
        assert_eq!(json::from_slice::<Uri<'_>>(quoted.as_bytes()).unwrap(), uri);
    }
    let recorded = include_bytes!("../../../../testdata/payloads/serpent/uri_ipv6.bin");
    let uri: Uri<'_> = crate::ser::serpent::from_slice(recorded).unwrap();
    assert_eq!(uri.host(), Some("::1"));
    let proxy = br#"{"__class__": "Pyro5.client.Proxy", "state": []}"#;
    assert!(json::from_slice::<Uri<'_>>(proxy).is_err());
}

#[test]
fn a_python_objects_class_dict_reads_into_a_rust_struct_in_every_format() {
    // What Pyro5's class_to_dict writes for `Plain(a=1, b='two')` defined in `__main__`.
    #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
    struct Plain {
        a: i64,
        b: String,
    }
    let want = Plain { a: 1, b: "two".into() };
    let serpent = include_bytes!("../../../../testdata/payloads/serpent/custom_class_vars.bin");
    let json = include_bytes!("../../../../testdata/payloads/json/custom_class_vars.bin");
    let marshal = include_bytes!("../../../../testdata/payloads/marshal/custom_class_vars.bin");
    let msgpack = include_bytes!("../../../../testdata/payloads/msgpack/custom_class_vars.bin");
    assert_eq!(crate::ser::serpent::from_slice::<Plain>(serpent).unwrap(), want);
    assert_eq!(crate::ser::json::from_slice::<Plain>(json).unwrap(), want);
    assert_eq!(crate::ser::marshal::from_slice::<Plain>(marshal).unwrap(), want);
    assert_eq!(crate::ser::msgpack::from_slice::<Plain>(msgpack).unwrap(), want);
    // And the other way: the same bytes Python wrote, from the struct and its class name.
    let ours = crate::ser::serpent::to_vec(&ClassDict { class: "__main__.Plain", value: &want }).unwrap();
    assert_eq!(ours, serpent);
    let ours = crate::ser::json::to_vec(&ClassDict { class: "__main__.Plain", value: &want }).unwrap();
    assert_eq!(ours, json);
}
