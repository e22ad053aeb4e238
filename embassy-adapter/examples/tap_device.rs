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
use embassy_net::{Config, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use pyro5_core::server::{ObjectTable, Server, ServerConfig, Streams};
use pyro5_embassy::{ConnectionStorage, Entropy, ServeConfig, serve};

#[path = "common/device.rs"]
mod device;

/// Connections served at once: smoltcp has no backlog, so twice the clients expected.
const CONNECTIONS: usize = 4;

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, TunTapDevice>) -> ! {
    runner.run().await
}

/// Randomness for correlation and stream ids.
struct OsEntropy;

impl Entropy for OsEntropy {
    fn random(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        getrandom(&mut out);
        out
    }
}

fn getrandom(out: &mut [u8]) {
    use std::io::Read;
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(out);
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
    let device = match TunTapDevice::new(&tap) {
        Ok(device) => device,
        Err(e) => {
            eprintln!("cannot open TAP device {tap}: {e}");
            std::process::exit(2);
        }
    };
    let config = Config::ipv4_static(StaticConfigV4 { address: cidr, gateway: None, dns_servers: Default::default() });
    let mut seed = [0u8; 8];
    getrandom(&mut seed);
    let resources = Box::leak(Box::new(StackResources::<{ CONNECTIONS + 2 }>::new()));
    let (stack, runner) = embassy_net::new(device, config, resources, u64::from_le_bytes(seed));
    spawner.spawn(net_task(runner).expect("one network task"));
    stack.wait_config_up().await;
    let location: &'static str = Box::leak(format!("{}:{port}", cidr.address()).into_boxed_str());
    spawner.spawn(pyro_task(stack, location, port).expect("one Pyro task"));
    println!("ready PYRO:device@{location}");
}

fn main() {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let (Some(tap), Some(cidr)) = (args.next(), args.next()) else {
        eprintln!("usage: tap_device TAP ADDRESS/PREFIX [PORT]   e.g. tap_device tap0 10.42.0.2/24 9999");
        std::process::exit(2);
    };
    let Ok(cidr) = cidr.parse::<Ipv4Cidr>() else {
        eprintln!("not an IPv4 address with prefix: {cidr}");
        std::process::exit(2);
    };
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(9999);
    let executor = Box::leak(Box::new(Executor::new()));
    executor.run(|spawner| spawner.spawn(main_task(spawner, tap, cidr, port).expect("one main task")));
}
