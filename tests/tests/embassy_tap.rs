//! The real Python Pyro5 client against a Pyro object served by pyro5-embassy over
//! embassy-net on a TAP device (the `tap_device` example of pyro5-embassy), in a network
//! namespace the test makes (root, as in CI; skipped with a printed reason elsewhere):
//! calls in all four serializers, errors, oneway, the item stream, metadata, a payload
//! larger than one TCP segment, two concurrent clients and reconnects.

use std::path::PathBuf;
use std::time::Duration;

use pyro5_interop_tests::device::{ALL_SERIALIZERS, check_device};
use pyro5_interop_tests::netns::tap_namespace;

/// The example program, as `cargo build -p pyro5-embassy --example tap_device` makes it
/// (the test command does, before the tests; `cargo test` alone builds examples as test
/// harnesses only).
fn tap_device() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps/<test>");
    let program = profile.join("examples/tap_device");
    assert!(
        program.exists(),
        "{} is missing: build it with `cargo build -p pyro5-embassy --example tap_device` (scripts/test does)",
        program.display()
    );
    program
}

#[test]
fn python_client_calls_an_embassy_net_device_on_a_tap() {
    let program = tap_device();
    let Some(mut ns) = tap_namespace("pyro5rs-tap", "tap0", "10.42.0.1/24") else { return };
    let mut device = ns.command(&program);
    device.args(["tap0", "10.42.0.2/24", "9999"]);
    let ready = ns.start_until_ready(device, Duration::from_secs(20)).expect("the device program starts");
    assert_eq!(ready, "ready PYRO:device@10.42.0.2:9999");

    let report = check_device(&ns, "10.42.0.2", "tap-device", ALL_SERIALIZERS);
    println!("round trip {:.0} µs per call (debug build)", report["rtt_us"].as_f64().unwrap_or_default());
}
