//! The name server client for tokio tasks: Python's `Pyro5.core.locate_ns` and
//! `Pyro5.core.resolve`, and a [`NameServerProxy`] over the async [`Proxy`]
//! (`docs/name-server.md`, "Locating the name server" and "PYRONAME and PYROMETA").
//!
//! Everything Pyro decides is `pyro5_std::locating`'s, as for `pyro5_std::locate`'s
//! blocking client: where to look and in which order, the broadcast request and its answer,
//! each method's arguments and answer, `PYROMETA`'s choice, the lookup loop's pace. Here the
//! proxy's calls are awaited, the broadcast goes over a tokio [`UdpSocket`] and every wait
//! is a tokio timer: no thread is blocked, so any number of tasks locate and resolve at once
//! on any runtime (a `current_thread` one included). The one thing left to tokio's blocking
//! pool is what is for every tokio connection: turning a host *name* into addresses
//! (`getaddrinfo`, briefly); IP addresses need no lookup.

use std::collections::BTreeMap;
use std::time::Duration;

use pyro5_std::Config;
pub use pyro5_std::locating::Listing;
use pyro5_std::locating::{
    Attempt, Broadcast, Call, GET_NSURI, Resolution, Retry, attempts, broadcast_answer, not_found,
};
use tokio::net::UdpSocket;

use crate::{Proxy, ProxyError};

/// A proxy for the name server, found as Python's `locate_ns(host, port)` finds it, with
/// [`Config::from_env`].
///
/// With a `host` (a name, an address, or `./u:socket`): connects to `Pyro.NameServer` at
/// `host:port` (default `NS_PORT`). Without one: tries `NS_HOST:port` (and `127.0.1.1`) when
/// `NS_HOST` is this machine, then broadcasts `GET_NSURI` to `port` (default `NS_BCPORT`;
/// so `port` is the broadcast port here, as in Pyro), then tries `NS_HOST:NS_PORT`
/// ([`pyro5_std::locating::attempts`]).
///
/// The proxy is connected, except when it came from a broadcast answer (as in Pyro).
///
/// # Errors
/// [`ProxyError::Naming`] "Failed to locate the nameserver" when nothing answered;
/// [`ProxyError::Config`] for a bad `PYRO_*` variable.
pub async fn locate_ns(host: Option<&str>, port: Option<u16>) -> Result<NameServerProxy, ProxyError> {
    locate_ns_with(&Config::from_env()?, host, port).await
}

/// [`locate_ns`] with an explicit configuration (also given to the proxy it returns, see
/// [`Proxy::with_config`]). An empty `BROADCAST_ADDRS` means no broadcast.
///
/// # Errors
/// As [`locate_ns`].
pub async fn locate_ns_with(
    config: &Config,
    host: Option<&str>,
    port: Option<u16>,
) -> Result<NameServerProxy, ProxyError> {
    for attempt in attempts(config, host, port) {
        let uri = match attempt {
            Attempt::Connect(uri) => uri,
            Attempt::Broadcast(request) => {
                let Some(answer) = broadcast_locate(&request).await else { continue };
                return Proxy::with_config(&answer, config).map(NameServerProxy::from);
            }
        };
        let proxy = Proxy::with_config(&uri, config)?;
        if proxy.bind().await.is_ok() {
            return Ok(proxy.into());
        }
    }
    Err(not_found())
}

/// The `PYRO:` URI text a `PYRONAME:` or `PYROMETA:` URI stands for (Python's
/// `Pyro5.core.resolve`), with [`Config::from_env`]; a `PYRO:` URI is returned as it is. A
/// `PYRONAME` is looked up in the name server its location names (or the one [`locate_ns`]
/// finds); a `PYROMETA` picks one of the names registered with all its tags at random. With
/// a lookup delay (`PYRO_NS_LOOKUP_DELAY`) a name not registered yet is asked for again
/// until the delay has passed.
///
/// # Errors
/// [`ProxyError::Uri`] for a bad URI; [`ProxyError::Naming`] when no name server is found or
/// no registration has the tags; [`ProxyError::Remote`] with the name server's `NamingError`
/// ("unknown name: x") for an unknown name; [`ProxyError::Config`] for a bad `PYRO_*`
/// variable.
pub async fn resolve(uri: &str) -> Result<String, ProxyError> {
    resolve_with(&Config::from_env()?, uri).await
}

/// [`resolve`] with `config`: where to find the name server, the lookup delay, and the
/// proxy settings (`COMMTIMEOUT`, ...) to talk to it with.
///
/// # Errors
/// As [`resolve`].
pub async fn resolve_with(config: &Config, uri: &str) -> Result<String, ProxyError> {
    let lookup = match Resolution::of(uri)? {
        Resolution::Direct(text) => return Ok(text),
        Resolution::Ask(lookup) => lookup,
    };
    let ns = locate_ns_with(config, lookup.host.as_deref(), lookup.port).await?;
    ns.ask_with_delay(&lookup.call, config.ns_lookup_delay_duration()).await
}

/// Ask for the name server's URI by broadcast: the answer's text, if any came.
async fn broadcast_locate(request: &Broadcast) -> Option<String> {
    let socket = UdpSocket::bind(("0.0.0.0", 0)).await.ok()?;
    let _ = socket.set_broadcast(true);
    let mut buf = [0u8; Broadcast::ANSWER_MAX];
    for _ in 0..Broadcast::ROUNDS {
        for target in request.targets() {
            let _ = socket.send_to(GET_NSURI, target).await;
        }
        // No answer within the timeout (or a receive error): the next round.
        if let Ok(Ok((n, _))) = tokio::time::timeout(Broadcast::TIMEOUT, socket.recv_from(&mut buf)).await {
            return Some(broadcast_answer(buf.get(..n)?));
        }
    }
    None
}

/// A client of the name server: its methods, typed and async (`docs/name-server.md`, "Remote
/// methods"; [`Call`] says what each sends and how its answer reads), over an async
/// [`Proxy`]. URIs come back as text. [`locate_ns`] gives one; `From<Proxy>` wraps a proxy
/// made otherwise.
///
/// Like the proxy it is `Clone + Send + Sync` and its methods take `&self`: tasks share it,
/// their calls pipelined on one connection.
#[derive(Clone, Debug)]
pub struct NameServerProxy {
    proxy: Proxy,
}

impl From<Proxy> for NameServerProxy {
    fn from(proxy: Proxy) -> Self {
        Self { proxy }
    }
}

impl NameServerProxy {
    /// The proxy underneath (for calls made by name).
    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// The proxy underneath, to change its settings (timeout, serializer, ...).
    pub fn proxy_mut(&mut self) -> &mut Proxy {
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
    pub async fn ask<T>(&self, call: &Call<T>) -> Result<T, ProxyError> {
        let value = self.proxy.call_value(call.method, &call.args, &call.kwargs).await?;
        call.answer(&value)
    }

    /// [`ask`](Self::ask) again, paced as Pyro's lookup loop under a lookup `delay`
    /// ([`Retry`]), waiting on tokio's timer.
    ///
    /// # Errors
    /// As [`ask`](Self::ask), from the last try; errors other than a `NamingError` or a
    /// timeout at once.
    pub async fn ask_with_delay<T>(&self, call: &Call<T>, delay: Duration) -> Result<T, ProxyError> {
        let mut retry = Retry::new(delay);
        loop {
            let outcome = self.ask(call).await;
            let Some(pause) = retry.after(call, &outcome) else { return outcome };
            tokio::time::sleep(pause).await;
        }
    }

    /// `ping()`.
    ///
    /// # Errors
    /// Connection errors.
    pub async fn ping(&self) -> Result<(), ProxyError> {
        self.ask(&Call::ping()).await
    }

    /// `lookup(name)`: the URI registered as `name`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` "unknown name: `name`".
    pub async fn lookup(&self, name: &str) -> Result<String, ProxyError> {
        self.ask(&Call::lookup(name)).await
    }

    /// [`lookup`](Self::lookup), asking again while the name is unknown (or the name server
    /// times out) until `delay` has passed, as Python's `Pyro5.nameserver.lookup(ns, name,
    /// delay_time=delay)`. A zero `delay` is one lookup.
    ///
    /// # Errors
    /// As [`lookup`](Self::lookup), from the last try; errors other than a `NamingError`
    /// or a timeout at once.
    pub async fn lookup_with_delay(&self, name: &str, delay: Duration) -> Result<String, ProxyError> {
        self.ask_with_delay(&Call::lookup(name), delay).await
    }

    /// `lookup(name, return_metadata=True)`: the URI and its metadata.
    ///
    /// # Errors
    /// As [`lookup`](Self::lookup).
    pub async fn lookup_with_metadata(&self, name: &str) -> Result<(String, Vec<String>), ProxyError> {
        self.ask(&Call::lookup_with_metadata(name)).await
    }

    /// `register(name, uri, safe)`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` "name already registered: `name`" when `safe`.
    pub async fn register(&self, name: &str, uri: &str, safe: bool) -> Result<(), ProxyError> {
        self.ask(&Call::register(name, uri, safe, None)).await
    }

    /// `register(name, uri, safe, metadata)`.
    ///
    /// # Errors
    /// As [`register`](Self::register).
    pub async fn register_with_metadata(
        &self,
        name: &str,
        uri: &str,
        safe: bool,
        metadata: &[String],
    ) -> Result<(), ProxyError> {
        self.ask(&Call::register(name, uri, safe, Some(metadata))).await
    }

    /// `remove(name)`: how many entries went.
    ///
    /// # Errors
    /// Connection errors.
    pub async fn remove(&self, name: &str) -> Result<i64, ProxyError> {
        self.ask(&Call::remove(name)).await
    }

    /// `remove(regex=pattern)`: how many entries went.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` "invalid regex: ..." for a bad pattern.
    pub async fn remove_matching(&self, pattern: &str) -> Result<i64, ProxyError> {
        self.ask(&Call::remove_matching(pattern)).await
    }

    /// `set_metadata(name, metadata)`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` for an unknown name.
    pub async fn set_metadata(&self, name: &str, metadata: &[String]) -> Result<(), ProxyError> {
        self.ask(&Call::set_metadata(name, metadata)).await
    }

    /// `list(prefix=..., return_metadata=True)`, or everything without a prefix.
    ///
    /// # Errors
    /// Connection errors.
    pub async fn list(&self, prefix: Option<&str>) -> Result<Listing, ProxyError> {
        self.ask(&Call::list(prefix)).await
    }

    /// `list(regex=pattern, return_metadata=True)`.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] `NamingError` "invalid regex: ..." for a bad pattern.
    pub async fn list_matching(&self, pattern: &str) -> Result<Listing, ProxyError> {
        self.ask(&Call::list_matching(pattern)).await
    }

    /// `yplookup(meta_all=tags, meta_any=tags, return_metadata=True)`.
    ///
    /// # Errors
    /// Connection errors.
    pub async fn yplookup(
        &self,
        meta_all: Option<&[String]>,
        meta_any: Option<&[String]>,
    ) -> Result<Listing, ProxyError> {
        self.ask(&Call::yplookup(meta_all, meta_any)).await
    }

    /// `yplookup(meta_all=set(tags), return_metadata=False)`: name → URI text, as Pyro's
    /// `PYROMETA` resolution asks.
    ///
    /// # Errors
    /// Connection errors.
    pub async fn yplookup_all(&self, tags: &[String]) -> Result<BTreeMap<String, String>, ProxyError> {
        self.ask(&Call::yplookup_all(tags)).await
    }

    /// [`yplookup_all`](Self::yplookup_all), asking again while nothing has the tags (or on a
    /// `NamingError` or timeout) until `delay` has passed, as Python's
    /// `Pyro5.nameserver.yplookup(ns, tags, delay_time=delay)`; the last answer may be empty.
    ///
    /// # Errors
    /// As [`yplookup_all`](Self::yplookup_all), from the last try.
    pub async fn yplookup_all_with_delay(
        &self,
        tags: &[String],
        delay: Duration,
    ) -> Result<BTreeMap<String, String>, ProxyError> {
        self.ask_with_delay(&Call::yplookup_all(tags), delay).await
    }
}
