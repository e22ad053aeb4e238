//! Pyro5's `ssl` example: a daemon with 2-way TLS (Pyro's `SSL`, a client certificate
//! required) whose handshake validator checks the client's certificate further: its serial
//! number, issuer and subject, as Python's `validateHandshake` does with
//! `conn.getpeercert()`. It uses Pyro's demo certificates, `../../certs` from the example's
//! folder (run it there), and serves a `Safe` per connection under a generated id; the
//! client asks for the URI and checks the server's certificate in its own handshake.

use pyro5_examples::Result;
use pyro5_std::core::ser::call::ConnectView;
use pyro5_std::core::server::{Answered, ConnectionId, HandshakeAnswer, HandshakeValidator};
use pyro5_std::{Config, Daemon, DaemonConfig, InstanceMode, Peers, expose};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The serial number of Pyro's demo client certificate.
const CLIENT_SERIAL: &str = "1FABD733200A52DCED0702B7A856773F37AAC0E3";

struct Safe;

#[expose]
impl Safe {
    fn echo(&self, message: &str) -> &'static str {
        println!("got message: {message}");
        "hi!"
    }
}

/// Refuses clients whose certificate is not the demo client's.
struct CertValidating {
    peers: Peers,
}

impl CertValidating {
    /// What is wrong with the client's certificate (the text Python's example raises).
    fn check(&self, connection: ConnectionId) -> std::result::Result<String, String> {
        let der = self.peers.certificate(connection).ok_or("client cert missing")?;
        let (_, cert) = X509Certificate::from_der(&der).map_err(|e| format!("client cert unreadable: {e}"))?;
        // As Python's `getpeercert()` writes it: upper-case hex.
        let serial = format!("{:X}", cert.serial);
        if serial != CLIENT_SERIAL {
            return Err(format!("('cert serial number incorrect', '{serial}')"));
        }
        let first = |mut values: Box<dyn Iterator<Item = &str> + '_>| values.next().unwrap_or("").to_string();
        let issuer_org = first(Box::new(cert.issuer().iter_organization().filter_map(|a| a.as_str().ok())));
        let country = first(Box::new(cert.subject().iter_country().filter_map(|a| a.as_str().ok())));
        let subject_org = first(Box::new(cert.subject().iter_organization().filter_map(|a| a.as_str().ok())));
        if issuer_org != "Razorvine.net" {
            return Err("cert not issued by Razorvine.net".into());
        }
        if country != "NL" {
            return Err("cert not for country NL".into());
        }
        if subject_org != "Razorvine.net" {
            return Err("cert not for Razorvine.net".into());
        }
        Ok(format!("(SSL client cert is ok: serial={serial}, subject={subject_org})"))
    }
}

impl HandshakeValidator for CertValidating {
    fn validate(&self, connection: ConnectionId, _: &ConnectView<'_>, answer: HandshakeAnswer<'_, '_>) -> Answered {
        match self.check(connection) {
            Ok(line) => {
                println!("{line}");
                answer.accept("hello")
            }
            Err(reason) => answer.refuse(&reason),
        }
    }
}

fn main() -> Result {
    let mut config = Config::from_env()?;
    config.ssl = true;
    // Two-way TLS: the client's certificate is asked for and checked.
    config.ssl_requireclientcert = true;
    config.ssl_servercert = "../../certs/server_cert.pem".into();
    config.ssl_serverkey = "../../certs/server_key.pem".into();
    // To accept the self-signed client certificate.
    config.ssl_cacerts = "../../certs/client_cert.pem".into();
    println!("SSL enabled (2-way).");
    let daemon = Daemon::new(DaemonConfig::from(&config))?;
    daemon.set_handshake_validator(CertValidating { peers: daemon.peers() });
    let uri = daemon.register_class(InstanceMode::Session, || Safe, None)?;
    println!("server uri: {uri}");
    daemon.request_loop()?;
    Ok(())
}
