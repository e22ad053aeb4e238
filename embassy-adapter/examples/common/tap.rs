//! What the TAP examples share: the command line's TAP device and address, the embassy-net
//! stack on that device (its runner in a task of its own) and randomness from the OS.

use embassy_executor::Spawner;
use embassy_net::{Config, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, TunTapDevice>) -> ! {
    runner.run().await
}

/// Fill `out` from the OS's random source (left as it is when there is none).
pub fn getrandom(out: &mut [u8]) {
    use std::io::Read;
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(out);
    }
}

/// The TAP device and the IPv4 address with prefix of the first two arguments, or exit 2
/// after printing `usage`.
pub fn tap_and_cidr(args: &mut impl Iterator<Item = String>, usage: &str) -> (String, Ipv4Cidr) {
    let (Some(tap), Some(cidr)) = (args.next(), args.next()) else {
        eprintln!("usage: {usage}");
        std::process::exit(2);
    };
    let Ok(cidr) = cidr.parse::<Ipv4Cidr>() else {
        eprintln!("not an IPv4 address with prefix: {cidr}");
        std::process::exit(2);
    };
    (tap, cidr)
}

/// An embassy-net stack with `SOCKETS` sockets at `cidr` on the TAP device `tap`, its
/// runner spawned, once its configuration is up; exit 2 when the device cannot be opened.
pub async fn start_stack<const SOCKETS: usize>(spawner: Spawner, tap: &str, cidr: Ipv4Cidr) -> Stack<'static> {
    let device = match TunTapDevice::new(tap) {
        Ok(device) => device,
        Err(e) => {
            eprintln!("cannot open TAP device {tap}: {e}");
            std::process::exit(2);
        }
    };
    let config = Config::ipv4_static(StaticConfigV4 { address: cidr, gateway: None, dns_servers: Default::default() });
    let mut seed = [0u8; 8];
    getrandom(&mut seed);
    let resources = Box::leak(Box::new(StackResources::<SOCKETS>::new()));
    let (stack, runner) = embassy_net::new(device, config, resources, u64::from_le_bytes(seed));
    spawner.spawn(net_task(runner).expect("one network task"));
    stack.wait_config_up().await;
    stack
}
