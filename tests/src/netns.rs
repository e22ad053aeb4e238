//! Network namespaces for tests that need a network of their own (root only, as in CI):
//! a namespace with TAP devices or veth pairs, programs run inside it, and everything
//! removed on every exit path (drop kills the programs, then deletes the namespace).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Whether this process runs as root (namespaces and TAP devices need it).
pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Run `ip` with `args`.
///
/// # Errors
/// Its stderr, when it fails.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {args:?}: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// A network namespace and the programs started in it.
#[derive(Debug)]
pub struct Namespace {
    name: String,
    children: Vec<Child>,
}

impl Namespace {
    /// A new namespace `<prefix>-<pid>` with loopback up.
    ///
    /// # Errors
    /// When `ip netns add` fails (not root, no namespace support).
    pub fn create(prefix: &str) -> Result<Self, String> {
        let name = format!("{prefix}-{}", std::process::id());
        // A namespace left by a killed earlier run of the same pid is replaced.
        let _ = ip(&["netns", "del", &name]);
        ip(&["netns", "add", &name])?;
        let ns = Self { name, children: Vec::new() };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Run `ip` inside it.
    ///
    /// # Errors
    /// Its stderr, when it fails.
    pub fn ip(&self, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// A TAP device `tap` in it with the host side at `cidr` (e.g. `10.42.0.1/24`), up.
    ///
    /// # Errors
    /// When the kernel has no TUN/TAP support.
    pub fn add_tap(&self, tap: &str, cidr: &str) -> Result<(), String> {
        self.ip(&["tuntap", "add", "dev", tap, "mode", "tap"])?;
        self.ip(&["addr", "add", cidr, "dev", tap])?;
        self.ip(&["link", "set", tap, "up"])
    }

    /// A veth pair `a`–`b` in it, with `a_cidr` and `b_cidr` (and their broadcast
    /// addresses), both up.
    ///
    /// # Errors
    /// When the kernel has no veth support.
    pub fn add_veth(&self, (a, a_cidr): (&str, &str), (b, b_cidr): (&str, &str)) -> Result<(), String> {
        self.ip(&["link", "add", a, "type", "veth", "peer", "name", b])?;
        for (link, cidr) in [(a, a_cidr), (b, b_cidr)] {
            self.ip(&["addr", "add", cidr, "broadcast", "+", "dev", link])?;
            self.ip(&["link", "set", link, "up"])?;
        }
        Ok(())
    }

    /// Start `command` (from [`command`](Self::command)) with its output discarded; it is
    /// killed when the namespace goes.
    ///
    /// # Errors
    /// When it cannot start.
    pub fn spawn(&mut self, mut command: Command) -> std::io::Result<()> {
        let child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        self.children.push(child);
        Ok(())
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: impl AsRef<Path>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program.as_ref());
        c
    }

    /// Start `command` (from [`command`](Self::command)), kill it when the namespace goes,
    /// and wait up to `timeout` for a line of its stdout that starts with `ready`; later
    /// output is drained (a closed pipe would stop it).
    ///
    /// # Errors
    /// When it cannot start, exits, or says nothing ready in time; with what it printed.
    pub fn start_until_ready(&mut self, mut command: Command, timeout: Duration) -> Result<String, String> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {command:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        self.children.push(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                println!("[device] {line}");
                let _ = tx.send(line);
            }
        });
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.starts_with("ready") => return Ok(line),
                Ok(line) => seen.push(line),
                Err(_) => {
                    return Err(format!("{command:?} said nothing ready within {timeout:?}; it printed {seen:?}"));
                }
            }
        }
    }

    /// Run the Python script `tests/python/<script>` inside the namespace with `input` as
    /// JSON on stdin, killed after `timeout`; its JSON output.
    ///
    /// # Panics
    /// When it fails, times out or prints no JSON.
    pub fn run_python(&self, script: &str, input: &serde_json::Value, timeout: Duration) -> serde_json::Value {
        let path = crate::workspace_root().join("tests/python").join(script);
        let mut command = self.command("timeout");
        command.arg(format!("{}", timeout.as_secs().max(1))).arg(crate::python()).arg(&path);
        crate::run_json(command, &format!("{} in namespace {}", path.display(), self.name), input)
    }
}

/// A namespace with TAP device `tap` at `cidr` for a test, or `None` after printing why the
/// test skips (not root, no namespaces or TAP devices here).
pub fn tap_namespace(prefix: &str, tap: &str, cidr: &str) -> Option<Namespace> {
    if !is_root() {
        println!("skipped: a network namespace and a TAP device need root (CI runs as root)");
        return None;
    }
    let ns = match Namespace::create(prefix) {
        Ok(ns) => ns,
        Err(e) => {
            println!("skipped: no network namespaces here: {e}");
            return None;
        }
    };
    if let Err(e) = ns.add_tap(tap, cidr) {
        println!("skipped: no TAP devices here: {e}");
        return None;
    }
    Some(ns)
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
