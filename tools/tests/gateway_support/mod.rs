//! What the HTTP gateway's tests and benchmark share: Python's name server and echo server,
//! both gateways as processes, and a plain HTTP/1.1 client (one request per connection, the
//! answer read to its end).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use pyro5_interop_tests::python;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind a free port").port()
}

/// Start `command` with its stdout read on in a thread; wait for a line starting with
/// `prefix` and return the child, the rest of that line and the lines before it.
fn start_until(mut command: Command, prefix: &'static str, what: &str) -> (Child, String, Vec<String>) {
    let mut child = command
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut before = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix(prefix) {
                let _ = tx.send((rest.trim().to_string(), std::mem::take(&mut before)));
            } else {
                before.push(line);
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok((rest, before)) => (child, rest, before),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not start");
        }
    }
}

/// A child process killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Python's name server on 127.0.0.1 (no broadcast) and Python's echo server registered in
/// it as `test.echoserver`.
pub struct PyroSide {
    _ns: Process,
    _echo: Process,
    /// The name server's port.
    pub ns_port: u16,
    /// The name server's URI.
    pub ns_uri: String,
    /// The echo server's URI.
    pub echo_uri: String,
}

impl PyroSide {
    /// Start both.
    pub fn start() -> Self {
        let mut echo = Command::new(python());
        echo.args(["-m", "Pyro5.utils.echoserver", "-n", "-H", "127.0.0.1"]);
        Self::start_with(echo)
    }

    /// Python's name server and our echo server (`pyro5-echoserver`) with a thread per
    /// connection, so that its calls run side by side (Python's echo server is a
    /// multiplex server: one call at a time).
    pub fn start_with_our_echo_server() -> Self {
        let mut echo = Command::new(env!("CARGO_BIN_EXE_pyro5-echoserver"));
        echo.args(["-n", "-H", "127.0.0.1", "--servertype", "thread"]);
        Self::start_with(echo)
    }

    fn start_with(mut echo: Command) -> Self {
        let (ns, ns_uri) = python_name_server(0);
        let ns_port: u16 = ns_uri.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port");
        echo.envs(ns_env(ns_port));
        let (echo, echo_uri, _) = start_until(echo, "echo uri:", "the echo server");
        Self { _ns: ns, _echo: Process(echo), ns_port, ns_uri, echo_uri }
    }

    /// Register `name` for `uri` in the name server.
    pub fn register(&self, name: &str, uri: &str) {
        let ns = pyro5_std::Proxy::new(&self.ns_uri).expect("the name server's URI");
        ns.call::<(), _>("register", (name, uri)).expect("register");
    }
}

/// Python's name server on 127.0.0.1:`port` (0: a free one), no broadcast: the process and
/// its URI.
pub fn python_name_server(port: u16) -> (Process, String) {
    let mut ns = Command::new(python());
    ns.args(["-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", &port.to_string(), "-x"]);
    let (ns, uri, _) = start_until(ns, "URI =", "Python's name server");
    (Process(ns), uri)
}

/// The environment that points a Pyro program at the name server on `port`.
pub fn ns_env(port: u16) -> Vec<(&'static str, String)> {
    vec![("PYRO_NS_HOST", "127.0.0.1".to_string()), ("PYRO_NS_PORT", port.to_string())]
}

/// Which gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// `python -m Pyro5.utils.httpgateway`.
    Python,
    /// `pyro5-httpgateway`.
    Ours,
}

/// A gateway process listening on 127.0.0.1.
pub struct Gateway {
    _process: Process,
    /// Its port.
    pub port: u16,
    /// The lines it printed before it served, the last one (the address) included.
    pub startup: Vec<String>,
}

impl Gateway {
    /// Start `which` on `port` with `args` (after `-H 127.0.0.1 -p PORT`), finding the name
    /// server on `ns_port`.
    pub fn start(which: Which, ns_port: u16, port: u16, args: &[&str]) -> Self {
        Self::start_with_env(which, ns_port, port, args, &[])
    }

    /// [`start`](Self::start) with more environment variables.
    pub fn start_with_env(which: Which, ns_port: u16, port: u16, args: &[&str], env: &[(&str, String)]) -> Self {
        let mut command = match which {
            Which::Python => {
                let mut c = Command::new(python());
                c.args(["-m", "Pyro5.utils.httpgateway"]);
                c
            }
            Which::Ours => Command::new(env!("CARGO_BIN_EXE_pyro5-httpgateway")),
        };
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]).args(args).envs(ns_env(ns_port));
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let (child, address, mut startup) = start_until(command, "Pyro HTTP gateway running on ", "the gateway");
        startup.push(format!("Pyro HTTP gateway running on {address}"));
        Self { _process: Process(child), port, startup }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, names in lowercase, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Send `head` (the request line and headers, without the blank line) and `body` to
/// 127.0.0.1:`port` on a new connection, asking it to be closed after the answer, and read
/// the answer to its end.
pub fn request(port: u16, head: &str, body: &[u8]) -> Answer {
    let raw = exchange(port, format!("{head}\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").as_bytes(), body);
    parse_answer(&raw).unwrap_or_else(|| panic!("no HTTP answer to {head:?}: {:?}", String::from_utf8_lossy(&raw)))
}

/// `GET path` with `headers`.
pub fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut head = format!("GET {path} HTTP/1.1");
    for (name, value) in headers {
        head.push_str(&format!("\r\n{name}: {value}"));
    }
    request(port, &head, b"")
}

/// Write `bytes` then `body` and read until the server closes (30 s at most).
pub fn exchange(port: u16, bytes: &[u8], body: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the gateway");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    stream.write_all(bytes).expect("send the request");
    stream.write_all(body).expect("send the body");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    raw
}

/// The status, headers and body of an answer read to its end (no chunked bodies: both
/// gateways send a Content-Length).
pub fn parse_answer(raw: &[u8]) -> Option<Answer> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(raw.get(..end)?).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Answer { status, headers, body: raw.get(end + 4..)?.to_vec() })
}
