//! `--servertype tokio`: `pyro5-echoserver` and `pyro5-ns` serving their objects with
//! `pyro5-tokio`'s daemon, to the real Python Pyro5 client. The echo suite in all four
//! serializers (tests/python/echo_suite.py, which passes against Python's own echo server),
//! 32 concurrent clients, slow calls beside quick ones; `shutdown()` ends the process, Ctrl-C
//! too, and it prints what the other server types print, over TCP and a Unix socket. The name
//! server answers Python's `locate_ns(host, port)` proxy as Python's own name server does,
//! keeps its `sql:` storage, and prints what the other server types print; `pyro5-echoserver
//! -N` registers with its own name server, found by Python through `PYRONAME`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pyro5_interop_tests::echo_daemon::start_echo_process;
use pyro5_interop_tests::{python, run_script};

/// A server process, killed when the test ends however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// Wait (at most 8 s) for it to exit by itself: its status.
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether process `pid` runs tokio's worker threads, waiting up to 2 s for them (they start
/// once the server has printed its URI). Linux: their names in `/proc`, `tokio-rt-worker`
/// (formerly `tokio-runtime-worker`); `true` elsewhere, where it is not looked at.
fn runs_tokio_workers(pid: u32) -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process's threads");
        let found = tasks.filter_map(Result::ok).any(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|name| name.starts_with("tokio-r"))
        });
        if found || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// `pyro5-echoserver --servertype tokio` with `args` on 127.0.0.1: the process and the
/// echo object's URI.
fn echo_server(args: &[&str]) -> (Server, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pyro5-echoserver"));
    command.args(["-H", "127.0.0.1", "-p", "0", "--servertype", "tokio"]).args(args);
    let (child, uri) = start_echo_process(command, "pyro5-echoserver --servertype tokio");
    (Server(child), uri)
}

#[test]
fn python_client_calls_every_echo_method_in_every_serializer_and_shutdown_stops_it() {
    let (mut server, uri) = echo_server(&[]);
    assert!(uri.starts_with("PYRO:test.echoserver@127.0.0.1:"), "{uri}");
    assert!(runs_tokio_workers(server.0.id()));
    run_script("echo_suite.py", &[&uri, "--serializers", "serpent,json,marshal,msgpack", "--shutdown"]);
    assert!(server.wait_exit().success());
}

#[test]
fn thirty_two_concurrent_python_clients() {
    let (_server, uri) = echo_server(&[]);
    run_script("concurrent_clients.py", &[&uri, "--clients", "32", "--calls", "200"]);
}

/// A slow call runs on tokio's blocking pool: other clients are served meanwhile, on a
/// machine of any number of cores.
#[test]
fn slow_calls_hold_up_no_other_client() {
    let (_server, uri) = echo_server(&[]);
    let script = format!(
        "import threading, time, Pyro5.api\n\
         def slow():\n    Pyro5.api.Proxy({uri:?}).slow()\n\
         threads = [threading.Thread(target=slow) for _ in range(4)]\n\
         for t in threads: t.start()\n\
         time.sleep(0.5)\n\
         start = time.time()\n\
         print(Pyro5.api.Proxy({uri:?}).echo('quick'))\n\
         print(time.time() - start < 2)\n\
         for t in threads: t.join()"
    );
    let out = Command::new(python()).args(["-c", &script]).output().expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "quick\nTrue\n");
}

/// Start `pyro5-ns -n 127.0.0.1 -p <port> -x` with `args`: the process, its port and the
/// lines it printed up to its URI.
fn name_server(args: &[&str]) -> (Server, u16, Vec<String>) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pyro5-ns"))
        .args(["-n", "127.0.0.1", "-p", &port.to_string(), "-x"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map(Server)
        .expect("start pyro5-ns");
    let mut reader = BufReader::new(child.0.stdout.take().expect("piped"));
    let mut lines = Vec::new();
    while lines.last().is_none_or(|l: &String| !l.starts_with("URI = ")) {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            panic!("pyro5-ns {args:?} stopped: {lines:?}");
        }
        lines.push(line.trim_end().replace(&port.to_string(), "<port>"));
    }
    std::thread::spawn(move || reader.lines().for_each(drop));
    (child, port, lines)
}

/// What a Python client of a name server does with it, found with `locate_ns(host, port)`.
const NAMING_SCRIPT: &str = "import sys, Pyro5.api, Pyro5.errors\n\
    ns = Pyro5.api.locate_ns('127.0.0.1', int(sys.argv[1]))\n\
    ns.ping()\n\
    ns.register('example.one', 'PYRO:one@localhost:1111', metadata={'tag1', 'tag2'})\n\
    ns.register('example.two', 'PYRO:two@localhost:2222')\n\
    ns.register('other', 'PYRO:other@./u:/tmp/other.sock')\n\
    print(ns.lookup('example.one'))\n\
    print(ns.lookup('example.one', return_metadata=True)[1] == {'tag1', 'tag2'})\n\
    print(sorted(ns.list()))\n\
    print(sorted(ns.list(prefix='example.').items()))\n\
    print(sorted(ns.list(regex=r'.*\\.t.*')))\n\
    print(sorted(ns.yplookup(meta_all=['tag1'])))\n\
    print(ns.count())\n\
    print(ns.remove('example.two'), ns.remove('example.two'))\n\
    try:\n    ns.lookup('example.two')\n\
    except Pyro5.errors.NamingError as e:\n    print(type(e).__name__, e)\n\
    try:\n    ns.register('example.one', 'PYRO:x@localhost:1', safe=True)\n\
    except Pyro5.errors.NamingError as e:\n    print(type(e).__name__, e)\n\
    print(sorted(ns.list()))\n";

fn naming_client(port: u16) -> String {
    let out = Command::new(python()).args(["-c", NAMING_SCRIPT, &port.to_string()]).output().expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn python_client_registers_looks_up_and_lists_as_with_pythons_name_server() {
    let (_ours, port, _) = name_server(&["--servertype", "tokio"]);
    let ours = naming_client(port);

    let python_port = free_port();
    let python_ns = Command::new(python())
        .args(["-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", &python_port.to_string(), "-x"])
        .stdout(Stdio::null())
        .spawn()
        .map(Server)
        .expect("start Python's name server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", python_port)).is_err() {
        assert!(Instant::now() < deadline, "Python's name server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let theirs = naming_client(python_port);
    drop(python_ns);
    assert_eq!(ours, theirs);
    assert!(
        ours.starts_with("PYRO:one@localhost:1111\nTrue\n['Pyro.NameServer', 'example.one', 'example.two', 'other']\n"),
        "{ours}"
    );
}

#[test]
fn prints_what_the_other_server_types_print() {
    let (thread_server, _, thread) = name_server(&["--servertype", "thread"]);
    let (tokio_server, _, tokio) = name_server(&["--servertype", "tokio"]);
    assert!(runs_tokio_workers(tokio_server.0.id()));
    if cfg!(target_os = "linux") {
        assert!(!runs_tokio_workers(thread_server.0.id()));
    }
    assert_eq!(tokio, thread);
    assert_eq!(
        tokio,
        [
            "Not starting broadcast server for localhost.",
            "NS running on 127.0.0.1:<port> (127.0.0.1)",
            "URI = PYRO:Pyro.NameServer@127.0.0.1:<port>"
        ]
    );
    let out = Command::new(env!("CARGO_BIN_EXE_pyro5-ns")).args(["--servertype", "async"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid server type 'async' (thread, multiplex or tokio)"), "{stderr}");
}

#[test]
fn sql_storage_keeps_the_names_across_restarts() {
    let dir = std::env::temp_dir().join(format!("pyro5-tools-tokio-ns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a directory for the store");
    let storage = format!("sql:{}", dir.join("names.sqlite").display());
    let register = "import sys, Pyro5.api\n\
                    ns = Pyro5.api.locate_ns('127.0.0.1', int(sys.argv[1]))\n\
                    ns.register('kept.one', 'PYRO:one@localhost:1111', metadata={'kept'})\n\
                    ns.register('kept.two', 'PYRO:two@localhost:2222')\n";
    let check = "import sys, Pyro5.api\n\
                 ns = Pyro5.api.locate_ns('127.0.0.1', int(sys.argv[1]))\n\
                 print(sorted(ns.list(prefix='kept.').items()))\n\
                 print(ns.lookup('kept.one', return_metadata=True)[1])\n";
    let run = |script: &str, port: u16| {
        let out = Command::new(python()).args(["-c", script, &port.to_string()]).output().expect("python");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    {
        let (_ns, port, lines) = name_server(&["--servertype", "tokio", "-s", &storage]);
        assert!(!lines.iter().any(|l| l.starts_with("Persistent store")), "{lines:?}");
        run(register, port);
    }
    let (_ns, port, lines) = name_server(&["--servertype", "tokio", "-s", &storage]);
    assert!(lines.contains(&"Persistent store contains 3 existing registrations.".to_string()), "{lines:?}");
    assert_eq!(
        run(check, port),
        "[('kept.one', 'PYRO:one@localhost:1111'), ('kept.two', 'PYRO:two@localhost:2222')]\n{'kept'}\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn echoserver_dash_n_capital_registers_with_its_name_server_found_through_pyroname() {
    let port = free_port().to_string();
    let mut server = Command::new(env!("CARGO_BIN_EXE_pyro5-echoserver"))
        .args(["-N", "-v", "-p", "0", "--servertype", "tokio"])
        .env("PYRO_NS_PORT", &port)
        .stdout(Stdio::piped())
        .spawn()
        .map(Server)
        .expect("start");
    let mut reader = BufReader::new(server.0.stdout.take().expect("piped"));
    let mut lines = Vec::new();
    while lines.last().is_none_or(|l: &String| l != "echoserver running.") {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            panic!("pyro5-echoserver stopped: {lines:?}");
        }
        lines.push(line.trim_end().to_string());
    }
    std::thread::spawn(move || reader.lines().for_each(drop));
    assert_eq!(lines[1], format!("using name server at PYRO:Pyro.NameServer@localhost:{port}"), "{lines:?}");
    assert_eq!(lines[2], "not using a broadcast server", "{lines:?}");
    let script = "import Pyro5.api\n\
                  echo = Pyro5.api.Proxy('PYRONAME:test.echoserver')\n\
                  print(echo.echo('hi'))\n\
                  ns = Pyro5.api.locate_ns()\n\
                  print(sorted(ns.list()))\n\
                  print(ns.lookup('test.echoserver'))\n\
                  echo.shutdown()";
    let out = Command::new(python()).args(["-c", script]).env("PYRO_NS_PORT", &port).output().expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let uri = lines[4].strip_prefix("echo uri: ").expect("the uri line");
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("hi\n['Pyro.NameServer', 'test.echoserver']\n{uri}\n"));
    assert!(server.wait_exit().success());
}

/// `pyro5-echoserver -v` with `args` and `--servertype server_type`, called once through
/// the URI it printed and told to shut down: its whole output (the URI as `<uri>`), and how
/// it ended.
fn verbose_run(server_type: &str, args: &[&str]) -> (Vec<String>, std::process::ExitStatus) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_pyro5-echoserver"))
        .args(["-v", "--servertype", server_type])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .map(Server)
        .expect("start");
    let mut reader = BufReader::new(server.0.stdout.take().expect("piped"));
    let mut lines = Vec::new();
    let mut uri = None;
    while lines.last().is_none_or(|l: &String| l != "echoserver running.") {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            panic!("pyro5-echoserver stopped: {lines:?}");
        }
        if let Some(found) = line.trim_end().strip_prefix("echo uri: ") {
            uri = Some(found.to_string());
            line = "echo uri: <uri>".to_string();
        }
        lines.push(line.trim_end().to_string());
    }
    let uri = uri.expect("the uri line");
    let script = format!("import Pyro5.api\np = Pyro5.api.Proxy({uri:?})\nprint(p.echo('hi'))\np.shutdown()");
    let out = Command::new(python()).args(["-c", &script]).output().expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    let status = server.wait_exit();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).expect("read");
    // The call log's lines start with the time.
    lines.extend(rest.lines().map(|line| line.split_once(" - ").map_or(line, |(_, what)| what).to_string()));
    (lines, status)
}

#[test]
fn verbose_output_and_shutdown_are_the_other_server_types_over_tcp_and_unix_sockets() {
    let (multiplex, status) = verbose_run("multiplex", &["-p", "0"]);
    assert!(status.success());
    let (tokio, status) = verbose_run("tokio", &["-p", "0"]);
    assert!(status.success());
    assert_eq!(tokio, multiplex);
    assert_eq!(
        tokio,
        [
            "Starting Pyro's built-in test echo server.",
            "not using a name server.",
            "object name: test.echoserver",
            "echo uri: <uri>",
            "echoserver running.",
            "echo: 'hi'",
            "shutting down"
        ]
    );
    if cfg!(unix) {
        let socket = std::env::temp_dir().join(format!("pyro5-tools-tokio-{}.sock", std::process::id()));
        let (unix, status) = verbose_run("tokio", &["-u", &socket.to_string_lossy()]);
        assert!(status.success());
        assert_eq!(unix, tokio);
        let _ = std::fs::remove_file(&socket);
    }
}

/// Ctrl-C ends the server at once, as it ends the std server types (no handler of its own
/// on either).
#[cfg(unix)]
#[test]
fn ctrl_c_ends_it_as_it_ends_the_other_server_types() {
    use std::os::unix::process::ExitStatusExt;
    // A process started in the background without job control (`cmd &` in a script) ignores
    // SIGINT, and so would the server it starts (as Python's would): give it the default.
    let ignored = std::fs::read_to_string("/proc/self/status").ok().and_then(|status| {
        let mask = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?.trim().to_string();
        u64::from_str_radix(&mask, 16).ok()
    });
    let sigint_ignored = ignored.is_some_and(|mask| mask & (1 << (2 - 1)) != 0);
    println!("SIGINT ignored by this process: {sigint_ignored}");
    for server_type in ["multiplex", "tokio"] {
        let mut command = if sigint_ignored {
            let mut env = Command::new("env");
            env.args(["--default-signal=INT", env!("CARGO_BIN_EXE_pyro5-echoserver")]);
            env
        } else {
            Command::new(env!("CARGO_BIN_EXE_pyro5-echoserver"))
        };
        command.args(["-H", "127.0.0.1", "-p", "0", "--servertype", server_type]);
        let (child, _) = start_echo_process(command, "pyro5-echoserver");
        let mut server = Server(child);
        let sent = Command::new("kill").args(["-INT", &server.0.id().to_string()]).status().expect("kill");
        assert!(sent.success());
        assert_eq!(server.wait_exit().signal(), Some(2), "{server_type}, SIGINT ignored here: {sigint_ignored}");
    }
}
