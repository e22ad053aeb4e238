//! `pyro5-check-config`: what `python -m Pyro5.configure` prints, for the same environment:
//! the version lines, the protocol version, and every configuration item with its value
//! (the defaults overridden by `PYRO_*` variables) in the same order and format.
//!
//! ```text
//! $ PYRO_NS_PORT=9999 pyro5-check-config
//! Pyro version: pyro5-rs 0.1.0 (Pyro5 5.17)
//! Loaded from: /usr/local/bin
//! Rust implementation: pyro5-rs 0.1.0 (linux, unix)
//! Protocol version: 502
//! Currently active global configuration settings:
//! BROADCAST_ADDRS = ['<broadcast>', '0.0.0.0']
//! ...
//! NS_PORT = 9999
//! ...
//! ```
//!
//! The first three lines name this implementation where Python's name Python. A bad
//! `PYRO_*` variable prints Python's `ValueError` text and exits 1. As Python's, it sets up
//! logging when `PYRO_LOGLEVEL` is set.

use std::process::ExitCode;

use clap::Parser;

/// Print the Pyro configuration this environment gives (as python -m Pyro5.configure).
#[derive(Parser, Debug)]
#[command(name = "pyro5-check-config", version)]
struct Args {}

fn main() -> ExitCode {
    let _args = Args::parse();
    let config = match pyro5_std::config::tool_setup("pyro5-check-config") {
        Ok(config) => config,
        Err(code) => return code,
    };
    let version = env!("CARGO_PKG_VERSION");
    let location = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.display().to_string()))
        .unwrap_or_default();
    println!("Pyro version: pyro5-rs {version} (Pyro5 {})", pyro5_std::config::PYRO_VERSION);
    println!("Loaded from: {location}");
    println!("Rust implementation: pyro5-rs {version} ({}, {})", std::env::consts::OS, std::env::consts::FAMILY);
    println!("Protocol version: {}", pyro5_std::core::wire::PROTOCOL_VERSION);
    println!("Currently active global configuration settings:");
    print!("{}", config.dump_items());
    ExitCode::SUCCESS
}
