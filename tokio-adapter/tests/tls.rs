//! TLS (Pyro's SSL) on the tokio daemon and the async proxy, with the real Python Pyro5 and
//! certificates made at test time: the echo suite from a Python client configured with
//! `PYRO_SSL*`, a required client certificate shown to the handshake validator, the async
//! proxy against Python's TLS echo server (with a client certificate; an untrusted daemon
//! refused), and garbage in place of a handshake.

use std::process::Command;
use std::time::Duration;

use pyro5_interop_tests::echo_daemon::start_echo_process;
use pyro5_interop_tests::tls::{ONE_CALL, TestCertificates, item as path, python_ssl, stdout_of as stdout};
use pyro5_interop_tests::{python, workspace_root};
use pyro5_std::config::Config;
use pyro5_std::core::ser::call::ConnectView;
use pyro5_std::core::server::{Answered, ConnectionId, HandshakeAnswer, HandshakeValidator};
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_tokio::{Daemon, Proxy, ProxyError};

/// The echo object on a TLS tokio daemon (its own runtime thread); shut down when dropped.
struct Served {
    daemon: Daemon,
    uri: String,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Served {
    fn start(config: &Config) -> Self {
        let daemon = Daemon::new(pyro5_std::Daemon::with_config(config).expect("bind"));
        let uri = daemon.register_concurrent(EchoServer::new(), Some(OBJECT_ID)).expect("register");
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            runtime.block_on(serving.serve())
        });
        Self { daemon, uri, thread: Some(thread) }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.daemon.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn server_config(certs: &TestCertificates, require_client: bool) -> Config {
    Config {
        host: "localhost".into(),
        ssl: true,
        ssl_servercert: path(&certs.server().cert),
        ssl_serverkey: path(&certs.server().key),
        ssl_requireclientcert: require_client,
        ssl_cacerts: if require_client { path(&certs.ca()) } else { String::new() },
        ..Config::default()
    }
}

#[test]
fn python_clients_call_the_tls_tokio_daemon() {
    let certs = TestCertificates::new("tokio-suite");
    let served = Served::start(&server_config(&certs, false));
    let out = python_ssl(&[("PYRO_SSL_CACERTS", path(&certs.ca()))])
        .arg(workspace_root().join("tests/python/echo_suite.py"))
        .arg(&served.uri)
        .output()
        .expect("run python");
    let text = stdout(&out);
    assert!(out.status.success() && text.contains("msgpack:"), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    // Garbage in place of a handshake ends only that connection; so does silence, after the
    // handshake's time limit.
    use std::io::{Read, Write};
    let port = served.daemon.port().expect("tcp");
    let started = std::time::Instant::now();
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    silent.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut garbage = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    garbage.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    garbage.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    assert!(garbage.read_to_end(&mut answer).is_ok(), "closed at once");
    let plain = Command::new(python()).arg("-c").arg(ONE_CALL).arg(&served.uri).output().expect("run python");
    assert!(stdout(&plain).starts_with("error "), "{}", stdout(&plain));
    let again = python_ssl(&[("PYRO_SSL_CACERTS", path(&certs.ca()))])
        .arg("-c")
        .arg(ONE_CALL)
        .arg(&served.uri)
        .output()
        .expect("run python");
    assert_eq!(stdout(&again).trim(), "ok over tls");
    let mut rest = Vec::new();
    let _ = silent.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(9) && waited < Duration::from_secs(25), "closed after {waited:?}");
}

/// Accepts only clients that showed a certificate.
struct ShowedOne(pyro5_std::Peers);

impl HandshakeValidator for ShowedOne {
    fn validate(&self, connection: ConnectionId, _: &ConnectView<'_>, answer: HandshakeAnswer<'_, '_>) -> Answered {
        match self.0.certificate(connection) {
            Some(der) if !der.is_empty() => answer.accept(&"hello"),
            _ => answer.refuse(&"no certificate"),
        }
    }
}

#[test]
fn required_client_certificates_reach_the_validator() {
    let certs = TestCertificates::new("tokio-clients");
    let served = Served::start(&server_config(&certs, true));
    served.daemon.set_handshake_validator(ShowedOne(served.daemon.peers()));
    let client = |pair: Option<pyro5_interop_tests::tls::Pair>| {
        let mut env = vec![("PYRO_SSL_CACERTS", path(&certs.ca()))];
        if let Some(pair) = pair {
            env.push(("PYRO_SSL_CLIENTCERT", path(&pair.cert)));
            env.push(("PYRO_SSL_CLIENTKEY", path(&pair.key)));
        }
        let out = python_ssl(&env).arg("-c").arg(ONE_CALL).arg(&served.uri).output().expect("run python");
        stdout(&out).trim().to_string()
    };
    assert_eq!(client(Some(certs.client())), "ok over tls");
    assert!(client(None).starts_with("error "));
    assert!(client(Some(certs.stranger())).starts_with("error "));
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_proxy_calls_pythons_tls_echo_server() {
    let certs = TestCertificates::new("tokio-proxy");
    let mut command = python_ssl(&[
        ("PYRO_SSL_SERVERCERT", path(&certs.server().cert)),
        ("PYRO_SSL_SERVERKEY", path(&certs.server().key)),
        ("PYRO_SSL_REQUIRECLIENTCERT", "1".into()),
        ("PYRO_SSL_CACERTS", path(&certs.ca())),
    ]);
    command
        .args(["-u", "-m", "Pyro5.utils.echoserver", "-H", "127.0.0.1", "-p", "0"])
        .stderr(std::process::Stdio::null());
    let (child, uri) = start_echo_process(command, "Python's TLS echo server");
    let _server = Killed(child);
    let with_cert = Config {
        ssl: true,
        ssl_cacerts: path(&certs.ca()),
        ssl_clientcert: path(&certs.client().cert),
        ssl_clientkey: path(&certs.client().key),
        commtimeout: 10.0,
        ..Config::default()
    };
    let proxy = Proxy::with_config(&uri, &with_cert).unwrap();
    // One call at a time: Python's multiplexed server (its echo server's type) waits for the
    // socket with select(), which does not see requests TLS has already decrypted, so calls
    // pipelined on one TLS connection stall there (docs/tls.md). Ours take them: below.
    for n in 0..20 {
        assert_eq!(proxy.call::<i64, _>("echo", (n,)).await.unwrap(), n);
    }
    use pyro5_std::tls::rustls::pki_types::{CertificateDer, pem::PemObject};
    let expected = CertificateDer::from_pem_file(certs.server().cert).expect("a certificate");
    assert_eq!(proxy.peer_certificate().as_deref(), Some(expected.as_ref()));
    let untrusting = Config { ssl_cacerts: path(&certs.other_ca()), ..with_cert.clone() };
    match Proxy::with_config(&uri, &untrusting).unwrap().call::<String, _>("echo", ("x",)).await {
        Err(ProxyError::Connect { error, .. }) => assert!(error.to_string().contains("TLS"), "{error}"),
        other => panic!("{other:?}"),
    }
}

/// 200 tasks pipelining their calls on one TLS connection of the async proxy to our tokio
/// daemon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_calls_over_tls_reach_our_daemon() {
    let certs = TestCertificates::new("tokio-pipelined");
    let served = Served::start(&server_config(&certs, false));
    let client = Config { ssl: true, ssl_cacerts: path(&certs.ca()), commtimeout: 20.0, ..Config::default() };
    let proxy = Proxy::with_config(&served.uri, &client).unwrap();
    let tasks: Vec<_> = (0..200)
        .map(|n| {
            let proxy = proxy.clone();
            tokio::spawn(async move { proxy.call::<i64, _>("echo", (n,)).await })
        })
        .collect();
    for (n, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().unwrap(), n as i64);
    }
}
