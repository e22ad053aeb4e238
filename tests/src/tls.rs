//! Certificates made at test time for the TLS tests (nothing secret is kept in the
//! repository): a certificate authority, a daemon's and a client's certificates signed by
//! it (the daemon's for `localhost` and `127.0.0.1`), a client certificate of another
//! authority, and a certificate made like Pyro's examples (self-signed, `CA:TRUE`, no
//! subjectAltName), each as PEM files in a fresh directory.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// PEM files of one test's certificates; the directory is removed when dropped.
pub struct TestCertificates {
    dir: PathBuf,
}

/// A certificate's files.
#[derive(Clone, Debug)]
pub struct Pair {
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM, not encrypted).
    pub key: PathBuf,
}

impl TestCertificates {
    /// Make them all in a new directory under the system's temporary one.
    ///
    /// # Panics
    /// When they cannot be made or written.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("pyro5-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for the certificates");
        let certs = Self { dir };
        let (ca_params, ca_key) = authority("pyro5-rs test CA");
        let ca = ca_params.self_signed(&ca_key).expect("the CA certificate");
        certs.write("ca.pem", &ca.pem());
        let issuer = Issuer::new(ca_params, ca_key);
        certs.leaf("server", &["localhost", "127.0.0.1", "::1"], &issuer);
        certs.leaf("client", &["client.pyro5-rs.test"], &issuer);
        let (other_params, other_key) = authority("another CA");
        let other_ca = other_params.self_signed(&other_key).expect("another CA");
        certs.write("other-ca.pem", &other_ca.pem());
        certs.leaf("stranger", &["stranger.test"], &Issuer::new(other_params, other_key));
        // Like Pyro's example certificates: a self-signed authority used as a leaf.
        let (mut pyro_params, pyro_key) = authority("localhost");
        pyro_params.subject_alt_names.clear();
        let pyro = pyro_params.self_signed(&pyro_key).expect("a Pyro-like certificate");
        certs.write("pyrolike.pem", &pyro.pem());
        certs.write("pyrolike.key", &pyro_key.serialize_pem());
        certs
    }

    fn write(&self, name: &str, pem: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, pem).expect("write a PEM file");
        path
    }

    fn leaf(&self, name: &str, names: &[&str], issuer: &Issuer<'_, KeyPair>) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("names");
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let key = KeyPair::generate().expect("a key");
        let cert = params.signed_by(&key, issuer).expect("a leaf certificate");
        self.write(&format!("{name}.pem"), &cert.pem());
        self.write(&format!("{name}.key"), &key.serialize_pem());
    }

    fn pair(&self, name: &str) -> Pair {
        Pair { cert: self.dir.join(format!("{name}.pem")), key: self.dir.join(format!("{name}.key")) }
    }

    /// The authority's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The other authority's certificate (trusted by nobody by default).
    pub fn other_ca(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }

    /// The daemon's certificate (for `localhost`, `127.0.0.1`, `::1`).
    pub fn server(&self) -> Pair {
        self.pair("server")
    }

    /// A client certificate the authority signed.
    pub fn client(&self) -> Pair {
        self.pair("client")
    }

    /// A client certificate of the other authority.
    pub fn stranger(&self) -> Pair {
        self.pair("stranger")
    }

    /// A certificate like Pyro's examples: self-signed, `CA:TRUE`, common name `localhost`,
    /// no subjectAltName.
    pub fn pyrolike(&self) -> Pair {
        self.pair("pyrolike")
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TestCertificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn authority(name: &str) -> (CertificateParams, KeyPair) {
    let mut params = CertificateParams::new(vec![name.to_string()]).expect("a name");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
    params.distinguished_name.push(DnType::CommonName, name);
    (params, KeyPair::generate().expect("a key"))
}

/// A path as the text an `SSL_*` item or `PYRO_SSL_*` variable holds.
pub fn item(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The pinned Python with `PYRO_SSL=1` and `env` (more `PYRO_SSL_*` variables).
pub fn python_ssl(env: &[(&str, String)]) -> std::process::Command {
    let mut command = std::process::Command::new(crate::python());
    command.env("PYRO_SSL", "1");
    command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    command
}

/// Python code making one echo call to the URI in `argv[1]`: prints `ok <answer>`, or
/// `error <class>: <text>`.
pub const ONE_CALL: &str = r#"
import sys, Pyro5.api, Pyro5.errors
try:
    with Pyro5.api.Proxy(sys.argv[1]) as p:
        print("ok", p.echo("over tls"))
except Exception as e:
    print("error %s: %s" % (type(e).__name__, e))
"#;

/// What a process printed on stdout.
pub fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
