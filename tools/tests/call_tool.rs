//! `pyro5-call` as a user runs it, against our daemon serving the echo server (in-process),
//! Python's own echo server (`python -m Pyro5.utils.echoserver`) and
//! `tests/python/proxy_test_server.py`: results printed as Python literals in every
//! serializer, `--arg-str`/`--kwarg`/`--kwarg-str` in order, `--meta`, `--stream`,
//! `--get`/`--set`, `--oneway`, `--handshake`, `--timeout`, and the exit status and stderr
//! of remote exceptions (1) and of everything else (2).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pyro5_interop_tests::echo_daemon::EchoDaemon;
use pyro5_interop_tests::{python, workspace_root};
use pyro5_std::Serializer;
use pyro5_std::echo::OBJECT_ID;

const ERROR_TEXT: &str = "this is the generated error from echoserver echo() method";

/// What one run of the tool did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Run `pyro5-call` with `args` (and a 10 s `--timeout` unless the test gives one).
fn call(args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pyro5-call"));
    command.args(args);
    if !args.contains(&"--timeout") {
        command.args(["--timeout", "10"]);
    }
    let Output { status, stdout, stderr } = command.output().expect("run pyro5-call");
    Run {
        code: status.code().expect("exited"),
        stdout: String::from_utf8(stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(stderr).expect("UTF-8 stderr"),
    }
}

/// Run it and expect success; its stdout.
#[track_caller]
fn ok(args: &[&str]) -> String {
    let run = call(args);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{args:?}: {run:?}");
    run.stdout
}

/// A Python daemon in a child process, killed on drop.
struct PyServer {
    child: Child,
    uri: String,
}

impl PyServer {
    fn start(args: &[&str], prefix: &'static str) -> Self {
        let mut child = Command::new(python())
            .args(args)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(uri) = line.strip_prefix(prefix) {
                    let _ = tx.send(uri.trim().to_string());
                }
            }
        });
        let mut server = Self { child, uri: String::new() };
        server.uri = rx.recv_timeout(Duration::from_secs(30)).expect("the server's URI");
        server
    }

    fn echo() -> Self {
        Self::start(&["-m", "Pyro5.utils.echoserver", "-p", "0"], "echo uri:")
    }

    fn test_server() -> Self {
        let script = workspace_root().join("tests/python/proxy_test_server.py");
        Self::start(&[script.to_str().expect("UTF-8 path")], "uri:")
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `--arg VALUE` echoed back, per serializer: what is printed (or `None`: the call fails).
fn echo_literals(uri: &str) {
    // (input, serpent, marshal, json, msgpack)
    let cases: &[(&str, [Option<&str>; 4])] = &[
        ("'hello'", [Some("'hello'"); 4]),
        ("42", [Some("42"); 4]),
        ("-2.5", [Some("-2.5"); 4]),
        ("None", [Some("None"); 4]),
        ("True", [Some("True"); 4]),
        ("1e400", [Some("inf"); 4]),
        ("\"it's\"", [Some("\"it's\""); 4]),
        ("'tab\\tnew\\nline é'", [Some("'tab\\tnew\\nline é'"); 4]),
        ("[1, 'two', None, [3.5]]", [Some("[1, 'two', None, [3.5]]"); 4]),
        ("{'a': 1, 'b': [True, False]}", [Some("{'a': 1, 'b': [True, False]}"); 4]),
        ("(1, 'x')", [Some("(1, 'x')"), Some("(1, 'x')"), Some("[1, 'x']"), Some("[1, 'x']")]),
        ("(7,)", [Some("(7,)"), Some("(7,)"), Some("[7]"), Some("[7]")]),
        ("{1, 2}", [Some("{1, 2}"), Some("{1, 2}"), Some("[1, 2]"), Some("[1, 2]")]),
        ("12345678901234567890123", [Some("12345678901234567890123"); 4]),
        ("b'ab\\x00'", [Some("{'data': 'YWIA', 'encoding': 'base64'}"), Some("b'ab\\x00'"), None, Some("b'ab\\x00'")]),
    ];
    for (input, expected) in cases {
        for (serializer, expected) in Serializer::ALL.into_iter().zip(expected) {
            let run = call(&[uri, "echo", "--serializer", serializer.name(), "--arg", input]);
            match expected {
                Some(text) => assert_eq!(
                    (run.code, run.stdout.as_str(), run.stderr.as_str()),
                    (0, &*format!("{text}\n"), ""),
                    "{serializer}: echo {input}"
                ),
                None => {
                    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{serializer}: echo {input}: {run:?}");
                    assert!(run.stderr.starts_with("pyro5-call: cannot serialize the call: "), "{run:?}");
                    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
                }
            }
        }
    }
    // Plain strings and keyword arguments.
    assert_eq!(ok(&[uri, "echo", "--arg-str", "it's plain"]), "\"it's plain\"\n");
    assert_eq!(ok(&[uri, "echo", "--kwarg", "message={'k': (1, 2)}"]), "{'k': (1, 2)}\n");
    assert_eq!(ok(&[uri, "echo", "--kwarg-str", "message=a=b", "--serializer", "json"]), "'a=b'\n");
    assert_eq!(ok(&[uri, "echo", "--arg", "-7"]), "-7\n");
    assert_eq!(ok(&[uri, "nan"]), "nan\n");
}

/// `--meta`, `--stream`, `--get`/`--set`, oneway and the error paths against an echo server.
fn echo_tool_checks(uri: &str) {
    for serializer in Serializer::ALL {
        let s = serializer.name();
        assert_eq!(
            ok(&[uri, "--meta", "--serializer", s]),
            "methods: __dunder__ echo error error_with_text generator inf nan oneway_echo oneway_slow shutdown slow\n\
             oneway: oneway_echo oneway_slow\n\
             attrs: verbose\n",
            "{serializer}"
        );
        assert_eq!(ok(&[uri, "generator", "--stream", "--serializer", s]), "'one'\n'two'\n'three'\n", "{serializer}");
        // Without --stream the items are collected into a list.
        assert_eq!(ok(&[uri, "generator", "--serializer", s]), "['one', 'two', 'three']\n", "{serializer}");

        assert_eq!(ok(&[uri, "--get", "verbose", "--serializer", s]), "False\n", "{serializer}");
        assert_eq!(ok(&[uri, "--set", "verbose=True", "--serializer", s]), "", "{serializer}");
        assert_eq!(ok(&[uri, "--get", "verbose", "--serializer", s]), "True\n", "{serializer}");
        assert_eq!(ok(&[uri, "--set", "verbose=False", "--serializer", s]), "", "{serializer}");

        let run = call(&[uri, "error", "--serializer", s]);
        assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{serializer}: {run:?}");
        assert!(run.stderr.starts_with("Traceback (most recent call last):\n  File "), "{serializer}: {run:?}");
        assert!(run.stderr.ends_with(&format!("\nValueError: {ERROR_TEXT}\n")), "{serializer}: {run:?}");
        assert_eq!(run.stderr.matches("Traceback").count(), 1, "{serializer}: {run:?}");

        // Oneway: known from the metadata, or forced; neither waits for the slow method.
        let start = Instant::now();
        assert_eq!(ok(&[uri, "oneway_slow", "--serializer", s]), "", "{serializer}");
        assert_eq!(ok(&[uri, "oneway_echo", "--arg", "1", "--serializer", s]), "", "{serializer}");
        assert_eq!(ok(&[uri, "slow", "--oneway", "--serializer", s]), "", "{serializer}");
        assert!(start.elapsed() < Duration::from_secs(2), "{serializer}: oneway waited {:?}", start.elapsed());
    }
    let run = call(&[uri, "no_such_method"]);
    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{run:?}");
    assert_eq!(
        run.stderr,
        format!("pyro5-call: remote object '{uri}' has no exposed attribute or method 'no_such_method'\n")
    );
    let run = call(&[uri, "echo", "--arg", "hello"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.starts_with("pyro5-call: --arg \"hello\" is not a Python literal: "), "{run:?}");
    assert!(run.stderr.contains("--arg-str"), "the hint: {run:?}");
    let run = call(&[uri, "--get", "nope"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn against_our_daemon() {
    let server = EchoDaemon::on_localhost(OBJECT_ID, Some(Duration::from_secs(3)));
    echo_literals(&server.uri);
    echo_tool_checks(&server.uri);
}

#[test]
fn against_pythons_echo_server() {
    let server = PyServer::echo();
    echo_literals(&server.uri);
    echo_tool_checks(&server.uri);
}

#[test]
fn against_a_python_object_with_defaults_handshake_custom_errors_and_slow_methods() {
    let server = PyServer::test_server();
    let uri = server.uri.as_str();
    // Positional arguments keep their order, --arg and --arg-str mixed.
    assert_eq!(
        ok(&[
            uri,
            "describe",
            "--arg",
            "1",
            "--arg-str",
            "two",
            "--arg",
            "3.5",
            "--kwarg",
            "c=None",
            "--kwarg-str",
            "d=x"
        ]),
        "{'a': 1, 'b': 'two', 'rest': [3.5], 'c': None, 'kw': {'d': 'x'}}\n"
    );
    assert_eq!(ok(&[uri, "add", "--kwarg", "a=1", "--kwarg", "a=2"]), "12\n", "the last of a name counts");
    assert_eq!(ok(&[uri, "count", "--kwarg", "n=2", "--stream", "--serializer", "msgpack"]), "0\n1\n");
    assert_eq!(ok(&[uri, "get_tuple"]), "(1, 'two', 3.5)\n");
    assert_eq!(ok(&[uri, "get_complex", "--serializer", "marshal"]), "(1.5-2.0j)\n");
    assert_eq!(ok(&[uri, "get_bytes", "--serializer", "marshal"]), "b'\\x00\\x01\\xffbytes'\n");
    assert_eq!(ok(&[uri, "get_frozenset", "--serializer", "marshal"]), "frozenset({'a'})\n");
    assert_eq!(ok(&[uri, "get_float"]), "-0.0\n");
    assert_eq!(ok(&[uri, "--get", "value"]), "42\n");

    // Handshake data reaches the daemon's validateHandshake; a refusal is exit status 2.
    assert_eq!(ok(&[uri, "last_handshake", "--handshake", "{'token': [1, 2]}"]), "{'token': [1, 2]}\n");
    let run = call(&[uri, "--meta", "--handshake", "'reject me'"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.starts_with("pyro5-call: connection to 127.0.0.1:"), "{run:?}");
    assert!(run.stderr.contains("rejected: handshake refused: reject me"), "{run:?}");

    // A custom exception: its traceback ends in Python's `Class: message` line.
    let run = call(&[uri, "fail", "--arg-str", "boom", "--arg", "7", "--serializer", "json"]);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{run:?}");
    assert!(run.stderr.starts_with("Traceback (most recent call last):\n"), "{run:?}");
    assert!(run.stderr.contains("raise CustomError(message, code)\n"), "{run:?}");
    assert!(run.stderr.ends_with("\nCustomError: ('boom', 7)\n"), "{run:?}");

    // --timeout: a one-line error, status 2.
    let start = Instant::now();
    let run = call(&[uri, "slow", "--arg", "3", "--timeout", "0.3"]);
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (2, "", "pyro5-call: receiving: timeout\n"));
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    assert_eq!(ok(&[uri, "slow", "--arg", "0.01", "--timeout", "5"]), "0.01\n");
}

#[test]
fn usage_and_connection_errors_exit_with_status_2() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let run = call(&[&format!("PYRO:obj@127.0.0.1:{port}"), "echo"]);
    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{run:?}");
    assert!(run.stderr.starts_with(&format!("pyro5-call: cannot connect to 127.0.0.1:{port}: ")), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");

    let run = call(&["not a uri", "echo"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.starts_with("pyro5-call: "), "{run:?}");
    // A name needs a name server; none answers on this made-up port.
    let run = call(&[&format!("PYRONAME:some.name@127.0.0.1:{port}"), "echo"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.starts_with("pyro5-call: "), "{run:?}");
    // clap's own usage errors.
    assert_eq!(call(&["PYRO:obj@127.0.0.1:1"]).code, 2, "no method");
    assert_eq!(call(&["PYRO:obj@127.0.0.1:1", "m", "--serializer", "pickle"]).code, 2);
    assert_eq!(call(&["PYRO:obj@127.0.0.1:1", "m", "--timeout", "0"]).code, 2);
    assert_eq!(call(&["PYRO:obj@127.0.0.1:1", "m", "--meta"]).code, 2, "a method and --meta");
    let run = call(&["PYRO:obj@127.0.0.1:1", "m", "--kwarg", "novalue"]);
    assert_eq!((run.code, run.stderr.as_str()), (2, "pyro5-call: --kwarg \"novalue\": expected NAME=VALUE\n"));
    let help = call(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--arg-str <TEXT>") && help.stdout.contains("Exit status"), "{help:?}");
}
