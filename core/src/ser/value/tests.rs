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
