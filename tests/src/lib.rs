//! Helpers for the interop tests: the pinned Python Pyro5 and the recorded data in `testdata/`.
//!
//! The tests in `tests/tests/` compare pyro5-rs with the real Python library, both ways.
//! [`python`] provisions the pinned interpreter (`scripts/python-env`: a venv under
//! `target/` with Pyro5 5.17, serpent 1.43 and msgpack) on first use, so `cargo test` needs
//! nothing done by hand. A missing Python is a test failure, never a silent skip.
//!
//! ```no_run
//! let out = pyro5_interop_tests::run_python("wire_helper.py", &serde_json::json!({"cases": []}));
//! assert!(out.is_object());
//! ```

pub mod bench;
pub mod blob;
pub mod daemon_harness;
pub mod device;
pub mod disconnect;
pub mod echo_daemon;
pub mod netns;
pub mod tagged;
pub mod tls;
pub mod values;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace root")
}

/// `testdata/` in the workspace root: the frames, payloads and conversations recorded from Pyro5.
pub fn vectors_dir() -> PathBuf {
    workspace_root().join("testdata")
}

/// Run `tests/python/<script>` with the pinned Python and `args`, printing what it printed.
///
/// # Panics
/// When the script fails: its output and errors are in the message.
pub fn run_script(script: &str, args: &[&str]) {
    let path = workspace_root().join("tests/python").join(script);
    let out = Command::new(python()).arg(&path).args(args).output().expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} {args:?} failed:\n{stdout}\n{stderr}");
    print!("{stdout}");
}

/// A Python daemon of `tests/python/` that prints its URI as its first line and serves
/// until its stdin closes: stopped so, and waited for, when dropped.
pub struct PythonPeer {
    child: std::process::Child,
    /// The URI it printed.
    pub uri: String,
}

impl PythonPeer {
    /// Run `tests/python/<script>` with `args` and read its URI, which must start with
    /// `uri_prefix`.
    ///
    /// # Panics
    /// When it does not start or prints something else first.
    pub fn start(script: &str, args: &[&str], uri_prefix: &str) -> Self {
        use std::io::BufRead;
        let path = workspace_root().join("tests/python").join(script);
        let mut child = Command::new(python())
            .arg(path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {script}: {e}"));
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped");
        std::io::BufReader::new(stdout).read_line(&mut line).expect("its URI");
        assert!(line.starts_with(uri_prefix), "{script} printed {line:?}");
        Self { child, uri: line.trim().to_string() }
    }
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Path of the pinned Python interpreter, provisioning it on first use (or `PYRO5_PYTHON`).
///
/// # Panics
/// When the environment cannot be made: the interop tests cannot run without it.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Some(p) = std::env::var_os("PYRO5_PYTHON") {
            return PathBuf::from(p);
        }
        let script = workspace_root().join("scripts/python-env");
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed: the interop tests need python3 with venv and pip (Pyro5 5.17 from PyPI)",
            script.display()
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// Run `tests/python/<script>` with `input` as JSON on stdin; return its JSON stdout.
///
/// # Panics
/// When the script fails or prints something that is not JSON.
pub fn run_python(script: &str, input: &serde_json::Value) -> serde_json::Value {
    let path = workspace_root().join("tests/python").join(script);
    let mut command = Command::new(python());
    command.arg(&path);
    run_json(command, &path.display().to_string(), input)
}

/// Run `command` (a Python helper) with `input` as JSON on stdin; its JSON stdout.
///
/// # Panics
/// When it cannot start, fails, or prints something that is not JSON; `what` names it.
pub fn run_json(mut command: Command, what: &str, input: &serde_json::Value) -> serde_json::Value {
    let mut child = command
        .env("PYTHONHASHSEED", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.to_string().as_bytes())
        .expect("write to the Python helper");
    let out = child.wait_with_output().expect("wait for the Python helper");
    assert!(out.status.success(), "{what} failed ({})", out.status);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what} printed no JSON: {e}"))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from lowercase or uppercase hex.
///
/// # Panics
/// On text that is not hex: test data is wrong.
pub fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex length");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits")).collect()
}

/// Pyro5's `examples/` folder from its pinned source distribution: `PYRO5_EXAMPLES`, or
/// fetched (once) by `scripts/pyro5-examples` with pip, checksum pinned. `None`, with the
/// reason printed, when pip cannot download it (no network).
pub fn pyro5_examples_dir() -> Option<&'static std::path::Path> {
    use std::process::{Command, Stdio};
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("PYRO5_EXAMPLES") {
            return Some(PathBuf::from(dir));
        }
        // The script provisions the venv it downloads with; share the tests' interpreter.
        let script = workspace_root().join("scripts/pyro5-examples");
        let out = Command::new("bash")
            .arg(&script)
            .env("PYRO5_PYTHON", python())
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        // Exit status 3: the download failed (no network); anything else is an error.
        if out.status.code() == Some(3) {
            println!("SKIPPED: pip could not download Pyro5's source distribution (no network?)");
            return None;
        }
        assert!(out.status.success(), "{} failed ({})", script.display(), out.status);
        Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
    .as_deref()
}
