//! The tools with Pyro's `PYRO_SSL*` environment: `pyro5-echoserver` on every server type
//! (thread, multiplex, tokio) and `pyro5-ns` serve TLS to the Python client, and `pyro5-call`
//! and `pyro5-nsc` call over TLS; certificates made at test time.

use std::process::{Child, Command, Stdio};

use pyro5_interop_tests::echo_daemon::start_echo_process;
use pyro5_interop_tests::python;
use pyro5_interop_tests::tls::{TestCertificates, item as path};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The server side of the TLS environment.
fn server_env(certs: &TestCertificates) -> Vec<(&'static str, String)> {
    vec![
        ("PYRO_SSL", "1".into()),
        ("PYRO_SSL_SERVERCERT", path(&certs.server().cert)),
        ("PYRO_SSL_SERVERKEY", path(&certs.server().key)),
    ]
}

/// The client side: trust the test authority.
fn client_env(certs: &TestCertificates) -> Vec<(&'static str, String)> {
    vec![("PYRO_SSL", "1".into()), ("PYRO_SSL_CACERTS", path(&certs.ca()))]
}

const ONE_CALL: &str = r#"
import sys, Pyro5.api
with Pyro5.api.Proxy(sys.argv[1]) as p:
    print(p.echo("over tls"))
"#;

#[test]
fn the_echo_server_serves_tls_on_every_server_type_to_python_and_pyro5_call() {
    let certs = TestCertificates::new("tools-echo");
    for servertype in ["thread", "multiplex", "tokio"] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pyro5-echoserver"));
        command
            .args(["-H", "localhost", "-p", "0", "--servertype", servertype])
            .envs(server_env(&certs))
            .stderr(Stdio::inherit());
        let (child, uri) = start_echo_process(command, "pyro5-echoserver");
        let _server = Server(child);
        let out = Command::new(python()).arg("-c").arg(ONE_CALL).arg(&uri).envs(client_env(&certs)).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "over tls", "{servertype}: {out:?}");
        let call = Command::new(env!("CARGO_BIN_EXE_pyro5-call"))
            .args([uri.as_str(), "echo", "--arg", "'from pyro5-call'"])
            .envs(client_env(&certs))
            .output()
            .unwrap();
        assert!(call.status.success(), "{servertype}: {call:?}");
        assert_eq!(String::from_utf8_lossy(&call.stdout).trim(), "'from pyro5-call'", "{servertype}");
        // Without the TLS settings the tool fails clearly rather than hang.
        let plain = Command::new(env!("CARGO_BIN_EXE_pyro5-call"))
            .args([uri.as_str(), "echo", "--arg", "1", "--timeout", "5"])
            .output()
            .unwrap();
        assert!(!plain.status.success(), "{servertype}: {plain:?}");
    }
}

#[test]
fn the_name_server_serves_tls_to_python_and_pyro5_nsc() {
    let certs = TestCertificates::new("tools-ns");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut ns = Command::new(env!("CARGO_BIN_EXE_pyro5-ns"))
        .args(["-n", "localhost", "-p", &port.to_string(), "--nobc"])
        .envs(server_env(&certs))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    {
        use std::io::{BufRead, BufReader};
        let mut lines = BufReader::new(ns.stdout.take().unwrap()).lines();
        assert!(lines.any(|l| l.is_ok_and(|l| l.contains("NS running"))), "the name server started");
        // What it prints later is read (a closed pipe would end it).
        std::thread::spawn(move || lines.for_each(drop));
    }
    let _ns = Server(ns);
    let code = r#"
import sys, Pyro5.api
ns = Pyro5.api.locate_ns("localhost", int(sys.argv[1]))
ns.register("example.tls", "PYRO:x@localhost:1234")
print(ns.lookup("example.tls"))
"#;
    let out =
        Command::new(python()).arg("-c").arg(code).arg(port.to_string()).envs(client_env(&certs)).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "PYRO:x@localhost:1234", "{out:?}");
    let nsc = Command::new(env!("CARGO_BIN_EXE_pyro5-nsc"))
        .args(["-n", "localhost", "-p", &port.to_string(), "list"])
        .envs(client_env(&certs))
        .output()
        .unwrap();
    assert!(nsc.status.success(), "{nsc:?}");
    assert!(String::from_utf8_lossy(&nsc.stdout).contains("example.tls"), "{nsc:?}");
}
