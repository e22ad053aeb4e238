//! `pyro5-nsc` against Python's name server, compared with Python's own `python -m
//! Pyro5.nsc`: the same commands, run by each tool against its own (identical, fresh) Python
//! name server, print the same stdout line by line, the same last stderr line and exit with
//! the same status. The name server's port is the only difference allowed; metadata sets are
//! compared as sets (Python prints them in its hash order). Covered: every command with its
//! errors (unknown names, duplicate registration, bad URI, bad regex, missing arguments),
//! `removematching`'s confirmation (no, EOF, yes), `-v`, a name server that is not there,
//! `-p` without `-n` (the local-host attempt) and `PYRO_NS_HOST`/`PYRO_NS_PORT`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pyro5_interop_tests::python;

/// A Python name server on 127.0.0.1, no broadcast, killed on drop.
struct PyNameServer {
    child: Child,
    port: u16,
}

impl PyNameServer {
    fn start() -> Self {
        let mut child = Command::new(python())
            .args(["-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", "0", "-x"])
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the Python name server");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(uri) = line.strip_prefix("URI =") {
                    let _ = tx.send(uri.trim().to_string());
                }
            }
        });
        let uri = rx.recv_timeout(Duration::from_secs(30)).expect("the name server's URI");
        let port = uri.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port");
        Self { child, port }
    }
}

impl Drop for PyNameServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one run printed, normalized.
#[derive(Debug, PartialEq)]
struct Run {
    code: i32,
    stdout: Vec<String>,
    /// The last line of stderr (Python's is a traceback; the last line names the error).
    stderr_last: String,
}

fn run(mut command: Command, args: &[String], stdin: &str, port: u16) -> Run {
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the tool");
    child.stdin.take().expect("piped").write_all(stdin.as_bytes()).expect("stdin");
    let out = child.wait_with_output().expect("wait");
    // The name server's port is the one difference between the two runs (0: none).
    let unport = |text: &str| if port == 0 { text.to_string() } else { text.replace(&port.to_string(), "PORT") };
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let stderr = String::from_utf8(out.stderr).expect("UTF-8");
    Run {
        code: out.status.code().expect("exited"),
        stdout: unport(&stdout).lines().map(normalize).collect(),
        stderr_last: unport(stderr.lines().last().unwrap_or("")),
    }
}

/// A `metadata: {...}` line with its items sorted.
fn normalize(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    match trimmed.strip_prefix("metadata: {").and_then(|rest| rest.strip_suffix('}')) {
        Some(items) => {
            let mut items: Vec<&str> = items.split(", ").collect();
            items.sort_unstable();
            format!("{indent}metadata: {{{}}}", items.join(", "))
        }
        None => line.to_string(),
    }
}

#[test]
fn nsc_prints_what_pythons_nsc_prints() {
    let ours_ns = PyNameServer::start();
    let theirs_ns = PyNameServer::start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    // (arguments after `-n 127.0.0.1 -p PORT`, stdin); `@closed` and `@nohost` change the location.
    let steps: &[(&[&str], &str)] = &[
        (&["ping"], ""),
        (&["list"], ""),
        (&["register", "a.one", "PYRO:one@localhost:1111"], ""),
        (&["register", "a.one", "PYRO:one@localhost:1111"], ""),
        (&["register", "b.two", "PYRO:two@[::1]:2222"], ""),
        (&["register", "c.bad", "not a uri"], ""),
        (&["setmeta", "a.one", "m1", "m2", "m3"], ""),
        (&["setmeta", "b.two", "m1"], ""),
        (&["setmeta", "b.two"], ""),
        (&["setmeta", "nope", "m1"], ""),
        (&["list"], ""),
        (&["list", "a"], ""),
        (&["list", "zz"], ""),
        (&["listmatching", "b\\..*"], ""),
        (&["listmatching", "["], ""),
        (&["lookup", "a.one"], ""),
        (&["lookup", "b.two"], ""),
        (&["lookup", "nope"], ""),
        (&["yplookup_all", "m1", "m2"], ""),
        (&["yplookup_any", "m3", "zz"], ""),
        (&["yplookup_all", "nope"], ""),
        (&["remove", "b.two"], ""),
        (&["remove", "b.two"], ""),
        (&["removematching", "a\\..*"], "n\n"),
        (&["removematching", "a\\..*"], ""),
        (&["list"], ""),
        (&["removematching", "a\\..*"], "y\n"),
        (&["list"], ""),
        (&["lookup"], ""),
        (&["register", "x"], ""),
        (&["setmeta"], ""),
        (&["yplookup_any"], ""),
        (&["listmatching"], ""),
        (&["-v", "ping"], ""),
        (&["@closed", "ping"], ""),
        (&["@nohost", "-v", "ping"], ""),
        (&["@env", "-v", "list", "Pyro"], ""),
    ];
    for (step, stdin) in steps {
        let mut mismatches = Vec::new();
        let mut runs = Vec::new();
        for (tool, ns) in [(true, &ours_ns), (false, &theirs_ns)] {
            let mut args: Vec<String> = Vec::new();
            let rest: &[&str] = match step.first() {
                Some(&"@closed") => {
                    args.extend(["-n".into(), "127.0.0.1".into(), "-p".into(), closed.to_string()]);
                    &step[1..]
                }
                Some(&"@nohost") => {
                    args.extend(["-p".into(), ns.port.to_string()]);
                    &step[1..]
                }
                // No location at all: Pyro's NS_HOST/NS_PORT, from the environment.
                Some(&"@env") => &step[1..],
                _ => {
                    args.extend(["-n".into(), "127.0.0.1".into(), "-p".into(), ns.port.to_string()]);
                    step
                }
            };
            args.extend(rest.iter().map(|s| s.to_string()));
            let mut command = if tool {
                Command::new(env!("CARGO_BIN_EXE_pyro5-nsc"))
            } else {
                let mut c = Command::new(python());
                c.args(["-m", "Pyro5.nsc"]);
                c
            };
            if step.first() == Some(&"@env") {
                command.env("PYRO_NS_HOST", "127.0.0.1").env("PYRO_NS_PORT", ns.port.to_string());
            }
            runs.push(run(command, &args, stdin, ns.port));
        }
        if runs[0] != runs[1] {
            mismatches.push(format!("{step:?}:\n  ours:   {:?}\n  python: {:?}", runs[0], runs[1]));
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }
}

#[test]
#[cfg(unix)]
fn nsc_reaches_a_name_server_on_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("pyro5-nsc-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let socket = dir.join("ns.sock");
    let _ = std::fs::remove_file(&socket);
    let socket_text = socket.to_str().expect("UTF-8 path").to_string();
    let mut child = Command::new(python())
        .args(["-m", "Pyro5.nameserver", "-u", &socket_text])
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the Python name server");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("URI =") {
                let _ = tx.send(());
            }
        }
    });
    let ns = PyNameServer { child, port: 0 };
    rx.recv_timeout(Duration::from_secs(30)).expect("the name server's URI");
    for step in [&["-v", "ping"][..], &["list"], &["register", "u.one", "PYRO:x@./u:/tmp/x"], &["lookup", "u.one"]] {
        let mut args = vec!["-u".to_string(), socket_text.clone()];
        args.extend(step.iter().map(|s| s.to_string()));
        let ours = run(Command::new(env!("CARGO_BIN_EXE_pyro5-nsc")), &args, "", 0);
        let mut python_nsc = Command::new(python());
        python_nsc.args(["-m", "Pyro5.nsc"]);
        let theirs = run(python_nsc, &args, "", 0);
        // Python's second `register` fails (already registered): compare it before ours ran.
        if step[0] == "register" {
            assert_eq!(ours.stdout, ["Registered u.one"], "{ours:?}");
            assert_eq!(theirs.stdout, ["Error: NamingError - name already registered: u.one"], "{theirs:?}");
            continue;
        }
        assert_eq!(ours, theirs, "{step:?}");
    }
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}
