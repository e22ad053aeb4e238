//! Pyro5's own examples, unmodified, from the pinned 5.17 source distribution
//! (`scripts/pyro5-examples` fetches it with pip and checks its sha256): each example's Python
//! client runs against Python's `server.py` and against our binary of the same name, and the
//! two outputs (stdout, stderr and the exit status), with ids, times and addresses masked,
//! must be the same.
//!
//! `PYRO5_EXAMPLES` names an unpacked `examples/` folder to use instead (`scripts/test` sets
//! it); without it the tests run `scripts/pyro5-examples` themselves, and skip, saying so,
//! only when pip cannot download the distribution. The examples run one at a time.
//!
//! A name server (Python's) is started on a free port for each run of an example that needs
//! one; every process finds it through `PYRO_NS_HOST` and `PYRO_NS_PORT`. Clients that ask
//! for a URI get the one the server printed on their stdin.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use pyro5_interop_tests::{python, workspace_root};
use regex::Regex;

/// Pyro5's `examples/` folder, unpacked under `target/`; `None` (with the reason printed)
/// when the source distribution cannot be fetched.
fn examples_dir() -> Option<&'static Path> {
    pyro5_interop_tests::pyro5_examples_dir()
}

/// The folder where pip installed `packages` (pinned requirements, beside the venv's own),
/// under `target/`, once; `None` (with the reason printed) when pip cannot download them.
fn packages_dir(packages: &[&str]) -> Option<&'static Path> {
    static DIRS: Mutex<Vec<(String, Option<&'static Path>)>> = Mutex::new(Vec::new());
    let pins = packages.join(" ");
    let mut dirs = DIRS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, dir)) = dirs.iter().find(|(p, _)| *p == pins) {
        return *dir;
    }
    let dir = workspace_root().join("target/pyro5-examples-packages").join(packages.join("+"));
    let stamp = dir.join(".pins");
    let installed = std::fs::read_to_string(&stamp).is_ok_and(|s| s == pins) || {
        let _ = std::fs::remove_dir_all(&dir);
        let status = Command::new(python())
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"])
            .arg(&dir)
            .args(packages)
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .unwrap_or_else(|e| panic!("cannot run pip: {e}"));
        status.success() && std::fs::write(&stamp, &pins).is_ok()
    };
    let dir: Option<&'static Path> = installed.then(|| &*Box::leak(dir.into_boxed_path()));
    if dir.is_none() {
        println!("SKIPPED: pip could not install {pins} (no network?)");
    }
    dirs.push((pins, dir));
    dir
}

/// A free TCP port on the loopback interface.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind a free port").port()
}

/// A process whose output lines are collected as they come.
struct Running {
    what: String,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    /// Its stdin, when it is given input as it goes ([`Running::say`]).
    stdin: Option<ChildStdin>,
}

fn collect(stream: impl Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            into.lock().unwrap().push(line);
        }
    });
}

impl Running {
    /// Start `command`, with `input` on its stdin (then closed).
    fn start(what: &str, command: Command, input: &str) -> Self {
        Self::start_after(what, command, input, Duration::ZERO)
    }

    /// Start `command`, with `input` on its stdin (then closed) `delay` after it started.
    fn start_after(what: &str, command: Command, input: &str, delay: Duration) -> Self {
        let mut running = Self::interactive(what, command);
        let mut stdin = running.stdin.take().expect("just started");
        if delay.is_zero() {
            stdin.write_all(input.as_bytes()).unwrap_or_else(|e| panic!("cannot write to {what}: {e}"));
        } else {
            let input = input.to_string();
            thread::spawn(move || {
                thread::sleep(delay);
                // A client that ended meanwhile reads nothing; what it printed tells why.
                let _ = stdin.write_all(input.as_bytes());
            });
        }
        running
    }

    /// Start `command` with its stdin left open, to [`say`](Self::say) things to it.
    fn interactive(what: &str, mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let stdin = child.stdin.take();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        collect(child.stdout.take().unwrap(), Arc::clone(&stdout));
        collect(child.stderr.take().unwrap(), Arc::clone(&stderr));
        Self { what: what.to_string(), child, stdout, stderr, stdin }
    }

    /// Write `text` to the process's stdin.
    fn say(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().unwrap_or_else(|| panic!("{}'s stdin is closed", self.what));
        stdin.write_all(text.as_bytes()).unwrap_or_else(|e| panic!("cannot write to {}: {e}", self.what));
    }

    /// Wait until `count` lines of stdout contain `marker`.
    fn wait_count(&mut self, marker: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.stdout.lock().unwrap().iter().filter(|l| l.contains(marker)).count() < count {
            assert!(
                Instant::now() < deadline,
                "{} printed {marker:?} fewer than {count} times:\n{}",
                self.what,
                self.output()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until the process ended: how (its exit code).
    fn wait_end(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return format!("exit code {:?}", status.code());
            }
            assert!(Instant::now() < deadline, "{} did not end:\n{}", self.what, self.output());
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its stdout and stderr so far, as one text.
    fn output(&self) -> String {
        let out = self.stdout.lock().unwrap().join("\n");
        let err = self.stderr.lock().unwrap().join("\n");
        format!("{out}\n--- stderr ---\n{err}")
    }

    /// Wait until a line of stdout contains `marker`; the lines so far.
    fn wait_for(&mut self, marker: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let lines = self.stdout.lock().unwrap().clone();
            if lines.iter().any(|l| l.contains(marker)) {
                return lines;
            }
            let exited = self.child.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                let stderr = self.stderr.lock().unwrap().join("\n");
                panic!("{} never printed {marker:?} ({exited:?}):\n{}\n{stderr}", self.what, lines.join("\n"));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Running {
    /// Kill the process and wait for it.
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Which server a client runs against.
#[derive(Clone, Copy, Debug)]
enum Server {
    Python,
    Rust,
}

/// One example: a client run against a server.
struct Case {
    /// The example's folder.
    folder: &'static str,
    /// Python's server script in it, or a module of Pyro5 run with `-m` (a name not
    /// ending in `.py`).
    server: &'static str,
    /// Our server binary.
    bin: &'static str,
    /// Our server's arguments.
    bin_args: &'static [&'static str],
    /// More servers of the example, started (each until it printed `ready`) after the
    /// first: Python's script, and our binary's arguments for the same.
    more_servers: &'static [(&'static str, &'static [&'static str])],
    /// The server's stdin (either server's).
    server_input: &'static str,
    /// The client script.
    client: &'static str,
    /// Whether a name server must run.
    name_server: bool,
    /// What the server prints once it serves.
    ready: &'static str,
    /// Other Python programs of the example that run beside the server (script, what it
    /// prints once it runs), started before the client.
    helpers: &'static [(&'static str, &'static str)],
    /// The client's stdin, from the server's output so far.
    input: fn(&[String]) -> String,
    /// How long after the client started its stdin is written.
    input_delay: Duration,
    /// More of the client's stdin, written this long after the first.
    more_input: Option<(Duration, &'static str)>,
    /// Stop the server this long after the client started, and start it again once the
    /// client printed the text given.
    restart: Option<(Duration, &'static str)>,
    /// The client never ends by design: it is stopped after this long.
    hangs: Option<Duration>,
    /// The longest a client may take.
    limit: Duration,
    /// What differs from run to run beyond ids and addresses (times, counts).
    mask: fn(&str) -> String,
    /// The server's lines with this text, printed once the client ended (up to 2 seconds
    /// later), are compared too.
    server_says: Option<&'static str>,
    /// Python packages the example's scripts import beyond Pyro5 (pinned requirements).
    packages: &'static [&'static str],
    /// The date the Python programs run at (`faketime`, the clock going on from there): for
    /// certificates that have expired since.
    faketime: Option<&'static str>,
}

impl Case {
    fn new(folder: &'static str, bin: &'static str) -> Self {
        Self {
            folder,
            server: "server.py",
            bin,
            bin_args: &[],
            more_servers: &[],
            server_input: "",
            client: "client.py",
            name_server: true,
            ready: "Pyro daemon running.",
            helpers: &[],
            input: |_| String::new(),
            input_delay: Duration::ZERO,
            more_input: None,
            restart: None,
            hangs: None,
            limit: Duration::from_secs(60),
            mask: |text| text.to_string(),
            server_says: None,
            packages: &[],
            faketime: None,
        }
    }
}

/// The URI a server printed (`uri = PYRO:...`), as a line for a client that asks for it.
fn uri_line(lines: &[String]) -> String {
    let uri = lines.iter().find_map(|l| l.trim().strip_prefix("uri = ")).expect("the server printed a URI");
    format!("{uri}\n")
}

/// The URI a server printed alone on a line, as a line for a client that asks for it.
fn pyro_line(lines: &[String]) -> String {
    let uri = lines.iter().find(|l| l.starts_with("PYRO:")).expect("the server printed a URI");
    format!("{uri}\n")
}

/// What runs beside an example's client: Python's name server when the example needs one
/// (on a free port, found by every process through `PYRO_NS_HOST` and `PYRO_NS_PORT`).
struct Stage {
    dir: PathBuf,
    ns_port: String,
    /// Where the example's extra packages are installed ([`packages_dir`]).
    python_path: Option<&'static Path>,
    /// [`Case::faketime`].
    faketime: Option<&'static str>,
    _ns: Option<Running>,
}

impl Stage {
    fn new(case: &Case, examples: &Path) -> Self {
        let python_path = if case.packages.is_empty() { None } else { packages_dir(case.packages) };
        let mut stage = Self {
            dir: examples.join(case.folder),
            ns_port: free_port().to_string(),
            python_path,
            faketime: case.faketime,
            _ns: None,
        };
        if case.name_server {
            let args = ["-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", &stage.ns_port, "-x"];
            let mut ns = Running::start("the name server", stage.command(python(), &args), "");
            ns.wait_for("NS running");
            stage._ns = Some(ns);
        }
        stage
    }

    /// `program` with `args`, run in the example's folder with the stage's environment (a
    /// Python program at the case's fake date, if it has one).
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = match self.faketime {
            Some(date) if program == python() => {
                let mut command = Command::new("faketime");
                // Timeouts are measured on the real monotonic clock.
                command.arg(date).arg(program).env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
                command
            }
            _ => Command::new(program),
        };
        command.args(args).current_dir(&self.dir).envs([
            ("PYRO_NS_HOST", "127.0.0.1"),
            ("PYRO_NS_PORT", self.ns_port.as_str()),
            ("PYTHONUNBUFFERED", "1"),
            ("PYTHONHASHSEED", "0"),
        ]);
        if let Some(path) = self.python_path {
            command.env("PYTHONPATH", path);
        }
        command
    }

    /// Start `case`'s server: Python's script or our binary.
    fn serve(&self, case: &Case, server: Server) -> Running {
        match server {
            Server::Python if !case.server.ends_with(".py") => {
                Running::start(case.server, self.command(python(), &["-u", "-m", case.server]), case.server_input)
            }
            Server::Python => {
                Running::start(case.server, self.command(python(), &["-u", case.server]), case.server_input)
            }
            Server::Rust => {
                Running::start(case.bin, self.command(Path::new(case.bin), case.bin_args), case.server_input)
            }
        }
    }

    /// Start a Python program of the example with its stdin left open ([`Running::say`]).
    fn interactive(&self, script: &str) -> Running {
        Running::interactive(script, self.command(python(), &[script]))
    }
}

/// Run `case`'s client against `server`: its stdout, stderr and how it ended, as one text.
fn run(case: &Case, examples: &Path, server: Server) -> String {
    let stage = Stage::new(case, examples);
    let command = |program: &Path, args: &[&str]| stage.command(program, args);
    let serve = || stage.serve(case, server);
    let mut served = serve();
    let lines = served.wait_for(case.ready);
    let more_servers: Vec<Running> = case
        .more_servers
        .iter()
        .map(|&(script, args)| {
            let mut more = match server {
                Server::Python => Running::start(script, command(python(), &["-u", script]), ""),
                Server::Rust => Running::start(case.bin, command(Path::new(case.bin), args), ""),
            };
            more.wait_for(case.ready);
            more
        })
        .collect();
    let helpers: Vec<Running> = case
        .helpers
        .iter()
        .map(|(script, ready)| {
            let mut helper = Running::start(script, command(python(), &[script]), "");
            helper.wait_for(ready);
            helper
        })
        .collect();
    let input = (case.input)(&lines);
    let mut client = match case.more_input {
        None => Running::start_after(case.client, command(python(), &[case.client]), &input, case.input_delay),
        Some((after, more)) => {
            let mut client = Running::interactive(case.client, command(python(), &[case.client]));
            let mut stdin = client.stdin.take().expect("just started");
            let delay = case.input_delay;
            thread::spawn(move || {
                thread::sleep(delay);
                // A client that ended meanwhile reads nothing; what it printed tells why.
                let _ = stdin.write_all(input.as_bytes());
                thread::sleep(after);
                let _ = stdin.write_all(more.as_bytes());
            });
            client
        }
    };
    let started = Instant::now();
    let mut restarted = false;
    let ended = loop {
        if let Some(status) = client.child.try_wait().unwrap() {
            break format!("exit code {:?}", status.code());
        }
        if let Some((_, told)) = case.restart.filter(|(after, _)| !restarted && started.elapsed() > *after) {
            // Stop the server; start it again once the client says it lost it.
            served.stop();
            client.wait_for(told);
            served = serve();
            served.wait_for(case.ready);
            restarted = true;
        }
        if case.hangs.is_some_and(|after| started.elapsed() > after) {
            break "stopped (it waits for ever by design)".to_string();
        }
        if started.elapsed() > case.limit {
            let out = client.stdout.lock().unwrap().join("\n");
            let err = client.stderr.lock().unwrap().join("\n");
            panic!("{} against {server:?}'s server took over {:?}:\n{out}\n{err}", case.client, case.limit);
        }
        thread::sleep(Duration::from_millis(50));
    };
    // The client first: a server gone would make a waiting client fail.
    let _ = client.child.kill();
    let _ = client.child.wait();
    let server_said = case.server_says.map_or_else(String::new, |text| {
        let said = || served.stdout.lock().unwrap().iter().filter(|l| l.contains(text)).cloned().collect::<Vec<_>>();
        let deadline = Instant::now() + Duration::from_secs(2);
        while said().is_empty() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
        format!("\n--- the server said ---\n{}", said().join("\n"))
    });
    drop(helpers);
    drop(more_servers);
    drop(served);
    // Give the readers a moment to take the rest of the output.
    thread::sleep(Duration::from_millis(200));
    format!("{}\n--- {ended}{server_said}", client.output())
}

/// `text` with what differs from run to run replaced: object ids, UUIDs, addresses, the
/// frames of remote tracebacks (Python's show Python code, ours the Rust method), then the
/// example's own mask.
fn masked(case: &Case, text: &str) -> String {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            (r"obj_[0-9a-f]{32}", "obj_<id>"),
            (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>"),
            (r"(localhost|127\.0\.0\.1|\[::1\]):\d+", "<address>"),
            (r"\('(localhost|127\.0\.0\.1|::1)', \d+\)", "<address>"),
            (r"(?m)^ \|   .*\n", ""),
        ]
        .into_iter()
        .map(|(pattern, replacement)| (Regex::new(pattern).unwrap(), replacement))
        .collect()
    });
    let mut text = text.to_string();
    for (regex, replacement) in rules {
        text = regex.replace_all(&text, *replacement).into_owned();
    }
    (case.mask)(&text)
}

/// One example at a time: some clients check how long calls take (timeout within 0.2 s),
/// which a machine busy with the other examples' processes would upset.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Run `case` against both servers and compare (nothing when the examples could not be
/// fetched).
fn compare(case: &Case) {
    let _turn = one_at_a_time();
    let Some(examples) = examples_dir() else { return };
    if !case.packages.is_empty() && packages_dir(case.packages).is_none() {
        return;
    }
    if case.faketime.is_some() && Command::new("faketime").arg("--version").output().is_err() {
        println!("SKIPPED: {} needs faketime (apt-get install faketime; the test command does as root)", case.folder);
        return;
    }
    let python = masked(case, &run(case, examples, Server::Python));
    let rust = masked(case, &run(case, examples, Server::Rust));
    println!("{}/{} against either server:\n{rust}", case.folder, case.client);
    if python != rust {
        panic!(
            "{}/{}: the output differs\n=== against Python's {}:\n{python}\n=== against {}:\n{rust}",
            case.folder, case.client, case.server, case.bin
        );
    }
}

/// Replace every match of `pattern` in `text`.
fn replace(text: &str, pattern: &str, with: &str) -> String {
    Regex::new(pattern).unwrap().replace_all(text, with).into_owned()
}

#[test]
fn attributes() {
    compare(&Case { name_server: false, input: uri_line, ..Case::new("attributes", env!("CARGO_BIN_EXE_attributes")) });
}

#[test]
fn exceptions() {
    compare(&Case::new("exceptions", env!("CARGO_BIN_EXE_exceptions")));
}

#[test]
fn oneway() {
    // How often the client asks whether the work is done depends on timing.
    let mask = |text: &str| replace(text, r"(server done\?\nno, trying again\n)+", "server done?\n...\n");
    compare(&Case { mask, ..Case::new("oneway", env!("CARGO_BIN_EXE_oneway")) });
}

#[test]
fn oneway2() {
    compare(&Case { server: "server2.py", client: "client2.py", ..Case::new("oneway", env!("CARGO_BIN_EXE_oneway")) });
}

#[test]
fn batchedcalls() {
    let mask = |text: &str| {
        let text = replace(text, r"\d+\.\d+ (seconds|times)", "<number> ${1}");
        replace(&text, r"\(\d+ calls/sec\)", "(<number> calls/sec)")
    };
    compare(&Case {
        name_server: false,
        input: uri_line,
        limit: Duration::from_secs(300),
        mask,
        ..Case::new("batchedcalls", env!("CARGO_BIN_EXE_batchedcalls"))
    });
}

#[test]
fn timeout() {
    compare(&Case {
        ready: "Server ready.",
        hangs: Some(Duration::from_secs(12)),
        ..Case::new("timeout", env!("CARGO_BIN_EXE_timeout"))
    });
}

/// The instance ids the instancemode client prints, as `<id>`, or `<same id>` when a line
/// shows the id of the line before it. Under PERCALL an instance may have the id of one
/// gone before it (Python's `id` is an address), so there only `<id>`.
fn instance_ids(text: &str) -> String {
    let id = Regex::new(r"^\(?(\d+)").unwrap();
    let mut percall = false;
    let mut previous: Option<String> = None;
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("-----") {
            percall = line.contains("PERCALL");
        }
        let Some(found) = id.captures(line).map(|c| c[1].to_string()) else {
            previous = None;
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let same = !percall && previous.as_deref() == Some(found.as_str());
        out.push_str(&line.replacen(&found, if same { "<same id>" } else { "<id>" }, 1));
        out.push('\n');
        previous = Some(found);
    }
    out
}

#[test]
fn instancemode() {
    compare(&Case { mask: instance_ids, ..Case::new("instancemode", env!("CARGO_BIN_EXE_instancemode")) });
}

#[test]
fn handshake() {
    compare(&Case {
        name_server: false,
        ready: "When asked",
        input: |lines| pyro_line(lines) + "pancakes\n",
        server_says: Some("Daemon client disconnects"),
        ..Case::new("handshake", env!("CARGO_BIN_EXE_handshake"))
    });
}

#[test]
fn handshake_refused() {
    compare(&Case {
        name_server: false,
        ready: "When asked",
        input: |lines| pyro_line(lines) + "waffles\n",
        server_says: Some("Daemon client disconnects"),
        ..Case::new("handshake", env!("CARGO_BIN_EXE_handshake"))
    });
}

#[test]
fn streaming() {
    compare(&Case { name_server: false, input: uri_line, ..Case::new("streaming", env!("CARGO_BIN_EXE_streaming")) });
}

#[test]
fn callcontext() {
    compare(&Case {
        name_server: false,
        ready: "Server is ready",
        input: pyro_line,
        ..Case::new("callcontext", env!("CARGO_BIN_EXE_callcontext"))
    });
}

#[test]
fn warehouse() {
    // Janet stores a thing and takes one; Henry stores nothing and takes what is not there.
    compare(&Case {
        server: "warehouse.py",
        client: "visit.py",
        input: |_| "teddy bear\nbike\n\nunicorn\n".to_string(),
        ..Case::new("warehouse/phase3", env!("CARGO_BIN_EXE_warehouse"))
    });
}

#[test]
fn distributed_computing() {
    // The numbers are random; one worker takes the items in order. How often the client
    // finds no result yet depends on timing.
    let mask = |text: &str| {
        let text = replace(text, r"(?m)^Not all results available yet.*\n", "");
        let text = replace(&text, r"Worker_\d+@\S+\)", "Worker_<pid>@<host>)");
        replace(&text, r"(?m)^\d+ --> \[[\d, ]*\]$", "<number> --> <factors>")
    };
    compare(&Case {
        server: "dispatcher.py",
        helpers: &[("worker.py", "getting work from dispatcher.")],
        limit: Duration::from_secs(300),
        mask,
        ..Case::new("distributed-computing", env!("CARGO_BIN_EXE_distributed-computing"))
    });
}

/// The calls of the autoreconnect clients, a second each: how many depends on timing.
fn calls(text: &str) -> String {
    replace(text, r"(call\.\.\.\n|Sleeping 1 second\n)+", "<calls>\n")
}

#[test]
fn autoreconnect() {
    compare(&Case {
        name_server: false,
        ready: "Server started",
        input: |lines| {
            let uri = lines.iter().find_map(|l| l.strip_prefix("Server started, uri: ")).expect("a URI");
            format!("{uri}\n")
        },
        restart: Some((Duration::from_secs(3), "(restart the server now)")),
        hangs: Some(Duration::from_secs(8)),
        mask: calls,
        ..Case::new("autoreconnect", env!("CARGO_BIN_EXE_autoreconnect"))
    });
}

#[test]
fn autoreconnect_ns() {
    compare(&Case {
        server: "serverNS.py",
        bin_args: &["--ns"],
        client: "clientNS.py",
        ready: "Server started",
        restart: Some((Duration::from_secs(3), "(restart the server now)")),
        hangs: Some(Duration::from_secs(8)),
        mask: calls,
        ..Case::new("autoreconnect", env!("CARGO_BIN_EXE_autoreconnect"))
    });
}

/// The usersession client's output, with what depends on timing ordered or left out: the
/// values its two threads read (they share the database), the order of their lines, and on
/// the singleton how many calls collided, and which (the errors' texts are kept, once each).
fn sessions(text: &str) -> String {
    let (out, rest) = text.split_once("\n--- stderr ---\n").expect("stdout and stderr");
    let (err, end) = rest.rsplit_once("\n--- ").expect("how it ended");
    let num = Regex::new(r"^\[(Thread-\d+)\] num=\d+$").unwrap();
    let mut masked = String::new();
    let mut singleton = false;
    let mut threads: Vec<String> = Vec::new();
    for line in out.replace("enter to start: ", "enter to start: \n").lines() {
        if let Some(found) = num.captures(line) {
            if !singleton {
                threads.push(format!("[{}] num=<n>", &found[1]));
            }
            continue;
        }
        if line.starts_with("*****") {
            threads.sort();
            masked.extend(threads.drain(..).map(|l| l + "\n"));
            singleton = line.contains("concurrent proxies on the Singleton");
        }
        masked.push_str(line);
        masked.push('\n');
    }
    threads.sort();
    masked.extend(threads.drain(..).map(|l| l + "\n"));
    // Which access collided (a write or a read) depends on timing too.
    let err = err.replace("access (read)", "access (<access>)").replace("access (write)", "access (<access>)");
    let mut errors: Vec<&str> = err.lines().filter(|l| !l.starts_with(' ') && l.contains("Error: ")).collect();
    errors.sort_unstable();
    errors.dedup();
    format!("{masked}--- stderr (errors) ---\n{}\n--- {end}", errors.join("\n"))
}

#[test]
fn usersession() {
    compare(&Case {
        input: |_| "\n\n".to_string(),
        mask: sessions,
        ..Case::new("usersession", env!("CARGO_BIN_EXE_usersession"))
    });
}

#[test]
fn autoproxy() {
    // A proxy's repr shows its address in the client and its owner thread.
    let mask = |text: &str| {
        replace(text, r"Proxy at 0x[0-9a-f]+; (.*); owner \d+>", "Proxy at <address>; $1; owner <thread>>")
    };
    compare(&Case {
        name_server: false,
        input: uri_line,
        mask,
        ..Case::new("autoproxy", env!("CARGO_BIN_EXE_autoproxy"))
    });
}

#[test]
fn stockquotes() {
    // The viewer shows quotes for ever: which market comes first, the symbols picked, their
    // prices and how many there are depend on chance. The lines must still be quotes of the
    // symbols it shows, from the market that has them.
    let mask = |text: &str| replace(text, r"(?m)(^(NASDAQ\.(AAPL|MSFT)|NYSE\.IBM): \d+(\.\d+)?\n)+", "<quotes>\n");
    compare(&Case {
        server: "stockmarket.py",
        client: "viewer.py",
        ready: "Stockmarkets available.",
        hangs: Some(Duration::from_secs(6)),
        mask,
        ..Case::new("stockquotes/phase3", env!("CARGO_BIN_EXE_stockquotes"))
    });
}

#[test]
fn callback() {
    // The workers sleep a random number of seconds each: the order of their callbacks
    // depends on chance, and the client's threads print them at the same time (Python's
    // lines may even run into each other). Compared: which workers reported, and that all
    // lines and the client's last one were printed.
    let mask = |text: &str| {
        let (head, rest) = text.split_once("waiting for all work complete...\n").expect("the client waited");
        let (calls, tail) = rest.split_once("\n--- stderr ---").expect("stdout and stderr");
        let mut workers: Vec<&str> = Regex::new(r"worker (\d+) reports")
            .unwrap()
            .captures_iter(calls)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        workers.sort_unstable();
        let done = calls.matches("done!").count();
        format!("{head}<callbacks from workers {}, done! {done} times>\n--- stderr ---{tail}", workers.join(", "))
    };
    compare(&Case { mask, ..Case::new("callback", env!("CARGO_BIN_EXE_callback")) });
}

#[test]
fn callback2() {
    // The client waits for callbacks for ever; its log lines carry the time.
    let mask = |text: &str| replace(text, r"(?m)^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3},", "[<time>,");
    compare(&Case {
        server: "server2.py",
        client: "client2.py",
        hangs: Some(Duration::from_secs(6)),
        mask,
        ..Case::new("callback", env!("CARGO_BIN_EXE_callback"))
    });
}

/// The chatbox client's output with the server's "joined" message, which the client's
/// daemon thread prints while its main thread goes on, counted at the start instead. The
/// message and its line end are two writes, so the line end may come anywhere: after a
/// prompt (where the input's line end is not shown) or as an empty line.
fn chat(text: &str) -> String {
    let joined = Regex::new(r"\[SERVER\] \*\* (\w+) joined \*\*").unwrap();
    let nicks: Vec<String> = joined.captures_iter(text).map(|c| c[1].to_string()).collect();
    let text = joined.replace_all(text, "");
    let text = replace(&replace(&text, r"(: |> )\n", "$1"), r"\n\n+", "\n");
    format!("<joined: {}>\n{text}", nicks.join(", "))
}

/// How long the chatbox client gets before its input: it registers its callback object in a
/// thread of its own while its main thread goes on to join, and an object not registered yet
/// is sent as a plain `__main__.Chatter` (which Python's server refuses).
const CHATTER_REGISTERED: Duration = Duration::from_secs(2);

#[test]
fn chatbox() {
    // A new channel, a message (the client does not show its own) and /quit.
    compare(&Case {
        input: |_| "lobby\nbob\nhello everyone\n/quit\n".to_string(),
        input_delay: CHATTER_REGISTERED,
        mask: chat,
        ..Case::new("chatbox", env!("CARGO_BIN_EXE_chatbox"))
    });
}

#[test]
fn chatbox_invalid_name() {
    // No channel name and no nickname: the server refuses the join with a ValueError.
    compare(&Case {
        input: |_| "\n\n".to_string(),
        input_delay: CHATTER_REGISTERED,
        ..Case::new("chatbox", env!("CARGO_BIN_EXE_chatbox"))
    });
}

/// A chatbox client's output as the others' messages and its own lines, each in the order
/// printed: its daemon thread prints the messages while its main thread prompts and prints,
/// so the two interleave as they happen to. The prompts (`> `) are left out.
fn chat_lines(text: &str) -> String {
    let (out, rest) = text.split_once("\n--- stderr ---").expect("stdout and stderr");
    let text = chat(&format!("{out}\n"));
    let message = Regex::new(r"\[\w+\] [^\[]*").unwrap();
    let mut messages = Vec::new();
    let mut own = Vec::new();
    for line in text.lines() {
        let line = line.replace("> ", "");
        let rest = message.replace_all(&line, |m: &regex::Captures<'_>| {
            messages.push(m[0].to_string());
            ""
        });
        if !rest.trim().is_empty() {
            own.push(rest.into_owned());
        }
    }
    format!("messages:\n{}\nlines:\n{}\n--- stderr ---{rest}", messages.join("\n"), own.join("\n"))
}

/// The chatbox with several clients at once: alice makes a channel, bob joins it, they talk;
/// carol asks for alice's nickname (refused); alice's process is killed, and the server drops
/// her callback as a dead listener when bob's next lines reach it; bob leaves; dave finds
/// alice's nickname still taken and no channel. What each client printed and what the
/// server printed must be the same against Python's server and ours.
fn conversation(examples: &Path, server: Server) -> String {
    let case = Case::new("chatbox", env!("CARGO_BIN_EXE_chatbox"));
    let stage = Stage::new(&case, examples);
    let mut served = stage.serve(&case, server);
    served.wait_for(case.ready);
    // Each client registers its callback object in a thread of its own before it joins.
    let client = |input: &str| {
        let mut client = stage.interactive(case.client);
        thread::sleep(CHATTER_REGISTERED);
        client.say(input);
        client
    };
    let mut alice = client("lobby\nalice\n");
    alice.wait_for("Ready for input!");
    let mut bob = client("lobby\nbob\n");
    bob.wait_for("Ready for input!");
    alice.wait_for("** bob joined **");
    bob.say("hello alice\n");
    alice.wait_for("[bob] hello alice");
    alice.say("hi bob\n");
    bob.wait_for("[alice] hi bob");
    let mut carol = client("lobby\nalice\n");
    let carol_ended = carol.wait_end();
    alice.stop();
    // A oneway message to a process that is gone: the first one is still written (the
    // connection's end is not known yet), the next one finds it closed.
    bob.say("anyone there?\n");
    thread::sleep(Duration::from_millis(500));
    bob.say("hello?\n");
    served.wait_for("Removed dead listener alice");
    bob.say("/quit\n");
    let bob_ended = bob.wait_end();
    let mut dave = client("hall\ndave\n/quit\n");
    let dave_ended = dave.wait_end();
    served.stop();
    // Give the readers a moment to take the rest of the output.
    thread::sleep(Duration::from_millis(200));
    let masked_text = masked;
    let masked = |text: String| chat_lines(&masked_text(&case, &text));
    let server_lines = served.stdout.lock().unwrap().join("\n");
    let server_lines = replace(&server_lines, r"(?m)^(Removed dead listener \w+) .*$", "$1");
    format!(
        "=== alice (killed)\n{}\n=== bob ({bob_ended})\n{}\n=== carol ({carol_ended})\n{}\n\
         === dave ({dave_ended})\n{}\n=== the server\n{}",
        masked(alice.output()),
        masked(bob.output()),
        masked(carol.output()),
        masked(dave.output()),
        masked_text(&case, &server_lines),
    )
}

#[test]
fn chatbox_conversation() {
    let _turn = one_at_a_time();
    let Some(examples) = examples_dir() else { return };
    let python = conversation(examples, Server::Python);
    let rust = conversation(examples, Server::Rust);
    println!("chatbox, four clients, against either server:\n{rust}");
    assert!(
        python == rust,
        "chatbox: the conversations differ\n=== against Python's server.py:\n{python}\n=== against ours:\n{rust}"
    );
}

/// Pyro5's blob-dispatch with the dispatcher `server` (Python's `dispatcher/dispatcher.py`
/// or our `blob-dispatch`): three listeners (`listeners/main.py`, topics red, blue and
/// blue), and the client sending a blob on red, blue and green (which nobody listens to).
/// What the client, each listener and the dispatcher printed, masked.
fn blob_dispatch_run(examples: &Path, server: Server) -> String {
    let case = Case {
        server: "dispatcher/dispatcher.py",
        client: "client/client.py",
        ..Case::new("blob-dispatch", env!("CARGO_BIN_EXE_blob-dispatch"))
    };
    let stage = Stage::new(&case, examples);
    let mut served = stage.serve(&case, server);
    served.wait_for(case.ready);
    let listener = |topic: &str| {
        let mut listener = Running::start(topic, stage.command(python(), &["listeners/main.py", topic]), "");
        listener.wait_for("waiting for data");
        listener
    };
    let mut listeners = [listener("red"), listener("blue"), listener("blue")];
    let mut client = Running::start(case.client, stage.command(python(), &[case.client]), "red\nblue\ngreen\n\n");
    let ended = client.wait_end();
    // Each listener printed before it answered, and the dispatcher waited for the answers.
    thread::sleep(Duration::from_millis(200));
    listeners.iter_mut().for_each(Running::stop);
    served.stop();
    thread::sleep(Duration::from_millis(200));
    let time = |text: &str| replace(text, r"c=\S+", "c=<time>");
    let mut out = format!("=== client ({ended})\n{}\n", masked(&case, &client.output()));
    for listener in &listeners {
        let text = listener.stdout.lock().unwrap().join("\n");
        out.push_str(&format!("=== listener {}\n{}\n", listener.what, time(&masked(&case, &text))));
    }
    let text = served.stdout.lock().unwrap().join("\n");
    out + &format!("=== the dispatcher\n{}", masked(&case, &text))
}

#[test]
fn blob_dispatch() {
    let _turn = one_at_a_time();
    let Some(examples) = examples_dir() else { return };
    let python = blob_dispatch_run(examples, Server::Python);
    let rust = blob_dispatch_run(examples, Server::Rust);
    println!("blob-dispatch against either dispatcher:\n{rust}");
    assert!(
        python == rust,
        "blob-dispatch differs\n=== against Python's dispatcher.py:\n{python}\n=== against ours:\n{rust}"
    );
}

/// Pyro5's resourcetracking against `server`: the client allocates two resources, then
/// frees them (Enter) or is killed at its prompt (`abort`), and the daemon closes what it
/// left. What the client and the server printed, the resources' random names masked.
fn resourcetracking_run(examples: &Path, server: Server, abort: bool) -> String {
    let case = Case { name_server: false, ..Case::new("resourcetracking", env!("CARGO_BIN_EXE_resourcetracking")) };
    let stage = Stage::new(&case, examples);
    let mut served = stage.serve(&case, server);
    let lines = served.wait_for(case.ready);
    let mut client = stage.interactive(case.client);
    client.say(&uri_line(&lines));
    // Both allocated: the client waits at its prompt.
    served.wait_count("allocated resource", 2);
    let ended = if abort {
        client.stop();
        "killed".to_string()
    } else {
        client.say("\n");
        client.wait_end()
    };
    served.wait_count("    resources: ", 1);
    served.wait_count("Resource: closing", 2);
    served.stop();
    thread::sleep(Duration::from_millis(200));
    let names = Regex::new(r"allocating resource\.\.\. (\S+)").unwrap();
    let client_out = client.output();
    let mut text =
        format!("=== client ({ended})\n{client_out}\n=== the server\n{}", served.stdout.lock().unwrap().join("\n"));
    for name in names.captures_iter(&client_out) {
        text = text.replace(&format!("'{}'", &name[1]), "'<name>'").replace(&name[1], "<name>");
    }
    masked(&case, &text)
}

#[test]
fn resourcetracking() {
    let _turn = one_at_a_time();
    let Some(examples) = examples_dir() else { return };
    for abort in [false, true] {
        let python = resourcetracking_run(examples, Server::Python, abort);
        let rust = resourcetracking_run(examples, Server::Rust, abort);
        println!("resourcetracking (client killed: {abort}) against either server:\n{rust}");
        assert!(
            python == rust,
            "resourcetracking differs\n=== against Python's server.py:\n{python}\n=== against ours:\n{rust}"
        );
    }
}

#[test]
fn timezones() {
    // The dates and times themselves; the offsets (Amsterdam's) are compared.
    let mask = |text: &str| {
        let text = replace(text, r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,6})?", "<datetime>");
        replace(&text, r"DateTime\(\d+(, \d+)*", "DateTime(<datetime>")
    };
    compare(&Case {
        name_server: false,
        input: uri_line,
        mask,
        packages: &["pendulum==3.2.0", "pytz==2026.6", "python-dateutil==2.9.0.post0"],
        ..Case::new("timezones", env!("CARGO_BIN_EXE_timezones"))
    });
}

/// The servertypes client's output with the thread names that differ from run to run
/// numbered in order of appearance (`Pyro-Worker-<1>`, ...), and the lines of its five
/// concurrent threads (printed as their calls end) sorted, without the spaces after them.
fn server_threads(text: &str) -> String {
    let text = replace(text, r"Thread-\d+ \(func\)", "Thread-<n> (func)");
    let worker = Regex::new(r"Pyro-Worker-(\d+)").unwrap();
    let mut seen: Vec<String> = Vec::new();
    let text = worker.replace_all(&text, |c: &regex::Captures<'_>| {
        let n = seen.iter().position(|s| *s == c[1]).unwrap_or_else(|| {
            seen.push(c[1].to_string());
            seen.len() - 1
        });
        format!("Pyro-Worker-<{}>", n + 1)
    });
    let (head, rest) = text.split_once("Waiting for threads to finish:\n").expect("the client waited");
    let (threads, tail) = rest.split_once("Done.").expect("the client ended");
    // Their lines may run into each other (Python prints a line's end apart).
    let mut threads: Vec<&str> =
        Regex::new(r"\[ thread [^\]]*\]").unwrap().find_iter(threads).map(|m| m.as_str()).collect();
    threads.sort_unstable();
    format!("{head}Waiting for threads to finish:\n{}\nDone.{tail}", threads.join("\n"))
}

#[test]
fn servertypes_thread() {
    compare(&Case {
        server_input: "t\n",
        mask: server_threads,
        ..Case::new("servertypes", env!("CARGO_BIN_EXE_servertypes"))
    });
}

#[test]
fn servertypes_multiplex() {
    compare(&Case {
        server_input: "m\n",
        mask: server_threads,
        ..Case::new("servertypes", env!("CARGO_BIN_EXE_servertypes"))
    });
}

/// The shoppingcart client's output with the goods it picked at random masked, after
/// checking each receipt against what was put into the cart (its items, in order) and its
/// total against its prices.
fn shopping(text: &str) -> String {
    let receipt_line = Regex::new(r"(?m)^ *(\w+)  (\d+\.\d\d)$").unwrap();
    let mut check = String::new();
    for who in ["Harry", "Sally"] {
        let bought: Vec<&str> = Regex::new(&format!(r"(?m)^{who} buys (\w+)$"))
            .unwrap()
            .captures_iter(text)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        let (_, rest) = text.split_once(&format!("{who} got this receipt:\n")).expect("a receipt");
        let (lines, rest) = rest.split_once("       total:  ").expect("a total");
        let total: f64 = rest.lines().next().and_then(|t| t.parse().ok()).expect("a total");
        let items: Vec<(&str, f64)> =
            receipt_line.captures_iter(lines).map(|c| (c.get(1).unwrap().as_str(), c[2].parse().unwrap())).collect();
        let names: Vec<&str> = items.iter().map(|(name, _)| *name).collect();
        let sum: f64 = items.iter().map(|(_, price)| price).sum();
        check.push_str(&format!(
            "<{who}'s receipt: the items bought {}, the total their sum {}>\n",
            names == bought,
            (sum - total).abs() < 0.005
        ));
    }
    let text = replace(text, r"(?m)^(Harry buys|Sally buys|Shoplifter takes) \w+$", "$1 <item>");
    let text = replace(&text, r"(?m)^ *\w+:?  \d+\.\d\d$", "<item>  <price>");
    let text = replace(&text, r"Receipt Date: .*", "Receipt Date: <date>");
    format!("{check}{text}")
}

#[test]
fn shoppingcart() {
    compare(&Case {
        server: "shopserver.py",
        client: "clients.py",
        mask: shopping,
        ..Case::new("shoppingcart", env!("CARGO_BIN_EXE_shoppingcart"))
    });
}

#[test]
fn banks() {
    compare(&Case { ready: "Banks are ready for customers.", ..Case::new("banks", env!("CARGO_BIN_EXE_banks")) });
}

/// The filetransfer client's output with its rates masked and the lines of each part
/// grouped by thread, each thread's in the order printed: two threads download at once and
/// print as they go (a line's end is printed apart, so one line may run into the other's,
/// and its end come later as an empty line).
fn transfers(text: &str) -> String {
    let text = replace(text, r"done, \d+\.\d\d Mb/sec\.", "done, <rate> Mb/sec.");
    let line = Regex::new(r"thread Thread-\d+ \(\w+\) [^\n]*?(\.\.\.|Mb/sec\.|Mb)").unwrap();
    let thread = |line: &&str| line.split(' ').nth(1).unwrap_or_default().to_string();
    let mut out = String::new();
    let mut lines: Vec<&str> = Vec::new();
    let flush = |lines: &mut Vec<&str>, out: &mut String| {
        lines.sort_by_key(thread);
        out.push_str(&lines.join("\n"));
        lines.clear();
    };
    let mut last = 0;
    for found in line.find_iter(&text) {
        let between = &text[last..found.start()];
        // Only line ends (and the empty lines of displaced ones) between a part's lines.
        if !between.trim().is_empty() || lines.is_empty() {
            flush(&mut lines, &mut out);
            out.push_str(between);
        }
        lines.push(found.as_str());
        last = found.end();
    }
    flush(&mut lines, &mut out);
    // A line end displaced after a part's last line shows as an empty line before the
    // client's next prompt, where it never prints one.
    replace(&(out + &text[last..]), r"\n\n+(enter to )", "\n$1")
}

#[test]
fn transfers_untangles_the_threads_lines() {
    let tangled = "head\n\nthread Thread-1 (f) a...thread Thread-2 (f) b...\n\nthread Thread-1 (f) c...\n\
                   thread Thread-2 (f) done, 1.50 Mb/sec.\nenter:\n\nthread Thread-3 (g) of 40.0 Mb\nend\n";
    let plain = "head\n\nthread Thread-2 (f) b...\nthread Thread-1 (f) a...\nthread Thread-1 (f) c...\n\
                 thread Thread-2 (f) done, 2.25 Mb/sec.\nenter:\n\nthread Thread-3 (g) of 40.0 Mb\nend\n";
    let expected = "head\n\nthread Thread-1 (f) a...\nthread Thread-1 (f) c...\nthread Thread-2 (f) b...\n\
                    thread Thread-2 (f) done, <rate> Mb/sec.\nenter:\n\nthread Thread-3 (g) of 40.0 Mb\nend\n";
    assert_eq!(transfers(tangled), expected);
    assert_eq!(transfers(plain), expected);
    // Two threads' last lines written into each other: their line ends come after both.
    let ends =
        "head\nthread Thread-5 (h) done, 1.00 Mb/sec.thread Thread-6 (h) done, 2.00 Mb/sec.\n\nenter to continue:";
    let expected =
        "head\nthread Thread-5 (h) done, <rate> Mb/sec.\nthread Thread-6 (h) done, <rate> Mb/sec.\nenter to continue:";
    assert_eq!(transfers(ends), expected);
}

#[test]
fn filetransfer() {
    compare(&Case {
        name_server: false,
        ready: "Filetransfer server URI:",
        input: |lines| {
            let uri = lines.iter().find_map(|l| l.strip_prefix("Filetransfer server URI: ")).expect("a URI");
            format!("{uri}\n\n\n\n\n")
        },
        limit: Duration::from_secs(120),
        mask: transfers,
        ..Case::new("filetransfer", env!("CARGO_BIN_EXE_filetransfer"))
    });
}

#[test]
fn hugetransfer() {
    // Durations and rates.
    let mask = |text: &str| {
        let text = replace(text, r"It took \d+\.\d\d seconds", "It took <number> seconds");
        replace(&text, r"That is \d+ kb/sec\. = \d+\.\d mb/sec\.", "That is <number> kb/sec. = <number> mb/sec.")
    };
    compare(&Case {
        name_server: false,
        input: uri_line,
        limit: Duration::from_secs(120),
        mask,
        ..Case::new("hugetransfer", env!("CARGO_BIN_EXE_hugetransfer"))
    });
}

#[test]
fn circular() {
    compare(&Case {
        server: "servA.py",
        bin_args: &["A"],
        more_servers: &[("servB.py", &["B"]), ("servC.py", &["C"])],
        ready: "Server started",
        ..Case::new("circular", env!("CARGO_BIN_EXE_circular"))
    });
}

#[test]
fn nonameserver() {
    // The client is given the first URI, the object's generated id.
    compare(&Case {
        name_server: false,
        ready: "PYRO:example.quotegen",
        input: pyro_line,
        ..Case::new("nonameserver", env!("CARGO_BIN_EXE_nonameserver"))
    });
}

#[test]
fn unixdomainsock() {
    compare(&Case {
        name_server: false,
        ready: "Server running",
        input: |lines| {
            let uri = lines.iter().find_map(|l| l.strip_prefix("Server running, uri= ")).expect("a URI");
            format!("{uri}\n")
        },
        ..Case::new("unixdomainsock", env!("CARGO_BIN_EXE_unixdomainsock"))
    });
}

#[test]
fn benchmark() {
    // A thousand calls of each kind, timed: the times and rates are masked.
    let mask = |text: &str| {
        let text = replace(text, r"times\.\.\. \d+\.\d+", "times... <seconds>");
        let text = replace(&text, r"total time \d+\.\d+", "total time <seconds>");
        replace(&text, r"call: \d+\.\d+ msec \(\d+/sec\)", "call: <msec> msec (<rate>/sec)")
    };
    compare(&Case {
        name_server: false,
        input: uri_line,
        mask,
        ..Case::new("benchmark", env!("CARGO_BIN_EXE_benchmark"))
    });
}

#[test]
fn custom_serialization() {
    // The objects' reprs show their addresses in memory.
    let mask = |text: &str| replace(text, r" @0x[0-9a-f]+,", " @<address>,");
    compare(&Case {
        name_server: false,
        input: uri_line,
        mask,
        server_says: Some("called, arg="),
        ..Case::new("custom-serialization", env!("CARGO_BIN_EXE_custom-serialization"))
    });
}

#[test]
fn diffie_hellman() {
    // The keys are random: each is named by its first appearance, so the client's shared
    // key and the server's (its lines are compared too) must be the same one.
    let mask = |text: &str| {
        let mut seen: Vec<String> = Vec::new();
        let keys = Regex::new(r"\b[0-9a-f]{64}\b").unwrap();
        keys.replace_all(text, |found: &regex::Captures<'_>| {
            let key = found[0].to_string();
            let n = seen.iter().position(|k| *k == key).unwrap_or_else(|| {
                seen.push(key);
                seen.len() - 1
            });
            format!("<key {}>", n + 1)
        })
        .into_owned()
    };
    compare(&Case {
        mask,
        server_says: Some("shared secret key"),
        ..Case::new("diffie-hellman", env!("CARGO_BIN_EXE_diffie-hellman"))
    });
}

#[test]
fn ssl() {
    // Both sides check the other's certificate (Pyro's demo ones) in their handshake.
    compare(&Case {
        name_server: false,
        ready: "server uri:",
        input: |lines| {
            let uri = lines.iter().find_map(|l| l.strip_prefix("server uri: ")).expect("a URI");
            format!("{uri}\n")
        },
        server_says: Some("SSL client cert is ok"),
        // The demo certificates expired on 2026-07-13: Python checks the dates.
        faketime: Some("2025-06-01 12:00:00"),
        ..Case::new("ssl", env!("CARGO_BIN_EXE_ssl"))
    });
}

/// The abstract namespace exists on Linux only.
#[cfg(target_os = "linux")]
#[test]
fn unixdomainsock_abstract_namespace() {
    compare(&Case {
        server: "abstract_namespace_server.py",
        bin_args: &["--abstract"],
        name_server: false,
        ready: "'PYRO:",
        // The part between the quotes, with its NUL byte written `\x00`, as the server
        // asks the user to copy it.
        input: |lines| {
            let quoted = lines.iter().find(|l| l.starts_with("'PYRO:")).expect("the quoted URI");
            format!("{}\n", quoted.trim_matches('\''))
        },
        server_says: Some("Message received"),
        ..Case::new("unixdomainsock", env!("CARGO_BIN_EXE_unixdomainsock"))
    });
}

#[test]
fn autoretry() {
    compare(&Case::new("autoretry", env!("CARGO_BIN_EXE_autoretry")));
}

#[test]
fn disconnects() {
    // Enter is pressed after the server's COMMTIMEOUT (5 s) closed the idle connection:
    // the client's ping finds it closed and the proxy reconnects.
    compare(&Case {
        name_server: false,
        input: uri_line,
        more_input: Some((Duration::from_secs(7), "\n")),
        ..Case::new("disconnects", env!("CARGO_BIN_EXE_disconnects"))
    });
}

/// The URI a thirdpartylib server printed at the end of its line (`... uri:  PYRO:...`).
fn uri_at_end(lines: &[String]) -> String {
    let uri = lines.iter().find_map(|l| l.split_once("uri:  ").map(|(_, uri)| uri)).expect("a URI");
    format!("{uri}\n")
}

#[test]
fn thirdpartylib() {
    compare(&Case {
        name_server: false,
        ready: "registered, uri:",
        input: uri_at_end,
        ..Case::new("thirdpartylib", env!("CARGO_BIN_EXE_thirdpartylib"))
    });
}

#[test]
fn thirdpartylib_adapter() {
    compare(&Case {
        server: "server2.py",
        bin_args: &["--adapter"],
        name_server: false,
        ready: "registered, uri:",
        input: uri_at_end,
        ..Case::new("thirdpartylib", env!("CARGO_BIN_EXE_thirdpartylib"))
    });
}

/// A binary of the `pyro5-tools` crate, built (once) with `cargo build` in the profile this
/// test was built in: a crate's tests see only their own crate's binaries.
fn tool(name: &str) -> &'static str {
    static BUILT: Mutex<Vec<(String, &'static str)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, path)) = built.iter().find(|(n, _)| n == name) {
        return path;
    }
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(workspace_root()).args(["build", "--locked", "-p", "pyro5-tools", "--bin", name]);
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        command.arg("--release");
    }
    let status = command.status().unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(status.success(), "cargo build -p pyro5-tools --bin {name} failed ({status})");
    let path: &'static str = Box::leak(profile_dir.join(name).to_string_lossy().into_owned().into_boxed_str());
    built.push((name.to_string(), path));
    path
}

#[test]
fn echoserver() {
    // The example has only a client: for Pyro's test echo server, Python's
    // `python -m Pyro5.utils.echoserver` or our `pyro5-echoserver`. The client ends by
    // shutting the server down.
    compare(&Case {
        server: "Pyro5.utils.echoserver",
        name_server: false,
        ready: "echoserver running.",
        input: echo_uri,
        ..Case::new("echoserver", tool("pyro5-echoserver"))
    });
}

/// The URI the test echo server printed, as a line for a client that asks for it.
fn echo_uri(lines: &[String]) -> String {
    let uri = lines.iter().find_map(|l| l.strip_prefix("echo uri: ")).expect("a URI");
    format!("{uri}\n")
}

#[test]
fn maxsize() {
    // A client only, for the test echo server: a big call goes through without a limit, and
    // is refused by the client's own `MAX_MESSAGE_SIZE` with one.
    compare(&Case {
        server: "Pyro5.utils.echoserver",
        name_server: false,
        ready: "echoserver running.",
        input: echo_uri,
        ..Case::new("maxsize", tool("pyro5-echoserver"))
    });
}

#[test]
fn threadproxysharing() {
    // A client only, of the name server: a proxy owned by one thread, refused in another,
    // then a new proxy per thread, then ownership handed over. Thread ids are masked.
    let mask = |text: &str| replace(text, r"started \d+\)>", "started <id>)>");
    compare(&Case {
        server: "Pyro5.nameserver",
        name_server: false,
        ready: "NS running",
        mask,
        ..Case::new("threadproxysharing", tool("pyro5-ns"))
    });
}

#[test]
fn ns_metadata() {
    // A client only, of the name server (Python's `python -m Pyro5.nameserver` or our
    // `pyro5-ns`, on the port `PYRO_NS_PORT` names): objects registered with metadata,
    // listed with it, and found by `yplookup` and `PYROMETA:` URIs.
    // A proxy's repr shows its address in memory and its owner thread's id.
    let mask = |text: &str| replace(text, r"at 0x[0-9a-f]+; (.*); owner \d+>", "at <address>; $1; owner <thread>>");
    compare(&Case {
        server: "Pyro5.nameserver",
        client: "example.py",
        name_server: false,
        ready: "NS running",
        mask,
        ..Case::new("ns-metadata", tool("pyro5-ns"))
    });
}
