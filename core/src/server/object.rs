//! What a Pyro object is to the daemon: its metadata (what it exposes) and how it is called
//! (`docs/objects.md`, "Objects and replies"). `#[expose]` from `pyro5-macros` writes both from
//! an `impl`.

use core::fmt;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::exception::{ATTRIBUTE_ERROR, PythonException, Raised, SERIALIZE_ERROR, TYPE_ERROR};
use super::reply::{Replied, Reply};
use crate::ser::call::{BatchItem, CallView};
use crate::ser::python::SetOf;
use crate::wire::{AnnotationsView, CorrelationId};

/// What an object exposes, as Pyro's `get_metadata` reports it: method names (oneway ones
/// included), the oneway ones, and the attributes (properties).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Metadata<'a> {
    /// The object's class name as Python would show it (for error texts like
    /// `'Thermometer' object has no attribute 'x'`).
    pub class_name: &'a str,
    /// Every exposed method, oneway ones included.
    pub methods: &'a [&'a str],
    /// The methods called oneway: the client does not wait for them.
    pub oneway: &'a [&'a str],
    /// Exposed properties, read through `__getattr__` and written through `__setattr__`.
    pub attrs: &'a [&'a str],
}

impl Metadata<'_> {
    /// Whether `name` is an exposed method.
    pub fn has_method(&self, name: &str) -> bool {
        self.methods.contains(&name)
    }
    /// Whether `name` is an exposed property.
    pub fn has_attr(&self, name: &str) -> bool {
        self.attrs.contains(&name)
    }
    /// Whether the object exposes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty() && self.attrs.is_empty()
    }
}

/// What every object of a type exposes, known without making one: lets a daemon register a
/// class whose instances it makes later (per session or per call) without making one first,
/// as Python's daemon reads a class's exposed names from the class.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct ClassInfo {
    /// What each object exposes ([`PyroObject::metadata`]).
    pub metadata: Metadata<'static>,
    /// Whether some method answers with a future ([`PyroObject::has_async_methods`]).
    pub has_async_methods: bool,
}

/// The metadata dict `{"methods": set, "oneway": set, "attrs": set}`.
impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("methods", &SetOf(self.methods.iter()))?;
        m.serialize_entry("oneway", &SetOf(self.oneway.iter()))?;
        m.serialize_entry("attrs", &SetOf(self.attrs.iter()))?;
        m.end()
    }
}

/// Names Pyro never exposes although they look like dunders (Python's
/// `_private_dunder_methods`).
const PRIVATE_DUNDERS: &[&str] = &[
    "__init__",
    "__init_subclass__",
    "__class__",
    "__module__",
    "__weakref__",
    "__call__",
    "__new__",
    "__del__",
    "__repr__",
    "__str__",
    "__format__",
    "__nonzero__",
    "__bool__",
    "__coerce__",
    "__cmp__",
    "__eq__",
    "__ne__",
    "__hash__",
    "__ge__",
    "__gt__",
    "__le__",
    "__lt__",
    "__dir__",
    "__enter__",
    "__exit__",
    "__copy__",
    "__deepcopy__",
    "__sizeof__",
    "__getattr__",
    "__setattr__",
    "__hasattr__",
    "__getattribute__",
    "__delattr__",
    "__instancecheck__",
    "__subclasscheck__",
    "__getinitargs__",
    "__getnewargs__",
    "__getstate__",
    "__setstate__",
    "__reduce__",
    "__reduce_ex__",
    "__subclasshook__",
];

/// Pyro's rule for names never exposed: a leading underscore, except `__dunder__` names
/// longer than 4 characters that are not on Python's list of special methods.
///
/// ```
/// use pyro5_core::server::is_private_name;
/// assert!(is_private_name("_secret") && is_private_name("__init__") && is_private_name("__x"));
/// assert!(!is_private_name("echo") && !is_private_name("__dunder__"));
/// ```
pub fn is_private_name(name: &str) -> bool {
    if PRIVATE_DUNDERS.contains(&name) {
        return true;
    }
    if !name.starts_with('_') {
        return false;
    }
    !(name.len() > 4 && name.starts_with("__") && name.ends_with("__"))
}

/// Identifies a client connection to the daemon (for session instances and stream owners).
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConnectionId(pub u64);

/// What object code may know about the call it serves (Pyro's `current_context`).
#[derive(Clone, Copy, Debug)]
pub struct CallContext<'a> {
    /// The connection the call came on.
    pub connection: ConnectionId,
    /// The client's address, when the transport has one.
    pub client: Option<core::net::SocketAddr>,
    /// The request's correlation id, or the fresh one the daemon made for it.
    pub correlation_id: CorrelationId,
    /// The request's annotations.
    pub annotations: AnnotationsView<'a>,
    /// The request's sequence number.
    pub seq: u16,
    /// The object id called.
    pub object_id: &'a str,
}

/// One call to an object: its context and its arguments, still encoded.
#[derive(Clone, Copy, Debug)]
pub struct Invocation<'a> {
    /// Who calls, with what annotations.
    pub context: &'a CallContext<'a>,
    /// The method name.
    pub method: &'a str,
    /// The arguments, still encoded.
    pub args: Args<'a>,
}

/// The arguments of one call.
#[derive(Clone, Copy, Debug)]
pub enum Args<'a> {
    /// The call's own arguments.
    Call(&'a CallView<'a>),
    /// The arguments of one call of a batch.
    Batch(&'a BatchItem<'a>),
    /// The only argument of a KEEPSERIALIZED call: a serialized blob, which only a
    /// [`SerializedBlob`](crate::ser::blob::SerializedBlob) parameter takes.
    #[cfg(feature = "marshal")]
    Blob(&'a crate::ser::blob::SerializedBlob<'a>),
    /// No arguments (a stream's next item).
    None,
}

/// Why an argument could not be read: the `TypeError` Python raises when a call does not
/// match a function's parameters, or the decoding error of the argument.
pub type ArgError = crate::ser::call::CallError;

impl<'a> Args<'a> {
    /// The argument for parameter number `index` named `name`, as Python binds it (see
    /// [`CallView::arg`]).
    ///
    /// # Errors
    /// The format's error when the argument does not fit `T`.
    pub fn get<T: serde::Deserialize<'a>>(&self, index: usize, name: &str) -> Result<Option<T>, ArgError> {
        match self {
            Self::Call(view) => view.arg(index, name),
            Self::Batch(item) => item.arg(index, name),
            #[cfg(feature = "marshal")]
            Self::Blob(blob) if index == 0 => {
                T::deserialize(crate::ser::blob::BlobArgument(**blob)).map(Some).map_err(|_| ArgError::Blob)
            }
            #[cfg(feature = "marshal")]
            Self::Blob(_) => Ok(None),
            Self::None => Ok(None),
        }
    }

    /// How many positional arguments were passed.
    pub fn positional_count(&self) -> usize {
        match self {
            Self::Call(view) => view.arg_count(),
            Self::Batch(item) => item.arg_count(),
            #[cfg(feature = "marshal")]
            Self::Blob(_) => 1,
            Self::None => 0,
        }
    }

    /// Visit the keyword argument names (to refuse unexpected ones); stops at the first
    /// `Err` the visitor returns.
    ///
    /// # Errors
    /// The visitor's error, or a decoding error of a name.
    pub fn for_each_kwarg(&self, f: &mut dyn FnMut(&str) -> Result<(), ArgError>) -> Result<(), ArgError> {
        match self {
            Self::Call(view) => view.kwarg_names().try_for_each(|name| f(name?)),
            Self::Batch(item) => item.kwarg_names().try_for_each(|name| f(name?)),
            #[cfg(feature = "marshal")]
            Self::Blob(_) => Ok(()),
            Self::None => Ok(()),
        }
    }
}

/// The state of one item stream of an object that streams without an allocator: a cursor
/// the object defines the meaning of (an index, a position...).
pub type StreamCursor = u64;

/// A Pyro object: what it exposes and how it is called.
///
/// Implemented by `#[expose]`; by hand, `invoke` matches the method name, reads the
/// arguments from `inv.args` and answers through `reply` (which must be used exactly once:
/// [`Replied`] proves it).
pub trait PyroObject {
    /// What the object exposes.
    fn metadata(&self) -> Metadata<'static>;

    /// Run `inv.method` (an exposed method: the daemon checked it against the metadata) and
    /// answer through `reply`.
    fn invoke(&mut self, inv: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied;

    /// Read property `name` (one of `attrs`).
    fn get_attr(&mut self, name: &str, inv: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
        let _ = inv;
        unknown_attribute(name, reply)
    }

    /// Write property `name` (one of `attrs`) with `value`, the second argument of the
    /// call (`inv.args.get(1, "value")`).
    fn set_attr(&mut self, name: &str, inv: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
        let _ = inv;
        unknown_attribute(name, reply)
    }

    /// The next item of a stream that `method` started with [`Reply::stream`]: answer with
    /// [`Reply::ok`], or [`Reply::stop`] at its end.
    fn next_item(&mut self, method: &str, cursor: &mut StreamCursor, reply: Reply<'_, '_>) -> Replied {
        let _ = (method, cursor);
        reply.stop()
    }

    /// Whether some method answers with a future ([`Reply::later`]: an `async fn` method of
    /// an `#[expose]` impl). A daemon that runs no futures refuses such an object when it is
    /// registered, rather than fail its calls.
    fn has_async_methods(&self) -> bool {
        false
    }

    /// The same for every object of the type, without an instance, when it is so
    /// (`#[expose]` says it is). `None`, the default: a daemon registering the type as a
    /// class makes one instance at registration to ask it.
    fn class_info() -> Option<ClassInfo>
    where
        Self: Sized,
    {
        None
    }
}

/// Pyro's answer for an attribute that is not an exposed property.
pub fn unknown_attribute(name: &str, reply: Reply<'_, '_>) -> Replied {
    reply.raise(&Raised {
        class: ATTRIBUTE_ERROR,
        message: format_args!("attempt to access unexposed or unknown remote attribute '{name}'"),
    })
}

/// A call that does not fit a method's parameters: the `TypeError` Python raises, with
/// Python's texts (`EchoServer.echo() missing 1 required positional argument: 'message'`).
#[derive(Clone, Debug, PartialEq)]
pub enum ArgumentError<'a> {
    /// A parameter without default got no argument.
    Missing {
        /// `Class.method`.
        function: Qualname<'a>,
        /// The parameter.
        name: &'a str,
    },
    /// More positional arguments than parameters.
    TooMany {
        /// `Class.method`.
        function: Qualname<'a>,
        /// How many parameters there are.
        takes: usize,
        /// How many positional arguments came.
        given: usize,
    },
    /// A keyword argument names no parameter.
    Unexpected {
        /// `Class.method`.
        function: Qualname<'a>,
        /// The keyword.
        name: Option<&'a str>,
    },
    /// A parameter got an argument both by position and by keyword.
    Multiple {
        /// `Class.method`.
        function: Qualname<'a>,
        /// The parameter.
        name: &'a str,
    },
    /// The argument does not decode as the parameter's type.
    Decode {
        /// The parameter.
        name: &'a str,
        /// Why.
        error: ArgError,
    },
}

/// `Class.method` as Python prints a method's qualified name.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Qualname<'a> {
    /// The class name (may be empty).
    pub class_name: &'a str,
    /// The method name.
    pub method: &'a str,
}

impl fmt::Display for Qualname<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.class_name.is_empty() {
            f.write_str(self.method)
        } else {
            write!(f, "{}.{}", self.class_name, self.method)
        }
    }
}

impl fmt::Display for ArgumentError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { function, name } => {
                write!(f, "{function}() missing 1 required positional argument: '{name}'")
            }
            // Python counts `self` in both numbers.
            Self::TooMany { function, takes, given } => write!(
                f,
                "{function}() takes {} positional argument{} but {} {} given",
                takes + 1,
                if *takes == 0 { "" } else { "s" },
                given + 1,
                if *given == 0 { "was" } else { "were" }
            ),
            Self::Unexpected { function, name: Some(name) } => {
                write!(f, "{function}() got an unexpected keyword argument '{name}'")
            }
            Self::Unexpected { function, name: None } => write!(f, "{function}() keywords must be strings"),
            Self::Multiple { function, name } => write!(f, "{function}() got multiple values for argument '{name}'"),
            // A decoding fault is Python's deserializer error; a value of the wrong type
            // (serde's "invalid type") names the parameter, which Python cannot have. A
            // refused class reads as Python's refusal, which names none.
            Self::Decode { error: error @ ArgError::RefusedClass(_), .. } => write!(f, "{error}"),
            Self::Decode { name, error } if error.pyro_class() == SERIALIZE_ERROR => {
                write!(f, "{error} (argument '{name}')")
            }
            Self::Decode { error, .. } => write!(f, "{error}"),
        }
    }
}

impl PythonException for ArgumentError<'_> {
    fn class(&self) -> &str {
        match self {
            Self::Decode { error, .. } => error.pyro_class(),
            _ => TYPE_ERROR,
        }
    }
}

/// What a function takes beyond its named parameters ([`Args::check_with_rest`]).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Rest {
    /// The positional arguments past the parameters (Python's `*args`).
    pub args: bool,
    /// The keyword arguments that name no parameter (Python's `**kwargs`).
    pub kwargs: bool,
}

impl<'a> Args<'a> {
    /// The encoded arguments of a call or batch item (none for a blob or a stream's item).
    fn call_args(&self) -> Option<crate::ser::call::CallArgs<'a>> {
        match self {
            Self::Call(view) => Some(view.call_args()),
            Self::Batch(item) => Some(item.call_args()),
            #[cfg(feature = "marshal")]
            Self::Blob(_) => None,
            Self::None => None,
        }
    }

    /// Visit the positional arguments from number `from` on, each read as `T` (Python's
    /// `*args`); a call of a batch too.
    ///
    /// # Errors
    /// The format's error for an argument that does not fit `T`, or the visitor's.
    pub fn rest_args<T: serde::Deserialize<'a>>(
        &self,
        from: usize,
        visit: &mut dyn FnMut(T) -> Result<(), ArgError>,
    ) -> Result<(), ArgError> {
        self.call_args().map_or(Ok(()), |args| args.rest_args(from, visit))
    }

    /// Visit the keyword arguments not named in `params`, in the order sent, each value
    /// read as `T` (Python's `**kwargs`).
    ///
    /// # Errors
    /// The format's error for a value that does not fit `T` or a name that is not a
    /// string, or the visitor's.
    pub fn other_kwargs<T: serde::Deserialize<'a>>(
        &self,
        params: &[&str],
        visit: &mut dyn FnMut(&str, T) -> Result<(), ArgError>,
    ) -> Result<(), ArgError> {
        self.call_args().map_or(Ok(()), |args| args.other_kwargs(params, visit))
    }

    /// Check the call against parameters `params` (in order) of `function`: no more
    /// positional arguments than parameters, every keyword a parameter not also given by
    /// position. Then read each with [`required`](Self::required) or
    /// [`optional`](Self::optional).
    ///
    /// # Errors
    /// [`ArgumentError::TooMany`], [`ArgumentError::Unexpected`], [`ArgumentError::Multiple`].
    pub fn check(&self, function: Qualname<'a>, params: &[&'a str]) -> Result<(), ArgumentError<'a>> {
        self.check_with_rest(function, params, Rest::default())
    }

    /// [`check`](Self::check) for a function that also takes the positional arguments
    /// past `params` (Python's `*args`) or the keyword arguments `params` does not name
    /// (`**kwargs`), as `rest` says.
    ///
    /// # Errors
    /// As [`check`](Self::check), less what `rest` takes.
    pub fn check_with_rest(
        &self,
        function: Qualname<'a>,
        params: &[&'a str],
        rest: Rest,
    ) -> Result<(), ArgumentError<'a>> {
        let given = self.positional_count();
        if given > params.len() && !rest.args {
            return Err(ArgumentError::TooMany { function, takes: params.len(), given });
        }
        let mut fault = None;
        let scan = self.for_each_kwarg(&mut |name| {
            match params.iter().position(|p| *p == name) {
                Some(i) if i < given => fault = Some(ArgumentError::Multiple { function, name: params[i] }),
                Some(_) => return Ok(()),
                None if rest.kwargs => return Ok(()),
                None => fault = Some(ArgumentError::Unexpected { function, name: None }),
            }
            Err(ArgError::NotEnoughValues { got: 0 })
        });
        match (fault, scan) {
            (Some(ArgumentError::Unexpected { .. }), _) => {
                Err(ArgumentError::Unexpected { function, name: self.first_unknown_kwarg(params) })
            }
            (Some(e), _) => Err(e),
            (None, Err(_)) => Err(ArgumentError::Unexpected { function, name: None }),
            (None, Ok(())) => Ok(()),
        }
    }

    fn first_unknown_kwarg(&self, params: &[&str]) -> Option<&'a str> {
        let names = match self {
            Self::Call(view) => view.kwarg_names(),
            Self::Batch(item) => item.kwarg_names(),
            #[cfg(feature = "marshal")]
            Self::Blob(_) => return None,
            Self::None => return None,
        };
        names.filter_map(Result::ok).find(|n| !params.contains(n))
    }

    /// Parameter `index` named `name`, which has no default.
    ///
    /// # Errors
    /// [`ArgumentError::Missing`] or [`ArgumentError::Decode`].
    pub fn required<T: serde::Deserialize<'a>>(
        &self,
        function: Qualname<'a>,
        index: usize,
        name: &'a str,
    ) -> Result<T, ArgumentError<'a>> {
        self.optional(index, name)?.ok_or(ArgumentError::Missing { function, name })
    }

    /// Parameter `index` named `name`, which may be left out (`None` then).
    ///
    /// # Errors
    /// [`ArgumentError::Decode`].
    pub fn optional<T: serde::Deserialize<'a>>(
        &self,
        index: usize,
        name: &'a str,
    ) -> Result<Option<T>, ArgumentError<'a>> {
        self.get(index, name).map_err(|error| ArgumentError::Decode { name, error })
    }
}
