//! Pyro URIs: `PYRO:`, `PYRONAME:` and `PYROMETA:` (`docs/wire-protocol.md`, "URIs").
//!
//! A URI names a remote object and where to reach it:
//!
//! ```text
//! uri       = proto ":" object [ "@" location ]      ; "$" also matches before one final "\n"
//! proto     = "PYRO" | "PYRONAME" | "PYROMETA"         ; any ASCII case, stored upper-case
//! object    = 1*non-whitespace                         ; shortest run that lets the rest match
//! location  = "./u:" sockname                          ; Unix socket, no ":" in sockname
//!           | "[" 1*(hexdigit | ":" | "%") "]" [ ":" 1*digit ] junk   ; IPv6, junk ignored
//!           | host [ ":" port ]                         ; split at the first ":"
//! ```
//!
//! [`Uri::parse`] accepts and rejects exactly what Python Pyro5 5.17's `Pyro5.core.URI`
//! does, field for field, and [`UriError`] prints Python's message text. Some of what that
//! means:
//! - the object is the *shortest* whitespace-free run before an `@` that is followed by at
//!   least one character, so `PYRO:a@b@host:1` is object `a` at host `b@host`, and
//!   `PYRONAME:x@` is object `x@` with no location;
//! - "whitespace" is Python's `str.isspace()`, which includes U+001C..U+001F;
//! - the port goes through Python's `int()`: surrounding whitespace, a sign, leading zeros,
//!   single `_` between digits and any Unicode decimal digit are accepted, and there is no
//!   range check (`-1` and `99999` are ports);
//! - `PYRO` needs a location with a port; `PYRONAME` and `PYROMETA` default the port to the
//!   name server's ([`NS_PORT`], or the one given to [`Uri::parse_with_ns_port`]);
//! - `PYROMETA`'s object is a set of comma-separated tags, see [`Uri::meta_tags`].
//!
//! Parsing borrows from the input and never allocates. [`Uri`]'s `Display` prints what
//! Python's `str(uri)` prints.
//!
//! One deviation: Python ports are unbounded integers; here they are `i64`, and a port that
//! does not fit is refused with [`UriError::PortOutOfRange`].
//!
//! # Example
//! ```
//! use pyro5_core::uri::{Location, Protocol, Uri};
//!
//! let uri = Uri::parse("PYRO:obj_42@[::1]:9999")?;
//! assert_eq!(uri.protocol(), Protocol::Pyro);
//! assert_eq!(uri.object(), "obj_42");
//! assert_eq!(uri.location(), Some(Location::Tcp { host: "::1", port: 9999 }));
//! assert_eq!(uri.to_string(), "PYRO:obj_42@[::1]:9999");
//!
//! // Name server lookups: the port defaults to the name server's.
//! let name = Uri::parse("pyroname:lab.thermometer@nshost")?;
//! assert_eq!(name.to_string(), "PYRONAME:lab.thermometer@nshost:9090");
//!
//! // Errors print Python's text.
//! let err = Uri::parse("PYRO:obj@host").unwrap_err();
//! assert_eq!(err.to_string(), "invalid port in uri, port=None");
//! # Ok::<(), pyro5_core::uri::UriError>(())
//! ```
#![deny(clippy::indexing_slicing)]

use core::fmt::{self, Write as _};
use core::iter::FusedIterator;

/// The name server's default port (Pyro's `NS_PORT` setting), the port [`Uri::parse`] gives
/// `PYRONAME` and `PYROMETA` URIs whose location has none.
pub const NS_PORT: i64 = 9090;

/// A parsed Pyro URI, borrowing its text.
///
/// Equality follows Python's `URI.__eq__`: protocol, object, host, port and socket name;
/// `PYROMETA` objects compare as sets of tags.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Uri<'a> {
    protocol: Protocol,
    /// The object id, name, or (`PYROMETA`) the comma-separated tags, as written.
    object: &'a str,
    /// As parsed: a `Tcp` host may be empty (`PYRO:obj@:9999`), which Python keeps but does
    /// not print.
    location: Option<Location<'a>>,
}

impl<'a> Uri<'a> {
    /// Parse `text` as Python's `Pyro5.core.URI(text)` does, with the default name server
    /// port [`NS_PORT`] for `PYRONAME` and `PYROMETA` locations without a port.
    ///
    /// # Errors
    /// Whatever Python refuses, as the [`UriError`] that prints Python's message; and ports
    /// outside `i64` ([`UriError::PortOutOfRange`]), which Python accepts.
    pub fn parse(text: &'a str) -> Result<Self, UriError> {
        Self::parse_with_ns_port(text, NS_PORT)
    }

    /// [`parse`](Self::parse) with another default port for `PYRONAME` and `PYROMETA`
    /// locations (Python's `NS_PORT` setting). `PYRO` URIs never get a default port.
    ///
    /// # Errors
    /// As [`parse`](Self::parse).
    pub fn parse_with_ns_port(text: &'a str, ns_port: i64) -> Result<Self, UriError> {
        let (name, rest) = split_protocol(text).ok_or(UriError::Invalid)?;
        let (object, location) = split_object(rest).ok_or(UriError::Invalid)?;
        let protocol = Protocol::from_name(name).ok_or(UriError::UnknownProtocol)?;
        let default_port = match protocol {
            Protocol::Pyro if location.is_none() => return Err(UriError::Invalid),
            Protocol::Pyro => None,
            Protocol::PyroName | Protocol::PyroMeta => Some(ns_port),
        };
        let location = match location {
            Some(text) => Some(parse_location(text, default_port)?),
            None => None,
        };
        Ok(Self { protocol, object, location })
    }

    /// A URI from its parts, for printing. Nothing is checked: it prints as Python would
    /// print a URI with this state, but text only parses back to the same URI when `object`
    /// is non-empty, free of whitespace and (with a location) of `@`, a `Tcp` host is
    /// neither empty nor `./u` (which prints as a Unix socket location), no `PYROMETA` tag is
    /// empty, and a `PYRO` URI has a location.
    pub const fn new(protocol: Protocol, object: &'a str, location: Option<Location<'a>>) -> Self {
        Self { protocol, object, location }
    }

    /// `PYRO:object@host:port`; an IPv6 `host` is given without brackets. See [`new`](Self::new)
    /// for what makes the text parse back.
    pub const fn new_pyro(object: &'a str, host: &'a str, port: i64) -> Self {
        Self::new(Protocol::Pyro, object, Some(Location::Tcp { host, port }))
    }

    /// `PYRO:object@./u:socket`, an object behind a Unix domain socket. See
    /// [`new`](Self::new) for what makes the text parse back.
    pub const fn new_unix(object: &'a str, socket: &'a str) -> Self {
        Self::new(Protocol::Pyro, object, Some(Location::Unix { socket }))
    }

    /// The protocol (Python's `uri.protocol`).
    pub const fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The object id (`PYRO`), the name (`PYRONAME`), or the tags as written (`PYROMETA`;
    /// see [`meta_tags`](Self::meta_tags) for the set Python keeps).
    pub const fn object(&self) -> &'a str {
        self.object
    }

    /// Unique tags of a `PYROMETA` URI in order of first appearance, each stripped of
    /// whitespace; `None` for the other protocols. Python keeps them as a set.
    pub fn meta_tags(&self) -> Option<MetaTags<'a>> {
        match self.protocol {
            Protocol::PyroMeta => Some(MetaTags::new(self.object)),
            Protocol::Pyro | Protocol::PyroName => None,
        }
    }

    /// The TCP host (Python's `uri.host`), IPv6 addresses without brackets. `Some("")` for
    /// `PYRO:obj@:9999`, which has a port but prints no location.
    pub fn host(&self) -> Option<&'a str> {
        match self.location {
            Some(Location::Tcp { host, .. }) => Some(host),
            _ => None,
        }
    }

    /// The TCP port (Python's `uri.port`).
    pub fn port(&self) -> Option<i64> {
        match self.location {
            Some(Location::Tcp { port, .. }) => Some(port),
            _ => None,
        }
    }

    /// The Unix domain socket name (Python's `uri.sockname`).
    pub fn sockname(&self) -> Option<&'a str> {
        match self.location {
            Some(Location::Unix { socket }) => Some(socket),
            _ => None,
        }
    }

    /// Where the object lives (Python's `uri.location`): `None` without a location and for an
    /// empty host, as Python does.
    pub fn location(&self) -> Option<Location<'a>> {
        match self.location {
            Some(Location::Tcp { host: "", .. }) => None,
            other => other,
        }
    }

    /// Whether the printed form parses back to this URI. Python prints a few URIs as text
    /// that means something else: an empty host (`PYRO:obj@:9999` prints `PYRO:obj`), the
    /// host `./u` (its default port turns it into a Unix socket name), and a `PYROMETA` whose
    /// only tag is empty.
    pub fn round_trips(&self) -> bool {
        !(matches!(self.host(), Some("" | "./u")) || self.meta_tags().is_some_and(|mut t| t.all(str::is_empty)))
    }
}

impl PartialEq for Uri<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.protocol == other.protocol
            && self.location == other.location
            && match self.protocol {
                Protocol::PyroMeta => same_tags(self.object, other.object),
                Protocol::Pyro | Protocol::PyroName => self.object == other.object,
            }
    }
}

impl Eq for Uri<'_> {}

impl<'a> TryFrom<&'a str> for Uri<'a> {
    type Error = UriError;

    fn try_from(text: &'a str) -> Result<Self, UriError> {
        Self::parse(text)
    }
}

/// Python's `str(uri)`. `PYROMETA` tags come in order of first appearance (Python prints its
/// set's order).
impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.protocol.as_str())?;
        f.write_char(':')?;
        match self.meta_tags() {
            Some(tags) => {
                for (i, tag) in tags.enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    f.write_str(tag)?;
                }
            }
            None => f.write_str(self.object)?,
        }
        if let Some(location) = self.location() {
            write!(f, "@{location}")?;
        }
        Ok(())
    }
}

/// The URI scheme.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Protocol {
    /// `PYRO:objectid@location`: an object at a known location.
    Pyro,
    /// `PYRONAME:name[@nameserver]`: an object registered in a name server.
    #[doc(alias = "PYRONAME")]
    PyroName,
    /// `PYROMETA:tag,tag[@nameserver]`: objects registered with metadata tags.
    #[doc(alias = "PYROMETA")]
    PyroMeta,
}

impl Protocol {
    /// The upper-case name Pyro writes: `"PYRO"`, `"PYRONAME"` or `"PYROMETA"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pyro => "PYRO",
            Self::PyroName => "PYRONAME",
            Self::PyroMeta => "PYROMETA",
        }
    }

    /// The protocol named `name`, in any ASCII case.
    fn from_name(name: &str) -> Option<Self> {
        [Self::Pyro, Self::PyroName, Self::PyroMeta].into_iter().find(|p| p.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an object is reached.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Location<'a> {
    /// A TCP host (name, IPv4 or IPv6 address without brackets) and port. The port is
    /// whatever the URI said: Python does no range check.
    Tcp {
        /// Host name or address.
        host: &'a str,
        /// Port number.
        port: i64,
    },
    /// A Unix domain socket, `./u:socket`.
    Unix {
        /// Socket path or name: non-empty, without `:` when parsed.
        socket: &'a str,
    },
}

/// Python's location text: `host:port`, `[host]:port` when the host contains `:`, or
/// `./u:socket`. (An empty host prints `:port`; [`Uri`] prints no location for it.)
impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Self::Tcp { host, port } => write!(f, "{host}:{port}"),
            Self::Unix { socket } => write!(f, "{UNIX_PREFIX}{socket}"),
        }
    }
}

/// The unique tags of a `PYROMETA` object, from [`Uri::meta_tags`].
///
/// Each comma-separated item is stripped of whitespace (Python's `str.strip()`); items seen
/// before are skipped. Empty tags are tags (`PYROMETA:a,,b` has `""`, `"a"` and `"b"`).
#[derive(Clone, Debug)]
pub struct MetaTags<'a> {
    /// The whole object text.
    text: &'a str,
    /// The items not yet returned, a suffix of `text`; `None` after the last one.
    rest: Option<&'a str>,
}

impl<'a> MetaTags<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, rest: Some(text) }
    }
}

impl<'a> Iterator for MetaTags<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            let rest = self.rest?;
            let (item, tail) = match rest.split_once(',') {
                Some((item, tail)) => (item, Some(tail)),
                None => (rest, None),
            };
            self.rest = tail;
            let tag = py_strip(item);
            // The items before this one: the text before the comma that precedes it.
            let seen = self.text.len().saturating_sub(rest.len());
            let repeated = seen > 0
                && self
                    .text
                    .get(..seen.saturating_sub(1))
                    .is_some_and(|earlier| earlier.split(',').any(|t| py_strip(t) == tag));
            if !repeated {
                return Some(tag);
            }
        }
    }
}

impl FusedIterator for MetaTags<'_> {}

/// Why a text is not a Pyro URI. `Display` prints Python's message (Pyro raises them all as
/// `Pyro5.errors.PyroError`).
#[derive(Clone, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum UriError {
    /// Not `PYRO…:object[@location]` at all, whitespace in the object, or a `PYRO` URI
    /// without location: `invalid uri`.
    Invalid,
    /// A `PYRO…` protocol other than `PYRO`, `PYRONAME`, `PYROMETA`:
    /// `invalid uri (protocol)`.
    UnknownProtocol,
    /// `./u:` with an empty socket name or one containing `:`: `invalid uri (location)`.
    InvalidLocation,
    /// The location starts with `[[`: `invalid ipv6 address: enclosed in too many brackets`.
    TooManyBrackets,
    /// `[` not followed by hex digits, `:` or `%` and then `]`:
    /// `invalid ipv6 address: the part between brackets must be a numeric ipv6 address`.
    NotNumericIpv6,
    /// The port is missing (`PYRO` has no default) or not an integer to Python's `int()`:
    /// `invalid port in uri, port=<text>`, or `port=None` when missing.
    InvalidPort {
        /// The port text, `None` when there was none.
        port: Option<PortText>,
    },
    /// The port is an integer but not an `i64`. Python accepts it (its ints are unbounded);
    /// this is pyro5-rs's one deviation.
    PortOutOfRange {
        /// The port text.
        port: PortText,
    },
}

impl UriError {
    /// The Python exception class Pyro raises for this error.
    pub fn pyro_class(&self) -> &'static str {
        "Pyro5.errors.PyroError"
    }
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid => f.write_str("invalid uri"),
            Self::UnknownProtocol => f.write_str("invalid uri (protocol)"),
            Self::InvalidLocation => f.write_str("invalid uri (location)"),
            Self::TooManyBrackets => f.write_str("invalid ipv6 address: enclosed in too many brackets"),
            Self::NotNumericIpv6 => {
                f.write_str("invalid ipv6 address: the part between brackets must be a numeric ipv6 address")
            }
            Self::InvalidPort { port: None } => f.write_str("invalid port in uri, port=None"),
            Self::InvalidPort { port: Some(port) } => write!(f, "invalid port in uri, port={port}"),
            Self::PortOutOfRange { port } => {
                write!(f, "port in uri does not fit in a 64-bit signed integer, port={port}")
            }
        }
    }
}

impl core::error::Error for UriError {}

/// The text of a refused port, kept without allocating: at most
/// [`CAPACITY`](Self::CAPACITY) bytes, cut at a character boundary.
///
/// `Display` prints the text, followed by `...` when it was cut (Python prints it whole).
#[derive(Clone, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PortText {
    text: heapless::String<{ PortText::CAPACITY }>,
    truncated: bool,
}

impl PortText {
    /// How many bytes of the port text are kept.
    pub const CAPACITY: usize = 48;

    fn new(port: &str) -> Self {
        let mut text = heapless::String::new();
        let mut truncated = false;
        for c in port.chars() {
            if text.push(c).is_err() {
                truncated = true;
                break;
            }
        }
        Self { text, truncated }
    }

    /// The port text as written, or its first bytes when [`is_truncated`](Self::is_truncated).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the text was longer than [`CAPACITY`](Self::CAPACITY) and was cut.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Display for PortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        if self.truncated {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// `PYRO` + ASCII letters, then `:`. Returns the protocol name and the text after the colon.
fn split_protocol(text: &str) -> Option<(&str, &str)> {
    let (pyro, after) = text.split_at_checked(4)?;
    if !pyro.eq_ignore_ascii_case("pyro") {
        return None;
    }
    let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
    let (name, rest) = text.split_at_checked(letters.checked_add(4)?)?;
    Some((name, rest.strip_prefix(':')?))
}

/// The object and location after `PROTO:`, as the regex `(\S+?)(@(.+))?$` matches them.
fn split_object(rest: &str) -> Option<(&str, Option<&str>)> {
    // `$` matches at the end or before a final "\n"; neither part can hold a "\n".
    let body = rest.strip_suffix('\n').unwrap_or(rest);
    if body.contains('\n') {
        return None;
    }
    // Shortest object: stop at the first "@" that has something after it.
    for (i, c) in body.char_indices() {
        if c == '@' && i > 0 {
            let (object, at_location) = body.split_at_checked(i)?;
            match at_location.strip_prefix('@') {
                Some(location) if !location.is_empty() => return Some((object, Some(location))),
                _ => {}
            }
        }
        if is_py_space(c) {
            return None;
        }
    }
    (!body.is_empty()).then_some((body, None))
}

/// The location after `@`; `default_port` stands in for a missing or empty port.
fn parse_location(location: &str, default_port: Option<i64>) -> Result<Location<'_>, UriError> {
    if let Some(socket) = location.strip_prefix(UNIX_PREFIX) {
        if socket.is_empty() || socket.contains(':') {
            return Err(UriError::InvalidLocation);
        }
        return Ok(Location::Unix { socket });
    }
    let (host, port_text) = if location.starts_with("[[") {
        return Err(UriError::TooManyBrackets);
    } else if let Some(inside) = location.strip_prefix('[') {
        split_ipv6(inside)?
    } else {
        match location.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (location, None),
        }
    };
    let port = match port_text.filter(|text| !text.is_empty()) {
        None => default_port.ok_or(UriError::InvalidPort { port: None })?,
        Some(text) => py_int(text).map_err(|e| match e {
            IntError::Invalid => UriError::InvalidPort { port: Some(PortText::new(text)) },
            IntError::OutOfRange => UriError::PortOutOfRange { port: PortText::new(text) },
        })?,
    };
    Ok(Location::Tcp { host, port })
}

/// After `[`: `([0-9a-fA-F:%]+)](:(\d+))?`, anything after it ignored. Returns the address
/// and the port digits, if any.
fn split_ipv6(inside: &str) -> Result<(&str, Option<&str>), UriError> {
    let len = inside.bytes().take_while(|b| b.is_ascii_hexdigit() || *b == b':' || *b == b'%').count();
    let (host, after) = inside.split_at_checked(len).ok_or(UriError::NotNumericIpv6)?;
    let after = after.strip_prefix(']').ok_or(UriError::NotNumericIpv6)?;
    if host.is_empty() {
        return Err(UriError::NotNumericIpv6);
    }
    let port = after.strip_prefix(':').and_then(|digits| {
        let len = digits.chars().take_while(|c| decimal_value(*c).is_some()).map(char::len_utf8).sum();
        digits.get(..len).filter(|d| !d.is_empty())
    });
    Ok((host, port))
}

/// Why [`py_int`] refused a text.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum IntError {
    /// Python's `int()` raises `ValueError`.
    Invalid,
    /// Python's `int()` accepts it, but it is not an `i64`.
    OutOfRange,
}

/// Python 3.11's `int(text)` for a `str`, limited to `i64`.
///
/// Python maps each character below U+007F to itself, other whitespace to a space and other
/// decimal digits to their ASCII digit (anything else is an error), then reads: ASCII
/// whitespace (`\t\n\v\f\r `, not U+001C..U+001F), an optional sign, digits with single `_`
/// between them, ASCII whitespace.
fn py_int(text: &str) -> Result<i64, IntError> {
    #[derive(Clone, Copy)]
    enum State {
        Leading,
        Sign,
        Digits { after_underscore: bool },
        Trailing,
    }
    let mut state = State::Leading;
    let mut negative = false;
    let mut magnitude: Option<u64> = Some(0);
    let mut digits = 0usize;
    for c in text.chars() {
        let byte = match u8::try_from(c) {
            Ok(b) if b < 0x7f => b,
            _ if c.is_whitespace() => b' ',
            _ => match decimal_value(c) {
                Some(d) => b'0'.saturating_add(d),
                None => return Err(IntError::Invalid),
            },
        };
        let space = matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
        state = match (state, byte) {
            (State::Leading, _) if space => State::Leading,
            (State::Leading, b'+') => State::Sign,
            (State::Leading, b'-') => {
                negative = true;
                State::Sign
            }
            (State::Leading | State::Sign | State::Digits { .. }, b'0'..=b'9') => {
                digits = digits.saturating_add(1);
                magnitude = magnitude
                    .and_then(|m| m.checked_mul(10))
                    .and_then(|m| m.checked_add(u64::from(byte.saturating_sub(b'0'))));
                State::Digits { after_underscore: false }
            }
            (State::Digits { after_underscore: false }, b'_') => State::Digits { after_underscore: true },
            (State::Digits { after_underscore: false } | State::Trailing, _) if space => State::Trailing,
            _ => return Err(IntError::Invalid),
        };
    }
    if !matches!(state, State::Digits { after_underscore: false } | State::Trailing) || digits > INT_MAX_STR_DIGITS {
        return Err(IntError::Invalid);
    }
    let magnitude = magnitude.ok_or(IntError::OutOfRange)?;
    let value = if negative { 0i64.checked_sub_unsigned(magnitude) } else { i64::try_from(magnitude).ok() };
    value.ok_or(IntError::OutOfRange)
}

/// Python's `str.isspace()`: Unicode White_Space plus the separators U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` without arguments.
fn py_strip(text: &str) -> &str {
    text.trim_matches(is_py_space)
}

/// Whether two `PYROMETA` objects hold the same set of tags.
fn same_tags(a: &str, b: &str) -> bool {
    MetaTags::new(a).all(|t| MetaTags::new(b).any(|u| u == t))
        && MetaTags::new(b).all(|t| MetaTags::new(a).any(|u| u == t))
}

/// The value of a Unicode decimal digit (general category Nd), as Python's `\d` and `int()`
/// know them.
fn decimal_value(c: char) -> Option<u8> {
    let code = u32::from(c);
    let run = ND_ZEROS.partition_point(|&zero| zero <= code).checked_sub(1)?;
    let offset = code.checked_sub(*ND_ZEROS.get(run)?)?;
    u8::try_from(offset).ok().filter(|d| *d < 10)
}

/// Location prefix of a Unix domain socket.
const UNIX_PREFIX: &str = "./u:";

/// Python's default limit on the digits `int()` converts (`sys.get_int_max_str_digits()`);
/// longer port texts are refused, even with leading zeros.
const INT_MAX_STR_DIGITS: usize = 4300;

/// Code points of the digit zero of every run of ten Unicode decimal digits (category Nd),
/// ascending. Unicode 14.0.0, as in CPython 3.11 (the pinned interpreter, 3.11.7). Generated
/// with
/// `python -c "import unicodedata,sys; print([hex(c) for c in range(sys.maxunicode+1) if unicodedata.category(chr(c))=='Nd' and unicodedata.decimal(chr(c))==0])"`,
/// after checking that every Nd character is such a zero plus 0..=9 with that decimal
/// value, and that no other character has a decimal value.
const ND_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50, 0xed0,
    0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620,
    0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0,
    0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60,
    0x16ac0, 0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::string::{String, ToString};
    use std::vec::Vec;

    fn parse(text: &str) -> Result<Uri<'_>, UriError> {
        Uri::parse(text)
    }

    fn err(text: &str) -> String {
        parse(text).err().map(|e| e.to_string()).unwrap_or_else(|| panic!("{text:?} was accepted"))
    }

    /// protocol, object, host, port, sockname, location, str
    type Fields<'a> = (&'a str, &'a str, Option<&'a str>, Option<i64>, Option<&'a str>, Option<String>, String);

    fn fields(text: &str) -> Fields<'_> {
        let uri = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        (
            uri.protocol().as_str(),
            uri.object(),
            uri.host(),
            uri.port(),
            uri.sockname(),
            uri.location().map(|l| l.to_string()),
            uri.to_string(),
        )
    }

    fn tcp<'a>(proto: &'a str, object: &'a str, host: &'a str, port: i64, location: &str, text: &str) -> Fields<'a> {
        (proto, object, Some(host), Some(port), None, Some(location.to_string()), text.to_string())
    }

    fn tags(uri: &Uri<'_>) -> Vec<String> {
        let mut tags: Vec<String> = uri.meta_tags().expect("PYROMETA").map(String::from).collect();
        tags.sort();
        tags
    }

    #[test]
    fn spec_table_accepted_rows_match_python() {
        let pyro = |o, h, p: i64, loc: &str, s: &str| tcp("PYRO", o, h, p, loc, s);
        assert_eq!(
            fields("PYRO:objectid@localhost:9999"),
            pyro("objectid", "localhost", 9999, "localhost:9999", "PYRO:objectid@localhost:9999")
        );
        assert_eq!(
            fields("pyro:objectid@localhost:9999"),
            pyro("objectid", "localhost", 9999, "localhost:9999", "PYRO:objectid@localhost:9999")
        );
        assert_eq!(fields("PYRO:obj@127.0.0.1:0"), pyro("obj", "127.0.0.1", 0, "127.0.0.1:0", "PYRO:obj@127.0.0.1:0"));
        assert_eq!(fields("PYRO:obj@:9999"), ("PYRO", "obj", Some(""), Some(9999), None, None, "PYRO:obj".to_string()));
        assert_eq!(fields("PYRO:obj@host:99999"), pyro("obj", "host", 99999, "host:99999", "PYRO:obj@host:99999"));
        assert_eq!(fields("PYRO:obj@host:-1"), pyro("obj", "host", -1, "host:-1", "PYRO:obj@host:-1"));
        assert_eq!(fields("PYRO:obj@host: 12"), pyro("obj", "host", 12, "host:12", "PYRO:obj@host:12"));
        assert_eq!(fields("PYRO:obj@host:12 "), pyro("obj", "host", 12, "host:12", "PYRO:obj@host:12"));
        assert_eq!(fields("PYRO:obj@@host:1"), pyro("obj", "@host", 1, "@host:1", "PYRO:obj@@host:1"));
        assert_eq!(fields("PYRO:a@b@host:1"), pyro("a", "b@host", 1, "b@host:1", "PYRO:a@b@host:1"));
        assert_eq!(fields("PYRO:obj:colon@host:1"), pyro("obj:colon", "host", 1, "host:1", "PYRO:obj:colon@host:1"));
        assert_eq!(fields("PYRO:obj@[::1]:9999"), pyro("obj", "::1", 9999, "[::1]:9999", "PYRO:obj@[::1]:9999"));
        assert_eq!(fields("PYRO:obj@[::1]:99x"), pyro("obj", "::1", 99, "[::1]:99", "PYRO:obj@[::1]:99"));
        assert_eq!(
            fields("PYRO:obj@[fe80::1%1]:5"),
            pyro("obj", "fe80::1%1", 5, "[fe80::1%1]:5", "PYRO:obj@[fe80::1%1]:5")
        );
        assert_eq!(
            fields("PYRO:obj@./u:/tmp/sock"),
            (
                "PYRO",
                "obj",
                None,
                None,
                Some("/tmp/sock"),
                Some("./u:/tmp/sock".to_string()),
                "PYRO:obj@./u:/tmp/sock".to_string()
            )
        );
        assert_eq!(
            fields("PYRONAME:some.name"),
            ("PYRONAME", "some.name", None, None, None, None, "PYRONAME:some.name".to_string())
        );
        assert_eq!(
            fields("PYRONAME:some.name@nshost"),
            tcp("PYRONAME", "some.name", "nshost", 9090, "nshost:9090", "PYRONAME:some.name@nshost:9090")
        );
        assert_eq!(
            fields("pyroname:x@[::1]"),
            tcp("PYRONAME", "x", "::1", 9090, "[::1]:9090", "PYRONAME:x@[::1]:9090")
        );
        assert_eq!(parse("PYRONAME:some.name@./u:/tmp/ns").ok().and_then(|u| u.sockname()), Some("/tmp/ns"));
        assert_eq!(fields("PYRO:obj@host:1\n"), pyro("obj", "host", 1, "host:1", "PYRO:obj@host:1"));
        assert_eq!(fields("PYRO:éè@höst:1"), pyro("éè", "höst", 1, "höst:1", "PYRO:éè@höst:1"));
    }

    #[test]
    fn spec_table_rejected_rows_print_pythons_message() {
        let none = "invalid port in uri, port=None";
        let numeric = "invalid ipv6 address: the part between brackets must be a numeric ipv6 address";
        for (text, message) in [
            ("PYRO:obj@host", none),
            ("PYRO:obj@host:", none),
            ("PYRO:obj", "invalid uri"),
            ("PYRO:@host:9999", "invalid uri"),
            ("PYRO:obj@host:port", "invalid port in uri, port=port"),
            ("PYRO:o b@host:1", "invalid uri"),
            ("PYRO:obj@host:1:2", "invalid port in uri, port=1:2"),
            ("PYRO:obj@[::1]", none),
            ("PYRO:obj@[::1]:", none),
            ("PYRO:obj@[::1]x", none),
            ("PYRO:obj@[fe80::1%eth0]:9999", numeric),
            ("PYRO:obj@[[::1]]:9999", "invalid ipv6 address: enclosed in too many brackets"),
            ("PYRO:obj@[host]:9999", numeric),
            ("PYRO:obj@::1:9999", "invalid port in uri, port=:1:9999"),
            ("PYRO:obj@./u:", "invalid uri (location)"),
            ("PYRO:obj@./u:a:b", "invalid uri (location)"),
            ("PYROMETA: meta1 , meta2 @nshost:1234", "invalid uri"),
            ("PYROX:obj@host:1", "invalid uri (protocol)"),
            ("PYROLOC:obj@host:1", "invalid uri (protocol)"),
            ("PYR:obj@host:1", "invalid uri"),
            ("XPYRO:obj@host:1", "invalid uri"),
            (" PYRO:obj@host:1", "invalid uri"),
            ("", "invalid uri"),
            ("PYRO:", "invalid uri"),
        ] {
            assert_eq!(err(text), message, "{text:?}");
            assert_eq!(parse(text).err().map(|e| e.pyro_class()), Some("Pyro5.errors.PyroError"));
        }
    }

    #[test]
    fn object_is_the_shortest_run_before_an_at_with_something_after_it() {
        assert_eq!(fields("PYRO:a@b@host:1").1, "a");
        let name = parse("PYRONAME:x@").expect("accepted");
        assert_eq!((name.object(), name.location()), ("x@", None));
        assert_eq!(parse("PYRONAME:x@\n").map(|u| u.object()), Ok("x@"));
        assert_eq!(parse("PYRO:@@h:1").map(|u| (u.object(), u.host())), Ok(("@", Some("h"))));
        assert_eq!(parse("PYROMETA:x@").map(|u| tags(&u)), Ok(std::vec![String::from("x@")]));
    }

    #[test]
    fn dollar_matches_before_one_final_newline_only() {
        assert_eq!(fields("PYRO:obj@host:1\n").2, Some("host"));
        assert_eq!(parse("PYRONAME:obj\n").map(|u| u.object()), Ok("obj"));
        assert_eq!(parse("PYRO:obj@host:1\r\n").map(|u| u.port()), Ok(Some(1)));
        for text in ["PYRO:obj@host:1\n\n", "PYRO:obj@ho\nst:1", "PYRO:obj\n", "\nPYRO:a@h:1", "PYRO:\n"] {
            assert_eq!(err(text), "invalid uri", "{text:?}");
        }
    }

    #[test]
    fn object_whitespace_is_pythons_isspace() {
        for text in ["PYRO:a\u{1c}b@h:1", "PYRO:a\u{a0}b@h:1", "PYRO:o\tb@h:1", "PYRO:a\u{3000}@h:1"] {
            assert_eq!(err(text), "invalid uri", "{text:?}");
        }
        // Not whitespace to Python: a zero-width space and U+180E.
        assert_eq!(parse("PYRO:a\u{200b}b@h:1").map(|u| u.object()), Ok("a\u{200b}b"));
        assert_eq!(parse("PYRO:a\u{180e}b@h:1").map(|u| u.object()), Ok("a\u{180e}b"));
    }

    #[test]
    fn is_py_space_is_exactly_pythons_isspace() {
        // `[c for c in range(sys.maxunicode + 1) if chr(c).isspace()]` on the pinned Python.
        let python = [
            0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
            0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
        ];
        let ours: Vec<u32> =
            (0..=0x10ffff).filter_map(char::from_u32).filter(|c| is_py_space(*c)).map(u32::from).collect();
        assert_eq!(ours, python);
    }

    #[test]
    fn port_goes_through_pythons_int() {
        for (port, value) in [
            ("01", 1),
            ("+5", 5),
            ("-0", 0),
            ("1_000", 1000),
            ("1_0_0", 100),
            ("0_1", 1),
            ("\u{661}\u{662}", 12),
            ("\u{ff11}\u{ff12}", 12),
            ("\u{1d7cf}\u{1d7d0}", 12),
            (" 12", 12),
            ("\t12\t", 12),
            ("\u{b}12\u{c}", 12),
            ("12\r", 12),
            ("\u{a0}12\u{a0}", 12),
            ("\u{85}12", 12),
            ("\u{3000}\u{661}\u{3000}", 1),
            ("\u{2007} 5", 5),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
        ] {
            let text = std::format!("PYRO:obj@host:{port}");
            assert_eq!(parse(&text).map(|u| u.port()), Ok(Some(value)), "{text:?}");
        }
        for port in [
            "\u{1c}12",
            "12\u{1c}",
            "12\u{1f}",
            "_1",
            "1_",
            "1__0",
            "+_1",
            "- 1",
            "+",
            "-",
            " ",
            "1 2",
            "12\0",
            "\u{660}x",
            "\u{ff0b}12",
            "\u{180e}5",
            "\u{200b}5",
            "\u{7f}5",
            "None",
            "0x10",
            "1.0",
            "1e3",
        ] {
            let text = std::format!("PYRO:obj@host:{port}");
            assert_eq!(err(&text), std::format!("invalid port in uri, port={port}"), "{text:?}");
        }
    }

    #[test]
    fn ports_beyond_i64_are_the_one_deviation() {
        for port in ["9223372036854775808", "-9223372036854775809", "99999999999999999999"] {
            let text = std::format!("PYRO:obj@host:{port}");
            match parse(&text) {
                Err(UriError::PortOutOfRange { port: p }) => assert_eq!(p.as_str(), port),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        // A syntax error wins over the size.
        assert!(matches!(parse("PYRO:obj@host:99999999999999999999x"), Err(UriError::InvalidPort { .. })));
    }

    #[test]
    fn int_refuses_more_than_4300_digits_even_leading_zeros() {
        let ok = std::format!("PYRO:obj@host:{}1", "0".repeat(4299));
        assert_eq!(parse(&ok).map(|u| u.port()), Ok(Some(1)));
        let long = std::format!("PYRO:obj@host:{}1", "0".repeat(4300));
        match parse(&long) {
            Err(UriError::InvalidPort { port: Some(p) }) => {
                assert!(p.is_truncated());
                assert_eq!(p.as_str(), "0".repeat(PortText::CAPACITY));
                assert_eq!(
                    parse(&long).err().map(|e| e.to_string()),
                    Some(std::format!("invalid port in uri, port={}...", "0".repeat(48)))
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn long_port_text_is_cut_at_a_char_boundary() {
        let port = "é".repeat(30); // 60 bytes
        let text = std::format!("PYRO:obj@host:{port}");
        match parse(&text) {
            Err(UriError::InvalidPort { port: Some(p) }) => {
                assert_eq!(p.as_str(), "é".repeat(24));
                assert!(p.is_truncated());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ipv6_location_rules() {
        assert_eq!(fields("PYRO:obj@[::1]:99x").3, Some(99));
        assert_eq!(fields("PYRO:obj@[fe80::1%1]:9999junk").2, Some("fe80::1%1"));
        assert_eq!(parse("PYRO:obj@[::1]:\u{661}").map(|u| u.port()), Ok(Some(1)));
        assert_eq!(parse("PYRO:obj@[::1]:\u{661}\u{662}x").map(|u| u.port()), Ok(Some(12)));
        assert_eq!(parse("PYRONAME:x@[::1]:\u{ff11}").map(|u| u.port()), Ok(Some(1)));
        assert_eq!(parse("PYRONAME:x@[::1]:").map(|u| u.port()), Ok(Some(9090)));
        // `\d+` does not take a sign, so the port is missing.
        assert_eq!(err("PYRO:obj@[::1]:-1"), "invalid port in uri, port=None");
        assert_eq!(err("PYRO:obj@[fe80::1%eth0]"), UriError::NotNumericIpv6.to_string());
        for text in ["PYRONAME:x@[abc", "PYRONAME:x@[", "PYRO:obj@[]:1"] {
            assert_eq!(parse(text).err(), Some(UriError::NotNumericIpv6), "{text:?}");
        }
        // A bracketed host without ":" prints without brackets, and still parses back.
        let uri = parse("PYRO:obj@[ab]:5").expect("accepted");
        assert_eq!(uri.to_string(), "PYRO:obj@ab:5");
        assert_eq!(parse("PYRO:obj@ab:5"), Ok(uri));
    }

    #[test]
    fn location_forms() {
        assert_eq!(parse("PYRO:obj@./u:/a b").map(|u| u.sockname()), Ok(Some("/a b")));
        assert_eq!(parse("PYRO:obj@h ost:1").map(|u| u.host()), Ok(Some("h ost")));
        assert_eq!(err("PYRO:obj@./u"), "invalid port in uri, port=None");
        assert_eq!(err("PYRO:obj@:"), "invalid port in uri, port=None");
        assert_eq!(err("PYRONAME:x@./u:a:b"), "invalid uri (location)");
        let empty = parse("PYRONAME:x@:1234").expect("accepted");
        assert_eq!((empty.host(), empty.port(), empty.location()), (Some(""), Some(1234), None));
        assert_eq!(empty.to_string(), "PYRONAME:x");
        assert_eq!(parse("PYRONAME:x@:").map(|u| u.port()), Ok(Some(9090)));
    }

    #[test]
    fn protocol_is_ascii_case_insensitive_and_checked_after_the_match() {
        assert_eq!(parse("PyRo:obj@host:1").map(|u| u.protocol()), Ok(Protocol::Pyro));
        assert_eq!(parse("PYROname:x").map(|u| u.protocol()), Ok(Protocol::PyroName));
        assert_eq!(parse("pYrOmEtA:a").map(|u| u.protocol()), Ok(Protocol::PyroMeta));
        assert_eq!(err("PYRONAMEX:a"), "invalid uri (protocol)");
        assert_eq!(err("PYROX:"), "invalid uri");
        assert_eq!(err("PYRO1:a@h:1"), "invalid uri");
        assert_eq!(err("PYRO :a"), "invalid uri");
        assert_eq!(err("PYRÖ:a@h:1"), "invalid uri");
    }

    #[test]
    fn ns_port_is_configurable_for_name_server_uris_only() {
        assert_eq!(Uri::parse_with_ns_port("PYRONAME:x@ns", 1234).map(|u| u.port()), Ok(Some(1234)));
        assert_eq!(Uri::parse_with_ns_port("PYROMETA:a@ns:", 77).map(|u| u.port()), Ok(Some(77)));
        assert_eq!(Uri::parse_with_ns_port("PYRONAME:x@ns:5", 1234).map(|u| u.port()), Ok(Some(5)));
        assert_eq!(Uri::parse_with_ns_port("PYRO:x@h", 1234).err(), Some(UriError::InvalidPort { port: None }));
    }

    #[test]
    fn meta_tags_are_a_set() {
        let uri = parse("PYROMETA:b,a,b,a,c").expect("accepted");
        assert_eq!(uri.meta_tags().map(|t| t.collect::<Vec<_>>()), Some(std::vec!["b", "a", "c"]));
        assert_eq!(uri.object(), "b,a,b,a,c");
        assert_eq!(uri.to_string(), "PYROMETA:b,a,c");
        assert_eq!(uri, parse("pyrometa:c,a,b").expect("accepted"));
        assert_ne!(uri, parse("PYROMETA:a,b").expect("accepted"));
        assert_eq!(tags(&parse("PYROMETA:a,,b").expect("accepted")), ["", "a", "b"]);
        let empty = parse("PYROMETA:,").expect("accepted");
        assert_eq!(empty.meta_tags().map(|t| t.collect::<Vec<_>>()), Some(std::vec![""]));
        assert_eq!(empty.to_string(), "PYROMETA:");
        assert_eq!(parse("PYROMETA:a,b@nshost").map(|u| u.to_string()), Ok("PYROMETA:a,b@nshost:9090".into()));
        assert!(parse("PYRONAME:a,b").expect("accepted").meta_tags().is_none());
        // Whitespace cannot reach a parsed tag; tags of a constructed URI are stripped.
        let made = Uri::new(Protocol::PyroMeta, " x ,\u{1c}y,x", None);
        assert_eq!(made.meta_tags().map(|t| t.collect::<Vec<_>>()), Some(std::vec!["x", "y"]));
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "PYRO:objectid@localhost:9999",
            "PYRO:obj@[::1]:9999",
            "PYRO:obj@[fe80::1%1]:5",
            "PYRO:obj@./u:/tmp/sock",
            "PYRO:a@b@host:1",
            "PYRO:obj@@host:1",
            "PYRO:obj@host:-1",
            "PYRONAME:some.name",
            "PYRONAME:x@",
            "PYRONAME:x@[::1]:9090",
            "PYROMETA:a,b@nshost:9090",
            "PYRO:éè@höst:1",
        ] {
            let uri = parse(text).expect("accepted");
            let printed = uri.to_string();
            assert_eq!(printed, text);
            assert_eq!(parse(&printed), Ok(uri));
        }
        // Normalised on the way: case, default port, whitespace, digits.
        for (text, printed) in [
            ("pyroname:x@ns", "PYRONAME:x@ns:9090"),
            ("PYRO:obj@host: \u{661}_0 \n", "PYRO:obj@host:10"),
            ("PYRO:obj@[::1]:07x", "PYRO:obj@[::1]:7"),
        ] {
            let uri = parse(text).expect("accepted");
            assert_eq!(uri.to_string(), printed);
            assert_eq!(parse(printed), Ok(uri));
        }
        // Not round-trippable, as in Python: the empty host prints no location; the name
        // server host `./u` gets its default port and prints as a Unix socket location.
        assert_eq!(parse("PYRO:obj@:9999").map(|u| u.to_string()), Ok("PYRO:obj".into()));
        let odd = parse("PYRONAME:o@./u").expect("accepted");
        assert_eq!((odd.host(), odd.port()), (Some("./u"), Some(9090)));
        assert_eq!(odd.to_string(), "PYRONAME:o@./u:9090");
        assert_eq!(parse("PYRONAME:o@./u:9090").map(|u| u.sockname()), Ok(Some("9090")));
    }

    #[test]
    fn constructors_print_like_python() {
        assert_eq!(Uri::new_pyro("obj", "::1", 5).to_string(), "PYRO:obj@[::1]:5");
        assert_eq!(Uri::new_pyro("obj", "localhost", 9999).to_string(), "PYRO:obj@localhost:9999");
        assert_eq!(Uri::new_unix("obj", "/run/x.sock").to_string(), "PYRO:obj@./u:/run/x.sock");
        assert_eq!(Uri::new(Protocol::PyroName, "n", None).to_string(), "PYRONAME:n");
        assert_eq!(Location::Tcp { host: "", port: 1 }.to_string(), ":1");
        assert_eq!(Uri::try_from("PYRO:obj@localhost:9999"), Ok(Uri::new_pyro("obj", "localhost", 9999)));
    }

    // Accepted URIs print as text that parses back to them, except those `Uri::round_trips`
    // names, which (in Python too) print as another URI.
    proptest::proptest! {
        #[test]
        fn printed_uris_parse_back_to_themselves(
            text in concat!(
                r"(PYRO|pyroname|PyroMeta|PYROX|PYR)?:?[a-c@:,.%\u{1c}\u{a0} ]{0,5}",
                r"(@(\./u:?|\[\[?|\[[0-9a-f:%]{1,4}\]?)?)?",
                r"[a-f0-9@:%./u_+, \[\]\t\r\u{1c}\u{a0}\u{661}\u{ff11}-]{0,8}\n?",
            )
        ) {
            if let Ok(uri) = Uri::parse(&text) {
                let printed = uri.to_string();
                let back = Uri::parse(&printed);
                if !uri.round_trips() {
                    proptest::prop_assert_ne!(back, Ok(uri), "{:?} -> {:?}", text, printed);
                } else {
                    proptest::prop_assert_eq!(back, Ok(uri), "{:?} -> {:?}", text, printed);
                }
            }
        }
    }

    #[test]
    fn decimal_digits_table_is_runs_of_ten() {
        assert!(ND_ZEROS.windows(2).all(|w| matches!(w, [a, b] if b - a >= 10)));
        for zero in ND_ZEROS {
            for d in 0..10u8 {
                let c = char::from_u32(zero + u32::from(d)).expect("scalar value");
                assert_eq!(decimal_value(c), Some(d), "{c:?}");
            }
        }
        let count = (0..=0x10ffff).filter_map(char::from_u32).filter(|c| decimal_value(*c).is_some()).count();
        assert_eq!(count, ND_ZEROS.len() * 10);
        assert_eq!(decimal_value('/'), None);
        assert_eq!(decimal_value(':'), None);
        assert_eq!(decimal_value('\u{1fbfa}'), None);
    }

    #[test]
    fn errors_print_pythons_text() {
        assert_eq!(UriError::Invalid.to_string(), "invalid uri");
        assert_eq!(UriError::UnknownProtocol.to_string(), "invalid uri (protocol)");
        assert_eq!(UriError::InvalidLocation.to_string(), "invalid uri (location)");
        assert_eq!(UriError::InvalidPort { port: None }.to_string(), "invalid port in uri, port=None");
        assert_eq!(
            UriError::InvalidPort { port: Some(PortText::new("1:2")) }.to_string(),
            "invalid port in uri, port=1:2"
        );
    }
}
