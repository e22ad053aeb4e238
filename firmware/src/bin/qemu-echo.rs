//! A TCP echo on port 7, [`QEMU_CONNECTIONS`] at once, each with [`QEMU_SOCKET_BUFFER`]-byte
//! socket buffers, on an MPS2 AN386 board's LAN9118: the baseline `qemu` is measured
//! against. It says `ready` on QEMU's standard output (semihosting) when it serves.
#![no_std]
#![no_main]

use cortex_m_semihosting::hprintln;
use embassy_executor::Spawner;
use embassy_net::Stack;
use pyro5_firmware::{QEMU_CONNECTIONS, QEMU_SOCKET_BUFFER};

/// The echo port.
const PORT: u16 = 7;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let stack = pyro5_firmware::start_lan9118(spawner).await;
    for _ in 0..QEMU_CONNECTIONS {
        match echo(stack) {
            Ok(token) => spawner.spawn(token),
            Err(_) => panic!("no room for an echo task"),
        }
    }
    hprintln!("ready echo on port {}", PORT);
}

/// One connection at a time, forever.
#[embassy_executor::task(pool_size = QEMU_CONNECTIONS)]
async fn echo(stack: Stack<'static>) -> ! {
    let mut rx = [0u8; QEMU_SOCKET_BUFFER];
    let mut tx = [0u8; QEMU_SOCKET_BUFFER];
    pyro5_firmware::echo::serve(stack, PORT, &mut rx, &mut tx).await
}
