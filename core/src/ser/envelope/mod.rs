//! Pyro's conventions on top of the four formats, written once for all of them
//! (`docs/serializers.md`, "Pyro's conventions"): the call envelope, exceptions, the batch
//! exception wrapper, and the `__class__` dicts of URIs, proxies and user classes.
//!
//! These are ordinary serde values; each format writes them in its own syntax. Where
//! Pyro5's shapes differ per format (the call envelope), the value takes the
//! [`SerializerId`] it is written for.

use core::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeTuple, Serializer};

use crate::uri::{Location, Protocol, Uri};
use crate::wire::SerializerId;

/// The id under which a daemon's own object is registered (`Pyro.Daemon`: item streams,
/// metadata, ping).
pub const DAEMON_OBJECT_ID: &str = "Pyro.Daemon";
/// Method name of a batch call.
pub const BATCH_METHOD: &str = "<batch>";
/// Key marking a dict as an object of a class.
pub const CLASS_KEY: &str = "__class__";
/// Class name of the batch exception wrapper.
pub const EXCEPTION_WRAPPER_CLASS: &str = "Pyro5.core._ExceptionWrapper";
/// Class name of a serialized URI.
pub const URI_CLASS: &str = "Pyro5.core.URI";
/// Class name of a serialized proxy.
pub const PROXY_CLASS: &str = "Pyro5.client.Proxy";
/// The attribute holding the remote traceback lines.
pub const TRACEBACK_ATTRIBUTE: &str = "_pyroTraceback";

/// A call as a Python proxy writes it (`dumpsCall`): serpent and msgpack a 4-tuple
/// `(object, method, args, kwargs)`, marshal the same with `args` as a list, json an object
/// `{"object", "method", "params", "kwargs"}`. `kwargs` is `None` for batches and remote
/// attribute access.
#[derive(Clone, Copy, Debug)]
pub struct CallEnvelope<'a, A: ?Sized, K: ?Sized> {
    /// The format it is written for.
    pub format: SerializerId,
    /// The object id.
    pub object: &'a str,
    /// The method name.
    pub method: &'a str,
    /// Positional arguments: a tuple (or a sequence).
    pub args: &'a A,
    /// Keyword arguments: a map, or `None`.
    pub kwargs: Option<&'a K>,
}

impl<A: ?Sized + Serialize, K: ?Sized + Serialize> Serialize for CallEnvelope<'_, A, K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.format {
            SerializerId::Json => {
                let mut m = s.serialize_map(Some(4))?;
                m.serialize_entry("object", self.object)?;
                m.serialize_entry("method", self.method)?;
                m.serialize_entry("params", self.args)?;
                m.serialize_entry("kwargs", &self.kwargs)?;
                m.end()
            }
            SerializerId::Marshal => {
                let mut t = s.serialize_tuple(4)?;
                t.serialize_element(self.object)?;
                t.serialize_element(self.method)?;
                t.serialize_element(&AsList(self.args))?;
                t.serialize_element(&self.kwargs)?;
                t.end()
            }
            _ => (self.object, self.method, self.args, &self.kwargs).serialize(s),
        }
    }
}

/// A received call, any format's shape, typed: `A` and `K` are what the arguments decode to.
#[derive(Clone, Debug, PartialEq)]
pub struct Call<'a, A, K> {
    /// The object id.
    pub object: &'a str,
    /// The method name.
    pub method: &'a str,
    /// Positional arguments.
    pub args: A,
    /// Keyword arguments (`None` when Pyro sent `None`).
    pub kwargs: Option<K>,
}

impl<'de: 'a, 'a, A: Deserialize<'de>, K: Deserialize<'de>> Deserialize<'de> for Call<'a, A, K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<A, K>(core::marker::PhantomData<(A, K)>);
        impl<'de, A: Deserialize<'de>, K: Deserialize<'de>> Visitor<'de> for V<A, K> {
            type Value = Call<'de, A, K>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Pyro call: (object, method, args, kwargs) or {object, method, params, kwargs}")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                let missing = |n| de::Error::invalid_length(n, &"4 elements");
                let object = seq.next_element()?.ok_or_else(|| missing(0))?;
                let method = seq.next_element()?.ok_or_else(|| missing(1))?;
                let args = seq.next_element()?.ok_or_else(|| missing(2))?;
                let kwargs = seq.next_element::<Option<K>>()?.ok_or_else(|| missing(3))?;
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(5, &"4 elements"));
                }
                Ok(Call { object, method, args, kwargs })
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let (mut object, mut method, mut args, mut kwargs) = (None, None, None, None);
                while let Some(key) = map.next_key::<&str>()? {
                    match key {
                        "object" => object = Some(map.next_value()?),
                        "method" => method = Some(map.next_value()?),
                        "params" => args = Some(map.next_value()?),
                        "kwargs" => kwargs = Some(map.next_value::<Option<K>>()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Call {
                    object: object.ok_or_else(|| de::Error::missing_field("object"))?,
                    method: method.ok_or_else(|| de::Error::missing_field("method"))?,
                    args: args.ok_or_else(|| de::Error::missing_field("params"))?,
                    kwargs: kwargs.ok_or_else(|| de::Error::missing_field("kwargs"))?,
                })
            }
        }
        deserializer.deserialize_any(V(core::marker::PhantomData))
    }
}

/// A Python exception as Pyro sends it: `{"__class__": "builtins.ValueError",
/// "__exception__": True, "args": (...), "attributes": {"_pyroTraceback": [lines]}}`.
#[derive(Clone, Copy, Debug)]
pub struct ExceptionDict<'a, A: ?Sized> {
    /// Module and class name, e.g. `builtins.ValueError` or `Pyro5.errors.DaemonError`.
    pub class: &'a str,
    /// The exception's `args` (a tuple).
    pub args: &'a A,
    /// The remote traceback, one string per line as Python's `traceback.format_exception`
    /// gives them (each ending in a newline); `None` sends `None` as Pyro does for the
    /// iterator-result marker.
    pub traceback: Option<&'a [&'a str]>,
}

impl<A: ?Sized + Serialize> Serialize for ExceptionDict<'_, A> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry(CLASS_KEY, self.class)?;
        m.serialize_entry("__exception__", &true)?;
        m.serialize_entry("args", self.args)?;
        m.serialize_entry("attributes", &Attributes(self.traceback))?;
        m.end()
    }
}

struct Attributes<'a>(Option<&'a [&'a str]>);

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(TRACEBACK_ATTRIBUTE, &self.0)?;
        m.end()
    }
}

/// The wrapper a batch result list uses for the call that raised:
/// `{"__class__": "Pyro5.core._ExceptionWrapper", "exception": <exception dict>}`.
#[derive(Clone, Copy, Debug)]
pub struct ExceptionWrapper<'a, A: ?Sized>(pub ExceptionDict<'a, A>);

impl<A: ?Sized + Serialize> Serialize for ExceptionWrapper<'_, A> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(CLASS_KEY, EXCEPTION_WRAPPER_CLASS)?;
        m.serialize_entry("exception", &self.0)?;
        m.end()
    }
}

/// What a received exception says, without an allocator: its class and its message (the
/// first argument when that is a string). The rest of the dict is read and dropped.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct RemoteException<'a> {
    /// Module and class name.
    pub class: &'a str,
    /// The first argument, when it is a string.
    pub message: Option<&'a str>,
    /// How many traceback lines came with it.
    pub traceback_lines: usize,
}

impl<'de: 'a, 'a> Deserialize<'de> for RemoteException<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RemoteException<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Pyro exception dict")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let (mut class, mut message, mut traceback_lines, mut is_exception) = (None, None, 0, false);
                while let Some(key) = map.next_key::<&str>()? {
                    match key {
                        CLASS_KEY => class = Some(map.next_value()?),
                        "__exception__" => is_exception = map.next_value()?,
                        "args" => message = map.next_value::<FirstString<'de>>()?.0,
                        "attributes" => traceback_lines = map.next_value::<TracebackCount>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                if !is_exception {
                    return Err(de::Error::custom("not an exception: __exception__ is not True"));
                }
                let class = class.ok_or_else(|| de::Error::missing_field(CLASS_KEY))?;
                Ok(RemoteException { class, message, traceback_lines })
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// The first element of a sequence, if it is a string.
struct FirstString<'a>(Option<&'a str>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstString<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstString<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("exception args")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                let first = seq.next_element::<MaybeStr<'de>>()?.and_then(|m| m.0);
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstString(first))
            }
        }
        d.deserialize_seq(V)
    }
}

struct MaybeStr<'a>(Option<&'a str>);

impl<'de: 'a, 'a> Deserialize<'de> for MaybeStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(v)))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// The number of `_pyroTraceback` lines in an `attributes` dict.
struct TracebackCount(usize);

impl<'de> Deserialize<'de> for TracebackCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TracebackCount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("exception attributes")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut lines = 0;
                while let Some(key) = map.next_key::<&str>()? {
                    if key == TRACEBACK_ATTRIBUTE {
                        lines = map.next_value::<Option<Count>>()?.map_or(0, |c| c.0);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(TracebackCount(lines))
            }
        }
        d.deserialize_map(V)
    }
}

struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Count, S::Error> {
                let mut n = 0usize;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n = n.saturating_add(1);
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(V)
    }
}

impl Serialize for Uri<'_> {
    /// `{"__class__": "Pyro5.core.URI", "state": (protocol, object, sockname, host, port)}`;
    /// a `PYROMETA` object is the set of its tags.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(CLASS_KEY, URI_CLASS)?;
        m.serialize_entry("state", &UriState(self))?;
        m.end()
    }
}

struct UriState<'a, 'u>(&'a Uri<'u>);

impl Serialize for UriState<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let u = self.0;
        let (sockname, host, port) = match u.location() {
            Some(Location::Unix { socket }) => (Some(socket), None, None),
            Some(Location::Tcp { host, port }) => (None, Some(host), Some(port)),
            None => (None, u.host(), u.port()),
        };
        let mut t = s.serialize_tuple(5)?;
        t.serialize_element(u.protocol().as_str())?;
        match u.meta_tags() {
            Some(tags) => t.serialize_element(&crate::ser::python::SetOf(tags))?,
            None => t.serialize_element(u.object())?,
        }
        t.serialize_element(&sockname)?;
        t.serialize_element(&host)?;
        t.serialize_element(&port)?;
        t.end()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Uri<'a> {
    /// A URI as Pyro sends one: its `__class__` dict, or (as the name server's `list` does)
    /// its text. Strings are borrowed from the payload; a `PYROMETA` URI's tag set cannot be
    /// borrowed as one string and is refused in the dict form.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Uri<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Pyro URI: a Pyro5.core.URI dict or URI text")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Uri<'de>, E> {
                Uri::parse(v).map_err(E::custom)
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Uri<'de>, M::Error> {
                let mut uri = None;
                while let Some(key) = map.next_key::<&str>()? {
                    match key {
                        CLASS_KEY => {
                            let class = map.next_value::<&str>()?;
                            if class != URI_CLASS {
                                return Err(de::Error::custom(format_args!("expected a {URI_CLASS}, got a {class}")));
                            }
                        }
                        "state" => uri = Some(map.next_value::<UriFromState<'de>>()?.0),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                uri.ok_or_else(|| de::Error::missing_field("state"))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A URI from its state tuple `(protocol, object, sockname, host, port)`.
struct UriFromState<'a>(Uri<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for UriFromState<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        type State<'s> = (&'s str, &'s str, Option<&'s str>, Option<&'s str>, Option<i64>);
        let (protocol, object, sockname, host, port): State<'de> = Deserialize::deserialize(deserializer)?;
        let protocol = match protocol {
            "PYRO" => Protocol::Pyro,
            "PYRONAME" => Protocol::PyroName,
            "PYROMETA" => Protocol::PyroMeta,
            other => return Err(de::Error::custom(format_args!("unknown URI protocol {other:?}"))),
        };
        let location = match (sockname, host, port) {
            (Some(socket), _, _) => Some(Location::Unix { socket }),
            (None, Some(host), Some(port)) => Some(Location::Tcp { host, port }),
            (None, None, None) => None,
            _ => return Err(de::Error::custom("URI state has a host without a port or a port without a host")),
        };
        Ok(UriFromState(Uri::new(protocol, object, location)))
    }
}

/// A proxy as Pyro sends it (autoproxy): `{"__class__": "Pyro5.client.Proxy", "state":
/// (uri, oneway, methods, attrs, handshake, serializer)}`; the three name collections are
/// tuples, `serializer` a format name or `None`.
#[derive(Clone, Copy, Debug)]
pub struct ProxyDict<'a, H: ?Sized> {
    /// The object's URI.
    pub uri: &'a Uri<'a>,
    /// Oneway method names.
    pub oneway: &'a [&'a str],
    /// Method names.
    pub methods: &'a [&'a str],
    /// Attribute names.
    pub attrs: &'a [&'a str],
    /// The handshake the proxy sends (`"hello"` by default).
    pub handshake: &'a H,
    /// The serializer the proxy uses, or `None` for the receiver's default.
    pub serializer: Option<&'a str>,
}

impl<H: ?Sized + Serialize> Serialize for ProxyDict<'_, H> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct State<'a, 'p, H: ?Sized>(&'a ProxyDict<'p, H>);
        impl<H: ?Sized + Serialize> Serialize for State<'_, '_, H> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let p = self.0;
                let mut t = s.serialize_tuple(6)?;
                t.serialize_element(&DisplayStr(p.uri))?;
                t.serialize_element(&crate::ser::python::Tuple(p.oneway))?;
                t.serialize_element(&crate::ser::python::Tuple(p.methods))?;
                t.serialize_element(&crate::ser::python::Tuple(p.attrs))?;
                t.serialize_element(p.handshake)?;
                t.serialize_element(&p.serializer)?;
                t.end()
            }
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(CLASS_KEY, PROXY_CLASS)?;
        m.serialize_entry("state", &State(self))?;
        m.end()
    }
}

/// Serializes anything `Display` as a string, without allocating.
struct DisplayStr<'a, T: ?Sized>(&'a T);

impl<T: ?Sized + fmt::Display> Serialize for DisplayStr<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

/// An object of a user class, as Pyro's default `class_to_dict` writes it: the value's
/// fields (it must serialize as a struct or a map) followed by `"__class__": name`.
/// Python re-creates it with a converter registered for `name`
/// (`register_dict_to_class`); Rust reads it back with the plain struct, which ignores the
/// extra key.
#[derive(Clone, Copy, Debug)]
pub struct ClassDict<'a, T: ?Sized> {
    /// `module.Class`.
    pub class: &'a str,
    /// The fields.
    pub value: &'a T,
}

impl<T: ?Sized + Serialize> Serialize for ClassDict<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(class_dict::AppendClass { inner: s, class: self.class })
    }
}

/// Serializes a sequence-like value (a tuple) as a list, as marshal's `dumpsCall` does.
struct AsList<'a, T: ?Sized>(&'a T);

impl<T: ?Sized + Serialize> Serialize for AsList<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(as_list::TupleAsSeq(s))
    }
}

mod as_list;
mod class_dict;

#[cfg(all(test, feature = "alloc"))]
mod tests;
