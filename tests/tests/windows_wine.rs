//! Our echo server built for Windows (`x86_64-pc-windows-gnu`) run under Wine and called by
//! the real Python Pyro5 client on Linux: every echo method in every serializer on both
//! server types (the multiplex one polls sockets through mio's Windows backend) and on
//! `--servertype tokio`, concurrent clients, `shutdown()`, and the error for a Unix domain
//! socket.
//!
//! Optional: skipped with a printed reason when Wine, the mingw C compiler or the Windows
//! build is missing. The test command installs the first two (as root) and builds
//! `cargo build -p pyro5-tools --target x86_64-pc-windows-gnu --bins` before the tests.
//!
//! Wine 8 (Debian 12) lacks `bcryptprimitives.dll`, whose `ProcessPrng` Rust's standard
//! library imports on Windows; the test compiles a stand-in over `RtlGenRandom` with mingw
//! and puts it beside a copy of the program.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use pyro5_interop_tests::run_script;

const TARGET: &str = "x86_64-pc-windows-gnu";
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

/// `ProcessPrng` for Wine versions without it (Wine 9 has its own).
const PROCESS_PRNG_C: &str = r#"#include <windows.h>
#include <ntsecapi.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
"#;

/// The Wine loader: `wine64` or `wine` on the path, or Debian's `/usr/lib/wine/wine64`.
fn wine() -> Option<PathBuf> {
    let works = |program: &Path| Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success());
    ["wine64", "wine", "/usr/lib/wine/wine64"].into_iter().map(PathBuf::from).find(|p| works(p))
}

/// The Windows build's target directory beside this test's (`target/<triple>/debug`).
fn windows_build_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let target = exe.ancestors().nth(3).expect("target/<profile>/deps/<test>");
    target.join(TARGET).join("debug")
}

/// A directory with a copy of the echo server and the `ProcessPrng` stand-in, or why not.
fn prepare(work: &Path) -> Result<PathBuf, String> {
    let program = windows_build_dir().join("pyro5-echoserver.exe");
    if !program.exists() {
        return Err(format!(
            "{} is missing: build it with `cargo build -p pyro5-tools --target {TARGET} --bins` (scripts/test does)",
            program.display()
        ));
    }
    std::fs::create_dir_all(work).map_err(|e| format!("cannot make {}: {e}", work.display()))?;
    let source = work.join("bcryptprimitives.c");
    std::fs::write(&source, PROCESS_PRNG_C).map_err(|e| format!("cannot write {}: {e}", source.display()))?;
    let compiled = Command::new(MINGW_GCC)
        .args(["-shared", "-O2", "-o"])
        .arg(work.join("bcryptprimitives.dll"))
        .arg(&source)
        .arg("-ladvapi32")
        .output()
        .map_err(|e| format!("{MINGW_GCC} is not installed ({e}): apt-get install gcc-mingw-w64-x86-64"))?;
    if !compiled.status.success() {
        return Err(format!("{MINGW_GCC} failed: {}", String::from_utf8_lossy(&compiled.stderr)));
    }
    let copy = work.join("pyro5-echoserver.exe");
    std::fs::copy(&program, &copy).map_err(|e| format!("cannot copy {}: {e}", program.display()))?;
    Ok(copy)
}

/// A program running under Wine, killed when dropped.
struct WineProcess(Child);

impl Drop for WineProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wine_command(wine: &Path, prefix: &Path, program: &Path) -> Command {
    let mut command = Command::new(wine);
    command.arg(program).env("WINEPREFIX", prefix).env("WINEDEBUG", "-all");
    command
}

/// Start the echo server under Wine; its process and URI once it says it runs.
fn start_echo_server(wine: &Path, prefix: &Path, program: &Path, server_type: &str) -> (WineProcess, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let mut command = wine_command(wine, prefix, program);
    command.args(["-H", "127.0.0.1", "-p", &port.to_string(), "--servertype", server_type]);
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start wine");
    let stdout = child.stdout.take().expect("piped stdout");
    let process = WineProcess(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(uri) = line.strip_prefix("echo uri: ") {
                let _ = tx.send(uri.to_string());
            }
        }
    });
    // The first run makes the Wine prefix, which takes a while.
    let uri = rx.recv_timeout(Duration::from_secs(120)).expect("the echo server prints its URI under Wine");
    assert_eq!(uri, format!("PYRO:test.echoserver@127.0.0.1:{port}"));
    (process, uri)
}

#[test]
fn python_client_calls_the_windows_echo_server_under_wine() {
    let Some(wine) = wine() else {
        println!("skipped: Wine is not installed (apt-get install wine64)");
        return;
    };
    let work = windows_build_dir().join("wine-echo");
    let program = match prepare(&work) {
        Ok(program) => program,
        Err(reason) => {
            println!("skipped: {reason}");
            return;
        }
    };
    let prefix = work.join("prefix");

    for server_type in ["multiplex", "thread", "tokio"] {
        let (mut server, uri) = start_echo_server(&wine, &prefix, &program, server_type);
        println!("{server_type} server under Wine: {uri}");
        run_script("echo_suite.py", &[&uri]);
        run_script("concurrent_clients.py", &[&uri, "--clients", "8", "--calls", "50"]);
        run_script("echo_suite.py", &[&uri, "--serializers", "json", "--shutdown"]);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while server.0.try_wait().expect("wait for the server").is_none() {
            assert!(std::time::Instant::now() < deadline, "{server_type}: still running after shutdown()");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    // Unix domain sockets: a clear error and a failed exit, not a panic.
    let out = wine_command(&wine, &prefix, &program)
        .args(["-u", "pyro5-echo.sock"])
        .output()
        .expect("run the echo server under Wine");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot bind pyro5-echo.sock: Unix domain sockets are not available on this platform"),
        "{stderr}"
    );
}
