//! Every payload recorded from the real Pyro5 (`shared/vectors/payloads/`) decodes into a
//! `Value` equal to what Python decoded, in all four formats, and our encoder reproduces
//! Python's bytes wherever Python is deterministic (serpent, json, msgpack; marshal by value).

use pyro5_core::ser::value::Value;
use pyro5_core::ser::{json, marshal, msgpack, serpent};
use pyro5_interop_tests::{tagged, unhex, vectors_dir};
use serde_json::Value as Json;

struct Format {
    name: &'static str,
    decode: fn(&[u8]) -> Result<Value, String>,
    encode: fn(&Value) -> Result<Vec<u8>, String>,
}

macro_rules! codec {
    ($m:ident) => {
        Format {
            name: stringify!($m),
            decode: |b| $m::from_slice::<Value>(b).map_err(|e| e.to_string()),
            encode: |v| $m::to_vec(v).map_err(|e| e.to_string()),
        }
    };
}

const FORMATS: &[Format] = &[codec!(serpent), codec!(json), codec!(marshal), codec!(msgpack)];

/// What Pyro's loads gives, as a `Value`, from the recorded wire-level description.
fn expected(format: &str, wire: &Json) -> Option<Value> {
    let v = tagged::to_value(wire)?;
    Some(match format {
        "msgpack" => msgpack_ext(v),
        "serpent" => serpent_specials(v),
        _ => v,
    })
}

/// msgpack's ExtType(code, data) is recorded as a 2-tuple; Pyro's loads turns 0x30 into a
/// complex, 0x31 into an int, 0x32 into a datetime and 0x33 into a date.
fn msgpack_ext(v: Value) -> Value {
    match v {
        Value::Tuple(parts) => match parts.as_slice() {
            [Value::Int(0x30), Value::Bytes(b)] if b.len() == 16 => Value::Complex {
                re: f64::from_le_bytes(b[..8].try_into().unwrap()),
                im: f64::from_le_bytes(b[8..].try_into().unwrap()),
            },
            [Value::Int(0x31), Value::Bytes(b)] => {
                let text = std::str::from_utf8(b).unwrap();
                match text.parse::<i128>() {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::BigInt(text.into()),
                }
            }
            [Value::Int(0x32), Value::Bytes(b)] if b.len() == 8 => {
                Value::DateTime(f64::from_le_bytes(b[..].try_into().unwrap()))
            }
            [Value::Int(0x33), Value::Bytes(b)] if b.len() == 8 => {
                Value::Date(i64::from_le_bytes(b[..].try_into().unwrap()))
            }
            _ => Value::Tuple(parts.into_iter().map(msgpack_ext).collect()),
        },
        Value::List(items) => Value::List(items.into_iter().map(msgpack_ext).collect()),
        Value::Dict(entries) => {
            Value::Dict(entries.into_iter().map(|(k, v)| (msgpack_ext(k), msgpack_ext(v))).collect())
        }
        other => other,
    }
}

/// serpent's `{'__class__':'float','value':'nan'}` is NaN to Pyro.
fn serpent_specials(v: Value) -> Value {
    match v {
        Value::Dict(entries) if is_nan_dict(&entries) => Value::Float(f64::NAN),
        Value::Dict(entries) => {
            Value::Dict(entries.into_iter().map(|(k, v)| (serpent_specials(k), serpent_specials(v))).collect())
        }
        Value::List(items) => Value::List(items.into_iter().map(serpent_specials).collect()),
        Value::Tuple(items) => Value::Tuple(items.into_iter().map(serpent_specials).collect()),
        other => other,
    }
}

fn is_nan_dict(entries: &[(Value, Value)]) -> bool {
    matches!(entries, [(k1, v1), (k2, v2)] if k1.as_str() == Some("__class__") && v1.as_str() == Some("float")
        && k2.as_str() == Some("value") && v2.as_str() == Some("nan"))
}

/// The value whose encoding Python wrote: serpent's base64 dict was written from bytes.
fn encoded_from(format: &str, v: &Value) -> Value {
    if format == "serpent" {
        if let Value::Dict(entries) = v {
            if let [(k1, Value::Str(data)), (k2, Value::Str(enc))] = entries.as_slice() {
                if k1.as_str() == Some("data") && k2.as_str() == Some("encoding") && enc == "base64" {
                    use base64::Engine as _;
                    return Value::Bytes(base64::engine::general_purpose::STANDARD.decode(data).unwrap());
                }
            }
        }
    }
    v.clone()
}

#[test]
fn every_recorded_payload_decodes_to_what_python_decoded_and_reencodes_to_its_bytes() {
    let index: Json =
        serde_json::from_str(&std::fs::read_to_string(vectors_dir().join("index.json")).unwrap()).unwrap();
    let mut report = Vec::new();
    let (mut decoded, mut exact) = (0, 0);
    for p in index["payloads"].as_array().unwrap() {
        let Some(file) = p["file"].as_str() else { continue };
        let name = p["id"].as_str().unwrap();
        let Some(format) = FORMATS.iter().find(|f| f.name == p["serializer"]) else { continue };
        let bytes = std::fs::read(vectors_dir().join(file)).unwrap();
        assert_eq!(bytes, unhex(p["hex"].as_str().unwrap()));
        let got = (format.decode)(&bytes);
        if p.get("wire_decoded").is_none() && p.get("wire_decode_error").is_none() {
            // Not described (serpent's bytes literal, SERPENT_BYTES_REPR): it must decode.
            if let Err(e) = got {
                report.push(format!("{name}: {e}"));
            }
            continue;
        }
        if p.get("wire_decode_error").is_some() {
            // Python refuses it (msgpack's strict map keys); we may be lenient.
            continue;
        }
        let Some(want) = expected(format.name, &p["wire_decoded"]) else {
            if got.is_ok() {
                report.push(format!("{name}: Python's value has no Value form, but we decoded {got:?}"));
            }
            continue;
        };
        match got {
            Ok(got) if got.is_identical(&want) => decoded += 1,
            other => {
                report.push(format!("{name}: decoded {other:?}, want {want:?}"));
                continue;
            }
        }
        if format.name == "marshal" {
            // Python's marshal flags depend on refcounts: compare by value.
            let ours = (format.encode)(&want).unwrap();
            let back = (format.decode)(&ours).unwrap();
            if !back.is_identical(&want) {
                report.push(format!("{name}: our encoding decodes to {back:?}"));
            }
            continue;
        }
        match (format.encode)(&encoded_from(format.name, &want)) {
            Ok(ours) if ours == bytes => exact += 1,
            Ok(ours) => report.push(format!(
                "{name}: encoded\n   {}\n want {}",
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&bytes)
            )),
            Err(e) => report.push(format!("{name}: encode failed: {e}")),
        }
    }
    assert!(report.is_empty(), "{} problems:\n{}", report.len(), report.join("\n"));
    assert!(decoded > 80 * FORMATS.len() && exact > 60 * (FORMATS.len() - 1), "{decoded} decoded, {exact} byte-exact");
}
