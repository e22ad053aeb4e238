//! pyro5-embassy over embassy-net on a TAP device, in a network namespace the test makes
//! (root, as in CI; skipped with a printed reason elsewhere), against the real Python Pyro5
//! both ways:
//! - the Python client calls a Pyro object served by pyro5-embassy (the `tap_device`
//!   example): calls in all four serializers, errors, oneway, the item stream, metadata, a
//!   payload larger than one TCP segment, two concurrent clients and reconnects;
//! - pyro5-embassy's `Proxy` (the `tap_client` example) calls Python's echo server: echo
//!   with positional and keyword arguments, Python's exceptions, oneway calls, ping, a
//!   property, an item stream read to its end (at several prefetches) and one closed early,
//!   the metadata's rules (names not exposed refused, oneway methods not waited for) and a
//!   call timing out on a connection that stays usable, in all four serializers.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use pyro5_interop_tests::device::{ALL_SERIALIZERS, check_device};
use pyro5_interop_tests::echo_daemon::PythonEchoServer;
use pyro5_interop_tests::netns::tap_namespace;

/// The example program `name`, as `cargo build -p pyro5-embassy --example <name>` makes it
/// (the test command does, before the tests; `cargo test` alone builds examples as test
/// harnesses only).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps/<test>");
    let program = profile.join("examples").join(name);
    assert!(
        program.exists(),
        "{} is missing: build it with `cargo build -p pyro5-embassy --example {name}` (scripts/test does)",
        program.display()
    );
    program
}

#[test]
fn python_client_calls_an_embassy_net_device_on_a_tap() {
    let program = example("tap_device");
    let Some(mut ns) = tap_namespace("pyro5rs-tap", "tap0", "10.42.0.1/24") else { return };
    let mut device = ns.command(&program);
    device.args(["tap0", "10.42.0.2/24", "9999"]);
    let ready = ns.start_until_ready(device, Duration::from_secs(20)).expect("the device program starts");
    assert_eq!(ready, "ready PYRO:device@10.42.0.2:9999");

    let report = check_device(&ns, "10.42.0.2", "tap-device", ALL_SERIALIZERS);
    println!("round trip {:.0} µs per call (debug build)", report["rtt_us"].as_f64().unwrap_or_default());
}

/// What `tap_client` checks in each serializer, one `ok` line each.
const CLIENT_CHECKS: &[&str] = &[
    "connect",
    "echo-str",
    "echo-int",
    "echo-list",
    "echo-large",
    "echo-kwargs",
    "error",
    "error-with-text",
    "oneway",
    "ping",
    "attribute",
    "stream",
    "stream-closed-early",
    "metadata",
    "timeout",
    "connection",
];

#[test]
fn embassy_proxy_on_a_tap_calls_pythons_echo_server() {
    let program = example("tap_client");
    let Some(ns) = tap_namespace("pyro5rs-tapc", "tap0", "10.42.0.1/24") else { return };
    // On the namespace's side of the TAP device, where the embassy-net stack reaches it.
    let echo = PythonEchoServer::in_namespace(&ns, "10.42.0.1");
    assert!(echo.uri.starts_with("PYRO:test.echoserver@10.42.0.1:"), "{}", echo.uri);

    let mut client = ns.command("timeout");
    client.arg("120").arg(&program).args(["tap0", "10.42.0.2/24", &echo.uri]).args(ALL_SERIALIZERS);
    let start = Instant::now();
    let out = client.stdin(Stdio::null()).stderr(Stdio::inherit()).output().expect("tap_client starts");
    let took = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines() {
        println!("[tap_client] {line}");
    }
    let failed: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("ok ") && !l.starts_with("ready ")).collect();
    let expected = ALL_SERIALIZERS.len() * CLIENT_CHECKS.len();
    assert_eq!(failed, [format!("checks: {expected} passed, 0 failed")], "tap_client: {:?}", out.status);
    assert!(out.status.success(), "tap_client exited with {:?}", out.status);
    for serializer in ALL_SERIALIZERS {
        for check in CLIENT_CHECKS {
            let prefix = format!("ok {serializer} {check}: ");
            assert!(stdout.lines().any(|l| l.starts_with(&prefix)), "no `{prefix}` line");
        }
    }
    println!("{expected} checks in {} ms (debug build)", took.as_millis());
}
