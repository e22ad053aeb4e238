//! The marshal serializer against the payloads CPython's `marshal` wrote through Pyro5
//! (`shared/vectors/payloads/marshal/`), malformed input, round trips and allocation.

use std::collections::BTreeMap;
use std::fmt;

use proptest::prelude::*;
use pyro5_core::ser::marshal::{self, Deserializer, Error, from_slice, from_slice_with_scratch, from_span, skip_value};
use pyro5_core::ser::python::{self, BigInt, Complex, FrozenSet, Set};
use serde::de::{self, Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, SerializeTuple};
use serde::{Deserialize, Serialize};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors");

fn payload(name: &str) -> Vec<u8> {
    let path = format!("{VECTORS}/payloads/marshal/{name}.bin");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn dumps<T: ?Sized + Serialize>(value: &T) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    let n = marshal::to_slice(value, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

// ---------------------------------------------------------------------------------------
// Recorded bytes as we would write them: CPython's FLAG_REF bits and interned string codes
// depend on reference counts, so the type bytes are normalized (0x80 cleared, `Z`/`A` to
// `z`/`a`). `None` when the payload holds back-references, which we never write.

fn normalized(bytes: &[u8]) -> Option<Vec<u8>> {
    fn walk(b: &[u8], i: &mut usize, out: &mut Vec<u8>) -> Option<()> {
        let code = b[*i] & 0x7f;
        *i += 1;
        let le32 = |at: usize| i32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        let copy = |n: usize, i: &mut usize, out: &mut Vec<u8>| {
            out.extend_from_slice(&b[*i..*i + n]);
            *i += n;
        };
        match code {
            b'r' => return None,
            b'Z' | b'z' => {
                out.push(b'z');
                let n = b[*i] as usize;
                copy(1 + n, i, out);
            }
            b'A' | b'a' => {
                out.push(b'a');
                let n = le32(*i) as usize;
                copy(4 + n, i, out);
            }
            b'N' | b'T' | b'F' => out.push(code),
            b'i' => {
                out.push(code);
                copy(4, i, out);
            }
            b'g' => {
                out.push(code);
                copy(8, i, out);
            }
            b'y' => {
                out.push(code);
                copy(16, i, out);
            }
            b'l' => {
                out.push(code);
                let n = le32(*i).unsigned_abs() as usize;
                copy(4 + 2 * n, i, out);
            }
            b's' | b'u' => {
                out.push(code);
                let n = le32(*i) as usize;
                copy(4 + n, i, out);
            }
            b')' => {
                out.push(code);
                let n = b[*i] as usize;
                copy(1, i, out);
                for _ in 0..n {
                    walk(b, i, out)?;
                }
            }
            b'(' | b'[' | b'<' | b'>' => {
                out.push(code);
                let n = le32(*i) as usize;
                copy(4, i, out);
                for _ in 0..n {
                    walk(b, i, out)?;
                }
            }
            b'{' => {
                out.push(code);
                while b[*i] & 0x7f != b'0' {
                    walk(b, i, out)?;
                    walk(b, i, out)?;
                }
                *i += 1;
                out.push(b'0');
            }
            other => panic!("unexpected type code {other:#x} in a recorded payload"),
        }
        Some(())
    }
    let mut out = Vec::new();
    let mut i = 0;
    walk(bytes, &mut i, &mut out)?;
    assert_eq!(i, bytes.len());
    Some(out)
}

/// Decodes `name` into `expected`, and (without back-references) encodes `expected` into the
/// recorded bytes, normalized.
fn check<'a, T>(name: &str, bytes: &'a [u8], expected: T)
where
    T: Deserialize<'a> + Serialize + PartialEq + fmt::Debug,
{
    let decoded: T = from_slice(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(decoded, expected, "{name}: decoded");
    match normalized(bytes) {
        Some(recorded) => assert_eq!(dumps(&expected), recorded, "{name}: encoded"),
        None => {
            // We write no references; what we write reads back as the same Python value.
            let ours = dumps(&expected);
            assert_eq!(from_slice::<Py>(&ours).unwrap(), from_slice::<Py>(bytes).unwrap(), "{name}: re-read");
        }
    }
}

macro_rules! typed {
    ($name:literal, $ty:ty, $value:expr) => {{
        let bytes = payload($name);
        check::<$ty>($name, &bytes, $value);
    }};
}

// ---------------------------------------------------------------------------------------
// Test-side Python values, read in exact mode.

/// A Python value as exact mode reports it.
#[derive(Clone, Debug)]
enum Py {
    None,
    Bool(bool),
    Int(i128),
    /// Integers beyond `i128`/`u128`, or above `i128::MAX`: decimal text.
    Big(String),
    Float(f64),
    Complex(f64, f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Py>),
    List(Vec<Py>),
    Dict(Vec<(Py, Py)>),
    Set(Vec<Py>),
    FrozenSet(Vec<Py>),
}

impl PartialEq for Py {
    /// Python equality, except that NaN equals NaN and -0.0 differs from 0.0; dicts and
    /// sets compare without order.
    fn eq(&self, other: &Self) -> bool {
        fn f(a: f64, b: f64) -> bool {
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
        }
        fn unordered<T, F: Fn(&T, &T) -> bool>(a: &[T], b: &[T], eq: F) -> bool {
            a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| eq(x, y)))
        }
        match (self, other) {
            (Py::None, Py::None) => true,
            (Py::Bool(a), Py::Bool(b)) => a == b,
            (Py::Int(a), Py::Int(b)) => a == b,
            (Py::Big(a), Py::Big(b)) => a == b,
            (Py::Float(a), Py::Float(b)) => f(*a, *b),
            (Py::Complex(a, b), Py::Complex(c, d)) => f(*a, *c) && f(*b, *d),
            (Py::Str(a), Py::Str(b)) => a == b,
            (Py::Bytes(a), Py::Bytes(b)) => a == b,
            (Py::Tuple(a), Py::Tuple(b)) | (Py::List(a), Py::List(b)) => a == b,
            (Py::Set(a), Py::Set(b)) | (Py::FrozenSet(a), Py::FrozenSet(b)) => unordered(a, b, |x, y| x == y),
            (Py::Dict(a), Py::Dict(b)) => unordered(a, b, |x, y| x == y),
            _ => false,
        }
    }
}

impl Serialize for Py {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Items<'a>(&'a [Py]);
        impl Serialize for Items<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for item in self.0 {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
        match self {
            Py::None => s.serialize_none(),
            Py::Bool(b) => s.serialize_bool(*b),
            Py::Int(i) => s.serialize_i128(*i),
            Py::Big(text) => s.serialize_newtype_struct(python::BIGINT, text.as_str()),
            Py::Float(f) => s.serialize_f64(*f),
            Py::Complex(re, im) => Complex { re: *re, im: *im }.serialize(s),
            Py::Str(text) => s.serialize_str(text),
            Py::Bytes(b) => s.serialize_bytes(b),
            Py::Tuple(items) => {
                let mut t = s.serialize_tuple(items.len())?;
                for item in items {
                    t.serialize_element(item)?;
                }
                t.end()
            }
            Py::List(items) => Items(items).serialize(s),
            Py::Dict(entries) => {
                let mut m = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Py::Set(items) => s.serialize_newtype_struct(python::SET, &Items(items)),
            Py::FrozenSet(items) => s.serialize_newtype_struct(python::FROZENSET, &Items(items)),
        }
    }
}

impl<'de> Deserialize<'de> for Py {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(python::VALUE, PyVisitor)
    }
}

/// The test visitor of exact mode: tokens name tuples, sets, complex numbers and big ints.
struct PyVisitor;

impl<'de> Visitor<'de> for PyVisitor {
    type Value = Py;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Python value")
    }
    fn visit_unit<E>(self) -> Result<Py, E> {
        Ok(Py::None)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Py, E> {
        Ok(Py::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Py, E> {
        Ok(Py::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Py, E> {
        Ok(Py::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Py, E> {
        Ok(Py::Int(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Py, E> {
        Ok(i128::try_from(v).map_or_else(|_| Py::Big(v.to_string()), Py::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Py, E> {
        Ok(Py::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Py, E> {
        Ok(Py::Str(v.to_owned()))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Py, E> {
        Ok(Py::Bytes(v.to_vec()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Py, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Py::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Py, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Py>()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Py::Dict(entries))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Py, A::Error> {
        use de::VariantAccess;
        let (token, content) = data.variant::<String>()?;
        Ok(match token.as_str() {
            python::TUPLE => Py::Tuple(content.newtype_variant()?),
            python::SET => Py::Set(content.newtype_variant()?),
            python::FROZENSET => Py::FrozenSet(content.newtype_variant()?),
            python::COMPLEX => {
                let (re, im) = content.newtype_variant()?;
                Py::Complex(re, im)
            }
            python::BIGINT => Py::Big(content.newtype_variant()?),
            other => panic!("unknown token {other}"),
        })
    }
}

/// The expected value from `index.json`'s tagged `wire_decoded`.
fn from_json(v: &serde_json::Value) -> Py {
    use serde_json::Value as J;
    let float = |v: &J| match v {
        J::Object(o) => match o["$float"].as_str().unwrap() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "-0.0" => -0.0,
            other => panic!("{other}"),
        },
        n => n.as_f64().unwrap(),
    };
    match v {
        J::Null => Py::None,
        J::Bool(b) => Py::Bool(*b),
        J::Number(n) if n.is_f64() => Py::Float(n.as_f64().unwrap()),
        J::Number(n) => Py::Int(n.as_i64().map(i128::from).unwrap_or_else(|| n.as_u64().unwrap().into())),
        J::String(s) => Py::Str(s.clone()),
        J::Array(items) => Py::List(items.iter().map(from_json).collect()),
        J::Object(o) if o.len() == 1 && o.keys().next().unwrap().starts_with('$') => {
            let (tag, inner) = o.iter().next().unwrap();
            let items = || inner.as_array().unwrap().iter().map(from_json).collect();
            match tag.as_str() {
                "$int" => {
                    let text = inner.as_str().unwrap();
                    text.parse::<i128>().map_or_else(|_| Py::Big(text.to_owned()), Py::Int)
                }
                "$float" => Py::Float(float(v)),
                "$bytes" => Py::Bytes(hex(inner.as_str().unwrap())),
                "$tuple" => Py::Tuple(items()),
                "$set" => Py::Set(items()),
                "$frozenset" => Py::FrozenSet(items()),
                "$complex" => {
                    let pair = inner.as_array().unwrap();
                    Py::Complex(float(&pair[0]), float(&pair[1]))
                }
                "$dict" => Py::Dict(
                    inner.as_array().unwrap().iter().map(|kv| (from_json(&kv[0]), from_json(&kv[1]))).collect(),
                ),
                other => panic!("unknown tag {other}"),
            }
        }
        J::Object(o) => Py::Dict(o.iter().map(|(k, v)| (Py::Str(k.clone()), from_json(v))).collect()),
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn recorded_payloads() -> &'static [serde_json::Value] {
    static PAYLOADS: std::sync::OnceLock<Vec<serde_json::Value>> = std::sync::OnceLock::new();
    PAYLOADS.get_or_init(|| {
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{VECTORS}/index.json")).unwrap()).unwrap();
        index["payloads"].as_array().unwrap().iter().filter(|p| p["serializer"] == "marshal").cloned().collect()
    })
}

// ---------------------------------------------------------------------------------------
// (1) Every recorded payload.

#[test]
fn every_recorded_payload_decodes_to_its_python_value_and_reencodes_to_its_bytes() {
    let payloads = recorded_payloads();
    assert!(payloads.len() > 80);
    let (mut encoded, mut decoded_only) = (0, 0);
    for p in payloads {
        let name = p["value"].as_str().unwrap();
        if p.get("dumps_error").is_some() {
            continue;
        }
        let bytes = hex(p["hex"].as_str().unwrap());
        assert_eq!(bytes, payload(name), "{name}: index.json and the .bin file agree");
        let (span, rest) = skip_value(&bytes).unwrap_or_else(|e| panic!("{name}: skip: {e}"));
        assert_eq!((span.len(), rest.len()), (bytes.len(), 0), "{name}");
        let wire = &p["wire_decoded"];
        if wire.get("$str_codepoints").is_some() {
            assert_eq!(from_slice::<Py>(&bytes), Err(Error::LoneSurrogate { offset: 0 }), "{name}");
            decoded_only += 1;
            continue;
        }
        let expected = from_json(wire);
        let decoded: Py = from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded, expected, "{name}");
        if let Some(recorded) = normalized(&bytes) {
            assert_eq!(dumps(&decoded), recorded, "{name}: our bytes");
            encoded += 1;
        } else {
            decoded_only += 1;
        }
    }
    // Only the lone surrogate and the three payloads holding back-references are not
    // compared byte for byte.
    let written = payloads.iter().filter(|p| p.get("hex").is_some()).count();
    assert_eq!((encoded, decoded_only), (written - 4, 4));
}

#[test]
fn payloads_with_back_references_decode_and_reencode_without_them() {
    for name in ["proxy", "exception_wrapper", "dict_mixed_keys"] {
        let bytes = payload(name);
        assert!(normalized(&bytes).is_none(), "{name} holds references");
        let value: Py = from_slice(&bytes).unwrap();
        let ours = dumps(&value);
        assert!(normalized(&ours).is_some(), "we write no references");
        assert_eq!(from_slice::<Py>(&ours).unwrap(), value, "{name}");
    }
}

/// An `f64` compared by bits (NaN equals NaN, -0.0 differs from 0.0).
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
struct Bits(f64);

impl PartialEq for Bits {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits() || (self.0.is_nan() && other.0.is_nan())
    }
}

/// Bytes serialized as bytes (not as a sequence), borrowed when read.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(transparent)]
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Item<'a> {
    Int(i64),
    #[serde(borrow)]
    Str(&'a str),
    Float(f64),
    None(()),
    List(Vec<bool>),
}

#[test]
fn scalars_decode_to_typed_values_and_encode_to_the_recorded_bytes() {
    typed!("none", Option<i64>, None);
    typed!("none", (), ());
    typed!("true", bool, true);
    typed!("false", bool, false);
    for (name, v) in [
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
        let bytes = payload(name);
        check(name, &bytes, v);
    }
    typed!("int_2p63", u64, 1 << 63);
    typed!("int_u64_max", u64, u64::MAX);
    typed!("int_2p64", i128, 1 << 64);
    typed!("int_2p64", u128, 1 << 64);
    typed!("int_neg_2p63_minus1", i128, -(1 << 63) - 1);
    for (name, v) in [
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
        let bytes = payload(name);
        check(name, &bytes, Bits(v));
    }
}

#[test]
fn big_ints_encode_from_decimal_text_and_decode_into_scratch() {
    for (name, text) in [
        ("int_big", "12345678901234567890123456789012345678901234567890"),
        ("int_big_neg", "-10000000000000000000000000000000000000000"),
        ("int_2p64", "18446744073709551616"),
        ("int_i64_min", "-9223372036854775808"),
        ("int_0", "0"),
    ] {
        let bytes = payload(name);
        assert_eq!(dumps(&BigInt::new(text).unwrap()), normalized(&bytes).unwrap(), "{name}");
        if name.starts_with("int_big") {
            let mut scratch = [0u8; 64];
            let decoded: BigInt<'_> = from_slice_with_scratch(&bytes, &mut scratch).unwrap();
            assert_eq!(decoded.as_str(), text);
        }
    }
    // Without scratch, the text is lent for the call: an owned String takes it.
    assert_eq!(
        from_slice::<String>(&payload("int_big")).unwrap(),
        "12345678901234567890123456789012345678901234567890"
    );
    // A BigInt within 128 bits is an ordinary integer, which BigInt (decimal text) refuses.
    let mut scratch = [0u8; 64];
    assert!(from_slice_with_scratch::<BigInt<'_>>(&payload("int_2p64"), &mut scratch).is_err());
}

#[test]
fn strings_and_bytes_are_borrowed_from_the_payload() {
    for (name, text) in [
        ("str_empty", ""),
        ("str_ascii", "hello"),
        ("str_quote_single", "it's"),
        ("str_quote_both", "it's \"q\""),
        ("str_quote_double", "say \"hi\""),
        ("str_escapes", "tab\tnl\ncr\rbs\\nul\0bel\x07del\x7f"),
        ("str_latin1", "caf\u{e9} \u{a0}nbsp \u{ad} shy"),
        ("str_bmp", "\u{20ac} \u{4e2d}\u{6587} \u{2028} \u{feff} \u{d7ff}"),
        ("str_astral", "\u{1f600} \u{1d11e} \u{e0001}"),
        ("uuid", "12345678-1234-5678-1234-567812345678"),
        ("array_unicode", "ab"),
    ] {
        let bytes = payload(name);
        check(name, &bytes, text);
    }
    for (name, b) in [
        ("bytes_empty", &b""[..]),
        ("bytes_small", &b"\x00\x01\xff"[..]),
        ("bytes_ascii", &b"hello"[..]),
        ("bytearray", &b"ba"[..]),
    ] {
        let bytes = payload(name);
        check(name, &bytes, Bytes(b));
    }
}

#[test]
fn containers_decode_to_typed_values_and_encode_to_the_recorded_bytes() {
    typed!("tuple_empty", [i64; 0], []);
    typed!("tuple_1", (i64,), (1,));
    typed!("tuple_2", (i64, i64), (1, 2));
    typed!("tuple_nested", ((i64, (i64,)), ([i64; 0],), &str), ((1, (2,)), ([],), "x"));
    typed!("list_empty", Vec<i64>, vec![]);
    typed!("list_1", Vec<i64>, vec![1]);
    typed!("array_int", Vec<i64>, vec![1, 2]);
    typed!(
        "list_mixed",
        Vec<Item<'_>>,
        vec![Item::Int(1), Item::Str("a"), Item::None(()), Item::Float(2.5), Item::List(vec![true])]
    );
    typed!("dict_empty", BTreeMap<&str, i64>, BTreeMap::new());
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct AB {
        a: i64,
        b: Vec<i64>,
    }
    typed!("dict_str_keys", AB, AB { a: 1, b: vec![2, 3] });
    typed!("dict_int_keys", BTreeMap<i64, &str>, BTreeMap::from([(1, "one"), (2, "two")]));
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct State {
        state_key: i64,
    }
    typed!("custom_class_getstate", State, State { state_key: 42 });
}

/// Sets as `python::Set` going out and as sequences coming in.
#[test]
fn sets_frozensets_and_complex_numbers_follow_the_contract() {
    let check_set = |name: &str, set: &dyn erased::Ser, items: Vec<i64>| {
        let bytes = payload(name);
        assert_eq!(from_slice::<Vec<i64>>(&bytes).unwrap(), items, "{name}");
        assert_eq!(set.dumps(), normalized(&bytes).unwrap(), "{name}");
    };
    check_set("set_empty", &Set::<i64>(&[]), vec![]);
    check_set("set_ints", &Set(&[1i64, 2, 3]), vec![1, 2, 3]);
    check_set("frozenset", &FrozenSet(&[1i64, 2]), vec![1, 2]);
    let bytes = payload("set_strs");
    assert_eq!(from_slice::<Vec<&str>>(&bytes).unwrap(), ["a", "b"]);
    assert_eq!(dumps(&Set(&["a", "b"])), normalized(&bytes).unwrap());
    let bytes = payload("set_of_tuples");
    // In the order CPython iterated the set.
    let expected = [Py::Tuple(vec![Py::Int(3)]), Py::Tuple(vec![Py::Int(1), Py::Int(2)])];
    assert_eq!(dumps(&Set(&expected)), normalized(&bytes).unwrap());
    for (name, re, im) in [("complex", 1.0, 2.0), ("complex_neg_imag", 1.5, -0.5), ("complex_nan", f64::NAN, 1.0)] {
        let bytes = payload(name);
        let c: Complex = from_slice(&bytes).unwrap();
        assert!(Bits(c.re) == Bits(re) && c.im == im, "{name}");
        assert_eq!(dumps(&c), normalized(&bytes).unwrap(), "{name}");
        // Typed targets see the natural serde shape: a pair.
        let (r, i): (Bits, f64) = from_slice(&bytes).unwrap();
        assert!(r == Bits(re) && i == im);
    }
}

mod erased {
    pub trait Ser {
        fn dumps(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn dumps(&self) -> Vec<u8> {
            super::dumps(self)
        }
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Exception<'a, A> {
    #[serde(rename = "__class__")]
    class: &'a str,
    #[serde(rename = "__exception__")]
    exception: bool,
    args: A,
    #[serde(borrow)]
    attributes: BTreeMap<&'a str, &'a str>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Uri<'a> {
    #[serde(rename = "__class__")]
    class: &'a str,
    #[serde(borrow)]
    state: (&'a str, &'a str, Option<&'a str>, Option<&'a str>, Option<u16>),
}

#[test]
fn pyro_objects_decode_to_typed_values() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Plain<'a> {
        a: i64,
        b: &'a str,
        #[serde(rename = "__class__")]
        class: &'a str,
    }
    typed!("custom_class_vars", Plain<'_>, Plain { a: 1, b: "two", class: "__main__.Plain" });
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Slotted<'a> {
        x: i64,
        y: i64,
        #[serde(rename = "__class__")]
        class: &'a str,
    }
    typed!("custom_class_slots", Slotted<'_>, Slotted { x: 1, y: 2, class: "__main__.Slotted" });
    let exc = |class, args| Exception { class, exception: true, args, attributes: BTreeMap::new() };
    typed!("exception_valueerror", Exception<'_, (&str,)>, exc("builtins.ValueError", ("bad value",)));
    typed!("exception_custom", Exception<'_, (&str,)>, exc("__main__.CustomError", ("custom",)));
    typed!("exception_pyro", Exception<'_, (&str,)>, exc("Pyro5.errors.NamingError", ("unknown name: x",)));
    typed!(
        "exception_with_attr",
        Exception<'_, (&str, i64)>,
        Exception {
            class: "builtins.ValueError",
            exception: true,
            args: ("bad value", 42),
            attributes: BTreeMap::from([("custom_attr", "extra")]),
        }
    );
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Wrapper<'a> {
        #[serde(rename = "__class__")]
        class: &'a str,
        #[serde(borrow)]
        exception: Exception<'a, (&'a str,)>,
    }
    typed!(
        "exception_wrapper",
        Wrapper<'_>,
        Wrapper { class: "Pyro5.core._ExceptionWrapper", exception: exc("builtins.ValueError", ("wrapped",)) }
    );
    let uri = |state| Uri { class: "Pyro5.core.URI", state };
    typed!("uri", Uri<'_>, uri(("PYRO", "obj", None, Some("localhost"), Some(9999))));
    typed!("uri_ipv6", Uri<'_>, uri(("PYRO", "obj", None, Some("::1"), Some(9999))));
    typed!("uri_unix", Uri<'_>, uri(("PYRO", "obj", Some("/tmp/sock"), None, None)));
    typed!("pyroname_uri", Uri<'_>, uri(("PYRONAME", "some.name", None, None, None)));
    /// Methods, oneway methods and attributes: empty tuples here.
    type Names<'a> = [&'a str; 0];
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Proxy<'a> {
        #[serde(rename = "__class__")]
        class: &'a str,
        #[serde(borrow)]
        state: (&'a str, Names<'a>, Names<'a>, Names<'a>, &'a str, Option<&'a str>),
    }
    // proxy.bin refers to its empty tuple twice with `r`.
    typed!(
        "proxy",
        Proxy<'_>,
        Proxy { class: "Pyro5.client.Proxy", state: ("PYRO:obj@localhost:9999", [], [], [], "hello", None) }
    );
}

#[test]
fn call_payloads_decode_to_typed_tuples() {
    typed!(
        "call_simple",
        (&str, &str, Vec<Item<'_>>, BTreeMap<&str, f64>),
        ("obj_id", "method", vec![Item::Int(1), Item::Str("two")], BTreeMap::from([("kw", 3.5)]))
    );
    typed!("call_noargs", (&str, &str, Vec<i64>, BTreeMap<&str, i64>), ("obj_id", "ping", vec![], BTreeMap::new()));
    typed!(
        "call_list_vargs",
        (&str, &str, Vec<&str>, BTreeMap<&str, i64>),
        ("Pyro.Daemon", "get_metadata", vec!["obj_id"], BTreeMap::new())
    );
    typed!(
        "call_tuple_like",
        (&str, &str, (i64, i64), BTreeMap<&str, &str>),
        ("obj", "method", (1, 2), BTreeMap::from([("k", "v")]))
    );
}

#[test]
fn spans_of_call_arguments_read_back_in_context() {
    // The envelope of a call, one argument at a time: proxy.bin's state tuple refers back
    // to the empty tuple with `r`, which only resolves against the whole payload.
    let bytes = payload("proxy");
    let (value, _) = skip_value(&bytes).unwrap();
    assert_eq!(value.len(), bytes.len());
    // {  '__class__' value 'state' (tuple ...)  0
    let mut rest = &bytes[1..];
    let mut spans = Vec::new();
    while rest[0] != b'0' {
        let (span, tail) = skip_value(rest).unwrap();
        spans.push(span);
        rest = tail;
    }
    assert_eq!(spans.len(), 4);
    let state = spans[3];
    let mut items = &state[2..];
    let mut item_spans = Vec::new();
    for _ in 0..6 {
        let (span, tail) = skip_value(items).unwrap();
        item_spans.push(span);
        items = tail;
    }
    assert_eq!(from_span::<&str>(&bytes, item_spans[0]).unwrap(), "PYRO:obj@localhost:9999");
    // item 2 is `r 2`: the empty tuple registered in item 1.
    assert_eq!(item_spans[2][0], b'r');
    assert_eq!(from_span::<[i64; 0]>(&bytes, item_spans[2]).unwrap(), [0i64; 0]);
    assert_eq!(from_span::<Py>(&bytes, item_spans[3]).unwrap(), Py::Tuple(vec![]));
    // Read alone, the reference has nothing to point to.
    assert!(matches!(from_slice::<[i64; 0]>(item_spans[2]), Err(Error::InvalidReference { index: 2, .. })));
    assert_eq!(from_span::<&str>(&bytes, item_spans[4]).unwrap(), "hello");
}

// ---------------------------------------------------------------------------------------
// (2) Exact mode.

#[test]
fn exact_mode_reports_python_types_as_token_variants() {
    assert_eq!(from_slice::<Py>(&payload("tuple_nested")).unwrap(), {
        let t = Py::Tuple;
        t(vec![t(vec![Py::Int(1), t(vec![Py::Int(2)])]), t(vec![t(vec![])]), Py::Str("x".into())])
    });
    assert_eq!(from_slice::<Py>(&payload("frozenset")).unwrap(), Py::FrozenSet(vec![Py::Int(1), Py::Int(2)]));
    assert_eq!(from_slice::<Py>(&payload("set_empty")).unwrap(), Py::Set(vec![]));
    assert_eq!(from_slice::<Py>(&payload("complex")).unwrap(), Py::Complex(1.0, 2.0));
    assert_eq!(
        from_slice::<Py>(&payload("int_big_neg")).unwrap(),
        Py::Big("-10000000000000000000000000000000000000000".into())
    );
    // Within 128 bits an int is an int; lists and dicts are reported as usual.
    assert_eq!(from_slice::<Py>(&payload("int_2p64")).unwrap(), Py::Int(1 << 64));
    assert_eq!(from_slice::<Py>(&payload("list_1")).unwrap(), Py::List(vec![Py::Int(1)]));
    // A dict keyed by a token is a dict.
    let forged = Py::Dict(vec![(Py::Str(python::SET.into()), Py::List(vec![Py::Int(1)]))]);
    assert_eq!(from_slice::<Py>(&dumps(&forged)).unwrap(), forged);
    // The tokens are borrowed variant names, and exact mode applies to one value only: a
    // visitor that asks once sees the inner tuple as a plain sequence.
    struct Once;
    impl<'de> Visitor<'de> for Once {
        type Value = (&'static str, usize);
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a tuple's report")
        }
        fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
            use de::VariantAccess;
            let (token, content) = data.variant::<&str>()?;
            assert_eq!(token, python::TUPLE);
            let items: Vec<serde_json::Value> = content.newtype_variant()?;
            Ok((python::TUPLE, items.len()))
        }
    }
    let bytes = payload("tuple_nested");
    let mut de = Deserializer::new(&bytes);
    assert_eq!((&mut de).deserialize_newtype_struct(python::VALUE, Once).unwrap(), (python::TUPLE, 3));
    de.end().unwrap();
}

#[test]
fn typed_targets_see_the_natural_serde_shape() {
    use serde_json::{Value, json};
    let v = |name: &str| from_slice::<Value>(&payload(name)).unwrap();
    assert_eq!(v("tuple_2"), json!([1, 2]));
    assert_eq!(v("set_ints"), json!([1, 2, 3]));
    assert_eq!(v("complex"), json!([1.0, 2.0]));
    assert_eq!(v("int_big"), json!("12345678901234567890123456789012345678901234567890"));
    assert_eq!(v("uri")["state"], json!(["PYRO", "obj", null, "localhost", 9999]));
}

// ---------------------------------------------------------------------------------------
// (3) Malformed input.

#[test]
fn truncated_payloads_are_eof_errors_with_offsets() {
    for p in recorded_payloads() {
        let Some(hex_text) = p["hex"].as_str() else { continue };
        let bytes = hex(hex_text);
        for cut in 0..bytes.len() {
            let e = from_slice::<Py>(&bytes[..cut]).unwrap_err();
            assert_eq!(e.offset(), Some(cut), "{}: cut at {cut}: {e}", p["value"]);
            assert!(matches!(e, Error::Eof { .. }), "{e:?}");
            assert_eq!(e.pyro_class(), "builtins.EOFError");
            assert!(matches!(skip_value(&bytes[..cut]), Err(Error::Eof { .. })));
        }
    }
}

#[test]
fn malformed_input_gives_typed_errors() {
    let cases: &[(&[u8], Error)] = &[
        (b"?", Error::UnknownType { code: b'?', offset: 0 }),
        (b"\x80N", Error::UnknownType { code: 0x80, offset: 0 }),
        (b"E", Error::UnknownType { code: b'E', offset: 0 }),
        (b"[\x01\x00\x00\x00\x01", Error::UnknownType { code: 1, offset: 5 }),
        (b".", Error::Unsupported { code: b'.', offset: 0 }),
        (b"S", Error::Unsupported { code: b'S', offset: 0 }),
        (b"\xe3\x00\x00\x00\x00", Error::Unsupported { code: 0xe3, offset: 0 }),
        (b"0", Error::NullObject { offset: 0 }),
        (b")\x01\xb0", Error::NullObject { offset: 2 }),
        (b"{z\x01a0", Error::NullObject { offset: 4 }),
        (b"s\xff\xff\xff\xff", Error::SizeOutOfRange { what: "bytes", size: -1, offset: 1 }),
        (b"[\x00\x00\x00\x80", Error::SizeOutOfRange { what: "list", size: i32::MIN, offset: 1 }),
        (b"l\x00\x00\x00\x80", Error::SizeOutOfRange { what: "long", size: i32::MIN, offset: 1 }),
        (b"s\xff\xff\xff\x7f", Error::Eof { offset: 5 }),
        (b"[\xff\xff\xff\x7fN", Error::Eof { offset: 6 }),
        (b"a\xff\xff\xff\x7fabc", Error::Eof { offset: 8 }),
        (b"l\xff\xff\xff\x7f", Error::Eof { offset: 5 }),
        (b"l\x01\x00\x00\x00\x00\x80", Error::BadLong { reason: "digit out of range", offset: 0 }),
        (b"l\x02\x00\x00\x00\x01\x00\x00\x00", Error::BadLong { reason: "unnormalized data", offset: 0 }),
        (b"u\x01\x00\x00\x00\xff", Error::InvalidUtf8 { offset: 0 }),
        (b"u\x03\x00\x00\x00\xed\xa0\x80", Error::LoneSurrogate { offset: 0 }),
        (b"r\x00\x00\x00\x00", Error::InvalidReference { index: 0, offset: 0 }),
        (b"\xdb\x01\x00\x00\x00r\x00\x00\x00\x00", Error::RecursiveReference { index: 0, offset: 5 }),
        (b"<\x01\x00\x00\x00[\x00\x00\x00\x00", Error::Unhashable { type_name: "list", offset: 5 }),
        (b"{)\x01{0N0", Error::Unhashable { type_name: "dict", offset: 3 }),
        (b"NN", Error::TrailingBytes { offset: 1 }),
    ];
    for (input, expected) in cases {
        let e = from_slice::<Py>(input).unwrap_err();
        assert_eq!(&e, expected, "{input:x?}");
        assert!(e.offset().is_some());
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(Error::NullObject { offset: 0 }.pyro_class(), "builtins.TypeError");
    assert_eq!(Error::UnknownType { code: 0, offset: 0 }.pyro_class(), "builtins.ValueError");
}

#[test]
fn type_mismatches_are_custom_errors_at_the_value() {
    let e = from_slice::<(i64, i64)>(b")\x02i\x01\x00\x00\x00z\x01a").unwrap_err();
    assert!(matches!(e, Error::Custom { offset: Some(7), .. }), "{e:?}");
    assert_eq!(e.pyro_class(), "Pyro5.errors.SerializeError");
    assert_eq!(e.to_string(), "invalid type: string \"a\", expected i64 at byte 7");
    // An enum given as something other than its variant name or a one-entry dict.
    #[derive(Debug, Deserialize)]
    enum E {
        #[allow(dead_code)]
        New(u8),
    }
    let e = from_slice::<Vec<E>>(b"[\x01\x00\x00\x00i\x00\x00\x00\x00").unwrap_err();
    assert!(matches!(e, Error::Custom { offset: Some(5), .. }), "{e:?}");
    // More items than the target takes.
    let e = from_slice::<(i64,)>(b")\x02i\x01\x00\x00\x00N").unwrap_err();
    assert_eq!(e, Error::UnconsumedItems { offset: 7 });
}

#[test]
fn nesting_past_the_depth_limit_is_refused() {
    for open in [&b"[\x01\x00\x00\x00"[..], b")\x01", b"{N"] {
        let mut input = open.repeat(10_000);
        input.push(b'N');
        let e = from_slice::<Py>(&input).unwrap_err();
        assert_eq!(e, Error::DepthLimit { max: 128, offset: 128 * open.len() });
        assert_eq!(skip_value(&input).unwrap_err(), e);
        let e = from_slice::<de::IgnoredAny>(&input).unwrap_err();
        assert!(matches!(e, Error::DepthLimit { .. }));
    }
    let mut input = b")\x01".repeat(10);
    input.push(b'N');
    let mut de = Deserializer::new(&input).with_max_depth(5);
    assert_eq!(Py::deserialize(&mut de).unwrap_err(), Error::DepthLimit { max: 5, offset: 10 });
    let mut de = Deserializer::new(&input).with_max_depth(10);
    assert!(Py::deserialize(&mut de).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..64)) {
        decode_everything(&input);
    }

    #[test]
    fn mutated_payloads_never_panic(which in 0usize..100, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let payloads = recorded_payloads();
        let hexes: Vec<_> = payloads.iter().filter_map(|p| p["hex"].as_str()).collect();
        let mut input = hex(hexes[which % hexes.len()]);
        for (at, byte) in edits {
            if !input.is_empty() {
                let i = at % input.len();
                input[i] = byte;
            }
        }
        decode_everything(&input);
    }
}

fn decode_everything(input: &[u8]) {
    fn offset_on_error<T>(r: Result<T, Error>) {
        if let Err(e) = r {
            assert!(e.offset().is_some(), "{e:?}");
        }
    }
    offset_on_error(from_slice::<Py>(input));
    offset_on_error(from_slice::<(i64, &str)>(input));
    offset_on_error(from_slice::<Vec<Option<&str>>>(input));
    offset_on_error(from_slice::<BTreeMap<&str, i64>>(input));
    offset_on_error(from_slice::<de::IgnoredAny>(input));
    let mut scratch = [0u8; 16];
    offset_on_error(from_slice_with_scratch::<Option<BigInt<'_>>>(input, &mut scratch));
    match skip_value(input) {
        Ok((span, rest)) => {
            assert_eq!(span.len() + rest.len(), input.len());
            assert!(!span.is_empty());
        }
        Err(e) => assert!(e.offset().is_some()),
    }
}

// ---------------------------------------------------------------------------------------
// (4) Round trips.

fn hashable() -> impl Strategy<Value = Py> {
    let leaf = prop_oneof![
        Just(Py::None),
        any::<bool>().prop_map(Py::Bool),
        any::<i128>().prop_map(Py::Int),
        any::<u64>().prop_map(|v| Py::Int(v.into())),
        "[a-z\u{e9}\u{1f600}]{0,6}".prop_map(Py::Str),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(Py::Bytes),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Py::Tuple),
            proptest::collection::vec(inner, 0..3).prop_map(Py::FrozenSet),
        ]
    })
}

fn python_value() -> impl Strategy<Value = Py> {
    let leaf = prop_oneof![
        hashable(),
        any::<f64>().prop_map(Py::Float),
        (any::<f64>(), any::<f64>()).prop_map(|(re, im)| Py::Complex(re, im)),
        "[1-9][0-9]{39,120}".prop_map(Py::Big),
        "-[1-9][0-9]{39,120}".prop_map(Py::Big),
        "[ -~]{250,260}".prop_map(Py::Str),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Py::Tuple),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Py::List),
            proptest::collection::vec(hashable(), 0..4).prop_map(Py::Set),
            proptest::collection::vec((hashable(), inner), 0..4).prop_map(Py::Dict),
        ]
    })
}

proptest! {
    #[test]
    fn python_values_round_trip_and_skip_gives_the_same_span(a in python_value(), b in python_value()) {
        let bytes = dumps(&a);
        prop_assert_eq!(&from_slice::<Py>(&bytes).unwrap(), &a);
        let (span, rest) = skip_value(&bytes).unwrap();
        prop_assert_eq!((span.len(), rest.len()), (bytes.len(), 0));
        // Inside a tuple: the second item's span reads as the item itself, alone and in context.
        let pair = dumps(&(&a, &b));
        let (first, rest) = skip_value(&pair[2..]).unwrap();
        let (second, rest) = skip_value(rest).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(&from_slice::<Py>(first).unwrap(), &a);
        prop_assert_eq!(&from_slice::<Py>(second).unwrap(), &b);
        prop_assert_eq!(&from_span::<Py>(&pair, second).unwrap(), &b);
    }

    #[test]
    fn typed_values_round_trip(
        n in any::<i64>(),
        u in any::<u128>(),
        s in "\\PC{0,300}",
        items in proptest::collection::vec((any::<u8>(), any::<bool>()), 0..300),
        f in any::<f64>(),
        m in proptest::collection::btree_map("[a-z]{0,4}", any::<i32>(), 0..5),
        c in any::<char>(),
        o in proptest::option::of(any::<i16>()),
    ) {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        enum E { Unit, New(i8), Tup(u8, String), Struct { x: Option<u32> } }
        type T = (i64, u128, String, Vec<(u8, bool)>, Bits, BTreeMap<String, i32>, char, Option<i16>, Vec<E>);
        let value: T = (
            n, u, s, items, Bits(f), m, c, o,
            vec![E::Unit, E::New(-1), E::Tup(1, "x".into()), E::Struct { x: Some(7) }, E::Struct { x: None }],
        );
        let bytes = dumps(&value);
        let back: T = from_slice(&bytes).unwrap();
        prop_assert_eq!(&back, &value);
        let (span, _) = skip_value(&bytes).unwrap();
        prop_assert_eq!(span.len(), bytes.len());
    }
}

#[test]
fn writers_agree() {
    let value = ("obj", [1u8, 2], Some(2.5), BTreeMap::from([("k", "\u{e9}")]));
    let a = dumps(&value);
    let mut b = [0u8; 64];
    marshal::to_writer(&value, &mut b[..]).unwrap();
    assert_eq!(a, b[..a.len()]);
    let mut c = [0u8; 64];
    let mut out = pyro5_core::ser::SliceOutput::new(&mut c);
    marshal::to_output(&value, &mut out).unwrap();
    assert_eq!(out.len(), a.len());
    assert_eq!(a, c[..a.len()]);
    #[cfg(feature = "alloc")]
    assert_eq!(marshal::to_vec(&value).unwrap(), a);
    assert!(matches!(marshal::to_slice(&value, &mut [0u8; 10]), Err(Error::Output(_))));
}

// ---------------------------------------------------------------------------------------
// (5) No allocation.

#[test]
fn decoding_and_encoding_a_call_allocates_nothing() {
    type Call<'a> = (&'a str, &'a str, (i64, &'a str, f64), Option<()>);
    #[derive(Deserialize)]
    struct Kwargs {
        #[allow(dead_code)]
        kw: f64,
    }
    let call: Call<'_> = ("obj_123", "method", (-5, "text", 2.5), None);
    let recorded = payload("proxy");
    let simple = payload("call_simple");
    let mut buf = [0u8; 256];
    let mut scratch = [0u8; 64];
    let big = payload("int_big");
    let info = allocation_counter::measure(|| {
        let len = marshal::to_slice(&call, &mut buf).unwrap();
        let back: Call<'_> = from_slice(&buf[..len]).unwrap();
        assert_eq!(back, call);
        let (span, rest) = skip_value(&buf[..len]).unwrap();
        assert_eq!((span.len(), rest.len()), (len, 0));
        // CPython's bytes, with flagged objects and back-references, too.
        let _: (&str, &str, (i64, &str), Kwargs) = from_slice(&simple).unwrap();
        let _: de::IgnoredAny = from_slice(&recorded).unwrap();
        let _: BigInt<'_> = from_slice_with_scratch(&big, &mut scratch).unwrap();
        let _ =
            marshal::to_slice(&BigInt::new("-123456789012345678901234567890123456789012").unwrap(), &mut buf).unwrap();
    });
    assert_eq!(info.count_total, 0, "marshal allocated {} times", info.count_total);
}
