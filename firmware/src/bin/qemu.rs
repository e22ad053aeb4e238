//! The demo device object (`embassy-adapter/examples/common/device.rs`) served with
//! pyro5-embassy on an Arm MPS2 AN386 board (Cortex-M4F) as QEMU emulates it, through the
//! board's LAN9118 Ethernet controller, at 10.0.2.15:9999.
//!
//! ```sh
//! qemu-system-arm -M mps2-an386 -kernel target/thumbv7em-none-eabihf/release/qemu \
//!     -semihosting -display none -monitor none -serial none \
//!     -nic tap,ifname=tap0,script=no,downscript=no,model=lan9118
//! ```
//! It says `ready PYRO:device@10.0.2.15:9999` on QEMU's standard output (semihosting) when
//! it serves. The host side of the TAP needs an address in 10.0.2.0/24.
#![no_std]
#![no_main]

use core::cell::RefCell;

use cortex_m_semihosting::hprintln;
use embassy_executor::Spawner;
use pyro5_core::server::{ObjectTable, Server, ServerConfig, Streams};
use pyro5_embassy::{ConnectionStorage, SeededEntropy, ServeConfig, serve};
use pyro5_firmware::{PYRO_LIMITS, QEMU_CONNECTIONS, QEMU_SOCKET_BUFFER};
use static_cell::StaticCell;

#[path = "../../../embassy-adapter/examples/common/device.rs"]
mod device;

/// One connection's storage.
type Connection = ConnectionStorage<QEMU_SOCKET_BUFFER, MESSAGE>;

/// The Pyro port.
const PORT: u16 = 9999;

/// Where Python finds the daemon (`info()` reports it too).
const LOCATION: &str = "10.0.2.15:9999";

/// Request and reply storage: room for payloads of several TCP segments.
const MESSAGE: usize = 8192;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    static CONNECTION_STORAGE: StaticCell<[Connection; QEMU_CONNECTIONS]> = StaticCell::new();

    let stack = pyro5_firmware::start_lan9118(spawner).await;
    let device = RefCell::new(device::Device::new("qemu-device"));
    let mut objects = ObjectTable::<1>::new();
    if objects.register("device", &device).is_err() {
        panic!("object table full");
    }
    let streams = RefCell::new(Streams::<4>::new());
    let config = ServerConfig {
        location: LOCATION,
        server_type: "pyro5-rs on mps2-an386",
        limits: PYRO_LIMITS,
        // Pyro's COMMTIMEOUT of 60 s.
        idle_timeout_ms: Some(60_000),
        ..ServerConfig::default()
    };
    let server = Server::new(&objects, &streams, &config);
    let serve_config = ServeConfig::new(PORT);
    // Ids only need to be unique: the MAC address seeds them (a board would use its RNG).
    let mac = stack.hardware_address();
    let entropy = SeededEntropy::new(mac.as_bytes().iter().fold(0x5eed, |s, &b| s.rotate_left(8) ^ u64::from(b)));
    let connections = CONNECTION_STORAGE.init([const { Connection::new() }; QEMU_CONNECTIONS]);
    hprintln!("ready PYRO:device@{}", LOCATION);
    serve(stack, &server, &serve_config, &entropy, connections).await
}
