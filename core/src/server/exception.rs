//! Exceptions a daemon sends: a Python class name and a message, written as Pyro's exception
//! dict (`docs/wire-protocol.md`, "Exception replies") with a remote traceback text, in any
//! format and without an allocator.

use core::fmt;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeTuple, Serializer};

use crate::ser::envelope::{CLASS_KEY, EXCEPTION_WRAPPER_CLASS, TRACEBACK_ATTRIBUTE};

/// `builtins.ValueError`.
pub const VALUE_ERROR: &str = "builtins.ValueError";
/// `builtins.TypeError`.
pub const TYPE_ERROR: &str = "builtins.TypeError";
/// `builtins.AttributeError`.
pub const ATTRIBUTE_ERROR: &str = "builtins.AttributeError";
/// `builtins.KeyError`.
pub const KEY_ERROR: &str = "builtins.KeyError";
/// `builtins.IndexError`.
pub const INDEX_ERROR: &str = "builtins.IndexError";
/// `builtins.RuntimeError`.
pub const RUNTIME_ERROR: &str = "builtins.RuntimeError";
/// `builtins.ZeroDivisionError`.
pub const ZERO_DIVISION_ERROR: &str = "builtins.ZeroDivisionError";
/// `builtins.NotImplementedError`.
pub const NOT_IMPLEMENTED_ERROR: &str = "builtins.NotImplementedError";
/// `builtins.PermissionError`.
pub const PERMISSION_ERROR: &str = "builtins.PermissionError";
/// `builtins.TimeoutError`.
pub const TIMEOUT_ERROR: &str = "builtins.TimeoutError";
/// `builtins.StopIteration`: the end of an item stream.
pub const STOP_ITERATION: &str = "builtins.StopIteration";
/// `Pyro5.errors.PyroError`.
pub const PYRO_ERROR: &str = "Pyro5.errors.PyroError";
/// `Pyro5.errors.DaemonError`.
pub const DAEMON_ERROR: &str = "Pyro5.errors.DaemonError";
/// `Pyro5.errors.ProtocolError`.
pub const PROTOCOL_ERROR: &str = "Pyro5.errors.ProtocolError";
/// `Pyro5.errors.SerializeError`.
pub const SERIALIZE_ERROR: &str = "Pyro5.errors.SerializeError";
/// `Pyro5.errors.SecurityError`.
pub const SECURITY_ERROR: &str = "Pyro5.errors.SecurityError";
/// `Pyro5.errors.NamingError`.
pub const NAMING_ERROR: &str = "Pyro5.errors.NamingError";

/// An error a Pyro object raises to its caller: the Python exception class (module and
/// name, e.g. `builtins.ValueError`) and, as `Display`, its message.
///
/// A Python client raises it as that class: builtin exceptions and `Pyro5.errors.*` work out
/// of the box; any other class name needs `register_dict_to_class` on the client (Pyro5's
/// rule), otherwise the client reports "unsupported serialized class". A class name
/// containing `__` is refused by Python clients as a security risk.
pub trait PythonException: fmt::Display {
    /// Module and class name.
    fn class(&self) -> &str;
    /// Whether the exception has no arguments at all (`StopIteration()`), rather than its
    /// message as the single argument.
    fn no_args(&self) -> bool {
        false
    }
}

impl<E: PythonException + ?Sized> PythonException for &E {
    fn class(&self) -> &str {
        (**self).class()
    }
    fn no_args(&self) -> bool {
        (**self).no_args()
    }
}

/// A Python exception of a class with a message: the ready-made [`PythonException`].
///
/// ```
/// use pyro5_core::server::{PyException, PythonException};
/// let e = PyException::value_error("negative amount");
/// assert_eq!((e.class(), e.to_string().as_str()), ("builtins.ValueError", "negative amount"));
/// let custom = PyException::new("bank.InsufficientFunds", 42);
/// assert_eq!(custom.to_string(), "42");
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct PyException<M> {
    /// Module and class name.
    pub class: &'static str,
    /// The message (the exception's single argument).
    pub message: M,
}

impl<M: fmt::Display> PyException<M> {
    /// An exception of `class` with `message`.
    pub const fn new(class: &'static str, message: M) -> Self {
        Self { class, message }
    }
    /// `ValueError(message)`.
    pub const fn value_error(message: M) -> Self {
        Self::new(VALUE_ERROR, message)
    }
    /// `TypeError(message)`.
    pub const fn type_error(message: M) -> Self {
        Self::new(TYPE_ERROR, message)
    }
    /// `KeyError(message)`.
    pub const fn key_error(message: M) -> Self {
        Self::new(KEY_ERROR, message)
    }
    /// `IndexError(message)`.
    pub const fn index_error(message: M) -> Self {
        Self::new(INDEX_ERROR, message)
    }
    /// `RuntimeError(message)`.
    pub const fn runtime_error(message: M) -> Self {
        Self::new(RUNTIME_ERROR, message)
    }
    /// `AttributeError(message)`.
    pub const fn attribute_error(message: M) -> Self {
        Self::new(ATTRIBUTE_ERROR, message)
    }
    /// `Pyro5.errors.PyroError(message)`.
    pub const fn pyro_error(message: M) -> Self {
        Self::new(PYRO_ERROR, message)
    }
}

impl<M: fmt::Display> fmt::Display for PyException<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.message.fmt(f)
    }
}

impl<M: fmt::Display> PythonException for PyException<M> {
    fn class(&self) -> &str {
        self.class
    }
}

/// `StopIteration()`: what a finished item stream raises.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct StopIteration;

impl fmt::Display for StopIteration {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

impl PythonException for StopIteration {
    fn class(&self) -> &str {
        STOP_ITERATION
    }
    fn no_args(&self) -> bool {
        true
    }
}

/// Where an exception was raised, for the remote traceback text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin<'a> {
    /// The object's class name (empty when unknown).
    pub class_name: &'a str,
    /// The method (empty for the daemon itself).
    pub method: &'a str,
}

/// Pyro's exception dict for `e`, with a three-line traceback naming the Rust method, or
/// `None` as the traceback (the iterator-result marker).
pub(crate) struct ExceptionOut<'a> {
    pub exception: &'a dyn PythonException,
    pub origin: Option<Origin<'a>>,
}

impl Serialize for ExceptionOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry(CLASS_KEY, self.exception.class())?;
        m.serialize_entry("__exception__", &true)?;
        m.serialize_entry("args", &Args(self.exception))?;
        m.serialize_entry("attributes", &Attributes(self))?;
        m.end()
    }
}

/// The batch wrapper around an exception dict.
pub(crate) struct WrappedOut<'a>(pub ExceptionOut<'a>);

impl Serialize for WrappedOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(CLASS_KEY, EXCEPTION_WRAPPER_CLASS)?;
        m.serialize_entry("exception", &self.0)?;
        m.end()
    }
}

struct Args<'a>(&'a dyn PythonException);

impl Serialize for Args<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.no_args() {
            return s.serialize_tuple(0)?.end();
        }
        let mut t = s.serialize_tuple(1)?;
        t.serialize_element(&Text(self.0))?;
        t.end()
    }
}

struct Text<'a>(&'a dyn fmt::Display);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

struct Attributes<'a>(&'a ExceptionOut<'a>);

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self.0.origin {
            Some(origin) => m.serialize_entry(TRACEBACK_ATTRIBUTE, &Traceback { e: self.0.exception, origin })?,
            None => m.serialize_entry(TRACEBACK_ATTRIBUTE, &())?,
        }
        m.end()
    }
}

/// The remote traceback: Python's `format_exception` layout, with the Rust method as the
/// one frame.
struct Traceback<'a> {
    e: &'a dyn PythonException,
    origin: Origin<'a>,
}

impl Serialize for Traceback<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(3))?;
        seq.serialize_element("Traceback (most recent call last):\n")?;
        seq.serialize_element(&Text(&FrameLine(self.origin)))?;
        seq.serialize_element(&Text(&LastLine(self.e)))?;
        seq.end()
    }
}

struct FrameLine<'a>(Origin<'a>);

impl fmt::Display for FrameLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Origin { class_name, method } = self.0;
        match (class_name.is_empty(), method.is_empty()) {
            (true, true) => f.write_str("  File \"<pyro5-rs daemon>\"\n"),
            (false, false) => writeln!(f, "  File \"<pyro5-rs>\", in {class_name}.{method}"),
            (true, false) => writeln!(f, "  File \"<pyro5-rs>\", in {method}"),
            (false, true) => writeln!(f, "  File \"<pyro5-rs>\", in {class_name}"),
        }
    }
}

/// `ValueError: message` (builtins without their module, as Python prints them).
struct LastLine<'a>(&'a dyn PythonException);

impl fmt::Display for LastLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = self.0.class();
        let shown = class.strip_prefix("builtins.").unwrap_or(class);
        if self.0.no_args() { writeln!(f, "{shown}") } else { writeln!(f, "{shown}: {}", self.0) }
    }
}

/// An exception whose message is formatted on demand from `format_args!`-like pieces.
pub(crate) struct Raised<'a> {
    pub class: &'a str,
    pub message: fmt::Arguments<'a>,
}

impl fmt::Display for Raised<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_fmt(self.message)
    }
}

impl PythonException for Raised<'_> {
    fn class(&self) -> &str {
        self.class
    }
}
