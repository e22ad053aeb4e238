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
use std::net::UdpSocket;
use std::time::Duration;

pub(crate) use crate::locating::python_float;
use crate::locating::{Attempt, Broadcast, Call, Resolution, Retry, attempts, broadcast_answer, not_found};
pub use crate::locating::{GET_NSURI, Listing, NAMESERVER_NAME, NS_BCPORT, NS_HOST, NS_PORT, python_str_repr};

use crate::config::Config;
use crate::proxy::{Proxy, ProxyError};

/// A proxy for the name server, found as Python's `locate_ns(host, port)` finds it, with
/// [`Config::from_env`].
///
/// With a `host` (a name, an address, or `./u:socket`): connects to `Pyro.NameServer` at
/// `host:port` (default `NS_PORT`). Without one: tries `NS_HOST:port` (and `127.0.1.1`) when
/// `NS_HOST` is this machine, then broadcasts `GET_NSURI` to `port` (default `NS_BCPORT`;
/// so `port` is the broadcast port here, as in Pyro), then tries `NS_HOST:NS_PORT`
/// ([`crate::locating::attempts`]).
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
    for attempt in attempts(config, host, port) {
        let uri = match attempt {
            Attempt::Connect(uri) => uri,
            Attempt::Broadcast(request) => match broadcast_locate(&request) {
                Some(answer) => return Proxy::with_config(&answer, config).map(NameServerProxy::from),
                None => continue,
            },
        };
        let proxy = Proxy::with_config(&uri, config)?;
        if proxy.bind().is_ok() {
            return Ok(proxy.into());
        }
    }
    Err(not_found())
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
    let lookup = match Resolution::of(uri)? {
        Resolution::Direct(text) => return Ok(text),
        Resolution::Ask(lookup) => lookup,
    };
    let mut ns = locate_ns_with(config, lookup.host.as_deref(), lookup.port)?;
    ns.proxy().set_timeout(timeout);
    ns.ask_with_delay(&lookup.call, config.ns_lookup_delay_duration())
}

/// A client of the name server: its methods, typed (`docs/name-server.md`, "Remote methods";
/// [`Call`] says what each sends and how its answer reads), over a [`Proxy`]. URIs come back
/// as text. [`locate_ns`] gives one; `From<Proxy>` wraps a proxy made otherwise.
#[derive(Debug)]
pub struct NameServerProxy {
    proxy: Proxy,
}

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

    /// Make `call` and read its answer.
    ///
    /// # Errors
    /// Connection errors, the name server's exceptions, an answer that does not read.
    pub fn ask<T>(&mut self, call: &Call<T>) -> Result<T, ProxyError> {
        let value = self.proxy.call_value(call.method, &call.args, &call.kwargs)?;
        call.answer(&value)
    }

    /// [`ask`](Self::ask) again, paced as Pyro's lookup loop under a lookup `delay`
    /// ([`Retry`]).
    ///
    /// # Errors
    /// As [`ask`](Self::ask), from the last try; errors other than a `NamingError` or a
    /// timeout at once.
    pub fn ask_with_delay<T>(&mut self, call: &Call<T>, delay: Duration) -> Result<T, ProxyError> {
        let mut retry = Retry::new(delay);
        loop {
            let outcome = self.ask(call);
            match retry.after(call, &outcome) {
                Some(pause) => std::thread::sleep(pause),
                None => return outcome,
            }
        }
    }

    /// `ping()`.
    ///
    /// # Errors
    /// Connection errors.
    pub fn ping(&mut self) -> Result<(), ProxyError> {
        self.ask(&Call::ping())
    }

    /// `lookup(name)`: the URI registered as `name`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` "unknown name: `name`".
    pub fn lookup(&mut self, name: &str) -> Result<String, ProxyError> {
        self.ask(&Call::lookup(name))
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
        self.ask_with_delay(&Call::lookup(name), delay)
    }

    /// `lookup(name, return_metadata=True)`: the URI and its metadata.
    ///
    /// # Errors
    /// As [`lookup`](Self::lookup).
    pub fn lookup_with_metadata(&mut self, name: &str) -> Result<(String, Vec<String>), ProxyError> {
        self.ask(&Call::lookup_with_metadata(name))
    }

    /// `register(name, uri, safe)`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` "name already registered: `name`" when `safe`.
    pub fn register(&mut self, name: &str, uri: &str, safe: bool) -> Result<(), ProxyError> {
        self.ask(&Call::register(name, uri, safe, None))
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
        self.ask(&Call::register(name, uri, safe, Some(metadata)))
    }

    /// `remove(name)`: how many entries went.
    ///
    /// # Errors
    /// Connection errors.
    pub fn remove(&mut self, name: &str) -> Result<i64, ProxyError> {
        self.ask(&Call::remove(name))
    }

    /// `remove(regex=pattern)`: how many entries went.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` "invalid regex: ..." for a bad pattern.
    pub fn remove_matching(&mut self, pattern: &str) -> Result<i64, ProxyError> {
        self.ask(&Call::remove_matching(pattern))
    }

    /// `set_metadata(name, metadata)`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` for an unknown name.
    pub fn set_metadata(&mut self, name: &str, metadata: &[String]) -> Result<(), ProxyError> {
        self.ask(&Call::set_metadata(name, metadata))
    }

    /// `list(prefix=..., return_metadata=True)`, or everything without a prefix.
    ///
    /// # Errors
    /// Connection errors.
    pub fn list(&mut self, prefix: Option<&str>) -> Result<Listing, ProxyError> {
        self.ask(&Call::list(prefix))
    }

    /// `list(regex=pattern, return_metadata=True)`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` "invalid regex: ..." for a bad pattern.
    pub fn list_matching(&mut self, pattern: &str) -> Result<Listing, ProxyError> {
        self.ask(&Call::list_matching(pattern))
    }

    /// `yplookup(meta_all=tags, meta_any=tags, return_metadata=True)`.
    ///
    /// # Errors
    /// Connection errors.
    pub fn yplookup(
        &mut self,
        meta_all: Option<&[String]>,
        meta_any: Option<&[String]>,
    ) -> Result<Listing, ProxyError> {
        self.ask(&Call::yplookup(meta_all, meta_any))
    }

    /// `yplookup(meta_all=set(tags), return_metadata=False)`: name → URI text, as Pyro's
    /// `PYROMETA` resolution asks.
    ///
    /// # Errors
    /// Connection errors.
    pub fn yplookup_all(&mut self, tags: &[String]) -> Result<BTreeMap<String, String>, ProxyError> {
        self.ask(&Call::yplookup_all(tags))
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
        self.ask_with_delay(&Call::yplookup_all(tags), delay)
    }
}

/// Ask for the name server's URI by broadcast: the answer's text, if any came.
fn broadcast_locate(request: &Broadcast) -> Option<String> {
    let socket = UdpSocket::bind(("0.0.0.0", 0)).ok()?;
    let _ = socket.set_broadcast(true);
    socket.set_read_timeout(Some(Broadcast::TIMEOUT)).ok()?;
    let mut buf = [0u8; Broadcast::ANSWER_MAX];
    for _ in 0..Broadcast::ROUNDS {
        for target in request.targets() {
            let _ = socket.send_to(GET_NSURI, target);
        }
        // No answer within the timeout (or a receive error): the next round.
        if let Ok((n, _)) = socket.recv_from(&mut buf) {
            return Some(broadcast_answer(buf.get(..n)?));
        }
    }
    None
}
