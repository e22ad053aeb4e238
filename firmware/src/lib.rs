//! The skeleton the firmware binaries share: the Cortex-M runtime, an `embassy-time`
//! driver on SysTick, an embassy-net stack with a static IPv4 address on a stub NIC or on
//! the MPS2 board's LAN9118, a TCP echo, and the sizes of the connections served.
//!
//! - `pyro`: the demo device object served with `pyro5_embassy::serve` on [`CONNECTIONS`]
//!   connections, on the stub NIC.
//! - `echo`: a plain TCP echo on as many connections with the same socket buffers.
//! - `qemu` and `qemu-echo`: the same two on an MPS2 AN386 board (or QEMU's model of it)
//!   through its LAN9118, with [`QEMU_CONNECTIONS`] connections and larger buffers.
//!
//! `scripts/footprint` builds them and compares Pyro's flash and RAM with the echo's.
#![no_std]

pub mod echo;
pub mod lan9118;
pub mod nic;
pub mod time_driver;

use embassy_executor::Spawner;
use embassy_net::{Config, Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use panic_halt as _;
use pyro5_core::limits::Limits;
use static_cell::StaticCell;

use crate::lan9118::Lan9118;
use crate::nic::StubNic;

/// The core clock SysTick counts: 25 MHz on an MPS2 AN386 (and in QEMU's model of it).
pub const CORE_CLOCK_HZ: u32 = 25_000_000;

/// TCP connections served at once.
pub const CONNECTIONS: usize = 2;

/// Bytes of each TCP socket's receive buffer, and of its send buffer.
pub const SOCKET_BUFFER: usize = 1024;

/// The address of the device: QEMU's user-mode network gives its guest 10.0.2.15/24.
pub const ADDRESS: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);

/// Pyro's limits on the device: the message size is bounded by each connection's storage
/// anyway; nesting is kept low so that no request can take more than a few KiB of stack
/// (about 64 bytes a level on Cortex-M4, serpent being the most expensive format).
pub const PYRO_LIMITS: Limits = Limits { max_nesting: 24, ..Limits::DEFAULT };

/// Connections of the `qemu` binaries: smoltcp has no listen backlog, so twice the clients
/// that connect at once (two), or a client reconnecting at once would be refused.
pub const QEMU_CONNECTIONS: usize = 4;

/// Socket buffers of the `qemu` binaries, each way: a few TCP segments.
pub const QEMU_SOCKET_BUFFER: usize = 4096;

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

/// Start time and network on the MPS2 board's LAN9118 (with [`QEMU_CONNECTIONS`] sockets),
/// and wait until the address is configured.
///
/// # Panics
/// If called twice, or no LAN9118 answers (the machine is not an MPS2 AN385/AN386).
pub async fn start_lan9118(spawner: Spawner) -> Stack<'static> {
    static RESOURCES: StaticCell<StackResources<{ QEMU_CONNECTIONS + 1 }>> = StaticCell::new();

    let Some(core) = cortex_m::Peripherals::take() else { panic!("start_lan9118() called twice") };
    time_driver::init(core.SYST, CORE_CLOCK_HZ);
    let nic = match Lan9118::take(MAC) {
        Ok(nic) => nic,
        Err(_) => panic!("no LAN9118 network controller"),
    };
    let config = Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(ADDRESS, 24),
        gateway: Some(Ipv4Address::new(10, 0, 2, 2)),
        dns_servers: Default::default(),
    });
    let mac = nic.mac();
    let seed = u64::from_le_bytes([mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0x50, 0x35]);
    let (stack, runner) = embassy_net::new(nic, config, RESOURCES.init(StackResources::new()), seed);
    match lan9118_task(runner) {
        Ok(token) => spawner.spawn(token),
        Err(_) => panic!("network task already running"),
    }
    stack.wait_config_up().await;
    stack
}

#[embassy_executor::task]
async fn lan9118_task(mut runner: Runner<'static, Lan9118>) -> ! {
    runner.run().await
}
