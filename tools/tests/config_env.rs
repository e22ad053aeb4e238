//! The tools under Pyro's `PYRO_*` environment variables, beside the real Python Pyro5 in
//! the same environment: `pyro5-check-config` prints what `python -m Pyro5.configure`
//! prints, bad values stop every tool with Python's text, and each item changes what the
//! tools do where it shows (on the wire, to a Python client or daemon, in a log file).

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pyro5_interop_tests::python;

/// Items Python's `python -m Pyro5.configure` shows and `pyro5-check-config` does not.
/// Empty: every Python 5.17 item is known here (those without an effect are parsed and
/// shown, see docs/configuration.md). Kept as a list so that a future Python item is named
/// here rather than silently skipped.
const MASKED_ITEMS: &[&str] = &[];

/// `command` with no `PYRO_*` variable inherited from the test's own environment.
fn clean(mut command: Command) -> Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PYRO_") {
            command.env_remove(name);
        }
    }
    command
}

fn tool(name: &str) -> Command {
    let exe = match name {
        "pyro5-check-config" => env!("CARGO_BIN_EXE_pyro5-check-config"),
        "pyro5-ns" => env!("CARGO_BIN_EXE_pyro5-ns"),
        "pyro5-nsc" => env!("CARGO_BIN_EXE_pyro5-nsc"),
        "pyro5-echoserver" => env!("CARGO_BIN_EXE_pyro5-echoserver"),
        "pyro5-call" => env!("CARGO_BIN_EXE_pyro5-call"),
        other => panic!("no tool {other}"),
    };
    clean(Command::new(exe))
}

fn with_env(mut command: Command, env: &[(&str, &str)]) -> Command {
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

fn output(mut command: Command) -> Output {
    command.stdin(Stdio::null()).output().expect("run")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory for files a test writes (log files, a working directory).
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pyro5-config-env-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A child process killed when the test ends however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `command` and read its stdout up to a line for which `done` holds; those lines.
fn start_until(mut command: Command, done: impl Fn(&str) -> bool) -> (Running, Vec<String>) {
    let mut child = Running(command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("start"));
    let mut reader = BufReader::new(child.0.stdout.take().expect("piped"));
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            panic!("the process ended before the expected line: {lines:?}");
        }
        let line = line.trim_end().to_string();
        let finished = done(&line);
        lines.push(line);
        if finished {
            break;
        }
    }
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    (child, lines)
}

/// `pyro5-echoserver -p 0` under `env` (and `args`); the echo object's URI.
fn echoserver(env: &[(&str, &str)], args: &[&str]) -> (Running, String) {
    let mut command = with_env(tool("pyro5-echoserver"), env);
    command.args(["-p", "0"]).args(args);
    let (child, lines) = start_until(command, |l| l == "echoserver running.");
    let uri = lines.iter().find_map(|l| l.strip_prefix("echo uri: ")).expect("uri line").to_string();
    (child, uri)
}

/// Python's echo server under `env`; its URI.
fn python_echoserver(env: &[(&str, &str)]) -> (Running, String) {
    let mut command = with_env(clean(Command::new(python())), env);
    command.args(["-u", "-W", "ignore", "-m", "Pyro5.utils.echoserver", "-p", "0"]);
    let (child, lines) = start_until(command, |l| l == "echoserver running.");
    let uri = lines.iter().find_map(|l| l.strip_prefix("echo uri: ")).expect("uri line").to_string();
    (child, uri)
}

/// Run a Python snippet (with `uri` bound) under `env`; its stdout, trimmed.
fn python_client(env: &[(&str, &str)], uri: &str, code: &str) -> String {
    let script = format!("import Pyro5.api, Pyro5.errors\nuri = {uri:?}\n{code}");
    let mut command = with_env(clean(Command::new(python())), env);
    command.args(["-W", "ignore", "-c", &script]);
    let out = output(command);
    assert!(out.status.success(), "python failed: {}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// The item lines of a configuration dump (after "Currently active ...").
fn items(dump: &str) -> Vec<String> {
    dump.lines()
        .skip_while(|l| *l != "Currently active global configuration settings:")
        .skip(1)
        .filter(|l| !MASKED_ITEMS.iter().any(|m| l.starts_with(&format!("{m} = "))))
        .map(str::to_string)
        .collect()
}

fn check_config_both(env: &[(&str, &str)], cwd: &Path) -> (Output, Output) {
    let mut ours = with_env(tool("pyro5-check-config"), env);
    ours.current_dir(cwd);
    let mut theirs = with_env(clean(Command::new(python())), env);
    theirs.args(["-W", "ignore", "-m", "Pyro5.configure"]).current_dir(cwd);
    (output(ours), output(theirs))
}

#[test]
fn check_config_prints_what_python_prints_item_for_item() {
    let dir = temp_dir("check");
    let log = dir.join("both.log");
    let log = log.to_str().expect("utf-8 path");
    let cases: &[&[(&str, &str)]] = &[
        &[],
        &[
            ("PYRO_NS_PORT", "9999"),
            ("PYRO_NS_HOST", "ns.example.org"),
            ("PYRO_COMPRESSION", "Yes"),
            ("PYRO_SOCK_REUSE", "OFF"),
            ("PYRO_LOGWIRE", "1"),
            ("PYRO_SSL", "true"),
            ("PYRO_COMMTIMEOUT", "2.5"),
            ("PYRO_ITER_STREAM_LINGER", "1e3"),
            ("PYRO_NS_AUTOCLEAN", " 4 "),
            ("PYRO_POLLTIMEOUT", "0.1"),
        ],
        &[
            ("PYRO_BROADCAST_ADDRS", "10.0.0.255, 192.168.1.255,"),
            ("PYRO_SERIALIZER", "msgpack"),
            ("PYRO_SERVERTYPE", "multiplex"),
            ("PYRO_NATHOST", "nat.example.org"),
            ("PYRO_NATPORT", "+5555"),
            ("PYRO_NS_BCHOST", "0.0.0.0"),
            ("PYRO_MAX_MESSAGE_SIZE", "1_000_000"),
            ("PYRO_THREADPOOL_SIZE", "200"),
            ("PYRO_MAX_RETRIES", "3"),
            ("PYRO_PREFER_IP_VERSION", "6"),
            ("PYRO_SSL_CACERTS", "/etc/ssl/ca.pem"),
            ("PYRO_SERPENT_BYTES_REPR", "on"),
            ("PYRO_DETAILED_TRACEBACK", "no"),
        ],
        &[("PYRO_LOGLEVEL", "DEBUG"), ("PYRO_LOGFILE", log), ("PYRO_NS_LOOKUP_DELAY", "-inf")],
    ];
    for env in cases {
        let (ours, theirs) = check_config_both(env, &dir);
        assert!(ours.status.success(), "{env:?}: {}", text(&ours.stderr));
        assert!(theirs.status.success(), "{env:?}: {}", text(&theirs.stderr));
        let (ours, theirs) = (text(&ours.stdout), text(&theirs.stdout));
        let (our_lines, their_lines): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
        assert_eq!(our_lines.len(), their_lines.len(), "{env:?}\n{ours}\n{theirs}");
        // Version, location and runtime name each implementation; the rest is the same.
        assert!(our_lines[0].starts_with("Pyro version: pyro5-rs ") && our_lines[0].ends_with("(Pyro5 5.17)"));
        assert_eq!(their_lines[0], "Pyro version: 5.17");
        assert!(our_lines[1].starts_with("Loaded from: ") && our_lines[2].contains("pyro5-rs"));
        assert_eq!(our_lines[3..5], their_lines[3..5], "protocol version and heading");
        assert_eq!(items(&ours), items(&theirs), "{env:?}");
        assert_eq!(items(&ours).len(), 39);
    }
    assert!(!dir.join("pyro5.log").exists(), "no PYRO_LOGLEVEL: no log file, as Python");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_values_stop_every_tool_with_pythons_text() {
    let dir = temp_dir("bad");
    for (var, value, message) in [
        ("PYRO_NS_PORT", "abc", "invalid Pyro environment config value: PYRO_NS_PORT=abc"),
        ("PYRO_COMMTIMEOUT", "1,5", "invalid Pyro environment config value: PYRO_COMMTIMEOUT=1,5"),
        ("PYRO_SSL", "Maybe", "invalid boolean value: PYRO_SSL=maybe"),
        ("PYRO_NO_SUCH_ITEM", "1", "invalid Pyro environment config variable: PYRO_NO_SUCH_ITEM"),
    ] {
        let env = [(var, value)];
        let (ours, theirs) = check_config_both(&env, &dir);
        assert!(!theirs.status.success());
        let last = text(&theirs.stderr).lines().rfind(|l| l.starts_with("ValueError: ")).map(str::to_string);
        assert_eq!(last.as_deref(), Some(format!("ValueError: {message}").as_str()), "Python's text");
        assert_eq!(ours.status.code(), Some(1));
        assert_eq!(text(&ours.stderr).trim(), format!("pyro5-check-config: {message}"));
        for (name, args, status) in [
            ("pyro5-ns", &["-p", "0"][..], 1),
            ("pyro5-nsc", &["ping"][..], 1),
            ("pyro5-echoserver", &["-p", "0"][..], 1),
            ("pyro5-call", &["PYRO:x@localhost:1", "m"][..], 2),
        ] {
            let mut command = with_env(tool(name), &env);
            command.args(args);
            let out = output(command);
            assert_eq!(out.status.code(), Some(status), "{name} {var}={value}: {}", text(&out.stderr));
            assert!(text(&out.stderr).contains(message), "{name}: {}", text(&out.stderr));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[test]
fn name_server_tools_follow_ns_host_and_ns_port() {
    let port = free_port();
    let port_text = port.to_string();
    // pyro5-ns binds HOST at NS_PORT, as Python's name server; the clients look at NS_HOST.
    let env = [("PYRO_HOST", "127.0.0.1"), ("PYRO_NS_HOST", "127.0.0.1"), ("PYRO_NS_PORT", port_text.as_str())];
    let (_ns, lines) = start_until(with_env(tool("pyro5-ns"), &env), |l| l.starts_with("URI = "));
    let location = format!("127.0.0.1:{port}");
    assert!(lines.iter().any(|l| l.starts_with(&format!("NS running on {location} "))), "{lines:?}");
    // pyro5-nsc and Python's locate_ns find it with the same environment alone.
    let mut nsc = with_env(tool("pyro5-nsc"), &env);
    nsc.arg("ping");
    let out = output(nsc);
    assert_eq!(text(&out.stdout).trim(), "Name server ping ok.", "{}", text(&out.stderr));
    let found = python_client(&env, "", "ns = Pyro5.api.locate_ns()\nprint(ns._pyroUri.location)");
    assert_eq!(found, location);
    // The echo server's -N name server takes NS_PORT too, and -n registers there.
    let port2 = free_port().to_string();
    let env2 = [("PYRO_NS_HOST", "127.0.0.1"), ("PYRO_NS_PORT", port2.as_str())];
    let (_echo, _) = echoserver(&env2, &["-H", "127.0.0.1", "-N"]);
    let back = python_client(&env2, "PYRONAME:test.echoserver", "print(Pyro5.api.Proxy(uri).echo('named'))");
    assert_eq!(back, "named");
}

/// A Python daemon whose `seen(data)` returns the serializer id of the call and its length.
const PROBE_DAEMON: &str = "
import Pyro5.api, Pyro5.callcontext
class Probe:
    @Pyro5.api.expose
    def seen(self, data):
        return [Pyro5.callcontext.current_context.serializer_id, len(data)]
d = Pyro5.api.Daemon(host='127.0.0.1')
print(d.register(Probe(), 'probe'), flush=True)
d.requestLoop()
";

#[test]
fn pyro5_call_speaks_pyro_serializer_compresses_and_logs_the_wire_to_a_python_daemon() {
    let mut command = clean(Command::new(python()));
    command.args(["-u", "-W", "ignore", "-c", PROBE_DAEMON]);
    let (_daemon, lines) = start_until(command, |l| l.starts_with("PYRO:"));
    let uri = lines.last().expect("uri").clone();
    let call = |env: &[(&str, &str)], arg: &str| {
        let mut command = with_env(tool("pyro5-call"), env);
        command.args([uri.as_str(), "seen", "--arg-str", arg]);
        let out = output(command);
        assert!(out.status.success(), "{env:?}: {}", text(&out.stderr));
        (text(&out.stdout).trim().to_string(), text(&out.stderr))
    };
    assert_eq!(call(&[], "x").0, "[1, 1]", "serpent by default");
    for (name, id) in [("marshal", 2), ("json", 3), ("msgpack", 4), ("serpent", 1)] {
        assert_eq!(call(&[("PYRO_SERIALIZER", name)], "x").0, format!("[{id}, 1]"), "{name}");
    }
    // COMPRESSION: the call goes out with the compressed flag (0x2) and the Python daemon
    // reads it; LOGWIRE shows every message at debug level.
    let big = "y".repeat(5000);
    let wire = [("PYRO_LOGLEVEL", "DEBUG"), ("PYRO_LOGFILE", "{stderr}"), ("PYRO_LOGWIRE", "yes")];
    let flags_of_calls = |stderr: &str| -> Vec<u16> {
        stderr
            .lines()
            .filter(|l| l.contains("proxy wiredata sending: msgtype=4 "))
            .map(|l| {
                let hex = l.split("flags=0x").nth(1).and_then(|r| r.split(' ').next()).expect("flags");
                u16::from_str_radix(hex, 16).expect("hex flags")
            })
            .collect()
    };
    let mut env = wire.to_vec();
    env.push(("PYRO_COMPRESSION", "on"));
    let (out, stderr) = call(&env, &big);
    assert_eq!(out, "[1, 5000]");
    assert_eq!(flags_of_calls(&stderr).iter().map(|f| f & 2).collect::<Vec<_>>(), [2], "{stderr}");
    for line in [
        ",Pyro5.wire,DEBUG] proxy connect sending: msgtype=1 ",
        ",Pyro5.wire,DEBUG] proxy connect response received: msgtype=2 ",
        ",Pyro5.wire,DEBUG] proxy wiredata received: msgtype=5 ",
    ] {
        assert!(stderr.contains(line), "{line} in {stderr}");
    }
    let (_, stderr) = call(&wire, &big);
    assert_eq!(flags_of_calls(&stderr).iter().map(|f| f & 2).collect::<Vec<_>>(), [0], "{stderr}");
    let (_, stderr) = call(&[("PYRO_LOGWIRE", "yes")], "x");
    assert_eq!(stderr, "", "no PYRO_LOGLEVEL: no logging at all");
}

#[test]
fn echo_server_items_seen_by_the_python_client_as_from_pythons_echo_server() {
    // MAX_MESSAGE_SIZE: a call over the daemon's limit closes the connection, as Python's.
    let env = [("PYRO_MAX_MESSAGE_SIZE", "1000")];
    let code = "p = Pyro5.api.Proxy(uri)\ntry:\n    print(len(p.echo('x' * 2000)))\nexcept Exception as e:\n    print(type(e).__name__, e)\nprint(len(Pyro5.api.Proxy(uri).echo('x' * 500)))";
    let (_ours, uri) = echoserver(&env, &[]);
    let (_theirs, python_uri) = python_echoserver(&env);
    let ours = python_client(&[], &uri, code);
    assert_eq!(ours, python_client(&[], &python_uri, code));
    assert_eq!(ours, "ConnectionClosedError receiving: not enough data\n500");
    // ITER_STREAMING off: Python's ProtocolError for a generator.
    let env = [("PYRO_ITER_STREAMING", "false")];
    let code = "try:\n    print(list(Pyro5.api.Proxy(uri).generator()))\nexcept Exception as e:\n    print(type(e).__name__, e)";
    let (_ours, uri) = echoserver(&env, &[]);
    let (_theirs, python_uri) = python_echoserver(&env);
    let ours = python_client(&[], &uri, code);
    assert_eq!(ours, python_client(&[], &python_uri, code));
    assert_eq!(
        ours,
        "ProtocolError result of call is an iterator, but the server is not configured to allow streaming"
    );
    let (_ours, uri) = echoserver(&[], &[]);
    assert_eq!(python_client(&[], &uri, code), "['one', 'two', 'three']", "streams by default");
    // NATHOST/NATPORT: the URI advertises them.
    let (_ours, uri) = echoserver(&[("PYRO_NATHOST", "nat.example.org"), ("PYRO_NATPORT", "5555")], &[]);
    assert_eq!(uri, "PYRO:test.echoserver@nat.example.org:5555");
}

#[test]
fn comm_timeout_closes_idle_connections_of_the_echo_server() {
    for servertype in ["thread", "multiplex"] {
        let (_server, uri) = echoserver(&[("PYRO_COMMTIMEOUT", "0.5")], &["--servertype", servertype]);
        let port = uri.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()).expect("port");
        let mut idle = TcpStream::connect(("localhost", port)).expect("connect");
        idle.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let start = Instant::now();
        let mut buf = [0u8; 64];
        let first = idle.read(&mut buf).unwrap_or(0);
        let elapsed = start.elapsed();
        // Before its handshake a client is told so with a CONNECTFAIL (or just closed).
        assert!(first == 0 || buf.starts_with(b"PYRO"), "{servertype}: {:?}", &buf[..first]);
        assert!(idle.read(&mut buf).map_or(true, |n| n == 0), "{servertype}: closed");
        assert!(elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(5), "{servertype}: {elapsed:?}");
        // Without COMMTIMEOUT the idle connection stays open.
        let (_server, uri) = echoserver(&[], &["--servertype", servertype]);
        let port = uri.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()).expect("port");
        let mut idle = TcpStream::connect(("localhost", port)).expect("connect");
        idle.set_read_timeout(Some(Duration::from_millis(1500))).expect("timeout");
        let err = idle.read(&mut buf).expect_err("nothing comes, nothing closes");
        assert!(matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut), "{err}");
    }
}

#[test]
fn threadpool_size_caps_the_thread_server_with_pythons_refusal() {
    let code = "a = Pyro5.api.Proxy(uri); a._pyroBind()\nb = Pyro5.api.Proxy(uri)\ntry:\n    b._pyroBind(); print('bound')\nexcept Exception as e:\n    print(type(e).__name__, str(e).split(': ', 1)[1])";
    let (_server, uri) = echoserver(&[("PYRO_THREADPOOL_SIZE", "1")], &["--servertype", "thread"]);
    assert_eq!(python_client(&[], &uri, code), "CommunicationError no free workers, increase server threadpool size");
    let (_server, uri) = echoserver(&[("PYRO_THREADPOOL_SIZE", "1")], &["--servertype", "multiplex"]);
    assert_eq!(python_client(&[], &uri, code), "bound", "the multiplexed server has no thread pool");
}

#[test]
fn loglevel_and_logfile_write_pythons_log_lines() {
    let dir = temp_dir("log");
    let file = dir.join("tools.log");
    let file_text = file.to_str().expect("utf-8 path");
    let env = [("PYRO_LOGLEVEL", "DEBUG"), ("PYRO_LOGFILE", file_text), ("PYRO_LOGWIRE", "true")];
    let (mut server, uri) = echoserver(&env, &[]);
    assert_eq!(python_client(&[], &uri, "print(Pyro5.api.Proxy(uri).echo('logged'))"), "logged");
    let _ = server.0.kill();
    let log = std::fs::read_to_string(&file).expect("the log file");
    let first = log.lines().next().expect("a line");
    let (stamp, rest) = first.split_at(first.find(',').expect("comma"));
    assert_eq!(rest, ",Pyro5,INFO] Pyro log configured using built-in defaults, level=DEBUG", "{log}");
    assert!(stamp.len() == 24 && stamp.starts_with("[20") && &stamp[11..12] == " ", "{stamp}");
    for line in [
        ",Pyro5.wire,DEBUG] daemon handshake received: msgtype=1 ",
        ",Pyro5.wire,DEBUG] daemon handshake response: msgtype=2 ",
        ",Pyro5.wire,DEBUG] daemon wiredata received: msgtype=4 ",
        ",Pyro5.wire,DEBUG] daemon wiredata sending: msgtype=5 ",
    ] {
        assert!(log.contains(line), "{line} in {log}");
    }
    assert!(log.contains("\ndata=b\"# serpent utf-8 python3.2\\n('test.echoserver','echo',('logged',),{})\""), "{log}");
    // INFO: no debug lines; a second run appends, as Python's logging does.
    let env = [("PYRO_LOGLEVEL", "INFO"), ("PYRO_LOGFILE", file_text), ("PYRO_LOGWIRE", "true")];
    let (mut server, uri) = echoserver(&env, &[]);
    assert_eq!(python_client(&[], &uri, "print(Pyro5.api.Proxy(uri).echo('quiet'))"), "quiet");
    let _ = server.0.kill();
    let again = std::fs::read_to_string(&file).expect("the log file");
    assert!(again.starts_with(&log), "appended");
    assert!(!again[log.len()..].contains("DEBUG]") && again[log.len()..].contains("level=INFO"), "{again}");
    // A log file that cannot be opened stops the tool.
    let mut command =
        with_env(tool("pyro5-check-config"), &[("PYRO_LOGLEVEL", "INFO"), ("PYRO_LOGFILE", "/nonexistent/dir/x.log")]);
    command.current_dir(&dir);
    let out = output(command);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot set up logging to /nonexistent/dir/x.log"), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compression_compresses_the_echo_servers_large_replies_for_the_python_client() {
    let dir = temp_dir("compression");
    let file = dir.join("wire.log");
    let file_text = file.to_str().expect("utf-8 path");
    let reply_flags = |compression: &str| -> Vec<u16> {
        let _ = std::fs::remove_file(&file);
        let env = [
            ("PYRO_COMPRESSION", compression),
            ("PYRO_LOGLEVEL", "DEBUG"),
            ("PYRO_LOGFILE", file_text),
            ("PYRO_LOGWIRE", "on"),
        ];
        let (mut server, uri) = echoserver(&env, &[]);
        let code = "p = Pyro5.api.Proxy(uri)\nprint(len(p.echo('z' * 5000)), p.echo('small'))";
        assert_eq!(python_client(&[], &uri, code), "5000 small");
        let _ = server.0.kill();
        let log = std::fs::read_to_string(&file).expect("the log file");
        log.lines()
            .filter(|l| l.contains("daemon wiredata sending: msgtype=5 "))
            .map(|l| {
                let hex = l.split("flags=0x").nth(1).and_then(|r| r.split(' ').next()).expect("flags");
                u16::from_str_radix(hex, 16).expect("hex flags") & 2
            })
            .collect()
    };
    assert_eq!(reply_flags("on"), [2, 0], "the large reply compressed, the small one not");
    assert_eq!(reply_flags("off"), [0, 0]);
    let _ = std::fs::remove_dir_all(&dir);
}
