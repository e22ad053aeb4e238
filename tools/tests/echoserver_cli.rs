//! `pyro5-echoserver` as a user starts it: Python's options and output, the URI it prints
//! works for a Python client, `shutdown()` ends it, and the name server options say they
//! are not available yet.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pyro5_interop_tests::python;

/// The server process, killed when the test ends however it ends (a leaked server would
/// keep the test runner's output pipes open).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Server {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

fn start(args: &[&str]) -> (Server, Vec<String>) {
    let (child, lines, _) = start_reading(args);
    (child, lines)
}

/// Start it and read up to its "running" line; the rest of its output stays readable.
fn start_reading(args: &[&str]) -> (Server, Vec<String>, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pyro5-echoserver"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map(Server)
        .expect("start pyro5-echoserver");
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().expect("piped"));
    while lines.last().is_none_or(|l: &String| l != "echoserver running.") {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            break;
        }
        lines.push(line.trim_end().to_string());
    }
    (child, lines, reader)
}

fn call(uri: &str, code: &str) -> String {
    let script = format!("import Pyro5.api\np = Pyro5.api.Proxy({uri:?})\n{code}");
    let out = Command::new(python()).args(["-c", &script]).output().expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("pyro5-echoserver did not exit after shutdown()");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn prints_what_python_prints_serves_the_uri_and_stops_on_shutdown() {
    let (mut child, lines) = start(&["-p", "0"]);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], "Starting Pyro's built-in test echo server.");
    assert_eq!(lines[1], "object name: test.echoserver");
    let uri = lines[2].strip_prefix("echo uri: ").expect("uri line");
    assert!(uri.starts_with("PYRO:test.echoserver@localhost:"), "{uri}");
    assert_eq!(lines[3], "echoserver running.");
    assert_eq!(call(uri, "print(p.echo([1, 'two', 3.5]))"), "[1, 'two', 3.5]");
    call(uri, "p.shutdown()");
    assert!(wait_exit(&mut child).success());
}

#[test]
fn verbose_says_no_name_server_and_logs_calls() {
    let (mut child, lines, mut reader) = start_reading(&["-p", "0", "-v", "--servertype", "thread"]);
    assert_eq!(lines[1], "not using a name server.", "{lines:?}");
    let uri = lines[3].strip_prefix("echo uri: ").expect("uri line").to_string();
    call(&uri, "p.echo('hi'); p.shutdown()");
    assert!(wait_exit(&mut child).success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).expect("read");
    let rest: Vec<&str> = rest.lines().collect();
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert!(rest[0].ends_with(" - echo: 'hi'"), "{rest:?}");
    assert!(rest[1].ends_with(" - shutting down"), "{rest:?}");
}

#[test]
fn quiet_prints_nothing() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pyro5-echoserver"))
        .args(["-p", "0", "-q", "-u", &std::env::temp_dir().join("pyro5-rs-cli-quiet.sock").to_string_lossy()])
        .stdout(Stdio::piped())
        .spawn()
        .map(Server)
        .expect("start");
    std::thread::sleep(Duration::from_millis(300));
    let uri = format!("PYRO:test.echoserver@./u:{}", std::env::temp_dir().join("pyro5-rs-cli-quiet.sock").display());
    call(&uri, "p.shutdown()");
    assert!(wait_exit(&mut child).success());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("piped"), &mut out).expect("read");
    assert_eq!(out, "");
}

#[test]
fn dash_n_capital_starts_a_name_server_and_registers_the_echo_server_in_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pyro5-echoserver"))
        .args(["-N", "-v", "-p", "0"])
        .env("PYRO_NS_PORT", &port)
        .stdout(Stdio::piped())
        .spawn()
        .map(Server)
        .expect("start");
    let mut reader = BufReader::new(child.stdout.take().expect("piped"));
    let mut lines = Vec::new();
    while lines.last().is_none_or(|l: &String| l != "echoserver running.") {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            break;
        }
        lines.push(line.trim_end().to_string());
    }
    assert_eq!(lines[1], format!("using name server at PYRO:Pyro.NameServer@localhost:{port}"), "{lines:?}");
    assert_eq!(lines[2], "not using a broadcast server", "{lines:?}");
    // What the README shows: an unmodified Python client finds the echo server by name.
    let script = "import Pyro5.api\n\
                  echo = Pyro5.api.Proxy('PYRONAME:test.echoserver')\n\
                  print(echo.echo('hi'))\n\
                  print(sorted(Pyro5.api.locate_ns().list()))\n\
                  echo.shutdown()";
    let out = Command::new(python()).args(["-c", script]).env("PYRO_NS_PORT", &port).output().expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n['Pyro.NameServer', 'test.echoserver']\n");
    assert!(wait_exit(&mut child).success());
}
