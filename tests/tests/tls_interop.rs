//! TLS (Pyro's SSL) between the real Python Pyro5 and ours, with certificates made at test
//! time: Python clients configured with `PYRO_SSL*` calling our thread and multiplex
//! daemons (the echo suite; client certificates required, missing or from a stranger; the
//! client's certificate reaching our handshake validator), our proxy calling Python's TLS
//! echo server (with and without a client certificate, an untrusted daemon refused), a
//! certificate made like Pyro's examples (pinned), and plaintext meeting TLS both ways.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use pyro5_interop_tests::echo_daemon::{serve_echo, start_echo_process};
use pyro5_interop_tests::tls::{ONE_CALL, TestCertificates, item as path, python_ssl, stdout_of as stdout};
use pyro5_interop_tests::{python, workspace_root};
use pyro5_std::config::Config;
use pyro5_std::core::ser::call::ConnectView;
use pyro5_std::core::server::{Answered, ConnectionId, HandshakeAnswer, HandshakeValidator};
use pyro5_std::{Daemon, Proxy, ProxyError, ServerType};

/// What a Python client with `env` (its `PYRO_SSL*` items) printed for one call of the echo
/// server at `uri`: "ok over tls", or "error " and the error.
fn python_call(env: &[(&str, String)], uri: &str) -> String {
    let out = python_ssl(env).arg("-c").arg(ONE_CALL).arg(uri).output().expect("run python");
    stdout(&out).trim().to_string()
}

/// Our echo daemon with `config` answers a Python client with `env`, then shuts down.
fn serves_one_python_call(config: &Config, env: &[(&str, String)]) {
    let (daemon, uri, thread) = serve_echo(config, "test.echoserver");
    assert_eq!(python_call(env, &uri), "ok over tls");
    daemon.shutdown();
    thread.join().expect("the loop ends").expect("served");
}

/// Our daemon's TLS settings with `servertype`.
fn server_config(certs: &TestCertificates, servertype: ServerType, require_client: bool) -> Config {
    Config {
        host: "localhost".into(),
        servertype,
        ssl: true,
        ssl_servercert: path(&certs.server().cert),
        ssl_serverkey: path(&certs.server().key),
        ssl_requireclientcert: require_client,
        ssl_cacerts: if require_client { path(&certs.ca()) } else { String::new() },
        ..Config::default()
    }
}

fn succeeded(out: &Output) -> String {
    let text = stdout(out);
    assert!(out.status.success(), "python failed:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    text
}

#[test]
fn python_clients_call_our_tls_daemons_with_the_echo_suite() {
    let certs = TestCertificates::new("suite");
    for servertype in [ServerType::Thread, ServerType::Multiplex] {
        let (daemon, uri, thread) = serve_echo(&server_config(&certs, servertype, false), "test.echoserver");
        let out = python_ssl(&[("PYRO_SSL_CACERTS", path(&certs.ca()))])
            .arg(workspace_root().join("tests/python/echo_suite.py"))
            .arg(&uri)
            .output()
            .expect("run python");
        let text = succeeded(&out);
        assert!(text.contains("msgpack:") && text.contains("checks ok"), "{servertype}: {text}");
        // A TLS client on a plaintext daemon: a clear failure on both sides.
        let (plain_daemon, plain_uri, plain_thread) =
            serve_echo(&Config { host: "localhost".into(), servertype, ..Config::default() }, "test.echoserver");
        let tls_to_plain = python_call(&[("PYRO_SSL_CACERTS", path(&certs.ca()))], &plain_uri);
        assert!(tls_to_plain.starts_with("error "), "{servertype}: {tls_to_plain}");
        let ours_to_plain = Config { ssl: true, ssl_cacerts: path(&certs.ca()), commtimeout: 5.0, ..Config::default() };
        assert!(our_proxy(&plain_uri, ours_to_plain).is_err());
        plain_daemon.shutdown();
        plain_thread.join().expect("the loop ends").expect("served");
        // A plaintext client gets no answer it can read, and the daemon goes on.
        let plain = Command::new(python()).arg("-c").arg(ONE_CALL).arg(&uri).output().expect("run python");
        let plain = stdout(&plain);
        assert!(plain.starts_with("error "), "{servertype}: {plain}");
        let again = python_call(&[("PYRO_SSL_CACERTS", path(&certs.ca()))], &uri);
        assert_eq!(again, "ok over tls", "{servertype}");
        daemon.shutdown();
        thread.join().expect("the loop ends").expect("served");
    }
}

/// Accepts clients whose certificate is the one given, as Pyro's ssl example checks the
/// certificate in `validateHandshake`.
struct CertificateCheck {
    certificates: pyro5_std::Peers,
    allowed: Vec<u8>,
    seen: Arc<Mutex<Vec<bool>>>,
}

impl HandshakeValidator for CertificateCheck {
    fn validate(&self, connection: ConnectionId, _: &ConnectView<'_>, answer: HandshakeAnswer<'_, '_>) -> Answered {
        let shown = self.certificates.certificate(connection);
        let from_here = self.certificates.address(connection).is_some_and(|a| a.ip().is_loopback());
        let ok = shown.as_deref() == Some(self.allowed.as_slice()) && from_here;
        self.seen.lock().unwrap().push(ok);
        if ok { answer.accept(&"hello") } else { answer.refuse(&"certificate not allowed") }
    }
}

fn der_of(pem_file: &Path) -> Vec<u8> {
    use pyro5_std::tls::rustls::pki_types::CertificateDer;
    use pyro5_std::tls::rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_file(pem_file).expect("a certificate").as_ref().to_vec()
}

#[test]
fn client_certificates_are_required_checked_and_shown_to_the_validator() {
    let certs = TestCertificates::new("clients");
    for servertype in [ServerType::Thread, ServerType::Multiplex] {
        let config = server_config(&certs, servertype, true);
        let (daemon, uri, thread) = serve_echo(&config, "test.echoserver");
        let seen = Arc::new(Mutex::new(Vec::new()));
        daemon.set_handshake_validator(CertificateCheck {
            certificates: daemon.peers(),
            allowed: der_of(&certs.client().cert),
            seen: seen.clone(),
        });
        let client = |pair: Option<&pyro5_interop_tests::tls::Pair>| {
            let mut env = vec![("PYRO_SSL_CACERTS", path(&certs.ca()))];
            if let Some(pair) = pair {
                env.push(("PYRO_SSL_CLIENTCERT", path(&pair.cert)));
                env.push(("PYRO_SSL_CLIENTKEY", path(&pair.key)));
            }
            python_call(&env, &uri)
        };
        assert_eq!(client(Some(&certs.client())), "ok over tls", "{servertype}");
        let none = client(None);
        assert!(none.starts_with("error "), "{servertype}: no certificate: {none}");
        let stranger = client(Some(&certs.stranger()));
        assert!(stranger.starts_with("error "), "{servertype}: a stranger: {stranger}");
        assert_eq!(*seen.lock().unwrap(), [true], "{servertype}: only the trusted client got to the handshake");
        // Trusted by the authority but not allowed by the validator: Pyro's rejection.
        daemon.set_handshake_validator(CertificateCheck {
            certificates: daemon.peers(),
            allowed: Vec::new(),
            seen: seen.clone(),
        });
        let refused = client(Some(&certs.client()));
        assert!(refused.contains("certificate not allowed"), "{servertype}: {refused}");
        daemon.shutdown();
        thread.join().expect("the loop ends").expect("served");
    }
}

/// Python's echo server with TLS settings in `env`.
fn python_tls_echo(env: &[(&str, String)]) -> (std::process::Child, String) {
    let mut command = python_ssl(env);
    command
        .args(["-u", "-m", "Pyro5.utils.echoserver", "-H", "127.0.0.1", "-p", "0"])
        .stderr(std::process::Stdio::null());
    start_echo_process(command, "Python's TLS echo server")
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn our_proxy(uri: &str, config: Config) -> Result<String, ProxyError> {
    let proxy = Proxy::with_config(uri, &config)?;
    proxy.call::<String, _>("echo", ("over tls",))
}

#[test]
fn our_proxy_calls_pythons_tls_echo_server() {
    let certs = TestCertificates::new("proxy");
    let server = |require: bool| {
        let mut env = vec![
            ("PYRO_SSL_SERVERCERT", path(&certs.server().cert)),
            ("PYRO_SSL_SERVERKEY", path(&certs.server().key)),
        ];
        if require {
            env.push(("PYRO_SSL_REQUIRECLIENTCERT", "1".into()));
            env.push(("PYRO_SSL_CACERTS", path(&certs.ca())));
        }
        let (child, uri) = python_tls_echo(&env);
        (Killed(child), uri)
    };
    let trusting = Config { ssl: true, ssl_cacerts: path(&certs.ca()), ..Config::default() };
    let with_cert = Config {
        ssl_clientcert: path(&certs.client().cert),
        ssl_clientkey: path(&certs.client().key),
        ..trusting.clone()
    };

    let (_one_way, uri) = server(false);
    assert_eq!(our_proxy(&uri, trusting.clone()).unwrap(), "over tls");
    // The daemon's certificate, for checks of the program's own.
    let proxy = Proxy::with_config(&uri, &trusting).unwrap();
    proxy.bind().unwrap();
    assert_eq!(proxy.peer_certificate(), Some(der_of(&certs.server().cert)));
    // Not trusted: the daemon's authority is not ours.
    let distrusting = Config { ssl: true, ssl_cacerts: path(&certs.other_ca()), ..Config::default() };
    match our_proxy(&uri, distrusting) {
        Err(ProxyError::Connect { error, .. }) => assert!(error.to_string().contains("TLS"), "{error}"),
        other => panic!("{other:?}"),
    }
    // Plaintext to a TLS daemon: a clear failure, not a hang.
    assert!(our_proxy(&uri, Config { commtimeout: 5.0, ..Config::default() }).is_err());

    let (_two_way, uri) = server(true);
    assert_eq!(our_proxy(&uri, with_cert).unwrap(), "over tls");
    assert!(our_proxy(&uri, trusting).is_err(), "the daemon requires a client certificate");
}

#[test]
fn certificates_like_pyros_examples_are_pinned() {
    let certs = TestCertificates::new("pinned");
    let pyrolike = certs.pyrolike();
    let env = vec![("PYRO_SSL_SERVERCERT", path(&pyrolike.cert)), ("PYRO_SSL_SERVERKEY", path(&pyrolike.key))];
    let (child, uri) = python_tls_echo(&env);
    let _server = Killed(child);
    // Pinned: the daemon's own certificate in SSL_CACERTS.
    let pinned = Config { ssl: true, ssl_cacerts: path(&pyrolike.cert), ..Config::default() };
    assert_eq!(our_proxy(&uri, pinned).unwrap(), "over tls");
    // Trusted by an authority only, it would need subjectAltName: refused, saying why.
    let by_ca = Config { ssl: true, ssl_cacerts: path(&certs.ca()), ..Config::default() };
    assert!(our_proxy(&uri, by_ca).is_err());

    // Our daemon with it, Python trusting it as Pyro's examples do.
    let config = Config {
        ssl: true,
        ssl_servercert: path(&pyrolike.cert),
        ssl_serverkey: path(&pyrolike.key),
        ..Config::default()
    };
    serves_one_python_call(&config, &[("PYRO_SSL_CACERTS", path(&pyrolike.cert))]);
}

#[test]
fn tls_settings_that_cannot_work_are_clear_errors() {
    let certs = TestCertificates::new("errors");
    let missing = Config { ssl: true, ..Config::default() };
    let e = Daemon::with_config(&missing).unwrap_err();
    assert!(e.to_string().contains("SSL_SERVERCERT"), "{e}");
    let no_file = Config { ssl: true, ssl_servercert: "/nonexistent/cert.pem".into(), ..Config::default() };
    let e = Daemon::with_config(&no_file).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/cert.pem"), "{e}");
    let no_ca = Config { ssl_requireclientcert: true, ..server_config(&certs, ServerType::Thread, false) };
    let e = Daemon::with_config(&no_ca).unwrap_err();
    assert!(e.to_string().contains("SSL_CACERTS"), "{e}");
    let encrypted = certs.dir().join("encrypted.key");
    std::fs::write(&encrypted, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
        .unwrap();
    let protected = Config { ssl_serverkey: path(&encrypted), ..server_config(&certs, ServerType::Thread, false) };
    let e = Daemon::with_config(&protected).unwrap_err();
    assert!(e.to_string().contains("cannot decrypt the private key") && e.to_string().contains("no password"), "{e}");
    let legacy = certs.dir().join("legacy.key");
    std::fs::write(&legacy, "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n").unwrap();
    let old_format = Config { ssl_serverkey: path(&legacy), ..server_config(&certs, ServerType::Thread, false) };
    let e = Daemon::with_config(&old_format).unwrap_err();
    assert!(e.to_string().contains("openssl pkcs8 -topk8"), "{e}");
}

/// A daemon key protected by a password (PKCS#8, as `openssl pkcs8 -topk8` writes it):
/// read with `SSL_SERVERKEYPASSWD`, a Python client served; a wrong password is a clear error.
#[test]
fn password_protected_keys_are_read_with_their_password() {
    let certs = TestCertificates::new("keypass");
    let protected = certs.dir().join("server-protected.key");
    let made = Command::new("openssl")
        .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:s3cret", "-in"])
        .arg(&certs.server().key)
        .arg("-out")
        .arg(&protected)
        .status();
    if !made.is_ok_and(|s| s.success()) {
        println!("SKIPPED: the openssl command is not available to encrypt a key");
        return;
    }
    let config = Config {
        ssl_serverkey: path(&protected),
        ssl_serverkeypasswd: "wrong".into(),
        ..server_config(&certs, ServerType::Multiplex, false)
    };
    let e = Daemon::with_config(&config).unwrap_err();
    assert!(e.to_string().contains("cannot decrypt the private key"), "{e}");
    let config = Config { ssl_serverkeypasswd: "s3cret".into(), ..config };
    serves_one_python_call(&config, &[("PYRO_SSL_CACERTS", path(&certs.ca()))]);
}

/// A client that stalls its TLS handshake is closed after the handshake timeout, one that
/// sends garbage at once; meanwhile TLS clients are served (thread and multiplex at once).
#[test]
fn stalled_and_garbage_handshakes_end_only_their_connection() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};
    let certs = TestCertificates::new("stall");
    let servers: Vec<_> = [ServerType::Thread, ServerType::Multiplex]
        .into_iter()
        .map(|servertype| serve_echo(&server_config(&certs, servertype, false), "test.echoserver"))
        .collect();
    let started = Instant::now();
    let mut stalled = Vec::new();
    for (daemon, uri, _) in &servers {
        let port = daemon.port().expect("tcp");
        let silent = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        silent.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut garbage = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        garbage.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        garbage.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        let _ = garbage.read_to_end(&mut answer);
        assert!(started.elapsed() < Duration::from_secs(5), "garbage is refused at once");
        assert_eq!(python_call(&[("PYRO_SSL_CACERTS", path(&certs.ca()))], uri), "ok over tls");
        stalled.push(silent);
    }
    for mut silent in stalled {
        let mut rest = Vec::new();
        let read = silent.read_to_end(&mut rest);
        assert!(read.is_ok() || started.elapsed() < Duration::from_secs(25), "closed: {read:?}");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(9) && waited < Duration::from_secs(25), "after {waited:?}");
    }
    for (daemon, _, thread) in servers {
        daemon.shutdown();
        thread.join().expect("the loop ends").expect("served");
    }
}

/// A TLS name server of ours: Python (`PYRO_SSL*`) registers nothing but resolves a
/// `PYRONAME` through it and calls the TLS echo object it names; our proxy does the same.
#[test]
fn pyroname_resolution_through_a_tls_name_server() {
    let certs = TestCertificates::new("names");
    let config = server_config(&certs, ServerType::Thread, false);
    let ns_daemon = Daemon::with_config(&config).expect("bind");
    let ns = pyro5_std::naming::NameServer::new();
    ns.serve(&ns_daemon).expect("serve the name server");
    let ns_port = ns_daemon.port().expect("tcp");
    let serving = ns_daemon.clone();
    let ns_thread = std::thread::spawn(move || serving.request_loop());
    let (daemon, uri, thread) = serve_echo(&config, "test.echoserver");
    ns.register("example.tls.echo", &uri, false, None).expect("register");

    let code = r#"
import sys, Pyro5.api
with Pyro5.api.Proxy("PYRONAME:example.tls.echo@localhost:" + sys.argv[1]) as p:
    print(p.echo("named over tls"))
"#;
    let out = python_ssl(&[("PYRO_SSL_CACERTS", path(&certs.ca()))])
        .arg("-c")
        .arg(code)
        .arg(ns_port.to_string())
        .output()
        .expect("run python");
    assert_eq!(succeeded(&out).trim(), "named over tls");
    let ours = Config { ssl: true, ssl_cacerts: path(&certs.ca()), ..Config::default() };
    let proxy = Proxy::with_config(&format!("PYRONAME:example.tls.echo@localhost:{ns_port}"), &ours).unwrap();
    assert_eq!(proxy.call::<String, _>("echo", ("named",)).unwrap(), "named");
    for (daemon, thread) in [(daemon, thread), (ns_daemon, ns_thread)] {
        daemon.shutdown();
        thread.join().expect("the loop ends").expect("served");
    }
}
