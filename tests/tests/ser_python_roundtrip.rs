//! Random values through the real Python: Pyro5's own serializer must decode our bytes into
//! exactly what it gets from its own encoding of the same value, and what Python encodes
//! back must decode in Rust to what our own round trip gives. One long-lived Python process
//! serves every case.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use proptest::prelude::*;
use pyro5_core::ser::value::Value;
use pyro5_core::ser::{json, marshal, msgpack, serpent};
use pyro5_interop_tests::{hex, python, tagged, unhex, workspace_root};
use serde_json::{Value as Json, json};

struct Helper {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

static HELPER: Mutex<Option<Helper>> = Mutex::new(None);

fn ask(request: &Json) -> Json {
    let mut guard = HELPER.lock().unwrap_or_else(|e| e.into_inner());
    let helper = guard.get_or_insert_with(|| {
        let mut child = Command::new(python())
            .arg(workspace_root().join("tests/python/ser_helper.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the Python serializer helper");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Helper { _child: child, stdin, stdout }
    });
    writeln!(helper.stdin, "{request}").unwrap();
    helper.stdin.flush().unwrap();
    let mut line = String::new();
    helper.stdout.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("helper answered {line:?}: {e}"))
}

/// What each format can carry from Python's side (Python refuses the rest).
#[derive(Clone, Copy, Debug)]
struct Caps {
    bytes: bool,
    complex: bool,
    frozenset: bool,
    tuple_keys: bool,
    int_keys: bool,
    /// Python's serpent cannot read back the dict it writes for a complex with a NaN part.
    complex_nan: bool,
    /// msgpack's datetime and date (ext 0x32 / 0x33).
    dates: bool,
}

const SERPENT: Caps = Caps {
    bytes: true,
    complex: true,
    frozenset: true,
    tuple_keys: true,
    int_keys: true,
    complex_nan: false,
    dates: false,
};
const MARSHAL: Caps = Caps {
    bytes: true,
    complex: true,
    frozenset: true,
    tuple_keys: true,
    int_keys: true,
    complex_nan: true,
    dates: false,
};
const JSON: Caps = Caps {
    bytes: false,
    complex: false,
    frozenset: false,
    tuple_keys: false,
    int_keys: false,
    complex_nan: false,
    dates: false,
};
const MSGPACK: Caps = Caps {
    bytes: true,
    complex: true,
    frozenset: false,
    tuple_keys: false,
    int_keys: false,
    complex_nan: true,
    dates: true,
};

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(1e16),
        Just(1e-5),
        Just(5e-324),
        (-1e6..1e6f64),
    ]
}

fn int() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<i128>().prop_map(Value::Int),
        (any::<bool>(), "[1-9][0-9]{39,80}").prop_map(|(neg, d)| Value::BigInt(if neg { format!("-{d}") } else { d })),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{0,8}", "\\PC{0,12}", ".{0,6}", "[\\x00-\\x1f'\"\\\\é€😀𝄞\u{a0}\u{2028}]{0,8}"]
}

/// Text, sometimes the name of a type marker (user data that must stay text).
fn key_text() -> impl Strategy<Value = String> {
    use pyro5_core::ser::python::{BIGINT, COMPLEX, DATE, DATETIME, FROZENSET, SET, TUPLE, VALUE};
    prop_oneof![
        3 => text(),
        1 => proptest::sample::select(vec![SET, FROZENSET, TUPLE, COMPLEX, BIGINT, DATETIME, DATE, VALUE])
            .prop_map(String::from),
    ]
}

fn hashable(caps: Caps) -> impl Strategy<Value = Value> {
    let mut options: Vec<BoxedStrategy<Value>> = vec![key_text().prop_map(Value::Str).boxed()];
    if caps.int_keys {
        options.push(any::<i64>().prop_map(Value::from).boxed());
    }
    if caps.tuple_keys {
        options.push(proptest::collection::vec(text().prop_map(Value::Str), 0..3).prop_map(Value::Tuple).boxed());
    }
    proptest::strategy::Union::new(options)
}

fn leaf(caps: Caps) -> BoxedStrategy<Value> {
    let mut options: Vec<BoxedStrategy<Value>> = vec![
        Just(Value::None).boxed(),
        any::<bool>().prop_map(Value::Bool).boxed(),
        int().boxed(),
        float().prop_map(Value::Float).boxed(),
        text().prop_map(Value::Str).boxed(),
    ];
    if caps.bytes {
        options.push(proptest::collection::vec(any::<u8>(), 0..12).prop_map(Value::Bytes).boxed());
    }
    if caps.complex {
        let nan_ok = caps.complex_nan;
        options.push(
            (float(), float())
                .prop_filter("NaN parts", move |(re, im)| nan_ok || !(re.is_nan() || im.is_nan()))
                .prop_map(|(re, im)| Value::Complex { re, im })
                .boxed(),
        );
    }
    if caps.dates {
        // Any float Python's datetime takes (year 1 to 9999 in any time zone), any ordinal.
        options.push((-62_135_000_000.0..253_402_000_000.0f64).prop_map(Value::DateTime).boxed());
        options.push((1..=3_652_059i64).prop_map(Value::Date).boxed());
    }
    proptest::strategy::Union::new(options).boxed()
}

fn value(caps: Caps) -> impl Strategy<Value = Value> {
    leaf(caps).prop_recursive(4, 40, 6, move |inner| {
        let mut options: Vec<BoxedStrategy<Value>> = vec![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::List).boxed(),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Tuple).boxed(),
            proptest::collection::vec((hashable(caps), inner.clone()), 0..5)
                .prop_map(|entries| Value::Dict(dedup_keys(entries)))
                .boxed(),
            proptest::collection::vec(hashable(caps), 0..5).prop_map(|items| Value::Set(dedup(items))).boxed(),
        ];
        if caps.frozenset {
            options
                .push(proptest::collection::vec(hashable(caps), 0..4).prop_map(|i| Value::FrozenSet(dedup(i))).boxed());
        }
        proptest::strategy::Union::new(options)
    })
}

fn dedup(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for i in items {
        if !out.iter().any(|o| o == &i) {
            out.push(i);
        }
    }
    out
}

fn dedup_keys(entries: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    let mut out: Vec<(Value, Value)> = Vec::new();
    for (k, v) in entries {
        if !out.iter().any(|(o, _)| o == &k) {
            out.push((k, v));
        }
    }
    out
}

/// Our bytes → Python equals Python's own round trip; Python's bytes → us equals ours.
fn check(
    format: &str,
    v: &Value,
    encode: fn(&Value) -> Vec<u8>,
    decode: fn(&[u8]) -> Value,
) -> Result<(), TestCaseError> {
    let ours = encode(v);
    let answer = ask(&json!({"format": format, "hex": hex(&ours), "expected": tagged::from_value(v)}));
    prop_assert!(
        answer["ok"] == true,
        "{format}: Python read {:?} from our {:?}, its own round trip gives {}",
        answer.get("got").or(answer.get("error")),
        String::from_utf8_lossy(&ours),
        answer["want"]
    );
    // What Python sends back reads here as it reads in Python (its own round trip may lose a
    // signed zero in a complex number, so compare with Python's reading, not with `v`).
    let from_python = decode(&unhex(answer["hex"].as_str().unwrap()));
    let python_reads = tagged::to_value(&answer["back"]).expect("a value");
    prop_assert!(
        from_python.is_identical(&python_reads),
        "{format}: Python's bytes read here as {from_python:?}, in Python as {python_reads:?}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn serpent_values_round_trip_through_python(v in value(SERPENT)) {
        check("serpent", &v, |v| serpent::to_vec(v).unwrap(), |b| serpent::from_slice(b).unwrap())?;
    }

    #[test]
    fn marshal_values_round_trip_through_python(v in value(MARSHAL)) {
        check("marshal", &v, |v| marshal::to_vec(v).unwrap(), |b| marshal::from_slice(b).unwrap())?;
    }

    #[test]
    fn json_values_round_trip_through_python(v in value(JSON)) {
        check("json", &v, |v| json::to_vec(v).unwrap(), |b| json::from_slice(b).unwrap())?;
    }

    #[test]
    fn msgpack_values_round_trip_through_python(v in value(MSGPACK)) {
        check("msgpack", &v, |v| msgpack::to_vec(v).unwrap(), |b| msgpack::from_slice(b).unwrap())?;
    }
}
