//! Pyro's configuration items (Python's `Pyro5.config`): names, types, defaults and the
//! `PYRO_*` environment variables, read as Pyro5 5.17's `Pyro5/configure.py` reads them.
//!
//! ```
//! use pyro5_std::config::Config;
//! let mut config = Config::default();
//! config.set("NS_PORT", "9999")?;
//! config.set("COMPRESSION", "on")?;
//! assert_eq!(config.ns_port, 9999);
//! assert_eq!(config.get("COMPRESSION").as_deref(), Some("True"));
//! assert!(config.set("NS_PORT", "abc").is_err());
//! # Ok::<(), pyro5_std::config::ConfigError>(())
//! ```
//!
//! [`Config::from_env`] starts from the defaults and applies every `PYRO_<ITEM>` variable;
//! an unknown item or a value that does not parse is an error with Python's `ValueError`
//! text, never a silent default. Booleans take `1/0`, `yes/no`, `on/off`, `true/false` in
//! any case; integers and floats follow Python's `int()` and `float()`; `BROADCAST_ADDRS` is
//! a comma-separated list. Every item is described in `docs/configuration.md`.

use std::fmt;
use std::time::Duration;

use pyro5_core::limits::DEFAULT_MAX_MESSAGE_SIZE;

use crate::daemon::ServerType;
use crate::proxy::Serializer;

/// The Python Pyro5 version whose configuration this follows.
pub const PYRO_VERSION: &str = "5.17";

/// The prefix of Pyro's environment variables.
pub const ENV_PREFIX: &str = "PYRO_";

/// Every item, in the order of Python's `Configuration.__slots__`.
pub const ITEMS: [&str; 39] = [
    "HOST",
    "NS_HOST",
    "NS_PORT",
    "NS_BCPORT",
    "NS_BCHOST",
    "NS_AUTOCLEAN",
    "NS_LOOKUP_DELAY",
    "NATHOST",
    "NATPORT",
    "COMPRESSION",
    "SERVERTYPE",
    "COMMTIMEOUT",
    "POLLTIMEOUT",
    "MAX_RETRIES",
    "SOCK_REUSE",
    "SOCK_NODELAY",
    "DETAILED_TRACEBACK",
    "THREADPOOL_SIZE",
    "THREADPOOL_SIZE_MIN",
    "MAX_MESSAGE_SIZE",
    "BROADCAST_ADDRS",
    "PREFER_IP_VERSION",
    "SERIALIZER",
    "SERPENT_BYTES_REPR",
    "ITER_STREAMING",
    "ITER_STREAM_LIFETIME",
    "ITER_STREAM_LINGER",
    "LOGFILE",
    "LOGLEVEL",
    "LOGWIRE",
    "SSL",
    "SSL_SERVERCERT",
    "SSL_SERVERKEY",
    "SSL_SERVERKEYPASSWD",
    "SSL_REQUIRECLIENTCERT",
    "SSL_CLIENTCERT",
    "SSL_CLIENTKEY",
    "SSL_CLIENTKEYPASSWD",
    "SSL_CACERTS",
];

/// The log levels `LOGLEVEL` takes (Python's `logging` level names).
pub const LOG_LEVELS: [&str; 8] = ["CRITICAL", "FATAL", "ERROR", "WARNING", "WARN", "INFO", "DEBUG", "NOTSET"];

/// The default of [`Config::max_connections_multiplex`].
pub const MAX_CONNECTIONS_MULTIPLEX: usize = 10_000;

/// Pyro's configuration; field names are Python's item names in lower case.
///
/// Float items are seconds as Python keeps them (`f64`); the methods ending in `_duration`
/// give them as `Duration`s with Pyro's meaning of 0 (none).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `HOST`: the host a daemon binds to (default `localhost`).
    pub host: String,
    /// `NS_HOST`: where the name server is (default `localhost`).
    pub ns_host: String,
    /// `NS_PORT`: the name server's port (default 9090).
    pub ns_port: u16,
    /// `NS_BCPORT`: the name server's broadcast port (default 9091).
    pub ns_bcport: u16,
    /// `NS_BCHOST`: the host the broadcast responder binds to (default `None`: all).
    pub ns_bchost: Option<String>,
    /// `NS_AUTOCLEAN`: seconds between the name server's checks of its registrations
    /// (default 0.0: off; otherwise at least 3).
    pub ns_autoclean: f64,
    /// `NS_LOOKUP_DELAY`: how long an unknown name is asked for again (default 0.0).
    pub ns_lookup_delay: f64,
    /// `NATHOST`: the host a daemon advertises in its URIs behind NAT (default `None`).
    pub nathost: Option<String>,
    /// `NATPORT`: the port advertised with `NATHOST`; 0 = the bound port (default 0).
    pub natport: u16,
    /// `COMPRESSION`: compress messages over 100 bytes (default `False`).
    pub compression: bool,
    /// `SERVERTYPE`: `thread` (default) or `multiplex`.
    pub servertype: ServerType,
    /// `COMMTIMEOUT`: socket timeout in seconds; 0.0 = none (default).
    pub commtimeout: f64,
    /// `POLLTIMEOUT`: how often Python's server loops wake up (default 2.0; parsed and
    /// shown: the loops here wake every 100 ms).
    pub polltimeout: f64,
    /// `MAX_RETRIES`: how often a proxy call is retried after a closed connection (default 0).
    pub max_retries: u32,
    /// `SOCK_REUSE`: `SO_REUSEADDR` on server sockets (default `True`).
    pub sock_reuse: bool,
    /// `SOCK_NODELAY`: `TCP_NODELAY` on connections (default `False`).
    pub sock_nodelay: bool,
    /// `DETAILED_TRACEBACK`: Python's tracebacks with local variables (default `False`;
    /// parsed and shown, Rust has no such tracebacks).
    pub detailed_traceback: bool,
    /// `THREADPOOL_SIZE`: the thread server's most connections at once (default 80).
    pub threadpool_size: usize,
    /// `THREADPOOL_SIZE_MIN`: threads Python's pool keeps (default 4; only checked as
    /// Python checks it, by [`Daemon::with_config`](crate::Daemon::with_config): the threads
    /// here are made per connection).
    pub threadpool_size_min: usize,
    /// `MAX_MESSAGE_SIZE`: the largest message sent or received (default 1 GiB).
    pub max_message_size: u32,
    /// `BROADCAST_ADDRS`: where name server discovery broadcasts go (default
    /// `<broadcast>, 0.0.0.0`).
    pub broadcast_addrs: Vec<String>,
    /// `PREFER_IP_VERSION`: 4, 6 or 0 (default: as the system resolves).
    pub prefer_ip_version: i64,
    /// `SERIALIZER`: what proxies speak (default serpent).
    pub serializer: Serializer,
    /// `SERPENT_BYTES_REPR`: Python serpent's bytes as repr (default `False`; parsed and
    /// shown, our serpent always writes Python's default base64 form).
    pub serpent_bytes_repr: bool,
    /// `ITER_STREAMING`: whether a daemon returns item streams (default `True`).
    pub iter_streaming: bool,
    /// `ITER_STREAM_LIFETIME`: the longest an item stream lives; 0.0 = no limit (default).
    pub iter_stream_lifetime: f64,
    /// `ITER_STREAM_LINGER`: how long a stream outlives its connection (default 30.0).
    pub iter_stream_linger: f64,
    /// `LOGFILE`: the tools' log file; `{stderr}` and `{stdout}` are the streams (default
    /// `pyro5.log`).
    pub logfile: String,
    /// `LOGLEVEL`: the tools' log level (`DEBUG`, `INFO`, `WARNING`, `ERROR`,
    /// `CRITICAL`); `None` (default) = no logging.
    pub loglevel: Option<String>,
    /// `LOGWIRE`: log every message sent and received at debug level (default `False`).
    pub logwire: bool,
    /// `SSL`: TLS on every connection of daemons and proxies (default `False`; see
    /// [`tls`](crate::tls)).
    pub ssl: bool,
    /// `SSL_SERVERCERT`: a daemon's certificate chain (PEM file).
    pub ssl_servercert: String,
    /// `SSL_SERVERKEY`: its private key (PEM file; empty: in the certificate's file).
    pub ssl_serverkey: String,
    /// `SSL_SERVERKEYPASSWD`: the key's password (protected keys are refused with a clear
    /// error: decrypt them).
    pub ssl_serverkeypasswd: String,
    /// `SSL_REQUIRECLIENTCERT`: a daemon asks clients for a certificate and checks it
    /// against `SSL_CACERTS`.
    pub ssl_requireclientcert: bool,
    /// `SSL_CLIENTCERT`: a proxy's certificate (PEM file), shown when the daemon asks.
    pub ssl_clientcert: String,
    /// `SSL_CLIENTKEY`: its private key (PEM file; empty: in the certificate's file).
    pub ssl_clientkey: String,
    /// `SSL_CLIENTKEYPASSWD`: the key's password (as `SSL_SERVERKEYPASSWD`).
    pub ssl_clientkeypasswd: String,
    /// `SSL_CACERTS`: trusted authorities or pinned peer certificates (a PEM file or a
    /// directory of them).
    pub ssl_cacerts: String,
    /// Not a Python item (Python's multiplexed server has no cap): the multiplexed
    /// server's most connections at once; further clients get a CONNECTFAIL. Set in code.
    pub max_connections_multiplex: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            ns_host: "localhost".into(),
            ns_port: 9090,
            ns_bcport: 9091,
            ns_bchost: None,
            ns_autoclean: 0.0,
            ns_lookup_delay: 0.0,
            nathost: None,
            natport: 0,
            compression: false,
            servertype: ServerType::Thread,
            commtimeout: 0.0,
            polltimeout: 2.0,
            max_retries: 0,
            sock_reuse: true,
            sock_nodelay: false,
            detailed_traceback: false,
            threadpool_size: 80,
            threadpool_size_min: 4,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            broadcast_addrs: vec!["<broadcast>".into(), "0.0.0.0".into()],
            prefer_ip_version: 0,
            serializer: Serializer::Serpent,
            serpent_bytes_repr: false,
            iter_streaming: true,
            iter_stream_lifetime: 0.0,
            iter_stream_linger: 30.0,
            logfile: "pyro5.log".into(),
            loglevel: None,
            logwire: false,
            ssl: false,
            ssl_servercert: String::new(),
            ssl_serverkey: String::new(),
            ssl_serverkeypasswd: String::new(),
            ssl_requireclientcert: false,
            ssl_clientcert: String::new(),
            ssl_clientkey: String::new(),
            ssl_clientkeypasswd: String::new(),
            ssl_cacerts: String::new(),
            max_connections_multiplex: MAX_CONNECTIONS_MULTIPLEX,
        }
    }
}

/// A configuration item or value Pyro refuses; the text is Python's `ValueError` text.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ConfigError(String);

impl ConfigError {
    /// The text.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Why a value did not parse, before the error text is written.
enum Bad {
    Bool,
    Value,
}

impl Config {
    /// The defaults, overridden by every `PYRO_<ITEM>` environment variable (Python's
    /// `Configuration()`).
    ///
    /// # Errors
    /// Python's texts: `invalid Pyro environment config variable: PYRO_X` for an unknown
    /// item, `invalid boolean value: PYRO_X=value` (the value in lower case, as Python
    /// shows it) and `invalid Pyro environment config value: PYRO_X=value`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| {
                let k = k.into_string().ok()?;
                k.starts_with(ENV_PREFIX).then(|| (k, v.to_string_lossy().into_owned()))
            })
            .collect();
        vars.sort();
        Self::from_vars(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The defaults overridden by `PYRO_*` variables given as pairs (as
    /// [`from_env`](Self::from_env) with this environment); other names are skipped.
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    pub fn from_vars<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        for (name, value) in vars {
            let Some(item) = name.strip_prefix(ENV_PREFIX) else { continue };
            if !ITEMS.contains(&item) {
                return Err(ConfigError(format!("invalid Pyro environment config variable: {name}")));
            }
            config.apply(item, value).map_err(|bad| match bad {
                Bad::Bool => ConfigError(format!("invalid boolean value: {name}={}", value.to_lowercase())),
                Bad::Value => ConfigError(format!("invalid Pyro environment config value: {name}={value}")),
            })?;
        }
        Ok(config)
    }

    /// Set item `name` (Python's name, e.g. `NS_PORT`) from its text, parsed as the
    /// environment variable would be.
    ///
    /// # Errors
    /// `invalid config item: X`, `invalid boolean value: X=value`, `invalid config value:
    /// X=value`.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        if !ITEMS.contains(&name) {
            return Err(ConfigError(format!("invalid config item: {name}")));
        }
        self.apply(name, value).map_err(|bad| match bad {
            Bad::Bool => ConfigError(format!("invalid boolean value: {name}={}", value.to_lowercase())),
            Bad::Value => ConfigError(format!("invalid config value: {name}={value}")),
        })
    }

    fn apply(&mut self, item: &str, value: &str) -> Result<(), Bad> {
        match item {
            "HOST" => self.host = value.to_string(),
            "NS_HOST" => self.ns_host = value.to_string(),
            "NS_PORT" => self.ns_port = int(value)?,
            "NS_BCPORT" => self.ns_bcport = int(value)?,
            "NS_BCHOST" => self.ns_bchost = Some(value.to_string()),
            "NS_AUTOCLEAN" => self.ns_autoclean = float(value)?,
            "NS_LOOKUP_DELAY" => self.ns_lookup_delay = float(value)?,
            "NATHOST" => self.nathost = Some(value.to_string()),
            "NATPORT" => self.natport = int(value)?,
            "COMPRESSION" => self.compression = boolean(value)?,
            "SERVERTYPE" => self.servertype = value.parse().map_err(|_| Bad::Value)?,
            "COMMTIMEOUT" => self.commtimeout = float(value)?,
            "POLLTIMEOUT" => self.polltimeout = float(value)?,
            "MAX_RETRIES" => self.max_retries = int(value)?,
            "SOCK_REUSE" => self.sock_reuse = boolean(value)?,
            "SOCK_NODELAY" => self.sock_nodelay = boolean(value)?,
            "DETAILED_TRACEBACK" => self.detailed_traceback = boolean(value)?,
            "THREADPOOL_SIZE" => self.threadpool_size = int(value)?,
            "THREADPOOL_SIZE_MIN" => self.threadpool_size_min = int(value)?,
            "MAX_MESSAGE_SIZE" => self.max_message_size = int(value)?,
            "BROADCAST_ADDRS" => self.broadcast_addrs = value.split(',').map(|a| a.trim().to_string()).collect(),
            "PREFER_IP_VERSION" => self.prefer_ip_version = int(value)?,
            "SERIALIZER" => self.serializer = value.parse().map_err(|_| Bad::Value)?,
            "SERPENT_BYTES_REPR" => self.serpent_bytes_repr = boolean(value)?,
            "ITER_STREAMING" => self.iter_streaming = boolean(value)?,
            "ITER_STREAM_LIFETIME" => self.iter_stream_lifetime = float(value)?,
            "ITER_STREAM_LINGER" => self.iter_stream_linger = float(value)?,
            "LOGFILE" => self.logfile = value.to_string(),
            "LOGLEVEL" => {
                if !value.is_empty() && !LOG_LEVELS.contains(&value) {
                    return Err(Bad::Value);
                }
                self.loglevel = Some(value.to_string());
            }
            "LOGWIRE" => self.logwire = boolean(value)?,
            "SSL" => self.ssl = boolean(value)?,
            "SSL_SERVERCERT" => self.ssl_servercert = value.to_string(),
            "SSL_SERVERKEY" => self.ssl_serverkey = value.to_string(),
            "SSL_SERVERKEYPASSWD" => self.ssl_serverkeypasswd = value.to_string(),
            "SSL_REQUIRECLIENTCERT" => self.ssl_requireclientcert = boolean(value)?,
            "SSL_CLIENTCERT" => self.ssl_clientcert = value.to_string(),
            "SSL_CLIENTKEY" => self.ssl_clientkey = value.to_string(),
            "SSL_CLIENTKEYPASSWD" => self.ssl_clientkeypasswd = value.to_string(),
            "SSL_CACERTS" => self.ssl_cacerts = value.to_string(),
            _ => return Err(Bad::Value),
        }
        Ok(())
    }

    /// Item `name`'s value as Python's `str()` shows it (`True`, `0.0`, `None`,
    /// `['<broadcast>', '0.0.0.0']`); `None` for an unknown item.
    pub fn get(&self, name: &str) -> Option<String> {
        fn text(s: &str) -> String {
            s.to_string()
        }
        fn option(s: &Option<String>) -> String {
            s.as_deref().map_or_else(|| "None".to_string(), str::to_string)
        }
        Some(match name {
            "HOST" => text(&self.host),
            "NS_HOST" => text(&self.ns_host),
            "NS_PORT" => self.ns_port.to_string(),
            "NS_BCPORT" => self.ns_bcport.to_string(),
            "NS_BCHOST" => option(&self.ns_bchost),
            "NS_AUTOCLEAN" => float_str(self.ns_autoclean),
            "NS_LOOKUP_DELAY" => float_str(self.ns_lookup_delay),
            "NATHOST" => option(&self.nathost),
            "NATPORT" => self.natport.to_string(),
            "COMPRESSION" => bool_str(self.compression),
            "SERVERTYPE" => self.servertype.to_string(),
            "COMMTIMEOUT" => float_str(self.commtimeout),
            "POLLTIMEOUT" => float_str(self.polltimeout),
            "MAX_RETRIES" => self.max_retries.to_string(),
            "SOCK_REUSE" => bool_str(self.sock_reuse),
            "SOCK_NODELAY" => bool_str(self.sock_nodelay),
            "DETAILED_TRACEBACK" => bool_str(self.detailed_traceback),
            "THREADPOOL_SIZE" => self.threadpool_size.to_string(),
            "THREADPOOL_SIZE_MIN" => self.threadpool_size_min.to_string(),
            "MAX_MESSAGE_SIZE" => self.max_message_size.to_string(),
            "BROADCAST_ADDRS" => {
                let items: Vec<String> =
                    self.broadcast_addrs.iter().map(|a| crate::locate::python_str_repr(a)).collect();
                format!("[{}]", items.join(", "))
            }
            "PREFER_IP_VERSION" => self.prefer_ip_version.to_string(),
            "SERIALIZER" => self.serializer.to_string(),
            "SERPENT_BYTES_REPR" => bool_str(self.serpent_bytes_repr),
            "ITER_STREAMING" => bool_str(self.iter_streaming),
            "ITER_STREAM_LIFETIME" => float_str(self.iter_stream_lifetime),
            "ITER_STREAM_LINGER" => float_str(self.iter_stream_linger),
            "LOGFILE" => text(&self.logfile),
            "LOGLEVEL" => option(&self.loglevel),
            "LOGWIRE" => bool_str(self.logwire),
            "SSL" => bool_str(self.ssl),
            "SSL_SERVERCERT" => text(&self.ssl_servercert),
            "SSL_SERVERKEY" => text(&self.ssl_serverkey),
            "SSL_SERVERKEYPASSWD" => text(&self.ssl_serverkeypasswd),
            "SSL_REQUIRECLIENTCERT" => bool_str(self.ssl_requireclientcert),
            "SSL_CLIENTCERT" => text(&self.ssl_clientcert),
            "SSL_CLIENTKEY" => text(&self.ssl_clientkey),
            "SSL_CLIENTKEYPASSWD" => text(&self.ssl_clientkeypasswd),
            "SSL_CACERTS" => text(&self.ssl_cacerts),
            _ => return None,
        })
    }

    /// Every item and its value as `ITEM = value` lines in name order, as the end of
    /// `python -m Pyro5.configure` shows them.
    pub fn dump_items(&self) -> String {
        let mut names = ITEMS;
        names.sort_unstable();
        let mut out = String::new();
        for name in names {
            out.push_str(name);
            out.push_str(" = ");
            out.push_str(&self.get(name).unwrap_or_default());
            out.push('\n');
        }
        out
    }

    /// `COMMTIMEOUT` as a socket timeout: `None` when not above 0.
    pub fn commtimeout_duration(&self) -> Option<Duration> {
        positive_secs(self.commtimeout)
    }

    /// `NS_LOOKUP_DELAY` (zero when not above 0).
    pub fn ns_lookup_delay_duration(&self) -> Duration {
        positive_secs(self.ns_lookup_delay).unwrap_or(Duration::ZERO)
    }
}

/// What every tool does first: [`Config::from_env`] and [`init_logging`]. A bad
/// `PYRO_*` variable or log file prints `tool: <Python's error text>` on stderr and gives
/// the exit status to stop with (1).
///
/// # Errors
/// The exit status, after the message was printed.
pub fn tool_setup(tool: &str) -> Result<Config, std::process::ExitCode> {
    let config = Config::from_env().map_err(|e| {
        eprintln!("{tool}: {e}");
        std::process::ExitCode::FAILURE
    })?;
    init_logging(&config).map_err(|e| {
        eprintln!("{tool}: cannot set up logging to {}: {e}", config.logfile);
        std::process::ExitCode::FAILURE
    })?;
    Ok(config)
}

/// Set up the `log` crate's logger as Python's Pyro5 package sets up `logging`: only when
/// `LOGLEVEL` is set (and not empty), at that level, into `LOGFILE` (appended; `{stderr}`
/// and `{stdout}` are the streams), lines as Python's
/// `[2026-01-02 03:04:05.678,target,LEVEL] message` (the time in UTC). Without `LOGLEVEL`
/// nothing is logged. Returns whether a logger was installed.
///
/// # Errors
/// The log file cannot be opened, or another logger is installed already.
pub fn init_logging(config: &Config) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    let Some(level) = config.loglevel.as_deref().filter(|l| !l.is_empty()) else { return Ok(false) };
    let filter = match level {
        "CRITICAL" | "FATAL" | "ERROR" => log::LevelFilter::Error,
        "WARNING" | "WARN" => log::LevelFilter::Warn,
        "INFO" => log::LevelFilter::Info,
        "DEBUG" => log::LevelFilter::Debug,
        "NOTSET" => log::LevelFilter::Trace,
        other => return Err(format!("invalid Pyro environment config value: PYRO_LOGLEVEL={other}").into()),
    };
    let dispatch = fern::Dispatch::new().level(filter).format(|out, message, record| {
        let level = match record.level() {
            log::Level::Error => "ERROR",
            log::Level::Warn => "WARNING",
            log::Level::Info => "INFO",
            log::Level::Debug => "DEBUG",
            log::Level::Trace => "TRACE",
        };
        out.finish(format_args!("[{},{},{level}] {message}", log_time(std::time::SystemTime::now()), record.target()));
    });
    let dispatch = match config.logfile.as_str() {
        "{stderr}" => dispatch.chain(std::io::stderr()),
        "{stdout}" => dispatch.chain(std::io::stdout()),
        path => dispatch.chain(fern::log_file(path)?),
    };
    dispatch.apply()?;
    log::info!(target: "Pyro5", "Pyro log configured using built-in defaults, level={level}");
    Ok(true)
}

/// `time` as Python's log lines show it: `2026-01-02 03:04:05.678` (UTC).
fn log_time(time: std::time::SystemTime) -> String {
    let since = time.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = crate::civil::date_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// The log target of `LOGWIRE` lines.
pub const WIRE_LOG_TARGET: &str = "Pyro5.wire";

/// Log a whole frame at debug level as Python's `log_wiredata` does: `text: msgtype=..
/// flags=0x.. ser=.. seq=.. num_annotations=.. corr_id=<uuid>` and the data's repr. `text`
/// is `proxy`/`daemon wiredata sending`/`received`; handshake messages get Python's own
/// texts (`proxy connect sending`, `daemon handshake response`, ...).
pub fn log_wire(text: &str, frame: &[u8]) {
    use pyro5_core::wire::{HEADER_LEN, Header, MessageKind};
    if !log::log_enabled!(target: WIRE_LOG_TARGET, log::Level::Debug) {
        return;
    }
    let Some(header) = frame.first_chunk::<HEADER_LEN>().and_then(|h| Header::parse_bytes(h).ok()) else {
        log::debug!(target: WIRE_LOG_TARGET, "{text}: {} bytes that are no Pyro message", frame.len());
        return;
    };
    // Python's texts for the handshake messages.
    let text = match (text, header.kind) {
        ("proxy wiredata sending", MessageKind::Connect) => "proxy connect sending",
        ("proxy wiredata received", MessageKind::ConnectOk | MessageKind::ConnectFail) => {
            "proxy connect response received"
        }
        ("daemon wiredata received", MessageKind::Connect) => "daemon handshake received",
        ("daemon wiredata sending", MessageKind::ConnectOk | MessageKind::ConnectFail) => "daemon handshake response",
        _ => text,
    };
    let body = frame.get(HEADER_LEN..).unwrap_or_default();
    let annotations_len = usize::try_from(header.annotations_len).unwrap_or(usize::MAX).min(body.len());
    let (mut chunks, data) = body.split_at(annotations_len);
    let mut count = 0;
    while let [_, _, _, _, a, b, c, d, rest @ ..] = chunks {
        let len = usize::try_from(u32::from_be_bytes([*a, *b, *c, *d])).unwrap_or(usize::MAX);
        chunks = rest.get(len..).unwrap_or_default();
        count += 1;
    }
    let c = header.correlation_id.0;
    let hex: String = c.iter().map(|b| format!("{b:02x}")).collect();
    let uuid = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
    log::debug!(
        target: WIRE_LOG_TARGET,
        "{text}: msgtype={} flags=0x{:x} ser={} seq={} num_annotations={count} corr_id={uuid}\ndata={}",
        u8::from(header.kind),
        header.flags.bits(),
        u8::from(header.serializer),
        header.seq,
        bytes_repr(data)
    );
}

/// `data` as Python's `repr(bytes)` shows it.
fn bytes_repr(data: &[u8]) -> String {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') { '"' } else { '\'' };
    let mut out = String::with_capacity(data.len() + 3);
    out.push('b');
    out.push(quote);
    for &b in data {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if char::from(b) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote);
    out
}

/// `secs` as a `Duration` when it is above 0 (an infinite value: the longest one).
pub(crate) fn positive_secs(secs: f64) -> Option<Duration> {
    if secs.is_nan() || secs <= 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

fn bool_str(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

/// A float as Python's `str()` shows it.
pub(crate) fn float_str(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    let mut out = String::new();
    let _ = pyro5_core::ser::float::write_repr(&mut out, value);
    out
}

/// A boolean as Pyro reads one.
fn boolean(value: &str) -> Result<bool, Bad> {
    match value.to_lowercase().as_str() {
        "0" | "off" | "no" | "false" => Ok(false),
        "1" | "yes" | "on" | "true" => Ok(true),
        _ => Err(Bad::Bool),
    }
}

fn float(value: &str) -> Result<f64, Bad> {
    crate::locate::python_float(value).ok_or(Bad::Value)
}

/// An integer as Python's `int()` reads one (whitespace around, a sign, `_` between
/// digits), which must fit the item's type.
fn int<T: TryFrom<i128>>(value: &str) -> Result<T, Bad> {
    python_int(value).and_then(|n| T::try_from(n).ok()).ok_or(Bad::Value)
}

/// Python's `int(text)` for decimal text; `None` when it does not parse (or is beyond `i128`).
pub(crate) fn python_int(text: &str) -> Option<i128> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let mut n: i128 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = c.to_digit(10)?;
        n = n.checked_mul(10)?.checked_add(i128::from(d))?;
    }
    Some(if negative { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times_read_as_pythons() {
        let t = std::time::UNIX_EPOCH + Duration::from_millis(1_767_323_045_678);
        assert_eq!(log_time(t), "2026-01-02 03:04:05.678");
        assert_eq!(log_time(std::time::UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29 00:00:00.000");
    }

    #[test]
    fn bytes_read_as_pythons_repr() {
        assert_eq!(bytes_repr(b"a'b\\\n\x00\xff"), r#"b"a'b\\\n\x00\xff""#);
        assert_eq!(bytes_repr(b"it's \"x\""), r#"b'it\'s "x"'"#);
    }

    #[test]
    fn defaults_are_pythons() {
        let c = Config::default();
        let dump = c.dump_items();
        for line in [
            "BROADCAST_ADDRS = ['<broadcast>', '0.0.0.0']",
            "COMMTIMEOUT = 0.0",
            "LOGLEVEL = None",
            "MAX_MESSAGE_SIZE = 1073741824",
            "NS_BCHOST = None",
            "POLLTIMEOUT = 2.0",
            "SERVERTYPE = thread",
            "SOCK_REUSE = True",
            "SSL_CACERTS = ",
            "THREADPOOL_SIZE_MIN = 4",
        ] {
            assert!(dump.lines().any(|l| l == line), "{line} in\n{dump}");
        }
        assert_eq!(dump.lines().count(), ITEMS.len());
        assert_eq!(c.commtimeout_duration(), None);
    }

    #[test]
    fn booleans_read_as_pythons() {
        let mut c = Config::default();
        for (text, want) in [("1", true), ("0", false), ("YES", true), ("No", false), ("on", true), ("OFF", false)] {
            c.set("COMPRESSION", text).unwrap();
            assert_eq!(c.compression, want, "{text}");
        }
        c.set("SSL", "True").unwrap();
        assert!(c.ssl);
        let e = Config::from_vars([("PYRO_SSL", "Maybe")]).unwrap_err();
        assert_eq!(e.message(), "invalid boolean value: PYRO_SSL=maybe");
        assert!(Config::from_vars([("PYRO_LOGWIRE", " yes")]).is_err(), "no trimming, as Python");
    }

    #[test]
    fn ints_and_floats_read_as_pythons() {
        let c = Config::from_vars([
            ("PYRO_NS_PORT", " 9_999 "),
            ("PYRO_MAX_RETRIES", "+3"),
            ("PYRO_COMMTIMEOUT", "1e-1"),
            ("PYRO_NS_AUTOCLEAN", " 4 "),
            ("PYRO_ITER_STREAM_LINGER", "inf"),
            ("PYRO_PREFER_IP_VERSION", "-6"),
        ])
        .unwrap();
        assert_eq!((c.ns_port, c.max_retries, c.prefer_ip_version), (9999, 3, -6));
        assert_eq!(c.commtimeout_duration(), Some(Duration::from_millis(100)));
        assert_eq!(c.get("NS_AUTOCLEAN").unwrap(), "4.0");
        assert_eq!(c.get("ITER_STREAM_LINGER").unwrap(), "inf");
        for (var, value) in [
            ("PYRO_NS_PORT", "abc"),
            ("PYRO_NS_PORT", "1__0"),
            ("PYRO_NS_PORT", "70000"),
            ("PYRO_NS_PORT", "90.5"),
            ("PYRO_THREADPOOL_SIZE", "-1"),
            ("PYRO_COMMTIMEOUT", "1,5"),
            ("PYRO_COMMTIMEOUT", ""),
        ] {
            let e = Config::from_vars([(var, value)]).unwrap_err();
            assert_eq!(e.to_string(), format!("invalid Pyro environment config value: {var}={value}"));
        }
        assert_eq!(python_int("-0"), Some(0));
        assert_eq!(python_int("_1"), None);
    }

    #[test]
    fn lists_names_and_strings() {
        let c = Config::from_vars([
            ("PYRO_BROADCAST_ADDRS", "10.0.0.255, 192.168.1.255"),
            ("PYRO_SERIALIZER", "msgpack"),
            ("PYRO_SERVERTYPE", "multiplex"),
            ("PYRO_NATHOST", "example.org"),
            ("PYRO_LOGLEVEL", "DEBUG"),
            ("PYRO5_PYTHON", "not a Pyro item"),
        ])
        .unwrap();
        assert_eq!(c.broadcast_addrs, ["10.0.0.255", "192.168.1.255"]);
        assert_eq!(c.get("BROADCAST_ADDRS").unwrap(), "['10.0.0.255', '192.168.1.255']");
        assert_eq!((c.serializer, c.servertype), (Serializer::Msgpack, ServerType::Multiplex));
        assert_eq!(c.get("NATHOST").unwrap(), "example.org");
        assert_eq!(c.get("LOGLEVEL").unwrap(), "DEBUG");
        for (var, value) in [("PYRO_SERIALIZER", "pickle"), ("PYRO_SERVERTYPE", "fork"), ("PYRO_LOGLEVEL", "LOUD")] {
            assert!(Config::from_vars([(var, value)]).is_err(), "{var}={value}");
        }
        let e = Config::from_vars([("PYRO_NO_SUCH_ITEM", "1")]).unwrap_err();
        assert_eq!(e.message(), "invalid Pyro environment config variable: PYRO_NO_SUCH_ITEM");
        let mut c = Config::default();
        assert_eq!(c.set("NO_SUCH_ITEM", "1").unwrap_err().message(), "invalid config item: NO_SUCH_ITEM");
        assert_eq!(c.set("NS_PORT", "x").unwrap_err().message(), "invalid config value: NS_PORT=x");
        assert_eq!(c.get("NO_SUCH_ITEM"), None);
    }

    #[test]
    fn every_item_can_be_set_and_shown() {
        for name in ITEMS {
            let mut c = Config::default();
            let shown = c.get(name).unwrap();
            let text = match shown.as_str() {
                _ if name == "LOGLEVEL" => "INFO".to_string(),
                "True" => "false".to_string(),
                "False" => "true".to_string(),
                "None" => "somewhere".to_string(),
                _ if name == "SERIALIZER" => "json".to_string(),
                _ if name == "SERVERTYPE" => "multiplex".to_string(),
                _ if name == "BROADCAST_ADDRS" => "a,b".to_string(),
                _ if shown.parse::<f64>().is_ok() => "7".to_string(),
                _ => "text".to_string(),
            };
            c.set(name, &text).unwrap();
            assert_ne!(c.get(name).unwrap(), shown, "{name} changes");
        }
    }
}
