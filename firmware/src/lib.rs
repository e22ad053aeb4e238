//! The skeleton both firmware binaries share: the Cortex-M runtime, an `embassy-time`
//! driver on SysTick, an embassy-net stack with a static IPv4 address on a stub NIC, and
//! the sizes of the connections the binaries serve.
//!
//! - `pyro`: one `#[expose]`d device object served with `pyro5_embassy::serve` on
//!   [`CONNECTIONS`] connections.
//! - `echo`: a plain TCP echo on as many connections with the same socket buffers.
//!
//! `scripts/footprint` builds both and compares their flash and RAM.
#![no_std]

pub mod nic;
pub mod time_driver;

use embassy_executor::Spawner;
use embassy_net::{Config, Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use panic_halt as _;
use static_cell::StaticCell;

use crate::nic::StubNic;

/// The core clock SysTick counts: 25 MHz on an MPS2 AN386 (and in QEMU's model of it).
pub const CORE_CLOCK_HZ: u32 = 25_000_000;

/// TCP connections served at once.
pub const CONNECTIONS: usize = 2;

/// Bytes of each TCP socket's receive buffer, and of its send buffer.
pub const SOCKET_BUFFER: usize = 1024;

/// The address of the device: QEMU's user-mode network gives its guest 10.0.2.15/24.
pub const ADDRESS: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);

/// The stub NIC's MAC address (locally administered).
const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x50, 0x59, 0x35];

/// Start time and network; the network runs in a task of its own.
///
/// # Panics
/// If called twice (the core peripherals and the stack's storage are taken once).
pub fn start(spawner: Spawner) -> Stack<'static> {
    static RESOURCES: StaticCell<StackResources<CONNECTIONS>> = StaticCell::new();

    let Some(core) = cortex_m::Peripherals::take() else { panic!("start() called twice") };
    time_driver::init(core.SYST, CORE_CLOCK_HZ);

    let config = Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(ADDRESS, 24),
        gateway: Some(Ipv4Address::new(10, 0, 2, 2)),
        dns_servers: Default::default(),
    });
    // Only smoltcp's initial sequence numbers and ports come from the seed; a board would
    // take it from its RNG or unique id.
    let seed = 0x7079_726f_3530_3200;
    let (stack, runner) = embassy_net::new(StubNic::new(MAC), config, RESOURCES.init(StackResources::new()), seed);
    match net_task(runner) {
        Ok(token) => spawner.spawn(token),
        Err(_) => panic!("network task already running"),
    }
    stack
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, StubNic>) -> ! {
    runner.run().await
}
