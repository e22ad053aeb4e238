//! A TCP echo on port 7, [`CONNECTIONS`] at once, each with [`SOCKET_BUFFER`]-byte socket
//! buffers, on the stub NIC: the baseline `pyro` is measured against.
#![no_std]
#![no_main]

use embassy_executor::Spawner;
use embassy_net::Stack;
use pyro5_firmware::{CONNECTIONS, SOCKET_BUFFER};

/// The echo port.
const PORT: u16 = 7;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let stack = pyro5_firmware::start(spawner);
    for _ in 0..CONNECTIONS {
        match echo(stack) {
            Ok(token) => spawner.spawn(token),
            Err(_) => panic!("no room for an echo task"),
        }
    }
}

/// One connection at a time, forever.
#[embassy_executor::task(pool_size = CONNECTIONS)]
async fn echo(stack: Stack<'static>) -> ! {
    let mut rx = [0u8; SOCKET_BUFFER];
    let mut tx = [0u8; SOCKET_BUFFER];
    pyro5_firmware::echo::serve(stack, PORT, &mut rx, &mut tx).await
}
