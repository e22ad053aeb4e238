//! The tagged JSON form of Python values used by `shared/vectors` and by the Python helpers
//! (`$int`, `$float`, `$bytes`, `$tuple`, `$set`, `$frozenset`, `$dict`, `$complex`, and
//! `$datetime` / `$date` for msgpack's; plain arrays are lists, plain objects string-keyed
//! dicts), to and from [`Value`].

use pyro5_core::ser::value::Value;
use serde_json::{Value as Json, json};

/// A tagged JSON value as a [`Value`]; `None` for forms a `Value` cannot hold (lone
/// surrogates, undecodable payloads, msgpack ext types other than Pyro's).
pub fn to_value(j: &Json) -> Option<Value> {
    Some(match j {
        Json::Null => Value::None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i.into()),
            None => match n.as_u64() {
                Some(u) => Value::Int(u.into()),
                None => Value::Float(n.as_f64()?),
            },
        },
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(items) => Value::List(items.iter().map(to_value).collect::<Option<_>>()?),
        Json::Object(map) => {
            let only = |key: &str| map.get(key).filter(|_| map.len() == 1);
            if let Some(Json::String(text)) = only("$int") {
                match text.parse::<i128>() {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::BigInt(text.clone()),
                }
            } else if let Some(Json::String(text)) = only("$float") {
                Value::Float(match text.as_str() {
                    "nan" => f64::NAN,
                    "inf" => f64::INFINITY,
                    "-inf" => f64::NEG_INFINITY,
                    other => other.parse().ok()?,
                })
            } else if let Some(Json::String(hex)) = only("$bytes") {
                Value::Bytes(crate::unhex(hex))
            } else if let Some(Json::Array(items)) = only("$tuple") {
                Value::Tuple(items.iter().map(to_value).collect::<Option<_>>()?)
            } else if let Some(Json::Array(items)) = only("$set") {
                Value::Set(items.iter().map(to_value).collect::<Option<_>>()?)
            } else if let Some(Json::Array(items)) = only("$frozenset") {
                Value::FrozenSet(items.iter().map(to_value).collect::<Option<_>>()?)
            } else if let Some(Json::Array(pairs)) = only("$dict") {
                let mut entries = Vec::new();
                for pair in pairs {
                    let [k, v] = pair.as_array()?.as_slice() else { return None };
                    entries.push((to_value(k)?, to_value(v)?));
                }
                Value::Dict(entries)
            } else if let Some(Json::Array(parts)) = only("$complex") {
                let [re, im] = parts.as_slice() else { return None };
                let part = |p: &Json| match to_value(p)? {
                    Value::Float(f) => Some(f),
                    Value::Int(i) => Some(i as f64),
                    _ => None,
                };
                Value::Complex { re: part(re)?, im: part(im)? }
            } else if let Some(timestamp) = only("$datetime") {
                match to_value(timestamp)? {
                    Value::Float(f) => Value::DateTime(f),
                    _ => return None,
                }
            } else if let Some(Json::Number(ordinal)) = only("$date") {
                Value::Date(ordinal.as_i64()?)
            } else if map.keys().any(|k| k.starts_with('$')) {
                return None;
            } else {
                Value::Dict(
                    map.iter().map(|(k, v)| Some((Value::Str(k.clone()), to_value(v)?))).collect::<Option<_>>()?,
                )
            }
        }
    })
}

/// A [`Value`] in the tagged JSON form.
pub fn from_value(v: &Value) -> Json {
    match v {
        Value::None => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => match i64::try_from(*i) {
            Ok(small) if small.unsigned_abs() < (1 << 53) => json!(small),
            _ => json!({"$int": i.to_string()}),
        },
        Value::BigInt(text) => json!({"$int": text}),
        Value::Float(f) => float(*f),
        Value::Complex { re, im } => json!({"$complex": [float(*re), float(*im)]}),
        Value::Str(s) => json!(s),
        Value::Bytes(b) => json!({"$bytes": crate::hex(b)}),
        Value::Tuple(items) => json!({"$tuple": items.iter().map(from_value).collect::<Vec<_>>()}),
        Value::List(items) => Json::Array(items.iter().map(from_value).collect()),
        Value::Set(items) => json!({"$set": items.iter().map(from_value).collect::<Vec<_>>()}),
        Value::FrozenSet(items) => json!({"$frozenset": items.iter().map(from_value).collect::<Vec<_>>()}),
        Value::DateTime(timestamp) => json!({"$datetime": float(*timestamp)}),
        Value::Date(ordinal) => json!({"$date": ordinal}),
        Value::Dict(entries) => {
            json!({"$dict": entries.iter().map(|(k, v)| json!([from_value(k), from_value(v)])).collect::<Vec<_>>()})
        }
    }
}

fn float(f: f64) -> Json {
    if f.is_nan() {
        json!({"$float": "nan"})
    } else if f.is_infinite() {
        json!({"$float": if f > 0.0 { "inf" } else { "-inf" }})
    } else if f == 0.0 && f.is_sign_negative() {
        json!({"$float": "-0.0"})
    } else {
        json!(f)
    }
}
