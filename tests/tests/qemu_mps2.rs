//! The whole firmware on an emulated Cortex-M4F: `firmware/`'s `qemu` binary (pyro5-embassy,
//! the LAN9118 driver, the SysTick time driver, no allocator) booted by
//! `qemu-system-arm -M mps2-an386` on a TAP device in a network namespace the test makes,
//! and called by the real Python Pyro5 client in that namespace, in the two serializers the
//! firmware is built with (the other two are rejected with a CONNECTFAIL naming them). Needs
//! root (as in CI) and `qemu-system-arm` (the README's test command installs it); skipped
//! with a printed reason otherwise. QEMU and the namespace go on every exit path.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use pyro5_interop_tests::device::check_device;
use pyro5_interop_tests::netns::tap_namespace;
use pyro5_interop_tests::workspace_root;

const TARGET: &str = "thumbv7em-none-eabihf";

/// The firmware image, built (incrementally) in `firmware/`'s own target directory.
fn firmware() -> PathBuf {
    let dir = workspace_root().join("firmware");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--locked", "--bin", "qemu", "--target", TARGET])
        .current_dir(&dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .status()
        .expect("run cargo for the firmware");
    assert!(status.success(), "the firmware does not build (rustup target add {TARGET}?)");
    dir.join("target").join(TARGET).join("release/qemu")
}

fn have_qemu() -> bool {
    Command::new("qemu-system-arm").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn python_client_calls_the_firmware_on_an_emulated_cortex_m4() {
    if !have_qemu() {
        println!("skipped: qemu-system-arm is not installed and could not be (apt-get install qemu-system-arm)");
        return;
    }
    let Some(mut ns) = tap_namespace("pyro5rs-qemu", "tap0", "10.0.2.2/24") else { return };
    let image = firmware();
    let mut qemu = ns.command("qemu-system-arm");
    qemu.args(["-M", "mps2-an386", "-kernel"]).arg(&image).args([
        "-semihosting",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "none",
        "-nic",
        "tap,ifname=tap0,script=no,downscript=no,model=lan9118",
    ]);
    let ready = ns.start_until_ready(qemu, Duration::from_secs(60)).expect("the firmware boots in QEMU");
    assert_eq!(ready, "ready PYRO:device@10.0.2.15:9999");

    // The firmware is built with json and serpent only (firmware/Cargo.toml).
    let report = check_device(&ns, "10.0.2.15", "qemu-device", &["json", "serpent"]);
    println!(
        "emulated Cortex-M4: round trip {:.0} µs per call from Python; whole check {:.1} s",
        report["rtt_us"].as_f64().unwrap_or_default(),
        report["seconds"].as_f64().unwrap_or_default()
    );
}
