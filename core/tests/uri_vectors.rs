//! Every recorded case of `testdata/uri_cases.json` (what Python Pyro5 5.17's
//! `Pyro5.core.URI` accepts and rejects) parses the same with [`Uri::parse`].

use std::collections::BTreeSet;

use pyro5_core::uri::{Protocol, Uri};
use serde_json::Value;

const CASES: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/uri_cases.json"));

/// The tags of a `PYROMETA:` text without location, as a set.
fn tag_set<'a>(tags: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'a str> {
    tags.into_iter().collect()
}

/// A JSON string or null.
fn opt_str(case: &Value, key: &str) -> Option<String> {
    match &case[key] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => panic!("{key}: not a string: {other}"),
    }
}

#[test]
fn every_recorded_uri_case_parses_as_in_python() {
    let cases: Vec<Value> = serde_json::from_str(CASES).expect("uri_cases.json is JSON");
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    for case in &cases {
        let input = case["input"].as_str().expect("input");
        let parsed = Uri::parse(input);
        if case["accepted"] == Value::Bool(false) {
            let error = parsed.err().unwrap_or_else(|| panic!("{input:?}: accepted, Python refuses it"));
            assert_eq!(Some(format!("PyroError: {error}")), opt_str(case, "error"), "{input:?}");
            assert_eq!(error.pyro_class(), "Pyro5.errors.PyroError");
            continue;
        }
        let uri = parsed.unwrap_or_else(|e| panic!("{input:?}: refused ({e}), Python accepts it"));
        assert_eq!(Some(uri.protocol().as_str().to_string()), opt_str(case, "protocol"), "{input:?}");
        let printed = uri.to_string();
        let expected_str = opt_str(case, "str").expect("str");
        if uri.protocol() == Protocol::PyroMeta {
            let python: BTreeSet<&str> =
                case["object"].as_array().expect("object list").iter().map(|t| t.as_str().expect("tag")).collect();
            assert_eq!(tag_set(uri.meta_tags().expect("PYROMETA")), python, "{input:?}");
            // `PYROMETA:` + tags joined by "," in set order + location.
            let suffix = uri.location().map(|l| format!("@{l}")).unwrap_or_default();
            let strip = |s: &'_ str| -> BTreeSet<String> {
                let middle = s.strip_prefix("PYROMETA:").and_then(|m| m.strip_suffix(suffix.as_str()));
                middle.expect("PYROMETA:...@location").split(',').map(String::from).collect()
            };
            assert_eq!(strip(&printed), strip(&expected_str), "{input:?}");
        } else {
            assert_eq!(Some(uri.object().to_string()), opt_str(case, "object"), "{input:?}");
            assert_eq!(printed, expected_str, "{input:?}");
        }
        assert_eq!(uri.host().map(String::from), opt_str(case, "host"), "{input:?}");
        assert_eq!(uri.port(), case["port"].as_i64(), "{input:?}");
        assert_eq!(uri.sockname().map(String::from), opt_str(case, "sockname"), "{input:?}");
        assert_eq!(uri.location().map(|l| l.to_string()), opt_str(case, "location"), "{input:?}");
    }
}
