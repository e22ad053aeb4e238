//! `pyro5-httpgateway`'s server: Pyro's HTTP gateway (`python -m Pyro5.utils.httpgateway`),
//! the same URLs, status codes, headers and bodies, on hyper.
//!
//! `GET` or `POST /pyro/<name>/<method>?kw=args` looks `<name>` up in the name server,
//! calls `<method>` (or reads the property) with the query's parameters as keyword
//! arguments (strings; a repeated parameter is a list) and answers with the reply's json
//! payload as the daemon sent it. `$meta` gives the object's methods and attributes;
//! `X-Pyro-Options: oneway` makes the call oneway; `X-Pyro-Correlation-Id` sets the call's
//! correlation id (one is made otherwise) and comes back in the answer; with a gateway key,
//! `X-Pyro-Gateway-Key` or a `$key` parameter must give it. Only names matching the expose
//! pattern (Python's `re.match`: anchored at the start) are reached. `/pyro/` is an index page
//! of the exposed names. See `docs/httpgateway.md`.
//!
//! Unlike Python's (a wsgiref server, one request at a time, a new connection per call),
//! requests are served concurrently and the connections to the objects are kept between
//! requests: each request has one connection to itself while it calls, as Python's, and
//! gives it back to the name's pool when the call is answered (a oneway call's connection
//! is closed, as Python's).

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue, LOCATION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use pyro5_std::core::ser::to_output;
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::wire::SerializerId;
use pyro5_std::locating::python_str_repr;
use pyro5_std::{Config, ProxyError, Serializer};
use pyro5_tokio::{NameServerProxy, Proxy, RawReply};
use regex::Regex;

/// The json reply's content type.
const JSON: &str = "application/json; charset=utf-8";
/// Python's answer when the name server cannot be found for the index page.
const NO_NAME_SERVER: &str = "Cannot connect to the Pyro name server. Is it running? Refresh page to retry.";
/// wsgiref's answer when the application failed (Python's gateway gets it for a method
/// that returns an iterator, and for a repeated `$key` parameter).
const SERVER_ERROR: &str = "A server error occurred.  Please contact the administrator.";
/// How many names the index page shows (as Python's).
const INDEX_NAMES: usize = 10;
/// Idle connections kept per object (more concurrent requests make more; those are closed
/// when their call is answered).
const POOL_SIZE: usize = 16;
/// The largest request head (request line and headers) read; a larger one is answered 431.
pub const MAX_HEAD: usize = 64 * 1024;
/// The most headers a request may have (then 431).
pub const MAX_HEADERS: usize = 100;

/// What the gateway is configured with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The object names to expose: a regular expression that must match at the start of the
    /// name (Python's `re.match`); empty exposes every name.
    pub expose: String,
    /// The key a request must give (`X-Pyro-Gateway-Key` or `$key`); empty: none.
    pub gateway_key: String,
    /// `Access-Control-Allow-Origin` of every answer but the redirect.
    pub cors: String,
    /// The Pyro timeout (`COMMTIMEOUT`) of the calls, in seconds; 0 is none.
    pub timeout: f64,
    /// The time a client has to send a request's head.
    pub header_timeout: Duration,
}

/// The gateway: its settings, the name server it found and the idle connections.
pub struct Gateway {
    settings: Settings,
    expose: Option<Regex>,
    /// The proxies' configuration: json, the timeout.
    config: Config,
    /// The name server's URI once found.
    ns_uri: Mutex<Option<String>>,
    /// Idle, connected proxies by URI (the name server's too).
    pool: Mutex<HashMap<String, Vec<Proxy>>>,
}

/// A bad expose pattern.
#[derive(Debug)]
pub struct PatternError(regex::Error);

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid expose pattern: {}", self.0)
    }
}

impl std::error::Error for PatternError {}

impl Gateway {
    /// A gateway with `settings`, its proxies configured by `config` (the `PYRO_*`
    /// variables) with the json serializer and the settings' timeout.
    ///
    /// # Errors
    /// An expose pattern that is no regular expression.
    pub fn new(settings: Settings, mut config: Config) -> Result<Self, PatternError> {
        let expose = if settings.expose.is_empty() {
            None
        } else {
            Some(Regex::new(&format!("^(?:{})", settings.expose)).map_err(PatternError)?)
        };
        config.serializer = Serializer::Json;
        config.commtimeout = settings.timeout;
        Ok(Self { settings, expose, config, ns_uri: Mutex::new(None), pool: Mutex::new(HashMap::new()) })
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Find the name server (as Python's gateway does at startup): its URI.
    ///
    /// # Errors
    /// Python's `NamingError` "Failed to locate the nameserver", as a [`ProxyError`].
    pub async fn connect_name_server(&self) -> Result<String, ProxyError> {
        let ns = self.name_server().await?;
        let uri = ns.proxy().uri();
        self.give_back(ns.into_proxy());
        Ok(uri)
    }

    /// Serve HTTP on `listener` until the task is dropped.
    ///
    /// # Errors
    /// None so far: accept errors are reported on stderr and the loop goes on.
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let gateway = self.clone();
            let header_timeout = self.settings.header_timeout;
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let gateway = gateway.clone();
                    async move { Ok::<_, Infallible>(gateway.answer(request, peer).await) }
                });
                let _ = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .max_buf_size(MAX_HEAD)
                    .max_headers(MAX_HEADERS)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    /// Answer one request, and log it as wsgiref does.
    async fn answer(self: Arc<Self>, request: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let line = format!("{} {} {:?}", request.method(), request.uri(), request.version());
        let response = self.route(&request).await;
        let size = hyper::body::Body::size_hint(response.body()).exact().unwrap_or(0);
        eprintln!("{} - - [{}] \"{line}\" {} {size}", peer.ip(), log_time(), response.status().as_u16());
        response
    }

    /// Python's `pyro_app`: the redirect, 404, 405, OPTIONS, and the `/pyro/` requests; a
    /// request whose line or headers are too long is refused first (hyper enforces the limit
    /// on a head that comes in pieces, this on one read whole).
    async fn route(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        if request.uri().to_string().len() > MAX_HEAD {
            return plain(StatusCode::URI_TOO_LONG, "Error 414: URI Too Long");
        }
        let head: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
        if head > MAX_HEAD {
            return plain(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "Error 431: Request Header Fields Too Large");
        }
        let path = percent_decode(request.uri().path());
        let path = path.trim_start_matches('/');
        if path.is_empty() {
            return Response::builder()
                .status(StatusCode::FOUND)
                .header(LOCATION, "/pyro/")
                .body(Full::default())
                .unwrap_or_default();
        }
        let Some(rest) = path.strip_prefix("pyro/") else {
            return self.text(StatusCode::NOT_FOUND, "Error 404: Not Found");
        };
        match *request.method() {
            Method::OPTIONS => self.text(StatusCode::OK, "200 OK"),
            Method::GET | Method::POST => {
                let headers = Headers(request.headers());
                let parameters = parse_query(request.uri().query().unwrap_or(""));
                self.pyro_request(rest, parameters, &headers).await
            }
            _ => self.text(StatusCode::METHOD_NOT_ALLOWED, "Error 405: Method Not Allowed"),
        }
    }

    /// Python's `process_pyro_request`: the index page, or a call.
    async fn pyro_request(
        &self,
        path: &str,
        mut parameters: Parameters,
        headers: &Headers<'_>,
    ) -> Response<Full<Bytes>> {
        if path.is_empty() {
            return self.index_page().await;
        }
        let Some((object, method)) = split_object_method(path) else {
            return self.text(StatusCode::NOT_FOUND, "Error 404: Not Found");
        };
        if !self.settings.gateway_key.is_empty() {
            let given = match headers.get("x-pyro-gateway-key") {
                // The header's bytes were read as Latin-1 characters (wsgiref); Python
                // compares their UTF-8 encoding with the key's.
                Some(key) if !key.is_empty() => key.into_bytes(),
                _ => match parameters.get("$key") {
                    None => Vec::new(),
                    Some(Value::Str(key)) => key.as_bytes().to_vec(),
                    // Python's `list.encode` fails outside its try: wsgiref's answer.
                    Some(_) => return server_error(),
                },
            };
            if given != self.settings.gateway_key.as_bytes() {
                return self.text(StatusCode::FORBIDDEN, "403 Forbidden - incorrect gateway api key");
            }
            parameters.remove("$key");
        }
        if let Some(expose) = &self.expose
            && !expose.is_match(&object)
        {
            return self.text(StatusCode::FORBIDDEN, "403 Forbidden - access to the requested object has been denied");
        }
        let oneway = headers.get("x-pyro-options").is_some_and(|o| o.split(',').any(|o| o == "oneway"));
        let correlation = headers.get("x-pyro-correlation-id").unwrap_or_default();
        match self.call(&object, &method, &parameters, &correlation, oneway).await {
            Ok(answer) => answer,
            Err(error) => {
                eprintln!("ERROR handling {path} with params {}:", parameters.repr());
                eprintln!("{}: {}", error.class(), error.message());
                self.json(StatusCode::INTERNAL_SERVER_ERROR, error.to_json(), None)
            }
        }
    }

    /// Look `object` up, call `method` on it, answer with its reply.
    async fn call(
        &self,
        object: &str,
        method: &str,
        parameters: &Parameters,
        correlation: &str,
        oneway: bool,
    ) -> Result<Response<Full<Bytes>>, Failure> {
        let uri = self.lookup(object).await?;
        let correlation_id = if correlation.is_empty() {
            fastrand::u128(..).to_be_bytes()
        } else {
            parse_uuid(correlation).ok_or(Failure::Local {
                class: "builtins.ValueError",
                message: "badly formed hexadecimal UUID string".into(),
            })?
        };
        let correlation_id = uuid4(correlation_id, correlation.is_empty());
        let id_text = uuid_text(&correlation_id);
        // The pooled proxy is left as it was; this request's settings go on a clone of it
        // (the same connection).
        let proxy = self.proxy(&uri)?;
        let mut caller = proxy.clone();
        caller.set_correlation_id(Some(correlation_id));
        if oneway {
            caller.set_oneway(method);
        }
        let metadata = caller.bind().await?;
        if method == "$meta" {
            let names = |set: &std::collections::BTreeSet<String>| {
                Value::List(set.iter().map(|n| Value::from(n.as_str())).collect())
            };
            let meta = Value::Dict(vec![
                (Value::from("methods"), names(&metadata.methods)),
                (Value::from("attributes"), names(&metadata.attrs)),
            ]);
            self.give_back(proxy);
            return Ok(self.json(StatusCode::OK, json(&meta), Some(&id_text)));
        }
        let reply = if metadata.attrs.contains(method) {
            if !parameters.is_empty() {
                self.give_back(proxy);
                return Err(Failure::Local {
                    class: "builtins.AssertionError",
                    message: "attribute lookup can't have query parameters".into(),
                });
            }
            caller.get_attr_raw(method).await
        } else {
            caller.call_raw(method, &[], &parameters.0).await
        };
        let reply = match reply {
            Ok(reply) => reply,
            Err(e) => {
                // A name not exposed leaves the connection as it was; a broken one is not kept.
                self.give_back(proxy);
                return Err(e.into());
            }
        };
        if oneway || matches!(reply, RawReply::Oneway) {
            // Python's proxy (and its connection) is gone after the call; the daemon may
            // still be running a oneway call on this one.
            proxy.release();
            return Ok(self.json(StatusCode::OK, Vec::new(), Some(&id_text)));
        }
        match reply {
            RawReply::Value { bytes, .. } => {
                self.give_back(proxy);
                Ok(self.json(StatusCode::OK, bytes, Some(&id_text)))
            }
            RawReply::Exception { bytes, .. } => {
                self.give_back(proxy);
                Ok(self.json(StatusCode::INTERNAL_SERVER_ERROR, bytes, None))
            }
            // Python's gateway hands wsgiref a body it refuses (and its stream lingers on the
            // daemon, ITER_STREAM_LINGER); the stream is closed at once here.
            RawReply::Stream(stream) => {
                drop(stream);
                self.give_back(proxy);
                Ok(server_error())
            }
            RawReply::Oneway => {
                proxy.release();
                Ok(server_error())
            }
        }
    }

    /// The name server's URI for `name`, reconnecting once to a name server whose
    /// connection was lost (Python's `get_nameserver`).
    async fn lookup(&self, name: &str) -> Result<String, Failure> {
        let ns = self.name_server().await?;
        let found = ns.lookup(name).await;
        self.give_back(ns.into_proxy());
        if let Err(ProxyError::ConnectionClosed) = found {
            println!("Connection with nameserver lost, reconnecting...");
            *self.ns_uri.lock().unwrap_or_else(PoisonError::into_inner) = None;
            let ns = self.name_server().await?;
            let found = ns.lookup(name).await;
            self.give_back(ns.into_proxy());
            return Ok(found?);
        }
        Ok(found?)
    }

    /// A connected proxy for the name server: an idle one, a new one to the name server
    /// found before, or one to the name server located now.
    async fn name_server(&self) -> Result<NameServerProxy, ProxyError> {
        let known = self.ns_uri.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(uri) = known {
            if let Some(proxy) = self.take_idle(&uri) {
                return Ok(proxy.into());
            }
            return Ok(Proxy::with_config(&uri, &self.config)?.into());
        }
        let ns = pyro5_tokio::locate_ns_with(&self.config, None, None).await?;
        *self.ns_uri.lock().unwrap_or_else(PoisonError::into_inner) = Some(ns.proxy().uri());
        Ok(ns)
    }

    /// A proxy for `uri`: an idle one, or a new one.
    fn proxy(&self, uri: &str) -> Result<Proxy, ProxyError> {
        match self.take_idle(uri) {
            Some(proxy) => Ok(proxy),
            None => Proxy::with_config(uri, &self.config),
        }
    }

    fn take_idle(&self, uri: &str) -> Option<Proxy> {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        let idle = pool.get_mut(uri)?;
        while let Some(proxy) = idle.pop() {
            // A connection the daemon closed meanwhile would fail the call: a new one then.
            if proxy.is_connected() {
                return Some(proxy);
            }
        }
        None
    }

    /// Keep a proxy whose call was answered for the next request to `uri`.
    fn give_back(&self, proxy: Proxy) {
        if !proxy.is_connected() {
            return;
        }
        let mut proxy = proxy;
        proxy.set_correlation_id(None);
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        let idle = pool.entry(proxy.uri()).or_default();
        if idle.len() < POOL_SIZE {
            idle.push(proxy);
        }
    }

    /// The index page: the exposed names with their methods and attributes.
    async fn index_page(&self) -> Response<Full<Bytes>> {
        let ns = match self.name_server().await {
            Ok(ns) => ns,
            Err(e) => {
                println!("Name server error: {e}");
                return self.text(StatusCode::INTERNAL_SERVER_ERROR, NO_NAME_SERVER);
            }
        };
        // As Python's: `list(regex=...)`, the first names in the name server's order, sorted.
        let regex = vec![("regex".to_string(), Value::from(self.settings.expose.as_str()))];
        let listing = ns.proxy().call_value("list", &[], &regex).await;
        let ns_uri = ns.proxy().uri();
        let listing = match listing {
            Ok(Value::Dict(items)) => {
                self.give_back(ns.into_proxy());
                items
            }
            Ok(other) => {
                eprintln!("ERROR listing the name server: not a dict: {other:?}");
                return server_error();
            }
            Err(e) => {
                eprintln!("ERROR listing the name server: {e}");
                return server_error();
            }
        };
        let total = listing.len();
        let mut shown: Vec<(String, String)> = listing
            .into_iter()
            .filter_map(|(name, uri)| match (name, uri) {
                (Value::Str(name), Value::Str(uri)) => Some((name, uri)),
                _ => None,
            })
            .take(INDEX_NAMES)
            .collect();
        shown.sort();
        let mut rows = Vec::new();
        for (name, uri) in shown {
            let metadata = self.metadata(&uri).await;
            rows.push((name, metadata));
        }
        let page = index_html(&ns_uri, &self.settings.expose, total, &rows);
        let mut response = self.text(StatusCode::OK, "");
        *response.body_mut() = Full::new(Bytes::from(page));
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        response
    }

    /// The metadata of the object at `uri`.
    async fn metadata(&self, uri: &str) -> Result<pyro5_std::ProxyMetadata, ProxyError> {
        let proxy = self.proxy(uri)?;
        let metadata = proxy.bind().await?;
        self.give_back(proxy);
        Ok(metadata)
    }

    /// A plain text answer with the CORS headers.
    fn text(&self, status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *response.status_mut() = status;
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        self.cors(response)
    }

    /// A json answer with the CORS headers and the correlation id, if any.
    fn json(&self, status: StatusCode, body: Vec<u8>, correlation: Option<&str>) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
        if let Some(id) = correlation.and_then(|id| HeaderValue::from_str(id).ok()) {
            headers.insert("X-Pyro-Correlation-Id", id);
        }
        self.cors(response)
    }

    fn cors(&self, mut response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
        let headers = response.headers_mut();
        if let Ok(origin) = HeaderValue::from_str(&self.settings.cors) {
            headers.insert("Access-Control-Allow-Origin", origin);
        }
        headers.insert("Access-Control-Allow-Methods", HeaderValue::from_static("GET, POST, OPTIONS"));
        headers.insert("Access-Control-Allow-Headers", HeaderValue::from_static("Content-Type"));
        response
    }
}

/// wsgiref's answer to an application that failed.
fn server_error() -> Response<Full<Bytes>> {
    plain(StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR)
}

/// A plain text answer without the CORS headers.
fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// Why a call got no reply to pass on: an error, answered as Python's gateway answers
/// exceptions (`class_to_dict` as json).
#[derive(Debug)]
enum Failure {
    /// A proxy's or the name server's error.
    Proxy(ProxyError),
    /// One the gateway raises itself.
    Local { class: &'static str, message: String },
}

impl From<ProxyError> for Failure {
    fn from(e: ProxyError) -> Self {
        Self::Proxy(e)
    }
}

impl Failure {
    fn class(&self) -> String {
        match self {
            Self::Proxy(e) => e.python_class().to_string(),
            Self::Local { class, .. } => (*class).to_string(),
        }
    }

    /// Python's `str(exception)`.
    fn message(&self) -> String {
        match self {
            Self::Proxy(ProxyError::Remote(remote)) => remote.message(),
            Self::Proxy(e) => python_message(e),
            Self::Local { message, .. } => message.clone(),
        }
    }

    /// Python's `json.dumps(class_to_dict(exception))`.
    fn to_json(&self) -> Vec<u8> {
        let (args, attributes) = match self {
            Self::Proxy(ProxyError::Remote(remote)) => {
                let mut attributes: Vec<(Value, Value)> =
                    remote.attributes.iter().map(|(k, v)| (Value::from(k.as_str()), v.clone())).collect();
                if !remote.traceback.is_empty() {
                    let lines = remote.traceback.iter().map(|l| Value::from(l.as_str())).collect();
                    attributes.push((Value::from("_pyroTraceback"), Value::List(lines)));
                }
                (remote.args.clone(), attributes)
            }
            other => (vec![Value::from(other.message().as_str())], Vec::new()),
        };
        json(&Value::Dict(vec![
            (Value::from("__class__"), Value::from(self.class().as_str())),
            (Value::from("__exception__"), Value::Bool(true)),
            (Value::from("args"), Value::List(args)),
            (Value::from("attributes"), Value::Dict(attributes)),
        ]))
    }
}

/// Python's message of the error a proxy raises.
fn python_message(e: &ProxyError) -> String {
    match e {
        ProxyError::Connect { location, error } => {
            format!("cannot connect to {}: {}", python_location(location), python_os_error(error))
        }
        ProxyError::ConnectionClosed => "receiving: not enough data".into(),
        ProxyError::NothingExposed(uri) => format!(
            "remote object '{uri}' doesn't expose any methods or attributes. Did you forget setting @expose on them?"
        ),
        other => other.to_string(),
    }
}

/// `host:port` as Python's connect location tuple `('host', port)`; a Unix socket's path.
fn python_location(location: &str) -> String {
    if let Some(path) = location.strip_prefix("./u:") {
        return path.to_string();
    }
    match location.rsplit_once(':') {
        Some((host, port)) => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            format!("({}, {port})", python_str_repr(host))
        }
        None => location.to_string(),
    }
}

/// An OS error as Python prints it: `[Errno 111] Connection refused`; a timeout as
/// `timed out`.
fn python_os_error(error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::TimedOut && error.raw_os_error().is_none() {
        return "timed out".into();
    }
    match error.raw_os_error() {
        Some(code) => {
            let text = error.to_string();
            let text = text.strip_suffix(&format!(" (os error {code})")).unwrap_or(&text).to_string();
            format!("[Errno {code}] {text}")
        }
        None => error.to_string(),
    }
}

/// `value` in json, as Pyro's json serializer writes it.
fn json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    if to_output(SerializerId::Json, value, &mut out).is_err() {
        out.clear();
    }
    out
}

/// A request's headers, read as wsgiref reads them into the environment.
struct Headers<'a>(&'a hyper::HeaderMap);

impl Headers<'_> {
    /// wsgiref's `HTTP_<NAME>`: the values of every header whose name is `name` with `-` or
    /// `_`, each stripped, joined by commas; bytes as Latin-1 characters.
    fn get(&self, name: &str) -> Option<String> {
        let mut found: Option<String> = None;
        for (key, value) in self.0 {
            if !key.as_str().replace('_', "-").eq_ignore_ascii_case(name) {
                continue;
            }
            let text: String = value.as_bytes().iter().map(|&b| char::from(b)).collect();
            let text = text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c));
            match &mut found {
                Some(all) => {
                    all.push(',');
                    all.push_str(text);
                }
                None => found = Some(text.to_string()),
            }
        }
        found
    }
}

/// The query's parameters, as Python's `parse_qs` then `singlyfy_parameters` make them: a
/// repeated name has a list of its values, blank values are dropped.
#[derive(Debug, Default, PartialEq)]
pub struct Parameters(pub Vec<(String, Value)>);

impl Parameters {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| n != name);
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As Python prints the dict.
    fn repr(&self) -> String {
        let item = |v: &Value| match v {
            Value::Str(s) => python_str_repr(s),
            Value::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|i| if let Value::Str(s) = i { python_str_repr(s) } else { String::new() })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => String::new(),
        };
        let items: Vec<String> = self.0.iter().map(|(k, v)| format!("{}: {}", python_str_repr(k), item(v))).collect();
        format!("{{{}}}", items.join(", "))
    }
}

/// Python's `parse_qs(query)` (`&`-separated, `+` is a space, percent escapes in UTF-8 with
/// replacement characters, fields without `=` or with a blank value left out), with single
/// values unwrapped from their lists.
pub fn parse_query(query: &str) -> Parameters {
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for field in query.split('&') {
        let Some((name, value)) = field.split_once('=') else { continue };
        if value.is_empty() {
            continue;
        }
        let name = percent_decode(&name.replace('+', " "));
        let value = percent_decode(&value.replace('+', " "));
        match found.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => found.push((name, vec![value])),
        }
    }
    Parameters(
        found
            .into_iter()
            .map(|(name, mut values)| {
                let value = if values.len() == 1 {
                    Value::Str(values.remove(0))
                } else {
                    Value::List(values.into_iter().map(Value::Str).collect())
                };
                (name, value)
            })
            .collect(),
    )
}

/// `%XX` escapes decoded, the bytes read as UTF-8 (invalid sequences replaced).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(hex) = std::str::from_utf8(hex)
            && hex.chars().all(|c| c.is_ascii_hexdigit())
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Python's `re.match(r"(.+)/(.+)", path)`: the object name (up to the last `/` that has
/// something after it) and the method, both within the first line; `None` when there is
/// no such `/`.
pub fn split_object_method(path: &str) -> Option<(String, String)> {
    let line = path.split('\n').next().unwrap_or("");
    let slash = line.char_indices().rev().find(|&(i, c)| c == '/' && i > 0 && i + 1 < line.len()).map(|(i, _)| i)?;
    Some((line[..slash].to_string(), line[slash + 1..].to_string()))
}

/// Python's `uuid.UUID(text)`: braces, `urn:`/`uuid:` and hyphens dropped, then 32 hex
/// digits (Python's `int(text, 16)`: surrounding spaces, a `+`, a `0x` prefix and `_`
/// between digits allowed).
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let text = text.replace("urn:", "").replace("uuid:", "");
    let text = text.trim_matches(|c| c == '{' || c == '}').replace('-', "");
    if text.chars().count() != 32 {
        return None;
    }
    let digits = text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c));
    let digits = digits.strip_prefix('+').unwrap_or(digits);
    let digits = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
        .map_or(digits, |d| d.strip_prefix('_').unwrap_or(d));
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&digits, 16).ok().map(u128::to_be_bytes)
}

/// A random id made a version 4 UUID (as Python's `uuid4`); a given one as it is.
fn uuid4(mut bytes: [u8; 16], random: bool) -> [u8; 16] {
    if random {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
    }
    bytes
}

/// `str(uuid)`: lowercase hex, hyphenated.
pub fn uuid_text(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// HTML-escaped text.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A URL path segment: everything but unreserved characters percent-escaped.
fn url_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The index page.
fn index_html(
    ns_uri: &str,
    expose: &str,
    total: usize,
    rows: &[(String, Result<pyro5_std::ProxyMetadata, ProxyError>)],
) -> String {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Pyro5 HTTP gateway</title>\n\
         <style>\nbody { font-family: sans-serif; margin: 1.5em; color: #222; }\n\
         table { border-collapse: collapse; }\nth, td { border: 1px solid #ccd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }\n\
         code { background: #f3f3f8; padding: 0 0.2em; }\n</style>\n</head>\n<body>\n<h1>Pyro5 HTTP gateway</h1>\n",
    );
    let _ = writeln!(page, "<p>Name server: <code>{}</code>.</p>", escape(ns_uri));
    let pattern = if expose.is_empty() {
        "every name is exposed".to_string()
    } else {
        format!("names matching <code>{}</code> at their start are exposed", escape(expose))
    };
    let _ = writeln!(
        page,
        "<p>{} names are registered there that the gateway exposes ({pattern}); the first {} are shown.</p>",
        total,
        rows.len()
    );
    page.push_str("<table>\n<tr><th>Name</th><th>Methods</th><th>Attributes</th></tr>\n");
    for (name, metadata) in rows {
        let base = format!("/pyro/{}/", url_segment(name));
        let link = |member: &str| format!("<a href=\"{base}{}\">{}</a>", url_segment(member), escape(member));
        let (methods, attrs) = match metadata {
            Ok(m) => (
                m.methods.iter().map(|n| escape(n)).collect::<Vec<_>>().join(", "),
                m.attrs.iter().map(|n| link(n)).collect::<Vec<_>>().join(", "),
            ),
            Err(e) => (format!("<em>no metadata: {}</em>", escape(&e.to_string())), String::new()),
        };
        let dash = |s: String| if s.is_empty() { "-".to_string() } else { s };
        let _ = writeln!(
            page,
            "<tr><td><a href=\"{base}%24meta\">{}</a></td><td>{}</td><td>{}</td></tr>",
            escape(name),
            dash(methods),
            dash(attrs)
        );
    }
    page.push_str(
        "</table>\n<h2>Calling</h2>\n<ul>\n\
         <li><code>GET /pyro/NAME/METHOD?arg=value&amp;other=value</code> calls the method with string keyword \
         arguments (a repeated one is a list) and answers with its result in json; <code>POST</code> the same (the \
         arguments are read from the query, not the body).</li>\n\
         <li><code>GET /pyro/NAME/ATTRIBUTE</code> reads an attribute; <code>GET /pyro/NAME/$meta</code> lists the \
         object's methods and attributes.</li>\n\
         <li>A method that raises answers 500 with the exception as json (<code>__class__</code>, <code>args</code>, \
         <code>attributes</code>).</li>\n\
         <li>Headers: <code>X-Pyro-Options: oneway</code> (no result waited for), <code>X-Pyro-Correlation-Id</code> \
         (a UUID, sent along with the call and answered back), <code>X-Pyro-Gateway-Key</code> (or a \
         <code>$key</code> parameter) when the gateway has a key.</li>\n</ul>\n</body>\n</html>\n",
    );
    page
}

/// The time as wsgiref logs it: `06/Dec/2026 11:46:32` (UTC).
fn log_time() -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rest = secs % 86_400;
    let (year, month, day) = pyro5_std::civil::date_from_days(days);
    let month_name = usize::try_from(month - 1).ok().and_then(|m| MONTHS.get(m)).copied().unwrap_or("???");
    format!("{day:02}/{month_name}/{year:04} {:02}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_reads_as_parse_qs_and_singlyfy() {
        let p = parse_query("message=hi+there%21&x=1&x=2&blank=&bare&%24key=k%C3%A9&bad=%FF");
        assert_eq!(
            p.0,
            vec![
                ("message".into(), Value::from("hi there!")),
                ("x".into(), Value::List(vec![Value::from("1"), Value::from("2")])),
                ("$key".into(), Value::from("ké")),
                ("bad".into(), Value::from("\u{fffd}")),
            ]
        );
        assert!(parse_query("").is_empty());
        assert_eq!(p.repr(), "{'message': 'hi there!', 'x': ['1', '2'], '$key': 'ké', 'bad': '\u{fffd}'}");
    }

    #[test]
    fn the_path_splits_as_pythons_pattern() {
        let split = |p| split_object_method(p);
        assert_eq!(split("a/b"), Some(("a".into(), "b".into())));
        assert_eq!(split("a.b/c/d"), Some(("a.b/c".into(), "d".into())));
        assert_eq!(split("a/b/"), Some(("a".into(), "b/".into())));
        assert_eq!(split("a/b\nc/d"), Some(("a".into(), "b".into())));
        assert_eq!(split("/b"), None);
        assert_eq!(split("a/"), None);
        assert_eq!(split("ab"), None);
    }

    #[test]
    fn uuids_read_as_pythons() {
        let id = "11112222-1111-2222-3333-22224444999A";
        let bytes = parse_uuid(id).unwrap();
        assert_eq!(uuid_text(&bytes), id.to_lowercase());
        for same in [
            "{11112222-1111-2222-3333-22224444999a}",
            "urn:uuid:1111222211112222333322224444999a",
            "1111222211112222333322224444999a",
        ] {
            assert_eq!(parse_uuid(same), Some(bytes), "{same}");
        }
        for bad in ["", "zzz", "11112222-1111-2222-3333-22224444999g", "11112222-1111-2222-3333-22224444999"] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
        let random = uuid4([0xff; 16], true);
        assert_eq!(&uuid_text(&random)[14..15], "4");
    }

    #[test]
    fn connect_errors_read_as_pythons() {
        let refused = std::io::Error::from_raw_os_error(111);
        let e = ProxyError::Connect { location: "127.0.0.1:9".into(), error: refused };
        assert_eq!(python_message(&e), "cannot connect to ('127.0.0.1', 9): [Errno 111] Connection refused");
        assert_eq!(python_location("[::1]:9090"), "('::1', 9090)");
    }
}
