//! The json serializer against what Python's Pyro5 5.17 wrote (`shared/vectors/`): every
//! recorded json payload decodes to the value Python meant and encodes back to the same
//! bytes; malformed input gives typed errors with offsets and never panics; typed values
//! round-trip; a call decodes and re-encodes without allocating. Runs with and without
//! `alloc`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use proptest::prelude::*;
use pyro5_core::ser::json::{self, Deserializer, Error, MAX_INT_DIGITS};
use pyro5_core::ser::python::{self, BigInt, Complex, FrozenSet, Set, Tuple};
use pyro5_core::ser::{DEFAULT_MAX_DEPTH, OutputError};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------
// Helpers

fn vectors() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors"))
}

macro_rules! payload {
    ($name:literal) => {
        &include_bytes!(concat!("../../../shared/vectors/payloads/json/", $name, ".bin"))[..]
    };
}

/// `value` as json, through a caller buffer (works without `alloc`).
fn encode<T: ?Sized + Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    let mut buf = vec![0u8; 1 << 16];
    let n = json::to_slice(value, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// `input` decoded with a scratch buffer for strings with escapes.
fn decode<'de, T: Deserialize<'de>>(input: &'de [u8]) -> Result<T, Error> {
    let mut scratch = vec![0u8; input.len()];
    json::from_slice_with_scratch(input, &mut scratch)
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// A float compared by its bits (any NaN equals any NaN).
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(transparent)]
struct F(f64);

impl PartialEq for F {
    fn eq(&self, other: &Self) -> bool {
        (self.0.is_nan() && other.0.is_nan()) || self.0.to_bits() == other.0.to_bits()
    }
}

/// A Python value as json carries it, read in exact mode (the test visitor for the
/// contract of `python`), written through the contract.
#[derive(Clone, Debug, PartialEq)]
enum Py {
    None,
    Bool(bool),
    Int(i128),
    Big(String),
    Float(F),
    Str(String),
    List(Vec<Py>),
    Dict(Vec<(Py, Py)>),
}

impl Serialize for Py {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Py::None => s.serialize_unit(),
            Py::Bool(b) => s.serialize_bool(*b),
            Py::Int(i) => s.serialize_i128(*i),
            Py::Big(text) => BigInt::new(text).unwrap().serialize(s),
            Py::Float(f) => s.serialize_f64(f.0),
            Py::Str(text) => s.serialize_str(text),
            Py::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Py::Dict(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Py {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(python::VALUE, PyVisitor)
    }
}

struct PyVisitor;

impl<'de> Visitor<'de> for PyVisitor {
    type Value = Py;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<Py, D::Error> {
        d.deserialize_any(self)
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
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Py, E> {
        Ok(i128::try_from(v).map_or_else(|_| Py::Big(v.to_string()), Py::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Py, E> {
        Ok(Py::Float(F(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Py, E> {
        Ok(Py::Str(v.into()))
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
        assert_eq!(token, python::BIGINT, "json reports only big ints in exact mode");
        Ok(Py::Big(content.newtype_variant()?))
    }
}

/// `wire_decoded` of `index.json` (read in document order by serde_json) with its tags
/// (`$int`, `$float`) resolved.
fn untag(v: Py) -> Py {
    match v {
        Py::List(items) => Py::List(items.into_iter().map(untag).collect()),
        Py::Dict(entries) => match entries.as_slice() {
            [(Py::Str(tag), Py::Str(text))] if tag == "$int" => {
                text.parse::<i128>().map_or_else(|_| Py::Big(text.clone()), Py::Int)
            }
            [(Py::Str(tag), Py::Str(text))] if tag == "$float" => Py::Float(F(match text.as_str() {
                "nan" => f64::NAN,
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                other => other.parse().unwrap(),
            })),
            [(Py::Str(tag), _)] if tag.starts_with('$') => panic!("tag {tag} cannot occur in json"),
            _ => Py::Dict(entries.into_iter().map(|(k, v)| (untag(k), untag(v))).collect()),
        },
        other => other,
    }
}

#[derive(Deserialize)]
struct Index {
    payloads: Vec<PayloadEntry>,
    conversations: Vec<ConversationEntry>,
}

#[derive(Deserialize)]
struct PayloadEntry {
    id: String,
    serializer: String,
    value: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    wire_decoded: Option<Py>,
    #[serde(default)]
    dumps_error: Option<String>,
}

#[derive(Deserialize)]
struct ConversationEntry {
    file: String,
}

#[derive(Deserialize)]
struct Conversation {
    name: String,
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    hex: Option<String>,
    #[serde(default)]
    frame: Option<Frame>,
}

#[derive(Deserialize)]
struct Frame {
    serializer_id: u8,
    flags: u16,
    annotations_size: usize,
    #[serde(default)]
    payload_decoded: Option<Py>,
}

fn index() -> Index {
    serde_json::from_str(&std::fs::read_to_string(vectors().join("index.json")).unwrap()).unwrap()
}

/// Decoding `bytes` gives `expected`, encoding `expected` gives `bytes`.
#[track_caller]
fn both_ways<'de, T>(bytes: &'de [u8], expected: T)
where
    T: Serialize + Deserialize<'de> + PartialEq + fmt::Debug,
{
    let text = String::from_utf8_lossy(bytes);
    assert_eq!(decode::<T>(bytes).unwrap(), expected, "decoding {text}");
    assert_eq!(String::from_utf8(encode(&expected).unwrap()).unwrap(), text, "encoding {expected:?}");
}

/// Decoding `bytes` gives `expected` (its type cannot say what Python's value was).
#[track_caller]
fn decodes_to<'de, T: Deserialize<'de> + PartialEq + fmt::Debug>(bytes: &'de [u8], expected: T) {
    assert_eq!(decode::<T>(bytes).unwrap(), expected, "decoding {}", String::from_utf8_lossy(bytes));
}

/// Encoding `value` gives `bytes`.
#[track_caller]
fn encodes_to<T: ?Sized + Serialize>(value: &T, bytes: &[u8]) {
    assert_eq!(String::from_utf8(encode(value).unwrap()).unwrap(), String::from_utf8_lossy(bytes));
}

// ---------------------------------------------------------------------------------------
// (1) Python's payloads, dynamically and typed

#[test]
fn every_recorded_json_payload_decodes_to_what_python_meant_and_encodes_back_byte_for_byte() {
    let mut checked = 0;
    for p in index().payloads.into_iter().filter(|p| p.serializer == "json") {
        let Some(file) = p.file else {
            assert!(p.dumps_error.is_some(), "{}: neither a file nor an error", p.id);
            continue;
        };
        let bytes = std::fs::read(vectors().join(&file)).unwrap();
        let value: Py = decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.id));
        assert_eq!(value, untag(p.wire_decoded.unwrap_or(Py::None)), "{}", p.id);
        assert_eq!(encode(&value).unwrap(), bytes, "{}: re-encoding differs", p.id);
        // skip_value finds the whole payload, and the span decodes the same.
        let (span, rest) = json::skip_value(&bytes).unwrap();
        assert_eq!((span, rest), (&bytes[..], &b""[..]), "{}", p.id);
        checked += 1;
    }
    assert_eq!(checked, std::fs::read_dir(vectors().join("payloads/json")).unwrap().count());
}

#[test]
fn every_recorded_json_message_payload_decodes_and_encodes_back_byte_for_byte() {
    let mut checked = 0;
    for c in index().conversations {
        let conv: Conversation =
            serde_json::from_str(&std::fs::read_to_string(vectors().join(&c.file)).unwrap()).unwrap();
        for e in conv.events {
            let (Some(hex), Some(frame)) = (e.hex, e.frame) else { continue };
            // Only plain json payloads (flag 0x01 is compression).
            if frame.serializer_id != 3 || frame.flags & 1 != 0 {
                continue;
            }
            let Some(expected) = frame.payload_decoded else { continue };
            let bytes = unhex(&hex);
            let payload = &bytes[40 + frame.annotations_size..];
            let value: Py = decode(payload).unwrap_or_else(|e| panic!("{}: {e}", conv.name));
            assert_eq!(value, untag(expected), "{}", conv.name);
            assert_eq!(encode(&value).unwrap(), payload, "{}", conv.name);
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} json payloads found in the conversations");
}

#[cfg(feature = "alloc")]
#[test]
fn the_dynamic_value_reads_and_writes_every_recorded_payload_unchanged() {
    use pyro5_core::ser::value::Value;
    for entry in std::fs::read_dir(vectors().join("payloads/json")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let value: Value = json::from_slice(&bytes).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert_eq!(json::to_vec(&value).unwrap(), bytes, "{path:?}");
    }
    let big: Value = json::from_slice(payload!("int_big_neg")).unwrap();
    assert_eq!(big, Value::BigInt("-10000000000000000000000000000000000000000".into()));
    let escaped: Value = json::from_slice(payload!("str_escapes")).unwrap();
    assert_eq!(escaped, Value::from("tab\tnl\ncr\rbs\\nul\0bel\x07del\x7f"));
}

/// Of two shortest texts equally near the double, Python's `repr` picks the one with an
/// even last digit (Rust's own formatting would pick the upper one). About 1 in 8000 random
/// doubles is such a tie.
#[test]
fn float_ties_are_written_as_python_writes_them() {
    // -625672384024554.25 is exactly halfway between ...4.2 and ...4.3; repr() gives ...4.2.
    encodes_to(&"-625672384024554.25".parse::<f64>().unwrap(), b"-625672384024554.2");
    encodes_to(&"2223007634874.78125".parse::<f64>().unwrap(), b"2223007634874.7812");
}

#[test]
fn none_and_bools() {
    both_ways(payload!("none"), ());
    both_ways(payload!("none"), None::<i32>);
    both_ways(payload!("true"), true);
    both_ways(payload!("false"), false);
}

#[test]
fn ints_of_every_width() {
    both_ways(payload!("int_0"), 0i64);
    both_ways(payload!("int_neg1"), -1i8);
    both_ways(payload!("int_127"), 127u8);
    both_ways(payload!("int_128"), 128u8);
    both_ways(payload!("int_255"), 255u8);
    both_ways(payload!("int_256"), 256u16);
    both_ways(payload!("int_65535"), 65535u16);
    both_ways(payload!("int_65536"), 65536u32);
    both_ways(payload!("int_i32_max"), i32::MAX);
    both_ways(payload!("int_i32_min"), i32::MIN);
    both_ways(payload!("int_2p31"), 1i64 << 31);
    both_ways(payload!("int_u32_max"), u32::MAX);
    both_ways(payload!("int_i64_max"), i64::MAX);
    both_ways(payload!("int_i64_min"), i64::MIN);
    both_ways(payload!("int_2p63"), 1u64 << 63);
    both_ways(payload!("int_u64_max"), u64::MAX);
    both_ways(payload!("int_2p64"), 1u128 << 64);
    both_ways(payload!("int_neg_2p63_minus1"), i128::from(i64::MIN) - 1);
    both_ways(payload!("int_big"), BigInt::new("12345678901234567890123456789012345678901234567890").unwrap());
    both_ways(payload!("int_big_neg"), BigInt::new("-10000000000000000000000000000000000000000").unwrap());
    // An int too wide for the target is an error, not a wrap.
    assert!(decode::<u8>(payload!("int_256")).is_err());
    assert_eq!(decode::<u128>(payload!("int_big")), Err(Error::IntegerTooLarge { offset: 0 }));
}

#[test]
fn big_ints_borrow_their_digits_from_the_payload() {
    let bytes = payload!("int_big_neg");
    let big: BigInt = json::from_slice(bytes).unwrap();
    assert_eq!(big.as_str().as_ptr(), bytes.as_ptr());
    let small: BigInt = json::from_slice(b" -0").unwrap();
    assert_eq!(small.as_str(), "0");
    assert!(json::from_slice::<BigInt>(b"1.5").is_err());
    assert!(json::from_slice::<BigInt>(br#""12""#).is_err());
}

#[test]
fn floats_as_python_reprs() {
    both_ways(payload!("float_0"), F(0.0));
    both_ways(payload!("float_neg0"), F(-0.0));
    both_ways(payload!("float_1"), F(1.0));
    both_ways(payload!("float_pi"), F(std::f64::consts::PI));
    both_ways(payload!("float_tenth"), F(0.1));
    both_ways(payload!("float_1e16"), F(1e16));
    both_ways(payload!("float_1e15"), F(1e15));
    both_ways(payload!("float_123e20"), F(1.23e20));
    both_ways(payload!("float_1em4"), F(1e-4));
    both_ways(payload!("float_1em5"), F(1e-5));
    both_ways(payload!("float_max"), F(f64::MAX));
    both_ways(payload!("float_min_sub"), F(5e-324));
    both_ways(payload!("float_nan"), F(f64::NAN));
    both_ways(payload!("float_inf"), F(f64::INFINITY));
    both_ways(payload!("float_neginf"), F(f64::NEG_INFINITY));
    // Python's int is a fine float target.
    decodes_to(payload!("int_big"), F(1.2345678901234567e49));
    decodes_to(b"1e400", F(f64::INFINITY));
    decodes_to(b"-1e999999999999999999999", F(f64::NEG_INFINITY));
}

#[test]
fn strings_borrowed_and_unescaped() {
    both_ways(payload!("str_empty"), "");
    both_ways(payload!("str_ascii"), "hello");
    both_ways(payload!("str_quote_single"), "it's");
    both_ways(payload!("str_quote_both"), String::from("it's \"q\""));
    both_ways(payload!("str_quote_double"), String::from("say \"hi\""));
    both_ways(payload!("str_escapes"), String::from("tab\tnl\ncr\rbs\\nul\0bel\x07del\x7f"));
    both_ways(payload!("str_latin1"), "café \u{a0}nbsp \u{ad} shy");
    both_ways(payload!("str_bmp"), "€ 中文 \u{2028} \u{feff} \u{d7ff}");
    both_ways(payload!("str_astral"), "😀 𝄞 \u{e0001}");
    // Strings without escapes are borrowed from the payload.
    let bytes = payload!("str_astral");
    let s: &str = json::from_slice(bytes).unwrap();
    assert_eq!(s.as_ptr(), bytes[1..].as_ptr());
    // A lone surrogate: Python's json.dumps cannot write one (UnicodeEncodeError when
    // encoding to UTF-8); escaped, Python reads it into a str, Rust cannot hold it.
    assert_eq!(decode::<String>(br#""\ud800""#), Err(Error::LoneSurrogate { code: 0xd800, offset: 1 }));
    assert!(json::skip_value(br#""\ud800""#).is_ok());
}

#[test]
fn tuples_lists_and_sets_are_arrays() {
    both_ways(payload!("tuple_empty"), [0u8; 0]);
    encodes_to(&Tuple::<u8>(&[]), payload!("tuple_empty"));
    both_ways(payload!("tuple_1"), (1,));
    both_ways(payload!("tuple_2"), (1, 2));
    both_ways(payload!("tuple_nested"), ((1, (2,)), ([0u8; 0],), "x"));
    both_ways(payload!("list_empty"), Vec::<i32>::new());
    both_ways(payload!("list_1"), vec![1]);
    both_ways(payload!("list_mixed"), (1, "a", None::<i32>, F(2.5), vec![true]));
    both_ways(payload!("namedtuple"), (1, 2));
    both_ways(payload!("array_int"), vec![1, 2]);
    encodes_to(&Set::<i32>(&[]), payload!("set_empty"));
    encodes_to(&Set(&[1, 2, 3]), payload!("set_ints"));
    encodes_to(&Set(&["a", "b"]), payload!("set_strs"));
    encodes_to(&Set(&[Tuple(&[1, 2]), Tuple(&[3])]), payload!("set_of_tuples"));
    decodes_to(payload!("set_empty"), Vec::<i32>::new());
    decodes_to(payload!("set_ints"), vec![1, 2, 3]);
    decodes_to(payload!("set_strs"), vec!["a", "b"]);
    decodes_to(payload!("set_of_tuples"), vec![vec![1, 2], vec![3]]);
}

#[test]
fn dicts_with_str_and_int_keys() {
    #[derive(Debug, Deserialize, PartialEq, Serialize)]
    struct Ab {
        a: i32,
        b: Vec<i32>,
    }
    #[derive(Debug, Deserialize, PartialEq, Serialize)]
    struct Za {
        z: i32,
        a: i32,
    }
    both_ways(payload!("dict_empty"), BTreeMap::<&str, i32>::new());
    both_ways(payload!("dict_str_keys"), Ab { a: 1, b: vec![2, 3] });
    both_ways(payload!("dict_int_keys"), BTreeMap::from([(1i64, "one"), (2, "two")]));
    both_ways(payload!("ordereddict"), Za { z: 1, a: 2 });
}

#[test]
fn strings_python_makes_of_other_types() {
    both_ways(payload!("decimal"), "1.10");
    both_ways(payload!("uuid"), "12345678-1234-5678-1234-567812345678");
    both_ways(payload!("datetime"), "2024-01-02T03:04:05.678901");
    both_ways(payload!("date"), "2024-01-02");
    both_ways(payload!("datetime_tz"), "2024-01-02T03:04:05+00:00");
    both_ways(payload!("array_unicode"), "ab");
}

#[test]
fn class_dicts_of_objects_exceptions_uris_and_proxies() {
    #[derive(Debug, Deserialize, PartialEq, Serialize)]
    struct Plain<'a> {
        a: i32,
        b: &'a str,
        #[serde(rename = "__class__")]
        class: &'a str,
    }
    #[derive(Debug, Deserialize, PartialEq, Serialize)]
    struct Slotted<'a> {
        x: i32,
        y: i32,
        #[serde(rename = "__class__")]
        class: &'a str,
    }
    #[derive(Debug, Deserialize, PartialEq, Serialize)]
    struct WithState {
        state_key: i32,
    }
    #[derive(Debug, Deserialize, PartialEq, Serialize)]
    struct Exception<'a, A> {
        #[serde(rename = "__class__")]
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
        exception: Exception<'a, (&'a str,)>,
    }
    #[derive(Debug, Deserialize, PartialEq, Serialize)]
    struct State<'a, S> {
        #[serde(rename = "__class__")]
        class: &'a str,
        state: S,
    }
    type UriState<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, Option<u16>);
    type ProxyState<'a> = (&'a str, Vec<&'a str>, Vec<&'a str>, Vec<&'a str>, &'a str, Option<&'a str>);

    both_ways(payload!("custom_class_vars"), Plain { a: 1, b: "two", class: "__main__.Plain" });
    both_ways(payload!("custom_class_slots"), Slotted { x: 1, y: 2, class: "__main__.Slotted" });
    both_ways(payload!("custom_class_getstate"), WithState { state_key: 42 });
    let exc = |class, args| Exception { class, exception: true, args, attributes: BTreeMap::new() };
    both_ways(payload!("exception_valueerror"), exc("builtins.ValueError", ("bad value",)));
    both_ways(payload!("exception_custom"), exc("__main__.CustomError", ("custom",)));
    both_ways(payload!("exception_pyro"), exc("Pyro5.errors.NamingError", ("unknown name: x",)));
    both_ways(
        payload!("exception_with_attr"),
        Exception {
            class: "builtins.ValueError",
            exception: true,
            args: ("bad value", 42),
            attributes: BTreeMap::from([("custom_attr", "extra")]),
        },
    );
    both_ways(
        payload!("exception_wrapper"),
        Wrapper { class: "Pyro5.core._ExceptionWrapper", exception: exc("builtins.ValueError", ("wrapped",)) },
    );
    let uri = |state: UriState<'static>| State { class: "Pyro5.core.URI", state };
    both_ways(payload!("uri"), uri(("PYRO", "obj", None, Some("localhost"), Some(9999))));
    both_ways(payload!("uri_ipv6"), uri(("PYRO", "obj", None, Some("::1"), Some(9999))));
    both_ways(payload!("uri_unix"), uri(("PYRO", "obj", Some("/tmp/sock"), None, None)));
    both_ways(payload!("pyroname_uri"), uri(("PYRONAME", "some.name", None, None, None)));
    let proxy: ProxyState = ("PYRO:obj@localhost:9999", vec![], vec![], vec![], "hello", None);
    both_ways(payload!("proxy"), State { class: "Pyro5.client.Proxy", state: proxy });
}

#[test]
fn call_payloads() {
    #[derive(Debug, Deserialize, PartialEq, Serialize)]
    struct Call<'a, P, K> {
        object: &'a str,
        method: &'a str,
        params: P,
        kwargs: K,
    }
    both_ways(payload!("call_tuple_like"), ("obj", "method", (1, 2), BTreeMap::from([("k", "v")])));
    both_ways(
        payload!("call_simple"),
        Call { object: "obj_id", method: "method", params: (1, "two"), kwargs: BTreeMap::from([("kw", F(3.5))]) },
    );
    both_ways(
        payload!("call_noargs"),
        Call { object: "obj_id", method: "ping", params: [0u8; 0], kwargs: BTreeMap::<&str, i32>::new() },
    );
    both_ways(
        payload!("call_list_vargs"),
        Call {
            object: "Pyro.Daemon",
            method: "get_metadata",
            params: vec!["obj_id"],
            kwargs: BTreeMap::<&str, i32>::new(),
        },
    );
}

#[test]
fn values_pyro5_refuses_to_serialize_fail_as_in_python() {
    let errors: BTreeMap<String, String> = index()
        .payloads
        .into_iter()
        .filter(|p| p.serializer == "json")
        .filter_map(|p| Some((p.value, p.dumps_error?)))
        .collect();
    let cases: [(&str, Error); 8] = [
        ("bytes_empty", encode(&serde_bytes(b"")).unwrap_err()),
        ("bytes_small", encode(&serde_bytes(b"\x00\x01\xff")).unwrap_err()),
        ("bytearray", encode(&serde_bytes(b"ba")).unwrap_err()),
        ("frozenset", encode(&FrozenSet(&[1, 2])).unwrap_err()),
        ("complex", encode(&Complex { re: 1.0, im: 2.0 }).unwrap_err()),
        ("complex_neg_imag", encode(&Complex { re: 1.5, im: -0.5 }).unwrap_err()),
        ("complex_nan", encode(&Complex { re: f64::NAN, im: 1.0 }).unwrap_err()),
        ("dict_mixed_keys", encode(&MixedKeys).unwrap_err()),
    ];
    for (name, error) in cases {
        let python = &errors[name];
        let (class, message) = python.split_once(": ").unwrap();
        assert!(error.pyro_class().ends_with(&format!(".{class}")), "{name}: {error:?} vs {python}");
        let ours = error.to_string();
        assert!(message.replace("bytearray", "bytes").starts_with(&ours), "{name}: {ours} vs {message}");
    }
}

/// A `bytes` value.
fn serde_bytes(b: &'static [u8]) -> impl Serialize {
    struct B(&'static [u8]);
    impl Serialize for B {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }
    B(b)
}

/// `{1: 'bool', 's': 'str', 2.5: 'float', (1, 2): 'tuple'}`.
struct MixedKeys;

impl Serialize for MixedKeys {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry(&1, "bool")?;
        m.serialize_entry("s", "str")?;
        m.serialize_entry(&2.5, "float")?;
        m.serialize_entry(&(1, 2), "tuple")?;
        m.end()
    }
}

// ---------------------------------------------------------------------------------------
// (2) Exact mode

/// What `deserialize_any` reported, as text: the test visitor of the exact-mode contract.
#[derive(Debug, PartialEq)]
struct Report(String);

impl<'de> Deserialize<'de> for Report {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Exact;
        impl<'de> DeserializeSeed<'de> for Exact {
            type Value = String;
            fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
                d.deserialize_newtype_struct(python::VALUE, ReportVisitor)
            }
        }
        struct ReportVisitor;
        impl<'de> Visitor<'de> for ReportVisitor {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("anything")
            }
            fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_unit<E>(self) -> Result<String, E> {
                Ok("unit".into())
            }
            fn visit_bool<E>(self, v: bool) -> Result<String, E> {
                Ok(format!("bool {v}"))
            }
            fn visit_i64<E>(self, v: i64) -> Result<String, E> {
                Ok(format!("i64 {v}"))
            }
            fn visit_u64<E>(self, v: u64) -> Result<String, E> {
                Ok(format!("u64 {v}"))
            }
            fn visit_i128<E>(self, v: i128) -> Result<String, E> {
                Ok(format!("i128 {v}"))
            }
            fn visit_u128<E>(self, v: u128) -> Result<String, E> {
                Ok(format!("u128 {v}"))
            }
            fn visit_f64<E>(self, v: f64) -> Result<String, E> {
                Ok(format!("f64 {v:?}"))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<String, E> {
                Ok(format!("borrowed str {v}"))
            }
            fn visit_str<E>(self, v: &str) -> Result<String, E> {
                Ok(format!("str {v}"))
            }
            fn visit_string<E>(self, v: String) -> Result<String, E> {
                Ok(format!("string {v}"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element_seed(Exact)? {
                    items.push(item);
                }
                Ok(format!("seq [{}]", items.join(", ")))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
                let mut items = Vec::new();
                while let Some(k) = map.next_key_seed(Exact)? {
                    items.push(format!("{k}: {}", map.next_value_seed(Exact)?));
                }
                Ok(format!("map {{{}}}", items.join(", ")))
            }
            fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<String, A::Error> {
                use de::VariantAccess;
                let (token, content) = data.variant::<String>()?;
                Ok(format!("{token}({})", content.newtype_variant_seed(Exact)?))
            }
        }
        Exact.deserialize(d).map(Report)
    }
}

#[test]
fn exact_mode_reports_ints_beyond_128_bits_as_a_bigint_variant_and_all_else_as_usual() {
    let report = |input: &[u8]| decode::<Report>(input).unwrap().0;
    assert_eq!(
        report(payload!("int_big")),
        "$pyro5::bigint(borrowed str 12345678901234567890123456789012345678901234567890)"
    );
    assert_eq!(
        report(payload!("int_big_neg")),
        "$pyro5::bigint(borrowed str -10000000000000000000000000000000000000000)"
    );
    assert_eq!(report(payload!("int_u64_max")), "u64 18446744073709551615");
    assert_eq!(report(payload!("int_i64_min")), "i64 -9223372036854775808");
    assert_eq!(report(payload!("int_2p64")), "u128 18446744073709551616");
    assert_eq!(report(payload!("int_neg_2p63_minus1")), "i128 -9223372036854775809");
    assert_eq!(report(payload!("float_nan")), "f64 NaN");
    assert_eq!(report(payload!("none")), "unit");
    // json has no tuples, sets or complex numbers: arrays are lists, objects dicts.
    assert_eq!(report(payload!("tuple_nested")), "seq [seq [u64 1, seq [u64 2]], seq [seq []], borrowed str x]");
    assert_eq!(
        report(payload!("dict_int_keys")),
        "map {borrowed str 1: borrowed str one, borrowed str 2: borrowed str two}"
    );
    assert_eq!(
        report(br#"[12345678901234567890123456789012345678901234567890, "a\n"]"#),
        "seq [$pyro5::bigint(borrowed str 12345678901234567890123456789012345678901234567890), str a\n]"
    );
    // A dict keyed by the token is a dict: the token travels only as an enum variant.
    assert_eq!(report(br#"{"$pyro5::bigint": "12"}"#), "map {borrowed str $pyro5::bigint: borrowed str 12}");
    // Duplicate keys all reach the visitor, in order.
    assert_eq!(report(br#"{"a": 1, "a": 2}"#), "map {borrowed str a: u64 1, borrowed str a: u64 2}");
}

#[test]
fn outside_exact_mode_ints_beyond_128_bits_are_errors() {
    let e = decode::<Vec<i128>>(b" [1, 123456789012345678901234567890123456789012]").err().unwrap();
    assert_eq!(e, Error::IntegerTooLarge { offset: 5 });
    struct Any;
    impl<'de> Deserialize<'de> for Any {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(IgnoredAny).map(|_| Any)
        }
    }
    let e = decode::<Any>(b"123456789012345678901234567890123456789012").err().unwrap();
    assert_eq!(e, Error::IntegerTooLarge { offset: 0 });
    // Skipping it is fine.
    assert!(decode::<IgnoredAny>(b"[1, 123456789012345678901234567890123456789012]").is_ok());
}

// ---------------------------------------------------------------------------------------
// (3) Malformed input

#[test]
fn malformed_input_gives_typed_errors_with_offsets() {
    let cases: &[(&[u8], Error)] = &[
        (b"", Error::Expected { what: "value", offset: 0 }),
        (b"   ", Error::Expected { what: "value", offset: 3 }),
        (b"\xef\xbb\xbf1", Error::Expected { what: "value", offset: 0 }),
        (b"01", Error::ExtraData { offset: 1 }),
        (b"1.", Error::ExtraData { offset: 1 }),
        (b".5", Error::Expected { what: "value", offset: 0 }),
        (b"[1,]", Error::Expected { what: "value", offset: 3 }),
        (b"[1 2]", Error::Expected { what: "',' delimiter", offset: 3 }),
        (b"[1", Error::Expected { what: "',' delimiter", offset: 2 }),
        (b"{", Error::Expected { what: "property name enclosed in double quotes", offset: 1 }),
        (b"{1: 2}", Error::Expected { what: "property name enclosed in double quotes", offset: 1 }),
        (br#"{"a" 1}"#, Error::Expected { what: "':' delimiter", offset: 5 }),
        (br#"{"a": 1,}"#, Error::Expected { what: "property name enclosed in double quotes", offset: 8 }),
        (br#"{"a": 1 "b": 2}"#, Error::Expected { what: "',' delimiter", offset: 8 }),
        (b"\"abc", Error::UnterminatedString { offset: 0 }),
        (b"\"ab\\", Error::UnterminatedString { offset: 0 }),
        (b"\"a\tb\"", Error::ControlCharacter { offset: 2 }),
        (br#""\x""#, Error::InvalidEscape { offset: 1 }),
        (br#""\u12""#, Error::InvalidUnicodeEscape { offset: 1 }),
        (br#""\uDE00""#, Error::LoneSurrogate { code: 0xde00, offset: 1 }),
        (b"\"\xff\"", Error::InvalidUtf8 { offset: 1 }),
        (b"[1] \xc3", Error::InvalidUtf8 { offset: 4 }),
        (b"nul", Error::Expected { what: "value", offset: 0 }),
        (b"True", Error::Expected { what: "value", offset: 0 }),
        (b"nan", Error::Expected { what: "value", offset: 0 }),
        (b"-NaN", Error::Expected { what: "value", offset: 0 }),
        (b"1 2", Error::ExtraData { offset: 2 }),
        (b"\x0c1", Error::Expected { what: "value", offset: 0 }),
    ];
    for (input, expected) in cases {
        let got = decode::<Py>(input).err();
        assert_eq!(got.as_ref(), Some(expected), "{:?}", String::from_utf8_lossy(input));
        assert!(expected.offset().is_some());
    }
}

#[test]
fn nesting_past_the_depth_limit_is_refused_without_recursing_further() {
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    let limit = Error::DepthLimit { max: DEFAULT_MAX_DEPTH, offset: DEFAULT_MAX_DEPTH };
    assert_eq!(decode::<Py>(deep.as_bytes()).err(), Some(limit.clone()));
    assert_eq!(decode::<IgnoredAny>(deep.as_bytes()).err(), Some(limit.clone()));
    assert_eq!(json::skip_value(deep.as_bytes()).err(), Some(limit));
    let objects = "{\"a\": ".repeat(10_000);
    assert!(matches!(json::skip_value(objects.as_bytes()), Err(Error::DepthLimit { .. })));
    // At the limit it is fine; the limit can be changed.
    let ok = "[".repeat(DEFAULT_MAX_DEPTH) + &"]".repeat(DEFAULT_MAX_DEPTH);
    assert!(decode::<Py>(ok.as_bytes()).is_ok());
    let mut de = Deserializer::new(ok.as_bytes()).with_max_depth(3);
    assert_eq!(Py::deserialize(&mut de).err(), Some(Error::DepthLimit { max: 3, offset: 3 }));
}

#[test]
fn ints_longer_than_python_converts_are_refused() {
    let long = "7".repeat(MAX_INT_DIGITS + 1);
    let e = decode::<Py>(long.as_bytes()).err().unwrap();
    assert_eq!(e, Error::IntTooLong { digits: MAX_INT_DIGITS + 1, offset: Some(0) });
    assert_eq!(e.pyro_class(), "builtins.ValueError");
    assert!(json::skip_value(long.as_bytes()).is_err());
    let at_limit = format!("-{}", "7".repeat(MAX_INT_DIGITS));
    assert_eq!(decode::<Py>(at_limit.as_bytes()).unwrap(), Py::Big(at_limit.clone()));
    // A float of many digits is fine, as for Python.
    let float = format!("{}.0", "7".repeat(MAX_INT_DIGITS + 1));
    assert_eq!(decode::<Py>(float.as_bytes()).unwrap(), Py::Float(F(f64::INFINITY)));
}

#[test]
fn strings_with_escapes_need_scratch_or_alloc_and_say_so() {
    let input = br#"["plain", "esc\naped"]"#;
    #[cfg(not(feature = "alloc"))]
    assert_eq!(json::from_slice::<(&str, String)>(input), Err(Error::ScratchNeeded { offset: 10 }));
    #[cfg(feature = "alloc")]
    assert_eq!(json::from_slice::<(&str, String)>(input).unwrap().1, "esc\naped");
    let mut small = [0u8; 4];
    let result = json::from_slice_with_scratch::<(&str, String)>(input, &mut small);
    #[cfg(not(feature = "alloc"))]
    assert_eq!(result, Err(Error::ScratchTooSmall { needed: 8, capacity: 4, offset: 10 }));
    #[cfg(feature = "alloc")]
    assert_eq!(result.unwrap().1, "esc\naped");
    let mut scratch = [0u8; 8];
    let (plain, escaped) = json::from_slice_with_scratch::<(&str, String)>(input, &mut scratch).unwrap();
    assert_eq!((plain, escaped.as_str()), ("plain", "esc\naped"));
    // A borrowed target cannot take unescaped text.
    assert!(json::from_slice_with_scratch::<(&str, &str)>(input, &mut scratch).is_err());
    // Bytes targets: json has none.
    struct Bytes;
    impl<'de> Deserialize<'de> for Bytes {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_bytes(IgnoredAny).map(|_| Bytes)
        }
    }
    assert_eq!(json::from_slice::<Bytes>(b" \"AAH/\"").err(), Some(Error::BytesUnsupported { offset: 1 }));
}

#[test]
fn every_truncation_of_every_payload_fails_cleanly() {
    for entry in std::fs::read_dir(vectors().join("payloads/json")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for cut in 0..bytes.len() {
            let part = &bytes[..cut];
            if let Err(e) = decode::<Py>(part) {
                assert!(e.offset().is_some_and(|o| o <= cut), "{e:?} for {:?}", String::from_utf8_lossy(part));
            }
            let _ = json::skip_value(part);
        }
    }
}

/// Arbitrary text made of json tokens, valid or not.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let tokens = prop::sample::select(vec![
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        " ",
        "\"a\"",
        "\"\\u00e9\\n\"",
        "\"\\ud83d\\ude00\"",
        "\"\\ud800\"",
        "\"é\"",
        "1",
        "-0",
        "2.5e-3",
        "123456789012345678901234567890123456789012",
        "null",
        "true",
        "false",
        "NaN",
        "Infinity",
        "-Infinity",
        "\"",
        "\\",
        "\u{1}",
        "\u{ff}",
        "e",
        ".",
    ]);
    prop::collection::vec(tokens, 0..48).prop_map(|t| t.concat().into_bytes())
}

fn check_no_panic(input: &[u8]) {
    let n = input.len();
    let in_range = |r: Result<(), Error>| {
        if let Err(e) = r {
            assert!(e.offset().is_none_or(|o| o <= n), "{e:?} beyond {n}");
        }
    };
    in_range(decode::<Py>(input).map(drop));
    in_range(json::from_slice::<Py>(input).map(drop));
    in_range(decode::<(i64, String, Option<bool>)>(input).map(drop));
    in_range(decode::<BTreeMap<String, Vec<F>>>(input).map(drop));
    in_range(decode::<Vec<&str>>(input).map(drop));
    in_range(decode::<BigInt>(input).map(drop));
    in_range(decode::<IgnoredAny>(input).map(drop));
    match json::skip_value(input) {
        Ok((span, rest)) => assert!(span.len() + rest.len() <= n),
        Err(e) => assert!(e.offset().is_some_and(|o| o <= n)),
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..256)) {
        check_no_panic(&input);
    }

    #[test]
    fn arbitrary_json_tokens_never_panic(input in jsonish()) {
        check_no_panic(&input);
        // Whatever skip_value accepts, parsing accepts too (up to lone surrogates), and
        // the span parses to the same value.
        if let Ok((span, _)) = json::skip_value(&input) {
            let whole: Result<Py, _> = {
                let mut scratch = vec![0u8; input.len()];
                let mut de = Deserializer::new(&input).with_scratch(&mut scratch);
                Py::deserialize(&mut de)
            };
            match whole {
                Ok(v) => prop_assert_eq!(decode::<Py>(span).unwrap(), v),
                Err(e) => prop_assert!(matches!(e, Error::LoneSurrogate { .. }), "{:?}", e),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// (4) Round trips

#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
enum Shape {
    Point,
    Circle(F),
    Line(i32, i32),
    Rect { w: u16, h: u16 },
}

#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
struct Sample {
    i: i64,
    u: u64,
    wide: i128,
    uwide: u128,
    f: F,
    small: f32,
    s: String,
    c: char,
    list: Vec<i32>,
    opt: Option<bool>,
    map: BTreeMap<String, i64>,
    int_keys: BTreeMap<i32, String>,
    bool_keys: BTreeMap<bool, u8>,
    tuple: (u8, String, ()),
    shape: Shape,
    shapes: Vec<Shape>,
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Point),
        any::<f64>().prop_map(|f| Shape::Circle(F(f))),
        (any::<i32>(), any::<i32>()).prop_map(|(a, b)| Shape::Line(a, b)),
        (any::<u16>(), any::<u16>()).prop_map(|(w, h)| Shape::Rect { w, h }),
    ]
}

prop_compose! {
    fn sample()(
        (i, u, wide, uwide, f, small) in (any::<i64>(), any::<u64>(), any::<i128>(), any::<u128>(), any::<f64>(), any::<f32>()),
        (s, c, list, opt) in (any::<String>(), any::<char>(), prop::collection::vec(any::<i32>(), 0..5), any::<Option<bool>>()),
        map in prop::collection::btree_map(any::<String>(), any::<i64>(), 0..4),
        int_keys in prop::collection::btree_map(any::<i32>(), "\\PC*", 0..4),
        bool_keys in prop::collection::btree_map(any::<bool>(), any::<u8>(), 0..2),
        tuple in (any::<u8>(), any::<String>()),
        shape in shape(),
        shapes in prop::collection::vec(shape(), 0..3),
    ) -> Sample {
        Sample {
            i, u, wide, uwide, f: F(f), small, s, c, list, opt, map, int_keys, bool_keys,
            tuple: (tuple.0, tuple.1, ()), shape, shapes,
        }
    }
}

fn py() -> impl Strategy<Value = Py> {
    let leaf = prop_oneof![
        Just(Py::None),
        any::<bool>().prop_map(Py::Bool),
        any::<i128>().prop_map(Py::Int),
        ("[1-9][0-9]{39,60}", any::<bool>()).prop_map(|(d, neg)| Py::Big(if neg { format!("-{d}") } else { d })),
        any::<f64>().prop_map(|f| Py::Float(F(f))),
        any::<String>().prop_map(Py::Str),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Py::List),
            prop::collection::vec((any::<String>().prop_map(Py::Str), inner), 0..5).prop_map(Py::Dict),
        ]
    })
}

proptest! {
    #[test]
    fn typed_values_round_trip(value in sample()) {
        let bytes = encode(&value).unwrap();
        prop_assert_eq!(decode::<Sample>(&bytes).unwrap(), value.clone());
        // The span skip_value finds deserializes to the same value.
        let mut framed = bytes.clone();
        framed.extend_from_slice(b" ,[1]");
        let (span, rest) = json::skip_value(&framed).unwrap();
        prop_assert_eq!(span, &bytes[..]);
        prop_assert_eq!(rest, &b" ,[1]"[..]);
        prop_assert_eq!(decode::<Sample>(span).unwrap(), value);
    }

    #[test]
    fn python_values_round_trip_byte_for_byte(value in py()) {
        let bytes = encode(&value).unwrap();
        let back: Py = decode(&bytes).unwrap();
        prop_assert_eq!(&back, &value);
        prop_assert_eq!(encode(&back).unwrap(), bytes.clone());
        let mut framed = b" \n".to_vec();
        framed.extend_from_slice(&bytes);
        framed.extend_from_slice(b"\t]");
        let (span, rest) = json::skip_value(&framed).unwrap();
        prop_assert_eq!(span, &bytes[..]);
        prop_assert_eq!(rest, &b"\t]"[..]);
    }
}

#[test]
fn writers_and_outputs_agree() {
    let value = ("obj", [1.5, -0.0], BTreeMap::from([(3, None::<u8>)]));
    let expected = br#"["obj", [1.5, -0.0], {"3": null}]"#;
    let mut buf = [0u8; 64];
    let n = json::to_slice(&value, &mut buf).unwrap();
    assert_eq!(&buf[..n], expected);
    let mut small = [0u8; 8];
    assert_eq!(json::to_slice(&value, &mut small), Err(Error::Output(OutputError::BufferFull { capacity: 8 })));
    let mut sink = [0u8; 64];
    let mut cursor: &mut [u8] = &mut sink;
    json::to_writer(&value, &mut cursor).unwrap();
    let left = cursor.len();
    assert_eq!(&sink[..64 - left], expected);
    #[cfg(feature = "alloc")]
    assert_eq!(json::to_vec(&value).unwrap(), expected);
}

// ---------------------------------------------------------------------------------------
// (5) No allocation

#[test]
fn decoding_and_encoding_a_call_allocates_nothing() {
    // The counter sees allocations at all.
    assert_eq!(allocation_counter::measure(|| drop(std::hint::black_box(vec![1u8; 8]))).count_total, 1);
    type Call<'a> = (&'a str, &'a str, (i64, &'a str, f64), Option<()>);
    let input = br#"["obj_id", "method", [42, "x", 2.5], null]"#;
    let escaped = br#"{"Re\u0063t": {"w": 1, "\u0068": 2}}"#;
    let mut out = [0u8; 128];
    let mut scratch = [0u8; 16];
    let count = allocation_counter::measure(|| {
        let call: Call = json::from_slice(input).unwrap();
        assert_eq!(call, ("obj_id", "method", (42, "x", 2.5), None));
        let n = json::to_slice(&call, &mut out).unwrap();
        assert_eq!(&out[..n], input);
        let (span, rest) = json::skip_value(input).unwrap();
        assert_eq!((span.len(), rest.len()), (input.len(), 0));
        // Unescaping into a scratch buffer allocates nothing either.
        let shape: Shape = json::from_slice_with_scratch(escaped, &mut scratch).unwrap();
        assert_eq!(shape, Shape::Rect { w: 1, h: 2 });
    })
    .count_total;
    assert_eq!(count, 0, "the json serializer allocated {count} times");
}
