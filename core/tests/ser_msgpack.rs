//! The msgpack serializer against the bytes Python's Pyro5 wrote (`shared/vectors/payloads/
//! msgpack/`), the exact-mode contract of `ser::python`, malformed input, round trips and
//! allocation. Runs with and without `alloc`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;
use pyro5_core::ser::msgpack::{self, Deserializer, Error};
use pyro5_core::ser::python::{self, BIGINT, BigInt, COMPLEX, Complex, DATE, DATETIME, FrozenSet, Set, Tuple, VALUE};
use pyro5_core::ser::{DEFAULT_MAX_DEPTH, OutputError};
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

// ---------------------------------------------------------------------------------------
// Helpers

fn vectors() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The msgpack entries of `index.json`: (value name, recorded hex or None when Python
/// refused to serialize the value).
fn index() -> Vec<(String, Option<String>)> {
    static INDEX: OnceLock<Vec<(String, Option<String>)>> = OnceLock::new();
    INDEX.get_or_init(read_index).clone()
}

fn read_index() -> Vec<(String, Option<String>)> {
    let text = std::fs::read_to_string(vectors().join("index.json")).unwrap();
    let index: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries: Vec<_> = index["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["serializer"] == "msgpack")
        .map(|p| {
            let name = p["value"].as_str().unwrap().to_string();
            let hex = p.get("hex").and_then(|h| h.as_str()).filter(|h| !h.is_empty()).map(str::to_string);
            (name, hex)
        })
        .collect();
    assert!(entries.len() > 90, "only {} msgpack payloads in index.json", entries.len());
    entries
}

/// A recorded payload, checked against its hex in `index.json`.
fn payload(name: &str) -> &'static [u8] {
    static PAYLOADS: Mutex<BTreeMap<String, &'static [u8]>> = Mutex::new(BTreeMap::new());
    if let Some(bytes) = PAYLOADS.lock().unwrap().get(name) {
        return bytes;
    }
    let bytes = std::fs::read(vectors().join(format!("payloads/msgpack/{name}.bin"))).unwrap();
    let (_, recorded) = index().into_iter().find(|(n, _)| n == name).unwrap();
    assert_eq!(Some(hex(&bytes)), recorded, "{name}.bin differs from index.json");
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    PAYLOADS.lock().unwrap().insert(name.to_string(), bytes);
    bytes
}

fn encode<T: ?Sized + Serialize>(value: &T) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 18];
    let len = msgpack::to_slice(value, &mut buf).unwrap();
    buf.truncate(len);
    buf
}

/// A Python `bytes`: serde's `serialize_bytes` / borrowed bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Bytes<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&[u8]>::deserialize(d).map(Bytes)
    }
}

/// Owned bytes for round trips.
#[derive(Clone, Debug, PartialEq)]
struct ByteBuf(Vec<u8>);

impl Serialize for ByteBuf {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// What a dynamic value would see: exact mode (asked with the `VALUE` newtype) at every level.
#[derive(Clone, Debug, PartialEq)]
enum Shape {
    None,
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Shape>),
    Dict(Vec<(Shape, Shape)>),
    /// Exact mode's report of a Python type: its token and content.
    Token(String, Box<Shape>),
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(VALUE, ShapeVisitor)
    }
}

/// The top level read with plain `deserialize_any` (what a typed target sees).
#[derive(Debug, PartialEq)]
struct Plain(Shape);

impl<'de> Deserialize<'de> for Plain {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeVisitor).map(Plain)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::None)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Shape, E> {
        Ok(Shape::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Shape, E> {
        Ok(Shape::I64(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Shape, E> {
        Ok(Shape::U64(v))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Shape, E> {
        Ok(Shape::I128(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Shape, E> {
        Ok(Shape::U128(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Shape, E> {
        Ok(Shape::F64(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Shape, E> {
        Ok(Shape::Str(v.to_string()))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Shape, E> {
        Ok(Shape::Bytes(v.to_vec()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Shape::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Shape::Dict(entries))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Shape, A::Error> {
        use de::VariantAccess;
        let (token, content) = data.variant::<String>()?;
        Ok(Shape::Token(token, Box::new(content.newtype_variant()?)))
    }
}

fn token(name: &str, value: Shape) -> Shape {
    Shape::Token(name.to_string(), Box::new(value))
}

fn s(text: &str) -> Shape {
    Shape::Str(text.to_string())
}

// ---------------------------------------------------------------------------------------
// (1) Every recorded payload

/// Checks recorded payloads and remembers which it saw.
#[derive(Default)]
struct Vectors {
    seen: HashSet<String>,
}

impl Vectors {
    /// Decodes to `expected` and re-encodes to the same bytes.
    fn both<T>(&mut self, name: &str, expected: T)
    where
        T: Deserialize<'static> + Serialize + PartialEq + fmt::Debug,
    {
        let bytes = self.decode_only(name, &expected);
        assert_eq!(hex(&encode(&expected)), hex(bytes), "{name}: our bytes differ from Python's");
    }

    /// Decodes to `expected` (the value has no Rust type that writes it).
    fn decode_only<T>(&mut self, name: &str, expected: &T) -> &'static [u8]
    where
        T: Deserialize<'static> + PartialEq + fmt::Debug,
    {
        let bytes = payload(name);
        let decoded: T = msgpack::from_slice(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&decoded, expected, "{name}");
        self.seen.insert(name.to_string());
        bytes
    }

    /// Encodes `value` (a write-only wrapper) to the recorded bytes.
    fn encodes<T: ?Sized + Serialize>(&mut self, name: &str, value: &T) {
        assert_eq!(hex(&encode(value)), hex(payload(name)), "{name}: our bytes differ from Python's");
    }

    /// Re-encodes `value` to the recorded bytes and checks the decoded value with `check`.
    fn custom<T>(&mut self, name: &str, value: T, check: impl Fn(T, T))
    where
        T: Deserialize<'static> + Serialize,
    {
        let bytes = payload(name);
        assert_eq!(hex(&encode(&value)), hex(bytes), "{name}: our bytes differ from Python's");
        let decoded: T = msgpack::from_slice(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        check(decoded, value);
        self.seen.insert(name.to_string());
    }
}

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct StrKeys {
    a: i64,
    b: Vec<i64>,
}

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct Ordered {
    z: i64,
    a: i64,
}

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct Plainobj<'a> {
    a: i64,
    b: &'a str,
    #[serde(rename = "__class__")]
    class: &'a str,
}

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct Slotted<'a> {
    x: i64,
    y: i64,
    #[serde(rename = "__class__")]
    class: &'a str,
}

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct WithState {
    state_key: i64,
}

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct PyException<'a, A> {
    #[serde(rename = "__class__", borrow)]
    class: &'a str,
    #[serde(rename = "__exception__")]
    exception: bool,
    args: A,
    #[serde(borrow)]
    attributes: BTreeMap<&'a str, &'a str>,
}

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct Wrapper<'a> {
    #[serde(rename = "__class__")]
    class: &'a str,
    #[serde(borrow)]
    exception: PyException<'a, (&'a str,)>,
}

type UriState<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, Option<u16>);

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct Uri<'a> {
    #[serde(rename = "__class__")]
    class: &'a str,
    #[serde(borrow)]
    state: UriState<'a>,
}

type ProxyState<'a> = (&'a str, Vec<&'a str>, Vec<&'a str>, Vec<&'a str>, &'a str, Option<&'a str>);

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct Proxy<'a> {
    #[serde(rename = "__class__")]
    class: &'a str,
    #[serde(borrow)]
    state: ProxyState<'a>,
}

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct Kw<'a> {
    k: &'a str,
}

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct KwF {
    kw: f64,
}

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct NoKw {}

/// `{1: 'bool', 's': 'str', 2.5: 'float', (1, 2): 'tuple'}`: keys of four types.
#[derive(Debug, PartialEq)]
struct MixedKeys;

impl Serialize for MixedKeys {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry(&1, "bool")?;
        map.serialize_entry("s", "str")?;
        map.serialize_entry(&2.5, "float")?;
        map.serialize_entry(&(1, 2), "tuple")?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for MixedKeys {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MixedKeys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the mixed-key dict")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MixedKeys, A::Error> {
                assert_eq!(map.next_entry::<i64, &str>()?, Some((1, "bool")));
                assert_eq!(map.next_entry::<&str, &str>()?, Some(("s", "str")));
                assert_eq!(map.next_entry::<f64, &str>()?, Some((2.5, "float")));
                assert_eq!(map.next_entry::<(i64, i64), &str>()?, Some(((1, 2), "tuple")));
                assert_eq!(map.next_entry::<IgnoredAny, IgnoredAny>()?.map(|_| ()), None);
                Ok(MixedKeys)
            }
        }
        d.deserialize_map(V)
    }
}

fn same_float(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

#[test]
fn every_recorded_payload_decodes_to_its_typed_value_and_reencodes_byte_for_byte() {
    let mut v = Vectors::default();
    v.both("none", Option::<i64>::None);
    v.both("none", ());
    v.both("true", true);
    v.both("false", false);
    for (name, n) in [
        ("int_0", 0i64),
        ("int_neg1", -1),
        ("int_127", 127),
        ("int_128", 128),
        ("int_255", 255),
        ("int_256", 256),
        ("int_65535", 65535),
        ("int_65536", 65536),
        ("int_i32_max", i32::MAX.into()),
        ("int_i32_min", i32::MIN.into()),
        ("int_2p31", 1 << 31),
        ("int_u32_max", u32::MAX.into()),
        ("int_i64_max", i64::MAX),
        ("int_i64_min", i64::MIN),
    ] {
        v.both(name, n);
    }
    v.both("int_i32_min", i32::MIN);
    v.both("int_255", 255u8);
    v.both("int_2p63", 1u64 << 63);
    v.both("int_u64_max", u64::MAX);
    v.both("int_2p64", 1u128 << 64);
    v.both("int_2p64", 1i128 << 64);
    v.both("int_neg_2p63_minus1", -(1i128 << 63) - 1);
    v.both("int_big", BigInt::new("12345678901234567890123456789012345678901234567890").unwrap());
    v.both("int_big_neg", BigInt::new("-10000000000000000000000000000000000000000").unwrap());
    v.both("int_2p64", BigInt::new("18446744073709551616").unwrap());

    for (name, x) in [
        ("float_0", 0.0),
        ("float_neg0", -0.0),
        ("float_1", 1.0),
        ("float_pi", std::f64::consts::PI),
        ("float_tenth", 0.1),
        ("float_1e16", 1e16),
        ("float_1e15", 1e15),
        ("float_123e20", 1.23e20),
        ("float_1em4", 1e-4),
        ("float_1em5", 1e-5),
        ("float_max", f64::MAX),
        ("float_min_sub", 5e-324),
        ("float_nan", f64::NAN),
        ("float_inf", f64::INFINITY),
        ("float_neginf", f64::NEG_INFINITY),
    ] {
        v.custom(name, x, |got, want| assert!(same_float(got, want), "{name}: {got} != {want}"));
    }
    v.custom("float_1", 1.0f32, |got, want| assert_eq!(got, want));

    for (name, text) in [
        ("str_empty", ""),
        ("str_ascii", "hello"),
        ("str_quote_single", "it's"),
        ("str_quote_both", "it's \"q\""),
        ("str_quote_double", "say \"hi\""),
        ("str_escapes", "tab\tnl\ncr\rbs\\nul\0bel\x07del\x7f"),
        ("str_latin1", "café \u{a0}nbsp \u{ad} shy"),
        ("str_bmp", "€ 中文 \u{2028} \u{feff} \u{d7ff}"),
        ("str_astral", "😀 𝄞 \u{e0001}"),
        ("decimal", "1.10"),
        ("uuid", "12345678-1234-5678-1234-567812345678"),
        ("array_unicode", "ab"),
    ] {
        v.both(name, text);
    }
    v.both("str_ascii", String::from("hello"));

    for (name, bytes) in
        [("bytes_empty", &b""[..]), ("bytes_small", b"\x00\x01\xff"), ("bytes_ascii", b"hello"), ("bytearray", b"ba")]
    {
        v.both(name, Bytes(bytes));
    }

    v.encodes("tuple_empty", &Tuple::<i64>(&[]));
    v.both("tuple_empty", [0i64; 0]);
    v.both("tuple_1", (1i64,));
    v.both("tuple_2", (1i64, 2i64));
    v.both("tuple_nested", ((1i64, (2i64,)), ([0i64; 0],), "x"));
    v.both("list_empty", Vec::<i64>::new());
    v.both("list_1", vec![1i64]);
    v.both("list_mixed", (1i64, "a", Option::<i64>::None, 2.5f64, vec![true]));
    v.both("array_int", vec![1i64, 2]);
    v.both("namedtuple", (1i64, 2i64));

    v.both("dict_empty", BTreeMap::<&str, i64>::new());
    v.both("dict_str_keys", StrKeys { a: 1, b: vec![2, 3] });
    v.both("dict_int_keys", BTreeMap::from([(1i64, "one"), (2, "two")]));
    v.both("dict_mixed_keys", MixedKeys);
    v.both("ordereddict", Ordered { z: 1, a: 2 });

    // Python sends a set as an array; Rust receives it as a sequence.
    v.encodes("set_empty", &Set::<i64>(&[]));
    v.decode_only("set_empty", &Vec::<i64>::new());
    v.encodes("set_ints", &Set(&[1i64, 2, 3]));
    v.decode_only("set_ints", &vec![1i64, 2, 3]);
    v.encodes("set_strs", &Set(&["a", "b"]));
    v.decode_only("set_strs", &vec!["a", "b"]);
    v.encodes("set_of_tuples", &Set(&[Tuple(&[1i64, 2]), Tuple(&[3])]));
    v.decode_only("set_of_tuples", &vec![vec![1i64, 2], vec![3]]);

    v.both("complex", Complex { re: 1.0, im: 2.0 });
    v.decode_only("complex", &(1.0f64, 2.0f64));
    v.both("complex_neg_imag", Complex { re: 1.5, im: -0.5 });
    v.custom("complex_nan", Complex { re: f64::NAN, im: 1.0 }, |got, want| {
        assert!(same_float(got.re, want.re) && same_float(got.im, want.im));
    });

    // Pyro5's datetime and date ext types read as their raw numbers, for now.
    v.decode_only("datetime", &1704164645.678901f64);
    v.decode_only("date", &738_887i64);

    v.both("custom_class_vars", Plainobj { a: 1, b: "two", class: "__main__.Plain" });
    v.both("custom_class_slots", Slotted { x: 1, y: 2, class: "__main__.Slotted" });
    v.both("custom_class_getstate", WithState { state_key: 42 });
    let exception = |class, args| PyException { class, exception: true, args, attributes: BTreeMap::new() };
    v.both("exception_valueerror", exception("builtins.ValueError", ("bad value",)));
    v.both("exception_custom", exception("__main__.CustomError", ("custom",)));
    v.both("exception_pyro", exception("Pyro5.errors.NamingError", ("unknown name: x",)));
    v.both(
        "exception_with_attr",
        PyException {
            class: "builtins.ValueError",
            exception: true,
            args: ("bad value", 42i64),
            attributes: BTreeMap::from([("custom_attr", "extra")]),
        },
    );
    v.both(
        "exception_wrapper",
        Wrapper { class: "Pyro5.core._ExceptionWrapper", exception: exception("builtins.ValueError", ("wrapped",)) },
    );
    let uri = |state| Uri { class: "Pyro5.core.URI", state };
    v.both("uri", uri(("PYRO", "obj", None, Some("localhost"), Some(9999))));
    v.both("uri_ipv6", uri(("PYRO", "obj", None, Some("::1"), Some(9999))));
    v.both("uri_unix", uri(("PYRO", "obj", Some("/tmp/sock"), None, None)));
    v.both("pyroname_uri", uri(("PYRONAME", "some.name", None, None, None)));
    v.both(
        "proxy",
        Proxy {
            class: "Pyro5.client.Proxy",
            state: ("PYRO:obj@localhost:9999", vec![], vec![], vec![], "hello", None),
        },
    );

    v.both("call_tuple_like", ("obj", "method", (1i64, 2i64), Kw { k: "v" }));
    v.both("call_simple", ("obj_id", "method", (1i64, "two"), KwF { kw: 3.5 }));
    v.both("call_noargs", ("obj_id", "ping", [0i64; 0], NoKw {}));
    v.both("call_list_vargs", ("Pyro.Daemon", "get_metadata", vec!["obj_id"], BTreeMap::<&str, i64>::new()));

    // Everything Python could serialize was checked.
    let recorded: HashSet<String> = index().into_iter().filter(|(_, h)| h.is_some()).map(|(n, _)| n).collect();
    let missing: Vec<_> = recorded.difference(&v.seen).collect();
    assert!(missing.is_empty(), "payloads not checked: {missing:?}");
}

#[test]
fn values_python_refuses_are_refused_or_not_expressible() {
    // Python has no bytes for these: frozenset is a SerializeError in Pyro5's msgpack, as here.
    let refused: HashSet<String> = index().into_iter().filter(|(_, h)| h.is_none()).map(|(n, _)| n).collect();
    assert!(refused.contains("frozenset"), "{refused:?}");
    let mut buf = [0u8; 16];
    let err = msgpack::to_slice(&FrozenSet(&[1, 2]), &mut buf).unwrap_err();
    assert_eq!(err, Error::FrozenSet);
    assert_eq!(err.pyro_class(), "Pyro5.errors.SerializeError");
}

#[test]
fn every_recorded_payload_skips_as_one_value() {
    for (name, h) in index() {
        if h.is_none() {
            continue;
        }
        let bytes = payload(&name);
        let (span, rest) = msgpack::skip_value(bytes).unwrap();
        assert_eq!((span, rest), (bytes, &[][..]), "{name}");
        // Inside an array, followed by another value.
        let mut pair = vec![0x92];
        pair.extend_from_slice(bytes);
        pair.extend_from_slice(bytes);
        let mut de = Deserializer::new(&pair[1..]);
        assert_eq!(de.skip_value().unwrap(), bytes, "{name}");
        assert_eq!(de.offset(), bytes.len());
        let whole: Shape = msgpack::from_slice(bytes).unwrap();
        let first: Shape = msgpack::from_slice(de.skip_value().unwrap()).unwrap();
        if !name.contains("nan") {
            assert_eq!(first, whole, "{name}");
        }
        msgpack::from_slice::<IgnoredAny>(bytes).unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// (2) Exact mode

#[test]
fn exact_mode_reports_python_types_as_token_variants() {
    let de = |name: &str| msgpack::from_slice::<Shape>(payload(name)).unwrap();
    assert_eq!(de("complex"), token(COMPLEX, Shape::List(vec![Shape::F64(1.0), Shape::F64(2.0)])));
    assert_eq!(de("int_big"), token(BIGINT, s("12345678901234567890123456789012345678901234567890")));
    assert_eq!(de("int_big_neg"), token(BIGINT, s("-10000000000000000000000000000000000000000")));
    // Inside 128 bits an ext 0x31 int is a plain integer.
    assert_eq!(de("int_2p64"), Shape::I128(1 << 64));
    assert_eq!(de("int_neg_2p63_minus1"), Shape::I128(-(1 << 63) - 1));
    assert_eq!(de("int_u64_max"), Shape::U64(u64::MAX));
    assert_eq!(de("int_i64_min"), Shape::I64(i64::MIN));
    // msgpack has no tuples or sets: everything array-like is a list.
    assert_eq!(de("tuple_2"), Shape::List(vec![Shape::U64(1), Shape::U64(2)]));
    assert_eq!(de("set_strs"), Shape::List(vec![s("a"), s("b")]));
    assert_eq!(de("dict_int_keys"), Shape::Dict(vec![(Shape::U64(1), s("one")), (Shape::U64(2), s("two"))]),);
    assert_eq!(de("bytes_small"), Shape::Bytes(vec![0, 1, 0xff]));
    assert_eq!(de("none"), Shape::None);
    assert_eq!(de("datetime"), token(DATETIME, Shape::F64(1704164645.678901)));
    assert_eq!(de("date"), token(DATE, Shape::I64(738_887)));
    // A dict keyed by a token is a dict.
    let forged = BTreeMap::from([(BIGINT, "12345")]);
    assert_eq!(msgpack::from_slice::<Shape>(&encode(&forged)).unwrap(), Shape::Dict(vec![(s(BIGINT), s("12345"))]));
    // Nested values ask again.
    let nested =
        encode(&(Complex { re: 0.5, im: -1.0 }, [BigInt::new("-340282366920938463463374607431768211456").unwrap()]));
    assert_eq!(
        msgpack::from_slice::<Shape>(&nested).unwrap(),
        Shape::List(vec![
            token(COMPLEX, Shape::List(vec![Shape::F64(0.5), Shape::F64(-1.0)])),
            Shape::List(vec![token(BIGINT, s("-340282366920938463463374607431768211456"))]),
        ])
    );
}

#[test]
fn plain_deserialize_any_reports_natural_serde_shapes() {
    let de = |name: &str| msgpack::from_slice::<Plain>(payload(name)).unwrap().0;
    assert_eq!(de("complex"), Shape::List(vec![Shape::F64(1.0), Shape::F64(2.0)]));
    assert_eq!(de("int_big"), s("12345678901234567890123456789012345678901234567890"));
    assert_eq!(de("int_2p64"), Shape::I128(1 << 64));
}

#[test]
fn exact_mode_applies_only_to_the_value_that_asked() {
    /// Asks for exact mode, then reads the value as a typed pair.
    #[derive(Debug, PartialEq)]
    struct AskThenTyped((f64, f64));
    impl<'de> Deserialize<'de> for AskThenTyped {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = AskThenTyped;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a pair")
                }
                fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<AskThenTyped, D::Error> {
                    <(f64, f64)>::deserialize(d).map(AskThenTyped)
                }
            }
            d.deserialize_newtype_struct(VALUE, V)
        }
    }
    let bytes = payload("complex");
    assert_eq!(msgpack::from_slice::<AskThenTyped>(bytes).unwrap(), AskThenTyped((1.0, 2.0)));
    // A list of Plain: the first element asking nothing, nothing leaks from the outer Shape.
    let list = encode(&[Complex { re: 1.0, im: 2.0 }]);
    assert_eq!(
        msgpack::from_slice::<Vec<Plain>>(&list).unwrap(),
        vec![Plain(Shape::List(vec![Shape::F64(1.0), Shape::F64(2.0)]))]
    );
}

#[test]
fn typed_targets_read_python_types_in_their_serde_shape() {
    assert_eq!(
        msgpack::from_slice::<python::Complex>(payload("complex_neg_imag")).unwrap(),
        Complex { re: 1.5, im: -0.5 }
    );
    assert_eq!(msgpack::from_slice::<(f64, f64)>(payload("complex")).unwrap(), (1.0, 2.0));
    assert_eq!(msgpack::from_slice::<u128>(payload("int_2p64")).unwrap(), 1 << 64);
    assert_eq!(msgpack::from_slice::<u64>(payload("int_u64_max")).unwrap(), u64::MAX);
    // A big int borrowed straight from the payload.
    let bytes = payload("int_big");
    let big: BigInt<'_> = msgpack::from_slice(bytes).unwrap();
    assert!(std::ptr::eq(big.as_str().as_ptr(), bytes[3..].as_ptr()));
    // Too big for the target: a typed error with the offset.
    let err = msgpack::from_slice::<i64>(payload("int_2p64")).unwrap_err();
    assert!(matches!(err, Error::InvalidType { offset: Some(0), .. }), "{err:?}");
    let err = msgpack::from_slice::<u8>(payload("int_256")).unwrap_err();
    assert!(matches!(err, Error::Custom { offset: Some(0), .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------
// (3) Malformed input

#[test]
fn every_truncated_payload_is_refused_with_an_offset() {
    for (name, h) in index() {
        if h.is_none() {
            continue;
        }
        let bytes = payload(&name);
        for cut in 0..bytes.len() {
            let part = &bytes[..cut];
            for err in [
                msgpack::skip_value(part).unwrap_err(),
                msgpack::from_slice::<IgnoredAny>(part).unwrap_err(),
                msgpack::from_slice::<Shape>(part).unwrap_err(),
            ] {
                assert!(
                    matches!(err, Error::Truncated { .. } | Error::LengthExceedsInput { .. }),
                    "{name}[..{cut}]: {err:?}"
                );
                assert!(err.offset().unwrap() <= cut, "{name}[..{cut}]: {err:?}");
                assert_eq!(err.pyro_class(), "builtins.ValueError");
            }
        }
    }
}

#[test]
fn unused_type_byte_is_a_format_error() {
    let err = msgpack::from_slice::<IgnoredAny>(&[0x92, 0x01, 0xc1]).unwrap_err();
    assert_eq!(err, Error::InvalidMarker { marker: 0xc1, offset: 2 });
    assert_eq!(err.pyro_class(), "msgpack.exceptions.FormatError");
    assert_eq!(err.to_string(), "invalid msgpack type byte 0xc1 at byte 2");
}

#[test]
fn huge_announced_lengths_are_refused_before_reading() {
    let cases: [(&[u8], Error); 6] = [
        (
            &[0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0],
            Error::LengthExceedsInput { kind: "array", count: 0xffff_ffff, remaining: 1, offset: 0 },
        ),
        (
            &[0x91, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0],
            Error::LengthExceedsInput { kind: "map", count: 0xffff_ffff, remaining: 2, offset: 1 },
        ),
        (&[0x83, 0xc0, 0xc0, 0xc0, 0xc0], Error::LengthExceedsInput { kind: "map", count: 3, remaining: 4, offset: 0 }),
        (&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'], Error::Truncated { offset: 0 }),
        (&[0xc6, 0xff, 0xff, 0xff, 0xff, 0], Error::Truncated { offset: 0 }),
        (&[0xc9, 0xff, 0xff, 0xff, 0xff, 0x31, b'1'], Error::Truncated { offset: 0 }),
    ];
    for (input, expected) in cases {
        assert_eq!(msgpack::from_slice::<IgnoredAny>(input).unwrap_err(), expected, "{input:02x?}");
        assert_eq!(msgpack::from_slice::<Shape>(input).unwrap_err(), expected, "{input:02x?}");
        assert_eq!(msgpack::skip_value(input).unwrap_err(), expected, "{input:02x?}");
    }
}

#[test]
fn nesting_past_the_depth_limit_is_refused_without_recursing() {
    let mut deep = vec![0x91u8; 10_000];
    deep.push(0xc0);
    let expected = Error::DepthLimit { max_depth: DEFAULT_MAX_DEPTH, offset: DEFAULT_MAX_DEPTH };
    assert_eq!(msgpack::skip_value(&deep).unwrap_err(), expected);
    assert_eq!(msgpack::from_slice::<IgnoredAny>(&deep).unwrap_err(), expected);
    assert_eq!(msgpack::from_slice::<Shape>(&deep).unwrap_err(), expected);
    assert_eq!(expected.pyro_class(), "msgpack.exceptions.StackError");
    // Maps count too.
    let mut maps = vec![];
    for _ in 0..10_000 {
        maps.extend_from_slice(&[0x81, 0xc0]);
    }
    maps.push(0xc0);
    assert!(matches!(msgpack::from_slice::<Shape>(&maps).unwrap_err(), Error::DepthLimit { max_depth: 128, .. }));
    // Exactly at the limit is fine.
    let mut at_limit = vec![0x91u8; DEFAULT_MAX_DEPTH];
    at_limit.push(0xc0);
    msgpack::from_slice::<Shape>(&at_limit).unwrap();
    msgpack::skip_value(&at_limit).unwrap();
}

#[test]
fn invalid_utf8_in_a_str_is_refused() {
    let input = [0x92, 0xa1, b'a', 0xa2, 0xff, 0xfe];
    for err in [
        msgpack::from_slice::<Vec<&str>>(&input).unwrap_err(),
        msgpack::from_slice::<IgnoredAny>(&input).unwrap_err(),
        msgpack::skip_value(&input).unwrap_err(),
    ] {
        assert_eq!(err, Error::InvalidUtf8 { offset: 3 });
        assert_eq!(err.pyro_class(), "builtins.UnicodeDecodeError");
    }
    // Lone surrogates (which Python cannot encode either) are not UTF-8.
    assert_eq!(msgpack::from_slice::<&str>(&[0xa3, 0xed, 0xa0, 0x80]).unwrap_err(), Error::InvalidUtf8 { offset: 0 });
}

#[test]
fn trailing_bytes_are_refused_by_from_slice_but_kept_by_skip_value() {
    let err = msgpack::from_slice::<u8>(&[0x01, 0x02]).unwrap_err();
    assert_eq!(err, Error::TrailingBytes { offset: 1 });
    assert_eq!(err.pyro_class(), "msgpack.exceptions.ExtraData");
    assert_eq!(msgpack::skip_value(&[0x01, 0x02]).unwrap(), (&[0x01][..], &[0x02][..]));
}

#[test]
fn unknown_ext_codes_are_refused_with_pyro5s_message() {
    // msgpack's own timestamp (-1) too: Python's msgpack turns it into a `msgpack.Timestamp`
    // before Pyro5's ext_hook could refuse it; we have no such type and refuse it.
    for (input, code) in [(&[0xd4u8, 0x05, 0x00][..], 5i8), (&[0xd6, 0xff, 0, 0, 0, 1][..], -1)] {
        let err = msgpack::from_slice::<IgnoredAny>(input).unwrap_err();
        assert_eq!(err, Error::UnknownExtCode { code, offset: 0 });
        assert!(err.to_string().starts_with(&format!("invalid ext code for msgpack: {code}")));
        assert_eq!(err.pyro_class(), "Pyro5.errors.SerializeError");
        assert_eq!(msgpack::skip_value(input).unwrap_err(), err);
    }
    // Python's int() takes a sign and leading zeros; wider than 128 bits the text must be
    // normalized to be handed over.
    assert_eq!(msgpack::from_slice::<Shape>(b"\xc7\x03\x31-01").unwrap(), Shape::I64(-1));
    assert_eq!(msgpack::from_slice::<Shape>(b"\xc7\x03\x31+07").unwrap(), Shape::I64(7));
    let wide = format!("0{}", u128::MAX);
    let mut input = vec![0xc7, wide.len() as u8 + 1, 0x31, b'-'];
    input.extend_from_slice(wide.as_bytes());
    assert_eq!(msgpack::from_slice::<Shape>(&input).unwrap_err(), Error::InvalidBigInt { offset: 0 });
    for bad in [&b"\xd4\x31-"[..], b"\xd5\x31 1", b"\xd5\x311_", b"\xc7\x00\x31", b"\xd5\x31\xff\xfe"] {
        assert_eq!(msgpack::from_slice::<Shape>(bad).unwrap_err(), Error::InvalidBigInt { offset: 0 }, "{bad:02x?}");
    }
    let err = msgpack::from_slice::<Shape>(&[0xd6, 0x33, 0, 0, 0, 0]).unwrap_err();
    assert_eq!(err, Error::InvalidExtLength { code: 0x33, len: 4, expected: 8, offset: 0 });
    assert_eq!(err.pyro_class(), "struct.error");
}

#[test]
fn wrong_types_are_typed_errors_with_the_offset() {
    let err = msgpack::from_slice::<(i64, &str)>(&[0x92, 0x01, 0xc3]).unwrap_err();
    assert!(matches!(&err, Error::InvalidType { offset: Some(2), .. }), "{err:?}");
    assert_eq!(err.pyro_class(), "builtins.TypeError");
    assert_eq!(err.to_string(), "invalid type: boolean `true`, expected a borrowed string (msgpack value at byte 2)");
    let err = msgpack::from_slice::<(i64, i64, i64)>(&[0x92, 0x01, 0x02]).unwrap_err();
    assert!(matches!(&err, Error::Custom { offset: Some(0), .. }), "{err:?}");
}

fn no_panic_on(bytes: &[u8]) {
    fn check<T: for<'de> Deserialize<'de>>(bytes: &[u8]) {
        if let Err(e) = msgpack::from_slice::<T>(bytes) {
            if let Some(offset) = e.offset() {
                assert!(offset <= bytes.len(), "{e:?}");
            }
            let _ = (e.to_string(), e.pyro_class());
        }
    }
    check::<IgnoredAny>(bytes);
    check::<Shape>(bytes);
    check::<Plain>(bytes);
    check::<(String, Vec<i64>, Option<f64>)>(bytes);
    check::<BTreeMap<String, ByteBuf>>(bytes);
    check::<Complex>(bytes);
    check::<Roundtrip>(bytes);
    if let Ok((span, rest)) = msgpack::skip_value(bytes) {
        assert_eq!(span.len() + rest.len(), bytes.len());
        msgpack::from_slice::<IgnoredAny>(span).unwrap();
        msgpack::from_slice::<Shape>(span).unwrap();
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        no_panic_on(&bytes);
    }

    #[test]
    fn mutated_payloads_never_panic(
        which in 0usize..200,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
    ) {
        let entries: Vec<_> = index().into_iter().filter(|(_, h)| h.is_some()).collect();
        let (name, _) = &entries[which % entries.len()];
        let mut bytes = payload(name).to_vec();
        for (at, b) in edits {
            let len = bytes.len();
            bytes[at % len] = b;
        }
        no_panic_on(&bytes);
    }
}

// ---------------------------------------------------------------------------------------
// (4) Round trips

#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
enum Kind {
    Unit,
    Newtype(i32),
    Pair(u8, String),
    Named { x: i64, tag: Option<String> },
}

#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
struct Roundtrip {
    small: i8,
    int: i64,
    uint: u64,
    wide: i128,
    uwide: u128,
    real: f64,
    single: f32,
    letter: char,
    text: String,
    bytes: ByteBuf,
    list: Vec<i32>,
    map: BTreeMap<String, i64>,
    keyed: BTreeMap<i16, bool>,
    maybe: Option<bool>,
    kinds: Vec<Kind>,
    tuple: (u16, String, ()),
    unit: (),
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Unit),
        any::<i32>().prop_map(Kind::Newtype),
        (any::<u8>(), ".*").prop_map(|(a, b)| Kind::Pair(a, b)),
        (any::<i64>(), proptest::option::of(".{0,40}")).prop_map(|(x, tag)| Kind::Named { x, tag }),
    ]
}

prop_compose! {
    fn roundtrip()(
        small in any::<i8>(), int in any::<i64>(), uint in any::<u64>(), wide in any::<i128>(), uwide in any::<u128>(),
        real in any::<f64>().prop_filter("NaN != NaN", |x| !x.is_nan()),
        single in any::<f32>().prop_filter("NaN != NaN", |x| !x.is_nan()),
        letter in any::<char>(), text in ".{0,300}",
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        list in proptest::collection::vec(any::<i32>(), 0..40),
        map in proptest::collection::btree_map(".{0,8}", any::<i64>(), 0..20),
        keyed in proptest::collection::btree_map(any::<i16>(), any::<bool>(), 0..20),
        maybe in proptest::option::of(any::<bool>()),
        kinds in proptest::collection::vec(kind(), 0..6),
        tuple in (any::<u16>(), ".{0,4}"),
    ) -> Roundtrip {
        Roundtrip {
            small, int, uint, wide, uwide, real, single, letter, text, bytes: ByteBuf(bytes), list, map, keyed,
            maybe, kinds, tuple: (tuple.0, tuple.1, ()), unit: (),
        }
    }
}

proptest! {
    #[test]
    fn typed_values_round_trip(value in roundtrip()) {
        let bytes = encode(&value);
        let back: Roundtrip = msgpack::from_slice(&bytes).unwrap();
        prop_assert_eq!(&back, &value);
    }

    #[test]
    fn skip_value_span_deserializes_like_in_place(value in roundtrip(), tail in any::<u8>()) {
        // [value, tail] as an array, and value followed by more bytes.
        let bytes = encode(&(&value, tail));
        let mut de = Deserializer::new(&bytes[1..]);
        let span = de.skip_value().unwrap();
        let from_span: Roundtrip = msgpack::from_slice(span).unwrap();
        let in_place: (Roundtrip, u8) = msgpack::from_slice(&bytes).unwrap();
        prop_assert_eq!(&from_span, &in_place.0);
        let (first, rest) = msgpack::skip_value(&bytes[1..]).unwrap();
        prop_assert_eq!(first, span);
        prop_assert_eq!(msgpack::from_slice::<u8>(rest).unwrap(), tail);
    }

    #[test]
    fn python_ints_of_any_width_round_trip(v in any::<i128>(), u in any::<u128>()) {
        prop_assert_eq!(msgpack::from_slice::<i128>(&encode(&v)).unwrap(), v);
        prop_assert_eq!(msgpack::from_slice::<u128>(&encode(&u)).unwrap(), u);
        let text = v.to_string();
        let big = BigInt::new(&text).unwrap();
        prop_assert_eq!(encode(&big), encode(&v));
        let bytes = encode(&big);
        if i64::try_from(v).is_err() && u64::try_from(v).is_err() {
            prop_assert_eq!(msgpack::from_slice::<BigInt<'_>>(&bytes).unwrap(), big);
        }
    }
}

#[test]
fn serde_data_model_maps_to_python_types() {
    assert_eq!(encode(&Kind::Unit), b"\xa4Unit");
    assert_eq!(encode(&Kind::Newtype(-1)), b"\x81\xa7Newtype\xff");
    assert_eq!(encode(&Kind::Pair(1, "a".into())), b"\x81\xa4Pair\x92\x01\xa1a");
    assert_eq!(encode(&Kind::Named { x: 2, tag: None }), b"\x81\xa5Named\x82\xa1x\x02\xa3tag\xc0");
    for kind in [Kind::Unit, Kind::Newtype(-1), Kind::Pair(1, "a".into()), Kind::Named { x: 2, tag: None }] {
        assert_eq!(msgpack::from_slice::<Kind>(&encode(&kind)).unwrap(), kind);
    }
    assert_eq!(encode(&'é'), [0xa2, 0xc3, 0xa9]);
    assert_eq!(encode(&1.5f32), encode(&1.5f64));
    assert_eq!(encode(&()), [0xc0]);
    assert_eq!(encode(&Some(3u8)), [0x03]);
    #[derive(Serialize)]
    struct Unit;
    assert_eq!(encode(&Unit), [0xc0]);
    #[derive(Serialize)]
    struct Wrap(u8);
    assert_eq!(encode(&Wrap(7)), [0x07]);
    assert_eq!(encode(&i128::MIN)[..3], [0xc7, 40, 0x31]);
    assert_eq!(encode(&u128::MAX)[..3], [0xc7, 39, 0x31]);
    // Lengths switch forms where Python's msgpack switches them.
    for (len, head) in [(31usize, vec![0xbf]), (32, vec![0xd9, 32]), (255, vec![0xd9, 255]), (256, vec![0xda, 1, 0])] {
        let text = "a".repeat(len);
        assert_eq!(encode(&text)[..head.len()], head[..]);
    }
    let long = vec![0u8; 65536];
    assert_eq!(encode(&ByteBuf(long.clone()))[..5], [0xc6, 0, 1, 0, 0]);
    assert_eq!(encode(&ByteBuf(long[..256].to_vec()))[..3], [0xc5, 1, 0]);
    assert_eq!(encode(&vec![0u8; 15])[..1], [0x9f]);
    assert_eq!(encode(&vec![0u8; 16])[..3], [0xdc, 0, 16]);
    assert_eq!(encode(&long)[..5], [0xdd, 0, 1, 0, 0]);
    let map: BTreeMap<u16, u8> = (0..16).map(|k| (k, 0)).collect();
    assert_eq!(encode(&map)[..3], [0xde, 0, 16]);
}

#[test]
fn serializer_refuses_what_msgpack_cannot_carry() {
    let mut buf = [0u8; 64];
    struct Unsized;
    impl Serialize for Unsized {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq([1, 2].iter().filter(|_| true))
        }
    }
    assert_eq!(msgpack::to_slice(&Unsized, &mut buf).unwrap_err(), Error::UnknownLength);
    struct BadComplex;
    impl Serialize for BadComplex {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_newtype_struct(COMPLEX, "1+2j")
        }
    }
    assert_eq!(msgpack::to_slice(&BadComplex, &mut buf).unwrap_err(), Error::InvalidComplex);
    struct BadBig(&'static str);
    impl Serialize for BadBig {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_newtype_struct(BIGINT, self.0)
        }
    }
    for text in ["", "-", "01", "-0", "1.5", "+1"] {
        assert_eq!(msgpack::to_slice(&BadBig(text), &mut buf).unwrap_err(), Error::InvalidBigIntText, "{text}");
    }
    assert_eq!(msgpack::to_slice(&BadBig("-0").0, &mut buf).unwrap(), 3);
    let err = msgpack::to_slice(&"too long for four bytes", &mut buf[..4]).unwrap_err();
    assert_eq!(err, Error::Output(OutputError::BufferFull { capacity: 4 }));
}

#[test]
fn collect_str_measures_then_writes() {
    struct Shown;
    impl Serialize for Shown {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&format_args!("{}-{}", "x".repeat(20), 12345))
        }
    }
    let expected = encode(&format!("{}-12345", "x".repeat(20)));
    assert_eq!(encode(&Shown), expected);
    assert_eq!(encode(&std::net::Ipv4Addr::LOCALHOST), encode("127.0.0.1"));
}

#[test]
fn all_outputs_write_the_same_bytes() {
    let value = ("obj_id", "method", (1i64, "two"), KwF { kw: 3.5 });
    let expected = payload("call_simple");
    let mut buf = [0u8; 64];
    let len = msgpack::to_slice(&value, &mut buf).unwrap();
    assert_eq!(&buf[..len], expected);
    let mut out = [0u8; 64];
    let mut writer = &mut out[..];
    msgpack::to_writer(&value, &mut writer).unwrap();
    let left = writer.len();
    assert_eq!(&out[..64 - left], expected);
    let mut sink = pyro5_core::ser::SliceOutput::new(&mut buf);
    msgpack::to_output(&value, &mut sink).unwrap();
    assert_eq!(sink.len(), expected.len());
    #[cfg(feature = "alloc")]
    assert_eq!(msgpack::to_vec(&value).unwrap(), expected);
}

// ---------------------------------------------------------------------------------------
// (5) No allocation

#[test]
fn decoding_and_encoding_a_call_allocates_nothing() {
    type Call<'a> = (&'a str, &'a str, (i64, &'a str, f64), Option<()>);
    let call: Call<'_> = ("obj_id", "method", (-7, "two", 2.5), None);
    let bytes = encode(&call);
    assert_eq!(allocation_counter::measure(|| drop(std::hint::black_box(vec![1u8; 8]))).count_total, 1);
    let mut out = [0u8; 128];
    let n = allocation_counter::measure(|| {
        let decoded: Call<'_> = msgpack::from_slice(&bytes).unwrap();
        assert_eq!(decoded, call);
        let len = msgpack::to_slice(&decoded, &mut out).unwrap();
        assert_eq!(&out[..len], &bytes[..]);
        let (span, rest) = msgpack::skip_value(&bytes).unwrap();
        assert_eq!((span.len(), rest.len()), (bytes.len(), 0));
        let big: BigInt<'_> = msgpack::from_slice(payload_static_int_big()).unwrap();
        assert_eq!(big.as_str().len(), 50);
        let c: Complex =
            msgpack::from_slice(&[0xd8, 0x30, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40]).unwrap();
        let len = msgpack::to_slice(&c, &mut out).unwrap();
        assert_eq!(len, 18);
    })
    .count_total;
    assert_eq!(n, 0, "msgpack allocated {n} times");
}

/// `int_big.bin`, embedded so reading it does not count.
fn payload_static_int_big() -> &'static [u8] {
    include_bytes!("../../../shared/vectors/payloads/msgpack/int_big.bin")
}
