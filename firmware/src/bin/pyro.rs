//! The demo device object (`embassy-adapter/examples/common/device.rs`) served to Python
//! with Pyro5 on port 9999, [`CONNECTIONS`] at once, each with [`SOCKET_BUFFER`]-byte socket
//! buffers and [`MESSAGE`]-byte request and reply buffers, on the stub NIC: what
//! `scripts/footprint` measures. On a network (the `qemu` binary serves the same object):
//!
//! ```python
//! import Pyro5.api
//! device = Pyro5.api.Proxy("PYRO:device@10.0.2.15:9999")
//! device._pyroSerializer = "json"    # or "serpent", the default (the firmware has these two)
//! device.add(2, 3)                   # 5
//! device.set_setpoint(40)            # ValueError: setpoint out of range 5..30
//! device.set_setpoint(22.5)          # 22.5
//! device.blink(3)                    # oneway: returns at once
//! device.blinks()                    # 3
//! list(device.readings())            # an item stream: 5 readings
//! device.mode = 2                    # a property
//! ```
#![no_std]
#![no_main]

use core::cell::RefCell;

use embassy_executor::Spawner;
use pyro5_core::server::{ObjectTable, Server, ServerConfig, Streams};
use pyro5_embassy::{ConnectionStorage, SeededEntropy, ServeConfig, serve};
use pyro5_firmware::{CONNECTIONS, PYRO_LIMITS, SOCKET_BUFFER};

/// The Pyro port.
const PORT: u16 = 9999;

/// Bytes of each connection's request buffer, and of its reply buffer.
const MESSAGE: usize = 1024;

#[path = "../../../embassy-adapter/examples/common/device.rs"]
mod device;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let stack = pyro5_firmware::start(spawner);

    let device = RefCell::new(device::Device::new("firmware"));
    let mut objects = ObjectTable::<1>::new();
    if objects.register("device", &device).is_err() {
        panic!("object table full");
    }
    let streams = RefCell::new(Streams::<1>::new());
    let config = ServerConfig {
        location: "10.0.2.15:9999",
        server_type: "pyro5-rs firmware",
        limits: PYRO_LIMITS,
        // Pyro's COMMTIMEOUT of 60 s.
        idle_timeout_ms: Some(60_000),
        ..ServerConfig::default()
    };
    let server = Server::new(&objects, &streams, &config);
    let serve_config = ServeConfig::new(PORT);
    // A board would seed from its RNG or unique id.
    let entropy = SeededEntropy::new(0x5eed_5eed_5eed_5eed);
    let mut connections = [const { ConnectionStorage::<SOCKET_BUFFER, MESSAGE>::new() }; CONNECTIONS];
    serve(stack, &server, &serve_config, &entropy, &mut connections).await
}
