//! Serialized blobs: calls whose argument travels still serialized (Pyro's
//! `SerializedBlob`, `docs/wire-protocol.md`, "Serialized blobs").
//!
//! A client calls `method(SerializedBlob(info, data))`: the message carries the
//! KEEPSERIALIZED flag, a `BLBI` annotation holding `marshal.dumps((info, object id,
//! method))`, and the payload `(object id, method, data, kwargs)` in the call's serializer,
//! where `data` takes the place of the positional arguments. The daemon reads the object and
//! method from `BLBI` and hands the method the blob without decoding the payload. A
//! dispatcher passes it on to other objects the same way (the payload untouched, `BLBI`
//! written again for the new object and method); only the receiver at the end decodes the
//! data ([`SerializedBlob::deserialized`]), in whatever types it knows.
//!
//! A `#[expose]` method takes a blob as a parameter of type [`SerializedBlob`]; a proxy
//! passes one on (`Proxy::call_blob` in pyro5-std and pyro5-tokio) or makes a new one.
//!
//! ```
//! use pyro5_core::ser::blob::SerializedBlob;
//! use pyro5_core::wire::SerializerId;
//!
//! // The BLBI annotation and payload of Python's `proxy.blob(SerializedBlob("blob-info",
//! // {"payload": [1, 2, 3]}))` to object "vectortest", in serpent.
//! let blbi = b")\x03\xfa\x09blob-info\xfa\x0avectortest\xda\x04blob";
//! let payload = b"# serpent utf-8 python3.2\n('vectortest','blob',{'payload':[1,2,3]},{})";
//! let blob = SerializedBlob::parse(blbi, SerializerId::Serpent, payload)?;
//! assert_eq!((blob.object(), blob.method()), ("vectortest", "blob"));
//! assert_eq!(blob.info::<&str>()?, "blob-info");
//!
//! #[derive(serde::Deserialize)]
//! struct Data {
//!     payload: Vec<u8>,
//! }
//! let data: Data = blob.deserialized()?;
//! assert_eq!(data.payload, [1, 2, 3]);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::limits::Limits;
use crate::ser::call::{CallError, decode_payload_with_limits};
use crate::ser::marshal;
use crate::ser::{Output, OutputError};
use crate::wire::SerializerId;

/// A call's argument still serialized: who it was sent to, its `info`, and the call's payload
/// as the client serialized it. Borrows from the received message.
#[derive(Clone, Copy, Debug)]
pub struct SerializedBlob<'a> {
    /// The `BLBI` annotation: the marshal tuple `(info, object id, method)`.
    blbi: &'a [u8],
    /// The tuple's type code and length, as they came (copied when the blob is passed on, so
    /// that back-references inside `info` still count from the same place).
    tuple_header: &'a [u8],
    /// The marshal bytes of `info`.
    info: &'a [u8],
    object: &'a str,
    method: &'a str,
    serializer: SerializerId,
    payload: &'a [u8],
}

/// Why a KEEPSERIALIZED call's `BLBI` annotation does not read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum BlobError {
    /// The call has no `BLBI` annotation (Python: `KeyError('BLBI')`; its text, the
    /// exception's argument, is the key).
    Missing,
    /// `BLBI` is not a tuple of three (Python: `ValueError` unpacking it).
    NotATriple,
    /// `BLBI` is no valid marshal data, or its object id or method is not a string.
    Marshal(marshal::Error),
}

impl BlobError {
    /// The Python exception class Pyro5's daemon answers with.
    pub fn pyro_class(&self) -> &'static str {
        match self {
            Self::Missing => "builtins.KeyError",
            Self::NotATriple => "builtins.ValueError",
            Self::Marshal(e) => e.pyro_class(),
        }
    }
}

impl fmt::Display for BlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("BLBI"),
            Self::NotATriple => f.write_str("the BLBI annotation is not a tuple (info, object id, method)"),
            Self::Marshal(e) => write!(f, "BLBI annotation: {e}"),
        }
    }
}

impl core::error::Error for BlobError {}

impl From<marshal::Error> for BlobError {
    fn from(e: marshal::Error) -> Self {
        Self::Marshal(e)
    }
}

impl<'a> SerializedBlob<'a> {
    /// The blob of a KEEPSERIALIZED call: its `BLBI` annotation, the message's serializer and
    /// payload.
    ///
    /// # Errors
    /// [`BlobError`] when `blbi` is not the marshal tuple `(info, object id, method)`.
    pub fn parse(blbi: &'a [u8], serializer: SerializerId, payload: &'a [u8]) -> Result<Self, BlobError> {
        // A marshal tuple: `)` and a one-byte length, or `(` and a four-byte one; the high
        // bit of the code is CPython's FLAG_REF.
        let (header_len, count) = match blbi.first().map(|code| code & 0x7f) {
            Some(b')') => (2, blbi.get(1).map(|&n| u32::from(n))),
            Some(b'(') => (5, blbi.get(1..5).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes)),
            _ => return Err(BlobError::NotATriple),
        };
        if count != Some(3) {
            return Err(BlobError::NotATriple);
        }
        let (tuple_header, rest) = blbi.split_at_checked(header_len).ok_or(BlobError::NotATriple)?;
        let (info, rest) = marshal::skip_value(rest)?;
        let (object, rest) = marshal::skip_value(rest)?;
        let (method, rest) = marshal::skip_value(rest)?;
        if !rest.is_empty() {
            return Err(BlobError::Marshal(marshal::Error::TrailingBytes { offset: blbi.len() - rest.len() }));
        }
        Ok(Self {
            blbi,
            tuple_header,
            info,
            object: marshal::from_span(blbi, object)?,
            method: marshal::from_span(blbi, method)?,
            serializer,
            payload,
        })
    }

    /// The object id the blob was sent to.
    pub fn object(&self) -> &'a str {
        self.object
    }

    /// The method it was sent to.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// Its `info` (Python's `blob.info`: a small description of the data, e.g. a topic).
    ///
    /// # Errors
    /// When it does not fit `T`.
    pub fn info<T: Deserialize<'a>>(&self) -> Result<T, marshal::Error> {
        marshal::from_span(self.blbi, self.info)
    }

    /// The serializer of its payload.
    pub fn serializer(&self) -> SerializerId {
        self.serializer
    }

    /// The call's payload as the client serialized it: `(object id, method, data, kwargs)`
    /// (json: a dict with those under `object`, `method`, `params`, `kwargs`).
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The data (Python's `blob.deserialized()`), read within the default [`Limits`].
    ///
    /// Python reads a json blob's data wrongly (it unpacks the call dict's keys and gives
    /// the string `"params"`); this gives the data in every serializer.
    ///
    /// # Errors
    /// When the payload does not read or its data does not fit `T`.
    pub fn deserialized<T: Deserialize<'a>>(&self) -> Result<T, CallError> {
        self.deserialized_with_limits(Limits::DEFAULT)
    }

    /// [`deserialized`](Self::deserialized) within `limits`.
    ///
    /// # Errors
    /// As [`deserialized`](Self::deserialized).
    pub fn deserialized_with_limits<T: Deserialize<'a>>(&self, limits: Limits) -> Result<T, CallError> {
        let Data(data) = decode_payload_with_limits(self.serializer, self.payload, limits)?;
        Ok(data)
    }

    /// Write `BLBI` for passing the blob on to `object`'s `method`: the same `info`, bytes
    /// for bytes.
    pub(crate) fn write_blbi(&self, object: &str, method: &str, out: &mut dyn Output) -> Result<(), OutputError> {
        out.write_bytes(self.tuple_header)?;
        out.write_bytes(self.info)?;
        write_str(object, out)?;
        write_str(method, out)
    }
}

/// `BLBI` for a new blob: `(info, object, method)` in marshal.
pub(crate) fn write_new_blbi<I: ?Sized + Serialize>(
    info: &I,
    object: &str,
    method: &str,
    out: &mut dyn Output,
) -> Result<(), marshal::Error> {
    marshal::to_output(&(info, object, method), &mut DynOutput(out))
}

/// A string in marshal.
fn write_str(text: &str, out: &mut dyn Output) -> Result<(), OutputError> {
    marshal::to_output(text, &mut DynOutput(out)).map_err(|_| OutputError::BufferFull { capacity: 0 })
}

/// An `Output` through a `&mut dyn Output`.
struct DynOutput<'o>(&'o mut dyn Output);

impl Output for DynOutput<'_> {
    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        self.0.write_bytes(bytes)
    }
}

/// The data of a blob's call payload: the third item of the call tuple, or json's `params`.
struct Data<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Data<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DataVisitor(PhantomData))
    }
}

struct DataVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for DataVisitor<T> {
    type Value = Data<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a call (object id, method, data, kwargs)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Data<T>, A::Error> {
        for at in 0..2 {
            seq.next_element::<IgnoredAny>()?.ok_or_else(|| de::Error::invalid_length(at, &self))?;
        }
        let data = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(2, &self))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Data(data))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data<T>, A::Error> {
        let mut data = None;
        while let Some(is_params) = map.next_key_seed(KeyIs("params"))? {
            if is_params && data.is_none() {
                data = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        data.map(Data).ok_or_else(|| de::Error::missing_field("params"))
    }
}

/// Whether a map key is the given text (without borrowing it).
struct KeyIs(&'static str);

impl<'de> DeserializeSeed<'de> for KeyIs {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIs {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// The name under which a blob reaches a [`SerializedBlob`] parameter through serde: the
/// daemon's argument reader answers it with the blob's parts, every format's deserializer
/// with an error (a blob is never inside a payload).
pub(crate) const BLOB_TOKEN: &str = "$pyro5::SerializedBlob";

/// A [`SerializedBlob`] parameter of an `#[expose]` method: the blob of a KEEPSERIALIZED call.
/// An ordinary argument where a blob is expected is a TypeError.
impl<'de> Deserialize<'de> for SerializedBlob<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(BLOB_TOKEN, BlobVisitor)
    }
}

struct BlobVisitor;

impl<'de> Visitor<'de> for BlobVisitor {
    type Value = SerializedBlob<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a SerializedBlob (a call made with KEEPSERIALIZED)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SerializedBlob<'de>, A::Error> {
        let blbi: &'de [u8] = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let serializer: u8 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let payload: &'de [u8] = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(2, &self))?;
        SerializedBlob::parse(blbi, SerializerId::from(serializer), payload).map_err(de::Error::custom)
    }
}

/// What the daemon's argument reader gives a parameter for the blob of a KEEPSERIALIZED call:
/// a [`SerializedBlob`] parameter takes it (as its `BLBI`, serializer id and payload), any
/// other type refuses it (the argument reader answers [`CallError::Blob`]).
pub(crate) struct BlobArgument<'a>(pub(crate) SerializedBlob<'a>);

impl<'de> Deserializer<'de> for BlobArgument<'de> {
    type Error = marshal::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, marshal::Error> {
        Err(de::Error::invalid_type(de::Unexpected::Other("a SerializedBlob"), &visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, marshal::Error> {
        if name != BLOB_TOKEN {
            return self.deserialize_any(visitor);
        }
        visitor.visit_seq(Parts { blob: self.0, next: 0 })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// A blob's parts, one after the other: `BLBI`, serializer id, payload.
struct Parts<'a> {
    blob: SerializedBlob<'a>,
    next: u8,
}

impl<'de> SeqAccess<'de> for Parts<'de> {
    type Error = marshal::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, marshal::Error> {
        use serde::de::value::{BorrowedBytesDeserializer, U8Deserializer};
        let at = self.next;
        self.next = self.next.saturating_add(1);
        match at {
            0 => seed.deserialize(BorrowedBytesDeserializer::new(self.blob.blbi)).map(Some),
            1 => seed.deserialize(U8Deserializer::new(u8::from(self.blob.serializer))).map(Some),
            2 => seed.deserialize(BorrowedBytesDeserializer::new(self.blob.payload)).map(Some),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ser::SliceOutput;

    /// Python's BLBI for `SerializedBlob("blob-info", ...)` to `vectortest.blob`.
    const BLBI: &[u8] = b")\x03\xfa\x09blob-info\xfa\x0avectortest\xda\x04blob";

    #[test]
    fn python_blob_info_reads() {
        let blob = SerializedBlob::parse(BLBI, SerializerId::Serpent, b"").unwrap();
        assert_eq!((blob.object(), blob.method(), blob.info::<&str>().unwrap()), ("vectortest", "blob", "blob-info"));
    }

    #[test]
    fn passed_on_info_keeps_its_back_references() {
        // info = ("x", "x"), its second "x" a reference to the first (as CPython writes a
        // repeated interned string); then object and method.
        let blbi = b")\x03)\x02\xfa\x01xr\x00\x00\x00\x00z\x01oz\x01m";
        let blob = SerializedBlob::parse(blbi, SerializerId::Marshal, b"").unwrap();
        assert_eq!(blob.info::<(&str, &str)>().unwrap(), ("x", "x"));
        let mut buf = [0u8; 64];
        let mut out = SliceOutput::new(&mut buf);
        blob.write_blbi("listener.1", "process_blob", &mut out).unwrap();
        let len = out.len();
        let again = SerializedBlob::parse(&buf[..len], SerializerId::Marshal, b"").unwrap();
        assert_eq!((again.object(), again.method()), ("listener.1", "process_blob"));
        assert_eq!(again.info::<(&str, &str)>().unwrap(), ("x", "x"));
    }

    #[test]
    fn new_blob_info_is_a_marshal_triple() {
        let mut buf = [0u8; 64];
        let mut out = SliceOutput::new(&mut buf);
        write_new_blbi(&("topic", 7), "obj", "meth", &mut out).unwrap();
        let len = out.len();
        let blob = SerializedBlob::parse(&buf[..len], SerializerId::Json, b"").unwrap();
        assert_eq!((blob.object(), blob.method(), blob.info::<(&str, i32)>().unwrap()), ("obj", "meth", ("topic", 7)));
    }

    #[test]
    fn bad_blob_info_is_an_error() {
        for bad in [
            &b""[..],
            b"z\x01x",
            b")\x02z\x01xz\x01y",
            b")\x03z\x01xz\x01y",
            b")\x03z\x01xi\x01\x00\x00\x00z\x01m",
            b")\x03z\x01xz\x01oz\x01mextra",
            b"(\x03\x00\x00",
            b")\x03z\x09short",
        ] {
            assert!(SerializedBlob::parse(bad, SerializerId::Serpent, b"").is_err(), "{bad:?}");
        }
        let mut text = heapless::String::<16>::new();
        core::fmt::write(&mut text, format_args!("{}", BlobError::Missing)).unwrap();
        assert_eq!(text, "BLBI");
        assert_eq!(BlobError::Missing.pyro_class(), "builtins.KeyError");
    }

    #[test]
    fn the_data_reads_in_every_format() {
        // What Pyro5's serializers write for dumpsCall("o", "m", [1, 2], {}).
        let cases: [(SerializerId, &[u8]); 4] = [
            (SerializerId::Serpent, b"# serpent utf-8 python3.2\n('o','m',[1,2],{})"),
            (SerializerId::Json, br#"{"object":"o","method":"m","params":[1,2],"kwargs":{}}"#),
            (SerializerId::Marshal, b")\x04z\x01oz\x01m[\x02\x00\x00\x00i\x01\x00\x00\x00i\x02\x00\x00\x00{0"),
            (SerializerId::Msgpack, b"\x94\xa1o\xa1m\x92\x01\x02\x80"),
        ];
        for (format, payload) in cases {
            let blob = SerializedBlob::parse(BLBI, format, payload).unwrap();
            assert_eq!(blob.deserialized::<[i32; 2]>().unwrap(), [1, 2], "{format:?}");
            assert!(blob.deserialized::<&str>().is_err(), "{format:?}");
        }
    }
}
