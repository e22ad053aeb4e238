//! TLS, Pyro's `SSL`: rustls configurations made from the `SSL_*` items of a [`Config`], and
//! the TLS layer of a [`Stream`].
//!
//! As in Pyro, TLS wraps the socket before Pyro's handshake and changes nothing else (the
//! wire protocol, URIs and names are the same). A daemon with `SSL` serves TLS with
//! `SSL_SERVERCERT` and `SSL_SERVERKEY` (the key may sit in the certificate's file), and asks
//! clients for a certificate only with `SSL_REQUIRECLIENTCERT`, checked against
//! `SSL_CACERTS`. A proxy with `SSL` checks the daemon's certificate against the system's
//! certificate authorities and `SSL_CACERTS`, for the host in the URI, and shows
//! `SSL_CLIENTCERT`/`SSL_CLIENTKEY` when given. `SSL_CACERTS` is a PEM file or a directory of
//! them.
//!
//! # Pinned certificates
//!
//! rustls verifies certificates as the web does: the host must be in the certificate's
//! subjectAltName, and a certificate authority's certificate (`CA:TRUE`) is not accepted as
//! a peer's own. Pyro's example certificates are self-signed `CA:TRUE` certificates without
//! subjectAltName, which OpenSSL accepts by their common name. So that a deployment made
//! like Pyro's examples works unchanged, **a peer certificate listed in `SSL_CACERTS` itself
//! is trusted as it is** (pinned: the exact certificate, its name and role not checked, its
//! signature of the handshake checked as always). Every other certificate is verified by
//! its chain to a trusted authority, its validity dates and its names.
//!
//! Private keys protected by a password (`SSL_SERVERKEYPASSWD`, `SSL_CLIENTKEYPASSWD`) are
//! read when they are PKCS#8 (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, PBES2); OpenSSL's
//! older encrypted format is refused with an error that says how to convert it.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use crate::config::Config;
use crate::transport::Stream;

pub use rustls::{self, ClientConfig, ServerConfig};

/// How long a TLS handshake may take on a daemon's connection before it is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why TLS could not be set up from the configuration.
#[derive(Debug)]
pub enum TlsError {
    /// A file named by an `SSL_*` item could not be read.
    Read {
        /// The item.
        item: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// An item that must be set is empty.
    Missing(&'static str),
    /// The file holds no PEM certificate.
    NoCertificate(PathBuf),
    /// The file holds no PEM private key.
    NoKey(PathBuf),
    /// The private key is protected in OpenSSL's old way (not supported).
    EncryptedKey(PathBuf),
    /// The PKCS#8 private key could not be decrypted with the password given.
    KeyPassword {
        /// The key's file.
        path: PathBuf,
        /// Why (no password, a wrong one, an unknown cipher).
        why: String,
    },
    /// rustls refused the certificates or key.
    Rustls(rustls::Error),
    /// No certificate authority to check peers against.
    NoTrust(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { item, path, error } => write!(f, "{item}: cannot read {}: {error}", path.display()),
            Self::Missing(item) => write!(f, "SSL is on but {item} is not set"),
            Self::NoCertificate(path) => write!(f, "no PEM certificate in {}", path.display()),
            Self::NoKey(path) => write!(f, "no PEM private key in {}", path.display()),
            Self::EncryptedKey(path) => write!(
                f,
                "the private key in {} is encrypted in OpenSSL's old format, which is not supported: convert it \
                 to PKCS#8 (`openssl pkcs8 -topk8 -in key.pem -out key8.pem`), or decrypt it and keep the file private",
                path.display()
            ),
            Self::KeyPassword { path, why } => write!(
                f,
                "cannot decrypt the private key in {} with the password given (SSL_SERVERKEYPASSWD or \
                 SSL_CLIENTKEYPASSWD): {why}",
                path.display()
            ),
            Self::Rustls(e) => write!(f, "TLS: {e}"),
            Self::NoTrust(why) => write!(f, "no certificate authority to check peers against: {why}"),
        }
    }
}

impl std::error::Error for TlsError {}

impl From<TlsError> for io::Error {
    fn from(e: TlsError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

/// How a daemon does TLS: from Pyro's `SSL_*` items, or with a rustls configuration made
/// in code (any certificate source, e.g. certificates in memory).
#[derive(Clone, Debug)]
pub enum ServerTls {
    /// The daemon's `SSL_*` items (read when the daemon is made).
    Items(ServerItems),
    /// A rustls configuration.
    Rustls(Arc<ServerConfig>),
}

/// The `SSL_*` items of a daemon.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerItems {
    /// `SSL_SERVERCERT`: the daemon's certificate chain (PEM file).
    pub servercert: String,
    /// `SSL_SERVERKEY`: its private key (PEM file; empty: in the certificate's file).
    pub serverkey: String,
    /// `SSL_SERVERKEYPASSWD` (keys protected by a password are not supported).
    pub serverkeypasswd: String,
    /// `SSL_REQUIRECLIENTCERT`: ask clients for a certificate and check it.
    pub requireclientcert: bool,
    /// `SSL_CACERTS`: who signs (or which are) the client certificates accepted.
    pub cacerts: String,
}

impl ServerItems {
    /// The daemon's `SSL_*` items of `config`; `None` when `SSL` is off.
    pub fn of(config: &Config) -> Option<Self> {
        config.ssl.then(|| Self {
            servercert: config.ssl_servercert.clone(),
            serverkey: config.ssl_serverkey.clone(),
            serverkeypasswd: config.ssl_serverkeypasswd.clone(),
            requireclientcert: config.ssl_requireclientcert,
            cacerts: config.ssl_cacerts.clone(),
        })
    }
}

impl ServerTls {
    /// The rustls configuration (reading the files the items name).
    ///
    /// # Errors
    /// A certificate or key that cannot be read or used ([`TlsError`]).
    pub fn rustls(&self) -> Result<Arc<ServerConfig>, TlsError> {
        match self {
            Self::Items(items) => server_config(items),
            Self::Rustls(config) => Ok(config.clone()),
        }
    }
}

/// A daemon's rustls configuration from its `SSL_*` items.
///
/// # Errors
/// A certificate or key that cannot be read or used ([`TlsError`]).
pub fn server_config(items: &ServerItems) -> Result<Arc<ServerConfig>, TlsError> {
    let config = items;
    if config.servercert.is_empty() {
        return Err(TlsError::Missing("SSL_SERVERCERT"));
    }
    let certs = certificates("SSL_SERVERCERT", Path::new(&config.servercert))?;
    let key_file = if config.serverkey.is_empty() { &config.servercert } else { &config.serverkey };
    let key = private_key("SSL_SERVERKEY", Path::new(key_file), &config.serverkeypasswd)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rustls)?;
    let builder = if config.requireclientcert {
        if config.cacerts.is_empty() {
            return Err(TlsError::Missing("SSL_CACERTS (SSL_REQUIRECLIENTCERT checks clients against it)"));
        }
        let trusted = ca_certificates(&config.cacerts)?;
        builder.with_client_cert_verifier(Arc::new(ClientVerifier::new(trusted)?))
    } else {
        builder.with_no_client_auth()
    };
    let mut server = builder.with_single_cert(certs, key).map_err(TlsError::Rustls)?;
    server.ignore_client_order = true;
    // Pyro clients do not resume sessions; tickets sent after the handshake would only hold
    // up the first reply (Nagle's algorithm waiting for their acknowledgement).
    server.send_tls13_tickets = 0;
    Ok(Arc::new(server))
}

/// The proxy side of `config`'s TLS settings; `None` when `SSL` is off. Made once per set
/// of items in a process, as Python keeps its client context (reading the system's
/// authorities takes milliseconds; a proxy is made in microseconds).
///
/// # Errors
/// A certificate or key that cannot be read or used ([`TlsError`]).
pub fn client_config(config: &Config) -> Result<Option<Arc<ClientConfig>>, TlsError> {
    type Key = [String; 4];
    static MADE: Mutex<Vec<(Key, Arc<ClientConfig>)>> = Mutex::new(Vec::new());
    if !config.ssl {
        return Ok(None);
    }
    let key: Key = [
        config.ssl_cacerts.clone(),
        config.ssl_clientcert.clone(),
        config.ssl_clientkey.clone(),
        config.ssl_clientkeypasswd.clone(),
    ];
    let mut made = MADE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, client)) = made.iter().find(|(k, _)| *k == key) {
        return Ok(Some(client.clone()));
    }
    let client = new_client_config(config)?;
    // A handful of settings in a process; a bound all the same.
    if made.len() >= 16 {
        made.remove(0);
    }
    made.push((key, client.clone()));
    Ok(Some(client))
}

fn new_client_config(config: &Config) -> Result<Arc<ClientConfig>, TlsError> {
    let pinned = if config.ssl_cacerts.is_empty() { Vec::new() } else { ca_certificates(&config.ssl_cacerts)? };
    let mut roots = RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    for cert in system.certs {
        let _ = roots.add(cert);
    }
    for cert in &pinned {
        // A pinned certificate that is no authority is simply not a root.
        let _ = roots.add(cert.clone());
    }
    let verifier = ServerVerifier::new(roots, pinned)?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rustls)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let client = if config.ssl_clientcert.is_empty() {
        builder.with_no_client_auth()
    } else {
        let certs = certificates("SSL_CLIENTCERT", Path::new(&config.ssl_clientcert))?;
        let key_file = if config.ssl_clientkey.is_empty() { &config.ssl_clientcert } else { &config.ssl_clientkey };
        let key = private_key("SSL_CLIENTKEY", Path::new(key_file), &config.ssl_clientkeypasswd)?;
        builder.with_client_auth_cert(certs, key).map_err(TlsError::Rustls)?
    };
    Ok(Arc::new(client))
}

/// rustls on *ring*: it builds with a C compiler alone, the Windows cross build included.
/// (Post-quantum key exchange would need aws-lc-rs; Python's `ssl` does not offer it to
/// Pyro either.)
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_file(item: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read { item, path: path.to_path_buf(), error })
}

/// The PEM certificates in `path`, in order.
fn certificates(item: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file(item, path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok).collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

/// The PEM private key in `path`; a PKCS#8 key protected by `password` (`-----BEGIN
/// ENCRYPTED PRIVATE KEY-----`, what `openssl pkcs8 -topk8` and Python's tools write) is
/// decrypted with it.
fn private_key(item: &'static str, path: &Path, password: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    use pkcs8::der::pem::PemLabel;
    let pem = read_file(item, path)?;
    let text = String::from_utf8_lossy(&pem);
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(TlsError::EncryptedKey(path.to_path_buf()));
    }
    let encrypted_label = pkcs8::EncryptedPrivateKeyInfoOwned::PEM_LABEL;
    if !text.contains(&format!("BEGIN {encrypted_label}")) {
        return PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::NoKey(path.to_path_buf()));
    }
    if password.is_empty() {
        return Err(TlsError::KeyPassword { path: path.to_path_buf(), why: "no password given".into() });
    }
    let wrong = |why: String| TlsError::KeyPassword { path: path.to_path_buf(), why };
    let (label, der) = pkcs8::der::pem::decode_vec(&pem).map_err(|e| wrong(e.to_string()))?;
    if label != encrypted_label {
        return Err(TlsError::NoKey(path.to_path_buf()));
    }
    let info = pkcs8::EncryptedPrivateKeyInfoOwned::try_from(der.as_slice()).map_err(|e| wrong(e.to_string()))?;
    let plain = info.decrypt(password).map_err(|e| wrong(e.to_string()))?;
    Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()))
}

/// The certificates of `SSL_CACERTS`: a PEM file, or every PEM file of a directory.
fn ca_certificates(cacerts: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let path = Path::new(cacerts);
    if !path.is_dir() {
        return certificates("SSL_CACERTS", path);
    }
    let entries = std::fs::read_dir(path).map_err(|error| TlsError::Read {
        item: "SSL_CACERTS",
        path: path.to_path_buf(),
        error,
    })?;
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    let mut certs = Vec::new();
    for file in files {
        if let Ok(pem) = std::fs::read(&file) {
            certs.extend(CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok));
        }
    }
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

/// The handshake's signature checks, the same for both verifiers whatever trusted the
/// certificate (the provider's algorithms, with the certificate's key).
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider.signature_verification_algorithms.supported_schemes()
        }
    };
}

/// Checks a daemon's certificate: pinned, or by webpki.
#[derive(Debug)]
struct ServerVerifier {
    pinned: Vec<CertificateDer<'static>>,
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerVerifier {
    fn new(roots: RootCertStore, pinned: Vec<CertificateDer<'static>>) -> Result<Self, TlsError> {
        let provider = provider();
        let webpki = if roots.is_empty() {
            None
        } else {
            let built = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build();
            Some(built.map_err(|e| TlsError::NoTrust(e.to_string()))?)
        };
        if webpki.is_none() && pinned.is_empty() {
            return Err(TlsError::NoTrust("the system has none and SSL_CACERTS is not set".into()));
        }
        Ok(Self { pinned, webpki, provider })
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pinned.iter().any(|p| p.as_ref() == end_entity.as_ref()) {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.webpki {
            Some(webpki) => webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now),
            None => Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)),
        }
    }

    handshake_signatures!();
}

/// Checks a client's certificate (`SSL_REQUIRECLIENTCERT`): pinned, or by webpki against
/// `SSL_CACERTS`.
#[derive(Debug)]
struct ClientVerifier {
    pinned: Vec<CertificateDer<'static>>,
    webpki: Option<Arc<dyn ClientCertVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    subjects: Vec<DistinguishedName>,
}

impl ClientVerifier {
    fn new(trusted: Vec<CertificateDer<'static>>) -> Result<Self, TlsError> {
        let provider = provider();
        let mut roots = RootCertStore::empty();
        for cert in &trusted {
            let _ = roots.add(cert.clone());
        }
        let subjects = roots.subjects();
        let webpki = if roots.is_empty() {
            None
        } else {
            let built = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build();
            Some(built.map_err(|e| TlsError::NoTrust(e.to_string()))?)
        };
        Ok(Self { pinned: trusted, webpki, provider, subjects })
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.subjects
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.pinned.iter().any(|p| p.as_ref() == end_entity.as_ref()) {
            return Ok(ClientCertVerified::assertion());
        }
        match &self.webpki {
            Some(webpki) => webpki.verify_client_cert(end_entity, intermediates, now),
            None => Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)),
        }
    }

    handshake_signatures!();
}

/// The server name a proxy checks the daemon's certificate for: the URI's host.
///
/// # Errors
/// A host that is neither a DNS name nor an IP address.
pub fn server_name(host: &str) -> io::Result<ServerName<'static>> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("no TLS server name in '{host}': {e}")))
}

/// A socket with TLS on it: what [`Stream::Tls`] holds. Read and written through `&` from
/// two threads at once (one reading, one writing), as the proxy does: the TLS state is
/// behind a lock, the socket's own reads happen outside it.
#[derive(Debug)]
pub struct TlsStream {
    socket: Stream,
    state: Mutex<Tls>,
    /// When the handshake started (a daemon closes a connection whose handshake stalls).
    started: Instant,
    /// The peer closed its side.
    eof: AtomicBool,
}

impl TlsStream {
    /// The daemon side over an accepted socket; the handshake runs as the socket is read.
    pub(crate) fn server(socket: Stream, config: Arc<ServerConfig>) -> io::Result<Self> {
        let connection = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(Self { socket, state: Tls::new(connection.into()), started: Instant::now(), eof: AtomicBool::new(false) })
    }

    /// The proxy side over a connected (blocking) socket: the handshake is done here, so that
    /// a refused certificate is a connection error.
    pub(crate) fn client(socket: Stream, config: Arc<ClientConfig>, host: &str) -> io::Result<Self> {
        let connection = rustls::ClientConnection::new(config, server_name(host)?).map_err(io::Error::other)?;
        let stream =
            Self { socket, state: Tls::new(connection.into()), started: Instant::now(), eof: AtomicBool::new(false) };
        stream.handshake()?;
        Ok(stream)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Tls> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run the handshake to its end (blocking socket).
    fn handshake(&self) -> io::Result<()> {
        let mut socket = &self.socket;
        let mut state = self.state();
        while state.connection.is_handshaking() {
            state.connection.complete_io(&mut socket).map_err(|e| tls_error("TLS handshake failed", e))?;
        }
        Ok(())
    }

    /// Whether the handshake is still going after [`HANDSHAKE_TIMEOUT`].
    pub(crate) fn handshake_overdue(&self) -> bool {
        self.started.elapsed() > HANDSHAKE_TIMEOUT && self.state().connection.is_handshaking()
    }

    /// The socket under the TLS.
    pub(crate) fn socket(&self) -> &Stream {
        &self.socket
    }

    /// The peer's certificate (DER), once the handshake is done and if it showed one.
    pub fn peer_certificate(&self) -> Option<Vec<u8>> {
        let state = self.state();
        state.connection.peer_certificates().and_then(|c| c.first()).map(|c| c.as_ref().to_vec())
    }

    /// Whether TLS bytes wait for the socket (a non-blocking socket that was full).
    pub(crate) fn wants_write(&self) -> bool {
        self.state().connection.wants_write()
    }

    /// Write what TLS has for the socket; `WouldBlock` when a non-blocking socket is full.
    pub(crate) fn flush_tls(&self) -> io::Result<()> {
        let mut state = self.state();
        Self::flush_locked(&mut state.connection, &self.socket)
    }

    fn flush_locked(state: &mut rustls::Connection, socket: &Stream) -> io::Result<()> {
        let mut socket = socket;
        while state.wants_write() {
            match state.write_tls(&mut socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn read_plain(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut chunk = [0u8; 8192];
        loop {
            {
                let mut state = self.state();
                let Tls { connection, inbox } = &mut *state;
                // Bytes received and not taken yet: rustls takes them while its plaintext
                // buffer has room (the rest waits for the next read).
                while !inbox.is_empty() {
                    match connection.read_tls(&mut &inbox[..]) {
                        Ok(0) => break,
                        Ok(used) => drop(inbox.drain(..used)),
                        Err(e) if e.kind() == io::ErrorKind::Other => break,
                        Err(e) => return Err(e),
                    }
                    self.process(connection)?;
                }
                self.process(connection)?;
                // Handshake messages and alerts go out before any wait for the peer (a full
                // non-blocking socket takes them at the next chance).
                match Self::flush_locked(connection, &self.socket) {
                    Ok(()) => {}
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                    Err(e) => return Err(e),
                }
                match connection.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // The peer closed without close_notify (as Python's sockets do).
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) => return Err(e),
                }
                if !inbox.is_empty() {
                    continue;
                }
                if self.eof.load(Ordering::Relaxed) {
                    return Ok(0);
                }
            }
            let n = match (&self.socket).read(&mut chunk) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    if self.handshake_overdue() {
                        return Err(io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            format!("TLS handshake not finished within {} s", HANDSHAKE_TIMEOUT.as_secs()),
                        ));
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            let mut state = self.state();
            if n == 0 {
                // The end: what was decrypted before it is still read above.
                self.eof.store(true, Ordering::Relaxed);
                if state.connection.is_handshaking() {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "peer closed during the TLS handshake"));
                }
                continue;
            }
            state.inbox.extend_from_slice(&chunk[..n]);
        }
    }

    /// Decrypt what was received; on a TLS error, the alert for the peer and the error.
    fn process(&self, state: &mut rustls::Connection) -> io::Result<()> {
        if let Err(e) = state.process_new_packets() {
            let _ = Self::flush_locked(state, &self.socket);
            return Err(tls_error("TLS failed", e));
        }
        Ok(())
    }

    fn write_plain(&self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.state();
        let connection = &mut state.connection;
        // Earlier bytes first: a full socket takes no more plaintext.
        Self::flush_locked(connection, &self.socket)?;
        let n = connection.writer().write(buf)?;
        match Self::flush_locked(connection, &self.socket) {
            Ok(()) => Ok(n),
            // Taken: the rest goes out with the next write or flush.
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) && n > 0 => Ok(n),
            Err(e) => Err(e),
        }
    }
}

/// The TLS state of a stream, and the bytes read from the socket that rustls did not take
/// yet (its plaintext buffer was full).
#[derive(Debug)]
struct Tls {
    connection: rustls::Connection,
    inbox: Vec<u8>,
}

impl Tls {
    fn new(connection: rustls::Connection) -> Mutex<Self> {
        Mutex::new(Self { connection, inbox: Vec::new() })
    }
}

/// A TLS failure as an I/O error whose text says what happened.
fn tls_error(what: &str, e: impl fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
}

impl Read for &TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_plain(buf)
    }
}

impl Write for &TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_plain(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.flush_tls()
    }
}
