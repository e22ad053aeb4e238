//! Finding a name server and resolving names through it, as Python's `Pyro5.core.locate_ns` and
//! `Pyro5.core.resolve` (`docs/name-server.md`, "Locating the name server" and "PYRONAME and
//! PYROMETA").
//!
//! [`locate_ns`] gives a [`NameServerProxy`] for `Pyro.NameServer`: connected directly when
//! a host is given, otherwise found on the local host, by UDP broadcast (`GET_NSURI` to port
//! `NS_BCPORT`), and at last at `NS_HOST:NS_PORT`. [`resolve`] turns a `PYRONAME:` or
//! `PYROMETA:` URI into the `PYRO:` URI it names; [`Proxy`] does this itself on connecting.
//! [`NameServerProxy`] wraps a [`Proxy`] with typed calls of the name server's methods (the
//! name server object itself is [`crate::naming::NameServer`]).
//!
//! Configuration follows Pyro's items and environment variables ([`Config`]): `NS_HOST`,
//! `NS_PORT`, `NS_BCPORT`, `BROADCAST_ADDRS`, `NS_LOOKUP_DELAY`, `PREFER_IP_VERSION` and the
//! proxy's own items. [`locate_ns`] and [`resolve`] read them from the environment
//! ([`Config::from_env`]); [`locate_ns_with`] takes them from the caller.
//!
//! Lookup delay (Pyro's `NS_LOOKUP_DELAY`, default 0): a name that is not registered (yet)
//! is asked for again until the delay has passed, as Python's `resolve()` and the
//! `PYRONAME`/`PYROMETA` proxies do ([`NameServerProxy::lookup_with_delay`]).
//!
//! ```no_run
//! use pyro5_std::locate::locate_ns;
//! let mut ns = locate_ns(Some("localhost"), None)?;
//! println!("{}", ns.lookup("test.echoserver")?);
//! # Ok::<(), pyro5_std::ProxyError>(())
//! ```

use std::collections::BTreeMap;
use std::io;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use pyro5_core::ser::value::Value;
use pyro5_core::uri::{Location, Protocol, Uri};

use crate::config::Config;
use crate::proxy::{Proxy, ProxyError};

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

/// How many broadcast rounds [`locate_ns`] makes, and how long each waits for an answer.
const BROADCAST_TRIES: u32 = 3;
const BROADCAST_TIMEOUT: Duration = Duration::from_millis(700);

/// A proxy for the name server, found as Python's `locate_ns(host, port)` finds it, with
/// [`Config::from_env`].
///
/// With a `host` (a name, an address, or `./u:socket`): connects to `Pyro.NameServer` at
/// `host:port` (default `NS_PORT`). Without one: tries `NS_HOST:port` (and `127.0.1.1`) when
/// `NS_HOST` is this machine, then broadcasts `GET_NSURI` to `port` (default `NS_BCPORT`;
/// so `port` is the broadcast port here, as in Pyro), then tries `NS_HOST:NS_PORT`.
///
/// The proxy is connected, except when it came from a broadcast answer (as in Pyro);
/// [`NameServerProxy::proxy`] gives it.
///
/// # Errors
/// [`ProxyError::Naming`] "Failed to locate the nameserver" when nothing answered;
/// [`ProxyError::Config`] for a bad `PYRO_*` variable.
pub fn locate_ns(host: Option<&str>, port: Option<u16>) -> Result<NameServerProxy, ProxyError> {
    locate_ns_with(&Config::from_env()?, host, port)
}

/// [`locate_ns`] with an explicit configuration (also given to the proxy it returns, see
/// [`Proxy::with_config`]). An empty `BROADCAST_ADDRS` means no broadcast.
///
/// # Errors
/// As [`locate_ns`].
pub fn locate_ns_with(config: &Config, host: Option<&str>, port: Option<u16>) -> Result<NameServerProxy, ProxyError> {
    locate_proxy(config, host, port).map(NameServerProxy::from)
}

/// The proxy [`locate_ns_with`] wraps.
fn locate_proxy(config: &Config, host: Option<&str>, port: Option<u16>) -> Result<Proxy, ProxyError> {
    let port = port.filter(|&p| p != 0);
    let host = match host.filter(|h| !h.is_empty()) {
        Some(host) => host.to_string(),
        None => {
            let ns_host = config.ns_host.as_str();
            if ns_host == "localhost" || ns_host == "::1" || ns_host.starts_with("127.") {
                let mut hosts = vec![ns_host];
                if !ns_host.contains(':') && ns_host != "127.0.1.1" {
                    hosts.push("127.0.1.1");
                }
                for host in hosts {
                    let proxy = Proxy::with_config(&ns_uri(host, port.unwrap_or(config.ns_port)), config)?;
                    if proxy.bind().is_ok() {
                        return Ok(proxy);
                    }
                }
            }
            if let Some(text) = broadcast_locate(config, port.unwrap_or(config.ns_bcport)) {
                return Proxy::with_config(&text, config);
            }
            // As Pyro: the last try is NS_HOST at NS_PORT, whatever port was given.
            return connect(&ns_uri(ns_host, config.ns_port), config);
        }
    };
    connect(&ns_uri(&host, port.unwrap_or(config.ns_port)), config)
}

/// The `PYRO:` URI text a `PYRONAME:` or `PYROMETA:` URI stands for (Python's
/// `Pyro5.core.resolve`); a `PYRO:` URI is returned as it is. A `PYRONAME` is looked up in
/// the name server its location names (or the one [`locate_ns`] finds); a `PYROMETA` picks
/// one of the names registered with all its tags at random. With a lookup delay
/// (`PYRO_NS_LOOKUP_DELAY`, see [`Config::ns_lookup_delay`]) a name not registered yet is
/// asked for again until the delay has passed ([`NameServerProxy::lookup_with_delay`]).
///
/// # Errors
/// [`ProxyError::Uri`] for a bad URI; [`ProxyError::Naming`] when no name server is found or
/// no registration has the tags; [`ProxyError::Remote`] with the name server's `NamingError`
/// ("unknown name: x") for an unknown name; [`ProxyError::Config`] for a bad `PYRO_*`
/// variable.
pub fn resolve(uri: &str) -> Result<String, ProxyError> {
    resolve_with(&Config::from_env()?, uri)
}

/// [`resolve`] waiting up to `delay` for the name to be registered (Python's
/// `resolve(uri, delay_time)`; a zero `delay` takes `PYRO_NS_LOOKUP_DELAY`, as there).
///
/// # Errors
/// As [`resolve`], from the last lookup.
pub fn resolve_with_delay(uri: &str, delay: Duration) -> Result<String, ProxyError> {
    let mut config = Config::from_env()?;
    if !delay.is_zero() {
        config.ns_lookup_delay = delay.as_secs_f64();
    }
    resolve_with(&config, uri)
}

/// [`resolve`] with `config`: where to find the name server, the lookup delay, and the
/// proxy settings (`COMMTIMEOUT`, ...) to talk to it with.
///
/// # Errors
/// As [`resolve`].
pub fn resolve_with(config: &Config, uri: &str) -> Result<String, ProxyError> {
    resolve_with_timeout(config, uri, config.commtimeout_duration())
}

/// [`resolve_with`], talking to the name server with `timeout`.
pub(crate) fn resolve_with_timeout(
    config: &Config,
    uri: &str,
    timeout: Option<Duration>,
) -> Result<String, ProxyError> {
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
    let mut ns = match parsed.protocol() {
        Protocol::Pyro => return Ok(parsed.to_string()),
        Protocol::PyroName | Protocol::PyroMeta => locate_ns_with(config, host.as_deref(), port)?,
    };
    ns.proxy().set_timeout(timeout);
    let delay = config.ns_lookup_delay_duration();
    match parsed.meta_tags() {
        None => ns.lookup_with_delay(parsed.object(), delay),
        Some(tags) => {
            let tags: Vec<String> = tags.map(str::to_string).collect();
            let found = ns.yplookup_all_with_delay(&tags, delay)?;
            if found.is_empty() {
                let shown: Vec<String> = tags.iter().map(|t| python_str_repr(t)).collect();
                return Err(ProxyError::Naming(format!(
                    "no registrations available with desired metadata properties {{{}}}",
                    shown.join(", ")
                )));
            }
            let pick = fastrand::usize(..found.len());
            found.into_values().nth(pick).ok_or(ProxyError::ConnectionClosed)
        }
    }
}

/// A client of the name server: its methods, typed (`docs/name-server.md`, "Remote methods"),
/// over a [`Proxy`]. URIs come back as text. [`locate_ns`] gives one; `From<Proxy>` wraps a
/// proxy made otherwise.
#[derive(Debug)]
pub struct NameServerProxy {
    proxy: Proxy,
}

/// One entry of a listing: the URI text and the metadata tags (in the order they came).
pub type Listing = BTreeMap<String, (String, Vec<String>)>;

impl From<Proxy> for NameServerProxy {
    fn from(proxy: Proxy) -> Self {
        Self { proxy }
    }
}

impl NameServerProxy {
    /// The proxy underneath (for its timeout, serializer, or calls made by name).
    pub fn proxy(&mut self) -> &mut Proxy {
        &mut self.proxy
    }

    /// The proxy underneath, unwrapped.
    pub fn into_proxy(self) -> Proxy {
        self.proxy
    }

    /// `ping()`.
    ///
    /// # Errors
    /// Connection errors.
    pub fn ping(&mut self) -> Result<(), ProxyError> {
        self.proxy.call_value("ping", &[], &[]).map(drop)
    }

    /// `lookup(name)`: the URI registered as `name`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` "unknown name: `name`".
    pub fn lookup(&mut self, name: &str) -> Result<String, ProxyError> {
        let value = self.proxy.call_value("lookup", &[Value::Str(name.into())], &[])?;
        uri_text(&value).ok_or_else(|| unexpected("lookup", &value))
    }

    /// [`lookup`](Self::lookup), asking again while the name is unknown (or the name server
    /// times out) until `delay` has passed, as Python's `Pyro5.nameserver.lookup(ns, name,
    /// delay_time=delay)`: a lookup, then one every `max(0.2 s, delay / 5)` while no more
    /// than `delay` has passed, and a last one whose error is returned. A zero `delay` is
    /// one lookup.
    ///
    /// # Errors
    /// As [`lookup`](Self::lookup), from the last try; errors other than a `NamingError`
    /// or a timeout at once.
    pub fn lookup_with_delay(&mut self, name: &str, delay: Duration) -> Result<String, ProxyError> {
        retrying(delay, || self.lookup(name), |_| true)
    }

    /// `lookup(name, return_metadata=True)`: the URI and its metadata.
    ///
    /// # Errors
    /// As [`lookup`](Self::lookup).
    pub fn lookup_with_metadata(&mut self, name: &str) -> Result<(String, Vec<String>), ProxyError> {
        let value = self.proxy.call_value("lookup", &[Value::Str(name.into()), Value::Bool(true)], &[])?;
        match &value {
            Value::Tuple(items) | Value::List(items) => match items.as_slice() {
                [uri, meta] => Ok((uri_text(uri).ok_or_else(|| unexpected("lookup", &value))?, strings(meta))),
                _ => Err(unexpected("lookup", &value)),
            },
            _ => Err(unexpected("lookup", &value)),
        }
    }

    /// `register(name, uri, safe)`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` "name already registered: `name`" when `safe`.
    pub fn register(&mut self, name: &str, uri: &str, safe: bool) -> Result<(), ProxyError> {
        let kwargs = [("safe".to_string(), Value::Bool(safe))];
        self.proxy.call_value("register", &[Value::Str(name.into()), Value::Str(uri.into())], &kwargs).map(drop)
    }

    /// `register(name, uri, safe, metadata)`.
    ///
    /// # Errors
    /// As [`register`](Self::register).
    pub fn register_with_metadata(
        &mut self,
        name: &str,
        uri: &str,
        safe: bool,
        metadata: &[String],
    ) -> Result<(), ProxyError> {
        let kwargs = [("safe".to_string(), Value::Bool(safe)), ("metadata".to_string(), set_of(metadata))];
        self.proxy.call_value("register", &[Value::Str(name.into()), Value::Str(uri.into())], &kwargs).map(drop)
    }

    /// `remove(name)`: how many entries went.
    ///
    /// # Errors
    /// Connection errors.
    pub fn remove(&mut self, name: &str) -> Result<i64, ProxyError> {
        let value = self.proxy.call_value("remove", &[Value::Str(name.into())], &[])?;
        count(&value).ok_or_else(|| unexpected("remove", &value))
    }

    /// `remove(regex=pattern)`: how many entries went.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` "invalid regex: ..." for a bad pattern.
    pub fn remove_matching(&mut self, pattern: &str) -> Result<i64, ProxyError> {
        let kwargs = [("regex".to_string(), Value::Str(pattern.into()))];
        let value = self.proxy.call_value("remove", &[], &kwargs)?;
        count(&value).ok_or_else(|| unexpected("remove", &value))
    }

    /// `set_metadata(name, metadata)`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` for an unknown name.
    pub fn set_metadata(&mut self, name: &str, metadata: &[String]) -> Result<(), ProxyError> {
        self.proxy.call_value("set_metadata", &[Value::Str(name.into()), set_of(metadata)], &[]).map(drop)
    }

    /// `list(prefix=..., return_metadata=True)`, or everything without a prefix.
    ///
    /// # Errors
    /// Connection errors.
    pub fn list(&mut self, prefix: Option<&str>) -> Result<Listing, ProxyError> {
        let mut kwargs = vec![("return_metadata".to_string(), Value::Bool(true))];
        if let Some(prefix) = prefix {
            kwargs.push(("prefix".to_string(), Value::Str(prefix.into())));
        }
        self.listing("list", &kwargs)
    }

    /// `list(regex=pattern, return_metadata=True)`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` "invalid regex: ..." for a bad pattern.
    pub fn list_matching(&mut self, pattern: &str) -> Result<Listing, ProxyError> {
        let kwargs =
            [("regex".to_string(), Value::Str(pattern.into())), ("return_metadata".to_string(), Value::Bool(true))];
        self.listing("list", &kwargs)
    }

    /// `yplookup(meta_all=tags, return_metadata=True)`.
    ///
    /// # Errors
    /// Connection errors.
    pub fn yplookup(
        &mut self,
        meta_all: Option<&[String]>,
        meta_any: Option<&[String]>,
    ) -> Result<Listing, ProxyError> {
        let mut kwargs = vec![("return_metadata".to_string(), Value::Bool(true))];
        if let Some(tags) = meta_all {
            kwargs.push(("meta_all".to_string(), Value::List(tags.iter().map(|t| Value::Str(t.clone())).collect())));
        }
        if let Some(tags) = meta_any {
            kwargs.push(("meta_any".to_string(), Value::List(tags.iter().map(|t| Value::Str(t.clone())).collect())));
        }
        self.listing("yplookup", &kwargs)
    }

    /// `yplookup(meta_all=set(tags), return_metadata=False)`: name → URI text, as Pyro's
    /// `PYROMETA` resolution asks.
    ///
    /// # Errors
    /// Connection errors.
    pub fn yplookup_all(&mut self, tags: &[String]) -> Result<BTreeMap<String, String>, ProxyError> {
        let args = [set_of(tags), Value::None, Value::Bool(false)];
        let value = self.proxy.call_value("yplookup", &args, &[])?;
        let Value::Dict(entries) = &value else { return Err(unexpected("yplookup", &value)) };
        entries
            .iter()
            .map(|(k, v)| match (k.as_str(), uri_text(v)) {
                (Some(k), Some(v)) => Ok((k.to_string(), v)),
                _ => Err(unexpected("yplookup", &value)),
            })
            .collect()
    }

    /// [`yplookup_all`](Self::yplookup_all), asking again while nothing has the tags (or on a
    /// `NamingError` or timeout) until `delay` has passed, as Python's
    /// `Pyro5.nameserver.yplookup(ns, tags, delay_time=delay)`; the last answer may be empty.
    ///
    /// # Errors
    /// As [`yplookup_all`](Self::yplookup_all), from the last try.
    pub fn yplookup_all_with_delay(
        &mut self,
        tags: &[String],
        delay: Duration,
    ) -> Result<BTreeMap<String, String>, ProxyError> {
        retrying(delay, || self.yplookup_all(tags), |found| !found.is_empty())
    }

    fn listing(&mut self, method: &str, kwargs: &[(String, Value)]) -> Result<Listing, ProxyError> {
        let value = self.proxy.call_value(method, &[], kwargs)?;
        let Value::Dict(entries) = &value else { return Err(unexpected(method, &value)) };
        let mut out = Listing::new();
        for (name, entry) in entries {
            let (Some(name), Value::Tuple(pair) | Value::List(pair)) = (name.as_str(), entry) else {
                return Err(unexpected(method, &value));
            };
            let [uri, meta] = pair.as_slice() else { return Err(unexpected(method, &value)) };
            let uri = uri_text(uri).ok_or_else(|| unexpected(method, &value))?;
            out.insert(name.to_string(), (uri, strings(meta)));
        }
        Ok(out)
    }
}

/// Pyro's lookup retry loop (`Pyro5.nameserver.lookup`/`yplookup` with `delay_time`): try
/// while no more than `delay` has passed, pausing `max(0.2 s, delay / 5)` after each try
/// that failed with a `NamingError` or a timeout or whose answer is not `done`; then a last
/// try, whatever it gives.
fn retrying<T>(
    delay: Duration,
    mut attempt: impl FnMut() -> Result<T, ProxyError>,
    done: impl Fn(&T) -> bool,
) -> Result<T, ProxyError> {
    if !delay.is_zero() {
        let pause = (delay / 5).max(Duration::from_millis(200));
        let start = Instant::now();
        while start.elapsed() <= delay {
            match attempt() {
                Ok(found) if done(&found) => return Ok(found),
                Ok(_) => {}
                Err(e) if is_retried(&e) => {}
                Err(e) => return Err(e),
            }
            std::thread::sleep(pause);
        }
    }
    attempt()
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

/// Ask for the name server's URI by broadcast: the answer's text, if any came.
fn broadcast_locate(config: &Config, port: u16) -> Option<String> {
    if config.broadcast_addrs.is_empty() {
        return None;
    }
    let socket = UdpSocket::bind(("0.0.0.0", 0)).ok()?;
    let _ = socket.set_broadcast(true);
    socket.set_read_timeout(Some(BROADCAST_TIMEOUT)).ok()?;
    let mut buf = [0u8; 100];
    for _ in 0..BROADCAST_TRIES {
        for addr in &config.broadcast_addrs {
            let addr = if addr == "<broadcast>" { "255.255.255.255" } else { addr.as_str() };
            // Pyro ignores "address not available/in use" here; an unreachable broadcast
            // address is as harmless, so every send error is ignored.
            let _ = socket.send_to(GET_NSURI, (addr, port));
        }
        match socket.recv_from(&mut buf) {
            // ISO-8859-1: each byte is the code point of its value.
            Ok((n, _)) => return Some(buf.get(..n)?.iter().map(|&b| char::from(b)).collect()),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(_) => {}
        }
    }
    None
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

/// A connected proxy for `uri`, or "Failed to locate the nameserver".
fn connect(uri: &str, config: &Config) -> Result<Proxy, ProxyError> {
    let proxy = Proxy::with_config(uri, config)?;
    match proxy.bind() {
        Ok(_) => Ok(proxy),
        Err(_) => Err(ProxyError::Naming("Failed to locate the nameserver".to_string())),
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
    Value::Set(tags.iter().map(|t| Value::Str(t.clone())).collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::RemoteError;

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
    fn only_naming_errors_and_timeouts_are_retried() {
        let naming = RemoteError {
            class: pyro5_core::server::NAMING_ERROR.into(),
            args: vec![Value::Str("unknown name: x".into())],
            attributes: Vec::new(),
            traceback: Vec::new(),
        };
        let other = RemoteError { class: "builtins.ValueError".into(), ..naming.clone() };
        assert!(is_retried(&ProxyError::Remote(naming)));
        assert!(is_retried(&ProxyError::Timeout));
        assert!(is_retried(&ProxyError::Naming("Failed".into())));
        assert!(!is_retried(&ProxyError::Remote(other)));
        assert!(!is_retried(&ProxyError::ConnectionClosed));
    }

    #[test]
    fn the_retry_loop_paces_and_ends_as_pyros() {
        // Zero delay: exactly one try.
        let mut tries = 0;
        let r: Result<(), _> = retrying(
            Duration::ZERO,
            || {
                tries += 1;
                Err(ProxyError::Timeout)
            },
            |_| true,
        );
        assert!(matches!(r, Err(ProxyError::Timeout)) && tries == 1);
        // 1 s: tries at about 0, 0.2, ..., 1.0 s, then the last one.
        let (start, mut tries) = (Instant::now(), 0);
        let r: Result<(), _> = retrying(
            Duration::from_secs(1),
            || {
                tries += 1;
                Err(ProxyError::Naming("not yet".into()))
            },
            |_| true,
        );
        assert!(matches!(r, Err(ProxyError::Naming(_))));
        assert!((3..=7).contains(&tries), "{tries} tries");
        assert!(start.elapsed() >= Duration::from_secs(1) && start.elapsed() < Duration::from_secs(3));
        // Other errors end it at once; an answer that is not done is asked again.
        let mut tries = 0;
        let r: Result<(), _> = retrying(
            Duration::from_secs(5),
            || {
                tries += 1;
                Err(ProxyError::ConnectionClosed)
            },
            |_| true,
        );
        assert!(matches!(r, Err(ProxyError::ConnectionClosed)) && tries == 1);
        let mut tries = 0;
        let r = retrying(
            Duration::from_secs(5),
            || {
                tries += 1;
                Ok(tries)
            },
            |&n| n >= 3,
        );
        assert_eq!(r.unwrap(), 3);
    }

    #[test]
    fn ns_uri_brackets_ipv6_and_keeps_unix_sockets() {
        assert_eq!(ns_uri("::1", 9090), "PYRO:Pyro.NameServer@[::1]:9090");
        assert_eq!(ns_uri("./u:/tmp/ns", 9090), "PYRO:Pyro.NameServer@./u:/tmp/ns");
        assert_eq!(ns_uri("host", 1), "PYRO:Pyro.NameServer@host:1");
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
        assert_eq!(uri_text(&dict).as_deref(), Some("PYRO:obj@127.0.0.1:5"));
    }
}
