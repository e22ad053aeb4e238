//! The `server` and `client` examples as a user runs them: the server (`serve(...)`) prints
//! what Python's `Pyro5.server.serve` prints, the real Python client and the client
//! example call it, without a name server and through Python's name server (`--ns`).
//!
//! The examples run as `cargo build -p pyro5-std --examples` makes them (the test command
//! does, before the tests; `cargo test` alone builds examples as test harnesses only).

use std::io::{BufRead, BufReader, Lines};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use pyro5_interop_tests::python;

/// `target/<profile>/examples/<name>`, beside this test's `deps/` directory.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps/<test>");
    let program = profile.join("examples").join(name);
    assert!(
        program.exists(),
        "{} is missing: build it with `cargo build -p pyro5-std --examples` (scripts/test does)",
        program.display()
    );
    program
}

/// A child process, killed when the test ends however it ends.
struct Running {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Running {
    fn start(mut command: Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("start");
        let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        Self { child, lines }
    }

    /// Its output up to and including the first line `last` accepts.
    fn read_until(&mut self, last: impl Fn(&str) -> bool) -> Vec<String> {
        let mut out = Vec::new();
        for line in &mut self.lines {
            let line = line.expect("read");
            let done = last(&line);
            out.push(line);
            if done {
                return out;
            }
        }
        panic!("the output ended before the expected line: {out:?}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The output with what varies from run to run replaced: the object's address, a
/// generated object id, ports.
fn normalized(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|line| {
            let line = match (line.find(" object at 0x"), line.rfind('>')) {
                (Some(at), Some(end)) if at < end => format!("{} object at ADDRESS{}", &line[..at], &line[end..]),
                _ => line.clone(),
            };
            let line = match line.find("PYRO:obj_") {
                Some(at) => {
                    let hex = line[at + 9..].find('@').map_or(0, |n| n);
                    format!("{}PYRO:obj_ID{}", &line[..at], &line[at + 9 + hex..])
                }
                None => line,
            };
            match line.rfind(':') {
                Some(colon) if line.contains("uri = ") && line[colon + 1..].bytes().all(|b| b.is_ascii_digit()) => {
                    format!("{}:PORT", &line[..colon])
                }
                _ => line,
            }
        })
        .collect()
}

fn python_call(uri: &str, env: &[(&str, String)]) -> String {
    let script = format!("import Pyro5.api\nprint(Pyro5.api.Proxy({uri:?}).greet('Python'))");
    let out = Command::new(python()).args(["-c", &script]).envs(env.iter().cloned()).output().expect("python");
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn client_example(uri: &str, env: &[(&str, String)]) -> String {
    let out = Command::new(example("client")).arg(uri).envs(env.iter().cloned()).output().expect("client example");
    assert!(out.status.success(), "client example: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn server_example_serves_python_and_the_client_example() {
    let mut command = Command::new(example("server"));
    command.arg("0");
    let mut server = Running::start(command);
    let lines = server.read_until(|l| l == "Pyro daemon running.");
    assert_eq!(
        normalized(&lines),
        [
            "Object <server::Greeter object at ADDRESS>:",
            "    uri = PYRO:example.greeter@localhost:PORT",
            "Pyro daemon running."
        ],
        "{lines:?}"
    );
    let uri = lines[1].trim_start().strip_prefix("uri = ").expect("the uri line");
    assert_eq!(python_call(uri, &[]), "Hello, Python!\n");
    assert_eq!(client_example(uri, &[]), "Hello, Rust!\n");
}

/// Python's name server on 127.0.0.1 at a free port, and the environment that finds it.
fn python_name_server() -> (Running, Vec<(&'static str, String)>) {
    let mut command = Command::new(python());
    command.args(["-u", "-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", "0", "-x"]);
    let mut ns = Running::start(command);
    let lines = ns.read_until(|l| l.starts_with("URI = "));
    let port = lines.last().and_then(|l| l.rsplit(':').next()).expect("the URI line").to_string();
    (ns, vec![("PYRO_NS_HOST", "127.0.0.1".to_string()), ("PYRO_NS_PORT", port)])
}

#[test]
fn server_example_with_ns_prints_as_python_serve_and_registers_the_name() {
    let (_ns, env) = python_name_server();
    let mut command = Command::new(example("server"));
    command.args(["0", "--ns"]).envs(env.iter().cloned());
    let mut server = Running::start(command);
    let ours = server.read_until(|l| l == "Pyro daemon running.");

    // Python's serve() with the same object and name, in the same name server.
    let script = "import Pyro5.server\n\
                  class Greeter:\n    @Pyro5.server.expose\n    def greet(self, name):\n        return 'Hello, ' + name + '!'\n\
                  Pyro5.server.serve({Greeter(): 'python.greeter'}, use_ns=True)\n";
    let mut command = Command::new(python());
    command.args(["-u", "-c", script]).envs(env.iter().cloned());
    let mut theirs = Running::start(command);
    let theirs = theirs.read_until(|l| l == "Pyro daemon running.");
    let theirs: Vec<String> = theirs
        .iter()
        .map(|l| l.replace("__main__.Greeter", "server::Greeter").replace("python.", "example."))
        .collect();
    assert_eq!(normalized(&ours), normalized(&theirs), "ours {ours:?}, Python's {theirs:?}");
    assert_eq!(
        normalized(&ours),
        [
            "Object <server::Greeter object at ADDRESS>:",
            "    uri = PYRO:obj_ID@localhost:PORT",
            "    name = example.greeter",
            "Pyro daemon running."
        ]
    );

    assert_eq!(python_call("PYRONAME:example.greeter", &env), "Hello, Python!\n");
    assert_eq!(client_example("PYRONAME:example.greeter", &env), "Hello, Rust!\n");
    // The name server has the URI the server printed.
    let printed = ours[1].trim_start().strip_prefix("uri = ").expect("the uri line");
    let script = "import Pyro5.api\nprint(Pyro5.api.locate_ns().lookup('example.greeter'))";
    let out = Command::new(python()).args(["-c", script]).envs(env.iter().cloned()).output().expect("python");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), printed);
}
