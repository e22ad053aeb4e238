//! A Pyro object served by pyro5-embassy over embassy-net on a Linux TAP device: the same
//! code a microcontroller runs, with embassy's std executor and time driver.
//!
//! ```text
//! sudo ip tuntap add dev tap0 mode tap && sudo ip addr add 10.42.0.1/24 dev tap0 && sudo ip link set tap0 up
//! cargo run -p pyro5-embassy --example tap_device -- tap0 10.42.0.2/24 9999
//! python -c "import Pyro5.api; print(Pyro5.api.Proxy('PYRO:device@10.42.0.2:9999').add(2, 3))"
//! ```
//! It prints `ready PYRO:device@ADDRESS:PORT` once the network is up.

use core::cell::RefCell;

use embassy_executor::{Executor, Spawner};
use embassy_net::{Ipv4Cidr, Stack};
use pyro5_core::server::{ObjectTable, Server, ServerConfig, Streams};
use pyro5_embassy::{ConnectionStorage, Entropy, ServeConfig, serve};

#[path = "common/device.rs"]
mod device;
#[path = "common/tap.rs"]
mod tap;

/// Connections served at once: smoltcp has no backlog, so twice the clients expected.
const CONNECTIONS: usize = 4;

/// Randomness for correlation and stream ids.
struct OsEntropy;

impl Entropy for OsEntropy {
    fn random(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        tap::getrandom(&mut out);
        out
    }
}

#[embassy_executor::task]
async fn pyro_task(stack: Stack<'static>, location: &'static str, port: u16) -> ! {
    let device = RefCell::new(device::Device::new("tap-device"));
    let mut objects = ObjectTable::<2>::new();
    objects.register("device", &device).expect("room for one object");
    let streams = RefCell::new(Streams::<4>::new());
    // Pyro's COMMTIMEOUT of 60 s.
    let config = ServerConfig { location, idle_timeout_ms: Some(60_000), ..ServerConfig::default() };
    let server = Server::new(&objects, &streams, &config);
    let mut connections = [const { ConnectionStorage::<4096, 8192>::new() }; CONNECTIONS];
    serve(stack, &server, &ServeConfig::new(port), &OsEntropy, &mut connections).await
}

#[embassy_executor::task]
async fn main_task(spawner: Spawner, tap: String, cidr: Ipv4Cidr, port: u16) {
    let stack = tap::start_stack::<{ CONNECTIONS + 2 }>(spawner, &tap, cidr).await;
    let location: &'static str = Box::leak(format!("{}:{port}", cidr.address()).into_boxed_str());
    spawner.spawn(pyro_task(stack, location, port).expect("one Pyro task"));
    println!("ready PYRO:device@{location}");
}

fn main() {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let (tap, cidr) =
        tap::tap_and_cidr(&mut args, "tap_device TAP ADDRESS/PREFIX [PORT]   e.g. tap_device tap0 10.42.0.2/24 9999");
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(9999);
    let executor = Box::leak(Box::new(Executor::new()));
    executor.run(|spawner| spawner.spawn(main_task(spawner, tap, cidr, port).expect("one main task")));
}
