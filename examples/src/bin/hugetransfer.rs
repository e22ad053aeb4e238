//! Pyro5's `hugetransfer` example: a `Testclass` per connection that takes large data (a
//! `str`, or `bytes`, which serpent sends as a base64 dict) and answers its length, and
//! streams 200000-byte chunks of zero bytes for a download of any size. Served as
//! `example.hugetransfer` in the daemon, without a name server; the client asks for the
//! URI.

use pyro5_examples::{Class, serve};
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::server::{PyException, TYPE_ERROR};
use pyro5_std::{InstanceMode, expose};

/// The size of a download's chunks.
const CHUNK: usize = 200_000;

/// The length of what a base64 text encodes (its padding and whitespace left out).
fn base64_len(text: &str) -> usize {
    let chars = text.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'=').count();
    chars * 3 / 4
}

/// Python's `len` of the data received: characters of a `str`, bytes of `bytes` (also as
/// serpent's base64 dict, `{'data': ..., 'encoding': 'base64'}`).
fn length(data: &Value) -> Option<usize> {
    match data {
        Value::Str(text) => Some(text.chars().count()),
        Value::Bytes(bytes) => Some(bytes.len()),
        Value::Dict(items) => {
            let get = |key: &str| items.iter().find(|(k, _)| matches!(k, Value::Str(k) if k == key)).map(|(_, v)| v);
            match (get("data"), get("encoding")) {
                (Some(Value::Str(text)), Some(Value::Str(encoding))) if encoding == "base64" => Some(base64_len(text)),
                _ => Some(items.len()),
            }
        }
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => Some(items.len()),
        _ => None,
    }
}

struct Testclass;

#[expose]
impl Testclass {
    fn transfer(&self, data: Value) -> Result<usize, PyException<&'static str>> {
        let size = length(&data).ok_or(PyException::new(TYPE_ERROR, "object has no len()"))?;
        println!("received {size} bytes");
        Ok(size)
    }

    /// `size` zero bytes in chunks of 200000.
    fn download_chunks(&self, size: usize) -> impl Iterator<Item = Value> {
        println!("client requests a 'streaming' download of {size} bytes");
        println!("  using chunks of size {CHUNK}");
        (0..size).step_by(CHUNK).map(move |i| Value::Bytes(vec![0; CHUNK.min(size - i)]))
    }
}

fn main() -> pyro5_examples::Result {
    serve(
        vec![Class::new("__main__.Testclass", InstanceMode::Session, || Testclass, "example.hugetransfer")],
        None,
        false,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_gives_its_decoded_length() {
        assert_eq!(super::base64_len("eHh4"), 3);
        assert_eq!(super::base64_len("eHg="), 2);
        assert_eq!(super::base64_len("eA=="), 1);
        assert_eq!(super::base64_len("eHh4\neHh4eA=="), 7);
    }
}
