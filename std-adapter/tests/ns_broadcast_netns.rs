//! Broadcast discovery in a network namespace of its own (needs root, as in CI; skipped with
//! a printed reason elsewhere): `pyro5-ns` on a veth address answers `GET_NSURI`, and both
//! Python's `locate_ns()` and our `pyro5-nsc` find it by broadcast alone (nothing listens
//! where they look first, on localhost).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pyro5_interop_tests::python;

/// The namespace and what runs in it; removed on every exit path.
struct Namespace {
    name: String,
    children: Vec<Child>,
}

impl Namespace {
    fn create() -> Result<Self, String> {
        let name = format!("pyro5rs-bc-{}", std::process::id());
        ip(&["netns", "add", &name])?;
        let ns = Self { name, children: Vec::new() };
        let n = ns.name.as_str();
        ip(&["-n", n, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1"])?;
        ip(&["-n", n, "addr", "add", "10.77.0.1/24", "broadcast", "10.77.0.255", "dev", "veth0"])?;
        ip(&["-n", n, "addr", "add", "10.77.0.2/24", "broadcast", "10.77.0.255", "dev", "veth1"])?;
        for link in ["veth0", "veth1", "lo"] {
            ip(&["-n", n, "link", "set", link, "up"])?;
        }
        // Python sends to 255.255.255.255 too, which needs a route.
        ip(&["-n", n, "route", "add", "default", "dev", "veth0"])?;
        Ok(ns)
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = ip(&["netns", "del", &self.name]);
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {args:?}: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn python_and_rust_find_pyro5_ns_by_broadcast_in_a_namespace() {
    if !is_root() {
        println!("skipped: creating a network namespace needs root (CI runs as root)");
        return;
    }
    let mut ns = match Namespace::create() {
        Ok(ns) => ns,
        Err(e) => {
            println!("skipped: no network namespace with a veth pair here: {e}");
            return;
        }
    };
    let server = ns
        .command(env!("CARGO_BIN_EXE_pyro5-ns"))
        .args(["-n", "10.77.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pyro5-ns in the namespace");
    ns.children.push(server);
    // Python's locate_ns(): localhost first (nothing there), then broadcast.
    let script = "import Pyro5.api\nns = Pyro5.api.locate_ns()\nprint(ns._pyroUri)\nprint(ns.count())";
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let out = ns.command(&python().to_string_lossy()).args(["-c", script]).output().expect("python");
        if out.status.success() || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(out.status.success(), "python locate_ns: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "PYRO:Pyro.NameServer@10.77.0.1:9090\n1\n");
    // Our client side: pyro5-nsc with no host does the same search.
    let out = ns.command(env!("CARGO_BIN_EXE_pyro5-nsc")).arg("ping").output().expect("pyro5-nsc");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Name server ping ok.\n", "{out:?}");
}
