//! What every name-server client built on `pyro5-std`'s types does, whatever moves its bytes
//! (`docs/name-server.md`, "Locating the name server" and "PYRONAME and PYROMETA"): the
//! blocking client ([`crate::locate`]) and `pyro5-tokio`'s async one share these pieces and
//! only connect, send, receive and wait themselves.
//!
//! - [`attempts`]: where Python's `Pyro5.core.locate_ns` looks for the name server, in its
//!   order, from which configuration items; [`Broadcast`] is the discovery request's part
//!   ([`GET_NSURI`], its destinations, rounds and timeout, [`broadcast_answer`] to read the
//!   reply); [`not_found`] is Pyro's error when nothing answered.
//! - [`Resolution`]: what resolving a `PYRONAME:`/`PYROMETA:` URI asks of which name
//!   server (Python's `Pyro5.core.resolve`), including `PYROMETA`'s random choice.
//! - [`Call`]: each remote method of the name server: its name, its arguments, and how its
//!   answer reads (with Pyro's error texts).
//! - [`Retry`]: the pace of Pyro's lookup loop under `NS_LOOKUP_DELAY`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use pyro5_core::ser::value::Value;
use pyro5_core::uri::{Location, Protocol, Uri};

use crate::config::Config;
use crate::proxy::ProxyError;

/// The name server's object id (Pyro's `NAMESERVER_NAME`).
pub const NAMESERVER_NAME: &str = "Pyro.NameServer";
/// The default name server host (Pyro's `NS_HOST`).
pub const NS_HOST: &str = "localhost";
/// The default name server port (Pyro's `NS_PORT`).
pub const NS_PORT: u16 = 9090;
/// The default broadcast discovery port (Pyro's `NS_BCPORT`).
pub const NS_BCPORT: u16 = 9091;
/// The discovery request (`docs/name-server.md`, "Broadcast").
pub const GET_NSURI: &[u8] = b"GET_NSURI";

/// Pyro's error when no name server was found.
const NOT_FOUND: &str = "Failed to locate the nameserver";

/// One place [`attempts`] says to look for the name server.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Attempt {
    /// Connect a proxy to this `PYRO:` URI: the name server, if the connection is made.
    Connect(String),
    /// Ask by UDP broadcast: the answer is the name server's URI, for a proxy not connected
    /// yet (as in Pyro).
    Broadcast(Broadcast),
}

/// A broadcast discovery: [`GET_NSURI`] to each destination, [`ROUNDS`](Self::ROUNDS) times
/// at most, each round waiting [`TIMEOUT`](Self::TIMEOUT) for an answer of at most
/// [`ANSWER_MAX`](Self::ANSWER_MAX) bytes (read with [`broadcast_answer`]). Send errors
/// are ignored: Pyro ignores "address not available/in use", and an unreachable broadcast
/// address is as harmless.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Broadcast {
    /// The UDP port (`NS_BCPORT`, or the port given to `locate_ns`).
    pub port: u16,
    /// The addresses (`BROADCAST_ADDRS`, `<broadcast>` as `255.255.255.255`).
    pub addrs: Vec<String>,
}

impl Broadcast {
    /// How many rounds of requests.
    pub const ROUNDS: u32 = 3;
    /// How long each round waits for an answer.
    pub const TIMEOUT: Duration = Duration::from_millis(700);
    /// The most of an answer read (Pyro's `recvfrom(100)`).
    pub const ANSWER_MAX: usize = 100;

    /// Where each request goes: address and port.
    pub fn targets(&self) -> impl Iterator<Item = (&str, u16)> + '_ {
        self.addrs.iter().map(move |addr| (addr.as_str(), self.port))
    }
}

/// Where to look for the name server, in order, as Python's `locate_ns(host, port)` does:
/// the first [`Attempt`] that gives one wins; when none does, the error is [`not_found`].
///
/// With a `host` (a name, an address, or `./u:socket`): `host:port` (default `NS_PORT`)
/// alone. Without one: `NS_HOST:port` (and `127.0.1.1`) when `NS_HOST` is this machine,
/// then a broadcast to `port` (default `NS_BCPORT`; so `port` is the broadcast port here, as
/// in Pyro) unless `BROADCAST_ADDRS` is empty or `PREFER_IP_VERSION` is 6, then
/// `NS_HOST:NS_PORT`, whatever port was given. Port 0 and an empty host count as not given.
pub fn attempts(config: &Config, host: Option<&str>, port: Option<u16>) -> Vec<Attempt> {
    let port = port.filter(|&p| p != 0);
    if let Some(host) = host.filter(|h| !h.is_empty()) {
        return vec![Attempt::Connect(ns_uri(host, port.unwrap_or(config.ns_port)))];
    }
    let mut found = Vec::new();
    let ns_host = config.ns_host.as_str();
    if ns_host == "localhost" || ns_host == "::1" || ns_host.starts_with("127.") {
        found.push(Attempt::Connect(ns_uri(ns_host, port.unwrap_or(config.ns_port))));
        if !ns_host.contains(':') && ns_host != "127.0.1.1" {
            found.push(Attempt::Connect(ns_uri("127.0.1.1", port.unwrap_or(config.ns_port))));
        }
    }
    if !config.broadcast_addrs.is_empty() && config.prefer_ip_version != 6 {
        let addrs = config
            .broadcast_addrs
            .iter()
            .map(|a| if a == "<broadcast>" { "255.255.255.255".to_string() } else { a.clone() })
            .collect();
        found.push(Attempt::Broadcast(Broadcast { port: port.unwrap_or(config.ns_bcport), addrs }));
    }
    found.push(Attempt::Connect(ns_uri(ns_host, config.ns_port)));
    found
}

/// The text of a broadcast answer (ISO-8859-1: each byte is the code point of its value).
pub fn broadcast_answer(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Pyro's error when no attempt found the name server: `NamingError` "Failed to locate the
/// nameserver".
pub fn not_found() -> ProxyError {
    ProxyError::Naming(NOT_FOUND.to_string())
}

/// `PYRO:Pyro.NameServer@host:port`, or `@./u:socket` for a Unix socket location.
fn ns_uri(host: &str, port: u16) -> String {
    if host.starts_with("./u:") {
        format!("PYRO:{NAMESERVER_NAME}@{host}")
    } else if host.contains(':') {
        format!("PYRO:{NAMESERVER_NAME}@[{host}]:{port}")
    } else {
        format!("PYRO:{NAMESERVER_NAME}@{host}:{port}")
    }
}

/// What resolving a URI takes (Python's `Pyro5.core.resolve`).
#[derive(Debug)]
pub enum Resolution {
    /// A `PYRO:` URI: nothing to ask, this is its text.
    Direct(String),
    /// A `PYRONAME:` or `PYROMETA:` URI: a name server to ask.
    Ask(Lookup),
}

/// Resolving a name: locate the name server at [`host`](Self::host)/[`port`](Self::port)
/// (as [`attempts`] takes them) and make [`call`](Self::call) there, waiting up to
/// `NS_LOOKUP_DELAY` for an answer ([`Retry`]); its answer is the `PYRO:` URI text.
#[derive(Debug)]
pub struct Lookup {
    /// The URI's host (`./u:socket` for a Unix socket), if it has one.
    pub host: Option<String>,
    /// The URI's port, if it has one.
    pub port: Option<u16>,
    /// A `PYRONAME`'s lookup or a `PYROMETA`'s choice.
    pub call: Call<String>,
}

impl Resolution {
    /// What resolving `uri` takes. A `PYRONAME:` is looked up in the name server its
    /// location names (or the one [`attempts`] finds); a `PYROMETA:` picks one of the names
    /// registered with all its tags at random, or fails with a `NamingError` "no
    /// registrations available with desired metadata properties {...}".
    ///
    /// # Errors
    /// [`ProxyError::Uri`] for a bad URI or a port out of range.
    pub fn of(uri: &str) -> Result<Self, ProxyError> {
        let parsed = Uri::parse(uri).map_err(|e| ProxyError::Uri(e.to_string()))?;
        // Python passes `uri.host` and `uri.port`: an empty host (`PYRONAME:x@:1234`) keeps its port.
        let port = match parsed.port() {
            Some(port) => Some(u16::try_from(port).map_err(|_| ProxyError::Uri(format!("{uri}: port out of range")))?),
            None => None,
        };
        let host = match parsed.sockname() {
            Some(socket) => Some(format!("./u:{socket}")),
            None => parsed.host().map(str::to_string),
        };
        if parsed.protocol() == Protocol::Pyro {
            return Ok(Self::Direct(parsed.to_string()));
        }
        let call = match parsed.meta_tags() {
            Some(tags) => Call::choose(tags.map(str::to_string).collect()),
            None => Call::lookup(parsed.object()),
        };
        Ok(Self::Ask(Lookup { host, port, call }))
    }
}

/// How an answer reads.
type Reader<T> = Box<dyn Fn(&Value) -> Result<T, ProxyError> + Send + Sync>;

/// One call of a name server method (`docs/name-server.md`, "Remote methods"): what to send
/// ([`method`](Self::method), [`args`](Self::args), [`kwargs`](Self::kwargs)) and how the
/// answer reads ([`answer`](Self::answer)). URIs come back as text.
pub struct Call<T> {
    /// The method's name.
    pub method: &'static str,
    /// The positional arguments.
    pub args: Vec<Value>,
    /// The keyword arguments.
    pub kwargs: Vec<(String, Value)>,
    read: Reader<T>,
    /// Whether an answer is worth asking again for under a lookup delay.
    wanting: fn(&T) -> bool,
}

impl<T> fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("args", &self.args)
            .field("kwargs", &self.kwargs)
            .finish()
    }
}

/// One entry of a listing: the URI text and the metadata tags (in the order they came).
pub type Listing = BTreeMap<String, (String, Vec<String>)>;

fn kw(name: &str, value: Value) -> (String, Value) {
    (name.to_string(), value)
}

fn text(s: &str) -> Value {
    Value::Str(s.into())
}

impl<T> Call<T> {
    fn new(
        method: &'static str,
        args: Vec<Value>,
        kwargs: Vec<(String, Value)>,
        read: impl Fn(&Value) -> Result<T, ProxyError> + Send + Sync + 'static,
    ) -> Self {
        Self { method, args, kwargs, read: Box::new(read), wanting: |_| false }
    }

    /// What the answer `value` means.
    ///
    /// # Errors
    /// [`ProxyError::Naming`] for an answer of an unexpected shape (or Pyro's own
    /// `NamingError` text, for a `PYROMETA` choice with nothing to choose from).
    pub fn answer(&self, value: &Value) -> Result<T, ProxyError> {
        (self.read)(value)
    }
}

impl Call<()> {
    /// `ping()`.
    pub fn ping() -> Self {
        Self::new("ping", Vec::new(), Vec::new(), |_| Ok(()))
    }

    /// `register(name, uri, safe)`, with `metadata` when given. The name server raises
    /// `NamingError` "name already registered: `name`" when `safe`.
    pub fn register(name: &str, uri: &str, safe: bool, metadata: Option<&[String]>) -> Self {
        let mut kwargs = vec![kw("safe", Value::Bool(safe))];
        if let Some(tags) = metadata {
            kwargs.push(kw("metadata", set_of(tags)));
        }
        Self::new("register", vec![text(name), text(uri)], kwargs, |_| Ok(()))
    }

    /// `set_metadata(name, metadata)`: a `NamingError` for an unknown name.
    pub fn set_metadata(name: &str, metadata: &[String]) -> Self {
        Self::new("set_metadata", vec![text(name), set_of(metadata)], Vec::new(), |_| Ok(()))
    }
}

impl Call<String> {
    /// `lookup(name)`: the URI registered as `name`; a `NamingError` "unknown name: `name`"
    /// when there is none.
    pub fn lookup(name: &str) -> Self {
        Self::new("lookup", vec![text(name)], Vec::new(), |value| {
            uri_text(value).ok_or_else(|| unexpected("lookup", value))
        })
    }

    /// `PYROMETA`'s resolution: `yplookup(meta_all=set(tags), return_metadata=False)` and a
    /// URI picked at random among the answers; a `NamingError` "no registrations available
    /// with desired metadata properties {...}" (tags as Python shows strings) when nothing
    /// has every tag.
    pub fn choose(tags: Vec<String>) -> Self {
        Self::new("yplookup", yplookup_all_args(&tags), Vec::new(), move |value| {
            let found = uri_map(value)?;
            let pick = fastrand::usize(..found.len().max(1));
            found.into_values().nth(pick).ok_or_else(|| {
                let shown: Vec<String> = tags.iter().map(|t| python_str_repr(t)).collect();
                ProxyError::Naming(format!(
                    "no registrations available with desired metadata properties {{{}}}",
                    shown.join(", ")
                ))
            })
        })
    }
}

impl Call<(String, Vec<String>)> {
    /// `lookup(name, return_metadata=True)`: the URI and its metadata.
    pub fn lookup_with_metadata(name: &str) -> Self {
        Self::new("lookup", vec![text(name), Value::Bool(true)], Vec::new(), |value| match value {
            Value::Tuple(items) | Value::List(items) => match items.as_slice() {
                [uri, meta] => Ok((uri_text(uri).ok_or_else(|| unexpected("lookup", value))?, strings(meta))),
                _ => Err(unexpected("lookup", value)),
            },
            _ => Err(unexpected("lookup", value)),
        })
    }
}

impl Call<i64> {
    /// `remove(name)`: how many entries went.
    pub fn remove(name: &str) -> Self {
        Self::new("remove", vec![text(name)], Vec::new(), |value| {
            count(value).ok_or_else(|| unexpected("remove", value))
        })
    }

    /// `remove(regex=pattern)`: how many entries went; a `NamingError` "invalid regex: ..."
    /// for a bad pattern.
    pub fn remove_matching(pattern: &str) -> Self {
        Self::new("remove", Vec::new(), vec![kw("regex", text(pattern))], |value| {
            count(value).ok_or_else(|| unexpected("remove", value))
        })
    }
}

impl Call<Listing> {
    /// `list(prefix=..., return_metadata=True)`, or everything without a prefix.
    pub fn list(prefix: Option<&str>) -> Self {
        let mut kwargs = vec![kw("return_metadata", Value::Bool(true))];
        if let Some(prefix) = prefix {
            kwargs.push(kw("prefix", text(prefix)));
        }
        Self::new("list", Vec::new(), kwargs, |value| listing("list", value))
    }

    /// `list(regex=pattern, return_metadata=True)`; a `NamingError` "invalid regex: ..." for
    /// a bad pattern.
    pub fn list_matching(pattern: &str) -> Self {
        let kwargs = vec![kw("regex", text(pattern)), kw("return_metadata", Value::Bool(true))];
        Self::new("list", Vec::new(), kwargs, |value| listing("list", value))
    }

    /// `yplookup(meta_all=..., meta_any=..., return_metadata=True)`.
    pub fn yplookup(meta_all: Option<&[String]>, meta_any: Option<&[String]>) -> Self {
        let mut kwargs = vec![kw("return_metadata", Value::Bool(true))];
        for (name, tags) in [("meta_all", meta_all), ("meta_any", meta_any)] {
            if let Some(tags) = tags {
                kwargs.push(kw(name, Value::List(tags.iter().map(|t| text(t)).collect())));
            }
        }
        Self::new("yplookup", Vec::new(), kwargs, |value| listing("yplookup", value))
    }
}

impl Call<BTreeMap<String, String>> {
    /// `yplookup(meta_all=set(tags), return_metadata=False)`: name → URI text, as Pyro's
    /// `PYROMETA` resolution asks. Under a lookup delay an empty answer is asked for again.
    pub fn yplookup_all(tags: &[String]) -> Self {
        let mut call = Self::new("yplookup", yplookup_all_args(tags), Vec::new(), uri_map);
        call.wanting = BTreeMap::is_empty;
        call
    }
}

/// The arguments of `yplookup(meta_all=set(tags), meta_any=None, return_metadata=False)`.
fn yplookup_all_args(tags: &[String]) -> Vec<Value> {
    vec![set_of(tags), Value::None, Value::Bool(false)]
}

/// A `yplookup` answer without metadata: name → URI text.
fn uri_map(value: &Value) -> Result<BTreeMap<String, String>, ProxyError> {
    let Value::Dict(entries) = value else { return Err(unexpected("yplookup", value)) };
    entries
        .iter()
        .map(|(k, v)| match (k.as_str(), uri_text(v)) {
            (Some(k), Some(v)) => Ok((k.to_string(), v)),
            _ => Err(unexpected("yplookup", value)),
        })
        .collect()
}

/// The pace of Pyro's lookup loop (`Pyro5.nameserver.lookup`/`yplookup` with
/// `delay_time`): a call is made again while no more than `delay` has passed, after a pause
/// of `max(0.2 s, delay / 5)`, when it failed with a `NamingError` (the name server's, or
/// [`ProxyError::Naming`]) or a timeout, or its answer wants one ([`Call::yplookup_all`]'s
/// empty one); then a last call, whatever it gives. A zero delay is one call.
///
/// The client makes the call and asks [`after`](Self::after) what next.
#[derive(Debug)]
pub struct Retry {
    delay: Duration,
    start: Instant,
    last: bool,
}

impl Retry {
    /// The loop for `delay`, starting now (before the first call).
    pub fn new(delay: Duration) -> Self {
        Self { delay, start: Instant::now(), last: delay.is_zero() }
    }

    /// After `call` gave `outcome`: the pause before calling again, or `None` when
    /// `outcome` is the result.
    pub fn after<T>(&mut self, call: &Call<T>, outcome: &Result<T, ProxyError>) -> Option<Duration> {
        if self.last {
            return None;
        }
        let again = match outcome {
            Ok(found) => (call.wanting)(found),
            Err(e) => is_retried(e),
        };
        if !again {
            return None;
        }
        let pause = (self.delay / 5).max(Duration::from_millis(200));
        // The next call is the last when the delay has passed by the time it is made.
        self.last = self.start.elapsed() + pause > self.delay;
        Some(pause)
    }
}

/// The errors Pyro's lookup loop tries again after: a `NamingError` (raised by the name
/// server, or on this side) and a timeout.
fn is_retried(e: &ProxyError) -> bool {
    match e {
        ProxyError::Remote(remote) => remote.class == pyro5_core::server::NAMING_ERROR,
        ProxyError::Naming(_) | ProxyError::Timeout => true,
        _ => false,
    }
}

/// A URI as the name server sends one: its text, or a `Pyro5.core.URI` dict.
fn uri_text(value: &Value) -> Option<String> {
    if let Some(text) = value.as_str() {
        return Some(text.to_string());
    }
    if value.class_name() != Some("Pyro5.core.URI") {
        return None;
    }
    let (Value::Tuple(state) | Value::List(state)) = value.get("state")? else { return None };
    let [protocol, object, sockname, host, port] = state.as_slice() else { return None };
    let protocol = match protocol.as_str()? {
        "PYRO" => Protocol::Pyro,
        "PYRONAME" => Protocol::PyroName,
        "PYROMETA" => Protocol::PyroMeta,
        _ => return None,
    };
    let object = object.as_str()?;
    let location = match (sockname, host, port) {
        (Value::Str(socket), _, _) => Some(Location::Unix { socket }),
        (_, Value::Str(host), Value::Int(port)) => Some(Location::Tcp { host, port: i64::try_from(*port).ok()? }),
        _ => None,
    };
    Some(Uri::new(protocol, object, location).to_string())
}

/// A `list`/`yplookup` answer with metadata: name → (URI, tags).
fn listing(method: &str, value: &Value) -> Result<Listing, ProxyError> {
    let Value::Dict(entries) = value else { return Err(unexpected(method, value)) };
    let mut out = Listing::new();
    for (name, entry) in entries {
        let (Some(name), Value::Tuple(pair) | Value::List(pair)) = (name.as_str(), entry) else {
            return Err(unexpected(method, value));
        };
        let [uri, meta] = pair.as_slice() else { return Err(unexpected(method, value)) };
        let uri = uri_text(uri).ok_or_else(|| unexpected(method, value))?;
        out.insert(name.to_string(), (uri, strings(meta)));
    }
    Ok(out)
}

/// The strings of a set, list or tuple value.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Set(items) | Value::FrozenSet(items) | Value::List(items) | Value::Tuple(items) => {
            items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
        }
        _ => Vec::new(),
    }
}

fn set_of(tags: &[String]) -> Value {
    Value::Set(tags.iter().map(|t| text(t)).collect())
}

fn count(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => i64::try_from(*n).ok(),
        _ => None,
    }
}

fn unexpected(method: &str, value: &Value) -> ProxyError {
    ProxyError::Naming(format!("unexpected answer from the name server's {method}: {value:?}"))
}

/// A float config value as Python's `float()` reads it: surrounding whitespace, `_`
/// between digits, `inf`/`infinity`/`nan` in any case, with a sign.
pub(crate) fn python_float(text: &str) -> Option<f64> {
    let text = text.trim_matches(|c: char| c.is_whitespace());
    if !text.is_ascii() {
        return None;
    }
    let bytes = text.as_bytes();
    let mut plain = String::with_capacity(text.len());
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'_' {
            let digit = |j: Option<usize>| j.and_then(|j| bytes.get(j)).is_some_and(u8::is_ascii_digit);
            if !digit(i.checked_sub(1)) || !digit(Some(i + 1)) {
                return None;
            }
        } else {
            plain.push(char::from(b));
        }
    }
    plain.parse().ok()
}

/// Python's `repr` of a string: single quotes unless the text holds `'` and no `"`.
pub fn python_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) || c == '\u{ad}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::RemoteError;

    fn naming_remote(text: &str) -> RemoteError {
        RemoteError {
            class: pyro5_core::server::NAMING_ERROR.into(),
            args: vec![Value::Str(text.into())],
            attributes: Vec::new(),
            traceback: Vec::new(),
        }
    }

    fn naming_error(text: &str) -> ProxyError {
        ProxyError::Remote(naming_remote(text))
    }

    fn connect(uri: &str) -> Attempt {
        Attempt::Connect(uri.to_string())
    }

    #[test]
    fn str_repr_matches_python() {
        assert_eq!(python_str_repr("abc"), "'abc'");
        assert_eq!(python_str_repr("it's"), "\"it's\"");
        assert_eq!(python_str_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(python_str_repr("t\tn\n\\é"), "'t\\tn\\n\\\\é'");
    }

    #[test]
    fn floats_read_as_python_reads_them() {
        for (text, want) in [("3", 3.0), (" 2.5\n", 2.5), ("1_0", 10.0), ("-1e1", -10.0), (".5", 0.5), ("+3.", 3.0)] {
            assert_eq!(python_float(text), Some(want), "{text:?}");
        }
        assert_eq!(python_float("Infinity"), Some(f64::INFINITY));
        assert!(python_float("nan").is_some_and(f64::is_nan));
        for bad in ["", "abc", "1__0", "_1", "1_", "1_.5", "3 s", "0x10", "½"] {
            assert_eq!(python_float(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_given_host_is_the_only_attempt() {
        let config = Config::default();
        assert_eq!(attempts(&config, Some("ns.example"), None), [connect("PYRO:Pyro.NameServer@ns.example:9090")]);
        assert_eq!(attempts(&config, Some("::1"), Some(7)), [connect("PYRO:Pyro.NameServer@[::1]:7")]);
        assert_eq!(attempts(&config, Some("./u:/tmp/ns"), Some(7)), [connect("PYRO:Pyro.NameServer@./u:/tmp/ns")]);
        // Port 0 is no port.
        assert_eq!(attempts(&config, Some("h"), Some(0)), [connect("PYRO:Pyro.NameServer@h:9090")]);
    }

    #[test]
    fn without_a_host_pyros_order_local_then_broadcast_then_ns_host() {
        let mut config = Config::default();
        config.set("BROADCAST_ADDRS", "<broadcast>, 10.0.0.255").expect("a valid item");
        let broadcast =
            |port| Attempt::Broadcast(Broadcast { port, addrs: vec!["255.255.255.255".into(), "10.0.0.255".into()] });
        assert_eq!(
            attempts(&config, None, None),
            [
                connect("PYRO:Pyro.NameServer@localhost:9090"),
                connect("PYRO:Pyro.NameServer@127.0.1.1:9090"),
                broadcast(9091),
                connect("PYRO:Pyro.NameServer@localhost:9090"),
            ]
        );
        // A port given is the local tries' and the broadcast's; the last try is NS_PORT's.
        assert_eq!(
            attempts(&config, Some(""), Some(5555)),
            [
                connect("PYRO:Pyro.NameServer@localhost:5555"),
                connect("PYRO:Pyro.NameServer@127.0.1.1:5555"),
                broadcast(5555),
                connect("PYRO:Pyro.NameServer@localhost:9090"),
            ]
        );
        // NS_HOST elsewhere: no local tries; no broadcast addresses or IPv6: no broadcast.
        config.set("NS_HOST", "ns.example").expect("a valid item");
        config.set("NS_PORT", "7000").expect("a valid item");
        config.set("NS_BCPORT", "7001").expect("a valid item");
        assert_eq!(attempts(&config, None, None), [broadcast(7001), connect("PYRO:Pyro.NameServer@ns.example:7000")]);
        config.set("PREFER_IP_VERSION", "6").expect("a valid item");
        assert_eq!(attempts(&config, None, None), [connect("PYRO:Pyro.NameServer@ns.example:7000")]);
        config.set("PREFER_IP_VERSION", "0").expect("a valid item");
        config.broadcast_addrs.clear();
        config.set("NS_HOST", "::1").expect("a valid item");
        assert_eq!(
            attempts(&config, None, None),
            [connect("PYRO:Pyro.NameServer@[::1]:7000"), connect("PYRO:Pyro.NameServer@[::1]:7000")]
        );
    }

    #[test]
    fn a_broadcast_goes_to_each_address_and_its_answer_is_latin1() {
        let request = Broadcast { port: 9091, addrs: vec!["a".into(), "b".into()] };
        assert_eq!(request.targets().collect::<Vec<_>>(), [("a", 9091), ("b", 9091)]);
        assert_eq!(broadcast_answer(b"PYRO:x@h:1\xe9"), "PYRO:x@h:1é");
        assert_eq!(not_found().to_string(), "Failed to locate the nameserver");
    }

    #[test]
    fn resolutions_of_each_protocol() {
        assert!(matches!(Resolution::of("PYRO:obj@h:1"), Ok(Resolution::Direct(t)) if t == "PYRO:obj@h:1"));
        let Ok(Resolution::Ask(Lookup { host, port, call })) = Resolution::of("PYRONAME:a.b@:1234") else { panic!() };
        assert_eq!(
            (host.as_deref(), port, call.method, call.args.as_slice()),
            (Some(""), Some(1234), "lookup", &[Value::Str("a.b".into())][..])
        );
        let Ok(Resolution::Ask(Lookup { host, port, call })) = Resolution::of("PYRONAME:a.b@./u:/tmp/ns") else {
            panic!()
        };
        assert_eq!((host.as_deref(), port, call.method), (Some("./u:/tmp/ns"), None, "lookup"));
        let Ok(Resolution::Ask(Lookup { host, port, call })) = Resolution::of("PYROMETA:t1,t2") else { panic!() };
        assert_eq!((host, port, call.method), (None, None, "yplookup"));
        assert!(matches!(Resolution::of("PYRONAME:x@h:70000"), Err(ProxyError::Uri(_))));
        assert!(matches!(Resolution::of("nothing"), Err(ProxyError::Uri(_))));
    }

    #[test]
    fn a_pyrometa_choice_is_one_of_the_answers_or_pyros_naming_error() {
        let call = Call::choose(vec!["it's".into(), "b".into()]);
        assert_eq!(call.args.len(), 3);
        let found = Value::Dict(vec![
            (Value::Str("one".into()), Value::Str("PYRO:one@h:1".into())),
            (Value::Str("two".into()), Value::Str("PYRO:two@h:2".into())),
        ]);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..100 {
            seen.insert(call.answer(&found).expect("a choice"));
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["PYRO:one@h:1", "PYRO:two@h:2"]);
        match call.answer(&Value::Dict(Vec::new())) {
            Err(ProxyError::Naming(text)) => {
                assert_eq!(text, "no registrations available with desired metadata properties {\"it's\", 'b'}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn calls_send_pyros_arguments_and_read_their_answers() {
        let tags = vec!["t".to_string()];
        let register = Call::register("n", "PYRO:o@h:1", true, Some(&tags));
        assert_eq!((register.method, register.args.len()), ("register", 2));
        assert_eq!(register.kwargs, [kw("safe", Value::Bool(true)), kw("metadata", set_of(&tags))]);
        assert_eq!(Call::register("n", "u", false, None).kwargs, [kw("safe", Value::Bool(false))]);
        assert_eq!(Call::remove_matching("x.*").kwargs, [kw("regex", text("x.*"))]);
        assert_eq!(Call::remove("x").answer(&Value::Int(2)).expect("a count"), 2);
        assert!(matches!(Call::remove("x").answer(&Value::None), Err(ProxyError::Naming(_))));
        let yp = Call::yplookup(None, Some(&tags));
        assert_eq!(yp.kwargs, [kw("return_metadata", Value::Bool(true)), kw("meta_any", Value::List(vec![text("t")]))]);
        let listed =
            Value::Dict(vec![(text("n"), Value::Tuple(vec![text("PYRO:o@h:1"), Value::Set(vec![text("t")])]))]);
        let want: Listing = [("n".to_string(), ("PYRO:o@h:1".to_string(), tags.clone()))].into();
        assert_eq!(Call::list(Some("n")).answer(&listed).expect("a listing"), want);
        assert!(Call::list(None).answer(&text("no")).is_err());
        let with_meta = Value::List(vec![text("PYRO:o@h:1"), Value::List(vec![text("t")])]);
        assert_eq!(Call::lookup_with_metadata("n").answer(&with_meta).expect("read"), ("PYRO:o@h:1".to_string(), tags));
    }

    #[test]
    fn uri_dict_reads_as_text() {
        let dict = Value::Dict(vec![
            (Value::Str("__class__".into()), Value::Str("Pyro5.core.URI".into())),
            (
                Value::Str("state".into()),
                Value::Tuple(vec![
                    Value::Str("PYRO".into()),
                    Value::Str("obj".into()),
                    Value::None,
                    Value::Str("127.0.0.1".into()),
                    Value::Int(5),
                ]),
            ),
        ]);
        assert_eq!(Call::lookup("obj").answer(&dict).expect("a URI"), "PYRO:obj@127.0.0.1:5");
    }

    #[test]
    fn only_naming_errors_and_timeouts_are_retried() {
        let naming = naming_remote("unknown name: x");
        let other = RemoteError { class: "builtins.ValueError".into(), ..naming.clone() };
        assert!(is_retried(&ProxyError::Remote(naming)));
        assert!(is_retried(&ProxyError::Timeout));
        assert!(is_retried(&ProxyError::Naming("Failed".into())));
        assert!(!is_retried(&ProxyError::Remote(other)));
        assert!(!is_retried(&ProxyError::ConnectionClosed));
    }

    /// Pyro's loop driven by `Retry`, as a client does: the outcome and how many calls.
    fn run<T>(
        delay: Duration,
        call: &Call<T>,
        mut attempt: impl FnMut(usize) -> Result<T, ProxyError>,
    ) -> (Result<T, ProxyError>, usize) {
        let mut retry = Retry::new(delay);
        let mut tries = 0;
        loop {
            tries += 1;
            let outcome = attempt(tries);
            match retry.after(call, &outcome) {
                Some(pause) => std::thread::sleep(pause),
                None => return (outcome, tries),
            }
        }
    }

    #[test]
    fn the_retry_loop_paces_and_ends_as_pyros() {
        let lookup = Call::lookup("x");
        // Zero delay: exactly one try.
        let (r, tries) = run(Duration::ZERO, &lookup, |_| Err(ProxyError::Timeout));
        assert!(matches!(r, Err(ProxyError::Timeout)) && tries == 1);
        // 1 s: tries at about 0, 0.2, ..., 1.0 s, the last one's error returned.
        let start = Instant::now();
        let (r, tries) = run(Duration::from_secs(1), &lookup, |_| Err(naming_error("unknown name: x")));
        assert!(matches!(r, Err(ProxyError::Remote(_))));
        assert!((3..=7).contains(&tries), "{tries} tries");
        assert!(start.elapsed() >= Duration::from_millis(800) && start.elapsed() < Duration::from_secs(3));
        // Other errors end it at once; an answer found ends it.
        let (r, tries) = run(Duration::from_secs(5), &lookup, |_| Err(ProxyError::ConnectionClosed));
        assert!(matches!(r, Err(ProxyError::ConnectionClosed)) && tries == 1);
        let (r, tries) = run(Duration::from_secs(5), &lookup, |n| {
            if n < 3 { Err(ProxyError::Timeout) } else { Ok("PYRO:x@h:1".into()) }
        });
        assert_eq!((r.expect("found"), tries), ("PYRO:x@h:1".to_string(), 3));
        // An empty yplookup answer is asked again; the last one may be empty.
        let yp = Call::yplookup_all(&["t".to_string()]);
        let (r, tries) =
            run(Duration::from_secs(5), &yp, |n| Ok((0..n / 3).map(|i| (i.to_string(), String::new())).collect()));
        assert_eq!((r.expect("found").len(), tries), (1, 3));
        let (r, _) = run(Duration::from_millis(300), &yp, |_| Ok(BTreeMap::new()));
        assert!(r.expect("an answer").is_empty());
    }
}
