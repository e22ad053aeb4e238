use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::ser::python::{BigInt, Complex, FrozenSet, Set, Tuple};

fn sample() -> Value {
    Value::Dict(vec![
        (Value::from("none"), Value::None),
        (Value::Int(1), Value::Bool(true)),
        (Value::from("big"), Value::BigInt("-123456789012345678901234567890123456789012".into())),
        (Value::from("u128"), Value::BigInt("340282366920938463463374607431768211455".into())),
        (
            Value::from("floats"),
            Value::List(vec![Value::Float(-0.0), Value::Float(f64::NAN), Value::Float(f64::INFINITY)]),
        ),
        (Value::from("complex"), Value::Complex { re: 1.0, im: -2.5 }),
        (Value::from("bytes"), Value::Bytes(vec![0, 255])),
        (Value::Tuple(vec![Value::Int(1), Value::from("a")]), Value::Tuple(vec![])),
        (Value::from("set"), Value::Set(vec![Value::Int(3), Value::Int(4)])),
        (Value::from("frozen"), Value::FrozenSet(vec![Value::from("x")])),
        (Value::from("astral"), Value::from("😀 é")),
    ])
}

#[test]
fn a_value_survives_to_value_and_from_value() {
    let v = sample();
    assert!(to_value(&v).unwrap().is_identical(&v));
    let back: Value = from_value(v.clone()).unwrap();
    assert!(back.is_identical(&v), "{back:?}");
}

#[test]
fn python_wrappers_become_their_python_types() {
    assert_eq!(to_value(&Set(&[1, 2])).unwrap(), Value::Set(vec![Value::Int(1), Value::Int(2)]));
    assert_eq!(to_value(&FrozenSet(&["a"])).unwrap(), Value::FrozenSet(vec![Value::from("a")]));
    assert_eq!(to_value(&Tuple(&[1u8])).unwrap(), Value::Tuple(vec![Value::Int(1)]));
    assert_eq!(to_value(&Complex { re: 1.0, im: 2.0 }).unwrap(), Value::Complex { re: 1.0, im: 2.0 });
    assert_eq!(to_value(&BigInt::new("12").unwrap()).unwrap(), Value::Int(12));
    let huge = "1".repeat(60);
    assert_eq!(to_value(&BigInt::new(&huge).unwrap()).unwrap(), Value::BigInt(huge.clone()));
    assert_eq!(to_value(&u128::MAX).unwrap(), Value::BigInt(u128::MAX.to_string()));
}

#[test]
fn typed_values_come_back_out_of_a_value() {
    #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
    struct Call {
        object: String,
        args: (i32, Option<String>),
        kinds: Vec<Kind>,
    }
    #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
    enum Kind {
        Plain,
        Tagged(u8),
        Pair { a: bool },
    }
    let call = Call {
        object: "obj".into(),
        args: (7, None),
        kinds: vec![Kind::Plain, Kind::Tagged(3), Kind::Pair { a: true }],
    };
    let v = to_value(&call).unwrap();
    assert_eq!(v.get("object"), Some(&Value::from("obj")));
    assert_eq!(v.get("args"), Some(&Value::Tuple(vec![Value::Int(7), Value::None])));
    assert_eq!(from_value::<Call>(v).unwrap(), call);
    let c: Complex = from_value(Value::Complex { re: 0.5, im: 1.5 }).unwrap();
    assert_eq!(c, Complex { re: 0.5, im: 1.5 });
    let s: Vec<u8> = from_value(Value::Set(vec![Value::Int(9)])).unwrap();
    assert_eq!(s, [9]);
}

#[test]
fn unhashable_keys_are_refused() {
    let mut m = std::collections::BTreeMap::new();
    m.insert(vec![1], 2);
    assert_eq!(to_value(&m), Err(Error::UnhashableKey("list")));
}

#[test]
fn identical_means_same_type_and_bits() {
    assert!(Value::Float(f64::NAN).is_identical(&Value::Float(-f64::NAN)));
    assert!(!Value::Float(0.0).is_identical(&Value::Float(-0.0)));
    assert!(!Value::Tuple(vec![]).is_identical(&Value::List(vec![])));
    let a = Value::Set(vec![Value::Int(1), Value::Int(2)]);
    let b = Value::Set(vec![Value::Int(2), Value::Int(1)]);
    assert!(a.is_identical(&b));
    assert!(!a.is_identical(&Value::Set(vec![Value::Int(1), Value::Int(1)])));
    assert_eq!(sample().class_name(), None);
    let exc = Value::Dict(vec![(Value::from("__class__"), Value::from("builtins.ValueError"))]);
    assert_eq!(exc.class_name(), Some("builtins.ValueError"));
    let _: Vec<Value> = Vec::new();
}

extern crate std;
use std::string::ToString;

#[test]
fn none_is_also_unit() {
    let unit: () = crate::ser::value::from_value(Value::None).unwrap();
    assert_eq!(unit, ());
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Nothing;
    assert_eq!(crate::ser::value::from_value::<Nothing>(Value::None).unwrap(), Nothing);
    assert!(crate::ser::value::from_value::<()>(Value::Int(1)).is_err());
}

/// Every token exact mode uses, and a payload a forged marker would carry.
fn forged_markers() -> Vec<Value> {
    use crate::ser::python::{BIGINT, COMPLEX, DATE, DATETIME, FROZENSET, SET, TUPLE, VALUE};
    let payloads = [
        (SET, Value::List(vec![Value::Int(1), Value::Int(2)])),
        (FROZENSET, Value::List(vec![Value::Int(1)])),
        (TUPLE, Value::List(vec![Value::from("a")])),
        (COMPLEX, Value::List(vec![Value::Float(1.0), Value::Float(2.0)])),
        (BIGINT, Value::from("12345")),
        (DATETIME, Value::Float(1.5)),
        (DATE, Value::Int(738_887)),
        (VALUE, Value::None),
    ];
    let mut cases: Vec<Value> =
        payloads.iter().map(|(token, payload)| Value::Dict(vec![(Value::from(*token), payload.clone())])).collect();
    // Nested, beside other keys, and a token as a value rather than a key.
    cases.push(Value::List(vec![Value::Dict(vec![(
        Value::from("outer"),
        Value::Dict(vec![(Value::from(SET), Value::Dict(vec![(Value::from(BIGINT), Value::from("7"))]))]),
    )])]));
    cases.push(Value::Dict(vec![(Value::from(TUPLE), Value::List(vec![])), (Value::from("other"), Value::Int(1))]));
    cases.push(Value::Dict(vec![(Value::from("k"), Value::from(COMPLEX))]));
    cases
}

/// What each format does with Python types: `(format, value written and read back)`.
#[allow(clippy::type_complexity, clippy::vec_init_then_push)] // each push is behind its feature
fn formats() -> Vec<(&'static str, fn(&Value) -> Value)> {
    let mut all: Vec<(&'static str, fn(&Value) -> Value)> = Vec::new();
    #[cfg(feature = "serpent")]
    all.push(("serpent", |v| crate::ser::serpent::from_slice(&crate::ser::serpent::to_vec(v).unwrap()).unwrap()));
    #[cfg(feature = "json")]
    all.push(("json", |v| crate::ser::json::from_slice(&crate::ser::json::to_vec(v).unwrap()).unwrap()));
    #[cfg(feature = "marshal")]
    all.push(("marshal", |v| crate::ser::marshal::from_slice(&crate::ser::marshal::to_vec(v).unwrap()).unwrap()));
    #[cfg(feature = "msgpack")]
    all.push(("msgpack", |v| crate::ser::msgpack::from_slice(&crate::ser::msgpack::to_vec(v).unwrap()).unwrap()));
    all
}

#[test]
fn dicts_keyed_by_type_tokens_stay_dicts_in_every_format() {
    for (name, round) in formats() {
        for case in forged_markers() {
            let back = round(&case);
            assert!(back.is_identical(&case), "{name}: {case:?} came back as {back:?}");
        }
    }
    // And through a Value's own deserializer.
    for case in forged_markers() {
        let back: Value = from_value(case.clone()).unwrap();
        assert!(back.is_identical(&case), "from_value: {case:?} came back as {back:?}");
    }
}

#[test]
fn python_types_still_come_back_as_their_types() {
    let huge = Value::BigInt("-".to_string() + &"9".repeat(45));
    let tuple = Value::Tuple(vec![Value::Int(1), Value::from("a")]);
    let set = Value::Set(vec![Value::Int(1), Value::Int(2)]);
    let frozen = Value::FrozenSet(vec![Value::Int(3)]);
    let complex = Value::Complex { re: 1.0, im: -2.5 };
    let dates = [Value::DateTime(1_704_164_645.678_901), Value::Date(738_887)];
    for (name, round) in formats() {
        let mut cases = vec![huge.clone(), Value::List(vec![huge.clone(), Value::Dict(vec![])])];
        match name {
            "serpent" | "marshal" => cases.extend([tuple.clone(), set.clone(), complex.clone()]),
            "msgpack" => cases.extend([complex.clone()]),
            _ => {}
        }
        if name == "marshal" {
            cases.push(frozen.clone());
        }
        if name == "msgpack" {
            cases.extend(dates.iter().cloned());
            cases.push(Value::Dict(vec![(Value::from("when"), Value::List(dates.to_vec()))]));
        }
        for case in cases {
            let back = round(&case);
            assert!(back.is_identical(&case), "{name}: {case:?} came back as {back:?}");
        }
    }
    for case in [huge, tuple, set, frozen, complex, dates[0].clone(), dates[1].clone()] {
        let back: Value = from_value(case.clone()).unwrap();
        assert!(back.is_identical(&case), "from_value: {case:?} came back as {back:?}");
    }
}

#[cfg(feature = "msgpack")]
#[test]
fn msgpack_datetime_and_date_keep_their_bytes() {
    // datetime.datetime(2024, 1, 2, 3, 4, 5, 678901) at UTC, and datetime.date(2024, 1, 2), as
    // Pyro5's msgpack default hook packs them.
    let mut datetime = vec![0xd7, 0x32];
    datetime.extend(1_704_164_645.678_901f64.to_le_bytes());
    let date = [0xd7, 0x33, 0x47, 0x46, 0x0b, 0, 0, 0, 0, 0];
    let v: Value = crate::ser::msgpack::from_slice(&datetime).unwrap();
    assert_eq!(v, Value::DateTime(1_704_164_645.678_901));
    assert_eq!(v.type_name(), "datetime");
    assert_eq!(crate::ser::msgpack::to_vec(&v).unwrap(), datetime);
    let v: Value = crate::ser::msgpack::from_slice(&date).unwrap();
    assert_eq!(v, Value::Date(738_887));
    assert_eq!(crate::ser::msgpack::to_vec(&v).unwrap(), date);
    // Typed targets still see the timestamp and the ordinal.
    assert_eq!(crate::ser::msgpack::from_slice::<f64>(&datetime).unwrap(), 1_704_164_645.678_901);
    assert_eq!(crate::ser::msgpack::from_slice::<i64>(&date).unwrap(), 738_887);
    assert_eq!(from_value::<i64>(Value::Date(5)).unwrap(), 5);
}

#[cfg(feature = "msgpack")]
#[test]
fn fuzz_input_with_a_forged_set_marker_round_trips() {
    // Found by the msgpack_de target: {115: {'$pyro5::set': [...]}, ...} once read as a set.
    let hex = "847381ab247079726f353a3a7365749e2b706f7228793565000000000000003a3a736574";
    let data: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    // The msgpack_de fuzz target's check: a value that decodes re-encodes to bytes that
    // decode to the same value.
    let v: Value = crate::ser::msgpack::from_slice(&data).unwrap();
    let again: Value = crate::ser::msgpack::from_slice(&crate::ser::msgpack::to_vec(&v).unwrap()).unwrap();
    assert!(again.is_identical(&v), "{v:?} came back as {again:?}");
    let Value::Dict(entries) = &v else { panic!("{v:?}") };
    let marker = entries.first().and_then(|(_, m)| m.get(crate::ser::python::SET));
    assert!(matches!(marker, Some(Value::List(l)) if l.len() == 14), "{v:?}");
}
