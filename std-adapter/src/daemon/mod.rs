//! The daemon: serves Pyro objects to Python (and Rust) proxies over TCP or a Unix socket.
//!
//! A thin loop over `pyro5_core::server`: sockets, threads, time and randomness here, every
//! protocol decision in the core's `ServerConnection`.

mod buffers;
mod connection;
mod daemon_connection;
mod multiplex;
mod oneway;
mod registry;
mod resources;
mod threaded;

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use pyro5_core::limits::Limits;
use pyro5_core::rng::Rng;
use pyro5_core::server::streams::StreamsVec;
use pyro5_core::server::{
    AsyncCall, ClassInfo, ConnectionId, HandshakeValidator, PyroObject, Server, ServerConfig, StreamConfig,
    StreamStore, WireTap,
};
use pyro5_core::wire::{Annotation, AnnotationId};

pub use daemon_connection::DaemonConnection;
use registry::SharedRegistry;
pub use registry::{Creator, InstanceMode, SharedObject};
pub use resources::{Resource, Resources};

use crate::config::Config;
use crate::transport::{Listener, ListenerSocket, Stream};

/// Pyro's two server types.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum ServerType {
    /// A thread per client connection, at most `threadpool_size` at once (Pyro's default).
    #[default]
    Thread,
    /// One thread serving every connection from a readiness loop.
    Multiplex,
}

impl fmt::Display for ServerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Thread => "thread",
            Self::Multiplex => "multiplex",
        })
    }
}

impl std::str::FromStr for ServerType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "thread" => Ok(Self::Thread),
            "multiplex" => Ok(Self::Multiplex),
            other => Err(format!("invalid server type '{other}' (thread or multiplex)")),
        }
    }
}

/// How a daemon binds and behaves (Pyro's config items for daemons).
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    /// Host name or address to bind (`HOST`, default `localhost`); IPv6 addresses may be
    /// given with or without brackets.
    pub host: String,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// Bind a Unix domain socket at this path instead of TCP (Unix only: elsewhere
    /// [`Daemon::new`] fails with [`io::ErrorKind::Unsupported`]). A path starting with a
    /// NUL byte names a socket in Linux's abstract namespace, as Python's
    /// `unixsocket="\0name"`: no file, and the URI's location is `./u:` and that name.
    pub unix_socket: Option<PathBuf>,
    /// The host advertised in URIs when behind NAT (`NATHOST`).
    pub nat_host: Option<String>,
    /// The port advertised with `nat_host`; 0 = the bound port (`NATPORT`).
    pub nat_port: u16,
    /// Thread pool or multiplexed (`SERVERTYPE`).
    pub server_type: ServerType,
    /// Largest `data + annotations` accepted and sent (`MAX_MESSAGE_SIZE`).
    pub max_message_size: u32,
    /// Close a connection idle this long, or whose reply cannot be sent for this long
    /// (`COMMTIMEOUT`; `None` = never idle out, and 10 s for a reply).
    pub comm_timeout: Option<Duration>,
    /// The thread server's most connections at once (`THREADPOOL_SIZE`); further clients
    /// get CONNECTFAIL "no free workers, increase server threadpool size", as Python's.
    pub max_connections: usize,
    /// The multiplexed server's most connections at once (not a Python item: Python's
    /// multiplexed server has no cap; default [`MAX_CONNECTIONS_MULTIPLEX`]); further
    /// clients get CONNECTFAIL "too many connections, increase max_connections_multiplex".
    ///
    /// [`MAX_CONNECTIONS_MULTIPLEX`]: crate::config::MAX_CONNECTIONS_MULTIPLEX
    pub max_connections_multiplex: usize,
    /// `SO_REUSEADDR` on the listening socket (`SOCK_REUSE`).
    pub sock_reuse: bool,
    /// `TCP_NODELAY` on accepted connections (`SOCK_NODELAY`).
    pub sock_nodelay: bool,
    /// Log every message received and sent at debug level (`LOGWIRE`).
    pub logwire: bool,
    /// Compress replies over 100 bytes (`COMPRESSION`).
    pub compression: bool,
    /// Item streaming (`ITER_STREAMING`, `ITER_STREAM_LIFETIME`, `ITER_STREAM_LINGER`).
    pub streams: StreamConfig,
    /// At most this many item streams open at once.
    pub max_streams: usize,
    /// At most this many threads run oneway calls (Pyro's `ONEWAY_THREADED`), with at most
    /// 256 more calls waiting for them; beyond that a oneway call runs in the connection's
    /// thread. 0 runs every oneway call there.
    pub max_oneway_threads: usize,
    /// Annotations sent with every reply (`Daemon.annotations()`).
    pub annotations: Vec<(AnnotationId, Vec<u8>)>,
    /// TLS (Pyro's `SSL`, with the `SSL_*` items; `None`: plain TCP): every client
    /// connection speaks TLS.
    pub tls: Option<crate::tls::ServerTls>,
}

impl Default for DaemonConfig {
    /// Pyro's defaults ([`Config::default`]), a free port.
    fn default() -> Self {
        Self::from(&Config::default())
    }
}

impl From<&Config> for DaemonConfig {
    /// The daemon's items of `config` (`HOST`, `NATHOST`, `NATPORT`, `SERVERTYPE`,
    /// `MAX_MESSAGE_SIZE`, `COMMTIMEOUT`, `THREADPOOL_SIZE`, `COMPRESSION`, `ITER_*`,
    /// `SOCK_REUSE`, `SOCK_NODELAY`, `LOGWIRE`), port 0 (a free one) and no Unix socket.
    fn from(config: &Config) -> Self {
        let millis = |secs: f64| {
            crate::config::positive_secs(secs).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        };
        Self {
            host: config.host.clone(),
            port: 0,
            unix_socket: None,
            nat_host: config.nathost.clone(),
            nat_port: config.natport,
            server_type: config.servertype,
            max_message_size: config.max_message_size,
            comm_timeout: config.commtimeout_duration(),
            max_connections: config.threadpool_size,
            max_connections_multiplex: config.max_connections_multiplex,
            sock_reuse: config.sock_reuse,
            sock_nodelay: config.sock_nodelay,
            logwire: config.logwire,
            compression: config.compression,
            streams: StreamConfig {
                enabled: config.iter_streaming,
                lifetime_ms: millis(config.iter_stream_lifetime),
                linger_ms: millis(config.iter_stream_linger),
            },
            max_streams: 1024,
            max_oneway_threads: 64,
            annotations: Vec::new(),
            tls: crate::tls::ServerItems::of(config).map(crate::tls::ServerTls::Items),
        }
    }
}

/// Why the daemon refused a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonError {
    /// Another object has this id (Pyro: "an object or class is already registered with that id").
    IdTaken(String),
    /// The id is not registered (Pyro: "object isn't registered").
    NotRegistered(String),
    /// The object (of this Python class) has async methods, and no async daemon serves this
    /// daemon.
    AsyncMethods(String),
}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IdTaken(id) => write!(f, "an object or class is already registered with that id: {id}"),
            Self::NotRegistered(id) => write!(f, "object isn't registered: {id}"),
            Self::AsyncMethods(class) => write!(
                f,
                "{class} has async methods, which only an async daemon runs: serve this daemon with pyro5_tokio::Daemon \
                 (make it first, then register), or make the methods plain fns"
            ),
        }
    }
}

impl std::error::Error for DaemonError {}

pub(crate) struct Inner {
    pub(crate) config: DaemonConfig,
    pub(crate) registry: SharedRegistry,
    pub(crate) streams: Mutex<StreamsVec>,
    pub(crate) handshake: RwLock<Option<Arc<dyn HandshakeValidator + Send + Sync>>>,
    /// Told of each connection that ends after its handshake was accepted.
    pub(crate) disconnect: RwLock<Option<DisconnectHook>>,
    pub(crate) shutdown: AtomicBool,
    pub(crate) started: Instant,
    pub(crate) next_connection: AtomicU64,
    pub(crate) connections: AtomicUsize,
    /// Refused clients being told so.
    pub(crate) refusing: AtomicUsize,
    pub(crate) oneway: oneway::OnewayPool,
    /// Large receive and transmit buffers, lent to connections.
    pub(crate) buffers: Arc<buffers::Pool>,
    /// Seeds each connection's generator of correlation and stream ids.
    pub(crate) rng: Mutex<Rng>,
    /// `host:port` or `./u:path`, as `info()` and URIs show it.
    pub(crate) location: String,
    pub(crate) nat_location: Option<String>,
    pub(crate) server_type_text: String,
    /// TLS on every client connection.
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    /// Runs the futures of async methods' oneway calls; set by an async daemon serving this
    /// one (objects with async methods are refused without it).
    pub(crate) spawner: RwLock<Option<Spawner>>,
    /// Who is on each connection.
    pub(crate) peers: Peers,
    /// What each connection's client allocated and should free.
    pub(crate) resources: Resources,
}

/// What a daemon calls when a client's connection ends ([`Daemon::set_disconnect_hook`],
/// Pyro's `Daemon.clientDisconnect`), with the connection's id.
pub type DisconnectHook = Arc<dyn Fn(ConnectionId) + Send + Sync>;

/// Runs a future to its end somewhere (an async runtime's `spawn`); its answer goes nowhere.
pub type Spawner = Arc<dyn Fn(AsyncCall) + Send + Sync>;

/// Who is on each connection of a daemon ([`Daemon::peers`]): the client's address and the
/// TLS certificate it showed, for a handshake validator (Python's `validateHandshake` gets
/// the connection, with `conn.getpeercert()`), a method (`ctx.connection`) or the disconnect
/// hook. A handle shared with the daemon, cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Peers(Arc<Mutex<std::collections::HashMap<ConnectionId, Peer>>>);

/// The client on one connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Peer {
    /// Its address (`None` on a Unix socket).
    pub address: Option<std::net::SocketAddr>,
    /// The certificate it showed (DER), on a TLS connection whose client showed one (the
    /// daemon asks for one only with `SSL_REQUIRECLIENTCERT`).
    pub certificate: Option<Arc<[u8]>>,
}

impl Peers {
    /// The client on `connection`, while the connection lasts.
    pub fn get(&self, connection: ConnectionId) -> Option<Peer> {
        self.lock().get(&connection).cloned()
    }

    /// The certificate (DER) of the client on `connection`, if it showed one.
    pub fn certificate(&self, connection: ConnectionId) -> Option<Arc<[u8]>> {
        self.lock().get(&connection).and_then(|p| p.certificate.clone())
    }

    /// The address of the client on `connection`.
    pub fn address(&self, connection: ConnectionId) -> Option<std::net::SocketAddr> {
        self.lock().get(&connection).and_then(|p| p.address)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<ConnectionId, Peer>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn arrived(&self, connection: ConnectionId, address: Option<std::net::SocketAddr>) {
        self.lock().insert(connection, Peer { address, certificate: None });
    }

    pub(crate) fn certified(&self, connection: ConnectionId, der: Vec<u8>) {
        if let Some(peer) = self.lock().get_mut(&connection) {
            peer.certificate = Some(der.into());
        }
    }

    pub(crate) fn left(&self, connection: ConnectionId) {
        self.lock().remove(&connection);
    }
}

impl Inner {
    /// Where the futures of oneway async calls go, if this daemon runs async methods.
    pub(crate) fn spawner(&self) -> Option<Spawner> {
        self.spawner.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Run the future of a oneway async call (its answer goes nowhere).
    pub(crate) fn run_detached(&self, future: AsyncCall) {
        match self.spawner() {
            Some(spawn) => spawn(future),
            // Not reached: the object was refused at registration.
            None => log::error!("a oneway call of an async method was dropped: no async daemon serves this daemon"),
        }
    }

    /// Connection `connection`, past its handshake, ended: tell the disconnect hook (a
    /// panic in it is logged, and goes no further).
    pub(crate) fn client_disconnected(&self, connection: ConnectionId) {
        let Some(hook) = self.disconnect.read().unwrap_or_else(PoisonError::into_inner).clone() else { return };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(connection))).is_err() {
            log::error!("connection {}: the disconnect hook panicked", connection.0);
        }
    }

    pub(crate) fn limits(&self) -> Limits {
        Limits::with_max_message_size(self.config.max_message_size)
    }

    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// 32 random bytes from the daemon's generator (seeded once from the system).
    pub(crate) fn seed(&self) -> [u8; 32] {
        self.rng.lock().unwrap_or_else(PoisonError::into_inner).bytes()
    }

    pub(crate) fn new_connection_id(&self) -> ConnectionId {
        ConnectionId(self.next_connection.fetch_add(1, Ordering::Relaxed))
    }

    /// Run `f` with the core's view of this daemon.
    pub(crate) fn with_server<R>(&self, f: impl FnOnce(&Server<'_>) -> R) -> R {
        let annotations: Vec<Annotation<'_>> =
            self.config.annotations.iter().map(|(id, value)| Annotation::new(*id, value)).collect();
        let config = ServerConfig {
            limits: self.limits(),
            compress: self.config.compression,
            annotations: &annotations,
            streams: self.config.streams,
            location: &self.location,
            nat_location: self.nat_location.as_deref(),
            server_type: &self.server_type_text,
            idle_timeout_ms: self.config.comm_timeout.map(millis),
            send_timeout_ms: Some(millis(self.config.comm_timeout.unwrap_or(SEND_TIMEOUT))),
        };
        let handshake = self.handshake.read().unwrap_or_else(PoisonError::into_inner).clone();
        let server = Server {
            registry: &self.registry,
            streams: &self.streams as &dyn StreamStore,
            config: &config,
            handshake: handshake.as_deref().map(|h| h as &dyn HandshakeValidator),
            tap: self.config.logwire.then_some(&LogWire as &dyn WireTap),
        };
        f(&server)
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Drop the item streams expired by now.
    pub(crate) fn expire_streams(&self) {
        let now = self.now_ms();
        self.with_server(|server| server.handle_timeout(now));
    }
}

/// Milliseconds of `d`, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Pyro's `LOGWIRE`: every message received and sent, at debug level.
struct LogWire;

impl WireTap for LogWire {
    fn received(&self, _: ConnectionId, frame: &[u8]) {
        crate::config::log_wire("daemon wiredata received", frame);
    }
    fn sent(&self, _: ConnectionId, frame: &[u8]) {
        crate::config::log_wire("daemon wiredata sending", frame);
    }
}

/// A Pyro daemon: binds a socket and serves registered objects.
///
/// Cloning gives another handle to the same daemon (for registering objects or shutting it
/// down from another thread).
#[derive(Clone)]
pub struct Daemon {
    inner: Arc<Inner>,
    listener: Arc<Listener>,
}

impl fmt::Debug for Daemon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Daemon {}; {} objects>", self.inner.location, self.inner.registry_count())
    }
}

impl Inner {
    fn registry_count(&self) -> usize {
        use pyro5_core::server::Registry;
        self.registry.count() + 1
    }
}

impl Daemon {
    /// Bind with Pyro's defaults: `localhost`, a free port, the thread pool server (the
    /// environment is not read; see [`with_config`](Self::with_config)).
    ///
    /// # Errors
    /// The socket's error.
    pub fn bind_default() -> io::Result<Self> {
        Self::new(DaemonConfig::default())
    }

    /// Bind on a free port as `config` says (Python's `Daemon()` with its config items;
    /// `Daemon::with_config(&Config::from_env()?)` is Python's `Daemon()` in a Pyro
    /// process); [`DaemonConfig::from`] tells which items count.
    ///
    /// # Errors
    /// As [`new`](Self::new); for the thread server, Python's thread pool texts when
    /// `THREADPOOL_SIZE` or `THREADPOOL_SIZE_MIN` is under 1 ("threadpool sizes must be
    /// greater than zero") or the minimum is above the size ("minimum threadpool size must
    /// be less than or equal to max size").
    pub fn with_config(config: &Config) -> io::Result<Self> {
        if config.servertype == ServerType::Thread {
            if config.threadpool_size < 1 || config.threadpool_size_min < 1 {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "threadpool sizes must be greater than zero"));
            }
            if config.threadpool_size_min > config.threadpool_size {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "minimum threadpool size must be less than or equal to max size",
                ));
            }
        }
        Self::new(DaemonConfig::from(config))
    }

    /// Bind as `config` says.
    ///
    /// # Errors
    /// Invalid NAT settings, or the socket's error.
    pub fn new(config: DaemonConfig) -> io::Result<Self> {
        if config.server_type == ServerType::Thread && config.max_connections < 1 {
            // Python's thread pool refuses to start so.
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "threadpool sizes must be greater than zero"));
        }
        if config.nat_host.is_some() && config.unix_socket.is_some() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot use nathost together with unixsocket"));
        }
        let listener = match &config.unix_socket {
            Some(path) => Listener::bind_unix(path.clone())?,
            None => Listener::bind_tcp(&config.host, config.port, config.sock_reuse, config.sock_nodelay)?,
        };
        let location = match (&config.unix_socket, listener.local_port()) {
            (Some(path), _) => format!("./u:{}", path.display()),
            (None, port) => format!("{}:{}", bracketed(&config.host), port.unwrap_or(0)),
        };
        let nat_location = config.nat_host.as_ref().map(|host| {
            let port = if config.nat_port == 0 { listener.local_port().unwrap_or(0) } else { config.nat_port };
            format!("{}:{port}", bracketed(host))
        });
        let server_type_text = match config.server_type {
            ServerType::Thread => format!("<pyro5-rs thread pool server on {location}>"),
            ServerType::Multiplex => format!("<pyro5-rs multiplexed server on {location}>"),
        };
        let config_oneway_threads = config.max_oneway_threads;
        let tls = config.tls.as_ref().map(crate::tls::ServerTls::rustls).transpose()?;
        let inner = Inner {
            tls,
            streams: Mutex::new(StreamsVec::new(config.max_streams)),
            config,
            registry: SharedRegistry::default(),
            handshake: RwLock::new(None),
            disconnect: RwLock::new(None),
            shutdown: AtomicBool::new(false),
            started: Instant::now(),
            next_connection: AtomicU64::new(1),
            connections: AtomicUsize::new(0),
            refusing: AtomicUsize::new(0),
            oneway: oneway::OnewayPool::new(config_oneway_threads),
            spawner: RwLock::new(None),
            peers: Peers::default(),
            resources: Resources::default(),
            buffers: Arc::default(),
            rng: Mutex::new(Rng::from_seed(system_seed())),
            location,
            nat_location,
            server_type_text,
        };
        Ok(Self { inner: Arc::new(inner), listener: Arc::new(listener) })
    }

    /// Where the daemon listens: `host:port` or `./u:path` (Pyro's `locationStr`).
    pub fn location(&self) -> &str {
        &self.inner.location
    }

    /// The bound TCP port.
    pub fn port(&self) -> Option<u16> {
        self.listener.local_port()
    }

    /// The URI for object `id` (with the NAT location when configured).
    pub fn uri_for(&self, id: &str) -> String {
        let location = self.inner.nat_location.as_deref().unwrap_or(&self.inner.location);
        format!("PYRO:{id}@{location}")
    }

    fn object_id(&self, id: Option<&str>) -> String {
        match id {
            Some(id) => id.to_string(),
            None => {
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&self.inner.seed()[..16]);
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                format!("obj_{hex}")
            }
        }
    }

    /// Serve `object` as `id` (or a generated `obj_<hex>` id), shared by every client;
    /// returns its URI.
    ///
    /// # Errors
    /// [`DaemonError::IdTaken`].
    pub fn register<O: PyroObject + Send + 'static>(&self, object: O, id: Option<&str>) -> Result<String, DaemonError> {
        self.register_shared(Arc::new(Mutex::new(object)), id)
    }

    /// Serve `object` so that calls run at the same time, as calls on a Python object do:
    /// each call gets its own clone, so the object keeps its shared state behind its own
    /// locks (e.g. `Arc<Mutex<..>>` or atomics). [`register`](Self::register) instead
    /// serializes calls on one object with a lock, and a slow method then holds up the
    /// others (oneway ones included).
    ///
    /// # Errors
    /// [`DaemonError::IdTaken`].
    pub fn register_concurrent<O>(&self, object: O, id: Option<&str>) -> Result<String, DaemonError>
    where
        O: PyroObject + Clone + Send + Sync + 'static,
    {
        self.register_class(InstanceMode::PerCall, move || object.clone(), id)
    }

    /// Serve an object that is shared with other code.
    ///
    /// # Errors
    /// [`DaemonError::IdTaken`].
    pub fn register_shared(&self, object: SharedObject, id: Option<&str>) -> Result<String, DaemonError> {
        let (is_async, class) = {
            let object = object.lock().unwrap_or_else(PoisonError::into_inner);
            (object.has_async_methods(), object.metadata().class_name)
        };
        self.check_async(is_async, class)?;
        let id = self.object_id(id);
        if id == pyro5_core::server::DAEMON_OBJECT_ID || !self.inner.registry.insert_object(id.clone(), object) {
            return Err(DaemonError::IdTaken(id));
        }
        Ok(self.uri_for(&id))
    }

    /// Serve a class: instances made by `creator`, one per daemon, per connection or per call
    /// (Pyro's `@behavior(instance_mode=...)`); returns its URI. The first instance is made
    /// for the first call that needs it (an `#[expose]` type tells its metadata without one;
    /// a hand-written [`PyroObject`] whose [`PyroObject::class_info`] is `None` gets one
    /// instance made here to ask).
    ///
    /// # Errors
    /// [`DaemonError::IdTaken`].
    pub fn register_class<O, F>(&self, mode: InstanceMode, creator: F, id: Option<&str>) -> Result<String, DaemonError>
    where
        O: PyroObject + Send + 'static,
        F: Fn() -> O + Send + Sync + 'static,
    {
        // What the class exposes, from the type when it says (`#[expose]`), as Python reads
        // it from the class; otherwise from an instance made for the purpose.
        let info = O::class_info().unwrap_or_else(|| {
            let sample = creator();
            ClassInfo { metadata: sample.metadata(), has_async_methods: sample.has_async_methods() }
        });
        let (is_async, metadata) = (info.has_async_methods, info.metadata);
        let creator: Creator = Arc::new(move || Box::new(creator()) as Box<dyn PyroObject + Send>);
        self.check_async(is_async, metadata.class_name)?;
        let id = self.object_id(id);
        if id == pyro5_core::server::DAEMON_OBJECT_ID
            || !self.inner.registry.insert_class(id.clone(), mode, creator, metadata)
        {
            return Err(DaemonError::IdTaken(id));
        }
        Ok(self.uri_for(&id))
    }

    /// Run async methods (`async fn` in an `#[expose]` impl): the loop serving this daemon
    /// runs their futures (it takes calls with [`DaemonConnection::start`]), and `spawner`
    /// runs those of oneway calls. An async daemon (`pyro5_tokio::Daemon`) sets this; without
    /// it, objects with async methods are refused at registration
    /// ([`DaemonError::AsyncMethods`]), since the thread and multiplex servers run no futures.
    pub fn run_async_methods(&self, spawner: Spawner) {
        *self.inner.spawner.write().unwrap_or_else(PoisonError::into_inner) = Some(spawner);
    }

    /// The TLS configuration of the daemon's connections (`SSL`), for a loop that accepts
    /// clients itself (an async runtime's listener: put TLS on each client before it drives
    /// the [`DaemonConnection`], and tell it the client's certificate). [`accept`](Self::accept)
    /// does this by itself.
    pub fn tls_config(&self) -> Option<Arc<rustls::ServerConfig>> {
        self.inner.tls.clone()
    }

    /// Who is on each of the daemon's connections (address, TLS certificate): capture this
    /// handle in a handshake validator (Pyro's `validateHandshake` reading
    /// `conn.getpeercert()`) or an object, to allow-list clients, or in the
    /// [disconnect hook](Self::set_disconnect_hook), which runs before the client is forgotten.
    pub fn peers(&self) -> Peers {
        self.inner.peers.clone()
    }

    fn check_async(&self, is_async: bool, class: &str) -> Result<(), DaemonError> {
        if is_async && self.inner.spawner().is_none() {
            return Err(DaemonError::AsyncMethods(class.to_string()));
        }
        Ok(())
    }

    /// Stop serving `id`.
    ///
    /// # Errors
    /// [`DaemonError::NotRegistered`].
    pub fn unregister(&self, id: &str) -> Result<(), DaemonError> {
        if self.inner.registry.remove(id) { Ok(()) } else { Err(DaemonError::NotRegistered(id.to_string())) }
    }

    /// Whether `id` is registered.
    pub fn is_registered(&self, id: &str) -> bool {
        self.inner.registry.contains(id)
    }

    /// A proxy for registered object `id`, to return from a method (Pyro's autoproxy): the
    /// client receives a `Pyro5.client.Proxy` for it.
    ///
    /// # Errors
    /// [`DaemonError::NotRegistered`].
    pub fn proxy_for(&self, id: &str) -> Result<crate::ObjectProxy, DaemonError> {
        let metadata = self.inner.registry.metadata(id).ok_or_else(|| DaemonError::NotRegistered(id.to_string()))?;
        Ok(crate::ObjectProxy::new(self.uri_for(id), metadata))
    }

    /// The resources tracked for each client connection (Pyro's
    /// `current_context.track_resource`): capture this handle in an object, track what a
    /// call allocates for its client (`ctx.connection`), untrack it when the client frees
    /// it; the daemon closes what is still tracked when the client's connection ends.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use pyro5_std::core::server::CallContext;
    /// use pyro5_std::{Daemon, Resource, Resources, expose};
    ///
    /// struct Lease(String);
    ///
    /// impl Resource for Lease {
    ///     fn close(&self) {
    ///         println!("{} given back: its client is gone", self.0);
    ///     }
    /// }
    ///
    /// struct Leases {
    ///     resources: Resources,
    ///     held: std::sync::Mutex<Vec<Arc<Lease>>>,
    /// }
    ///
    /// #[expose]
    /// impl Leases {
    ///     fn take(&self, name: String, ctx: &CallContext<'_>) {
    ///         let lease = Arc::new(Lease(name));
    ///         self.resources.track(ctx.connection, &lease);
    ///         self.held.lock().unwrap().push(lease);
    ///     }
    /// }
    ///
    /// let daemon = Daemon::new(Default::default())?;
    /// let leases = Leases { resources: daemon.resources(), held: Default::default() };
    /// daemon.register(leases, Some("leases"))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resources(&self) -> Resources {
        self.inner.resources.clone()
    }

    /// Check every client's handshake data (Pyro's `validateHandshake`).
    pub fn set_handshake_validator(&self, validator: impl HandshakeValidator + Send + Sync + 'static) {
        *self.inner.handshake.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(validator));
    }

    /// Call `hook` with a connection's id each time a client's connection ends (Pyro's
    /// `Daemon.clientDisconnect`), once per connection, whatever ended it: the client closed
    /// it or went away, an error, the idle timeout (`COMMTIMEOUT`), a Pyro object that
    /// panicked, or the daemon's shutdown (every connection ends then, before the request
    /// loop returns). As in Pyro, only connections whose handshake was accepted count: not
    /// a client the [handshake validator](Self::set_handshake_validator) refused, one
    /// refused for want of room, or one gone before its handshake. Every server type calls
    /// it (thread, multiplex, the `pyro5-tokio` daemon, a loop of your own through
    /// [`DaemonConnection`]: when the connection is dropped).
    ///
    /// While `hook` runs, [`peers`](Self::peers) still knows the connection's client (its
    /// address, its TLS certificate); its per-connection objects are gone already, its item
    /// streams linger. It runs in the thread (or task) that served the connection, which
    /// waits for it: keep it short. A panic in it is logged and goes no further. Setting
    /// another hook replaces this one.
    ///
    /// ```no_run
    /// # fn main() -> std::io::Result<()> {
    /// use pyro5_std::{Daemon, DaemonConfig};
    ///
    /// let daemon = Daemon::new(DaemonConfig::default())?;
    /// let peers = daemon.peers();
    /// daemon.set_disconnect_hook(move |connection| match peers.address(connection) {
    ///     Some(address) => println!("client disconnects: {address}"),
    ///     None => println!("client disconnects (Unix socket)"),
    /// });
    /// daemon.request_loop()
    /// # }
    /// ```
    pub fn set_disconnect_hook(&self, hook: impl Fn(ConnectionId) + Send + Sync + 'static) {
        *self.inner.disconnect.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(hook));
    }

    /// Serve until [`shutdown`](Self::shutdown) is called.
    ///
    /// # Errors
    /// The listening socket's error.
    pub fn request_loop(&self) -> io::Result<()> {
        self.request_loop_while(|| true)
    }

    /// Serve while `condition` holds (checked several times a second; Pyro's
    /// `loopCondition`).
    ///
    /// # Errors
    /// The listening socket's error.
    pub fn request_loop_while(&self, condition: impl Fn() -> bool) -> io::Result<()> {
        let keep_going = || condition() && !self.inner.is_shutting_down();
        let result = match self.inner.config.server_type {
            ServerType::Thread => threaded::serve(&self.inner, &self.listener, &keep_going),
            ServerType::Multiplex => multiplex::serve(&self.inner, &self.listener, &keep_going),
        };
        self.inner.shutdown.store(true, Ordering::Release);
        self.inner.streams.clear();
        result
    }

    /// Stop serving: the request loop returns, connections close, streams are dropped.
    pub fn shutdown(&self) {
        self.inner.shutdown.store(true, Ordering::Release);
    }

    /// How many item streams are open (lingering ones included).
    pub fn stream_count(&self) -> usize {
        self.inner.streams.count()
    }

    /// How many client connections are open.
    pub fn connection_count(&self) -> usize {
        self.inner.connections.load(Ordering::Relaxed)
    }

    // Serving from a loop of your own (`docs/server-connection.md`, "Your own event loop").

    /// How it was configured.
    pub fn config(&self) -> &DaemonConfig {
        &self.inner.config
    }

    /// A connection for a client your loop accepted (from [`listener_socket`](Self::listener_socket)
    /// or its own way), `peer` its address (`None` on a Unix socket): see
    /// [`DaemonConnection`]. Past the connection limit it is a refused one (the client is
    /// told Pyro's CONNECTFAIL text), past too many refusals at once a closed one (drop the
    /// socket at once).
    pub fn connection(&self, peer: Option<std::net::SocketAddr>) -> DaemonConnection {
        self.inner.connection(peer)
    }

    /// Accept a client waiting on the daemon's listening socket, without blocking (the
    /// listening socket is non-blocking from then on): the client's socket (non-blocking,
    /// `TCP_NODELAY` as configured) and its [`connection`](Self::connection). `Ok(None)`:
    /// nobody waits.
    ///
    /// # Errors
    /// The listening socket's error (e.g. out of file descriptors).
    pub fn accept(&self) -> io::Result<Option<(Stream, DaemonConnection)>> {
        self.listener.set_nonblocking(true)?;
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    stream.set_nonblocking(true)?;
                    let stream = stream.accept_tls(self.inner.tls.as_ref())?;
                    return Ok(Some((stream, self.connection(peer))));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// A handle on the daemon's listening socket (a duplicate of it), for a loop that
    /// accepts clients itself (e.g. an async runtime's listener).
    ///
    /// # Errors
    /// The system's error duplicating the socket.
    pub fn listener_socket(&self) -> io::Result<ListenerSocket> {
        self.listener.duplicate()
    }

    /// When the daemon's item streams next expire (their lifetime or linger): call
    /// [`handle_timeout`](Self::handle_timeout) then. `None`: none can now (a call may make
    /// one later: look again after serving calls).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ms = self.inner.with_server(|server| server.poll_timeout())?;
        Some(self.inner.instant(ms))
    }

    /// Drop the item streams expired by now.
    pub fn handle_timeout(&self) {
        self.inner.expire_streams();
    }

    /// Whether [`shutdown`](Self::shutdown) was called (or a request loop ended).
    pub fn is_shutting_down(&self) -> bool {
        self.inner.is_shutting_down()
    }

    /// A loop of your own stopped serving: the daemon is shut down and its item streams are
    /// dropped, as when [`request_loop`](Self::request_loop) returns (the listening socket
    /// closes when the last handle of the daemon goes).
    pub fn close(&self) {
        self.inner.shutdown.store(true, Ordering::Release);
        self.inner.streams.clear();
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for Daemon {
    /// The listening socket, to watch for readability (a client to accept).
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.listener.raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for Daemon {
    /// The listening socket, to watch for readability (a client to accept).
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd;
        self.listener.raw_fd().as_fd().as_raw_fd()
    }
}

/// 32 bytes from the system's generator, or (none available) from the clock and process id.
fn system_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if getrandom::fill(&mut seed).is_err() {
        let mut rng = fastrand::Rng::new();
        seed.iter_mut().for_each(|b| *b = rng.u8(..));
    }
    seed
}

fn bracketed(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() }
}

/// How long a reply may take to leave when no `comm_timeout` is set.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a refused client has to send its CONNECT for the CONNECTFAIL answer.
pub(crate) const REFUSAL_TIME: Duration = Duration::from_secs(2);

/// How often loops wake up to check for shutdown and do housekeeping.
pub(crate) const TICK: Duration = Duration::from_millis(100);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::echo::EchoServer;

    #[test]
    fn daemon_config_from_config_takes_the_daemon_items() {
        let d = DaemonConfig::default();
        assert_eq!((d.host.as_str(), d.server_type, d.max_connections), ("localhost", ServerType::Thread, 80));
        assert_eq!((d.comm_timeout, d.sock_reuse, d.sock_nodelay, d.logwire), (None, true, false, false));
        assert_eq!((d.streams.enabled, d.streams.lifetime_ms, d.streams.linger_ms), (true, 0, 30_000));
        assert_eq!((d.max_message_size, d.max_connections_multiplex), (1 << 30, 10_000));
        let mut config = Config::default();
        for (item, value) in [
            ("HOST", "127.0.0.1"),
            ("SERVERTYPE", "multiplex"),
            ("THREADPOOL_SIZE", "7"),
            ("COMMTIMEOUT", "0.25"),
            ("SOCK_REUSE", "no"),
            ("SOCK_NODELAY", "yes"),
            ("LOGWIRE", "on"),
            ("COMPRESSION", "true"),
            ("MAX_MESSAGE_SIZE", "5000"),
            ("ITER_STREAMING", "0"),
            ("ITER_STREAM_LIFETIME", "1.5"),
            ("ITER_STREAM_LINGER", "0"),
            ("NATHOST", "nat"),
            ("NATPORT", "99"),
        ] {
            config.set(item, value).unwrap();
        }
        let d = DaemonConfig::from(&config);
        assert!(Daemon::with_config(&config).is_ok(), "multiplexed: no thread pool to check");
        config.servertype = ServerType::Thread;
        assert!(Daemon::with_config(&config).is_ok(), "7 >= 4");
        config.threadpool_size = 3;
        let err = Daemon::with_config(&config).unwrap_err();
        assert_eq!(err.to_string(), "minimum threadpool size must be less than or equal to max size");
        config.threadpool_size = 0;
        let err = Daemon::with_config(&config).unwrap_err();
        assert_eq!(err.to_string(), "threadpool sizes must be greater than zero");
        let thread_config = DaemonConfig { max_connections: 0, ..DaemonConfig::default() };
        assert_eq!(Daemon::new(thread_config).unwrap_err().to_string(), "threadpool sizes must be greater than zero");
        assert_eq!((d.host.as_str(), d.server_type, d.max_connections), ("127.0.0.1", ServerType::Multiplex, 7));
        assert_eq!(
            (d.comm_timeout, d.sock_reuse, d.sock_nodelay, d.logwire),
            (Some(Duration::from_millis(250)), false, true, true)
        );
        assert_eq!((d.streams.enabled, d.streams.lifetime_ms, d.streams.linger_ms), (false, 1500, 0));
        assert_eq!(
            (d.compression, d.max_message_size, d.nat_host.as_deref(), d.nat_port),
            (true, 5000, Some("nat"), 99)
        );
    }

    #[test]
    fn generated_ids_nat_locations_and_registration_rules() {
        let config =
            DaemonConfig { nat_host: Some("pyro.example.org".into()), nat_port: 5555, ..DaemonConfig::default() };
        let daemon = Daemon::new(config).unwrap();
        let uri = daemon.register(EchoServer::new(), None).unwrap();
        let id = uri.strip_prefix("PYRO:").and_then(|rest| rest.strip_suffix("@pyro.example.org:5555")).unwrap();
        assert!(id.len() == 36 && id.starts_with("obj_") && id[4..].bytes().all(|b| b.is_ascii_hexdigit()), "{uri}");
        assert!(daemon.location().starts_with("localhost:"), "{}", daemon.location());
        assert_eq!(
            daemon.register(EchoServer::new(), Some(id)),
            Err(DaemonError::IdTaken(id.to_string())),
            "ids are unique"
        );
        assert!(daemon.register(EchoServer::new(), Some("Pyro.Daemon")).is_err(), "the daemon's own id is taken");
        assert!(daemon.is_registered(id));
        daemon.unregister(id).unwrap();
        assert!(!daemon.is_registered(id));
        assert_eq!(daemon.unregister(id), Err(DaemonError::NotRegistered(id.to_string())));
        // NAT port 0: the bound port is advertised.
        let config = DaemonConfig { nat_host: Some("10.1.2.3".into()), ..DaemonConfig::default() };
        let daemon = Daemon::new(config).unwrap();
        assert_eq!(daemon.uri_for("x"), format!("PYRO:x@10.1.2.3:{}", daemon.port().unwrap()));
        // NAT and a Unix socket do not go together, as in Pyro.
        let config = DaemonConfig {
            nat_host: Some("h".into()),
            unix_socket: Some(std::env::temp_dir().join("pyro5-rs-nat.sock")),
            ..DaemonConfig::default()
        };
        assert!(Daemon::new(config).is_err());
    }
}
