//! Small helpers for the tests that call through a proxy (pyro5-std's and the tokio one,
//! which share [`ProxyError`]): building [`Value`] arguments and taking a failed call's
//! remote exception.

use pyro5_std::core::ser::value::Value;
use pyro5_std::{ProxyError, RemoteError};

/// A string value.
pub fn s(text: &str) -> Value {
    Value::Str(text.into())
}

/// Keyword arguments from `(name, value)` pairs.
pub fn kw(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// A dict with string keys.
pub fn dict(pairs: &[(&str, Value)]) -> Value {
    Value::Dict(pairs.iter().map(|(k, v)| (s(k), v.clone())).collect())
}

/// The remote exception a call raised.
///
/// # Panics
/// When the call did not fail with [`ProxyError::Remote`].
#[track_caller]
pub fn remote(result: Result<impl std::fmt::Debug, ProxyError>) -> RemoteError {
    match result {
        Err(ProxyError::Remote(e)) => e,
        other => panic!("expected a remote exception, got {other:?}"),
    }
}
