//! A plain TCP echo, the baseline Pyro's footprint is measured against.

use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Duration, with_timeout};

/// Bytes copied from the receive to the send buffer at a time.
const CHUNK: usize = 128;

/// How long a send may wait for the peer (as Pyro gives its replies).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Echo one connection at a time on `port`, forever, with the socket buffers given.
pub async fn serve(stack: Stack<'_>, port: u16, rx: &mut [u8], tx: &mut [u8]) -> ! {
    let mut chunk = [0u8; CHUNK];
    loop {
        let mut socket = TcpSocket::new(stack, rx, tx);
        socket.set_timeout(Some(SEND_TIMEOUT));
        if socket.accept(port).await.is_ok() {
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
