//! A received INVOKE payload, decoded lazily: the object id and method name up front, the
//! arguments as byte spans that are deserialized one at a time, when the dispatcher asks for
//! them with the type the method wants (`docs/objects.md`, "Decoding a call").
//!
//! [`CallView::parse`] takes any of the four shapes Pyro5's `dumpsCall` writes
//! (`docs/serializers.md`, "The call envelope"): serpent and msgpack a 4-tuple (a 4-array),
//! marshal a 4-tuple with the arguments as a list, json an object `{"object", "method",
//! "params", "kwargs"}` (a json 4-array is read as the tuple shape, too); the positional
//! arguments may be a tuple or a list, the keyword arguments a dict or `None`. The whole
//! payload is checked once, as the format's `skip_value` checks a value; nothing is allocated
//! and nothing is copied: every access ([`CallView::arg`], [`CallView::kwarg_names`]) walks the
//! argument spans again with the format's `skip_value` and deserializes the one it needs with
//! the format's borrowing deserializer (marshal's
//! [`from_span`](crate::ser::marshal::from_span), so back-references resolve against the whole
//! payload).
//!
//! Strings with escapes (and marshal's non-ASCII Latin-1 text) cannot be borrowed: a `&str`
//! target refuses them; owned targets (`String`) take them with feature `alloc`, and without
//! it they are the format's error (its "scratch needed" error).
//!
//! Each access costs a walk over the spans before the one asked for (and serpent's
//! `skip_value` re-checks the UTF-8 of the rest of the payload on each step), which is cheap
//! for the few arguments of a call. Not handled: marshal arguments whose tuple, list or dict
//! is itself a back-reference (Python never writes one for a call), a positional argument
//! also passed by keyword (Python's "got multiple values" is the dispatcher's to report).
//!
//! A payload of the wrong shape is refused with the error Python's Pyro5 raises for it, e.g.
//! `builtins.ValueError('not enough values to unpack (expected 4, got 2)')`
//! ([`CallError::pyro_class`] and its `Display`).
//!
//! # Example
//! ```
//! use pyro5_core::ser::call::CallView;
//! use pyro5_core::wire::SerializerId;
//!
//! // What Pyro5 sends for `proxy.method(1, "two", kw=3.5)` on object "obj_id".
//! let payload = include_bytes!("../../../testdata/payloads/serpent/call_simple.bin");
//! let call = CallView::parse(SerializerId::Serpent, payload)?;
//! assert_eq!((call.object(), call.method(), call.arg_count()), ("obj_id", "method", 2));
//! assert_eq!(call.arg::<i64>(0, "a")?, Some(1));
//! assert_eq!(call.arg::<&str>(1, "b")?, Some("two"));
//! assert_eq!(call.arg::<f64>(2, "kw")?, Some(3.5)); // not positional: by name
//! assert_eq!(call.arg::<f64>(3, "other")?, None);
//! assert_eq!(call.kwarg_names().collect::<Result<Vec<_>, _>>()?, ["kw"]);
//! # Ok::<(), pyro5_core::ser::call::CallError>(())
//! ```
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use core::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::limits::Limits;
#[cfg(feature = "json")]
use crate::ser::json;
#[cfg(feature = "marshal")]
use crate::ser::marshal;
#[cfg(feature = "msgpack")]
use crate::ser::msgpack;
use crate::ser::refused::{Refusal, RefusedClass, SCAN_DEPTH, looks_into, refuse_class};
#[cfg(feature = "serpent")]
use crate::ser::serpent;
use crate::wire::SerializerId;

/// Why an INVOKE payload could not be read as a call, or an argument not as the type asked.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CallError {
    /// The serpent payload or argument is malformed, or does not fit the type asked.
    #[cfg(feature = "serpent")]
    Serpent(serpent::Error),
    /// The marshal payload or argument is malformed, or does not fit the type asked.
    #[cfg(feature = "marshal")]
    Marshal(marshal::Error),
    /// The json payload or argument is malformed, or does not fit the type asked.
    #[cfg(feature = "json")]
    Json(json::Error),
    /// The msgpack payload or argument is malformed, or does not fit the type asked.
    #[cfg(feature = "msgpack")]
    Msgpack(msgpack::Error),
    /// The message names a serializer id that is none of the four, or one this build leaves
    /// out (its cargo feature is off: [`SerializerId::is_enabled`]).
    UnknownSerializer(u8),
    /// The payload is a sequence (or other iterable) of fewer than 4 items (Python:
    /// `ValueError: not enough values to unpack (expected 4, got N)`).
    NotEnoughValues {
        /// How many items it has.
        got: usize,
    },
    /// The payload is a sequence (or other iterable) of more than 4 items (Python:
    /// `ValueError: too many values to unpack (expected 4)`).
    TooManyValues,
    /// The payload is a single value, not something Python can unpack (Python:
    /// `TypeError: cannot unpack non-iterable int object`).
    NotIterable {
        /// The Python type of the value (`"int"`, `"float"`, `"bool"`, `"NoneType"`...).
        type_name: &'static str,
    },
    /// A json call object lacks one of its keys (Python: `KeyError: 'params'`).
    MissingKey {
        /// The key: `"params"`, `"kwargs"`, `"object"` or `"method"`.
        key: &'static str,
    },
    /// The positional arguments are not a tuple or list (Python: `TypeError: argument after
    /// * must be an iterable`).
    ArgsNotSequence,
    /// The keyword arguments are neither a dict nor `None` (Python: `TypeError: argument
    /// after ** must be a mapping`).
    KwargsNotMapping,
    /// The argument is a serialized blob (a KEEPSERIALIZED call) and the parameter is not a
    /// [`SerializedBlob`](crate::ser::blob::SerializedBlob).
    Blob,
    /// An argument does not fit the type asked, and the call's arguments hold a `__class__`
    /// dict Python's Pyro5 refuses to turn into an object (Python: `SecurityError: refused
    /// to deserialize types with double underscores in their name: __main__.Chatter`, or
    /// `SerializeError: unsupported serialized class: mymod.Thing`; see
    /// [`refused`](crate::ser::refused)).
    RefusedClass(RefusedClass),
}

impl CallError {
    /// The Python exception class Pyro5 raises in the same situation, e.g.
    /// `"builtins.ValueError"`; for a format's error, that format's class.
    pub fn pyro_class(&self) -> &'static str {
        match self {
            #[cfg(feature = "serpent")]
            Self::Serpent(e) => e.pyro_class(),
            #[cfg(feature = "marshal")]
            Self::Marshal(e) => e.pyro_class(),
            #[cfg(feature = "json")]
            Self::Json(e) => e.pyro_class(),
            #[cfg(feature = "msgpack")]
            Self::Msgpack(e) => e.pyro_class(),
            Self::UnknownSerializer(_) => "Pyro5.errors.SerializeError",
            Self::NotEnoughValues { .. } | Self::TooManyValues => "builtins.ValueError",
            Self::MissingKey { .. } => "builtins.KeyError",
            Self::NotIterable { .. } | Self::ArgsNotSequence | Self::KwargsNotMapping | Self::Blob => {
                "builtins.TypeError"
            }
            Self::RefusedClass(refused) => refused.pyro_class(),
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "serpent")]
            Self::Serpent(e) => write!(f, "{e}"),
            #[cfg(feature = "marshal")]
            Self::Marshal(e) => write!(f, "{e}"),
            #[cfg(feature = "json")]
            Self::Json(e) => write!(f, "{e}"),
            #[cfg(feature = "msgpack")]
            Self::Msgpack(e) => write!(f, "{e}"),
            Self::UnknownSerializer(id) => crate::ser::unsupported(f, *id),
            Self::NotEnoughValues { got } => write!(f, "not enough values to unpack (expected 4, got {got})"),
            Self::TooManyValues => f.write_str("too many values to unpack (expected 4)"),
            Self::NotIterable { type_name } => write!(f, "cannot unpack non-iterable {type_name} object"),
            Self::MissingKey { key } => write!(f, "'{key}'"),
            Self::ArgsNotSequence => f.write_str("argument after * must be an iterable"),
            Self::KwargsNotMapping => f.write_str("argument after ** must be a mapping"),
            Self::Blob => f.write_str("a SerializedBlob is passed only to a SerializedBlob parameter"),
            Self::RefusedClass(refused) => write!(f, "{refused}"),
        }
    }
}

impl core::error::Error for CallError {}

#[cfg(feature = "serpent")]
impl From<serpent::Error> for CallError {
    fn from(e: serpent::Error) -> Self {
        Self::Serpent(e)
    }
}

#[cfg(feature = "marshal")]
impl From<marshal::Error> for CallError {
    fn from(e: marshal::Error) -> Self {
        Self::Marshal(e)
    }
}

#[cfg(feature = "json")]
impl From<json::Error> for CallError {
    fn from(e: json::Error) -> Self {
        Self::Json(e)
    }
}

#[cfg(feature = "msgpack")]
impl From<msgpack::Error> for CallError {
    fn from(e: msgpack::Error) -> Self {
        Self::Msgpack(e)
    }
}

/// A received call, borrowing from the payload: object id and method name decoded, the
/// arguments still encoded (see the [module](self) documentation).
#[derive(Clone, Copy, Debug)]
pub struct CallView<'a> {
    format: SerializerId,
    payload: &'a [u8],
    /// How deeply an argument may nest (`Limits::max_nesting`).
    max_depth: usize,
    object: &'a str,
    method: &'a str,
    args: RawArgs<'a>,
    kwargs: Option<RawKwargs<'a>>,
}

/// The arguments of a call or of a batch item, still encoded
/// ([`CallView::call_args`], [`BatchItem::call_args`]): what reads Python's `*args` and
/// `**kwargs`.
#[derive(Clone, Copy, Debug)]
pub struct CallArgs<'a> {
    format: SerializerId,
    payload: &'a [u8],
    max_depth: usize,
    args: RawArgs<'a>,
    kwargs: Option<RawKwargs<'a>>,
}

impl<'a> CallArgs<'a> {
    fn of(
        format: SerializerId,
        payload: &'a [u8],
        max_depth: usize,
        args: RawArgs<'a>,
        kwargs: Option<RawKwargs<'a>>,
    ) -> Self {
        Self { format, payload, max_depth, args, kwargs }
    }

    /// Visit the positional arguments from number `from` on, each read as `T`: what
    /// Python's `*args` after `from` parameters takes.
    ///
    /// # Errors
    /// As [`CallView::arg`], or the visitor's error.
    pub fn rest_args<T: Deserialize<'a>>(
        &self,
        from: usize,
        visit: &mut dyn FnMut(T) -> Result<(), CallError>,
    ) -> Result<(), CallError> {
        let (format, payload, max_depth, args, kwargs) =
            (self.format, self.payload, self.max_depth, self.args, self.kwargs);
        let mut items = args.items;
        let mut seen = 0usize;
        while let Some(span) = items.next_span()? {
            if seen >= from {
                visit(decode_arg(format, payload, max_depth, (args, kwargs), span)?)?;
            }
            seen = seen.saturating_add(1);
        }
        Ok(())
    }

    /// Visit the keyword arguments not named in `params`, in the order sent, each value
    /// read as `T`: what Python's `**kwargs` takes.
    ///
    /// # Errors
    /// As [`CallView::arg`] (also for a name that is not a string), or the visitor's error.
    pub fn other_kwargs<T: Deserialize<'a>>(
        &self,
        params: &[&str],
        visit: &mut dyn FnMut(&str, T) -> Result<(), CallError>,
    ) -> Result<(), CallError> {
        let (format, payload, max_depth, args) = (self.format, self.payload, self.max_depth, self.args);
        let Some(kwargs) = self.kwargs else { return Ok(()) };
        let mut items = kwargs.items;
        while let Some((key, value)) = items.next_pair()? {
            let name = decode::<KeyText<'a>>(format, payload, key, max_depth)?;
            if !params.contains(&name.as_str()) {
                visit(name.as_str(), decode_arg(format, payload, max_depth, (args, Some(kwargs)), value)?)?;
            }
        }
        Ok(())
    }
}

/// The positional arguments: their items and how many there are.
#[derive(Clone, Copy, Debug)]
struct RawArgs<'a> {
    items: Items<'a>,
    count: usize,
}

/// The keyword arguments: their `key, value` items.
#[derive(Clone, Copy, Debug)]
struct RawKwargs<'a> {
    items: Items<'a>,
}

impl<'a> CallView<'a> {
    /// Read the call in `payload`, written in `format`, within the default
    /// [`Limits`] ([`parse_with_limits`](Self::parse_with_limits) with
    /// [`Limits::DEFAULT`]).
    ///
    /// # Errors
    /// As [`parse_with_limits`](Self::parse_with_limits).
    pub fn parse(format: SerializerId, payload: &'a [u8]) -> Result<Self, CallError> {
        Self::parse_with_limits(format, payload, Limits::DEFAULT)
    }

    /// Read the call in `payload`, written in `format`: containers may nest
    /// [`Limits::max_nesting`] levels, counted from the call's own tuple (or json object),
    /// here and when an argument is read.
    ///
    /// # Errors
    /// The format's error when the payload is malformed (or the object id or method name is
    /// not a string that can be borrowed); [`CallError::NotEnoughValues`],
    /// [`CallError::TooManyValues`], [`CallError::NotIterable`] or [`CallError::MissingKey`]
    /// when it is not a call's shape; [`CallError::ArgsNotSequence`] /
    /// [`CallError::KwargsNotMapping`] when the arguments are not a tuple/list and a
    /// dict/`None`; [`CallError::UnknownSerializer`] for another serializer id.
    pub fn parse_with_limits(format: SerializerId, payload: &'a [u8], limits: Limits) -> Result<Self, CallError> {
        if !format.is_enabled() {
            return Err(CallError::UnknownSerializer(u8::from(format)));
        }
        let max_depth = limits.max_nesting;
        let (top, rest) = skip(format, payload, max_depth)?;
        if !is_trivia(format, rest) {
            return Err(custom(format, "trailing data after the call"));
        }
        let [object, method, params, kwargs] = match open(format, top, max_depth)? {
            Container::Seq(items) => four(items)?,
            Container::Map(items) if format == SerializerId::Json => json_fields(format, payload, items)?,
            _ => return Err(shape_error(format, payload, top, max_depth)),
        };
        let object = decode::<&'a str>(format, payload, object, max_depth)?;
        let method = decode::<&'a str>(format, payload, method, max_depth)?;
        let args = raw_args(format, params, max_depth)?;
        let kwargs = raw_kwargs(format, kwargs, max_depth)?;
        Ok(Self { format, payload, max_depth, object, method, args, kwargs })
    }

    /// The object id.
    pub fn object(&self) -> &'a str {
        self.object
    }

    /// The method name.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The serializer the call was written with.
    pub fn format(&self) -> SerializerId {
        self.format
    }

    /// How many positional arguments were passed.
    pub fn arg_count(&self) -> usize {
        self.args.count
    }

    /// Whether keyword arguments came as `None` (Pyro5 sends that for batches and remote
    /// attribute access) rather than as a dict.
    pub fn kwargs_is_none(&self) -> bool {
        self.kwargs.is_none()
    }

    /// The argument for parameter number `index` (from 0) named `name`, as Python binds it:
    /// positional argument `index` when that many were passed, else keyword argument `name`;
    /// `Ok(None)` when neither was passed. Walks the argument spans to it and deserializes
    /// that one span.
    ///
    /// # Errors
    /// The format's error when the argument does not fit `T` (or a keyword name is not a
    /// string); [`CallError::RefusedClass`] instead when the call's arguments hold a class
    /// Python's Pyro5 refuses ([`refused`](crate::ser::refused)).
    pub fn arg<T: Deserialize<'a>>(&self, index: usize, name: &str) -> Result<Option<T>, CallError> {
        arg_in(self.format, self.payload, self.max_depth, self.args, self.kwargs, index, name)
    }

    /// The names of the keyword arguments, in the order they were sent (e.g. to refuse an
    /// unexpected keyword argument). A name that is not a string, or that has escapes and so
    /// cannot be borrowed, is an error item, after which the iterator ends.
    pub fn kwarg_names(&self) -> KwargNames<'a> {
        let items = self.kwargs.map(|k| k.items);
        KwargNames { format: self.format, payload: self.payload, max_depth: self.max_depth, items }
    }

    /// The call's arguments, for reading the ones past the named parameters.
    pub fn call_args(&self) -> CallArgs<'a> {
        CallArgs::of(self.format, self.payload, self.max_depth, self.args, self.kwargs)
    }

    /// The calls of a batch (method `<batch>`): the positional arguments are
    /// `(method, args, kwargs)` triples, one per call, in order.
    pub fn batch_items(&self) -> BatchItems<'a> {
        let items = Some(self.args.items);
        BatchItems { format: self.format, payload: self.payload, max_depth: self.max_depth, items }
    }
}

/// A received CONNECT payload, `{"handshake": <any>, "object": <object id>}`: the object id
/// decoded, the handshake data still encoded.
#[derive(Clone, Copy, Debug)]
pub struct ConnectView<'a> {
    format: SerializerId,
    payload: &'a [u8],
    /// How deeply the handshake data may nest (`Limits::max_nesting`).
    max_depth: usize,
    object: &'a str,
    handshake: &'a [u8],
}

impl<'a> ConnectView<'a> {
    /// Read the CONNECT payload `payload`, written in `format`, within the default
    /// [`Limits`].
    ///
    /// # Errors
    /// As [`parse_with_limits`](Self::parse_with_limits).
    pub fn parse(format: SerializerId, payload: &'a [u8]) -> Result<Self, CallError> {
        Self::parse_with_limits(format, payload, Limits::DEFAULT)
    }

    /// Read the CONNECT payload `payload`, written in `format`: containers may nest
    /// [`Limits::max_nesting`] levels, counted from the payload's dict.
    ///
    /// # Errors
    /// The format's error for a malformed payload; [`CallError::MissingKey`] (Python's
    /// `KeyError`) when `handshake` or `object` is missing or the payload is no dict.
    pub fn parse_with_limits(format: SerializerId, payload: &'a [u8], limits: Limits) -> Result<Self, CallError> {
        if !format.is_enabled() {
            return Err(CallError::UnknownSerializer(u8::from(format)));
        }
        let max_depth = limits.max_nesting;
        let (top, rest) = skip(format, payload, max_depth)?;
        if !is_trivia(format, rest) {
            return Err(custom(format, "trailing data after the handshake"));
        }
        let Container::Map(mut items) = open(format, top, max_depth)? else {
            return Err(custom(format, "the handshake is not a dict"));
        };
        let (mut object, mut handshake) = (None, None);
        while let Some((key, value)) = items.next_pair()? {
            match decode::<KeyText<'a>>(format, payload, key, max_depth)?.as_str() {
                "object" => object = Some(value),
                "handshake" => handshake = Some(value),
                _ => {}
            }
        }
        let handshake = handshake.ok_or(CallError::MissingKey { key: "handshake" })?;
        let object = object.ok_or(CallError::MissingKey { key: "object" })?;
        let object = decode(format, payload, object, max_depth)?;
        Ok(Self { format, payload, max_depth, object, handshake })
    }

    /// The object id the client connects to.
    pub fn object(&self) -> &'a str {
        self.object
    }

    /// The client's handshake data (Pyro's default: the string `"hello"`).
    ///
    /// # Errors
    /// The format's error when it does not fit `T`.
    pub fn handshake<T: Deserialize<'a>>(&self) -> Result<T, CallError> {
        decode(self.format, self.payload, self.handshake, self.max_depth)
    }

    /// The serializer of the payload.
    pub fn format(&self) -> SerializerId {
        self.format
    }
}

/// Read a whole payload (a reply, a handshake answer) written in `format` as a `T`,
/// borrowing from it where `T` does, within the default [`Limits`].
///
/// # Errors
/// The format's error when the payload is malformed or does not fit `T`;
/// [`CallError::UnknownSerializer`] for an id none of the four.
pub fn decode_payload<'a, T: Deserialize<'a>>(format: SerializerId, payload: &'a [u8]) -> Result<T, CallError> {
    decode_payload_with_limits(format, payload, Limits::DEFAULT)
}

/// As [`decode_payload`], with containers nested at most [`Limits::max_nesting`] levels.
///
/// # Errors
/// As [`decode_payload`].
pub fn decode_payload_with_limits<'a, T: Deserialize<'a>>(
    format: SerializerId,
    payload: &'a [u8],
    limits: Limits,
) -> Result<T, CallError> {
    decode(format, payload, payload, limits.max_nesting)
}

/// As [`decode_payload`], with a serde `DeserializeSeed` (a visitor carrying state).
///
/// # Errors
/// As [`decode_payload`].
pub fn decode_payload_seed<'a, S: serde::de::DeserializeSeed<'a>>(
    format: SerializerId,
    payload: &'a [u8],
    seed: S,
) -> Result<S::Value, CallError> {
    decode_payload_seed_with_limits(format, payload, seed, Limits::DEFAULT)
}

/// As [`decode_payload_seed`], with containers nested at most [`Limits::max_nesting`]
/// levels.
///
/// # Errors
/// As [`decode_payload`].
pub fn decode_payload_seed_with_limits<'a, S: serde::de::DeserializeSeed<'a>>(
    format: SerializerId,
    payload: &'a [u8],
    seed: S,
    limits: Limits,
) -> Result<S::Value, CallError> {
    let max_depth = limits.max_nesting;
    match format {
        #[cfg(feature = "serpent")]
        SerializerId::Serpent => {
            let mut de = serpent::Deserializer::new(payload).with_max_depth(max_depth);
            let value = seed.deserialize(&mut de)?;
            de.end()?;
            Ok(value)
        }
        #[cfg(feature = "marshal")]
        SerializerId::Marshal => {
            let mut de = marshal::Deserializer::new(payload).with_max_depth(max_depth);
            let value = seed.deserialize(&mut de)?;
            de.end()?;
            Ok(value)
        }
        #[cfg(feature = "json")]
        SerializerId::Json => {
            let mut de = json::Deserializer::new(payload).with_max_depth(max_depth);
            let value = seed.deserialize(&mut de)?;
            de.end()?;
            Ok(value)
        }
        #[cfg(feature = "msgpack")]
        SerializerId::Msgpack => {
            let mut de = msgpack::Deserializer::new(payload).with_max_depth(max_depth);
            let value = seed.deserialize(&mut de)?;
            de.end()?;
            Ok(value)
        }
        other => Err(CallError::UnknownSerializer(u8::from(other))),
    }
}

/// Positional argument `index`, else keyword argument `name`, of a call's argument spans.
fn arg_in<'a, T: Deserialize<'a>>(
    format: SerializerId,
    payload: &'a [u8],
    max_depth: usize,
    args: RawArgs<'a>,
    kwargs: Option<RawKwargs<'a>>,
    index: usize,
    name: &str,
) -> Result<Option<T>, CallError> {
    if index < args.count {
        let mut items = args.items;
        let mut seen = 0usize;
        while let Some(span) = items.next_span()? {
            if seen == index {
                return decode_arg(format, payload, max_depth, (args, kwargs), span).map(Some);
            }
            seen = seen.saturating_add(1);
        }
        return Ok(None);
    }
    let Some(kwargs) = kwargs else { return Ok(None) };
    let mut items = kwargs.items;
    while let Some((key, value)) = items.next_pair()? {
        if decode::<KeyText<'a>>(format, payload, key, max_depth)?.as_str() == name {
            return decode_arg(format, payload, max_depth, (args, Some(kwargs)), value).map(Some);
        }
    }
    Ok(None)
}

/// Read the argument `span` of the call `(args, kwargs)`; when it does not fit `T`, and the
/// call's arguments hold a class dict Python's Pyro5 refuses, the exception Python raises
/// reading the call instead of the format's error ([`refused`](crate::ser::refused)).
fn decode_arg<'a, T: Deserialize<'a>>(
    format: SerializerId,
    payload: &'a [u8],
    max_depth: usize,
    call: (RawArgs<'a>, Option<RawKwargs<'a>>),
    span: &'a [u8],
) -> Result<T, CallError> {
    decode(format, payload, span, max_depth)
        .map_err(|error| refused_in_call(format, payload, max_depth, call).map_or(error, CallError::RefusedClass))
}

/// The class dict Python's Pyro5 refuses first in a call's arguments: the positional ones,
/// then the values of the keyword ones, as Python reads them.
fn refused_in_call(
    format: SerializerId,
    payload: &[u8],
    max_depth: usize,
    (args, kwargs): (RawArgs<'_>, Option<RawKwargs<'_>>),
) -> Option<RefusedClass> {
    let mut items = args.items;
    while let Ok(Some(span)) = items.next_span() {
        if let Some(refused) = refused_in(format, payload, span, max_depth) {
            return Some(refused);
        }
    }
    let mut items = kwargs?.items;
    while let Ok(Some((_, value))) = items.next_pair() {
        if let Some(refused) = refused_in(format, payload, value, max_depth) {
            return Some(refused);
        }
    }
    None
}

/// The class dict in the value `span` Python's Pyro5 would refuse first, if it can be told
/// within [`SCAN_DEPTH`] containers.
fn refused_in(format: SerializerId, payload: &[u8], span: &[u8], max_depth: usize) -> Option<RefusedClass> {
    let found = find_refused(format, payload, span, max_depth, 0).ok()??;
    let name = decode::<KeyText<'_>>(format, payload, found.name, max_depth).ok()?;
    Some(RefusedClass::new(found.refusal, name.as_str()))
}

/// A refused class found in a value: Python's refusal and the span of its name.
#[derive(Clone, Copy)]
struct Found<'a> {
    refusal: Refusal,
    name: &'a [u8],
}

/// The look into a value could not be completed: too deep, or malformed.
struct GiveUp;

/// The `__class__` item of a dict: its name's span and Python's verdicts on it, as an
/// exception (`__exception__` true) or not.
#[derive(Clone, Copy)]
struct ClassItem<'a> {
    name: &'a [u8],
    plain: Option<Refusal>,
    exception: Option<Refusal>,
    looked_into: bool,
}

/// What a dict key is to Pyro5.
enum Key {
    Class,
    Exception,
    Other,
}

/// The first refused class in the value `span` in the order Python's Pyro5 meets them: the
/// outermost first in serpent, marshal and json (and not inside a class it knows), the
/// innermost first in msgpack. Walks the spans with the format's `skip_value`, recursing
/// once a container, at most [`SCAN_DEPTH`] deep; only dict keys and class names are
/// decoded, by functions of their own so that a level costs little stack.
fn find_refused<'a>(
    format: SerializerId,
    payload: &'a [u8],
    span: &'a [u8],
    max_depth: usize,
    depth: usize,
) -> Result<Option<Found<'a>>, GiveUp> {
    let (mut items, map) = match look_open(format, span, max_depth)? {
        Container::Seq(items) => (items, false),
        Container::Map(items) => (items, true),
        Container::None | Container::Other => return Ok(None),
    };
    if depth >= SCAN_DEPTH {
        return Err(GiveUp);
    }
    if !map {
        while let Some(item) = look_next(&mut items)? {
            if let Some(found) = find_refused(format, payload, item, max_depth, depth + 1)? {
                return Ok(Some(found));
            }
        }
        return Ok(None);
    }
    let (mut class, mut exception, mut inner) = (None, false, None);
    // As in a Python dict, the last of repeated keys counts.
    while let Some((key, value)) = look_next_pair(&mut items)? {
        match key_of(format, payload, key, max_depth) {
            Key::Class => class = class_item(format, payload, value, max_depth),
            Key::Exception => exception = is_true(format, payload, value, max_depth),
            Key::Other if inner.is_none() => inner = find_refused(format, payload, value, max_depth, depth + 1)?,
            Key::Other => {}
        }
    }
    let own = class.and_then(|c| {
        let refusal = if exception { c.exception } else { c.plain };
        refusal.map(|refusal| Found { refusal, name: c.name })
    });
    Ok(if format == SerializerId::Msgpack {
        inner.or(own)
    } else {
        // Python makes an object of a class it knows from the dict as it is.
        own.or(inner.filter(|_| class.is_none_or(|c| c.looked_into)))
    })
}

// The steps of `find_refused` that need the formats' deserializers, out of its frame.

#[inline(never)]
fn look_open(format: SerializerId, span: &[u8], max_depth: usize) -> Result<Container<'_>, GiveUp> {
    open(format, span, max_depth).map_err(|_| GiveUp)
}

#[inline(never)]
fn look_next<'a>(items: &mut Items<'a>) -> Result<Option<&'a [u8]>, GiveUp> {
    items.next_span().map_err(|_| GiveUp)
}

#[inline(never)]
fn look_next_pair<'a>(items: &mut Items<'a>) -> Result<Option<Pair<'a>>, GiveUp> {
    items.next_pair().map_err(|_| GiveUp)
}

#[inline(never)]
fn key_of(format: SerializerId, payload: &[u8], key: &[u8], max_depth: usize) -> Key {
    match decode::<KeyText<'_>>(format, payload, key, max_depth).as_ref().map(KeyText::as_str) {
        Ok("__class__") => Key::Class,
        Ok("__exception__") => Key::Exception,
        _ => Key::Other,
    }
}

/// Whether the value `span` is `True`.
#[inline(never)]
fn is_true(format: SerializerId, payload: &[u8], span: &[u8], max_depth: usize) -> bool {
    decode::<bool>(format, payload, span, max_depth).unwrap_or(false)
}

/// The `__class__` item whose value is `span`, when that is a str.
#[inline(never)]
fn class_item<'a>(format: SerializerId, payload: &'a [u8], span: &'a [u8], max_depth: usize) -> Option<ClassItem<'a>> {
    let name = decode::<KeyText<'a>>(format, payload, span, max_depth).ok()?;
    let name = name.as_str();
    Some(ClassItem {
        name: span,
        plain: refuse_class(name, false),
        exception: refuse_class(name, true),
        looked_into: looks_into(name),
    })
}

/// Read a span as positional arguments (a tuple or list).
fn raw_args<'a>(format: SerializerId, span: &'a [u8], max_depth: usize) -> Result<RawArgs<'a>, CallError> {
    match open(format, span, max_depth)? {
        Container::Seq(items) => {
            let mut walk = items;
            let mut count = 0usize;
            while walk.next_span()?.is_some() {
                count = count.saturating_add(1);
            }
            Ok(RawArgs { items, count })
        }
        _ => Err(CallError::ArgsNotSequence),
    }
}

/// Read a span as keyword arguments (a dict, or `None`).
fn raw_kwargs<'a>(format: SerializerId, span: &'a [u8], max_depth: usize) -> Result<Option<RawKwargs<'a>>, CallError> {
    match open(format, span, max_depth)? {
        Container::Map(items) => {
            let mut walk = items;
            while walk.next_pair()?.is_some() {}
            Ok(Some(RawKwargs { items }))
        }
        Container::None => Ok(None),
        _ => Err(CallError::KwargsNotMapping),
    }
}

/// The calls of a batch ([`CallView::batch_items`]).
#[derive(Clone, Debug)]
pub struct BatchItems<'a> {
    format: SerializerId,
    payload: &'a [u8],
    max_depth: usize,
    items: Option<Items<'a>>,
}

impl<'a> Iterator for BatchItems<'a> {
    type Item = Result<BatchItem<'a>, CallError>;

    fn next(&mut self) -> Option<Self::Item> {
        let items = self.items.as_mut()?;
        let result = match items.next_span() {
            Ok(None) => None,
            Ok(Some(span)) => Some(self.item(span)),
            Err(e) => Some(Err(e)),
        };
        if !matches!(result, Some(Ok(_))) {
            self.items = None;
        }
        result
    }
}

impl<'a> BatchItems<'a> {
    fn item(&self, span: &'a [u8]) -> Result<BatchItem<'a>, CallError> {
        let Container::Seq(mut parts) = open(self.format, span, self.max_depth)? else {
            return Err(custom(self.format, "a batch call is not a (method, args, kwargs) triple"));
        };
        let (Some(method), Some(args), Some(kwargs), None) =
            (parts.next_span()?, parts.next_span()?, parts.next_span()?, parts.next_span()?)
        else {
            return Err(custom(self.format, "a batch call is not a (method, args, kwargs) triple"));
        };
        Ok(BatchItem {
            format: self.format,
            payload: self.payload,
            max_depth: self.max_depth,
            method: decode(self.format, self.payload, method, self.max_depth)?,
            args: raw_args(self.format, args, self.max_depth)?,
            kwargs: raw_kwargs(self.format, kwargs, self.max_depth)?,
        })
    }
}

/// One call of a batch: its method name and its arguments, still encoded.
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    format: SerializerId,
    payload: &'a [u8],
    max_depth: usize,
    method: &'a str,
    args: RawArgs<'a>,
    kwargs: Option<RawKwargs<'a>>,
}

impl<'a> BatchItem<'a> {
    /// The method name.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// How many positional arguments were passed.
    pub fn arg_count(&self) -> usize {
        self.args.count
    }

    /// As [`CallView::arg`].
    ///
    /// # Errors
    /// As [`CallView::arg`].
    pub fn arg<T: Deserialize<'a>>(&self, index: usize, name: &str) -> Result<Option<T>, CallError> {
        arg_in(self.format, self.payload, self.max_depth, self.args, self.kwargs, index, name)
    }

    /// As [`CallView::kwarg_names`].
    pub fn kwarg_names(&self) -> KwargNames<'a> {
        let items = self.kwargs.map(|k| k.items);
        KwargNames { format: self.format, payload: self.payload, max_depth: self.max_depth, items }
    }

    /// As [`CallView::call_args`].
    pub fn call_args(&self) -> CallArgs<'a> {
        CallArgs::of(self.format, self.payload, self.max_depth, self.args, self.kwargs)
    }
}

/// The names of a call's keyword arguments ([`CallView::kwarg_names`]).
#[derive(Clone, Debug)]
pub struct KwargNames<'a> {
    format: SerializerId,
    payload: &'a [u8],
    max_depth: usize,
    items: Option<Items<'a>>,
}

impl<'a> Iterator for KwargNames<'a> {
    type Item = Result<&'a str, CallError>;

    fn next(&mut self) -> Option<Self::Item> {
        let items = self.items.as_mut()?;
        let result = match items.next_pair() {
            Ok(pair) => pair.map(|(key, _)| decode::<&'a str>(self.format, self.payload, key, self.max_depth)),
            Err(e) => Some(Err(e)),
        };
        if !matches!(result, Some(Ok(_))) {
            self.items = None;
        }
        result
    }
}

/// A key as text: borrowed, or (with `alloc`) unescaped into a `String`.
enum KeyText<'a> {
    Borrowed(&'a str),
    #[cfg(feature = "alloc")]
    Owned(alloc::string::String),
}

impl KeyText<'_> {
    fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(s) => s,
            #[cfg(feature = "alloc")]
            Self::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for KeyText<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a keyword argument name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(KeyText::Borrowed(v))
            }
            #[cfg(feature = "alloc")]
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(KeyText::Owned(alloc::string::String::from(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// What a value is, as far as unpacking it goes.
enum Shape {
    /// Not iterable: its Python type.
    Scalar(&'static str),
    /// Iterable, with this many items.
    Len(usize),
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Shape;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
                Ok(Shape::Scalar("bool"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
                Ok(Shape::Scalar("int"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
                Ok(Shape::Scalar("int"))
            }
            fn visit_i128<E>(self, _: i128) -> Result<Shape, E> {
                Ok(Shape::Scalar("int"))
            }
            fn visit_u128<E>(self, _: u128) -> Result<Shape, E> {
                Ok(Shape::Scalar("int"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
                Ok(Shape::Scalar("float"))
            }
            fn visit_unit<E>(self) -> Result<Shape, E> {
                Ok(Shape::Scalar("NoneType"))
            }
            fn visit_none<E>(self) -> Result<Shape, E> {
                Ok(Shape::Scalar("NoneType"))
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
                Shape::deserialize(d)
            }
            fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
                Shape::deserialize(d)
            }
            fn visit_str<E>(self, v: &str) -> Result<Shape, E> {
                Ok(Shape::Len(v.chars().count()))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Shape, E> {
                Ok(Shape::Len(v.len()))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Shape, S::Error> {
                let mut n = 0usize;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n = n.saturating_add(1);
                }
                Ok(Shape::Len(n))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Shape, M::Error> {
                let mut n = 0usize;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                    n = n.saturating_add(1);
                }
                Ok(Shape::Len(n))
            }
            fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<Shape, A::Error> {
                Ok(Shape::Scalar("object"))
            }
        }
        d.deserialize_any(V)
    }
}

/// The error Python gives for unpacking `value` (not a tuple or list) into 4 names.
fn shape_error(format: SerializerId, payload: &[u8], value: &[u8], max_depth: usize) -> CallError {
    match decode::<Shape>(format, payload, value, max_depth) {
        Err(e) => e,
        Ok(Shape::Scalar(type_name)) => CallError::NotIterable { type_name },
        Ok(Shape::Len(n)) => count_error(n),
    }
}

/// The error Python gives for unpacking `n` items into 4 names (a `str` or dict of 4 items
/// unpacks, and then is no mapping of keyword arguments).
fn count_error(n: usize) -> CallError {
    match n {
        0..4 => CallError::NotEnoughValues { got: n },
        4 => CallError::KwargsNotMapping,
        _ => CallError::TooManyValues,
    }
}

/// The four items of the tuple shape.
fn four<'a>(mut items: Items<'a>) -> Result<[&'a [u8]; 4], CallError> {
    let mut spans: [&'a [u8]; 4] = [&[]; 4];
    let mut n = 0usize;
    while let Some(span) = items.next_span()? {
        match spans.get_mut(n) {
            Some(slot) => *slot = span,
            None => return Err(CallError::TooManyValues),
        }
        n = n.saturating_add(1);
    }
    if n < 4 {
        return Err(CallError::NotEnoughValues { got: n });
    }
    Ok(spans)
}

/// The four values of json's object shape, checked in the order Pyro5's `loadsCall` reads
/// them; other keys are ignored, and a repeated key counts with its last value (as Python).
fn json_fields<'a>(format: SerializerId, payload: &'a [u8], mut items: Items<'a>) -> Result<[&'a [u8]; 4], CallError> {
    let mut fields: [Option<&'a [u8]>; 4] = [None; 4];
    while let Some((key, value)) = items.next_pair()? {
        let slot = match decode::<KeyText<'a>>(format, payload, key, items.max_depth)?.as_str() {
            "object" => fields.get_mut(0),
            "method" => fields.get_mut(1),
            "params" => fields.get_mut(2),
            "kwargs" => fields.get_mut(3),
            _ => None,
        };
        if let Some(slot) = slot {
            *slot = Some(value);
        }
    }
    let [object, method, params, kwargs] = fields;
    let params = params.ok_or(CallError::MissingKey { key: "params" })?;
    let kwargs = kwargs.ok_or(CallError::MissingKey { key: "kwargs" })?;
    let object = object.ok_or(CallError::MissingKey { key: "object" })?;
    let method = method.ok_or(CallError::MissingKey { key: "method" })?;
    Ok([object, method, params, kwargs])
}

/// Deserialize `span` (one value inside `payload`) with the format's deserializer, within
/// `max_depth` levels of nesting.
fn decode<'a, T: Deserialize<'a>>(
    format: SerializerId,
    payload: &'a [u8],
    span: &'a [u8],
    max_depth: usize,
) -> Result<T, CallError> {
    // Only marshal's back-references resolve against the whole payload.
    #[cfg(not(feature = "marshal"))]
    let _ = payload;
    match format {
        #[cfg(feature = "serpent")]
        SerializerId::Serpent => Ok(serpent::from_slice_within(span, max_depth)?),
        #[cfg(feature = "marshal")]
        SerializerId::Marshal => Ok(marshal::from_span_within(payload, span, max_depth)?),
        #[cfg(feature = "json")]
        SerializerId::Json => Ok(json::from_slice_within(span, max_depth)?),
        #[cfg(feature = "msgpack")]
        SerializerId::Msgpack => Ok(msgpack::from_slice_strict_keys_within(span, max_depth)?),
        other => Err(CallError::UnknownSerializer(u8::from(other))),
    }
}

/// The format's `skip_value`, within `max_depth` levels of nesting.
fn skip(format: SerializerId, input: &[u8], max_depth: usize) -> Result<(&[u8], &[u8]), CallError> {
    match format {
        #[cfg(feature = "serpent")]
        SerializerId::Serpent => Ok(serpent::skip_value_within(input, max_depth)?),
        #[cfg(feature = "marshal")]
        SerializerId::Marshal => Ok(marshal::skip_value_within(input, max_depth)?),
        #[cfg(feature = "json")]
        SerializerId::Json => Ok(json::skip_value_within(input, max_depth)?),
        #[cfg(feature = "msgpack")]
        SerializerId::Msgpack => Ok(msgpack::skip_value_within(input, max_depth)?),
        other => Err(CallError::UnknownSerializer(u8::from(other))),
    }
}

/// A format's error with a message (the formats' serde `custom` errors).
fn custom(format: SerializerId, message: &'static str) -> CallError {
    match format {
        #[cfg(feature = "serpent")]
        SerializerId::Serpent => CallError::Serpent(de::Error::custom(message)),
        #[cfg(feature = "marshal")]
        SerializerId::Marshal => CallError::Marshal(de::Error::custom(message)),
        #[cfg(feature = "json")]
        SerializerId::Json => CallError::Json(de::Error::custom(message)),
        #[cfg(feature = "msgpack")]
        SerializerId::Msgpack => CallError::Msgpack(de::Error::custom(message)),
        other => CallError::UnknownSerializer(u8::from(other)),
    }
}

fn is_text(format: SerializerId) -> bool {
    matches!(format, SerializerId::Serpent | SerializerId::Json)
}

/// Whether `rest` holds only what may follow a value: whitespace (and serpent's comments and
/// line continuations) in the text formats, nothing in the binary ones.
fn is_trivia(format: SerializerId, rest: &[u8]) -> bool {
    if is_text(format) { skip_trivia(format, rest).is_empty() } else { rest.is_empty() }
}

/// `input` after the whitespace at its start (serpent: also comments and line continuations).
fn skip_trivia(format: SerializerId, mut input: &[u8]) -> &[u8] {
    loop {
        match input {
            [b' ' | b'\t' | b'\n' | b'\r', rest @ ..] => input = rest,
            [b'\x0c', rest @ ..] if format == SerializerId::Serpent => input = rest,
            [b'#', rest @ ..] if format == SerializerId::Serpent => {
                let line = rest.iter().position(|&b| b == b'\n' || b == b'\r').unwrap_or(rest.len());
                input = rest.get(line..).unwrap_or_default();
            }
            [b'\\', b'\n', rest @ ..] | [b'\\', b'\r', b'\n', rest @ ..] | [b'\\', b'\r', rest @ ..]
                if format == SerializerId::Serpent =>
            {
                input = rest;
            }
            _ => return input,
        }
    }
}

/// What a value's span holds, as far as the call shape goes.
enum Container<'a> {
    /// A tuple or list, with its items.
    Seq(Items<'a>),
    /// A dict, with its `key, value` items.
    Map(Items<'a>),
    /// `None`.
    None,
    /// Anything else.
    Other,
}

/// Look into the value `span`: a tuple or list, a dict, `None`, or something else.
fn open(format: SerializerId, span: &[u8], max_depth: usize) -> Result<Container<'_>, CallError> {
    let text = |body, close| Items::new(format, body, usize::MAX, close, max_depth);
    #[cfg(any(feature = "marshal", feature = "msgpack"))]
    let counted = |body, count| Items::new(format, body, count, 0, max_depth);
    let mut span = span;
    // `(x)` is x in parentheses, not a tuple (a tuple of one item has a comma): look into x,
    // as many times as parentheses nest (in a loop: no stack per level).
    while let (SerializerId::Serpent, [b'(', body @ ..]) = (format, span) {
        let mut items = text(body, b')');
        match (items.next_span()?, items.next_span()?) {
            (Some(inner), None) if !items.trailing_comma => span = inner,
            _ => break,
        }
    }
    let container = match format {
        #[cfg(feature = "serpent")]
        SerializerId::Serpent => match span {
            [b'(', body @ ..] => Container::Seq(text(body, b')')),
            [b'[', body @ ..] => Container::Seq(text(body, b']')),
            [b'{', body @ ..] => {
                // A set `{a, b}` is not a dict.
                let mut items = text(body, b'}');
                match items.next_pair() {
                    Ok(_) => Container::Map(text(body, b'}')),
                    Err(_) => Container::Other,
                }
            }
            b"None" => Container::None,
            _ => Container::Other,
        },
        #[cfg(feature = "json")]
        SerializerId::Json => match span {
            [b'[', body @ ..] => Container::Seq(text(body, b']')),
            [b'{', body @ ..] => Container::Map(text(body, b'}')),
            b"null" => Container::None,
            _ => Container::Other,
        },
        #[cfg(feature = "msgpack")]
        SerializerId::Msgpack => match span {
            [b @ 0x90..=0x9f, body @ ..] => Container::Seq(counted(body, usize::from(b & 0x0f))),
            [0xdc, a, b, body @ ..] => Container::Seq(counted(body, usize::from(u16::from_be_bytes([*a, *b])))),
            [0xdd, a, b, c, d, body @ ..] => Container::Seq(counted(body, be32(*a, *b, *c, *d))),
            [b @ 0x80..=0x8f, body @ ..] => Container::Map(counted(body, usize::from(b & 0x0f))),
            [0xde, a, b, body @ ..] => Container::Map(counted(body, usize::from(u16::from_be_bytes([*a, *b])))),
            [0xdf, a, b, c, d, body @ ..] => Container::Map(counted(body, be32(*a, *b, *c, *d))),
            [0xc0] => Container::None,
            _ => Container::Other,
        },
        #[cfg(feature = "marshal")]
        SerializerId::Marshal => match span {
            // The type code may carry FLAG_REF (0x80).
            [code, rest @ ..] => match (code & 0x7f, rest) {
                (b'(' | b'[', [a, b, c, d, body @ ..]) => Container::Seq(counted(body, le32(*a, *b, *c, *d))),
                (b')', [n, body @ ..]) => Container::Seq(counted(body, usize::from(*n))),
                // Items until the TYPE_NULL code '0'.
                (b'{', body) => Container::Map(text(body, b'0')),
                (b'N', []) => Container::None,
                _ => Container::Other,
            },
            [] => Container::Other,
        },
        other => return Err(CallError::UnknownSerializer(u8::from(other))),
    };
    Ok(container)
}

#[cfg(feature = "msgpack")]
fn be32(a: u8, b: u8, c: u8, d: u8) -> usize {
    usize::try_from(u32::from_be_bytes([a, b, c, d])).unwrap_or(usize::MAX)
}

#[cfg(feature = "marshal")]
fn le32(a: u8, b: u8, c: u8, d: u8) -> usize {
    usize::try_from(u32::from_le_bytes([a, b, c, d])).unwrap_or(usize::MAX)
}

/// The spans of a dict item's key and value.
type Pair<'a> = (&'a [u8], &'a [u8]);

/// A walk over the items of a container, one span at a time with the format's `skip_value`.
///
/// Text formats (and marshal's dict) end at the closing byte `close`; msgpack's and
/// marshal's counted containers after `left` items.
#[derive(Clone, Copy, Debug)]
struct Items<'a> {
    format: SerializerId,
    /// How deeply an item may nest.
    max_depth: usize,
    rest: &'a [u8],
    left: usize,
    close: u8,
    first: bool,
    trailing_comma: bool,
}

impl<'a> Items<'a> {
    fn new(format: SerializerId, rest: &'a [u8], left: usize, close: u8, max_depth: usize) -> Self {
        Self { format, max_depth, rest, left, close, first: true, trailing_comma: false }
    }

    /// The next item's span, or `None` after the last.
    fn next_span(&mut self) -> Result<Option<&'a [u8]>, CallError> {
        if self.left == 0 || !self.start_item()? {
            self.left = 0;
            return Ok(None);
        }
        let (span, rest) = skip(self.format, self.rest, self.max_depth)?;
        self.rest = rest;
        self.left = self.left.saturating_sub(1);
        Ok(Some(span))
    }

    /// The next `key, value` spans, or `None` after the last.
    fn next_pair(&mut self) -> Result<Option<Pair<'a>>, CallError> {
        if self.left == 0 || !self.start_item()? {
            self.left = 0;
            return Ok(None);
        }
        let (key, mut rest) = skip(self.format, self.rest, self.max_depth)?;
        if is_text(self.format) {
            match skip_trivia(self.format, rest) {
                [b':', after @ ..] => rest = skip_trivia(self.format, after),
                _ => return Err(custom(self.format, "expected ':' after a dict key")),
            }
        }
        let (value, rest) = skip(self.format, rest, self.max_depth)?;
        self.rest = rest;
        self.left = self.left.saturating_sub(1);
        Ok(Some((key, value)))
    }

    /// Move to the start of the next item; `false` at the end of the container.
    fn start_item(&mut self) -> Result<bool, CallError> {
        if !is_text(self.format) {
            if self.close != 0 && self.rest.first() == Some(&self.close) {
                return Ok(false);
            }
            return Ok(true);
        }
        let mut rest = skip_trivia(self.format, self.rest);
        if !self.first {
            match rest {
                [b',', after @ ..] => {
                    rest = skip_trivia(self.format, after);
                    self.trailing_comma = true;
                }
                [b, ..] if *b == self.close => return Ok(false),
                _ => return Err(custom(self.format, "expected ',' between items")),
            }
        }
        self.first = false;
        self.rest = rest;
        match rest {
            [b, ..] if *b == self.close => Ok(false),
            _ => {
                self.trailing_comma = false;
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::{String, ToString};
    use std::vec::Vec;

    use super::*;

    const FORMATS: [(SerializerId, &str); 4] = [
        (SerializerId::Serpent, "serpent"),
        (SerializerId::Marshal, "marshal"),
        (SerializerId::Json, "json"),
        (SerializerId::Msgpack, "msgpack"),
    ];

    fn vectors() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
    }

    fn payload(format: &str, name: &str) -> Vec<u8> {
        std::fs::read(vectors().join("payloads").join(format).join(std::format!("{name}.bin"))).unwrap()
    }

    fn names(call: &CallView<'_>) -> Vec<String> {
        call.kwarg_names().map(|n| n.unwrap().to_string()).collect()
    }

    #[test]
    fn recorded_calls_in_all_four_formats() {
        for (format, dir) in FORMATS {
            let simple = payload(dir, "call_simple");
            if !format.is_enabled() {
                assert_eq!(
                    CallView::parse(format, &simple).unwrap_err(),
                    CallError::UnknownSerializer(u8::from(format))
                );
                continue;
            }
            let call = CallView::parse(format, &simple).unwrap();
            assert_eq!((call.object(), call.method(), call.arg_count()), ("obj_id", "method", 2), "{dir}");
            assert_eq!(call.arg::<i64>(0, "a").unwrap(), Some(1), "{dir}");
            assert_eq!(call.arg::<&str>(1, "b").unwrap(), Some("two"), "{dir}");
            assert_eq!(call.arg::<f64>(2, "kw").unwrap(), Some(3.5), "{dir}");
            assert_eq!(call.arg::<f64>(0, "kw").unwrap(), Some(1.0), "{dir}: positional first");
            assert_eq!(call.arg::<f64>(3, "nope").unwrap(), None, "{dir}");
            assert!(call.arg::<&str>(0, "a").is_err(), "{dir}: an int is no str");
            assert_eq!(names(&call), ["kw"], "{dir}");
            assert!(!call.kwargs_is_none());

            let noargs = payload(dir, "call_noargs");
            let call = CallView::parse(format, &noargs).unwrap();
            assert_eq!((call.object(), call.method(), call.arg_count()), ("obj_id", "ping", 0), "{dir}");
            assert_eq!(call.arg::<i64>(0, "x").unwrap(), None, "{dir}");
            assert!(names(&call).is_empty(), "{dir}");

            let vargs = payload(dir, "call_list_vargs");
            let call = CallView::parse(format, &vargs).unwrap();
            assert_eq!((call.object(), call.method(), call.arg_count()), ("Pyro.Daemon", "get_metadata", 1), "{dir}");
            assert_eq!(call.arg::<&str>(0, "objectId").unwrap(), Some("obj_id"), "{dir}");
            assert!(names(&call).is_empty(), "{dir}");

            let tuple_like = payload(dir, "call_tuple_like");
            let call = CallView::parse(format, &tuple_like).unwrap();
            assert_eq!((call.object(), call.method(), call.arg_count()), ("obj", "method", 2), "{dir}");
            assert_eq!(call.arg::<u8>(0, "a").unwrap(), Some(1), "{dir}");
            assert_eq!(call.arg::<u8>(1, "b").unwrap(), Some(2), "{dir}");
            assert_eq!(call.arg::<&str>(2, "k").unwrap(), Some("v"), "{dir}");
            assert_eq!(names(&call), ["k"], "{dir}");
        }
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len() / 2).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap()).collect()
    }

    /// The INVOKE frames a conversation's client sent: (serializer, payload).
    fn invokes(name: &str) -> Vec<(SerializerId, Vec<u8>)> {
        let text = std::fs::read_to_string(vectors().join("conversations").join(std::format!("{name}.json"))).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut out = Vec::new();
        for event in doc["events"].as_array().unwrap() {
            let frame = &event["frame"];
            if event["dir"] != "c2s" || frame["type_name"] != "INVOKE" {
                continue;
            }
            let bytes = hex(event["hex"].as_str().unwrap());
            let annotations = usize::try_from(frame["annotations_size"].as_u64().unwrap()).unwrap();
            let id = u8::try_from(frame["serializer_id"].as_u64().unwrap()).unwrap();
            out.push((SerializerId::from(id), bytes[40 + annotations..].to_vec()));
        }
        out
    }

    #[test]
    fn invokes_of_recorded_conversations() {
        for (format, name) in FORMATS {
            if !format.is_enabled() {
                continue;
            }
            let calls = invokes(&std::format!("{name}_invoke"));
            assert_eq!(calls.len(), 2, "{name}");
            let (format, echo) = &calls[0];
            let call = CallView::parse(*format, echo).unwrap();
            assert_eq!((call.object(), call.method(), call.arg_count()), ("test.echoserver", "echo", 1), "{name}");
            type Echo<'a> = (&'a str, i64, f64, Option<i64>, bool);
            assert_eq!(call.arg::<Echo<'_>>(0, "message").unwrap(), Some(("a", 1, 2.5, None, true)), "{name}");
            assert!(names(&call).is_empty());

            let (format, add) = &calls[1];
            let call = CallView::parse(*format, add).unwrap();
            assert_eq!((call.object(), call.method(), call.arg_count()), ("vectortest", "add", 2), "{name}");
            assert_eq!(call.arg::<i32>(0, "a").unwrap(), Some(1), "{name}");
            assert_eq!(call.arg::<i32>(1, "b").unwrap(), Some(2), "{name}");
            assert_eq!(call.arg::<i32>(2, "c").unwrap(), Some(3), "{name}");
            assert_eq!(names(&call), ["c"], "{name}");
        }
    }

    #[test]
    fn a_bad_call_shape_is_what_python_says() {
        let calls = invokes("raw_invoke_bad_call_shape");
        let (format, bad) = &calls[0];
        if format.is_enabled() {
            let err = CallView::parse(*format, bad).unwrap_err();
            assert_eq!(err.pyro_class(), "builtins.ValueError");
            assert_eq!(err.to_string(), "not enough values to unpack (expected 4, got 2)");
            let path = vectors().join("conversations/raw_invoke_bad_call_shape.json");
            let recorded = std::fs::read_to_string(path).unwrap();
            assert!(recorded.contains(&std::format!("ValueError: {err}")));
        }

        let err = |r: Result<(), CallError>| {
            let e = r.unwrap_err();
            (e.pyro_class(), e.to_string())
        };
        #[cfg(any(feature = "serpent", feature = "json"))]
        let too_many = ("builtins.ValueError", "too many values to unpack (expected 4)".to_string());
        let unknown = CallView::parse(SerializerId::Unknown(9), b"").map(|_| ());
        assert_eq!(err(unknown), ("Pyro5.errors.SerializeError", "unsupported serializer id 9".into()));

        #[cfg(feature = "serpent")]
        {
            let serpent = |text: &str| CallView::parse(SerializerId::Serpent, text.as_bytes()).map(|_| ());
            assert_eq!(err(serpent("('o','m',(),{},5)")), too_many);
            assert_eq!(
                err(serpent("['o']")),
                ("builtins.ValueError", "not enough values to unpack (expected 4, got 1)".into())
            );
            assert_eq!(
                err(serpent("{'a':1}")),
                ("builtins.ValueError", "not enough values to unpack (expected 4, got 1)".into())
            );
            assert_eq!(err(serpent("42")), ("builtins.TypeError", "cannot unpack non-iterable int object".into()));
            assert_eq!(
                err(serpent("(None)")),
                ("builtins.TypeError", "cannot unpack non-iterable NoneType object".into())
            );
            assert_eq!(err(serpent("('o','m',5,{})")).0, "builtins.TypeError");
            assert_eq!(err(serpent("('o','m',(),[])")).0, "builtins.TypeError");
            assert_eq!(err(serpent("('o','m',('x'),{})")).0, "builtins.TypeError", "('x') is a str");
            assert_eq!(err(serpent("('o','m',(),{1,2})")).0, "builtins.TypeError", "a set is no dict");
            assert!(serpent("('o','m',('x',),{})").is_ok());
            assert!(serpent("# serpent utf-8 python3.2\n( 'o' , # c\n 'm', [1,2,] ,None, ) # end\n").is_ok());
            assert_eq!(err(serpent("('o','m',(),{}) 5")).0, "Pyro5.errors.SerializeError");
        }

        #[cfg(feature = "json")]
        {
            let json = |text: &str| CallView::parse(SerializerId::Json, text.as_bytes()).map(|_| ());
            assert_eq!(
                err(json(r#"{"object": "o", "method": "m", "kwargs": {}}"#)),
                ("builtins.KeyError", "'params'".into())
            );
            assert_eq!(
                err(json(r#"{"object": "o", "params": [], "kwargs": {}}"#)),
                ("builtins.KeyError", "'method'".into())
            );
            assert_eq!(err(json(r#"["o", "m", [], {}, 1]"#)), too_many);
            assert!(json(r#"{"x": 1, "object": "o", "method": "m", "params": [], "kwargs": null}"#).is_ok());
        }

        #[cfg(feature = "msgpack")]
        {
            let msgpack = |bytes: &[u8]| CallView::parse(SerializerId::Msgpack, bytes).map(|_| ());
            assert_eq!(
                err(msgpack(b"\x92\xa1o\xa1m")),
                ("builtins.ValueError", "not enough values to unpack (expected 4, got 2)".into())
            );
            assert_eq!(err(msgpack(b"\x07")), ("builtins.TypeError", "cannot unpack non-iterable int object".into()));
            assert!(msgpack(b"\x94\xa1o\xa1m\x90\xc0").is_ok());
        }

        #[cfg(feature = "marshal")]
        {
            let marshal = |bytes: &[u8]| CallView::parse(SerializerId::Marshal, bytes).map(|_| ());
            assert_eq!(
                err(marshal(b")\x02z\x01oz\x01m")),
                ("builtins.ValueError", "not enough values to unpack (expected 4, got 2)".into())
            );
            assert!(marshal(b")\x04z\x01oz\x01m)\x00N").is_ok());
        }
    }

    #[test]
    fn serializers_left_out_of_the_build_are_refused() {
        for (format, name) in FORMATS.into_iter().filter(|(format, _)| !format.is_enabled()) {
            let id = u8::from(format);
            let err = CallView::parse(format, b"").unwrap_err();
            assert_eq!(err, CallError::UnknownSerializer(id));
            assert_eq!(err.pyro_class(), "Pyro5.errors.SerializeError");
            assert_eq!(
                err.to_string(),
                std::format!("serializer {name} (id {id}) is not in this build; enable pyro5-core's `{name}` feature")
            );
            assert!(ConnectView::parse(format, b"").is_err());
            assert_eq!(decode_payload::<i64>(format, b"1"), Err(CallError::UnknownSerializer(id)));
        }
    }

    #[cfg(feature = "marshal")]
    #[test]
    fn marshal_back_references_resolve_against_the_whole_payload() {
        // ('o', 'kw', ('kw',), {'kw': 1}) with 'kw' flagged (0xda) and then referenced (r 0).
        let payload = b")\x04z\x01o\xda\x02kw)\x01r\x00\x00\x00\x00{r\x00\x00\x00\x00i\x01\x00\x00\x000";
        let call = CallView::parse(SerializerId::Marshal, payload).unwrap();
        assert_eq!(call.method(), "kw");
        assert_eq!(call.arg::<&str>(0, "x").unwrap(), Some("kw"));
        assert_eq!(call.arg::<i64>(1, "kw").unwrap(), Some(1));
        assert_eq!(names(&call), ["kw"]);
    }

    #[cfg(feature = "serpent")]
    #[test]
    fn deep_parentheses_are_read_or_refused_by_the_depth_limit() {
        let args = |depth: usize| std::format!("('o','m',{}(1,){},{{}})", "(".repeat(depth), ")".repeat(depth));
        let outer = |depth: usize| std::format!("{}'o','m',(),{{}}{}", "(".repeat(depth), ")".repeat(depth));
        let parse = |text: &str| CallView::parse(SerializerId::Serpent, text.as_bytes()).map(|c| c.arg_count());
        assert_eq!(parse(&args(100)), Ok(1));
        assert_eq!(parse(&outer(100)), Ok(0));
        for text in [args(5000), outer(5000)] {
            assert!(matches!(parse(&text), Err(CallError::Serpent(serpent::Error::DepthLimit { .. }))));
        }
    }

    #[cfg(feature = "json")]
    #[test]
    fn escaped_strings_need_alloc() {
        let text = br#"{"object": "o", "method": "m", "params": ["a\nb"], "kwargs": {"k\u0041": 1}}"#;
        let call = CallView::parse(SerializerId::Json, text).unwrap();
        assert!(call.arg::<&str>(0, "x").is_err(), "an escaped string cannot be borrowed");
        #[cfg(feature = "alloc")]
        {
            assert_eq!(call.arg::<String>(0, "x").unwrap().as_deref(), Some("a\nb"));
            assert_eq!(call.arg::<i64>(1, "kA").unwrap(), Some(1));
        }
        #[cfg(not(feature = "alloc"))]
        assert!(call.arg::<i64>(1, "kA").is_err());
        let mut names = call.kwarg_names();
        assert!(names.next().unwrap().is_err());
        assert!(names.next().is_none(), "the iterator ends after an error");
    }

    #[cfg(feature = "serpent")]
    #[test]
    fn fetching_arguments_allocates_nothing() {
        assert_eq!(allocation_counter::measure(|| drop(std::hint::black_box(std::vec![1u8; 8]))).count_total, 1);
        let serpent = payload("serpent", "call_simple");
        let msgpack = payload("msgpack", "call_simple");
        let echo = invokes("serpent_invoke");
        let count = allocation_counter::measure(|| {
            let formats = [(SerializerId::Serpent, &serpent[..]), (SerializerId::Msgpack, &msgpack[..])];
            for (format, bytes) in formats.into_iter().filter(|(format, _)| format.is_enabled()) {
                let call = CallView::parse(format, bytes).unwrap();
                assert_eq!((call.object(), call.method()), ("obj_id", "method"));
                assert_eq!(call.arg::<i64>(0, "a").unwrap(), Some(1));
                assert_eq!(call.arg::<&str>(1, "b").unwrap(), Some("two"));
                assert_eq!(call.arg::<f64>(2, "kw").unwrap(), Some(3.5));
                assert_eq!(call.kwarg_names().next().unwrap().unwrap(), "kw");
            }
            let call = CallView::parse(echo[0].0, &echo[0].1).unwrap();
            let list = call.arg::<(&str, i64, f64, Option<i64>, bool)>(0, "message").unwrap();
            assert_eq!(list, Some(("a", 1, 2.5, None, true)));
        })
        .count_total;
        assert_eq!(count, 0, "parsing a call and fetching its arguments allocated {count} times");
    }

    fn exercise(format: SerializerId, bytes: &[u8]) {
        if let Ok(call) = CallView::parse(format, bytes) {
            let _ = (call.object(), call.method());
            for i in 0..call.arg_count().min(8) + 1 {
                let _ = call.arg::<IgnoredAny>(i, "kw");
                let _ = call.arg::<&str>(i, "k");
                let _ = call.arg::<i64>(i, "x");
            }
            for name in call.kwarg_names().take(16).flatten() {
                let _ = call.arg::<f64>(usize::MAX, name);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            for (format, _) in FORMATS {
                exercise(format, &bytes);
            }
        }

        #[test]
        fn mutated_calls_never_panic(which in 0usize..16, at in 0usize..128, byte in proptest::num::u8::ANY, cut in 0usize..128) {
            let (format, dir) = FORMATS[which % 4];
            let name = ["call_simple", "call_noargs", "call_list_vargs", "call_tuple_like"][which / 4];
            let mut bytes = payload(dir, name);
            let len = bytes.len();
            bytes[at % len] = byte;
            bytes.truncate(len - cut % len / 4);
            exercise(format, &bytes);
        }
    }
}
