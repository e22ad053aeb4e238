//! `PYRO_NS_AUTOCLEAN` in `pyro5-ns` and `pyro5-echoserver -N`: the values Python's name
//! server refuses are refused with its texts, and a running `pyro5-ns` checks the location
//! of each registration on Pyro's schedule while keeping what it may not remove yet.
//! (Removal itself, which Pyro does only after 20 s, is tested with shortened timings in
//! `tests/tests/nameserver_autoclean.rs` and the library's unit tests.)

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pyro5_interop_tests::python;

/// A child process, killed when the test ends however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The last line of stderr of a process that failed, and its exit code.
fn failure(command: &mut Command) -> (i32, String) {
    let out = command.stdout(Stdio::null()).stderr(Stdio::piped()).output().expect("run");
    assert!(!out.status.success(), "{command:?} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), stderr.trim_end().lines().last().unwrap_or("").to_string())
}

#[test]
fn autoclean_values_python_refuses_are_refused_with_pythons_texts() {
    for value in ["1", "2.99", "abc", "3 seconds"] {
        let (python_code, python_line) = failure(
            Command::new(python())
                .args(["-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", "0", "-x"])
                .env("PYRO_NS_AUTOCLEAN", value),
        );
        let text = python_line.strip_prefix("ValueError: ").unwrap_or_else(|| panic!("{value}: {python_line}"));
        let (code, line) = failure(
            Command::new(env!("CARGO_BIN_EXE_pyro5-ns"))
                .args(["-n", "127.0.0.1", "-p", "0", "-x"])
                .env("PYRO_NS_AUTOCLEAN", value),
        );
        assert_eq!((code, line.as_str()), (python_code, format!("pyro5-ns: {text}").as_str()), "{value}");
    }
    // Python's echo server hangs on it (its name server thread dies); ours says why and stops.
    let (_, line) = failure(
        Command::new(env!("CARGO_BIN_EXE_pyro5-echoserver")).args(["-N", "-p", "0"]).env("PYRO_NS_AUTOCLEAN", "1"),
    );
    assert_eq!(line, "pyro5-echoserver: cannot start the name server: NS_AUTOCLEAN cannot be smaller than 3");
}

/// Start `pyro5-ns` on 127.0.0.1 with `PYRO_NS_AUTOCLEAN=period`; the process and its port.
fn start_ns(period: &str) -> (Killed, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pyro5-ns"))
        .args(["-n", "127.0.0.1", "-p", "0", "-x"])
        .env("PYRO_NS_AUTOCLEAN", period)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map(Killed)
        .expect("start pyro5-ns");
    let stdout = child.0.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let port = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("URI = ").and_then(|uri| uri.rsplit(':').next()?.parse().ok()))
        .expect("pyro5-ns printed its URI");
    std::thread::spawn(move || lines.for_each(drop));
    (child, port)
}

#[test]
fn pyro5_ns_with_autoclean_checks_every_location_and_keeps_names_within_the_grace_period() {
    let started = Instant::now();
    let (_ns, port) = start_ns("3");
    let watched = TcpListener::bind("127.0.0.1:0").expect("bind");
    let watched_uri = format!("PYRO:obj@127.0.0.1:{}", watched.local_addr().expect("addr").port());
    let gone_port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let gone_uri = format!("PYRO:gone@127.0.0.1:{gone_port}");
    let mut ns = pyro5_std::locate::locate_ns(Some("127.0.0.1"), Some(port)).expect("locate pyro5-ns");
    ns.register("watched", &watched_uri, false).expect("register");
    ns.register("gone", &gone_uri, false).expect("register");

    // Pyro's schedule: a look every 2 s, a round once 3 s have passed; so the first
    // connection comes after 4 s (its connection is opened and closed, nothing is sent).
    watched.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + Duration::from_secs(10);
    let checked = loop {
        match watched.accept() {
            Ok(_) => break started.elapsed(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("no autoclean check of the registered location: {e}"),
        }
    };
    assert!(checked >= Duration::from_secs(3), "checked after {checked:?}, before the period");

    // The round is over once both names were looked at; within Pyro's 20 s of grace both
    // stay (and the name server's own registration is never checked).
    std::thread::sleep(Duration::from_millis(500));
    let names: Vec<String> = ns.list(None).expect("list").into_keys().collect();
    assert_eq!(names, ["Pyro.NameServer", "gone", "watched"]);
}

#[test]
fn echoserver_dash_n_capital_with_autoclean_serves_and_stops_promptly() {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pyro5-echoserver"))
        .args(["-N", "-q", "-p", "0"])
        .env("PYRO_NS_PORT", &port)
        .env("PYRO_NS_AUTOCLEAN", "3")
        .stdout(Stdio::null())
        .spawn()
        .map(Killed)
        .expect("start");
    let script = "import time, Pyro5.api, Pyro5.errors\n\
                  for _ in range(100):\n    \
                      try:\n        ns = Pyro5.api.locate_ns('localhost'); ns.lookup('test.echoserver'); break\n    \
                      except (Pyro5.errors.NamingError, Pyro5.errors.CommunicationError):\n        time.sleep(0.1)\n\
                  echo = Pyro5.api.Proxy('PYRONAME:test.echoserver@localhost')\n\
                  print(echo.echo('hi'))\n\
                  echo.shutdown()";
    let out = Command::new(python()).args(["-c", script]).env("PYRO_NS_PORT", &port).output().expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    // Its autoclean thread ends with it.
    let deadline = Instant::now() + Duration::from_secs(8);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "pyro5-echoserver did not exit after shutdown()");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
}
