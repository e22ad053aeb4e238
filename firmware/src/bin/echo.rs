//! A TCP echo on port 7, [`CONNECTIONS`] at once, each with [`SOCKET_BUFFER`]-byte socket
//! buffers: the baseline `pyro` is measured against.
#![no_std]
#![no_main]

use embassy_executor::Spawner;
use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Duration, with_timeout};
use pyro5_firmware::{CONNECTIONS, SOCKET_BUFFER};

/// The echo port.
const PORT: u16 = 7;

/// Bytes copied from the receive to the send buffer at a time.
const CHUNK: usize = 128;

/// How long a send may wait for the peer (as `pyro` gives its replies).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

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
    let mut chunk = [0u8; CHUNK];
    loop {
        let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
        socket.set_timeout(Some(SEND_TIMEOUT));
        if socket.accept(PORT).await.is_ok() {
            'connection: loop {
                let n = match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut out = &chunk[..n];
                while !out.is_empty() {
                    match socket.write(out).await {
                        Ok(0) | Err(_) => break 'connection,
                        Ok(written) => out = &out[written..],
                    }
                }
            }
        }
        socket.close();
        let _ = with_timeout(SEND_TIMEOUT, socket.flush()).await;
    }
}
